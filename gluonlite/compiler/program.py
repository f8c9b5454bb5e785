"""From an IR graph with known input shapes to runnable programs.

``Program`` holds, for one input signature:

* ``infer(rt, *inputs) -> outputs`` — the forward pass alone;
* for training, ``forward(rt, *inputs) -> outputs + residuals`` and
  ``backward(rt, *residuals, *head_grads) -> gradients`` of the inputs that need them.

The pipeline: shape/dtype inference → constant folding → CSE → DCE → (gradient → split into
forward and backward at the residuals → CSE/DCE of each) → code generation.
"""
from __future__ import annotations

from ..base import MXNetError
from .autodiff import gradient
from .codegen import compile_function
from .infer import infer_shapes, infer_dtypes
from .ir import Graph
from .passes import cse, dce, fold_constants

__all__ = ["Program", "optimize"]


def optimize(graph: Graph, rt=None) -> Graph:
    """The graph-level passes, in order."""
    if rt is not None:
        graph = fold_constants(graph, rt)
    return dce(cse(graph))


class Program:
    """A graph compiled for one signature. ``need[i]`` says whether input i needs a
    gradient; no gradient program is built when none does."""

    def __init__(self, graph: Graph, need=None, rt=None, train=False):
        infer_shapes(graph)
        infer_dtypes(graph)
        missing = [v.name or str(v.id) for v in graph.inputs if v.shape is None]
        if missing:
            raise MXNetError(f"cannot compile: the shapes of inputs {missing} are unknown")
        self.graph = optimize(graph, rt)
        self.n_outputs = len(graph.outputs)
        self.infer = compile_function(self.graph.inputs, self.graph.eqns, self.graph.outputs,
                                      "infer")
        self.need = list(need) if need is not None else [False] * len(graph.inputs)
        self.forward = self.backward = None
        self.joint = None
        if any(self.need):
            self._build_training()

    def _build_training(self):
        g = self.graph
        wrt = [v for v, n in zip(g.inputs, self.need) if n]
        joint = gradient(g, wrt)
        self.joint = joint
        produced_bwd = {v.id for e in joint.bwd_eqns for v in e.outs}
        head_ids = {v.id for v in joint.head_grads}
        residuals, seen = [], set()

        def want(v):
            if v.id in produced_bwd or v.id in head_ids or v.const is not None or v.id in seen:
                return
            seen.add(v.id)
            residuals.append(v)

        for e in joint.bwd_eqns:
            for v in e.ins:
                want(v)
        for v in joint.grads:
            if v is not None:
                want(v)
        fwd = dce(Graph(g.inputs, joint.fwd_eqns, g.outputs + residuals))
        grads = [v for v in joint.grads if v is not None]
        bwd = dce(cse(Graph(residuals + joint.head_grads, joint.bwd_eqns, grads)))
        self.residuals = residuals
        self.forward_graph, self.backward_graph = fwd, bwd
        self.forward = compile_function(fwd.inputs, fwd.eqns, fwd.outputs, "forward")
        self.backward = compile_function(bwd.inputs, bwd.eqns, bwd.outputs, "backward")
        self.grad_slots = [i for i, v in enumerate(joint.grads) if v is not None]
        self.wrt_index = [i for i, n in enumerate(self.need) if n]

    def run_backward(self, rt, residuals, head_grads):
        """Gradients for every input (None where no gradient is needed or reaches it)."""
        got = self.backward(rt, *residuals, *head_grads)
        out = [None] * len(self.need)
        for slot, g in zip(self.grad_slots, got):
            out[self.wrt_index[slot]] = g
        return out
