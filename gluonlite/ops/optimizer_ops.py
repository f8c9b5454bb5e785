"""MXNet 1.9.1's optimizer update operators (``nd.sgd_update``, ``nd.adam_update``,
``nd.multi_sgd_mom_update``, ``nd.lamb_update_phase1``, ``nd.multi_lars``, ...).

Semantics, as MXNet's (``src/operator/optimizer_op-inl.h``):

* the operator returns the updated weight; the weight itself changes only when it is
  passed as ``out=`` (what MXNet's optimizers and users do: ``nd.sgd_update(w, g,
  lr=0.1, out=w)``);
* the optimizer states (``mom``, ``mean``, ``var``, ``n``, ``z``, ... and the float32
  master copy ``weight32`` of the ``mp_*`` operators) are updated **in place**, always;
* hyper-parameters are float32 fields in MXNet, so they are rounded to float32 first and
  the arithmetic runs in the weight's dtype (``mp_*``: in float32 on ``weight32``, the
  result cast to the weight's dtype);
* ``rescale_grad`` scales the gradient first, then a non-negative ``clip_gradient``
  bounds it to ``[-clip, clip]``.

The formulas are those of :mod:`gluonlite.optimizer.rules` (which the optimizers run);
operators cannot import the optimizer package (it sits above them), so they are written
here on ``rt.xp`` directly; the fixture tests pin both to MXNet's numbers. The operators
have no gradient (MXNet registers none). ``lazy_update`` only matters for row_sparse
gradients, which these dense operators do not take; it is accepted and ignored, as MXNet
ignores it for dense ones.

MXNet's ``nag_mom_update``/``mp_nag_mom_update`` kernels write the weight before they
compute the new momentum from it, so with ``out=weight`` and ``wd != 0`` the momentum sees
the updated weight. ``mp_nag_mom_update`` always updates ``weight32`` in place, so it does
the same; ``nd.nag_mom_update(..., out=weight)`` runs ``_nag_mom_update_inplace``, which
overwrites the weight first, and the plain operator computes from the weight given.
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError
from .attrs import Bool, Float, FloatShape, Int
from .registry import register

__all__ = []


def _f32(v):
    return float(np.float32(v))


def _scaled(xp, g, rescale, clip, dt=None):
    """A new array ``clip(rescale * g, clip)`` (in ``dt`` if given)."""
    t = xp.multiply(g.astype(dt, copy=False) if dt is not None else g, _f32(rescale))
    if clip >= 0:
        c = _f32(clip)
        xp.clip(t, -c, c, out=t)
    return t


def _float(name, what, a):
    if a.dtype.kind != "f":
        raise MXNetError(f"{name}: {what} must be a floating point array, got {a.dtype.name}")


def _check(name, names, arrays, *, same_dtype=None):
    """Every array has the weight's shape and is floating point."""
    shape = arrays[0].shape
    for n, a in zip(names, arrays):
        _float(name, n, a)
        if a.shape != shape:
            raise MXNetError(f"{name}: {n} has shape {tuple(a.shape)}, expected the weight's "
                             f"shape {tuple(shape)}")
    for n in (same_dtype or ()):
        a = arrays[names.index(n)]
        if a.dtype != arrays[0].dtype:
            raise MXNetError(f"{name}: {n} has dtype {a.dtype.name}, expected the weight's "
                             f"dtype {arrays[0].dtype.name}")


def _check_mp(name, w32):
    if w32.dtype != np.float32:
        raise MXNetError(f"{name}: weight32 must be float32 (the master copy of the weight), "
                         f"got {w32.dtype.name}")


def _same_shape_rule(n_out=1):
    def rule(a, in_shapes):
        s = next((x for x in in_shapes if x is not None), None)
        return [s if x is None else x for x in in_shapes], [s] * n_out
    return rule


def _dtype_of_input(i):
    def rule(a, in_types, n_out):
        return in_types, [in_types[i]] * n_out
    return rule


_W = _dtype_of_input(0)


