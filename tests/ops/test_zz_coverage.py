"""Runs after the other operator tests (file order): every registered operator must have
been through ``check_op``, every differentiable one through its gradient check, and every
one with a compiler lowering through ``check_lowering`` (``tests/compiler`` runs first and
checks the lowerings of the operators ``check_op`` does not run).

Operators checked another way are listed in EXEMPT with the reason and the test that
covers them.
"""
import numpy as np

from gluonlite.ops import all_ops, ZERO_GRAD

from .opcheck import COVERED, COVERED_GRAD, COVERED_LOWER, check_lowering

# operator name -> where/how it is tested instead
EXEMPT = {
    "_unreduce": "gradient of every reduction (tests/ops/test_reduce.py); its own gradient "
                 "by the second-order checks in tests/test_autograd.py",
    "_reduce_sum_like": "gradient of every broadcast op; second order in tests/test_autograd.py",
    "_reduce_count": "constant helper of mean's second-order gradient (tests/test_autograd.py)",
    "_backward_index": "gradient of _index (tests/ndarray/test_indexing.py)",
    "_digamma": "gradient of gamma/gammaln (tests/ops/test_elemwise.py)",
    "_cast_like": "gradient of Cast (tests/ops/test_shape.py)",
    "_copyto": "NDArray.copyto/as_in_context (tests/ndarray/test_ndarray.py)",
}


def test_lowerings_of_exempt_operators():
    # check_op never runs the EXEMPT operators, so their lowerings are compared with their
    # forwards here (tests/compiler/test_lower.py does too): tests/ops passes on its own
    rng = np.random.RandomState(5)
    like = rng.randn(4, 5, 3)
    check_lowering("_unreduce", [rng.randn(4, 3), like], {"axis": 1})
    check_lowering("_unreduce", [rng.randn(4, 1, 3), like],
                   {"axis": 1, "keepdims": True, "mean": True})
    check_lowering("_cast_like", [rng.randn(3, 2).astype(np.float32), rng.randn(2)])
    check_lowering("_cast_like", [rng.randn(3, 2), rng.randn(2).astype(np.float32)])


def test_every_operator_is_checked():
    missing = sorted(op.name for op in all_ops()
                     if op.name not in COVERED and op.name not in EXEMPT)
    assert not missing, f"operators never run through check_op: {missing}"


def test_every_differentiable_operator_has_a_gradient_check():
    missing = sorted(op.name for op in all_ops()
                     if op.grad_fn is not None and op.grad_fn is not ZERO_GRAD
                     and op.name not in COVERED_GRAD and op.name not in EXEMPT)
    assert not missing, f"differentiable operators without a numerical gradient check: {missing}"


def test_every_lowering_is_checked_against_its_forward():
    missing = sorted(op.name for op in all_ops()
                     if op.lower is not None and op.name not in COVERED_LOWER)
    assert not missing, f"operators whose lowering was never compared to the forward: {missing}"
