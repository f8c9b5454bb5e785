"""Slicing and indexing operators: ``slice`` (``crop``), ``slice_axis``, ``slice_like``,
``take``, ``pick`` (``choose_element_0index``), ``one_hot``, ``where``, and the helpers
their gradients are made of.

MXNet 1.x semantics, checked against MXNet 1.9.1:

* ``slice`` follows Python slicing on every listed axis (``None`` entries, negative
  indices and steps, out-of-range bounds clipped); ``slice_axis`` is stricter: ``begin``
  must be an int, and after adding the axis size to negative values it needs
  ``0 <= begin < end <= size`` (an empty result is an error).
* ``take`` and ``pick`` accept float indices and truncate them towards zero; ``mode='clip'``
  clips to ``[0, n-1]`` (so -1 becomes 0), ``'wrap'`` wraps (-1 becomes n-1) and ``'raise'``
  (``take`` only) rejects any index outside ``[0, n-1]``, negative ones included.
* ``one_hot`` writes ``off_value`` on the whole row of an index outside ``[0, depth)``.
* ``where``'s condition has the shape of ``x`` or is 1-D over its first axis; any nonzero
  (NaN included) selects ``x``.

Gradient helpers (registered so that gradients are graphs of operators and can be
differentiated again): ``_backward_slice``, ``_backward_slice_axis``,
``_backward_slice_like``, ``_backward_take``, and the pair ``_gather_along_axis`` /
``_scatter_along_axis`` (each the gradient of the other), which ``pick``, ``topk``,
``sort`` and ``_sample_multinomial`` use too.
"""
from __future__ import annotations

from builtins import slice as _pyslice

import numpy as np

from ..base import MXNetError
from .attrs import AttrType, Bool, DType, Enum, Float, Int, OptInt, Shape, literal
from .registry import register, forward_shape, ZERO_GRAD

__all__ = ["OptIntTuple", "norm_index", "linear_positions"]


class _OptIntTuple(AttrType):
    """A tuple whose entries are ints or None (``begin``/``end``/``step`` of ``slice``).

    Parses Python tuples/lists/ints and MXNet's strings such as ``"(None, 1)"``; dumps
    the way MXNet writes them.
    """

    kind = "tuple of int or None"

    def parse(self, v):
        if isinstance(v, str):
            s = v.strip()
            if not s:
                return ()
            v = literal(s, "a tuple of ints or None")
        if v is None or isinstance(v, (int, float)):
            v = (v,)
        if not isinstance(v, (list, tuple)):
            raise ValueError(f"expected a tuple of ints or None, got {v!r}")
        out = []
        for x in v:
            if x is None:
                out.append(None)
            elif isinstance(x, bool):
                raise ValueError(f"expected a tuple of ints or None, got {v!r}")
            elif isinstance(x, int) or (isinstance(x, float) and x.is_integer()):
                out.append(int(x))
            elif hasattr(x, "dtype") and getattr(x, "shape", None) == () and \
                    x.dtype.kind in "iu":
                out.append(int(x))
            else:
                raise ValueError(f"expected a tuple of ints or None, got {v!r}")
        return tuple(out)

    def dump(self, v):
        return str(tuple(v))


OptIntTuple = _OptIntTuple()
# MXNet's index modes: take also has 'raise'
_TAKE_MODE = Enum("clip", "raise", "wrap")
_PICK_MODE = Enum("clip", "wrap")


def _prod(seq):
    n = 1
    for s in seq:
        n *= int(s)
    return n


def _axis(name, axis, ndim, what="axis"):
    """Normalise ``axis`` to [0, ndim); MXNetError naming the operator otherwise."""
    if not -ndim <= axis < ndim:
        raise MXNetError(f"{name}: {what}={axis} is out of range for an array with {ndim} "
                         f"dimension(s) (expected {-ndim} <= {what} < {ndim})")
    return axis % ndim


