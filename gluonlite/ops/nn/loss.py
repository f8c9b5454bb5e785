"""Loss operators (MXNet 1.9.1 semantics): ``smooth_l1`` and the output layers of the
Symbol API, ``LinearRegressionOutput``, ``LogisticRegressionOutput``, ``MAERegressionOutput``
and ``MakeLoss`` (their gradients are defined, not derived; see below).

``smooth_l1(data, scalar=sigma)`` is the elementwise smooth L1 (Huber-like) function of
Fast R-CNN::

    f(x) = 0.5 * (sigma * x)**2       if |x| < 1 / sigma**2
           |x| - 0.5 / sigma**2        otherwise

with gradient ``sigma**2 * x`` clipped to ``[-1, 1]``.
"""
from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..attrs import Enum, Float
from ..registry import ZERO_GRAD, register, shape_same

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


# --- output (loss) layers of the Symbol API ----------------------------------------------------
# Like SoftmaxOutput, their gradient is *defined* (MXNet's regression_output-inl.h and
# make_loss-inl.h) rather than the derivative of the forward, and the head gradient is ignored:
# ``backward()`` with no out_grads on an executor gives the training gradient directly.

def _float_only(name, x):
    if x.dtype.kind != "f":
        raise MXNetError(f"{name}: data must be a floating point array, got {x.dtype.name}")


def _regression_label_shape(name, d, lab):
    """MXNet's RegressionOpShape: an unknown label is ``(n,)`` for data ``(n, 1)`` and the
    data's shape otherwise; a given label must have the data's batch size and element count."""
    if lab is None:
        return (d[0],) if len(d) == 2 and d[1] == 1 else d
    lab = tuple(lab)
    size_d = int(np.prod(d, dtype=np.int64))
    size_l = int(np.prod(lab, dtype=np.int64))
    if not lab or not d or lab[0] != d[0] or size_l != size_d:
        raise MXNetError(f"{name}: label has shape {lab}, inconsistent with data of shape {d}: "
                         "expected the same batch size (first axis) and number of elements")
    return lab


def _regression_shape(name):
    def rule(a, in_shapes):
        d, lab = in_shapes
        if d is None:
            if lab is not None and len(lab) >= 1:
                # data is the label's shape, except that a 1-D label means (n, 1) data
                d = (lab[0], 1) if len(lab) == 1 else tuple(lab)
                return [d, tuple(lab)], [d]
            return [d, lab], [None]
        d = tuple(d)
        return [d, _regression_label_shape(name, d, lab)], [d]
    rule.__name__ = f"{name}_shape"
    return rule


_REGRESSION = {
    "LinearRegressionOutput": "linear",
    "LogisticRegressionOutput": "logistic",
    "MAERegressionOutput": "mae",
}


def _regression_forward(name, kind):
    def fwd(rt, data, label, *, grad_scale: Float = 1.0):
        _float_only(name, data)
        _regression_label_shape(name, tuple(data.shape), tuple(label.shape))
        if kind == "logistic":
            xp = rt.xp
            one = data.dtype.type(1)
            return one / (one + xp.exp(-data))
        return data.copy()
    fwd.__name__ = name
    return fwd


_REGRESSION_DOCS = {
    "linear": "Forward: identity. Backward: ``(out - label) * grad_scale / m``.",
    "logistic": "Forward: ``sigmoid(data)``. Backward: ``(out - label) * grad_scale / m``.",
    "mae": "Forward: identity. Backward: ``sign(out - label) * grad_scale / m``.",
}


def _make_regression(name, kind):
    op = register(name, shape=_regression_shape(name),
                  doc=f"MXNet's ``{name}(data, label, grad_scale=1)`` loss layer. "
                      f"{_REGRESSION_DOCS[kind]} ``m`` is the number of outputs per sample "
                      "(``label.size / label.shape[0]``); the label (same batch size and "
                      "element count as ``data``; ``(n,)`` for data ``(n, 1)``) is reshaped "
                      "to the output's shape; the head gradient is ignored and the label "
                      "gets no gradient.")(_regression_forward(name, kind))

    @op.gradient
    def _(F, a, ins, outs, ogs, need):
        return F._backward_RegressionOutput(outs[0], ins[1], kind=kind,
                                            grad_scale=a["grad_scale"]), None
    return op


def _rb_shape(a, in_shapes):
    out, lab = in_shapes
    if out is None:
        return [out, lab], [None]
    out = tuple(out)
    return [out, _regression_label_shape("_backward_RegressionOutput", out, lab)], [out]


@register("_backward_RegressionOutput", shape=_rb_shape)
def _backward_RegressionOutput(rt, out, label, *, kind: Enum("linear", "logistic", "mae"),
                               grad_scale: Float = 1.0):
    """The defined gradient of the regression output layers with respect to their data,
    from the layer's output: ``f(out - label) * grad_scale / m`` with ``f`` the identity
    (linear, logistic) or ``sign`` (mae) and ``m = label.size / label.shape[0]``."""
    _float_only("_backward_RegressionOutput", out)
    _regression_label_shape("_backward_RegressionOutput", tuple(out.shape), tuple(label.shape))
    xp = rt.xp
    dt = out.dtype.type
    m = label.size // label.shape[0] if label.ndim and label.shape[0] else 1
    diff = out - label.reshape(out.shape).astype(out.dtype, copy=False)
    if kind == "mae":
        diff = xp.sign(diff)
    return (diff * dt(grad_scale / max(m, 1))).astype(out.dtype, copy=False)


@_backward_RegressionOutput.gradient
def _(F, a, ins, outs, ogs, need):
    # linear in ``out`` with slope grad_scale / m (linear, logistic); piecewise constant (mae).
    # The slope is B(1, 0) - B(0, 0), written with the operator itself so that it holds in
    # every F namespace without knowing the label's shape here.
    out, label = ins
    if a["kind"] == "mae":
        return F.zeros_like(out), None
    slope = (F._backward_RegressionOutput(F.ones_like(out), F.zeros_like(label), **a)
             - F._backward_RegressionOutput(F.zeros_like(out), F.zeros_like(label), **a))
    return ogs[0] * slope, None


for _name, _kind in _REGRESSION.items():
    _make_regression(_name, _kind)


@register("MakeLoss", shape=shape_same)
def MakeLoss(rt, data, *, grad_scale: Float = 1.0, valid_thresh: Float = 0.0,
             normalization: Enum("batch", "null", "valid") = "null"):
    """MXNet's ``MakeLoss``: turns ``data`` into a loss. Forward: identity. Backward
    (ignoring the head gradient): ``grad_scale`` everywhere, divided by the batch size
    (``normalization='batch'``) or by the number of elements greater than ``valid_thresh``
    (``'valid'``, at least 1)."""
    return data.copy()


@MakeLoss.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_MakeLoss(ins[0], **a),)


@register("_backward_MakeLoss", shape=shape_same)
def _backward_MakeLoss(rt, data, *, grad_scale: Float = 1.0, valid_thresh: Float = 0.0,
                       normalization: Enum("batch", "null", "valid") = "null"):
    """``MakeLoss``'s defined gradient for input ``data`` (see :func:`MakeLoss`)."""
    xp = rt.xp
    dt = data.dtype.type if data.dtype.kind == "f" else np.float32
    if normalization == "batch":
        denom = data.shape[0] if data.ndim else 1
    elif normalization == "valid":
        denom = max(int(xp.sum(data > valid_thresh)), 1)
    else:
        denom = 1
    return xp.full(data.shape, dt(grad_scale / max(denom, 1)), dtype=dt)


_backward_MakeLoss.gradient(ZERO_GRAD)
