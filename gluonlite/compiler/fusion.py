"""Fusion: maximal groups of elementwise/broadcast equations become one generated kernel.

An equation is *fusible* when its operator declares a per-element formula
(``@op.elementwise``, :mod:`.scalar`), it has one floating point output of at least
:data:`MIN_SIZE` elements and every input has the output's dtype and broadcasts to its
shape. A *group* is a set of fusible equations over one iteration shape (the shape of their
outputs), plus, optionally, trailing reductions (``sum``/``mean`` of a group value: the bias
gradient after ReLU's mask, the row sums of a softmax gradient). Groups grow greedily in
program order and stay *convex*: no path leaves a group and comes back into it, so the fused
equation can be scheduled where all its inputs are ready and before all its consumers.

A group of two or more equations becomes one ``_fused`` equation whose attribute ``kernel``
is a :class:`FusedKernel`: the iteration shape, the dtype, the input shapes and the output
formulas as one :class:`~.scalar.Expr` DAG. Each backend renders that one description
(:mod:`.render`: a Numba loop nest on the CPU, a CuPy ``ElementwiseKernel``/
``ReductionKernel`` on the GPU). Values used outside the group, or returned, are the fused
equation's outputs; the rest never exist in memory.
"""
from __future__ import annotations

import heapq
import os

import numpy as np

from ..ops.reduce import reduce_axes, reduced_shape
from .ir import Eqn, Graph
from .scalar import E, Expr

__all__ = ["FusedKernel", "fuse", "MIN_SIZE", "set_min_size"]

# Below this many elements a NumPy ufunc call costs less than a compiled kernel's call
# (``GLUONLITE_FUSE_MIN`` overrides it; tests fuse tiny graphs with 1).
MIN_SIZE = int(os.environ.get("GLUONLITE_FUSE_MIN", "2048"))
FLOATS = ("float32", "float64")


def set_min_size(n: int) -> int:
    """Set :data:`MIN_SIZE` (tests fuse tiny graphs with 1); returns the previous value."""
    global MIN_SIZE
    old, MIN_SIZE = MIN_SIZE, int(n)
    return old


class FusedKernel:
    """What one fused kernel computes.

    ``shape``: the iteration shape; ``dtype``: the computation dtype; ``in_shapes``: each
    input's shape (broadcast to ``shape``, aligned on the right); ``outputs``: the Exprs of
    the full-shape outputs; ``reductions``: ``(expr, axes, mean, out_shape)`` per reduced
    output (``axes`` of ``shape`` summed, divided by their size when ``mean``).
    """

    def __init__(self, shape, dtype, in_shapes, outputs, reductions):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.in_shapes = [tuple(s) for s in in_shapes]
        self.outputs = list(outputs)
        self.reductions = list(reductions)

    @property
    def n_outputs(self):
        return len(self.outputs) + len(self.reductions)

    def out_shapes(self):
        return [self.shape] * len(self.outputs) + [r[3] for r in self.reductions]

    def __str__(self):
        # a DAG, printed with a name for each shared node: "{t0=tanh(x0); add(t0,t0)}"
        uses: dict = {}

        def count(e):
            uses[id(e)] = uses.get(id(e), 0) + 1
            if uses[id(e)] == 1:
                for a in e.args:
                    count(a)

        exprs = self.outputs + [r[0] for r in self.reductions]
        for e in exprs:
            count(e)
        lets, names = [], {}

        def show(e):
            if id(e) in names:
                return names[id(e)]
            if not e.args:
                return str(e)
            txt = f"{e.op}({','.join(show(a) for a in e.args)})"
            if uses[id(e)] > 1:
                names[id(e)] = f"t{len(lets)}"
                lets.append(f"{names[id(e)]}={txt}")
                return names[id(e)]
            return txt

        parts = [show(e) for e in self.outputs]
        parts += [f"{'mean' if m else 'sum'}[{','.join(map(str, ax))}]({show(e)})"
                  for e, ax, m, _ in self.reductions]
        return "{" + "; ".join(lets + parts) + "}"

    __repr__ = __str__
    __ir__ = __str__


