"""``mx.sym.random``: MXNet 1.x's symbolic sampling functions (``mxnet.symbol.random``).

As in MXNet's ``_random_helper``: distribution parameters given as numbers make a
``_random_<dist>`` node drawing ``shape`` samples; given as Symbols they make a
``_sample_<dist>`` node drawing ``shape`` samples per element (output shape
``param.shape + shape``). Mixing numbers and Symbols is an error. ``shape``/``dtype`` left
out are left to the operator's defaults, as MXNet's ``_Null``.
"""
from __future__ import annotations

from ..unsupported import namespace_getattr as _namespace_getattr

import numbers

import numpy as np

from ..base import MXNetError
from ..ops import REGISTRY as _REGISTRY
from .register import create as _create, make_function as _make_function
from .symbol import Symbol

__all__ = ["uniform", "normal", "randn", "poisson", "exponential", "gamma", "multinomial",
           "negative_binomial", "generalized_negative_binomial", "shuffle", "randint"]


class _NullType:
    """Marker for "argument not given" (MXNet's ``_Null``)."""

    def __repr__(self):
        return "_Null"

    def __bool__(self):
        return False


_Null = _NullType()


def _is_number(x):
    return isinstance(x, (numbers.Real, np.generic)) and not isinstance(x, (bool, np.bool_))


def _random_helper(fname, random_op, sampler_op, names, params, shape, dtype, kwargs):
    kwargs = dict(kwargs)
    name = kwargs.pop("name", None)
    attr = kwargs.pop("attr", None)
    if shape is not _Null:
        kwargs["shape"] = shape
    if dtype is not _Null:
        kwargs["dtype"] = dtype
    if isinstance(params[0], Symbol):
        for p in params[1:]:
            if not isinstance(p, Symbol):
                raise MXNetError(f"random.{fname}: distribution parameters must all be Symbols "
                                 f"or all numbers, got Symbol and {type(p).__name__}")
        if sampler_op is None:
            raise MXNetError(f"random.{fname}: the parameters must be numbers, not Symbols")
        return _create(sampler_op, list(params), kwargs, name=name, attr=attr)
    if _is_number(params[0]):
        for p in params[1:]:
            if not _is_number(p):
                raise MXNetError(f"random.{fname}: distribution parameters must all be Symbols "
                                 f"or all numbers, got a number and {type(p).__name__}")
        kwargs.update(zip(names, params))
        return _create(random_op, [], kwargs, name=name, attr=attr)
    raise MXNetError(f"random.{fname}: distribution parameters must be Symbols or numbers, "
                     f"got {type(params[0]).__name__}")


def uniform(low=0, high=1, shape=_Null, dtype=_Null, **kwargs):
    """Samples uniform on [low, high) (numbers, or Symbols: ``shape`` samples per pair)."""
    return _random_helper("uniform", "_random_uniform", "_sample_uniform", ("low", "high"),
                          [low, high], shape, dtype, kwargs)


def normal(loc=0, scale=1, shape=_Null, dtype=_Null, **kwargs):
    """Normal samples of mean ``loc`` and standard deviation ``scale``."""
    return _random_helper("normal", "_random_normal", "_sample_normal", ("loc", "scale"),
                          [loc, scale], shape, dtype, kwargs)


def randn(*shape, **kwargs):
    """Standard normal samples: ``randn(2, 3)``; ``loc``, ``scale``, ``dtype`` by keyword."""
    loc = kwargs.pop("loc", 0)
    scale = kwargs.pop("scale", 1)
    dtype = kwargs.pop("dtype", _Null)
    for nm, v in (("loc", loc), ("scale", scale)):
        if not (_is_number(v) or isinstance(v, Symbol)):
            raise MXNetError(f"random.randn: {nm} must be a number or a Symbol, got "
                             f"{type(v).__name__}")
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return _random_helper("randn", "_random_normal", "_sample_normal", ("loc", "scale"),
                          [loc, scale], shape if shape else _Null, dtype, kwargs)


