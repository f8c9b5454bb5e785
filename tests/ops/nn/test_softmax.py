"""softmax, log_softmax, softmin, SoftmaxOutput (and _backward_SoftmaxOutput),
softmax_cross_entropy, against MXNet 1.9.1's numbers."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ops import get_op

from ..opcheck import COVERED_GRAD, check_op
from .test_matrix import (check_mx_case, mx_cases, mx_inputs, mx_meta, replay,
                          second_order_check)

rng = np.random.RandomState(0)


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# --- softmax / log_softmax / softmin -------------------------------------------------------------
@pytest.mark.parametrize("name", mx_cases("softmax", "log_softmax", "softmin"))
def test_softmax_family_matches_mxnet(name):
    replay(name)
    # with dtype= the output dtype is fixed, so the float32 run does not give float32
    check_mx_case(name, check_float32="dtype" not in mx_meta(name)["attrs"])


def test_softmax_length_masks_and_zero_rows():
    out = replay("softmax_length")[0].asnumpy()
    length = mx_inputs("softmax_length")[1]
    pos = np.arange(5).reshape(1, 1, 5)
    assert not out[pos >= length[..., None]].any()
    np.testing.assert_allclose(out.sum(-1), (length > 0).astype(np.float32), rtol=1e-6)


def test_softmax_dtype_attribute():
    x = nd.array(rng.randn(2, 3))
    y = nd.softmax(x, dtype="float64")
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.asnumpy(), np_softmax(x.asnumpy().astype(np.float64)),
                               rtol=1e-6)
    assert nd.softmax(nd.array(rng.randn(2, 3), dtype="float64"), dtype="float32").dtype \
        == np.float32
    assert nd.softmax(nd.array(rng.randn(2, 3), dtype="float16")).dtype == np.float16
    # the gradient comes back in the input's dtype
    x.attach_grad()
    with autograd.record():
        y = nd.softmax(x, dtype="float64")
    y.backward(nd.array(rng.randn(2, 3), dtype="float64"))
    assert x.grad.dtype == np.float32


def test_softmax_extreme_values():
    y = nd.softmax(nd.array([[1e30, 1.0, -np.inf]])).asnumpy()
    assert y.tolist() == [[1.0, 0.0, 0.0]]
    assert nd.log_softmax(nd.array([[0.0, -1e4]]), dtype="float64").asnumpy()[0, 1] \
        == pytest.approx(-1e4)


def test_softmax_method_and_shape_rule():
    x = nd.array(rng.randn(2, 3, 4))
    np.testing.assert_allclose(x.softmax(axis=1).asnumpy(), np_softmax(x.asnumpy(), 1),
                               rtol=1e-6)
    op = get_op("softmax")
    a = op.parse_attrs({"use_length": True, "axis": 1})
    assert op.list_inputs(a) == ("data", "length")
    ins, outs = op.infer_shape(a, [(2, 3, 4), None])
    assert ins[1] == (2, 4) and outs == [(2, 3, 4)]
    assert op.infer_type(a, ["float32", None]) == (["float32", "int32"], ["float32"])
    assert op.infer_type(op.parse_attrs({"dtype": "float64"}), ["float32"])[1] == ["float64"]


def test_softmax_errors():
    x = nd.array(rng.randn(2, 4))
    with pytest.raises(MXNetError, match="axis 3 is out of range"):
        nd.softmax(x, axis=3)
    with pytest.raises(MXNetError, match="floating point"):
        nd.softmax(nd.array([1, 2], dtype="int32"))
    with pytest.raises(MXNetError, match="inputs are"):
        nd.softmax(x, use_length=True)
    with pytest.raises(MXNetError, match="integer"):
        nd.softmax(x, nd.array([1.0, 2.0]), use_length=True)
    with pytest.raises(MXNetError, match=r"in \[0, 4\]"):
        nd.softmax(x, nd.array([5, 2], dtype="int32"), use_length=True)
    with pytest.raises(MXNetError, match=r"in \[0, 4\]"):
        nd.softmax(x, nd.array([-1, 2], dtype="int32"), use_length=True)
    with pytest.raises(MXNetError, match="length has shape"):
        nd.softmax(x, nd.array([[1, 2]], dtype="int32"), use_length=True)
    for f in (nd.log_softmax, nd.softmin):
        with pytest.raises(MXNetError, match="use_length"):
            f(x, use_length=True)
    with pytest.raises(MXNetError, match="dtype"):
        nd.softmax(x, dtype="int32")


def test_softmax_length_gradient_check():
    x = rng.randn(2, 3, 4)
    length = np.array([[4, 1, 0], [2, 3, 4]], np.int64)
    check_op("softmax", [x, length], {"use_length": True}, grad_inputs=[0])
    check_op("softmax", [x, np.array([[1, 2, 3, 0], [3, 3, 3, 3]], np.int32)],
             {"use_length": True, "axis": 1, "temperature": 0.5}, grad_inputs=[0])


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "softmin"])
def test_softmax_second_order(op):
    second_order_check(lambda x: getattr(nd, op)(x, axis=0, temperature=1.7) ** 2,
                       [rng.randn(3, 2)])


# --- SoftmaxOutput -------------------------------------------------------------------------------
SO_CASES = mx_cases("SoftmaxOutput")


@pytest.mark.parametrize("name", SO_CASES)
def test_softmax_output_matches_mxnet(name):
    """Forward and MXNet's (non-derivative) gradient rules, including the head gradient
    being ignored: the MXNet runs passed a random head gradient."""
    replay(name)
    # the forward is a plain softmax: its shape/dtype rules and float32 agree
    check_mx_case(name, grad=False)
    # SoftmaxOutput's gradient is by definition not the derivative of its forward, so the
    # finite-difference check cannot apply: it is checked against MXNet's backward here
    # (replay compared it), which is what the coverage test asks for.
    COVERED_GRAD.add("SoftmaxOutput")


def test_softmax_output_cases_cover_the_rules():
    attrs = [mx_meta(n)["attrs"] for n in SO_CASES]
    assert len(SO_CASES) >= 15
    for key in ("multi_output", "preserve_shape", "use_ignore", "out_grad", "smooth_alpha"):
        assert any(a.get(key) for a in attrs), key
    assert {a.get("normalization", "null") for a in attrs} == {"null", "batch", "valid"}


def test_softmax_output_plain_rule():
    x = rng.randn(3, 4)
    lab = np.array([0, 2, 1])
    X = nd.array(x, dtype="float64")
    X.attach_grad()
    with autograd.record():
        y = nd.SoftmaxOutput(X, nd.array(lab, dtype="float64"), grad_scale=0.5)
    y.backward(nd.array(rng.randn(3, 4), dtype="float64"))  # ignored
    np.testing.assert_allclose(X.grad.asnumpy(), 0.5 * (np_softmax(x) - np.eye(4)[lab]),
                               rtol=1e-12)
    assert nd.Softmax(X, nd.array(lab, dtype="float64")).shape == (3, 4)  # MXNet's alias


def test_softmax_output_integer_labels():
    x = nd.array(rng.randn(3, 4))
    x.attach_grad()
    with autograd.record():
        y = nd.SoftmaxOutput(x, nd.array([0, 2, 1], dtype="int32"))
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(),
                               np_softmax(x.asnumpy()) - np.eye(4)[[0, 2, 1]], atol=1e-6)


def test_softmax_output_shape_rule():
    op = get_op("SoftmaxOutput")
    a = op.parse_attrs({})
    assert op.infer_shape(a, [(4, 5), None]) == ([(4, 5), (4,)], [(4, 5)])
    assert op.infer_shape(a, [(2, 3, 4), None])[0][1] == (2, 3)
    assert op.infer_shape(a, [(4, 5), (4, 5)])[0][1] == (4, 5)  # probabilities
    m = op.parse_attrs({"multi_output": True})
    assert op.infer_shape(m, [(2, 3, 4, 5), None])[0][1] == (2, 20)
    op.infer_shape(m, [(2, 3, 4, 5), (2, 4, 5)])
    op.infer_shape(m, [(2, 3, 4, 5), (2, 1, 4, 5)])
    with pytest.raises(MXNetError, match="label has shape"):
        op.infer_shape(m, [(2, 3, 4, 5), (2, 3)])
    with pytest.raises(MXNetError, match="label has shape"):
        op.infer_shape(a, [(4, 5), (5,)])
    with pytest.raises(MXNetError, match="label has shape"):
        nd.SoftmaxOutput(nd.ones((4, 5)), nd.ones((3,)))
    with pytest.raises(MXNetError, match="at least 2 dimensions"):
        nd.SoftmaxOutput(nd.ones((4,)), nd.ones((1,)))
    with pytest.raises(MXNetError, match="normalization"):
        nd.SoftmaxOutput(nd.ones((4, 5)), nd.ones((4,)), normalization="mean")


@pytest.mark.parametrize("attrs,label", [
    ({}, np.array([0, 3, 7, 1.0])),
    ({"use_ignore": True, "normalization": "valid", "smooth_alpha": 0.1},
     np.array([0, -1, 2, 1.0])),
    ({"out_grad": True, "grad_scale": 2.0}, np.array([0, 3, 2, 1.0])),
    ({"multi_output": True, "normalization": "batch"}, np.array([[0, 1], [2, 2], [1, 0],
                                                                 [3, 1.0]])),
    ({"out_grad": True}, "prob"),
])
def test_backward_softmax_output_op(attrs, label):
    shape = (4, 5, 2) if attrs.get("multi_output") else (4, 5)
    out = np_softmax(rng.randn(*shape), axis=1)
    if isinstance(label, str):
        label = np_softmax(rng.randn(*shape), axis=1)
    # linear (or, with out_grad, quadratic) in `out`: its own gradient is exact
    check_op("_backward_SoftmaxOutput", [out, label], attrs, grad_inputs=[0])


def test_softmax_output_out_grad_multiplies_by_output():
    # MXNet 1.9.1's backward never receives the head gradient; with out_grad it
    # multiplies by the softmax output instead (checked in so_out_grad too)
    x = rng.randn(2, 3)
    X = nd.array(x, dtype="float64")
    X.attach_grad()
    with autograd.record():
        y = nd.SoftmaxOutput(X, nd.array([1, 2], dtype="float64"), out_grad=True)
    y.backward(nd.array(np.full((2, 3), 7.0), dtype="float64"))
    s = np_softmax(x)
    np.testing.assert_allclose(X.grad.asnumpy(), (s - np.eye(3)[[1, 2]]) * s, rtol=1e-12)


# --- softmax_cross_entropy -----------------------------------------------------------------------
def test_softmax_cross_entropy_matches_mxnet():
    replay("sce")
    check_mx_case("sce", grad_inputs=[0])
    x, lab = mx_inputs("sce")
    check_op("softmax_cross_entropy", [x.astype(np.float64), lab.astype(np.int64)],
             expected=lambda d, l: np.array([-np.log(np_softmax(d)[np.arange(4), l]).sum()]),
             grad_inputs=[0])


def test_softmax_cross_entropy_errors():
    with pytest.raises(MXNetError, match="2-D"):
        nd.softmax_cross_entropy(nd.ones((3,)), nd.ones((3,)))
    with pytest.raises(MXNetError, match="label must have shape"):
        nd.softmax_cross_entropy(nd.ones((2, 3)), nd.ones((3,)))
    with pytest.raises(MXNetError, match=r"class indices in \[0, 3\)"):
        nd.softmax_cross_entropy(nd.ones((2, 3)), nd.array([0, 3]))
    with pytest.raises(MXNetError, match=r"class indices"):
        nd.softmax_cross_entropy(nd.ones((2, 3)), nd.array([0, -1]))


def test_softmax_cross_entropy_second_order():
    lab = nd.array([1, 0, 2], dtype="int32")
    second_order_check(lambda x: nd.softmax_cross_entropy(x, lab) ** 2, [rng.randn(3, 3)])


@pytest.mark.gpu
def test_softmax_on_gpu_matches_cpu():
    x = rng.randn(3, 4)
    length = np.array([4, 0, 2], np.int32)
    cpu = nd.softmax(nd.array(x), nd.array(length, dtype="int32"), use_length=True).asnumpy()
    ctx = mx.gpu(0)
    gpu = nd.softmax(nd.array(x, ctx=ctx), nd.array(length, ctx=ctx, dtype="int32"),
                     use_length=True).asnumpy()
    np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=1e-6)
    X = nd.array(x, ctx=ctx)
    X.attach_grad()
    with autograd.record():
        y = nd.SoftmaxOutput(X, nd.array([0, 3, 1], ctx=ctx), normalization="batch")
    y.backward()
    np.testing.assert_allclose(X.grad.asnumpy(), (np_softmax(x) - np.eye(4)[[0, 3, 1]]) / 3,
                               rtol=1e-5, atol=1e-6)
    s = nd.softmax_cross_entropy(nd.array(x, ctx=ctx), nd.array([0, 3, 1], ctx=ctx))
    assert s.shape == (1,)
