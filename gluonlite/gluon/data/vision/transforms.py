"""Image transforms as Gluon blocks (MXNet 1.9.1's ``gluon.data.vision.transforms``).

Each transform is a Block (or HybridBlock, as in MXNet) called on an image NDArray of shape
``(H, W, C)`` — some also take batches ``(N, H, W, C)`` — and typically chained with
``Compose`` and applied through ``dataset.transform_first``::

    transformer = transforms.Compose([transforms.Resize(32), transforms.ToTensor(),
                                      transforms.Normalize(0.13, 0.31)])

Numbers follow MXNet's ``_image_*`` operators: resizing uses OpenCV's arithmetic (bit-exact
with MXNet), colour transforms reproduce MXNet's float32 formulas (see
:mod:`gluonlite.image._color`). Random transforms draw from gluonlite's generator and are
reproducible under ``mx.random.seed``; for a given draw the result is MXNet's.

``ToTensor``, ``Normalize`` and ``Cast`` are graph operators (``mx.nd.image.to_tensor``,
``normalize``) and hybridize as in MXNet; ``Compose`` groups consecutive HybridBlocks into a
hybridized ``HybridSequential`` as MXNet does. The geometric and colour transforms run
imperatively, on the host (a GPU array is copied to the host and back); calling one on a
Symbol (hybridizing it) raises an error saying so.
"""
from __future__ import annotations

import numbers

import numpy as np

from .... import image
from ....base import MXNetError, numeric_types
from ....image import _color, _random
from ....image._resize import resize as _cv_resize
from ....image.image import _host, _wrap
from ....ndarray.ndarray import NDArray
from ...block import Block, HybridBlock
from ...nn import HybridSequential, Sequential

__all__ = ["Compose", "Cast", "ToTensor", "Normalize", "CropResize", "CenterCrop", "Resize",
           "RandomResizedCrop", "RandomFlipLeftRight", "RandomFlipTopBottom",
           "RandomBrightness", "RandomContrast", "RandomSaturation", "RandomHue",
           "RandomColorJitter", "RandomLighting", "RandomApply"]

_RESIZE_DTYPES = (np.uint8, np.float32, np.float64)


# --- helpers ---------------------------------------------------------------------------------
def _nd_input(block, x):
    if not isinstance(x, NDArray):
        raise MXNetError(f"{type(block).__name__}: expected an NDArray image, got "
                         f"{type(x).__name__}; gluonlite's image transforms run imperatively "
                         "and cannot be traced into a symbolic graph")
    return x


def _check_hwc(block, x):
    """MXNet's ImageShape check: one (H, W, C) image with 1 or 3 channels."""
    if x.ndim != 3:
        raise MXNetError(f"{type(block).__name__}: Input image must have shape (height, width, "
                         f"channels), but got {tuple(x.shape)}")
    if x.shape[2] not in (1, 3):
        raise MXNetError(f"{type(block).__name__}: The last dimension of input image must be "
                         "the channel dimension with either 1 or 3 elements, but got input "
                         f"with shape {tuple(x.shape)}")


def _check_factor(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{cls}: {name} must be a number, got {value!r}")
    if value < 0:
        raise ValueError(f"{cls}: {name} must be >= 0, got {value}")


def _check_interp(cls, interp, auto=False):
    """OpenCV's codes 0-4; with ``auto`` also mx.image's 9 (by size) and 10 (random)."""
    allowed = (0, 1, 2, 3, 4, 9, 10) if auto else (0, 1, 2, 3, 4)
    if isinstance(interp, bool) or not isinstance(interp, numbers.Integral) \
            or interp not in allowed:
        extra = ", 9 (chosen by size), 10 (random)" if auto else ""
        raise ValueError(f"{cls}: interpolation must be one of 0 (nearest), 1 (bilinear), "
                         f"2 (bicubic), 3 (area), 4 (Lanczos){extra}, got {interp!r}")
    return int(interp)


def _as_size_pair(cls, size):
    if isinstance(size, numeric_types) and not isinstance(size, bool):
        size = (size, size)
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
                       for v in size)):
        raise ValueError(f"{cls}: size must be a positive int or a (width, height) pair of "
                         f"positive ints, got {size!r}")
    return int(size[0]), int(size[1])


