"""The fused ``RNN`` operator, ``_backward_RNN``, ``_rnn_param_concat`` and the
``Sequence*`` operators: finite-difference gradients (``check_op``), the packed parameter
layout, ``use_sequence_length`` against per-sequence runs, state clipping, dropout, and
errors. (Outputs and gradients against MXNet: tests/gluon/rnn/test_rnn_mxnet.py.)"""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ops.nn.rnn import rnn_param_size, rnn_param_shapes

from ..opcheck import check_op

rng = np.random.RandomState(11)
T, N, I, H = 3, 2, 2, 2


def rnn_inputs(mode, layers=1, bi=False, proj=None, t=T, n=N, i=I, h=H):
    d = 2 if bi else 1
    p = rng.uniform(-0.6, 0.6, rnn_param_size(mode, layers, bi, h, i, proj))
    ins = [rng.uniform(-1, 1, (t, n, i)), p, rng.uniform(-1, 1, (layers * d, n, proj or h))]
    if mode == "lstm":
        ins.append(rng.uniform(-1, 1, (layers * d, n, h)))
    return ins


GRAD_CASES = [
    ("rnn_tanh", 2, True, None),
    ("rnn_relu", 1, False, None),
    ("lstm", 2, False, None),
    ("lstm", 1, True, 1),
    ("gru", 2, True, None),
]


@pytest.mark.parametrize("mode,layers,bi,proj", GRAD_CASES)
def test_rnn_gradients_finite_differences(mode, layers, bi, proj):
    ins = rnn_inputs(mode, layers, bi, proj)
    attrs = dict(state_size=H, num_layers=layers, mode=mode, bidirectional=bi,
                 state_outputs=True, projection_size=proj)
    check_op("RNN", ins, attrs, grad_rtol=1e-4, grad_atol=1e-6)


def test_rnn_dropout_between_layers_gradient():
    ins = rnn_inputs("gru", 2)
    check_op("RNN", ins, dict(state_size=H, num_layers=2, mode="gru", p=0.5,
                              state_outputs=True), seed=3, check_float32=False)


def test_rnn_dropout_is_training_only_and_scaled():
    mx.random.seed(0)
    ins = [nd.array(a) for a in rnn_inputs("rnn_relu", 2, t=20, n=50, h=8)]
    a = dict(state_size=8, num_layers=2, mode="rnn_relu", p=0.5)
    with autograd.predict_mode():
        y0 = nd.RNN(*ins, **a).asnumpy()
    np.testing.assert_array_equal(y0, nd.RNN(*ins, **dict(a, p=0.0)).asnumpy())
    with autograd.train_mode():
        y1 = nd.RNN(*ins, **a).asnumpy()
    assert not np.allclose(y0, y1)


def test_rnn_clip_gradient_and_values():
    ins = rnn_inputs("lstm", 1)
    ins[3] = ins[3] * 3   # some cell states start outside the range
    attrs = dict(state_size=H, num_layers=1, mode="lstm", state_outputs=True,
                 lstm_state_clip_min=-0.3, lstm_state_clip_max=0.25)
    out = check_op("RNN", ins, attrs)
    assert out[2].min() >= -0.3 and out[2].max() <= 0.25


def test_rnn_clip_nan():
    ins = [nd.array(a) for a in rnn_inputs("lstm", 1)]
    c0 = ins[3].asnumpy()
    c0[0, 0, 0] = np.nan
    ins[3] = nd.array(c0)
    a = dict(state_size=H, num_layers=1, mode="lstm", state_outputs=True,
             lstm_state_clip_min=-0.5, lstm_state_clip_max=0.5)
    assert np.isnan(nd.RNN(*ins, **a)[2].asnumpy()).any()
    cy = nd.RNN(*ins, **a, lstm_state_clip_nan=True)[2].asnumpy()
    assert not np.isnan(cy).any()


