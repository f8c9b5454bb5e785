"""quadratic, index_copy, boolean_mask and arange_like against MXNet 1.9.1's numbers
(tests/fixtures/contrib_control.npz, written by tests/fixtures/gen/contrib_control_mxnet.py)."""
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite.base import MXNetError

FIX = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "contrib_control.npz"))
C = mx.nd.contrib


def run(case, fn, names, grads=()):
    nds = {k: mx.nd.array(FIX[f"{case}/in/{k}"], dtype=FIX[f"{case}/in/{k}"].dtype)
           for k in names}
    for k in grads:
        nds[k].attach_grad()
    with mx.autograd.record():
        outs = fn(**nds)
    outs = outs if isinstance(outs, list) else [outs]
    for i, o in enumerate(outs):
        want = FIX[f"{case}/out/{i}"]
        assert o.dtype == want.dtype, (case, i)
        np.testing.assert_allclose(o.asnumpy(), want, rtol=1e-5, atol=1e-6, err_msg=case)
    if grads:
        heads = [mx.nd.array(FIX[f"{case}/head/{i}"], dtype=o.dtype) for i, o in enumerate(outs)]
        mx.autograd.backward(outs, heads)
        for k in grads:
            np.testing.assert_allclose(nds[k].grad.asnumpy(), FIX[f"{case}/grad/{k}"],
                                       rtol=1e-5, atol=1e-6, err_msg=f"{case} grad {k}")


def test_quadratic():
    run("quadratic", lambda x: C.quadratic(x, a=1.5, b=-2.0, c=0.25), ["x"], ["x"])
    run("quadratic_int", lambda x: C.quadratic(x, a=1.5, b=2, c=3), ["x"])


def test_index_copy():
    run("index_copy", lambda old, idx, new: C.index_copy(old, idx, new),
        ["old", "idx", "new"], ["old", "new"])
    run("index_copy_dup", lambda old, idx, new: C.index_copy(old, idx, new),
        ["old", "idx", "new"])


def test_index_copy_errors():
    old, new = mx.nd.zeros((4, 2)), mx.nd.ones((2, 2))
    with pytest.raises(MXNetError, match="out of bounds"):
        C.index_copy(old, mx.nd.array([5, 0]), new)
    with pytest.raises(MXNetError, match="out of bounds"):
        C.index_copy(old, mx.nd.array([-1, 0]), new)
    with pytest.raises(MXNetError, match="new_tensor must have shape"):
        C.index_copy(old, mx.nd.array([1]), new)
    # 1-D old tensors work (MXNet 1.9.1 crashes on them)
    r = C.index_copy(mx.nd.zeros(4), mx.nd.array([1, 3]), mx.nd.array([5, 6]))
    np.testing.assert_array_equal(r.asnumpy(), [0, 5, 0, 6])


def test_boolean_mask():
    run("boolean_mask", lambda x, m: C.boolean_mask(x, m), ["x", "m"], ["x"])
    empty = C.boolean_mask(mx.nd.ones((3, 2)), mx.nd.zeros(3))
    assert empty.shape == (0, 2)
    with pytest.raises(MXNetError, match="only axis=0"):
        C.boolean_mask(mx.nd.ones((3, 3)), mx.nd.ones(3), axis=1)
    with pytest.raises(MXNetError, match="1-D with data.shape"):
        C.boolean_mask(mx.nd.ones((3, 3)), mx.nd.ones(2))


def test_boolean_mask_symbolic_shape_unknown():
    s = mx.sym.contrib.boolean_mask(mx.sym.var("a"), mx.sym.var("i"))
    args, outs, _ = s.infer_shape_partial(a=(3, 4), i=(3,))
    assert args == [(3, 4), (3,)] and outs == [()]  # as MXNet: data-dependent


