"""Normalisation layers: ``BatchNorm``, ``LayerNorm``, ``InstanceNorm``, ``GroupNorm``
(MXNet 1.9.1 semantics).

BatchNorm follows MXNet's CPU operator exactly:

* training (``autograd.is_training()`` and not ``use_global_stats``) normalises with the
  batch mean and the *biased* batch variance over every axis but ``axis``; inference (or
  ``use_global_stats``) uses ``moving_mean``/``moving_var``.
* Hidden outputs ``mean`` and ``var`` hold the mean and the *inverse standard deviation*
  ``1/sqrt(var + eps)`` used (MXNet's ``output_mean_var=True`` returns exactly these).
  Gradients that reach them (a loss using the ``output_mean_var`` outputs) are propagated
  to ``data`` in training mode; MXNet drops them.
* MXNet updates the moving statistics in the **backward** pass, not the forward:
  ``moving = moving * momentum + batch_stat * (1 - momentum)`` (the variance recovered as
  ``1/invstd**2 - eps``), once per backward run in training mode. A forward alone, even in
  training mode, leaves them unchanged -- as in MXNet. This is ``_backward_BatchNorm``.
* Its backward picks the formula by the *backward's* training flag, as MXNet does: in
  training, the batch-statistics gradient (using the saved mean/inverse std); otherwise the
  global-statistics one (``grad * gamma / sqrt(moving_var + eps)``). A forward in
  inference mode followed by ``backward()`` (whose ``train_mode`` defaults to True)
  therefore gives MXNet's numbers.
* ``fix_gamma=True`` treats gamma as 1, gives it a zero gradient and, as MXNet does, writes
  1 into the gamma array (Gluon's ``BatchNorm(scale=False)`` relies on seeing that).
* float16 data takes float32 parameters and statistics (as Gluon casts them).
* Its gradient is the operator ``_backward_BatchNorm`` (one pass, and the statistics
  update); under ``create_graph=True`` the same formulas are also written with registered
  operators so the gradient is differentiable again (MXNet has no second-order BatchNorm).

LayerNorm, InstanceNorm and GroupNorm normalise with ``std = sqrt(var + eps)`` (biased
variance) over, respectively, ``axis``; the spatial axes of each (sample, channel); and
each (sample, group of channels). Their gradient rules are written with registered
operators, so they are differentiable again; they also propagate gradients that reach
the ``mean``/``std`` outputs (MXNet drops those), which is what makes second-order
gradients exact.
"""
from __future__ import annotations

from ...base import MXNetError, np_dtype
from ..attrs import Bool, Float, Int, OptFloat
from ..registry import register

__all__ = []


def _float_only(name, x):
    if x.dtype.kind != "f":
        raise MXNetError(f"{name}: data must be a floating point array, got {x.dtype.name}")


def _norm_axis(name, axis, ndim):
    if not -ndim <= axis < ndim:
        raise MXNetError(f"{name}: axis {axis} is out of range for data with {ndim} "
                         "dimensions")
    return axis % ndim


def _check_param(name, pname, arr, shape, dtype):
    if tuple(arr.shape) != tuple(shape):
        raise MXNetError(f"{name}: {pname} has shape {tuple(arr.shape)}, expected "
                         f"{tuple(shape)}")
    if dtype is not None and arr.dtype != dtype:
        raise MXNetError(f"{name}: {pname} has dtype {arr.dtype.name}, expected "
                         f"{dtype.name if hasattr(dtype, 'name') else dtype}")


def _fill(name, ins, idx, shape):
    for i in idx:
        if i >= len(ins):
            continue
        if ins[i] is None:
            ins[i] = tuple(shape)
        elif tuple(ins[i]) != tuple(shape):
            raise MXNetError(f"{name}: input {i} has shape {tuple(ins[i])}, expected "
                             f"{tuple(shape)}")


