"""Source operators: _zeros, _ones, _full, _arange, _linspace, _eye."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError

from .opcheck import check_op


def test_creation_ops_through_the_registry():
    check_op("_zeros", [], {"shape": (2, 3)}, expected=np.zeros((2, 3), np.float32))
    check_op("_ones", [], {"shape": (4,), "dtype": "int32"}, expected=np.ones(4, np.int32))
    check_op("_full", [], {"shape": (2,), "value": 3.5}, expected=np.full(2, 3.5, np.float32))
    check_op("_arange", [], {"start": 1, "stop": 7, "step": 2},
             expected=np.array([1, 3, 5], np.float32))
    check_op("_arange", [], {"start": 4}, expected=np.arange(4, dtype=np.float32))
    check_op("_arange", [], {"start": 0, "stop": 2, "repeat": 3},
             expected=np.array([0, 0, 0, 1, 1, 1], np.float32))
    check_op("_arange", [], {"start": 0, "stop": 1, "step": 0.3},
             expected=np.arange(0, 1, 0.3).astype(np.float32))
    check_op("_linspace", [], {"start": 0, "stop": 1, "num": 4, "endpoint": False},
             expected=np.linspace(0, 1, 4, endpoint=False).astype(np.float32))
    check_op("_eye", [], {"N": 3, "M": 4, "k": -1}, expected=np.eye(3, 4, -1, dtype=np.float32))


def test_creation_ctx_and_attr_strings():
    a = nd._internal._zeros(shape="(2, 2)", ctx="cpu(1)", dtype="float64")
    assert a.context == mx.cpu(1) and a.dtype == np.float64 and a.shape == (2, 2)
    with pytest.raises(MXNetError, match="ctx"):
        nd._internal._zeros(shape=(2,), ctx="tpu(0)")
    with pytest.raises(MXNetError, match="value"):
        nd._internal._full(shape=(2,))
    with pytest.raises(MXNetError, match="repeat"):
        nd.arange(0, 3, repeat=0)
