"""OpenCV-exact image resizing: the code lives in :mod:`gluonlite.ops.image_resize`, where
the ``_image_resize`` operator (``nd.image.resize``) uses it too; this module keeps the
``gluonlite.image._resize`` name for ``mx.image`` and the transforms.
"""
from ..ops.image_resize import *  # noqa: F401,F403
from ..ops.image_resize import __all__  # noqa: F401
