"""Custom operators in Python (MXNet's ``mx.operator``): ``CustomOp``, ``CustomOpProp``,
``register`` and the ``Custom`` operator (``mx.nd.Custom`` / ``mx.sym.Custom``).

Write the computation as a ``CustomOp`` (``forward``/``backward`` on NDArrays, results
written with ``self.assign``), describe it with a ``CustomOpProp`` (argument, output and
auxiliary-state names, shape and dtype inference, ``create_operator``), register the prop
with ``@mx.operator.register("name")`` and call ``mx.nd.Custom(*inputs, op_type="name",
**kwargs)`` or ``mx.sym.Custom(...)``. As in MXNet 1.9.1:

* ``forward(is_train, req, in_data, out_data, aux)`` gets the inputs, output arrays already
  allocated with the shapes/dtypes the prop inferred (zero-filled here), and the auxiliary
  states, which it may update in place; ``backward(req, out_grad, in_data, out_data,
  in_grad, aux)`` fills ``in_grad``. Both run with autograd recording paused, in the
  operator's device context, in training mode when ``is_train``;
* ``req`` entries are ``'write'``, or ``'null'`` for inputs whose gradient is not needed;
* keyword arguments other than ``op_type`` reach the prop's constructor as strings;
* the ``CustomOp`` instance is shared by a node's forward and backward (attributes set in
  ``forward`` are there in ``backward``); an imperative call is a new node every time;
* ``Custom`` records on the autograd tape, runs inside hybridized blocks, executors
  (``simple_bind``) and modules, and is saved in graph JSON as MXNet saves it
  (``"op": "Custom"`` with ``op_type`` and the arguments as attributes).

Unlike MXNet, an exception raised in the user's code reaches the caller as ``MXNetError``
naming the operator (chained to the original), instead of being printed and replaced by a
generic failure. Storage-type inference (``infer_storage_type``) is accepted but only dense
arrays exist in gluonlite. MXNet's deprecated ``PythonOp``/``NumpyOp``/``NDArrayOp`` are not
provided.
"""
from __future__ import annotations

import collections

import numpy as np

from . import autograd as _autograd
from . import name as _name
from . import ndarray as _nd
from . import symbol as _sym
from .base import DTYPE_TO_FLAG, MXNetError
from .ndarray.ndarray import NDArray, invoke
from .ops import REGISTRY, custom as _custom, get_op
from .symbol.register import create as _create_node
from .symbol.symbol import Symbol

__all__ = ["CustomOp", "CustomOpProp", "register", "get_all_registered_operators",
           "get_operator_arguments", "OperatorArguments"]


class CustomOp:
    """Base class of operators implemented in Python (see the module docstring)."""

    def __init__(self):
        pass

    def forward(self, is_train, req, in_data, out_data, aux):
        """Compute ``out_data`` from ``in_data`` (lists of NDArrays); ``req[i]`` says how to
        write ``out_data[i]`` (use ``self.assign``); ``aux`` may be updated in place."""
        pass

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        """Compute ``in_grad`` from ``out_grad`` (and the forward's data); ``req[i]`` says
        how to write ``in_grad[i]`` (``'null'``: not needed)."""
        pass

    def assign(self, dst, req, src):
        """Write ``src`` into ``dst`` as ``req`` says: nothing for ``'null'``, overwrite for
        ``'write'``/``'inplace'``, accumulate for ``'add'``."""
        if req == "null":
            return
        if req in ("write", "inplace"):
            dst[:] = src
        elif req == "add":
            dst[:] += src
        else:
            raise MXNetError(f"CustomOp.assign: req must be 'null', 'write', 'inplace' or "
                             f"'add', got {req!r}")


