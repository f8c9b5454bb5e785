"""``mx.sym.sparse``: MXNet's symbolic sparse names build dense graphs with the same values;
storage-type hints are checked."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError


def _run(sym, **arrays):
    ex = sym.bind(mx.cpu(), {k: nd.array(v) for k, v in arrays.items()})
    return ex.forward()[0].asnumpy()


def test_dense_equivalents():
    rng = np.random.RandomState(0)
    a, b = rng.randn(4, 3), rng.randn(3, 2)
    x, y = mx.sym.var("x"), mx.sym.var("y")
    got = _run(mx.sym.sparse.dot(x, y, forward_stype="default"), x=a, y=b)
    np.testing.assert_allclose(got, a @ b, rtol=1e-5)
    np.testing.assert_allclose(_run(mx.sym.sparse.elemwise_add(x, x), x=a), 2 * a, rtol=1e-6)
    np.testing.assert_allclose(_run(mx.sym.sparse.square(x), x=a), a * a, rtol=1e-5)
    np.testing.assert_allclose(_run(mx.sym.sparse.sum(x, axis=1), x=a), a.sum(1), rtol=1e-5)
    np.testing.assert_allclose(_run(mx.sym.sparse.ElementWiseSum(x, x, x), x=a), 3 * a,
                               rtol=1e-6)
    want = a.copy()
    want[[0, 2]] = 0
    idx = mx.sym.var("i")
    np.testing.assert_allclose(_run(mx.sym.sparse.retain(x, idx), x=a, i=np.array([1, 3])),
                               want, rtol=1e-6)
    c = mx.sym.sparse.cast_storage(x, stype="row_sparse")
    assert c.list_attr()["__storage_type__"] == "row_sparse"
    np.testing.assert_allclose(_run(c, x=a), a, rtol=1e-6)


def test_sparse_array_values_feed_the_graph():
    dense = np.array([[0, 1.0, 0], [2.0, 0, 0]])
    csr = nd.array(dense).tostype("csr")
    x, w = mx.sym.var("x"), mx.sym.var("w")
    ex = mx.sym.sparse.dot(x, w).bind(mx.cpu(), {"x": csr, "w": nd.ones((3, 2))})
    np.testing.assert_allclose(ex.forward()[0].asnumpy(), dense @ np.ones((3, 2)))


def test_storage_hints_are_checked():
    x = mx.sym.var("x")
    with pytest.raises(MXNetError, match="forward_stype must be"):
        mx.sym.sparse.dot(x, x, forward_stype="coo")
    with pytest.raises(MXNetError, match="stype must be"):
        mx.sym.sparse.cast_storage(x, stype="dense")


def test_names_match_nd_sparse_where_both_exist():
    for name in ("dot", "retain", "add_n", "Embedding", "clip", "where", "zeros_like"):
        assert callable(getattr(mx.sym.sparse, name)), name
