"""``gluon.rnn`` layers and cells against MXNet 1.9.1 (``tests/fixtures/rnn_mxnet.npz`` and
``rnn_lstm_lm*``, made by ``tests/fixtures/gen/rnn_mxnet.py``): outputs, states and
gradients for the same parameters, hybridized and imperative, and an MXNet-trained LSTM
checkpoint loading (``load_parameters`` and ``SymbolBlock.imports``)."""
import pathlib
import zlib

import numpy as np
import pytest

from gluonlite import autograd, gluon, nd
from gluonlite.gluon import nn, rnn

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures"
REF = np.load(FIXTURES / "rnn_mxnet.npz")
TOL = dict(rtol=1e-4, atol=1e-5)

# the generator's case lists (constructor strings evaluated with gluonlite's rnn)
CASES = [
    ("rnn_tanh_bi2", "rnn.RNN(4, num_layers=2, activation='tanh', bidirectional=True, "
                     "input_size=3)", True),
    ("rnn_relu_ntc", "rnn.RNN(4, activation='relu', layout='NTC', input_size=3)", False),
    ("lstm_bi2_ntc", "rnn.LSTM(4, num_layers=2, layout='NTC', bidirectional=True, "
                     "input_size=3)", True),
    ("lstm_1", "rnn.LSTM(4, input_size=3)", False),
    ("lstm_proj", "rnn.LSTM(4, num_layers=2, projection_size=2, input_size=3)", True),
    ("gru_bi2", "rnn.GRU(4, num_layers=2, bidirectional=True, input_size=3)", True),
    ("gru_ntc", "rnn.GRU(3, layout='NTC', input_size=3)", False),
]
CELLS = [
    ("cell_rnn_relu", "rnn.RNNCell(4, activation='relu', input_size=3)", "NTC", True),
    ("cell_lstm", "rnn.LSTMCell(4, input_size=3)", "TNC", True),
    ("cell_gru", "rnn.GRUCell(4, input_size=3)", "NTC", False),
    ("cell_lstm_valid", "rnn.LSTMCell(4, input_size=3)", "NTC", True),
    ("cell_seq", "seq_cell()", "NTC", True),
    ("cell_bi_valid", "rnn.BidirectionalCell(rnn.LSTMCell(3, input_size=3), "
                      "rnn.GRUCell(2, input_size=3))", "NTC", True),
    ("cell_residual_valid", "rnn.ResidualCell(rnn.GRUCell(3, input_size=3))", "TNC", True),
]


def param_value(key, shape):
    """The generator's seeded recipe for a parameter's value."""
    rng = np.random.RandomState(zlib.crc32(key.encode()))
    return rng.uniform(-0.5, 0.5, size=shape).astype(np.float32)


def set_params(block):
    for key, p in block._collect_params_with_prefix().items():
        p.set_data(nd.array(param_value(key, p.shape)))


def seq_cell():
    c = rnn.SequentialRNNCell()
    with c.name_scope():
        c.add(rnn.LSTMCell(4, input_size=3))
        c.add(rnn.GRUCell(3, input_size=4))
    return c


def flat(o):
    if isinstance(o, (list, tuple)):
        return sum((flat(x) for x in o), [])
    return [o]


def outputs_of(name):
    n = sum(1 for k in REF.files if k.startswith(f"{name}/out"))
    return [REF[f"{name}/out{i}"] for i in range(n)]


