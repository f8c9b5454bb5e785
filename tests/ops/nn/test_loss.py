"""smooth_l1 against MXNet 1.9.1's numbers and its definition; the output (loss) layers
LinearRegressionOutput, LogisticRegressionOutput, MAERegressionOutput and MakeLoss, and
their defined-gradient operators, against their definitions and MXNet's gradients
(tests/fixtures/module_mxnet.npz, from tests/fixtures/gen/module_mxnet.py)."""
import json
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError

from ..opcheck import COVERED_GRAD, check_op, run_op
from .test_matrix import mx_cases, replay

rng = np.random.RandomState(0)


def np_smooth_l1(x, s):
    b = s * s
    return np.where(np.abs(x) < 1 / b, 0.5 * b * x * x, np.abs(x) - 0.5 / b)


@pytest.mark.parametrize("name", mx_cases("smooth_l1"))
def test_smooth_l1_matches_mxnet(name):
    replay(name)


@pytest.mark.parametrize("sigma", [1.0, 2.0, 0.5, -1.5])
def test_smooth_l1_definition_and_gradient(sigma):
    # finite differences away from the switch points |x| = 1/sigma^2
    b = 1 / sigma ** 2
    x = rng.uniform(-3 * b, 3 * b, 12)
    x = x[np.abs(np.abs(x) - b) > 1e-3]
    check_op("smooth_l1", [x], {"scalar": sigma}, expected=lambda v: np_smooth_l1(v, sigma))


def test_smooth_l1_defaults_to_sigma_one_and_checks():
    x = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(nd.smooth_l1(nd.array(x)).asnumpy(), np_smooth_l1(x, 1.0))
    with pytest.raises(MXNetError, match="non-zero"):
        nd.smooth_l1(nd.array(x), scalar=0.0)
    with pytest.raises(MXNetError, match="floating point"):
        nd.smooth_l1(nd.array([1, 2], dtype="int32"))


def test_smooth_l1_gradient_clips():
    x = nd.array([-4.0, -0.1, 0.0, 0.2, 4.0])
    x.attach_grad()
    with autograd.record():
        y = nd.smooth_l1(x, scalar=2.0)
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), [-1.0, -0.4, 0.0, 0.8, 1.0], rtol=1e-6)


@pytest.mark.gpu
def test_smooth_l1_on_gpu():
    x = rng.randn(10)
    gpu = nd.smooth_l1(nd.array(x, ctx=mx.gpu(0)), scalar=1.5).asnumpy()
    np.testing.assert_allclose(gpu, np_smooth_l1(x, 1.5), rtol=1e-5, atol=1e-6)


# --- output (loss) layers ------------------------------------------------------------------------
# Their gradient is *defined* (MXNet's regression_output-inl.h, make_loss-inl.h), not the
# derivative of the forward, and ignores the head gradient: the finite-difference check cannot
# apply, so the forward goes through check_op and the gradient is compared with MXNet's and
# with the definition. The helper operators computing those gradients are ordinary
# differentiable operators and get the full check_op, finite differences included.
FIX = pathlib.Path(__file__).resolve().parents[2] / "fixtures"
MOD_META = json.loads((FIX / "module_mxnet.json").read_text())
MOD_ARR = np.load(FIX / "module_mxnet.npz")
REG_FWD = {
    "LinearRegressionOutput": lambda x: x,
    "LogisticRegressionOutput": lambda x: 1 / (1 + np.exp(-x)),
    "MAERegressionOutput": lambda x: x,
}
REG_GRAD = {  # f in grad = f(out - label) * grad_scale / m
    "LinearRegressionOutput": lambda d: d,
    "LogisticRegressionOutput": lambda d: d,
    "MAERegressionOutput": np.sign,
}


def _mx_op_case(name):
    """(op name, its attributes, inputs, MXNet output, MXNet gradient of data) of a
    single-operator case of module_mxnet.npz."""
    case = next(c for c in MOD_META["ops"] if c["name"] == name)
    graph = json.loads(case["symbol"])
    node = [n for n in graph["nodes"] if n["op"] != "null"][-1]
    ins = {k: MOD_ARR[f"op/{name}/in/{k}"] for k in case["inputs"]}
    return (node["op"], node.get("attrs", {}), ins, MOD_ARR[f"op/{name}/out/0"],
            MOD_ARR[f"op/{name}/grad/data"])


@pytest.mark.parametrize("op", sorted(REG_FWD))
@pytest.mark.parametrize("data_shape,label_shape", [((4, 6), (4, 6)), ((4, 6), (4, 3, 2)),
                                                    ((5, 1), (5,)), ((3, 2, 2), (3, 4))])
def test_regression_output_forward(op, data_shape, label_shape):
    x, lab = rng.randn(*data_shape), rng.randn(*label_shape)
    out = check_op(op, [x, lab], {"grad_scale": 1.5}, expected=lambda a, b: REG_FWD[op](a),
                   grad=False)
    assert out[0].shape == data_shape