# --- index normalisation (take, pick, gather/scatter) ----------------------------------------
def norm_index(rt, name, index, n, mode):
    """Integer positions in [0, n) from MXNet-style ``index`` (any numeric dtype).

    Float indices are truncated towards zero (C casts, as MXNet does); ``mode`` is 'clip',
    'wrap' or 'raise' (any index outside [0, n-1] is an error).
    """
    xp = rt.xp
    if index.dtype.kind not in "iufb":
        raise MXNetError(f"{name}: indices must be a numeric array, got dtype "
                         f"{index.dtype.name}")
    if mode == "raise":
        if index.size and bool(xp.any((index < 0) | (index > n - 1))):
            raise MXNetError(f"{name}: mode='raise' and some indices are out of bounds: every "
                             f"index must lie in [0, {n - 1}]")
    idx = index.astype("int64") if index.dtype != xp.int64 else index
    if n == 0:
        return idx
    if mode == "wrap":
        return idx % n
    return xp.clip(idx, 0, n - 1)


# --- slice ---------------------------------------------------------------------------------
def _slice_key(name, shape, begin, end, step):
    if len(begin) != len(end):
        raise MXNetError(f"{name}: begin {tuple(begin)} and end {tuple(end)} must have the same "
                         "length")
    if step and len(step) != len(begin):
        raise MXNetError(f"{name}: step {tuple(step)} must have the same length as begin "
                         f"{tuple(begin)}")
    if len(begin) > len(shape):
        raise MXNetError(f"{name}: begin/end have {len(begin)} entries but the input has only "
                         f"{len(shape)} dimension(s) (shape {tuple(shape)})")
    key = []
    for i, (b, e) in enumerate(zip(begin, end)):
        s = step[i] if step else None
        if s == 0:
            raise MXNetError(f"{name}: step[{i}] must not be 0")
        key.append(_pyslice(b, e, s))
    return tuple(key)


def _slice_shape(name, shape, begin, end, step):
    key = _slice_key(name, shape, begin, end, step)
    out = [len(range(*k.indices(n))) for k, n in zip(key, shape)]
    return tuple(out) + tuple(shape[len(key):])


@register("slice", aliases=("crop",), tags=("view",), shape=forward_shape(
    lambda a, s: _slice_shape("slice", s, a["begin"], a["end"], a["step"])))
def slice_op(rt, data, *, begin: OptIntTuple, end: OptIntTuple, step: OptIntTuple = ()):
    """Slice the leading ``len(begin)`` axes like Python's ``data[b0:e0:s0, b1:e1:s1, ...]``
    (MXNet's ``slice``/``crop``); ``None`` entries take the defaults of Python slicing."""
    key = _slice_key("slice", data.shape, begin, end, step)
    return data[key].copy()


@slice_op.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_slice(ogs[0], ins[0], begin=a["begin"], end=a["end"], step=a["step"]),)


@register("_backward_slice", shape=lambda a, s: (s, [s[1]]), index_inputs=("like",))
def _backward_slice(rt, ograd, like, *, begin: OptIntTuple, end: OptIntTuple,
                    step: OptIntTuple = ()):
    """Gradient of ``slice``: zeros shaped like ``like`` with ``ograd`` written into the
    sliced region."""
    key = _slice_key("_backward_slice", like.shape, begin, end, step)
    out = rt.xp.zeros(like.shape, ograd.dtype)
    out[key] = ograd
    return out


@_backward_slice.gradient
def _(F, a, ins, outs, ogs, need):
    return F.slice(ogs[0], begin=a["begin"], end=a["end"], step=a["step"]), None


# --- slice_axis ----------------------------------------------------------------------------
def _slice_axis_range(shape, axis, begin, end):
    ax = _axis("slice_axis", axis, len(shape))
    n = shape[ax]
    b = begin + n if begin < 0 else begin
    e = n if end is None else (end + n if end < 0 else end)
    # the checks (and their order) of MXNet's GetSliceAxisParams
    if n > 0 and not b < e:
        raise MXNetError(f"slice_axis: invalid begin={begin}, end={end} for axis {axis} of "
                         f"size {n}: begin must be before end (empty slices are not allowed)")
    if e < 0 or e > n:
        raise MXNetError(f"slice_axis: end={end} is out of range for axis {axis} of size {n}")
    if b < 0:
        raise MXNetError(f"slice_axis: begin={begin} is out of range for axis {axis} of "
                         f"size {n}")
    return ax, b, e


