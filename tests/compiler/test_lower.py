"""Lowering: operators written as expressions for known shapes (gluonlite.compiler.lower).

Every ``check_op`` call also checks the operator's lowering (tests/ops/opcheck.py); here are
the operators ``check_op`` does not run and the paths that only large or special shapes
take (the transposed GEMM, the outer product, the one-element-per-row gather/scatter).
"""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite.compiler import Program, from_symbol
from gluonlite.compiler.infer import infer_dtypes, infer_shapes
from gluonlite.compiler.lower import Lowering

from ..ops.opcheck import check_lowering

R = np.random.RandomState(0)


def _r(*shape, dtype="float32"):
    return R.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch,units,hidden", [(16, 784, 256), (64, 512, 512), (256, 64, 10),
                                                (3, 1, 300)])
def test_fully_connected_every_gemm_order(batch, units, hidden, dtype):
    # (16, 784, 256) and (64, 512, 512) take the transposed product, (3, 1, 300) the outer
    # product, (256, 64, 10) the direct one
    x, w, b = _r(batch, units, dtype=dtype), _r(hidden, units, dtype=dtype), _r(hidden,
                                                                              dtype=dtype)
    assert check_lowering("FullyConnected", [x, w, b], {"num_hidden": hidden})
    assert check_lowering("FullyConnected", [x, w], {"num_hidden": hidden, "no_bias": True})


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_dot_transposes_and_large_products(ta, tb):
    a = _r(784, 16) if ta else _r(16, 784)
    b = _r(256, 784) if tb else _r(784, 256)
    assert check_lowering("dot", [a, b], {"transpose_a": ta, "transpose_b": tb})


def test_unreduce_and_cast_like():
    g = _r(4, 1, 3)
    like = _r(4, 5, 3)
    assert check_lowering("_unreduce", [g.reshape(4, 3), like], {"axis": 1})
    assert check_lowering("_unreduce", [g, like], {"axis": 1, "keepdims": True, "mean": True})
    assert check_lowering("_unreduce", [_r(1), like], {"mean": True})
    assert check_lowering("_cast_like", [_r(3, 2), _r(2, dtype="float64")])
    assert check_lowering("_cast_like", [_r(3, 2, dtype="float64"), _r(2)])


@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_pick_and_its_scatter_one_element_per_row(mode):
    data = _r(16, 10)
    index = np.array([0, 3, 9, 12, -1, 5, 7, 2, 1, 0, 4, 4, 8, 6, 3, 11], "float32")
    assert check_lowering("pick", [data, index], {"axis": -1, "mode": mode})
    assert check_lowering("pick", [data, index], {"axis": 1, "keepdims": True, "mode": mode})
    assert check_lowering("_scatter_along_axis", [_r(16), index, data],
                          {"axis": -1, "mode": mode})
    # N-d: take_along_axis / put_along_axis
    data3 = _r(2, 5, 3)
    index3 = np.array([[0, 4, 2], [1, 1, 7]], "int32")
    assert check_lowering("pick", [data3, index3], {"axis": 1, "mode": mode})
    assert check_lowering("_scatter_along_axis", [_r(2, 3), index3, data3],
                          {"axis": 1, "mode": mode})


def test_cases_a_lowering_declines_run_the_forward():
    # integer sums change dtype in numpy (the forward casts back); int division truncates
    ints = np.arange(12, dtype="int32").reshape(3, 4)
    assert not check_lowering("sum", [ints], {"axis": 1})
    assert not check_lowering("elemwise_div", [ints, ints + 1])
    assert check_lowering("sum", [ints.astype("float32")], {"axis": 1})


def test_a_wrong_lowering_is_caught(monkeypatch):
    op = mx.ops.get_op("exp")
    monkeypatch.setattr(op, "lower", lambda L, a, ins, outs: "xp.log({0})")
    with pytest.raises(AssertionError, match="lowered output 0 differs"):
        check_lowering("exp", [np.abs(_r(3)) + 1])


def test_lowered_program_text(monkeypatch):
    # the hybridized code of a dense layer with ReLU and a summed output: one GEMM with the
    # bias, then numpy calls with the axes already normalised (fusion off: with it, ReLU
    # and the sum become one kernel, see tests/compiler/test_fusion.py)
    monkeypatch.setenv("GLUONLITE_FUSE", "0")
    x = mx.sym.var("data")
    y = mx.sym.sum(mx.sym.relu(mx.sym.FullyConnected(x, num_hidden=256, name="fc")), axis=-1)
    g, _ = from_symbol(y)
    for v in g.inputs:
        v.dtype = "float32"
    g.inputs[0].shape = (16, 784)
    infer_shapes(g)
    infer_dtypes(g)
    p = Program(g, rt=mx.cpu()._runtime(False))
    src = p.infer.__source__
    assert ".fwd(" not in src
    assert "xp.add(xp.matmul(a1, a0.T).T, a2, order='C')" in src
    assert "xp.add.reduce(v1, axis=(1,), keepdims=False)" in src


def test_lowering_names_are_bound_once():
    env = {}
    L = Lowering(env, mx.cpu()._runtime(False))
    f = np.float32(2)
    assert L.bind(f) == L.bind(f)
    assert L.scalar(2, "float32") != L.scalar(2, "float64")
    assert env[L.scalar(0.5, "float32")].dtype == np.float32
