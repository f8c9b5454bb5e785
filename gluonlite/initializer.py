"""Weight initializers (MXNet's ``mx.init`` / ``mx.initializer``).

An :class:`Initializer` is called as ``init(InitDesc(name, attrs), arr)`` and fills ``arr``
in place. When the descriptor carries an explicit initializer (``attrs['__init__']``, which
Gluon sets from ``Parameter.init`` or the global initializer) that initializer's
``_init_weight`` runs; otherwise the parameter name's suffix picks the method, as in MXNet:
``*weight`` -> ``_init_weight``, ``*bias`` -> ``_init_bias`` (0), ``*gamma`` -> 1, ``*beta``
-> 0, ``*running_mean``/``*moving_mean`` -> 0, ``*running_var``/``*moving_var`` -> 1.

Custom initializers subclass :class:`Initializer` and override ``_init_weight(self, name,
arr)``; they may assign (``arr[:] = ...``) or write through ``out=arr``.
"""
from __future__ import annotations

import json
import logging
import math
import re

import numpy as np

from .base import FileFormatError

__all__ = ["InitDesc", "Initializer", "register", "alias", "create", "Load", "Mixed", "Zero",
           "One", "Constant", "Uniform", "Normal", "Orthogonal", "Xavier", "MSRAPrelu",
           "Bilinear", "LSTMBias"]

_REGISTRY: dict = {}


class InitDesc(str):
    """The name of the array being initialised, with its attributes (``attrs``) and the
    global initializer to fall back to (``global_init``)."""

    def __new__(cls, name, attrs=None, global_init=None):
        ret = super().__new__(cls, name)
        ret.attrs = attrs or {}
        ret.global_init = global_init
        return ret


def register(klass):
    """Register an Initializer subclass under its lower-case class name (for ``create``)."""
    if not (isinstance(klass, type) and issubclass(klass, Initializer)):
        raise TypeError(f"register: expected an Initializer subclass, got {klass!r}")
    _REGISTRY[klass.__name__.lower()] = klass
    return klass


def alias(*aliases):
    """Register an Initializer subclass under extra names: ``@alias('zeros')``."""

    def deco(klass):
        for a in aliases:
            _REGISTRY[a.lower()] = klass
        return klass

    return deco


def create(init, **kwargs):
    """An initializer from an instance, a registered name (``'xavier'``), or a JSON string
    as written by ``Initializer.dumps()`` (``'["normal", {"sigma": 0.5}]'``)."""
    if isinstance(init, Initializer) or callable(init) and not isinstance(init, (str, type)):
        return init
    if isinstance(init, type) and issubclass(init, Initializer):
        return init(**kwargs)
    if isinstance(init, str):
        s = init.strip()
        if s.startswith("["):
            try:
                name, kw = json.loads(s)
            except (ValueError, TypeError):
                raise ValueError(f"init: cannot parse initializer description {init!r}") from None
            return create(name, **kw)
        klass = _REGISTRY.get(s.lower())
        if klass is None:
            raise ValueError(f"init: unknown initializer {init!r}; registered: "
                             f"{sorted(_REGISTRY)}")
        return klass(**kwargs)
    raise TypeError(f"init: expected an Initializer, a name or a JSON string, got "
                    f"{type(init).__name__}")


