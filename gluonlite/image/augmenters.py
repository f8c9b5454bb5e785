"""Image augmenters (MXNet 1.9.1's ``mx.image.*Aug`` classes and ``CreateAugmenter``).

An augmenter is a callable taking an ``(H, W, C)`` NDArray image and returning the
augmented image; ``dumps()`` describes it as JSON, as in MXNet. The colour augmenters do
their arithmetic with NDArray operators exactly as MXNet's do (so they expect a float image:
put ``CastAug`` first, as ``CreateAugmenter`` does). Random choices come from gluonlite's
generator (reproducible under ``mx.random.seed``) instead of Python's ``random`` module.
"""
from __future__ import annotations

import json
import numbers
import warnings

import numpy as np

from .. import ndarray as nd
from ..ndarray import NDArray
from . import _random
from .image import (_get_interp_method, center_crop, color_normalize, imresize,
                    random_crop, random_size_crop, resize_short)

__all__ = ["Augmenter", "SequentialAug", "ResizeAug", "ForceResizeAug", "RandomCropAug",
           "RandomSizedCropAug", "CenterCropAug", "RandomOrderAug", "BrightnessJitterAug",
           "ContrastJitterAug", "SaturationJitterAug", "HueJitterAug", "ColorJitterAug",
           "LightingAug", "ColorNormalizeAug", "RandomGrayAug", "HorizontalFlipAug",
           "CastAug", "CreateAugmenter"]


def _check_number(name, value, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be in {rng}, got {value}")


def _check_size(name, size):
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
                       for v in size)):
        raise ValueError(f"{name} must be a (width, height) pair of positive ints, got "
                         f"{size!r}")


