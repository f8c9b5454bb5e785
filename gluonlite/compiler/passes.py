"""Graph-to-graph passes: dead-code elimination, common-subexpression elimination,
constant folding and removal of no-op reshapes. Each takes a Graph and returns a new Graph
(the input is not modified).
"""
from __future__ import annotations

from .ir import Eqn, Graph

__all__ = ["dce", "cse", "fold_constants", "drop_noop_reshapes", "is_pure",
           "has_side_effects"]


def has_side_effects(e) -> bool:
    """Equations that must run even if nothing uses their outputs (they update auxiliary
    states in place, e.g. BatchNorm's moving statistics)."""
    return "updates_aux" in e.op.tags or "stateful" in e.op.tags


def is_pure(e) -> bool:
    """Equations whose outputs depend only on their inputs (no randomness, no state)."""
    return not has_side_effects(e) and "random" not in e.op.tags


def dce(graph: Graph) -> Graph:
    """Drop equations none of whose outputs are used (keeping side effects)."""
    used = {v.id for v in graph.outputs}
    keep = []
    for e in reversed(graph.eqns):
        if has_side_effects(e) or any(v.id in used for v in e.outs):
            keep.append(e)
            used.update(v.id for v in e.ins)
    keep.reverse()
    return Graph(graph.inputs, keep, graph.outputs)


def _key(e, ids):
    try:
        attrs = tuple(sorted((k, _hashable(v)) for k, v in e.attrs.items()))
        hash(attrs)
    except TypeError:
        return None
    return (e.op.name, attrs, tuple(ids.get(v.id, v.id) for v in e.ins))


def _hashable(v):
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if hasattr(v, "shape") and hasattr(v, "dtype"):
        raise TypeError("array attribute")
    return v


def cse(graph: Graph) -> Graph:
    """Merge equations applying the same pure operator, attributes and inputs."""
    seen = {}
    alias = {}          # var id -> representative var
    rep_ids = {}        # var id -> representative id (for keys)
    eqns = []
    for e in graph.eqns:
        ins = [alias.get(v.id, v) for v in e.ins]
        if any(a is not b for a, b in zip(ins, e.ins)):
            e = Eqn(e.op, e.attrs, ins, e.outs, e.name)
        key = _key(e, rep_ids) if is_pure(e) else None
        if key is not None and key in seen:
            prev = seen[key]
            for old, new in zip(e.outs, prev.outs):
                alias[old.id] = new
                rep_ids[old.id] = new.id
            continue
        if key is not None:
            seen[key] = e
        eqns.append(e)
    outputs = [alias.get(v.id, v) for v in graph.outputs]
    return Graph(graph.inputs, eqns, outputs)


def fold_constants(graph: Graph, rt) -> Graph:
    """Evaluate pure equations whose inputs are all constants (``Var.const``) — and source
    operators such as ``_zeros`` — once, at compile time, with runtime ``rt``."""
    eqns = []
    for e in graph.eqns:
        foldable = is_pure(e) and (all(v.const is not None for v in e.ins) if e.ins
                                   else "source" in e.op.tags)
        if foldable:
            res = e.op.fwd(rt, *[v.const for v in e.ins], **e.attrs)
            res = res if isinstance(res, tuple) else (res,)
            for v, r in zip(e.outs, res):
                v.const = r
                v.eqn = None
            continue
        eqns.append(e)
    return Graph(graph.inputs, eqns, graph.outputs)



def drop_noop_reshapes(graph: Graph) -> Graph:
    """Remove reshapes (operators tagged ``reshape``: ``Reshape``, ``Flatten``,
    ``reshape_like``, ...) whose output has the shape of their input — ``Flatten`` of a
    matrix, the ``reshape_like`` that every gradient of a reshape adds. Needs inferred
    shapes; a reshape with an unknown shape is kept. A graph output is never made an alias
    of a graph input (the caller may write into an output)."""
    input_ids = {v.id for v in graph.inputs}
    output_ids = {v.id for v in graph.outputs}
    alias = {}
    eqns = []
    for e in graph.eqns:
        ins = [alias.get(v.id, v) for v in e.ins]
        if any(a is not b for a, b in zip(ins, e.ins)):
            e = Eqn(e.op, e.attrs, ins, e.outs, e.name)
        if "reshape" in e.op.tags and ins:
            src, out = ins[0], e.outs[0]
            if (src.shape is not None and src.shape == out.shape and src.dtype == out.dtype
                    and not (out.id in output_ids and src.id in input_ids)):
                alias[out.id] = src
                continue
        eqns.append(e)
    return Graph(graph.inputs, eqns, [alias.get(v.id, v) for v in graph.outputs])
