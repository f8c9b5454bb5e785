"""Softmax family: ``softmax``, ``log_softmax``, ``softmin``, ``SoftmaxOutput`` (alias
``Softmax``) and ``softmax_cross_entropy`` (MXNet 1.9.1 semantics).

* ``softmax(data, length=None, axis=-1, temperature=None, dtype=None, use_length=False)``
  computes ``exp((x - max) / T) / sum(...)`` along ``axis``. With ``use_length`` the
  integer ``length`` input (shape of ``data`` without ``axis``) masks every position at or
  beyond the length: those outputs (and their gradients) are 0. ``dtype`` sets the output
  dtype (computed in the wider of input and output types).
* ``log_softmax`` and ``softmin`` (softmax of ``-x``) take the same attributes; in MXNet
  1.9.1 they have no ``length`` input, so ``use_length=True`` is an error there.
* ``SoftmaxOutput(data, label)`` is a loss layer: its forward is a softmax (over axis 1
  with ``multi_output``, the last axis with ``preserve_shape``, otherwise over all axes
  but the first) and its gradient is *defined* as MXNet's cross-entropy gradient
  ``(softmax - onehot(label)) * grad_scale / norm`` -- not the derivative of the forward.
  The head gradient is ignored. See :func:`_backward_SoftmaxOutput` for every rule
  (``ignore_label``, ``normalization``, ``smooth_alpha``, probability labels, and
  ``out_grad``, which in MXNet 1.9.1 multiplies by the softmax output).
* ``softmax_cross_entropy(data, label)``: the summed cross entropy of 2-D ``data`` and
  1-D integer class ``label``, shape ``(1,)``.
"""
from __future__ import annotations

import math

import numpy as np

from ...base import MXNetError, np_dtype
from ..attrs import Bool, Enum, Float, Int, OptBool, OptEnum, OptFloat
from ..elemwise_binary import rt_errstate
from ..registry import register, forward_shape

__all__ = ["softmax_raw"]



_FLOAT_DTYPES = OptEnum(None, "float16", "float32", "float64")


def _norm_axis(name, axis, ndim):
    if not -ndim <= axis < ndim:
        raise MXNetError(f"{name}: axis {axis} is out of range for an array with {ndim} "
                         "dimensions")
    return axis % ndim


def _float_only(name, x):
    if x.dtype.kind != "f":
        raise MXNetError(f"{name}: data must be a floating point array, got {x.dtype.name}")


def _softmax_numpy(x, axis, log):
    """:func:`softmax_raw`'s formula without mask or temperature on NumPy, calling the
    ufuncs that ``np.max``/``np.sum`` wrap (the common case, so its overhead counts)."""
    with np.errstate(all="ignore"):
        d = x - np.maximum.reduce(x, axis=axis, keepdims=True)
        e = np.exp(d)
        s = np.add.reduce(e, axis=axis, keepdims=True)
        return d - np.log(s) if log else e / s


def softmax_raw(rt, x, axis, temperature=None, log=False, mask=None):
    """Softmax (or log-softmax) of raw ``x`` along ``axis`` as MXNet computes it:
    ``d = (x - max(x)) / T``, ``exp(d) / sum(exp(d))``. ``mask`` (broadcastable boolean)
    excludes positions: they get 0 and a fully masked row gives zeros. Infinities give
    what the formula gives (NaN for +inf), silently, as in MXNet."""
    xp = rt.xp
    if mask is None and (temperature is None or temperature == 1.0) and xp is np:
        return _softmax_numpy(x, axis, log)
    with rt_errstate(rt):
        if mask is not None:
            x = xp.where(mask, x, -xp.inf)
        m = xp.max(x, axis=axis, keepdims=True)
        if mask is not None:
            # a fully masked row has max -inf; any finite shift keeps its exps at 0
            m = xp.where(xp.isfinite(m), m, 0)
        d = x - m
        if temperature is not None and temperature != 1.0:
            d = d / d.dtype.type(temperature)
        e = xp.exp(d)
        s = xp.sum(e, axis=axis, keepdims=True)
        if log:
            return d - xp.log(s)
        if mask is not None:
            s = xp.where(s == 0, 1, s)
        return e / s


