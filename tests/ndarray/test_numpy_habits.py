"""MXNet habits from the NumPy < 1.24 days that must keep working on NumPy 2.

Size-1 results of ``asnumpy()`` convert with ``float``/``int``/``%f``; NumPy arrays are
accepted as operands of every NDArray arithmetic, comparison and in-place operator (on both
sides), taken as an NDArray of the other operand's dtype on its context.
"""
import math
import operator
import pickle

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd


# --- asnumpy of one-element arrays -------------------------------------------------------
def test_loss_printing_idiom():
    l = nd.array([0.5, 1.5, 2.5])
    assert "epoch %d, loss %f" % (3, l.mean().asnumpy()) == "epoch 3, loss 1.500000"
    assert "%d" % nd.sum(l).asnumpy() == "4"
    assert "%.2f" % nd.sum(l).asnumpy() == "4.50"
    assert float(l.mean().asnumpy()) == 1.5
    assert int(nd.sum(l).asnumpy()) == 4
    assert complex(l.mean().asnumpy()) == 1.5 + 0j
    assert math.isclose(math.exp(l.mean().asnumpy()), math.exp(1.5), rel_tol=1e-6)


def test_size1_any_rank_and_dtype():
    for shape in [(1,), (1, 1), (1, 1, 1)]:
        for dt in ("float32", "float64", "int32", "int64", "uint8"):
            a = nd.ones(shape, dtype=dt).asnumpy()
            assert isinstance(a, np.ndarray) and a.shape == shape and a.dtype == np.dtype(dt)
            assert float(a) == 1.0 and int(a) == 1


def test_size1_values_and_plain_arrays_unchanged():
    a = nd.array([7.25]).asnumpy()
    np.testing.assert_array_equal(a, np.array([7.25], np.float32))
    assert repr(a) == repr(np.array([7.25], np.float32))
    assert str(a) == str(np.array([7.25], np.float32))
    # bigger and empty arrays are plain ndarrays, and NumPy's own rules apply to them
    big = nd.ones((2, 3)).asnumpy()
    assert type(big) is np.ndarray
    assert type(nd.zeros((0,)).asnumpy()) is np.ndarray
    with pytest.raises(TypeError):
        float(big)
    with pytest.raises(TypeError):
        float(nd.ones((2,)).asnumpy())


def test_asnumpy_is_a_copy():
    x = nd.array([3.0])
    a = x.asnumpy()
    a[0] = 9
    assert x.asscalar() == 3.0


def test_derived_results_keep_conversion_only_when_size1():
    a = nd.array([2.0]).asnumpy()
    assert float(a * 3 + 1) == 7.0
    total = 0
    for _ in range(3):
        total += a            # accumulating losses, as training loops do
    assert "%f" % total == "6.000000"
    spread = a + np.ones((4,), np.float32)
    assert type(spread) is np.ndarray and spread.shape == (4,)
    assert type(np.ones((2, 2)) * a) is np.ndarray
    assert isinstance(a.mean(), np.floating)


def test_size1_pickles_as_plain_ndarray():
    a = nd.array([1.5]).asnumpy()
    for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
        b = pickle.loads(pickle.dumps(a, protocol=proto))
        assert type(b) is np.ndarray
        np.testing.assert_array_equal(a, b)
    # pickled bytes do not mention gluonlite: readable without it
    assert b"gluonlite" not in pickle.dumps(a)


def test_zero_dim_and_asscalar_unchanged():
    x = nd.array([4.0])
    assert x.asscalar() == 4.0 and isinstance(x.asscalar(), np.float32)


# --- NumPy operands ----------------------------------------------------------------------
_ARITH = [operator.add, operator.sub, operator.mul, operator.truediv, operator.mod,
          operator.pow]
_CMP = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]


def _pair():
    rs = np.random.RandomState(0)
    a = rs.uniform(1, 3, size=(2, 3)).astype(np.float32)
    b = rs.uniform(1, 3, size=(2, 3))          # float64, as np.ones/np.random give
    return a, b


@pytest.mark.parametrize("op", _ARITH + _CMP, ids=lambda f: f.__name__)
def test_numpy_operand_both_sides(op):
    a, b = _pair()
    x = nd.array(a)
    b32 = b.astype(np.float32)
    for got, want in [(op(x, b), op(a, b32)), (op(b, x), op(b32, a))]:
        assert isinstance(got, nd.NDArray), type(got)
        assert got.dtype == np.float32 and got.context == x.context
        np.testing.assert_allclose(got.asnumpy(), np.asarray(want, np.float32), rtol=1e-6)


@pytest.mark.parametrize("op", [operator.iadd, operator.isub, operator.imul,
                                operator.itruediv, operator.imod, operator.ipow],
                         ids=lambda f: f.__name__)
def test_numpy_operand_in_place(op):
    a, b = _pair()
    x = nd.array(a)
    buf = x._data
    y = op(x, b)
    assert y is x and x._data is buf  # written into the array's own buffer
    np.testing.assert_allclose(x.asnumpy(), op(a.copy(), b.astype(np.float32)), rtol=1e-6)


