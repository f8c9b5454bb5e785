"""The C++ random streams MXNet's native iterators draw from, reproduced in NumPy.

MXNet's C++ iterators use ``std::mt19937`` with libstdc++'s distributions (the pip wheels'
toolchain: the two-division ``uniform_int_distribution`` and the one-swap-per-element
``std::shuffle``). Reproducing them lets ``MNISTIter(shuffle=True)`` and
``ImageRecordIter(shuffle=True, path_imgidx=...)`` visit records in MXNet's order, and
``rand_crop`` / ``rand_mirror`` make MXNet's choices when they are reproducible there
(one decoding thread or ``seed_aug``).

A ``numpy.random.RandomState(seed)`` is seeded exactly like ``std::mt19937(seed)``
(``init_genrand``), so its bit generator's raw 32-bit outputs are the C++ engine's.
"""
from __future__ import annotations

import numpy as np

_U32 = 0xFFFFFFFF


class MT19937:
    """``std::mt19937(seed)``: 32-bit outputs, drawn in blocks for speed."""

    __slots__ = ("_bg", "_buf", "_pos")

    def __init__(self, seed: int):
        self._bg = np.random.RandomState(int(seed) & _U32)._bit_generator
        self._buf = []
        self._pos = 0

    def __call__(self) -> int:
        if self._pos == len(self._buf):
            self._buf = self._bg.random_raw(1024).tolist()
            self._pos = 0
        v = self._buf[self._pos]
        self._pos += 1
        return v

    def uniform_int(self, a: int, b: int) -> int:
        """``std::uniform_int_distribution(a, b)`` (libstdc++'s scaling-and-rejection path
        for ranges smaller than the engine's)."""
        span = b - a  # note: an empty range [a, a] still consumes a draw, as in libstdc++
        if span == _U32:
            return a + self()
        if span > _U32:
            raise ValueError("uniform_int: ranges wider than 32 bits are not needed here")
        erange = span + 1
        scaling = _U32 // erange
        past = erange * scaling
        while True:
            r = self()
            if r < past:
                return a + r // scaling

    def canonical_float(self) -> float:
        """``std::generate_canonical<float, 24>``: one draw (``uniform_real_distribution<float>
        (0, 1)``)."""
        r = np.float32(self() / 4294967296.0)
        return float(r) if r < 1.0 else float(np.nextafter(np.float32(1), np.float32(0)))

    def canonical_double(self) -> float:
        """``std::generate_canonical<double, 53>``: two draws (what ``bernoulli_distribution``
        compares with ``p``)."""
        lo = self()
        hi = self()
        r = (lo + hi * 4294967296.0) / 18446744073709551616.0
        return r if r < 1.0 else float(np.nextafter(1.0, 0.0))

    def bernoulli(self, p: float = 0.5) -> bool:
        return self.canonical_double() < p


def std_shuffle(n: int, rng: MT19937) -> np.ndarray:
    """The permutation ``std::shuffle`` leaves in ``[0, 1, ..., n-1]`` (libstdc++, one
    ``uniform_int_distribution(0, i)`` draw per position)."""
    order = list(range(n))
    for i in range(1, n):
        j = rng.uniform_int(0, i)
        order[i], order[j] = order[j], order[i]
    return np.asarray(order, dtype=np.int64)
