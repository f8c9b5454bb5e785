"""``DataLoader``: mini-batches from a dataset, in the parent process, in worker processes
or in threads (MXNet's ``gluon.data.DataLoader``).

With ``num_workers=0`` batches are made in the calling thread. With ``num_workers > 0``
each iteration (epoch) starts that many worker processes (forked, as MXNet's pool is on
Linux), hands batch ``t`` to worker ``t % num_workers`` and returns batches in order; they
come back through shared memory (see ``_shm``) and are equal to what ``num_workers=0``
gives. ``thread_pool=True`` uses a pool of threads kept for the loader's lifetime instead.
Workers are stopped when the iteration ends, when it is abandoned (the iterator is closed
or garbage-collected) and when a worker fails; no process or shared-memory segment
outlives them.
"""
from __future__ import annotations

import concurrent.futures
import numbers
import threading
import weakref

import numpy as np

from ... import ndarray as nd
from ...context import cpu, cpu_pinned
from ...ndarray import NDArray
from . import sampler as _sampler
from ._worker import WorkerPool, DataLoaderTimeoutError, WorkerTraceback  # noqa: F401

__all__ = ["DataLoader", "default_batchify_fn", "default_mp_batchify_fn"]


# --------------------------------------------------------------------------------------
# batchify
def default_batchify_fn(data):
    """Collate a list of samples into a batch, as MXNet's ``default_batchify_fn``.

    * NDArray samples are stacked along a new first axis (``nd.stack``);
    * tuple samples are collated field by field into a **list** of batches (recursively);
    * anything else (numpy arrays, Python or numpy scalars) goes through ``numpy.asarray``
      and becomes an NDArray of that dtype: ints give int64, floats float64, bools bool,
      numpy arrays keep their dtype.
    """
    if not isinstance(data, (list, tuple)) or not data:
        raise ValueError(f"default_batchify_fn: expected a non-empty list of samples, got "
                         f"{data!r:.80}")
    first = data[0]
    if isinstance(first, NDArray):
        return nd.stack(*data, num_args=len(data))
    if isinstance(first, tuple):
        n = len(first)
        for i, d in enumerate(data):
            if not isinstance(d, tuple) or len(d) != n:
                raise ValueError(f"default_batchify_fn: sample 0 is a tuple of {n} fields but "
                                 f"sample {i} is {_describe(d)}; every sample must have the "
                                 "same structure")
        return [default_batchify_fn(list(field)) for field in zip(*data)]
    try:
        arr = np.asarray(data)
    except ValueError as e:
        raise ValueError(f"default_batchify_fn: cannot batch samples of type "
                         f"{type(first).__name__}: {e}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"default_batchify_fn: cannot batch samples of type "
                        f"{type(first).__name__} (numpy dtype {arr.dtype}); pass a batchify_fn "
                        "that handles them")
    return nd.array(arr, dtype=arr.dtype)


def default_mp_batchify_fn(data):
    """The batchify function worker processes use by default: the same batches as
    :func:`default_batchify_fn` (MXNet allocates them in shared memory; here the transport
    to the parent moves them there)."""
    return default_batchify_fn(data)


def _describe(d):
    if isinstance(d, tuple):
        return f"a tuple of {len(d)} fields"
    return f"a {type(d).__name__}"


def _as_in_context(data, ctx):
    """Move the NDArrays of a (nested) batch to ``ctx``."""
    if isinstance(data, NDArray):
        return data.as_in_context(ctx)
    if isinstance(data, (list, tuple)):
        return [_as_in_context(d, ctx) for d in data]
    return data


# --------------------------------------------------------------------------------------
# seeds for worker processes
_seed_lock = threading.Lock()
_seed_state = {"gen": None, "count": 0}


