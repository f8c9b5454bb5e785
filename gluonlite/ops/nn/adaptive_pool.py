"""Adaptive average pooling: MXNet's ``_contrib_AdaptiveAvgPooling2D`` (``nd.contrib.
AdaptiveAvgPooling2D``, used by gluoncv's SE-ResNet and PSPNet) and its backward operator
``_backward_contrib_AdaptiveAvgPooling2D``.

MXNet 1.9.1 semantics (``src/operator/contrib/adaptive_avg_pooling-inl.h``):

* data is 4-D ``(N, C, H, W)``; ``output_size`` is ``()`` (1x1), one int ``s`` (``s x s``)
  or ``(OH, OW)``;
* output cell ``i`` along an axis of input size ``n`` and output size ``m`` averages input
  rows ``floor(i*n/m) <= r < ceil((i+1)*n/m)``: bins cover the input, may overlap when ``n``
  is not a multiple of ``m``, and repeat rows when ``m > n`` (upsampling);
* only floating point data (MXNet rejects integers); float16 is computed in float32 and
  rounded back.

How: the average over a rectangular bin is separable, so the output is
``P_h @ x @ P_w^T`` with per-axis averaging matrices ``P`` (``P[i, start:end] = 1/(end -
start)``), two batched matmuls; the gradient is the transpose, ``P_h^T @ g @ P_w``, which is
what ``_backward_contrib_AdaptiveAvgPooling2D`` computes (its own gradient is the forward
again, so second-order gradients work).
"""
from __future__ import annotations

from ...base import MXNetError
from ..attrs import Shape
from ..registry import register

__all__ = ["adaptive_bins"]

_NAME = "AdaptiveAvgPooling2D"


def adaptive_bins(n: int, m: int):
    """``[(start, end)]`` of the ``m`` bins MXNet's adaptive pooling uses over an axis of
    size ``n``: ``floor(i*n/m)`` to ``ceil((i+1)*n/m)`` (integer arithmetic, exact)."""
    return [((i * n) // m, -((-(i + 1) * n) // m)) for i in range(m)]


def _out_hw(output_size):
    if len(output_size) == 0:
        return 1, 1
    if len(output_size) == 1:
        oh = ow = output_size[0]
    elif len(output_size) == 2:
        oh, ow = output_size
    else:
        raise MXNetError(f"{_NAME}: output_size must be an int or a (height, width) tuple, "
                         f"got {tuple(output_size)}")
    if oh <= 0 or ow <= 0:
        raise MXNetError(f"{_NAME}: output_size must be positive, got {tuple(output_size)}")
    return oh, ow


def _check_data(shape, what="data"):
    if len(shape) != 4:
        raise MXNetError(f"{_NAME}: {what} must be 4-D (batch, channel, height, width), got "
                         f"shape {tuple(shape)}")
    if shape[2] == 0 or shape[3] == 0:
        raise MXNetError(f"{_NAME}: {what} has an empty spatial axis, shape {tuple(shape)}")


def _shape_rule(a, in_shapes):
    d = in_shapes[0]
    if d is None:
        return in_shapes, [None]
    _check_data(d)
    oh, ow = _out_hw(a["output_size"])
    return in_shapes, [(d[0], d[1], oh, ow)]


def _float_dtype(x):
    if x.dtype.kind != "f":
        raise MXNetError(f"{_NAME}: data must be a floating point array (MXNet supports only "
                         f"floating point types), got {x.dtype.name}")
    # float16 is accumulated in float32, as the pooling kernels do
    return "float32" if x.dtype.name == "float16" else x.dtype


def _matrix(xp, n, m, dtype):
    p = xp.zeros((m, n), dtype)
    for i, (s, e) in enumerate(adaptive_bins(n, m)):
        p[i, s:e] = 1.0 / (e - s)
    return p


@register("_contrib_AdaptiveAvgPooling2D", shape=_shape_rule)
def adaptive_avg_pooling2d(rt, data, *, output_size: Shape = ()):
    """Average ``data`` (N, C, H, W) over ``output_size`` adaptive bins per spatial axis
    (MXNet's ``contrib.AdaptiveAvgPooling2D``; see the module docstring for the bins)."""
    _check_data(data.shape)
    oh, ow = _out_hw(output_size)
    dt = _float_dtype(data)
    xp = rt.xp
    x = data.astype(dt, copy=False)
    ph = _matrix(xp, data.shape[2], oh, dt)
    pw = _matrix(xp, data.shape[3], ow, dt)
    out = xp.matmul(xp.matmul(ph, x), pw.T)
    return out.astype(data.dtype, copy=False)


@adaptive_avg_pooling2d.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_contrib_AdaptiveAvgPooling2D(ogs[0], ins[0],
                                                     output_size=a["output_size"]),)


def _bshape_rule(a, in_shapes):
    g, d = in_shapes
    if d is None:
        return in_shapes, [None]
    return in_shapes, [tuple(d)]


@register("_backward_contrib_AdaptiveAvgPooling2D", shape=_bshape_rule,
          index_inputs=("data",))
def backward_adaptive_avg_pooling2d(rt, ograd, data, *, output_size: Shape = ()):
    """Gradient of ``_contrib_AdaptiveAvgPooling2D``: ``ograd`` spread evenly over each bin
    and summed where bins overlap; ``data`` gives the input's shape and dtype."""
    _check_data(data.shape)
    oh, ow = _out_hw(output_size)
    want = (data.shape[0], data.shape[1], oh, ow)
    if tuple(ograd.shape) != want:
        raise MXNetError(f"_backward_contrib_{_NAME}: ograd has shape {tuple(ograd.shape)}, "
                         f"expected {want}")
    dt = _float_dtype(data)
    xp = rt.xp
    ph = _matrix(xp, data.shape[2], oh, dt)
    pw = _matrix(xp, data.shape[3], ow, dt)
    g = ograd.astype(dt, copy=False)
    return xp.matmul(xp.matmul(ph.T, g), pw).astype(data.dtype, copy=False)


@backward_adaptive_avg_pooling2d.gradient
def _(F, a, ins, outs, ogs, need):
    # linear in ograd with the forward as its transpose; data only lends its shape
    return F._contrib_AdaptiveAvgPooling2D(ogs[0], output_size=a["output_size"]), None
