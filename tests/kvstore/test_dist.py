"""Distributed KVStores on MPI: 2-process runs (``python -m gluonlite.launch -n 2``) of
tests/kvstore/dist_worker.py, plus single-process checks of the API and the launcher.

Skipped, with the reason, when mpi4py or mpiexec is missing (``pip install
'gluonlite[dist]'``).
"""
import logging
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import launch
from gluonlite.base import MXNetError
from gluonlite.kvstore import dist

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "dist_worker.py")
ROOT = os.path.dirname(os.path.dirname(HERE))

try:
    import mpi4py  # noqa: F401  (only checks it is installed; MPI starts on first use)
    HAVE_MPI4PY = True
except ImportError:
    HAVE_MPI4PY = False
MPIEXEC = launch.find_mpiexec()

needs_mpi4py = pytest.mark.skipif(not HAVE_MPI4PY, reason="mpi4py is not installed "
                                  "(pip install 'gluonlite[dist]')")
needs_mpi = pytest.mark.skipif(not (HAVE_MPI4PY and MPIEXEC), reason="mpi4py or mpiexec is "
                               "missing (pip install 'gluonlite[dist]')")


def run_workers(scenario, tmp_path, timeout=60, env=None):
    """Run the scenario on 2 processes; (returncode, output, seconds)."""
    full_env = dict(os.environ, GLUONLITE_DIST_TIMEOUT="20", PYTHONPATH=ROOT)
    full_env.update(env or {})
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "gluonlite.launch", "-n", "2", "--timeout", str(timeout),
         WORKER, scenario, str(tmp_path)],
        capture_output=True, text=True, timeout=timeout + 30, env=full_env, cwd=ROOT)
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


def load_ranks(tmp_path):
    return [np.load(os.path.join(tmp_path, f"rank{r}.npz")) for r in (0, 1)]


# --- 2 processes ---------------------------------------------------------------------------
@needs_mpi
def test_kvstore_operations_across_processes(tmp_path):
    # tiny buckets: the fused pushpull of three keys is split over several allreduces
    rc, out, _ = run_workers("kvstore", tmp_path, env={"GLUONLITE_DIST_BUCKET_MB": "0.001"})
    assert rc == 0, out
    assert "OK rank 0" in out and "OK rank 1" in out


@needs_mpi
def test_trainer_two_processes_equal_one_process_double_batch(tmp_path):
    rc, out, _ = run_workers("trainer", tmp_path)
    assert rc == 0, out
    r0, r1 = load_ranks(tmp_path)
    for tag in ("dist_sync_None", "dist_sync_True", "dist_device_sync_None", "horovod_None"):
        for p in ("p0", "p1", "p2", "p3"):
            final0, final1 = r0[f"{tag}/final/{p}"], r1[f"{tag}/final/{p}"]
            np.testing.assert_array_equal(final0, final1)  # replicas identical
            np.testing.assert_allclose(final0, r0[f"reference/{p}"], rtol=1e-5, atol=1e-6)
        # the weights started different on the two workers: rank 0's were broadcast
        assert not np.allclose(r0[f"{tag}/init/p0"], r1[f"{tag}/init/p0"])


@needs_mpi
def test_module_fit_two_processes_equal_one_process_double_batch(tmp_path):
    rc, out, _ = run_workers("module", tmp_path)
    assert rc == 0, out
    r0, r1 = load_ranks(tmp_path)
    for uok in ("1", "0"):
        for p in ("fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"):
            final0, final1 = r0[f"uok{uok}/final/{p}"], r1[f"uok{uok}/final/{p}"]
            np.testing.assert_array_equal(final0, final1)
            np.testing.assert_allclose(final0, r0[f"reference/{p}"], rtol=1e-5, atol=1e-6)
        assert not np.allclose(r0[f"uok{uok}/init/fc1_weight"], r1[f"uok{uok}/init/fc1_weight"])


@needs_mpi
@pytest.mark.parametrize("how,message", [
    ("die", None),                                     # os._exit: mpiexec ends the job
    ("raise", "uncaught RuntimeError on rank 1 of 2; aborting all workers"),
    ("hang", "did not complete within 3 s"),           # rank 0 times out and aborts
])
def test_a_failing_worker_ends_the_job(tmp_path, how, message):
    rc, out, secs = run_workers(how, tmp_path, env={"GLUONLITE_DIST_TIMEOUT": "3"})
    assert rc != 0, out
    assert secs < 40, f"the job took {secs:.0f} s to end"
    assert "unreachable" not in out
    assert "gluonlite.launch: the job failed" in out
    if message:
        assert message in out, out


