"""Basic layers (MXNet 1.9.1's ``gluon.nn.basic_layers``): ``Dense``, ``Dropout``,
``BatchNorm``, ``BatchNormReLU``, ``InstanceNorm``, ``LayerNorm``, ``GroupNorm``,
``Embedding`` and ``Flatten``.

Every layer is a HybridBlock whose ``hybrid_forward(self, F, x, ...)`` calls the registered
operator MXNet's layer calls (``FullyConnected``, ``Dropout``, ``BatchNorm``, ...), with
MXNet's parameter names, shapes, dtypes, ``grad_req`` and initialisers (``dense0_weight``
``(units, in_units)``; bias ``'zeros'``; BatchNorm ``gamma`` ``'ones'``, ``running_mean``
``'zeros'`` with ``grad_req='null'``, ...).

Deferred initialisation: a size left at 0 (``in_units``, ``in_channels``) leaves a 0 in the
parameter's shape; the first forward hands the parameter to the operator as a
``DeferredArray`` and the operator's shape rule fills the shape in from the input.
"""
from __future__ import annotations

from ...base import np_dtype
from ..block import HybridBlock
from .activations import (Activation, _activation_types, _check_bool, _check_choice,
                          _check_dtype, _check_init, _check_int, _check_number, _is_int)

__all__ = ["Dense", "Dropout", "BatchNorm", "BatchNormReLU", "InstanceNorm", "LayerNorm",
           "GroupNorm", "Embedding", "Flatten"]


def _check_activation(layer, activation):
    if activation is None:
        return None
    return _check_choice(layer, "activation", activation, _activation_types())


def _kwargs_repr(kwargs):
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


class Dense(HybridBlock):
    r"""A densely-connected layer (MXNet's ``nn.Dense``):
    ``output = activation(dot(input, weight.T) + bias)``.

    Parameters
    ----------
    units : int
        Dimensionality of the output space.
    activation : str, optional
        Activation function applied to the output (see :class:`Activation`); None for none
        ("linear").
    use_bias : bool, default True
        Whether the layer has a bias vector.
    flatten : bool, default True
        If True, all but the first axis of the input are collapsed together; if False, the
        transformation applies to the last axis and all others are kept.
    dtype : str or np.dtype, default 'float32'
        Data type of the parameters (and so of the input and output).
    weight_initializer : str or Initializer
        Initializer of ``weight`` (None: the global initializer).
    bias_initializer : str or Initializer, default 'zeros'
        Initializer of ``bias``.
    in_units : int, default 0
        Size of the input; 0 defers initialisation to the first forward pass.
    prefix, params : see :class:`Block`.

    Parameters created: ``weight`` ``(units, in_units)`` and ``bias`` ``(units,)``.

    Inputs: **data** ``(batch_size, x1, ..., xn)`` with ``x1*...*xn == in_units`` when
    ``flatten``, else ``(x1, ..., xn, in_units)``. Outputs: **out** ``(batch_size, units)``
    when ``flatten``, else ``(x1, ..., xn, units)``.
    """

    def __init__(self, units, activation=None, use_bias=True, flatten=True, dtype="float32",
                 weight_initializer=None, bias_initializer="zeros", in_units=0, prefix=None,
                 params=None):
        name = "Dense"
        _check_int(name, "units", units, 1)
        _check_activation(name, activation)
        _check_bool(name, "use_bias", use_bias)
        _check_bool(name, "flatten", flatten)
        _check_dtype(name, "dtype", dtype)
        _check_init(name, "weight_initializer", weight_initializer)
        _check_init(name, "bias_initializer", bias_initializer)
        _check_int(name, "in_units", in_units, 0)
        super().__init__(prefix=prefix, params=params)
        self._flatten = flatten
        with self.name_scope():
            self._units = units
            self._in_units = in_units
            self.weight = self.params.get("weight", shape=(units, in_units),
                                          init=weight_initializer, dtype=dtype,
                                          allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(units,), init=bias_initializer,
                                            dtype=dtype, allow_deferred_init=True)
            else:
                self.bias = None
            if activation is not None:
                self.act = Activation(activation, prefix=activation + "_")
            else:
                self.act = None

    def hybrid_forward(self, F, x, weight, bias=None):
        act = F.FullyConnected(x, weight, bias, no_bias=bias is None, num_hidden=self._units,
                               flatten=self._flatten, name="fwd")
        if self.act is not None:
            act = self.act(act)
        return act

    def __repr__(self):
        shape = self.weight.shape
        layout = f"{shape[1] if shape[1] else None} -> {shape[0]}"
        return f"{type(self).__name__}({layout}, {self.act if self.act else 'linear'})"


