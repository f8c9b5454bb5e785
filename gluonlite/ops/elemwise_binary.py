"""Binary elementwise math in MXNet's three flavours, from one kernel and one gradient each:

* ``elemwise_add(lhs, rhs)`` & co. — equal shapes required;
* ``broadcast_add(lhs, rhs)`` & co. — NumPy broadcasting; gradients are summed back to each
  input's shape with ``_reduce_sum_like``;
* ``_plus_scalar(data, scalar)`` & co. — the scalar is cast to the array's dtype first, as
  MXNet does (``int32 * 1.5`` multiplies by 1).

Comparisons and logical operators return the input dtype holding 0/1, as MXNet does, and
have zero gradient.
"""
from __future__ import annotations

from ..base import MXNetError
from .attrs import Float, Int
from .registry import register, shape_same, shape_broadcast, ZERO_GRAD

__all__ = []


# --- kernels (rt, a, b) -> array of a's dtype ------------------------------------------------
def _add(rt, a, b):
    return a + b


def _sub(rt, a, b):
    return a - b


def _mul(rt, a, b):
    return a * b


def _div(rt, a, b):
    if a.dtype.kind in "iub":
        # C-style integer division truncates towards zero
        with rt_errstate(rt):
            return rt.xp.trunc(rt.xp.true_divide(a, b)).astype(a.dtype)
    return a / b


def _mod(rt, a, b):
    # Python-style modulo (sign of the divisor), and x mod 0 = 0, as mshadow_op::mod
    xp = rt.xp
    with rt_errstate(rt):
        r = xp.mod(a, b)
    return xp.where(b == 0, xp.zeros((), r.dtype), r).astype(a.dtype, copy=False)


def _power(rt, a, b):
    with rt_errstate(rt):
        return rt.xp.power(a, b)


def _maximum(rt, a, b):
    return rt.xp.maximum(a, b)


def _minimum(rt, a, b):
    return rt.xp.minimum(a, b)


def _hypot(rt, a, b):
    return rt.xp.hypot(a, b)


def _cmp(fn):
    def k(rt, a, b):
        return fn(a, b).astype(a.dtype)
    return k


def _logical(name):
    def k(rt, a, b):
        return getattr(rt.xp, name)(a != 0, b != 0).astype(a.dtype)
    return k


class rt_errstate:
    """Silence numpy's floating point warnings where MXNet silently yields inf/nan."""

    __slots__ = ("_cm",)

    def __init__(self, rt):
        es = getattr(rt.xp, "errstate", None)
        self._cm = es(all="ignore") if es is not None else None

    def __enter__(self):
        if self._cm is not None:
            self._cm.__enter__()

    def __exit__(self, *exc):
        if self._cm is not None:
            self._cm.__exit__(*exc)


# --- gradients (F, a, b, y, g) -> (grad_a, grad_b) ---------------------------------------------
def _d_add(F, a, b, y, g):
    return g, g


def _d_sub(F, a, b, y, g):
    return g, -g


def _d_mul(F, a, b, y, g):
    return g * b, g * a


def _d_div(F, a, b, y, g):
    return g / b, -g * y / b


def _d_mod(F, a, b, y, g):
    return g, -g * F.floor(a / b)


def _d_power(F, a, b, y, g):
    return g * b * a ** (b - 1.0), g * y * F.log(a)


def _d_maximum(F, a, b, y, g):
    return g * (a >= b), g * (a < b)


def _d_minimum(F, a, b, y, g):
    return g * (a <= b), g * (a > b)


def _d_hypot(F, a, b, y, g):
    return g * a / y, g * b / y


