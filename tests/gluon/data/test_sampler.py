"""gluon.data samplers against MXNet 1.9.1 (tests/fixtures/gluon_data.json)."""
import json
import os

import pytest

import gluonlite as mx
from gluonlite.gluon.data import (BatchSampler, FilterSampler, IntervalSampler, RandomSampler,
                                  Sampler, SequentialSampler)

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "gluon_data.json")


@pytest.fixture(scope="module")
def ref():
    with open(FIX) as f:
        return json.load(f)


def test_batch_sampler_matches_mxnet(ref):
    """Every last_batch mode, three epochs each: len() before the epoch and the batches."""
    for case in ref["batch_sampler"]:
        s = BatchSampler(SequentialSampler(case["length"]), case["batch_size"],
                         case["last_batch"])
        got = []
        for _ in range(3):
            n = len(s)
            got.append([n, list(s)])
        assert got == case["epochs"], case


def test_len_counts_the_batches_of_the_next_epoch(ref):
    for case in ref["batch_sampler"]:
        for n, batches in case["epochs"]:
            assert n == len(batches), case


def test_interval_sampler_matches_mxnet(ref):
    for case in ref["interval"]:
        s = IntervalSampler(case["length"], case["interval"], case["rollover"])
        assert list(s) == case["items"]
        # MXNet's len() is `length` even without rollover; gluonlite counts the indices
        assert len(s) == len(case["items"])
        if case["rollover"]:
            assert len(s) == case["len"]


def test_sequential_sampler_start():
    assert list(SequentialSampler(4, start=3)) == [3, 4, 5, 6]
    assert len(SequentialSampler(0)) == 0


def test_random_sampler_is_a_seeded_permutation():
    s = RandomSampler(50)
    a, b = list(s), list(s)
    assert sorted(a) == list(range(50)) and sorted(b) == list(range(50))
    assert a != b  # a new order on every pass
    assert all(type(i) is int for i in a)
    mx.random.seed(11)
    c = list(RandomSampler(50))
    mx.random.seed(11)
    assert list(RandomSampler(50)) == c
    assert len(s) == 50


def test_random_sampler_ignores_numpy_global_seed():
    import numpy as np
    mx.random.seed(3)
    np.random.seed(1)
    a = list(RandomSampler(20))
    mx.random.seed(3)
    np.random.seed(2)
    assert list(RandomSampler(20)) == a


def test_filter_sampler():
    s = FilterSampler(lambda x: x > 2, [5, 1, 3, 0])
    assert list(s) == [0, 2] and len(s) == 2
    with pytest.raises(TypeError, match="fn"):
        FilterSampler(3, [1])


def test_custom_sampler_in_batch_sampler():
    class Evens(Sampler):
        def __iter__(self):
            return iter(range(0, 10, 2))

        def __len__(self):
            return 5
    assert list(BatchSampler(Evens(), 2, "discard")) == [[0, 2], [4, 6]]


def test_errors(ref):
    mxerr = {e["name"]: e for e in ref["errors"]}
    with pytest.raises(ValueError) as ei:
        BatchSampler(SequentialSampler(10), 3, "drop")
    assert str(ei.value) == mxerr["bad_last_batch"]["message"].replace("drop", "'drop'")
    with pytest.raises(AssertionError, match=mxerr["interval_too_large"]["message"]):
        IntervalSampler(3, 4)
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(SequentialSampler(10), 0)
    with pytest.raises(TypeError, match="batch_size"):
        BatchSampler(SequentialSampler(10), 2.0)
    with pytest.raises(TypeError, match="sampler"):
        BatchSampler(5, 2)
    with pytest.raises(ValueError, match="length"):
        SequentialSampler(-1)
    with pytest.raises(TypeError, match="length"):
        RandomSampler("10")
    with pytest.raises(ValueError, match="interval"):
        IntervalSampler(5, 0)
