"""``ImageRecordIter``: batches of decoded, augmented images from an MXNet ``.rec`` file
(MXNet 1.9.1's ``mx.io.ImageRecordIter``, ``src/io/iter_image_recordio_2.cc``)."""
from __future__ import annotations

import os
import sys

import numpy as np

from .. import recordio
from ..base import MXNetError
from ..image._resize import resize as _cv_resize
from . import _params as P
from ._stdrandom import MT19937, std_shuffle
from .native import MXDataIter, RoundBatchLoader

__all__ = ["ImageRecordIter"]

_RAND_MAGIC = 111  # MXNet seeds its C++ engines with 111 + seed (kRandMagic)
_DTYPES = {None: np.float32, "float32": np.float32, "uint8": np.uint8, "int8": np.int8}

# MXNet augmentations gluonlite does not implement: name -> MXNet's default (no-op) value
_UNSUPPORTED = {
    "aug_seq": "aug_default", "random_resized_crop": False, "max_rotate_angle": 0,
    "max_aspect_ratio": 0.0, "min_aspect_ratio": None, "max_shear_ratio": 0.0,
    "max_crop_size": -1, "min_crop_size": -1, "max_random_scale": 1.0,
    "min_random_scale": 1.0, "max_random_area": 1.0, "min_random_area": 1.0,
    "max_img_size": 1e10, "min_img_size": 0.0, "brightness": 0.0, "contrast": 0.0,
    "saturation": 0.0, "pca_noise": 0.0, "random_h": 0, "random_s": 0, "random_l": 0,
    "rotate": -1, "mean_img": "", "shuffle_chunk_size": 0,
}


def _record_offsets(path_imgrec, path_imgidx):
    """Byte offsets of the records, in file order (MXNet's indexed reader sorts the index
    by offset)."""
    if path_imgidx:
        idx = recordio.MXIndexedRecordIO(path_imgidx, path_imgrec, "r")
        try:
            return sorted(set(idx.idx.values()))
        finally:
            idx.close()
    rec = recordio.MXRecordIO(path_imgrec, "r")
    offsets = []
    try:
        while True:
            at = rec._f.tell()
            if rec._read_record() is None:
                break
            offsets.append(at)
    finally:
        rec.close()
    return offsets


def _read_imglist(path, label_width):
    """``{image index: labels}`` from an im2rec ``.lst`` file (index, labels..., path)."""
    labels = {}
    with open(path, "r") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < label_width + 1:
                raise MXNetError(f"ImageRecordIter: line {lineno} of path_imglist {path!r} "
                                 f"has fewer than {label_width} labels")
            try:
                labels[int(float(fields[0]))] = np.asarray(
                    [float(v) for v in fields[1:1 + label_width]], np.float32)
            except ValueError:
                raise MXNetError(f"ImageRecordIter: line {lineno} of path_imglist {path!r} "
                                 f"is malformed: {line.strip()!r}") from None
    return labels


def _inter_method(method, old_w, old_h, new_w, new_h, rng):
    # MXNet's GetInterMethod: 9 chooses by direction, 10 draws one of 0..4
    if method == 9:
        if new_w > old_w and new_h > old_h:
            return 2
        if new_w < old_w and new_h < old_h:
            return 3
        return 1
    if method == 10:
        return rng.uniform_int(0, 4)
    return method


