"""Training callbacks (MXNet's ``mx.callback``) for ``Module.fit`` and hand-written loops.

Batch-end callbacks receive a :data:`mx.model.BatchEndParam <gluonlite.model.BatchEndParam>`
``(epoch, nbatch, eval_metric, locals)``; epoch-end callbacks receive
``(iter_no, sym, arg_params, aux_params)``. Messages go to the root ``logging`` logger at
INFO level with MXNet's exact formats, so log parsers written for MXNet keep working.
"""
from __future__ import annotations

import logging
import math
import numbers
import time

from .kvstore.dist import launcher_rank
from .model import save_checkpoint

__all__ = ["module_checkpoint", "do_checkpoint", "log_train_metric", "Speedometer",
           "ProgressBar", "LogValidationMetricsCallback"]


def _rank0_info(msg, *args):
    """``logging.info`` on rank 0 only: with several MPI workers one progress line per
    batch is enough (every rank's process has the launcher's rank in its environment)."""
    if launcher_rank() == 0:
        logging.info(msg, *args)


def _period(period, what="period"):
    if isinstance(period, bool) or not isinstance(period, numbers.Real):
        raise TypeError(f"{what}: expected a number of epochs/batches, got "
                        f"{type(period).__name__}")
    return int(max(1, period))  # MXNet clamps to at least 1


def _positive(value, what, integral=False):
    kinds = numbers.Integral if integral else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise TypeError(f"{what}: expected a positive {'int' if integral else 'number'}, got "
                        f"{type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{what}: expected a positive {'int' if integral else 'number'}, "
                         f"got {value}")
    return value


def module_checkpoint(mod, prefix, period=1, save_optimizer_states=False):
    """An epoch-end callback calling ``mod.save_checkpoint(prefix, iter_no + 1,
    save_optimizer_states)`` after every ``period``-th epoch.

    Parameters
    ----------
    mod : Module
        Anything with ``save_checkpoint(prefix, epoch, save_optimizer_states)``.
    prefix : str
    period : int, default 1
        Epochs between checkpoints (values below 1 mean 1).
    save_optimizer_states : bool, default False
    """
    if not callable(getattr(mod, "save_checkpoint", None)):
        raise TypeError(f"mod: expected a Module with save_checkpoint, got "
                        f"{type(mod).__name__}")
    period = _period(period)

    def _callback(iter_no, sym=None, arg=None, aux=None):
        # distributed workers hold the same parameters: only rank 0 writes
        if (iter_no + 1) % period == 0 and launcher_rank() == 0:
            mod.save_checkpoint(prefix, iter_no + 1, save_optimizer_states)
    return _callback


def do_checkpoint(prefix, period=1):
    """An epoch-end callback ``callback(iter_no, sym, arg, aux)`` that calls
    :func:`mx.model.save_checkpoint <gluonlite.model.save_checkpoint>` with epoch
    ``iter_no + 1`` whenever ``(iter_no + 1) % period == 0``.

    Parameters
    ----------
    prefix : str
        Files are ``prefix-symbol.json`` and ``prefix-%04d.params``.
    period : int, default 1
        Epochs between checkpoints (values below 1 mean 1).
    """
    period = _period(period)

    def _callback(iter_no, sym, arg, aux):
        if (iter_no + 1) % period == 0 and launcher_rank() == 0:
            save_checkpoint(prefix, iter_no + 1, sym, arg, aux)
    return _callback


def log_train_metric(period, auto_reset=False):
    """A batch-end callback logging ``Iter[epoch] Batch[nbatch] Train-name=value`` for each
    metric value every ``period`` batches (``nbatch % period == 0``); with ``auto_reset``
    the metric's local state is reset after logging."""
    period = _positive(period, "period", integral=True)

    def _callback(param):
        if param.nbatch % period == 0 and param.eval_metric is not None:
            for name, value in param.eval_metric.get_name_value():
                logging.info("Iter[%d] Batch[%d] Train-%s=%f", param.epoch, param.nbatch,
                             name, value)
            if auto_reset:
                param.eval_metric.reset_local()
    return _callback


class Speedometer:
    """Logs training speed (and the metric values) every ``frequent`` batches.

    The first call only starts the clock; afterwards, when ``nbatch % frequent == 0`` it logs
    ``Epoch[e] Batch [a-b]\\tSpeed: s samples/sec\\tname=value`` (``auto_reset=True``: the
    metric is reset after each log and covers batches a..b) or ``Epoch[e] Batch [0-b]...``
    (cumulative metric), or ``Iter[e] Batch [b]\\tSpeed: ...`` without a metric. A batch
    number smaller than the last one (a new epoch) restarts the clock.

    Parameters
    ----------
    batch_size : int
        Samples per batch.
    frequent : int, default 50
        Batches between logs.
    auto_reset : bool, default True
        Reset the metric's local state after each log.
    """

    def __init__(self, batch_size, frequent=50, auto_reset=True):
        self.batch_size = _positive(batch_size, "batch_size")
        self.frequent = _positive(frequent, "frequent", integral=True)
        self.init = False
        self.tic = 0
        self.last_count = 0
        self.auto_reset = auto_reset

    def __call__(self, param):
        count = param.nbatch
        if self.last_count > count:
            self.init = False
        self.last_count = count
        if not self.init:
            self.init = True
            self.tic = time.time()
            return
        if count % self.frequent != 0:
            return
        try:
            speed = self.frequent * self.batch_size / (time.time() - self.tic)
        except ZeroDivisionError:
            speed = float("inf")
        if param.eval_metric is not None:
            name_value = param.eval_metric.get_name_value()
            values = sum(name_value, ())
            if self.auto_reset:
                param.eval_metric.reset_local()
                msg = "Epoch[%d] Batch [%d-%d]\tSpeed: %.2f samples/sec" + "\t%s=%f" * len(
                    name_value)
                _rank0_info(msg, param.epoch, count - self.frequent, count, speed, *values)
            else:
                msg = "Epoch[%d] Batch [0-%d]\tSpeed: %.2f samples/sec" + "\t%s=%f" * len(
                    name_value)
                _rank0_info(msg, param.epoch, count, speed, *values)
        else:
            _rank0_info("Iter[%d] Batch [%d]\tSpeed: %.2f samples/sec", param.epoch, count,
                         speed)
        self.tic = time.time()


class ProgressBar:
    """Logs a progress bar ``[====----] 50%`` of the batches done in the epoch.

    Parameters
    ----------
    total : int
        Batches per epoch.
    length : int, default 80
        Characters of the bar.
    """

    def __init__(self, total, length=80):
        self.total = _positive(total, "total", integral=True)
        self.bar_len = _positive(length, "length", integral=True)

    def __call__(self, param):
        count = param.nbatch
        filled_len = int(round(self.bar_len * count / float(self.total)))
        percents = math.ceil(100.0 * count / float(self.total))
        prog_bar = "=" * filled_len + "-" * (self.bar_len - filled_len)
        _rank0_info("[%s] %s%s\r", prog_bar, percents, "%")


class LogValidationMetricsCallback:
    """An eval-end callback logging ``Epoch[e] Validation-name=value`` for every metric
    value."""

    def __call__(self, param):
        if not param.eval_metric:
            return
        for name, value in param.eval_metric.get_name_value():
            logging.info("Epoch[%d] Validation-%s=%f", param.epoch, name, value)
