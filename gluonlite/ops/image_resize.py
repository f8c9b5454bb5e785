"""Image resizing in NumPy with OpenCV's arithmetic (what MXNet's ``imresize`` runs).

MXNet resizes through OpenCV's ``cv::resize``; this module re-implements its algorithms so
that results agree with MXNet's: the same sample positions (pixel centres,
``(dx + 0.5) * scale - 0.5``), the same border handling (edge pixels repeated), the same
coefficients (computed in float32 and, for uint8 images, rounded to 11-bit fixed point) and
the same integer rounding. Methods, by OpenCV's codes:

* 0 nearest neighbour (``floor(dx * scale)``);
* 1 bilinear (an exact 2x reduction is an area average, as in OpenCV);
* 2 bicubic (``A = -0.75``);
* 3 area: true pixel-area averaging when shrinking, bilinear-like when enlarging;
* 4 Lanczos over 8x8 pixels.

Images are ``(H, W, C)`` NumPy arrays of uint8, float32 or float64.
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["resize"]

_COEF_BITS = 11
_COEF_SCALE = 1 << _COEF_BITS
_DBL_EPSILON = np.finfo(np.float64).eps
_FLT_EPSILON = np.finfo(np.float32).eps
_F32 = np.float32


def _round_half_even(x):
    return np.rint(x)


def _saturate_int(x, dtype):
    # OpenCV's saturate_cast from a float: round half to even, then clamp
    if dtype == np.uint8:
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)
    return x.astype(dtype)


# --- interpolation coefficients (float32 arithmetic, as OpenCV computes them) ---------------
def _coeffs_cubic(x):
    A = _F32(-0.75)
    one = _F32(1)
    x1 = x + one
    c0 = ((A * x1 - _F32(5) * A) * x1 + _F32(8) * A) * x1 - _F32(4) * A
    c1 = ((A + _F32(2)) * x - (A + _F32(3))) * x * x + one
    ox = one - x
    c2 = ((A + _F32(2)) * ox - (A + _F32(3))) * ox * ox + one
    c3 = one - c0 - c1 - c2
    return np.stack([c0, c1, c2, c3], axis=-1).astype(np.float32)


_S45 = 0.70710678118654752440084436210485
_CS = np.array([[1, 0], [-_S45, -_S45], [0, 1], [_S45, -_S45], [-1, 0], [_S45, _S45],
                [0, -1], [-_S45, _S45]], dtype=np.float64)


def _coeffs_lanczos4(x):
    out = np.empty(x.shape + (8,), np.float32)
    for n, xv in enumerate(np.asarray(x, np.float32).ravel()):
        xv = _F32(xv)
        if xv < _FLT_EPSILON:
            c = np.zeros(8, np.float32)
            c[3] = 1
            out.reshape(-1, 8)[n] = c
            continue
        y0 = -float(xv + _F32(3)) * np.pi * 0.25
        s0, c0 = np.sin(y0), np.cos(y0)
        c = np.empty(8, np.float32)
        total = _F32(0)
        for i in range(8):
            y = -float(xv + _F32(3) - _F32(i)) * np.pi * 0.25
            c[i] = _F32((_CS[i, 0] * s0 + _CS[i, 1] * c0) / (y * y))
            total = _F32(total + c[i])
        total = _F32(_F32(1) / total)
        out.reshape(-1, 8)[n] = c * total
    return out


def _coeffs_linear(x):
    return np.stack([_F32(1) - x, x], axis=-1).astype(np.float32)


@functools.lru_cache(maxsize=256)
def _taps(n_dst, n_src, interp, clamp_linear):
    """Source indices (clamped to the image) and float32 weights of the taps of each
    destination index (cached: a resize is usually repeated at the same sizes)."""
    inv_scale = n_dst / n_src
    scale = 1.0 / inv_scale
    d = np.arange(n_dst, dtype=np.float64)
    if interp == 3:  # area mode emulated with linear weights (enlarging)
        s = np.floor(d * scale).astype(np.int64)
        f = ((d + 1) - (s + 1) * inv_scale).astype(np.float32)
        f = np.where(f <= 0, _F32(0), f - np.floor(f)).astype(np.float32)
    else:
        f = ((d + 0.5) * scale - 0.5).astype(np.float32)
        s = np.floor(f).astype(np.int64)
        f = (f - s.astype(np.float32)).astype(np.float32)
    if interp in (1, 3):
        if clamp_linear:
            low = s < 0
            f[low], s[low] = 0, 0
            high = s >= n_src - 1
            f[high], s[high] = 0, n_src - 1
        w = _coeffs_linear(f)
    elif interp == 2:
        w = _coeffs_cubic(f)
    else:
        w = _coeffs_lanczos4(f)
    k = w.shape[1]
    idx = np.clip(s[:, None] + np.arange(k)[None, :] - (k // 2 - 1), 0, n_src - 1)
    idx.flags.writeable = False
    w.flags.writeable = False
    return idx, w


def _fixed(w):
    return _round_half_even(w * _F32(_COEF_SCALE)).astype(np.int64)


# --- the separable (generic) path ------------------------------------------------------------
def _generic(src, w, h, interp):
    H, W, C = src.shape
    xidx, alpha = _taps(w, W, interp, True)
    yidx, beta = _taps(h, H, interp, False)
    k = alpha.shape[1]
    if src.dtype == np.uint8:
        ia, ib = _fixed(alpha), _fixed(beta)
        s = src.astype(np.int64)
        rows = s[:, xidx[:, 0], :] * ia[None, :, 0, None]
        for j in range(1, k):
            rows = rows + s[:, xidx[:, j], :] * ia[None, :, j, None]
        if interp in (1, 3):
            b0 = ib[:, 0, None, None]
            b1 = ib[:, 1, None, None]
            r0 = rows[yidx[:, 0]] >> 4
            r1 = rows[yidx[:, 1]] >> 4
            out = (((b0 * r0) >> 16) + ((b1 * r1) >> 16) + 2) >> 2
            return np.clip(out, 0, 255).astype(np.uint8)
        acc = rows[yidx[:, 0]] * ib[:, 0, None, None]
        for j in range(1, k):
            acc = acc + rows[yidx[:, j]] * ib[:, j, None, None]
        fixed = np.clip((acc + (1 << 21)) >> 22, 0, 255).astype(np.uint8)
        if interp != 2:
            return fixed
        # OpenCV's SSE2 path for bicubic rows: float32 arithmetic on blocks of 8 values
        scale = _F32(1.0 / (_COEF_SCALE * _COEF_SCALE))
        bf = (ib.astype(np.float32) * scale).astype(np.float32)
        rf = rows.astype(np.float32)
        accf = rf[yidx[:, 0]] * bf[:, 0, None, None]
        for j in range(1, k):
            accf = (accf + rf[yidx[:, j]] * bf[:, j, None, None]).astype(np.float32)
        vec = np.clip(np.rint(accf), 0, 255).astype(np.uint8)
        width = w * C
        nvec = (width // 8) * 8
        flat_out = fixed.reshape(h, width)
        flat_out[:, :nvec] = vec.reshape(h, width)[:, :nvec]
        return flat_out.reshape(h, w, C)
    wt = src.dtype.type
    s = src
    a = alpha.astype(src.dtype)
    rows = s[:, xidx[:, 0], :] * a[None, :, 0, None]
    for j in range(1, k):
        rows = rows + s[:, xidx[:, j], :] * a[None, :, j, None]
    b = beta.astype(src.dtype)
    acc = rows[yidx[:, 0]] * b[:, 0, None, None]
    for j in range(1, k):
        acc = acc + rows[yidx[:, j]] * b[:, j, None, None]
    return acc.astype(wt, copy=False)


# --- area (shrinking) ------------------------------------------------------------------------
def _area_fast(src, w, h, sx, sy):
    H, W, C = src.shape
    block = src[:h * sy, :w * sx].reshape(h, sy, w, sx, C)
    if src.dtype == np.uint8:
        total = block.astype(np.int64).sum(axis=(1, 3))
        if sx == 2 and sy == 2:
            return ((total + 2) >> 2).astype(np.uint8)
        scale = _F32(1.0) / _F32(sx * sy)
        return _saturate_int(total.astype(np.float32) * scale, np.uint8)
    # float: sum in OpenCV's order (row-major within the block, unrolled by 4)
    vals = block.transpose(0, 2, 1, 3, 4).reshape(h, w, sx * sy, C)
    area = sx * sy
    total = np.zeros((h, w, C), src.dtype)
    k = 0
    while k <= area - 4:
        total = total + (((vals[:, :, k] + vals[:, :, k + 1]) + vals[:, :, k + 2])
                         + vals[:, :, k + 3])
        k += 4
    while k < area:
        total = total + vals[:, :, k]
        k += 1
    scale = src.dtype.type(1.0) / src.dtype.type(area) if src.dtype == np.float64 \
        else _F32(1.0) / _F32(area)
    return (total * scale).astype(src.dtype)


@functools.lru_cache(maxsize=256)
def _area_tab(n_src, n_dst):
    """OpenCV's computeResizeAreaTab: per destination index, the (source, weight) taps."""
    scale = 1.0 / (n_dst / n_src)
    taps = []
    for d in range(n_dst):
        fs1 = d * scale
        fs2 = fs1 + scale
        cell = min(scale, n_src - fs1)
        s1, s2 = int(np.ceil(fs1)), int(np.floor(fs2))
        s2 = min(s2, n_src - 1)
        s1 = min(s1, s2)
        t = []
        if s1 - fs1 > 1e-3:
            t.append((s1 - 1, np.float32((s1 - fs1) / cell)))
        for s in range(s1, s2):
            t.append((s, np.float32(1.0 / cell)))
        if fs2 - s2 > 1e-3:
            t.append((s2, np.float32(min(min(fs2 - s2, 1.0), cell) / cell)))
        taps.append(t)
    k = max(len(t) for t in taps)
    idx = np.zeros((n_dst, k), np.int64)
    wts = np.zeros((n_dst, k), np.float32)
    for d, t in enumerate(taps):
        for j, (s, a) in enumerate(t):
            idx[d, j], wts[d, j] = s, a
    idx.flags.writeable = False
    wts.flags.writeable = False
    return idx, wts