# --- BatchNorm -----------------------------------------------------------------------------------
def _param_dtype(t):
    """Dtype of BatchNorm's parameters/statistics for data dtype ``t``."""
    return "float32" if t is not None and str(t) == "float16" else t


def _bn_shape(a, in_shapes):
    ins = list(in_shapes)
    d = ins[0]
    if d is None:
        return ins, [None, None, None]
    ax = _norm_axis("BatchNorm", a["axis"], len(d))
    c = (d[ax],)
    _fill("BatchNorm", ins, (1, 2, 3, 4), c)
    return ins, [tuple(d), c, c]


def _bn_dtype(a, in_types, n_out):
    t = in_types[0]
    pt = _param_dtype(t)
    ins = [in_types[0]] + [x if x is not None else pt for x in in_types[1:]]
    return ins, [t, pt, pt][:n_out]


_BN_EXTRA = {"cudnn_off": (Bool, False), "min_calib_range": (OptFloat, None),
             "max_calib_range": (OptFloat, None)}


@register("BatchNorm", shape=_bn_shape, dtype=_bn_dtype, aux=("moving_mean", "moving_var"),
          index_inputs=("gamma", "beta"), num_outputs=3,
          visible_outputs=lambda a: 3 if a["output_mean_var"] else 1,
          output_names=("output", "mean", "var"), extra_attrs=_BN_EXTRA)
def BatchNorm(rt, data, gamma, beta, moving_mean, moving_var, *, eps: Float = 1e-3,
              momentum: Float = 0.9, fix_gamma: Bool = True, use_global_stats: Bool = False,
              output_mean_var: Bool = False, axis: Int = 1, **kw):
    """Batch normalisation (MXNet's ``BatchNorm``).

    ``out = (x - mean) / sqrt(var + eps) * gamma + beta`` per channel of ``axis``, with the
    batch statistics in training and ``moving_mean``/``moving_var`` in inference (or with
    ``use_global_stats``). ``fix_gamma`` uses 1 for gamma. With ``output_mean_var`` the
    mean and the inverse standard deviation are returned too. The moving statistics are
    updated by the backward pass (see the module docstring).
    """
    ax = _norm_axis("BatchNorm", axis, data.ndim)
    bshape = tuple(data.shape[ax] if i == ax else 1 for i in range(data.ndim))
    mean, invstd, center, scale, shift = _BatchNorm_stats_fwd(
        rt, data, gamma, beta, moving_mean, moving_var, eps=eps, fix_gamma=fix_gamma,
        use_global_stats=use_global_stats, axis=axis, **kw)
    x = data.astype(scale.dtype, copy=False)
    # x - 0 is exact, so inference computes x * scale + shift
    out = (x - center.reshape(bshape)) * scale.reshape(bshape) + shift.reshape(bshape)
    return out.astype(data.dtype, copy=False), mean, invstd


def _BatchNorm_stats_fwd(rt, data, gamma, beta, moving_mean, moving_var, *, eps, fix_gamma,
                         use_global_stats, axis, **kw):
    """BatchNorm's per-channel numbers: ``(mean, invstd, center, scale, shift)`` with
    ``out = (x - center) * scale + shift`` (see ``_BatchNorm_stats``)."""
    name = "BatchNorm"
    _float_only(name, data)
    if kw.get("min_calib_range") is not None or kw.get("max_calib_range") is not None:
        raise MXNetError("BatchNorm: min_calib_range/max_calib_range are for quantized "
                         "BatchNorm, which gluonlite does not implement")
    xp = rt.xp
    ax = _norm_axis(name, axis, data.ndim)
    c = data.shape[ax]
    pdt = np_dtype(_param_dtype(data.dtype.name))
    for pname, arr in (("gamma", gamma), ("beta", beta), ("moving_mean", moving_mean),
                       ("moving_var", moving_var)):
        _check_param(name, pname, arr, (c,), pdt)
    red = tuple(i for i in range(data.ndim) if i != ax)
    bshape = tuple(c if i == ax else 1 for i in range(data.ndim))
    x = data.astype(pdt, copy=False)
    if fix_gamma:
        gamma[...] = 1  # MXNet overwrites gamma in place
    w = xp.ones((c,), pdt) if fix_gamma else gamma
    if rt.is_train and not use_global_stats:
        mean = xp.mean(x, axis=red)
        xc = x - mean.reshape(bshape)
        var = xp.mean(xc * xc, axis=red)
        return bn_coefficients(xp, pdt, mean, var, w, beta, eps, True)
    return bn_coefficients(xp, pdt, moving_mean, moving_var, w, beta, eps, False)


