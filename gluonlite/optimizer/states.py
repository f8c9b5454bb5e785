"""Optimizer states pickled in MXNet 1.x's format, so trainer state files move both ways.

MXNet's ``Updater.get_states`` pickles ``states`` (a dict from parameter index to state:
None, an NDArray, or tuples of them), or ``(states, optimizer)``. Inside, an NDArray is
``mxnet.ndarray.ndarray.NDArray`` rebuilt from ``{'handle': bytearray}`` -- the array in
MXNet's binary NDArray format -- and an optimizer or learning-rate scheduler is its class
(``mxnet.optimizer.optimizer.SGD``, ``mxnet.lr_scheduler.FactorScheduler``) plus its
``__dict__``.

:func:`dumps` writes exactly that: gluonlite's arrays, optimizers and schedulers are
pickled under MXNet's names (their attributes already have MXNet's names), so MXNet 1.9.1
loads the file. :func:`loads` maps MXNet's names back to gluonlite's classes, so it reads
files from either. Classes MXNet 1.9.1 does not have (``AdamW``, user-defined optimizers)
keep their own names.

Like MXNet's, these files are pickles: load only files you trust.
"""
from __future__ import annotations

import io
import pickle
import struct

import numpy as np

from ..base import DTYPE_TO_FLAG
from ..ndarray import NDArray
from ..ndarray.serialization import load_frombuffer

__all__ = ["dumps", "loads"]

_V2_MAGIC = 0xF993FAC9
_V3_MAGIC = 0xF993FACA
_LIST_HEAD = struct.Struct("<QQQ")
_MX_NDARRAY = ("mxnet.ndarray.ndarray", "NDArray")
_MX_OPTIMIZER_MODULES = ("mxnet.optimizer.optimizer", "mxnet.optimizer",
                         "mxnet.optimizer.contrib")
_MX_SCHEDULER_MODULE = "mxnet.lr_scheduler"
# the classes MXNet 1.9.1's mxnet.optimizer.optimizer defines
_MX_OPTIMIZER_NAMES = frozenset({
    "Optimizer", "SGD", "Signum", "FTML", "LARS", "LBSGD", "LAMB", "DCASGD", "NAG", "SGLD",
    "ccSGD", "Adam", "AdaGrad", "RMSProp", "AdaDelta", "Ftrl", "Adamax", "Nadam", "Test"})
_MX_SCHEDULER_NAMES = frozenset({"LRScheduler", "FactorScheduler", "MultiFactorScheduler",
                                 "PolyScheduler", "CosineScheduler"})


def raw_bytes(arr: NDArray) -> bytes:
    """One array in MXNet's binary format (what ``MXNDArraySaveRawBytes`` writes)."""
    host = arr._data
    if type(host) is not np.ndarray:
        host = host.get()
    if host.dtype not in DTYPE_TO_FLAG:
        raise pickle.PicklingError(f"an optimizer state array has dtype {host.dtype}, which "
                                   "MXNet's format cannot store")
    ctx = arr.context
    parts = [struct.pack("<Iii", _V3_MAGIC if host.ndim == 0 else _V2_MAGIC, 0, host.ndim),
             struct.pack(f"<{host.ndim}q", *host.shape),
             struct.pack("<iii", ctx.device_typeid, ctx.device_id, DTYPE_TO_FLAG[host.dtype]),
             np.ascontiguousarray(host, dtype=host.dtype.newbyteorder("<")).tobytes()]
    return b"".join(parts)


def from_raw_bytes(buf) -> NDArray:
    """The NDArray in ``buf`` (MXNet's binary format of one array)."""
    wrapped = _LIST_HEAD.pack(0x112, 0, 1) + bytes(buf) + struct.pack("<Q", 0)
    return load_frombuffer(wrapped)[0]


class _MXNDArray(NDArray):
    """What ``mxnet.ndarray.ndarray.NDArray`` unpickles to: filled by ``__setstate__``
    from MXNet's raw bytes, then turned into a plain NDArray."""

    __slots__ = ()

    def __init__(self, handle=None):
        super().__init__(None)

    def __setstate__(self, state):
        handle = state.get("handle") if isinstance(state, dict) else None
        if handle is None:
            raise pickle.UnpicklingError("the file holds an empty MXNet NDArray (no data), "
                                         "which gluonlite cannot represent")
        arr = from_raw_bytes(handle)
        self._data, self._ctx, self._entry = arr._data, arr._ctx, None
        self.__class__ = NDArray


def _export_name(obj):
    """MXNet's (module, name) for gluonlite's optimizer/scheduler classes, else None."""
    if obj is _MXNDArray:
        return _MX_NDARRAY
    module = getattr(obj, "__module__", "") or ""
    name = getattr(obj, "__qualname__", None)
    if module.startswith("gluonlite.optimizer") and name in _MX_OPTIMIZER_NAMES:
        from .. import optimizer
        if getattr(optimizer, name, None) is obj:
            return ("mxnet.optimizer.optimizer", name)
    if module == "gluonlite.lr_scheduler" and name in _MX_SCHEDULER_NAMES:
        return (_MX_SCHEDULER_MODULE, name)
    return None


class _Pickler(pickle._Pickler):
    """The pure-Python pickler, writing gluonlite's classes under MXNet's names."""

    def reducer_override(self, obj):
        if isinstance(obj, NDArray):
            return (_MXNDArray, (None,), {"handle": bytearray(raw_bytes(obj))})
        return NotImplemented

    def save_global(self, obj, name=None):
        mapped = _export_name(obj)
        if mapped is None:
            return super().save_global(obj, name)
        module, qualname = mapped
        self.save(module)
        self.save(qualname)
        self.write(pickle.STACK_GLOBAL)
        self.memoize(obj)


class _Unpickler(pickle.Unpickler):
    """Maps MXNet's array, optimizer and scheduler classes to gluonlite's."""

    def find_class(self, module, name):
        if (module, name) == _MX_NDARRAY or (module, name) == ("mxnet.ndarray", "NDArray"):
            return _MXNDArray
        if module in _MX_OPTIMIZER_MODULES:
            from .. import optimizer
            klass = getattr(optimizer, name, None)
            if not isinstance(klass, type):
                raise pickle.UnpicklingError(
                    f"the file holds MXNet's {module}.{name}, which gluonlite does not "
                    "implement")
            return klass
        if module == _MX_SCHEDULER_MODULE:
            from .. import lr_scheduler
            klass = getattr(lr_scheduler, name, None)
            if not isinstance(klass, type):
                raise pickle.UnpicklingError(
                    f"the file holds MXNet's {module}.{name}, which gluonlite does not "
                    "implement")
            return klass
        if module == "mxnet" or module.startswith("mxnet."):
            raise pickle.UnpicklingError(f"the file holds MXNet's {module}.{name}, which has "
                                         "no gluonlite counterpart")
        return super().find_class(module, name)


def dumps(obj) -> bytes:
    """Pickle ``obj`` (updater states, optionally with the optimizer) in MXNet's format."""
    buf = io.BytesIO()
    _Pickler(buf, protocol=4).dump(obj)
    return buf.getvalue()


def loads(data):
    """Unpickle states written by :func:`dumps` or by MXNet 1.x's ``get_states``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"states: expected bytes (a pickled updater state), got "
                        f"{type(data).__name__}")
    try:
        return _Unpickler(io.BytesIO(bytes(data))).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as e:
        raise ValueError(f"states: not a valid pickled optimizer state: {e}") from e
