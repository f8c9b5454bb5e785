"""Gluon Trainer driving a KVStore: objects as well as type names, MXNet's choice of
update_on_kvstore, gradients reduced (or weights updated) through the store, states."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.gluon import Parameter, Trainer

CTX2 = [mx.cpu(0), mx.cpu(1)]


def param(value, ctx=None, name="w"):
    value = np.asarray(value, dtype=np.float32)
    p = Parameter(name, shape=value.shape)
    p.initialize(mx.init.Constant(0), ctx=ctx or mx.cpu())
    p.set_data(nd.array(value))
    return p


def backward(p, grads, ctxs):
    for g, c in zip(grads, ctxs):
        with autograd.record():
            loss = (p.data(c) * nd.array(g, ctx=c)).sum()
        loss.backward()


def test_kvstore_object_is_used_even_with_one_context():
    kv = mx.kv.create("local")
    p = param([1.0, 2.0])
    tr = Trainer([p], "sgd", {"learning_rate": 0.1}, kvstore=kv)
    backward(p, [[1.0, 2.0]], [mx.cpu()])
    tr.step(1)
    assert tr._kvstore is kv and tr._update_on_kvstore is True
    np.testing.assert_allclose(p.data().asnumpy(), [0.9, 1.8], rtol=1e-6)
    stored = nd.zeros((2,))
    kv.pull(0, out=stored)  # the store holds the weight (key: the parameter's index)
    np.testing.assert_allclose(stored.asnumpy(), [0.9, 1.8], rtol=1e-6)
    with pytest.raises(AssertionError, match="allreduce_grads\\(\\) when parameters are "
                                             "updated on kvstore"):
        tr.allreduce_grads()


def test_kvstore_object_reduces_gradients_without_update_on_kvstore():
    kv = mx.kv.create("device")
    p = param([1.0], ctx=CTX2)
    tr = Trainer([p], "sgd", {"learning_rate": 1.0}, kvstore=kv, update_on_kvstore=False)
    backward(p, [[1.0], [3.0]], CTX2)
    tr.allreduce_grads()
    assert [g.asscalar() for g in p.list_grad()] == [4.0, 4.0]
    tr.update(2)
    assert [d.asscalar() for d in p.list_data()] == [-1.0, -1.0]
    assert tr._kvstore is kv and kv._updater is None  # the store only sums


def test_store_that_cannot_run_optimizers():
    p = param([1.0], ctx=CTX2)
    tr = Trainer([p], "sgd", {"learning_rate": 1.0}, kvstore=mx.kv.create("teststore"))
    backward(p, [[1.0], [3.0]], CTX2)
    tr.step(1)
    assert tr._update_on_kvstore is False
    assert [d.asscalar() for d in p.list_data()] == [-3.0, -3.0]
    q = param([1.0], ctx=CTX2)
    tr = Trainer([q], "sgd", kvstore=mx.kv.create("teststore"), update_on_kvstore=True)
    backward(q, [[1.0], [3.0]], CTX2)
    with pytest.raises(ValueError, match="Please set update_on_kvstore=False"):
        tr.step(1)


def test_update_on_kvstore_from_environment(monkeypatch):
    monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", "0")
    p = param([1.0], ctx=CTX2)
    tr = Trainer([p], "sgd")
    backward(p, [[1.0], [1.0]], CTX2)
    tr.step(1)
    assert tr._update_on_kvstore is False and tr._kvstore.type == "device"


@pytest.mark.parametrize("kvstore", ["device", "local"])
def test_save_and_load_states_with_update_on_kvstore(tmp_path, kvstore):
    def make():
        p = param([1.0, -1.0], ctx=CTX2)
        return p, Trainer([p], "adam", {"learning_rate": 0.1}, kvstore=kvstore)

    a, ta = make()
    for s in range(2):
        backward(a, [[1.0, s], [2.0, -s]], CTX2)
        ta.step(2)
    f = str(tmp_path / "t.states")
    ta.save_states(f)
    b, tb = make()
    backward(b, [[0.0, 0.0]] * 2, CTX2)
    tb.step(1)  # creates b's store (and an Adam state) before the load
    b.set_data(a.data())
    tb.load_states(f)
    assert tb._update_on_kvstore and tb.optimizer is tb._kvstore._updater.optimizer
    for s in range(3):
        for p, t in ((a, ta), (b, tb)):
            backward(p, [[0.5, s], [1.0, 2.0]], CTX2)
            t.step(2)
    for da, db in zip(a.list_data(), b.list_data()):
        np.testing.assert_array_equal(da.asnumpy(), db.asnumpy())


def test_set_data_resyncs_the_store_and_keeps_optimizer_states():
    p = param([1.0], ctx=CTX2)
    tr = Trainer([p], "sgd", {"learning_rate": 1.0, "momentum": 0.5})
    backward(p, [[1.0], [1.0]], CTX2)
    tr.step(1)  # weight 1 - 2 = -1, momentum -2
    store = tr._kvstore
    p.set_data(nd.array([10.0]))
    backward(p, [[1.0], [1.0]], CTX2)
    tr.step(1)  # momentum 0.5 * -2 - 2 = -3: weight 10 - 3
    assert tr._kvstore is store
    assert [d.asscalar() for d in p.list_data()] == [7.0, 7.0]


def test_stale_gradient_leaves_store_untouched():
    p, q = param([1.0], ctx=CTX2, name="p"), param([1.0], ctx=CTX2, name="q")
    tr = Trainer([p, q], "sgd", {"learning_rate": 1.0})
    backward(p, [[1.0], [1.0]], CTX2)
    backward(q, [[1.0], [1.0]], CTX2)
    tr.step(1)
    backward(p, [[1.0], [1.0]], CTX2)  # q is stale
    with pytest.raises(UserWarning, match="Gradient of Parameter `q`"):
        tr.step(1)
    assert [d.asscalar() for d in p.list_data()] == [-1.0, -1.0]  # nothing was updated
    tr.step(1, ignore_stale_grad=True)
    assert [d.asscalar() for d in p.list_data()] == [-3.0, -3.0]
    assert [d.asscalar() for d in q.list_data()] == [-1.0, -1.0]