class CustomOpProp:
    """Base class of the property (interface description) of a Python operator.

    need_top_grad: whether ``backward`` uses the output gradients (False for loss layers,
    which make their own).
    """

    def __init__(self, need_top_grad=True):
        self.need_top_grad_ = need_top_grad

    def infer_shape(self, in_shape):
        """``(in_shapes, out_shapes[, aux_shapes])`` from the argument shapes (lists in
        ``list_arguments`` order; an unknown shape is an empty list). Default: every output
        has the first argument's shape."""
        return in_shape, (in_shape[0],) * len(self.list_outputs()), ()

    def infer_type(self, in_type):
        """``(in_types, out_types[, aux_types])`` from the argument dtypes (numpy types).
        Default: everything has the first argument's dtype."""
        return in_type, [in_type[0]] * len(self.list_outputs()), \
            [in_type[0]] * len(self.list_auxiliary_states())

    def infer_storage_type(self, in_stype):
        """Storage types: gluonlite arrays are all dense ('default')."""
        for i, stype in enumerate(in_stype):
            if stype != "default":
                raise MXNetError(f"infer_storage_type: input {i} has storage type {stype!r}; "
                                 "gluonlite custom operators take dense arrays only")
        return in_stype, ["default"] * len(self.list_outputs()), \
            ["default"] * len(self.list_auxiliary_states())

    def infer_storage_type_backward(self, ograd_stype, in_stype, out_stype, igrad_stype,
                                    aux_stype):
        """Storage types of the backward's arrays: all dense ('default')."""
        lists = [ograd_stype, in_stype, out_stype, igrad_stype, aux_stype]
        return tuple(["default"] * len(x) for x in lists)

    def list_outputs(self):
        """Names of the outputs (default ``['output']``)."""
        return ["output"]

    def list_arguments(self):
        """Names of the arguments (default ``['data']``)."""
        return ["data"]

    def list_auxiliary_states(self):
        """Names of the auxiliary states (default none)."""
        return []

    def declare_backward_dependency(self, out_grad, in_data, out_data):
        """Ids of the arrays ``backward`` needs: the output gradients (if
        ``need_top_grad``), the inputs and the outputs."""
        deps = []
        if self.need_top_grad_:
            deps.extend(out_grad)
        deps.extend(in_data)
        deps.extend(out_data)
        return deps

    def create_operator(self, ctx, in_shapes, in_dtypes):
        """The ``CustomOp`` that computes this operator for ``ctx`` and the given input
        shapes (lists) and dtypes (MXNet's dtype codes, 0 = float32)."""
        return CustomOp()


def register(reg_name):
    """Class decorator registering a ``CustomOpProp`` subclass as custom operator
    ``reg_name`` (``mx.nd.Custom(..., op_type=reg_name)``)."""

    def do_register(prop_cls):
        if not (isinstance(prop_cls, type) and issubclass(prop_cls, CustomOpProp)):
            raise TypeError(f"register({reg_name!r}): expected a CustomOpProp subclass, got "
                            f"{prop_cls!r}")
        _custom.register_prop(reg_name, prop_cls)
        return prop_cls

    return do_register


register("custom_op")(CustomOpProp)  # as MXNet: the identity-shaped no-op


OperatorArguments = collections.namedtuple("OperatorArguments", ["narg", "names", "types"])


def get_all_registered_operators():
    """Names (and aliases) of every registered operator."""
    return sorted(REGISTRY)


def get_operator_arguments(op_name):
    """``OperatorArguments(narg, names, types)`` of operator ``op_name``: its inputs, then
    its attributes, with MXNet-style type descriptions."""
    op = get_op(op_name)
    names, types = [], []
    if op.variadic is not None:
        names.append(op.variadic)
        types.append("NDArray-or-Symbol[]")
    for n in op.input_names:
        names.append(n)
        types.append("NDArray-or-Symbol")
    for k, spec in op.attr_specs.items():
        names.append(k)
        kind = spec.type.kind
        types.append(kind if spec.required else f"{kind}, optional, default={spec.default!r}")
    return OperatorArguments(len(names), names, types)


# --------------------------------------------------------------------------------------
# running the user's operator (installed as ops.custom.EXECUTOR)
def _user_error(state, what, e):
    return MXNetError(f"Custom ({state.op_type}): {type(state.prop).__name__} {what} failed: "
                      f"{type(e).__name__}: {e}")


