"""MXNet 1.9.1's geometric and colour image operators, ``mx.nd.image.X`` /
``mx.sym.image.X`` (registered as ``_image_X``): ``flip_left_right``, ``flip_top_bottom``,
``random_flip_left_right``, ``random_flip_top_bottom``, ``crop``, ``resize``,
``adjust_lighting``, ``random_lighting``, ``random_brightness``, ``random_contrast``,
``random_saturation``, ``random_hue`` and ``random_color_jitter``.

Images are ``(H, W, C)`` arrays (``crop`` and ``resize`` also take ``(N, H, W, C)``
batches, as MXNet's kernels do) of any dtype MXNet accepts; results keep the dtype, stored
with MXNet's ``saturate_cast``. The arithmetic is MXNet's CPU code, shared with
``transforms`` and ``mx.image`` (:mod:`.image_color`, :mod:`.image_resize`: OpenCV's
resize, bit-exact). The operators run on the host (a GPU array is copied there and back).

Random operators draw from the device generator (``mx.random.seed``): a factor uniform in
``[min_factor, max_factor]`` (``random_brightness``/``contrast``/``saturation``/``hue``),
three ``N(0, alpha_std^2)`` strengths (``random_lighting``), a fair coin (the random
flips); ``random_color_jitter`` applies brightness, contrast, saturation (factor
``1 + U(-v, v)``) and hue (rotation ``U(-v, v) * 360`` degrees), those with a positive
amount, in a random order.

Gradients: ``flip_*`` flip the head gradient back, ``crop`` scatters it into the cropped
window, ``adjust_lighting`` (adding a constant) passes it through: their true
derivatives. MXNet 1.9.1 passes the head gradient through *unchanged* for flips and for
the random colour operators (its ``_copy`` gradient, which is not their derivative: a
flip's gradient comes back unflipped); gluonlite gives the flips their true gradient and
treats the random operators and ``resize`` (which has no gradient in MXNet) as constants
for autograd, like its other random operators.
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError
from . import image_color as _color
from .attrs import Bool, Float, FloatShape, Int, Shape
from .image_resize import resize as _cv_resize
from .registry import forward_shape, register

__all__ = []

_RESIZE_DTYPES = ("uint8", "float32", "float64")


def _host(rt, x):
    return x if isinstance(x, np.ndarray) else rt.xp.asnumpy(x)


def _dev(rt, x):
    return x if rt.xp is np else rt.xp.asarray(x)


def _check_hwc(op, shape):
    if len(shape) != 3:
        raise MXNetError(f"{op}: Input image must have shape (height, width, channels), but "
                         f"got {tuple(shape)}")
    return tuple(shape)


def _check_hwc_batch(op, shape):
    if len(shape) not in (3, 4):
        raise MXNetError(f"{op}: Input image must have shape (height, width, channels) or "
                         f"(N, height, width, channels), but got {tuple(shape)}")
    return tuple(shape)


def _check_color(op, shape):
    _check_hwc(op, shape)
    if shape[2] not in (1, 3):
        raise MXNetError(f"{op}: the image must have 1 or 3 channels (the last axis), got "
                         f"shape {tuple(shape)}")
    return tuple(shape)


def _hwc_rule(op):
    return forward_shape(lambda a, s: _check_hwc(op, s))


def _color_rule(op):
    return forward_shape(lambda a, s: _check_color(op, s))


# --- flips -------------------------------------------------------------------------------
@register("_image_flip_left_right", shape=_hwc_rule("flip_left_right"))
def _image_flip_left_right(rt, data):
    """Reverse the width axis of an ``(H, W, C)`` image (MXNet's ``image.flip_left_right``)."""
    _check_hwc("flip_left_right", data.shape)
    return rt.xp.ascontiguousarray(data[:, ::-1])


@_image_flip_left_right.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._image_flip_left_right(ogs[0]),)


@register("_image_flip_top_bottom", shape=_hwc_rule("flip_top_bottom"))
def _image_flip_top_bottom(rt, data):
    """Reverse the height axis of an ``(H, W, C)`` image (MXNet's ``image.flip_top_bottom``)."""
    _check_hwc("flip_top_bottom", data.shape)
    return rt.xp.ascontiguousarray(data[::-1])


@_image_flip_top_bottom.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._image_flip_top_bottom(ogs[0]),)


def _random_flip(name, axis):
    def fwd(rt, data):
        _check_hwc(name, data.shape)
        if float(rt.rng.random_sample()) < 0.5:
            return rt.xp.flip(data, axis=axis).copy()
        return data.copy()

    fwd.__doc__ = (f"Reverse the {'width' if axis == 1 else 'height'} axis of an "
                   f"``(H, W, C)`` image with probability 0.5 (MXNet's ``image.{name}``).")
    return register(f"_image_{name}", shape=_hwc_rule(name), tags=("random",))(fwd)


