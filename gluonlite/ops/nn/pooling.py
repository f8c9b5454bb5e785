"""Pooling: MXNet's ``Pooling`` (max, avg, sum and Lp pooling over 1-D, 2-D and 3-D windows,
global pooling, the 'valid', 'full' and 'same' conventions, channel-first and channel-last
layouts) and its backward operator ``_backward_Pooling``.

How it is computed (numpy or cupy through ``rt.xp``): the input is padded once (with the
lowest finite value of its dtype for max pooling, so padding never wins, and with zeros
otherwise) and the windows are strided slices of it. For small kernels the reduction is one
vectorised ``maximum``/``add`` per kernel offset over all windows at once (4 operations for a
2x2 kernel), which is much faster than reducing a strided window view whose innermost axes
are tiny; large non-overlapping kernels (global pooling) reduce the window view directly.

MXNet semantics reproduced here (MXNet 1.9.1's CPU kernels, oneDNN and its own agree):

* output size per dimension: 'valid' ``floor((x + 2p - k) / s) + 1``, 'full'
  ``ceil((x + 2p - k) / s) + 1``; 'same' (1-D only, no padding) ``ceil(x / s)`` windows
  starting at ``i * s``; windows running past the padded input are cut there.
* avg pooling divides by the window's size inside the padded input
  (``count_include_pad=True``, the default) or inside the input itself (False).
* a max-pooling window that lies entirely in the padding yields the dtype's lowest value
  and passes no gradient; the gradient of a window goes to the *first* position (in
  row-major window order) holding the maximum, as MXNet does with ties.
* Lp pooling (``p_value`` 1, 2 or 3) is ``(sum x^p)^(1/p)`` with a signed cube root for 3
  and no absolute value for 1; its gradient is MXNet's ``og * (x / y)^(p-1)`` (``og``
  itself for p = 1, 0 where ``y == 0``).
* float16 is computed in float32 and rounded back; integer data is rejected, as in MXNet.
* checks follow MXNet's default (oneDNN) CPU build: max and avg pooling need
  ``pad < kernel``. 'same' follows MXNet's own kernels: the oneDNN build rejects it, and
  MXNet's shape rule only lets it through with a three-entry ``pad`` of zeros.

``_backward_Pooling`` is differentiable again (second order): avg/sum pooling's backward is
linear with ``Pooling`` as its transpose, max pooling's transpose is the gather
``_pooling_argmax_take``, and Lp pooling's is written with sum pooling and elementwise math.
"""
from __future__ import annotations

import itertools

from ...base import MXNetError
from ..attrs import Bool, Enum, OptBool, OptEnum, OptInt, Shape
from ..registry import register

__all__ = ["pooling_output_size"]



_POOL_TYPE = Enum("avg", "lp", "max", "sum")
_CONVENTION = Enum("full", "same", "valid")
_LAYOUT = OptEnum("NCDHW", "NCHW", "NCW", "NDHWC", "NHWC", "NWC")
_FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
_LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
# kernels with more offsets than this, over non-overlapping windows, reduce a window view
# instead of looping over offsets
_LOOP_MAX_OFFSETS = 16


def _prod(seq):
    n = 1
    for s in seq:
        n *= int(s)
    return n


