"""Convolution, pooling and padding layers (MXNet 1.9.1's ``gluon.nn.conv_layers``):
``Conv1D/2D/3D``, ``Conv1DTranspose/2DTranspose/3DTranspose``, ``MaxPool1D/2D/3D``,
``AvgPool1D/2D/3D``, ``GlobalMaxPool1D/2D/3D``, ``GlobalAvgPool1D/2D/3D`` and
``ReflectionPad2D``.

They call the registered ``Convolution``, ``Deconvolution``, ``Pooling`` and ``pad``
operators with MXNet's attributes. Parameter names (``conv0_weight``, ``conv0_bias``),
shapes, initialisers and reprs are MXNet's. Weight shapes:

* convolution: ``(channels, in_channels // groups, *kernel_size)`` (channel-first
  layouts) or ``(channels, *kernel_size, in_channels // groups)`` (``NHWC``/``NDHWC``);
* transposed convolution: ``(in_channels, channels // groups, *kernel_size)`` or
  ``(in_channels, *kernel_size, channels // groups)``;

with ``in_channels`` 0 (unknown) until the first forward pass fills it in through the
operator's shape rule (deferred initialisation). The bias is ``(channels,)``.

Layouts: ``NCW``/``NCHW``/``NCDHW`` everywhere; the channel-last ``NHWC``/``NDHWC`` for 2-D and
3-D (transposed) convolutions and ``NWC``/``NHWC``/``NDHWC`` for pooling are accepted as in
MXNet (whose CPU build only runs some of them; gluonlite runs them all).
"""
from __future__ import annotations

from ..block import HybridBlock
from .activations import (Activation, LayerArgumentError, _activation_types, _check_bool,
                          _check_choice, _check_init, _check_int, _check_tuple, _is_int)

__all__ = ["Conv1D", "Conv2D", "Conv3D",
           "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
           "MaxPool1D", "MaxPool2D", "MaxPool3D",
           "AvgPool1D", "AvgPool2D", "AvgPool3D",
           "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
           "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D",
           "ReflectionPad2D"]

_CONV_LAYOUTS = {1: ("NCW",), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}
_POOL_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}


def _weight_shape(transpose, channels, in_channels, groups, kernel, layout):
    """MXNet's weight shape of a (transposed) convolution layer, 0 for unknown sizes."""
    if transpose:
        lead, per_group = in_channels, channels // groups
    else:
        lead, per_group = channels, in_channels // groups
    if layout.find("C") == len(layout) - 1:     # channel-last
        return (lead,) + tuple(kernel) + (per_group,)
    return (lead, per_group) + tuple(kernel)


