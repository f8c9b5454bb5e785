"""``Module``: a Symbol bound to executors, with parameters and an optimizer
(MXNet 1.9.1's ``mx.mod.Module``).

The symbol's arguments are split into data (``data_names``), labels (``label_names``),
states (``state_names``) and parameters (all other arguments); parameters listed in
``fixed_param_names`` get no gradient and are never updated. ``bind`` creates a
:class:`~gluonlite.module.executor_group.DataParallelExecutorGroup` (one executor per
context, each on a slice of the batch); parameters are updated as MXNet does, through
``mx.model``'s kvstore helpers (no kvstore for one device and ``kvstore='local'``: the
optimizer's updater runs directly). The module keeps a CPU copy of the parameters
(``get_params``), synchronised from the devices when they changed.
"""
from __future__ import annotations

import logging
import warnings

from .. import optimizer as opt
from ..base import MXNetError
from ..context import Context, cpu
from ..fileio import atomic_write
from ..initializer import InitDesc, Uniform
from ..ndarray import NDArray, zeros
from .base_module import BaseModule, ModuleStateError, check_input_names, parse_data_desc
from .executor_group import DataParallelExecutorGroup
from ..kvstore.dist import is_distributed
from ..model import (_create_kvstore as create_kvstore,
                     _initialize_kvstore as initialize_kvstore,
                     _update_params as update_params,
                     _update_params_on_kvstore as update_params_on_kvstore)

__all__ = ["Module"]


def _names(value, what):
    if value is None:
        return []
    if isinstance(value, str):
        raise TypeError(f"{what}: expected a list or tuple of names, got the string {value!r} "
                        f"(write ({value!r},) for a single name)")
    names = list(value)
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"{what}: expected names (str), got {n!r}")
    return names