class Dropout(HybridBlock):
    """Randomly zeroes a fraction ``rate`` of the input in training (MXNet's ``nn.Dropout``);
    the kept values are scaled by ``1 / (1 - rate)``. Outside training it is the identity.

    Parameters
    ----------
    rate : float
        Fraction of the input units to drop, in [0, 1].
    axes : tuple of int, default ()
        Axes along which the dropout mask is shared (variational dropout).

    Inputs: **data** of any shape. Outputs: **out** of the same shape.
    """

    def __init__(self, rate, axes=(), prefix=None, params=None):
        _check_number("Dropout", "rate", rate, 0, 1)
        if not isinstance(axes, (tuple, list)) or not all(_is_int(a) for a in axes):
            raise TypeError(f"Dropout: axes must be a tuple of ints, got {axes!r}")
        super().__init__(prefix=prefix, params=params)
        self._rate = rate
        self._axes = axes

    def hybrid_forward(self, F, x):
        if self._rate > 0:
            return F.Dropout(x, p=self._rate, axes=self._axes, name="fwd")
        return F.identity(x)

    def __repr__(self):
        return f"{type(self).__name__}(p = {self._rate}, axes={self._axes})"


class _BatchNorm(HybridBlock):
    """Shared implementation of :class:`BatchNorm` and :class:`BatchNormReLU`."""

    def __init__(self, axis=1, momentum=0.9, epsilon=1e-5, center=True, scale=True,
                 use_global_stats=False, fuse_relu=False, beta_initializer="zeros",
                 gamma_initializer="ones", running_mean_initializer="zeros",
                 running_variance_initializer="ones", in_channels=0, prefix=None, params=None):
        name = type(self).__name__
        _check_int(name, "axis", axis)
        _check_number(name, "momentum", momentum)
        _check_number(name, "epsilon", epsilon, lo=0, lo_open=True)
        _check_bool(name, "center", center)
        _check_bool(name, "scale", scale)
        _check_bool(name, "use_global_stats", use_global_stats)
        for arg, init in (("beta_initializer", beta_initializer),
                          ("gamma_initializer", gamma_initializer),
                          ("running_mean_initializer", running_mean_initializer),
                          ("running_variance_initializer", running_variance_initializer)):
            _check_init(name, arg, init)
        _check_int(name, "in_channels", in_channels, 0)
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"axis": axis, "eps": epsilon, "momentum": momentum,
                        "fix_gamma": not scale, "use_global_stats": use_global_stats}
        self.fuse_relu = fuse_relu
        if in_channels != 0:
            self.in_channels = in_channels
        self.gamma = self.params.get("gamma", grad_req="write" if scale else "null",
                                     shape=(in_channels,), init=gamma_initializer,
                                     allow_deferred_init=True, differentiable=scale)
        self.beta = self.params.get("beta", grad_req="write" if center else "null",
                                    shape=(in_channels,), init=beta_initializer,
                                    allow_deferred_init=True, differentiable=center)
        self.running_mean = self.params.get("running_mean", grad_req="null",
                                            shape=(in_channels,),
                                            init=running_mean_initializer,
                                            allow_deferred_init=True, differentiable=False)
        self.running_var = self.params.get("running_var", grad_req="null",
                                           shape=(in_channels,),
                                           init=running_variance_initializer,
                                           allow_deferred_init=True, differentiable=False)

    def cast(self, dtype):
        """Cast the parameters to ``dtype``; float16 becomes float32, as BatchNorm keeps its
        parameters and statistics in float32 for float16 data (MXNet)."""
        if np_dtype(dtype).name == "float16":
            dtype = "float32"
        super().cast(dtype)

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        # with fix_gamma (scale=False) the operator writes 1 into gamma, as MXNet's does
        out = F.BatchNorm(x, gamma, beta, running_mean, running_var, name="fwd",
                          **self._kwargs)
        if self.fuse_relu:
            out = F.Activation(out, act_type="relu")
        return out

    def __repr__(self):
        in_channels = self.gamma.shape[0]
        return (f"{type(self).__name__}({_kwargs_repr(self._kwargs)}, "
                f"in_channels={in_channels if in_channels else None})")


