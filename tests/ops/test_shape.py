"""Reshape (with MXNet's special codes), Flatten, transpose, swapaxes, expand_dims, squeeze,
reshape_like, Cast."""
import numpy as np
import pytest

from gluonlite import nd
from gluonlite.base import MXNetError
from gluonlite.ops.shape import infer_reshape

from .opcheck import check_op

rng = np.random.RandomState(2)

# (input shape, attrs, expected output shape) -- the examples of MXNet's Reshape docs
RESHAPE = [
    ((2, 3, 4), dict(shape=(4, 0, 2)), (4, 3, 2)),
    ((2, 3, 4), dict(shape=(2, 0, 0)), (2, 3, 4)),
    ((2, 3, 4), dict(shape=(6, 1, -1)), (6, 1, 4)),
    ((2, 3, 4), dict(shape=(3, -1, 8)), (3, 1, 8)),
    ((2, 3, 4), dict(shape=(-1,)), (24,)),
    ((2, 3, 4), dict(shape=(-2,)), (2, 3, 4)),
    ((2, 3, 4), dict(shape=(2, -2)), (2, 3, 4)),
    ((2, 3, 4), dict(shape=(-2, 1, 1)), (2, 3, 4, 1, 1)),
    ((2, 3, 4), dict(shape=(-3, 4)), (6, 4)),
    ((2, 3, 4, 5), dict(shape=(-3, -3)), (6, 20)),
    ((2, 3, 4), dict(shape=(0, -3)), (2, 12)),
    ((2, 3, 4), dict(shape=(-3, -2)), (6, 4)),
    ((2, 3, 4), dict(shape=(-4, 1, 2, -2)), (1, 2, 3, 4)),
    ((2, 3, 4), dict(shape=(2, -4, -1, 3, -2)), (2, 1, 3, 4)),
    ((10, 5, 4), dict(shape=(-1, 0)), (40, 5)),
    ((10, 5, 4), dict(shape=(-1, 0), reverse=True), (50, 4)),
    ((2, 3, 4), dict(target_shape=(0, 4)), (6, 4)),
    ((2, 3, 4), dict(target_shape=(7, 3, 0), keep_highest=True), (2, 3, 4)),
]


@pytest.mark.parametrize("src,attrs,exp", RESHAPE, ids=[str(r[1]) for r in RESHAPE])
def test_reshape_codes(src, attrs, exp):
    x = rng.uniform(size=src)
    check_op("Reshape", [x], attrs, expected=lambda v: v.reshape(exp))


def test_reshape_errors():
    with pytest.raises(MXNetError, match="cannot reshape"):
        nd.ones((2, 3)).reshape((4, 2))
    with pytest.raises(MXNetError, match="only one dimension can be -1"):
        nd.ones((2, 3)).reshape((-1, -1))
    with pytest.raises(MXNetError, match="-4"):
        infer_reshape((6,), (-4, -1, -1))
    with pytest.raises(MXNetError, match="invalid shape code"):
        nd.ones((2, 3)).reshape((-7, 6))


def test_reshape_is_a_view_like_mxnet():
    x = nd.zeros((2, 3))
    y = x.reshape((6,))
    y[:] = 1
    assert x.asnumpy().sum() == 6


def test_flatten_transpose_swapaxes():
    x = rng.uniform(size=(2, 3, 4))
    check_op("Flatten", [x], expected=lambda v: v.reshape(2, 12))
    check_op("Flatten", [rng.uniform(size=(5,))], expected=lambda v: v.reshape(5, 1))
    check_op("transpose", [x], expected=lambda v: v.transpose())
    check_op("transpose", [x], {"axes": (1, 0, 2)}, expected=lambda v: v.transpose(1, 0, 2))
    check_op("transpose", [x], {"axes": (2, -3, 1)}, expected=lambda v: v.transpose(2, 0, 1))
    check_op("swapaxes", [x], {"dim1": 0, "dim2": 2}, expected=lambda v: v.swapaxes(0, 2))
    assert nd.SwapAxis(nd.array(x), dim1=1, dim2=2).shape == (2, 4, 3)
    with pytest.raises(MXNetError, match="permutation"):
        nd.transpose(nd.array(x), axes=(0, 0, 1))
    with pytest.raises(MXNetError, match="out of range"):
        nd.swapaxes(nd.array(x), dim1=0, dim2=3)


def test_expand_dims_squeeze_reshape_like():
    x = rng.uniform(size=(2, 1, 3, 1))
    check_op("expand_dims", [x], {"axis": 0}, expected=lambda v: v[None])
    check_op("expand_dims", [x], {"axis": -1}, expected=lambda v: v[..., None])
    check_op("squeeze", [x], expected=lambda v: v.reshape(2, 3))
    check_op("squeeze", [x], {"axis": (1,)}, expected=lambda v: v.reshape(2, 3, 1))
    check_op("squeeze", [np.ones((1, 1))], expected=np.ones((1,)))
    with pytest.raises(MXNetError, match="size 3"):
        nd.squeeze(nd.array(x), axis=2)
    with pytest.raises(MXNetError, match="out of range"):
        nd.expand_dims(nd.array(x), axis=6)
    check_op("reshape_like", [rng.uniform(size=(2, 6)), np.zeros((3, 4))],
             expected=lambda a, b: a.reshape(3, 4), grad_inputs=[0])
    with pytest.raises(MXNetError, match="elements"):
        nd.reshape_like(nd.ones((2, 3)), nd.ones((4,)))


def test_cast():
    x = rng.uniform(-3, 3, size=(2, 3))
    # float32 output: finite differences need a larger step
    check_op("Cast", [x], {"dtype": "float32"}, expected=lambda v: v.astype(np.float32),
             rtol=1e-6, check_float32=False, eps=1e-3, grad_rtol=1e-3, grad_atol=1e-4)
    r = nd.cast(nd.array(x), dtype="int32")
    assert r.dtype == np.int32 and r.asnumpy().tolist() == x.astype(np.float32).astype(
        np.int32).tolist()
    # the gradient is cast back to the input dtype
    a = nd.array([1.0, 2.0], dtype="float64")
    a.attach_grad()
    with __import__("gluonlite").autograd.record():
        y = nd.Cast(a, dtype="float32") * 2
    y.backward()
    assert a.grad.dtype == np.float64 and a.grad.asnumpy().tolist() == [2, 2]
    with pytest.raises(MXNetError, match="dtype"):
        nd.Cast(a, dtype="complex128")
