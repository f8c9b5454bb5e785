"""``CSVIter``: batches from CSV files (MXNet 1.9.1's ``mx.io.CSVIter``)."""
from __future__ import annotations

import os

import numpy as np

from ..base import MXNetError
from . import _params as P
from .native import MXDataIter, RoundBatchLoader

__all__ = ["CSVIter"]

_DTYPES = {None: np.float32, "float32": np.float32, "int32": np.int32, "int64": np.int64}


def _files(path):
    # MXNet reads every file of a directory; take them in name order for reproducibility
    if os.path.isdir(path):
        return [os.path.join(path, f) for f in sorted(os.listdir(path))
                if os.path.isfile(os.path.join(path, f))]
    return [path]


def _parse_value(tok, dtype, where):
    tok = tok.strip()
    try:
        if dtype is np.float32:
            return float(tok) if tok else 0.0
        # MXNet parses integer CSVs with strtol: the leading integer part counts
        return int(float(tok)) if tok else 0
    except ValueError:
        raise MXNetError(f"CSVIter: cannot parse {tok!r} as a number ({where})") from None


def _read_rows(path, shape, dtype, what):
    size = int(np.prod(shape))
    rows = []
    for fname in _files(path):
        with open(fname, "r") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue  # dmlc's CSV parser skips empty lines
                toks = line.split(",")
                if len(toks) != size:
                    raise MXNetError(
                        f"CSVIter: The data size in CSV do not match size of shape: specified "
                        f"shape={list(shape)}, the csv row-length={len(toks)} ({what} "
                        f"{fname}, line {lineno})")
                rows.append([_parse_value(t, dtype, f"{fname}, line {lineno}") for t in toks])
    arr = np.asarray(rows, dtype=dtype).reshape((len(rows),) + tuple(shape))
    return arr


class _CSVSource:
    def __init__(self, data, label):
        self.data, self.label = data, label
        self.n = len(data)

    def restart(self):
        pass

    def fill(self, pos, out_data, out_label, slot):
        out_data[slot] = self.data[pos]
        out_label[slot] = self.label[pos] if self.label is not None else 0
        return pos


class CSVIter(MXDataIter):
    """Iterate over the rows of a CSV file (or of every file in a directory), MXNet's
    ``io.CSVIter``.

    Each row of ``data_csv`` is one example of shape ``data_shape``; each row of
    ``label_csv`` one label of shape ``label_shape`` (labels are 0 without a label file).
    A ``label_shape`` of ``(1,)`` gives labels of shape ``(batch_size,)``.

    ``round_batch=True`` (default): an incomplete last batch is completed from the start of
    the data (``pad`` says how many), and the next epoch, after ``reset()``, continues after
    the examples used for that, as MXNet does. ``round_batch=False``: the last batch's
    unfilled slots hold the previous batch's examples and ``pad`` counts them.

    ``dtype`` (None/'float32', 'int32', 'int64') is the type the values are parsed as (integer
    types keep the integer part). ``prefetch_buffer`` and ``ctx`` tune MXNet's background
    thread; they are validated and have no other effect here.
    """

    def __init__(self, *, data_csv, data_shape, batch_size, label_csv="NULL", label_shape=(1,),
                 round_batch=True, prefetch_buffer=4, ctx="gpu", dtype=None, data_name="data",
                 label_name="softmax_label", **kwargs):
        P.reject_unknown("CSVIter", kwargs)
        super().__init__(data_name, label_name)
        data_shape = P.as_shape("CSVIter", "data_shape", data_shape)
        label_shape = P.as_shape("CSVIter", "label_shape", label_shape)
        batch_size = P.as_int("CSVIter", "batch_size", batch_size, low=1)
        round_batch = P.as_bool("CSVIter", "round_batch", round_batch)
        P.check_prefetch("CSVIter", prefetch_buffer, ctx)
        P.as_choice("CSVIter", "dtype", dtype, tuple(_DTYPES))
        np_dtype = _DTYPES[dtype]
        data_csv = P.as_path("CSVIter", "data_csv", data_csv)
        data = _read_rows(data_csv, data_shape, np_dtype, "data_csv")
        label = None
        if label_csv is not None and label_csv != "NULL":
            label_csv = P.as_path("CSVIter", "label_csv", label_csv)
            label = _read_rows(label_csv, label_shape, np_dtype, "label_csv")
            if len(label) < len(data):
                raise MXNetError(f"CSVIter: label_csv has {len(label)} rows but data_csv has "
                                 f"{len(data)}; every data row needs a label row")
        self.data_csv, self.label_csv = data_csv, label_csv
        self.round_batch = round_batch
        # a (1,) label shape is flattened to (batch_size,), as MXNet's output
        out_label_shape = () if label_shape == (1,) else label_shape
        if label is not None:
            label = label.reshape((len(label),) + out_label_shape)
        self._loader = RoundBatchLoader(_CSVSource(data, label), batch_size, data_shape,
                                        np_dtype, out_label_shape, round_batch,
                                        pad_without_round=True, owner="CSVIter")
        self._loader.set_label_dtype(np_dtype)
        self._describe((batch_size,) + data_shape, np_dtype,
                       (batch_size,) + out_label_shape, np_dtype)

    def _read(self):
        return self._loader.next()

    def _before_first(self):
        self._loader.before_first()
