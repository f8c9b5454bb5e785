"""Automatic differentiation (MXNet's ``mxnet.autograd``).

Recording: inside ``with autograd.record():`` every operator applied to an array that
depends on a variable (an array with ``attach_grad()``) leaves a :class:`Node` on the
array it produced: the operator, its attributes, the input entries and the raw input and
output arrays. Nothing else is kept: the graph is the chain of nodes reachable from the
arrays, freed when they go away or after ``backward`` (unless ``retain_graph``).

Backward walks the nodes reachable from the heads in reverse topological order and applies
each operator's gradient rule (see :mod:`gluonlite.ops.registry`). Rules run on raw arrays
(no NDArray wrapping, no recording) unless ``create_graph=True``, when they run on NDArrays
under recording, so the gradient is itself differentiable.
"""
from __future__ import annotations

import itertools
import sys as _sys
import threading
from heapq import heappop, heappush
from typing import Optional

from .base import MXNetError
from .ops.registry import ZERO_GRAD

__all__ = ["record", "pause", "train_mode", "predict_mode", "is_recording", "is_training",
           "set_recording", "set_training", "backward", "grad", "mark_variables",
           "Function"]

NDArray = None  # set by gluonlite.ndarray.ndarray at import (avoids an import cycle)


class _State(threading.local):
    recording = False
    training = False


_st = _State()
_SEQ = itertools.count()  # creation order of Nodes: inputs are always older than consumers


class _Scope:
    """Context manager setting the recording and/or training flags, restoring them on exit."""

    __slots__ = ("_rec", "_train", "_prev")

    def __init__(self, is_record: Optional[bool], train_mode: Optional[bool]):
        self._rec = is_record
        self._train = train_mode
        self._prev = None

    def __enter__(self):
        st = _st
        self._prev = (st.recording, st.training)
        if self._rec is not None:
            st.recording = self._rec
        if self._train is not None:
            st.training = self._train
        return self

    def __exit__(self, *exc):
        _st.recording, _st.training = self._prev


def record(train_mode: bool = True) -> _Scope:
    """Record operators for differentiation; ``train_mode`` sets ``is_training()``
    (Dropout active, BatchNorm uses batch statistics)."""
    return _Scope(True, train_mode)


def pause(train_mode: bool = False) -> _Scope:
    """Stop recording inside a ``record()`` block."""
    return _Scope(False, train_mode)


def train_mode() -> _Scope:
    """Run operators in training mode without changing recording."""
    return _Scope(None, True)


def predict_mode() -> _Scope:
    """Run operators in inference mode without changing recording."""
    return _Scope(None, False)


def is_recording() -> bool:
    return _st.recording


def is_training() -> bool:
    return _st.training


def set_recording(is_recording: bool) -> bool:
    """Set the recording flag; returns the previous value."""
    prev = _st.recording
    _st.recording = bool(is_recording)
    return prev


def set_training(train_mode: bool) -> bool:
    """Set the training flag; returns the previous value."""
    prev = _st.training
    _st.training = bool(train_mode)
    return prev


# --------------------------------------------------------------------------------------
# graph nodes
class Node:
    """A recorded operator application.

    ``ins`` holds one entry ``(node, output_index)`` per input, or None for inputs that need
    no gradient; ``in_data``/``out_data`` are the raw arrays the gradient rule reads.
    """

    __slots__ = ("op", "attrs", "ins", "in_data", "out_data", "ctx", "freed", "seq")

    def __init__(self, op, attrs, ins, in_data, out_data, ctx):
        self.seq = next(_SEQ)
        self.op = op
        self.attrs = attrs
        self.ins = ins
        self.in_data = in_data
        self.out_data = out_data
        self.ctx = ctx
        self.freed = False

    def __repr__(self):
        return f"<Node {self.op.name}>"


class VarNode:
    """The graph end of a variable: where its gradient is written."""

    __slots__ = ("grad", "grad_req", "fresh", "__weakref__")

    def __init__(self, grad, grad_req):
        self.grad = grad
        self.grad_req = grad_req
        self.fresh = False

    def __repr__(self):
        return f"<VarNode grad_req={self.grad_req}>"


_GRAD_REQS = ("write", "add", "null")

_NOT_IN_GRAPH = ("Cannot differentiate node because it is not in a computational graph. "
                 "You need to set is_recording to true or use autograd.record() to save "
                 "computational graphs for backward. If you want to differentiate the same "
                 "graph twice, you need to pass retain_graph=True to backward.")