def pooling_output_size(x, k, s, p, convention):
    """Output length of MXNet pooling over ``x`` positions."""
    if convention == "valid":
        return (x + 2 * p - k) // s + 1
    if convention == "full":
        return -(-(x + 2 * p - k) // s) + 1
    return -(-(x + 2 * p) // s)  # 'same'


# ---------------------------------------------------------------------------------------------
# geometry
class _Geom:
    """Validated pooling geometry in channel-first terms."""

    __slots__ = ("nd", "kernel", "stride", "pad", "out", "spatial", "channel_last",
                 "pool_type", "p", "include_pad", "convention")


def _expand(name, value, nd, default, minimum):
    if value is None or len(value) == 0:
        return (default,) * nd
    value = tuple(value)
    if len(value) != nd:
        raise MXNetError(f"Pooling: {name} must have one entry per kernel dimension ({nd}), "
                         f"got {name}={value}")
    if any(v < minimum for v in value):
        what = "positive" if minimum == 1 else "non-negative"
        raise MXNetError(f"Pooling: every entry of {name} must be {what}, got {name}={value}")
    return value


def _geometry(a, shape, op="Pooling"):
    shape = tuple(shape)
    if not 3 <= len(shape) <= 5:
        raise MXNetError(f"{op}: data must be 3-D (N, C, W), 4-D (N, C, H, W) or 5-D "
                         f"(N, C, D, H, W), got shape {shape}")
    nd = len(shape) - 2
    layout = a["layout"]
    channel_last = False
    if layout is not None:
        if layout == _LAST[nd]:
            channel_last = True
        elif layout != _FIRST[nd]:
            raise MXNetError(f"{op}: layout {layout!r} does not fit {nd + 2}-D data {shape}; "
                             f"use {_FIRST[nd]!r} or {_LAST[nd]!r}")
    spatial = shape[1:-1] if channel_last else shape[2:]
    g = _Geom()
    g.nd, g.spatial, g.channel_last = nd, spatial, channel_last
    g.pool_type = a["pool_type"]
    g.include_pad = a["count_include_pad"] is not False
    if g.pool_type == "lp":
        p = a["p_value"]
        if p is None:
            raise MXNetError(f"{op}: pool_type='lp' needs p_value (1, 2 or 3)")
        if p not in (1, 2, 3):
            raise MXNetError(f"{op}: p_value must be 1, 2 or 3 for Lp pooling, got {p}")
        g.p = p
    else:
        g.p = None
    if a["global_pool"]:
        # kernel, stride and pad are ignored: one window covers each feature map
        g.kernel, g.stride, g.pad, g.convention = tuple(spatial), (1,) * nd, (0,) * nd, "valid"
        g.out = (1,) * nd
        return g
    kernel = tuple(a["kernel"] or ())
    if not kernel:
        raise MXNetError(f"{op}: kernel is required unless global_pool=True")
    if len(kernel) != nd:
        raise MXNetError(f"{op}: kernel {kernel} has {len(kernel)} dimensions but data {shape} "
                         f"has {nd} spatial dimensions")
    if any(k < 1 for k in kernel):
        raise MXNetError(f"{op}: every entry of kernel must be positive, got kernel={kernel}")
    stride = _expand("stride", a["stride"], nd, 1, 1)
    pad = _expand("pad", a["pad"], nd, 0, 0)
    conv = a["pooling_convention"]
    if conv == "same":
        if nd != 1:
            raise MXNetError(f"{op}: pooling_convention='same' supports 1-D pooling only "
                             f"(data (N, C, W)), got data of shape {shape}")
        if any(pad):
            raise MXNetError(f"{op}: pooling_convention='same' does not take pad, got "
                             f"pad={pad}")
    if g.pool_type in ("max", "avg"):
        for i in range(nd):
            if pad[i] >= kernel[i]:
                raise MXNetError(f"{op}: pad must be smaller than kernel for {g.pool_type} "
                                 f"pooling, got pad={pad}, kernel={kernel}")
    out = []
    for i, x in enumerate(spatial):
        if kernel[i] > x + 2 * pad[i]:
            raise MXNetError(f"{op}: kernel size {kernel[i]} in dimension {i} exceeds the "
                             f"input size {x} padded to {x + 2 * pad[i]} (data {shape}, "
                             f"kernel={kernel}, pad={pad})")
        out.append(pooling_output_size(x, kernel[i], stride[i], pad[i], conv))
    g.kernel, g.stride, g.pad, g.convention, g.out = kernel, stride, pad, conv, tuple(out)
    return g


def _out_shape(g, shape):
    if g.channel_last:
        return (shape[0],) + g.out + (shape[-1],)
    return tuple(shape[:2]) + g.out


def _pool_shape_rule(a, in_shapes):
    s = in_shapes[0]
    if s is None:
        return in_shapes, [None]
    return in_shapes, [_out_shape(_geometry(a, s), s)]


# ---------------------------------------------------------------------------------------------
# array kernels (channel-first)
def _compute_dtype(dt):
    return "float32" if dt.name == "float16" else dt


def _check_float(op, x):
    if x.dtype.kind != "f":
        raise MXNetError(f"{op}: only floating-point data is supported (as in MXNet), got "
                         f"{x.dtype.name}")


def _prep(xp, x, g):
    """Channel-first view of x in the compute dtype."""
    ct = _compute_dtype(x.dtype)
    if x.dtype != ct:
        x = x.astype(ct)
    if g.channel_last:
        x = x.transpose((0, x.ndim - 1) + tuple(range(1, x.ndim - 1)))
    return x


def _finish(xp, y, g, dtype):
    if g.channel_last:
        y = y.transpose((0,) + tuple(range(2, y.ndim)) + (1,))
    y = xp.ascontiguousarray(y)
    return y if y.dtype == dtype else y.astype(dtype)


def _extent(g):
    """Padded extent the windows reach (beyond the input on the right for 'full'/'same')."""
    return tuple((o - 1) * s + k for o, s, k in zip(g.out, g.stride, g.kernel))


def _padded(xp, x, g, fill):
    """x seen through the padding (positions beyond the input hold ``fill``), extended or
    cut to the extent the windows reach; x itself when nothing changes."""
    sp = x.shape[2:]
    ext = _extent(g)
    if not any(g.pad) and all(e <= n for e, n in zip(ext, sp)):
        return x
    shape = tuple(x.shape[:2]) + ext
    out = xp.zeros(shape, dtype=x.dtype) if fill == 0 else xp.full(shape, fill, dtype=x.dtype)
    dst, src = [slice(None), slice(None)], [slice(None), slice(None)]
    for lo, e, n in zip(g.pad, ext, sp):
        m = min(n, e - lo)
        dst.append(slice(lo, lo + m))
        src.append(slice(0, m))
    out[tuple(dst)] = x[tuple(src)]
    return out


def _crop(y, g):
    return y[(slice(None), slice(None)) +
             tuple(slice(p, p + n) for p, n in zip(g.pad, g.spatial))]


def _offsets(g):
    return itertools.product(*(range(k) for k in g.kernel))


def _slab(g, off):
    """Index of the values at kernel offset ``off`` of every window."""
    return (slice(None), slice(None)) + tuple(
        slice(j, j + (o - 1) * s + 1, s) for j, o, s in zip(off, g.out, g.stride))


def _disjoint(g):
    """Whether no input position lies in two windows."""
    return all(o == 1 or s >= k for o, s, k in zip(g.out, g.stride, g.kernel))


def _use_view(g):
    """Large kernels over non-overlapping windows (e.g. global pooling): reduce a window view
    rather than loop over many kernel offsets."""
    return _disjoint(g) and _prod(g.kernel) > _LOOP_MAX_OFFSETS


def _window_view(xp, xpd, g):
    """(N, C, *out, *kernel) strided view of the padded input."""
    st = xpd.strides
    return xp.lib.stride_tricks.as_strided(
        xpd, shape=tuple(xpd.shape[:2]) + g.out + g.kernel,
        strides=tuple(st[:2]) + tuple(s * t for s, t in zip(st[2:], g.stride)) + tuple(st[2:]))


def _lowest(xp, dtype):
    return xp.finfo(dtype).min


def _reduce(xp, xpd, g, kind):
    """Max or sum over every window of the padded input: (N, C, *out)."""
    if _use_view(g):
        win = _window_view(xp, xpd, g)
        axes = tuple(range(2 + g.nd, 2 + 2 * g.nd))
        return win.max(axis=axes) if kind == "max" else win.sum(axis=axes)
    offs = _offsets(g)
    acc = xpd[_slab(g, next(offs))].copy()
    for off in offs:
        if kind == "max":
            xp.maximum(acc, xpd[_slab(g, off)], out=acc)
        else:
            acc += xpd[_slab(g, off)]
    return acc


def _scatter(xp, vals, g, shape, dtype):
    """Transpose of sum pooling: add each window's value to every position of the window;
    returns the gradient over the padded extent cropped to the input (N, C, *spatial)."""
    ext = _extent(g)
    full = tuple(max(p + n, e) for p, n, e in zip(g.pad, g.spatial, ext))
    acc = xp.zeros(tuple(shape[:2]) + full, dtype=dtype)
    if _use_view(g):
        win = _window_view(xp, acc, g)
        win[...] = vals.reshape(vals.shape + (1,) * g.nd)
        return _crop(acc, g)
    disjoint = _disjoint(g)
    for off in _offsets(g):
        if disjoint:
            acc[_slab(g, off)] = vals
        else:
            acc[_slab(g, off)] += vals
    return _crop(acc, g)


def _avg_divisor(xp, g, dtype):
    """Number of positions MXNet averages over in each window, shape (*out) (or a scalar
    when every window has the full kernel size)."""
    counts = []
    for i in range(g.nd):
        n, k, s, p, o = g.spatial[i], g.kernel[i], g.stride[i], g.pad[i], g.out[i]
        c = []
        for j in range(o):
            start = j * s - p
            end = min(start + k, n + p)
            if not g.include_pad:
                start, end = max(start, 0), min(end, n)
            c.append(max(end - start, 1))
        counts.append(c)
    if all(all(v == c[0] for v in c) for c in counts):
        return float(_prod(c[0] for c in counts))
    div = xp.ones(g.out, dtype=dtype)
    for i, c in enumerate(counts):
        shape = [1] * g.nd
        shape[i] = len(c)
        div = div * xp.asarray(c, dtype=dtype).reshape(shape)
    return div


def _pow(x, p):
    return x if p == 1 else (x * x if p == 2 else x * x * x)


def _root(xp, y, p):
    return y if p == 1 else (xp.sqrt(y) if p == 2 else xp.cbrt(y))


def _global_fast(g):
    return all(o == 1 for o in g.out) and g.kernel == tuple(g.spatial) and not any(g.pad)


def _pool_forward(xp, x, g):
    """Pooling of x (N, C, *spatial) in the compute dtype: (N, C, *out)."""
    t = g.pool_type
    if _global_fast(g):
        axes = tuple(range(2, 2 + g.nd))
        if t == "max":
            return x.max(axis=axes, keepdims=True)
        s = _pow(x, g.p).sum(axis=axes, keepdims=True) if t == "lp" else \
            x.sum(axis=axes, keepdims=True)
        if t == "avg":
            return s / x.dtype.type(_prod(g.spatial))
        return _root(xp, s, g.p) if t == "lp" else s
    if t == "max":
        return _reduce(xp, _padded(xp, x, g, _lowest(xp, x.dtype)), g, "max")
    if t == "lp":
        return _root(xp, _reduce(xp, _padded(xp, _pow(x, g.p), g, 0), g, "sum"), g.p)
    s = _reduce(xp, _padded(xp, x, g, 0), g, "sum")
    if t == "avg":
        s = s / _avg_divisor(xp, g, s.dtype)
    return s


def _max_first_masks(xp, xpd, y, g):
    """For each kernel offset, the windows whose maximum is first found at that offset
    (row-major window order, as MXNet breaks ties): yields (offset, bool mask (N, C, *out))."""
    remaining = None
    for off in _offsets(g):
        m = xpd[_slab(g, off)] == y
        if remaining is None:
            remaining = xp.logical_not(m)
        else:
            m &= remaining
            remaining ^= m          # m is a subset of remaining: xor removes it
        yield off, m


def _argmax_onehot(xp, xpd, g):
    """One-hot (N, C, *out, *kernel) of the first maximum of every window (view path)."""
    win = _window_view(xp, xpd, g)
    kk = _prod(g.kernel)
    flat = win.reshape(win.shape[:2 + g.nd] + (kk,))
    idx = flat.argmax(axis=-1)
    return (xp.arange(kk) == idx[..., None]).reshape(win.shape)


def _max_backward(xp, og, x, y, g):
    """Gradient of max pooling: og goes to the first maximum of each window."""
    xpd = _padded(xp, x, g, _lowest(xp, x.dtype))
    ext = _extent(g)
    full = tuple(max(p + n, e) for p, n, e in zip(g.pad, g.spatial, ext))
    acc = xp.zeros(tuple(x.shape[:2]) + full, dtype=og.dtype)
    if _use_view(g):
        onehot = _argmax_onehot(xp, xpd, g)
        _window_view(xp, acc, g)[...] = onehot * og.reshape(og.shape + (1,) * g.nd)
        return _crop(acc, g)
    disjoint = _disjoint(g)
    for off, m in _max_first_masks(xp, xpd, y, g):
        if disjoint:
            # every position belongs to one window at most: write instead of accumulate
            xp.multiply(og, m, out=acc[_slab(g, off)])
        else:
            acc[_slab(g, off)] += og * m
    return _crop(acc, g)


def _max_take(xp, vals, x, y, g):
    """Transpose of the max-pooling gradient: vals (N, C, *spatial) read at the first
    maximum of every window -> (N, C, *out)."""
    xpd = _padded(xp, x, g, _lowest(xp, x.dtype))
    vpd = _padded(xp, vals, g, 0)
    if _use_view(g):
        onehot = _argmax_onehot(xp, xpd, g)
        axes = tuple(range(2 + g.nd, 2 + 2 * g.nd))
        return (onehot * _window_view(xp, vpd, g)).sum(axis=axes)
    out = xp.zeros(y.shape, dtype=vals.dtype)
    for off, m in _max_first_masks(xp, xpd, y, g):
        out += vpd[_slab(g, off)] * m
    return out


def _lp_scale(xp, og, y, p):
    """og / y^(p-1), 0 where y == 0 (MXNet's guard against 0/0)."""
    if p == 1:
        return og
    zero = y == 0
    ys = xp.where(zero, y.dtype.type(1), y)
    return xp.where(zero, og.dtype.type(0), og / _pow(ys, p - 1))


def _pool_backward(xp, og, x, y, g):
    """Gradient of pooling for output gradient og: (N, C, *spatial), compute dtype."""
    t = g.pool_type
    if t == "max":
        return _max_backward(xp, og, x, y, g)
    if t == "avg":
        return _scatter(xp, og / _avg_divisor(xp, g, og.dtype), g, x.shape, og.dtype)
    if t == "sum":
        return _scatter(xp, og, g, x.shape, og.dtype)
    b = _scatter(xp, _lp_scale(xp, og, y, g.p), g, x.shape, og.dtype)
    return b if g.p == 1 else b * _pow(x, g.p - 1)


# ---------------------------------------------------------------------------------------------
# operators
_POOL_ATTRS = ("kernel", "pool_type", "global_pool", "cudnn_off", "pooling_convention",
               "stride", "pad", "p_value", "count_include_pad", "layout")
_EXTRA = {"cudnn_off": (Bool, False)}


def _pool_attrs(a):
    return {k: a[k] for k in _POOL_ATTRS}


def _attrs_dict(kernel, pool_type, global_pool, pooling_convention, stride, pad, p_value,
                count_include_pad, layout):
    return {"kernel": kernel, "pool_type": pool_type, "global_pool": global_pool,
            "pooling_convention": pooling_convention, "stride": stride, "pad": pad,
            "p_value": p_value, "count_include_pad": count_include_pad, "layout": layout}


@register("Pooling", shape=_pool_shape_rule, extra_attrs=_EXTRA)
def pooling(rt, data, *, kernel: Shape = (), pool_type: _POOL_TYPE = "max",
            global_pool: Bool = False, pooling_convention: _CONVENTION = "valid",
            stride: Shape = (), pad: Shape = (), p_value: OptInt = None,
            count_include_pad: OptBool = None, layout: _LAYOUT = None, **kw):
    """Pooling over 1-D, 2-D or 3-D windows (MXNet's ``Pooling``).

    ``pool_type``: 'max', 'avg', 'sum' or 'lp' (``(sum x^p)^(1/p)``, ``p_value`` 1, 2 or 3).
    ``kernel``, ``stride`` (default 1) and ``pad`` (default 0, zero padding on both sides)
    have one entry per spatial dimension of data ``(N, C, *spatial)`` (or channel-last with
    ``layout`` 'NWC', 'NHWC', 'NDHWC'). ``global_pool=True`` pools each whole feature map
    (kernel, stride and pad are ignored). ``pooling_convention``: 'valid'
    (``floor((x + 2p - k) / s) + 1`` outputs), 'full' (``ceil``, Caffe's and Gluon's
    ``ceil_mode``) or 'same' (1-D, ``ceil(x / s)`` outputs). ``count_include_pad`` (avg
    only, default True) counts padded positions in the divisor. ``cudnn_off`` is accepted
    and ignored.
    """
    a = _attrs_dict(kernel, pool_type, global_pool, pooling_convention, stride, pad, p_value,
                    count_include_pad, layout)
    _check_float("Pooling", data)
    g = _geometry(a, data.shape)
    xp = rt.xp
    return _finish(xp, _pool_forward(xp, _prep(xp, data, g), g), g, data.dtype)


@pooling.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_Pooling(ogs[0], ins[0], outs[0], **_pool_attrs(a)),)


def _bpool_shape_rule(a, in_shapes):
    return in_shapes, [in_shapes[1]]


def _check_backward_shapes(op, g, ograd, data, output):
    want = _out_shape(g, data.shape)
    for nm, arr in (("ograd", ograd), ("output", output)):
        if tuple(arr.shape) != want:
            raise MXNetError(f"{op}: {nm} has shape {tuple(arr.shape)}, expected the Pooling "
                             f"output shape {want} for data {tuple(data.shape)}")


@register("_backward_Pooling", shape=_bpool_shape_rule, extra_attrs=_EXTRA)
def _backward_pooling(rt, ograd, data, output, *, kernel: Shape = (),
                      pool_type: _POOL_TYPE = "max", global_pool: Bool = False,
                      pooling_convention: _CONVENTION = "valid", stride: Shape = (),
                      pad: Shape = (), p_value: OptInt = None,
                      count_include_pad: OptBool = None, layout: _LAYOUT = None, **kw):
    """Gradient of ``Pooling`` (same attributes) with respect to ``data``, given the output
    gradient ``ograd`` and the forward's ``output``: max pooling routes each window's
    gradient to its first maximum (found by comparing with ``output``, as MXNet does), avg
    and sum spread it over the window (divided by the avg divisor), Lp pooling scales it by
    ``(x / y)^(p-1)``."""
    op = "_backward_Pooling"
    a = _attrs_dict(kernel, pool_type, global_pool, pooling_convention, stride, pad, p_value,
                    count_include_pad, layout)
    _check_float(op, data)
    g = _geometry(a, data.shape, op)
    _check_backward_shapes(op, g, ograd, data, output)
    xp = rt.xp
    og, x, y = (_prep(xp, v, g) for v in (ograd, data, output))
    return _finish(xp, _pool_backward(xp, og, x, y, g), g, data.dtype)


@_backward_pooling.gradient
def _(F, a, ins, outs, ogs, need):
    og, x, y = ins
    gdx = ogs[0]
    t = a["pool_type"]
    pa = _pool_attrs(a)
    if t in ("avg", "sum"):
        # linear in og, with Pooling (same divisor) as its transpose; independent of x, y
        return F.Pooling(gdx, **pa), None, None
    if t == "max":
        # og is routed to fixed argmax positions: the transpose is a gather; the positions
        # are piecewise constant in x
        return F._pooling_argmax_take(gdx, x, y, **pa), None, None
    p = a["p_value"]
    sa = dict(pa, pool_type="sum", p_value=None)
    if p == 1:
        return F.Pooling(gdx, **sa), None, None
    # dx = x^(p-1) * B(og * r), r = 1/y^(p-1) (0 where y == 0), B = sum-pooling transpose
    nz = y != 0
    inv = nz / (y + (y == 0))
    r = inv if p == 2 else inv * inv
    xp1 = x if p == 2 else x * x
    pg = F.Pooling(gdx * xp1, **sa)
    g_og = pg * r if need[0] else None
    g_x = None
    if need[1]:
        b = F._backward_Pooling(og * r, x, y, **sa)
        g_x = gdx * b if p == 2 else gdx * b * (2.0 * x)
    g_y = -(p - 1.0) * og * r * inv * pg if need[2] else None
    return g_og, g_x, g_y


@register("_pooling_argmax_take", shape=lambda a, s: (s, [s[2]]), extra_attrs=_EXTRA)
def _pooling_argmax_take(rt, values, data, output, *, kernel: Shape = (),
                         pool_type: _POOL_TYPE = "max", global_pool: Bool = False,
                         pooling_convention: _CONVENTION = "valid", stride: Shape = (),
                         pad: Shape = (), p_value: OptInt = None,
                         count_include_pad: OptBool = None, layout: _LAYOUT = None, **kw):
    """For max pooling with these attributes: ``values`` (shaped like ``data``) read at the
    first maximum of every pooling window of ``data`` (``output`` is the Pooling output).
    The transpose of max pooling's gradient, used for second-order gradients."""
    op = "_pooling_argmax_take"
    if pool_type != "max":
        raise MXNetError(f"{op}: only defined for pool_type='max', got {pool_type!r}")
    a = _attrs_dict(kernel, pool_type, global_pool, pooling_convention, stride, pad, p_value,
                    count_include_pad, layout)
    _check_float(op, data)
    g = _geometry(a, data.shape, op)
    _check_backward_shapes(op, g, output, data, output)
    if tuple(values.shape) != tuple(data.shape):
        raise MXNetError(f"{op}: values has shape {tuple(values.shape)}, expected the data "
                         f"shape {tuple(data.shape)}")
    xp = rt.xp
    v, x, y = (_prep(xp, arr, g) for arr in (values, data, output))
    return _finish(xp, _max_take(xp, v, x, y, g), g, values.dtype)


@_pooling_argmax_take.gradient
def _(F, a, ins, outs, ogs, need):
    return F._backward_Pooling(ogs[0], ins[1], ins[2], **_pool_attrs(a)), None, None
