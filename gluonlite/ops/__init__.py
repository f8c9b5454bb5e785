"""The operator library: every operator gluonlite knows, registered once (see registry).

Importing this package imports every module in it (and in its subpackages), each of which
registers its operators; adding an operator family is adding a module.
"""
import importlib as _importlib
import pkgutil as _pkgutil

from .registry import (Op, register, get_op, find_op, all_ops, REGISTRY, ZERO_GRAD,  # noqa: F401
                       generated_modules, shape_same, shape_broadcast, forward_shape,
                       dtype_same, dtype_fixed, dtype_from_attr)
from . import attrs  # noqa: F401

_SKIP = {"registry", "attrs", "namespace"}


def _load_all():
    for info in sorted(_pkgutil.walk_packages(__path__, __name__ + "."), key=lambda i: i.name):
        if info.name.rsplit(".", 1)[-1] not in _SKIP:
            _importlib.import_module(info.name)


_load_all()
