"""``mx.image`` functions: read, decode, resize and crop images held as ``(H, W, C)`` NDArrays.

Follows MXNet 1.9.1's ``mxnet.image``. Decoding goes through Pillow (the optional
``image`` extra: ``pip install 'gluonlite[image]'``) and returns what MXNet's OpenCV
decoder returns (see :mod:`gluonlite.image._codec`). Resizing is NumPy code with OpenCV's
arithmetic (:mod:`gluonlite.image._resize`): for uint8 and float images the results are
MXNet's, bit for bit, for every interpolation method. Random choices (``random_crop``,
``random_size_crop``, ``interp=10``) draw from gluonlite's generator, so they are
reproducible under ``mx.random.seed``.

Arrays on a GPU are processed on the host and the result is put back on their device.
"""
from __future__ import annotations

import numbers
import os
import warnings

import numpy as np

from ..base import MXNetError, numeric_types
from ..context import cpu
from ..ndarray.ndarray import NDArray, _to_device
from . import _codec, _random
from ._resize import resize as _cv_resize

__all__ = ["imread", "imdecode", "imresize", "scale_down", "copyMakeBorder", "resize_short",
           "fixed_crop", "random_crop", "center_crop", "color_normalize", "random_size_crop"]

_RESIZE_DTYPES = (np.uint8, np.float32, np.float64)


# --- helpers ---------------------------------------------------------------------------------
def _host(x: NDArray) -> np.ndarray:
    d = x._data
    return d if type(d) is np.ndarray else d.get()


def _wrap(arr: np.ndarray, ctx) -> NDArray:
    return NDArray(_to_device(np.ascontiguousarray(arr), ctx), ctx)


def _write(result: np.ndarray, out, ctx, fname: str) -> NDArray:
    if out is None:
        return _wrap(result, ctx)
    if not isinstance(out, NDArray):
        raise TypeError(f"{fname}: out must be an NDArray, got {type(out).__name__}")
    if tuple(out.shape) != result.shape:
        raise ValueError(f"{fname}: out has shape {tuple(out.shape)}, the result has shape "
                         f"{result.shape}")
    out._data[...] = _to_device(result.astype(out._data.dtype, copy=False), out.context)
    return out


def _check_image(src, fname: str, arg: str = "src"):
    if not isinstance(src, NDArray):
        raise TypeError(f"{fname}: {arg} must be an NDArray image of shape (height, width, "
                        f"channels), got {type(src).__name__}")
    if src.ndim != 3:
        raise MXNetError(f"{fname}: {arg} must have shape (height, width, channels), got "
                         f"shape {tuple(src.shape)}")


def _check_size_pair(size, fname: str, arg: str = "size"):
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                       for v in size)):
        raise TypeError(f"{fname}: {arg} must be a (width, height) pair of ints, got {size!r}")
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"{fname}: {arg} must be positive, got {tuple(size)}")
    return int(size[0]), int(size[1])


def _check_flag(flag, fname):
    if isinstance(flag, bool) or not isinstance(flag, numbers.Integral):
        raise TypeError(f"{fname}: flag must be an int (1 for colour, 0 for greyscale), got "
                        f"{flag!r}")
    if flag < 0:
        raise MXNetError(f"{fname}: value {flag} for Parameter flag should be greater equal "
                         "to 0")


# --- decoding --------------------------------------------------------------------------------
def imdecode(buf, flag=1, to_rgb=True, out=None):
    """Decode an encoded image (JPEG, PNG, ...) into an ``(H, W, C)`` uint8 NDArray.

    ``buf`` is ``bytes``, ``bytearray``, a uint8 NumPy array or NDArray of the file's bytes.
    ``flag=1`` gives 3 colour channels, ``flag=0`` one grey channel; ``to_rgb=False``
    gives OpenCV's BGR order. ``out`` receives the result if given. Needs Pillow.
    """
    if isinstance(buf, NDArray):
        data = _host(buf).astype(np.uint8, copy=False).tobytes()
    elif isinstance(buf, (bytes, bytearray)):
        data = bytes(buf)
    elif isinstance(buf, np.ndarray):
        data = np.ascontiguousarray(buf).view(np.uint8).tobytes() if buf.dtype == np.uint8 \
            else buf.astype(np.uint8).tobytes()
    else:
        raise ValueError("buf must be of type bytes, bytearray or numpy.ndarray,if you would "
                         "like to input type str, please convert to bytes")
    _check_flag(flag, "imdecode")
    if len(data) == 0:
        raise MXNetError("imdecode: Input cannot be an empty buffer")
    img = _codec.decode(data, flag=1 if flag else 0, to_rgb=bool(to_rgb))
    return _write(img, out, cpu(), "imdecode")


