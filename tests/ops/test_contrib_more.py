"""The ``contrib`` operators of issue 17 §2 (second part) and ``image`` operators: outputs
and gradients against MXNet 1.9.1 (``tests/fixtures/contrib_image_more.npz``, made by
``tests/fixtures/gen/contrib_image_more_mxnet.py``), the standard operator checks and
clear errors."""
import json
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError

from .opcheck import COVERED_GRAD, check_op

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "contrib_image_more.npz")
_DATA = np.load(FIX)
CASES = sorted({k.split("/")[0] for k in _DATA.files})


@pytest.mark.parametrize("name", CASES)
def test_matches_mxnet(name):
    meta = json.loads(str(_DATA[f"{name}/meta"]))
    arrs = {n: nd.array(_DATA[f"{name}/in/{n}"], dtype=_DATA[f"{name}/in/{n}"].dtype)
            for n in meta["inputs"]}
    for n in meta["grads"]:
        arrs[n].attach_grad()
    mod, fname = meta["fn"].split(".")
    fn = getattr(getattr(nd, mod), fname)
    with autograd.record():
        out = fn(*[arrs[n] for n in meta["inputs"]], **meta["attrs"])
    outs = out if isinstance(out, (list, tuple)) else [out]
    for k, o in enumerate(outs):
        want = _DATA[f"{name}/out/{k}"]
        got = o.asnumpy()
        assert got.shape == want.shape and got.dtype == want.dtype, (k, got.dtype, want.dtype)
        if got.dtype == np.uint8:  # float32 rounding may move a value across an integer
            assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4, err_msg=f"out {k}")
    if meta["grads"]:
        head = _DATA[f"{name}/head"]
        outs[0].backward(nd.array(head, dtype=head.dtype))
        for n in meta["grads"]:
            np.testing.assert_allclose(arrs[n].grad.asnumpy(), _DATA[f"{name}/grad/{n}"],
                                       rtol=1e-5, atol=1e-5, err_msg=f"grad {n}")


def test_standard_checks_elementwise():
    rng = np.random.RandomState(0)
    x = rng.randn(3, 4)
    check_op("_contrib_gradientmultiplier", [x], {"scalar": 2.5}, expected=x, grad=False)
    with autograd.record():
        xa = nd.array(x)
        xa.attach_grad()
        with autograd.record():
            y = nd.contrib.gradientmultiplier(xa, scalar=-2.0)
        y.backward(nd.ones_like(y))
    np.testing.assert_allclose(xa.grad.asnumpy(), -2.0)
    COVERED_GRAD.add("_contrib_gradientmultiplier")  # its gradient is not the derivative
    check_op("_contrib_div_sqrt_dim", [x], expected=x / 2.0)
    for op, ref in (("_contrib_round_ste", lambda v: np.sign(v) * np.floor(np.abs(v) + .5)),
                    ("_contrib_sign_ste", np.sign)):
        check_op(op, [x * 3], expected=ref, grad=False)
        xa = nd.array(x * 3)
        xa.attach_grad()
        with autograd.record():
            y = getattr(nd.contrib, op[len("_contrib_"):])(xa)
        y.backward(nd.array(x))
        np.testing.assert_allclose(xa.grad.asnumpy(), x)  # straight through
        COVERED_GRAD.add(op)


def test_index_getnnz_allclose():
    x = np.array([[0, 1.5, 0], [2, 0, 3.0]])
    check_op("_contrib_index_array", [x], {}, expected=np.stack(np.indices(x.shape), -1))
    check_op("_contrib_getnnz", [x], {}, expected=np.array([3]))
    check_op("_contrib_getnnz", [x], {"axis": 1}, expected=np.array([1, 2]))
    check_op("_contrib_getnnz", [x], {"axis": 0}, expected=np.array([1, 1, 1]))
    csr = nd.array(x).tostype("csr")
    assert nd.contrib.getnnz(csr).asnumpy().tolist() == [3]
    check_op("_contrib_allclose", [x, x + 1e-9], expected=np.array(1, np.uint8))
    nan = np.array([np.nan, 1.0])
    assert nd.contrib.allclose(nd.array(nan), nd.array(nan)).asnumpy() == 1
    assert nd.contrib.allclose(nd.array(nan), nd.array(nan), equal_nan=False).asnumpy() == 0
    with pytest.raises(MXNetError, match="getnnz: data must be 2-D"):
        nd.contrib.getnnz(nd.zeros((2, 2, 2)))
    with pytest.raises(MXNetError, match="same shape"):
        nd.contrib.allclose(nd.zeros((2,)), nd.zeros((3,)))
    with pytest.raises(MXNetError, match="axis 3 is out of range"):
        nd.contrib.index_array(nd.zeros((2, 2)), axes=(3,))


