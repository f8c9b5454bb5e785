"""clip / tile / repeat / pad / flip / shape_array / size_array (and _backward_pad): numpy
references, MXNet 1.9.1 fixtures, gradient checks, errors."""
import numpy as np
import pytest

from gluonlite import autograd, nd
from gluonlite.base import MXNetError

from .opcheck import check_op
from .test_join import _cases, _check_against_mxnet, _check_op_case

OPS = {"clip", "tile", "repeat", "pad", "Pad", "flip", "reverse", "shape_array",
       "size_array"}
CASES = _cases(OPS)
# values sitting exactly on a clip bound: finite differences straddle the kink there, so
# only MXNet's own gradient is compared
NO_NUMERIC_GRAD = {"clip_basic", "clip_swapped"}
rng = np.random.RandomState(2)


def _u(*shape):
    return rng.uniform(-2, 2, size=shape)


@pytest.mark.parametrize("c", CASES, ids=[c["name"] for c in CASES])
def test_matches_mxnet(c):
    _check_against_mxnet(c)
    _check_op_case(c, numeric_grad=c["name"] not in NO_NUMERIC_GRAD)


def test_fixture_covers_every_operator():
    assert {c["op"] for c in CASES} == OPS


# --- clip ------------------------------------------------------------------------------------
def test_clip():
    x = np.array([-2.0, -1.3, -0.4, 0.2, 0.9, 1.6, 2.5])
    check_op("clip", [x], {"a_min": -1.0, "a_max": 1.0}, expected=np.clip(x, -1, 1))


def test_clip_nan_and_integers():
    r = nd.clip(nd.array([np.nan, 2.0, -3.0]), -1, 1).asnumpy()
    assert np.isnan(r[0]) and r[1:].tolist() == [1, -1]
    x = nd.array([np.nan, 0.5], dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = nd.clip(x, 0, 1)
    y.backward()
    assert x.grad.asnumpy().tolist() == [1, 1]  # MXNet passes the gradient through NaN
    i = nd.array([-300, 5, 300], dtype="int16")
    assert nd.clip(i, -1e9, 7.9).asnumpy().tolist() == [-300, 5, 7]  # saturated, truncated
    assert nd.clip(nd.array([0, 200], dtype="uint8"), -1, 300).asnumpy().tolist() == [0, 200]


def test_clip_requires_bounds():
    with pytest.raises(MXNetError, match="clip: required argument 'a_max'"):
        nd.clip(nd.ones((2,)), a_min=0)


# --- tile ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,reps", [((2, 3), (2,)), ((2, 3), (3, 2)), ((2, 3), (2, 1, 2)),
                                        ((3,), (2, 2)), ((2, 1, 2), (1, 3, 1)),
                                        ((2, 3), ())])
def test_tile(shape, reps):
    x = _u(*shape)
    check_op("tile", [x], {"reps": reps}, expected=np.tile(x, reps))


def test_tile_errors():
    with pytest.raises(MXNetError, match="tile: every entry of reps must be a positive"):
        nd.tile(nd.ones((2, 2)), reps=(0, 2))
    with pytest.raises(MXNetError, match="tile: required argument 'reps'"):
        nd.tile(nd.ones((2, 2)))


# --- repeat ----------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, -2, -3])
@pytest.mark.parametrize("repeats", [1, 3])
def test_repeat(axis, repeats):
    x = _u(2, 3, 2)
    check_op("repeat", [x], {"repeats": repeats, "axis": axis},
             expected=np.repeat(x, repeats, axis=axis))


def test_repeat_zero():
    x = _u(2, 3)
    check_op("repeat", [x], {"repeats": 0, "axis": 1}, expected=np.zeros((2, 0)))
    check_op("repeat", [x], {"repeats": 0}, expected=np.zeros((0,)))


def test_repeat_errors():
    x = nd.ones((2, 3))
    with pytest.raises(MXNetError, match="repeat: repeats must be a non-negative"):
        nd.repeat(x, -1)
    with pytest.raises(MXNetError, match="repeat: axis=2 is out of range"):
        nd.repeat(x, 2, axis=2)


# --- pad -------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
@pytest.mark.parametrize("shape,pw", [((1, 2, 3, 4), (0, 0, 0, 0, 2, 1, 1, 3)),
                                      ((1, 1, 2, 3, 3), (0, 0, 0, 0, 1, 1, 0, 2, 2, 1))])
def test_pad(mode, shape, pw):
    x = _u(*shape)
    pairs = [(pw[2 * i], pw[2 * i + 1]) for i in range(len(shape))]
    if mode == "constant":
        ref = np.pad(x, pairs, mode="constant", constant_values=0.75)
    else:
        ref = np.pad(x, pairs, mode=mode)
    check_op("pad", [x], {"mode": mode, "pad_width": pw, "constant_value": 0.75},
             expected=ref)


