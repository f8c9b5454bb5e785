"""Process-wide memory allocator settings, MXNet-style pooling for NumPy's buffers.

A training step allocates and frees the same large arrays every step (activations,
im2col columns, gradients). glibc's malloc hands arrays above a threshold (128 KiB, rising
to at most 32 MiB) to ``mmap`` and gives them back with ``munmap``, and trims freed memory
at the top of the heap, so every step touched fresh pages: LeNet at batch 256 took ~1000
page faults per step and ran 5-10% slower. MXNet avoids this with its pooled storage
manager; gluonlite gets the same effect from glibc itself by raising, once at import,

* ``M_MMAP_THRESHOLD`` to 64 MiB (smaller arrays come from the reusable heap), and
* ``M_TRIM_THRESHOLD`` to 256 MiB (up to that much freed heap stays mapped for reuse).

The cost, as with MXNet's pool: memory freed after a peak is kept by the process (up to
the trim threshold) instead of going back to the system. Nothing is changed when the
platform is not glibc, when the user already tunes malloc through ``MALLOC_*``
environment variables, or when ``GLUONLITE_MALLOC_POOL=0``.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["tune_malloc", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD = -1   # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3

_done = None


def tune_malloc() -> bool:
    """Apply the settings above (once); returns whether they are in effect."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if os.environ.get("GLUONLITE_MALLOC_POOL", "1").strip().lower() in ("0", "false", "no",
                                                                         "off"):
        return False
    if not sys.platform.startswith("linux"):
        return False
    if any(k.startswith("MALLOC_") and k.endswith("_") for k in os.environ):
        return False  # the user tunes glibc's malloc already
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl has no mallopt)
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
