"""Key-value stores for data-parallel training (MXNet's ``mx.kv`` / ``mx.kvstore``).

``mx.kv.create('device')`` returns a :class:`KVStore` that sums values pushed from several
devices, stores them (or runs an optimizer on them) and broadcasts them back on ``pull``.
Only MXNet's single-machine types exist; distributed types raise NotImplementedError.
"""
from .base import KVStoreBase, TestStore, create  # noqa: F401
from .kvstore import KVStore  # noqa: F401

__all__ = ["KVStoreBase", "KVStore", "TestStore", "create"]
