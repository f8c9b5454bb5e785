"""Building IR from gradient rules: the ``F`` namespace over IR values.

Gradient rules are written once with ``F.<op>`` and Python operators. In the compiler ``F``
is an :class:`IRBuilder`: calling ``F.exp(v)`` appends an Eqn (its output shape and dtype
inferred at once, so rules may read ``.shape``) and returns the new Var; Python operators
on Vars follow NumPy/NDArray semantics (broadcasting), like the raw and NDArray namespaces.
"""
from __future__ import annotations

import numbers

from ..ops import REGISTRY, get_op
from .infer import merge_shape
from .ir import Var, Eqn

__all__ = ["IRBuilder", "building"]

_STACK: list = []


class building:
    """``with building(b):`` makes ``b`` the builder Python operators on Vars use."""

    def __init__(self, b):
        self.b = b

    def __enter__(self):
        _STACK.append(self.b)
        return self.b

    def __exit__(self, *exc):
        _STACK.pop()


class IRBuilder:
    """Appends equations to ``self.eqns``; attribute access gives operator functions."""

    kind = "ir"

    def __init__(self):
        self.eqns = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        op = REGISTRY.get(name)
        if op is None:
            raise AttributeError(f"no operator named {name!r}")

        def fn(*args, **kwargs):
            return self.apply(op, args, kwargs)

        fn.__name__ = name
        setattr(self, name, fn)
        return fn

    def apply(self, op, args, kwargs):
        if op.variadic is not None and "num_args" in op.attr_specs:
            kwargs.setdefault("num_args", len(args))
        attrs = op.parse_attrs(kwargs)
        ins = list(args)
        for v in ins:
            if not isinstance(v, Var):
                raise TypeError(f"{op.name}: IR inputs must be Vars, got {type(v).__name__}")
        outs = [Var() for _ in range(op.num_outputs(attrs))]
        e = Eqn(op, attrs, ins, outs)
        _infer_one(e)
        self.eqns.append(e)
        nvis = op.num_visible_outputs(attrs)
        return outs[0] if nvis == 1 else outs[:nvis]

    def binary(self, name, a, b):
        return self.apply(get_op(name), (a, b), {})

    def scalar(self, name, a, s):
        return self.apply(get_op(name), (a,), {"scalar": float(s)})


def _infer_one(e):
    shapes = [v.shape for v in e.ins]
    if all(s is not None for s in shapes):
        _, outs = e.op.infer_shape(e.attrs, shapes)
        for v, s in zip(e.outs, outs):
            if s is not None:
                v.shape = merge_shape(v.shape, s, e.op.name)
    dtypes = [v.dtype for v in e.ins]
    _, outs = e.op.infer_type(e.attrs, dtypes)
    for v, t in zip(e.outs, outs):
        v.dtype = v.dtype or t


def _cur():
    if not _STACK:
        raise TypeError("arithmetic on compiler values is only possible while building a graph")
    return _STACK[-1]


def _num(x):
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def _binop(bname, sname, rsname=None):
    def fwd(self, other):
        b = _cur()
        if isinstance(other, Var):
            return b.binary(bname, self, other)
        if _num(other):
            return b.scalar(sname, self, other)
        return NotImplemented

    def rev(self, other):
        b = _cur()
        if _num(other):
            return b.scalar(rsname or sname, self, other)
        return NotImplemented

    return fwd, rev


for _dunder, (_b, _s, _rs) in {
        "add": ("broadcast_add", "_plus_scalar", None),
        "sub": ("broadcast_sub", "_minus_scalar", "_rminus_scalar"),
        "mul": ("broadcast_mul", "_mul_scalar", None),
        "truediv": ("broadcast_div", "_div_scalar", "_rdiv_scalar"),
        "mod": ("broadcast_mod", "_mod_scalar", "_rmod_scalar"),
        "pow": ("broadcast_power", "_power_scalar", "_rpower_scalar")}.items():
    _f, _r = _binop(_b, _s, _rs)
    setattr(Var, f"__{_dunder}__", _f)
    setattr(Var, f"__r{_dunder}__", _r)

for _dunder, (_b, _s) in {"eq": ("broadcast_equal", "_equal_scalar"),
                          "ne": ("broadcast_not_equal", "_not_equal_scalar"),
                          "gt": ("broadcast_greater", "_greater_scalar"),
                          "ge": ("broadcast_greater_equal", "_greater_equal_scalar"),
                          "lt": ("broadcast_lesser", "_lesser_scalar"),
                          "le": ("broadcast_lesser_equal", "_lesser_equal_scalar")}.items():
    setattr(Var, f"__{_dunder}__", _binop(_b, _s)[0])

Var.__neg__ = lambda self: _cur().apply(get_op("negative"), (self,), {})
Var.__hash__ = object.__hash__
