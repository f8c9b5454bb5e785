"""``mx.sym.random``: MXNet's symbolic samplers (numbers -> ``_random_*`` nodes, Symbols ->
``_sample_*`` nodes), their shapes, their draws (the same generators as ``nd.random``) and
clear errors."""
import json

import numpy as np
import pytest

import gluonlite as mx
from gluonlite.base import MXNetError


def _op(s):
    return json.loads(s.tojson())["nodes"][-1]["op"]


def _run(s, **args):
    exe = s.bind(mx.cpu(), {k: mx.nd.array(v) for k, v in args.items()})
    return [o.asnumpy() for o in exe.forward()]


def test_numbers_make_random_nodes_with_nd_random_draws():
    s = mx.sym.random.uniform(-1, 2, shape=(3, 4), dtype="float64")
    assert _op(s) == "_random_uniform" and s.infer_shape()[1] == [(3, 4)]
    mx.random.seed(5)
    got = _run(s)[0]
    mx.random.seed(5)
    want = mx.nd.random.uniform(-1, 2, shape=(3, 4), dtype="float64").asnumpy()
    assert got.dtype == np.float64 and np.array_equal(got, want)
    assert got.min() >= -1 and got.max() < 2
    for fn, name in ((mx.sym.random.normal, "_random_normal"),
                     (mx.sym.random.gamma, "_random_gamma"),
                     (mx.sym.random.poisson, "_random_poisson"),
                     (mx.sym.random.exponential, "_random_exponential"),
                     (mx.sym.random.negative_binomial, "_random_negative_binomial"),
                     (mx.sym.random.generalized_negative_binomial,
                      "_random_generalized_negative_binomial")):
        s = fn(shape=(2, 5))
        assert _op(s) == name and _run(s)[0].shape == (2, 5)
    s = mx.sym.random.randint(0, 7, shape=(50,))
    v = _run(s)[0]
    assert _op(s) == "_random_randint" and v.dtype == np.int32 and 0 <= v.min() <= v.max() < 7
    assert mx.sym.random.randn(2, 3, loc=1.0).infer_shape()[1] == [(2, 3)]


def test_symbols_make_sample_nodes():
    lo, hi = mx.sym.var("lo"), mx.sym.var("hi")
    s = mx.sym.random.uniform(lo, hi, shape=(4,))
    assert _op(s) == "_sample_uniform" and s.infer_shape(lo=(2,), hi=(2,))[1] == [(2, 4)]
    v = _run(s, lo=np.array([0.0, 10.0]), hi=np.array([1.0, 11.0]))[0]
    assert (v[0] < 1).all() and (v[1] >= 10).all()
    lam = mx.sym.var("lam")
    s = mx.sym.random.exponential(lam, shape=3)  # scale -> rate 1/scale
    assert _op(s) == "_sample_exponential"
    assert _run(s, lam=np.array([1.0, 2.0]))[0].shape == (2, 3)
    p = mx.sym.var("p")
    draws, logp = mx.sym.random.multinomial(p, shape=2, get_prob=True)
    exe = mx.sym.Group([draws, logp]).bind(mx.cpu(), {"p": mx.nd.array([[0.0, 1.0]])})
    d, lp = exe.forward()
    assert d.asnumpy().tolist() == [[1, 1]] and np.allclose(lp.asnumpy(), 0)
    x = mx.sym.var("x")
    v = _run(mx.sym.random.shuffle(x), x=np.arange(6.0))[0]
    assert sorted(v.tolist()) == list(range(6))


def test_errors():
    a = mx.sym.var("a")
    with pytest.raises(MXNetError, match="all be Symbols or all numbers"):
        mx.sym.random.normal(a, 1.0)
    with pytest.raises(MXNetError, match="must be numbers"):
        mx.sym.random.randint(a, a)
    with pytest.raises(MXNetError, match="positive"):
        mx.sym.random.exponential(0.0)
    with pytest.raises(MXNetError, match="Symbols or numbers"):
        mx.sym.random.uniform("0", 1)
    with pytest.raises(TypeError, match="Symbol"):
        mx.sym.random.multinomial(mx.nd.ones(2))
