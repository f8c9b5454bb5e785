"""MXNet 1.9.1's ``_random_<dist>_like`` samplers (``mx.nd.random.<dist>_like`` /
``mx.sym.random.<dist>_like``): samples of ``<dist>`` with scalar parameters, shaped like
the input ``data`` and of its dtype (float16/32/64), drawn from the device generator
(``mx.random.seed``). Only ``data``'s shape and dtype are used: its values are not read,
and the samples are constants for autograd (MXNet gives ``data`` no gradient).

The distributions, parameter checks and draws are those of the ``_random_<dist>``
operators (:mod:`.random`).
"""
from __future__ import annotations

from ..base import MXNetError
from .attrs import Float, Int
from .random import (_FLOATS, _check_gnb, _check_nb, _gamma, _generalized_negative_binomial,
                     _negative_binomial, _poisson, _uniform01)
from .registry import forward_shape, register

__all__ = []


def _like_dtype(name, data):
    dt = data.dtype.name
    if dt not in _FLOATS:
        raise MXNetError(f"{name}: data must be a floating-point array ({', '.join(_FLOATS)}: "
                         f"the samples take its dtype), got {dt}")
    return dt


def _like_op(dist, doc):
    name = f"_random_{dist}_like"

    def deco(fn):
        fn.__doc__ = doc
        return register(name, shape=forward_shape(lambda a, s: tuple(s)),
                        tags=("random",))(fn)

    return deco


@_like_op("uniform", "Samples uniform on ``[low, high)`` shaped like ``data`` (MXNet's "
                     "``random.uniform_like``).")
def _random_uniform_like(rt, data, *, low: Float = 0.0, high: Float = 1.0):
    dt = _like_dtype("uniform_like", data)
    if not low <= high:
        raise MXNetError(f"uniform_like: low must be less than or equal to high, got "
                         f"low={low}, high={high}")
    return (low + (high - low) * _uniform01(rt, data.shape, dt)).astype(dt)


@_like_op("normal", "Normal samples of mean ``loc`` and standard deviation ``scale`` shaped "
                    "like ``data`` (MXNet's ``random.normal_like``).")
def _random_normal_like(rt, data, *, loc: Float = 0.0, scale: Float = 1.0):
    dt = _like_dtype("normal_like", data)
    if not scale > 0:
        raise MXNetError(f"normal_like: scale (standard deviation) must be positive, got "
                         f"{scale}")
    return (loc + scale * rt.rng.standard_normal(data.shape)).astype(dt)


@_like_op("gamma", "Gamma samples of shape ``alpha`` and scale ``beta`` shaped like ``data`` "
                   "(MXNet's ``random.gamma_like``).")
def _random_gamma_like(rt, data, *, alpha: Float = 1.0, beta: Float = 1.0):
    dt = _like_dtype("gamma_like", data)
    if not alpha > 0:
        raise MXNetError(f"gamma_like: alpha (shape) must be positive, got {alpha}")
    if not beta > 0:
        raise MXNetError(f"gamma_like: beta (scale) must be positive, got {beta}")
    return (_gamma(rt, alpha, data.shape) * beta).astype(dt)


@_like_op("exponential", "Exponential samples of rate ``lam`` shaped like ``data`` (MXNet's "
                         "``random.exponential_like``).")
def _random_exponential_like(rt, data, *, lam: Float = 1.0):
    dt = _like_dtype("exponential_like", data)
    if not lam > 0:
        raise MXNetError(f"exponential_like: lam (the rate) must be positive, got {lam}")
    return (rt.rng.standard_exponential(data.shape) / lam).astype(dt)


@_like_op("poisson", "Poisson samples of rate ``lam`` (as floats) shaped like ``data`` "
                     "(MXNet's ``random.poisson_like``).")
def _random_poisson_like(rt, data, *, lam: Float = 1.0):
    dt = _like_dtype("poisson_like", data)
    if not lam >= 0:
        raise MXNetError(f"poisson_like: lam must be non-negative, got {lam}")
    return _poisson(rt, lam, data.shape).astype(dt)


@_like_op("negative_binomial", "Negative binomial samples (failures before the ``k``-th "
                               "success, success probability ``p``) shaped like ``data`` "
                               "(MXNet's ``random.negative_binomial_like``).")
def _random_negative_binomial_like(rt, data, *, k: Int = 1, p: Float = 1.0):
    dt = _like_dtype("negative_binomial_like", data)
    _check_nb("negative_binomial_like", k, p)
    return _negative_binomial(rt, float(k), p, data.shape).astype(dt)


@_like_op("generalized_negative_binomial",
          "Negative binomial samples of mean ``mu`` and dispersion ``alpha`` shaped like "
          "``data`` (MXNet's ``random.generalized_negative_binomial_like``).")
def _random_generalized_negative_binomial_like(rt, data, *, mu: Float = 1.0,
                                               alpha: Float = 1.0):
    dt = _like_dtype("generalized_negative_binomial_like", data)
    _check_gnb("generalized_negative_binomial_like", mu, alpha)
    return _generalized_negative_binomial(rt, mu, alpha, data.shape).astype(dt)
