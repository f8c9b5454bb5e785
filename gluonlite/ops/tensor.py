"""Array transformations: ``clip``, ``tile``, ``repeat``, ``pad`` (``Pad``), ``flip``
(``reverse``), ``shape_array``, ``size_array``, and ``_backward_pad``.

MXNet 1.x semantics, checked against MXNet 1.9.1:

* ``clip(x, a_min, a_max)`` is ``a_max if x > a_max else (a_min if x < a_min else x)``
  (so NaN passes through, and a_min > a_max gives a_min on the low side, a_max elsewhere);
  on integer arrays the bounds are truncated to integers first.
* ``tile``'s ``reps`` entries must be positive; ``repeat``'s ``repeats`` may be 0 and
  ``axis=None`` flattens.
* ``pad`` works on 4-D and 5-D float arrays, pads only the spatial axes (the first two
  widths must be 0), and ``reflect`` needs each width smaller than the axis it pads.
* ``flip`` reverses every listed axis once per mention (``axis=(1, 1)`` is the identity,
  as in MXNet); negative axes count from the end (MXNet 1.x rejects them).
* ``shape_array``/``size_array`` return int64 arrays and have zero gradient.
"""
from __future__ import annotations

from ..base import MXNetError
from .attrs import Enum, Float, Int, OptInt, Shape
from .registry import register, forward_shape, shape_same, dtype_fixed, ZERO_GRAD

__all__ = []


def _prod(seq):
    n = 1
    for s in seq:
        n *= int(s)
    return n


# --- clip ----------------------------------------------------------------------------------
def _bound(xp, x, v):
    """Bound ``v`` in the array's type: MXNet casts it (C truncation for integers); bounds
    beyond an integer type's range are saturated instead of overflowing."""
    if x.dtype.kind in "iu":
        info = xp.iinfo(x.dtype)
        v = min(max(v, float(info.min)), float(info.max))
        return x.dtype.type(int(v))
    return x.dtype.type(v)


@register("clip", shape=shape_same, tags=("elemwise",))
def clip(rt, data, *, a_min: Float, a_max: Float):
    """Limit values to [a_min, a_max] (MXNet's ``clip``): values above ``a_max`` become
    ``a_max``, values below ``a_min`` become ``a_min``, NaN stays NaN."""
    xp = rt.xp
    lo, hi = _bound(xp, data, a_min), _bound(xp, data, a_max)
    return xp.where(data > hi, hi, xp.where(data < lo, lo, data)).astype(data.dtype,
                                                                          copy=False)


@clip.elementwise
def _(E, a, x):
    lo, hi = E.const(a["a_min"]), E.const(a["a_max"])
    return E.where(E.gt(x, hi), hi, E.where(E.lt(x, lo), lo, x))


@clip.gradient
def _(F, a, ins, outs, ogs, need):
    x = ins[0]
    # MXNet: zero where the value was clipped, the output gradient elsewhere (NaN included)
    out_of_range = F._greater_scalar(x, scalar=a["a_max"]) + F._lesser_scalar(
        x, scalar=a["a_min"])
    return (ogs[0] * F.logical_not(out_of_range),)


# --- tile ----------------------------------------------------------------------------------
def _tile_shape(s, reps):
    for r in reps:
        if r < 1:
            raise MXNetError(f"tile: every entry of reps must be a positive integer, got reps="
                             f"{tuple(reps)}")
    n = max(len(s), len(reps))
    s2 = (1,) * (n - len(s)) + tuple(s)
    r2 = (1,) * (n - len(reps)) + tuple(reps)
    return tuple(a * b for a, b in zip(s2, r2))


@register("tile", shape=forward_shape(lambda a, s: _tile_shape(s, a["reps"])))
def tile(rt, data, *, reps: Shape):
    """Repeat the whole array ``reps[i]`` times along axis i (MXNet's ``tile``, as
    ``numpy.tile``): a shorter ``reps`` is padded with leading 1s, a longer one promotes the
    data with leading size-1 axes."""
    _tile_shape(data.shape, reps)
    if not reps:
        return data.copy()
    return rt.xp.tile(data, tuple(reps))


@tile.gradient
def _(F, a, ins, outs, ogs, need):
    reps = tuple(a["reps"])
    if not reps:
        return (ogs[0],)
    # Split every tiled axis of size r*s into (r, s) -- reading the shape right to left, so
    # the untouched leading axes need no count -- then sum over the r axes.
    spec = []
    for r in reversed(reps):
        spec += [-4, -1, r]          # reversed view: axis (s*r) -> (s, r)
    spec.append(-2)                  # the leading axes that reps does not reach
    g = F.Reshape(ogs[0], shape=tuple(reversed(spec)), reverse=True)
    g = F.sum(g, axis=tuple(-(2 * j + 2) for j in range(len(reps))))
    return (F.reshape_like(g, ins[0]),)