def mark_variables(variables, gradients, grad_reqs="write"):
    """Mark arrays as variables whose gradients are written into ``gradients``."""
    if isinstance(variables, NDArray):
        variables, gradients = [variables], [gradients]
    variables, gradients = list(variables), list(gradients)
    if len(variables) != len(gradients):
        raise ValueError(f"gradients: expected {len(variables)} arrays (one per variable), "
                         f"got {len(gradients)}")
    if isinstance(grad_reqs, str):
        grad_reqs = [grad_reqs] * len(variables)
    for v, g, req in zip(variables, gradients, grad_reqs):
        if req not in _GRAD_REQS:
            raise ValueError(f"grad_reqs: expected one of {_GRAD_REQS}, got {req!r}")
        if not isinstance(v, NDArray) or not isinstance(g, NDArray):
            raise TypeError("mark_variables: variables and gradients must be NDArrays")
        if g.shape != v.shape:
            raise ValueError(f"gradients: shape {g.shape} does not match variable {v.shape}")
        v._entry = (VarNode(g, req), 0)


# --------------------------------------------------------------------------------------
# backward
def _run(heads, head_grads, retain_graph, create_graph, train_mode, boundary_seq=None):
    """Propagate gradients from ``heads``; returns ``{VarNode: grad}`` for every reached
    variable (grad is a raw array, None for a zero gradient, or an NDArray with
    ``create_graph``).

    With ``boundary_seq``, nodes created before that sequence number are not entered: the
    gradient reaching each of their outputs is returned instead, as ``{(node, index):
    grad}`` (variables as ``(VarNode, 0)``) — the backward of a recorded sub-graph only.

    Nodes carry a creation sequence number, and a node's inputs are always older than the
    node, so popping the newest pending node from a heap visits the reachable graph in
    reverse topological order in a single pass.
    """
    if isinstance(heads, NDArray):
        heads = [heads]
    if head_grads is None:
        head_grads = [None] * len(heads)
    elif isinstance(head_grads, NDArray):
        head_grads = [head_grads]
    if len(head_grads) != len(heads):
        raise ValueError(f"head_grads: expected {len(heads)} arrays (one per head), "
                         f"got {len(head_grads)}")

    grads: dict = {}      # node -> list of output gradients
    variables: dict = {}  # VarNode -> None, in the order reached
    edge: dict = {}       # (node, index) -> gradient, at the boundary
    heap: list = []
    for h, hg in zip(heads, head_grads):
        if not isinstance(h, NDArray):
            raise TypeError(f"heads: expected NDArrays, got {type(h).__name__}")
        e = h._entry
        if e is None or (type(e[0]) is Node and e[0].freed):
            raise MXNetError(_NOT_IN_GRAPH)
        if hg is None:
            g = h._ctx.xp.ones_like(h._data)
            if create_graph:
                g = NDArray(g, h._ctx)
        else:
            if not isinstance(hg, NDArray):
                raise TypeError(f"head_grads: expected NDArrays or None, got {type(hg).__name__}")
            if hg.shape != h.shape:
                raise ValueError(f"head_grads: shape {hg.shape} does not match head {h.shape}")
            g = hg if create_graph else hg._data
        node, idx = e
        if type(node) is VarNode:
            variables[node] = None
            slots = grads.get(node)
            if slots is None:
                slots = grads[node] = [None]
        else:
            slots = grads.get(node)
            if slots is None:
                slots = grads[node] = [None] * len(node.out_data)
                heappush(heap, (-node.seq, node))
        slots[idx] = g if slots[idx] is None else slots[idx] + g

    prev = (_st.recording, _st.training)
    _st.recording, _st.training = create_graph, train_mode
    F = None
    F_ctx = None
    try:
        while heap:
            node = heappop(heap)[1]
            if node.freed:
                raise MXNetError(_NOT_IN_GRAPH)
            ogs = grads.pop(node)
            ctx = node.ctx
            out_data = node.out_data
            for k, g in enumerate(ogs):
                if g is None:
                    z = ctx.xp.zeros_like(out_data[k])
                    ogs[k] = NDArray(z, ctx) if create_graph else z
            if create_graph:
                from .ops.namespace import ND as F
                ins = tuple(NDArray(d, ctx, e) for d, e in zip(node.in_data, node.ins))
                outs = tuple(NDArray(d, ctx, (node, k)) for k, d in enumerate(out_data))
            else:
                if ctx is not F_ctx:
                    F, F_ctx = ctx._runtime(train_mode).F, ctx
                ins, outs = node.in_data, out_data
            entries = node.ins
            rule = node.op.grad_fn
            if rule is ZERO_GRAD:
                in_grads = (None,) * len(entries)
            elif rule is None:
                raise MXNetError(f"operator {node.op.name} is not differentiable")
            else:
                in_grads = rule(F, node.attrs, ins, outs, ogs,
                                [e is not None for e in entries])
                if len(in_grads) != len(entries):
                    raise MXNetError(f"gradient rule of {node.op.name} returned "
                                     f"{len(in_grads)} gradients for {len(entries)} inputs")
            if not retain_graph:
                # release what backward kept alive (inputs, outputs, a cached graph's
                # residuals) as soon as the node's gradient is computed
                node.freed = True
                node.in_data = node.out_data = node.attrs = None
            for e, g in zip(entries, in_grads):
                if e is None:
                    continue
                n, idx = e
                if boundary_seq is not None and (type(n) is VarNode or n.seq < boundary_seq):
                    if g is not None:
                        prev_g = edge.get(e)
                        edge[e] = g if prev_g is None else prev_g + g
                    continue
                slots = grads.get(n)
                if slots is None:
                    if type(n) is VarNode:
                        variables[n] = None
                        slots = grads[n] = [None]
                    elif n.freed:
                        raise MXNetError(_NOT_IN_GRAPH)
                    else:
                        slots = grads[n] = [None] * len(n.out_data)
                        heappush(heap, (-n.seq, n))
                if g is not None:
                    slots[idx] = g if slots[idx] is None else slots[idx] + g
    finally:
        _st.recording, _st.training = prev
    if boundary_seq is not None:
        return edge
    return {v: grads[v][0] for v in variables}