def bn_coefficients(xp, pdt, mean, var, w, beta, eps, train):
    """``(mean, invstd, center, scale, shift)`` of BatchNorm from the statistics used
    (batch ``mean``/``var`` in training, the moving ones otherwise), gamma or ones ``w`` and
    ``beta``. Training normalises as ``(x - mean) * (invstd * w) + beta``; inference as
    ``x * scale + (beta - mean * scale)`` -- MXNet's two formulas, both written
    ``(x - center) * scale + shift`` (inference's ``center`` is 0)."""
    invstd = 1 / xp.sqrt(var.astype(pdt, copy=False) + pdt.type(eps))
    scale = (invstd * w).astype(pdt, copy=False)
    if train:
        mean = mean.astype(pdt)
        return mean, invstd, mean.copy(), scale, beta.astype(pdt, copy=True)
    mean = mean.copy()
    return mean, invstd, xp.zeros_like(mean), scale, (beta - mean * scale).astype(pdt)


def _bn_stats_shape(a, in_shapes):
    ins, outs = _bn_shape(a, in_shapes)
    return ins, [outs[1]] * 5


def _bn_stats_dtype(a, in_types, n_out):
    ins, outs = _bn_dtype(a, in_types, 3)
    return ins, [outs[1]] * 5


@register("_BatchNorm_stats", shape=_bn_stats_shape, dtype=_bn_stats_dtype, num_outputs=5,
          output_names=("mean", "invstd", "center", "scale", "shift"), extra_attrs=_BN_EXTRA)
def _BatchNorm_stats(rt, data, gamma, beta, moving_mean, moving_var, *, eps: Float = 1e-3,
                     momentum: Float = 0.9, fix_gamma: Bool = True,
                     use_global_stats: Bool = False, output_mean_var: Bool = False,
                     axis: Int = 1, **kw):
    """The per-channel part of ``BatchNorm`` (same inputs and attributes):
    ``(mean, invstd, center, scale, shift)`` such that BatchNorm's output is
    ``(x - center) * scale + shift`` per channel of ``axis``, and ``mean``/``invstd`` are
    its hidden outputs. The compiler splits a BatchNorm whose output feeds an elementwise
    operator into this and that elementwise formula, which then fuses with the operator
    (``compiler/decompose.py``). Like BatchNorm, ``fix_gamma`` writes 1 into gamma."""
    return _BatchNorm_stats_fwd(rt, data, gamma, beta, moving_mean, moving_var, eps=eps,
                                fix_gamma=fix_gamma, use_global_stats=use_global_stats,
                                axis=axis, **kw)


@BatchNorm.gradient
def _(F, a, ins, outs, ogs, need):
    x, gamma, beta, mm, mv = ins
    dx, dg, db = F._backward_BatchNorm(
        ogs[0], x, gamma, outs[1], outs[2], ogs[1], ogs[2], mm, mv, eps=a["eps"],
        momentum=a["momentum"], fix_gamma=a["fix_gamma"],
        use_global_stats=a["use_global_stats"], axis=a["axis"])
    if getattr(F, "kind", None) == "nd":
        # create_graph=True: the gradient must itself be differentiable. The call above
        # did the moving-statistics update; the same formulas written with registered
        # operators give the (equal) values that are recorded.
        from ... import autograd
        train = autograd.is_training() and not a["use_global_stats"]
        dx, dg, db = _bn_grad_composed(F, a, ins, outs, ogs, train)
    return dx, dg, db, None, None


