"""init.Load and init.Mixed corner cases against MXNet 1.9.1's outcomes
(tests/fixtures/contrib_control.json/.npz): prefixes, missing names with and without
default_init, verbose logging, shape mismatch, pattern order, no match."""
import json
import logging
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite.base import FileFormatError

HERE = os.path.join(os.path.dirname(__file__), "fixtures")
FIX = np.load(os.path.join(HERE, "contrib_control.npz"))
with open(os.path.join(HERE, "contrib_control.json")) as f:
    INIT = json.load(f)["init"]


def _param():
    return {"arg:w": mx.nd.array(FIX["init/w"]), "aux:m": mx.nd.array(FIX["init/m"]),
            "b": mx.nd.array(FIX["init/b"])}


def _check(key, ini, name, shape):
    want = INIT[key]
    x = mx.nd.full(shape, 9.0)
    if "error" in want:
        # MXNet asserts (AssertionError); gluonlite raises ValueError with MXNet's text
        with pytest.raises(ValueError) as e:
            ini(name, x)
        if "%s" not in want["message"]:  # MXNet's Mixed message has an unfilled %s
            assert str(e.value).split(".")[0] == want["message"].split(".")[0]
        else:
            assert name in str(e.value)
        np.testing.assert_array_equal(x.asnumpy(), 9.0)  # a failed init changes nothing
    else:
        ini(name, x)
        np.testing.assert_allclose(x.asnumpy(), want["value"], rtol=1e-6)


@pytest.mark.parametrize("key,name,shape", [
    ("load_arg", "w", (2, 3)), ("load_aux", "m", (3,)), ("load_plain", "b", (3,)),
    ("load_missing", "zz_weight", (2,)), ("load_shape", "w", (3, 2))])
def test_load_matches_mxnet(key, name, shape):
    _check(key, mx.init.Load(_param()), name, shape)


@pytest.mark.parametrize("key,name", [("load_default", "zz_weight"),
                                      ("load_default_bias", "zz_bias")])
def test_load_default_init_matches_mxnet(key, name, caplog):
    ini = mx.init.Load(_param(), default_init=mx.init.Constant(7), verbose=True)
    with caplog.at_level(logging.INFO):
        _check(key, ini, name, (2,))
    assert f"Initialized {name} by default" in caplog.text
    with caplog.at_level(logging.INFO):
        ini("w", mx.nd.zeros((2, 3)))
    assert "Initialized w by loading" in caplog.text


def test_load_default_unknown_pattern():
    assert INIT["load_default_unknown"]["error"] == "ValueError"
    with pytest.raises(ValueError, match="Unknown initialization pattern for zz"):
        mx.init.Load(_param(), default_init=mx.init.Uniform())("zz", mx.nd.zeros(2))


def test_load_file_and_bad_inputs(tmp_path):
    f = str(tmp_path / "p.params")
    mx.nd.save(f, _param())
    _check("load_file", mx.init.Load(f), "w", (2, 3))
    lst = str(tmp_path / "list.params")
    mx.nd.save(lst, [mx.nd.ones(2)])
    with pytest.raises(FileFormatError, match="list.params"):
        mx.init.Load(lst)
    with pytest.raises(TypeError, match="param: expected a dict"):
        mx.init.Load([mx.nd.ones(2)])
    with pytest.raises(TypeError, match="str -> NDArray"):
        mx.init.Load({"w": 3})
    with pytest.raises(ValueError, match="'arg:w' and 'w' both name"):
        mx.init.Load({"arg:w": mx.nd.ones(2), "w": mx.nd.ones(2)})
    x = mx.nd.ones(2)
    mx.init.Load({}, default_init="zeros")("v_weight", x)  # a name, as Gluon accepts
    np.testing.assert_array_equal(x.asnumpy(), 0)


@pytest.mark.parametrize("key,patterns,inits,name", [
    ("mixed_bias", ["bias", ".*"], ["zeros", "ones"], "fc_bias"),
    ("mixed_weight", ["bias", ".*"], ["zeros", "ones"], "fc_weight"),
    ("mixed_order", [".*", "bias"], [mx.init.Constant(3), "zeros"], "fc_weight"),
    ("mixed_nomatch", ["bias"], ["zeros"], "fc_weight"),
    ("mixed_search", ["bias"], ["zeros"], "fcbias_weight")])
def test_mixed_matches_mxnet(key, patterns, inits, name):
    inits = [mx.init.create(i) if isinstance(i, str) else i for i in inits]
    _check(key, mx.init.Mixed(patterns, inits), name, (2,))


def test_mixed_bad_arguments():
    with pytest.raises(ValueError, match="same length, got 2 and 1"):
        mx.init.Mixed(["a", "b"], [mx.init.Zero()])
    with pytest.raises(TypeError, match="patterns: expected a list"):
        mx.init.Mixed("bias", [mx.init.Zero()])
    with pytest.raises(ValueError, match="not a valid regular expression"):
        mx.init.Mixed(["(bias"], [mx.init.Zero()])