# --- the SGD family ------------------------------------------------------------------------
def _sgd_step(xp, w, g, mom, lr, wd, rescale, clip, momentum):
    """One SGD step on ``w`` (a new array is returned); ``mom`` is updated in place."""
    lr, wd, momentum = _f32(lr), _f32(wd), _f32(momentum)
    t = _scaled(xp, g, rescale, clip, w.dtype)
    t *= lr
    if mom is None:  # SGDKernel: (1 - lr * wd) * w - lr * clip(rescale * g)
        out = w * (1.0 - lr * wd)
        out -= t
        return out
    # SGDMomKernel: mom = momentum * mom - lr * wd * w - lr * clip(rescale * g); w += mom
    mom *= momentum
    mom -= (lr * wd) * w
    mom -= t
    return w + mom


@register("sgd_update", shape=_same_shape_rule(), dtype=_W)
def sgd_update(rt, weight, grad, *, lr: Float, wd: Float = 0.0, rescale_grad: Float = 1.0,
               clip_gradient: Float = -1.0, lazy_update: Bool = True):
    """SGD step ``weight = (1 - lr * wd) * weight - lr * clip(rescale_grad * grad)``
    (returns the new weight; pass ``out=weight`` to update it in place)."""
    _check("sgd_update", ("weight", "grad"), (weight, grad), same_dtype=("grad",))
    return _sgd_step(rt.xp, weight, grad, None, lr, wd, rescale_grad, clip_gradient, 0.0)


@register("sgd_mom_update", shape=_same_shape_rule(), dtype=_W)
def sgd_mom_update(rt, weight, grad, mom, *, lr: Float, momentum: Float = 0.0,
                   wd: Float = 0.0, rescale_grad: Float = 1.0, clip_gradient: Float = -1.0,
                   lazy_update: Bool = True):
    """SGD with momentum: ``mom = momentum * mom - lr * wd * weight - lr *
    clip(rescale_grad * grad)`` (in place), returns ``weight + mom``."""
    _check("sgd_mom_update", ("weight", "grad", "mom"), (weight, grad, mom),
           same_dtype=("grad", "mom"))
    return _sgd_step(rt.xp, weight, grad, mom, lr, wd, rescale_grad, clip_gradient, momentum)


@register("mp_sgd_update", shape=_same_shape_rule(), dtype=_W, index_inputs=("weight32",))
def mp_sgd_update(rt, weight, grad, weight32, *, lr: Float, wd: Float = 0.0,
                  rescale_grad: Float = 1.0, clip_gradient: Float = -1.0,
                  lazy_update: Bool = True):
    """Multi-precision ``sgd_update``: the step runs in float32 on ``weight32`` (updated in
    place); returns it cast to the weight's dtype."""
    _check("mp_sgd_update", ("weight", "grad", "weight32"), (weight, grad, weight32))
    _check_mp("mp_sgd_update", weight32)
    weight32[...] = _sgd_step(rt.xp, weight32, grad, None, lr, wd, rescale_grad,
                              clip_gradient, 0.0)
    return weight32.astype(weight.dtype)


@register("mp_sgd_mom_update", shape=_same_shape_rule(), dtype=_W,
          index_inputs=("mom", "weight32"))
def mp_sgd_mom_update(rt, weight, grad, mom, weight32, *, lr: Float, momentum: Float = 0.0,
                      wd: Float = 0.0, rescale_grad: Float = 1.0,
                      clip_gradient: Float = -1.0, lazy_update: Bool = True):
    """Multi-precision ``sgd_mom_update``: ``mom`` and ``weight32`` (float32) are updated in
    place; returns the new weight in the weight's dtype."""
    _check("mp_sgd_mom_update", ("weight", "grad", "mom", "weight32"),
           (weight, grad, mom, weight32))
    _check_mp("mp_sgd_mom_update", weight32)
    weight32[...] = _sgd_step(rt.xp, weight32, grad, mom, lr, wd, rescale_grad,
                              clip_gradient, momentum)
    return weight32.astype(weight.dtype)


def _nag_step(xp, w, g, mom, lr, wd, rescale, clip, momentum, w_new=None):
    """NAGMomKernel: ``mom = momentum * mom; w' = w - mom + (momentum + 1) * (mom - lr *
    (g + wd * w)); mom -= lr * (g + wd * w')`` (``mom`` in place, ``w'`` returned). The
    kernel computes the last line after writing ``w'``; where ``w'`` overwrites ``w``
    (``w_new`` is ``w``: the mp kernel's ``weight32``) the momentum sees the new weight."""
    lr, wd, momentum = _f32(lr), _f32(wd), _f32(momentum)
    cg = _scaled(xp, g, rescale, clip, w.dtype)
    d = cg + wd * w if wd else cg.copy()
    d *= lr
    mom *= momentum
    out = w - mom
    out += (momentum + 1.0) * (mom - d)
    if w_new is not None:
        w_new[...] = out
        if wd:
            d = cg + wd * w_new
            d *= lr
    mom -= d
    return out


