"""MXNet 1.9.1's ``gluon.contrib.nn`` layers: ``Concurrent``, ``HybridConcurrent``,
``Identity``, ``SyncBatchNorm`` and ``PixelShuffle1D/2D/3D``.

``SyncBatchNorm`` synchronises batch statistics across devices in MXNet. gluonlite runs
one process, and a batch that is not split across devices needs no synchronisation, so it
is ``BatchNorm`` over the channel axis with MXNet's arguments (``num_devices`` is accepted
and checked); with ``num_devices > 1`` it warns that each device slice is normalised with
its own statistics.
"""
from __future__ import annotations

import warnings

from .... import ndarray as nd
from ...block import HybridBlock
from ...nn.activations import _check_int
from ...nn.basic_layers import BatchNorm
from ...nn.sequential import HybridSequential, Sequential

__all__ = ["Concurrent", "HybridConcurrent", "Identity", "SyncBatchNorm", "PixelShuffle1D",
           "PixelShuffle2D", "PixelShuffle3D"]


def _check_axis(layer, axis):
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"{layer}: axis must be an int, got {axis!r}")
    return axis


class Concurrent(Sequential):
    """Feed the input to every child and concatenate their outputs along ``axis``
    (default -1), MXNet's ``contrib.nn.Concurrent``."""

    def __init__(self, axis=-1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = _check_axis("Concurrent", axis)

    def forward(self, x):
        if not self._children:
            raise ValueError(f"Concurrent '{self.prefix}' has no children: add blocks before "
                             "calling it")
        return nd.concat(*[block(x) for block in self._children.values()], dim=self.axis)


class HybridConcurrent(HybridSequential):
    """Feed the input to every child and concatenate their outputs along ``axis``
    (default -1), MXNet's ``contrib.nn.HybridConcurrent``; hybridizable."""

    def __init__(self, axis=-1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = _check_axis("HybridConcurrent", axis)

    def hybrid_forward(self, F, x):
        if not self._children:
            raise ValueError(f"HybridConcurrent '{self.prefix}' has no children: add blocks "
                             "before calling it")
        return F.concat(*[block(x) for block in self._children.values()], dim=self.axis)


class Identity(HybridBlock):
    """Return the input unchanged (MXNet's ``contrib.nn.Identity``), e.g. a shortcut branch
    of a ``HybridConcurrent``."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F, x):
        return x


class SyncBatchNorm(BatchNorm):
    """Batch normalisation over axis 1 with MXNet's ``contrib.nn.SyncBatchNorm`` arguments
    and parameter names; statistics come from the whole batch given to it (see the module
    docstring).

    Parameters
    ----------
    in_channels : int, default 0 (deferred)
    num_devices : int, optional
        Accepted for compatibility (gluoncv passes ``len(ctx)``); must be positive.
    momentum, epsilon, center, scale, use_global_stats, *_initializer :
        As :class:`gluon.nn.BatchNorm`.
    """

    def __init__(self, in_channels=0, num_devices=None, momentum=0.9, epsilon=1e-5,
                 center=True, scale=True, use_global_stats=False, beta_initializer="zeros",
                 gamma_initializer="ones", running_mean_initializer="zeros",
                 running_variance_initializer="ones", prefix=None, params=None):
        if num_devices is not None:
            _check_int("SyncBatchNorm", "num_devices", num_devices, 1)
            if num_devices > 1:
                warnings.warn(f"SyncBatchNorm(num_devices={num_devices}): gluonlite normalises "
                              "each call with the statistics of the batch it is given; "
                              "batches split across devices are not synchronised",
                              UserWarning, stacklevel=2)
        super().__init__(axis=1, momentum=momentum, epsilon=epsilon, center=center,
                         scale=scale, use_global_stats=use_global_stats,
                         beta_initializer=beta_initializer,
                         gamma_initializer=gamma_initializer,
                         running_mean_initializer=running_mean_initializer,
                         running_variance_initializer=running_variance_initializer,
                         in_channels=in_channels, prefix=prefix, params=params)
        self.num_devices = 1 if num_devices is None else num_devices


def _check_factors(layer, factor, n):
    vals = (factor,) * n if not isinstance(factor, (tuple, list)) else tuple(factor)
    if len(vals) != n or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                             for v in vals):
        want = "a positive int" if n == 1 else f"a positive int or {n} positive ints"
        raise ValueError(f"{layer}: factor must be {want}, got {factor!r}")
    return vals


def _check_channels(layer, F, x, ndim, prod):
    # only NDArrays have a shape while tracing; Symbols are checked by reshape itself
    shape = getattr(x, "shape", None)
    if F is nd and shape is not None:
        if len(shape) != ndim:
            raise ValueError(f"{layer}: expected {ndim}-D input, got shape {tuple(shape)}")
        if shape[1] % prod:
            raise ValueError(f"{layer}: the channel count {shape[1]} must be divisible by "
                             f"{prod} (the product of the factors)")


class PixelShuffle1D(HybridBlock):
    """``(N, f*C, W)`` to ``(N, C, W*f)`` (MXNet's ``contrib.nn.PixelShuffle1D``)."""

    def __init__(self, factor):
        super().__init__()
        self._factor = _check_factors("PixelShuffle1D", factor, 1)[0]

    def hybrid_forward(self, F, x):
        f = self._factor
        _check_channels("PixelShuffle1D", F, x, 3, f)
        x = F.reshape(x, (0, -4, -1, f, 0))  # (N, C, f, W)
        x = F.transpose(x, (0, 1, 3, 2))     # (N, C, W, f)
        return F.reshape(x, (0, 0, -3))      # (N, C, W*f)

    def __repr__(self):
        return f"{type(self).__name__}({self._factor})"


class PixelShuffle2D(HybridBlock):
    """``(N, f1*f2*C, H, W)`` to ``(N, C, H*f1, W*f2)`` (MXNet's
    ``contrib.nn.PixelShuffle2D``); ``factor`` is an int or a pair."""

    def __init__(self, factor):
        super().__init__()
        self._factors = _check_factors("PixelShuffle2D", factor, 2)

    def hybrid_forward(self, F, x):
        f1, f2 = self._factors
        _check_channels("PixelShuffle2D", F, x, 4, f1 * f2)
        x = F.reshape(x, (0, -4, -1, f1 * f2, 0, 0))  # (N, C, f1*f2, H, W)
        x = F.reshape(x, (0, 0, -4, f1, f2, 0, 0))    # (N, C, f1, f2, H, W)
        x = F.transpose(x, (0, 1, 4, 2, 5, 3))        # (N, C, H, f1, W, f2)
        return F.reshape(x, (0, 0, -3, -3))           # (N, C, H*f1, W*f2)

    def __repr__(self):
        return f"{type(self).__name__}({self._factors})"


class PixelShuffle3D(HybridBlock):
    """``(N, f1*f2*f3*C, D, H, W)`` to ``(N, C, D*f1, H*f2, W*f3)`` (MXNet's
    ``contrib.nn.PixelShuffle3D``); ``factor`` is an int or a triple."""

    def __init__(self, factor):
        super().__init__()
        self._factors = _check_factors("PixelShuffle3D", factor, 3)

    def hybrid_forward(self, F, x):
        f1, f2, f3 = self._factors
        _check_channels("PixelShuffle3D", F, x, 5, f1 * f2 * f3)
        x = F.reshape(x, (0, -4, -1, f1 * f2 * f3, 0, 0, 0))  # (N, C, f1*f2*f3, D, H, W)
        x = F.swapaxes(x, 2, 3)                               # (N, C, D, f1*f2*f3, H, W)
        x = F.reshape(x, (0, 0, 0, -4, f1, f2 * f3, 0, 0))    # (N, C, D, f1, f2*f3, H, W)
        x = F.reshape(x, (0, 0, -3, 0, 0, 0))                 # (N, C, D*f1, f2*f3, H, W)
        x = F.swapaxes(x, 3, 4)                               # (N, C, D*f1, H, f2*f3, W)
        x = F.reshape(x, (0, 0, 0, 0, -4, f2, f3, 0))         # (N, C, D*f1, H, f2, f3, W)
        x = F.reshape(x, (0, 0, 0, -3, 0, 0))                 # (N, C, D*f1, H*f2, f3, W)
        x = F.swapaxes(x, 4, 5)                               # (N, C, D*f1, H*f2, W, f3)
        return F.reshape(x, (0, 0, 0, 0, -3))                 # (N, C, D*f1, H*f2, W*f3)

    def __repr__(self):
        return f"{type(self).__name__}({self._factors})"
