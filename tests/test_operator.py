"""``mx.operator``: Python custom operators (``CustomOp``, ``CustomOpProp``, ``register``)
run by ``mx.nd.Custom`` / ``mx.sym.Custom`` imperatively, under autograd, hybridized, in
executors (``simple_bind``), through graph JSON and ``SymbolBlock.imports``; clear errors.

The softmax operator is MXNet's documented example (``docs/.../customop.md``), verbatim but
for ``np.int`` (gone from NumPy 2)."""
import os
import warnings

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, gluon, nd
from gluonlite.base import MXNetError


# --- MXNet's documented example -------------------------------------------------------------
class Softmax(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0].asnumpy()
        y = np.exp(x - x.max(axis=1).reshape((x.shape[0], 1)))
        y /= y.sum(axis=1).reshape((x.shape[0], 1))
        self.assign(out_data[0], req[0], mx.nd.array(y))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        l = in_data[1].asnumpy().ravel().astype(np.int64)  # noqa: E741
        y = out_data[0].asnumpy()
        y[np.arange(l.shape[0]), l] -= 1.0
        self.assign(in_grad[0], req[0], mx.nd.array(y))


@mx.operator.register("softmax")
class SoftmaxProp(mx.operator.CustomOpProp):
    def __init__(self):
        super(SoftmaxProp, self).__init__(need_top_grad=False)

    def list_arguments(self):
        return ['data', 'label']

    def list_outputs(self):
        return ['output']

    def infer_shape(self, in_shape):
        data_shape = in_shape[0]
        label_shape = (in_shape[0][0],)
        output_shape = in_shape[0]
        return [data_shape, label_shape], [output_shape], []

    def infer_type(self, in_type):
        return in_type, [in_type[0]], []

    def create_operator(self, ctx, shapes, dtypes):
        return Softmax()


def _softmax_ref(x, label):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    g = p.copy()
    g[np.arange(len(label)), label.astype(int)] -= 1
    return p, g


def _data(n=4, k=5, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, k).astype(np.float32), rng.randint(0, k, size=n).astype(np.float32)


def test_softmax_example_imperative():
    x, label = _data()
    p, g = _softmax_ref(x, label)
    xa, la = nd.array(x), nd.array(label)
    xa.attach_grad()
    with autograd.record():
        y = nd.Custom(xa, la, op_type="softmax")
    y.backward()  # a loss-like op (need_top_grad=False): the head gradient is not used
    np.testing.assert_allclose(y.asnumpy(), p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xa.grad.asnumpy(), g, rtol=1e-5, atol=1e-6)
    # inputs by name, as the prop's list_arguments names them
    y2 = nd.Custom(data=xa, label=la, op_type="softmax")
    np.testing.assert_allclose(y2.asnumpy(), p, rtol=1e-5, atol=1e-6)


def test_softmax_example_symbol_simple_bind():
    x, label = _data(6, 3, seed=1)
    p, g = _softmax_ref(x, label)
    data = mx.sym.var("data")
    net = mx.sym.FullyConnected(data, num_hidden=3, no_bias=True, name="fc")
    net = mx.sym.Custom(data=net, op_type="softmax", name="softmax")
    assert net.list_arguments() == ["data", "fc_weight", "softmax_label"]
    assert net.list_outputs() == ["softmax_output"]
    arg, out, aux = net.infer_shape(data=(6, 3))
    assert arg == [(6, 3), (3, 3), (6,)] and out == [(6, 3)] and aux == []
    ex = net.simple_bind(mx.cpu(), data=(6, 3))
    ex.arg_dict["data"][:] = x
    ex.arg_dict["fc_weight"][:] = np.eye(3, dtype=np.float32)
    ex.arg_dict["softmax_label"][:] = label
    for _ in range(2):  # the same node runs again
        ex.forward(is_train=True)
        ex.backward()  # no head gradient needed, as in MXNet
        np.testing.assert_allclose(ex.outputs[0].asnumpy(), p, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ex.grad_dict["data"].asnumpy(), g, rtol=1e-5, atol=1e-6)


# --- an operator with state, aux states and kwargs --------------------------------------------
CREATED = []


