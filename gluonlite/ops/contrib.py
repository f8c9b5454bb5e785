"""MXNet 1.9.1's ``contrib`` operators that detection and segmentation code (gluoncv) uses:
``BilinearResize2D``, ``ROIAlign``, ``box_iou``, ``box_nms``, ``MultiBoxPrior``,
``MultiBoxTarget`` and ``MultiBoxDetection``. They are registered under MXNet's names
(``_contrib_X``, which is what ``-symbol.json`` files hold) and reached as
``mx.nd.contrib.X`` / ``mx.sym.contrib.X`` / ``F.contrib.X``.

Semantics follow MXNet's CPU kernels:

* ``BilinearResize2D``: ``(N, C, H, W)`` resized with MXNet's source-index rule
  (``align_corners=True``: ``src = dst * (in - 1) / (out - 1)``; False: the half-pixel rule
  clamped at 0), the size chosen by ``mode`` (``size``, ``like``, ``odd_scale``,
  ``to_even_down/up``, ``to_odd_down/up``). Resizing is linear, so it is computed as two
  small interpolation matrices, and the gradient is their transpose.
* ``ROIAlign``: average of ``sample_ratio``² (adaptive when -1) bilinear samples per bin
  (Detectron's rule: samples outside ``[-1, size]`` count as 0, coordinates clamped into
  the map), ``aligned`` (half-pixel offset), ``position_sensitive`` (R-FCN). ``rois`` are
  ``(R, 5)`` ``[batch, x1, y1, x2, y2]``; a negative batch index gives zeros. The bilinear weights
  of a bin factor into a row part and a column part, so
  each ROI is two small matrices and the gradient (to ``data`` only, as in MXNet) their
  transpose.
* ``box_iou``: pairwise IoU of ``(..., 4)`` boxes, output ``lhs.shape[:-1] +
  rhs.shape[:-1]``; no gradient (zero, as in MXNet).
* ``box_nms``: per batch, boxes with ``score > valid_thresh`` sorted by score (stable),
  the first ``topk`` greedily suppressed (IoU ``> overlap_thresh``, per class unless
  ``force_suppress``), survivors written first in score order, every other row -1. The
  gradient copies the output gradient back to the rows the survivors came from.
* ``MultiBoxPrior`` / ``MultiBoxTarget`` / ``MultiBoxDetection``: SSD's anchors, training
  targets (bipartite then threshold matching, optional hard negative mining) and decoding
  with per-class NMS, as MXNet's CPU code computes them; their gradients are zero.
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError
from .attrs import Bool, Enum, Float, FloatShape, Int, OptFloat, Shape
from .registry import ZERO_GRAD, register

__all__ = []

_FORMAT = Enum("center", "corner")


def _np(rt, x):
    """A NumPy view of a raw array (the box operators run on the host, as MXNet's CPU code)."""
    return x if isinstance(x, np.ndarray) else rt.xp.asnumpy(x)


def _check_float(op, x, what="data"):
    if x.dtype.kind != "f":
        raise MXNetError(f"{op}: {what} must be a floating-point array, got {x.dtype.name}")


# ---------------------------------------------------------------------------------------------
# BilinearResize2D
_RESIZE_MODES = Enum("like", "odd_scale", "size", "to_even_down", "to_even_up", "to_odd_down",
                     "to_odd_up")


def _resize_size(a, dshape, like_shape):
    op = "BilinearResize2D"
    if len(dshape) != 4:
        raise MXNetError(f"{op}: data must be 4-D (N, C, H, W), got shape {tuple(dshape)}")
    h, w = dshape[2], dshape[3]
    mode = a["mode"]
    if mode == "size":
        if a["scale_height"] is not None:
            if a["scale_width"] is None:
                raise MXNetError(f"{op}: scale_height is given, so scale_width is needed too")
            oh, ow = int(a["scale_height"] * h), int(a["scale_width"] * w)
        else:
            oh, ow = a["height"], a["width"]
    elif mode == "odd_scale":
        if a["scale_height"] is None or a["scale_width"] is None:
            raise MXNetError(f"{op}: mode='odd_scale' needs scale_height and scale_width")
        sh, sw = a["scale_height"], a["scale_width"]
        oh = int(h * sh) if h % 2 == 0 else int((h - 1) * sh) + 1
        ow = int(w * sw) if w % 2 == 0 else int((w - 1) * sw) + 1
    elif mode == "like":
        if like_shape is None:
            raise MXNetError(f"{op}: mode='like' needs the second input 'like'")
        if len(like_shape) != 4:
            raise MXNetError(f"{op}: like must be 4-D, got shape {tuple(like_shape)}")
        oh, ow = like_shape[2], like_shape[3]
    elif mode == "to_even_down":
        oh, ow = h - h % 2, w - w % 2
    elif mode == "to_even_up":
        oh, ow = h + h % 2, w + w % 2
    elif mode == "to_odd_down":
        oh, ow = (h if h % 2 else h - 1), (w if w % 2 else w - 1)
    else:  # to_odd_up
        oh, ow = (h if h % 2 else h + 1), (w if w % 2 else w + 1)
    if oh < 1 or ow < 1:
        raise MXNetError(f"{op}: the output size ({oh}, {ow}) computed from mode={mode!r} and "
                         f"data shape {tuple(dshape)} must be positive")
    return int(oh), int(ow)


def _resize_matrix(n_in, n_out, align_corners):
    """(n_out, n_in) float64 matrix of MXNet's 1-D linear interpolation weights (the source
    positions computed in float32, as MXNet's kernel does)."""
    f32 = np.float32
    if n_out > 1:
        scale = f32(n_in - 1) / f32(n_out - 1) if align_corners else f32(n_in) / f32(n_out)
    else:
        scale = f32(0)
    dst = np.arange(n_out, dtype=f32)
    if align_corners:
        src = scale * dst
    else:
        src = np.maximum(scale * (dst + f32(0.5)) - f32(0.5), f32(0))
    i0 = src.astype(np.int64)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    lam = (src - i0).astype(np.float64)
    m = np.zeros((n_out, n_in), np.float64)
    rows = np.arange(n_out)
    np.add.at(m, (rows, i0), 1.0 - lam)
    np.add.at(m, (rows, i1), lam)
    return m


def _bilinear_inputs(a):
    return ("data", "like") if a["mode"] == "like" else ("data",)


def _resize_shape_rule(a, in_shapes):
    d = in_shapes[0]
    like = in_shapes[1] if len(in_shapes) > 1 else None
    if d is None or (a["mode"] == "like" and like is None):
        return in_shapes, [None]
    oh, ow = _resize_size(a, d, like)
    return in_shapes, [tuple(d[:2]) + (oh, ow)]


@register("_contrib_BilinearResize2D", shape=_resize_shape_rule, inputs=_bilinear_inputs)
def _contrib_BilinearResize2D(rt, data, like=None, *, height: Int = 1, width: Int = 1,
                              scale_height: OptFloat = None, scale_width: OptFloat = None,
                              mode: _RESIZE_MODES = "size", align_corners: Bool = True):
    """Resize ``(N, C, H, W)`` data with bilinear interpolation (MXNet's
    ``contrib.BilinearResize2D``); the output size comes from ``height``/``width``, the
    scales, or ``like`` (``mode='like'``)."""
    _check_float("BilinearResize2D", data)
    oh, ow = _resize_size({"height": height, "width": width, "scale_height": scale_height,
                           "scale_width": scale_width, "mode": mode}, data.shape,
                          None if like is None else like.shape)
    return _resize_apply(rt, data, oh, ow, align_corners)


def _resize_apply(rt, x, oh, ow, align_corners):
    xp = rt.xp
    my = xp.asarray(_resize_matrix(x.shape[2], oh, align_corners).astype(x.dtype))
    # transposed on the host, so that both products run as contiguous BLAS calls
    mxt = xp.asarray(np.ascontiguousarray(_resize_matrix(x.shape[3], ow, align_corners).T)
                     .astype(x.dtype))
    return _rows_cols(xp, x, my, mxt)


def _rows_cols(xp, x, my, mxt):
    """``my @ x @ mxt`` over the last two axes of 4-D ``x``: a batched product along H,
    then one large product along W."""
    n, c = x.shape[:2]
    y = xp.matmul(my, x)  # (N, C, OH, W), contiguous
    return xp.matmul(y.reshape(-1, y.shape[-1]), mxt).reshape(n, c, my.shape[0], mxt.shape[1])


@_contrib_BilinearResize2D.gradient
def _(F, a, ins, outs, ogs, need):
    g = F._backward_contrib_BilinearResize2D(ogs[0], ins[0], align_corners=a["align_corners"])
    return (g,) + (None,) * (len(ins) - 1)


@register("_backward_contrib_BilinearResize2D",
          shape=lambda a, s: (s, [s[1]]))
def _backward_contrib_BilinearResize2D(rt, ograd, data, *, align_corners: Bool = True):
    """Gradient of ``BilinearResize2D``: ``ograd`` (N, C, OH, OW) mapped back onto the shape
    of ``data`` (N, C, H, W) by the transposed interpolation."""
    if ograd.ndim != 4 or data.ndim != 4 or ograd.shape[:2] != data.shape[:2]:
        raise MXNetError(f"_backward_contrib_BilinearResize2D: ograd {tuple(ograd.shape)} and "
                         f"data {tuple(data.shape)} must be 4-D with equal N and C")
    xp = rt.xp
    myt = xp.asarray(np.ascontiguousarray(
        _resize_matrix(data.shape[2], ograd.shape[2], align_corners).T).astype(ograd.dtype))
    mx_ = xp.asarray(_resize_matrix(data.shape[3], ograd.shape[3], align_corners)
                     .astype(ograd.dtype))
    return _rows_cols(xp, xp.ascontiguousarray(ograd), myt, mx_)


@_backward_contrib_BilinearResize2D.gradient
def _(F, a, ins, outs, ogs, need):
    # linear in ograd: its transpose is the forward resize to ograd's size
    return (F._contrib_BilinearResize2D(ogs[0], ins[0], mode="like",
                                        align_corners=a["align_corners"]), None)


# ---------------------------------------------------------------------------------------------
# ROIAlign
def _roi_shape(a, d, r):
    op = "ROIAlign"
    if len(d) != 4:
        raise MXNetError(f"{op}: data must be 4-D (N, C, H, W), got shape {tuple(d)}")
    if len(r) != 2 or r[1] != 5:
        raise MXNetError(f"{op}: rois must have shape (R, 5), rows [batch_index, x1, y1, x2, "
                         f"y2], got {tuple(r)}")
    ps = tuple(a["pooled_size"])
    if len(ps) != 2 or min(ps) < 1:
        raise MXNetError(f"{op}: pooled_size must be two positive ints (h, w), got {ps}")
    c = d[1]
    if a["position_sensitive"]:
        if c % (ps[0] * ps[1]):
            raise MXNetError(f"{op}: position_sensitive needs the channel count {c} to be a "
                             f"multiple of pooled_size[0] * pooled_size[1] = {ps[0] * ps[1]}")
        c //= ps[0] * ps[1]
    return (r[0], c) + ps


def _roi_shape_rule(a, in_shapes):
    d, r = in_shapes
    if d is None or r is None:
        return in_shapes, [None]
    return in_shapes, [_roi_shape(a, d, r)]


def _roi_axis_weights(start, bin_size, grid, pooled, size):
    """(R, pooled, size) weights: the mean over ``grid`` samples per bin of MXNet's 1-D
    bilinear weights along one axis, with its boundary rules. ``start``/``bin_size``/
    ``grid`` are per ROI."""
    r_n = start.shape[0]
    gmax = int(grid.max()) if r_n else 1
    p = np.arange(pooled)[None, :, None]
    i = np.arange(gmax)[None, None, :]
    g = grid[:, None, None]
    pos = start[:, None, None] + p * bin_size[:, None, None] + \
        (i + 0.5) * bin_size[:, None, None] / g
    used = i < g
    inside = (pos >= -1.0) & (pos <= size)
    pos = np.maximum(pos, 0.0)
    low = np.floor(pos).astype(np.int64)
    at_end = low >= size - 1
    low = np.where(at_end, size - 1, low)
    high = np.where(at_end, size - 1, low + 1)
    pos = np.where(at_end, low.astype(np.float64), pos)
    lw = pos - low
    keep = (used & inside).astype(np.float64)
    w = np.zeros((r_n, pooled, size), np.float64)
    rr = np.broadcast_to(np.arange(r_n)[:, None, None], low.shape)
    pp = np.broadcast_to(p, low.shape)
    np.add.at(w, (rr, pp, low), (1.0 - lw) * keep)
    np.add.at(w, (rr, pp, high), lw * keep)
    return w, keep.sum(axis=2)


def _roi_weights(a, rois, height, width):
    """Per ROI: batch index, (R, PH, H) and (R, PW, W) weights with 1/count folded in."""
    ph, pw = a["pooled_size"]
    rois = rois.astype(np.float64)
    batch = rois[:, 0].astype(np.int64)
    box = rois[:, 1:]
    off = 0.5 if a["aligned"] else 0.0
    s = a["spatial_scale"]
    x1, y1, x2, y2 = (box[:, k] * s - off for k in range(4))
    rw, rh = x2 - x1, y2 - y1
    if a["aligned"]:
        bad = (rw <= 0) | (rh <= 0)
        if np.any(bad & (batch >= 0)):
            k = int(np.argmax(bad & (batch >= 0)))
            raise MXNetError(f"ROIAlign: with aligned=True every ROI needs a positive width "
                             f"and height, ROI {k} is {box[k].tolist()}")
    else:
        rw, rh = np.maximum(rw, 1.0), np.maximum(rh, 1.0)
    bh, bw = rh / ph, rw / pw
    sr = a["sample_ratio"]
    gh = np.full(len(batch), sr, np.int64) if sr > 0 else np.ceil(rh / ph).astype(np.int64)
    gw = np.full(len(batch), sr, np.int64) if sr > 0 else np.ceil(rw / pw).astype(np.int64)
    gh, gw = np.maximum(gh, 0), np.maximum(gw, 0)
    wy, _ = _roi_axis_weights(y1, bh, np.maximum(gh, 1), ph, height)
    wx, _ = _roi_axis_weights(x1, bw, np.maximum(gw, 1), pw, width)
    count = (gh * gw).astype(np.float64)
    # a zero-size sampling grid adds nothing (MXNet divides 0 by 0 there; 0 is kept here)
    wy *= np.where(count > 0, 1.0 / np.maximum(count, 1), 0.0)[:, None, None]
    return batch, wy, wx


def _roi_check(op, data, rois, a):
    _check_float(op, data)
    _check_float(op, rois, "rois")
    _roi_shape(a, data.shape, rois.shape)


def _support(w):
    """Per ROI, the [start, stop) range of input rows (or columns) its weights touch:
    ``w`` is (R, P, size); empty ranges come out as (0, 0)."""
    used = (w != 0).any(axis=1)
    size = w.shape[2]
    has = used.any(axis=1)
    lo = np.where(has, used.argmax(axis=1), 0)
    hi = np.where(has, size - used[:, ::-1].argmax(axis=1), 0)
    return lo, hi


def _roi_apply(xp, img, wy, wx, ps):
    """ROIAlign of the ROIs of one image (``img`` (C, H, W), or (C, PH, PW, H, W) when
    position sensitive): ``out[r, c, p, q] = sum_hw wy[r, p, h] img[c, h, w] wx[r, q, w]``,
    computed per ROI on the window its samples touch (two small matrix products)."""
    r_n, ph, _ = wy.shape
    pw = wx.shape[1]
    c = img.shape[0]
    ylo, yhi = _support(wy)
    xlo, xhi = _support(wx)
    out = xp.zeros((r_n, c, ph, pw), img.dtype)
    for r in range(r_n):
        y0, y1, x0, x1 = int(ylo[r]), int(yhi[r]), int(xlo[r]), int(xhi[r])
        if y0 == y1 or x0 == x1:
            continue  # no sample inside the map: zeros
        a = xp.asarray(wy[r, :, y0:y1].astype(img.dtype))        # (PH, h)
        b = xp.asarray(wx[r, :, x0:x1].T.astype(img.dtype))      # (w, PW)
        if ps:
            crop = img[..., y0:y1, x0:x1]                        # (C, PH, PW, h, w)
            t = (crop * a[None, :, None, :, None]).sum(axis=3)   # (C, PH, PW, w)
            out[r] = (t * b.T[None, None, :, :]).sum(axis=3)
        else:
            crop = img[:, y0:y1, x0:x1]                          # (C, h, w)
            h, w = y1 - y0, x1 - x0
            t = xp.matmul(a, xp.ascontiguousarray(crop.transpose(1, 0, 2)).reshape(h, c * w))
            t = xp.matmul(t.reshape(ph * c, w), b)               # (PH*C, PW)
            out[r] = t.reshape(ph, c, pw).transpose(1, 0, 2)
    return out


def _roi_apply_t(xp, g, wy, wx, ps, cshape):
    """The transpose of :func:`_roi_apply`: the gradient of one image (``cshape``) from the
    output gradient ``g`` (R, C, PH, PW) of its ROIs."""
    r_n, ph, _ = wy.shape
    pw = wx.shape[1]
    c = g.shape[1]
    ylo, yhi = _support(wy)
    xlo, xhi = _support(wx)
    out = xp.zeros(cshape, g.dtype)
    for r in range(r_n):
        y0, y1, x0, x1 = int(ylo[r]), int(yhi[r]), int(xlo[r]), int(xhi[r])
        if y0 == y1 or x0 == x1:
            continue
        a = xp.asarray(wy[r, :, y0:y1].astype(g.dtype))          # (PH, h)
        b = xp.asarray(wx[r, :, x0:x1].astype(g.dtype))          # (PW, w)
        gr = g[r]                                                # (C, PH, PW)
        if ps:
            t = gr[..., None] * b[None, None, :, :]              # (C, PH, PW, w)
            out[..., y0:y1, x0:x1] += t[:, :, :, None, :] * a[None, :, None, :, None]
        else:
            h, w = y1 - y0, x1 - x0
            u = xp.matmul(xp.ascontiguousarray(gr).reshape(c * ph, pw), b)   # (C*PH, w)
            u = xp.ascontiguousarray(u.reshape(c, ph, w).transpose(1, 0, 2)).reshape(ph, c * w)
            t = xp.matmul(xp.ascontiguousarray(a.T), u)                       # (h, C*w)
            out[:, y0:y1, x0:x1] += t.reshape(h, c, w).transpose(1, 0, 2)
    return out


@register("_contrib_ROIAlign", shape=_roi_shape_rule)
def _contrib_ROIAlign(rt, data, rois, *, pooled_size: Shape, spatial_scale: Float,
                      sample_ratio: Int = -1, position_sensitive: Bool = False,
                      aligned: Bool = False):
    """Region-of-interest align (MXNet's ``contrib.ROIAlign``, Mask R-CNN): each ROI of
    ``rois`` pooled to ``pooled_size`` bins, each the average of bilinear samples of its
    image in ``data``."""
    a = {"pooled_size": pooled_size, "spatial_scale": spatial_scale,
         "sample_ratio": sample_ratio, "position_sensitive": position_sensitive,
         "aligned": aligned}
    _roi_check("ROIAlign", data, rois, a)
    xp = rt.xp
    oshape = _roi_shape(a, data.shape, rois.shape)
    batch, wy, wx = _roi_weights(a, _np(rt, rois), data.shape[2], data.shape[3])
    out = xp.zeros(oshape, data.dtype)
    for b in np.unique(batch):
        if b < 0:
            continue  # MXNet skips ROIs with a negative batch index
        if b >= data.shape[0]:
            raise MXNetError(f"ROIAlign: a ROI names batch index {int(b)} but data has "
                             f"{data.shape[0]} images")
        sel = np.nonzero(batch == b)[0]
        img = data[int(b)]
        if position_sensitive:
            img = img.reshape((oshape[1],) + tuple(pooled_size) + img.shape[1:])
        out[xp.asarray(sel)] = _roi_apply(xp, img, xp.asarray(wy[sel].astype(data.dtype)),
                                          xp.asarray(wx[sel].astype(data.dtype)),
                                          position_sensitive)
    return out


@_contrib_ROIAlign.gradient
def _(F, a, ins, outs, ogs, need):
    # MXNet's ROIAlign passes no gradient to rois
    return F._backward_contrib_ROIAlign(ogs[0], ins[0], ins[1], **a), None


@register("_backward_contrib_ROIAlign", shape=lambda a, s: (s, [s[1]]))
def _backward_contrib_ROIAlign(rt, ograd, data, rois, *, pooled_size: Shape,
                               spatial_scale: Float, sample_ratio: Int = -1,
                               position_sensitive: Bool = False, aligned: Bool = False):
    """Gradient of ``ROIAlign`` with respect to ``data``: each bin's output gradient spread
    over the pixels its samples read, with their weights."""
    a = {"pooled_size": pooled_size, "spatial_scale": spatial_scale,
         "sample_ratio": sample_ratio, "position_sensitive": position_sensitive,
         "aligned": aligned}
    _roi_check("_backward_contrib_ROIAlign", data, rois, a)
    oshape = _roi_shape(a, data.shape, rois.shape)
    if tuple(ograd.shape) != oshape:
        raise MXNetError(f"_backward_contrib_ROIAlign: ograd has shape {tuple(ograd.shape)}, "
                         f"expected the ROIAlign output shape {oshape}")
    xp = rt.xp
    batch, wy, wx = _roi_weights(a, _np(rt, rois), data.shape[2], data.shape[3])
    gx = xp.zeros(data.shape, ograd.dtype)
    ps = tuple(pooled_size)
    cshape = (oshape[1],) + ps + data.shape[2:] if position_sensitive else data.shape[1:]
    for b in np.unique(batch):
        if b < 0 or b >= data.shape[0]:
            continue
        sel = np.nonzero(batch == b)[0]
        g = _roi_apply_t(xp, ograd[xp.asarray(sel)], xp.asarray(wy[sel].astype(ograd.dtype)),
                         xp.asarray(wx[sel].astype(ograd.dtype)), position_sensitive, cshape)
        gx[int(b)] += g.reshape(data.shape[1:])
    return gx


@_backward_contrib_ROIAlign.gradient
def _(F, a, ins, outs, ogs, need):
    # linear in ograd: its transpose is ROIAlign itself
    return F._contrib_ROIAlign(ogs[0], ins[2], **a), None, None


# ---------------------------------------------------------------------------------------------
# box_iou
def _corners(b, fmt):
    """(x1, y1, x2, y2) of boxes in ``fmt`` (last axis of 4)."""
    if fmt == "corner":
        return b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    x, y, w, h = b[..., 0], b[..., 1], b[..., 2] / 2, b[..., 3] / 2
    return x - w, y - h, x + w, y + h


def _area(b, fmt):
    """MXNet's BoxArea: 0 for boxes with negative width or height."""
    if fmt == "corner":
        w, h = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    else:
        w, h = b[..., 2], b[..., 3]
    return np.where((w < 0) | (h < 0), 0, w * h)


def _iou_matrix(xp, lhs, rhs, fmt):
    """IoU of every box of lhs (..., 4) with every box of rhs (..., 4), MXNet's formula."""
    l1 = _corners(lhs[:, None, :], fmt)
    r1 = _corners(rhs[None, :, :], fmt)
    iw = xp.maximum(xp.minimum(l1[2], r1[2]) - xp.maximum(l1[0], r1[0]), 0)
    ih = xp.maximum(xp.minimum(l1[3], r1[3]) - xp.maximum(l1[1], r1[1]), 0)
    inter = iw * ih
    la, ra = _area(lhs, fmt)[:, None], _area(rhs, fmt)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = inter / (la + ra - inter)
    return xp.where(inter > 0, out, 0).astype(lhs.dtype, copy=False)


def _box_iou_shape(a, in_shapes):
    l, r = in_shapes
    if l is None or r is None:
        return in_shapes, [None]
    for nm, s in (("lhs", l), ("rhs", r)):
        if len(s) < 2 or s[-1] != 4:
            raise MXNetError(f"box_iou: {nm} must have at least 2 dimensions and a last "
                             f"dimension of 4, got shape {tuple(s)}")
    return in_shapes, [tuple(l[:-1]) + tuple(r[:-1])]


@register("_contrib_box_iou", shape=_box_iou_shape)
def _contrib_box_iou(rt, lhs, rhs, *, format: _FORMAT = "corner"):
    """Intersection over union of every box of ``lhs`` (``(..., 4)``) with every box of
    ``rhs``; output shape ``lhs.shape[:-1] + rhs.shape[:-1]`` (MXNet's
    ``contrib.box_iou``)."""
    _box_iou_shape({}, [lhs.shape, rhs.shape])
    _check_float("box_iou", lhs, "lhs")
    out = _iou_matrix(np, _np(rt, lhs).reshape(-1, 4), _np(rt, rhs).reshape(-1, 4), format)
    return rt.xp.asarray(out.reshape(lhs.shape[:-1] + rhs.shape[:-1]))


_contrib_box_iou.grad_fn = ZERO_GRAD


# ---------------------------------------------------------------------------------------------
# box_nms
def _nms_check(a, shape):
    op = "box_nms"
    if len(shape) < 2:
        raise MXNetError(f"{op}: data must have at least 2 dimensions (..., num_box, "
                         f"box_width), got shape {tuple(shape)}")
    width = shape[-1]
    need = 6 if a["id_index"] > 0 else 5
    if width < need:
        raise MXNetError(f"{op}: the last dimension must have at least {need} elements "
                         f"(score and 4 coordinates{', id' if need == 6 else ''}), got "
                         f"{width}")
    cs, si, ii = a["coord_start"], a["score_index"], a["id_index"]
    if not 0 <= si < width:
        raise MXNetError(f"{op}: score_index={si} is out of range [0, {width})")
    if not (0 <= cs and cs + 3 < width):
        raise MXNetError(f"{op}: coordinates [{cs}, {cs + 3}] (coord_start={cs}) are out of "
                         f"range [0, {width})")
    if cs <= si <= cs + 3:
        raise MXNetError(f"{op}: score_index={si} overlaps the coordinates "
                         f"[{cs}, {cs + 3}]")
    if ii >= 0:
        if ii >= width:
            raise MXNetError(f"{op}: id_index={ii} is out of range [0, {width})")
        if cs <= ii <= cs + 3 or ii == si:
            raise MXNetError(f"{op}: id_index={ii} overlaps the coordinates or score_index")


def _nms_shape(a, in_shapes):
    s = in_shapes[0]
    if s is None:
        return in_shapes, [None, None]
    _nms_check(a, s)
    return in_shapes, [tuple(s), tuple(s[:-1]) + (1,)]


def _nms_dtype(a, in_types, n_out):
    return in_types, [in_types[0], in_types[0]]


def _nms_batch(x, a, topk):
    """Indices (into the rows of x) kept by NMS, in output order."""
    si, cs, ii, bg = a["score_index"], a["coord_start"], a["id_index"], a["background_id"]
    scores = x[:, si]
    valid = scores > a["valid_thresh"]
    if ii >= 0 and bg >= 0:
        valid &= x[:, ii] != bg
    idx = np.nonzero(valid)[0]
    idx = idx[np.argsort(-scores[idx], kind="stable")][:topk]
    fmt = a["in_format"]
    boxes = x[idx, cs:cs + 4]
    iou = _iou_matrix(np, boxes, boxes, fmt) if len(idx) else np.zeros((0, 0))
    alive = np.ones(len(idx), bool)
    same_class = None
    if ii >= 0 and not a["force_suppress"]:
        ids = x[idx, ii].astype(np.int64)  # MXNet compares the ids as ints
        same_class = ids[:, None] == ids[None, :]
    for i in range(len(idx)):
        if not alive[i]:
            continue
        sup = iou[i, i + 1:] > a["overlap_thresh"]
        if same_class is not None:
            sup &= same_class[i, i + 1:]
        alive[i + 1:] &= ~sup
    return idx[alive]


def _to_format(box, src, dst):
    """MXNet's corner<->center conversion of output rows (rows of -1 are left alone)."""
    if src == dst:
        return box
    out = box.copy()
    skip = box[:, 0] < 0
    if dst == "center":
        out[:, 0] = (box[:, 0] + box[:, 2]) / 2
        out[:, 1] = (box[:, 1] + box[:, 3]) / 2
        out[:, 2] = box[:, 2] - box[:, 0]
        out[:, 3] = box[:, 3] - box[:, 1]
    else:
        w, h = box[:, 2] / 2, box[:, 3] / 2
        out[:, 0], out[:, 1] = box[:, 0] - w, box[:, 1] - h
        out[:, 2], out[:, 3] = box[:, 0] + w, box[:, 1] + h
    out[skip] = box[skip]
    return out


@register("_contrib_box_nms", aliases=("_contrib_box_non_maximum_suppression",),
          shape=_nms_shape, dtype=_nms_dtype, num_outputs=2, visible_outputs=1,
          output_names=("output", "temp"))
def _contrib_box_nms(rt, data, *, overlap_thresh: Float = 0.5, valid_thresh: Float = 0.0,
                     topk: Int = -1, coord_start: Int = 2, score_index: Int = 1,
                     id_index: Int = -1, background_id: Int = -1,
                     force_suppress: Bool = False, in_format: _FORMAT = "corner",
                     out_format: _FORMAT = "corner"):
    """Non-maximum suppression of boxes (MXNet's ``contrib.box_nms``): per batch, the
    surviving boxes sorted by score come first, every other row is -1. ``data`` is
    ``(..., num_box, width)`` with the score at ``score_index``, 4 coordinates from
    ``coord_start`` and optionally a class id at ``id_index``."""
    a = {"overlap_thresh": overlap_thresh, "valid_thresh": valid_thresh,
         "coord_start": coord_start, "score_index": score_index, "id_index": id_index,
         "background_id": background_id, "force_suppress": force_suppress,
         "in_format": in_format}
    _nms_check(a, data.shape)
    _check_float("box_nms", data)
    x = _np(rt, data)
    n, width = x.shape[-2], x.shape[-1]
    x3 = x.reshape(-1, n, width)
    k = n if topk < 0 else min(n, topk)
    out = np.full(x3.shape, -1, x.dtype)
    record = np.full(x3.shape[:2] + (1,), -1, x.dtype)
    if k < 1:  # MXNet copies the input through
        out[...] = x3
        record[...] = np.arange(x3.shape[0] * n).reshape(record.shape)
    else:
        for b in range(x3.shape[0]):
            keep = _nms_batch(x3[b], a, k)
            out[b, :len(keep)] = x3[b, keep]
            record[b, :len(keep), 0] = keep
            out[b, :, coord_start:coord_start + 4] = _to_format(
                out[b, :, coord_start:coord_start + 4], in_format, out_format)
    xp = rt.xp
    return xp.asarray(out.reshape(x.shape)), xp.asarray(record.reshape(x.shape[:-1] + (1,)))


@_contrib_box_nms.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_contrib_box_nms(ogs[0], outs[1]),)


