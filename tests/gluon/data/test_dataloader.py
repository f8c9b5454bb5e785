"""gluon.data.DataLoader: MXNet 1.9.1's batching (tests/fixtures/gluon_data.json), worker
processes and threads equal to the main process, errors, timeouts and clean shutdown."""
import errno
import faulthandler
import gc
import json
import multiprocessing
import os
import random
import signal
import sys
import time
import traceback

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.gluon.data import (ArrayDataset, BatchSampler, DataLoader, Dataset,
                                  SequentialSampler, SimpleDataset)
from gluonlite.gluon.data.dataloader import (DataLoaderTimeoutError, WorkerTraceback,
                                             default_batchify_fn, default_mp_batchify_fn)

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "gluon_data.json")
MODES = [pytest.param(0, False, id="main"), pytest.param(2, False, id="processes"),
         pytest.param(2, True, id="threads")]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX worker processes")


@pytest.fixture(scope="module")
def ref():
    with open(FIX) as f:
        return json.load(f)


def segments():
    """This process's DataLoader shared-memory segments still present."""
    if not os.path.isdir("/dev/shm"):
        return []
    prefix = f"gl{os.getpid():x}_"
    return [n for n in os.listdir("/dev/shm") if n.startswith(prefix)]


def assert_clean(pids=()):
    """No worker process and no shared-memory segment is left."""
    assert multiprocessing.active_children() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert segments() == []


def flat(batch):
    """Nested batch -> comparable Python structure (type, dtype, context, values)."""
    if isinstance(batch, (list, tuple)):
        return [flat(b) for b in batch]
    if isinstance(batch, dict):
        return {k: flat(v) for k, v in batch.items()}
    if isinstance(batch, nd.NDArray):
        return ("nd", np.dtype(batch.dtype).name, str(batch.context), batch.shape,
                batch.asnumpy().tobytes())
    if isinstance(batch, np.ndarray):
        return ("np", batch.dtype.name, batch.shape, batch.tobytes())
    return batch


# --- batching as MXNet ----------------------------------------------------------------------
@pytest.mark.parametrize("workers,threads", MODES)
def test_last_batch_modes_match_mxnet(ref, workers, threads):
    for case in ref["dataloader"]:
        dl = DataLoader(ArrayDataset(np.arange(case["length"]) * 10), case["batch_size"],
                        last_batch=case["last_batch"], num_workers=workers,
                        thread_pool=threads)
        got, dtypes = [], set()
        for _ in range(3):
            n = len(dl)
            batches = []
            for b in dl:
                batches.append(b.asnumpy().tolist())
                dtypes.add(np.dtype(b.dtype).name)
            got.append([n, batches])
        assert got == case["epochs"], case
        assert sorted(dtypes) == case["dtypes"]
    assert_clean()


def describe(b):
    if isinstance(b, list):
        return {"list": [describe(x) for x in b]}
    return {"dtype": np.dtype(b.dtype).name, "shape": list(b.shape),
            "values": b.asnumpy().astype(np.float64).ravel().tolist()}


def test_default_batchify_matches_mxnet(ref):
    cases = {
        "int": [1, 2, 3],
        "float": [1.5, 2.5],
        "bool": [True, False],
        "np_int32": [np.int32(1), np.int32(2)],
        "np_float32": [np.float32(0.5), np.float32(1.5)],
        "np_uint8_img": [np.full((2, 3), i, np.uint8) for i in range(3)],
        "np_float64_vec": [np.arange(3.0) + i for i in range(2)],
        "nd_float32": [nd.ones((2, 2)) * i for i in range(3)],
        "nd_int32": [nd.array([i, i + 1], dtype="int32") for i in range(2)],
        "tuple": [(1, 2.0), (3, 4.0)],
        "nested": [((1, 2), 3.0), ((4, 5), 6.0)],
        "nd_and_label": [(nd.ones((2,)) * i, i) for i in range(3)],
        "list_samples": [[1, 2], [3, 4]],
    }
    for case in ref["batchify"]:
        data = cases[case["name"]]
        assert describe(default_batchify_fn(data)) == case["result"], case["name"]
        assert describe(default_mp_batchify_fn(data)) == case["result"], case["name"]