class _Affine(mx.operator.CustomOp):
    """out = x * w + shift; keeps the input for backward on ``self``; in training adds the
    batch mean of x into its aux state ``total``."""

    def __init__(self, shift):
        super().__init__()
        self.shift = shift
        self.saved = None

    def forward(self, is_train, req, in_data, out_data, aux):
        x, w = in_data
        assert not autograd.is_recording()
        assert autograd.is_training() == is_train
        self.saved = x.copy()
        self.assign(out_data[0], req[0], x * w + self.shift)
        if is_train:
            self.assign(aux[0], "add", x.mean(axis=0))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        g = out_grad[0]
        self.assign(in_grad[0], req[0], g * in_data[1])
        self.assign(in_grad[1], req[1], (g * self.saved).sum(axis=0, keepdims=True))


@mx.operator.register("test_affine")
class _AffineProp(mx.operator.CustomOpProp):
    def __init__(self, shift="0"):
        super().__init__(need_top_grad=True)
        assert isinstance(shift, str)  # MXNet passes every argument as a string
        self.shift = float(shift)

    def list_arguments(self):
        return ["data", "weight"]

    def list_auxiliary_states(self):
        return ["total"]

    def infer_shape(self, in_shape):
        d = in_shape[0]
        return [d, [1, d[1]]], [d], [[d[1]]]

    def create_operator(self, ctx, shapes, dtypes):
        CREATED.append((ctx, shapes, dtypes))
        return _Affine(self.shift)


def _affine_ref(x, w, shift, head):
    return x * w + shift, head * w, (head * x).sum(axis=0, keepdims=True)


