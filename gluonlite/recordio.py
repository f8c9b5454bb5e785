"""MXNet's RecordIO data format (``mx.recordio``): record files, their index, and image records.

A ``.rec`` file is a sequence of records in dmlc-core's RecordIO format, byte for byte what
MXNet 1.9.1 writes (checked against files written by MXNet, ``tests/fixtures/recordio``):

* every part starts with the magic number ``0xced7230a`` and a 32-bit word holding a
  continuation flag (upper 3 bits) and the part's length (lower 29 bits), both little-endian;
  the payload follows, zero-padded to a multiple of 4 bytes;
* a record that contains the magic number at a 4-byte-aligned offset is split there, as
  dmlc-core does, so that a reader can resynchronise on magic numbers: the parts carry flag
  1 (first), 2 (middle) and 3 (last), a record in one piece carries flag 0, and the reader
  puts the magic number back between the parts;
* a record must be shorter than 2**29 bytes: MXNet refuses longer ones ("RecordIO only accept
  record less than 2^29 bytes"), and so does gluonlite.

The ``.idx`` file of :class:`MXIndexedRecordIO` is text, one ``key<TAB>byte offset`` line per
record. :func:`pack`/:func:`unpack` add and strip MXNet's image-record header
(:data:`IRHeader`), and :func:`pack_img`/:func:`unpack_img` encode and decode the image with
Pillow (the ``image`` extra: ``pip install 'gluonlite[image]'``) following OpenCV's conventions
that MXNet uses: colour images are BGR(A) arrays.
"""
from __future__ import annotations

import numbers
import os
import struct
from collections import namedtuple

import numpy as np

from .base import FileFormatError, MXNetError

__all__ = ["MXRecordIO", "MXIndexedRecordIO", "IRHeader", "pack", "unpack", "pack_img",
           "unpack_img"]

_MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", _MAGIC)
_HEAD = struct.Struct("<II")
_LEN_BITS = 29
_LEN_MASK = (1 << _LEN_BITS) - 1
_MAX_RECORD = 1 << _LEN_BITS
_FLUSH_BYTES = 1 << 20


def _path(uri, what):
    if isinstance(uri, bytes):
        uri = uri.decode()
    if not isinstance(uri, (str, os.PathLike)):
        raise TypeError(f"{what}: expected a file path (str or os.PathLike), got "
                        f"{type(uri).__name__}")
    return os.fspath(uri)


def _as_bytes(buf, what):
    if isinstance(buf, bytes):
        return buf
    if isinstance(buf, (bytearray, memoryview)):
        return bytes(buf)
    if isinstance(buf, str):
        raise TypeError(f"{what}: expected bytes, got str; encode text first, e.g. "
                        f"s.encode('utf-8')")
    raise TypeError(f"{what}: expected bytes, got {type(buf).__name__}")


def encode_record(buf: bytes) -> list:
    """The pieces (bytes) that store ``buf`` as one RecordIO record, as dmlc-core writes it.

    The record is split wherever the magic number occurs at a 4-byte-aligned offset; the
    last piece is the zero padding to a multiple of 4 bytes.
    """
    n = len(buf)
    if n >= _MAX_RECORD:
        raise MXNetError(f"RecordIO only accepts records of less than 2^29 bytes "
                         f"({_MAX_RECORD}), got {n} bytes")
    pieces = []
    start = 0
    pos = buf.find(_MAGIC_BYTES)
    while pos != -1:
        if pos % 4 == 0:
            flag = 1 if start == 0 else 2
            pieces.append(_HEAD.pack(_MAGIC, (flag << _LEN_BITS) | (pos - start)))
            if pos != start:
                pieces.append(buf[start:pos])
            start = pos + 4
            pos = buf.find(_MAGIC_BYTES, start)
        else:
            pos = buf.find(_MAGIC_BYTES, pos + 1)
    flag = 3 if start != 0 else 0
    pieces.append(_HEAD.pack(_MAGIC, (flag << _LEN_BITS) | (n - start)))
    if start == 0:
        pieces.append(buf)
    elif n != start:
        pieces.append(buf[start:])
    if n % 4:
        pieces.append(b"\0" * (4 - n % 4))
    return pieces


