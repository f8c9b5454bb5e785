"""``Dense``, ``Dropout``, ``BatchNorm``/``BatchNormReLU``, ``InstanceNorm``, ``LayerNorm``,
``GroupNorm``, ``Embedding``, ``Flatten``: reprs and parameters as MXNet 1.9.1 (reference
strings in ``tests/fixtures/gluon_reprs.json`` and ``gluon_param_names.json``, made by
``tests/fixtures/gen/gluon_layers_gen.py``), deferred initialisation, float64, gradients
and argument checks. Numbers against MXNet: ``test_layer_fixtures.py``."""
import json

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.gluon import DeferredInitializationError
from gluonlite.gluon.nn import basic_layers
from gluonlite.gluon.nn.sequential import HybridSequential

from .test_layer_fixtures import FIX, NN, build, check_repr_entry, repr_entries

nn = NN


@pytest.mark.parametrize("entry", repr_entries(basic_layers))
def test_repr_and_parameters_match_mxnet(entry):
    check_repr_entry(entry)


# --- parameter names --------------------------------------------------------------------------
with open(FIX / "gluon_param_names.json") as _f:
    NETS = json.load(_f)


@pytest.mark.parametrize("key", sorted(NETS))
def test_parameter_names_match_mxnet(key):
    want = NETS[key]
    ns = dict(vars(NN), HybridSequential=HybridSequential)
    with mx.name.NameManager():
        env = {"nn": type("nn", (), ns)}
        exec(want["source"], env)
        net = env["net"]
    assert net.prefix == want["prefix"]
    assert list(net.collect_params().keys()) == want["params"]
    assert sorted(net._collect_params_with_prefix().keys()) == want["structural"]
    assert repr(net) == want["repr"]


def test_names_of_dense_activation_child():
    with mx.name.NameManager():
        d = nn.Dense(4, activation="relu")
        assert d.prefix == "dense0_"
        assert d.act.prefix == "dense0_relu_"
        assert d.act.name == "dense0_relu"
        d2 = nn.Dense(4, prefix="fc_")
        assert list(d2.collect_params()) == ["fc_weight", "fc_bias"]


# --- deferred initialisation ------------------------------------------------------------------
@pytest.mark.parametrize("ctor,shape,deferred", [
    ("nn.Dense(3)", (2, 5), {"weight": (3, 5)}),
    ("nn.Dense(3, flatten=False)", (2, 4, 5), {"weight": (3, 5)}),
    ("nn.BatchNorm()", (2, 4, 3), {"gamma": (4,), "beta": (4,), "running_mean": (4,),
                                   "running_var": (4,)}),
    ("nn.BatchNorm(axis=-1)", (2, 4, 3), {"gamma": (3,), "beta": (3,), "running_mean": (3,),
                                          "running_var": (3,)}),
    ("nn.BatchNormReLU()", (2, 4), {"gamma": (4,), "beta": (4,), "running_mean": (4,),
                                    "running_var": (4,)}),
    ("nn.InstanceNorm()", (2, 4, 3), {"gamma": (4,), "beta": (4,)}),
    ("nn.InstanceNorm(axis=2)", (2, 4, 3), {"gamma": (3,), "beta": (3,)}),
    ("nn.LayerNorm()", (2, 4, 3), {"gamma": (3,), "beta": (3,)}),
    ("nn.LayerNorm(axis=1)", (2, 4, 3), {"gamma": (4,), "beta": (4,)}),
])
def test_deferred_initialization(ctor, shape, deferred):
    layer = build(ctor)
    layer.initialize()
    params = {k[len(layer.prefix):]: p for k, p in layer.collect_params().items()}
    for name, p in params.items():
        if name not in deferred:        # shape known from the arguments: initialised now
            assert p.data().shape == p.shape
    for name in deferred:
        assert 0 in params[name].shape
        with pytest.raises(DeferredInitializationError, match=params[name].name):
            params[name].data()
    y = layer(nd.array(np.random.randn(*shape)))
    assert y.shape[0] == shape[0]
    for name, s in deferred.items():
        assert params[name].shape == s
        assert params[name].data().shape == s
    # the initialisers ran: MXNet's defaults
    if "gamma" in params:
        np.testing.assert_array_equal(params["gamma"].data().asnumpy(), 1)
        np.testing.assert_array_equal(params["beta"].data().asnumpy(), 0)
    if "running_var" in params:
        np.testing.assert_array_equal(params["running_var"].data().asnumpy(), 1)
        np.testing.assert_array_equal(params["running_mean"].data().asnumpy(), 0)
    if "bias" in params:
        np.testing.assert_array_equal(params["bias"].data().asnumpy(), 0)