# --- softmax / log_softmax / softmin ------------------------------------------------------------
def _length_shape(dshape, axis):
    ax = _norm_axis("softmax", axis, len(dshape))
    s = tuple(d for i, d in enumerate(dshape) if i != ax)
    return s if s else (1,)


def _sm_shape(a, in_shapes):
    ins = list(in_shapes)
    d = ins[0]
    if d is None:
        return ins, [None]
    if len(ins) > 1:
        want = _length_shape(d, a["axis"])
        if ins[1] is None:
            ins[1] = want
        elif tuple(ins[1]) != want:
            raise MXNetError(f"softmax: length has shape {tuple(ins[1])}, expected {want} "
                             f"(the data shape {tuple(d)} without axis {a['axis']})")
    return ins, [tuple(d)]


def _sm_dtype(a, in_types, n_out):
    t = a.get("dtype") or in_types[0]
    ins = list(in_types)
    if len(ins) > 1 and ins[1] is None:
        ins[1] = "int32"
    return ins, [t] * n_out


def _softmax_forward(name, rt, data, length, axis, temperature, dtype, use_length, kind):
    _float_only(name, data)
    xp = rt.xp
    ax = _norm_axis(name, axis, data.ndim)
    out_dt = np_dtype(dtype) if dtype is not None else data.dtype
    work = xp.result_type(data.dtype, out_dt)
    x = data.astype(work, copy=False)
    if kind == "softmin":
        x = -x
    mask = None
    if use_length:
        if length is None:
            raise MXNetError(f"{name}: use_length=True needs the length input")
        if length.dtype.kind not in "iu":
            raise MXNetError(f"{name}: length must be an integer array, got "
                             f"{length.dtype.name}")
        want = _length_shape(data.shape, axis)
        if tuple(length.shape) != want:
            raise MXNetError(f"{name}: length has shape {tuple(length.shape)}, expected {want}")
        n = data.shape[ax]
        if bool(xp.any((length < 0) | (length > n))):
            raise MXNetError(f"{name}: length values must lie in [0, {n}] (the size of axis "
                             f"{axis})")
        lk = xp.expand_dims(length.reshape(tuple(d for i, d in enumerate(data.shape)
                                                 if i != ax)), ax)
        pos = xp.arange(n).reshape(tuple(n if i == ax else 1 for i in range(data.ndim)))
        mask = pos < lk
    elif length is not None:
        raise MXNetError(f"{name}: a length input is only accepted with use_length=True")
    r = softmax_raw(rt, x, ax, temperature, log=(kind == "log_softmax"), mask=mask)
    return r.astype(out_dt, copy=False)


def _softmax_grad(kind):
    def rule(F, a, ins, outs, ogs, need):
        x, y, g = ins[0], outs[0], ogs[0]
        ax = a["axis"]
        if kind == "log_softmax":
            gx = g - F.exp(y) * F.sum(g, axis=ax, keepdims=True)
        else:
            gx = y * (g - F.sum(g * y, axis=ax, keepdims=True))
            if kind == "softmin":
                gx = -gx
        t = a["temperature"]
        if t is not None and t != 1.0:
            gx = gx / t
        if a["dtype"] is not None:
            gx = F._cast_like(gx, x)
        return (gx,) + (None,) * (len(ins) - 1)
    return rule


@register("softmax", shape=_sm_shape, dtype=_sm_dtype, index_inputs=("length",),
          inputs=lambda a: ("data", "length") if a["use_length"] else ("data",))
def softmax(rt, data, length=None, *, axis: Int = -1, temperature: OptFloat = None,
            dtype: _FLOAT_DTYPES = None, use_length: OptBool = False):
    """Softmax along ``axis`` (MXNet's ``softmax``): ``exp((x - max) / T) / sum``.

    With ``use_length=True`` the integer ``length`` input (the data shape without
    ``axis``) keeps only the first ``length`` positions of each slice; the rest output 0.
    ``dtype`` chooses the output dtype.
    """
    return _softmax_forward("softmax", rt, data, length, axis, temperature, dtype,
                            use_length, "softmax")


softmax.gradient(_softmax_grad("softmax"))


