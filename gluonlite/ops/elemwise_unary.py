"""Elementwise unary math (MXNet's ``exp``, ``sqrt``, ``relu``, ``floor``, ...).

Each operator is one line of forward and one line of gradient, side by side. The
gradient ``dx(F, x, y, g)`` maps the input ``x``, output ``y`` and output gradient ``g``
to the input gradient using Python operators and ``F.<op>`` only, so it works on raw
arrays, NDArrays and Symbols alike. Outputs keep the input dtype, as in MXNet.
"""
from __future__ import annotations

import math

from .registry import register, shape_same, ZERO_GRAD

__all__ = []

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0


_FLOATS = ("float16", "float32", "float64")


def _unary(name, f, dx=None, *, zero_grad=False, aliases=(), doc=None, lower=None, fuse=None):
    """Register ``name(data)`` computing ``f(rt, data)``; ``dx`` is its gradient rule;
    ``lower`` the compiler's expression for floating point data (``{0}`` is the input,
    ``xp`` the array module), which must compute exactly what ``f`` does; ``fuse(E, x)``
    its per-element formula for fused kernels (:mod:`gluonlite.compiler.scalar`)."""

    def fwd(rt, data):
        r = f(rt, data)
        if r.dtype != data.dtype:
            r = r.astype(data.dtype)
        return r

    fwd.__doc__ = doc or f"Elementwise {name} (MXNet's ``{name}``)."
    op = register(name, aliases=aliases, shape=shape_same, tags=("elemwise", "unary"))(fwd)
    if zero_grad:
        op.grad_fn = ZERO_GRAD
    elif dx is not None:
        op.gradient(lambda F, a, ins, outs, ogs, need: (dx(F, ins[0], outs[0], ogs[0]),))
    if lower is not None:
        op.lowering(lambda L, a, ins, outs: lower if ins[0].dtype in _FLOATS else None)
    if fuse is not None:
        op.elementwise(lambda E, a, x: fuse(E, x))
    return op


def _sqr(v):
    return v * v


# --- sign, magnitude, rounding ---------------------------------------------------------
_unary("abs", lambda rt, x: rt.xp.abs(x), lambda F, x, y, g: g * F.sign(x),
       lower="xp.abs({0})", fuse=lambda E, x: E.abs(x))
_unary("sign", lambda rt, x: rt.xp.sign(x), zero_grad=True, fuse=lambda E, x: E.sign(x))
_unary("negative", lambda rt, x: -x, lambda F, x, y, g: -g, lower="(-{0})",
       fuse=lambda E, x: -x)
_unary("reciprocal", lambda rt, x: 1.0 / x if x.dtype.kind == "f" else rt.xp.reciprocal(x),
       lambda F, x, y, g: -g * _sqr(y), fuse=lambda E, x: 1.0 / x)
_unary("square", lambda rt, x: x * x, lambda F, x, y, g: 2.0 * g * x, lower="({0} * {0})",
       fuse=lambda E, x: x * x)
_unary("sqrt", lambda rt, x: rt.xp.sqrt(x), lambda F, x, y, g: g / (2.0 * y),
       lower="xp.sqrt({0})", fuse=lambda E, x: E.sqrt(x))
_unary("rsqrt", lambda rt, x: 1.0 / rt.xp.sqrt(x), lambda F, x, y, g: -0.5 * g * y * y * y,
       fuse=lambda E, x: 1.0 / E.sqrt(x))
_unary("cbrt", lambda rt, x: rt.xp.cbrt(x), lambda F, x, y, g: g / (3.0 * _sqr(y)))
_unary("rcbrt", lambda rt, x: 1.0 / rt.xp.cbrt(x), lambda F, x, y, g: -g * y / (3.0 * x))
_unary("floor", lambda rt, x: rt.xp.floor(x), zero_grad=True)
_unary("ceil", lambda rt, x: rt.xp.ceil(x), zero_grad=True)
# MXNet rounds half away from zero; numpy's round is half-to-even.
_unary("round", lambda rt, x: rt.xp.sign(x) * rt.xp.floor(rt.xp.abs(x) + 0.5), zero_grad=True,
       doc="Round half away from zero (MXNet's ``round``).")
_unary("rint", lambda rt, x: rt.xp.rint(x), zero_grad=True,
       doc="Round to the nearest integer, halves to even (MXNet's ``rint``).")
_unary("trunc", lambda rt, x: rt.xp.trunc(x), zero_grad=True)
_unary("fix", lambda rt, x: rt.xp.trunc(x), zero_grad=True,
       doc="Round towards zero (MXNet's ``fix``).")

# --- exponentials and logarithms --------------------------------------------------------
_unary("exp", lambda rt, x: rt.xp.exp(x), lambda F, x, y, g: g * y, lower="xp.exp({0})",
       fuse=lambda E, x: E.exp(x))
_unary("expm1", lambda rt, x: rt.xp.expm1(x), lambda F, x, y, g: g * (y + 1.0),
       fuse=lambda E, x: E.expm1(x))
_unary("log", lambda rt, x: rt.xp.log(x), lambda F, x, y, g: g / x, lower="xp.log({0})",
       fuse=lambda E, x: E.log(x))
_unary("log1p", lambda rt, x: rt.xp.log1p(x), lambda F, x, y, g: g / (x + 1.0),
       fuse=lambda E, x: E.log1p(x))
