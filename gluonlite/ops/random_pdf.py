"""MXNet 1.9.1's probability density operators ``random_pdf_<dist>(sample, *params,
is_log=False)`` (registry names ``_random_pdf_<dist>``): the density (log-density with
``is_log``) of every sample under the distribution of its parameters. The parameters share
one shape, which ``sample``'s shape starts with; the trailing axes of ``sample`` are draws
from that distribution.

Distributions (as MXNet's: ``gamma``'s ``beta`` and ``exponential``'s ``lam`` are rates):
``normal(mu, sigma)``, ``uniform(low, high)``, ``exponential(lam)``,
``gamma(alpha, beta)``, ``poisson(lam)``, ``negative_binomial(k, p)`` (failures before
the ``k``-th success), ``generalized_negative_binomial(mu, alpha)`` (``k = 1/alpha``,
``p = 1/(1 + alpha mu)``). ``dirichlet`` is not implemented.

As MXNet's, ``uniform`` and ``exponential`` do not test the support: their densities are
given by the formula for every sample. Gradients flow to the sample (zero for the discrete
distributions, as in MXNet) and to the parameters (summed over the draws), through
``_backward_random_pdf_<dist>``.
"""
from __future__ import annotations

import inspect
import math

import numpy as np

from ..base import MXNetError
from .attrs import Bool
from .registry import register

__all__ = []

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _expand(p, ndim):
    return p.reshape(p.shape + (1,) * (ndim - p.ndim))


def _check(name, sample, params):
    ps = params[0].shape
    for p in params[1:]:
        if p.shape != ps:
            raise MXNetError(f"random_pdf_{name}: the parameters must have one shape, got "
                             f"{[tuple(q.shape) for q in params]}")
    if tuple(sample.shape[:len(ps)]) != tuple(ps):
        raise MXNetError(f"random_pdf_{name}: sample's shape {tuple(sample.shape)} must start "
                         f"with the parameters' shape {tuple(ps)}")
    for a in (sample,) + tuple(params):
        if a.dtype.kind != "f":
            raise MXNetError(f"random_pdf_{name}: inputs must be floating point, got "
                             f"{a.dtype.name}")


# log-density and its derivatives (d/dsample, d/dparam...) per distribution, on arrays
# already broadcast to the sample's shape
def _normal(sp, x, mu, sigma):
    z = (x - mu) / sigma
    logp = -0.5 * z * z - sp.xp.log(sigma) - _LOG_SQRT_2PI
    return logp, (-z / sigma, z / sigma, (z * z - 1) / sigma)


def _uniform(sp, x, low, high):
    # MXNet does not test the support: 1/(high-low) for every sample
    xp = sp.xp
    width = high - low
    logp = -xp.log(width) + xp.zeros_like(x)
    return logp, (xp.zeros_like(x), 1 / width + xp.zeros_like(x), -1 / width + xp.zeros_like(x))


def _exponential(sp, x, lam):
    # MXNet does not test the support (x >= 0) either
    return sp.xp.log(lam) - lam * x, (-lam + sp.xp.zeros_like(x), 1 / lam - x)


def _gamma(sp, x, alpha, beta):
    xp = sp.xp
    lx = xp.log(x)
    logp = alpha * xp.log(beta) + (alpha - 1) * lx - beta * x - sp.gammaln(alpha)
    return logp, ((alpha - 1) / x - beta, xp.log(beta) + lx - sp.digamma(alpha),
                  alpha / beta - x)


def _poisson(sp, x, lam):
    xp = sp.xp
    logp = x * xp.log(lam) - lam - sp.gammaln(x + 1)
    return logp, (xp.zeros_like(x), x / lam - 1)


def _nb_logp(sp, x, k, p):
    xp = sp.xp
    return (sp.gammaln(x + k) - sp.gammaln(x + 1) - sp.gammaln(k) + k * xp.log(p)
            + x * xp.log1p(-p))


def _negative_binomial(sp, x, k, p):
    xp = sp.xp
    dk = sp.digamma(x + k) - sp.digamma(k) + xp.log(p)
    dp = k / p - x / (1 - p)
    return _nb_logp(sp, x, k, p), (xp.zeros_like(x), dk, dp)


