"""``mx.sym.linalg``: the registry's ``_linalg_*`` operators as Symbol constructors under their
short names (``linalg.gemm2`` is the operator ``_linalg_gemm2``), as MXNet generates them
(see :mod:`gluonlite.ops.linalg` for their semantics)."""
from __future__ import annotations

from ..ops import REGISTRY as _REGISTRY
from .register import make_function as _make_function

_PREFIX = "_linalg_"


def _install():
    names = []
    for name in list(_REGISTRY):
        if name.startswith(_PREFIX):
            globals()[name[len(_PREFIX):]] = _make_function(name)
            names.append(name[len(_PREFIX):])
    return sorted(names)


__all__ = _install()
