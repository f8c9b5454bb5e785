"""NumPy-semantics switches (issue 17 §6): ``mx.np_shape``, ``mx.util.*``; scalar and
zero-size shapes under them checked against MXNet 1.9.1
(``tests/fixtures/shape_executor_mxnet.json``)."""
import json
import pathlib
import threading

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd

REF = json.loads((pathlib.Path(__file__).resolve().parent / "fixtures" /
                  "shape_executor_mxnet.json").read_text())["executor"]


def test_switches_and_scopes():
    assert mx.is_np_shape() is False and mx.util.is_np_shape() is False
    with mx.np_shape():
        assert mx.is_np_shape()
        with mx.util.np_shape(False):
            assert not mx.is_np_shape()
        assert mx.is_np_shape()
    assert not mx.is_np_shape()
    assert mx.set_np_shape(True) is False
    try:
        assert mx.util.set_np_shape(True) is True
    finally:
        mx.set_np_shape(False)
    mx.util.set_np(shape=True, array=False)
    assert mx.is_np_shape()
    mx.util.reset_np()
    assert not mx.is_np_shape()
    with pytest.raises(ValueError, match="active must be a bool"):
        mx.set_np_shape("yes")


def test_per_thread_as_mxnet():
    seen = []
    with mx.np_shape():
        t = threading.Thread(target=lambda: seen.append(mx.is_np_shape()))
        t.start()
        t.join()
    assert seen == [False]
    mx.set_np_shape(2)  # MXNet's GlobalOn
    try:
        t = threading.Thread(target=lambda: seen.append(mx.is_np_shape()))
        t.start()
        t.join()
    finally:
        mx.set_np_shape(False)
    assert seen == [False, True] and not mx.is_np_shape()


def test_use_np_shape_decorates_functions_and_classes():
    @mx.use_np_shape
    def f():
        return mx.is_np_shape()

    @mx.util.use_np_shape
    class C:
        def m(self):
            return mx.is_np_shape()

        @property
        def p(self):
            return mx.is_np_shape()

    assert f() and C().m() and C().p and not mx.is_np_shape()
    with pytest.raises(TypeError, match="use_np_shape can only decorate"):
        mx.use_np_shape(3)


def test_numpy_array_semantics_are_refused_by_name():
    assert mx.util.is_np_array() is False and mx.is_np_array() is False
    with pytest.raises(NotImplementedError, match="mx.np"):
        mx.util.set_np()
    assert not mx.is_np_shape()  # a refused set_np changed nothing
    with pytest.raises(NotImplementedError, match="mx.np"):
        mx.use_np(lambda: None)
    with pytest.raises(NotImplementedError, match="mx.np"):
        mx.util.use_np_array(lambda: None)
    with pytest.raises(NotImplementedError, match="mx.np"):
        mx.np_array(True)
    with mx.np_array(False):
        pass
    with pytest.raises(ValueError, match="NumPy Shape semantics is required"):
        mx.util.set_np(shape=False, array=True)


def test_scalar_and_zero_size_arrays_under_np_shape():
    ref = REF["np_shape_arrays"]
    with mx.np_shape(True):
        got = {"zeros20": list(nd.zeros((2, 0)).shape), "ones0d": list(nd.ones(()).shape),
               "ones0d_value": float(nd.ones(()).asnumpy()),
               "sum_zero_size": nd.zeros((2, 0)).sum().asnumpy().tolist(),
               "sum_axis0": list(nd.zeros((2, 0)).sum(axis=0).shape),
               "array_0d": list(nd.array(np.array(3.0)).shape),
               "reshape_scalar": list(nd.ones((1,)).reshape(()).shape)}
    assert got == ref


def test_scalar_and_zero_size_symbols_under_np_shape():
    with mx.np_shape():
        s = mx.sym.var("s", shape=()) * 2
        assert s.infer_shape() == ([()], [()], [])
        out = s.bind(mx.cpu(), {"s": nd.array(np.array(3.0))}).forward()[0]
        assert out.shape == () and float(out.asnumpy()) == 6.0
        d = mx.sym.sin(mx.sym.var("data", shape=(0, 2, 3)))
        assert d.infer_shape() == ([(0, 2, 3)], [(0, 2, 3)], [])
        e = d.simple_bind(mx.cpu(), data=(0, 2, 3))
        assert e.forward()[0].shape == (0, 2, 3)


def test_env_helpers(monkeypatch):
    monkeypatch.delenv("GLUONLITE_TEST_X", raising=False)
    assert mx.util.getenv("GLUONLITE_TEST_X") is None
    mx.util.setenv("GLUONLITE_TEST_X", "1")
    assert mx.util.getenv("GLUONLITE_TEST_X") == "1"
    mx.util.setenv("GLUONLITE_TEST_X", None)
    assert mx.util.getenv("GLUONLITE_TEST_X") is None
    assert mx.util.get_gpu_count() == mx.context.num_gpus()