_random_flip("random_flip_left_right", 1)
_random_flip("random_flip_top_bottom", 0)


# --- crop --------------------------------------------------------------------------------
def _crop_window(a, shape):
    op = "crop"
    _check_hwc_batch(op, shape)
    h, w = shape[-3], shape[-2]
    x, y, cw, ch = a["x"], a["y"], a["width"], a["height"]
    if cw <= 0 or ch <= 0:
        raise MXNetError(f"{op}: width and height must be positive, got width={cw}, "
                         f"height={ch}")
    if x < 0 or y < 0 or x + cw > w or y + ch > h:
        raise MXNetError(f"{op}: the window x={x}, y={y}, width={cw}, height={ch} does not "
                         f"fit in an image of height {h} and width {w}")
    return x, y, cw, ch


def _crop_shape(a, s):
    _, _, cw, ch = _crop_window(a, s)
    return tuple(s[:-3]) + (ch, cw, s[-1])


@register("_image_crop", shape=forward_shape(_crop_shape))
def _image_crop(rt, data, *, x: Int, y: Int, width: Int, height: Int):
    """The ``height`` x ``width`` window at column ``x``, row ``y`` of an ``(H, W, C)``
    image or ``(N, H, W, C)`` batch (MXNet's ``image.crop``)."""
    x0, y0, cw, ch = _crop_window(dict(x=x, y=y, width=width, height=height), data.shape)
    return rt.xp.ascontiguousarray(data[..., y0:y0 + ch, x0:x0 + cw, :])


@_image_crop.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_image_crop(ogs[0], ins[0], **a),)


@register("_backward_image_crop",
          shape=lambda a, s: (s, [s[1]]), dtype=lambda a, t, n: (t, [t[0]]))
def _backward_image_crop(rt, ograd, data, *, x: Int, y: Int, width: Int, height: Int):
    """Gradient of ``crop``: ``ograd`` written into the cropped window of zeros shaped like
    ``data``."""
    x0, y0, cw, ch = _crop_window(dict(x=x, y=y, width=width, height=height), data.shape)
    out = rt.xp.zeros(data.shape, ograd.dtype)
    out[..., y0:y0 + ch, x0:x0 + cw, :] = ograd
    return out


@_backward_image_crop.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._image_crop(ogs[0], **a), None)


# --- resize ------------------------------------------------------------------------------
def _resize_hw(a, shape):
    """MXNet's ``GetHeightAndWidth``: the output (height, width)."""
    op = "resize"
    _check_hwc_batch(op, shape)
    h, w = shape[-3], shape[-2]
    size = tuple(a["size"])
    if len(size) not in (1, 2):
        raise MXNetError(f"{op}: size must have 1 or 2 elements ((width, height)), got "
                         f"{size}")
    if any(s <= 0 for s in size):
        raise MXNetError(f"{op}: size must be positive, got {size}")
    if len(size) == 2:
        return size[1], size[0]
    if not a["keep_ratio"]:
        return size[0], size[0]
    if h == 0 or w == 0:
        raise MXNetError(f"{op}: keep_ratio needs a non-empty image, got shape {tuple(shape)}")
    if h > w:  # the shorter side becomes size[0], integer arithmetic as MXNet
        return h * size[0] // w, size[0]
    return size[0], w * size[0] // h


def _resize_shape(a, s):
    oh, ow = _resize_hw(a, s)
    return tuple(s[:-3]) + (oh, ow, s[-1])


@register("_image_resize", shape=forward_shape(_resize_shape))
def _image_resize(rt, data, *, size: Shape = (), keep_ratio: Bool = False, interp: Int = 1):
    """Resize an ``(H, W, C)`` image or ``(N, H, W, C)`` batch to ``size`` = ``(width,
    height)``, or ``(s,)``: ``s x s``, or with ``keep_ratio`` the shorter side ``s``
    (MXNet's ``image.resize``), with OpenCV's method ``interp`` (0 nearest, 1 bilinear, 2
    bicubic, 3 area, 4 Lanczos) and OpenCV's arithmetic. uint8, float32 and float64."""
    oh, ow = _resize_hw(dict(size=size, keep_ratio=keep_ratio), data.shape)
    if data.dtype.name not in _RESIZE_DTYPES:
        raise MXNetError(f"resize: the image dtype must be one of {', '.join(_RESIZE_DTYPES)}"
                         f", got {data.dtype.name}")
    if interp not in (0, 1, 2, 3, 4):
        raise MXNetError(f"resize: interp must be 0 (nearest), 1 (bilinear), 2 (bicubic), "
                         f"3 (area) or 4 (Lanczos), got {interp}")
    src = _host(rt, data)
    if src.ndim == 3:
        out = _cv_resize(src, ow, oh, interp)
    else:
        out = np.stack([_cv_resize(im, ow, oh, interp) for im in src]) if len(src) else \
            np.zeros((0, oh, ow, src.shape[-1]), src.dtype)
    return _dev(rt, np.ascontiguousarray(out))


