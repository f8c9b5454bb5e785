"""The optimizer base class, the registry and the updater (MXNet's ``mx.optimizer``).

An :class:`Optimizer` updates one weight at a time: ``update(index, weight, grad, state)``
changes ``weight`` (and ``state``) in place, with the learning rate and weight decay of
parameter ``index`` (global values times the per-parameter ``lr_mult``/``wd_mult``, from
the Gluon ``Parameter`` in ``param_dict``, or ``set_lr_mult``/``set_wd_mult``, or the
names in ``param_idx2name``). ``create_state(index, weight)`` makes the per-weight state
(momentum, moments, ...) once; :class:`Updater` keeps the states of many weights and is
what :class:`gluonlite.gluon.Trainer` calls.

Attribute names are MXNet 1.9.1's (``lr``, ``wd``, ``num_update``,
``_index_update_count``, ...): an optimizer pickles to the same state MXNet's does, so
trainer state files move between MXNet and gluonlite (see :mod:`.states`).
"""
from __future__ import annotations

import copy
import numbers
import os
import warnings

import numpy

from .. import autograd
from ..base import FileFormatError
from ..ndarray import NDArray
from .. import ndarray as nd
from . import states as _states

__all__ = ["Optimizer", "register", "create", "Updater", "get_updater"]


