"""Embedding (and _backward_Embedding): lookups with MXNet's index conversion, scatter-add
gradients, shape/dtype rules."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ops import get_op

from ..opcheck import check_op
from .test_matrix import check_mx_case, layer_case, mx_cases, replay

rng = np.random.RandomState(0)


@pytest.mark.parametrize("name", mx_cases("Embedding"))
def test_embedding_matches_mxnet(name):
    """Float indices truncate then clip into [0, input_dim - 1]; repeated indices
    accumulate into the weight gradient."""
    replay(name)
    check_mx_case(name)


def test_gluon_embedding():
    # nn.Embedding(10, 4) on float indices; the indices get no gradient
    arr, train = layer_case("embedding")
    w = nd.array(arr["param/weight"])
    w.attach_grad()
    with autograd.record(train_mode=train):
        y = nd.Embedding(nd.array(arr["x"]), w, input_dim=10, output_dim=4)
    y.backward(nd.array(arr["head_grad"]))
    np.testing.assert_allclose(y.asnumpy(), arr["y"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w.grad.asnumpy(), arr["param_grad/weight"], rtol=1e-3,
                               atol=1e-4)


def test_embedding_gradient_check_and_dtypes():
    idx = np.array([[0, 2, 2], [4, 0, 1]], np.int64)
    check_op("Embedding", [idx, rng.randn(5, 3)], {"input_dim": 5, "output_dim": 3},
             expected=lambda d, w: w[d], grad_inputs=[1])
    # float64 weight with float32 indices: the output takes the weight's dtype
    y = nd.Embedding(nd.array([1, 2]), nd.array(rng.randn(3, 2), dtype="float64"),
                     input_dim=3, output_dim=2)
    assert y.dtype == np.float64


def test_backward_embedding_op():
    idx = np.array([3, 0, 3, 9, -2], np.float64)
    g = rng.randn(5, 2)

    def scatter(g_, d):
        out = np.zeros((4, 2))
        np.add.at(out, np.clip(np.trunc(d).astype(int), 0, 3), g_)
        return out

    check_op("_backward_Embedding", [g, idx], {"input_dim": 4, "output_dim": 2},
             expected=scatter, grad_inputs=[0])


def test_embedding_second_order():
    # d/dW of <grad_W <E(d, W)^2, h>, v>: through _backward_Embedding's own gradient
    idx = nd.array([0, 2, 2], dtype="int32")
    w = nd.array(rng.randn(3, 2), dtype="float64")
    w.attach_grad()
    h = nd.array(rng.randn(3, 2), dtype="float64")
    v = rng.randn(3, 2)
    with autograd.record():
        y = nd.Embedding(idx, w, input_dim=3, output_dim=2) ** 2
        gw = autograd.grad(y, w, head_grads=h, create_graph=True)[0]
        s = nd.sum(gw * nd.array(v, dtype="float64"))
    s.backward()
    # gw[r] = sum_{i: idx_i = r} 2 w[r] h_i  =>  d s / d w[r] = 2 v[r] sum_{i: idx_i=r} h_i
    hv = h.asnumpy()
    exp = np.zeros((3, 2))
    for i, r in enumerate([0, 2, 2]):
        exp[r] += 2 * v[r] * hv[i]
    np.testing.assert_allclose(w.grad.asnumpy(), exp, rtol=1e-12)


def test_embedding_rules_and_errors():
    op = get_op("Embedding")
    a = op.parse_attrs({"input_dim": 10, "output_dim": 4})
    assert op.infer_shape(a, [(2, 5), None]) == ([(2, 5), (10, 4)], [(2, 5, 4)])
    assert op.infer_type(a, ["int32", None]) == (["int32", "float32"], ["float32"])
    a64 = op.parse_attrs({"input_dim": 10, "output_dim": 4, "dtype": "float64"})
    assert op.infer_type(a64, ["int32", None])[1] == ["float64"]
    with pytest.raises(MXNetError, match="weight has shape"):
        nd.Embedding(nd.array([0, 1]), nd.ones((4, 3)), input_dim=5, output_dim=3)
    with pytest.raises(MXNetError, match="input_dim"):
        nd.Embedding(nd.array([0, 1]), nd.ones((4, 3)), output_dim=3)
    with pytest.raises(MXNetError, match="must be positive"):
        op.infer_shape(op.parse_attrs({"input_dim": 0, "output_dim": 3}), [(2,), None])
    # sparse_grad is accepted: the gradient is dense with the same values
    w = nd.ones((3, 2))
    w.attach_grad()
    with autograd.record():
        y = nd.Embedding(nd.array([1, 1]), w, input_dim=3, output_dim=2, sparse_grad=True)
    y.backward()
    assert w.grad.asnumpy().tolist() == [[0, 0], [2, 2], [0, 0]]


@pytest.mark.gpu
def test_embedding_on_gpu():
    ctx = mx.gpu(0)
    w = nd.array(rng.randn(5, 3), ctx=ctx)
    w.attach_grad()
    with autograd.record():
        y = nd.Embedding(nd.array([[0, 4, 4], [7, -1, 2.5]], ctx=ctx), w, input_dim=5,
                         output_dim=3)
    y.backward()
    np.testing.assert_allclose(y.asnumpy(), w.asnumpy()[[[0, 4, 4], [4, 0, 2]]], rtol=1e-6)
    assert w.grad.asnumpy()[:, 0].tolist() == [2, 0, 1, 0, 3]
