"""``Activation``, ``LeakyReLU``, ``PReLU``, ``ELU``, ``SELU``, ``GELU``, ``Swish``: reprs and
parameters as MXNet 1.9.1 (``tests/fixtures/gluon_reprs.json``), the functions themselves,
float64, gradients and argument checks. Numbers against MXNet: ``test_layer_fixtures.py``."""
import math

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.gluon.nn import activations

from .test_layer_fixtures import NN, build, check_repr_entry, repr_entries

nn = NN


@pytest.mark.parametrize("entry", repr_entries(activations))
def test_repr_and_parameters_match_mxnet(entry):
    check_repr_entry(entry)


def _erf(v):
    return np.vectorize(math.erf)(v)


SELU_A, SELU_L = 1.6732632423543772, 1.0507009873554805

FUNCTIONS = [
    ("nn.Activation('relu')", lambda x: np.maximum(x, 0)),
    ("nn.Activation('sigmoid')", lambda x: 1 / (1 + np.exp(-x))),
    ("nn.Activation('tanh')", np.tanh),
    ("nn.Activation('softrelu')", lambda x: np.log1p(np.exp(x))),
    ("nn.Activation('softsign')", lambda x: x / (1 + np.abs(x))),
    ("nn.LeakyReLU(0.1)", lambda x: np.where(x > 0, x, 0.1 * x)),
    ("nn.LeakyReLU(0)", lambda x: np.maximum(x, 0)),
    ("nn.PReLU()", lambda x: np.where(x > 0, x, 0.25 * x)),
    ("nn.ELU()", lambda x: np.where(x > 0, x, np.expm1(x))),
    ("nn.ELU(alpha=0.3)", lambda x: np.where(x > 0, x, 0.3 * np.expm1(x))),
    ("nn.SELU()", lambda x: SELU_L * np.where(x > 0, x, SELU_A * np.expm1(x))),
    ("nn.GELU()", lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    ("nn.Swish()", lambda x: x / (1 + np.exp(-x))),
    ("nn.Swish(beta=2.0)", lambda x: x / (1 + np.exp(-2 * x))),
]


@pytest.mark.parametrize("ctor,fn", FUNCTIONS, ids=[c for c, _ in FUNCTIONS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_function_gradient_and_dtype(ctor, fn, dtype):
    layer = build(ctor)
    layer.initialize()
    layer.cast(dtype)
    x_np = np.random.randn(3, 4) * 2
    x = nd.array(x_np, dtype=dtype)
    x.attach_grad()
    with autograd.record():
        y = layer(x)
    y.backward(nd.ones_like(y))
    tol = 1e-5 if dtype == "float32" else 1e-12
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.asnumpy(), fn(x_np), rtol=tol * 10, atol=tol)
    assert x.grad.dtype == np.dtype(dtype)
    g = x.grad.asnumpy()
    assert np.isfinite(g).all()
    if "SELU" not in ctor:          # MXNet's SELU gradient is not the derivative (kept as is)
        eps = 1e-6
        num = (fn(x_np + eps) - fn(x_np - eps)) / (2 * eps)
        np.testing.assert_allclose(g, num, rtol=1e-3, atol=1e-4)
    for p in layer.collect_params().values():
        assert p.data().dtype == np.dtype(dtype)
        assert np.isfinite(p.grad().asnumpy()).all()


def test_activation_block_name_is_its_type():
    with mx.name.NameManager():
        assert nn.Activation("relu").name == "relu0"
        assert nn.Activation("relu").name == "relu1"
        assert nn.Activation("tanh").prefix == "tanh0_"
        assert nn.LeakyReLU(0.1).prefix == "leakyrelu0_"
        assert nn.GELU().prefix == "gelu0_"


def test_prelu_parameter_and_gradient():
    p = nn.PReLU(in_channels=3)
    p.initialize()
    assert p.alpha.shape == (3,) and p.alpha.grad_req == "write"
    np.testing.assert_array_equal(p.alpha.data().asnumpy(), 0.25)
    x = nd.array([[[-1.0, 2.0], [-2.0, -3.0], [4.0, 5.0]]])
    with autograd.record():
        y = p(x)
    y.backward()
    np.testing.assert_allclose(y.asnumpy(), [[[-0.25, 2], [-0.5, -0.75], [4, 5]]])
    np.testing.assert_allclose(p.alpha.grad().asnumpy(), [-1, -5, 0])
    q = nn.PReLU(alpha_initializer=mx.init.Constant(0.5))
    q.initialize()
    np.testing.assert_allclose(q(nd.array([-2.0])).asnumpy(), [-1.0])
    with pytest.raises(mx.MXNetError, match="gamma"):
        p(nd.ones((2, 4)))      # 3 alphas for 4 channels


@pytest.mark.parametrize("ctor,exc,match", [
    ("nn.Activation('gelu')", ValueError, "Activation: activation must be one of"),
    ("nn.Activation(None)", ValueError, "Activation: activation must be one of"),
    ("nn.LeakyReLU(-0.1)", ValueError, r"LeakyReLU: alpha must lie in \[0, inf\]"),
    ("nn.LeakyReLU('a')", TypeError, "LeakyReLU: alpha must be a number"),
    ("nn.PReLU(in_channels=0)", ValueError, "PReLU: in_channels must be positive"),
    ("nn.PReLU(alpha_initializer=0.25)", TypeError, "PReLU: alpha_initializer must be"),
    ("nn.ELU(alpha=None)", TypeError, "ELU: alpha must be a number"),
    ("nn.Swish(beta='x')", TypeError, "Swish: beta must be a number"),
])
def test_bad_arguments(ctor, exc, match):
    with pytest.raises(exc, match=match):
        build(ctor)


def test_leakyrelu_negative_alpha_is_an_assertion_error_as_in_mxnet():
    with pytest.raises(AssertionError, match="alpha"):
        nn.LeakyReLU(-1)


def test_integer_input_is_rejected():
    layer = nn.Activation("relu")
    with pytest.raises(mx.MXNetError, match="floating point"):
        layer(nd.array([1, 2], dtype="int32"))
