"""The compiled BatchNorm kernels equal the reference operator (outputs, hidden outputs,
gradients and the moving-statistics update)."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, kernels, nd
from gluonlite.base import MXNetError
from gluonlite.kernels import batchnorm as kb
from gluonlite.ops import get_op

from ._util import compare, runtime

SHAPES = [((4, 3, 5, 6), 1), ((4, 3, 5, 6), -1), ((6, 5), 1), ((2, 3, 4), 0), ((3, 4, 2, 2, 2), 1)]


def _params(rs, c, dtype):
    return [rs.rand(c).astype(dtype) + 0.5, rs.randn(c).astype(dtype),
            rs.randn(c).astype(dtype) * 0.1, rs.rand(c).astype(dtype) + 0.5]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis", SHAPES)
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("fix_gamma", [True, False])
def test_forward_matches_reference(dtype, shape, axis, train, fix_gamma):
    rs = np.random.RandomState(0)
    x = (rs.randn(*shape) * 3 + 1).astype(dtype)
    c = shape[axis]
    attrs = dict(axis=axis, fix_gamma=fix_gamma, eps=1e-4)
    _, _, ka, ra = compare(kb.batch_norm, "BatchNorm", [x] + _params(rs, c, dtype), attrs,
                           dtype, train=train)
    np.testing.assert_array_equal(ka[1], ra[1])   # gamma (fix_gamma writes 1 into it)


@pytest.mark.parametrize("train", [True, False])
def test_chunks_of_one_channel_and_row(monkeypatch, train):
    """Every channel (sums) and every row (elementwise passes) its own chunk."""
    monkeypatch.setattr(kb, "CHUNK_BYTES", 1)
    rs = np.random.RandomState(5)
    x = rs.randn(5, 4, 3, 3)
    gamma, beta, mm, mv = _params(rs, 4, np.float64)
    attrs = dict(fix_gamma=False)
    compare(kb.batch_norm, "BatchNorm", [x, gamma, beta, mm, mv], attrs, np.float64,
            train=train)
    op = get_op("BatchNorm")
    _, mean, inv = op.ref_fwd(runtime(True), x, gamma, beta, mm, mv, **op.parse_attrs(attrs))
    z = np.zeros(4)
    compare(kb.backward_batch_norm, "_backward_BatchNorm",
            [rs.randn(*x.shape), x, gamma, mean, inv, z, z, mm, mv], attrs, np.float64,
            train=train)


def test_use_global_stats_in_training():
    rs = np.random.RandomState(1)
    x = rs.randn(4, 3, 5, 5).astype(np.float32)
    compare(kb.batch_norm, "BatchNorm", [x] + _params(rs, 3, np.float32),
            dict(use_global_stats=True, fix_gamma=False), np.float32, train=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis", SHAPES)
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("fix_gamma", [True, False])
def test_backward_matches_reference(dtype, shape, axis, train, fix_gamma):
    rs = np.random.RandomState(2)
    x = (rs.randn(*shape) * 2 - 1).astype(dtype)
    c = shape[axis]
    gamma, beta, mm, mv = _params(rs, c, dtype)
    attrs = dict(axis=axis, fix_gamma=fix_gamma, momentum=0.8)
    op = get_op("BatchNorm")
    _, mean, inv = op.ref_fwd(runtime(True), x, gamma.copy(), beta, mm, mv,
                              **op.parse_attrs(attrs))
    og = rs.randn(*shape).astype(dtype)
    mg, ig = rs.randn(c).astype(dtype), rs.randn(c).astype(dtype)
    _, _, ka, ra = compare(kb.backward_batch_norm, "_backward_BatchNorm",
                           [og, x, gamma, mean, inv, mg, ig, mm, mv], attrs, dtype,
                           train=train)
    # the moving statistics are updated (in training) exactly as the reference does
    np.testing.assert_allclose(ka[7], ra[7], rtol=1e-6)
    np.testing.assert_allclose(ka[8], ra[8], rtol=1e-6)
    assert train == (not np.array_equal(ka[7], mm))


def test_large_mean_is_accurate():
    """float32 data far from zero: the float64 sums give the exact batch statistics."""
    rs = np.random.RandomState(3)
    x = (rs.randn(64, 4, 16, 16) + 1000).astype(np.float32)
    compare(kb.batch_norm, "BatchNorm", [x] + _params(rs, 4, np.float32),
            dict(fix_gamma=False), np.float32, tol=dict(rtol=1e-3, atol=2e-3))


def test_declines_float16_and_falls_back():
    op = get_op("BatchNorm")
    a = op.parse_attrs({})
    x = np.ones((2, 3, 4), np.float16)
    p = [np.ones(3, np.float32) for _ in range(4)]
    rt = runtime()
    assert kb.batch_norm(rt, x, *p, **a) is NotImplemented
    np.testing.assert_array_equal(op.fwd(rt, x, *p, **a)[0], op.ref_fwd(rt, x, *p, **a)[0])


def test_errors_are_the_reference_errors():
    with pytest.raises(MXNetError, match="moving_var has shape"):
        nd.BatchNorm(nd.ones((2, 3, 4)), nd.ones(3), nd.ones(3), nd.ones(3), nd.ones(4))
    with pytest.raises(MXNetError, match="axis 3 is out of range"):
        nd.BatchNorm(nd.ones((2, 3, 4)), nd.ones(3), nd.ones(3), nd.ones(3), nd.ones(3),
                     axis=3)


def _train_step(hybrid):
    mx.random.seed(0)
    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.Conv2D(4, 3, padding=1), mx.gluon.nn.BatchNorm(),
            mx.gluon.nn.Activation("relu"), mx.gluon.nn.GlobalAvgPool2D())
    net.initialize(mx.init.Xavier())
    if hybrid:
        net.hybridize()
    x = nd.array(np.random.RandomState(4).randn(3, 2, 6, 6))
    x.attach_grad()
    with autograd.record():
        loss = (net(x) ** 2).sum()
    loss.backward()
    params = net.collect_params()
    return ([x.grad.asnumpy()] + [p.grad().asnumpy() for p in params.values()
                                  if p.grad_req != "null"]
            + [p.data().asnumpy() for p in params.values() if "running" in p.name])


@pytest.mark.parametrize("hybrid", [False, True])
def test_training_step_equals_the_reference_path(hybrid):
    fast = _train_step(hybrid)
    kernels.set_enabled(False)
    ref = _train_step(hybrid)
    kernels.set_enabled(True)
    assert len(fast) == len(ref) > 4
    for f, r in zip(fast, ref):
        np.testing.assert_allclose(f, r, rtol=1e-4, atol=1e-5)