def test_numpy_operand_broadcasts():
    x = nd.ones((2, 3))
    row = np.arange(3.0)
    np.testing.assert_array_equal((x + row).asnumpy(), 1 + np.arange(3.0)[None].repeat(2, 0))
    np.testing.assert_array_equal((row - x).asnumpy(), np.tile(np.arange(3.0) - 1, (2, 1)))
    with pytest.raises(mx.MXNetError):
        x + np.ones((4,))
    with pytest.raises(mx.MXNetError, match="in-place result shape"):
        y = nd.ones((3,))
        y += np.ones((2, 3))


def test_numpy_operand_dtype_rule():
    xi = nd.array([1, 2, 3], dtype="int32")
    r = xi + np.array([1, 2, 3], dtype=np.int64)       # same kind: converted to int32
    assert r.dtype == np.int32
    np.testing.assert_array_equal(r.asnumpy(), [2, 4, 6])
    r = nd.ones((3,)) + np.array([True, False, True])  # bool -> float32
    np.testing.assert_array_equal(r.asnumpy(), [2, 1, 2])
    with pytest.raises(TypeError, match="float64 cannot be combined with an NDArray of "
                                        "dtype int32"):
        xi + np.array([0.5, 0.5, 0.5])
    with pytest.raises(TypeError, match="float64 cannot be combined"):
        np.array([0.5, 0.5, 0.5]) * xi
    with pytest.raises(TypeError):
        nd.ones((1,)) + np.array(["a"])
    before = xi.asnumpy()
    with pytest.raises(TypeError):
        xi += np.array([0.5, 0.5, 0.5])
    np.testing.assert_array_equal(xi.asnumpy(), before)   # nothing written on failure


def test_numpy_operand_is_a_constant_for_autograd():
    w = nd.array([1.0, 2.0, 3.0])
    w.attach_grad()
    c = np.array([2.0, -1.0, 0.5])
    with autograd.record():
        y = (c * w + w / c - c).sum()
    y.backward()
    np.testing.assert_allclose(w.grad.asnumpy(), c + 1 / c, rtol=1e-6)
    with autograd.record():
        z = w * 2
        with pytest.raises(mx.MXNetError, match="inplace operations"):
            z += np.ones(3)


def test_nd_arith_functions_take_numpy_operands():
    x = nd.array([[1.0, 2.0], [3.0, 4.0]])
    n = np.array([[4.0, 3.0], [2.0, 1.0]])
    np.testing.assert_array_equal(nd.add(n, x).asnumpy(), [[5, 5], [5, 5]])
    np.testing.assert_array_equal(nd.subtract(n, x).asnumpy(), [[3, 1], [-1, -3]])
    np.testing.assert_array_equal(nd.maximum(x, n).asnumpy(), [[4, 3], [3, 4]])
    np.testing.assert_array_equal(nd.greater(n, x).asnumpy(), [[1, 1], [0, 0]])
    with pytest.raises(TypeError, match="convert two NumPy arrays with nd.array"):
        nd.add(n, n)


def test_nd_functions_name_numpy_inputs_clearly():
    with pytest.raises(TypeError, match=r"zeros_like: input 'data' must be an NDArray, got "
                                        r"ndarray \(a NumPy array.*nd.array\(x\)"):
        nd.zeros_like(np.ones((2, 3)))
    with pytest.raises(TypeError, match="a NumPy array"):
        nd.elemwise_add(np.ones(3), nd.ones(3))


def test_seed_004_section_2_1():
    """The NDArray tutorial code of seed 004, with its one MXNet-refused line
    (``nd.zeros_like(numpy_array)``) written as MXNet accepts it."""
    x = nd.ones((3, 4))
    y = nd.random_normal(0, 1, shape=(3, 4))
    z = x + y
    z = nd.dot(x, y.T)
    assert z.shape == (3, 3)
    c = nd.arange(3).reshape((3, 1)) + nd.arange(2).reshape((1, 2))
    assert c.shape == (3, 2)
    x = np.ones((2, 3))
    y = nd.array(x)
    z = y.asnumpy()
    y = y + x
    np.testing.assert_array_equal(y.asnumpy(), 2 * np.ones((2, 3)))
    z = nd.zeros_like(y)
    z[:] = x + y
    np.testing.assert_array_equal(z.asnumpy(), 3 * np.ones((2, 3)))
    y += x
    y[:] = y + x
    np.testing.assert_array_equal(y.asnumpy(), 4 * np.ones((2, 3)))
    z = nd.zeros_like(y)
    nd.elemwise_add(nd.array(x), y, out=z)
    np.testing.assert_array_equal(z.asnumpy(), 5 * np.ones((2, 3)))
    x = nd.arange(0, 9).reshape((3, 3))
    assert x[1:3].shape == (2, 3) and x[1:2, 1:3].shape == (1, 2)