def _bn_grad_composed(F, a, ins, outs, ogs, train):
    """``_backward_BatchNorm``'s formulas (without the update) from registered operators,
    so that second-order gradients through BatchNorm are exact."""
    x, gamma, beta, mm, mv = ins
    _, m, inv = outs
    ax = a["axis"]
    # compute in the parameters' dtype (float32 for float16 data), as the forward does
    xw = F._cast_like(x, gamma)
    g = F._cast_like(ogs[0], gamma)
    sg = F.sum(g, axis=ax, exclude=True, keepdims=True)
    rn = F._reduce_count(xw, axis=ax, exclude=True)

    def b(v):  # per-channel vector -> broadcastable against the data
        return F.reshape_like(v, sg)

    w = F.ones_like(gamma) if a["fix_gamma"] else gamma
    if train:
        xhat = (xw - b(m)) * b(inv)
        sgx = F.sum(g * xhat, axis=ax, exclude=True, keepdims=True)
        ca = b(w * inv)
        cb = (b(ogs[1]) - ca * sg) * rn
        cc = (ca * sgx + b(ogs[2] * inv * inv)) * rn
        dx = g * ca + (cb - xhat * cc)
    else:
        inv_r = F.rsqrt(mv + a["eps"])
        xhat = (xw - b(mm)) * b(inv_r)
        sgx = F.sum(g * xhat, axis=ax, exclude=True, keepdims=True)
        dx = g * b(w * inv_r)
    dg = F.zeros_like(gamma) if a["fix_gamma"] else F.reshape_like(sgx, gamma)
    return F._cast_like(dx, x), dg, F.reshape_like(sg, beta)


def _bbn_shape(a, in_shapes):
    d = in_shapes[1]
    if d is None:
        return list(in_shapes), [None, None, None]
    ax = _norm_axis("_backward_BatchNorm", a["axis"], len(d))
    return list(in_shapes), [tuple(d), (d[ax],), (d[ax],)]


def _bbn_dtype(a, in_types, n_out):
    t = in_types[1]
    pt = _param_dtype(t)
    return in_types, [t, pt, pt]


@register("_backward_BatchNorm", shape=_bbn_shape, dtype=_bbn_dtype, num_outputs=3,
          aux=("moving_mean", "moving_var"), tags=("updates_aux",),
          index_inputs=("gamma", "mean", "invstd", "mean_grad", "invstd_grad"),
          output_names=("data_grad", "gamma_grad", "beta_grad"))
