"""Operators of MXNet 1.9.1's ``mx.nd``/``mx.sym`` that gluonlite lacked (issue 17's
namespace diff, see tests/ops/test_namespace_diff.py), with MXNet's names, attributes and
numbers:

``make_loss`` (identity whose gradient is ones, ignoring the head gradient),
``hard_sigmoid``, ``cumsum`` (MXNet's ``_np_cumsum``), ``diag``, ``depth_to_space`` /
``space_to_depth`` (DCR order), ``moments`` (mean and population variance),
``khatri_rao`` (column-wise Kronecker product), ``gather_nd`` / ``scatter_nd``,
``ravel_multi_index`` / ``unravel_index`` (``_ravel_multi_index``/``_unravel_index``),
``batch_take``, ``L2Normalization``, ``SoftmaxActivation``, ``all_finite`` /
``multi_all_finite`` and ``multi_sum_sq``.

Gradients are written with registered operators where the result is again an
operator (``depth_to_space``/``space_to_depth``, ``gather_nd``/``scatter_nd``); the others
have ``_backward_<name>`` operators, as in MXNet.
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError
from .attrs import Bool, Enum, Float, Int, OptDType, OptInt, OptShape, Shape
from .registry import (ZERO_GRAD, dtype_fixed, forward_shape, register, shape_same)

__all__ = []


def _prod(seq):
    n = 1
    for s in seq:
        n *= int(s)
    return n


# --- make_loss ----------------------------------------------------------------------------
@register("make_loss", shape=shape_same, output_names=("loss",))
def make_loss(rt, data):
    """MXNet's ``make_loss``: the identity forward; its gradient is ones (the head
    gradient is ignored), which makes ``data`` a loss to minimise."""
    return data.copy()


@make_loss.gradient
def _(F, a, ins, outs, ogs, need):
    return (F.ones_like(ins[0]),)


# --- hard_sigmoid -------------------------------------------------------------------------
@register("hard_sigmoid", shape=shape_same, tags=("elemwise",))
def hard_sigmoid(rt, data, *, alpha: Float = 0.2, beta: Float = 0.5):
    """``max(0, min(1, alpha * x + beta))`` elementwise."""
    dt = data.dtype.type
    # MXNet's alpha/beta are float32 parameters, also for float64 data
    a, b = dt(np.float32(alpha)), dt(np.float32(beta))
    return rt.xp.clip(data * a + b, 0, 1).astype(data.dtype, copy=False)


@hard_sigmoid.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_hard_sigmoid(ogs[0], ins[0], **a),)


@register("_backward_hard_sigmoid", shape=lambda a, s: (s, [s[1]]))
def _backward_hard_sigmoid(rt, ograd, data, *, alpha: Float = 0.2, beta: Float = 0.5):
    """Gradient of ``hard_sigmoid``: ``alpha * g`` where ``0 < alpha x + beta < 1``."""
    dt = data.dtype.type
    a, b = dt(np.float32(alpha)), dt(np.float32(beta))
    z = data * a + b
    return (ograd * ((z > 0) & (z < 1)) * a).astype(data.dtype, copy=False)


# --- cumsum -------------------------------------------------------------------------------
def _cumsum_shape(a, s):
    if a["axis"] is None:
        return (_prod(s),)
    nd = len(s)
    if not -nd <= a["axis"] < nd:
        raise MXNetError(f"cumsum: axis={a['axis']} is out of range for shape {tuple(s)}")
    return tuple(s)


def _cumsum_dtype(a, in_types, n_out):
    return in_types, [a["dtype"] or in_types[0]]


@register("_np_cumsum", aliases=("cumsum",), shape=forward_shape(_cumsum_shape),
          dtype=_cumsum_dtype)
def cumsum(rt, a, *, axis: OptInt = None, dtype: OptDType = None):
    """Cumulative sum along ``axis`` (of the flattened array when None), in ``dtype``
    (default: the input's)."""
    _cumsum_shape({"axis": axis}, a.shape)
    xp = rt.xp
    x = a.reshape(-1) if axis is None else a
    return xp.cumsum(x, axis=0 if axis is None else axis,
                     dtype=np.dtype(dtype) if dtype else a.dtype)


@cumsum.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_np_cumsum(ogs[0], ins[0], axis=a["axis"]),)


@register("_backward_np_cumsum", shape=lambda a, s: (s, [s[1]]),
          dtype=lambda a, t, n: (t, [t[1]]))