class _Conv(HybridBlock):
    """Shared implementation of the convolution layers (MXNet's ``_Conv``): creates
    ``weight`` and ``bias`` and calls ``Convolution`` (or ``Deconvolution``)."""

    def __init__(self, channels, kernel_size, strides, padding, dilation, groups, layout,
                 in_channels=0, activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", op_name="Convolution", adj=None, prefix=None,
                 params=None):
        name = type(self).__name__
        nd = len(kernel_size)
        _check_int(name, "channels", channels, 1)
        _check_int(name, "groups", groups, 1)
        _check_int(name, "in_channels", in_channels, 0)
        strides = _check_tuple(name, "strides", strides, nd, 1)
        padding = _check_tuple(name, "padding", padding, nd, 0)
        dilation = _check_tuple(name, "dilation", dilation, nd, 1)
        if activation is not None:
            _check_choice(name, "activation", activation, _activation_types())
        _check_bool(name, "use_bias", use_bias)
        _check_init(name, "weight_initializer", weight_initializer)
        _check_init(name, "bias_initializer", bias_initializer)
        if channels % groups:
            raise LayerArgumentError(f"{name}: channels ({channels}) must be divisible by "
                                     f"groups ({groups})")
        if in_channels % groups:
            raise LayerArgumentError(f"{name}: in_channels ({in_channels}) must be divisible "
                                     f"by groups ({groups})")
        if adj is not None:
            for o, s in zip(adj, strides):
                if o >= s:
                    raise LayerArgumentError(
                        f"{name}: every entry of output_padding must be smaller than the "
                        f"stride, got output_padding={adj!r}, strides={strides!r}")
        super().__init__(prefix=prefix, params=params)
        with self.name_scope():
            self._channels = channels
            self._in_channels = in_channels
            self._op_name = op_name
            self._kwargs = {
                "kernel": kernel_size, "stride": strides, "dilate": dilation,
                "pad": padding, "num_filter": channels, "num_group": groups,
                "no_bias": not use_bias, "layout": layout}
            if adj is not None:
                self._kwargs["adj"] = adj
            wshape = _weight_shape(op_name == "Deconvolution", channels, in_channels, groups,
                                   kernel_size, layout)
            self.weight = self.params.get("weight", shape=wshape, init=weight_initializer,
                                          allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(channels,), init=bias_initializer,
                                            allow_deferred_init=True)
            else:
                self.bias = None
            if activation is not None:
                self.act = Activation(activation, prefix=activation + "_")
            else:
                self.act = None

    def hybrid_forward(self, F, x, weight, bias=None):
        op = getattr(F, self._op_name)
        if bias is None:
            act = op(x, weight, name="fwd", **self._kwargs)
        else:
            act = op(x, weight, bias, name="fwd", **self._kwargs)
        if self.act is not None:
            act = self.act(act)
        return act

    def _alias(self):
        return "conv"

    def __repr__(self):
        # MXNet's format, quirks included: the mapping is weight.shape[1] -> weight.shape[0]
        # (for transposed convolutions: channels/groups -> in_channels), and output_padding
        # is never shown.
        k = self._kwargs
        n = len(k["kernel"])
        s = f"{type(self).__name__}({{mapping}}, kernel_size={k['kernel']}, stride={k['stride']}"
        if k["pad"] != (0,) * n:
            s += f", padding={k['pad']}"
        if k["dilate"] != (1,) * n:
            s += f", dilation={k['dilate']}"
        if k["num_group"] != 1:
            s += f", groups={k['num_group']}"
        if self.bias is None:
            s += ", bias=False"
        if self.act:
            s += f", {self.act}"
        s += ")"
        shape = self.weight.shape
        return s.format(mapping=f"{shape[1] if shape[1] else None} -> {shape[0]}")


def _kernel(layer, kernel_size, nd):
    if _is_int(kernel_size):
        _check_int(layer, "kernel_size", kernel_size, 1)
        return (int(kernel_size),) * nd
    if not isinstance(kernel_size, (tuple, list)):
        raise TypeError(f"{layer}: kernel_size must be an int or a tuple of {nd} int(s), got "
                        f"{kernel_size!r}")
    if len(kernel_size) != nd:
        raise LayerArgumentError(f"{layer}: kernel_size must be a number or a list of {nd} "
                                 f"ints, got {kernel_size!r}")
    return _check_tuple(layer, "kernel_size", kernel_size, nd, 1)


def _output_padding(layer, output_padding, nd):
    return _check_tuple(layer, "output_padding", output_padding, nd, 0)


_CONV_DOC = """

    Parameters
    ----------
    channels : int
        Number of output channels (filters).
    kernel_size : int or tuple of {nd} ints
        Size of the convolution window.
    strides : int or tuple of {nd} ints, default 1
    padding : int or tuple of {nd} ints, default 0
        Zero padding added on both sides of each spatial dimension.{extra}
    dilation : int or tuple of {nd} ints, default 1
    groups : int, default 1
        Number of groups: input and output channels are split into ``groups`` groups,
        convolved separately and concatenated.
    layout : str, default '{layout}'
        {layouts}.
    activation : str, optional
        Activation applied to the output (see :class:`Activation`).
    use_bias : bool, default True
    weight_initializer : str or Initializer
        Initializer of ``weight`` (None: the global initializer).
    bias_initializer : str or Initializer, default 'zeros'
    in_channels : int, default 0
        Number of input channels; 0 defers initialisation to the first forward pass.
    prefix, params : see :class:`Block`.

    Parameters created: ``weight`` {wshape} and ``bias`` ``(channels,)``.
    """

_OUTPAD_DOC = """
    output_padding : int or tuple of {nd} ints, default 0
        Extra size added to one side of each output dimension (smaller than the stride)."""


