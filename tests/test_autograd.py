"""autograd: recording, backward, grad_req, higher-order gradients, custom Functions."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd, autograd
from gluonlite.base import MXNetError


def test_seed_example():
    # the notes' example: y = x * 2; z = y * x  ->  dz/dx = 4x
    x = nd.array([[1, 2], [3, 4]])
    x.attach_grad()
    with autograd.record():
        y = x * 2
        z = y * x
    z.backward()
    assert x.grad.asnumpy().tolist() == [[4, 8], [12, 16]]


def test_non_scalar_head_is_summed_and_head_grad_weights_it():
    x = nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = x * x
    y.backward(nd.array([1.0, 0.5, 0.0]))
    assert x.grad.asnumpy().tolist() == [2, 2, 0]
    with autograd.record():
        y = x * x
    y.backward()
    assert x.grad.asnumpy().tolist() == [2, 4, 6]
    with pytest.raises(ValueError, match="shape"):
        with autograd.record():
            y = x * x
        y.backward(nd.ones((2,)))


def test_grad_req_write_add_null():
    x = nd.array([1.0, 2.0])
    x.attach_grad(grad_req="add")
    for _ in range(3):
        with autograd.record():
            y = x * 3
        y.backward()
    assert x.grad.asnumpy().tolist() == [9, 9]
    w = nd.array([1.0])
    w.attach_grad(grad_req="null")
    with autograd.record():
        (w * 5).backward()
    assert w.grad.asnumpy().tolist() == [0]
    v = nd.array([1.0])
    v.attach_grad()
    for k in (2.0, 7.0):
        with autograd.record():
            y = v * k
        y.backward()
    assert v.grad.asnumpy().tolist() == [7]
    with pytest.raises(ValueError, match="grad_req"):
        v.attach_grad(grad_req="sum")


def test_backward_twice_needs_retain_graph():
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.asnumpy().tolist() == [2, 4]
    with pytest.raises(MXNetError, match="retain_graph=True"):
        y.backward()


def test_backward_of_unrecorded_array_fails_clearly():
    with pytest.raises(MXNetError, match="not in a computational graph"):
        nd.array([1.0]).backward()
    x = nd.array([1.0])
    x.attach_grad()
    y = x * 2  # not recorded
    with pytest.raises(MXNetError, match="autograd.record"):
        y.backward()


def test_flags_and_scopes():
    assert not autograd.is_recording() and not autograd.is_training()
    with autograd.record():
        assert autograd.is_recording() and autograd.is_training()
        with autograd.pause():
            assert not autograd.is_recording() and not autograd.is_training()
        with autograd.predict_mode():
            assert autograd.is_recording() and not autograd.is_training()
    with autograd.record(train_mode=False):
        assert not autograd.is_training()
    with autograd.train_mode():
        assert autograd.is_training() and not autograd.is_recording()
    prev = autograd.set_recording(True)
    assert prev is False and autograd.is_recording()
    autograd.set_recording(False)
    assert autograd.set_training(True) is False
    autograd.set_training(False)


def test_pause_stops_recording():
    x = nd.array([2.0])
    x.attach_grad()
    with autograd.record():
        y = x * x
        with autograd.pause():
            c = x * 10  # constant for autograd
        z = y + c
    z.backward()
    assert x.grad.asnumpy().tolist() == [4]


def test_unreached_and_zero_gradient_variables():
    x, y = nd.array([1.0]), nd.array([1.0])
    x.attach_grad()
    y.attach_grad()
    y.grad[:] = 42
    with autograd.record():
        z = x * 2
    z.backward()
    assert y.grad.asnumpy().tolist() == [42]  # not in the graph: untouched
    x.grad[:] = 5
    with autograd.record():
        z = nd.floor(x) * 3  # zero gradient everywhere
    z.backward()
    assert x.grad.asnumpy().tolist() == [0]


def test_detach_and_blockgrad_stop_gradients():
    x = nd.array([3.0])
    x.attach_grad()
    with autograd.record():
        y = x * x
        z = y.detach() * x + nd.BlockGrad(y) * x
    z.backward()
    assert x.grad.asnumpy().tolist() == [18]


def test_attach_grad_on_intermediate_makes_a_new_leaf():
    x = nd.array([2.0])
    x.attach_grad()
    with autograd.record():
        y = x * 3
    y.attach_grad()
    with autograd.record():
        z = y * y
    z.backward()
    assert y.grad.asnumpy().tolist() == [12]
    assert x.grad.asnumpy().tolist() == [0]


def test_mark_variables_with_own_buffers():
    x = nd.array([1.0, 2.0])
    g = nd.zeros((2,))
    autograd.mark_variables([x], [g], grad_reqs="add")
    for _ in range(2):
        with autograd.record():
            y = x * x
        y.backward()
    assert g.asnumpy().tolist() == [4, 8] and x.grad is g
    with pytest.raises(ValueError, match="shape"):
        autograd.mark_variables([x], [nd.zeros((3,))])


def test_dynamic_control_flow():
    # the Gluon tutorial's f(a): doubling until the norm passes 1000, then a branch
    def f(a):
        b = a * 2
        while b.norm().asscalar() < 1000:
            b = b * 2
        if b.sum().asscalar() > 0:
            c = b
        else:
            c = 100 * b
        return c

    a = nd.array([0.7])
    a.attach_grad()
    with autograd.record():
        c = f(a)
    c.backward()
    assert a.grad.asscalar() == pytest.approx((c / a).asscalar())


def test_grad_function_does_not_touch_dot_grad():
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = (x ** 2).sum()
    g = autograd.grad(y, [x])
    assert isinstance(g, list) and g[0].asnumpy().tolist() == [2, 4]
    assert x.grad.asnumpy().tolist() == [0, 0]
    with pytest.raises(MXNetError, match="attach_grad"):
        with autograd.record():
            y2 = (x * 2).sum()
        autograd.grad(y2, [nd.array([1.0])])


def test_second_and_third_order():
    x = nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = x ** 3
        g1, = autograd.grad(y, [x], create_graph=True)
        g2, = autograd.grad(g1, [x], create_graph=True)
    g2.backward()
    assert g1.asnumpy().tolist() == [3, 12, 27]
    assert g2.asnumpy().tolist() == [6, 12, 18]
    assert x.grad.asnumpy().tolist() == [6, 6, 6]


@pytest.mark.parametrize("fn,d2", [
    (nd.exp, lambda x: np.exp(x)),
    (nd.sin, lambda x: -np.sin(x)),
    (nd.tanh, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    (nd.sigmoid, lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 2 * s)),
    (nd.log, lambda x: -1 / x ** 2),
    (nd.sqrt, lambda x: -0.25 * x ** -1.5),
    (lambda x: x * x * x, lambda x: 6 * x),
    (lambda x: 1 / x, lambda x: 2 / x ** 3),
])
def test_second_derivatives(fn, d2):
    v = np.array([0.5, 1.0, 2.0])
    x = nd.array(v, dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = fn(x)
        g, = autograd.grad(y, [x], create_graph=True)
    g.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), d2(v), rtol=1e-10)


def test_second_order_through_broadcast_and_reductions():
    xv = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    bv = np.array([0.5, -1.0, 2.0])
    x, b = nd.array(xv, dtype="float64"), nd.array(bv, dtype="float64")
    x.attach_grad()
    b.attach_grad()
    with autograd.record():
        f = ((x * b) ** 2).sum() + (x ** 3).mean(axis=1).sum()
        gx, gb = autograd.grad(f, [x, b], create_graph=True)
        h = gx.sum() + gb.sum()
    h.backward()
    # d f/dx = 2 x b^2 + x^2 (n=3 per row);  d f/db = sum_rows 2 x^2 b
    np.testing.assert_allclose(gx.asnumpy(), 2 * xv * bv ** 2 + xv ** 2)
    np.testing.assert_allclose(gb.asnumpy(), (2 * xv ** 2 * bv).sum(0))
    # d h/dx = 2 b^2 + 2x + 4 x b ;  d h/db = sum_rows (4 x b + 2 x^2)
    np.testing.assert_allclose(x.grad.asnumpy(), 2 * bv ** 2 + 2 * xv + 4 * xv * bv)
    np.testing.assert_allclose(b.grad.asnumpy(), (4 * xv * bv + 2 * xv ** 2).sum(0))


def test_second_order_through_max_and_mean_keepdims():
    xv = np.array([[1.0, 3.0], [2.0, 0.5]])
    x = nd.array(xv, dtype="float64")
    x.attach_grad()
    with autograd.record():
        f = (x.max(axis=1) ** 2).sum() + (x ** 2).mean(axis=0, keepdims=True).sum()
        g, = autograd.grad(f, [x], create_graph=True)
        h = (g * g).sum()
    h.backward()
    m = (xv == xv.max(1, keepdims=True))
    gv = 2 * xv * m + xv  # d/dx of max^2 and of mean over 2 rows of x^2
    np.testing.assert_allclose(g.asnumpy(), gv)
    np.testing.assert_allclose(x.grad.asnumpy(), 2 * gv * (2 * m + 1))


class Sigmoid(autograd.Function):
    def forward(self, x):
        y = 1 / (1 + nd.exp(-x))
        self.save_for_backward(y)
        return y

    def backward(self, dy):
        y, = self.saved_tensors
        return dy * y * (1 - y)


def test_custom_function():
    x = nd.array([-1.0, 0.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = Sigmoid()(x)
        z = (y * 3).sum()
    z.backward()
    s = 1 / (1 + np.exp(-x.asnumpy()))
    np.testing.assert_allclose(y.asnumpy(), s, rtol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), 3 * s * (1 - s), rtol=1e-6)


class SplitScale(autograd.Function):
    def forward(self, x, w):
        self.save_for_backward(x, w)
        return x * w, x + w

    def backward(self, da, db):
        x, w = self.saved_tensors
        return da * w + db, da * x + db


def test_custom_function_multiple_inputs_outputs_and_errors():
    x, w = nd.array([1.0, 2.0]), nd.array([3.0, 4.0])
    x.attach_grad()
    w.attach_grad()
    with autograd.record():
        a, b = SplitScale()(x, w)
        z = (a * 2 + b).sum()
    z.backward()
    assert x.grad.asnumpy().tolist() == [7, 9]
    assert w.grad.asnumpy().tolist() == [3, 5]
    f = Sigmoid()
    f(x)
    with pytest.raises(MXNetError, match="once"):
        f(x)
    with pytest.raises(TypeError, match="NDArray"):
        Sigmoid()(np.ones(2))

    class Bad(autograd.Function):
        def forward(self, x):
            return x * 1

        def backward(self, dy):
            return dy, dy

    with autograd.record():
        y = Bad()(x)
    with pytest.raises(MXNetError, match="2 gradients for 1 inputs"):
        y.backward()


def test_multiple_heads_and_head_grads():
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        a = x * 2
        b = x * x
    autograd.backward([a, b], [nd.array([1.0, 1.0]), nd.array([0.5, 0.5])])
    assert x.grad.asnumpy().tolist() == [3, 4]
    with pytest.raises(ValueError, match="one per head"):
        with autograd.record():
            a = x * 2
        autograd.backward([a], [nd.ones(2), nd.ones(2)])


def test_float64_variables():
    x = nd.array([1.0, 2.0], dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = (x * x).sum()
    y.backward()
    assert x.grad.dtype == np.float64 and x.grad.asnumpy().tolist() == [2, 4]


def test_check_numeric_gradient_utility():
    mx.test_utils.check_gradient_fn(lambda a, b: a * nd.exp(b),
                                         [np.array([0.3, -1.2]), np.array([0.1, 0.7])],
                                         dtype=np.float64, rtol=1e-5, numeric_eps=1e-6)
    with pytest.raises(AssertionError, match="numeric grad"):
        bad = type("Bad", (autograd.Function,), {
            "forward": lambda self, a: a * a, "backward": lambda self, d: d * 3})
        mx.test_utils.check_gradient_fn(lambda a: bad()(a), [np.array([1.0, 2.0])],
                                             dtype=np.float64)


def test_fresh_gradients_become_the_grad_storage_without_a_copy():
    # grad_req='write': a freshly computed gradient nothing else holds replaces the storage
    # of .grad (which stays the same NDArray) instead of being copied into it
    x = nd.array([[1., 2.], [3., 4.]])
    x.attach_grad()
    g = x.grad
    with autograd.record():
        y = (x * x).sum()
    y.backward()
    assert x.grad is g
    assert x.grad.asnumpy().tolist() == [[2, 4], [6, 8]]
    first = id(g._data)  # (holding the array itself would be a reference that forbids it)
    with autograd.record():
        y = (x * 3).sum()
    y.backward()
    assert id(g._data) != first  # adopted, not copied
    assert g.asnumpy().tolist() == [[3, 3], [3, 3]]


def test_views_of_grad_and_user_head_grads_are_never_aliased():
    x = nd.array([[1., 2.], [3., 4.]])
    x.attach_grad()
    view = x.grad[1]  # shares the storage: backward must write into it
    with autograd.record():
        y = (x * 3).sum()
    y.backward()
    assert view.asnumpy().tolist() == [3, 3]
    # an identity's gradient is the caller's head gradient: copied, not adopted
    v = nd.array([1., 2.])
    v.attach_grad()
    with autograd.record():
        z = v.reshape((2,))
    head = nd.array([5., 6.])
    z.backward(head)
    head[:] = 0
    assert v.grad.asnumpy().tolist() == [5, 6]
    # grad_req='add' accumulates into the same storage
    w = nd.array([1., 2.])
    w.attach_grad(grad_req="add")
    buf = w.grad._data
    for _ in range(2):
        with autograd.record():
            q = (w * w).sum()
        q.backward()
    assert w.grad._data is buf and w.grad.asnumpy().tolist() == [4, 8]
