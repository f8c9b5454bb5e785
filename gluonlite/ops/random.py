"""Random sampling operators, drawing from the device generator ``rt.rng`` (a NumPy or CuPy
``RandomState``, seeded by ``mx.random.seed``).

* ``_random_<dist>`` (aliases ``<dist>``/``random_<dist>`` as in MXNet) are source
  operators: scalar parameters as attributes, the output ``shape`` (required) and ``dtype``
  (float32 unless given; int32 for ``_random_randint``); the device is the caller's ``ctx=``.
* ``_sample_<dist>`` (aliases ``sample_<dist>``) take one parameter array per parameter
  (all of one shape and dtype) and draw ``shape`` samples per element: the output shape is
  ``param.shape + shape``, its dtype float32 unless ``dtype`` says otherwise.
* ``_sample_multinomial`` draws categories from the probabilities on the last axis;
  ``get_prob=True`` adds the log-probabilities of the draws as a second output, which is
  differentiable with respect to the probabilities (as in MXNet, for REINFORCE-style
  estimators).
* ``_shuffle`` permutes the first axis.

Samples are drawn in float64 and converted to the output dtype, so float32 and float64
outputs of one seed agree. Distribution parameters are checked as MXNet checks them, and
also where MXNet silently produces garbage or hangs (negative rates, ``p`` outside (0, 1],
``low >= high`` for ``randint``, probabilities that do not sum to one). Apart from
``_sample_multinomial``'s log-probabilities the outputs are not differentiable: they are
constants for autograd.
"""
from __future__ import annotations

from ..base import MXNetError
from .attrs import Bool, DType, Float, Int, OptDType, OptShape, Shape
from .creation import check_alloc
from .registry import register, dtype_from_attr, forward_shape

__all__ = []

_FLOATS = ("float16", "float32", "float64")
_MULTINOMIAL_DTYPES = ("float16", "float32", "float64", "int32", "uint8")
# mantissa bits: uniform variates are rounded down to this precision so that the upper
# bound stays excluded after the conversion to the output dtype
_MANTISSA = {"float16": 11, "float32": 24, "float64": 53}


def _prod(seq):
    n = 1
    for s in seq:
        n *= int(s)
    return n


def _dtype(name, dtype, allowed, default="float32"):
    d = dtype or default
    if d not in allowed:
        raise MXNetError(f"{name}: dtype must be one of {', '.join(allowed)}, got {d}")
    return d


def _source_shape(name, shape):
    if not shape:
        raise MXNetError(f"{name}: the output shape is required (e.g. shape=(2, 3)); got "
                         f"{shape!r}")
    # the samplers draw float64 before casting: that is the size to check
    return check_alloc(name, shape, "float64")


def _source_shape_rule(name):
    def rule(a, in_shapes):
        return in_shapes, [_source_shape(name, a["shape"])]
    return rule


def _uniform01(rt, shape, dtype):
    """Uniform variates in [0, 1), exactly representable in ``dtype`` (float64 array)."""
    xp = rt.xp
    u = rt.rng.random_sample(shape)
    bits = _MANTISSA.get(dtype, 53)
    if bits < 53:
        scale = float(2 ** bits)
        u = xp.floor(u * scale) / scale
    return u


def _poisson(rt, lam, shape):
    """Poisson variates (float64) of rate ``lam`` (a float or an array broadcasting to
    ``shape``)."""
    return rt.rng.poisson(lam, size=shape).astype("float64")


def _gamma(rt, alpha, shape):
    """Standard gamma variates (scale 1) of shape parameter ``alpha``."""
    return rt.rng.standard_gamma(alpha, size=shape)


def _negative_binomial(rt, k, p, shape):
    # MXNet's construction: a Poisson draw whose rate is Gamma(k, (1 - p) / p) -- the number
    # of failures before the k-th success, mean k (1 - p) / p
    lam = _gamma(rt, k, shape) * ((1.0 - p) / p)
    return _poisson(rt, lam, shape)


def _generalized_negative_binomial(rt, mu, alpha, shape):
    # MXNet's construction: Poisson(Gamma(1 / alpha, alpha * mu)); alpha = 0 is Poisson(mu).
    # Written elementwise so that parameter arrays may mix alpha = 0 and alpha > 0.
    xp = rt.xp
    a = xp.asarray(alpha, dtype="float64")
    m = xp.asarray(mu, dtype="float64")
    safe = xp.where(a > 0, a, 1.0)
    lam = xp.where(a > 0, _gamma(rt, 1.0 / safe, shape) * (safe * m),
                   xp.broadcast_to(m, shape))
    return _poisson(rt, lam, shape)