@pytest.mark.parametrize("mode,bi", [("lstm", True), ("gru", False), ("rnn_tanh", True)])
def test_use_sequence_length_equals_per_sequence_runs(mode, bi):
    t, n = 5, 3
    ins = rnn_inputs(mode, 2, bi, t=t, n=n)
    lengths = np.array([2, 5, 3])
    a = dict(state_size=H, num_layers=2, mode=mode, bidirectional=bi, state_outputs=True)
    got = nd.RNN(*[nd.array(x) for x in ins], nd.array(lengths), use_sequence_length=True,
                 **a)
    got = [g.asnumpy() for g in got]
    for b, ln in enumerate(lengths):
        one = [ins[0][:ln, b:b + 1], ins[1]] + [s[:, b:b + 1] for s in ins[2:]]
        ref = [r.asnumpy() for r in nd.RNN(*[nd.array(x) for x in one], **a)]
        np.testing.assert_allclose(got[0][:ln, b:b + 1], ref[0], rtol=1e-6, atol=1e-7)
        assert not got[0][ln:, b].any()
        for g, r in zip(got[1:], ref[1:]):
            np.testing.assert_allclose(g[:, b:b + 1], r, rtol=1e-6, atol=1e-7)
    # and its gradient (the lengths are an index input)
    check_op("RNN", ins + [lengths.astype(np.float64)], dict(a, use_sequence_length=True),
             grad_inputs=[0, 1, 2])


def test_backward_rnn_operator():
    ins = rnn_inputs("gru", 1)
    a = dict(state_size=H, num_layers=1, mode="gru", state_outputs=True)
    mask = np.ones((0, T, N, H))
    og, hg = rng.uniform(-1, 1, (T, N, H)), rng.uniform(-1, 1, (1, N, H))
    x, p, s = [nd.array(v) for v in ins]
    for v in (x, p, s):
        v.attach_grad()
    with autograd.record():
        y, hy = nd.RNN(x, p, s, **a)
    autograd.backward([y, hy], [nd.array(og), nd.array(hg)])
    check_op("_backward_RNN", [ins[0], ins[1], ins[2], mask, og, hg], a,
             expected=[x.grad.asnumpy(), p.grad.asnumpy(), s.grad.asnumpy()], grad=False)


def test_packed_layout_order():
    names = [n for n, _ in rnn_param_shapes("lstm", 2, True, 3, 5, 2)]
    assert names[:6] == ["l0_i2h_weight", "l0_h2h_weight", "l0_h2r_weight",
                         "r0_i2h_weight", "r0_h2h_weight", "r0_h2r_weight"]
    assert names[12:16] == ["l0_i2h_bias", "l0_h2h_bias", "r0_i2h_bias", "r0_h2h_bias"]
    assert dict(rnn_param_shapes("lstm", 2, True, 3, 5, 2))["l1_i2h_weight"] == (12, 4)
    # mode='rnn_tanh', L=1: W_ih (H, I), W_hh (H, H), b_ih, b_hh -> a hand-computed step
    x, h0 = rng.randn(1, 1, 2), rng.randn(1, 1, 3)
    wi, wh, bi, bh = rng.randn(3, 2), rng.randn(3, 3), rng.randn(3), rng.randn(3)
    p = np.concatenate([wi.ravel(), wh.ravel(), bi, bh])
    y = nd.RNN(nd.array(x), nd.array(p), nd.array(h0), state_size=3, num_layers=1,
               mode="rnn_tanh").asnumpy()
    np.testing.assert_allclose(y[0, 0], np.tanh(wi @ x[0, 0] + bi + wh @ h0[0, 0] + bh),
                               rtol=1e-5)


def test_rnn_param_concat():
    parts = [rng.randn(4), rng.randn(6), rng.randn(2)]
    check_op("_rnn_param_concat", parts, dict(dim=0), expected=np.concatenate(parts))