def _generalized_negative_binomial(sp, x, mu, alpha):
    # k = 1/alpha, p = 1/(1 + alpha mu), by the chain rule through (k, p)
    xp = sp.xp
    k = 1 / alpha
    p = 1 / (1 + alpha * mu)
    dk = sp.digamma(x + k) - sp.digamma(k) + xp.log(p)
    dp = k / p - x / (1 - p)
    dp_dmu = -alpha * p * p
    dp_dalpha = -mu * p * p
    dk_dalpha = -k * k
    return _nb_logp(sp, x, k, p), (xp.zeros_like(x), dp * dp_dmu,
                                   dk * dk_dalpha + dp * dp_dalpha)


class _Special:
    """The array module and special functions of a runtime, for the formulas above."""

    def __init__(self, rt):
        self.xp = rt.xp
        self.gammaln = rt.special.gammaln
        self.digamma = rt.special.digamma


_DISTS = {
    "normal": (("mu", "sigma"), _normal),
    "uniform": (("low", "high"), _uniform),
    "exponential": (("lam",), _exponential),
    "gamma": (("alpha", "beta"), _gamma),
    "poisson": (("lam",), _poisson),
    "negative_binomial": (("k", "p"), _negative_binomial),
    "generalized_negative_binomial": (("mu", "alpha"), _generalized_negative_binomial),
}


def _pdf_shape(a, in_shapes):
    return in_shapes, [in_shapes[0]]


def _bw_shape(a, in_shapes):
    return in_shapes, list(in_shapes[1:])


def _make(dist, pnames, formula):
    name = f"_random_pdf_{dist}"

    def fwd(rt, sample, *params, is_log=False):
        _check(dist, sample, params)
        ps = [_expand(p, sample.ndim) for p in params]
        with np.errstate(divide="ignore", invalid="ignore"):
            logp, _ = formula(_Special(rt), sample, *ps)
        r = logp if is_log else rt.xp.exp(logp)
        return rt.xp.ascontiguousarray(r.astype(sample.dtype, copy=False))

    def bwd(rt, ograd, sample, *params, is_log=False):
        ps = [_expand(p, sample.ndim) for p in params]
        with np.errstate(divide="ignore", invalid="ignore"):
            logp, derivs = formula(_Special(rt), sample, *ps)
        g = ograd if is_log else ograd * rt.xp.exp(logp)
        axes = tuple(range(params[0].ndim, sample.ndim))
        out = [(g * derivs[0]).astype(sample.dtype, copy=False)]
        for p, d in zip(params, derivs[1:]):
            out.append((g * d).sum(axis=axes).astype(p.dtype, copy=False).reshape(p.shape))
        return tuple(rt.xp.ascontiguousarray(o) for o in out)

    # the registry reads inputs and attributes from the signature: give each function the
    # distribution's parameter names (MXNet's input names)
    P = inspect.Parameter
    sig_in = [P("rt", P.POSITIONAL_OR_KEYWORD), P("sample", P.POSITIONAL_OR_KEYWORD)]
    sig_in += [P(n, P.POSITIONAL_OR_KEYWORD) for n in pnames]
    is_log = P("is_log", P.KEYWORD_ONLY, default=False, annotation=Bool)

    def f(rt, sample, *params, is_log=False):
        return fwd(rt, sample, *params, is_log=is_log)

    def b(rt, ograd, sample, *params, is_log=False):
        return bwd(rt, ograd, sample, *params, is_log=is_log)

    f.__signature__ = inspect.Signature(sig_in + [is_log])
    b.__signature__ = inspect.Signature(sig_in[:1] + [P("ograd", P.POSITIONAL_OR_KEYWORD)]
                                        + sig_in[1:] + [is_log])
    f.__doc__ = (f"Density (``is_log``: log-density) of ``sample`` under the {dist} "
                 f"distribution of parameters {', '.join(pnames)} (MXNet's "
                 f"``random_pdf_{dist}``); ``sample``'s shape starts with theirs.")
    b.__doc__ = f"Gradients of ``random_pdf_{dist}`` for the sample and each parameter."
    op = register(name, aliases=(f"random_pdf_{dist}",), shape=_pdf_shape)(f)
    register(f"_backward{name}", shape=_bw_shape, num_outputs=1 + len(pnames),
             output_names=("sample_grad",) + tuple(f"{p}_grad" for p in pnames))(b)

    @op.gradient
    def _(F, a, ins, outs, ogs, need):
        res = getattr(F, f"_backward{name}")(ogs[0], *ins, is_log=a["is_log"])
        return tuple(res)


