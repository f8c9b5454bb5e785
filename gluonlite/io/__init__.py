"""``mx.io``: data iterators for the symbolic ``Module`` API (MXNet 1.9.1's ``mxnet.io``).

``NDArrayIter`` over in-memory arrays; ``CSVIter``, ``MNISTIter`` and ``ImageRecordIter``
over files (MXNet's C++ iterators, here in Python with the same batches), ``LibSVMIter``
with csr batches; ``ResizeIter`` and
``PrefetchingIter`` wrap other iterators. All yield :class:`DataBatch` objects and describe
their inputs with :class:`DataDesc` lists (``provide_data`` / ``provide_label``).
"""
from .desc import DataBatch, DataDesc
from .base import DataIter
from .ndarray_iter import NDArrayIter
from .wrappers import PrefetchingIter, ResizeIter
from .native import MXDataIter
from .csv import CSVIter
from .mnist import MNISTIter
from .image_record import ImageRecordIter
from .libsvm import LibSVMIter
from . import utils  # noqa: F401

__all__ = ["DataBatch", "DataDesc", "DataIter", "NDArrayIter", "ResizeIter", "PrefetchingIter",
           "MXDataIter", "CSVIter", "MNISTIter", "ImageRecordIter", "LibSVMIter"]