def _base_seed():
    """A base seed for one multi-process iteration, derived from the state of gluonlite's
    CPU generator (without drawing from it, so shuffles match ``num_workers=0``) and from
    the number of iterations started since that generator was (re)seeded."""
    from ... import random as _random
    with _seed_lock:
        gen = _random.generator(cpu())
        if gen is not _seed_state["gen"]:
            _seed_state["gen"], _seed_state["count"] = gen, 0
        count = _seed_state["count"]
        _seed_state["count"] = count + 1
        _, key, pos, _, _ = gen.get_state()
    entropy = [count, int(pos)] + np.asarray(key, dtype=np.uint32).tolist()
    return tuple(int(x) for x in
                 np.random.SeedSequence(entropy).generate_state(4, np.uint32))


# --------------------------------------------------------------------------------------
# iterators
def _same_process_iter(loader):
    dataset, batchify_fn = loader._dataset, loader._batchify_fn
    for batch in loader._batch_sampler:
        ret = batchify_fn([dataset[idx] for idx in batch])
        if loader._pin_memory:
            ret = _as_in_context(ret, cpu_pinned(loader._pin_device_id))
        yield ret


class _PrefetchIter:
    """One iteration that keeps ``prefetch`` batches in flight: subclasses submit the
    batch of the next sampler entry (``_submit``) and fetch a submitted one (``_fetch``);
    any error closes the iteration before it propagates."""

    def __init__(self, loader):
        self._iter = iter(loader._batch_sampler)
        self._timeout = loader._timeout
        self._pin = cpu_pinned(loader._pin_device_id) if loader._pin_memory else None
        self._sent = 0
        self._rcvd = 0
        self._done = False

    def _prefetch(self, n):
        try:
            for _ in range(n):
                self._push_next()
        except BaseException:
            self.close()
            raise

    def __iter__(self):
        return self

    def _push_next(self):
        r = next(self._iter, None)
        if r is None:
            return
        self._submit(self._sent, list(r))
        self._sent += 1

    def __next__(self):
        if self._done:
            raise StopIteration
        try:
            self._push_next()
            if self._rcvd == self._sent:
                self.close()
                raise StopIteration
            batch = self._fetch(self._rcvd)
        except StopIteration:
            raise
        except BaseException:
            self.close()
            raise
        self._rcvd += 1
        if self._pin is not None:
            batch = _as_in_context(batch, self._pin)
        return batch

    next = __next__


class _MultiWorkerIter(_PrefetchIter):
    """One iteration over worker processes (batches come back through shared memory)."""

    def __init__(self, loader):
        super().__init__(loader)
        self._pool = WorkerPool(loader._num_workers, loader._dataset, loader._batchify_fn,
                                _base_seed())
        self._finalizer = weakref.finalize(self, self._pool.shutdown)
        self._prefetch(loader._prefetch)

    def _submit(self, idx, samples):
        self._pool.submit(idx, samples)

    def _fetch(self, idx):
        return self._pool.get(idx, self._timeout)

    @property
    def worker_pids(self):
        """The process ids of this iteration's workers."""
        return self._pool.pids

    def close(self):
        """Stop the workers and release the batches still in flight."""
        self._done = True
        self._finalizer()


def _thread_worker_fn(samples, batchify_fn, dataset):
    return batchify_fn([dataset[i] for i in samples])


class _ThreadIter(_PrefetchIter):
    """One iteration over the loader's thread pool."""

    def __init__(self, loader, executor):
        super().__init__(loader)
        self._executor = executor
        self._dataset = loader._dataset
        self._batchify_fn = loader._batchify_fn
        self._futures = {}
        self._prefetch(loader._prefetch)

    def _submit(self, idx, samples):
        self._futures[idx] = self._executor.submit(
            _thread_worker_fn, samples, self._batchify_fn, self._dataset)

    def _fetch(self, idx):
        fut = self._futures.pop(idx)
        try:
            return fut.result(self._timeout)
        except StopIteration as e:  # must not pass for the end of the data
            raise RuntimeError(f"DataLoader worker thread raised StopIteration: {e}") from e
        except concurrent.futures.TimeoutError:
            raise DataLoaderTimeoutError(
                f"DataLoader worker thread timed out after {self._timeout} seconds waiting "
                f"for batch {idx}. This might be caused by a slow dataset or transform: "
                "increase `timeout`.") from None

    def close(self):
        """Cancel the batches not started yet (running ones finish and are dropped)."""
        self._done = True
        for fut in self._futures.values():
            fut.cancel()
        self._futures.clear()

    def __del__(self):
        self.close()


