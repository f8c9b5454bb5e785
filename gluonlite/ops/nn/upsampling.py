"""MXNet's ``UpSampling`` and ``Crop`` (4-D ``(N, C, H, W)`` data), with their gradients.

* ``UpSampling(*data, scale, sample_type='nearest', multi_input_mode='concat')`` repeats
  every pixel ``scale`` times along H and W. With several inputs the output size is the
  first input's times ``scale``; every other input is repeated by the factor that reaches
  that size, and the results are concatenated along channels (``'concat'``) or added
  (``'sum'``, equal channel counts). The gradient sums the output gradient over each
  block (``_backward_UpSampling``), whose own gradient is ``UpSampling`` again.
* ``UpSampling(data, weight, scale, sample_type='bilinear', num_filter=C)`` is MXNet's
  depthwise ``Deconvolution`` with kernel ``2*scale - scale%2``, stride ``scale``, pad
  ``ceil((scale-1)/2)``, ``num_group=num_filter`` and no bias (``weight`` is
  ``(C, 1, k, k)``, usually the ``Bilinear`` initializer); its gradients are the
  Deconvolution's.
* ``Crop(data[, crop_like], num_args, offset=(0, 0), h_w=(0, 0), center_crop=False)`` cuts
  an ``h_w`` window (or one the size of ``crop_like``) at ``offset`` (or centred, with
  integer halving). The gradient pads the output gradient with zeros back to the input's
  shape (``_backward_Crop``); ``crop_like`` gets none.
"""
from __future__ import annotations

from ...base import MXNetError
from ..attrs import Bool, Enum, Int, Shape
from ..registry import get_op, register

__all__ = []

_SAMPLE = Enum("bilinear", "nearest")
_MODE = Enum("concat", "sum")


def _check_4d(op, i, s):
    if len(s) != 4:
        raise MXNetError(f"{op}: input {i} must be 4-D (N, C, H, W), got shape {tuple(s)}")


def _bilinear_geom(scale):
    """(kernel, stride, pad) of MXNet's bilinear upsampling; pad = ceil((scale - 1) / 2)."""
    return 2 * scale - scale % 2, scale, scale // 2


def _deconv_attrs(a):
    k, s, p = _bilinear_geom(a["scale"])
    return {"kernel": (k, k), "stride": (s, s), "pad": (p, p), "num_filter": a["num_filter"],
            "num_group": a["num_filter"], "no_bias": True}


def _up_shapes(a, shapes):
    op = "UpSampling"
    n = len(shapes)
    if a["scale"] < 1:
        raise MXNetError(f"{op}: scale must be a positive int, got {a['scale']}")
    if a["num_args"] not in (0, n):
        raise MXNetError(f"{op}: num_args={a['num_args']} but {n} inputs were given")
    if n == 0:
        raise MXNetError(f"{op}: needs at least one input")
    if a["sample_type"] == "bilinear":
        if n != 2:
            raise MXNetError(f"{op}: sample_type='bilinear' takes exactly 2 inputs (data and "
                             f"weight, num_args=2), got {n}")
        d, w = shapes
        _check_4d(op, 0, d)
        c = a["num_filter"]
        if d[1] != c:
            raise MXNetError(f"{op}: bilinear upsampling needs num_filter equal to the channel "
                             f"count {d[1]} of data, got num_filter={c}")
        k = _bilinear_geom(a["scale"])[0]
        if tuple(w) != (c, 1, k, k):
            raise MXNetError(f"{op}: weight must have shape {(c, 1, k, k)} for scale="
                             f"{a['scale']}, got {tuple(w)}")
        s = a["scale"]
        return (d[0], c, d[2] * s, d[3] * s)
    for i, s in enumerate(shapes):
        _check_4d(op, i, s)
    first = shapes[0]
    oh, ow = first[2] * a["scale"], first[3] * a["scale"]
    chans = 0
    for i, s in enumerate(shapes):
        if s[0] != first[0] or oh % s[2] or ow % s[3] or oh // s[2] != ow // s[3]:
            raise MXNetError(f"{op}: input {i} of shape {tuple(s)} cannot be upsampled to "
                             f"({oh}, {ow}) by one integer factor (first input {tuple(first)}, "
                             f"scale={a['scale']})")
        if a["multi_input_mode"] == "sum" and s[1] != first[1]:
            raise MXNetError(f"{op}: multi_input_mode='sum' needs equal channel counts, got "
                             f"{first[1]} and {s[1]} (input {i})")
        chans += s[1]
    c = first[1] if a["multi_input_mode"] == "sum" else chans
    return (first[0], c, oh, ow)


