"""MXNet 1.9.1's linear algebra operators (``mx.nd.linalg.*`` / ``mx.sym.linalg.*``; the
registry names are MXNet's ``_linalg_<name>``, aliased ``linalg_<name>``).

Every operator works on the trailing two axes (the matrices); leading axes are a batch.
As in MXNet:

* ``gemm``/``gemm2`` take ``axis``, the axis of the matrix rows (default -2; the columns
  are always the last axis);
* ``potrf``, ``potri``, ``trsm`` and ``trmm`` read only the triangle their ``lower``
  flag names (``potrf``/``potri``: the lower one) and return zeros in the other triangle
  where their output is triangular;
* ``det``, ``slogdet`` and ``sumlogdiag`` of one matrix return shape ``(1,)`` (MXNet has
  no 0-d arrays), of a batch the batch shape;
* ``extracttrian``/``maketrian`` store the lower triangle row by row and the upper one
  column by column (i.e. the upper triangle of ``A`` is the lower one of ``A^T``);
* ``syevd`` returns ``(U, L)`` with the eigenvectors as the rows of ``U`` and each row's
  largest-magnitude entry positive, eigenvalues ascending;
* the gradients of ``potrf`` and ``syevd`` are MXNet's symmetric ones (their inputs are
  symmetric matrices), those of ``potri``/``trsm``/``trmm`` with respect to the triangular
  input are triangular.

Gradients of the linear operators (``gemm``, ``gemm2``, ``syrk``, the diagonal and
triangle copies, ``inverse``) are written with these operators, so they are
differentiable again; the factorizations have the backward operators
``_backward_linalg_<name>`` (like MXNet's, not differentiable themselves).
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError
from .attrs import Bool, Float, Int
from .registry import forward_shape, register

__all__ = []

_FLOATS = ("float16", "float32", "float64")


# --- helpers ------------------------------------------------------------------------------
def _T(x):
    return x.swapaxes(-1, -2)


def _need_float(name, *arrs, lapack=False):
    """Floating point inputs; float32/float64 for the operators that call LAPACK, which
    has no float16 routines (nor has MXNet's)."""
    ok = _FLOATS[1:] if lapack else _FLOATS
    for a in arrs:
        if a.dtype.name not in ok:
            raise MXNetError(f"linalg.{name}: inputs must be {', '.join(ok[:-1])} or {ok[-1]} "
                             f"arrays, got {a.dtype.name}")


def _need_matrix(name, what, shape, square=False):
    shape = tuple(shape)
    if len(shape) < 2:
        raise MXNetError(f"linalg.{name}: {what} must have at least 2 dimensions (a matrix "
                         f"or a batch of them), got shape {shape}")
    if square and shape[-1] != shape[-2]:
        raise MXNetError(f"linalg.{name}: {what} must be (a batch of) square matrices, got "
                         f"shape {shape}")


def _tri(xp, x, lower, k=0):
    return xp.tril(x, k) if lower else xp.triu(x, -k)


def _batch_out(v, ndim):
    """A per-matrix scalar result: shape (1,) for a single matrix, as MXNet's."""
    return v.reshape(1) if ndim == 2 else v


def _ascontig(xp, x, dtype):
    return xp.ascontiguousarray(x, dtype=dtype)


def _mat_axis(name, shape, axis):
    nd = len(shape)
    ax = axis + nd if axis < 0 else axis
    if not 0 <= ax < nd - 1:
        raise MXNetError(f"linalg.{name}: axis={axis} is out of range for inputs of shape "
                         f"{tuple(shape)} (the row axis must come before the last axis)")
    return ax


def _moveaxis(x, src, dst):
    perm = list(range(x.ndim))
    perm.insert(dst % x.ndim, perm.pop(src))
    return x.transpose(perm)


def _gemm_shapes(name, ashape, bshape, ta, tb, axis):
    for what, s in (("A", ashape), ("B", bshape)):
        _need_matrix(name, what, s)
    if len(ashape) != len(bshape):
        raise MXNetError(f"linalg.{name}: A {tuple(ashape)} and B {tuple(bshape)} must have "
                         "the same number of dimensions")
    ax = _mat_axis(name, ashape, axis)
    a = list(ashape)
    b = list(bshape)
    ar, ac = a[ax], a[-1]
    br, bc = b[ax], b[-1]
    rest_a = [d for i, d in enumerate(a) if i not in (ax, len(a) - 1)]
    rest_b = [d for i, d in enumerate(b) if i not in (ax, len(b) - 1)]
    if rest_a != rest_b:
        raise MXNetError(f"linalg.{name}: batch dimensions of A {tuple(ashape)} and B "
                         f"{tuple(bshape)} differ")
    m, k1 = (ac, ar) if ta else (ar, ac)
    k2, n = (bc, br) if tb else (br, bc)
    if k1 != k2:
        raise MXNetError(f"linalg.{name}: inner dimensions differ: op(A) is {m}x{k1} "
                         f"(transpose_a={bool(ta)}), op(B) is {k2}x{n} "
                         f"(transpose_b={bool(tb)}); A {tuple(ashape)}, B {tuple(bshape)}")
    out = list(a)
    out[ax], out[-1] = m, n
    return tuple(out), ax


def _gemm2_core(xp, A, B, ta, tb, alpha, ax):
    a = _moveaxis(A, ax, -2)
    b = _moveaxis(B, ax, -2)
    r = xp.matmul(_T(a) if ta else a, _T(b) if tb else b)
    if alpha != 1.0:
        r = r * r.dtype.type(alpha)
    return r if ax == A.ndim - 2 else _moveaxis(r, -2, ax)


# --- gemm / gemm2 -------------------------------------------------------------------------
@register("_linalg_gemm", aliases=("linalg_gemm",),
          shape=forward_shape(lambda a, A, B, C: _gemm_c_shape(a, A, B, C)))
def linalg_gemm(rt, A, B, C, *, transpose_a: Bool = False, transpose_b: Bool = False,
                alpha: Float = 1.0, beta: Float = 1.0, axis: Int = -2):
    """``alpha * op(A) @ op(B) + beta * C`` on the trailing matrices (``op`` transposes
    when ``transpose_a``/``transpose_b``); ``axis`` is the axis of the rows."""
    _need_float("gemm", A, B, C)
    oshape = _gemm_c_shape(dict(transpose_a=transpose_a, transpose_b=transpose_b, axis=axis),
                           A.shape, B.shape, C.shape)
    ax = _mat_axis("gemm", A.shape, axis)
    xp = rt.xp
    r = _gemm2_core(xp, A, B, transpose_a, transpose_b, alpha, ax)
    r = r + C * C.dtype.type(beta)
    return _ascontig(xp, r.reshape(oshape), A.dtype)


def _gemm_c_shape(a, A, B, C):
    out, _ = _gemm_shapes("gemm", A, B, a["transpose_a"], a["transpose_b"], a["axis"])
    if tuple(C) != out:
        raise MXNetError(f"linalg.gemm: C has shape {tuple(C)}, but op(A) @ op(B) has shape "
                         f"{out}")
    return out


def _gemm_grads(F, a, A, B, g, need):
    ta, tb, al, ax = a["transpose_a"], a["transpose_b"], a["alpha"], a["axis"]
    mm = F.linalg_gemm2
    dA = dB = None
    if need[0]:
        if not ta:
            dA = mm(g, B, transpose_b=not tb, alpha=al, axis=ax)
        else:
            dA = mm(B, g, transpose_a=tb, transpose_b=True, alpha=al, axis=ax)
    if need[1]:
        if not tb:
            dB = mm(A, g, transpose_a=not ta, alpha=al, axis=ax)
        else:
            dB = mm(g, A, transpose_a=True, transpose_b=ta, alpha=al, axis=ax)
    return dA, dB


@linalg_gemm.gradient
def _(F, a, ins, outs, ogs, need):
    A, B, C = ins
    g = ogs[0]
    dA, dB = _gemm_grads(F, a, A, B, g, need)
    return dA, dB, (g * a["beta"] if need[2] else None)


@register("_linalg_gemm2", aliases=("linalg_gemm2",),
          shape=forward_shape(lambda a, A, B: _gemm_shapes(
              "gemm2", A, B, a["transpose_a"], a["transpose_b"], a["axis"])[0]))
def linalg_gemm2(rt, A, B, *, transpose_a: Bool = False, transpose_b: Bool = False,
                 alpha: Float = 1.0, axis: Int = -2):
    """``alpha * op(A) @ op(B)`` on the trailing matrices; ``axis`` is the row axis."""
    _need_float("gemm2", A, B)
    _, ax = _gemm_shapes("gemm2", A.shape, B.shape, transpose_a, transpose_b, axis)
    return _ascontig(rt.xp, _gemm2_core(rt.xp, A, B, transpose_a, transpose_b, alpha, ax),
                     A.dtype)


@linalg_gemm2.gradient
def _(F, a, ins, outs, ogs, need):
    return _gemm_grads(F, a, ins[0], ins[1], ogs[0], need)


# --- syrk ---------------------------------------------------------------------------------
def _syrk_shape(a, A):
    _need_matrix("syrk", "A", A)
    k = A[-1] if a["transpose"] else A[-2]
    return tuple(A[:-2]) + (k, k)


@register("_linalg_syrk", aliases=("linalg_syrk",), shape=forward_shape(_syrk_shape))
def linalg_syrk(rt, A, *, transpose: Bool = False, alpha: Float = 1.0):
    """``alpha * A @ A^T`` (``alpha * A^T @ A`` with ``transpose``)."""
    _need_float("syrk", A)
    _syrk_shape({"transpose": transpose}, A.shape)
    xp = rt.xp
    r = xp.matmul(_T(A), A) if transpose else xp.matmul(A, _T(A))
    return _ascontig(xp, r * A.dtype.type(alpha), A.dtype)


@linalg_syrk.gradient
def _(F, a, ins, outs, ogs, need):
    A, = ins
    g = ogs[0]
    s = g + F.swapaxes(g, dim1=-1, dim2=-2)
    if a["transpose"]:
        return (F.linalg_gemm2(A, s, alpha=a["alpha"]),)
    return (F.linalg_gemm2(s, A, alpha=a["alpha"]),)


# --- triangular products / solves ---------------------------------------------------------
def _tr_shape(name):
    def rule(a, A, B):
        _need_matrix(name, "A", A, square=True)
        _need_matrix(name, "B", B)
        if len(A) != len(B) or tuple(A[:-2]) != tuple(B[:-2]):
            raise MXNetError(f"linalg.{name}: batch dimensions of A {tuple(A)} and B "
                             f"{tuple(B)} differ")
        k = B[-1] if a["rightside"] else B[-2]
        if k != A[-1]:
            side = "columns" if a["rightside"] else "rows"
            raise MXNetError(f"linalg.{name}: B {tuple(B)} must have as many {side} as A "
                             f"{tuple(A)} (rightside={bool(a['rightside'])})")
        return tuple(B)
    return rule


def _opA(xp, A, lower, transpose):
    t = _tri(xp, A, lower)
    return _T(t) if transpose else t


@register("_linalg_trmm", aliases=("linalg_trmm",), shape=forward_shape(_tr_shape("trmm")))
def linalg_trmm(rt, A, B, *, transpose: Bool = False, rightside: Bool = False,
                lower: Bool = True, alpha: Float = 1.0):
    """``alpha * op(A) @ B`` (``alpha * B @ op(A)`` with ``rightside``) for the triangular
    ``A`` (its ``lower`` or upper triangle is used)."""
    _need_float("trmm", A, B)
    _tr_shape("trmm")(dict(rightside=rightside), A.shape, B.shape)
    xp = rt.xp
    oa = _opA(xp, A, lower, transpose)
    r = xp.matmul(B, oa) if rightside else xp.matmul(oa, B)
    return _ascontig(xp, r * B.dtype.type(alpha), B.dtype)


@linalg_trmm.gradient
def _(F, a, ins, outs, ogs, need):
    A, B = ins
    gA, gB = F._backward_linalg_trmm(ogs[0], A, B, **a)
    return (gA if need[0] else None), (gB if need[1] else None)


def _bw2_shape(a, in_shapes):
    return in_shapes, [in_shapes[1], in_shapes[2]]


@register("_backward_linalg_trmm", shape=_bw2_shape, num_outputs=2,
          output_names=("A_grad", "B_grad"))
def _backward_linalg_trmm(rt, ograd, A, B, *, transpose: Bool = False,
                          rightside: Bool = False, lower: Bool = True, alpha: Float = 1.0):
    """Gradients of :func:`linalg_trmm` for its output gradient ``ograd``."""
    xp = rt.xp
    al = B.dtype.type(alpha)
    oa = _opA(xp, A, lower, transpose)
    if rightside:
        gB = xp.matmul(ograd, _T(oa)) * al
        gop = xp.matmul(_T(B), ograd) * al
    else:
        gB = xp.matmul(_T(oa), ograd) * al
        gop = xp.matmul(ograd, _T(B)) * al
    gA = _tri(xp, _T(gop) if transpose else gop, lower)
    return _ascontig(xp, gA, A.dtype), _ascontig(xp, gB, B.dtype)


def _solve(xp, M, R):
    try:
        return xp.linalg.solve(M, R)
    except Exception as e:  # LinAlgError of numpy or cupy
        raise MXNetError(f"linalg: singular triangular matrix ({e})") from None


@register("_linalg_trsm", aliases=("linalg_trsm",), shape=forward_shape(_tr_shape("trsm")))
def linalg_trsm(rt, A, B, *, transpose: Bool = False, rightside: Bool = False,
                lower: Bool = True, alpha: Float = 1.0):
    """Solves ``op(A) X = alpha B`` (``X op(A) = alpha B`` with ``rightside``) for the
    triangular ``A`` (its ``lower`` or upper triangle is used)."""
    _need_float("trsm", A, B, lapack=True)
    _tr_shape("trsm")(dict(rightside=rightside), A.shape, B.shape)
    xp = rt.xp
    oa = _opA(xp, A, lower, transpose)
    al = B.dtype.type(alpha)
    if rightside:  # X op(A) = aB  <=>  op(A)^T X^T = a B^T
        r = _T(_solve(xp, _T(oa), _T(B) * al))
    else:
        r = _solve(xp, oa, B * al)
    return _ascontig(xp, r, B.dtype)


@linalg_trsm.gradient
def _(F, a, ins, outs, ogs, need):
    A, B = ins
    gA, gB = F._backward_linalg_trsm(ogs[0], A, outs[0], **a)
    return (gA if need[0] else None), (gB if need[1] else None)


@register("_backward_linalg_trsm", shape=_bw2_shape, num_outputs=2,
          output_names=("A_grad", "B_grad"))
def _backward_linalg_trsm(rt, ograd, A, out, *, transpose: Bool = False,
                          rightside: Bool = False, lower: Bool = True, alpha: Float = 1.0):
    """Gradients of :func:`linalg_trsm` from its output ``out`` and output gradient
    ``ograd``: ``(A_grad, B_grad)``."""
    xp = rt.xp
    oa = _opA(xp, A, lower, transpose)
    if rightside:  # Y = g op(A)^{-T}
        Y = _T(_solve(xp, oa, _T(ograd)))
        gop = -xp.matmul(_T(out), Y)
    else:  # Y = op(A)^{-T} g
        Y = _solve(xp, _T(oa), ograd)
        gop = -xp.matmul(Y, _T(out))
    gA = _tri(xp, _T(gop) if transpose else gop, lower)
    return _ascontig(xp, gA, A.dtype), _ascontig(xp, Y * out.dtype.type(alpha), out.dtype)


# --- Cholesky -----------------------------------------------------------------------------
def _square_shape(name):
    def rule(a, A):
        _need_matrix(name, "A", A, square=True)
        return tuple(A)
    return rule


def _cholesky(xp, A, name):
    low = xp.tril(A)
    sym = low + _T(xp.tril(A, -1))  # LAPACK's potrf reads the lower triangle only
    try:
        return xp.linalg.cholesky(sym)
    except Exception as e:
        raise MXNetError(f"linalg.{name}: the matrix is not positive definite ({e})") from None


@register("_linalg_potrf", aliases=("linalg_potrf",), shape=forward_shape(_square_shape("potrf")))
def linalg_potrf(rt, A):
    """The Cholesky factor ``L`` (lower triangular, ``A = L L^T``) of the symmetric
    positive definite ``A`` (its lower triangle is read)."""
    _need_float("potrf", A, lapack=True)
    _square_shape("potrf")({}, A.shape)
    return _ascontig(rt.xp, _cholesky(rt.xp, A, "potrf"), A.dtype)


@linalg_potrf.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_linalg_potrf(ogs[0], outs[0]),)