# --- scalar-parameter (source) samplers --------------------------------------------------------
def _source_op(name, aliases, fn, doc, default="float32"):
    fn.__doc__ = doc
    return register(name, aliases=aliases, shape=_source_shape_rule(name),
                    dtype=dtype_from_attr("dtype", default), source=True,
                    tags=("source", "random"))(fn)


def _random_uniform(rt, *, low: Float = 0.0, high: Float = 1.0, shape: OptShape = None,
                    dtype: OptDType = None):
    dt = _dtype("_random_uniform", dtype, _FLOATS)
    shape = _source_shape("_random_uniform", shape)
    if not low <= high:
        raise MXNetError(f"_random_uniform: low must be less than or equal to high, got "
                         f"low={low}, high={high}")
    return (low + (high - low) * _uniform01(rt, shape, dt)).astype(dt)


_source_op("_random_uniform", ("uniform", "random_uniform"), _random_uniform,
           "Samples uniformly distributed on [low, high) (MXNet's ``_random_uniform``).")


def _random_normal(rt, *, loc: Float = 0.0, scale: Float = 1.0, shape: OptShape = None,
                   dtype: OptDType = None):
    dt = _dtype("_random_normal", dtype, _FLOATS)
    shape = _source_shape("_random_normal", shape)
    if not scale > 0:
        raise MXNetError(f"_random_normal: scale (standard deviation) must be positive, got "
                         f"{scale}")
    return (loc + scale * rt.rng.standard_normal(shape)).astype(dt)


_source_op("_random_normal", ("normal", "random_normal"), _random_normal,
           "Samples of a normal distribution with mean ``loc`` and standard deviation "
           "``scale`` (MXNet's ``_random_normal``).")


def _random_randint(rt, *, low: Int, high: Int, shape: OptShape = None,
                    dtype: OptDType = None):
    dt = _dtype("_random_randint", dtype, ("int32", "int64"), "int32")
    shape = _source_shape("_random_randint", shape)
    if not low < high:
        raise MXNetError(f"_random_randint: low must be less than high (the interval "
                         f"[low, high) must not be empty), got low={low}, high={high}")
    if dt == "int32" and not (-2 ** 31 <= low and high <= 2 ** 31):
        raise MXNetError(f"_random_randint: [{low}, {high}) does not fit in int32; pass "
                         "dtype='int64'")
    return rt.rng.randint(low, high, size=shape, dtype="int64").astype(dt)


_source_op("_random_randint", ("random_randint",), _random_randint,
           "Integers drawn uniformly from [low, high) (MXNet's ``_random_randint``).",
           default="int32")


def _random_exponential(rt, *, lam: Float = 1.0, shape: OptShape = None,
                        dtype: OptDType = None):
    dt = _dtype("_random_exponential", dtype, _FLOATS)
    shape = _source_shape("_random_exponential", shape)
    if not lam > 0:
        raise MXNetError(f"_random_exponential: lam (the rate) must be positive, got {lam}")
    return (rt.rng.standard_exponential(shape) / lam).astype(dt)


_source_op("_random_exponential", ("random_exponential",), _random_exponential,
           "Samples of an exponential distribution of rate ``lam`` (mean 1/lam; MXNet's "
           "``_random_exponential``).")


def _random_gamma(rt, *, alpha: Float = 1.0, beta: Float = 1.0, shape: OptShape = None,
                  dtype: OptDType = None):
    dt = _dtype("_random_gamma", dtype, _FLOATS)
    shape = _source_shape("_random_gamma", shape)
    if not alpha > 0:
        raise MXNetError(f"_random_gamma: alpha (shape) must be positive, got {alpha}")
    if not beta > 0:
        raise MXNetError(f"_random_gamma: beta (scale) must be positive, got {beta}")
    return (_gamma(rt, alpha, shape) * beta).astype(dt)


_source_op("_random_gamma", ("random_gamma",), _random_gamma,
           "Samples of a gamma distribution of shape ``alpha`` and scale ``beta`` (mean "
           "alpha * beta; MXNet's ``_random_gamma``).")


def _random_poisson(rt, *, lam: Float = 1.0, shape: OptShape = None, dtype: OptDType = None):
    dt = _dtype("_random_poisson", dtype, _FLOATS)
    shape = _source_shape("_random_poisson", shape)
    if not lam >= 0:
        raise MXNetError(f"_random_poisson: lam must be non-negative, got {lam}")
    return _poisson(rt, lam, shape).astype(dt)


