"""``Symbol.infer_shape`` / ``infer_type`` on top of the compiler's IR inference."""
from __future__ import annotations

import numpy as np

from ..base import MXNetError, np_dtype
from ..util import is_np_shape

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


def _given_shape(name, s, np_shape):
    """A user-given shape in the compiler's form (-1 unknown dimension, None unknown)."""
    if isinstance(s, int) and not isinstance(s, bool):
        s = (s,)
    if not isinstance(s, (tuple, list)) or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in s):
        raise TypeError(f"infer_shape: the shape of {name!r} must be a tuple of ints, got "
                        f"{s!r}")
    low = -1 if np_shape else 0
    if any(d < low for d in s):
        raise MXNetError(f"infer_shape: the shape of {name!r} is {tuple(s)}; dimensions must "
                         f"be >= {low} ({'-1' if np_shape else '0'} = unknown)")
    if np_shape:
        return tuple(s)
    # legacy semantics: () is an unknown shape and 0 an unknown dimension
    return tuple(d if d > 0 else -1 for d in s) if s else None


def _shown(shape, np_shape):
    """A shape as MXNet returns it: legacy: unknown () and unknown dimensions 0; NumPy
    semantics: unknown None and unknown dimensions -1."""
    if shape is None:
        return None if np_shape else ()
    return tuple(shape) if np_shape else tuple(max(d, 0) for d in shape)


def infer_shapes(sym, args, kwargs, partial):
    """``Symbol.infer_shape`` (``partial=False``: ``(None, None, None)`` unless every shape
    is complete) and ``infer_shape_partial``, with MXNet's unknown-shape conventions for the
    current shape semantics (:mod:`gluonlite.util`)."""
    from ..compiler.ir import from_symbol
    from ..compiler.infer import infer_shapes as run, merge_shape
    np_shape = is_np_shape()
    graph, aux_names = from_symbol(sym)
    given = _bind_inputs(sym, graph, aux_names, args, kwargs, "infer_shape")
    for v in graph.inputs:
        if v.name in given:
            s = _given_shape(v.name, given[v.name], np_shape)
            v.shape = merge_shape(v.shape, s, f"input {v.name!r}")
    run(graph)
    arg = [v.shape for v in graph.inputs if v.name not in aux_names]
    aux = [v.shape for v in graph.inputs if v.name in aux_names]
    out = [v.shape for v in graph.outputs]
    if not partial and any(s is None or any(d < 0 for d in s) for s in arg + aux + out):
        return None, None, None
    if not partial and not np_shape and any(not s or 0 in s for s in arg + aux + out):
        # legacy semantics cannot show a complete shape with a 0 or () in it
        return None, None, None
    return ([_shown(s, np_shape) for s in arg], [_shown(s, np_shape) for s in out],
            [_shown(s, np_shape) for s in aux])


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