def _backward_np_cumsum(rt, ograd, a, *, axis: OptInt = None):
    """Gradient of ``cumsum``: the reversed cumulative sum of ``ograd``."""
    xp = rt.xp
    ax = 0 if axis is None else axis
    g = ograd.reshape(-1) if axis is None else ograd
    r = xp.flip(xp.cumsum(xp.flip(g, ax), axis=ax), ax)
    return xp.ascontiguousarray(r.reshape(a.shape).astype(a.dtype, copy=False))


# --- diag ---------------------------------------------------------------------------------
def _diag_shape(a, s):
    k, a1, a2 = a["k"], a["axis1"], a["axis2"]
    nd = len(s)
    if nd == 0:
        raise MXNetError("diag: data must have at least 1 dimension")
    if nd == 1:
        n = s[0] + abs(k)
        return (n, n)
    x1, x2 = a1 % nd if -nd <= a1 < nd else None, a2 % nd if -nd <= a2 < nd else None
    if x1 is None or x2 is None or x1 == x2:
        raise MXNetError(f"diag: axis1={a1} and axis2={a2} must be two different axes of "
                         f"data with shape {tuple(s)}")
    d1, d2 = s[x1], s[x2]
    n = max(0, min(d1, d2 - k) if k >= 0 else min(d1 + k, d2))
    rest = tuple(d for i, d in enumerate(s) if i not in (x1, x2))
    return rest + (n,)


@register("diag", shape=forward_shape(_diag_shape))
def diag(rt, data, *, k: Int = 0, axis1: Int = 0, axis2: Int = 1):
    """A 1-D ``data`` as diagonal ``k`` of a square matrix; otherwise diagonal ``k`` of
    the ``(axis1, axis2)`` planes, as a new last axis (``numpy.diagonal``)."""
    _diag_shape({"k": k, "axis1": axis1, "axis2": axis2}, data.shape)
    xp = rt.xp
    if data.ndim == 1:
        return xp.diag(data, k)
    return xp.ascontiguousarray(xp.diagonal(data, k, axis1, axis2))


@diag.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_diag(ogs[0], ins[0], **a),)


@register("_backward_diag", shape=lambda a, s: (s, [s[1]]),
          dtype=lambda a, t, n: (t, [t[1]]))
def _backward_diag(rt, ograd, data, *, k: Int = 0, axis1: Int = 0, axis2: Int = 1):
    """Gradient of ``diag``: ``ograd`` put back on the diagonal it was read from (or read
    from the diagonal it was put on, for 1-D ``data``)."""
    xp = rt.xp
    if data.ndim == 1:
        return xp.ascontiguousarray(xp.diagonal(ograd, k)).astype(data.dtype, copy=False)
    out = xp.zeros(data.shape, dtype=data.dtype)
    view = xp.diagonal(out, k, axis1, axis2)  # read-only view: write through indices
    idx = xp.arange(view.shape[-1])
    r, c = (idx, idx + k) if k >= 0 else (idx - k, idx)
    moved = xp.moveaxis(out, (axis1, axis2), (-2, -1))
    moved[..., r, c] = ograd
    return out