def _backward_BatchNorm(rt, ograd, data, gamma, mean, invstd, mean_grad, invstd_grad,
                        moving_mean, moving_var, *, eps: Float = 1e-3, momentum: Float = 0.9,
                        fix_gamma: Bool = True, use_global_stats: Bool = False,
                        axis: Int = 1):
    """Gradients ``(data, gamma, beta)`` of ``BatchNorm`` and, in training mode, the
    update of the moving statistics (MXNet does both in its backward kernel).

    ``mean``/``invstd`` are the forward's hidden outputs, ``mean_grad``/``invstd_grad``
    the gradients that reached them (zero unless they were used). In training mode
    (``rt.is_train`` of the *backward*, not ``use_global_stats``)::

        xhat = (x - mean) * invstd
        dx = w * invstd * (g - sum(g)/n - xhat * sum(g * xhat)/n)
             + mean_grad/n - invstd_grad * invstd**2 * xhat/n
        moving_mean = moving_mean * momentum + mean * (1 - momentum)
        moving_var  = moving_var * momentum + (1/invstd**2 - eps) * (1 - momentum)

    otherwise ``dx = g * w / sqrt(moving_var + eps)`` and nothing is updated. Always
    ``dgamma = sum(g * xhat)`` (0 with ``fix_gamma``) and ``dbeta = sum(g)``; ``w`` is
    gamma, or 1 with ``fix_gamma``.
    """
    name = "_backward_BatchNorm"
    xp = rt.xp
    ax = _norm_axis(name, axis, data.ndim)
    c = data.shape[ax]
    if tuple(ograd.shape) != tuple(data.shape):
        raise MXNetError(f"{name}: ograd has shape {tuple(ograd.shape)}, expected "
                         f"{tuple(data.shape)}")
    pdt = np_dtype(_param_dtype(data.dtype.name))
    for pname, arr in (("gamma", gamma), ("mean", mean), ("invstd", invstd),
                       ("mean_grad", mean_grad), ("invstd_grad", invstd_grad),
                       ("moving_mean", moving_mean), ("moving_var", moving_var)):
        _check_param(name, pname, arr, (c,), None)
    red = tuple(i for i in range(data.ndim) if i != ax)
    bshape = tuple(c if i == ax else 1 for i in range(data.ndim))
    n = data.size // max(c, 1)
    x = data.astype(pdt, copy=False)
    g = ograd.astype(pdt, copy=False)
    w = xp.ones((c,), pdt) if fix_gamma else gamma.astype(pdt, copy=False)
    one = pdt.type(1)
    if rt.is_train and not use_global_stats:
        inv = invstd.astype(pdt, copy=False)
        xhat = (x - mean.reshape(bshape)) * inv.reshape(bshape)
        sg = xp.sum(g, axis=red)
        sgx = xp.sum(g * xhat, axis=red)
        # dx = A*g + B + C*xhat with per-channel A, B, C
        a_ = w * inv
        b_ = (mean_grad - a_ * sg) / pdt.type(n)
        c_ = -(a_ * sgx + invstd_grad * inv * inv) / pdt.type(n)
        dx = g * a_.reshape(bshape) + (b_.reshape(bshape) + xhat * c_.reshape(bshape))
        mom = pdt.type(momentum)
        moving_mean[...] = moving_mean * mom + mean * (one - mom)
        moving_var[...] = moving_var * mom + (one / (inv * inv) - pdt.type(eps)) * (one - mom)
    else:
        inv = 1 / xp.sqrt(moving_var.astype(pdt, copy=False) + pdt.type(eps))
        xhat = (x - moving_mean.reshape(bshape)) * inv.reshape(bshape)
        sg = xp.sum(g, axis=red)
        sgx = xp.sum(g * xhat, axis=red)
        dx = g * (w * inv).reshape(bshape)
    dgamma = xp.zeros((c,), pdt) if fix_gamma else sgx
    return dx.astype(data.dtype, copy=False), dgamma, sg


# --- shared pieces of LayerNorm / InstanceNorm / GroupNorm ---------------------------------------
def _moments(xp, x, axis, eps):
    """Mean and ``sqrt(var + eps)`` (biased variance) over ``axis``, kept as size-1 axes,
    and the centred ``x``."""
    mean = xp.mean(x, axis=axis, keepdims=True)
    xc = x - mean
    std = xp.sqrt(xp.mean(xc * xc, axis=axis, keepdims=True) + x.dtype.type(eps))
    return mean, xc, std


def _normalized_grad(F, x, m, s, g, gm, gs, gam, axis):
    """Gradient of ``y = (x - m) / s * gam + beta`` where ``m``, ``s`` are the mean and
    ``sqrt(var + eps)`` of ``x`` over ``axis`` (kept), including the gradients ``gm``,
    ``gs`` that reached ``m`` and ``s`` themselves. Returns ``(dx, xhat)``.

    With ``n`` the reduced size and ``h = g * gam``:
    ``dx = h/s - mean(h)/s - xhat*mean(h*xhat)/s + gm/n + gs*xhat/n``.
    """
    xhat = (x - m) / s
    h = g * gam
    rn = F._reduce_count(x, axis=axis)
    mh = F.sum(h, axis=axis, keepdims=True) * rn
    mhx = F.sum(h * xhat, axis=axis, keepdims=True) * rn
    # per-row coefficients first, so the full-size work is three multiply-adds
    b = gm * rn - mh / s
    c = gs * rn - mhx / s
    return h / s + (b + xhat * c), xhat


