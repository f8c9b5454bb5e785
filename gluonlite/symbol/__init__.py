"""``mx.sym``: the symbolic API (MXNet's ``mxnet.symbol``) — every registered operator as a
Symbol constructor, plus ``var``, ``Group``, ``load`` and ``load_json``."""
from __future__ import annotations

from ..unsupported import namespace_getattr as _namespace_getattr

from ..ops import REGISTRY as _REGISTRY, generated_modules as _generated_modules
from ..ops.extra import split_v2_attrs as _split_v2_attrs
from .symbol import Symbol, var, Variable, Group, load, load_json  # noqa: F401
from .register import make_function as _make_function, create as _create
from . import contrib  # noqa: F401
from . import linalg  # noqa: F401
from . import random  # noqa: F401
from . import sparse  # noqa: F401
from .functions import cast_storage, histogram  # noqa: F401


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


def eye(N, M=0, k=0, dtype=None, **kwargs):
    """A 2-D Symbol with ones on diagonal ``k`` (``N`` rows, ``M`` columns; 0 means N)."""
    return _create("_eye", [], dict(kwargs, N=N, M=M, k=k, dtype=dtype or "float32"))


def linspace(start, stop, num, endpoint=True, name=None, dtype=None):
    """``num`` evenly spaced values from ``start`` to ``stop`` as a Symbol."""
    return _create("_linspace", [], dict(start=start, stop=stop, num=num, endpoint=endpoint,
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


def split_v2(ary, indices_or_sections, axis=0, squeeze_axis=False):
    """Split ``ary`` along ``axis`` into ``indices_or_sections`` equal pieces (an int) or at
    the given indices (a tuple), as MXNet's ``split_v2``; ``squeeze_axis`` drops the axis
    from size-1 pieces."""
    attrs = _split_v2_attrs(indices_or_sections)
    return _create("_split_v2", [ary], dict(attrs, axis=axis,
                                           squeeze_axis=squeeze_axis))


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


# names MXNet has and gluonlite lacks fail naming the reason (gluonlite/unsupported.py)
__getattr__ = _namespace_getattr("sym", __name__)
