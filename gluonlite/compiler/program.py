"""From an IR graph with known input shapes to runnable programs.

``Program`` holds, for one input signature:

* ``infer(rt, *inputs) -> outputs`` — the forward pass alone;
* for training, ``forward(rt, *inputs) -> outputs + residuals`` and
  ``backward(rt, *residuals, *head_grads) -> gradients`` of the inputs that need them.

The pipeline: shape/dtype inference → constant folding → no-op reshape removal → CSE → DCE
→ (gradient → split into forward and backward at the residuals → the same clean-up of each)
→ splitting bias adds and BatchNorm's affine part off their operators where an
elementwise operator follows (:mod:`.decompose`) → fusion of elementwise groups
(:mod:`.fusion`) → code generation with a memory plan
(:mod:`.codegen`, :mod:`.memplan`).

Fusion runs when fast kernels are enabled (``GLUONLITE_JIT`` not 0) and
``GLUONLITE_FUSE`` is not 0, on the CPU with Numba and on the GPU with CuPy; decomposition
runs with fusion unless ``GLUONLITE_DECOMPOSE`` is 0.
"""
from __future__ import annotations

import os
import threading
import types

from .. import profiler as _profiler
from ..base import MXNetError
from .autodiff import gradient

from .codegen import compile_function
from .decompose import decompose
from .fusion import fuse
from .infer import infer_shapes, infer_dtypes
from .ir import Graph
from .passes import cse, dce, drop_noop_reshapes, fold_constants

__all__ = ["Program", "optimize", "StaticFunction"]


