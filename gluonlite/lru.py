"""A bounded, least-recently-used map for compiled programs.

A hybridized block (and a bound Executor) compiles one program per input signature; a
model fed many batch sizes would otherwise keep every program, with its buffers and
generated code, for the life of the process. :class:`ProgramCache` keeps the ``maxsize``
most recently used ones. The bound comes from the ``hybridize(program_cache_size=...)``
keyword or the ``GLUONLITE_PROGRAM_CACHE_SIZE`` environment variable (default
:data:`DEFAULT_SIZE`).

Lookups are safe from several threads at once without a lock (each step is one operation
on an ``OrderedDict``, atomic under the GIL); inserts are made by the caller under its own
lock, so one signature is compiled once.
"""
from __future__ import annotations

import operator
import os
from collections import OrderedDict

from .base import MXNetError

__all__ = ["ProgramCache", "program_cache_size", "check_size", "DEFAULT_SIZE", "ENV_VAR"]

DEFAULT_SIZE = 32
ENV_VAR = "GLUONLITE_PROGRAM_CACHE_SIZE"


def check_size(value, what):
    """``value`` (an int) as a positive int, or an MXNetError naming ``what``."""
    n = None
    if not isinstance(value, bool):
        try:
            n = operator.index(value)
        except TypeError:
            pass
    if n is None or n < 1:
        raise MXNetError(f"{what}: expected a positive integer (the number of compiled "
                         f"programs kept per hybridized block), got {value!r}")
    return n


def program_cache_size(size=None) -> int:
    """The bound to use: ``size`` when given, else ``$GLUONLITE_PROGRAM_CACHE_SIZE``, else
    :data:`DEFAULT_SIZE`."""
    if size is not None:
        return check_size(size, "program_cache_size")
    env = os.environ.get(ENV_VAR)
    if env is None or not env.strip():
        return DEFAULT_SIZE
    try:
        n = int(env.strip())
    except ValueError:
        n = 0
    if n < 1:
        raise MXNetError(f"{ENV_VAR}: expected a positive integer (the number of compiled "
                         f"programs kept per hybridized block), got {env!r}")
    return n


class ProgramCache(OrderedDict):
    """An ``OrderedDict`` of at most ``maxsize`` entries: :meth:`lookup` marks an entry
    used, :meth:`insert` evicts the least recently used ones beyond the bound.
    ``compiles``/``evictions`` count inserts and evictions (for tests and tuning)."""

    def __init__(self, maxsize=None):
        super().__init__()
        self.maxsize = program_cache_size(maxsize)
        self.compiles = 0
        self.evictions = 0

    def lookup(self, key):
        """The entry for ``key`` (now the most recently used), or None."""
        value = self.get(key)
        if value is not None:
            try:
                self.move_to_end(key)
            except KeyError:
                pass  # evicted by another thread since get(): still valid to use
        return value

    def insert(self, key, value):
        """Add ``value`` as the most recently used entry, evicting beyond ``maxsize``."""
        self[key] = value
        self.move_to_end(key)
        self.compiles += 1
        while len(self) > self.maxsize:
            self.popitem(last=False)
            self.evictions += 1
        return value
