"""``mx.nd.random``: MXNet 1.x's sampling functions over the random operators.

Every function takes its distribution parameters either as numbers -- then it runs the
``_random_<dist>`` operator, drawing ``shape`` samples (default: one, i.e. shape (1,)) on
``ctx`` (default: the current context) -- or as NDArrays -- then it runs
``_sample_<dist>``, drawing ``shape`` samples per element, with output shape
``param.shape + shape`` on the parameters' device. This is MXNet's ``_random_helper``.

``out=`` fills an existing array: its shape (and, unless ``dtype`` is given, its dtype)
then defines what is drawn, as initializers such as ``nd.random.uniform(-s, s, out=arr)``
expect. Samples come from the per-device generators that ``mx.random.seed`` seeds.
"""
from __future__ import annotations

from ..unsupported import namespace_getattr as _namespace_getattr

import numbers

import numpy as np

from ..base import MXNetError
from ..context import Context, current_context
from ..ops import REGISTRY as _REGISTRY, get_op
from .ndarray import NDArray, invoke
from .register import make_function as _make_function

__all__ = ["uniform", "normal", "randn", "randint", "exponential", "gamma", "poisson",
           "negative_binomial", "generalized_negative_binomial", "multinomial", "shuffle"]


class _NullType:
    """Marker for "argument not given" (MXNet's ``_Null``)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self):
        return "_Null"

    def __bool__(self):
        return False


_Null = _NullType()


def _is_number(x):
    return isinstance(x, (numbers.Real, np.generic)) and not isinstance(x, (bool, np.bool_))


def _invoke(opname, inputs, attrs, out=None, ctx=None):
    op = get_op(opname)
    return invoke(op, inputs, op.parse_attrs(attrs), out=out, ctx=ctx)


def _check_out(fname, out):
    if out is not None and not isinstance(out, NDArray):
        raise TypeError(f"{fname}: out must be an NDArray, got {type(out).__name__}")


def _extra(fname, kwargs):
    kwargs = dict(kwargs)
    kwargs.pop("name", None)  # accepted and ignored, as by MXNet's imperative API
    return kwargs


def _random_helper(fname, random_op, sampler_op, names, params, shape, dtype, ctx, out,
                   kwargs):
    """MXNet's ``_random_helper``: numbers -> ``random_op``, NDArrays -> ``sampler_op``."""
    _check_out(fname, out)
    kwargs = _extra(fname, kwargs)
    if isinstance(params[0], NDArray):
        for p in params[1:]:
            if not isinstance(p, NDArray):
                raise MXNetError(f"{fname}: distribution parameters must all be NDArrays or "
                                 f"all numbers, got NDArray and {type(p).__name__}")
        if sampler_op is None:
            raise MXNetError(f"{fname}: the parameters must be numbers, not NDArrays")
        attrs = dict(kwargs)
        p0 = params[0]
        if shape is not _Null:
            attrs["shape"] = shape
        elif out is not None:
            # the draws per element follow from out's shape: param.shape + shape
            if tuple(out.shape[:p0.ndim]) != tuple(p0.shape):
                raise MXNetError(f"{fname}: out has shape {out.shape}, which does not start "
                                 f"with the parameters' shape {p0.shape}")
            attrs["shape"] = tuple(out.shape[p0.ndim:])
        if dtype is not _Null:
            attrs["dtype"] = dtype
        elif out is not None:
            attrs["dtype"] = np.dtype(out.dtype).name
        return _invoke(sampler_op, list(params), attrs, out=out)
    if _is_number(params[0]):
        for p in params[1:]:
            if not _is_number(p):
                raise MXNetError(f"{fname}: distribution parameters must all be NDArrays or "
                                 f"all numbers, got a number and {type(p).__name__}")
        if ctx is None:
            ctx = out.context if out is not None else current_context()
        elif not isinstance(ctx, Context):
            raise TypeError(f"{fname}: ctx must be a Context, got {type(ctx).__name__}")
        if shape is _Null:
            shape = out.shape if out is not None else 1
        attrs = dict(zip(names, params))
        attrs.update(kwargs)
        attrs["shape"] = shape
        if dtype is not _Null:
            attrs["dtype"] = dtype
        elif out is not None:
            attrs["dtype"] = np.dtype(out.dtype).name
        return _invoke(random_op, [], attrs, out=out, ctx=ctx)
    raise MXNetError(f"{fname}: distribution parameters must be NDArrays or numbers, got "
                     f"{type(params[0]).__name__}")


