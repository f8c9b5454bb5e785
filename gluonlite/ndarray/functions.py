"""MXNet 1.9.1's Python-level ``mx.nd`` functions that are not single operators:
``cast_storage``, ``reset_arrays``, ``histogram``, ``onehot_encode``, ``from_numpy`` and
the DLPack exchange ``to_dlpack_for_read``/``to_dlpack_for_write``/``from_dlpack``
(NumPy 2's DLPack support; CPU arrays only).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from ..base import MXNetError
from ..context import cpu
from ..ops import REGISTRY as _REGISTRY
from .ndarray import NDArray, array
from .register import make_function as _make_function
from .sparse import cast_storage  # noqa: F401  (MXNet exports it from mx.nd too)

__all__ = ["cast_storage", "reset_arrays", "histogram", "onehot_encode", "from_numpy",
           "to_dlpack_for_read", "to_dlpack_for_write", "from_dlpack"]

_histogram = _make_function(_REGISTRY["_histogram"])
_one_hot = _make_function(_REGISTRY["one_hot"])


def _check_nd(fn, what, x):
    if not isinstance(x, NDArray):
        raise TypeError(f"{fn}: {what} must be an NDArray, got {type(x).__name__}")


def reset_arrays(*data, num_arrays=None):
    """Set every array in ``data`` to zero, in place (MXNet's ``reset_arrays``, which the
    optimizers use to clear gradients). ``num_arrays``, when given, must be their count."""
    if num_arrays is not None and int(num_arrays) != len(data):
        raise MXNetError(f"reset_arrays: num_arrays={num_arrays} but {len(data)} arrays were "
                         f"given")
    for i, a in enumerate(data):
        _check_nd("reset_arrays", f"data[{i}]", a)
    for a in data:
        a[:] = 0
    return []


def histogram(a, bins=10, range=None):
    """Histogram of ``a`` (flattened), as MXNet's ``nd.histogram``: returns ``(counts,
    edges)``. ``bins`` is a bin count (equal bins over ``range``) or an NDArray of
    increasing edges. An int ``bins`` without ``range`` takes NumPy's result over the data
    (float32 arrays, with MXNet's warning), as MXNet does."""
    _check_nd("histogram", "a", a)
    if isinstance(bins, NDArray):
        return tuple(_histogram(a, bins))
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        if range is None:
            warnings.warn("range is not specified, using numpy's result to ensure "
                          "consistency with numpy")
            res, edges = np.histogram(a.asnumpy(), bins=int(bins))
            return array(res), array(edges)
        return tuple(_histogram(a, bin_cnt=int(bins), range=range))
    raise ValueError(f"histogram: bins must be an integer or an NDArray, got "
                     f"{type(bins).__name__}")


def onehot_encode(indices, out):
    """One-hot encode ``indices`` (1-D) into ``out`` (2-D, ``(len(indices), depth)``), in
    place; returns ``out``. Deprecated in MXNet: use ``one_hot``."""
    _check_nd("onehot_encode", "indices", indices)
    _check_nd("onehot_encode", "out", out)
    if indices.ndim != 1 or out.ndim != 2 or out.shape[0] != indices.shape[0]:
        raise MXNetError(f"onehot_encode: indices must be 1-D and out 2-D with as many rows, "
                         f"got {indices.shape} and {out.shape}")
    out[:] = _one_hot(indices, depth=out.shape[1], dtype=np.dtype(out.dtype).name)
    return out


def from_numpy(ndarray, zero_copy=True):
    """An NDArray (on the CPU) holding the NumPy array ``ndarray``, as MXNet's
    ``nd.from_numpy``. With ``zero_copy`` it shares ``ndarray``'s memory (which must be
    C-contiguous) and, as in MXNet, ``ndarray`` is made read-only: the NDArray owns the
    data now. Without it, the data are copied."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: ndarray must be a numpy.ndarray, got "
                        f"{type(ndarray).__name__}")
    if not zero_copy:
        return array(ndarray, ctx=cpu(), dtype=ndarray.dtype)
    if not ndarray.flags["C_CONTIGUOUS"]:
        raise ValueError("Only c-contiguous arrays are supported for zero-copy")
    if not ndarray.flags.writeable:
        raise ValueError("from_numpy: a read-only array cannot be shared for writing; pass "
                         "zero_copy=False to copy it")
    view = ndarray.view()  # stays writeable after the source is locked below
    ndarray.flags.writeable = False
    return NDArray(view, cpu())


class _Capsule:
    """A DLPack capsule as NumPy 2's ``from_dlpack`` takes it (an object with
    ``__dlpack__``/``__dlpack_device__``); CPU memory only, as gluonlite's exports."""

    def __init__(self, capsule):
        self._capsule = capsule

    def __dlpack__(self, **kwargs):
        return self._capsule

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU, device 0


def _to_dlpack(fn, data, versioned):
    _check_nd(fn, "data", data)
    if data.context.device_type != "cpu":
        raise MXNetError(f"{fn}: only CPU arrays can be exported (got {data.context})")
    raw = data._data
    if not raw.flags.writeable:  # a sparse array's dense cache: export a private copy
        raw = raw.copy()
    # a legacy capsule cannot say "writable", so NumPy imports it read-only: the write
    # export is a DLPack 1.0 (versioned) capsule, which carries that flag
    return raw.__dlpack__(max_version=(1, 0)) if versioned else raw.__dlpack__()


def to_dlpack_for_read(data):
    """A DLPack capsule (``PyCapsule`` named ``dltensor``, what every DLPack consumer
    takes) sharing ``data``'s memory, for reading."""
    return _to_dlpack("to_dlpack_for_read", data, False)


def to_dlpack_for_write(data):
    """A DLPack capsule sharing ``data``'s memory; writes through it change ``data``. It
    is a DLPack 1.0 capsule (``dltensor_versioned``), the form that carries the writable
    flag."""
    return _to_dlpack("to_dlpack_for_write", data, True)


def from_dlpack(dlpack):
    """An NDArray from a DLPack capsule (from ``to_dlpack_for_*``; a capsule can be
    consumed once) or from any object with ``__dlpack__`` (e.g. a NumPy array). It shares
    the memory where the export is writable (``to_dlpack_for_write``, a versioned capsule)
    and copies a read-only export, whose memory it may not write. CPU memory only."""
    obj = _Capsule(dlpack) if type(dlpack).__name__ == "PyCapsule" else dlpack
    if not hasattr(obj, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected a DLPack capsule or an object with "
                        f"__dlpack__, got {type(dlpack).__name__}")
    try:
        raw = np.from_dlpack(obj)
        if not raw.flags.writeable:  # a read export: the NDArray gets its own copy
            raw = raw.copy()
    except (BufferError, RuntimeError, ValueError) as e:
        raise ValueError(f"from_dlpack: invalid DLPack tensor (a capsule can be consumed "
                         f"only once): {e}") from None
    return NDArray(raw, cpu())
