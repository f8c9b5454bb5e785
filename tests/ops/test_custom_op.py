"""The ``Custom`` operator and ``_backward_Custom`` through the standard operator checks
(shape/dtype rules from the prop, float32 vs float64, finite-difference gradients through
the user's ``backward``). The user-facing API (``mx.operator``) is tested in
``tests/test_operator.py``."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite.base import MXNetError
from gluonlite.ops import get_op

from .opcheck import check_op


class _ScaledMul(mx.operator.CustomOp):
    """out0 = a * b * scale, out1 = sin(a); counts training forwards in its aux state."""

    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def forward(self, is_train, req, in_data, out_data, aux):
        a, b = in_data
        self.assign(out_data[0], req[0], a * b * self.scale)
        self.assign(out_data[1], req[1], mx.nd.sin(a))
        if is_train:
            aux[0][:] = aux[0] + 1

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        a, b = in_data
        g0, g1 = out_grad
        self.assign(in_grad[0], req[0], g0 * b * self.scale + g1 * mx.nd.cos(a))
        self.assign(in_grad[1], req[1], g0 * a * self.scale)


@mx.operator.register("test_ops_scaled_mul")
class _ScaledMulProp(mx.operator.CustomOpProp):
    def __init__(self, scale="1.0"):
        super().__init__(need_top_grad=True)
        self.scale = float(scale)

    def list_arguments(self):
        return ["a", "b"]

    def list_outputs(self):
        return ["prod", "sin"]

    def list_auxiliary_states(self):
        return ["count"]

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0], in_shape[0]], [(1,)]

    def create_operator(self, ctx, shapes, dtypes):
        return _ScaledMul(self.scale)


def _inputs():
    rng = np.random.RandomState(3)
    return rng.randn(3, 4), rng.randn(3, 4), np.zeros(1)


def test_custom_standard_checks():
    a, b, cnt = _inputs()
    check_op("Custom", [a, b, cnt], {"op_type": "test_ops_scaled_mul", "scale": 2.5},
             expected=lambda a, b, c: [a * b * 2.5, np.sin(a)], grad_inputs=[0, 1])


def test_backward_custom_standard_checks():
    a, b, cnt = _inputs()
    rng = np.random.RandomState(4)
    g0, g1 = rng.randn(3, 4), rng.randn(3, 4)
    outs = [a * b * 0.5, np.sin(a)]
    check_op("_backward_Custom", [g0, g1, a, b, cnt] + outs,
             {"op_type": "test_ops_scaled_mul", "scale": "0.5"},
             expected=[g0 * b * 0.5 + g1 * np.cos(a), g0 * a * 0.5])


def test_custom_rules_come_from_the_prop():
    op = get_op("Custom")
    attrs = op.parse_attrs({"op_type": "test_ops_scaled_mul", "scale": "3"})
    assert op.list_inputs(attrs) == ("a", "b", "count")
    assert op.list_outputs(attrs) == ("prod", "sin")
    assert op.aux_positions(attrs) == (2,)
    # b is unknown and the prop does not determine it: outputs stay unknown
    assert op.infer_shape(attrs, [(2, 5), None, None]) == ([(2, 5), None, (1,)],
                                                           [None, None])
    assert op.infer_shape(attrs, [(2, 5), (2, 5), None]) == ([(2, 5), (2, 5), (1,)],
                                                             [(2, 5), (2, 5)])
    assert op.infer_type(attrs, ["float32", "float32", None])[1] == ["float32", "float32"]
    assert op.dump_attrs(attrs) == {"op_type": "test_ops_scaled_mul", "scale": "3"}
    with pytest.raises(MXNetError, match="takes 3 inputs"):
        op.infer_shape(attrs, [(2, 5), (2, 5)])
