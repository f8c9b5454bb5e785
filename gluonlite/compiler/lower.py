"""Lowering: an equation with known shapes and dtypes becomes one Python expression.

An operator may declare ``@op.lowering``, a function ``(L, attrs, ins, outs) -> str | None``
returning the expression that computes its output(s) from inputs written ``{0}``, ``{1}``,
... (``str.format`` fields, so literal braces are doubled), or a :class:`Writes` statement
that fills output arrays it is given (so the memory plan decides where results live). It runs
at compile time, when every shape and dtype is known, so the expression contains no checks and
no run-time
choices: ``FullyConnected`` of a ``(16, 784)`` batch becomes one GEMM in the order BLAS
runs fastest, ``sum(axis=-1)`` a call with the axis already normalised. Returning None keeps
the generic call of the operator's forward for that equation.

``L`` (a :class:`Lowering`) gives the names the expression may use: ``L.xp`` (the array
module), ``L.bind(value)`` (any Python object, bound as a global of the generated code),
``L.scalar(value, dtype)`` (a scalar of exactly that dtype), ``L.cpu`` (whether the
code runs on NumPy) and ``L.writes(text)`` (a statement filling the outputs ``{o0}``...).
The generated function's ``rt`` argument is in scope too.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Lowering", "Writes", "lower"]


class Writes(str):
    """A lowering that writes into its outputs instead of returning them: a statement with
    ``{0}``, ``{1}``, ... for the inputs and ``{o0}``, ``{o1}``, ... for the output arrays,
    which the code generator supplies (from the memory plan, or freshly allocated).
    ``inplace`` says an output may share the buffer of an input of its shape that dies at
    this equation (true for elementwise kernels, which read each element before writing
    it; false for a GEMM)."""

    inplace = False

    def __new__(cls, text: str, inplace: bool = False):
        self = super().__new__(cls, text)
        self.inplace = inplace
        return self


class Lowering:
    """What a lowering function may use to write its expression (see the module doc)."""

    xp = "xp"

    def __init__(self, env: dict, rt):
        self.env = env
        self.rt = rt
        env.setdefault("xp", rt.xp)
        self.cpu = rt.xp is np
        self._bound = {}

    def bind(self, value, hint: str = "K") -> str:
        """A global name for ``value`` in the generated code (each object bound once)."""
        key = id(value)
        name = self._bound.get(key)
        if name is None:
            name = f"{hint}{len(self.env)}"
            self.env[name] = value
            self._bound[key] = name
        return name

    def scalar(self, value, dtype) -> str:
        """A name for ``value`` converted to ``dtype`` (as ``np.dtype(dtype).type(value)``)."""
        return self.bind(np.dtype(dtype).type(value), "S")

    def writes(self, text: str, inplace: bool = False) -> "Writes":
        """A :class:`Writes` statement (operators build it here, not importing the
        compiler)."""
        return Writes(text, inplace)

    def dtype(self, dtype) -> str:
        """A name for the dtype ``dtype``."""
        return self.bind(np.dtype(dtype), "D")


def lower(L: Lowering, eqn):
    """The expression of ``eqn`` (with ``{i}`` fields for its inputs), or None."""
    fn = eqn.op.lower
    if fn is None:
        return None
    if any(v.shape is None or v.dtype is None for v in list(eqn.ins) + list(eqn.outs)):
        return None
    return fn(L, eqn.attrs, eqn.ins, eqn.outs)
