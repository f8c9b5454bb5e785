"""Elementwise unary, binary, broadcast and scalar operators."""
import math

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError

from .opcheck import check_op

rng = np.random.RandomState(0)


def _u(shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, size=shape)


def _away(shape, lo=0.3, hi=2.0):
    """Values bounded away from 0 with random signs."""
    return _u(shape, lo, hi) * rng.choice([-1.0, 1.0], size=shape)


erf = np.vectorize(math.erf)
gamma = np.vectorize(math.gamma)
lgamma = np.vectorize(math.lgamma)

UNARY = [
    ("abs", _away, np.abs), ("negative", _u, np.negative),
    ("reciprocal", _away, np.reciprocal), ("square", _u, np.square),
    ("sqrt", lambda s: _u(s, 0.2, 3), np.sqrt),
    ("rsqrt", lambda s: _u(s, 0.2, 3), lambda x: 1 / np.sqrt(x)),
    ("cbrt", _away, np.cbrt), ("rcbrt", _away, lambda x: 1 / np.cbrt(x)),
    ("exp", _u, np.exp), ("expm1", _u, np.expm1),
    ("log", lambda s: _u(s, 0.2, 3), np.log), ("log1p", lambda s: _u(s, -0.5, 3), np.log1p),
    ("log2", lambda s: _u(s, 0.2, 3), np.log2), ("log10", lambda s: _u(s, 0.2, 3), np.log10),
    ("sin", _u, np.sin), ("cos", _u, np.cos), ("tan", lambda s: _u(s, -1, 1), np.tan),
    ("arcsin", lambda s: _u(s, -0.9, 0.9), np.arcsin),
    ("arccos", lambda s: _u(s, -0.9, 0.9), np.arccos), ("arctan", _u, np.arctan),
    ("degrees", _u, np.degrees), ("radians", _u, np.radians),
    ("sinh", _u, np.sinh), ("cosh", _u, np.cosh), ("tanh", _u, np.tanh),
    ("arcsinh", _u, np.arcsinh), ("arccosh", lambda s: _u(s, 1.2, 3), np.arccosh),
    ("arctanh", lambda s: _u(s, -0.9, 0.9), np.arctanh),
    ("sigmoid", _u, lambda x: 1 / (1 + np.exp(-x))),
    ("relu", _away, lambda x: np.maximum(x, 0)),
    ("softsign", _u, lambda x: x / (1 + np.abs(x))),
    ("erf", _u, erf),
    ("erfinv", lambda s: _u(s, -0.9, 0.9), None),
    ("gamma", lambda s: _u(s, 0.5, 4), gamma),
    ("gammaln", lambda s: _u(s, 0.5, 4), lgamma),
    ("_copy", _u, lambda x: x),
]


@pytest.mark.parametrize("name,gen,ref", UNARY, ids=[u[0] for u in UNARY])
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_unary(name, gen, ref, shape):
    x = gen(shape)
    check_op(name, [x], expected=ref, rtol=1e-6, atol=1e-9, grad_rtol=1e-4, grad_atol=1e-6)


def test_erfinv_inverts_erf():
    y = _u((20,), -0.95, 0.95)
    x = nd.erfinv(nd.array(y, dtype="float64")).asnumpy()
    np.testing.assert_allclose(erf(x), y, rtol=1e-12, atol=1e-12)


ZERO_GRAD_UNARY = [("sign", np.sign), ("floor", np.floor), ("ceil", np.ceil),
                   ("trunc", np.trunc), ("fix", np.trunc), ("rint", np.rint),
                   ("round", lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5)),
                   ("logical_not", lambda x: (x == 0).astype(x.dtype)),
                   ("BlockGrad", lambda x: x), ("zeros_like", np.zeros_like),
                   ("ones_like", np.ones_like)]


