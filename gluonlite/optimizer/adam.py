"""Adam-type optimizers: ``Adam``, ``AdamW``, ``Adamax``, ``Nadam``, ``LAMB`` -- MXNet's
update rules (MXNet 1.9.1; ``AdamW`` as MXNet 2 defines it, which 1.9.1 lacks)."""
from __future__ import annotations

import math

import numpy

from .. import ndarray as nd
from . import rules
from .optimizer import (Optimizer, ImplUpdates, register, check_real, zeros_like,
                        aggregation_size)

__all__ = ["Adam", "AdamW", "Adamax", "Nadam", "LAMB"]


def _moments(weight):
    return (zeros_like(weight), zeros_like(weight))


@register
class Adam(Optimizer):
    """Adam (MXNet's ``adam_update``), the bias correction folded into the learning rate::

        g = clip(rescale_grad * grad + wd * weight, clip_gradient)
        mean = beta1 * mean + (1 - beta1) * g
        var = beta2 * var + (1 - beta2) * g ** 2
        weight -= lr * sqrt(1 - beta2 ** t) / (1 - beta1 ** t) * mean / (sqrt(var) + epsilon)

    ``t`` is the weight's update count. State: ``(mean, var)``.

    Parameters
    ----------
    learning_rate : float, default 0.001
    beta1 : float, default 0.9
    beta2 : float, default 0.999
    epsilon : float, default 1e-8
    lazy_update : bool, default True
        With a row_sparse gradient, update only the rows it stores (weight, mean, var);
        with False the gradient is used as a dense one. Dense gradients: no difference.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 lazy_update=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = check_real("beta1", beta1)
        self.beta2 = check_real("beta2", beta2)
        self.epsilon = check_real("epsilon", epsilon)
        self.lazy_update = bool(lazy_update)

    def create_state(self, index, weight):
        return _moments(weight)

    def update(self, index, weight, grad, state):
        lr, wd, t = self._begin_update(index, weight, grad)
        coef1 = 1. - self.beta1 ** t
        coef2 = 1. - self.beta2 ** t
        lr *= math.sqrt(coef2) / coef1
        mean, var = state
        lazy = self.lazy_update and nd.sparse.lazy_rows(grad)
        if lazy:
            # MXNet's lazy update: only the rows stored in the row_sparse gradient move
            rows, gv = lazy
            w, m, v = weight._data[rows], mean._data[rows], var._data[rows]
            rules.adam(weight.context.xp, w, gv.astype(w.dtype, copy=False), m, v, lr, wd,
                       self.rescale_grad, self._clip(), self.beta1, self.beta2, self.epsilon)
            weight._data[rows], mean._data[rows], var._data[rows] = w, m, v
            return
        rules.adam(weight.context.xp, weight._data, grad._data, mean._data, var._data, lr, wd,
                   self.rescale_grad, self._clip(), self.beta1, self.beta2, self.epsilon)


@register
class AdamW(Optimizer):
    """AdamW, decoupled weight decay (MXNet 2's ``AdamW``; MXNet 1.9.1 has only the
    ``contrib.adamw_update`` kernel, which this runs)::

        g = clip(rescale_grad * grad, clip_gradient)
        mean = beta1 * mean + (1 - beta1) * g
        var = beta2 * var + (1 - beta2) * g ** 2
        eta = lr * sqrt(1 - beta2 ** t) / (1 - beta1 ** t)      (correct_bias, else lr)
        weight -= eta * (mean / (sqrt(var) + epsilon) + wd * weight)

    With ``use_fused_step=False`` MXNet 2's unfused step is used instead, which decays
    the already-updated weight: ``weight -= eta * mean / (sqrt(var) + epsilon); weight -=
    eta * wd * weight``.

    Parameters
    ----------
    learning_rate : float, default 0.001
    beta1 : float, default 0.9
    beta2 : float, default 0.999
    epsilon : float, default 1e-6
    correct_bias : bool, default True
    use_fused_step : bool, default True
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-6,
                 correct_bias=True, use_fused_step=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = check_real("beta1", beta1)
        self.beta2 = check_real("beta2", beta2)
        self.epsilon = check_real("epsilon", epsilon)
        self.correct_bias = bool(correct_bias)
        self.use_fused_step = bool(use_fused_step)

    def create_state(self, index, weight):
        return _moments(weight)

    def update(self, index, weight, grad, state):
        lr, wd, t = self._begin_update(index, weight, grad)
        if self.correct_bias:
            lr *= math.sqrt(1. - self.beta2 ** t) / (1. - self.beta1 ** t)
        mean, var = state
        xp = weight.context.xp
        if self.use_fused_step:
            rules.adamw(xp, weight._data, grad._data, mean._data, var._data, 1.0, lr, wd,
                        self.rescale_grad, self._clip(), self.beta1, self.beta2, self.epsilon)
            return
        w = weight._data
        clip = self.clip_gradient
        rules.adamw(xp, w, grad._data, mean._data, var._data, 1.0, lr, 0.0,
                    self.rescale_grad, clip if clip is not None else None, self.beta1,
                    self.beta2, self.epsilon)
        if wd > 0:
            w -= (lr * wd) * w


