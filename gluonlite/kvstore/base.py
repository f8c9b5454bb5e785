"""``KVStoreBase`` (the interface every store implements), its registry and ``create``
(MXNet's ``mxnet/kvstore/base.py``)."""
from __future__ import annotations

import warnings

from ..ndarray import NDArray

__all__ = ["create", "KVStoreBase", "TestStore", "LOCAL_TYPES", "register_factory"]

#: The store types MXNet runs on one machine; gluonlite implements all of them in process.
LOCAL_TYPES = ("local", "device", "local_update_cpu", "local_allreduce_cpu",
               "local_allreduce_device")
# types MXNet builds from other components (NCCL, BytePS) that gluonlite does not provide
_MISSING = (("dist_async", "asynchronous parameter servers (each worker's update applied as "
                           "it arrives; use 'dist_sync', a synchronous allreduce over MPI)"),
            ("nccl", "NCCL for multi-GPU all-reduce"),
            ("byteps", "BytePS for distributed training"))
# type name -> factory(name) for types implemented outside this module (the distributed
# stores of .dist register theirs when the package is imported)
_FACTORIES = {}


def register_factory(names, factory):
    """Make ``mx.kv.create(name)`` call ``factory(name)`` for each of ``names``."""
    if not callable(factory):
        raise TypeError(f"factory: expected a callable, got {type(factory).__name__}")
    for name in names:
        _FACTORIES[name.lower()] = factory


class KVStoreBase:
    """An abstract key-value store for data-parallel training (MXNet's ``KVStoreBase``).

    Subclasses implement ``broadcast``, ``pushpull``, ``set_optimizer``, ``is_capable``,
    ``save_optimizer_states``/``load_optimizer_states`` and the ``type``, ``rank`` and
    ``num_workers`` properties; :meth:`register` makes one available to :func:`create`
    under its lower-cased class name.
    """

    #: capability name for :meth:`is_capable`: can the store run the optimizer itself?
    OPTIMIZER = "optimizer"

    kv_registry = {}

    def broadcast(self, key, value, out, priority=0):
        """Broadcast ``value`` (rank 0's) to every array of ``out``."""
        raise NotImplementedError()

    def pushpull(self, key, value, out=None, priority=0):
        """Push ``value`` (summed over its arrays) and pull the result into ``out`` (into
        ``value`` when ``out`` is None)."""
        raise NotImplementedError()

    def set_optimizer(self, optimizer):
        """Run ``optimizer`` on the store: a push updates the stored weight."""
        raise NotImplementedError()

    def is_capable(self, capability):
        """Whether the store supports ``capability`` (e.g. ``KVStoreBase.OPTIMIZER``)."""
        raise NotImplementedError()

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Save the optimizer states (and with ``dump_optimizer`` the optimizer) to
        ``fname``."""
        raise NotImplementedError()

    def load_optimizer_states(self, fname):
        """Load what :meth:`save_optimizer_states` wrote."""
        raise NotImplementedError()

    @property
    def type(self):
        """The store's type name."""
        raise NotImplementedError()

    @property
    def rank(self):
        """This worker's rank in ``[0, num_workers)``."""
        raise NotImplementedError()

    @property
    def num_workers(self):
        """The number of workers."""
        raise NotImplementedError()

    @staticmethod
    def register(klass):
        """Class decorator: make ``klass`` creatable as ``mx.kv.create(klass.__name__.lower())``
        (a later registration of the same name wins, with a warning, as in MXNet)."""
        if not isinstance(klass, type):
            raise TypeError(f"register: expected a class, got {type(klass).__name__}")
        name = klass.__name__.lower()
        if name in KVStoreBase.kv_registry:
            old = KVStoreBase.kv_registry[name]
            warnings.warn(f"WARNING: New kvstore {klass.__module__}.{klass.__name__} is "
                          f"overriding existing kvstore {old.__module__}.{old.__name__}")
        KVStoreBase.kv_registry[name] = klass
        return klass


