"""Reductions and broadcasts: MXNet's axis/keepdims/exclude semantics and (1,) scalars."""
import numpy as np
import pytest

from gluonlite import nd
from gluonlite.base import MXNetError

from .opcheck import check_op

rng = np.random.RandomState(1)
X = rng.uniform(-1, 1, size=(2, 3, 4))


def _np_axes(ndim, axis, exclude):
    if axis is None:
        axes = tuple(range(ndim))
        return () if exclude else axes
    axis = (axis,) if isinstance(axis, int) else axis
    axis = tuple(a % ndim for a in axis)
    return tuple(i for i in range(ndim) if i not in axis) if exclude else axis


def _ref(fn):
    def run(x, axis, keepdims, exclude):
        r = fn(x, axis=_np_axes(x.ndim, axis, exclude), keepdims=keepdims)
        r = np.asarray(r)
        return r.reshape(1) if r.ndim == 0 else r
    return run


REDUCTIONS = [("sum", _ref(np.sum)), ("mean", _ref(np.mean)), ("prod", _ref(np.prod)),
              ("max", _ref(np.max)), ("min", _ref(np.min)), ("nansum", _ref(np.nansum)),
              ("nanprod", _ref(np.nanprod))]
CASES = [dict(), dict(axis=1), dict(axis=(0, 2)), dict(axis=-1, keepdims=True),
         dict(axis=1, exclude=True), dict(axis=(0,), exclude=True, keepdims=True)]


@pytest.mark.parametrize("name,ref", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
@pytest.mark.parametrize("attrs", CASES, ids=[str(c) for c in CASES])
def test_reductions(name, ref, attrs):
    x = X + (1.5 if name in ("prod", "nanprod") else 0.0)
    check_op(name, [x], attrs,
             expected=lambda v: ref(v, attrs.get("axis"), attrs.get("keepdims", False),
                                    attrs.get("exclude", False)))


def test_reduce_to_scalar_has_shape_one():
    assert nd.sum(nd.ones((2, 3))).shape == (1,)
    assert nd.ones((2, 3)).mean().asscalar() == 1
    assert nd.sum(nd.ones((2, 3)), axis=(0, 1), keepdims=True).shape == (1, 1)
    assert nd.sum(nd.ones((2, 3)), axis=1, exclude=True).asnumpy().tolist() == [2, 2, 2]
    assert nd.sum_axis(nd.ones((2, 3)), axis=0).shape == (3,)


def test_nan_reductions_skip_nan():
    x = nd.array([1.0, np.nan, 3.0])
    assert nd.nansum(x).asscalar() == 4 and nd.nanprod(x).asscalar() == 3
    check_op("nansum", [np.array([1.0, np.nan, 2.0])], expected=np.array([3.0]), grad=False)


def test_max_gradient_goes_to_every_tie():
    x = nd.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]])
    x.attach_grad()
    with __import__("gluonlite").autograd.record():
        y = x.max(axis=1)
    y.backward()
    assert x.grad.asnumpy().tolist() == [[0, 1, 1], [1, 0, 0]]


def test_bad_axis():
    with pytest.raises(MXNetError, match="out of range"):
        nd.sum(nd.ones((2, 3)), axis=2)
    with pytest.raises(MXNetError, match="repeats"):
        nd.sum(nd.ones((2, 3)), axis=(1, 1))
    with pytest.raises(MXNetError, match="axis"):
        nd.sum(nd.ones((2, 3)), axis="a")


@pytest.mark.parametrize("attrs", [dict(), dict(axis=1), dict(axis=(0, 2), keepdims=True),
                                   dict(ord=1, axis=1)])
def test_norm(attrs):
    def ref(x):
        ax = attrs.get("axis")
        ax = tuple(range(x.ndim)) if ax is None else ((ax,) if isinstance(ax, int) else ax)
        if attrs.get("ord", 2) == 1:
            r = np.abs(x).sum(axis=ax, keepdims=attrs.get("keepdims", False))
        else:
            r = np.sqrt((x * x).sum(axis=ax, keepdims=attrs.get("keepdims", False)))
        return r.reshape(1) if r.ndim == 0 else r
    check_op("norm", [X], attrs, expected=ref)


def test_norm_rejects_other_orders():
    with pytest.raises(MXNetError, match="ord"):
        nd.norm(nd.ones((2,)), ord=3)


@pytest.mark.parametrize("name,fn", [("argmax", np.argmax), ("argmin", np.argmin)])
def test_argmax_argmin(name, fn):
    x = X
    check_op(name, [x], {"axis": 1}, expected=lambda v: fn(v, axis=1).astype(np.float32))
    check_op(name, [x], {"axis": -1, "keepdims": True},
             expected=lambda v: np.expand_dims(fn(v, axis=-1), -1).astype(np.float32))
    check_op(name, [x], {}, expected=lambda v: np.array([fn(v)], np.float32))
    assert getattr(nd, name)(nd.array(x), axis=0).dtype == np.float32


def test_argmax_channel():
    check_op("argmax_channel", [X[0]], expected=lambda v: np.argmax(v, -1).astype(np.float32))


@pytest.mark.parametrize("src,shape,exp", [((1, 3), (2, 3), (2, 3)), ((3,), (4, 3), (4, 3)),
                                           ((2, 1), (0, 5), (2, 5))])
def test_broadcast_to(src, shape, exp):
    x = rng.uniform(-1, 1, size=src)
    check_op("broadcast_to", [x], {"shape": shape},
             expected=lambda v: np.broadcast_to(v.reshape((1,) * (len(exp) - v.ndim) + v.shape),
                                                exp))


def test_broadcast_to_errors():
    with pytest.raises(MXNetError, match="broadcast_to"):
        nd.broadcast_to(nd.ones((2, 3)), shape=(4, 3))


def test_broadcast_like_and_axis():
    a = rng.uniform(-1, 1, size=(1, 3))
    b = np.zeros((4, 3))
    check_op("broadcast_like", [a, b], expected=lambda x, y: np.broadcast_to(x, y.shape),
             grad_inputs=[0])
    check_op("broadcast_like", [rng.uniform(size=(1, 3, 1)), np.zeros((5, 2))],
             {"lhs_axes": (0, 2), "rhs_axes": (0, 1)},
             expected=lambda x, y: np.broadcast_to(x, (5, 3, 2)), grad_inputs=[0])
    check_op("broadcast_axis", [rng.uniform(size=(2, 1, 1))], {"axis": (1, 2), "size": (3, 4)},
             expected=lambda x: np.broadcast_to(x, (2, 3, 4)))
    assert nd.broadcast_axes(nd.ones((1, 2)), axis=0, size=3).shape == (3, 2)
    with pytest.raises(MXNetError, match="size 2"):
        nd.broadcast_axis(nd.ones((2, 2)), axis=0, size=3)