def _conv_doc(nd, layout, transpose):
    layouts = _CONV_LAYOUTS[nd]
    lay = "Only " + repr(layouts[0]) if len(layouts) == 1 else \
        " or ".join(repr(x) for x in layouts) + " (channel-last)"
    wshape = ("``(in_channels, channels // groups, *kernel_size)``" if transpose else
              "``(channels, in_channels // groups, *kernel_size)``")
    return _CONV_DOC.format(nd=nd, layout=layout, layouts=lay, wshape=wshape,
                            extra=_OUTPAD_DOC.format(nd=nd) if transpose else "")


class Conv1D(_Conv):
    __doc__ = """1-D convolution over ``(N, C, W)`` data (MXNet's ``nn.Conv1D``), optionally
    followed by an activation.""" + _conv_doc(1, "NCW", False)

    def __init__(self, channels, kernel_size, strides=1, padding=0, dilation=1, groups=1,
                 layout="NCW", activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, prefix=None, params=None):
        _check_choice("Conv1D", "layout", layout, _CONV_LAYOUTS[1])
        kernel_size = _kernel("Conv1D", kernel_size, 1)
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, "Convolution", prefix=prefix, params=params)


class Conv2D(_Conv):
    __doc__ = """2-D convolution over ``(N, C, H, W)`` data (MXNet's ``nn.Conv2D``), optionally
    followed by an activation.""" + _conv_doc(2, "NCHW", False)

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0),
                 dilation=(1, 1), groups=1, layout="NCHW", activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0,
                 prefix=None, params=None):
        _check_choice("Conv2D", "layout", layout, _CONV_LAYOUTS[2])
        kernel_size = _kernel("Conv2D", kernel_size, 2)
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, "Convolution", prefix=prefix, params=params)


class Conv3D(_Conv):
    __doc__ = """3-D convolution over ``(N, C, D, H, W)`` data (MXNet's ``nn.Conv3D``),
    optionally followed by an activation.""" + _conv_doc(3, "NCDHW", False)

    def __init__(self, channels, kernel_size, strides=(1, 1, 1), padding=(0, 0, 0),
                 dilation=(1, 1, 1), groups=1, layout="NCDHW", activation=None,
                 use_bias=True, weight_initializer=None, bias_initializer="zeros",
                 in_channels=0, prefix=None, params=None):
        _check_choice("Conv3D", "layout", layout, _CONV_LAYOUTS[3])
        kernel_size = _kernel("Conv3D", kernel_size, 3)
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, "Convolution", prefix=prefix, params=params)


class Conv1DTranspose(_Conv):
    __doc__ = """1-D transposed convolution (MXNet's ``nn.Conv1DTranspose``, the
    ``Deconvolution`` operator): output width ``(W - 1) * strides - 2 * padding +
    dilation * (kernel_size - 1) + 1 + output_padding``.""" + _conv_doc(1, "NCW", True)

    def __init__(self, channels, kernel_size, strides=1, padding=0, output_padding=0,
                 dilation=1, groups=1, layout="NCW", activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0,
                 prefix=None, params=None):
        _check_choice("Conv1DTranspose", "layout", layout, _CONV_LAYOUTS[1])
        kernel_size = _kernel("Conv1DTranspose", kernel_size, 1)
        output_padding = _output_padding("Conv1DTranspose", output_padding, 1)
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, "Deconvolution", adj=output_padding, prefix=prefix,
                         params=params)
        self.outpad = output_padding


class Conv2DTranspose(_Conv):
    __doc__ = """2-D transposed convolution (MXNet's ``nn.Conv2DTranspose``, the
    ``Deconvolution`` operator): each output size is ``(in - 1) * strides - 2 * padding +
    dilation * (kernel_size - 1) + 1 + output_padding``.""" + _conv_doc(2, "NCHW", True)

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0),
                 output_padding=(0, 0), dilation=(1, 1), groups=1, layout="NCHW",
                 activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, prefix=None, params=None):
        _check_choice("Conv2DTranspose", "layout", layout, _CONV_LAYOUTS[2])
        kernel_size = _kernel("Conv2DTranspose", kernel_size, 2)
        output_padding = _output_padding("Conv2DTranspose", output_padding, 2)
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, "Deconvolution", adj=output_padding, prefix=prefix,
                         params=params)
        self.outpad = output_padding


