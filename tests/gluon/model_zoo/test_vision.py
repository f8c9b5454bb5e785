"""``gluon.model_zoo.vision`` against MXNet 1.9.1: parameter names and shapes, outputs
(imperative and hybridized) for the same recipe parameters, export/imports, MXNet's own
checkpoint files, and ``pretrained=True`` from MXNet's cache layout.

Reference data: ``tests/fixtures/model_zoo`` (``tests/fixtures/gen/model_zoo_mxnet.py``).
"""
import hashlib
import json
import os
import shutil
import zipfile

import numpy as np
import pytest

import gluonlite as mx
from gluonlite.base import FileFormatError
from gluonlite.gluon import SymbolBlock
from gluonlite.gluon.model_zoo import model_store, vision

from . import recipe

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "model_zoo")

with open(os.path.join(FIX, "params.json")) as _f:
    META = json.load(_f)
OUTPUTS = dict(np.load(os.path.join(FIX, "outputs.npz")))

# forward of these takes seconds on CPU (or their parameter recipe does): soak only
SLOW = {"resnet101_v1", "resnet101_v2", "resnet152_v1", "resnet152_v2", "densenet161",
        "densenet169", "densenet201", "inceptionv3", "vgg19", "vgg19_bn", "vgg16",
        "vgg16_bn", "vgg13", "vgg13_bn"}
ALL = sorted(vision._models)


def _param(name):
    return pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name


def _build(name, init=True, **kwargs):
    """Model ``name`` (fresh name counters, as in the fixture) with deferred shapes
    resolved on the fixture input; returns (net, input)."""
    with mx.name.NameManager():
        net = vision.get_model(name, **kwargs)
    if init:
        net.initialize()
    x = mx.nd.array(recipe.input_value(name))
    net.infer_shape(x)
    return net, x


def _set_recipe(net):
    for key, p in net._collect_params_with_prefix().items():
        p.set_data(mx.nd.array(recipe.param_value(key, p.shape)))


def _assert_close(y, ref, what):
    y = y.asnumpy() if hasattr(y, "asnumpy") else y
    assert y.shape == ref.shape, what
    scale = float(np.abs(ref).max())
    err = float(np.abs(y - ref).max())
    assert err <= 1e-4 * scale + 1e-6, f"{what}: max error {err} (output scale {scale})"


def test_every_mxnet_model_is_there():
    assert sorted(META) == ALL
    assert len(ALL) == 34
    for name in ALL:
        assert name in model_store._model_sha1


@pytest.mark.parametrize("name", ALL)
def test_parameter_names_and_shapes_match_mxnet(name):
    net, _ = _build(name, init=False)
    structural = {id(p): k for k, p in net._collect_params_with_prefix().items()}
    got = sorted([p.name, structural[id(p)], list(p.shape)]
                 for p in net.collect_params().values())
    want = META[name]["params"]
    assert [g[0] for g in got] == [w[0] for w in want]
    assert got == want


@pytest.mark.parametrize("name", [_param(n) for n in ALL])
def test_output_matches_mxnet_imperative_and_hybridized(name):
    net, x = _build(name)
    _set_recipe(net)
    ref = OUTPUTS[name]
    _assert_close(net(x), ref, f"{name} imperative")
    net.hybridize()
    _assert_close(net(x), ref, f"{name} hybridized")


@pytest.mark.parametrize("name", ["resnet18_v1", "resnet50_v2", "mobilenetv2_0.25",
                                  "squeezenet1.1", _param("densenet121"),
                                  _param("inceptionv3")])
def test_export_then_symbolblock_imports(tmp_path, name):
    net, x = _build(name)
    _set_recipe(net)
    net.hybridize()
    y = net(x)
    path = str(tmp_path / name)
    net.export(path)
    loaded = SymbolBlock.imports(path + "-symbol.json", ["data"], path + "-0000.params")
    _assert_close(loaded(x), y.asnumpy(), f"{name} imported")
    _assert_close(loaded(x), OUTPUTS[name], f"{name} imported vs MXNet")


