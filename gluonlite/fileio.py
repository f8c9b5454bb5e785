"""Atomic replacement of user-named files: every save in gluonlite goes through here.

A save never opens its target: the content goes to a new temporary file in the same
directory (created with ``O_EXCL`` under an unpredictable name, so nothing already there
is followed or reused), is flushed and fsynced, takes over the old file's permission bits
and is renamed over the target with ``os.replace``; the directory is then fsynced so the
rename survives a power cut. Whatever fails before the rename (an exception while the
content is produced, a full disk, Ctrl-C) removes the temporary file and leaves the old
file byte-identical; a process killed mid-save leaves the old file intact plus a temporary
file ``.<name>.<pid>.<hex>.tmp``, which the next save of the same target removes once
process ``pid`` is gone.

A target that is a symlink is written through to the file it points to, as ``open()``
would; the link itself stays.
"""
from __future__ import annotations

import errno
import os
import re
import secrets
import stat

__all__ = ["atomic_write", "AtomicFile", "remove_stale_temps", "check_fname"]

# Temporary names look like ``.params.4242.9f3c0a1b.tmp``: hidden, and carrying the writer's
# pid so a later save can tell a dead writer's leftover from a live writer's file.
_TMP_FMT = ".{base}.{pid}.{rand}.tmp"
_TMP_HEX_CHARS = 8  # 32 random bits: a name cannot be guessed ahead of the save
_OPEN_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
               | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))


def _os_error(e: OSError, fn: str, fname) -> OSError:
    """``e`` re-raised naming the target (not the temporary file) and the operation; the
    errno is kept, so the subclass (FileNotFoundError, PermissionError, ...) is too."""
    reason = e.strerror or str(e)
    if e.errno is None:
        return OSError(f"{fn}: cannot write {fname!r}: {reason}")
    return OSError(e.errno, f"{fn}: cannot write {fname!r}: {reason}")