_BN_DOC = """

    Parameters
    ----------
    axis : int, default 1
        The axis to normalise: the channel axis (1 after an NCHW convolution, -1 or 3 for
        NHWC).
    momentum : float, default 0.9
        Momentum of the moving averages: ``running = running * momentum + batch * (1 -
        momentum)`` (updated by the backward pass in training, as MXNet does).
    epsilon : float, default 1e-5
        Added to the variance to avoid dividing by zero.
    center : bool, default True
        If True, add ``beta``; if False ``beta`` is not learned (``grad_req='null'``).
    scale : bool, default True
        If True, multiply by ``gamma``; if False ``gamma`` is not used (``fix_gamma``).
    use_global_stats : bool, default False
        If True, always normalise with the running statistics (a scale-and-shift).
    beta_initializer, gamma_initializer : default 'zeros', 'ones'
    running_mean_initializer, running_variance_initializer : default 'zeros', 'ones'
    in_channels : int, default 0
        Number of channels; 0 defers initialisation to the first forward pass.
    prefix, params : see :class:`Block`.

    Parameters created (shape ``(in_channels,)``): ``gamma``, ``beta``, and the statistics
    ``running_mean``, ``running_var`` (``grad_req='null'``).

    Inputs: **data** of any shape. Outputs: **out** of the same shape.
    """


class BatchNorm(_BatchNorm):
    __doc__ = """Batch normalisation (MXNet's ``nn.BatchNorm``; Ioffe and Szegedy, 2014).

    In training (``autograd.record(train_mode=True)``) the input is normalised with the
    batch mean and (biased) variance over every axis but ``axis``; otherwise, or with
    ``use_global_stats``, with the running statistics.""" + _BN_DOC

    def __init__(self, axis=1, momentum=0.9, epsilon=1e-5, center=True, scale=True,
                 use_global_stats=False, beta_initializer="zeros", gamma_initializer="ones",
                 running_mean_initializer="zeros", running_variance_initializer="ones",
                 in_channels=0, prefix=None, params=None):
        super().__init__(axis=axis, momentum=momentum, epsilon=epsilon, center=center,
                         scale=scale, use_global_stats=use_global_stats, fuse_relu=False,
                         beta_initializer=beta_initializer,
                         gamma_initializer=gamma_initializer,
                         running_mean_initializer=running_mean_initializer,
                         running_variance_initializer=running_variance_initializer,
                         in_channels=in_channels, prefix=prefix, params=params)


class BatchNormReLU(_BatchNorm):
    __doc__ = """Batch normalisation followed by ReLU (MXNet's ``nn.BatchNormReLU``, which
    runs the fused ``contrib.BatchNormWithReLU`` operator): the same parameters, statistics
    and numbers as ``BatchNorm`` then ``Activation('relu')``.""" + _BN_DOC

    def __init__(self, axis=1, momentum=0.9, epsilon=1e-5, center=True, scale=True,
                 use_global_stats=False, beta_initializer="zeros", gamma_initializer="ones",
                 running_mean_initializer="zeros", running_variance_initializer="ones",
                 in_channels=0, prefix=None, params=None):
        super().__init__(axis=axis, momentum=momentum, epsilon=epsilon, center=center,
                         scale=scale, use_global_stats=use_global_stats, fuse_relu=True,
                         beta_initializer=beta_initializer,
                         gamma_initializer=gamma_initializer,
                         running_mean_initializer=running_mean_initializer,
                         running_variance_initializer=running_variance_initializer,
                         in_channels=in_channels, prefix=prefix, params=params)


