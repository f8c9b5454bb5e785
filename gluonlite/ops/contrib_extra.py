"""MXNet 1.9.1's smaller ``contrib`` operators: ``quadratic``, ``index_copy``,
``boolean_mask`` and ``arange_like`` (``mx.nd.contrib.X`` / ``mx.sym.contrib.X``, registered
as ``_contrib_X``), their backward operators, and ``_cond_select``, the scalar-predicate
select that ``sym.contrib.cond``/``while_loop`` unroll into.

Semantics follow MXNet's CPU kernels:

* ``quadratic``: ``a*x^2 + b*x + c`` computed in float32 (float64 for float64 data) and cast
  back to the data's dtype, as MXNet's float attributes promote the arithmetic; gradient
  ``g * (2*a*x + b)``.
* ``index_copy``: ``old_tensor`` with rows ``index_vector[i]`` (truncated to int) replaced
  by ``new_tensor[i]``; a repeated index keeps the last row. MXNet writes out of bounds for
  a bad index; here an index outside ``[0, len(old_tensor))`` or a ``new_tensor`` whose
  shape is not ``(len(index),) + old_tensor.shape[1:]`` is an error. Gradients: the output
  gradient with the copied rows zeroed for ``old_tensor``, its copied rows for
  ``new_tensor``.
* ``boolean_mask``: the rows (``axis=0`` only, as in MXNet) where ``index`` is nonzero. The
  output shape depends on the mask's values, so it runs imperatively only: a compiled graph
  (``sym``, hybridized blocks) cannot hold it. Gradient: the output gradient scattered back
  to the kept rows.
* ``arange_like``: ``start + step * (i // repeat)`` over ``data``'s shape (or its ``axis``
  length), in ``data``'s dtype with ``start``/``step`` cast to it first (as MXNet's kernel
  does: an integer ``data`` truncates a fractional ``step``); no gradient (zero).
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError
from .attrs import Float, Int, OptInt, Str
from .registry import ZERO_GRAD, forward_shape, register, shape_same

__all__ = []


# --- quadratic ----------------------------------------------------------------------------
def _compute_dtype(dt):
    # MXNet's a, b, c are C++ floats: float32 arithmetic except for double data
    return np.float64 if dt == np.float64 else np.float32


@register("_contrib_quadratic", shape=shape_same, tags=("elemwise",))
def _contrib_quadratic(rt, data, *, a: Float = 0.0, b: Float = 0.0, c: Float = 0.0):
    """``a * data**2 + b * data + c`` elementwise (MXNet's ``contrib.quadratic``)."""
    ct = _compute_dtype(data.dtype)
    x = data.astype(ct, copy=False)
    y = ct(a) * x * x + ct(b) * x + ct(c)
    return y.astype(data.dtype, copy=False)


@_contrib_quadratic.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._contrib_backward_quadratic(ogs[0], ins[0], **a),)


@register("_contrib_backward_quadratic", shape=lambda a, s: (s, [s[1]]),
          dtype=lambda a, t, n: (t, [t[1]]))
def _contrib_backward_quadratic(rt, ograd, data, *, a: Float = 0.0, b: Float = 0.0,
                                c: Float = 0.0):
    """Gradient of ``quadratic``: ``ograd * (2 * a * data + b)``."""
    ct = _compute_dtype(data.dtype)
    x = data.astype(ct, copy=False)
    return (ograd.astype(ct, copy=False) * (ct(2 * a) * x + ct(b))).astype(data.dtype,
                                                                           copy=False)


# --- index_copy ---------------------------------------------------------------------------
def _index_copy_shape(a, old, index, new):
    if len(old) < 1:
        raise MXNetError("index_copy: old_tensor must have at least 1 dimension")
    if len(index) != 1:
        raise MXNetError(f"index_copy: index_vector must be 1-D, got shape {tuple(index)}")
    want = (index[0],) + tuple(old[1:])
    if tuple(new) != want:
        raise MXNetError(f"index_copy: new_tensor must have shape (len(index_vector),) + "
                         f"old_tensor.shape[1:] = {want}, got {tuple(new)}")
    return tuple(old)