def _resize_images(x: NDArray, w: int, h: int, interp: int, cls: str) -> NDArray:
    if x.dtype not in _RESIZE_DTYPES:
        raise TypeError(f"{cls}: images of dtype {np.dtype(x.dtype).name} cannot be resized; "
                        "expected uint8, float32 or float64")
    data = _host(x)
    if data.ndim == 3:
        return _wrap(_cv_resize(data, w, h, interp), x.context)
    out = np.empty((data.shape[0], h, w, data.shape[3]), data.dtype)
    for i in range(data.shape[0]):
        out[i] = _cv_resize(data[i], w, h, interp)
    return _wrap(out, x.context)


# --- composition -----------------------------------------------------------------------------
class Compose(Sequential):
    """Chain ``transforms`` (a list of blocks), applied in order.

    As in MXNet, runs of consecutive HybridBlocks are grouped into one ``HybridSequential``
    child (the list passed in is not modified), hybridized when all of them are graph
    operators (``ToTensor``, ``Normalize``, ``Cast``, user HybridBlocks).
    """

    def __init__(self, transforms):
        super().__init__()
        if not isinstance(transforms, (list, tuple)):
            raise TypeError(f"Compose: transforms must be a list of blocks, got "
                            f"{type(transforms).__name__}")
        hybrid = []
        for t in list(transforms) + [None]:
            if t is not None and not isinstance(t, Block):
                raise TypeError(f"Compose: every transform must be a Block, got "
                                f"{type(t).__name__}")
            if isinstance(t, HybridBlock):
                hybrid.append(t)
                continue
            if len(hybrid) == 1:
                self.add(hybrid[0])
            elif len(hybrid) > 1:
                group = HybridSequential()
                for j in hybrid:
                    group.add(j)
                # MXNet hybridizes the group; here only when every member is a graph
                # operator (the resizing and colour transforms run on the host)
                if not any(getattr(j, "_imperative_only", False) for j in hybrid):
                    group.hybridize()
                self.add(group)
            hybrid = []
            if t is not None:
                self.add(t)


class RandomApply(Sequential):
    """Apply ``transforms`` (a block) with probability ``p``, else pass the input through."""

    def __init__(self, transforms, p=0.5):
        super().__init__()
        if not isinstance(transforms, Block):
            raise TypeError(f"RandomApply: transforms must be a Block (e.g. a Compose), got "
                            f"{type(transforms).__name__}")
        _check_factor("RandomApply", "p", p)
        if p > 1:
            raise ValueError(f"RandomApply: p must be in [0, 1], got {p}")
        self.transforms = transforms
        self.p = p

    def forward(self, x):
        if self.p < _random.random():
            return x
        return self.transforms(x)


# --- type and layout -------------------------------------------------------------------------
class Cast(HybridBlock):
    """Cast the input to ``dtype`` (default float32)."""

    def __init__(self, dtype="float32"):
        super().__init__()
        self._dtype = dtype

    def hybrid_forward(self, F, x):
        return F.cast(x, dtype=self._dtype)


class ToTensor(HybridBlock):
    """``(H, W, C)`` image(s) in [0, 255] (any dtype) to a float32 ``(C, H, W)`` tensor in
    [0, 1]; a batch ``(N, H, W, C)`` becomes ``(N, C, H, W)``. Values are ``x / 255``."""

    def __init__(self):
        super().__init__()

    def hybrid_forward(self, F, x):
        return F.image.to_tensor(x)


class Normalize(HybridBlock):
    """``out[c] = (x[c] - mean[c]) / std[c]`` for a ``(C, H, W)`` tensor or an
    ``(N, C, H, W)`` batch with 1 or 3 channels; ``mean``/``std`` are one value for all
    channels or one per channel. Recorded by autograd (the gradient is ``1 / std``)."""

    def __init__(self, mean=0.0, std=1.0):
        super().__init__()
        self._mean = self._params_tuple("mean", mean)
        self._std = self._params_tuple("std", std)
        if any(s == 0 for s in self._std):
            raise ValueError(f"Normalize: std must be non-zero, got {std!r}")

    @staticmethod
    def _params_tuple(name, value):
        vals = (value,) if isinstance(value, numeric_types) else value
        if (not isinstance(vals, (tuple, list)) or not vals
                or not all(isinstance(v, numeric_types) and not isinstance(v, bool)
                           for v in vals)):
            raise TypeError(f"Normalize: {name} must be a number or a sequence of numbers, "
                            f"got {value!r}")
        return tuple(float(v) for v in vals)

    def hybrid_forward(self, F, x):
        return F.image.normalize(x, mean=self._mean, std=self._std)


