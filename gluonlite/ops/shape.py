"""Shape manipulation: ``Reshape`` (with MXNet's special codes), ``Flatten``, ``transpose``,
``swapaxes``, ``expand_dims``, ``squeeze``, ``reshape_like``.

Reshapes return views of their input where the layout allows, as MXNet's ``reshape`` shares
memory; their gradients reshape the output gradient back with ``reshape_like``.
"""
from __future__ import annotations

from ..base import MXNetError
from .attrs import Bool, Int, OptShape, Shape
from .registry import register, forward_shape

__all__ = ["infer_reshape", "reshaped"]


def _prod(seq):
    n = 1
    for s in seq:
        n *= s
    return n


def _infer(dshape, spec):
    out, src, inf = [], 0, -1
    i = 0
    n = len(dshape)
    while i < len(spec):
        s = spec[i]
        if s > 0:
            out.append(s)
            src += 1
        elif s == 0:
            if src >= n:
                raise MXNetError(f"Reshape: code 0 at position {i} has no input dimension to "
                                 f"copy (input shape {tuple(dshape)})")
            out.append(dshape[src])
            src += 1
        elif s == -1:
            if inf >= 0:
                raise MXNetError("Reshape: only one dimension can be -1 (inferred)")
            inf = len(out)
            out.append(1)
            src += 1
        elif s == -2:
            out.extend(dshape[src:])
            src = n
        elif s == -3:
            if src + 1 >= n:
                raise MXNetError(f"Reshape: code -3 needs two input dimensions at position "
                                 f"{src} of {tuple(dshape)}")
            out.append(dshape[src] * dshape[src + 1])
            src += 2
        elif s == -4:
            if i + 2 >= len(spec) or src >= n:
                raise MXNetError("Reshape: code -4 must be followed by two dimensions and "
                                 "split an existing input dimension")
            d0, d1, d2 = dshape[src], spec[i + 1], spec[i + 2]
            i += 2
            if d1 == -1 and d2 == -1:
                raise MXNetError("Reshape: -4 cannot infer both split dimensions")
            if d1 == -1:
                d1 = d0 // d2 if d2 else 0
            if d2 == -1:
                d2 = d0 // d1 if d1 else 0
            if d1 * d2 != d0:
                raise MXNetError(f"Reshape: -4 split {d1}x{d2} does not match input dimension "
                                 f"{d0}")
            out.extend([d1, d2])
            src += 1
        else:
            raise MXNetError(f"Reshape: invalid shape code {s}")
        i += 1
    total = _prod(dshape)
    if inf >= 0:
        rest = _prod(out[:inf] + out[inf + 1:])
        if rest == 0 or total % rest:
            raise MXNetError(f"Reshape: cannot infer -1 when reshaping {tuple(dshape)} to "
                             f"{tuple(spec)}")
        out[inf] = total // rest
    if _prod(out) != total:
        raise MXNetError(f"Reshape: cannot reshape array of shape {tuple(dshape)} "
                         f"({total} elements) into shape {tuple(out)}")
    return tuple(out)


def infer_reshape(dshape, shape=(), reverse=False, target_shape=(), keep_highest=False):
    """Output shape of MXNet's ``Reshape`` for input shape ``dshape``."""
    dshape = tuple(dshape)
    if not shape and target_shape:
        # deprecated form: one 0 is inferred; keep_highest pins the first dimension
        spec = list(target_shape)
        if keep_highest:
            spec[0] = dshape[0]
        spec = [-1 if s == 0 else s for s in spec]
        return _infer(dshape, spec)
    if reverse:
        return tuple(reversed(_infer(tuple(reversed(dshape)), list(reversed(shape)))))
    return _infer(dshape, list(shape))


def reshaped(x, shape):
    """``x`` viewed with ``shape``: ``x`` itself when the shape does not change (a reshape
    shares memory with its input in MXNet too; returning the array itself saves the view
    and lets a gradient that passes through stay a buffer the caller may adopt)."""
    shape = tuple(shape)
    return x if x.shape == shape else x.reshape(shape)


def _lower_reshape(L, a, ins, outs):
    """The reshape family lowered: a view with the known output shape."""
    return f"{{0}}.reshape({tuple(outs[0].shape)!r})"


def _reshape_shape(a, s):
    return infer_reshape(s, a["shape"], a["reverse"], a["target_shape"], a["keep_highest"])


def _d_reshape(F, a, ins, outs, ogs, need):
    return (F.reshape_like(ogs[0], ins[0]),)


@register("Reshape", aliases=("reshape",), shape=forward_shape(_reshape_shape),
          tags=("view", "reshape"))
def Reshape(rt, data, *, shape: Shape = (), reverse: Bool = False, target_shape: Shape = (),
            keep_highest: Bool = False):
    """Reshape with MXNet's codes: 0 copies a dimension, -1 infers one, -2 copies the rest,
    -3 merges two, -4 splits one into the two that follow; ``reverse`` reads right to left."""
    return reshaped(data, infer_reshape(data.shape, shape, reverse, target_shape, keep_highest))


