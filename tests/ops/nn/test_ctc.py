"""CTCLoss (ctc_loss): against a brute-force sum over every alignment, against MXNet 1.9.1's
numbers (``tests/fixtures/loss_extra.npz``, made by ``tests/fixtures/gen/loss_extra.py``),
finite-difference gradients, and its errors."""
import itertools
import json
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError

from ..opcheck import check_op

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures"
EXTRA = np.load(FIXTURES / "loss_extra.npz")
OUT_TOL = dict(rtol=1e-4, atol=1e-5)
GRAD_TOL = dict(rtol=1e-3, atol=1e-4)

rng = np.random.RandomState(3)


def brute_ctc(x, labels, data_lengths, blank):
    """-log of the summed probability of every path that collapses to each label (0 when
    none does, MXNet's convention for labellings that cannot fit)."""
    T, N, C = x.shape
    out = np.zeros(N)
    for b in range(N):
        tb = data_lengths[b]
        e = np.exp(x[:tb, b] - x[:tb, b].max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        total = 0.0
        for path in itertools.product(range(C), repeat=tb):
            collapsed = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
            if [k for k in collapsed if k != blank] == list(labels[b]):
                total += np.prod(p[np.arange(tb), path])
        out[b] = -np.log(total) if total > 0 else 0.0
    return out


def _case(T, N, C, labels, pad, Lmax):
    lab = np.full((N, Lmax), pad, dtype=np.int32)
    for b, seq in enumerate(labels):
        lab[b, :len(seq)] = seq
    return rng.randn(T, N, C), lab


def test_blank_first_matches_brute_force_and_gradient():
    labels = [[1, 2], [3, 3], [2], []]
    x, lab = _case(5, 4, 4, labels, 0, 3)
    check_op("CTCLoss", [x, lab], {},
             expected=lambda d, l: brute_ctc(d, labels, [5] * 4, blank=0))


def test_blank_last_matches_brute_force_and_gradient():
    labels = [[0, 1, 0], [2, 2], [1]]
    x, lab = _case(5, 3, 4, labels, -1, 3)
    check_op("CTCLoss", [x, lab], {"blank_label": "last"},
             expected=lambda d, l: brute_ctc(d, labels, [5] * 3, blank=3))


def test_data_lengths_match_brute_force_and_gradient():
    labels = [[1, 2], [2], [1, 1]]
    x, lab = _case(5, 3, 3, labels, 0, 2)
    dl = np.array([5, 2, 4], dtype=np.int32)
    out = check_op("CTCLoss", [x, lab, dl], {"use_data_lengths": True},
                   expected=lambda d, l, n: brute_ctc(d, labels, dl, blank=0))
    assert out[0].shape == (3,)


def test_label_lengths_ignore_what_follows():
    # the values after each length (even invalid ones) are ignored
    labels = [[1, 2, 1], [2], []]
    lab = np.array([[1, 2, 1], [2, 0, 9], [7, 7, 7]], dtype=np.int32)
    ll = np.array([3, 1, 0], dtype=np.int32)
    x = rng.randn(5, 3, 3)
    check_op("CTCLoss", [x, lab, ll], {"use_label_lengths": True},
             expected=lambda d, l, n: brute_ctc(d, labels, [5] * 3, blank=0))


def test_both_lengths_blank_last():
    labels = [[0, 1], [1], [0, 0]]
    lab = np.array([[0, 1, -1], [1, 0, 0], [0, 0, 1]], dtype=np.int32)
    dl = np.array([4, 2, 5], dtype=np.int32)
    ll = np.array([2, 1, 2], dtype=np.int32)
    x = rng.randn(5, 3, 3)
    check_op("CTCLoss", [x, lab, dl, ll],
             {"use_data_lengths": True, "use_label_lengths": True, "blank_label": "last"},
             expected=lambda d, l, n, m: brute_ctc(d, labels, dl, blank=2))


def test_float_labels_and_lengths_are_accepted():
    # MXNet users pass labels and lengths as float32 arrays
    x, lab = _case(4, 2, 3, [[1, 2], [2]], 0, 2)
    ref = nd.CTCLoss(nd.array(x), nd.array(lab, dtype="int32")).asnumpy()
    got = nd.ctc_loss(nd.array(x), nd.array(lab.astype(np.float32)),
                      nd.array([4.0, 3.0]), use_data_lengths=True).asnumpy()
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-6)