@register("_backward_contrib_box_nms", shape=lambda a, s: (s, [s[0]]))
def _backward_contrib_box_nms(rt, ograd, record):
    """Gradient of ``box_nms``: output row ``i`` of each batch goes back to input row
    ``record[i]`` (the hidden second output of ``box_nms``); rows that did not survive get
    zero."""
    if tuple(record.shape) != tuple(ograd.shape[:-1]) + (1,):
        raise MXNetError(f"_backward_contrib_box_nms: record has shape {tuple(record.shape)}, "
                         f"expected {tuple(ograd.shape[:-1]) + (1,)}")
    g = _np(rt, ograd)
    n, width = g.shape[-2], g.shape[-1]
    g3 = g.reshape(-1, n, width)
    r = _np(rt, record).reshape(g3.shape[0], n).astype(np.int64)
    out = np.zeros_like(g3)
    bb, ii = np.nonzero(r >= 0)
    out[bb, r[bb, ii]] = g3[bb, ii]
    return rt.xp.asarray(out.reshape(g.shape))


@_backward_contrib_box_nms.gradient
def _(F, a, ins, outs, ogs, need):
    # the transpose of the scatter is the gather h[record[i]] (0 where record is -1)
    return F._contrib_box_nms_gather(ogs[0], ins[1]), None