class Augmenter:
    """Base class of image augmenters: ``aug(src) -> augmented src``. The keyword
    arguments are kept (arrays as lists) for :meth:`dumps`."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        for k, v in self._kwargs.items():
            if isinstance(v, NDArray):
                v = v.asnumpy()
            if isinstance(v, np.ndarray):
                self._kwargs[k] = v.tolist()

    def dumps(self):
        """A JSON string ``[name, kwargs]`` describing this augmenter."""
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])

    def __call__(self, src):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(src)")


class SequentialAug(Augmenter):
    """Apply the augmenters ``ts`` one after the other."""

    def __init__(self, ts):
        super().__init__()
        self.ts = ts

    def dumps(self):
        """``[name, [each augmenter's dumps()]]``."""
        return [self.__class__.__name__.lower(), [x.dumps() for x in self.ts]]

    def __call__(self, src):
        for aug in self.ts:
            src = aug(src)
        return src


class ResizeAug(Augmenter):
    """Resize the shorter edge to ``size`` (see :func:`resize_short`)."""

    def __init__(self, size, interp=2):
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"ResizeAug: size must be a positive int, got {size!r}")
        super().__init__(size=size, interp=interp)
        self.size = size
        self.interp = interp

    def __call__(self, src):
        return resize_short(src, self.size, self.interp)


class ForceResizeAug(Augmenter):
    """Resize to ``size`` (width, height) regardless of the aspect ratio."""

    def __init__(self, size, interp=2):
        _check_size("ForceResizeAug: size", size)
        super().__init__(size=size, interp=interp)
        self.size = size
        self.interp = interp

    def __call__(self, src):
        sizes = (src.shape[0], src.shape[1], self.size[1], self.size[0])
        return imresize(src, *self.size, interp=_get_interp_method(self.interp, sizes))


class RandomCropAug(Augmenter):
    """Crop a random ``size`` (width, height) window (see :func:`random_crop`)."""

    def __init__(self, size, interp=2):
        _check_size("RandomCropAug: size", size)
        super().__init__(size=size, interp=interp)
        self.size = size
        self.interp = interp

    def __call__(self, src):
        return random_crop(src, self.size, self.interp)[0]


class RandomSizedCropAug(Augmenter):
    """Crop a window of random area fraction ``area`` and aspect ratio ``ratio``, resized
    to ``size`` (width, height) (see :func:`random_size_crop`)."""

    def __init__(self, size, area, ratio, interp=2, **kwargs):
        _check_size("RandomSizedCropAug: size", size)
        super().__init__(size=size, area=area, ratio=ratio, interp=interp)
        self.size = size
        if "min_area" in kwargs:
            warnings.warn("`min_area` is deprecated. Please use `area` instead.",
                          DeprecationWarning, stacklevel=2)
            self.area = kwargs.pop("min_area")
        else:
            self.area = area
        self.ratio = ratio
        self.interp = interp
        if kwargs:
            raise TypeError(f"RandomSizedCropAug: unexpected keyword arguments {sorted(kwargs)}")

    def __call__(self, src):
        return random_size_crop(src, self.size, self.area, self.ratio, self.interp)[0]


class CenterCropAug(Augmenter):
    """Crop the central ``size`` (width, height) window (see :func:`center_crop`)."""

    def __init__(self, size, interp=2):
        _check_size("CenterCropAug: size", size)
        super().__init__(size=size, interp=interp)
        self.size = size
        self.interp = interp

    def __call__(self, src):
        return center_crop(src, self.size, self.interp)[0]


class RandomOrderAug(Augmenter):
    """Apply the augmenters ``ts`` in a random order (the list is shuffled in place)."""

    def __init__(self, ts):
        super().__init__()
        self.ts = ts

    def dumps(self):
        """``[name, [each augmenter's dumps()]]``."""
        return [self.__class__.__name__.lower(), [x.dumps() for x in self.ts]]

    def __call__(self, src):
        _random.shuffle(self.ts)
        for t in self.ts:
            src = t(src)
        return src


class BrightnessJitterAug(Augmenter):
    """Multiply by ``1 + u``, ``u`` uniform in [-brightness, brightness] (in place)."""

    def __init__(self, brightness):
        _check_number("BrightnessJitterAug: brightness", brightness, 0)
        super().__init__(brightness=brightness)
        self.brightness = brightness

    def __call__(self, src):
        alpha = 1.0 + _random.uniform(-self.brightness, self.brightness)
        src *= alpha
        return src


_GRAY_COEF = [[[0.299, 0.587, 0.114]]]


class ContrastJitterAug(Augmenter):
    """Blend with the mean grey level: ``src * a + (1 - a) * mean_grey``,
    ``a = 1 + u``, ``u`` uniform in [-contrast, contrast] (in place)."""

    def __init__(self, contrast):
        _check_number("ContrastJitterAug: contrast", contrast, 0)
        super().__init__(contrast=contrast)
        self.contrast = contrast
        self.coef = nd.array(_GRAY_COEF)

    def __call__(self, src):
        alpha = 1.0 + _random.uniform(-self.contrast, self.contrast)
        gray = src * self.coef.as_in_context(src.context)
        gray = (3.0 * (1.0 - alpha) / gray.size) * nd.sum(gray)
        src *= alpha
        src += gray
        return src


class SaturationJitterAug(Augmenter):
    """Blend every pixel with its grey level: ``src * a + (1 - a) * grey``,
    ``a = 1 + u``, ``u`` uniform in [-saturation, saturation] (in place)."""

    def __init__(self, saturation):
        _check_number("SaturationJitterAug: saturation", saturation, 0)
        super().__init__(saturation=saturation)
        self.saturation = saturation
        self.coef = nd.array(_GRAY_COEF)

    def __call__(self, src):
        alpha = 1.0 + _random.uniform(-self.saturation, self.saturation)
        gray = src * self.coef.as_in_context(src.context)
        gray = nd.sum(gray, axis=2, keepdims=True)
        gray *= (1.0 - alpha)
        src *= alpha
        src += gray
        return src


class HueJitterAug(Augmenter):
    """Rotate the hue by ``u * 180`` degrees, ``u`` uniform in [-hue, hue], with the
    linear YIQ approximation MXNet uses (https://beesbuzz.biz/code/hsv_color_transforms.php)."""

    def __init__(self, hue):
        _check_number("HueJitterAug: hue", hue, 0)
        super().__init__(hue=hue)
        self.hue = hue
        self.tyiq = np.array([[0.299, 0.587, 0.114],
                              [0.596, -0.274, -0.321],
                              [0.211, -0.523, 0.311]])
        self.ityiq = np.array([[1.0, 0.956, 0.621],
                               [1.0, -0.272, -0.647],
                               [1.0, -1.107, 1.705]])

    def __call__(self, src):
        alpha = _random.uniform(-self.hue, self.hue)
        u = np.cos(alpha * np.pi)
        w = np.sin(alpha * np.pi)
        bt = np.array([[1.0, 0.0, 0.0],
                       [0.0, u, -w],
                       [0.0, w, u]])
        t = np.dot(np.dot(self.ityiq, bt), self.tyiq).T
        return nd.dot(src, nd.array(t, ctx=src.context))


class ColorJitterAug(RandomOrderAug):
    """Brightness, contrast and saturation jitter (those > 0), in a random order."""

    def __init__(self, brightness, contrast, saturation):
        ts = []
        if brightness > 0:
            ts.append(BrightnessJitterAug(brightness))
        if contrast > 0:
            ts.append(ContrastJitterAug(contrast))
        if saturation > 0:
            ts.append(SaturationJitterAug(saturation))
        super().__init__(ts)


class LightingAug(Augmenter):
    """Add AlexNet's PCA lighting noise: ``eigvec . (eigval * alpha)``, ``alpha`` drawn
    from N(0, alphastd^2) per component (in place)."""

    def __init__(self, alphastd, eigval, eigvec):
        _check_number("LightingAug: alphastd", alphastd, 0)
        if np.shape(eigval) != (3,) or np.shape(eigvec) != (3, 3):
            raise ValueError(f"LightingAug: eigval must have shape (3,) and eigvec (3, 3), got "
                             f"{np.shape(eigval)} and {np.shape(eigvec)}")
        super().__init__(alphastd=alphastd, eigval=eigval, eigvec=eigvec)
        self.alphastd = alphastd
        self.eigval = eigval
        self.eigvec = eigvec

    def __call__(self, src):
        alpha = _random.normal(self.alphastd, (3,))
        rgb = np.dot(self.eigvec * alpha, self.eigval)
        src += nd.array(rgb, ctx=src.context)
        return src


class ColorNormalizeAug(Augmenter):
    """``src = (src - mean) / std`` per channel (in place; either may be None)."""

    def __init__(self, mean, std):
        super().__init__(mean=mean, std=std)
        self.mean = mean if mean is None or isinstance(mean, NDArray) else nd.array(mean)
        self.std = std if std is None or isinstance(std, NDArray) else nd.array(std)

    def __call__(self, src):
        mean = None if self.mean is None else self.mean.as_in_context(src.context)
        std = None if self.std is None else self.std.as_in_context(src.context)
        return color_normalize(src, mean, std)


class RandomGrayAug(Augmenter):
    """With probability ``p``, replace every channel by the grey level
    ``0.21 R + 0.72 G + 0.07 B`` (the channel count stays)."""

    def __init__(self, p):
        _check_number("RandomGrayAug: p", p, 0, 1)
        super().__init__(p=p)
        self.p = p
        self.mat = nd.array([[0.21, 0.21, 0.21],
                             [0.72, 0.72, 0.72],
                             [0.07, 0.07, 0.07]])

    def __call__(self, src):
        if _random.random() < self.p:
            src = nd.dot(src, self.mat.as_in_context(src.context))
        return src


class HorizontalFlipAug(Augmenter):
    """Flip left-right with probability ``p``."""

    def __init__(self, p):
        _check_number("HorizontalFlipAug: p", p, 0, 1)
        super().__init__(p=p)
        self.p = p

    def __call__(self, src):
        if _random.random() < self.p:
            src = nd.flip(src, axis=1)
        return src


class CastAug(Augmenter):
    """Cast to ``typ`` (float32 by default)."""

    def __init__(self, typ="float32"):
        super().__init__(type=typ)
        self.typ = typ

    def __call__(self, src):
        return src.astype(self.typ)


def CreateAugmenter(data_shape, resize=0, rand_crop=False, rand_resize=False,
                    rand_mirror=False, mean=None, std=None, brightness=0, contrast=0,
                    saturation=0, hue=0, pca_noise=0, rand_gray=0, inter_method=2):
    """The standard augmenter list (MXNet's ``CreateAugmenter``).

    ``data_shape`` is the output (channels, height, width). In order: resize the shorter
    edge to ``resize`` (if > 0); random-sized crop (``rand_resize``, needs ``rand_crop``),
    random crop (``rand_crop``) or center crop to the output size; random mirror; cast to
    float32; colour jitter; hue jitter; PCA lighting noise; random grey; and normalisation
    by ``mean``/``std`` (``True`` for ImageNet's statistics, or arrays of 1 or 3 values).
    """
    if not isinstance(data_shape, (tuple, list)) or len(data_shape) != 3:
        raise ValueError(f"CreateAugmenter: data_shape must be (channels, height, width), got "
                         f"{data_shape!r}")
    auglist = []
    if resize > 0:
        auglist.append(ResizeAug(resize, inter_method))

    crop_size = (data_shape[2], data_shape[1])
    if rand_resize:
        if not rand_crop:
            raise AssertionError("CreateAugmenter: rand_resize=True needs rand_crop=True")
        auglist.append(RandomSizedCropAug(crop_size, 0.08, (3.0 / 4.0, 4.0 / 3.0), inter_method))
    elif rand_crop:
        auglist.append(RandomCropAug(crop_size, inter_method))
    else:
        auglist.append(CenterCropAug(crop_size, inter_method))

    if rand_mirror:
        auglist.append(HorizontalFlipAug(0.5))

    auglist.append(CastAug())

    if brightness or contrast or saturation:
        auglist.append(ColorJitterAug(brightness, contrast, saturation))

    if hue:
        auglist.append(HueJitterAug(hue))

    if pca_noise > 0:
        eigval = np.array([55.46, 4.794, 1.148])
        eigvec = np.array([[-0.5675, 0.7192, 0.4009],
                           [-0.5808, -0.0045, -0.8140],
                           [-0.5836, -0.6948, 0.4203]])
        auglist.append(LightingAug(pca_noise, eigval, eigvec))

    if rand_gray > 0:
        auglist.append(RandomGrayAug(rand_gray))

    if mean is True:
        mean = nd.array([123.68, 116.28, 103.53])
    elif mean is not None:
        if not isinstance(mean, (np.ndarray, NDArray)) or mean.shape[0] not in (1, 3):
            raise AssertionError(f"CreateAugmenter: mean must be True, None, or a numpy array "
                                 f"or NDArray of 1 or 3 values, got {mean!r}")

    if std is True:
        std = nd.array([58.395, 57.12, 57.375])
    elif std is not None:
        if not isinstance(std, (np.ndarray, NDArray)) or std.shape[0] not in (1, 3):
            raise AssertionError(f"CreateAugmenter: std must be True, None, or a numpy array "
                                 f"or NDArray of 1 or 3 values, got {std!r}")

    if mean is not None or std is not None:
        auglist.append(ColorNormalizeAug(mean, std))

    return auglist
