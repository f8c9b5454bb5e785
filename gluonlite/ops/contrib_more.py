"""More of MXNet 1.9.1's ``contrib`` operators (``mx.nd.contrib.X`` / ``mx.sym.contrib.X``,
registered as ``_contrib_X``), and ``_sparse_retain`` (``sym.sparse.retain``).

Semantics follow MXNet's CPU kernels:

* ``gradientmultiplier``: identity forward; the gradient is ``scalar * g``.
* ``div_sqrt_dim``: ``data / sqrt(data.shape[-1])``.
* ``round_ste`` / ``sign_ste``: ``round`` (half away from zero) / ``sign`` forward with the
  straight-through gradient: the head gradient passes unchanged.
* ``index_array``: the int64 index of every element, ``data.shape + (len(axes),)`` (all axes
  by default); no gradient.
* ``getnnz``: the number of stored (nonzero) values of a 2-D array, in all (``axis=None``,
  shape ``(1,)``) or per row (``axis=1``) or column (``axis=0``), int64. MXNet accepts only
  CSR input (and not ``axis=0``); here a CSR array is seen through its dense values, so
  explicitly stored zeros are not counted, and dense input is accepted.
* ``allclose``: one uint8 (shape ``()``): ``|a - b| <= atol + rtol * |b|`` everywhere,
  NaNs equal when ``equal_nan``.
* ``box_encode`` / ``box_decode``: SSD box target encoding (corner boxes to normalised
  centre offsets, masked by ``samples > 0.5``) and decoding (``clip`` limits the log-size
  offsets); ``bipartite_matching``: greedy matching in score order (descending unless
  ``is_ascend``) of the rows and columns of ``(..., N, M)`` scores, scores strictly past
  ``threshold`` only, stopping after ``topk + 1`` matches when ``topk > 0`` (MXNet's
  kernel counts that way); outputs the matched column per row and row per column, -1 where
  none. Their gradients are zero, as in MXNet.
* ``interleaved_matmul_selfatt_qk/valatt`` and ``interleaved_matmul_encdec_qk/valatt``: the
  attention products of GluonNLP's fused transformer, on projections interleaved per head
  (``(seq, batch, heads * 3 * head_dim)`` for self-attention: each head's query, key and
  value of ``head_dim`` in turn; ``(seq, batch, heads * 2 * head_dim)`` keys/values for
  encoder-decoder attention). ``*_qk`` give ``(batch * heads, q_seq, k_seq)`` scores of the
  queries scaled by ``1 / sqrt(head_dim)``; ``*_valatt`` the attention-weighted values,
  ``(q_seq, batch, heads * head_dim)``. Gradients to every input.
* ``_sparse_retain``: ``data`` with only the rows listed in ``indices`` kept, the others
  zero (what ``sparse.retain`` computes, on dense arrays); gradient likewise masked.
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError
from .attrs import Bool, Enum, Float, Int, OptInt, OptShape
from .registry import ZERO_GRAD, dtype_fixed, forward_shape, register, shape_same

__all__ = []


def _np(rt, x):
    return x if isinstance(x, np.ndarray) else rt.xp.asnumpy(x)


def _dev(rt, x):
    return x if rt.xp is np else rt.xp.asarray(x)


# --- elementwise helpers ------------------------------------------------------------------
@register("_contrib_gradientmultiplier", shape=shape_same)
def _contrib_gradientmultiplier(rt, data, *, scalar: Float = 1.0, is_int: Bool = True):
    """Identity forward; the backward multiplies the gradient by ``scalar`` (MXNet's
    ``contrib.gradientmultiplier``, e.g. for gradient reversal with ``scalar=-1``)."""
    return data.copy()


@_contrib_gradientmultiplier.gradient
def _(F, a, ins, outs, ogs, need):
    return (ogs[0] * a["scalar"],)


def _last_dim(op, shape):
    if len(shape) < 1 or shape[-1] == 0:
        raise MXNetError(f"{op}: data must have a non-empty last axis, got shape "
                         f"{tuple(shape)}")
    return tuple(shape)


@register("_contrib_div_sqrt_dim",
          shape=forward_shape(lambda a, s: _last_dim("div_sqrt_dim", s)))
def _contrib_div_sqrt_dim(rt, data):
    """``data / sqrt(data.shape[-1])`` (MXNet's ``contrib.div_sqrt_dim``)."""
    _last_dim("div_sqrt_dim", data.shape)
    return data / data.dtype.type(np.sqrt(data.shape[-1]))


@_contrib_div_sqrt_dim.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._contrib_div_sqrt_dim(ogs[0]),)


