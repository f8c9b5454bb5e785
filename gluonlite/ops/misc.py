"""Smaller MXNet 1.9.1 operators from the ``nd``/``sym`` namespace diff: ``im2col`` and
``col2im`` (each the other's gradient), ``SVMOutput``, ``fill_element_0index``,
``amp_cast`` and ``amp_multicast``.

* ``im2col(data, kernel, stride, dilate, pad)``: ``(N, C, *spatial)`` to ``(N, C *
  prod(kernel), L)``, row ``c * prod(kernel) + kernel offset`` (row-major), column the
  output position (row-major), zero padding;
* ``col2im(data, output_size, ...)``: its adjoint, overlapping entries summed;
* ``SVMOutput(data, label, margin=1, regularization_coefficient=1, use_linear=False)``:
  forward is the identity; the gradient is MXNet's (squared or linear) hinge-loss gradient,
  the head gradient ignored, as MXNet's output layers do;
* ``fill_element_0index(lhs, mhs, rhs)``: ``lhs`` with ``out[i, rhs[i]] = mhs[i]``;
* ``amp_cast(data, dtype)`` is ``Cast``; ``amp_multicast(*data, num_outputs, cast_narrow)``
  casts every float input to the widest (``cast_narrow``: narrowest) float type among them.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..base import MXNetError
from .attrs import Bool, DType, Float, Int, Shape
from .registry import dtype_from_attr, register, shape_same

__all__ = []


# --- im2col / col2im ---------------------------------------------------------------------
def _conv_params(name, nd_sp, kernel, stride, dilate, pad):
    k = tuple(kernel)
    if len(k) != nd_sp or any(v <= 0 for v in k):
        raise MXNetError(f"{name}: kernel must hold {nd_sp} positive sizes (one per spatial "
                         f"axis), got {k}")
    s = tuple(stride) or (1,) * nd_sp
    d = tuple(dilate) or (1,) * nd_sp
    p = tuple(pad) or (0,) * nd_sp
    for what, v in (("stride", s), ("dilate", d), ("pad", p)):
        if len(v) != nd_sp:
            raise MXNetError(f"{name}: {what} must hold {nd_sp} values, got {v}")
    if any(v <= 0 for v in s + d) or any(v < 0 for v in p):
        raise MXNetError(f"{name}: stride and dilate must be positive and pad non-negative")
    return k, s, d, p


def _out_sizes(name, spatial, k, s, d, p):
    out = tuple((n + 2 * pp - dd * (kk - 1) - 1) // ss + 1
                for n, kk, ss, dd, pp in zip(spatial, k, s, d, p))
    if any(o <= 0 for o in out):
        raise MXNetError(f"{name}: the kernel {k} (dilate {d}) does not fit the padded input "
                         f"{tuple(spatial)} (pad {p})")
    return out


def _windows(k, s, d, out):
    """For every kernel offset: its flat index and the strided slices it reads."""
    for i, off in enumerate(itertools.product(*[range(kk) for kk in k])):
        yield i, tuple(slice(o * dd, o * dd + (n - 1) * ss + 1, ss)
                       for o, dd, ss, n in zip(off, d, s, out))


def _im2col(xp, x, k, s, d, p):
    n, c = x.shape[:2]
    out = _out_sizes("im2col", x.shape[2:], k, s, d, p)
    xpad = xp.pad(x, [(0, 0), (0, 0)] + [(q, q) for q in p])
    kk = int(np.prod(k))
    cols = xp.empty((n, c, kk) + out, x.dtype)
    for i, sl in _windows(k, s, d, out):
        cols[:, :, i] = xpad[(slice(None), slice(None)) + sl]
    return cols.reshape(n, c * kk, int(np.prod(out)))


def _col2im(xp, cols, spatial, k, s, d, p):
    n = cols.shape[0]
    kk = int(np.prod(k))
    if cols.ndim != 3 or cols.shape[1] % kk:
        raise MXNetError(f"col2im: data must be (batch, channels * prod(kernel), positions) "
                         f"with prod(kernel)={kk}, got shape {tuple(cols.shape)}")
    c = cols.shape[1] // kk
    out = _out_sizes("col2im", spatial, k, s, d, p)
    if cols.shape[2] != int(np.prod(out)):
        raise MXNetError(f"col2im: data has {cols.shape[2]} positions, output_size "
                         f"{tuple(spatial)} with these kernel/stride/pad gives "
                         f"{int(np.prod(out))}")
    cols = cols.reshape((n, c, kk) + out)
    img = xp.zeros((n, c) + tuple(q + 2 * pp for q, pp in zip(spatial, p)), cols.dtype)
    for i, sl in _windows(k, s, d, out):
        img[(slice(None), slice(None)) + sl] += cols[:, :, i]
    crop = tuple(slice(pp, pp + q) for pp, q in zip(p, spatial))
    return img[(slice(None), slice(None)) + crop]


def _im2col_shape(a, in_shapes):
    x = in_shapes[0]
    if x is None:
        return in_shapes, [None]
    k, s, d, p = _conv_params("im2col", len(x) - 2, a["kernel"], a["stride"], a["dilate"],
                              a["pad"])
    out = _out_sizes("im2col", x[2:], k, s, d, p)
    return in_shapes, [(x[0], x[1] * int(np.prod(k)), int(np.prod(out)))]


@register("im2col", shape=_im2col_shape)
def im2col(rt, data, *, kernel: Shape, stride: Shape = (), dilate: Shape = (),
           pad: Shape = ()):
    """Sliding-window patches of ``data`` as columns (MXNet's ``im2col``; see the module
    docstring)."""
    if data.ndim < 3:
        raise MXNetError(f"im2col: data must be (batch, channel, *spatial), got shape "
                         f"{tuple(data.shape)}")
    k, s, d, p = _conv_params("im2col", data.ndim - 2, kernel, stride, dilate, pad)
    return _im2col(rt.xp, data, k, s, d, p)


@im2col.gradient
def _(F, a, ins, outs, ogs, need):
    # the adjoint of im2col is col2im at the input's spatial size; symbols do not know it
    # here, so the raw shape is read from the input
    return (F.col2im(ogs[0], output_size=tuple(ins[0].shape[2:]), kernel=a["kernel"],
                     stride=a["stride"], dilate=a["dilate"], pad=a["pad"]),)


def _col2im_shape(a, in_shapes):
    x = in_shapes[0]
    if x is None:
        return in_shapes, [None]
    k = tuple(a["kernel"])
    kk = int(np.prod(k)) if k else 1
    return in_shapes, [(x[0], x[1] // kk) + tuple(a["output_size"])]


@register("col2im", shape=_col2im_shape)
def col2im(rt, data, *, output_size: Shape, kernel: Shape, stride: Shape = (),
           dilate: Shape = (), pad: Shape = ()):
    """Sum columns back into an image of spatial size ``output_size`` (MXNet's ``col2im``,
    the adjoint of ``im2col``)."""
    spatial = tuple(output_size)
    k, s, d, p = _conv_params("col2im", len(spatial), kernel, stride, dilate, pad)
    return _col2im(rt.xp, data, spatial, k, s, d, p)


@col2im.gradient
def _(F, a, ins, outs, ogs, need):
    return (F.im2col(ogs[0], kernel=a["kernel"], stride=a["stride"], dilate=a["dilate"],
                     pad=a["pad"]),)


# --- SVMOutput ---------------------------------------------------------------------------
def _svm_shape(a, in_shapes):
    d, lab = in_shapes
    if d is None:
        return in_shapes, [None]
    return [d, lab or (d[0],)], [d]


def _svm_check(data, label):
    if data.ndim != 2 or label.shape != (data.shape[0],):
        raise MXNetError(f"SVMOutput: data must be (batch, classes) and label (batch,), got "
                         f"{tuple(data.shape)} and {tuple(label.shape)}")


@register("SVMOutput", shape=_svm_shape, index_inputs=("label",))
def SVMOutput(rt, data, label, *, margin: Float = 1.0,
              regularization_coefficient: Float = 1.0, use_linear: Bool = False):
    """Support-vector-machine output layer (MXNet's ``SVMOutput``): the identity forward;
    the backward is the hinge-loss gradient (see ``_backward_SVMOutput``)."""
    _svm_check(data, label)
    return data.copy()


@SVMOutput.gradient
def _(F, a, ins, outs, ogs, need):
    return F._backward_SVMOutput(ins[0], ins[1], **a), None


@register("_backward_SVMOutput", shape=lambda a, s: (s, [s[0]]), index_inputs=("label",))
def _backward_SVMOutput(rt, data, label, *, margin: Float = 1.0,
                        regularization_coefficient: Float = 1.0, use_linear: Bool = False):
    """MXNet's SVMOutput gradient: for the label's class ``-c * [margin > x]`` (linear) or
    ``-2c * max(margin - x, 0)`` (squared), for the others ``c * [margin > -x]`` or
    ``2c * max(margin + x, 0)`` (``c`` the regularization coefficient)."""
    _svm_check(data, label)
    xp = rt.xp
    c = float(np.float32(regularization_coefficient))
    m = float(np.float32(margin))
    k = label.astype(np.int64)
    if k.size and (k.min() < 0 or k.max() >= data.shape[1]):
        raise MXNetError(f"SVMOutput: labels must be class indices in [0, {data.shape[1]}), got "
                         f"{k.min()}..{k.max()}")
    own = xp.zeros(data.shape, bool)
    own[xp.arange(data.shape[0]), k] = True
    if use_linear:
        g = xp.where(own, -c * (m > data), c * (m > -data))
    else:
        g = xp.where(own, -2.0 * c * xp.maximum(m - data, 0), 2.0 * c * xp.maximum(m + data, 0))
    return g.astype(data.dtype)


# --- fill_element_0index -------------------------------------------------------------------
@register("fill_element_0index", shape=lambda a, s: (s, [s[0]]), index_inputs=("rhs",))
def fill_element_0index(rt, lhs, mhs, rhs):
    """``lhs`` with ``out[i, rhs[i]] = mhs[i]`` for every row ``i`` (MXNet's
    ``fill_element_0index``; not differentiable, as in MXNet)."""
    if lhs.ndim != 2 or mhs.shape != (lhs.shape[0],) or rhs.shape != (lhs.shape[0],):
        raise MXNetError(f"fill_element_0index: lhs must be 2-D (n, m) and mhs, rhs (n,), got "
                         f"{tuple(lhs.shape)}, {tuple(mhs.shape)}, {tuple(rhs.shape)}")
    idx = rhs.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= lhs.shape[1]):
        raise MXNetError(f"fill_element_0index: rhs must hold column indices in [0, "
                         f"{lhs.shape[1]})")
    out = lhs.copy()
    out[rt.xp.arange(lhs.shape[0]), idx] = mhs
    return out


# --- AMP casts -----------------------------------------------------------------------------
_AMP_TYPES = ("bfloat16", "float16", "float32", "float64", "int32", "int64", "int8", "uint8")


@register("amp_cast", shape=shape_same, dtype=dtype_from_attr("dtype"))
def amp_cast(rt, data, *, dtype: DType):
    """Cast for automatic mixed precision (MXNet's ``amp_cast``): ``Cast`` to ``dtype``;
    the gradient is cast back."""
    if dtype not in _AMP_TYPES or dtype == "bfloat16":
        raise MXNetError(f"amp_cast: dtype must be one of {list(_AMP_TYPES[1:])}, got {dtype}")
    return data.astype(dtype)


@amp_cast.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._cast_like(ogs[0], ins[0]),)


def _multicast_target(types, narrow):
    fl = [np.dtype(t) for t in types if t is not None and np.dtype(t).kind == "f"]
    if not fl:
        return None
    return (min if narrow else max)(fl, key=lambda t: t.itemsize).name


def _multicast_dtype(a, in_types, n_out):
    t = _multicast_target(in_types, a["cast_narrow"])
    return in_types, [t if x is not None and np.dtype(x).kind == "f" else x for x in in_types]


@register("amp_multicast", shape=lambda a, s: (s, list(s)), dtype=_multicast_dtype,
          num_outputs=lambda a: a["num_outputs"])
def amp_multicast(rt, *data, num_outputs: Int, cast_narrow: Bool = False):
    """Cast every floating point input to the widest floating point type among them (the
    narrowest with ``cast_narrow``), for automatic mixed precision (MXNet's
    ``amp_multicast``)."""
    if len(data) != num_outputs:
        raise MXNetError(f"amp_multicast: num_outputs={num_outputs} but {len(data)} arrays "
                         "were given")
    t = _multicast_target([x.dtype.name for x in data], cast_narrow)
    outs = tuple(x.astype(t) if x.dtype.kind == "f" else x.copy() for x in data)
    return outs if len(outs) > 1 else outs[0]


@amp_multicast.gradient
def _(F, a, ins, outs, ogs, need):
    return tuple(F._cast_like(g, x) for g, x in zip(ogs, ins))
