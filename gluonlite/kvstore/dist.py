"""Distributed data-parallel KVStores on MPI: 'dist_sync', 'dist_device_sync' and 'horovod'.

Every process (worker) keeps a full replica of the store. A ``push`` first sums the values
of each key on this worker (as the local store does), then sums those partial results over
all workers with an MPI allreduce, so every replica gets the same total; with an optimizer
set, every worker then runs the same update on the same total, which leaves identical
weights everywhere (what MXNet's parameter servers compute, without the servers).
``init``/``broadcast`` store rank 0's value on every worker.

Communication is fused: one call's keys are packed into a few contiguous buffers per dtype
(``GLUONLITE_DIST_BUCKET_MB``, default 4 MiB each), and the buffers are reduced with
non-blocking ``Iallreduce`` while the next one is packed. Every wait is bounded by
``GLUONLITE_DIST_TIMEOUT`` seconds (default 300): when a worker died, hangs or makes a
different call, a watchdog thread of each waiting worker reports an ``MXNetError`` message
naming the call and aborts the whole MPI job (``MPI_Abort``) instead of hanging. An uncaught
exception in any worker aborts the job too, because otherwise the surviving workers would
wait in their next collective forever.

MPI comes from mpi4py (``pip install 'gluonlite[dist]'``), imported only when a
distributed store is created: importing mpi4py initialises MPI. Started without a launcher
the process is a single worker (rank 0 of 1).
"""
from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np

from .. import autograd
from ..base import MXNetError
from ..context import cpu
from ..ndarray import NDArray
from .base import KVStoreBase, register_factory
from .compression import GradientCompression
from .keys import key_value_pairs
from .kvstore import KVStore

__all__ = ["DistKVStore", "DIST_TYPES", "is_distributed", "launcher_rank", "launcher_size"]

#: Store types served by :class:`DistKVStore` ('dist' and 'dist_sync_device' are MXNet's
#: aliases of 'dist_sync' and 'dist_device_sync').
DIST_TYPES = ("dist_sync", "dist_device_sync", "dist_sync_device", "dist", "horovod")

_TIMEOUT_ENV = "GLUONLITE_DIST_TIMEOUT"
_BUCKET_ENV = "GLUONLITE_DIST_BUCKET_MB"
# environment variables MPI launchers set for every process they start (MPICH/hydra and
# PMIx, Open MPI, Slurm): the rank is known before (and without) initialising MPI
_RANK_VARS = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID")
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS")

_MPI = None
_COMM = None
_HOOK_INSTALLED = False
_WATCHDOG = None
# (deadline, store, what) of the collective being waited for, None between them
_BUSY = None


def is_distributed(kvstore):
    """Whether ``kvstore`` (a store object or a type name) communicates across processes."""
    if isinstance(kvstore, str):
        return kvstore.lower() in DIST_TYPES
    return isinstance(kvstore, DistKVStore)


def _env_int(names, default):
    for name in names:
        value = os.environ.get(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return default


def launcher_rank():
    """This process's rank as the MPI launcher announced it (0 when not launched by one).

    Read from the launcher's environment (``PMI_RANK``, ``OMPI_COMM_WORLD_RANK``, ...), so
    callbacks can leave checkpoints and progress output to rank 0 without initialising MPI.
    """
    return _env_int(_RANK_VARS, 0)


def launcher_size():
    """The number of processes the MPI launcher started (1 when not launched by one)."""
    return _env_int(_SIZE_VARS, 1)


def _positive_env(name, default):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}: expected a positive number, got {raw!r}") from None
    if not value > 0:
        raise ValueError(f"{name}: expected a positive number, got {raw!r}")
    return value


def _load_mpi(kvtype):
    global _MPI
    if _MPI is None:
        try:
            # lazy on purpose: importing mpi4py initialises MPI, which single-process
            # users of gluonlite must not pay for (or need installed)
            from mpi4py import MPI
        except ImportError as e:
            raise MXNetError(
                f"kvstore {kvtype!r} needs mpi4py and an MPI library, which are not "
                f"installed ({e}); install them with pip install 'gluonlite[dist]' (mpi4py + "
                "mpich) and start the workers with python -m gluonlite.launch -n N "
                "script.py") from None
        _MPI = MPI
    return _MPI


def _store_comm(kvtype):
    """The communicator of every distributed store: a duplicate of ``COMM_WORLD`` (made
    once, a collective), so user traffic on ``COMM_WORLD`` can never match the stores'.
    Stores share it safely because every worker makes the same calls in the same order."""
    global _COMM
    if _COMM is None:
        _COMM = _load_mpi(kvtype).COMM_WORLD.Dup()
    return _COMM


def _watchdog():
    """Abort the job when a store's collective waits past its timeout (a worker died,
    hangs or made another call): the waiting thread is blocked inside MPI, so this one
    reports the error and calls ``MPI_Abort``, which ends every worker."""
    while True:
        time.sleep(0.25)
        busy = _BUSY
        if busy is None or time.monotonic() < busy[0]:
            continue
        _, store, what = busy
        sys.stderr.write(
            f"gluonlite.kvstore: MXNetError: {store._type} rank {store.rank} of "
            f"{store.num_workers}: {what} did not complete within {store._timeout:g} s "
            f"({_TIMEOUT_ENV}); another worker died, hangs, or made a different kvstore "
            "call (every worker must make the same calls in the same order); aborting all "
            "workers (MPI_Abort)\n")
        sys.stderr.flush()
        _COMM.Abort(1)


