"""The on-disk cache of compiled Numba code: a private directory that is vetted before
anything in it is used.

Layout, under ``<root>`` = ``$GLUONLITE_CACHE_DIR`` (default ``~/.cache/gluonlite``):

* ``<root>/kernels/``: the compiler's generated kernels. A kernel ``k_<digest>.py`` sits
  there with Numba's compiled code for it (``k_<digest>.kernel-0.pyXY.nbi`` index,
  ``.N.nbc`` data).
* ``<root>/builtin/``: Numba's compiled code of gluonlite's own kernels
  (:mod:`gluonlite.kernels` convolution, pooling, BatchNorm; the fused SGD/Adam updates),
  ``<module>.<function>-0.pyXY.nbi`` / ``.N.nbc``, attached with :func:`cached_njit`.

What is promised:

* **Only a private directory is used.** The root and its subdirectory are created with
  mode ``0o700``; before each use both must be directories owned by the current user and
  not writable by group or others. Otherwise nothing in them is read or written: one
  :class:`RuntimeWarning` names the directory and why, and kernels are compiled in memory.
  (Numba's index and data files are pickles: whoever can write them can run code in
  this process, so they are only ever read from a directory only we can write.)
* **A kernel's Python source is never imported from disk.** The caller execs the source
  it generated in memory; the file on disk is a readable copy, compared byte for byte
  and rewritten when it differs. (Built-in kernels are gluonlite's own modules.)
* **Numba's files are sealed.** Each is written as ``magic + sha256(payload) + payload``
  and read through ``O_NOFOLLOW`` as a regular file owned by us and not writable by
  others; anything else (empty, truncated, garbage, another Numba version, a symlink) is
  a cache miss: the entry is removed and the kernel recompiled and saved again. A data
  file holds the index key it was saved under and is used only for that key (processes
  saving different signatures of one function at once can renumber each other's files).
  Numba's own ``NUMBA_CACHE_DIR`` and locators are not consulted for these kernels.
* **Writes are atomic.** A temporary file created with ``O_EXCL`` under an unpredictable
  name (``mkstemp``) in the same directory, fsynced, renamed over the entry, then the
  directory fsynced; it is removed when anything fails.
* **The cache is bounded.** After a new generated kernel is written, when more than
  ``$GLUONLITE_CACHE_MAX_FILES`` kernels (default 2000) are present the least recently
  used ones (by the source file's mtime, touched on every load) are removed with their
  compiled code; ``0`` turns the disk cache (both directories) off. The built-in kernels
  are a fixed set (one index per function, one data file per argument-type signature),
  so ``builtin/`` is not subject to that bound. Temporary files left by killed processes
  are removed once an hour old. :func:`clear` empties both directories.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import stat
import sys
import tempfile
import threading
import time
import warnings

import numba
from numba.core.caching import (CompileResultCacheImpl, FunctionCache, IndexDataCacheFile,
                                _Cache, _CacheLocator)
from numba.core.serialize import dumps as _numba_dumps

__all__ = ["root_dir", "kernel_dir", "builtin_dir", "max_files", "open_dir", "check_dir",
           "sync_source", "evict", "clear", "KernelCache", "BuiltinCache", "cached_njit",
           "MAX_FILES_DEFAULT"]

MAX_FILES_DEFAULT = 2000
# A temporary file this old belongs to a killed writer (a live one exists for milliseconds).
STALE_TMP_SECONDS = 3600
# No cache file of ours comes near this; a bigger one is not read into memory.
MAX_FILE_BYTES = 1 << 28
_MAGIC = b"GLKCACHE1\n"
_TMP_SUFFIX = ".tmp"

_log = logging.getLogger(__name__)
_warned: set = set()
_warn_lock = threading.Lock()
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class CorruptEntry(Exception):
    """A cache file that cannot be used (internal: always handled as a cache miss)."""


def root_dir() -> str:
    """The cache root: ``$GLUONLITE_CACHE_DIR``, else ``~/.cache/gluonlite``."""
    return os.environ.get("GLUONLITE_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "gluonlite")


def kernel_dir() -> str:
    """Where generated kernels and their compiled code live (``<root>/kernels``)."""
    return os.path.join(root_dir(), "kernels")


def builtin_dir() -> str:
    """Where the compiled code of gluonlite's built-in kernels lives (``<root>/builtin``)."""
    return os.path.join(root_dir(), "builtin")


