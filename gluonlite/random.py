"""Random number state: ``mx.random.seed`` and the per-device generators.

As in MXNet, every device has its own generator and a process starts from a fixed seed, so
programs are reproducible by default; ``mx.random.seed(s)`` reseeds every device (or one,
with ``ctx=``). Everything random in gluonlite — ``nd.random.*``, initializers, Dropout,
data shuffling — draws from these generators.

The sampling functions (``mx.random.uniform``, ``normal``, ...) are the same as
``mx.nd.random``'s.
"""
from __future__ import annotations

import threading

import numpy as np

from .context import Context

__all__ = ["seed", "generator", "uniform", "normal", "randint", "exponential", "gamma",
           "poisson", "multinomial", "shuffle", "randn", "negative_binomial",
           "generalized_negative_binomial"]

_lock = threading.Lock()
_generators: dict = {}
_seed_all = 0
_seed_dev: dict = {}


def _make(ctx: Context, s: int):
    # Mix the device into the seed so devices draw independent streams.
    mixed = int(np.random.SeedSequence([s, ctx.device_typeid, ctx.device_id])
                .generate_state(1, np.uint32)[0])
    if ctx.is_gpu:
        from .backend import get_cupy
        cupy = get_cupy()
        with cupy.cuda.Device(ctx.device_id):
            return cupy.random.RandomState(mixed)
    return np.random.RandomState(mixed)


def generator(ctx: Context):
    """The generator of ``ctx`` (a ``RandomState`` of the device's array module)."""
    g = _generators.get(ctx)
    if g is None:
        with _lock:
            g = _generators.get(ctx)
            if g is None:
                g = _generators[ctx] = _make(ctx, _seed_dev.get(ctx, _seed_all))
    return g


def seed(seed_state, ctx="all"):
    """Seed the generators (MXNet's ``mx.random.seed(seed_state, ctx='all')``).

    ``seed_state`` must be an int; ``ctx='all'`` reseeds every device, a ``Context`` only
    that one.
    """
    global _seed_all
    if isinstance(seed_state, bool) or not isinstance(seed_state, (int, np.integer)):
        raise ValueError(f"seed_state: expected an int, got {type(seed_state).__name__}")
    seed_state = int(seed_state) & 0xFFFFFFFF
    with _lock:
        if isinstance(ctx, str) and ctx == "all":
            _seed_all = seed_state
            _seed_dev.clear()
            _generators.clear()
        elif isinstance(ctx, Context):
            _seed_dev[ctx] = seed_state
            _generators.pop(ctx, None)
        else:
            raise ValueError(f"ctx: expected 'all' or a Context, got {ctx!r}")


def __getattr__(name):
    # mx.random.uniform & co. are nd.random's functions; resolved lazily to avoid a cycle.
    if name in __all__:
        from .ndarray import random as ndr
        return getattr(ndr, name)
    raise AttributeError(f"module 'gluonlite.random' has no attribute {name!r}")
