"""Dense products: ``dot``, ``batch_dot`` and ``FullyConnected`` (MXNet 1.9.1 semantics).

All products go to BLAS through ``xp.matmul`` on 2-D (or batched 2-D) views, so the
N-d forms cost one GEMM. On the CPU, :func:`matmul2d` picks between computing ``A B`` and
``(B^T A^T)^T``: OpenBLAS runs a product with few rows and many columns (a small batch
through a wide layer) up to 1.7x faster in the transposed order.

* ``dot(lhs, rhs)`` views ``lhs`` as a matrix whose *last* axis is contracted (its
  *first* axis with ``transpose_a``) and ``rhs`` as a matrix whose *first* axis is
  contracted (its *last* with ``transpose_b``); the output shape is the kept axes of
  ``lhs`` then those of ``rhs`` (1-D operands contribute no axis; a scalar result has
  shape ``(1,)``).
* ``batch_dot`` multiplies the trailing two axes of two arrays of ``ndim >= 3`` whose
  leading (batch) axes are equal.
* ``FullyConnected(data, weight, bias)`` is ``data @ weight.T + bias`` with ``weight`` of
  shape ``(num_hidden, in_units)``; with ``flatten`` (default) ``data`` is first viewed
  as ``(batch, -1)``, otherwise the product applies to the last axis.

Gradients are products again: ``batch_dot`` and ``FullyConnected`` express theirs with
``batch_dot``/``dot`` on 2-D views, so higher-order gradients come for free. ``dot``'s
N-d view (which merges several axes) has no such expression, so its gradient is the
operator ``_backward_dot``, whose own gradient is written with ``dot`` and itself.
"""
from __future__ import annotations

from ...base import MXNetError
from ..attrs import Bool, Int, OptEnum
from ..registry import register
from ..shape import reshaped

__all__ = ["dot_shapes", "matmul2d", "render_matmul"]


def _prod(seq):
    n = 1
    for s in seq:
        n *= int(s)
    return n


# --- dot -------------------------------------------------------------------------------------
def dot_shapes(lshape, rshape, transpose_a, transpose_b, name="dot"):
    """MXNet's view of ``dot``: ``(m, k, n, out_shape)`` for the product of the
    ``(m, k)`` matrix made of ``lhs`` and the ``(k, n)`` matrix made of ``rhs``.

    Raises MXNetError naming both shapes when the contracted sizes differ.
    """
    lshape, rshape = tuple(lshape), tuple(rshape)
    if len(lshape) == 0 or len(rshape) == 0:
        raise MXNetError(f"{name}: lhs and rhs must have at least one dimension, got shapes "
                         f"{lshape} and {rshape}")
    if len(lshape) == 1 and len(rshape) == 1 and (transpose_a or transpose_b):
        raise MXNetError(f"{name}: cannot transpose vectors (lhs {lshape}, rhs {rshape}); "
                         "transpose_a and transpose_b must be False for two 1-D inputs")
    if transpose_a:
        k_l, kept_l = lshape[0], lshape[1:]
    else:
        k_l, kept_l = lshape[-1], lshape[:-1]
    if transpose_b:
        k_r, kept_r = rshape[-1], rshape[:-1]
    else:
        k_r, kept_r = rshape[0], rshape[1:]
    if k_l != k_r:
        raise MXNetError(
            f"{name}: shape mismatch: lhs {lshape} (transpose_a={bool(transpose_a)}) contracts "
            f"an axis of size {k_l} but rhs {rshape} (transpose_b={bool(transpose_b)}) one of "
            f"size {k_r}")
    out = (tuple(kept_l) if len(lshape) > 1 else ()) + (tuple(kept_r) if len(rshape) > 1
                                                          else ())
    return _prod(kept_l), k_l, _prod(kept_r), (out if out else (1,))


def _transposed_faster(m, k, n):
    """Whether OpenBLAS computes the (m, k) x (k, n) product faster as its transpose
    (16x784 by 784x256 takes 98 us directly and 58 us transposed on 2 cores; square and
    tall products gain nothing, and small ones lose the layout copy)."""
    return 4 * m <= n and k > 1 and m * k * n >= 1 << 18


