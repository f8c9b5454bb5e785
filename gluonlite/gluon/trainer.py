"""Gluon's ``Trainer``: applies an optimizer to a set of Parameters (MXNet 1.9.1 semantics).

After ``loss.backward()``, ``trainer.step(batch_size)`` sums each parameter's gradients
over its contexts (data parallelism), and updates every copy of the parameter with
``rescale_grad = 1 / batch_size``. There is no separate key-value store process: the
``kvstore`` strings MXNet uses on one machine ('device', 'local', ...) select the same
in-process reduction, and ``update_on_kvstore`` is decided as MXNet decides it (with
several contexts the update runs once on the summed gradient and the result is copied to
every context; otherwise every context updates its own copy with its own optimizer
state). Both give every context the same weights.

One deliberate difference: the stale-gradient check covers every parameter before
anything is updated, so a step that raises changes nothing (MXNet checks parameter by
parameter, and with ``update_on_kvstore`` only after the update has run).
"""
from __future__ import annotations

import numbers
import os
import warnings
import weakref

from .. import autograd
from .. import optimizer as opt
from ..autograd import VarNode
from .parameter import ParameterDict, Parameter

__all__ = ["Trainer"]

_LOCAL_KVSTORES = ("device", "local", "local_update_cpu", "local_allreduce_cpu",
                   "local_allreduce_device")
