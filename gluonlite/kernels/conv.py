"""Compiled CPU kernels of 2-D ``Convolution`` and ``_backward_Convolution`` (NCHW, float32
and float64, any stride, padding, dilation and groups).

The reference (:mod:`gluonlite.ops.nn.conv`) builds the im2col columns of the whole batch
by copying a strided NumPy view and scatters col2im with one strided add per kernel offset:
memory-bound passes over arrays of tens of MB that NumPy runs slowly over such views. Here
the batch is cut into chunks of samples whose columns (about :data:`CHUNK_BYTES`) stay in
the core's cache, and each chunk is handled start to finish by one worker
(:mod:`.workers`), the chunks spread over the cores:

* forward: **im2col** (a Numba loop, columns ``(C*kh*kw, B*OH*OW)``), one GEMM per group
  ``W @ cols`` into a reused buffer, and a Numba loop writing it into the NCHW output
  with the bias added;
* backward: the output gradient of the chunk is transposed to ``(F, B*OH*OW)`` (its sum
  gives the bias gradient, accumulated in float64); the weight gradient is
  ``og @ cols^T`` accumulated per worker, the data gradient ``W^T @ og`` summed back into
  the input by **col2im** (a Numba loop).

Chunks keep at least :data:`MIN_COLUMNS` output positions, so deep layers with large
weights and few positions still make wide products. The GEMMs of a chunk run single-
threaded inside its worker; the numbers agree with the reference's up to the order of
floating-point sums. Attribute and shape checks are the reference's own (same errors). The
kernels decline (the reference runs) for 1-D/3-D kernels, channel-last layouts, dtypes
other than float32/float64, mixed dtypes and empty arrays. Compiled on first use and
cached on disk (:mod:`.diskcache`: ``$GLUONLITE_CACHE_DIR/builtin``).
"""
from __future__ import annotations

import threading

import numpy as np

from . import kernel
from .workers import run_chunks
from ..base import MXNetError
from ..ops.nn import conv as _ref