def matmul2d(xp, a, b, bias=None):
    """The C-contiguous product ``a @ b (+ bias)`` of two 2-D arrays, in the order BLAS
    runs fastest (:func:`_transposed_faster`); ``bias`` of shape ``(n,)`` is added in
    the same pass as the layout copy."""
    m, k = a.shape
    n = b.shape[1]
    if k == 1:  # an outer product: one broadcast multiply, not a degenerate GEMM
        out = xp.multiply(a, b)
    elif xp.__name__ == "numpy" and _transposed_faster(m, k, n):
        t = xp.matmul(b.T, a.T).T
        if bias is not None:
            return xp.add(t, bias, order="C", dtype=t.dtype)
        return xp.ascontiguousarray(t)
    else:
        out = xp.matmul(a, b)
    if bias is not None:
        out += bias
    return out


def _iadd(a, b):
    a += b
    return a


def render_matmul(L, a, ta, b, tb, m, k, n, bias=None):
    """Lowered :func:`matmul2d`: the expression of ``op(a) @ op(b) (+ bias)`` where ``a``,
    ``b`` (and ``bias``) are expressions of 2-D (1-D) arrays and ``op`` transposes when
    ``ta``/``tb``; the order is chosen now, for the known ``(m, k, n)``."""
    def t(src, flag):
        return f"{src}.T" if flag else src

    xp = L.xp
    if k == 1:
        out = f"{xp}.multiply({t(a, ta)}, {t(b, tb)})"
    elif L.cpu and _transposed_faster(m, k, n):
        prod = f"{xp}.matmul({t(b, not tb)}, {t(a, not ta)}).T"
        if bias is not None:
            return f"{xp}.add({prod}, {bias}, order='C')"
        return f"{xp}.ascontiguousarray({prod})"
    else:
        out = f"{xp}.matmul({t(a, ta)}, {t(b, tb)})"
    if bias is not None:
        return f"{L.bind(_iadd, 'iadd')}({out}, {bias})"
    return out


def _mat_lhs(x, m, k, trans):
    """``lhs`` as the (m, k) matrix of the product (a view when possible)."""
    return x.reshape(k, m).T if trans else x.reshape(m, k)


def _mat_rhs(x, k, n, trans):
    """``rhs`` as the (k, n) matrix of the product."""
    return x.reshape(n, k).T if trans else x.reshape(k, n)


def _forward_stype_check(name, forward_stype):
    if forward_stype not in (None, "default"):
        raise MXNetError(f"{name}: forward_stype={forward_stype!r} is not supported: gluonlite "
                         "arrays are dense, so the output storage type is always 'default'")


def _dot_shape(attrs, in_shapes):
    ls, rs = in_shapes
    if ls is None or rs is None:
        return in_shapes, [None]
    return in_shapes, [dot_shapes(ls, rs, attrs["transpose_a"], attrs["transpose_b"])[3]]


@register("dot", shape=_dot_shape)
def dot(rt, lhs, rhs, *, transpose_a: Bool = False, transpose_b: Bool = False,
        forward_stype: OptEnum(None, "csr", "default", "row_sparse") = None):
    """Dot product of two arrays (MXNet's ``dot``).

    ``lhs`` is contracted on its last axis (first with ``transpose_a``), ``rhs`` on its
    first axis (last with ``transpose_b``): for ``x`` of shape ``(n, m, k)`` and ``y`` of
    shape ``(k, r, s)`` the result has shape ``(n, m, r, s)``. Two 1-D inputs give their
    inner product with shape ``(1,)``. Only dense storage exists in gluonlite, so
    ``forward_stype`` may only be None or ``'default'``.
    """
    _forward_stype_check("dot", forward_stype)
    m, k, n, oshape = dot_shapes(lhs.shape, rhs.shape, transpose_a, transpose_b)
    a = _mat_lhs(lhs, m, k, transpose_a)
    b = _mat_rhs(rhs, k, n, transpose_b)
    return reshaped(matmul2d(rt.xp, a, b), oshape)


@dot.lowering
def _(L, a, ins, outs):
    lhs, rhs = ins
    if lhs.ndim != 2 or rhs.ndim != 2:
        return None
    ta, tb = a["transpose_a"], a["transpose_b"]
    m, k = (lhs.shape[1], lhs.shape[0]) if ta else lhs.shape
    n = rhs.shape[0] if tb else rhs.shape[1]
    if k > 1 and not (L.cpu and _transposed_faster(m, k, n)):
        # the GEMM writes straight into the buffer the memory plan gives it
        return L.writes(f"{L.xp}.matmul({{0}}{'.T' if ta else ''}, {{1}}{'.T' if tb else ''}, "
                        "out={o0})")
    return render_matmul(L, "{0}", ta, "{1}", tb, m, k, n)