_source_op("_random_poisson", ("random_poisson",), _random_poisson,
           "Samples of a Poisson distribution of rate ``lam``, as floats (MXNet's "
           "``_random_poisson``).")


def _check_nb(name, k, p):
    if not k >= 0:
        raise MXNetError(f"{name}: k (the number of successes) must be non-negative, got {k}")
    if not 0 < p <= 1:
        raise MXNetError(f"{name}: p (the success probability) must be in (0, 1], got {p}")


def _random_negative_binomial(rt, *, k: Int = 1, p: Float = 1.0, shape: OptShape = None,
                              dtype: OptDType = None):
    dt = _dtype("_random_negative_binomial", dtype, _FLOATS)
    shape = _source_shape("_random_negative_binomial", shape)
    _check_nb("_random_negative_binomial", k, p)
    return _negative_binomial(rt, float(k), p, shape).astype(dt)


_source_op("_random_negative_binomial", ("random_negative_binomial",),
           _random_negative_binomial,
           "Samples of a negative binomial distribution: failures before the ``k``-th "
           "success with success probability ``p`` (mean k (1 - p) / p; MXNet's "
           "``_random_negative_binomial``).")


def _check_gnb(name, mu, alpha):
    if not mu >= 0:
        raise MXNetError(f"{name}: mu (the mean) must be non-negative, got {mu}")
    if not alpha >= 0:
        raise MXNetError(f"{name}: alpha (the dispersion) must be non-negative, got {alpha}")


def _random_generalized_negative_binomial(rt, *, mu: Float = 1.0, alpha: Float = 1.0,
                                          shape: OptShape = None, dtype: OptDType = None):
    name = "_random_generalized_negative_binomial"
    dt = _dtype(name, dtype, _FLOATS)
    shape = _source_shape(name, shape)
    _check_gnb(name, mu, alpha)
    return _generalized_negative_binomial(rt, mu, alpha, shape).astype(dt)


_source_op("_random_generalized_negative_binomial",
           ("random_generalized_negative_binomial",), _random_generalized_negative_binomial,
           "Samples of a negative binomial distribution of mean ``mu`` and dispersion "
           "``alpha`` (variance mu + alpha mu^2; alpha = 0 is Poisson; MXNet's "
           "``_random_generalized_negative_binomial``).")


# --- per-element (array-parameter) samplers ------------------------------------------------------
def _sample_shape(a, *shapes):
    return tuple(shapes[0]) + tuple(a["shape"])


def _params(rt, name, params, shape):
    """The parameter arrays as float64, shaped to broadcast against the output shape."""
    first = params[0]
    for i, p in enumerate(params[1:], 1):
        if p.shape != first.shape:
            raise MXNetError(f"{name}: all parameter arrays must have the same shape, got "
                             f"{tuple(first.shape)} and {tuple(p.shape)}")
    for p in params:
        if p.dtype.kind not in "iuf":
            raise MXNetError(f"{name}: parameters must be numeric arrays, got {p.dtype.name}")
    out = tuple(first.shape) + tuple(shape)
    for s in shape:
        if s < 0:
            raise MXNetError(f"{name}: shape {tuple(shape)} has a negative dimension")
    expand = tuple(first.shape) + (1,) * len(shape)
    return out, [p.astype("float64").reshape(expand) for p in params]


def _require(rt, name, ok, what):
    """MXNetError unless every element of the boolean array ``ok`` holds."""
    if ok.size and not bool(rt.xp.all(ok)):
        raise MXNetError(f"{name}: {what}")


def _sample_op(name, fn, doc):
    fn.__doc__ = doc
    return register(name, aliases=(name[1:],), shape=forward_shape(_sample_shape),
                    dtype=dtype_from_attr("dtype", "float32"), tags=("random",))(fn)


def _sample_uniform(rt, low, high, *, shape: Shape = (), dtype: OptDType = None):
    name = "_sample_uniform"
    dt = _dtype(name, dtype, _FLOATS)
    out, (lo, hi) = _params(rt, name, (low, high), shape)
    _require(rt, name, lo <= hi, "every low must be less than or equal to its high")
    return (lo + (hi - lo) * _uniform01(rt, out, dt)).astype(dt)


_sample_op("_sample_uniform", _sample_uniform,
           "``shape`` samples from each uniform distribution [low[i], high[i]) (MXNet's "
           "``_sample_uniform``); output shape ``low.shape + shape``.")