@register("nag_mom_update", shape=_same_shape_rule(), dtype=_W)
def nag_mom_update(rt, weight, grad, mom, *, lr: Float, momentum: Float = 0.0,
                   wd: Float = 0.0, rescale_grad: Float = 1.0, clip_gradient: Float = -1.0):
    """Nesterov momentum step (MXNet's NAG kernel; ``mom`` updated in place); returns the
    new weight."""
    _check("nag_mom_update", ("weight", "grad", "mom"), (weight, grad, mom),
           same_dtype=("grad", "mom"))
    return _nag_step(rt.xp, weight, grad, mom, lr, wd, rescale_grad, clip_gradient, momentum)


@register("_nag_mom_update_inplace", shape=_same_shape_rule(), dtype=_W)
def nag_mom_update_inplace(rt, weight, grad, mom, *, lr: Float, momentum: Float = 0.0,
                           wd: Float = 0.0, rescale_grad: Float = 1.0,
                           clip_gradient: Float = -1.0):
    """``nag_mom_update`` with ``out=weight`` (``nd.nag_mom_update`` calls it then): the
    weight is overwritten before the momentum is computed from it, as MXNet's kernel does
    when its output is the weight."""
    _check("nag_mom_update", ("weight", "grad", "mom"), (weight, grad, mom),
           same_dtype=("grad", "mom"))
    _nag_step(rt.xp, weight, grad, mom, lr, wd, rescale_grad, clip_gradient, momentum,
              w_new=weight)
    return weight.copy()


@register("mp_nag_mom_update", shape=_same_shape_rule(), dtype=_W,
          index_inputs=("mom", "weight32"))
def mp_nag_mom_update(rt, weight, grad, mom, weight32, *, lr: Float, momentum: Float = 0.0,
                      wd: Float = 0.0, rescale_grad: Float = 1.0,
                      clip_gradient: Float = -1.0):
    """Multi-precision ``nag_mom_update`` (float32 ``mom`` and ``weight32`` updated in
    place)."""
    _check("mp_nag_mom_update", ("weight", "grad", "mom", "weight32"),
           (weight, grad, mom, weight32))
    _check_mp("mp_nag_mom_update", weight32)
    _nag_step(rt.xp, weight32, grad, mom, lr, wd, rescale_grad, clip_gradient, momentum,
              w_new=weight32)
    return weight32.astype(weight.dtype)


# --- sign methods --------------------------------------------------------------------------
@register("signsgd_update", shape=_same_shape_rule(), dtype=_W)
def signsgd_update(rt, weight, grad, *, lr: Float, wd: Float = 0.0, rescale_grad: Float = 1.0,
                   clip_gradient: Float = -1.0):
    """``weight = (1 - lr * wd) * weight - lr * sign(grad)`` (as in MXNet, rescale_grad and
    clip_gradient do not change the sign)."""
    _check("signsgd_update", ("weight", "grad"), (weight, grad), same_dtype=("grad",))
    lr, wd = _f32(lr), _f32(wd)
    out = weight * (1.0 - lr * wd)
    out -= lr * rt.xp.sign(grad)
    return out


@register("signum_update", shape=_same_shape_rule(), dtype=_W)
def signum_update(rt, weight, grad, mom, *, lr: Float, momentum: Float = 0.0, wd: Float = 0.0,
                  rescale_grad: Float = 1.0, clip_gradient: Float = -1.0, wd_lh: Float = 0.0):
    """Signum: ``mom = momentum * mom - (1 - momentum) * (wd * weight + clip(rescale_grad *
    grad))`` (in place), ``weight = (1 - lr * wd_lh) * weight + lr * sign(mom)``."""
    _check("signum_update", ("weight", "grad", "mom"), (weight, grad, mom),
           same_dtype=("grad", "mom"))
    lr, wd, momentum, wd_lh = _f32(lr), _f32(wd), _f32(momentum), _f32(wd_lh)
    t = _scaled(rt.xp, grad, rescale_grad, clip_gradient)
    if wd:
        t += wd * weight
    t *= 1.0 - momentum
    mom *= momentum
    mom -= t
    out = weight * (1.0 - lr * wd_lh)
    out += lr * rt.xp.sign(mom)
    return out


