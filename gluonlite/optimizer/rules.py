"""The update rules of MXNet's fused optimizer operators, on raw arrays, in place.

Each function mirrors one of MXNet 1.9.1's C++ update kernels (``sgd_update``,
``multi_sgd_mom_update``, ``nag_mom_update``, ``adam_update``, ``rmsprop_update``, ...):
same formula, same order of the terms, same treatment of the optional arguments. They
take the raw arrays of a weight, its gradient and its states (``numpy`` or ``cupy``
arrays, through the array module ``xp``) and overwrite the weight and the states in
place; nothing is returned and no weight or state buffer is reallocated.

Conventions shared by every rule, as in MXNet's kernels:

* ``rescale`` multiplies the gradient first; ``clip`` (``None`` or a negative number:
  no clipping) then bounds it to ``[-clip, clip]``.
* Scalars are Python floats. MXNet's operators hold their hyper-parameters as float32
  (``lr``, ``wd``, ``rescale_grad``, ... are ``float`` fields), so each rule first rounds
  them to float32 precision (:func:`f32`): a float64 weight sees exactly the float32
  learning rate MXNet uses. NumPy then casts them to the arrays' dtype, so a float32
  weight is updated in float32 arithmetic as MXNet's kernels do.
* :func:`sgd` and :func:`adam` first try their compiled versions (:mod:`.fused`), which
  handle contiguous float32/float64 NumPy arrays in one pass.
"""
from __future__ import annotations

import math

import numpy as np

from . import fused

__all__ = ["sgd", "sgd_fused", "nag", "signsgd", "signum", "adam", "adamw", "rmsprop",
           "rmspropalex", "ftrl", "ftml", "lamb_phase1", "lamb_phase2", "scaled_grad",
           "l2norm"]


_F32: dict = {}


def _round32(v):
    r = _F32.get(v)
    if r is None:
        r = float(np.float32(v))
        if len(_F32) < 4096:  # hyper-parameters repeat every step; schedules add a few
            _F32[v] = r
    return r


def f32(*values):
    """``values`` rounded to float32 precision (None stays None), as Python floats."""
    return tuple([None if v is None else _round32(v) for v in values])


def _clips(clip):
    return clip is not None and clip >= 0


def scaled_grad(xp, g, rescale, clip):
    """A new array ``clip(rescale * g, clip)``."""
    t = xp.multiply(g, rescale)
    if _clips(clip):
        xp.clip(t, -clip, clip, out=t)
    return t


def _decayed_grad(xp, g, w, rescale, wd, clip):
    """A new array ``clip(rescale * g + wd * w)`` (the decay inside the clip, as Adam's and
    RMSProp's kernels add it)."""
    t = xp.multiply(g, rescale)
    if wd:
        t += wd * w
    if _clips(clip):
        xp.clip(t, -clip, clip, out=t)
    return t


def _lr_grad(xp, g, lr, rescale, clip):
    """A new array ``lr * clip(rescale * g)``; ``(lr * rescale) * g`` without clipping."""
    if _clips(clip):
        t = scaled_grad(xp, g, rescale, clip)
        t *= lr
        return t
    return xp.multiply(g, lr * rescale)


def sgd(xp, w, g, mom, lr, wd, rescale, clip, momentum):
    """``multi_sgd_update`` / ``multi_sgd_mom_update`` (what MXNet's SGD optimizer runs)::

        mom = momentum * mom - lr * wd * w - lr * clip(rescale * g)
        w += mom

    Without momentum (``mom`` None) the same step is applied with ``mom = 0``. The
    momentum buffer holds the (negative) velocity that is added to the weight.
    """
    lr, wd, rescale, clip, momentum = f32(lr, wd, rescale, clip, momentum)
    if xp is np and fused.sgd(w, g, mom, lr, wd, rescale, clip, momentum):
        return
    step = _lr_grad(xp, g, lr, rescale, clip)
    if wd:
        step += (lr * wd) * w
    if mom is None:
        w -= step
        return
    mom *= momentum
    mom -= step
    w += mom