def _slice_axis_shape(a, s):
    ax, b, e = _slice_axis_range(s, a["axis"], a["begin"], a["end"])
    return tuple(s[:ax]) + (e - b,) + tuple(s[ax + 1:])


@register("slice_axis", tags=("view",), shape=forward_shape(_slice_axis_shape))
def slice_axis(rt, data, *, axis: Int, begin: Int, end: OptInt):
    """``data`` restricted to ``begin:end`` along ``axis`` (MXNet's ``slice_axis``).

    Negative ``axis``/``begin``/``end`` count from the end, ``end=None`` means the axis
    size; unlike ``slice``, the range must be non-empty and inside the axis.
    """
    ax, b, e = _slice_axis_range(data.shape, axis, begin, end)
    return data[(_pyslice(None),) * ax + (_pyslice(b, e),)].copy()


@slice_axis.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_slice_axis(ogs[0], ins[0], axis=a["axis"], begin=a["begin"],
                                   end=a["end"]),)


@register("_backward_slice_axis", shape=lambda a, s: (s, [s[1]]), index_inputs=("like",))
def _backward_slice_axis(rt, ograd, like, *, axis: Int, begin: Int, end: OptInt):
    """Gradient of ``slice_axis``: zeros shaped like ``like`` with ``ograd`` at
    ``begin:end`` along ``axis``."""
    ax, b, e = _slice_axis_range(like.shape, axis, begin, end)
    out = rt.xp.zeros(like.shape, ograd.dtype)
    out[(_pyslice(None),) * ax + (_pyslice(b, e),)] = ograd
    return out


@_backward_slice_axis.gradient
def _(F, a, ins, outs, ogs, need):
    return F.slice_axis(ogs[0], axis=a["axis"], begin=a["begin"], end=a["end"]), None


# --- slice_like ----------------------------------------------------------------------------
def _slice_like_shape(shape, like, axes):
    shape, like = tuple(shape), tuple(like)
    out = list(shape)
    if not axes:
        if len(shape) != len(like):
            raise MXNetError(f"slice_like: without axes every axis is sliced, so data "
                             f"{shape} and shape_like {like} need the same number of "
                             "dimensions")
        axes = range(len(shape))
    for ax0 in axes:
        ax = ax0 + len(shape) if ax0 < 0 else ax0
        if not 0 <= ax < len(shape):
            raise MXNetError(f"slice_like: axis {ax0} is out of range for data of shape "
                             f"{shape}")
        if ax >= len(like):
            raise MXNetError(f"slice_like: axis {ax0} is out of range for shape_like of shape "
                             f"{like}")
        if like[ax] > shape[ax]:
            raise MXNetError(f"slice_like: axis {ax} of shape_like has size {like[ax]}, larger "
                             f"than the data's {shape[ax]} (data {shape}, shape_like {like})")
        out[ax] = like[ax]
    return tuple(out)


@register("slice_like", tags=("view",), index_inputs=("shape_like",),
          shape=forward_shape(lambda a, s, l: _slice_like_shape(s, l, a["axes"])))
def slice_like(rt, data, shape_like, *, axes: Shape = ()):
    """The leading corner of ``data`` with the size of ``shape_like`` on ``axes`` (every axis
    when ``axes`` is empty), as MXNet's ``slice_like``."""
    out = _slice_like_shape(data.shape, shape_like.shape, axes)
    return data[tuple(_pyslice(0, n) for n in out)].copy()


@slice_like.gradient
def _(F, a, ins, outs, ogs, need):
    return F._backward_slice_like(ogs[0], ins[0]), None


@register("_backward_slice_like", shape=lambda a, s: (s, [s[1]]), index_inputs=("like",))
def _backward_slice_like(rt, ograd, like):
    """Gradient of ``slice_like``: zeros shaped like ``like`` with ``ograd`` in the leading
    corner."""
    if ograd.ndim != like.ndim or any(g > n for g, n in zip(ograd.shape, like.shape)):
        raise MXNetError(f"_backward_slice_like: ograd shape {tuple(ograd.shape)} does not fit "
                         f"in {tuple(like.shape)}")
    out = rt.xp.zeros(like.shape, ograd.dtype)
    out[tuple(_pyslice(0, n) for n in ograd.shape)] = ograd
    return out