class _FusedOp:
    """The operator of a fused equation (not registered: it exists only in compiled
    graphs). Its forward evaluates the formulas with NumPy/CuPy, the reference the
    generated kernels are tested against."""

    name = "_fused"
    tags = frozenset(("fused",))
    attr_specs: dict = {}
    grad_fn = None
    scalar_fn = None
    source = False

    @staticmethod
    def fwd(rt, *xs, kernel):
        return evaluate_kernel(kernel, xs, rt.xp)

    @staticmethod
    def lower(L, attrs, ins, outs):
        from .render import lowering
        return lowering(L, attrs["kernel"])


FUSED = _FusedOp()


def evaluate_kernel(k: FusedKernel, xs, xp):
    """The outputs of ``k`` on input arrays ``xs``, computed op by op with ``xp``."""
    from .scalar import evaluate
    memo = {}
    res = [xp.ascontiguousarray(xp.broadcast_to(evaluate(e, xs, xp, k.dtype, memo), k.shape))
           for e in k.outputs]
    for e, axes, mean, shape in k.reductions:
        full = xp.broadcast_to(evaluate(e, xs, xp, k.dtype, memo), k.shape)
        r = full.astype(np.float64).sum(axis=axes)
        if mean:
            r = r / max(1, int(np.prod([k.shape[a] for a in axes])))
        res.append(xp.ascontiguousarray(r.astype(k.dtype).reshape(shape)))
    return tuple(res) if len(res) > 1 else res[0]


# --- which equations fuse --------------------------------------------------------------------
def _broadcasts(s, full):
    if len(s) > len(full):
        return False
    return all(a == b or a == 1 for a, b in zip(s[::-1], full[::-1]))


def elementwise_expr(e: Eqn, in_exprs):
    """The output Expr of ``e`` when it can join a fused group, else None."""
    fn = getattr(e.op, "scalar_fn", None)
    if fn is None or len(e.outs) != 1:
        return None
    out = e.outs[0]
    if out.shape is None or out.dtype not in FLOATS or len(out.shape) == 0:
        return None
    for v in e.ins:
        if v.shape is None or v.dtype != out.dtype or not _broadcasts(v.shape, out.shape):
            return None
    try:
        r = fn(E, e.attrs, *in_exprs)
    except Exception:
        return None
    return r if isinstance(r, Expr) else None


def _reduction_spec(e: Eqn):
    """``(axes, mean)`` when ``e`` is a float sum/mean that may end a group, else None."""
    if e.op.name not in ("sum", "mean") or len(e.ins) != 1:
        return None
    x, out = e.ins[0], e.outs[0]
    if x.shape is None or out.shape is None or x.dtype not in FLOATS or not x.shape:
        return None
    axes = reduce_axes(len(x.shape), e.attrs.get("axis"), e.attrs.get("exclude", False))
    if not axes or tuple(out.shape) != tuple(
            reduced_shape(x.shape, axes, e.attrs.get("keepdims", False))):
        return None
    return tuple(sorted(axes)), e.op.name == "mean"


class _Group:
    __slots__ = ("members", "mask", "shape", "dtype", "reductions")

    def __init__(self, i, shape, dtype):
        self.members = [i]
        self.mask = 1 << i
        self.shape = shape
        self.dtype = dtype
        self.reductions = set()  # member indices that are reductions


def _convex(mask, members, eqns, producer, deps):
    """Whether no path leaves the set ``mask`` and re-enters it."""
    for m in members:
        for v in eqns[m].ins:
            p = producer.get(v.id)
            if p is not None and not (mask >> p) & 1 and deps[p] & mask:
                return False
    return True


