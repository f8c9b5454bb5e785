"""NDArray: creation, properties, printing, conversion, operators, contexts, out=."""
import pickle

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError


# --- creation -----------------------------------------------------------------------------
def test_array_dtype_rules_follow_mxnet():
    assert nd.array([1, 2, 3]).dtype == np.float32
    assert nd.array(np.array([1, 2], dtype=np.int64)).dtype == np.float32
    assert nd.array(np.array([1.5], dtype=np.float64)).dtype == np.float32
    assert nd.array([1, 2], dtype="int32").dtype == np.int32
    assert nd.array(nd.array([1, 2], dtype="float16")).dtype == np.float16
    assert nd.array(nd.array([1, 2], dtype="float16"), dtype="float64").dtype == np.float64
    s = nd.array(5)
    assert s.shape == () and s.asnumpy() == 5


def test_array_copies_its_source():
    src = np.array([1.0, 2.0], dtype=np.float32)
    a = nd.array(src)
    src[0] = 9
    assert a.asnumpy()[0] == 1
    b = nd.array(a)
    a[:] = 3
    assert b.asnumpy().tolist() == [1, 2]


def test_array_rejects_non_array_like():
    with pytest.raises(TypeError, match="array like"):
        nd.array({"a": 1})
    with pytest.raises(TypeError, match="array like"):
        nd.array([[1, 2], [3]])
    with pytest.raises(TypeError, match="dtype"):
        nd.array([1], dtype="complex64")
    with pytest.raises(TypeError, match="ctx"):
        nd.array([1], ctx="cpu")


def test_creation_functions():
    assert nd.zeros(3).shape == (3,) and nd.zeros(3).dtype == np.float32
    assert nd.zeros((2, 3), dtype="int32").asnumpy().sum() == 0
    assert nd.ones((2, 2), dtype=np.float16).dtype == np.float16
    assert nd.full((2, 2), 7).asnumpy().tolist() == [[7, 7], [7, 7]]
    assert nd.empty((2, 3)).shape == (2, 3)
    assert nd.arange(3).asnumpy().tolist() == [0, 1, 2]
    assert nd.arange(2, 8, 2).asnumpy().tolist() == [2, 4, 6]
    assert nd.arange(0, 3, repeat=2).asnumpy().tolist() == [0, 0, 1, 1, 2, 2]
    assert nd.arange(3, dtype="int32").dtype == np.int32
    np.testing.assert_allclose(nd.linspace(0, 1, 5).asnumpy(), np.linspace(0, 1, 5))
    assert nd.eye(3).asnumpy().tolist() == np.eye(3).tolist()
    assert nd.eye(2, 3, 1).asnumpy().tolist() == np.eye(2, 3, 1).tolist()
    assert nd.zeros_like(nd.ones((2, 3))).asnumpy().sum() == 0
    assert nd.ones_like(nd.zeros((2, 3))).asnumpy().sum() == 6
    z = nd.zeros((2,))
    nd.ones((2,), out=z)
    assert z.asnumpy().tolist() == [1, 1]
    with pytest.raises(MXNetError, match="negative"):
        nd.zeros((2, -1))
    with pytest.raises(MXNetError, match="step"):
        nd.arange(0, 3, 0)


# --- properties, printing, conversion -------------------------------------------------------
def test_properties():
    x = nd.ones((2, 3, 4))
    assert x.shape == (2, 3, 4) and x.size == 24 and x.ndim == 3
    assert x.dtype is np.float32
    assert x.context == mx.cpu(0) and x.ctx is mx.cpu(0)
    assert x.stype == "default"
    assert x.T.shape == (4, 3, 2)
    assert x.grad is None


def test_repr_matches_mxnet():
    assert repr(nd.ones((2, 3))) == "\n[[1. 1. 1.]\n [1. 1. 1.]]\n<NDArray 2x3 @cpu(0)>"
    assert repr(nd.arange(3)) == "\n[0. 1. 2.]\n<NDArray 3 @cpu(0)>"
    assert str(nd.array(5)) == "\n5.0\n<NDArray  @cpu(0)>"


def test_asnumpy_is_a_copy_and_asscalar():
    x = nd.array([1.0, 2.0])
    n = x.asnumpy()
    n[0] = 5
    assert x.asnumpy()[0] == 1
    assert nd.array([3.0]).asscalar() == 3.0
    assert isinstance(nd.array([3.0]).asscalar(), np.float32)
    with pytest.raises(ValueError, match="not a scalar"):
        nd.array([1.0, 2.0]).asscalar()


