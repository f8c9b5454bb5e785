"""Samplers: the order in which a DataLoader visits a dataset (MXNet's ``gluon.data.sampler``).

A sampler is an iterable of indices with a length. ``BatchSampler`` groups another
sampler's indices into mini-batches and decides what happens to an incomplete last batch.
``RandomSampler`` draws its permutations from gluonlite's CPU generator, so
``mx.random.seed`` makes shuffles reproducible (MXNet drew them from NumPy's global
generator).
"""
from __future__ import annotations

import numbers

from ... import random as _random
from ...context import cpu

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "FilterSampler", "BatchSampler",
           "IntervalSampler", "SplitSampler"]

_LAST_BATCH = ("keep", "discard", "rollover")


def _int(value, name, minimum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return value


class Sampler:
    """Base class for samplers: subclasses define ``__iter__`` (the indices) and
    ``__len__`` (how many there are)."""

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """Samples ``start, start + 1, ..., start + length - 1`` in order.

    Parameters
    ----------
    length : int
        Number of indices.
    start : int, default 0
        The first index.
    """

    def __init__(self, length, start=0):
        self._length = _int(length, "length", 0)
        self._start = _int(start, "start")

    def __iter__(self):
        return iter(range(self._start, self._start + self._length))

    def __len__(self):
        return self._length


class RandomSampler(Sampler):
    """Samples every index of ``[0, length)`` once, in a random order drawn afresh each
    time the sampler is iterated.

    The permutation comes from gluonlite's CPU generator (``mx.random.seed`` makes it
    reproducible). Indices are Python ints.

    Parameters
    ----------
    length : int
        Number of indices.
    """

    def __init__(self, length):
        self._length = _int(length, "length", 0)

    def __iter__(self):
        from ... import random as _random
        from ...context import cpu
        return iter(_random.generator(cpu()).permutation(self._length).tolist())

    def __len__(self):
        return self._length


class FilterSampler(Sampler):
    """Samples, in order, the indices of the samples of ``dataset`` for which ``fn`` returns
    True (evaluated once, when the sampler is created).

    Parameters
    ----------
    fn : callable
        Takes a sample and returns a boolean.
    dataset : Dataset
        The dataset to filter.
    """

    def __init__(self, fn, dataset):
        if not callable(fn):
            raise TypeError(f"fn: expected a callable taking a sample and returning a bool, "
                            f"got {type(fn).__name__}")
        self._fn = fn
        self._dataset = dataset
        self._indices = [i for i, sample in enumerate(dataset) if fn(sample)]

    def __iter__(self):
        return iter(self._indices)

    def __len__(self):
        return len(self._indices)


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Parameters
    ----------
    sampler : Sampler
        The source of indices (any iterable with a length).
    batch_size : int
        Size of a mini-batch.
    last_batch : {'keep', 'discard', 'rollover'}, default 'keep'
        What to do with an incomplete last batch: ``'keep'`` returns it (shorter),
        ``'discard'`` drops it, ``'rollover'`` carries its indices over to the start of the
        next iteration. ``len()`` counts the batches the next iteration yields.

    Examples
    --------
    >>> sampler = gluon.data.SequentialSampler(10)
    >>> list(gluon.data.BatchSampler(sampler, 3, 'keep'))
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(self, sampler, batch_size, last_batch="keep"):
        if not hasattr(sampler, "__iter__"):
            raise TypeError(f"sampler: expected a Sampler (an iterable of indices), got "
                            f"{type(sampler).__name__}")
        self._sampler = sampler
        self._batch_size = _int(batch_size, "batch_size", 1)
        if last_batch not in _LAST_BATCH:
            raise ValueError("last_batch must be one of 'keep', 'discard', or 'rollover', "
                             f"but got {last_batch!r}")
        self._last_batch = last_batch
        self._prev = []

    def __iter__(self):
        batch, self._prev = self._prev, []
        size = self._batch_size
        for i in self._sampler:
            batch.append(i)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            if self._last_batch == "keep":
                yield batch
            elif self._last_batch == "rollover":
                self._prev = batch

    def __len__(self):
        n, size = len(self._sampler), self._batch_size
        if self._last_batch == "keep":
            return (n + size - 1) // size
        if self._last_batch == "discard":
            return n // size
        return (len(self._prev) + n) // size


class IntervalSampler(Sampler):
    """Samples ``[0, length)`` at a fixed ``interval``: ``0, interval, 2 * interval, ...``;
    with ``rollover`` it then starts again from 1, 2, ... until every index was visited
    (MXNet's ``gluon.contrib.data.IntervalSampler``).

    Parameters
    ----------
    length : int
        Length of the sequence.
    interval : int
        Step between two samples (``1 <= interval <= length``).
    rollover : bool, default True
        Whether to go round again from the skipped indices (otherwise only
        ``0, interval, ...`` are sampled).

    ``len()`` is the number of indices actually sampled (MXNet returns ``length`` even
    without rollover).

    Examples
    --------
    >>> list(IntervalSampler(13, interval=3))
    [0, 3, 6, 9, 12, 1, 4, 7, 10, 2, 5, 8, 11]
    >>> list(IntervalSampler(13, interval=3, rollover=False))
    [0, 3, 6, 9, 12]
    """

    def __init__(self, length, interval, rollover=True):
        self._length = _int(length, "length", 0)
        self._interval = _int(interval, "interval", 1)
        if self._interval > self._length:
            raise AssertionError(f"Interval {self._interval} must be smaller than or equal "
                                 f"to length {self._length}")
        self._rollover = bool(rollover)

    def __iter__(self):
        for i in range(self._interval if self._rollover else 1):
            yield from range(i, self._length, self._interval)

    def __len__(self):
        if self._rollover:
            return self._length
        return (self._length + self._interval - 1) // self._interval


class SplitSampler(Sampler):
    """Samples one worker's part of ``[0, length)`` for distributed training (the
    ``SplitSampler`` of MXNet's distributed-training example and GluonCV).

    The indices are cut into ``num_parts`` contiguous parts of ``length // num_parts``
    each (the last ``length % num_parts`` indices are left out), so every worker gets the
    same number of samples and therefore makes the same number of steps, which
    synchronous training needs. Part ``part_index`` is visited in a random order drawn
    afresh each epoch (``mx.random.seed`` makes it reproducible), or in order with
    ``shuffle=False``.

    Parameters
    ----------
    length : int
        Number of samples in the dataset.
    num_parts : int, default 1
        Number of parts (usually ``kv.num_workers``).
    part_index : int, default 0
        The part to sample (usually ``kv.rank``), ``0 <= part_index < num_parts``.
    shuffle : bool, default True
        Whether to shuffle the part each epoch.
    """

    def __init__(self, length, num_parts=1, part_index=0, shuffle=True):
        length = _int(length, "length", 0)
        num_parts = _int(num_parts, "num_parts", 1)
        part_index = _int(part_index, "part_index", 0)
        if part_index >= num_parts:
            raise ValueError(f"part_index: expected an int in [0, {num_parts}), got "
                             f"{part_index}")
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle: expected a bool, got {type(shuffle).__name__}")
        self._part_len = length // num_parts
        self._start = self._part_len * part_index
        self._shuffle = shuffle

    def __iter__(self):
        if not self._shuffle:
            return iter(range(self._start, self._start + self._part_len))
        perm = _random.generator(cpu()).permutation(self._part_len)
        return iter((perm + self._start).tolist())

    def __len__(self):
        return self._part_len
