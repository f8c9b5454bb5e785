"""The loop nest of a fused kernel: its iteration shape with broadcast dimensions collapsed.

Adjacent dimensions merge when every operand treats them alike (each input is either full
along both or broadcast along both; each reduction either keeps both or reduces both), so a
bias added over ``(N, C, H, W)`` becomes a ``(N, C, H*W)`` nest and a plain elementwise
chain a flat loop. Shared by every renderer.

Which dimensions merge depends only on the kernel's structure (which axes each operand
broadcasts or reduces, and which axes have size 1), never on the other sizes: kernels that
differ only in sizes have nests of the same rank, :attr:`Nest.groups` and patterns, so a
renderer that reads the extents at run time serves them all with one compiled kernel.
"""
from __future__ import annotations

__all__ = ["Nest", "collapse"]


class Nest:
    """``shape``: the collapsed iteration shape; ``ins[k]``: input k's shape in it (1 where
    broadcast); ``reds[r]``: reduction r's accumulator shape (1 where reduced).

    Structure, independent of the sizes: ``groups[d]``: the axes of the kernel's shape
    merged into nest dimension ``d`` (size-1 axes belong to none; empty only for the
    one-element nest of an all-ones shape); ``in_full[k][d]``: whether input k is full
    (not broadcast) along ``d``; ``red_kept[r][d]``: whether reduction r keeps ``d``."""

    def __init__(self, shape, ins, reds, groups, in_full, red_kept):
        self.shape = tuple(shape)
        self.ins = [tuple(s) for s in ins]
        self.reds = [tuple(s) for s in reds]
        self.groups = [tuple(g) for g in groups]
        self.in_full = [tuple(p) for p in in_full]
        self.red_kept = [tuple(p) for p in red_kept]

    def __repr__(self):
        return f"Nest(shape={self.shape}, ins={self.ins}, reds={self.reds})"


def collapse(kernel) -> Nest:
    """The :class:`Nest` of a :class:`~gluonlite.compiler.fusion.FusedKernel`."""
    full = kernel.shape
    n = len(full)
    ins = [(1,) * (n - len(s)) + tuple(s) for s in kernel.in_shapes]
    red_axes = [set(r[1]) for r in kernel.reductions]
    dims = []   # (size, pattern, axes)
    for d in range(n):
        if full[d] == 1:
            continue
        pat = tuple(s[d] == full[d] for s in ins) + tuple(d in ax for ax in red_axes)
        if dims and dims[-1][1] == pat:
            dims[-1] = (dims[-1][0] * full[d], pat, dims[-1][2] + (d,))
        else:
            dims.append((full[d], pat, (d,)))
    if not dims:
        dims = [(1, tuple(True for _ in ins) + tuple(False for _ in red_axes), ())]
    shape = [s for s, _, _ in dims]
    k_in = len(ins)
    in_full = [[pat[k] for _, pat, _ in dims] for k in range(k_in)]
    red_kept = [[not pat[k_in + r] for _, pat, _ in dims] for r in range(len(red_axes))]
    in_shapes = [[s if f else 1 for s, f in zip(shape, p)] for p in in_full]
    red_shapes = [[s if f else 1 for s, f in zip(shape, p)] for p in red_kept]
    return Nest(shape, in_shapes, red_shapes, [g for _, _, g in dims], in_full, red_kept)
