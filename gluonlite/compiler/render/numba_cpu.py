"""The CPU renderer: a fused kernel becomes a Numba loop nest, compiled once and cached on disk.

The generated function takes a range ``lo, hi`` of its *split dimension* (the first
dimension of the collapsed nest that no reduction reduces), its output arrays, then its
inputs (all C-contiguous, in their graph shapes); it reads the nest's extents from their
shapes, views each in the collapsed nest (:mod:`.layout`) and runs one loop nest whose body
evaluates the formula DAG once per element, in the computation dtype. No size is written
into the source, so one compiled kernel serves every shape of the same structure: a new
batch size compiles nothing and adds nothing to the disk cache. Reductions accumulate in
float64 and are written (divided, for a mean) at the end, for the rows ``lo:hi`` only, so
disjoint ranges never touch the same output element. A large kernel is called once per
chunk of that dimension by the same worker threads the hot kernels use
(:mod:`gluonlite.kernels.workers`, with ``nogil`` machine code); a small one is called once
for the whole range, where handing out chunks costs more than it saves. One thread pool
for every compiled CPU kernel: a second one (Numba's ``prange`` over OpenMP) kept spinning
on a core after each kernel while the next operator's workers wanted it.

Compiled kernels are cached on disk (:mod:`gluonlite.kernels.diskcache`:
``$GLUONLITE_CACHE_DIR/kernels``, default ``~/.cache/gluonlite/kernels``), named by a hash
of their source, so a second process loads the machine code instead of compiling again.
The source is always executed from memory (the ``.py`` there is a readable copy); Numba's
compiled code is loaded only from a private directory and only when its checksum holds,
else recompiled. :func:`stats` reports how many kernels were compiled or loaded and the
seconds spent; :func:`clear_cache` empties the disk cache.
"""
from __future__ import annotations

import hashlib
import math
import os
import sys
import threading
import time
import types

from ...kernels import diskcache
from .layout import collapse

__all__ = ["source", "compile_kernel", "CpuKernel", "split_dim", "stats", "cache_dir",
           "clear_cache", "PARALLEL_MIN"]

# Splitting a kernel across the workers pays off from about this many elements (measured
# on 2 cores).
PARALLEL_MIN = 1 << 17
# A chunk handed to one worker has at least this many elements.
CHUNK_MIN = 1 << 15

_lock = threading.Lock()
# source hash -> dispatcher: one per formula, dtype and nest structure (not per size), so
# it grows with the distinct operator patterns of the models run, not with their shapes
_compiled: dict = {}
_stats = {"compiled": 0, "loaded": 0, "seconds": 0.0}


def cache_dir() -> str:
    """Where generated kernels and their compiled code live
    (``$GLUONLITE_CACHE_DIR/kernels``, default ``~/.cache/gluonlite/kernels``)."""
    return diskcache.kernel_dir()


def clear_cache() -> int:
    """Remove every kernel from the disk cache: the generated ones (:func:`cache_dir`) and
    the compiled code of gluonlite's built-in kernels (``$GLUONLITE_CACHE_DIR/builtin``);
    kernels already compiled in this process stay usable. Returns the number of files
    removed."""
    return diskcache.clear()


def stats() -> dict:
    """``{'compiled': n, 'loaded': n, 'seconds': s}``: kernels compiled in this process,
    kernels loaded from the disk cache, and the seconds both took."""
    return dict(_stats)


def _np_dtype(dt):
    return {"float32": "np.float32", "float64": "np.float64"}[dt]


def _const(v, dt):
    t = _np_dtype(dt)
    if math.isnan(v):
        return f"{t}(np.nan)"
    if math.isinf(v):
        return f"{t}({'-' if v < 0 else ''}np.inf)"
    return f"{t}({v!r})"


_BIN = {"add": "({} + {})", "sub": "({} - {})", "mul": "({} * {})", "div": "({} / {})",
        "max": "np.maximum({}, {})", "min": "np.minimum({}, {})"}