def fuse(graph: Graph, min_size: int | None = None) -> Graph:
    """The graph with each fusible group of two or more equations replaced by one
    ``_fused`` equation (see the module doc). Needs inferred shapes and dtypes."""
    min_size = MIN_SIZE if min_size is None else min_size
    eqns = graph.eqns
    producer = {}
    deps = []
    for i, e in enumerate(eqns):
        d = 0
        for v in e.ins:
            p = producer.get(v.id)
            if p is not None:
                d |= (1 << p) | deps[p]
        deps.append(d)
        for v in e.outs:
            producer[v.id] = i

    group_of: dict = {}
    groups = []
    for i, e in enumerate(eqns):
        red = _reduction_spec(e)
        if red is not None:
            p = producer.get(e.ins[0].id)
            g = group_of.get(p)
            if g is not None and g.shape == tuple(e.ins[0].shape) and p not in g.reductions:
                mask = g.mask | (1 << i)
                if _convex(mask, g.members + [i], eqns, producer, deps):
                    g.members.append(i)
                    g.mask = mask
                    g.reductions.add(i)
                    group_of[i] = g
            continue
        out = e.outs[0] if len(e.outs) == 1 else None
        if out is None or out.size is None or out.size < min_size or \
                getattr(e.op, "scalar_fn", None) is None:
            continue
        if elementwise_expr(e, [E.Expr("in", value=k) for k in range(len(e.ins))]) is None:
            continue
        shape = tuple(out.shape)
        cands = []
        for v in e.ins:
            p = producer.get(v.id)
            g = group_of.get(p)
            if g is not None and g.shape == shape and g.dtype == out.dtype and \
                    p not in g.reductions and g not in cands:
                cands.append(g)
        mine = None
        for g in cands:
            base = mine if mine is not None else _Group(i, shape, out.dtype)
            mask = base.mask | g.mask
            members = base.members + g.members
            if _convex(mask, members, eqns, producer, deps):
                base.members, base.mask = members, mask
                base.reductions |= g.reductions
                for m in g.members:
                    group_of[m] = base
                g.members = []
                mine = base
        if mine is None:
            mine = _Group(i, shape, out.dtype)
        group_of[i] = mine
        groups.append(mine)

    fused = [g for g in dict.fromkeys(groups) if len(g.members) >= 2]
    if not fused:
        return graph
    out_ids = {v.id for v in graph.outputs}
    users = {}
    for i, e in enumerate(eqns):
        for v in e.ins:
            users.setdefault(v.id, set()).add(i)
    replaced = {}   # eqn index -> the fused eqn (at its group's last member), or None
    for g in fused:
        members = sorted(g.members)
        new = _build(g, members, eqns, users, out_ids)
        for m in members:
            replaced[m] = None
        replaced[members[-1]] = new
    return Graph(graph.inputs, _schedule(eqns, replaced, producer), graph.outputs)


def _build(g, members, eqns, users, out_ids) -> Eqn:
    mset = set(members)
    exprs = {}
    inputs, in_pos = [], {}

    def ref(v):
        x = exprs.get(v.id)
        if x is not None:
            return x
        k = in_pos.get(v.id)
        if k is None:
            k = in_pos[v.id] = len(inputs)
            inputs.append(v)
        return Expr("in", value=k)

    outputs, reductions = [], []
    for m in members:
        e = eqns[m]
        if m in g.reductions:
            axes, mean = _reduction_spec(e)
            reductions.append((exprs[e.ins[0].id], axes, mean, tuple(e.outs[0].shape), e.outs[0]))
            continue
        x = elementwise_expr(e, [ref(v) for v in e.ins])
        v = e.outs[0]
        exprs[v.id] = x
        if v.id in out_ids or (users.get(v.id, set()) - mset):
            outputs.append((x, v))
    kern = FusedKernel(g.shape, g.dtype, [tuple(v.shape) for v in inputs],
                       [x for x, _ in outputs], [r[:4] for r in reductions])
    outs = [v for _, v in outputs] + [r[4] for r in reductions]
    return Eqn(FUSED, {"kernel": kern}, inputs, outs, name="fused")


def _schedule(eqns, replaced, producer):
    """Topological order of the new equations, as close to the old order as possible."""
    new = []
    for i, e in enumerate(eqns):
        if i in replaced:
            if replaced[i] is not None:
                new.append((i, replaced[i]))
        else:
            new.append((i, e))
    made = {}
    for k, (_, e) in enumerate(new):
        for v in e.outs:
            made[v.id] = k
    indeg = [0] * len(new)
    users = [[] for _ in new]
    for k, (_, e) in enumerate(new):
        srcs = {made[v.id] for v in e.ins if v.id in made}
        indeg[k] = len(srcs)
        for s in srcs:
            users[s].append(k)
    ready = [(new[k][0], k) for k in range(len(new)) if indeg[k] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, k = heapq.heappop(ready)
        order.append(new[k][1])
        for u in users[k]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(ready, (new[u][0], u))
    if len(order) != len(new):
        raise AssertionError("fusion produced a cycle (a group was not convex)")
    return order

