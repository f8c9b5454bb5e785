"""``CachedOp``: a hybridized block's graph, traced once and compiled per input signature.

The first call traces the block into a Symbol (``hybrid_forward`` with ``F = mx.sym`` and its
parameters as variables, or ``forward`` by recording the operators it runs), infers the
shapes of deferred parameters through the graph, and keeps it. Each new signature — input
shapes and dtypes, context, train/predict mode, which inputs need gradients — gets a
compiled :class:`~gluonlite.compiler.Program`, kept in a bounded LRU cache
(:class:`~gluonlite.lru.ProgramCache`: ``hybridize(program_cache_size=n)`` or
``$GLUONLITE_PROGRAM_CACHE_SIZE``, default 32), so feeding many batch sizes does not keep
every program alive. Under ``autograd.record()`` the whole call is one tape entry whose
backward runs the compiled gradient program.

Threads may call one hybridized block at once: tracing, deferred parameter initialisation
and compiling run under the CachedOp's lock (the first concurrent calls wait for one
trace), the common call takes no lock, and ``static_alloc`` programs give each overlapping
call its own buffers (:class:`~gluonlite.compiler.program.StaticFunction`).
"""
from __future__ import annotations

import threading

import numpy as np

from .. import random as _random
from ..autograd import Node, _st
from ..base import MXNetError
from ..lru import ProgramCache
from ..ndarray import NDArray
from ..ndarray.ndarray import invoke
from .parameter import shape_is_known

__all__ = ["CachedOp", "flatten", "regroup"]


def flatten(args, what):
    """Nested lists/tuples of NDArrays (or Symbols, or None) -> flat list and format."""
    from ..symbol import Symbol
    if isinstance(args, (NDArray, Symbol)):
        return [args], 0
    if args is None:
        return [None], -1
    if not isinstance(args, (list, tuple)):
        raise ValueError(f"When hybridized, the {what} of a HybridBlock must be (nested) lists "
                         f"of Symbol or NDArray, got {args!r} of type {type(args).__name__}")
    flat, fmts = [], []
    for a in args:
        f, fmt = flatten(a, what)
        flat.extend(f)
        fmts.append(fmt)
    return flat, fmts


def regroup(flat, fmt):
    """Inverse of :func:`flatten`."""
    def merge(args, fmt):
        if isinstance(fmt, int):
            if fmt == 0:
                return args[0], args[1:]
            if fmt == -1:
                return None, args[1:]
            return args[:fmt], args[fmt:]
        ret = []
        for f in fmt:
            r, args = merge(args, f)
            ret.append(r)
        return ret, args
    return merge(list(flat), fmt)[0]


class _CachedGrad:
    """The tape-side operator of a cached call: its backward is the compiled program."""

    __slots__ = ("prog", "name")

    def __init__(self, prog, name):
        self.prog = prog
        self.name = name

    def grad_fn(self, F, attrs, ins, outs, ogs, need):
        if getattr(F, "kind", "raw") == "nd":
            return _replay_gradient(self.prog, ins, ogs, attrs.get("rng_state"))
        # the backward's own train flag (F's runtime) picks e.g. BatchNorm's gradient
        # formula, as in MXNet
        return self.prog.run_backward(F._rt, attrs["residuals"], ogs)


def _rng_state(ctx):
    """A snapshot of ``ctx``'s generator (taken before a compiled forward that draws random
    numbers, so a replay draws the same ones); None where the generator cannot be copied."""
    g = _random.generator(ctx)
    get = getattr(g, "get_state", None)
    return (g, get()) if get is not None else None


def _replay_gradient(prog, ins, ogs, rng_state=None):
    """create_graph=True through a hybridized block: run the forward and gradient graphs
    imperatively on the recorded inputs, so the gradients are themselves recorded. Random
    operators (Dropout) redraw exactly what the compiled forward drew: the device's generator
    is rewound to its state before that forward for the replay, then put back."""
    if prog.has_random:
        if rng_state is None:
            raise MXNetError("autograd.grad(create_graph=True) through a hybridized block with "
                             "random operators needs a generator whose state can be saved "
                             "(NumPy's); hybridize(False) the block for this")
        gen, state = rng_state
        now = gen.get_state()
        gen.set_state(state)
        try:
            return _replay(prog, ins, ogs)
        finally:
            gen.set_state(now)
    return _replay(prog, ins, ogs)