# --- depth_to_space / space_to_depth ------------------------------------------------------
def _d2s_shape(a, s):
    b = a["block_size"]
    if len(s) != 4:
        raise MXNetError(f"depth_to_space: data must be 4-D (N, C, H, W), got shape {tuple(s)}")
    if b <= 0 or s[1] % (b * b):
        raise MXNetError(f"depth_to_space: the channels ({s[1]}) must be a multiple of "
                         f"block_size**2 (block_size={b})")
    return (s[0], s[1] // (b * b), s[2] * b, s[3] * b)


@register("depth_to_space", shape=forward_shape(_d2s_shape))
def depth_to_space(rt, data, *, block_size: Int):
    """Moves blocks of ``block_size**2`` channels into ``block_size x block_size``
    spatial blocks (DCR order, as MXNet)."""
    n, c, h, w = data.shape
    oc = _d2s_shape({"block_size": block_size}, data.shape)[1]
    b = block_size
    x = data.reshape(n, b, b, oc, h, w).transpose(0, 3, 4, 1, 5, 2)
    return rt.xp.ascontiguousarray(x).reshape(n, oc, h * b, w * b)


@depth_to_space.gradient
def _(F, a, ins, outs, ogs, need):
    return (F.space_to_depth(ogs[0], block_size=a["block_size"]),)


def _s2d_shape(a, s):
    b = a["block_size"]
    if len(s) != 4:
        raise MXNetError(f"space_to_depth: data must be 4-D (N, C, H, W), got shape {tuple(s)}")
    if b <= 0 or s[2] % b or s[3] % b:
        raise MXNetError(f"space_to_depth: height {s[2]} and width {s[3]} must be multiples "
                         f"of block_size={b}")
    return (s[0], s[1] * b * b, s[2] // b, s[3] // b)


@register("space_to_depth", shape=forward_shape(_s2d_shape))
def space_to_depth(rt, data, *, block_size: Int):
    """The inverse of ``depth_to_space``: ``block_size x block_size`` spatial blocks
    become channels."""
    _s2d_shape({"block_size": block_size}, data.shape)
    n, c, h, w = data.shape
    b = block_size
    x = data.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return rt.xp.ascontiguousarray(x).reshape(n, c * b * b, h // b, w // b)


@space_to_depth.gradient
def _(F, a, ins, outs, ogs, need):
    return (F.depth_to_space(ogs[0], block_size=a["block_size"]),)


# --- moments ------------------------------------------------------------------------------
def _moments_axes(axes, nd):
    if axes is None:
        return tuple(range(nd))
    out = []
    for ax in axes:
        if not -nd <= ax < nd:
            raise MXNetError(f"moments: axis {ax} is out of range for {nd}-D data")
        out.append(ax % nd)
    return tuple(sorted(set(out)))


def _moments_shape(a, s):
    axes = _moments_axes(a["axes"], len(s))
    if a["keepdims"]:
        o = tuple(1 if i in axes else d for i, d in enumerate(s))
    else:
        o = tuple(d for i, d in enumerate(s) if i not in axes) or (1,)
    return [o, o]


_moments_shape.num_outputs = 2


@register("moments", shape=forward_shape(_moments_shape), num_outputs=2)
def moments(rt, data, *, axes: OptShape = None, keepdims: Bool = False):
    """Mean and (population) variance of ``data`` over ``axes`` (all when None)."""
    axes_ = _moments_axes(axes, data.ndim)
    oshape = _moments_shape({"axes": axes, "keepdims": keepdims}, data.shape)[0]
    xp = rt.xp
    mean = data.mean(axis=axes_, keepdims=True)
    var = ((data - mean) ** 2).mean(axis=axes_, keepdims=True)
    return (xp.ascontiguousarray(mean.reshape(oshape).astype(data.dtype, copy=False)),
            xp.ascontiguousarray(var.reshape(oshape).astype(data.dtype, copy=False)))


@moments.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_moments(ogs[0], ogs[1], ins[0], outs[0], **a),)


@register("_backward_moments", shape=lambda a, s: (s, [s[2]]),
          dtype=lambda a, t, n: (t, [t[2]]))
def _backward_moments(rt, gmean, gvar, data, mean, *, axes: OptShape = None,
                      keepdims: Bool = False):
    """Gradient of ``moments``: ``(gmean + 2 gvar (x - mean)) / N``."""
    axes_ = _moments_axes(axes, data.ndim)
    kshape = tuple(1 if i in axes_ else d for i, d in enumerate(data.shape))
    n = _prod(data.shape[i] for i in axes_)
    gm, gv, m = gmean.reshape(kshape), gvar.reshape(kshape), mean.reshape(kshape)
    r = (gm + 2 * gv * (data - m)) / n
    return rt.xp.ascontiguousarray(r.astype(data.dtype, copy=False))


# --- khatri_rao ---------------------------------------------------------------------------
def _khatri_rao_shape(a, in_shapes):
    if any(s is None for s in in_shapes):
        return in_shapes, [None]
    if not in_shapes:
        raise MXNetError("khatri_rao: needs at least one input matrix")
    for s in in_shapes:
        if len(s) != 2:
            raise MXNetError(f"khatri_rao: inputs must be matrices, got shape {tuple(s)}")
    n = in_shapes[0][1]
    if any(s[1] != n for s in in_shapes):
        raise MXNetError(f"khatri_rao: all inputs must have the same number of columns, got "
                         f"shapes {[tuple(s) for s in in_shapes]}")
    return in_shapes, [(_prod(s[0] for s in in_shapes), n)]


@register("khatri_rao", shape=_khatri_rao_shape)
def khatri_rao(rt, *args, num_args: Int = 1):
    """Column-wise Kronecker product of matrices with equal column counts: for inputs
    ``(m_i, n)`` the output is ``(prod m_i, n)``."""
    _khatri_rao_shape({}, [a.shape for a in args])
    out = args[0]
    for m in args[1:]:
        out = (out[:, None, :] * m[None, :, :]).reshape(-1, m.shape[1])
    return rt.xp.ascontiguousarray(out)


@khatri_rao.gradient
def _(F, a, ins, outs, ogs, need):
    return tuple(F._backward_khatri_rao(ogs[0], *ins, num_args=len(ins) + 1, index=i)
                 if need[i] else None for i in range(len(ins)))


def _bkr_shape(a, in_shapes):
    return in_shapes, [in_shapes[1 + a["index"]]]


@register("_backward_khatri_rao", shape=_bkr_shape)
def _backward_khatri_rao(rt, *args, num_args: Int = 2, index: Int = 0):
    """Gradient of ``khatri_rao`` (first input: the output gradient) for input ``index``."""
    ograd, mats = args[0], args[1:]
    xp = rt.xp
    n = ograd.shape[1]
    shape = tuple(m.shape[0] for m in mats) + (n,)
    g = ograd.reshape(shape)
    for j, m in enumerate(mats):
        if j != index:
            bshape = [1] * len(mats) + [n]
            bshape[j] = m.shape[0]
            g = g * m.reshape(bshape)
    axes = tuple(j for j in range(len(mats)) if j != index)
    return xp.ascontiguousarray(g.sum(axis=axes) if axes else g)


# --- gather_nd / scatter_nd ---------------------------------------------------------------
def _gather_shape(a, d, i):
    if len(i) < 1 or i[0] > len(d):
        raise MXNetError(f"gather_nd: indices {tuple(i)} must have a first axis of at most "
                         f"data's {len(d)} dimensions (data {tuple(d)})")
    return tuple(i[1:]) + tuple(d[i[0]:])


def _index_tuple(xp, indices, dims):
    idx = indices.astype(np.int64)
    out = []
    for j, d in enumerate(dims):
        v = idx[j]
        out.append(xp.where(v < 0, v + d, v))  # MXNet wraps negative indices
    return tuple(out)


@register("gather_nd", shape=forward_shape(_gather_shape), index_inputs=("indices",))
def gather_nd(rt, data, indices):
    """``out[y0, ..., x...] = data[indices[0, y0...], ..., indices[M-1, y0...], x...]``:
    the first axis of ``indices`` indexes the first ``M`` axes of ``data``."""
    _gather_shape({}, data.shape, indices.shape)
    m = indices.shape[0]
    return rt.xp.ascontiguousarray(data[_index_tuple(rt.xp, indices, data.shape[:m])])


@gather_nd.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_gather_nd(ogs[0], ins[1], ins[0]), None)


@register("_backward_gather_nd", shape=lambda a, s: (s, [s[2]]),
          dtype=lambda a, t, n: (t, [t[0]]), index_inputs=("indices",))
def _backward_gather_nd(rt, ograd, indices, like):
    """``gather_nd``'s gradient: ``ograd`` scattered into zeros shaped like ``like`` (the
    gathered data), adding where indices repeat."""
    xp = rt.xp
    out = xp.zeros(like.shape, dtype=ograd.dtype)
    m = indices.shape[0]
    idx = _index_tuple(xp, indices, like.shape[:m])
    if xp.__name__ == "numpy":
        np.add.at(out, idx, ograd)
    else:  # cupy
        xp.add.at(out, idx, ograd)
    return out


@_backward_gather_nd.gradient
def _(F, a, ins, outs, ogs, need):
    return (F.gather_nd(ogs[0], ins[1]), None, None)


def _scatter_shape(a, in_shapes):
    return in_shapes, [tuple(a["shape"])]


@register("scatter_nd", shape=_scatter_shape, index_inputs=("indices",))
def scatter_nd(rt, data, indices, *, shape: Shape):
    """Zeros of ``shape`` with ``data`` written at ``indices`` (the inverse of
    ``gather_nd``; with repeated indices which value lands is unspecified, as in MXNet)."""
    xp = rt.xp
    m = indices.shape[0]
    if tuple(indices.shape[1:]) + tuple(shape)[m:] != tuple(data.shape):
        raise MXNetError(f"scatter_nd: data {tuple(data.shape)} does not match indices "
                         f"{tuple(indices.shape)} and shape {tuple(shape)}")
    out = xp.zeros(tuple(shape), dtype=data.dtype)
    out[_index_tuple(xp, indices, tuple(shape)[:m])] = data
    return out


@scatter_nd.gradient
def _(F, a, ins, outs, ogs, need):
    return (F.gather_nd(ogs[0], ins[1]), None)


# --- ravel / unravel ----------------------------------------------------------------------
def _ravel_shape(a, s):
    if a["shape"] is None or len(s) != 2 or s[0] != len(a["shape"]):
        raise MXNetError(f"ravel_multi_index: data must have shape (len(shape), N), got "
                         f"{tuple(s)} with shape={a['shape']}")
    return (s[1],)


@register("_ravel_multi_index", aliases=("ravel_multi_index",),
          shape=forward_shape(_ravel_shape))
def ravel_multi_index(rt, data, *, shape: OptShape = None):
    """Flat indices into an array of ``shape`` of the index tuples in the columns of
    ``data`` (shape ``(len(shape), N)``), in ``data``'s dtype."""
    _ravel_shape({"shape": shape}, data.shape)
    xp = rt.xp
    strides = np.cumprod((1,) + tuple(shape)[:0:-1])[::-1].copy()
    r = (data.astype(np.int64) * xp.asarray(strides)[:, None]).sum(axis=0)
    return r.astype(data.dtype)


ravel_multi_index.grad_fn = ZERO_GRAD


def _unravel_shape(a, s):
    if a["shape"] is None or len(s) != 1:
        raise MXNetError(f"unravel_index: data must be 1-D and shape given, got data "
                         f"{tuple(s)}, shape={a['shape']}")
    return (len(a["shape"]), s[0])


@register("_unravel_index", aliases=("unravel_index",), shape=forward_shape(_unravel_shape))
def unravel_index(rt, data, *, shape: OptShape = None):
    """The index tuples (as the columns of a ``(len(shape), N)`` array) of the flat
    indices ``data`` into an array of ``shape``."""
    _unravel_shape({"shape": shape}, data.shape)
    xp = rt.xp
    flat = data.astype(np.int64)
    out = []
    for d in reversed(tuple(shape)):
        out.append(flat % d)
        flat = flat // d
    return xp.stack(out[::-1]).astype(data.dtype)


unravel_index.grad_fn = ZERO_GRAD


# --- batch_take ---------------------------------------------------------------------------
def _batch_take_shape(a, s, i):
    if len(s) != 2 or len(i) != 1 or i[0] != s[0]:
        raise MXNetError(f"batch_take: a must be (N, M) and indices (N,), got {tuple(s)} and "
                         f"{tuple(i)}")
    return (s[0],)


@register("batch_take", shape=forward_shape(_batch_take_shape), index_inputs=("indices",))
def batch_take(rt, a, indices):
    """``out[i] = a[i, indices[i]]`` (indices clipped to the row), for ``a`` of shape
    ``(N, M)``."""
    _batch_take_shape({}, a.shape, indices.shape)
    xp = rt.xp
    j = xp.clip(indices.astype(np.int64), 0, a.shape[1] - 1)
    return xp.ascontiguousarray(a[xp.arange(a.shape[0]), j])


@batch_take.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_batch_take(ogs[0], ins[0], ins[1]), None)


