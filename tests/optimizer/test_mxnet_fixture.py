"""Every optimizer case of MXNet's shared ``optim.npz``: 5 steps of ``Trainer.step(4)``,
weights compared with MXNet 1.9.1's after every step."""
import json
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.gluon import Parameter
from gluonlite.gluon.trainer import Trainer

FIX = pathlib.Path(__file__).parent.parent / "fixtures"
OPTIM = np.load(FIX / "optim.npz")
# the optimizer entries of MXNet's index.json (copied to gluon_index.json)
CASES = [e for e in json.loads((FIX / "gluon_index.json").read_text()) if "optimizer" in e]


def test_fixture_lists_every_case():
    names = {k.split("/")[0] for k in OPTIM.files}
    assert names == {e["name"] for e in CASES}
    assert len(CASES) == 16


@pytest.mark.parametrize("case", CASES, ids=[e["name"] for e in CASES])
def test_trajectory_matches_mxnet(case):
    name = case["name"]
    w0 = OPTIM[f"{name}/w0"]
    p = Parameter("w", shape=w0.shape)
    p.initialize(mx.init.Constant(0), ctx=mx.cpu())
    p.set_data(nd.array(w0))
    trainer = Trainer([p], case["optimizer"], dict(case["params"]))
    for s in range(case["steps"]):
        g = nd.array(OPTIM[f"{name}/grad{s}"])
        with autograd.record():
            loss = (p.data() * g).sum()
        loss.backward()
        np.testing.assert_array_equal(p.grad().asnumpy(), OPTIM[f"{name}/grad{s}"])
        trainer.step(case["batch_size"])
        np.testing.assert_allclose(p.data().asnumpy(), OPTIM[f"{name}/w{s + 1}"], rtol=1e-4,
                                   atol=1e-5, err_msg=f"{name} after step {s + 1}")