@register("_contrib_round_ste", shape=shape_same, tags=("elemwise",))
def _contrib_round_ste(rt, data):
    """Round half away from zero, with the straight-through gradient (the head gradient
    passes unchanged; MXNet's ``contrib.round_ste``)."""
    xp = rt.xp
    if data.dtype.kind != "f":
        return data.copy()
    return (xp.sign(data) * xp.floor(xp.abs(data) + data.dtype.type(0.5))).astype(data.dtype)


@register("_contrib_sign_ste", shape=shape_same, tags=("elemwise",))
def _contrib_sign_ste(rt, data):
    """``sign``, with the straight-through gradient (MXNet's ``contrib.sign_ste``)."""
    return rt.xp.sign(data)


def _ste(F, a, ins, outs, ogs, need):
    return (F._copy(ogs[0]),)


_contrib_round_ste.gradient(_ste)
_contrib_sign_ste.gradient(_ste)


# --- index_array, getnnz, allclose ----------------------------------------------------------
def _index_axes(a, shape):
    axes = a["axes"]
    nd = len(shape)
    if axes is None:
        return tuple(range(nd))
    out = []
    for ax in axes:
        if not -nd <= ax < nd:
            raise MXNetError(f"index_array: axis {ax} is out of range for data of shape "
                             f"{tuple(shape)}")
        out.append(ax % nd)
    return tuple(out)


@register("_contrib_index_array", dtype=dtype_fixed("int64"),
          shape=forward_shape(lambda a, s: tuple(s) + (len(_index_axes(a, s)),)))
def _contrib_index_array(rt, data, *, axes: OptShape = None):
    """The int64 index of every element of ``data`` along ``axes`` (default: all), shape
    ``data.shape + (len(axes),)`` (MXNet's ``contrib.index_array``)."""
    xp = rt.xp
    ax = _index_axes(dict(axes=axes), data.shape)
    grids = xp.indices(data.shape, dtype=xp.int64) if data.ndim else xp.zeros((0,), xp.int64)
    out = xp.stack([grids[i] for i in ax], axis=-1) if ax else \
        xp.zeros(data.shape + (0,), xp.int64)
    return xp.ascontiguousarray(out)


_contrib_index_array.grad_fn = ZERO_GRAD


def _getnnz_shape(a, s):
    if len(s) != 2:
        raise MXNetError(f"getnnz: data must be 2-D (a CSR matrix), got shape {tuple(s)}")
    axis = a["axis"]
    if axis is None:
        return (1,)
    if axis not in (0, 1, -1, -2):
        raise MXNetError(f"getnnz: axis must be None, 0 or 1, got {axis}")
    return (s[1],) if axis in (0, -2) else (s[0],)


@register("_contrib_getnnz", shape=forward_shape(_getnnz_shape), dtype=dtype_fixed("int64"))
def _contrib_getnnz(rt, data, *, axis: OptInt = None):
    """The number of nonzero values of a 2-D array: in all (``axis=None``), per column
    (``axis=0``) or per row (``axis=1``), int64 (MXNet's ``contrib.getnnz``)."""
    _getnnz_shape(dict(axis=axis), data.shape)
    nz = data != 0
    if axis is None:
        return rt.xp.asarray([int(nz.sum())], dtype=rt.xp.int64)
    return nz.sum(axis=axis).astype(rt.xp.int64)


_contrib_getnnz.grad_fn = ZERO_GRAD


@register("_contrib_allclose", shape=forward_shape(lambda a, s1, s2: ()),
          dtype=dtype_fixed("uint8"))
