"""Type and device conversion: ``Cast``/``cast``, ``_cast_like`` and ``_copyto``."""
from __future__ import annotations

from .attrs import Ctx, DType
from .registry import register, shape_same, dtype_from_attr


@register("Cast", aliases=("cast",), shape=shape_same, dtype=dtype_from_attr("dtype"),
          tags=("elemwise",))
def Cast(rt, data, *, dtype: DType):
    """Convert to ``dtype`` (MXNet's ``Cast``); the gradient is cast back."""
    return data.astype(dtype)


@Cast.lowering
def _(L, a, ins, outs):
    return f"{{0}}.astype({L.bind(a['dtype'], 'D')})"


@Cast.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._cast_like(ogs[0], ins[0]),)


def _dtype_like(attrs, in_types, n_out):
    return in_types, [in_types[1]]


# tagged "view": with equal dtypes the result is ``data`` itself
@register("_cast_like", shape=lambda a, s: (s, [s[0]]), dtype=_dtype_like,
          tags=("elemwise", "view"), index_inputs=("like",))
def _cast_like(rt, data, like):
    """``data`` converted to the dtype of ``like``."""
    return data.astype(like.dtype, copy=False)


@_cast_like.lowering
def _(L, a, ins, outs):
    return f"{{0}}.astype({L.dtype(ins[1].dtype)}, copy=False)"


@_cast_like.gradient
def _(F, a, ins, outs, ogs, need):
    return F._cast_like(ogs[0], ins[0]), None


@register("_copyto", shape=shape_same, tags=("to_ctx",))
def _copyto(rt, data, *, ctx: Ctx, src: Ctx = None):
    """A copy of ``data`` (which lives on ``src``) on device ``ctx``."""
    xp = ctx._runtime(False).xp
    if not ctx.is_gpu:
        return data.copy() if xp is rt.xp else data.get()
    with xp.cuda.Device(ctx.device_id):
        return xp.array(data)


@_copyto.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._copyto(ogs[0], ctx=a["src"], src=a["ctx"]),)
