"""Gluon's ``Trainer``: applies an optimizer to a set of Parameters (MXNet 1.9.1 semantics).

After ``loss.backward()``, ``trainer.step(batch_size)`` reduces each parameter's gradients
over its contexts through a KVStore (``mx.kv``) and updates the weights with
``rescale_grad = 1 / batch_size``. ``kvstore`` is a type name ('device', 'local', ...), a
KVStore object or None, and ``update_on_kvstore`` is decided as MXNet decides it: with it,
the store sums the gradients, runs the optimizer once on its copy of the weight and every
context pulls the result; without it, the store only sums the gradients and every context
updates its own copy with its own optimizer state. Both give every context the same
weights.

One deliberate difference: the stale-gradient check covers every parameter before
anything is updated, so a step that raises changes nothing (MXNet checks parameter by
parameter, and with ``update_on_kvstore`` only after the update has run); with
``ignore_stale_grad=True`` a stale parameter is not pushed to the store either.
"""
from __future__ import annotations

import numbers
import os
import warnings
import weakref

import numpy as np

from .. import optimizer as opt
from .. import kvstore as kvs
from ..autograd import VarNode
from ..fileio import atomic_write
from ..model import _create_kvstore
from .parameter import ParameterDict, Parameter

__all__ = ["Trainer"]

_STALE = ("Gradient of Parameter `{}` on context {} has not been updated by backward since "
          "last `step`. This could mean a bug in your model that made it only use a subset "
          "of the Parameters (Blocks) for this iteration. If you are intentionally only using "
          "a subset, call step with ignore_stale_grad=True to suppress this warning and skip "
          "updating of Parameters with stale gradient")


def _is_fresh(arr):
    """Did ``backward`` write this parameter copy's gradient since the last update?"""
    e = arr._entry
    return e is not None and type(e[0]) is VarNode and e[0].fresh


def _mark_stale(arr):
    e = arr._entry
    if e is not None and type(e[0]) is VarNode:
        e[0].fresh = False


def _check_kvstore(kvstore):
    """Fail early on a ``kvstore`` argument the first step could not use."""
    if kvstore is None or isinstance(kvstore, kvs.KVStoreBase):
        return
    if not isinstance(kvstore, str):
        raise TypeError(f"kvstore must be KVStore, str or None, got {type(kvstore).__name__}")
    kvs.base.check_type(kvstore)


