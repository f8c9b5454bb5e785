"""Gluon layers against Apache MXNet 1.9.1's own numbers.

Every layer case of ``tests/fixtures/gluon_index.json`` / ``gluon_layers.npz`` (copies of the
shared MXNet reference data) and of ``gluon_layers_extra.json`` / ``.npz`` (made by
``tests/fixtures/gen/gluon_layers_gen.py`` with MXNet 1.9.1) is rebuilt from its Gluon
constructor string, given MXNet's parameter values, run once inside
``autograd.record(train_mode=...)`` and differentiated with MXNet's head gradient. The
output, the input gradient, every parameter gradient and every ``grad_req='null'``
parameter after the call (BatchNorm's running statistics, a fixed gamma) must match within
the tolerances MXNet itself meets (outputs rtol=1e-4, atol=1e-5; gradients rtol=1e-3,
atol=1e-4).

The module also holds the helpers the other layer test modules import (``NN``, the
namespace the constructor strings are evaluated in).
"""
import json
import pathlib
import types

import numpy as np
import pytest

from gluonlite import autograd, nd
from gluonlite.gluon.nn import activations, basic_layers, conv_layers

FIX = pathlib.Path(__file__).resolve().parents[2] / "fixtures"

#: the layer classes, as ``nn.<Name>`` in the constructor strings
NN = types.SimpleNamespace(**{n: getattr(m, n) for m in (basic_layers, activations, conv_layers)
                              for n in m.__all__})

OUT_TOL = dict(rtol=1e-4, atol=1e-5)
GRAD_TOL = dict(rtol=1e-3, atol=1e-4)


def build(ctor):
    """A layer from its MXNet constructor string (``"nn.Dense(3)"``)."""
    return eval(ctor, {"nn": NN, "np": np})


def _load(index_file, npz_file):
    with open(FIX / index_file) as f:
        index = [e for e in json.load(f) if "layer" in e]
    return index, np.load(FIX / npz_file)


SHARED_INDEX, SHARED = _load("gluon_index.json", "gluon_layers.npz")
EXTRA_INDEX, EXTRA = _load("gluon_layers_extra.json", "gluon_layers_extra.npz")
CASES = [(e, SHARED) for e in SHARED_INDEX] + [(e, EXTRA) for e in EXTRA_INDEX]

def _case_param(entry, data):
    return pytest.param(entry, data, id=entry["name"])


def _arrays(data, name):
    pre = name + "/"
    return {k[len(pre):]: data[k] for k in data.files if k.startswith(pre)}


def run_case(entry, data):
    """Run one fixture case; returns (layer, arrays, y, x, short-name -> Parameter)."""
    arr = _arrays(data, entry["name"])
    layer = build(entry["layer"])
    layer.initialize()
    if entry.get("dtype", "float32") != "float32":
        layer.cast(entry["dtype"])
    params = {k[len(layer.prefix):]: p for k, p in layer.collect_params().items()}
    given = {k[len("param/"):]: v for k, v in arr.items() if k.startswith("param/")}
    assert sorted(given) == sorted(params), (
        f"{entry['layer']}: parameters {sorted(params)}, MXNet's {sorted(given)}")
    for k, v in given.items():
        params[k].set_data(nd.array(v, dtype=v.dtype))
    x = nd.array(arr["x"], dtype=arr["x"].dtype)
    if "x_grad" in arr:
        x.attach_grad()
    with autograd.record(train_mode=entry["train_mode"]):
        y = layer(x)
    y.backward(nd.array(arr["head_grad"], dtype=arr["head_grad"].dtype))
    return layer, arr, y, x, params


@pytest.mark.parametrize("entry,data", [_case_param(e, d) for e, d in CASES])
def test_layer_matches_mxnet(entry, data):
    layer, arr, y, x, params = run_case(entry, data)
    assert y.shape == arr["y"].shape
    assert y.dtype == arr["y"].dtype
    np.testing.assert_allclose(y.asnumpy(), arr["y"], **OUT_TOL, err_msg="output")
    if "x_grad" in arr:
        np.testing.assert_allclose(x.grad.asnumpy(), arr["x_grad"], **GRAD_TOL,
                                   err_msg="input gradient")
    for key, want in arr.items():
        if key.startswith("param_grad/"):
            p = params[key[len("param_grad/"):]]
            assert p.grad_req != "null"
            np.testing.assert_allclose(p.grad().asnumpy(), want, **GRAD_TOL, err_msg=key)
        elif key.startswith("param_after/"):
            p = params[key[len("param_after/"):]]
            assert p.grad_req == "null", key
            np.testing.assert_allclose(p.data().asnumpy(), want, **OUT_TOL, err_msg=key)
    # every parameter was checked: a gradient or its value after the call
    checked = {k.split("/", 1)[1] for k in arr if k.startswith(("param_grad/", "param_after/"))}
    assert checked == set(params)


def test_fixture_cases_cover_every_layer():
    """Each layer class is checked against MXNet by at least one case."""
    used = set()
    for e, _ in CASES:
        used.add(e["layer"].split("(")[0].split(".")[-1])
    assert set(vars(NN)) <= used, sorted(set(vars(NN)) - used)


# --- helpers for the other layer test modules --------------------------------------------------
with open(FIX / "gluon_reprs.json") as _f:
    REPRS = json.load(_f)


def repr_entries(module):
    """The ``gluon_reprs.json`` entries (MXNet's reprs and parameters) of ``module``'s
    layers, as pytest params."""
    names = set(module.__all__)
    return [pytest.param(e, id=e["layer"]) for e in REPRS
            if e["layer"][len("nn."):].split("(")[0] in names]


def _describe(layer):
    return [{"name": p.name, "shape": list(p.shape), "dtype": np.dtype(p.dtype).name,
             "grad_req": p.grad_req,
             "init": p.init if isinstance(p.init, str) or p.init is None
             else type(p.init).__name__}
            for p in layer.collect_params().values()]


def check_repr_entry(entry):
    """Build ``entry['layer']`` in a fresh NameManager (as MXNet did) and compare its repr and
    parameters with MXNet's, before and (if an input shape is given) after a first
    forward pass."""
    import gluonlite as mx
    with mx.name.NameManager():
        layer = build(entry["layer"])
        assert repr(layer) == entry["repr"]
        assert _describe(layer) == entry["params"]
        if "input_shape" in entry:
            layer.initialize()
            layer(nd.array(np.random.randn(*entry["input_shape"])))
            assert repr(layer) == entry["repr_after"]
            assert _describe(layer) == entry["params_after"]


def test_repr_entries_cover_every_layer():
    covered = set()
    for m in (basic_layers, activations, conv_layers):
        covered |= {e.values[0]["layer"][3:].split("(")[0] for e in repr_entries(m)}
    assert covered == set(vars(NN)), sorted(set(vars(NN)) ^ covered)