def max_files() -> int:
    """The most kernels kept on disk: ``$GLUONLITE_CACHE_MAX_FILES`` (default 2000; 0 turns
    the disk cache off). Raises ValueError naming the variable when it is not an integer
    >= 0."""
    v = os.environ.get("GLUONLITE_CACHE_MAX_FILES")
    if v is None or v.strip() == "":
        return MAX_FILES_DEFAULT
    try:
        n = int(v)
    except ValueError:
        n = -1
    if n < 0:
        raise ValueError(f"GLUONLITE_CACHE_MAX_FILES: expected an integer >= 0 (0 turns the "
                         f"kernel disk cache off), got {v!r}")
    return n


def _uid():
    return os.geteuid() if hasattr(os, "geteuid") else None


def check_dir(path: str):
    """Why ``path`` cannot hold cache files we load (a string), or None when it can: it must
    be a directory owned by the current user that group and others cannot write."""
    try:
        st = os.stat(path)
    except OSError as e:
        return f"cannot stat it ({e.strerror or e})"
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a directory"
    uid = _uid()
    if uid is not None and st.st_uid != uid:
        return f"it is owned by uid {st.st_uid}, not by the current user (uid {uid})"
    if st.st_mode & 0o022:
        return (f"it is writable by {'group' if st.st_mode & 0o020 else 'others'} "
                f"(mode {stat.S_IMODE(st.st_mode):o})")
    return None


def _warn_once(path: str, reason: str) -> None:
    with _warn_lock:
        if (path, reason) in _warned:
            return
        _warned.add((path, reason))
    warnings.warn(
        f"gluonlite kernel cache: not using {path!r}: {reason}. Kernels are compiled in "
        f"memory without a disk cache. Make the directory private (chmod 700) and clear it "
        f"(gluonlite.compiler.render.numba_cpu.clear_cache()), or set GLUONLITE_CACHE_DIR to "
        f"a private directory.", RuntimeWarning, stacklevel=2)


def open_dir(sub: str = "kernels"):
    """The vetted cache directory ``<root>/<sub>`` (``'kernels'`` or ``'builtin'``), created
    (mode 0o700) when missing; None when the disk cache is off or the root or the
    subdirectory fails :func:`check_dir` (one warning per directory and reason) or cannot
    be created."""
    if sub not in ("kernels", "builtin"):
        raise ValueError(f"sub: expected 'kernels' or 'builtin', got {sub!r}")
    if max_files() == 0:
        return None
    root = root_dir()
    d = os.path.join(root, sub)
    for p in (root, d):
        try:
            os.makedirs(p, mode=0o700, exist_ok=True)
        except OSError as e:
            _warn_once(p, f"cannot create it ({e.strerror or e})")
            return None
        reason = check_dir(p)
        if reason is not None:
            _warn_once(p, reason)
            return None
    return d


def read_trusted(path: str):
    """The bytes of ``path``, or None when it does not exist. Raises :class:`CorruptEntry`
    unless it is a regular file (not a symlink) owned by the current user, not writable
    by group or others, and under :data:`MAX_FILE_BYTES`."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as e:  # ELOOP for a symlink, EACCES, ...
        raise CorruptEntry(f"{path}: cannot open it ({e.strerror or e})") from e
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        uid = _uid()
        if not stat.S_ISREG(st.st_mode):
            raise CorruptEntry(f"{path}: not a regular file")
        if uid is not None and st.st_uid != uid:
            raise CorruptEntry(f"{path}: owned by uid {st.st_uid}, not the current user")
        if st.st_mode & 0o022:
            raise CorruptEntry(f"{path}: writable by group or others")
        if st.st_size > MAX_FILE_BYTES:
            raise CorruptEntry(f"{path}: {st.st_size} bytes, more than a cache file holds")
        return f.read(MAX_FILE_BYTES + 1)


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # a file system that cannot fsync a directory
    finally:
        os.close(fd)


def write_atomic(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data``: a private (0o600) ``O_EXCL`` temporary file in the same
    directory, fsynced and renamed over it (a symlink at ``path`` is replaced, never
    followed), then the directory fsynced; the temporary file is removed on failure."""
    folder, base = os.path.split(path)
    # unlike gluonlite.fileio.AtomicFile (user files: write through symlinks, keep modes)
    # a cache entry is always a fresh private file
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=_TMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def sync_source(folder: str, fname: str, text: str) -> bool:
    """Make ``folder/fname`` hold exactly ``text`` (rewritten atomically when missing or
    different, e.g. truncated, tampered with or a symlink) and mark it used now. Returns
    True when it was written (a new entry: the caller then runs :func:`evict`)."""
    path = os.path.join(folder, fname)
    data = text.encode("utf-8")
    try:
        ok = read_trusted(path) == data
    except CorruptEntry:
        ok = False
    if ok:
        with contextlib.suppress(OSError):
            os.utime(path)  # least recently used is judged by this mtime
        return False
    if os.path.lexists(path):
        # a damaged source: its compiled code is suspect too
        _log.warning("gluonlite kernel cache: %s does not match its kernel; replacing it",
                     path)
        _drop_group(folder, _group(fname))
    write_atomic(path, data)
    return True


