"""Symbolic reverse-mode differentiation of an IR graph.

Walks the equations backwards applying each operator's registered gradient rule with the
IR builder as ``F``; the result is more equations, so the backward pass is an ordinary graph
that the other passes (DCE, CSE, fusion) and the code generator treat like the forward.
"""
from __future__ import annotations

from ..base import MXNetError
from ..ops import ZERO_GRAD
from .builder import IRBuilder, building
from .ir import Var, Graph

__all__ = ["gradient", "JointGraph"]


class JointGraph:
    """Forward equations, gradient equations, and the Vars that link them.

    ``head_grads`` are new input Vars (one per forward output); ``grads`` has one Var (or
    None: no gradient reaches that input) per entry of ``wrt``.
    """

    def __init__(self, graph, fwd_eqns, bwd_eqns, head_grads, wrt, grads):
        self.graph = graph
        self.fwd_eqns = fwd_eqns
        self.bwd_eqns = bwd_eqns
        self.head_grads = head_grads
        self.wrt = wrt
        self.grads = grads

    def __str__(self):
        g = Graph(self.graph.inputs + self.head_grads, self.fwd_eqns + self.bwd_eqns,
                  self.graph.outputs + [v for v in self.grads if v is not None])
        return str(g)


def gradient(graph: Graph, wrt) -> JointGraph:
    """Append the gradient of ``graph``'s outputs (weighted by new head-gradient inputs)
    with respect to the input Vars ``wrt``. Shapes and dtypes must already be inferred."""
    wrt = list(wrt)
    wrt_ids = {v.id for v in wrt}
    # which values depend on a wrt input: only those need gradients
    live = set(wrt_ids)
    for e in graph.eqns:
        if e.op.grad_fn is not None and any(v.id in live for v in e.ins):
            live.update(v.id for v in e.outs)
    head_grads = [Var(f"head_grad{i}", o.shape, o.dtype) for i, o in enumerate(graph.outputs)]
    b = IRBuilder()
    adj: dict = {}
    with building(b):
        for o, h in zip(graph.outputs, head_grads):
            _accum(b, adj, o, h)
        for e in reversed(graph.eqns):
            need = [v.id in live for v in e.ins]
            if not any(need):
                continue
            ogs = [adj.get(v.id) for v in e.outs]
            if all(g is None for g in ogs):
                continue
            rule = e.op.grad_fn
            if rule is ZERO_GRAD or rule is None:
                continue
            ogs = [g if g is not None else b.zeros_like(v) for g, v in zip(ogs, e.outs)]
            try:
                in_grads = rule(b, e.attrs, e.ins, e.outs, ogs, need)
            except MXNetError as err:
                raise MXNetError(f"cannot differentiate {e.op.name} '{e.name or ''}': {err}") \
                    from None
            if len(in_grads) != len(e.ins):
                raise MXNetError(f"gradient rule of {e.op.name} returned {len(in_grads)} "
                                 f"gradients for {len(e.ins)} inputs")
            for v, g, nd in zip(e.ins, in_grads, need):
                if nd and g is not None:
                    _accum(b, adj, v, g)
    grads = [adj.get(v.id) for v in wrt]
    return JointGraph(graph, list(graph.eqns), b.eqns, head_grads, wrt, grads)


def _accum(b, adj, v, g):
    if g.shape is not None and v.shape is not None and tuple(g.shape) != tuple(v.shape):
        raise MXNetError(f"internal error: gradient of shape {g.shape} for a value of shape "
                         f"{v.shape}")
    prev = adj.get(v.id)
    adj[v.id] = g if prev is None else b.elemwise_add(prev, g)
