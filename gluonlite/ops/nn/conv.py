"""Convolution and transposed convolution: MXNet's ``Convolution`` and ``Deconvolution``,
1-D, 2-D and 3-D, with stride, padding, dilation and groups, and their backward operators
``_backward_Convolution`` / ``_backward_Deconvolution``.

How it is computed (the reference path, numpy or cupy through ``rt.xp``):

* **im2col** is a strided *view* of the zero-padded input (``as_strided``), shaped
  ``(N, C, *kernel, *out)``; transposing it to ``(C, *kernel, N, *out)`` and reshaping to
  ``(groups, C/groups * prod(kernel), N * prod(out))`` makes the one copy of the columns.
* The convolution is then **one GEMM per group**: ``weight (F/g, K) @ cols (K, N*P)``.
  One large product (rather than one small product per sample) keeps BLAS efficient,
  including when it runs multi-threaded.
* **col2im** (the data gradient, and the forward of ``Deconvolution``) is the transposed
  product ``weight^T @ ograd`` followed by a scatter-add of the columns into the padded
  input, one vectorised add per kernel offset (e.g. 25 adds for a 5x5 kernel).

Every convolution-like product is one of three functions of an output-channel-first layout:
``_conv_fwd`` (correlate), ``_conv_dgrad`` (its transpose: col2im) and ``_conv_wgrad``
(weight gradient). ``Convolution`` and ``Deconvolution`` are the same three with the roles
of input and output swapped:

=================  ====================  ==========================================
operator           forward               gradients (data, weight)
=================  ====================  ==========================================
Convolution        ``_conv_fwd(x, w)``   ``_conv_dgrad(g, w)``, ``_conv_wgrad(g, x)``
Deconvolution      ``_conv_dgrad(x, w)`` ``_conv_fwd(g, w)``, ``_conv_wgrad(x, g)``
=================  ====================  ==========================================

The backward operators are differentiable again (second order): their gradients are
written with ``Convolution``/``Deconvolution`` and the backward operators themselves.

Layouts: ``NCW``/``NCHW``/``NCDHW`` (MXNet's default) and the channel-last ``NHWC`` /
``NDHWC`` (which MXNet 1.9.1 offers on GPU only) with weights ``(F, *kernel, C/groups)``;
channel-last arrays are transposed to channel-first around the same kernels.
float16 is computed in float32 and rounded back; integer data is rejected, as in MXNet.
"""
from __future__ import annotations

import itertools

from ...base import MXNetError
from ..attrs import Bool, Int, OptEnum, Shape
from ..registry import register

__all__ = ["conv_output_size", "deconv_pad_adj"]

_LAYOUT = OptEnum("NCDHW", "NCHW", "NCW", "NDHWC", "NHWC")
_CUDNN_TUNE = OptEnum("fastest", "limited_workspace", "off")
_FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
_LAST = {2: "NHWC", 3: "NDHWC"}


def _prod(seq):
    n = 1
    for s in seq:
        n *= int(s)
    return n


# ---------------------------------------------------------------------------------------------
# geometry: attribute checks and output sizes
class _Geom:
    """Validated geometry of one convolution: kernel, stride, dilate, pad (tuples of nd ints),
    groups and whether the arrays are channel-last."""

    __slots__ = ("nd", "kernel", "stride", "dilate", "pad", "groups", "channel_last")

    def __init__(self, nd, kernel, stride, dilate, pad, groups, channel_last):
        self.nd, self.kernel, self.stride, self.dilate = nd, kernel, stride, dilate
        self.pad, self.groups, self.channel_last = pad, groups, channel_last

    def dilated(self, i):
        return self.dilate[i] * (self.kernel[i] - 1) + 1


def _expand(op, name, value, nd, default, minimum):
    """MXNet's per-dimension attribute: () means ``default`` in every dimension, otherwise
    exactly one value per kernel dimension, each >= ``minimum``."""
    if value is None or len(value) == 0:
        return (default,) * nd
    value = tuple(value)
    if len(value) != nd:
        raise MXNetError(f"{op}: {name} must have the same number of dimensions as kernel "
                         f"({nd}), got {name}={value}")
    if any(v < minimum for v in value):
        what = "positive" if minimum == 1 else "non-negative"
        raise MXNetError(f"{op}: every entry of {name} must be {what}, got {name}={value}")
    return value


