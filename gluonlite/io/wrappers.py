"""Iterators wrapping other iterators: ``ResizeIter`` and ``PrefetchingIter`` (MXNet 1.9.1's
``mx.io``)."""
from __future__ import annotations

import numbers
import threading
import weakref

from .base import DataIter
from .desc import DataBatch, DataDesc

__all__ = ["ResizeIter", "PrefetchingIter"]


class ResizeIter(DataIter):
    """Make ``data_iter`` last exactly ``size`` batches per epoch (MXNet's
    ``io.ResizeIter``).

    When the inner iterator runs out it is reset and iteration continues, so an epoch may
    span several of its epochs (or stop in the middle of one). ``reset()`` resets the inner
    iterator too unless ``reset_internal=False``, in which case the next epoch continues
    where this one stopped.
    """

    def __init__(self, data_iter, size, reset_internal=True):
        super().__init__()
        if not isinstance(data_iter, DataIter) and not hasattr(data_iter, "next"):
            raise TypeError(f"ResizeIter: data_iter must be a DataIter, got "
                            f"{type(data_iter).__name__}")
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 0:
            raise ValueError(f"ResizeIter: size must be a non-negative int (batches per "
                             f"epoch), got {size!r}")
        self.data_iter = data_iter
        self.size = int(size)
        self.reset_internal = reset_internal
        self.cur = 0
        self.current_batch = None
        self.provide_data = data_iter.provide_data
        self.provide_label = data_iter.provide_label
        self.batch_size = data_iter.batch_size
        if hasattr(data_iter, "default_bucket_key"):
            self.default_bucket_key = data_iter.default_bucket_key

    def reset(self):
        """Start a new epoch of ``size`` batches (resetting the inner iterator if
        ``reset_internal``)."""
        self.cur = 0
        if self.reset_internal:
            self.data_iter.reset()

    def iter_next(self):
        if self.cur == self.size:
            return False
        try:
            self.current_batch = self.data_iter.next()
        except StopIteration:
            self.data_iter.reset()
            self.current_batch = self.data_iter.next()
        self.cur += 1
        return True

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad


class _Slot:
    """One inner iterator's hand-over between its prefetch thread and the consumer."""

    __slots__ = ("it", "ready", "taken", "batch", "error")

    def __init__(self, it):
        self.it = it
        self.ready = threading.Event()   # a batch (or the end, or an error) is waiting
        self.taken = threading.Event()   # the consumer wants the next one
        self.taken.set()
        self.batch = None
        self.error = None


def _prefetch_loop(slot, running):
    # The thread holds only its slot, never the PrefetchingIter, so that dropping the
    # iterator lets it be collected and its finalizer stop the threads.
    while True:
        slot.taken.wait()
        if not running[0]:
            break
        try:
            slot.batch = slot.it.next()
            slot.error = None
        except StopIteration:
            slot.batch = None
            slot.error = None
        except BaseException as e:  # noqa: BLE001 - handed to the consumer thread
            slot.batch = None
            slot.error = e
        slot.taken.clear()
        slot.ready.set()


def _stop(slots, threads, running):
    running[0] = False
    for s in slots:
        s.taken.set()
    for t in threads:
        if t is not threading.current_thread():
            t.join()


