"""``mx.sym``: the symbolic API (MXNet's ``mxnet.symbol``) — every registered operator as a
Symbol constructor, plus ``var``, ``Group``, ``load`` and ``load_json``."""
from __future__ import annotations

from ..ops import REGISTRY as _REGISTRY, generated_modules as _generated_modules
from .symbol import Symbol, var, Variable, Group, load, load_json  # noqa: F401
from .register import make_function as _make_function, create as _create


def zeros(shape, dtype=None, **kwargs):
    """A Symbol of zeros of ``shape``."""
    return _create("_zeros", [], dict(kwargs, shape=shape, dtype=dtype or "float32"))


def ones(shape, dtype=None, **kwargs):
    """A Symbol of ones of ``shape``."""
    return _create("_ones", [], dict(kwargs, shape=shape, dtype=dtype or "float32"))


def full(shape, val, dtype=None, **kwargs):
    """A Symbol filled with ``val``."""
    return _create("_full", [], dict(kwargs, shape=shape, value=val, dtype=dtype or "float32"))


def arange(start, stop=None, step=1.0, repeat=1, infer_range=False, name=None, dtype=None):
    """Evenly spaced values as a Symbol."""
    return _create("_arange", [], dict(start=start, stop=stop, step=step, repeat=repeat,
                                       dtype=dtype or "float32"), name=name)


def _scalar_aware(bname, sname, rsname, pyop):
    def fn(left, right):
        if isinstance(left, Symbol) and isinstance(right, Symbol):
            return _create(bname, [left, right], {})
        if isinstance(left, Symbol):
            return _create(sname, [left], {"scalar": float(right)})
        if isinstance(right, Symbol):
            return _create(rsname, [right], {"scalar": float(left)})
        return pyop(left, right)
    fn.__name__ = bname
    return fn


maximum = _scalar_aware("_Maximum", "_MaximumScalar", "_MaximumScalar", max)
minimum = _scalar_aware("_Minimum", "_MinimumScalar", "_MinimumScalar", min)
pow = _scalar_aware("_Power", "_PowerScalar", "_RPowerScalar", lambda a, b: a ** b)
power = pow
hypot = _scalar_aware("_Hypot", "_HypotScalar", "_HypotScalar",
                      lambda a, b: (a * a + b * b) ** 0.5)

_HELPERS = set(globals())
_public, op, _internal, image = _generated_modules("gluonlite.symbol",
                                                   lambda name, o: _make_function(name))
globals().update({k: v for k, v in _public.items() if k not in _HELPERS})
del _public


def _install_methods():
    from ..ndarray import _METHODS
    for meth, opname in _METHODS.items():
        if opname in _REGISTRY and not hasattr(Symbol, meth):
            fn = _make_function(opname)

            def method(self, *args, _fn=fn, **kwargs):
                return _fn(self, *args, **kwargs)

            method.__name__ = meth
            setattr(Symbol, meth, method)


_install_methods()