_unary("log2", lambda rt, x: rt.xp.log2(x), lambda F, x, y, g: g / (x * _LN2))
_unary("log10", lambda rt, x: rt.xp.log10(x), lambda F, x, y, g: g / (x * _LN10))

# --- trigonometric and hyperbolic -------------------------------------------------------
_unary("sin", lambda rt, x: rt.xp.sin(x), lambda F, x, y, g: g * F.cos(x))
_unary("cos", lambda rt, x: rt.xp.cos(x), lambda F, x, y, g: -g * F.sin(x))
_unary("tan", lambda rt, x: rt.xp.tan(x), lambda F, x, y, g: g * (_sqr(y) + 1.0))
_unary("arcsin", lambda rt, x: rt.xp.arcsin(x),
       lambda F, x, y, g: g * F.rsqrt(1.0 - _sqr(x)))
_unary("arccos", lambda rt, x: rt.xp.arccos(x),
       lambda F, x, y, g: -g * F.rsqrt(1.0 - _sqr(x)))
_unary("arctan", lambda rt, x: rt.xp.arctan(x), lambda F, x, y, g: g / (_sqr(x) + 1.0))
_unary("degrees", lambda rt, x: rt.xp.degrees(x), lambda F, x, y, g: g * (180.0 / math.pi))
_unary("radians", lambda rt, x: rt.xp.radians(x), lambda F, x, y, g: g * (math.pi / 180.0))
_unary("sinh", lambda rt, x: rt.xp.sinh(x), lambda F, x, y, g: g * F.cosh(x))
_unary("cosh", lambda rt, x: rt.xp.cosh(x), lambda F, x, y, g: g * F.sinh(x))
_unary("tanh", lambda rt, x: rt.xp.tanh(x), lambda F, x, y, g: g * (1.0 - _sqr(y)),
       lower="xp.tanh({0})", fuse=lambda E, x: E.tanh(x))
_unary("arcsinh", lambda rt, x: rt.xp.arcsinh(x),
       lambda F, x, y, g: g * F.rsqrt(_sqr(x) + 1.0))
_unary("arccosh", lambda rt, x: rt.xp.arccosh(x),
       lambda F, x, y, g: g * F.rsqrt(_sqr(x) - 1.0))
_unary("arctanh", lambda rt, x: rt.xp.arctanh(x), lambda F, x, y, g: g / (1.0 - _sqr(x)))


# --- activations ---------------------------------------------------------------------------
def _sigmoid(rt, x):
    xp = rt.xp
    # exp of -|x| only, so neither branch overflows
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_expr(E, x):
    e = E.exp(-E.abs(x))
    return E.where(E.ge(x, 0.0), 1.0 / (1.0 + e), e / (1.0 + e))


_unary("sigmoid", _sigmoid, lambda F, x, y, g: g * y * (1.0 - y), fuse=_sigmoid_expr)
_unary("relu", lambda rt, x: rt.xp.maximum(x, 0), lambda F, x, y, g: g * F._greater_scalar(
    y, scalar=0.0), lower="xp.maximum({0}, 0)", fuse=lambda E, x: E.max(x, 0.0))
_unary("softsign", lambda rt, x: x / (1.0 + rt.xp.abs(x)),
       lambda F, x, y, g: g / _sqr(F.abs(x) + 1.0), fuse=lambda E, x: x / (1.0 + E.abs(x)))

# --- special functions ---------------------------------------------------------------------
_unary("erf", lambda rt, x: rt.special.erf(x),
       lambda F, x, y, g: g * _TWO_OVER_SQRT_PI * F.exp(-_sqr(x)))
_unary("erfinv", lambda rt, x: rt.special.erfinv(x),
       lambda F, x, y, g: g * _SQRT_PI_OVER_2 * F.exp(_sqr(y)))
_unary("gamma", lambda rt, x: rt.special.gamma(x), lambda F, x, y, g: g * y * F._digamma(x))
_unary("gammaln", lambda rt, x: rt.special.gammaln(x), lambda F, x, y, g: g * F._digamma(x))
_digamma = _unary("_digamma", lambda rt, x: rt.special.digamma(x),
                  doc="The digamma function psi (used by the gradients of gamma/gammaln).")


@_digamma.gradient
def _(F, a, ins, outs, ogs, need):
    from ..base import MXNetError
    raise MXNetError("the gradient of _digamma (the third derivative of gammaln) is not "
                     "implemented")


# --- logic and copies -----------------------------------------------------------------------
_unary("logical_not", lambda rt, x: (x == 0).astype(x.dtype), zero_grad=True,
       fuse=lambda E, x: E.eq(x, 0.0))
_unary("_copy", lambda rt, x: x.copy(), lambda F, x, y, g: g, aliases=("identity",),
       lower="{0}.copy()", fuse=lambda E, x: x,
       doc="A copy of the input (MXNet's ``_copy``/``identity``).")
_unary("BlockGrad", lambda rt, x: x.copy(), zero_grad=True, aliases=("stop_gradient",),
       fuse=lambda E, x: x,
       doc="Identity whose gradient is zero (MXNet's ``BlockGrad``/``stop_gradient``).")
_unary("zeros_like", lambda rt, x: rt.xp.zeros_like(x), zero_grad=True,
       lower="xp.zeros_like({0})")
_unary("ones_like", lambda rt, x: rt.xp.ones_like(x), zero_grad=True,
       lower="xp.ones_like({0})")
