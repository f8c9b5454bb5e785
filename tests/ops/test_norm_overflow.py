"""``norm`` must not overflow (or underflow) in the input dtype (issue 16, defect 9).

MXNet's ``nrm2`` reducer scales: float16 [300, 400] gives 500 (gradient [0.6, 0.8]) and
float32 [1e20, 1e20] gives 1.414e20, while the output dtype stays the input's. Checked
imperatively and hybridized (the compiled program runs the same reference forward and the
same gradient rule), forward and gradient, for every axis/keepdims combination.
"""
import itertools
import warnings

import numpy as np
import pytest

from gluonlite import autograd, nd
from gluonlite.gluon import nn


def _run(x, hybridize, **attrs):
    """norm(x, **attrs) and the gradient of its sum with respect to x."""
    net = nn.HybridLambda(lambda F, v: F.norm(v, **attrs))
    if hybridize:
        net.hybridize()
    x = nd.array(x, dtype=x.dtype)
    x.attach_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 in the gradient at x = 0
        with autograd.record():
            y = net(x)
        y.backward()
    return y, x.grad.asnumpy()


def _ref(x, ord, axis, keepdims):
    """The exact norm in float64 (values pre-scaled so the reference itself cannot
    overflow) and its gradient."""
    x = x.astype(np.float64)
    s = np.abs(x).max() or 1.0
    ax = tuple(range(x.ndim)) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    if ord == 1:
        r = np.abs(x).sum(axis=ax, keepdims=True)
        g = np.sign(x) * np.ones_like(x)
    else:
        r = np.sqrt(((x / s) ** 2).sum(axis=ax, keepdims=True)) * s
        g = (x / s) / (r / s)
    out = r if keepdims else r.reshape([d for i, d in enumerate(r.shape) if i not in ax])
    return (out.reshape(1) if out.ndim == 0 else out), g


HYB = [False, True]


@pytest.mark.parametrize("hybridize", HYB)
def test_float16_300_400_gives_500(hybridize):
    y, g = _run(np.array([300, 400], np.float16), hybridize)
    assert y.dtype == np.float16
    assert y.asnumpy().tolist() == [500.0]
    np.testing.assert_allclose(g, [0.6, 0.8], rtol=1e-3)


@pytest.mark.parametrize("hybridize", HYB)
def test_float32_1e20_does_not_overflow(hybridize):
    y, g = _run(np.array([1e20, 1e20], np.float32), hybridize)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.asnumpy(), [np.sqrt(2) * 1e20], rtol=1e-6)
    np.testing.assert_allclose(g, [2 ** -0.5] * 2, rtol=1e-6)


@pytest.mark.parametrize("hybridize", HYB)
@pytest.mark.parametrize("value", [1e200, 1e-200])
def test_float64_neither_overflows_nor_underflows(hybridize, value):
    y, g = _run(np.array([value, value], np.float64), hybridize)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.asnumpy(), [np.sqrt(2) * value], rtol=1e-12)
    np.testing.assert_allclose(g, [2 ** -0.5] * 2, rtol=1e-12)


# values whose squares overflow each dtype (float16 max 65504, float32 max 3.4e38)
_SCALE = {np.float16: 300.0, np.float32: 1e25, np.float64: 1e160}
_AXES = [None, 0, 1, 2, (0, 2), (1, 2), (0, 1, 2)]


@pytest.mark.parametrize("dtype", list(_SCALE))
@pytest.mark.parametrize("ord", [1, 2])
def test_every_axis_and_keepdims_imperative_and_hybridized(dtype, ord):
    rng = np.random.RandomState(0)
    x = (rng.uniform(-1, 1, (2, 3, 4)) * _SCALE[dtype]).astype(dtype)
    rtol = 2e-3 if dtype == np.float16 else 1e-6
    for axis, keepdims, hybridize in itertools.product(_AXES, [False, True], HYB):
        y, g = _run(x, hybridize, ord=ord, axis=axis, keepdims=keepdims)
        want, want_g = _ref(x, ord, axis, keepdims)
        where = f"{np.dtype(dtype).name} ord={ord} axis={axis} keepdims={keepdims} " \
                f"hybridize={hybridize}"
        assert y.dtype == dtype, where
        assert y.shape == want.shape, where
        assert np.isfinite(y.asnumpy()).all(), where
        np.testing.assert_allclose(y.asnumpy().astype(np.float64), want, rtol=rtol,
                                   err_msg=where)
        np.testing.assert_allclose(g.astype(np.float64), want_g, rtol=rtol, atol=1e-3 * rtol,
                                   err_msg=where)


@pytest.mark.parametrize("hybridize", HYB)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_zeros_keep_mxnet_gradient(hybridize, dtype):
    # MXNet's L2 backward is ograd * data / out: 0/0 = nan at 0; L1's is sign(x) = 0
    y, g = _run(np.zeros(3, dtype), hybridize)
    assert y.asnumpy().tolist() == [0.0]
    assert np.isnan(g).all()
    y, g = _run(np.zeros(3, dtype), hybridize, ord=1)
    assert y.asnumpy().tolist() == [0.0]
    assert g.tolist() == [0.0] * 3
    # a zero slice next to a non-zero one: only the zero slice's gradient is nan
    x = np.array([[0, 0], [3, 4]], dtype)
    y, g = _run(x, hybridize, axis=1)
    assert y.asnumpy().tolist() == [0.0, 5.0]
    assert np.isnan(g[0]).all()
    np.testing.assert_allclose(g[1], [0.6, 0.8], rtol=1e-3)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_inf_and_nan_propagate(dtype):
    for ord in (1, 2):
        got = nd.norm(nd.array([[np.inf, 1], [np.nan, 1], [-np.inf, np.nan]], dtype=dtype),
                      ord=ord, axis=1).asnumpy()
        assert got[0] == np.inf and np.isnan(got[1]) and np.isnan(got[2]), (ord, got)


def test_out_dtype_and_integers():
    assert nd.norm(nd.array([3, 4], dtype="float16"), out_dtype="float64").dtype == np.float64
    # integer squares are not wrapped around: 50000**2 > 2**31
    got = nd.norm(nd.array([30000, 40000], dtype="int32"))
    assert got.dtype == np.int32 and got.asnumpy().tolist() == [50000]
    got = nd.norm(nd.array([-128, -128], dtype="int8"), ord=1, out_dtype="int32")
    assert got.asnumpy().tolist() == [256]
    # empty input: the norm of nothing is 0
    assert nd.norm(nd.zeros((0, 3)), axis=1).shape == (0,)
    assert nd.norm(nd.zeros((2, 0)), axis=1).asnumpy().tolist() == [0.0, 0.0]