class Trainer:
    """Applies an Optimizer to a set of Parameters; use it together with ``autograd``.

    Parameters
    ----------
    params : ParameterDict, dict of str to Parameter, or list of Parameter
        The parameters to optimise (dicts are taken in sorted key order, as MXNet does;
        a parameter's position is its optimizer index).
    optimizer : str or Optimizer
        A registered optimizer name (``'sgd'``, ``'adam'``, ...) or an instance.
    optimizer_params : dict, optional
        Keyword arguments of the optimizer's constructor, e.g. ``{'learning_rate': 0.1}``
        (must be None when ``optimizer`` is an instance).
    kvstore : str, KVStore or None, default 'device'
        How gradients of parameters living on several contexts are combined: a type name
        ('device', 'local', MXNet's other single-machine names) creates a store when there
        are several contexts; a KVStore object (``mx.kv.create(...)``) is used even with
        one context; None leaves every context with its own gradient. 'dist_sync',
        'dist_device_sync' and 'horovod' (or ``mx.kv.create`` of them) sum gradients
        over all MPI processes: parameters are broadcast from rank 0 at the first step and
        ``step`` must get the global batch size (per-worker batch x ``num_workers``).
    compression_params : dict, optional
        Gradient compression set on the store, e.g. ``{'type': '2bit', 'threshold': 0.5}``
        (supported by 'device' stores, as in MXNet); ignored, with a warning, when no store
        is used.
    update_on_kvstore : bool, optional
        True: the store runs the optimizer on the summed gradient and every context pulls
        the new weight; False: every context updates its copy. None: MXNet's choice (True
        when a store is used, unless ``MXNET_UPDATE_ON_KVSTORE=0``, a 'local' store holds a
        parameter above 16M elements, or the store cannot run optimizers).

    Attributes
    ----------
    learning_rate : float
        The optimizer's current learning rate.
    optimizer : Optimizer
        The optimizer.
    """

    def __init__(self, params, optimizer, optimizer_params=None, kvstore="device",
                 compression_params=None, update_on_kvstore=None):
        if isinstance(params, (dict, ParameterDict)):
            params = [params[key] for key in sorted(list(params.keys()))]
        if not isinstance(params, (list, tuple)):
            raise ValueError(f"First argument must be a list or dict of Parameters, got "
                             f"{type(params)}.")
        self._params = []
        self._param2idx = {}
        for i, param in enumerate(params):
            if not isinstance(param, Parameter):
                raise ValueError(f"First argument must be a list or dict of Parameters, got "
                                 f"list of {type(param)}.")
            self._param2idx[param.name] = i
            self._params.append(param)
            param._trainer = weakref.ref(self)
        if not self._params:
            raise ValueError("params: expected at least one Parameter to optimize, got none")
        _check_kvstore(kvstore)
        if update_on_kvstore is not None and not isinstance(update_on_kvstore, bool):
            raise TypeError(f"update_on_kvstore: expected a bool or None, got "
                            f"{type(update_on_kvstore).__name__}")
        if compression_params is not None and not isinstance(compression_params, dict):
            raise TypeError(f"compression_params: expected a dict such as {{'type': '2bit', "
                            f"'threshold': 0.5}}, got {type(compression_params).__name__}")
        if optimizer_params is not None and not isinstance(optimizer_params, dict):
            raise TypeError(f"optimizer_params: expected a dict of optimizer arguments, got "
                            f"{type(optimizer_params).__name__}")
        self._compression_params = compression_params
        self._contexts = self._check_contexts()
        self._init_optimizer(optimizer, optimizer_params if optimizer_params else {})
        self._scale = self._optimizer.rescale_grad
        self._kvstore_params = {"kvstore": kvstore, "update_on_kvstore": update_on_kvstore}
        self._kv_initialized = False
        self._kvstore = None
        self._update_on_kvstore = None
        self._distributed = None
        self._params_to_init = []
        self._resync = False
        self._reset_kvstore()
        if kvs.dist.is_distributed(kvstore):
            # broadcast rank 0's parameters now, before the first backward: at the first
            # step (MXNet's moment) the other workers' first gradients would already have
            # come from their own initial values
            self._prepare()
            deferred = [p.name for p in self._params if p._deferred_init]
            if deferred:
                warnings.warn(f"Parameters {deferred} are not initialized yet (deferred), so "
                              "they are broadcast from rank 0 only at the first step, after "
                              "every worker's first gradient: give their shapes (e.g. "
                              "in_units) or run one forward pass before creating the "
                              "Trainer, or seed every worker alike", stacklevel=2)

    # --- set-up ----------------------------------------------------------------------------
    def _check_contexts(self):
        contexts = None
        for param in self._params:
            ctx = param.list_ctx()
            if contexts is not None and contexts != ctx:
                raise AssertionError(
                    f"All Parameters must be initialized on the same set of contexts, but "
                    f"Parameter {param.name} is initialized on {ctx} while previous "
                    f"Parameters are initialized on {contexts}.")
            contexts = ctx
        return contexts

    def _init_optimizer(self, optimizer, optimizer_params):
        param_dict = {i: param for i, param in enumerate(self._params)}
        if isinstance(optimizer, opt.Optimizer):
            if optimizer_params:
                raise AssertionError("optimizer_params must be None if optimizer is an "
                                     "instance of Optimizer instead of str")
            self._optimizer = optimizer
            # not copied: later changes of a Parameter's lr_mult/wd_mult take effect
            self._optimizer.param_dict = param_dict
        elif isinstance(optimizer, str):
            self._optimizer = opt.create(optimizer, param_dict=param_dict, **optimizer_params)
        else:
            raise TypeError(f"optimizer: expected an optimizer name (str) or an Optimizer, "
                            f"got {type(optimizer).__name__}")
        self._updaters = [opt.get_updater(self._optimizer) for _ in self._contexts]

    def _reset_kvstore(self):
        """Forget the store (called again at the next step); ``Parameter.set_data`` calls
        this when the store holds its own copy of the weights. A gluonlite KVStore that
        runs the optimizer is kept, with its optimizer states, and the new values are
        written into it at the next step (MXNet re-creates the store and loses them)."""
        if (self._kv_initialized and self._update_on_kvstore
                and isinstance(self._kvstore, kvs.KVStore)):
            self._resync = True
            self._params_to_init = list(self._params)
            return
        self._resync = False
        self._kv_initialized = False
        self._kvstore = None
        self._distributed = None
        self._update_on_kvstore = None
        self._params_to_init = list(self._params)

    def _init_kvstore(self):
        """Create or adopt the store and decide ``update_on_kvstore``, as MXNet does."""
        kvstore = self._kvstore_params["kvstore"]
        requested = self._kvstore_params["update_on_kvstore"]
        # deferred parameters have no size yet; MXNet only gets here after a forward pass
        arg_arrays = {p.name: p.data(self._contexts[0]) for p in self._params
                      if not p._deferred_init}
        kv, update_on_kvstore = _create_kvstore(kvstore, len(self._contexts), arg_arrays)
        if kv is None and requested:
            raise ValueError("update_on_kvstore=True needs a kvstore: parameters on "
                             "several contexts and kvstore 'device' or 'local', or a "
                             "KVStore object")
        distributed = kv is not None and kvs.dist.is_distributed(kv)
        if distributed and requested is None:
            # MXNet 1.9.1: dist_sync reduces gradients and updates on the workers,
            # dist_device_sync updates on the store
            update_on_kvstore = "device" in kv.type and kv.is_capable(
                kvs.KVStoreBase.OPTIMIZER)
        if requested is not None:
            update_on_kvstore = requested
        if kv is not None and update_on_kvstore and not kv.is_capable(
                kvs.KVStoreBase.OPTIMIZER):
            if requested:
                raise ValueError(f"Please set update_on_kvstore=False when training with "
                                 f"{type(kv)}")
            update_on_kvstore = False
        if kv is not None:
            if self._compression_params:
                kv.set_gradient_compression(self._compression_params)
            if update_on_kvstore:
                kv.set_optimizer(self._optimizer)
            self._kvstore = kv
            self._update_on_kvstore = update_on_kvstore
        else:
            if self._compression_params:
                warnings.warn("compression_params are ignored: gradients are not "
                              "communicated with a single context or kvstore=None (MXNet "
                              "ignores them too)", stacklevel=3)
            self._kvstore = None
            self._update_on_kvstore = None
        self._distributed = distributed
        self._kv_initialized = True

    def _init_params(self):
        """Broadcast the first context's value of every initialised parameter through the
        store (key: the parameter's index), as MXNet does; deferred ones wait."""
        pending = []
        for param in self._params_to_init:
            if param._deferred_init:
                pending.append(param)
                continue
            if self._kvstore:
                arrays = param.list_data()
                idx = self._param2idx[param.name]
                if self._resync:
                    self._kvstore._assign(idx, arrays[0])
                    self._kvstore.pull(idx, out=arrays, priority=-idx)
                else:
                    self._kvstore.broadcast(idx, arrays[0], arrays)
        self._params_to_init = pending
        if not pending:
            self._resync = False

    def _prepare(self):
        if not self._kv_initialized:
            self._init_kvstore()
        if self._params_to_init:
            self._init_params()

    # --- learning rate -------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The optimizer's current learning rate."""
        if not isinstance(self._optimizer, opt.Optimizer):
            raise UserWarning("Optimizer has to be defined before its learning rate can be "
                              "accessed.")
        return self._optimizer.learning_rate

    @property
    def optimizer(self):
        """The Optimizer this trainer applies."""
        if isinstance(self._optimizer, opt.Optimizer):
            return self._optimizer
        raise UserWarning("Optimizer has not been initialized yet")

    def set_learning_rate(self, lr):
        """Set the optimizer's learning rate (not possible with an ``lr_scheduler``)."""
        if not isinstance(self._optimizer, opt.Optimizer):
            raise UserWarning("Optimizer has to be defined before its learning rate is "
                              "mutated.")
        self._optimizer.set_learning_rate(lr)

    # --- steps ---------------------------------------------------------------------------
    def _check_and_rescale_grad(self, scale):
        self._optimizer.rescale_grad = scale

    @staticmethod
    def _check_batch_size(batch_size):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Real):
            raise TypeError(f"batch_size: expected a positive number, got "
                            f"{type(batch_size).__name__}")
        if not batch_size > 0:
            raise ValueError(f"batch_size: expected a positive number, got {batch_size}")

    def step(self, batch_size, ignore_stale_grad=False):
        """One update of every parameter: reduce gradients across contexts, then apply the
        optimizer with ``rescale_grad = 1 / batch_size``.

        Call after ``backward()`` and outside ``autograd.record()``. A parameter whose
        gradient ``backward`` has not written since the last step raises ``UserWarning``,
        or is skipped with ``ignore_stale_grad=True``.

        Parameters
        ----------
        batch_size : int or float
            Gradients are divided by it (use 1 if the loss is already a mean).
        ignore_stale_grad : bool, default False
            Skip parameters with stale gradients instead of raising.
        """
        self._check_batch_size(batch_size)
        self._check_and_rescale_grad(self._scale / batch_size)
        self._prepare()
        if self._distributed and ignore_stale_grad:
            self._agree_on_stale()
        if self._kvstore and self._update_on_kvstore:
            if not ignore_stale_grad:
                self._check_stale()  # before the store changes anything
            self._push_update(ignore_stale_grad)
        else:
            self._allreduce_grads()
            self._update(ignore_stale_grad)

    def allreduce_grads(self):
        """Sum each parameter's gradients over its contexts (every copy gets the sum).

        For gradient transformations between reduction and update (clipping, ...) call
        this and then :meth:`update` instead of :meth:`step`; as in MXNet this needs
        ``update_on_kvstore=False`` when parameters live on several contexts.
        """
        self._prepare()
        if self._kvstore and self._update_on_kvstore:
            raise AssertionError("allreduce_grads() when parameters are updated on kvstore is "
                                 "not supported. Try setting `update_on_kvstore` to False "
                                 "when creating trainer.")
        self._allreduce_grads()

    def _agree_on_stale(self):
        """Distributed ``ignore_stale_grad``: a parameter fresh on any worker counts as
        fresh on every worker, its stale copies contributing a zero gradient, so all
        workers update (or skip) the same parameters and their replicas stay equal."""
        params = [p for p in self._params if p.grad_req != "null"]
        local = np.array([all(_is_fresh(d) for d in p.list_data()) for p in params],
                         dtype=np.int64)
        anywhere = self._kvstore.allreduce(local) > 0
        for param, fresh in zip(params, anywhere):
            if not fresh:
                continue
            for data, grad in zip(param.list_data(), param.list_grad()):
                if not _is_fresh(data) and data._entry is not None \
                        and type(data._entry[0]) is VarNode:
                    grad[:] = 0
                    data._entry[0].fresh = True

    def _allreduce_grads(self):
        """Sum each parameter's gradients over its contexts through the store (every copy
        gets the sum)."""
        if not self._kvstore:
            return
        if self._distributed:
            # one call: the distributed store fuses all gradients into few allreduces
            keys = [i for i, p in enumerate(self._params) if p.grad_req != "null"]
            if keys:
                self._kvstore.pushpull(keys, [self._params[i].list_grad() for i in keys])
            return
        for i, param in enumerate(self._params):
            if param.grad_req != "null":
                self._kvstore.pushpull(i, param.list_grad(), priority=-i)

    def _push_update(self, ignore_stale_grad):
        """The update_on_kvstore path: push the gradients (the store sums them and runs
        the optimizer on its weight) and pull the new weight into every context. A
        distributed store gets every parameter in one call (fused communication)."""
        keys, grads, outs = [], [], []
        for i, param in enumerate(self._params):
            if param.grad_req == "null":
                continue
            datas = param.list_data()
            if ignore_stale_grad and not all(_is_fresh(d) for d in datas):
                continue  # distributed: _agree_on_stale made this the same everywhere
            if self._distributed:
                keys.append(i)
                grads.append(param.list_grad())
                outs.append(datas)
            else:
                self._kvstore.pushpull(i, param.list_grad(), out=datas, priority=-i)
            for d in datas:
                _mark_stale(d)
        if keys:
            self._kvstore.pushpull(keys, grads, out=outs)

    def update(self, batch_size, ignore_stale_grad=False):
        """Apply the optimizer (after :meth:`allreduce_grads`) with ``rescale_grad = 1 /
        batch_size``; see :meth:`step` for ``ignore_stale_grad``."""
        self._check_batch_size(batch_size)
        self._prepare()
        if self._kvstore and self._update_on_kvstore:
            raise AssertionError("update() when parameters are updated on kvstore is not "
                                 "supported. Try setting `update_on_kvstore` to False when "
                                 "creating trainer.")
        self._check_and_rescale_grad(self._scale / batch_size)
        self._update(ignore_stale_grad)

    def _check_stale(self):
        for param in self._params:
            if param.grad_req == "null":
                continue
            for data in param.list_data():
                if not _is_fresh(data):
                    raise UserWarning(_STALE.format(param.name, str(data.context)))

    def _update(self, ignore_stale_grad=False):
        if not ignore_stale_grad:
            self._check_stale()  # every parameter is checked before anything changes
        updates = [[] for _ in self._updaters]
        for i, param in enumerate(self._params):
            if param.grad_req == "null":
                continue
            for upd, arr, grad in zip(updates, param.list_data(), param.list_grad()):
                if not ignore_stale_grad or _is_fresh(arr):
                    upd.append((i, grad, arr))
                    _mark_stale(arr)
        for updater, upd in zip(self._updaters, updates):
            if upd:
                i, g, w = zip(*upd)
                updater(list(i), list(g), list(w))

    # --- states ----------------------------------------------------------------------------
    def save_states(self, fname):
        """Save the optimizer and its states (momentum, moments, update counts, ...) to
        ``fname``, pickled in MXNet's format (MXNet 1.x reads the file); with
        update_on_kvstore the store's optimizer is saved. The parameters'
        ``lr_mult``/``wd_mult`` are not saved. The file is replaced atomically: a failed
        save leaves the previous one intact."""
        if not isinstance(fname, (str, os.PathLike)):
            raise TypeError(f"fname: expected a file name, got {type(fname).__name__}")
        self._prepare()
        if self._update_on_kvstore:
            if self._params_to_init:
                raise AssertionError("Cannot save trainer states when some parameters are "
                                     "not yet initialized in kvstore.")
            self._kvstore.save_optimizer_states(fname, dump_optimizer=True)
            return
        # pickled before the file is touched, and written atomically: a failure leaves the
        # previous states file as it was
        atomic_write(fname, self._updaters[0].get_states(dump_optimizer=True),
                     fn="Trainer.save_states")

    def load_states(self, fname, allow_pickle=False):
        """Load what :meth:`save_states` (or MXNet's ``Trainer.save_states``) wrote: the
        optimizer is replaced by the saved one and the states are restored on every
        context.

        The file is a pickle, read safely by default: only the classes state files
        contain are built (arrays, optimizers, schedulers), and every state must have the
        shape and dtype the optimizer needs for its parameter. Anything else raises
        :class:`~gluonlite.base.FileFormatError` naming the file, and the trainer is left
        exactly as it was. ``allow_pickle=True`` unpickles arbitrary objects: use it only
        for a file you trust, since a crafted pickle can then run any code.
        """
        if not isinstance(fname, (str, os.PathLike)):
            raise TypeError(f"fname: expected a file name, got {type(fname).__name__}")
        if not isinstance(allow_pickle, bool):
            raise TypeError(f"allow_pickle: expected a bool, got {type(allow_pickle).__name__}")
        self._prepare()
        if self._update_on_kvstore:
            if isinstance(self._kvstore, kvs.KVStore):
                self._kvstore.load_optimizer_states(fname, allow_pickle=allow_pickle)
            else:
                self._kvstore.load_optimizer_states(fname)
            self._optimizer = self._kvstore._updater.optimizer
        else:
            with open(fname, "rb") as f:
                data = f.read()
            source = f"load_states: file {os.fspath(fname)!r}"
            # decode and check for every context first, then install: a bad file changes
            # nothing (each context gets its own copy of the state arrays)
            decoded = []
            for k, updater in enumerate(self._updaters):
                weights = {i: (f"parameter {p.name!r} (index {i})",
                               None if p._data is None else p._data[k])
                           for i, p in enumerate(self._params)}
                decoded.append(updater._decode_states(data, source, allow_pickle, weights,
                                                      strict=True))
            optimizer = decoded[0][1]
            for updater, (states, _, unchecked, src) in zip(self._updaters, decoded):
                updater._install_states(states, optimizer, unchecked, src)
            self._optimizer = self._updaters[0].optimizer
        self._optimizer.param_dict = {i: param for i, param in enumerate(self._params)}
