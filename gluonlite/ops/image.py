"""Image tensor operators: ``_image_to_tensor`` and ``_image_normalize`` (MXNet 1.9.1's
``mx.nd.image.to_tensor`` / ``normalize``), so that ``transforms.ToTensor`` and
``transforms.Normalize`` hybridize as in MXNet.

* ``to_tensor``: an ``(H, W, C)`` image or ``(N, H, W, C)`` batch of any dtype, values in
  [0, 255], to float32 ``(C, H, W)`` / ``(N, C, H, W)`` in [0, 1] (``x / 255``). Its
  gradient is zero, as in MXNet.
* ``normalize``: ``(x[c] - mean[c]) / std[c]`` over the channel axis of a ``(C, H, W)`` or
  ``(N, C, H, W)`` tensor with 1 or 3 channels (MXNet's check); ``mean``/``std`` give one
  value or one per channel. Float tensors keep their dtype; integer tensors are computed in
  float32 and stored back with a C cast (truncation), as MXNet's kernel does. The gradient
  is ``g / std[c]``.
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError
from .attrs import FloatShape
from .registry import register, forward_shape, dtype_fixed, ZERO_GRAD

__all__ = []


def _to_tensor_shape(s):
    if len(s) not in (3, 4):
        raise MXNetError("to_tensor: Input image must have shape (height, width, channels), "
                         f"or (N, height, width, channels) but got {tuple(s)}")
    return (s[2], s[0], s[1]) if len(s) == 3 else (s[0], s[3], s[1], s[2])


@register("_image_to_tensor",
          shape=forward_shape(lambda a, s: _to_tensor_shape(s)), dtype=dtype_fixed("float32"))
def _image_to_tensor(rt, data):
    """``(H, W, C)`` image(s) in [0, 255] to a float32 ``(C, H, W)`` tensor in [0, 1]
    (MXNet's ``image.to_tensor``); a batch ``(N, H, W, C)`` gives ``(N, C, H, W)``."""
    _to_tensor_shape(data.shape)
    xp = rt.xp
    wide = xp.float64 if data.dtype == xp.float64 else xp.float32
    out = (data.astype(wide) / wide(255.0)).astype(xp.float32, copy=False)
    axes = (2, 0, 1) if data.ndim == 3 else (0, 3, 1, 2)
    return xp.ascontiguousarray(out.transpose(axes))


_image_to_tensor.grad_fn = ZERO_GRAD


def _channels(name, shape, mean, std):
    """The channel count of a normalize input, after MXNet's checks."""
    if len(shape) not in (3, 4):
        raise MXNetError(f"{name}: Input tensor must have shape (channels, height, width), or "
                         f"(N, channels, height, width), but got {tuple(shape)}")
    c = shape[0] if len(shape) == 3 else shape[1]
    if c not in (1, 3):
        which = "first" if len(shape) == 3 else "second"
        raise MXNetError(f"{name}: The {which} dimension of input tensor must be the channel "
                         "dimension with either 1 or 3 elements, but got input with shape "
                         f"{tuple(shape)}")
    for what, vals in (("mean", mean), ("std", std)):
        if len(vals) not in (1, c):
            raise MXNetError(f"{name}: Invalid {what} for input with shape {tuple(shape)}. "
                             f"{what} must have either 1 or {c} elements, but got "
                             f"{list(vals)}")
    if any(s == 0 for s in std):
        raise MXNetError(f"{name}: std must be non-zero, got {list(std)}")
    return c


def _per_channel(xp, vals, c, ndim, dtype):
    v = np.asarray(vals, np.float32)
    v = np.broadcast_to(v, (c,)) if v.size == 1 else v
    shape = (c, 1, 1) if ndim == 3 else (1, c, 1, 1)
    return xp.asarray(v.astype(dtype).reshape(shape))


def _normalize_shape(a, in_shapes):
    s = in_shapes[0]
    if s is not None:
        _channels("normalize", s, a["mean"], a["std"])
    return in_shapes, [s]


@register("_image_normalize", shape=_normalize_shape)
def _image_normalize(rt, data, *, mean: FloatShape = (0.0, 0.0, 0.0, 0.0),
                     std: FloatShape = (1.0, 1.0, 1.0, 1.0)):
    """``(x[c] - mean[c]) / std[c]`` for a ``(C, H, W)`` tensor or an ``(N, C, H, W)``
    batch with 1 or 3 channels (MXNet's ``image.normalize``)."""
    xp = rt.xp
    c = _channels("normalize", data.shape, mean, std)
    if data.dtype.kind == "f":
        m = _per_channel(xp, mean, c, data.ndim, data.dtype)
        s = _per_channel(xp, std, c, data.ndim, data.dtype)
        return (data - m) / s
    d = data.astype(xp.float32)
    out = (d - _per_channel(xp, mean, c, data.ndim, np.float32)) / \
        _per_channel(xp, std, c, data.ndim, np.float32)
    # MXNet stores the float result with a C cast: truncation, wrapping out of range
    return xp.trunc(out).astype(xp.int64).astype(data.dtype)


@_image_normalize.gradient
def _(F, a, ins, outs, ogs, need):
    return (F._image_normalize(ogs[0], mean=(0.0,), std=a["std"]),)
