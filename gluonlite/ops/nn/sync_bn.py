"""MXNet's ``_contrib_SyncBatchNorm`` (``nd.contrib.SyncBatchNorm`` / ``sym.contrib.
SyncBatchNorm``), on one process.

MXNet synchronises the batch statistics of this operator across the ``ndev`` devices that
share ``key``. gluonlite runs one process on one device, so it is batch normalisation over
axis 1 with the statistics of the batch it sees -- what MXNet computes with ``ndev=1``. It
follows MXNet's operator (``src/operator/contrib/sync_batch_norm-inl.h``) where that differs
from ``BatchNorm``:

* no ``axis`` (always 1) and no ``cudnn_off``; ``key`` (required) and ``ndev`` are taken and
  checked but change nothing here;
* the third output (``output_mean_var=True``) is the batch *variance* (biased), not
  BatchNorm's inverse standard deviation;
* in inference (or ``use_global_stats``) MXNet leaves the mean/var outputs unwritten;
  gluonlite returns copies of ``moving_mean``/``moving_var`` there.

Everything else is ``BatchNorm``'s (``ops/nn/norm.py``): training normalises with the batch
statistics, the moving statistics are updated by the backward pass in training mode,
``fix_gamma`` writes 1 into gamma and gives it a zero gradient, float16 data takes float32
parameters. The gradient is ``_backward_BatchNorm`` (the inverse standard deviation is
recomputed from the variance, and a gradient reaching the variance output is converted), so
gradients that reach the mean/var outputs are propagated exactly, as BatchNorm's are. Like
MXNet's, the gradient is not differentiable again: under ``create_graph=True`` its values
are right but constant (BatchNorm itself has a composed second-order rule).
"""
from __future__ import annotations

from ...base import MXNetError, np_dtype
from ..attrs import Bool, Float, Int, Str
from ..registry import register
from .norm import _bn_dtype, _bn_shape, _check_param, _float_only, _param_dtype, bn_coefficients

__all__ = []

_NAME = "SyncBatchNorm"


def _shape_rule(a, in_shapes):
    return _bn_shape({"axis": 1}, in_shapes)


@register("_contrib_SyncBatchNorm", shape=_shape_rule, dtype=_bn_dtype,
          aux=("moving_mean", "moving_var"), index_inputs=("gamma", "beta"), num_outputs=3,
          visible_outputs=lambda a: 3 if a["output_mean_var"] else 1,
          output_names=("output", "mean", "var"))
def sync_batch_norm(rt, data, gamma, beta, moving_mean, moving_var, *, eps: Float = 1e-3,
                    momentum: Float = 0.9, fix_gamma: Bool = True,
                    use_global_stats: Bool = False, output_mean_var: Bool = False,
                    ndev: Int = 1, key: Str):
    """Batch normalisation over axis 1 whose statistics MXNet shares across ``ndev`` devices
    (same ``key``); on one process, BatchNorm with the batch's own statistics. With
    ``output_mean_var`` the batch mean and (biased) variance are returned too."""
    if ndev < 1:
        raise MXNetError(f"{_NAME}: ndev must be at least 1, got {ndev}")
    _float_only(_NAME, data)
    if data.ndim < 2:
        raise MXNetError(f"{_NAME}: data must have a channel axis 1, got shape "
                         f"{tuple(data.shape)}")
    xp = rt.xp
    c = data.shape[1]
    pdt = np_dtype(_param_dtype(data.dtype.name))
    for pname, arr in (("gamma", gamma), ("beta", beta), ("moving_mean", moving_mean),
                       ("moving_var", moving_var)):
        _check_param(_NAME, pname, arr, (c,), pdt)
    red = tuple(i for i in range(data.ndim) if i != 1)
    bshape = tuple(c if i == 1 else 1 for i in range(data.ndim))
    x = data.astype(pdt, copy=False)
    if fix_gamma:
        gamma[...] = 1  # MXNet overwrites gamma in place
    w = xp.ones((c,), pdt) if fix_gamma else gamma
    train = rt.is_train and not use_global_stats
    if train:
        mean = xp.mean(x, axis=red)
        xc = x - mean.reshape(bshape)
        var = xp.mean(xc * xc, axis=red)
    else:
        mean, var = moving_mean.copy(), moving_var.copy()
    _, _, center, scale, shift = bn_coefficients(xp, pdt, mean, var, w, beta, eps, train)
    out = (x - center.reshape(bshape)) * scale.reshape(bshape) + shift.reshape(bshape)
    return (out.astype(data.dtype, copy=False), mean.astype(pdt, copy=False),
            var.astype(pdt, copy=False))


@sync_batch_norm.gradient
def _(F, a, ins, outs, ogs, need):
    x, gamma, beta, mm, mv = ins
    eps = a["eps"]
    inv = F.rsqrt(outs[2] + eps)
    # BatchNorm's backward takes the inverse std and its gradient; d inv / d var is
    # -inv**3 / 2, so a gradient gv reaching the variance is -2 * gv / inv**3 on inv
    inv_grad = ogs[2] * (outs[2] + eps) * F.sqrt(outs[2] + eps) * -2.0
    dx, dg, db = F._backward_BatchNorm(
        ogs[0], x, gamma, outs[1], inv, ogs[1], inv_grad, mm, mv, eps=eps,
        momentum=a["momentum"], fix_gamma=a["fix_gamma"],
        use_global_stats=a["use_global_stats"], axis=1)
    return dx, dg, db, None, None
