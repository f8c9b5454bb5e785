"""Vision data (MXNet's ``gluon.data.vision``): the MNIST, Fashion-MNIST and CIFAR datasets,
image-folder and RecordIO image datasets, and ``transforms``."""
from .datasets import *  # noqa: F401,F403
from . import transforms  # noqa: F401