def test_rnn_errors():
    x, p, s = [nd.array(v) for v in rnn_inputs("gru", 1)]
    a = dict(state_size=H, num_layers=1, mode="gru")
    with pytest.raises(MXNetError, match="parameters must have shape"):
        nd.RNN(x, p[:5], s, **a)
    with pytest.raises(MXNetError, match="state must have shape"):
        nd.RNN(x, p, nd.zeros((2, N, H)), **a)
    with pytest.raises(MXNetError, match="mode"):
        nd.RNN(x, p, s, state_size=H, num_layers=1, mode="lstmx")
    with pytest.raises(MXNetError, match="projection_size is only supported"):
        nd.RNN(x, p, s, projection_size=1, **a)
    with pytest.raises(MXNetError, match="together"):
        nd.RNN(*[nd.array(v) for v in rnn_inputs("lstm", 1)], state_size=H, num_layers=1,
               mode="lstm", lstm_state_clip_min=0.1)
    with pytest.raises(MXNetError, match="sequence_length values"):
        nd.RNN(x, p, s, nd.array([0, 9]), use_sequence_length=True, **a)
    with pytest.raises(MXNetError, match="3 dimensions"):
        nd.RNN(x[0], p, s, **a)


def test_rnn_symbol_infers_parameter_size():
    y = mx.sym.RNN(mx.sym.var("data"), mx.sym.var("params"), mx.sym.var("state"),
                   mx.sym.var("state_cell"), state_size=3, num_layers=1, mode="lstm",
                   state_outputs=True)
    assert y.list_outputs()[-1].endswith("statecell_output")
    args, outs, _ = y.infer_shape(data=(5, 2, 4))
    assert args[1] == (rnn_param_size("lstm", 1, False, 3, 4),) == (108,)
    assert outs == [(5, 2, 3), (1, 2, 3), (1, 2, 3)]


# --- Sequence* ---------------------------------------------------------------------------
SEQ = rng.randn(4, 3, 2)
LENS = np.array([2.0, 4.0, 1.0])


def _ref_mask(x, lens, value, axis):
    y = x.copy() if axis == 0 else np.swapaxes(x, 0, 1).copy()
    for b, ln in enumerate(lens.astype(int)):
        y[ln:, b] = value
    return y if axis == 0 else np.swapaxes(y, 0, 1)


@pytest.mark.parametrize("axis", [0, 1])
def test_sequence_mask(axis):
    x = SEQ if axis == 0 else np.swapaxes(SEQ, 0, 1).copy()
    check_op("SequenceMask", [x, LENS], dict(use_sequence_length=True, value=-1.5, axis=axis),
             expected=_ref_mask(x, LENS, -1.5, axis), grad_inputs=[0])
    check_op("SequenceMask", [x], dict(axis=axis), expected=x)


@pytest.mark.parametrize("axis", [0, 1])
def test_sequence_last(axis):
    x = SEQ if axis == 0 else np.swapaxes(SEQ, 0, 1).copy()
    xt = SEQ
    want = np.stack([xt[int(ln) - 1, b] for b, ln in enumerate(LENS)])
    check_op("SequenceLast", [x, LENS], dict(use_sequence_length=True, axis=axis),
             expected=want, grad_inputs=[0])
    check_op("SequenceLast", [x], dict(axis=axis), expected=xt[-1])


def test_backward_sequence_last():
    og = rng.randn(3, 2)
    want = np.zeros_like(SEQ)
    for b, ln in enumerate(LENS.astype(int)):
        want[ln - 1, b] = og[b]
    check_op("_backward_SequenceLast", [og, SEQ, LENS], dict(use_sequence_length=True),
             expected=want, grad=False)


def test_sequence_reverse():
    want = SEQ.copy()
    for b, ln in enumerate(LENS.astype(int)):
        want[:ln, b] = SEQ[:ln, b][::-1]
    check_op("SequenceReverse", [SEQ, LENS], dict(use_sequence_length=True), expected=want,
             grad_inputs=[0])
    check_op("SequenceReverse", [SEQ], {}, expected=SEQ[::-1])


def test_sequence_errors():
    with pytest.raises(MXNetError, match="sequence_length values"):
        nd.SequenceMask(nd.array(SEQ), nd.array([0, 1, 1]), use_sequence_length=True)
    with pytest.raises(MXNetError, match="axis must be one of"):
        nd.SequenceReverse(nd.array(SEQ), axis=1)
    with pytest.raises(MXNetError, match="sequence_length must have shape"):
        nd.SequenceLast(nd.array(SEQ), nd.array([1, 2]), use_sequence_length=True)