class Conv3DTranspose(_Conv):
    __doc__ = """3-D transposed convolution (MXNet's ``nn.Conv3DTranspose``, the
    ``Deconvolution`` operator): each output size is ``(in - 1) * strides - 2 * padding +
    dilation * (kernel_size - 1) + 1 + output_padding``.""" + _conv_doc(3, "NCDHW", True)

    def __init__(self, channels, kernel_size, strides=(1, 1, 1), padding=(0, 0, 0),
                 output_padding=(0, 0, 0), dilation=(1, 1, 1), groups=1, layout="NCDHW",
                 activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, prefix=None, params=None):
        _check_choice("Conv3DTranspose", "layout", layout, _CONV_LAYOUTS[3])
        kernel_size = _kernel("Conv3DTranspose", kernel_size, 3)
        output_padding = _output_padding("Conv3DTranspose", output_padding, 3)
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, "Deconvolution", adj=output_padding, prefix=prefix,
                         params=params)
        self.outpad = output_padding


# --- pooling ----------------------------------------------------------------------------------
class _Pooling(HybridBlock):
    """Shared implementation of the pooling layers (MXNet's ``_Pooling``): calls the
    ``Pooling`` operator."""

    def __init__(self, pool_size, strides, padding, ceil_mode, global_pool, pool_type, layout,
                 count_include_pad=None, prefix=None, params=None):
        name = type(self).__name__
        nd = len(pool_size)
        if strides is None:
            strides = pool_size
        strides = _check_tuple(name, "strides", strides, nd, 1)
        padding = _check_tuple(name, "padding", padding, nd, 0)
        _check_bool(name, "ceil_mode", ceil_mode)
        if count_include_pad is not None:
            _check_bool(name, "count_include_pad", count_include_pad)
        if not global_pool:
            for p, k in zip(padding, pool_size):
                if p >= k:
                    raise LayerArgumentError(f"{name}: every entry of padding must be smaller "
                                             f"than pool_size, got padding={padding!r}, "
                                             f"pool_size={pool_size!r}")
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {
            "kernel": pool_size, "stride": strides, "pad": padding,
            "global_pool": global_pool, "pool_type": pool_type, "layout": layout,
            "pooling_convention": "full" if ceil_mode else "valid"}
        if count_include_pad is not None:
            self._kwargs["count_include_pad"] = count_include_pad

    def _alias(self):
        return "pool"

    def hybrid_forward(self, F, x):
        return F.Pooling(x, name="fwd", **self._kwargs)

    def __repr__(self):
        k = self._kwargs
        return (f"{type(self).__name__}(size={k['kernel']}, stride={k['stride']}, "
                f"padding={k['pad']}, ceil_mode={k['pooling_convention'] == 'full'}, "
                f"global_pool={k['global_pool']}, pool_type={k['pool_type']}, "
                f"layout={k['layout']})")


def _pool_size(layer, pool_size, nd):
    if _is_int(pool_size):
        _check_int(layer, "pool_size", pool_size, 1)
        return (int(pool_size),) * nd
    if not isinstance(pool_size, (tuple, list)):
        raise TypeError(f"{layer}: pool_size must be an int or a tuple of {nd} int(s), got "
                        f"{pool_size!r}")
    if len(pool_size) != nd:
        raise LayerArgumentError(f"{layer}: pool_size must be a number or a list of {nd} "
                                 f"ints, got {pool_size!r}")
    return _check_tuple(layer, "pool_size", pool_size, nd, 1)


_POOL_DOC = """

    Parameters
    ----------
    pool_size : int or tuple of {nd} ints, default {default}
        Size of the pooling windows.
    strides : int, tuple of {nd} ints or None, default None
        Window strides; None means ``pool_size``.
    padding : int or tuple of {nd} ints, default 0
        Padding on both sides of each spatial dimension (smaller than ``pool_size``).
    layout : str, default '{layout}'
        {layouts}.
    ceil_mode : bool, default False
        Use ``ceil`` instead of ``floor`` to compute the output size (MXNet's 'full'
        pooling convention).{extra}

    Inputs: **data** ``{shape}`` (in ``layout``). Outputs: **out** with the pooled spatial
    size ``floor((in + 2 * padding - pool_size) / strides) + 1`` (``ceil`` with
    ``ceil_mode``).
    """

