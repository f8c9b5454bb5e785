"""Indexing: ``x[key]`` as the operator ``_index`` and its gradient ``_backward_index``.

MXNet 1.x semantics: an integer index on a 1-D array gives shape (1,) (never 0-d), and
indexing only the first axis with an integer or a step-1 slice returns a view that shares
memory; every other selection is a copy. ``key`` is a normalised Python key whose array
parts are raw integer arrays (or boolean masks) of the data's backend.
"""
from __future__ import annotations

from .attrs import Any_
from .registry import register

__all__ = ["index_shape"]


def _is_first_axis_view(key):
    if isinstance(key, int):
        return True
    if isinstance(key, slice):
        return key.step is None or key.step == 1
    return False


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
    r = data[key]
    if not _is_first_axis_view(key) and not _has_array(key):
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