def sgd_fused(xp, w, g, lr, wd, rescale, clip):
    """``sgd_update`` (NAG without momentum)::

        w = (1 - lr * wd) * w - lr * clip(rescale * g)
    """
    lr, wd, rescale, clip = f32(lr, wd, rescale, clip)
    step = _lr_grad(xp, g, lr, rescale, clip)
    w *= 1.0 - lr * wd
    w -= step


def nag(xp, w, g, mom, lr, wd, rescale, clip, momentum):
    """``nag_mom_update`` as MXNet runs it, in place (``out`` is the weight)::

        mom = momentum * mom
        w = w - mom + (momentum + 1) * (mom - lr * (clip(rescale * g) + wd * w))
        mom = mom - lr * (clip(rescale * g) + wd * w)

    The kernel writes the weight before it computes the new momentum, and the optimizer
    passes the weight as ``out``, so the last line sees the *updated* weight.
    """
    lr, wd, rescale, clip, momentum = f32(lr, wd, rescale, clip, momentum)
    cg = scaled_grad(xp, g, rescale, clip)
    d = cg + wd * w if wd else cg.copy()
    d *= lr                       # lr * (g + wd * w)
    mom *= momentum
    w -= mom
    d -= mom
    d *= -(momentum + 1.0)        # (momentum + 1) * (mom - d)
    w += d
    if wd:
        cg += wd * w              # the updated weight
    cg *= lr
    mom -= cg


def signsgd(xp, w, g, lr, wd):
    """``signsgd_update``: ``w = (1 - lr * wd) * w - lr * sign(g)`` (MXNet ignores
    ``rescale_grad`` and ``clip_gradient`` here: only the sign matters)."""
    lr, wd = f32(lr, wd)
    s = xp.sign(g)
    w *= 1.0 - lr * wd
    s *= lr
    w -= s


def signum(xp, w, g, mom, lr, wd, rescale, clip, momentum, wd_lh):
    """``signum_update``::

        mom = momentum * mom - (1 - momentum) * wd * w - (1 - momentum) * clip(rescale * g)
        w = (1 - lr * wd_lh) * w + lr * sign(mom)
    """
    lr, wd, rescale, clip, momentum, wd_lh = f32(lr, wd, rescale, clip, momentum, wd_lh)
    t = scaled_grad(xp, g, rescale, clip)
    if wd:
        t += wd * w
    t *= 1.0 - momentum
    mom *= momentum
    mom -= t
    w *= 1.0 - lr * wd_lh
    s = xp.sign(mom)
    s *= lr
    w += s


def _moments(xp, t, mean, var, beta1, beta2):
    """Adam's moment updates in place, ``mean = beta1 * mean + (1 - beta1) * t`` and
    ``var = beta2 * var + (1 - beta2) * t * t``; ``t`` (a scratch array) is overwritten."""
    mean *= beta1
    mean += (1.0 - beta1) * t
    var *= beta2
    t *= t
    t *= 1.0 - beta2
    var += t


def _adam_step(xp, mean, var, lr, epsilon):
    """A new array ``lr * mean / (sqrt(var) + epsilon)``."""
    d = xp.sqrt(var)
    d += epsilon
    xp.divide(mean, d, out=d)
    d *= lr
    return d


def adam(xp, w, g, mean, var, lr, wd, rescale, clip, beta1, beta2, epsilon):
    """``adam_update`` (the bias correction is folded into ``lr`` by the optimizer)::

        g = clip(rescale * g + wd * w)
        mean = beta1 * mean + (1 - beta1) * g
        var = beta2 * var + (1 - beta2) * g * g
        w -= lr * mean / (sqrt(var) + epsilon)
    """
    lr, wd, rescale, clip, beta1, beta2, epsilon = f32(lr, wd, rescale, clip, beta1, beta2,
                                                    epsilon)
    if xp is np and fused.adam(w, g, mean, var, lr, wd, rescale, clip, beta1, beta2, epsilon):
        return
    t = _decayed_grad(xp, g, w, rescale, wd, clip)
    _moments(xp, t, mean, var, beta1, beta2)
    w -= _adam_step(xp, mean, var, lr, epsilon)


