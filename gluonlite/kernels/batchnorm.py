"""Compiled CPU kernels of ``BatchNorm`` and ``_backward_BatchNorm`` (float32 and float64,
any ``axis``).

The data is seen as ``(A, C, B)`` (everything before ``axis``, the channels, everything
after), so each channel is ``A`` contiguous runs of ``B`` values. Per-channel sums (batch
mean and variance; the backward's ``sum(g)`` and ``sum(g * xhat)``) are accumulated in
float64, in one compiled loop each, instead of NumPy's several full-size temporaries; the
per-channel coefficients are then computed with the reference's own NumPy expressions on
``(C,)`` vectors, and the full-size output is written in one more loop with the
reference's elementwise formula (same operations in the same order, no FMA contraction),
so the results agree with the reference to rounding of the sums. The moving-statistics
update of the backward is the reference's, unchanged.

Checks are the reference's own (same errors). The kernels decline (the reference runs) for
float16 data (whose statistics are float32) and empty arrays. The sums are split over
chunks of channels, the elementwise passes over chunks of rows, spread over the cores
(:mod:`.workers`). Compiled on first use and cached on disk (:mod:`.diskcache`:
``$GLUONLITE_CACHE_DIR/builtin``).
"""
from __future__ import annotations

import numpy as np

from . import kernel
from .workers import run_chunks
from ..base import MXNetError, np_dtype
from ..ops.nn import norm as _ref

__all__ = []

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_K: dict = {}


def _build():
    from .diskcache import cached_njit  # loads Numba: on first use, not at import

    # reductions may be reassociated (so that LLVM vectorises them); the elementwise loops
    # keep IEEE order
    red = dict(error_model="numpy", nogil=True, fastmath={"reassoc"})
    ew = dict(error_model="numpy", nogil=True)

    @cached_njit(**red)
    def stats(x, c0, c1, mean, var):
        """Per-channel mean and biased variance (two passes, float64) of channels
        [c0, c1)."""
        a_, c_, b_ = x.shape
        n = a_ * b_
        for c in range(c0, c1):
            s = 0.0
            for a in range(a_):
                row = x[a, c]
                for b in range(b_):
                    s += row[b]
            m = s / n
            q = 0.0
            for a in range(a_):
                row = x[a, c]
                for b in range(b_):
                    d = row[b] - m
                    q += d * d
            mean[c] = m
            var[c] = q / n

    @cached_njit(**ew)
    def normalize(x, a0, a1, mean, scale, beta, out):
        """out = (x - mean) * scale + beta per channel, rows [a0, a1)."""
        a_, c_, b_ = x.shape
        for a in range(a0, a1):
            for c in range(c_):
                m, s, t = mean[c], scale[c], beta[c]
                row, orow = x[a, c], out[a, c]
                for b in range(b_):
                    orow[b] = (row[b] - m) * s + t

    @cached_njit(**ew)
    def affine(x, a0, a1, scale, shift, use_shift, out):
        """out = x * scale (+ shift) per channel, rows [a0, a1)."""
        a_, c_, b_ = x.shape
        for a in range(a0, a1):
            for c in range(c_):
                s, t = scale[c], shift[c]
                row, orow = x[a, c], out[a, c]
                if use_shift:
                    for b in range(b_):
                        orow[b] = row[b] * s + t
                else:
                    for b in range(b_):
                        orow[b] = row[b] * s

    @cached_njit(**red)
    def grad_sums(g, x, c0, c1, mean, inv, sg, sgx):
        """Per-channel sum(g) and sum(g * xhat), xhat = (x - mean) * inv (float64 sums), of
        channels [c0, c1)."""
        a_, c_, b_ = x.shape
        for c in range(c0, c1):
            m, iv = mean[c], inv[c]
            s = 0.0
            q = 0.0
            for a in range(a_):
                grow, xrow = g[a, c], x[a, c]
                for b in range(b_):
                    gv = grow[b]
                    s += gv
                    q += gv * ((xrow[b] - m) * iv)
            sg[c] = s
            sgx[c] = q

    @cached_njit(**ew)
    def grad_data(g, x, a0, a1, mean, inv, ca, cb, cc, dx):
        """dx = g * ca + (cb + xhat * cc) per channel (the reference's formula), rows
        [a0, a1)."""
        a_, c_, b_ = x.shape
        for a in range(a0, a1):
            for c in range(c_):
                m, iv, p, q, r = mean[c], inv[c], ca[c], cb[c], cc[c]
                grow, xrow, drow = g[a, c], x[a, c], dx[a, c]
                for b in range(b_):
                    drow[b] = grow[b] * p + (q + ((xrow[b] - m) * iv) * r)

    _K.update(stats=stats, normalize=normalize, affine=affine, grad_sums=grad_sums,
              grad_data=grad_data)


