"""The indexing operator ``_index`` through the standard checks (NDArray indexing semantics
are tested in tests/ndarray/test_indexing.py)."""
import numpy as np
import pytest

from .opcheck import check_op


@pytest.mark.parametrize("key", [1, (slice(1, 3), 2), (Ellipsis, None, slice(None, None, -1)),
                                 (np.array([2, 0, 2]),), (slice(None), np.array([1, 1, 3])),
                                 (np.array([[True, False, True, False]] * 3),)])
def test_index_operator(key):
    x = np.random.RandomState(3).uniform(-1, 1, size=(3, 4))

    def ref(v):
        r = np.asarray(v[key])
        return r.reshape(r.shape or (1,))

    check_op("_index", [x], {"key": key}, expected=ref)