# --- geometry --------------------------------------------------------------------------------
class Resize(HybridBlock):
    """Resize image(s) ``(H, W, C)`` or ``(N, H, W, C)`` (uint8/float32/float64).

    ``size`` is ``(width, height)``, or an int: both edges (``keep_ratio=False``) or the
    shorter edge, the other scaled and rounded down (``keep_ratio=True``).
    ``interpolation`` is OpenCV's code (1 bilinear by default); results equal MXNet's.
    """

    _imperative_only = True  # host code, not a graph operator

    def __init__(self, size, keep_ratio=False, interpolation=1):
        super().__init__()
        if isinstance(size, numeric_types) and not isinstance(size, bool):
            if not isinstance(size, numbers.Integral) or size <= 0:
                raise ValueError(f"Resize: Input size should be greater than 0, but got {size}")
        else:
            _as_size_pair("Resize", size)
        self._keep = bool(keep_ratio)
        self._size = size
        self._interpolation = _check_interp("Resize", interpolation)

    def _out_size(self, h, w):
        if isinstance(self._size, numeric_types):
            s = int(self._size)
            if not self._keep:
                return s, s
            if h > w:
                return s, h * s // w
            return w * s // h, s
        return int(self._size[0]), int(self._size[1])

    def hybrid_forward(self, F, x):
        _nd_input(self, x)
        if x.ndim not in (3, 4):
            raise MXNetError(f"Resize: Input image dimension should be 3 or 4 but got {x.ndim}")
        h, w = x.shape[-3], x.shape[-2]
        nw, nh = self._out_size(h, w)
        return _resize_images(x, nw, nh, self._interpolation, "Resize")