class _FdWriter:
    """Append-only writer with its own buffer, written with raw ``os.write`` calls.

    A plain buffered file object would flush its buffer again when a forked process (a
    DataLoader worker) closes its inherited copy, duplicating data; this writer's buffer is
    dropped, not written, when it is closed in a process other than the one that opened it.
    """

    def __init__(self, path):
        self._f = open(path, "wb", buffering=0)
        self._pending = []
        self._npending = 0
        self.pos = 0

    def write(self, pieces):
        for p in pieces:
            self._pending.append(p)
            self._npending += len(p)
            self.pos += len(p)
        if self._npending >= _FLUSH_BYTES:
            self.flush()

    def flush(self):
        if not self._pending:
            return
        data = memoryview(b"".join(self._pending))
        self._pending = []
        self._npending = 0
        while data:
            n = self._f.write(data)
            data = data[n:]

    def close(self, flush=True):
        try:
            if flush:
                self.flush()
        finally:
            self._pending = []
            self._f.close()


class MXRecordIO:
    """Reads or writes a RecordIO file sequentially (MXNet's ``mx.recordio.MXRecordIO``).

    Parameters
    ----------
    uri : str or os.PathLike
        Path to the record file.
    flag : {'r', 'w'}
        ``'w'`` creates (truncates) the file for writing, ``'r'`` opens it for reading.

    Examples
    --------
    >>> record = mx.recordio.MXRecordIO('tmp.rec', 'w')
    >>> for i in range(5):
    ...     record.write(b'record_%d' % i)
    >>> record.close()
    >>> record = mx.recordio.MXRecordIO('tmp.rec', 'r')
    >>> record.read()
    b'record_0'

    As in MXNet, an open reader remembers the process that opened it: sequential ``read``
    in another (forked) process raises ``RuntimeError``, while
    :meth:`MXIndexedRecordIO.read_idx` reopens the file in the new process. Unlike MXNet,
    pickling a reader does not close it, pickling a writer is refused (the copy would
    truncate the file when reopened), ``read_idx`` after reading to the end of the file
    still works (MXNet returns None there), and the object is a context manager.
    """

    def __init__(self, uri, flag):
        self.uri = _path(uri, "uri")
        if flag not in ("r", "w"):
            raise ValueError(f"Invalid flag {flag!r}: expected 'r' (read) or 'w' (write)")
        self.flag = flag
        self.pid = None
        self.is_open = False
        self.writable = flag == "w"
        self._f = None
        self.open()

    # --- opening and closing ------------------------------------------------------------
    def open(self):
        """Opens the record file (truncating it when the flag is ``'w'``)."""
        if self.flag == "w":
            try:
                self._f = _FdWriter(self.uri)
            except OSError as e:
                raise MXNetError(f"MXRecordIO: cannot open {self.uri!r} for writing: "
                                 f"{e.strerror or e}") from None
            self.writable = True
        else:
            try:
                self._f = open(self.uri, "rb")
            except OSError as e:
                why = "no such file" if isinstance(e, FileNotFoundError) else (e.strerror or e)
                raise MXNetError(f"MXRecordIO: cannot open {self.uri!r} for reading: "
                                 f"{why}") from None
            self.writable = False
        self.pid = os.getpid()
        self.is_open = True

    def close(self):
        """Closes the record file (flushing what was written). Closing twice is harmless."""
        if not self.is_open:
            return
        f, self._f = self._f, None
        own = self.pid == os.getpid()
        self.is_open = False
        self.pid = None
        if isinstance(f, _FdWriter):
            f.close(flush=own)
        else:
            f.close()

    def reset(self):
        """Goes back to the first record (closes and reopens the file).

        A writer is truncated to an empty file, as in MXNet.
        """
        self.close()
        self.open()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown, file already gone: nothing to report to
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getstate__(self):
        if self.writable:
            raise TypeError(f"cannot pickle {type(self).__name__} opened for writing "
                            f"({self.uri!r}): the copy would truncate the file when reopened")
        d = dict(self.__dict__)
        d["_f"] = None
        d["pid"] = None
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        is_open, self.is_open = self.is_open, False
        if is_open:
            self.open()

    def _check_pid(self, allow_reset=False):
        """Reopen the file in a new process (``allow_reset``) or refuse to use it there."""
        if self.pid != os.getpid():
            if allow_reset:
                self.reset()
            else:
                raise RuntimeError(
                    f"Forbidden operation in multiple processes: {self.uri!r} was opened in "
                    f"process {self.pid} and is used in process {os.getpid()}; open a new "
                    "MXRecordIO in this process (MXIndexedRecordIO.read_idx reopens the file "
                    "itself)")

    def _check(self, what, writing):
        if not self.is_open:
            raise MXNetError(f"{what}: the record file {self.uri!r} is closed")
        if writing and not self.writable:
            raise MXNetError(f"{what}: {self.uri!r} is open for reading (flag 'r'); open it "
                             "with flag 'w' to write")
        if not writing and self.writable:
            raise MXNetError(f"{what}: {self.uri!r} is open for writing (flag 'w'); open it "
                             "with flag 'r' to read")

    # --- records --------------------------------------------------------------------------
    def write(self, buf):
        """Appends ``buf`` (bytes) as one record."""
        self._check("write", True)
        self._check_pid(allow_reset=False)
        self._f.write(encode_record(_as_bytes(buf, "write")))

    def read(self):
        """Returns the next record as bytes, or None at the end of the file."""
        self._check("read", False)
        self._check_pid(allow_reset=False)
        return self._read_record()

    def _read_record(self):
        f = self._f
        parts = None
        while True:
            at = f.tell()
            head = f.read(8)
            if not head:
                if parts is None:
                    return None
                raise FileFormatError(f"Invalid RecordIO File {self.uri!r}: the file ends "
                                      f"inside a record split in parts (at byte {at})")
            if len(head) != 8:
                raise FileFormatError(f"Invalid RecordIO File {self.uri!r}: truncated record "
                                      f"header at byte {at}")
            magic, lrec = _HEAD.unpack(head)
            if magic != _MAGIC:
                raise FileFormatError(f"Invalid RecordIO File {self.uri!r}: no magic number "
                                      f"at byte {at} (found 0x{magic:08x}); not a RecordIO "
                                      "file, or the position is not the start of a record")
            cflag, n = lrec >> _LEN_BITS, lrec & _LEN_MASK
            padded = (n + 3) & ~3
            data = f.read(padded) if padded else b""
            if len(data) != padded:
                raise FileFormatError(f"Invalid RecordIO File {self.uri!r}: the record at "
                                      f"byte {at} declares {n} bytes but the file ends after "
                                      f"{len(data)}")
            if padded != n:
                data = data[:n]
            if cflag == 0 or cflag == 3:
                if parts is None:
                    return data
                parts.append(data)
                return _MAGIC_BYTES.join(parts)
            if parts is None:
                parts = []
            parts.append(data)

    def _tell(self):
        return self._f.pos if self.writable else self._f.tell()