class _RecordSource:
    """Instances of the record file for :class:`RoundBatchLoader`: reading, decoding and
    augmenting one record into a batch slot, in MXNet's order and with its random draws."""

    def __init__(self, it, offsets, shuffle, indexed, seed):
        self.it = it
        self.offsets = offsets
        self.n = len(offsets)
        self.shuffle = shuffle
        self.indexed = indexed
        self._reader = recordio.MXRecordIO(it.path_imgrec, "r")
        self._shuffle_rng = MT19937(_RAND_MAGIC + seed)
        self._aug_rng = MT19937(_RAND_MAGIC)  # MXNet's first decoding thread: (0 + 1) * 111
        self.order = np.arange(self.n)
        # MXNet's indexed reader shuffles when it (re)starts; the plain reader shuffles each
        # chunk when it parses it (here: when a pass reads its first record)
        self._pending = False
        self.restart()

    def close(self):
        self._reader.close()

    def restart(self):
        if not self.shuffle:
            return
        if self.indexed:
            self.order = std_shuffle(self.n, self._shuffle_rng)
        else:
            self._pending = True

    def _read(self, offset):
        # random access by byte offset: position the reader's file, then read one record
        self._reader._f.seek(offset)
        return self._reader._read_record()

    def fill(self, pos, out_data, out_label, slot):
        if self._pending:
            self.order = std_shuffle(self.n, self._shuffle_rng)
            self._pending = False
        raw = self._read(self.offsets[self.order[pos]])
        it = self.it
        rng = self._aug_rng
        if it.seed_aug is not None:
            # MXNet reseeds per decoded image with its position in the batch
            rng = MT19937(slot + it.seed_aug + _RAND_MAGIC)
        header, img = self._decode(raw)
        out_label[slot] = self._label(header)
        img = self._augment(img, rng)
        self._write(img, rng, out_data, slot)
        return 0  # MXNet never fills ImageRecordIter's batch index: it stays 0

    def _decode(self, raw):
        channels = self.it.data_shape[0]
        flag = {1: 0, 3: 1, 4: -1}[channels]
        try:
            header, img = recordio.unpack_img(raw, flag)
        except (MXNetError, ValueError) as e:
            raise MXNetError(f"ImageRecordIter: cannot decode a record of "
                             f"{self.it.path_imgrec!r}: {e}") from None
        if img.ndim == 2:
            img = img[:, :, None]
        if channels == 4 and img.shape[2] != 4:
            raise MXNetError(f"ImageRecordIter: Invalid image with index {header.id}. Expected "
                             f"4 channels, got {img.shape[2]}")
        return header, img

    def _label(self, header):
        it = self.it
        if it._imglist is not None:
            try:
                return it._imglist[int(header.id)]
            except KeyError:
                raise MXNetError(f"ImageRecordIter: fail to find imagelabel for id "
                                 f"{int(header.id)} in {it.path_imglist!r}") from None
        if header.flag > 0:
            if it.label_width != header.flag:
                raise MXNetError(f"ImageRecordIter: rec file provide {header.flag}-dimensional "
                                 f"label but label_width is set to {it.label_width}")
            return np.asarray(header.label, np.float32)
        if it.label_width != 1:
            raise MXNetError("ImageRecordIter: label_width must be 1 unless an imglist is "
                             "provided or the rec file is packed with multi dimensional label")
        return np.float32(header.label)

    def _augment(self, img, rng):
        it = self.it
        if it.resize != -1:
            rows, cols = img.shape[:2]
            if rows > cols:
                nh, nw = it.resize * rows // cols, it.resize
            else:
                nh, nw = it.resize, it.resize * cols // rows
            if not (1 <= it.inter_method <= 4 or 9 <= it.inter_method <= 10):
                raise MXNetError("ImageRecordIter: invalid inter_method: valid value "
                                 "0,1,2,3,9,10")
            method = _inter_method(it.inter_method, cols, rows, nw, nh, rng)
            img = _cv_resize(img, nw, nh, method)
        if it.pad > 0:
            fill = np.zeros(img.shape[2], img.dtype)
            fill[:3] = it.fill_value  # cv::Scalar(v, v, v): a 4th channel gets 0
            p = it.pad
            padded = np.empty((img.shape[0] + 2 * p, img.shape[1] + 2 * p, img.shape[2]),
                              img.dtype)
            padded[...] = fill
            padded[p:-p, p:-p] = img
            img = padded
        _, h, w = it.data_shape
        rows, cols = img.shape[:2]
        if rows < h or cols < w:
            # MXNet 1.9.1 enlarges an image smaller than data_shape (keeping its aspect
            # ratio) until it covers data_shape, then crops
            s = max(h / rows, w / cols)
            nh, nw = max(h, int(round(rows * s))), max(w, int(round(cols * s)))
            img = _cv_resize(img, nw, nh, 1)
            rows, cols = nh, nw
        y, x = rows - h, cols - w
        if it.rand_crop:
            y = rng.uniform_int(0, y)
            x = rng.uniform_int(0, x)
        else:
            y //= 2
            x //= 2
        return img[y:y + h, x:x + w]

    def _write(self, img, rng, out_data, slot):
        it = self.it
        mirrored = (it.rand_mirror and rng.bernoulli(0.5)) or it.mirror
        f32 = np.float32
        contrast, illumination = f32(1), f32(0)
        if it._np_dtype is not np.uint8:
            mc, mi, scale = f32(it.max_random_contrast), f32(it.max_random_illumination), \
                f32(it.scale)
            contrast = (f32(rng.canonical_float()) * mc * f32(2) - mc + f32(1)) * scale
            illumination = (f32(rng.canonical_float()) * mi * f32(2) - mi) * scale
        c = img.shape[2]
        # OpenCV's BGR(A) to RGB(A), channels first
        chw = img[:, :, [2, 1, 0, 3][:c] if c >= 3 else [0]].transpose(2, 0, 1)
        if it._np_dtype is np.uint8:
            out = chw
        elif it._np_dtype is np.int8:
            m = np.asarray(it._mean[:c], np.float32).astype(np.float64)
            # std::round: halves away from zero
            mean_int = (np.sign(m) * np.floor(np.abs(m) + 0.5)).astype(np.int16)
            out = np.clip(chw.astype(np.int16) - mean_int[:, None, None], -128, 127)
        else:
            std = np.asarray(it._std[:c], f32)
            mult = (contrast / std)[:, None, None]
            bias = (illumination / std)[:, None, None]
            mean = np.asarray(it._mean[:c], f32)[:, None, None]
            out = (chw.astype(f32) - mean) * mult + bias
        if mirrored:
            out = out[:, :, ::-1]
        out_data[slot] = out