# name, kernel, gradient (None = zero gradient), elemwise name + aliases, broadcast aliases
_BINARY = [
    ("add", _add, _d_add, "elemwise_add", ("_add", "_plus", "_Plus"), ("broadcast_plus",)),
    ("sub", _sub, _d_sub, "elemwise_sub", ("_sub", "_minus", "_Minus"), ("broadcast_minus",)),
    ("mul", _mul, _d_mul, "elemwise_mul", ("_mul", "_Mul"), ()),
    ("div", _div, _d_div, "elemwise_div", ("_div", "_Div"), ()),
    ("mod", _mod, _d_mod, "_mod", ("_Mod",), ()),
    ("power", _power, _d_power, "_power", ("_Power",), ()),
    ("maximum", _maximum, _d_maximum, "_maximum", ("_Maximum",), ()),
    ("minimum", _minimum, _d_minimum, "_minimum", ("_Minimum",), ()),
    ("hypot", _hypot, _d_hypot, "_hypot", ("_Hypot",), ()),
    ("equal", _cmp(lambda a, b: a == b), None, "_equal", ("_Equal",), ()),
    ("not_equal", _cmp(lambda a, b: a != b), None, "_not_equal", ("_Not_Equal",), ()),
    ("greater", _cmp(lambda a, b: a > b), None, "_greater", ("_Greater",), ()),
    ("greater_equal", _cmp(lambda a, b: a >= b), None, "_greater_equal", ("_Greater_Equal",), ()),
    ("lesser", _cmp(lambda a, b: a < b), None, "_lesser", ("_Lesser",), ()),
    ("lesser_equal", _cmp(lambda a, b: a <= b), None, "_lesser_equal", ("_Lesser_Equal",), ()),
    ("logical_and", _logical("logical_and"), None, "_logical_and", ("_Logical_And",), ()),
    ("logical_or", _logical("logical_or"), None, "_logical_or", ("_Logical_Or",), ()),
    ("logical_xor", _logical("logical_xor"), None, "_logical_xor", ("_Logical_Xor",), ()),
]


# --- lowering (the compiler's expressions, equal to the kernels above) -------------------------
_FLOATS = ("float16", "float32", "float64")
_ARITH = {"add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})",
          "div": "({0} / {1})", "maximum": "xp.maximum({0}, {1})",
          "minimum": "xp.minimum({0}, {1})", "hypot": "xp.hypot({0}, {1})"}
_COMPARE = {"equal": "==", "not_equal": "!=", "greater": ">", "greater_equal": ">=",
            "lesser": "<", "lesser_equal": "<="}


def _binary_lowering(name):
    """``(L, attrs, ins, outs) -> str`` for the binary operator ``name`` (arrays of one
    dtype; division and hypot of floats only, as the integer kernels differ)."""
    def lower(L, a, ins, outs):
        dt = ins[0].dtype
        if ins[1].dtype != dt:
            return None
        if name in _ARITH:
            if name in ("div", "hypot") and dt not in _FLOATS:
                return None
            return _ARITH[name]
        if name in _COMPARE:
            return f"({{0}} {_COMPARE[name]} {{1}}).astype({L.dtype(dt)})"
        return None
    return lower


_FUSE = {"add": lambda E, a, b: a + b, "sub": lambda E, a, b: a - b,
         "mul": lambda E, a, b: a * b, "div": lambda E, a, b: a / b,
         "maximum": lambda E, a, b: E.max(a, b), "minimum": lambda E, a, b: E.min(a, b),
         "equal": lambda E, a, b: E.eq(a, b), "not_equal": lambda E, a, b: E.ne(a, b),
         "greater": lambda E, a, b: E.gt(a, b), "greater_equal": lambda E, a, b: E.ge(a, b),
         "lesser": lambda E, a, b: E.lt(a, b), "lesser_equal": lambda E, a, b: E.le(a, b)}


def _binary_fuse(name):
    """The per-element formula of binary operator ``name`` for fused kernels (None for
    those without one: mod, power, hypot and the logical operators)."""
    f = _FUSE.get(name)
    return None if f is None else (lambda E, a, x, y: f(E, x, y))


def _scalar_lowering(template, floats_only=False):
    """Lowering of a scalar operator: ``template`` with ``{0}`` the array and ``{s}`` the
    scalar (cast to the array's dtype, as the kernels do); ``{d}`` is the dtype."""
    def lower(L, a, ins, outs):
        dt = ins[0].dtype
        if floats_only and dt not in _FLOATS:
            return None
        return template.replace("{s}", L.scalar(a["scalar"], dt)).replace("{d}", L.dtype(dt))
    return lower


