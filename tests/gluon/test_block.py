"""Block / HybridBlock / Sequential mechanics: naming, registration, parameters, hooks,
save/load, deferred initialisation through operators."""
import numpy as np
import pytest

from gluonlite import nd, autograd, init
from gluonlite.gluon import nn, DeferredInitializationError


class Linear(nn.HybridBlock):
    """A Dense-like layer written as MXNet layers are (deferred in_units)."""

    def __init__(self, units, in_units=0, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(units, in_units),
                                          allow_deferred_init=True)
            self.bias = self.params.get("bias", shape=(units,), init="zeros",
                                        allow_deferred_init=True)
        self.units = units

    def hybrid_forward(self, F, x, weight, bias):
        return F.FullyConnected(x, weight, bias, num_hidden=self.units)


class Scale(nn.Block):
    def forward(self, x):
        return x * 2


def test_prefixes_and_names():
    a, b = Linear(3), Linear(3)
    assert a.prefix.startswith("linear") and a.prefix != b.prefix
    net = nn.Sequential()
    with net.name_scope():
        net.add(Linear(4), Linear(2))
    assert [c.prefix for c in net] == [net.prefix + "linear0_", net.prefix + "linear1_"]
    assert list(net.collect_params().keys()) == [
        net.prefix + "linear0_weight", net.prefix + "linear0_bias",
        net.prefix + "linear1_weight", net.prefix + "linear1_bias"]
    assert Linear(1, prefix="custom_").name == "custom"
    p = Linear(1, prefix="")
    assert p.prefix == "" and list(p.params.keys()) == ["weight", "bias"]


def test_deferred_initialization_through_operators():
    net = Linear(5)
    net.initialize()
    with pytest.raises(DeferredInitializationError):
        net.weight.data()
    y = net(nd.ones((2, 7)))
    assert y.shape == (2, 5) and net.weight.shape == (5, 7)
    assert net.weight.data().shape == (5, 7)
    eager = Linear(5, in_units=7)
    eager.initialize()
    assert eager.weight.data().shape == (5, 7)
    with pytest.raises(Exception, match="7|4"):
        eager(nd.ones((2, 4)))


def test_uninitialized_forward_errors():
    net = Linear(3)
    with pytest.raises(RuntimeError, match="has not been initialized"):
        net(nd.ones((1, 2)))


def test_collect_params_regex_and_params_of_children():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(Linear(4), Linear(2))
    assert len(net.params) == 0
    assert len(net.collect_params()) == 4
    sel = net.collect_params(".*weight")
    assert all(k.endswith("weight") for k in sel.keys()) and len(sel) == 2
    sel = net.collect_params(".*linear1_weight|.*linear0_bias")
    assert len(sel) == 2