def test_box_ops_standard_checks_and_errors():
    case = "box_encode"
    ins = [_DATA[f"{case}/in/{n}"] for n in ("samples", "matches", "anchors", "refs",
                                              "means", "stds")]
    check_op("_contrib_box_encode", ins, expected=[_DATA[f"{case}/out/0"],
                                                   _DATA[f"{case}/out/1"]],
             rtol=1e-5, atol=1e-5, f32_rtol=1e-4, f32_atol=1e-4)
    d, a = _DATA["box_decode_center/in/data"], _DATA["box_decode_center/in/anchors"]
    check_op("_contrib_box_decode", [d, a], {"std0": 0.1, "std1": 0.1, "std2": 0.2,
                                             "std3": 0.2},
             expected=_DATA["box_decode_center/out/0"], rtol=1e-5, atol=1e-5)
    s = _DATA["bipartite/in/data"]
    check_op("_contrib_bipartite_matching", [s], {"threshold": 0.2},
             expected=[_DATA["bipartite/out/0"], _DATA["bipartite/out/1"]])
    with pytest.raises(MXNetError, match="anchors must be"):
        nd.contrib.box_decode(nd.zeros((2, 3, 4)), nd.zeros((1, 2, 4)))
    with pytest.raises(MXNetError, match="at least 2 dimensions"):
        nd.contrib.bipartite_matching(nd.zeros((3,)), threshold=0.1)
    with pytest.raises(MXNetError, match="threshold"):
        nd.contrib.bipartite_matching(nd.zeros((3, 2)))


def test_interleaved_matmul_standard_checks():
    rng = np.random.RandomState(3)
    qkv, att = rng.randn(3, 2, 2 * 3 * 2), rng.randn(4, 3, 3)
    q, kv, att2 = rng.randn(2, 2, 4), rng.randn(3, 2, 8), rng.randn(4, 2, 3)
    check_op("_contrib_interleaved_matmul_selfatt_qk", [qkv], {"heads": 2})
    check_op("_contrib_interleaved_matmul_selfatt_valatt", [qkv, att], {"heads": 2})
    check_op("_contrib_interleaved_matmul_encdec_qk", [q, kv], {"heads": 2})
    check_op("_contrib_interleaved_matmul_encdec_valatt", [kv, att2], {"heads": 2})
    # the backward operators are linear in the head gradient: run them through check_op
    check_op("_backward_interleaved_matmul_selfatt_qk", [rng.randn(4, 3, 3), qkv],
             {"heads": 2}, grad=False)
    check_op("_backward_interleaved_matmul_selfatt_valatt", [rng.randn(3, 2, 4), qkv, att],
             {"heads": 2}, grad=False)
    check_op("_backward_interleaved_matmul_encdec_qk", [rng.randn(4, 2, 3), q, kv],
             {"heads": 2}, grad=False)
    check_op("_backward_interleaved_matmul_encdec_valatt", [rng.randn(2, 2, 4), kv, att2],
             {"heads": 2}, grad=False)
    with pytest.raises(MXNetError, match="multiple of heads"):
        nd.contrib.interleaved_matmul_selfatt_qk(nd.zeros((3, 2, 10)), heads=2)


def test_symbolic_contrib_graph():
    qkv = mx.sym.var("qkv")
    y = mx.sym.contrib.interleaved_matmul_selfatt_qk(qkv, heads=2)
    _, out, _ = y.infer_shape(qkv=(3, 2, 12))
    assert out == [(4, 3, 3)]
    x = np.random.RandomState(1).randn(3, 2, 12).astype(np.float32)
    ex = y.bind(mx.cpu(), {"qkv": nd.array(x)})
    got = ex.forward()[0].asnumpy()
    np.testing.assert_allclose(got, nd.contrib.interleaved_matmul_selfatt_qk(
        nd.array(x), heads=2).asnumpy(), rtol=1e-6)


def test_sparse_retain_op():
    x = np.random.RandomState(2).randn(5, 3)
    want = x.copy()
    want[[0, 2, 3]] = 0
    check_op("_sparse_retain", [x, np.array([4, 1])], expected=want)
    with pytest.raises(MXNetError, match=r"indices must lie in \[0, 5\)"):
        nd._internal._sparse_retain(nd.array(x), nd.array([5]))