def test_loads_mxnet_written_checkpoint():
    # saved by MXNet 1.9.1's save_parameters (structural names)
    with mx.name.NameManager():
        net = vision.mobilenet0_25(classes=10)
    net.load_parameters(os.path.join(FIX, "mobilenet0.25_c10-mxnet.params"))
    x = mx.nd.array(recipe.input_value("mobilenet0.25"))
    ref = np.load(os.path.join(FIX, "mobilenet0.25_c10-output.npy"))
    _assert_close(net(x), ref, "MXNet checkpoint")


def test_save_parameters_round_trip_both_formats(tmp_path):
    net, x = _build("resnet18_v2")
    _set_recipe(net)
    y = net(x).asnumpy()
    net.save_parameters(str(tmp_path / "new.params"))
    net.collect_params().save(str(tmp_path / "legacy.params"), strip_prefix=net.prefix)
    for fname in ("new.params", "legacy.params"):
        with mx.name.NameManager():
            other = vision.resnet18_v2()
        other.load_parameters(str(tmp_path / fname))
        _assert_close(other(x), y, fname)


# --- pretrained=True ----------------------------------------------------------------------

def _own_weights_file(tmp_path, name):
    """Recipe parameters of ``name`` saved with save_parameters; returns (path, output)."""
    net, x = _build(name)
    _set_recipe(net)
    y = net(x).asnumpy()
    path = str(tmp_path / "own.params")
    net.save_parameters(path)
    return path, y


def _sha1(path):
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


def test_pretrained_loads_file_from_root(tmp_path, monkeypatch):
    name = "mobilenetv2_0.25"
    src, y = _own_weights_file(tmp_path, name)
    # our file stands in for MXNet's download: the table gets its sha1, as MXNet's has its own
    sha1 = _sha1(src)
    monkeypatch.setitem(model_store._model_sha1, name, sha1)
    root = tmp_path / "models"
    root.mkdir()
    shutil.copy(src, root / f"{name}-{sha1[:8]}.params")
    with mx.name.NameManager():
        net = vision.get_model(name, pretrained=True, root=str(root))
    x = mx.nd.array(recipe.input_value(name))
    _assert_close(net(x), y, "pretrained")
    # $MXNET_HOME/models is the default root
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    with mx.name.NameManager():
        net = vision.mobilenet_v2_0_25(pretrained=True)
    _assert_close(net(x), y, "pretrained from $MXNET_HOME")
    assert model_store.get_model_file(name) == str(root / f"{name}-{sha1[:8]}.params")


def test_pretrained_unpacks_mxnet_zip(tmp_path, monkeypatch):
    name = "squeezenet1.1"
    src, _ = _own_weights_file(tmp_path, name)
    sha1 = _sha1(src)
    monkeypatch.setitem(model_store._model_sha1, name, sha1)
    stem = f"{name}-{sha1[:8]}"
    with zipfile.ZipFile(tmp_path / f"{stem}.zip", "w") as zf:
        zf.write(src, f"{stem}.params")
    path = model_store.get_model_file(name, root=str(tmp_path))
    assert path == str(tmp_path / f"{stem}.params")
    assert _sha1(path) == sha1


