"""Passing batches from DataLoader worker processes to the parent through shared memory.

A worker pickles its batch with :func:`dump`: every NDArray (and every numpy array of at
least 64 KiB) is left out of the pickle and copied into one POSIX shared-memory segment per
batch, named by the parent. The parent's :func:`load` maps the segment, removes its name at
once (the memory lives on while arrays use it and is freed with the last of them) and
rebuilds the batch with NDArrays that view the mapped memory: one copy in all, made by the
worker.

The parent owns the names: it registers each with multiprocessing's resource tracker when it
hands the task out and unregisters it once the segment is unlinked, so a segment is removed
even if a worker dies mid-batch, the iteration stops early or the parent itself is killed.
Where POSIX shared memory is unavailable, arrays travel inside the pickle.
"""
from __future__ import annotations

import errno
import io
import mmap
import os
import pickle
import secrets

import numpy as np

from ...ndarray import NDArray

try:
    import _posixshmem
    from multiprocessing import resource_tracker as _tracker
except ImportError:  # pragma: no cover - Windows
    _posixshmem = None
    _tracker = None

__all__ = ["available", "Namer", "dump", "load", "release"]

_ALIGN = 64
_NUMPY_MIN_BYTES = 1 << 16


def available() -> bool:
    """True when batches can go through POSIX shared memory on this platform."""
    return _posixshmem is not None


class Namer:
    """Shared-memory segment names for one DataLoader iteration: ``/gl<pid>_<token>_<task>``.

    ``claim(task)`` returns the name of a task's segment and registers it with the resource
    tracker; ``release(name)`` removes the segment if it exists and unregisters the name.
    """

    def __init__(self):
        self._prefix = f"/gl{os.getpid():x}_{secrets.token_hex(3)}_"
        self.claimed = set()

    def name(self, task: int):
        """The segment name of task ``task``."""
        return f"{self._prefix}{task:x}"

    def claim(self, task: int):
        """Register and return the segment name of task ``task`` (None without POSIX shm)."""
        if _posixshmem is None:
            return None
        name = self.name(task)
        _tracker.register(name, "shared_memory")
        self.claimed.add(name)
        return name

    def release(self, name):
        """Unlink ``name`` (if the worker created it) and forget it."""
        if name is None or name not in self.claimed:
            return
        self.claimed.discard(name)
        release(name)

    def release_all(self):
        """Release every claimed name (after the workers are gone)."""
        for name in list(self.claimed):
            self.release(name)


def release(name):
    """Unlink segment ``name`` if it exists and unregister it from the resource tracker."""
    try:
        _posixshmem.shm_unlink(name)
    except FileNotFoundError:
        pass
    _tracker.unregister(name, "shared_memory")


class _Pickler(pickle.Pickler):
    def __init__(self, file, use_shm):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.arrays = []
        self.size = 0
        self._use_shm = use_shm
        self._seen = {}  # id(obj) -> persistent id: an object shared in the batch stays shared

    def _place(self, host):
        off = self.size
        self.arrays.append((off, host))
        self.size = off + (host.nbytes + _ALIGN - 1) // _ALIGN * _ALIGN
        return off

    def persistent_id(self, obj):
        if not self._use_shm:
            return None
        if isinstance(obj, NDArray):
            pid = self._seen.get(id(obj))
            if pid is None:
                host = obj.asnumpy() if obj.context.is_gpu else obj._data
                pid = ("nd", self._place(host), host.shape, host.dtype.str, type(obj),
                       obj.context)
                self._seen[id(obj)] = pid
                self.arrays[-1] += (obj,)  # keep obj alive: its id must stay unique
            return pid
        if type(obj) is np.ndarray and obj.nbytes >= _NUMPY_MIN_BYTES and \
                not obj.dtype.hasobject:
            pid = self._seen.get(id(obj))
            if pid is None:
                pid = self._seen[id(obj)] = ("np", self._place(obj), obj.shape,
                                             obj.dtype.str)
            return pid
        return None


def dump(obj, name):
    """Pickle ``obj`` with its arrays in segment ``name``; returns ``(pickle bytes, size)``.

    ``size`` is 0 when no segment was created. On failure the segment is removed again.
    """
    buf = io.BytesIO()
    p = _Pickler(buf, name is not None)
    p.dump(obj)
    data = buf.getvalue()
    if not p.arrays or p.size == 0:
        return data, 0
    fd = _posixshmem.shm_open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, mode=0o600)
    try:
        try:
            _reserve(fd, p.size)
            mm = mmap.mmap(fd, p.size)
        finally:
            os.close(fd)
        try:
            for off, host, *_ in p.arrays:
                if host.size:
                    dst = np.frombuffer(mm, dtype=host.dtype, count=host.size, offset=off)
                    np.copyto(dst.reshape(host.shape), host)
                    del dst
        finally:
            mm.close()
    except BaseException:
        _posixshmem.shm_unlink(name)
        raise
    return data, p.size


def _reserve(fd, size):
    """Size the segment, reserving its memory where possible: a full /dev/shm then fails
    here with a clear error instead of killing the worker with SIGBUS on first write."""
    if hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
            return
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise MemoryError(
                    f"DataLoader worker: no shared memory left for a batch of {size} bytes "
                    "(/dev/shm is full): reduce the batch size, num_workers or prefetch, "
                    "enlarge /dev/shm, or use thread_pool=True") from None
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
    os.ftruncate(fd, size)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, mm):
        super().__init__(file)
        self._mm = mm
        self._built = {}

    def persistent_load(self, pid):
        key = (pid[0], pid[1])
        obj = self._built.get(key)
        if obj is None:
            obj = self._built[key] = self._build(pid)
        return obj

    def _build(self, pid):
        kind, off, shape, dtype = pid[:4]
        dtype = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        if count == 0:
            arr = np.empty(shape, dtype)
        else:
            arr = np.frombuffer(self._mm, dtype=dtype, count=count, offset=off).reshape(shape)
        if kind == "np":
            return arr
        cls, ctx = pid[4], pid[5]
        if ctx.is_gpu:
            from ...ndarray import array
            return array(arr, ctx=ctx, dtype=dtype)
        out = cls.__new__(cls)
        NDArray.__init__(out, arr, ctx)
        return out


def load(data, name, size):
    """Rebuild a batch from :func:`dump`'s output; maps and unlinks segment ``name``."""
    mm = None
    if size:
        fd = _posixshmem.shm_open(name, os.O_RDWR, mode=0o600)
        try:
            mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
            _posixshmem.shm_unlink(name)
    return _Unpickler(io.BytesIO(data), mm).load()