for _d, (_p, _fn) in _DISTS.items():
    _make(_d, _p, _fn)


# --- Dirichlet density -----------------------------------------------------------------------
def _dir_check(sample, alpha):
    if alpha.ndim < 1 or sample.ndim < alpha.ndim + 1 \
            or tuple(sample.shape[:alpha.ndim - 1]) != tuple(alpha.shape[:-1]) \
            or sample.shape[-1] != alpha.shape[-1]:
        raise MXNetError(f"random_pdf_dirichlet: sample of shape {tuple(sample.shape)} must "
                         f"be alpha's shape {tuple(alpha.shape)} with the draws' axes before "
                         f"its last (the categories) axis")
    for n, v in (("sample", sample), ("alpha", alpha)):
        if v.dtype.kind != "f":
            raise MXNetError(f"random_pdf_dirichlet: {n} must be floating point, got "
                             f"{v.dtype.name}")


def _dir_alpha(alpha, sample):
    # alpha (batch..., k) -> (batch..., 1, ..., 1, k) against sample (batch..., draws..., k)
    return alpha.reshape(alpha.shape[:-1] + (1,) * (sample.ndim - alpha.ndim)
                         + alpha.shape[-1:])


def _dir_logp(rt, sample, a):
    xp, sp = rt.xp, rt.special
    return (sp.gammaln(a.sum(-1)) - sp.gammaln(a).sum(-1)
            + ((a - 1) * xp.log(sample)).sum(-1))


def _dir_shape(a, in_shapes):
    s = in_shapes[0]
    return in_shapes, [None if s is None else tuple(s[:-1])]


@register("_random_pdf_dirichlet", aliases=("random_pdf_dirichlet",), shape=_dir_shape)
def random_pdf_dirichlet(rt, sample, alpha, *, is_log: Bool = False):
    """Density (``is_log``: log-density) of ``sample`` under the Dirichlet distribution of
    concentration ``alpha`` (MXNet's ``random_pdf_dirichlet``): ``alpha`` is (batch...,
    k), ``sample`` is (batch..., draws..., k); the result is ``sample``'s shape without
    its last axis."""
    _dir_check(sample, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = _dir_logp(rt, sample, _dir_alpha(alpha, sample))
    r = lp if is_log else rt.xp.exp(lp)
    return rt.xp.ascontiguousarray(r.astype(sample.dtype, copy=False))


def _dir_bw_shape(a, in_shapes):
    return in_shapes, list(in_shapes[1:])


@register("_backward_random_pdf_dirichlet", shape=_dir_bw_shape, num_outputs=2,
          output_names=("sample_grad", "alpha_grad"))
def random_pdf_dirichlet_backward(rt, ograd, sample, alpha, *, is_log: Bool = False):
    """Gradients of ``random_pdf_dirichlet`` for ``sample`` and ``alpha``."""
    xp, sp = rt.xp, rt.special
    a = _dir_alpha(alpha, sample)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = ograd if is_log else ograd * xp.exp(_dir_logp(rt, sample, a))
        g = g[..., None]
        gs = g * (a - 1) / sample
        ga = g * (sp.digamma(a.sum(-1, keepdims=True)) - sp.digamma(a) + xp.log(sample))
    axes = tuple(range(alpha.ndim - 1, sample.ndim - 1))
    ga = ga.sum(axis=axes).reshape(alpha.shape)
    return (xp.ascontiguousarray(gs.astype(sample.dtype, copy=False)),
            xp.ascontiguousarray(ga.astype(alpha.dtype, copy=False)))


@random_pdf_dirichlet.gradient
def _(F, a, ins, outs, ogs, need):
    return tuple(F._backward_random_pdf_dirichlet(ogs[0], *ins, is_log=a["is_log"]))
