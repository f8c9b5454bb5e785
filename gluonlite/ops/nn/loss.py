"""Loss operators: ``smooth_l1`` (MXNet 1.9.1 semantics).

``smooth_l1(data, scalar=sigma)`` is the elementwise smooth L1 (Huber-like) function of
Fast R-CNN::

    f(x) = 0.5 * (sigma * x)**2       if |x| < 1 / sigma**2
           |x| - 0.5 / sigma**2        otherwise

with gradient ``sigma**2 * x`` clipped to ``[-1, 1]``.
"""
from __future__ import annotations

from ...base import MXNetError
from ..attrs import Float
from ..registry import register, shape_same

__all__ = []


@register("smooth_l1", shape=shape_same, tags=("elemwise",))
def smooth_l1(rt, data, *, scalar: Float = 1.0):
    """Smooth L1 of each element (MXNet's ``smooth_l1``; ``scalar`` is sigma):
    ``0.5 * (sigma x)^2`` for ``|x| < 1/sigma^2``, else ``|x| - 0.5/sigma^2``."""
    if data.dtype.kind != "f":
        raise MXNetError(f"smooth_l1: data must be a floating point array, got "
                         f"{data.dtype.name}")
    if scalar == 0:
        raise MXNetError("smooth_l1: scalar (sigma) must be non-zero")
    xp = rt.xp
    dt = data.dtype.type
    bsq = dt(scalar * scalar)
    ax = xp.abs(data)
    # MXNet's branches: |x| > 1/sigma^2 is linear, everything else quadratic
    return xp.where(ax > 1 / bsq, ax - dt(0.5) / bsq, dt(0.5) * data * data * bsq)


@smooth_l1.gradient
def _(F, a, ins, outs, ogs, need):
    bsq = a["scalar"] * a["scalar"]
    d = F._minimum_scalar(F._maximum_scalar(ins[0] * bsq, scalar=-1.0), scalar=1.0)
    return (ogs[0] * d,)