# --- repeat --------------------------------------------------------------------------------
def _repeat_shape(s, repeats, axis):
    if repeats < 0:
        raise MXNetError(f"repeat: repeats must be a non-negative integer, got {repeats}")
    if axis is None:
        return (_prod(s) * repeats,)
    if not -len(s) <= axis < len(s):
        raise MXNetError(f"repeat: axis={axis} is out of range for an array with {len(s)} "
                         "dimension(s)")
    ax = axis % len(s)
    return tuple(s[:ax]) + (s[ax] * repeats,) + tuple(s[ax + 1:])


@register("repeat", shape=forward_shape(lambda a, s: _repeat_shape(s, a["repeats"],
                                                                    a["axis"])))
def repeat(rt, data, *, repeats: Int, axis: OptInt = None):
    """Repeat every element ``repeats`` times along ``axis`` (MXNet's ``repeat``, as
    ``numpy.repeat``); ``axis=None`` repeats the flattened array and returns it 1-D."""
    out = _repeat_shape(data.shape, repeats, axis)
    xp = rt.xp
    if axis is None:
        return xp.repeat(data.reshape(-1), repeats).reshape(out)
    return xp.repeat(data, repeats, axis=axis % data.ndim)


@repeat.gradient
def _(F, a, ins, outs, ogs, need):
    r, axis = a["repeats"], a["axis"]
    if r == 0:
        return (F.zeros_like(ins[0]),)
    g = ogs[0]
    if axis is None:
        g = F.sum(F.Reshape(g, shape=(-1, r)), axis=1)
    elif axis >= 0:
        # split axis (s*r) into (s, r) and sum the copies
        g = F.sum(F.Reshape(g, shape=(0,) * axis + (-4, -1, r, -2)), axis=axis + 1)
    else:
        # counted from the end: reversed view, (s*r) -> (r, s) reversed
        spec = [0] * (-axis - 1) + [-4, r, -1, -2]
        g = F.sum(F.Reshape(g, shape=tuple(reversed(spec)), reverse=True), axis=axis)
    return (F.reshape_like(g, ins[0]),)


# --- pad -----------------------------------------------------------------------------------
def _pad_pairs(s, mode, pad_width):
    s = tuple(s)
    nd = len(s)
    if nd not in (4, 5):
        raise MXNetError(f"pad: only 4-D and 5-D inputs are supported (as in MXNet), got "
                         f"shape {s}")
    if len(pad_width) != 2 * nd:
        raise MXNetError(f"pad: pad_width must have 2*ndim = {2 * nd} entries "
                         f"(before_1, after_1, ..., before_{nd}, after_{nd}), got "
                         f"{tuple(pad_width)}")
    pairs = [(pad_width[2 * i], pad_width[2 * i + 1]) for i in range(nd)]
    if pairs[0] != (0, 0) or pairs[1] != (0, 0):
        raise MXNetError(f"pad: padding of the first two axes (batch, channel) must be 0, got "
                         f"pad_width={tuple(pad_width)}")
    for i, (b, e) in enumerate(pairs):
        if b < 0 or e < 0:
            raise MXNetError(f"pad: pad widths must be non-negative, got "
                             f"pad_width={tuple(pad_width)}")
        if mode == "reflect" and (b >= s[i] or e >= s[i]):
            raise MXNetError(f"pad: mode='reflect' needs every pad width smaller than the "
                             f"axis it pads; axis {i} has size {s[i]}, widths ({b}, {e})")
    return pairs


def _pad_shape(a, s):
    pairs = _pad_pairs(s, a["mode"], a["pad_width"])
    return tuple(n + b + e for n, (b, e) in zip(s, pairs))


_PAD_MODE = Enum("constant", "edge", "reflect")


@register("Pad", aliases=("pad",), shape=forward_shape(_pad_shape))
def pad(rt, data, *, mode: _PAD_MODE, pad_width: Shape, constant_value: Float = 0.0):
    """Pad the spatial axes of a 4-D/5-D float array (MXNet's ``pad``/``Pad``).

    ``pad_width`` is ``(before_1, after_1, ..., before_N, after_N)`` with zeros for the first
    two axes; ``mode`` is 'constant' (fill with ``constant_value``), 'edge' (repeat the
    border value) or 'reflect' (mirror without repeating the border, widths smaller than
    the axis).
    """
    if data.dtype.kind != "f":
        raise MXNetError(f"pad: only floating point arrays are supported (as in MXNet), got "
                         f"{data.dtype.name}")
    pairs = _pad_pairs(data.shape, mode, pad_width)
    xp = rt.xp
    if mode == "constant":
        return xp.pad(data, pairs, mode="constant",
                      constant_values=data.dtype.type(constant_value))
    return xp.pad(data, pairs, mode=mode)


