"""Activation and LeakyReLU (and _prelu_gamma_view), against MXNet 1.9.1's numbers."""
import math

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ops import get_op

from ..opcheck import check_op
from .test_matrix import (check_mx_case, mx_cases, mx_inputs, mx_meta, mx_outputs, replay,
                          run_layer, second_order_check)

rng = np.random.RandomState(0)


def _away(shape, lo=0.2, hi=2.5):
    """Values away from the kink at 0, random signs."""
    return rng.uniform(lo, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)


@pytest.mark.parametrize("name", mx_cases("Activation"))
def test_activation_matches_mxnet(name):
    replay(name)
    # MXNet's cases include an exact 0 where relu has a kink: finite differences only on
    # inputs away from it
    x = _away((3, 4))
    check_op("Activation", [x], mx_meta(name)["attrs"])
    check_mx_case(name, grad=False)


def test_softrelu_is_exact_above_20_and_never_overflows():
    x = np.array([-800.0, -30.0, 0.0, 19.0, 20.5, 800.0])
    y = nd.Activation(nd.array(x, dtype="float64"), act_type="softrelu").asnumpy()
    np.testing.assert_allclose(y[:4], np.log1p(np.exp(x[:4])), rtol=1e-12)
    assert y[4] == 20.5 and y[5] == 800.0


def test_activation_sigmoid_extremes():
    y = nd.Activation(nd.array([-1000.0, 0.0, 1000.0]), act_type="sigmoid").asnumpy()
    assert y.tolist() == [0.0, 0.5, 1.0]


def test_activation_errors():
    with pytest.raises(MXNetError, match="act_type"):
        nd.Activation(nd.ones((2,)), act_type="swish")
    with pytest.raises(MXNetError, match="act_type"):
        nd.Activation(nd.ones((2,)))
    with pytest.raises(MXNetError, match="floating point"):
        nd.Activation(nd.ones((2,), dtype="int32"), act_type="relu")


@pytest.mark.parametrize("t", ["sigmoid", "tanh", "softrelu", "softsign"])
def test_activation_second_order(t):
    second_order_check(lambda x: nd.Activation(x, act_type=t), [_away((2, 3))])


# --- LeakyReLU -----------------------------------------------------------------------------------
LEAKY = [n for n in mx_cases("LeakyReLU") if n != "rrelu_infer"]


@pytest.mark.parametrize("name", LEAKY)
def test_leaky_relu_matches_mxnet(name):
    replay(name)
    meta = mx_meta(name)
    if meta["attrs"]["act_type"] == "selu":
        # MXNet's SELU gradient is not the derivative of its forward (see below)
        check_mx_case(name, grad=False)
        return
    ins = mx_inputs(name)
    ins[0] = _away(ins[0].shape)
    check_op("LeakyReLU", ins, meta["attrs"])
    check_mx_case(name, grad=False)


