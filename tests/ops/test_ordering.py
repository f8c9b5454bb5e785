"""topk / sort / argsort: numpy references, MXNet 1.9.1 fixtures, gradient checks, errors."""
import numpy as np
import pytest

from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ops import get_op

from .opcheck import check_op
from .test_join import _cases, _check_against_mxnet, _check_op_case

OPS = {"topk", "sort", "argsort"}
CASES = _cases(OPS)
# equal values: any perturbation reorders them, so finite differences are meaningless there
NO_NUMERIC_GRAD = {"topk_ties", "topk_ties_asc", "sort_ties", "argsort_ties",
                   "argsort_ties_desc"}
rng = np.random.RandomState(3)


def _distinct(*shape):
    """Values without ties, at least 0.1 apart (finite differences cannot reorder them)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)


def _desc(x, axis):
    """Stable descending order (ties keep their original order, as MXNet for small axes)."""
    return np.flip(np.argsort(np.flip(x, axis=axis), axis=axis, kind="stable"), axis=axis) \
        * -1 + (x.shape[axis] - 1)


@pytest.mark.parametrize("c", CASES, ids=[c["name"] for c in CASES])
def test_matches_mxnet(c):
    _check_against_mxnet(c)
    _check_op_case(c, numeric_grad=c["name"] not in NO_NUMERIC_GRAD)


def test_fixture_covers_every_operator():
    assert {c["op"] for c in CASES} == OPS


# --- topk ------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, -1, None])
@pytest.mark.parametrize("is_ascend", [False, True])
@pytest.mark.parametrize("k", [1, 3, 0])
def test_topk_value_and_both(axis, is_ascend, k):
    x = _distinct(4, 5)
    v = x.reshape(-1) if axis is None else x
    a = 0 if axis is None else axis
    order = np.argsort(v, axis=a, kind="stable") if is_ascend else _desc(v, a)
    kk = v.shape[a] if k <= 0 else k
    sel = np.take(order, np.arange(kk), axis=a)
    vals = np.take_along_axis(v, sel, axis=a)
    attrs = {"axis": axis, "k": k, "is_ascend": is_ascend}
    check_op("topk", [x], dict(attrs, ret_typ="value"), expected=vals)
    check_op("topk", [x], dict(attrs, ret_typ="both"), expected=[vals, sel.astype(np.float32)])
    check_op("topk", [x], dict(attrs, ret_typ="indices", dtype="int64"), expected=sel)
    mask = np.zeros(v.shape)
    np.put_along_axis(mask, sel, 1.0, axis=a)
    check_op("topk", [x], dict(attrs, ret_typ="mask"), expected=mask.reshape(x.shape))


def test_topk_ties_keep_original_order():
    x = np.array([[1.0, 3.0, 3.0, 2.0, 3.0], [0.0, 0.0, 1.0, 0.0, 1.0]])
    r = nd.topk(nd.array(x), k=3).asnumpy()
    assert r.tolist() == [[1, 2, 4], [2, 4, 0]]
    r = nd.topk(nd.array(x), k=3, is_ascend=True).asnumpy()
    assert r.tolist() == [[0, 3, 1], [0, 1, 3]]


def test_topk_dtypes_and_outputs():
    x = nd.array([[3, 1, 4], [1, 5, 9]], dtype="int32")
    v, i = nd.topk(x, k=2, ret_typ="both", dtype="int64")
    assert v.dtype == np.int32 and i.dtype == np.int64
    assert nd.topk(x, ret_typ="mask").dtype == np.int32
    assert nd.topk(nd.ones((3,), dtype="float16"), dtype="uint8").dtype == np.uint8
    op = get_op("topk")
    a = op.parse_attrs({"ret_typ": "value"})
    assert op.num_outputs(a) == 2 and op.num_visible_outputs(a) == 1  # hidden positions
    assert op.infer_type(a, ["float16"])[1] == ["float16", "int64"]
    a = op.parse_attrs({"ret_typ": "both", "k": 2, "axis": None})
    assert op.infer_shape(a, [(3, 4)])[1] == [(2,), (2,)]
    assert op.infer_shape(a, [None])[1] == [None, None]


def test_topk_errors():
    x = nd.ones((2, 5))
    with pytest.raises(MXNetError, match=r"topk: k=6 is larger than the number of elements"):
        nd.topk(x, k=6)
    with pytest.raises(MXNetError, match="topk: axis=-3 is out of range"):
        nd.topk(x, axis=-3)
    with pytest.raises(MXNetError, match="topk: invalid value for argument 'ret_typ'"):
        nd.topk(x, ret_typ="values")
    with pytest.raises(MXNetError, match="topk: dtype must be one of"):
        nd.topk(x, dtype="int8")
    # MXNet silently wraps indices a dtype cannot hold; gluonlite refuses
    with pytest.raises(MXNetError, match="topk: dtype uint8 cannot represent the indices"):
        nd.topk(nd.ones((300,)), dtype="uint8")
    with pytest.raises(MXNetError, match="float16 cannot represent"):
        nd.topk(nd.ones((3000,)), ret_typ="both", dtype="float16")
    assert nd.topk(nd.ones((300,)), dtype="uint8", ret_typ="value").shape == (1,)


def test_topk_indices_and_mask_have_zero_gradient():
    x = nd.array(_distinct(2, 4))
    x.attach_grad()
    for ret in ("indices", "mask"):
        with autograd.record():
            y = nd.topk(x, k=2, ret_typ=ret)
        y.backward()
        assert not x.grad.asnumpy().any()


def test_topk_both_gradient_ignores_the_indices_head():
    x = nd.array(_distinct(2, 4), dtype="float64")
    x.attach_grad()
    with autograd.record():
        v, i = nd.topk(x, k=2, ret_typ="both", dtype="int64")
    autograd.backward([v, i], [nd.ones((2, 2), dtype="float64"),
                               nd.ones((2, 2), dtype="int64")])
    g = x.grad.asnumpy()
    assert g.sum() == 4 and set(np.unique(g)) == {0.0, 1.0}


# --- sort / argsort --------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2, -1, None])
@pytest.mark.parametrize("is_ascend", [True, False])
def test_sort_and_argsort(axis, is_ascend):
    x = _distinct(2, 3, 4)
    v = x.reshape(-1) if axis is None else x
    a = 0 if axis is None else axis
    order = np.argsort(v, axis=a, kind="stable") if is_ascend else _desc(v, a)
    check_op("sort", [x], {"axis": axis, "is_ascend": is_ascend},
             expected=np.take_along_axis(v, order, axis=a))
    check_op("argsort", [x], {"axis": axis, "is_ascend": is_ascend},
             expected=order.astype(np.float32))


def test_sort_ties_and_nan():
    x = nd.array([3.0, 1.0, 3.0, np.nan, 2.0, 1.0])
    assert nd.argsort(x).asnumpy().tolist() == [1, 5, 4, 0, 2, 3]
    assert nd.argsort(x, is_ascend=False).asnumpy().tolist() == [3, 0, 2, 4, 1, 5]
    s = nd.sort(x).asnumpy()
    assert s[:5].tolist() == [1, 1, 2, 3, 3] and np.isnan(s[5])


def test_argsort_dtype_and_errors():
    x = nd.array(_distinct(3, 4))
    r = nd.argsort(x, dtype="int32")
    assert r.dtype == np.int32
    with pytest.raises(MXNetError, match="argsort: axis=2 is out of range"):
        nd.argsort(x, axis=2)
    with pytest.raises(MXNetError, match="argsort: dtype uint8 cannot represent"):
        nd.argsort(nd.ones((257,)), dtype="uint8")
    with pytest.raises(MXNetError, match="sort: axis=-3 is out of range"):
        nd.sort(x, axis=-3)
    y = nd.array(_distinct(3, 4))
    y.attach_grad()
    with autograd.record():
        z = nd.argsort(y)
    z.backward()  # zero gradient, as in MXNet
    assert not y.grad.asnumpy().any()


def test_sort_gradient_default_axis_and_second_order():
    # MXNet 1.9.1 fails here (its _backward_topk cannot parse the default axis)
    x = _distinct(3, 4)
    check_op("sort", [x], {}, expected=np.sort(x, axis=-1))
    a = nd.array(x)
    a.attach_grad()
    with autograd.record():
        s = nd.sort(a * a, is_ascend=False)
        (g,) = autograd.grad(s, [a], head_grads=nd.ones((3, 4)), create_graph=True)
        z = (g * a).sum()
    z.backward()
    np.testing.assert_allclose(a.grad.asnumpy(), 4 * a.asnumpy(), rtol=1e-5)
