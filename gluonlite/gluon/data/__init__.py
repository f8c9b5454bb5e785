"""Data loading for Gluon (MXNet's ``mxnet.gluon.data``): datasets, samplers and the
DataLoader; ``vision`` holds the image datasets and transforms."""
from .dataset import *  # noqa: F401,F403
from .sampler import *  # noqa: F401,F403
from .dataloader import *  # noqa: F401,F403
from . import vision  # noqa: F401,E402
