"""gluon.loss against MXNet 1.9.1: every case of the shared reference data
(``tests/fixtures/gluon_losses.npz`` + ``gluon_index.json``, copies of MXNet's
``losses.npz``/``index.json``) and the extra cases of ``tests/fixtures/loss_extra.npz``
(made by ``tests/fixtures/gen/loss_extra.py``): per-sample loss and input gradients after
``loss.backward()``. Then behaviours and errors."""
import json
import math
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.gluon import HybridBlock
from gluonlite.gluon import loss as gloss

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
LOSSES = np.load(FIXTURES / "gluon_losses.npz")
INDEX = {e["name"]: e["loss"] for e in json.loads((FIXTURES / "gluon_index.json").read_text())
         if "loss" in e}
EXTRA = np.load(FIXTURES / "loss_extra.npz")
EXTRA_GLUON = sorted(n for n in {k.split("/")[0] for k in EXTRA.files}
                     if json.loads(str(EXTRA[n + "/meta"]))["kind"] == "gluon")
OUT_TOL = dict(rtol=1e-4, atol=1e-5)
GRAD_TOL = dict(rtol=1e-3, atol=1e-4)

rng = np.random.RandomState(11)


def _run(loss_fn, args, grad, hybridize=False):
    arrs = [None if a is None else nd.array(a) for a in args]
    for i in grad:
        arrs[i].attach_grad()
    if hybridize:
        loss_fn.hybridize()
    with autograd.record():
        out = loss_fn(*arrs)
    if grad:
        out.backward()
    return out, [arrs[i].grad.asnumpy() for i in grad]


def test_fixture_lists_every_loss_case():
    assert len(INDEX) == 14
    assert {k.split("/")[0] for k in LOSSES.files} == set(INDEX)


@pytest.mark.parametrize("hybridize", [False, True])
@pytest.mark.parametrize("name", sorted(INDEX))
def test_matches_mxnet_reference(name, hybridize):
    args = [LOSSES[f"{name}/pred"], LOSSES[f"{name}/label"]]
    if f"{name}/weight" in LOSSES.files:
        args.append(LOSSES[f"{name}/weight"])
    out, (g,) = _run(eval(INDEX[name]), args, [0], hybridize)
    exp = LOSSES[f"{name}/loss"]
    assert out.shape == exp.shape and out.dtype == np.float32
    np.testing.assert_allclose(out.asnumpy(), exp, **OUT_TOL)
    np.testing.assert_allclose(g, LOSSES[f"{name}/pred_grad"], **GRAD_TOL)


@pytest.mark.parametrize("name", EXTRA_GLUON)
def test_matches_mxnet_extra_cases(name):
    meta = json.loads(str(EXTRA[name + "/meta"]))
    args = [None if a is None else EXTRA[f"{name}/{a}"] for a in meta["args"]]
    out, grads = _run(eval(meta["ctor"]), args, meta["grad"])
    exp = EXTRA[name + "/loss"]
    assert out.shape == exp.shape, f"{name}: shape {out.shape}, MXNet {exp.shape}"
    np.testing.assert_allclose(out.asnumpy(), exp, **OUT_TOL)
    for i, g in zip(meta["grad"], grads):
        np.testing.assert_allclose(g, EXTRA[f"{name}/grad{i}"], err_msg=f"grad of arg {i}",
                                   **GRAD_TOL)


def test_extra_cases_cover_the_assignment():
    ctors = " ".join(json.loads(str(EXTRA[n + "/meta"]))["ctor"] for n in EXTRA_GLUON)
    for what in ("TripletLoss", "CosineEmbeddingLoss", "CTCLoss", "SDMLLoss", "batch_axis=1",
                 "KLDivLoss(from_logits=False", "weight=", "label_format='binary'"):
        assert what in ctors, what
    names = " ".join(EXTRA_GLUON)
    assert "posw" in names and "_sw" in names


# --- definitions ------------------------------------------------------------------------------
def _grad_fd(fn, x, eps=1e-6):
    num = np.zeros_like(x)
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp.flat[i] += eps
        xm.flat[i] -= eps
        num.flat[i] = (fn(xp) - fn(xm)) / (2 * eps)
    return num