def _group(name: str):
    """The kernel an entry name belongs to (``k_<digest>``), or None."""
    if name.startswith("k_"):
        return name.split(".", 1)[0]
    return None


def _drop_group(folder: str, group: str) -> None:
    with contextlib.suppress(OSError):
        for e in os.scandir(folder):
            if _group(e.name) == group:
                _remove(e.path)


def evict(folder: str, keep: int | None = None) -> int:
    """Remove the least recently used kernels of ``folder`` (source and compiled code) until
    at most ``keep`` (default :func:`max_files`) remain, and temporary files older than
    :data:`STALE_TMP_SECONDS`. Returns the number of kernels removed."""
    keep = max_files() if keep is None else keep
    groups: dict = {}
    stamps: dict = {}
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        try:
            if e.name.startswith(".") and e.name.endswith(_TMP_SUFFIX):
                if now - e.stat(follow_symlinks=False).st_mtime > STALE_TMP_SECONDS:
                    _remove(e.path)
                continue
            g = _group(e.name)
            if g is None:
                continue
            groups.setdefault(g, []).append(e.path)
            if e.name == g + ".py":
                stamps[g] = e.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue  # removed meanwhile by another process
    # compiled code whose source is gone counts as least recently used
    order = sorted(groups, key=lambda g: stamps.get(g, 0.0))
    n_drop = max(0, len(order) - keep)
    for g in order[:n_drop]:
        for p in groups[g]:
            _remove(p)
    return n_drop


def _is_cache_file(name: str) -> bool:
    """Whether a directory entry is one of ours: a generated kernel's file, Numba's index or
    data file, or a temporary file of an atomic write."""
    return (_group(name) is not None or name.endswith((".nbi", ".nbc"))
            or (name.startswith(".") and name.endswith(_TMP_SUFFIX)))


def clear(folder: str | None = None) -> int:
    """Remove every cache file (kernels, compiled code, leftover temporary files) from
    ``folder``, by default from both :func:`kernel_dir` and :func:`builtin_dir`, and the
    compiled code that gluonlite before this cache kept in ``kernels/__pycache__``; the
    directories themselves and files that are not ours stay. Only a directory owned by the
    current user is touched (it may be group/world-writable: clearing it is part of the
    fix). Returns the number of files removed."""
    if folder is None:
        kdir = kernel_dir()
        dirs = (kdir, os.path.join(kdir, "__pycache__"), builtin_dir())
    else:
        dirs = (folder, os.path.join(folder, "__pycache__"))
    n = 0
    for d in dirs:
        try:
            st = os.stat(d)
        except FileNotFoundError:
            continue
        uid = _uid()
        if uid is not None and st.st_uid != uid:
            raise PermissionError(f"clear_cache: {d!r} is owned by uid {st.st_uid}, not by "
                                  f"the current user; not touching it")
        for e in os.scandir(d):
            if not _is_cache_file(e.name) or e.is_dir(follow_symlinks=False):
                continue  # not a cache file: leave it
            try:
                os.unlink(e.path)
                n += 1
            except FileNotFoundError:
                pass
    return n


def _seal(payload: bytes) -> bytes:
    return _MAGIC + hashlib.sha256(payload).digest() + payload


def _unseal(blob: bytes, path: str) -> bytes:
    head = len(_MAGIC) + 32
    if len(blob) < head or not blob.startswith(_MAGIC):
        raise CorruptEntry(f"{path}: not a gluonlite cache file (empty, truncated or foreign)")
    payload = blob[head:]
    if hashlib.sha256(payload).digest() != blob[len(_MAGIC):head]:
        raise CorruptEntry(f"{path}: checksum mismatch (truncated or damaged)")
    return payload


class _Locator(_CacheLocator):
    """One vetted directory; the source stamp is a hash of the kernel's source text."""

    def __init__(self, folder, stamp, py_file):
        self._folder, self._stamp, self._py_file = folder, stamp, py_file

    def ensure_cache_path(self):
        reason = check_dir(self._folder)
        if reason is not None:
            raise OSError(f"{self._folder}: {reason}")

    def get_cache_path(self):
        return self._folder

    def get_source_stamp(self):
        return self._stamp

    def get_disambiguator(self):
        return "0"

    @classmethod
    def from_function(cls, py_func, py_file):
        return None  # never chosen by Numba's own locator search


