"""Input normalisation and batch slicing shared by :class:`NDArrayIter` (MXNet's
``mxnet/io/utils.py``)."""
from __future__ import annotations

import numbers
from collections import OrderedDict

import numpy as np

from ..base import MXNetError
from ..ndarray.ndarray import NDArray, array

__all__ = []


def init_data(data, allow_empty, default_name, what):
    """``data`` as a name-sorted list of ``(name, NDArray)`` pairs, as MXNet's
    ``_init_data``: one array is named ``default_name``; a list of several is named
    ``_0_<default_name>``, ``_1_<default_name>``, ...; a dict keeps its keys. NumPy arrays
    and nested lists become float32 NDArrays (``nd.array``); NDArrays keep their dtype."""
    if data is None:
        if not allow_empty:
            raise ValueError(f"NDArrayIter: {what} must be given, got None")
        data = []
    if isinstance(data, (np.ndarray, NDArray)):
        data = [data]
    if isinstance(data, (list, tuple)):
        if not allow_empty and len(data) == 0:
            raise ValueError(f"NDArrayIter: {what} must hold at least one array, got an "
                             "empty list")
        if len(data) == 1:
            data = OrderedDict([(default_name, data[0])])
        else:
            data = OrderedDict((f"_{i}_{default_name}", d) for i, d in enumerate(data))
    if not isinstance(data, dict):
        raise TypeError("Input must be NDArray, numpy.ndarray, h5py.Dataset a list of them or "
                        f"dict with them as values; {what} is {type(data).__name__}")
    out = []
    for k, v in data.items():
        if not isinstance(k, str):
            raise TypeError(f"NDArrayIter: the names of {what} must be strings, got {k!r}")
        if not isinstance(v, NDArray):
            try:
                v = array(v)
            except TypeError:
                raise TypeError(f"Invalid type '{type(v)}' for {k}, should be NDArray, "
                                "numpy.ndarray or h5py.Dataset") from None
        if v.ndim == 0:
            raise ValueError(f"NDArrayIter: {what} '{k}' is a scalar; it needs a batch axis")
        out.append((k, v))
    return sorted(out, key=lambda kv: kv[0])


def check_batch_size(batch_size, owner):
    """A positive int ``batch_size`` or a clear error."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"{owner}: batch_size must be a positive int, got {batch_size!r}")
    if batch_size <= 0:
        raise ValueError(f"{owner}: batch_size must be a positive int, got {batch_size}")
    return int(batch_size)


def slice_axis(arr: NDArray, axis: int, begin, end) -> NDArray:
    """A copy of ``arr[begin:end]`` along ``axis`` with ``nd.slice_axis``'s rules: negative
    bounds count from the end, and an empty or out-of-range slice is an MXNetError."""
    n = arr.shape[axis]
    b = 0 if begin is None else int(begin)
    e = n if end is None else int(end)
    if b < 0:
        b += n
    if e < 0:
        e += n
    if not (0 <= b < n) or e > n or b >= e:
        raise MXNetError(f"slice_axis: invalid begin={begin}, end={end} for axis {axis} of "
                         f"size {n} (the iterator's cursor ran outside the data; with "
                         "'roll_over' a batch_size larger than the data is not supported)")
    key = (slice(None),) * axis + (slice(b, e),)
    return NDArray(arr._data[key].copy(), arr.context)


def concat(first, second, axis):
    """Element-wise concatenation of two lists of NDArrays along ``axis``."""
    if not first or not second:
        return first if first else second
    if len(first) != len(second):
        raise AssertionError("data source should contain the same size")
    out = []
    for a, b in zip(first, second):
        xp = a.context._runtime(False).xp
        out.append(NDArray(xp.concatenate([a._data, b._data], axis=axis), a.context))
    return out


def tile(data, repeats):
    """Each NDArray of ``data`` repeated ``repeats`` times along axis 0 (``nd.tile``)."""
    out = []
    for d in data:
        xp = d.context._runtime(False).xp
        reps = (repeats,) + (1,) * (d.ndim - 1)
        out.append(NDArray(xp.tile(d._data, reps), d.context))
    return out


def take_rows(data, idx):
    """``data`` (``(name, NDArray)`` pairs) with its examples reordered by ``idx``."""
    out = []
    for k, v in data:
        xp = v.context._runtime(False).xp
        out.append((k, NDArray(v._data[xp.asarray(idx)], v.context)))
    return out