_CMP = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "==", "ne": "!="}
_UN = {"neg": "(-{})", "abs": "np.abs({})", "exp": "np.exp({})", "log": "np.log({})",
       "sqrt": "np.sqrt({})", "tanh": "np.tanh({})", "log1p": "np.log1p({})",
       "expm1": "np.expm1({})", "sign": "np.sign({})"}


def split_dim(nest):
    """The dimension of ``nest`` that calls split (the first one every reduction keeps), or
    None when there is none (a reduction to one number)."""
    kept = [d for d in range(len(nest.shape)) if all(k[d] for k in nest.red_kept)]
    return kept[0] if kept else None


def _extents(kernel, nest):
    """Per nest dimension, the expression of its extent read at run time from the shape of
    an array argument that is full along it (the product of the merged axes' sizes), so
    the source names no size; the literal size only where no argument carries the
    dimension (an input broadcast inside the kernel and never written out in full)."""
    n = len(kernel.shape)
    # (argument, its fullness over the nest dimensions, {kernel axis: the argument's axis})
    carriers = []
    if kernel.outputs:
        carriers.append(("o0", (True,) * len(nest.shape), {a: a for a in range(n)}))
    for k, s in enumerate(kernel.in_shapes):
        off = n - len(s)
        carriers.append((f"x{k}", nest.in_full[k], {a: a - off for a in range(off, n)}))
    for r, (_, axes, _, out) in enumerate(kernel.reductions):
        axes = set(axes)
        if len(out) == n:  # the reduced axes kept, with size 1
            amap = {a: a for a in range(n) if a not in axes}
        elif len(out) == n - len(axes):  # the reduced axes dropped
            amap = {a: a - sum(1 for x in axes if x < a) for a in range(n) if a not in axes}
        else:
            continue
        carriers.append((f"r{r}", nest.red_kept[r], amap))
    ext = []
    for d, group in enumerate(nest.groups):
        expr = str(nest.shape[d])  # no group: the one element of an all-ones shape
        for arg, full, amap in carriers if group else ():
            if full[d] and all(a in amap for a in group):
                expr = " * ".join(f"{arg}.shape[{amap[a]}]" for a in group)
                break
        ext.append(expr)
    return ext


