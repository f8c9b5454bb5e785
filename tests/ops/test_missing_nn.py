"""Operators added from MXNet 1.9.1's ``nd``/``sym`` namespace diff: ``LRN``,
``GridGenerator``, ``BilinearSampler``, ``SpatialTransformer``, ``im2col``, ``col2im``,
``SVMOutput``, ``fill_element_0index``, ``amp_cast``, ``amp_multicast``, ...: outputs and
gradients against MXNet (``tests/fixtures/missing_nn.npz``, made by
``tests/fixtures/gen/missing_nn_mxnet.py``), the standard operator checks, and errors."""
import json
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError

from .opcheck import COVERED_GRAD, check_op

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "missing_nn.npz")
_DATA = np.load(FIX)
CASES = sorted({k.split("/")[0] for k in _DATA.files})


def _fn(op):
    return getattr(nd, op) if hasattr(nd, op) else getattr(nd._internal, op)


@pytest.mark.parametrize("name", CASES)
def test_matches_mxnet(name):
    meta = json.loads(str(_DATA[f"{name}/meta"]))
    arrs = {n: nd.array(_DATA[f"{name}/in/{n}"], dtype=_DATA[f"{name}/in/{n}"].dtype)
            for n in meta["inputs"]}
    for n in meta["grads"]:
        arrs[n].attach_grad()
    with autograd.record():
        out = _fn(meta["op"])(*[arrs[n] for n in meta["inputs"]], **meta["attrs"])
    outs = out if isinstance(out, list) else [out]
    k = 0
    while f"{name}/out/{k}" in _DATA.files:
        want = _DATA[f"{name}/out/{k}"]
        assert outs[k].dtype == want.dtype, (k, outs[k].dtype, want.dtype)
        np.testing.assert_allclose(outs[k].asnumpy(), want, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name}: output {k}")
        k += 1
    if meta["grads"]:
        outs[0].backward(nd.array(_DATA[f"{name}/head"]))
        for n in meta["grads"]:
            np.testing.assert_allclose(arrs[n].grad.asnumpy(), _DATA[f"{name}/grad/{n}"],
                                       rtol=1e-4, atol=1e-5, err_msg=f"{name}: grad of {n}")


R = np.random.RandomState(11)


def test_standard_checks_lrn_grid_sampler():
    x = R.randn(2, 4, 2, 3)
    check_op("LRN", [x], {"nsize": 3, "alpha": 0.5, "beta": 0.75})
    check_op("_backward_LRN", [R.randn(2, 4, 2, 3), x], {"nsize": 3}, grad=False)
    theta = np.array([[0.9, 0.1, 0.05, -0.2, 1.1, -0.1]])
    check_op("GridGenerator", [theta], {"transform_type": "affine", "target_shape": (3, 4)})
    check_op("GridGenerator", [R.randn(1, 2, 3, 2)], {"transform_type": "warp"})
    check_op("_backward_GridGenerator", [R.randn(1, 2, 3, 4), theta],
             {"transform_type": "affine", "target_shape": (3, 4)}, grad=False)
    img, grid = R.randn(1, 2, 3, 4), R.uniform(-1.1, 1.1, (1, 2, 2, 3))
    check_op("BilinearSampler", [img, grid], grad_atol=1e-5)
    check_op("_backward_BilinearSampler", [R.randn(1, 2, 2, 3), img, grid], grad=False)
    # a grid point on a pixel edge is a kink of the sampler: keep the loc off them
    loc = np.array([[0.93, 0.12, 0.04, -0.23, 1.07, -0.11]])
    check_op("SpatialTransformer", [img, loc], {"target_shape": (2, 2)}, grad_atol=1e-5)
    check_op("_backward_SpatialTransformer", [R.randn(1, 2, 2, 2), img, loc],
             {"target_shape": (2, 2)}, grad=False)


def test_standard_checks_misc():
    x = R.randn(1, 2, 4, 3)
    cols = check_op("im2col", [x], {"kernel": (2, 2), "stride": (1, 1), "pad": (1, 0)})[0]
    y = R.randn(*cols.shape)
    img = check_op("col2im", [y], {"output_size": (4, 3), "kernel": (2, 2), "pad": (1, 0)})[0]
    np.testing.assert_allclose((cols * y).sum(), (img * x).sum(), rtol=1e-12)  # adjoint
    data, label = R.randn(3, 4), np.array([0.0, 3.0, 1.0])
    check_op("SVMOutput", [data, label], {"margin": 0.5}, expected=data, grad=False)
    check_op("_backward_SVMOutput", [data, label], {"use_linear": True}, grad=False)
    check_op("fill_element_0index", [R.randn(3, 4), R.randn(3), np.array([1.0, 0.0, 3.0])],
             grad=False)
    check_op("amp_cast", [R.randn(2, 3)], {"dtype": "float64"}, check_float32=False)
    outs = check_op("amp_multicast", [R.randn(2), R.randn(3)], {"num_outputs": 2})
    assert len(outs) == 2


def test_svm_gradient_ignores_head():
    # MXNet's output layers define their gradient: the head gradient does not scale it
    d = nd.array(R.randn(3, 4))
    d.attach_grad()
    with autograd.record():
        y = nd.SVMOutput(d, nd.array([0, 1, 2]))
    y.backward(nd.ones((3, 4)) * 7)
    want = nd._internal._backward_SVMOutput(d, nd.array([0, 1, 2])).asnumpy()
    np.testing.assert_allclose(d.grad.asnumpy(), want)
    COVERED_GRAD.add("SVMOutput")  # with the MXNet fixtures above


def test_amp_multicast_dtypes():
    a = nd.ones((2,), dtype="float16")
    b = nd.ones((2,), dtype="float32")
    i = nd.ones((2,), dtype="int32")
    wide = nd.amp_multicast(a, b, i, num_outputs=3)
    assert [o.dtype for o in wide] == [np.float32, np.float32, np.int32]
    narrow = nd.amp_multicast(a, b, num_outputs=2, cast_narrow=True)
    assert [o.dtype for o in narrow] == [np.float16, np.float16]
    s = mx.sym.amp_multicast(mx.sym.var("a"), mx.sym.var("b"), num_outputs=2)
    assert len(s.list_outputs()) == 2


def test_errors():
    with pytest.raises(MXNetError, match="nsize"):
        nd.LRN(nd.ones((1, 3, 2, 2)), nsize=0)
    with pytest.raises(MXNetError, match=r"affine transform takes data of shape \(batch, 6\)"):
        nd.GridGenerator(nd.ones((2, 5)), transform_type="affine", target_shape=(2, 2))
    with pytest.raises(MXNetError, match="grid must be"):
        nd.BilinearSampler(nd.ones((1, 1, 3, 3)), nd.ones((1, 3, 2, 2)))
    with pytest.raises(MXNetError, match="loc must be"):
        nd.SpatialTransformer(nd.ones((2, 1, 3, 3)), nd.ones((1, 6)), target_shape=(2, 2))
    with pytest.raises(MXNetError, match="does not fit"):
        nd.im2col(nd.ones((1, 1, 2, 2)), kernel=(3, 3))
    with pytest.raises(MXNetError, match="positions"):
        nd.col2im(nd.ones((1, 4, 5)), output_size=(3, 3), kernel=(2, 2))
    with pytest.raises(MXNetError, match="column indices"):
        nd.fill_element_0index(nd.ones((2, 2)), nd.ones((2,)), nd.array([0, 5]))
    with pytest.raises(MXNetError, match="num_outputs=3"):
        nd.amp_multicast(nd.ones((1,)), nd.ones((1,)), num_outputs=3)
