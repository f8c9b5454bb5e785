"""gluonlite — MXNet's Gluon API, alive, in pure Python on NumPy (CPU) and CuPy (GPU).

``import gluonlite as mx`` and MXNet 1.x code (``mx.nd``, ``mx.autograd``, ``mx.cpu()``,
``mx.random.seed``, ...) runs unchanged.
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import base  # noqa: F401
from .base import MXNetError  # noqa: F401
from .context import Context, cpu, gpu, cpu_pinned, current_context, num_gpus  # noqa: F401
from . import util  # noqa: F401
from .util import is_np_shape, set_np_shape, np_shape, use_np_shape  # noqa: F401
from .util import is_np_array, np_array, use_np_array, use_np  # noqa: F401
from . import ndarray  # noqa: F401
from . import ndarray as nd  # noqa: F401
from . import autograd  # noqa: F401
from . import symbol  # noqa: F401
from . import symbol as sym  # noqa: F401
from . import visualization  # noqa: F401
from . import visualization as viz  # noqa: F401
from . import random  # noqa: F401
from . import kernels  # noqa: F401
from . import name  # noqa: F401
from . import initializer  # noqa: F401
from . import initializer as init  # noqa: F401
from . import test_utils  # noqa: F401
from . import metric  # noqa: F401
from . import optimizer  # noqa: F401
from . import lr_scheduler  # noqa: F401
from . import recordio  # noqa: F401
from . import image  # noqa: F401
from . import image as img  # noqa: F401
from . import kvstore  # noqa: F401
from . import kvstore as kv  # noqa: F401
from . import model  # noqa: F401
from . import callback  # noqa: F401
from . import module  # noqa: F401
from . import module as mod  # noqa: F401
from . import io  # noqa: F401
from . import gluon  # noqa: F401
from . import profiler  # noqa: F401
from . import operator  # noqa: F401

from . import memory as _memory  # noqa: E402

_memory.tune_malloc()  # pooled allocation of large buffers, as MXNet's storage manager
