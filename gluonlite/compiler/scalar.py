"""Scalar expressions: what one element of an elementwise operator computes.

An elementwise operator declares ``@op.elementwise``, a function ``(E, attrs, *xs) -> Expr |
None`` building its per-element formula from its inputs' expressions with this module's
builder ``E`` (Python operators ``+ - * /`` and unary ``-`` work on :class:`Expr`; ``E.max``,
``E.exp``, ``E.gt``, ``E.where``, ... cover the rest). The fusion pass
(:mod:`gluonlite.compiler.fusion`) chains these formulas into one kernel, and each backend
renders the same :class:`Expr` DAG in its own language (:mod:`gluonlite.compiler.render`).

Semantics follow the NumPy kernels they replace: every value has the computation dtype
(float32 or float64), constants are cast to it, comparisons give 1 or 0 *of that dtype*
(MXNet's comparison operators return the input dtype), ``max``/``min`` propagate NaN like
``numpy.maximum``/``minimum``, and ``where(c, a, b)`` picks ``a`` where ``c != 0``.
"""
from __future__ import annotations

__all__ = ["Expr", "E", "UNARY", "BINARY", "COMPARE", "evaluate"]

UNARY = ("neg", "abs", "exp", "log", "sqrt", "tanh", "log1p", "expm1", "sign")
BINARY = ("add", "sub", "mul", "div", "max", "min")
COMPARE = ("gt", "ge", "lt", "le", "eq", "ne")


class Expr:
    """One node of a scalar expression DAG: ``op`` applied to ``args`` (Exprs), an input
    (``op == 'in'``, ``value`` its position) or a constant (``op == 'const'``)."""

    __slots__ = ("op", "args", "value")

    def __init__(self, op: str, args=(), value=None):
        self.op = op
        self.args = tuple(args)
        self.value = value

    # Python operators build nodes, so formulas read like the NumPy code they replace
    def __add__(self, o):
        return Expr("add", (self, _e(o)))

    def __radd__(self, o):
        return Expr("add", (_e(o), self))

    def __sub__(self, o):
        return Expr("sub", (self, _e(o)))

    def __rsub__(self, o):
        return Expr("sub", (_e(o), self))

    def __mul__(self, o):
        return Expr("mul", (self, _e(o)))

    def __rmul__(self, o):
        return Expr("mul", (_e(o), self))

    def __truediv__(self, o):
        return Expr("div", (self, _e(o)))

    def __rtruediv__(self, o):
        return Expr("div", (_e(o), self))

    def __neg__(self):
        return Expr("neg", (self,))

    def __str__(self):
        if self.op == "in":
            return f"x{self.value}"
        if self.op == "const":
            return repr(float(self.value))
        return f"{self.op}({','.join(str(a) for a in self.args)})"

    __repr__ = __str__


def _e(v) -> Expr:
    if isinstance(v, Expr):
        return v
    if isinstance(v, (bool, int, float)):
        return Expr("const", value=float(v))
    raise TypeError(f"scalar expression: expected an Expr or a number, got {type(v).__name__}")


class _Builder:
    """The ``E`` handed to ``@op.elementwise`` functions."""

    Expr = Expr

    @staticmethod
    def const(v) -> Expr:
        return Expr("const", value=float(v))

    @staticmethod
    def where(c, a, b) -> Expr:
        return Expr("where", (_e(c), _e(a), _e(b)))

    def __getattr__(self, name):
        if name in UNARY:
            return lambda a: Expr(name, (_e(a),))
        if name in BINARY or name in COMPARE:
            return lambda a, b: Expr(name, (_e(a), _e(b)))
        raise AttributeError(f"scalar expressions have no operation {name!r}")


E = _Builder()


def evaluate(expr: Expr, xs, xp, dtype, memo=None):
    """Evaluate ``expr`` on arrays ``xs`` with array module ``xp`` (the reference the
    rendered kernels are tested against). Broadcasting follows ``xp``."""
    memo = {} if memo is None else memo
    key = id(expr)
    if key in memo:
        return memo[key]
    import numpy as np
    dt = np.dtype(dtype)
    op = expr.op
    if op == "in":
        r = xs[expr.value]
    elif op == "const":
        r = dt.type(expr.value)
    else:
        a = [evaluate(x, xs, xp, dtype, memo) for x in expr.args]
        if op in COMPARE:
            f = {"gt": xp.greater, "ge": xp.greater_equal, "lt": xp.less,
                 "le": xp.less_equal, "eq": xp.equal, "ne": xp.not_equal}[op]
            r = f(a[0], a[1]).astype(dt)
        elif op == "where":
            r = xp.where(a[0] != 0, a[1], a[2])
        else:
            f = {"add": xp.add, "sub": xp.subtract, "mul": xp.multiply, "div": xp.divide,
                 "max": xp.maximum, "min": xp.minimum, "neg": xp.negative, "abs": xp.abs,
                 "exp": xp.exp, "log": xp.log, "sqrt": xp.sqrt, "tanh": xp.tanh,
                 "log1p": xp.log1p, "expm1": xp.expm1, "sign": xp.sign}[op]
            r = f(*a)
        r = xp.asarray(r).astype(dt, copy=False)
    memo[key] = r
    return r