def test_selu_gradient_is_mxnets():
    # MXNet 1.9.1 uses lambda * (y + alpha) below 0, not lambda * alpha * exp(x)
    lam, alpha = 1.0507009873554805, 1.6732632423543772
    x = nd.array([-2.0, -0.5, 0.0, 1.5], dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = nd.LeakyReLU(x, act_type="selu")
    y.backward()
    yv = y.asnumpy()
    np.testing.assert_allclose(x.grad.asnumpy()[:3], lam * (yv[:3] + alpha), rtol=1e-12)
    assert x.grad.asnumpy()[3] == pytest.approx(lam)


def test_gelu_is_the_erf_form():
    x = np.linspace(-4, 4, 17)
    y = nd.LeakyReLU(nd.array(x, dtype="float64"), act_type="gelu").asnumpy()
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(y, 0.5 * x * (1 + erf(x / math.sqrt(2))), rtol=1e-12,
                               atol=1e-15)


def test_leaky_relu_positional_attributes_and_defaults():
    x = nd.array([-2.0, 3.0])
    assert nd.LeakyReLU(x).asnumpy().tolist() == [-0.5, 3.0]  # leaky, slope 0.25
    assert nd.LeakyReLU(x, None, "leaky", 0.5).asnumpy().tolist() == [-1.0, 3.0]


@pytest.mark.parametrize("t", ["elu", "gelu"])
def test_leaky_relu_second_order(t):
    second_order_check(lambda x: nd.LeakyReLU(x, act_type=t, slope=0.3), [_away((2, 3))])


# --- PReLU ---------------------------------------------------------------------------------------
def test_prelu_gamma_broadcast_and_shapes():
    op = get_op("LeakyReLU")
    a = op.parse_attrs({"act_type": "prelu"})
    assert op.list_inputs(a) == ("data", "gamma")
    ins, outs = op.infer_shape(a, [(2, 5, 3), None])
    assert ins[1] == (5,) and outs == [(2, 5, 3)]
    op.infer_shape(a, [(2, 5, 3), (1,)])  # a shared slope is fine
    with pytest.raises(MXNetError, match="cannot broadcast gamma"):
        op.infer_shape(a, [(2, 5, 3), (3,)])
    x = _away((2, 3, 2))
    g = rng.uniform(0, 0.5, 3)
    check_op("LeakyReLU", [x, g], {"act_type": "prelu"},
             expected=lambda x_, g_: np.where(x_ > 0, x_, g_.reshape(1, 3, 1) * x_))


@pytest.mark.parametrize("wrt", [0, 1])
def test_prelu_second_order(wrt):
    x = np.array([[-1.0, 2.0, -3.0], [0.5, -1.5, 0.7]])
    second_order_check(lambda x, g: nd.LeakyReLU(x, g, act_type="prelu") ** 2,
                       [x, np.array([0.1, 0.2, 0.3])], wrt=wrt)


def test_prelu_gamma_view_op():
    check_op("_prelu_gamma_view", [rng.uniform(size=3), np.zeros((2, 3, 4))],
             expected=lambda g, d: g.reshape(1, 3, 1), grad_inputs=[0])


def test_leaky_relu_input_errors():
    with pytest.raises(MXNetError, match="inputs are"):
        nd.LeakyReLU(nd.ones((2, 3)), act_type="prelu")
    with pytest.raises(MXNetError, match="inputs are"):
        nd.LeakyReLU(nd.ones((2, 3)), nd.ones((3,)), act_type="leaky")
    with pytest.raises(MXNetError, match="cannot broadcast gamma"):
        nd.LeakyReLU(nd.ones((1, 4)), nd.ones((3,)), act_type="prelu")
    with pytest.raises(MXNetError, match="act_type"):
        nd.LeakyReLU(nd.ones((2,)), act_type="swish")
    with pytest.raises(MXNetError, match="floating point"):
        nd.LeakyReLU(nd.ones((2,), dtype="int32"))


# --- RReLU ---------------------------------------------------------------------------------------
def test_rrelu_inference_uses_mean_slope():
    # MXNet's output matches; its inference mask is uninitialised memory, gluonlite fills
    # it with the slope it used (so the gradient in inference is the derivative)
    x = mx_inputs("rrelu_infer")[0]
    out, mask = nd.LeakyReLU(nd.array(x), act_type="rrelu", lower_bound=0.1, upper_bound=0.3)
    np.testing.assert_allclose(out.asnumpy(), mx_outputs("rrelu_infer")[0], rtol=1e-6)
    np.testing.assert_allclose(mask.asnumpy(), 0.2, rtol=1e-6)
    assert get_op("LeakyReLU").list_outputs(get_op("LeakyReLU").parse_attrs(
        {"act_type": "rrelu"})) == ("output", "mask")


def test_rrelu_training_draws_slopes_in_bounds():
    x = nd.array(-np.ones((50, 40)))
    with autograd.train_mode():
        out, mask = nd.LeakyReLU(x, act_type="rrelu", lower_bound=0.2, upper_bound=0.4)
    m = mask.asnumpy()
    assert m.min() >= 0.2 and m.max() <= 0.4 and m.std() > 0.03
    np.testing.assert_allclose(out.asnumpy(), -m, rtol=1e-6)
    # positive inputs pass through
    with autograd.train_mode():
        out2, _ = nd.LeakyReLU(nd.ones((3,)), act_type="rrelu")
    assert out2.asnumpy().tolist() == [1, 1, 1]


def test_rrelu_is_reproducible_and_gradient_uses_mask():
    x = _away((3, 4))
    check_op("LeakyReLU", [x], {"act_type": "rrelu"}, seed=5)
    mx.random.seed(3)
    with autograd.train_mode():
        a = nd.LeakyReLU(nd.array(x), act_type="rrelu")[1].asnumpy()
    mx.random.seed(3)
    with autograd.train_mode():
        b = nd.LeakyReLU(nd.array(x), act_type="rrelu")[1].asnumpy()
    assert (a == b).all()


def test_rrelu_bounds_checked():
    with pytest.raises(MXNetError, match="lower_bound"):
        nd.LeakyReLU(nd.ones((2,)), act_type="rrelu", lower_bound=0.5, upper_bound=0.1)


# --- Gluon activation layers (MXNet layer reference data) ----------------------------------------
@pytest.mark.parametrize("t", ["relu", "sigmoid", "tanh", "softrelu", "softsign"])
def test_gluon_activation(t):
    run_layer("act_" + t, lambda x, p: nd.Activation(x, act_type=t), [])


@pytest.mark.parametrize("name,kw", [("leakyrelu", {"act_type": "leaky", "slope": 0.1}),
                                     ("elu", {"act_type": "elu", "slope": 1.0}),
                                     ("selu", {"act_type": "selu"}),
                                     ("gelu", {"act_type": "gelu"})])
def test_gluon_leaky_layers(name, kw):
    run_layer(name, lambda x, p: nd.LeakyReLU(x, **kw), [])


def test_gluon_prelu():
    run_layer("prelu", lambda x, p: nd.LeakyReLU(x, p["alpha"], act_type="prelu"), ["alpha"],
              ["alpha"])


def test_gluon_swish():
    # nn.Swish is x * sigmoid(beta * x)
    run_layer("swish", lambda x, p: x * nd.sigmoid(x * 1.0), [])


@pytest.mark.gpu
def test_activations_on_gpu_match_cpu():
    x = _away((3, 4))
    for kw in ({"act_type": "gelu"}, {"act_type": "elu"}):
        cpu = nd.LeakyReLU(nd.array(x), **kw).asnumpy()
        gpu = nd.LeakyReLU(nd.array(x, ctx=mx.gpu(0)), **kw).asnumpy()
        np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=1e-6)
    cpu = nd.Activation(nd.array(x), act_type="softrelu").asnumpy()
    gpu = nd.Activation(nd.array(x, ctx=mx.gpu(0)), act_type="softrelu").asnumpy()
    np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=1e-6)
