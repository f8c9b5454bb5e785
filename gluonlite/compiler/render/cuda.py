"""The GPU renderer: a fused kernel becomes CuPy ``ElementwiseKernel``/``ReductionKernel`` sources.

The same :class:`~gluonlite.compiler.fusion.FusedKernel` description the CPU renderer
reads is written as CUDA C: one ``ElementwiseKernel`` for the full-shape outputs (CuPy
broadcasts the inputs) and one ``ReductionKernel`` per reduced output (map: the formula;
reduce: ``a + b`` in double; post-map: the cast, divided by the count for a mean).
:func:`specs` returns the sources as plain data (tested without a GPU); :func:`build`
makes the CuPy kernels.
"""
from __future__ import annotations

import math

__all__ = ["specs", "build"]

_BIN = {"add": "({} + {})", "sub": "({} - {})", "mul": "({} * {})", "div": "({} / {})",
        # NaN-propagating, as numpy.maximum/minimum (fmax/fmin would drop the NaN)
        "max": "(({0} > {1} || isnan({0})) ? {0} : {1})",
        "min": "(({0} < {1} || isnan({0})) ? {0} : {1})"}
_CMP = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "==", "ne": "!="}
_UN = {"neg": "(-{})", "abs": "abs({})", "exp": "exp({})", "log": "log({})",
       "sqrt": "sqrt({})", "tanh": "tanh({})", "log1p": "log1p({})", "expm1": "expm1({})",
       "sign": "(T)(({0} > (T)0) - ({0} < (T)0))"}


def _const(v):
    if math.isnan(v):
        return "(T)NAN"
    if math.isinf(v):
        return "(T)(-INFINITY)" if v < 0 else "(T)INFINITY"
    return f"(T)({v!r})"


def _body(exprs):
    """Statements computing ``exprs`` (CSE by node identity); returns (lines, names)."""
    lines, names = [], {}

    def emit(e):
        key = id(e)
        if key in names:
            return names[key]
        if e.op == "in":
            r = f"x{e.value}"
        elif e.op == "const":
            r = _const(e.value)
        else:
            a = [emit(x) for x in e.args]
            if e.op in _BIN:
                txt = _BIN[e.op].format(*a)
            elif e.op in _UN:
                txt = _UN[e.op].format(*a)
            elif e.op in _CMP:
                txt = f"({a[0]} {_CMP[e.op]} {a[1]} ? (T)1 : (T)0)"
            elif e.op == "where":
                txt = f"({a[0]} != (T)0 ? {a[1]} : {a[2]})"
            else:
                raise ValueError(f"cuda renderer: unknown scalar operation {e.op!r}")
            r = f"t{len(lines)}"
            lines.append(f"T {r} = {txt};")
        names[key] = r
        return r

    outs = [emit(e) for e in exprs]
    return lines, outs


def specs(kernel) -> dict:
    """The CuPy kernel sources of ``kernel``: ``{'elementwise': (in_params, out_params,
    operation) or None, 'reductions': [(in_params, out_params, map_expr, reduce_expr,
    post_map_expr, identity, axes), ...]}``."""
    n_in = len(kernel.in_shapes)
    in_params = ", ".join(f"T x{k}" for k in range(n_in))
    ew = None
    if kernel.outputs:
        lines, outs = _body(kernel.outputs)
        lines += [f"o{k} = {o};" for k, o in enumerate(outs)]
        ew = (in_params, ", ".join(f"T o{k}" for k in range(len(outs))), " ".join(lines))
    reds = []
    for e, axes, mean, _ in kernel.reductions:
        lines, (o,) = _body([e])
        count = 1
        for a in axes:
            count *= kernel.shape[a]
        post = f"y = (T)(a / {float(count)!r})" if mean and count != 1 else "y = (T)a"
        # ReductionKernel's map_expr is one expression: wrap the statements in a lambda
        map_expr = f"([&]() -> double {{ {' '.join(lines)} return (double){o}; }})()" \
            if lines else f"(double){o}"
        reds.append((in_params, "T y", map_expr, "a + b", post, "0", tuple(axes)))
    return {"elementwise": ew, "reductions": reds}


def build(kernel, cupy):
    """``run(outputs, inputs)`` launching the CuPy kernels of ``kernel``."""
    sp = specs(kernel)
    ek = None
    if sp["elementwise"] is not None:
        ek = cupy.ElementwiseKernel(*sp["elementwise"], name="gluonlite_fused")
    rks = [(cupy.ReductionKernel(i, o, m, r, p, ident, name="gluonlite_fused_sum",
                                 reduce_type="double"), axes)
           for i, o, m, r, p, ident, axes in sp["reductions"]]
    n_out = len(kernel.outputs)
    full = kernel.shape

    def run(outs, ins):
        ins = [cupy.broadcast_to(x.reshape((1,) * (len(full) - x.ndim) + x.shape), full)
               for x in ins]
        if ek is not None:
            ek(*ins, *outs[:n_out])
        for (rk, axes), out in zip(rks, outs[n_out:]):
            rk(*ins, axis=axes, out=out.reshape(tuple(
                s for i, s in enumerate(full) if i not in axes) or (1,)))

    return run