class ImageRecordIter(MXDataIter):
    """Iterate over images packed in a RecordIO file (MXNet's ``io.ImageRecordIter``).

    Each record (written by ``im2rec`` or ``recordio.pack_img``) is decoded, with
    ``data_shape[0]`` channels (1: grey, 3: RGB, 4: RGBA), augmented and normalised into
    ``(batch_size,) + data_shape`` float32 batches (NCHW, RGB order); labels have shape
    ``(batch_size,)``, or ``(batch_size, label_width)`` when ``label_width > 1``.

    Per image, in MXNet's order: ``resize`` (shorter edge, ``inter_method``), ``pad``
    (``fill_value``), a crop of ``data_shape`` (centred, or random with ``rand_crop``;
    an image smaller than ``data_shape`` is first enlarged, bilinearly and keeping its aspect
    ratio, to cover it, as MXNet 1.9.1 does),
    a horizontal flip (``mirror``, or a coin flip with ``rand_mirror``), then
    ``(pixel - mean_c) * scale / std_c`` per channel (``max_random_contrast`` /
    ``max_random_illumination`` scale and shift it randomly). ``dtype='uint8'`` skips the
    normalisation; ``'int8'`` subtracts the rounded means with saturation.

    ``round_batch=True`` completes the last batch from the start of the data (``pad`` says
    how many) and continues the next epoch after them, as MXNet; with ``round_batch=False``
    the last batch's unfilled slots keep the previous batch's images and, as in MXNet,
    ``pad`` is 0. ``shuffle`` visits the records in MXNet's order for the same ``seed``
    (with ``path_imgidx``: reshuffled at every pass; without: per pass of the file, which
    is MXNet's behaviour for files up to its 64 MB chunk). Random augmentations draw from
    MXNet's generators: they match MXNet run with ``preprocess_threads=1``, or with
    ``seed_aug`` for batches read from the start of a chunk. ``num_parts`` /
    ``part_index`` read one of ``num_parts`` contiguous parts of the records.
    ``preprocess_threads``, ``prefetch_buffer``, ``ctx``, ``device_id`` tune MXNet's
    threads and memory; they are validated and otherwise unused (gluonlite decodes on
    demand in the calling thread). ``path_imglist`` takes the labels from an im2rec
    ``.lst`` file by image index. Augmentations gluonlite does not implement (rotation,
    shear, aspect ratio, random scale/area/crop size, colour jitter, HSL, ``mean_img``,
    chunked shuffling) raise ``NotImplementedError`` when set to anything but their
    no-op default.
    """

    def __init__(self, *, path_imgrec, data_shape, batch_size, path_imglist="", path_imgidx="",
                 label_width=1, preprocess_threads=4, verbose=True, num_parts=1, part_index=0,
                 device_id=0, shuffle_chunk_seed=0, seed_aug=None, shuffle=False, seed=0,
                 round_batch=True, prefetch_buffer=4, ctx="gpu", dtype=None, resize=-1,
                 rand_crop=False, fill_value=255, inter_method=1, pad=0, mirror=False,
                 rand_mirror=False, mean_r=0.0, mean_g=0.0, mean_b=0.0, mean_a=0.0, std_r=1.0,
                 std_g=1.0, std_b=1.0, std_a=1.0, scale=1.0, max_random_contrast=0.0,
                 max_random_illumination=0.0, data_name="data", label_name="softmax_label",
                 **kwargs):
        owner = "ImageRecordIter"
        for name, default in _UNSUPPORTED.items():
            if name in kwargs:
                value = kwargs.pop(name)
                if value != default:
                    raise NotImplementedError(
                        f"{owner}: {name}={value!r} is not supported by gluonlite (only its "
                        f"default {default!r}); implemented augmentations: resize, pad, "
                        "rand_crop, mirror, rand_mirror, mean/std/scale, "
                        "max_random_contrast, max_random_illumination")
        P.reject_unknown(owner, kwargs)
        super().__init__(data_name, label_name)
        self.path_imgrec = P.as_path(owner, "path_imgrec", path_imgrec)
        if os.path.isdir(self.path_imgrec):
            raise NotImplementedError(f"{owner}: path_imgrec must be a .rec file; "
                                      "directories of record files are not supported")
        self.path_imgidx = P.as_path(owner, "path_imgidx", path_imgidx) if path_imgidx else ""
        self.path_imglist = P.as_path(owner, "path_imglist", path_imglist) \
            if path_imglist else ""
        self.data_shape = P.as_shape(owner, "data_shape", data_shape, ndim=3)
        if self.data_shape[0] not in (1, 3, 4):
            raise MXNetError(f"{owner}: Invalid output shape {self.data_shape}: the number of "
                             "channels must be 1, 3 or 4")
        batch_size = P.as_int(owner, "batch_size", batch_size, low=1)
        self.label_width = P.as_int(owner, "label_width", label_width, low=1)
        P.as_int(owner, "preprocess_threads", preprocess_threads, low=1)
        verbose = P.as_bool(owner, "verbose", verbose)
        num_parts = P.as_int(owner, "num_parts", num_parts, low=1)
        part_index = P.as_int(owner, "part_index", part_index, low=0)
        if part_index >= num_parts:
            raise MXNetError(f"{owner}: part_index ({part_index}) must be smaller than "
                             f"num_parts ({num_parts})")
        P.as_int(owner, "device_id", device_id, low=-1)
        P.as_int(owner, "shuffle_chunk_seed", shuffle_chunk_seed)
        self.seed_aug = None if seed_aug is None else P.as_int(owner, "seed_aug", seed_aug)
        self.shuffle = P.as_bool(owner, "shuffle", shuffle)
        self.seed = P.as_int(owner, "seed", seed)
        self.round_batch = P.as_bool(owner, "round_batch", round_batch)
        P.check_prefetch(owner, prefetch_buffer, ctx)
        P.as_choice(owner, "dtype", dtype, tuple(_DTYPES))
        self._np_dtype = _DTYPES[dtype]
        self.resize = P.as_int(owner, "resize", resize)
        if self.resize != -1 and self.resize <= 0:
            raise MXNetError(f"{owner}: resize must be -1 (off) or positive, got {resize}")
        self.rand_crop = P.as_bool(owner, "rand_crop", rand_crop)
        self.fill_value = P.as_int(owner, "fill_value", fill_value, low=0, high=255)
        self.inter_method = P.as_int(owner, "inter_method", inter_method, low=0)
        if self.inter_method not in (0, 1, 2, 3, 4, 9, 10):
            raise MXNetError(f"{owner}: invalid inter_method {inter_method}: valid values are "
                             "0-4, 9 (auto) and 10 (random)")
        self.pad = P.as_int(owner, "pad", pad, low=0)
        self.mirror = P.as_bool(owner, "mirror", mirror)
        self.rand_mirror = P.as_bool(owner, "rand_mirror", rand_mirror)
        self._mean = [P.as_float(owner, n, v) for n, v in
                      (("mean_r", mean_r), ("mean_g", mean_g), ("mean_b", mean_b),
                       ("mean_a", mean_a))]
        self._std = [P.as_float(owner, n, v) for n, v in
                     (("std_r", std_r), ("std_g", std_g), ("std_b", std_b), ("std_a", std_a))]
        for n, v in zip(("std_r", "std_g", "std_b", "std_a"), self._std):
            if v == 0:
                raise MXNetError(f"{owner}: {n} must be non-zero (pixels are divided by it)")
        self.scale = P.as_float(owner, "scale", scale)
        self.max_random_contrast = P.as_float(owner, "max_random_contrast", max_random_contrast)
        self.max_random_illumination = P.as_float(owner, "max_random_illumination",
                                                  max_random_illumination)
        self._imglist = _read_imglist(self.path_imglist, self.label_width) \
            if self.path_imglist else None

        offsets = _record_offsets(self.path_imgrec, self.path_imgidx)
        # MXNet's partition: ceil(n / num_parts) records per part
        step = (len(offsets) + num_parts - 1) // num_parts
        offsets = offsets[part_index * step:(part_index + 1) * step]
        if not offsets:
            raise MXNetError(f"{owner}: no records in {self.path_imgrec!r} (part {part_index} "
                             f"of {num_parts})")
        if verbose:
            # MXNet logs this line (LOG(INFO)) unless verbose=False
            print(f"ImageRecordIOParser2: {self.path_imgrec}, use 1 threads for decoding..",
                  file=sys.stderr)
        self._source = _RecordSource(self, offsets, self.shuffle, bool(self.path_imgidx),
                                     self.seed)
        label_shape = () if self.label_width == 1 else (self.label_width,)
        self._loader = RoundBatchLoader(self._source, batch_size, self.data_shape,
                                        self._np_dtype, label_shape, self.round_batch,
                                        pad_without_round=False, owner=owner)
        self._describe((batch_size,) + self.data_shape, self._np_dtype,
                       (batch_size,) + label_shape, np.float32)

    def _read(self):
        return self._loader.next()

    def _before_first(self):
        self._loader.before_first()

    def close(self):
        """Close the record file."""
        self._source.close()

    def __del__(self):
        src = getattr(self, "_source", None)
        if src is not None:
            src.close()