def test_astype_and_copy():
    x = nd.array([1.7, -2.2])
    y = x.astype("int32")
    assert y.dtype == np.int32 and y.asnumpy().tolist() == [1, -2]
    assert x.astype("float32", copy=False) is x
    assert x.astype("float32") is not x
    c = x.copy()
    c[:] = 0
    assert x.asnumpy().tolist() == pytest.approx([1.7, -2.2])


def test_len_iter_bool_float():
    x = nd.arange(6).reshape((3, 2))
    assert len(x) == 3
    rows = list(x)
    assert [r.asnumpy().tolist() for r in rows] == [[0, 1], [2, 3], [4, 5]]
    assert bool(nd.array([1.0])) and not bool(nd.array([0.0])) and not bool(nd.zeros((0,)))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(nd.ones((2,)))
    assert float(nd.array([2.5])) == 2.5 and int(nd.array([3.0])) == 3
    with pytest.raises(TypeError):
        len(nd.array(5))


def test_pickle_round_trip():
    x = nd.array([[1, 2], [3, 4]], dtype="int32")
    y = pickle.loads(pickle.dumps(x))
    assert y.dtype == np.int32 and y.asnumpy().tolist() == [[1, 2], [3, 4]]
    assert y.context == x.context


# --- operators ---------------------------------------------------------------------------------
def test_arithmetic_operators_and_reflected():
    x = nd.array([1.0, 2.0, 4.0])
    assert (x + 1).asnumpy().tolist() == [2, 3, 5]
    assert (1 + x).asnumpy().tolist() == [2, 3, 5]
    assert (x - 1).asnumpy().tolist() == [0, 1, 3]
    assert (1 - x).asnumpy().tolist() == [0, -1, -3]
    assert (x * 2).asnumpy().tolist() == [2, 4, 8]
    assert (x / 2).asnumpy().tolist() == [0.5, 1, 2]
    assert (4 / x).asnumpy().tolist() == [4, 2, 1]
    assert (x ** 2).asnumpy().tolist() == [1, 4, 16]
    assert (2 ** x).asnumpy().tolist() == [2, 4, 16]
    assert (x % 3).asnumpy().tolist() == [1, 2, 1]
    assert (5 % x).asnumpy().tolist() == [0, 1, 1]
    assert (-x).asnumpy().tolist() == [-1, -2, -4]
    assert abs(-x).asnumpy().tolist() == [1, 2, 4]
    assert (np.float32(2) * x).asnumpy().tolist() == [2, 4, 8]
    assert (x * np.float64(0.5)).dtype == np.float32


def test_operators_broadcast():
    a = nd.ones((2, 3))
    b = nd.arange(3)
    assert (a + b).asnumpy().tolist() == [[1, 2, 3], [1, 2, 3]]
    assert (a * b.reshape((1, 3))).shape == (2, 3)


def test_comparison_operators_return_float_zero_one():
    x = nd.array([1.0, 2.0, 3.0])
    assert (x > 2).asnumpy().tolist() == [0, 0, 1]
    assert (x >= 2).dtype == np.float32
    assert (x == nd.array([1.0, 0.0, 3.0])).asnumpy().tolist() == [1, 0, 1]
    assert (x != 2).asnumpy().tolist() == [1, 0, 1]
    assert (x < 2).asnumpy().tolist() == [1, 0, 0]
    assert (x <= 2).asnumpy().tolist() == [1, 1, 0]
    assert (x == None) is False  # noqa: E711
    assert (x != None) is True  # noqa: E711


def test_unsupported_operand_raises_type_error():
    with pytest.raises(TypeError):
        nd.ones((2,)) + "a"
    with pytest.raises(TypeError):
        nd.ones((2,)) * [1, 2]


def test_inplace_operators_keep_identity_and_buffer():
    x = nd.array([1.0, 2.0])
    view = x
    buf = x._data
    x += 1
    x *= 2
    x -= nd.array([1.0, 1.0])
    x /= 2
    assert x is view and x._data is buf
    assert x.asnumpy().tolist() == [1.5, 2.5]
    m = nd.ones((2, 3))
    m += nd.arange(3)  # broadcast into the left operand's shape
    assert m.asnumpy().tolist() == [[1, 2, 3], [1, 2, 3]]
    with pytest.raises(MXNetError, match="in-place"):
        v = nd.ones((3,))
        v += nd.ones((2, 3))


