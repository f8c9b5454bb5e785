"""``gluon.rnn`` behaviour beyond the MXNet fixtures: deferred input size, zero begin states
inside a hybridized parent, export/imports, argument errors, reprs."""
import numpy as np
import pytest

from gluonlite import gluon, nd
from gluonlite.gluon import nn, rnn

X = nd.array(np.random.RandomState(0).uniform(-1, 1, (2, 5, 4)))


class Tagger(gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.lstm = rnn.LSTM(3, input_size=4, layout="NTC", bidirectional=True)
            self.cell = rnn.GRUCell(2)
            self.out = nn.Dense(2, flatten=False)

    def hybrid_forward(self, F, x):
        o, _ = self.cell.unroll(5, self.lstm(x), layout="NTC", merge_outputs=True)
        return self.out(o)


def test_hybridized_parent_equals_imperative_and_exports(tmp_path):
    net = Tagger()
    net.initialize()
    want = net(X).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(X).asnumpy(), want, rtol=1e-6, atol=1e-7)
    net.export(str(tmp_path / "tagger"))
    sb = gluon.SymbolBlock.imports(str(tmp_path / "tagger-symbol.json"), ["data"],
                                   str(tmp_path / "tagger-0000.params"))
    np.testing.assert_allclose(sb(X).asnumpy(), want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("layer", [rnn.LSTM(3, num_layers=2), rnn.GRU(3, layout="NTC"),
                                   rnn.RNN(3, bidirectional=True)])
def test_deferred_input_size(layer):
    layer.initialize()
    y = layer(X)
    assert layer.l0_i2h_weight.shape[1] == 4
    assert y.shape[-1] == 3 * layer._dir
    layer.hybridize()
    np.testing.assert_allclose(layer(X).asnumpy(), y.asnumpy(), rtol=1e-6, atol=1e-7)


def test_states_returned_only_when_given():
    layer = rnn.LSTM(3, input_size=4)
    layer.initialize()
    out = layer(X)
    assert isinstance(out, nd.NDArray)
    out, states = layer(X, layer.begin_state(5))
    assert [s.shape for s in states] == [(1, 5, 3), (1, 5, 3)]
    with pytest.raises(ValueError, match="Invalid recurrent state shape"):
        layer(X, layer.begin_state(4))


def test_layer_argument_errors():
    with pytest.raises(Exception, match="layout"):
        rnn.LSTM(3, layout="CTN")
    with pytest.raises(Exception, match="hidden_size"):
        rnn.GRU(0)
    with pytest.raises(Exception, match="activation"):
        rnn.RNN(3, activation="sigmoid")
    with pytest.raises(ValueError, match="together"):
        rnn.LSTM(3, state_clip_min=-1)
    with pytest.raises(ValueError, match="sequence_length"):
        layer = rnn.GRU(3, input_size=4)
        layer.initialize()
        layer(X, sequence_length=nd.array([1, 2, 3, 4, 5]))


def test_use_sequence_length_layer():
    layer = rnn.GRU(3, input_size=4, use_sequence_length=True)
    layer.initialize()
    out = layer(X, layer.begin_state(5), nd.array([2, 1, 2, 2, 1]))[0].asnumpy()
    assert not out[1, [1, 4]].any() and out[1, 0].any()


def test_reprs():
    assert repr(rnn.LSTM(3, num_layers=2, dropout=0.5, bidirectional=True, input_size=4)) \
        == "LSTM(4 -> 3, TNC, num_layers=2, dropout=0.5, bidirectional)"
    assert repr(rnn.RNNCell(3)) == "RNNCell(None -> 3, tanh)"
    assert repr(rnn.ZoneoutCell(rnn.GRUCell(2), 0.1, 0.2)) == \
        "ZoneoutCell(p_out=0.1, p_state=0.2, GRUCell(None -> 6))"


def test_modified_cell_cannot_be_used_directly():
    base = rnn.LSTMCell(3)
    rnn.ResidualCell(base)
    with pytest.raises(AssertionError, match="modifier cell"):
        base.begin_state(2)
    with pytest.raises(NotImplementedError, match="unroll"):
        rnn.BidirectionalCell(rnn.GRUCell(2), rnn.GRUCell(2))(X[0], [])
