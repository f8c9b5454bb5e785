"""``nd.save`` / ``nd.load`` / ``nd.load_frombuffer`` in MXNet's binary NDArray format.

Files move both ways: what MXNet 1.x wrote loads here, and what gluonlite writes loads in
MXNet 1.9.1. The layout below was checked field by field against files written by MXNet
1.9.1 itself (``tests/fixtures/gen/serialization_mxnet.py``). Everything is little-endian::

    file   := u64 0x112 | u64 reserved (0) | u64 n | n x array | u64 k | k x name
    name   := u64 length | UTF-8 bytes          (k = 0 for a list, k = n for a dict)
    array  := u32 magic | i32 stype | shape | i32 dev_type | i32 dev_id | i32 dtype_flag | data
    shape  := i32 ndim | i64 x ndim

* ``magic`` is 0xF993FAC9 (V2, what MXNet 1.9 writes by default) or 0xF993FACA (V3, written
  under NumPy-shape semantics, ``mx.npx.set_np()``; the layout is the same). V1 arrays
  (0xF993FAC8) have no ``stype`` field; arrays older than V1 have no magic at all: their
  first u32 is ``ndim`` and the dimensions are u32.
* ``stype`` is 0 for dense arrays, 1 row_sparse, 2 csr. A sparse array is laid out as
  ``magic | stype | storage shape | shape | dev_type | dev_id | dtype_flag |
  nad x (i32 aux dtype_flag | aux shape) | values | nad x aux data``, the storage shape
  being the values' shape ((nnz,) for csr, (rows stored,) + shape[1:] for row_sparse) and
  the aux arrays (int64 in MXNet 1.9) csr's ``indptr, indices`` or row_sparse's
  ``indices`` (``nad`` = 2 or 1).
* ``dev_type`` is 1 cpu, 2 gpu, 3 cpu_pinned, 5 cpu_shared; the data are always host bytes.
* ``dtype_flag`` is mshadow's type flag (``gluonlite.base.FLAG_TO_DTYPE``): 0 float32,
  1 float64, 2 float16, 3 uint8, 4 int32, 5 int8, 6 int64, 7 bool, 12 bfloat16 (which
  gluonlite cannot hold); 8-11 (int16, uint16, uint32, uint64) exist only from MXNet 2.
"""
from __future__ import annotations

import io
import os
import stat
import struct

import numpy as np

from ..base import DTYPE_TO_FLAG, FLAG_TO_DTYPE, FileFormatError, MXNetError
from ..context import cpu, gpu, num_gpus
from ..fileio import atomic_write, check_fname
from .ndarray import NDArray, _to_device
from .sparse import BaseSparseNDArray, CSRNDArray, RowSparseNDArray, _validate

__all__ = ["save", "load", "load_frombuffer"]

_LIST_MAGIC = 0x112
_V1_MAGIC = 0xF993FAC8
_V2_MAGIC = 0xF993FAC9
_V3_MAGIC = 0xF993FACA
_STYPE_NAMES = {-1: "undefined", 0: "default", 1: "row_sparse", 2: "csr"}
_STYPE_IDS = {"row_sparse": 1, "csr": 2}
_SPARSE_CLS = {1: RowSparseNDArray, 2: CSRNDArray}
_NUM_AUX = {1: 1, 2: 2}
_DEV_TYPES = (1, 2, 3, 5)  # cpu, gpu, cpu_pinned, cpu_shared
_GPU = 2
# Files older than V1 start each array with its ndim; anything larger than this is not a
# dimension count but garbage (or a magic number of a format we do not know).
_MAX_LEGACY_NDIM = 64
_UNSUPPORTED_FLAGS = {12: "bfloat16"}
_MAX_NDIM = 64                 # NumPy's limit
_MAX_BYTES = np.iinfo(np.intp).max

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_HEAD = struct.Struct("<QQQ")     # list magic, reserved, array count
_ARR_HEAD = struct.Struct("<Iii")  # magic, stype, ndim
_ARR_TAIL = struct.Struct("<iii")  # dev_type, dev_id, dtype flag


