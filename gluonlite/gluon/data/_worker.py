"""DataLoader worker processes: the loop they run and the pool one iteration uses.

Task ``t`` of an iteration goes to worker ``t % num_workers`` through that worker's own pipe
and its result comes back through another, so the parent reads results in order from a
known worker and notices at once when that worker dies. Batches come back through shared
memory (:mod:`._shm`). Before each task a worker reseeds ``mx.random``, ``numpy.random``
and ``random`` from the iteration's base seed and the task number: workers never share a
random stream, and ``mx.random.seed`` makes the batches (random augmentations included)
reproducible whichever worker computes them. An exception in a worker comes back with the
worker's traceback text and is re-raised in the parent with that text as its cause.

A worker exits when the process that started it dies, even by SIGKILL: on Linux the kernel
sends it SIGKILL (``PR_SET_PDEATHSIG``), and everywhere a watchdog thread checks every
``_PARENT_POLL`` seconds whether it has been re-parented. (Its task pipe never reports
end-of-file on its own: forked siblings hold copies of the pipe's write end.)
"""
from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import pickle
import random as _pyrandom
import signal
import sys
import threading
import time
import traceback

import numpy as np

from . import _shm

__all__ = ["WorkerPool", "WorkerTraceback", "DataLoaderTimeoutError", "task_seed"]

# seconds a worker gets to finish its current task once the pool shuts down
_GRACE = 1.0
# seconds between a worker's checks that its parent is alive
_PARENT_POLL = 1.0
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class WorkerTraceback(Exception):
    """The traceback text of an exception raised in a DataLoader worker process; set as the
    ``__cause__`` of the exception re-raised in the parent."""

    def __init__(self, text):
        super().__init__(text)
        self.tb = text

    def __str__(self):
        return self.tb


class DataLoaderTimeoutError(multiprocessing.TimeoutError, TimeoutError):
    """A worker took longer than the DataLoader's ``timeout`` to deliver a batch.

    Both ``multiprocessing.TimeoutError`` (what MXNet raises) and the built-in
    ``TimeoutError``."""


def task_seed(base, task):
    """The 32-bit seed of task ``task`` of an iteration whose base seed is ``base``."""
    return int(np.random.SeedSequence([*base, task]).generate_state(1, np.uint32)[0])


def _reseed(seed):
    from ... import random as _mxrandom
    _mxrandom.seed(seed)
    np.random.seed(seed)
    _pyrandom.seed(seed)


def _pack_error(exc, wid):
    text = traceback.format_exc()
    try:
        blob = pickle.dumps(exc)
        pickle.loads(blob)
    except Exception:
        blob = None
    try:
        message = str(exc)
    except Exception:
        message = repr(type(exc))
    return blob, type(exc).__qualname__, message, text, wid, os.getpid()


def _parent_gone(parent_pid):
    """True once the process ``parent_pid`` that started this worker has died."""
    if sys.platform == "win32":
        # no re-parenting on Windows: wait on the parent's process handle instead
        parent = multiprocessing.parent_process()
        return parent is not None and not parent.is_alive()
    # a dead parent's children are re-parented (to init or a subreaper)
    return os.getppid() != parent_pid


def _watch_parent(parent_pid):
    while not _parent_gone(parent_pid):
        time.sleep(_PARENT_POLL)
    # nobody is left to read our results or to stop us (the segments the parent named
    # are removed by its resource tracker)
    os._exit(1)


def _set_pdeathsig():
    """Ask Linux to SIGKILL this process when the thread that forked it dies; False where
    that is not available (the watchdog thread still applies)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _die_with_parent(parent_pid, pdeathsig):
    """Make this worker exit soon after the process ``parent_pid`` dies."""
    if pdeathsig and sys.platform.startswith("linux"):
        _set_pdeathsig()
    # the parent may have died before prctl took effect: the signal would never come
    if _parent_gone(parent_pid):
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True,
                     name="DataLoader-parent-watchdog").start()


def _worker_loop(wid, dataset, batchify_fn, base_seed, stop, task_conn, result_conn,
                 parent_pid, pdeathsig):
    """Run tasks ``(task, indices, segment name)`` until the pipe closes or ``stop`` is set,
    or until the process ``parent_pid`` dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid, pdeathsig)
    while True:
        try:
            msg = task_conn.recv()
        except (EOFError, OSError):
            break
        if msg is None or stop.value:
            break
        task, indices, name = msg
        try:
            _reseed(task_seed(base_seed, task))
            batch = batchify_fn([dataset[i] for i in indices])
            reply = (task, True, _shm.dump(batch, name))
        except Exception as e:
            reply = (task, False, _pack_error(e, wid))
        try:
            result_conn.send(reply)
        except (OSError, ValueError):
            break


def rebuild_error(info):
    """The exception to raise in the parent for a worker's packed error."""
    blob, typename, message, text, wid, pid = info
    exc = None
    if blob is not None:
        try:
            exc = pickle.loads(blob)
        except Exception:
            exc = None
    if not isinstance(exc, BaseException) or isinstance(exc, StopIteration):
        # (a StopIteration must not pass for the end of the data)
        exc = RuntimeError(f"DataLoader worker {wid} (pid {pid}) raised {typename}: {message}")
    exc.__cause__ = WorkerTraceback(
        f"\nin DataLoader worker {wid} (pid {pid}):\n\"\"\"\n{text}\"\"\"")
    return exc


