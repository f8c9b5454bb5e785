"""Gluon: the imperative/hybrid neural-network API (MXNet's ``mxnet.gluon``)."""
from .parameter import (Parameter, Constant, ParameterDict,  # noqa: F401
                        DeferredInitializationError)
from .block import Block, HybridBlock  # noqa: F401
from .symbol_block import SymbolBlock  # noqa: F401
from . import nn  # noqa: F401
from . import rnn  # noqa: F401
from . import loss  # noqa: F401
from . import data  # noqa: F401
from . import utils  # noqa: F401
from . import contrib  # noqa: F401
from . import model_zoo  # noqa: F401
from .trainer import Trainer  # noqa: F401