@register("_contrib_box_nms_gather", shape=lambda a, s: (s, [s[0]]))
def _contrib_box_nms_gather(rt, data, record):
    """Rows of ``data`` picked by ``record`` (box_nms's hidden output; -1 gives zeros): the
    transpose of ``box_nms``'s gradient, used for its second-order gradient."""
    x = _np(rt, data)
    n, width = x.shape[-2], x.shape[-1]
    x3 = x.reshape(-1, n, width)
    r = _np(rt, record).reshape(x3.shape[0], n).astype(np.int64)
    out = np.zeros_like(x3)
    bb, ii = np.nonzero(r >= 0)
    out[bb, ii] = x3[bb, r[bb, ii]]
    return rt.xp.asarray(out.reshape(x.shape))


@_contrib_box_nms_gather.gradient
def _(F, a, ins, outs, ogs, need):
    return F._backward_contrib_box_nms(ogs[0], ins[1]), None


# ---------------------------------------------------------------------------------------------
# MultiBoxPrior
def _prior_count(a):
    return len(a["sizes"]) + len(a["ratios"]) - 1


def _prior_shape(a, in_shapes):
    d = in_shapes[0]
    if d is None:
        return in_shapes, [None]
    if len(d) < 4 or d[2] < 1 or d[3] < 1:
        raise MXNetError(f"MultiBoxPrior: data must be 4-D (batch, channel, y, x) with "
                         f"positive sizes, got shape {tuple(d)}")
    _prior_check(a)
    return in_shapes, [(1, d[2] * d[3] * _prior_count(a), 4)]


