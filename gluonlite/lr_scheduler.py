"""Learning-rate schedules (MXNet's ``mx.lr_scheduler``).

A scheduler is called with ``num_update`` -- the largest number of updates applied to any
weight so far, which optimizers pass after counting the update in progress (the first
step asks for ``num_update=1``) -- and returns the learning rate. As in MXNet 1.9.1 the
schedulers are stateful: :class:`FactorScheduler` and :class:`MultiFactorScheduler`
decay ``base_lr`` in place as ``num_update`` passes their steps (so they must be called
with non-decreasing ``num_update``), and :class:`PolyScheduler` / :class:`CosineScheduler`
store their latest value in ``base_lr`` and keep returning it once ``num_update`` passes
``max_update``.

Every scheduler accepts a warmup: for ``num_update < warmup_steps`` it returns
``warmup_begin_lr`` ('constant' mode) or the linear ramp from ``warmup_begin_lr`` to the
``base_lr`` given at construction ('linear' mode).

The attribute names are MXNet's, so schedulers pickle to and from MXNet's trainer state
files (see :meth:`gluonlite.gluon.Trainer.save_states`).
"""
from __future__ import annotations

import logging
import numbers
from math import cos, pi

__all__ = ["LRScheduler", "FactorScheduler", "MultiFactorScheduler", "PolyScheduler",
           "CosineScheduler"]


def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__} "
                        f"({value!r})")
    return value


def _int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} ({value!r})")
    return int(value)


class LRScheduler:
    """Base class of learning-rate schedulers.

    Parameters
    ----------
    base_lr : float, default 0.01
        The learning rate after warmup (optimizers given their own ``learning_rate``
        overwrite it).
    warmup_steps : int, default 0
        Number of updates during which the warmup learning rate is used.
    warmup_begin_lr : float, default 0
        The learning rate warmup starts from; must not exceed ``base_lr``.
    warmup_mode : {'linear', 'constant'}, default 'linear'
        'linear' ramps from ``warmup_begin_lr`` to ``base_lr`` in equal increments;
        'constant' keeps ``warmup_begin_lr`` during warmup.

    Subclasses implement ``__call__(num_update)``.
    """

    def __init__(self, base_lr=0.01, warmup_steps=0, warmup_begin_lr=0, warmup_mode="linear"):
        self.base_lr = _real("base_lr", base_lr)
        self.warmup_steps = _int("warmup_steps", warmup_steps)
        self.warmup_final_lr = base_lr
        self.warmup_begin_lr = _real("warmup_begin_lr", warmup_begin_lr)
        if self.warmup_begin_lr > self.warmup_final_lr:
            raise ValueError(f"Base lr has to be higher than warmup_begin_lr (base_lr="
                             f"{base_lr}, warmup_begin_lr={warmup_begin_lr})")
        if self.warmup_steps < 0:
            raise ValueError(f"Warmup steps has to be positive or 0 (warmup_steps="
                             f"{warmup_steps})")
        if warmup_mode not in ("linear", "constant"):
            raise ValueError(f"Supports only linear and constant modes of warmup "
                             f"(warmup_mode={warmup_mode!r})")
        self.warmup_mode = warmup_mode

    def get_warmup_lr(self, num_update):
        """The warmup learning rate at ``num_update`` (< ``warmup_steps``)."""
        if num_update >= self.warmup_steps:
            raise ValueError(f"num_update: the warmup ends at {self.warmup_steps} updates, "
                             f"got {num_update}")
        if self.warmup_mode == "linear":
            increase = (self.warmup_final_lr - self.warmup_begin_lr) \
                * float(num_update) / float(self.warmup_steps)
            return self.warmup_begin_lr + increase
        return self.warmup_begin_lr

    def __call__(self, num_update):
        """The learning rate after ``num_update`` updates (the largest update count of any
        weight)."""
        raise NotImplementedError(f"{type(self).__name__} must implement __call__")

    def __repr__(self):
        return f"{type(self).__name__}(base_lr={self.base_lr})"


def _check_num_update(num_update):
    if isinstance(num_update, bool) or not isinstance(num_update, numbers.Real):
        raise TypeError(f"num_update: expected an int, got {type(num_update).__name__}")