def test_pad_errors():
    x = nd.ones((1, 1, 3, 3))
    with pytest.raises(MXNetError, match="pad: only 4-D and 5-D inputs are supported"):
        nd.pad(nd.ones((3, 3)), mode="constant", pad_width=(1, 1, 1, 1))
    with pytest.raises(MXNetError, match="pad: pad_width must have 2\\*ndim = 8 entries"):
        nd.pad(x, mode="constant", pad_width=(0, 0, 1, 1))
    with pytest.raises(MXNetError, match="first two axes .* must be 0"):
        nd.pad(x, mode="edge", pad_width=(1, 0, 0, 0, 1, 1, 1, 1))
    with pytest.raises(MXNetError, match="pad widths must be non-negative"):
        nd.pad(x, mode="constant", pad_width=(0, 0, 0, 0, -1, 1, 1, 1))
    with pytest.raises(MXNetError, match="mode='reflect' needs every pad width smaller"):
        nd.pad(x, mode="reflect", pad_width=(0, 0, 0, 0, 3, 0, 0, 0))
    with pytest.raises(MXNetError, match="pad: only floating point arrays"):
        nd.pad(x.astype("int32"), mode="constant", pad_width=(0, 0, 0, 0, 1, 1, 1, 1))
    with pytest.raises(MXNetError, match="(pad|Pad): invalid value for argument 'mode'"):
        nd.pad(x, mode="wrap", pad_width=(0, 0, 0, 0, 1, 1, 1, 1))
    with pytest.raises(MXNetError, match="(pad|Pad): required argument 'mode'"):
        nd.pad(x, pad_width=(0, 0, 0, 0, 1, 1, 1, 1))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
def test_backward_pad(mode):
    like = np.zeros((1, 2, 3, 3))
    pw = (0, 0, 0, 0, 2, 1, 1, 2)
    g = _u(1, 2, 6, 6)
    # the reference adjoint: d/dx sum(g * pad(x)) by finite structure (pad is linear)
    exp = np.zeros(like.shape)
    pairs = [(0, 0), (0, 0), (2, 1), (1, 2)]
    for p in np.ndindex(like.shape):
        e = np.zeros(like.shape)
        e[p] = 1.0
        padded = np.pad(e, pairs, mode=mode) if mode != "constant" else np.pad(e, pairs)
        exp[p] = (g * padded).sum()
    check_op("_backward_pad", [g, like], {"mode": mode, "pad_width": pw}, expected=exp,
             grad_inputs=[0])


# --- flip ------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 2, (0, 1), (2, 0, 1), -1, (1, 1), (0, 1, 1)])
def test_flip(axis):
    x = _u(2, 3, 4)
    axes = axis if isinstance(axis, tuple) else (axis,)
    ref = x
    for a in axes:  # MXNet flips once per mention
        ref = np.flip(ref, axis=a)
    check_op("flip", [x], {"axis": axis}, expected=ref)


def test_flip_errors():
    with pytest.raises(MXNetError, match="flip: axis 3 is out of range"):
        nd.flip(nd.ones((2, 3, 4)), axis=3)
    with pytest.raises(MXNetError, match="(flip|reverse): required argument 'axis'"):
        nd.flip(nd.ones((2,)))


# --- shape_array / size_array ------------------------------------------------------------------
def test_shape_and_size_array():
    x = _u(2, 3, 4)
    r = check_op("shape_array", [x], expected=np.array([2, 3, 4]))
    assert r[0].dtype == np.int64
    r = check_op("size_array", [x], expected=np.array([24]))
    assert r[0].dtype == np.int64
    assert nd.shape_array(nd.ones((0, 5), dtype="int32")).asnumpy().tolist() == [0, 5]
    a = nd.array(x)
    a.attach_grad()
    with autograd.record():
        s = nd.shape_array(a)
    s.backward()
    assert not a.grad.asnumpy().any()


def test_tile_repeat_second_order():
    x = nd.array(_u(2, 2))
    x.attach_grad()
    with autograd.record():
        y1, y2 = nd.tile(x * x, reps=(2, 3)), nd.repeat(x, 2, axis=-1)
        (gx,) = autograd.grad([y1, y2], [x], head_grads=[nd.ones((4, 6)), nd.ones((2, 4))],
                              create_graph=True)
        z = (gx * gx).sum()
    z.backward()
    # gx = 6 * 2x + 2 ; d/dx sum(gx^2) = 2 gx * 12
    v = x.asnumpy()
    np.testing.assert_allclose(x.grad.asnumpy(), 24 * (12 * v + 2), rtol=1e-5)