def _operator(state, ctx, shapes, dtypes):
    """The node's CustomOp, created for these inputs on first use or when they change."""
    key = (ctx.device_typeid, ctx.device_id, tuple(shapes), tuple(dtypes))
    if state.operator is None or state.key != key:
        codes = [DTYPE_TO_FLAG.get(np.dtype(t), -1) for t in dtypes]
        try:
            op = state.prop.create_operator(ctx, [list(s) for s in shapes], codes)
        except Exception as e:
            raise _user_error(state, "create_operator", e) from e
        if not (callable(getattr(op, "forward", None)) and
                callable(getattr(op, "backward", None))):
            raise MXNetError(f"Custom ({state.op_type}): {type(state.prop).__name__}."
                             f"create_operator returned {op!r}, not a CustomOp")
        state.operator, state.key = op, key
    return state.operator


def _check_written(state, what, arrays, want):
    for k, (a, (shape, dtype)) in enumerate(zip(arrays, want)):
        if tuple(a.shape) != tuple(shape) or a._data.dtype != dtype:
            raise MXNetError(f"Custom ({state.op_type}): {what}[{k}] became "
                             f"{a._data.dtype.name}{tuple(a.shape)} in the user's code, "
                             f"expected {np.dtype(dtype).name}{tuple(shape)}; write into "
                             "it with self.assign or [:]")


class _Executor:
    """Runs a Custom node's ``CustomOp`` on raw arrays of runtime ``rt``."""

    @staticmethod
    def forward(rt, state, data):
        args, outs, aux = state.counts
        nargs = len(args)
        ctx, xp = rt.ctx, rt.xp
        shapes = [tuple(x.shape) for x in data]
        dtypes = [x.dtype.name for x in data]
        op = get_op("Custom")
        a = {"_state": state}
        _, oshapes = op.infer_shape(a, shapes)
        _, otypes = op.infer_type(a, dtypes)
        for k, (s, t) in enumerate(zip(oshapes, otypes)):
            if s is None or t is None:
                raise MXNetError(f"Custom ({state.op_type}): could not infer the "
                                 f"{'shape' if s is None else 'dtype'} of output "
                                 f"{outs[k]!r} from inputs {shapes} {dtypes}")
        out_raw = [xp.zeros(s, t) for s, t in zip(oshapes, otypes)]
        operator = _operator(state, ctx, shapes, dtypes)
        in_nd = [NDArray(x, ctx) for x in data[:nargs]]
        aux_nd = [NDArray(x, ctx) for x in data[nargs:]]
        out_nd = [NDArray(o, ctx) for o in out_raw]
        try:
            with _autograd.pause(train_mode=rt.is_train), ctx:
                operator.forward(is_train=rt.is_train, req=["write"] * len(outs),
                                 in_data=in_nd, out_data=out_nd, aux=aux_nd)
        except Exception as e:
            raise _user_error(state, "forward", e) from e
        _check_written(state, "out_data", out_nd, [(o.shape, o.dtype) for o in out_raw])
        _check_written(state, "aux", aux_nd, [(x.shape, x.dtype) for x in data[nargs:]])
        for x, a_nd in zip(data[nargs:], aux_nd):
            if a_nd._data is not x:  # replaced rather than written: keep the update
                x[...] = a_nd._data
        return [o._data for o in out_nd]

    @staticmethod
    def backward(rt, state, data, req):
        args, outs, aux = state.counts
        n_out, nargs, naux = len(outs), len(args), len(aux)
        ctx, xp = rt.ctx, rt.xp
        ogs = data[:n_out]
        ins = data[n_out:n_out + nargs]
        auxs = data[n_out + nargs:n_out + nargs + naux]
        fouts = data[n_out + nargs + naux:]
        operator = _operator(state, ctx, [tuple(x.shape) for x in ins + auxs],
                             [x.dtype.name for x in ins + auxs]) \
            if state.operator is None else state.operator
        grads = [xp.zeros(x.shape, x.dtype) for x in ins]
        grad_nd = [NDArray(g, ctx) for g in grads]
        aux_nd = [NDArray(x, ctx) for x in auxs]
        try:
            with _autograd.pause(train_mode=rt.is_train), ctx:
                operator.backward(req=list(req), out_grad=[NDArray(g, ctx) for g in ogs],
                                  in_data=[NDArray(x, ctx) for x in ins],
                                  out_data=[NDArray(o, ctx) for o in fouts],
                                  in_grad=grad_nd, aux=aux_nd)
        except Exception as e:
            raise _user_error(state, "backward", e) from e
        _check_written(state, "in_grad", grad_nd, [(g.shape, g.dtype) for g in grads])
        return [g._data for g in grad_nd]


