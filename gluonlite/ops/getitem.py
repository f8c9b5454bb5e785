"""Indexing: ``x[key]`` as the operator ``_index`` and its gradient ``_backward_index``.

MXNet 1.x semantics: an integer index on a 1-D array gives shape (1,) (never 0-d); basic
indexing (ints, slices, None, Ellipsis) whose result is contiguous in memory returns a view
that shares memory (``x[1]``, ``x[1:3]``, ``x[1:2, 1:3]`` of a 3x4 array), every other
selection (``x[:, 1]``, steps, integer arrays, masks) is a copy. ``key`` is a normalised Python key
whose array
parts are raw integer arrays (or boolean masks) of the data's backend.
"""
from __future__ import annotations

from .attrs import Any_
from .registry import register

__all__ = ["index_shape"]


def _has_array(key):
    parts = key if isinstance(key, tuple) else (key,)
    return any(hasattr(p, "dtype") for p in parts)


def index_shape(shape, key):
    """Shape of ``x[key]`` for an array of ``shape`` under MXNet's rules."""
    import numpy as np
    k = key
    if _has_array(key):
        parts = key if isinstance(key, tuple) else (key,)
        k = tuple(np.zeros(p.shape, p.dtype) if hasattr(p, "dtype") and p.dtype.kind != "b"
                  else (p.get() if hasattr(p, "get") else p) for p in parts)
        if not isinstance(key, tuple):
            k = k[0]
    s = np.broadcast_to(np.zeros((), np.int8), shape)[k].shape
    return s if s else (1,)


def _select(rt, data, key):
    if isinstance(key, int) and data.ndim == 1:
        n = data.shape[0]
        k = key + n if key < 0 else key
        if not 0 <= k < n:
            raise IndexError(f"index {key} is out of bounds for axis 0 with size {n}")
        return data[k:k + 1]
    if (isinstance(key, tuple) and key and len(key) == data.ndim
            and all(isinstance(k, int) for k in key)):
        # an element: select it as a length-1 slice so the result is a (1,) view, not a
        # numpy scalar copy
        k = key[-1] + data.shape[-1] if key[-1] < 0 else key[-1]
        if not 0 <= k < data.shape[-1]:
            raise IndexError(f"index {key[-1]} is out of bounds for axis {data.ndim - 1} "
                             f"with size {data.shape[-1]}")
        return data[key[:-1] + (slice(k, k + 1),)]
    r = data[key]
    if not _has_array(key) and not r.flags.c_contiguous:
        r = r.copy()
    if r.ndim == 0:
        r = r.reshape(1)
    return r


@register("_index", shape=lambda a, s: (s, [None if s[0] is None else index_shape(s[0], a["key"])]),
          tags=("view",))
def _index(rt, data, *, key: Any_):
    """``data[key]`` with MXNet 1.x's shape and view rules."""
    return _select(rt, data, key)


@_index.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_index(ogs[0], ins[0], key=a["key"]),)


@register("_backward_index", shape=lambda a, s: (s, [s[1]]), index_inputs=("data",))
def _backward_index(rt, ograd, data, *, key: Any_):
    """Scatter ``ograd`` into zeros shaped like ``data`` at ``key`` (adding repeats)."""
    xp = rt.xp
    out = xp.zeros(data.shape, ograd.dtype)
    if isinstance(key, int) and data.ndim == 1:
        n = data.shape[0]
        key = key + n if key < 0 else key
        out[key] += ograd[0]
        return out
    target = out[key]
    g = ograd.reshape(target.shape) if hasattr(target, "shape") else ograd.reshape(())
    if _has_array(key):
        xp.add.at(out, key, g)
    else:
        out[key] = g
    return out


@_backward_index.gradient
def _(F, a, ins, outs, ogs, need):
    return F._index(ogs[0], key=a["key"]), None