def _copy_ltu(xp, M):
    """The symmetric matrix with ``M``'s lower triangle (and diagonal)."""
    return xp.tril(M) + _T(xp.tril(M, -1))


def _inv(xp, M, name):
    try:
        return xp.linalg.inv(M)
    except Exception as e:
        raise MXNetError(f"linalg.{name}: singular matrix ({e})") from None


@register("_backward_linalg_potrf", shape=lambda a, s: (s, [s[1]]))
def _backward_linalg_potrf(rt, ograd, L):
    """MXNet's (symmetric) gradient of ``potrf``: ``0.5 L^-T copyLTU(L^T dL) L^-1``."""
    xp = rt.xp
    Li = _inv(xp, xp.tril(L), "potrf")
    S = _copy_ltu(xp, xp.matmul(_T(L), ograd))
    return _ascontig(xp, 0.5 * xp.matmul(xp.matmul(_T(Li), S), Li), L.dtype)


@register("_linalg_potri", aliases=("linalg_potri",), shape=forward_shape(_square_shape("potri")))
def linalg_potri(rt, A):
    """``(A A^T)^-1`` for the lower triangular Cholesky factor ``A`` (the inverse of the
    matrix ``potrf`` factored)."""
    _need_float("potri", A, lapack=True)
    _square_shape("potri")({}, A.shape)
    xp = rt.xp
    Li = _inv(xp, xp.tril(A), "potri")
    return _ascontig(xp, xp.matmul(_T(Li), Li), A.dtype)