class Embedding(HybridBlock):
    r"""Turns non-negative integer indices into dense vectors of size ``output_dim``
    (MXNet's ``nn.Embedding``).

    Parameters
    ----------
    input_dim : int
        Size of the vocabulary (largest index + 1).
    output_dim : int
        Dimension of the embedding vectors.
    dtype : str or np.dtype, default 'float32'
        Data type of the embeddings (the ``weight``).
    weight_initializer : Initializer
        Initializer of ``weight`` (None: the global initializer).
    sparse_grad : bool, default False
        The weight gradient is then a ``row_sparse`` array holding the looked-up rows
        (as in MXNet); SGD/Adam with ``lazy_update=True`` update only those rows.
    prefix, params : see :class:`Block`.

    Parameter created: ``weight`` ``(input_dim, output_dim)``.

    Inputs: **data** ``(x1, ..., xN-1)`` of indices (any dtype; truncated and clipped to
    ``[0, input_dim - 1]`` as MXNet does). Outputs: **out** ``(x1, ..., xN-1, output_dim)``.
    """

    def __init__(self, input_dim, output_dim, dtype="float32", weight_initializer=None,
                 sparse_grad=False, prefix=None, params=None):
        name = "Embedding"
        _check_int(name, "input_dim", input_dim, 1)
        _check_int(name, "output_dim", output_dim, 1)
        _check_dtype(name, "dtype", dtype)
        _check_init(name, "weight_initializer", weight_initializer)
        _check_bool(name, "sparse_grad", sparse_grad)
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"input_dim": input_dim, "output_dim": output_dim, "dtype": dtype,
                        "sparse_grad": sparse_grad}
        self.weight = self.params.get("weight", shape=(input_dim, output_dim),
                                      init=weight_initializer, dtype=dtype,
                                      allow_deferred_init=True,
                                      grad_stype="row_sparse" if sparse_grad else "default")

    def hybrid_forward(self, F, x, weight):
        return F.Embedding(x, weight, name="fwd", **self._kwargs)

    def __repr__(self):
        k = self._kwargs
        return f"{type(self).__name__}({k['input_dim']} -> {k['output_dim']}, {k['dtype']})"