Reshape.lowering(_lower_reshape)
Reshape.gradient(_d_reshape)


@register("reshape_like", shape=forward_shape(lambda a, l, r: r), tags=("view", "reshape"),
          index_inputs=("rhs",))
def reshape_like(rt, lhs, rhs):
    """``lhs`` reshaped to the shape of ``rhs`` (same number of elements)."""
    if lhs.size != rhs.size:
        raise MXNetError(f"reshape_like: lhs has {lhs.size} elements but rhs shape "
                         f"{tuple(rhs.shape)} needs {rhs.size}")
    return reshaped(lhs, rhs.shape)


reshape_like.lowering(_lower_reshape)
@reshape_like.gradient
def _(F, a, ins, outs, ogs, need):
    return F.reshape_like(ogs[0], ins[0]), None


def _flat(s):
    return (s[0], _prod(s[1:])) if len(s) else (1, 1)


@register("Flatten", aliases=("flatten",), shape=forward_shape(lambda a, s: _flat(s)),
          tags=("view", "reshape"))
def Flatten(rt, data):
    """Collapse all axes but the first: (d1, d2, ..., dk) -> (d1, d2*...*dk)."""
    return reshaped(data, _flat(data.shape))


Flatten.lowering(_lower_reshape)
Flatten.gradient(_d_reshape)


def _perm(ndim, axes):
    if not axes:
        return tuple(reversed(range(ndim)))
    if sorted(a % ndim for a in axes) != list(range(ndim)):
        raise MXNetError(f"transpose: axes {tuple(axes)} is not a permutation of "
                         f"{ndim} axes")
    return tuple(a % ndim for a in axes)


@register("transpose", shape=forward_shape(
    lambda a, s: tuple(s[i] for i in _perm(len(s), a["axes"]))))
def transpose(rt, data, *, axes: Shape = ()):
    """Permute axes (reverse them when ``axes`` is empty)."""
    return rt.xp.ascontiguousarray(data.transpose(_perm(data.ndim, axes)))


@transpose.gradient
def _(F, a, ins, outs, ogs, need):
    axes = a["axes"]
    if not axes:  # reversing is its own inverse
        return (F.transpose(ogs[0]),)
    inv = [0] * len(axes)
    for i, q in enumerate(axes):
        inv[q % len(axes)] = i
    return (F.transpose(ogs[0], axes=tuple(inv)),)


@register("SwapAxis", aliases=("swapaxes",), shape=forward_shape(
    lambda a, s: _swap_shape(s, a["dim1"], a["dim2"])))
def swapaxes(rt, data, *, dim1: Int = 0, dim2: Int = 0):
    """Swap two axes."""
    _swap_shape(data.shape, dim1, dim2)
    return rt.xp.ascontiguousarray(rt.xp.swapaxes(data, dim1, dim2))


def _swap_shape(s, d1, d2):
    n = len(s)
    if not (-n <= d1 < n and -n <= d2 < n):
        raise MXNetError(f"swapaxes: dim1={d1}, dim2={d2} out of range for {n} dimensions")
    s = list(s)
    s[d1], s[d2] = s[d2], s[d1]
    return tuple(s)


@swapaxes.gradient
def _(F, a, ins, outs, ogs, need):
    return (F.swapaxes(ogs[0], dim1=a["dim1"], dim2=a["dim2"]),)


def _expand_shape(s, axis):
    n = len(s)
    if not -n - 1 <= axis <= n:
        raise MXNetError(f"expand_dims: axis {axis} out of range for {n} dimensions")
    axis = axis % (n + 1)
    return tuple(s[:axis]) + (1,) + tuple(s[axis:])


@register("expand_dims", shape=forward_shape(lambda a, s: _expand_shape(s, a["axis"])),
          tags=("view", "reshape"))
def expand_dims(rt, data, *, axis: Int):
    """Insert a size-1 axis at ``axis``."""
    return data.reshape(_expand_shape(data.shape, axis))


expand_dims.lowering(_lower_reshape)
expand_dims.gradient(_d_reshape)


def _squeeze_shape(s, axis):
    if axis is None:
        out = tuple(d for d in s if d != 1)
    else:
        axes = {a % len(s) for a in axis}
        for a in axes:
            if s[a] != 1:
                raise MXNetError(f"squeeze: axis {a} has size {s[a]}, only size-1 axes can "
                                 "be removed")
        out = tuple(d for i, d in enumerate(s) if i not in axes)
    return out if out else (1,)


@register("squeeze", shape=forward_shape(lambda a, s: _squeeze_shape(s, a["axis"])),
          tags=("view", "reshape"))
def squeeze(rt, data, *, axis: OptShape = None):
    """Remove size-1 axes (all, or those in ``axis``); never returns a 0-d array."""
    return reshaped(data, _squeeze_shape(data.shape, axis))


squeeze.lowering(_lower_reshape)
squeeze.gradient(_d_reshape)