class MXIndexedRecordIO(MXRecordIO):
    """Reads or writes a RecordIO file with random access through an index file
    (MXNet's ``mx.recordio.MXIndexedRecordIO``).

    Parameters
    ----------
    idx_path : str or os.PathLike
        Path to the index file (text, one ``key<TAB>offset`` line per record).
    uri : str or os.PathLike
        Path to the record file.
    flag : {'r', 'w'}
        ``'w'`` for writing, ``'r'`` for reading.
    key_type : callable, default int
        Converts the keys read from the index file (and those given to ``write_idx``).

    Attributes ``keys`` (the keys in file order) and ``idx`` (key -> byte offset) are
    MXNet's.

    Examples
    --------
    >>> record = mx.recordio.MXIndexedRecordIO('tmp.idx', 'tmp.rec', 'w')
    >>> for i in range(5):
    ...     record.write_idx(i, b'record_%d' % i)
    >>> record.close()
    >>> record = mx.recordio.MXIndexedRecordIO('tmp.idx', 'tmp.rec', 'r')
    >>> record.read_idx(3)
    b'record_3'
    """

    def __init__(self, idx_path, uri, flag, key_type=int):
        self.idx_path = _path(idx_path, "idx_path")
        if not callable(key_type):
            raise TypeError(f"key_type: expected a callable such as int or str, got "
                            f"{key_type!r}")
        self.idx = {}
        self.keys = []
        self.key_type = key_type
        self.fidx = None
        super().__init__(uri, flag)

    def open(self):
        """Opens the record file and reads (flag ``'r'``) or creates (``'w'``) the index."""
        super().open()
        self.idx = {}
        self.keys = []
        if self.writable:
            try:
                self.fidx = _FdWriter(self.idx_path)
            except OSError as e:
                super().close()
                raise MXNetError(f"MXIndexedRecordIO: cannot open index file "
                                 f"{self.idx_path!r} for writing: {e.strerror or e}") from None
            return
        self.fidx = None
        try:
            self._load_index()
        except BaseException:
            super().close()
            raise

    def _load_index(self):
        try:
            with open(self.idx_path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            raise MXNetError(f"MXIndexedRecordIO: index file {self.idx_path!r} not found "
                             f"(needed to read {self.uri!r})") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line = raw.count(b"\n", 0, e.start) + 1
            raise FileFormatError(f"MXIndexedRecordIO: index file {self.idx_path!r} is not "
                                  f"a valid index: line {line} is not UTF-8 text (byte "
                                  f"0x{raw[e.start]:02x} at offset {e.start})") from None
        for no, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            fields = line.split("\t")
            try:
                if len(fields) < 2:
                    raise ValueError("expected 'key<TAB>offset'")
                key = self.key_type(fields[0])
                pos = int(fields[1])
                if not 0 <= pos < 1 << 63:
                    raise ValueError(f"the offset {pos} is not a byte offset")
            except (ValueError, TypeError, OverflowError) as e:
                raise FileFormatError(f"MXIndexedRecordIO: line {no} of index file "
                                      f"{self.idx_path!r} is malformed ({line[:80]!r}): "
                                      f"{e}") from None
            self.idx[key] = pos
            self.keys.append(key)

    def close(self):
        """Closes the record file and the index file."""
        if not self.is_open:
            return
        own = self.pid == os.getpid()
        try:
            super().close()
        finally:
            if self.fidx is not None:
                self.fidx.close(flush=own)
                self.fidx = None

    def __getstate__(self):
        d = super().__getstate__()
        d["fidx"] = None
        return d

    def seek(self, idx):
        """Moves the read position to the record with key ``idx``."""
        self._check("seek", False)
        self._check_pid(allow_reset=True)
        try:
            pos = self.idx[idx]
        except KeyError:
            raise KeyError(f"key {idx!r} is not in the index {self.idx_path!r}") from None
        except TypeError:
            raise TypeError(f"idx: expected a key of the index, got unhashable "
                            f"{type(idx).__name__}") from None
        self._f.seek(pos)

    def tell(self):
        """The current write position (byte offset of the next record)."""
        self._check("tell", True)
        return self._f.pos

    def read_idx(self, idx):
        """Returns the record with key ``idx``."""
        self.seek(idx)
        return self._read_record()

    def write_idx(self, idx, buf):
        """Appends ``buf`` as a record with key ``idx`` and adds it to the index."""
        self._check("write_idx", True)
        try:
            key = self.key_type(idx)
        except (TypeError, ValueError) as e:
            raise type(e)(f"write_idx: key {idx!r} cannot be converted by key_type "
                          f"{getattr(self.key_type, '__name__', self.key_type)}: {e}") from None
        pos = self.tell()
        self.write(buf)
        self.fidx.write([("%s\t%d\n" % (str(key), pos)).encode()])
        self.idx[key] = pos
        self.keys.append(key)


# --------------------------------------------------------------------------------------
# image-record header
IRHeader = namedtuple("HEADER", ["flag", "label", "id", "id2"])
IRHeader.__doc__ = """The header of an image record (MXNet's ``mx.recordio.IRHeader``).

Fields: ``flag`` (int; set by :func:`pack` to the number of labels when ``label`` is an
array, 0 otherwise), ``label`` (a float, or an array of floats stored as float32), ``id``
and ``id2`` (unsigned 64-bit ids; ``id2`` is usually 0)."""

_IR = struct.Struct("<IfQQ")
_IR_SIZE = _IR.size


def pack(header, s):
    """Prepends MXNet's image-record header to the bytes ``s`` (MXNet's ``recordio.pack``).

    A scalar ``header.label`` is stored in the header (and ``flag`` becomes 0); an array
    label is stored as float32 values before ``s``, with ``flag`` its size.
    """
    try:
        header = IRHeader(*header)
    except TypeError:
        raise TypeError("header: expected an IRHeader(flag, label, id, id2) or a 4-sequence, "
                        f"got {header!r}") from None
    s = _as_bytes(s, "pack")
    if isinstance(header.label, numbers.Number):
        header = header._replace(flag=0)
    else:
        try:
            label = np.asarray(header.label, dtype=np.float32)
        except (TypeError, ValueError):
            raise TypeError(f"header.label: expected a number or an array of numbers, got "
                            f"{header.label!r}") from None
        header = header._replace(flag=label.size, label=0)
        s = label.tobytes() + s
    try:
        head = _IR.pack(*header)
    except struct.error as e:
        raise ValueError(f"header: cannot store {header} (flag must fit in 32 unsigned bits, "
                         f"id and id2 in 64 unsigned bits, label in a float32): {e}") from None
    return head + s


def unpack(s):
    """Splits an image record into its :data:`IRHeader` and payload (MXNet's
    ``recordio.unpack``); array labels come back as a float32 numpy array."""
    s = _as_bytes(s, "unpack")
    if len(s) < _IR_SIZE:
        raise ValueError(f"unpack: a packed record starts with a {_IR_SIZE}-byte header, got "
                         f"{len(s)} bytes")
    header = IRHeader(*_IR.unpack_from(s))
    s = s[_IR_SIZE:]
    if header.flag > 0:
        if len(s) < 4 * header.flag:
            raise ValueError(f"unpack: the header announces {header.flag} float32 labels but "
                             f"only {len(s)} bytes follow it")
        header = header._replace(label=np.frombuffer(s, np.float32, header.flag))
        s = s[header.flag * 4:]
    return header, s


# --------------------------------------------------------------------------------------
# images (Pillow, with OpenCV's conventions)
def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("mx.recordio.pack_img/unpack_img need Pillow to encode and decode "
                          "images: pip install 'gluonlite[image]' (or pip install Pillow)"
                          ) from None
    return Image


_FORMATS = {".JPG": "JPEG", ".JPEG": "JPEG", ".JPE": "JPEG", ".PNG": "PNG", ".BMP": "BMP",
            ".TIF": "TIFF", ".TIFF": "TIFF", ".WEBP": "WEBP", ".PPM": "PPM", ".PGM": "PPM"}


def pack_img(header, img, quality=95, img_fmt=".jpg"):
    """Encodes ``img`` and packs it with ``header`` (MXNet's ``recordio.pack_img``).

    ``img`` is a uint8 array of shape (H, W) (grayscale), (H, W, 1), (H, W, 3) in **BGR**
    order or (H, W, 4) in BGRA order, as OpenCV (which MXNet uses) expects; PNG also takes
    uint16 grayscale. ``quality`` is the JPEG quality (0-100) or, for PNG, the zlib
    compression level (clipped to 0-9, as OpenCV does). ``img_fmt`` is the extension:
    ``.jpg``/``.jpeg``, ``.png``, ``.bmp``, ``.tif``/``.tiff``, ``.webp``, ``.ppm``/``.pgm``.
    Encoding uses Pillow (the ``image`` extra); JPEG bytes differ from OpenCV's encoder but
    decode to the same image up to JPEG's rounding.
    """
    import io
    Image = _pil()
    if not isinstance(img_fmt, str):
        raise TypeError(f"img_fmt: expected a string such as '.jpg' or '.png', got {img_fmt!r}")
    fmt = _FORMATS.get(img_fmt.upper())
    if fmt is None:
        raise ValueError(f"img_fmt: unsupported image format {img_fmt!r}; expected one of "
                         + ", ".join(sorted(k.lower() for k in _FORMATS)))
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)):
        raise TypeError(f"quality: expected an int, got {quality!r}")
    if hasattr(img, "asnumpy"):
        img = img.asnumpy()
    if not isinstance(img, np.ndarray):
        raise TypeError(f"img: expected a numpy array (H, W[, C]), got {type(img).__name__}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        if img.dtype == np.uint16 and fmt in ("PNG", "TIFF"):
            pil = Image.fromarray(np.ascontiguousarray(img))
        elif img.dtype == np.uint8:
            pil = Image.fromarray(np.ascontiguousarray(img), "L")
        else:
            raise TypeError(f"img: expected uint8 pixels (uint16 for grayscale PNG), got "
                            f"{img.dtype}")
    elif img.ndim == 3 and img.shape[2] in (3, 4):
        if img.dtype != np.uint8:
            raise TypeError(f"img: expected uint8 pixels for a colour image, got {img.dtype}")
        order = [2, 1, 0] if img.shape[2] == 3 else [2, 1, 0, 3]
        rgb = np.ascontiguousarray(img[:, :, order])
        if img.shape[2] == 4 and fmt in ("JPEG", "PPM"):
            raise ValueError(f"img: {fmt} cannot store a 4-channel (BGRA) image; use '.png'")
        pil = Image.fromarray(rgb, "RGB" if img.shape[2] == 3 else "RGBA")
    else:
        raise ValueError(f"img: expected shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got "
                         f"{img.shape}")
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"img: cannot encode an empty image of shape {img.shape}")
    kw = {}
    if fmt == "JPEG":
        if not 0 <= quality <= 100:
            raise ValueError(f"quality: JPEG quality must be in [0, 100], got {quality}")
        kw["quality"] = int(quality)
    elif fmt == "PNG":
        kw["compress_level"] = int(min(max(quality, 0), 9))
    out = io.BytesIO()
    pil.save(out, format=fmt, **kw)
    return pack(header, out.getvalue())