@dot.gradient
def _(F, a, ins, outs, ogs, need):
    lhs, rhs = ins
    gl, gr = F._backward_dot(ogs[0], lhs, rhs, transpose_a=a["transpose_a"],
                             transpose_b=a["transpose_b"], need_lhs=need[0], need_rhs=need[1])
    return (gl if need[0] else None), (gr if need[1] else None)


def _bdot_shape(attrs, in_shapes):
    g, ls, rs = in_shapes
    return in_shapes, [ls, rs]


@register("_backward_dot", shape=_bdot_shape, num_outputs=2,
          output_names=("lhs_grad", "rhs_grad"))
def _backward_dot(rt, ograd, lhs, rhs, *, transpose_a: Bool = False,
                  transpose_b: Bool = False, need_lhs: Bool = True, need_rhs: Bool = True):
    """Gradients of ``dot(lhs, rhs)`` for the output gradient ``ograd``: ``(lhs_grad,
    rhs_grad)``. An output whose ``need_*`` flag is False is a zero-cost broadcast of 0
    (the caller drops it)."""
    xp = rt.xp
    m, k, n, oshape = dot_shapes(lhs.shape, rhs.shape, transpose_a, transpose_b,
                                 "_backward_dot")
    if tuple(ograd.shape) != tuple(oshape):
        raise MXNetError(f"_backward_dot: ograd has shape {tuple(ograd.shape)}, expected "
                         f"{oshape}")
    g = ograd.reshape(m, n)
    if need_lhs:
        b = _mat_rhs(rhs, k, n, transpose_b)
        # dA = G B^T, stored transposed when lhs was used transposed
        gl = matmul2d(xp, b, g.T) if transpose_a else matmul2d(xp, g, b.T)
        gl = reshaped(gl, lhs.shape)
    else:
        gl = xp.broadcast_to(xp.zeros((), lhs.dtype), lhs.shape)
    if need_rhs:
        am = _mat_lhs(lhs, m, k, transpose_a)
        # dB = A^T G, stored transposed when rhs was used transposed
        gr = matmul2d(xp, g.T, am) if transpose_b else matmul2d(xp, am.T, g)
        gr = reshaped(gr, rhs.shape)
    else:
        gr = xp.broadcast_to(xp.zeros((), rhs.dtype), rhs.shape)
    return gl, gr


@_backward_dot.gradient
def _(F, a, ins, outs, ogs, need):
    # lhs_grad = Gl(g, rhs) and rhs_grad = Gr(lhs, g) are the adjoints of dot in each
    # argument, so <u, Gl(g, rhs)> = <dot(u, rhs), g> and <v, Gr(lhs, g)> = <dot(lhs, v), g>.
    g, lhs, rhs = ins
    u, v = ogs
    ta, tb = a["transpose_a"], a["transpose_b"]
    use_u, use_v = a["need_lhs"], a["need_rhs"]
    gg = glhs = grhs = None
    if need[0]:
        if use_u:
            gg = F.dot(u, rhs, transpose_a=ta, transpose_b=tb)
        if use_v:
            t = F.dot(lhs, v, transpose_a=ta, transpose_b=tb)
            gg = t if gg is None else gg + t
        if gg is None:
            gg = F.zeros_like(g)
    if need[1]:
        glhs = (F._backward_dot(g, lhs, v, transpose_a=ta, transpose_b=tb, need_lhs=True,
                                need_rhs=False)[0] if use_v else F.zeros_like(lhs))
    if need[2]:
        grhs = (F._backward_dot(g, u, rhs, transpose_a=ta, transpose_b=tb, need_lhs=False,
                                need_rhs=True)[1] if use_u else F.zeros_like(rhs))
    return gg, glhs, grhs


