"""The compiled Pooling kernels equal the reference operator."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, kernels, nd
from gluonlite.base import MXNetError
from gluonlite.kernels import pooling as kp
from gluonlite.ops import get_op

from ._util import compare, runtime

GEOMS = [  # kernel, stride, pad, convention
    ((2, 2), (2, 2), (0, 0), "valid"),      # windows inside the input (fast path)
    ((3, 3), (1, 1), (0, 0), "valid"),      # overlapping, inside
    ((3, 3), (2, 2), (1, 1), "valid"),
    ((3, 2), (2, 3), (1, 0), "full"),       # windows running past the padded input
    ((2, 2), (2, 2), (0, 0), "full"),
    ((5, 5), (5, 5), (0, 0), "valid"),      # large disjoint windows (reference's view path)
]


def _forward(x, attrs):
    op = get_op("Pooling")
    return op.ref_fwd(runtime(), x, **op.parse_attrs(attrs))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool_type", ["max", "avg", "sum"])
@pytest.mark.parametrize("geom", GEOMS)
@pytest.mark.parametrize("include_pad", [None, False])
def test_forward_and_backward_match_reference(dtype, pool_type, geom, include_pad):
    kernel, stride, pad, conv = geom
    attrs = dict(kernel=kernel, stride=stride, pad=pad, pooling_convention=conv,
                 pool_type=pool_type, count_include_pad=include_pad)
    rs = np.random.RandomState(0)
    x = rs.randn(2, 3, 11, 10).astype(dtype)
    compare(kp.pooling, "Pooling", [x], attrs, dtype)
    y = _forward(x, attrs)
    og = rs.randn(*y.shape).astype(dtype)
    compare(kp.backward_pooling, "_backward_Pooling", [og, x, y], attrs, dtype)


@pytest.mark.parametrize("pool_type", ["max", "avg"])
def test_chunks_of_one_sample(monkeypatch, pool_type):
    """Every sample its own chunk (spread over the worker threads)."""
    monkeypatch.setattr(kp, "CHUNK_BYTES", 1)
    attrs = dict(kernel=(2, 2), stride=(2, 2), pool_type=pool_type)
    rs = np.random.RandomState(6)
    x = rs.randn(9, 3, 8, 8).astype(np.float32)
    compare(kp.pooling, "Pooling", [x], attrs, np.float32)
    y = _forward(x, attrs)
    compare(kp.backward_pooling, "_backward_Pooling", [rs.randn(*y.shape).astype(np.float32),
                                                       x, y], attrs, np.float32)


@pytest.mark.parametrize("pool_type", ["max", "avg", "sum"])
def test_global_pooling(pool_type):
    attrs = dict(global_pool=True, pool_type=pool_type, kernel=(3, 3))
    rs = np.random.RandomState(1)
    x = rs.randn(4, 5, 6, 7).astype(np.float32)
    compare(kp.pooling, "Pooling", [x], attrs, np.float32)
    y = _forward(x, attrs)
    compare(kp.backward_pooling, "_backward_Pooling", [rs.randn(*y.shape).astype(np.float32),
                                                       x, y], attrs, np.float32)


@pytest.mark.parametrize("geom", GEOMS)
def test_max_ties_go_to_the_first_maximum(geom):
    """Quantised data has many ties inside each window: the gradient must go to the first
    (row-major) one, exactly as the reference routes it."""
    kernel, stride, pad, conv = geom
    attrs = dict(kernel=kernel, stride=stride, pad=pad, pooling_convention=conv)
    rs = np.random.RandomState(2)
    x = rs.randint(0, 3, size=(2, 2, 9, 9)).astype(np.float64)
    y = _forward(x, attrs)
    og = rs.rand(*y.shape) + 0.5
    got, want, _, _ = compare(kp.backward_pooling, "_backward_Pooling", [og, x, y], attrs,
                              np.float64)
    # og > 0: the positions that receive gradient are exactly the routing
    np.testing.assert_array_equal(got[0] != 0, want[0] != 0)


@pytest.mark.parametrize("kernel", [(2, 2), (3, 3)])
def test_max_tiling_windows(kernel):
    """Windows that tile the input exactly (the unrolled 2x2 path and the general one),
    with ties."""
    attrs = dict(kernel=kernel, stride=kernel)
    rs = np.random.RandomState(5)
    x = rs.randint(0, 2, size=(3, 2, 6, 12)).astype(np.float32)
    compare(kp.pooling, "Pooling", [x], attrs, np.float32)
    y = _forward(x, attrs)
    got, want, _, _ = compare(kp.backward_pooling, "_backward_Pooling",
                              [rs.rand(*y.shape).astype(np.float32) + 0.5, x, y], attrs,
                              np.float32)
    np.testing.assert_array_equal(got[0], want[0])


def test_max_with_lowest_values_and_padding():
    """Windows whose maximum is the padding value (the dtype's lowest) pass no gradient,
    and -inf inside a padded window yields the lowest value, as in the reference."""
    attrs = dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1))
    x = np.full((1, 1, 5, 5), -np.inf, np.float32)
    x[0, 0, 2, 2] = np.finfo(np.float32).min
    compare(kp.pooling, "Pooling", [x], attrs, np.float32)
    y = _forward(x, attrs)
    got, want, _, _ = compare(kp.backward_pooling, "_backward_Pooling",
                              [np.ones_like(y), x, y], attrs, np.float32)
    np.testing.assert_array_equal(got[0], want[0])


def test_nan_propagates_in_max_pooling():
    x = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)
    x[0, 0, 1, 0] = np.nan
    for attrs in (dict(kernel=(2, 2), stride=(2, 2)), dict(kernel=(2, 2), pad=(1, 1))):
        got, want, _, _ = compare(kp.pooling, "Pooling", [x], attrs, np.float32)
        assert np.isnan(got[0]).any()


@pytest.mark.parametrize("x, attrs", [
    (np.ones((2, 3, 8), np.float32), dict(kernel=(2,))),
    (np.ones((1, 2, 4, 4, 4)), dict(kernel=(2, 2, 2))),
    (np.ones((2, 6, 6, 3), np.float32), dict(kernel=(2, 2), layout="NHWC")),
    (np.ones((2, 3, 6, 6), np.float16), dict(kernel=(2, 2))),
    (np.ones((2, 3, 6, 6), np.float32), dict(kernel=(2, 2), pool_type="lp", p_value=2)),
])
def test_declines_and_falls_back(x, attrs):
    op = get_op("Pooling")
    a = op.parse_attrs(attrs)
    rt = runtime()
    assert kp.pooling(rt, x, **a) is NotImplemented
    np.testing.assert_array_equal(op.fwd(rt, x, **a), op.ref_fwd(rt, x, **a))


def test_errors_are_the_reference_errors():
    with pytest.raises(MXNetError, match="pad must be smaller than kernel"):
        nd.Pooling(nd.ones((1, 1, 4, 4)), kernel=(2, 2), pad=(2, 2))
    op = get_op("_backward_Pooling")
    a = op.parse_attrs(dict(kernel=(2, 2), stride=(2, 2)))
    x = np.ones((1, 1, 4, 4))
    with pytest.raises(MXNetError, match="ograd has shape"):
        kp.backward_pooling(runtime(), np.ones((1, 1, 3, 3)), x, np.ones((1, 1, 2, 2)), **a)


def _grads(hybrid):
    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.MaxPool2D(3, 2, padding=1), mx.gluon.nn.AvgPool2D(2, ceil_mode=True),
            mx.gluon.nn.GlobalMaxPool2D())
    if hybrid:
        net.hybridize()
    x = nd.array(np.random.RandomState(4).randn(2, 3, 13, 12))
    x.attach_grad()
    with autograd.record():
        loss = (net(x) * nd.array(np.arange(3.0).reshape(1, 3, 1, 1))).sum()
    loss.backward()
    return x.grad.asnumpy()


@pytest.mark.parametrize("hybrid", [False, True])
def test_autograd_gradient_equals_the_reference_path(hybrid):
    fast = _grads(hybrid)
    kernels.set_enabled(False)
    ref = _grads(hybrid)
    kernels.set_enabled(True)
    np.testing.assert_allclose(fast, ref, rtol=1e-6, atol=1e-7)
