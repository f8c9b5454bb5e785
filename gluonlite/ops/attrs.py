"""Operator attribute types: parse Python values or MXNet's attribute strings, dump back.

An operator declares its attributes as keyword-only parameters of its forward function,
annotated with one of these types, e.g. ``axis: OptShape = None``. The same parser reads
``sum(x, axis=1)`` from Python and ``"axis": "(1,)"`` from an MXNet ``-symbol.json``;
``dump`` writes the string MXNet itself writes.
"""
from __future__ import annotations

import ast

__all__ = ["AttrType", "Int", "Float", "Bool", "Str", "Enum", "Shape", "OptShape", "OptInt",
           "OptFloat", "DType", "OptDType", "AnyAttr", "Any_", "IntOrShape", "OptEnum",
           "FloatShape", "Ctx", "OptBool", "literal", "brief_repr"]


class AttrType:
    """Base class: ``parse(value)`` returns the canonical value or raises ValueError."""

    kind = "any"

    def parse(self, v):
        raise NotImplementedError

    def dump(self, v) -> str:
        return str(v)

    def __repr__(self):
        return self.kind


def _is_none(v):
    return v is None or (isinstance(v, str) and v.strip() in ("None", "none", ""))


def _is_intlike(v):
    import numbers
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


class _OrNone:
    """Mixin of the ``... or None`` types: None (or the string ``'None'``) is a value of its
    own, meaning the operator's default behaviour; anything else is the base type's."""

    def parse(self, v):
        if _is_none(v):
            return None
        return super().parse(v)

    def dump(self, v):
        return "None" if v is None else super().dump(v)


class _Int(AttrType):
    kind = "int"

    def parse(self, v):
        if _is_intlike(v):
            return int(v)
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, str):
            try:
                return int(v.strip())
            except ValueError:
                try:
                    f = float(v)
                except ValueError:
                    pass
                else:
                    if f.is_integer():
                        return int(f)
        if hasattr(v, "dtype") and getattr(v, "shape", None) == () and v.dtype.kind in "iu":
            return int(v)
        raise ValueError(f"expected an int, got {v!r}")


class _Float(AttrType):
    kind = "float"

    def parse(self, v):
        import numbers
        if isinstance(v, numbers.Real) and not isinstance(v, bool):
            return float(v)
        if isinstance(v, str):
            try:
                return float(v.strip())
            except ValueError:
                pass
        if hasattr(v, "dtype") and getattr(v, "shape", None) == ():
            return float(v)
        raise ValueError(f"expected a float, got {v!r}")

    def dump(self, v):
        return repr(float(v))


class _Bool(AttrType):
    kind = "boolean"

    def parse(self, v):
        if isinstance(v, bool):
            return v
        if _is_intlike(v) and int(v) in (0, 1):
            return bool(v)
        if isinstance(v, str):
            s = v.strip().lower()
            if s in ("true", "1"):
                return True
            if s in ("false", "0"):
                return False
        if type(v).__name__ == "bool_":
            return bool(v)
        raise ValueError(f"expected a boolean, got {v!r}")

    def dump(self, v):
        return "True" if v else "False"


class _Str(AttrType):
    kind = "string"

    def parse(self, v):
        if isinstance(v, str):
            return v
        raise ValueError(f"expected a string, got {v!r}")


class _OptBool(_OrNone, _Bool):
    """A boolean that may also be None (MXNet's ``boolean or None``), None meaning "the
    operator's default behaviour"."""

    kind = "boolean or None"


class Enum(AttrType):
    """One of a fixed set of strings, e.g. ``Enum('max', 'avg', 'sum', 'lp')``."""

    def __init__(self, *choices):
        self.choices = tuple(choices)
        self.kind = "{" + ", ".join(repr(c) for c in choices) + "}"

    def parse(self, v):
        if isinstance(v, str) and v in self.choices:
            return v
        raise ValueError(f"expected one of {', '.join(repr(c) for c in self.choices)}, got {v!r}")


class OptEnum(_OrNone, Enum):
    """An :class:`Enum` that also accepts None."""


# Attribute strings come from -symbol.json files too; longer ones are not a tuple anyone
# wrote, and parsing them would only cost time.
_MAX_LITERAL = 1 << 16