class Flatten(HybridBlock):
    r"""Flattens the input to two dimensions (MXNet's ``nn.Flatten``):
    ``(N, x1, ..., xn) -> (N, x1*...*xn)``."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F, x):
        return F.Flatten(x)

    def __repr__(self):
        return type(self).__name__


def _check_affine(name, epsilon, center, scale, beta_initializer, gamma_initializer):
    """The argument checks InstanceNorm, LayerNorm and GroupNorm share."""
    _check_number(name, "epsilon", epsilon, lo=0, lo_open=True)
    _check_bool(name, "center", center)
    _check_bool(name, "scale", scale)
    _check_init(name, "beta_initializer", beta_initializer)
    _check_init(name, "gamma_initializer", gamma_initializer)


def _affine_params(block, size, center, scale, beta_initializer, gamma_initializer):
    """``block.gamma`` and ``block.beta`` of shape ``(size,)`` (0: deferred), learned unless
    ``scale`` / ``center`` is False (then ``grad_req='null'``)."""
    block.gamma = block.params.get("gamma", grad_req="write" if scale else "null",
                                   shape=(size,), init=gamma_initializer,
                                   allow_deferred_init=True)
    block.beta = block.params.get("beta", grad_req="write" if center else "null",
                                  shape=(size,), init=beta_initializer,
                                  allow_deferred_init=True)


class InstanceNorm(HybridBlock):
    r"""Instance normalisation (MXNet's ``nn.InstanceNorm``; Ulyanov et al. 2016): each
    (sample, channel) is normalised over the remaining axes,
    ``out = (x - mean) / sqrt(var + epsilon) * gamma + beta``.

    Parameters
    ----------
    axis : int, default 1
        The channel axis, excluded from the normalisation with the batch axis 0.
    epsilon : float, default 1e-5
    center : bool, default True
        If False ``beta`` is not learned (``grad_req='null'``).
    scale : bool, default False
        If False ``gamma`` is not learned (``grad_req='null'``; still applied, initialised
        to ones). Note MXNet's default is False here.
    beta_initializer, gamma_initializer : default 'zeros', 'ones'
    in_channels : int, default 0
        Number of channels; 0 defers initialisation to the first forward pass.
    prefix, params : see :class:`Block`.

    Parameters created (shape ``(in_channels,)``): ``gamma``, ``beta``.

    Inputs: **data** with at least 3 dimensions. Outputs: **out** of the same shape.
    """

    def __init__(self, axis=1, epsilon=1e-5, center=True, scale=False,
                 beta_initializer="zeros", gamma_initializer="ones", in_channels=0,
                 prefix=None, params=None):
        name = "InstanceNorm"
        _check_int(name, "axis", axis)
        _check_affine(name, epsilon, center, scale, beta_initializer, gamma_initializer)
        _check_int(name, "in_channels", in_channels, 0)
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        _affine_params(self, in_channels, center, scale, beta_initializer, gamma_initializer)

    def hybrid_forward(self, F, x, gamma, beta):
        if self._axis == 1:
            return F.InstanceNorm(x, gamma, beta, name="fwd", eps=self._epsilon)
        x = F.swapaxes(x, dim1=1, dim2=self._axis)
        out = F.InstanceNorm(x, gamma, beta, name="fwd", eps=self._epsilon)
        return F.swapaxes(out, dim1=1, dim2=self._axis)

    def __repr__(self):
        return (f"{type(self).__name__}({_kwargs_repr(self._kwargs)}, "
                f"in_channels={self.gamma.shape[0]})")


class LayerNorm(HybridBlock):
    r"""Layer normalisation (MXNet's ``nn.LayerNorm``; Ba et al. 2016) over ``axis``:
    ``out = (x - mean) / sqrt(var + epsilon) * gamma + beta``.

    Parameters
    ----------
    axis : int, default -1
        The axis to normalise over (typically the channel/feature axis).
    epsilon : float, default 1e-5
    center : bool, default True
        If False ``beta`` is not learned (``grad_req='null'``).
    scale : bool, default True
        If False ``gamma`` is not learned (``grad_req='null'``).
    beta_initializer, gamma_initializer : default 'zeros', 'ones'
    in_channels : int, default 0
        Size of ``axis``; 0 defers initialisation to the first forward pass.
    prefix, params : see :class:`Block`.

    Parameters created (shape ``(in_channels,)``): ``gamma``, ``beta``.

    Inputs: **data** of any shape. Outputs: **out** of the same shape.
    """

    def __init__(self, axis=-1, epsilon=1e-5, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", in_channels=0,
                 prefix=None, params=None):
        name = "LayerNorm"
        _check_int(name, "axis", axis)
        _check_affine(name, epsilon, center, scale, beta_initializer, gamma_initializer)
        _check_int(name, "in_channels", in_channels, 0)
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        self._center = center
        self._scale = scale
        _affine_params(self, in_channels, center, scale, beta_initializer, gamma_initializer)

    def hybrid_forward(self, F, data, gamma, beta):
        return F.LayerNorm(data, gamma=gamma, beta=beta, axis=self._axis, eps=self._epsilon)

    def __repr__(self):
        return (f"{type(self).__name__}({_kwargs_repr(self._kwargs)}, "
                f"in_channels={self.gamma.shape[0]})")


class GroupNorm(HybridBlock):
    r"""Group normalisation (MXNet's ``nn.GroupNorm``; Wu and He 2018): the channels of
    ``(N, C, ...)`` data are split into ``num_groups`` groups and each (sample, group) is
    normalised, ``out = (x - mean) / sqrt(var + epsilon) * gamma + beta``.

    Parameters
    ----------
    num_groups : int, default 1
        Number of groups; must divide the number of channels.
    epsilon : float, default 1e-5
    center : bool, default True
        If False ``beta`` is not learned (``grad_req='null'``).
    scale : bool, default True
        If False ``gamma`` is not learned (``grad_req='null'``).
    beta_initializer, gamma_initializer : default 'zeros', 'ones'
    prefix, params : see :class:`Block`.

    Parameters created: ``gamma``, ``beta`` of shape ``(num_groups,)`` -- one per *group*,
    as in MXNet 1.x.

    Inputs: **data** ``(N, C, ...)``. Outputs: **out** of the same shape.
    """

    def __init__(self, num_groups=1, epsilon=1e-5, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", prefix=None,
                 params=None):
        name = "GroupNorm"
        _check_int(name, "num_groups", num_groups, 1)
        _check_affine(name, epsilon, center, scale, beta_initializer, gamma_initializer)
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "num_groups": num_groups, "center": center,
                        "scale": scale}
        self._num_groups = num_groups
        self._epsilon = epsilon
        self._center = center
        self._scale = scale
        _affine_params(self, num_groups, center, scale, beta_initializer, gamma_initializer)

    def hybrid_forward(self, F, data, gamma, beta):
        return F.GroupNorm(data, gamma=gamma, beta=beta, num_groups=self._num_groups,
                           eps=self._epsilon)

    def __repr__(self):
        return f"{type(self).__name__}({_kwargs_repr(self._kwargs)})"