# --- adaptive methods ----------------------------------------------------------------------
def _decayed(xp, g, w, rescale, wd, clip):
    """``clip(rescale * g + wd * w)`` (the decay inside the clip, as Adam's and RMSProp's
    kernels add it)."""
    t = xp.multiply(g, _f32(rescale))
    wd = _f32(wd)
    if wd:
        t += wd * w
    if clip >= 0:
        c = _f32(clip)
        xp.clip(t, -c, c, out=t)
    return t


@register("adam_update", shape=_same_shape_rule(), dtype=_W)
def adam_update(rt, weight, grad, mean, var, *, lr: Float, beta1: Float = 0.9,
                beta2: Float = 0.999, epsilon: Float = 1e-8, wd: Float = 0.0,
                rescale_grad: Float = 1.0, clip_gradient: Float = -1.0,
                lazy_update: Bool = True):
    """Adam step (bias correction is the caller's, folded into ``lr``): ``g = clip(
    rescale_grad * grad + wd * weight)``, ``mean``/``var`` moving averages (in place),
    returns ``weight - lr * mean / (sqrt(var) + epsilon)``."""
    _check("adam_update", ("weight", "grad", "mean", "var"), (weight, grad, mean, var),
           same_dtype=("grad", "mean", "var"))
    xp = rt.xp
    b1, b2, eps, lr = _f32(beta1), _f32(beta2), _f32(epsilon), _f32(lr)
    t = _decayed(xp, grad, weight, rescale_grad, wd, clip_gradient)
    mean *= b1
    mean += (1.0 - b1) * t
    var *= b2
    var += (1.0 - b2) * (t * t)
    d = xp.sqrt(var)
    d += eps
    return weight - lr * (mean / d)


def _clip_weights(xp, w, clip_weights):
    if clip_weights >= 0:
        c = _f32(clip_weights)
        xp.clip(w, -c, c, out=w)
    return w


@register("rmsprop_update", shape=_same_shape_rule(), dtype=_W)
def rmsprop_update(rt, weight, grad, n, *, lr: Float, gamma1: Float = 0.95,
                   epsilon: Float = 1e-8, wd: Float = 0.0, rescale_grad: Float = 1.0,
                   clip_gradient: Float = -1.0, clip_weights: Float = -1.0):
    """RMSProp (Tieleman & Hinton): ``n = (1 - gamma1) * g^2 + gamma1 * n`` (in place),
    returns ``clip_weights(weight - lr * g / sqrt(n + epsilon))``."""
    _check("rmsprop_update", ("weight", "grad", "n"), (weight, grad, n),
           same_dtype=("grad", "n"))
    xp = rt.xp
    g1, eps, lr = _f32(gamma1), _f32(epsilon), _f32(lr)
    t = _decayed(xp, grad, weight, rescale_grad, wd, clip_gradient)
    n *= g1
    n += (1.0 - g1) * (t * t)
    out = weight - lr * (t / xp.sqrt(n + eps))
    return _clip_weights(xp, out, clip_weights)


@register("rmspropalex_update", shape=_same_shape_rule(), dtype=_W)
def rmspropalex_update(rt, weight, grad, n, g, delta, *, lr: Float, gamma1: Float = 0.95,
                       gamma2: Float = 0.9, epsilon: Float = 1e-8, wd: Float = 0.0,
                       rescale_grad: Float = 1.0, clip_gradient: Float = -1.0,
                       clip_weights: Float = -1.0):
    """Centered RMSProp (Graves): ``n``, ``g`` and ``delta = gamma2 * delta - lr * grad /
    sqrt(n - g^2 + epsilon)`` updated in place; returns ``clip_weights(weight + delta)``."""
    _check("rmspropalex_update", ("weight", "grad", "n", "g", "delta"),
           (weight, grad, n, g, delta), same_dtype=("grad", "n", "g", "delta"))
    xp = rt.xp
    g1, g2, eps, lr = _f32(gamma1), _f32(gamma2), _f32(epsilon), _f32(lr)
    t = _decayed(xp, grad, weight, rescale_grad, wd, clip_gradient)
    n *= g1
    n += (1.0 - g1) * (t * t)
    g *= g1
    g += (1.0 - g1) * t
    delta *= g2
    delta -= (lr * t) / xp.sqrt(n - g * g + eps)
    return _clip_weights(xp, weight + delta, clip_weights)