@pytest.mark.parametrize("name,ref", ZERO_GRAD_UNARY, ids=[u[0] for u in ZERO_GRAD_UNARY])
def test_zero_grad_unary(name, ref):
    x = np.array([-2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.5, 1.2, -3.7])
    check_op(name, [x], expected=ref)
    # gradient is exactly zero
    a = nd.array(x)
    a.attach_grad()
    with mx.autograd.record():
        y = getattr(nd, name)(a) * 3
    y.backward()
    assert not a.grad.asnumpy().any()


def test_round_is_half_away_from_zero():
    assert nd.round(nd.array([0.5, 1.5, 2.5, -0.5, -2.5])).asnumpy().tolist() == \
        [1, 2, 3, -1, -3]
    assert nd.rint(nd.array([0.5, 1.5, 2.5])).asnumpy().tolist() == [0, 2, 2]


def test_unary_keeps_int_dtype():
    x = nd.array([1, 4, 9], dtype="int32")
    y = nd.sqrt(x)
    assert y.dtype == np.int32 and y.asnumpy().tolist() == [1, 2, 3]


BINARY = [
    ("add", np.add, _u, _u), ("sub", np.subtract, _u, _u), ("mul", np.multiply, _u, _u),
    ("div", np.divide, _u, _away),
    ("mod", lambda a, b: np.mod(a, b), _u, _away),
    ("power", np.power, lambda s: _u(s, 0.5, 2), _u),
    ("maximum", np.maximum, _u, _u), ("minimum", np.minimum, _u, _u),
    ("hypot", np.hypot, _away, _away),
]
EW_NAME = {"add": "elemwise_add", "sub": "elemwise_sub", "mul": "elemwise_mul",
           "div": "elemwise_div"}


@pytest.mark.parametrize("name,ref,ga,gb", BINARY, ids=[b[0] for b in BINARY])
def test_elemwise_binary(name, ref, ga, gb):
    a, b = ga((3, 4)), gb((3, 4))
    check_op(EW_NAME.get(name, "_" + name), [a, b], expected=ref)


@pytest.mark.parametrize("name,ref,ga,gb", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)),
                                   ((1,), (2, 3))])
def test_broadcast_binary(name, ref, ga, gb, sa, sb):
    a, b = ga(sa), gb(sb)
    check_op("broadcast_" + name, [a, b], expected=ref)


CMP = [("equal", np.equal), ("not_equal", np.not_equal), ("greater", np.greater),
       ("greater_equal", np.greater_equal), ("lesser", np.less),
       ("lesser_equal", np.less_equal), ("logical_and", np.logical_and),
       ("logical_or", np.logical_or), ("logical_xor", np.logical_xor)]


@pytest.mark.parametrize("name,ref", CMP, ids=[c[0] for c in CMP])
def test_comparisons_return_input_dtype(name, ref):
    a = np.array([[0., 1., 2.], [3., 0., 5.]])
    b = np.array([[0., 2., 2.], [1., 1., 0.]])
    exp = lambda x, y: ref(x, y).astype(x.dtype)  # noqa: E731
    check_op("broadcast_" + name, [a, b], expected=exp)
    check_op("_" + name, [a, b], expected=exp)
    check_op("_" + name + "_scalar", [a], {"scalar": 2.0}, expected=lambda x: exp(x, 2.0))
    r = getattr(nd, "broadcast_" + name)(nd.array(a, dtype="int32"), nd.array(b, dtype="int32"))
    assert r.dtype == np.int32


SCALAR = [
    ("_plus_scalar", lambda x, s: x + s, _u), ("_minus_scalar", lambda x, s: x - s, _u),
    ("_rminus_scalar", lambda x, s: s - x, _u), ("_mul_scalar", lambda x, s: x * s, _u),
    ("_div_scalar", lambda x, s: x / s, _u), ("_rdiv_scalar", lambda x, s: s / x, _away),
    ("_mod_scalar", lambda x, s: np.mod(x, s), _u),
    ("_rmod_scalar", lambda x, s: np.mod(s, x), _away),
    ("_power_scalar", lambda x, s: x ** s, lambda s: _u(s, 0.3, 2)),
    ("_rpower_scalar", lambda x, s: s ** x, _u),
    ("_maximum_scalar", lambda x, s: np.maximum(x, s), _u),
    ("_minimum_scalar", lambda x, s: np.minimum(x, s), _u),
    ("_hypot_scalar", lambda x, s: np.hypot(x, s), _u),
]