# --- batch_dot -------------------------------------------------------------------------------
def batch_dot_shape(lshape, rshape, transpose_a, transpose_b, name="batch_dot"):
    """Output shape of ``batch_dot``; MXNetError for anything MXNet rejects."""
    lshape, rshape = tuple(lshape), tuple(rshape)
    if len(lshape) < 3 or len(lshape) != len(rshape):
        raise MXNetError(f"{name}: lhs and rhs must both be N-D arrays with the same N >= 3, "
                         f"got shapes {lshape} and {rshape}")
    if lshape[:-2] != rshape[:-2]:
        raise MXNetError(f"{name}: the leading batch dimensions must be equal, got {lshape} "
                         f"and {rshape}")
    m, kl = (lshape[-1], lshape[-2]) if transpose_a else (lshape[-2], lshape[-1])
    kr, n = (rshape[-1], rshape[-2]) if transpose_b else (rshape[-2], rshape[-1])
    if kl != kr:
        raise MXNetError(f"{name}: shape mismatch: {lshape} (transpose_a={bool(transpose_a)}) "
                         f"X {rshape} (transpose_b={bool(transpose_b)}) contracts sizes {kl} "
                         f"and {kr}")
    return lshape[:-2] + (m, n)


def _batch_dot_rule(attrs, in_shapes):
    ls, rs = in_shapes
    if ls is None or rs is None:
        return in_shapes, [None]
    return in_shapes, [batch_dot_shape(ls, rs, attrs["transpose_a"], attrs["transpose_b"])]


@register("batch_dot", shape=_batch_dot_rule)
def batch_dot(rt, lhs, rhs, *, transpose_a: Bool = False, transpose_b: Bool = False,
              forward_stype: OptEnum(None, "csr", "default", "row_sparse") = None):
    """Batched matrix product of the trailing two axes (MXNet's ``batch_dot``).

    ``lhs`` ``(..., M, K)`` and ``rhs`` ``(..., K, N)`` (after the optional transposes of
    their last two axes) with equal batch axes give ``(..., M, N)``.
    """
    _forward_stype_check("batch_dot", forward_stype)
    batch_dot_shape(lhs.shape, rhs.shape, transpose_a, transpose_b)
    a = rt.xp.swapaxes(lhs, -1, -2) if transpose_a else lhs
    b = rt.xp.swapaxes(rhs, -1, -2) if transpose_b else rhs
    return rt.xp.matmul(a, b)


@batch_dot.gradient
def _(F, a, ins, outs, ogs, need):
    lhs, rhs = ins
    g = ogs[0]
    ta, tb = a["transpose_a"], a["transpose_b"]
    gl = gr = None
    # out = op_a(A) op_b(B); each gradient is again one batched product
    if need[0]:
        if not ta and not tb:
            gl = F.batch_dot(g, rhs, transpose_b=True)
        elif ta and not tb:
            gl = F.batch_dot(rhs, g, transpose_b=True)
        elif not ta and tb:
            gl = F.batch_dot(g, rhs)
        else:
            gl = F.batch_dot(rhs, g, transpose_a=True, transpose_b=True)
    if need[1]:
        if not ta and not tb:
            gr = F.batch_dot(lhs, g, transpose_a=True)
        elif ta and not tb:
            gr = F.batch_dot(lhs, g)
        elif not ta and tb:
            gr = F.batch_dot(g, lhs, transpose_a=True)
        else:
            gr = F.batch_dot(g, lhs, transpose_a=True, transpose_b=True)
    return gl, gr


# --- FullyConnected --------------------------------------------------------------------------
def _fc_in_units(dshape, flatten):
    if flatten:
        return _prod(dshape[1:]) if len(dshape) > 1 else 1
    return dshape[-1]


def _fc_out_shape(dshape, num_hidden, flatten):
    if flatten:
        return (dshape[0], num_hidden)
    return tuple(dshape[:-1]) + (num_hidden,)


def _fc_check(name, got, want, dshape, a):
    if got is not None and tuple(got) != tuple(want):
        raise MXNetError(f"FullyConnected: {name} has shape {tuple(got)} but data of shape "
                         f"{tuple(dshape)} with num_hidden={a['num_hidden']}, "
                         f"flatten={a['flatten']} needs {tuple(want)}")


def _fc_bias_ok(bshape, nh):
    # MXNet accepts (num_hidden,) and (num_hidden, 1)
    return tuple(bshape) in ((nh,), (nh, 1))