def _layer_run(name, ctor, with_states, hybridize):
    layer = eval(ctor)
    layer.initialize()
    set_params(layer)
    if hybridize:
        layer.hybridize()
    x = nd.array(REF[f"{name}/x"])
    x.attach_grad()
    args = [x]
    if with_states:
        n = sum(1 for k in REF.files if k.startswith(f"{name}/state"))
        args.append([nd.array(REF[f"{name}/state{i}"]) for i in range(n)])
    return layer, x, args


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybridized"])
@pytest.mark.parametrize("name,ctor,with_states", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_mxnet(name, ctor, with_states, hybridize):
    layer, x, args = _layer_run(name, ctor, with_states, hybridize)
    want = outputs_of(name)
    if f"{name}/head0" not in REF.files:   # MXNet has no CPU training for projections
        got = flat(layer(*args))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.asnumpy(), w, **TOL)
        return
    with autograd.record():
        got = flat(layer(*args))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.asnumpy(), w, **TOL)
    autograd.backward(got, [nd.array(REF[f"{name}/head{i}"]) for i in range(len(got))])
    np.testing.assert_allclose(x.grad.asnumpy(), REF[f"{name}/x_grad"], **TOL)
    for key, p in layer._collect_params_with_prefix().items():
        np.testing.assert_allclose(p.grad().asnumpy(), REF[f"{name}/grad/{key}"], **TOL,
                                   err_msg=key)


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybridized"])
@pytest.mark.parametrize("name,ctor,layout,merge", CELLS, ids=[c[0] for c in CELLS])
def test_cell_unroll_matches_mxnet(name, ctor, layout, merge, hybridize):
    cell = eval(ctor)
    cell.initialize()
    set_params(cell)
    if hybridize:
        cell.hybridize()
    x = nd.array(REF[f"{name}/x"])
    x.attach_grad()
    kw = {}
    if f"{name}/valid_length" in REF.files:
        kw["valid_length"] = nd.array(REF[f"{name}/valid_length"])
    with autograd.record():
        outputs, states = cell.unroll(4, x, layout=layout, merge_outputs=merge, **kw)
        got = flat([outputs, states])
        total = nd.add_n(*[(r * nd.array(REF[f"{name}/head{i}"])).sum()
                           for i, r in enumerate(got)])
    want = outputs_of(name)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.asnumpy(), w, **TOL)
    total.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), REF[f"{name}/x_grad"], **TOL)
    for key, p in cell._collect_params_with_prefix().items():
        np.testing.assert_allclose(p.grad().asnumpy(), REF[f"{name}/grad/{key}"], **TOL,
                                   err_msg=key)


class LM(gluon.HybridBlock):
    """The generator's model: Embedding(20, 6) -> LSTM(8, 2 layers) -> Dense(20)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.embed = nn.Embedding(20, 6)
            self.lstm = rnn.LSTM(8, num_layers=2, dropout=0.2, input_size=6)
            self.out = nn.Dense(20, flatten=False, in_units=8)

    def hybrid_forward(self, F, tokens):
        return self.out(self.lstm(self.embed(tokens)))


LM_REF = np.load(FIXTURES / "rnn_lstm_lm.npz")


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybridized"])
def test_mxnet_lstm_checkpoint_loads(hybridize, tmp_path):
    net = LM()
    net.load_parameters(str(FIXTURES / "rnn_lstm_lm.params"))
    if hybridize:
        net.hybridize()
    tok = nd.array(LM_REF["tokens"])
    y = net(tok)
    np.testing.assert_allclose(y.asnumpy(), LM_REF["output"], **TOL)
    # save / load round trip, into a fresh model, in MXNet's key layout
    f = str(tmp_path / "lm.params")
    net.save_parameters(f)
    assert sorted(nd.load(f)) == sorted(nd.load(str(FIXTURES / "rnn_lstm_lm.params")))
    net2 = LM()
    net2.load_parameters(f)
    np.testing.assert_array_equal(net2(tok).asnumpy(), y.asnumpy())


def test_mxnet_exported_lstm_imports():
    sb = gluon.SymbolBlock.imports(str(FIXTURES / "rnn_lstm_lm-symbol.json"), ["data"],
                                   str(FIXTURES / "rnn_lstm_lm-0000.params"))
    y = sb(nd.array(LM_REF["tokens"]))
    np.testing.assert_allclose(y.asnumpy(), LM_REF["output"], **TOL)


def test_export_imports_round_trip(tmp_path):
    net = LM()
    net.load_parameters(str(FIXTURES / "rnn_lstm_lm.params"))
    net.hybridize()
    tok = nd.array(LM_REF["tokens"])
    y = net(tok).asnumpy()
    net.export(str(tmp_path / "lm"))
    sb = gluon.SymbolBlock.imports(str(tmp_path / "lm-symbol.json"), ["data"],
                                   str(tmp_path / "lm-0000.params"))
    np.testing.assert_allclose(sb(tok).asnumpy(), y, rtol=1e-6, atol=1e-7)