def _prior_check(a):
    if len(a["steps"]) != 2:
        raise MXNetError(f"MultiBoxPrior: steps must be (step_y, step_x), got {a['steps']}")
    if len(a["offsets"]) != 2:
        raise MXNetError(f"MultiBoxPrior: offsets must be (y, x), got {a['offsets']}")
    if not a["sizes"] or not a["ratios"]:
        raise MXNetError("MultiBoxPrior: sizes and ratios need at least one value each")
    if a["steps"][0] * a["steps"][1] < 0:
        raise MXNetError(f"MultiBoxPrior: give both steps or neither (-1), got {a['steps']}")


@register("_contrib_MultiBoxPrior", shape=_prior_shape)
def _contrib_MultiBoxPrior(rt, data, *, sizes: FloatShape = (1.0,),
                           ratios: FloatShape = (1.0,), clip: Bool = False,
                           steps: FloatShape = (-1.0, -1.0),
                           offsets: FloatShape = (0.5, 0.5)):
    """SSD anchor boxes for every position of the ``(N, C, H, W)`` feature map ``data``
    (MXNet's ``contrib.MultiBoxPrior``): per position, one box per size (ratio 1) then one
    per further ratio (size ``sizes[0]``), as ``(1, H*W*A, 4)`` corners in [0, 1] units."""
    a = {"sizes": sizes, "ratios": ratios, "steps": steps, "offsets": offsets}
    _prior_shape(a, [data.shape])
    h, w = data.shape[2], data.shape[3]
    f32 = np.float32
    sy, sx = f32(steps[0]), f32(steps[1])
    if sy <= 0 or sx <= 0:
        sy, sx = f32(1) / f32(h), f32(1) / f32(w)
    cy = (np.arange(h, dtype=f32) + f32(offsets[0])) * sy
    cx = (np.arange(w, dtype=f32) + f32(offsets[1])) * sx
    half = []  # (half width, half height) per anchor, in MXNet's float32 arithmetic
    for s in sizes:
        s = f32(s)
        half.append((s * f32(h) / f32(w) / f32(2), s / f32(2)))
    s0 = f32(sizes[0])
    for r in ratios[1:]:
        q = np.sqrt(f32(r))
        half.append((s0 * f32(h) / f32(w) * q / f32(2), s0 / q / f32(2)))
    hw = np.array([p[0] for p in half], f32)
    hh = np.array([p[1] for p in half], f32)
    gx = np.broadcast_to(cx[None, :, None], (h, w, len(half)))
    gy = np.broadcast_to(cy[:, None, None], (h, w, len(half)))
    out = np.stack([gx - hw, gy - hh, gx + hw, gy + hh], axis=-1).reshape(1, -1, 4)
    if clip:
        out = np.clip(out, 0, 1)
    return rt.xp.asarray(out.astype(data.dtype))


