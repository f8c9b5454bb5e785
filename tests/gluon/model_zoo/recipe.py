"""Seeded NumPy recipe for model-zoo parameters and inputs, shared by the MXNet fixture
generator (``tests/fixtures/gen/model_zoo_mxnet.py``) and the tests, so both frameworks run
the same numbers without storing parameter files.

Values depend only on a parameter's structural key (``features.4.0.body.0.weight``, as
``Block._collect_params_with_prefix`` names it) and its shape.
Scales keep activations O(1) through 150+ layers so float32 results stay comparable.
Pure NumPy: imports neither framework.
"""
import zlib

import numpy as np

# each model's fixture input: (N, C, H, W); the smallest that reaches the classifier with
# MXNet's layers (SqueezeNet and DenseNet end in fixed 13x13 / 7x7 average pools, Inception
# V3 in an 8x8 one, so they need their real input size)
INPUT_SHAPES = {}
for _n in ("resnet18_v1", "resnet34_v1", "resnet50_v1", "resnet101_v1", "resnet152_v1",
           "resnet18_v2", "resnet34_v2", "resnet50_v2", "resnet101_v2", "resnet152_v2",
           "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
           "mobilenet1.0", "mobilenet0.75", "mobilenet0.5", "mobilenet0.25",
           "mobilenetv2_1.0", "mobilenetv2_0.75", "mobilenetv2_0.5", "mobilenetv2_0.25"):
    INPUT_SHAPES[_n] = (1, 3, 32, 32)
INPUT_SHAPES["alexnet"] = (1, 3, 64, 64)
for _n in ("squeezenet1.0", "squeezenet1.1", "densenet121", "densenet161", "densenet169",
           "densenet201"):
    INPUT_SHAPES[_n] = (1, 3, 224, 224)
INPUT_SHAPES["inceptionv3"] = (1, 3, 299, 299)


def _rng(key):
    return np.random.default_rng(zlib.crc32(key.encode("utf-8")))


def param_value(key, shape):
    """float32 value of the parameter with structural key ``key`` and ``shape``."""
    shape = tuple(int(s) for s in shape)
    kind = key.rsplit(".", 1)[-1]
    rng = _rng(key)
    if kind == "weight":
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        v = rng.standard_normal(shape) / np.sqrt(fan_in)
    elif kind == "gamma":
        v = rng.uniform(0.8, 1.2, shape)
    elif kind == "running_var":
        v = rng.uniform(0.5, 1.5, shape)
    elif kind in ("bias", "beta", "running_mean"):
        v = 0.1 * rng.standard_normal(shape)
    else:
        raise KeyError(f"recipe: no rule for parameter {key!r}")
    return v.astype(np.float32)


def input_value(model):
    """float32 input of model ``model`` (shape ``INPUT_SHAPES[model]``)."""
    return _rng("input:" + model).standard_normal(INPUT_SHAPES[model]).astype(np.float32)