@linalg_potri.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_linalg_potri(ogs[0], ins[0], outs[0]),)


@register("_backward_linalg_potri", shape=lambda a, s: (s, [s[1]]))
def _backward_linalg_potri(rt, ograd, A, out):
    """Gradient of ``potri``: ``-tril(out (g + g^T) out L)``."""
    xp = rt.xp
    g = ograd + _T(ograd)
    r = -xp.tril(xp.matmul(xp.matmul(xp.matmul(out, g), out), xp.tril(A)))
    return _ascontig(xp, r, A.dtype)


# --- LQ factorization ---------------------------------------------------------------------
def _gelqf_shape(a, A):
    _need_matrix("gelqf", "A", A)
    if A[-2] > A[-1]:
        raise MXNetError(f"linalg.gelqf: A must have at most as many rows as columns, got "
                         f"shape {tuple(A)}")
    return [tuple(A), tuple(A[:-1]) + (A[-2],)]


_gelqf_shape.num_outputs = 2


@register("_linalg_gelqf", aliases=("linalg_gelqf",), shape=forward_shape(_gelqf_shape),
          num_outputs=2, output_names=("Q", "L"))
def linalg_gelqf(rt, A):
    """LQ factorization ``A = L Q`` of the ``m x n`` matrices ``A`` (``m <= n``): returns
    ``(Q, L)`` with ``Q`` ``m x n`` of orthonormal rows and ``L`` ``m x m`` lower
    triangular (LAPACK's signs, as MXNet)."""
    _need_float("gelqf", A, lapack=True)
    _gelqf_shape({}, A.shape)
    xp = rt.xp
    q, r = xp.linalg.qr(_T(A))
    return _ascontig(xp, _T(q), A.dtype), _ascontig(xp, _T(r), A.dtype)


