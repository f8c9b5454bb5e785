"""Automatic naming (MXNet's ``mx.name``): ``NameManager`` counts names per hint
(``dense0``, ``dense1``, ...) and ``Prefix`` prepends a prefix inside a ``with`` block.

Gluon block prefixes and, later, symbol names share the current manager, as in MXNet.
"""
from __future__ import annotations

import threading

__all__ = ["NameManager", "Prefix", "current"]


class NameManager:
    """Generate ``hint + count`` names; an explicit name wins."""

    _current = threading.local()

    def __init__(self):
        self._counter: dict = {}
        self._old_manager = None

    def get(self, name, hint):
        if name:
            return name
        n = self._counter.get(hint, 0)
        self._counter[hint] = n + 1
        return f"{hint}{n}"

    def __enter__(self):
        self._old_manager = current()
        NameManager._current.value = self
        return self

    def __exit__(self, *exc):
        NameManager._current.value = self._old_manager


class Prefix(NameManager):
    """A NameManager that prepends ``prefix`` to every generated name."""

    def __init__(self, prefix):
        super().__init__()
        self._prefix = prefix

    def get(self, name, hint):
        return self._prefix + super().get(name, hint)


def current() -> NameManager:
    """The NameManager in effect on this thread."""
    m = getattr(NameManager._current, "value", None)
    if m is None:
        m = NameManager._current.value = NameManager()
    return m