# --- one process ---------------------------------------------------------------------------
@needs_mpi4py
def test_single_process_store_and_errors():
    kv = mx.kv.create("dist_sync")
    assert isinstance(kv, mx.kv.DistKVStore) and isinstance(kv, mx.kv.KVStoreBase)
    assert (kv.type, kv.rank, kv.num_workers) == ("dist_sync", 0, 1)
    assert mx.kv.create("DIST").type == "dist_sync"
    assert mx.kv.create("dist_sync_device").type == "dist_device_sync"
    kv.init("w", mx.nd.ones((2,)))
    kv.push("w", [mx.nd.ones((2,)), mx.nd.ones((2,)) * 2])
    out = mx.nd.zeros((2,))
    kv.pull("w", out=out)
    np.testing.assert_array_equal(out.asnumpy(), [3, 3])
    with pytest.raises(MXNetError, match="duplicate init of key w"):
        kv.init("w", mx.nd.ones((2,)))
    with pytest.raises(MXNetError, match="has not been inited"):
        kv.push("v", mx.nd.ones((2,)))
    with pytest.raises(TypeError, match="allreduce: expected a NumPy array or an NDArray"):
        kv.allreduce([1, 2])
    total = kv.allreduce(mx.nd.ones((2,)))
    assert isinstance(total, mx.nd.NDArray)
    kv.barrier()
    kv._barrier()
    hv = mx.kv.create("horovod")
    with pytest.raises(MXNetError, match="'horovod' cannot run an optimizer"):
        hv.set_optimizer(mx.optimizer.SGD())
    with pytest.raises(ValueError, match="Unknown capability: foo"):
        hv.is_capable("foo")
    with pytest.raises(NotImplementedError, match="dist_async.*asynchronous parameter"):
        mx.kv.create("dist_async")
    with pytest.raises(ValueError, match="kvtype: DistKVStore implements"):
        mx.kv.DistKVStore("local")


@needs_mpi4py
def test_timeout_and_bucket_settings_are_checked(monkeypatch):
    monkeypatch.setenv("GLUONLITE_DIST_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="GLUONLITE_DIST_TIMEOUT: expected a positive number"):
        mx.kv.create("dist_sync")
    monkeypatch.setenv("GLUONLITE_DIST_TIMEOUT", "5")
    monkeypatch.setenv("GLUONLITE_DIST_BUCKET_MB", "-1")
    with pytest.raises(ValueError, match="GLUONLITE_DIST_BUCKET_MB"):
        mx.kv.create("dist_sync")


def test_missing_mpi4py_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(dist, "_MPI", None)
    monkeypatch.setattr(dist, "_COMM", None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import fails
    with pytest.raises(MXNetError, match=r"needs mpi4py.*gluonlite\[dist\]"):
        mx.kv.create("dist_sync")
    # a single-process Trainer does not need it
    assert not dist.is_distributed("device") and dist.is_distributed("horovod")


@needs_mpi4py
def test_trainer_single_worker_dist_store_matches_local():
    x = mx.nd.array(np.random.RandomState(0).randn(8, 3))
    results = []
    for kvstore in ("dist_sync", None):
        mx.random.seed(3)
        net = mx.gluon.nn.Dense(2, in_units=3)
        net.initialize()
        trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1},
                                   kvstore=kvstore)
        if kvstore:
            assert trainer._distributed  # the store was created (and params broadcast)
        for _ in range(2):
            with mx.autograd.record():
                loss = (net(x) ** 2).sum()
            loss.backward()
            trainer.step(8)
        results.append(net.weight.data().asnumpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


@needs_mpi4py
def test_trainer_warns_about_deferred_parameters():
    net = mx.gluon.nn.Dense(2)
    net.initialize()
    with pytest.warns(UserWarning, match="broadcast from rank 0 only at the first step"):
        mx.gluon.Trainer(net.collect_params(), "sgd", kvstore="dist_sync")


@needs_mpi4py
def test_reduce_across_workers_single_worker_and_errors():
    kv = mx.kv.create("dist_sync")
    metric = mx.metric.Accuracy()
    metric.update([mx.nd.array([0, 1])], [mx.nd.array([[1, 0], [1, 0]])])
    reduced = mx.metric.reduce_across_workers(metric, kv)
    assert reduced is not metric and reduced.get() == metric.get() == ("accuracy", 0.5)
    with pytest.raises(NotImplementedError, match="PearsonCorrelation keeps non-additive"):
        mx.metric.reduce_across_workers(mx.metric.PearsonCorrelation(), kv)
    with pytest.raises(NotImplementedError, match="F1 \\(average=micro\\)"):
        mx.metric.reduce_across_workers(mx.metric.F1(average="micro"), kv)
    with pytest.raises(TypeError, match="metric: expected an EvalMetric"):
        mx.metric.reduce_across_workers("acc", kv)


def test_callbacks_write_and_log_on_rank_0_only(monkeypatch, tmp_path, caplog):
    for var in ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PMI_RANK", "1")
    assert dist.launcher_rank() == 1
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, num_hidden=2, name="fc")
    args = {"fc_weight": mx.nd.ones((2, 3)), "fc_bias": mx.nd.zeros((2,))}
    prefix = str(tmp_path / "net")
    mx.callback.do_checkpoint(prefix)(0, net, args, {})
    assert not os.listdir(tmp_path)
    param = mx.model.BatchEndParam(epoch=0, nbatch=0, eval_metric=None, locals=None)
    speedo = mx.callback.Speedometer(4, frequent=1)
    with caplog.at_level(logging.INFO):
        speedo(param)
        speedo(param._replace(nbatch=1))
        mx.callback.ProgressBar(2)(param._replace(nbatch=1))
    assert not caplog.records
    monkeypatch.setenv("PMI_RANK", "0")
    mx.callback.do_checkpoint(prefix)(0, net, args, {})
    assert sorted(os.listdir(tmp_path)) == ["net-0001.params", "net-symbol.json"]
    with caplog.at_level(logging.INFO):
        speedo(param._replace(nbatch=2))
    assert "Speed" in caplog.text


