"""Indexing and assignment with MXNet 1.x's shape and view rules."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd, autograd
from gluonlite.base import MXNetError


def _x():
    return nd.arange(12).reshape((3, 4))


def test_int_and_slice_shapes():
    x = _x()
    assert x[1].shape == (4,)
    assert x[-1].asnumpy().tolist() == [8, 9, 10, 11]
    assert x[1, 2].shape == (1,) and x[1, 2].asscalar() == 6
    assert nd.arange(5)[2].shape == (1,)
    assert x[1:, 1].shape == (2,)
    assert x[:, None].shape == (3, 1, 4)
    assert x[..., 1].asnumpy().tolist() == [1, 5, 9]
    assert x[::2, ::-1].asnumpy().tolist() == [[3, 2, 1, 0], [11, 10, 9, 8]]


def test_out_of_range_raises_index_error():
    with pytest.raises(IndexError, match="out of bounds"):
        _x()[5]
    with pytest.raises(IndexError, match="out of bounds"):
        nd.arange(3)[3]
    with pytest.raises(IndexError):
        _x()[1, 9]


def test_contiguous_selections_are_views_others_copies():
    # as MXNet 1.9: contiguous basic selections share memory
    for key in [1, slice(1, 3), (slice(1, 2), slice(1, 3)), (1, 2)]:
        x = _x()
        y = x[key]
        y[:] = -1
        assert (x.asnumpy() == -1).sum() == y.size, key
    for key in [(slice(None), 1), slice(0, 3, 2), [0, 2]]:
        x = _x()
        y = x[key]
        y[:] = -1
        assert (x.asnumpy() == -1).sum() == 0, key
    x = nd.arange(5)
    x[2][:] = -1
    assert x.asnumpy().tolist() == [0, 1, -1, 3, 4]


def test_integer_array_indexing():
    x = _x()
    assert x[nd.array([2, 0])].asnumpy().tolist() == [[8, 9, 10, 11], [0, 1, 2, 3]]
    assert x[[0, 2]].shape == (2, 4)
    assert x[np.array([0, 2])].shape == (2, 4)
    assert x[nd.array([0, 1]), nd.array([1, 2])].asnumpy().tolist() == [1, 6]
    assert x[:, [0, 3]].asnumpy().tolist() == [[0, 3], [4, 7], [8, 11]]


def test_boolean_masks_and_float_masks_like_mxnet():
    x = _x()
    mask = x.asnumpy() > 8
    assert x[mask].asnumpy().tolist() == [9, 10, 11]
    assert x[nd.array(mask, dtype="bool")].asnumpy().tolist() == [9, 10, 11]
    # a float 0/1 NDArray (a comparison result) indexes by value, as in MXNet 1.x
    m = nd.array([[1, 2], [3, 4]])
    assert m[m > 2].shape == (2, 2, 2)


def test_bad_index_type():
    with pytest.raises(TypeError, match="indices"):
        _x()["a"]
    with pytest.raises(TypeError, match="indices"):
        _x()[1.5]


def test_setitem_variants():
    x = nd.zeros((3, 4))
    x[1] = 7
    assert x.asnumpy()[1].tolist() == [7] * 4
    x[:, 0] = nd.array([9, 8, 7])
    assert x.asnumpy()[:, 0].tolist() == [9, 8, 7]
    x[0, 1:3] = [5, 6]
    assert x.asnumpy()[0].tolist() == [9, 5, 6, 0]
    x[nd.array([0, 2])] = 1
    assert x.asnumpy()[[0, 2]].tolist() == [[1] * 4] * 2
    x[:] = np.arange(12).reshape((3, 4))
    assert x.asnumpy()[2, 3] == 11
    x[x.asnumpy() > 9] = 0
    assert x.asnumpy()[2].tolist() == [8, 9, 0, 0]
    x[:] = nd.array([1, 2, 3, 4])  # broadcast
    assert x.asnumpy()[2].tolist() == [1, 2, 3, 4]
    with pytest.raises(MXNetError, match="shape"):
        x[:] = nd.ones((2, 2))
    with pytest.raises(MXNetError, match="same device"):
        x[:] = nd.ones((4,), ctx=mx.cpu(1))


def test_getitem_gradient_accumulates_repeats():
    x = nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = x[nd.array([0, 0, 2])]
    y.backward()
    assert x.grad.asnumpy().tolist() == [2, 0, 1]
    m = nd.arange(6).reshape((2, 3))
    m.attach_grad()
    with autograd.record():
        z = (m[1, 1:] * 2).sum() + m[0, 0] * 5
    z.backward()
    assert m.grad.asnumpy().tolist() == [[5, 0, 0], [0, 2, 2]]


def test_getitem_second_order():
    x = nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = (x[1:] ** 3).sum()
        g, = autograd.grad(y, [x], create_graph=True)
    g.backward()
    assert x.grad.asnumpy().tolist() == [0, 12, 18]


def test_setitem_inside_record_on_graph_array_is_refused():
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = x * 2
        with pytest.raises(MXNetError, match="computational graph"):
            y[:] = 3
        with pytest.raises(MXNetError, match="computational graph"):
            x[0] = 1
        with pytest.raises(MXNetError, match="computational graph"):
            y += 1
    y[:] = 3  # outside recording it is allowed
    assert y.asnumpy().tolist() == [3, 3]

