"""Fast kernels beside the reference operators.

A kernel is registered for an operator and a backend (``'numpy'`` or ``'cupy'``) with
:func:`kernel`. While kernels are enabled it runs in place of the operator's reference
forward; it may decline a call (unsupported dtype or attributes) by returning
``NotImplemented``, and the reference forward runs instead. Every kernel is tested against
the reference. ``GLUONLITE_JIT=0`` in the environment (or :func:`set_enabled(False)`) forces
the reference path everywhere.
"""
from __future__ import annotations

import os

from ..ops import get_op

__all__ = ["kernel", "enabled", "set_enabled", "kernels_of"]

_KERNELS: dict = {}   # op name -> {backend: fn}
_enabled = os.environ.get("GLUONLITE_JIT", "1").strip().lower() not in ("0", "false", "no", "off")


def enabled() -> bool:
    """Whether fast kernels are used."""
    return _enabled


def kernels_of(opname: str) -> dict:
    """The kernels registered for an operator, by backend."""
    return dict(_KERNELS.get(get_op(opname).name, {}))


def _dispatcher(op):
    ref = op.ref_fwd
    table = _KERNELS[op.name]

    def fwd(rt, *args, **attrs):
        k = table.get("cupy" if rt.ctx.is_gpu else "numpy")
        if k is not None:
            r = k(rt, *args, **attrs)
            if r is not NotImplemented:
                return r
        return ref(rt, *args, **attrs)

    fwd.__wrapped__ = ref
    return fwd


def kernel(opname: str, backend: str = "numpy"):
    """Decorator registering ``fn(rt, *inputs, **attrs)`` as a fast forward of ``opname``."""
    if backend not in ("numpy", "cupy"):
        raise ValueError(f"backend: expected 'numpy' or 'cupy', got {backend!r}")

    def deco(fn):
        op = get_op(opname)
        _KERNELS.setdefault(op.name, {})[backend] = fn
        if _enabled:
            op.fwd = _dispatcher(op)
        return fn

    return deco


def set_enabled(flag: bool):
    """Turn fast kernels on or off for the whole process (tests compare both paths)."""
    global _enabled
    _enabled = bool(flag)
    for name in _KERNELS:
        op = get_op(name)
        op.fwd = _dispatcher(op) if _enabled else op.ref_fwd


from . import special  # noqa: E402,F401  (registers the special-function kernels)
from . import conv, pooling, batchnorm  # noqa: E402,F401  (convolution, pooling, BatchNorm)