class Initializer:
    """Base class of initializers (see the module docstring for the dispatch rules)."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._verbose = False
        self._print_func = None

    def set_verbosity(self, verbose=False, print_func=None):
        """Log every initialised array (with ``print_func(arr)``, by default its RMS)."""
        self._verbose = verbose
        if print_func is None:
            def print_func(x):
                return str(float(x.norm().asscalar()) / math.sqrt(max(x.size, 1)))
        self._print_func = print_func
        return self

    def _verbose_print(self, desc, init, arr):
        if self._verbose and self._print_func:
            logging.info("Initialized %s as %s: %s", desc, init, self._print_func(arr))

    def dumps(self) -> str:
        """JSON description ``["name", {kwargs}]`` that ``create`` reads back."""
        return json.dumps([type(self).__name__.lower(), self._kwargs])

    def __call__(self, desc, arr):
        if not isinstance(desc, InitDesc):
            desc = InitDesc(str(desc))
        if desc.global_init is None:
            desc.global_init = self
        init = desc.attrs.get("__init__", "")
        if init:
            ini = create(init)
            if isinstance(ini, Initializer):
                ini._init_weight(desc, arr)
            else:  # Mixed / Load: they pick per name
                ini(InitDesc(str(desc), global_init=desc.global_init), arr)
            self._verbose_print(desc, init, arr)
            return
        name = desc
        if name.endswith("weight"):
            self._init_weight(desc, arr)
        elif name.endswith("bias"):
            self._init_bias(desc, arr)
        elif name.endswith("gamma"):
            self._init_gamma(desc, arr)
        elif name.endswith("beta"):
            self._init_beta(desc, arr)
        elif name.endswith(("running_mean", "moving_mean", "moving_inv_var", "moving_avg",
                            "min")):
            self._init_zero(desc, arr)
        elif name.endswith(("running_var", "moving_var", "max")):
            self._init_one(desc, arr)
        else:
            self._init_default(desc, arr)
            return
        self._verbose_print(desc, name.rsplit("_", 1)[-1], arr)

    def _init_zero(self, _, arr):
        arr[:] = 0.0

    def _init_one(self, _, arr):
        arr[:] = 1.0

    def _init_bias(self, _, arr):
        arr[:] = 0.0

    def _init_gamma(self, _, arr):
        arr[:] = 1.0

    def _init_beta(self, _, arr):
        arr[:] = 0.0

    def _init_weight(self, name, arr):
        raise NotImplementedError(f"{type(self).__name__} must implement _init_weight")

    def _init_default(self, name, _):
        raise ValueError(
            f"Unknown initialization pattern for {name}. Default initialization is limited to "
            "\"weight\", \"bias\", \"gamma\" (1.0), and \"beta\" (0.0); give the parameter an "
            "init= to initialise it otherwise.")

    def __eq__(self, other):
        if not isinstance(other, Initializer):
            return NotImplemented
        return type(self) is type(other) and self._kwargs == other._kwargs

    __hash__ = object.__hash__

    def __repr__(self):
        kw = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"{type(self).__name__}({kw})"


def _nd():
    from . import ndarray
    return ndarray


@register
@alias("zeros")
class Zero(Initializer):
    """Fill with 0."""

    def _init_weight(self, _, arr):
        arr[:] = 0.0


@register
@alias("ones")
class One(Initializer):
    """Fill with 1."""

    def _init_weight(self, _, arr):
        arr[:] = 1.0


@register
class Constant(Initializer):
    """Fill with ``value`` (a scalar or an array broadcastable to the parameter)."""

    def __init__(self, value):
        super().__init__(value=value.tolist() if hasattr(value, "tolist") else value)
        self.value = value

    def _init_weight(self, _, arr):
        v = self.value
        if hasattr(v, "asnumpy"):
            v = v.asnumpy()
        arr[:] = np.asarray(v, dtype=np.dtype(arr.dtype))


@register
class Uniform(Initializer):
    """Uniform in [-scale, scale] (default 0.07, as MXNet)."""

    def __init__(self, scale=0.07):
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, _, arr):
        _nd().random.uniform(-self.scale, self.scale, arr.shape, out=arr)


@register
class Normal(Initializer):
    """Normal with mean 0 and standard deviation ``sigma`` (default 0.01)."""

    def __init__(self, sigma=0.01):
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, _, arr):
        _nd().random.normal(0, self.sigma, arr.shape, out=arr)


@register
class Orthogonal(Initializer):
    """An orthogonal matrix times ``scale`` (Saxe et al.), from uniform or normal noise."""

    def __init__(self, scale=1.414, rand_type="uniform"):
        if rand_type not in ("uniform", "normal"):
            raise ValueError(f"rand_type: expected 'uniform' or 'normal', got {rand_type!r}")
        super().__init__(scale=scale, rand_type=rand_type)
        self.scale = scale
        self.rand_type = rand_type

    def _init_weight(self, _, arr):
        nout = arr.shape[0]
        nin = int(np.prod(arr.shape[1:]))
        r = _nd().random
        tmp = (r.uniform(-1.0, 1.0, shape=(nout, nin)) if self.rand_type == "uniform"
               else r.normal(0.0, 1.0, shape=(nout, nin))).asnumpy()
        u, _, v = np.linalg.svd(tmp, full_matrices=False)
        res = u if u.shape == tmp.shape else v
        arr[:] = (self.scale * res.reshape(arr.shape)).astype(np.dtype(arr.dtype))


@register
class Xavier(Initializer):
    """Xavier/Glorot: scale = sqrt(magnitude / factor) with factor the average (``'avg'``),
    fan-in (``'in'``) or fan-out (``'out'``); uniform in [-scale, scale] or gaussian with
    that standard deviation."""

    def __init__(self, rnd_type="uniform", factor_type="avg", magnitude=3):
        if rnd_type not in ("uniform", "gaussian"):
            raise ValueError(f"rnd_type: expected 'uniform' or 'gaussian', got {rnd_type!r}")
        if factor_type not in ("avg", "in", "out"):
            raise ValueError(f"factor_type: expected 'avg', 'in' or 'out', got {factor_type!r}")
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = float(magnitude)

    def _init_weight(self, name, arr):
        shape = arr.shape
        if len(shape) < 2:
            raise ValueError(f"Xavier initializer cannot be applied to vector {name}. It "
                             "requires at least 2D.")
        hw = float(np.prod(shape[2:])) if len(shape) > 2 else 1.0
        fan_in, fan_out = shape[1] * hw, shape[0] * hw
        factor = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}[
            self.factor_type]
        scale = math.sqrt(self.magnitude / factor)
        if self.rnd_type == "uniform":
            _nd().random.uniform(-scale, scale, arr.shape, out=arr)
        else:
            _nd().random.normal(0, scale, arr.shape, out=arr)


@register
class MSRAPrelu(Xavier):
    """He/MSRA initialisation for (P)ReLU networks: gaussian Xavier with magnitude
    2 / (1 + slope^2)."""

    def __init__(self, factor_type="avg", slope=0.25):
        super().__init__("gaussian", factor_type, 2.0 / (1 + slope ** 2))
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Bilinear(Initializer):
    """Bilinear-upsampling kernels (for Deconvolution weights)."""

    def _init_weight(self, _, arr):
        shape = arr.shape
        if len(shape) < 4:
            raise ValueError(f"Bilinear initializer needs a 4-D weight, got shape {shape}")
        f = math.ceil(shape[3] / 2.0)
        c = (2 * f - 1 - f % 2) / (2.0 * f)
        y, x = np.meshgrid(np.arange(shape[2]), np.arange(shape[3]), indexing="ij")
        kernel = (1 - np.abs(x / f - c)) * (1 - np.abs(y / f - c))
        arr[:] = np.broadcast_to(kernel, shape).astype(np.dtype(arr.dtype))


@register
class LSTMBias(Initializer):
    """LSTM biases: 0 except the forget gate (second quarter), set to ``forget_bias``."""

    def __init__(self, forget_bias=1.0):
        super().__init__(forget_bias=forget_bias)
        self.forget_bias = forget_bias

    def _init_weight(self, name, arr):
        arr[:] = 0.0
        n = arr.shape[0] // 4
        arr[n:2 * n] = self.forget_bias


class Load:
    """Initialise from a dict name -> NDArray or a file saved by ``nd.save``; ``arg:``/``aux:``
    prefixes are dropped; names not found go to ``default_init``."""

    def __init__(self, param, default_init=None, verbose=False):
        source = None
        if isinstance(param, str):
            source = param
            param = _nd().load(param)
            if not isinstance(param, dict):
                raise FileFormatError(f"{source}: Load needs a file of named arrays (saved "
                                      f"from a dict), this one holds an unnamed list")
        if not isinstance(param, dict):
            raise TypeError(f"param: expected a dict of name -> NDArray or a file of one, "
                            f"got {type(param).__name__}")
        self.param = {}
        origin = {}
        for name, arr in param.items():
            if not isinstance(name, str) or not hasattr(arr, "shape"):
                raise TypeError(f"param: expected a dict of str -> NDArray, got "
                                f"{name!r} -> {type(arr).__name__}")
            key = name[4:] if name.startswith(("arg:", "aux:")) else name
            if key in origin:
                # 'arg:w' and 'w' (or 'aux:w') would silently shadow each other
                raise ValueError(f"param: {origin[key]!r} and {name!r} both name parameter "
                                 f"{key!r}" + (f" in {source}" if source else ""))
            origin[key] = name
            self.param[key] = arr
        if default_init is not None and not callable(default_init):
            default_init = create(default_init)  # 'zeros', 'xavier', ... as in Gluon
        self.default_init = default_init
        self.verbose = verbose

    def __call__(self, name, arr):
        if name in self.param:
            src = self.param[name]
            if tuple(arr.shape) != tuple(src.shape):
                raise ValueError(f"Parameter {name} cannot be initialized from loading. Shape "
                                 f"mismatch, target {arr.shape} vs loaded {src.shape}")
            arr[:] = src
            if self.verbose:
                logging.info("Initialized %s by loading", name)
        else:
            if self.default_init is None:
                raise ValueError(f"Cannot Initialize {name}. Not found in loaded param and no "
                                 "default Initializer is provided.")
            self.default_init(name, arr)
            if self.verbose:
                logging.info("Initialized %s by default", name)


class Mixed:
    """Pick the initializer of the first regex in ``patterns`` matching the name."""

    def __init__(self, patterns, initializers):
        if not isinstance(patterns, (list, tuple)) or not all(isinstance(p, str)
                                                               for p in patterns):
            raise TypeError(f"patterns: expected a list of regular expression strings, got "
                            f"{patterns!r}")
        if not isinstance(initializers, (list, tuple)):
            raise TypeError(f"initializers: expected a list of Initializers, got "
                            f"{type(initializers).__name__}")
        if len(patterns) != len(initializers):
            raise ValueError(f"patterns and initializers must have the same length, got "
                             f"{len(patterns)} and {len(initializers)}")
        self.map = []
        for p, i in zip(patterns, initializers):
            try:
                prog = re.compile(p)
            except re.error as e:
                raise ValueError(f"patterns: {p!r} is not a valid regular expression: {e}") \
                    from None
            self.map.append((prog, create(i)))

    def __call__(self, name, arr):
        for prog, init in self.map:
            if prog.match(name):
                init(name, arr)
                return
        raise ValueError(f"Parameter name {name} did not match any pattern. Consider adding a "
                         "\".*\" pattern at the end with a default Initializer.")
