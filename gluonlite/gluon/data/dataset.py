"""Datasets: indexable collections of samples (MXNet's ``gluon.data.dataset``).

A dataset has ``__getitem__`` (the i-th sample) and ``__len__``; numpy arrays, NDArrays and
lists can be used as datasets directly. ``Dataset`` adds the MXNet combinators
(``transform``, ``transform_first``, ``filter``, ``shard``, ``take``, ``sample``), which
return new datasets and leave the original untouched.
"""
from __future__ import annotations

import numbers
import os

from ...ndarray import NDArray
from .sampler import Sampler, SequentialSampler, FilterSampler

__all__ = ["Dataset", "SimpleDataset", "ArrayDataset", "RecordFileDataset"]


class Dataset:
    """Abstract dataset: subclasses override ``__getitem__`` (the idx-th sample) and
    ``__len__`` (the number of samples).

    An NDArray, a numpy array or a list can be used as a dataset directly.
    """

    def __getitem__(self, idx):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def filter(self, fn):
        """A new dataset with the samples for which ``fn(sample)`` is True.

        ``fn`` is evaluated on every sample once, now (as MXNet does); a lazily transformed
        dataset is transformed for that and again whenever a sample is read later.
        """
        return _SampledDataset(self, FilterSampler(fn, self))

    def shard(self, num_shards, index):
        """A new dataset with the ``index``-th of ``num_shards`` contiguous parts of this one.

        The parts differ in length by at most one sample (the first ``len % num_shards``
        parts have one more). For distributed training, shard before shuffling so that
        every worker sees its own subset.
        """
        num_shards = _int(num_shards, "num_shards")
        index = _int(index, "index")
        if not index < num_shards:
            raise AssertionError(f"Shard index of out bound: {index} out of {num_shards}")
        if not num_shards > 0:
            raise AssertionError("Number of shards must be greater than 0")
        if not index >= 0:
            raise AssertionError("Index must be non-negative")
        length = len(self)
        shard_len, rest = divmod(length, num_shards)
        start = shard_len * index + min(index, rest)
        end = start + shard_len + (index < rest)
        return _SampledDataset(self, SequentialSampler(end - start, start))

    def take(self, count):
        """A new dataset with the first ``count`` samples (all of them when ``count`` is None
        or larger than the dataset)."""
        if count is not None:
            count = _int(count, "count")
            if count < 0:
                raise ValueError(f"count: expected None or an int >= 0, got {count}")
        if count is None or count > len(self):
            count = len(self)
        return _SampledDataset(self, SequentialSampler(count))

    def sample(self, sampler):
        """A new dataset with the samples at the indices ``sampler`` yields (drawn once)."""
        if not isinstance(sampler, Sampler):
            raise TypeError(f"Invalid sampler type: {type(sampler)}. Expected "
                            "gluon.data.Sampler instead.")
        return _SampledDataset(self, sampler)

    def transform(self, fn, lazy=True):
        """A new dataset whose samples are ``fn(sample)``; a tuple sample is unpacked,
        ``fn(*sample)``.

        With ``lazy=True`` (the default) ``fn`` runs whenever a sample is read, so a random
        augmentation differs every epoch; ``lazy=False`` transforms every sample now.
        """
        if not callable(fn):
            raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
        trans = _LazyTransformDataset(self, fn)
        if lazy:
            return trans
        return SimpleDataset([i for i in trans])

    def transform_first(self, fn, lazy=True):
        """Like :meth:`transform`, but only the first element of each sample goes through
        ``fn`` (the data, leaving the label as it is)."""
        if not callable(fn):
            raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
        return self.transform(_TransformFirstClosure(fn), lazy)


def _int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    return int(value)


class SimpleDataset(Dataset):
    """A dataset over any object with ``len()`` and ``[]`` (a list, an array, ...).

    Parameters
    ----------
    data : dataset-like object
    """

    def __init__(self, data):
        _check_dataset_like(data, "data")
        self._data = data

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        return self._data[idx]


class _LazyTransformDataset(Dataset):
    """A dataset whose samples go through ``fn`` when read."""

    def __init__(self, data, fn):
        self._data = data
        self._fn = fn

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        item = self._data[idx]
        if isinstance(item, tuple):
            return self._fn(*item)
        return self._fn(item)


class _TransformFirstClosure:
    """Applies ``fn`` to the first element of a sample (an object, so it pickles)."""

    def __init__(self, fn):
        self._fn = fn

    def __call__(self, x, *args):
        if args:
            return (self._fn(x),) + args
        return self._fn(x)


class _SampledDataset(Dataset):
    """The samples of ``dataset`` at the indices a sampler yields (drawn once)."""

    def __init__(self, dataset, sampler):
        self._dataset = dataset
        self._sampler = sampler
        self._indices = list(iter(sampler))

    def __len__(self):
        return len(self._indices)

    def __getitem__(self, idx):
        return self._dataset[self._indices[idx]]


class ArrayDataset(Dataset):
    """A dataset combining several dataset-like objects of the same length (NDArrays,
    numpy arrays, lists, datasets): the i-th sample is ``(x1[i], x2[i], ...)``, or ``x1[i]``
    itself when there is a single one.

    As in MXNet, a 1-D NDArray is converted to numpy, so its samples are numpy scalars
    rather than NDArrays of shape (1,).

    Parameters
    ----------
    *args : one or more dataset-like objects
    """

    def __init__(self, *args):
        if not args:
            raise AssertionError("Needs at least 1 arrays")
        for i, data in enumerate(args):
            _check_dataset_like(data, f"args[{i}]")
        self._length = len(args[0])
        self._data = []
        for i, data in enumerate(args):
            if len(data) != self._length:
                raise AssertionError(
                    f"All arrays must have the same length; array[0] has length "
                    f"{self._length} while array[{i}] has {len(data)}.")
            if isinstance(data, NDArray) and len(data.shape) == 1:
                data = data.asnumpy()
            self._data.append(data)

    def __getitem__(self, idx):
        if len(self._data) == 1:
            return self._data[0][idx]
        return tuple(data[idx] for data in self._data)

    def __len__(self):
        return self._length


class RecordFileDataset(Dataset):
    """A dataset over a RecordIO file (``.rec``) and its index (the ``.idx`` beside it):
    each sample is the raw bytes of one record, in the order of the index.

    Parameters
    ----------
    filename : str
        Path to the ``.rec`` file; the index is the same path with the extension ``.idx``.

    Each DataLoader worker process reopens the file for itself.
    """

    def __init__(self, filename):
        from ... import recordio
        if isinstance(filename, os.PathLike):
            filename = os.fspath(filename)
        if not isinstance(filename, str):
            raise TypeError(f"filename: expected the path of a .rec file, got "
                            f"{type(filename).__name__}")
        self.idx_file = os.path.splitext(filename)[0] + ".idx"
        self.filename = filename
        self._record = recordio.MXIndexedRecordIO(self.idx_file, self.filename, "r")

    def __getitem__(self, idx):
        return self._record.read_idx(self._record.keys[idx])

    def __len__(self):
        return len(self._record.keys)


def _check_dataset_like(data, name):
    if not (hasattr(data, "__len__") and hasattr(data, "__getitem__")):
        raise TypeError(f"{name}: expected a dataset-like object with len() and [] (a "
                        f"Dataset, list, numpy array or NDArray), got {type(data).__name__}")
