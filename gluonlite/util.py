"""``mx.util``: MXNet's NumPy-semantics switches and a few runtime helpers.

NumPy *shape* semantics (``set_np_shape``, ``np_shape``, ``use_np_shape``) change how
shapes are read, as in MXNet 1.9.1: off (the default, "legacy"), a 0 in a shape given to
symbolic shape inference means "unknown dimension" and ``()`` "unknown shape"; on, ``()`` is
the shape of a scalar, 0 is a real (zero-size) dimension and -1 means unknown. The switch is
per thread, as MXNet's ``set_np_shape(True)`` is; ``set_np_shape(2)`` turns it on for every
thread (MXNet's ``GlobalOn``).

NumPy *array* semantics (``set_np(array=True)``, ``np_array``, ``use_np_array``,
``use_np``) make Gluon create ``mxnet.numpy.ndarray`` s, from MXNet's ``mx.np`` module,
which gluonlite does not implement: turning it on raises ``NotImplementedError`` naming
it, and ``is_np_array()`` is always False.
"""
from __future__ import annotations

import functools
import inspect
import os
import threading

from .context import num_gpus

__all__ = ["is_np_shape", "set_np_shape", "np_shape", "use_np_shape", "is_np_array",
           "np_array", "use_np_array", "use_np", "set_np", "reset_np", "getenv", "setenv",
           "get_gpu_count"]

_local = threading.local()
_global_on = False

_NO_NP = ("gluonlite does not implement MXNet's NumPy array module mx.np (mxnet.numpy / "
          "mxnet.numpy_extension), which NumPy array semantics create arrays of; use "
          "mx.nd with NumPy shape semantics instead (mx.np_shape(), "
          "mx.util.set_np(shape=True, array=False))")


def is_np_shape():
    """Whether NumPy shape semantics are on in this thread (``()`` a scalar shape, 0 a
    real size, -1 unknown); off by default."""
    return _global_on or getattr(_local, "np_shape", False)


def set_np_shape(active):
    """Turn NumPy shape semantics on or off for this thread (``active`` True/1) or for every
    thread (``active`` 2, MXNet's ``GlobalOn``); returns the previous state as a bool."""
    global _global_on
    if isinstance(active, bool) or active in (0, 1, 2):
        flag = int(active)
    else:
        raise ValueError(f"set_np_shape: active must be a bool (or 0, 1, 2), got {active!r}")
    prev = is_np_shape()
    _global_on = flag == 2
    _local.np_shape = flag == 1
    return prev


class _NumpyShapeScope:
    """``with`` scope that sets NumPy shape semantics and restores the previous state."""

    def __init__(self, active):
        self._active = active
        self._prev = None

    def __enter__(self):
        if self._active is not None:
            self._prev = set_np_shape(self._active)
        return self

    def __exit__(self, *exc):
        if self._active is not None and self._prev != bool(self._active):
            set_np_shape(self._prev)


def np_shape(active=True):
    """A ``with`` scope with NumPy shape semantics on (``active=True``) or off."""
    return _NumpyShapeScope(active)


def _decorate(func, scope, what):
    if inspect.isclass(func):
        for name, member in inspect.getmembers(
                func, predicate=lambda f: inspect.isfunction(f) or inspect.ismethod(f)
                or isinstance(f, property)):
            if isinstance(member, property):
                setattr(func, name, property(_decorate(member.__get__, scope, what),
                                             member.__set__, member.__delattr__,
                                             member.__doc__))
            else:
                setattr(func, name, _decorate(member, scope, what))
        return func
    if callable(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with scope():
                return func(*args, **kwargs)
        return wrapper
    raise TypeError(f"{what} can only decorate classes and callable objects, while received "
                    f"a {type(func)}")


def use_np_shape(func):
    """Decorator: run the function (or every method and property of the class) with NumPy
    shape semantics on."""
    return _decorate(func, np_shape, "use_np_shape")


def is_np_array():
    """Whether NumPy array semantics are on: always False (gluonlite has no ``mx.np``)."""
    return False


def np_array(active=True):
    """NumPy array semantics scope: ``active=False`` is a no-op scope; ``True`` raises
    ``NotImplementedError`` (gluonlite has no ``mx.np`` module)."""
    if active:
        raise NotImplementedError(f"np_array(active=True): {_NO_NP}")
    return np_shape(None)


def use_np_array(func):
    """MXNet's NumPy-array decorator: raises ``NotImplementedError`` (no ``mx.np``)."""
    raise NotImplementedError(f"use_np_array: {_NO_NP}")


def use_np(func):
    """MXNet's NumPy shape+array decorator: raises ``NotImplementedError`` (no ``mx.np``);
    ``use_np_shape`` gives the shape half."""
    raise NotImplementedError(f"use_np: {_NO_NP}")


def set_np(shape=True, array=True):
    """Set NumPy shape and array semantics together (MXNet's ``npx.set_np``). Array
    semantics need ``mx.np``: ``array=True`` raises ``NotImplementedError``; use
    ``set_np(shape=True, array=False)``."""
    if not shape and array:
        raise ValueError("NumPy Shape semantics is required in using NumPy array semantics.")
    if array:
        raise NotImplementedError(f"set_np(array=True): {_NO_NP}")
    set_np_shape(shape)


def reset_np():
    """Turn NumPy shape and array semantics off."""
    set_np(shape=False, array=False)


def getenv(name):
    """The value of environment variable ``name`` (None if unset)."""
    if not isinstance(name, str):
        raise TypeError(f"getenv: name must be a str, got {type(name).__name__}")
    return os.environ.get(name)


def setenv(name, value):
    """Set environment variable ``name`` to ``value`` (None unsets it)."""
    if not isinstance(name, str):
        raise TypeError(f"setenv: name must be a str, got {type(name).__name__}")
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = str(value)


def get_gpu_count():
    """The number of GPUs gluonlite can use (``mx.context.num_gpus()``)."""
    return num_gpus()
