"""``mx.image``: image decoding, resizing, cropping and augmenters (MXNet 1.9.1's API).

Images are ``(height, width, channels)`` NDArrays. Decoding (``imread``/``imdecode``)
needs Pillow, the optional ``image`` extra (``pip install 'gluonlite[image]'``); everything
else is NumPy and works without it. See :mod:`gluonlite.image.image` for the functions and
:mod:`gluonlite.image.augmenters` for the ``*Aug`` classes.
"""
from .image import (imread, imdecode, imresize, scale_down, copyMakeBorder,  # noqa: F401
                    resize_short, fixed_crop, random_crop, center_crop, color_normalize,
                    random_size_crop)
from .augmenters import (Augmenter, SequentialAug, ResizeAug, ForceResizeAug,  # noqa: F401
                         RandomCropAug, RandomSizedCropAug, CenterCropAug, RandomOrderAug,
                         BrightnessJitterAug, ContrastJitterAug, SaturationJitterAug,
                         HueJitterAug, ColorJitterAug, LightingAug, ColorNormalizeAug,
                         RandomGrayAug, HorizontalFlipAug, CastAug, CreateAugmenter)