def uniform(low=0, high=1, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Samples uniformly distributed on [low, high).

    ``low``/``high``: numbers (``shape`` samples, default one) or NDArrays of one shape
    (``shape`` samples per pair, output shape ``low.shape + shape``). ``dtype``: 'float16',
    'float32' (default) or 'float64'. ``ctx``: device for number parameters. ``out``: the
    array to fill.
    """
    return _random_helper("uniform", "_random_uniform", "_sample_uniform", ("low", "high"),
                          [low, high], shape, dtype, ctx, out, kwargs)


def normal(loc=0, scale=1, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Samples of a normal distribution with mean ``loc`` and standard deviation ``scale``
    (numbers, or NDArrays of one shape: ``shape`` samples per pair)."""
    return _random_helper("normal", "_random_normal", "_sample_normal", ("loc", "scale"),
                          [loc, scale], shape, dtype, ctx, out, kwargs)


def randn(*shape, **kwargs):
    """Standard normal samples of the given shape: ``randn(2, 3)``; keyword arguments
    ``loc``, ``scale``, ``dtype``, ``ctx`` and ``out`` as in :func:`normal`."""
    loc = kwargs.pop("loc", 0)
    scale = kwargs.pop("scale", 1)
    dtype = kwargs.pop("dtype", _Null)
    ctx = kwargs.pop("ctx", None)
    out = kwargs.pop("out", None)
    for name, v in (("loc", loc), ("scale", scale)):
        if not (_is_number(v) or isinstance(v, NDArray)):
            raise MXNetError(f"randn: {name} must be a number or an NDArray, got "
                             f"{type(v).__name__}")
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])  # randn((2, 3)) as well as randn(2, 3)
    if not shape:
        if out is None:
            raise MXNetError("randn: give the shape of the samples, e.g. randn(2, 3)")
        shape = _Null
    return _random_helper("randn", "_random_normal", "_sample_normal", ("loc", "scale"),
                          [loc, scale], shape, dtype, ctx, out, kwargs)


def randint(low, high, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Integers drawn uniformly from [low, high) (numbers only); ``dtype`` 'int32'
    (default) or 'int64'."""
    return _random_helper("randint", "_random_randint", None, ("low", "high"),
                          [low, high], shape, dtype, ctx, out, kwargs)


def exponential(scale=1, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Samples of an exponential distribution of scale ``scale`` (mean ``scale``, rate
    ``1/scale``, which is what the operators take as ``lam``)."""
    if _is_number(scale) and not scale > 0:
        raise MXNetError(f"exponential: scale must be positive, got {scale}")
    return _random_helper("exponential", "_random_exponential", "_sample_exponential",
                          ("lam",), [1.0 / scale], shape, dtype, ctx, out, kwargs)


def gamma(alpha=1, beta=1, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Samples of a gamma distribution of shape ``alpha`` and scale ``beta``."""
    return _random_helper("gamma", "_random_gamma", "_sample_gamma", ("alpha", "beta"),
                          [alpha, beta], shape, dtype, ctx, out, kwargs)


def poisson(lam=1, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Samples of a Poisson distribution of rate ``lam``, returned as floats."""
    return _random_helper("poisson", "_random_poisson", "_sample_poisson", ("lam",),
                          [lam], shape, dtype, ctx, out, kwargs)


def negative_binomial(k=1, p=1, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Samples of a negative binomial distribution: failures before the ``k``-th success
    with success probability ``p``, as floats."""
    return _random_helper("negative_binomial", "_random_negative_binomial",
                          "_sample_negative_binomial", ("k", "p"), [k, p], shape, dtype,
                          ctx, out, kwargs)


def generalized_negative_binomial(mu=1, alpha=1, shape=_Null, dtype=_Null, ctx=None,
                                  out=None, **kwargs):
    """Samples of a negative binomial distribution of mean ``mu`` and dispersion ``alpha``
    (variance ``mu + alpha * mu**2``), as floats."""
    return _random_helper("generalized_negative_binomial",
                          "_random_generalized_negative_binomial",
                          "_sample_generalized_negative_binomial", ("mu", "alpha"),
                          [mu, alpha], shape, dtype, ctx, out, kwargs)


def multinomial(data, shape=_Null, get_prob=False, out=None, dtype="int32", **kwargs):
    """Category draws from the distributions whose probabilities lie on the last axis of
    ``data``: ``shape`` draws per distribution (one when not given), as ``dtype``.

    With ``get_prob=True`` returns ``[draws, log_probabilities]``; the log-probabilities are
    differentiable with respect to ``data``.
    """
    _check_out("multinomial", out)
    if not isinstance(data, NDArray):
        raise TypeError(f"multinomial: data must be an NDArray, got {type(data).__name__}")
    attrs = _extra("multinomial", kwargs)
    if shape is not _Null:
        attrs["shape"] = shape
    attrs["get_prob"] = get_prob
    attrs["dtype"] = dtype
    return _invoke("_sample_multinomial", [data], attrs, out=out)


def shuffle(data, **kwargs):
    """A copy of ``data`` with its first axis randomly permuted (``out=`` accepted)."""
    if not isinstance(data, NDArray):
        raise TypeError(f"shuffle: data must be an NDArray, got {type(data).__name__}")
    kwargs = _extra("shuffle", kwargs)
    out = kwargs.pop("out", None)
    _check_out("shuffle", out)
    return _invoke("_shuffle", [data], kwargs, out=out)


def _install_like():
    """MXNet's generated ``<dist>_like`` samplers (the ``_random_<dist>_like`` operators)."""
    names = []
    for opname, op in _REGISTRY.items():
        if opname.startswith("_random_") and opname.endswith("_like"):
            globals()[opname[len("_random_"):]] = _make_function(op)
            names.append(opname[len("_random_"):])
    return sorted(names)


__all__ += _install_like()


# names MXNet has and gluonlite lacks fail naming the reason (gluonlite/unsupported.py)
__getattr__ = _namespace_getattr("nd.random", __name__)
