"""The compiled Convolution kernels equal the reference operator."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, kernels, nd
from gluonlite.base import MXNetError
from gluonlite.kernels import conv as kc
from gluonlite.ops import get_op

from ._util import compare, runtime

GEOMS = [  # kernel, stride, pad, dilate, groups
    ((1, 1), (1, 1), (0, 0), (1, 1), 1),
    ((1, 1), (2, 2), (0, 0), (1, 1), 1),
    ((3, 3), (1, 1), (1, 1), (1, 1), 1),
    ((3, 3), (2, 2), (1, 1), (1, 1), 2),
    ((5, 5), (1, 1), (0, 0), (1, 1), 1),
    ((3, 2), (2, 1), (2, 1), (2, 1), 1),
    ((2, 3), (1, 3), (0, 2), (1, 2), 4),
    ((3, 3), (3, 3), (2, 2), (2, 2), 2),
]


def _case(rs, dtype, geom, bias, n=3, c=4, hw=(9, 8), f=8):
    kernel, stride, pad, dilate, groups = geom
    attrs = dict(kernel=kernel, stride=stride, pad=pad, dilate=dilate, num_filter=f,
                 num_group=groups, no_bias=not bias)
    x = rs.randn(n, c, *hw).astype(dtype)
    w = rs.randn(f, c // groups, *kernel).astype(dtype)
    args = [x, w] + ([rs.randn(f).astype(dtype)] if bias else [])
    return args, attrs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geom", GEOMS)
@pytest.mark.parametrize("bias", [True, False])
def test_forward_matches_reference(dtype, geom, bias):
    args, attrs = _case(np.random.RandomState(0), dtype, geom, bias)
    compare(kc.convolution, "Convolution", args, attrs, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geom", GEOMS)
@pytest.mark.parametrize("need", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("bias", [True, False])
def test_backward_matches_reference(dtype, geom, need, bias):
    rs = np.random.RandomState(1)
    (x, w, *_), attrs = _case(rs, dtype, geom, bias)
    op = get_op("Convolution")
    y = op.ref_fwd(runtime(), x, w, *([np.zeros(8, dtype)] if bias else []),
                   **op.parse_attrs(attrs))
    og = rs.randn(*y.shape).astype(dtype)
    got, _, _, _ = compare(kc.backward_convolution, "_backward_Convolution", [og, x, w],
                           dict(attrs, need_data=need[0], need_weight=need[1]), dtype)
    assert len(got) == (2 if not bias else 3)


@pytest.mark.parametrize("chunk", [1, 3000, 1 << 30])  # 1, 2 (last: 1), all 7 samples
def test_chunking_over_the_batch(monkeypatch, chunk):
    """Chunks of one sample, of a few samples with a shorter last chunk, and the whole
    batch at once all give the reference's numbers."""
    monkeypatch.setattr(kc, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(kc, "MIN_COLUMNS", 1)
    rs = np.random.RandomState(2)
    args, attrs = _case(rs, np.float64, GEOMS[3], True, n=7)
    compare(kc.convolution, "Convolution", args, attrs, np.float64)
    og = rs.randn(7, 8, 5, 4)
    compare(kc.backward_convolution, "_backward_Convolution", [og] + args[:2], attrs,
            np.float64)


def test_lenet_shapes():
    rs = np.random.RandomState(3)
    x = rs.rand(16, 1, 28, 28).astype(np.float32)
    w = rs.randn(20, 1, 5, 5).astype(np.float32)
    attrs = dict(kernel=(5, 5), num_filter=20)
    compare(kc.convolution, "Convolution", [x, w, rs.randn(20).astype(np.float32)], attrs,
            np.float32)
    og = rs.randn(16, 20, 24, 24).astype(np.float32)
    compare(kc.backward_convolution, "_backward_Convolution", [og, x, w],
            dict(attrs, need_data=False), np.float32, tol=dict(rtol=1e-4, atol=1e-4))


@pytest.mark.parametrize("args, attrs", [
    # 1-D and 3-D kernels
    ([np.ones((2, 3, 8), np.float32), np.ones((4, 3, 3), np.float32)],
     dict(kernel=(3,), num_filter=4, no_bias=True)),
    ([np.ones((1, 2, 4, 4, 4)), np.ones((2, 2, 2, 2, 2))],
     dict(kernel=(2, 2, 2), num_filter=2, no_bias=True)),
    # channel-last, float16, mixed dtypes
    ([np.ones((2, 6, 6, 3), np.float32), np.ones((4, 3, 3, 3), np.float32)],
     dict(kernel=(3, 3), num_filter=4, no_bias=True, layout="NHWC")),
    ([np.ones((2, 3, 6, 6), np.float16), np.ones((4, 3, 3, 3), np.float16)],
     dict(kernel=(3, 3), num_filter=4, no_bias=True)),
    ([np.ones((2, 3, 6, 6), np.float32), np.ones((4, 3, 3, 3), np.float64)],
     dict(kernel=(3, 3), num_filter=4, no_bias=True)),
])
def test_declines_and_falls_back(args, attrs):
    op = get_op("Convolution")
    a = op.parse_attrs(attrs)
    rt = runtime()
    assert kc.convolution(rt, *args, **a) is NotImplemented
    np.testing.assert_array_equal(op.fwd(rt, *args, **a), op.ref_fwd(rt, *args, **a))


def test_integer_data_raises_the_reference_error():
    x = nd.array(np.ones((1, 1, 4, 4)), dtype="int32")
    w = nd.array(np.ones((1, 1, 2, 2)), dtype="int32")
    with pytest.raises(MXNetError, match="only floating-point"):
        nd.Convolution(x, w, kernel=(2, 2), num_filter=1, no_bias=True)


def test_bad_weight_shape_raises_the_reference_error():
    x = nd.ones((1, 2, 5, 5))
    with pytest.raises(MXNetError, match="weight has shape"):
        nd.Convolution(x, nd.ones((3, 1, 3, 3)), kernel=(3, 3), num_filter=3, no_bias=True)
    op = get_op("_backward_Convolution")
    a = op.parse_attrs(dict(kernel=(3, 3), num_filter=3, no_bias=True))
    args = (np.ones((1, 3, 2, 2)), np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)))
    with pytest.raises(MXNetError, match="ograd has shape"):
        kc.backward_convolution(runtime(), *args, **a)


def _grads(hybrid):
    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.Conv2D(6, 3, padding=1, strides=2),
            mx.gluon.nn.Conv2D(4, 3, groups=2, use_bias=False))
    mx.random.seed(0)
    net.initialize(mx.init.Xavier())
    if hybrid:
        net.hybridize()
    x = nd.array(np.random.RandomState(4).randn(2, 3, 11, 11))
    x.attach_grad()
    with autograd.record():
        loss = (net(x) ** 2).sum()
    loss.backward()
    return [x.grad.asnumpy()] + [p.grad().asnumpy() for p in net.collect_params().values()]


@pytest.mark.parametrize("hybrid", [False, True])
def test_autograd_gradients_equal_the_reference_path(hybrid):
    fast = _grads(hybrid)
    kernels.set_enabled(False)
    ref = _grads(hybrid)
    kernels.set_enabled(True)
    for f, r in zip(fast, ref):
        np.testing.assert_allclose(f, r, rtol=1e-4, atol=1e-5)
