"""Worker script for tests/kvstore/test_dist.py, run on 2 MPI processes:

    python -m gluonlite.launch -n 2 tests/kvstore/dist_worker.py SCENARIO OUTDIR

Each scenario asserts what it can inside the workers (a failed assert aborts the job) and
saves arrays to OUTDIR for the test to compare with a single-process reference.
"""
import os
import sys
import time

import numpy as np

import gluonlite as mx
from gluonlite import autograd, gluon, nd
from gluonlite.base import MXNetError

SCENARIO, OUT = sys.argv[1], sys.argv[2]
B = 4            # per-worker batch
N_STEPS = 3


def data(n=2 * B * N_STEPS, d=5, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, d).astype(np.float32)
    y = (x @ rng.randn(d, 3)).astype(np.float32)
    return x, y


def net_on(seed):
    mx.random.seed(seed)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(8, activation="relu", in_units=5), gluon.nn.Dense(3, in_units=8))
    net.initialize(mx.init.Xavier())
    return net


def params_of(net):
    # by position: the name prefixes count up with every new net
    return {f"p{i}": v.data().asnumpy()
            for i, v in enumerate(net.collect_params().values())}


def train(net, trainer, batches, batch_size):
    loss_fn = gluon.loss.L2Loss()
    for xb, yb in batches:
        with autograd.record():
            loss = loss_fn(net(nd.array(xb)), nd.array(yb))
        loss.backward()
        trainer.step(batch_size)


