"""``mx.contrib``: MXNet's experimental namespace.

``contrib.text`` (vocabulary and token counting, as MXNet 1.9.1's ``mxnet.contrib.text``),
and ``contrib.ndarray``/``contrib.symbol`` (``nd``/``sym``): the contrib operators, the same
modules as ``mx.nd.contrib`` and ``mx.sym.contrib``.
"""
from ..ndarray import contrib as ndarray  # noqa: F401
from ..ndarray import contrib as nd  # noqa: F401
from ..symbol import contrib as symbol  # noqa: F401
from ..symbol import contrib as sym  # noqa: F401
from . import text  # noqa: F401