def _start_watchdog():
    global _WATCHDOG
    if _WATCHDOG is None and _COMM.Get_size() > 1:
        _WATCHDOG = threading.Thread(target=_watchdog, name="gluonlite-kvstore-watchdog",
                                     daemon=True)
        _WATCHDOG.start()


def _install_abort_hook(comm):
    """Make an uncaught exception end the whole job: without it the dying worker waits in
    ``MPI_Finalize`` and the others in their next collective, forever."""
    global _HOOK_INSTALLED
    if _HOOK_INSTALLED or comm.Get_size() == 1:
        return
    previous = sys.excepthook

    def hook(etype, value, tb):
        try:
            previous(etype, value, tb)
            sys.stderr.write(f"gluonlite.kvstore: uncaught {etype.__name__} on rank "
                             f"{comm.Get_rank()} of {comm.Get_size()}; aborting all workers "
                             "(MPI_Abort)\n")
            sys.stderr.flush()
        finally:
            comm.Abort(1)

    sys.excepthook = hook
    _HOOK_INSTALLED = True


def _host(arr):
    """The NumPy data of ``arr`` (a view on the CPU, a copy from a GPU)."""
    d = arr._data
    return d if type(d) is np.ndarray else d.get()


class DistKVStore(KVStore):
    """A KVStore whose values are summed over all MPI processes (MXNet's 'dist_sync').

    Create it with ``mx.kv.create('dist_sync')`` (or 'dist_device_sync', 'horovod') in
    every worker; every worker must then make the same store calls in the same order.

    - ``rank``/``num_workers`` come from ``MPI.COMM_WORLD``.
    - ``init``/``broadcast`` store (and hand out) rank 0's value.
    - ``push`` sums the values over this worker's devices and then over all workers; the
      store takes the total, or runs its optimizer on it ('dist_sync' and
      'dist_device_sync' can run optimizers; 'horovod', like MXNet's Horovod store, cannot).
    - ``pull`` reads the local replica (no communication).
    - ``barrier()`` (MXNet's ``_barrier``) waits for every worker.

    Gradients are summed, not averaged: pass the global batch size (per-worker batch x
    ``num_workers``) to ``Trainer.step`` (``Module.fit`` does this itself, as MXNet).
    """

    def __init__(self, kvtype="dist_sync"):
        if not isinstance(kvtype, str):
            raise TypeError(f"kvtype: expected a str, got {type(kvtype).__name__}")
        kvtype = kvtype.lower()
        if kvtype not in DIST_TYPES:
            raise ValueError(f"kvtype: DistKVStore implements {', '.join(map(repr, DIST_TYPES))}"
                             f", got {kvtype!r}")
        self._comm = _store_comm(kvtype)
        self._timeout = _positive_env(_TIMEOUT_ENV, 300.0)
        self._bucket_bytes = int(_positive_env(_BUCKET_ENV, 4.0) * (1 << 20))
        super().__init__("local")
        # the aliases report their canonical names
        self._type = {"dist": "dist_sync", "dist_sync_device": "dist_device_sync"}.get(
            kvtype, kvtype)
        _install_abort_hook(self._comm)
        _start_watchdog()

    def __repr__(self):
        return (f"<DistKVStore type={self._type!r} rank={self.rank} "
                f"num_workers={self.num_workers} keys={len(self._store)}>")

    # --- communication ---------------------------------------------------------------------
    def _wait(self, req, what):
        """Complete ``req``; the watchdog aborts the job if that takes over the timeout."""
        global _BUSY
        _BUSY = (time.monotonic() + self._timeout, self, what)
        try:
            # a blocking wait: polling Test() from Python is ~30x slower (MPICH then
            # progresses the collective only between polls)
            req.Wait()
        finally:
            _BUSY = None

    def _fused(self, items, op, what):
        """Apply ``op`` ('sum' or 'bcast') to the host arrays of ``items`` ``[(key,
        ndarray)]``; returns ``{key: result ndarray}``.

        Arrays are packed into contiguous buckets per dtype; each bucket's non-blocking
        collective runs while the next bucket is packed.
        """
        results = {}
        if self.num_workers == 1:
            for k, a in items:
                results[k] = a
            return results
        buckets = []
        by_dtype = {}
        for k, a in items:
            by_dtype.setdefault(a.dtype, []).append((k, a))
        for dtype, group in by_dtype.items():
            current, nbytes = [], 0
            for k, a in group:
                if current and nbytes + a.nbytes > self._bucket_bytes:
                    buckets.append((dtype, current))
                    current, nbytes = [], 0
                current.append((k, a))
                nbytes += a.nbytes
            if current:
                buckets.append((dtype, current))
        pending = []
        for dtype, bucket in buckets:
            size = sum(a.size for _, a in bucket)
            buf = np.empty(size, dtype=dtype)
            off = 0
            for _, a in bucket:
                buf[off:off + a.size] = a.reshape(-1)
                off += a.size
            if op == "sum":
                req = self._comm.Iallreduce(_MPI.IN_PLACE, buf, op=_MPI.SUM)
            else:
                req = self._comm.Ibcast(buf, root=0)
            pending.append((req, buf, bucket))
        for req, buf, bucket in pending:
            keys = [k for k, _ in bucket]
            self._wait(req, f"{what} of keys {keys} ({buf.nbytes} bytes)")
            off = 0
            for k, a in bucket:
                results[k] = buf[off:off + a.size].reshape(a.shape)
                off += a.size
        return results

    def allreduce(self, value):
        """The sum of ``value`` (a NumPy array or an NDArray) over all workers, as a new
        array of the same kind (a collective: every worker must call it)."""
        if isinstance(value, NDArray):
            total = self._fused([(0, np.array(_host(value)))], "sum", "allreduce")[0]
            return NDArray(value.context.xp.asarray(total) if value.context.is_gpu
                           else np.array(total), value.context)
        if isinstance(value, np.ndarray):
            return np.array(self._fused([(0, np.array(value))], "sum", "allreduce")[0])
        raise TypeError(f"allreduce: expected a NumPy array or an NDArray, got "
                        f"{type(value).__name__}")

    # --- the store -------------------------------------------------------------------------
    def init(self, key, value):
        """Initialise keys with rank 0's values (each key exactly once, on every worker).

        Parameters
        ----------
        key : int, str, or list of int or str
        value : NDArray, or list of NDArray (one per key); only rank 0's are kept
        """
        pairs, use_str = key_value_pairs(key, value, "value")
        self._check_key_kind(use_str)
        self._check_new_keys(pairs)
        with autograd.pause():
            local = [(k, np.array(_host(v))) for k, v in pairs]
            rank0 = self._fused(local, "bcast", "init/broadcast")
            self._str_keys = use_str
            for k, v in pairs:
                ctx = v.context if "device" in self._type else cpu(0)
                stored = v.copyto(ctx)
                NDArray(rank0[k], cpu(0)).copyto(stored)
                self._store[k] = stored

    def _do_push(self, groups):
        with autograd.pause():
            merged = {}
            for k, vals in groups:
                stored = self._store[k]
                merged[k] = self._merge(k, vals, stored.context)
            totals = self._fused([(k, _host(m)) for k, m in merged.items()], "sum", "push")
            for k, _ in groups:
                stored = self._store[k]
                if (self._updater is None and self.num_workers > 1
                        and type(stored._data) is np.ndarray
                        and totals[k].dtype == stored._data.dtype):
                    # MXNet's default: the store takes the sum; with several workers the
                    # sum is a fresh buffer only the store sees, so it is adopted, not copied
                    stored._data = totals[k]
                    continue
                total = NDArray(totals[k], cpu(0))
                if self._updater is None:
                    total.copyto(stored)
                else:
                    total = total.as_in_context(stored.context)
                    self._updater(k.encode() if isinstance(k, str) else k, total, stored)

    def set_gradient_compression(self, compression_params):
        """Quantise each worker's pushed values with MXNet's 2-bit compression (with error
        feedback) before they are summed over workers, as MXNet's dist stores do; the
        quantised values travel as full floats. 'horovod' refuses (as MXNet's does)."""
        if self._type == "horovod":
            raise MXNetError("Gradient compression is not supported for this type of kvstore "
                             "('horovod'; use 'dist_sync' or 'dist_device_sync')")
        self._compression = GradientCompression(compression_params)

    def is_capable(self, capability):
        """``'optimizer'``: True for 'dist_sync'/'dist_device_sync', False for 'horovod'
        (as MXNet's Horovod store); other names raise ValueError."""
        if not isinstance(capability, str):
            raise TypeError(f"capability: expected a str, got {type(capability).__name__}")
        if capability.lower() == KVStoreBase.OPTIMIZER:
            return self._type != "horovod"
        raise ValueError(f"Unknown capability: {capability}")

    def set_optimizer(self, optimizer):
        """Run ``optimizer`` on every worker's replica (each push updates the weights)."""
        if self._type == "horovod":
            raise MXNetError("kvstore 'horovod' cannot run an optimizer "
                             "(is_capable('optimizer') is False); use update_on_kvstore=False")
        super().set_optimizer(optimizer)

    # --- cluster ---------------------------------------------------------------------------
    def barrier(self):
        """Wait until every worker reaches this call (bounded by the timeout)."""
        self._wait(self._comm.Ibarrier(), "barrier")

    _barrier = barrier

    @property
    def rank(self):
        """This worker's rank in ``MPI.COMM_WORLD``."""
        return self._comm.Get_rank()

    @property
    def num_workers(self):
        """The number of workers (``MPI.COMM_WORLD``'s size)."""
        return self._comm.Get_size()


register_factory(DIST_TYPES, DistKVStore)