_custom.EXECUTOR = _Executor()


# --------------------------------------------------------------------------------------
# nd.Custom / sym.Custom: inputs positionally or by the prop's names
def _split(op_type, args, kwargs, is_input, what):
    if op_type is None:
        raise MXNetError("Custom: required argument 'op_type' (the name given to "
                         "mx.operator.register) is missing")
    ins = list(args)
    if len(ins) == 1 and isinstance(ins[0], (list, tuple)):
        ins = list(ins[0])
    named = {k: v for k, v in kwargs.items() if is_input(v)}
    params = {k: v for k, v in kwargs.items() if k not in named}
    for i, x in enumerate(ins):
        if not is_input(x):
            hint = (" (convert NumPy arrays with mx.nd.array first)"
                    if isinstance(x, np.ndarray) else "")
            raise TypeError(f"Custom ({op_type}): input {i} must be {what}, got "
                            f"{type(x).__name__}{hint}")
    return ins, named, dict(params, op_type=op_type)


def _order(op_type, names, ins, named, missing):
    """Inputs in the prop's order (arguments then aux states): the positional ones first,
    then by name; ``missing(name)`` supplies an absent one (or raises)."""
    if len(ins) > len(names):
        raise MXNetError(f"Custom ({op_type}): takes {len(names)} inputs {list(names)}, got "
                         f"{len(ins)}")
    unknown = sorted(set(named) - set(names))
    if unknown:
        raise MXNetError(f"Custom ({op_type}): unknown inputs {unknown}; its inputs are "
                         f"{list(names)}")
    out = list(ins)
    for n in names[len(ins):]:
        out.append(named[n] if n in named else missing(n))
    twice = sorted(n for n in names[:len(ins)] if n in named)
    if twice:
        raise MXNetError(f"Custom ({op_type}): input {twice[0]!r} given positionally and by "
                         "name")
    return out


def nd_custom(*data, op_type=None, out=None, name=None, **kwargs):
    """Apply the registered custom operator ``op_type`` to NDArrays (positionally, or by
    the names ``list_arguments()``/``list_auxiliary_states()`` give); other keyword
    arguments go to its ``CustomOpProp`` as strings."""
    ins, named, params = _split(op_type, data, kwargs, lambda v: isinstance(v, NDArray),
                                "an NDArray")
    op = get_op("Custom")
    attrs = op.parse_attrs(params)

    def missing(n):
        raise MXNetError(f"Custom ({op_type}): input {n!r} is missing; it takes "
                         f"{list(op.list_inputs(attrs))}")

    inputs = _order(op_type, op.list_inputs(attrs), ins, named, missing)
    return invoke(op, inputs, attrs, out=out)


def sym_custom(*data, op_type=None, name=None, attr=None, **kwargs):
    """A ``Custom`` node for the registered custom operator ``op_type``; inputs that are
    not given become variables named ``<name>_<input>``, as in MXNet."""
    ins, named, params = _split(op_type, data, kwargs, lambda v: isinstance(v, Symbol),
                                "a Symbol")
    op = get_op("Custom")
    names = op.list_inputs(op.parse_attrs(params))
    node_name = _name.current().get(name, "custom")
    inputs = _order(op_type, names, ins, named, lambda n: _sym.var(f"{node_name}_{n}"))
    # the name is final (prefix applied): a plain manager keeps create() from renaming it
    with _name.NameManager():
        return _create_node("Custom", inputs, params, name=node_name, attr=attr)


nd_custom.__name__ = sym_custom.__name__ = "Custom"
for _mod in (_nd, _nd.op):
    _mod.Custom = nd_custom
for _mod in (_sym, _sym.op):
    _mod.Custom = sym_custom
del _mod
