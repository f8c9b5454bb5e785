"""``LibSVMIter``: csr batches from LibSVM files (MXNet 1.9.1's ``mx.io.LibSVMIter``)."""
from __future__ import annotations

import os
import re

import numpy as np

from ..base import FileFormatError, MXNetError
from ..context import cpu
from ..ndarray.ndarray import NDArray
from ..ndarray.sparse import csr_matrix
from . import _params as P
from .native import MXDataIter

__all__ = ["LibSVMIter"]

_OWNER = "LibSVMIter"
_EOL = re.compile(rb"\r\n|\n|\r")
_COLON = re.compile(r"\s*:\s*")


def _split_uri(path, name):
    """``path`` and its indexing mode; dmlc reads ``file?indexing_mode=1`` (1-based indices)."""
    path = P.as_path(_OWNER, name, path, must_exist=False)
    mode = 0
    if not os.path.exists(path) and "?" in path:
        path, query = path.split("?", 1)
        for item in query.split("&"):
            key, _, val = item.partition("=")
            if key == "format" and val == "libsvm":
                continue
            if key != "indexing_mode" or val not in ("0", "1"):
                raise MXNetError(f"{_OWNER}: {name}: unsupported URI argument {item!r} (only "
                                 "indexing_mode=0 or 1 is supported)")
            mode = int(val)
    if not os.path.exists(path):
        raise MXNetError(f"{_OWNER}: {name}: cannot open {path!r}: No such file or directory")
    return path, mode


def _files(path):
    # MXNet reads a directory's files in the file system's order; name order is reproducible
    if os.path.isdir(path):
        return [os.path.join(path, f) for f in sorted(os.listdir(path))
                if os.path.isfile(os.path.join(path, f))]
    return [path]


def _seek_record(buf, off):
    """dmlc's ``LineSplitter::SeekRecordBegin``: from ``off``, the offset after the next end of
    line and any further end-of-line characters (the end of ``buf`` if there is none)."""
    n = len(buf)
    i = off
    while i < n and buf[i] not in (10, 13):
        i += 1
    i += 1
    while i < n and buf[i] in (10, 13):
        i += 1
    return min(i, n)


def _part_lines(path, num_parts, part_index):
    """``(file, line number, text)`` of the lines in part ``part_index`` of ``num_parts``.

    dmlc splits the bytes of all files (taken as one stream) into equal ranges and moves each
    boundary to the start of the next line, so a line belongs to the part where it starts.
    """
    files = []
    for fname in _files(path):
        with open(fname, "rb") as f:
            buf = f.read()
        if buf:  # dmlc skips empty files
            files.append((fname, buf))
    if not files:
        raise MXNetError(f"{_OWNER}: cannot find any non-empty file at {path!r}")
    starts = np.cumsum([0] + [len(b) for _, b in files])
    total = int(starts[-1])
    step = (total + num_parts - 1) // num_parts
    begin, end = min(step * part_index, total), min(step * (part_index + 1), total)

    def align(off):
        # the boundary moves to the next line start inside the file holding ``off``
        k = int(np.searchsorted(starts, off, side="right")) - 1
        if off == total or off == starts[k]:
            return off
        return int(starts[k]) + _seek_record(files[k][1], off - int(starts[k]))

    if begin == end:
        return
    begin, end = align(begin), align(end)
    for k, (fname, buf) in enumerate(files):
        lo, hi = max(begin, int(starts[k])), min(end, int(starts[k + 1]))
        if lo >= hi:
            continue
        lo -= int(starts[k])
        hi -= int(starts[k])
        first = len(_EOL.findall(buf, 0, lo)) + 1
        for j, raw in enumerate(_EOL.split(buf[lo:hi])):
            yield fname, first + j, raw