class WorkerPool:
    """``num_workers`` processes serving the tasks of one DataLoader iteration."""

    def __init__(self, num_workers, dataset, batchify_fn, base_seed):
        # fork where it is safe (Linux), as MXNet's pool did: datasets with lambdas work
        ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux")
                                          else None)
        self._stop = ctx.RawValue("b", 0)
        self._namer = _shm.Namer() if _shm.available() else None
        self._workers = []
        self._closed = False
        # Linux's parent-death signal fires when the *thread* that forked a worker exits:
        # only the main thread is sure to live as long as the process
        pdeathsig = threading.current_thread() is threading.main_thread()
        try:
            for wid in range(num_workers):
                task_r, task_w = ctx.Pipe(duplex=False)
                res_r, res_w = ctx.Pipe(duplex=False)
                proc = ctx.Process(
                    target=_worker_loop, name=f"DataLoader-worker-{wid}", daemon=True,
                    args=(wid, dataset, batchify_fn, base_seed, self._stop, task_r, res_w,
                          os.getpid(), pdeathsig))
                try:
                    proc.start()
                except (pickle.PicklingError, TypeError, AttributeError) as e:
                    raise RuntimeError(
                        f"DataLoader: cannot start worker processes with the "
                        f"'{ctx.get_start_method()}' start method: the dataset and "
                        f"batchify_fn must be picklable ({e}); use thread_pool=True or "
                        "num_workers=0") from e
                finally:
                    task_r.close()
                    res_w.close()
                self._workers.append((proc, task_w, res_r))
        except BaseException:
            self.shutdown()
            raise

    @property
    def pids(self):
        """The process ids of the workers."""
        return [p.pid for p, _, _ in self._workers]

    def submit(self, task, indices):
        """Hand task ``task`` (a list of sample indices) to worker ``task % num_workers``."""
        proc, conn, _ = self._workers[task % len(self._workers)]
        name = self._namer.claim(task) if self._namer is not None else None
        try:
            conn.send((task, indices, name))
        except (OSError, ValueError):
            self._raise_dead(task, proc)

    def get(self, task, timeout):
        """The batch of task ``task``, waiting at most ``timeout`` seconds for it."""
        proc, _, conn = self._workers[task % len(self._workers)]
        deadline = time.monotonic() + timeout
        while not conn.poll():
            left = deadline - time.monotonic()
            if left <= 0:
                raise DataLoaderTimeoutError(
                    f"DataLoader worker timed out after {timeout} seconds waiting for batch "
                    f"{task}. This might be caused by a slow dataset or transform (increase "
                    "`timeout`) or by insufficient shared memory (reduce `num_workers` or "
                    "`prefetch`).")
            ready = multiprocessing.connection.wait([conn, proc.sentinel], left)
            if proc.sentinel in ready and not conn.poll():
                self._raise_dead(task, proc)
        try:
            got, ok, payload = conn.recv()
        except (EOFError, OSError):
            self._raise_dead(task, proc)
        if got != task:
            raise RuntimeError(f"DataLoader: received batch {got} while waiting for batch "
                               f"{task}")
        name = self._namer.name(task) if self._namer is not None else None
        if not ok:
            raise rebuild_error(payload)
        data, size = payload
        try:
            return _shm.load(data, name, size)
        finally:
            if self._namer is not None:
                self._namer.release(name)

    def _raise_dead(self, task, proc):
        proc.join(0.1)
        code = proc.exitcode
        why = "killed, out of memory, or the dataset ended the process"
        if code is not None and code < 0:
            try:
                why = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                why = f"killed by signal {-code}"
            if code == -signal.SIGBUS:
                why += "; /dev/shm is probably full: reduce num_workers or prefetch"
        raise RuntimeError(f"DataLoader worker {proc.name} (pid {proc.pid}) exited "
                           f"unexpectedly with exit code {code} while batch {task} was "
                           f"pending ({why})")

    def shutdown(self):
        """Stop the workers (terminating those still busy after a grace period), then
        remove every shared-memory segment this iteration's tasks may have created."""
        if self._closed:
            return
        self._closed = True
        self._stop.value = 1
        for _, task_w, _ in self._workers:
            # an explicit sentinel: later workers inherited copies of earlier workers' pipe
            # ends, so closing ours does not reach every worker as end-of-file
            try:
                task_w.send(None)
            except (OSError, ValueError):
                pass
            task_w.close()
        deadline = time.monotonic() + _GRACE
        for proc, _, res_r in self._workers:
            while proc.is_alive() and time.monotonic() < deadline:
                # drain results so that no worker blocks writing to a full pipe
                try:
                    while res_r.poll():
                        res_r.recv()
                except (EOFError, OSError):
                    pass
                proc.join(0.02)
        for proc, _, _ in self._workers:
            if proc.is_alive():
                proc.terminate()
        for proc, _, res_r in self._workers:
            proc.join(2.0)
            if proc.is_alive():
                proc.kill()
                proc.join()
            res_r.close()
            proc.close()
        if self._namer is not None:
            self._namer.release_all()
