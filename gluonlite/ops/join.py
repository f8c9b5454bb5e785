"""Joining and splitting arrays: ``concat`` (``Concat``), ``stack``, ``split``
(``SliceChannel``) and ``_backward_concat``, the gradient of ``concat``.

MXNet 1.x semantics:

* ``concat(*data, dim=1)`` joins along an existing axis; every input must have the same
  number of dimensions, the same size on every other axis and the same dtype.
* ``stack(*data, axis=0)`` joins along a new axis (``-ndim-1 <= axis <= ndim``); the inputs
  must have identical shapes.
* ``split(data, num_outputs, axis=1, squeeze_axis=False)`` cuts ``axis`` into
  ``num_outputs`` equal parts (several outputs; one NDArray when ``num_outputs=1``).
  ``squeeze_axis=True`` needs ``data.shape[axis] == num_outputs`` and drops that axis.
"""
from __future__ import annotations

from ..base import MXNetError
from .attrs import Bool, Int
from .registry import register

__all__ = []


def _norm_axis(name, axis, ndim, what="axis"):
    """``axis`` in [0, ndim), accepting negative values; MXNetError naming ``name``."""
    if not -ndim <= axis < ndim:
        raise MXNetError(f"{name}: {what}={axis} is out of range for "
                         f"{ndim}-dimensional inputs (expected {-ndim} <= {what} < {ndim})")
    return axis % ndim


def _check_num_args(name, n, num_args):
    if n == 0:
        raise MXNetError(f"{name}: needs at least one input array")
    # num_args is filled in with the number of inputs by every caller; a different explicit
    # value is a mistake MXNet reports too ("expects 3 inputs, but got 2").
    if num_args not in (0, n):
        raise MXNetError(f"{name}: num_args={num_args} but {n} input arrays were given")


def _check_dtypes(name, arrays):
    dt = arrays[0].dtype
    for i, x in enumerate(arrays[1:], 1):
        if x.dtype != dt:
            raise MXNetError(f"{name}: all inputs must have the same dtype, got {dt.name} for "
                             f"input 0 and {x.dtype.name} for input {i}")


# --- concat --------------------------------------------------------------------------------
def _concat_shape(name, shapes, dim):
    first = tuple(shapes[0])
    ndim = len(first)
    if ndim == 0:
        raise MXNetError(f"{name}: inputs must have at least one dimension")
    ax = _norm_axis(name, dim, ndim, "dim")
    total = 0
    for i, s in enumerate(shapes):
        s = tuple(s)
        if len(s) != ndim or s[:ax] != first[:ax] or s[ax + 1:] != first[ax + 1:]:
            want = first[:ax] + ("any",) + first[ax + 1:]
            raise MXNetError(f"{name}: input {i} has shape {s}, expected {want} (all inputs "
                             f"must agree on every axis but dim={dim})")
        total += s[ax]
    return first[:ax] + (total,) + first[ax + 1:]


def _concat_shape_rule(attrs, in_shapes):
    if any(s is None for s in in_shapes) or not in_shapes:
        return in_shapes, [None]
    return in_shapes, [_concat_shape("concat", in_shapes, attrs["dim"])]


@register("Concat", aliases=("concat",), shape=_concat_shape_rule)
def concat(rt, *data, num_args: Int = 0, dim: Int = 1):
    """Join arrays along the existing axis ``dim`` (MXNet's ``concat``/``Concat``).

    All inputs need the same dtype and the same shape except along ``dim``; negative
    ``dim`` counts from the end.
    """
    _check_num_args("concat", len(data), num_args)
    _check_dtypes("concat", data)
    _concat_shape("concat", [x.shape for x in data], dim)
    return rt.xp.concatenate(data, axis=dim % data[0].ndim)


@concat.gradient
def _(F, a, ins, outs, ogs, need):
    parts = F._backward_concat(ogs[0], *ins, dim=a["dim"])
    if len(ins) == 1:
        parts = [parts]
    return tuple(parts)


def _bconcat_shape_rule(attrs, in_shapes):
    return in_shapes, list(in_shapes[1:])


@register("_backward_concat", shape=_bconcat_shape_rule,
          num_outputs=lambda a: max(a["num_args"] - 1, 1))
def _backward_concat(rt, *data, num_args: Int = 0, dim: Int = 1):
    """Gradient of ``concat``: ``data[0]`` (the output gradient) cut along ``dim`` into pieces
    shaped like ``data[1:]`` (the inputs of the forward ``concat``)."""
    if len(data) < 2:
        raise MXNetError("_backward_concat: needs the output gradient and at least one "
                         "input of the forward concat")
    _check_num_args("_backward_concat", len(data), num_args)
    og, likes = data[0], data[1:]
    want = _concat_shape("_backward_concat", [x.shape for x in likes], dim)
    if tuple(og.shape) != want:
        raise MXNetError(f"_backward_concat: output gradient has shape {tuple(og.shape)}, "
                         f"expected {want}")
    ax = dim % og.ndim
    out, start = [], 0
    for x in likes:
        n = x.shape[ax]
        sl = (slice(None),) * ax + (slice(start, start + n),)
        out.append(og[sl].copy())
        start += n
    return tuple(out)