@linalg_gelqf.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_linalg_gelqf(ogs[0], ogs[1], outs[0], outs[1]),)


@register("_backward_linalg_gelqf", shape=lambda a, s: (s, [s[2]]))
def _backward_linalg_gelqf(rt, dQ, dL, Q, L):
    """Gradient of ``gelqf``: ``L^-T (dQ + copyLTU(L^T dL - dQ Q^T) Q)``."""
    xp = rt.xp
    M = xp.matmul(_T(L), dL) - xp.matmul(dQ, _T(Q))
    R = dQ + xp.matmul(_copy_ltu(xp, M), Q)
    Li = _inv(xp, L, "gelqf")
    return _ascontig(xp, xp.matmul(_T(Li), R), Q.dtype)


# --- symmetric eigendecomposition ---------------------------------------------------------
def _syevd_shape(a, A):
    _need_matrix("syevd", "A", A, square=True)
    return [tuple(A), tuple(A[:-1])]


_syevd_shape.num_outputs = 2


@register("_linalg_syevd", shape=forward_shape(_syevd_shape),
          num_outputs=2, output_names=("U", "L"))
def linalg_syevd(rt, A):
    """Eigendecomposition ``A = U^T diag(L) U`` of the symmetric ``A`` (its lower triangle
    is read): eigenvectors are the rows of ``U`` (each with its largest-magnitude entry
    positive), eigenvalues ``L`` ascending."""
    _need_float("syevd", A, lapack=True)
    _syevd_shape({}, A.shape)
    xp = rt.xp
    lam, V = xp.linalg.eigh(A, UPLO="L")
    U = _T(V)
    idx = xp.argmax(xp.abs(U), axis=-1)[..., None]
    sign = xp.where(xp.take_along_axis(U, idx, axis=-1) < 0, -1.0, 1.0).astype(U.dtype)
    return _ascontig(xp, U * sign, A.dtype), _ascontig(xp, lam, A.dtype)