def test_state_aux_and_kwargs_imperative():
    rng = np.random.RandomState(2)
    x, w, head = rng.randn(4, 3), rng.randn(1, 3), rng.randn(4, 3)
    xa, wa, total = nd.array(x), nd.array(w), nd.zeros((3,))
    xa.attach_grad()
    wa.attach_grad()
    del CREATED[:]
    with autograd.record():
        y = nd.Custom(xa, wa, total, op_type="test_affine", shift=1.5)
    y.backward(nd.array(head))
    out, gx, gw = _affine_ref(x, w, 1.5, head)
    np.testing.assert_allclose(y.asnumpy(), out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xa.grad.asnumpy(), gx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(wa.grad.asnumpy(), gw, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(total.asnumpy(), x.mean(axis=0), rtol=1e-5, atol=1e-6)
    assert len(CREATED) == 1  # one operator for forward and backward
    ctx, shapes, dtypes = CREATED[0]
    assert ctx == mx.cpu() and shapes == [[4, 3], [1, 3], [3]] and dtypes == [0, 0, 0]
    # inference: the aux state is left alone
    nd.Custom(xa, wa, total, op_type="test_affine", shift=1.5)
    np.testing.assert_allclose(total.asnumpy(), x.mean(axis=0), rtol=1e-5, atol=1e-6)


class _AffineBlock(gluon.HybridBlock):
    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(1, 3))
            self.total = self.params.get("total", shape=(3,), init="zeros",
                                         grad_req="null")

    def hybrid_forward(self, F, x, weight, total):
        return F.Custom(x, weight, total, op_type="test_affine", shift=0.25) * 2


def test_hybridized_equals_imperative():
    rng = np.random.RandomState(5)
    x = nd.array(rng.randn(4, 3))
    results = []
    for hybridize in (False, True):
        net = _AffineBlock(prefix="aff_")
        net.initialize(mx.init.Constant(0.5))
        if hybridize:
            net.hybridize()
        xa = x.copy()
        xa.attach_grad()
        for _ in range(2):
            with autograd.record():
                y = net(xa)
            y.backward()
        results.append((y.asnumpy(), xa.grad.asnumpy(), net.weight.grad().asnumpy(),
                        net.total.data().asnumpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(results[0][3], 2 * x.asnumpy().mean(axis=0), rtol=1e-5)


def test_json_and_symbolblock_roundtrip(tmp_path):
    rng = np.random.RandomState(6)
    x = nd.array(rng.randn(4, 3))
    net = _AffineBlock(prefix="aff_")
    net.initialize(mx.init.Constant(0.5))
    net.hybridize()
    want = net(x).asnumpy()
    prefix = os.path.join(str(tmp_path), "aff")
    net.export(prefix)
    sym = mx.sym.load(prefix + "-symbol.json")
    assert sym.list_auxiliary_states() == ["aff_total"]
    custom = [n for n in sym.get_internals().list_outputs() if "custom" in n]
    assert custom, sym.get_internals().list_outputs()
    node = sym.get_internals()[custom[0]]
    assert node.attr("op_type") == "test_affine" and node.attr("shift") == "0.25"
    back = gluon.SymbolBlock.imports(prefix + "-symbol.json", ["data"],
                                     prefix + "-0000.params")
    np.testing.assert_allclose(back(x).asnumpy(), want, rtol=1e-6)


# --- errors ----------------------------------------------------------------------------------
def test_unregistered_op_type_is_a_clear_error():
    x = nd.ones((2, 3))
    with pytest.raises(MXNetError, match=r"cannot find custom operator 'no_such_op'.*register"):
        nd.Custom(x, op_type="no_such_op")
    with pytest.raises(MXNetError, match="cannot find custom operator 'no_such_op'"):
        mx.sym.Custom(mx.sym.var("d"), op_type="no_such_op")
    with pytest.raises(MXNetError, match="op_type"):
        nd.Custom(x)
    bad = ('{"nodes": [{"op": "null", "name": "d", "inputs": []}, {"op": "Custom", '
           '"name": "c", "attrs": {"op_type": "no_such_op"}, "inputs": [[0, 0, 0]]}], '
           '"arg_nodes": [0], "heads": [[1, 0, 0]]}')
    with pytest.raises(mx.base.FileFormatError, match="no_such_op"):
        mx.sym.load_json(bad)


def test_bad_calls_are_clear_errors():
    x = nd.ones((2, 3))
    with pytest.raises(MXNetError, match=r"takes 2 inputs \['data', 'label'\], got 3"):
        nd.Custom(x, x, x, op_type="softmax")
    with pytest.raises(MXNetError, match="input 'label' is missing"):
        nd.Custom(x, op_type="softmax")
    with pytest.raises(MXNetError, match="unknown inputs"):
        nd.Custom(x, lbl=x, op_type="softmax")
    with pytest.raises(TypeError, match="NumPy"):
        nd.Custom(np.ones((2, 3)), x, op_type="softmax")
    with pytest.raises(MXNetError, match=r"test_affine.*does not take|test_affine.*failed"):
        nd.Custom(x, nd.ones((1, 3)), nd.zeros((3,)), op_type="test_affine", scale=2)
    with pytest.raises(TypeError, match="CustomOpProp subclass"):
        mx.operator.register("bad")(object)


class _Broken(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        raise ValueError("boom")


@mx.operator.register("test_broken")
class _BrokenProp(mx.operator.CustomOpProp):
    def create_operator(self, ctx, shapes, dtypes):
        return _Broken()


def test_user_errors_name_the_operator():
    with pytest.raises(MXNetError, match=r"Custom \(test_broken\).*forward failed.*boom"):
        nd.Custom(nd.ones((2,)), op_type="test_broken")


def test_reregistration_overrides_with_a_warning():
    @mx.operator.register("test_rereg")
    class A(mx.operator.CustomOpProp):
        pass

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")

        @mx.operator.register("test_rereg")
        class B(mx.operator.CustomOpProp):
            def list_outputs(self):
                return ["a", "b"]

    assert any("overriding" in str(x.message) for x in w)
    assert len(nd.Custom(nd.ones((2,)), op_type="test_rereg")) == 2


def test_default_prop_and_introspection():
    # MXNet registers the base prop as "custom_op": one input, one output of its shape,
    # a forward that writes nothing (zeros here)
    y = nd.Custom(nd.ones((2, 3)), op_type="custom_op")
    assert y.shape == (2, 3)
    assert "Custom" in mx.operator.get_all_registered_operators()
    args = mx.operator.get_operator_arguments("Custom")
    assert args.names[0] == "data" and "op_type" in args.names