_COUNT_PAD_DOC = """
    count_include_pad : bool, default True
        Whether padded positions count in the divisor of the average."""

_SHAPES = {1: "(N, C, W)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def _pool_doc(nd, avg):
    lay = " or ".join(repr(x) for x in _POOL_LAYOUTS[nd])
    return _POOL_DOC.format(nd=nd, default=2 if nd == 1 else (2,) * nd,
                            layout=_POOL_LAYOUTS[nd][0], layouts=lay, shape=_SHAPES[nd],
                            extra=_COUNT_PAD_DOC if avg else "")


class MaxPool1D(_Pooling):
    __doc__ = """Max pooling over 1-D windows (MXNet's ``nn.MaxPool1D``).""" + \
        _pool_doc(1, False)

    def __init__(self, pool_size=2, strides=None, padding=0, layout="NCW", ceil_mode=False,
                 prefix=None, params=None):
        _check_choice("MaxPool1D", "layout", layout, _POOL_LAYOUTS[1])
        pool_size = _pool_size("MaxPool1D", pool_size, 1)
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout,
                         prefix=prefix, params=params)


class MaxPool2D(_Pooling):
    __doc__ = """Max pooling over 2-D windows (MXNet's ``nn.MaxPool2D``).""" + \
        _pool_doc(2, False)

    def __init__(self, pool_size=(2, 2), strides=None, padding=0, layout="NCHW",
                 ceil_mode=False, prefix=None, params=None):
        _check_choice("MaxPool2D", "layout", layout, _POOL_LAYOUTS[2])
        pool_size = _pool_size("MaxPool2D", pool_size, 2)
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout,
                         prefix=prefix, params=params)


class MaxPool3D(_Pooling):
    __doc__ = """Max pooling over 3-D windows (MXNet's ``nn.MaxPool3D``).""" + \
        _pool_doc(3, False)

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False,
                 layout="NCDHW", prefix=None, params=None):
        _check_choice("MaxPool3D", "layout", layout, _POOL_LAYOUTS[3])
        pool_size = _pool_size("MaxPool3D", pool_size, 3)
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout,
                         prefix=prefix, params=params)


class AvgPool1D(_Pooling):
    __doc__ = """Average pooling over 1-D windows (MXNet's ``nn.AvgPool1D``).""" + \
        _pool_doc(1, True)

    def __init__(self, pool_size=2, strides=None, padding=0, layout="NCW", ceil_mode=False,
                 count_include_pad=True, prefix=None, params=None):
        _check_choice("AvgPool1D", "layout", layout, _POOL_LAYOUTS[1])
        pool_size = _pool_size("AvgPool1D", pool_size, 1)
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, prefix=prefix, params=params)


class AvgPool2D(_Pooling):
    __doc__ = """Average pooling over 2-D windows (MXNet's ``nn.AvgPool2D``).""" + \
        _pool_doc(2, True)

    def __init__(self, pool_size=(2, 2), strides=None, padding=0, ceil_mode=False,
                 layout="NCHW", count_include_pad=True, prefix=None, params=None):
        _check_choice("AvgPool2D", "layout", layout, _POOL_LAYOUTS[2])
        pool_size = _pool_size("AvgPool2D", pool_size, 2)
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, prefix=prefix, params=params)


class AvgPool3D(_Pooling):
    __doc__ = """Average pooling over 3-D windows (MXNet's ``nn.AvgPool3D``).""" + \
        _pool_doc(3, True)

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False,
                 layout="NCDHW", count_include_pad=True, prefix=None, params=None):
        _check_choice("AvgPool3D", "layout", layout, _POOL_LAYOUTS[3])
        pool_size = _pool_size("AvgPool3D", pool_size, 3)
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, prefix=prefix, params=params)


_GLOBAL_DOC = """

    Parameters
    ----------
    layout : str, default '{layout}'
        {layouts}.

    Inputs: **data** ``{shape}`` (in ``layout``). Outputs: **out** with every spatial size 1.
    """


def _global_doc(nd):
    lay = " or ".join(repr(x) for x in _POOL_LAYOUTS[nd])
    return _GLOBAL_DOC.format(layout=_POOL_LAYOUTS[nd][0], layouts=lay, shape=_SHAPES[nd])