def test_arange_like():
    run("arange_like", lambda x: C.arange_like(x, start=1.0, step=0.5, repeat=2), ["x"])
    run("arange_like_axis", lambda x: C.arange_like(x, start=2.0, axis=-1), ["x"])
    run("arange_like_int", lambda x: C.arange_like(x, start=1.0, step=0.5, repeat=2), ["x"])
    with pytest.raises(MXNetError, match="axis=2 is out of range"):
        C.arange_like(mx.nd.ones((2, 2)), axis=2)
    x = mx.nd.ones((2, 3))
    x.attach_grad()
    with mx.autograd.record():
        y = (C.arange_like(x) * x).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), np.arange(6).reshape(2, 3))


def test_quadratic_in_symbol_graph():
    x = mx.sym.var("x")
    y = mx.sym.contrib.quadratic(x, a=2.0, b=1.0, c=-1.0)
    xv = mx.nd.array([[1.0, -2.0]])
    g = mx.nd.zeros((1, 2))
    ex = y.bind(mx.cpu(), {"x": xv}, args_grad={"x": g})
    np.testing.assert_allclose(ex.forward(is_train=True)[0].asnumpy(), [[2.0, 5.0]])
    ex.backward(mx.nd.ones((1, 2)))
    np.testing.assert_allclose(g.asnumpy(), [[5.0, -7.0]])


def test_standard_checks():
    """The registry's standard checks (shape/dtype rules, numeric gradients, float32)."""
    from .opcheck import COVERED_GRAD, COVERED, check_op
    r = np.random.RandomState(0)
    x = r.uniform(-1, 1, (3, 4))
    check_op("_contrib_quadratic", [x], {"a": 1.5, "b": -2.0, "c": 0.5},
             expected=lambda v: 1.5 * v * v - 2 * v + 0.5)
    check_op("_contrib_backward_quadratic", [np.ones((3, 4)), x], {"a": 1.5, "b": -2.0},
             expected=lambda g, v: g * (3 * v - 2), grad=False)
    idx = np.array([3, 0], np.int64)
    old, new = r.uniform(-1, 1, (4, 2)), r.uniform(-1, 1, (2, 2))

    def copied(o, i, n):
        o = o.copy()
        o[i] = n
        return o
    check_op("_contrib_index_copy", [old, idx, new], expected=copied, grad_inputs=[0, 2])
    check_op("_contrib_backward_index_copy", [old, idx],
             expected=lambda g, i: [copied(g, i, 0), g[i]], grad=False)
    check_op("_contrib_arange_like", [x], {"start": 1.0, "step": 2.0},
             expected=lambda v: (1 + 2 * np.arange(12.0)).reshape(3, 4), grad=False)
    for p in (1.0, 0.0):
        check_op("_cond_select", [np.array([p]), x, -x],
                 expected=lambda c, a, b: a if c[0] else b, grad_inputs=[1, 2])
    # data-dependent output shape (check_op needs a shape rule): outputs against MXNet in
    # test_boolean_mask, the gradient against finite differences below
    _boolean_mask_gradient_matches_finite_differences()
    COVERED.update({"_contrib_boolean_mask", "_backward_contrib_boolean_mask"})
    COVERED_GRAD.add("_contrib_boolean_mask")


def _boolean_mask_gradient_matches_finite_differences():
    r = np.random.RandomState(3)
    x = r.uniform(-1, 1, (5, 3))
    m = np.array([1, 0, 1, 1, 0], np.float64)
    w = r.uniform(-1, 1, (3, 3))

    def loss(xv):
        return float((C.boolean_mask(mx.nd.array(xv, dtype="float64"),
                                     mx.nd.array(m)).asnumpy() * w).sum())

    xa = mx.nd.array(x, dtype="float64")
    xa.attach_grad()
    with mx.autograd.record():
        y = C.boolean_mask(xa, mx.nd.array(m))
    y.backward(mx.nd.array(w, dtype="float64"))
    eps, num = 1e-6, np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        num[i] = (loss(x + d) - loss(x - d)) / (2 * eps)
    np.testing.assert_allclose(xa.grad.asnumpy(), num, rtol=1e-6, atol=1e-8)
