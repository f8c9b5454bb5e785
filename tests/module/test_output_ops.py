"""Output (loss) layers inside a bound executor against MXNet 1.9.1: forward, and the
gradients ``backward()`` with no out_grads writes (tests/fixtures/gen/module_mxnet.py).
Also the definitions of the regression outputs and MakeLoss, their shape rules and errors."""
import json
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError

from ..ops.opcheck import COVERED_GRAD, check_op

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
META = json.loads((FIX / "module_mxnet.json").read_text())
ARR = np.load(FIX / "module_mxnet.npz")
CASES = {c["name"]: c for c in META["ops"]}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bound_executor_matches_mxnet(name):
    case = CASES[name]
    sym = mx.sym.load_json(case["symbol"])
    args = {k: nd.array(ARR[f"op/{name}/in/{k}"]) for k in case["inputs"]}
    grads = {k: nd.zeros(args[k].shape) for k in case["grads"]}
    reqs = {k: ("write" if k in grads else "null") for k in args}
    exe = sym.bind(mx.cpu(), args, args_grad=grads, grad_req=reqs)
    outs = exe.forward(is_train=True)
    assert len(outs) == case["n_out"]
    for i, o in enumerate(outs):
        np.testing.assert_allclose(o.asnumpy(), ARR[f"op/{name}/out/{i}"], rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name}: output {i}")
    # a stale value must be overwritten, not accumulated ('write')
    for g in grads.values():
        g[:] = 7.0
    exe.backward()
    for k in case["grads"]:
        np.testing.assert_allclose(exe.grad_dict[k].asnumpy(), ARR[f"op/{name}/grad/{k}"],
                                   rtol=1e-5, atol=1e-6, err_msg=f"{name}: gradient of {k}")


def test_cases_cover_every_output_layer():
    ops = {c["name"].split("_")[0] for c in META["ops"]}
    assert {"SoftmaxOutput", "LinearRegressionOutput", "LogisticRegressionOutput",
            "MAERegressionOutput", "MakeLoss", "Group"} <= ops
    assert "BlockGrad" in CASES["MakeLoss_blockgrad"]["symbol"]


rng = np.random.RandomState(3)


@pytest.mark.parametrize("op,fwd,f", [
    ("LinearRegressionOutput", lambda x: x, lambda d: d),
    ("LogisticRegressionOutput", lambda x: 1 / (1 + np.exp(-x)), lambda d: d),
    ("MAERegressionOutput", lambda x: x, np.sign),
])
def test_regression_output_definition(op, fwd, f):
    x, lab = rng.randn(4, 6), rng.randn(4, 3, 2)
    # forward only: the gradient is defined, not the derivative (checked below and above)
    check_op(op, [x, lab], {"grad_scale": 2.0}, expected=lambda a, b: fwd(a), grad=False)
    X = nd.array(x)
    X.attach_grad()
    with autograd.record():
        y = getattr(nd, op)(X, nd.array(lab), grad_scale=2.0)
    y.backward(nd.ones_like(y) * 5)  # the head gradient is ignored, as in MXNet
    expect = f(fwd(x) - lab.reshape(4, 6)) * 2.0 / 6
    np.testing.assert_allclose(X.grad.asnumpy(), expect, rtol=1e-5, atol=1e-6)
    COVERED_GRAD.add(op)


@pytest.mark.parametrize("kind", ["linear", "logistic", "mae"])
def test_backward_regression_operator(kind):
    out, lab = rng.rand(3, 4) + 0.1, rng.rand(3, 4)
    f = np.sign if kind == "mae" else (lambda d: d)
    res = check_op("_backward_RegressionOutput", [out, lab], {"kind": kind, "grad_scale": 3.0},
                   expected=lambda o, l: f(o - l) * 3.0 / 4, grad_inputs=[0])
    assert res[0].shape == (3, 4)


def test_make_loss_definition():
    x = rng.randn(5, 2)
    check_op("MakeLoss", [x], {}, expected=lambda a: a, grad=False)
    COVERED_GRAD.add("MakeLoss")
    check_op("_backward_MakeLoss", [x], {"normalization": "valid", "valid_thresh": 0.1},
             expected=lambda a: np.full(a.shape, 1.0 / max((a > 0.1).sum(), 1)))
    X = nd.array(-np.ones((3, 2)))
    X.attach_grad()
    with autograd.record():
        y = nd.MakeLoss(X, grad_scale=3.0, normalization="valid")
    y.backward()
    # no element above the threshold: divided by 1, not 0 (MXNet)
    np.testing.assert_allclose(X.grad.asnumpy(), np.full((3, 2), 3.0))


def test_regression_shapes_and_errors():
    s = mx.sym.LinearRegressionOutput(mx.sym.Variable("data"), name="lro")
    assert s.list_arguments() == ["data", "lro_label"] and s.list_outputs() == ["lro_output"]
    assert s.infer_shape(data=(4, 1))[0] == [(4, 1), (4,)]
    assert s.infer_shape(data=(4, 3, 2), lro_label=(4, 6))[0] == [(4, 3, 2), (4, 6)]
    with pytest.raises(MXNetError, match=r"label has shape \(4,\).*data of shape \(4, 3\)"):
        s.infer_shape(data=(4, 3), lro_label=(4,))
    with pytest.raises(MXNetError, match="floating point"):
        nd.LinearRegressionOutput(nd.array([[1, 2]], dtype="int32"),
                                  nd.array([[1, 2]], dtype="int32"))
    with pytest.raises(MXNetError, match="inconsistent"):
        nd.MAERegressionOutput(nd.ones((4, 3)), nd.ones((12,)))
    assert mx.sym.MakeLoss(mx.sym.Variable("x")).list_outputs()[0].endswith("_output")