# --------------------------------------------------------------------------------------
# argument checks
def check_real(name, value, allow_none=False):
    """``value`` if it is a real number (or None when allowed), else a TypeError naming
    ``name``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        expected = "a real number or None" if allow_none else "a real number"
        raise TypeError(f"{name}: expected {expected}, got {type(value).__name__} "
                        f"({value!r})")
    return value


def check_weight_grad(weight, grad, what="update"):
    """Raise a clear error unless ``weight`` and ``grad`` are NDArrays of one shape on
    one device."""
    if type(weight) is NDArray and type(grad) is NDArray and \
            weight._data.shape == grad._data.shape and weight._ctx is grad._ctx:
        return  # the common case, checked cheaply (this runs for every update)
    if not isinstance(weight, NDArray):
        raise TypeError(f"{what}: weight: expected an NDArray, got {type(weight).__name__}")
    if not isinstance(grad, NDArray):
        raise TypeError(f"{what}: grad: expected an NDArray, got {type(grad).__name__}")
    if weight.shape != grad.shape:
        raise ValueError(f"{what}: grad has shape {grad.shape} but weight has shape "
                         f"{weight.shape}")
    if weight.context is not grad.context:
        raise ValueError(f"{what}: grad is on {grad.context} but weight is on "
                         f"{weight.context}")


def zeros_like(weight, dtype=None):
    """A zero state array shaped and placed like ``weight``."""
    return nd.zeros(weight.shape, ctx=weight.context,
                    dtype=weight.dtype if dtype is None else dtype)


class Optimizer:
    """The base class of all optimizers.

    Parameters
    ----------
    rescale_grad : float, default 1.0
        Multiplies the gradient before the update (Gluon's Trainer sets it to
        ``1 / batch_size``).
    param_idx2name : dict of int to str, optional
        Parameter names by index. Parameters whose name does not end in ``_weight`` or
        ``_gamma`` then get ``wd_mult = 0`` (MXNet's rule for biases).
    wd : float, default 0.0
        The weight decay (L2 regularisation) coefficient.
    clip_gradient : float, optional
        Clip the (rescaled) gradient to ``[-clip_gradient, clip_gradient]``.
    learning_rate : float, optional
        The learning rate; it overrides the ``lr_scheduler``'s ``base_lr``. With neither,
        0.01.
    lr_scheduler : LRScheduler, optional
        Gives the learning rate from the number of updates.
    sym : Symbol, optional
        The symbol whose arguments' ``__lr_mult__``/``__wd_mult__`` attributes set the
        multipliers.
    begin_num_update : int, default 0
        The update count to start from.
    multi_precision : bool, default False
        Keep a float32 master copy of float16 weights and update it in float32.
    param_dict : dict of int to Parameter, optional
        Gluon parameters by index; their ``lr_mult``/``wd_mult`` take precedence.

    Attributes
    ----------
    learning_rate : float
        The current learning rate (from the scheduler if there is one).
    num_update : int
        The largest number of updates applied to any weight.
    """

    opt_registry: dict = {}

    #: number of weights ``update`` accepts in one call (0: one weight per call)
    aggregate_num = 0

    def __init__(self, rescale_grad=1., param_idx2name=None, wd=0., clip_gradient=None,
                 learning_rate=None, lr_scheduler=None, sym=None, begin_num_update=0,
                 multi_precision=False, param_dict=None):
        self.rescale_grad = check_real("rescale_grad", rescale_grad)
        check_real("learning_rate", learning_rate, allow_none=True)
        if lr_scheduler is not None and not callable(lr_scheduler):
            raise TypeError(f"lr_scheduler: expected an LRScheduler (a callable of "
                            f"num_update), got {type(lr_scheduler).__name__}")
        self.lr_scheduler = lr_scheduler
        if self.lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if self.lr_scheduler is not None and learning_rate is not None:
            if getattr(self.lr_scheduler, "base_lr", learning_rate) != learning_rate:
                warnings.warn("learning rate from ``lr_scheduler`` has been overwritten by "
                              "``learning_rate`` in optimizer.", UserWarning, stacklevel=2)
                self.lr_scheduler.base_lr = learning_rate

        self.wd = check_real("wd", wd)
        self.lr_mult = {}
        self.wd_mult = {}
        if isinstance(begin_num_update, bool) or not isinstance(begin_num_update,
                                                                numbers.Integral):
            raise TypeError(f"begin_num_update: expected an int, got "
                            f"{type(begin_num_update).__name__}")
        self.begin_num_update = int(begin_num_update)
        self.num_update = int(begin_num_update)
        self._all_index_update_counts = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = check_real("clip_gradient", clip_gradient, allow_none=True)
        if not isinstance(multi_precision, (bool, numpy.bool_)):
            raise TypeError(f"multi_precision: expected a bool, got "
                            f"{type(multi_precision).__name__}")
        self.multi_precision = bool(multi_precision)
        self.aggregate_num = type(self).aggregate_num

        if param_idx2name is None:
            param_idx2name = {}
        if not isinstance(param_idx2name, dict):
            raise TypeError(f"param_idx2name should be a dict of param indexes to names, "
                            f"got {type(param_idx2name).__name__}")
        self.idx2name = param_idx2name.copy()
        self.sym_info = (sym.attr_dict(), sym.list_arguments()) if sym is not None else ()
        if param_dict is not None and not isinstance(param_dict, dict):
            raise TypeError(f"param_dict: expected a dict of index -> Parameter, got "
                            f"{type(param_dict).__name__}")
        self.param_dict = param_dict if param_dict else {}
        self.allow_np_array = False

        self.set_lr_mult({})
        self.set_wd_mult({})

    # --- registry -------------------------------------------------------------------------
    @staticmethod
    def register(klass):
        """Register an Optimizer subclass under its lower-case class name, so that
        ``create(name)`` (and Gluon's ``Trainer(params, 'name')``) can build it."""
        if not (isinstance(klass, type) and issubclass(klass, Optimizer)):
            raise TypeError(f"register: expected an Optimizer subclass, got {klass!r}")
        name = klass.__name__.lower()
        if name in Optimizer.opt_registry:
            old = Optimizer.opt_registry[name]
            warnings.warn(f"WARNING: New optimizer {klass.__module__}.{klass.__name__} is "
                          f"overriding existing optimizer {old.__module__}.{old.__name__}",
                          stacklevel=2)
        Optimizer.opt_registry[name] = klass
        return klass

    @staticmethod
    def create_optimizer(name, **kwargs):
        """An instance of the optimizer registered as ``name`` (case-insensitive),
        constructed with ``kwargs``."""
        if not isinstance(name, str):
            raise TypeError(f"name: expected the name of an optimizer (str), got "
                            f"{type(name).__name__}")
        klass = Optimizer.opt_registry.get(name.lower())
        if klass is None:
            raise ValueError(f"Cannot find optimizer {name}; registered optimizers: "
                             f"{', '.join(sorted(Optimizer.opt_registry))}")
        return klass(**kwargs)

    # --- learning rate ----------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate: the scheduler's value at ``num_update``, or ``lr``."""
        if self.lr_scheduler is not None:
            return self.lr_scheduler(self.num_update)
        return self.lr

    def set_learning_rate(self, lr):
        """Set the learning rate (not allowed when an ``lr_scheduler`` drives it: MXNet
        raises ``UserWarning``)."""
        if self.lr_scheduler is not None:
            raise UserWarning("LRScheduler of the optimizer has already been defined. Note "
                              "that set_learning_rate can mutate the value of the learning "
                              "rate of the optimizer only when the LRScheduler of the "
                              "optimizer is undefined.")
        self.lr = check_real("lr", lr)

    def set_lr_scale(self, args_lrscale):
        """Deprecated in MXNet: use :meth:`set_lr_mult`."""
        raise DeprecationWarning("set_lr_scale is deprecated; use set_lr_mult")

    def set_lr_mult(self, args_lr_mult):
        """Set per-parameter learning-rate multipliers: a dict from parameter index (or
        name, with ``sym`` or ``param_idx2name``) to multiplier. Replaces earlier ones;
        ``__lr_mult__`` attributes of ``sym`` come first."""
        if not isinstance(args_lr_mult, dict):
            raise TypeError(f"args_lr_mult: expected a dict, got {type(args_lr_mult).__name__}")
        self.lr_mult = {}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__lr_mult__" in attr[name]:
                    self.lr_mult[name] = float(attr[name]["__lr_mult__"])
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult):
        """Set per-parameter weight-decay multipliers (a dict from index or name).

        Names from ``param_idx2name`` that do not end in ``_weight`` or ``_gamma`` get 0
        (no weight decay on biases), then ``sym``'s ``__wd_mult__`` attributes, then
        ``args_wd_mult``.
        """
        if not isinstance(args_wd_mult, dict):
            raise TypeError(f"args_wd_mult: expected a dict, got {type(args_wd_mult).__name__}")
        self.wd_mult = {}
        for n in self.idx2name.values():
            if not (n.endswith("_weight") or n.endswith("_gamma")):
                self.wd_mult[n] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__wd_mult__" in attr[name]:
                    self.wd_mult[name] = float(attr[name]["__wd_mult__"])
        self.wd_mult.update(args_wd_mult)

    # --- update counting, per-parameter hyper-parameters ---------------------------------
    def _set_current_context(self, device_id):
        """Count updates separately per device (each device's weights are updated once per
        step)."""
        if device_id not in self._all_index_update_counts:
            self._all_index_update_counts[device_id] = {}
        self._index_update_count = self._all_index_update_counts[device_id]

    def _update_count(self, index):
        """Count one update of ``index`` (or of each index of a list) and advance
        ``num_update``."""
        if not isinstance(index, (list, tuple)):
            index = [index]
        for idx in index:
            if idx not in self._index_update_count:
                self._index_update_count[idx] = self.begin_num_update
            self._index_update_count[idx] += 1
            self.num_update = max(self._index_update_count[idx], self.num_update)

    def _begin_update(self, index, weight, grad):
        """The start most update rules share, in MXNet's usual order: check the arrays,
        count one update of ``index`` (so a scheduler sees the new ``num_update``), then
        ``(lr, wd, t)`` with ``t`` the index's update count."""
        check_weight_grad(weight, grad)
        self._update_count(index)
        return self._get_lr(index), self._get_wd(index), self._index_update_count[index]

    def _get_lrs(self, indices):
        """The learning rates of ``indices`` (global rate times each one's multiplier)."""
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        return self._with_lr_mults(lr, indices)

    def _with_lr_mults(self, lr, indices):
        """``lr`` times each index's learning-rate multiplier (from the Parameter, the
        ``lr_mult`` dict by index, then by name)."""
        lrs = [lr for _ in indices]
        for i, index in enumerate(indices):
            if index in self.param_dict:
                lrs[i] *= self.param_dict[index].lr_mult
            elif index in self.lr_mult:
                lrs[i] *= self.lr_mult[index]
            elif index in self.idx2name:
                lrs[i] *= self.lr_mult.get(self.idx2name[index], 1.0)
        return lrs

    def _get_lr(self, index):
        return self._get_lrs([index])[0]

    def _get_wds(self, indices):
        """The weight decays of ``indices`` (``wd`` times each one's multiplier)."""
        wds = [self.wd for _ in indices]
        for i, index in enumerate(indices):
            if index in self.param_dict:
                wds[i] *= self.param_dict[index].wd_mult
            elif index in self.wd_mult:
                wds[i] *= self.wd_mult[index]
            elif index in self.idx2name:
                wds[i] *= self.wd_mult.get(self.idx2name[index], 1.0)
        return wds

    def _get_wd(self, index):
        return self._get_wds([index])[0]

    def _clip(self):
        """``clip_gradient`` as MXNet's fused kernels see it: None (off) unless set to a
        non-zero value (the Python side passes it only when it is truthy)."""
        return self.clip_gradient if self.clip_gradient else None

    # --- states and updates -------------------------------------------------------------
    def create_state(self, index, weight):
        """The auxiliary state (momentum, moments, ...) of a weight, or None. Called once
        per weight."""
        return None

    def create_state_multi_precision(self, index, weight):
        """Like :meth:`create_state`; with ``multi_precision`` and a float16 weight the
        state is ``(float32 master copy, state of the copy)``."""
        if self.multi_precision and weight.dtype == numpy.float16:
            weight_master_copy = weight.astype(numpy.float32)
            return (weight_master_copy,) + (self.create_state(index, weight_master_copy),)
        if weight.dtype == numpy.float16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy "
                          "or slow convergence. Consider using multi_precision=True option "
                          "of the optimizer", stacklevel=2)
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        """Update ``weight`` (in place) from ``grad`` and ``state``."""
        raise NotImplementedError(f"{type(self).__name__} must implement update")

    def update_multi_precision(self, index, weight, grad, state):
        """:meth:`update`, through the float32 master copy for float16 weights under
        ``multi_precision``."""
        if self.multi_precision and weight.dtype == numpy.float16:
            check_weight_grad(weight, grad)
            weight_master_copy, original_state = state[0], state[1]
            grad32 = grad.astype(numpy.float32)
            self.update(index, weight_master_copy, grad32, original_state)
            weight._data[...] = weight_master_copy._data
        else:
            self.update(index, weight, grad, state)

    # --- pickling (MXNet's state) --------------------------------------------------------
    def __getstate__(self):
        ret = self.__dict__.copy()
        # param_dict holds Gluon Parameters: never saved (the Trainer sets it again)
        ret.pop("param_dict", None)
        return ret

    def __setstate__(self, state):
        self.__dict__ = state
        self.param_dict = {}
        # fill in what an older or foreign (MXNet) pickle may lack
        self.__dict__.setdefault("aggregate_num", type(self).aggregate_num)
        self.__dict__.setdefault("allow_np_array", False)