@register("_backward_batch_take", shape=lambda a, s: (s, [s[1]]),
          dtype=lambda a, t, n: (t, [t[1]]), index_inputs=("indices",))
def _backward_batch_take(rt, ograd, a, indices):
    """Gradient of ``batch_take``: ``ograd[i]`` at ``[i, indices[i]]``, zeros elsewhere."""
    xp = rt.xp
    out = xp.zeros(a.shape, dtype=a.dtype)
    j = xp.clip(indices.astype(np.int64), 0, a.shape[1] - 1)
    out[xp.arange(a.shape[0]), j] = ograd
    return out


# --- L2Normalization / SoftmaxActivation --------------------------------------------------
def _l2_axes(mode, nd, name="L2Normalization"):
    if mode == "instance":
        if nd < 2:
            raise MXNetError(f"{name}: mode 'instance' needs at least 2-D data")
        return tuple(range(1, nd))
    if nd < 3 if mode == "spatial" else nd < 2:
        raise MXNetError(f"{name}: mode {mode!r} needs data with more dimensions, got {nd}-D")
    return (1,) if mode == "channel" else tuple(range(2, nd))


@register("L2Normalization", shape=shape_same)
def L2Normalization(rt, data, *, eps: Float = 1e-10,
                    mode: Enum("channel", "instance", "spatial") = "instance"):
    """``data / sqrt(sum(data**2) + eps)`` with the sum over every axis but the first
    (``instance``), over axis 1 (``channel``) or over axes 2.. (``spatial``)."""
    axes = _l2_axes(mode, data.ndim)
    xp = rt.xp
    n = xp.sqrt((data * data).sum(axis=axes, keepdims=True) + data.dtype.type(eps))
    return xp.ascontiguousarray(data / n)