@register
class Adamax(Optimizer):
    """AdaMax, Adam with the infinity norm::

        g = clip(rescale_grad * grad + wd * weight, clip_gradient)
        m = beta1 * m + (1 - beta1) * g
        u = maximum(beta2 * u, |g|)
        weight -= lr / (1 - beta1 ** t) * m / u

    Parameters
    ----------
    learning_rate : float, default 0.002
    beta1 : float, default 0.9
    beta2 : float, default 0.999
    """

    def __init__(self, learning_rate=0.002, beta1=0.9, beta2=0.999, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = check_real("beta1", beta1)
        self.beta2 = check_real("beta2", beta2)

    def create_state(self, index, weight):
        return _moments(weight)

    def update(self, index, weight, grad, state):
        lr, wd, t = self._begin_update(index, weight, grad)
        lr /= (1. - self.beta1 ** t)
        xp = weight.context.xp
        w = weight._data
        g = xp.multiply(grad._data, self.rescale_grad)
        g += wd * w
        if self.clip_gradient is not None:
            xp.clip(g, -self.clip_gradient, self.clip_gradient, out=g)
        m_t, u_t = state[0]._data, state[1]._data
        m_t *= self.beta1
        m_t += (1. - self.beta1) * g
        u_t *= self.beta2
        xp.maximum(u_t, xp.abs(g), out=u_t)
        step = lr * m_t
        step /= u_t
        w -= step


@register
class Nadam(Optimizer):
    """Nesterov Adam. With ``t`` the update count and the momentum schedule
    ``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * schedule_decay))``::

        g = clip(rescale_grad * grad + wd * weight, clip_gradient)
        m_schedule *= mu_t                      (one product for the whole optimizer)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_bar = (1 - mu_t) * g / (1 - m_schedule) + mu_{t+1} * m / (1 - m_schedule * mu_{t+1})
        weight -= lr * m_bar / (sqrt(v / (1 - beta2 ** t)) + epsilon)

    Parameters
    ----------
    learning_rate : float, default 0.001
    beta1 : float, default 0.9
    beta2 : float, default 0.999
    epsilon : float, default 1e-8
    schedule_decay : float, default 0.004
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 schedule_decay=0.004, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = check_real("beta1", beta1)
        self.beta2 = check_real("beta2", beta2)
        self.epsilon = check_real("epsilon", epsilon)
        self.schedule_decay = check_real("schedule_decay", schedule_decay)
        self.m_schedule = 1.

    def create_state(self, index, weight):
        return _moments(weight)

    def update(self, index, weight, grad, state):
        lr, wd, t = self._begin_update(index, weight, grad)
        xp = weight.context.xp
        w = weight._data
        g = xp.multiply(grad._data, self.rescale_grad)
        g += wd * w
        if self.clip_gradient is not None:
            xp.clip(g, -self.clip_gradient, self.clip_gradient, out=g)
        momentum_t = self.beta1 * (1. - 0.5 * (pow(0.96, t * self.schedule_decay)))
        momentum_t_1 = self.beta1 * (1. - 0.5 * (pow(0.96, (t + 1) * self.schedule_decay)))
        self.m_schedule = self.m_schedule * momentum_t
        m_schedule_next = self.m_schedule * momentum_t_1
        m_t, v_t = state[0]._data, state[1]._data
        m_t *= self.beta1
        m_t += (1. - self.beta1) * g
        v_t *= self.beta2
        v_t += (1. - self.beta2) * g * g
        grad_prime = g / (1. - self.m_schedule)
        m_t_prime = m_t / (1. - m_schedule_next)
        v_t_prime = v_t / (1. - pow(self.beta2, t))
        m_t_bar = (1. - momentum_t) * grad_prime + momentum_t_1 * m_t_prime
        xp.sqrt(v_t_prime, out=v_t_prime)
        v_t_prime += self.epsilon
        m_t_bar *= lr
        m_t_bar /= v_t_prime
        w -= m_t_bar


@register
class LAMB(ImplUpdates, Optimizer):
    """LAMB: Adam directions scaled per layer by the trust ratio ``||w|| / ||g||``
    (MXNet's ``lamb_update_phase1``/``phase2`` and ``multi_lamb_update``)::

        g = clip(rescale_grad * grad, clip_gradient)
        mean = beta1 * mean + (1 - beta1) * g;  var = beta2 * var + (1 - beta2) * g ** 2
        d = mean_hat / (sqrt(var_hat) + epsilon) + wd * weight    (hat: bias-corrected)
        r1 = clip(||weight||, lower_bound, upper_bound);  r2 = ||d||
        weight -= lr * (r1 / r2 if r1 > 0 and r2 > 0 else 1) * d

    State: ``(mean, var)``; under ``multi_precision`` ``(master copy, (mean, var))``.

    Parameters
    ----------
    learning_rate : float, default 0.001
    beta1 : float, default 0.9
    beta2 : float, default 0.999
    epsilon : float, default 1e-6
    lower_bound, upper_bound : float, optional
        Bounds of ``||weight||`` in the trust ratio.
    bias_correction : bool, default True
    """

    aggregate_num = 45

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-6,
                 lower_bound=None, upper_bound=None, bias_correction=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = check_real("beta1", beta1)
        self.beta2 = check_real("beta2", beta2)
        self.epsilon = check_real("epsilon", epsilon)
        self.lower_bound = check_real("lower_bound", lower_bound, allow_none=True)
        self.upper_bound = check_real("upper_bound", upper_bound, allow_none=True)
        self.bias_correction = bool(bias_correction)
        self.aggregate_num = max(1, min(45, aggregation_size(45)))

    def create_state(self, index, weight):
        return _moments(weight)

    def _update_one(self, index, weight, grad, state, multi_precision):
        lr, wd, t = self._begin_update(index, weight, grad)
        xp = weight.context.xp
        if multi_precision:
            w32, (mean, var) = state
            target, g = w32._data, grad._data.astype(numpy.float32)
        else:
            mean, var = state
            target, g = weight._data, grad._data
        d = rules.lamb_phase1(xp, target, g, mean._data, var._data, wd, self.rescale_grad,
                              self._clip(), self.beta1, self.beta2, self.epsilon, t,
                              self.bias_correction)
        rules.lamb_phase2(xp, target, d, lr, self.lower_bound if self.lower_bound else None,
                          self.upper_bound if self.upper_bound else None)
        if multi_precision:
            weight._data[...] = target

    def _update_impl(self, index, weight, grad, state, multi_precision=False):
        if isinstance(index, (tuple, list)):
            for i, w, g, s in zip(index, weight, grad, state):
                self._update_one(i, w, g, s, multi_precision)
        else:
            self._update_one(index, weight, grad, state, multi_precision)