# --------------------------------------------------------------------------------------
def _check_int(value, name, minimum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return value


class DataLoader:
    """Loads data from a dataset and returns mini-batches (MXNet's
    ``gluon.data.DataLoader``).

    Parameters
    ----------
    dataset : Dataset
        Source dataset; numpy arrays, NDArrays and lists work directly.
    batch_size : int
        Size of a mini-batch (required unless ``batch_sampler`` is given).
    shuffle : bool, default False
        Visit the samples in a new random order each epoch (drawn from gluonlite's CPU
        generator: ``mx.random.seed`` makes it reproducible). Not with ``sampler``.
    sampler : Sampler
        The order of the samples; excludes ``shuffle``.
    last_batch : {'keep', 'discard', 'rollover'}, default 'keep'
        An incomplete last batch is returned (``keep``), dropped (``discard``) or its
        samples start the next epoch (``rollover``). ``len()`` is the number of batches of
        the next epoch.
    batch_sampler : Sampler
        Yields lists of indices, one per batch; excludes ``batch_size``, ``shuffle``,
        ``sampler`` and ``last_batch``.
    batchify_fn : callable
        Merges a list of samples into a batch; defaults to :func:`default_batchify_fn`.
    num_workers : int, default 0
        Number of worker processes (0: load in the calling thread; negative values count as
        0, as in MXNet).
    pin_memory : bool, default False
        Return batches on ``cpu_pinned(pin_device_id)``.
    pin_device_id : int, default 0
    prefetch : int, default ``2 * num_workers``
        Batches requested ahead from the workers.
    thread_pool : bool, default False
        Use ``num_workers`` threads instead of processes (no copying, shares the GIL).
    timeout : float, default 120
        Seconds to wait for a batch from a worker before raising ``TimeoutError``
        (``multiprocessing.TimeoutError``, as MXNet).
    auto_reload : bool, default False
        Start the next epoch's iteration (and the worker prefetch) ahead, when the loader is
        created and whenever an epoch ends (MXNet 1.x).
    try_nopython : bool or None
        MXNet 2.x's request for its C++ loader; accepted for compatibility, batches are the
        same either way.

    Worker processes are started per epoch. Each reseeds ``mx.random``, ``numpy.random``
    and ``random`` before every batch from a seed derived from gluonlite's generator and
    the batch number, so random transforms differ between batches and workers yet are
    reproducible under ``mx.random.seed``. An exception in a worker is re-raised in the
    caller with the worker's traceback as its ``__cause__``. Batches from workers live on
    ``cpu(0)`` (MXNet returns ``cpu_shared(0)`` arrays).
    """

    def __init__(self, dataset, batch_size=None, shuffle=False, sampler=None,
                 last_batch=None, batch_sampler=None, batchify_fn=None,
                 num_workers=0, pin_memory=False, pin_device_id=0,
                 prefetch=None, thread_pool=False, timeout=120, auto_reload=False,
                 try_nopython=None):
        if not hasattr(dataset, "__getitem__"):
            raise TypeError(f"dataset: expected a Dataset (or a list, numpy array or NDArray) "
                            f"with [] and len(), got {type(dataset).__name__}")
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
            raise TypeError(f"timeout: expected a number of seconds, got {timeout!r}")
        if not timeout > 0:
            raise AssertionError(f"timeout must be positive, given {timeout}")
        self._dataset = dataset
        self._pin_memory = bool(pin_memory)
        self._pin_device_id = _check_int(pin_device_id, "pin_device_id", 0)
        self._thread_pool = bool(thread_pool)
        self._timeout = timeout
        if try_nopython not in (None, True, False):
            raise TypeError(f"try_nopython: expected None or a bool, got {try_nopython!r}")

        if batch_sampler is None:
            if batch_size is None:
                raise ValueError("batch_size must be specified unless batch_sampler is "
                                 "specified")
            batch_size = _check_int(batch_size, "batch_size", 1)
            if sampler is None:
                if not hasattr(dataset, "__len__"):
                    raise TypeError(f"dataset: {type(dataset).__name__} has no len(); give a "
                                    "sampler or a batch_sampler")
                if shuffle:
                    sampler = _sampler.RandomSampler(len(dataset))
                else:
                    sampler = _sampler.SequentialSampler(len(dataset))
            elif shuffle:
                raise ValueError("shuffle must not be specified if sampler is specified")
            batch_sampler = _sampler.BatchSampler(
                sampler, batch_size, last_batch if last_batch else "keep")
        elif batch_size is not None or shuffle or sampler is not None or \
                last_batch is not None:
            raise ValueError("batch_size, shuffle, sampler and last_batch must not be "
                             "specified if batch_sampler is specified.")
        elif not hasattr(batch_sampler, "__iter__"):
            raise TypeError(f"batch_sampler: expected a Sampler yielding lists of indices, got "
                            f"{type(batch_sampler).__name__}")

        self._batch_sampler = batch_sampler
        num_workers = _check_int(num_workers, "num_workers")
        self._num_workers = num_workers if num_workers >= 0 else 0
        if prefetch is None:
            self._prefetch = 2 * self._num_workers
        else:
            try:
                self._prefetch = max(0, int(prefetch))
            except (TypeError, ValueError):
                raise TypeError(f"prefetch: expected None or an int, got {prefetch!r}") \
                    from None
        if batchify_fn is None:
            batchify_fn = default_mp_batchify_fn if self._num_workers > 0 \
                else default_batchify_fn
        elif not callable(batchify_fn):
            raise TypeError(f"batchify_fn: expected a callable, got "
                            f"{type(batchify_fn).__name__}")
        self._batchify_fn = batchify_fn
        self._executor = None
        self._executor_finalizer = None
        self._iter = None
        self.auto_reload = bool(auto_reload)
        if self.auto_reload:
            self.refresh()

    def _thread_executor(self):
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                self._num_workers, thread_name_prefix="DataLoader-thread")
            self._executor_finalizer = weakref.finalize(
                self, self._executor.shutdown, wait=False, cancel_futures=True)
        return self._executor

    def _prefetch_iter(self):
        if self._num_workers == 0:
            return _same_process_iter(self)
        if self._thread_pool:
            return _ThreadIter(self, self._thread_executor())
        return _MultiWorkerIter(self)

    def __iter__(self):
        if self._iter is None:
            self.refresh()
        t = self._iter
        self._iter = None
        try:
            yield from t
        finally:
            close = getattr(t, "close", None)
            if close is not None:
                close()
        if self._iter is None and self.auto_reload:
            self.refresh()

    def __len__(self):
        return len(self._batch_sampler)

    def refresh(self):
        """Start a new iteration now (prefetching from the workers), for the next
        ``for`` loop over the loader."""
        old, self._iter = self._iter, self._prefetch_iter()
        if old is not None and hasattr(old, "close"):
            old.close()

    def clean(self):
        """Drop the prefetched iteration; the next one starts when the loader is iterated."""
        old, self._iter = self._iter, None
        if old is not None and hasattr(old, "close"):
            old.close()

    def __del__(self):
        it = getattr(self, "_iter", None)
        if it is not None and hasattr(it, "close"):
            try:
                it.close()
            except Exception:
                pass
