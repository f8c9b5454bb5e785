"""``Embedding`` (MXNet 1.9.1 semantics) and its gradient ``_backward_Embedding``.

``Embedding(data, weight)`` looks up rows of ``weight`` (``(input_dim, output_dim)``) at
the indices in ``data`` (any dtype and shape): the output has shape ``data.shape +
(output_dim,)`` and the weight's dtype. Indices are converted as MXNet does: truncated
towards zero, then clipped into ``[0, input_dim - 1]``. The indices are not
differentiable; the weight's gradient scatter-adds the output gradient into the looked-up
rows (rows used several times accumulate).
"""
from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..attrs import Bool, DType, Int
from ..registry import register

__all__ = []


def _indices(xp, data, input_dim):
    idx = xp.trunc(data) if data.dtype.kind == "f" else data
    return xp.clip(idx.astype("int64"), 0, input_dim - 1)


def _emb_shape(a, in_shapes):
    ins = list(in_shapes)
    want = (a["input_dim"], a["output_dim"])
    if a["input_dim"] < 1 or a["output_dim"] < 1:
        raise MXNetError(f"Embedding: input_dim and output_dim must be positive, got "
                         f"{want}")
    if ins[1] is None:
        ins[1] = want
    elif tuple(ins[1]) != want:
        raise MXNetError(f"Embedding: weight has shape {tuple(ins[1])}, expected (input_dim, "
                         f"output_dim) = {want}")
    d = ins[0]
    return ins, [None if d is None else tuple(d) + (a["output_dim"],)]


def _emb_dtype(a, in_types, n_out):
    w = in_types[1] if in_types[1] is not None else a["dtype"]
    d = in_types[0] if in_types[0] is not None else "float32"
    return [d, w], [w]


@register("Embedding", shape=_emb_shape, dtype=_emb_dtype, index_inputs=("data",))
def Embedding(rt, data, weight, *, input_dim: Int, output_dim: Int, dtype: DType = "float32",
              sparse_grad: Bool = False):
    """Map integer indices to vectors (MXNet's ``Embedding``): ``out[..., :] =
    weight[clip(trunc(data[...]), 0, input_dim - 1), :]``.

    ``weight`` has shape ``(input_dim, output_dim)``; the output has shape ``data.shape +
    (output_dim,)`` and the weight's dtype (``dtype`` is the weight dtype used when it is
    inferred). With ``sparse_grad`` the weight gradient remembers the looked-up rows
    (:class:`RowsTagged`), so a row_sparse gradient buffer (``attach_grad(stype=
    'row_sparse')``, ``Embedding(sparse_grad=True)`` in Gluon) holds exactly those rows.
    """
    _emb_shape({"input_dim": input_dim, "output_dim": output_dim}, [data.shape, weight.shape])
    return rt.xp.take(weight, _indices(rt.xp, data, input_dim), axis=0)


class RowsTagged(np.ndarray):
    """A dense weight gradient of ``Embedding(sparse_grad=True)`` that remembers the rows
    looked up (``rows``): a row_sparse gradient buffer keeps exactly those rows, as MXNet's
    does, even where their gradient is 0. Any arithmetic on it gives a plain array, except
    the sum of two tagged gradients (a weight used twice), which keeps both row sets."""

    rows = None

    def __array_finalize__(self, obj):
        self.rows = None

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [x.view(np.ndarray) if isinstance(x, RowsTagged) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, RowsTagged) else o
                                  for o in kwargs["out"])
        r = getattr(ufunc, method)(*plain, **kwargs)
        if ufunc is np.add and method == "__call__" and len(inputs) == 2 and \
                all(isinstance(x, RowsTagged) and x.rows is not None for x in inputs):
            return _tag(r, np.union1d(inputs[0].rows, inputs[1].rows))
        return r


def _tag(arr, rows):
    t = arr.view(RowsTagged)
    t.rows = rows
    return t


@Embedding.gradient
def _(F, a, ins, outs, ogs, need):
    data, weight = ins
    g = F._backward_Embedding(ogs[0], data, input_dim=a["input_dim"],
                              output_dim=a["output_dim"])
    if a["sparse_grad"] and type(g) is np.ndarray:
        g = _tag(g, np.unique(_indices(np, data, a["input_dim"])).astype(np.int64))
    return None, g


def _bemb_shape(a, in_shapes):
    return list(in_shapes), [(a["input_dim"], a["output_dim"])]


@register("_backward_Embedding", shape=_bemb_shape, index_inputs=("data",))
def _backward_Embedding(rt, ograd, data, *, input_dim: Int, output_dim: Int):
    """The weight gradient of ``Embedding``: ``ograd`` (``data.shape + (output_dim,)``)
    summed into the rows of an ``(input_dim, output_dim)`` zero array at the (clipped)
    indices ``data``."""
    xp = rt.xp
    want = tuple(data.shape) + (output_dim,)
    if tuple(ograd.shape) != want:
        raise MXNetError(f"_backward_Embedding: ograd has shape {tuple(ograd.shape)}, "
                         f"expected {want}")
    out = xp.zeros((input_dim, output_dim), ograd.dtype)
    xp.add.at(out, _indices(xp, data, input_dim).reshape(-1), ograd.reshape(-1, output_dim))
    return out


@_backward_Embedding.gradient
def _(F, a, ins, outs, ogs, need):
    # linear in ograd: its adjoint is the lookup itself
    return F.Embedding(ins[1], ogs[0], input_dim=a["input_dim"],
                       output_dim=a["output_dim"]), None
