"""Keyword-argument checks for the native-style iterators (``CSVIter``, ``MNISTIter``,
``ImageRecordIter``), with the argument named in every error.

MXNet's C++ iterators parse their keyword arguments as dmlc parameters; these helpers
accept the same Python values (and the strings MXNet would accept, such as ``'(3,28,28)'``)
and reject the rest early.
"""
from __future__ import annotations

import numbers
import os

from ..base import MXNetError
from ..ops.attrs import brief_repr, literal

__all__ = []

# accepted by every MXNet native iterator (PrefetcherParam); they tune MXNet's C++ threads
PREFETCH_KEYS = ("prefetch_buffer", "ctx", "dtype")


def reject_unknown(owner, kwargs):
    if kwargs:
        names = ", ".join(sorted(kwargs))
        raise TypeError(f"{owner}: unexpected keyword argument(s) {names}")


def as_int(owner, name, v, low=None, high=None):
    if isinstance(v, str):
        try:
            v = int(v)
        except ValueError:
            raise MXNetError(f"{owner}: invalid value {v!r} for parameter {name}: expected "
                             "an int") from None
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an int, got {v!r}")
    v = int(v)
    if low is not None and v < low:
        raise MXNetError(f"{owner}: value {v} for parameter {name} should be greater equal "
                         f"to {low}")
    if high is not None and v > high:
        raise MXNetError(f"{owner}: value {v} for parameter {name} should be less equal to "
                         f"{high}")
    return v


def as_float(owner, name, v):
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            raise MXNetError(f"{owner}: invalid value {v!r} for parameter {name}: expected a "
                             "float") from None
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {v!r}")
    return float(v)


def as_bool(owner, name, v):
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("1", "true"):
            return True
        if low in ("0", "false"):
            return False
        raise MXNetError(f"{owner}: invalid value {v!r} for boolean parameter {name}")
    if isinstance(v, (bool, numbers.Integral)):
        return bool(v)
    raise TypeError(f"{owner}: {name} must be a bool, got {v!r}")


def as_shape(owner, name, v, ndim=None):
    if isinstance(v, str):
        try:
            v = literal(v, "a shape")
        except ValueError:
            raise MXNetError(f"{owner}: invalid shape {brief_repr(v)} for parameter "
                             f"{name}") from None
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        v = (v,)
    if (not isinstance(v, (tuple, list)) or not v
            or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in v)):
        raise TypeError(f"{owner}: {name} must be a tuple of ints, got {v!r}")
    if any(d <= 0 for d in v):
        raise MXNetError(f"{owner}: {name} must have positive dimensions, got {tuple(v)}")
    if ndim is not None and len(v) != ndim:
        raise MXNetError(f"{owner}: {name} must have {ndim} dimensions, got {tuple(v)}")
    return tuple(int(d) for d in v)


def as_choice(owner, name, v, choices):
    if v not in choices:
        raise MXNetError(f"{owner}: invalid value {v!r} for parameter {name}; expected one "
                         f"of {list(choices)}")
    return v


def as_path(owner, name, v, must_exist=True):
    if not isinstance(v, (str, os.PathLike)):
        raise TypeError(f"{owner}: {name} must be a file path, got {type(v).__name__}")
    v = os.fspath(v)
    if must_exist and not os.path.exists(v):
        raise MXNetError(f"{owner}: {name}: cannot open {v!r}: No such file or directory")
    return v


def check_prefetch(owner, prefetch_buffer, ctx):
    """Validate the prefetcher arguments; gluonlite reads batches on demand, so they only
    need to be valid values."""
    as_int(owner, "prefetch_buffer", prefetch_buffer, low=0)
    as_choice(owner, "ctx", ctx, ("cpu", "gpu"))
