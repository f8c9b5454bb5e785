"""Decomposition: bias adds and BatchNorm's scale/shift are split off their operators when an
elementwise operator follows, so that fusion makes them one kernel with the activation —
and the results (outputs, gradients, moving statistics) equal the undecomposed program's."""
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, gluon, nd
from gluonlite.compiler import from_symbol
from gluonlite.compiler.decompose import decompose
from gluonlite.compiler.fusion import fuse, set_min_size
from gluonlite.compiler.infer import infer_dtypes, infer_shapes
from gluonlite.gluon import nn

S = mx.sym


@pytest.fixture(autouse=True)
def _fuse_tiny():
    old = set_min_size(1)
    yield
    set_min_size(old)


def _graph(y, shapes, dtype="float32"):
    g, _ = from_symbol(y)
    for v in g.inputs:
        v.dtype = dtype
        v.shape = shapes.get(v.name)
    infer_shapes(g)
    infer_dtypes(g)
    return g


def _ops(g):
    return [e.op.name for e in g.eqns]


def test_dense_bias_and_relu_become_one_kernel():
    y = S.relu(S.FullyConnected(S.var("x"), num_hidden=8, name="fc"))
    g = fuse(decompose(_graph(y, {"x": (4, 5)})))
    assert _ops(g) == ["FullyConnected", "_fused"]
    fc, k = g.eqns
    assert fc.attrs["no_bias"] and len(fc.ins) == 2
    assert str(k.attrs["kernel"]) == "{max(add(x0,x1),0.0)}"
    assert k.ins[1].name == "fc_bias"      # (8,) broadcasts over (4, 8) as it is


def test_conv_bias_split_on_the_channel_axis():
    x = S.var("x")
    y = S.Activation(S.Convolution(x, kernel=(3, 3), num_filter=6, name="c"), act_type="relu")
    g = fuse(decompose(_graph(y, {"x": (2, 3, 8, 8)})))
    assert _ops(g) == ["Convolution", "Reshape", "_fused"]
    assert g.eqns[1].outs[0].shape == (6, 1, 1)
    # channel-last: the bias broadcasts over the last axis without a reshape
    y = S.relu(S.Convolution(x, kernel=(3, 3), num_filter=6, layout="NHWC", name="c"))
    g = fuse(decompose(_graph(y, {"x": (2, 8, 8, 3)})))
    assert _ops(g) == ["Convolution", "_fused"]


def test_batchnorm_affine_and_relu_become_one_kernel():
    y = S.relu(S.BatchNorm(S.var("x"), fix_gamma=False, name="bn"))
    g = fuse(decompose(_graph(y, {"x": (4, 3, 5, 5)})))
    assert _ops(g) == ["_BatchNorm_stats", "Reshape", "Reshape", "Reshape", "_fused"]
    assert str(g.eqns[-1].attrs["kernel"]) == "{max(add(mul(sub(x0,x1),x2),x3),0.0)}"
    # channels on the last axis: no reshapes
    y = S.relu(S.BatchNorm(S.var("x"), axis=-1, name="bn"))
    g = fuse(decompose(_graph(y, {"x": (4, 5, 3)})))
    assert _ops(g) == ["_BatchNorm_stats", "_fused"]


def test_left_alone_without_an_elementwise_consumer_or_when_small():
    x = S.var("x")
    y = S.FullyConnected(S.FullyConnected(x, num_hidden=8, name="a"), num_hidden=3, name="b")
    g = _graph(y, {"x": (4, 5)})
    assert decompose(g) is g
    y = S.relu(S.FullyConnected(x, num_hidden=8, name="a"))
    g = _graph(y, {"x": (4, 5)})
    assert decompose(g, min_size=33) is g          # 32 outputs: fusion would not take it
    assert decompose(g, min_size=32) is not g
    # float16 BatchNorm computes in float32 parameters: left to its operator
    y = S.relu(S.BatchNorm(x, name="bn"))
    g = _graph(y, {"x": (4, 5)}, "float16")
    assert decompose(g) is g