def _replay(prog, ins, ogs):
    """The forward graph run again on the recorded inputs, recording, then the backward of
    that sub-graph alone with every operator's own gradient rule under ``F = nd`` (what
    imperative create_graph runs, so BatchNorm's composed second-order rule applies too);
    the gradients stop at the block's inputs."""
    from .. import autograd as ag
    start = next(ag._SEQ)  # nodes recorded from here on belong to the replay
    vals = {v.id: x for v, x in zip(prog.graph.inputs, ins)}

    def get(v):
        if v.const is not None:
            ctx = ins[0].context if ins else None
            return NDArray(v.const, ctx)
        return vals[v.id]

    prev = (_st.recording, _st.training)
    _st.recording, _st.training = True, prog.train
    try:
        for e in prog.graph.eqns:
            res = invoke(e.op, [get(v) for v in e.ins], e.attrs, all_outputs=True)
            for v, r in zip(e.outs, res):
                vals[v.id] = r
    finally:
        _st.recording, _st.training = prev
    heads, head_grads = [], []
    for v, g in zip(prog.graph.outputs, ogs):
        out = get(v)
        if out._entry is not None:
            heads.append(out)
            head_grads.append(g)
    out = [None] * len(ins)
    if not heads:
        return out
    edge = ag._run(heads, head_grads, True, True, _st.training, boundary_seq=start)
    seen = set()
    for i, x in enumerate(ins):
        e = x._entry
        if e is None or e in seen:
            continue  # an input passed twice gets its summed gradient once
        seen.add(e)
        out[i] = edge.get(e)
    return out


