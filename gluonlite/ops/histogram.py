"""``_histogram`` (``nd.histogram``/``sym.histogram``): counts of ``data`` in ``bin_cnt``
equal bins over ``range``, or in the bins whose edges are the input ``bins``, as MXNet 1.9.1.
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError
from . import attrs as _attrs
from .attrs import OptInt
from .registry import register

__all__ = []


class _OptFloatPair(_attrs._OrNone, _attrs._FloatShape):
    kind = "tuple of two floats or None"

    def parse(self, v):
        t = super().parse(v)
        if t is not None and len(t) != 2:
            raise ValueError(f"expected (low, high), got {v!r}")
        return t


OptFloatPair = _OptFloatPair()


# --- histogram -----------------------------------------------------------------------------
def _hist_shape(a, in_shapes):
    if a["bin_cnt"] is not None:
        n = a["bin_cnt"]
    elif len(in_shapes) > 1 and in_shapes[1] is not None:
        n = in_shapes[1][0] - 1
    else:
        return in_shapes, [None, None]
    return in_shapes, [(n,), (n + 1,)]


def _hist_dtype(a, in_types, n_out):
    # MXNet: counts are int64, the edges have the data's dtype
    return in_types, ["int64", in_types[0]]


def _hist_inputs(a):
    # as MXNet's: the edges are an input only when no bin count is given
    return ("data",) if a["bin_cnt"] is not None else ("data", "bins")


@register("_histogram", shape=_hist_shape, dtype=_hist_dtype, num_outputs=2,
          inputs=_hist_inputs)
def histogram(rt, data, bins=None, *, bin_cnt: OptInt = None, range: OptFloatPair = None):
    """Histogram of ``data`` (flattened): ``bin_cnt`` equal bins over ``range`` (both
    needed together), or the bins whose increasing edges are the input ``bins``. Values
    outside the bins are not counted; the last bin includes its right edge. Returns
    ``(counts, edges)``."""
    xp = rt.xp
    x = data.reshape(-1)
    if bin_cnt is not None:
        if range is None:
            raise MXNetError("histogram: range=(low, high) is required with bin_cnt")
        if bin_cnt <= 0:
            raise MXNetError(f"histogram: bin_cnt must be positive, got {bin_cnt}")
        lo, hi = range
        if not lo < hi:
            raise MXNetError(f"histogram: range must be (low, high) with low < high, got "
                             f"{range}")
        edges = xp.linspace(lo, hi, bin_cnt + 1).astype(data.dtype)
    else:
        if bins is None:
            raise MXNetError("histogram: give bin_cnt and range, or the bin edges 'bins'")
        if bins.ndim != 1 or bins.shape[0] < 2:
            raise MXNetError(f"histogram: bins must be a 1-D array of at least 2 edges, got "
                             f"shape {tuple(bins.shape)}")
        edges = bins.astype(data.dtype)
    counts, _ = xp.histogram(x, bins=edges.astype(np.float64))
    return counts.astype(np.int64), edges


