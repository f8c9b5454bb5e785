"""``nd.random.<dist>_like`` / ``sym.random.<dist>_like``: shape and dtype from ``data``,
seeding, moments, parameter checks."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError

from .opcheck import check_op

CASES = [("uniform", {"low": -1.0, "high": 3.0}, 1.0, 16 / 12),
         ("normal", {"loc": 2.0, "scale": 0.5}, 2.0, 0.25),
         ("gamma", {"alpha": 3.0, "beta": 0.5}, 1.5, 0.75),
         ("exponential", {"lam": 4.0}, 0.25, 1 / 16),
         ("poisson", {"lam": 3.0}, 3.0, 3.0),
         ("negative_binomial", {"k": 3, "p": 0.4}, 3 * 0.6 / 0.4, 3 * 0.6 / 0.16),
         ("generalized_negative_binomial", {"mu": 2.0, "alpha": 0.3}, 2.0, 2.0 + 0.3 * 4)]


@pytest.mark.parametrize("dist, params, mean, var", CASES)
def test_like_samplers(dist, params, mean, var):
    data = np.zeros((2, 3), np.float64)
    check_op(f"_random_{dist}_like", [data], params, seed=5)
    fn = getattr(nd.random, f"{dist}_like")
    for dt in ("float16", "float32", "float64"):
        assert fn(nd.zeros((2, 3), dtype=dt), **params).dtype == np.dtype(dt)
    mx.random.seed(11)
    a = fn(nd.zeros((200, 250)), **params).asnumpy()
    mx.random.seed(11)
    assert np.array_equal(a, fn(nd.zeros((200, 250)), **params).asnumpy())
    assert abs(a.mean() - mean) < 0.05 * max(1.0, abs(mean))
    assert abs(a.var() - var) < 0.08 * max(1.0, var)
    s = getattr(mx.sym.random, f"{dist}_like")(mx.sym.var("d"), **params)
    assert s.infer_shape(d=(4, 5))[1] == [(4, 5)]


def test_like_errors():
    with pytest.raises(MXNetError, match="floating-point"):
        nd.random.normal_like(nd.zeros((2,), dtype="int32"))
    with pytest.raises(MXNetError, match="scale"):
        nd.random.normal_like(nd.zeros((2,)), scale=-1)
    with pytest.raises(MXNetError, match="p .* must be in"):
        nd.random.negative_binomial_like(nd.zeros((2,)), k=2, p=1.5)