@_backward_slice_like.gradient
def _(F, a, ins, outs, ogs, need):
    return F.slice_like(ogs[0], ins[0]), None


# --- take ----------------------------------------------------------------------------------
def _take_shape(a, s, i):
    ax = _axis("take", a["axis"], len(s))
    return tuple(s[:ax]) + tuple(i) + tuple(s[ax + 1:])


@register("take", index_inputs=("indices",), shape=forward_shape(_take_shape))
def take(rt, a, indices, *, axis: Int = 0, mode: _TAKE_MODE = "clip"):
    """Elements of ``a`` at ``indices`` along ``axis`` (MXNet's ``take``): the output shape
    is ``a.shape[:axis] + indices.shape + a.shape[axis+1:]``.

    Indices may be float (truncated towards zero); out-of-range ones are clipped to
    [0, n-1] (``mode='clip'``), wrapped (``'wrap'``) or rejected (``'raise'``).
    """
    ax = _axis("take", axis, a.ndim)
    n = a.shape[ax]
    if n == 0 and indices.size:
        raise MXNetError(f"take: cannot take from axis {axis} of size 0")
    idx = norm_index(rt, "take", indices, n, mode)
    return rt.xp.take(a, idx, axis=ax)


@take.gradient
def _(F, a, ins, outs, ogs, need):
    return F._backward_take(ogs[0], ins[1], ins[0], axis=a["axis"], mode=a["mode"]), None


@register("_backward_take", index_inputs=("indices", "like"),
          shape=lambda a, s: (s, [s[2]]))
def _backward_take(rt, ograd, indices, like, *, axis: Int = 0,
                   mode: _TAKE_MODE = "clip"):
    """Gradient of ``take``: zeros shaped like ``like`` with every row of ``ograd`` added at
    its (normalised) index along ``axis``; repeated indices accumulate."""
    xp = rt.xp
    ax = _axis("_backward_take", axis, like.ndim)
    n = like.shape[ax]
    want = tuple(like.shape[:ax]) + tuple(indices.shape) + tuple(like.shape[ax + 1:])
    if tuple(ograd.shape) != want:
        raise MXNetError(f"_backward_take: ograd has shape {tuple(ograd.shape)}, expected "
                         f"{want}")
    idx = norm_index(rt, "_backward_take", indices, n, mode).reshape(-1)
    pre, post = tuple(like.shape[:ax]), tuple(like.shape[ax + 1:])
    m, rest = idx.size, _prod(pre) * _prod(post)
    # rows of the index axis first, everything else flattened: one scatter-add on axis 0
    g = xp.moveaxis(ograd.reshape(pre + (m,) + post), ax, 0).reshape(m, rest)
    out = xp.zeros((n, rest), ograd.dtype)
    if m and rest:
        xp.add.at(out, idx, g)
    out = xp.moveaxis(out.reshape((n,) + pre + post), 0, ax)
    return xp.ascontiguousarray(out)


@_backward_take.gradient
def _(F, a, ins, outs, ogs, need):
    return F.take(ogs[0], ins[1], axis=a["axis"], mode=a["mode"]), None, None


# --- gather / scatter along an axis ----------------------------------------------------------
def _along_layout(name, shape, ishape, axis):
    """Normalised axis and the index shape with its block of sample axes merged into one.

    ``ishape`` must be ``shape[:axis] + S + shape[axis+1:]`` for some (possibly empty)
    tuple S of sample axes; returns ``(axis, shape[:axis] + (prod(S),) + shape[axis+1:])``.
    ``axis=None`` addresses the flattened array (any index shape).
    """
    shape, ishape = tuple(shape), tuple(ishape)
    if axis is None:
        return None, (_prod(ishape),)
    ax = _axis(name, axis, len(shape))
    nlead, ntrail = ax, len(shape) - ax - 1
    nsamp = len(ishape) - nlead - ntrail
    if nsamp < 0 or ishape[:nlead] != shape[:nlead] or \
            ishape[len(ishape) - ntrail:] != shape[ax + 1:]:
        raise MXNetError(f"{name}: index of shape {ishape} does not match data of shape {shape} "
                         f"along axis {axis}: expected {shape[:ax]} + (...) + {shape[ax + 1:]}")
    return ax, shape[:ax] + (_prod(ishape[nlead:nlead + nsamp]),) + shape[ax + 1:]


