"""``MNISTIter``: batches from MNIST-format idx files (MXNet 1.9.1's ``mx.io.MNISTIter``)."""
from __future__ import annotations

import gzip
import struct
import sys

import numpy as np

from ..base import MXNetError
from . import _params as P
from ._stdrandom import MT19937, std_shuffle
from .native import MXDataIter

__all__ = ["MNISTIter"]


def _read_idx(path, magic, what):
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise MXNetError(f"MNISTIter: cannot read {what} file {path!r}: {e}") from None
    ndim = magic & 0xFF
    if len(raw) < 4 + 4 * ndim or struct.unpack(">i", raw[:4])[0] != magic:
        raise MXNetError(f"MNISTIter: invalid mnist format: {path!r} is not an idx file of "
                         f"{what} (magic number {magic} expected)")
    dims = struct.unpack(">" + "i" * ndim, raw[4:4 + 4 * ndim])
    body = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    size = int(np.prod(dims))
    if body.size < size:
        raise MXNetError(f"MNISTIter: {path!r} is truncated: {body.size} bytes of {what} for "
                         f"dimensions {dims}")
    return body[:size].reshape(dims)


def _part(count, num_parts, part_index):
    # MXNet: start = int(count / num_parts * part_index) in double precision
    start = int(count / num_parts * part_index)
    end = int(count / num_parts * (part_index + 1))
    return start, end


class MNISTIter(MXDataIter):
    """Iterate over MNIST-format data (MXNet's ``io.MNISTIter``).

    ``image`` and ``label`` are idx files (``train-images-idx3-ubyte`` and
    ``train-labels-idx1-ubyte``; gzipped ``.gz`` files are read too). Pixels are scaled by
    1/256 into [0, 1), as MXNet does. Batches have shape ``(batch_size, 1, rows, cols)``, or
    ``(batch_size, rows * cols)`` with ``flat=True``; labels ``(batch_size,)``.

    Only complete batches are returned (``pad`` is always 0). ``shuffle`` (default True, as
    in MXNet) permutes the examples once, at construction, in the same order as MXNet for
    the same ``seed`` (``std::shuffle`` with ``mt19937(seed)``). ``num_parts`` /
    ``part_index`` read the ``part_index``-th of ``num_parts`` contiguous parts. ``silent``
    turns off the summary line MXNet logs. ``prefetch_buffer`` and ``ctx`` tune MXNet's
    background thread; they are validated and have no other effect here; ``dtype`` must be
    None or 'float32' (MXNet fails on other types).
    """

    def __init__(self, *, image="./train-images-idx3-ubyte", label="./train-labels-idx1-ubyte",
                 batch_size=128, shuffle=True, flat=False, seed=0, silent=False, num_parts=1,
                 part_index=0, prefetch_buffer=4, ctx="gpu", dtype=None, data_name="data",
                 label_name="softmax_label", **kwargs):
        P.reject_unknown("MNISTIter", kwargs)
        super().__init__(data_name, label_name)
        image = P.as_path("MNISTIter", "image", image)
        label = P.as_path("MNISTIter", "label", label)
        batch_size = P.as_int("MNISTIter", "batch_size", batch_size, low=1)
        shuffle = P.as_bool("MNISTIter", "shuffle", shuffle)
        flat = P.as_bool("MNISTIter", "flat", flat)
        seed = P.as_int("MNISTIter", "seed", seed)
        silent = P.as_bool("MNISTIter", "silent", silent)
        num_parts = P.as_int("MNISTIter", "num_parts", num_parts, low=1)
        part_index = P.as_int("MNISTIter", "part_index", part_index, low=0)
        if part_index >= num_parts:
            raise MXNetError(f"MNISTIter: part_index ({part_index}) must be smaller than "
                             f"num_parts ({num_parts})")
        P.check_prefetch("MNISTIter", prefetch_buffer, ctx)
        P.as_choice("MNISTIter", "dtype", dtype, (None, "float32"))

        imgs = _read_idx(image, 2051, "images")
        labs = _read_idx(label, 2049, "labels")
        s, e = _part(imgs.shape[0], num_parts, part_index)
        imgs = imgs[s:e]
        s, e = _part(labs.shape[0], num_parts, part_index)
        labs = labs[s:e]
        if len(labs) != len(imgs):
            raise MXNetError(f"MNISTIter: {label!r} has {len(labs)} labels for "
                             f"{len(imgs)} images in {image!r}")
        # MXNet multiplies by 1.0f / 256.0f (not 1/255)
        data = imgs.astype(np.float32) * np.float32(1.0 / 256.0)
        labels = labs.astype(np.float32)
        if shuffle:
            order = std_shuffle(len(labels), MT19937(seed))
            data, labels = data[order], labels[order]
        rows, cols = imgs.shape[1], imgs.shape[2]
        self._images = data.reshape(len(data), rows * cols) if flat else \
            data.reshape(len(data), 1, rows, cols)
        self._labels = labels
        self._loc = 0
        self.image, self.label, self.shuffle, self.flat, self.seed = image, label, shuffle, \
            flat, seed
        if not silent:
            shape = (batch_size, rows * cols) if flat else (batch_size, 1, rows, cols)
            # MXNet logs this line (LOG(INFO)) unless silent
            print(f"MNISTIter: load {len(data)} images, shuffle={int(shuffle)}, "
                  f"shape={list(shape)}", file=sys.stderr)
        self._describe((batch_size,) + self._images.shape[1:], np.float32, (batch_size,),
                       np.float32)

    def _read(self):
        bs = self.batch_size
        if self._loc + bs > len(self._images):
            return None
        sl = slice(self._loc, self._loc + bs)
        self._loc += bs
        # MXNet leaves the batch index unset: zeros
        return (self._images[sl].copy(), self._labels[sl].copy(), 0,
                np.zeros(bs, np.uint64))

    def _before_first(self):
        self._loc = 0

