"""``BaseModule``: the Module API's state machine and its high-level loops -- ``fit``,
``score``, ``predict``, ``iter_predict`` (MXNet 1.9.1's ``mxnet.module.base_module``).

A module is *bound* (shapes known, memory allocated), then its parameters are
*initialized*, then an optimizer is *installed*; ``fit`` does the three and trains. Calling
a method before the state it needs raises :class:`ModuleStateError`, an ``AssertionError``
(what MXNet raises) that is also an ``MXNetError`` and says what to call first.
"""
from __future__ import annotations

import logging
import time
import warnings

import numpy as np

from .. import metric as _metric
from .. import ndarray
from ..base import MXNetError
from ..initializer import Uniform
from ..kvstore.dist import is_distributed

__all__ = ["BaseModule", "ModuleStateError"]


class ModuleStateError(MXNetError, AssertionError):
    """A Module method was called in a state that does not allow it (not bound, parameters
    or optimizer not initialized, ...). MXNet raises a bare ``AssertionError`` there."""


def _as_list(obj):
    return obj if isinstance(obj, list) else [obj]


def check_input_names(symbol, names, typename, throw):
    """Every name must be an argument of ``symbol`` (MXNet's ``_check_input_names``): a
    ValueError (``throw``) or a warning listing the symbol's non-parameter arguments."""
    args = symbol.list_arguments()
    for name in names:
        if name in args:
            continue
        candidates = [a for a in args if not a.endswith(("_weight", "_bias", "_gamma", "_beta"))]
        msg = (f"You created Module with Module(..., {typename}_names={list(names)}) but input "
               f"with name {name!r} is not found in symbol.list_arguments(). Did you mean one "
               f"of:\n\t" + "\n\t".join(candidates))
        if throw:
            raise ValueError(msg)
        warnings.warn(msg, stacklevel=3)


def _check_names_match(names, shapes, kind, throw):
    actual = [x[0] for x in shapes]
    if sorted(names) != sorted(actual):
        msg = (f"Data provided by {kind}_shapes don't match names specified by {kind}_names "
               f"({shapes} vs. {list(names)})")
        if throw:
            raise ValueError(msg)
        warnings.warn(msg, stacklevel=4)


def parse_data_desc(data_names, label_names, data_shapes, label_shapes):
    """``data_shapes``/``label_shapes`` as lists of ``DataDesc``, checked against the
    module's input names (data: ValueError; labels: a warning, as in MXNet)."""
    from ..io import DataDesc

    def descs(shapes, what):
        if shapes is None:
            return None
        if isinstance(shapes, (DataDesc, tuple)) and len(shapes) and isinstance(shapes[0], str):
            shapes = [shapes]
        out = []
        for x in shapes:
            if isinstance(x, DataDesc):
                out.append(x)
            elif isinstance(x, (tuple, list)) and len(x) >= 2 and isinstance(x[0], str):
                out.append(DataDesc(*x))
            else:
                raise TypeError(f"{what}: expected a list of DataDesc or (name, shape) pairs, "
                                f"got an entry {x!r}")
        return out

    data_shapes = descs(data_shapes, "data_shapes")
    if data_shapes is None:
        raise ValueError("data_shapes: expected a list of DataDesc or (name, shape) pairs, "
                         "got None")
    _check_names_match(data_names, data_shapes, "data", True)
    label_shapes = descs(label_shapes, "label_shapes")
    _check_names_match(label_names, label_shapes or [], "label", False)
    return data_shapes, label_shapes