def _write_var_grad(var: VarNode, g):
    req = var.grad_req
    if req == "null":
        return
    holder = var.grad
    if holder.stype != "default":
        _write_sparse_grad(holder, g, req)
        var.fresh = True
        return
    buf = holder._data
    if g is None:
        if req == "write":
            buf[...] = 0
    elif req == "write":
        if _adoptable(g, buf):
            holder._data = g
        else:
            buf[...] = g
    else:
        buf += g
    var.fresh = True


def _write_sparse_grad(holder, g, req):
    """A gradient into a sparse buffer (``attach_grad(stype=...)``): the dense ``g`` is
    converted to the buffer's storage type (added to it for ``grad_req='add'``)."""
    if g is None:
        if req == "write":
            holder[:] = 0
        return
    new = NDArray(g, holder._ctx).tostype(holder.stype)
    holder._assign(new if req == "write" else holder + new)


# sys.getrefcount of a gradient held only by backward()'s local, _write_var_grad's and
# _adoptable's arguments (plus getrefcount's own); of a gradient buffer held only by its
# NDArray, _write_var_grad's local and _adoptable's argument (plus getrefcount's own)
_FREE_GRAD_REFS = 4
_FREE_BUF_REFS = 4


def _adoptable(g, buf) -> bool:
    """Whether the new gradient ``g`` can replace the buffer ``buf`` of ``.grad`` instead of
    being copied into it (``grad_req='write'``): ``g`` is a fresh array that nothing else
    references, laid out like ``buf``, and nothing but the gradient NDArray references
    ``buf`` (no view of it, no raw alias), so the swap cannot be observed except as the
    new values. Saves one copy of every parameter gradient per backward."""
    return (type(g) is type(buf) and g.shape == buf.shape and g.dtype == buf.dtype
            and g.base is None and g.flags.c_contiguous and g.flags.writeable
            and _sys.getrefcount(g) <= _FREE_GRAD_REFS
            and _sys.getrefcount(buf) <= _FREE_BUF_REFS)


