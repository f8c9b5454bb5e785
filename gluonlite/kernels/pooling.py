"""Compiled CPU kernels of 2-D ``Pooling`` and ``_backward_Pooling`` (NCHW, float32 and
float64; max, avg and sum pooling; global pooling; 'valid', 'full' conventions; padding;
``count_include_pad``).

The reference (:mod:`gluonlite.ops.nn.pooling`) pads a copy of the input and makes one
vectorised pass per kernel offset (and, for max pooling's gradient, builds one mask per
offset); here one Numba loop visits each window once, reading the input in place.

The semantics are the reference's, window by window:

* a window covers positions ``[o*s - p, o*s - p + k)`` of each dimension; positions outside
  the input are padding (the lowest finite value for max, 0 for avg/sum), which also covers
  'full' windows running past the padded input.
* max pooling propagates NaN (as ``numpy.maximum``); its gradient goes to the *first*
  position, in row-major window order, holding the output value (padding included: a
  window whose maximum is found in the padding passes no gradient).
* avg pooling divides the window sum by the reference's divisor (``_avg_divisor``).

Checks are the reference's own (same errors). The kernels decline (the reference runs) for
1-D/3-D pooling, channel-last layouts, Lp pooling, dtypes other than float32/float64 and
empty arrays. The batch is split into chunks of samples spread over the cores
(:mod:`.workers`). Compiled on first use and cached on disk (:mod:`.diskcache`:
``$GLUONLITE_CACHE_DIR/builtin``).
"""
from __future__ import annotations

import numpy as np

from . import kernel
from .workers import run_chunks
from ..ops.nn import pooling as _ref

__all__ = []

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_K: dict = {}


