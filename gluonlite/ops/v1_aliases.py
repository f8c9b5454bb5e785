"""MXNet's deprecated pre-1.0 operators ``BatchNorm_v1``, ``Convolution_v1`` and
``Pooling_v1``: their attributes are a subset of the current operators' with the same
defaults and the same arithmetic on CPU (``tests/fixtures/more_missing.npz`` pins them to
MXNet's numbers), so they are aliases of ``BatchNorm``/``Convolution``/``Pooling``.
"""
from __future__ import annotations

from .registry import REGISTRY
# the current operators the deprecated _v1 names alias (same-layer modules)
from .nn import conv as _conv, norm as _norm, pooling as _pooling  # noqa: F401

__all__ = []

for _old, _new in (("BatchNorm_v1", "BatchNorm"), ("Convolution_v1", "Convolution"),
                   ("Pooling_v1", "Pooling")):
    if _old in REGISTRY:
        raise ValueError(f"operator name {_old!r} registered twice")
    REGISTRY[_old] = REGISTRY[_new]
