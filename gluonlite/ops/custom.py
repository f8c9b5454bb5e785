"""The ``Custom`` operator: MXNet's Python custom operators (``mx.operator.CustomOp`` /
``CustomOpProp``, ``@mx.operator.register``) as registry operators.

``Custom(*inputs, op_type=NAME, **kwargs)`` runs the ``CustomOp`` that the ``CustomOpProp``
registered as NAME creates; ``_backward_Custom`` runs its ``backward`` and is the gradient
rule, so custom operators record on the autograd tape, and hybridized graphs and executors
call them like any operator without a lowering (the compiler calls the forward).

MXNet semantics kept here:

* the inputs are ``prop.list_arguments()`` then ``prop.list_auxiliary_states()``; the
  outputs ``prop.list_outputs()``; shapes and dtypes come from ``prop.infer_shape`` /
  ``prop.infer_type`` (which may fill in unknown input shapes, e.g. a label's);
* every keyword argument but ``op_type`` reaches the prop's constructor as a string, and
  graph JSON stores them as the node's attributes;
* one prop per node; one ``CustomOp`` per node (``create_operator`` is called on first use
  and again if the input shapes, dtypes or device change) whose instance the backward
  shares with the forward, so state kept on ``self`` in ``forward`` is there in
  ``backward``. Imperative calls get a fresh node, hence a fresh operator, every time.

That per-node state is the attribute ``_state`` (a :class:`CustomState`), which
``parse_attrs`` creates and graph JSON never holds. The Python side (wrapping raw arrays as
NDArrays, calling the user's code with recording paused) lives in :mod:`gluonlite.operator`,
which installs itself as :data:`EXECUTOR`; this module only knows props by their methods.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..base import MXNetError
from .attrs import Str
from .registry import Op, REGISTRY

__all__ = ["PROPS", "register_prop", "CustomState", "counts", "EXECUTOR"]

# op_type -> CustomOpProp subclass, filled by ``mx.operator.register``
PROPS: dict = {}

# set by gluonlite.operator: an object with forward(rt, state, data) and
# backward(rt, state, data, req) running the user's CustomOp
EXECUTOR = None

# node attributes MXNet attaches to any operator (AttrScope, Gluon's lr/wd hints); they are
# not arguments of the prop
_NODE_ATTRS = frozenset({"ctx_group", "lr_mult", "wd_mult", "force_mirroring",
                         "mirror_stage"})


def register_prop(reg_name: str, prop_cls) -> None:
    """Register ``prop_cls`` as custom operator ``reg_name`` (a later registration of the
    same name replaces it, with a warning, as MXNet does)."""
    if not isinstance(reg_name, str) or not reg_name:
        raise MXNetError(f"register: reg_name must be a non-empty string, got {reg_name!r}")
    if not isinstance(prop_cls, type):
        raise TypeError(f"register({reg_name!r}): expected a CustomOpProp subclass, got "
                        f"{type(prop_cls).__name__}")
    if reg_name in PROPS and PROPS[reg_name] is not prop_cls:
        warnings.warn(f"New registration is overriding existing custom operator {reg_name!r}",
                      stacklevel=3)
    PROPS[reg_name] = prop_cls


class CustomState:
    """Per node: the prop (made once from the arguments) and the ``CustomOp`` it created,
    shared by the node's forward and backward."""

    __slots__ = ("prop", "op_type", "operator", "key", "counts", "top_grad")

    def __init__(self, op_type, prop):
        self.op_type = op_type
        self.prop = prop
        self.operator = None
        self.key = None
        self.counts = _check_lists(op_type, prop)
        self.top_grad = _top_grad_deps(op_type, prop, self.counts)

    def __repr__(self):
        return f"<CustomState {self.op_type}>"

    def __deepcopy__(self, memo):
        # a copied graph is a new node: same prop, its own operator
        return CustomState(self.op_type, self.prop)


def _names(op_type, prop, meth):
    try:
        names = getattr(prop, meth)()
    except MXNetError:
        raise
    except Exception as e:
        raise MXNetError(f"Custom ({op_type}): {type(prop).__name__}.{meth}() failed: "
                         f"{type(e).__name__}: {e}") from e
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise MXNetError(f"Custom ({op_type}): {type(prop).__name__}.{meth}() must return a "
                         f"list of strings, got {names!r}")
    return tuple(names)