def source(kernel, name: str) -> str:
    """The Python/Numba source of ``kernel`` as function ``name(lo, hi, outputs...,
    inputs...)``, computing rows ``lo:hi`` of its :func:`split_dim` (all of the kernel when
    there is none).

    The loop extents ``n0, n1, ...`` are read from the arguments' shapes, so the source
    (and so the compiled kernel) depends on the formula, the ranks and which dimensions
    broadcast, are reduced or have size 1, not on the sizes: a new batch size runs the
    kernel already compiled."""
    nest = collapse(kernel)
    dt = kernel.dtype
    nd = len(nest.shape)
    iv = [f"i{d}" for d in range(nd)]
    ev = [f"n{d}" for d in range(nd)]
    n_out, n_red = len(kernel.outputs), len(kernel.reductions)
    outs = [f"o{k}" for k in range(n_out)] + [f"r{k}" for k in range(n_red)]
    ins = [f"x{k}" for k in range(len(kernel.in_shapes))]

    def shape_of(full):
        dims = [e if f else "1" for e, f in zip(ev, full)]
        return f"({', '.join(dims)}{',' if nd == 1 else ''})"

    def idx(full):
        return ", ".join(i if f else "0" for i, f in zip(iv, full))

    # calls split the first dimension that no reduction reduces (so no two calls write one
    # reduced element); loops stay in memory order, that one restricted to lo:hi
    pdim = split_dim(nest)
    lines = [f"def {name}({', '.join(['lo', 'hi'] + outs + ins)}):"]
    lines += [f"    {e} = {x}" for e, x in zip(ev, _extents(kernel, nest))]
    if pdim is not None:
        # the sizes come with the arrays now: a range past them would write out of bounds
        # (reshape already refuses arrays whose sizes disagree)
        lines += [f"    if lo < 0 or hi > {ev[pdim]}:",
                  "        raise ValueError('fused kernel: rows lo:hi out of range')"]
    for k, full in enumerate(nest.in_full):
        lines.append(f"    X{k} = x{k}.reshape({shape_of(full)})")
    for k in range(n_out):
        lines.append(f"    O{k} = o{k}.reshape({shape_of((True,) * nd)})")
    for k, kept in enumerate(nest.red_kept):
        lines.append(f"    A{k} = np.zeros({shape_of(kept)}, np.float64)")
    consts = {}
    body = []
    names = {}
    loads = {}
    temps = []

    def emit(e):
        key = id(e)
        if key in names:
            return names[key]
        if e.op == "in":
            names[key] = loads[e.value]
            return loads[e.value]
        if e.op == "const":
            names[key] = emit_const(e.value)
            return names[key]
        args = [emit(a) for a in e.args]
        if e.op in _BIN:
            txt = _BIN[e.op].format(*args)
        elif e.op in _UN:
            txt = _UN[e.op].format(*args)
        elif e.op in _CMP:
            one, zero = emit_const(1.0), emit_const(0.0)
            txt = f"({one} if {args[0]} {_CMP[e.op]} {args[1]} else {zero})"
        elif e.op == "where":
            zero = emit_const(0.0)
            txt = f"({args[1]} if {args[0]} != {zero} else {args[2]})"
        else:
            raise ValueError(f"numba renderer: unknown scalar operation {e.op!r}")
        t = f"t{len(temps)}"
        temps.append(t)
        body.append(f"{t} = {txt}")
        names[key] = t
        return t

    def emit_const(v):
        c = _const(v, dt)
        if c not in consts:
            consts[c] = f"c{len(consts)}"
        return consts[c]

    # every input is read before any output is written: an output may share an input's
    # buffer (in place), and a later formula may still need that input's element
    for k, full in enumerate(nest.in_full):
        loads[k] = f"a{k}"
        body.append(f"a{k} = X{k}[{idx(full)}]")
    for k, e in enumerate(kernel.outputs):
        body.append(f"O{k}[{', '.join(iv)}] = {emit(e)}")
    for k, (e, _, _, _) in enumerate(kernel.reductions):
        body.append(f"A{k}[{idx(nest.red_kept[k])}] += {emit(e)}")
    for c, n in consts.items():
        lines.append(f"    {n} = {c}")

    def loops(full):
        out, ind = [], "    "
        for d in range(nd):
            rng = "lo, hi" if d == pdim else ev[d] if full[d] else "1"
            out.append(f"{ind}for {iv[d]} in range({rng}):")
            ind += "    "
        return out, ind

    head, ind = loops((True,) * nd)
    lines += head + [ind + b for b in body]
    for k, (_, axes, mean, _) in enumerate(kernel.reductions):
        kept = nest.red_kept[k]
        # a mean divides by the product of the reduced extents (a size-1 axis is in no
        # nest dimension: it counts 1)
        reduced = [ev[d] for d in range(nd) if not kept[d] and nest.groups[d]]
        scale = f" / np.float64({' * '.join(reduced)})" if mean and reduced else ""
        lines.append(f"    R{k} = r{k}.reshape({shape_of(kept)})")
        head, ind = loops(kept)
        ix = idx(kept)
        lines += head + [f"{ind}R{k}[{ix}] = A{k}[{ix}]{scale}"]
    return "\n".join(lines) + "\n"


def _signature(kernel):
    from numba import types
    t = {"float32": types.float32, "float64": types.float64}[kernel.dtype]
    arrs = [types.int64, types.int64]
    arrs += [types.Array(t, len(s), "C") for s in kernel.out_shapes()]
    # inputs typed read-only: they accept writable and read-only (residual) arrays alike
    arrs += [types.Array(t, len(s), "C", readonly=True) for s in kernel.in_shapes]
    return types.void(*arrs)