def _softmax_lowering(kind):
    """Softmax / log-softmax of float data without a length input, in the data's dtype:
    :func:`softmax_raw` with the axis normalised now (what the forward then runs)."""
    def lower(L, a, ins, outs):
        x = ins[0]
        if len(ins) > 1 or a["use_length"] or not x.dtype.startswith("float"):
            return None
        if a["dtype"] is not None and a["dtype"] != x.dtype:
            return None
        ax = a["axis"]
        if not -x.ndim <= ax < x.ndim:
            return None
        t = a["temperature"]
        if t is not None and not math.isfinite(t):
            return None
        return (f"{L.bind(softmax_raw, 'softmax_raw')}(rt, {{0}}, {ax % x.ndim}, "
                f"{t!r}, {kind == 'log_softmax'})")
    return lower


softmax.lowering(_softmax_lowering("softmax"))


def _no_length(name):
    def fwd(rt, data, *, axis: Int = -1, temperature: OptFloat = None,
            dtype: _FLOAT_DTYPES = None, use_length: OptBool = False):
        if use_length:
            raise MXNetError(f"{name}: use_length=True is not supported: {name} takes no "
                             "length input in MXNet 1.9.1 (use softmax with use_length)")
        return _softmax_forward(name, rt, data, None, axis, temperature, dtype, False, name)

    return fwd


_lsm = _no_length("log_softmax")
_lsm.__doc__ = ("Log of the softmax along ``axis`` (MXNet's ``log_softmax``): "
                "``(x - max) / T - log(sum(exp((x - max) / T)))``.")
log_softmax = register("log_softmax", shape=_sm_shape, dtype=_sm_dtype)(_lsm)
log_softmax.gradient(_softmax_grad("log_softmax"))
log_softmax.lowering(_softmax_lowering("log_softmax"))

_smin = _no_length("softmin")
_smin.__doc__ = ("Softmin along ``axis`` (MXNet's ``softmin``): the softmax of ``-x``, "
                 "``exp((max(-x) - x) / T) / sum``.")
softmin = register("softmin", shape=_sm_shape, dtype=_sm_dtype)(_smin)
softmin.gradient(_softmax_grad("softmin"))


# --- SoftmaxOutput -----------------------------------------------------------------------------
def _so_label_shapes(dshape, multi_output):
    """Label shapes MXNet accepts for data of shape ``dshape`` (besides ``dshape`` itself,
    which means a probability label); the first is the one inferred."""
    d = tuple(dshape)
    if multi_output:
        if len(d) < 2:
            raise MXNetError(f"SoftmaxOutput: multi_output needs data with at least 2 "
                             f"dimensions, got {d}")
        rest = 1
        for s in d[2:]:
            rest *= s
        return [(d[0], rest), (d[0],) + d[2:], (d[0], 1) + d[2:]]
    if len(d) < 2:
        raise MXNetError(f"SoftmaxOutput: data must have at least 2 dimensions (batch, "
                         f"classes), got {d}")
    return [d[:-1]]


def _so_shape(a, in_shapes):
    d, lab = in_shapes
    if d is None:
        return [d, lab], [None]
    d = tuple(d)
    if lab is not None and tuple(lab) == d:
        return [d, d], [d]
    shapes = _so_label_shapes(d, a["multi_output"])
    if lab is None:
        lab = shapes[0]
    elif tuple(lab) not in shapes:
        raise MXNetError(f"SoftmaxOutput: label has shape {tuple(lab)}; for data of shape {d} "
                         f"(multi_output={a['multi_output']}) expected "
                         f"{' or '.join(str(s) for s in shapes)} (or {d} for probability "
                         "labels)")
    return [d, tuple(lab)], [d]


_SO_ATTRS = dict(grad_scale=(Float, 1.0), ignore_label=(Float, -1.0),
                 multi_output=(Bool, False), use_ignore=(Bool, False),
                 preserve_shape=(Bool, False),
                 normalization=(Enum("batch", "null", "valid"), "null"),
                 out_grad=(Bool, False), smooth_alpha=(Float, 0.0))


def _so_forward(rt, data, label, multi_output, preserve_shape):
    _float_only("SoftmaxOutput", data)
    _so_shape({"multi_output": multi_output}, [data.shape, label.shape])
    if multi_output:
        return softmax_raw(rt, data, 1)
    if preserve_shape:
        return softmax_raw(rt, data, data.ndim - 1)
    return softmax_raw(rt, data.reshape(data.shape[0], -1), 1).reshape(data.shape)


