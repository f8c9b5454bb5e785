"""Colour adjustments with MXNet's arithmetic: the kernels live in
:mod:`gluonlite.ops.image_color`, where the ``_image_*`` operators (``nd.image.*``) use them
too; this module keeps the ``gluonlite.image._color`` name for the augmenters and transforms.
"""
from ..ops.image_color import *  # noqa: F401,F403
from ..ops.image_color import __all__  # noqa: F401