_HEADER = '''"""A fused kernel generated by gluonlite (gluonlite.compiler.render.numba_cpu)."""
import numpy as np
from numba import njit

'''


class CpuKernel:
    """A compiled fused kernel: ``kernel(*outputs, *inputs)`` fills the outputs, split in
    chunks of :attr:`n` rows over the workers when :attr:`step` is set (a large kernel and
    more than one worker), else in one call. ``fn(lo, hi, *outputs, *inputs)`` is the
    Numba function."""

    __slots__ = ("fn", "n", "step")

    def __init__(self, fn, n, step):
        self.fn, self.n, self.step = fn, n, step

    def __call__(self, *arrays):
        fn = self.fn
        if self.step is None:
            fn(0, self.n, *arrays)
            return
        from ...kernels.workers import run_chunks
        run_chunks(self.n, self.step, lambda lo, hi, _: fn(lo, hi, *arrays))


def compile_kernel(kernel) -> CpuKernel:
    """The compiled :class:`CpuKernel` of ``kernel`` (from the disk cache when it is
    there). Kernels differing only in sizes share one compiled function: only the
    returned wrapper's row count and chunking depend on the sizes."""
    nest = collapse(kernel)
    pdim = split_dim(nest)
    n = nest.shape[pdim] if pdim is not None else 1
    step = None
    total = int(math.prod(kernel.shape))
    if total >= PARALLEL_MIN and n > 1:
        from ...kernels.workers import num_workers
        w = num_workers()
        if w > 1:
            row = max(1, total // n)
            step = max(-(-n // (4 * w)), -(-CHUNK_MIN // row))
            if step >= n:
                step = None
    name = "kernel"
    src = source(kernel, name)
    # the source names no dtype when the formula has no constant, nor the arguments' ranks
    # (a bias of shape (C, 1, 1) or (1, C, 1, 1) renders alike): the signature does
    sig = _signature(kernel)
    digest = hashlib.sha1(f"{sig}\n{src}".encode()).hexdigest()[:20]
    with _lock:
        fn = _compiled.get(digest)
        if fn is None:
            t0 = time.perf_counter()
            fn, loaded = _load(src, name, digest, sig)
            _stats["seconds"] += time.perf_counter() - t0
            _stats["loaded" if loaded else "compiled"] += 1
            _compiled[digest] = fn
    return CpuKernel(fn, n, step)


def _load(src, name, digest, sig):
    """The Numba dispatcher of kernel ``name`` in ``src`` compiled for ``sig``, and whether
    its machine code came from the disk cache."""
    from numba import njit
    text = _HEADER + src
    # the index stamp: a full hash of what is compiled (the file name's is 80 bits)
    stamp = hashlib.sha256(f"{sig}\n{text}".encode()).hexdigest()
    fname = f"k_{digest}.py"
    folder = diskcache.open_dir()
    if folder is not None:
        try:
            if diskcache.sync_source(folder, fname, text):
                diskcache.evict(folder)
        except OSError:
            folder = None  # full disk, read-only file system...: compile in memory
    path = os.path.join(folder, fname) if folder else f"<gluonlite kernel {digest}>"
    # executed from the text generated here, never imported from the file, so whatever is
    # on disk cannot change what runs
    modname = f"gluonlite_kernel_{digest}"
    mod = types.ModuleType(modname)
    mod.__file__ = path
    exec(compile(text, path, "exec"), mod.__dict__)
    # Numba rebuilds a cached kernel's environment by importing its module by name
    sys.modules[modname] = mod
    py = getattr(mod, name)
    disp = njit(error_model="numpy", nogil=True)(py)
    if folder is not None:
        # what njit(cache=True) does, with a cache confined to the vetted folder
        disp._cache = diskcache.KernelCache(py, folder, stamp, f"k_{digest}.{name}")
    disp.compile(sig)
    disp.disable_compile()  # as njit(sig): other argument types are an error, not a compile
    loaded = any(getattr(disp, "_cache_hits", {}).values())
    return disp, loaded
