"""Reductions (``sum``, ``mean``, ``prod``, ``max``, ``min``, ``nansum``, ``nanprod``,
``norm``, ``argmax``, ``argmin``) and the broadcasts that are their gradients.

MXNet 1.x semantics: ``axis=None`` (or ``()``) reduces everything; ``exclude=True`` reduces
every axis *not* listed; reducing to a scalar gives shape ``(1,)``, not ``()``;
``argmax``/``argmin`` return float32 indices.
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError
from .attrs import Bool, Int, OptInt, OptShape, Shape, OptDType
from .registry import register, forward_shape, dtype_fixed, ZERO_GRAD

__all__ = ["reduce_axes", "reduced_shape"]


def reduce_axes(ndim: int, axis, exclude: bool, op: str = "") -> tuple:
    """The normalised tuple of axes an MXNet reduction with ``axis``/``exclude`` reduces;
    errors name the operator ``op`` when given."""
    if axis is None or axis == ():
        axes = tuple(range(ndim))
        return () if exclude else axes
    if isinstance(axis, int):
        axis = (axis,)
    out = []
    for a in axis:
        if not -ndim <= a < ndim:
            raise MXNetError(f"{op + ': ' if op else ''}axis {a} is out of range for an "
                             f"array with {ndim} dimensions")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise MXNetError(f"{op + ': ' if op else ''}axis {tuple(axis)} repeats an axis")
    if exclude:
        return tuple(i for i in range(ndim) if i not in out)
    return tuple(sorted(out))


def reduced_shape(shape, axes, keepdims) -> tuple:
    """Shape after reducing ``axes``; MXNet gives (1,) instead of a 0-d shape."""
    if keepdims:
        return tuple(1 if i in axes else s for i, s in enumerate(shape))
    out = tuple(s for i, s in enumerate(shape) if i not in axes)
    return out if out else (1,)


def _finish(r, keepdims):
    # numpy gives 0-d results; MXNet 1.x gives shape (1,)
    return r.reshape(1) if r.ndim == 0 else r


# numpy's sum/max/min (and mean's sum) are these ufuncs' reduce; mean then divides by the
# count (a Python int, so the division stays in the array's float dtype)
_UFUNC_REDUCE = {"sum": "add", "mean": "add", "max": "maximum", "min": "minimum"}


def _reduction(name, kernel, grad, aliases=(), doc="", lower=None):
    def fwd(rt, data, *, axis: OptShape = None, keepdims: Bool = False,
            exclude: Bool = False):
        axes = reduce_axes(data.ndim, axis, exclude, name)
        r = kernel(rt, data, axes, keepdims)
        if r.dtype != data.dtype:
            r = r.astype(data.dtype)
        return _finish(r, keepdims)

    fwd.__doc__ = doc

    def shape(a, s):
        return reduced_shape(s, reduce_axes(len(s), a["axis"], a["exclude"], name),
                             a["keepdims"])

    op = register(name, aliases=aliases, shape=forward_shape(shape),
                  tags=("reduce",))(fwd)
    op.gradient(grad)
    if lower is not None:
        @op.lowering
        def _(L, a, ins, outs):
            x = ins[0]
            if not x.dtype.startswith("float"):
                return None  # integer reductions change dtype; the forward casts back
            axes = reduce_axes(x.ndim, a["axis"], a["exclude"])
            if not axes or x.size == 0:
                return None
            keep = bool(a["keepdims"])
            if L.cpu and x.dtype != "float16" and lower in _UFUNC_REDUCE:
                # what numpy's sum/max/min/mean run, without their Python wrappers
                expr = f"xp.{_UFUNC_REDUCE[lower]}.reduce({{0}}, axis={axes!r}, keepdims={keep})"
                if lower == "mean":
                    n = 1
                    for i in axes:
                        n *= x.shape[i]
                    if n != 1:  # x / 1 is x exactly
                        expr = f"({expr} / {n})"
            else:
                expr = f"xp.{lower}({{0}}, axis={axes!r}, keepdims={keep})"
            if len(axes) == x.ndim and not a["keepdims"]:
                expr += ".reshape(1)"  # numpy's 0-d result is MXNet's (1,)
            return expr
    return op


def _unreduce(F, g, x, a, mean=False):
    return F._unreduce(g, x, axis=a["axis"], keepdims=a["keepdims"], exclude=a["exclude"],
                       mean=mean)


_reduction("sum", lambda rt, x, axes, k: rt.xp.sum(x, axis=axes, keepdims=k),
           lambda F, a, ins, outs, ogs, need: (_unreduce(F, ogs[0], ins[0], a),),
           aliases=("sum_axis",), doc="Sum over ``axis`` (MXNet's ``sum``).", lower="sum")
_reduction("mean", lambda rt, x, axes, k: rt.xp.mean(x, axis=axes, keepdims=k),
           lambda F, a, ins, outs, ogs, need: (_unreduce(F, ogs[0], ins[0], a, mean=True),),
           doc="Mean over ``axis`` (MXNet's ``mean``).", lower="mean")
_reduction("prod", lambda rt, x, axes, k: rt.xp.prod(x, axis=axes, keepdims=k),
           lambda F, a, ins, outs, ogs, need: (
               _unreduce(F, ogs[0], ins[0], a) * _unreduce(F, outs[0], ins[0], a) / ins[0],),
           doc="Product over ``axis`` (MXNet's ``prod``).")
_reduction("nansum", lambda rt, x, axes, k: rt.xp.nansum(x, axis=axes, keepdims=k),
           lambda F, a, ins, outs, ogs, need: (
               _unreduce(F, ogs[0], ins[0], a) * (ins[0] == ins[0]),),
           doc="Sum treating NaN as zero (MXNet's ``nansum``).")
_reduction("nanprod", lambda rt, x, axes, k: rt.xp.nanprod(x, axis=axes, keepdims=k),
           lambda F, a, ins, outs, ogs, need: (
               _unreduce(F, ogs[0], ins[0], a) * _unreduce(F, outs[0], ins[0], a) / ins[0]
               * (ins[0] == ins[0]),),
           doc="Product treating NaN as one (MXNet's ``nanprod``).")


def _d_extreme(F, a, ins, outs, ogs, need):
    # every element equal to the extreme receives the full gradient, as in MXNet
    x = ins[0]
    return (_unreduce(F, ogs[0], x, a) * (x == _unreduce(F, outs[0], x, a)),)


_reduction("max", lambda rt, x, axes, k: rt.xp.max(x, axis=axes, keepdims=k), _d_extreme,
           aliases=("max_axis",), doc="Maximum over ``axis`` (MXNet's ``max``).",
           lower="max")
_reduction("min", lambda rt, x, axes, k: rt.xp.min(x, axis=axes, keepdims=k), _d_extreme,
           aliases=("min_axis",), doc="Minimum over ``axis`` (MXNet's ``min``).",
           lower="min")


@register("_unreduce", shape=forward_shape(lambda a, g, like: like),
          tags=("broadcast",))
def _unreduce_op(rt, ograd, like, *, axis: OptShape = None, keepdims: Bool = False,
                 exclude: Bool = False, mean: Bool = False):
    """Gradient of a reduction: ``ograd`` re-expanded and broadcast to ``like``'s shape
    (divided by the reduced count when ``mean``)."""
    axes = reduce_axes(like.ndim, axis, exclude)
    kshape = tuple(1 if i in axes else s for i, s in enumerate(like.shape))
    g = ograd.reshape(kshape)
    out = rt.xp.broadcast_to(g, like.shape)
    if mean:
        n = 1
        for i in axes:
            n *= like.shape[i]
        out = out / out.dtype.type(max(n, 1))
    return out


@_unreduce_op.lowering
def _(L, a, ins, outs):
    g, like = ins
    axes = reduce_axes(like.ndim, a["axis"], a["exclude"])
    kshape = tuple(1 if i in axes else s for i, s in enumerate(like.shape))
    src = "{0}" if g.shape == kshape else f"{{0}}.reshape({kshape!r})"
    expr = src if kshape == like.shape else f"xp.broadcast_to({src}, {tuple(like.shape)!r})"
    n = 1
    for i in axes:
        n *= like.shape[i]
    if a["mean"] and n > 1:  # x / 1 is x exactly
        expr = f"({expr} / {L.scalar(n, g.dtype)})"
    return expr


@_unreduce_op.gradient
def _(F, a, ins, outs, ogs, need):
    g = F.sum(ogs[0], axis=a["axis"], keepdims=a["keepdims"], exclude=a["exclude"])
    if a["mean"]:
        g = g * F._reduce_count(ins[1], axis=a["axis"], exclude=a["exclude"])
    return g, None


@register("_reduce_count", shape=forward_shape(lambda a, x: (1,)), tags=("reduce",))
def _reduce_count(rt, like, *, axis: OptShape = None, exclude: Bool = False):
    """1 / (number of elements a reduction of ``like`` over ``axis`` averages), shape (1,)."""
    axes = reduce_axes(like.ndim, axis, exclude)
    n = 1
    for i in axes:
        n *= like.shape[i]
    return rt.xp.full((1,), 1.0 / max(n, 1), dtype=like.dtype)


_reduce_count.grad_fn = ZERO_GRAD


@register("_reduce_sum_like", shape=forward_shape(lambda a, x, like: like),
          tags=("reduce",))
def _reduce_sum_like(rt, data, like):
    """Sum ``data`` over the axes along which ``like`` was broadcast to ``data``'s shape
    (the gradient of a broadcast)."""
    if data.shape == like.shape:
        return data
    lead = data.ndim - like.ndim
    if lead < 0:
        raise MXNetError(f"_reduce_sum_like: cannot reduce shape {tuple(data.shape)} to "
                         f"{tuple(like.shape)}")
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(like.shape) if s == 1 and data.shape[i + lead] != 1)
    r = data.sum(axis=axes) if axes else data
    return r.reshape(like.shape)


@_reduce_sum_like.gradient
def _(F, a, ins, outs, ogs, need):
    return F.broadcast_like(ogs[0], ins[0]), None


# --- norm ------------------------------------------------------------------------------------
@register("norm", shape=forward_shape(lambda a, s: reduced_shape(
    s, reduce_axes(len(s), a["axis"], False, "norm"), a["keepdims"])), tags=("reduce",))
def norm(rt, data, *, ord: Int = 2, axis: OptShape = None, out_dtype: OptDType = None,
         keepdims: Bool = False):
    """L2 (``ord=2``) or L1 (``ord=1``) norm over ``axis`` (all elements by default)."""
    xp = rt.xp
    if ord not in (1, 2):
        raise MXNetError(f"norm: ord must be 1 or 2, got {ord}")
    axes = reduce_axes(data.ndim, axis, False, "norm")
    out_dtype = out_dtype or data.dtype
    if data.dtype.kind != "f":
        data = data.astype(np.float64)  # integers: |x| and x*x would wrap around
    if ord == 1:
        # float64 partial sums: float16/float32 ones lose precision (MXNet accumulates
        # float16 in float32); a sum of |x| only overflows when the norm itself does
        r = xp.sum(xp.abs(data), axis=axes, keepdims=keepdims, dtype=np.float64)
    else:
        r = _l2(xp, data, axes, keepdims)
    return _finish(r.astype(out_dtype), keepdims)


def _l2(xp, data, axes, keepdims):
    """The L2 norm over ``axes`` without overflow or underflow of the squares (MXNet's
    ``nrm2`` reducer scales, so float16 [300, 400] gives 500, float32 [1e20, 1e20] gives
    1.414e20)."""
    if data.dtype != np.float64 or data.size == 0:
        # squares of float16/float32 values fit float64's range with room for the sum
        w = data.astype(np.float64)
        return xp.sqrt(xp.sum(w * w, axis=axes, keepdims=keepdims))
    # float64: divide each slice by its largest |x| (as LAPACK's nrm2); slices of zeros,
    # inf or nan are left unscaled so that they give 0, inf and nan
    a = xp.abs(data)
    m = xp.max(a, axis=axes, keepdims=True)
    scale = xp.where((m > 0) & xp.isfinite(m), m, 1.0)
    r = xp.sqrt(xp.sum(xp.square(a / scale), axis=axes, keepdims=keepdims))
    return r * (scale if keepdims else scale.reshape(r.shape))


@norm.gradient
def _(F, a, ins, outs, ogs, need):
    x = ins[0]
    ua = {"axis": a["axis"], "keepdims": a["keepdims"], "exclude": False}
    g = _unreduce(F, ogs[0], x, ua)
    if a["ord"] == 1:
        return (g * F.sign(x),)
    # x / norm first: g * x can overflow where the gradient itself does not. At x = 0 the
    # gradient is 0/0 = nan, as MXNet's (its backward is ograd * data / out too)
    return (g * (x / _unreduce(F, outs[0], x, ua)),)


# --- argmax / argmin -----------------------------------------------------------------------------
def _arg(name, kernel):
    def fwd(rt, data, *, axis: OptInt = None, keepdims: Bool = False):
        xp = rt.xp
        if axis is None:
            r = kernel(xp, data.reshape(-1), 0)
            r = r.reshape((1,) * data.ndim if keepdims else (1,))
        else:
            if not -data.ndim <= axis < data.ndim:
                raise MXNetError(f"{name}: axis {axis} is out of range for an array with "
                                 f"{data.ndim} dimensions")
            r = kernel(xp, data, axis)
            if keepdims:
                r = xp.expand_dims(r, axis)
        return _finish(r.astype("float32"), keepdims)

    def shape(a, s):
        if a["axis"] is None:
            return (1,) * len(s) if a["keepdims"] else (1,)
        return reduced_shape(s, (a["axis"] % len(s),), a["keepdims"])

    fwd.__doc__ = f"Indices of the {name[3:]}imum along ``axis``, as float32 (MXNet's ``{name}``)."
    register(name, shape=forward_shape(shape), dtype=dtype_fixed("float32"),
             tags=("reduce",))(fwd)


_arg("argmax", lambda xp, x, axis: xp.argmax(x, axis=axis))
_arg("argmin", lambda xp, x, axis: xp.argmin(x, axis=axis))


@register("argmax_channel", shape=forward_shape(lambda a, s: s[:-1] if len(s) > 1 else (1,)),
          dtype=dtype_fixed("float32"), tags=("reduce",))
def argmax_channel(rt, data):
    """Argmax over the last axis, as float32 (MXNet's ``argmax_channel``)."""
    return _finish(rt.xp.argmax(data, axis=-1).astype("float32"), False)


# --- broadcasts -----------------------------------------------------------------------------------
def _bcast_to_shape(src, target):
    if len(target) < len(src):
        raise MXNetError(f"broadcast_to: target shape {tuple(target)} has fewer dimensions "
                         f"than the input {tuple(src)}")
    src = (1,) * (len(target) - len(src)) + tuple(src)
    out = []
    for s, t in zip(src, target):
        t = s if t == 0 else t
        if s != t and s != 1:
            raise MXNetError(f"broadcast_to: cannot broadcast shape {tuple(src)} to "
                             f"{tuple(target)} (only size-1 axes can grow)")
        out.append(t)
    return tuple(out)


@register("broadcast_to", shape=forward_shape(lambda a, s: _bcast_to_shape(s, a["shape"])),
          tags=("broadcast",))
def broadcast_to(rt, data, *, shape: Shape = ()):
    """Broadcast to ``shape``; a 0 in ``shape`` keeps that axis (MXNet's ``broadcast_to``)."""
    target = _bcast_to_shape(data.shape, shape)
    return rt.xp.broadcast_to(data.reshape((1,) * (len(target) - data.ndim) + data.shape),
                              target).copy()


@broadcast_to.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._reduce_sum_like(ogs[0], ins[0]),)