def _check_lists(op_type, prop):
    args = _names(op_type, prop, "list_arguments")
    outs = _names(op_type, prop, "list_outputs")
    aux = _names(op_type, prop, "list_auxiliary_states")
    if not outs:
        raise MXNetError(f"Custom ({op_type}): {type(prop).__name__}.list_outputs() is empty; "
                         "an operator needs at least one output")
    return args, outs, aux


def _top_grad_deps(op_type, prop, lists):
    """Which output gradients ``declare_backward_dependency`` says backward reads (all of
    them unless ``need_top_grad=False``); the others are passed as zeros, so a loss-like
    custom operator needs no head gradient, as in MXNet."""
    args, outs, _ = lists
    n_out, nargs = len(outs), len(args)
    og = list(range(n_out))
    try:
        deps = prop.declare_backward_dependency(
            og, list(range(n_out, n_out + nargs)),
            list(range(n_out + nargs, 2 * n_out + nargs)))
        deps = set(int(d) for d in deps)
    except Exception as e:
        raise MXNetError(f"Custom ({op_type}): {type(prop).__name__}."
                         f"declare_backward_dependency failed: {type(e).__name__}: {e}") from e
    return tuple(i in deps for i in og)


def counts(attrs):
    """``(arguments, outputs, auxiliary states)`` names of a Custom node's prop."""
    return attrs["_state"].counts


def _make_state(op_type, user):
    cls = PROPS.get(op_type)
    if cls is None:
        known = ", ".join(sorted(PROPS)) or "none"
        raise MXNetError(f"Custom: cannot find custom operator {op_type!r}: register a "
                         f"CustomOpProp subclass with @mx.operator.register({op_type!r}) "
                         f"before using it (registered: {known})")
    try:
        prop = cls(**user)
    except MXNetError:
        raise
    except TypeError as e:
        raise MXNetError(f"Custom ({op_type}): {cls.__name__}({', '.join(sorted(user))}) "
                         f"failed: {e} (every argument but op_type is passed to the "
                         "CustomOpProp's constructor as a string)") from e
    return CustomState(op_type, prop)


class _OpenSpecs(dict):
    """The attributes of ``Custom``: ``op_type`` plus any keyword argument of the prop. Every
    name is one except num_args, node attributes (``__shape__``, ``lr_mult``, ...) and
    names starting with '_' (reserved for the per-node state)."""

    def __contains__(self, k):
        return dict.__contains__(self, k) or (
            isinstance(k, str) and not k.startswith("_") and k != "num_args"
            and k not in _NODE_ATTRS)