@pytest.mark.parametrize("ctor, shape, extra", [
    ("gloss.CosineEmbeddingLoss(margin=0.1)", (3, 4),
     [rng.randn(3, 4), np.array([1.0, -1.0, -1.0])]),
    ("gloss.TripletLoss(margin=0.3)", (3, 4), [rng.randn(3, 4), rng.randn(3, 4)]),
    ("gloss.CTCLoss()", (3, 5, 3), [np.array([[0.0, 1.0], [1.0, -1.0], [1.0, 1.0]])]),
    ("gloss.SigmoidBCELoss()", (3, 4), [rng.rand(3, 4)]),
    ("gloss.PoissonNLLLoss(compute_full=True)", (3, 4), [np.array([[0, 1, 2, 5]] * 3, float)]),
    ("gloss.SoftmaxCELoss(axis=1)", (2, 3, 2), [np.array([[0, 2], [1, 1]], float)]),
])
def test_gradients_match_finite_differences_in_float64(ctor, shape, extra):
    loss_fn = eval(ctor)
    x0 = rng.randn(*shape)
    others = [nd.array(e, dtype="float64") for e in extra]

    def f(x):
        return float(loss_fn(nd.array(x, dtype="float64"), *others).asnumpy().sum())

    x = nd.array(x0, dtype="float64")
    x.attach_grad()
    with autograd.record():
        out = loss_fn(x, *others)
    assert out.dtype == np.float64
    out.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), _grad_fd(f, x0), rtol=1e-5, atol=1e-7)


