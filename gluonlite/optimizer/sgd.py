"""SGD-type optimizers: ``SGD`` (``ccSGD``), ``NAG``, ``Signum``, ``DCASGD``, ``SGLD``,
``Test`` -- MXNet 1.9.1's update rules (see :mod:`.rules` for the fused kernels)."""
from __future__ import annotations

import math
import warnings

import numpy

from .. import ndarray as nd
from . import rules
from .optimizer import (Optimizer, ImplUpdates, register, check_real, check_weight_grad,
                        zeros_like, aggregation_size)

__all__ = ["SGD", "ccSGD", "NAG", "Signum", "DCASGD", "SGLD", "Test"]


def _as_lists(indices, weights, grads, states):
    if isinstance(indices, (tuple, list)):
        return list(indices), list(weights), list(grads), list(states)
    return [indices], [weights], [grads], [states]


def _begin_updates(opt, indices, weights, grads, states):
    """The start of a (possibly aggregated) SGD-family update: the arguments as lists,
    checked, one update counted per index, then their learning rates and weight decays."""
    indices, weights, grads, states = _as_lists(indices, weights, grads, states)
    for w, g in zip(weights, grads):
        check_weight_grad(w, g)
    opt._update_count(indices)
    return indices, weights, grads, states, opt._get_lrs(indices), opt._get_wds(indices)


def _sgd_steps(opt, weights, grads, states, lrs, wds, momentum, multi_precision):
    """MXNet's (multi-)SGD-with-momentum step of each weight with its own ``lr`` and ``wd``;
    under ``multi_precision`` the state is ``(momentum, float32 master copy)``."""
    clip = opt._clip()
    for weight, grad, state, lr, wd in zip(weights, grads, states, lrs, wds):
        xp = weight.context.xp
        lazy = opt.lazy_update and nd.sparse.lazy_rows(grad)
        if lazy:
            # MXNet's lazy update: only the rows stored in the row_sparse gradient move
            mom, w32 = state if multi_precision else (state, None)
            target = (w32 if multi_precision else weight)._data
            rows, gv = lazy
            wr = target[rows]
            mr = None if mom is None else mom._data[rows]
            rules.sgd(xp, wr, gv.astype(wr.dtype, copy=False), mr, lr, wd, opt.rescale_grad,
                      clip, momentum)
            target[rows] = wr
            if mr is not None:
                mom._data[rows] = mr
            if multi_precision:
                weight._data[rows] = wr
            continue
        if multi_precision:
            mom, w32 = state
            rules.sgd(xp, w32._data, grad._data.astype(numpy.float32),
                      None if mom is None else mom._data, lr, wd, opt.rescale_grad, clip,
                      momentum)
            weight._data[...] = w32._data
        else:
            rules.sgd(xp, weight._data, grad._data, None if state is None else state._data,
                      lr, wd, opt.rescale_grad, clip, momentum)


def _master_state(opt, index, weight, label):
    """MXNet's (state, float32 master copy) pair of the SGD family under multi_precision."""
    if opt.multi_precision and weight.dtype == numpy.float16:
        weight_master_copy = weight.astype(numpy.float32)
        return (opt.create_state(index, weight_master_copy), weight_master_copy)
    if weight.dtype == numpy.float16 and not opt.multi_precision:
        warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy or "
                      "slow convergence. Consider using multi_precision=True option of the "
                      f"{label} optimizer", stacklevel=3)
    return opt.create_state(index, weight)


