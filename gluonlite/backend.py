"""Array backends: the ``xp`` module (numpy or cupy) and what kernels need beside it.

Operator kernels receive a :class:`Runtime` ``rt`` and use ``rt.xp`` for arrays,
``rt.special`` for special functions numpy lacks (erf, gamma, ...), ``rt.rng`` for random
numbers and ``rt.is_train`` for train/predict behaviour. Nothing in ``gluonlite.ops``
imports numpy or cupy directly.
"""
from __future__ import annotations

import math

import numpy as np

from .base import MXNetError

__all__ = ["Runtime", "get_cupy"]


def get_cupy():
    """Import CuPy or raise a clear error saying how to get it."""
    try:
        import cupy
    except Exception as e:  # ImportError, or a broken CUDA install
        raise MXNetError("GPU contexts need CuPy: install gluonlite with the 'gpu' extra "
                         f"(pip install 'gluonlite[gpu]'); importing cupy failed: {e}") from None
    return cupy


def empty_cache(ctx):
    cupy = get_cupy()
    with cupy.cuda.Device(ctx.device_id):
        cupy.get_default_memory_pool().free_all_blocks()


class _NumpySpecial:
    """Special functions for numpy arrays, evaluated in float64 and cast back.

    These are the reference versions (exact to double precision through ``math``);
    ``gluonlite.kernels`` replaces the ops that use them with compiled loops.
    """

    _erf = np.frompyfunc(math.erf, 1, 1)
    # poles as C's tgamma/lgamma (which MXNet uses): gamma(+-0) = +-inf, gamma(-n) = nan,
    # lgamma(0 or -n) = inf
    _gamma = np.frompyfunc(lambda v: math.gamma(v) if not (v <= 0 and v == int(v))
                           else (math.copysign(math.inf, v) if v == 0 else math.nan), 1, 1)
    _lgamma = np.frompyfunc(lambda v: math.lgamma(v) if not (v <= 0 and v == int(v))
                            else math.inf, 1, 1)

    @staticmethod
    def _apply(f, x):
        x = np.asarray(x)
        return f(x.astype(np.float64)).astype(x.dtype if x.dtype.kind == "f" else np.float64)

    def erf(self, x):
        return self._apply(self._erf, x)

    def gamma(self, x):
        return self._apply(self._gamma, x)

    def gammaln(self, x):
        return self._apply(self._lgamma, x)

    def erfinv(self, y):
        # Newton iterations on erf from a closed-form first guess (Giles' approximation).
        y = np.asarray(y)
        yd = y.astype(np.float64)
        w = -np.log(np.clip((1.0 - yd) * (1.0 + yd), 1e-300, None))
        x = np.where(w < 5.0,
                     _poly(w - 2.5, _ERFINV_A) * yd,
                     _poly(np.sqrt(w) - 3.0, _ERFINV_B) * yd)
        for _ in range(3):
            err = self._erf(x).astype(np.float64) - yd
            x = x - err / (2.0 / math.sqrt(math.pi) * np.exp(-x * x))
        x = np.where(yd >= 1.0, np.inf, np.where(yd <= -1.0, -np.inf, x))
        return x.astype(y.dtype if y.dtype.kind == "f" else np.float64)

    def digamma(self, x):
        x = np.asarray(x)
        return _digamma(np, x.astype(np.float64)).astype(
            x.dtype if x.dtype.kind == "f" else np.float64)


def _poly(t, coeffs):
    r = np.full_like(t, coeffs[0])
    for c in coeffs[1:]:
        r = r * t + c
    return r


_ERFINV_A = [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
             0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]
_ERFINV_B = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
             0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]


def _digamma(xp, x):
    """psi(x) by reflection, upward recurrence to x >= 6, then the asymptotic series."""
    neg = x < 0.5
    # reflection: psi(1 - x) - psi(x) = pi * cot(pi x)
    xr = xp.where(neg, 1.0 - x, x)
    acc = xp.zeros_like(xr)
    for _ in range(6):
        small = xr < 6.0
        acc = acc - xp.where(small, 1.0 / xp.where(small, xr, 1.0), 0.0)
        xr = xp.where(small, xr + 1.0, xr)
    inv = 1.0 / xr
    inv2 = inv * inv
    series = (xp.log(xr) - 0.5 * inv
              - inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (
                  1.0 / 240 - inv2 * (1.0 / 132))))))
    res = acc + series
    with np.errstate(divide="ignore", invalid="ignore"):
        refl = res - math.pi / xp.tan(math.pi * x)
    return xp.where(neg, refl, res)


class _CupySpecial:
    def __init__(self, cupy):
        from cupyx.scipy import special
        self._sp = special

    def erf(self, x):
        return self._sp.erf(x)

    def erfinv(self, x):
        return self._sp.erfinv(x)

    def gamma(self, x):
        return self._sp.gamma(x)

    def gammaln(self, x):
        return self._sp.gammaln(x)

    def digamma(self, x):
        return self._sp.digamma(x)


_NUMPY_SPECIAL = _NumpySpecial()


class Runtime:
    """What an operator kernel may use: ``xp``, ``special``, ``rng``, ``is_train``, ``ctx``.

    One instance per (context, train flag), created once and reused, so handing it to a
    kernel costs nothing.
    """

    __slots__ = ("ctx", "xp", "array_type", "is_train", "special", "_F")

    def __init__(self, ctx, is_train: bool):
        self.ctx = ctx
        self.is_train = is_train
        if ctx.is_gpu:
            cupy = get_cupy()
            self.xp = cupy
            self.special = _CupySpecial(cupy)
        else:
            self.xp = np
            self.special = _NUMPY_SPECIAL
        self.array_type = self.xp.ndarray
        self._F = None

    @property
    def rng(self):
        """The random generator of this runtime's device (seeded by ``mx.random.seed``)."""
        from .random import generator
        return generator(self.ctx)

    @property
    def F(self):
        """The operator namespace over raw arrays of this backend (used by gradient rules)."""
        F = self._F
        if F is None:
            from .ops.namespace import RawNamespace
            F = self._F = RawNamespace(self)
        return F

    def __repr__(self):
        return f"Runtime({self.ctx}, is_train={self.is_train})"