def _rgb_to_gray(rgb, png):
    """Grayscale as OpenCV's decoders compute it, so results match ``cv2.imdecode`` exactly:
    libpng's truncating fixed-point weights for PNG, ``cvtColor``'s rounded BT.601 weights
    otherwise."""
    r = rgb[..., 0].astype(np.uint32)
    g = rgb[..., 1].astype(np.uint32)
    b = rgb[..., 2].astype(np.uint32)
    if png:
        gray = (r * 9797 + g * 19234 + b * 3737) >> 15
        gray = np.where((r == g) & (g == b), r, gray)
    else:
        gray = (r * 4899 + g * 9617 + b * 1868 + (1 << 13)) >> 14
    return gray.astype(np.uint8)


def unpack_img(s, iscolor=-1):
    """Unpacks an image record into its :data:`IRHeader` and the decoded image
    (MXNet's ``recordio.unpack_img``), following ``cv2.imdecode``'s flags:

    * ``-1`` (unchanged): grayscale images come back as (H, W), colour ones as (H, W, 3) BGR,
      images with transparency as (H, W, 4) BGRA; 16-bit grayscale PNGs stay uint16;
    * ``0``: (H, W) uint8 grayscale;
    * ``1``: (H, W, 3) uint8 BGR.

    With 0 and 1 the EXIF orientation is applied, as OpenCV does. Decoding uses Pillow (the
    ``image`` extra). MXNet returns None for an undecodable payload; gluonlite raises.
    """
    import io
    Image = _pil()
    if isinstance(iscolor, bool) or iscolor not in (-1, 0, 1):
        raise ValueError(f"iscolor: expected -1 (unchanged), 0 (grayscale) or 1 (colour), got "
                         f"{iscolor!r}")
    header, s = unpack(s)
    try:
        pil = Image.open(io.BytesIO(s))
        if iscolor == 0 and pil.format == "JPEG" and pil.mode in ("RGB", "YCbCr"):
            pil.draft("L", pil.size)  # libjpeg's own grayscale output, as OpenCV asks for
        pil.load()
        png = pil.format == "PNG"
    except Exception as e:
        raise MXNetError(f"unpack_img: cannot decode the record's image ({len(s)} bytes): "
                         f"{e}") from None
    if iscolor != -1:
        from PIL import ImageOps
        pil = ImageOps.exif_transpose(pil)
    return header, _to_cv(pil, iscolor, png)


def _to_cv(pil, iscolor, png):
    mode = pil.mode
    if mode == "P":
        pil = pil.convert("RGBA" if "transparency" in pil.info else "RGB")
        mode = pil.mode
    elif mode in ("1", "LA", "PA", "CMYK", "YCbCr", "RGBX", "La", "RGBa", "I", "F"):
        pil = pil.convert({"1": "L", "LA": "RGBA", "PA": "RGBA", "La": "RGBA", "I": "I;16",
                           "F": "L"}.get(mode, "RGBA" if mode == "RGBa" else "RGB"))
        mode = pil.mode
    arr = np.asarray(pil)
    if mode == "L" or mode.startswith("I;16"):
        if mode.startswith("I;16"):
            arr = arr.astype(np.uint16)
            if iscolor != -1:
                arr = (arr >> 8).astype(np.uint8)
        if iscolor == 1:
            return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
        return np.ascontiguousarray(arr)
    # RGB / RGBA
    if iscolor == 0:
        return _rgb_to_gray(arr[:, :, :3], png)
    if mode == "RGBA" and iscolor == -1:
        return np.ascontiguousarray(arr[:, :, [2, 1, 0, 3]])
    return np.ascontiguousarray(arr[:, :, [2, 1, 0]])
