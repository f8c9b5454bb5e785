"""MXNet's single-machine KVStore ('local', 'device', ...) in process.

Semantics follow MXNet 1.9.1's ``KVStoreLocal``: ``init`` stores a copy of a value;
``push`` sums the values pushed for a key (one per device) and, without an updater,
*assigns* the sum to the stored value (MXNet's default), or with one calls
``updater(key, merged, stored)``; ``pull`` copies the stored value into every output.
'local' types keep stored values on ``cpu(0)`` (MXNet keeps them in pinned CPU memory);
'device' types keep them on the device of the value given at ``init``. Everything runs
synchronously, so ``priority`` only orders nothing and is validated.
"""
from __future__ import annotations

import os

from .. import autograd
from .. import optimizer as opt
from ..base import MXNetError
from ..context import cpu
from ..fileio import atomic_write
from .base import KVStoreBase, LOCAL_TYPES, check_type
from .compression import GradientCompression
from .keys import key_value_pairs, group_pairs

__all__ = ["KVStore"]

_CPU_TYPES = ("local", "local_update_cpu", "local_allreduce_cpu")


def _check_priority(priority):
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise TypeError(f"priority: expected an int, got {type(priority).__name__}")


def _check_fname(fname, fn):
    if not isinstance(fname, (str, os.PathLike)):
        raise TypeError(f"{fn}: fname must be a file name, got {type(fname).__name__}")


