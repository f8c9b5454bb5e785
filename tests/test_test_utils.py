"""``mx.test_utils`` with MXNet 1.9.1's signatures and behaviour: default tolerance tables,
``assert_almost_equal`` (messages and every keyword form), the Symbol checks
(``check_numeric_gradient``, ``check_symbolic_forward/backward``, ``check_consistency``),
``compare_optimizer``, ``environment``, random shapes and ``np_reduce``; reference values
from MXNet itself in ``tests/fixtures/test_utils_mxnet.json`` (made by
``tests/fixtures/gen/mxnet_test_utils_gen.py``)."""
import json
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import test_utils as tu
from gluonlite.base import MXNetError

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "test_utils_mxnet.json")
with open(FIX) as _f:
    REF = json.load(_f)


def test_default_tables_and_tols_match_mxnet():
    assert {np.dtype(k).name: v for k, v in tu.default_rtols().items()} == REF["rtols"]
    assert {np.dtype(k).name: v for k, v in tu.default_atols().items()} == REF["atols"]
    assert {np.dtype(k).name: v for k, v in tu.default_numeric_eps().items()} == REF["eps"]
    for key, want in REF["tols"].items():
        a, b = key.split(",")
        assert list(tu.get_tols(np.zeros(1, a), np.zeros(1, b), None, None)) == want, key
    assert tu.get_tols(np.zeros(1, "float32"), 1.0, 0.5, {np.dtype("float32"): 0.25}) == \
        (0.5, 0.25)


def test_random_shapes_and_np_reduce_match_mxnet():
    np.random.seed(7)
    got = [list(map(int, tu.rand_shape_2d())), list(map(int, tu.rand_shape_3d(4, 5, 6))),
           list(map(int, tu.rand_shape_nd(4, 3))),
           list(map(int, tu.rand_shape_nd(3, 2, allow_zero_size=True)))]
    assert got == REF["shapes"]
    x = np.arange(24.0).reshape(2, 3, 4)
    for ax, kd, want in REF["np_reduce"]:
        assert tu.np_reduce(x, ax, kd, np.sum).tolist() == want


def test_assert_almost_equal_messages_match_mxnet():
    cases = [
        (np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.0]), {}),
        (np.array([[1.0, 2.0], [3.0, 4.0]], np.float32),
         np.array([[1.0, 2.0], [3.1, 4.2]], np.float32),
         {"names": ("x", "y"), "rtol": 1e-3, "atol": 1e-4}),
        (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), {}),
    ]
    for (a, b, kw), want in zip(cases, REF["messages"]):
        if want is None:
            tu.assert_almost_equal(a, b, **kw)
            continue
        with pytest.raises(AssertionError) as e:
            tu.assert_almost_equal(a, b, **kw)
        assert str(e.value) == want
    # NDArrays are compared the same way
    with pytest.raises(AssertionError, match="Location of maximum error"):
        tu.assert_almost_equal(mx.nd.array(cases[1][0]), mx.nd.array(cases[1][1]), rtol=1e-3,
                               atol=1e-4)


def test_assert_almost_equal_keyword_forms_match_mxnet():
    forms = [([1.0, 2.0], [1.0, 2.00001], {}),
             ([1.0, np.nan], [1.0, np.nan], {"equal_nan": True}),
             ([1.0, 2.0], [1.05, 2.1], {"rtol": 0.1}),
             ([1.0, 2.0], [1.05, 2.05], {"atol": 0.1, "rtol": 0}),
             ([1.0, 1.0], [1.0], {}),
             ([1.0, 2.0], [1.0, 2.0005], {"rtol": {np.dtype(np.float64): 1e-3}})]
    for (a, b, kw), want in zip(forms, REF["passes"]):
        try:
            tu.assert_almost_equal(np.array(a), np.array(b), **kw)
            ok = True
        except AssertionError:
            ok = False
        assert ok == want, (a, b, kw)
    with pytest.raises(AssertionError, match="shape"):
        tu.assert_almost_equal(np.ones(2), np.ones(1), use_broadcast=False)
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(np.array([1.0, np.nan]), np.array([1.0, np.nan]))
    with pytest.raises(AssertionError, match="mismatch at least"):
        tu.assert_almost_equal(np.zeros(5), np.ones(5), mismatches=(1, 2))
    assert tu.almost_equal(mx.nd.ones(2), np.ones(2)) and tu.same(mx.nd.ones(2), np.ones(2))
    tu.assert_allclose(np.array([1.0, np.nan]), np.array([1.0, np.nan]))


def test_check_symbolic_forward_backward_match_mxnet():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    s = mx.sym.elemwise_mul(a, b) + mx.sym.exp(a)
    la, lb = np.array([[0.5, -1.0]]), np.array([[2.0, 3.0]])
    outs = tu.check_symbolic_forward(s, [la, lb], [lb * la + np.exp(la)])
    np.testing.assert_allclose([o.asnumpy().tolist() for o in outs], REF["fwd"], rtol=1e-6)
    g = tu.check_symbolic_backward(s, {"a": la, "b": lb}, [np.ones((1, 2))],
                                   {"a": lb + np.exp(la), "b": la})
    for k, v in REF["bwd"].items():
        np.testing.assert_allclose(g[k].asnumpy(), v, rtol=1e-6)
    # dict of expected outputs, grad_req add and null, a wrong expectation fails
    tu.check_symbolic_forward(s, {"a": la, "b": lb},
                              {s.list_outputs()[0]: lb * la + np.exp(la)})
    tu.check_symbolic_backward(s, [la, lb], [np.ones((1, 2))], [lb + np.exp(la), la],
                               grad_req="add")
    tu.check_symbolic_backward(s, [la, lb], {s.list_outputs()[0]: np.ones((1, 2))},
                               [lb + np.exp(la), la], grad_req={"a": "write", "b": "null"})
    with pytest.raises(AssertionError, match="EXPECTED_b"):
        tu.check_symbolic_backward(s, [la, lb], [np.ones((1, 2))], [lb + np.exp(la), lb])
    with pytest.raises(ValueError, match="do not match"):
        tu.check_symbolic_forward(s, {"a": la}, [la])