def imread(filename, flag=1, to_rgb=True, out=None):
    """Read and decode the image file ``filename`` into an ``(H, W, C)`` uint8 NDArray
    (``flag`` and ``to_rgb`` as in :func:`imdecode`). Needs Pillow."""
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError(f"imread: filename must be a path, got {type(filename).__name__}")
    _check_flag(flag, "imread")
    try:
        with open(filename, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MXNetError(f"Imread: '{os.fspath(filename)}' couldn't open file: "
                         f"{e.strerror}") from None
    return imdecode(data, flag, to_rgb, out)


# --- resizing --------------------------------------------------------------------------------
def imresize(src, w, h, interp=1, out=None):
    """Resize ``src`` (``(H, W, C)``, uint8/float32/float64) to width ``w`` and height ``h``
    with OpenCV's interpolation ``interp``: 0 nearest, 1 bilinear (default), 2 bicubic,
    3 area, 4 Lanczos. Results equal MXNet's."""
    if not isinstance(src, NDArray):
        raise AssertionError(f"Argument src must have NDArray type, but got {src!r}")
    _check_image(src, "imresize")
    for name, v in (("w", w), ("h", h)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"imresize: {name} must be an int, got {v!r}")
        if v < 1:
            raise MXNetError(f"imresize: value {v} for Parameter {name} should be greater "
                             "equal to 1")
    if isinstance(interp, bool) or not isinstance(interp, numbers.Integral) \
            or interp not in (0, 1, 2, 3, 4):
        raise MXNetError(f"imresize: Unknown interpolation method {interp!r}; expected 0 "
                         "(nearest), 1 (bilinear), 2 (bicubic), 3 (area) or 4 (Lanczos)")
    if src.dtype not in _RESIZE_DTYPES:
        raise TypeError(f"imresize: images of dtype {np.dtype(src.dtype).name} cannot be "
                        "resized; expected uint8, float32 or float64")
    if 0 in src.shape:
        raise MXNetError(f"imresize: cannot resize an empty image of shape {src.shape}")
    result = _cv_resize(_host(src), int(w), int(h), int(interp))
    return _write(result, out, src.context, "imresize")


def _get_interp_method(interp, sizes=()):
    """The interpolation method for ``interp``: 0-4 as is; 9 picks bicubic to enlarge,
    area to shrink, bilinear otherwise from ``sizes`` = (old_h, old_w, new_h, new_w)
    (bicubic when not given); 10 picks one of 0-4 at random."""
    if interp == 9:
        if sizes:
            if len(sizes) != 4:
                raise ValueError(f"sizes: expected (old_h, old_w, new_h, new_w), got {sizes!r}")
            oh, ow, nh, nw = sizes
            if nh > oh and nw > ow:
                return 2
            if nh < oh and nw < ow:
                return 3
            return 1
        return 2
    if interp == 10:
        return _random.randint(0, 4)
    if interp not in (0, 1, 2, 3, 4):
        raise ValueError("Unknown interp method %d" % interp)
    return interp


def scale_down(src_size, size):
    """Scale the crop ``size`` (w, h) down, keeping its aspect ratio, until it fits in
    ``src_size`` (w, h); returns the new (w, h) as ints."""
    w, h = size
    sw, sh = src_size
    if sh < h:
        w, h = float(w * sh) / h, sh
    if sw < w:
        w, h = sw, float(h * sw) / w
    return int(w), int(h)


# OpenCV's border codes (MXNet's docstring lists them in another order; these are what it does)
_BORDER_MODES = {0: "constant", 1: "edge", 2: "symmetric", 3: "wrap", 4: "reflect"}


def copyMakeBorder(src, top, bot, left, right, type=0, value=0.0, values=(), out=None):
    """Pad an ``(H, W, C)`` image (OpenCV's ``copyMakeBorder``) by OpenCV's border codes:
    ``type`` 0 constant (``values`` per channel, or ``value``), 1 replicate
    (``aaa|abcdef``), 2 reflect (``cba|abcdef``), 3 wrap (``def|abcdef``), 4 reflect-101
    (``dcb|abcdef``)."""
    _check_image(src, "copyMakeBorder")
    pads = (top, bot, left, right)
    if any(isinstance(p, bool) or not isinstance(p, numbers.Integral) or p < 0 for p in pads):
        raise ValueError(f"copyMakeBorder: top, bot, left, right must be non-negative ints, "
                         f"got {pads}")
    if type not in _BORDER_MODES:
        raise ValueError(f"copyMakeBorder: type must be 0-4 (constant, replicate, reflect, "
                         f"wrap, reflect-101), got {type!r}")
    img = _host(src)
    width = ((top, bot), (left, right), (0, 0))
    if type == 0:
        c = img.shape[2]
        vals = list(values) if len(values) else [value] * c
        if len(vals) < c:
            vals = vals + [0.0] * (c - len(vals))
        result = np.empty((img.shape[0] + top + bot, img.shape[1] + left + right, c),
                          img.dtype)
        result[...] = np.asarray(vals[:c], np.float64).astype(img.dtype)
        result[top:top + img.shape[0], left:left + img.shape[1]] = img
    else:
        result = np.pad(img, width, mode=_BORDER_MODES[type])
    return _write(result, out, src.context, "copyMakeBorder")


def resize_short(src, size, interp=2):
    """Resize so that the shorter edge is ``size`` (the other keeps the aspect ratio,
    rounded down)."""
    _check_image(src, "resize_short")
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"resize_short: size must be a positive int, got {size!r}")
    h, w, _ = src.shape
    if h > w:
        new_h, new_w = size * h // w, size
    else:
        new_h, new_w = size, size * w // h
    return imresize(src, new_w, new_h, interp=_get_interp_method(interp, (h, w, new_h, new_w)))


def fixed_crop(src, x0, y0, w, h, size=None, interp=2):
    """Crop ``src[y0:y0+h, x0:x0+w]`` and, if ``size`` (w, h) is given and differs,
    resize to it."""
    _check_image(src, "fixed_crop")
    out = src[y0:y0 + h, x0:x0 + w]
    if size is not None and (w, h) != tuple(size):
        sizes = (h, w, size[1], size[0])
        out = imresize(out, *size, interp=_get_interp_method(interp, sizes))
    return out


def random_crop(src, size, interp=2):
    """Crop a random ``size`` (w, h) window (scaled down to fit first, then resized up to
    ``size``); returns ``(image, (x0, y0, w, h))``."""
    _check_image(src, "random_crop")
    size = _check_size_pair(size, "random_crop")
    h, w, _ = src.shape
    new_w, new_h = scale_down((w, h), size)
    x0 = _random.randint(0, w - new_w)
    y0 = _random.randint(0, h - new_h)
    out = fixed_crop(src, x0, y0, new_w, new_h, size, interp)
    return out, (x0, y0, new_w, new_h)


def center_crop(src, size, interp=2):
    """Crop the central ``size`` (w, h) window (scaled down to fit first, then resized up
    to ``size``); returns ``(image, (x0, y0, w, h))``."""
    _check_image(src, "center_crop")
    size = _check_size_pair(size, "center_crop")
    h, w, _ = src.shape
    new_w, new_h = scale_down((w, h), size)
    x0 = int((w - new_w) / 2)
    y0 = int((h - new_h) / 2)
    out = fixed_crop(src, x0, y0, new_w, new_h, size, interp)
    return out, (x0, y0, new_w, new_h)


def color_normalize(src, mean, std=None):
    """``src -= mean; src /= std`` in place (either may be None); returns ``src``."""
    if mean is not None:
        src -= mean
    if std is not None:
        src /= std
    return src


def random_size_crop(src, size, area, ratio, interp=2, **kwargs):
    """Crop a window of random area (fraction ``area`` = (min, max), or min with max 1) and
    aspect ratio (log-uniform in ``ratio``), resized to ``size`` (w, h); after 10 failed
    tries, a center crop. Returns ``(image, (x0, y0, w, h))``."""
    _check_image(src, "random_size_crop")
    size = _check_size_pair(size, "random_size_crop")
    h, w, _ = src.shape
    src_area = h * w
    if "min_area" in kwargs:
        warnings.warn("`min_area` is deprecated. Please use `area` instead.",
                      DeprecationWarning, stacklevel=2)
        area = kwargs.pop("min_area")
    if kwargs:
        raise TypeError(f"random_size_crop: unexpected keyword arguments {sorted(kwargs)}")
    if isinstance(area, numeric_types):
        area = (area, 1.0)
    if len(area) != 2 or not 0 < area[0] <= area[1]:
        raise ValueError(f"random_size_crop: area must be a fraction in (0, 1] or a (min, max) "
                         f"pair with 0 < min <= max, got {area!r}")
    if len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
        raise ValueError(f"random_size_crop: ratio must be a (min, max) pair with "
                         f"0 < min <= max, got {ratio!r}")
    for _ in range(10):
        target_area = _random.uniform(area[0], area[1]) * src_area
        log_ratio = (np.log(ratio[0]), np.log(ratio[1]))
        new_ratio = np.exp(_random.uniform(*log_ratio))
        new_w = int(round(np.sqrt(target_area * new_ratio)))
        new_h = int(round(np.sqrt(target_area / new_ratio)))
        if 1 <= new_w <= w and 1 <= new_h <= h:
            x0 = _random.randint(0, w - new_w)
            y0 = _random.randint(0, h - new_h)
            out = fixed_crop(src, x0, y0, new_w, new_h, size, interp)
            return out, (x0, y0, new_w, new_h)
    return center_crop(src, size, interp)