def linear_positions(xp, shape, idx, ax):
    """C-order flat positions in an array of ``shape`` of ``idx`` (positions along ``ax``,
    of the shape of ``shape`` with axis ``ax`` resized)."""
    ndim = len(shape)
    strides = [_prod(shape[d + 1:]) for d in range(ndim)]
    lin = idx * strides[ax]
    for d in range(ndim):
        if d != ax:
            r = xp.arange(idx.shape[d], dtype="int64").reshape(
                tuple(-1 if i == d else 1 for i in range(ndim)))
            lin = lin + r * strides[d]
    return lin


@register("_gather_along_axis", index_inputs=("index",), shape=lambda a, s: (s, [s[1]]))
def _gather_along_axis(rt, data, index, *, axis: OptInt = -1,
                       mode: _PICK_MODE = "clip"):
    """``out[..., j..., ...] = data[..., index[..., j..., ...], ...]`` along ``axis``: the output
    has the index's shape, which is ``data.shape`` with ``axis`` replaced by any number of
    axes (none, one, several); ``axis=None`` indexes the flattened data. Indices are
    normalised as ``pick``'s (truncated, then clipped or wrapped)."""
    xp = rt.xp
    ax, merged = _along_layout("_gather_along_axis", data.shape, index.shape, axis)
    if ax is None:
        idx = norm_index(rt, "_gather_along_axis", index, data.size, mode)
        return data.reshape(-1)[idx.reshape(-1)].reshape(index.shape)
    idx = norm_index(rt, "_gather_along_axis", index, data.shape[ax], mode).reshape(merged)
    return xp.take_along_axis(data, idx, axis=ax).reshape(index.shape)


@_gather_along_axis.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._scatter_along_axis(ogs[0], ins[1], ins[0], axis=a["axis"], mode=a["mode"]),
            None)


@register("_scatter_along_axis", index_inputs=("index", "like"),
          shape=lambda a, s: (s, [s[2]]))
def _scatter_along_axis(rt, ograd, index, like, *, axis: OptInt = -1,
                        mode: _PICK_MODE = "clip"):
    """The adjoint of ``_gather_along_axis``: zeros shaped like ``like`` with each element of
    ``ograd`` (reshaped to the index's shape) added at the position ``index`` names along
    ``axis``; repeated positions accumulate."""
    xp = rt.xp
    if ograd.size != index.size:
        raise MXNetError(f"_scatter_along_axis: ograd has {ograd.size} elements but the index "
                         f"has {index.size} (shape {tuple(index.shape)})")
    ax, merged = _along_layout("_scatter_along_axis", like.shape, index.shape, axis)
    out = xp.zeros(like.shape, ograd.dtype)
    if ax is None:
        lin = norm_index(rt, "_scatter_along_axis", index, like.size, mode).reshape(-1)
    else:
        idx = norm_index(rt, "_scatter_along_axis", index, like.shape[ax], mode)
        lin = linear_positions(xp, like.shape, idx.reshape(merged), ax).reshape(-1)
    if lin.size:
        xp.add.at(out.reshape(-1), lin, ograd.reshape(-1))
    return out


def scatter_one_per_row(xp, ograd, idx, shape, dtype, ax):
    """``_scatter_along_axis`` when the index holds one position per row along ``ax``
    (``idx`` already normalised, shaped like ``shape`` with ``ax`` of size 1): no position
    repeats, so the scatter-add is a plain assignment."""
    out = xp.zeros(shape, dtype)
    if len(shape) == 2 and ax == 1:
        out[xp.arange(shape[0]), idx.reshape(-1)] = ograd.reshape(-1)
    else:
        xp.put_along_axis(out, idx, ograd.reshape(idx.shape), axis=ax)
    return out