def brief_repr(v, n=80):
    """``repr(v)`` cut to about ``n`` characters, for error messages about file content."""
    r = repr(v)
    return r if len(r) <= n else f"{r[:n]}... ({len(r)} characters)"


def literal(s, what):
    """``ast.literal_eval`` of an attribute string (a tuple such as ``"(2, 3)"``), with
    every failure a ``ValueError`` saying ``expected <what>``.

    ``literal_eval`` itself raises SyntaxError, RecursionError or MemoryError on deeply
    nested or malformed text (crafted ``-symbol.json`` files); those are bad values here,
    not crashes. It evaluates literals only, never code.
    """
    if not isinstance(s, str):
        raise ValueError(f"expected {what}, got {brief_repr(s)}")
    if len(s) > _MAX_LITERAL:
        raise ValueError(f"expected {what}, got a string of {len(s)} characters")
    try:
        return ast.literal_eval(s.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError(f"expected {what}, got {brief_repr(s)}") from None


def _parse_tuple(v, elem, what):
    if isinstance(v, str):
        if not v.strip():
            return ()
        v = literal(v, what)
    if isinstance(v, (list, tuple)):
        try:
            return tuple(elem(x) for x in v)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"expected {what}, got {brief_repr(v)}") from None
    try:
        return (elem(v),)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"expected {what}, got {brief_repr(v)}") from None


def _strict_int(x):
    if _is_intlike(x):
        return int(x)
    if isinstance(x, float) and x.is_integer():
        return int(x)
    raise ValueError(x)


class _Shape(AttrType):
    kind = "Shape(tuple)"

    def parse(self, v):
        if v is None:
            raise ValueError("expected a shape tuple, got None")
        return _parse_tuple(v, _strict_int, "a tuple of ints")

    def dump(self, v):
        return str(tuple(v))


class _OptShape(_OrNone, _Shape):
    kind = "Shape or None"


class _IntOrShape(_Shape):
    """An int or a tuple of ints, kept as given (``axis`` of ``expand_dims`` is an int)."""

    kind = "int or Shape(tuple)"

    def parse(self, v):
        if _is_intlike(v):
            return int(v)
        if isinstance(v, str):
            try:
                return int(v)
            except ValueError:
                pass
        t = super().parse(v)
        return t


class _FloatShape(AttrType):
    kind = "tuple of floats"

    def parse(self, v):
        return _parse_tuple(v, float, "a tuple of floats")

    def dump(self, v):
        return str(tuple(v))


class _OptInt(_OrNone, _Int):
    kind = "int or None"


class _OptFloat(_OrNone, _Float):
    kind = "float or None"


class _DType(AttrType):
    kind = "dtype"

    def parse(self, v):
        from ..base import np_dtype
        try:
            return np_dtype(v).name
        except TypeError as e:
            raise ValueError(str(e).split(": ", 1)[-1]) from None


class _OptDType(_OrNone, _DType):
    kind = "dtype or None"


class AnyAttr(AttrType):
    """A Python value passed through unchanged (internal operators only)."""

    kind = "any"

    def parse(self, v):
        return v

    def dump(self, v):
        raise ValueError("this attribute holds a Python object and cannot be serialised")


class _Ctx(AttrType):
    """A device: a Context or its string form ``'cpu(0)'``."""

    kind = "Context"

    def parse(self, v):
        from ..context import Context
        if isinstance(v, Context):
            return v
        if isinstance(v, str):
            import re
            m = re.fullmatch(r"\s*(cpu|gpu|cpu_pinned|cpu_shared)\((\d+)\)\s*", v)
            if m:
                return Context(m.group(1), int(m.group(2)))
        raise ValueError(f"expected a Context such as mx.cpu(0), got {v!r}")


Int = _Int()
Float = _Float()
Bool = _Bool()
OptBool = _OptBool()
Str = _Str()
Shape = _Shape()
OptShape = _OptShape()
IntOrShape = _IntOrShape()
FloatShape = _FloatShape()
OptInt = _OptInt()
OptFloat = _OptFloat()
DType = _DType()
OptDType = _OptDType()
Any_ = AnyAttr()
Ctx = _Ctx()