def check_fname(fname, fn: str) -> str:
    """``fname`` as a ``str`` (``os.PathLike`` accepted); TypeError/ValueError naming ``fn``
    for anything else or an empty name."""
    if isinstance(fname, os.PathLike):
        fname = os.fspath(fname)
    if not isinstance(fname, str):
        raise TypeError(f"{fn}: fname: expected a file name (str or os.PathLike), got "
                        f"{type(fname).__name__}")
    if not fname:
        raise ValueError(f"{fn}: fname: the file name is empty")
    return fname


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a process of another user counts as alive)."""
    if pid <= 0 or os.name == "nt":
        # not a real pid; or Windows, where os.kill(pid, 0) sends Ctrl-C instead of
        # probing: never treat the file as a dead writer's
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True
    return True


def remove_stale_temps(target: str) -> list:
    """Remove the temporary files that saves of ``target`` left behind when their process
    was killed (``.<name>.<pid>.<hex>.tmp`` beside it whose ``pid`` no longer runs); those
    of live processes, this one included, are kept. Returns the paths removed."""
    folder, base = os.path.split(os.path.abspath(target))
    pattern = re.compile(r"\." + re.escape(base) + r"\.(\d{1,10})\.[0-9a-f]{8,32}\.tmp\Z")
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    me = os.getpid()
    for entry in entries:
        m = pattern.match(entry.name)
        if m is None:
            continue
        pid = int(m.group(1))
        if pid == me or _pid_alive(pid):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue  # only plain files are ours; leave anything else alone
            os.unlink(entry.path)
            removed.append(entry.path)
        except OSError:
            pass  # removed meanwhile by another saver, or not ours to remove
    return removed


def _fsync_dir(folder: str) -> None:
    """Make a rename in ``folder`` durable; file systems that cannot fsync a directory
    (and Windows, which has no directory handles) are skipped."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicFile:
    """A binary file that replaces ``fname`` only when :meth:`commit` is called.

    Used as a context manager it commits when the block ends normally and discards the
    temporary file when it raises (any exception, KeyboardInterrupt included)::

        with AtomicFile(path, fn="Trainer.save_states") as f:
            f.write(data)

    OS errors are re-raised as ``OSError`` of the same errno naming ``fn`` and ``fname``.

    Parameters
    ----------
    fname : str or os.PathLike
        The file to replace (created if missing); a symlink is written through.
    fn : str
        The operation's name for error messages (``"Symbol.save"``).
    """

    def __init__(self, fname, fn: str = "save"):
        self.fname = fname = check_fname(fname, fn)
        self.fn = fn
        # Write through a symlink to its target, as a plain open() would.
        target = os.path.realpath(fname) if os.path.islink(fname) else fname
        if os.path.isdir(target):
            raise IsADirectoryError(errno.EISDIR,
                                    f"{fn}: cannot write {fname!r}: it is a directory")
        self.target = os.path.abspath(target)
        folder, base = os.path.split(self.target)
        self.folder = folder
        remove_stale_temps(self.target)
        for _ in range(16):  # a clash of 32 random bits is not worth failing a save over
            tmp = os.path.join(folder, _TMP_FMT.format(
                base=base, pid=os.getpid(), rand=secrets.token_hex(_TMP_HEX_CHARS // 2)))
            try:
                # 0o666 lets the umask decide the mode, as for any newly created file.
                fd = os.open(tmp, _OPEN_FLAGS, 0o666)
                break
            except FileExistsError:
                continue
            except OSError as e:
                raise _os_error(e, fn, fname) from e
        else:
            raise FileExistsError(errno.EEXIST, f"{fn}: cannot write {fname!r}: could not "
                                  f"create a unique temporary file in {folder!r}")
        self.tmp = tmp
        self.file = os.fdopen(fd, "wb")
        self._done = False

    def write(self, data) -> int:
        """Write a bytes-like object (``str`` is written as UTF-8)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        try:
            return self.file.write(data)
        except OSError as e:
            raise _os_error(e, self.fn, self.fname) from e

    def commit(self) -> None:
        """Flush, fsync and rename the content over the target, then fsync the folder.
        On failure the temporary file is removed and the target is unchanged."""
        if self._done:
            raise ValueError(f"{self.fn}: {self.fname!r} was already committed or discarded")
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            try:  # an overwritten file keeps its permissions
                os.chmod(self.tmp, stat.S_IMODE(os.stat(self.target).st_mode))
            except OSError:
                pass  # a new file (or one we cannot stat) keeps the umask's mode
            os.replace(self.tmp, self.target)
        except BaseException as e:
            self.discard()
            if isinstance(e, OSError):
                raise _os_error(e, self.fn, self.fname) from e
            raise
        self._done = True
        _fsync_dir(self.folder)

    def discard(self) -> None:
        """Drop the temporary file; the target is left as it was."""
        if self._done:
            return
        self._done = True
        try:
            self.file.close()
        except OSError:
            pass  # a failed flush of content we are throwing away
        try:
            os.unlink(self.tmp)
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.discard()
        return False

    def __del__(self):
        # an AtomicFile dropped without commit (e.g. by an error in the caller) leaves no
        # temporary file behind
        if not getattr(self, "_done", True):
            self.discard()


def atomic_write(fname, data, fn: str = "save") -> None:
    """Replace ``fname`` with ``data`` atomically (see the module docstring).

    Parameters
    ----------
    fname : str or os.PathLike
        The target file; a symlink is written through to its target.
    data : bytes-like, str, or iterable of bytes-like/str
        The content; ``str`` is written as UTF-8. An iterable (e.g. a generator) is
        consumed while writing: if it raises, the target is left unchanged.
    fn : str
        The operation's name, used in error messages.

    Raises ``OSError`` (with the errno of the failure, e.g. ``ENOSPC``) naming ``fn`` and
    ``fname`` when the file cannot be written; the old content is then untouched.
    """
    if isinstance(data, (bytes, bytearray, memoryview, str)):
        data = (data,)
    with AtomicFile(fname, fn) as f:
        for chunk in data:
            f.write(chunk)