@pytest.mark.parametrize("case", [f"{op}{sfx}" for op in sorted(REG_FWD) for sfx in ("", "_col")])
def test_regression_output_gradient_matches_mxnet(case):
    op, attrs, ins, mx_out, mx_grad = _mx_op_case(case)
    x, lab = nd.array(ins["data"]), nd.array(ins["label"])
    x.attach_grad()
    lab.attach_grad()
    with autograd.record():
        y = getattr(nd, op)(x, lab, **attrs)
    y.backward(nd.array(rng.randn(*y.shape)))  # the head gradient is ignored, as in MXNet
    np.testing.assert_allclose(y.asnumpy(), mx_out, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(x.grad.asnumpy(), mx_grad, rtol=1e-5, atol=1e-7)
    # and the definition, in float64
    scale = float(attrs.get("grad_scale", 1.0))
    d, l = ins["data"].astype(np.float64), ins["label"].astype(np.float64)
    m = l.size // l.shape[0]
    expect = REG_GRAD[op](REG_FWD[op](d) - l.reshape(d.shape)) * scale / m
    np.testing.assert_allclose(x.grad.asnumpy(), expect, rtol=1e-5, atol=1e-6)
    assert not lab.grad.asnumpy().any()  # the label gets no gradient (MXNet: zeros)
    COVERED_GRAD.add(op)


@pytest.mark.parametrize("kind", ["linear", "logistic", "mae"])
@pytest.mark.parametrize("out_shape,label_shape", [((3, 4), (3, 4)), ((6, 1), (6,)),
                                                   ((2, 3, 2), (2, 6))])
def test_backward_regression_output_op(kind, out_shape, label_shape):
    out = rng.uniform(0.1, 1.0, out_shape)
    # keep out - label away from 0, where mae's sign jumps
    lab = (out.reshape(label_shape) + rng.choice([-1, 1], label_shape)
           * rng.uniform(0.2, 0.5, label_shape))
    f = np.sign if kind == "mae" else (lambda d: d)
    m = lab.size // lab.shape[0]
    check_op("_backward_RegressionOutput", [out, lab], {"kind": kind, "grad_scale": 3.0},
             expected=lambda o, l: f(o - l.reshape(o.shape)) * 3.0 / m, grad_inputs=[0])


def test_backward_regression_output_checks_inputs():
    with pytest.raises(MXNetError, match="inconsistent"):
        run_op("_backward_RegressionOutput", [nd.ones((4, 3)), nd.ones((3, 4))],
               {"kind": "linear"})
    with pytest.raises(MXNetError, match="floating point"):
        run_op("_backward_RegressionOutput", [nd.ones((2, 2), dtype="int32"),
                                              nd.ones((2, 2), dtype="int32")], {"kind": "mae"})
    with pytest.raises(MXNetError, match="kind"):
        run_op("_backward_RegressionOutput", [nd.ones((2, 2)), nd.ones((2, 2))],
               {"kind": "huber"})


@pytest.mark.parametrize("attrs", [{}, {"grad_scale": 2.0, "normalization": "batch"},
                                   {"normalization": "valid", "valid_thresh": 0.3}])
def test_make_loss_forward(attrs):
    x = rng.randn(5, 3)
    check_op("MakeLoss", [x], attrs, expected=lambda a: a, grad=False)


@pytest.mark.parametrize("case", ["MakeLoss_batch", "MakeLoss_valid"])
def test_make_loss_gradient_matches_mxnet(case):
    # MXNet's graphs: MakeLoss(square(data)) and MakeLoss(2 * data)
    _, attrs, ins, mx_out, mx_grad = _mx_op_case(case)
    x = nd.array(ins["data"])
    x.attach_grad()
    with autograd.record():
        inner = nd.square(x) if case == "MakeLoss_batch" else x * 2
        y = nd.MakeLoss(inner, **attrs)
    y.backward(nd.array(rng.randn(*y.shape)))  # ignored
    np.testing.assert_allclose(y.asnumpy(), mx_out, rtol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), mx_grad, rtol=1e-5, atol=1e-7)
    COVERED_GRAD.add("MakeLoss")


@pytest.mark.parametrize("attrs,denom", [
    ({}, lambda a: 1),
    ({"grad_scale": 2.0, "normalization": "batch"}, lambda a: a.shape[0]),
    ({"normalization": "valid", "valid_thresh": 0.2}, lambda a: max((a > 0.2).sum(), 1)),
    ({"normalization": "valid", "valid_thresh": 10.0}, lambda a: 1),  # none valid: 1, not 0
])
def test_backward_make_loss_op(attrs, denom):
    x = rng.randn(4, 5)
    scale = attrs.get("grad_scale", 1.0)
    # constant in its input: the gradient is zero (check_op skips finite differences)
    check_op("_backward_MakeLoss", [x], attrs,
             expected=lambda a: np.full(a.shape, scale / denom(a)))