@_scatter_along_axis.lowering
def _(L, a, ins, outs):
    g, index, like = ins
    if not L.cpu or a["axis"] is None or not -like.ndim <= a["axis"] < like.ndim:
        return None
    ax = a["axis"] % like.ndim
    kept = tuple(like.shape[:ax]) + (1,) + tuple(like.shape[ax + 1:])
    if index.size != _prod(kept) or g.size != index.size:
        return None
    try:
        _along_layout("_scatter_along_axis", like.shape, index.shape, a["axis"])
    except MXNetError:
        return None
    idx = _index_expr(L, index, like.shape[ax], a["mode"])
    if idx is None:
        return None
    fn = L.bind(scatter_one_per_row, "scatter_one_per_row")
    return (f"{fn}(xp, {{0}}, {idx}.reshape({kept!r}), {tuple(like.shape)!r}, "
            f"{L.dtype(g.dtype)}, {ax})")


@_scatter_along_axis.gradient
def _(F, a, ins, outs, ogs, need):
    g = F._gather_along_axis(ogs[0], ins[1], axis=a["axis"], mode=a["mode"])
    return F.reshape_like(g, ins[0]), None, None


# --- pick ----------------------------------------------------------------------------------
def _pick_shape(s, ishape, axis, keepdims):
    s, ishape = tuple(s), tuple(ishape)
    if axis is None:
        raise MXNetError("pick: axis=None is not supported (as in MXNet 1.x); give the axis "
                         "to pick along")
    ax = _axis("pick", axis, len(s))
    reduced = s[:ax] + s[ax + 1:]
    kept = s[:ax] + (1,) + s[ax + 1:]
    if ishape not in (reduced, kept) and not (not reduced and ishape == (1,)):
        raise MXNetError(f"pick: index has shape {ishape}, expected {reduced or (1,)} or "
                         f"{kept} for data of shape {s} and axis={axis}")
    out = kept if keepdims else reduced
    return ax, (out if out else (1,))


@register("pick", aliases=("choose_element_0index",), index_inputs=("index",),
          shape=forward_shape(lambda a, s, i: _pick_shape(s, i, a["axis"], a["keepdims"])[1]))
def pick(rt, data, index, *, axis: OptInt = -1, keepdims: Bool = False,
         mode: _PICK_MODE = "clip"):
    """One element of ``data`` per position along ``axis``, chosen by ``index`` (MXNet's
    ``pick``): ``out[i, j] = data[i, index[i, j], j]`` for ``axis=1`` of 3-D data.

    ``index`` has the data's shape without ``axis`` (or with size 1 there); it may be float
    (truncated) and is clipped (``mode='clip'``) or wrapped (``'wrap'``) into range.
    ``keepdims`` keeps the picked axis with size 1.
    """
    ax, out = _pick_shape(data.shape, index.shape, axis, keepdims)
    xp = rt.xp
    kept = tuple(data.shape[:ax]) + (1,) + tuple(data.shape[ax + 1:])
    idx = norm_index(rt, "pick", index, data.shape[ax], mode).reshape(kept)
    return xp.take_along_axis(data, idx, axis=ax).reshape(out)


def _index_expr(L, index, n, mode):
    """Lowered :func:`norm_index` for ``n > 0`` and mode 'clip' or 'wrap' (None for
    'raise', which checks values)."""
    if mode == "raise" or n == 0 or np.dtype(index.dtype).kind not in "iufb":
        return None
    idx = "{1}" if index.dtype == "int64" else "{1}.astype('int64')"
    if mode == "wrap":
        return f"({idx} % {n})"
    # what xp.clip(idx, 0, n - 1) computes, without its wrapper's overhead
    return f"xp.minimum(xp.maximum({idx}, 0), {n - 1})"


