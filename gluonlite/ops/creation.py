"""Array creation: ``_zeros``, ``_ones``, ``_full``, ``_arange``, ``_linspace``, ``_eye``.

These are source operators (no inputs): the device comes from the caller's ``ctx=``
(default: the current context) and the dtype from ``dtype=`` (default float32).
"""
from __future__ import annotations

import math

from ..base import MXNetError
from .attrs import Bool, DType, Float, Int, OptFloat, Shape
from .registry import register, dtype_from_attr

__all__ = ["arange_length"]


def _const(fn):
    def rule(a, in_shapes):
        return in_shapes, [fn(a)]
    return rule


def _check_shape(name, shape):
    for s in shape:
        if s < 0:
            raise MXNetError(f"{name}: shape {tuple(shape)} has a negative dimension")
    return tuple(shape)


@register("_zeros", shape=_const(lambda a: a["shape"]), dtype=dtype_from_attr(), source=True,
          tags=("source",))
def _zeros(rt, *, shape: Shape = (), dtype: DType = "float32"):
    """An array of zeros."""
    return rt.xp.zeros(_check_shape("zeros", shape), dtype)


@register("_ones", shape=_const(lambda a: a["shape"]), dtype=dtype_from_attr(), source=True,
          tags=("source",))
def _ones(rt, *, shape: Shape = (), dtype: DType = "float32"):
    """An array of ones."""
    return rt.xp.ones(_check_shape("ones", shape), dtype)


@register("_full", shape=_const(lambda a: a["shape"]), dtype=dtype_from_attr(), source=True,
          tags=("source",))
def _full(rt, *, shape: Shape = (), value: Float, dtype: DType = "float32"):
    """An array filled with ``value``."""
    return rt.xp.full(_check_shape("full", shape), value, dtype)


def arange_length(start, stop, step, repeat):
    """Number of elements MXNet's ``arange`` produces."""
    if stop is None:
        start, stop = 0.0, start
    if step == 0:
        raise MXNetError("arange: step must not be 0")
    n = int(math.ceil((stop - start) / step))
    return max(n, 0) * repeat


@register("_arange", shape=_const(lambda a: (arange_length(a["start"], a["stop"], a["step"],
                                                            a["repeat"]),)),
          dtype=dtype_from_attr(), source=True, tags=("source",))
def _arange(rt, *, start: Float, stop: OptFloat = None, step: Float = 1.0, repeat: Int = 1,
            infer_range: Bool = False, dtype: DType = "float32"):
    """Evenly spaced values in [start, stop) (``arange(n)`` counts from 0); ``repeat``
    repeats each value."""
    if repeat < 1:
        raise MXNetError(f"arange: repeat must be >= 1, got {repeat}")
    n = arange_length(start, stop, step, 1)
    if stop is None:
        start = 0.0
    xp = rt.xp
    r = start + step * xp.arange(n, dtype="float64")
    if repeat > 1:
        r = xp.repeat(r, repeat)
    return r.astype(dtype)


@register("_linspace", shape=_const(lambda a: (a["num"],)), dtype=dtype_from_attr(),
          source=True, tags=("source",))
def _linspace(rt, *, start: Float, stop: Float, num: Int, endpoint: Bool = True,
              dtype: DType = "float32"):
    """``num`` evenly spaced values from start to stop."""
    if num < 0:
        raise MXNetError(f"linspace: num must be >= 0, got {num}")
    return rt.xp.linspace(start, stop, num, endpoint=endpoint, dtype="float64").astype(dtype)


@register("_eye", shape=_const(lambda a: (a["N"], a["M"] or a["N"])), dtype=dtype_from_attr(),
          source=True, tags=("source",))
def _eye(rt, *, N: Int, M: Int = 0, k: Int = 0, dtype: DType = "float32"):
    """An N x M matrix with ones on the k-th diagonal (M=0 means M=N)."""
    return rt.xp.eye(N, M or N, k, dtype=dtype)
