"""Spatial-transformer and local-response operators of MXNet 1.9.1: ``LRN``,
``GridGenerator``, ``BilinearSampler`` and ``SpatialTransformer``, with their backward
operators (``_backward_<name>``, computed on NumPy-like arrays; they have no gradient of
their own, so these operators support first-order gradients only).

* ``LRN(data, nsize, alpha=1e-4, beta=0.75, knorm=2)``: ``out = x / (knorm + alpha / nsize *
  sum of x^2 over the nsize channels centred on x) ** beta`` (zero-padded channel window).
* ``GridGenerator(data, transform_type, target_shape)``: ``affine``: ``data`` is ``(N, 6)``
  (a 2x3 matrix per sample) applied to the normalised target grid (``x`` from -1 to 1 along
  the width, ``y`` along the height), output ``(N, 2, H, W)`` of ``(x, y)`` source
  coordinates; ``warp``: ``data`` is a flow ``(N, 2, H, W)`` in pixels, added to the pixel
  grid and normalised to [-1, 1].
* ``BilinearSampler(data, grid)``: samples ``data`` ``(N, C, H, W)`` at ``grid`` ``(N, 2,
  Ho, Wo)`` (normalised ``(x, y)``, ``x = -1`` the first column and ``1`` the last);
  neighbours outside the image count as 0.
* ``SpatialTransformer(data, loc, target_shape, transform_type='affine',
  sampler_type='bilinear')``: the two above chained.
"""
from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..attrs import Enum, Float, Int, OptBool, Shape
from ..registry import register, shape_same

__all__ = []


def _float(name, x, what="data"):
    if x.dtype.kind != "f":
        raise MXNetError(f"{name}: {what} must be a floating point array, got {x.dtype.name}")


# --- LRN -----------------------------------------------------------------------------------
def _lrn_check(data, nsize):
    _float("LRN", data)
    if data.ndim < 2:
        raise MXNetError(f"LRN: data must have a channel axis (at least 2-D), got shape "
                         f"{tuple(data.shape)}")
    if nsize < 1:
        raise MXNetError(f"LRN: nsize must be >= 1, got {nsize}")


def _window_sum(xp, a, nsize):
    """Sum over the ``nsize`` channels (axis 1) centred on each channel, zero-padded."""
    c = a.shape[1]
    half = nsize // 2
    pad = [(0, 0)] * a.ndim
    pad[1] = (half, nsize - 1 - half)
    p = xp.pad(a, pad)
    out = xp.zeros_like(a)
    for k in range(nsize):
        out += p[:, k:k + c]
    return out


def _lrn_scale(xp, data, alpha, nsize, knorm):
    return knorm + (alpha / nsize) * _window_sum(xp, data * data, nsize)


@register("LRN", shape=shape_same)
def LRN(rt, data, *, alpha: Float = 1e-4, beta: Float = 0.75, knorm: Float = 2.0,
        nsize: Int):
    """Local response normalisation across channels (MXNet's ``LRN``; see the module
    docstring)."""
    _lrn_check(data, nsize)
    s = _lrn_scale(rt.xp, data, alpha, nsize, knorm)
    return data * s ** (-beta)


@LRN.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_LRN(ogs[0], ins[0], **a),)


@register("_backward_LRN", shape=lambda a, s: (s, [s[1]]))
def _backward_LRN(rt, ograd, data, *, alpha: Float = 1e-4, beta: Float = 0.75,
                  knorm: Float = 2.0, nsize: Int):
    """Gradient of ``LRN`` with respect to its data: ``g * s^-beta - 2 alpha beta / nsize *
    x * window_sum(g * x * s^(-beta-1))``."""
    _lrn_check(data, nsize)
    xp = rt.xp
    s = _lrn_scale(xp, data, alpha, nsize, knorm)
    t = _window_sum(xp, ograd * data * s ** (-beta - 1), nsize)  # the window is symmetric
    return ograd * s ** (-beta) - (2.0 * alpha * beta / nsize) * data * t


# --- GridGenerator ---------------------------------------------------------------------------
_TRANSFORM = Enum("affine", "warp")


def _target_grid(xp, h, w, dtype):
    """The normalised target grid as a ``(3, h*w)`` matrix of rows ``x``, ``y``, 1."""
    xs = xp.linspace(-1.0, 1.0, w) if w > 1 else xp.full((1,), -1.0)
    ys = xp.linspace(-1.0, 1.0, h) if h > 1 else xp.full((1,), -1.0)
    gx, gy = xp.meshgrid(xs, ys)
    return xp.stack([gx.reshape(-1), gy.reshape(-1), xp.ones(h * w)]).astype(dtype)


def _grid_shape(a, in_shapes):
    d = in_shapes[0]
    if a["transform_type"] == "affine":
        h, w = _affine_target(a)
        return in_shapes, [None if d is None else (d[0], 2, h, w)]
    return in_shapes, [d]


def _affine_target(a):
    ts = tuple(a["target_shape"])
    if len(ts) != 2 or ts[0] <= 0 or ts[1] <= 0:
        raise MXNetError(f"GridGenerator: target_shape must be (height, width) for the affine "
                         f"transform, got {ts}")
    return ts


