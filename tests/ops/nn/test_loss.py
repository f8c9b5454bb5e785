"""smooth_l1 against MXNet 1.9.1's numbers and its definition."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError

from ..opcheck import check_op
from .test_matrix import mx_cases, replay

rng = np.random.RandomState(0)


def np_smooth_l1(x, s):
    b = s * s
    return np.where(np.abs(x) < 1 / b, 0.5 * b * x * x, np.abs(x) - 0.5 / b)


@pytest.mark.parametrize("name", mx_cases("smooth_l1"))
def test_smooth_l1_matches_mxnet(name):
    replay(name)


@pytest.mark.parametrize("sigma", [1.0, 2.0, 0.5, -1.5])
def test_smooth_l1_definition_and_gradient(sigma):
    # finite differences away from the switch points |x| = 1/sigma^2
    b = 1 / sigma ** 2
    x = rng.uniform(-3 * b, 3 * b, 12)
    x = x[np.abs(np.abs(x) - b) > 1e-3]
    check_op("smooth_l1", [x], {"scalar": sigma}, expected=lambda v: np_smooth_l1(v, sigma))


def test_smooth_l1_defaults_to_sigma_one_and_checks():
    x = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(nd.smooth_l1(nd.array(x)).asnumpy(), np_smooth_l1(x, 1.0))
    with pytest.raises(MXNetError, match="non-zero"):
        nd.smooth_l1(nd.array(x), scalar=0.0)
    with pytest.raises(MXNetError, match="floating point"):
        nd.smooth_l1(nd.array([1, 2], dtype="int32"))


def test_smooth_l1_gradient_clips():
    x = nd.array([-4.0, -0.1, 0.0, 0.2, 4.0])
    x.attach_grad()
    with autograd.record():
        y = nd.smooth_l1(x, scalar=2.0)
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), [-1.0, -0.4, 0.0, 0.8, 1.0], rtol=1e-6)


@pytest.mark.gpu
def test_smooth_l1_on_gpu():
    x = rng.randn(10)
    gpu = nd.smooth_l1(nd.array(x, ctx=mx.gpu(0)), scalar=1.5).asnumpy()
    np.testing.assert_allclose(gpu, np_smooth_l1(x, 1.5), rtol=1e-5, atol=1e-6)