def _area(src, w, h):
    H, W, C = src.shape
    xidx, xw = _area_tab(W, w)
    yidx, yw = _area_tab(H, h)
    wt = np.float64 if src.dtype == np.float64 else np.float32
    s = src.astype(wt)
    buf = np.zeros((H, w, C), wt)
    for j in range(xidx.shape[1]):
        buf = buf + s[:, xidx[:, j], :] * xw[None, :, j, None].astype(wt)
    acc = np.zeros((h, w, C), wt)
    for j in range(yidx.shape[1]):
        acc = acc + yw[:, j, None, None].astype(wt) * buf[yidx[:, j]]
    if src.dtype == np.uint8:
        return _saturate_int(acc, np.uint8)
    return acc.astype(src.dtype)


def _nearest(src, w, h, scale_x, scale_y):
    H, W, _ = src.shape
    xs = np.minimum(np.floor(np.arange(w) * scale_x).astype(np.int64), W - 1)
    ys = np.minimum(np.floor(np.arange(h) * scale_y).astype(np.int64), H - 1)
    return src[ys][:, xs]


def resize(src, w, h, interp=1):
    """Resize the ``(H, W, C)`` array ``src`` to width ``w`` and height ``h`` with OpenCV's
    method ``interp`` (0-4); returns a new array of the same dtype."""
    src = np.ascontiguousarray(src)
    H, W, C = src.shape
    inv_x, inv_y = w / W, h / H
    scale_x, scale_y = 1.0 / inv_x, 1.0 / inv_y
    iscale_x, iscale_y = int(np.rint(scale_x)), int(np.rint(scale_y))
    area_fast = abs(scale_x - iscale_x) < _DBL_EPSILON and abs(scale_y - iscale_y) < _DBL_EPSILON
    if interp == 0:
        return _nearest(src, w, h, scale_x, scale_y)
    if interp == 1 and area_fast and iscale_x == 2 and iscale_y == 2:
        interp = 3
    if interp == 3 and scale_x >= 1 and scale_y >= 1:
        if area_fast:
            return _area_fast(src, w, h, iscale_x, iscale_y)
        return _area(src, w, h)
    return _generic(src, w, h, interp)