def _grid_check(data, transform_type):
    _float("GridGenerator", data)
    if transform_type == "affine" and (data.ndim != 2 or data.shape[1] != 6):
        raise MXNetError(f"GridGenerator: the affine transform takes data of shape (batch, 6), "
                         f"got {tuple(data.shape)}")
    if transform_type == "warp" and (data.ndim != 4 or data.shape[1] != 2):
        raise MXNetError(f"GridGenerator: the warp transform takes a flow of shape (batch, 2, "
                         f"height, width), got {tuple(data.shape)}")


def _warp_scale(xp, h, w, dtype):
    return xp.asarray([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], dtype).reshape(1, 2, 1, 1)


@register("GridGenerator", shape=lambda a, s: _grid_shape(a, s))
def GridGenerator(rt, data, *, transform_type: _TRANSFORM, target_shape: Shape = (0, 0)):
    """Sampling grids for ``BilinearSampler`` from affine matrices or flows (MXNet's
    ``GridGenerator``; see the module docstring)."""
    _grid_check(data, transform_type)
    xp = rt.xp
    if transform_type == "affine":
        h, w = _affine_target({"target_shape": target_shape})
        g = _target_grid(xp, h, w, data.dtype)
        out = xp.matmul(data.reshape(-1, 2, 3), g)
        return out.reshape(data.shape[0], 2, h, w)
    _, _, h, w = data.shape
    xs = xp.arange(w, dtype=data.dtype).reshape(1, 1, w)
    ys = xp.arange(h, dtype=data.dtype).reshape(1, h, 1)
    base = xp.stack([xp.broadcast_to(xs, (1, h, w)), xp.broadcast_to(ys, (1, h, w))], axis=1)
    return (data + base) * _warp_scale(xp, h, w, data.dtype) - 1.0


@GridGenerator.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_GridGenerator(ogs[0], ins[0], **a),)


@register("_backward_GridGenerator", shape=lambda a, s: (s, [s[1]]))
def _backward_GridGenerator(rt, ograd, data, *, transform_type: _TRANSFORM,
                            target_shape: Shape = (0, 0)):
    """Gradient of ``GridGenerator`` with respect to its data (it is linear in it)."""
    _grid_check(data, transform_type)
    xp = rt.xp
    if transform_type == "affine":
        h, w = _affine_target({"target_shape": target_shape})
        g = _target_grid(xp, h, w, data.dtype)
        og = ograd.reshape(data.shape[0], 2, h * w)
        return xp.matmul(og, g.T).reshape(data.shape)
    return ograd * _warp_scale(xp, data.shape[2], data.shape[3], data.dtype)


# --- BilinearSampler -------------------------------------------------------------------------
def _sampler_check(name, data, grid):
    _float(name, data)
    _float(name, grid, "grid")
    if data.ndim != 4:
        raise MXNetError(f"{name}: data must be 4-D (batch, channel, height, width), got "
                         f"shape {tuple(data.shape)}")
    if grid.ndim != 4 or grid.shape[1] != 2 or grid.shape[0] != data.shape[0]:
        raise MXNetError(f"{name}: grid must be (batch, 2, out_height, out_width) with the "
                         f"data's batch size {data.shape[0]}, got shape {tuple(grid.shape)}")
    if grid.dtype != data.dtype:
        raise MXNetError(f"{name}: grid has dtype {grid.dtype.name}, data {data.dtype.name}")


def _corners(xp, data, grid):
    """The four neighbours of every grid point: ``[(values (N, C, Ho, Wo), weight (N, Ho,
    Wo), dweight/dx, dweight/dy, y index, x index, inside mask)]`` and the scales from
    normalised to pixel coordinates."""
    n, _, h, w = data.shape
    sx, sy = (w - 1) / 2.0, (h - 1) / 2.0
    x = (grid[:, 0] + 1.0) * sx
    y = (grid[:, 1] + 1.0) * sy
    x0, y0 = xp.floor(x), xp.floor(y)
    wx1, wy1 = x - x0, y - y0            # weights of the right / bottom neighbours
    wx0, wy0 = 1.0 - wx1, 1.0 - wy1
    x0i, y0i = x0.astype(np.int64), y0.astype(np.int64)
    nidx = xp.arange(n).reshape(n, 1, 1)
    out = []
    for dy, wy, dwy in ((0, wy0, -1.0), (1, wy1, 1.0)):
        for dx, wx, dwx in ((0, wx0, -1.0), (1, wx1, 1.0)):
            yi, xi = y0i + dy, x0i + dx
            inside = (yi >= 0) & (yi <= h - 1) & (xi >= 0) & (xi <= w - 1)
            yc, xc = xp.clip(yi, 0, h - 1), xp.clip(xi, 0, w - 1)
            v = data[nidx, :, yc, xc]                       # (N, Ho, Wo, C)
            v = xp.moveaxis(v, -1, 1) * inside[:, None].astype(data.dtype)
            out.append((v, wy * wx, dwx * wy, dwy * wx, nidx, yc, xc, inside))
    return out, sx, sy