def _contrib_allclose(rt, a, b, *, rtol: Float = 1e-5, atol: Float = 1e-8,
                      equal_nan: Bool = True):
    """1 (uint8, shape ``()``) if ``|a - b| <= atol + rtol * |b|`` for every element (NaNs
    equal when ``equal_nan``), else 0 (MXNet's ``contrib.allclose``)."""
    if tuple(a.shape) != tuple(b.shape):
        raise MXNetError(f"allclose: a and b must have the same shape, got {tuple(a.shape)} "
                         f"and {tuple(b.shape)}")
    ok = rt.xp.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return rt.xp.asarray(1 if bool(ok) else 0, dtype=rt.xp.uint8)


_contrib_allclose.grad_fn = ZERO_GRAD


# --- boxes --------------------------------------------------------------------------------
def _box_encode_shape(a, samples, matches, anchors, refs, means, stds):
    op = "box_encode"
    if len(samples) != 2 or tuple(matches) != tuple(samples):
        raise MXNetError(f"{op}: samples and matches must be (B, N), got {tuple(samples)} and "
                         f"{tuple(matches)}")
    if tuple(anchors) != tuple(samples) + (4,):
        raise MXNetError(f"{op}: anchors must be (B, N, 4) = {tuple(samples) + (4,)}, got "
                         f"{tuple(anchors)}")
    if len(refs) != 3 or refs[0] != samples[0] or refs[2] != 4:
        raise MXNetError(f"{op}: refs must be (B, M, 4) with B = {samples[0]}, got "
                         f"{tuple(refs)}")
    if tuple(means) != (4,) or tuple(stds) != (4,):
        raise MXNetError(f"{op}: means and stds must have shape (4,), got {tuple(means)} and "
                         f"{tuple(stds)}")
    out = tuple(anchors)
    return [out, out]


_box_encode_shape.num_outputs = 2


def _center(b):
    w = b[..., 2] - b[..., 0]
    h = b[..., 3] - b[..., 1]
    return b[..., 0] + w * 0.5, b[..., 1] + h * 0.5, w, h


