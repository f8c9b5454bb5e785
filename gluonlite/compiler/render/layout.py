"""The loop nest of a fused kernel: its iteration shape with broadcast dimensions collapsed.

Adjacent dimensions merge when every operand treats them alike (each input is either full
along both or broadcast along both; each reduction either keeps both or reduces both), so a
bias added over ``(N, C, H, W)`` becomes a ``(N, C, H*W)`` nest and a plain elementwise
chain a flat loop. Shared by every renderer.
"""
from __future__ import annotations

__all__ = ["Nest", "collapse"]


class Nest:
    """``shape``: the collapsed iteration shape; ``ins[k]``: input k's shape in it (1 where
    broadcast); ``reds[r]``: reduction r's accumulator shape (1 where reduced)."""

    def __init__(self, shape, ins, reds):
        self.shape = tuple(shape)
        self.ins = [tuple(s) for s in ins]
        self.reds = [tuple(s) for s in reds]

    def __repr__(self):
        return f"Nest(shape={self.shape}, ins={self.ins}, reds={self.reds})"


def collapse(kernel) -> Nest:
    """The :class:`Nest` of a :class:`~gluonlite.compiler.fusion.FusedKernel`."""
    full = kernel.shape
    n = len(full)
    ins = [(1,) * (n - len(s)) + tuple(s) for s in kernel.in_shapes]
    red_axes = [set(r[1]) for r in kernel.reductions]
    dims = []   # (size, pattern)
    for d in range(n):
        if full[d] == 1:
            continue
        pat = tuple(s[d] == full[d] for s in ins) + tuple(d in ax for ax in red_axes)
        if dims and dims[-1][1] == pat:
            dims[-1] = (dims[-1][0] * full[d], pat)
        else:
            dims.append((full[d], pat))
    if not dims:
        dims = [(1, tuple(True for _ in ins) + tuple(False for _ in red_axes))]
    shape = [s for s, _ in dims]
    k_in = len(ins)
    in_shapes = [[s if pat[k] else 1 for s, pat in dims] for k in range(k_in)]
    red_shapes = [[1 if pat[k_in + r] else s for s, pat in dims]
                  for r in range(len(red_axes))]
    return Nest(shape, in_shapes, red_shapes)