@L2Normalization.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_L2Normalization(ogs[0], ins[0], outs[0], **a),)


@register("_backward_L2Normalization", shape=lambda a, s: (s, [s[1]]))
def _backward_L2Normalization(rt, ograd, data, out, *, eps: Float = 1e-10,
                              mode: Enum("channel", "instance", "spatial") = "instance"):
    """Gradient of ``L2Normalization``: ``(g - y * sum(g * y)) / norm``."""
    axes = _l2_axes(mode, data.ndim)
    xp = rt.xp
    n = xp.sqrt((data * data).sum(axis=axes, keepdims=True) + data.dtype.type(eps))
    s = (ograd * out).sum(axis=axes, keepdims=True)
    return xp.ascontiguousarray((ograd - out * s) / n)


def _softmax_act_axes(mode, nd):
    if nd < (2 if mode == "channel" else 1):
        raise MXNetError(f"SoftmaxActivation: mode {mode!r} needs at least "
                         f"{2 if mode == 'channel' else 1}-D data, got {nd}-D")
    return (1,) if mode == "channel" else (nd - 1,)


@register("SoftmaxActivation", shape=shape_same)
def SoftmaxActivation(rt, data, *, mode: Enum("channel", "instance") = "instance"):
    """Softmax over the last axis (``mode='instance'``: MXNet views the data as
    ``(-1, last)``) or, with ``mode='channel'``, over axis 1."""
    axes = _softmax_act_axes(mode, data.ndim)
    xp = rt.xp
    e = xp.exp(data - data.max(axis=axes, keepdims=True))
    return xp.ascontiguousarray(e / e.sum(axis=axes, keepdims=True))