class KVStore(KVStoreBase):
    """A key-value store for synchronising values over several devices of one machine.

    Create one with :func:`mx.kv.create <gluonlite.kvstore.create>`. Keys are ``int`` or
    ``str`` (one kind per store); each must be ``init``-ed once before ``push``/``pull``.

    Parameters
    ----------
    kvtype : str, default 'local'
        One of MXNet's single-machine types: 'local', 'device', 'local_update_cpu',
        'local_allreduce_cpu', 'local_allreduce_device'.
    """

    def __init__(self, kvtype="local"):
        kvtype = check_type(kvtype)
        if kvtype not in LOCAL_TYPES:
            raise ValueError(f"kvtype: KVStore implements {', '.join(map(repr, LOCAL_TYPES))}; "
                             f"create {kvtype!r} with mx.kv.create")
        self._type = kvtype
        self._store = {}
        self._str_keys = None
        self._updater = None
        self._compression = None

    def __repr__(self):
        return f"<KVStore type={self._type!r} keys={len(self._store)}>"

    # --- helpers ----------------------------------------------------------------------------
    def _check_key_kind(self, use_str):
        if self._str_keys is not None and self._str_keys != use_str:
            raise MXNetError(f"Check failed: key_type_ == key_type ({int(use_str)} vs. "
                             f"{int(self._str_keys)}) : Mixed key types are not allowed (this "
                             f"store uses {'str' if self._str_keys else 'int'} keys)")

    def _stored(self, key):
        try:
            return self._store[key]
        except KeyError:
            raise MXNetError(f"key {key!r} has not been inited; call kv.init(key, value) "
                             "before push or pull") from None

    @staticmethod
    def _check_shape(key, src_shape, dst_shape):
        if src_shape != dst_shape:
            raise MXNetError(f"operands shape mismatch for key {key!r}: from.shape = "
                             f"{src_shape} to.shape = {dst_shape}")

    def _push_groups(self, key, value, priority):
        """Validated ``[(key, [arrays])]`` of a push (nothing changed yet)."""
        pairs, use_str = key_value_pairs(key, value, "value")
        _check_priority(priority)
        self._check_key_kind(use_str)
        groups = group_pairs(pairs)
        for k, vals in groups:
            stored = self._stored(k)
            for v in vals:
                self._check_shape(k, v.shape, stored.shape)
        return groups

    def _pull_pairs(self, key, out, priority, fn="pull"):
        """Validated ``[(key, out array)]`` of a pull (nothing changed yet)."""
        if out is None:
            raise AssertionError(f"{fn}: out must be given: the NDArray (or list of NDArrays) "
                                 "to write the stored value into")
        pairs, use_str = key_value_pairs(key, out, "out")
        _check_priority(priority)
        self._check_key_kind(use_str)
        for k, o in pairs:
            self._check_shape(k, self._stored(k).shape, o.shape)
        return pairs

    def _merge(self, key, values, ctx):
        """The sum of ``values`` on ``ctx`` (2-bit quantised first when compression is
        set). A single value already on ``ctx`` is passed on as is, as MXNet does."""
        if self._compression is not None:
            values = [self._compression.quantize(key, i, v) for i, v in enumerate(values)]
        if len(values) == 1 and values[0].context is ctx:
            return values[0]
        total = values[0].copyto(ctx)
        for v in values[1:]:
            total += v.as_in_context(ctx)
        return total

    def _do_push(self, groups):
        with autograd.pause():
            for k, vals in groups:
                stored = self._store[k]
                merged = self._merge(k, vals, stored.context)
                if self._updater is None:
                    merged.copyto(stored)  # MXNet's default: the store takes the sum
                else:
                    # MXNet hands string keys to updaters as bytes (a C string)
                    self._updater(k.encode() if isinstance(k, str) else k, merged, stored)

    def _do_pull(self, pairs):
        with autograd.pause():
            for k, o in pairs:
                self._store[k].copyto(o)

    # --- the store ------------------------------------------------------------------------
    def _check_new_keys(self, pairs):
        """MXNet's error for a key that is initialised twice (in the store or in ``pairs``)."""
        seen = set()
        for k, _ in pairs:
            if k in self._store or k in seen:
                raise MXNetError(f"duplicate init of key {k}. Please double check if you "
                                 "called kv.init or kv.broadcast with this key multiple times")
            seen.add(k)

    def init(self, key, value):
        """Initialise one key or a list of keys with their values (each key exactly once).

        Parameters
        ----------
        key : int, str, or list of int or str
        value : NDArray, or list of NDArray (one per key)
        """
        pairs, use_str = key_value_pairs(key, value, "value")
        self._check_key_kind(use_str)
        self._check_new_keys(pairs)
        self._str_keys = use_str
        with autograd.pause():
            for k, v in pairs:
                ctx = cpu(0) if self._type in _CPU_TYPES else v.context
                self._store[k] = v.copyto(ctx)

    def push(self, key, value, priority=0):
        """Push values: those of one key (e.g. one per device) are summed; the store then
        takes the sum, or with an updater/optimizer ``updater(key, sum, stored)`` runs.

        Parameters
        ----------
        key : int, str, or list of int or str
        value : NDArray, list of NDArray, or list of (NDArray or list of NDArray) per key
        priority : int, default 0
            Accepted for MXNet compatibility; operations run in call order.
        """
        self._do_push(self._push_groups(key, value, priority))

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        """Copy the stored value of each key into ``out`` (every array of a list).

        Parameters
        ----------
        key : int, str, or list of int or str
        out : NDArray, list of NDArray, or list of (NDArray or list of NDArray) per key
        priority : int, default 0
        ignore_sparse : bool, default True
            MXNet skips row-sparse outputs when True; gluonlite arrays are all dense, so
            every output is written either way.
        """
        if not isinstance(ignore_sparse, bool):
            raise TypeError(f"ignore_sparse: expected a bool, got "
                            f"{type(ignore_sparse).__name__}")
        self._do_pull(self._pull_pairs(key, out, priority))

    def pushpull(self, key, value, out=None, priority=0):
        """``push(key, value)`` then ``pull(key, out)``; with ``out=None`` the result is
        written back into ``value``."""
        pulls = self._pull_pairs(key, value if out is None else out, priority, "pushpull")
        groups = self._push_groups(key, value, priority)
        self._do_push(groups)
        self._do_pull(pulls)

    def broadcast(self, key, value, out, priority=0):
        """``init(key, value)`` then ``pull(key, out)``: every array of ``out`` gets
        ``value``. Like MXNet's store, a key can be broadcast (or init-ed) only once."""
        vpairs, _ = key_value_pairs(key, value, "value")
        opairs, use_str = key_value_pairs(key, out, "out")
        _check_priority(priority)
        self._check_key_kind(use_str)
        shapes = {k: v.shape for k, v in vpairs}
        for k, o in opairs:
            self._check_shape(k, shapes[k], o.shape)
        self.init(key, value)
        self._do_pull(opairs)

    def _assign(self, key, value):
        """Overwrite the stored value of an initialised key, running no updater (the
        Trainer re-syncs its store this way after ``Parameter.set_data``)."""
        stored = self._stored(key)
        self._check_shape(key, value.shape, stored.shape)
        with autograd.pause():
            value.copyto(stored)

    # --- updates -----------------------------------------------------------------------------
    def set_optimizer(self, optimizer):
        """Run ``optimizer`` on the store: every push calls
        ``mx.optimizer.get_updater(optimizer)(key, merged_grad, stored_weight)``."""
        if not isinstance(optimizer, opt.Optimizer):
            raise TypeError(f"optimizer: expected an mx.optimizer.Optimizer, got "
                            f"{type(optimizer).__name__}")
        self._set_updater(opt.get_updater(optimizer))

    def _set_updater(self, updater):
        """Set the push updater ``updater(key, input, stored)`` (it must update ``stored``
        in place; string keys arrive as bytes, as from MXNet's C API)."""
        if not callable(updater):
            raise TypeError(f"updater: expected a callable updater(key, input, stored), got "
                            f"{type(updater).__name__}")
        self._updater = updater

    def is_capable(self, capability):
        """True for ``KVStoreBase.OPTIMIZER`` (the store can run the optimizer); other
        capability names raise ValueError."""
        if not isinstance(capability, str):
            raise TypeError(f"capability: expected a str, got {type(capability).__name__}")
        if capability.lower() == KVStoreBase.OPTIMIZER:
            return True
        raise ValueError(f"Unknown capability: {capability}")

    def set_gradient_compression(self, compression_params):
        """Quantise every pushed value with MXNet's 2-bit compression (with error feedback).

        Supported by the 'device' types only, as in MXNet ('local' raises).

        Parameters
        ----------
        compression_params : dict
            ``{'type': '2bit', 'threshold': 0.5}`` (``threshold`` > 0, default 0.5).
        """
        if "device" not in self._type:
            raise MXNetError("Gradient compression is not supported for this type of kvstore "
                             f"({self._type!r}; use 'device')")
        self._compression = GradientCompression(compression_params)

    def _check_updater_states(self, fn):
        if self._updater is None:
            raise AssertionError(f"{fn}: this KVStore has no optimizer; call set_optimizer "
                                 "first")
        if not hasattr(self._updater, "get_states"):
            raise TypeError(f"{fn}: the updater set with _set_updater is a plain function "
                            "without optimizer states")

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Write the optimizer states (pickled in MXNet's format; with ``dump_optimizer``
        the optimizer too) to ``fname``, replacing it atomically (a failed save leaves
        the previous file intact)."""
        _check_fname(fname, "save_optimizer_states")
        self._check_updater_states("save_optimizer_states")
        # atomic: a failure leaves the previous file as it was
        atomic_write(fname, self._updater.get_states(dump_optimizer),
                     fn="save_optimizer_states")

    def load_optimizer_states(self, fname, allow_pickle=False):
        """Restore the states written by :meth:`save_optimizer_states` (gluonlite's or
        MXNet's); a dumped optimizer replaces the current one.

        Read safely by default: only the classes state files contain are unpickled, and
        the state of every initialised key must have the shape and dtype the optimizer
        needs for the stored value (other keys are checked at their first push). Bad
        content raises :class:`~gluonlite.base.FileFormatError` naming the file and
        changes nothing. ``allow_pickle=True`` accepts any pickle: only for a file you
        trust, since a crafted one can then run code.
        """
        _check_fname(fname, "load_optimizer_states")
        if not isinstance(allow_pickle, bool):
            raise TypeError(f"allow_pickle: expected a bool, got {type(allow_pickle).__name__}")
        self._check_updater_states("load_optimizer_states")
        with open(fname, "rb") as f:
            data = f.read()
        if not isinstance(self._updater, opt.Updater):
            self._updater.set_states(data)  # an updater of the user's own
            return
        weights = {k: (f"key {k!r}", v) for k, v in self._store.items()}
        self._updater._install_states(*self._updater._decode_states(
            data, f"load_optimizer_states: file {os.fspath(fname)!r}", allow_pickle,
            weights))

    # --- cluster ----------------------------------------------------------------------------
    def _barrier(self):
        """Synchronise all workers; with the single worker of a local store it returns at
        once (as MXNet's local store does)."""

    @property
    def type(self):
        """The store type, e.g. 'local' or 'device'."""
        return self._type

    @property
    def rank(self):
        """This worker's rank: always 0 on one machine."""
        return 0

    @property
    def num_workers(self):
        """The number of workers: always 1 on one machine."""
        return 1
