"""mx.io.ResizeIter and mx.io.PrefetchingIter (MXNet 1.9.1 semantics)."""
import gc
import threading
import time

import numpy as np
import pytest

import gluonlite as mx


def labels(batches):
    return [b.label[0].asnumpy().tolist() for b in batches]


def nditer(n=10, bs=4, **kw):
    return mx.io.NDArrayIter(np.arange(2 * n, dtype=np.float32).reshape(n, 2),
                             np.arange(n, dtype=np.float32), bs, **kw)


def test_resize_iter_wraps_and_stops():
    it = mx.io.ResizeIter(nditer(), 5)
    assert it.batch_size == 4
    assert [d.shape for d in it.provide_data] == [(4, 2)]
    got = list(it)
    # 3 batches (last padded by 2), inner reset, 2 more
    assert labels(got) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1], [0, 1, 2, 3], [4, 5, 6, 7]]
    assert [b.pad for b in got] == [0, 0, 2, 0, 0]
    it.reset()
    assert labels(list(it))[0] == [0, 1, 2, 3]


def test_resize_iter_without_internal_reset_continues():
    it = mx.io.ResizeIter(nditer(), 2, reset_internal=False)
    assert labels(list(it)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    it.reset()
    assert labels(list(it)) == [[8, 9, 0, 1], [0, 1, 2, 3]]


def test_resize_iter_errors():
    with pytest.raises(ValueError, match="size"):
        mx.io.ResizeIter(nditer(), -1)
    with pytest.raises(TypeError, match="data_iter"):
        mx.io.ResizeIter([1, 2], 2)


def test_prefetching_single_iter_matches_inner():
    ref = labels(list(nditer(bs=3)))
    it = mx.io.PrefetchingIter(nditer(bs=3))
    try:
        for _ in range(3):
            got = list(it)
            assert labels(got) == ref
            assert [b.pad for b in got] == [0, 0, 0, 2]
            it.reset()
        assert it.batch_size == 3
    finally:
        it.close()


def test_prefetching_combines_and_renames():
    a = mx.io.NDArrayIter({"data": np.ones((8, 2))}, {"softmax_label": np.zeros(8)}, 4)
    b = mx.io.NDArrayIter({"data": np.zeros((8, 3))}, {"softmax_label": np.ones(8)}, 4)
    it = mx.io.PrefetchingIter([a, b], rename_data=[{"data": "d1"}, {"data": "d2"}],
                               rename_label=[{"softmax_label": "l1"}, {"softmax_label": "l2"}])
    try:
        assert [(d.name, d.shape) for d in it.provide_data] == [("d1", (4, 2)), ("d2", (4, 3))]
        assert [d.name for d in it.provide_label] == ["l1", "l2"]
        batches = list(it)
        assert len(batches) == 2
        bt = batches[0]
        assert [x.shape for x in bt.data] == [(4, 2), (4, 3)]
        assert [x.asnumpy()[0] for x in bt.label] == [0, 1]
        assert [d.name for d in bt.provide_data] == ["d1", "d2"]
    finally:
        it.close()


def test_prefetching_without_rename_concatenates_descs():
    it = mx.io.PrefetchingIter([nditer(), nditer()])
    try:
        assert [d.name for d in it.provide_data] == ["data", "data"]
        assert len(list(it)[0].data) == 2
    finally:
        it.close()


def test_prefetching_mismatched_iters():
    it = mx.io.PrefetchingIter([nditer(n=8), nditer(n=12)])
    try:
        with pytest.raises(AssertionError, match="mismatches"):
            list(it)
    finally:
        it.close()


class Failing(mx.io.DataIter):
    def __init__(self, fail_at):
        super().__init__(2)
        self.i = 0
        self.fail_at = fail_at
        self.provide_data = [mx.io.DataDesc("data", (2, 1))]
        self.provide_label = []

    def reset(self):
        self.i = 0

    def next(self):
        self.i += 1
        if self.i == self.fail_at:
            raise ValueError(f"broken record {self.i}")
        if self.i > 4:
            raise StopIteration
        return mx.io.DataBatch([mx.nd.full((2, 1), self.i)], [], pad=0)


def test_prefetching_reraises_inner_errors_in_consumer():
    it = mx.io.PrefetchingIter(Failing(fail_at=2))
    try:
        assert it.next().data[0].asnumpy()[0, 0] == 1
        with pytest.raises(ValueError, match="broken record 2"):
            it.next()
        # the iterator keeps going after the failed batch, like the inner one
        assert [b.data[0].asnumpy()[0, 0] for b in it] == [3, 4]
        it.reset()
        assert it.next().data[0].asnumpy()[0, 0] == 1
    finally:
        it.close()


def test_prefetching_reads_ahead_in_background():
    class Slow(Failing):
        def next(self):
            time.sleep(0.05)
            return super().next()
    it = mx.io.PrefetchingIter(Slow(fail_at=-1))
    try:
        time.sleep(0.2)  # the first batch is fetched while we wait
        t0 = time.perf_counter()
        it.next()
        assert time.perf_counter() - t0 < 0.04
    finally:
        it.close()


def test_prefetching_threads_stop_on_close_and_collection():
    before = threading.active_count()
    it = mx.io.PrefetchingIter([nditer(), nditer()])
    assert threading.active_count() == before + 2
    it.close()
    assert threading.active_count() == before
    with pytest.raises(RuntimeError, match="closed"):
        it.next()
    it = mx.io.PrefetchingIter(nditer())
    del it
    gc.collect()
    assert threading.active_count() == before


def test_prefetching_argument_errors():
    with pytest.raises(ValueError, match="at least one"):
        mx.io.PrefetchingIter([])
    with pytest.raises(ValueError, match="rename_data"):
        mx.io.PrefetchingIter([nditer(), nditer()], rename_data=[{"data": "x"}])
    with pytest.raises(KeyError, match="no new name for 'data'"):
        mx.io.PrefetchingIter(nditer(), rename_data=[{"other": "x"}])