def test_launcher_command_and_errors(tmp_path):
    fake = str(tmp_path / "mpiexec")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho MPICH\n")
    os.chmod(fake, 0o755)
    cmd = launch.mpiexec_command(2, ["train.py", "--epochs", "1"], mpiexec=fake,
                                 python="python3")
    assert cmd == [fake, "-n", "2", "python3", "train.py", "--epochs", "1"]
    hosts = tmp_path / "hosts"
    hosts.write_text("node1:2\nnode2:2\n")
    cmd = launch.mpiexec_command(4, ["t.py"], hostfile=str(hosts), mpiexec=fake)
    assert cmd[3:5] == ["-f", str(hosts)]
    with pytest.raises(ValueError, match="num_workers: expected an int >= 1"):
        launch.mpiexec_command(0, ["t.py"], mpiexec=fake)
    with pytest.raises(FileNotFoundError, match="hostfile: .* does not exist"):
        launch.mpiexec_command(2, ["t.py"], hostfile=str(tmp_path / "nope"), mpiexec=fake)
    with pytest.raises(SystemExit):
        launch.main(["-n", "2", str(tmp_path / "missing.py")])
    with pytest.raises(SystemExit):
        launch.main(["-n", "0", WORKER])


@needs_mpi
def test_launcher_timeout_ends_the_job(tmp_path):
    script = tmp_path / "sleepy.py"
    script.write_text("import time\ntime.sleep(60)\n")
    start = time.monotonic()
    rc = launch.main(["-n", "2", "--timeout", "2", str(script)])
    assert rc == 124 and time.monotonic() - start < 20


@needs_mpi
def test_example_trains_on_two_processes(tmp_path):
    example = os.path.join(ROOT, "examples", "train_dist.py")
    proc = subprocess.run(
        [sys.executable, "-m", "gluonlite.launch", "-n", "2", "--timeout", "120", example,
         "--train-samples", "2048", "--save", "net.params"],
        capture_output=True, text=True, timeout=150, cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=ROOT, GLUONLITE_DIST_TIMEOUT="60"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "2 workers, 1024 training images each" in out
    assert out.count("epoch 0: train acc") == 1  # rank 0 prints, the metric of both
    assert os.listdir(tmp_path) == ["net.params"]
