"""Colour adjustments with the arithmetic of MXNet's ``_image_*`` operators.

These are the kernels behind ``transforms.RandomBrightness`` & co. They follow MXNet
1.9.1's CPU implementation (``src/operator/image/image_random-inl.h``) step by step in
float32, so that for a given factor the results are MXNet's, including its quirks:

* results are stored with MXNet's ``saturate_cast``: for uint8 clamp to [0, 255] then
  truncate toward zero; other dtypes are a plain cast of the float32 value;
* contrast uses the mean grey level ``sum(0.299 R + 0.587 G + 0.114 B) / (H W)``, summed
  sequentially in float32;
* saturation blends every pixel with ``0.114 * B`` (MXNet 1.9.1 keeps only the last term
  of its grey-level sum) — kept so that numbers match MXNet's;
* hue rotates the HLS hue by ``alpha * 360`` degrees (so ``alpha`` and ``alpha + 1`` are
  the same rotation);
* lighting adds AlexNet's PCA noise ``eigvec . (eigval * alpha)`` per channel.

Every function takes an ``(H, W, C)`` NumPy array, ``C`` 1 or 3, and returns a new one of
the same dtype.
"""
from __future__ import annotations

import numpy as np

__all__ = ["saturate", "brightness", "contrast", "saturation", "hue", "lighting",
           "EIG_SCALED"]

_F = np.float32
_COEF = np.array([0.299, 0.587, 0.114], np.float32)

#: MXNet's ``eig`` table: eigenvalue-scaled eigenvectors of ImageNet's RGB covariance,
#: computed in double and stored as float.
EIG_SCALED = np.array([[55.46 * -0.5675, 4.794 * 0.7192, 1.148 * 0.4009],
                       [55.46 * -0.5808, 4.794 * -0.0045, 1.148 * -0.8140],
                       [55.46 * -0.5836, 4.794 * -0.6948, 1.148 * 0.4203]]).astype(np.float32)


def saturate(val, dtype):
    """MXNet's ``saturate_cast`` of float32 values to ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return np.clip(val, _F(0), _F(255)).astype(np.uint8)
    if dtype.kind in "iu":
        with np.errstate(invalid="ignore"):
            return np.trunc(val).astype(dtype)
    return val.astype(dtype)


def _f32(x):
    return x.astype(np.float32, copy=False)


def brightness(img, alpha):
    """``out = saturate(img * alpha)``."""
    return saturate(_f32(img) * _F(alpha), img.dtype)


def contrast(img, alpha):
    """``out = saturate(img * alpha + (1 - alpha) * mean_grey)``."""
    alpha = _F(alpha)
    h, w, c = img.shape
    x = _f32(img)
    if c > 1:
        terms = (x[:, :, :3] * _COEF).reshape(-1)
    else:
        terms = x.reshape(-1)
    total = np.cumsum(terms, dtype=np.float32)[-1] if terms.size else _F(0)
    mean = _F(total / _F(h * w)) if h * w else _F(0)
    beta = (_F(1) - alpha) * mean
    return saturate(x * alpha + beta, img.dtype)


def saturation(img, alpha):
    """``out = saturate(0.114 * B * (1 - alpha) + img * alpha)`` (MXNet 1.9.1's formula)."""
    if img.shape[2] == 1:
        return img.copy()
    alpha = _F(alpha)
    x = _f32(img)
    gray = (x[:, :, 2:3] * _COEF[2]) * (_F(1) - alpha)
    return saturate(gray + x * alpha, img.dtype)


def _rgb_to_hls(r, g, b):
    r, g, b = r / _F(255), g / _F(255), b / _F(255)
    vmax = np.fmax(np.fmax(r, g), b)
    vmin = np.fmin(np.fmin(r, g), b)
    diff = vmax - vmin
    l = (vmax + vmin) * _F(0.5)
    chroma = diff > np.finfo(np.float32).eps
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(l < _F(0.5), diff / (vmax + vmin), diff / ((_F(2) - vmax) - vmin))
        d = _F(60) / diff
        h = np.where(vmax == r, (g - b) * d,
                     np.where(vmax == g, (b - r) * d + _F(120), (r - g) * d + _F(240)))
    h = np.where(h < 0, h + _F(360), h)
    return (np.where(chroma, h, _F(0)).astype(np.float32),
            l.astype(np.float32), np.where(chroma, s, _F(0)).astype(np.float32))


# (b, g, r) rows of tab[] for each sector, as in MXNet's HLS2RGBConvert
_SECTORS = np.array([[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]])


def _hls_to_rgb(h, l, s):
    p2 = np.where(l <= _F(0.5), l * (_F(1) + s), (l + s) - l * s).astype(np.float32)
    p1 = (_F(2) * l - p2).astype(np.float32)
    h = (h * (_F(1) / _F(60))).astype(np.float32)
    while True:
        neg = h < 0
        if not neg.any():
            break
        h = np.where(neg, h + _F(6), h)
    while True:
        big = h >= 6
        if not big.any():
            break
        h = np.where(big, h - _F(6), h)
    sector = h.astype(np.int64)
    h = h - sector.astype(np.float32)
    tab = np.stack([p2, p1, p1 + (p2 - p1) * (_F(1) - h), p1 + (p2 - p1) * h], axis=-1)
    idx = _SECTORS[sector]
    b = np.take_along_axis(tab, idx[..., 0:1], axis=-1)[..., 0]
    g = np.take_along_axis(tab, idx[..., 1:2], axis=-1)[..., 0]
    r = np.take_along_axis(tab, idx[..., 2:3], axis=-1)[..., 0]
    grey = s == 0
    r, g, b = (np.where(grey, l, v) for v in (r, g, b))
    return r * _F(255), g * _F(255), b * _F(255)


def hue(img, alpha):
    """Rotate the hue by ``alpha * 360`` degrees through HLS (MXNet's AdjustHueImpl)."""
    if img.shape[2] == 1:
        return img.copy()
    x = _f32(img)
    h, l, s = _rgb_to_hls(x[:, :, 0], x[:, :, 1], x[:, :, 2])
    h = h + _F(alpha) * _F(360)
    r, g, b = _hls_to_rgb(h, l, s)
    return saturate(np.stack([r, g, b], axis=-1), img.dtype)


def lighting(img, alpha):
    """Add ``EIG_SCALED @ alpha`` to the R, G, B channels (``alpha``: 3 floats)."""
    if img.shape[2] == 1:
        return img.copy()
    a = np.asarray(alpha, np.float32)
    e = EIG_SCALED
    pca = np.array([e[i, 0] * a[0] + e[i, 1] * a[1] + e[i, 2] * a[2] for i in range(3)],
                   np.float32)
    return saturate(_f32(img) + pca, img.dtype)
