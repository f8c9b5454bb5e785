"""Parameter, Constant and ParameterDict (MXNet 1.x semantics)."""

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd, autograd, init
from gluonlite.gluon import Parameter, Constant, ParameterDict, DeferredInitializationError


def test_parameter_basics_and_repr():
    p = Parameter("fc_weight", shape=(3, 2))
    assert repr(p) == "Parameter fc_weight (shape=(3, 2), dtype=float32)"
    assert Parameter("b", shape=4).shape == (4,)
    p.initialize(init=init.One())
    assert p.data().asnumpy().tolist() == [[1, 1]] * 3
    assert p.grad().shape == (3, 2) and p.list_ctx() == [mx.cpu(0)]
    assert p.data().grad is p.grad()
    with pytest.raises(ValueError, match="grad_req"):
        Parameter("x", grad_req="sum")
    with pytest.raises(ValueError, match="stype"):
        Parameter("x", stype="csr")


def test_initialize_twice_warns_and_force_reinit():
    p = Parameter("w", shape=(2,), init=init.Zero())
    p.initialize()
    with pytest.warns(UserWarning, match="already initialized"):
        p.initialize(init=init.One())
    assert p.data().asnumpy().tolist() == [0, 0]
    p.initialize(init=init.One(), force_reinit=True)
    assert p.data().asnumpy().tolist() == [1, 1]


def test_uninitialized_and_deferred_errors():
    p = Parameter("w", shape=(2,))
    with pytest.raises(RuntimeError, match="has not been initialized"):
        p.data()
    q = Parameter("w", shape=(3, 0))
    with pytest.raises(ValueError, match="invalid shape"):
        q.initialize()
    d = Parameter("w", shape=(3, 0), allow_deferred_init=True)
    d.initialize()
    with pytest.raises(DeferredInitializationError, match="deferred"):
        d.data()
    assert d.list_ctx() == [mx.cpu(0)]
    # set_data before the shape is known is remembered and applied
    d.set_data(nd.ones((3, 4)))
    d.shape = (3, 4)
    d._finish_deferred_init()
    assert d.data().asnumpy().sum() == 12


def test_shape_merging_rules():
    p = Parameter("w", shape=(3, 0))
    p.shape = (3, 5)
    assert p.shape == (3, 5)
    with pytest.raises(AssertionError, match="incompatible"):
        p.shape = (4, 5)


def test_multiple_contexts_and_reset_ctx():
    p = Parameter("w", shape=(2, 2), init=init.Normal(1.0))
    p.initialize(ctx=[mx.cpu(0), mx.cpu(1)])
    d0, d1 = p.list_data()
    assert d0.context == mx.cpu(0) and d1.context == mx.cpu(1)
    assert np.array_equal(d0.asnumpy(), d1.asnumpy())
    assert p.data(mx.cpu(1)) is d1
    with mx.cpu(1):
        assert p.data() is d1
    with pytest.raises(RuntimeError, match="not initialized on context cpu\\(2\\)"):
        p.data(mx.cpu(2))
    assert len(p.list_grad()) == 2
    p.reset_ctx(mx.cpu(3))
    assert p.list_ctx() == [mx.cpu(3)] and np.array_equal(p.data().asnumpy(), d0.asnumpy())


def test_grad_req_null_frees_gradient():
    p = Parameter("w", shape=(2,))
    p.initialize()
    p.grad_req = "null"
    with pytest.raises(RuntimeError, match="grad_req='null'"):
        p.grad()
    assert p.data().grad is None
    p.grad_req = "add"
    assert p.grad().asnumpy().tolist() == [0, 0]
    x = p.data()
    for _ in range(2):
        with autograd.record():
            y = x * 3
        y.backward()
    assert p.grad().asnumpy().tolist() == [6, 6]
    p.zero_grad()
    assert p.grad().asnumpy().tolist() == [0, 0]


def test_cast_and_set_data():
    p = Parameter("w", shape=(2,))
    p.initialize(init=init.One())
    p.cast("float64")
    assert p.dtype == np.float64 and p.data().dtype == np.float64
    assert p.grad().dtype == np.float64
    p.set_data(nd.array([3, 4], dtype="float64"))
    assert p.data().asnumpy().tolist() == [3, 4]