@register("SoftmaxOutput", aliases=("Softmax",), shape=_so_shape, index_inputs=("label",))
def SoftmaxOutput(rt, data, label, *, grad_scale: Float = 1.0, ignore_label: Float = -1.0,
                  multi_output: Bool = False, use_ignore: Bool = False,
                  preserve_shape: Bool = False,
                  normalization: Enum("batch", "null", "valid") = "null",
                  out_grad: Bool = False, smooth_alpha: Float = 0.0):
    """Softmax output layer (MXNet's ``SoftmaxOutput``, alias ``Softmax``).

    Forward: softmax over axis 1 (``multi_output``), the last axis (``preserve_shape``)
    or all axes but the first (default). Backward: the cross-entropy gradient with respect
    to ``data``, ``(softmax - onehot(label)) * grad_scale / norm``, *ignoring* the head
    gradient (see :func:`_backward_SoftmaxOutput`). ``label`` holds class indices of shape
    ``data.shape[:-1]`` (``(n, prod(data.shape[2:]))`` or ``(n,) + data.shape[2:]`` with
    ``multi_output``), or probabilities of the data's own shape.
    """
    return _so_forward(rt, data, label, multi_output, preserve_shape)


@SoftmaxOutput.gradient
def _(F, a, ins, outs, ogs, need):
    return F._backward_SoftmaxOutput(outs[0], ins[1], **a), None


def _class_index(xp, label):
    # static_cast<int>: floats truncate towards zero
    if label.dtype.kind == "f":
        return xp.trunc(label).astype("int64")
    return label.astype("int64")


def _so_backward(xp, out, label, a):
    scale = a["grad_scale"]
    dt = out.dtype.type
    if tuple(label.shape) == tuple(out.shape):
        # probability labels: plain (out - label) * grad_scale, no normalisation
        grad = (out - label.astype(out.dtype, copy=False)) * dt(scale)
    elif a["multi_output"]:
        n, k = out.shape[0], out.shape[1]
        rest = out.size // max(n * k, 1)
        o3 = out.reshape(n, k, rest)
        li = _class_index(xp, label).reshape(n, rest)
        onehot = li[:, None, :] == xp.arange(k).reshape(1, k, 1)
        grad = o3 - onehot.astype(out.dtype)
        ign = int(a["ignore_label"])
        if a["use_ignore"]:
            grad = grad * (li != ign)[:, None, :].astype(out.dtype)
        norm = a["normalization"]
        if norm == "valid":
            denom = max(int(xp.sum(li != ign)), 1)
        elif norm == "batch":
            denom = rest * n
        else:
            # MXNet divides by the spatial size even without normalisation
            denom = rest
        grad = (grad * dt(scale / denom)).reshape(out.shape)
    else:
        if a["preserve_shape"]:
            rows, k = out.size // out.shape[-1], out.shape[-1]
        else:
            rows, k = out.shape[0], out.size // out.shape[0]
        o2 = out.reshape(rows, k)
        lab_all = _class_index(xp, label).reshape(-1)
        # MXNet reads the flat label's first `rows` entries, one per row
        li = lab_all[:rows]
        onehot = (li[:, None] == xp.arange(k)[None, :]).astype(out.dtype)
        alpha = a["smooth_alpha"]
        if alpha > 0:
            target = onehot * dt(1.0 - alpha) + (1 - onehot) * dt(alpha / max(k - 1, 1))
        else:
            target = onehot
        grad = o2 - target
        ign = int(a["ignore_label"])
        if a["use_ignore"]:
            grad = grad * (li != ign)[:, None].astype(out.dtype)
        norm = a["normalization"]
        if norm == "valid":
            denom = max(int(xp.sum(lab_all != ign)), 1)
        elif norm == "batch":
            denom = lab_all.size
        else:
            denom = 1
        grad = (grad * dt(scale / denom)).reshape(out.shape)
    if a["out_grad"]:
        # MXNet 1.9.1's _backward_SoftmaxOutput is not given the head gradient: with
        # out_grad=True it multiplies by its first input, the softmax output.
        grad = grad * out
    return grad.astype(out.dtype, copy=False)


