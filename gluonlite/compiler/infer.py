"""Shape and dtype inference over the IR, from the operators' registered rules.

Works with partial knowledge, as MXNet's ``infer_shape``: unknown shapes are None and
shapes may have unknown (0) dimensions; rules also fill in the shapes of inputs they
determine (a FullyConnected weight from its data), which is how parameter shapes are found.
"""
from __future__ import annotations

from ..base import MXNetError

__all__ = ["infer_shapes", "infer_dtypes", "merge_shape"]


def _known(s):
    return s is not None and all(d > 0 for d in s)


def merge_shape(old, new, what):
    """Combine two partial shapes (0 = unknown dimension); error if they disagree."""
    if old is None:
        return tuple(new) if new is not None else None
    if new is None:
        return old
    new = tuple(new)
    if len(old) != len(new) or any(a and b and a != b for a, b in zip(old, new)):
        raise MXNetError(f"{what}: shape mismatch, {tuple(old)} vs {new}")
    return tuple(a or b for a, b in zip(old, new))


def infer_shapes(graph, max_passes=4):
    """Fill ``Var.shape`` everywhere it can be determined (in place); returns the graph."""
    for _ in range(max_passes):
        changed = False
        for e in graph.eqns:
            ins = [v.shape if _known(v.shape) else None for v in e.ins]
            try:
                new_ins, outs = e.op.infer_shape(e.attrs, ins)
            except MXNetError as err:
                raise MXNetError(f"shape inference failed at {e.op.name} "
                                 f"'{e.name or ''}': {err} (input shapes "
                                 f"{[v.shape for v in e.ins]})") from None
            for v, s in zip(e.ins, new_ins):
                if s is not None and not _known(v.shape):
                    v.shape = merge_shape(v.shape, s, f"input of {e.op.name} '{e.name}'")
                    changed = True
            for v, s in zip(e.outs, outs):
                if s is not None and v.shape != tuple(s):
                    if _known(v.shape):
                        raise MXNetError(f"{e.op.name} '{e.name}': output shape changed from "
                                         f"{v.shape} to {tuple(s)}")
                    v.shape = merge_shape(v.shape, s, f"output of {e.op.name}")
                    changed = True
        if not changed:
            break
    return graph


def infer_dtypes(graph, max_passes=4, check=False):
    """Fill ``Var.dtype`` (numpy dtype names) wherever it can be determined (in place).

    With ``check``, an operator whose inputs must share a dtype but do not raises the
    error the same call raises imperatively (a hybridized block fed float64 data with
    float32 weights fails as it does unhybridized, instead of computing in float64).
    """
    for _ in range(max_passes):
        changed = False
        for e in graph.eqns:
            ins = [v.dtype for v in e.ins]
            new_ins, outs = e.op.infer_type(e.attrs, ins)
            for v, t in zip(e.ins, new_ins):
                if t is not None and v.dtype is None:
                    v.dtype = t
                    changed = True
            for v, t in zip(e.outs, outs):
                if t is not None and v.dtype is None:
                    v.dtype = t
                    changed = True
        if not changed:
            break
    if check:
        for e in graph.eqns:
            _check_same_dtype(e)
    return graph


def _check_same_dtype(e):
    """Imperative ``invoke``'s dtype check, on an equation's inferred input dtypes."""
    op = e.op
    chk = [i for i in op._dtype_checked if i < len(e.ins)]
    dts = [e.ins[i].dtype for i in chk]
    if len(chk) < 2 or None in dts or all(d == dts[0] for d in dts):
        return
    names = op.input_names if op.variadic is None else [f"arg{i}" for i in range(len(e.ins))]
    parts = ", ".join(f"'{names[i]}' {d}" for i, d in zip(chk, dts))
    raise MXNetError(f"{op.name}: inputs must have the same dtype, got {parts}; convert "
                     "with .astype(...)")