def _parse(path, width, what, num_parts, part_index):
    """Rows of part ``part_index`` of LibSVM file(s) ``path``: ``(labels, values, indices,
    indptr)`` with float32 values and int64 column indices below ``width``."""
    path, base = _split_uri(path, what)
    labels, values, indices, indptr = [], [], [], [0]
    for fname, lineno, raw in _part_lines(path, num_parts, part_index):
        where = f"{what} {fname!r}, line {lineno}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FileFormatError(f"{_OWNER}: {where}: not UTF-8 text") from None
        line = line.split("#", 1)[0].strip()  # '#' starts a comment, as in dmlc
        if not line:
            continue
        toks = _COLON.sub(":", line).split()
        # the label may carry a weight (``label:weight``), which MXNet ignores
        lab = toks[0].split(":", 1)
        try:
            label = float(lab[0])
            if len(lab) == 2:
                float(lab[1])
        except ValueError:
            raise FileFormatError(f"{_OWNER}: {where}: expected a label (a number), got "
                                  f"{toks[0]!r}") from None
        prev = -1
        for tok in toks[1:]:
            idx, sep, val = tok.partition(":")
            if idx == "qid" and sep:
                continue  # query ids are ignored, as in dmlc
            if not sep or not idx.isdigit():
                raise FileFormatError(f"{_OWNER}: {where}: expected 'index:value' with a "
                                      f"non-negative integer index, got {tok!r}")
            try:
                v = float(val)
            except ValueError:
                raise FileFormatError(f"{_OWNER}: {where}: value {val!r} of feature {idx} is "
                                      "not a number") from None
            j = int(idx) - base
            if j < 0:
                raise FileFormatError(f"{_OWNER}: {where}: feature index 0 in a file read "
                                      "with indexing_mode=1 (1-based indices)")
            if j >= width:
                raise FileFormatError(f"{_OWNER}: {where}: feature index {idx} is out of range "
                                      f"for a row of {width} (indices are "
                                      f"{'1' if base else '0'}-based)")
            if j <= prev:
                raise FileFormatError(f"{_OWNER}: {where}: feature indices must be strictly "
                                      f"increasing within a row ({idx} after {prev + base})")
            prev = j
            indices.append(j)
            values.append(v)
        labels.append(label)
        indptr.append(len(indices))
    return (np.asarray(labels, np.float32), np.asarray(values, np.float32),
            np.asarray(indices, np.int64), np.asarray(indptr, np.int64)), path


def _gather(values, indices, indptr, rows, width):
    """The csr rows ``rows`` (in that order) as one CSRNDArray of ``len(rows)`` rows."""
    starts, stops = indptr[rows], indptr[rows + 1]
    lens = stops - starts
    out_ptr = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(lens, out=out_ptr[1:])
    pick = np.repeat(starts - out_ptr[:-1], lens) + np.arange(out_ptr[-1], dtype=np.int64)
    return csr_matrix((values[pick], indices[pick], out_ptr), shape=(len(rows), width),
                      ctx=cpu(), dtype=np.float32)


