"""What already held up when gluonlite was probed (issue 16), kept by tests: Ctrl-C in a
training loop with DataLoader workers, and a long hybridized run whose memory stays flat.

The rest of issue 16's regression tests sit beside the code they cover (states files in
tests/optimizer, the kernel cache in tests/compiler, threads and the program cache in
tests/gluon, orphaned workers in tests/gluon/data, file fuzzing in tests/test_fuzz_readers.py).
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead but not yet reaped by its (dead) parent's reaper
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


_CTRL_C = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from gluonlite.gluon.data import DataLoader, ArrayDataset

    class Slow(ArrayDataset):
        def __getitem__(self, i):
            time.sleep(0.01)
            return super().__getitem__(i)

    loader = DataLoader(Slow(np.arange(10000, dtype=np.float32)), 4, num_workers=2)
    try:
        for i, batch in enumerate(loader):
            if i == 2:
                print("READY", flush=True)
            time.sleep(0.05)
    except KeyboardInterrupt:
        print("INTERRUPTED", flush=True)
        sys.exit(3)
""")


def test_ctrl_c_in_a_loop_with_workers_ends_cleanly():
    """SIGINT while iterating a DataLoader with worker processes: KeyboardInterrupt reaches
    the user's code, the process exits, and no worker outlives it."""
    p = subprocess.Popen([sys.executable, "-c", _CTRL_C], cwd=_ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = p.stdout.readline()
        assert line.strip() == "READY", p.stderr.read()
        children = _children(p.pid)
        assert children, "the loader started no worker processes"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        assert "INTERRUPTED" in out, err
        assert p.returncode == 3, err
        deadline = time.monotonic() + 10
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [c for c in children if _alive(c)], "workers outlived Ctrl-C"
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _children(pid):
    """Direct children of ``pid`` (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d))
    return out


_LONG_RUN = textwrap.dedent("""
    import resource, sys
    import gluonlite as mx
    from gluonlite import autograd, gluon, nd

    steps = int(sys.argv[1])
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(64, activation="relu"), gluon.nn.Dense(10))
    net.initialize(mx.init.Xavier())
    net.hybridize(static_alloc=True)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.01})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    x = nd.random.normal(shape=(32, 20))
    y = nd.array([i % 10 for i in range(32)])

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20

    marks = []
    for i in range(steps):
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(32)
        if i in (steps // 10, steps - 1):
            loss.wait_to_read()
            marks.append(rss_mb())
    print(marks[0], marks[1])
""")


@pytest.mark.slow
def test_long_hybridized_run_keeps_memory_flat():
    """20,000 hybridized training steps: resident memory after warm-up stays flat (a leak
    of one small array per step would add hundreds of MB)."""
    out = subprocess.run([sys.executable, "-c", _LONG_RUN, "20000"], cwd=_ROOT,
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr
    early, late = map(float, out.stdout.split())
    assert late - early < 20, f"RSS grew from {early:.1f} MB to {late:.1f} MB"