# --- LayerNorm -----------------------------------------------------------------------------------
def _ln_shape(a, in_shapes):
    ins = list(in_shapes)
    d = ins[0]
    if d is None:
        return ins, [None, None, None]
    ax = _norm_axis("LayerNorm", a["axis"], len(d))
    _fill("LayerNorm", ins, (1, 2), (d[ax],))
    st = tuple(1 if i == ax else s for i, s in enumerate(d))
    return ins, [tuple(d), st, st]


@register("LayerNorm", shape=_ln_shape, num_outputs=3,
          visible_outputs=lambda a: 3 if a["output_mean_var"] else 1,
          output_names=("output", "mean", "std"))
def LayerNorm(rt, data, gamma, beta, *, axis: Int = -1, eps: Float = 1e-5,
              output_mean_var: Bool = False):
    """Layer normalisation over ``axis`` (MXNet's ``LayerNorm``):
    ``(x - mean) / sqrt(var + eps) * gamma + beta`` with ``gamma``, ``beta`` of shape
    ``(data.shape[axis],)``. With ``output_mean_var`` the mean and ``sqrt(var + eps)``
    are returned too, shaped like ``data`` with ``axis`` of size 1."""
    name = "LayerNorm"
    _float_only(name, data)
    xp = rt.xp
    ax = _norm_axis(name, axis, data.ndim)
    c = data.shape[ax]
    _check_param(name, "gamma", gamma, (c,), None)
    _check_param(name, "beta", beta, (c,), None)
    bshape = tuple(c if i == ax else 1 for i in range(data.ndim))
    mean, xc, std = _moments(xp, data, ax, eps)
    out = xc / std * gamma.reshape(bshape) + beta.reshape(bshape)
    return out, mean, std


@LayerNorm.gradient
def _(F, a, ins, outs, ogs, need):
    x, gamma, beta = ins
    _, m, s = outs
    g, gm, gs = ogs
    ax = a["axis"]
    sg = F.sum(g, axis=ax, exclude=True, keepdims=True)
    gam = F.reshape_like(gamma, sg)
    dx, xhat = _normalized_grad(F, x, m, s, g, gm, gs, gam, ax)
    dgamma = F.sum(g * xhat, axis=ax, exclude=True) if need[1] else None
    dbeta = F.reshape_like(sg, beta) if need[2] else None
    return dx, dgamma, dbeta


# --- InstanceNorm / GroupNorm: normalise the rows of a (N, P, -1) view ---------------------------
def _rows_forward(rt, name, data, gamma, beta, parts, eps):
    """Normalise ``data`` viewed as ``(N, parts, -1)`` over its last axis, then scale
    and shift with ``gamma``/``beta`` of shape ``(parts,)``. Returns the output and the
    ``(N, parts)`` mean and std."""
    xp = rt.xp
    n = data.shape[0]
    xr = data.reshape(n, parts, -1)
    mean, xc, std = _moments(xp, xr, 2, eps)
    out = xc / std * gamma.reshape(1, parts, 1) + beta.reshape(1, parts, 1)
    return out.reshape(data.shape), mean.reshape(n, parts), std.reshape(n, parts)


def _rows_grad(F, parts_code, ins, outs, ogs, need):
    x, gamma, beta = ins
    _, m, s = outs
    g, gm, gs = ogs
    xr = F.Reshape(x, shape=(0, parts_code, -1))
    gr = F.Reshape(g, shape=(0, parts_code, -1))
    e = lambda v: F.expand_dims(v, axis=2)  # noqa: E731  (N, P) -> (N, P, 1)
    gam = F.Reshape(gamma, shape=(1, -1, 1))
    dxr, xhat = _normalized_grad(F, xr, e(m), e(s), gr, e(gm), e(gs), gam, 2)
    dx = F.reshape_like(dxr, x)
    dgamma = F.sum(gr * xhat, axis=1, exclude=True) if need[1] else None
    dbeta = F.sum(gr, axis=1, exclude=True) if need[2] else None
    return dx, dgamma, dbeta


