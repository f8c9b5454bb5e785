"""Activation layers (MXNet 1.9.1's ``gluon.nn.activations``): ``Activation``, ``LeakyReLU``,
``PReLU``, ``ELU``, ``SELU``, ``GELU`` and ``Swish``.

Each is a HybridBlock whose ``hybrid_forward`` calls the registered ``Activation`` /
``LeakyReLU`` / ``sigmoid`` operators exactly as MXNet's layers do, so numbers (MXNet's
gradient quirks included, e.g. SELU's) and parameter names (``prelu0_alpha``) match.

This module also holds the small argument checks shared by the other layer modules
(``basic_layers``, ``conv_layers``): a bad constructor argument is reported at construction
time, naming the layer, the argument and what was expected.
"""
from __future__ import annotations

import numbers

import numpy as np

from ... import initializer
from ...base import np_dtype
from ...ops import get_op
from ..block import HybridBlock

__all__ = ["Activation", "LeakyReLU", "PReLU", "ELU", "SELU", "Swish", "GELU"]


# --- argument checks shared by the layer modules ----------------------------------------------
class LayerArgumentError(ValueError, AssertionError):
    """A layer constructor argument has a bad value.

    It is a ``ValueError`` and, because MXNet checks these arguments with ``assert``, also an
    ``AssertionError``: code written against either keeps working.
    """


def _is_int(v):
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_int(layer, name, value, minimum=None):
    """``value`` as an int, checking its type and that it is at least ``minimum``."""
    if not _is_int(value):
        raise TypeError(f"{layer}: {name} must be an int, got {value!r} "
                        f"({type(value).__name__})")
    if minimum is not None and value < minimum:
        what = {0: "non-negative", 1: "positive"}.get(minimum, f">= {minimum}")
        raise LayerArgumentError(f"{layer}: {name} must be {what}, got {value}")
    return int(value)