@register
class SGD(ImplUpdates, Optimizer):
    """Stochastic gradient descent with momentum and weight decay (MXNet's fused
    ``multi_sgd_mom_update``)::

        mom = momentum * mom - lr * (clip(rescale_grad * grad, clip_gradient) + wd * weight)
        weight += mom

    Without momentum the weight moves by ``-lr * (clip(rescale_grad * grad) + wd *
    weight)``. The state is the momentum buffer (None when ``momentum == 0``); it holds
    the velocity added to the weight, as MXNet's does.

    Parameters
    ----------
    momentum : float, default 0.0
        The momentum.
    lazy_update : bool, default True
        With a row_sparse gradient, update only the rows it stores (weight, momentum);
        with False, the gradient is used as a dense one (every row decays). Dense
        gradients update every row either way.
    multi_precision : bool, default False
        Keep float32 master weights for float16 parameters (state ``(momentum, master)``).
    **kwargs
        See :class:`Optimizer` (``learning_rate``, ``wd``, ``rescale_grad``,
        ``clip_gradient``, ``lr_scheduler``, ...).
    """

    aggregate_num = 4

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = check_real("momentum", momentum)
        self.lazy_update = bool(lazy_update)
        self.aggregate_num = aggregation_size(4)

    def create_state_multi_precision(self, index, weight):
        return _master_state(self, index, weight, "SGD")

    def create_state(self, index, weight):
        return zeros_like(weight) if self.momentum != 0.0 else None

    def _update_impl(self, indices, weights, grads, states, multi_precision=False):
        indices, weights, grads, states, lrs, wds = _begin_updates(self, indices, weights,
                                                                   grads, states)
        momentum = self.momentum if self.momentum > 0 else 0.0
        _sgd_steps(self, weights, grads, states, lrs, wds, momentum, multi_precision)


@register
class ccSGD(SGD):  # noqa: N801  (MXNet's name)
    """Deprecated alias of :class:`SGD`, kept (as in MXNet) for old code."""


@register
class NAG(Optimizer):
    """Nesterov accelerated gradient (MXNet's ``nag_mom_update``)::

        mom = momentum * mom
        weight += -mom + (momentum + 1) * (mom - lr * (clip(rescale_grad * grad) + wd * weight))
        mom -= lr * (clip(rescale_grad * grad) + wd * weight)

    Without momentum it is plain SGD (``sgd_update``). Parameters as :class:`SGD`
    (``momentum``, ``multi_precision`` with state ``(momentum, master)``).
    """

    def __init__(self, momentum=0.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum = check_real("momentum", momentum)

    def create_state_multi_precision(self, index, weight):
        return _master_state(self, index, weight, "NAG")

    def create_state(self, index, weight):
        return zeros_like(weight) if self.momentum != 0.0 else None

    def _update_impl(self, index, weight, grad, state, multi_precision=False):
        lr, wd, _ = self._begin_update(index, weight, grad)
        momentum = self.momentum if self.momentum > 0 else 0.0
        clip = self._clip()
        xp = weight.context.xp
        if multi_precision:
            mom, w32 = state
            target, g = w32._data, grad._data.astype(numpy.float32)
        else:
            mom, target, g = state, weight._data, grad._data
        if mom is not None:
            rules.nag(xp, target, g, mom._data, lr, wd, self.rescale_grad, clip, momentum)
        else:
            rules.sgd_fused(xp, target, g, lr, wd, self.rescale_grad, clip)
        if multi_precision:
            weight._data[...] = target

    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state, multi_precision=False)

    def update_multi_precision(self, index, weight, grad, state):
        use_mp = (self.multi_precision and weight.dtype == numpy.float16
                  and isinstance(state, (tuple, list)))
        self._update_impl(index, weight, grad, state, multi_precision=use_mp)