# --------------------------------------------------------------------------------------
# save
def save(fname, data):
    """Save an NDArray, a list of NDArrays or a dict ``str -> NDArray`` to ``fname`` in
    MXNet's binary format (MXNet's ``mx.nd.save``).

    A single NDArray is saved as a one-element list, so ``load`` returns a list. Arrays on
    any device are saved (GPU arrays are copied to the host); the file records each
    array's device, as MXNet does. Files load in MXNet 1.9.1 with ``mx.nd.load``, with two
    exceptions MXNet imposes: a file holding a 0-d array is written in MXNet's NumPy-shape
    format (V3), the only one in which MXNet 1.9 reads 0-d arrays back (load it there
    inside ``mx.util.np_shape(True)``), and int16/uint16/uint32/uint64 arrays use MXNet
    2's type flags, which MXNet 1.9.1 does not know.

    The file is written to a temporary file beside ``fname`` and renamed over it at the
    end, so a failed save never leaves a partial file behind.

    Parameters
    ----------
    fname : str or os.PathLike
        The file name (local files only; MXNet's ``s3://``/``hdfs://`` are not supported).
    data : NDArray, list of NDArray, or dict of str to NDArray
        What to save. As in MXNet, other containers (tuples, ...) raise ``ValueError`` and
        wrong element or key types raise ``TypeError``.
    """
    path = _check_fname(fname, "nd.save")
    arrays, names = _flatten(data)
    # MXNet 1.9 writes 0-d arrays in V2 files but cannot read them back from one outside
    # NumPy-shape mode (its loader treats ndim 0 as "no array" and loses its place in the
    # file); V3, MXNet's NumPy-shape format, is where it reads them correctly.
    magic = _V3_MAGIC if any(a.ndim == 0 for a in arrays) else _V2_MAGIC
    for i, a in enumerate(arrays):
        if np.dtype(a.dtype) not in DTYPE_TO_FLAG:
            raise TypeError(f"nd.save: {_label(i, names)} has dtype {np.dtype(a.dtype)}, "
                            "which MXNet's file format cannot store")
    _atomic_write(path, fname, _chunks(arrays, names, magic))


def _flatten(data):
    """(arrays, names or None) from save's ``data``, with MXNet's error types."""
    if isinstance(data, NDArray):
        return [data], None
    if isinstance(data, dict):
        names, arrays = [], []
        for k, v in data.items():
            if not isinstance(k, str):
                raise TypeError(f"nd.save: data: dict keys must be str, got key {k!r} of "
                                f"type {type(k).__name__}")
            if "\0" in k:
                # MXNet passes names through C strings: it would cut the name at the NUL
                raise ValueError(f"nd.save: data: key {k!r} contains a NUL character, which "
                                 "MXNet cannot read back")
            if not isinstance(v, NDArray):
                raise TypeError(f"nd.save: data[{k!r}]: expected an NDArray, got "
                                f"{type(v).__name__}")
            names.append(k)
            arrays.append(v)
        # MXNet writes no names for an empty dict, so it loads back as an empty list.
        return arrays, names
    if isinstance(data, list):
        for i, v in enumerate(data):
            if not isinstance(v, NDArray):
                raise TypeError(f"nd.save: data[{i}]: expected an NDArray, got "
                                f"{type(v).__name__}")
        return list(data), None
    hint = "; convert it with list(...)" if isinstance(data, tuple) else ""
    raise ValueError("nd.save: data needs to be an NDArray, a list of NDArrays or a dict "
                     f"of str -> NDArray, got {type(data).__name__}{hint}")


def _label(i, names):
    return f"array {names[i]!r}" if names else f"array {i}"


def _chunks(arrays, names, magic):
    """The file's bytes, as a sequence of buffers (array data are not copied on the CPU)."""
    yield _HEAD.pack(_LIST_MAGIC, 0, len(arrays))
    for a in arrays:
        if isinstance(a, BaseSparseNDArray):
            yield from _sparse_chunks(a, magic)
            continue
        host = a._data
        if type(host) is not np.ndarray:  # a GPU array: MXNet saves a host copy
            host = host.get()
        dt = host.dtype
        ctx = a._ctx
        yield _ARR_HEAD.pack(magic, 0, host.ndim)
        if host.ndim:
            yield struct.pack(f"<{host.ndim}q", *host.shape)
        yield _ARR_TAIL.pack(ctx.device_typeid, ctx.device_id, DTYPE_TO_FLAG[dt])
        le = dt.newbyteorder("<")
        if le != dt:  # big-endian host: the format is little-endian
            host = host.astype(le)
        host = np.ascontiguousarray(host).reshape(-1)
        yield host.view(np.uint8)
    if names:
        yield _U64.pack(len(names))
        for n in names:
            b = n.encode("utf-8")
            yield _U64.pack(len(b))
            yield b
    else:
        yield _U64.pack(0)


