"""Array creation: ``_zeros``, ``_ones``, ``_full``, ``_arange``, ``_linspace``, ``_eye``.

These are source operators (no inputs): the device comes from the caller's ``ctx=``
(default: the current context) and the dtype from ``dtype=`` (default float32).
"""
from __future__ import annotations

import contextlib
import math
import os

import numpy as np

from ..base import MXNetError
from .attrs import Bool, DType, Float, Int, OptFloat, Shape
from .registry import register, dtype_from_attr

__all__ = ["arange_length", "check_alloc", "allocating"]


def _const(fn):
    def rule(a, in_shapes):
        return in_shapes, [fn(a)]
    return rule


def _physical_memory():
    """The host's physical memory in bytes, or None where the OS does not tell."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


# An array larger than the machine's memory cannot be created (NumPy would fail with a bare
# MemoryError after trying, or swap the machine to a halt); larger than this, NumPy cannot
# even index it.
_MEMORY = _physical_memory()
_MAX_BYTES = int(np.iinfo(np.intp).max)


def _human(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} EiB"  # pragma: no cover


def _limit_text():
    if _MEMORY is None:
        return f"the size limit is {_MAX_BYTES} bytes (the largest array NumPy can index)"
    return (f"the size limit is this machine's memory, {_MEMORY} bytes "
            f"({_human(_MEMORY)})")


def check_alloc(name, shape, dtype):
    """Check that an array of ``shape`` and ``dtype`` made by operator ``name`` can exist:
    no negative dimension and no more bytes than the size limit (the host's physical
    memory). Returns the shape as a tuple; raises ``MXNetError`` naming the operator, the
    requested bytes and the limit."""
    shape = tuple(shape)
    for s in shape:
        if s < 0:
            raise MXNetError(f"{name}: shape {shape} has a negative dimension")
    itemsize = np.dtype(dtype).itemsize
    n, span = 1, 1
    for s in shape:
        n *= s
        span *= max(s, 1)  # NumPy refuses a too-large shape even with a 0 in it
    nbytes = n * itemsize
    if span * itemsize > _MAX_BYTES or (_MEMORY is not None and nbytes > _MEMORY):
        raise MXNetError(f"{name}: cannot allocate an array of shape {shape} and dtype "
                         f"{np.dtype(dtype).name}: it needs {nbytes} bytes "
                         f"({_human(nbytes)}); {_limit_text()}")
    return shape


@contextlib.contextmanager
def allocating(name, shape, dtype):
    """Turn an out-of-memory failure inside the block into ``MXNetError`` naming the
    operator and the bytes asked for (NumPy's bare ``MemoryError`` names neither; CuPy's
    ``OutOfMemoryError`` is a ``MemoryError`` too)."""
    try:
        yield
    except MemoryError:
        shape = tuple(shape)
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        raise MXNetError(f"{name}: out of memory allocating an array of shape {shape} and "
                         f"dtype {np.dtype(dtype).name} ({nbytes} bytes, "
                         f"{_human(nbytes)})") from None


@register("_zeros", shape=_const(lambda a: a["shape"]), dtype=dtype_from_attr(), source=True,
          tags=("source",))
def _zeros(rt, *, shape: Shape = (), dtype: DType = "float32"):
    """An array of zeros."""
    shape = check_alloc("zeros", shape, dtype)
    with allocating("zeros", shape, dtype):
        return rt.xp.zeros(shape, dtype)


@register("_ones", shape=_const(lambda a: a["shape"]), dtype=dtype_from_attr(), source=True,
          tags=("source",))
def _ones(rt, *, shape: Shape = (), dtype: DType = "float32"):
    """An array of ones."""
    shape = check_alloc("ones", shape, dtype)
    with allocating("ones", shape, dtype):
        return rt.xp.ones(shape, dtype)


@register("_full", shape=_const(lambda a: a["shape"]), dtype=dtype_from_attr(), source=True,
          tags=("source",))
def _full(rt, *, shape: Shape = (), value: Float, dtype: DType = "float32"):
    """An array filled with ``value``."""
    shape = check_alloc("full", shape, dtype)
    with allocating("full", shape, dtype):
        return rt.xp.full(shape, value, dtype)


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
    # computed in float64 before the cast
    check_alloc("arange", (n * repeat,), "float64")
    with allocating("arange", (n * repeat,), "float64"):
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
    check_alloc("linspace", (num,), "float64")
    with allocating("linspace", (num,), "float64"):
        return rt.xp.linspace(start, stop, num, endpoint=endpoint,
                              dtype="float64").astype(dtype)


@register("_eye", shape=_const(lambda a: (a["N"], a["M"] or a["N"])), dtype=dtype_from_attr(),
          source=True, tags=("source",))
def _eye(rt, *, N: Int, M: Int = 0, k: Int = 0, dtype: DType = "float32"):
    """An N x M matrix with ones on the k-th diagonal (M=0 means M=N)."""
    shape = check_alloc("eye", (N, M or N), dtype)
    with allocating("eye", shape, dtype):
        return rt.xp.eye(N, M or N, k, dtype=dtype)