def _like_shape(lhs, rhs, lhs_axes, rhs_axes):
    if lhs_axes is None and rhs_axes is None:
        return tuple(rhs)
    if lhs_axes is None or rhs_axes is None or len(lhs_axes) != len(rhs_axes):
        raise MXNetError("broadcast_like: lhs_axes and rhs_axes must be given together and "
                         "have the same length")
    out = list(lhs)
    for la, ra in zip(lhs_axes, rhs_axes):
        out[la % len(lhs)] = rhs[ra % len(rhs)]
    return tuple(out)


@register("broadcast_like", shape=forward_shape(
    lambda a, l, r: _bcast_to_shape(l, _like_shape(l, r, a["lhs_axes"], a["rhs_axes"]))),
    tags=("broadcast",), index_inputs=("rhs",))
def broadcast_like(rt, lhs, rhs, *, lhs_axes: OptShape = None, rhs_axes: OptShape = None):
    """Broadcast ``lhs`` to the shape of ``rhs`` (or only the listed axes)."""
    target = _bcast_to_shape(lhs.shape, _like_shape(lhs.shape, rhs.shape, lhs_axes, rhs_axes))
    src = lhs.reshape((1,) * (len(target) - lhs.ndim) + lhs.shape)
    return rt.xp.broadcast_to(src, target).copy()


@broadcast_like.gradient
def _(F, a, ins, outs, ogs, need):
    return F._reduce_sum_like(ogs[0], ins[0]), None


@register("broadcast_axis", aliases=("broadcast_axes",), tags=("broadcast",),
          shape=forward_shape(lambda a, s: tuple(
              a["size"][list(a["axis"]).index(i)] if i in a["axis"] else d
              for i, d in enumerate(s))))
def broadcast_axis(rt, data, *, axis: Shape = (), size: Shape = ()):
    """Broadcast the size-1 axes ``axis`` to ``size`` (MXNet's ``broadcast_axis``)."""
    if len(axis) != len(size):
        raise MXNetError(f"broadcast_axis: axis {axis} and size {size} must have equal length")
    target = list(data.shape)
    for ax, sz in zip(axis, size):
        ax %= data.ndim
        if data.shape[ax] != 1:
            raise MXNetError(f"broadcast_axis: axis {ax} has size {data.shape[ax]}, must be 1")
        target[ax] = sz
    return rt.xp.broadcast_to(data, tuple(target)).copy()


@broadcast_axis.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._reduce_sum_like(ogs[0], ins[0]),)

