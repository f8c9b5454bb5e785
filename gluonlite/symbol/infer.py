"""``Symbol.infer_shape`` / ``infer_type`` on top of the compiler's IR inference."""
from __future__ import annotations

import numpy as np

from ..base import MXNetError, np_dtype

__all__ = ["infer_shapes", "infer_types"]


def _bind_inputs(sym, graph, aux_names, args, kwargs, what):
    arg_names = [v.name for v in graph.inputs if v.name not in aux_names]
    if args and kwargs:
        raise MXNetError(f"{what}: give the inputs either positionally or by name, not both")
    if len(args) > len(arg_names):
        raise MXNetError(f"{what}: {len(args)} positional inputs for {len(arg_names)} "
                         f"arguments {arg_names}")
    given = dict(zip(arg_names, args))
    names = {v.name for v in graph.inputs}
    for k, v in kwargs.items():
        if k not in names:
            raise MXNetError(f"{what}: {k!r} is not an input of the symbol; inputs are "
                             f"{sorted(names)}")
        given[k] = v
    return {k: v for k, v in given.items() if v is not None}


def infer_shapes(sym, args, kwargs, partial):
    from ..compiler.ir import from_symbol
    from ..compiler.infer import infer_shapes as run, merge_shape
    graph, aux_names = from_symbol(sym)
    given = _bind_inputs(sym, graph, aux_names, args, kwargs, "infer_shape")
    for v in graph.inputs:
        if v.name in given:
            s = given[v.name]
            s = (s,) if isinstance(s, int) else tuple(s)
            v.shape = merge_shape(v.shape, s, f"input {v.name!r}")
    run(graph)

    def fmt(v):
        if v.shape is None:
            return ()
        return tuple(v.shape)

    arg = [fmt(v) for v in graph.inputs if v.name not in aux_names]
    aux = [fmt(v) for v in graph.inputs if v.name in aux_names]
    out = [fmt(v) for v in graph.outputs]
    if not partial and any(not s or 0 in s for s in arg + aux + out):
        return None, None, None
    return arg, out, aux


def infer_types(sym, args, kwargs):
    from ..compiler.ir import from_symbol
    from ..compiler.infer import infer_dtypes
    graph, aux_names = from_symbol(sym)
    given = _bind_inputs(sym, graph, aux_names, args, kwargs, "infer_type")
    for v in graph.inputs:
        if v.name in given:
            v.dtype = np_dtype(given[v.name], f"dtype of {v.name}").name
    infer_dtypes(graph)

    def fmt(v):
        return None if v.dtype is None else np.dtype(v.dtype).type

    arg = [fmt(v) for v in graph.inputs if v.name not in aux_names]
    aux = [fmt(v) for v in graph.inputs if v.name in aux_names]
    out = [fmt(v) for v in graph.outputs]
    if any(t is None for t in arg + aux + out):
        return None, None, None
    return arg, out, aux