def _up_shape_rule(a, in_shapes):
    if not in_shapes or any(s is None for s in in_shapes):
        if a["sample_type"] == "bilinear" and in_shapes and in_shapes[0] is not None:
            # the weight's shape follows from the attributes (deferred initialisation)
            k = _bilinear_geom(a["scale"])[0]
            ins = [in_shapes[0], (a["num_filter"], 1, k, k)]
            return ins, [_up_shapes(a, ins)]
        return in_shapes, [None]
    return in_shapes, [_up_shapes(a, in_shapes)]


def _repeat(xp, x, f):
    if f == 1:
        return x
    n, c, h, w = x.shape
    y = xp.broadcast_to(x[:, :, :, None, :, None], (n, c, h, f, w, f))
    return y.reshape(n, c, h * f, w * f)


@register("UpSampling", shape=_up_shape_rule)
def UpSampling(rt, *data, scale: Int, num_filter: Int = 0, sample_type: _SAMPLE,
               multi_input_mode: _MODE = "concat", num_args: Int = 0, workspace: Int = 512):
    """Upsample 4-D inputs by ``scale`` (MXNet's ``UpSampling``): ``'nearest'`` repeats
    pixels (several inputs are concatenated or summed), ``'bilinear'`` is a depthwise
    transposed convolution with the given ``weight``."""
    a = {"scale": scale, "num_filter": num_filter, "sample_type": sample_type,
         "multi_input_mode": multi_input_mode, "num_args": num_args}
    oshape = _up_shapes(a, [x.shape for x in data])
    xp = rt.xp
    if sample_type == "bilinear":
        deconv = get_op("Deconvolution")
        return deconv.fwd(rt, data[0], data[1], **deconv.parse_attrs(_deconv_attrs(a)))
    for x in data:
        if x.dtype != data[0].dtype:
            raise MXNetError(f"UpSampling: all inputs must have one dtype, got "
                             f"{data[0].dtype.name} and {x.dtype.name}")
    ups = [_repeat(xp, x, oshape[2] // x.shape[2]) for x in data]
    if len(ups) == 1:
        return xp.ascontiguousarray(ups[0])
    if multi_input_mode == "sum":
        out = ups[0].copy()
        for u in ups[1:]:
            out += u
        return out
    return xp.concatenate(ups, axis=1)


@UpSampling.gradient
def _(F, a, ins, outs, ogs, need):
    if a["sample_type"] == "bilinear":
        grads = F._backward_Deconvolution(ogs[0], ins[0], ins[1], **_deconv_attrs(a),
                                          need_data=bool(need[0]), need_weight=bool(need[1]))
        return tuple(g if n else None for g, n in zip(grads, need))
    g = F._backward_UpSampling(ogs[0], *ins, scale=a["scale"],
                               multi_input_mode=a["multi_input_mode"])
    return (g,) if len(ins) == 1 else tuple(g)


def _bup_shape_rule(a, in_shapes):
    return in_shapes, list(in_shapes[1:])


@register("_backward_UpSampling", shape=_bup_shape_rule,
          num_outputs=lambda a: max(a["num_args"] - 1, 1))
def _backward_UpSampling(rt, *data, scale: Int, multi_input_mode: _MODE = "concat",
                         num_args: Int = 0):
    """Gradient of nearest ``UpSampling``: ``data[0]`` (the output gradient) summed over the
    repeated blocks, one result per forward input ``data[1:]`` (which give the shapes)."""
    if len(data) < 2:
        raise MXNetError("_backward_UpSampling: needs the output gradient and the forward "
                         "inputs")
    og, likes = data[0], data[1:]
    want = _up_shapes({"scale": scale, "sample_type": "nearest", "num_filter": 0,
                       "multi_input_mode": multi_input_mode, "num_args": 0},
                      [x.shape for x in likes])
    if tuple(og.shape) != want:
        raise MXNetError(f"_backward_UpSampling: output gradient has shape "
                         f"{tuple(og.shape)}, expected {want}")
    out, begin = [], 0
    n, _, oh, ow = og.shape
    for x in likes:
        c, h, w = x.shape[1:]
        part = og if multi_input_mode == "sum" else og[:, begin:begin + c]
        f = oh // h
        out.append(part.reshape(n, c, h, f, w, f).sum(axis=(3, 5)).astype(og.dtype))
        begin += c
    return tuple(out) if len(out) > 1 else out[0]


@_backward_UpSampling.gradient
def _(F, a, ins, outs, ogs, need):
    # linear in the output gradient: the transpose of the block sum is UpSampling itself
    g = F.UpSampling(*ogs, scale=a["scale"], sample_type="nearest",
                     multi_input_mode=a["multi_input_mode"])
    return (g,) + (None,) * (len(ins) - 1)


# ---------------------------------------------------------------------------------------------
# Crop
def _crop_window(a, shapes):
    op = "Crop"
    n = len(shapes)
    if n not in (1, 2):
        raise MXNetError(f"{op}: takes 1 input (data, cropped to h_w) or 2 (data, crop_like), "
                         f"got {n}")
    if a["num_args"] not in (0, n):
        raise MXNetError(f"{op}: num_args={a['num_args']} but {n} inputs were given")
    for i, s in enumerate(shapes):
        _check_4d(op, i, s)
    d = shapes[0]
    if n == 2:
        oh, ow = shapes[1][2], shapes[1][3]
    else:
        if len(a["h_w"]) != 2:
            raise MXNetError(f"{op}: h_w must be (height, width), got {a['h_w']}")
        oh, ow = a["h_w"]
        if oh < 1 or ow < 1:
            raise MXNetError(f"{op}: with one input, h_w must give a positive (height, width), "
                             f"got h_w={tuple(a['h_w'])}")
    if a["center_crop"]:
        y, x = (d[2] - oh) // 2, (d[3] - ow) // 2
    else:
        if len(a["offset"]) != 2:
            raise MXNetError(f"{op}: offset must be (y, x), got {a['offset']}")
        y, x = a["offset"]
    if y < 0 or x < 0 or y + oh > d[2] or x + ow > d[3]:
        raise MXNetError(f"{op}: a ({oh}, {ow}) window at offset ({y}, {x}) does not fit in "
                         f"data of shape {tuple(d)}")
    return y, x, oh, ow


def _crop_shape_rule(a, in_shapes):
    if not in_shapes or any(s is None for s in in_shapes):
        return in_shapes, [None]
    _, _, oh, ow = _crop_window(a, in_shapes)
    d = in_shapes[0]
    return in_shapes, [(d[0], d[1], oh, ow)]


@register("Crop", shape=_crop_shape_rule)
def Crop(rt, *data, num_args: Int = 0, offset: Shape = (0, 0), h_w: Shape = (0, 0),
         center_crop: Bool = False):
    """Cut a window out of 4-D ``data`` (MXNet's ``Crop``): ``h_w`` big, or the size of the
    second input, at ``offset`` or centred (``center_crop``)."""
    y, x, oh, ow = _crop_window({"num_args": num_args, "offset": offset, "h_w": h_w,
                                 "center_crop": center_crop}, [s.shape for s in data])
    return rt.xp.ascontiguousarray(data[0][:, :, y:y + oh, x:x + ow])


@Crop.gradient
def _(F, a, ins, outs, ogs, need):
    g = F._backward_Crop(ogs[0], ins[0], offset=a["offset"], center_crop=a["center_crop"])
    return (g,) + (None,) * (len(ins) - 1)


@register("_backward_Crop", shape=lambda a, s: (s, [s[1]]))
def _backward_Crop(rt, ograd, data, *, offset: Shape = (0, 0), center_crop: Bool = False):
    """Gradient of ``Crop``: ``ograd`` placed in a zero array shaped like ``data``, where the
    window was cut."""
    y, x, oh, ow = _crop_window({"num_args": 0, "offset": offset, "h_w": (0, 0),
                                 "center_crop": center_crop}, [data.shape, ograd.shape])
    if ograd.shape[:2] != data.shape[:2]:
        raise MXNetError(f"_backward_Crop: ograd {tuple(ograd.shape)} and data "
                         f"{tuple(data.shape)} must agree on N and C")
    out = rt.xp.zeros(data.shape, ograd.dtype)
    out[:, :, y:y + oh, x:x + ow] = ograd
    return out


@_backward_Crop.gradient
def _(F, a, ins, outs, ogs, need):
    # the transpose of zero-padding is the crop at the same place
    return F.Crop(ogs[0], ins[0], num_args=2, offset=a["offset"],
                  center_crop=a["center_crop"]), None