def test_batchify_errors():
    with pytest.raises(TypeError, match="cannot batch samples of type str"):
        default_batchify_fn(["a", "b"])
    with pytest.raises(TypeError, match="dict"):
        default_batchify_fn([{"a": 1}, {"a": 2}])
    with pytest.raises(ValueError, match="sample 1 is a tuple of 3 fields"):
        default_batchify_fn([(1, 2), (1, 2, 3)])
    with pytest.raises(ValueError, match="non-empty list"):
        default_batchify_fn([])


def test_argument_validation_matches_mxnet(ref):
    mxerr = {e["name"]: e for e in ref["errors"]}
    ds = ArrayDataset(np.arange(10))
    cases = {
        "no_batch_size": lambda: DataLoader(ds),
        "shuffle_and_sampler": lambda: DataLoader(ds, 2, shuffle=True,
                                                  sampler=SequentialSampler(10)),
        "batch_sampler_and_batch_size":
            lambda: DataLoader(ds, 2, batch_sampler=BatchSampler(SequentialSampler(10), 2)),
        "batch_sampler_and_last_batch":
            lambda: DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(10), 2),
                               last_batch="keep"),
        "timeout_zero": lambda: DataLoader(ds, 2, timeout=0),
    }
    for name, fn in cases.items():
        with pytest.raises(Exception) as ei:
            fn()
        assert type(ei.value).__name__ == mxerr[name]["type"], name
        assert str(ei.value) == mxerr[name]["message"], name
    with pytest.raises(ValueError, match="last_batch must be one of"):
        DataLoader(ds, 3, last_batch="drop")  # MXNet only notices when iterating


def test_extra_argument_checks():
    ds = ArrayDataset(np.arange(10))
    for kwargs, exc, match in [
            ({"batch_size": 0}, ValueError, "batch_size"),
            ({"batch_size": 2.5}, TypeError, "batch_size"),
            ({"batch_size": 2, "num_workers": "2"}, TypeError, "num_workers"),
            ({"batch_size": 2, "batchify_fn": 3}, TypeError, "batchify_fn"),
            ({"batch_size": 2, "timeout": "1"}, TypeError, "timeout"),
            ({"batch_size": 2, "timeout": -1}, AssertionError, "timeout must be positive"),
            ({"batch_size": 2, "prefetch": "many"}, TypeError, "prefetch"),
            ({"batch_size": 2, "pin_device_id": -1}, ValueError, "pin_device_id"),
            ({"batch_size": 2, "try_nopython": "yes"}, TypeError, "try_nopython"),
            ({"batch_sampler": 5}, TypeError, "batch_sampler")]:
        with pytest.raises(exc, match=match):
            DataLoader(ds, **kwargs)
    with pytest.raises(TypeError, match="dataset"):
        DataLoader(5, 2)


@pytest.mark.parametrize("workers", [0, 2])
def test_arrays_as_datasets(workers):
    # shapes and dtypes as MXNet 1.9.1 gives them: (3, 1) float32, (3, 2) float64 / float32
    b = next(iter(DataLoader(nd.arange(10), 3, num_workers=workers)))
    assert b.shape == (3, 1) and b.dtype == np.float32
    b = next(iter(DataLoader(np.arange(10.0).reshape(5, 2), 3, num_workers=workers)))
    assert b.shape == (3, 2) and b.dtype == np.float64
    b = next(iter(DataLoader(nd.arange(10).reshape((5, 2)), 3, num_workers=workers)))
    assert b.shape == (3, 2) and b.dtype == np.float32
    assert b.asnumpy().tolist() == [[0, 1], [2, 3], [4, 5]]


def test_batch_sampler_and_negative_workers():
    ds = ArrayDataset(np.arange(7))
    bs = BatchSampler(SequentialSampler(7), 3, "discard")
    dl = DataLoader(ds, batch_sampler=bs, num_workers=-3, try_nopython=True)
    assert len(dl) == 2
    assert [b.asnumpy().tolist() for b in dl] == [[0, 1, 2], [3, 4, 5]]


