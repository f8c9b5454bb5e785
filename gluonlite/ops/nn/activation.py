"""Activation functions: ``Activation`` and ``LeakyReLU`` (MXNet 1.9.1 semantics).

``Activation(act_type=...)``: ``relu``, ``sigmoid``, ``tanh``, ``softrelu`` (softplus,
``log(1 + exp(x))``, exactly ``x`` above 20 as MXNet computes it) and ``softsign``
(``x / (1 + |x|)``).

``LeakyReLU(act_type=...)``:

* ``leaky``: ``x`` if ``x > 0`` else ``slope * x``;
* ``prelu``: the same with a learned ``gamma`` input broadcast over axis 1 (MXNet's
  ``expand_shape``: a 1-D ``gamma`` of size 1 or ``data.shape[1]``);
* ``elu``: ``x`` if ``x > 0`` else ``slope * (exp(x) - 1)``;
* ``selu``: ``lambda * (x if x > 0 else alpha * (exp(x) - 1))`` with SELU's constants;
* ``gelu``: ``0.5 * x * (1 + erf(x / sqrt(2)))`` (the exact, erf form);
* ``rrelu``: in training a random slope per element drawn from
  ``U(lower_bound, upper_bound)``, returned as a second output ``mask``; in inference the
  mean slope ``(lower_bound + upper_bound) / 2`` (the ``mask`` output is then filled with
  that slope; MXNet leaves it uninitialised).

Gradients follow MXNet's kernels, which evaluate them from the *output* where they can
(``relu``: ``y > 0``; ``sigmoid``: ``y (1 - y)``; ``softrelu``: ``1 - exp(-y)``; ``leaky``/
``elu``/``selu``: ``y > 0`` selects the branch), and are written with registered operators
so they are differentiable again. One of MXNet's is not the derivative of its forward and
is reproduced as is, since models were trained with it: ``selu`` below 0 uses
``lambda * (y + alpha)`` instead of ``lambda * alpha * exp(x)``.
"""
from __future__ import annotations

import math

from ...base import MXNetError
from ..attrs import Enum, Float
from ..registry import register, forward_shape, shape_same

