"""``mx.nd.contrib``: the registry's ``_contrib_*`` operators under their short names
(``nd.contrib.box_nms`` is the operator ``_contrib_box_nms``), as MXNet generates them."""
from __future__ import annotations

from ..ops import REGISTRY as _REGISTRY
from .register import make_function as _make_function

_PREFIX = "_contrib_"


def _install():
    names = []
    for name, op in _REGISTRY.items():
        if name.startswith(_PREFIX):
            globals()[name[len(_PREFIX):]] = _make_function(op)
            names.append(name[len(_PREFIX):])
    return sorted(names)


__all__ = _install()
