"""``mx.profiler``: per-operator aggregate statistics (imperative, backward and compiled
programs), pause/resume, the Chrome trace, user ranges, and clear errors."""
import json

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd, profiler
from gluonlite.base import MXNetError
from gluonlite.gluon import nn


@pytest.fixture(autouse=True)
def clean(tmp_path):
    profiler.set_state("stop")
    profiler.set_config(filename=str(tmp_path / "profile.json"), aggregate_stats=True,
                        profile_symbolic=True, profile_imperative=True, profile_all=False,
                        continuous_dump=False)
    profiler.dumps(reset=True)
    profiler.dump(finished=True)
    yield
    profiler.set_state("stop")
    profiler.set_config(aggregate_stats=False, filename="profile.json")
    profiler.dumps(reset=True)


def _stats():
    return json.loads(profiler.dumps(format="json"))["Time"]


def test_off_by_default_records_nothing():
    assert profiler.state() == ("stop", False)
    assert not profiler.IMPERATIVE and not profiler.COMPILED
    nd.dot(nd.ones((3, 3)), nd.ones((3, 3))).wait_to_read()
    assert _stats() == {}


def test_imperative_and_backward_operators():
    x = nd.ones((8, 8))
    x.attach_grad()
    profiler.set_state("run")
    for _ in range(3):
        with autograd.record():
            y = nd.relu(nd.dot(x, x) * 2 + 1)
        y.backward()
    nd.waitall()
    profiler.set_state("stop")
    nd.dot(x, x)  # after stop: not counted
    ops = _stats()["operator"]
    assert ops["dot"]["Count"] == 3
    assert ops["relu"]["Count"] == 3
    assert ops["_mul_scalar"]["Count"] >= 3 and ops["_plus_scalar"]["Count"] == 3
    assert ops["_backward_dot"]["Count"] == 3
    for s in ops.values():
        assert 0 <= s["Min"] <= s["Avg"] <= s["Max"] <= s["Total"] + 1e-9
    table = profiler.dumps()
    assert "operator\n=================" in table
    assert "Total Count" in table and "Avg Time (ms)" in table
    row = next(line for line in table.splitlines() if line.startswith("dot "))
    assert row.split()[1] == "3"


def test_compiled_programs_are_timed():
    net = nn.HybridSequential()
    net.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    net.initialize()
    net.hybridize()
    x = nd.ones((2, 3))
    net(x)  # compile outside the profiled range
    profiler.set_state("run")
    net(x)
    with autograd.record():
        out = net(x)
    out.backward()
    profiler.set_state("stop")
    progs = _stats()["compiled program"]
    names = sorted(progs)
    assert any(n.startswith("infer: FullyConnected") for n in names), names
    assert any(n.startswith("forward: ") for n in names), names
    assert any(n.startswith("backward: ") for n in names), names


def test_pause_resume_and_sorting():
    a = nd.ones((4,))
    profiler.set_state("run")
    nd.exp(a)
    profiler.pause()
    assert profiler.state() == ("run", True)
    nd.exp(a)
    nd.log(a)
    profiler.resume()
    nd.exp(a)
    profiler.set_state("stop")
    ops = _stats()["operator"]
    assert ops["exp"]["Count"] == 2 and "log" not in ops
    asc = list(json.loads(profiler.dumps(format="json", sort_by="count",
                                         ascending=True))["Time"]["operator"].values())
    assert [s["Count"] for s in asc] == sorted(s["Count"] for s in asc)
    profiler.dumps(reset=True)
    assert _stats() == {}


def test_dump_writes_a_chrome_trace(tmp_path):
    profiler.set_state("run")
    nd.sqrt(nd.ones((2, 2)))
    with profiler.Task(profiler.Domain("train"), "step"):
        nd.exp(nd.ones((2,)))
    c = profiler.Counter(profiler.Domain("train"), "batches", 1)
    c += 2
    profiler.Marker(profiler.Domain("train"), "epoch_end").mark("process")
    profiler.set_state("stop")
    profiler.dump()
    with open(tmp_path / "profile.json") as f:
        trace = json.load(f)
    ev = trace["traceEvents"]
    begins = [e for e in ev if e["ph"] == "B"]
    ends = [e for e in ev if e["ph"] == "E"]
    assert len(begins) == len(ends) and {"sqrt", "exp", "step"} <= {e["name"] for e in begins}
    assert [e["args"]["batches"] for e in ev if e["ph"] == "C"] == [1, 3]
    assert any(e["ph"] == "i" and e["name"] == "epoch_end" for e in ev)
    assert _stats()["train"]["step"]["Count"] == 1
    # finished=True forgot the events
    profiler.dump()
    with open(tmp_path / "profile.json") as f:
        assert json.load(f)["traceEvents"] == []


def test_errors(tmp_path):
    with pytest.raises(MXNetError, match="unknown argument 'profile_everything'"):
        profiler.set_config(profile_everything=True)
    with pytest.raises(MXNetError, match="aggregate_stats must be a boolean"):
        profiler.set_config(aggregate_stats="yes please")
    with pytest.raises(MXNetError, match="dump_period must be a positive"):
        profiler.set_config(dump_period=0)
    with pytest.raises(MXNetError, match="distributed kvstore server"):
        profiler.set_config(profile_process="server")
    with pytest.raises(MXNetError, match="state must be 'run' or 'stop'"):
        profiler.set_state("start")
    with pytest.raises(MXNetError, match="format must be 'table' or 'json'"):
        profiler.dumps(format="csv")
    with pytest.raises(MXNetError, match="sort_by"):
        profiler.dumps(sort_by="name")
    with pytest.raises(MXNetError, match="stop\\(\\) without start\\(\\)"):
        profiler.Event("e").stop()
    bad = tmp_path / "no_such_dir" / "p.json"
    profiler.set_config(filename=str(bad))
    with pytest.raises(MXNetError, match="cannot write the trace to .*no_such_dir"):
        profiler.dump()
    # a failed set_config changes nothing
    profiler.set_config(filename=str(tmp_path / "ok.json"))
    with pytest.raises(MXNetError):
        profiler.set_config(filename=str(tmp_path / "other.json"), aggregate_stats="x")
    profiler.dump()
    assert (tmp_path / "ok.json").exists() and not (tmp_path / "other.json").exists()


def test_string_config_values_as_mxnet_accepts():
    profiler.set_config(profile_imperative="False", aggregate_stats="1")
    profiler.set_state("run")
    nd.exp(nd.ones((2,)))
    profiler.set_state("stop")
    assert "operator" not in _stats()
    assert mx.profiler is profiler
    assert profiler.profiler_set_state is profiler.set_state


def test_results_unchanged_by_profiling():
    r = np.random.RandomState(0).randn(5, 5).astype(np.float32)
    ref = nd.softmax(nd.array(r)).asnumpy()
    profiler.set_state("run")
    got = nd.softmax(nd.array(r)).asnumpy()
    profiler.set_state("stop")
    np.testing.assert_array_equal(got, ref)