# --------------------------------------------------------------------------------------
# loading saved states: everything is checked before anything is replaced
def _describe(state):
    """``state`` in words, for error messages."""
    if state is None:
        return "no state"
    if type(state) is NDArray:
        return f"an array of shape {state.shape} and dtype {numpy.dtype(state.dtype).name}"
    if isinstance(state, (tuple, list)):
        return f"a {type(state).__name__} of {len(state)} states"
    return f"a {type(state).__name__}"


def _match_state(expected, got, where, source, path=""):
    """Raise FileFormatError unless ``got`` (a loaded state) has the structure, shapes and
    dtypes of ``expected`` (what the optimizer's ``create_state`` makes for the weight):
    the compiled update kernels walk a state buffer for as many elements as the weight has.
    """
    if isinstance(expected, NDArray):
        ok = type(got) is NDArray and got.shape == expected.shape and \
            got.dtype == expected.dtype
    elif isinstance(expected, (tuple, list)):
        ok = isinstance(got, (tuple, list)) and len(got) == len(expected)
        if ok:
            for k, (e, g) in enumerate(zip(expected, got)):
                _match_state(e, g, where, source, f"{path}[{k}]")
            return
    elif expected is None:
        ok = got is None
    else:
        ok = type(got) is type(expected)
    if not ok:
        raise FileFormatError(
            f"{source}: Incompatible attr in the optimizer state{path} of {where}: the file "
            f"holds {_describe(got)}, but this optimizer needs {_describe(expected)} for it "
            "(are the states of another model or optimizer?)")