class GlobalMaxPool1D(_Pooling):
    __doc__ = """Global max pooling over the whole width (MXNet's ``nn.GlobalMaxPool1D``).""" + \
        _global_doc(1)

    def __init__(self, layout="NCW", prefix=None, params=None):
        _check_choice("GlobalMaxPool1D", "layout", layout, _POOL_LAYOUTS[1])
        super().__init__((1,), None, 0, True, True, "max", layout, prefix=prefix,
                         params=params)


class GlobalMaxPool2D(_Pooling):
    __doc__ = """Global max pooling over each feature map (MXNet's ``nn.GlobalMaxPool2D``).""" + \
        _global_doc(2)

    def __init__(self, layout="NCHW", prefix=None, params=None):
        _check_choice("GlobalMaxPool2D", "layout", layout, _POOL_LAYOUTS[2])
        super().__init__((1, 1), None, 0, True, True, "max", layout, prefix=prefix,
                         params=params)


class GlobalMaxPool3D(_Pooling):
    __doc__ = """Global max pooling over each volume (MXNet's ``nn.GlobalMaxPool3D``).""" + \
        _global_doc(3)

    def __init__(self, layout="NCDHW", prefix=None, params=None):
        _check_choice("GlobalMaxPool3D", "layout", layout, _POOL_LAYOUTS[3])
        super().__init__((1, 1, 1), None, 0, True, True, "max", layout, prefix=prefix,
                         params=params)


class GlobalAvgPool1D(_Pooling):
    __doc__ = """Global average pooling over the whole width (MXNet's
    ``nn.GlobalAvgPool1D``).""" + _global_doc(1)

    def __init__(self, layout="NCW", prefix=None, params=None):
        _check_choice("GlobalAvgPool1D", "layout", layout, _POOL_LAYOUTS[1])
        super().__init__((1,), None, 0, True, True, "avg", layout, prefix=prefix,
                         params=params)


class GlobalAvgPool2D(_Pooling):
    __doc__ = """Global average pooling over each feature map (MXNet's
    ``nn.GlobalAvgPool2D``).""" + _global_doc(2)

    def __init__(self, layout="NCHW", prefix=None, params=None):
        _check_choice("GlobalAvgPool2D", "layout", layout, _POOL_LAYOUTS[2])
        super().__init__((1, 1), None, 0, True, True, "avg", layout, prefix=prefix,
                         params=params)


class GlobalAvgPool3D(_Pooling):
    __doc__ = """Global average pooling over each volume (MXNet's ``nn.GlobalAvgPool3D``).""" + \
        _global_doc(3)

    def __init__(self, layout="NCDHW", prefix=None, params=None):
        _check_choice("GlobalAvgPool3D", "layout", layout, _POOL_LAYOUTS[3])
        super().__init__((1, 1, 1), None, 0, True, True, "avg", layout, prefix=prefix,
                         params=params)


class ReflectionPad2D(HybridBlock):
    r"""Pads the two spatial axes of ``(N, C, H, W)`` data by reflecting the input about its
    borders, without repeating them (MXNet's ``nn.ReflectionPad2D``, the ``pad`` operator
    with ``mode='reflect'``).

    Parameters
    ----------
    padding : int or tuple of 8 ints, default 0
        An int ``p`` pads ``p`` on every side of H and W; a tuple is MXNet's ``pad_width``
        ``(0, 0, 0, 0, top, bottom, left, right)``. Each width must be smaller than the axis
        it pads.

    Inputs: **data** ``(N, C, H, W)``. Outputs: **out** ``(N, C, H + top + bottom,
    W + left + right)``.
    """

    def __init__(self, padding=0, prefix=None, params=None):
        if _is_int(padding):
            _check_int("ReflectionPad2D", "padding", padding, 0)
            padding = (0, 0, 0, 0, padding, padding, padding, padding)
        padding = _check_tuple("ReflectionPad2D", "padding", padding, 8, 0)
        if any(padding[:4]):
            raise LayerArgumentError(f"ReflectionPad2D: the batch and channel axes cannot be "
                                     f"padded: the first four entries of padding must be 0, "
                                     f"got {padding!r}")
        super().__init__(prefix=prefix, params=params)
        self._padding = padding

    def hybrid_forward(self, F, x):
        return F.pad(x, mode="reflect", pad_width=self._padding)