def test_l2_and_l1_definitions():
    p, l = rng.randn(4, 3, 2), rng.randn(4, 3, 2)
    np.testing.assert_allclose(gloss.L2Loss()(nd.array(p), nd.array(l)).asnumpy(),
                               (0.5 * (p - l) ** 2).mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(gloss.L1Loss(weight=3)(nd.array(p), nd.array(l)).asnumpy(),
                               3 * np.abs(p - l).mean(axis=(1, 2)), rtol=1e-5)
    # weight=None for L2Loss means 1, not an error
    np.testing.assert_allclose(gloss.L2Loss(weight=None)(nd.array(p), nd.array(l)).asnumpy(),
                               (0.5 * (p - l) ** 2).mean(axis=(1, 2)), rtol=1e-5)


def test_softmax_ce_label_is_clipped_like_pick():
    p = rng.randn(3, 4)
    lossf = gloss.SoftmaxCELoss()
    a = lossf(nd.array(p), nd.array([5, -2, 1])).asnumpy()
    b = lossf(nd.array(p), nd.array([3, 0, 1])).asnumpy()
    np.testing.assert_allclose(a, b)


def test_poisson_full_is_finite_for_zero_counts():
    # MXNet 1.9.1 gives NaN here (0 * log 0); the Stirling term is meant to be 0 for t <= 1
    p = rng.randn(2, 3)
    t = np.array([[0.0, 1.0, 3.0], [0.5, 0.0, 7.0]])
    got = gloss.PoissonNLLLoss(compute_full=True)(nd.array(p), nd.array(t)).asnumpy()
    st = np.where(t > 1, t * np.log(np.maximum(t, 1)) - t + 0.5 * np.log(2 * np.pi *
                                                                       np.maximum(t, 1)), 0)
    exp = np.mean(np.exp(p) - t * p + st)
    assert got.shape == (1,)
    np.testing.assert_allclose(got[0], exp, rtol=1e-5)


def test_ctc_label_lengths_without_pred_lengths_and_layouts_agree():
    pred = rng.randn(2, 6, 4)  # NTC
    label = np.array([[0, 2, 1], [1, 1, 2]], np.float32)
    a = gloss.CTCLoss()(nd.array(pred), nd.array(label), None, nd.array([2, 3])).asnumpy()
    b = gloss.CTCLoss(layout="TNC", label_layout="TN")(
        nd.array(pred.transpose(1, 0, 2)), nd.array(label.T), None,
        nd.array([2, 3])).asnumpy()
    c = gloss.CTCLoss()(nd.array(pred), nd.array([[0, 2, -1], [1, 1, 2]])).asnumpy()
    np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(a, c, rtol=1e-6)


def test_triplet_sample_weight_and_sdml_weight():
    p, q, r = (nd.array(rng.randn(3, 4)) for _ in range(3))
    base = gloss.TripletLoss()(p, q, r).asnumpy()
    w = gloss.TripletLoss()(p, q, r, nd.array([1.0, 0.0, 2.0])).asnumpy()
    np.testing.assert_allclose(w, base * [1, 0, 2], rtol=1e-6)
    s1 = gloss.SDMLLoss()(p, q).asnumpy()
    s2 = gloss.SDMLLoss(weight=2.0)(p, q).asnumpy()
    np.testing.assert_allclose(s2, 2 * s1, rtol=1e-6)


def test_repr_and_subclassing():
    assert repr(gloss.L2Loss()) == "L2Loss(batch_axis=0, w=1.0)"
    assert repr(gloss.CTCLoss(label_layout="TN")) == "CTCLoss(batch_axis=1, w=None)"
    assert gloss.SoftmaxCELoss is gloss.SoftmaxCrossEntropyLoss
    assert gloss.SigmoidBCELoss is gloss.SigmoidBinaryCrossEntropyLoss
    assert isinstance(gloss.L1Loss(), HybridBlock)

    class Scaled(gloss.Loss):
        def __init__(self, **kw):
            super().__init__(None, 0, **kw)

        def hybrid_forward(self, F, pred, label):
            return F.mean(F.abs(pred - label) * 3, axis=self._batch_axis, exclude=True)

    p, l = rng.randn(2, 3), rng.randn(2, 3)
    np.testing.assert_allclose(Scaled()(nd.array(p), nd.array(l)).asnumpy(),
                               3 * np.abs(p - l).mean(axis=1), rtol=1e-5)
    with pytest.raises(NotImplementedError):
        gloss.Loss(None, 0)(nd.ones((2,)), nd.ones((2,)))


# --- errors ---------------------------------------------------------------------------------
def test_label_with_another_size_is_an_error():
    with pytest.raises(MXNetError, match=r"label has shape \(5,\) \(5 elements\) but pred "
                                         r"has shape \(4, 3\)"):
        gloss.L2Loss()(nd.ones((4, 3)), nd.ones((5,)))
    with pytest.raises(MXNetError, match="negative has shape"):
        gloss.TripletLoss()(nd.ones((4, 3)), nd.ones((4, 3)), nd.ones((4, 2)))


def test_bad_sample_weight_is_an_error():
    with pytest.raises(MXNetError, match=r"sample_weight: shape \(3, 1\) cannot be broadcast"):
        gloss.L1Loss()(nd.ones((4, 3)), nd.ones((4, 3)), nd.ones((3, 1)))
    with pytest.raises(TypeError, match="sample_weight: expected an NDArray"):
        gloss.L1Loss()(nd.ones((4, 3)), nd.ones((4, 3)), np.ones((4, 1)))


def test_non_ndarray_inputs_are_errors():
    with pytest.raises(TypeError, match="L2Loss: label must be an NDArray"):
        gloss.L2Loss()(nd.ones((2, 2)), np.ones((2, 2)))


@pytest.mark.parametrize("make, match, exc", [
    (lambda: gloss.L2Loss(weight="2"), "weight: expected a number", TypeError),
    (lambda: gloss.L1Loss(batch_axis=1.5), "batch_axis: expected an int", TypeError),
    (lambda: gloss.LogisticLoss(label_format="pm1"), "label_format can only be", ValueError),
    (lambda: gloss.CTCLoss(layout="NCT"), "layout: only 'NTC' and 'TNC'", ValueError),
    (lambda: gloss.CTCLoss(label_layout="NTC"), "label_layout: only", ValueError),
    (lambda: gloss.HuberLoss(rho=0), "rho: expected a positive number", ValueError),
    (lambda: gloss.HingeLoss(margin="1"), "margin: expected a number", TypeError),
    (lambda: gloss.SDMLLoss(smoothing_parameter=1.0), "smoothing_parameter", ValueError),
    (lambda: gloss.SoftmaxCELoss(axis=None), "axis: expected an int", TypeError),
])
def test_bad_constructor_arguments(make, match, exc):
    with pytest.raises(exc, match=match):
        make()


def test_shape_errors_name_the_argument():
    with pytest.raises(MXNetError, match=r"sparse_label=True, label must hold one class index "
                                         r"per prediction: shape \(4,\)"):
        gloss.SoftmaxCELoss()(nd.ones((4, 3)), nd.ones((3,)))
    with pytest.raises(MXNetError, match="axis=2 is out of range for pred"):
        gloss.SoftmaxCELoss(axis=2)(nd.ones((4, 3)), nd.ones((4,)))
    with pytest.raises(MXNetError, match="batch_axis=2 is out of range"):
        gloss.L2Loss(batch_axis=2)(nd.ones((4, 3)), nd.ones((4, 3)))
    with pytest.raises(MXNetError, match="KLDivLoss: label of shape"):
        gloss.KLDivLoss()(nd.ones((4, 3)), nd.ones((4, 2)))
    with pytest.raises(MXNetError, match="pos_weight of shape"):
        gloss.SigmoidBCELoss()(nd.ones((4, 3)), nd.ones((4, 3)), None, nd.ones((1, 2)))
    with pytest.raises(MXNetError, match="label must hold one value per row of input2"):
        gloss.CosineEmbeddingLoss()(nd.ones((4, 3)), nd.ones((4, 3)), nd.ones((3,)))
    with pytest.raises(MXNetError, match="at least 2 pairs"):
        gloss.SDMLLoss()(nd.ones((1, 3)), nd.ones((1, 3)))


def test_ctc_shape_errors_speak_in_the_layouts():
    with pytest.raises(MXNetError, match=r"pred must have 3 dimensions \(layout 'NTC'\)"):
        gloss.CTCLoss()(nd.ones((2, 5)), nd.ones((2, 3)))
    with pytest.raises(MXNetError, match=r"label of shape \(3, 3\) \(label_layout 'NT'\) has "
                                         r"batch size 3, pred of shape \(2, 5, 4\)"):
        gloss.CTCLoss()(nd.ones((2, 5, 4)), nd.ones((3, 3)))
    with pytest.raises(MXNetError, match=r"pred_lengths must have shape \(2,\)"):
        gloss.CTCLoss()(nd.ones((2, 5, 4)), nd.ones((2, 3)), nd.ones((3,)))
    with pytest.raises(MXNetError, match=r"label values must lie in \[0, 2\]"):
        gloss.CTCLoss()(nd.ones((2, 5, 4)), nd.array([[0, 3], [1, -1]]))


def test_poisson_stirling_term_value():
    # target 3 > 1: exp(0) - 0 + 3 log 3 - 3 + log(2 pi 3) / 2
    t = nd.array([[3.0]])
    got = gloss.PoissonNLLLoss(compute_full=True)(nd.zeros((1, 1)), t).asnumpy()[0]
    assert abs(got - (1 + 3 * math.log(3) - 3 + 0.5 * math.log(6 * math.pi))) < 1e-5


@pytest.mark.gpu
def test_losses_on_gpu_match_cpu():
    p, l = rng.randn(4, 5), np.array([0, 4, 2, 1], np.float32)
    res = []
    for ctx in (mx.cpu(), mx.gpu(0)):
        x = nd.array(p, ctx=ctx)
        x.attach_grad()
        with autograd.record():
            out = gloss.SoftmaxCELoss()(x, nd.array(l, ctx=ctx)) + \
                gloss.CTCLoss()(x.reshape((4, 5, 1)).broadcast_to((4, 5, 3)),
                                nd.array([[0, 1], [1, -1], [0, 0], [-1, -1]], ctx=ctx))
        out.backward()
        res.append((out.asnumpy(), x.grad.asnumpy()))
    np.testing.assert_allclose(res[1][0], res[0][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res[1][1], res[0][1], rtol=1e-4, atol=1e-6)