class CachedOp:
    """The traced graph of a HybridBlock and its compiled programs."""

    def __init__(self, block):
        self.block = block
        self.symbol = None
        self.in_format = None
        self.out_format = None
        self.data_names = []
        self.inputs = []        # per graph input: ("data", index) or ("param", Parameter)
        flags = dict(getattr(block, "_flags", ()))
        self.programs = ProgramCache(flags.get("program_cache_size"))
        self._static = bool(flags.get("static_alloc", False))
        # tracing, deferred init and compiling: one thread at a time (re-entrant: a trace
        # may run child blocks)
        self._lock = threading.RLock()
        self._params = ()
        self._no_need = ()
        self._simple = False
        self._n_args = -1

    # --- tracing ---------------------------------------------------------------------------
    def _trace(self, args):
        from .. import symbol as sym
        flat, self.in_format = flatten(list(args), "input")
        n_data = sum(1 for a in flat if a is not None)
        names = ["data"] if n_data == 1 else [f"data{i}" for i in range(n_data)]
        it = iter(names)
        syms = [None if a is None else sym.var(next(it)) for a in flat]
        self.data_names = names
        out = self.block._symbolic_call(*regroup(syms, self.in_format))
        flat_out, self.out_format = flatten(out, "output")
        if any(o is None for o in flat_out):
            raise MXNetError(f"{type(self.block).__name__}: hybridized outputs cannot be None")
        self.symbol = sym.Group(flat_out) if len(flat_out) > 1 else flat_out[0]
        self._link_inputs({p.name: p for p in self.block.collect_params().values()})

    def _link_inputs(self, params):
        """Map each input variable of ``self.symbol`` to a data position (by
        ``self.data_names``) or to a Parameter of ``params`` (by name)."""
        names = self.data_names
        inputs = []
        for n in self.symbol.list_inputs():
            if n in names:
                inputs.append(("data", names.index(n)))
            elif n in params:
                inputs.append(("param", params[n]))
            else:
                raise MXNetError(f"{type(self.block).__name__}: the traced graph uses variable "
                                 f"{n!r}, which is neither an input nor a parameter of the "
                                 "block (create variables only through self.params)")
        self.inputs = inputs
        self._params = tuple(p for kind, p in inputs if kind == "param")
        self._no_need = (False,) * len(inputs)
        # flat NDArray inputs (no nesting, no None): __call__ may skip flatten()
        self._simple = all(f == 0 for f in self.in_format)
        self._n_args = len(self.in_format)

    def _finish_deferred(self, data):
        pending = [p for kind, p in self.inputs if kind == "param" and p._data is None]
        if not pending:
            return
        data_shapes = {n: tuple(d.shape) for n, d in zip(self.data_names, data)}
        shapes = dict(data_shapes)
        # parameters whose shapes are known constrain the inference too (as in MXNet)
        shapes.update({p.name: tuple(p.shape) for kind, p in self.inputs
                       if kind == "param" and shape_is_known(p.shape)})
        arg_shapes, _, aux_shapes = self.symbol.infer_shape_partial(**shapes)
        shape_of = dict(zip(self.symbol.list_arguments(), arg_shapes))
        shape_of.update(zip(self.symbol.list_auxiliary_states(), aux_shapes))
        unknown = []
        for p in pending:
            s = shape_of.get(p.name)
            if s and all(d > 0 for d in s):
                p._infer_shape(s)
            elif p._deferred_init and not shape_is_known(p.shape):
                unknown.append(f"{p.name}: {p.shape}")
        if unknown:
            # MXNet's _deferred_infer_shape error
            blk = type(self.block).__name__
            raise ValueError("Deferred initialization failed because shape cannot be inferred "
                             f"from the input shapes {data_shapes} for {blk}'s parameters "
                             "(0 or None means unknown): " + ", ".join(unknown))
        for p in pending:
            p._finish_deferred_init()

    # --- calling ---------------------------------------------------------------------------
    def accepts_flat(self, args) -> bool:
        """Whether ``args`` are flat NDArrays in the traced format, so that
        :meth:`call_flat` can run them without flattening or tracing."""
        return self._simple and len(args) == self._n_args and \
            all(type(a) is NDArray for a in args)

    def __call__(self, args):
        if self.accepts_flat(args):
            return self.call_flat(args)  # the common case
        flat, fmt = flatten(list(args), "input")
        with self._lock:
            if self.symbol is None or fmt != self.in_format:
                self._n_args = -1  # no thread takes the fast path during the (re)trace
                try:
                    self._trace(args)
                except BaseException:
                    self.symbol = None  # half a trace must not be run by the next call
                    raise
                self.programs.clear()
        data = [a for a in flat if a is not None]
        if not data:
            raise ValueError(f"{type(self.block).__name__}: no NDArray input")
        return self.call_flat(data)

    def call_flat(self, data):
        """Run the compiled graph on the flat list of input NDArrays (traced already)."""
        ctx = data[0]._ctx
        for d in data:
            if d._ctx is not ctx:
                raise MXNetError(f"{type(self.block).__name__}: all inputs of a hybridized "
                                 f"block must be on one context, found {ctx} and {d._ctx}")
        for p in self._params:
            if p._data is None:
                with self._lock:  # concurrent first calls: one infers and initialises
                    self._finish_deferred(data)
                break
        inputs = [data[i] if kind == "data" else i.data(ctx) for kind, i in self.inputs]
        raw = [x._data for x in inputs]
        training = _st.training
        if _st.recording:
            need = tuple([x._entry is not None for x in inputs])
            recording = True in need
        else:
            need = self._no_need
            recording = False
        key = (tuple([(r.shape, r.dtype) for r in raw]), ctx, training, need)
        prog = self.programs.lookup(key)
        if prog is None:
            with self._lock:  # one thread compiles a signature; the others wait for it
                prog = self.programs.lookup(key)
                if prog is None:
                    prog = self.programs.insert(key, self._compile(inputs, need, ctx,
                                                                   training))
        rt = ctx._runtime(training)
        atype = rt.array_type
        if recording:
            rng = _rng_state(ctx) if prog.has_random else None
            res = prog.forward(rt, *raw)
            n = prog.n_outputs
            outs = [o if type(o) is atype else rt.xp.asarray(o) for o in res[:n]]
            attrs = {"residuals": res[n:]}
            if rng is not None:
                attrs["rng_state"] = rng
            node = Node(_CachedGrad(prog, type(self.block).__name__), attrs,
                        tuple([x._entry for x in inputs]), tuple(raw), tuple(outs), ctx)
            result = [NDArray(o, ctx, (node, k)) for k, o in enumerate(outs)]
        else:
            outs = prog.infer(rt, *raw)
            result = [NDArray(o if type(o) is atype else rt.xp.asarray(o), ctx) for o in outs]
        if self.out_format == 0:
            return result[0]
        return regroup(result, self.out_format)

    def _compile(self, inputs, need, ctx, training):
        from ..compiler import Program, from_symbol
        graph, _ = from_symbol(self.symbol)
        for v, x in zip(graph.inputs, inputs):
            v.shape, v.dtype = tuple(x.shape), np.dtype(x._data.dtype).name
        return Program(graph, list(need), ctx._runtime(training), train=training,
                       static_alloc=self._static)