def scenario_kvstore(kv):
    r, n = kv.rank, kv.num_workers
    assert n == 2, n
    shape = (2, 3)
    # init keeps rank 0's value; push sums over devices and workers
    kv.init(3, nd.ones(shape) * (r + 1))
    out = nd.zeros(shape)
    kv.pull(3, out=out)
    np.testing.assert_array_equal(out.asnumpy(), np.ones(shape))
    kv.push(3, [nd.ones(shape) * (r + 1), nd.ones(shape, ctx=mx.cpu(1))])
    kv.pull(3, out=out)
    np.testing.assert_array_equal(out.asnumpy(), np.full(shape, 1 + 2 + 1 + 1))
    # pushpull of several keys and dtypes in one fused call (tiny buckets: several)
    keys = ["a", "b", "c"]
    vals = [nd.ones((3,)) * (r + 1), nd.ones((50, 7), dtype="float64") * r,
            nd.array(np.arange(4) + r, dtype="int32")]
    kv2 = mx.kv.create("dist_sync")
    kv2.init(keys, [v.copy() for v in vals])
    kv2.pushpull(keys, vals)
    np.testing.assert_array_equal(vals[0].asnumpy(), np.full(3, 3.0))
    np.testing.assert_array_equal(vals[1].asnumpy(), np.full((50, 7), 1.0))
    np.testing.assert_array_equal(vals[2].asnumpy(), 2 * np.arange(4) + 1)
    assert vals[2].dtype == np.int32
    # broadcast: every worker gets rank 0's value
    dst = [nd.zeros(shape), nd.zeros(shape, ctx=mx.cpu(1))]
    kv2.broadcast("w", nd.ones(shape) * (10 + r), out=dst)
    for d in dst:
        np.testing.assert_array_equal(d.asnumpy(), np.full(shape, 10.0))
    # an optimizer on the store: every replica runs the same update on the summed grad
    kv3 = mx.kv.create("dist_device_sync")
    assert kv3.type == "dist_device_sync" and kv3.is_capable("optimizer")
    kv3.set_optimizer(mx.optimizer.SGD(learning_rate=0.5))
    kv3.init(0, nd.ones(shape) * (r + 7))
    w = nd.zeros(shape)
    kv3.pushpull(0, nd.ones(shape) * (r + 1), out=w)
    np.testing.assert_allclose(w.asnumpy(), np.full(shape, 7 - 0.5 * 3))
    # gradient compression: accepted by dist_sync, refused by horovod
    kv3.set_gradient_compression({"type": "2bit", "threshold": 0.5})
    hv = mx.kv.create("horovod")
    assert not hv.is_capable("optimizer")
    try:
        hv.set_gradient_compression({"type": "2bit"})
        raise AssertionError("horovod accepted compression")
    except MXNetError as e:
        assert "not supported" in str(e)
    # numpy allreduce, metric across workers, barrier
    np.testing.assert_array_equal(kv.allreduce(np.array([r, 1.0])), [1.0, 2.0])
    metric = mx.metric.Accuracy()
    metric.update([nd.array([0, 1])], [nd.array([[1, 0], [0, 1]] if r == 0 else
                                                [[1, 0], [1, 0]])])
    total = mx.metric.reduce_across_workers(metric, kv)
    assert total.get() == ("accuracy", 3 / 4), total.get()
    assert metric.get() == ("accuracy", 1.0 if r == 0 else 0.5)
    kv.barrier()
    # ignore_stale_grad: w2 is used on rank 0 only, w3 nowhere; all replicas stay equal
    for uok in (False, True):
        params = [gluon.Parameter(f"w{i}", shape=(2,), init=mx.init.One()) for i in (1, 2, 3)]
        for p in params:
            p.initialize()
        trainer = gluon.Trainer(params, "sgd", {"learning_rate": 0.5}, kvstore="dist_sync",
                                update_on_kvstore=uok)
        for _ in range(2):
            with autograd.record():
                loss = params[0].data().sum() * (r + 1)
                if r == 0:
                    loss = loss + params[1].data().sum() * 3
            loss.backward()
            trainer.step(1, ignore_stale_grad=True)
        got = [p.data().asnumpy() for p in params]
        np.testing.assert_allclose(got[0], 1 - 2 * 0.5 * 3)   # grads 1 + 2 summed
        np.testing.assert_allclose(got[1], 1 - 2 * 0.5 * 3)   # rank 0's 3 (+ rank 1's 0)
        np.testing.assert_allclose(got[2], 1)                 # stale everywhere: skipped
        for g in got:
            np.testing.assert_array_equal(kv.allreduce(g), 2 * g)  # same on both ranks
    # data sharding: Dataset.shard and SplitSampler give each worker its own samples
    ds = gluon.data.ArrayDataset(np.arange(11, dtype=np.float32))
    seen = np.zeros(11)
    for s in ds.shard(n, r):
        seen[int(s)] += 1
    np.testing.assert_array_equal(kv.allreduce(seen), np.ones(11))
    split = gluon.data.SplitSampler(11, n, r)
    assert len(split) == 5
    seen = np.zeros(11)
    for i in split:
        seen[i] += 1
    np.testing.assert_array_equal(kv.allreduce(seen), np.r_[np.ones(10), 0])


