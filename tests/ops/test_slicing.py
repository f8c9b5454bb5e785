"""slice / slice_axis / slice_like / take / pick / one_hot / where and the gather-scatter
helpers of their gradients: numpy references, MXNet 1.9.1 fixtures, gradient checks, errors."""
import numpy as np
import pytest

from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ops import get_op

from .opcheck import check_op
from .test_join import _cases, _check_against_mxnet, _check_op_case

OPS = {"slice", "crop", "slice_axis", "slice_like", "take", "pick", "choose_element_0index",
       "one_hot", "where"}
CASES = _cases(OPS)
rng = np.random.RandomState(1)


def _u(*shape):
    return rng.uniform(-2, 2, size=shape)


@pytest.mark.parametrize("c", CASES, ids=[c["name"] for c in CASES])
def test_matches_mxnet(c):
    _check_against_mxnet(c)
    _check_op_case(c)


def test_fixture_covers_every_operator():
    assert {c["op"] for c in CASES} == OPS


# --- slice -----------------------------------------------------------------------------------
VALS = [None, -9, -7, -3, -1, 0, 1, 3, 6, 7, 9]


@pytest.mark.parametrize("step", [None, 1, 2, -1, -3])
def test_slice_follows_python_slicing(step):
    # MXNet 1.9.1 agrees with Python slicing on every (begin, end, step) (float64 path)
    x = np.arange(7 * 4, dtype=np.float64).reshape(7, 4)
    a = nd.array(x, dtype="float64")
    for b in VALS:
        for e in VALS:
            r = nd.slice(a, begin=(b,), end=(e,), step=(step,)).asnumpy()
            np.testing.assert_array_equal(r, x[b:e:step], err_msg=f"{b}:{e}:{step}")


def test_slice_gradient_and_views():
    x = _u(4, 5, 3)
    check_op("slice", [x], {"begin": (3, None), "end": (0, None), "step": (-2, 2)},
             expected=x[3:0:-2, ::2])
    check_op("crop", [x], {"begin": (1,), "end": (-1,)}, expected=x[1:-1])
    # the result is a copy, as in MXNet
    a = nd.array(x)
    s = nd.slice(a, begin=(0,), end=(2,))
    s[:] = 0
    assert a.asnumpy()[0, 0, 0] == np.float32(x[0, 0, 0])


def test_slice_attribute_strings_like_mxnet_json():
    op = get_op("slice")
    a = op.parse_attrs({"begin": "(None, 1)", "end": "(2, None)", "step": "(1, -1)"})
    assert a["begin"] == (None, 1) and a["end"] == (2, None) and a["step"] == (1, -1)
    assert op.dump_attrs(a) == {"begin": "(None, 1)", "end": "(2, None)", "step": "(1, -1)"}
    assert op.parse_attrs({"begin": [0], "end": 3})["end"] == (3,)
    with pytest.raises(MXNetError, match="slice: invalid value for argument 'begin'"):
        op.parse_attrs({"begin": ("a",), "end": (1,)})


def test_slice_errors():
    a = nd.ones((2, 3))
    with pytest.raises(MXNetError, match="begin .* and end .* must have the same length"):
        nd.slice(a, begin=(0, 0), end=(1,))
    with pytest.raises(MXNetError, match="step .* must have the same length as begin"):
        nd.slice(a, begin=(0, 0), end=(1, 1), step=(1,))
    with pytest.raises(MXNetError, match="3 entries but the input has only 2 dimension"):
        nd.slice(a, begin=(0, 0, 0), end=(1, 1, 1))
    with pytest.raises(MXNetError, match=r"step\[1\] must not be 0"):
        nd.slice(a, begin=(0, 0), end=(1, 1), step=(1, 0))
    with pytest.raises(MXNetError, match="slice: required argument 'end'"):
        nd.slice(a, begin=(0,))


# --- slice_axis ------------------------------------------------------------------------------
def _slice_axis_ok(n, b, e):
    """MXNet 1.9.1's acceptance rule (tabulated against it for n = 7)."""
    b2 = b + n if b < 0 else b
    e2 = n if e is None else (e + n if e < 0 else e)
    return b2 < e2 and 0 <= e2 <= n and b2 >= 0


