"""Optimizers and the Trainer on a GPU (CuPy arrays) give the CPU's numbers. Skipped
without a CUDA GPU."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite import optimizer as opt
from gluonlite.gluon import Parameter
from gluonlite.gluon.trainer import Trainer

pytestmark = pytest.mark.gpu

RANDOM = {"sgld"}
KWARGS = {"rmsprop": {"centered": True, "clip_weights": 0.5}, "lamb": {"lower_bound": 0.1},
          "signum": {"wd_lh": 0.01}, "lbsgd": {"warmup_strategy": "lars"}}


def _run(name, ctx, dtype="float32", multi_precision=False):
    rng = np.random.RandomState(0)
    o = opt.create(name, learning_rate=0.01, momentum=0.9, wd=0.01, clip_gradient=0.5,
                   multi_precision=multi_precision, **KWARGS.get(name, {})) \
        if name in ("sgd", "nag", "lars", "lbsgd") else \
        opt.create(name, wd=0.01, clip_gradient=0.5, multi_precision=multi_precision,
                   **KWARGS.get(name, {}))
    u = opt.get_updater(o)
    w = nd.array(rng.uniform(-1, 1, (4, 5)), ctx=ctx, dtype=dtype)
    for _ in range(3):
        u(0, nd.array(rng.randn(4, 5), ctx=ctx, dtype=dtype), w)
    return w.asnumpy(), u


@pytest.mark.parametrize("name", sorted(set(opt.Optimizer.opt_registry) - RANDOM))
def test_gpu_matches_cpu(name):
    cpu, _ = _run(name, mx.cpu())
    gpu, u = _run(name, mx.gpu(0))
    np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=1e-6)
    states = u.states[0]
    flat = states if isinstance(states, (tuple, list)) else [states]
    assert all(s.context == mx.gpu(0) for s in flat if s is not None)


@pytest.mark.parametrize("name", ["sgd", "adam", "lamb"])
def test_gpu_multi_precision(name):
    cpu, _ = _run(name, mx.cpu(), "float16", True)
    gpu, _ = _run(name, mx.gpu(0), "float16", True)
    np.testing.assert_allclose(gpu.astype(np.float32), cpu.astype(np.float32), rtol=2e-3,
                               atol=2e-3)


def test_gpu_sgld_noise():
    o = opt.create("sgld", learning_rate=0.04)
    w = nd.zeros((100, 100), ctx=mx.gpu(0))
    opt.get_updater(o)(0, nd.zeros((100, 100), ctx=mx.gpu(0)), w)
    noise = w.asnumpy()
    assert abs(noise.std() / 0.2 - 1) < 0.05 and abs(noise.mean()) < 0.01


def test_gpu_trainer_save_load(tmp_path):
    ctx = mx.gpu(0)
    p = Parameter("w", shape=(3,))
    p.initialize(mx.init.One(), ctx=ctx)
    tr = Trainer([p], "adam", {"learning_rate": 0.1})
    for _ in range(2):
        with autograd.record():
            loss = (p.data() * nd.array([1, -1, 2], ctx=ctx)).sum()
        loss.backward()
        tr.step(1)
    fname = str(tmp_path / "gpu.states")
    tr.save_states(fname)
    q = Parameter("w", shape=(3,))
    q.initialize(mx.init.Constant(0), ctx=ctx)
    q.set_data(p.data())
    tr2 = Trainer([q], "sgd")
    tr2.load_states(fname)
    for par, t in ((p, tr), (q, tr2)):
        with autograd.record():
            loss = (par.data() * nd.array([1, -1, 2], ctx=ctx)).sum()
        loss.backward()
        t.step(1)
    np.testing.assert_allclose(q.data().asnumpy(), p.data().asnumpy(), rtol=1e-6)
    assert tr2._updaters[0].states[0][0].context == ctx
