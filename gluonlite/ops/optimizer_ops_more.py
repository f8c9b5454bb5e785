"""More of MXNet 1.9.1's optimizer update operators, in :mod:`.optimizer_ops`' style
(returns the new weight; the states, and ``weight32`` of the ``mp_*`` operators, change in
place; hyper-parameters are rounded to float32 first; no gradient, as in MXNet):

* ``_sparse_adagrad_update`` (``nd.sparse.adagrad_update``): AdaGrad, ``history +=
  g^2``, ``weight - lr * g / sqrt(history + epsilon)``; MXNet rejects ``wd != 0``;
* ``_contrib_adamw_update`` / ``_contrib_mp_adamw_update``: AdamW (decoupled weight
  decay) with ``rescale_grad`` an input array; a non-finite ``rescale_grad`` skips the
  step (the weight is returned unchanged, the states are kept), as MXNet's kernel does;
* ``_contrib_group_adagrad_update``: AdaGrad with one history value per row
  (``history`` is ``(rows, 1)``): ``history += mean(g^2 over the row)``.

The row_sparse (lazy) forms of these and of the dense ``sgd``/``adam``/``ftrl`` updates
are in :mod:`gluonlite.ndarray.sparse`: they run these kernels on the rows the gradient
holds.
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError
from .attrs import Float
from .optimizer_ops import _check, _check_mp, _f32, _same_shape_rule, _scaled, _W
from .registry import register

__all__ = []


@register("_sparse_adagrad_update", shape=_same_shape_rule(), dtype=_W)
def sparse_adagrad_update(rt, weight, grad, history, *, lr: Float, epsilon: Float = 1e-7,
                          wd: Float = 0.0, rescale_grad: Float = 1.0,
                          clip_gradient: Float = -1.0):
    """AdaGrad step: ``g = clip(rescale_grad * grad)``, ``history += g^2`` (in place),
    returns ``weight - lr * g / sqrt(history + epsilon)``. ``wd`` must be 0 (MXNet's
    sparse AdaGrad has no weight decay)."""
    _check("adagrad_update", ("weight", "grad", "history"), (weight, grad, history),
           same_dtype=("grad", "history"))
    if wd != 0:
        raise MXNetError(f"adagrad_update: wd must be 0 (MXNet's sparse AdaGrad does not "
                         f"support weight decay), got {wd}")
    xp = rt.xp
    g = _scaled(xp, grad, rescale_grad, clip_gradient, weight.dtype)
    history += g * g
    return weight - _f32(lr) * (g / xp.sqrt(history + _f32(epsilon)))


def _rescale_value(name, rescale_grad):
    if rescale_grad.size != 1:
        raise MXNetError(f"{name}: rescale_grad must hold one value, got shape "
                         f"{tuple(rescale_grad.shape)}")
    return float(rescale_grad.reshape(-1)[0])


def _adamw_step(xp, w, g, mean, var, rescale, lr, eta, beta1, beta2, epsilon, wd, clip):
    """AdamW (MXNet's ``AdamWKernel``): ``mean``/``var`` in place, returns the new weight."""
    b1, b2 = _f32(beta1), _f32(beta2)
    t = _scaled(xp, g, rescale, clip, w.dtype)
    mean *= b1
    mean += (1.0 - b1) * t
    var *= b2
    var += (1.0 - b2) * (t * t)
    step = _f32(lr) * mean / (xp.sqrt(var) + _f32(epsilon))
    step += _f32(wd) * w
    return w - _f32(eta) * step


def _adamw_shape(a, in_shapes):
    s = next((x for x in in_shapes[:4] if x is not None), None)
    return [s if x is None else x for x in in_shapes[:4]] + [in_shapes[4] or (1,)], [s]


def _adamw_shape_mp(a, in_shapes):
    s = next((x for x in in_shapes[:5] if x is not None), None)
    return [s if x is None else x for x in in_shapes[:5]] + [in_shapes[5] or (1,)], [s]


@register("_contrib_adamw_update", shape=_adamw_shape, dtype=_W,
          index_inputs=("rescale_grad",))
def adamw_update(rt, weight, grad, mean, var, rescale_grad, *, lr: Float,
                 beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                 wd: Float = 0.0, eta: Float, clip_gradient: Float = -1.0):
    """AdamW step: ``g = clip(rescale_grad * grad)``, ``mean``/``var`` moving averages
    (in place), returns ``weight - eta * (lr * mean / (sqrt(var) + epsilon) + wd *
    weight)``; a non-finite ``rescale_grad`` (an array of one value) skips the step."""
    _check("adamw_update", ("weight", "grad", "mean", "var"), (weight, grad, mean, var),
           same_dtype=("grad", "mean", "var"))
    r = _rescale_value("adamw_update", rescale_grad)
    if not np.isfinite(r):
        return weight.copy()
    return _adamw_step(rt.xp, weight, grad, mean, var, r, lr, eta, beta1, beta2, epsilon,
                       wd, clip_gradient)


@register("_contrib_mp_adamw_update", shape=_adamw_shape_mp, dtype=_W,
          index_inputs=("mean", "var", "weight32", "rescale_grad"))
def mp_adamw_update(rt, weight, grad, mean, var, weight32, rescale_grad, *, lr: Float,
                    beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                    wd: Float = 0.0, eta: Float, clip_gradient: Float = -1.0):
    """Multi-precision ``adamw_update``: the step runs in float32 on ``weight32`` (and the
    float32 ``mean``/``var``), all updated in place; returns the weight's dtype."""
    _check("mp_adamw_update", ("weight", "grad", "mean", "var", "weight32"),
           (weight, grad, mean, var, weight32))
    _check_mp("mp_adamw_update", weight32)
    r = _rescale_value("mp_adamw_update", rescale_grad)
    if not np.isfinite(r):
        return weight.copy()
    weight32[...] = _adamw_step(rt.xp, weight32, grad, mean, var, r, lr, eta, beta1, beta2,
                                epsilon, wd, clip_gradient)
    return weight32.astype(weight.dtype)


def _group_shape(a, in_shapes):
    w = in_shapes[0] or in_shapes[1]
    h = in_shapes[2] if in_shapes[2] is not None else (None if w is None else (w[0], 1))
    return [w, w, h], [w]


@register("_contrib_group_adagrad_update", shape=_group_shape, dtype=_W)
def group_adagrad_update(rt, weight, grad, history, *, lr: Float, rescale_grad: Float = 1.0,
                         clip_gradient: Float = -1.0, epsilon: Float = 1e-5):
    """Group AdaGrad: one history value per row of the weight (``history`` is ``(rows,
    1)``): ``history += mean(g^2 over the row)`` (in place), returns ``weight - lr * g /
    sqrt(history + epsilon)``."""
    _check("group_adagrad_update", ("weight", "grad"), (weight, grad), same_dtype=("grad",))
    if weight.ndim < 1 or tuple(history.shape) != (weight.shape[0], 1) \
            or history.dtype != weight.dtype:
        raise MXNetError(f"group_adagrad_update: history must be ({weight.shape[0]}, 1) of "
                         f"the weight's dtype {weight.dtype.name}, got shape "
                         f"{tuple(history.shape)} {history.dtype.name}")
    xp = rt.xp
    g = _scaled(xp, grad, rescale_grad, clip_gradient, weight.dtype)
    g2 = (g * g).reshape(g.shape[0], -1).mean(axis=1)
    history += g2.reshape(history.shape)
    div = xp.sqrt(history + _f32(epsilon)).reshape((-1,) + (1,) * (weight.ndim - 1))
    return weight - _f32(lr) * (g / div)
