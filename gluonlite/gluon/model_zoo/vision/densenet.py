"""DenseNet-BC 121/161/169/201 (MXNet 1.9.1's ``model_zoo.vision.densenet``), with MXNet's
parameter names (``densenet0_stage1_conv0_weight``, ...)."""
from __future__ import annotations

from ....context import cpu
from ...block import HybridBlock
from ... import nn
from ...contrib.nn import HybridConcurrent, Identity
from ._common import check_choice, check_classes, load_pretrained

__all__ = ['DenseNet', 'densenet121', 'densenet161', 'densenet169', 'densenet201']


def _make_dense_block(num_layers, bn_size, growth_rate, dropout, stage_index):
    out = nn.HybridSequential(prefix='stage%d_' % stage_index)
    with out.name_scope():
        for _ in range(num_layers):
            out.add(_make_dense_layer(growth_rate, bn_size, dropout))
    return out


def _make_dense_layer(growth_rate, bn_size, dropout):
    new_features = nn.HybridSequential(prefix='')
    new_features.add(nn.BatchNorm())
    new_features.add(nn.Activation('relu'))
    new_features.add(nn.Conv2D(bn_size * growth_rate, kernel_size=1, use_bias=False))
    new_features.add(nn.BatchNorm())
    new_features.add(nn.Activation('relu'))
    new_features.add(nn.Conv2D(growth_rate, kernel_size=3, padding=1, use_bias=False))
    if dropout:
        new_features.add(nn.Dropout(dropout))
    # each layer's output is its input with the new features appended (dense connectivity)
    out = HybridConcurrent(axis=1, prefix='')
    out.add(Identity())
    out.add(new_features)
    return out


def _make_transition(num_output_features):
    out = nn.HybridSequential(prefix='')
    out.add(nn.BatchNorm())
    out.add(nn.Activation('relu'))
    out.add(nn.Conv2D(num_output_features, kernel_size=1, use_bias=False))
    out.add(nn.AvgPool2D(pool_size=2, strides=2))
    return out


class DenseNet(HybridBlock):
    r"""DenseNet-BC from `"Densely Connected Convolutional Networks"
    <https://arxiv.org/pdf/1608.06993.pdf>`_. The features end in ``AvgPool2D(7)``, so
    inputs must be about 224x224 (the last feature map at least 7x7).

    Parameters
    ----------
    num_init_features : int
        Number of filters of the first convolution.
    growth_rate : int
        Number of filters each dense layer adds (`k` in the paper).
    block_config : list of int
        Number of layers in each dense block.
    bn_size : int, default 4
        Bottleneck width factor (``bn_size * growth_rate`` features in the 1x1 conv).
    dropout : float, default 0
        Rate of dropout after each dense layer.
    classes : int, default 1000
        Number of classification classes.
    """

    def __init__(self, num_init_features, growth_rate, block_config,
                 bn_size=4, dropout=0, classes=1000, **kwargs):
        super().__init__(**kwargs)
        check_classes('DenseNet', classes)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='')
            self.features.add(nn.Conv2D(num_init_features, kernel_size=7,
                                        strides=2, padding=3, use_bias=False))
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation('relu'))
            self.features.add(nn.MaxPool2D(pool_size=3, strides=2, padding=1))
            num_features = num_init_features
            for i, num_layers in enumerate(block_config):
                self.features.add(_make_dense_block(num_layers, bn_size, growth_rate,
                                                    dropout, i + 1))
                num_features = num_features + num_layers * growth_rate
                if i != len(block_config) - 1:
                    self.features.add(_make_transition(num_features // 2))
                    num_features = num_features // 2
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation('relu'))
            self.features.add(nn.AvgPool2D(pool_size=7))
            self.features.add(nn.Flatten())
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        x = self.features(x)
        return self.output(x)


densenet_spec = {121: (64, 32, [6, 12, 24, 16]),
                 161: (96, 48, [6, 12, 36, 24]),
                 169: (64, 32, [6, 12, 32, 32]),
                 201: (64, 32, [6, 12, 48, 32])}


def get_densenet(num_layers, pretrained=False, ctx=cpu(), root=None, **kwargs):
    r"""DenseNet-BC (see :class:`DenseNet`).

    Parameters
    ----------
    num_layers : int
        Number of layers: 121, 161, 169 or 201.
    pretrained : bool, default False
        Load MXNet's pretrained weights (``<root>/densenet<N>-<hash>.params``).
    ctx : Context, default CPU
        The context in which to load the pretrained weights.
    root : str, default $MXNET_HOME/models
        Location for keeping the model parameters.
    bn_size, dropout, classes, prefix, params : passed to :class:`DenseNet`.
    """
    check_choice('get_densenet', 'num_layers', num_layers, sorted(densenet_spec))
    num_init_features, growth_rate, block_config = densenet_spec[num_layers]
    net = DenseNet(num_init_features, growth_rate, block_config, **kwargs)
    if pretrained:
        load_pretrained(net, 'densenet%d' % num_layers, ctx, root)
    return net


def densenet121(**kwargs):
    r"""DenseNet-BC 121 (keyword arguments as :func:`get_densenet`)."""
    return get_densenet(121, **kwargs)


def densenet161(**kwargs):
    r"""DenseNet-BC 161 (keyword arguments as :func:`get_densenet`)."""
    return get_densenet(161, **kwargs)


def densenet169(**kwargs):
    r"""DenseNet-BC 169 (keyword arguments as :func:`get_densenet`)."""
    return get_densenet(169, **kwargs)


def densenet201(**kwargs):
    r"""DenseNet-BC 201 (keyword arguments as :func:`get_densenet`)."""
    return get_densenet(201, **kwargs)
