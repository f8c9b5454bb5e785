"""KVStore and Trainer numbers against MXNet 1.9.1 (fixtures from
tests/fixtures/gen/kvstore_mxnet.py): assignment, optimizers run on the store, a custom
updater, 2-bit compression, and an optimizer-state file written by MXNet."""
import json
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "kvstore"
REF = json.loads((FIX / "kvstore_mxnet.json").read_text())
CTX = [mx.cpu(i) for i in range(3)]
G = np.array([[0.3, 0.6, -0.7, 1.2], [0.1, -0.4, 0.9, 2.0], [-1.1, 0.2, 0.05, -0.3]],
             dtype=np.float32)


def pushes(kv, key, n_steps, n_ctx, scale=1.0):
    out = []
    for step in range(n_steps):
        kv.push(key, [nd.array(G[i] * (step + 1) * scale, ctx=CTX[i]) for i in range(n_ctx)])
        a = nd.zeros((4,))
        kv.pull(key, out=a)
        out.append(a.asnumpy())
    return out


def check(got, name):
    np.testing.assert_allclose(np.array(got), np.array(REF[name], dtype=np.float32),
                               rtol=1e-6, atol=1e-7)


def test_assign():
    kv = mx.kv.create("local")
    kv.init(3, nd.ones((4,)))
    check(pushes(kv, 3, 2, 3), "assign")


def test_sgd_on_store_and_mxnet_states_file(tmp_path):
    kv = mx.kv.create("device")
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, wd=0.01))
    kv.init("w", nd.ones((4,)))
    check(pushes(kv, "w", 3, 2), "sgd_momentum")
    check(pushes(kv, "w", 2, 2, scale=-0.5), "sgd_momentum_continued")
    # a fresh store given MXNet's saved states continues exactly like MXNet did
    kv2 = mx.kv.create("device")
    kv2.set_optimizer(mx.optimizer.SGD(learning_rate=0.3))
    kv2.init("w", nd.array(REF["sgd_momentum"][-1]))
    kv2.load_optimizer_states(str(FIX / "sgd_states.bin"))
    check(pushes(kv2, "w", 2, 2, scale=-0.5), "sgd_momentum_continued")


def test_adam_on_store_with_string_keys():
    kv = mx.kv.create("local")
    kv.set_optimizer(mx.optimizer.Adam(learning_rate=0.05, rescale_grad=0.5))
    kv.init(["a", "b"], [nd.ones((4,)), nd.zeros((4,))])
    check(pushes(kv, "a", 3, 3), "adam_a")
    check(pushes(kv, "b", 2, 1), "adam_b")


def test_custom_updater():
    def upd(key, inp, stored):
        stored *= 0.5
        stored += inp * 2

    kv = mx.kv.create("local")
    kv._set_updater(upd)
    kv.init(0, nd.ones((4,)))
    check(pushes(kv, 0, 2, 2), "custom_updater")


@pytest.mark.parametrize("thr", [0.5, 0.3])
def test_2bit_compression(thr):
    kv = mx.kv.create("device")
    kv.set_gradient_compression({"type": "2bit", "threshold": thr})
    kv.init(1, nd.zeros((4,)))
    check(pushes(kv, 1, 4, 2), f"2bit_{thr}")


def test_2bit_compression_of_a_single_push():
    kv = mx.kv.create("device")
    kv.set_gradient_compression({"type": "2bit"})
    kv.init(1, nd.zeros((4,)))
    check(pushes(kv, 1, 3, 1), "2bit_single")


@pytest.mark.parametrize("uok", [None, False])
def test_trainer_with_compression(uok):
    p = mx.gluon.Parameter("w", shape=(4,))
    p.initialize(mx.init.Constant(1.0), ctx=CTX[:2])
    tr = mx.gluon.Trainer([p], "sgd", {"learning_rate": 1.0, "momentum": 0.5},
                          compression_params={"type": "2bit", "threshold": 0.5},
                          update_on_kvstore=uok)
    steps = []
    for _ in range(3):
        for i, c in enumerate(CTX[:2]):
            x = nd.array(G[0] * (i + 1), ctx=c)
            with mx.autograd.record():
                y = (p.data(c) * x).sum()
            y.backward()
        tr.step(1)
        steps.append(p.data(CTX[1]).asnumpy())
    check(steps, f"trainer_2bit_{uok}")
    assert isinstance(tr._kvstore, mx.kv.KVStore) and tr._kvstore.type == "device"