class FactorScheduler(LRScheduler):
    """Multiply the learning rate by ``factor`` every ``step`` updates:
    ``base_lr * factor ** floor((num_update - 1) / step)``, never below
    ``stop_factor_lr``.

    Stateful, as MXNet's: each call decays ``base_lr`` for every ``step`` updates passed
    since the previous decay (``count`` remembers where), so calls must come with
    non-decreasing ``num_update``.

    Parameters
    ----------
    step : int
        Number of updates between decays (>= 1).
    factor : float, default 1
        The decay factor (<= 1).
    stop_factor_lr : float, default 1e-8
        The learning rate stops decaying at this value.
    base_lr, warmup_steps, warmup_begin_lr, warmup_mode
        See :class:`LRScheduler`.
    """

    def __init__(self, step, factor=1, stop_factor_lr=1e-8, base_lr=0.01, warmup_steps=0,
                 warmup_begin_lr=0, warmup_mode="linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        step = _int("step", step)
        _real("factor", factor)
        _real("stop_factor_lr", stop_factor_lr)
        if step < 1:
            raise ValueError(f"Schedule step must be greater or equal than 1 round (step="
                             f"{step})")
        if factor > 1.0:
            raise ValueError(f"Factor must be no more than 1 to make lr reduce (factor="
                             f"{factor})")
        self.step = step
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.count = 0

    def __call__(self, num_update):
        _check_num_update(num_update)
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        # a loop rather than an if: training resumed at a late num_update catches up
        while num_update > self.count + self.step:
            self.count += self.step
            self.base_lr *= self.factor
            if self.base_lr < self.stop_factor_lr:
                self.base_lr = self.stop_factor_lr
                logging.info("Update[%d]: now learning rate arrived at %0.5e, will not "
                             "change in the future", num_update, self.base_lr)
            else:
                logging.info("Update[%d]: Change learning rate to %0.5e",
                             num_update, self.base_lr)
        return self.base_lr


class MultiFactorScheduler(LRScheduler):
    """Multiply the learning rate by ``factor`` each time ``num_update`` passes one of
    the increasing update counts in ``step``.

    Stateful like :class:`FactorScheduler` (``cur_step_ind`` is the next step to pass).

    Parameters
    ----------
    step : list of int
        Increasing update counts (each >= 1) after which the learning rate decays.
    factor : float, default 1
        The decay factor (<= 1).
    base_lr, warmup_steps, warmup_begin_lr, warmup_mode
        See :class:`LRScheduler`.
    """

    def __init__(self, step, factor=1, base_lr=0.01, warmup_steps=0, warmup_begin_lr=0,
                 warmup_mode="linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if not isinstance(step, list) or len(step) < 1:
            raise TypeError(f"step: expected a non-empty list of ints, got {step!r}")
        for i, s in enumerate(step):
            _int(f"step[{i}]", s)
            if i != 0 and step[i] <= step[i - 1]:
                raise ValueError(f"Schedule step must be an increasing integer list (step="
                                 f"{step})")
            if s < 1:
                raise ValueError(f"Schedule step must be greater or equal than 1 round (step="
                                 f"{step})")
        _real("factor", factor)
        if factor > 1.0:
            raise ValueError(f"Factor must be no more than 1 to make lr reduce (factor="
                             f"{factor})")
        self.step = step
        self.cur_step_ind = 0
        self.factor = factor
        self.count = 0

    def __call__(self, num_update):
        _check_num_update(num_update)
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while self.cur_step_ind <= len(self.step) - 1:
            if num_update > self.step[self.cur_step_ind]:
                self.count = self.step[self.cur_step_ind]
                self.cur_step_ind += 1
                self.base_lr *= self.factor
                logging.info("Update[%d]: Change learning rate to %0.5e",
                             num_update, self.base_lr)
            else:
                return self.base_lr
        return self.base_lr


def _max_update(max_update):
    """``max_update`` of the Poly and Cosine schedules, checked (an int >= 1)."""
    max_update = _int("max_update", max_update)
    if max_update < 1:
        raise ValueError(f"maximum number of updates must be strictly positive "
                         f"(max_update={max_update})")
    return max_update


def _decay_steps(max_update, warmup_steps):
    """The length of the decay after the warmup (never 0: the decay divides by it)."""
    if max_update == warmup_steps:
        raise ValueError(f"max_update ({max_update}) must differ from warmup_steps "
                         f"({warmup_steps}): the decay would divide by zero")
    return max_update - warmup_steps


class PolyScheduler(LRScheduler):
    """Polynomial decay after warmup:
    ``final_lr + (base_lr - final_lr) * (1 - (num_update - warmup_steps) / (max_update -
    warmup_steps)) ** pwr`` while ``num_update <= max_update``; afterwards the last value
    (``final_lr``) is kept.

    Parameters
    ----------
    max_update : int
        The update count at which the decay reaches ``final_lr`` (>= 1).
    base_lr : float, default 0.01
        The learning rate the decay starts from. As in MXNet the decay keeps using the
        value given here (``base_lr_orig``) even if an optimizer's ``learning_rate``
        later overwrites ``base_lr``.
    pwr : int or float, default 2
        The power of the decay.
    final_lr : float, default 0
        The learning rate at and after ``max_update``.
    warmup_steps, warmup_begin_lr, warmup_mode
        See :class:`LRScheduler`.
    """

    def __init__(self, max_update, base_lr=0.01, pwr=2, final_lr=0, warmup_steps=0,
                 warmup_begin_lr=0, warmup_mode="linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        max_update = _max_update(max_update)
        _real("pwr", pwr)
        _real("final_lr", final_lr)
        self.power = pwr
        self.base_lr_orig = self.base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.max_steps = _decay_steps(max_update, self.warmup_steps)

    def __call__(self, num_update):
        _check_num_update(num_update)
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * pow(
                1 - float(num_update - self.warmup_steps) / float(self.max_steps), self.power)
        return self.base_lr


class CosineScheduler(LRScheduler):
    """Cosine decay after warmup:
    ``final_lr + (base_lr - final_lr) * (1 + cos(pi * (num_update - warmup_steps) /
    (max_update - warmup_steps))) / 2`` while ``num_update <= max_update``; afterwards the
    last value (``final_lr``) is kept.

    Parameters
    ----------
    max_update : int
        The update count at which the decay reaches ``final_lr`` (>= 1).
    base_lr : float, default 0.01
        The learning rate the decay starts from (kept as ``base_lr_orig``, see
        :class:`PolyScheduler`).
    final_lr : float, default 0
        The learning rate at and after ``max_update``.
    warmup_steps, warmup_begin_lr, warmup_mode
        See :class:`LRScheduler`.
    """

    def __init__(self, max_update, base_lr=0.01, final_lr=0, warmup_steps=0,
                 warmup_begin_lr=0, warmup_mode="linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        max_update = _max_update(max_update)
        _real("final_lr", final_lr)
        self.base_lr_orig = base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.max_steps = _decay_steps(max_update, self.warmup_steps)

    def __call__(self, num_update):
        _check_num_update(num_update)
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * \
                (1 + cos(pi * (num_update - self.warmup_steps) / self.max_steps)) / 2
        return self.base_lr
