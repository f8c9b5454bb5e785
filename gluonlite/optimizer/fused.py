"""Compiled CPU versions (Numba) of the hottest update rules: SGD with and without
momentum, and Adam.

:mod:`.rules` calls these first; they run when fast kernels are enabled
(``GLUONLITE_JIT``, :func:`gluonlite.kernels.set_enabled`) and the weight, gradient and
states are C-contiguous NumPy arrays of one dtype (float32 or float64), and decline
otherwise (the NumPy rule runs). One pass over the arrays replaces the reference's four or
five, with the same operations in the same order, so the results agree with the NumPy
rule to rounding. Compiled on first use and cached on disk
(:mod:`gluonlite.kernels.diskcache`: ``$GLUONLITE_CACHE_DIR/builtin``).

States that decay towards zero (the momentum, Adam's moments, of a weight whose gradient
stays 0 — dead ReLU units, image borders) are flushed to 0 once they fall below the
smallest normal float instead of becoming subnormal: CPUs compute on subnormals 10-100x
slower, which made the update of such weights several times slower than it needs to be.
A subnormal state moves a normal weight by less than its last bit, so the weights are
unchanged by the flush.
"""
from __future__ import annotations

import numpy as np

from .. import kernels

__all__ = ["sgd", "adam"]

_K: dict = {}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _build():
    from ..kernels.diskcache import cached_njit  # loads Numba: on first use, not at import

    # The kernels run on one thread: split over Numba's threads they ran 2x faster alone but
    # fought OpenBLAS's spinning threads for the cores in a training step (8 ms instead of
    # 1 ms per MLP step on 2 cores). The branches are outside the loops, and division
    # follows IEEE (error_model="numpy", no zero check), so that LLVM vectorises each loop.
    @cached_njit(error_model="numpy")
    def sgd_kernel(w, g, mom, lr, lr_rescale, lr_wd, rescale, clip, momentum, use_mom, tiny):
        wf = w.reshape(-1)
        gf = g.reshape(-1)
        mf = mom.reshape(-1)
        n = wf.size
        if clip >= 0:
            for i in range(n):
                step = min(max(gf[i] * rescale, -clip), clip) * lr + lr_wd * wf[i]
                gf_step = step
                if use_mom:
                    m = mf[i] * momentum - gf_step
                    m = m if abs(m) >= tiny else 0.0 * m
                    mf[i] = m
                    wf[i] = wf[i] + m
                else:
                    wf[i] = wf[i] - gf_step
        elif use_mom:
            for i in range(n):
                m = mf[i] * momentum - (gf[i] * lr_rescale + lr_wd * wf[i])
                m = m if abs(m) >= tiny else 0.0 * m
                mf[i] = m
                wf[i] = wf[i] + m
        else:
            for i in range(n):
                wf[i] = wf[i] - (gf[i] * lr_rescale + lr_wd * wf[i])

    @cached_njit(error_model="numpy")
    def adam_kernel(w, g, mean, var, lr, wd, rescale, clip, beta1, one_m_beta1, beta2,
                    one_m_beta2, epsilon, tiny):
        wf = w.reshape(-1)
        gf = g.reshape(-1)
        mf = mean.reshape(-1)
        vf = var.reshape(-1)
        n = wf.size
        if clip >= 0:
            for i in range(n):
                t = min(max(gf[i] * rescale + wd * wf[i], -clip), clip)
                m = mf[i] * beta1 + one_m_beta1 * t
                m = m if abs(m) >= tiny else 0.0 * m
                mf[i] = m
                v = vf[i] * beta2 + (t * t) * one_m_beta2
                v = v if v >= tiny else 0.0 * v
                vf[i] = v
                wf[i] = wf[i] - (m / (np.sqrt(v) + epsilon)) * lr
        else:
            for i in range(n):
                t = gf[i] * rescale + wd * wf[i]
                m = mf[i] * beta1 + one_m_beta1 * t
                m = m if abs(m) >= tiny else 0.0 * m
                mf[i] = m
                v = vf[i] * beta2 + (t * t) * one_m_beta2
                v = v if v >= tiny else 0.0 * v
                vf[i] = v
                wf[i] = wf[i] - (m / (np.sqrt(v) + epsilon)) * lr

    _K.update(sgd=sgd_kernel, adam=adam_kernel)


def _kernel(name):
    if not _K:
        try:
            _build()
        except ImportError:
            _K["unavailable"] = True
    return _K.get(name)


def _shape_error(fn, w, **others):
    """The ValueError for a gradient/state buffer not shaped like the weight: the kernels
    walk ``w.size`` elements of each, so a smaller buffer (states of another model) would
    be read and written past its end, and the NumPy rule is no fallback (it broadcasts)."""
    for name, a in others.items():
        if a is not None and a.shape != w.shape:
            return ValueError(f"{fn} update: {name} has shape {a.shape} but the weight has "
                              f"shape {w.shape}; an optimizer state must have its weight's "
                              "shape (were the states of another model loaded?)")
    return None


def _usable(*arrays):
    if not kernels.enabled():
        return None
    dt = arrays[0].dtype
    if dt not in _FLOATS:
        return None
    size = arrays[0].size
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != dt or not a.flags.c_contiguous or \
                a.size != size:
            return None  # (a second guard: the callers check shapes)
    return dt.type


# the smallest normal number of each float type, in that type (the flush threshold)
_TINY = {t.type: t.type(np.finfo(t).tiny) for t in _FLOATS}


def sgd(w, g, mom, lr, wd, rescale, clip, momentum):
    """:func:`.rules.sgd` compiled; returns False (nothing done) when it declines, and
    raises ValueError when ``g`` or ``mom`` is not shaped like ``w``."""
    if g.shape != w.shape or mom is not None and mom.shape != w.shape:
        raise _shape_error("sgd", w, grad=g, momentum=mom)
    arrays = (w, g) if mom is None else (w, g, mom)
    s = _usable(*arrays)
    if s is None:
        return False
    k = _kernel("sgd")
    if k is None:
        return False
    k(w, g, w if mom is None else mom, s(lr), s(lr * rescale), s(lr * wd), s(rescale),
      s(-1.0 if clip is None or clip < 0 else clip), s(momentum), mom is not None, _TINY[s])
    return True


def adam(w, g, mean, var, lr, wd, rescale, clip, beta1, beta2, epsilon):
    """:func:`.rules.adam` compiled; returns False (nothing done) when it declines, and
    raises ValueError when ``g``, ``mean`` or ``var`` is not shaped like ``w``."""
    if not g.shape == mean.shape == var.shape == w.shape:
        raise _shape_error("adam", w, grad=g, mean=mean, var=var)
    s = _usable(w, g, mean, var)
    if s is None:
        return False
    k = _kernel("adam")
    if k is None:
        return False
    k(w, g, mean, var, s(lr), s(wd), s(rescale),
      s(-1.0 if clip is None or clip < 0 else clip), s(beta1), s(1.0 - beta1), s(beta2),
      s(1.0 - beta2), s(epsilon), _TINY[s])
    return True
