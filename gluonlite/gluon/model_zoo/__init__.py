"""Predefined and pretrained models (MXNet 1.9.1's ``gluon.model_zoo``).

``model_zoo.vision`` holds the image-classification networks with MXNet's architectures and
parameter names; ``model_zoo.model_store`` finds their pretrained ``.params`` files in
MXNet's cache layout (``$MXNET_HOME/models/<name>-<short sha1>.params``). Nothing is
downloaded: a missing file is reported with where to put it.
"""
from . import model_store  # noqa: F401
from . import vision  # noqa: F401