class PrefetchingIter(DataIter):
    """Fetch the next batch of one or several iterators in background threads (MXNet's
    ``io.PrefetchingIter``).

    Each inner iterator gets a thread that reads one batch ahead. The batches of all
    iterators are combined into one :class:`DataBatch` (data and labels concatenated in
    order; ``pad`` and ``index`` from the first). ``rename_data`` / ``rename_label`` are
    lists with one ``{old_name: new_name}`` dict per iterator. An exception raised by an
    inner iterator is re-raised by ``next()`` in the consumer. ``close()`` (also run when the
    iterator is garbage-collected) stops the threads.
    """

    def __init__(self, iters, rename_data=None, rename_label=None):
        super().__init__()
        if isinstance(iters, tuple):
            iters = list(iters)
        if not isinstance(iters, list):
            iters = [iters]
        if not iters:
            raise ValueError("PrefetchingIter: iters must hold at least one DataIter")
        for name, ren in (("rename_data", rename_data), ("rename_label", rename_label)):
            if ren is not None and (not isinstance(ren, (list, tuple)) or len(ren) != len(iters)
                                    or not all(isinstance(r, dict) for r in ren)):
                raise ValueError(f"PrefetchingIter: {name} must be a list of {len(iters)} "
                                 f"dicts (one per iterator), got {ren!r}")
        self.n_iter = len(iters)
        self.iters = iters
        self.rename_data = rename_data
        self.rename_label = rename_label
        self.batch_size = self.provide_data[0][1][0]
        self.current_batch = None
        self._slots = [_Slot(it) for it in iters]
        self._running = [True]
        self._threads = [threading.Thread(target=_prefetch_loop, args=(s, self._running),
                                          daemon=True, name=f"PrefetchingIter-{i}")
                         for i, s in enumerate(self._slots)]
        for t in self._threads:
            t.start()
        self._finalizer = weakref.finalize(self, _stop, self._slots, self._threads,
                                           self._running)

    def close(self):
        """Stop the prefetch threads (the iterator cannot be used afterwards)."""
        self._finalizer()

    @staticmethod
    def _renamed(descs, ren, what):
        out = []
        for x in descs:
            name = x.name if isinstance(x, DataDesc) else x[0]
            if name not in ren:
                raise KeyError(f"PrefetchingIter: {what} has no new name for '{name}'")
            if isinstance(x, DataDesc):
                out.append(DataDesc(ren[name], x.shape, x.dtype))
            else:
                out.append(DataDesc(ren[name], *x[1:]))
        return out

    @property
    def provide_data(self):
        """The inner iterators' data descriptions, concatenated (and renamed)."""
        if self.rename_data is None:
            return sum([list(i.provide_data) for i in self.iters], [])
        return sum([self._renamed(i.provide_data, r, "rename_data")
                    for r, i in zip(self.rename_data, self.iters)], [])

    @property
    def provide_label(self):
        """The inner iterators' label descriptions, concatenated (and renamed)."""
        if self.rename_label is None:
            return sum([list(i.provide_label) for i in self.iters], [])
        return sum([self._renamed(i.provide_label, r, "rename_label")
                    for r, i in zip(self.rename_label, self.iters)], [])

    def _check_open(self):
        if not self._running[0]:
            raise RuntimeError("PrefetchingIter: the iterator is closed")

    def reset(self):
        """Reset every inner iterator and start prefetching the new epoch."""
        self._check_open()
        for s in self._slots:
            s.ready.wait()
        for s in self._slots:
            s.it.reset()
        for s in self._slots:
            s.ready.clear()
            s.error = None
        for s in self._slots:
            s.taken.set()

    def iter_next(self):
        self._check_open()
        for s in self._slots:
            s.ready.wait()
        errors = [s.error for s in self._slots if s.error is not None]
        if errors:
            # hand the failure over and let the threads try the following batch
            for s in self._slots:
                s.error = None
                s.ready.clear()
                s.taken.set()
            raise errors[0]
        batches = [s.batch for s in self._slots]
        if batches[0] is None:
            if any(b is not None for b in batches):
                raise AssertionError("Number of entry mismatches between iterators")
            return False
        for b in batches:
            if b is None or b.pad != batches[0].pad:
                raise AssertionError("Number of entry mismatches between iterators")
        self.current_batch = DataBatch(sum([list(b.data) for b in batches], []),
                                       sum([list(b.label or []) for b in batches], []),
                                       batches[0].pad, batches[0].index,
                                       provide_data=self.provide_data,
                                       provide_label=self.provide_label)
        for s in self._slots:
            s.ready.clear()
        for s in self._slots:
            s.taken.set()
        return True

    def next(self):
        if self.iter_next():
            return self.current_batch
        raise StopIteration

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad
