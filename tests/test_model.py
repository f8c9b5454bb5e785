"""mx.model: checkpoints in MXNet's two-file format, BatchEndParam, kvstore helpers."""
import logging
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd

FIX = pathlib.Path(__file__).resolve().parent / "fixtures"


def run(symbol, arg, aux, x):
    ex = symbol.simple_bind(mx.cpu(), grad_req="null", data=x.shape)
    ex.copy_params_from(arg, aux)
    return ex.forward(is_train=False, data=nd.array(x))[0].asnumpy()


def test_mxnet_checkpoint_reproduces_mxnet_output():
    symbol, arg, aux = mx.model.load_checkpoint(str(FIX / "lenet_bn"), 0)
    assert isinstance(symbol, mx.sym.Symbol)
    assert sorted(aux) == ["batchnorm4_running_mean", "batchnorm4_running_var",
                           "batchnorm5_running_mean", "batchnorm5_running_var"]
    assert set(arg) == set(symbol.list_arguments()) - {"data"}
    x = np.load(FIX / "lenet_bn_input.npy")
    np.testing.assert_allclose(run(symbol, arg, aux, x), np.load(FIX / "lenet_bn_output.npy"),
                               rtol=1e-4, atol=1e-5)


def test_through_symbol_block(tmp_path):
    symbol, arg, aux = mx.model.load_checkpoint(str(FIX / "lenet_bn"), 0)
    prefix = str(tmp_path / "again")
    mx.model.save_checkpoint(prefix, 3, symbol, arg, aux)
    net = mx.gluon.SymbolBlock.imports(f"{prefix}-symbol.json", ["data"],
                                       f"{prefix}-0003.params")
    x = np.load(FIX / "lenet_bn_input.npy")
    np.testing.assert_allclose(net(nd.array(x)).asnumpy(),
                               np.load(FIX / "lenet_bn_output.npy"), rtol=1e-4, atol=1e-5)


def test_save_load_round_trip(tmp_path, caplog):
    symbol, arg, aux = mx.model.load_checkpoint(str(FIX / "lenet_bn"), 0)
    prefix = str(tmp_path / "net")
    with caplog.at_level(logging.INFO):
        mx.model.save_checkpoint(prefix, 12, symbol, arg, aux)
    assert f'Saved checkpoint to "{prefix}-0012.params"' in caplog.text
    assert (tmp_path / "net-symbol.json").exists() and (tmp_path / "net-0012.params").exists()
    raw = nd.load(f"{prefix}-0012.params")
    assert sorted(raw) == sorted([f"arg:{k}" for k in arg] + [f"aux:{k}" for k in aux])
    symbol2, arg2, aux2 = mx.model.load_checkpoint(prefix, 12)
    assert symbol2.tojson() == symbol.tojson()
    for d, d2 in ((arg, arg2), (aux, aux2)):
        assert list(d) == list(d2)
        for k in d:
            np.testing.assert_array_equal(d[k].asnumpy(), d2[k].asnumpy())
    assert list(mx.model.load_params(prefix, 12)[1]) == list(aux)


def test_mxnet_written_tiny_checkpoint_byte_identical_when_resaved(tmp_path):
    """MXNet's own save_checkpoint output: loads, runs, and gluonlite writes the very same
    .params bytes for it (so MXNet reads gluonlite's files, as checked once by hand with
    tests/fixtures/gen/checkpoint_to_mxnet.py)."""
    kv = FIX / "kvstore"
    symbol, arg, aux = mx.model.load_checkpoint(str(kv / "tiny"), 7)
    io = np.load(kv / "tiny_io.npz")
    np.testing.assert_allclose(run(symbol, arg, aux, io["x"]), io["y"], rtol=1e-5, atol=1e-6)
    mx.model.save_checkpoint(str(tmp_path / "tiny"), 7, symbol, arg, aux)
    assert (tmp_path / "tiny-0007.params").read_bytes() == (kv / "tiny-0007.params").read_bytes()


def test_params_only_and_empty_and_errors(tmp_path, caplog):
    prefix = str(tmp_path / "p")
    mx.model.save_checkpoint(prefix, 1, None, {"w": nd.ones((2,), ctx=mx.cpu(1))}, {})
    assert not (tmp_path / "p-symbol.json").exists()
    arg, aux = mx.model.load_params(prefix, 1)
    assert aux == {} and arg["w"].context == mx.cpu()
    nd.save(str(tmp_path / "e-0000.params"), {})
    with caplog.at_level(logging.WARNING):
        assert mx.model.load_params(str(tmp_path / "e"), 0) == ({}, {})
    assert "is empty" in caplog.text
    nd.save(str(tmp_path / "g-0000.params"), {"dense0.weight": nd.ones((1,))})
    with pytest.raises(ValueError, match="'dense0.weight'.*is not 'arg:NAME'"):
        mx.model.load_params(str(tmp_path / "g"), 0)
    with pytest.raises(TypeError, match="epoch must be an int"):
        mx.model.save_checkpoint(prefix, "1", None, {}, {})
    with pytest.raises(TypeError, match="symbol must be a Symbol or None"):
        mx.model.save_checkpoint(prefix, 1, "net", {}, {})
    with pytest.raises(TypeError, match="arg_params must map str to NDArray"):
        mx.model.save_checkpoint(prefix, 1, None, {"w": np.ones(2)}, {})
    with pytest.raises(TypeError, match="aux_params must be a dict"):
        mx.model.save_checkpoint(prefix, 1, None, {}, [])


def test_batch_end_param():
    p = mx.model.BatchEndParam(epoch=1, nbatch=2, eval_metric=None, locals={})
    assert type(p).__name__ == "BatchEndParams" and p._fields == (
        "epoch", "nbatch", "eval_metric", "locals")
    assert (p.epoch, p.nbatch) == (1, 2)


def test_create_kvstore_choices():
    big = {"w": nd.zeros((1,))}
    assert mx.model._create_kvstore(None, 2, big) == (None, False)
    assert mx.model._create_kvstore("device", 1, big) == (None, False)
    kv, upd = mx.model._create_kvstore("device", 2, big)
    assert kv.type == "device" and upd is True
    obj = mx.kv.create("local")
    assert mx.model._create_kvstore(obj, 1, big) == (obj, True)
    kv, upd = mx.model._create_kvstore(mx.kv.create("teststore"), 2, big)
    assert upd is False
    with pytest.raises(TypeError, match="kvstore must be KVStore, str or None"):
        mx.model._create_kvstore(3, 2, big)


def test_module_style_kvstore_helpers():
    """Module's path: params keyed by name, per-device lists of weights and gradients."""
    ctxs = [mx.cpu(0), mx.cpu(1)]
    arg_params = {"w": nd.ones((2,))}
    weights = [[nd.ones((2,), ctx=c) for c in ctxs]]
    grads = [[nd.ones((2,), ctx=c) * (i + 1) for i, c in enumerate(ctxs)]]
    kv = mx.kv.create("device")
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.1))
    mx.model._initialize_kvstore(kv, weights, arg_params, ["w"], True)
    mx.model._update_params_on_kvstore(weights, grads, kv, ["w"])
    for w in weights[0]:
        np.testing.assert_allclose(w.asnumpy(), [0.7, 0.7], rtol=1e-6)
    kv2 = mx.kv.create("device")
    mx.model._initialize_kvstore(kv2, weights, arg_params, ["w"], False)
    updater = mx.optimizer.get_updater(mx.optimizer.SGD(learning_rate=0.1))
    mx.model._update_params(weights, grads, updater, 2, kvstore=kv2, param_names=["w"])
    for w, g in zip(weights[0], grads[0]):
        np.testing.assert_allclose(g.asnumpy(), [3.0, 3.0])  # reduced through the store
        np.testing.assert_allclose(w.asnumpy(), [0.4, 0.4], rtol=1e-6)
    assert sorted(updater.states) == [0, 1]  # index * num_device + device
