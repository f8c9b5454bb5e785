"""``nd.add``, ``nd.maximum``, ``nd.equal``, ...: binary functions taking NDArrays or scalars.

As MXNet's ``_ufunc_helper``: two arrays use the broadcasting operator, an array and a
scalar the scalar operator (reversed where the scalar comes first), two scalars plain
Python arithmetic.
"""
from __future__ import annotations

import operator

import numpy as np

from .ndarray import NDArray, invoke, _numpy_operand
from ..ops import get_op

__all__ = ["add", "subtract", "multiply", "divide", "true_divide", "modulo", "power",
           "maximum", "minimum", "hypot", "equal", "not_equal", "greater", "greater_equal",
           "lesser", "lesser_equal", "logical_and", "logical_or", "logical_xor"]

_NUM = (int, float, np.generic)


def _helper(name, lhs, rhs, bop, sop, rsop, pyop):
    # a NumPy array beside an NDArray is taken as an NDArray on its context and of its
    # dtype, as the arithmetic operators do
    if isinstance(lhs, NDArray) and isinstance(rhs, np.ndarray) and not isinstance(rhs, NDArray):
        rhs = _numpy_operand(lhs, rhs, name)
    elif isinstance(rhs, NDArray) and isinstance(lhs, np.ndarray):
        lhs = _numpy_operand(rhs, lhs, name)
    if isinstance(lhs, NDArray):
        if isinstance(rhs, NDArray):
            return invoke(get_op(bop), [lhs, rhs], {})
        if isinstance(rhs, _NUM):
            return invoke(get_op(sop), [lhs], {"scalar": float(rhs)})
    elif isinstance(lhs, _NUM):
        if isinstance(rhs, NDArray):
            return invoke(get_op(rsop), [rhs], {"scalar": float(lhs)})
        if isinstance(rhs, _NUM):
            return pyop(lhs, rhs)
    raise TypeError(f"{name}: expected NDArrays or numbers, got {type(lhs).__name__} and "
                    f"{type(rhs).__name__}; a NumPy array is accepted beside an NDArray "
                    f"(convert two NumPy arrays with nd.array(x))")


def _make(name, base, pyop, rsop=None, commutative=False):
    sop = f"_{base}_scalar"
    rs = sop if commutative else (rsop or sop)

    def fn(lhs, rhs):
        return _helper(name, lhs, rhs, f"broadcast_{base}", sop, rs, pyop)

    fn.__name__ = name
    fn.__doc__ = (f"Elementwise {base} of ``lhs`` and ``rhs`` (NDArrays with broadcasting, "
                  "or scalars), as MXNet's ``nd.{name}``.")
    return fn


add = _make("add", "plus", operator.add, commutative=True)
subtract = _make("subtract", "minus", operator.sub, rsop="_rminus_scalar")
multiply = _make("multiply", "mul", operator.mul, commutative=True)
divide = _make("divide", "div", operator.truediv, rsop="_rdiv_scalar")
true_divide = divide
modulo = _make("modulo", "mod", operator.mod, rsop="_rmod_scalar")
power = _make("power", "power", operator.pow, rsop="_rpower_scalar")
maximum = _make("maximum", "maximum", max, commutative=True)
minimum = _make("minimum", "minimum", min, commutative=True)
hypot = _make("hypot", "hypot", lambda a, b: float(np.hypot(a, b)), commutative=True)
equal = _make("equal", "equal", lambda a, b: float(a == b), commutative=True)
not_equal = _make("not_equal", "not_equal", lambda a, b: float(a != b), commutative=True)
greater = _make("greater", "greater", lambda a, b: float(a > b), rsop="_lesser_scalar")
greater_equal = _make("greater_equal", "greater_equal", lambda a, b: float(a >= b),
                      rsop="_lesser_equal_scalar")
lesser = _make("lesser", "lesser", lambda a, b: float(a < b), rsop="_greater_scalar")
lesser_equal = _make("lesser_equal", "lesser_equal", lambda a, b: float(a <= b),
                     rsop="_greater_equal_scalar")
logical_and = _make("logical_and", "logical_and", lambda a, b: float(bool(a) and bool(b)),
                    commutative=True)
logical_or = _make("logical_or", "logical_or", lambda a, b: float(bool(a) or bool(b)),
                   commutative=True)
logical_xor = _make("logical_xor", "logical_xor", lambda a, b: float(bool(a) != bool(b)),
                    commutative=True)