def _kernels():
    if not _K:
        try:
            _build()
        except ImportError:
            _K["unavailable"] = True
    return None if "unavailable" in _K else _K


def _acb(shape, ax):
    """(A, C, B) view shape of data with channels on ``ax``."""
    a = 1
    for s in shape[:ax]:
        a *= int(s)
    b = 1
    for s in shape[ax + 1:]:
        b *= int(s)
    return a, int(shape[ax]), b


#: bytes of data per chunk handed to one worker
CHUNK_BYTES = 1 << 19


def _per_channel(x, body):
    """``body(c0, c1)`` over chunks of the channels of the (A, C, B) view ``x``, spread
    over the workers."""
    a, c, b = x.shape
    step = max(1, CHUNK_BYTES // max(1, a * b * x.itemsize))
    run_chunks(c, step, lambda c0, c1, _: body(c0, c1))


def _per_row(x, body):
    """``body(a0, a1)`` over chunks of the rows A of the (A, C, B) view ``x``."""
    a, c, b = x.shape
    step = max(1, CHUNK_BYTES // max(1, c * b * x.itemsize))
    run_chunks(a, step, lambda a0, a1, _: body(a0, a1))


def _vec(v, dt):
    return np.ascontiguousarray(v, dtype=dt)


def _stats(rt, data, gamma, beta, moving_mean, moving_var, eps, fix_gamma, use_global_stats,
           axis, kw):
    """``(x, (mean, invstd, center, scale, shift))``: the (A, C, B) view of the data and
    BatchNorm's per-channel numbers (the reference's :func:`bn_coefficients` of the
    statistics summed here), or None when the kernels decline."""
    if data.dtype not in _FLOATS or data.size == 0 or _kernels() is None:
        return None
    if kw.get("min_calib_range") is not None or kw.get("max_calib_range") is not None:
        raise MXNetError("BatchNorm: min_calib_range/max_calib_range are for quantized "
                         "BatchNorm, which gluonlite does not implement")
    name = "BatchNorm"  # _BatchNorm_stats reports its errors as BatchNorm's, as the reference
    ax = _ref._norm_axis(name, axis, data.ndim)
    c = data.shape[ax]
    pdt = np_dtype(_ref._param_dtype(data.dtype.name))
    for pname, arr in (("gamma", gamma), ("beta", beta), ("moving_mean", moving_mean),
                       ("moving_var", moving_var)):
        _ref._check_param(name, pname, arr, (c,), pdt)
    x = np.ascontiguousarray(data).reshape(_acb(data.shape, ax))
    if fix_gamma:
        gamma[...] = 1  # MXNet overwrites gamma in place
    w = np.ones((c,), pdt) if fix_gamma else gamma
    if rt.is_train and not use_global_stats:
        m64 = np.empty(c, np.float64)
        v64 = np.empty(c, np.float64)
        _per_channel(x, lambda c0, c1: _K["stats"](x, c0, c1, m64, v64))
        return x, _ref.bn_coefficients(np, pdt, m64.astype(pdt), v64.astype(pdt), w, beta,
                                       eps, True)
    return x, _ref.bn_coefficients(np, pdt, moving_mean, moving_var, w, beta, eps, False)


@kernel("_BatchNorm_stats")
def batch_norm_stats(rt, data, gamma, beta, moving_mean, moving_var, *, eps=1e-3,
                     momentum=0.9, fix_gamma=True, use_global_stats=False,
                     output_mean_var=False, axis=1, **kw):
    """``_BatchNorm_stats`` (float32/float64): the batch statistics in two float64 passes
    over the data."""
    got = _stats(rt, data, gamma, beta, moving_mean, moving_var, eps, fix_gamma,
                 use_global_stats, axis, kw)
    return NotImplemented if got is None else got[1]


@kernel("BatchNorm")
def batch_norm(rt, data, gamma, beta, moving_mean, moving_var, *, eps=1e-3, momentum=0.9,
               fix_gamma=True, use_global_stats=False, output_mean_var=False, axis=1, **kw):
    """``BatchNorm`` forward (float32/float64): batch statistics in two float64 passes (in
    training) and ``(x - center) * scale + shift`` in one."""
    got = _stats(rt, data, gamma, beta, moving_mean, moving_var, eps, fix_gamma,
                 use_global_stats, axis, kw)
    if got is None:
        return NotImplemented
    x, (mean, invstd, center, scale, shift) = got
    out = np.empty(data.shape, data.dtype)
    o3 = out.reshape(x.shape)
    k = _K
    center, scale, shift = (_vec(v, scale.dtype) for v in (center, scale, shift))
    # inference's center is 0 and x - 0 is exact: one loop computes both modes' formula
    _per_row(x, lambda a0, a1: k["normalize"](x, a0, a1, center, scale, shift, o3))
    return out, mean, invstd


@kernel("_backward_BatchNorm")
def backward_batch_norm(rt, ograd, data, gamma, mean, invstd, mean_grad, invstd_grad,
                        moving_mean, moving_var, *, eps=1e-3, momentum=0.9, fix_gamma=True,
                        use_global_stats=False, axis=1, **kw):
    """``_backward_BatchNorm`` (float32/float64): the per-channel sums in one float64 pass,
    the data gradient in one more; the moving-statistics update as in the reference."""
    name = "_backward_BatchNorm"
    if data.dtype not in _FLOATS or data.size == 0 or _kernels() is None:
        return NotImplemented
    ax = _ref._norm_axis(name, axis, data.ndim)
    c = data.shape[ax]
    if tuple(ograd.shape) != tuple(data.shape):
        raise MXNetError(f"{name}: ograd has shape {tuple(ograd.shape)}, expected "
                         f"{tuple(data.shape)}")
    pdt = np_dtype(_ref._param_dtype(data.dtype.name))
    for pname, arr in (("gamma", gamma), ("mean", mean), ("invstd", invstd),
                       ("mean_grad", mean_grad), ("invstd_grad", invstd_grad),
                       ("moving_mean", moving_mean), ("moving_var", moving_var)):
        _ref._check_param(name, pname, arr, (c,), None)
    shape3 = _acb(data.shape, ax)
    x = np.ascontiguousarray(data).reshape(shape3)
    g = np.ascontiguousarray(ograd, dtype=pdt).reshape(shape3)
    w = np.ones((c,), pdt) if fix_gamma else gamma.astype(pdt, copy=False)
    n = data.size // max(c, 1)
    one = pdt.type(1)
    sg64 = np.empty(c, np.float64)
    sgx64 = np.empty(c, np.float64)
    dx = np.empty(data.shape, data.dtype)
    d3 = dx.reshape(shape3)
    k = _K
    if rt.is_train and not use_global_stats:
        inv = invstd.astype(pdt, copy=False)
        m, iv = _vec(mean, pdt), _vec(inv, pdt)
        _per_channel(x, lambda c0, c1: k["grad_sums"](g, x, c0, c1, m, iv, sg64, sgx64))
        sg, sgx = sg64.astype(pdt), sgx64.astype(pdt)
        # dx = A*g + B + C*xhat with per-channel A, B, C (the reference's coefficients)
        a_ = w * inv
        b_ = (mean_grad - a_ * sg) / pdt.type(n)
        c_ = -(a_ * sgx + invstd_grad * inv * inv) / pdt.type(n)
        ca, cb, cc = _vec(a_, pdt), _vec(b_, pdt), _vec(c_, pdt)
        _per_row(x, lambda a0, a1: k["grad_data"](g, x, a0, a1, m, iv, ca, cb, cc, d3))
        mom = pdt.type(momentum)
        moving_mean[...] = moving_mean * mom + mean * (one - mom)
        moving_var[...] = moving_var * mom + (one / (inv * inv) - pdt.type(eps)) * (one - mom)
    else:
        inv = 1 / np.sqrt(moving_var.astype(pdt, copy=False) + pdt.type(eps))
        mm, iv = _vec(moving_mean, pdt), _vec(inv, pdt)
        _per_channel(x, lambda c0, c1: k["grad_sums"](g, x, c0, c1, mm, iv, sg64, sgx64))
        sg, sgx = sg64.astype(pdt), sgx64.astype(pdt)
        scale = _vec(w * inv, pdt)
        _per_row(x, lambda a0, a1: k["affine"](g, a0, a1, scale, scale, False, d3))
    dgamma = np.zeros((c,), pdt) if fix_gamma else sgx
    return dx, dgamma, sg
