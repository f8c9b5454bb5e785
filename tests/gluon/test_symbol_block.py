"""gluon.SymbolBlock (MXNet 1.9.1 semantics): hybridized (the symbol runs as one compiled
graph, also under autograd and nested in a hybridized parent, where the parent composes the
block's symbol), deferred parameter shapes inferred on the first call, symbolic calls."""
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, gluon, nd
from gluonlite.base import MXNetError
from gluonlite.gluon import nn

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
rng = np.random.RandomState(11)


def _lenet_bn():
    return gluon.SymbolBlock.imports(str(FIX / "lenet_bn-symbol.json"), ["data"],
                                     str(FIX / "lenet_bn-0000.params"))


def _grads(params):
    return {k: p.grad().asnumpy().copy() for k, p in params.items() if p.grad_req != "null"}


def _run_with_grads(block, x, head):
    """Output, input gradient and parameter gradients of one recorded call."""
    x = x.copy()
    x.attach_grad()
    with autograd.record():
        y = block(x)
    y.backward(head)
    return y.asnumpy(), x.grad.asnumpy(), _grads(block.collect_params())


def _small_net():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(3, 3, in_channels=2), nn.BatchNorm(in_channels=3),
            nn.Activation("relu"), nn.Flatten(), nn.Dense(4, in_units=48))
    net.initialize(mx.init.Xavier())
    return net


@pytest.mark.parametrize("static_alloc", [False, True])
def test_imports_hybridize_reproduces_mxnet_output(static_alloc):
    blk = _lenet_bn()
    blk.hybridize(static_alloc=static_alloc)
    x = nd.array(np.load(FIX / "lenet_bn_input.npy"))
    ref = np.load(FIX / "lenet_bn_output.npy")
    for _ in range(2):  # the compiled program is kept and reused
        np.testing.assert_allclose(blk(x).asnumpy(), ref, rtol=1e-4, atol=1e-5)
    assert blk._cached_op is not None and blk._cached_op.data_names == ["data"]


def test_imports_hybridized_gradients_equal_unhybridized():
    x = nd.array(np.load(FIX / "lenet_bn_input.npy"))
    plain = _lenet_bn()
    hyb = _lenet_bn()
    hyb.hybridize()
    head = nd.array(rng.randn(*plain(x).shape))
    y0, gx0, gp0 = _run_with_grads(plain, x, head)
    y1, gx1, gp1 = _run_with_grads(hyb, x, head)
    np.testing.assert_allclose(y1, y0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gx1, gx0, rtol=1e-4, atol=1e-6)
    assert gp0.keys() == gp1.keys() and "dense6_weight" in gp0
    for k in gp0:
        np.testing.assert_allclose(gp1[k], gp0[k], rtol=1e-4, atol=1e-5, err_msg=k)
    assert np.abs(gx0).sum() > 0 and np.abs(gp0["conv7_weight"]).sum() > 0


def test_hybridized_symbol_block_equals_imperative_network():
    # the SymbolBlock shares the network's parameters: its compiled graph must give the
    # network's imperative output and gradients (input and parameters)
    net = _small_net()
    x = nd.array(rng.randn(2, 2, 6, 6))
    data = mx.sym.var("data")
    blk = gluon.SymbolBlock(net(data), data, params=net.collect_params())
    blk.hybridize()
    head = nd.array(rng.randn(2, 4))
    y0, gx0, gp0 = _run_with_grads(net, x, head)
    y1, gx1, gp1 = _run_with_grads(blk, x, head)
    np.testing.assert_allclose(y1, y0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gx1, gx0, rtol=1e-5, atol=1e-6)
    assert set(gp1) == set(gp0) and len(gp0) == 6
    for k in gp0:
        np.testing.assert_allclose(gp1[k], gp0[k], rtol=1e-5, atol=1e-6, err_msg=k)
    # predict mode: BatchNorm uses the (shared) running statistics in both
    np.testing.assert_allclose(blk(x).asnumpy(), net(x).asnumpy(), rtol=1e-5, atol=1e-6)


def test_nested_in_hybridized_sequential():
    inner = _small_net()
    data = mx.sym.var("data")
    blk = gluon.SymbolBlock(inner(data), data, params=inner.collect_params())
    sym_args = blk._symbol.list_arguments()
    seq = nn.HybridSequential()
    seq.add(nn.Conv2D(2, 1, in_channels=2), blk, nn.Dense(3, in_units=4))
    seq.initialize(mx.init.Xavier())  # blk's parameters are initialised already (warns)
    x = nd.array(rng.randn(3, 2, 6, 6))
    head = nd.array(rng.randn(3, 3))
    y0, gx0, gp0 = _run_with_grads(seq, x, head)
    seq.hybridize()
    y1, gx1, gp1 = _run_with_grads(seq, x, head)
    np.testing.assert_allclose(y1, y0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gx1, gx0, rtol=1e-5, atol=1e-6)
    assert set(gp1) == set(gp0) and len(gp0) == 10
    for k in gp0:
        np.testing.assert_allclose(gp1[k], gp0[k], rtol=1e-5, atol=1e-6, err_msg=k)
    # the parent traced one graph holding the block's operators and parameters; the
    # block's own symbol is unchanged by the composition
    traced = seq._cached_op.symbol.list_arguments()
    assert set(sym_args) - {"data"} <= set(traced) and traced[0] == "data"
    assert blk._symbol.list_arguments() == sym_args