@_backward_concat.gradient
def _(F, a, ins, outs, ogs, need):
    return (F.concat(*ogs, dim=a["dim"]),) + (None,) * (len(ins) - 1)


# --- stack ---------------------------------------------------------------------------------
def _stack_shape(shapes, axis):
    first = tuple(shapes[0])
    for i, s in enumerate(shapes):
        if tuple(s) != first:
            raise MXNetError(f"stack: all inputs must have the same shape, got {first} for "
                             f"input 0 and {tuple(s)} for input {i}")
    ax = _norm_axis("stack", axis, len(first) + 1)
    return first[:ax] + (len(shapes),) + first[ax:]


def _stack_shape_rule(attrs, in_shapes):
    if any(s is None for s in in_shapes) or not in_shapes:
        return in_shapes, [None]
    return in_shapes, [_stack_shape(in_shapes, attrs["axis"])]


@register("stack", shape=_stack_shape_rule)
def stack(rt, *data, axis: Int = 0, num_args: Int = 0):
    """Join arrays of identical shape along a new axis ``axis`` (MXNet's ``stack``);
    ``-ndim-1 <= axis <= ndim`` where ndim is the inputs' number of dimensions."""
    _check_num_args("stack", len(data), num_args)
    _check_dtypes("stack", data)
    _stack_shape([x.shape for x in data], axis)
    return rt.xp.stack(data, axis=axis % (data[0].ndim + 1))


@stack.gradient
def _(F, a, ins, outs, ogs, need):
    n = len(ins)
    parts = F.split(ogs[0], num_outputs=n, axis=a["axis"], squeeze_axis=True)
    return (parts,) if n == 1 else tuple(parts)


# --- split ---------------------------------------------------------------------------------
def _split_shapes(s, num_outputs, axis, squeeze_axis):
    s = tuple(s)
    if num_outputs < 1:
        raise MXNetError(f"split: num_outputs must be >= 1, got {num_outputs}")
    if not s:
        raise MXNetError("split: the input must have at least one dimension")
    ax = _norm_axis("split", axis, len(s))
    n = s[ax]
    if n % num_outputs:
        raise MXNetError(f"split: cannot split axis {axis} of shape {s} into "
                         f"num_outputs={num_outputs} equal parts ({num_outputs} does not "
                         f"divide {n})")
    if squeeze_axis:
        if n != num_outputs:
            raise MXNetError(f"split: squeeze_axis=True needs the size of axis {axis} "
                             f"({n}) to equal num_outputs ({num_outputs}); input shape {s}")
        out = s[:ax] + s[ax + 1:]
        # MXNet 1.x never hands out 0-d arrays here: a 1-D input gives (1,) pieces
        out = out if out else (1,)
    else:
        out = s[:ax] + (n // num_outputs,) + s[ax + 1:]
    return [out] * num_outputs


def _split_shape_rule(attrs, in_shapes):
    s = in_shapes[0]
    n = attrs["num_outputs"]
    if s is None:
        return in_shapes, [None] * n
    return in_shapes, _split_shapes(s, n, attrs["axis"], attrs["squeeze_axis"])


@register("SliceChannel", aliases=("split",), shape=_split_shape_rule,
          num_outputs=lambda a: a["num_outputs"])
def split(rt, data, *, num_outputs: Int, axis: Int = 1, squeeze_axis: Bool = False):
    """Split ``axis`` into ``num_outputs`` equal parts (MXNet's ``split``/``SliceChannel``).

    With ``squeeze_axis=True`` (which needs ``data.shape[axis] == num_outputs``) the split
    axis is removed from the outputs; pieces of a 1-D input then have shape (1,).
    """
    shapes = _split_shapes(data.shape, num_outputs, axis, squeeze_axis)
    xp = rt.xp
    ax = axis % data.ndim
    parts = xp.split(data, num_outputs, axis=ax)
    # copies: MXNet outputs never share memory with the input
    return tuple(p.copy().reshape(sh) for p, sh in zip(parts, shapes))


@split.gradient
def _(F, a, ins, outs, ogs, need):
    ax = a["axis"]
    gs = list(ogs)
    if a["squeeze_axis"]:
        gs = [F.expand_dims(g, axis=ax) for g in gs]
    g = gs[0] if len(gs) == 1 else F.concat(*gs, dim=ax)
    # reshape_like undoes the (1,)-instead-of-0-d convention of squeezed 1-D inputs
    return (F.reshape_like(g, ins[0]) if a["squeeze_axis"] else g,)