@SoftmaxActivation.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_SoftmaxActivation(ogs[0], outs[0], **a),)


@register("_backward_SoftmaxActivation", shape=lambda a, s: (s, [s[1]]))
def _backward_SoftmaxActivation(rt, ograd, out, *,
                                mode: Enum("channel", "instance") = "instance"):
    """Gradient of ``SoftmaxActivation``: ``y * (g - sum(g * y))``."""
    axes = _softmax_act_axes(mode, out.ndim)
    s = (ograd * out).sum(axis=axes, keepdims=True)
    return rt.xp.ascontiguousarray(out * (ograd - s))


# --- finiteness checks and sums of squares (optimizer helpers) ----------------------------
@register("all_finite", shape=forward_shape(lambda a, s: (1,)), dtype=dtype_fixed("float32"))
def all_finite(rt, data, *, init_output: Bool = True):
    """``[1.]`` if every element of ``data`` is finite, else ``[0.]`` (float32)."""
    return rt.xp.asarray([float(rt.xp.isfinite(data).all())], dtype=np.float32)


def _multi_shape(a, in_shapes):
    return in_shapes, [(1,)]


@register("multi_all_finite", shape=_multi_shape, dtype=dtype_fixed("float32"))
def multi_all_finite(rt, *data, num_arrays: Int = 1, init_output: Bool = True):
    """``[1.]`` if every element of every array is finite, else ``[0.]``."""
    if len(data) != num_arrays:
        raise MXNetError(f"multi_all_finite: num_arrays={num_arrays} but {len(data)} arrays "
                         "were given")
    ok = all(bool(rt.xp.isfinite(d).all()) for d in data)
    return rt.xp.asarray([float(ok)], dtype=np.float32)


def _sum_sq_shape(a, in_shapes):
    return in_shapes, [(len(in_shapes),)]


