"""``mx.contrib.text``: token counting (``utils``) and indexing (``vocab``), as MXNet 1.9.1.

MXNet's ``text.embedding`` (pre-trained GloVe/fastText vectors) is not included: it
downloads its files, which gluonlite never does.
"""
from . import utils  # noqa: F401
from . import vocab  # noqa: F401
from .vocab import Vocabulary  # noqa: F401