def test_constant():
    c = Constant("c", [[1, 2], [3, 4]])
    assert c.grad_req == "null"
    c.initialize()
    assert c.data().asnumpy().tolist() == [[1, 2], [3, 4]]
    with pytest.warns(UserWarning, match="does not support"):
        c.grad_req = "write"
    assert repr(c).startswith("Constant c (shape=(2, 2)")


def test_parameter_dict_get_and_sharing():
    pd = ParameterDict("net_")
    w = pd.get("weight", shape=(3, 0))
    assert w.name == "net_weight" and "net_weight" in pd
    assert pd.get("weight", shape=(0, 4)) is w and w.shape == (3, 4)
    with pytest.raises(AssertionError, match="does not match"):
        pd.get("weight", shape=(5, 4))
    with pytest.raises(AssertionError, match="lr_mult"):
        pd.get("weight", lr_mult=2.0)
    shared = ParameterDict("net_", shared=pd)
    assert shared.get("weight") is w
    c = pd.get_constant("const", [1, 2])
    assert pd.get_constant("const") is c
    with pytest.raises(KeyError, match="specify value"):
        pd.get_constant("missing")
    other = ParameterDict("net_")
    other.get("weight", shape=(3, 4))
    with pytest.raises(AssertionError, match="different Parameters"):
        pd.update(other)
    assert list(pd.keys()) == ["net_weight", "net_const"] and len(pd) == 2
    assert repr(pd).startswith("net_ (\n  Parameter net_weight (shape=(3, 4)")
    assert list(pd.select(".*const").keys()) == ["net_const"]


def test_parameter_dict_initialize_setattr_save_load(tmp_path):
    pd = ParameterDict("model_")
    pd.get("dense_weight", shape=(2, 3))
    pd.get("dense_bias", shape=(2,), init="zeros")
    pd.initialize(init.Constant(0.5))
    assert pd["model_dense_weight"].data().asnumpy().tolist() == [[0.5] * 3] * 2
    assert pd["model_dense_bias"].data().asnumpy().tolist() == [0, 0]
    pd.setattr("lr_mult", 0.5)
    assert all(p.lr_mult == 0.5 for p in pd.values())
    f = str(tmp_path / "p.params")
    pd.save(f, strip_prefix="model_")
    assert sorted(nd.load(f)) == ["dense_bias", "dense_weight"]
    pd2 = ParameterDict("other_")
    pd2.get("dense_weight", shape=(2, 3))
    pd2.get("dense_bias", shape=(2,))
    pd2.load(f, restore_prefix="other_")
    assert pd2["other_dense_weight"].data().asnumpy().tolist() == [[0.5] * 3] * 2
    with pytest.raises(ValueError, match="does not start with"):
        pd.save(f, strip_prefix="zzz_")


def test_failed_load_changes_nothing(tmp_path):
    pd = ParameterDict("m_")
    pd.get("a", shape=(2,), init="ones")
    pd.get("b", shape=(3,), init="ones")
    pd.initialize()
    f = str(tmp_path / "bad.params")
    nd.save(f, {"m_a": nd.array([7.0, 7.0]), "m_b": nd.zeros((4,))})  # b has the wrong shape
    with pytest.raises(AssertionError, match="shape incompatible"):
        pd.load(f)
    assert pd["m_a"].data().asnumpy().tolist() == [1, 1]
    nd.save(f, {"m_a": nd.array([7.0, 7.0])})
    with pytest.raises(AssertionError, match="missing"):
        pd.load(f)
    pd.load(f, allow_missing=True)
    assert pd["m_a"].data().asnumpy().tolist() == [7, 7]
    nd.save(f, {"m_a": nd.array([1.0, 2.0]), "m_b": nd.zeros((3,)), "m_zzz": nd.zeros((1,))})
    with pytest.raises(AssertionError, match="not present"):
        pd.load(f)
    pd.load(f, ignore_extra=True)
    assert pd["m_a"].data().asnumpy().tolist() == [1, 2]
    nd.save(f, {"m_a": nd.array([1.0, 2.0], dtype="float64"), "m_b": nd.zeros((3,))})
    with pytest.raises(AssertionError, match="cast_dtype"):
        pd.load(f)
    pd.load(f, cast_dtype=True)
    assert pd["m_a"].data().dtype == np.float32