@pytest.mark.parametrize("ctor,shapes", [
    ("nn.Dense(3, in_units=5)", {"weight": (3, 5), "bias": (3,)}),
    ("nn.BatchNorm(in_channels=4)", {"gamma": (4,), "running_var": (4,)}),
    ("nn.InstanceNorm(in_channels=4)", {"gamma": (4,)}),
    ("nn.LayerNorm(in_channels=4)", {"beta": (4,)}),
    ("nn.GroupNorm(num_groups=2)", {"gamma": (2,), "beta": (2,)}),
    ("nn.Embedding(7, 3)", {"weight": (7, 3)}),
])
def test_known_sizes_initialize_immediately(ctor, shapes):
    layer = build(ctor)
    layer.initialize()
    params = {k[len(layer.prefix):]: p for k, p in layer.collect_params().items()}
    for name, s in shapes.items():
        assert params[name].data().shape == s


def test_deferred_shape_mismatch_is_reported():
    d = nn.Dense(3, in_units=4)
    d.initialize()
    with pytest.raises(MXNetError, match="weight"):
        d(nd.ones((2, 5)))


# --- every layer records, has finite gradients, runs in float64 --------------------------------
LAYERS = [
    ("nn.Dense(3, activation='relu')", (4, 2, 3)),
    ("nn.Dense(3, use_bias=False, flatten=False)", (4, 2, 3)),
    ("nn.Dropout(0.5)", (4, 6)),
    ("nn.Dropout(0.3, axes=(1,))", (4, 6, 2)),
    ("nn.Dropout(0)", (4, 6)),
    ("nn.BatchNorm()", (4, 3, 2)),
    ("nn.BatchNorm(scale=False, center=False)", (4, 3)),
    ("nn.BatchNorm(use_global_stats=True)", (4, 3, 2, 2)),
    ("nn.BatchNormReLU()", (4, 3, 2)),
    ("nn.InstanceNorm(scale=True)", (2, 3, 4)),
    ("nn.LayerNorm()", (2, 3, 4)),
    ("nn.GroupNorm(num_groups=3)", (2, 6, 2)),
    ("nn.Flatten()", (2, 3, 4)),
]


def _check_finite_grads(layer, x, dtype):
    x.attach_grad()
    with autograd.record():
        y = layer(x)
        loss = (y * y).sum()
    loss.backward()
    assert y.dtype == np.dtype(dtype)
    assert np.isfinite(y.asnumpy()).all()
    assert x.grad.dtype == np.dtype(dtype)
    assert np.isfinite(x.grad.asnumpy()).all()
    for p in layer.collect_params().values():
        assert p.data().dtype == np.dtype(dtype) or p.name.endswith(
            ("running_mean", "running_var", "gamma", "beta"))
        if p.grad_req != "null":
            g = p.grad().asnumpy()
            assert g.dtype == np.dtype(dtype)
            assert np.isfinite(g).all()
    return y


