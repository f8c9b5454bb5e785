"""MXNet 1.9.1's Python-level ``mx.sym`` functions that are not single operators:
``histogram`` and ``cast_storage`` (the storage-hint node of :mod:`.sparse`)."""
from __future__ import annotations

import numbers

from .register import make_function as _make_function
from .sparse import cast_storage  # noqa: F401  (MXNet exports it from mx.sym too)
from .symbol import Symbol

__all__ = ["cast_storage", "histogram"]

_histogram = _make_function("_histogram")


def histogram(a, bins=10, range=None, **kwargs):
    """Symbolic histogram of ``a`` (flattened), as MXNet's ``sym.histogram``: two outputs
    ``(counts, edges)``. ``bins`` is a Symbol of bin edges, or a bin count, which needs
    ``range`` in symbol mode (as in MXNet)."""
    if isinstance(bins, Symbol):
        return _histogram(a, bins, **kwargs)
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        if range is None:
            raise ValueError("null range is not supported in symbol mode")
        return _histogram(a, bin_cnt=int(bins), range=range, **kwargs)
    raise ValueError("bins argument should be either an integer or an NDArray")