@pytest.mark.parametrize("name", sorted({k.split("/")[0] for k in EXTRA.files
                                         if k.startswith("op_ctc")}))
def test_matches_mxnet(name):
    meta = json.loads(str(EXTRA[name + "/meta"]))
    arrs = [nd.array(EXTRA[f"{name}/{a}"]) for a in meta["args"]]
    arrs[0].attach_grad()
    with autograd.record():
        out = nd.CTCLoss(*arrs, **meta["attrs"])
    out.backward(nd.array(EXTRA[name + "/head"]))
    assert out.shape == EXTRA[name + "/loss"].shape and out.dtype == np.float32
    np.testing.assert_allclose(out.asnumpy(), EXTRA[name + "/loss"], **OUT_TOL)
    np.testing.assert_allclose(arrs[0].grad.asnumpy(), EXTRA[name + "/grad0"], **GRAD_TOL)


def test_infeasible_labelling_gives_zero_loss_and_gradient():
    # [1, 1, 1] needs 5 steps (blanks between repeats); T = 4. MXNet returns loss 0.
    x = nd.array(rng.randn(4, 2, 3))
    x.attach_grad()
    with autograd.record():
        loss = nd.CTCLoss(x, nd.array([[1, 1, 1], [1, 2, 0]]))
    loss.backward()
    assert loss.asnumpy()[0] == 0.0 and loss.asnumpy()[1] > 0
    assert np.all(x.grad.asnumpy()[:, 0] == 0)
    assert np.any(x.grad.asnumpy()[:, 1] != 0)


def test_steps_beyond_data_length_get_no_gradient():
    x = nd.array(rng.randn(6, 2, 3))
    x.attach_grad()
    with autograd.record():
        loss = nd.CTCLoss(x, nd.array([[1, 2], [2, 0]]), nd.array([6, 3]),
                          use_data_lengths=True)
    loss.backward()
    g = x.grad.asnumpy()
    assert np.all(g[3:, 1] == 0) and np.all(g[:3, 1] != 0) and np.all(g[:, 0] != 0)
    # the gradient rows are softmax minus occupation: each sums to 0
    np.testing.assert_allclose(g.sum(axis=2), 0, atol=1e-6)


def test_aliases_and_hidden_output():
    x, lab = nd.array(rng.randn(3, 2, 4)), nd.array([[1, 2], [3, 0]])
    ref = nd.CTCLoss(x, lab).asnumpy()
    for fn in (nd.ctc_loss, nd._internal._contrib_CTCLoss, nd._internal._contrib_ctc_loss):
        np.testing.assert_array_equal(fn(x, lab).asnumpy(), ref)
    op = mx.ops.get_op("CTCLoss")
    a = op.parse_attrs({})
    assert op.num_outputs(a) == 2 and op.num_visible_outputs(a) == 1
    assert op.list_inputs(op.parse_attrs({"use_label_lengths": True})) == \
        ("data", "label", "label_lengths")


def test_float16_and_float64():
    x, lab = rng.randn(4, 2, 3), nd.array([[1, 2], [2, 0]])
    ref = nd.CTCLoss(nd.array(x, dtype="float64"), lab)
    assert ref.dtype == np.float64
    half = nd.CTCLoss(nd.array(x, dtype="float16"), lab)
    assert half.dtype == np.float16
    np.testing.assert_allclose(half.asnumpy(), ref.asnumpy(), rtol=2e-3)