def test_slice_axis_bounds_like_mxnet():
    x = np.arange(7 * 2, dtype=np.float64).reshape(7, 2)
    a = nd.array(x, dtype="float64")
    for b in VALS[1:]:
        for e in VALS:
            if _slice_axis_ok(7, b, e):
                r = nd.slice_axis(a, axis=0, begin=b, end=e).asnumpy()
                np.testing.assert_array_equal(r, x[b:e])
            else:
                with pytest.raises(MXNetError, match="slice_axis"):
                    nd.slice_axis(a, axis=0, begin=b, end=e)
    with pytest.raises(MXNetError, match="slice_axis: invalid value for argument 'begin'"):
        nd.slice_axis(a, axis=0, begin=None, end=2)
    with pytest.raises(MXNetError, match="slice_axis: axis=2 is out of range"):
        nd.slice_axis(a, axis=2, begin=0, end=1)
    with pytest.raises(MXNetError, match="required argument 'end'"):
        nd.slice_axis(a, axis=0, begin=0)


def test_slice_axis_gradient():
    x = _u(3, 4, 2)
    check_op("slice_axis", [x], {"axis": -2, "begin": -3, "end": None}, expected=x[:, -3:])


# --- slice_like ------------------------------------------------------------------------------
def test_slice_like():
    x, like = _u(4, 3, 5), np.zeros((2, 3, 1), dtype=np.int32)
    check_op("slice_like", [x, like], {}, expected=x[:2, :3, :1], grad_inputs=[0])
    check_op("slice_like", [x, like], {"axes": (0,)}, expected=x[:2], grad_inputs=[0])
    check_op("slice_like", [x, np.zeros((3, 2))], {"axes": (1, 0)}, expected=x[:3, :2],
             grad_inputs=[0])


def test_slice_like_errors():
    x = nd.ones((2, 3, 4))
    with pytest.raises(MXNetError, match="need the same number of dimensions"):
        nd.slice_like(x, nd.ones((1, 2)))
    with pytest.raises(MXNetError, match="axis 0 of shape_like has size 3, larger"):
        nd.slice_like(x, nd.ones((3, 2, 3)))
    with pytest.raises(MXNetError, match="axis 3 is out of range for data"):
        nd.slice_like(x, nd.ones((1, 2, 3)), axes=(3,))
    with pytest.raises(MXNetError, match="axis -1 is out of range for shape_like"):
        nd.slice_like(x, nd.ones((1, 2)), axes=(-1,))


# --- take ------------------------------------------------------------------------------------
def _np_take(a, idx, axis, mode):
    n = a.shape[axis]
    i = np.trunc(idx).astype(np.int64)
    i = np.clip(i, 0, n - 1) if mode == "clip" else np.mod(i, n)
    return np.take(a, i, axis=axis)


