"""Shared basics: the error type, dtype handling and numeric type tuples.

MXNet reports operator failures as ``mxnet.base.MXNetError``; gluonlite keeps the name so
``except mx.base.MXNetError`` in user code keeps working.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["MXNetError", "FileFormatError", "mx_real_t", "numeric_types", "integer_types",
           "string_types",
           "np_dtype", "dtype_name", "DTYPE_TO_FLAG", "FLAG_TO_DTYPE"]


class MXNetError(RuntimeError):
    """Error raised by operators and the runtime (MXNet's ``mxnet.base.MXNetError``)."""


class FileFormatError(MXNetError):
    """A file (or cache entry) that gluonlite read is not valid: corrupt, truncated, crafted,
    or of another model. The message names the file and what is wrong with it.

    Every reader of files from outside (``nd.load``, ``load_parameters``, ``-symbol.json``,
    optimizer-state files, RecordIO indexes) raises this one type for bad content, so
    ``except mx.base.FileFormatError`` catches them all; it subclasses ``MXNetError`` as
    MXNet's readers raised that.
    """


#: MXNet's default real type.
mx_real_t = np.float32

numeric_types = (float, int, np.generic)
integer_types = (int, np.integer)
string_types = (str,)

# mshadow type flags as written in MXNet's binary files and JSON ``__dtype__`` attributes
# (checked against files written by MXNet 1.9.1: bool is 7).
FLAG_TO_DTYPE = {
    0: np.dtype(np.float32), 1: np.dtype(np.float64), 2: np.dtype(np.float16),
    3: np.dtype(np.uint8), 4: np.dtype(np.int32), 5: np.dtype(np.int8),
    6: np.dtype(np.int64), 7: np.dtype(np.bool_), 8: np.dtype(np.int16),
    9: np.dtype(np.uint16), 10: np.dtype(np.uint32), 11: np.dtype(np.uint64),
}
DTYPE_TO_FLAG = {v: k for k, v in FLAG_TO_DTYPE.items()}

_DTYPE_CACHE: dict = {}


def np_dtype(dtype, arg: str = "dtype") -> np.dtype:
    """Normalise a dtype given as a string, numpy type or ``np.dtype`` to ``np.dtype``.

    ``None`` means MXNet's default, float32. Unknown names raise ``TypeError`` naming ``arg``.
    """
    if dtype is None:
        return _F32
    try:
        return _DTYPE_CACHE[dtype]
    except (KeyError, TypeError):
        pass
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{arg}: expected a dtype such as 'float32' or numpy.float32, "
                        f"got {dtype!r}") from None
    if dt not in DTYPE_TO_FLAG:
        raise TypeError(f"{arg}: dtype {dt.name} is not supported; supported dtypes are "
                        + ", ".join(sorted(d.name for d in DTYPE_TO_FLAG)))
    try:
        _DTYPE_CACHE[dtype] = dt
    except TypeError:
        pass
    return dt


_F32 = np.dtype(np.float32)


def dtype_name(dtype) -> str:
    """The canonical name (``'float32'``) of a dtype."""
    return np_dtype(dtype).name


def is_number(x) -> bool:
    """True for Python and numpy scalars (not bools wrapped in arrays)."""
    return isinstance(x, numbers.Number) or isinstance(x, np.generic)