def _check_arrays(state, where, source, depth=0):
    """Raise FileFormatError if ``state`` holds an array the file never filled (an MXNet
    NDArray object without its data) or is nested implausibly deep."""
    if isinstance(state, NDArray) and type(state) is not NDArray:
        raise FileFormatError(f"{source}: the optimizer state of {where} holds an MXNet "
                              "NDArray without data")
    if isinstance(state, (tuple, list)):
        if depth > 16:
            raise FileFormatError(f"{source}: the optimizer state of {where} is nested too "
                                  "deeply")
        for s in state:
            _check_arrays(s, where, source, depth + 1)


def _check_counts(value, name, source):
    if not isinstance(value, dict) or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool)
            for v in value.values()):
        raise FileFormatError(f"{source}: the saved optimizer's {name} is not a dict of "
                              "update counts")


def _same_kind(ref, value):
    """Whether a loaded attribute ``value`` is of the kind a fresh optimizer's ``ref`` is."""
    for kind in (numbers.Real, dict, (tuple, list), str):
        if isinstance(ref, kind):
            return isinstance(value, kind)
    return True


def _check_optimizer(optimizer, source):
    """Raise FileFormatError unless the unpickled ``optimizer`` is an Optimizer with the
    attributes (of the right kinds) a fresh one of its class has, so that it fails here,
    not in the middle of a later step."""
    if not isinstance(optimizer, Optimizer):
        raise FileFormatError(f"{source}: the saved optimizer is a {type(optimizer).__name__}, "
                              "not an Optimizer")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fresh = vars(type(optimizer)())
        except Exception:  # noqa: BLE001 -- a user optimizer with required arguments
            fresh = vars(Optimizer())
    attrs = vars(optimizer)
    name = type(optimizer).__name__
    for key, ref in fresh.items():
        if key == "param_dict":
            continue
        if key not in attrs:
            raise FileFormatError(f"{source}: the saved {name} optimizer lacks its attribute "
                                  f"{key!r}")
        value = attrs[key]
        if ref is not None and value is not None and not _same_kind(ref, value):
            raise FileFormatError(f"{source}: the saved {name} optimizer's {key!r} is a "
                                  f"{type(value).__name__}, expected a "
                                  f"{type(ref).__name__}")
    counts = attrs["_all_index_update_counts"]
    if not isinstance(counts, dict):
        raise FileFormatError(f"{source}: the saved optimizer's _all_index_update_counts is "
                              "not a dict")
    for device_counts in counts.values():
        _check_counts(device_counts, "_all_index_update_counts", source)
    _check_counts(attrs["_index_update_count"], "_index_update_count", source)
    for key in ("num_update", "begin_num_update"):
        if isinstance(attrs[key], bool) or not isinstance(attrs[key], numbers.Integral):
            raise FileFormatError(f"{source}: the saved optimizer's {key} is not an integer")
    scheduler = attrs["lr_scheduler"]
    if scheduler is not None and not callable(scheduler):
        raise FileFormatError(f"{source}: the saved optimizer's lr_scheduler is a "
                              f"{type(scheduler).__name__}, not a scheduler")
    if scheduler is not None:
        # ask a copy (schedulers keep counters) for the current rate, so that a scheduler
        # missing attributes fails here rather than at the next step
        try:
            trial = copy.deepcopy(scheduler)
        except Exception:  # noqa: BLE001 -- a user's scheduler that cannot be copied
            trial = None
        if trial is not None:
            try:
                trial(attrs["num_update"])
            except Exception as e:  # noqa: BLE001 -- whatever the bad attributes raise
                raise FileFormatError(f"{source}: the saved lr_scheduler "
                                      f"({type(scheduler).__name__}) does not work: "
                                      f"{type(e).__name__}: {e}") from e


