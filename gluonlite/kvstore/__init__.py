"""Key-value stores for data-parallel training (MXNet's ``mx.kv`` / ``mx.kvstore``).

``mx.kv.create('device')`` returns a :class:`KVStore` that sums values pushed from several
devices, stores them (or runs an optimizer on them) and broadcasts them back on ``pull``.
``mx.kv.create('dist_sync')`` (also 'dist_device_sync', 'horovod') returns a
:class:`DistKVStore` that sums over all MPI processes (mpi4py, imported only then).
"""
from .base import KVStoreBase, TestStore, create  # noqa: F401
from .kvstore import KVStore  # noqa: F401
from .dist import DistKVStore  # noqa: F401

__all__ = ["KVStoreBase", "KVStore", "DistKVStore", "TestStore", "create"]
