"""Sorting and selection: ``topk``, ``sort`` and ``argsort``.

MXNet 1.x semantics, checked against MXNet 1.9.1:

* ``axis=None`` works on the flattened array (``topk``'s 'mask' output keeps the input's
  shape); ``topk`` with ``k <= 0`` returns every element, sorted.
* Indices come out as ``dtype`` (float32 by default); a dtype that cannot hold every index
  of the axis exactly (uint8 for more than 256 elements, float16 for more than 2049) is
  an error here, where MXNet silently wraps.
* Order of equal elements: ties keep their original order (in both directions), which is
  what MXNet gives for small arrays; MXNet's CPU sort is not stable for larger ones, so
  there tie order is implementation-defined in MXNet. NaN sorts as the largest value.
* Gradients: the selected (``topk`` 'value'/'both') or sorted values send their gradient
  back to the positions they came from, through ``_scatter_along_axis``; indices and masks
  are not differentiable (zero gradient, as in MXNet). ``topk`` 'value' and ``sort`` keep
  the int64 positions as a hidden output for that purpose.
"""
from __future__ import annotations

from ..base import MXNetError
from .attrs import Bool, DType, Enum, Int, OptInt
from .registry import register, ZERO_GRAD
from .slicing import linear_positions

__all__ = ["stable_order"]

_INDEX_DTYPES = ("float16", "float32", "float64", "int32", "int64", "uint8")
# the largest axis length whose indices 0..n-1 the dtype holds exactly
_INDEX_LIMIT = {"float16": 2049, "uint8": 256, "float32": 2 ** 24 + 1, "int32": 2 ** 31}


def _argsort(xp, x, axis):
    if getattr(xp, "__name__", "") == "cupy":
        return xp.argsort(x, axis=axis)  # CuPy's sort is always stable
    return xp.argsort(x, axis=axis, kind="stable")


def stable_order(xp, x, axis, ascend):
    """int64 positions that sort ``x`` along ``axis``; equal elements keep their original
    order in both directions."""
    if ascend:
        return _argsort(xp, x, axis).astype("int64", copy=False)
    # descending and stable: sort the reversed array ascending, reverse the result and map
    # positions back (a plain reversal of an ascending sort would reverse the ties too)
    n = x.shape[axis]
    o = _argsort(xp, xp.flip(x, axis=axis), axis)
    return (n - 1) - xp.flip(o, axis=axis).astype("int64", copy=False)


def _layout(name, shape, axis):
    """(axis to work on, its length); ``axis=None`` means the flattened array (axis 0)."""
    if axis is None:
        return None, _prod(shape)
    nd = len(shape)
    if not -nd <= axis < nd:
        raise MXNetError(f"{name}: axis={axis} is out of range for an array with {nd} "
                         f"dimension(s) (expected {-nd} <= axis < {nd})")
    return axis % nd, shape[axis % nd]


def _prod(seq):
    n = 1
    for s in seq:
        n *= int(s)
    return n


def _check_index_dtype(name, dtype, n):
    if dtype not in _INDEX_DTYPES:
        raise MXNetError(f"{name}: dtype must be one of {', '.join(_INDEX_DTYPES)}, got {dtype}")
    limit = _INDEX_LIMIT.get(dtype)
    if limit is not None and n > limit:
        raise MXNetError(f"{name}: dtype {dtype} cannot represent the indices of an axis of "
                         f"length {n} exactly; use int32, int64 or float64")


def _k(name, k, n):
    if k > n:
        raise MXNetError(f"{name}: k={k} is larger than the number of elements ({n}) along the "
                         "axis")
    return n if k <= 0 else k


# --- topk ----------------------------------------------------------------------------------
_RET = Enum("both", "indices", "mask", "value")


def _topk_nout(a):
    return 2 if a["ret_typ"] in ("value", "both") else 1


def _topk_shapes(a, s):
    s = tuple(s)
    ax, n = _layout("topk", s, a["axis"])
    k = _k("topk", a["k"], n)
    if a["ret_typ"] == "mask":
        return [s]
    sel = (k,) if ax is None else s[:ax] + (k,) + s[ax + 1:]
    return [sel, sel]


def _topk_shape_rule(a, in_shapes):
    if in_shapes[0] is None:
        return in_shapes, [None] * _topk_nout(a)
    return in_shapes, _topk_shapes(a, in_shapes[0])