@linalg_syevd.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_linalg_syevd(ogs[0], ogs[1], outs[0], outs[1]),)


@register("_backward_linalg_syevd", shape=lambda a, s: (s, [s[2]]))
def _backward_linalg_syevd(rt, dU, dL, U, L):
    """Symmetric gradient of ``syevd``: ``sym(U^T (diag(dL) + F o (U dU^T)) U)`` with
    ``F_ij = 1 / (L_j - L_i)`` off the diagonal (0 for equal eigenvalues)."""
    xp = rt.xp
    diff = L[..., None, :] - L[..., :, None]
    with np.errstate(divide="ignore"):
        Fm = xp.where(diff == 0, 0.0, 1.0 / xp.where(diff == 0, 1.0, diff))
    inner = Fm * xp.matmul(U, _T(dU))
    n = L.shape[-1]
    inner = inner + xp.eye(n, dtype=U.dtype) * dL[..., None, :]
    G = xp.matmul(xp.matmul(_T(U), inner), U)
    return _ascontig(xp, 0.5 * (G + _T(G)), U.dtype)


# --- inverse, determinants ----------------------------------------------------------------
@register("_linalg_inverse", aliases=("linalg_inverse",),
          shape=forward_shape(_square_shape("inverse")))
def linalg_inverse(rt, A):
    """The inverse of each square matrix of ``A``."""
    _need_float("inverse", A, lapack=True)
    _square_shape("inverse")({}, A.shape)
    return _ascontig(rt.xp, _inv(rt.xp, A, "inverse"), A.dtype)