def _le_bytes(host):
    """A host array's bytes, little-endian and contiguous, as a uint8 view."""
    dt = host.dtype
    le = dt.newbyteorder("<")
    if le != dt:
        host = host.astype(le)
    return np.ascontiguousarray(host).reshape(-1).view(np.uint8)


def _shape_bytes(shape):
    return _I32.pack(len(shape)) + struct.pack(f"<{len(shape)}q", *shape)


def _sparse_chunks(a, magic):
    """One sparse array in MXNet's layout (see the module docstring)."""
    values = a._values if type(a._values) is np.ndarray else a._values.get()
    aux = [x if type(x) is np.ndarray else x.get() for x in a._aux]
    ctx = a._ctx
    yield _ARR_HEAD.pack(magic, _STYPE_IDS[a.stype], values.ndim)
    yield struct.pack(f"<{values.ndim}q", *values.shape)
    yield _shape_bytes(a.shape)
    yield _ARR_TAIL.pack(ctx.device_typeid, ctx.device_id, DTYPE_TO_FLAG[values.dtype])
    for x in aux:
        yield _I32.pack(DTYPE_TO_FLAG[x.dtype]) + _shape_bytes(x.shape)
    yield _le_bytes(values)
    for x in aux:
        yield _le_bytes(x)


def _atomic_write(path, fname, chunks):
    """Write ``chunks`` to ``path`` with the shared atomic writer (``gluonlite.fileio``):
    a failed save leaves the old file as it was and no temporary file behind."""
    try:
        atomic_write(path, chunks, fn="nd.save")
    except OSError as e:
        # nd.save has always reported unwritable files as MXNetError, as MXNet does
        raise MXNetError(str(e.strerror if e.errno is not None else e)) from e


def _check_fname(fname, fn):
    fname = check_fname(fname, fn)
    if "://" in fname:
        raise MXNetError(f"{fn}: {fname!r}: remote file systems (s3://, hdfs://, ...) are "
                         "not supported; use a local file")
    return fname


# --------------------------------------------------------------------------------------
# load
def load(fname):
    """Load arrays saved by ``nd.save`` here or in MXNet (MXNet's ``mx.nd.load``).

    Returns a list of NDArrays, or a dict ``str -> NDArray`` when the file holds names (as
    written by saving a dict). Reads MXNet's V2 format and also V1, the format before it,
    and V3 (MXNet's NumPy-shape format, which also stores 0-d arrays). Arrays saved from a
    CPU context (any id, pinned or shared memory) load on ``cpu(0)``, as in MXNet; arrays
    saved from ``gpu(i)`` load on ``gpu(i)`` when GPUs are visible, else on ``cpu(0)``.

    Raises :class:`~gluonlite.base.FileFormatError` (an ``MXNetError``) naming the file
    and what is wrong for files that cannot be read: not MXNet NDArray files, truncated or
    corrupt ones, and ones holding bfloat16 data, which gluonlite cannot represent.
    Sparse arrays (row_sparse, csr) load as ``nd.sparse.RowSparseNDArray`` and
    ``nd.sparse.CSRNDArray``. A corrupt size field is checked against the file's size
    before anything is allocated.
    """
    path = _check_fname(fname, "nd.load")
    try:
        f = open(path, "rb")
    except OSError as e:
        raise MXNetError(f"nd.load: cannot open {fname!r}: {e.strerror}") from e
    with f:
        try:
            st = os.fstat(f.fileno())
            # only a regular file's size is known up front (not a pipe's or a device's)
            size = st.st_size if stat.S_ISREG(st.st_mode) else None
        except OSError:
            size = None
        return _Reader(f, size, f"file {fname!r}").load()