def _topk_dtype_rule(a, in_types, n_out):
    t = in_types[0]
    r = a["ret_typ"]
    if r == "value":
        return in_types, [t, "int64"]
    if r == "both":
        return in_types, [t, a["dtype"]]
    if r == "indices":
        return in_types, [a["dtype"]]
    return in_types, [t]


@register("topk", shape=_topk_shape_rule, dtype=_topk_dtype_rule, num_outputs=_topk_nout,
          visible_outputs=lambda a: 2 if a["ret_typ"] == "both" else 1)
def topk(rt, data, *, axis: OptInt = -1, k: Int = 1, ret_typ: _RET = "indices",
         is_ascend: Bool = False, dtype: DType = "float32"):
    """The ``k`` largest (or, with ``is_ascend``, smallest) elements along ``axis``
    (MXNet's ``topk``).

    ``ret_typ``: 'indices' (their positions, as ``dtype``), 'value' (the values, sorted),
    'both' (values and indices: two outputs) or 'mask' (an array of the input's shape
    holding 1 at the selected positions). ``axis=None`` selects from the flattened array;
    ``k <= 0`` selects everything.
    """
    xp = rt.xp
    ax, n = _layout("topk", data.shape, axis)
    k = _k("topk", k, n)
    if ret_typ in ("indices", "both"):
        _check_index_dtype("topk", dtype, n)
    x = data.reshape(-1) if ax is None else data
    a = 0 if ax is None else ax
    order = stable_order(xp, x, a, is_ascend)
    sel = order[(slice(None),) * a + (slice(0, k),)]
    if ret_typ == "mask":
        mask = xp.zeros(x.shape, data.dtype)
        mask.reshape(-1)[linear_positions(xp, x.shape, sel, a).reshape(-1)] = 1
        return mask.reshape(data.shape)
    if ret_typ == "indices":
        return sel.astype(dtype)
    values = xp.take_along_axis(x, sel, axis=a)
    if ret_typ == "value":
        return values, sel
    return values, sel.astype(dtype)


@topk.gradient
def _(F, a, ins, outs, ogs, need):
    if a["ret_typ"] not in ("value", "both"):
        return (None,)
    return (F._scatter_along_axis(ogs[0], outs[1], ins[0], axis=a["axis"]),)


# --- sort ----------------------------------------------------------------------------------
def _sort_shape_rule(a, in_shapes):
    s = in_shapes[0]
    if s is None:
        return in_shapes, [None, None]
    ax, n = _layout("sort", tuple(s), a["axis"])
    out = (n,) if ax is None else tuple(s)
    return in_shapes, [out, out]


@register("sort", shape=_sort_shape_rule, dtype=lambda a, t, n: (t, [t[0], "int64"]),
          num_outputs=2, visible_outputs=1)
def sort(rt, data, *, axis: OptInt = -1, is_ascend: Bool = True):
    """``data`` sorted along ``axis`` (MXNet's ``sort``); ``axis=None`` sorts the flattened
    array; ``is_ascend=False`` sorts in descending order."""
    xp = rt.xp
    ax, _ = _layout("sort", data.shape, axis)
    x = data.reshape(-1) if ax is None else data
    a = 0 if ax is None else ax
    order = stable_order(xp, x, a, is_ascend)
    return xp.take_along_axis(x, order, axis=a), order


@sort.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._scatter_along_axis(ogs[0], outs[1], ins[0], axis=a["axis"]),)


# --- argsort -------------------------------------------------------------------------------
def _argsort_shape_rule(a, in_shapes):
    s = in_shapes[0]
    if s is None:
        return in_shapes, [None]
    ax, n = _layout("argsort", tuple(s), a["axis"])
    return in_shapes, [(n,) if ax is None else tuple(s)]


@register("argsort", shape=_argsort_shape_rule, dtype=lambda a, t, n: (t, [a["dtype"]]))
def argsort(rt, data, *, axis: OptInt = -1, is_ascend: Bool = True,
            dtype: DType = "float32"):
    """Positions that sort ``data`` along ``axis``, as ``dtype`` (MXNet's ``argsort``);
    ``axis=None`` sorts the flattened array."""
    ax, n = _layout("argsort", data.shape, axis)
    _check_index_dtype("argsort", dtype, n)
    x = data.reshape(-1) if ax is None else data
    return stable_order(rt.xp, x, 0 if ax is None else ax, is_ascend).astype(dtype)


# positions do not change under small perturbations: MXNet hands back zero gradients
argsort.grad_fn = ZERO_GRAD
