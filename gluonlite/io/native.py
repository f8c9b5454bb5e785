"""What MXNet's C++ iterators share: ``MXDataIter`` (their Python face) and the batch loader
with MXNet's ``round_batch`` semantics.

In MXNet, ``CSVIter``, ``MNISTIter``, ``ImageRecordIter``, ... are C++ iterators wrapped
by ``MXDataIter``: ``next()`` returns a :class:`DataBatch` with one data and one label
array, and ``getdata()`` / ``getlabel()`` return single NDArrays (not lists).
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError
from ..context import cpu
from ..ndarray.ndarray import NDArray
from .base import DataIter
from .desc import DataBatch, DataDesc

__all__ = ["MXDataIter"]


class MXDataIter(DataIter):
    """Base class of the native-style iterators (MXNet's ``io.MXDataIter``).

    Subclasses implement ``_read()`` (the next batch as ``(data, label, pad, index)`` numpy
    arrays, or None at the end of the epoch) and ``_before_first()`` (MXNet's
    ``BeforeFirst``), and call ``_describe(data_shape, data_dtype, label_shape,
    label_dtype)``. ``provide_data`` / ``provide_label`` name the arrays ``data_name`` /
    ``label_name``.
    """

    def __init__(self, data_name="data", label_name="softmax_label"):
        super().__init__()
        if not isinstance(data_name, str) or not isinstance(label_name, str):
            raise TypeError("data_name and label_name must be strings")
        self._data_name = data_name
        self._label_name = label_name
        self._current = None

    def _describe(self, data_shape, data_dtype, label_shape, label_dtype):
        self.provide_data = [DataDesc(self._data_name, tuple(data_shape), data_dtype)]
        self.provide_label = [DataDesc(self._label_name, tuple(label_shape), label_dtype)]
        self.batch_size = data_shape[0]

    def _read(self):
        raise NotImplementedError

    def _before_first(self):
        raise NotImplementedError

    def reset(self):
        """Start the next epoch (MXNet's ``BeforeFirst``; see the class docs for
        ``round_batch``)."""
        self._current = None
        self._before_first()

    def iter_next(self):
        out = self._read()
        if out is None:
            self._current = None
            return False
        data, label, pad, index = out
        ctx = cpu()
        self._current = (NDArray(data, ctx), NDArray(label, ctx), int(pad), index)
        return True

    def next(self):
        """The next :class:`DataBatch` (one data and one label array)."""
        if not self.iter_next():
            raise StopIteration
        return DataBatch(data=[self.getdata()], label=[self.getlabel()], pad=self.getpad(),
                         index=self.getindex())

    def _need_current(self):
        if self._current is None:
            raise MXNetError(f"{type(self).__name__}: no current batch; call next() or "
                             "iter_next() first")
        return self._current

    def getdata(self):
        """The current batch's data: one NDArray (MXNet's ``MXDataIter.getdata``)."""
        return self._need_current()[0]

    def getlabel(self):
        """The current batch's label: one NDArray."""
        return self._need_current()[1]

    def getpad(self):
        """Padding examples at the end of the current batch."""
        return self._need_current()[2]

    def getindex(self):
        """The current batch's example indices (uint64), or None."""
        return self._need_current()[3]


class RoundBatchLoader:
    """Batches over a sequence of ``n`` instances with MXNet's ``round_batch`` rules
    (``iter_batchloader.h`` and ``ImageRecordIOParser2``).

    * ``round_batch=True``: an incomplete last batch is completed with instances from the
      start of the next pass (``source.restart()`` is called, so a shuffling source
      reshuffles) and ``pad`` is how many. The epoch then ends, and the following
      ``before_first()`` does *not* rewind: the next epoch continues after those instances,
      so it is shorter (MXNet's documented behaviour).
    * ``round_batch=False``: the last batch keeps the previous batch's contents in its unfilled
      slots (MXNet reuses one buffer); ``pad`` is the number of such slots, or 0 when
      ``pad_without_round`` is False (what ``ImageRecordIter`` reports).

    ``source`` provides ``n``, ``restart()`` and ``fill(pos, out_data, out_label, slot)``
    (write instance ``pos`` of the current pass into ``slot``, return its index).
    """

    def __init__(self, source, batch_size, data_shape, data_dtype, label_shape, round_batch,
                 pad_without_round=True, owner="iterator"):
        self.source = source
        self.batch_size = batch_size
        self.round_batch = round_batch
        self.pad_without_round = pad_without_round
        self.owner = owner
        self._data = np.zeros((batch_size,) + tuple(data_shape), data_dtype)
        self._label = np.zeros((batch_size,) + tuple(label_shape), np.float32)
        self._index = np.zeros(batch_size, np.uint64)
        self.pos = 0
        self.overflow = False

    def set_label_dtype(self, dtype):
        self._label = self._label.astype(dtype)

    def before_first(self):
        if not self.round_batch or not self.overflow:
            self.source.restart()
            self.pos = 0
        else:
            self.overflow = False

    def next(self):
        """``(data, label, pad, index)`` copies for the next batch, or None."""
        if self.overflow:
            return None
        n, bs = self.source.n, self.batch_size
        take = min(bs, n - self.pos)
        if take <= 0:
            return None
        for k in range(take):
            self._index[k] = self.source.fill(self.pos + k, self._data, self._label, k)
        self.pos += take
        pad = 0
        if take < bs:
            if self.round_batch:
                need = bs - take
                if need > n:
                    raise MXNetError(f"{self.owner}: number of input must be bigger than "
                                     f"batch size ({n} examples, batch_size {bs})")
                self.overflow = True
                self.source.restart()
                for k in range(need):
                    self._index[take + k] = self.source.fill(k, self._data, self._label,
                                                             take + k)
                self.pos = need
                pad = need
            elif self.pad_without_round:
                pad = bs - take
        return self._data.copy(), self._label.copy(), pad, self._index.copy()