# --- shuffling --------------------------------------------------------------------------------
@pytest.mark.parametrize("workers,threads", MODES)
def test_shuffle_covers_every_sample_once_per_epoch(workers, threads):
    dl = DataLoader(ArrayDataset(np.arange(103)), 10, shuffle=True, num_workers=workers,
                    thread_pool=threads)
    orders = []
    for _ in range(3):
        order = np.concatenate([b.asnumpy() for b in dl]).tolist()
        assert sorted(order) == list(range(103))
        orders.append(order)
    assert orders[0] != orders[1] != orders[2]
    assert_clean()


def test_seeded_shuffles_reproducible_and_equal_across_modes():
    ds = ArrayDataset(np.arange(50))
    runs = []
    for workers, threads in [(0, False), (2, False), (3, False), (2, True)]:
        mx.random.seed(7)
        dl = DataLoader(ds, 8, shuffle=True, num_workers=workers, thread_pool=threads)
        runs.append([[b.asnumpy().tolist() for b in dl] for _ in range(2)])
    assert runs[0][0] != runs[0][1]
    assert all(r == runs[0] for r in runs[1:])


# --- workers equal the main process ----------------------------------------------------------
class Mixed(Dataset):
    """Samples mixing NDArrays, numpy arrays, scalars and nested tuples."""

    def __len__(self):
        return 37

    def __getitem__(self, i):
        img = np.arange(3 * 32 * 32, dtype=np.float32).reshape(3, 32, 32) + i
        return (nd.array(img), (np.full((5,), i, np.uint8), float(i) / 3)), i