@linalg_inverse.gradient
def _(F, a, ins, outs, ogs, need):
    B = outs[0]
    return (-F.linalg_gemm2(F.linalg_gemm2(B, ogs[0], transpose_a=True), B, transpose_b=True),)


def _scalar_shape(name):
    def rule(a, A):
        _need_matrix(name, "A", A, square=True)
        return tuple(A[:-2]) or (1,)
    return rule


@register("_linalg_det", aliases=("linalg_det",), shape=forward_shape(_scalar_shape("det")))
def linalg_det(rt, A):
    """The determinant of each square matrix (shape ``(1,)`` for one matrix)."""
    _need_float("det", A, lapack=True)
    _scalar_shape("det")({}, A.shape)
    xp = rt.xp
    return _ascontig(xp, _batch_out(xp.linalg.det(A), A.ndim), A.dtype)


@linalg_det.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_linalg_det(ogs[0], ins[0], outs[0]),)


@register("_backward_linalg_det", shape=lambda a, s: (s, [s[1]]))
def _backward_linalg_det(rt, ograd, A, det):
    """Gradient of ``det``: ``g * det(A) * A^-T``."""
    xp = rt.xp
    bshape = A.shape[:-2] + (1, 1)
    c = (ograd * det).reshape(bshape)
    return _ascontig(xp, c * _T(_inv(xp, A, "det")), A.dtype)