def _geometry(op, a):
    """Check the attributes shared by Convolution and Deconvolution; return a _Geom."""
    kernel = tuple(a["kernel"])
    nd = len(kernel)
    if nd not in (1, 2, 3):
        raise MXNetError(f"{op}: kernel must have 1, 2 or 3 dimensions (1-D, 2-D or 3-D "
                         f"convolution), got kernel={kernel}")
    if any(k < 1 for k in kernel):
        raise MXNetError(f"{op}: every entry of kernel must be positive, got kernel={kernel}")
    stride = _expand(op, "stride", a["stride"], nd, 1, 1)
    dilate = _expand(op, "dilate", a["dilate"], nd, 1, 1)
    pad = _expand(op, "pad", a["pad"], nd, 0, 0)
    groups = a["num_group"]
    if groups < 1:
        raise MXNetError(f"{op}: num_group must be >= 1, got {groups}")
    if a["num_filter"] < 1:
        raise MXNetError(f"{op}: num_filter must be >= 1, got {a['num_filter']}")
    if a["num_filter"] % groups:
        raise MXNetError(f"{op}: num_filter ({a['num_filter']}) must be divisible by num_group "
                         f"({groups})")
    layout = a["layout"]
    channel_last = False
    if layout is not None:
        if layout == _LAST.get(nd):
            channel_last = True
        elif layout != _FIRST[nd]:
            ok = [_FIRST[nd]] + ([_LAST[nd]] if nd in _LAST else [])
            raise MXNetError(f"{op}: layout {layout!r} does not fit a {nd}-D kernel "
                             f"{kernel}; use one of {ok} (or None)")
    return _Geom(nd, kernel, stride, dilate, pad, groups, channel_last)


def _split(op, g, shape, what="data"):
    """(N, C, spatial) of an array shape in the geometry's layout, checking its rank."""
    shape = tuple(shape)
    if len(shape) != g.nd + 2:
        lay = _LAST[g.nd] if g.channel_last else _FIRST[g.nd]
        raise MXNetError(f"{op}: {what} must be {g.nd + 2}-D ({lay}) for a {g.nd}-D kernel "
                         f"{g.kernel}, got shape {shape}")
    if g.channel_last:
        return shape[0], shape[-1], shape[1:-1]
    return shape[0], shape[1], shape[2:]


def _join(g, n, c, spatial):
    """An array shape in the geometry's layout."""
    return (n,) + tuple(spatial) + (c,) if g.channel_last else (n, c) + tuple(spatial)


def _kernel_shape(g, out_c, in_c):
    """Weight shape in the geometry's layout: (out_c, in_c, *kernel) or (out_c, *kernel, in_c)."""
    return (out_c,) + g.kernel + (in_c,) if g.channel_last else (out_c, in_c) + g.kernel


def conv_output_size(n, k, s, d, p):
    """Output length of a convolution over ``n`` positions (MXNet's formula)."""
    return (n + 2 * p - (d * (k - 1) + 1)) // s + 1


def _conv_out_spatial(op, g, spatial):
    out = []
    for i, n in enumerate(spatial):
        dk = g.dilated(i)
        if dk > n + 2 * g.pad[i]:
            raise MXNetError(f"{op}: the (dilated) kernel size {dk} in dimension {i} exceeds the "
                             f"input size {n} padded to {n + 2 * g.pad[i]} (kernel={g.kernel}, "
                             f"dilate={g.dilate}, pad={g.pad})")
        out.append(conv_output_size(n, g.kernel[i], g.stride[i], g.dilate[i], g.pad[i]))
    return tuple(out)


def _check_shape(op, what, got, want, meaning):
    if got is not None and tuple(got) != tuple(want):
        raise MXNetError(f"{op}: {what} has shape {tuple(got)}, expected {tuple(want)} "
                         f"({meaning})")


def _grouped_input(op, a, dshape):
    """The geometry of ``a`` and the data shape split into (batch, channels, spatial),
    checking that the channels divide into ``num_group`` groups."""
    g = _geometry(op, a)
    n, c, spatial = _split(op, g, dshape)
    if c % g.groups:
        raise MXNetError(f"{op}: the {c} input channels of data {tuple(dshape)} are not divisible "
                         f"by num_group={g.groups}")
    return g, n, c, spatial


