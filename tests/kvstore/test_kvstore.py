"""mx.kv: create, init/push/pull/pushpull/broadcast, updaters and errors (MXNet 1.9.1's
local KVStore semantics, checked against MXNet by hand and in test_kvstore_mxnet.py)."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError

SHAPE = (2, 3)
CTXS = [mx.cpu(i) for i in range(4)]


def pulled(kv, key, ctx=None):
    out = nd.zeros(SHAPE, ctx=ctx or mx.cpu())
    kv.pull(key, out=out)
    return out.asnumpy()


# --- create -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["local", "device", "local_update_cpu", "local_allreduce_cpu",
                                  "local_allreduce_device"])
def test_create_local_types(name):
    kv = mx.kv.create(name)
    assert isinstance(kv, mx.kv.KVStore) and isinstance(kv, mx.kv.KVStoreBase)
    assert (kv.type, kv.rank, kv.num_workers) == (name, 0, 1)
    assert mx.kvstore.create(name.upper()).type == name
    assert kv.is_capable("optimizer") and kv.is_capable(mx.kv.KVStoreBase.OPTIMIZER)
    with pytest.raises(ValueError, match="Unknown capability: foo"):
        kv.is_capable("foo")
    kv._barrier()  # one worker: returns at once


def test_create_default_and_errors():
    assert mx.kv.create().type == "local"
    # dist_sync/dist_device_sync/horovod exist (tests/kvstore/test_dist*.py)
    for name, needs in [("dist_async", "asynchronous parameter servers"), ("nccl", "NCCL"),
                        ("byteps", "BytePS")]:
        with pytest.raises(NotImplementedError, match=f"{name}.*{needs}"):
            mx.kv.create(name)
    with pytest.raises(ValueError, match="unknown kvstore type 'foo'"):
        mx.kv.create("foo")
    with pytest.raises(TypeError, match="name must be a string"):
        mx.kv.create(3)


def test_registered_store_and_teststore():
    kv = mx.kv.create("teststore")
    assert kv.type == "teststore" and not kv.is_capable("optimizer")
    vals = [nd.ones(SHAPE, ctx=c) * (i + 1) for i, c in enumerate(CTXS[:3])]
    kv.pushpull(0, vals)
    for v in vals:
        np.testing.assert_array_equal(v.asnumpy(), np.full(SHAPE, 6.0))
    out = nd.zeros(SHAPE)
    kv.broadcast(0, nd.ones(SHAPE) * 3, out)
    np.testing.assert_array_equal(out.asnumpy(), np.full(SHAPE, 3.0))

    @mx.kv.KVStoreBase.register
    class MyStore(mx.kv.TestStore):
        pass
    assert type(mx.kv.create("mystore")) is MyStore
    with pytest.warns(UserWarning, match="overriding existing kvstore"):
        mx.kv.KVStoreBase.register(MyStore)
    del mx.kv.KVStoreBase.kv_registry["mystore"]


# --- push / pull --------------------------------------------------------------------------------
def test_push_assigns_the_sum_without_updater():
    kv = mx.kv.create("local")
    kv.init(3, nd.ones(SHAPE) * 2)
    np.testing.assert_array_equal(pulled(kv, 3), np.full(SHAPE, 2.0))
    kv.push(3, nd.ones(SHAPE) * 8)
    np.testing.assert_array_equal(pulled(kv, 3), np.full(SHAPE, 8.0))
    kv.push(3, [nd.ones(SHAPE, ctx=c) for c in CTXS])  # summed over devices, then assigned
    np.testing.assert_array_equal(pulled(kv, 3), np.full(SHAPE, 4.0))
    kv.push([3, 3], [nd.ones(SHAPE), nd.ones(SHAPE) * 2])  # a repeated key is summed too
    np.testing.assert_array_equal(pulled(kv, 3), np.full(SHAPE, 3.0))


def test_init_copies_and_stores_on_the_right_device():
    v = nd.ones(SHAPE, ctx=mx.cpu(2))
    local, device = mx.kv.create("local"), mx.kv.create("device")
    local.init(0, v)
    device.init(0, v)
    v[:] = 7  # the store holds a copy
    assert local._store[0].context == mx.cpu(0) and device._store[0].context == mx.cpu(2)
    np.testing.assert_array_equal(pulled(local, 0), np.ones(SHAPE))
    np.testing.assert_array_equal(pulled(device, 0, mx.cpu(1)), np.ones(SHAPE))


def test_string_keys_and_lists_of_keys():
    kv = mx.kv.create("device")
    keys = ["5", "7", "9"]
    kv.init(keys, [nd.ones(SHAPE) * k for k in (5, 7, 9)])
    outs = [[nd.zeros(SHAPE, ctx=c) for c in CTXS[:2]], nd.zeros(SHAPE), [nd.zeros(SHAPE)]]
    kv.pull(keys, out=outs)
    for o in outs[0]:
        np.testing.assert_array_equal(o.asnumpy(), np.full(SHAPE, 5.0))
    np.testing.assert_array_equal(outs[1].asnumpy(), np.full(SHAPE, 7.0))
    np.testing.assert_array_equal(outs[2][0].asnumpy(), np.full(SHAPE, 9.0))
    kv.push(keys, [[nd.ones(SHAPE, ctx=c) for c in CTXS]] * 3)
    np.testing.assert_array_equal(pulled(kv, "7"), np.full(SHAPE, 4.0))


def test_pushpull_and_broadcast():
    kv = mx.kv.create("local")
    kv.init(0, nd.zeros(SHAPE))
    vals = [nd.ones(SHAPE, ctx=c) * (i + 1) for i, c in enumerate(CTXS[:3])]
    kv.pushpull(0, vals)  # out=None: written back into the pushed arrays
    for v in vals:
        np.testing.assert_array_equal(v.asnumpy(), np.full(SHAPE, 6.0))
    out = nd.zeros(SHAPE)
    kv.pushpull(0, nd.ones(SHAPE) * 8, out=out)
    np.testing.assert_array_equal(out.asnumpy(), np.full(SHAPE, 8.0))
    outs = [nd.zeros(SHAPE, ctx=c) for c in CTXS[:2]]
    kv.broadcast(1, nd.ones(SHAPE) * 5, out=outs)
    for o in outs:
        np.testing.assert_array_equal(o.asnumpy(), np.full(SHAPE, 5.0))
    with pytest.raises(MXNetError, match="duplicate init of key 1"):
        kv.broadcast(1, nd.ones(SHAPE), out=outs)


def test_pull_converts_dtype():
    kv = mx.kv.create("local")
    kv.init(0, nd.zeros(SHAPE, dtype="float16"))
    kv.push(0, nd.ones(SHAPE))
    out = nd.zeros(SHAPE)
    kv.pull(0, out=out)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.asnumpy(), np.ones(SHAPE))


# --- updaters ---------------------------------------------------------------------------------
def test_set_optimizer_updates_on_push():
    kv = mx.kv.create()
    kv.init(3, nd.zeros((2, 2)))
    kv.set_optimizer(mx.optimizer.SGD())
    kv.push(3, nd.ones((2, 2)))
    w = nd.zeros((2, 2))
    kv.pull(3, out=w)
    np.testing.assert_allclose(w.asnumpy(), np.full((2, 2), -0.01), rtol=1e-6)
    with pytest.raises(TypeError, match="optimizer: expected an mx.optimizer.Optimizer"):
        kv.set_optimizer("sgd")


def test_custom_updater_gets_key_merged_and_stored():
    calls = []

    def update(key, inp, stored):
        calls.append((key, inp.asnumpy().copy(), stored.context))
        stored += inp * 2

    kv = mx.kv.create("local")
    kv._set_updater(update)
    kv.init("w", nd.ones(SHAPE) * 2)
    kv.push("w", [nd.ones(SHAPE, ctx=c) for c in CTXS[1:3]])
    np.testing.assert_array_equal(pulled(kv, "w"), np.full(SHAPE, 6.0))
    key, merged, ctx = calls[0]
    assert key == b"w"  # as from MXNet's C API: string keys arrive as bytes
    np.testing.assert_array_equal(merged, np.full(SHAPE, 2.0))
    assert ctx == mx.cpu(0)
    kv2 = mx.kv.create("local")
    kv2._set_updater(update)
    kv2.init(7, nd.ones(SHAPE))
    kv2.push(7, nd.ones(SHAPE))
    assert calls[-1][0] == 7
    with pytest.raises(TypeError, match="updater: expected a callable"):
        kv._set_updater(3)


def test_optimizer_states_save_and_load(tmp_path):
    def train(kv, steps):
        for s in range(steps):
            kv.push("w", [nd.ones((4,), ctx=c) * (s + 1) for c in CTXS[:2]])
        out = nd.zeros((4,))
        kv.pull("w", out=out)
        return out.asnumpy()

    a = mx.kv.create("device")
    a.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9))
    a.init("w", nd.ones((4,)))
    train(a, 2)
    f = str(tmp_path / "states")
    a.save_optimizer_states(f, dump_optimizer=True)
    b = mx.kv.create("device")
    b.set_optimizer(mx.optimizer.SGD(learning_rate=0.5))
    b.init("w", nd.array(train(a, 0)))
    b.load_optimizer_states(f)
    assert b._updater.optimizer.momentum == 0.9  # the dumped optimizer replaced SGD(0.5)
    np.testing.assert_array_equal(train(b, 3), train(a, 3))
    bare = mx.kv.create("local")
    with pytest.raises(AssertionError, match="no optimizer; call set_optimizer"):
        bare.save_optimizer_states(f)
    with pytest.raises(AssertionError, match="no optimizer"):
        bare.load_optimizer_states(f)
    bare._set_updater(lambda k, i, s: None)
    with pytest.raises(TypeError, match="plain function"):
        bare.save_optimizer_states(f)
    with pytest.raises(TypeError, match="fname must be a file name"):
        a.save_optimizer_states(3)


# --- gradient compression ---------------------------------------------------------------------
def test_2bit_compression_with_residual():
    kv = mx.kv.create("device")
    kv.set_gradient_compression({"type": "2bit", "threshold": 0.5})
    kv.init(1, nd.zeros((4,)))
    g = [0.3, 0.6, -0.7, 1.2]
    out = nd.zeros((4,))
    kv.push(1, [nd.array(g, ctx=c) for c in CTXS[:2]])
    kv.pull(1, out=out)
    np.testing.assert_array_equal(out.asnumpy(), [0, 1, -1, 1])  # MXNet 1.9.1's numbers
    kv.push(1, [nd.array(g, ctx=c) for c in CTXS[:2]])  # residual 0.3 + 0.3 crosses 0.5
    kv.pull(1, out=out)
    np.testing.assert_array_equal(out.asnumpy(), [1, 1, -1, 1])


def test_compression_errors():
    with pytest.raises(MXNetError, match="not supported for this type of kvstore"):
        mx.kv.create("local").set_gradient_compression({"type": "2bit"})
    kv = mx.kv.create("local_allreduce_device")
    kv.set_gradient_compression({"type": "2bit"})
    assert kv._compression.threshold == 0.5
    with pytest.raises(MXNetError, match="Unknown type for gradient compression 1bit"):
        kv.set_gradient_compression({"type": "1bit"})
    with pytest.raises(MXNetError, match="Required parameter type"):
        kv.set_gradient_compression({"threshold": 0.5})
    with pytest.raises(MXNetError, match="threshold must be greater than 0"):
        kv.set_gradient_compression({"type": "2bit", "threshold": 0})
    with pytest.raises(ValueError, match="unknown keys \\['foo'\\]"):
        kv.set_gradient_compression({"type": "2bit", "foo": 1})
    with pytest.raises(TypeError, match="compression_params: expected a dict"):
        kv.set_gradient_compression("2bit")


# --- errors -----------------------------------------------------------------------------------
def test_errors_are_early_and_clear():
    kv = mx.kv.create("local")
    kv.init(3, nd.ones(SHAPE))
    a = nd.zeros(SHAPE)
    with pytest.raises(MXNetError, match="key 5 has not been inited"):
        kv.push(5, nd.ones(SHAPE))
    with pytest.raises(MXNetError, match="key 6 has not been inited"):
        kv.pull(6, out=a)
    with pytest.raises(MXNetError, match="duplicate init of key 3"):
        kv.init(3, nd.ones(SHAPE))
    with pytest.raises(MXNetError, match="duplicate init of key 4"):
        kv.init([4, 4], [nd.ones(SHAPE), nd.ones(SHAPE)])
    assert 4 not in kv._store  # a failing call changes nothing
    with pytest.raises(MXNetError, match="operands shape mismatch.*\\(3, 3\\)"):
        kv.push(3, nd.ones((3, 3)))
    with pytest.raises(MXNetError, match="operands shape mismatch"):
        kv.pull(3, out=nd.ones((3, 3)))
    with pytest.raises(MXNetError, match="operands shape mismatch"):
        kv.push(3, [nd.ones(SHAPE), nd.ones((3, 3))])
    np.testing.assert_array_equal(pulled(kv, 3), np.ones(SHAPE))
    with pytest.raises(AssertionError, match="out must be given"):
        kv.pull(3)
    with pytest.raises(MXNetError, match="Mixed key types are not allowed"):
        kv.init("3", nd.ones(SHAPE))
    with pytest.raises(AssertionError, match="inconsistent types of keys detected"):
        mx.kv.create().init(["a", 4], [nd.ones(SHAPE)] * 2)
    with pytest.raises(AssertionError, match="unexpected type for keys"):
        kv.init(3.0, nd.ones(SHAPE))
    with pytest.raises(TypeError, match="value: expected an NDArray"):
        kv.init(9, 3)
    with pytest.raises(TypeError, match="holding ndarray"):
        kv.push(3, [np.ones(SHAPE)])
    with pytest.raises(AssertionError, match="one value per key \\(2 keys\\), got 1"):
        kv.init([10, 11], [nd.ones(SHAPE)])
    with pytest.raises(TypeError, match="priority: expected an int"):
        kv.push(3, nd.ones(SHAPE), priority=0.5)
    with pytest.raises(TypeError, match="ignore_sparse: expected a bool"):
        kv.pull(3, out=a, ignore_sparse=None)