def _slogdet_shape(a, A):
    s = _scalar_shape("slogdet")(a, A)
    return [s, s]


_slogdet_shape.num_outputs = 2


@register("_linalg_slogdet", aliases=("linalg_slogdet",), shape=forward_shape(_slogdet_shape),
          num_outputs=2, output_names=("sign", "logdet"))
def linalg_slogdet(rt, A):
    """``(sign, log|det|)`` of each square matrix (shape ``(1,)`` each for one matrix)."""
    _need_float("slogdet", A, lapack=True)
    _slogdet_shape({}, A.shape)
    xp = rt.xp
    s, ld = xp.linalg.slogdet(A)
    return (_ascontig(xp, _batch_out(s, A.ndim), A.dtype),
            _ascontig(xp, _batch_out(ld, A.ndim), A.dtype))


@linalg_slogdet.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_linalg_slogdet(ogs[1], ins[0]),)


@register("_backward_linalg_slogdet", shape=lambda a, s: (s, [s[1]]))
def _backward_linalg_slogdet(rt, ograd, A):
    """Gradient of ``slogdet`` (through ``logdet``; ``sign`` is piecewise constant):
    ``g * A^-T``."""
    xp = rt.xp
    c = ograd.reshape(A.shape[:-2] + (1, 1))
    return _ascontig(xp, c * _T(_inv(xp, A, "slogdet")), A.dtype)


@register("_linalg_sumlogdiag", aliases=("linalg_sumlogdiag",),
          shape=forward_shape(_scalar_shape("sumlogdiag")))
def linalg_sumlogdiag(rt, A):
    """``sum(log(diag(A)))`` of each square matrix (shape ``(1,)`` for one matrix)."""
    _need_float("sumlogdiag", A)
    _scalar_shape("sumlogdiag")({}, A.shape)
    xp = rt.xp
    d = xp.diagonal(A, axis1=-2, axis2=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = xp.log(d).sum(axis=-1)
    return _ascontig(xp, _batch_out(r, A.ndim), A.dtype)


@linalg_sumlogdiag.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._backward_linalg_sumlogdiag(ogs[0], ins[0]),)


@register("_backward_linalg_sumlogdiag", shape=lambda a, s: (s, [s[1]]))
def _backward_linalg_sumlogdiag(rt, ograd, A):
    """Gradient of ``sumlogdiag``: ``g / diag(A)`` on the diagonal, 0 elsewhere."""
    xp = rt.xp
    n = A.shape[-1]
    d = xp.diagonal(A, axis1=-2, axis2=-1)
    g = ograd.reshape(A.shape[:-2] + (1,))
    return _ascontig(xp, xp.eye(n, dtype=A.dtype) * (g / d)[..., None, :], A.dtype)


# --- diagonals and triangles --------------------------------------------------------------
def _extractdiag_shape(a, A):
    _need_matrix("extractdiag", "A", A, square=True)
    n, k = A[-1], a["offset"]
    if abs(k) >= n:
        raise MXNetError(f"linalg.extractdiag: offset={k} is out of range for {n}x{n} "
                         "matrices")
    return tuple(A[:-2]) + (n - abs(k),)


@register("_linalg_extractdiag", aliases=("linalg_extractdiag",),
          shape=forward_shape(_extractdiag_shape))
def linalg_extractdiag(rt, A, *, offset: Int = 0):
    """The diagonal ``offset`` (>0 above, <0 below the main one) of each square matrix."""
    _extractdiag_shape({"offset": offset}, A.shape)
    xp = rt.xp
    return xp.ascontiguousarray(xp.diagonal(A, offset=offset, axis1=-2, axis2=-1))


@linalg_extractdiag.gradient
def _(F, a, ins, outs, ogs, need):
    return (F.linalg_makediag(ogs[0], offset=a["offset"]),)


