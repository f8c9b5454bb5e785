"""Decoding image files through Pillow (the optional ``image`` extra).

MXNet decodes with OpenCV; this module reproduces what it returns:

* colour (``flag=1``): every image becomes 3 channels (grey replicated, alpha dropped,
  palettes expanded), 16-bit samples are reduced to 8 bits by dropping the low byte;
* greyscale (``flag=0``): one channel. For JPEG files the decoder's luma (Y) plane, which
  is what libjpeg hands OpenCV; for PNG files libpng's conversion
  ``(9797 R + 19234 G + 3737 B) >> 15``; for other formats (and CMYK JPEGs) OpenCV's
  ``(4899 R + 9617 G + 1868 B + 8192) >> 14``;
* CMYK JPEGs are converted with OpenCV's formula ``k - ((255 - c) * k >> 8)`` per channel;
* ``to_rgb=False`` returns BGR channel order (OpenCV's own).

Pillow is imported on first use only: ``import gluonlite`` never needs it.
"""
from __future__ import annotations

import io

import numpy as np

__all__ = ["require_pillow", "decode"]

_INSTALL_HINT = ("decoding and encoding images needs Pillow, which is an optional extra of "
                 "gluonlite: pip install 'gluonlite[image]'")


def require_pillow():
    """The ``PIL.Image`` module, or an ImportError saying which extra to install."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(_INSTALL_HINT) from e
    return Image


def _to_uint8(arr, mode):
    if arr.dtype == np.uint8:
        return arr
    if mode.startswith("I;16") or arr.dtype in (np.uint16, np.int32) and mode == "I":
        return (arr.astype(np.int64) >> 8).clip(0, 255).astype(np.uint8)
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    return np.clip(arr, 0, 255).astype(np.uint8)


def _gray_from_rgb(rgb, fmt):
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    if fmt == "PNG":
        return ((9797 * r + 19234 * g + 3737 * b) >> 15).astype(np.uint8)
    return ((4899 * r + 9617 * g + 1868 * b + 8192) >> 14).astype(np.uint8)


def _cmyk_to_rgb(img):
    """OpenCV's conversion of a CMYK JPEG (libjpeg's raw, Adobe-inverted samples)."""
    cmyk = np.asarray(img).astype(np.int64)
    if "adobe" in img.info:  # Pillow has inverted the samples back: undo it
        cmyk = 255 - cmyk
    k = cmyk[..., 3:4]
    return (k - (((255 - cmyk[..., :3]) * k) >> 8)).astype(np.uint8)


def decode(buf: bytes, flag: int = 1, to_rgb: bool = True) -> np.ndarray:
    """Decode the encoded image ``buf`` into an ``(H, W, C)`` uint8 array (see module doc)."""
    Image = require_pillow()
    try:
        img = Image.open(io.BytesIO(buf))
        fmt = img.format
        if flag == 0 and fmt == "JPEG" and img.mode in ("RGB", "YCbCr", "L"):
            img.draft("L", img.size)
        img.load()
    except Exception as e:  # Pillow raises several types (UnidentifiedImageError, OSError, ...)
        raise ValueError(f"imdecode: cannot decode the image data ({len(buf)} bytes): "
                         f"{e}") from None
    mode = img.mode
    if flag == 0:
        if mode in ("L", "1") or mode.startswith("I"):
            gray = _to_uint8(np.asarray(img.convert("L") if mode == "1" else img), mode)
        elif mode == "LA":
            gray = np.asarray(img)[..., 0]
        elif mode == "CMYK" and fmt == "JPEG":
            gray = _gray_from_rgb(_cmyk_to_rgb(img), "JPEG")
        else:
            gray = _gray_from_rgb(np.asarray(img.convert("RGB")), fmt)
        return np.ascontiguousarray(gray.reshape(gray.shape[0], gray.shape[1], 1))
    if mode in ("L", "1", "LA") or mode.startswith("I"):
        g = np.asarray(img.convert("L") if mode == "1" else img)
        g = _to_uint8(g[..., 0] if mode == "LA" else g, mode)
        out = np.repeat(g[:, :, None], 3, axis=2)
    elif mode == "CMYK" and fmt == "JPEG":
        out = _cmyk_to_rgb(img)
    else:
        out = np.asarray(img.convert("RGB"))
    if not to_rgb:
        out = out[:, :, ::-1]
    return np.ascontiguousarray(out, dtype=np.uint8)