def test_check_numeric_gradient_symbols():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    rng = np.random.RandomState(0)
    loc = [rng.rand(2, 3) + 0.5, rng.rand(2, 3)]
    tu.check_numeric_gradient(a * mx.sym.log(b + 1), loc)  # float32, MXNet's default tols
    tu.check_numeric_gradient(a * mx.sym.log(b + 1), {"a": loc[0], "b": loc[1]},
                              dtype=np.float64, rtol=1e-6, atol=1e-8, numeric_eps=1e-5)
    tu.check_numeric_gradient(mx.sym.FullyConnected(a, b, num_hidden=3, no_bias=True),
                              [rng.rand(2, 4), rng.rand(3, 4)], grad_nodes=["b"])
    tu.check_numeric_gradient(a * b, loc, grad_nodes={"a": "add", "b": "null"})
    # BatchNorm with its auxiliary states
    x, g, be = mx.sym.var("x"), mx.sym.var("g"), mx.sym.var("be")
    bn = mx.sym.BatchNorm(x, g, be, fix_gamma=False, name="bn")
    tu.check_numeric_gradient(bn, [rng.rand(4, 2), rng.rand(2) + 0.5, rng.rand(2)],
                              aux_states=[np.zeros(2), np.ones(2)], dtype=np.float64,
                              rtol=1e-4, atol=1e-6)
    # a wrong gradient is caught: stop_gradient(a) * a is a**2 but backward gives a
    with pytest.raises(AssertionError, match="NUMERICAL_a"):
        tu.check_numeric_gradient(mx.sym.stop_gradient(a) * a, [np.array([1.0, 2.0])],
                                  dtype=np.float64)


def test_check_numeric_gradient_errors():
    a = mx.sym.var("a")
    with pytest.raises(TypeError, match="check_gradient_fn"):
        tu.check_numeric_gradient(lambda x: x, [np.ones(2)])
    with pytest.raises(MXNetError, match="too small"):
        tu.check_numeric_gradient(a * 2, [np.ones(2)], numeric_eps=1e-7)
    with pytest.raises(MXNetError, match="dtype"):
        tu.check_numeric_gradient(a * 2, [np.ones(2)], dtype=np.int32)
    with pytest.raises(MXNetError, match="dense"):
        tu.check_numeric_gradient(a * 2, [np.ones(2)], grad_stype_dict={"a": "row_sparse"})
    with pytest.raises(ValueError, match="not arguments"):
        tu.check_numeric_gradient(a * 2, [np.ones(2)], grad_nodes=["b"])


def test_check_consistency_and_compare_optimizer():
    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=4, name="fc")
    gt = tu.check_consistency(fc, [
        {"ctx": mx.cpu(0), "data": (2, 3), "type_dict": {"data": np.float64}},
        {"ctx": mx.cpu(0), "data": (2, 3), "type_dict": {"data": np.float32}}])
    assert set(gt) == {"fc_output", "data", "fc_weight", "fc_bias"}
    assert gt["fc_output"].dtype == np.float64
    opt = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9)
    tu.compare_optimizer(opt, mx.optimizer.SGD(learning_rate=0.1, momentum=0.9), (3, 4),
                         np.float32)
    with pytest.raises(AssertionError):
        tu.compare_optimizer(mx.optimizer.SGD(learning_rate=0.1),
                             mx.optimizer.SGD(learning_rate=0.2), (3, 4), np.float32)
    with pytest.raises(MXNetError, match="row_sparse"):
        tu.compare_optimizer(opt, opt, (2,), np.float32, w_stype="row_sparse")


def test_environment_contexts_and_arrays(monkeypatch):
    monkeypatch.delenv("GLUONLITE_TU_X", raising=False)
    monkeypatch.setenv("GLUONLITE_TU_Y", "old")
    with tu.environment({"GLUONLITE_TU_X": "1", "GLUONLITE_TU_Y": None}):
        assert os.environ["GLUONLITE_TU_X"] == "1" and "GLUONLITE_TU_Y" not in os.environ
    assert "GLUONLITE_TU_X" not in os.environ and os.environ["GLUONLITE_TU_Y"] == "old"
    with pytest.raises(RuntimeError):
        with tu.environment("GLUONLITE_TU_X", "2"):
            raise RuntimeError("restored even on error")
    assert "GLUONLITE_TU_X" not in os.environ
    before = tu.default_context()
    try:
        tu.set_default_context(mx.cpu(3))
        assert tu.default_context() == mx.cpu(3) == mx.current_context()
        assert mx.nd.zeros(1).context == mx.cpu(3)
    finally:
        tu.set_default_context(before)
    assert mx.current_context() == before
    r = tu.rand_ndarray((2, 3), dtype="float64")
    assert r.shape == (2, 3) and r.dtype == np.float64
    with pytest.raises(MXNetError, match="stype"):
        tu.rand_ndarray((2, 3), stype="csr")
    assert tu.simple_forward(mx.sym.var("a") * 2, a=np.ones(2)).tolist() == [2.0, 2.0]


def test_use_np_is_mxnets_switch():
    # MXNet's test_utils re-exports mx.util.use_np; gluonlite has no mx.np, so it names that
    assert tu.use_np is mx.util.use_np
    with pytest.raises(NotImplementedError, match="mx.np"):
        tu.use_np(lambda: None)
    assert tu.getenv("GLUONLITE_TU_UNSET_VAR") is None
