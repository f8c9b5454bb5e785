"""Code generation: an IR graph becomes one straight-line Python function.

Each equation becomes its operator's lowered expression (:mod:`.lower`: the computation
itself, specialised to the known shapes and dtypes) or, for operators without one, a call
of the operator's forward with the attributes written as literals (or bound constants) —
in topological order, with no dispatch, no tape and no NDArray wrapping. Values are
released (``del``) right after their last use so a long graph does not keep every
intermediate alive. Lowerings that write into given arrays (:class:`~.lower.Writes`: fused
kernels, GEMMs) get them from the memory plan (:mod:`.memplan`): buffers bound once as
globals of the function with ``static_alloc``, else allocated at the start of each call.
The generated source is kept on the function (``fn.__source__``) and the plan on
``fn.__plan__``, for inspection and tests.
"""
from __future__ import annotations

import math

from ..base import MXNetError
from . import memplan
from .lower import Lowering, Writes, lower

__all__ = ["generate", "compile_function"]


def _literal(v):
    if v is None or isinstance(v, (bool, int, str)):
        return repr(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else None
    if isinstance(v, tuple):
        parts = [_literal(x) for x in v]
        if any(p is None for p in parts):
            return None
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    return None


def generate(inputs, eqns, outputs, name="run", rt=None, static_alloc=False):
    """Source text, globals and memory plan of ``def name(rt, *inputs) -> tuple(outputs)``.
    With the runtime ``rt`` the code is written for (its array module), operators are
    lowered and results of :class:`~.lower.Writes` lowerings placed by the memory plan."""
    env = {}
    low = Lowering(env, rt) if rt is not None else None
    exprs = [lower(low, e) if low is not None else None for e in eqns]
    writes = {k: x for k, x in enumerate(exprs) if isinstance(x, Writes)}
    fresh = {k for k, x in enumerate(exprs) if x is not None and not isinstance(x, Writes)
             and not ({"view", "reshape"} & eqns[k].op.tags)}
    plan = memplan.plan(inputs, eqns, outputs, writes, fresh)
    memplan.check(inputs, eqns, outputs, writes, plan, fresh)
    names = {}
    for i, v in enumerate(inputs):
        names[v.id] = f"a{i}"

    def ref(v):
        n = names.get(v.id)
        if n is not None:
            return n
        if v.const is not None:
            n = f"C{len(env)}"
            env[n] = v.const
            names[v.id] = n
            return n
        raise ValueError(f"value {v!r} is used before it is computed")

    # last use of every value, to free it early
    last = {}
    for k, e in enumerate(eqns):
        for v in e.ins:
            last[v.id] = k
    out_ids = {v.id for v in outputs}
    input_ids = {v.id for v in inputs}

    lines = [f"def {name}(rt{''.join(', ' + names[v.id] for v in inputs)}):"]
    owner = [None]  # per line: (operator name, node name, input value names) or None
    for b, (shape, dt) in enumerate(plan.buffers):
        if static_alloc:
            env[f"B{b}"] = rt.xp.empty(shape, dt)
        else:
            lines.append(f"    B{b} = xp.empty({shape!r}, {low.dtype(dt)})")
    counter = 0

    def name_outs(e):
        nonlocal counter
        outs = []
        for v in e.outs:
            names[v.id] = f"v{counter}"
            outs.append(names[v.id])
            counter += 1
        return outs

    for k, e in enumerate(eqns):
        expr = exprs[k]
        owner.extend([None] * (len(lines) - len(owner)))
        first = len(lines)
        if isinstance(expr, Writes):
            outs = name_outs(e)
            for v, n in zip(e.outs, outs):
                b = plan.assign.get(v.id)
                alloc = f"B{b}" if b is not None else \
                    f"xp.empty({tuple(v.shape)!r}, {low.dtype(v.dtype)})"
                lines.append(f"    {n} = {alloc}")
            lines.append("    " + expr.format(*[ref(v) for v in e.ins],
                                                **{f"o{j}": o for j, o in enumerate(outs)}))
        elif expr is not None:
            expr = expr.format(*[ref(v) for v in e.ins])
        else:
            opname = f"O{len(env)}"
            env[opname] = e.op
            args = ["rt"] + [ref(v) for v in e.ins]
            for key, val in e.attrs.items():
                lit = _literal(val)
                if lit is None:
                    cname = f"C{len(env)}"
                    env[cname] = val
                    lit = cname
                args.append(f"{key}={lit}")
            expr = f"{opname}.fwd({', '.join(args)})"
            if len(e.outs) == 1 and callable(e.op._num_outputs):
                # an operator whose output count depends on its attributes may return a
                # 1-tuple (split with num_outputs=1), as imperative invoke accepts
                env["_gl_one"] = _one
                expr = f"_gl_one({expr})"
        if not isinstance(expr, Writes):
            outs = name_outs(e)
            target = outs[0] if len(outs) == 1 else ", ".join(outs)
            lines.append(f"    {target} = {expr}")
        tag = (e.op.name, e.name, [ref(v) for v in e.ins])
        owner.extend([tag] * (len(lines) - first))
        dead = [names[v.id] for v in dict.fromkeys(e.ins)
                if last.get(v.id) == k and v.id not in out_ids and v.id not in input_ids
                and v.const is None]
        dead += [names[v.id] for v in e.outs if v.id not in last and v.id not in out_ids]
        if dead:
            lines.append(f"    del {', '.join(dead)}")
    rets = [ref(v) for v in outputs]
    lines.append(f"    return ({', '.join(rets)}{',' if len(rets) == 1 else ''})")
    owner.extend([None] * (len(lines) - len(owner)))
    # The body runs inside try/except (free in CPython 3.11 until something raises) so an
    # operator failing at run time, e.g. on a batch of 0 rows, is named as imperative
    # calls name it instead of surfacing as a bare NumPy error from generated code.
    body = ["    " + ln for ln in lines[1:]]
    where = {i + 3: tag for i, tag in enumerate(owner[1:]) if tag is not None}
    env["_GL_ERRORS"] = _WRAPPED
    env["_gl_op_error"] = lambda err: _op_error(err, where)
    src = "\n".join([lines[0], "    try:"] + body + [
        "    except _GL_ERRORS as _gl_err:",
        "        _gl_named = _gl_op_error(_gl_err)",
        "        if _gl_named is _gl_err:",
        "            raise",
        "        raise _gl_named from _gl_err"]) + "\n"
    return src, env, plan


def _one(res):
    """The single output of a forward that may return it as a 1-tuple."""
    return res[0] if type(res) is tuple else res


# what imperative ``invoke`` reports as ``MXNetError`` naming the operator
_WRAPPED = (ValueError, TypeError, ZeroDivisionError, OverflowError)


def _op_error(err, where):
    """``err`` raised in a compiled function, as ``MXNetError`` naming the operator of the
    line that raised it (``err`` itself when the line is not an operator's)."""
    tb = err.__traceback__
    tag = where.get(tb.tb_lineno) if tb is not None else None
    if tag is None:
        return err
    opname, node, args = tag
    local = tb.tb_frame.f_locals
    shapes = ", ".join(str(tuple(getattr(local.get(a), "shape", ()))) for a in args)
    return MXNetError(f"{opname}: {err} (hybridized node {node!r}; input shapes: {shapes})")


def compile_function(inputs, eqns, outputs, name="run", rt=None, static_alloc=False):
    """Compile the graph to a Python function ``f(rt, *inputs) -> tuple`` (lowered for
    ``rt``'s array module when given; planned buffers kept across calls with
    ``static_alloc``)."""
    src, env, plan = generate(inputs, eqns, outputs, name, rt, static_alloc)
    code = compile(src, f"<gluonlite-compiled {name}>", "exec")
    exec(code, env)
    fn = env[name]
    fn.__source__ = src
    fn.__plan__ = plan
    return fn