def _net(kind, dtype):
    net = nn.HybridSequential()
    if kind == "conv-bn":
        net.add(nn.Conv2D(6, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
                nn.Conv2D(4, 3, activation="relu"), nn.BatchNorm(scale=False),
                nn.Activation("sigmoid"), nn.Flatten(), nn.Dense(16, activation="tanh"),
                nn.Dense(5))
    elif kind == "nhwc":
        net.add(nn.Conv2D(6, 3, layout="NHWC", activation="relu"),
                nn.BatchNorm(axis=-1), nn.Activation("relu"), nn.Flatten(), nn.Dense(5))
    else:  # dense on the last axis of a 3-D input
        net.add(nn.Dense(12, flatten=False, activation="relu"),
                nn.Dense(7, flatten=False, activation="softrelu"), nn.Flatten(), nn.Dense(5))
    net.cast(dtype)
    return net


_SHAPES = {"conv-bn": (4, 3, 8, 8), "nhwc": (4, 8, 8, 3), "dense3d": (4, 6, 9)}


def _train(kind, dtype, hybrid, monkeypatch, split):
    monkeypatch.setenv("GLUONLITE_DECOMPOSE", "1" if split else "0")
    mx.random.seed(3)
    net = _net(kind, dtype)
    net.initialize(mx.init.Xavier())
    if hybrid:
        net.hybridize(static_alloc=True, static_shape=True)
    rng = np.random.RandomState(0)
    x = nd.array(rng.randn(*_SHAPES[kind]) * 2 + 0.5, dtype=dtype)
    y = nd.array(rng.randint(0, 5, 4), dtype=dtype)
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    tr = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    out = []
    for _ in range(3):
        with autograd.record():
            lv = loss(net(x), y)
        lv.backward()
        tr.step(4)
        out.append(lv.asnumpy())
    out.append(net(x).asnumpy())                        # inference: moving statistics
    out += [p.data().asnumpy() for p in net.collect_params().values()]
    if hybrid and split:
        progs = [p for p in net._cached_op.programs.values()]
        assert any(p.decomposed for p in progs)
    return out


@pytest.mark.parametrize("kind", ["conv-bn", "nhwc", "dense3d"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_decomposed_training_equals_undecomposed_and_imperative(kind, dtype, monkeypatch):
    got = _train(kind, dtype, True, monkeypatch, True)
    whole = _train(kind, dtype, True, monkeypatch, False)
    imperative = _train(kind, dtype, False, monkeypatch, True)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    for a, b, c in zip(got, whole, imperative):
        np.testing.assert_allclose(a, b, **tol)
        np.testing.assert_allclose(a, c, **tol)


def test_decomposed_batchnorm_keeps_fix_gamma_and_hidden_outputs():
    x = S.var("x")
    bn = S.BatchNorm(x, fix_gamma=True, output_mean_var=True, name="bn")
    y = S.Group([S.relu(bn[0]), bn[1], bn[2]])
    rng = np.random.RandomState(1)
    data = rng.randn(4, 3, 5, 5).astype("float32")
    res = {}
    for split in (True, False):
        args = {"x": nd.array(data), "bn_gamma": nd.array([2.0, 3.0, 4.0]),
                "bn_beta": nd.array([0.1, -0.2, 0.3])}
        aux = {"bn_moving_mean": nd.zeros(3), "bn_moving_var": nd.ones(3)}
        os.environ["GLUONLITE_DECOMPOSE"] = "1" if split else "0"
        try:
            ex = y.bind(mx.cpu(), args, aux_states=aux,
                        args_grad={"x": nd.zeros((4, 3, 5, 5))},
                        grad_req={"x": "write", "bn_gamma": "null", "bn_beta": "null"})
            outs = [o.asnumpy() for o in ex.forward(is_train=True)]
            ex.backward([nd.ones((4, 3, 5, 5)), nd.zeros(3), nd.zeros(3)])
            assert any("_BatchNorm_stats" in str(p.forward_graph)
                       for p in ex._programs.values()) == split
        finally:
            del os.environ["GLUONLITE_DECOMPOSE"]
        # MXNet writes 1 into gamma when fix_gamma is set
        np.testing.assert_array_equal(args["bn_gamma"].asnumpy(), np.ones(3))
        res[split] = outs + [ex.grad_dict["x"].asnumpy(), aux["bn_moving_mean"].asnumpy(),
                             aux["bn_moving_var"].asnumpy()]
    for a, b in zip(res[True], res[False]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
