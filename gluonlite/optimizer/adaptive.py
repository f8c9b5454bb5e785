"""Per-coordinate adaptive optimizers: ``AdaGrad``, ``RMSProp``, ``AdaDelta``, ``Ftrl``,
``FTML`` -- MXNet 1.9.1's update rules.

MXNet creates the states of AdaGrad, RMSProp, AdaDelta and Ftrl as float32 whatever the
weight's dtype (its update then fails for other dtypes); gluonlite gives them the
weight's dtype, which is the same for float32 weights and works for the others.
"""
from __future__ import annotations

from . import rules
from .optimizer import Optimizer, register, check_real, check_weight_grad, zeros_like

__all__ = ["AdaGrad", "RMSProp", "AdaDelta", "Ftrl", "FTML"]


@register
class AdaGrad(Optimizer):
    """AdaGrad::

        grad = clip(rescale_grad * grad, clip_gradient)
        history += grad ** 2
        weight += -lr * (grad / sqrt(history + eps) + wd * weight)

    Parameters
    ----------
    eps : float, default 1e-7
        Added to the history inside the square root (stored as ``float_stable_eps``).
    """

    def __init__(self, eps=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = check_real("eps", eps)

    def create_state(self, index, weight):
        return zeros_like(weight)

    def update(self, index, weight, grad, state):
        lr, wd, _ = self._begin_update(index, weight, grad)
        xp = weight.context.xp
        w, history = weight._data, state._data
        g = xp.multiply(grad._data, self.rescale_grad)
        if self.clip_gradient is not None:
            xp.clip(g, -self.clip_gradient, self.clip_gradient, out=g)
        history += xp.square(g)
        d = history + self.float_stable_eps
        xp.sqrt(d, out=d)
        xp.divide(g, d, out=d)
        d += w * wd
        d *= -lr
        w += d


@register
class RMSProp(Optimizer):
    """RMSProp: Tieleman & Hinton's (``rmsprop_update``), or with ``centered=True``
    Graves' (``rmspropalex_update``)::

        g = clip(rescale_grad * grad + wd * weight, clip_gradient)
        n = (1 - gamma1) * g ** 2 + gamma1 * n
        plain:     weight -= lr * g / sqrt(n + epsilon)
        centered:  gbar = (1 - gamma1) * g + gamma1 * gbar
                   delta = gamma2 * delta - lr * g / sqrt(n - gbar ** 2 + epsilon)
                   weight += delta
        weight = clip(weight, clip_weights)

    State: ``(n,)`` or ``(n, gbar, delta)``.

    Parameters
    ----------
    learning_rate : float, default 0.001
    gamma1 : float, default 0.9
        Decay of the moving averages.
    gamma2 : float, default 0.9
        Momentum of ``delta`` (centered only).
    epsilon : float, default 1e-8
    centered : bool, default False
    clip_weights : float, optional
        Clip the weights to ``[-clip_weights, clip_weights]`` after each update.
    """

    def __init__(self, learning_rate=0.001, gamma1=0.9, gamma2=0.9, epsilon=1e-8,
                 centered=False, clip_weights=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1 = check_real("gamma1", gamma1)
        self.gamma2 = check_real("gamma2", gamma2)
        self.centered = bool(centered)
        self.epsilon = check_real("epsilon", epsilon)
        self.clip_weights = check_real("clip_weights", clip_weights, allow_none=True)

    def create_state(self, index, weight):
        if self.centered:
            return (zeros_like(weight), zeros_like(weight), zeros_like(weight))
        return (zeros_like(weight),)

    def update(self, index, weight, grad, state):
        lr, wd, _ = self._begin_update(index, weight, grad)
        xp = weight.context.xp
        clip_weights = self.clip_weights if self.clip_weights else None
        if not self.centered:
            (n,) = state
            rules.rmsprop(xp, weight._data, grad._data, n._data, lr, wd, self.rescale_grad,
                          self._clip(), self.gamma1, self.epsilon, clip_weights)
        else:
            n, g, delta = state
            rules.rmspropalex(xp, weight._data, grad._data, n._data, g._data, delta._data, lr,
                              wd, self.rescale_grad, self._clip(), self.gamma1, self.gamma2,
                              self.epsilon, clip_weights)


@register
class AdaDelta(Optimizer):
    """AdaDelta (no learning rate)::

        grad *= rescale_grad                    (in place, as MXNet does)
        grad = clip(grad, clip_gradient)
        acc_g = rho * acc_g + (1 - rho) * grad ** 2
        delta = sqrt(acc_delta + epsilon) / sqrt(acc_g + epsilon) * grad
        acc_delta = rho * acc_delta + (1 - rho) * delta ** 2
        weight -= delta + wd * weight

    State: ``(acc_g, acc_delta)``.

    Parameters
    ----------
    rho : float, default 0.9
    epsilon : float, default 1e-5
    """

    def __init__(self, rho=0.90, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.rho = check_real("rho", rho)
        self.epsilon = check_real("epsilon", epsilon)

    def create_state(self, index, weight):
        return (zeros_like(weight), zeros_like(weight))

    def update(self, index, weight, grad, state):
        check_weight_grad(weight, grad)
        wd = self._get_wd(index)
        self._update_count(index)
        xp = weight.context.xp
        w = weight._data
        g = grad._data
        g *= self.rescale_grad
        if self.clip_gradient is not None:
            g = xp.clip(g, -self.clip_gradient, self.clip_gradient)
        acc_g, acc_delta = state[0]._data, state[1]._data
        acc_g *= self.rho
        acc_g += (1. - self.rho) * g * g
        cur = xp.sqrt(acc_delta + self.epsilon)
        cur /= xp.sqrt(acc_g + self.epsilon)
        cur *= g
        acc_delta *= self.rho
        acc_delta += (1. - self.rho) * cur * cur
        if wd:
            cur += wd * w
        w -= cur


@register
class Ftrl(Optimizer):
    """FTRL-Proximal (``ftrl_update``)::

        g = clip(rescale_grad * grad, clip_gradient)
        z += g - (sqrt(n + g ** 2) - sqrt(n)) * weight / lr
        n += g ** 2
        weight = (sign(z) * lamda1 - z) / ((beta + sqrt(n)) / lr + wd) * (|z| > lamda1)

    State: ``(z, n)``.

    Parameters
    ----------
    lamda1 : float, default 0.01
        The L1 regularisation coefficient.
    learning_rate : float, default 0.1
    beta : float, default 1
    """

    def __init__(self, lamda1=0.01, learning_rate=0.1, beta=1, **kwargs):
        super().__init__(**kwargs)
        self.lamda1 = check_real("lamda1", lamda1)
        self.beta = check_real("beta", beta)
        self.lr = check_real("learning_rate", learning_rate)

    def create_state(self, index, weight):
        return (zeros_like(weight), zeros_like(weight))

    def update(self, index, weight, grad, state):
        check_weight_grad(weight, grad)
        self._update_count(index)
        wd = self._get_wd(index)
        lr = self._get_lr(index)
        z, n = state
        rules.ftrl(weight.context.xp, weight._data, grad._data, z._data, n._data, lr, wd,
                   self.rescale_grad, self._clip(), self.lamda1, self.beta)


@register
class FTML(Optimizer):
    """FTML, Follow the Moving Leader (``ftml_update``)::

        g = clip(rescale_grad * grad + wd * weight, clip_gradient)
        v = beta2 * v + (1 - beta2) * g ** 2
        d_t = (1 - beta1 ** t) / lr * (sqrt(v / (1 - beta2 ** t)) + epsilon)
        z = beta1 * z + (1 - beta1) * g - (d_t - beta1 * d) * weight
        d = d_t;  weight = -z / d_t

    State: ``(d, v, z)``.

    Parameters
    ----------
    beta1 : float, default 0.6
    beta2 : float, default 0.999
    epsilon : float, default 1e-8
    """

    def __init__(self, beta1=0.6, beta2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.beta1 = check_real("beta1", beta1)
        self.beta2 = check_real("beta2", beta2)
        self.epsilon = check_real("epsilon", epsilon)

    def create_state(self, index, weight):
        return (zeros_like(weight), zeros_like(weight), zeros_like(weight))

    def update(self, index, weight, grad, state):
        lr, wd, t = self._begin_update(index, weight, grad)
        d, v, z = state
        rules.ftml(weight.context.xp, weight._data, grad._data, d._data, v._data, z._data, lr,
                   wd, self.rescale_grad, self._clip(), self.beta1, self.beta2, self.epsilon,
                   t)
