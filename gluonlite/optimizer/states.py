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

These files are pickles, and unpickling an arbitrary pickle can run any code. So
:func:`loads` is safe by default: it builds only what such files contain -- MXNet's
NDArray (rebuilt from its bytes), the optimizer classes (gluonlite's, MXNet's names for
them, and ones registered with ``mx.optimizer.register``), the learning-rate schedulers
(gluonlite's and subclasses defined in the running program),
``bytearray`` (from bytes only) and NumPy scalars/dtypes -- and refuses every other
global (``os.system``, ``builtins.eval``, ``getattr``, other gluonlite classes, ...) with
:class:`~gluonlite.base.FileFormatError` before anything is called. ``allow_pickle=True``
(for files you trust, like PyTorch's ``weights_only=False``) lifts the allow-list. Any
other failure to decode a file is a ``FileFormatError`` naming the file too.
"""
from __future__ import annotations

import io
import pickle
import pickletools
import struct

import numpy as np

from ..base import DTYPE_TO_FLAG, FileFormatError
from ..ndarray import NDArray
from ..ndarray.serialization import load_frombuffer

try:
    from numpy._core.multiarray import scalar as _np_scalar
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import scalar as _np_scalar

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
        if not isinstance(handle, (bytes, bytearray)):
            # bytes(n) of an int would allocate n bytes
            raise pickle.UnpicklingError(f"an MXNet NDArray's data is a "
                                         f"{type(handle).__name__}, not bytes")
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


class _Refused(pickle.UnpicklingError):
    """A global the allow-list does not contain (raised before it is looked up)."""


def _safe_bytearray(*args):
    """``bytearray`` as state files use it (from bytes, or from text with its encoding, as
    protocol-2 pickles write it); ``bytearray(n)`` would allocate ``n`` bytes, so a crafted
    file could ask for terabytes."""
    if len(args) == 1 and isinstance(args[0], (bytes, bytearray)):
        return bytearray(args[0])
    if len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], str):
        return bytearray(args[0], args[1])
    raise pickle.UnpicklingError("bytearray is built from bytes in a state file, not from "
                                 f"({', '.join(type(a).__name__ for a in args)})")


_NUMPY_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray")


def _registered_optimizer(name, module=None):
    """The optimizer class registered (gluonlite's, or with ``mx.optimizer.register``)
    whose class name is ``name`` -- and, given, whose module is ``module`` -- or None."""
    from . import optimizer as _opt
    for klass in _opt.Optimizer.opt_registry.values():
        if module is None and klass.__name__ == name or \
                klass.__module__ == module and klass.__qualname__ == name:
            return klass
    return None


def _scheduler(name, module=None):
    """gluonlite's learning-rate scheduler class ``name`` (MXNet's five, or a subclass
    already defined in this process under ``module``), or None."""
    from .. import lr_scheduler
    if module is None:
        klass = getattr(lr_scheduler, name, None) if name in _MX_SCHEDULER_NAMES else None
        return klass if isinstance(klass, type) else None
    todo = [lr_scheduler.LRScheduler]
    while todo:
        klass = todo.pop()
        if klass.__module__ == module and klass.__qualname__ == name:
            return klass
        todo.extend(klass.__subclasses__())
    return None


def _allowed(module, name):
    """The object the allow-list maps ``module.name`` to, or None when it is not on it."""
    if (module, name) == _MX_NDARRAY or (module, name) == ("mxnet.ndarray", "NDArray"):
        return _MXNDArray
    if module in _MX_OPTIMIZER_MODULES:
        return _registered_optimizer(name)
    if module == _MX_SCHEDULER_MODULE:
        return _scheduler(name)
    if module in ("builtins", "__builtin__") and name == "bytearray":
        return _safe_bytearray
    if module in _NUMPY_MODULES and name in ("scalar", "dtype"):
        # a NumPy scalar hyper-parameter (e.g. learning_rate=np.float32(0.1)): rebuilt
        # from its dtype and itemsize bytes, nothing else
        return np.dtype if name == "dtype" else _np_scalar
    # by their own names: optimizers MXNet lacks (AdamW), optimizers registered with
    # mx.optimizer.register and scheduler subclasses -- classes already defined in this
    # process (nothing is imported), so the user's own code
    return _registered_optimizer(name, module) or _scheduler(name, module)


class _Unpickler(pickle.Unpickler):
    """Maps MXNet's array, optimizer and scheduler classes to gluonlite's; refuses every
    global not on the allow-list unless ``allow_pickle``."""

    def __init__(self, file, allow_pickle=False):
        super().__init__(file)
        self._allow_pickle = allow_pickle

    def find_class(self, module, name):
        if not (isinstance(module, str) and isinstance(name, str)):
            raise _Refused(f"a global with a non-text name ({module!r}, {name!r})")
        klass = _allowed(module, name)
        if klass is not None:
            return klass
        if module == "mxnet" or module.startswith("mxnet."):
            raise _Refused(f"it holds MXNet's {module}.{name}, which gluonlite does not "
                           "implement")
        if self._allow_pickle:
            return super().find_class(module, name)
        raise _Refused(f"it refers to {module}.{name}, which is not one of the classes an "
                       "optimizer-states file contains, so it was not loaded (pass "
                       "allow_pickle=True only for a file you trust: it lets the file run "
                       "any code)")


def _check_memo(data):
    """Refuse memo indices larger than the data: CPython's unpickler grows its memo table
    to the largest index given, so one ``LONG_BINPUT 1200000000`` (5 bytes) made it
    allocate ~10 GB. A pickler numbers its memo entries from 0, one per entry."""
    limit = len(data)
    for op, arg, pos in pickletools.genops(data):
        if op.name in ("PUT", "BINPUT", "LONG_BINPUT") and not 0 <= int(arg) <= limit:
            raise pickle.UnpicklingError(f"memo index {arg} at byte {pos} is larger than "
                                         "the file")


def dumps(obj) -> bytes:
    """Pickle ``obj`` (updater states, optionally with the optimizer) in MXNet's format."""
    buf = io.BytesIO()
    _Pickler(buf, protocol=4).dump(obj)
    return buf.getvalue()


def loads(data, source="states", allow_pickle=False):
    """Unpickle states written by :func:`dumps` or by MXNet 1.x's ``get_states``.

    Safe by default: only the classes such files contain are built (see the module
    docstring); anything else raises :class:`~gluonlite.base.FileFormatError`, as does
    any other malformed content. ``source`` names the data in messages (e.g. "file
    'x.states'"). ``allow_pickle=True`` unpickles arbitrary globals: only for trusted files,
    since a crafted pickle then runs code.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"states: expected bytes (a pickled updater state), got "
                        f"{type(data).__name__}")
    if not isinstance(allow_pickle, bool):
        raise TypeError(f"allow_pickle: expected a bool, got {type(allow_pickle).__name__}")
    data = bytes(data)
    try:
        _check_memo(data)
        return _Unpickler(io.BytesIO(data), allow_pickle).load()
    except RecursionError:
        raise FileFormatError(f"{source} is not a valid optimizer-states file: it is nested "
                              "too deeply") from None
    except MemoryError:
        raise FileFormatError(f"{source} is not a valid optimizer-states file: decoding it "
                              "ran out of memory") from None
    except Exception as e:  # noqa: BLE001 -- whatever the bytes make the unpickler raise
        # (UnpicklingError, EOFError, AttributeError, OverflowError, MXNetError from an
        # array's bytes, TypeError from a class given the wrong arguments, ...)
        msg = str(e)
        msg = msg if len(msg) <= 300 else msg[:300] + "..."
        if not isinstance(e, _Refused):
            msg = f"{type(e).__name__}: {msg}"
        raise FileFormatError(f"{source} is not a valid optimizer-states file: {msg}") from e
