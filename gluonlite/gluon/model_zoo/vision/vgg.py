"""VGG 11/13/16/19, with and without BatchNorm (MXNet 1.9.1's ``model_zoo.vision.vgg``),
with MXNet's parameter names (``vgg0_conv0_weight``, ``vgg0_dense0_weight``, ...)."""
from __future__ import annotations

from ....context import cpu
from ....initializer import Xavier
from ...block import HybridBlock
from ... import nn
from ._common import check_choice, check_classes, load_pretrained

__all__ = ['VGG',
           'vgg11', 'vgg13', 'vgg16', 'vgg19',
           'vgg11_bn', 'vgg13_bn', 'vgg16_bn', 'vgg19_bn',
           'get_vgg']


class VGG(HybridBlock):
    r"""VGG from `"Very Deep Convolutional Networks for Large-Scale Image Recognition"
    <https://arxiv.org/abs/1409.1556>`_.

    Parameters
    ----------
    layers : list of int
        Number of 3x3 convolutions in each feature block.
    filters : list of int
        Number of filters in each feature block (as long as ``layers``).
    classes : int, default 1000
        Number of classification classes.
    batch_norm : bool, default False
        Use batch normalization after each convolution.
    """

    def __init__(self, layers, filters, classes=1000, batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        if len(layers) != len(filters):
            raise ValueError(f"VGG: layers and filters must have the same length, got "
                             f"layers={list(layers)} and filters={list(filters)}")
        check_classes('VGG', classes)
        with self.name_scope():
            self.features = self._make_features(layers, filters, batch_norm)
            self.features.add(nn.Dense(4096, activation='relu',
                                       weight_initializer='normal',
                                       bias_initializer='zeros'))
            self.features.add(nn.Dropout(rate=0.5))
            self.features.add(nn.Dense(4096, activation='relu',
                                       weight_initializer='normal',
                                       bias_initializer='zeros'))
            self.features.add(nn.Dropout(rate=0.5))
            self.output = nn.Dense(classes,
                                   weight_initializer='normal',
                                   bias_initializer='zeros')

    def _make_features(self, layers, filters, batch_norm):
        featurizer = nn.HybridSequential(prefix='')
        for i, num in enumerate(layers):
            for _ in range(num):
                featurizer.add(nn.Conv2D(filters[i], kernel_size=3, padding=1,
                                         weight_initializer=Xavier(rnd_type='gaussian',
                                                                   factor_type='out',
                                                                   magnitude=2),
                                         bias_initializer='zeros'))
                if batch_norm:
                    featurizer.add(nn.BatchNorm())
                featurizer.add(nn.Activation('relu'))
            featurizer.add(nn.MaxPool2D(strides=2))
        return featurizer

    def hybrid_forward(self, F, x):
        x = self.features(x)
        return self.output(x)


vgg_spec = {11: ([1, 1, 2, 2, 2], [64, 128, 256, 512, 512]),
            13: ([2, 2, 2, 2, 2], [64, 128, 256, 512, 512]),
            16: ([2, 2, 3, 3, 3], [64, 128, 256, 512, 512]),
            19: ([2, 2, 4, 4, 4], [64, 128, 256, 512, 512])}


def get_vgg(num_layers, pretrained=False, ctx=cpu(), root=None, **kwargs):
    r"""VGG from `"Very Deep Convolutional Networks for Large-Scale Image Recognition"
    <https://arxiv.org/abs/1409.1556>`_.

    Parameters
    ----------
    num_layers : int
        Number of layers: 11, 13, 16 or 19.
    pretrained : bool, default False
        Load MXNet's pretrained weights (``<root>/vgg<N>[_bn]-<hash>.params``).
    ctx : Context, default CPU
        The context in which to load the pretrained weights.
    root : str, default $MXNET_HOME/models
        Location for keeping the model parameters.
    batch_norm, classes, prefix, params : passed to :class:`VGG`.
    """
    check_choice('get_vgg', 'num_layers', num_layers, sorted(vgg_spec))
    layers, filters = vgg_spec[num_layers]
    net = VGG(layers, filters, **kwargs)
    if pretrained:
        batch_norm_suffix = '_bn' if kwargs.get('batch_norm') else ''
        load_pretrained(net, 'vgg%d%s' % (num_layers, batch_norm_suffix), ctx, root)
    return net


def _constructor(num_layers, batch_norm):
    name = 'vgg%d%s' % (num_layers, '_bn' if batch_norm else '')

    def make(**kwargs):
        if batch_norm:
            kwargs['batch_norm'] = True
        return get_vgg(num_layers, **kwargs)
    make.__name__ = make.__qualname__ = name
    make.__doc__ = (f"VGG-{num_layers} model{' with batch normalization' if batch_norm else ''}"
                    " from \"Very Deep Convolutional Networks for Large-Scale Image "
                    "Recognition\".\n\n    Keyword arguments: pretrained, ctx, root (see "
                    ":func:`get_vgg`), classes, prefix, params.\n")
    return make


vgg11 = _constructor(11, False)
vgg13 = _constructor(13, False)
vgg16 = _constructor(16, False)
vgg19 = _constructor(19, False)
vgg11_bn = _constructor(11, True)
vgg13_bn = _constructor(13, True)
vgg16_bn = _constructor(16, True)
vgg19_bn = _constructor(19, True)