class CustomOpDef(Op):
    """``Custom`` and ``_backward_Custom``: inputs, outputs, shapes and dtypes come from the
    node's prop instead of a fixed signature."""

    def __init__(self, name, fwd, backward, **kw):
        super().__init__(name, fwd, **kw)
        self.attr_specs = _OpenSpecs(self.attr_specs)
        self.backward = backward
        self._dtype_checked = ()  # a custom op takes any mix of dtypes (labels, indices)
        self._shape_fn = self._shape_rule
        self._dtype_fn = self._dtype_rule

    # --- attributes ----------------------------------------------------------------------
    def parse_attrs(self, kwargs: dict) -> dict:
        """``op_type``, the prop's arguments (as strings) and ``_state`` (created unless
        given: each parse of user arguments is a new node)."""
        user, state, req = {}, None, None
        op_type = kwargs.get("op_type")
        if op_type is None:
            raise MXNetError(f"{self.name}: required argument 'op_type' (the name given to "
                             "mx.operator.register) is missing")
        if not isinstance(op_type, str):
            raise MXNetError(f"{self.name}: op_type must be a string, got {op_type!r}")
        for k, v in kwargs.items():
            if k == "op_type":
                continue
            if k == "_state" and isinstance(v, CustomState):
                state = v
            elif k == "_req" and self.backward:
                req = tuple(v)
            elif k.startswith("_") or k in _NODE_ATTRS or k == "num_args":
                raise MXNetError(f"{self.name} ({op_type}): argument name {k!r} is reserved")
            elif hasattr(v, "shape") and hasattr(v, "dtype") or type(v).__name__ == "Symbol":
                raise MXNetError(f"{self.name} ({op_type}): argument {k!r} is an array; pass "
                                 "inputs positionally or by the names the prop's "
                                 "list_arguments() gives")
            else:
                # MXNet hands every argument to the prop as a string
                user[k] = v if isinstance(v, str) else str(v)
        if state is None:
            state = _make_state(op_type, user)
        elif state.op_type != op_type:
            raise MXNetError(f"{self.name}: state of {state.op_type!r} given for {op_type!r}")
        out = {"op_type": op_type}
        out.update(user)
        out["_state"] = state
        if self.backward:
            n_args = len(state.counts[0])
            out["_req"] = req if req is not None else ("write",) * n_args
        return out

    def dump_attrs(self, attrs: dict) -> dict:
        return {k: v for k, v in attrs.items() if not k.startswith("_")}

    # --- inputs / outputs ----------------------------------------------------------------
    def list_inputs(self, attrs, num_args=None):
        args, outs, aux = counts(attrs)
        if self.backward:
            return tuple(f"{n}_grad" for n in outs) + args + aux + outs
        return args + aux

    def aux_positions(self, attrs):
        """Indices of the inputs that are auxiliary states (after the arguments)."""
        args, _, aux = counts(attrs)
        return () if self.backward else tuple(range(len(args), len(args) + len(aux)))

    def num_outputs(self, attrs):
        args, outs, _ = counts(attrs)
        return len(args) if self.backward else len(outs)

    def num_visible_outputs(self, attrs):
        return self.num_outputs(attrs)

    def list_outputs(self, attrs):
        args, outs, _ = counts(attrs)
        return tuple(f"{n}_grad" for n in args) if self.backward else outs

    # --- shape / dtype rules -------------------------------------------------------------
    def _shape_rule(self, attrs, in_shapes):
        state = attrs["_state"]
        args, outs, aux = state.counts
        nargs, naux = len(args), len(aux)
        ins = list(in_shapes)
        if self.backward:
            _check_count(self.name, state, len(outs) * 2 + nargs + naux, len(ins))
            return ins, ins[len(outs):len(outs) + nargs]
        _check_count(self.name, state, nargs + naux, len(ins))
        known = all(s is not None for s in ins[:nargs])
        query = [list(s) if s is not None else [] for s in ins[:nargs]]
        try:
            res = state.prop.infer_shape(query)
        except MXNetError:
            raise
        except Exception as e:
            if not known:  # the rule needs the shapes that are not known yet
                return ins, [None] * len(outs)
            raise MXNetError(f"Custom ({state.op_type}): {type(state.prop).__name__}."
                             f"infer_shape({query}) failed: {type(e).__name__}: {e}") from e
        ishape, oshape, ashape = _unpack(state, "infer_shape", res)
        filled = _fill(state, "shape", ins, list(ishape) + list(ashape), args + aux,
                       lambda s: tuple(int(d) for d in s), lambda s: len(s) == 0)
        if any(s is None for s in filled[:nargs]):
            return filled, [None] * len(outs)
        return filled, [tuple(int(d) for d in s) for s in oshape]

    def _dtype_rule(self, attrs, in_types, n_out):
        state = attrs["_state"]
        args, outs, aux = state.counts
        nargs, naux = len(args), len(aux)
        ins = list(in_types)
        if self.backward:
            return ins, ins[len(outs):len(outs) + nargs]
        if len(ins) != nargs + naux:
            return ins, [None] * len(outs)
        known = all(t is not None for t in ins[:nargs])
        query = [np.dtype(t).type if t is not None else None for t in ins[:nargs]]
        try:
            res = state.prop.infer_type(query)
        except MXNetError:
            raise
        except Exception as e:
            if not known:
                return ins, [None] * len(outs)
            raise MXNetError(f"Custom ({state.op_type}): {type(state.prop).__name__}."
                             f"infer_type failed: {type(e).__name__}: {e}") from e
        itype, otype, atype = _unpack(state, "infer_type", res)
        filled = _fill(state, "dtype", ins, list(itype) + list(atype), args + aux,
                       _dtype_name, lambda t: t is None)
        return filled, [None if t is None else _dtype_name(t) for t in otype]