@KVStoreBase.register
class TestStore(KVStoreBase):
    """MXNet's minimal registered store ('teststore'): ``pushpull`` sums in place and
    ``broadcast`` copies, nothing is stored and it cannot run an optimizer."""

    def broadcast(self, key, value, out, priority=0):
        """Copy ``value`` into every array of ``out``."""
        for o in out if isinstance(out, list) else [out]:
            value.copyto(o)

    def pushpull(self, key, value, out=None, priority=0):
        """Sum the arrays of ``value`` and write the sum to ``out`` (or back to ``value``)."""
        if isinstance(value, NDArray):
            if out is not None:
                for o in out if isinstance(out, list) else [out]:
                    value.copyto(o)
            return
        ctx = value[0].context
        total = value[0].as_in_context(ctx).copy()
        for v in value[1:]:
            total += v.as_in_context(ctx)
        for o in (value if out is None else out if isinstance(out, list) else [out]):
            total.copyto(o)

    @staticmethod
    def is_capable(capability):
        """False for 'optimizer'; other names are unknown (ValueError)."""
        if capability.lower() == KVStoreBase.OPTIMIZER:
            return False
        raise ValueError(f"Unknown capability: {capability}")

    @property
    def type(self):
        return "teststore"

    @property
    def rank(self):
        return 0

    @property
    def num_workers(self):
        return 1

    def set_optimizer(self, optimizer):
        raise NotImplementedError("TestStore cannot run an optimizer (is_capable('optimizer') "
                                  "is False)")

    def save_optimizer_states(self, fname, dump_optimizer=False):
        raise NotImplementedError("TestStore keeps no optimizer states")

    def load_optimizer_states(self, fname):
        raise NotImplementedError("TestStore keeps no optimizer states")


def check_type(name):
    """The lower-cased store type ``name`` if gluonlite can create it; otherwise
    NotImplementedError (a distributed/NCCL/Horovod type, naming what is missing) or
    ValueError (an unknown name)."""
    if not isinstance(name, str):
        raise TypeError("name must be a string")
    name = name.lower()
    if name in KVStoreBase.kv_registry or name in LOCAL_TYPES or name in _FACTORIES:
        return name
    for prefix, needs in _MISSING:
        if name.startswith(prefix):
            raise NotImplementedError(
                f"kvstore {name!r} needs {needs}, which gluonlite does not provide (it is "
                f"not supported); on one machine use one of {', '.join(map(repr, LOCAL_TYPES))}")
    raise ValueError(f"unknown kvstore type {name!r}; expected one of "
                     f"{', '.join(map(repr, LOCAL_TYPES + tuple(sorted(_FACTORIES))))} or a "
                     f"registered KVStoreBase subclass "
                     f"({', '.join(sorted(KVStoreBase.kv_registry))})")


def create(name="local"):
    """Create a KVStore (MXNet's ``mx.kv.create``).

    'local' sums the pushed values and keeps the stored value (and, with an optimizer, runs
    the update) on the CPU; 'device' does both on the device of the value given at ``init``.
    'local_update_cpu', 'local_allreduce_cpu' and 'local_allreduce_device' are MXNet's
    other single-machine names (the first two behave as 'local', the last as 'device').
    Names of :meth:`KVStoreBase.register`-ed classes create those. 'dist_sync',
    'dist_device_sync' and 'horovod' create a ``DistKVStore`` that sums over all MPI
    processes (needs mpi4py: ``pip install 'gluonlite[dist]'``); 'dist_async' and 'nccl'
    raise NotImplementedError; other names ValueError. Names are case-insensitive.
    """
    name = check_type(name)
    if name in KVStoreBase.kv_registry:
        return KVStoreBase.kv_registry[name]()
    if name in _FACTORIES:
        return _FACTORIES[name](name)
    from .kvstore import KVStore
    return KVStore(name)