@pytest.mark.parametrize("ctor,shape", LAYERS, ids=[c for c, _ in LAYERS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_record_finite_gradients(ctor, shape, dtype):
    layer = build(ctor)
    layer.initialize()
    layer.cast(dtype)
    _check_finite_grads(layer, nd.array(np.random.randn(*shape), dtype=dtype), dtype)
    for p in layer.collect_params().values():
        assert p.data().dtype == np.dtype(dtype)


def test_dense_dtype_argument_float64():
    d = nn.Dense(3, dtype="float64", in_units=2)
    d.initialize()
    assert d.weight.data().dtype == np.float64 and d.bias.data().dtype == np.float64
    _check_finite_grads(d, nd.array(np.random.randn(4, 2), dtype="float64"), "float64")


def test_dense_dtype_mismatch_is_reported():
    d = nn.Dense(3, dtype="float64", in_units=2)
    d.initialize()
    with pytest.raises(MXNetError, match="dtype"):
        d(nd.ones((4, 2)))          # float32 data with float64 weights, as MXNet


def test_embedding_float64_and_gradient():
    e = nn.Embedding(5, 3, dtype="float64")
    e.initialize()
    x = nd.array([[0, 4], [4, 2]])
    with autograd.record():
        y = e(x)
    y.backward(nd.ones_like(y))
    assert y.dtype == np.float64 and y.shape == (2, 2, 3)
    np.testing.assert_array_equal(y.asnumpy()[0, 1], e.weight.data().asnumpy()[4])
    np.testing.assert_array_equal(e.weight.grad().asnumpy()[:, 0], [1, 0, 1, 0, 2])


def test_embedding_sparse_grad_is_dense_with_same_values():
    x = nd.array([[1, 3, 1]])
    grads = []
    for sparse in (False, True):
        e = nn.Embedding(4, 2, sparse_grad=sparse)
        e.initialize()
        with autograd.record():
            y = e(x)
        y.backward()
        grads.append(e.weight.grad().asnumpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_array_equal(grads[1][:, 0], [0, 2, 0, 1])


def test_batchnorm_float16_keeps_float32_parameters():
    bn = nn.BatchNorm(in_channels=3)
    bn.initialize()
    bn.cast("float16")
    for p in bn.collect_params().values():
        assert p.data().dtype == np.float32
    y = bn(nd.ones((2, 3), dtype="float16"))
    assert y.dtype == np.float16


def test_batchnorm_running_statistics_update_in_training():
    bn = nn.BatchNorm(momentum=0.8, in_channels=2)
    bn.initialize()
    x = np.random.randn(50, 2) * [2.0, 0.5] + [1.0, -3.0]
    xa = nd.array(x)
    with autograd.record():
        y = bn(xa)
    y.backward()
    mean, var = x.mean(0), x.var(0)
    np.testing.assert_allclose(bn.running_mean.data().asnumpy(), 0.2 * mean, rtol=1e-4)
    np.testing.assert_allclose(bn.running_var.data().asnumpy(), 0.8 + 0.2 * var, rtol=1e-4)
    # inference uses the running statistics
    y = bn(xa).asnumpy()
    rm, rv = bn.running_mean.data().asnumpy(), bn.running_var.data().asnumpy()
    np.testing.assert_allclose(y, (x - rm) / np.sqrt(rv + 1e-5), rtol=1e-4, atol=1e-5)


def test_batchnorm_scale_false_fixes_gamma_to_one():
    bn = nn.BatchNorm(scale=False, in_channels=2)
    bn.initialize()
    assert bn.gamma.grad_req == "null"
    bn.gamma.set_data(nd.array([3.0, 4.0]))
    with autograd.record():
        y = bn(nd.array([[1.0, 2.0], [3.0, 5.0]]))
    np.testing.assert_allclose(y.asnumpy(), [[-1, -1], [1, 1]], atol=1e-4)
    np.testing.assert_array_equal(bn.gamma.data().asnumpy(), [1, 1])   # as MXNet writes


def test_batchnormrelu_is_batchnorm_then_relu():
    x = nd.array(np.random.randn(6, 3, 2))
    a, b = nn.BatchNorm(in_channels=3), nn.BatchNormReLU(in_channels=3)
    for layer in (a, b):
        layer.initialize()
        layer.beta.set_data(nd.array([0.5, -0.5, 0.0]))
    with autograd.record():
        ya = nd.relu(a(x))
        yb = b(x)
    np.testing.assert_allclose(yb.asnumpy(), ya.asnumpy(), rtol=1e-6)
    assert (yb.asnumpy() >= 0).all()


def test_dropout_training_and_inference():
    d = nn.Dropout(0.25)
    x = nd.ones((200, 50))
    np.testing.assert_array_equal(d(x).asnumpy(), 1)                    # not training
    with autograd.record():
        y = d(x).asnumpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02
    with autograd.train_mode():
        z = nn.Dropout(0.5, axes=(1,))(nd.ones((40, 30))).asnumpy()
    assert ((z == 0).all(axis=1) | (z != 0).all(axis=1)).all()         # shared along axis 1
    with autograd.record():
        np.testing.assert_array_equal(nn.Dropout(0)(x).asnumpy(), 1)


def test_instancenorm_axis_swaps_and_normalizes():
    x = np.random.randn(2, 3, 4)
    layer = nn.InstanceNorm(axis=2)
    layer.initialize()
    y = layer(nd.array(x)).asnumpy()
    xs = x.swapaxes(1, 2)
    m = xs.mean(axis=2, keepdims=True)
    v = xs.var(axis=2, keepdims=True)
    np.testing.assert_allclose(y, ((xs - m) / np.sqrt(v + 1e-5)).swapaxes(1, 2), rtol=1e-4,
                               atol=1e-5)


def test_flatten_and_hybridize():
    net = HybridSequential()
    with net.name_scope():
        net.add(nn.Flatten(), nn.Dense(2))
    net.initialize()
    x = nd.array(np.random.randn(3, 2, 2))
    y0 = net(x).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), y0, rtol=1e-6)
    assert net[1].weight.shape == (2, 4)


# --- bad arguments ----------------------------------------------------------------------------
@pytest.mark.parametrize("ctor,exc,match", [
    ("nn.Dense(0)", ValueError, "Dense: units must be positive"),
    ("nn.Dense(3.5)", TypeError, "Dense: units must be an int"),
    ("nn.Dense(3, activation='gelu')", ValueError, "Dense: activation must be one of"),
    ("nn.Dense(3, in_units=-1)", ValueError, "in_units must be non-negative"),
    ("nn.Dense(3, use_bias='yes')", TypeError, "use_bias must be True or False"),
    ("nn.Dense(3, dtype='int32')", TypeError, "dtype must be a floating point dtype"),
    ("nn.Dense(3, dtype='float33')", TypeError, "Dense: dtype"),
    ("nn.Dense(3, weight_initializer=5)", TypeError, "weight_initializer must be None"),
    ("nn.Dropout(1.5)", ValueError, r"Dropout: rate must lie in \[0, 1\]"),
    ("nn.Dropout(0.5, axes=1)", TypeError, "axes must be a tuple of ints"),
    ("nn.BatchNorm(axis=1.0)", TypeError, "BatchNorm: axis must be an int"),
    ("nn.BatchNorm(epsilon=0)", ValueError, r"epsilon must lie in \(0, inf\]"),
    ("nn.BatchNorm(momentum='a')", TypeError, "momentum must be a number"),
    ("nn.BatchNormReLU(in_channels=-2)", ValueError, "BatchNormReLU: in_channels"),
    ("nn.InstanceNorm(center=1)", TypeError, "InstanceNorm: center must be True or False"),
    ("nn.LayerNorm(in_channels=2.0)", TypeError, "LayerNorm: in_channels must be an int"),
    ("nn.GroupNorm(num_groups=0)", ValueError, "GroupNorm: num_groups must be positive"),
    ("nn.Embedding(0, 3)", ValueError, "Embedding: input_dim must be positive"),
    ("nn.Embedding(3, -1)", ValueError, "Embedding: output_dim must be positive"),
    ("nn.Embedding(3, 2, sparse_grad=None)", TypeError, "sparse_grad must be True or False"),
])
def test_bad_arguments(ctor, exc, match):
    with pytest.raises(exc, match=match):
        build(ctor)


def test_value_errors_are_also_assertion_errors():
    # MXNet checks these with assert: code catching AssertionError keeps working
    with pytest.raises(AssertionError):
        nn.Dropout(-0.1)


@pytest.mark.parametrize("ctor,shape,match", [
    ("nn.GroupNorm(num_groups=4)", (2, 6, 3), "divisible by num_groups"),
    ("nn.InstanceNorm()", (2, 3), "at least 3 dimensions"),
    ("nn.BatchNorm(axis=3)", (2, 3), "axis 3 is out of range"),
    ("nn.LayerNorm(in_channels=3)", (2, 4), "gamma has shape"),
])
def test_bad_inputs_are_reported(ctor, shape, match):
    layer = build(ctor)
    layer.initialize()
    with pytest.raises(MXNetError, match=match):
        layer(nd.ones(shape))
