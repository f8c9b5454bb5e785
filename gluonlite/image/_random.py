"""The random draws of image augmentation, from gluonlite's generator.

MXNet's Python augmenters use Python's ``random`` module and its image operators MXNet's
own generator; gluonlite draws everything from the CPU generator of :mod:`gluonlite.random`,
so augmentation is reproducible under ``mx.random.seed(s)``. The draws follow MXNet's
distributions: ``uniform(lo, hi)`` continuous, ``randint(lo, hi)`` inclusive of both ends
(Python's ``random.randint``), ``random()`` in [0, 1).
"""
from __future__ import annotations

import numpy as np

from .. import random as _random
from ..context import cpu

__all__ = ["uniform", "randint", "random", "normal", "shuffle", "bernoulli"]


def _gen():
    return _random.generator(cpu())


def uniform(lo, hi):
    """A float drawn uniformly from [lo, hi)."""
    return float(_gen().uniform(lo, hi))


def randint(lo, hi):
    """An int drawn uniformly from lo..hi, both included."""
    return int(_gen().randint(int(lo), int(hi) + 1))


def random():
    """A float drawn uniformly from [0, 1)."""
    return float(_gen().random_sample())


def normal(scale, size):
    """``size`` floats drawn from N(0, scale^2), as a float64 NumPy array."""
    return np.asarray(_gen().normal(0.0, scale, size=size), dtype=np.float64)


def bernoulli(p=0.5):
    """True with probability ``p``."""
    return random() < p


def shuffle(items):
    """Shuffle the list ``items`` in place."""
    order = _gen().permutation(len(items))
    items[:] = [items[i] for i in order]
