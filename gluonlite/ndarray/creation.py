"""``nd.zeros``, ``nd.ones``, ``nd.full``, ``nd.arange``, ``nd.linspace``, ``nd.eye`` and
``nd.concatenate``/``nd.moveaxis``: the Python-level helpers of MXNet's ``mxnet.ndarray``."""
from __future__ import annotations

import numpy as np

from ..base import np_dtype
from ..context import Context
from ..ops import get_op
from .ndarray import NDArray, invoke, array, empty  # noqa: F401

__all__ = ["zeros", "ones", "full", "arange", "linspace", "eye", "empty", "array",
           "concatenate", "moveaxis", "waitall"]


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"shape: expected an int or a tuple of ints, got {shape!r}") from None


def _ctx(ctx):
    if ctx is not None and not isinstance(ctx, Context):
        raise TypeError(f"ctx: expected a Context, got {type(ctx).__name__}")
    return ctx


def _make(opname, out, ctx, **attrs):
    op = get_op(opname)
    return invoke(op, [], op.parse_attrs(attrs), out=out, ctx=_ctx(ctx))


def zeros(shape, ctx=None, dtype=None, out=None, **kwargs):
    """An array of zeros (float32 unless ``dtype``), on ``ctx`` or the current context."""
    return _make("_zeros", out, ctx, shape=_shape(shape), dtype=np_dtype(dtype).name)


def ones(shape, ctx=None, dtype=None, out=None, **kwargs):
    """An array of ones."""
    return _make("_ones", out, ctx, shape=_shape(shape), dtype=np_dtype(dtype).name)


def full(shape, val, ctx=None, dtype=np.float32, out=None):
    """An array filled with ``val``."""
    return _make("_full", out, ctx, shape=_shape(shape), value=val, dtype=np_dtype(dtype).name)


def arange(start, stop=None, step=1.0, repeat=1, infer_range=None, ctx=None, dtype=np.float32):
    """Evenly spaced values in [start, stop) with ``step``; each repeated ``repeat`` times."""
    return _make("_arange", None, ctx, start=start, stop=stop, step=step, repeat=repeat,
                 dtype=np_dtype(dtype).name)


def linspace(start, stop, num, endpoint=True, ctx=None, dtype=np.float32):
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    return _make("_linspace", None, ctx, start=start, stop=stop, num=num, endpoint=endpoint,
                 dtype=np_dtype(dtype).name)


def eye(N, M=0, k=0, ctx=None, dtype=np.float32, **kwargs):
    """An N x M matrix with ones on diagonal ``k``."""
    return _make("_eye", None, ctx, N=N, M=M, k=k, dtype=np_dtype(dtype).name)


def concatenate(arrays, axis=0, always_copy=True):
    """Join arrays along an existing ``axis`` (MXNet's ``nd.concatenate``)."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("concatenate: arrays must not be empty")
    if len(arrays) == 1 and not always_copy:
        return arrays[0]
    op = get_op("concat")
    return invoke(op, arrays, op.parse_attrs({"dim": axis, "num_args": len(arrays)}))


def moveaxis(tensor, source, destination):
    """Move axis ``source`` to position ``destination``."""
    n = tensor.ndim
    src, dst = source % n, destination % n
    order = [i for i in range(n) if i != src]
    order.insert(dst, src)
    op = get_op("transpose")
    return invoke(op, [tensor], {"axes": tuple(order)})


def waitall():
    """Wait for all pending computation (synchronous on the CPU)."""
    import sys
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        try:
            cupy.cuda.Device().synchronize()
        except Exception:
            pass
