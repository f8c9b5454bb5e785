"""``Executor``: a Symbol bound to arrays, run by the compiler (MXNet's ``bind``/``simple_bind``).

``forward(is_train, **kwargs)`` copies the given inputs into the bound arrays and runs the
compiled forward program; ``backward(out_grads)`` runs the compiled gradient program and
writes into ``grad_dict`` according to each argument's ``grad_req`` ('write', 'add',
'null'). Auxiliary states (BatchNorm's statistics) are updated in place, as in MXNet.
Programs are compiled once per (input shapes, train/predict) and reused; at most
``$GLUONLITE_PROGRAM_CACHE_SIZE`` (default 32) are kept, least recently used evicted.
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
    ``aux_arrays``, ``arg_dict``, ``grad_dict``, ``aux_dict``, ``outputs``."""

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
        self.outputs = []
        self._programs = ProgramCache()
        self._residuals = None
        self._last = None
        self._input_order = symbol.list_inputs()

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

    def _program(self, is_train, need):
        inputs = self._inputs()
        key = (tuple((a.shape, a.dtype) for a in inputs), is_train, tuple(need))
        prog = self._programs.lookup(key)
        if prog is None:
            from ..compiler import Program, from_symbol
            graph, _ = from_symbol(self._symbol)
            for v, a in zip(graph.inputs, inputs):
                v.shape, v.dtype = tuple(a.shape), np.dtype(a.dtype).name
            # an Executor's memory is allocated once, at bind, in MXNet
            prog = self._programs.insert(key, Program(graph, need, self._ctx._runtime(is_train),
                                                      train=is_train, static_alloc=True))
        return prog

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
        need_names = {n for n, r in zip(self.arg_names, self._grad_reqs) if r != "null"}
        need = [n in need_names for n in self._input_order] if is_train else \
            [False] * len(self._input_order)
        prog = self._program(is_train, need)
        rt = self._ctx._runtime(is_train)
        data = [a._data for a in self._inputs()]
        if prog.forward is not None:
            res = prog.forward(rt, *data)
            outs, self._residuals = res[:prog.n_outputs], res[prog.n_outputs:]
            self._last = prog
        else:
            outs = prog.infer(rt, *data)
            self._residuals, self._last = None, None
        xp = rt.xp
        self.outputs = [NDArray(o if isinstance(o, xp.ndarray) else xp.asarray(o), self._ctx)
                        for o in outs]
        return self.outputs

    def backward(self, out_grads=None, is_train=True):
        """Gradients of the outputs (weighted by ``out_grads``, default ones) into
        ``grad_dict``; needs a previous ``forward(is_train=True)``."""
        prog = self._last
        if prog is None or self._residuals is None:
            raise MXNetError("backward: call forward(is_train=True) first, with at least one "
                             "argument whose grad_req is not 'null'")
        if out_grads is None:
            heads = [self._ctx._runtime(False).xp.ones_like(o._data) for o in self.outputs]
        else:
            if isinstance(out_grads, NDArray):
                out_grads = [out_grads]
            if len(out_grads) != len(self.outputs):
                raise MXNetError(f"backward: expected {len(self.outputs)} out_grads, got "
                                 f"{len(out_grads)}")
            heads = [g._data for g in out_grads]
        grads = prog.run_backward(self._ctx._runtime(is_train), self._residuals, heads)
        by_input = dict(zip(self._input_order, grads))
        for n, req, buf in zip(self.arg_names, self._grad_reqs, self.grad_arrays):
            if req == "null" or buf is None:
                continue
            g = by_input.get(n)
            if g is None:
                if req == "write":
                    buf[:] = 0
                continue
            if req == "write":
                buf._data[...] = g
            else:
                buf._data += g

    def copy_params_from(self, arg_params, aux_params=None, allow_extra_params=False):
        """Copy values into the bound argument/auxiliary arrays by name."""
        for name, src in (arg_params or {}).items():
            if name in self.arg_dict:
                src.copyto(self.arg_dict[name])
            elif not allow_extra_params:
                raise ValueError(f"Find name {name!r} that is not in the arguments")
        for name, src in (aux_params or {}).items():
            if name in self.aux_dict:
                src.copyto(self.aux_dict[name])
            elif not allow_extra_params:
                raise ValueError(f"Find name {name!r} that is not in the auxiliary states")

    def __repr__(self):
        return f"<Executor of {self._symbol!r} on {self._ctx}>"
