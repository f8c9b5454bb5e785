"""``Executor``: a Symbol bound to arrays, run by the compiler (MXNet's ``bind``/``simple_bind``).

``forward(is_train, **kwargs)`` copies the given inputs into the bound arrays and runs the
compiled forward program; ``backward(out_grads)`` runs the compiled gradient program and
writes into ``grad_dict`` according to each argument's ``grad_req`` ('write', 'add',
'null'). Auxiliary states (BatchNorm's statistics) are updated in place, as in MXNet.
Programs are compiled once per (input shapes, train/predict) and reused; at most
``$GLUONLITE_PROGRAM_CACHE_SIZE`` (default 32) are kept, least recently used evicted.

MXNet's semantics, checked against MXNet 1.9.1 (``tests/fixtures/executor_mxnet.json``):
``outputs`` exist (zeros, of the inferred shapes) right after ``bind``; ``backward`` with
no argument needing a gradient (``grad_req`` all 'null', or no ``args_grad``) does nothing;
``backward()`` without ``out_grads`` needs every output's head gradient to be unused (loss
outputs: ``SoftmaxOutput``, ``MakeLoss``, ...), else it raises MXNet's "head_gradient is
required" error; ``backward`` after ``forward(is_train=False)`` gives the gradient of the
inference-mode graph (Dropout an identity, BatchNorm with its moving statistics).
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError, np_dtype
from ..context import Context
from ..lru import ProgramCache
from ..ndarray import NDArray, zeros

__all__ = ["Executor"]


def _as_list(names, given, what, allow_missing=False):
    if given is None:
        given = {}
    if isinstance(given, dict):
        for k in given:
            if k not in names:
                raise MXNetError(f"{what}: {k!r} is not one of {names}")
        out = [given.get(n) for n in names]
    else:
        given = list(given)
        if len(given) != len(names):
            raise MXNetError(f"{what}: expected {len(names)} arrays ({names}), got {len(given)}")
        out = given
    if not allow_missing:
        missing = [n for n, a in zip(names, out) if a is None]
        if missing:
            raise MXNetError(f"{what}: missing arrays for {missing}")
    for n, a in zip(names, out):
        if a is not None and not isinstance(a, NDArray):
            raise TypeError(f"{what}: {n!r} must be an NDArray, got {type(a).__name__}")
    return out


class Executor:
    """A bound Symbol. Attributes follow MXNet: ``arg_arrays``, ``grad_arrays``,
    ``aux_arrays``, ``arg_dict``, ``grad_dict``, ``aux_dict``, ``outputs``,
    ``output_dict``."""

    def __init__(self, symbol, ctx, arg_arrays, grad_arrays, grad_reqs, aux_arrays):
        self._symbol = symbol
        self._ctx = ctx
        self.arg_names = symbol.list_arguments()
        self.aux_names = symbol.list_auxiliary_states()
        self.arg_arrays = arg_arrays
        self.grad_arrays = grad_arrays
        self.aux_arrays = aux_arrays
        self._grad_reqs = grad_reqs
        self.arg_dict = dict(zip(self.arg_names, arg_arrays))
        self.grad_dict = {n: g for n, g in zip(self.arg_names, grad_arrays) if g is not None}
        self.aux_dict = dict(zip(self.aux_names, aux_arrays))
        self._programs = ProgramCache()
        self._residuals = None
        self._last = None
        self._ran = None  # None: no forward yet; else the is_train of the last forward
        self._monitor = None
        self._input_order = symbol.list_inputs()
        self.outputs = self._initial_outputs()

    def _initial_outputs(self):
        """Zero arrays of the output shapes and dtypes (MXNet allocates them at bind);
        empty when the arrays do not determine them."""
        shapes = {n: tuple(a.shape) for n, a in zip(self.arg_names, self.arg_arrays)}
        dtypes = {n: np.dtype(a.dtype) for n, a in zip(self.arg_names, self.arg_arrays)}
        try:
            _, out_shapes, _ = self._symbol.infer_shape(**shapes)
            _, out_types, _ = self._symbol.infer_type(**dtypes)
        except MXNetError:
            return []  # forward reports what is wrong with these arrays
        if out_shapes is None:
            return []
        out_types = out_types or [np.float32] * len(out_shapes)
        return [zeros(s, ctx=self._ctx, dtype=t) for s, t in zip(out_shapes, out_types)]

    @property
    def output_dict(self):
        """``{output name: NDArray}`` of the current ``outputs``."""
        return dict(zip(self._symbol.list_outputs(), self.outputs))

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def bind(cls, symbol, ctx, args, args_grad=None, grad_req="write", aux_states=None):
        if not isinstance(ctx, Context):
            raise TypeError(f"ctx: expected a Context, got {type(ctx).__name__}")
        arg_names = symbol.list_arguments()
        aux_names = symbol.list_auxiliary_states()
        arg_arrays = _as_list(arg_names, args, "args")
        grad_arrays = _as_list(arg_names, args_grad, "args_grad", allow_missing=True) \
            if args_grad is not None else [None] * len(arg_names)
        aux_arrays = _as_list(aux_names, aux_states, "aux_states")
        reqs = cls._reqs(arg_names, grad_req)
        for n, g, r in zip(arg_names, grad_arrays, reqs):
            if r != "null" and g is None and args_grad is not None:
                raise MXNetError(f"bind: grad_req for {n!r} is {r!r} but no gradient array was "
                                 "given in args_grad")
        if args_grad is None:
            reqs = ["null"] * len(arg_names)
        for a in arg_arrays + aux_arrays + [g for g in grad_arrays if g is not None]:
            if a.context != ctx:
                raise MXNetError(f"bind: arrays must be on {ctx}, found one on {a.context}")
        return cls(symbol, ctx, arg_arrays, grad_arrays, reqs, aux_arrays)

    @classmethod
    def simple_bind(cls, symbol, ctx, grad_req, type_dict, shapes):
        arg_shapes, _, aux_shapes = symbol.infer_shape(**shapes)
        if arg_shapes is None:
            raise MXNetError(f"simple_bind: cannot infer every shape from {shapes}; give the "
                             "shapes of all data inputs")
        type_dict = type_dict or {}
        arg_names = symbol.list_arguments()
        aux_names = symbol.list_auxiliary_states()
        arg_types, _, aux_types = symbol.infer_type(
            **{k: np_dtype(type_dict.get(k, "float32")) for k in arg_names[:1]},
            **{k: np_dtype(v) for k, v in type_dict.items() if k not in arg_names[:1]})
        if arg_types is None:
            arg_types = [np.float32] * len(arg_names)
            aux_types = [np.float32] * len(aux_names)
        args = [zeros(s, ctx=ctx, dtype=t) for s, t in zip(arg_shapes, arg_types)]
        aux = [zeros(s, ctx=ctx, dtype=t) for s, t in zip(aux_shapes, aux_types)]
        reqs = cls._reqs(arg_names, grad_req)
        grads = [None if r == "null" else zeros(s, ctx=ctx, dtype=t)
                 for r, s, t in zip(reqs, arg_shapes, arg_types)]
        return cls(symbol, ctx, args, grads, reqs, aux)

    @staticmethod
    def _reqs(names, grad_req):
        if isinstance(grad_req, str):
            reqs = [grad_req] * len(names)
        elif isinstance(grad_req, dict):
            reqs = [grad_req.get(n, "null") for n in names]
        else:
            reqs = list(grad_req)
            if len(reqs) != len(names):
                raise MXNetError(f"grad_req: expected {len(names)} entries, got {len(reqs)}")
        for r in reqs:
            if r not in ("write", "add", "null"):
                raise ValueError(f"grad_req: expected 'write', 'add' or 'null', got {r!r}")
        return reqs

    # --- running -------------------------------------------------------------------------------
    def _inputs(self):
        by_name = dict(self.arg_dict)
        by_name.update(self.aux_dict)
        return [by_name[n] for n in self._input_order]

    def _program(self, is_train, need, monitor=False):
        """The compiled program for the current input shapes; ``monitor``: one whose outputs
        are followed by every operator output (in graph order), for the monitor callback."""
        inputs = self._inputs()
        key = (tuple((a.shape, a.dtype) for a in inputs), is_train, tuple(need), monitor)
        prog = self._programs.lookup(key)
        if prog is None:
            from ..compiler import Program, from_symbol
            graph, _ = from_symbol(self._symbol)
            for v, a in zip(graph.inputs, inputs):
                v.shape, v.dtype = tuple(a.shape), np.dtype(a.dtype).name
            if monitor:
                graph.outputs = graph.outputs + [v for e in graph.eqns for v in e.outs]
            # an Executor's memory is allocated once, at bind, in MXNet
            prog = self._programs.insert(key, Program(graph, need, self._ctx._runtime(is_train),
                                                      train=is_train, static_alloc=True))
            prog._monitor_eqns = graph.eqns if monitor else None
        return prog

    def _need(self):
        names = {n for n, r in zip(self.arg_names, self._grad_reqs) if r != "null"}
        return [n in names for n in self._input_order]

    def forward(self, is_train=False, **kwargs):
        """Run the graph; ``kwargs`` copies new values into the named argument arrays.
        Returns ``self.outputs``."""
        for k, v in kwargs.items():
            if k not in self.arg_dict:
                raise MXNetError(f"forward: {k!r} is not an argument; arguments are "
                                 f"{self.arg_names}")
            dst = self.arg_dict[k]
            if isinstance(v, NDArray):
                v.copyto(dst)
            else:
                dst[:] = v
        need = self._need() if is_train else [False] * len(self._input_order)
        self._run_forward(is_train, need)
        return self.outputs

    def _run_forward(self, is_train, need):
        monitor = self._monitor is not None
        prog = self._program(is_train, need, monitor)
        rt = self._ctx._runtime(is_train)
        data = [a._data for a in self._inputs()]
        xp = rt.xp
        if prog.forward is not None:
            res = prog.forward(rt, *data)
            outs, self._residuals = res[:prog.n_outputs], res[prog.n_outputs:]
            self._last = prog
        else:
            outs = prog.infer(rt, *data)
            self._residuals, self._last = None, None
        outs = [NDArray(o if isinstance(o, xp.ndarray) else xp.asarray(o), self._ctx)
                for o in outs]
        n = len(self._symbol.list_outputs())
        self.outputs = outs[:n]
        self._ran = is_train
        if monitor:
            self._call_monitor(prog._monitor_eqns, outs[n:])

    def backward(self, out_grads=None, is_train=True):
        """Gradients of the outputs (weighted by ``out_grads``) into ``grad_dict``, after a
        ``forward``. Without ``out_grads`` every output must be a loss output (its head
        gradient unused), as in MXNet. Does nothing when no argument needs a gradient."""
        need = self._need()
        if not any(need):
            return  # MXNet: nothing to compute, not an error
        if self._ran is None:
            raise MXNetError("backward: call forward(is_train=True) first (there are no "
                             "forward results to differentiate yet)")
        if self._last is None or self._residuals is None:
            # the last forward ran for inference: differentiate the inference-mode graph
            self._run_forward(False, need)
        prog = self._last
        n = len(self.outputs)
        used = _heads_used(prog)
        if out_grads is None:
            missing = [name for name, u in zip(self._symbol.list_outputs(), used[:n]) if u]
            if missing:
                raise MXNetError(
                    f"backward: outputs {missing} need a head gradient: because the last "
                    "operator is not Loss function, head_gradient is required when calling "
                    "backward. If you are attempting to minimize the output as an objective, "
                    "please modify your network and pass it through the make_loss symbol.")
            heads = [self._ctx._runtime(False).xp.zeros_like(o._data) for o in self.outputs]
        else:
            if isinstance(out_grads, NDArray):
                out_grads = [out_grads]
            out_grads = list(out_grads)
            if len(out_grads) != n:
                raise MXNetError(f"backward: expected {n} out_grads, got {len(out_grads)}")
            for i, (g, o) in enumerate(zip(out_grads, self.outputs)):
                if not isinstance(g, NDArray):
                    raise TypeError(f"backward: out_grads[{i}] must be an NDArray, got "
                                    f"{type(g).__name__}")
                if g.shape != o.shape:
                    raise MXNetError(f"backward: out_grads[{i}] has shape {g.shape}, the "
                                     f"output has {o.shape}")
            heads = [g._data for g in out_grads]
        xp = self._ctx._runtime(False).xp
        # the monitor program's extra outputs get zero head gradients
        heads += [xp.zeros(v.shape, v.dtype) for v in prog.joint.head_grads[n:]]
        grads = prog.run_backward(self._ctx._runtime(is_train), self._residuals, heads)
        by_input = dict(zip(self._input_order, grads))
        for name, req, buf in zip(self.arg_names, self._grad_reqs, self.grad_arrays):
            if req == "null" or buf is None:
                continue
            g = by_input.get(name)
            if g is None:
                if req == "write":
                    buf[:] = 0
                continue
            if req == "write":
                buf._data[...] = g
            else:
                buf._data += g

    # --- monitoring ----------------------------------------------------------------------------
    def set_monitor_callback(self, callback, monitor_all=False):
        """Call ``callback(name, array)`` in each ``forward`` for every operator output,
        named ``<node>_<output>`` as MXNet names them (``fc1_output``); with ``monitor_all``
        also for every operator input (``fc1_data``, ``fc1_weight``, ``relu0_input0``),
        each variable first by its own name. ``name`` is a ``str`` and ``array`` an
        NDArray (MXNet passes raw C handles). ``callback=None`` removes it."""
        if callback is not None and not callable(callback):
            raise TypeError(f"set_monitor_callback: callback must be callable, got "
                            f"{type(callback).__name__}")
        self._monitor = None if callback is None else (callback, bool(monitor_all))

    def _call_monitor(self, eqns, values):
        callback, monitor_all = self._monitor
        val = {}
        k = 0
        for e in eqns:
            for v in e.outs:
                val[v.id] = values[k]
                k += 1
        by_name = dict(self.arg_dict)
        by_name.update(self.aux_dict)
        seen = set()
        for e in eqns:
            if monitor_all:
                names = _monitor_input_names(e)
                for v, nm in zip(e.ins, names):
                    if v.eqn is None and v.name in by_name and v.name not in seen:
                        seen.add(v.name)
                        callback(v.name, by_name[v.name])
                    arr = val.get(v.id) if v.eqn is not None else by_name.get(v.name)
                    if arr is not None:
                        callback(f"{e.name}_{nm}", arr)
            for v, nm in zip(e.outs, e.op.list_outputs(e.attrs)):
                callback(f"{e.name}_{nm}", val[v.id])

    # --- reshaping and parameters ----------------------------------------------------------------
    def reshape(self, partial_shaping=False, allow_up_sizing=False, **kwargs):
        """A new Executor for new input shapes (``kwargs``: name -> shape), as MXNet's.

        Arrays whose shape does not change are shared; a changed one is a view of the old
        memory when no larger, else (``allow_up_sizing=True`` only) a new array. An
        argument not named in ``kwargs`` may change shape only with
        ``partial_shaping=True``. Gradient arrays follow their arguments."""
        for k in kwargs:
            if k not in self.arg_dict and k not in self.aux_dict:
                raise MXNetError(f"reshape: {k!r} is not an input of the symbol; inputs are "
                                 f"{self._input_order}")
        shapes = {k: tuple(v) for k, v in kwargs.items()}
        arg_shapes, _, aux_shapes = self._symbol.infer_shape_partial(**shapes)
        # inputs inference leaves open keep their current shapes
        for n, s in zip(self.arg_names, arg_shapes):
            if n not in shapes and (not s or 0 in s):
                shapes[n] = tuple(self.arg_dict[n].shape)
        for n, s in zip(self.aux_names, aux_shapes):
            if n not in shapes and (not s or 0 in s):
                shapes[n] = tuple(self.aux_dict[n].shape)
        arg_shapes, _, aux_shapes = self._symbol.infer_shape(**shapes)
        if arg_shapes is None:
            raise MXNetError(f"reshape: cannot infer every shape from {kwargs}")
        new_args, new_grads = [], []
        for n, s, g in zip(self.arg_names, arg_shapes, self.grad_arrays):
            a, g2 = self._reshaped("arg", n, self.arg_dict[n], g, tuple(s), kwargs,
                                   partial_shaping, allow_up_sizing)
            new_args.append(a)
            new_grads.append(g2)
        new_aux = [self._reshaped("aux", n, self.aux_dict[n], None, tuple(s), kwargs,
                                  partial_shaping, allow_up_sizing)[0]
                   for n, s in zip(self.aux_names, aux_shapes)]
        return Executor(self._symbol, self._ctx, new_args, new_grads, list(self._grad_reqs),
                        new_aux)

    def _reshaped(self, kind, name, arr, grad, shape, given, partial, up):
        if shape == tuple(arr.shape):
            return arr, grad
        if not (partial or name in given):
            raise MXNetError(f"reshape: Shape of unspecified {kind}: {name} changed (from "
                             f"{arr.shape} to {shape}). This can cause the new executor to not "
                             "share parameters with the old one. Please check for error in "
                             "network. If this is intended, set partial_shaping=True to "
                             "suppress this warning.")
        size = int(np.prod(shape, dtype=np.int64))
        if size > arr.size:
            if not up:
                raise MXNetError(f"reshape: New shape of {kind}: {name} ({shape}) is larger "
                                 f"than original ({arr.shape}). First making a big executor "
                                 "and then down sizing it is more efficient than the reverse. "
                                 "If you really want to up size, set allow_up_sizing=True to "
                                 "enable allocation of new arrays.")
            return (zeros(shape, ctx=self._ctx, dtype=arr.dtype),
                    None if grad is None else zeros(shape, ctx=self._ctx, dtype=grad.dtype))
        return _view(arr, shape, size), None if grad is None else _view(grad, shape, size)

    def copy_params_from(self, arg_params, aux_params=None, allow_extra_params=False):
        """Copy values into the bound argument/auxiliary arrays by name (converted to the
        bound dtype). Every name, type and shape is checked before anything is copied, so a
        failed call changes nothing."""
        plan = []
        for what, params, bound in (("arguments", arg_params, self.arg_dict),
                                    ("auxiliary states", aux_params, self.aux_dict)):
            if params is None:
                continue
            if not isinstance(params, dict):
                raise TypeError(f"copy_params_from: {what} must be a dict of name -> NDArray, "
                                f"got {type(params).__name__}")
            for name, src in params.items():
                if name not in bound:
                    if allow_extra_params:
                        continue
                    raise ValueError(f"Find name {name!r} that is not in the {what}")
                if not isinstance(src, NDArray):
                    raise TypeError(f"copy_params_from: {name!r} must be an NDArray, got "
                                    f"{type(src).__name__}")
                dst = bound[name]
                if src.shape != dst.shape:
                    raise MXNetError(f"copy_params_from: {name!r} has shape {src.shape}, the "
                                     f"bound array has {dst.shape}")
                plan.append((src, dst))
        for src, dst in plan:
            src.astype(dst.dtype, copy=False).copyto(dst)

    def __repr__(self):
        return f"<Executor of {self._symbol!r} on {self._ctx}>"


def _view(arr, shape, size):
    """``arr``'s first ``size`` elements as an NDArray of ``shape``, sharing its memory."""
    return NDArray(arr._data.reshape(-1)[:size].reshape(shape), arr.context)


def _heads_used(prog):
    """For each forward output of ``prog``, whether its backward reads the head gradient
    (loss operators ignore it)."""
    g = prog.backward_graph
    read = {v.id for e in g.eqns for v in e.ins} | {v.id for v in g.outputs}
    return [h.id in read for h in prog.joint.head_grads]


def _monitor_input_names(e):
    """MXNet's names of an operator's inputs in monitor callbacks: the declared names of
    layer operators (``FullyConnected``'s data/weight/bias) and binary ones (lhs/rhs),
    ``input<i>`` for the rest."""
    op = e.op
    names = list(op.input_names) if op.variadic is None else []
    if len(names) == len(e.ins) and (len(names) > 1 or op.name[:1].isupper()):
        return names
    return [f"input{i}" for i in range(len(e.ins))]
