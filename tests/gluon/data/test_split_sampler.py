"""SplitSampler: one worker's equal-length part of a dataset."""
import pytest

import gluonlite as mx
from gluonlite.gluon.data import SplitSampler


def test_parts_are_disjoint_equal_and_cover_all_but_the_rest():
    parts = [list(SplitSampler(11, 3, i, shuffle=False)) for i in range(3)]
    assert parts == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert [len(SplitSampler(11, 3, i)) for i in range(3)] == [3, 3, 3]
    assert list(SplitSampler(4)) != [] and sorted(SplitSampler(4)) == [0, 1, 2, 3]


def test_shuffle_is_seeded_and_stays_in_the_part():
    mx.random.seed(5)
    a = list(SplitSampler(100, 2, 1))
    mx.random.seed(5)
    b = list(SplitSampler(100, 2, 1))
    assert a == b and sorted(a) == list(range(50, 100)) and a != sorted(a)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"part_index: expected an int in \[0, 2\)"):
        SplitSampler(10, 2, 2)
    with pytest.raises(ValueError, match="num_parts: expected an int >= 1"):
        SplitSampler(10, 0)
    with pytest.raises(TypeError, match="length: expected an int"):
        SplitSampler(1.5)
    with pytest.raises(TypeError, match="shuffle: expected a bool"):
        SplitSampler(10, shuffle=1)


def test_with_a_dataloader():
    ds = mx.gluon.data.ArrayDataset(list(range(10)))
    loader = mx.gluon.data.DataLoader(ds, batch_size=2,
                                      sampler=SplitSampler(len(ds), 2, 1, shuffle=False))
    assert [b.asnumpy().tolist() for b in loader] == [[5, 6], [7, 8], [9]]