_contrib_MultiBoxPrior.grad_fn = ZERO_GRAD


# ---------------------------------------------------------------------------------------------
# MultiBoxTarget
def _mbt_shape(a, in_shapes):
    an, lb, cp = in_shapes
    if an is None or lb is None or cp is None:
        return in_shapes, [None, None, None]
    op = "MultiBoxTarget"
    if len(an) != 3 or an[0] != 1 or an[2] != 4 or an[1] < 1:
        raise MXNetError(f"{op}: anchor must have shape (1, num_anchors, 4), got {tuple(an)}")
    if len(lb) != 3 or lb[1] < 1 or lb[2] < 5:
        raise MXNetError(f"{op}: label must have shape (batch, num_labels, >=5) "
                         f"[cls, x1, y1, x2, y2, ...], got {tuple(lb)}")
    if len(cp) != 3 or cp[2] != an[1]:
        raise MXNetError(f"{op}: cls_pred must have shape (batch, num_classes, num_anchors="
                         f"{an[1]}), got {tuple(cp)}")
    if len(a["variances"]) != 4:
        raise MXNetError(f"{op}: variances must have 4 values, got {a['variances']}")
    return in_shapes, [(lb[0], an[1] * 4), (lb[0], an[1] * 4), (lb[0], an[1])]


