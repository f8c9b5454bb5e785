"""Gluon parameters: ``Parameter``, ``Constant``, ``ParameterDict`` (MXNet 1.x semantics).

A Parameter holds one copy of its value per context and, unless ``grad_req='null'``, a
gradient buffer per copy, registered with autograd. A shape with unknown dimensions (0)
defers initialisation: ``initialize()`` records what to do, and the first forward pass
completes it. gluonlite resolves deferred shapes where they are first needed: a layer
hands the operator a :class:`DeferredArray` in place of the parameter's data, and the
operator's registered shape rule (which knows, e.g., that FullyConnected's weight is
``(num_hidden, in_units)``) fills in the shape from the real input before running.
"""
from __future__ import annotations

import re
import threading
import warnings
from collections import OrderedDict

import numpy as np

from .. import autograd, initializer
from ..base import MXNetError, mx_real_t, np_dtype
from ..context import Context, cpu, current_context
from .. import ndarray as nd
from ..ndarray import NDArray

__all__ = ["DeferredInitializationError", "Parameter", "Constant", "ParameterDict",
           "DeferredArray", "tensor_types", "shape_is_known"]

tensor_types = (NDArray,)

# Deferred initialisation may be completed by two threads at once (their first calls of one
# net): one at a time, and a thread that waited finds the work done. Rare, so one lock.
_init_lock = threading.RLock()


class DeferredInitializationError(MXNetError):
    """Raised when a parameter whose initialisation is deferred is accessed too early."""


def shape_is_known(shape) -> bool:
    """True if ``shape`` is given and has no unknown (0) dimension."""
    if shape is None:
        return False
    return all(d > 0 for d in shape)


def _brief(names, limit=5):
    names = list(names)
    if len(names) > limit:
        return ", ".join(repr(n) for n in names[:limit - 2]) + ", ..., " + \
            ", ".join(repr(n) for n in names[-2:])
    return ", ".join(repr(n) for n in names)


class DeferredArray:
    """Stands for the data of a parameter whose shape is not known yet.

    Operators receiving one infer its shape from their other inputs through their shape
    rule, finish the parameter's initialisation, and use the real array.
    """

    __slots__ = ("param", "ctx")

    def __init__(self, param, ctx):
        self.param = param
        self.ctx = ctx

    @property
    def shape(self):
        return self.param.shape

    def _deferred_resolve(self, shape):
        self.param._infer_shape(shape)
        self.param._finish_deferred_init()
        return self.param.data(self.ctx)

    def _deferred_error(self, what):
        return DeferredInitializationError(
            f"Parameter '{self.param.name}' (shape {self.param.shape}) has not been "
            f"initialized yet and {what} cannot infer its shape; give the layer its input size "
            "(in_units, in_channels, ...) or pass a batch through an operator that takes the "
            "parameter as an input")

    def __repr__(self):
        return f"<DeferredArray for {self.param.name} shape={self.param.shape}>"


class Parameter:
    """A weight of a Block: one value (and gradient) per context.

    Parameters follow MXNet 1.x: ``name``, ``grad_req`` ('write', 'add', 'null'), ``shape``
    (0 = unknown dimension), ``dtype``, ``lr_mult``, ``wd_mult``, ``init`` (an Initializer or
    its name, overriding the global one), ``allow_deferred_init``, ``differentiable``.
    """

    def __init__(self, name, grad_req="write", shape=None, dtype=mx_real_t, lr_mult=1.0,
                 wd_mult=1.0, init=None, allow_deferred_init=False, differentiable=True,
                 stype="default", grad_stype="default"):
        if not isinstance(name, str):
            raise TypeError(f"name: expected a str, got {type(name).__name__}")
        if stype != "default":
            raise ValueError(f"stype: only 'default' (dense) parameter values are supported, "
                             f"got {stype!r} (sparse gradients: grad_stype='row_sparse')")
        if grad_stype not in ("default", "row_sparse", "csr"):
            raise ValueError(f"grad_stype: expected 'default', 'row_sparse' or 'csr', got "
                             f"{grad_stype!r}")
        self._var = None
        self._data = None
        self._grad = None
        self._ctx_list = None
        self._ctx_map = None
        self._trainer = None
        self._deferred_init = ()
        self._differentiable = differentiable
        self._allow_deferred_init = allow_deferred_init
        self._grad_req = None
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        self._shape = tuple(shape) if shape is not None else None
        self.name = name
        self._dtype = np_dtype(dtype).type
        self.lr_mult = lr_mult
        self.wd_mult = wd_mult
        self.grad_req = grad_req
        self.init = init
        self._stype = "default"
        self._grad_stype = grad_stype

    def __repr__(self):
        return f"Parameter {self.name} (shape={self.shape}, dtype={np.dtype(self.dtype).name})"

    # --- attributes ------------------------------------------------------------------------
    @property
    def grad_req(self):
        return self._grad_req

    @grad_req.setter
    def grad_req(self, req):
        if req not in ("write", "add", "null"):
            raise ValueError(f"grad_req must be one of 'write', 'add', or 'null', but got "
                             f"{req!r}")
        if not self._differentiable:
            req = "null"
        if self._grad_req == req:
            return
        self._grad_req = req
        if req == "null" and self._grad is not None:
            self._grad = None
            self._data = [d.detach() for d in self._data]
        elif self._data is not None:
            self._init_grad()

    @property
    def dtype(self):
        return self._dtype

    @dtype.setter
    def dtype(self, dtype):
        self.cast(dtype)

    @property
    def shape(self):
        return self._shape

    @shape.setter
    def shape(self, new_shape):
        new_shape = tuple(new_shape)
        if self._shape is None:
            self._shape = new_shape
            return
        if len(self._shape) != len(new_shape) or not all(
                j in (0, i) for i, j in zip(new_shape, self._shape)):
            raise AssertionError(f"Expected shape {new_shape} is incompatible with given shape "
                                 f"{self._shape} for Parameter '{self.name}'.")
        self._shape = new_shape

    def _infer_shape(self, shape):
        try:
            self.shape = shape
        except AssertionError:
            raise MXNetError(f"Parameter '{self.name}': the input implies shape {tuple(shape)}, "
                             f"which does not match its declared shape {self._shape}") from None

    # --- access ----------------------------------------------------------------------------
    def _check_and_get(self, arr_list, ctx):
        if arr_list is not None:
            if ctx is list:
                return arr_list
            if ctx is None:
                if len(arr_list) == 1:
                    return arr_list[0]
                ctx = current_context()
            idx = self._ctx_map.get(ctx)
            if idx is not None:
                return arr_list[idx]
            raise RuntimeError(f"Parameter '{self.name}' was not initialized on context {ctx}. "
                               f"It was only initialized on {self._ctx_list}.")
        if self._deferred_init:
            raise DeferredInitializationError(
                f"Parameter '{self.name}' has not been initialized yet because initialization "
                "was deferred. Actual initialization happens during the first forward pass. "
                "Please pass one batch of data through the network before accessing Parameters. "
                "You can also avoid deferred initialization by specifying in_units, "
                "num_features, etc., for network layers.")
        raise RuntimeError(
            f"Parameter '{self.name}' has not been initialized. Note that you should initialize "
            "parameters and create Trainer with Block.collect_params() instead of Block.params "
            "because the later does not include Parameters of nested child Blocks")

    def data(self, ctx=None):
        """This parameter's value on ``ctx`` (the only context, or the current one)."""
        return self._check_and_get(self._data, ctx)

    def list_data(self):
        """The values on every context, in initialisation order."""
        return self._check_and_get(self._data, list)

    def grad(self, ctx=None):
        """The gradient buffer on ``ctx``."""
        if self._data is not None and self._grad is None:
            raise RuntimeError(f"Cannot get gradient array for Parameter '{self.name}' because "
                               "grad_req='null'")
        return self._check_and_get(self._grad, ctx)

    def list_grad(self):
        """The gradient buffers on every context."""
        if self._data is not None and self._grad is None:
            raise RuntimeError(f"Cannot get gradient array for Parameter '{self.name}' because "
                               "grad_req='null'")
        return self._check_and_get(self._grad, list)

    def list_ctx(self):
        """The contexts this parameter lives on (or will, once deferred init finishes)."""
        if self._data is None:
            if self._deferred_init:
                return self._deferred_init[1]
            raise RuntimeError(f"Parameter '{self.name}' has not been initialized")
        return self._ctx_list

    def _data_or_deferred(self, ctx):
        """The data on ``ctx``, or a DeferredArray while the shape is still unknown."""
        if self._data is None and self._deferred_init:
            if shape_is_known(self._shape):
                self._finish_deferred_init()
            else:
                return DeferredArray(self, ctx)
        return self.data(ctx)

    # --- initialisation --------------------------------------------------------------------
    def initialize(self, init=None, ctx=None, default_init=initializer.Uniform(),
                   force_reinit=False):
        """Allocate and initialise the value (and gradient) on ``ctx`` (a Context or a list).

        ``init`` overrides ``self.init`` which overrides ``default_init``. With an unknown
        shape the initialisation is deferred to the first forward pass (if allowed).
        """
        if self._data is not None and not force_reinit:
            warnings.warn(f"Parameter '{self.name}' is already initialized, ignoring. Set "
                          "force_reinit=True to re-initialize.", stacklevel=2)
            return
        self._data = self._grad = None
        ctx = _ctx_list(ctx)
        if init is None:
            init = default_init if self.init is None else self.init
        if not shape_is_known(self._shape):
            if self._allow_deferred_init:
                self._deferred_init = (init, ctx, default_init, None)
                return
            raise ValueError(f"Cannot initialize Parameter '{self.name}' because it has invalid "
                             f"shape: {self._shape}.")
        self._deferred_init = (init, ctx, default_init, None)
        self._finish_deferred_init()

    def _finish_deferred_init(self):
        if not self._deferred_init:
            return
        with _init_lock:
            if not self._deferred_init:
                return  # another thread finished it while this one waited
            init, ctx, default_init, data = self._deferred_init
            if not shape_is_known(self._shape):
                raise DeferredInitializationError(
                    f"Cannot initialize Parameter '{self.name}' because it has invalid shape: "
                    f"{self._shape}. Please specify in_units, in_channels, etc for `Block`s.")
            with autograd.pause():
                if data is None:
                    data = nd.zeros(self._shape, dtype=self._dtype, ctx=cpu())
                    initializer.create(default_init)(
                        initializer.InitDesc(self.name, {"__init__": init}), data)
                elif tuple(data.shape) != self._shape:
                    raise MXNetError(f"Parameter '{self.name}': set_data gave shape "
                                     f"{data.shape}, expected {self._shape}")
                self._init_impl(data, ctx)
            # cleared only once the data exists: a thread that sees neither would report
            # the parameter as never initialised
            self._deferred_init = ()

    def _init_impl(self, data, ctx_list):
        ctx_list = list(ctx_list)
        if not isinstance(data, NDArray):
            data = nd.array(data, dtype=self._dtype)
        with autograd.pause():
            arrays = [data.copyto(c).astype(self._dtype, copy=False) for c in ctx_list]
        self._ctx_list = ctx_list
        self._ctx_map = {c: i for i, c in enumerate(ctx_list)}
        self._init_grad(arrays)
        # published last: another thread that sees the data sees its gradient buffers too
        self._data = arrays

    def _init_grad(self, data=None):
        data = self._data if data is None else data
        if self.grad_req == "null":
            self._grad = None
            return
        if self._grad_stype != "default":
            self._grad = [nd.sparse.zeros(self._grad_stype, d.shape, ctx=d.context,
                                          dtype=d.dtype) for d in data]
        else:
            self._grad = [nd.zeros(d.shape, ctx=d.context, dtype=d.dtype) for d in data]
        autograd.mark_variables(data, self._grad, self.grad_req)

    def _reduce(self):
        """The value averaged over contexts, on the CPU (what gets saved)."""
        block = self.list_data()
        if len(block) == 1:
            return block[0].copyto(cpu())
        with autograd.pause():
            total = block[0].copyto(cpu())
            for w in block[1:]:
                total = total + w.copyto(cpu())
            return total / len(block)

    def set_data(self, data):
        """Set the value on every context (before deferred init completes: remember it)."""
        if not isinstance(data, NDArray):
            data = nd.array(data, dtype=self._dtype)
        self.shape = data.shape
        if self._data is None:
            if not self._deferred_init:
                raise AssertionError(f"Parameter '{self.name}' has not been initialized")
            self._deferred_init = self._deferred_init[:3] + (data,)
            return
        # with update_on_kvstore the store holds its own copy: have the trainer re-sync it
        trainer = self._trainer() if self._trainer is not None else None
        if trainer is not None and trainer._kv_initialized and trainer._update_on_kvstore:
            if self not in trainer._params_to_init:
                trainer._reset_kvstore()
        for arr in self._check_and_get(self._data, list):
            arr[:] = data.as_in_context(arr.context) if data.context != arr.context else data

    def zero_grad(self):
        """Set the gradient buffers to 0 (nothing to do without gradients)."""
        if self._grad is None:
            return
        for g in self._grad:
            g[:] = 0

    def reset_ctx(self, ctx):
        """Move the parameter to other context(s)."""
        ctx = _ctx_list(ctx)
        if self._data:
            data = self._reduce()
            with autograd.pause():
                self._init_impl(data, ctx)
        elif self._deferred_init:
            init, _, default_init, data = self._deferred_init
            self._deferred_init = (init, ctx, default_init, data)
        else:
            raise ValueError(f"Cannot reset context for Parameter '{self.name}' because it has "
                             "not been initialized.")

    def cast(self, dtype):
        """Convert value and gradient to ``dtype``."""
        self._dtype = np_dtype(dtype).type
        if self._data is None:
            return
        with autograd.pause():
            self._data = [d.astype(self._dtype) for d in self._data]
            if self._grad is None:
                return
            self._grad = [g.astype(self._dtype) for g in self._grad]
            autograd.mark_variables(self._data, self._grad, self.grad_req)

    def var(self):
        """A Symbol variable standing for this parameter (needs the Symbol API)."""
        from .. import symbol
        if self._var is None:
            self._var = symbol.var(self.name, shape=self.shape, dtype=self.dtype,
                                   lr_mult=self.lr_mult, wd_mult=self.wd_mult, init=self.init)
        return self._var

    # --- loading ----------------------------------------------------------------------------
    def _check_load(self, data, cast_dtype=False, dtype_source="current"):
        """Validate ``data`` for loading into this parameter; returns (data, new dtype).
        Raises before anything changes."""
        if cast_dtype and dtype_source not in ("current", "saved"):
            raise ValueError(f"dtype_source: expected 'current' or 'saved', got "
                             f"{dtype_source!r}")
        if self._shape:
            if len(self._shape) != len(data.shape) or not all(
                    s in (0, d) for s, d in zip(self._shape, data.shape)):
                raise AssertionError(f"Failed loading Parameter '{self.name}' from saved params: "
                                     f"shape incompatible expected {self._shape} vs saved "
                                     f"{data.shape}")
        dtype = self._dtype
        if np.dtype(dtype) != np.dtype(data.dtype):
            if not cast_dtype:
                raise AssertionError(f"Failed loading Parameter '{self.name}' from saved params: "
                                     f"dtype incompatible expected {np.dtype(dtype).name} vs "
                                     f"saved {np.dtype(data.dtype).name}. Set cast_dtype=True to "
                                     "cast the dtype of saved params.")
            if dtype_source == "current":
                data = data.astype(dtype)
            else:
                dtype = data.dtype
        return data, dtype

    def _apply_load(self, data, dtype, ctx):
        if np.dtype(dtype) != np.dtype(self._dtype):
            self.cast(dtype)
        self._shape = tuple(data.shape)
        ctx = None if ctx is None else _ctx_list(ctx)
        if self._data is None:
            if self._deferred_init:
                ctx = self._deferred_init[1] if ctx is None else ctx
            elif ctx is None:
                ctx = [cpu()]
            self._init_impl(data, ctx)
        else:
            if ctx is not None and set(ctx) != set(self.list_ctx()):
                self._init_impl(data, ctx)
            else:
                self.set_data(data)
        self._deferred_init = ()

    def _load_init(self, data, ctx, cast_dtype=False, dtype_source="current"):
        """(Re)initialise from ``data`` (used by ``load_parameters``)."""
        data, dtype = self._check_load(data, cast_dtype, dtype_source)
        self._apply_load(data, dtype, ctx)


def _ctx_list(ctx):
    if ctx is None:
        return [current_context()]
    if isinstance(ctx, Context):
        return [ctx]
    ctx = list(ctx)
    for c in ctx:
        if not isinstance(c, Context):
            raise TypeError(f"ctx: expected a Context or a list of Contexts, got "
                            f"{type(c).__name__}")
    return ctx


class Constant(Parameter):
    """A parameter holding a fixed value: no gradient, ignored by Trainer (``set_data``
    still changes it)."""

    def __init__(self, name, value):
        if not isinstance(value, NDArray):
            value = nd.array(value)
        self.value = value

        class _Init(initializer.Initializer):
            def _init_weight(self, _, arr):
                arr[:] = value

        super().__init__(name, grad_req="null", shape=value.shape, dtype=value.dtype,
                         init=_Init())

    def __repr__(self):
        return f"Constant {self.name} (shape={self.shape}, dtype={np.dtype(self.dtype).name})"

    @property
    def grad_req(self):
        return "null"

    @grad_req.setter
    def grad_req(self, req):
        if req != "null":
            warnings.warn(f'Constant parameter "{self.name}" does not support grad_req other '
                          f'than "null", and new value "{req}" is ignored.')
        self._grad_req = "null"


class ParameterDict:
    """An ordered dict of Parameters with a name ``prefix`` (MXNet's ``ParameterDict``).

    ``get(name, **kwargs)`` returns the parameter ``prefix + name``, creating it (or taking
    it from the ``shared`` dict) if needed.
    """

    def __init__(self, prefix="", shared=None):
        self._prefix = prefix
        self._params = OrderedDict()
        self._shared = shared

    def __repr__(self):
        name = self._prefix + " " if self._prefix else ""
        content = "\n".join("  " + repr(v) for v in self.values())
        return f"{name}(\n{content}\n)"

    def __getitem__(self, key):
        return self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __len__(self):
        return len(self._params)

    def __contains__(self, key):
        return key in self._params

    def items(self):
        return self._params.items()

    def keys(self):
        return self._params.keys()

    def values(self):
        return self._params.values()

    @property
    def prefix(self):
        """Prepended to the names of parameters created with ``get``."""
        return self._prefix

    def _get_impl(self, name):
        if name in self._params:
            return self._params[name]
        if self._shared is not None and name in self._shared._params:
            self._params[name] = self._shared._params[name]
            return self._params[name]
        return None

    def get(self, name, **kwargs):
        """The Parameter ``prefix + name``: existing (attributes must agree; unknown shape
        dimensions are filled in) or newly created with ``kwargs``."""
        name = self._prefix + name
        param = self._get_impl(name)
        if param is None:
            param = Parameter(name, **kwargs)
            self._params[name] = param
            return param
        for k, v in kwargs.items():
            existing = getattr(param, k, None) if hasattr(param, k) else None
            if existing is None:
                setattr(param, k, v)
                continue
            if k == "shape":
                v = (v,) if isinstance(v, int) else tuple(v)
                if len(v) == len(existing) and all(a == b or a == 0 or b == 0
                                                   for a, b in zip(v, existing)):
                    param._shape = tuple(b if a == 0 else a for a, b in zip(v, existing))
                    continue
            elif k == "dtype" and np.dtype(v) == np.dtype(existing):
                continue
            if v is not None and v != existing:
                raise AssertionError(
                    f"Cannot retrieve Parameter '{name}' because desired attribute does not "
                    f"match with stored for attribute '{k}': desired '{v}' vs stored "
                    f"'{existing}'.")
        return param

    def get_constant(self, name, value=None):
        """The Constant ``prefix + name``, created from ``value`` if it does not exist."""
        full = self._prefix + name
        param = self._get_impl(full)
        if param is None:
            if value is None:
                raise KeyError(f"No constant named '{full}'. Please specify value if you want to "
                               "create a new constant.")
            param = Constant(full, value)
            self._params[full] = param
        elif value is not None:
            if not isinstance(param, Constant):
                raise AssertionError(f"Parameter '{full}' already exists but it is not a "
                                     "constant.")
            v = value.asnumpy() if isinstance(value, NDArray) else np.asarray(value)
            if param.shape != v.shape or not (param.value.asnumpy() == v).all():
                raise AssertionError(f"Constant '{full}' already exists but its value doesn't "
                                     "match new value")
        return param

    def update(self, other):
        """Add every Parameter of ``other`` (same names must be the same objects)."""
        for k, v in other.items():
            if k in self._params and self._params[k] is not v:
                raise AssertionError(f"Cannot update self with other because they have "
                                     f"different Parameters with the same name '{k}'")
        for k, v in other.items():
            self._params[k] = v

    def select(self, select):
        """A ParameterDict of the parameters whose names match the regex ``select``."""
        pattern = re.compile(select)
        ret = ParameterDict(self._prefix)
        ret.update({k: v for k, v in self.items() if pattern.match(k)})
        return ret

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False,
                   force_reinit=False):
        """Initialise every parameter; ``init`` is the default for those without their own."""
        if verbose and hasattr(init, "set_verbosity"):
            init.set_verbosity(verbose=verbose)
        for v in self.values():
            v.initialize(None, ctx, init, force_reinit=force_reinit)

    def zero_grad(self):
        """Zero every gradient buffer."""
        for p in self.values():
            p.zero_grad()

    def reset_ctx(self, ctx):
        """Move every parameter to ``ctx``."""
        for p in self.values():
            p.reset_ctx(ctx)

    def list_ctx(self):
        """Every context some parameter lives on."""
        s = []
        for p in self.values():
            for c in p.list_ctx():
                if c not in s:
                    s.append(c)
        return s

    def setattr(self, name, value):
        """Set an attribute (``grad_req``, ``lr_mult``, ...) on every parameter."""
        for p in self.values():
            setattr(p, name, value)

    def save(self, filename, strip_prefix=""):
        """Save the values (averaged over contexts) with ``nd.save``, names minus
        ``strip_prefix``."""
        arg_dict = {}
        for param in self.values():
            if not param.name.startswith(strip_prefix):
                raise ValueError(
                    f"Prefix '{strip_prefix}' is to be striped before saving, but Parameter's "
                    f"name '{param.name}' does not start with '{strip_prefix}'. This may be due "
                    "to your Block sharing parameters from other Blocks or to child blocks "
                    "created without 'with name_scope()'.")
            arg_dict[param.name[len(strip_prefix):]] = param._reduce()
        nd.save(filename, arg_dict)

    def load(self, filename, ctx=None, allow_missing=False, ignore_extra=False,
             restore_prefix="", cast_dtype=False, dtype_source="current"):
        """Load values saved with ``save`` (or MXNet's ``arg:``/``aux:`` files).

        Everything is checked before anything changes: a failed load leaves every
        parameter as it was.
        """
        if restore_prefix:
            for name in self.keys():
                if not name.startswith(restore_prefix):
                    raise AssertionError(f"restore_prefix is '{restore_prefix}' but Parameters "
                                         f"name '{name}' does not start with "
                                         f"'{restore_prefix}'")
        self.load_dict(nd.load(filename), ctx, allow_missing, ignore_extra, restore_prefix,
                       filename, cast_dtype, dtype_source)

    def load_dict(self, param_dict, ctx=None, allow_missing=False, ignore_extra=False,
                  restore_prefix="", filename=None, cast_dtype=False, dtype_source="current"):
        """Load from a dict name -> NDArray (``arg:``/``aux:`` prefixes are dropped)."""
        if not isinstance(param_dict, dict):
            raise TypeError(f"expected a dict of name -> NDArray, got "
                            f"{type(param_dict).__name__}")
        arg_dict = {restore_prefix + (k[4:] if k.startswith(("arg:", "aux:")) else k): v
                    for k, v in param_dict.items()}
        where = f"file '{filename}'" if filename else "param_dict"
        if not allow_missing:
            for name in self.keys():
                if name not in arg_dict:
                    raise AssertionError(
                        f"Parameter '{name}' is missing in {where}, which contains parameters: "
                        f"{_brief(arg_dict)}. Please make sure source and target networks have "
                        "the same prefix.")
        plan = []
        for name, arr in arg_dict.items():
            if name not in self._params:
                if not ignore_extra:
                    raise AssertionError(
                        f"Parameter '{name}' loaded from {where} is not present in "
                        f"ParameterDict, choices are: {_brief(self.keys())}. Set ignore_extra to "
                        "True to ignore. Please make sure source and target networks have the "
                        "same prefix.")
                continue
            p = self._params[name]
            plan.append((p,) + p._check_load(arr, cast_dtype, dtype_source))
        for p, data, dtype in plan:
            p._apply_load(data, dtype, ctx)
