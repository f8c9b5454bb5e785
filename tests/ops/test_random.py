"""Random sampling operators and ``mx.nd.random``: shapes, dtypes, ``out=``, seeding and
device streams, parameter checks, and distribution moments within loose statistical bounds
(large samples, fixed seeds, so the tests are deterministic)."""
import math

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ops import get_op

from .opcheck import check_op

N = 40000  # samples per moment test


def _moments_ok(x, mean, var, name, k=6.0):
    """Sample mean within k standard errors, sample variance within k standard errors of
    the variance estimate (computed from the sample's fourth moment)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    n = x.size
    m = x.mean()
    assert abs(m - mean) <= k * math.sqrt(var / n) + 1e-12, f"{name}: mean {m} vs {mean}"
    v = x.var()
    m4 = ((x - m) ** 4).mean()
    se_v = math.sqrt(max(m4 - v * v, 1e-12) / n)
    assert abs(v - var) <= k * se_v + 1e-12, f"{name}: variance {v} vs {var}"


# --- every operator through check_op (shape/dtype rules, float32 == float64) -------------------
SOURCE = [
    ("_random_uniform", {"low": -1.0, "high": 2.0}),
    ("_random_normal", {"loc": 1.0, "scale": 2.0}),
    ("_random_randint", {"low": -3, "high": 7}),
    ("_random_exponential", {"lam": 2.0}),
    ("_random_gamma", {"alpha": 2.5, "beta": 0.5}),
    ("_random_poisson", {"lam": 3.0}),
    ("_random_negative_binomial", {"k": 3, "p": 0.4}),
    ("_random_generalized_negative_binomial", {"mu": 2.0, "alpha": 0.3}),
]


@pytest.mark.parametrize("name,attrs", SOURCE, ids=[s[0] for s in SOURCE])
def test_source_ops(name, attrs):
    out = check_op(name, [], dict(attrs, shape=(3, 4)), seed=11)[0]
    assert out.shape == (3, 4)
    assert out.dtype == (np.int32 if name == "_random_randint" else np.float32)
    again = check_op(name, [], dict(attrs, shape=(3, 4)), seed=11)[0]
    np.testing.assert_array_equal(out, again)  # same seed, same samples
    other = check_op(name, [], dict(attrs, shape=(3, 4)), seed=12)[0]
    assert not np.array_equal(out, other)
    dt = "int64" if name == "_random_randint" else "float64"
    r = getattr(nd._internal, name)(shape=(2,), dtype=dt, **attrs)
    assert r.dtype == np.dtype(dt) and r.shape == (2,)


SAMPLE = [
    ("_sample_uniform", [np.array([0.0, 10.0]), np.array([1.0, 10.5])]),
    ("_sample_normal", [np.array([0.0, 5.0]), np.array([1.0, 0.25])]),
    ("_sample_gamma", [np.array([1.5, 4.0]), np.array([2.0, 0.5])]),
    ("_sample_exponential", [np.array([1.0, 4.0])]),
    ("_sample_poisson", [np.array([0.5, 20.0])]),
    ("_sample_negative_binomial", [np.array([2.0, 5.0]), np.array([0.5, 0.25])]),
    ("_sample_generalized_negative_binomial", [np.array([3.0, 1.5]), np.array([0.0, 0.5])]),
]


@pytest.mark.parametrize("name,params", SAMPLE, ids=[s[0] for s in SAMPLE])
def test_sample_ops(name, params):
    out = check_op(name, params, {"shape": (3, 2)}, seed=5)[0]
    assert out.shape == (2, 3, 2) and out.dtype == np.float32
    assert check_op(name, params, {}, seed=5)[0].shape == (2,)
    r = getattr(nd, name[1:])(*[nd.array(p, dtype="float64") for p in params], shape=(4,),
                              dtype="float64")
    assert r.dtype == np.float64 and r.shape == (2, 4)


def test_multinomial_and_shuffle_ops():
    # probabilities away from 0: the gradient check perturbs them
    p = np.array([[0.25, 0.5, 0.25], [0.75, 0.2, 0.05]])
    draws = check_op("_sample_multinomial", [p], {"shape": (4,)}, seed=3)[0]
    assert draws.shape == (2, 4) and draws.dtype == np.int32
    assert draws.min() >= 0 and draws.max() <= 2
    # get_prob: log-probabilities of the draws, differentiable with respect to p
    res = check_op("_sample_multinomial", [p], {"shape": (5,), "get_prob": True}, seed=3)
    np.testing.assert_allclose(res[1], np.log(np.take_along_axis(p, res[0], axis=1)))
    x = np.arange(12.0).reshape(4, 3)
    sh = check_op("_shuffle", [x], seed=4)[0]
    assert sorted(map(tuple, sh)) == sorted(map(tuple, x))


def test_multinomial_log_prob_gradient():
    p = nd.array([[0.2, 0.3, 0.5]])
    p.attach_grad()
    with autograd.record():
        s, logp = nd.random.multinomial(p, shape=6, get_prob=True)
    head = nd.array([[1, 2, 3, 4, 5, 6]])
    logp.backward(head)
    expect = np.zeros(3)
    for d, h in zip(s.asnumpy()[0], head.asnumpy()[0]):
        expect[d] += h / p.asnumpy()[0, d]
    np.testing.assert_allclose(p.grad.asnumpy()[0], expect, rtol=1e-6)
    # without get_prob nothing flows back
    p.attach_grad()
    with autograd.record():
        s = nd.random.multinomial(p, shape=3)
        y = p * 2
    y.backward()
    assert p.grad.asnumpy().tolist() == [[2, 2, 2]]


def test_random_ops_are_constants_for_autograd():
    lo = nd.array([0.0, 1.0])
    lo.attach_grad()
    with autograd.record():
        s = nd.sample_uniform(lo, lo + 1, shape=(3,))
        y = (s * lo.reshape((2, 1))).sum()
    y.backward()
    np.testing.assert_allclose(lo.grad.asnumpy(), s.asnumpy().sum(axis=1), rtol=1e-6)
    assert not get_op("_sample_uniform").differentiable
    assert not get_op("_random_normal").differentiable


# --- distributions ----------------------------------------------------------------------------
def test_uniform_moments_and_bounds():
    x = nd.random.uniform(-1, 3, shape=(N,)).asnumpy()
    assert x.min() >= -1 and x.max() < 3
    _moments_ok(x, 1.0, 16 / 12, "uniform")
    # the upper bound stays excluded after rounding to the output dtype
    for dt in ("float16", "float32"):
        u = nd.random.uniform(0, 1, shape=(200000,), dtype=dt).asnumpy()
        assert u.max() < 1.0 and u.min() >= 0.0


def test_normal_moments():
    _moments_ok(nd.random.normal(2.0, 3.0, shape=(N,)).asnumpy(), 2.0, 9.0, "normal")
    _moments_ok(nd.random.randn(200, 200, loc=-1, scale=0.5).asnumpy(), -1.0, 0.25, "randn")


def test_randint_distribution():
    x = nd.random.randint(-2, 3, shape=(N,)).asnumpy()
    assert x.dtype == np.int32 and x.min() == -2 and x.max() == 2
    counts = np.bincount(x + 2, minlength=5) / N
    assert np.all(np.abs(counts - 0.2) < 0.015)


def test_exponential_gamma_poisson_moments():
    _moments_ok(nd.random.exponential(scale=2.0, shape=(N,)).asnumpy(), 2.0, 4.0, "exp")
    _moments_ok(nd._internal._random_exponential(lam=4.0, shape=(N,)).asnumpy(), 0.25,
                1 / 16, "exp lam")
    _moments_ok(nd.random.gamma(3.0, 0.5, shape=(N,)).asnumpy(), 1.5, 0.75, "gamma")
    _moments_ok(nd.random.gamma(0.3, 2.0, shape=(N,)).asnumpy(), 0.6, 1.2, "gamma<1")
    p = nd.random.poisson(4.5, shape=(N,)).asnumpy()
    assert p.dtype == np.float32 and np.all(p == np.round(p))
    _moments_ok(p, 4.5, 4.5, "poisson")
    assert not nd.random.poisson(0.0, shape=(5,)).asnumpy().any()


def test_negative_binomial_moments():
    k, p = 3, 0.4
    _moments_ok(nd.random.negative_binomial(k, p, shape=(N,)).asnumpy(), k * (1 - p) / p,
                k * (1 - p) / p ** 2, "nb")
    assert not nd.random.negative_binomial(shape=(4,)).asnumpy().any()  # k=1, p=1
    mu, a = 2.0, 0.5
    _moments_ok(nd.random.generalized_negative_binomial(mu, a, shape=(N,)).asnumpy(), mu,
                mu + a * mu * mu, "gnb")
    _moments_ok(nd.random.generalized_negative_binomial(mu, 0.0, shape=(N,)).asnumpy(), mu,
                mu, "gnb alpha=0")


def test_sample_ops_per_element_moments():
    n = 20000
    lo, hi = nd.array([0.0, 5.0]), nd.array([1.0, 9.0])
    s = nd.random.uniform(lo, hi, shape=(n,)).asnumpy()
    _moments_ok(s[0], 0.5, 1 / 12, "sample_uniform 0")
    _moments_ok(s[1], 7.0, 16 / 12, "sample_uniform 1")
    s = nd.random.normal(nd.array([[0.0], [10.0]]), nd.array([[1.0], [0.1]]),
                         shape=(n,)).asnumpy()
    assert s.shape == (2, 1, n)
    _moments_ok(s[1, 0], 10.0, 0.01, "sample_normal")
    s = nd.random.gamma(nd.array([2.0, 0.5]), nd.array([1.0, 3.0]), shape=(n,)).asnumpy()
    _moments_ok(s[0], 2.0, 2.0, "sample_gamma 0")
    _moments_ok(s[1], 1.5, 4.5, "sample_gamma 1")
    s = nd.random.exponential(nd.array([0.5, 2.0]), shape=(n,)).asnumpy()  # scales
    _moments_ok(s[1], 2.0, 4.0, "sample_exponential")
    s = nd.random.poisson(nd.array([1.0, 30.0]), shape=(n,)).asnumpy()
    _moments_ok(s[1], 30.0, 30.0, "sample_poisson")
    s = nd.random.negative_binomial(nd.array([2.0, 4.0]), nd.array([0.5, 0.8]),
                                    shape=(n,)).asnumpy()
    _moments_ok(s[1], 4 * 0.2 / 0.8, 4 * 0.2 / 0.64, "sample_nb")
    s = nd.random.generalized_negative_binomial(nd.array([3.0, 1.0]), nd.array([0.0, 1.0]),
                                                shape=(n,)).asnumpy()
    _moments_ok(s[0], 3.0, 3.0, "sample_gnb alpha=0")
    _moments_ok(s[1], 1.0, 2.0, "sample_gnb")


def test_multinomial_frequencies():
    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.0, 0.5]])
    s = nd.random.multinomial(nd.array(probs), shape=N).asnumpy()
    assert s.shape == (2, N)
    for row in range(2):
        freq = np.bincount(s[row], minlength=3) / N
        assert np.all(np.abs(freq - probs[row]) < 0.012), freq
    assert nd.random.multinomial(nd.array([0.5, 0.5])).shape == (1,)
    assert nd.random.multinomial(nd.array([0.5, 0.5]), shape=(2, 3)).shape == (2, 3)
    assert nd.random.multinomial(nd.array([[0.5, 0.5]]), dtype="float16").dtype == np.float16


def test_shuffle_is_a_uniform_permutation():
    x = nd.arange(4)
    firsts = [int(nd.random.shuffle(x).asnumpy()[0]) for _ in range(4000)]
    freq = np.bincount(firsts, minlength=4) / 4000
    assert np.all(np.abs(freq - 0.25) < 0.04)
    m = nd.arange(12).reshape((4, 3))
    s = nd.shuffle(m).asnumpy()
    assert sorted(s[:, 0].tolist()) == [0, 3, 6, 9] and (s[:, 1] == s[:, 0] + 1).all()


# --- seeding and devices -----------------------------------------------------------------------
def test_seed_reproducibility_and_streams():
    mx.random.seed(42)
    a = nd.random.uniform(shape=(5,)).asnumpy()
    b = nd.random.uniform(shape=(5,)).asnumpy()
    assert not np.array_equal(a, b)  # the stream advances
    mx.random.seed(42)
    np.testing.assert_array_equal(nd.random.uniform(shape=(5,)).asnumpy(), a)
    mx.random.seed(43)
    assert not np.array_equal(nd.random.uniform(shape=(5,)).asnumpy(), a)
    assert not np.array_equal(mx.random.uniform(shape=(5,)).asnumpy(), a)  # mx.random alias


def test_devices_draw_different_streams():
    mx.random.seed(7)
    c0 = nd.random.normal(shape=(6,), ctx=mx.cpu(0)).asnumpy()
    c1 = nd.random.normal(shape=(6,), ctx=mx.cpu(1))
    assert c1.context == mx.cpu(1)
    assert not np.array_equal(c0, c1.asnumpy())
    # reseeding one device leaves the other's stream alone
    mx.random.seed(7)
    nd.random.normal(shape=(6,), ctx=mx.cpu(0))
    mx.random.seed(7, ctx=mx.cpu(1))
    np.testing.assert_array_equal(nd.random.normal(shape=(6,), ctx=mx.cpu(1)).asnumpy(),
                                  c1.asnumpy())
    with mx.cpu(1):
        d = nd.random.uniform(shape=(2,))
    assert d.context == mx.cpu(1)


# --- the nd.random API -------------------------------------------------------------------------
def test_api_defaults_shapes_and_dtypes():
    r = nd.random.uniform()
    assert r.shape == (1,) and r.dtype == np.float32
    assert nd.random.normal(0, 1, 3).shape == (3,)
    assert nd.random.uniform(0, 1, (2, 3), dtype=np.float64).dtype == np.float64
    assert nd.random.randint(0, 5).shape == (1,)
    assert nd.random.randint(0, 5, (3,), dtype="int64").dtype == np.int64
    assert nd.random.randn(2, 3).shape == (2, 3)
    assert nd.random.randn((2, 3)).shape == (2, 3)
    assert nd.random.exponential(shape=(2, 2)).shape == (2, 2)
    # NDArray parameters: draws per element, on the parameters' device
    lo = nd.array([0.0, 1.0], ctx=mx.cpu(1))
    r = nd.random.uniform(lo, lo + 1, shape=(3,))
    assert r.shape == (2, 3) and r.context == mx.cpu(1)
    assert nd.random.normal(nd.zeros((2, 2)), nd.ones((2, 2))).shape == (2, 2)


def test_api_out_fills_the_given_array():
    arr = nd.zeros((3, 4))
    r = nd.random.uniform(-0.5, 0.5, out=arr)
    assert r is arr and arr.asnumpy().any() and np.abs(arr.asnumpy()).max() <= 0.5
    a64 = nd.zeros((5,), dtype="float64")
    nd.random.normal(0, 1, out=a64)
    assert a64.dtype == np.float64 and a64.asnumpy().any()
    per = nd.zeros((2, 3))
    nd.random.uniform(nd.array([0.0, 10.0]), nd.array([1.0, 11.0]), out=per)
    assert (per.asnumpy()[1] >= 10).all()
    c1 = nd.zeros((2,), ctx=mx.cpu(1))
    nd.random.normal(out=c1)
    assert c1.asnumpy().any()
    nd.random.randn(out=c1)
    i = nd.zeros((4,), dtype="int32")
    nd.random.randint(0, 3, out=i)
    assert i.asnumpy().max() < 3
    with pytest.raises(MXNetError, match="out= has shape"):
        nd.random.uniform(0, 1, shape=(3,), out=nd.zeros((2, 2)))
    with pytest.raises(MXNetError, match="out= has dtype"):
        nd.random.uniform(0, 1, dtype="float32", out=nd.zeros((2,), dtype="float64"))
    with pytest.raises(MXNetError, match="does not start with the parameters' shape"):
        nd.random.uniform(nd.zeros((3,)), nd.ones((3,)), out=nd.zeros((2, 3)))


def test_api_errors():
    with pytest.raises(MXNetError, match="uniform: distribution parameters must all be"):
        nd.random.uniform(nd.zeros((2,)), 1)
    with pytest.raises(MXNetError, match="normal: distribution parameters must all be"):
        nd.random.normal(0, nd.ones((2,)))
    with pytest.raises(MXNetError, match="must be NDArrays or numbers, got str"):
        nd.random.uniform("a", 1)
    with pytest.raises(MXNetError, match="randint: the parameters must be numbers"):
        nd.random.randint(nd.zeros((1,)), nd.ones((1,)))
    with pytest.raises(MXNetError, match="randn: give the shape"):
        nd.random.randn()
    with pytest.raises(MXNetError, match="exponential: scale must be positive"):
        nd.random.exponential(0)
    with pytest.raises(MXNetError, match="_random_uniform: unknown argument 'bogus'"):
        nd.random.uniform(bogus=1)
    with pytest.raises(TypeError, match="multinomial: data must be an NDArray"):
        nd.random.multinomial([0.5, 0.5])


def test_parameter_checks():
    I = nd._internal
    cases = [
        (lambda: I._random_uniform(low=2, high=1, shape=(2,)), "low must be less than or"),
        (lambda: I._random_normal(scale=0, shape=(2,)), "scale .* must be positive"),
        (lambda: I._random_randint(3, 3, shape=(2,)), "low must be less than high"),
        (lambda: I._random_randint(0, 2 ** 40, shape=(2,)), "does not fit in int32"),
        (lambda: I._random_exponential(lam=0, shape=(2,)), "lam .* must be positive"),
        (lambda: I._random_gamma(alpha=-1, shape=(2,)), "alpha .* must be positive"),
        (lambda: I._random_gamma(beta=0, shape=(2,)), "beta .* must be positive"),
        (lambda: I._random_poisson(lam=-1, shape=(2,)), "lam must be non-negative"),
        (lambda: I._random_negative_binomial(k=2, p=0, shape=(2,)), r"p .* in \(0, 1\]"),
        (lambda: I._random_negative_binomial(k=-1, p=0.5, shape=(2,)), "k .* non-negative"),
        (lambda: I._random_generalized_negative_binomial(mu=-1, shape=(2,)), "mu .* non-neg"),
        (lambda: I._random_uniform(), "the output shape is required"),
        (lambda: I._random_uniform(shape=(2,), dtype="int32"), "dtype must be one of"),
        (lambda: I._random_randint(0, 2, shape=(2,), dtype="float32"), "dtype must be one of"),
        (lambda: I._sample_uniform(nd.ones((2,)), nd.zeros((2,))), "every low must be"),
        (lambda: I._sample_normal(nd.ones((2,)), -nd.ones((2,))), "every sigma"),
        (lambda: I._sample_gamma(nd.zeros((2,)), nd.ones((2,))), "every alpha"),
        (lambda: I._sample_exponential(nd.zeros((2,))), "every lam .* positive"),
        (lambda: I._sample_poisson(-nd.ones((2,))), "every lam .* non-negative"),
        (lambda: I._sample_uniform(nd.zeros((2,)), nd.ones((3,))), "the same shape"),
        (lambda: I._sample_uniform(nd.zeros((2,)), nd.ones((2,), dtype="float64")),
         "same dtype"),
        (lambda: I._sample_multinomial(nd.array([[0.5, 0.6]])), "must sum to 1"),
        (lambda: I._sample_multinomial(nd.array([[-0.5, 1.5]])), "must be non-negative"),
        (lambda: I._sample_multinomial(nd.array([[0, 1]], dtype="int32")), "floating point"),
        (lambda: I._sample_multinomial(nd.array([[1.0]]), dtype="int64"), "dtype must be one"),
        (lambda: I._sample_multinomial(nd.ones((300,)) / 300, dtype="uint8"),
         "cannot represent 300 categories"),
    ]
    for fn, msg in cases:
        with pytest.raises(MXNetError, match=msg):
            fn()


def test_operator_names_and_positional_attributes():
    assert nd.uniform is not None and nd.random_uniform(shape=(2,)).shape == (2,)
    assert nd.normal(shape=(2,)).shape == (2,)
    assert nd.sample_multinomial(nd.array([[1.0, 0.0]])).asnumpy().tolist() == [0]
    r = nd._internal._random_uniform(5, 6, (2, 3))  # low, high, shape positionally
    assert r.shape == (2, 3) and (r.asnumpy() >= 5).all()
    assert get_op("_random_uniform").dump_attrs(
        get_op("_random_uniform").parse_attrs({"shape": (2,)}))["shape"] == "(2,)"