class BaseModule:
    """The base class of modules (MXNet's ``mx.mod.BaseModule``).

    State: ``binded``, ``for_training``, ``inputs_need_grad``, ``params_initialized``,
    ``optimizer_initialized``. Subclasses implement the intermediate API (``bind``,
    ``init_params``, ``forward``, ``backward``, ``update``, ``get_outputs``,
    ``update_metric``, ...); ``fit``, ``score``, ``predict`` and ``iter_predict`` are
    written on top of it.
    """

    def __init__(self, logger=logging):
        self.logger = logger
        self.binded = False
        self.for_training = False
        self.inputs_need_grad = False
        self.params_initialized = False
        self.optimizer_initialized = False
        self._symbol = None
        self._total_exec_bytes = 0

    # --- state checks ----------------------------------------------------------------------
    def _require(self, what, binded=True, params=True, optimizer=False):
        if binded and not self.binded:
            raise ModuleStateError(f"{what}: the module is not bound; call bind() (or fit()) "
                                   "first")
        if params and not self.params_initialized:
            raise ModuleStateError(f"{what}: the parameters are not initialized; call "
                                   "init_params() or set_params() first")
        if optimizer and not self.optimizer_initialized:
            raise ModuleStateError(f"{what}: no optimizer is installed; call init_optimizer() "
                                   "first")

    # --- high-level API --------------------------------------------------------------------
    def forward_backward(self, data_batch):
        """``forward(data_batch, is_train=True)`` then ``backward()``."""
        self.forward(data_batch, is_train=True)
        self.backward()

    def _batch_end(self, callbacks, epoch, nbatch, eval_metric, local_vars):
        if callbacks is None:
            return
        from ..model import BatchEndParam
        params = BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=eval_metric,
                               locals=local_vars)
        for cb in _as_list(callbacks):
            cb(params)

    def score(self, eval_data, eval_metric, num_batch=None, batch_end_callback=None,
              score_end_callback=None, reset=True, epoch=0, sparse_row_id_fn=None):
        """Run prediction on ``eval_data`` and evaluate ``eval_metric`` (a metric or its
        name); returns ``eval_metric.get_name_value()``. Callbacks get a
        ``mx.model.BatchEndParam``; ``score_end_callback`` once at the end with ``nbatch``
        the number of batches run."""
        self._require("score")
        if reset:
            eval_data.reset()
        if not isinstance(eval_metric, _metric.EvalMetric):
            eval_metric = _metric.create(eval_metric)
        eval_metric.reset()
        actual_num_batch = 0
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            if isinstance(eval_batch, list):
                self.update_metric(eval_metric, [eb.label for eb in eval_batch],
                                   pre_sliced=True)
            else:
                self.update_metric(eval_metric, eval_batch.label)
            self._batch_end(batch_end_callback, epoch, nbatch, eval_metric, locals())
            actual_num_batch += 1
        if score_end_callback:
            self._batch_end(score_end_callback, epoch, actual_num_batch, eval_metric,
                            locals())
        return eval_metric.get_name_value()

    def iter_predict(self, eval_data, num_batch=None, reset=True, sparse_row_id_fn=None):
        """Yield ``(outputs, nbatch, batch)`` for each batch, the padding removed."""
        self._require("iter_predict")
        if reset:
            eval_data.reset()
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            outputs = [out[0:out.shape[0] - pad] for out in self.get_outputs()]
            yield outputs, nbatch, eval_batch

    def predict(self, eval_data, num_batch=None, merge_batches=True, reset=True,
                always_output_list=False, sparse_row_id_fn=None):
        """Run prediction and collect the outputs (padding removed).

        ``eval_data`` is a DataIter, or an NDArray / numpy array run as one batch (returns
        the first output). With ``merge_batches`` the batches are concatenated: one NDArray
        for a single output (a list with ``always_output_list``), else a list per output;
        without it, a list of per-batch output lists.
        """
        from ..io import DataBatch, DataIter
        self._require("predict")
        if isinstance(eval_data, (ndarray.NDArray, np.ndarray)):
            if isinstance(eval_data, np.ndarray):
                eval_data = ndarray.array(eval_data)
            self.forward(DataBatch([eval_data]))
            return self.get_outputs()[0]
        if not isinstance(eval_data, DataIter):
            raise ValueError("eval_data must be of type NDArray or DataIter")
        if reset:
            eval_data.reset()
        output_list = []
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            output_list.append([out[0:out.shape[0] - pad].copy() for out in self.get_outputs()])
        if not output_list:
            return output_list
        if not merge_batches:
            return output_list
        num_outputs = len(output_list[0])
        if any(len(o) != num_outputs for o in output_list):
            raise MXNetError("Cannot merge batches, as num of outputs is not the same in "
                             "mini-batches. Maybe bucketing is used?")
        merged = [ndarray.concat(*[o[i] for o in output_list], dim=0)
                  for i in range(num_outputs)]
        if num_outputs == 1 and not always_output_list:
            return merged[0]
        return merged

    def fit(self, train_data, eval_data=None, eval_metric="acc", epoch_end_callback=None,
            batch_end_callback=None, kvstore="local", optimizer="sgd",
            optimizer_params=(("learning_rate", 0.01),), eval_end_callback=None,
            eval_batch_end_callback=None, initializer=Uniform(0.01), arg_params=None,
            aux_params=None, allow_missing=False, force_rebind=False, force_init=False,
            begin_epoch=0, num_epoch=None, validation_metric=None, monitor=None,
            sparse_row_id_fn=None):
        """Train the module on ``train_data`` for epochs ``begin_epoch .. num_epoch - 1``
        (MXNet's ``BaseModule.fit``).

        Binds for training, initializes the parameters (``arg_params``/``aux_params`` take
        priority over ``initializer``) and the optimizer, then per epoch: forward, backward,
        update and metric update on every batch, ``batch_end_callback(BatchEndParam)`` after
        each, logs ``Epoch[%d] Train-%s=%f`` and ``Epoch[%d] Time cost=%.3f``, calls
        ``epoch_end_callback(epoch, symbol, arg_params, aux_params)``, scores ``eval_data``
        with ``validation_metric`` (default: ``eval_metric``) logging
        ``Epoch[%d] Validation-%s=%f``, and resets ``train_data``.
        """
        if num_epoch is None:
            raise ValueError("fit: please specify number of epochs (num_epoch)")
        self.bind(data_shapes=train_data.provide_data, label_shapes=train_data.provide_label,
                  for_training=True, force_rebind=force_rebind)
        if monitor is not None:
            self.install_monitor(monitor)
        self.init_params(initializer=initializer, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init)
        self.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                            optimizer_params=optimizer_params)
        if validation_metric is None:
            validation_metric = eval_metric
        if not isinstance(eval_metric, _metric.EvalMetric):
            eval_metric = _metric.create(eval_metric)

        for epoch in range(begin_epoch, num_epoch):
            tic = time.time()
            eval_metric.reset()
            nbatch = 0
            data_iter = iter(train_data)
            end_of_batch = False
            try:
                next_data_batch = next(data_iter)
            except StopIteration:
                raise MXNetError(f"fit: train_data yielded no batch in epoch {epoch}") from None
            eval_name_vals = []
            while not end_of_batch:
                data_batch = next_data_batch
                if monitor is not None:
                    monitor.tic()
                self.forward_backward(data_batch)
                self.update()
                if isinstance(data_batch, list):
                    self.update_metric(eval_metric, [db.label for db in data_batch],
                                       pre_sliced=True)
                else:
                    self.update_metric(eval_metric, data_batch.label)
                try:
                    # fetch the next batch now, so the last batch's callback knows it is last
                    next_data_batch = next(data_iter)
                    self.prepare(next_data_batch, sparse_row_id_fn=sparse_row_id_fn)
                except StopIteration:
                    end_of_batch = True
                if monitor is not None:
                    monitor.toc_print()
                if end_of_batch:
                    eval_name_vals = self._workers_name_value(eval_metric)
                self._batch_end(batch_end_callback, epoch, nbatch, eval_metric, locals())
                nbatch += 1

            for name, val in eval_name_vals:
                self.logger.info("Epoch[%d] Train-%s=%f", epoch, name, val)
            toc = time.time()
            self.logger.info("Epoch[%d] Time cost=%.3f", epoch, toc - tic)

            # one copy of the parameters (averaged over devices) for callbacks and devices
            arg_params_, aux_params_ = self.get_params()
            self.set_params(arg_params_, aux_params_)
            if epoch_end_callback is not None:
                for cb in _as_list(epoch_end_callback):
                    cb(epoch, self.symbol, arg_params_, aux_params_)

            if eval_data is not None:
                res = self.score(eval_data, validation_metric,
                                 score_end_callback=eval_end_callback,
                                 batch_end_callback=eval_batch_end_callback, epoch=epoch)
                for name, val in res:
                    self.logger.info("Epoch[%d] Validation-%s=%f", epoch, name, val)
            train_data.reset()

    def _workers_name_value(self, eval_metric):
        """The epoch's training metric: over all workers with a distributed kvstore (a
        collective), else this module's own."""
        kv = getattr(self, "_kvstore", None)
        if kv is None and getattr(self, "_curr_module", None) is not None:
            kv = getattr(self._curr_module, "_kvstore", None)
        if kv is not None and is_distributed(kv):
            try:
                return _metric.reduce_across_workers(eval_metric,
                                                     kv).get_global_name_value()
            except NotImplementedError as e:
                # decided the same way on every worker, before any communication
                self.logger.warning("Train metric of this worker only: %s", e)
        return eval_metric.get_global_name_value()

    # --- symbol and shapes (subclasses) --------------------------------------------------
    @property
    def data_names(self):
        """Names of the data inputs."""
        raise NotImplementedError()

    @property
    def output_names(self):
        """Names of the outputs."""
        raise NotImplementedError()

    @property
    def data_shapes(self):
        """``DataDesc`` of the data inputs (after ``bind``)."""
        raise NotImplementedError()

    @property
    def label_shapes(self):
        """``DataDesc`` of the label inputs (after ``bind``; None without labels)."""
        raise NotImplementedError()

    @property
    def output_shapes(self):
        """``[(name, shape)]`` of the outputs (after ``bind``)."""
        raise NotImplementedError()

    @property
    def symbol(self):
        """The symbol of the module (for ``BucketingModule``, the current bucket's)."""
        return self._symbol

    # --- parameters ------------------------------------------------------------------------
    def get_params(self):
        """``(arg_params, aux_params)``: dicts of name to NDArray (copies on the CPU)."""
        raise NotImplementedError()

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialize the parameters and auxiliary states."""
        raise NotImplementedError()

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        """Assign parameter and auxiliary state values (``init_params`` with no
        initializer)."""
        self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init,
                         allow_extra=allow_extra)

    def save_params(self, fname):
        """Save the parameters to ``fname`` in MXNet's format, keys ``arg:NAME`` and
        ``aux:NAME``."""
        from ..context import cpu
        arg_params, aux_params = self.get_params()
        save_dict = {f"arg:{k}": v.as_in_context(cpu()) for k, v in arg_params.items()}
        save_dict.update({f"aux:{k}": v.as_in_context(cpu()) for k, v in aux_params.items()})
        ndarray.save(fname, save_dict)

    def load_params(self, fname):
        """Load parameters saved by :meth:`save_params` (or MXNet) and ``set_params``."""
        save_dict = ndarray.load(fname)
        if not isinstance(save_dict, dict):
            raise ValueError(f"Invalid param file {fname}: expected named arrays "
                             "('arg:NAME' / 'aux:NAME')")
        arg_params, aux_params = {}, {}
        for k, value in save_dict.items():
            kind, _, name = k.partition(":")
            if kind == "arg" and name:
                arg_params[name] = value
            elif kind == "aux" and name:
                aux_params[name] = value
            else:
                raise ValueError(f"Invalid param file {fname}: key {k!r} is neither "
                                 "'arg:NAME' nor 'aux:NAME'")
        self.set_params(arg_params, aux_params)

    def get_states(self, merge_multi_context=True):
        """State arrays (modules without states return ``[]``)."""
        self._require("get_states")
        if merge_multi_context:
            raise MXNetError("get_states: this module has no states to merge")
        return []

    def set_states(self, states=None, value=None):
        """Set state arrays (modules without states accept nothing)."""
        self._require("set_states")
        if states or value:
            raise MXNetError("set_states: this module has no states")

    def install_monitor(self, mon):
        """Install a monitor on the executors."""
        raise NotImplementedError()

    # --- computation (subclasses) ----------------------------------------------------------
    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Prepare for a batch (pulling row-sparse parameters in MXNet; nothing to do for
        dense parameters)."""
        if sparse_row_id_fn is not None:
            warnings.warn(UserWarning("sparse_row_id_fn is ignored: gluonlite has no "
                                      "row_sparse parameters"))

    def forward(self, data_batch, is_train=None):
        """Forward computation on ``data_batch``."""
        raise NotImplementedError()

    def backward(self, out_grads=None):
        """Backward computation."""
        raise NotImplementedError()

    def get_outputs(self, merge_multi_context=True):
        """Outputs of the previous forward computation."""
        raise NotImplementedError()

    def get_input_grads(self, merge_multi_context=True):
        """Gradients with respect to the inputs (bind with ``inputs_need_grad``)."""
        raise NotImplementedError()

    def update(self):
        """Update the parameters with the installed optimizer."""
        raise NotImplementedError()

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Accumulate ``eval_metric`` on the outputs of the last forward."""
        raise NotImplementedError()

    # --- setup (subclasses) ----------------------------------------------------------------
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        """Allocate memory for the given input shapes."""
        raise NotImplementedError()

    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        """Install an optimizer (and a kvstore)."""
        raise NotImplementedError()