@register("_backward_SoftmaxOutput", shape=_so_shape, index_inputs=("label",),
          extra_attrs={k: v for k, v in _SO_ATTRS.items()})
def _backward_SoftmaxOutput(rt, out, label, **a):
    """Gradient of ``SoftmaxOutput`` with respect to its data, from its output ``out``.

    * ``label`` of ``out``'s shape (probabilities): ``(out - label) * grad_scale``.
    * ``multi_output``: ``out`` is viewed as ``(n, k, rest)`` and ``label`` as ``(n,
      rest)``; ``(out - onehot) * grad_scale / d`` with ``d = rest`` for
      ``normalization='null'``, ``n * rest`` for ``'batch'`` and the number of labels not
      equal to ``ignore_label`` (at least 1) for ``'valid'``.
    * otherwise ``out`` is viewed as rows (``(n, -1)``, or ``(-1, last)`` with
      ``preserve_shape``), row ``i`` takes class ``label.flat[i]``, the one-hot target is
      smoothed by ``smooth_alpha`` (``1 - alpha`` on the class, ``alpha / (k - 1)``
      elsewhere) and ``d`` is 1, ``label.size`` or the valid count.
    * ``use_ignore``: positions whose label is ``ignore_label`` get 0. Labels are
      truncated to integers; a class outside ``[0, k)`` matches no column.
    * ``out_grad``: the result is multiplied by ``out`` (what MXNet 1.9.1 does: its
      backward never receives the head gradient).
    """
    full = {k: a.get(k, d) for k, (_, d) in _SO_ATTRS.items()}
    _so_shape(full, [out.shape, label.shape])
    return _so_backward(rt.xp, out, label, full)


@_backward_SoftmaxOutput.gradient
def _(F, a, ins, outs, ogs, need):
    # the result is (out - target) * c [* out]: elementwise affine in out, whose slope c
    # is B(ones) - B(zeros) of the out_grad-free map B
    out, label = ins
    lin_a = dict(a, out_grad=False)
    slope = (F._backward_SoftmaxOutput(F.ones_like(out), label, **lin_a)
             - F._backward_SoftmaxOutput(F.zeros_like(out), label, **lin_a))
    if a.get("out_grad", False):
        d = F._backward_SoftmaxOutput(out, label, **lin_a) + out * slope
    else:
        d = slope
    return ogs[0] * d, None


# --- softmax_cross_entropy ---------------------------------------------------------------------
def _sce_shape(a, dshape, lshape):
    if len(dshape) != 2:
        raise MXNetError(f"softmax_cross_entropy: data must be 2-D (batch, classes), got "
                         f"shape {tuple(dshape)}")
    if tuple(lshape) != (dshape[0],):
        raise MXNetError(f"softmax_cross_entropy: label must have shape ({dshape[0]},), got "
                         f"{tuple(lshape)}")
    return (1,)


@register("softmax_cross_entropy", shape=forward_shape(_sce_shape),
          index_inputs=("label",))
def softmax_cross_entropy(rt, data, label):
    """Summed softmax cross entropy (MXNet's ``softmax_cross_entropy``):
    ``-sum_i log(softmax(data)[i, label[i]])`` for 2-D ``data`` and class indices
    ``label`` of shape ``(batch,)``; the result has shape ``(1,)``."""
    _float_only("softmax_cross_entropy", data)
    _sce_shape(None, data.shape, label.shape)
    xp = rt.xp
    li = _class_index(xp, label)
    k = data.shape[1]
    if bool(xp.any((li < 0) | (li >= k))):
        raise MXNetError(f"softmax_cross_entropy: label values must be class indices in "
                         f"[0, {k})")
    ls = softmax_raw(rt, data, 1, log=True)
    picked = xp.take_along_axis(ls, li.reshape(-1, 1), axis=1)
    return (-xp.sum(picked)).reshape(1).astype(data.dtype, copy=False)


@softmax_cross_entropy.gradient
def _(F, a, ins, outs, ogs, need):
    x, label = ins
    return ogs[0] * F._backward_SoftmaxOutput(F.softmax(x), label), None