class CropResize(HybridBlock):
    """Crop the ``width`` x ``height`` window at ``(x, y)`` of image(s) ``(H, W, C)`` or
    ``(N, H, W, C)``, then optionally resize it to ``size`` (an int or (width, height))
    with ``interpolation`` (bilinear when None)."""

    _imperative_only = True  # host code, not a graph operator

    def __init__(self, x, y, width, height, size=None, interpolation=None):
        super().__init__()
        for name, v in (("x", x), ("y", y), ("width", width), ("height", height)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise TypeError(f"CropResize: {name} must be an int, got {v!r}")
        if x < 0 or y < 0:
            raise ValueError(f"CropResize: x and y must be >= 0, got ({x}, {y})")
        if width <= 0 or height <= 0:
            raise ValueError(f"CropResize: Input height and width must be greater than 0, got "
                             f"width={width}, height={height}")
        self._x, self._y, self._width, self._height = int(x), int(y), int(width), int(height)
        self._size = None if size is None else _as_size_pair("CropResize", size)
        self._interpolation = 1 if interpolation is None else \
            _check_interp("CropResize", interpolation)

    def hybrid_forward(self, F, x):
        _nd_input(self, x)
        if x.ndim not in (3, 4):
            raise MXNetError("CropResize: Image Crop expects inputs of 3D (h, w, c) or 4D "
                             f"(n, h, w, c). But got {x.ndim}")
        h, w = x.shape[-3], x.shape[-2]
        if self._x + self._width > w:
            raise MXNetError(f"CropResize: x + width should not be greater than input width "
                             f"({self._x} + {self._width} > {w})")
        if self._y + self._height > h:
            raise MXNetError(f"CropResize: y + height should not be greater than input height "
                             f"({self._y} + {self._height} > {h})")
        d = x._data[..., self._y:self._y + self._height, self._x:self._x + self._width, :]
        out = NDArray(d.copy(), x.context)
        if self._size is not None:
            out = _resize_images(out, self._size[0], self._size[1], self._interpolation,
                                 "CropResize")
        return out


class CenterCrop(Block):
    """Crop the central ``size`` (int or (width, height)) window of an ``(H, W, C)`` image;
    a smaller image is cropped at its aspect ratio and enlarged (see
    ``mx.image.center_crop``)."""

    def __init__(self, size, interpolation=1):
        super().__init__()
        self._args = (_as_size_pair("CenterCrop", size),
                      _check_interp("CenterCrop", interpolation, auto=True))

    def forward(self, x):
        return image.center_crop(x, *self._args)[0]


class RandomResizedCrop(Block):
    """Crop a window with random area (fraction ``scale`` of the image) and aspect ratio
    (``ratio``), resized to ``size`` (int or (width, height)); ``(H, W, C)`` images."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=1):
        super().__init__()
        self._args = (_as_size_pair("RandomResizedCrop", size), scale, ratio,
                      _check_interp("RandomResizedCrop", interpolation, auto=True))

    def forward(self, x):
        return image.random_size_crop(x, *self._args)[0]


class _RandomFlip(HybridBlock):
    _imperative_only = True  # host code, not a graph operator
    _axis = 1

    def __init__(self):
        super().__init__()

    def hybrid_forward(self, F, x):
        _nd_input(self, x)
        _check_hwc(self, x)
        if _random.bernoulli(0.5):
            return x.copy()
        return NDArray(x.context.xp.flip(x._data, axis=self._axis).copy(), x.context)


class RandomFlipLeftRight(_RandomFlip):
    """Flip an ``(H, W, C)`` image left to right with probability 0.5."""

    _axis = 1


class RandomFlipTopBottom(_RandomFlip):
    """Flip an ``(H, W, C)`` image top to bottom with probability 0.5."""

    _axis = 0


# --- colour ----------------------------------------------------------------------------------
class _ColorTransform(HybridBlock):
    _imperative_only = True  # host code, not a graph operator

    def hybrid_forward(self, F, x):
        _nd_input(self, x)
        _check_hwc(self, x)
        return _wrap(self._apply(_host(x)), x.context)

    def _apply(self, img):
        raise NotImplementedError


class _RandomEnhance(_ColorTransform):
    _kernel = None

    def __init__(self, name, amount):
        super().__init__()
        _check_factor(type(self).__name__, name, amount)
        self._args = (max(0, 1 - amount), 1 + amount)

    def _apply(self, img):
        alpha = np.float32(_random.uniform(*self._args))
        return type(self)._kernel(img, alpha)


class RandomBrightness(_RandomEnhance):
    """Multiply by a factor drawn from ``[max(0, 1 - brightness), 1 + brightness]``;
    ``(H, W, C)`` images, C 1 or 3."""

    _kernel = staticmethod(_color.brightness)

    def __init__(self, brightness):
        super().__init__("brightness", brightness)


class RandomContrast(_RandomEnhance):
    """Blend with the mean grey level, factor from ``[max(0, 1 - contrast), 1 + contrast]``;
    ``(H, W, C)`` images, C 1 or 3."""

    _kernel = staticmethod(_color.contrast)

    def __init__(self, contrast):
        super().__init__("contrast", contrast)


class RandomSaturation(_RandomEnhance):
    """Blend with the grey level, factor from
    ``[max(0, 1 - saturation), 1 + saturation]`` (MXNet 1.9.1's formula, see
    :func:`gluonlite.image._color.saturation`); ``(H, W, C)`` images, C 1 or 3."""

    _kernel = staticmethod(_color.saturation)

    def __init__(self, saturation):
        super().__init__("saturation", saturation)


class RandomHue(_RandomEnhance):
    """Rotate the hue by ``alpha * 360`` degrees, ``alpha`` from
    ``[max(0, 1 - hue), 1 + hue]`` (as MXNet; a rotation by ``(alpha - 1) * 360``);
    ``(H, W, C)`` images, C 1 or 3."""

    _kernel = staticmethod(_color.hue)

    def __init__(self, hue):
        super().__init__("hue", hue)


class RandomColorJitter(_ColorTransform):
    """Brightness, contrast, saturation (factors ``1 + u``, ``u`` uniform in
    ``[-amount, amount]``) and hue (rotation ``u * 360`` degrees) changes, those with a
    positive amount, applied in a random order; ``(H, W, C)`` images."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        super().__init__()
        for name, v in (("brightness", brightness), ("contrast", contrast),
                        ("saturation", saturation), ("hue", hue)):
            _check_factor("RandomColorJitter", name, v)
        self._args = (brightness, contrast, saturation, hue)

    def _apply(self, img):
        kernels = (_color.brightness, _color.contrast, _color.saturation, _color.hue)
        out = img
        order = list(range(4))
        _random.shuffle(order)
        for i in order:
            amount = self._args[i]
            if amount > 0:
                u = _random.uniform(-amount, amount)
                alpha = np.float32(u if i == 3 else 1.0 + u)
                out = kernels[i](out, alpha)
        return out.copy() if out is img else out


class RandomLighting(_ColorTransform):
    """Add AlexNet's PCA lighting noise with per-component strengths drawn from
    ``N(0, alpha^2)``; ``(H, W, C)`` images (1-channel images pass unchanged)."""

    def __init__(self, alpha):
        super().__init__()
        _check_factor("RandomLighting", "alpha", alpha)
        self._alpha = alpha

    def _apply(self, img):
        a = _random.normal(self._alpha, (3,)).astype(np.float32)
        return _color.lighting(img, a)
