"""run_chunks: every chunk exactly once, per-worker states, errors raised in the caller."""
import subprocess
import sys
import threading

import pytest

from gluonlite.kernels import workers


@pytest.mark.parametrize("n, step", [(0, 3), (1, 4), (10, 3), (64, 1), (7, 7)])
def test_every_chunk_runs_once(n, step):
    seen = []
    lock = threading.Lock()

    def body(n0, n1, state):
        state.append((n0, n1))
        with lock:
            seen.extend(range(n0, n1))

    states = workers.run_chunks(n, step, body, list)
    assert sorted(seen) == list(range(n))
    chunks = sorted(c for s in states for c in s)
    assert chunks == [(i, min(n, i + step)) for i in range(0, n, step)]
    assert 1 <= len(states) <= workers.num_workers() or n == 0


def test_an_error_in_a_chunk_is_raised_in_the_caller():
    def body(n0, n1, _):
        if n0 == 5:
            raise ValueError("chunk 5 failed")

    with pytest.raises(ValueError, match="chunk 5 failed"):
        workers.run_chunks(20, 1, body)


def test_thread_count_from_the_environment():
    code = ("from gluonlite.kernels import workers; print(workers.num_workers())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"GLUONLITE_KERNEL_THREADS": "1", "PATH": ""})
    assert out.returncode == 0 and out.stdout.strip() == "1"
    bad = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"GLUONLITE_KERNEL_THREADS": "two", "PATH": ""})
    assert bad.returncode != 0 and "GLUONLITE_KERNEL_THREADS" in bad.stderr
