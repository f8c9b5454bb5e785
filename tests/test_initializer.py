"""Initializers (mx.init): dispatch by name, explicit inits, every initializer's law."""
import json

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd, init
from gluonlite.initializer import InitDesc


def _run(ini, name, shape, attrs=None):
    arr = nd.zeros(shape)
    ini(InitDesc(name, attrs), arr)
    return arr.asnumpy()


def test_suffix_dispatch():
    u = init.Uniform(0.5)
    w = _run(u, "fc_weight", (50, 40))
    assert np.abs(w).max() <= 0.5 and np.abs(w).max() > 0.4
    assert not _run(u, "fc_bias", (5,)).any()
    assert (_run(u, "bn_gamma", (5,)) == 1).all() and not _run(u, "bn_beta", (5,)).any()
    assert not _run(u, "bn_running_mean", (5,)).any()
    assert (_run(u, "bn_running_var", (5,)) == 1).all()
    assert (_run(u, "bn_moving_var", (5,)) == 1).all()
    with pytest.raises(ValueError, match="Unknown initialization pattern"):
        _run(u, "foo", (2,))


def test_explicit_init_attribute_wins():
    # Gluon passes the parameter's own init in attrs['__init__']: its _init_weight runs
    assert (_run(init.Uniform(), "fc_bias", (3,), {"__init__": init.One()}) == 1).all()
    assert (_run(init.Uniform(), "bn_gamma", (3,), {"__init__": "zeros"}) == 0).all()


def test_create_and_dumps():
    assert isinstance(init.create("xavier"), init.Xavier)
    assert isinstance(init.create("zeros"), init.Zero)
    n = init.Normal(0.5)
    assert json.loads(n.dumps()) == ["normal", {"sigma": 0.5}]
    n2 = init.create(n.dumps())
    assert isinstance(n2, init.Normal) and n2.sigma == 0.5 and n2 == n
    with pytest.raises(ValueError, match="unknown initializer"):
        init.create("nope")


def test_normal_and_uniform_statistics():
    mx.random.seed(1)
    w = _run(init.Normal(0.1), "w_weight", (200, 200))
    assert abs(w.std() - 0.1) < 0.005 and abs(w.mean()) < 0.005
    u = _run(init.Uniform(), "w_weight", (200, 200))
    assert u.max() <= 0.07 and u.min() >= -0.07 and abs(u.std() - 0.07 / np.sqrt(3)) < 0.002


@pytest.mark.parametrize("rnd,factor,mag", [("uniform", "avg", 3), ("uniform", "in", 2),
                                            ("gaussian", "out", 3)])
def test_xavier(rnd, factor, mag):
    shape = (64, 32, 3, 3)
    w = _run(init.Xavier(rnd, factor, mag), "c_weight", shape)
    fan_in, fan_out = 32 * 9, 64 * 9
    f = {"avg": (fan_in + fan_out) / 2, "in": fan_in, "out": fan_out}[factor]
    scale = np.sqrt(mag / f)
    if rnd == "uniform":
        assert np.abs(w).max() <= scale and np.abs(w).max() > 0.95 * scale
    else:
        assert abs(w.std() - scale) / scale < 0.05
    with pytest.raises(ValueError, match="at least 2D"):
        _run(init.Xavier(), "v_weight", (5,))
    with pytest.raises(ValueError, match="factor_type"):
        init.Xavier(factor_type="bad")


def test_msra_prelu():
    w = _run(init.MSRAPrelu(slope=0.0), "c_weight", (128, 64))
    assert abs(w.std() - np.sqrt(2.0 / 96)) / np.sqrt(2.0 / 96) < 0.05


def test_orthogonal_bilinear_lstmbias_constant():
    w = _run(init.Orthogonal(scale=2.0), "o_weight", (6, 10))
    np.testing.assert_allclose(w @ w.T, 4 * np.eye(6), atol=1e-5)
    b = _run(init.Bilinear(), "up_weight", (1, 1, 4, 4))
    f, c = 2.0, (2 * 2 - 1 - 2 % 2) / 4.0
    ref = np.array([[(1 - abs(x / f - c)) * (1 - abs(y / f - c)) for x in range(4)]
                    for y in range(4)])
    np.testing.assert_allclose(b[0, 0], ref)
    lb = _run(init.LSTMBias(forget_bias=2.0), "l_bias", (8,), {"__init__": init.LSTMBias(2.0)})
    assert lb.tolist() == [0, 0, 2, 2, 0, 0, 0, 0]
    assert (_run(init.Constant(3), "k_weight", (2, 2)) == 3).all()
    assert (_run(init.One(), "k_weight", (2,)) == 1).all()


def test_mixed_and_load(tmp_path):
    m = init.Mixed([".*special.*", ".*"], [init.Constant(2), init.One()])
    arr = nd.ones((3, 1))
    m("special_weight", arr)
    assert arr.asnumpy().ravel().tolist() == [2, 2, 2]
    m("fc_weight", arr)
    assert arr.asnumpy().ravel().tolist() == [1, 1, 1]
    m("fc_bias", arr)  # as in MXNet, the chosen initializer still dispatches on the suffix
    assert arr.asnumpy().ravel().tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="did not match any pattern"):
        init.Mixed(["a.*"], [init.One()])("b_weight", arr)
    f = str(tmp_path / "w.params")
    nd.save(f, {"arg:fc_weight": nd.array([1.0, 2.0])})
    ld = init.Load(f, default_init=init.One())
    a = nd.zeros((2,))
    ld("fc_weight", a)
    assert a.asnumpy().tolist() == [1, 2]
    b = nd.zeros((2,))
    ld("other_weight", b)
    assert b.asnumpy().tolist() == [1, 1]
    with pytest.raises(ValueError, match="Shape mismatch"):
        ld("fc_weight", nd.zeros((3,)))


class MyInit(init.Initializer):
    """The notes' custom initializer: uniform in [5, 10) written through out=."""

    def _init_weight(self, name, arr):
        nd.random.uniform(low=5, high=10, out=arr)


class AssignInit(init.Initializer):
    def _init_weight(self, name, arr):
        arr[:] = nd.arange(arr.size).reshape(arr.shape)


def test_custom_initializers_both_styles():
    a = _run(MyInit(), "x_weight", (4, 5))
    assert a.min() >= 5 and a.max() < 10
    b = _run(AssignInit(), "x_weight", (2, 3))
    assert b.tolist() == [[0, 1, 2], [3, 4, 5]]
