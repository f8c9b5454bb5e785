"""``mx.sym.contrib``: the registry's ``_contrib_*`` operators as Symbol constructors under
their short names (``sym.contrib.box_nms`` makes a ``_contrib_box_nms`` node)."""
from __future__ import annotations

from ..ops import REGISTRY as _REGISTRY
from .register import make_function as _make_function

_PREFIX = "_contrib_"


def _install():
    names = []
    for name in list(_REGISTRY):
        if name.startswith(_PREFIX):
            globals()[name[len(_PREFIX):]] = _make_function(name)
            names.append(name[len(_PREFIX):])
    return sorted(names)


__all__ = _install()
