"""Every registered optimizer (except MXNet's 'test' optimizer, which climbs the gradient)
fits a small linear regression through Gluon's Trainer."""
import copy

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite import optimizer as opt
from gluonlite.gluon import Parameter
from gluonlite.gluon.trainer import Trainer
from gluonlite.lr_scheduler import FactorScheduler

CONFIGS = {
    "sgd": {"learning_rate": 0.1, "momentum": 0.9},
    "ccsgd": {"learning_rate": 0.1},
    "nag": {"learning_rate": 0.1, "momentum": 0.9},
    "signum": {"learning_rate": 0.05},
    "dcasgd": {"learning_rate": 0.1},
    "sgld": {"learning_rate": 0.001},
    "adam": {"learning_rate": 0.1},
    "adamw": {"learning_rate": 0.1, "wd": 1e-3},
    "adamax": {"learning_rate": 0.1},
    "nadam": {"learning_rate": 0.1},
    # the trust ratio makes every step a fixed fraction of ||w||: decay it to settle
    "lamb": {"learning_rate": 0.2,
             "lr_scheduler": FactorScheduler(step=20, factor=0.5, base_lr=0.2)},
    "adagrad": {"learning_rate": 0.5},
    "rmsprop": {"learning_rate": 0.05},
    "adadelta": {"epsilon": 1e-3},
    "ftrl": {"learning_rate": 0.5},
    "ftml": {"learning_rate": 0.1},
    "lars": {"learning_rate": 1.0, "momentum": 0.9, "eta": 0.05},
    "lbsgd": {"learning_rate": 0.1, "momentum": 0.9},
}


def test_every_registered_optimizer_is_exercised():
    assert set(opt.Optimizer.opt_registry) - {"test"} == set(CONFIGS)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_reduces_regression_loss(name):
    rng = np.random.RandomState(0)
    xs = rng.randn(64, 5).astype(np.float32)
    x, y = nd.array(xs), nd.array(xs @ rng.randn(5, 1) + 0.5)
    w = Parameter("fc_weight", shape=(5, 1))
    b = Parameter("fc_bias", shape=(1,))
    w.initialize(mx.init.Constant(0.01))
    b.initialize(mx.init.Constant(0.0))
    trainer = Trainer([w, b], name, copy.deepcopy(CONFIGS[name]))  # schedulers are stateful

    def mse():
        return ((nd.dot(x, w.data()) + b.data() - y) ** 2).mean().asscalar()

    start = mse()
    # SGLD samples exp(-loss): with the summed loss (batch_size 1) its posterior is narrow
    batch_size = 1 if name == "sgld" else 64
    for _ in range(100):
        with autograd.record():
            loss = ((nd.dot(x, w.data()) + b.data() - y) ** 2).sum()
        loss.backward()
        trainer.step(batch_size)
    end = mse()
    assert np.isfinite(end)
    assert end < 0.05 * start, f"{name}: loss {start:.4f} -> {end:.4f}"