def test_sequential_container_behaviour():
    net = nn.Sequential()
    net.add(Scale(), Scale(), Scale())
    assert len(net) == 3 and isinstance(net[-1], Scale)
    sub = net[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2
    assert [type(b) for b in net] == [Scale] * 3
    assert net(nd.ones((2,))).asnumpy().tolist() == [8, 8]
    assert repr(net).startswith("Sequential(\n  (0): Scale(")


def test_hybrid_children_must_be_hybrid():
    seq = nn.HybridSequential()
    with pytest.raises(ValueError, match="HybridSequential"):
        seq.add(Scale())


def test_hybrid_forward_gets_nd_and_parameters():
    seen = {}

    class Probe(nn.HybridBlock):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.w = self.params.get("w", shape=(2,), init="ones")

        def hybrid_forward(self, F, x, w):
            seen["F"] = F
            return x * w

    b = Probe()
    b.initialize()
    assert b(nd.array([3.0, 4.0])).asnumpy().tolist() == [3, 4]
    assert seen["F"] is nd
    b.hybridize()
    assert b._active and b(nd.array([1.0, 2.0])).asnumpy().tolist() == [1, 2]


def test_parameter_sharing_by_params_and_by_reuse():
    net = nn.Sequential()
    with net.name_scope():
        a = Linear(4, in_units=4)
        net.add(a, Linear(4, in_units=4, params=a.params), Linear(2, in_units=4))
    net.initialize()
    assert net[0].weight is net[1].weight
    x = nd.ones((1, 4))
    with autograd.record():
        y = net(x).sum()
    y.backward()
    shared = net[0].weight
    assert shared.grad().shape == (4, 4)
    # reusing one block twice accumulates gradients from both uses
    lin = Linear(3, in_units=3)
    lin.initialize(init=init.One())
    x = nd.ones((1, 3))
    with autograd.record():
        z = lin(lin(x)).sum()
    z.backward()
    # d sum(W W x)/dW_ij = (W x)_j + sum_k W_ki x_j = 3 + 3
    assert lin.weight.grad().asnumpy()[0, 0] == pytest.approx(6.0)


def test_forward_hooks():
    calls = []
    net = Scale()
    h1 = net.register_forward_pre_hook(lambda blk, inp: calls.append(("pre", inp[0].shape)))
    h2 = net.register_forward_hook(lambda blk, inp, out: calls.append(("post", out.shape)))
    net(nd.ones((2, 3)))
    assert calls == [("pre", (2, 3)), ("post", (2, 3))]
    h1.detach()
    h2.detach()
    net(nd.ones((1,)))
    assert len(calls) == 2


def test_apply_and_cast():
    net = nn.HybridSequential()
    net.add(Linear(2, in_units=3), Linear(1, in_units=2))
    net.initialize()
    names = []
    net.apply(lambda b: names.append(type(b).__name__))
    assert names == ["Linear", "Linear", "HybridSequential"]
    net.cast("float64")
    assert all(p.data().dtype == np.float64 for p in net.collect_params().values())
    assert net(nd.ones((1, 3), dtype="float64")).dtype == np.float64


def test_save_load_parameters_structural_and_atomic(tmp_path):
    def make():
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(Linear(4, in_units=3), Linear(2, in_units=4))
        return net

    net = make()
    net.initialize(init.Normal(1.0))
    f = str(tmp_path / "net.params")
    net.save_parameters(f)
    assert sorted(nd.load(f)) == ["0.bias", "0.weight", "1.bias", "1.weight"]
    other = make()  # a different prefix: structural names still match
    other.load_parameters(f)
    x = nd.ones((2, 3))
    np.testing.assert_allclose(other(x).asnumpy(), net(x).asnumpy())
    # deferred shapes are completed by loading
    deferred = nn.HybridSequential()
    deferred.add(Linear(4), Linear(2))
    deferred.load_parameters(f)
    assert deferred[0].weight.shape == (4, 3)
    # a failed load changes nothing
    before = other[0].weight.data().asnumpy().copy()
    nd.save(f, {"0.weight": nd.zeros((4, 3)), "0.bias": nd.zeros((4,)),
                "1.weight": nd.zeros((5, 4)), "1.bias": nd.zeros((2,))})
    with pytest.raises(AssertionError, match="1.weight|shape"):
        other.load_parameters(f)
    np.testing.assert_array_equal(other[0].weight.data().asnumpy(), before)
    nd.save(f, {"0.weight": nd.zeros((4, 3)), "0.bias": nd.zeros((4,))})
    with pytest.raises(AssertionError, match="missing"):
        other.load_parameters(f)
    other.load_parameters(f, allow_missing=True)
    assert not other[0].weight.data().asnumpy().any()
    nd.save(f, {"0.weight": nd.zeros((4, 3)), "0.bias": nd.zeros((4,)), "9.weight": nd.ones(1)})
    with pytest.raises(ValueError, match="9.weight"):
        other.load_parameters(f, allow_missing=True)
    other.load_parameters(f, allow_missing=True, ignore_extra=True)


def test_legacy_save_params_load_params(tmp_path):
    def make():
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(Linear(3, in_units=2), Linear(1, in_units=3))
        return net

    net = make()
    net.initialize(init.Normal(1.0))
    f = str(tmp_path / "mlp.params")
    with pytest.warns(DeprecationWarning):
        net.save_params(f)
    assert "linear0_weight" in nd.load(f)
    net2 = make()
    with pytest.warns(DeprecationWarning):
        net2.load_params(f)
    x = nd.ones((1, 2))
    np.testing.assert_allclose(net2(x).asnumpy(), net(x).asnumpy())


def test_lambdas():
    assert nn.Lambda("tanh")(nd.zeros((2,))).asnumpy().tolist() == [0, 0]
    assert nn.Lambda(lambda x: x + 1)(nd.zeros((1,))).asnumpy().tolist() == [1]
    hl = nn.HybridLambda(lambda F, x: F.relu(x) * 2)
    assert hl(nd.array([-1.0, 2.0])).asnumpy().tolist() == [0, 4]
    assert nn.HybridLambda("exp")(nd.zeros((1,))).asnumpy().tolist() == [1]
    with pytest.raises(ValueError, match="not found"):
        nn.Lambda("no_such_fn")


def test_unregistered_container_warns():
    class Bad(nn.Block):
        def __init__(self):
            super().__init__()
            self.layers = [Scale()]

        def forward(self, x):
            return self.layers[0](x)

    with pytest.warns(UserWarning, match="unregistered container"):
        Bad().collect_params()


def test_summary_prints_table(capsys):
    net = nn.HybridSequential()
    net.add(Linear(4, in_units=3), Linear(2, in_units=4))
    net.initialize()
    net.summary(nd.ones((5, 3)))
    out = capsys.readouterr().out
    assert "Layer (type)" in out and "Linear-1" in out and "(5, 4)" in out
    assert "Total params: 26" in out and "Trainable params: 26" in out
    net.hybridize()
    with pytest.raises(AssertionError, match="hybridized"):
        net.summary(nd.ones((5, 3)))


def test_old_style_children_append():
    # early Gluon code (and the notes) append to _children directly
    class MySequential(nn.Block):
        def add(self, block):
            self._children.append(block)

        def forward(self, x):
            for block in self._children.values():
                x = block(x)
            return x

    net = MySequential()
    net.add(Scale())
    net.add(Scale())
    assert net(nd.ones((1,))).asscalar() == 4
