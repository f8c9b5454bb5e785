"""DataLoader workers exit when the training process is SIGKILLed (issue 16, defect 7).

The end-to-end tests run a small training script in a subprocess, read the pids of its
DataLoader worker processes, SIGKILL the script and require every process it started
(workers and multiprocessing's resource tracker) to be gone within 10 seconds, as MXNet's
are; before the fix the workers blocked on their task pipe forever. The last two check the
parent-death signal and the start-up race check directly.
"""
import ctypes
import json
import multiprocessing
import os
import selectors
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from gluonlite.gluon.data import DataLoader, _worker

needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"),
                                reason="needs /proc to find the processes a process started")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

# the script prints one line, {"workers": [...]}, once its workers exist, then waits
_PRELUDE = textwrap.dedent("""
    import json, multiprocessing, sys, threading, time
    import numpy as np
    from gluonlite.gluon.data import DataLoader

    class Data:
        def __init__(self, slow_from):
            self.slow_from = slow_from
        def __len__(self):
            return 1000
        def __getitem__(self, i):
            if i >= self.slow_from:
                time.sleep(120)
            return np.full((4,), i, np.float32)

    def report(it):
        next(it)
        pids = [p.pid for p in multiprocessing.active_children()
                if p.name.startswith("DataLoader-worker")]
        print(json.dumps({"workers": pids}), flush=True)
""")

SCRIPTS = {
    # workers idle, blocked reading their task pipe (the case measured in the issue)
    "idle": "it = iter(DataLoader(Data(10**9), batch_size=2, num_workers=2, prefetch=2))\n"
            "report(it)\ntime.sleep(120)\n",
    # workers busy inside the dataset when the parent dies
    "busy": "it = iter(DataLoader(Data(2), batch_size=2, num_workers=2, prefetch=4))\n"
            "report(it)\ntime.sleep(120)\n",
    # iteration started by a thread that has exited since: no parent-death signal there
    # (it follows the forking thread), the watchdog thread alone must notice
    "thread": "box = []\n"
              "t = threading.Thread(target=lambda: box.append(iter(DataLoader(\n"
              "    Data(10**9), batch_size=2, num_workers=2, prefetch=2))))\n"
              "t.start(); t.join()\n"
              "time.sleep(1.5)\n"  # the workers must survive their creating thread
              "report(box[0])\ntime.sleep(120)\n",
}


def _state(pid):
    """The /proc state letter of ``pid`` (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def _alive(pid):
    # an orphan reaped late by a container's init lingers as a zombie: that is dead too
    return _state(pid) not in (None, "Z", "X")


def _children(pid):
    """Pids of the live processes whose parent is ``pid``."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] not in "ZX":
                out.append(int(name))
    return out


def _read_line(proc, timeout):
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        raise AssertionError(f"the script printed nothing in {timeout} s")
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"the script ended early: {proc.stderr.read()}")
    return json.loads(line)


def _kill_and_wait(script, n_workers=2, wait=10.0):
    """Run ``script``, SIGKILL it once its workers exist, and return (workers, every
    process it started, those still alive ``wait`` seconds later)."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", _PRELUDE + script], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = []
    try:
        workers = _read_line(proc, 60)["workers"]
        started = sorted(set(workers) | set(_children(proc.pid)))
        assert len(workers) == n_workers and all(_alive(p) for p in workers)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + wait
        while any(_alive(p) for p in started) and time.monotonic() < deadline:
            time.sleep(0.05)
        return workers, started, [p for p in started if _alive(p)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in started:  # never leave strays behind, even when the test fails
            if _alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        proc.stdout.close()
        proc.stderr.close()


@needs_proc
@pytest.mark.parametrize("case", list(SCRIPTS))
def test_workers_exit_when_the_parent_is_sigkilled(case):
    workers, started, left = _kill_and_wait(SCRIPTS[case])
    assert set(workers) <= set(started)
    assert not left, f"{case}: processes {left} of the SIGKILLed script still run " \
                     f"(workers were {workers})"


@needs_proc
def test_thread_pool_loader_starts_no_process():
    # thread_pool=True runs in the loader's own process: killing it leaves nothing behind
    script = ("it = iter(DataLoader(Data(10**9), batch_size=2, num_workers=2,\n"
              "                     thread_pool=True))\n"
              "report(it)\ntime.sleep(120)\n")
    workers, started, left = _kill_and_wait(script, n_workers=0)
    assert started == [] and left == []


# --- the two mechanisms, checked directly -----------------------------------------------
class _PdeathsigData:
    """Each sample is the parent-death signal the worker process has set (Linux)."""

    def __len__(self):
        return 2

    def __getitem__(self, i):
        sig = ctypes.c_int(-1)
        assert ctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0) == 0  # PR_GET_PDEATHSIG
        return sig.value


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_parent_death_signal_only_when_started_from_the_main_thread():
    def signals():
        loader = DataLoader(_PdeathsigData(), batch_size=2, num_workers=1)
        return [b.asnumpy().tolist() for b in loader]

    assert signals() == [[signal.SIGKILL] * 2]
    # Linux sends it when the forking *thread* exits: a loader iterated from another thread
    # relies on the watchdog alone, or its workers would die with that thread
    box = []
    t = threading.Thread(target=lambda: box.append(signals()))
    t.start()
    t.join()
    assert box == [[[0, 0]]]


def _exits_if_parent_is(pid):
    _worker._die_with_parent(pid, False)


@pytest.mark.skipif(sys.platform == "win32", reason="re-parenting is POSIX's")
def test_worker_whose_parent_died_before_it_started_exits_at_once():
    ctx = multiprocessing.get_context("fork")
    # a worker whose recorded parent is not its parent any more (it died in between)
    p = ctx.Process(target=_exits_if_parent_is, args=(-1,))
    p.start()
    p.join(10)
    assert p.exitcode == 1
    # and one whose parent lives goes on (the watchdog thread is a daemon)
    p = ctx.Process(target=_exits_if_parent_is, args=(os.getpid(),))
    p.start()
    p.join(10)
    assert p.exitcode == 0
