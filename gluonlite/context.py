"""Device contexts: ``cpu(i)``, ``gpu(i)``, ``Context``, ``current_context()``.

Follows MXNet 1.x: a context is a device type plus an id, usable as ``with mx.cpu(1):`` to
change the default device of new arrays. Contexts are interned (``cpu(0) is cpu(0)``) so the
per-operator device check is an identity test. Unlike MXNet, which silently mixes
``cpu(0)`` and ``cpu(1)`` arrays, gluonlite treats every id as its own device: operators
refuse inputs from different contexts and ask for ``copyto``/``as_in_context``.
"""
from __future__ import annotations

import threading

__all__ = ["Context", "cpu", "gpu", "cpu_pinned", "current_context", "num_gpus"]


class _DefaultStack(threading.local):
    def __init__(self):
        self.stack = []


_DEFAULT = _DefaultStack()


class Context:
    """A device: ``Context('cpu', 0)``, ``Context('gpu', 1)`` or ``Context(other_context)``.

    Attributes follow MXNet: ``device_type`` ('cpu', 'gpu', 'cpu_pinned', 'cpu_shared'),
    ``device_typeid`` and ``device_id``.
    """

    devtype2str = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}
    devstr2type = {v: k for k, v in devtype2str.items()}
    _interned: dict = {}

    __slots__ = ("device_typeid", "device_id", "_rts", "__weakref__")

    def __new__(cls, device_type, device_id=0):
        if isinstance(device_type, Context):
            return device_type
        if isinstance(device_type, str):
            if device_type not in cls.devstr2type:
                raise ValueError(f"device_type: expected one of {sorted(cls.devstr2type)}, "
                                 f"got {device_type!r}")
            typeid = cls.devstr2type[device_type]
        elif isinstance(device_type, int) and device_type in cls.devtype2str:
            typeid = device_type
        else:
            raise ValueError(f"device_type: expected 'cpu' or 'gpu', got {device_type!r}")
        if not isinstance(device_id, int) or isinstance(device_id, bool) or device_id < 0:
            raise ValueError(f"device_id: expected a non-negative int, got {device_id!r}")
        key = (typeid, device_id)
        ctx = cls._interned.get(key)
        if ctx is None:
            ctx = object.__new__(cls)
            ctx.device_typeid = typeid
            ctx.device_id = device_id
            ctx._rts = None
            ctx = cls._interned.setdefault(key, ctx)
        return ctx

    def __reduce__(self):
        return (Context, (self.device_type, self.device_id))

    @property
    def device_type(self) -> str:
        """'cpu', 'gpu', 'cpu_pinned' or 'cpu_shared'."""
        return Context.devtype2str[self.device_typeid]

    @property
    def is_gpu(self) -> bool:
        return self.device_typeid == 2

    def __hash__(self):
        return hash((self.device_typeid, self.device_id))

    def __eq__(self, other):
        return isinstance(other, Context) and self.device_typeid == other.device_typeid \
            and self.device_id == other.device_id

    def __repr__(self):
        return f"{self.device_type}({self.device_id})"

    __str__ = __repr__

    def __enter__(self):
        _DEFAULT.stack.append(self)
        return self

    def __exit__(self, *exc):
        _DEFAULT.stack.pop()

    # MXNet exposes the default as a class attribute; keep it readable (and settable).
    @classmethod
    def _get_default(cls):
        st = _DEFAULT.stack
        return st[-1] if st else _CPU0

    def empty_cache(self):
        """Release cached device memory (a no-op on the CPU, as in MXNet)."""
        if self.is_gpu:
            from . import backend
            backend.empty_cache(self)

    # --- runtime objects handed to operator kernels -------------------------------------
    def _runtime(self, is_train: bool):
        rts = self._rts
        if rts is None:
            rts = self._make_rts()
        return rts[is_train]

    def _make_rts(self):
        from .backend import Runtime
        rts = self._rts = (Runtime(self, False), Runtime(self, True))
        return rts

    @property
    def xp(self):
        """The array module (numpy or cupy) that holds this device's arrays."""
        return self._runtime(False).xp


class _DefaultCtxDescriptor:
    def __get__(self, obj, owner):
        return Context._get_default()


def cpu(device_id: int = 0) -> Context:
    """The CPU context ``cpu(device_id)``. Every id is a distinct device for the API."""
    return Context("cpu", device_id)


def cpu_pinned(device_id: int = 0) -> Context:
    """Page-locked CPU memory context (plain host memory here)."""
    return Context("cpu_pinned", device_id)


def gpu(device_id: int = 0) -> Context:
    """The GPU context ``gpu(device_id)``; arrays on it need CuPy (the ``gpu`` extra)."""
    return Context("gpu", device_id)


def current_context() -> Context:
    """The default context: the innermost ``with ctx:`` block, else ``cpu(0)``."""
    st = _DEFAULT.stack
    return st[-1] if st else _CPU0


def num_gpus() -> int:
    """Number of visible GPUs (0 when CuPy is not installed)."""
    try:
        import cupy  # noqa: F401
    except Exception:
        return 0
    try:
        return cupy.cuda.runtime.getDeviceCount()
    except Exception:
        return 0


_CPU0 = Context("cpu", 0)
Context.default_ctx = _DefaultCtxDescriptor()