def _build():
    from .diskcache import cached_njit  # loads Numba: on first use, not at import

    # flat arrays indexed with unsigned offsets where the loops are hot (vectorisable: see
    # conv.py); each kernel handles samples [n0, n1), so that workers can split the batch
    u64 = np.uint64
    opts = dict(error_model="numpy", nogil=True)

    @cached_njit(**opts)
    def max_fwd(x, n0, n1, kh, kw, sh, sw, ph, pw, lowest, inside, y):
        _, c_, h_, w_ = x.shape
        _, _, oh, ow = y.shape
        xf = x.ravel()
        yf = y.ravel()
        for n in range(n0, n1):
            for c in range(c_):
                plane = x[n, c]
                if inside:
                    # no window touches padding: a running maximum per output row, one
                    # kernel offset at a time (the reference's order)
                    xb = (n * c_ + c) * h_ * w_
                    for oy in range(oh):
                        ob = u64(((n * c_ + c) * oh + oy) * ow)
                        for a in range(kh):
                            for b in range(kw):
                                src = u64(xb + (oy * sh + a) * w_ + b)
                                if a == 0 and b == 0:
                                    for ox in range(ow):
                                        yf[ob + u64(ox)] = xf[src + u64(ox * sw)]
                                    continue
                                for ox in range(ow):
                                    v = xf[src + u64(ox * sw)]
                                    m = yf[ob + u64(ox)]
                                    # NaN propagates, as numpy.maximum
                                    yf[ob + u64(ox)] = v if (v > m or v != v) else m
                    continue
                for oy in range(oh):
                    hs = oy * sh - ph
                    ha, hb = max(hs, 0), min(hs + kh, h_)
                    for ox in range(ow):
                        ws = ox * sw - pw
                        wa, wb = max(ws, 0), min(ws + kw, w_)
                        # padding inside the window contributes the lowest value
                        padded = ha > hs or hb < hs + kh or wa > ws or wb < ws + kw
                        m = lowest if padded or ha >= hb or wa >= wb else plane[ha, wa]
                        for a in range(ha, hb):
                            row = plane[a]
                            for b in range(wa, wb):
                                v = row[b]
                                if v > m or v != v:
                                    m = v
                        y[n, c, oy, ox] = m

    @cached_njit(**opts)
    def max_bwd(og, x, y, n0, n1, kh, kw, sh, sw, ph, pw, lowest, inside, dx):
        _, c_, h_, w_ = x.shape
        _, _, oh, ow = y.shape
        xf, yf, gf, df = x.ravel(), y.ravel(), og.ravel(), dx.ravel()
        disjoint = sh >= kh and sw >= kw
        tiles = inside and sh == kh and sw == kw and oh * sh == h_ and ow * sw == w_
        for n in range(n0, n1):
            for c in range(c_):
                plane = x[n, c]
                dplane = dx[n, c]
                xb = (n * c_ + c) * h_ * w_
                if not tiles:
                    for q in range(h_ * w_):
                        df[u64(xb + q)] = 0
                if tiles and kh == 2 and kw == 2:
                    # the common 2x2 / stride 2 case, unrolled: the four positions of
                    # each window in row-major order, the first match takes the gradient
                    for oy in range(oh):
                        ob = u64(((n * c_ + c) * oh + oy) * ow)
                        r0 = u64(xb + 2 * oy * w_)
                        r1 = r0 + u64(w_)
                        for ox in range(ow):
                            m = yf[ob + u64(ox)]
                            gv = gf[ob + u64(ox)]
                            q = u64(2 * ox)
                            e0 = xf[r0 + q] == m
                            e1 = (xf[r0 + q + u64(1)] == m) and not e0
                            e2 = (xf[r1 + q] == m) and not (e0 or e1)
                            e3 = (xf[r1 + q + u64(1)] == m) and not (e0 or e1 or e2)
                            df[r0 + q] = gv if e0 else 0
                            df[r0 + q + u64(1)] = gv if e1 else 0
                            df[r1 + q] = gv if e2 else 0
                            df[r1 + q + u64(1)] = gv if e3 else 0
                    continue
                if inside:
                    # branch-free search of the first maximum: scanning the window
                    # backwards, each match overwrites the position found so far
                    for oy in range(oh):
                        ob = ((n * c_ + c) * oh + oy) * ow
                        for ox in range(ow):
                            m = yf[u64(ob + ox)]
                            gv = gf[u64(ob + ox)]
                            w0 = xb + oy * sh * w_ + ox * sw
                            best = -1
                            for a in range(kh):
                                for b in range(kw):
                                    q = w0 + (kh - 1 - a) * w_ + (kw - 1 - b)
                                    if xf[u64(q)] == m:
                                        best = q
                            if disjoint:
                                # each position is in this window only: write it
                                for a in range(kh):
                                    for b in range(kw):
                                        q = w0 + a * w_ + b
                                        df[u64(q)] = gv if q == best else 0
                            elif best >= 0:
                                df[u64(best)] += gv
                    continue
                for oy in range(oh):
                    hs = oy * sh - ph
                    yrow, grow = y[n, c, oy], og[n, c, oy]
                    for ox in range(ow):
                        ws = ox * sw - pw
                        m = yrow[ox]
                        found = False
                        # first position (row-major, padding included) equal to the max
                        for a in range(hs, hs + kh):
                            for b in range(ws, ws + kw):
                                if 0 <= a < h_ and 0 <= b < w_:
                                    if plane[a, b] == m:
                                        dplane[a, b] += grow[ox]
                                        found = True
                                        break
                                elif lowest == m:
                                    found = True
                                    break
                            if found:
                                break

    @cached_njit(**opts)
    def sum_fwd(x, n0, n1, kh, kw, sh, sw, ph, pw, div, use_div, zero, y):
        # ``zero`` is a 0 of the data's dtype: the window sums accumulate in that dtype, in
        # the reference's (row-major offset) order
        _, c_, h_, w_ = x.shape
        _, _, oh, ow = y.shape
        for n in range(n0, n1):
            for c in range(c_):
                plane = x[n, c]
                for oy in range(oh):
                    hs = oy * sh - ph
                    ha, hb = max(hs, 0), min(hs + kh, h_)
                    for ox in range(ow):
                        ws = ox * sw - pw
                        wa, wb = max(ws, 0), min(ws + kw, w_)
                        s = zero
                        for a in range(ha, hb):
                            row = plane[a]
                            for b in range(wa, wb):
                                s += row[b]
                        y[n, c, oy, ox] = s / div[oy, ox] if use_div else s

    @cached_njit(**opts)
    def sum_bwd(og, n0, n1, kh, kw, sh, sw, ph, pw, div, use_div, dx):
        _, c_, h_, w_ = dx.shape
        _, _, oh, ow = og.shape
        for n in range(n0, n1):
            for c in range(c_):
                dplane = dx[n, c]
                for a in range(h_):
                    for b in range(w_):
                        dplane[a, b] = 0
                for oy in range(oh):
                    hs = oy * sh - ph
                    ha, hb = max(hs, 0), min(hs + kh, h_)
                    for ox in range(ow):
                        ws = ox * sw - pw
                        wa, wb = max(ws, 0), min(ws + kw, w_)
                        v = og[n, c, oy, ox] / div[oy, ox] if use_div else og[n, c, oy, ox]
                        for a in range(ha, hb):
                            row = dplane[a]
                            for b in range(wa, wb):
                                row[b] += v

    _K.update(max_fwd=max_fwd, max_bwd=max_bwd, sum_fwd=sum_fwd, sum_bwd=sum_bwd)


