"""Compiled special functions (erf, gamma, gammaln) for numpy arrays.

The reference forwards evaluate these through Python's ``math`` one element at a time;
these Numba ufuncs run the same C functions in a compiled loop. Compiled in memory on first
use and not cached on disk: building the three (float32 and float64) took 0.37 s of CPU,
0.28 s when loaded from Numba's disk cache; that 0.1 s once per process is not worth a
second cache format for ufuncs (Numba's own reads unsealed pickles: see :mod:`.diskcache`).
"""
from __future__ import annotations

import math

from . import kernel

_UFUNCS: dict = {}


def _build():
    import numba

    sigs = ["float32(float32)", "float64(float64)"]

    @numba.vectorize(sigs)
    def erf(x):
        return math.erf(x)

    @numba.vectorize(sigs)
    def gamma(x):
        return math.gamma(x)

    @numba.vectorize(sigs)
    def gammaln(x):
        return math.lgamma(x)

    _UFUNCS.update(erf=erf, gamma=gamma, gammaln=gammaln)


def _ufunc(name):
    if not _UFUNCS:
        try:
            _build()
        except ImportError:
            _UFUNCS["unavailable"] = True
    return _UFUNCS.get(name)


def _make(name):
    def run(rt, data):
        if data.dtype.kind != "f" or data.dtype.itemsize < 4:
            return NotImplemented
        u = _ufunc(name)
        if u is None:
            return NotImplemented
        return u(data)

    run.__name__ = f"{name}_numba"
    run.__doc__ = f"Compiled {name} for float32/float64 numpy arrays."
    return run


for _name in ("erf", "gamma", "gammaln"):
    kernel(_name, "numpy")(_make(_name))