@pytest.mark.parametrize("mode", ["clip", "wrap"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_take(mode, axis):
    a = _u(3, 4, 2)
    idx = np.array([[0.0, 3.7, -1.0], [5.0, -2.5, 1.0]])
    check_op("take", [a, idx], {"axis": axis, "mode": mode},
             expected=lambda x, i: _np_take(x, i, axis, mode), grad_inputs=[0])


def test_take_gradient_accumulates_repeated_indices():
    a = _u(4, 3)
    idx = np.array([1, 1, 3, 1], dtype=np.int64)
    check_op("take", [a, idx], {}, expected=a[idx], grad_inputs=[0])
    x = nd.array(a)
    x.attach_grad()
    with autograd.record():
        y = nd.take(x, nd.array(idx, dtype="int64"))
    y.backward()
    assert x.grad.asnumpy()[:, 0].tolist() == [0, 3, 0, 1]


def test_take_raise_mode():
    a = nd.array(_u(3, 2))
    assert nd.take(a, nd.array([0, 2]), mode="raise").shape == (2, 2)
    # MXNet 1.9.1 rejects negative indices too in 'raise' mode, and 2.5 > n - 1
    for bad in ([-1], [3], [2.5], [-0.5]):
        with pytest.raises(MXNetError, match=r"take: mode='raise' .* \[0, 2\]"):
            nd.take(a, nd.array(bad), mode="raise")


def test_take_errors():
    a = nd.ones((3, 2))
    with pytest.raises(MXNetError, match="take: axis=2 is out of range"):
        nd.take(a, nd.array([0]), axis=2)
    with pytest.raises(MXNetError, match="take: invalid value for argument 'mode'"):
        nd.take(a, nd.array([0]), mode="nearest")


def test_take_keeps_data_dtype_with_float_indices():
    a = nd.array([[1, 2], [3, 4]], dtype="int32")
    r = nd.take(a, nd.array([1.0, 0.0]))
    assert r.dtype == np.int32 and r.asnumpy().tolist() == [[3, 4], [1, 2]]


# --- pick ------------------------------------------------------------------------------------
def test_pick_modes_and_shapes():
    x = _u(3, 4, 2)
    idx = np.array([[0, 5], [-1, 2], [3, 1.5]])  # shape (3, 2): axis 1 removed

    def ref(v, i, mode, keep):
        n = v.shape[1]
        j = np.trunc(i).astype(np.int64)
        j = np.clip(j, 0, n - 1) if mode == "clip" else np.mod(j, n)
        r = np.take_along_axis(v, j[:, None, :], axis=1)
        return r if keep else r[:, 0, :]

    for mode in ("clip", "wrap"):
        for keep in (False, True):
            check_op("pick", [x, idx], {"axis": 1, "mode": mode, "keepdims": keep},
                     expected=lambda v, i: ref(v, i, mode, keep), grad_inputs=[0])


def test_pick_gradient_repeated_rows():
    x = _u(2, 3)
    check_op("pick", [x, np.array([2.0, 2.0])], {"axis": 1}, expected=x[:, 2],
             grad_inputs=[0])
    check_op("pick", [x, np.array([1, 1, 0], dtype=np.int32)], {"axis": 0},
             expected=x[[1, 1, 0], [0, 1, 2]], grad_inputs=[0])


def test_pick_errors():
    x = nd.ones((3, 4))
    with pytest.raises(MXNetError, match="pick: axis=None is not supported"):
        nd.pick(x, nd.array([0, 1, 2]), axis=None)
    with pytest.raises(MXNetError, match=r"pick: index has shape \(2,\), expected \(3,\)"):
        nd.pick(x, nd.array([0, 1]))
    with pytest.raises(MXNetError, match="pick: axis=2 is out of range"):
        nd.pick(x, nd.array([0, 1, 2]), axis=2)
    with pytest.raises(MXNetError, match="pick: invalid value for argument 'mode'"):
        nd.pick(x, nd.array([0, 1, 2]), mode="raise")


# --- one_hot ---------------------------------------------------------------------------------
def test_one_hot():
    idx = np.array([[0, 2], [-1, 3]], dtype=np.int32)

    def ref(i):
        out = np.zeros(i.shape + (3,))
        for p in np.ndindex(i.shape):
            if 0 <= i[p] < 3:
                out[p + (i[p],)] = 1.0
        return out

    check_op("one_hot", [idx], {"depth": 3}, expected=ref)
    r = nd.one_hot(nd.array([1.9, -0.9]), 2, on_value=-2.5, off_value=4, dtype="int8")
    assert r.dtype == np.int8 and r.asnumpy().tolist() == [[4, -2], [-2, 4]]
    assert nd.one_hot(nd.array([1, 0]), 0).shape == (2, 0)


def test_one_hot_has_zero_gradient_and_errors():
    x = nd.array([1.0, 0.0])
    x.attach_grad()
    with autograd.record():
        y = nd.one_hot(x, 2)
    y.backward()
    assert x.grad.asnumpy().tolist() == [0, 0]
    with pytest.raises(MXNetError, match="one_hot: depth must be a non-negative"):
        nd.one_hot(x, -1)
    with pytest.raises(MXNetError, match="one_hot: dtype must be one of"):
        nd.one_hot(x, 2, dtype="int16")
    with pytest.raises(MXNetError, match="one_hot: required argument 'depth'"):
        nd.one_hot(x)


# --- where -----------------------------------------------------------------------------------
def test_where():
    c = np.array([[1.0, 0.0, -2.0], [0.0, 0.0, 3.0]])
    x, y = _u(2, 3), _u(2, 3)
    check_op("where", [c, x, y], expected=lambda cc, a, b: np.where(cc != 0, a, b),
             grad_inputs=[1, 2])
    rows = np.array([0, 1], dtype=np.int32)
    x3, y3 = _u(2, 2, 2), _u(2, 2, 2)
    check_op("where", [rows, x3, y3], expected=np.where(rows[:, None, None] != 0, x3, y3),
             grad_inputs=[1, 2])


def test_where_errors():
    x = nd.ones((2, 3))
    with pytest.raises(MXNetError, match="where: x and y must have the same shape"):
        nd.where(x, x, nd.ones((3, 2)))
    with pytest.raises(MXNetError, match="be 1-D of length 2"):
        nd.where(nd.ones((3,)), x, x)
    with pytest.raises(MXNetError, match="where: condition has shape"):
        nd.where(nd.ones((2, 1)), x, x)
    with pytest.raises(MXNetError, match="same dtype"):
        nd.where(x, x, x.astype("float64"))


def test_where_output_dtype_follows_x():
    op = get_op("where")
    assert op.infer_type({}, ["int32", "float64", "float64"])[1] == ["float64"]
    r = nd.where(nd.array([1, 0], dtype="int32"), nd.ones((2,), dtype="float16"),
                 nd.zeros((2,), dtype="float16"))
    assert r.dtype == np.float16


# --- gradient helpers --------------------------------------------------------------------------
def test_backward_slice_helpers():
    g, like = _u(2, 2), np.zeros((4, 3))
    exp = np.zeros((4, 3))
    exp[1:4:2, ::2] = g
    check_op("_backward_slice", [g, like], {"begin": (1, None), "end": (None, None),
                                            "step": (2, 2)}, expected=exp, grad_inputs=[0])
    g2 = _u(4, 2)
    exp = np.zeros((4, 3))
    exp[:, 1:] = g2
    check_op("_backward_slice_axis", [g2, like], {"axis": 1, "begin": -2, "end": None},
             expected=exp, grad_inputs=[0])
    exp = np.zeros((4, 3))
    exp[:2, :2] = g
    check_op("_backward_slice_like", [g, like], expected=exp, grad_inputs=[0])
    with pytest.raises(MXNetError, match="does not fit"):
        nd._internal._backward_slice_like(nd.ones((5, 1)), nd.ones((4, 3)))


def test_backward_take_helper():
    g = _u(3, 2, 2)
    idx = np.array([[1.0, 4.0], [0.0, -1.0]])
    like = np.zeros((3, 3))
    exp = np.zeros((3, 3))
    for p in np.ndindex(idx.shape):
        exp[:, min(max(int(idx[p]), 0), 2)] += g[(slice(None),) + p]
    check_op("_backward_take", [g, idx, like], {"axis": 1}, expected=exp, grad_inputs=[0])
    with pytest.raises(MXNetError, match="_backward_take: ograd has shape"):
        nd._internal._backward_take(nd.ones((2, 2)), nd.array([0.0]), nd.ones((3, 3)))


def test_gather_scatter_along_axis():
    data = _u(2, 3, 4)
    idx = np.array([[[0, 2, 1, 1], [2, 2, 0, 1]], [[1, 1, 1, 0], [0, 0, 2, 2]]], np.int64)
    exp = np.take_along_axis(data, idx, axis=1)
    check_op("_gather_along_axis", [data, idx], {"axis": 1}, expected=exp, grad_inputs=[0])
    g = _u(2, 2, 4)
    out = np.zeros_like(data)
    for p in np.ndindex(idx.shape):
        out[p[0], idx[p], p[2]] += g[p]
    check_op("_scatter_along_axis", [g, idx, data], {"axis": 1}, expected=out,
             grad_inputs=[0])
    # several sample axes in place of the axis, and the flattened form
    idx2 = np.array([[[0, 3], [1, 1]], [[2, 2], [3, 0]]], np.int64)  # (2, 2, 2) for (2, 4)
    d2 = _u(2, 4)
    check_op("_gather_along_axis", [d2, idx2], {"axis": -1},
             expected=np.stack([d2[0][idx2[0]], d2[1][idx2[1]]]), grad_inputs=[0])
    flat = np.array([7, 0, 7], np.int64)
    check_op("_gather_along_axis", [d2, flat], {"axis": None}, expected=d2.reshape(-1)[flat],
             grad_inputs=[0])
    out = np.zeros(8)
    np.add.at(out, flat, [1.0, 2.0, 3.0])
    check_op("_scatter_along_axis", [np.array([1.0, 2.0, 3.0]), flat, d2], {"axis": None},
             expected=out.reshape(2, 4), grad_inputs=[0])
    with pytest.raises(MXNetError, match="does not match data of shape"):
        nd._internal._gather_along_axis(nd.ones((2, 3)), nd.ones((3, 3)), axis=1)
    with pytest.raises(MXNetError, match="ograd has 3 elements but the index has 2"):
        nd._internal._scatter_along_axis(nd.ones((3,)), nd.ones((2,)), nd.ones((4,)), axis=0)


def test_pick_second_order_through_scatter():
    x = nd.array(_u(2, 3))
    x.attach_grad()
    with autograd.record():
        y = nd.pick(x * x, nd.array([2, 0]), axis=1)
        (gx,) = autograd.grad(y, [x], head_grads=nd.ones((2,)), create_graph=True)
        z = (gx * x).sum()
    z.backward()
    # gx = 2x at the picked positions; d/dx sum(2x * x) there = 4x
    exp = np.zeros((2, 3))
    exp[0, 2], exp[1, 0] = 4 * x.asnumpy()[0, 2], 4 * x.asnumpy()[1, 0]
    np.testing.assert_allclose(x.grad.asnumpy(), exp, rtol=1e-6)