def _expected_state(optimizer, index, weight, source):
    """The state ``optimizer`` would create for ``weight`` (the template a loaded state
    must match)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the float16-without-multi_precision advice
        try:
            return optimizer.create_state_multi_precision(index, weight)
        except Exception as e:  # noqa: BLE001 -- a loaded optimizer with bad settings
            raise FileFormatError(f"{source}: the optimizer cannot create the state of "
                                  f"parameter index {index!r} to check the file against: "
                                  f"{type(e).__name__}: {e}") from e


register = Optimizer.register
create = Optimizer.create_optimizer


def aggregation_size(default):
    """``MXNET_OPTIMIZER_AGGREGATION_SIZE`` (how many weights one fused update handles)."""
    raw = os.getenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", str(default))
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"MXNET_OPTIMIZER_AGGREGATION_SIZE must be an integer, got "
                         f"{raw!r}") from None


class ImplUpdates:
    """``update`` / ``update_multi_precision`` of an optimizer whose
    ``_update_impl(index, weight, grad, state, multi_precision)`` takes one weight or lists
    of them and handles the float32 master copy itself (SGD, LARS, LAMB)."""

    def update(self, index, weight, grad, state):
        """Update one weight (or lists of indices/weights/grads/states)."""
        self._update_impl(index, weight, grad, state, multi_precision=False)

    def update_multi_precision(self, index, weight, grad, state):
        """:meth:`update`, through float32 master copies for float16 weights under
        ``multi_precision``."""
        first = weight[0] if isinstance(index, (tuple, list)) else weight
        use_mp = self.multi_precision and first.dtype == numpy.float16
        self._update_impl(index, weight, grad, state, multi_precision=use_mp)


class Updater:
    """Applies an optimizer to weights by index, keeping each weight's state.

    ``updater(index, grad, weight)`` (or lists of each) creates the state of a new index
    with ``create_state_multi_precision`` and updates in place. Optimizers with
    ``aggregate_num > 0`` get up to that many weights of one dtype per call, as MXNet
    groups them.
    """

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer: expected an Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.states = {}
        self.states_synced = {}
        # loaded states not yet checked against their weight (checked at first use), and
        # where they came from (for that check's error message)
        self._unchecked = set()
        self._states_source = None

    @property
    def aggregate_updates(self):
        """Whether the optimizer takes several weights per call (follows the current
        optimizer, which ``set_states`` may replace)."""
        return self.optimizer.aggregate_num > 0

    def __call__(self, index, grad, weight):
        """Update ``weight`` from ``grad`` (single index or lists of indices, gradients and
        weights)."""
        with autograd.pause():
            self._call(index, grad, weight)

    def _call(self, index, grad, weight):
        if not isinstance(index, (list, tuple)):
            indices, grads, weights = [index], [grad], [weight]
        else:
            indices, grads, weights = list(index), list(grad), list(weight)
            if not (len(indices) == len(grads) == len(weights)):
                raise ValueError(f"Updater: got {len(indices)} indices, {len(grads)} "
                                 f"gradients and {len(weights)} weights; they must match")
        for i, (g, w) in enumerate(zip(grads, weights)):
            check_weight_grad(w, g, f"Updater (index {indices[i]!r})")
        if weights:
            self.optimizer._set_current_context(weights[0].context.device_id)
        for i, idx in enumerate(indices):
            if isinstance(idx, bytes):
                indices[i] = idx = idx.decode()
            if idx not in self.states:
                self.states[idx] = self.optimizer.create_state_multi_precision(idx, weights[i])
                self.states_synced[idx] = True
            elif not self.states_synced[idx]:
                if idx in self._unchecked:
                    _match_state(_expected_state(self.optimizer, idx, weights[i],
                                                 self._states_source),
                                 self.states[idx], f"parameter index {idx!r}",
                                 self._states_source)
                    self._unchecked.discard(idx)
                self.states[idx] = self.sync_state_context(self.states[idx],
                                                           weights[i].context)
                self.states_synced[idx] = True
        if self.aggregate_updates:
            type_map = {}
            for i, w, g in zip(indices, weights, grads):
                type_map.setdefault(w.dtype, []).append((i, w, g))
            n = self.optimizer.aggregate_num
            for group in type_map.values():
                idxs, ws, gs = zip(*group)
                for start in range(0, len(idxs), n):
                    sl = slice(start, start + n)
                    self.optimizer.update_multi_precision(
                        list(idxs[sl]), list(ws[sl]), list(gs[sl]),
                        [self.states[k] for k in idxs[sl]])
        else:
            for i, w, g in zip(indices, weights, grads):
                self.optimizer.update_multi_precision(i, w, g, self.states[i])

    def sync_state_context(self, state, context):
        """``state`` (an NDArray or nested tuples/lists of them) moved to ``context``."""
        if isinstance(state, NDArray):
            return state.as_in_context(context)
        if isinstance(state, (tuple, list)):
            synced = [self.sync_state_context(s, context) for s in state]
            return tuple(synced) if isinstance(state, tuple) else synced
        return state

    def set_states(self, states, allow_pickle=False):
        """Restore states from :meth:`get_states`' bytes (gluonlite's or MXNet's). With
        a dumped optimizer, the optimizer is replaced too.

        Safe by default: only the classes state files contain are unpickled (see
        :mod:`.states`); ``allow_pickle=True`` accepts any pickle -- only for data you
        trust, since it can run code. Each state is checked against its weight's shape
        and dtype at the weight's next update. Invalid data raises
        :class:`~gluonlite.base.FileFormatError` and changes nothing.
        """
        self._install_states(*self._decode_states(states, "set_states: the states",
                                                  allow_pickle))

    def _decode_states(self, data, source, allow_pickle=False, weights=None, strict=False):
        """Unpickle and check ``data`` without changing anything: returns ``(states,
        optimizer or None, indices left to check at first use, source)``.

        ``weights`` maps the indices known now to ``(label, weight NDArray or None)``
        (None: shape not known yet); their states are checked against what the optimizer
        in effect creates for the weight. With ``strict``, an index not in ``weights`` is
        an error (a trainer's indices are fixed; a store's keys may come later).
        """
        loaded = _states.loads(data, source=source, allow_pickle=allow_pickle)
        optimizer = None
        if isinstance(loaded, tuple) and len(loaded) == 2:
            loaded, optimizer = loaded
            _check_optimizer(optimizer, source)
        if not isinstance(loaded, dict):
            raise FileFormatError(f"{source}: expected pickled updater states (a dict, or a "
                                  f"(dict, Optimizer) pair), got {type(loaded).__name__}")
        in_effect = optimizer if optimizer is not None else self.optimizer
        states, unchecked = {}, set()
        for idx, state in loaded.items():
            if isinstance(idx, bytes):
                try:
                    idx = idx.decode()
                except UnicodeDecodeError:
                    raise FileFormatError(f"{source}: a parameter key {idx!r} is not "
                                          "UTF-8") from None
            if isinstance(idx, bool) or not isinstance(idx, (int, str)):
                raise FileFormatError(f"{source}: a state's parameter index is a "
                                      f"{type(idx).__name__}, not an int or str")
            _check_arrays(state, f"parameter index {idx!r}", source)
            known = weights is not None and idx in weights
            if not known and strict:
                raise FileFormatError(f"{source}: it holds a state for parameter index "
                                      f"{idx!r}, which is not one of the {len(weights)} "
                                      "parameters here (the states of another model?)")
            if known and weights[idx][1] is not None:
                label, weight = weights[idx]
                _match_state(_expected_state(in_effect, idx, weight, source), state,
                             label, source)
            else:
                unchecked.add(idx)
            states[idx] = state
        return states, optimizer, unchecked, source

    def _install_states(self, states, optimizer, unchecked, source):
        """Put what :meth:`_decode_states` returned in place (cannot fail)."""
        self.states = states
        if optimizer is not None:
            self.optimizer = optimizer
        self.states_synced = dict.fromkeys(states.keys(), False)
        self._unchecked = set(unchecked)
        self._states_source = source

    def get_states(self, dump_optimizer=False):
        """The states pickled in MXNet's format (bytes); with ``dump_optimizer`` also the
        optimizer (learning rate, schedule, update counts)."""
        return _states.dumps((self.states, self.optimizer) if dump_optimizer else self.states)


def get_updater(optimizer):
    """An :class:`Updater` for ``optimizer``."""
    return Updater(optimizer)