def fusion_enabled(rt) -> bool:
    """Whether programs for runtime ``rt`` fuse elementwise groups into kernels."""
    from .. import kernels
    if rt is None or not kernels.enabled():
        return False
    if os.environ.get("GLUONLITE_FUSE", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    try:
        if rt.ctx.is_gpu:
            import cupy  # noqa: F401
        else:
            import numba  # noqa: F401
    except ImportError:
        return False
    return True


def decompose_enabled() -> bool:
    """Whether fused programs split bias adds and BatchNorm's affine part off their operators
    (``GLUONLITE_DECOMPOSE=0`` keeps them whole, to measure what the split buys)."""
    return os.environ.get("GLUONLITE_DECOMPOSE", "1").strip().lower() not in (
        "0", "false", "no", "off")


def optimize(graph: Graph, rt=None) -> Graph:
    """The graph-level passes, in order."""
    if rt is not None:
        graph = fold_constants(graph, rt)
    return dce(cse(drop_noop_reshapes(graph)))


class StaticFunction:
    """A compiled ``static_alloc`` function that several threads may call at once.

    The function's planned buffers are globals bound once (MXNet's ``static_alloc``), so two
    overlapping calls would write each other's intermediates. As MXNet's CachedOp keeps a
    pool of states per context and creates another when all are in use, each call here
    takes a copy of the function from a free list — a new copy, with buffers of its own,
    only when every copy is busy — and puts it back after. A single thread reuses one copy
    forever; the pool grows to the number of overlapping calls. Outputs never live in the
    planned buffers (the memory plan allocates values that escape), so they stay valid
    after the copy is handed to another call."""

    __slots__ = ("fn", "_free", "_xp", "copies", "__source__", "__plan__")

    def __init__(self, fn, xp):
        self.fn = fn
        self._free = [fn]
        self.copies = 1
        self.__source__ = fn.__source__
        self.__plan__ = fn.__plan__
        self._xp = xp

    def _copy(self):
        fn = self.fn
        env = dict(fn.__globals__)
        for b in range(len(fn.__plan__.buffers)):
            env[f"B{b}"] = self._xp.empty_like(env[f"B{b}"])
        self.copies += 1
        return types.FunctionType(fn.__code__, env, fn.__name__, fn.__defaults__,
                                  fn.__closure__)

    def __call__(self, *args):
        try:
            f = self._free.pop()  # list.pop/append are atomic: no lock on the hot path
        except IndexError:
            f = self._copy()
        try:
            return f(*args)
        finally:
            self._free.append(f)


def _compile(inputs, eqns, outputs, name, rt, static_alloc):
    """:func:`compile_function`, wrapped in a :class:`StaticFunction` with
    ``static_alloc``."""
    fn = compile_function(inputs, eqns, outputs, name, rt, static_alloc)
    # the function is bound in its own globals: a cycle that would keep an evicted
    # program's static buffers alive until the next garbage collection (generated code
    # never calls itself)
    if fn.__globals__.get(name) is fn:
        del fn.__globals__[name]
    if static_alloc and fn.__plan__.buffers:
        return StaticFunction(fn, rt.xp)
    return fn


class Program:
    """A graph compiled for one signature. ``need[i]`` says whether input i needs a
    gradient; no gradient program is built when none does."""

    def __init__(self, graph: Graph, need=None, rt=None, train=False, static_alloc=False):
        infer_shapes(graph)
        infer_dtypes(graph, check=True)
        missing = [v.name or str(v.id) for v in graph.inputs if v.shape is None]
        if missing:
            raise MXNetError(f"cannot compile: the shapes of inputs {missing} are unknown")
        self.train = train
        self.graph = optimize(graph, rt)
        self.n_outputs = len(graph.outputs)
        # random operators (Dropout) draw from the device's generator: replaying the
        # forward (create_graph) must rewind it
        self.has_random = any("random" in e.op.tags for e in self.graph.eqns)
        self.rt = rt
        self.static_alloc = static_alloc
        self.fused = fusion_enabled(rt)
        self.decomposed = self.fused and decompose_enabled()
        self._infer = self._infer_graph = None
        self._lock = threading.RLock()  # guards the lazily built inference function
        self.need = list(need) if need is not None else [False] * len(graph.inputs)
        self.forward = self.backward = None
        self.joint = None
        if any(self.need):
            self._build_training()

    def _fuse_forward(self, g: Graph) -> Graph:
        """A forward graph decomposed (unless turned off) and fused."""
        return fuse(decompose(g) if self.decomposed else g)

    @property
    def infer_graph(self) -> Graph:
        """The forward-only graph, fused (built on first use)."""
        if self._infer_graph is None:
            with self._lock:  # two threads' first calls: one builds it
                if self._infer_graph is None:
                    g = self.graph
                    if self.fused:
                        g = self._fuse_forward(g)
                    self._infer_graph = g
        return self._infer_graph

    @property
    def infer(self):
        """``infer(rt, *inputs) -> outputs``, compiled on first use: a training program
        whose inputs need gradients runs ``forward`` instead, and compiling (and, with
        ``static_alloc``, allocating buffers for) a program it never runs would cost time
        and memory."""
        fn = self._infer
        if fn is None:
            with self._lock:
                if self._infer is None:
                    g = self.infer_graph
                    self._infer = _compile(g.inputs, g.eqns, g.outputs, "infer", self.rt,
                                           self.static_alloc)
                fn = self._infer
        if _profiler.COMPILED:
            return _profiler.timed(fn, "compiled program",
                                   _profiler.program_label("infer", self.infer_graph))
        return fn

    @property
    def forward(self):
        """``forward(rt, *inputs) -> outputs + residuals`` of a training program (None when
        no input needs a gradient)."""
        fn = self._forward
        if fn is not None and _profiler.COMPILED:
            return _profiler.timed(fn, "compiled program",
                                   _profiler.program_label("forward", self.forward_graph))
        return fn

    @forward.setter
    def forward(self, fn):
        self._forward = fn

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
        grads = [v for v in joint.grads if v is not None]
        bwd = dce(cse(drop_noop_reshapes(Graph(residuals + joint.head_grads, joint.bwd_eqns,
                                               grads))))
        # residuals the clean-up made unnecessary (a dropped reshape_like's shape source)
        used = {v.id for e in bwd.eqns for v in e.ins} | {v.id for v in bwd.outputs}
        residuals = [v for v in residuals if v.id in used]
        bwd = Graph(residuals + joint.head_grads, bwd.eqns, bwd.outputs)
        fwd = dce(Graph(g.inputs, joint.fwd_eqns, g.outputs + residuals))
        self.residuals = residuals
        if self.fused:
            fwd, bwd = self._fuse_forward(fwd), fuse(bwd)
        self.forward_graph, self.backward_graph = fwd, bwd
        sa = self.static_alloc
        self.forward = _compile(fwd.inputs, fwd.eqns, fwd.outputs, "forward", self.rt, sa)
        self.backward = _compile(bwd.inputs, bwd.eqns, bwd.outputs, "backward", self.rt, sa)
        self.grad_slots = [i for i, v in enumerate(joint.grads) if v is not None]
        self.wrt_index = [i for i, n in enumerate(self.need) if n]

    def run_backward(self, rt, residuals, head_grads):
        """Gradients for every input (None where no gradient is needed or reaches it)."""
        if _profiler.COMPILED:
            t0 = _profiler._perf()
            got = self.backward(rt, *residuals, *head_grads)
            _profiler.record("compiled program",
                             _profiler.program_label("backward", self.backward_graph), t0)
        else:
            got = self.backward(rt, *residuals, *head_grads)
        out = [None] * len(self.need)
        for slot, g in zip(self.grad_slots, got):
            out[self.wrt_index[slot]] = g
        return out