class _Impl(CompileResultCacheImpl):
    def __init__(self, py_func, locator, fullname):
        # Numba's __init__ searches its locators (NUMBA_CACHE_DIR, __pycache__, ~/.cache):
        # skipped, the one directory is ours
        self._lineno = py_func.__code__.co_firstlineno
        self._locator = locator
        self._filename_base = self.get_filename_base(fullname, getattr(sys, "abiflags", ""))


class _SealedFile(IndexDataCacheFile):
    """Numba's index/data files, sealed with a checksum and read only when trusted."""

    def _version_bytes(self):
        return str(self._version).encode() + b"\n"

    def _load_index(self):
        try:
            blob = read_trusted(self._index_path)
            if blob is None:
                return {}
            payload = _unseal(blob, self._index_path)
            ver = self._version_bytes()
            if not payload.startswith(ver):
                return {}  # another Numba's index: unpickling it could fail; recompile
            stamp, overloads = pickle.loads(payload[len(ver):])
            if not isinstance(overloads, dict):
                raise CorruptEntry(f"{self._index_path}: malformed index")
        except Exception as e:  # noqa: BLE001 - any unusable index is a cache miss
            _log.warning("gluonlite kernel cache: dropping %s: %s", self._index_path, e)
            _remove(self._index_path)
            return {}
        return overloads if stamp == self._source_stamp else {}

    def _save_index(self, overloads):
        payload = self._version_bytes() + self._dump((self._source_stamp, overloads))
        write_atomic(self._index_path, _seal(payload))

    def _load_data(self, name):
        path = self._data_path(name)
        blob = read_trusted(path)
        if blob is None:
            raise FileNotFoundError(path)
        return pickle.loads(_unseal(blob, path))

    def _save_data(self, name, data):
        write_atomic(self._data_path(name), _seal(self._dump(data)))

    def _dump(self, obj):
        return _numba_dumps(obj)

    def save(self, key, data):
        # the data file names its key: see load
        super().save(key, (key, data))

    def load(self, key):
        overloads = self._load_index()
        name = overloads.get(key)
        if name is None:
            return None
        try:
            got = self._load_data(name)
        except FileNotFoundError:
            return None  # evicted by another process meanwhile
        except Exception as e:  # noqa: BLE001 - a damaged entry is a miss, never an error
            self.discard(name, e)
            return None
        if not (isinstance(got, tuple) and len(got) == 2 and got[0] == key):
            # data numbered by another process for another signature (two processes saving
            # at once each number their new entry from the index they read), or an older
            # format: a miss; the save after the compile rewrites it for this key
            _log.info("gluonlite kernel cache: %s holds another entry; recompiling",
                      self._data_path(name))
            return None
        return got[1]

    def discard(self, name, why) -> None:
        """Remove the index and data file ``name`` (None: only the index)."""
        _log.warning("gluonlite kernel cache: dropping %s: %s",
                     self._data_path(name) if name else self._index_path, why)
        _remove(self._index_path)
        if name:
            _remove(self._data_path(name))


class KernelCache(FunctionCache):
    """Numba's per-function cache for a kernel, confined to a vetted directory (used for
    generated kernels directly, for built-in ones through :class:`BuiltinCache`).

    ``KernelCache(py_func, folder, stamp, fullname)``: ``folder`` is from
    :func:`open_dir`, ``stamp`` a hash of the kernel's source (a changed source never
    loads stale code), ``fullname`` the entry's file-name base (``k_<digest>.kernel``).
    A load that fails in any way is a miss; a save that fails is logged and skipped.
    """

    def __init__(self, py_func, folder, stamp, fullname):
        # FunctionCache.__init__ would run Numba's locator search; set up the same state
        self._name = repr(py_func)
        self._py_func = py_func
        self._impl = _Impl(py_func, _Locator(folder, stamp, py_func.__code__.co_filename),
                           fullname)
        self._cache_path = folder
        self._cache_file = _SealedFile(cache_path=folder,
                                       filename_base=self._impl.filename_base,
                                       source_stamp=stamp)
        self.enable()

    def _index_key(self, sig, codegen):
        # Numba's key hashes the pickled closure cells, and a pickled dispatcher holds a
        # uuid drawn per process: a kernel calling another njit function (conv's im2col
        # calls valid_range) never hit the cache and gained one data file per process.
        # Cells are described by what decides the machine code instead.
        h = hashlib.sha256
        return (sig, codegen.magic_tuple(),
                (h(self._py_func.__code__.co_code).hexdigest(),
                 h(_closure_bytes(self._py_func)).hexdigest()))

    def load_overload(self, sig, target_context):
        try:
            return super().load_overload(sig, target_context)
        except Exception as e:  # noqa: BLE001 - e.g. code that no longer rebuilds
            self._cache_file.discard(None, e)
            return None

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except Exception as e:  # noqa: BLE001 - a full disk must not fail the compile
            _log.warning("gluonlite kernel cache: could not save %s in %s: %s",
                         self._impl.filename_base, self._cache_path, e)