@register
class Signum(Optimizer):
    """Signum: SGD on the sign of the momentum (``signum_update``); with ``momentum=0``
    signSGD (``signsgd_update``)::

        mom = momentum * mom - (1 - momentum) * (clip(rescale_grad * grad) + wd * weight)
        weight = (1 - lr * wd_lh) * weight + lr * sign(mom)

    signSGD: ``weight = (1 - lr * wd) * weight - lr * sign(grad)``.

    Parameters
    ----------
    learning_rate : float, default 0.01
    momentum : float, default 0.9
    wd_lh : float, default 0.0
        Decoupled weight decay (applied to the weight directly).
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = check_real("momentum", momentum)
        self.wd_lh = check_real("wd_lh", wd_lh)

    def create_state(self, index, weight):
        return zeros_like(weight) if self.momentum != 0.0 else None

    def update(self, index, weight, grad, state):
        lr, wd, _ = self._begin_update(index, weight, grad)
        xp = weight.context.xp
        if state is not None:
            rules.signum(xp, weight._data, grad._data, state._data, lr, wd, self.rescale_grad,
                         self._clip(), self.momentum if self.momentum > 0 else 0.0,
                         self.wd_lh if self.wd_lh else 0.0)
        else:
            rules.signsgd(xp, weight._data, grad._data, lr, wd)


@register
class DCASGD(Optimizer):
    """Delay-compensated asynchronous SGD::

        grad = clip(rescale_grad * grad, clip_gradient)
        step = -lr * (grad + wd * weight + lamda * grad * grad * (weight - previous_weight))
        mom = momentum * mom + step            (with momentum; else mom = step)
        previous_weight = weight
        weight += mom

    The state is ``(momentum buffer or None, previous weight)``. (MXNet 1.9.1's own
    momentum branch cannot run -- it tests an NDArray's truth value -- so with
    ``momentum > 0`` gluonlite applies the formula above, the one MXNet documents.)

    Parameters
    ----------
    momentum : float, default 0.0
    lamda : float, default 0.04
        The delay-compensation scale.
    """

    def __init__(self, momentum=0.0, lamda=0.04, **kwargs):
        super().__init__(**kwargs)
        self.momentum = check_real("momentum", momentum)
        self.weight_previous = {}
        self.lamda = check_real("lamda", lamda)

    def create_state(self, index, weight):
        prev = weight.copy()
        if self.momentum == 0.0:
            return (None, prev)
        return (zeros_like(weight), prev)

    def update(self, index, weight, grad, state):
        lr, wd, _ = self._begin_update(index, weight, grad)
        xp = weight.context.xp
        w = weight._data
        g = xp.multiply(grad._data, self.rescale_grad)
        if self.clip_gradient is not None:
            xp.clip(g, -self.clip_gradient, self.clip_gradient, out=g)
        mom, previous_weight = state
        prev = previous_weight._data
        comp = g * g
        comp *= self.lamda
        comp *= w - prev
        comp += g
        if wd:
            comp += wd * w
        comp *= -lr
        if mom is not None:
            mom._data *= self.momentum
            mom._data += comp
            comp = mom._data
        prev[...] = w
        w += comp


@register
class SGLD(Optimizer):
    """Stochastic gradient Langevin dynamics::

        weight += -lr / 2 * (clip(rescale_grad * grad) + wd * weight) + N(0, sqrt(lr))

    The noise comes from the weight's device generator (``mx.random.seed`` makes runs
    reproducible). No state.
    """

    def create_state(self, index, weight):
        return None

    def update(self, index, weight, grad, state):
        lr, wd, _ = self._begin_update(index, weight, grad)
        xp = weight.context.xp
        w = weight._data
        g = xp.multiply(grad._data, self.rescale_grad)
        if self.clip_gradient is not None:
            xp.clip(g, -self.clip_gradient, self.clip_gradient, out=g)
        if wd:
            g += wd * w
        g *= -lr / 2
        w += g
        noise = nd.random.normal(0, math.sqrt(lr), shape=weight.shape, dtype=weight.dtype,
                                 ctx=weight.context)
        w += noise._data


@register
class Test(Optimizer):
    """MXNet's test optimizer: ``weight += rescale_grad * grad`` and the state (a float32
    array) becomes a copy of the weight."""

    def create_state(self, index, weight):
        return nd.zeros(weight.shape, ctx=weight.context)

    def update(self, index, weight, grad, state):
        check_weight_grad(weight, grad)
        weight._data += grad._data * self.rescale_grad
        state._data[...] = weight._data
