"""Run the chunks of a batch on the CPU's cores: the calling thread and helper threads each
take the next chunk until none is left.

Why not Numba's ``parallel=True`` or OpenBLAS's own threads: a kernel such as a
convolution alternates short Numba loops (im2col) and BLAS products chunk by chunk. Handing
each of those to its own thread pool means one fork/join per loop and per product, and on
a small machine shared with other work, every join waits for a descheduled thread (a
LeNet step took 4x longer with two-threaded OpenBLAS products than with one-threaded
ones on a loaded 2-core machine). Here the threads split the *chunks*: one join per
operator, each chunk's loops and products run on one core, back to back, while its data
is still in that core's cache. The products run single-threaded in the workers
(OpenBLAS's ``openblas_set_num_threads_local``); Numba kernels called by them must be
compiled with ``nogil=True``.

Without that OpenBLAS function (another BLAS under NumPy) or with one usable core, the
chunks run one after another in the calling thread and BLAS threads itself as usual.
``GLUONLITE_KERNEL_THREADS=n`` in the environment sets the number of threads (the caller
included; default: the cores this process may use; 1 runs every chunk in the caller).
"""
from __future__ import annotations

import ctypes
import glob
import os
import threading

import numpy as np

__all__ = ["run_chunks", "num_workers"]

_STATE = {}
_LOCK = threading.Lock()


def _blas_local_threads():
    """``openblas_set_num_threads_local`` of the OpenBLAS NumPy ships, or None."""
    libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libdir, "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        fn = getattr(lib, "openblas_set_num_threads_local", None)
        if fn is not None:
            fn.argtypes = [ctypes.c_int]
            fn.restype = ctypes.c_int
            return fn
    return None


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _threads_wanted():
    raw = os.environ.get("GLUONLITE_KERNEL_THREADS", "").strip()
    if not raw:
        return _cores()
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"GLUONLITE_KERNEL_THREADS: expected a positive integer, got {raw!r}")
    return n


def _setup():
    with _LOCK:
        if _STATE:
            return
        setter = _blas_local_threads()
        n = _threads_wanted() if setter is not None else 1
        _STATE["setter"] = setter
        _STATE["workers"] = n
        if n > 1:
            from concurrent.futures import ThreadPoolExecutor
            _STATE["pool"] = ThreadPoolExecutor(n - 1, thread_name_prefix="gluonlite-kernel",
                                                initializer=setter, initargs=(1,))


def num_workers() -> int:
    """Threads (the caller included) that :func:`run_chunks` uses."""
    _setup()
    return _STATE["workers"]


def run_chunks(n, step, body, new_state=None):
    """Call ``body(n0, n1, state)`` for the chunks ``[n0, n1)`` of ``range(n)`` of ``step``
    items, spread over the workers; ``state`` is ``new_state()`` of the worker running the
    chunk (None without ``new_state``). Returns the states of the workers that ran chunks.
    The first exception raised by a chunk is raised again here."""
    _setup()
    chunks = iter([(n0, min(n, n0 + step)) for n0 in range(0, n, step)])
    count = -(-n // step) if n > 0 else 0
    workers = min(_STATE["workers"], count)

    def work():
        state = new_state() if new_state is not None else None
        ran = False
        while True:
            c = next(chunks, None)   # a list iterator's next() is atomic under the GIL
            if c is None:
                return state if ran else None
            ran = True
            body(c[0], c[1], state)

    if workers <= 1:
        s = work()
        return [s] if s is not None else []
    futures = [_STATE["pool"].submit(work) for _ in range(workers - 1)]
    setter = _STATE["setter"]
    old = setter(1)
    try:
        mine = work()
    finally:
        setter(old)
        # a helper that has not started yet finds nothing left: do not wait for it (it may
        # be descheduled, or busy with another caller's chunks)
        results = [None if f.cancel() else f.result() for f in futures]
    return [s for s in [mine] + results if s is not None]


def _forget_after_fork():
    # a forked child has none of the parent's threads: start a new pool when needed
    _STATE.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
