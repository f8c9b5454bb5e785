"""Large-batch optimizers: ``LARS`` (layer-wise adaptive rate scaling) and ``LBSGD`` --
MXNet 1.9.1's update rules."""
from __future__ import annotations

import logging
import math
import warnings

import numpy

from . import rules
from .optimizer import (Optimizer, ImplUpdates, register, check_real, check_weight_grad,
                        zeros_like, aggregation_size)
from .sgd import _begin_updates, _master_state, _sgd_steps

__all__ = ["LARS", "LBSGD"]


def _skips_lars(name):
    return name.endswith("gamma") or name.endswith("beta") or name.endswith("bias")


@register
class LARS(ImplUpdates, Optimizer):
    """SGD with momentum whose learning rate is scaled per layer
    (https://arxiv.org/abs/1708.03888)::

        lr_layer = lr * eta * ||w|| / (||rescale_grad * g|| + wd * ||w|| + eps)
                   (lr when a norm is 0, and for parameters named *gamma/*beta/*bias)

    followed by :class:`SGD`'s momentum update with ``lr_layer``. With
    ``momentum_correction`` the momentum is scaled by ``lr / previous lr`` when the
    learning rate changes (Goyal et al.).

    Parameters
    ----------
    momentum : float, default 0.0
    lazy_update : bool, default True
        As :class:`SGD` (dense here).
    eta : float, default 0.001
        The LARS coefficient.
    eps : float, default 0
        Added to the denominator.
    momentum_correction : bool, default True
    """

    aggregate_num = 4

    def __init__(self, momentum=0.0, lazy_update=True, eta=0.001, eps=0,
                 momentum_correction=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = check_real("momentum", momentum)
        self.momentum_correction = bool(momentum_correction)
        self.lazy_update = bool(lazy_update)
        self.aggregate_num = aggregation_size(4)
        self.eta = check_real("eta", eta)
        self.eps = check_real("eps", eps)
        self.skip = 0
        self.last_lr = None
        self.cur_lr = None

    def _get_lrs(self, indices):
        """Learning rates of ``indices``; remembers the previous and current global rate
        for the momentum correction."""
        if self.cur_lr is not None:
            self.last_lr = self.cur_lr
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        if self.cur_lr is None:
            self.last_lr = lr
        self.cur_lr = lr
        return self._with_lr_mults(lr, indices)

    def set_wd_mult(self, args_wd_mult):
        """As :meth:`Optimizer.set_wd_mult`, but only names ending in ``_weight`` keep
        weight decay by default."""
        if not isinstance(args_wd_mult, dict):
            raise TypeError(f"args_wd_mult: expected a dict, got {type(args_wd_mult).__name__}")
        self.wd_mult = {}
        for n in self.idx2name.values():
            if not n.endswith("_weight"):
                self.wd_mult[n] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__wd_mult__" in attr[name]:
                    self.wd_mult[name] = float(attr[name]["__wd_mult__"])
        self.wd_mult.update(args_wd_mult)

    def create_state_multi_precision(self, index, weight):
        return _master_state(self, index, weight, "SGD")

    def create_state(self, index, weight):
        return zeros_like(weight) if self.momentum != 0.0 else None

    def _l2norm(self, v, rescale=False):
        """The L2 norm of NDArray ``v`` (times ``rescale_grad`` if ``rescale``), a float."""
        norm = rules.l2norm(v.context.xp, v._data.astype(numpy.float32))
        return norm * abs(self.rescale_grad) if rescale else norm

    def _get_lars(self, i, weight, g, lr, wd):
        """The layer's learning rate (``lr`` for *gamma/*beta/*bias parameters)."""
        name = self.idx2name[i] if i in self.idx2name else str(i)
        if _skips_lars(name):
            return lr
        w_norm = self._l2norm(weight)
        g_norm = self._l2norm(g, rescale=True)
        if w_norm > 0.0 and g_norm > 0.0:
            lars = self.eta * w_norm / (g_norm + wd * w_norm + self.eps)
        else:
            lars = 1.0
        return lars * lr

    def _update_impl(self, indices, weights, grads, states, multi_precision=False):
        indices, weights, grads, states, lrs, wds = _begin_updates(self, indices, weights,
                                                                   grads, states)
        momentum = 0.0
        if self.momentum > 0:
            momentum = (self.momentum * (self.cur_lr / self.last_lr)) \
                if (self.momentum_correction and self.last_lr != 0) else self.momentum
        lrs = [self._get_lars(i, w, g, lr, wd)
               for i, w, g, lr, wd in zip(indices, weights, grads, lrs, wds)]
        _sgd_steps(self, weights, grads, states, lrs, wds, momentum, multi_precision)


@register
class LBSGD(Optimizer):
    """Large-batch SGD (MXNet's ``LBSGD``): gradients are accumulated over ``batch_scale``
    calls, then one SGD-with-momentum step is taken with the learning rate multiplied by
    a warmup factor::

        linear:  1 + (batch_scale - 1) * n / nwup        power2: ... * (n / nwup) ** 2
        sqrt:    1 + (batch_scale - 1) * sqrt(n / nwup)   (batch_scale once n >= nwup)
        lars:    clip(sqrt(||w||^2 / (||g||^2 + wd * ||w||^2)), 0.01, 100)

    where ``n`` counts accumulated gradients (from ``begin_epoch * updates_per_epoch``)
    and ``nwup = warmup_epochs * updates_per_epoch``. As in MXNet the learning rate is
    read before the update is counted, and the first accumulated gradient is the
    gradient array itself (not a copy).

    Parameters
    ----------
    momentum : float, default 0.0
    multi_precision : bool, default False
    warmup_strategy : {'linear', 'power2', 'sqrt', 'lars'}, default 'linear'
    warmup_epochs : int, default 5
    batch_scale : int, default 1
        Number of gradients accumulated per update.
    updates_per_epoch : int, default 32
    begin_epoch : int, default 0
    num_epochs : int, default 60
    """

    def __init__(self, momentum=0.0, multi_precision=False, warmup_strategy="linear",
                 warmup_epochs=5, batch_scale=1, updates_per_epoch=32, begin_epoch=0,
                 num_epochs=60, **kwargs):
        super().__init__(**kwargs)
        if warmup_strategy not in ("linear", "power2", "sqrt", "lars"):
            raise ValueError(f"warmup_strategy: expected 'linear', 'power2', 'sqrt' or 'lars', "
                             f"got {warmup_strategy!r}")
        for name, value in (("warmup_epochs", warmup_epochs), ("batch_scale", batch_scale),
                            ("updates_per_epoch", updates_per_epoch),
                            ("begin_epoch", begin_epoch), ("num_epochs", num_epochs)):
            check_real(name, value)
        if batch_scale < 1:
            raise ValueError(f"batch_scale: expected a number >= 1, got {batch_scale}")
        logging.info("Running Large-Batch SGD Algorithm")
        logging.info("(Batch_scale=%f, warmup_epochs=%d, warmup_strategy=%s, "
                     "updates_per_epoch=%d)", batch_scale, warmup_epochs, warmup_strategy,
                     updates_per_epoch)
        self.momentum = check_real("momentum", momentum)
        self.multi_precision = bool(multi_precision)
        self.warmup_strategy = warmup_strategy
        self.warmup_epochs = warmup_epochs
        self.batch_scale = batch_scale
        self.updates_per_epoch = updates_per_epoch
        self.init_updates = begin_epoch * updates_per_epoch
        self.num_epochs = num_epochs
        self.lbmult = 1
        self.cumgrads = {}
        self.adaptive = False
        self.admult = 1

    def create_state(self, index, weight):
        if self.multi_precision and weight.dtype == numpy.float16:
            master = weight.astype(numpy.float32)
            momentum = zeros_like(weight, numpy.float32) if self.momentum != 0.0 else None
            return (momentum, master)
        if weight.dtype == numpy.float16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy or "
                          "slow convergence. Consider using multi_precision=True option of the "
                          "SGD optimizer", stacklevel=2)
        return zeros_like(weight) if self.momentum != 0.0 else None

    def _get_lbmult(self, nup):
        """The warmup multiplier of the learning rate after ``nup`` accumulated gradients."""
        nwup = self.warmup_epochs * self.updates_per_epoch
        maxmult = float(self.batch_scale)
        if nup >= nwup:
            return maxmult
        if nwup <= 1:
            return 1.0
        if self.warmup_strategy == "linear":
            return 1.0 + (maxmult - 1) * nup / nwup
        if self.warmup_strategy == "power2":
            return 1.0 + (maxmult - 1) * (nup * nup) / (nwup * nwup)
        if self.warmup_strategy == "sqrt":
            return 1.0 + (maxmult - 1) * math.sqrt(float(nup) / nwup)
        return 1.0

    def _l2norm(self, v):
        """The squared L2 norm of ``v`` (MXNet's name)."""
        d = v._data
        return float(v.context.xp.sum(d * d))

    def _get_lars(self, weight, g, wd):
        """The LARS multiplier ``sqrt(|w|^2 / (|g|^2 + wd |w|^2))``, clipped to [0.01,
        100]."""
        weight2 = self._l2norm(weight)
        grad2 = self._l2norm(g)
        lars = math.sqrt(weight2 / (grad2 + wd * weight2 + 1e-18))
        return min(max(lars, 0.01), 100.0)

    def _reset_cum_gradient(self, index):
        self.cumgrads[index]["cum_grad"] = 0

    def _get_cum_gradient(self, index):
        return self.cumgrads.get(index, {})

    def _put_cum_gradient(self, index, cgrad):
        self.cumgrads[index] = cgrad

    def _cumulate_gradient(self, grad, index):
        """Add ``grad`` to ``index``'s accumulated gradient; returns the accumulator."""
        cgrad = self._get_cum_gradient(index)
        if cgrad and cgrad["num_cums"] > 0:
            cum_grad = cgrad["cum_grad"] + grad
            num_cums = cgrad["num_cums"] + 1
        else:
            cum_grad = grad
            num_cums = self.init_updates + 1
        cgrad = {"cum_grad": cum_grad, "num_cums": num_cums}
        self._put_cum_gradient(index, cgrad)
        return cgrad

    def update(self, index, weight, grad, state):
        check_weight_grad(weight, grad)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        self._update_count(index)
        cgrad = self._cumulate_gradient(grad, index)
        if cgrad["num_cums"] % self.batch_scale != 0:
            return  # still accumulating (MXNet runs an update with lr = 0)
        grad = cgrad["cum_grad"] / self.batch_scale
        if self.warmup_strategy == "lars":
            lbmult = self._get_lars(weight, grad, wd)
        else:
            lbmult = self._get_lbmult(cgrad["num_cums"])
        lr = lr * lbmult
        momentum = self.momentum if self.momentum > 0 else 0.0
        xp = weight.context.xp
        if isinstance(state, (list, tuple)):
            mom, w32 = state
            target, g = w32._data, grad._data.astype(numpy.float32)
        else:
            mom, target, g = state, weight._data, grad._data
        if mom is not None:
            rules.sgd(xp, target, g, mom._data, lr, wd, self.rescale_grad, self._clip(),
                      momentum)
        else:
            rules.sgd_fused(xp, target, g, lr, wd, self.rescale_grad, self._clip())
        if isinstance(state, (list, tuple)):
            weight._data[...] = target
        self._reset_cum_gradient(index)