def test_methods_mirror_nd_functions():
    x = nd.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    assert x.sum().asnumpy().tolist() == [21]
    assert x.sum(axis=1).asnumpy().tolist() == [9, 12]
    assert x.argmax(axis=1).asnumpy().tolist() == [1, 2]
    assert x.max(axis=0).asnumpy().tolist() == [4, 5, 6]
    assert x.mean().asscalar() == pytest.approx(3.5)
    np.testing.assert_allclose(x.norm().asnumpy(), [np.sqrt((x.asnumpy() ** 2).sum())])
    np.testing.assert_allclose(x.exp().asnumpy(), np.exp(x.asnumpy()), rtol=1e-6)
    assert x.reshape((3, 2)).shape == (3, 2)
    assert x.reshape(3, 2).shape == (3, 2)
    assert x.reshape(shape=(-1,)).shape == (6,)
    assert x.reshape((0, -1, 1)).shape == (2, 3, 1)
    assert x.flatten().shape == (2, 3)
    assert x.expand_dims(axis=0).shape == (1, 2, 3)
    assert x.transpose().shape == (3, 2)
    assert x.square().asnumpy()[0, 1] == 25


def test_required_methods_exist():
    from gluonlite.ndarray import _METHODS
    missing = [m for m in _METHODS if not hasattr(nd.NDArray, m)]
    assert not missing, f"NDArray methods without their operator: {missing}"


# --- out= ----------------------------------------------------------------------------------------
def test_out_argument_writes_in_place():
    x, y = nd.array([1.0, 2.0]), nd.array([3.0, 4.0])
    z = nd.zeros((2,))
    r = nd.elemwise_add(x, y, out=z)
    assert r is z and z.asnumpy().tolist() == [4, 6]
    nd.relu(nd.array([-1.0, 1.0]), out=z)
    assert z.asnumpy().tolist() == [0, 1]
    with pytest.raises(MXNetError, match="shape"):
        nd.elemwise_add(x, y, out=nd.zeros((3,)))
    with pytest.raises(MXNetError, match="dtype"):
        nd.elemwise_add(x, y, out=nd.zeros((2,), dtype="float64"))


# --- contexts -------------------------------------------------------------------------------------
def test_contexts_are_interned_and_printable():
    assert mx.cpu() is mx.cpu(0) and mx.cpu(1) is not mx.cpu(0)
    assert mx.cpu(1) == mx.Context("cpu", 1) and str(mx.gpu(2)) == "gpu(2)"
    assert mx.Context(mx.cpu(3)) is mx.cpu(3)
    assert mx.cpu(1).device_type == "cpu" and mx.gpu(0).device_typeid == 2
    assert pickle.loads(pickle.dumps(mx.cpu(1))) is mx.cpu(1)
    with pytest.raises(ValueError, match="device_type"):
        mx.Context("tpu", 0)
    with pytest.raises(ValueError, match="device_id"):
        mx.cpu(-1)


def test_with_context_sets_default():
    assert mx.current_context() == mx.cpu(0)
    with mx.cpu(1):
        assert mx.current_context() == mx.cpu(1)
        assert nd.zeros(3).context == mx.cpu(1)
        assert nd.array([1, 2]).context == mx.cpu(1)
        with mx.cpu(2):
            assert nd.ones(1).context == mx.cpu(2)
        assert mx.Context.default_ctx == mx.cpu(1)
    assert nd.zeros(3).context == mx.cpu(0)


def test_mixing_cpu_ids_is_refused_with_a_clear_error():
    a = nd.ones((2,), ctx=mx.cpu(0))
    b = nd.ones((2,), ctx=mx.cpu(1))
    with pytest.raises(MXNetError, match=r"cpu\(1\).*as_in_context"):
        a + b
    with pytest.raises(MXNetError, match="same device"):
        nd.dot(a, b) if hasattr(nd, "dot") else nd.elemwise_mul(a, b)
    c = a + b.as_in_context(mx.cpu(0))
    assert c.asnumpy().tolist() == [2, 2]


def test_copyto_and_as_in_context():
    a = nd.array([1.0, 2.0])
    b = a.copyto(mx.cpu(1))
    assert b.context == mx.cpu(1) and b.asnumpy().tolist() == [1, 2]
    assert a.as_in_context(mx.cpu(0)) is a
    c = nd.zeros((2,), ctx=mx.cpu(1))
    assert a.copyto(c) is c and c.asnumpy().tolist() == [1, 2]
    with pytest.raises(ValueError, match="shape"):
        a.copyto(nd.zeros((3,)))
    with pytest.raises(TypeError, match="Context"):
        a.copyto("cpu(1)")
    # gradients flow back across the copy
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with mx.autograd.record():
        y = (x.copyto(mx.cpu(1)) * 3).as_in_context(mx.cpu(2))
    y.backward()
    assert x.grad.asnumpy().tolist() == [3, 3]


def test_gpu_context_without_cupy_gives_clear_error():
    if mx.num_gpus() > 0:
        pytest.skip("a GPU is present")
    with pytest.raises(MXNetError, match="CuPy"):
        nd.zeros((2,), ctx=mx.gpu(0))


def test_wait_functions_are_harmless():
    x = nd.ones((2,))
    x.wait_to_read()
    nd.waitall()