def _make_elemwise(name, kernel, grad, ew_name, ew_aliases):
    def fwd(rt, lhs, rhs):
        if lhs.shape != rhs.shape:
            raise MXNetError(f"{ew_name}: lhs and rhs must have the same shape, got "
                             f"{tuple(lhs.shape)} and {tuple(rhs.shape)}; use broadcast_{name} "
                             "to broadcast")
        return kernel(rt, lhs, rhs)

    fwd.__doc__ = f"Elementwise {name} of two arrays of equal shape (MXNet's ``{ew_name}``)."
    op = register(ew_name, aliases=ew_aliases, shape=shape_same,
                  tags=("elemwise", "binary"))(fwd)
    op.lowering(_binary_lowering(name))
    if name in _FUSE:
        op.elementwise(_binary_fuse(name))
    if grad is None:
        op.grad_fn = ZERO_GRAD
    else:
        op.gradient(lambda F, a, ins, outs, ogs, need: grad(F, ins[0], ins[1], outs[0], ogs[0]))


def _make_broadcast(name, kernel, grad, aliases):
    bname = "broadcast_" + name

    def fwd(rt, lhs, rhs):
        return kernel(rt, lhs, rhs)

    fwd.__doc__ = (f"Elementwise {name} with NumPy broadcasting (MXNet's ``{bname}``; "
                   "the ``+ - * / % **`` and comparison operators of NDArray).")
    op = register(bname, aliases=aliases, shape=shape_broadcast,
                  tags=("broadcast", "binary"))(fwd)
    op.lowering(_binary_lowering(name))
    if name in _FUSE:
        op.elementwise(_binary_fuse(name))
    if grad is None:
        op.grad_fn = ZERO_GRAD
        return

    @op.gradient
    def _(F, a, ins, outs, ogs, need):
        lhs, rhs = ins
        ga, gb = grad(F, lhs, rhs, outs[0], ogs[0])
        return (F._reduce_sum_like(ga, lhs) if need[0] else None,
                F._reduce_sum_like(gb, rhs) if need[1] else None)


for _n, _k, _g, _ew, _ewa, _ba in _BINARY:
    _make_elemwise(_n, _k, _g, _ew, _ewa)
    _make_broadcast(_n, _k, _g, _ba)


# --- scalar variants -----------------------------------------------------------------------
def _make_scalar(name, kernel, dx, aliases=(), doc=None, lower=None, fuse=None):
    def fwd(rt, data, *, scalar: Float):
        return kernel(rt, data, data.dtype.type(scalar))

    fwd.__doc__ = doc or f"{name} with a scalar (MXNet's ``{name}``)."
    op = register(name, aliases=aliases, shape=shape_same, tags=("elemwise", "scalar"))(fwd)
    if lower is not None:
        op.lowering(lower)
    if fuse is not None:
        op.elementwise(lambda E, a, x: fuse(E, x, E.const(a["scalar"])))
    if dx is None:
        op.grad_fn = ZERO_GRAD
    else:
        op.gradient(lambda F, a, ins, outs, ogs, need:
                    (dx(F, ins[0], outs[0], ogs[0], a["scalar"]),))
    return op


def _swap(kernel):
    return lambda rt, x, s: kernel(rt, rt.xp.full_like(x, s), x)


_make_scalar("_plus_scalar", _add, lambda F, x, y, g, s: g, aliases=("_PlusScalar",),
             lower=_scalar_lowering("({0} + {s})"), fuse=lambda E, x, s: x + s)
_make_scalar("_minus_scalar", _sub, lambda F, x, y, g, s: g, aliases=("_MinusScalar",),
             lower=_scalar_lowering("({0} - {s})"), fuse=lambda E, x, s: x - s)
