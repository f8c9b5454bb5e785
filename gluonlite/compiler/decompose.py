"""Decomposition: split the elementwise tail off an operator so that fusion can take it.

``FullyConnected`` and ``Convolution`` add their bias inside the GEMM / convolution kernel,
and ``BatchNorm`` applies its scale and shift inside its kernel, so the activation that
follows would be one more pass over the output. When such an output feeds an operator
fusion would take (ReLU, ``Activation``, any ``@op.elementwise`` operator of the same
shape), the equation is rewritten::

    FullyConnected(x, w, b)   ->  y0 = FullyConnected(x, w; no_bias)
                                  y  = broadcast_add(y0, b)
    Convolution(x, w, b)      ->  y0 = Convolution(x, w; no_bias)
                                  y  = broadcast_add(y0, reshape(b, (F, 1, 1)))
    BatchNorm(x, g, b, mm, mv) -> mean, invstd, c, s, t = _BatchNorm_stats(x, g, b, mm, mv)
                                  y  = (x - c) * s + t      (per channel, broadcast)

and :func:`~.fusion.fuse` then makes ``add + relu`` or ``(x - c) * s + t + relu`` one
generated kernel. The formulas are the operators' own (BatchNorm's training
``(x - mean) * scale + beta`` and inference ``x * scale + shift`` are both
``(x - c) * s + t``), so results equal the undecomposed graph's.

The pass runs on forward programs *after* differentiation: gradients remain the operators'
own rules (``_backward_BatchNorm`` still updates the moving statistics), and the hidden
outputs ``mean``/``invstd`` that the backward needs come from ``_BatchNorm_stats``.
"""
from __future__ import annotations

from . import fusion
from .builder import IRBuilder
from .ir import Eqn, Graph, Var
from .scalar import E

__all__ = ["decompose"]


def _fusible_consumer(y: Var, users, min_size: int) -> bool:
    """Whether some user of ``y`` is an elementwise equation fusion would take, over
    ``y``'s shape."""
    if y.shape is None or y.dtype not in fusion.FLOATS or y.size is None or y.size < min_size:
        return False
    for c in users.get(y.id, ()):
        out = c.outs[0] if len(c.outs) == 1 else None
        if out is None or out.shape != y.shape or out.dtype != y.dtype:
            continue
        ins = [E.Expr("in", value=k) for k in range(len(c.ins))]
        if fusion.elementwise_expr(c, ins) is not None:
            return True
    return False


def _rebind(e: Eqn, outs) -> Eqn:
    """``e`` producing the given (original) Vars instead of the ones it was built with."""
    for new, old in zip(e.outs, outs):
        old.shape, old.dtype = new.shape, new.dtype
    return Eqn(e.op, e.attrs, e.ins, outs, e.name)


def _bias_split(e: Eqn, channel_axis: int):
    """``op(x, w; no_bias) + b`` for FullyConnected/Convolution ``e`` with a bias, the bias
    broadcast along ``channel_axis`` of the output."""
    x, w, b = e.ins
    y = e.outs[0]
    F = IRBuilder()
    attrs = dict(e.attrs, no_bias=True)
    y0 = Var(shape=y.shape, dtype=y.dtype)
    core = Eqn(e.op, attrs, [x, w], [y0], e.name)
    n = y.shape[channel_axis]
    bshape = (n,) + (1,) * (len(y.shape) - 1 - channel_axis)
    bb = b if tuple(b.shape) == bshape else F.Reshape(b, shape=bshape)
    F.broadcast_add(y0, bb)
    return [core] + F.eqns[:-1] + [_rebind(F.eqns[-1], [y])]


def _batchnorm_split(e: Eqn):
    """``_BatchNorm_stats`` (producing BatchNorm's hidden outputs) then
    ``(x - center) * scale + shift`` for BatchNorm ``e``."""
    x = e.ins[0]
    y, mean, invstd = e.outs
    F = IRBuilder()
    F._BatchNorm_stats(*e.ins, **e.attrs)
    first = _rebind(F.eqns[-1], [mean, invstd] + list(F.eqns[-1].outs[2:]))
    F.eqns[-1] = first
    _, _, center, scale, shift = first.outs
    ax = e.attrs["axis"] % len(x.shape)
    bshape = (x.shape[ax],) + (1,) * (len(x.shape) - 1 - ax)

    def b(v):
        return v if bshape == tuple(v.shape) else F.Reshape(v, shape=bshape)

    F.broadcast_add(F.broadcast_mul(F.broadcast_sub(x, b(center)), b(scale)), b(shift))
    return F.eqns[:-1] + [_rebind(F.eqns[-1], [y])]


def _channel_axis_conv(e: Eqn) -> int:
    layout = e.attrs.get("layout")
    return len(e.outs[0].shape) - 1 if layout and layout.endswith("C") else 1


def decompose(graph: Graph, min_size: int | None = None) -> Graph:
    """The graph with each FullyConnected / Convolution bias and each BatchNorm whose output
    feeds a fusible elementwise equation split off into elementwise equations (see the
    module doc). Needs inferred shapes and dtypes; outputs below ``min_size`` elements
    (default :data:`.fusion.MIN_SIZE`) are left alone, as fusion would."""
    min_size = fusion.MIN_SIZE if min_size is None else min_size
    users: dict = {}
    for e in graph.eqns:
        for v in e.ins:
            users.setdefault(v.id, []).append(e)
    eqns = []
    changed = False
    for e in graph.eqns:
        new = None
        name = e.op.name
        if name in ("FullyConnected", "Convolution") and len(e.ins) == 3 and \
                not e.attrs.get("no_bias") and _fusible_consumer(e.outs[0], users, min_size) \
                and all(v.dtype == e.outs[0].dtype for v in e.ins):
            ax = len(e.outs[0].shape) - 1 if name == "FullyConnected" else _channel_axis_conv(e)
            new = _bias_split(e, ax)
        elif name == "BatchNorm" and _fusible_consumer(e.outs[0], users, min_size) and \
                all(v.dtype == e.outs[0].dtype and v.shape is not None for v in e.ins):
            new = _batchnorm_split(e)
        if new is None:
            eqns.append(e)
        else:
            eqns.extend(new)
            changed = True
    return Graph(graph.inputs, eqns, graph.outputs) if changed else graph
