"""The same network trained by Module (SoftmaxOutput) and by hybridized Gluon
(SymbolBlock, or an equivalent HybridSequential, + SoftmaxCrossEntropyLoss + Trainer) from
the same weights with the same momentum SGD: the loss trajectories and the final weights
agree."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, gluon, nd

rng = np.random.RandomState(7)
X = rng.randn(120, 12).astype(np.float32)
Y = rng.randint(0, 4, 120).astype(np.float32)
BATCH, STEPS = 24, 15


def net_symbol():
    d = mx.sym.Variable("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(d, num_hidden=20, name="fc1"), act_type="tanh")
    return mx.sym.FullyConnected(h, num_hidden=4, name="fc2")


INIT = {"fc1_weight": rng.uniform(-0.4, 0.4, (20, 12)).astype(np.float32),
        "fc1_bias": rng.uniform(-0.1, 0.1, 20).astype(np.float32),
        "fc2_weight": rng.uniform(-0.4, 0.4, (4, 20)).astype(np.float32),
        "fc2_bias": np.zeros(4, np.float32)}
OPT = {"learning_rate": 0.3, "momentum": 0.9, "wd": 1e-3}


def batches():
    for step in range(STEPS):
        i = (step * BATCH) % len(X)
        yield X[i:i + BATCH], Y[i:i + BATCH]


def module_run():
    sym = mx.sym.SoftmaxOutput(net_symbol(), name="softmax")
    mod = mx.mod.Module(sym)
    mod.bind([("data", (BATCH, 12))], [("softmax_label", (BATCH,))])
    mod.init_params(arg_params={k: nd.array(v) for k, v in INIT.items()})
    mod.init_optimizer(optimizer="sgd", optimizer_params=OPT)
    losses = []
    for x, y in batches():
        mod.forward_backward(mx.io.DataBatch([nd.array(x)], [nd.array(y)]))
        p = mod.get_outputs()[0].asnumpy()
        losses.append(-np.mean(np.log(p[np.arange(len(y)), y.astype(int)])))
        mod.update()
    return losses, {k: v.asnumpy() for k, v in mod.get_params()[0].items()}


def symbol_block():
    # a SymbolBlock always runs its graph through a CachedOp (compiled)
    return gluon.SymbolBlock(net_symbol(), mx.sym.Variable("data")), list(INIT)


def hybrid_sequential():
    net = gluon.nn.HybridSequential()
    with net.name_scope():
        net.add(gluon.nn.Dense(20, activation="tanh", in_units=12), gluon.nn.Dense(4))
    net.hybridize()
    return net, list(INIT)  # parameters in the same order: weight, bias, weight, bias


def gluon_run(make):
    net, order = make()
    params = net.collect_params()
    names = list(params.keys())
    assert len(names) == len(order)
    for name, k in zip(names, order):
        params[name].shape = INIT[k].shape
    params.initialize(mx.init.Constant(0))
    for name, k in zip(names, order):
        params[name].set_data(nd.array(INIT[k]))
        if k.endswith("_bias"):
            # MXNet's Module names the optimizer's indices, and an Optimizer with names
            # applies no weight decay to parameters not ending in _weight/_gamma; Gluon's
            # Trainer decays every parameter unless told so
            params[name].wd_mult = 0.0
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(params, "sgd", OPT)
    losses = []
    for x, y in batches():
        with autograd.record():
            loss = loss_fn(net(nd.array(x)), nd.array(y))
        loss.backward()
        trainer.step(BATCH)
        losses.append(float(loss.mean().asscalar()))
    return losses, {k: params[n].data().asnumpy() for n, k in zip(names, order)}


@pytest.mark.parametrize("make", [symbol_block, hybrid_sequential])
def test_module_and_hybridized_gluon_train_identically(make):
    m_loss, m_params = module_run()
    g_loss, g_params = gluon_run(make)
    np.testing.assert_allclose(m_loss, g_loss, rtol=1e-4, atol=1e-6)
    assert m_loss[-1] < m_loss[0]
    for k in INIT:
        np.testing.assert_allclose(m_params[k], g_params[k], rtol=1e-4, atol=1e-5, err_msg=k)