def test_block_used_twice_in_a_traced_parent():
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    blk = gluon.SymbolBlock(mx.sym.tanh(fc), data)

    class Twice(nn.HybridBlock):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.blk = blk

        def hybrid_forward(self, F, x):
            return self.blk(x) + self.blk(x * 2)

    net = Twice()
    net.initialize()
    x = nd.array(rng.randn(4, 3))
    y0, gx0, gp0 = _run_with_grads(net, x, nd.ones((4, 3)))
    net.hybridize()
    y1, gx1, gp1 = _run_with_grads(net, x, nd.ones((4, 3)))
    w, b = blk.params["fc_weight"].data().asnumpy(), blk.params["fc_bias"].data().asnumpy()
    xv = x.asnumpy()
    expect = np.tanh(xv @ w.T + b) + np.tanh(2 * xv @ w.T + b)
    np.testing.assert_allclose(y0, expect, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y1, expect, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gx1, gx0, rtol=1e-5, atol=1e-6)
    for k in ("fc_weight", "fc_bias"):
        np.testing.assert_allclose(gp1[k], gp0[k], rtol=1e-5, atol=1e-6, err_msg=k)


def _deferred_graph():
    data = mx.sym.var("data")
    c = mx.sym.Convolution(data, num_filter=2, kernel=(3, 3), name="conv")
    b = mx.sym.BatchNorm(c, name="bn")
    return data, mx.sym.FullyConnected(mx.sym.relu(b), num_hidden=3, name="fc")


# shapes MXNet 1.9.1 infers for _deferred_graph on a (2, 3, 5, 5) input
DEFERRED_SHAPES = {"conv_weight": (2, 3, 3, 3), "conv_bias": (2,), "bn_gamma": (2,),
                   "bn_beta": (2,), "fc_weight": (3, 18), "fc_bias": (3,),
                   "bn_moving_mean": (2,), "bn_moving_var": (2,)}


@pytest.mark.parametrize("hybridize", [False, True])
@pytest.mark.parametrize("record", [False, True])
def test_deferred_shapes_inferred_on_first_call(hybridize, record):
    data, out = _deferred_graph()
    net = gluon.SymbolBlock(out, data)
    params = net.collect_params()
    assert params["fc_weight"].shape in (None, (3, 0))  # unknown before the first call
    net.initialize()
    if hybridize:
        net.hybridize()
    x = nd.array(rng.randn(2, 3, 5, 5))
    # train mode: BatchNorm normalises with the batch statistics, whatever the (uniformly
    # initialised) moving variance holds
    with autograd.record() if record else autograd.train_mode():
        y = net(x)
    if record:
        y.backward()
        assert params["conv_weight"].grad().asnumpy().any()
    assert {k: p.shape for k, p in params.items()} == DEFERRED_SHAPES
    assert params["bn_moving_mean"].grad_req == "null"
    # initialize()'s default Uniform(0.07) applies to every parameter, as in MXNet
    # (bn_gamma is left out: fix_gamma writes 1 into it)
    for k, v in params.items():
        if k != "bn_gamma":
            a = v.data().asnumpy()
            assert np.abs(a).max() <= 0.07 and a.any(), k
    # the output is the graph run on the initialised parameters
    p = {k: v.data() for k, v in params.items()}
    with autograd.train_mode():
        c = nd.Convolution(x, p["conv_weight"], p["conv_bias"], num_filter=2, kernel=(3, 3))
        b = nd.BatchNorm(c, p["bn_gamma"], p["bn_beta"], p["bn_moving_mean"],
                         p["bn_moving_var"])
        ref = nd.FullyConnected(nd.relu(b), p["fc_weight"], p["fc_bias"], num_hidden=3)
    np.testing.assert_allclose(y.asnumpy(), ref.asnumpy(), rtol=1e-5, atol=1e-6)
    # later calls with another batch size reuse the parameters
    assert net(nd.array(rng.randn(4, 3, 5, 5))).shape == (4, 3)