class Module(BaseModule):
    """A module over one Symbol (MXNet's ``mx.mod.Module``).

    Parameters follow MXNet: ``symbol``; ``data_names`` (default ``('data',)``) and
    ``label_names`` (default ``('softmax_label',)``) name the symbol's inputs; ``context``
    is a Context or a list of them (the batch is split across them in proportion to
    ``work_load_list``); ``fixed_param_names`` are not trained; ``state_names`` are inputs
    kept between batches (``set_states``). ``group2ctxs`` (model parallelism) is not
    supported; ``compression_params`` are handed to the kvstore.
    """

    def __init__(self, symbol, data_names=("data",), label_names=("softmax_label",),
                 logger=logging, context=cpu(), work_load_list=None, fixed_param_names=None,
                 state_names=None, group2ctxs=None, compression_params=None):
        super().__init__(logger=logger)
        from ..symbol import Symbol
        if not isinstance(symbol, Symbol):
            raise TypeError(f"symbol: expected a Symbol, got {type(symbol).__name__}")
        if isinstance(context, Context):
            context = [context]
        context = list(context)
        if not context or not all(isinstance(c, Context) for c in context):
            raise TypeError(f"context: expected a Context or a non-empty list of Contexts, "
                            f"got {context!r}")
        self._context = context
        if work_load_list is None:
            work_load_list = [1] * len(context)
        if len(work_load_list) != len(context):
            raise ValueError(f"work_load_list: expected one work load per context "
                             f"({len(context)}), got {len(work_load_list)}")
        self._work_load_list = list(work_load_list)
        if group2ctxs is not None:
            raise NotImplementedError("group2ctxs (model parallelism over ctx_group "
                                      "attributes) is not supported by gluonlite's Module")
        self._group2ctxs = group2ctxs
        self._symbol = symbol

        data_names = _names(data_names, "data_names")
        label_names = _names(label_names, "label_names")
        state_names = _names(state_names, "state_names")
        fixed_param_names = _names(fixed_param_names, "fixed_param_names")
        check_input_names(symbol, data_names, "data", True)
        check_input_names(symbol, label_names, "label", False)
        check_input_names(symbol, state_names, "state", True)
        check_input_names(symbol, fixed_param_names, "fixed_param", True)

        inputs = data_names + label_names + state_names
        self._param_names = [x for x in symbol.list_arguments() if x not in inputs]
        self._fixed_param_names = fixed_param_names
        self._aux_names = symbol.list_auxiliary_states()
        self._data_names = data_names
        self._label_names = label_names
        self._state_names = state_names
        self._output_names = symbol.list_outputs()

        self._arg_params = None
        self._aux_params = None
        self._params_dirty = False
        self._compression_params = compression_params
        self._optimizer = None
        self._kvstore = None
        self._update_on_kvstore = None
        self._updater = None
        self._preload_opt_states = None
        self._grad_req = None
        self._exec_group = None
        self._data_shapes = None
        self._label_shapes = None

    # --- checkpoints -----------------------------------------------------------------------
    @staticmethod
    def load(prefix, epoch, load_optimizer_states=False, **kwargs):
        """A Module from the checkpoint ``prefix-symbol.json`` + ``prefix-%04d.params``
        (parameters become the module's, applied at ``bind``); with
        ``load_optimizer_states`` the states in ``prefix-%04d.states`` are loaded by
        ``init_optimizer``. ``kwargs`` go to the constructor."""
        from ..model import load_checkpoint
        sym, args, auxs = load_checkpoint(prefix, epoch)
        mod = Module(symbol=sym, **kwargs)
        mod._arg_params = args
        mod._aux_params = auxs
        mod.params_initialized = True
        if load_optimizer_states:
            mod._preload_opt_states = "%s-%04d.states" % (prefix, epoch)
        return mod

    def save_checkpoint(self, prefix, epoch, save_optimizer_states=False,
                        remove_amp_cast=True):
        """Write ``prefix-symbol.json``, ``prefix-%04d.params`` and, with
        ``save_optimizer_states``, ``prefix-%04d.states``."""
        self._symbol.save("%s-symbol.json" % prefix, remove_amp_cast=remove_amp_cast)
        param_name = "%s-%04d.params" % (prefix, epoch)
        self.save_params(param_name)
        logging.info('Saved checkpoint to "%s"', param_name)
        if save_optimizer_states:
            state_name = "%s-%04d.states" % (prefix, epoch)
            self.save_optimizer_states(state_name)
            logging.info('Saved optimizer state to "%s"', state_name)

    def _reset_bind(self):
        self.binded = False
        self._exec_group = None
        self._data_shapes = None
        self._label_shapes = None

    # --- names and shapes ------------------------------------------------------------------
    @property
    def data_names(self):
        """Names of the data inputs."""
        return self._data_names

    @property
    def label_names(self):
        """Names of the label inputs."""
        return self._label_names

    @property
    def output_names(self):
        """Names of the symbol's outputs."""
        return self._output_names

    @property
    def data_shapes(self):
        """``DataDesc`` of the data inputs."""
        self._require("data_shapes", params=False)
        return self._data_shapes

    @property
    def label_shapes(self):
        """``DataDesc`` of the labels (None when bound without labels)."""
        self._require("label_shapes", params=False)
        return self._label_shapes

    @property
    def output_shapes(self):
        """``[(name, shape)]`` of the outputs over the whole batch."""
        self._require("output_shapes", params=False)
        return self._exec_group.get_output_shapes()

    # --- parameters ------------------------------------------------------------------------
    def get_params(self):
        """``(arg_params, aux_params)`` on the CPU, averaged over the devices."""
        self._require("get_params", binded=False)
        if self._params_dirty:
            self._sync_params_from_devices()
        return self._arg_params, self._aux_params

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialize parameters and auxiliary states: values from ``arg_params`` /
        ``aux_params`` where given (a missing one is an error unless ``allow_missing``,
        then ``initializer`` fills it), else ``initializer(InitDesc(name, attrs), arr)``.
        Already initialized parameters are kept (with a warning) unless ``force_init``.
        As in MXNet, only the symbol's own parameters are read from the dicts, so other
        names in them are not used (``allow_extra`` matters for ``set_params(...,
        allow_missing=True)``, which copies the dicts as given)."""
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. "
                          "init_params call ignored.", stacklevel=2)
            return
        self._require("init_params", params=False)

        def fill(name, arr, cache):
            if cache is not None:
                if name in cache:
                    src = cache[name]
                    if src is not arr:
                        if not isinstance(src, NDArray):
                            raise TypeError(f"init_params: {name!s} must be an NDArray, got "
                                            f"{type(src).__name__}")
                        if tuple(src.shape) != tuple(arr.shape):
                            raise MXNetError(f"init_params: {name!s} has shape "
                                             f"{tuple(src.shape)}, the symbol needs "
                                             f"{tuple(arr.shape)}")
                        src.copyto(arr)
                    return
                if not allow_missing:
                    raise RuntimeError("%s is not presented" % name)
                if initializer is not None:
                    initializer(name, arr)
            else:
                if initializer is None:
                    raise ValueError(f"init_params: no value and no initializer for {name!s}")
                initializer(name, arr)

        attrs = self._symbol.attr_dict()
        for name, arr in sorted(self._arg_params.items()):
            fill(InitDesc(name, attrs.get(name, None)), arr, arg_params)
        for name, arr in sorted(self._aux_params.items()):
            fill(InitDesc(name, attrs.get(name, None)), arr, aux_params)
        self.params_initialized = True
        self._params_dirty = False
        self._exec_group.set_params(self._arg_params, self._aux_params, allow_extra=allow_extra)

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        """Assign parameter values (on every device). With ``allow_missing`` the given
        values are copied and the others left as they are."""
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
        self._exec_group.set_params(arg_params, aux_params, allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    def _sync_params_from_devices(self):
        self._exec_group.get_params(self._arg_params, self._aux_params)
        self._params_dirty = False

    # --- binding ---------------------------------------------------------------------------
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        """Bind executors for inputs described by ``data_shapes`` / ``label_shapes``
        (lists of ``DataDesc`` or ``(name, shape)``). ``for_training=False`` computes no
        gradient; ``inputs_need_grad`` also computes the data's gradient; ``shared_module``
        (bound, initialized) lends its parameter arrays; ``grad_req`` is 'write', 'add',
        'null', or a list/dict per argument."""
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if not for_training and inputs_need_grad:
            raise ValueError("bind: inputs_need_grad=True needs for_training=True")
        self._data_shapes, self._label_shapes = parse_data_desc(
            self._data_names, self._label_names, data_shapes, label_shapes)
        shared_group = None
        if shared_module is not None:
            if not isinstance(shared_module, Module) or not shared_module.binded or \
                    not shared_module.params_initialized:
                raise ValueError("bind: shared_module must be a bound Module with initialized "
                                 "parameters")
            shared_group = shared_module._exec_group
            if len(shared_group.execs) < len(self._context):
                raise ValueError("bind: shared_module has fewer contexts than this module")
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        self._exec_group = DataParallelExecutorGroup(
            self._symbol, self._context, self._work_load_list, self._data_shapes,
            self._label_shapes, self._param_names, for_training, inputs_need_grad,
            shared_group, logger=self.logger, fixed_param_names=self._fixed_param_names,
            grad_req=grad_req, state_names=self._state_names)
        if shared_module is not None:
            self.params_initialized = True
            self._arg_params = shared_module._arg_params
            self._aux_params = shared_module._aux_params
        elif self.params_initialized:
            # parameters given before binding (Module.load): copy them to the devices
            self._exec_group.set_params(self._arg_params, self._aux_params)
        else:
            self._arg_params = {n: zeros(a[0].shape, dtype=a[0].dtype)
                                for n, a in zip(self._param_names,
                                                self._exec_group.param_arrays)}
            self._aux_params = {n: zeros(a[0].shape, dtype=a[0].dtype)
                                for n, a in zip(self._aux_names, self._exec_group.aux_arrays)}
        if shared_module is not None and shared_module.optimizer_initialized:
            self.borrow_optimizer(shared_module)
        self.binded = True

    def reshape(self, data_shapes, label_shapes=None):
        """Rebind for new input shapes (e.g. another batch size), sharing parameters."""
        self._require("reshape", params=False)
        self._data_shapes, self._label_shapes = parse_data_desc(
            self._data_names, self._label_names, data_shapes, label_shapes)
        self._exec_group.reshape(self._data_shapes, self._label_shapes)

    # --- optimizer -------------------------------------------------------------------------
    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        """Install ``optimizer`` (a name, created with ``optimizer_params`` and
        ``rescale_grad = 1/batch_size`` unless given, or an Optimizer) and a kvstore
        (``'local'``: none for a single device)."""
        self._require("init_optimizer")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring...")
            return
        if self._params_dirty:
            self._sync_params_from_devices()
        kvstore, update_on_kvstore = create_kvstore(kvstore, len(self._context),
                                                    self._arg_params)
        batch_size = self._exec_group.batch_size
        if kvstore and is_distributed(kvstore):
            # gradients are summed over workers ('horovod' too, which MXNet left unscaled)
            batch_size *= kvstore.num_workers
        rescale_grad = 1.0 / batch_size
        names = self._exec_group.param_names
        if update_on_kvstore:
            idx2name = dict(enumerate(names))
        else:
            n = len(self._context)
            idx2name = {i * n + k: name for k in range(n) for i, name in enumerate(names)}
        if isinstance(optimizer, str):
            optimizer_params = dict(optimizer_params)
            optimizer_params.setdefault("rescale_grad", rescale_grad)
            optimizer = opt.create(optimizer, sym=self.symbol, param_idx2name=idx2name,
                                   **optimizer_params)
        elif isinstance(optimizer, opt.Optimizer):
            if optimizer.rescale_grad != rescale_grad:
                warnings.warn("Optimizer created manually outside Module but rescale_grad is "
                              "not normalized to 1.0/batch_size/num_workers (%s vs. %s). Is "
                              "this intended?" % (optimizer.rescale_grad, rescale_grad),
                              stacklevel=2)
            if not optimizer.idx2name:
                optimizer.idx2name = idx2name.copy()
        else:
            raise TypeError(f"optimizer: expected an optimizer name or an Optimizer, got "
                            f"{type(optimizer).__name__}")
        self._optimizer = optimizer
        self._kvstore = kvstore
        self._update_on_kvstore = update_on_kvstore
        self._updater = None
        if kvstore:
            if self._compression_params:
                kvstore.set_gradient_compression(self._compression_params)
            if update_on_kvstore:
                kvstore.set_optimizer(self._optimizer)
            initialize_kvstore(kvstore, self._exec_group.param_arrays, self._arg_params,
                               self._param_names, update_on_kvstore)
        if not update_on_kvstore:
            self._updater = opt.get_updater(optimizer)
        self.optimizer_initialized = True
        if self._preload_opt_states is not None:
            self.load_optimizer_states(self._preload_opt_states)
            self._preload_opt_states = None

    def borrow_optimizer(self, shared_module):
        """Use ``shared_module``'s optimizer, kvstore and updater (as buckets do)."""
        if not shared_module.optimizer_initialized:
            raise ModuleStateError("borrow_optimizer: the shared module has no optimizer; "
                                   "call its init_optimizer() first")
        self._optimizer = shared_module._optimizer
        self._kvstore = shared_module._kvstore
        self._update_on_kvstore = shared_module._update_on_kvstore
        self._updater = shared_module._updater
        self.optimizer_initialized = True

    def save_optimizer_states(self, fname):
        """Write the optimizer states (the updater's, or the kvstore's) to ``fname``,
        replacing it atomically (a failed save leaves the previous file intact)."""
        self._require("save_optimizer_states", binded=False, params=False, optimizer=True)
        if self._update_on_kvstore:
            self._kvstore.save_optimizer_states(fname)
        else:
            # atomic: a failure leaves the previous file as it was
            atomic_write(fname, self._updater.get_states(), fn="Module.save_optimizer_states")

    def load_optimizer_states(self, fname, allow_pickle=False):
        """Load optimizer states written by :meth:`save_optimizer_states` (or MXNet's).

        Read safely by default: only the classes state files contain are unpickled, and
        each state must have the shape and dtype the optimizer needs for its parameter;
        bad content raises :class:`~gluonlite.base.FileFormatError` naming the file and
        changes nothing. ``allow_pickle=True`` accepts any pickle: only for a file you
        trust, since a crafted one can then run code.
        """
        self._require("load_optimizer_states", binded=False, params=False, optimizer=True)
        if not isinstance(allow_pickle, bool):
            raise TypeError(f"allow_pickle: expected a bool, got {type(allow_pickle).__name__}")
        if self._update_on_kvstore:
            if allow_pickle:  # (a store of the user's own may not take the keyword)
                self._kvstore.load_optimizer_states(fname, allow_pickle=True)
            else:
                self._kvstore.load_optimizer_states(fname)
            return
        with open(fname, "rb") as f:
            data = f.read()
        # the updater's indices are i * num_device + k (see model._update_params)
        n = len(self._context)
        weights = {i * n + k: (f"parameter {name!r} on device {k}", arrays[k])
                   for i, (name, arrays) in enumerate(zip(self._exec_group.param_names,
                                                          self._exec_group.param_arrays))
                   for k in range(n)}
        self._updater._install_states(*self._updater._decode_states(
            data, f"load_optimizer_states: file {str(fname)!r}", allow_pickle, weights,
            strict=True))

    # --- computation -----------------------------------------------------------------------
    def _batch_shapes(self, data_batch):
        if isinstance(data_batch, list):
            if not data_batch:
                raise ValueError("forward: Encountered empty data batch")
            shapes = []
            for i in range(len(data_batch[0].data)):
                shape = data_batch[0].data[i].shape
                for db in data_batch:
                    if db.data[i].shape != shape:
                        raise ValueError("forward: All data batches in a list need to have "
                                         "the same shape")
                shapes.append((len(data_batch) * shape[0],) + tuple(shape[1:]))
            return tuple(shapes)
        data = getattr(data_batch, "data", None)
        if data is None:
            raise TypeError(f"forward: expected a DataBatch (with .data), got "
                            f"{type(data_batch).__name__}")
        if len(data) != len(self._data_shapes):
            raise MXNetError(f"forward: the batch has {len(data)} data arrays, the module "
                             f"takes {len(self._data_shapes)} ({self._data_names})")
        return tuple(tuple(d.shape) for d in data)

    def forward(self, data_batch, is_train=None):
        """Forward on ``data_batch`` (``is_train`` defaults to ``for_training``). A batch
        whose data shapes differ from the bound ones reshapes the module first (shapes from
        ``provide_data``/``provide_label`` when the batch has them)."""
        self._require("forward")
        from ..io import DataDesc
        current = tuple(tuple(d.shape) for d in self._data_shapes)
        new = self._batch_shapes(data_batch)
        if current != new:
            if getattr(data_batch, "provide_data", None):
                new_dshape = data_batch.provide_data
            else:
                new_dshape = [DataDesc(d.name, s, d.dtype, d.layout)
                              for d, s in zip(self._data_shapes, new)]
            if getattr(data_batch, "provide_label", None):
                new_lshape = data_batch.provide_label
            elif getattr(data_batch, "label", None) and self._label_shapes:
                new_lshape = [DataDesc(d.name, tuple(a.shape), d.dtype, d.layout)
                              for d, a in zip(self._label_shapes, data_batch.label)]
            else:
                new_lshape = None
            self.reshape(new_dshape, new_lshape)
        self._exec_group.forward(data_batch, is_train)

    def backward(self, out_grads=None):
        """Backward from ``out_grads`` (default: the loss layers' own gradients)."""
        self._require("backward")
        self._exec_group.backward(out_grads=out_grads)

    def update(self):
        """Apply the optimizer to the gradients of the last backward."""
        self._require("update", optimizer=True)
        self._params_dirty = True
        if self._update_on_kvstore:
            update_params_on_kvstore(self._exec_group.param_arrays,
                                     self._exec_group.grad_arrays, self._kvstore,
                                     self._exec_group.param_names)
        else:
            update_params(self._exec_group.param_arrays, self._exec_group.grad_arrays,
                          updater=self._updater, num_device=len(self._context),
                          kvstore=self._kvstore, param_names=self._exec_group.param_names)

    def get_outputs(self, merge_multi_context=True):
        """Outputs of the last forward (merged over devices, or per device)."""
        self._require("get_outputs")
        return self._exec_group.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        """Gradients with respect to the data inputs (bind with ``inputs_need_grad``)."""
        self._require("get_input_grads")
        if not self.inputs_need_grad:
            raise ModuleStateError("get_input_grads: bind with inputs_need_grad=True first")
        return self._exec_group.get_input_grads(merge_multi_context=merge_multi_context)

    def get_states(self, merge_multi_context=True):
        """The state arrays, per device (``merge_multi_context=False``)."""
        self._require("get_states")
        return self._exec_group.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states=None, value=None):
        """Set the states from arrays (per device) or a scalar ``value``."""
        self._require("set_states")
        self._exec_group.set_states(states, value)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Accumulate ``eval_metric`` on the last outputs against ``labels``."""
        self._require("update_metric")
        self._exec_group.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        """Not available: gluonlite's executors have no monitor callback (MXNet's
        ``mx.monitor.Monitor`` taps every operator output inside the engine)."""
        self._require("install_monitor", params=False)
        raise NotImplementedError("install_monitor: gluonlite has no mx.monitor.Monitor; "
                                  "inspect get_outputs() or the executors' arrays instead")

    def __repr__(self):
        state = "bound" if self.binded else "not bound"
        return f"<Module {self._output_names} on {self._context} ({state})>"