def _check_number(layer, name, value, lo=None, hi=None, lo_open=False):
    """``value`` as a float in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    if not isinstance(value, (numbers.Real, np.floating, np.integer)) or \
            isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{layer}: {name} must be a number, got {value!r} "
                        f"({type(value).__name__})")
    v = float(value)
    if np.isnan(v) or (lo is not None and (v <= lo if lo_open else v < lo)) or \
            (hi is not None and v > hi):
        lb = "(" if lo_open else "["
        rng = f"{lb}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
        raise LayerArgumentError(f"{layer}: {name} must lie in {rng}, got {value}")
    return v


def _check_bool(layer, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{layer}: {name} must be True or False, got {value!r}")
    return bool(value)


def _check_init(layer, name, init):
    """An initializer argument: None, an initializer's name, or an Initializer (any callable
    taking ``(desc, arr)``, such as ``init.Mixed``/``init.Load``)."""
    if init is None or isinstance(init, (str, initializer.Initializer)) or callable(init):
        return init
    raise TypeError(f"{layer}: {name} must be None, an initializer name such as 'zeros' or "
                    f"an Initializer, got {init!r} ({type(init).__name__})")


def _check_dtype(layer, name, dtype):
    """Check that ``dtype`` names a floating point dtype (returned unchanged, as MXNet keeps
    it for reprs)."""
    dt = np_dtype(dtype, arg=f"{layer}: {name}")
    if dt.kind != "f":
        raise TypeError(f"{layer}: {name} must be a floating point dtype, got {dt.name}")
    return dtype


def _check_tuple(layer, name, value, n, minimum):
    """A per-dimension argument: an int (repeated ``n`` times, as a tuple) or a tuple/list of
    ``n`` ints each >= ``minimum``. A tuple or list is returned as given (MXNet shows it
    as given in reprs)."""
    if _is_int(value):
        _check_int(layer, name, value, minimum)
        return (int(value),) * n
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{layer}: {name} must be an int or a tuple of {n} int(s), got "
                        f"{value!r} ({type(value).__name__})")
    if len(value) != n:
        raise LayerArgumentError(f"{layer}: {name} must be a number or a list of {n} ints, "
                                 f"got {value!r}")
    for v in value:
        if not _is_int(v):
            raise TypeError(f"{layer}: every entry of {name} must be an int, got {value!r}")
        if v < minimum:
            what = {0: "non-negative", 1: "positive"}.get(minimum, f">= {minimum}")
            raise LayerArgumentError(f"{layer}: every entry of {name} must be {what}, got "
                                     f"{value!r}")
    return value


def _check_choice(layer, name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise LayerArgumentError(f"{layer}: {name} must be one of {list(choices)}, got "
                                 f"{value!r}")
    return value


def _activation_types():
    return tuple(get_op("Activation").attr_specs["act_type"].type.choices)


# --- layers -----------------------------------------------------------------------------------
class Activation(HybridBlock):
    """Applies an activation function to the input (MXNet's ``nn.Activation``).

    Parameters
    ----------
    activation : str
        Name of the activation function: ``'relu'``, ``'sigmoid'``, ``'tanh'``,
        ``'softrelu'`` or ``'softsign'`` (the ``act_type`` of the ``Activation`` operator).

    The block's name is the activation's (``relu0_``, ...), as in MXNet.

    Inputs: **data** of any shape. Outputs: **out** of the same shape.
    """

    def __init__(self, activation, prefix=None, params=None):
        _check_choice("Activation", "activation", activation, _activation_types())
        self._act_type = activation
        super().__init__(prefix=prefix, params=params)

    def _alias(self):
        return self._act_type

    def hybrid_forward(self, F, x):
        return F.Activation(x, act_type=self._act_type, name="fwd")

    def __repr__(self):
        return f"{type(self).__name__}({self._act_type})"


class LeakyReLU(HybridBlock):
    r"""Leaky rectified linear unit (MXNet's ``nn.LeakyReLU``): ``alpha * x`` for ``x < 0``,
    ``x`` otherwise.

    Parameters
    ----------
    alpha : float
        Slope for the negative half axis; must be >= 0.

    Inputs: **data** of any shape. Outputs: **out** of the same shape.
    """

    def __init__(self, alpha, prefix=None, params=None):
        _check_number("LeakyReLU", "alpha", alpha, lo=0)
        super().__init__(prefix=prefix, params=params)
        self._alpha = alpha

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="leaky", slope=self._alpha, name="fwd")

    def __repr__(self):
        return f"{type(self).__name__}({self._alpha})"


class PReLU(HybridBlock):
    r"""Parametric leaky ReLU (MXNet's ``nn.PReLU``): ``alpha * x`` for ``x < 0`` with a
    learned ``alpha``.

    Parameters
    ----------
    alpha_initializer : Initializer, default ``Constant(0.25)``
        Initializer of ``alpha``.
    in_channels : int, default 1
        Number of ``alpha`` values: 1 (shared) or the size of the input's axis 1.

    The parameter is ``<prefix>alpha`` of shape ``(in_channels,)``.

    Inputs: **data** of any shape. Outputs: **out** of the same shape.
    """

    def __init__(self, alpha_initializer=initializer.Constant(0.25), in_channels=1,
                 prefix=None, params=None):
        _check_init("PReLU", "alpha_initializer", alpha_initializer)
        _check_int("PReLU", "in_channels", in_channels, 1)
        super().__init__(prefix=prefix, params=params)
        with self.name_scope():
            self.alpha = self.params.get("alpha", shape=(in_channels,), init=alpha_initializer)

    def hybrid_forward(self, F, x, alpha):
        return F.LeakyReLU(x, gamma=alpha, act_type="prelu", name="fwd")


class ELU(HybridBlock):
    r"""Exponential linear unit (MXNet's ``nn.ELU``, Clevert et al. 2016):
    ``alpha * (exp(x) - 1)`` for ``x <= 0``, ``x`` otherwise.

    Parameters
    ----------
    alpha : float, default 1.0

    Inputs: **data** of any shape. Outputs: **out** of the same shape.
    """

    def __init__(self, alpha=1.0, prefix=None, params=None):
        _check_number("ELU", "alpha", alpha)
        super().__init__(prefix=prefix, params=params)
        self._alpha = alpha

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="elu", slope=self._alpha)


class SELU(HybridBlock):
    r"""Scaled exponential linear unit (MXNet's ``nn.SELU``, Klambauer et al. 2017), with
    MXNet 1.9.1's gradient.

    Inputs: **data** of any shape. Outputs: **out** of the same shape.
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="selu", name="fwd")


class GELU(HybridBlock):
    r"""Gaussian error linear unit (MXNet's ``nn.GELU``, Hendrycks et al. 2016), the exact
    ``0.5 * x * (1 + erf(x / sqrt(2)))`` form.

    Inputs: **data** of any shape. Outputs: **out** of the same shape.
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="gelu", name="fwd")


class Swish(HybridBlock):
    r"""Swish activation (MXNet's ``nn.Swish``): ``x * sigmoid(beta * x)``.

    Parameters
    ----------
    beta : float, default 1.0

    Inputs: **data** of any shape. Outputs: **out** of the same shape.
    """

    def __init__(self, beta=1.0, prefix=None, params=None):
        _check_number("Swish", "beta", beta)
        super().__init__(prefix=prefix, params=params)
        self._beta = beta

    def hybrid_forward(self, F, x):
        return x * F.sigmoid(self._beta * x, name="fwd")