def load_frombuffer(buf):
    """Load arrays from the bytes of a file written by ``nd.save`` (MXNet's
    ``mx.nd.load_frombuffer``); returns a list or a dict as ``load`` does.

    ``buf`` is a bytes-like object (``bytes``, ``bytearray``, ``memoryview``), e.g. the
    content of a ``.params`` file opened in binary mode.
    """
    if isinstance(buf, str):
        raise TypeError("nd.load_frombuffer: buf: expected bytes (read the file in binary "
                        "mode, open(fname, 'rb')), got str")
    try:
        mv = memoryview(buf)
    except TypeError:
        raise TypeError("nd.load_frombuffer: buf: expected a bytes-like object, got "
                        f"{type(buf).__name__}") from None
    return _Reader(io.BytesIO(mv.cast("B") if mv.ndim != 1 or mv.format != "B" else mv),
                   mv.nbytes, "buffer").load()


class _Reader:
    """Parses the list format from a binary stream, naming ``what`` in every error."""

    def __init__(self, stream, size, what):
        self.f = stream
        self.size = size
        self.what = what
        self.pos = 0

    # --- primitives ----------------------------------------------------------------------
    def fail(self, msg):
        raise FileFormatError(f"nd.load: {self.what} is not a valid MXNet NDArray file: {msg}")

    def unsupported(self, msg):
        """A well-formed file holding something gluonlite cannot represent."""
        raise FileFormatError(f"nd.load: {self.what}: {msg}")

    def remaining(self):
        return None if self.size is None else self.size - self.pos

    def take(self, n, field):
        b = self.f.read(n)
        if len(b) != n:
            self.truncated(n, field, len(b))
        self.pos += n
        return b

    def truncated(self, n, field, have=None):
        if have is None:
            have = self.remaining()
        self.fail(f"it is truncated: {field} needs {n} bytes at byte {self.pos} but only "
                  f"{have} remain")

    def unpack(self, st, field):
        return st.unpack(self.take(st.size, field))

    def read_data(self, shape, dtype, field):
        n = 1
        for d in shape:
            n *= d
        nbytes = n * dtype.itemsize
        big = 1
        for d in shape:
            big *= max(d, 1)
        if big * dtype.itemsize > _MAX_BYTES:
            # NumPy refuses such a shape even with a zero dimension in it
            self.fail(f"{field} has shape {tuple(shape)}, too large for any array")
        rem = self.remaining()
        if rem is not None and nbytes > rem:
            # checked before allocating, so a corrupt shape cannot ask for terabytes
            self.truncated(nbytes, field)
        le = dtype.newbyteorder("<")
        raw = np.empty(shape, np.uint8 if dtype.kind == "b" else le)
        got = self.f.readinto(raw.reshape(-1).view(np.uint8)) if nbytes else 0
        if got != nbytes:
            self.truncated(nbytes, field, got)
        self.pos += nbytes
        if dtype.kind == "b":
            return raw.astype(np.bool_)  # any non-zero byte is True; stays an ndarray when 0-d
        return raw if le == dtype else raw.astype(dtype)

    # --- the format ----------------------------------------------------------------------
    def load(self):
        head = self.f.read(8)
        if len(head) < 8:
            self.fail(f"it is only {len(head)} bytes long, shorter than the "
                      f"{_HEAD.size}-byte header" + self._hint(head))
        if _U64.unpack(head)[0] != _LIST_MAGIC:
            self.fail(f"wrong magic number 0x{head[::-1].hex()} at byte 0 (expected "
                      f"0x{_LIST_MAGIC:x})" + self._hint(head))
        self.pos = 8
        self.take(8, "the reserved header field")  # MXNet ignores its value
        (count,) = self.unpack(_U64, "the array count")
        rem = self.remaining()
        if rem is not None and count * 4 > rem:  # every array takes at least 4 bytes
            self.fail(f"it is truncated or corrupt: the header declares {count} arrays "
                      f"but only {rem} bytes follow")
        gpus = [None]  # number of visible GPUs, looked up once when needed
        arrays = [self.array(i, gpus) for i in range(count)]
        (nnames,) = self.unpack(_U64, "the name count")
        if nnames == 0:
            return arrays
        if nnames != count:
            self.fail(f"it holds {count} arrays but {nnames} names")
        names = []
        for i in range(nnames):
            (n,) = self.unpack(_U64, f"the length of name {i}")
            rem = self.remaining()
            if rem is not None and n > rem:
                self.truncated(n, f"name {i}")
            raw = self.take(n, f"name {i}")
            try:
                names.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                self.fail(f"name {i} ({raw[:40]!r}) is not valid UTF-8")
        # Trailing bytes after the names are ignored, as MXNet does.
        return dict(zip(names, arrays))

    def array(self, i, gpus):
        field = f"array {i}"
        (magic,) = self.unpack(_U32, f"the magic number of {field}")
        if magic in (_V2_MAGIC, _V3_MAGIC):
            (stype,) = self.unpack(_I32, f"the storage type of {field}")
            if stype in _SPARSE_CLS:
                return self.sparse_array(i, stype, gpus)
            if stype != 0:
                self.fail(f"{field} has an unknown storage type {stype} (expected 0 "
                          "default, 1 row_sparse or 2 csr)")
            shape = self.shape64(field, np_shape=magic == _V3_MAGIC)
        elif magic == _V1_MAGIC:
            shape = self.shape64(field, np_shape=False, v1=True)
        elif magic <= _MAX_LEGACY_NDIM:
            # before V1 there was no magic: this is ndim, followed by u32 dimensions
            dims = self.take(4 * magic, f"the shape of {field}") if magic else b""
            shape = struct.unpack(f"<{magic}I", dims)
        else:
            self.fail(f"{field} starts with 0x{magic:08X} at byte {self.pos - 4}, which is "
                      "not an NDArray magic number (0xF993FAC8, 0xF993FAC9 or 0xF993FACA)")
        dev_type, dev_id, flag = self.unpack(_ARR_TAIL, f"the device and dtype of {field}")
        if dev_type not in _DEV_TYPES:
            self.fail(f"{field} has device type {dev_type} (expected 1 cpu, 2 gpu, "
                      "3 cpu_pinned or 5 cpu_shared)")
        if dev_id < 0:
            self.fail(f"{field} has a negative device id {dev_id}")
        dtype = self.dtype_of(flag, field)
        data = self.read_data(shape, dtype, f"the data of {field}")
        ctx = self.context(dev_type, dev_id, field, gpus)
        if ctx.is_gpu:
            data = _to_device(data, ctx)
        return NDArray(data, ctx)

    def dtype_of(self, flag, field):
        dtype = FLAG_TO_DTYPE.get(flag)
        if dtype is None:
            if flag in _UNSUPPORTED_FLAGS:
                self.unsupported(
                    f"{field} has dtype {_UNSUPPORTED_FLAGS[flag]}, "
                    "which gluonlite does not support; cast it to float32 in MXNet "
                    "(.astype('float32')) before saving.")
            self.fail(f"{field} has an unknown dtype flag {flag}")
        return dtype

    def sparse_array(self, i, stype, gpus):
        """A row_sparse or csr array, after its magic and storage type."""
        field = f"array {i}"
        name = _STYPE_NAMES[stype]
        sshape = self.shape64(f"{field} ({name} storage)", np_shape=True)
        shape = self.shape64(field, np_shape=True)
        dev_type, dev_id, flag = self.unpack(_ARR_TAIL, f"the device and dtype of {field}")
        if dev_type not in _DEV_TYPES:
            self.fail(f"{field} has device type {dev_type} (expected 1 cpu, 2 gpu, "
                      "3 cpu_pinned or 5 cpu_shared)")
        if dev_id < 0:
            self.fail(f"{field} has a negative device id {dev_id}")
        dtype = self.dtype_of(flag, field)
        aux_meta = []
        for k in range(_NUM_AUX[stype]):
            (aflag,) = self.unpack(_I32, f"the dtype of aux array {k} of {field}")
            adt = self.dtype_of(aflag, f"aux array {k} of {field}")
            if adt.kind not in "iu":
                self.fail(f"aux array {k} of {field} has dtype {adt.name}; sparse indices "
                          "are integers")
            aux_meta.append((adt, self.shape64(f"aux array {k} of {field}", np_shape=True)))
        # The values' count comes from the indices' length, as MXNet's loader takes it:
        # MXNet 1.9 can write a stale storage shape ((0,) for a csr made by tostype and
        # never read) ahead of the full values.
        nidx = aux_meta[-1][1]
        if len(nidx) != 1:
            self.fail(f"the indices of {field} have shape {nidx}; expected one dimension")
        vshape = (nidx[0],) + (tuple(shape[1:]) if stype == 1 else ())
        if tuple(sshape) not in (vshape, (0,) + vshape[1:]):
            self.fail(f"{field} has storage shape {tuple(sshape)} but {nidx[0]} indices")
        values = self.read_data(vshape, dtype, f"the values of {field}")
        aux = [self.read_data(ashape, adt, f"aux array {k} of {field}").astype(np.int64)
               for k, (adt, ashape) in enumerate(aux_meta)]
        try:
            _validate(name, values, aux, shape, "", full=True)
        except ValueError as e:
            self.fail(f"{field} is not a valid {name} array:{str(e)[1:]}")
        ctx = self.context(dev_type, dev_id, field, gpus)
        if ctx.is_gpu:
            values, aux = _to_device(values, ctx), [_to_device(x, ctx) for x in aux]
        return _SPARSE_CLS[stype](values, tuple(aux), shape, ctx)

    def shape64(self, field, np_shape, v1=False):
        (ndim,) = self.unpack(_I32, f"the shape of {field}")
        if ndim == -1 or (ndim == 0 and not np_shape and not v1 and not self._data_follows()):
            # An NDArray with no shape at all (MXNet's "none" array: only its shape is saved).
            self.unsupported(
                f"{field} is an uninitialised MXNet NDArray (no shape "
                "and no data), which gluonlite cannot represent")
        if ndim < 0:
            self.fail(f"{field} has an invalid number of dimensions {ndim}")
        rem = self.remaining()
        if rem is not None and 8 * ndim > rem:
            self.fail(f"it is truncated or corrupt: {field} declares {ndim} dimensions but "
                      f"only {rem} bytes remain")
        if ndim > _MAX_NDIM:
            self.fail(f"{field} declares {ndim} dimensions; arrays have at most {_MAX_NDIM}")
        shape = struct.unpack(f"<{ndim}q", self.take(8 * ndim, f"the shape of {field}"))
        if any(d < 0 for d in shape):
            if all(d >= -1 for d in shape):
                self.unsupported(
                    f"{field} has an unknown shape {shape} (an "
                    "uninitialised MXNet NDArray), which gluonlite cannot represent")
            self.fail(f"{field} has a negative dimension in its shape {shape}")
        return shape

    def _data_follows(self):
        """After a V2 shape with ndim 0: does a 0-d array's context follow?

        MXNet 1.9 writes a 0-d array's context, dtype and data after an empty V2 shape, but
        writes nothing more for a "none" array (one that was never given a shape). What
        follows a none array is the next array's magic or the name count, never a valid
        device type, so peeking at the next field tells the two apart.
        """
        if not self.f.seekable():
            return True
        here = self.f.tell()
        nxt = self.f.read(4)
        self.f.seek(here)
        return len(nxt) == 4 and _I32.unpack(nxt)[0] in _DEV_TYPES

    def context(self, dev_type, dev_id, field, gpus):
        """Where MXNet puts a loaded array: cpu(0) for every CPU kind (its loader ignores
        the id), gpu(id) when GPUs exist (a CPU-only build loads onto the CPU)."""
        if dev_type != _GPU:
            return cpu(0)
        if gpus[0] is None:
            gpus[0] = num_gpus()
        if gpus[0] == 0:
            return cpu(0)
        if dev_id >= gpus[0]:
            raise MXNetError(f"nd.load: {self.what}: {field} was saved on gpu({dev_id}) but "
                             f"only {gpus[0]} GPU(s) are visible (MXNet fails the same way)")
        return gpu(dev_id)

    @staticmethod
    def _hint(head):
        if head[:1] in (b"{", b"["):
            return "; it looks like a JSON file (a -symbol.json?)"
        if head[:6] == b"\x93NUMPY" or head[:2] == b"PK":
            return "; it looks like a NumPy .npy/.npz file (use numpy.load)"
        return ""

