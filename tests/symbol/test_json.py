"""Graph JSON: MXNet's files load here, ours load in MXNet (recorded), round trips, viz."""
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
SYM = FIX / "symbols"
GRAPHS = ["arith", "convnet", "embedding_softmax", "mlp", "split_concat"]


def test_mxnet_file_loads_and_runs():
    s = mx.sym.load(str(FIX / "lenet_bn-symbol.json"))
    assert s.list_outputs() == ["dense6_fwd_output"]
    assert s.list_auxiliary_states()[:2] == ["batchnorm4_running_mean", "batchnorm4_running_var"]
    params = nd.load(str(FIX / "lenet_bn-0000.params"))
    args = {k[4:]: v for k, v in params.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in params.items() if k.startswith("aux:")}
    args["data"] = nd.array(np.load(FIX / "lenet_bn_input.npy"))
    exe = s.bind(mx.cpu(), args, aux_states=aux)
    out = exe.forward(is_train=False)[0]
    np.testing.assert_allclose(out.asnumpy(), np.load(FIX / "lenet_bn_output.npy"),
                               rtol=1e-4, atol=1e-5)


def test_round_trip_is_stable():
    s = mx.sym.load(str(FIX / "lenet_bn-symbol.json"))
    s2 = mx.sym.load_json(s.tojson())
    assert s2.tojson() == s.tojson() and s2.list_inputs() == s.list_inputs()
    import copy
    import pickle
    assert copy.deepcopy(s).tojson() == s.tojson()
    assert pickle.loads(pickle.dumps(s)).tojson() == s.tojson()


@pytest.mark.parametrize("name", GRAPHS)
def test_our_json_is_what_we_write_and_mxnet_agrees(name):
    """The files were written by gluonlite (tests/fixtures/gen/symbol_graphs.py) and loaded
    and run by MXNet 1.9.1 (symbol_graphs_mxnet.py); we must still write them identically and
    compute MXNet's numbers from them."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("g", FIX / "gen" / "symbol_graphs.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    with mx.name.NameManager():
        s, _ = gen.graphs(mx)[name]
    text = (SYM / f"{name}-symbol.json").read_text()
    assert s.tojson() == text
    loaded = mx.sym.load(str(SYM / f"{name}-symbol.json"))
    inputs = np.load(SYM / "inputs.npz")
    expect = np.load(SYM / "mxnet_results.npz")
    args = {n: nd.array(inputs[f"{name}/{n}"]) for n in loaded.list_arguments()}
    aux = {n: nd.array(inputs[f"{name}/aux/{n}"]) for n in loaded.list_auxiliary_states()}
    req = {n: ("null" if n == "idx" else "write") for n in args}
    grads = {n: nd.zeros(a.shape) for n, a in args.items()}
    exe = loaded.bind(mx.cpu(), args, args_grad=grads, grad_req=req, aux_states=aux)
    outs = exe.forward(is_train=True)
    exe.backward([nd.ones(o.shape) for o in outs])
    for i, o in enumerate(outs):
        np.testing.assert_allclose(o.asnumpy(), expect[f"{name}/out{i}"], rtol=1e-4, atol=1e-5)
    for n in args:
        if req[n] != "null":
            np.testing.assert_allclose(grads[n].asnumpy(), expect[f"{name}/grad/{n}"],
                                       rtol=1e-3, atol=1e-4)
    for n, a in aux.items():
        np.testing.assert_allclose(a.asnumpy(), expect[f"{name}/aux_after/{n}"], rtol=1e-4,
                                   atol=1e-5)


def test_bad_json_is_rejected_clearly(tmp_path):
    with pytest.raises(MXNetError, match="not valid JSON"):
        mx.sym.load_json("{nope")
    with pytest.raises(MXNetError, match="needs 'nodes'"):
        mx.sym.load_json('{"a": 1}')
    bad = '{"nodes": [{"op": "NoSuchOp", "name": "x", "inputs": []}], "heads": [[0,0,0]]}'
    with pytest.raises(MXNetError, match="does not implement"):
        mx.sym.load_json(bad)
    bad = ('{"nodes": [{"op": "null", "name": "x", "inputs": []}, {"op": "relu", "name": "r",'
           ' "attrs": {"bogus": "1"}, "inputs": [[0,0,0]]}], "heads": [[1,0,0]]}')
    with pytest.raises(MXNetError, match="bogus"):
        mx.sym.load_json(bad)
    with pytest.raises(TypeError, match="fname"):
        mx.sym.load(3)


def test_print_summary_matches_mxnet(capsys):
    s = mx.sym.load(str(FIX / "lenet_bn-symbol.json"))
    mx.viz.print_summary(s, shape={"data": (1, 1, 28, 28)})
    assert capsys.readouterr().out == (FIX / "lenet_bn_summary_mxnet.txt").read_text()


def test_plot_network_dot(tmp_path):
    s = mx.sym.load(str(FIX / "lenet_bn-symbol.json"))
    g = mx.viz.plot_network(s, shape={"data": (1, 1, 28, 28)})
    assert g.source.startswith('digraph "plot"')
    assert 'label="data", shape=box' in g.source
    assert "Convolution\\n5x5/1x1, 6" in g.source and "shape=ellipse" in g.source
    assert "_weight" not in g.source
    full = mx.viz.plot_network(s, hide_weights=False)
    assert "conv7_weight" in full.source
    path = g.save(directory=str(tmp_path))
    assert pathlib.Path(path).read_text() == g.source
    import shutil
    if shutil.which("dot"):
        out = g.render(directory=str(tmp_path), format="svg")
        assert pathlib.Path(out).read_text().lstrip().startswith(("<?xml", "<svg"))
    else:
        with pytest.raises(MXNetError, match="dot"):
            g.render(directory=str(tmp_path))