def _sample(xp, data, grid):
    out = None
    for v, wgt, *_ in _corners(xp, data, grid)[0]:
        t = v * wgt[:, None]
        out = t if out is None else out + t
    return out


def _add_at(xp, a, idx, v):
    (np.add.at if xp is np else xp.add.at)(a, idx, v)


def _sample_backward(xp, ograd, data, grid):
    corners, sx, sy = _corners(xp, data, grid)
    gdata = xp.zeros_like(data)
    gx = xp.zeros(grid.shape[:1] + grid.shape[2:], data.dtype)
    gy = xp.zeros_like(gx)
    for v, wgt, dwdx, dwdy, nidx, yc, xc, inside in corners:
        gv = ograd * (wgt * inside)[:, None]                  # (N, C, Ho, Wo)
        # scatter-add into the neighbour pixels (several grid points may share one)
        _add_at(xp, gdata, (nidx, slice(None), yc, xc), xp.moveaxis(gv, 1, -1))
        s = (ograd * v).sum(axis=1)
        gx += s * dwdx
        gy += s * dwdy
    return gdata, xp.stack([gx * sx, gy * sy], axis=1)


def _bs_shape(a, in_shapes):
    d, g = in_shapes
    if d is None or g is None:
        return in_shapes, [None]
    return in_shapes, [(d[0], d[1], g[2], g[3])]


@register("BilinearSampler", shape=_bs_shape)
def BilinearSampler(rt, data, grid, *, cudnn_off: OptBool = None):
    """Bilinear sampling of ``data`` at the normalised coordinates of ``grid`` (MXNet's
    ``BilinearSampler``; see the module docstring)."""
    _sampler_check("BilinearSampler", data, grid)
    return _sample(rt.xp, data, grid)


@BilinearSampler.gradient
def _(F, a, ins, outs, ogs, need):
    gd, gg = F._backward_BilinearSampler(ogs[0], ins[0], ins[1])
    return gd, gg


def _bbs_shape(a, in_shapes):
    return in_shapes, [in_shapes[1], in_shapes[2]]


@register("_backward_BilinearSampler", shape=_bbs_shape, num_outputs=2)
def _backward_BilinearSampler(rt, ograd, data, grid, *, cudnn_off: OptBool = None):
    """Gradients of ``BilinearSampler`` with respect to ``data`` and ``grid``."""
    _sampler_check("BilinearSampler", data, grid)
    return _sample_backward(rt.xp, ograd, data, grid)


# --- SpatialTransformer ----------------------------------------------------------------------
def _st_shape(a, in_shapes):
    d, loc = in_shapes
    h, w = _st_target(a["target_shape"])
    if d is None:
        return [d, loc or None], [None]
    return [d, (d[0], 6)], [(d[0], d[1], h, w)]


def _st_target(target_shape):
    ts = tuple(target_shape)
    if len(ts) != 2 or ts[0] <= 0 or ts[1] <= 0:
        raise MXNetError(f"SpatialTransformer: target_shape must be (height, width), got {ts}")
    return ts


def _st_check(data, loc):
    if loc.ndim != 2 or loc.shape != (data.shape[0], 6):
        raise MXNetError(f"SpatialTransformer: loc must be (batch, 6) affine parameters for "
                         f"data of batch {data.shape[0]}, got shape {tuple(loc.shape)}")


@register("SpatialTransformer", shape=_st_shape)
def SpatialTransformer(rt, data, loc, *, target_shape: Shape = (0, 0),
                       transform_type: Enum("affine") = "affine",
                       sampler_type: Enum("bilinear") = "bilinear",
                       cudnn_off: OptBool = None):
    """Spatial transformer network layer (MXNet's ``SpatialTransformer``): the affine grid of
    ``loc`` over ``target_shape``, sampled bilinearly from ``data``."""
    _float("SpatialTransformer", data)
    _st_check(data, loc)
    grid = GridGenerator.fwd(rt, loc, transform_type="affine",
                             target_shape=_st_target(target_shape))
    _sampler_check("SpatialTransformer", data, grid)
    return _sample(rt.xp, data, grid)


@SpatialTransformer.gradient
def _(F, a, ins, outs, ogs, need):
    return F._backward_SpatialTransformer(ogs[0], ins[0], ins[1], **a)


@register("_backward_SpatialTransformer", shape=_bbs_shape, num_outputs=2)
def _backward_SpatialTransformer(rt, ograd, data, loc, *, target_shape: Shape = (0, 0),
                                 transform_type: Enum("affine") = "affine",
                                 sampler_type: Enum("bilinear") = "bilinear",
                                 cudnn_off: OptBool = None):
    """Gradients of ``SpatialTransformer`` with respect to ``data`` and ``loc``."""
    _st_check(data, loc)
    ts = _st_target(target_shape)
    grid = GridGenerator.fwd(rt, loc, transform_type="affine", target_shape=ts)
    gd, gg = _sample_backward(rt.xp, ograd, data, grid)
    gl = _backward_GridGenerator.fwd(rt, gg, loc, transform_type="affine", target_shape=ts)
    return gd, gl