@register("ftrl_update", shape=_same_shape_rule(), dtype=_W)
def ftrl_update(rt, weight, grad, z, n, *, lr: Float, lamda1: Float = 0.01, beta: Float = 1.0,
                wd: Float = 0.0, rescale_grad: Float = 1.0, clip_gradient: Float = -1.0):
    """FTRL-proximal: ``z += g - (sqrt(n + g^2) - sqrt(n)) * weight / lr``, ``n += g^2``
    (in place); returns ``(sign(z) * lamda1 - z) / ((beta + sqrt(n)) / lr + wd)`` where
    ``|z| > lamda1``, else 0."""
    _check("ftrl_update", ("weight", "grad", "z", "n"), (weight, grad, z, n),
           same_dtype=("grad", "z", "n"))
    xp = rt.xp
    lr, wd, l1, beta = _f32(lr), _f32(wd), _f32(lamda1), _f32(beta)
    t = _scaled(xp, grad, rescale_grad, clip_gradient)
    sq_old = xp.sqrt(n)
    n += t * t
    z += t - (xp.sqrt(n) - sq_old) * weight / lr
    out = (xp.sign(z) * l1 - z) / ((beta + xp.sqrt(n)) / lr + wd)
    out *= xp.abs(z) > l1
    return out


@register("ftml_update", shape=_same_shape_rule(), dtype=_W)
def ftml_update(rt, weight, grad, d, v, z, *, lr: Float, beta1: Float = 0.6,
                beta2: Float = 0.999, epsilon: Float = 1e-8, t: Int, wd: Float = 0.0,
                rescale_grad: Float = 1.0, clip_grad: Float = -1.0):
    """FTML (``t``: the update count, from 1): ``g = clip(rescale_grad * grad + wd *
    weight)``, ``v``, ``d``, ``z`` updated in place; returns ``-z / d``."""
    _check("ftml_update", ("weight", "grad", "d", "v", "z"), (weight, grad, d, v, z),
           same_dtype=("grad", "d", "v", "z"))
    if t < 1:
        raise MXNetError(f"ftml_update: t (the update count) must be >= 1, got {t}")
    xp = rt.xp
    lr, b1, b2 = _f32(lr), _f32(beta1), _f32(beta2)
    gi = _decayed(xp, grad, weight, rescale_grad, wd, clip_grad)
    v *= b2
    v += (1.0 - b2) * (gi * gi)
    d_t = (1.0 - b1 ** t) / lr * (xp.sqrt(v / (1.0 - b2 ** t)) + epsilon)
    z *= b1
    z += (1.0 - b1) * gi - (d_t - b1 * d) * weight
    d[...] = d_t
    return -z / d_t


# --- LAMB ----------------------------------------------------------------------------------
def _lamb1(xp, w, grad, mean, var, beta1, beta2, epsilon, t, bias_correction, wd, rescale,
           clip):
    b1, b2, eps, wd = _f32(beta1), _f32(beta2), _f32(epsilon), _f32(wd)
    s = _scaled(xp, grad, rescale, clip, mean.dtype)
    mean *= b1
    mean += (1.0 - b1) * s
    var *= b2
    var += (1.0 - b2) * (s * s)
    if bias_correction:
        m = mean / (1.0 - b1 ** t)
        v = var / (1.0 - b2 ** t)
    else:
        m, v = mean.copy(), var
    m /= xp.sqrt(v) + eps
    if wd:
        m += wd * w
    return m


def _check_t(name, t):
    if t < 1:
        raise MXNetError(f"{name}: t (the update count) must be >= 1, got {t}")