def _in_shape(a, in_shapes):
    ins = list(in_shapes)
    d = ins[0]
    if d is None:
        return ins, [None, None, None]
    if len(d) < 3:
        raise MXNetError(f"InstanceNorm: data must have at least 3 dimensions (batch, "
                         f"channel, spatial...), got shape {tuple(d)}")
    _fill("InstanceNorm", ins, (1, 2), (d[1],))
    return ins, [tuple(d), (d[0], d[1]), (d[0], d[1])]


@register("InstanceNorm", shape=_in_shape, num_outputs=3, visible_outputs=1,
          output_names=("output", "mean", "std"))
def InstanceNorm(rt, data, gamma, beta, *, eps: Float = 1e-3):
    """Instance normalisation (MXNet's ``InstanceNorm``): each (sample, channel) of
    ``data`` ``(N, C, spatial...)`` is normalised over its spatial axes with
    ``sqrt(var + eps)``, then scaled by ``gamma`` and shifted by ``beta`` (shape
    ``(C,)``)."""
    name = "InstanceNorm"
    _float_only(name, data)
    _in_shape(None, [data.shape, None, None])
    c = data.shape[1]
    _check_param(name, "gamma", gamma, (c,), None)
    _check_param(name, "beta", beta, (c,), None)
    return _rows_forward(rt, name, data, gamma, beta, c, eps)


@InstanceNorm.gradient
def _(F, a, ins, outs, ogs, need):
    # Reshape code 0 keeps the channel axis: (N, C, -1)
    return _rows_grad(F, 0, ins, outs, ogs, need)


def _gn_shape(a, in_shapes):
    ins = list(in_shapes)
    d = ins[0]
    g = a["num_groups"]
    if g < 1:
        raise MXNetError(f"GroupNorm: num_groups must be positive, got {g}")
    if d is None:
        return ins, [None, None, None]
    if len(d) < 2:
        raise MXNetError(f"GroupNorm: data must have at least 2 dimensions (batch, "
                         f"channel, ...), got shape {tuple(d)}")
    if d[1] % g:
        raise MXNetError(f"GroupNorm: the number of channels {d[1]} must be divisible by "
                         f"num_groups={g}")
    _fill("GroupNorm", ins, (1, 2), (g,))
    return ins, [tuple(d), (d[0], g), (d[0], g)]


@register("GroupNorm", shape=_gn_shape, num_outputs=3,
          visible_outputs=lambda a: 3 if a["output_mean_var"] else 1,
          output_names=("output", "mean", "std"))
def GroupNorm(rt, data, gamma, beta, *, num_groups: Int = 1, eps: Float = 1e-5,
              output_mean_var: Bool = False):
    """Group normalisation (MXNet's ``GroupNorm``): the channels of ``data`` ``(N, C,
    ...)`` are split into ``num_groups`` groups, each (sample, group) is normalised with
    ``sqrt(var + eps)``, then scaled by ``gamma`` and shifted by ``beta`` -- which, in
    MXNet 1.x, have one entry per *group*: shape ``(num_groups,)``. With
    ``output_mean_var`` the ``(N, num_groups)`` mean and std are returned too."""
    name = "GroupNorm"
    _float_only(name, data)
    _gn_shape({"num_groups": num_groups}, [data.shape, None, None])
    _check_param(name, "gamma", gamma, (num_groups,), None)
    _check_param(name, "beta", beta, (num_groups,), None)
    return _rows_forward(rt, name, data, gamma, beta, num_groups, eps)


@GroupNorm.gradient
def _(F, a, ins, outs, ogs, need):
    return _rows_grad(F, a["num_groups"], ins, outs, ogs, need)