_make_scalar("_rminus_scalar", lambda rt, x, s: s - x, lambda F, x, y, g, s: -g,
             aliases=("_RMinusScalar",),
             lower=_scalar_lowering("({s} - {0})"), fuse=lambda E, x, s: s - x)
_make_scalar("_mul_scalar", _mul, lambda F, x, y, g, s: g * s, aliases=("_MulScalar",),
             lower=_scalar_lowering("({0} * {s})"), fuse=lambda E, x, s: x * s)
_make_scalar("_div_scalar", _div, lambda F, x, y, g, s: g / s, aliases=("_DivScalar",),
             lower=_scalar_lowering("({0} / {s})", floats_only=True),
             fuse=lambda E, x, s: x / s)
_make_scalar("_rdiv_scalar", _swap(_div), lambda F, x, y, g, s: -g * y / x,
             aliases=("_RDivScalar",),
             lower=_scalar_lowering("({s} / {0})", floats_only=True),
             fuse=lambda E, x, s: s / x)
_make_scalar("_mod_scalar", _mod, lambda F, x, y, g, s: g, aliases=("_ModScalar",))
_make_scalar("_rmod_scalar", _swap(_mod), lambda F, x, y, g, s: -g * F.floor(s / x),
             aliases=("_RModScalar",))
_make_scalar("_power_scalar", _power, lambda F, x, y, g, s: g * s * x ** (s - 1.0),
             aliases=("_PowerScalar",))
_make_scalar("_rpower_scalar", _swap(_power), lambda F, x, y, g, s: g * y * _log(s),
             aliases=("_RPowerScalar",))
_make_scalar("_maximum_scalar", _maximum, lambda F, x, y, g, s: g * (x >= s),
             aliases=("_MaximumScalar",),
             lower=_scalar_lowering("xp.maximum({0}, {s})"), fuse=lambda E, x, s: E.max(x, s))
_make_scalar("_minimum_scalar", _minimum, lambda F, x, y, g, s: g * (x <= s),
             aliases=("_MinimumScalar",),
             lower=_scalar_lowering("xp.minimum({0}, {s})"), fuse=lambda E, x, s: E.min(x, s))
_make_scalar("_hypot_scalar", _hypot, lambda F, x, y, g, s: g * x / y,
             aliases=("_HypotScalar",))
for _n, _fn, _sym, _fe in [("_equal_scalar", lambda a, b: a == b, "==", "eq"),
                           ("_not_equal_scalar", lambda a, b: a != b, "!=", "ne"),
                           ("_greater_scalar", lambda a, b: a > b, ">", "gt"),
                           ("_greater_equal_scalar", lambda a, b: a >= b, ">=", "ge"),
                           ("_lesser_scalar", lambda a, b: a < b, "<", "lt"),
                           ("_lesser_equal_scalar", lambda a, b: a <= b, "<=", "le")]:
    _make_scalar(_n, _cmp(_fn), None,
                 lower=_scalar_lowering(f"({{0}} {_sym} {{s}}).astype({{d}})"),
                 fuse=(lambda f: lambda E, x, s: getattr(E, f)(x, s))(_fe))
for _n in ("logical_and", "logical_or", "logical_xor"):
    _make_scalar(f"_{_n}_scalar", _logical(_n), None)


def _log(s):
    import math
    return math.log(s) if s > 0 else float("nan")


# --- n-ary sum -------------------------------------------------------------------------------
@register("add_n", aliases=("ElementWiseSum",), tags=("elemwise",),
          shape=shape_same)
def add_n(rt, *args, num_args: Int = 0):
    """Sum of any number of arrays of equal shape (MXNet's ``add_n``/``ElementWiseSum``)."""
    if not args:
        raise MXNetError("add_n: needs at least one input")
    out = args[0].copy()
    for a in args[1:]:
        if a.shape != out.shape:
            raise MXNetError(f"add_n: all inputs must have the same shape, got "
                             f"{tuple(out.shape)} and {tuple(a.shape)}")
        out += a
    return out


@add_n.gradient
def _(F, a, ins, outs, ogs, need):
    return tuple(ogs[0] for _ in ins)