@register("_contrib_MultiBoxTarget", shape=_mbt_shape, num_outputs=3,
          output_names=("loc_target", "loc_mask", "cls_target"))
def _contrib_MultiBoxTarget(rt, anchor, label, cls_pred, *, overlap_threshold: Float = 0.5,
                            ignore_label: Float = -1.0, negative_mining_ratio: Float = -1.0,
                            negative_mining_thresh: Float = 0.5,
                            minimum_negative_samples: Int = 0,
                            variances: FloatShape = (0.1, 0.1, 0.2, 0.2)):
    """SSD training targets (MXNet's ``contrib.MultiBoxTarget``): match anchors to the
    ground-truth boxes of ``label`` (``[cls, x1, y1, x2, y2]`` rows, padded with -1) and
    return ``(loc_target, loc_mask, cls_target)``."""
    a = {"variances": variances}
    _mbt_shape(a, [anchor.shape, label.shape, cls_pred.shape])
    dt = anchor.dtype
    anc = _np(rt, anchor).reshape(-1, 4)
    lab = _np(rt, label)
    cpr = _np(rt, cls_pred)
    nb, na = lab.shape[0], anc.shape[0]
    loc_t = np.zeros((nb, na * 4), dt)
    loc_m = np.zeros((nb, na * 4), dt)
    cls_t = np.full((nb, na), ignore_label, dt)
    for b in range(nb):
        lb = lab[b]
        ng = 0
        while ng < lb.shape[0] and lb[ng, 0] != -1:
            ng += 1
        if ng == 0:
            continue
        gt = lb[:ng, 1:5]
        iou = _mbt_overlaps(anc, gt).astype(np.float32)  # (na, ng)
        flags = np.full(na, -1, np.int8)
        match_iou = np.full(na, -1.0, np.float32)
        match_gt = np.full(na, -1, np.int64)
        gt_done = np.zeros(ng, bool)
        npos = 0
        # bipartite: repeatedly the best remaining (anchor, gt) pair, first in row-major order
        while not gt_done.all():
            m = np.where((flags == 1)[:, None] | gt_done[None, :], -np.inf, iou)
            j = int(np.argmax(m))
            aj, gk = divmod(j, ng)
            if not m[aj, gk] > np.float32(1e-6):
                break
            match_iou[aj], match_gt[aj] = m[aj, gk], gk
            flags[aj] = 1
            gt_done[gk] = True
            npos += 1
        if overlap_threshold > 0:
            rest = flags != 1
            best = np.argmax(iou, axis=1)
            best_iou = iou[np.arange(na), best]
            # MXNet's scan starts from -1 and takes strictly larger values
            has = best_iou > -1
            upd = rest & has
            match_iou[upd], match_gt[upd] = best_iou[upd], best[upd]
            pos = upd & (best_iou > overlap_threshold)
            flags[pos] = 1
            npos += int(pos.sum())
        if negative_mining_ratio > 0:
            if not negative_mining_thresh > 0:
                raise MXNetError("MultiBoxTarget: negative_mining_thresh must be positive when "
                                 "negative_mining_ratio is used")
            nneg = int(npos * negative_mining_ratio)
            nneg = min(nneg, na - npos)
            if nneg > 0:
                unset = (flags != 1) & (match_iou < 0)
                best = np.argmax(iou, axis=1)
                bi = iou[np.arange(na), best]
                fill = unset & (bi > -1)
                match_iou[fill], match_gt[fill] = bi[fill], best[fill]
                cand = np.nonzero((flags != 1) & (match_iou < negative_mining_thresh)
                                  & (flags == -1))[0]
                p = cpr[b].astype(dt)  # (num_classes, na)
                mx_ = p[:, cand].max(axis=0)
                e = np.exp(p[:, cand] - mx_)
                prob = np.exp(p[0, cand] - mx_) / e.sum(axis=0)
                if len(cand) < nneg:
                    raise MXNetError(f"MultiBoxTarget: {nneg} negative samples wanted but only "
                                     f"{len(cand)} anchors qualify")
                order = np.argsort(prob, kind="stable")  # lowest background prob first
                flags[cand[order[:nneg]]] = 0
        else:
            flags[flags != 1] = 0
        pos = np.nonzero(flags == 1)[0]
        neg = flags == 0
        cls_t[b, neg] = 0
        if len(pos):
            g = match_gt[pos]
            cls_t[b, pos] = lb[g, 0] + 1
            loc_m[b].reshape(na, 4)[pos] = 1
            loc_t[b].reshape(na, 4)[pos] = _mbt_encode(anc[pos], lb[g, 1:5], variances)
    xp = rt.xp
    return xp.asarray(loc_t), xp.asarray(loc_m), xp.asarray(cls_t)


