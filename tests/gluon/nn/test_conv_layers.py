"""Convolution, transposed convolution, pooling and ``ReflectionPad2D`` layers: reprs and
parameters as MXNet 1.9.1 (``tests/fixtures/gluon_reprs.json``), deferred initialisation,
layouts, float64, gradients and argument checks. Numbers against MXNet:
``test_layer_fixtures.py``."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.gluon import DeferredInitializationError
from gluonlite.gluon.nn import conv_layers

from .test_layer_fixtures import NN, build, check_repr_entry, repr_entries

nn = NN


@pytest.mark.parametrize("entry", repr_entries(conv_layers))
def test_repr_and_parameters_match_mxnet(entry):
    check_repr_entry(entry)


# --- deferred initialisation ------------------------------------------------------------------
@pytest.mark.parametrize("ctor,shape,wshape,oshape", [
    ("nn.Conv1D(4, 3)", (2, 3, 7), (4, 3, 3), (2, 4, 5)),
    ("nn.Conv2D(4, 3, groups=2)", (2, 6, 5, 5), (4, 3, 3, 3), (2, 4, 3, 3)),
    ("nn.Conv3D(2, (1, 2, 3))", (1, 3, 2, 3, 4), (2, 3, 1, 2, 3), (1, 2, 2, 2, 2)),
    ("nn.Conv2D(4, 3, layout='NHWC')", (2, 5, 5, 6), (4, 3, 3, 6), (2, 3, 3, 4)),
    ("nn.Conv1DTranspose(4, 3)", (2, 3, 5), (3, 4, 3), (2, 4, 7)),
    ("nn.Conv2DTranspose(4, 2, strides=2, groups=2)", (1, 6, 3, 3), (6, 2, 2, 2),
     (1, 4, 6, 6)),
    ("nn.Conv3DTranspose(2, 2)", (1, 3, 2, 2, 2), (3, 2, 2, 2, 2), (1, 2, 3, 3, 3)),
    ("nn.Conv2DTranspose(4, 3, layout='NHWC')", (2, 5, 5, 6), (6, 3, 3, 4), (2, 7, 7, 4)),
])
def test_deferred_initialization(ctor, shape, wshape, oshape):
    layer = build(ctor)
    layer.initialize()
    assert 0 in layer.weight.shape
    with pytest.raises(DeferredInitializationError, match=layer.weight.name):
        layer.weight.data()
    assert layer.bias.data().shape == (layer._channels,)     # known: initialised already
    np.testing.assert_array_equal(layer.bias.data().asnumpy(), 0)
    y = layer(nd.array(np.random.randn(*shape)))
    assert y.shape == oshape
    assert layer.weight.shape == wshape and layer.weight.data().shape == wshape


@pytest.mark.parametrize("ctor,wshape", [
    ("nn.Conv2D(4, 3, in_channels=6, groups=2)", (4, 3, 3, 3)),
    ("nn.Conv1DTranspose(3, 3, groups=3, in_channels=6)", (6, 1, 3)),
    ("nn.Conv3D(2, 2, in_channels=3, layout='NDHWC')", (2, 2, 2, 2, 3)),
])
def test_known_in_channels_initialize_immediately(ctor, wshape):
    layer = build(ctor)
    layer.initialize()
    assert layer.weight.data().shape == wshape


def test_conv_weight_initializer_and_activation():
    c = nn.Conv2D(2, 1, in_channels=1, weight_initializer=mx.init.Constant(2.0),
                  bias_initializer="ones", activation="relu", use_bias=True)
    c.initialize()
    y = c(nd.array([[[[1.0, -3.0]]]])).asnumpy()
    np.testing.assert_allclose(y, [[[[3.0, 0.0]], [[3.0, 0.0]]]])


def test_channel_last_layouts_match_channel_first():
    x = np.random.randn(2, 3, 6, 5).astype("float32")
    a = nn.Conv2D(4, (3, 2), strides=(2, 1), padding=1, in_channels=3)
    b = nn.Conv2D(4, (3, 2), strides=(2, 1), padding=1, in_channels=3, layout="NHWC")
    a.initialize()
    b.initialize()
    w = a.weight.data().asnumpy()
    b.weight.set_data(nd.array(w.transpose(0, 2, 3, 1)))
    ya = a(nd.array(x)).asnumpy()
    yb = b(nd.array(x.transpose(0, 2, 3, 1))).asnumpy()
    np.testing.assert_allclose(yb.transpose(0, 3, 1, 2), ya, rtol=1e-5, atol=1e-6)
    pa = nn.MaxPool2D(2, 1, padding=1)(nd.array(x)).asnumpy()
    pb = nn.MaxPool2D(2, 1, padding=1, layout="NHWC")(nd.array(x.transpose(0, 2, 3, 1)))
    np.testing.assert_array_equal(pb.asnumpy().transpose(0, 3, 1, 2), pa)
    ga = nn.GlobalAvgPool1D(layout="NWC")(nd.array(x[:, :, 0, :].transpose(0, 2, 1)))
    np.testing.assert_allclose(ga.asnumpy()[:, 0, :], x[:, :, 0, :].mean(-1), rtol=1e-5)


def test_pooling_values():
    x = nd.array(np.arange(16, dtype="float32").reshape(1, 1, 4, 4))
    np.testing.assert_array_equal(nn.MaxPool2D()(x).asnumpy(), [[[[5, 7], [13, 15]]]])
    np.testing.assert_array_equal(nn.AvgPool2D()(x).asnumpy(), [[[[2.5, 4.5], [10.5, 12.5]]]])
    assert nn.MaxPool2D(3, 2)(x).shape == (1, 1, 1, 1)
    assert nn.MaxPool2D(3, 2, ceil_mode=True)(x).shape == (1, 1, 2, 2)
    np.testing.assert_array_equal(nn.GlobalMaxPool2D()(x).asnumpy(), [[[[15]]]])
    np.testing.assert_array_equal(nn.GlobalAvgPool2D()(x).asnumpy(), [[[[7.5]]]])
    a = nn.AvgPool2D(3, 1, padding=1)(x).asnumpy()[0, 0, 0, 0]
    b = nn.AvgPool2D(3, 1, padding=1, count_include_pad=False)(x).asnumpy()[0, 0, 0, 0]
    np.testing.assert_allclose([a, b], [(0 + 1 + 4 + 5) / 9, (0 + 1 + 4 + 5) / 4])


def test_reflection_pad():
    x = nd.array(np.arange(6, dtype="float32").reshape(1, 1, 2, 3))
    y = nn.ReflectionPad2D(1)(x).asnumpy()[0, 0]
    np.testing.assert_array_equal(y, np.pad(np.arange(6).reshape(2, 3), 1, mode="reflect"))
    with pytest.raises(MXNetError, match="reflect"):
        nn.ReflectionPad2D(2)(x)        # width 2 >= height 2


# --- every layer records, has finite gradients, runs in float64 -------------------------------
LAYERS = [
    ("nn.Conv1D(2, 3, strides=2, padding=1, dilation=2)", (2, 3, 9)),
    ("nn.Conv2D(4, 3, groups=2, activation='tanh')", (2, 4, 5, 5)),
    ("nn.Conv3D(2, 2, use_bias=False)", (1, 2, 3, 3, 3)),
    ("nn.Conv2D(3, 2, layout='NHWC')", (1, 4, 4, 2)),
    ("nn.Conv1DTranspose(2, 3, strides=2, output_padding=1)", (2, 3, 4)),
    ("nn.Conv2DTranspose(2, 3, padding=1)", (1, 2, 3, 3)),
    ("nn.Conv3DTranspose(2, 2, strides=2)", (1, 2, 2, 2, 2)),
    ("nn.Conv3D(2, 2, layout='NDHWC')", (1, 3, 3, 3, 2)),
    ("nn.MaxPool1D(3, 1, padding=1)", (2, 3, 6)),
    ("nn.MaxPool2D(3, 2, ceil_mode=True)", (1, 2, 7, 7)),
    ("nn.MaxPool3D()", (1, 2, 4, 4, 4)),
    ("nn.AvgPool1D(layout='NWC')", (2, 6, 3)),
    ("nn.AvgPool2D(3, 2, padding=1, count_include_pad=False)", (1, 2, 6, 6)),
    ("nn.AvgPool3D(2, 1)", (1, 2, 3, 3, 3)),
    ("nn.GlobalMaxPool1D()", (2, 3, 5)),
    ("nn.GlobalMaxPool2D()", (2, 3, 4, 5)),
    ("nn.GlobalMaxPool3D()", (1, 2, 2, 3, 2)),
    ("nn.GlobalAvgPool1D()", (2, 3, 5)),
    ("nn.GlobalAvgPool2D(layout='NHWC')", (2, 4, 5, 3)),
    ("nn.GlobalAvgPool3D()", (1, 2, 2, 3, 2)),
    ("nn.ReflectionPad2D(1)", (1, 2, 3, 4)),
]


@pytest.mark.parametrize("ctor,shape", LAYERS, ids=[c for c, _ in LAYERS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_record_finite_gradients(ctor, shape, dtype):
    layer = build(ctor)
    layer.initialize()
    layer.cast(dtype)
    x = nd.array(np.random.randn(*shape), dtype=dtype)
    x.attach_grad()
    with autograd.record():
        y = layer(x)
        loss = (y * y).sum()
    loss.backward()
    assert y.dtype == np.dtype(dtype) and x.grad.dtype == np.dtype(dtype)
    assert np.isfinite(y.asnumpy()).all() and np.isfinite(x.grad.asnumpy()).all()
    assert np.abs(x.grad.asnumpy()).sum() > 0
    for p in layer.collect_params().values():
        assert p.data().dtype == np.dtype(dtype)
        g = p.grad().asnumpy()
        assert g.dtype == np.dtype(dtype) and np.isfinite(g).all()


def test_float64_conv_gradient_is_the_derivative():
    c = nn.Conv2DTranspose(2, 3, strides=2, padding=1, output_padding=1, in_channels=2)
    c.initialize()
    c.cast("float64")
    x_np = np.random.randn(1, 2, 3, 3)
    x = nd.array(x_np, dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = c(x)
        loss = (y * y).sum()
    loss.backward()
    eps, i = 1e-6, (0, 1, 2, 0)
    xp, xm = x_np.copy(), x_np.copy()
    xp[i] += eps
    xm[i] -= eps
    f = lambda v: (c(nd.array(v, dtype="float64")).asnumpy() ** 2).sum()  # noqa: E731
    np.testing.assert_allclose(x.grad.asnumpy()[i], (f(xp) - f(xm)) / (2 * eps), rtol=1e-6)


# --- bad arguments ----------------------------------------------------------------------------
@pytest.mark.parametrize("ctor,exc,match", [
    ("nn.Conv2D(0, 3)", ValueError, "Conv2D: channels must be positive"),
    ("nn.Conv2D(4, (3, 3, 3))", ValueError, "Conv2D: kernel_size must be a number or a list "
                                            "of 2 ints"),
    ("nn.Conv2D(4, 0)", ValueError, "Conv2D: kernel_size must be positive"),
    ("nn.Conv2D(4, 'a')", TypeError, "Conv2D: kernel_size must be an int"),
    ("nn.Conv2D(4, 3, strides=(1, 0))", ValueError, "every entry of strides must be positive"),
    ("nn.Conv2D(4, 3, padding=-1)", ValueError, "padding must be non-negative"),
    ("nn.Conv1D(4, 3, dilation=(1, 1))", ValueError, "Conv1D: dilation must be a number or a "
                                                     "list of 1 ints"),
    ("nn.Conv2D(4, 3, groups=3)", ValueError, r"channels \(4\) must be divisible by groups"),
    ("nn.Conv2D(4, 3, groups=2, in_channels=3)", ValueError,
     r"in_channels \(3\) must be divisible by groups"),
    ("nn.Conv1D(4, 3, layout='NWC')", ValueError, r"Conv1D: layout must be one of \['NCW'\]"),
    ("nn.Conv2D(4, 3, layout='NCW')", ValueError, "Conv2D: layout must be one of"),
    ("nn.Conv3D(4, 3, activation='swish')", ValueError, "Conv3D: activation must be one of"),
    ("nn.Conv2D(4, 3, use_bias=None)", TypeError, "use_bias must be True or False"),
    ("nn.Conv2DTranspose(4, 3, output_padding=1)", ValueError,
     "output_padding must be smaller than the stride"),
    ("nn.Conv3DTranspose(4, 3, output_padding=(1, 1))", ValueError,
     "Conv3DTranspose: output_padding must be a number or a list of 3 ints"),
    ("nn.MaxPool2D(0)", ValueError, "MaxPool2D: pool_size must be positive"),
    ("nn.MaxPool2D((2, 2, 2))", ValueError, "pool_size must be a number or a list of 2 ints"),
    ("nn.MaxPool1D(2, strides=0)", ValueError, "MaxPool1D: strides must be positive"),
    ("nn.AvgPool2D(2, padding=2)", ValueError, "padding must be smaller than pool_size"),
    ("nn.AvgPool3D(layout='NCHW')", ValueError, "AvgPool3D: layout must be one of"),
    ("nn.AvgPool1D(ceil_mode=1)", TypeError, "ceil_mode must be True or False"),
    ("nn.AvgPool2D(count_include_pad='no')", TypeError, "count_include_pad must be True or "
                                                        "False"),
    ("nn.GlobalMaxPool2D(layout='NCW')", ValueError, "GlobalMaxPool2D: layout must be one of"),
    ("nn.ReflectionPad2D((1, 1))", ValueError, "ReflectionPad2D: padding must be a number or "
                                               "a list of 8 ints"),
    ("nn.ReflectionPad2D(-1)", ValueError, "padding must be non-negative"),
    ("nn.ReflectionPad2D((1, 1, 0, 0, 1, 1, 1, 1))", ValueError, "batch and channel axes"),
])
def test_bad_arguments(ctor, exc, match):
    with pytest.raises(exc, match=match):
        build(ctor)


@pytest.mark.parametrize("ctor,shape,match", [
    ("nn.Conv2D(4, 3)", (2, 3, 5), "must be 4-D"),
    ("nn.Conv2D(4, 5)", (1, 1, 3, 3), "exceeds the input size"),
    ("nn.Conv2D(4, 3, in_channels=2)", (1, 3, 5, 5), "weight has shape"),
    ("nn.MaxPool2D(4)", (1, 1, 3, 3), "exceeds the input size"),
    ("nn.MaxPool3D()", (1, 1, 4, 4), "does not fit 4-D data"),
])
def test_bad_inputs_are_reported(ctor, shape, match):
    layer = build(ctor)
    layer.initialize()
    with pytest.raises(MXNetError, match=match):
        layer(nd.ones(shape))