def _fc_shape(a, in_shapes):
    ins = list(in_shapes)
    dshape = ins[0]
    nh = a["num_hidden"]
    if nh <= 0:
        raise MXNetError(f"FullyConnected: num_hidden must be positive, got {nh}")
    if dshape is None:
        return ins, [None]
    if len(dshape) == 0:
        raise MXNetError("FullyConnected: data must have at least one dimension")
    wshape = (nh, _fc_in_units(dshape, a["flatten"]))
    _fc_check("weight", ins[1], wshape, dshape, a)
    ins[1] = wshape
    if not a["no_bias"] and len(ins) > 2:
        if ins[2] is None:
            ins[2] = (nh,)
        elif not _fc_bias_ok(ins[2], nh):
            raise MXNetError(f"FullyConnected: bias has shape {tuple(ins[2])}, expected "
                             f"({nh},)")
    return ins, [_fc_out_shape(dshape, nh, a["flatten"])]


@register("FullyConnected", shape=_fc_shape,
          inputs=lambda a: ("data", "weight") if a["no_bias"] else ("data", "weight", "bias"))
def FullyConnected(rt, data, weight, bias=None, *, num_hidden: Int, no_bias: Bool = False,
                   flatten: Bool = True):
    """Fully connected (dense) layer: ``out = data @ weight.T + bias`` (MXNet's
    ``FullyConnected``).

    ``weight`` has shape ``(num_hidden, in_units)`` and ``bias`` ``(num_hidden,)``. With
    ``flatten=True`` (default) ``data`` of shape ``(b, x1, ..., xn)`` is viewed as
    ``(b, x1*...*xn)`` and the output is ``(b, num_hidden)``; with ``flatten=False`` the
    product applies to the last axis: ``(x1, ..., xn, in_units) -> (x1, ..., xn,
    num_hidden)``. Floating point dtypes only, as in MXNet.
    """
    if data.dtype.kind != "f":
        raise MXNetError(f"FullyConnected: data must be a floating point array, got "
                         f"{data.dtype.name}")
    ins, outs = _fc_shape({"num_hidden": num_hidden, "no_bias": no_bias, "flatten": flatten},
                          [data.shape, weight.shape] + ([] if bias is None else [bias.shape]))
    if not no_bias and bias is None:
        raise MXNetError("FullyConnected: bias is required unless no_bias=True")
    # explicit sizes, not -1: numpy cannot infer -1 for an empty batch of 0 rows
    x = (data.reshape(data.shape[0], weight.shape[1]) if flatten
         else data.reshape(-1 if data.size else 0, weight.shape[1]))
    out = matmul2d(rt.xp, x, weight.T, None if bias is None else bias.reshape(num_hidden))
    return reshaped(out, outs[0])


@FullyConnected.lowering
def _(L, a, ins, outs):
    x = ins[0]
    if not x.dtype.startswith("float"):
        return None  # the forward raises its error
    nh = a["num_hidden"]
    if a["flatten"]:
        m, k = x.shape[0], _prod(x.shape[1:])
    else:
        m, k = _prod(x.shape[:-1]), x.shape[-1]
    data = "{0}" if x.shape == (m, k) else f"{{0}}.reshape({m}, {k})"
    bias = None
    if len(ins) > 2:
        bias = "{2}" if ins[2].shape == (nh,) else f"{{2}}.reshape({nh})"
    expr = render_matmul(L, data, False, "{1}", True, m, k, nh, bias)
    if outs[0].shape != (m, nh):
        expr = f"{expr}.reshape({tuple(outs[0].shape)})"
    return expr


@FullyConnected.gradient
def _(F, a, ins, outs, ogs, need):
    x, w = ins[0], ins[1]
    g = ogs[0]
    nh = a["num_hidden"]
    if a["flatten"]:
        g2 = g
        x2 = F.Flatten(x)
    else:
        # 2-D views: (-1, num_hidden) and (-1, in_units) (reverse keeps the last axis)
        g2 = F.Reshape(g, shape=(-1, nh))
        x2 = F.Reshape(x, shape=(-1, 0), reverse=True)
    gx = gw = gb = None
    if need[0]:
        gx = F.dot(g, w) if not a["flatten"] else F.reshape_like(F.dot(g, w), x)
    if need[1]:
        gw = F.dot(g2, x2, transpose_a=True)
    if len(ins) > 2 and need[2]:
        gb = F.reshape_like(F.sum(g2, axis=0), ins[2])
    if len(ins) > 2:
        return gx, gw, gb
    return gx, gw