_UNSUPPORTED_KVSTORES = ("dist", "nccl", "horovod", "byteps")
# MXNet's 'local' kvstore stops updating on the store above this many elements
_LOCAL_UPDATE_LIMIT = 1024 * 1024 * 16

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
    if kvstore is None:
        return
    if not isinstance(kvstore, str):
        raise TypeError(f"kvstore: expected one of {', '.join(map(repr, _LOCAL_KVSTORES))} "
                        f"or None, got {type(kvstore).__name__}; gluonlite has no KVStore "
                        "objects yet (reduction across contexts happens in process)")
    if kvstore in _LOCAL_KVSTORES:
        return
    if kvstore.startswith(_UNSUPPORTED_KVSTORES):
        raise NotImplementedError(f"kvstore: {kvstore!r} (distributed or NCCL training) is not "
                                  "supported by gluonlite; use 'device', 'local' or None")
    raise ValueError(f"kvstore: unknown kvstore type {kvstore!r}; expected one of "
                     f"{', '.join(map(repr, _LOCAL_KVSTORES))} or None")


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
    kvstore : str or None, default 'device'
        How gradients of parameters living on several contexts are combined: 'device',
        'local' (and MXNet's other single-machine names) sum them in process; None leaves
        every context with its own gradient. Distributed stores are not supported.
    compression_params : dict, optional
        Gradient compression; gluonlite does not compress, so this is only accepted where
        MXNet ignores it (a single context, or ``kvstore=None``).
    update_on_kvstore : bool, optional
        With several contexts: True updates once on the summed gradient and copies the
        result to every context; False lets every context update its copy. None: MXNet's
        choice (True with several contexts unless ``MXNET_UPDATE_ON_KVSTORE=0``).

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
        self._kv_updater = None
        self._update_on_kvstore = None
        self._distributed = None
        self._params_to_init = []
        self._reset_kvstore()

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
        self._kv_initialized = False
        self._kvstore = None
        self._kv_updater = None
        self._distributed = None
        self._update_on_kvstore = None
        self._params_to_init = list(self._params)

    def _init_kvstore(self):
        """Decide, as MXNet does, whether gradients are reduced across contexts and where
        the update runs."""
        kvstore = self._kvstore_params["kvstore"]
        requested = self._kvstore_params["update_on_kvstore"]
        if kvstore is None or len(self._contexts) <= 1:
            if requested:
                raise ValueError("update_on_kvstore=True needs a kvstore: parameters on "
                                 "several contexts and kvstore 'device' or 'local'")
            kv = None
        else:
            kv = kvstore
            if self._compression_params:
                raise NotImplementedError("compression_params: gradient compression is not "
                                          "supported by gluonlite")
        if kv is None:
            if self._compression_params:
                warnings.warn("compression_params are ignored: gradients are not "
                              "communicated with a single context or kvstore=None (MXNet "
                              "ignores them too)", stacklevel=3)
            self._kvstore = None
            self._update_on_kvstore = None
        else:
            update_on_kvstore = bool(int(os.getenv("MXNET_UPDATE_ON_KVSTORE", "1")))
            if kv == "local":
                largest = max((p.data(self._contexts[0]).size for p in self._params
                               if not p._deferred_init), default=0)
                if largest > _LOCAL_UPDATE_LIMIT:
                    update_on_kvstore = False
            if requested is not None:
                update_on_kvstore = requested
            self._kvstore = kv
            self._update_on_kvstore = update_on_kvstore
            if update_on_kvstore:
                self._kv_updater = opt.get_updater(self._optimizer)
        self._distributed = False
        self._kv_initialized = True

    def _init_params(self):
        """Give every context the first context's value (MXNet's kvstore broadcast) for
        the parameters that are initialised; deferred ones wait."""
        pending = []
        for param in self._params_to_init:
            if param._deferred_init:
                pending.append(param)
                continue
            if self._kvstore:
                arrays = param.list_data()
                with autograd.pause():
                    for arr in arrays[1:]:
                        arr._data[...] = arrays[0].as_in_context(arr.context)._data
        self._params_to_init = pending

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

    def _allreduce_grads(self):
        if not self._kvstore or self._update_on_kvstore:
            return  # nothing to reduce, or reduced together with the update
        with autograd.pause():
            for param in self._params:
                if param.grad_req == "null":
                    continue
                grads = param.list_grad()
                if len(grads) < 2:
                    continue
                total = self._sum(grads)
                for g in grads:
                    g._data[...] = total.as_in_context(g.context)._data

    @staticmethod
    def _sum(arrays):
        """The sum of ``arrays`` (on several contexts) on the first one's context."""
        ctx = arrays[0].context
        total = arrays[0].copy()
        for a in arrays[1:]:
            total._data += a.as_in_context(ctx)._data
        return total

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

    def _update(self, ignore_stale_grad=False):
        active = [(i, p) for i, p in enumerate(self._params) if p.grad_req != "null"]
        if not ignore_stale_grad:
            # every parameter is checked before anything changes
            for _, param in active:
                for data in param.list_data():
                    if not _is_fresh(data):
                        raise UserWarning(_STALE.format(param.name, str(data.context)))
        updates = [[] for _ in self._updaters]
        kv_updates = []
        for i, param in active:
            datas = param.list_data()
            if self._kvstore and self._update_on_kvstore:
                if ignore_stale_grad and not all(_is_fresh(d) for d in datas):
                    continue
                kv_updates.append((i, param))
                for d in datas:
                    _mark_stale(d)
                continue
            for upd, arr, grad in zip(updates, datas, param.list_grad()):
                if not ignore_stale_grad or _is_fresh(arr):
                    upd.append((i, grad, arr))
                    _mark_stale(arr)
        if kv_updates:
            self._update_on_store(kv_updates)
        for updater, upd in zip(self._updaters, updates):
            if upd:
                i, g, w = zip(*upd)
                updater(list(i), list(g), list(w))

    def _update_on_store(self, kv_updates):
        """The update_on_kvstore path: one update per parameter from the summed gradient
        (on the first context), then every context gets the result."""
        with autograd.pause():
            for i, param in kv_updates:
                datas = param.list_data()
                grad = self._sum(param.list_grad())
                self._kv_updater(i, grad, datas[0])
                for arr in datas[1:]:
                    arr._data[...] = datas[0].as_in_context(arr.context)._data

    # --- states ----------------------------------------------------------------------------
    def save_states(self, fname):
        """Save the optimizer and its states (momentum, moments, update counts, ...) to
        ``fname``, pickled in MXNet's format (MXNet 1.x reads the file). The parameters'
        ``lr_mult``/``wd_mult`` are not saved."""
        if not isinstance(fname, (str, os.PathLike)):
            raise TypeError(f"fname: expected a file name, got {type(fname).__name__}")
        self._prepare()
        updater = self._kv_updater if self._update_on_kvstore else self._updaters[0]
        data = updater.get_states(dump_optimizer=True)
        with open(fname, "wb") as fout:
            fout.write(data)

    def load_states(self, fname):
        """Load what :meth:`save_states` (or MXNet's ``Trainer.save_states``) wrote: the
        optimizer is replaced by the saved one and the states are restored on every
        context."""
        if not isinstance(fname, (str, os.PathLike)):
            raise TypeError(f"fname: expected a file name, got {type(fname).__name__}")
        self._prepare()
        with open(fname, "rb") as f:
            states = f.read()
        updaters = list(self._updaters)
        if self._update_on_kvstore:
            updaters.insert(0, self._kv_updater)
        for updater in updaters:
            updater.set_states(states)
            updater.optimizer = updaters[0].optimizer
        self._optimizer = updaters[0].optimizer
        self._optimizer.param_dict = {i: param for i, param in enumerate(self._params)}