def test_pretrained_missing_file_says_where_to_put_it(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        vision.resnet18_v2(pretrained=True, root=str(tmp_path))
    msg = str(e.value)
    expected = os.path.join(str(tmp_path), "resnet18_v2-a81db45f.params")
    assert expected in msg
    assert "gluon/models/resnet18_v2-a81db45f.zip" in msg
    assert "does not download" in msg


def test_pretrained_hash_mismatch_is_file_format_error(tmp_path):
    name = "mobilenet0.25"
    src, _ = _own_weights_file(tmp_path, name)
    target = tmp_path / f"{name}-{model_store.short_hash(name)}.params"
    shutil.copy(src, target)
    with pytest.raises(FileFormatError) as e:
        vision.get_model(name, pretrained=True, root=str(tmp_path))
    msg = str(e.value)
    assert str(target) in msg and model_store._model_sha1[name] in msg and _sha1(src) in msg
    assert target.exists()  # the user's file is left alone


def test_pretrained_bad_zip_is_file_format_error(tmp_path):
    name = "alexnet"
    stem = f"{name}-{model_store.short_hash(name)}"
    (tmp_path / f"{stem}.zip").write_bytes(b"not a zip")
    with pytest.raises(FileFormatError, match="not a valid zip"):
        model_store.get_model_file(name, root=str(tmp_path))
    assert not (tmp_path / f"{stem}.params").exists()


def test_pretrained_names_follow_mxnet_table():
    assert model_store.short_hash("resnet50_v1") == "0aee57f9"
    assert model_store.short_hash("mobilenetv2_0.5") == "aabd26cd"
    with pytest.raises(ValueError, match="not available"):
        model_store.short_hash("resnet18_v3")
    # a multiplier without MXNet weights names no file
    with pytest.raises(ValueError, match="mobilenet0.30 is not available"):
        vision.get_mobilenet(0.3, pretrained=True)


def test_purge_removes_params_only(tmp_path):
    (tmp_path / "a-1234.params").write_bytes(b"x")
    (tmp_path / "keep.txt").write_bytes(b"x")
    model_store.purge(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["keep.txt"]


# --- arguments ----------------------------------------------------------------------------

def test_get_model_names_and_errors():
    assert isinstance(vision.get_model("ResNet18_V1"), vision.ResNetV1)
    assert isinstance(vision.get_model("inceptionv3"), vision.Inception3)
    with pytest.raises(ValueError, match="(?s)resnet19_v1 is not supported.*resnet18_v1"):
        vision.get_model("resnet19_v1")
    with pytest.raises(TypeError, match="name must be a str"):
        vision.get_model(18)


@pytest.mark.parametrize("call, match", [
    (lambda: vision.get_resnet(3, 18), "version 3"),
    (lambda: vision.get_resnet(1, 20), "num_layers 20"),
    (lambda: vision.get_vgg(12), "num_layers 12"),
    (lambda: vision.densenet.get_densenet(100), "num_layers 100"),
    (lambda: vision.SqueezeNet("1.2"), "version '1.2'"),
    (lambda: vision.resnet18_v1(classes=0), "classes must be a positive int"),
    (lambda: vision.alexnet(classes=2.5), "classes must be a positive int"),
    (lambda: vision.MobileNet(multiplier=0), "multiplier must be a positive number"),
    (lambda: vision.MobileNetV2(multiplier=0.01), "no channels"),
])
def test_bad_arguments_fail_early(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_custom_classes_and_thumbnail():
    with mx.name.NameManager():
        net = vision.resnet18_v1(classes=7, thumbnail=True)
    net.initialize()
    y = net(mx.nd.ones((2, 3, 8, 8)))
    assert y.shape == (2, 7)
    assert net.features[0].weight.shape == (64, 3, 3, 3)


def test_root_type_checked():
    with pytest.raises(TypeError, match="root: expected a directory path"):
        model_store.get_model_file("alexnet", root=5)


def test_fine_tuning_recipe_trains(tmp_path, monkeypatch):
    """The seed's fine-tuning example: pretrained features, a new 2-class output layer,
    hybridized training with a Trainer (BatchNorm in training mode, gradients through the
    whole zoo model)."""
    from gluonlite import autograd, gluon, init
    name = "resnet18_v2"
    src, _ = _own_weights_file(tmp_path, name)
    sha1 = _sha1(src)
    monkeypatch.setitem(model_store._model_sha1, name, sha1)
    shutil.copy(src, tmp_path / f"{name}-{sha1[:8]}.params")
    pretrained_net = vision.resnet18_v2(pretrained=True, root=str(tmp_path))
    finetune_net = vision.resnet18_v2(classes=2)
    finetune_net.features = pretrained_net.features
    finetune_net.output.initialize(init.Xavier())
    finetune_net.output.collect_params().setattr("lr_mult", 10)
    finetune_net.hybridize()
    before = finetune_net.features[1].weight.data().asnumpy().copy()
    trainer = gluon.Trainer(finetune_net.collect_params(), "sgd",
                            {"learning_rate": 0.01, "wd": 0.001})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    rng = np.random.default_rng(0)
    X = mx.nd.array(rng.standard_normal((4, 3, 32, 32)).astype(np.float32))
    y = mx.nd.array([0, 1, 0, 1])
    losses = []
    for _ in range(5):
        with autograd.record():
            loss = loss_fn(finetune_net(X), y)
        loss.backward()
        trainer.step(4)
        losses.append(float(loss.mean().asscalar()))
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert not np.array_equal(finetune_net.features[1].weight.data().asnumpy(), before)