def poisson(lam=1, shape=_Null, dtype=_Null, **kwargs):
    """Poisson samples of rate ``lam`` (as floats)."""
    return _random_helper("poisson", "_random_poisson", "_sample_poisson", ("lam",), [lam],
                          shape, dtype, kwargs)


def exponential(scale=1, shape=_Null, dtype=_Null, **kwargs):
    """Exponential samples of scale ``scale`` (rate ``1/scale``, the operators' ``lam``)."""
    if _is_number(scale) and not scale > 0:
        raise MXNetError(f"random.exponential: scale must be positive, got {scale}")
    if _is_number(scale) or isinstance(scale, Symbol):
        scale = 1.0 / scale  # for a Symbol: the rate elementwise, as MXNet does
    return _random_helper("exponential", "_random_exponential", "_sample_exponential",
                          ("lam",), [scale], shape, dtype, kwargs)


def gamma(alpha=1, beta=1, shape=_Null, dtype=_Null, **kwargs):
    """Gamma samples of shape ``alpha`` and scale ``beta``."""
    return _random_helper("gamma", "_random_gamma", "_sample_gamma", ("alpha", "beta"),
                          [alpha, beta], shape, dtype, kwargs)


def negative_binomial(k=1, p=1, shape=_Null, dtype=_Null, **kwargs):
    """Negative binomial samples (failures before the ``k``-th success, success
    probability ``p``)."""
    return _random_helper("negative_binomial", "_random_negative_binomial",
                          "_sample_negative_binomial", ("k", "p"), [k, p], shape, dtype,
                          kwargs)


def generalized_negative_binomial(mu=1, alpha=1, shape=_Null, dtype=_Null, **kwargs):
    """Negative binomial samples of mean ``mu`` and dispersion ``alpha``."""
    return _random_helper("generalized_negative_binomial",
                          "_random_generalized_negative_binomial",
                          "_sample_generalized_negative_binomial", ("mu", "alpha"),
                          [mu, alpha], shape, dtype, kwargs)


def randint(low, high, shape=_Null, dtype=_Null, **kwargs):
    """Integers uniform on [low, high) (numbers only)."""
    return _random_helper("randint", "_random_randint", None, ("low", "high"), [low, high],
                          shape, dtype, kwargs)


def multinomial(data, shape=_Null, get_prob=False, dtype="int32", **kwargs):
    """Category draws from the distributions on the last axis of ``data``; with
    ``get_prob`` also their log-probabilities."""
    if not isinstance(data, Symbol):
        raise TypeError(f"random.multinomial: data must be a Symbol, got {type(data).__name__}")
    kwargs = dict(kwargs)
    name, attr = kwargs.pop("name", None), kwargs.pop("attr", None)
    if shape is not _Null:
        kwargs["shape"] = shape
    kwargs.update(get_prob=get_prob, dtype=dtype)
    return _create("_sample_multinomial", [data], kwargs, name=name, attr=attr)


def shuffle(data, **kwargs):
    """``data`` with its first axis randomly permuted."""
    if not isinstance(data, Symbol):
        raise TypeError(f"random.shuffle: data must be a Symbol, got {type(data).__name__}")
    kwargs = dict(kwargs)
    name, attr = kwargs.pop("name", None), kwargs.pop("attr", None)
    return _create("_shuffle", [data], kwargs, name=name, attr=attr)


def _install_like():
    """MXNet's generated ``<dist>_like`` samplers (the ``_random_<dist>_like`` operators)."""
    names = []
    for opname in _REGISTRY:
        if opname.startswith("_random_") and opname.endswith("_like"):
            globals()[opname[len("_random_"):]] = _make_function(opname)
            names.append(opname[len("_random_"):])
    return sorted(names)


__all__ += _install_like()


# names MXNet has and gluonlite lacks fail naming the reason (gluonlite/unsupported.py)
__getattr__ = _namespace_getattr("sym.random", __name__)