@pick.lowering
def _(L, a, ins, outs):
    data, index = ins
    if a["axis"] is None or not -data.ndim <= a["axis"] < data.ndim:
        return None
    ax = a["axis"] % data.ndim
    idx = _index_expr(L, index, data.shape[ax], a["mode"])
    if idx is None:
        return None
    out = tuple(outs[0].shape)
    if data.ndim == 2 and ax == 1 and index.size == data.shape[0]:
        # one element per row: plain fancy indexing, (n,) rows
        rows = L.bind(np.arange(data.shape[0]), "rows")
        return f"{{0}}[{rows}, {idx}.reshape(-1)].reshape({out!r})"
    kept = tuple(data.shape[:ax]) + (1,) + tuple(data.shape[ax + 1:])
    return (f"xp.take_along_axis({{0}}, {idx}.reshape({kept!r}), axis={ax})"
            f".reshape({out!r})")


@pick.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._scatter_along_axis(ogs[0], ins[1], ins[0], axis=a["axis"], mode=a["mode"]),
            None)


# --- one_hot -------------------------------------------------------------------------------
_ONE_HOT_DTYPES = ("bfloat16", "float16", "float32", "float64", "int32", "int64", "int8",
                   "uint8")


def _fill_value(xp, v, dtype):
    """``v`` converted to ``dtype`` as C does it: integers truncate towards zero, then wrap."""
    if dtype.startswith(("int", "uint")):
        return xp.asarray(int(v), dtype="int64").astype(dtype)
    return xp.asarray(v, dtype=dtype)


@register("one_hot", shape=forward_shape(lambda a, s: tuple(s) + (a["depth"],)),
          dtype=lambda a, t, n: (t, [a["dtype"]]))
def one_hot(rt, indices, *, depth: Int, on_value: Float = 1.0, off_value: Float = 0.0,
            dtype: DType = "float32"):
    """One-hot rows of length ``depth`` (MXNet's ``one_hot``): the output has shape
    ``indices.shape + (depth,)``, ``on_value`` at each index and ``off_value`` elsewhere.

    Float indices are truncated towards zero; an index outside ``[0, depth)`` gives a row of
    ``off_value`` only.
    """
    xp = rt.xp
    if depth < 0:
        raise MXNetError(f"one_hot: depth must be a non-negative integer, got {depth}")
    if dtype not in _ONE_HOT_DTYPES:
        raise MXNetError(f"one_hot: dtype must be one of {', '.join(_ONE_HOT_DTYPES)}, got "
                         f"{dtype}")
    if indices.dtype.kind not in "iufb":
        raise MXNetError(f"one_hot: indices must be numeric, got {indices.dtype.name}")
    idx = indices.astype("int64")
    hit = idx[..., None] == xp.arange(depth, dtype="int64")
    return xp.where(hit, _fill_value(xp, on_value, dtype), _fill_value(xp, off_value, dtype))


# one_hot is piecewise constant in its indices; MXNet hands back zero gradients
one_hot.grad_fn = ZERO_GRAD


# --- where ---------------------------------------------------------------------------------
def _where_shape(c, x, y):
    c, x, y = tuple(c), tuple(x), tuple(y)
    if x != y:
        raise MXNetError(f"where: x and y must have the same shape, got {x} and {y}")
    if c != x and not (len(c) == 1 and len(x) >= 1 and c[0] == x[0]):
        raise MXNetError(f"where: condition has shape {c}; it must have the shape of x {x} or "
                         f"be 1-D of length {x[0] if x else 0} (selecting along the first "
                         "axis)")
    return x


@register("where", index_inputs=("condition",),
          shape=forward_shape(lambda a, c, x, y: _where_shape(c, x, y)),
          dtype=lambda a, t, n: (t, [t[1] if t[1] is not None else t[2]]))
def where(rt, condition, x, y):
    """Elements of ``x`` where ``condition`` is nonzero, else of ``y`` (MXNet's ``where``).

    ``condition`` has the shape of ``x`` (any dtype) or is 1-D over the first axis of ``x``,
    choosing whole rows.
    """
    _where_shape(condition.shape, x.shape, y.shape)
    c = condition
    if c.shape != x.shape:
        c = c.reshape((c.shape[0],) + (1,) * (x.ndim - 1))
    return rt.xp.where(c != 0, x, y)


@where.gradient
def _(F, a, ins, outs, ogs, need):
    c, g = ins[0], ogs[0]
    z = F.zeros_like(g)
    return (None,
            F.where(c, g, z) if need[1] else None,
            F.where(c, z, g) if need[2] else None)