def _mbt_overlaps(anc, gt):
    """IoU (anchors x ground truths) as MXNet's MultiBoxTarget computes it (safe divide)."""
    a, g = anc[:, None, :], gt[None, :, :]
    iw = np.maximum(np.minimum(a[..., 2], g[..., 2]) - np.maximum(a[..., 0], g[..., 0]), 0)
    ih = np.maximum(np.minimum(a[..., 3], g[..., 3]) - np.maximum(a[..., 1], g[..., 1]), 0)
    inter = iw * ih
    union = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) + \
        (g[..., 2] - g[..., 0]) * (g[..., 3] - g[..., 1]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union == 0, 0, inter / union)


def _mbt_encode(anc, gt, var):
    """MXNet's AssignLocTargets, in float32."""
    anc = anc.astype(np.float32)
    gt = gt.astype(np.float32)
    aw, ah = anc[:, 2] - anc[:, 0], anc[:, 3] - anc[:, 1]
    ax, ay = (anc[:, 0] + anc[:, 2]) * np.float32(0.5), (anc[:, 1] + anc[:, 3]) * np.float32(0.5)
    gw, gh = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
    gx, gy = (gt[:, 0] + gt[:, 2]) * np.float32(0.5), (gt[:, 1] + gt[:, 3]) * np.float32(0.5)
    v = [np.float32(x) for x in var]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.stack([(gx - ax) / aw / v[0], (gy - ay) / ah / v[1],
                         np.log(gw / aw) / v[2], np.log(gh / ah) / v[3]], axis=1)