def adamw(xp, w, g, mean, var, lr, eta, wd, rescale, clip, beta1, beta2, epsilon):
    """``_adamw_update`` (MXNet's contrib AdamW kernel)::

        g = clip(rescale * g)
        mean = beta1 * mean + (1 - beta1) * g
        var = beta2 * var + (1 - beta2) * g * g
        w -= eta * (lr * mean / (sqrt(var) + epsilon) + wd * w)

    As in MXNet the update is skipped when ``rescale`` is 0, infinite or NaN.
    """
    lr, eta, wd, rescale, clip, beta1, beta2, epsilon = f32(lr, eta, wd, rescale, clip, beta1,
                                                            beta2, epsilon)
    if not math.isfinite(rescale) or rescale == 0:
        return
    t = scaled_grad(xp, g, rescale, clip)
    _moments(xp, t, mean, var, beta1, beta2)
    d = _adam_step(xp, mean, var, lr, epsilon)
    if wd:
        d += wd * w
    d *= eta
    w -= d


def rmsprop(xp, w, g, n, lr, wd, rescale, clip, gamma1, epsilon, clip_weights):
    """``rmsprop_update`` (Tieleman & Hinton; epsilon inside the square root)::

        g = clip(rescale * g + wd * w)
        n = (1 - gamma1) * g * g + gamma1 * n
        w = clip_weights(w - lr * g / sqrt(n + epsilon))
    """
    lr, wd, rescale, clip, gamma1, epsilon, clip_weights = f32(
        lr, wd, rescale, clip, gamma1, epsilon, clip_weights)
    t = _decayed_grad(xp, g, w, rescale, wd, clip)
    n *= gamma1
    n += (1.0 - gamma1) * (t * t)
    d = n + epsilon
    xp.sqrt(d, out=d)
    xp.divide(t, d, out=t)
    t *= lr
    w -= t
    if _clips(clip_weights):
        xp.clip(w, -clip_weights, clip_weights, out=w)


def rmspropalex(xp, w, g, n, gbar, delta, lr, wd, rescale, clip, gamma1, gamma2, epsilon,
                clip_weights):
    """``rmspropalex_update`` (Graves' centered RMSProp)::

        g = clip(rescale * g + wd * w)
        n = (1 - gamma1) * g * g + gamma1 * n
        gbar = (1 - gamma1) * g + gamma1 * gbar
        delta = gamma2 * delta - lr * g / sqrt(n - gbar * gbar + epsilon)
        w = clip_weights(w + delta)
    """
    lr, wd, rescale, clip, gamma1, gamma2, epsilon, clip_weights = f32(
        lr, wd, rescale, clip, gamma1, gamma2, epsilon, clip_weights)
    t = _decayed_grad(xp, g, w, rescale, wd, clip)
    n *= gamma1
    n += (1.0 - gamma1) * (t * t)
    gbar *= gamma1
    gbar += (1.0 - gamma1) * t
    d = gbar * gbar
    xp.subtract(n, d, out=d)
    d += epsilon
    xp.sqrt(d, out=d)
    t *= lr
    xp.divide(t, d, out=t)
    delta *= gamma2
    delta -= t
    w += delta
    if _clips(clip_weights):
        xp.clip(w, -clip_weights, clip_weights, out=w)


def ftrl(xp, w, g, z, n, lr, wd, rescale, clip, lamda1, beta):
    """``ftrl_update``::

        g = clip(rescale * g)
        z += g - (sqrt(n + g * g) - sqrt(n)) * w / lr
        n += g * g
        w = (sign(z) * lamda1 - z) / ((beta + sqrt(n)) / lr + wd) * (abs(z) > lamda1)
    """
    lr, wd, rescale, clip, lamda1, beta = f32(lr, wd, rescale, clip, lamda1, beta)
    t = scaled_grad(xp, g, rescale, clip)
    g2 = t * t
    sq_old = xp.sqrt(n)
    n += g2
    sq_new = xp.sqrt(n)
    sq_new -= sq_old
    sq_new *= w
    sq_new /= lr
    t -= sq_new
    z += t
    xp.sqrt(n, out=sq_old)
    sq_old += beta
    sq_old /= lr
    sq_old += wd
    num = xp.sign(z)
    num *= lamda1
    num -= z
    num /= sq_old
    num *= xp.abs(z) > lamda1
    w[...] = num