__all__ = ["prelu_gamma_shape"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_LAMBDA = 1.0507009873554804934193349852946
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _float_only(name, x):
    if x.dtype.kind != "f":
        raise MXNetError(f"{name}: data must be a floating point array, got {x.dtype.name}")


# --- Activation ------------------------------------------------------------------------------
@register("Activation", shape=shape_same, tags=("elemwise",))
def Activation(rt, data, *, act_type: Enum("relu", "sigmoid", "softrelu", "softsign", "tanh")):
    """Elementwise activation (MXNet's ``Activation``): ``relu`` ``max(x, 0)``,
    ``sigmoid`` ``1 / (1 + exp(-x))``, ``tanh``, ``softrelu`` ``log(1 + exp(x))`` and
    ``softsign`` ``x / (1 + |x|)``. Floating point dtypes only, as in MXNet."""
    _float_only("Activation", data)
    xp = rt.xp
    if act_type == "relu":
        return xp.maximum(data, data.dtype.type(0))
    if act_type == "sigmoid":
        # exp of -|x| only, so neither branch overflows
        e = xp.exp(-xp.abs(data))
        return xp.where(data >= 0, 1 / (1 + e), e / (1 + e)).astype(data.dtype, copy=False)
    if act_type == "tanh":
        return xp.tanh(data)
    if act_type == "softrelu":
        # MXNet: a > 20 ? a : log1p(exp(a)); the inner exp is clamped so it never overflows
        return xp.where(data > 20, data, xp.log1p(xp.exp(xp.minimum(data, 20)))).astype(
            data.dtype, copy=False)
    return data / (1 + xp.abs(data))


@Activation.lowering
def _(L, a, ins, outs):
    dt = ins[0].dtype
    if not dt.startswith("float"):
        return None
    if a["act_type"] == "relu":
        return f"xp.maximum({{0}}, {L.scalar(0, dt)})"
    if a["act_type"] == "tanh":
        return "xp.tanh({0})"
    return None


@Activation.elementwise
def _(E, a, x):
    t = a["act_type"]
    if t == "relu":
        return E.max(x, 0.0)
    if t == "sigmoid":
        e = E.exp(-E.abs(x))
        return E.where(E.ge(x, 0.0), 1.0 / (1.0 + e), e / (1.0 + e))
    if t == "tanh":
        return E.tanh(x)
    if t == "softrelu":
        return E.where(E.gt(x, 20.0), x, E.log1p(E.exp(E.min(x, 20.0))))
    return x / (1.0 + E.abs(x))


@Activation.gradient
def _(F, a, ins, outs, ogs, need):
    x, y, g = ins[0], outs[0], ogs[0]
    t = a["act_type"]
    if t == "relu":
        return (g * F._greater_scalar(y, scalar=0.0),)
    if t == "sigmoid":
        return (g * y * (1.0 - y),)
    if t == "tanh":
        return (g * (1.0 - y * y),)
    if t == "softrelu":
        return (g * -F.expm1(-y),)
    d = F.abs(x) + 1.0
    return (g / (d * d),)


# --- LeakyReLU -------------------------------------------------------------------------------
def prelu_gamma_shape(gshape, dshape):
    """MXNet's ``expand_shape``: the shape ``gamma`` is viewed as to broadcast against
    ``data`` (its axes align with data axes 1 and 0, trailing axes of ``data`` get 1).

    Raises MXNetError when ``gamma`` cannot be broadcast.
    """
    gshape, dshape = tuple(gshape), tuple(dshape)
    res = [1] * len(dshape)
    s = len(gshape) - 1
    for i in range(len(dshape) - 1, -1, -1):
        if s >= 0 and i <= 1 and (dshape[i] == gshape[s] or gshape[s] == 1):
            res[i] = gshape[s]
            s -= 1
    if s != -1:
        raise MXNetError(f"LeakyReLU: cannot broadcast gamma of shape {gshape} to data of "
                         f"shape {dshape}; prelu needs gamma of shape (1,) or "
                         f"(data.shape[1],)")
    return tuple(res)


_LEAKY_TYPES = ("elu", "gelu", "leaky", "prelu", "rrelu", "selu")


def _leaky_shape(a, in_shapes):
    ins = list(in_shapes)
    d = ins[0]
    nout = 2 if a["act_type"] == "rrelu" else 1
    if d is None:
        return ins, [None] * nout
    if a["act_type"] == "prelu" and len(ins) > 1:
        if ins[1] is None:
            # a channel per axis-1 entry (a single one for 1-D data)
            ins[1] = (d[1],) if len(d) > 1 else (1,)
        else:
            prelu_gamma_shape(ins[1], d)
    return ins, [tuple(d)] * nout


@register("LeakyReLU", shape=_leaky_shape,
          inputs=lambda a: ("data", "gamma") if a["act_type"] == "prelu" else ("data",),
          num_outputs=lambda a: 2 if a["act_type"] == "rrelu" else 1,
          output_names=lambda a: ("output", "mask") if a["act_type"] == "rrelu"
          else ("output",), tags=("random",))  # random slopes with act_type='rrelu'
def LeakyReLU(rt, data, gamma=None, *, act_type: Enum(*_LEAKY_TYPES) = "leaky",
              slope: Float = 0.25, lower_bound: Float = 0.125, upper_bound: Float = 0.334):
    """Leaky rectified linear units and relatives (MXNet's ``LeakyReLU``).

    ``act_type``: ``leaky`` (``slope * x`` below 0), ``prelu`` (learned ``gamma`` input
    broadcast over axis 1), ``elu`` (``slope * (exp(x) - 1)`` below 0), ``selu``,
    ``gelu`` (erf form) or ``rrelu`` (random slope in ``[lower_bound, upper_bound]`` in
    training, returned with its ``mask``; the mean slope in inference).
    """
    _float_only("LeakyReLU", data)
    xp = rt.xp
    dt = data.dtype.type
    if act_type == "prelu":
        if gamma is None:
            raise MXNetError("LeakyReLU: act_type='prelu' needs the gamma input")
        gb = gamma.reshape(prelu_gamma_shape(gamma.shape, data.shape))
        return xp.where(data > 0, data, gb * data)
    if gamma is not None:
        raise MXNetError(f"LeakyReLU: only act_type='prelu' takes a gamma input, got "
                         f"act_type={act_type!r}")
    if act_type == "leaky":
        return xp.where(data > 0, data, data * dt(slope))
    if act_type == "elu":
        return xp.where(data > 0, data, dt(slope) * xp.expm1(xp.minimum(data, 0)))
    if act_type == "selu":
        neg = dt(_SELU_ALPHA) * xp.expm1(xp.minimum(data, 0))
        return dt(_SELU_LAMBDA) * xp.where(data > 0, data, neg)
    if act_type == "gelu":
        # through the registered erf so its compiled kernel is used when available
        return (dt(0.5) * data * (1 + rt.F.erf(data * dt(_INV_SQRT2)))).astype(
            data.dtype, copy=False)
    # rrelu
    if not 0 <= lower_bound <= upper_bound:
        raise MXNetError(f"LeakyReLU: rrelu needs 0 <= lower_bound <= upper_bound, got "
                         f"lower_bound={lower_bound}, upper_bound={upper_bound}")
    if rt.is_train:
        mask = rt.rng.uniform(lower_bound, upper_bound, size=data.shape).astype(data.dtype)
    else:
        mask = xp.full(data.shape, (lower_bound + upper_bound) / 2.0, dtype=data.dtype)
    return xp.where(data > 0, data, data * mask), mask


@LeakyReLU.gradient
def _(F, a, ins, outs, ogs, need):
    x, y, g = ins[0], outs[0], ogs[0]
    t = a["act_type"]
    if t == "prelu":
        gamma = ins[1]
        gb = F._prelu_gamma_view(gamma, x)
        pos = F._greater_scalar(x, scalar=0.0)
        neg = 1.0 - pos
        gx = g * (pos + neg * gb) if need[0] else None
        gg = (F.reshape_like(F._reduce_sum_like(g * x * neg, gb), gamma)
              if need[1] else None)
        return gx, gg
    pos = F._greater_scalar(y, scalar=0.0)
    if t == "leaky":
        s = a["slope"]
        return (g * (pos * (1.0 - s) + s),)
    if t == "elu":
        return (g * (pos + (1.0 - pos) * (y + a["slope"])),)
    if t == "selu":
        # MXNet 1.9.1's kernel: lambda * (y + alpha) below 0. That is not the derivative
        # (lambda * alpha * exp(x) = y + lambda * alpha) but it is what MXNet trains with.
        return (g * (_SELU_LAMBDA * (pos + (1.0 - pos) * (y + _SELU_ALPHA))),)
    if t == "gelu":
        return (g * (0.5 * (1.0 + F.erf(x * _INV_SQRT2))
                     + x * F.exp(x * x * -0.5) * _INV_SQRT_2PI),)
    # rrelu: the slope actually used is the mask output
    return (g * (pos + (1.0 - pos) * outs[1]),)


@register("_prelu_gamma_view", shape=forward_shape(
    lambda a, gs, ds: prelu_gamma_shape(gs, ds)), index_inputs=("data",))
def _prelu_gamma_view(rt, gamma, data):
    """``gamma`` reshaped (a view) to broadcast against ``data`` as PReLU does."""
    return gamma.reshape(prelu_gamma_shape(gamma.shape, data.shape))


@_prelu_gamma_view.gradient
def _(F, a, ins, outs, ogs, need):
    return F.reshape_like(ogs[0], ins[0]), None
