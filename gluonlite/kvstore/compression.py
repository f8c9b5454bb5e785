"""MXNet's 2-bit gradient compression, as its 'device' KVStore applies it to every push.

Each pushed gradient (plus the residual left by earlier pushes from the same slot) is
quantised element-wise to ``+threshold``, ``-threshold`` or 0; what was cut off stays in the
residual and is added to the next push. The store then sums the quantised values. The
residuals are kept per key and per position in the pushed list, as MXNet keeps one per
source buffer.
"""
from __future__ import annotations

import numbers

from ..base import MXNetError
from ..ndarray import NDArray

__all__ = ["GradientCompression"]

_TYPES = ("2bit",)


class GradientCompression:
    """Parsed ``compression_params`` plus the residuals of every (key, slot) seen so far.

    Parameters
    ----------
    params : dict
        ``{'type': '2bit', 'threshold': 0.5}``; ``type`` is required and must be '2bit',
        ``threshold`` (default 0.5) must be a number greater than 0.
    """

    def __init__(self, params):
        if not isinstance(params, dict):
            raise TypeError(f"compression_params: expected a dict such as {{'type': '2bit', "
                            f"'threshold': 0.5}}, got {type(params).__name__}")
        unknown = sorted(set(params) - {"type", "threshold"})
        if unknown:
            raise ValueError(f"compression_params: unknown keys {unknown}; expected 'type' "
                             "and optionally 'threshold'")
        if "type" not in params:
            raise MXNetError("Required parameter type of string is not presented")
        ctype = str(params["type"])
        if ctype not in _TYPES:
            raise MXNetError(f"Unknown type for gradient compression {ctype}")
        threshold = params.get("threshold", 0.5)
        if isinstance(threshold, str):
            try:
                threshold = float(threshold)  # MXNet passes the values as strings
            except ValueError:
                raise ValueError(f"compression_params: threshold must be a number, got "
                                 f"{threshold!r}") from None
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
            raise TypeError(f"compression_params: threshold must be a number, got "
                            f"{type(threshold).__name__}")
        if not threshold > 0:
            raise MXNetError(f"Check failed: params.threshold > 0 ({threshold:g} vs. 0) : "
                             "threshold must be greater than 0")
        self.type = ctype
        self.threshold = float(threshold)
        self._residuals = {}

    def quantize(self, key, slot, grad):
        """The 2-bit value of ``grad`` pushed from position ``slot`` for ``key`` (a new
        NDArray on ``grad``'s context); updates that slot's residual."""
        data = grad._data
        xp = grad.context.xp
        res = self._residuals.get((key, slot))
        if (res is None or type(res) is not type(data) or res.shape != data.shape
                or res.dtype != data.dtype):
            res = xp.zeros_like(data)
        total = res + data
        t = data.dtype.type(self.threshold)
        q = xp.where(total >= t, t, xp.where(total <= -t, -t, data.dtype.type(0)))
        q = q.astype(data.dtype, copy=False)
        self._residuals[(key, slot)] = total - q
        return NDArray(q, grad.context)