def _rows(rt, index, n, what="index_copy"):
    """``index`` as host int64 rows, each checked to lie in ``[0, n)``."""
    idx = index if isinstance(index, np.ndarray) else rt.xp.asnumpy(index)
    if idx.dtype.kind == "f":
        if not np.all(np.isfinite(idx)):
            raise MXNetError(f"{what}: index_vector holds a non-finite value")
        idx = np.trunc(idx)
    idx = idx.astype(np.int64)
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        raise MXNetError(f"{what}: index {int(idx[bad][0])} is out of bounds for old_tensor "
                         f"with {n} rows")
    return idx


@register("_contrib_index_copy", shape=forward_shape(_index_copy_shape),
          index_inputs=("index_vector",), dtype=lambda a, t, n: (t, [t[0] or t[2]]))
def _contrib_index_copy(rt, old_tensor, index_vector, new_tensor):
    """``old_tensor`` with row ``index_vector[i]`` replaced by ``new_tensor[i]`` (MXNet's
    ``contrib.index_copy``)."""
    _index_copy_shape({}, old_tensor.shape, index_vector.shape, new_tensor.shape)
    if new_tensor.dtype != old_tensor.dtype:
        raise MXNetError(f"index_copy: new_tensor ({new_tensor.dtype.name}) and old_tensor "
                         f"({old_tensor.dtype.name}) must have the same dtype")
    idx = _rows(rt, index_vector, old_tensor.shape[0])
    out = old_tensor.copy()
    out[rt.xp.asarray(idx)] = new_tensor  # a repeated index keeps the last row, as MXNet
    return out


@_contrib_index_copy.gradient
def _(F, a, ins, outs, ogs, need):
    g_old, g_new = F._contrib_backward_index_copy(ogs[0], ins[1])
    return (g_old if need[0] else None, None, g_new if need[2] else None)


def _bwd_index_copy_shape(a, s):
    og, idx = s
    if og is None or idx is None:
        return s, [og, None]
    return s, [tuple(og), (idx[0],) + tuple(og[1:])]


@register("_contrib_backward_index_copy", shape=_bwd_index_copy_shape, num_outputs=2,
          index_inputs=("index_vector",), dtype=lambda a, t, n: (t, [t[0], t[0]]))
def _contrib_backward_index_copy(rt, ograd, index_vector):
    """Gradients of ``index_copy``: (``ograd`` with the copied rows zeroed,
    ``ograd[index_vector]``)."""
    idx = rt.xp.asarray(_rows(rt, index_vector, ograd.shape[0]))
    g_old = ograd.copy()
    g_old[idx] = 0
    return g_old, rt.xp.ascontiguousarray(ograd[idx])


# --- boolean_mask -------------------------------------------------------------------------
def _boolean_mask_check(axis, dshape, ishape):
    if axis != 0:
        raise MXNetError(f"boolean_mask: only axis=0 is supported (as in MXNet), got "
                         f"axis={axis}")
    if len(dshape) < 1:
        raise MXNetError("boolean_mask: data must have at least 1 dimension")
    if len(ishape) != 1 or ishape[0] != dshape[0]:
        raise MXNetError(f"boolean_mask: index must be 1-D with data.shape[0] = {dshape[0]} "
                         f"elements, got shape {tuple(ishape)}")


def _boolean_mask_shape(a, s):
    d, i = s
    if d is not None and i is not None:
        _boolean_mask_check(a["axis"], d, i)
    # the output length depends on the mask's values: unknown to shape inference (MXNet
    # returns () here too); the compiler reports it when a graph needs it
    return s, [None]