@register("_contrib_box_encode", shape=forward_shape(_box_encode_shape), num_outputs=2)
def _contrib_box_encode(rt, samples, matches, anchors, refs, means, stds):
    """Training targets ``((rx - ax) / aw, (ry - ay) / ah, log(rw / aw), log(rh / ah))``,
    normalised by ``means``/``stds``, of the corner-format ``refs`` matched to each anchor
    (``matches``), where ``samples > 0.5``; outputs ``(targets, masks)`` (MXNet's
    ``contrib.box_encode``)."""
    _box_encode_shape({}, samples.shape, matches.shape, anchors.shape, refs.shape,
                      means.shape, stds.shape)
    s, m, an, rf = (_np(rt, v) for v in (samples, matches, anchors, refs))
    mu, sd = _np(rt, means), _np(rt, stds)
    mi = m.astype(np.int64)
    valid = s > 0.5
    if np.any(valid & ((mi < 0) | (mi >= rf.shape[1]))):
        raise MXNetError(f"box_encode: matches must index refs' {rf.shape[1]} boxes where "
                         "samples > 0.5")
    ref = np.take_along_axis(rf, np.clip(mi, 0, max(rf.shape[1] - 1, 0))[..., None], axis=1) \
        if rf.shape[1] else np.zeros_like(an)
    ax, ay, aw, ah = _center(an)
    rx, ry, rw, rh = _center(ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.stack([((rx - ax) / aw - mu[0]) / sd[0], ((ry - ay) / ah - mu[1]) / sd[1],
                      (np.log(rw / aw) - mu[2]) / sd[2], (np.log(rh / ah) - mu[3]) / sd[3]],
                     axis=-1)
    mask = np.broadcast_to(valid[..., None], t.shape)
    targets = np.where(mask, t, 0).astype(an.dtype)
    return _dev(rt, targets), _dev(rt, mask.astype(an.dtype))


_contrib_box_encode.grad_fn = ZERO_GRAD


def _box_decode_shape(a, data, anchors):
    if len(data) != 3 or data[2] != 4:
        raise MXNetError(f"box_decode: data must be (B, N, 4), got {tuple(data)}")
    if len(anchors) != 3 or anchors[0] != 1 or anchors[1:] != tuple(data[1:]):
        raise MXNetError(f"box_decode: anchors must be (1, N, 4) = {(1,) + tuple(data[1:])}, "
                         f"got {tuple(anchors)}")
    return tuple(data)


@register("_contrib_box_decode", shape=forward_shape(_box_decode_shape))
def _contrib_box_decode(rt, data, anchors, *, std0: Float = 1.0, std1: Float = 1.0,
                        std2: Float = 1.0, std3: Float = 1.0, clip: Float = -1.0,
                        format: Enum("center", "corner") = "center"):
    """Corner boxes ``(xmin, ymin, xmax, ymax)`` from the predicted offsets ``data`` relative
    to ``anchors`` (``format``: how the anchors are given), offsets scaled by ``std0..3``
    and the log-sizes limited to ``clip`` when positive (MXNet's ``contrib.box_decode``)."""
    _box_decode_shape({}, data.shape, anchors.shape)
    xp = rt.xp
    dt = data.dtype.type
    if format == "corner":
        ax, ay, aw, ah = _center(anchors)
    else:
        ax, ay, aw, ah = (anchors[..., i] for i in range(4))
    ox = data[..., 0] * dt(std0) * aw + ax
    oy = data[..., 1] * dt(std1) * ah + ay
    dw = data[..., 2] * dt(std2)
    dh = data[..., 3] * dt(std3)
    if clip > 0:
        dw = xp.minimum(dw, dt(clip))
        dh = xp.minimum(dh, dt(clip))
    dw = xp.exp(dw) * aw * dt(0.5)
    dh = xp.exp(dh) * ah * dt(0.5)
    return xp.stack([ox - dw, oy - dh, ox + dw, oy + dh], axis=-1).astype(data.dtype)


_contrib_box_decode.grad_fn = ZERO_GRAD


def _bipartite_shape(a, s):
    if len(s) < 2:
        raise MXNetError(f"bipartite_matching: data must have at least 2 dimensions "
                         f"(..., N, M), got {tuple(s)}")
    return [tuple(s[:-1]), tuple(s[:-2]) + (s[-1],)]


_bipartite_shape.num_outputs = 2


@register("_contrib_bipartite_matching", shape=forward_shape(_bipartite_shape), num_outputs=2)
def _contrib_bipartite_matching(rt, data, *, is_ascend: Bool = False, threshold: Float,
                                topk: Int = -1):
    """Greedy bipartite matching of the rows and columns of ``(..., N, M)`` scores, best
    score first (lowest when ``is_ascend``), only scores strictly better than ``threshold``,
    stopping after ``topk + 1`` matches as MXNet's kernel does (-1: no limit). Returns the matched
    column of each row and the
    matched row of each column, -1 where unmatched (MXNet's
    ``contrib.bipartite_matching``)."""
    _bipartite_shape({}, data.shape)
    x = _np(rt, data)
    n, m = x.shape[-2], x.shape[-1]
    flat = x.reshape(-1, n * m)
    rows = np.full((flat.shape[0], n), -1, x.dtype)
    cols = np.full((flat.shape[0], m), -1, x.dtype)
    for b in range(flat.shape[0]):
        sc = flat[b]
        order = np.argsort(sc if is_ascend else -sc, kind="stable")
        count = 0
        for k in order:
            r, c = divmod(int(k), m)
            if rows[b, r] != -1 or cols[b, c] != -1:
                continue
            v = sc[k]
            if not ((v < threshold) if is_ascend else (v > threshold)):
                break  # sorted: every later score is past the threshold too
            rows[b, r] = c
            cols[b, c] = r
            count += 1
            if 0 < topk < count:  # MXNet's kernel stops after topk + 1 matches
                break
    return (_dev(rt, rows.reshape(x.shape[:-1])),
            _dev(rt, cols.reshape(x.shape[:-2] + (m,))))


_contrib_bipartite_matching.grad_fn = ZERO_GRAD


# --- interleaved attention matmuls ----------------------------------------------------------
def _heads_split(op, shape, heads, parts):
    if len(shape) != 3:
        raise MXNetError(f"{op}: input must be 3-D (seq_length, batch, features), got "
                         f"{tuple(shape)}")
    if heads <= 0 or shape[2] % (heads * parts):
        raise MXNetError(f"{op}: the last axis ({shape[2]}) must be a multiple of heads * "
                         f"{parts} = {heads * parts}")
    return shape[2] // (heads * parts)


def _qk_selfatt_shape(a, s):
    _heads_split("interleaved_matmul_selfatt_qk", s, a["heads"], 3)
    return (s[1] * a["heads"], s[0], s[0])


def _valatt_selfatt_shape(a, s, att):
    d = _heads_split("interleaved_matmul_selfatt_valatt", s, a["heads"], 3)
    if tuple(att) != (s[1] * a["heads"], s[0], s[0]):
        raise MXNetError(f"interleaved_matmul_selfatt_valatt: attention must be (batch * "
                         f"heads, seq, seq) = {(s[1] * a['heads'], s[0], s[0])}, got "
                         f"{tuple(att)}")
    return (s[0], s[1], a["heads"] * d)


def _qk_encdec_shape(a, q, kv):
    h = a["heads"]
    dq = _heads_split("interleaved_matmul_encdec_qk", q, h, 1)
    dk = _heads_split("interleaved_matmul_encdec_qk", kv, h, 2)
    if dq != dk or q[1] != kv[1]:
        raise MXNetError(f"interleaved_matmul_encdec_qk: queries {tuple(q)} and keys_values "
                         f"{tuple(kv)} must share the batch and head size")
    return (q[1] * h, q[0], kv[0])


def _valatt_encdec_shape(a, kv, att):
    h = a["heads"]
    d = _heads_split("interleaved_matmul_encdec_valatt", kv, h, 2)
    if len(att) != 3 or att[0] != kv[1] * h or att[2] != kv[0]:
        raise MXNetError(f"interleaved_matmul_encdec_valatt: attention must be (batch * heads, "
                         f"q_seq, {kv[0]}) with batch * heads = {kv[1] * h}, got {tuple(att)}")
    return (att[1], kv[1], h * d)


def _split(x, heads, parts):
    s, b, f = x.shape
    return x.reshape(s, b, heads, parts, f // (heads * parts))


def _bh(x, b, h):  # (B*H, i, j) -> (B, H, i, j)
    return x.reshape((b, h) + x.shape[1:])


def _scale(xp, d, dtype):
    return dtype.type(1.0 / np.sqrt(d))


@register("_contrib_interleaved_matmul_selfatt_qk", shape=forward_shape(_qk_selfatt_shape))
def _contrib_interleaved_matmul_selfatt_qk(rt, queries_keys_values, *, heads: Int):
    """Self-attention scores ``(q / sqrt(head_dim)) . k`` per head from interleaved
    projections ``(seq, batch, heads * 3 * head_dim)``: ``(batch * heads, seq, seq)``."""
    x = queries_keys_values
    d = _heads_split("interleaved_matmul_selfatt_qk", x.shape, heads, 3)
    xp = rt.xp
    x5 = _split(x, heads, 3)
    q, k = x5[:, :, :, 0] * _scale(xp, d, x.dtype), x5[:, :, :, 1]
    out = xp.einsum("ibhd,jbhd->bhij", q, k)
    return xp.ascontiguousarray(out.reshape(-1, x.shape[0], x.shape[0]))


@_contrib_interleaved_matmul_selfatt_qk.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_interleaved_matmul_selfatt_qk(ogs[0], ins[0], **a),)


@register("_backward_interleaved_matmul_selfatt_qk", shape=lambda a, s: (s, [s[1]]),
          dtype=lambda a, t, n: (t, [t[1]]))
def _backward_interleaved_matmul_selfatt_qk(rt, ograd, queries_keys_values, *, heads: Int):
    """Gradient of ``interleaved_matmul_selfatt_qk`` with respect to its input."""
    x = queries_keys_values
    d = _heads_split("interleaved_matmul_selfatt_qk", x.shape, heads, 3)
    xp = rt.xp
    x5 = _split(x, heads, 3)
    c = _scale(xp, d, x.dtype)
    g = _bh(ograd, x.shape[1], heads)
    out = xp.zeros(x5.shape, x.dtype)
    out[:, :, :, 0] = xp.einsum("bhij,jbhd->ibhd", g, x5[:, :, :, 1]) * c
    out[:, :, :, 1] = xp.einsum("bhij,ibhd->jbhd", g, x5[:, :, :, 0]) * c
    return out.reshape(x.shape)


def _selfatt_valatt(rt, qkv, att, heads):
    d = _heads_split("interleaved_matmul_selfatt_valatt", qkv.shape, heads, 3)
    s, b, _ = qkv.shape
    v = _split(qkv, heads, 3)[:, :, :, 2]
    out = rt.xp.einsum("bhij,jbhd->ibhd", _bh(att, b, heads), v)
    return rt.xp.ascontiguousarray(out.reshape(s, b, heads * d))


@register("_contrib_interleaved_matmul_selfatt_valatt",
          shape=forward_shape(_valatt_selfatt_shape))
def _contrib_interleaved_matmul_selfatt_valatt(rt, queries_keys_values, attention, *,
                                               heads: Int):
    """Attention-weighted values per head from interleaved projections ``(seq, batch,
    heads * 3 * head_dim)`` and ``(batch * heads, seq, seq)`` attention: ``(seq, batch,
    heads * head_dim)``."""
    _valatt_selfatt_shape(dict(heads=heads), queries_keys_values.shape, attention.shape)
    return _selfatt_valatt(rt, queries_keys_values, attention, heads)


@_contrib_interleaved_matmul_selfatt_valatt.gradient
def _(F, a, ins, outs, ogs, need):
    return tuple(F._backward_interleaved_matmul_selfatt_valatt(ogs[0], ins[0], ins[1], **a))


@register("_backward_interleaved_matmul_selfatt_valatt", num_outputs=2,
          shape=lambda a, s: (s, [s[1], s[2]]), dtype=lambda a, t, n: (t, [t[1], t[2]]))
def _backward_interleaved_matmul_selfatt_valatt(rt, ograd, queries_keys_values, attention, *,
                                                heads: Int):
    """Gradients of ``interleaved_matmul_selfatt_valatt``: (to the projections, to the
    attention)."""
    xp = rt.xp
    x = queries_keys_values
    s, b, _ = x.shape
    x5 = _split(x, heads, 3)
    g = ograd.reshape(s, b, heads, -1)
    dx = xp.zeros(x5.shape, x.dtype)
    dx[:, :, :, 2] = xp.einsum("bhij,ibhd->jbhd", _bh(attention, b, heads), g)
    datt = xp.einsum("ibhd,jbhd->bhij", g, x5[:, :, :, 2]).reshape(attention.shape)
    return dx.reshape(x.shape), xp.ascontiguousarray(datt)


@register("_contrib_interleaved_matmul_encdec_qk", shape=forward_shape(_qk_encdec_shape))
def _contrib_interleaved_matmul_encdec_qk(rt, queries, keys_values, *, heads: Int):
    """Encoder-decoder attention scores ``(q / sqrt(head_dim)) . k`` per head from queries
    ``(q_seq, batch, heads * head_dim)`` and interleaved keys/values ``(k_seq, batch,
    heads * 2 * head_dim)``: ``(batch * heads, q_seq, k_seq)``."""
    _qk_encdec_shape(dict(heads=heads), queries.shape, keys_values.shape)
    xp = rt.xp
    q = _split(queries, heads, 1)[:, :, :, 0]
    d = q.shape[-1]
    k = _split(keys_values, heads, 2)[:, :, :, 0]
    out = xp.einsum("ibhd,jbhd->bhij", q * _scale(xp, d, queries.dtype), k)
    return xp.ascontiguousarray(out.reshape(-1, queries.shape[0], keys_values.shape[0]))


@_contrib_interleaved_matmul_encdec_qk.gradient
def _(F, a, ins, outs, ogs, need):
    return tuple(F._backward_interleaved_matmul_encdec_qk(ogs[0], ins[0], ins[1], **a))


@register("_backward_interleaved_matmul_encdec_qk", num_outputs=2,
          shape=lambda a, s: (s, [s[1], s[2]]), dtype=lambda a, t, n: (t, [t[1], t[2]]))
def _backward_interleaved_matmul_encdec_qk(rt, ograd, queries, keys_values, *, heads: Int):
    """Gradients of ``interleaved_matmul_encdec_qk``: (to the queries, to the keys/values)."""
    xp = rt.xp
    b = queries.shape[1]
    q = _split(queries, heads, 1)[:, :, :, 0]
    kv5 = _split(keys_values, heads, 2)
    c = _scale(xp, q.shape[-1], queries.dtype)
    g = _bh(ograd, b, heads)
    dq = xp.einsum("bhij,jbhd->ibhd", g, kv5[:, :, :, 0]) * c
    dkv = xp.zeros(kv5.shape, keys_values.dtype)
    dkv[:, :, :, 0] = xp.einsum("bhij,ibhd->jbhd", g, q) * c
    return (xp.ascontiguousarray(dq.reshape(queries.shape)), dkv.reshape(keys_values.shape))


@register("_contrib_interleaved_matmul_encdec_valatt", shape=forward_shape(_valatt_encdec_shape))
def _contrib_interleaved_matmul_encdec_valatt(rt, keys_values, attention, *, heads: Int):
    """Attention-weighted values per head from interleaved keys/values ``(k_seq, batch,
    heads * 2 * head_dim)`` and ``(batch * heads, q_seq, k_seq)`` attention: ``(q_seq,
    batch, heads * head_dim)``."""
    _valatt_encdec_shape(dict(heads=heads), keys_values.shape, attention.shape)
    xp = rt.xp
    b = keys_values.shape[1]
    v = _split(keys_values, heads, 2)[:, :, :, 1]
    out = xp.einsum("bhij,jbhd->ibhd", _bh(attention, b, heads), v)
    return xp.ascontiguousarray(out.reshape(attention.shape[1], b, -1))


@_contrib_interleaved_matmul_encdec_valatt.gradient
def _(F, a, ins, outs, ogs, need):
    return tuple(F._backward_interleaved_matmul_encdec_valatt(ogs[0], ins[0], ins[1], **a))


@register("_backward_interleaved_matmul_encdec_valatt", num_outputs=2,
          shape=lambda a, s: (s, [s[1], s[2]]), dtype=lambda a, t, n: (t, [t[1], t[2]]))
def _backward_interleaved_matmul_encdec_valatt(rt, ograd, keys_values, attention, *,
                                               heads: Int):
    """Gradients of ``interleaved_matmul_encdec_valatt``: (to the keys/values, to the
    attention)."""
    xp = rt.xp
    b = keys_values.shape[1]
    kv5 = _split(keys_values, heads, 2)
    g = ograd.reshape(ograd.shape[0], b, heads, -1)
    dkv = xp.zeros(kv5.shape, keys_values.dtype)
    dkv[:, :, :, 1] = xp.einsum("bhij,ibhd->jbhd", _bh(attention, b, heads), g)
    datt = xp.einsum("ibhd,jbhd->bhij", g, kv5[:, :, :, 1]).reshape(attention.shape)
    return dkv.reshape(keys_values.shape), xp.ascontiguousarray(datt)


# --- sparse.retain on dense arrays ----------------------------------------------------------
def _retain_mask(rt, data, indices):
    if data.ndim < 1:
        raise MXNetError("retain: data must have at least 1 dimension")
    xp = rt.xp
    idx = indices.astype(xp.int64).reshape(-1)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= data.shape[0]):
        raise MXNetError(f"retain: indices must lie in [0, {data.shape[0]}), got "
                         f"[{int(idx.min())}, {int(idx.max())}]")
    keep = xp.zeros((data.shape[0],) + (1,) * (data.ndim - 1), bool)
    keep[idx] = True
    return keep


@register("_sparse_retain", shape=forward_shape(lambda a, s, i: tuple(s)),
          index_inputs=("indices",))
def _sparse_retain(rt, data, indices):
    """``data`` with the rows listed in ``indices`` kept and every other row zero (MXNet's
    ``sparse.retain``, computed on dense arrays)."""
    return rt.xp.where(_retain_mask(rt, data, indices), data, data.dtype.type(0))


@_sparse_retain.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._sparse_retain(ogs[0], ins[1]), None)