@pad.gradient
def _(F, a, ins, outs, ogs, need):
    if a["mode"] == "constant":
        pw = a["pad_width"]
        n = len(pw) // 2
        begin = tuple(pw[2 * i] for i in range(n))
        end = tuple(-pw[2 * i + 1] if pw[2 * i + 1] else None for i in range(n))
        return (F.slice(ogs[0], begin=begin, end=end),)
    return (F._backward_pad(ogs[0], ins[0], mode=a["mode"], pad_width=a["pad_width"]),)


def _source_positions(xp, n, before, after, mode):
    """For each position of a padded axis, the input position it copies (edge/reflect)."""
    p = xp.arange(-before, n + after, dtype="int64")
    if mode == "edge":
        return xp.clip(p, 0, n - 1)
    # reflect (widths < n): mirror about the first and the last element
    p = xp.abs(p)
    return xp.where(p > n - 1, 2 * (n - 1) - p, p)


@register("_backward_pad", shape=lambda a, s: (s, [s[1]]), index_inputs=("like",))
def _backward_pad(rt, ograd, like, *, mode: _PAD_MODE, pad_width: Shape):
    """Gradient of ``pad``: each element of ``ograd`` added back to the input element it was
    copied from (for 'constant' the interior is cut out)."""
    xp = rt.xp
    pairs = _pad_pairs(like.shape, mode, pad_width)
    want = tuple(n + b + e for n, (b, e) in zip(like.shape, pairs))
    if tuple(ograd.shape) != want:
        raise MXNetError(f"_backward_pad: ograd has shape {tuple(ograd.shape)}, expected {want}")
    g = ograd
    for ax, (b, e) in enumerate(pairs):
        if b == 0 and e == 0:
            continue
        n = like.shape[ax]
        if mode == "constant":
            g = xp.take(g, xp.arange(b, b + n), axis=ax)
            continue
        src = _source_positions(xp, n, b, e, mode)
        # the adjoint of "copy from src" along one axis is a product with the 0/1 matrix
        # M[p, i] = (src[p] == i): no scatter, one tensordot per padded axis
        m = (src[:, None] == xp.arange(n)[None, :]).astype(g.dtype)
        g = xp.moveaxis(xp.tensordot(g, m, axes=([ax], [0])), -1, ax)
    return xp.ascontiguousarray(g)


@_backward_pad.gradient
def _(F, a, ins, outs, ogs, need):
    return F.pad(ogs[0], mode=a["mode"], pad_width=a["pad_width"]), None


# --- flip ----------------------------------------------------------------------------------
def _flip_axes(ndim, axis):
    """Axes flipped an odd number of times (MXNet flips once per mention)."""
    odd = set()
    for a in axis:
        if not -ndim <= a < ndim:
            raise MXNetError(f"flip: axis {a} is out of range for an array with {ndim} "
                             "dimension(s)")
        odd ^= {a % ndim}
    return tuple(sorted(odd))


@register("reverse", aliases=("flip",), tags=("view",),
          shape=forward_shape(lambda a, s: (_flip_axes(len(s), a["axis"]), tuple(s))[1]))
def flip(rt, data, *, axis: Shape):
    """Reverse the order of elements along each axis in ``axis`` (MXNet's
    ``flip``/``reverse``); an axis listed twice is flipped twice."""
    axes = _flip_axes(data.ndim, axis)
    if not axes:
        return data.copy()
    return rt.xp.flip(data, axis=axes).copy()


@flip.gradient
def _(F, a, ins, outs, ogs, need):
    return (F.flip(ogs[0], axis=a["axis"]),)


# --- shape_array / size_array ----------------------------------------------------------------
@register("shape_array", shape=forward_shape(lambda a, s: (len(s),)),
          dtype=dtype_fixed("int64"))
def shape_array(rt, data):
    """The shape of ``data`` as a 1-D int64 array (MXNet's ``shape_array``)."""
    return rt.xp.asarray(tuple(data.shape), dtype="int64").reshape(data.ndim)


@register("size_array", shape=forward_shape(lambda a, s: (1,)), dtype=dtype_fixed("int64"))
def size_array(rt, data):
    """The number of elements of ``data`` as an int64 array of shape (1,) (MXNet's
    ``size_array``)."""
    return rt.xp.full((1,), data.size, dtype="int64")


# the outputs do not depend on the values: MXNet hands back zero gradients
shape_array.grad_fn = ZERO_GRAD
size_array.grad_fn = ZERO_GRAD
