"""``mx.nd.linalg``: the registry's ``_linalg_*`` operators as NDArray functions under their
short names (``linalg.gemm2`` is the operator ``_linalg_gemm2``), as MXNet generates them
(see :mod:`gluonlite.ops.linalg` for their semantics)."""
from __future__ import annotations

from ..ops import REGISTRY as _REGISTRY
from .register import make_function as _make_function

_PREFIX = "_linalg_"


def _install():
    names = []
    for name, op in _REGISTRY.items():
        if name.startswith(_PREFIX):
            globals()[name[len(_PREFIX):]] = _make_function(op)
            names.append(name[len(_PREFIX):])
    return sorted(names)


__all__ = _install()