def _sample_normal(rt, mu, sigma, *, shape: Shape = (), dtype: OptDType = None):
    name = "_sample_normal"
    dt = _dtype(name, dtype, _FLOATS)
    out, (m, s) = _params(rt, name, (mu, sigma), shape)
    _require(rt, name, s >= 0, "every sigma (standard deviation) must be non-negative")
    return (m + s * rt.rng.standard_normal(out)).astype(dt)


_sample_op("_sample_normal", _sample_normal,
           "``shape`` samples from each normal distribution N(mu[i], sigma[i]^2) (MXNet's "
           "``_sample_normal``); output shape ``mu.shape + shape``.")


def _sample_gamma(rt, alpha, beta, *, shape: Shape = (), dtype: OptDType = None):
    name = "_sample_gamma"
    dt = _dtype(name, dtype, _FLOATS)
    out, (a, b) = _params(rt, name, (alpha, beta), shape)
    _require(rt, name, a > 0, "every alpha (shape) must be positive")
    _require(rt, name, b > 0, "every beta (scale) must be positive")
    return (_gamma(rt, rt.xp.broadcast_to(a, out), out) * b).astype(dt)


_sample_op("_sample_gamma", _sample_gamma,
           "``shape`` samples from each gamma distribution of shape alpha[i] and scale "
           "beta[i] (MXNet's ``_sample_gamma``); output shape ``alpha.shape + shape``.")


def _sample_exponential(rt, lam, *, shape: Shape = (), dtype: OptDType = None):
    name = "_sample_exponential"
    dt = _dtype(name, dtype, _FLOATS)
    out, (r,) = _params(rt, name, (lam,), shape)
    _require(rt, name, r > 0, "every lam (rate) must be positive")
    return (rt.rng.standard_exponential(out) / r).astype(dt)


_sample_op("_sample_exponential", _sample_exponential,
           "``shape`` samples from each exponential distribution of rate lam[i] (MXNet's "
           "``_sample_exponential``); output shape ``lam.shape + shape``.")


def _sample_poisson(rt, lam, *, shape: Shape = (), dtype: OptDType = None):
    name = "_sample_poisson"
    dt = _dtype(name, dtype, _FLOATS)
    out, (r,) = _params(rt, name, (lam,), shape)
    _require(rt, name, r >= 0, "every lam (rate) must be non-negative")
    return _poisson(rt, rt.xp.broadcast_to(r, out), out).astype(dt)


_sample_op("_sample_poisson", _sample_poisson,
           "``shape`` samples from each Poisson distribution of rate lam[i], as floats "
           "(MXNet's ``_sample_poisson``); output shape ``lam.shape + shape``.")


def _sample_negative_binomial(rt, k, p, *, shape: Shape = (), dtype: OptDType = None):
    name = "_sample_negative_binomial"
    dt = _dtype(name, dtype, _FLOATS)
    out, (kk, pp) = _params(rt, name, (k, p), shape)
    _require(rt, name, kk >= 0, "every k (number of successes) must be non-negative")
    _require(rt, name, (pp > 0) & (pp <= 1), "every p (success probability) must be in (0, 1]")
    xp = rt.xp
    return _negative_binomial(rt, xp.broadcast_to(kk, out), xp.broadcast_to(pp, out),
                              out).astype(dt)


_sample_op("_sample_negative_binomial", _sample_negative_binomial,
           "``shape`` samples from each negative binomial distribution (k[i] successes, "
           "success probability p[i]; MXNet's ``_sample_negative_binomial``).")


def _sample_generalized_negative_binomial(rt, mu, alpha, *, shape: Shape = (),
                                          dtype: OptDType = None):
    name = "_sample_generalized_negative_binomial"
    dt = _dtype(name, dtype, _FLOATS)
    out, (m, a) = _params(rt, name, (mu, alpha), shape)
    _require(rt, name, m >= 0, "every mu (mean) must be non-negative")
    _require(rt, name, a >= 0, "every alpha (dispersion) must be non-negative")
    xp = rt.xp
    return _generalized_negative_binomial(rt, xp.broadcast_to(m, out), xp.broadcast_to(a, out),
                                          out).astype(dt)


_sample_op("_sample_generalized_negative_binomial", _sample_generalized_negative_binomial,
           "``shape`` samples from each negative binomial distribution of mean mu[i] and "
           "dispersion alpha[i] (MXNet's ``_sample_generalized_negative_binomial``).")