class Slow(Dataset):
    """Sample i takes longer when i // 4 is even, so workers finish out of order."""

    def __len__(self):
        return 24

    def __getitem__(self, i):
        if (i // 4) % 2 == 0:
            time.sleep(0.005)
        return np.array([i, i * i], np.int32)


@pytest.mark.parametrize("workers,threads", MODES[1:])
def test_workers_equal_main_process(workers, threads):
    for ds, bs, kw in [(Mixed(), 5, {}), (Slow(), 4, {"prefetch": 6}),
                       (Slow(), 4, {"prefetch": 0}), (Mixed(), 8, {"last_batch": "discard"})]:
        want = [flat(b) for b in DataLoader(ds, bs, **kw)]
        got = [flat(b) for b in DataLoader(ds, bs, num_workers=workers, thread_pool=threads,
                                           **kw)]
        assert got == want
    assert_clean()


def _custom_batchify(samples):
    big = np.stack([s[0] for s in samples])  # > 64 KiB: goes through shared memory
    x = nd.array(big[:, 0, 0])
    return {"big": big, "names": ["s%d" % s[1] for s in samples],
            "small": np.array([s[1] for s in samples]), "nd": x, "shared": (x, big, x, big)}


def test_custom_batchify_objects_through_processes():
    ds = ArrayDataset([np.full((64, 64), i, np.float64) for i in range(10)], list(range(10)))
    want = [flat(b) for b in DataLoader(ds, 4, batchify_fn=_custom_batchify)]
    got = [flat(b) for b in DataLoader(ds, 4, batchify_fn=_custom_batchify, num_workers=2)]
    assert got == want and len(got) == 3
    b = next(iter(DataLoader(ds, 4, batchify_fn=_custom_batchify, num_workers=1)))
    b["big"][0, 0, 0] = -1  # arrays from shared memory are ordinary writable arrays
    assert b["big"][0, 0, 0] == -1
    x, big, x2, big2 = b["shared"]  # objects shared within a batch stay shared
    assert x is x2 and big is big2 and big is b["big"]
    assert_clean()


class OnCpu1(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return nd.array([i, 2 * i], ctx=mx.cpu(1))


def test_worker_batches_keep_their_context():
    got = list(DataLoader(OnCpu1(), 4, num_workers=2))
    assert [b.context for b in got] == [mx.cpu(1), mx.cpu(1)]
    assert got[1].asnumpy().tolist() == [[4, 8], [5, 10]]


@pytest.mark.parametrize("workers,threads", MODES)
def test_pin_memory(workers, threads):
    dl = DataLoader(ArrayDataset(np.arange(4.0), np.arange(4)), 2, pin_memory=True,
                    num_workers=workers, thread_pool=threads)
    for data, label in dl:
        assert data.context == mx.cpu_pinned(0) and label.context == mx.cpu_pinned(0)


def test_concurrent_iterators_of_one_loader():
    dl = DataLoader(ArrayDataset(np.arange(9)), 2, num_workers=2)
    a, b = iter(dl), iter(dl)
    got_a, got_b = [], []
    for _ in range(5):
        got_a.append(next(a).asnumpy().tolist())
        got_b.append(next(b).asnumpy().tolist())
    want = [[0, 1], [2, 3], [4, 5], [6, 7], [8]]
    assert got_a == want and got_b == want
    with pytest.raises(StopIteration):
        next(a)
    del a, b
    gc.collect()
    assert_clean()


# --- randomness in workers --------------------------------------------------------------------
class RandomSamples(Dataset):
    """Every sample draws from mx.random, numpy's global generator and Python's random."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        return (nd.random.uniform(shape=(2,)).asnumpy(), np.random.rand(), random.random())


def _draws(workers, threads=False):
    dl = DataLoader(RandomSamples(), 3, num_workers=workers, thread_pool=threads)
    return [[b[k].asnumpy() for b in dl] for k in range(3)]


def test_workers_draw_distinct_reproducible_random_numbers():
    mx.random.seed(21)
    first = _draws(3)
    second = _draws(3)  # the next epoch
    for k in range(3):
        values = np.concatenate([v.ravel() for v in first[k]])
        assert len(np.unique(values)) == values.size  # no two workers/batches repeat draws
        assert not np.array_equal(np.concatenate(first[k]), np.concatenate(second[k]))
    mx.random.seed(21)
    again = _draws(2)  # reproducible whatever the number of workers
    for k in range(3):
        np.testing.assert_array_equal(np.concatenate(first[k]), np.concatenate(again[k]))
    assert_clean()


# --- errors, crashes, timeouts ----------------------------------------------------------------
class Faulty(Dataset):
    def __len__(self):
        return 12

    def __getitem__(self, i):
        if i == 7:
            raise ValueError(f"bad sample {i}")
        return np.float32(i)


class _Unpicklable(Exception):
    def __init__(self):
        super().__init__("cannot travel")
        self.fn = lambda: None


class FaultyUnpicklable(Faulty):
    def __getitem__(self, i):
        if i == 1:
            raise _Unpicklable()
        return np.float32(i)


class Crashing(Faulty):
    def __getitem__(self, i):
        if i == 5:
            os._exit(7)
        return np.float32(i)


def test_worker_error_reraised_with_worker_traceback():
    dl = DataLoader(Faulty(), 2, num_workers=2)
    got = []
    with pytest.raises(ValueError, match="bad sample 7") as ei:
        for b in dl:
            got.append(b.asnumpy().tolist())
    assert got == [[0, 1], [2, 3], [4, 5]]  # batches before the failing one arrive
    cause = ei.value.__cause__
    assert isinstance(cause, WorkerTraceback)
    assert "in DataLoader worker 1" in str(cause)
    assert "Traceback (most recent call last)" in cause.tb
    assert "in __getitem__" in cause.tb and 'raise ValueError(f"bad sample {i}")' in cause.tb
    assert "test_dataloader.py" in "".join(traceback.format_exception(ei.value))
    assert_clean()
    # the loader still works for the next epoch
    dl2 = DataLoader(Faulty().take(6), 2, num_workers=2)
    assert len(list(dl2)) == 3


def test_unpicklable_worker_error():
    with pytest.raises(RuntimeError, match="raised _Unpicklable: cannot travel") as ei:
        list(DataLoader(FaultyUnpicklable(), 2, num_workers=1))
    assert "in __getitem__" in ei.value.__cause__.tb
    assert_clean()


def test_thread_worker_error_keeps_traceback():
    with pytest.raises(ValueError, match="bad sample 7") as ei:
        list(DataLoader(Faulty(), 2, num_workers=2, thread_pool=True))
    text = "".join(traceback.format_exception(ei.value))
    assert "in __getitem__" in text and "_thread_worker_fn" in text


class Stopping(Faulty):
    def __getitem__(self, i):
        if i == 3:
            raise StopIteration("no more")
        return np.float32(i)


@pytest.mark.parametrize("workers,threads", MODES)
def test_stop_iteration_in_dataset_is_an_error_not_the_end(workers, threads):
    with pytest.raises(RuntimeError, match="StopIteration"):
        list(DataLoader(Stopping(), 2, num_workers=workers, thread_pool=threads))
    assert_clean()


def test_worker_crash_is_reported():
    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 7"):
        list(DataLoader(Crashing(), 2, num_workers=2))
    assert_clean()


class Bus(Faulty):
    def __getitem__(self, i):
        if i == 3:
            faulthandler.disable()  # pytest's handler would print the worker's stack
            os.kill(os.getpid(), signal.SIGBUS)
        return np.float32(i)


def test_worker_killed_by_sigbus_hints_at_shared_memory():
    with pytest.raises(RuntimeError, match="SIGBUS.*/dev/shm"):
        list(DataLoader(Bus(), 2, num_workers=1))
    assert_clean()


def test_full_shared_memory_is_a_clear_error(monkeypatch):
    def no_space(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "posix_fallocate", no_space, raising=False)
    with pytest.raises(MemoryError, match="no shared memory left") as ei:
        list(DataLoader(ArrayDataset(np.zeros((4, 8), np.float32)), 2, num_workers=1))
    assert "_reserve" in ei.value.__cause__.tb
    assert_clean()


class Sleepy(Dataset):
    def __init__(self, delay):
        self.delay = delay

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i >= 2:
            time.sleep(self.delay)
        return np.float32(i)


@pytest.mark.parametrize("threads", [False, True], ids=["processes", "threads"])
def test_timeout(threads):
    # a stuck process is terminated after a grace period; a thread cannot be, so it only
    # sleeps for a while
    delay = 0.5 if threads else 10.0
    dl = DataLoader(Sleepy(delay), 2, num_workers=1, thread_pool=threads, timeout=0.2)
    it = iter(dl)
    assert next(it).asnumpy().tolist() == [0, 1]
    start = time.monotonic()
    with pytest.raises(multiprocessing.TimeoutError, match="timed out after 0.2 seconds"):
        next(it)
    assert time.monotonic() - start < (0.9 if threads else 6.0)
    assert isinstance(DataLoaderTimeoutError("x"), TimeoutError)
    if not threads:
        assert_clean()


# --- shutdown ---------------------------------------------------------------------------------
def test_no_leaks_after_early_stop_or_garbage_collection():
    ds = ArrayDataset(np.random.rand(64, 40, 40).astype(np.float32), np.arange(64))
    dl = DataLoader(ds, 4, num_workers=2, prefetch=10)
    for i, _ in enumerate(dl):
        if i == 1:
            pids = [p.pid for p in multiprocessing.active_children()]
            time.sleep(0.2)  # let the workers fill the prefetch window
            break
    assert len(pids) == 2
    assert_clean(pids)

    it = iter(dl)
    next(it)
    pids = [p.pid for p in multiprocessing.active_children()]
    assert len(pids) == 2
    time.sleep(0.2)
    del it
    gc.collect()
    assert_clean(pids)

    dl = DataLoader(ds, 4, num_workers=2, auto_reload=True)  # prefetches at construction
    pids = [p.pid for p in multiprocessing.active_children()]
    assert len(pids) == 2
    time.sleep(0.1)
    del dl
    gc.collect()
    assert_clean(pids)


def test_auto_reload_prefetches_each_epoch():
    ds = SimpleDataset(list(range(6)))
    dl = DataLoader(ds, 4, num_workers=1, auto_reload=True)
    for _ in range(2):
        assert dl._iter is not None
        assert [b.asnumpy().tolist() for b in dl] == [[0, 1, 2, 3], [4, 5]]
    dl.clean()
    assert dl._iter is None
    assert_clean()
    assert [b.asnumpy().tolist() for b in dl] == [[0, 1, 2, 3], [4, 5]]
    dl.clean()
    assert_clean()


def test_thread_pool_released_with_the_loader():
    dl = DataLoader(SimpleDataset(list(range(6))), 2, num_workers=2, thread_pool=True)
    assert len(list(dl)) == 3
    executor = dl._executor
    del dl
    gc.collect()
    assert executor._shutdown