_contrib_MultiBoxTarget.grad_fn = ZERO_GRAD


# ---------------------------------------------------------------------------------------------
# MultiBoxDetection
def _mbd_shape(a, in_shapes):
    cp, lp, an = in_shapes
    if cp is None or lp is None or an is None:
        return in_shapes, [None]
    op = "MultiBoxDetection"
    if len(cp) != 3:
        raise MXNetError(f"{op}: cls_prob must have shape (batch, num_classes, num_anchors), "
                         f"got {tuple(cp)}")
    na = cp[2]
    if tuple(lp) != (cp[0], na * 4):
        raise MXNetError(f"{op}: loc_pred must have shape (batch, num_anchors*4) = "
                         f"{(cp[0], na * 4)}, got {tuple(lp)}")
    if tuple(an) != (1, na, 4):
        raise MXNetError(f"{op}: anchor must have shape (1, num_anchors, 4) = {(1, na, 4)}, "
                         f"got {tuple(an)}")
    if len(a["variances"]) != 4:
        raise MXNetError(f"{op}: variances must have 4 values, got {a['variances']}")
    return in_shapes, [(cp[0], na, 6)]


def _mbd_overlap(box, boxes):
    """MXNet's CalculateOverlap of one box with many (0 where the union is not positive)."""
    w = np.maximum(0, np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]))
    h = np.maximum(0, np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]))
    i = w * h
    u = (box[2] - box[0]) * (box[3] - box[1]) + \
        (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) - i
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(u <= 0, 0, i / u)


@register("_contrib_MultiBoxDetection", shape=_mbd_shape)
def _contrib_MultiBoxDetection(rt, cls_prob, loc_pred, anchor, *, clip: Bool = True,
                               threshold: Float = 0.01, background_id: Int = 0,
                               nms_threshold: Float = 0.5, force_suppress: Bool = False,
                               variances: FloatShape = (0.1, 0.1, 0.2, 0.2),
                               nms_topk: Int = -1):
    """Decode SSD predictions (MXNet's ``contrib.MultiBoxDetection``): per anchor the best
    non-background class and its box, then score-sorted per-class NMS. Output
    ``(batch, num_anchors, 6)`` rows ``[class_id, score, x1, y1, x2, y2]``; suppressed or
    empty rows have class -1. As in MXNet's CPU kernel, class 0 is the background whatever
    ``background_id`` says."""
    _mbd_shape({"variances": variances}, [cls_prob.shape, loc_pred.shape, anchor.shape])
    dt = cls_prob.dtype
    cp = _np(rt, cls_prob)
    lp = _np(rt, loc_pred)
    an = _np(rt, anchor).reshape(-1, 4).astype(dt)
    nb, ncls, na = cp.shape
    out = np.full((nb, na, 6), -1, dt)
    vx, vy, vw, vh = (dt.type(v) for v in variances)
    aw, ah = an[:, 2] - an[:, 0], an[:, 3] - an[:, 1]
    ax, ay = (an[:, 0] + an[:, 2]) / dt.type(2), (an[:, 1] + an[:, 3]) / dt.type(2)
    for b in range(nb):
        if ncls > 1:
            fg = cp[b, 1:]
            cid = np.argmax(fg, axis=0) + 1  # first maximum, as MXNet's strict '>' scan
            score = fg[cid - 1, np.arange(na)]
            # MXNet starts its scan at -1: a maximum not above -1 leaves class 0
            cid = np.where(score > -1, cid, 0)
            score = np.where(score > -1, score, dt.type(-1))
        else:
            cid = np.zeros(na, np.int64)
            score = np.full(na, -1, dt)
        cid = np.where((cid > 0) & (score < threshold), 0, cid)
        p = lp[b].reshape(na, 4).astype(dt)
        ox, oy = p[:, 0] * vx * aw + ax, p[:, 1] * vy * ah + ay
        with np.errstate(over="ignore"):
            ow, oh = np.exp(p[:, 2] * vw) * aw / 2, np.exp(p[:, 3] * vh) * ah / 2
        box = np.stack([ox - ow, oy - oh, ox + ow, oy + oh], axis=1)
        if clip:
            box = np.clip(box, 0, 1)
        rows = np.concatenate([(cid - 1)[:, None].astype(dt), score[:, None].astype(dt),
                               box.astype(dt)], axis=1)
        valid = rows[rows[:, 0] >= 0]
        nv = len(valid)
        out[b, :nv] = valid
        if nv < 1 or nms_threshold <= 0 or nms_threshold > 1:
            continue
        order = np.argsort(-valid[:, 1], kind="stable")
        nkeep = nv if not (0 < nms_topk < nv) else nms_topk
        res = out[b]
        res[nkeep:nv, 0] = -1
        res[:nkeep] = valid[order[:nkeep]]
        for i in range(nkeep):
            if res[i, 0] < 0:
                continue
            rest = res[i + 1:nkeep]
            live = rest[:, 0] >= 0
            if not force_suppress:
                live &= rest[:, 0] == res[i, 0]
            if not live.any():
                continue
            iou = _mbd_overlap(res[i, 2:], rest[:, 2:])
            rest[live & (iou >= nms_threshold), 0] = -1
    return rt.xp.asarray(out)


_contrib_MultiBoxDetection.grad_fn = ZERO_GRAD