def _closure_bytes(py_func, depth: int = 0) -> bytes:
    """A description of ``py_func``'s closure that is the same in every process: a called
    njit function by its name, bytecode and own closure; other values by Numba's pickle
    (types, numbers: deterministic)."""
    cells = py_func.__closure__
    if not cells:
        return b""
    parts = []
    for c in cells:
        v = c.cell_contents
        inner = getattr(v, "py_func", None)  # a Numba dispatcher
        if inner is not None and hasattr(inner, "__code__") and depth < 8:
            parts.append(b"njit:" + f"{inner.__module__}.{inner.__qualname__}".encode()
                         + hashlib.sha256(inner.__code__.co_code).digest()
                         + hashlib.sha256(_closure_bytes(inner, depth + 1)).digest())
        else:
            parts.append(b"value:" + hashlib.sha256(_numba_dumps(v)).digest())
    return b"".join(parts)


_stamps: dict = {}
_stamps_lock = threading.Lock()


def _file_stamp(path: str):
    """The sha256 of a module's source file (read once per process), or None when it
    cannot be read: its built-in kernels are then compiled in memory only. A changed
    file, whichever function in it changed, never loads code compiled from the old one
    (a kernel's machine code includes the njit functions of the same file it calls)."""
    with _stamps_lock:
        if path not in _stamps:
            try:
                with open(path, "rb") as f:
                    _stamps[path] = hashlib.sha256(f.read()).hexdigest()
            except OSError:
                _stamps[path] = None
        return _stamps[path]


class BuiltinCache(_Cache):
    """The disk cache of one of gluonlite's own Numba functions, in :func:`builtin_dir`.

    The directory is resolved and vetted on every load and save (so it follows
    ``$GLUONLITE_CACHE_DIR``, and a directory that became unsafe is no longer used: one
    warning, then in-memory compiles); within it the entries are :class:`KernelCache`'s
    (sealed, atomic, a damaged one is a miss that is rebuilt). Entries are stamped with a
    hash of the function's source file. Attach with :func:`cached_njit`.
    """

    def __init__(self, py_func):
        self._py_func = py_func
        self._fullname = f"{py_func.__module__}.{py_func.__qualname__}"
        self._stamp = _file_stamp(py_func.__code__.co_filename)
        self._caches: dict = {}   # folder -> KernelCache
        self._enabled = True

    def __repr__(self):
        return f"<BuiltinCache {self._fullname}>"

    @property
    def cache_path(self):
        return builtin_dir()

    def _current(self):
        """The :class:`KernelCache` of the vetted directory now, or None (no disk cache)."""
        if not self._enabled or self._stamp is None:
            return None
        folder = open_dir("builtin")
        if folder is None:
            return None
        c = self._caches.get(folder)
        if c is None:
            c = self._caches[folder] = KernelCache(self._py_func, folder, self._stamp,
                                                   self._fullname)
        return c

    def load_overload(self, sig, target_context):
        """The compiled overload for ``sig`` from disk, or None (a miss)."""
        c = self._current()
        return None if c is None else c.load_overload(sig, target_context)

    def save_overload(self, sig, data):
        """Save a freshly compiled overload (failures are logged, never raised)."""
        c = self._current()
        if c is not None:
            c.save_overload(sig, data)
            evict(c.cache_path)  # (only stale temporary files: builtin/ holds no k_ kernel)

    def enable(self):
        self._enabled = True

    def disable(self):
        self._enabled = False

    def flush(self):
        c = self._current()
        if c is not None:
            c.flush()


def cached_njit(**options):
    """``numba.njit(**options)`` whose compiled code is cached in :func:`builtin_dir`
    through a :class:`BuiltinCache`, in place of Numba's ``cache=True`` (which reads
    unsealed pickles from ``__pycache__`` / ``NUMBA_CACHE_DIR`` and fails on a damaged
    one)."""
    if "cache" in options:
        raise TypeError("cached_njit: the disk cache is always on; do not pass cache=")

    def deco(fn):
        disp = numba.njit(**options)(fn)
        disp._cache = BuiltinCache(fn)  # what enable_caching() does, with our cache
        return disp

    return deco