def _kernels():
    if not _K:
        try:
            _build()
        except ImportError:
            _K["unavailable"] = True
    return None if "unavailable" in _K else _K


def _plan(op, data, kernel, pool_type, global_pool, pooling_convention, stride, pad, p_value,
          count_include_pad, layout):
    """The reference's geometry when the kernels handle the call, else None."""
    if data.dtype not in _FLOATS or data.ndim != 4 or pool_type == "lp" or _kernels() is None:
        return None
    a = _ref._attrs_dict(kernel, pool_type, global_pool, pooling_convention, stride, pad,
                         p_value, count_include_pad, layout)
    g = _ref._geometry(a, data.shape, op)
    if g.channel_last or data.size == 0:
        return None
    return g


#: bytes of input per chunk of samples handed to one worker
CHUNK_BYTES = 1 << 18


def _chunk(x):
    """Samples per chunk (at least one)."""
    per = max(1, x[0].size * x.itemsize)
    return max(1, CHUNK_BYTES // per)


def _geo_args(g):
    return (g.kernel[0], g.kernel[1], g.stride[0], g.stride[1], g.pad[0], g.pad[1])


def _inside(g):
    """Whether every window lies inside the input (no padding, no 'full' overhang)."""
    return not any(g.pad) and all((o - 1) * s + k <= n for o, s, k, n in
                                  zip(g.out, g.stride, g.kernel, g.spatial))


def _divisor(g, dtype):
    """(OH, OW) array of avg pooling's divisors (the reference's values), and whether to
    divide at all."""
    if g.pool_type != "avg":
        return np.ones((1, 1), dtype), False
    d = _ref._avg_divisor(np, g, dtype)
    if isinstance(d, float):
        return np.full(g.out, d, dtype), True
    return np.ascontiguousarray(d, dtype=dtype), True


@kernel("Pooling")
def pooling(rt, data, *, kernel=(), pool_type="max", global_pool=False,
            pooling_convention="valid", stride=(), pad=(), p_value=None,
            count_include_pad=None, layout=None, **kw):
    """``Pooling`` (2-D NCHW, max/avg/sum, float32/float64): one compiled pass over the
    windows."""
    g = _plan("Pooling", data, kernel, pool_type, global_pool, pooling_convention, stride,
              pad, p_value, count_include_pad, layout)
    if g is None:
        return NotImplemented
    x = np.ascontiguousarray(data)
    y = np.empty(tuple(x.shape[:2]) + g.out, x.dtype)
    geo = _geo_args(g)
    if g.pool_type == "max":
        low, inside, k = np.finfo(x.dtype).min.item(), _inside(g), _K["max_fwd"]
        body = lambda n0, n1, _: k(x, n0, n1, *geo, low, inside, y)  # noqa: E731
    else:
        div, use = _divisor(g, x.dtype)
        zero, k = x.dtype.type(0), _K["sum_fwd"]
        body = lambda n0, n1, _: k(x, n0, n1, *geo, div, use, zero, y)  # noqa: E731
    run_chunks(x.shape[0], _chunk(x), body)
    return y


@kernel("_backward_Pooling")
def backward_pooling(rt, ograd, data, output, *, kernel=(), pool_type="max",
                     global_pool=False, pooling_convention="valid", stride=(), pad=(),
                     p_value=None, count_include_pad=None, layout=None, **kw):
    """``_backward_Pooling`` (2-D NCHW, max/avg/sum, float32/float64): max pooling's
    gradient goes to the first maximum of each window, avg/sum spread it over the window."""
    op = "_backward_Pooling"
    g = _plan(op, data, kernel, pool_type, global_pool, pooling_convention, stride, pad,
              p_value, count_include_pad, layout)
    if g is None:
        return NotImplemented
    _ref._check_backward_shapes(op, g, ograd, data, output)
    if ograd.dtype != data.dtype or output.dtype != data.dtype:
        return NotImplemented
    og = np.ascontiguousarray(ograd)
    dx = np.empty(data.shape, data.dtype)
    geo = _geo_args(g)
    if g.pool_type == "max":
        x, y = np.ascontiguousarray(data), np.ascontiguousarray(output)
        low, inside, k = np.finfo(x.dtype).min.item(), _inside(g), _K["max_bwd"]
        body = lambda n0, n1, _: k(og, x, y, n0, n1, *geo, low, inside, dx)  # noqa: E731
    else:
        div, use = _divisor(g, data.dtype)
        k = _K["sum_bwd"]
        body = lambda n0, n1, _: k(og, n0, n1, *geo, div, use, dx)  # noqa: E731
    run_chunks(data.shape[0], _chunk(data), body)
    return dx