@pytest.mark.parametrize("name,ref,gen", SCALAR, ids=[s[0] for s in SCALAR])
def test_scalar_ops(name, ref, gen):
    x = gen((3, 4))
    check_op(name, [x], {"scalar": 1.7}, expected=lambda v: ref(v, 1.7))


def test_add_n():
    xs = [_u((2, 3)) for _ in range(4)]
    check_op("add_n", xs, expected=lambda *v: sum(v))
    assert nd.ElementWiseSum(*[nd.array(x) for x in xs]).shape == (2, 3)


def test_scalar_cast_to_int_dtype_like_mxnet():
    # MXNet casts the scalar to the array dtype before computing: 1.5 -> 1 for int32
    a = nd.array([1, 2], dtype="int32")
    assert (a * 1.5).asnumpy().tolist() == [1, 2]
    assert (a + 1.5).asnumpy().tolist() == [2, 3]
    assert (a / 2).asnumpy().tolist() == [0, 1]
    assert (3 / a).asnumpy().tolist() == [3, 1]
    assert (a ** 0.5).asnumpy().tolist() == [1, 1]
    assert (a * 1.5).dtype == np.int32


def test_int_division_truncates_and_mod_follows_divisor():
    a = nd.array([-7, 7, -7, 7], dtype="int32")
    b = nd.array([2, 2, -2, -2], dtype="int32")
    assert (a / b).asnumpy().tolist() == [-3, 3, 3, -3]
    assert (a % b).asnumpy().tolist() == [1, 1, -1, -1]
    assert nd.broadcast_mod(nd.array([5.0, -5.0]), nd.array([0.0, 3.0])).asnumpy().tolist() \
        == [0.0, 1.0]


def test_elemwise_requires_equal_shapes():
    with pytest.raises(MXNetError, match="same shape"):
        nd.elemwise_add(nd.ones((2, 3)), nd.ones((3,)))


def test_broadcast_incompatible_shapes_error_names_op():
    with pytest.raises(MXNetError, match="broadcast_add"):
        nd.ones((2, 3)) + nd.ones((4,))


def test_mixed_dtypes_rejected_like_mxnet():
    with pytest.raises(MXNetError, match="same dtype"):
        nd.ones((2,)) + nd.ones((2,), dtype="float64")


def test_nd_arith_helpers_accept_scalars():
    x = nd.array([1.0, 2.0, 3.0])
    assert nd.add(x, 1).asnumpy().tolist() == [2, 3, 4]
    assert nd.subtract(10, x).asnumpy().tolist() == [9, 8, 7]
    assert nd.divide(6, x).asnumpy().tolist() == [6, 3, 2]
    assert nd.maximum(x, 2).asnumpy().tolist() == [2, 2, 3]
    assert nd.greater(2, x).asnumpy().tolist() == [1, 0, 0]
    assert nd.power(2, x).asnumpy().tolist() == [2, 4, 8]
    assert nd.add(1, 2) == 3
    assert nd.multiply(x, x).asnumpy().tolist() == [1, 4, 9]
    with pytest.raises(TypeError, match="add"):
        nd.add(x, "a")


def test_special_kernels_match_reference():
    from gluonlite import kernels
    x = np.linspace(0.3, 5, 50)
    fast = {n: getattr(nd, n)(nd.array(x, dtype="float64")).asnumpy()
            for n in ("erf", "gamma", "gammaln")}
    assert kernels.kernels_of("erf"), "the numba erf kernel should be registered"
    kernels.set_enabled(False)
    try:
        for n, v in fast.items():
            ref = getattr(nd, n)(nd.array(x, dtype="float64")).asnumpy()
            np.testing.assert_allclose(v, ref, rtol=1e-13)
    finally:
        kernels.set_enabled(True)
