"""The compiler's intermediate representation: a flat, typed list of operator applications.

A :class:`Graph` has input :class:`Var` s, a topologically ordered list of :class:`Eqn` s
(one registered operator applied to Vars, producing Vars) and output Vars. Vars carry a
shape and dtype once inferred. ``str(graph)`` prints it in a jaxpr-like form that tests read:

    { lambda data:f32[2,4] fc_weight:f32[3,4] fc_bias:f32[3] ;
      v0:f32[2,3] = FullyConnected[num_hidden=3] data fc_weight fc_bias
      v1:f32[2,3] = relu v0
      in (v1) }

Every pass is a function ``Graph -> Graph`` (see :mod:`gluonlite.compiler.passes`).
"""
from __future__ import annotations

import itertools

import numpy as np

from ..base import MXNetError

__all__ = ["Var", "Eqn", "Graph", "from_symbol"]

_ids = itertools.count()


class Var:
    """A value of the graph: a graph input (``eqn is None``) or an output of an Eqn."""

    __slots__ = ("name", "shape", "dtype", "eqn", "index", "id", "const")

    def __init__(self, name=None, shape=None, dtype=None, eqn=None, index=0, const=None):
        self.id = next(_ids)
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.eqn = eqn
        self.index = index
        self.const = const  # a raw array bound at compile time (constants only)

    @property
    def ndim(self):
        return None if self.shape is None else len(self.shape)

    @property
    def size(self):
        return None if self.shape is None else int(np.prod(self.shape, dtype=np.int64))

    def type_str(self):
        dt = {"float32": "f32", "float64": "f64", "float16": "f16", "int32": "i32",
              "int64": "i64", "uint8": "u8", "int8": "i8", "bool": "bool"}.get(
            self.dtype, self.dtype or "?")
        shape = "?" if self.shape is None else ",".join(str(s) for s in self.shape)
        return f"{dt}[{shape}]"

    def __repr__(self):
        return f"<Var {self.name or self.id}:{self.type_str()}>"


class Eqn:
    """``outs = op(ins; attrs)`` — one registered operator application."""

    __slots__ = ("op", "attrs", "ins", "outs", "name")

    def __init__(self, op, attrs, ins, outs, name=None):
        self.op = op
        self.attrs = attrs
        self.ins = list(ins)
        self.outs = list(outs)
        self.name = name
        for i, v in enumerate(self.outs):
            v.eqn = self
            v.index = i


def _fmt_attr(v):
    if hasattr(v, "__ir__"):
        return v.__ir__()
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, tuple):
        return "(" + ",".join(_fmt_attr(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if hasattr(v, "shape") and hasattr(v, "dtype"):
        return f"<array {tuple(v.shape)}>"
    return str(v)


class Graph:
    """Inputs, equations in execution order, outputs."""

    def __init__(self, inputs, eqns, outputs):
        self.inputs = list(inputs)
        self.eqns = list(eqns)
        self.outputs = list(outputs)

    def copy(self):
        return Graph(self.inputs, self.eqns, self.outputs)

    def _names(self):
        names = {}
        for v in self.inputs:
            names[v.id] = v.name or f"in{len(names)}"
        k = itertools.count()
        for e in self.eqns:
            for v in e.outs:
                names[v.id] = f"v{next(k)}"
        return names

    def __str__(self):
        names = self._names()

        def n(v):
            if v.id in names:
                return names[v.id]
            if v.const is not None:
                return f"const{v.id}"
            return f"?{v.id}"

        lines = ["{ lambda " + " ".join(f"{n(v)}:{v.type_str()}" for v in self.inputs) + " ;"]
        for e in self.eqns:
            outs = " ".join(f"{n(v)}:{v.type_str()}" for v in e.outs)
            attrs = ",".join(f"{k}={_fmt_attr(v)}" for k, v in e.attrs.items()
                             if v is not None and not _is_default(e.op, k, v))
            attrs = f"[{attrs}]" if attrs else ""
            lines.append(f"  {outs} = {e.op.name}{attrs} " + " ".join(n(v) for v in e.ins))
        lines.append("  in (" + ", ".join(n(v) for v in self.outputs) + ") }")
        return "\n".join(lines)

    __repr__ = __str__


def _is_default(op, k, v):
    spec = op.attr_specs.get(k)
    if spec is None or spec.required:
        return False
    try:
        return spec.default == v
    except Exception:
        return False


def from_symbol(sym):
    """The IR of a Symbol: one input Var per variable (named as it), one Eqn per operator
    node (all its outputs, hidden ones included), outputs in the Symbol's order. Returns
    ``(graph, aux_input_names)``."""
    from ..symbol.symbol import _topo, _aux_var_ids, _var_shape, _var_dtype
    order = _topo(sym._outputs)
    aux = _aux_var_ids(order)
    vals = {}
    inputs, eqns = [], []
    for node in order:
        if node.op is None:
            v = Var(node.name, _var_shape(node), _var_dtype(node))
            vals[id(node)] = [v]
            inputs.append(v)
            continue
        ins = []
        for src, idx in node.inputs:
            outs = vals[id(src)]
            if idx >= len(outs):
                raise MXNetError(f"node {node.name}: input {src.name} has no output {idx}")
            ins.append(outs[idx])
        outs = [Var() for _ in range(node.num_outputs())]
        eqns.append(Eqn(node.op, node.attrs, ins, outs, node.name))
        vals[id(node)] = outs
    outputs = [vals[id(n)][i] for n, i in sym._outputs]
    aux_names = [n.name for n in order if n.op is None and id(n) in aux]
    return Graph(inputs, eqns, outputs), aux_names