def scenario_trainer(kv):
    r, n = kv.rank, kv.num_workers
    x, y = data()
    shard = gluon.data.ArrayDataset(x, y).shard(n, r)
    loader = gluon.data.DataLoader(shard, batch_size=B, shuffle=False)
    results = {}
    for kvtype, uok in (("dist_sync", None), ("dist_sync", True), ("dist_device_sync", None),
                        ("horovod", None)):
        net = net_on(seed=1 + r)         # different on every worker: broadcast must fix it
        init = params_of(net)
        trainer = gluon.Trainer(net.collect_params(), "sgd",
                                {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-3},
                                kvstore=kvtype, update_on_kvstore=uok)
        train(net, trainer, [(xb.asnumpy(), yb.asnumpy()) for xb, yb in loader], B * n)
        expect_uok = bool(uok) or kvtype == "dist_device_sync"
        assert trainer._update_on_kvstore == expect_uok, (kvtype, trainer._update_on_kvstore)
        tag = f"{kvtype}_{uok}"
        for k, v in params_of(net).items():
            results[f"{tag}/final/{k}"] = v
            results[f"{tag}/init/{k}"] = init[k]
    if r == 0:
        # the reference: one process, rank 0's initial parameters, batch n * B, the
        # samples of both workers' batch i together (shard: contiguous halves)
        net = net_on(seed=1)
        trainer = gluon.Trainer(net.collect_params(), "sgd",
                                {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-3},
                                kvstore=None)
        half = len(x) // n
        batches = [(np.concatenate([x[p * half + i * B:p * half + (i + 1) * B]
                                    for p in range(n)]),
                    np.concatenate([y[p * half + i * B:p * half + (i + 1) * B]
                                    for p in range(n)])) for i in range(half // B)]
        train(net, trainer, batches, B * n)
        for k, v in params_of(net).items():
            results[f"reference/{k}"] = v
    np.savez(os.path.join(OUT, f"rank{r}.npz"), **results)


def module_for(x, y, batch, seed, arg_params=None, kvstore="dist_sync", uok_env="1"):
    os.environ["MXNET_UPDATE_ON_KVSTORE"] = uok_env
    data_ = mx.sym.Variable("data")
    fc1 = mx.sym.FullyConnected(data_, num_hidden=8, name="fc1")
    act = mx.sym.Activation(fc1, act_type="relu")
    fc2 = mx.sym.FullyConnected(act, num_hidden=3, name="fc2")
    out = mx.sym.LinearRegressionOutput(fc2, name="lro")
    it = mx.io.NDArrayIter(x, y, batch_size=batch, shuffle=False, label_name="lro_label")
    mod = mx.mod.Module(out, data_names=["data"], label_names=["lro_label"])
    mx.random.seed(seed)
    mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
    mod.init_params(mx.init.Xavier(), arg_params=arg_params)
    init = {k: v.asnumpy() for k, v in mod.get_params()[0].items()}  # fit updates in place
    mod.fit(it, num_epoch=2, kvstore=kvstore, optimizer="sgd", eval_metric="mse",
            optimizer_params={"learning_rate": 0.05, "momentum": 0.9})
    args, _ = mod.get_params()
    return init, {k: v.asnumpy() for k, v in args.items()}


def scenario_module(kv):
    r, n = kv.rank, kv.num_workers
    x, y = data()
    half = len(x) // n
    results = {}
    init0 = None
    for uok in ("1", "0"):
        init, final = module_for(x[r * half:(r + 1) * half], y[r * half:(r + 1) * half], B,
                                 seed=1 + r, uok_env=uok)
        if r == 0:
            init0 = init
        for k in final:
            results[f"uok{uok}/final/{k}"] = final[k]
            results[f"uok{uok}/init/{k}"] = init[k]
    if r == 0:
        order = np.concatenate([np.r_[p * half + i * B:p * half + (i + 1) * B]
                                for i in range(half // B) for p in range(n)])
        _, ref = module_for(x[order], y[order], B * n, seed=1, kvstore="local",
                            arg_params={k: nd.array(v) for k, v in init0.items()})
        for k in ref:
            results[f"reference/{k}"] = ref[k]
    np.savez(os.path.join(OUT, f"rank{r}.npz"), **results)


def scenario_fault(kv, how):
    r = kv.rank
    x, y = data()
    net = net_on(seed=1)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1},
                            kvstore=kv)
    loss_fn = gluon.loss.L2Loss()
    for step in range(1000):
        if r == 1 and step == 3:
            if how == "die":
                os._exit(3)
            if how == "raise":
                raise RuntimeError("worker 1 failed on purpose")
            if how == "hang":
                time.sleep(120)
        with autograd.record():
            loss = loss_fn(net(nd.array(x[:B])), nd.array(y[:B]))
        loss.backward()
        trainer.step(2 * B)
    print("unreachable: training finished", flush=True)


if __name__ == "__main__":
    kv = mx.kv.create("dist_sync")
    if SCENARIO == "kvstore":
        scenario_kvstore(kv)
    elif SCENARIO == "trainer":
        scenario_trainer(kv)
    elif SCENARIO == "module":
        scenario_module(kv)
    elif SCENARIO in ("die", "raise", "hang"):
        scenario_fault(kv, SCENARIO)
    else:
        raise SystemExit(f"unknown scenario {SCENARIO!r}")
    kv.barrier()
    print(f"OK rank {kv.rank}", flush=True)