def _dtype_name(t):
    try:
        return np.dtype(t).name
    except TypeError as e:
        raise MXNetError(f"Custom: infer_type returned {t!r}, which is not a dtype") from e


def _check_count(name, state, want, got):
    if want != got:
        args, outs, aux = state.counts
        raise MXNetError(f"{name} ({state.op_type}): takes {want} inputs (arguments "
                         f"{list(args)}, auxiliary states {list(aux)}), got {got}")


def _unpack(state, meth, res):
    """``(inputs, outputs, aux)`` of what infer_shape / infer_type returned (2 or 3 lists),
    with their lengths checked, as MXNet checks them."""
    args, outs, aux = state.counts
    where = f"Custom ({state.op_type}): {type(state.prop).__name__}.{meth}"
    if not isinstance(res, (list, tuple)) or len(res) not in (2, 3):
        raise MXNetError(f"{where} must return 2 or 3 lists (inputs, outputs[, aux]), got "
                         f"{res!r}")
    i, o = res[0], res[1]
    a = res[2] if len(res) == 3 else []
    for what, got, want in (("input", i, args), ("output", o, outs), ("aux state", a, aux)):
        if len(got) != len(want):
            raise MXNetError(f"{where}: expecting {len(want)} entries in returned {what} "
                             f"{meth[6:]}s ({list(want)}), got {len(got)}")
    return i, o, a


def _fill(state, what, ins, returned, names, norm, is_unknown):
    """Unknown inputs take what the prop returned; known ones must agree with it."""
    out = list(ins)
    for k, (have, r) in enumerate(zip(ins, returned)):
        if r is None or is_unknown(r):
            continue
        r = norm(r)
        if have is None:
            out[k] = r
        elif (tuple(have) if what == "shape" else have) != r:
            raise MXNetError(f"Custom ({state.op_type}): input {names[k]!r} has {what} "
                             f"{have}, but {type(state.prop).__name__}.infer_{what}() "
                             f"says {r}")
    return out


# --------------------------------------------------------------------------------------
# the operators
def _executor():
    if EXECUTOR is None:
        raise MXNetError("Custom: the custom operator runtime (gluonlite.operator) is not "
                         "loaded; import gluonlite")
    return EXECUTOR


def _custom(rt, *data, op_type: Str, **kw):
    """Run the registered custom operator ``op_type`` (its ``CustomOp.forward``) on
    ``data`` (the prop's arguments, then its auxiliary states). Every other keyword
    argument goes to the ``CustomOpProp`` constructor as a string."""
    state = kw["_state"]
    _check_count("Custom", state, len(state.counts[0]) + len(state.counts[2]), len(data))
    res = _executor().forward(rt, state, data)
    return res[0] if len(res) == 1 else tuple(res)


def _custom_grad(F, a, ins, outs, ogs, need):
    args, _, aux = a["_state"].counts
    nargs = len(args)
    if not any(need[:nargs]):
        return (None,) * len(ins)
    kw = dict(a)
    kw["_req"] = tuple("write" if n else "null" for n in need[:nargs])
    ogs = [g if used else F.zeros_like(o)
           for g, o, used in zip(ogs, outs, a["_state"].top_grad)]
    res = F._backward_Custom(*ogs, *ins, *outs, **kw)
    res = [res] if nargs == 1 else list(res)
    return tuple(r if n else None for r, n in zip(res, need)) + (None,) * len(aux)


def _backward_custom(rt, *data, op_type: Str, **kw):
    """Gradient of ``Custom``: runs ``CustomOp.backward`` on ``(output gradients,
    arguments, auxiliary states, outputs)`` and returns the arguments' gradients."""
    state = kw["_state"]
    args, outs, aux = state.counts
    _check_count("_backward_Custom", state, 2 * len(outs) + len(args) + len(aux), len(data))
    res = _executor().backward(rt, state, data, kw["_req"])
    return res[0] if len(res) == 1 else tuple(res)


def _register():
    fwd = CustomOpDef("Custom", _custom, False, tags=("stateful",))
    fwd.gradient(_custom_grad)
    bwd = CustomOpDef("_backward_Custom", _backward_custom, True, tags=("stateful",))
    REGISTRY.add(fwd)
    REGISTRY.add(bwd)


_register()