@pytest.mark.parametrize("label, attrs, inputs, match", [
    ([[1, 4]], {}, [], r"label values must lie in \[1, 3\]"),
    ([[1, 3]], {"blank_label": "last"}, [], r"must lie in \[0, 2\] .*channel 3 is the blank"),
    ([[1, -1, 2]], {}, [], r"label values must lie in \[1, 3\]"),
    ([[1.5, 2]], {}, [], "integer values"),
    ([[1, 2]], {"use_data_lengths": True}, [[0]], r"data_lengths must lie in \[1, 5\]"),
    ([[1, 2]], {"use_data_lengths": True}, [[6]], r"data_lengths must lie in \[1, 5\]"),
    ([[1, 2]], {"use_label_lengths": True}, [[3]], r"label_lengths must lie in \[0, 2\]"),
    ([[1, 2]], {"use_data_lengths": True}, [], "the inputs are"),
    ([[1, 2], [1, 2]], {}, [], r"label must have shape \(batch_size"),
    ([1, 2], {}, [], r"label must have shape \(batch_size"),
    ([[1, 2]], {"use_label_lengths": True}, [[1, 2]], r"label_lengths must have shape \(1,\)"),
])
def test_bad_inputs_are_errors(label, attrs, inputs, match):
    x = nd.array(rng.randn(5, 1, 4))
    with pytest.raises(MXNetError, match=match):
        nd.CTCLoss(x, nd.array(label), *[nd.array(i) for i in inputs], **attrs)


def test_bad_data_is_an_error():
    with pytest.raises(MXNetError, match="3 dimensions"):
        nd.CTCLoss(nd.ones((5, 4)), nd.array([[1]]))
    with pytest.raises(MXNetError, match="floating point"):
        nd.CTCLoss(nd.ones((5, 1, 4), dtype="int32"), nd.array([[1]]))
    with pytest.raises(MXNetError, match="blank_label"):
        nd.CTCLoss(nd.ones((5, 1, 4)), nd.array([[1]]), blank_label="middle")


def test_second_order_gradient_is_refused():
    x = nd.array(rng.randn(4, 1, 3))
    x.attach_grad()
    with autograd.record():
        loss = nd.CTCLoss(x, nd.array([[1, 2]]))
        (g,) = autograd.grad(loss, [x], create_graph=True, retain_graph=True)
        z = (g * g).sum()
    with pytest.raises(MXNetError, match="second and higher order"):
        z.backward()


@pytest.mark.gpu
def test_on_gpu_matches_cpu():
    x, lab = rng.randn(7, 3, 5), np.array([[1, 2, 2], [4, 0, 0], [3, 1, 0]])
    res = []
    for ctx in (mx.cpu(), mx.gpu(0)):
        arr = nd.array(x, ctx=ctx)
        arr.attach_grad()
        with autograd.record():
            loss = nd.CTCLoss(arr, nd.array(lab, ctx=ctx), nd.array([7, 5, 6], ctx=ctx),
                              use_data_lengths=True)
        loss.backward()
        assert loss.context == ctx and arr.grad.context == ctx
        res.append((loss.asnumpy(), arr.grad.asnumpy()))
    (cl, cg), (gl, gg) = res
    np.testing.assert_allclose(gl, cl, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gg, cg, rtol=1e-4, atol=1e-6)


def test_skipped_optional_inputs_are_packed_in_order_as_in_mxnet():
    # MXNet passes the given arrays in order: a None for data_lengths is skipped, and with
    # use_label_lengths the next array is the label lengths whatever its position
    data = nd.array(np.random.RandomState(0).standard_normal((5, 2, 4)))
    label, lengths = nd.array([[1, 2], [1, 0]]), nd.array([2, 1])
    ref = nd.CTCLoss(data, label, label_lengths=lengths, use_label_lengths=True).asnumpy()
    for out in (nd.CTCLoss(data, label, None, lengths, use_label_lengths=True),
                nd.CTCLoss(data, label, lengths, use_label_lengths=True)):
        np.testing.assert_allclose(out.asnumpy(), ref, rtol=1e-6)