@register("lamb_update_phase1", shape=_same_shape_rule(), dtype=_W)
def lamb_update_phase1(rt, weight, grad, mean, var, *, beta1: Float = 0.9,
                       beta2: Float = 0.999, epsilon: Float = 1e-6, t: Int,
                       bias_correction: Bool = True, wd: Float, rescale_grad: Float = 1.0,
                       clip_gradient: Float = -1.0):
    """LAMB's first phase: updates ``mean``/``var`` in place and returns the direction
    ``mean_hat / (sqrt(var_hat) + epsilon) + wd * weight`` (bias-corrected with ``beta **
    t`` when ``bias_correction``)."""
    _check("lamb_update_phase1", ("weight", "grad", "mean", "var"), (weight, grad, mean, var),
           same_dtype=("grad", "mean", "var"))
    _check_t("lamb_update_phase1", t)
    return _lamb1(rt.xp, weight, grad, mean, var, beta1, beta2, epsilon, t, bias_correction,
                  wd, rescale_grad, clip_gradient)


@register("mp_lamb_update_phase1", shape=_same_shape_rule(), dtype=_dtype_of_input(4),
          index_inputs=("mean", "var", "weight32"))
def mp_lamb_update_phase1(rt, weight, grad, mean, var, weight32, *, beta1: Float = 0.9,
                          beta2: Float = 0.999, epsilon: Float = 1e-6, t: Int,
                          bias_correction: Bool = True, wd: Float,
                          rescale_grad: Float = 1.0, clip_gradient: Float = -1.0):
    """Multi-precision ``lamb_update_phase1``: float32 moments and ``weight32``; returns the
    float32 direction."""
    _check("mp_lamb_update_phase1", ("weight", "grad", "mean", "var", "weight32"),
           (weight, grad, mean, var, weight32))
    _check_mp("mp_lamb_update_phase1", weight32)
    _check_t("mp_lamb_update_phase1", t)
    return _lamb1(rt.xp, weight32, grad, mean, var, beta1, beta2, epsilon, t,
                  bias_correction, wd, rescale_grad, clip_gradient)


def _ratio(name, r1, r2, lower_bound, upper_bound):
    for n, r in (("r1", r1), ("r2", r2)):
        if r.size != 1:
            raise MXNetError(f"{name}: {n} must hold one number (a norm), got shape "
                             f"{tuple(r.shape)}")
    a, b = float(r1.reshape(-1)[0]), float(r2.reshape(-1)[0])
    if lower_bound >= 0:
        a = max(a, _f32(lower_bound))
    if upper_bound >= 0:
        a = min(a, _f32(upper_bound))
    return 1.0 if a == 0.0 or b == 0.0 else a / b


def _lamb2_shape(n_w):
    def rule(a, in_shapes):
        w = in_shapes[0] if in_shapes[0] is not None else in_shapes[1]
        ins = list(in_shapes)
        for i in (0, 1) + ((4,) if n_w else ()):
            ins[i] = ins[i] or w
        ins[2] = ins[2] or (1,)
        ins[3] = ins[3] or (1,)
        return ins, [w]
    return rule


@register("lamb_update_phase2", shape=_lamb2_shape(False), dtype=_W,
          index_inputs=("r1", "r2"))
def lamb_update_phase2(rt, weight, g, r1, r2, *, lr: Float, lower_bound: Float = -1.0,
                       upper_bound: Float = -1.0):
    """LAMB's second phase: returns ``weight - lr * r1 / r2 * g`` with ``r1`` (the weight's
    norm) bounded by ``lower_bound``/``upper_bound`` when they are >= 0, and a ratio of 1
    when either norm is 0."""
    _check("lamb_update_phase2", ("weight", "g"), (weight, g), same_dtype=("g",))
    ratio = _ratio("lamb_update_phase2", r1, r2, lower_bound, upper_bound)
    return weight - (_f32(lr) * ratio) * g


@register("mp_lamb_update_phase2", shape=_lamb2_shape(True), dtype=_W,
          index_inputs=("g", "r1", "r2", "weight32"))
def mp_lamb_update_phase2(rt, weight, g, r1, r2, weight32, *, lr: Float,
                          lower_bound: Float = -1.0, upper_bound: Float = -1.0):
    """Multi-precision ``lamb_update_phase2``: the step runs in float32 on ``weight32`` and
    is returned in the weight's dtype. As in MXNet 1.9.1, ``weight32`` itself is *not*
    updated (its kernel writes only the output)."""
    _check("mp_lamb_update_phase2", ("weight", "g", "weight32"), (weight, g, weight32))
    _check_mp("mp_lamb_update_phase2", weight32)
    ratio = _ratio("mp_lamb_update_phase2", r1, r2, lower_bound, upper_bound)
    new = weight32 - (_f32(lr) * ratio) * g.astype(np.float32, copy=False)
    return new.astype(weight.dtype)