__all__ = ["im2col", "col2im", "CHUNK_BYTES"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_K: dict = {}


def _build():
    from .diskcache import cached_njit  # loads Numba: on first use, not at import

    opts = dict(error_model="numpy", nogil=True)

    @cached_njit(**opts)
    def valid_range(off, s, size, count):
        """Output positions ``o`` in [0, count) whose input ``o*s + off`` lies in [0, size)."""
        lo = 0 if off >= 0 else (-off + s - 1) // s
        hi = (size - 1 - off) // s + 1 if size - 1 - off >= 0 else 0
        hi = min(hi, count)
        lo = min(lo, count)
        return lo, max(hi, lo)

    # The copies index flat arrays with unsigned offsets: Numba's signed indexing checks
    # each index for negative wraparound, which kept LLVM from vectorising these loops
    # (3-4x slower). Every offset below is non-negative by construction (valid_range).
    u64 = np.uint64

    @cached_njit(**opts)
    def im2col_k(x, n0, n1, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols):
        _, c_, h_, w_ = x.shape
        p_ = oh * ow
        xf = x.ravel()
        cf = cols.ravel()
        ncol = cols.shape[1]
        for n in range(n0, n1):
            col0 = (n - n0) * p_
            for c in range(c_):
                plane = (n * c_ + c) * h_ * w_
                for i in range(kh):
                    offy = i * dh - ph
                    y0, y1 = valid_range(offy, sh, h_, oh)
                    for j in range(kw):
                        offx = j * dw - pw
                        x0, x1 = valid_range(offx, sw, w_, ow)
                        rb = ((c * kh + i) * kw + j) * ncol + col0
                        for y in range(oh):
                            d = u64(rb + y * ow)
                            if y < y0 or y >= y1:
                                for xx in range(ow):
                                    cf[d + u64(xx)] = 0
                                continue
                            src = u64(plane + (y * sh + offy) * w_ + x0 * sw + offx)
                            for xx in range(x0):
                                cf[d + u64(xx)] = 0
                            dd = d + u64(x0)
                            if sw == 1:
                                for u in range(x1 - x0):
                                    cf[dd + u64(u)] = xf[src + u64(u)]
                            else:
                                for u in range(x1 - x0):
                                    cf[dd + u64(u)] = xf[src + u64(u * sw)]
                            for xx in range(x1, ow):
                                cf[d + u64(xx)] = 0

    @cached_njit(**opts)
    def col2im_k(cols, n0, n1, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, dx):
        _, c_, h_, w_ = dx.shape
        p_ = oh * ow
        cf = cols.ravel()
        df = dx.ravel()
        ncol = cols.shape[1]
        for n in range(n0, n1):
            col0 = (n - n0) * p_
            for c in range(c_):
                plane = (n * c_ + c) * h_ * w_
                for q in range(h_ * w_):
                    df[u64(plane + q)] = 0
                for i in range(kh):
                    offy = i * dh - ph
                    y0, y1 = valid_range(offy, sh, h_, oh)
                    for j in range(kw):
                        offx = j * dw - pw
                        x0, x1 = valid_range(offx, sw, w_, ow)
                        rb = ((c * kh + i) * kw + j) * ncol + col0
                        for y in range(y0, y1):
                            s0 = u64(rb + y * ow + x0)
                            dst = u64(plane + (y * sh + offy) * w_ + x0 * sw + offx)
                            if sw == 1:
                                for u in range(x1 - x0):
                                    df[dst + u64(u)] += cf[s0 + u64(u)]
                            else:
                                for u in range(x1 - x0):
                                    df[dst + u64(u * sw)] += cf[s0 + u64(u)]

    @cached_njit(**opts)
    def scatter_k(yt, bias, use_bias, n0, n1, y):
        """y[n, f, :] = yt[f, (n - n0)*P : ...] (+ bias[f]) for n in [n0, n1)."""
        _, f_, p_ = y.shape
        yf = y.ravel()
        tf = yt.ravel()
        ncol = yt.shape[1]
        for n in range(n0, n1):
            col0 = (n - n0) * p_
            for f in range(f_):
                src = u64(f * ncol + col0)
                dst = u64((n * f_ + f) * p_)
                if use_bias:
                    bf = bias[f]
                    for p in range(p_):
                        yf[dst + u64(p)] = tf[src + u64(p)] + bf
                else:
                    for p in range(p_):
                        yf[dst + u64(p)] = tf[src + u64(p)]

    @cached_njit(error_model="numpy", nogil=True, fastmath={"reassoc"})
    def gather_k(og, n0, n1, ogt, dbias):
        """ogt[f, (n - n0)*P + p] = og[n, f, p]; dbias[f] += sum of those (float64)."""
        _, f_, p_ = og.shape
        gf = og.ravel()
        tf = ogt.ravel()
        ncol = ogt.shape[1]
        for n in range(n0, n1):
            col0 = (n - n0) * p_
            for f in range(f_):
                src = u64((n * f_ + f) * p_)
                dst = u64(f * ncol + col0)
                s = 0.0
                for p in range(p_):
                    v = gf[src + u64(p)]
                    tf[dst + u64(p)] = v
                    s += v
                dbias[f] += s

    _K.update(im2col=im2col_k, col2im=col2im_k, scatter=scatter_k, gather=gather_k)


def _kernels():
    if not _K:
        try:
            _build()
        except ImportError:
            _K["unavailable"] = True
    return None if "unavailable" in _K else _K


def _geo_args(g):
    return (g.kernel[0], g.kernel[1], g.stride[0], g.stride[1], g.pad[0], g.pad[1],
            g.dilate[0], g.dilate[1])


def _chunk(n, k, p, itemsize):
    """Samples per chunk: the columns of one chunk (k rows of chunk*p values) about fill
    CHUNK_BYTES (cache-resident between the copy and the GEMM reading them), but at least
    MIN_COLUMNS output positions, so that deep layers (large k, few positions) still feed
    BLAS a wide product and do not re-read their large weight for every few samples."""
    by_bytes = CHUNK_BYTES // max(1, k * p * itemsize)
    by_cols = -(-MIN_COLUMNS // max(1, p))
    return max(1, min(n, max(by_bytes, by_cols)))


#: output positions per chunk at least (see _chunk)
MIN_COLUMNS = 512
#: bytes of im2col columns per chunk of samples (see _chunk)
CHUNK_BYTES = 1 << 20


_SCRATCH = threading.local()


def _scratch(slot, shape, dtype):
    """A reusable work array (one per ``slot`` and thread): the chunk buffers are written
    and read again at once, and fresh ones would cost a page fault per 4 KiB each call."""
    bufs = getattr(_SCRATCH, "bufs", None)
    if bufs is None:
        bufs = _SCRATCH.bufs = {}
    size = 1
    for d in shape:
        size *= int(d)
    key = (slot, np.dtype(dtype))
    buf = bufs.get(key)
    if buf is None or buf.size < size:
        buf = bufs[key] = np.empty(size, dtype)
    return buf[:size].reshape(shape)


def im2col(x, g, out_sp, n0, n1, out=None):
    """Columns ``(C*kh*kw, (n1-n0)*OH*OW)`` of samples ``n0:n1`` of the contiguous NCHW
    array ``x`` for geometry ``g`` (written into ``out`` when given)."""
    oh, ow = out_sp
    if out is None:
        out = np.empty((x.shape[1] * g.kernel[0] * g.kernel[1], (n1 - n0) * oh * ow), x.dtype)
    _K["im2col"](x, n0, n1, *_geo_args(g), oh, ow, out)
    return out


def col2im(cols, g, out_sp, n0, n1, dx):
    """The transpose of :func:`im2col`: columns of samples ``n0:n1`` summed into
    ``dx[n0:n1]`` (overwritten) of the NCHW array ``dx``."""
    oh, ow = out_sp
    _K["col2im"](cols, n0, n1, *_geo_args(g), oh, ow, dx)
    return dx


def _supported(g, *arrays):
    """Whether the kernels handle this call (otherwise the reference runs)."""
    if g.nd != 2 or g.channel_last:
        return False
    dt = arrays[0].dtype
    if dt not in _FLOATS or any(a.dtype != dt for a in arrays[1:]):
        return False
    return all(a.size > 0 for a in arrays)


def _attrs(kernel, stride, dilate, pad, num_filter, num_group, layout):
    return {"kernel": kernel, "stride": stride, "dilate": dilate, "pad": pad,
            "num_filter": num_filter, "num_group": num_group, "layout": layout}


@kernel("Convolution")
def convolution(rt, data, weight, bias=None, *, kernel, stride=(), dilate=(), pad=(),
                num_filter, num_group=1, no_bias=False, layout=None, **kw):
    """``Convolution`` (2-D, NCHW, float32/float64): per chunk of samples, im2col and one
    GEMM per group, scattered into the NCHW output with the bias added."""
    op = "Convolution"
    if data.dtype not in _FLOATS or len(kernel) != 2 or _kernels() is None:
        return NotImplemented
    _ref._check_bias_input(op, bias, no_bias)
    a = _attrs(kernel, stride, dilate, pad, num_filter, num_group, layout)
    g, _, _, oshape = _ref._conv_shapes(op, a, data.shape, weight.shape,
                                        None if bias is None else bias.shape)
    arrs = (data, weight) if bias is None else (data, weight, bias)
    if not _supported(g, *arrs) or 0 in oshape:
        return NotImplemented
    x = np.ascontiguousarray(data)
    n = x.shape[0]
    out_sp = oshape[2:]
    p = out_sp[0] * out_sp[1]
    grp = g.groups
    fg = num_filter // grp
    w = np.ascontiguousarray(weight).reshape(grp, fg, -1)
    k = w.shape[2] * grp
    b = np.ascontiguousarray(bias) if bias is not None else np.zeros(1, x.dtype)
    y = np.empty(oshape, x.dtype)
    y3 = y.reshape(n, num_filter, p)
    kg = k // grp
    has_bias = bias is not None

    def chunk(n0, n1, _):
        bp = (n1 - n0) * p
        cols = im2col(x, g, out_sp, n0, n1, _scratch("cols", (k, bp), x.dtype))
        yt = _scratch("out", (grp, fg, bp), x.dtype)
        np.matmul(w, cols.reshape(grp, kg, bp), out=yt)          # (G, Fg, B*P)
        _K["scatter"](yt.reshape(num_filter, bp), b, has_bias, n0, n1, y3)

    run_chunks(n, _chunk(n, k, p, x.itemsize), chunk)
    return y


@kernel("_backward_Convolution")
def backward_convolution(rt, ograd, data, weight, *, kernel, stride=(), dilate=(), pad=(),
                         num_filter, num_group=1, no_bias=False, layout=None,
                         need_data=True, need_weight=True, **kw):
    """``_backward_Convolution`` (2-D, NCHW, float32/float64): per chunk of samples, the
    output gradient is transposed to (F, B*P) (its sum giving the bias gradient, in
    float64); the data gradient is ``W^T @ og`` summed back by col2im, the weight gradient
    ``og @ cols^T`` accumulated over the chunks."""
    op = "_backward_Convolution"
    if data.dtype not in _FLOATS or len(kernel) != 2 or _kernels() is None:
        return NotImplemented
    a = _attrs(kernel, stride, dilate, pad, num_filter, num_group, layout)
    g, _, _, oshape = _ref._conv_shapes(op, a, data.shape, weight.shape)
    if tuple(ograd.shape) != tuple(oshape):
        raise MXNetError(f"{op}: ograd has shape {tuple(ograd.shape)}, expected the "
                         f"Convolution output shape {tuple(oshape)}")
    if not _supported(g, data, weight, ograd):
        return NotImplemented
    dt = data.dtype
    n = data.shape[0]
    out_sp = oshape[2:]
    p = out_sp[0] * out_sp[1]
    grp = g.groups
    fg = num_filter // grp
    og = np.ascontiguousarray(ograd).reshape(n, num_filter, p)
    x = np.ascontiguousarray(data)
    w = np.ascontiguousarray(weight).reshape(grp, fg, -1)
    kg = w.shape[2]
    wt = w.transpose(0, 2, 1)
    dx = np.empty(data.shape, dt) if need_data else None

    def partials():
        # per worker: weight-gradient sum, product buffer, bias-gradient sum (float64)
        return (np.zeros((grp, fg, kg), dt), np.empty((grp, fg, kg), dt),
                np.zeros(num_filter, np.float64))

    def chunk(n0, n1, state):
        dw_acc, part, db_acc = state
        bp = (n1 - n0) * p
        ogt = _scratch("og", (num_filter, bp), dt)
        _K["gather"](og, n0, n1, ogt, db_acc)
        ogt = ogt.reshape(grp, fg, bp)
        if need_weight:
            cols = im2col(x, g, out_sp, n0, n1, _scratch("cols", (grp * kg, bp), dt))
            dw_acc += np.matmul(ogt, cols.reshape(grp, kg, bp).transpose(0, 2, 1), out=part)
        if need_data:
            dcols = _scratch("dcols", (grp, kg, bp), dt)
            np.matmul(wt, ogt, out=dcols)                        # (G, Kg, B*P)
            col2im(dcols.reshape(grp * kg, bp), g, out_sp, n0, n1, dx)

    states = run_chunks(n, _chunk(n, kg * grp, p, x.itemsize), chunk, partials)
    dw, _, db = states[0]
    for other in states[1:]:   # the workers' partial sums
        dw += other[0]
        db += other[2]
    if not need_data:
        dx = _ref._zeros_like_shape(np, data.shape, dt)
    dw = dw.reshape(weight.shape) if need_weight else \
        _ref._zeros_like_shape(np, weight.shape, dt)
    if no_bias:
        return dx, dw
    return dx, dw, db.astype(dt)