@register("multi_sum_sq", shape=_sum_sq_shape, dtype=dtype_fixed("float32"))
def multi_sum_sq(rt, *data, num_arrays: Int):
    """The sum of squares of each array, as a float32 vector of ``num_arrays``."""
    if len(data) != num_arrays:
        raise MXNetError(f"multi_sum_sq: num_arrays={num_arrays} but {len(data)} arrays "
                         "were given")
    xp = rt.xp
    return xp.asarray([float((d.astype(np.float32) ** 2).sum()) for d in data],
                      dtype=np.float32)


# --- split_v2 -----------------------------------------------------------------------------
def split_v2_attrs(indices_or_sections) -> dict:
    """``_split_v2``'s attributes from ``nd/sym.split_v2``'s ``indices_or_sections``: an int
    (equal sections) or a tuple of split indices, as MXNet's Python wrapper builds them."""
    if isinstance(indices_or_sections, int) and not isinstance(indices_or_sections, bool):
        return dict(indices=(), sections=indices_or_sections)
    if isinstance(indices_or_sections, tuple):
        return dict(indices=(0,) + tuple(indices_or_sections), sections=0)
    raise ValueError("split_v2: indices_or_sections must be an int or a tuple of ints, "
                     f"got {type(indices_or_sections).__name__}")


def _split_v2_bounds(a, size):
    """The (start, stop) of every piece along the split axis."""
    if a["sections"] > 0:
        n = a["sections"]
        if size % n:
            raise MXNetError(f"split_v2: an axis of size {size} cannot be split into {n} "
                             "equal sections")
        step = size // n
        return [(i * step, (i + 1) * step) for i in range(n)]
    idx = list(a["indices"])
    if not idx:
        raise MXNetError("split_v2: give indices_or_sections (an int or a tuple of indices)")
    ends = idx[1:] + [size]
    for s, e in zip(idx, ends):
        if not 0 <= s <= e <= size:
            raise MXNetError(f"split_v2: indices {tuple(idx[1:])} must be ascending and "
                             f"within the axis size {size}")
    return list(zip(idx, ends))


def _split_v2_n(a):
    return a["sections"] if a["sections"] > 0 else len(a["indices"])


def _split_v2_shape(a, in_shapes):
    s = in_shapes[0]
    n = _split_v2_n(a)
    if s is None:
        return in_shapes, [None] * n
    nd = len(s)
    if not -nd <= a["axis"] < nd:
        raise MXNetError(f"split_v2: axis={a['axis']} is out of range for shape {tuple(s)}")
    ax = a["axis"] % nd
    outs = []
    for b, e in _split_v2_bounds(a, s[ax]):
        o = list(s)
        o[ax] = e - b
        if a["squeeze_axis"]:
            if e - b != 1:
                raise MXNetError("split_v2: squeeze_axis needs pieces of size 1 along the "
                                 f"axis, got one of size {e - b}")
            o.pop(ax)
        outs.append(tuple(o))
    return in_shapes, outs


@register("_split_v2", shape=_split_v2_shape, num_outputs=_split_v2_n)
def split_v2(rt, data, *, indices: Shape = (), axis: Int = 0, squeeze_axis: Bool = False,
             sections: Int = 0):
    """MXNet's ``_split_v2`` (behind ``nd.split_v2``/``sym.split_v2``): ``sections`` equal
    pieces along ``axis`` or, with ``sections=0``, pieces starting at ``indices`` (the first
    index is 0); ``squeeze_axis`` drops the axis from size-1 pieces."""
    a = dict(indices=indices, axis=axis, squeeze_axis=squeeze_axis, sections=sections)
    _, shapes = _split_v2_shape(a, [data.shape])
    ax = axis % data.ndim
    xp = rt.xp
    outs = []
    for (b, e), s in zip(_split_v2_bounds(a, data.shape[ax]), shapes):
        sl = [slice(None)] * data.ndim
        sl[ax] = slice(b, e)
        outs.append(xp.ascontiguousarray(data[tuple(sl)]).reshape(s))
    return tuple(outs)


@split_v2.gradient
def _(F, a, ins, outs, ogs, need):
    ax = a["axis"]
    parts = [F.expand_dims(g, axis=ax) if a["squeeze_axis"] else g for g in ogs]
    if len(parts) == 1:
        return (parts[0],)
    return (F.concat(*parts, dim=ax, num_args=len(parts)),)
