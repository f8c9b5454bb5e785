"""MXNet-generated reference runs for every optimizer option the shared fixture lacks
(``tests/fixtures/optim_extra.npz``, from ``tests/fixtures/gen/optim_extra.py``)."""
import json
import pathlib
import warnings

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.gluon import Parameter
from gluonlite.gluon.trainer import Trainer

from . import replay, resume, spec_of

FIX = pathlib.Path(__file__).parent.parent / "fixtures"
Z = np.load(FIX / "optim_extra.npz")
NAMES = sorted(k.split("/")[0] for k in Z.files if k.endswith("/meta") and k != "sgld/meta")
STATES = [n for n in NAMES if spec_of(Z, n)["save_at"]]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # float16 without multi_precision
        yield


def test_every_optimizer_is_covered():
    covered = {spec_of(Z, n)["optimizer"] for n in NAMES} | {"sgld"}
    assert covered >= {"sgd", "nag", "adam", "adamw", "adagrad", "rmsprop", "adadelta", "ftrl",
                       "adamax", "nadam", "signum", "ftml", "lamb", "lars", "lbsgd", "sgld",
                       "dcasgd"}


@pytest.mark.parametrize("name", NAMES)
def test_trajectory_matches_mxnet(name):
    replay(Z, name)


@pytest.mark.parametrize("name", STATES)
def test_resume_from_mxnet_state_file(name):
    """A Trainer loads the state file MXNet's Trainer.save_states wrote mid-run (optimizer,
    update counts, scheduler, momentum, master weights) and continues MXNet's run."""
    trainer = resume(Z, name, Z[f"{name}/states"].tobytes())
    spec = spec_of(Z, name)
    assert trainer.optimizer.num_update == spec["steps"]


@pytest.mark.parametrize("name", STATES)
def test_resume_from_own_state_file(name, tmp_path):
    spec = spec_of(Z, name)
    _, _, _, trainer = replay(Z, name, steps=spec["save_at"])
    fname = str(tmp_path / "t.states")
    trainer.save_states(fname)
    resume(Z, name, open(fname, "rb").read())


def test_sgld_noise_statistics():
    """SGLD adds N(0, sqrt(lr)) noise to the deterministic Langevin step; MXNet's run has the
    same statistics."""
    meta = json.loads(str(Z["sgld/meta"]))
    lr, wd, bs = meta["learning_rate"], meta["wd"], meta["batch_size"]
    w0, g = Z["sgld/w0"], Z["sgld/grad"]
    p = Parameter("w", shape=w0.shape)
    p.initialize(mx.init.Constant(0))
    p.set_data(nd.array(w0))
    trainer = Trainer([p], "sgld", {"learning_rate": lr, "wd": wd})
    with autograd.record():
        loss = (p.data() * nd.array(g)).sum()
    loss.backward()
    trainer.step(bs)
    drift = w0 - lr / 2 * (g / bs + wd * w0)
    noise = p.data().asnumpy().astype(np.float64) - drift
    sd = np.sqrt(lr)
    n = noise.size
    # mean within 5 standard errors, std within 5% (n = 10000)
    assert abs(noise.mean()) < 5 * sd / np.sqrt(n)
    assert abs(noise.std() / sd - 1) < 0.05
    mx_mean, mx_std = Z["sgld/noise_mean_std"]
    assert abs(mx_mean) < 5 * sd / np.sqrt(n) and abs(mx_std / sd - 1) < 0.05
    # normal, not uniform: about 68.3% within one standard deviation
    assert abs(np.mean(np.abs(noise) < sd) - 0.6827) < 0.02


def test_sgld_is_reproducible_with_seed():
    def run():
        mx.random.seed(3)
        p = Parameter("w", shape=(20,))
        p.initialize(mx.init.Constant(1))
        tr = Trainer([p], "sgld", {"learning_rate": 0.1})
        with autograd.record():
            loss = p.data().sum()
        loss.backward()
        tr.step(1)
        return p.data().asnumpy()
    np.testing.assert_array_equal(run(), run())