def backward(heads, head_grads=None, retain_graph=False, train_mode=True):
    """Compute the gradients of ``heads`` (summed if not scalar) into the ``.grad`` of every
    variable they depend on, honouring each variable's ``grad_req``.

    As in MXNet, ``x.grad`` stays the same NDArray; with ``grad_req='write'`` a freshly
    computed gradient that nothing else holds may become its storage instead of being
    copied into it (when no view of the old storage exists)."""
    result = _run(heads, head_grads, retain_graph, False, train_mode)
    while result:
        # popped, so that the gradient's only holders are this frame and the callees'
        var, g = result.popitem()
        _write_var_grad(var, g)


def grad(heads, variables, head_grads=None, retain_graph=None, create_graph=False,
         train_mode=True):
    """Gradients of ``heads`` with respect to ``variables``, returned (not written to .grad).

    With ``create_graph=True`` the returned gradients are recorded, so they can be
    differentiated again (higher-order gradients). ``retain_graph`` defaults to
    ``create_graph``.
    """
    if retain_graph is None:
        retain_graph = create_graph
    single = isinstance(variables, NDArray)
    if single:
        variables = [variables]
    var_nodes = []
    for v in variables:
        e = v._entry if isinstance(v, NDArray) else None
        if e is None or type(e[0]) is not VarNode:
            raise MXNetError("autograd.grad: every variable must have been marked with "
                             "attach_grad() (or mark_variables) before recording")
        var_nodes.append(e[0])
    result = _run(heads, head_grads, retain_graph, create_graph, train_mode)
    out = []
    for v, vn in zip(variables, var_nodes):
        g = result.get(vn)
        if g is None:
            g = v._ctx.xp.zeros_like(v._data)
        if isinstance(g, NDArray):
            out.append(g)
        else:
            if g.dtype != v._data.dtype:
                g = g.astype(v._data.dtype)
            out.append(NDArray(g, v._ctx))
    return out


# --------------------------------------------------------------------------------------
# custom functions
class _FunctionOp:
    """Adapter giving an ``autograd.Function`` instance the operator interface of a Node."""

    __slots__ = ("func", "name", "n_in")

    def __init__(self, func, n_in):
        self.func = func
        self.name = type(func).__name__
        self.n_in = n_in

    def grad_fn(self, F, attrs, ins, outs, ogs, need):
        ctx = attrs["ctx"]
        raw = not (ogs and isinstance(ogs[0], NDArray))
        nd_ogs = [NDArray(g, ctx) if raw else g for g in ogs]
        with pause():
            res = self.func.backward(*nd_ogs)
        if isinstance(res, NDArray):
            res = (res,)
        res = tuple(res)
        if len(res) != self.n_in:
            raise MXNetError(f"{self.name}.backward returned {len(res)} gradients for "
                             f"{self.n_in} inputs")
        for r, x in zip(res, ins):
            if r is not None and not isinstance(r, NDArray):
                raise TypeError(f"{self.name}.backward must return NDArrays, "
                                f"got {type(r).__name__}")
        return tuple(None if r is None else (r._data if raw else r) for r in res)


class Function:
    """A user-defined differentiable function (MXNet's ``autograd.Function``).

    Subclass it, implement ``forward(self, *inputs)`` and ``backward(self, *output_grads)``
    on NDArrays, keep what backward needs with ``self.save_for_backward(...)`` and call an
    instance like a function. Both run with recording paused.
    """

    def __init__(self):
        self._used = False
        self.saved_tensors = ()

    def save_for_backward(self, *args):
        self.saved_tensors = args

    def __call__(self, *inputs):
        if self._used:
            raise MXNetError(f"Each {type(self).__name__} instance can only be called once; "
                             "create a new instance for every call")
        self._used = True
        for i, x in enumerate(inputs):
            if not isinstance(x, NDArray):
                raise TypeError(f"{type(self).__name__}: input {i} must be an NDArray, "
                                f"got {type(x).__name__}")
        with pause(train_mode=_st.training):
            outputs = self.forward(*inputs)
        single = isinstance(outputs, NDArray)
        outs = (outputs,) if single else tuple(outputs)
        if _st.recording and any(x._entry is not None for x in inputs):
            ctx = inputs[0]._ctx
            op = _FunctionOp(self, len(inputs))
            node = Node(op, {"ctx": ctx}, tuple(x._entry for x in inputs),
                        tuple(x._data for x in inputs), tuple(o._data for o in outs), ctx)
            for k, o in enumerate(outs):
                o._entry = (node, k)
        return outputs

    def forward(self, *inputs):
        raise NotImplementedError

    def backward(self, *output_grads):
        raise NotImplementedError
