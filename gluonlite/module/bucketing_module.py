"""``BucketingModule``: one Module per bucket key, all sharing one set of parameters
(MXNet 1.9.1's ``mx.mod.BucketingModule``).

``sym_gen(bucket_key)`` returns ``(symbol, data_names, label_names)`` for a bucket (e.g. an
unrolled RNN for a sequence length). The module of ``default_bucket_key`` is bound first and
owns the parameter, gradient and auxiliary arrays; every other bucket's module is bound with
it as ``shared_module`` (so it uses the same arrays) and borrows its optimizer. A batch's
``bucket_key`` (with its ``provide_data``/``provide_label``) selects the bucket.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np

from .. import ndarray as nd
from ..base import MXNetError
from ..context import cpu
from ..initializer import Uniform
from ..name import NameManager
from .base_module import BaseModule, ModuleStateError, check_input_names
from .module import Module, _names

__all__ = ["BucketingModule"]


class BucketingModule(BaseModule):
    """A module switching between symbols by bucket key (MXNet's ``BucketingModule``).

    ``sym_gen(key) -> (symbol, data_names, label_names)``; ``default_bucket_key`` is the
    bucket bound first (use the largest one, as in MXNet: its arrays are shared). The other
    arguments are :class:`Module`'s.
    """

    def __init__(self, sym_gen, default_bucket_key=None, logger=logging, context=cpu(),
                 work_load_list=None, fixed_param_names=None, state_names=None,
                 group2ctxs=None, compression_params=None):
        super().__init__(logger=logger)
        if default_bucket_key is None:
            raise ValueError("BucketingModule: default_bucket_key is required")
        if not callable(sym_gen):
            raise TypeError(f"sym_gen: expected a callable bucket_key -> (symbol, data_names, "
                            f"label_names), got {type(sym_gen).__name__}")
        self._default_bucket_key = default_bucket_key
        self._sym_gen = sym_gen
        symbol, data_names, label_names = self._call_sym_gen(default_bucket_key)
        data_names = _names(data_names, "data_names")
        label_names = _names(label_names, "label_names")
        state_names = _names(state_names, "state_names")
        fixed_param_names = _names(fixed_param_names, "fixed_param_names")
        check_input_names(symbol, data_names, "data", True)
        check_input_names(symbol, label_names, "label", False)
        check_input_names(symbol, state_names, "state", True)
        check_input_names(symbol, fixed_param_names, "fixed_param", True)
        self._compression_params = compression_params
        self._fixed_param_names = fixed_param_names
        self._state_names = state_names
        self._context = context
        self._work_load_list = work_load_list
        self._group2ctxs = group2ctxs
        self._buckets = {}
        self._curr_module = None
        self._curr_bucket_key = None
        self._params_dirty = False
        self._monitor = None
        self._grad_req = None

    def _call_sym_gen(self, *args, **kwargs):
        # fresh automatic names per call, so every bucket names its parameters alike
        with NameManager():
            res = self._sym_gen(*args, **kwargs)
        if not (isinstance(res, tuple) and len(res) == 3):
            raise TypeError("sym_gen must return (symbol, data_names, label_names), got "
                            f"{type(res).__name__}")
        return res

    def _reset_bind(self):
        self.binded = False
        self._buckets = {}
        self._curr_module = None
        self._curr_bucket_key = None

    def _new_module(self, symbol, data_names, label_names):
        return Module(symbol, data_names, label_names, logger=self.logger,
                      context=self._context, work_load_list=self._work_load_list,
                      fixed_param_names=self._fixed_param_names,
                      state_names=self._state_names, group2ctxs=self._group2ctxs,
                      compression_params=self._compression_params)

    # --- names and shapes ------------------------------------------------------------------
    @property
    def data_names(self):
        """Data names of the current bucket (the default one before binding)."""
        if self.binded:
            return self._curr_module.data_names
        return list(self._call_sym_gen(self._default_bucket_key)[1])

    @property
    def output_names(self):
        """Output names of the current bucket (the default one before binding)."""
        if self.binded:
            return self._curr_module.output_names
        return self._call_sym_gen(self._default_bucket_key)[0].list_outputs()

    @property
    def data_shapes(self):
        """Data shapes of the current bucket."""
        self._require("data_shapes", params=False)
        return self._curr_module.data_shapes

    @property
    def label_shapes(self):
        """Label shapes of the current bucket."""
        self._require("label_shapes", params=False)
        return self._curr_module.label_shapes

    @property
    def output_shapes(self):
        """Output shapes of the current bucket."""
        self._require("output_shapes", params=False)
        return self._curr_module.output_shapes

    @property
    def symbol(self):
        """The current bucket's symbol."""
        self._require("symbol", params=False)
        return self._curr_module.symbol

    # --- parameters ------------------------------------------------------------------------
    def get_params(self):
        """``(arg_params, aux_params)`` (shared by all buckets)."""
        self._require("get_params", binded=False)
        self._curr_module._params_dirty = self._params_dirty
        params = self._curr_module.get_params()
        self._params_dirty = False
        return params

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        """Assign parameter values (see :meth:`Module.set_params`)."""
        if not allow_missing:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=force_init,
                             allow_extra=allow_extra)
            return
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. "
                          "set_params call ignored.", stacklevel=2)
            return
        self._require("set_params", params=False)
        self._curr_module.set_params(arg_params, aux_params, allow_missing=allow_missing,
                                     force_init=force_init, allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialize the shared parameters (see :meth:`Module.init_params`)."""
        if self.params_initialized and not force_init:
            return
        self._require("init_params", params=False)
        self._curr_module.init_params(initializer=initializer, arg_params=arg_params,
                                      aux_params=aux_params, allow_missing=allow_missing,
                                      force_init=force_init, allow_extra=allow_extra)
        self._params_dirty = False
        self.params_initialized = True

    def get_states(self, merge_multi_context=True):
        """The current bucket's states."""
        self._require("get_states")
        return self._curr_module.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states=None, value=None):
        """Set the current bucket's states."""
        self._require("set_states")
        self._curr_module.set_states(states, value)

    # --- binding and buckets ---------------------------------------------------------------
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        """Bind the default bucket (other buckets are bound when first used)."""
        if self.params_initialized:
            arg_params, aux_params = self.get_params()
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if shared_module is not None:
            raise ValueError("shared_module for BucketingModule is not supported")
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        symbol, data_names, label_names = self._call_sym_gen(self._default_bucket_key)
        module = self._buckets.get(self._default_bucket_key)
        if module is None:
            module = self._new_module(symbol, data_names, label_names)
        module.bind(data_shapes, label_shapes, for_training, inputs_need_grad,
                    force_rebind=False, shared_module=None, grad_req=self._grad_req)
        self.binded = True
        self._curr_module = module
        self._curr_bucket_key = self._default_bucket_key
        self._buckets[self._default_bucket_key] = module
        if self.params_initialized:
            self.set_params(arg_params, aux_params)

    def switch_bucket(self, bucket_key, data_shapes, label_shapes=None):
        """Make ``bucket_key`` current, creating and binding its module (sharing the
        default bucket's parameters) the first time."""
        self._require("switch_bucket", params=False)
        module = self._buckets.get(bucket_key)
        if module is None or not module.binded:
            if module is None:
                symbol, data_names, label_names = self._call_sym_gen(bucket_key)
                module = self._new_module(symbol, data_names, label_names)
            if data_shapes is None:
                raise ValueError(f"switch_bucket: bucket {bucket_key!r} is new; its "
                                 "data_shapes are needed to bind it")
            module.bind(data_shapes, label_shapes, self._curr_module.for_training,
                        self._curr_module.inputs_need_grad, force_rebind=False,
                        shared_module=self._buckets[self._default_bucket_key],
                        grad_req=self._grad_req)
            if self._monitor is not None:
                module.install_monitor(self._monitor)
            self._buckets[bucket_key] = module
        self._curr_module = module
        self._curr_bucket_key = bucket_key

    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        """Install the optimizer on the current bucket; the others borrow it."""
        self._require("init_optimizer")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring.")
            return
        self._curr_module.init_optimizer(kvstore, optimizer, optimizer_params,
                                         force_init=force_init)
        for mod in self._buckets.values():
            if mod is not self._curr_module:
                mod.borrow_optimizer(self._curr_module)
        self.optimizer_initialized = True

    # --- computation -----------------------------------------------------------------------
    def _bucket_of(self, data_batch, what):
        key = getattr(data_batch, "bucket_key", None)
        if key is None:
            raise MXNetError(f"{what}: the data batch has no bucket_key; BucketingModule needs "
                             "DataBatch(..., bucket_key=..., provide_data=..., "
                             "provide_label=...)")
        return key

    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Bind the batch's bucket if needed, leaving the current bucket unchanged."""
        self._require("prepare")
        key = self._bucket_of(data_batch, "prepare")
        original = self._curr_bucket_key
        self.switch_bucket(key, data_batch.provide_data, data_batch.provide_label)
        self._curr_module.prepare(data_batch, sparse_row_id_fn=sparse_row_id_fn)
        self.switch_bucket(original, None, None)

    def forward(self, data_batch, is_train=None):
        """Switch to the batch's bucket and run forward."""
        self._require("forward")
        key = self._bucket_of(data_batch, "forward")
        self.switch_bucket(key, data_batch.provide_data, data_batch.provide_label)
        self._curr_module.forward(data_batch, is_train=is_train)

    def backward(self, out_grads=None):
        """Backward on the current bucket."""
        self._require("backward")
        self._curr_module.backward(out_grads=out_grads)

    def update(self):
        """Update the shared parameters from the current bucket's gradients."""
        self._require("update", optimizer=True)
        self._params_dirty = True
        self._curr_module.update()

    def get_outputs(self, merge_multi_context=True):
        """The current bucket's outputs."""
        self._require("get_outputs")
        return self._curr_module.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        """The current bucket's input gradients."""
        self._require("get_input_grads")
        if not self.inputs_need_grad:
            raise ModuleStateError("get_input_grads: bind with inputs_need_grad=True first")
        return self._curr_module.get_input_grads(merge_multi_context=merge_multi_context)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Accumulate ``eval_metric`` on the current bucket's outputs."""
        self._require("update_metric")
        self._curr_module.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        """Not available (see :meth:`Module.install_monitor`)."""
        self._require("install_monitor", params=False)
        self._curr_module.install_monitor(mon)

    # --- checkpoints -----------------------------------------------------------------------
    def save_checkpoint(self, prefix, epoch, remove_amp_cast=False):
        """Write ``prefix-%04d.params``, one ``prefix-KEY-symbol.json`` per bucket and the
        bucket keys (int32) in ``prefix.buckets``."""
        if not self._buckets:
            raise ModuleStateError("Empty BucketingModule cannot be saved")
        self.save_params("%s-%04d.params" % (prefix, epoch))
        for key in self._buckets:
            symbol, _, _ = self._call_sym_gen(key)
            symbol.save("%s-%s-symbol.json" % (prefix, key), remove_amp_cast=remove_amp_cast)
        nd.save("%s.buckets" % prefix, nd.array(list(self._buckets.keys()), dtype=np.int32))

    @staticmethod
    def load(prefix, epoch, sym_gen=None, default_bucket_key=None, **kwargs):
        """A BucketingModule from :meth:`save_checkpoint`'s files; ``sym_gen`` and
        ``default_bucket_key`` are required; ``kwargs`` go to the constructor."""
        from .. import symbol as sym
        from ..model import load_params
        if sym_gen is None:
            raise ValueError("sym_gen is required for loading BucketingModule")
        if default_bucket_key is None:
            raise ValueError("default_bucket_key is required for loading BucketingModule")
        buckets = nd.load("%s.buckets" % prefix)
        keys = [int(k) for k in buckets[0].asnumpy().astype("int32")]
        mod = BucketingModule(sym_gen, default_bucket_key, **kwargs)
        for key in keys:
            _, data_names, label_names = sym_gen(key)
            symbol = sym.load("%s-%s-symbol.json" % (prefix, key))
            mod._buckets[key] = Module(symbol, data_names, label_names, **kwargs)
            if key == default_bucket_key:
                mod._curr_module = mod._buckets[key]
        if mod._curr_module is None:
            raise MXNetError(f"BucketingModule.load: default_bucket_key {default_bucket_key!r} "
                             f"is not among the saved buckets {keys}")
        arg_params, aux_params = load_params(prefix, epoch)
        mod._curr_module._arg_params = arg_params
        mod._curr_module._aux_params = aux_params
        mod._curr_module.params_initialized = True
        mod.params_initialized = True
        return mod