def ftml(xp, w, g, d, v, z, lr, wd, rescale, clip, beta1, beta2, epsilon, t):
    """``ftml_update`` (``t`` is the weight's update count)::

        g = clip(rescale * g + wd * w)
        v = beta2 * v + (1 - beta2) * g * g
        d_t = (1 - beta1 ** t) / lr * (sqrt(v / (1 - beta2 ** t)) + epsilon)
        z = beta1 * z + (1 - beta1) * g - (d_t - beta1 * d) * w
        d = d_t
        w = -z / d_t
    """
    lr, wd, rescale, clip, beta1, beta2 = f32(lr, wd, rescale, clip, beta1, beta2)
    gi = xp.multiply(g, rescale)
    if wd:
        gi += wd * w
    if _clips(clip):
        xp.clip(gi, -clip, clip, out=gi)
    v *= beta2
    v += (1.0 - beta2) * (gi * gi)
    d_t = v / (1.0 - beta2 ** t)
    xp.sqrt(d_t, out=d_t)
    d_t += epsilon
    d_t *= (1.0 - beta1 ** t) / lr
    z *= beta1
    gi *= 1.0 - beta1
    z += gi
    d *= beta1
    xp.subtract(d_t, d, out=d)
    d *= w
    z -= d
    d[...] = d_t
    xp.divide(z, d_t, out=d_t)
    xp.negative(d_t, out=w)


def lamb_phase1(xp, w, g, mean, var, wd, rescale, clip, beta1, beta2, epsilon, t,
                bias_correction):
    """``lamb_update_phase1``: updates the moments and returns the direction ``g``::

        g = clip(rescale * g)
        mean = beta1 * mean + (1 - beta1) * g
        var = beta2 * var + (1 - beta2) * g * g
        g = mean_hat / (sqrt(var_hat) + epsilon) + wd * w
    (``mean_hat``, ``var_hat``: bias-corrected with ``beta ** t`` when ``bias_correction``)
    """
    wd, rescale, clip, beta1, beta2, epsilon = f32(wd, rescale, clip, beta1, beta2, epsilon)
    s = scaled_grad(xp, g, rescale, clip)
    _moments(xp, s, mean, var, beta1, beta2)
    if bias_correction:
        m = mean / (1.0 - beta1 ** t)
        xp.divide(var, 1.0 - beta2 ** t, out=s)
    else:
        m = mean.copy()
        s[...] = var
    xp.sqrt(s, out=s)
    s += epsilon
    m /= s
    if wd:
        m += wd * w
    return m


def l2norm(xp, a):
    """The L2 norm of all elements of ``a`` as a Python float (float16 is summed in
    float32)."""
    if a.dtype == xp.float16:
        a = a.astype(xp.float32)
    a = a.reshape(-1)
    return float(xp.sqrt(xp.dot(a, a)))


def lamb_phase2(xp, w, g, lr, lower_bound, upper_bound):
    """``lamb_update_phase2``: the trust-ratio step ``w -= lr * r1 / r2 * g`` with
    ``r1 = ||w||`` (bounded by ``lower_bound``/``upper_bound`` when they are given) and
    ``r2 = ||g||``; the ratio is 1 when either norm is 0."""
    lr, lower_bound, upper_bound = f32(lr, lower_bound, upper_bound)
    r1 = l2norm(xp, w)
    r2 = l2norm(xp, g)
    if lower_bound is not None and lower_bound >= 0:
        r1 = max(r1, lower_bound)
    if upper_bound is not None and upper_bound >= 0:
        r1 = min(r1, upper_bound)
    if r1 != 0.0 and r2 != 0.0:
        lr = lr * r1 / r2
    g *= lr
    w -= g
