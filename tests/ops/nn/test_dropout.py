"""Dropout: identity in inference, scaled random masks in training, shared masks along
``axes``, ``mode='always'``, reproducibility from ``mx.random.seed``."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ops import get_op

from ..opcheck import check_op
from .test_matrix import check_mx_case, replay, run_layer

rng = np.random.RandomState(0)


def test_dropout_inference_matches_mxnet():
    replay("dropout_infer")
    check_mx_case("dropout_infer")
    replay("dropout_p0")


def test_gluon_dropout_inference():
    run_layer("dropout_infer", lambda x, p: nd.Dropout(x, p=0.5), [])


def test_dropout_inference_is_a_copy():
    x = nd.array(rng.randn(3, 4))
    y = nd.Dropout(x, p=0.5)
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())
    y[:] = 0
    assert x.asnumpy().any()


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_training_mask(p):
    x = nd.array(rng.uniform(1, 2, (200, 100)))
    with autograd.train_mode():
        y = nd.Dropout(x, p=p)
    r = y.asnumpy() / x.asnumpy()
    kept = r != 0
    np.testing.assert_allclose(r[kept], 1 / (1 - p), rtol=1e-5)
    assert abs(kept.mean() - (1 - p)) < 0.02


def test_dropout_gradient_is_the_mask():
    x = nd.array(rng.uniform(1, 2, (6, 5)))
    x.attach_grad()
    with autograd.record():
        y = nd.Dropout(x, p=0.4)
    h = rng.randn(6, 5)
    y.backward(nd.array(h))
    mask = y.asnumpy() / x.asnumpy()
    np.testing.assert_allclose(x.grad.asnumpy(), h * mask, rtol=1e-5)
    # and the finite-difference check, with the same mask every forward
    check_op("Dropout", [rng.randn(4, 3)], {"p": 0.3}, seed=7)
    check_op("Dropout", [rng.randn(4, 3, 2)], {"p": 0.5, "axes": (0, 2)}, seed=8)


def test_dropout_axes_share_the_mask():
    x = nd.ones((4, 30, 5))
    with autograd.train_mode():
        y = nd.Dropout(x, p=0.5, axes=(0, 2)).asnumpy()
    # constant along axes 0 and 2, random along axis 1
    assert (y == y[:1, :, :1]).all()
    assert 0 < (y[0, :, 0] == 0).sum() < 30
    with autograd.train_mode():
        y = nd.Dropout(x, p=0.5, axes=(-1,)).asnumpy()
    assert (y == y[..., :1]).all()


def test_dropout_mode_always_and_p_edges():
    x = nd.ones((50, 50))
    y = nd.Dropout(x, p=0.5, mode="always").asnumpy()  # outside training
    assert set(np.unique(y)) == {0.0, 2.0}
    with autograd.train_mode():
        assert (nd.Dropout(x, p=0.0).asnumpy() == 1).all()
        # MXNet returns NaN here (0 * inf); everything is dropped
        assert not nd.Dropout(x, p=1.0).asnumpy().any()


def test_dropout_reproducible_from_seed():
    x = nd.ones((10, 10))
    mx.random.seed(42)
    with autograd.train_mode():
        a = nd.Dropout(x).asnumpy()
        b = nd.Dropout(x).asnumpy()
    mx.random.seed(42)
    with autograd.train_mode():
        c = nd.Dropout(x).asnumpy()
    assert (a == c).all() and not (a == b).all()


def test_dropout_rules_and_errors():
    op = get_op("Dropout")
    a = op.parse_attrs({"p": 0.2, "axes": (1,), "cudnn_off": None})
    assert op.infer_shape(a, [(2, 3)]) == ([(2, 3)], [(2, 3), (2, 3)])
    assert op.num_visible_outputs(a) == 1 and op.list_outputs(a) == ("output",)
    x = nd.ones((2, 3))
    with pytest.raises(MXNetError, match=r"p must lie in \[0, 1\]"):
        nd.Dropout(x, p=1.5)
    with pytest.raises(MXNetError, match="floating point"):
        nd.Dropout(nd.ones((2, 3), dtype="int32"))
    with pytest.raises(MXNetError, match="out of range"):
        nd.Dropout(x, axes=(2,))
    with pytest.raises(MXNetError, match="mode"):
        nd.Dropout(x, mode="sometimes")


@pytest.mark.gpu
def test_dropout_on_gpu():
    x = nd.ones((100, 100), ctx=mx.gpu(0))
    x.attach_grad()
    with autograd.record():
        y = nd.Dropout(x, p=0.25, axes=(0,))
    y.backward()
    yv = y.asnumpy()
    assert (yv == yv[:1]).all()
    np.testing.assert_allclose(x.grad.asnumpy(), yv, rtol=1e-6)
    assert abs((yv[0] != 0).mean() - 0.75) < 0.2