# --- multinomial -------------------------------------------------------------------------------
def _multinomial_shapes(a, s):
    s = tuple(s)
    out = s[:-1] + tuple(a["shape"])
    out = out if out else (1,)
    return [out, out] if a["get_prob"] else [out]


def _multinomial_shape_rule(a, in_shapes):
    if in_shapes[0] is None:
        return in_shapes, [None] * (2 if a["get_prob"] else 1)
    return in_shapes, _multinomial_shapes(a, in_shapes[0])


def _multinomial_dtype_rule(a, in_types, n_out):
    return in_types, [a["dtype"], in_types[0]][:n_out]


@register("_sample_multinomial", aliases=("sample_multinomial",),
          shape=_multinomial_shape_rule, dtype=_multinomial_dtype_rule,
          num_outputs=lambda a: 2 if a["get_prob"] else 1, tags=("random",))
def _sample_multinomial(rt, data, *, shape: Shape = (), get_prob: Bool = False,
                        dtype: DType = "int32"):
    """``shape`` category draws from each distribution whose probabilities lie on the last
    axis of ``data`` (MXNet's ``_sample_multinomial``): output shape
    ``data.shape[:-1] + shape`` ((1,) rather than 0-d for a single draw from 1-D data).

    With ``get_prob=True`` a second output holds the log-probability of each draw; its
    gradient flows back to ``data``.
    """
    name = "_sample_multinomial"
    xp = rt.xp
    dt = _dtype(name, dtype, _MULTINOMIAL_DTYPES)
    if data.dtype.kind != "f":
        raise MXNetError(f"{name}: probabilities must be a floating point array, got "
                         f"{data.dtype.name}")
    if data.ndim == 0 or data.shape[-1] == 0:
        raise MXNetError(f"{name}: data must have a non-empty last axis of probabilities, got "
                         f"shape {tuple(data.shape)}")
    k = data.shape[-1]
    if (dt == "uint8" and k > 256) or (dt == "float16" and k > 2049):
        raise MXNetError(f"{name}: dtype {dt} cannot represent {k} categories exactly")
    for s in shape:
        if s < 0:
            raise MXNetError(f"{name}: shape {tuple(shape)} has a negative dimension")
    batch = tuple(data.shape[:-1])
    nb, ns = _prod(batch), _prod(shape)
    probs = data.astype("float64").reshape(nb, k)
    _require(rt, name, probs >= 0, "probabilities must be non-negative")
    tol = 1e-2 if data.dtype.itemsize <= 2 else 1e-3
    _require(rt, name, xp.abs(probs.sum(axis=1) - 1.0) <= tol,
             "the probabilities on the last axis must sum to 1")
    cdf = xp.cumsum(probs, axis=1)
    # one searchsorted for all rows: row r's cdf and draws are shifted by 2r, so the
    # concatenated cdf stays sorted; the count of cdf values <= u is the drawn category
    shift = 2.0 * xp.arange(nb, dtype="float64")
    u = rt.rng.random_sample((nb, ns))
    pos = xp.searchsorted((cdf + shift[:, None]).reshape(-1),
                          (u + shift[:, None]).reshape(-1), side="right")
    idx = pos.reshape(nb, ns) - (k * xp.arange(nb))[:, None]
    idx = xp.clip(idx, 0, k - 1)  # u beyond a total rounded just below 1
    out_shape = batch + tuple(shape)
    out_shape = out_shape if out_shape else (1,)
    samples = idx.reshape(out_shape).astype(dt)
    if not get_prob:
        return samples
    logp = xp.log(xp.take_along_axis(data.reshape(nb, k), idx, axis=1))
    return samples, logp.reshape(out_shape).astype(data.dtype)


@_sample_multinomial.gradient
def _(F, a, ins, outs, ogs, need):
    if not a["get_prob"]:
        return (None,)
    data, draws = ins[0], outs[0]
    # d log p[draw] / d p[draw] = 1 / p[draw], accumulated over the draws of each row
    p = F._gather_along_axis(data, draws, axis=-1)
    return (F._scatter_along_axis(ogs[1] / p, draws, data, axis=-1),)


# --- shuffle -----------------------------------------------------------------------------------
@register("_shuffle", aliases=("shuffle",), shape=forward_shape(lambda a, s: tuple(s)),
          tags=("random",))
def _shuffle(rt, data):
    """A random permutation of ``data`` along its first axis (MXNet's ``_shuffle``); the
    rows themselves are unchanged."""
    if data.ndim == 0:
        raise MXNetError("_shuffle: data must have at least one dimension")
    return data[rt.rng.permutation(data.shape[0])]
