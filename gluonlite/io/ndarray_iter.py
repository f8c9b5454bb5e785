"""``NDArrayIter``: batches over in-memory arrays (MXNet 1.9.1's ``mx.io.NDArrayIter``)."""
from __future__ import annotations

import numpy as np

from .base import DataIter
from .desc import DataBatch, DataDesc
from . import utils

__all__ = ["NDArrayIter"]

_MODES = ("pad", "discard", "roll_over")


class NDArrayIter(DataIter):
    """Iterate over NDArrays / numpy arrays in batches (MXNet's ``io.NDArrayIter``).

    Parameters
    ----------
    data : array, list of arrays or dict of name -> array
        The inputs. One array is named ``data_name``; a list of several is named
        ``_0_<data_name>``, ``_1_<data_name>``, ...; dict entries keep their names. Inputs
        are provided in name-sorted order. NumPy arrays become float32 NDArrays, NDArrays
        keep their dtype and context.
    label : same forms as ``data``, optional
        The labels (named after ``label_name``). None gives no labels.
    batch_size : int
        Examples per batch.
    shuffle : bool
        Shuffle the examples at construction and at every ``reset()``, with NumPy's global
        generator (``np.random.shuffle``), as MXNet does: ``np.random.seed`` makes the
        order MXNet's.
    last_batch_handle : {'pad', 'discard', 'roll_over'}
        The incomplete last batch: ``'pad'`` fills it up with examples from the start of the
        data and reports how many in ``DataBatch.pad``; ``'discard'`` drops it;
        ``'roll_over'`` keeps the leftover examples and serves them, completed by the next
        epoch's first examples, as the first batch after ``reset()`` (its ``pad`` is the
        number of leftover examples, as MXNet reports it). ``hard_reset()`` forgets them.
    data_name, label_name : str
        Default names (``'data'``, ``'softmax_label'``).
    layout : str
        The layout of every array; ``'N'`` marks the batch axis (default ``'NCHW'``).
    """

    def __init__(self, data, label=None, batch_size=1, shuffle=False,
                 last_batch_handle="pad", data_name="data", label_name="softmax_label",
                 layout="NCHW"):
        batch_size = utils.check_batch_size(batch_size, "NDArrayIter")
        super().__init__(batch_size)
        if last_batch_handle not in _MODES:
            raise ValueError(f"NDArrayIter: last_batch_handle must be one of {_MODES}, got "
                             f"{last_batch_handle!r}")
        if not isinstance(layout, str) or "N" not in layout:
            raise ValueError(f"NDArrayIter: layout must be a string with an 'N' (batch) axis, "
                             f"got {layout!r}")
        self.data = utils.init_data(data, allow_empty=False, default_name=data_name,
                                    what="data")
        self.label = utils.init_data(label, allow_empty=True, default_name=label_name,
                                     what="label")
        self.layout = layout
        axis = layout.find("N")
        for kind, items in (("data", self.data), ("label", self.label)):
            for k, v in items:
                if v.ndim <= axis:
                    raise ValueError(f"NDArrayIter: {kind} '{k}' has shape {v.shape}, which "
                                     f"has no batch axis {axis} (layout {layout!r})")
        self.num_data = self.data[0][1].shape[axis]
        for kind, items in (("data", self.data), ("label", self.label)):
            for k, v in items:
                if v.shape[axis] < self.num_data:
                    raise ValueError(
                        f"NDArrayIter: {kind} '{k}' has {v.shape[axis]} examples but "
                        f"'{self.data[0][0]}' has {self.num_data}; every array needs at "
                        "least as many")
        self.idx = np.arange(self.num_data)
        self.shuffle = bool(shuffle)
        self.last_batch_handle = last_batch_handle
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None
        self.reset()
        self.data_list = [x[1] for x in self.data] + [x[1] for x in self.label]
        self.num_source = len(self.data_list)

    # --- descriptions ------------------------------------------------------------------
    def _describe(self, items):
        axis = self.layout.find("N")
        return [DataDesc(k, tuple(v.shape[:axis]) + (self.batch_size,) + tuple(v.shape[axis + 1:]),
                         v.dtype, layout=self.layout) for k, v in items]

    @property
    def provide_data(self):
        """``DataDesc`` of each data input, with the batch size on the batch axis."""
        return self._describe(self.data)

    @property
    def provide_label(self):
        """``DataDesc`` of each label input, with the batch size on the batch axis."""
        return self._describe(self.label)

    # --- cursor ------------------------------------------------------------------------
    def hard_reset(self):
        """Start over from the first example, dropping any rolled-over examples."""
        if self.shuffle:
            self._shuffle_data()
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None

    def reset(self):
        """Start the next epoch (reshuffling if ``shuffle``). With ``'roll_over'``, an
        incomplete last batch is carried into the first batch of the new epoch."""
        if self.shuffle:
            self._shuffle_data()
        # MXNet's cursor arithmetic: a cursor inside the last, incomplete batch moves to a
        # negative position so that the next batch is the cached leftover + new examples.
        if (self.last_batch_handle == "roll_over"
                and self.num_data - self.batch_size < self.cursor < self.num_data):
            self.cursor = self.cursor - self.num_data - self.batch_size
        else:
            self.cursor = -self.batch_size

    def iter_next(self):
        """Advance the cursor by one batch; False past the end of the data."""
        self.cursor += self.batch_size
        return self.cursor < self.num_data

    def next(self):
        """The next :class:`DataBatch` (``index`` is None, as in MXNet)."""
        if not self.iter_next():
            raise StopIteration
        data = self.getdata()
        label = self.getlabel()
        # an incomplete batch ('discard', 'roll_over') ends the epoch; 'roll_over' keeps it
        if data[0].shape[self.layout.find("N")] != self.batch_size:
            self._cache_data = data
            self._cache_label = label
            raise StopIteration
        return DataBatch(data=data, label=label, pad=self.getpad(), index=None)

    # --- batch assembly ----------------------------------------------------------------
    def _getdata(self, source, start=None, end=None):
        axis = self.layout.find("N")
        start = 0 if start is None else start
        return [utils.slice_axis(v, axis, start, end) for _, v in source]

    def _batchify(self, source):
        if not self.cursor < self.num_data:
            raise AssertionError("DataIter needs reset.")
        axis = self.layout.find("N")
        bs, n = self.batch_size, self.num_data
        if self.last_batch_handle == "roll_over" and -bs < self.cursor < 0:
            # first batch of an epoch after a roll-over: cached leftover + the new examples
            if self._cache_data is None and self._cache_label is None:
                raise AssertionError("next epoch should have cached data")
            cache = self._cache_data if self._cache_data is not None else self._cache_label
            second = self._getdata(source, end=self.cursor + bs)
            # getdata() consumes the data cache, getlabel() then the label cache
            if self._cache_data is not None:
                self._cache_data = None
            else:
                self._cache_label = None
            return utils.concat(cache, second, axis)
        if self.last_batch_handle == "pad" and self.cursor + bs > n:
            pad = bs - n + self.cursor
            first = self._getdata(source, start=self.cursor)
            if pad > n:
                second = utils.tile(self._getdata(source, end=n), pad // n)
                if pad % n:
                    second = utils.concat(second, self._getdata(source, end=pad % n), axis)
            else:
                second = self._getdata(source, end=pad)
            return utils.concat(first, second, axis)
        end = self.cursor + bs if self.cursor + bs < n else n
        return self._getdata(source, self.cursor, end)

    def getdata(self):
        """The current batch's data arrays."""
        return self._batchify(self.data)

    def getlabel(self):
        """The current batch's label arrays."""
        return self._batchify(self.label)

    def getpad(self):
        """Padding examples in the current batch: the wrap-around count for ``'pad'``; for
        the first batch after a roll-over, the number of rolled-over examples."""
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            return self.cursor + self.batch_size - self.num_data
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            return -self.cursor
        return 0

    def _shuffle_data(self):
        np.random.shuffle(self.idx)
        self.data = utils.take_rows(self.data, self.idx)
        self.label = utils.take_rows(self.label, self.idx)