def _makediag_shape(a, A):
    if len(A) < 1:
        raise MXNetError("linalg.makediag: A must have at least 1 dimension")
    n = A[-1] + abs(a["offset"])
    return tuple(A[:-1]) + (n, n)


@register("_linalg_makediag", aliases=("linalg_makediag",), shape=forward_shape(_makediag_shape))
def linalg_makediag(rt, A, *, offset: Int = 0):
    """Square matrices with the vectors on the last axis of ``A`` on diagonal ``offset``,
    zeros elsewhere."""
    oshape = _makediag_shape({"offset": offset}, A.shape)
    xp = rt.xp
    out = xp.zeros(oshape, dtype=A.dtype)
    m = A.shape[-1]
    r = xp.arange(m)
    rows, cols = (r, r + offset) if offset >= 0 else (r - offset, r)
    out[..., rows, cols] = A
    return out


@linalg_makediag.gradient
def _(F, a, ins, outs, ogs, need):
    return (F.linalg_extractdiag(ogs[0], offset=a["offset"]),)


def _trian_index(n, offset, lower):
    """Row and column indices of the triangle ``extracttrian`` reads, in its order: the
    lower triangle row by row; the upper one column by column (= lower of the transpose)."""
    if offset == 0:
        low = lower
        k = 0
    else:
        low = offset < 0
        k = -abs(offset)
    r, c = np.tril_indices(n, k)  # row-major lower triangle below diagonal k
    return (r, c) if low else (c, r)


def _extracttrian_shape(a, A):
    _need_matrix("extracttrian", "A", A, square=True)
    n, k = A[-1], a["offset"]
    if abs(k) >= n:
        raise MXNetError(f"linalg.extracttrian: offset={k} is out of range for {n}x{n} "
                         "matrices")
    m = n - abs(k)
    return tuple(A[:-2]) + (m * (m + 1) // 2,)


@register("_linalg_extracttrian", aliases=("linalg_extracttrian",),
          shape=forward_shape(_extracttrian_shape))
def linalg_extracttrian(rt, A, *, offset: Int = 0, lower: Bool = True):
    """The triangle of each square matrix as a vector: with ``offset=0`` the lower (or,
    ``lower=False``, upper) one including the diagonal; ``offset>0`` the upper one from
    that diagonal up, ``offset<0`` the lower one from that diagonal down."""
    _extracttrian_shape({"offset": offset}, A.shape)
    r, c = _trian_index(A.shape[-1], offset, lower)
    xp = rt.xp
    return xp.ascontiguousarray(A[..., xp.asarray(r), xp.asarray(c)])


@linalg_extracttrian.gradient
def _(F, a, ins, outs, ogs, need):
    return (F.linalg_maketrian(ogs[0], offset=a["offset"], lower=a["lower"]),)


def _maketrian_shape(a, A):
    if len(A) < 1:
        raise MXNetError("linalg.maketrian: A must have at least 1 dimension")
    m = A[-1]
    t = int(round((np.sqrt(8 * m + 1) - 1) / 2))
    if t * (t + 1) // 2 != m:
        raise MXNetError(f"linalg.maketrian: the last axis of A has length {m}, which is not "
                         "a triangular number n*(n+1)/2")
    n = t + abs(a["offset"])
    return tuple(A[:-1]) + (n, n)


@register("_linalg_maketrian", aliases=("linalg_maketrian",),
          shape=forward_shape(_maketrian_shape))
def linalg_maketrian(rt, A, *, offset: Int = 0, lower: Bool = True):
    """The inverse of :func:`linalg_extracttrian`: square matrices with the vectors of
    ``A`` in that triangle, zeros elsewhere."""
    oshape = _maketrian_shape({"offset": offset}, A.shape)
    xp = rt.xp
    out = xp.zeros(oshape, dtype=A.dtype)
    r, c = _trian_index(oshape[-1], offset, lower)
    out[..., xp.asarray(r), xp.asarray(c)] = A
    return out


@linalg_maketrian.gradient
def _(F, a, ins, outs, ogs, need):
    return (F.linalg_extracttrian(ogs[0], offset=a["offset"], lower=a["lower"]),)
