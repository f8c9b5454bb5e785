r"""Image-classification networks of MXNet 1.9.1's ``gluon.model_zoo.vision``: AlexNet,
DenseNet, Inception V3, ResNet V1/V2, SqueezeNet, VGG, MobileNet and MobileNetV2.

Each has MXNet's architecture and parameter names, so MXNet-trained ``.params`` (from
``save_parameters`` or the zoo's pretrained files) load with ``load_parameters``::

    from gluonlite.gluon.model_zoo import vision
    net = vision.resnet18_v1()                      # random weights (initialize() first)
    net = vision.get_model('resnet18_v1', pretrained=True, root='~/.mxnet/models')

``pretrained=True`` reads MXNet's cached file ``<root>/<name>-<short sha1>.params`` (see
:mod:`..model_store`); it is never downloaded. Pretrained models expect (N, 3, H, W) RGB
images in [0, 1] normalized with mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225),
H and W at least 224 (299 for Inception V3).
"""
from .alexnet import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403
from .inception import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from .mobilenet import *  # noqa: F401,F403
from .alexnet import alexnet
from .densenet import densenet121, densenet161, densenet169, densenet201
from .inception import inception_v3
from .resnet import (resnet18_v1, resnet34_v1, resnet50_v1, resnet101_v1, resnet152_v1,
                     resnet18_v2, resnet34_v2, resnet50_v2, resnet101_v2, resnet152_v2)
from .squeezenet import squeezenet1_0, squeezenet1_1
from .vgg import vgg11, vgg13, vgg16, vgg19, vgg11_bn, vgg13_bn, vgg16_bn, vgg19_bn
from .mobilenet import (mobilenet1_0, mobilenet0_75, mobilenet0_5, mobilenet0_25,
                        mobilenet_v2_1_0, mobilenet_v2_0_75, mobilenet_v2_0_5,
                        mobilenet_v2_0_25)

_models = {'resnet18_v1': resnet18_v1,
           'resnet34_v1': resnet34_v1,
           'resnet50_v1': resnet50_v1,
           'resnet101_v1': resnet101_v1,
           'resnet152_v1': resnet152_v1,
           'resnet18_v2': resnet18_v2,
           'resnet34_v2': resnet34_v2,
           'resnet50_v2': resnet50_v2,
           'resnet101_v2': resnet101_v2,
           'resnet152_v2': resnet152_v2,
           'vgg11': vgg11,
           'vgg13': vgg13,
           'vgg16': vgg16,
           'vgg19': vgg19,
           'vgg11_bn': vgg11_bn,
           'vgg13_bn': vgg13_bn,
           'vgg16_bn': vgg16_bn,
           'vgg19_bn': vgg19_bn,
           'alexnet': alexnet,
           'densenet121': densenet121,
           'densenet161': densenet161,
           'densenet169': densenet169,
           'densenet201': densenet201,
           'squeezenet1.0': squeezenet1_0,
           'squeezenet1.1': squeezenet1_1,
           'inceptionv3': inception_v3,
           'mobilenet1.0': mobilenet1_0,
           'mobilenet0.75': mobilenet0_75,
           'mobilenet0.5': mobilenet0_5,
           'mobilenet0.25': mobilenet0_25,
           'mobilenetv2_1.0': mobilenet_v2_1_0,
           'mobilenetv2_0.75': mobilenet_v2_0_75,
           'mobilenetv2_0.5': mobilenet_v2_0_5,
           'mobilenetv2_0.25': mobilenet_v2_0_25}


def get_model(name, **kwargs):
    """Return a pre-defined model by name (e.g. ``'resnet50_v2'``, ``'squeezenet1.1'``,
    ``'mobilenetv2_0.5'``; case-insensitive).

    Parameters
    ----------
    name : str
        Name of the model.
    pretrained : bool
        Whether to load MXNet's pretrained weights (from ``root``; never downloaded).
    classes : int
        Number of classes for the output layer.
    ctx : Context, default CPU
        The context in which to load the pretrained weights.
    root : str, default '$MXNET_HOME/models'
        Location for keeping the model parameters.

    Returns
    -------
    gluon.HybridBlock
        The model.
    """
    if not isinstance(name, str):
        raise TypeError(f"get_model: name must be a str, got {type(name).__name__}")
    name = name.lower()
    if name not in _models:
        raise ValueError('Model %s is not supported. Available options are\n\t%s' % (
            name, '\n\t'.join(sorted(_models.keys()))))
    return _models[name](**kwargs)
