"""Renderers: one per backend, each turning a fused-kernel description into runnable code.

* :mod:`.numba_cpu` — a Numba loop nest (CPU), cached on disk;
* :mod:`.cuda` — CuPy ``ElementwiseKernel``/``ReductionKernel`` sources (GPU).

:func:`lowering` is the fused operator's lowering: a :class:`~gluonlite.compiler.lower.Writes`
statement calling the kernel compiled for the runtime's backend, which fills the output
arrays the code generator hands it (so fused results land in planned buffers).
"""
from __future__ import annotations

from ..lower import Writes

__all__ = ["lowering"]


def lowering(L, kernel):
    """The statement running ``kernel`` with runtime ``L.rt``."""
    n_in, n_out = len(kernel.in_shapes), kernel.n_outputs
    outs = ", ".join(f"{{o{k}}}" for k in range(n_out))
    if L.cpu:
        from .numba_cpu import compile_kernel
        fn = L.bind(compile_kernel(kernel), "FK")
        c = L.bind(L.rt.xp.ascontiguousarray, "contig")
        ins = ", ".join(f"{c}({{{k}}})" for k in range(n_in))
        return Writes(f"{fn}({outs}, {ins})", inplace=True)
    import cupy
    from .cuda import build
    fn = L.bind(build(kernel, cupy), "FK")
    ins = ", ".join(f"{{{k}}}" for k in range(n_in))
    return Writes(f"{fn}(({outs},), ({ins},))", inplace=True)