# --- the multi-weight SGD operators ----------------------------------------------------------
# inputs: per weight [weight, grad, (mom), (weight32)], then (preloaded_*) lrs and wds arrays
_MULTI = {  # name -> (arrays per weight, has mom, multi-precision, preloaded)
    "multi_sgd_update": (2, False, False, False),
    "multi_sgd_mom_update": (3, True, False, False),
    "multi_mp_sgd_update": (3, False, True, False),
    "multi_mp_sgd_mom_update": (4, True, True, False),
    "preloaded_multi_sgd_update": (2, False, False, True),
    "preloaded_multi_sgd_mom_update": (3, True, False, True),
    "preloaded_multi_mp_sgd_update": (3, False, True, True),
    "preloaded_multi_mp_sgd_mom_update": (4, True, True, True),
}


def _multi_shape(name):
    per = _MULTI[name][0]

    def rule(a, in_shapes):
        n = a["num_weights"]
        return in_shapes, [in_shapes[i * per] if i * per < len(in_shapes) else None
                           for i in range(n)]
    return rule


def _multi_dtype(name):
    per = _MULTI[name][0]

    def rule(a, in_types, n_out):
        return in_types, [in_types[i * per] if i * per < len(in_types) else None
                          for i in range(n_out)]
    return rule


def _multi_run(name, rt, data, num_weights, lrs, wds, momentum, rescale, clip):
    per, has_mom, mp, pre = _MULTI[name]
    want = per * num_weights + (2 if pre else 0)
    if num_weights < 1 or len(data) != want:
        raise MXNetError(f"{name}: num_weights={num_weights} needs {want} arrays ("
                         f"{per} per weight{', then lrs and wds' if pre else ''}), got "
                         f"{len(data)}")
    if pre:
        lrs_a, wds_a = data[-2], data[-1]
        for n, arr in (("lrs", lrs_a), ("wds", wds_a)):
            if arr.shape != (num_weights,):
                raise MXNetError(f"{name}: {n} must be a vector of num_weights={num_weights} "
                                 f"numbers, got shape {tuple(arr.shape)}")
        lrs, wds = [float(x) for x in lrs_a.tolist()], [float(x) for x in wds_a.tolist()]
    else:
        for n, v in (("lrs", lrs), ("wds", wds)):
            if len(v) != num_weights:
                raise MXNetError(f"{name}: {n} must hold num_weights={num_weights} numbers, "
                                 f"got {len(v)}")
    outs = []
    for i in range(num_weights):
        grp = data[i * per:(i + 1) * per]
        w, g = grp[0], grp[1]
        mom = grp[2] if has_mom else None
        names = ("weight", "grad") + (("mom",) if has_mom else ()) + (("weight32",) if mp
                                                                       else ())
        _check(f"{name} (weight {i})", names, grp,
               same_dtype=() if mp else names[1:])
        if mp:
            w32 = grp[-1]
            _check_mp(f"{name} (weight {i})", w32)
            # MXNet's multi kernels: mom = momentum * mom - lr * wd * w - lr * clip(...)
            w32[...] = _multi_step(rt.xp, w32, g, mom, lrs[i], wds[i], rescale, clip,
                                   momentum)
            outs.append(w32.astype(w.dtype))
        else:
            outs.append(_multi_step(rt.xp, w, g, mom, lrs[i], wds[i], rescale, clip,
                                    momentum))
    return tuple(outs) if num_weights > 1 else outs[0]


def _multi_step(xp, w, g, mom, lr, wd, rescale, clip, momentum):
    """The multi-SGD kernel: ``mom = momentum * mom - lr * wd * w - lr * clip(rescale *
    g)``; ``w + mom`` (``mom = 0`` without momentum)."""
    lr, wd, momentum = _f32(lr), _f32(wd), _f32(momentum)
    step = _scaled(xp, g, rescale, clip, w.dtype)
    step *= lr
    step += (lr * wd) * w
    if mom is None:
        return w - step
    mom *= momentum
    mom -= step
    return w + mom