@register("_contrib_boolean_mask", shape=_boolean_mask_shape, index_inputs=("index",))
def _contrib_boolean_mask(rt, data, index, *, axis: Int = 0):
    """The rows of ``data`` where ``index`` is nonzero (MXNet's ``contrib.boolean_mask``);
    imperative only, since the output shape depends on ``index``'s values."""
    _boolean_mask_check(axis, data.shape, index.shape)
    return rt.xp.ascontiguousarray(data[index != 0])


@_contrib_boolean_mask.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_contrib_boolean_mask(ogs[0], ins[0], ins[1]), None)


@register("_backward_contrib_boolean_mask", shape=lambda a, s: (s, [s[1]]),
          index_inputs=("data", "index"), dtype=lambda a, t, n: (t, [t[0]]))
def _backward_contrib_boolean_mask(rt, ograd, data, index):
    """Gradient of ``boolean_mask``: ``ograd``'s rows scattered back to the kept rows of a
    zero array shaped like ``data``."""
    g = rt.xp.zeros(data.shape, ograd.dtype)
    g[index != 0] = ograd
    return g


# --- arange_like --------------------------------------------------------------------------
def _arange_like_shape(a, s):
    ax = a["axis"]
    if ax is None:
        return tuple(s)
    nd = len(s)
    if not -nd <= ax < nd:
        raise MXNetError(f"arange_like: axis={ax} is out of range for data with shape "
                         f"{tuple(s)}")
    return (s[ax],)


@register("_contrib_arange_like", shape=forward_shape(_arange_like_shape),
          index_inputs=("data",))
def _contrib_arange_like(rt, data, *, start: Float = 0.0, step: Float = 1.0, repeat: Int = 1,
                         ctx: Str = "", axis: OptInt = None):
    """Evenly spaced values ``start + step * (i // repeat)`` shaped like ``data`` (or 1-D
    over ``data.shape[axis]``), in ``data``'s dtype (MXNet's ``contrib.arange_like``)."""
    if repeat < 1:
        raise MXNetError(f"arange_like: repeat must be >= 1, got {repeat}")
    shape = _arange_like_shape({"axis": axis}, data.shape)
    dt = data.dtype
    n = int(np.prod(shape, dtype=np.int64))
    # MXNet's kernel holds start and step in the data's dtype
    st, sp = np.array(start).astype(dt), np.array(step).astype(dt)
    vals = (np.arange(n, dtype=np.int64) // repeat).astype(dt) * sp + st
    return rt.xp.asarray(vals.astype(dt, copy=False).reshape(shape))


_contrib_arange_like.grad_fn = ZERO_GRAD


# --- _cond_select -------------------------------------------------------------------------
def _select_shape(a, s):
    p, t, e = s
    if p is not None and int(np.prod(p, dtype=np.int64)) != 1:
        raise MXNetError(f"cond: the predicate must hold a single value, got shape {tuple(p)}")
    if t is not None and e is not None and tuple(t) != tuple(e):
        raise MXNetError(f"cond: the two branches give outputs of different shapes "
                         f"{tuple(t)} and {tuple(e)}")
    out = t if t is not None else e
    return [p, out, out], [out]


@register("_cond_select", shape=_select_shape, index_inputs=("pred",),
          dtype=lambda a, t, n: (t, [t[1] or t[2]]))
def _cond_select(rt, pred, then_value, else_value):
    """``then_value`` if the single value of ``pred`` is nonzero, else ``else_value`` (the
    select that ``sym.contrib.cond``/``while_loop`` unroll into)."""
    _select_shape({}, (pred.shape, then_value.shape, else_value.shape))
    if then_value.dtype != else_value.dtype:
        raise MXNetError(f"cond: the two branches give outputs of different dtypes "
                         f"{then_value.dtype.name} and {else_value.dtype.name}")
    take = bool(pred.reshape(-1)[0] != 0)
    return (then_value if take else else_value).copy()


@_cond_select.gradient
def _(F, a, ins, outs, ogs, need):
    p, g = ins[0], ogs[0]
    z = F.zeros_like(g)
    return (None,
            F._cond_select(p, g, z) if need[1] else None,
            F._cond_select(p, z, g) if need[2] else None)
