"""``mx.nd``: NDArray and every registered operator as a function (MXNet's ``mxnet.ndarray``).

The operator functions are generated from the registry (:mod:`gluonlite.ops`); operators
whose MXNet name starts with an underscore live in ``nd._internal``.
"""
from __future__ import annotations

from ..unsupported import namespace_getattr as _namespace_getattr

from ..ops import REGISTRY as _REGISTRY, generated_modules as _generated_modules
from ..ops.extra import split_v2_attrs as _split_v2_attrs
from .ndarray import NDArray, invoke, array, empty  # noqa: F401
from .register import make_function as _make_function
from .creation import (zeros, ones, full, arange, linspace, eye, concatenate,  # noqa: F401
                       moveaxis, waitall)
from .arith import (add, subtract, multiply, divide, true_divide, modulo, power,  # noqa: F401
                    maximum, minimum, hypot, equal, not_equal, greater, greater_equal,
                    lesser, lesser_equal, logical_and, logical_or, logical_xor)

from . import random  # noqa: F401,E402
from . import contrib  # noqa: F401,E402
from . import sparse  # noqa: F401,E402
from . import linalg  # noqa: F401,E402
from .functions import (cast_storage, reset_arrays, histogram,  # noqa: F401,E402
                           onehot_encode, from_numpy, to_dlpack_for_read,
                           to_dlpack_for_write, from_dlpack)
from .serialization import *  # noqa: F401,F403,E402


def split_v2(ary, indices_or_sections, axis=0, squeeze_axis=False):
    """Split ``ary`` along ``axis`` into ``indices_or_sections`` equal pieces (an int) or at
    the given indices (a tuple), as MXNet's ``split_v2``; ``squeeze_axis`` drops the axis
    from size-1 pieces."""
    attrs = _split_v2_attrs(indices_or_sections)
    return _make_function(_REGISTRY["_split_v2"])(ary, axis=axis, squeeze_axis=squeeze_axis,
                                                  **attrs)


_HELPERS = set(globals())
_public, op, _internal, image = _generated_modules("gluonlite.ndarray",
                                                   lambda name, o: _make_function(o))
globals().update({k: v for k, v in _public.items() if k not in _HELPERS})
del _public


def nag_mom_update(*args, out=None, **kwargs):
    """MXNet's ``nag_mom_update`` (Nesterov momentum step; ``mom`` is updated in place).
    With ``out=`` the weight itself, MXNet's kernel overwrites the weight before it computes
    the momentum from it; ``_nag_mom_update_inplace`` does the same."""
    weight = args[0] if args else kwargs.get("weight")
    if out is not None and out is weight:
        return _internal._nag_mom_update_inplace(*args, out=out, **kwargs)
    return op.nag_mom_update(*args, out=out, **kwargs)

# NDArray methods that call the operator of the same name with the array as first input
_METHODS = {
    "zeros_like": "zeros_like", "ones_like": "ones_like", "broadcast_axes": "broadcast_axis",
    "broadcast_to": "broadcast_to", "broadcast_like": "broadcast_like",
    "reshape_like": "reshape_like", "repeat": "repeat", "pad": "pad", "swapaxes": "swapaxes",
    "split": "split", "slice": "slice", "slice_axis": "slice_axis", "slice_like": "slice_like",
    "take": "take", "one_hot": "one_hot", "pick": "pick", "sort": "sort", "topk": "topk",
    "argsort": "argsort", "argmax": "argmax", "argmax_channel": "argmax_channel",
    "argmin": "argmin", "clip": "clip", "abs": "abs", "sign": "sign", "flatten": "Flatten",
    "shape_array": "shape_array", "size_array": "size_array", "expand_dims": "expand_dims",
    "tile": "tile", "transpose": "transpose", "flip": "flip", "sum": "sum", "nansum": "nansum",
    "prod": "prod", "nanprod": "nanprod", "mean": "mean", "max": "max", "min": "min",
    "norm": "norm", "round": "round", "rint": "rint", "fix": "fix", "floor": "floor",
    "ceil": "ceil", "trunc": "trunc", "sin": "sin", "cos": "cos", "tan": "tan",
    "arcsin": "arcsin", "arccos": "arccos", "arctan": "arctan", "degrees": "degrees",
    "radians": "radians", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "arcsinh": "arcsinh",
    "arccosh": "arccosh", "arctanh": "arctanh", "exp": "exp", "expm1": "expm1", "log": "log",
    "log10": "log10", "log2": "log2", "log1p": "log1p", "sqrt": "sqrt", "rsqrt": "rsqrt",
    "cbrt": "cbrt", "rcbrt": "rcbrt", "square": "square", "reciprocal": "reciprocal",
    "relu": "relu", "sigmoid": "sigmoid", "softmax": "softmax", "log_softmax": "log_softmax",
    "squeeze": "squeeze",
}


def _method(opname):
    fn = _make_function(_REGISTRY[opname])

    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    method.__name__ = opname
    method.__doc__ = fn.__doc__
    return method


def _install_methods():
    for meth, opname in _METHODS.items():
        if opname in _REGISTRY and not hasattr(NDArray, meth):
            setattr(NDArray, meth, _method(opname))


_install_methods()


# names MXNet has and gluonlite lacks fail naming the reason (gluonlite/unsupported.py)
__getattr__ = _namespace_getattr("nd", __name__)