def _register_multi(name, doc, preloaded, has_mom):
    shape, dtype = _multi_shape(name), _multi_dtype(name)
    def n_out(a):
        return a["num_weights"]
    if preloaded and has_mom:
        def fwd(rt, *data, momentum: Float = 0.0, rescale_grad: Float = 1.0,
                clip_gradient: Float = -1.0, num_weights: Int = 1):
            return _multi_run(name, rt, data, num_weights, None, None, momentum,
                              rescale_grad, clip_gradient)
    elif preloaded:
        def fwd(rt, *data, rescale_grad: Float = 1.0, clip_gradient: Float = -1.0,
                num_weights: Int = 1):
            return _multi_run(name, rt, data, num_weights, None, None, 0.0, rescale_grad,
                              clip_gradient)
    elif has_mom:
        def fwd(rt, *data, lrs: FloatShape, wds: FloatShape, momentum: Float = 0.0,
                rescale_grad: Float = 1.0, clip_gradient: Float = -1.0,
                num_weights: Int = 1):
            return _multi_run(name, rt, data, num_weights, lrs, wds, momentum, rescale_grad,
                              clip_gradient)
    else:
        def fwd(rt, *data, lrs: FloatShape, wds: FloatShape, rescale_grad: Float = 1.0,
                clip_gradient: Float = -1.0, num_weights: Int = 1):
            return _multi_run(name, rt, data, num_weights, lrs, wds, 0.0, rescale_grad,
                              clip_gradient)
    fwd.__doc__ = doc
    register(name, shape=shape, dtype=dtype, num_outputs=n_out)(fwd)


for _name, (_per, _mom, _mp, _pre) in _MULTI.items():
    _layout = "[weight, grad" + (", mom" if _mom else "") + (", weight32" if _mp else "") + "]"
    _register_multi(
        _name,
        f"SGD{' with momentum' if _mom else ''} on ``num_weights`` weights at once "
        f"(MXNet's ``{_name}``): the inputs are {_layout} per weight"
        + (", then the learning rates and weight decays as arrays ``lrs``, ``wds``"
           if _pre else ", with ``lrs``/``wds`` one number per weight")
        + ". Returns the new weights (pass ``out=`` the weights to update them in place)"
        + ("; the momenta are updated in place" if _mom else "")
        + ("; the float32 ``weight32`` copies are updated in place" if _mp else "") + ".",
        _pre, _mom)


# --- LARS ------------------------------------------------------------------------------------
def _lars_shape(a, in_shapes):
    s = next((x for x in in_shapes if x is not None), None)
    return [s if x is None else x for x in in_shapes], [s]


@register("multi_lars", shape=_lars_shape, dtype=_W)
def multi_lars(rt, lrs, weights_sum_sq, grads_sum_sq, wds, *, eta: Float, eps: Float,
               rescale_grad: Float = 1.0):
    """LARS learning rates: ``lrs * eta * ||w|| / (||g|| + wd * ||w|| + eps)`` per weight,
    with ``||w|| = sqrt(weights_sum_sq)`` and ``||g|| = sqrt(grads_sum_sq) * rescale_grad``;
    the learning rate is kept where either norm is 0."""
    names = ("lrs", "weights_sum_sq", "grads_sum_sq", "wds")
    arrs = (lrs, weights_sum_sq, grads_sum_sq, wds)
    for n, x in zip(names, arrs):
        if x.ndim != 1 or x.shape != lrs.shape:
            raise MXNetError(f"multi_lars: {n} must be a vector like lrs {tuple(lrs.shape)}, "
                             f"got shape {tuple(x.shape)}")
    _check("multi_lars", names, arrs)
    xp = rt.xp
    eta, eps = _f32(eta), _f32(eps)
    wn = xp.sqrt(weights_sum_sq)
    gn = xp.sqrt(grads_sum_sq) * _f32(rescale_grad)
    ok = (wn > 0) & (gn > 0)
    safe = xp.where(ok, gn + wds * wn + eps, 1.0).astype(lrs.dtype, copy=False)
    return xp.where(ok, lrs * (eta * wn / safe), lrs).astype(lrs.dtype, copy=False)