def _conv_shapes(op, a, dshape, wshape=None, bshape=None):
    """(geometry, weight shape, bias shape, output shape) of Convolution for a data shape;
    checks given weight/bias shapes."""
    g, n, c, spatial = _grouped_input(op, a, dshape)
    f = a["num_filter"]
    want_w = _kernel_shape(g, f, c // g.groups)
    _check_shape(op, "weight", wshape, want_w,
                 "num_filter, channels/num_group, *kernel" if not g.channel_last
                 else "num_filter, *kernel, channels/num_group")
    _check_shape(op, "bias", bshape, (f,), "num_filter,")
    out = _join(g, n, f, _conv_out_spatial(op, g, spatial))
    return g, want_w, (f,), out


def deconv_pad_adj(op, g, a, in_spatial):
    """MXNet's padding and output adjustment of a Deconvolution: ``pad``/``adj`` as given,
    or, when ``target_shape`` has a non-zero entry, the ones that produce it
    (``total = stride * (in - 1) + dilated_kernel``, ``adj = (total - target) % 2``,
    ``pad = (total - target + 1) // 2``)."""
    nd = g.nd
    target = tuple(a["target_shape"] or ())
    if target and any(t != 0 for t in target):
        if len(target) != nd:
            raise MXNetError(f"{op}: target_shape must have one entry per kernel dimension "
                             f"({nd}), got target_shape={target}")
        pad, adj = [], []
        for i, n in enumerate(in_spatial):
            total = g.stride[i] * (n - 1) + g.dilated(i)
            if target[i] > total:
                raise MXNetError(f"{op}: target_shape {target} is too big: dimension {i} can be "
                                 f"at most stride*(in-1)+dilated_kernel = {total}")
            extra = total - target[i]
            adj.append(extra % 2)
            pad.append((extra + 1) // 2)
        pad, adj = tuple(pad), tuple(adj)
    else:
        pad = g.pad
        adj = _expand(op, "adj", a["adj"], nd, 0, 0)
    for i in range(nd):
        if adj[i] >= g.stride[i]:
            raise MXNetError(f"{op}: adj must be smaller than stride in every dimension, got "
                             f"adj={adj}, stride={g.stride}"
                             + (f" (adj computed from target_shape={target})"
                                if target and any(target) else ""))
    return pad, adj


def _deconv_shapes(op, a, dshape, wshape=None, bshape=None):
    """(geometry, pad, adj, weight shape, bias shape, output shape) of Deconvolution."""
    g, n, c, spatial = _grouped_input(op, a, dshape)
    f = a["num_filter"]
    want_w = _kernel_shape(g, c, f // g.groups)
    _check_shape(op, "weight", wshape, want_w,
                 "in_channels, num_filter/num_group, *kernel" if not g.channel_last
                 else "in_channels, *kernel, num_filter/num_group")
    _check_shape(op, "bias", bshape, (f,), "num_filter,")
    pad, adj = deconv_pad_adj(op, g, a, spatial)
    out_sp = []
    for i, m in enumerate(spatial):
        o = g.stride[i] * (m - 1) + g.dilated(i) - 2 * pad[i] + adj[i]
        if o < 0:
            raise MXNetError(f"{op}: pad {pad} is too large: output dimension {i} would be {o}")
        out_sp.append(o)
    return g, pad, adj, want_w, (f,), _join(g, n, f, out_sp)


# ---------------------------------------------------------------------------------------------
# array kernels (channel-first; xp is numpy or cupy)
def _compute_dtype(dt):
    # float16 products are accumulated in float32 (as MXNet's kernels do), then rounded back
    return "float32" if dt.name == "float16" else dt


def _to_first(xp, x, g):
    """Channel-last -> channel-first view."""
    if not g.channel_last:
        return x
    nd = x.ndim
    return x.transpose((0, nd - 1) + tuple(range(1, nd - 1)))


def _padded(xp, x, lo, ext, fill=0):
    """``x`` (N, C, *sp) seen through padding: position ``j`` of dimension ``i`` of the result
    is ``x[..., j - lo[i]]`` where that exists, ``fill`` elsewhere, for ``j < ext[i]``.
    Returns ``x`` itself (no copy) when no padding is needed."""
    sp = x.shape[2:]
    if not any(lo) and all(e <= n for e, n in zip(ext, sp)):
        return x
    shape = tuple(x.shape[:2]) + tuple(ext)
    out = xp.zeros(shape, dtype=x.dtype) if fill == 0 else xp.full(shape, fill, dtype=x.dtype)
    dst, src = [slice(None), slice(None)], [slice(None), slice(None)]
    for lo_i, e, n in zip(lo, ext, sp):
        m = min(n, e - lo_i)
        if m <= 0:
            return out
        dst.append(slice(lo_i, lo_i + m))
        src.append(slice(0, m))
    out[tuple(dst)] = x[tuple(src)]
    return out


def _windows(xp, xpd, kernel, stride, dilate, out_sp):
    """Strided view (N, C, *kernel, *out) of the padded input: the im2col matrix, uncopied."""
    st = xpd.strides
    ks = tuple(s * d for s, d in zip(st[2:], dilate))
    os_ = tuple(s * t for s, t in zip(st[2:], stride))
    return xp.lib.stride_tricks.as_strided(
        xpd, shape=tuple(xpd.shape[:2]) + tuple(kernel) + tuple(out_sp),
        strides=tuple(st[:2]) + ks + os_)


def _extent(out_sp, g):
    """Padded input extent the windows of ``out_sp`` outputs reach."""
    return tuple((o - 1) * g.stride[i] + g.dilated(i) if o > 0 else 0
                 for i, o in enumerate(out_sp))


def _cols(xp, x, g, lo, out_sp):
    """im2col: (groups, C/groups * prod(kernel), N * prod(out)) columns of x (N, C, *sp)."""
    n, c = x.shape[:2]
    nd = g.nd
    xpd = _padded(xp, x, lo, _extent(out_sp, g))
    win = _windows(xp, xpd, g.kernel, g.stride, g.dilate, out_sp)
    # (C, *k, N, *out): the output positions of all samples side by side, so one GEMM
    # covers the whole batch
    perm = (1,) + tuple(range(2, 2 + nd)) + (0,) + tuple(range(2 + nd, 2 + 2 * nd))
    return win.transpose(perm).reshape(g.groups, c // g.groups * _prod(g.kernel),
                                       n * _prod(out_sp))


def _conv_fwd(xp, x, w, g, lo, out_sp):
    """Correlation of x (N, C, *sp) with w (F, C/G, *k): result (F, N, *out_sp)."""
    n = x.shape[0]
    f = w.shape[0]
    cols = _cols(xp, x, g, lo, out_sp)
    y = xp.matmul(w.reshape(g.groups, f // g.groups, cols.shape[1]), cols)
    return y.reshape((f, n) + tuple(out_sp))


def _conv_wgrad(xp, og, x, g, lo, w_shape):
    """Weight gradient of the correlation: og (N, F, *out), x (N, C, *sp) -> (F, C/G, *k)."""
    n, f = og.shape[:2]
    out_sp = og.shape[2:]
    cols = _cols(xp, x, g, lo, out_sp)
    ogt = og.swapaxes(0, 1).reshape(g.groups, f // g.groups, n * _prod(out_sp))
    return xp.matmul(ogt, cols.transpose(0, 2, 1)).reshape(w_shape)


def _conv_dgrad(xp, og, w, g, lo, data_sp):
    """Transpose of the correlation (col2im): og (N, F, *out), w (F, C/G, *k) ->
    (C, N, *data_sp), a channel-major view."""
    n, f = og.shape[:2]
    out_sp = tuple(og.shape[2:])
    groups, fg, cg = g.groups, f // g.groups, w.shape[1]
    c = cg * groups
    nd = g.nd
    ogt = og.swapaxes(0, 1).reshape(groups, fg, n * _prod(out_sp))
    # weight rows ordered (*kernel, C/G) rather than (C/G, *kernel): then the columns of one
    # kernel offset are a contiguous (C/G, N, *out) block of the product
    wt = w.reshape((groups, fg, cg) + g.kernel)
    wt = wt.transpose((0,) + tuple(range(3, 3 + nd)) + (2, 1)).reshape(
        groups, _prod(g.kernel) * cg, fg)
    dcols = xp.matmul(wt, ogt).reshape((groups,) + g.kernel + (cg, n) + out_sp)
    ext = tuple(max(l + m, e) for l, m, e in zip(lo, data_sp, _extent(out_sp, g)))
    acc = xp.zeros((c, n) + ext, dtype=dcols.dtype)
    if all(o > 0 for o in out_sp):
        acc_g = acc.reshape((groups, cg, n) + ext)
        # one strided add per kernel offset: the windows of offset `off` over all outputs
        for off in itertools.product(*(range(k) for k in g.kernel)):
            sl = tuple(slice(j * d, j * d + (o - 1) * s + 1, s)
                       for j, d, o, s in zip(off, g.dilate, out_sp, g.stride))
            acc_g[(slice(None), slice(None), slice(None)) + sl] += dcols[(slice(None),) + off]
    return acc[(slice(None), slice(None)) + tuple(slice(l, l + m) for l, m in zip(lo, data_sp))]


def _finish(xp, y, g, dtype, lead_axis=1):
    """(C, N, *sp) or (N, C, *sp) array (``lead_axis`` is where C is) -> contiguous array in
    the geometry's layout and ``dtype``."""
    nd = y.ndim - 2
    if g.channel_last:
        perm = ((1,) if lead_axis == 0 else (0,)) + tuple(range(2, 2 + nd)) + (lead_axis,)
    else:
        perm = (1, 0) + tuple(range(2, 2 + nd)) if lead_axis == 0 else None
    if perm is not None:
        y = y.transpose(perm)
    y = xp.ascontiguousarray(y)
    return y if y.dtype == dtype else y.astype(dtype)


def _weight_finish(xp, w, g, dtype):
    """(F, C/G, *k) -> weight layout of the geometry, contiguous, ``dtype``."""
    if g.channel_last:
        w = w.transpose((0,) + tuple(range(2, w.ndim)) + (1,))
    w = xp.ascontiguousarray(w)
    return w if w.dtype == dtype else w.astype(dtype)


def _bias_grad(og, dtype):
    """Sum of the (channel-first, compute-dtype) output gradient over all but the channels."""
    return og.sum(axis=(0,) + tuple(range(2, og.ndim))).astype(dtype, copy=False)


def _zeros_like_shape(xp, shape, dtype):
    # an output nobody asked for: a zero-cost broadcast (the gradient rule drops it)
    return xp.broadcast_to(xp.zeros((), dtype=dtype), tuple(shape))


def _prep(xp, arrs, g):
    """Inputs in channel-first layout and the compute dtype."""
    ct = _compute_dtype(arrs[0].dtype)
    return [None if a is None else _to_first(xp, a if a.dtype == ct else a.astype(ct), g)
            for a in arrs]


def _check_float(op, x):
    if x.dtype.kind != "f":
        raise MXNetError(f"{op}: only floating-point data is supported (as in MXNet), got "
                         f"{x.dtype.name}")


def _bias_bcast_shape(a):
    """Shape that broadcasts a bias of ``num_filter`` entries along the channel axis of the
    operator's output (known from the attributes alone, so it works for Symbols too)."""
    nd = len(a["kernel"]) + 2
    lay = a["layout"]
    if lay is not None and lay.endswith("C"):
        return (1,) * (nd - 1) + (a["num_filter"],)
    return (1, a["num_filter"]) + (1,) * (nd - 2)


def _sum_terms(terms):
    if not terms:
        return None
    s = terms[0]
    for t in terms[1:]:
        s = s + t
    return s


# ---------------------------------------------------------------------------------------------
# Convolution
_EXTRA = {"workspace": (Int, 1024), "cudnn_tune": (_CUDNN_TUNE, None), "cudnn_off": (Bool, False)}
_CONV_ATTRS = ("kernel", "stride", "dilate", "pad", "num_filter", "num_group", "no_bias",
               "layout", "workspace", "cudnn_tune", "cudnn_off")


def _inputs(a):
    return ("data", "weight") if a["no_bias"] else ("data", "weight", "bias")


def _conv_shape_rule(a, in_shapes):
    dshape = in_shapes[0]
    if dshape is None:
        return in_shapes, [None]
    wshape = in_shapes[1] if len(in_shapes) > 1 else None
    bshape = in_shapes[2] if len(in_shapes) > 2 else None
    _, ws, bs, out = _conv_shapes("Convolution", a, dshape, wshape, bshape)
    ins = [tuple(dshape), ws] + ([bs] if len(in_shapes) > 2 else [])
    return ins, [out]


def _check_bias_input(op, bias, no_bias):
    if no_bias and bias is not None:
        raise MXNetError(f"{op}: no_bias=True but a bias input was given")
    if not no_bias and bias is None:
        raise MXNetError(f"{op}: the bias input is missing (pass bias, or no_bias=True)")


@register("Convolution", shape=_conv_shape_rule, inputs=_inputs, extra_attrs=_EXTRA)
def convolution(rt, data, weight, bias=None, *, kernel: Shape, stride: Shape = (),
                dilate: Shape = (), pad: Shape = (), num_filter: Int, num_group: Int = 1,
                no_bias: Bool = False, layout: _LAYOUT = None, **kw):
    """N-D convolution (MXNet's ``Convolution``): 1-D (NCW), 2-D (NCHW) or 3-D (NCDHW).

    ``out[n, f] = bias[f] + sum_c correlate(data[n, c], weight[f, c])`` within each of the
    ``num_group`` channel groups, with ``stride``, zero ``pad`` on both sides and ``dilate``
    between kernel taps (each defaults to 1, 0, 1 per dimension). Shapes: data
    ``(N, C, *in)``, weight ``(num_filter, C/num_group, *kernel)``, bias ``(num_filter,)``
    (absent with ``no_bias=True``), output ``(N, num_filter, *out)`` with
    ``out = floor((in + 2*pad - dilate*(kernel-1) - 1) / stride) + 1``. Channel-last
    layouts (``NHWC``, ``NDHWC``; weight ``(num_filter, *kernel, C/num_group)``) are accepted
    too. ``workspace``, ``cudnn_tune`` and ``cudnn_off`` only tune MXNet's implementation
    and are accepted and ignored.
    """
    op = "Convolution"
    a = {"kernel": kernel, "stride": stride, "dilate": dilate, "pad": pad,
         "num_filter": num_filter, "num_group": num_group, "layout": layout}
    _check_float(op, data)
    _check_bias_input(op, bias, no_bias)
    g, _, _, oshape = _conv_shapes(op, a, data.shape, weight.shape,
                                   None if bias is None else bias.shape)
    xp = rt.xp
    x, w = _prep(xp, [data, weight], g)
    out_sp = oshape[1:-1] if g.channel_last else oshape[2:]
    y = _conv_fwd(xp, x, w, g, g.pad, out_sp)           # (F, N, *out)
    if bias is not None:
        y += bias.astype(y.dtype, copy=False).reshape((num_filter,) + (1,) * (g.nd + 1))
    return _finish(xp, y, g, data.dtype, lead_axis=0)


def _conv_attrs(a):
    return {k: a[k] for k in _CONV_ATTRS}


def _first_order(bwd_name, attrs_of):
    """The gradient rule of ``Convolution`` / ``Deconvolution``: their backward operator
    ``bwd_name``, computing only the gradients that are needed."""
    def rule(F, a, ins, outs, ogs, need):
        grads = getattr(F, bwd_name)(ogs[0], ins[0], ins[1], **attrs_of(a),
                                     need_data=bool(need[0]), need_weight=bool(need[1]))
        return tuple(gr if nd_ else None for gr, nd_ in zip(grads, need))
    return rule


convolution.gradient(_first_order("_backward_Convolution", _conv_attrs))


def _bconv_shape_rule(a, in_shapes):
    """Shapes of ``_backward_(De)Convolution``: the data's, the weight's, the bias's."""
    og, d, w = in_shapes
    return in_shapes, [d, w] + ([] if a["no_bias"] else [(a["num_filter"],)])


@register("_backward_Convolution", shape=_bconv_shape_rule,
          num_outputs=lambda a: 2 if a["no_bias"] else 3,
          output_names=lambda a: (("data_grad", "weight_grad") if a["no_bias"] else
                                  ("data_grad", "weight_grad", "bias_grad")),
          extra_attrs=_EXTRA)
def _backward_convolution(rt, ograd, data, weight, *, kernel: Shape, stride: Shape = (),
                          dilate: Shape = (), pad: Shape = (), num_filter: Int,
                          num_group: Int = 1, no_bias: Bool = False, layout: _LAYOUT = None,
                          need_data: Bool = True, need_weight: Bool = True, **kw):
    """Gradients of ``Convolution`` (same attributes) for the output gradient ``ograd``:
    ``(data_grad, weight_grad[, bias_grad])``. ``data_grad`` is the transposed convolution
    (col2im) of ``ograd``, ``weight_grad`` the correlation of ``ograd`` with ``data``,
    ``bias_grad`` the sum of ``ograd`` over all but the channel axis. An output whose
    ``need_*`` flag is False is a zero-cost broadcast of 0 (the caller drops it)."""
    op = "_backward_Convolution"
    a = {"kernel": kernel, "stride": stride, "dilate": dilate, "pad": pad,
         "num_filter": num_filter, "num_group": num_group, "layout": layout}
    _check_float(op, data)
    g, _, _, oshape = _conv_shapes(op, a, data.shape, weight.shape)
    if tuple(ograd.shape) != tuple(oshape):
        raise MXNetError(f"{op}: ograd has shape {tuple(ograd.shape)}, expected the "
                         f"Convolution output shape {tuple(oshape)}")
    xp = rt.xp
    og, x, w = _prep(xp, [ograd, data, weight], g)
    dt = data.dtype
    if need_data:
        dx = _finish(xp, _conv_dgrad(xp, og, w, g, g.pad, x.shape[2:]), g, dt, lead_axis=0)
    else:
        dx = _zeros_like_shape(xp, data.shape, dt)
    if need_weight:
        dw = _weight_finish(xp, _conv_wgrad(xp, og, x, g, g.pad, w.shape), g, dt)
    else:
        dw = _zeros_like_shape(xp, weight.shape, dt)
    if no_bias:
        return dx, dw
    return dx, dw, _bias_grad(og, dt)


def _second_order(fwd_name, bwd_name, attrs_of):
    """The gradient rule of ``_backward_Convolution`` / ``_backward_Deconvolution``.

    Their outputs dX, dW, dB are each linear in the output gradient and in one of the data /
    weight, so every gradient of them is again the forward operator (``fwd_name``) or the
    backward one (``bwd_name``) with the same attributes (``attrs_of(a)``)."""
    def rule(F, a, ins, outs, ogs, need):
        og, x, w = ins
        fwd, bwd = getattr(F, fwd_name), getattr(F, bwd_name)
        gdx = ogs[0] if a["need_data"] else None
        gdw = ogs[1] if a["need_weight"] else None
        gdb = ogs[2] if not a["no_bias"] else None
        ca = attrs_of(a)
        nb = dict(ca, no_bias=True)
        g_og = g_x = g_w = None
        if need[0]:
            terms = []
            if gdx is not None:
                terms.append(fwd(gdx, w, **nb))
            if gdw is not None:
                # the bias term rides along with the weight term
                terms.append(fwd(x, gdw, gdb, **ca) if gdb is not None else fwd(x, gdw, **nb))
            elif gdb is not None:
                terms.append(F.broadcast_like(F.reshape(gdb, shape=_bias_bcast_shape(a)), og))
            g_og = _sum_terms(terms)
        if need[1] and gdw is not None:
            g_x = bwd(og, x, gdw, **nb, need_weight=False)[0]
        if need[2] and gdx is not None:
            g_w = bwd(og, gdx, w, **nb, need_data=False)[1]
        return g_og, g_x, g_w
    return rule


# dX = convT(og, w), dW = corr(og, x), dB = sum(og)
_backward_convolution.gradient(_second_order("Convolution", "_backward_Convolution",
                                             _conv_attrs))


# ---------------------------------------------------------------------------------------------
# Deconvolution
_DEXTRA = {"workspace": (Int, 512), "cudnn_tune": (_CUDNN_TUNE, None), "cudnn_off": (Bool, False)}
_DECONV_ATTRS = ("kernel", "stride", "dilate", "pad", "adj", "target_shape", "num_filter",
                 "num_group", "no_bias", "layout", "workspace", "cudnn_tune", "cudnn_off")


def _deconv_shape_rule(a, in_shapes):
    dshape = in_shapes[0]
    if dshape is None:
        return in_shapes, [None]
    wshape = in_shapes[1] if len(in_shapes) > 1 else None
    bshape = in_shapes[2] if len(in_shapes) > 2 else None
    *_, ws, bs, out = _deconv_shapes("Deconvolution", a, dshape, wshape, bshape)
    ins = [tuple(dshape), ws] + ([bs] if len(in_shapes) > 2 else [])
    return ins, [out]


@register("Deconvolution", shape=_deconv_shape_rule, inputs=_inputs, extra_attrs=_DEXTRA)
def deconvolution(rt, data, weight, bias=None, *, kernel: Shape, stride: Shape = (),
                  dilate: Shape = (), pad: Shape = (), adj: Shape = (),
                  target_shape: Shape = (), num_filter: Int, num_group: Int = 1,
                  no_bias: Bool = True, layout: _LAYOUT = None, **kw):
    """Transposed convolution (MXNet's ``Deconvolution``), 1-D, 2-D or 3-D: the gradient of
    a ``Convolution`` with respect to its input, used as a layer.

    Shapes: data ``(N, C, *in)``, weight ``(C, num_filter/num_group, *kernel)``, bias
    ``(num_filter,)`` (only with ``no_bias=False``; MXNet's default is ``no_bias=True``),
    output ``(N, num_filter, *out)`` with
    ``out = stride*(in-1) + dilate*(kernel-1) + 1 - 2*pad + adj``. ``adj`` (each entry
    smaller than the stride) adds rows at the end. When ``target_shape`` has a non-zero
    entry, ``pad`` and ``adj`` are ignored and computed as MXNet does so that the output
    has that spatial shape: ``e = stride*(in-1) + dilated_kernel - target``,
    ``adj = e % 2``, ``pad = (e + 1) // 2``.
    """
    op = "Deconvolution"
    a = {"kernel": kernel, "stride": stride, "dilate": dilate, "pad": pad, "adj": adj,
         "target_shape": target_shape, "num_filter": num_filter, "num_group": num_group,
         "layout": layout}
    _check_float(op, data)
    _check_bias_input(op, bias, no_bias)
    g, pads, _, _, _, oshape = _deconv_shapes(op, a, data.shape, weight.shape,
                                              None if bias is None else bias.shape)
    xp = rt.xp
    x, w = _prep(xp, [data, weight], g)
    out_sp = oshape[1:-1] if g.channel_last else oshape[2:]
    y = _conv_dgrad(xp, x, w, g, pads, out_sp)          # (F, N, *out), a view of a new array
    if bias is not None:
        y += bias.astype(y.dtype, copy=False).reshape((num_filter,) + (1,) * (g.nd + 1))
    return _finish(xp, y, g, data.dtype, lead_axis=0)


def _deconv_attrs(a):
    return {k: a[k] for k in _DECONV_ATTRS}


deconvolution.gradient(_first_order("_backward_Deconvolution", _deconv_attrs))


@register("_backward_Deconvolution", shape=_bconv_shape_rule,
          num_outputs=lambda a: 2 if a["no_bias"] else 3,
          output_names=lambda a: (("data_grad", "weight_grad") if a["no_bias"] else
                                  ("data_grad", "weight_grad", "bias_grad")),
          extra_attrs=_DEXTRA)
def _backward_deconvolution(rt, ograd, data, weight, *, kernel: Shape, stride: Shape = (),
                            dilate: Shape = (), pad: Shape = (), adj: Shape = (),
                            target_shape: Shape = (), num_filter: Int, num_group: Int = 1,
                            no_bias: Bool = True, layout: _LAYOUT = None,
                            need_data: Bool = True, need_weight: Bool = True, **kw):
    """Gradients of ``Deconvolution`` (same attributes) for the output gradient ``ograd``:
    ``(data_grad, weight_grad[, bias_grad])``. ``data_grad`` is the convolution of
    ``ograd`` with ``weight``, ``weight_grad`` the correlation of ``ograd`` with ``data``.
    An output whose ``need_*`` flag is False is a zero-cost broadcast of 0."""
    op = "_backward_Deconvolution"
    a = {"kernel": kernel, "stride": stride, "dilate": dilate, "pad": pad, "adj": adj,
         "target_shape": target_shape, "num_filter": num_filter, "num_group": num_group,
         "layout": layout}
    _check_float(op, data)
    g, pads, _, _, _, oshape = _deconv_shapes(op, a, data.shape, weight.shape)
    if tuple(ograd.shape) != tuple(oshape):
        raise MXNetError(f"{op}: ograd has shape {tuple(ograd.shape)}, expected the "
                         f"Deconvolution output shape {tuple(oshape)}")
    xp = rt.xp
    og, x, w = _prep(xp, [ograd, data, weight], g)
    dt = data.dtype
    if need_data:
        dx = _finish(xp, _conv_fwd(xp, og, w, g, pads, x.shape[2:]), g, dt, lead_axis=0)
    else:
        dx = _zeros_like_shape(xp, data.shape, dt)
    if need_weight:
        # the Convolution weight gradient with data and output gradient swapped
        dw = _weight_finish(xp, _conv_wgrad(xp, x, og, g, pads, w.shape), g, dt)
    else:
        dw = _zeros_like_shape(xp, weight.shape, dt)
    if no_bias:
        return dx, dw
    return dx, dw, _bias_grad(og, dt)


# dX = conv(og, w), dW = corr(x, og), dB = sum(og)
_backward_deconvolution.gradient(_second_order("Deconvolution", "_backward_Deconvolution",
                                               _deconv_attrs))
