"""``Dropout`` (MXNet 1.9.1 semantics).

In training (``autograd.is_training()``), or always with ``mode='always'``, each element
is kept with probability ``1 - p`` and scaled by ``1 / (1 - p)``; otherwise the output is
a copy of the input. ``axes`` shares one mask value along the listed axes (variational
dropout): the mask is drawn with those axes of size 1 and broadcast.

The mask (already scaled, as MXNet stores it) is a hidden second output so the gradient
is ``grad * mask``; it is kept as a broadcast view of the drawn mask, so sharing it along
``axes`` costs no memory. Masks come from the device's generator (``mx.random.seed``).
``p = 1`` drops everything and outputs zeros (MXNet computes ``0 * inf`` and returns NaN).
"""
from __future__ import annotations

from ...base import MXNetError
from ..attrs import Enum, Float, OptBool, Shape
from ..registry import register

__all__ = []


def _dropout_shape(a, in_shapes):
    d = in_shapes[0]
    if d is None:
        return list(in_shapes), [None, None]
    for ax in a["axes"]:
        if not -len(d) <= ax < len(d):
            raise MXNetError(f"Dropout: axes {tuple(a['axes'])} is out of range for data "
                             f"with {len(d)} dimensions")
    return list(in_shapes), [tuple(d), tuple(d)]


@register("Dropout", shape=_dropout_shape, num_outputs=2, visible_outputs=1,
          output_names=("output", "mask"), tags=("random",),
          extra_attrs={"cudnn_off": (OptBool, False)})
def Dropout(rt, data, *, p: Float = 0.5, mode: Enum("always", "training") = "training",
            axes: Shape = (), **kw):
    """Dropout (MXNet's ``Dropout``): in training (or with ``mode='always'``) zero each
    element with probability ``p`` and scale the rest by ``1/(1-p)``; ``axes`` lists axes
    along which the mask is shared. Identity otherwise."""
    if not 0.0 <= p <= 1.0:
        raise MXNetError(f"Dropout: p must lie in [0, 1], got {p}")
    if data.dtype.kind != "f":
        raise MXNetError(f"Dropout: data must be a floating point array, got "
                         f"{data.dtype.name}")
    _dropout_shape({"axes": axes}, [data.shape])
    xp = rt.xp
    if not (rt.is_train or mode == "always") or p == 0.0:
        ones = xp.broadcast_to(xp.ones((), data.dtype), data.shape)
        return data.copy(), ones
    shared = {ax % data.ndim for ax in axes}
    mshape = tuple(1 if i in shared else s for i, s in enumerate(data.shape))
    keep = 1.0 - p
    scale = data.dtype.type(1.0 / keep) if keep > 0 else data.dtype.type(0)
    mask = (rt.rng.uniform(0.0, 1.0, size=mshape) < keep).astype(data.dtype) * scale
    return data * mask, xp.broadcast_to(mask, data.shape)


@Dropout.gradient
def _(F, a, ins, outs, ogs, need):
    return (ogs[0] * outs[1],)