class LibSVMIter(MXDataIter):
    """Iterate over LibSVM files in batches of csr data (MXNet 1.9.1's ``io.LibSVMIter``).

    Each non-blank line of ``data_libsvm`` (a file or a directory, whose files are read in
    name order) is ``label[:weight] index:value index:value ...`` with **zero-based**, strictly
    increasing indices below ``data_shape[0]`` (``data_libsvm='file?indexing_mode=1'`` reads
    1-based files); ``#`` starts a comment, ``qid:`` tokens and weights are ignored. Batches
    hold ``data`` as a :class:`~gluonlite.ndarray.sparse.CSRNDArray` of shape
    ``(batch_size,) + data_shape`` and the label as a dense ``(batch_size,)`` array, or, with
    ``label_libsvm`` (whose rows' own labels are ignored) and ``label_shape`` of more than one
    element, as a CSRNDArray of shape ``(batch_size,) + label_shape``.

    Only ``round_batch=True`` exists (as in MXNet): an incomplete last batch is completed from
    the first rows and ``pad`` says how many; the ``reset()`` after that complete pass does not
    rewind, so the next epoch starts after those rows. ``reset()`` before the end of a pass
    rewinds to the first row (MXNet's result there depends on its prefetch thread).
    ``num_parts``/``part_index`` read one of ``num_parts`` byte ranges of the input, each
    moved to a line start (the parts are uneven, as in MXNet). ``index`` is the row number
    within the part. A malformed line raises :class:`~gluonlite.base.FileFormatError` naming
    the file and line. ``prefetch_buffer`` and ``ctx`` are validated and have no other effect;
    ``dtype`` must be None or 'float32' (MXNet 1.9.1 fails on other types).
    """

    def __init__(self, *, data_libsvm, data_shape, batch_size, label_libsvm="NULL",
                 label_shape=(1,), num_parts=1, part_index=0, round_batch=True,
                 prefetch_buffer=4, ctx="gpu", dtype=None, data_name="data",
                 label_name="softmax_label", **kwargs):
        P.reject_unknown(_OWNER, kwargs)
        super().__init__(data_name, label_name)
        data_shape = P.as_shape(_OWNER, "data_shape", data_shape)
        label_shape = P.as_shape(_OWNER, "label_shape", label_shape)
        batch_size = P.as_int(_OWNER, "batch_size", batch_size, low=1)
        num_parts = P.as_int(_OWNER, "num_parts", num_parts)
        part_index = P.as_int(_OWNER, "part_index", part_index)
        if P.as_bool(_OWNER, "round_batch", round_batch) is False:
            raise MXNetError(f"{_OWNER}: sparse batch loader doesn't support round_batch == "
                             "false (MXNet 1.9.1 has only round_batch=True)")
        P.check_prefetch(_OWNER, prefetch_buffer, ctx)
        if dtype not in (None, "float32"):
            raise MXNetError(f"{_OWNER}: dtype {dtype!r} is not supported: the data is float32 "
                             "(MXNet 1.9.1 fails for any other dtype)")
        if len(data_shape) != 1:
            raise MXNetError(f"{_OWNER}: dimension of data_shape is expected to be 1, got "
                             f"{data_shape}")
        if num_parts <= 0:
            raise MXNetError(f"{_OWNER}: number of parts should be positive, got num_parts="
                             f"{num_parts}")
        if not 0 <= part_index < num_parts:
            raise MXNetError(f"{_OWNER}: part_index must be in [0, num_parts={num_parts}), "
                             f"got {part_index}")
        has_label = label_libsvm is not None and label_libsvm != "NULL"
        label_size = int(np.prod(label_shape))
        if has_label and label_size <= 1:
            raise MXNetError(f"{_OWNER}: label_shape is not expected to be (1,) when "
                             "label_libsvm is set")
        if not has_label and label_size != 1:
            raise MXNetError(f"{_OWNER}: label_shape is expected to be (1,) when label_libsvm "
                             f"is NULL, got {label_shape}")
        if has_label and len(label_shape) != 1:
            raise MXNetError(f"{_OWNER}: dimension of label_shape is expected to be 1 for csr "
                             f"labels, got {label_shape}")
        self._width = data_shape[0]
        data, self.data_libsvm = _parse(data_libsvm, self._width, "data_libsvm", num_parts,
                                        part_index)
        self._labels, self._values, self._indices, self._indptr = data
        self._n = len(self._labels)
        self.label_libsvm = "NULL"
        self._label_csr = None
        if has_label:
            lab, self.label_libsvm = _parse(label_libsvm, label_shape[0], "label_libsvm",
                                            num_parts, part_index)
            if len(lab[0]) < self._n:
                raise FileFormatError(
                    f"{_OWNER}: label_libsvm {self.label_libsvm!r} has {len(lab[0])} rows"
                    f"{self._part_text(num_parts, part_index)} but data_libsvm has {self._n}; "
                    "every data row needs a label row")
            self._label_csr = lab[1:]
            self._label_width = label_shape[0]
        if self._n == 0:
            raise MXNetError(f"{_OWNER}: data_libsvm {self.data_libsvm!r} has no rows"
                             f"{self._part_text(num_parts, part_index)}")
        if batch_size - min(batch_size, self._n) > self._n:
            raise MXNetError(f"{_OWNER}: number of input must be bigger than batch size "
                             f"({self._n} rows, batch_size {batch_size})")
        self.num_parts, self.part_index = num_parts, part_index
        self._pos = 0
        self._overflow = False
        label_desc = (batch_size,) if not has_label else (batch_size,) + label_shape
        self._describe((batch_size,) + data_shape, np.float32, label_desc, np.float32)

    @staticmethod
    def _part_text(num_parts, part_index):
        return f" in part {part_index} of {num_parts}" if num_parts > 1 else ""

    def _next_rows(self):
        """MXNet's ``SparseBatchLoader::Next``: the rows of the next batch and its pad."""
        if self._overflow:
            return None  # the wrapped batch ended the pass; only reset() continues
        n, bs = self._n, self.batch_size
        take = min(bs, n - self._pos)
        if take <= 0:
            return None
        rows = np.arange(self._pos, self._pos + take, dtype=np.int64)
        self._pos += take
        pad = 0
        if take < bs:
            need = bs - take
            if need > n:
                raise MXNetError(f"{_OWNER}: number of input must be bigger than batch size "
                                 f"({n} rows, batch_size {bs})")
            rows = np.concatenate([rows, np.arange(need, dtype=np.int64)])
            self._pos, self._overflow, pad = need, True, need
        return rows, pad

    def _read(self):
        nxt = self._next_rows()
        if nxt is None:
            return None
        rows, pad = nxt
        data = _gather(self._values, self._indices, self._indptr, rows, self._width)
        if self._label_csr is None:
            label = NDArray(self._labels[rows], cpu())
        else:
            label = _gather(*self._label_csr, rows, self._label_width)
        return data, label, pad, rows.astype(np.uint64)

    def iter_next(self):
        out = self._read()
        if out is None:
            self._current = None
            return False
        data, label, pad, index = out
        self._current = (data, label, int(pad), index)
        return True

    def _before_first(self):
        # after a wrapped last batch the next pass continues after the rows used for it
        if self._overflow:
            self._overflow = False
        else:
            self._pos = 0