def test_deferred_shapes_partly_given():
    # a parameter variable declared with a shape keeps it and constrains the others
    data = mx.sym.var("data")
    w = mx.sym.var("fc_weight", shape=(5, 4))
    out = mx.sym.FullyConnected(data, weight=w, num_hidden=5, name="fc")
    net = gluon.SymbolBlock(out, data)
    net.initialize()
    net.hybridize()
    assert net(nd.ones((2, 4))).shape == (2, 5)
    assert net.params["fc_bias"].shape == (5,)
    bad = gluon.SymbolBlock(out, data)
    bad.initialize()
    with pytest.raises(MXNetError):
        bad(nd.ones((2, 3)))  # the input contradicts the declared weight shape


def test_deferred_shapes_errors():
    data = mx.sym.var("data")
    out = mx.sym.broadcast_add(data, mx.sym.var("w"))
    net = gluon.SymbolBlock(out, data)
    net.initialize()
    # MXNet: ValueError "Deferred initialization failed because shape cannot be inferred"
    with pytest.raises(ValueError, match="cannot be inferred.*'?w'?"):
        net(nd.ones((2, 3)))
    d, g = _deferred_graph()
    uninit = gluon.SymbolBlock(g, d)
    uninit.hybridize()
    with pytest.raises(RuntimeError, match="conv_weight.*not been initialized"):
        uninit(nd.ones((2, 3, 5, 5)))


def test_symbolic_call_composes_the_graph():
    data, out = _deferred_graph()
    net = gluon.SymbolBlock(out, data)
    z = mx.sym.var("z")
    s = net(mx.sym.relu(z))
    assert s.list_arguments()[0] == "z" and "conv_weight" in s.list_arguments()
    assert s.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    assert s.infer_shape(z=(2, 3, 5, 5))[1] == [(2, 3)]
    assert out.list_arguments()[0] == "data"  # the block's own symbol is untouched
    with pytest.raises(ValueError, match="structure"):
        net(z, mx.sym.var("extra"))
    with pytest.raises(MXNetError, match="single-output"):
        net(mx.sym.Group([z, z]))


def test_multi_output_symbol_returns_a_list():
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=4, name="fc")
    for outputs in (mx.sym.Group([fc, mx.sym.relu(fc)]), [fc, mx.sym.relu(fc)]):
        net = gluon.SymbolBlock(outputs, data)
        net.initialize()
        x = nd.array(rng.randn(2, 3))
        for active in (False, True):
            net.hybridize(active)
            y = net(x)
            assert isinstance(y, list) and len(y) == 2
            np.testing.assert_allclose(y[1].asnumpy(), np.maximum(y[0].asnumpy(), 0))
        s = net(mx.sym.var("q"))
        assert isinstance(s, list) and len(s) == 2


def test_input_structure_is_checked():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    net = gluon.SymbolBlock(a * 2 + b, [a, b])
    net.hybridize()
    x = nd.ones((2, 2))
    np.testing.assert_allclose(net(x, x * 3).asnumpy(), np.full((2, 2), 5.0))
    with pytest.raises(ValueError, match=r"2 input\(s\) \['a', 'b'\]"):
        net(x)
    with pytest.raises(ValueError, match="structure"):
        net([x, x])
    with pytest.raises(ValueError, match="Symbol or NDArray"):
        net(np.ones((2, 2)), x)
    net.hybridize(False)
    with pytest.raises(TypeError, match="Symbol or NDArray"):
        net(np.ones((2, 2)), x)


def test_hybridized_symbol_block_exports_and_reimports(tmp_path):
    blk = _lenet_bn()
    blk.hybridize()
    x = nd.array(np.load(FIX / "lenet_bn_input.npy"))
    ref = blk(x).asnumpy()
    blk.export(str(tmp_path / "again"))
    again = gluon.SymbolBlock.imports(str(tmp_path / "again-symbol.json"), ["data"],
                                      str(tmp_path / "again-0000.params"))
    again.hybridize()
    np.testing.assert_allclose(again(x).asnumpy(), ref, rtol=1e-6)


def test_plain_forward_child_is_traced_inside_a_hybridized_parent():
    # the same HybridBlock.__call__ path as a SymbolBlock child: a block overriding forward
    # (MXNet 2.x style) is composed on Symbols while its hybridized parent traces it
    class PlainForward(nn.HybridBlock):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.dense = nn.Dense(3, in_units=4)

        def forward(self, x):
            return self.dense(x).relu()

    seq = nn.HybridSequential()
    seq.add(PlainForward(), nn.Dense(2, in_units=3))
    seq.initialize()
    x = nd.array(rng.randn(2, 4))
    ref = seq(x).asnumpy()
    seq.hybridize()
    np.testing.assert_allclose(seq(x).asnumpy(), ref, rtol=1e-6)
    assert "data" in seq._cached_op.symbol.list_arguments()