# --- colour ------------------------------------------------------------------------------
@register("_image_adjust_lighting", shape=_color_rule("adjust_lighting"))
def _image_adjust_lighting(rt, data, *, alpha: FloatShape):
    """Add AlexNet's PCA lighting ``eigvec . (eigval * alpha)`` to the R, G, B channels of
    an ``(H, W, 3)`` image (MXNet's ``image.adjust_lighting``; 1-channel images pass
    unchanged)."""
    _check_color("adjust_lighting", data.shape)
    if len(alpha) != 3:
        raise MXNetError(f"adjust_lighting: alpha must have 3 elements (one per principal "
                         f"component), got {tuple(alpha)}")
    if data.dtype.kind == "f" and data.shape[2] == 3:
        # MXNet adds the float32 offsets in the data's precision: an exact shift for
        # float data (the integer path saturates, in the shared kernel)
        e = _color.EIG_SCALED
        a = np.asarray(alpha, np.float32)
        pca = np.array([e[i, 0] * a[0] + e[i, 1] * a[1] + e[i, 2] * a[2] for i in range(3)],
                       np.float32)
        return data + rt.xp.asarray(pca.astype(data.dtype))
    return _dev(rt, _color.lighting(_host(rt, data), alpha))


@_image_adjust_lighting.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._copy(ogs[0]),)


def _check_range(op, lo, hi):
    if not lo <= hi:
        raise MXNetError(f"{op}: min_factor must be <= max_factor, got min_factor={lo}, "
                         f"max_factor={hi}")


def _random_enhance(name, kernel, what):
    def fwd(rt, data, *, min_factor: Float, max_factor: Float):
        _check_color(name, data.shape)
        _check_range(name, min_factor, max_factor)
        alpha = np.float32(float(rt.rng.uniform(min_factor, max_factor)))
        return _dev(rt, kernel(_host(rt, data), alpha))

    fwd.__doc__ = (f"{what}, with a factor drawn uniformly from ``[min_factor, "
                   f"max_factor]``, of an ``(H, W, C)`` image, C 1 or 3 (MXNet's "
                   f"``image.{name}``).")
    return register(f"_image_{name}", shape=_color_rule(name), tags=("random",))(fwd)


_random_enhance("random_brightness", _color.brightness, "Scale the pixel values")
_random_enhance("random_contrast", _color.contrast, "Blend with the mean grey level")
_random_enhance("random_saturation", _color.saturation,
                "Blend with the grey level (MXNet 1.9.1's formula)")
_random_enhance("random_hue", _color.hue, "Rotate the hue by ``factor * 360`` degrees")


@register("_image_random_color_jitter", shape=_color_rule("random_color_jitter"),
          tags=("random",))
def _image_random_color_jitter(rt, data, *, brightness: Float, contrast: Float,
                               saturation: Float, hue: Float):
    """Brightness, contrast, saturation (factor ``1 + U(-v, v)``) and hue (rotation
    ``U(-v, v) * 360`` degrees) changes of an ``(H, W, C)`` image, those with a positive
    amount, in a random order (MXNet's ``image.random_color_jitter``)."""
    name = "random_color_jitter"
    _check_color(name, data.shape)
    amounts = (brightness, contrast, saturation, hue)
    for what, v in zip(("brightness", "contrast", "saturation", "hue"), amounts):
        if not v >= 0:
            raise MXNetError(f"{name}: {what} must be non-negative, got {v}")
    kernels = (_color.brightness, _color.contrast, _color.saturation, _color.hue)
    img = _host(rt, data)
    out = img
    for i in (int(k) for k in _host(rt, rt.rng.permutation(4))):
        if amounts[i] > 0:
            u = float(rt.rng.uniform(-amounts[i], amounts[i]))
            out = kernels[i](out, np.float32(u if i == 3 else 1.0 + u))
    return _dev(rt, out.copy() if out is img else out)


@register("_image_random_lighting", shape=_color_rule("random_lighting"), tags=("random",))
def _image_random_lighting(rt, data, *, alpha_std: Float = 0.05):
    """AlexNet's PCA lighting noise with strengths drawn from ``N(0, alpha_std^2)`` added to
    an ``(H, W, 3)`` image (MXNet's ``image.random_lighting``)."""
    _check_color("random_lighting", data.shape)
    if not alpha_std >= 0:
        raise MXNetError(f"random_lighting: alpha_std must be non-negative, got {alpha_std}")
    alpha = _host(rt, rt.rng.normal(0.0, alpha_std, size=3)).astype(np.float32) \
        if alpha_std > 0 else np.zeros(3, np.float32)
    return _dev(rt, _color.lighting(_host(rt, data), alpha))
