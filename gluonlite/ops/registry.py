"""The operator registry: every operator is data, defined once, used by nd, sym and the compiler.

An operator is declared by its reference forward function::

    @register("clip", shape=shape_same, tags=("elemwise",))
    def clip(rt, data, *, a_min: Float, a_max: Float):
        return rt.xp.clip(data, a_min, a_max)

    @clip.gradient
    def _(F, a, ins, outs, ogs, need):
        x, = ins
        return (ogs[0] * ((x >= a["a_min"]) * (x <= a["a_max"])),)

* positional parameters after ``rt`` are the inputs, in MXNet's order (a default of ``None``
  marks an optional input such as ``bias``; ``*data`` marks a variadic operator such as
  ``concat``);
* keyword-only parameters are the attributes, annotated with a type from
  :mod:`gluonlite.ops.attrs`, with MXNet's defaults, in MXNet's order;
* the forward works on raw arrays of ``rt.xp`` (numpy or cupy) and returns one array or a
  tuple of ``num_outputs`` arrays;
* the gradient rule receives an operator namespace ``F`` and returns one gradient (or None)
  per input. ``F`` is raw arrays (fast backward), NDArrays (``create_graph=True``: the
  backward is recorded, so higher-order gradients work) or Symbols (the compiler's
  symbolic gradient) — the rule is written once for all three, using ``F.<op>`` and
  Python operators only;
* optionally ``@op.lowering`` gives the compiler the operator's code for known shapes and
  dtypes (one expression, no checks, decisions taken at compile time); the compiler calls
  the forward where an operator has none;
* optionally ``@op.elementwise`` gives an elementwise operator's per-element formula (a
  scalar expression, :mod:`gluonlite.compiler.scalar`), which lets the compiler fuse it with
  its neighbours into one generated kernel.
"""
from __future__ import annotations

import inspect
from typing import Callable, Iterable, Optional, Sequence

from ..base import MXNetError
from . import attrs as _attrs

__all__ = ["Op", "register", "get_op", "find_op", "all_ops", "generated_modules", "REGISTRY",
           "ZERO_GRAD",
           "shape_same", "shape_broadcast", "forward_shape", "dtype_same", "dtype_fixed",
           "dtype_from_attr"]


class _ZeroGrad:
    """Marker gradient rule: the operator is differentiable with zero gradient everywhere."""

    def __repr__(self):
        return "ZERO_GRAD"


ZERO_GRAD = _ZeroGrad()

_EMPTY = inspect.Parameter.empty


class AttrSpec:
    __slots__ = ("name", "type", "default", "required")

    def __init__(self, name, type_, default, required):
        self.name, self.type, self.default, self.required = name, type_, default, required

    def __repr__(self):
        d = "required" if self.required else f"default={self.default!r}"
        return f"{self.name}: {self.type!r} ({d})"


class Op:
    """One registered operator. See the module docstring for how operators are declared."""

    def __init__(self, name: str, fwd: Callable, *, aliases: Sequence[str] = (),
                 shape: Optional[Callable] = None, dtype: Optional[Callable] = None,
                 tags: Iterable[str] = (), num_outputs=1, visible_outputs=None,
                 output_names=None, inputs: Optional[Callable] = None,
                 aux: Sequence[str] = (), index_inputs: Sequence[str] = (),
                 extra_attrs: Optional[dict] = None, source: bool = False,
                 doc: Optional[str] = None):
        self.name = name
        self.fwd = fwd
        self.ref_fwd = fwd
        self.aliases = tuple(aliases)
        self.tags = frozenset(tags)
        self.grad_fn = None
        self.lower = None
        self.scalar_fn = None
        self._shape_fn = shape
        self._dtype_fn = dtype
        self._num_outputs = num_outputs
        self._visible_outputs = visible_outputs
        self._output_names = output_names
        self._inputs_fn = inputs
        self.aux_names = tuple(aux)
        self.source = source
        self.__doc__ = doc or fwd.__doc__
        self._parse_signature(fwd, extra_attrs or {})
        bad = set(index_inputs) - set(self.input_names)
        if bad:
            raise ValueError(f"{name}: index_inputs {sorted(bad)} are not inputs")
        self.index_inputs = frozenset(index_inputs)
        self._dtype_checked = tuple(i for i, n in enumerate(self.input_names)
                                    if n not in self.index_inputs and n not in self.aux_names)

    # --- declaration ---------------------------------------------------------------------
    def _parse_signature(self, fwd, extra_attrs):
        params = list(inspect.signature(fwd, eval_str=True).parameters.values())
        if not params or params[0].name != "rt":
            raise TypeError(f"operator {self.name}: forward must take 'rt' first")
        inputs, optional, attr_specs = [], set(), {}
        self.variadic = None
        self.fwd_takes_extra = False
        for p in params[1:]:
            if p.kind == p.POSITIONAL_OR_KEYWORD:
                inputs.append(p.name)
                if p.default is None:
                    optional.add(p.name)
                elif p.default is not _EMPTY:
                    raise TypeError(f"{self.name}: input {p.name} may only default to None")
            elif p.kind == p.VAR_POSITIONAL:
                self.variadic = p.name
            elif p.kind == p.KEYWORD_ONLY:
                t = p.annotation
                if not isinstance(t, _attrs.AttrType):
                    raise TypeError(f"{self.name}: attribute {p.name} needs an attrs type "
                                    f"annotation, got {t!r}")
                req = p.default is _EMPTY
                attr_specs[p.name] = AttrSpec(p.name, t, None if req else p.default, req)
            elif p.kind == p.VAR_KEYWORD:
                self.fwd_takes_extra = True
        for k, (t, default) in extra_attrs.items():
            attr_specs[k] = AttrSpec(k, t, default, False)
        if extra_attrs and not self.fwd_takes_extra:
            raise TypeError(f"{self.name}: extra_attrs need **kwargs in the forward")
        self.input_names = tuple(inputs)
        self.optional_inputs = frozenset(optional)
        self.attr_specs = attr_specs
        self.attr_order = tuple(attr_specs)
        self.required_attrs = frozenset(k for k, s in attr_specs.items() if s.required)
        self._defaults = {k: s.default for k, s in attr_specs.items() if not s.required}

    def gradient(self, fn):
        """Decorator: set the gradient rule ``fn(F, attrs, ins, outs, ogs, need)``."""
        self.grad_fn = fn
        return fn

    def lowering(self, fn):
        """Decorator: set the compiler's code for this operator, ``fn(L, attrs, ins, outs)
        -> str | None`` (see :mod:`gluonlite.compiler.lower`). ``ins``/``outs`` are IR Vars
        with known shapes and dtypes, so the code can drop the checks and choices ``fwd``
        makes at run time; None keeps the call of ``fwd`` for that equation."""
        self.lower = fn
        return fn

    def elementwise(self, fn):
        """Decorator: set the per-element formula ``fn(E, attrs, *xs) -> Expr | None`` of an
        elementwise operator (see :mod:`gluonlite.compiler.scalar`), from which the fusion
        pass builds fused kernels; None means this call cannot be fused."""
        self.scalar_fn = fn
        return fn

    @property
    def differentiable(self) -> bool:
        return self.grad_fn is not None

    # --- attributes ----------------------------------------------------------------------
    def parse_attrs(self, kwargs: dict) -> dict:
        """Canonical attribute dict (defaults filled) from Python values or MXNet strings."""
        if not kwargs:
            if self.required_attrs:
                self._missing(self.required_attrs)
            return self._defaults
        out = dict(self._defaults)
        specs = self.attr_specs
        for k, v in kwargs.items():
            spec = specs.get(k)
            if spec is None:
                if len(k) > 4 and k[:2] == "__" and k[-2:] == "__":
                    continue  # MXNet's hidden node attributes (__layout__, __lr_mult__, ...)
                raise MXNetError(
                    f"{self.name}: unknown argument {k!r}. Valid arguments: inputs "
                    f"{list(self.input_names) or [self.variadic]}, attributes "
                    f"{list(self.attr_order)}")
            try:
                out[k] = spec.type.parse(v)
            except ValueError as e:
                raise MXNetError(f"{self.name}: invalid value for argument {k!r}: {e}") from None
        if self.required_attrs:
            missing = self.required_attrs.difference(out)
            if missing:
                self._missing(missing)
        return out

    def _missing(self, names):
        n = sorted(names)[0]
        raise MXNetError(f"{self.name}: required argument {n!r} "
                         f"({self.attr_specs[n].type!r}) is missing")

    def dump_attrs(self, attrs: dict) -> dict:
        """Attributes as the strings MXNet writes in its graph JSON."""
        out = {}
        for k, v in attrs.items():
            spec = self.attr_specs.get(k)
            if spec is None:
                continue
            out[k] = spec.type.dump(v)
        return out

    # --- inputs / outputs ----------------------------------------------------------------
    def list_inputs(self, attrs: dict, num_args: Optional[int] = None) -> tuple:
        """Input names for these attributes (optional inputs such as bias may drop out)."""
        if self.variadic is not None:
            n = num_args if num_args is not None else attrs.get("num_args", 0)
            return tuple(f"arg{i}" for i in range(n))
        if self._inputs_fn is not None:
            return tuple(self._inputs_fn(attrs))
        return self.input_names

    def num_outputs(self, attrs: dict) -> int:
        n = self._num_outputs
        return n(attrs) if callable(n) else n

    def num_visible_outputs(self, attrs: dict) -> int:
        v = self._visible_outputs
        if v is None:
            return self.num_outputs(attrs)
        return v(attrs) if callable(v) else v

    def list_outputs(self, attrs: dict) -> tuple:
        """Names of the visible outputs (hidden ones, kept for the gradient, are not listed,
        as in MXNet)."""
        names = self._output_names
        if names is not None:
            names = tuple(names(attrs) if callable(names) else names)
        else:  # numbered by the total count, as MXNet does (sort -> 'output0')
            n = self.num_outputs(attrs)
            names = ("output",) if n == 1 else tuple(f"output{i}" for i in range(n))
        return names[:self.num_visible_outputs(attrs)]

    # --- shape / dtype rules -------------------------------------------------------------
    def infer_shape(self, attrs: dict, in_shapes: list) -> tuple:
        """(in_shapes, out_shapes) with unknown shapes as None; may fill parameter inputs."""
        if self._shape_fn is None:
            raise MXNetError(f"{self.name}: no shape rule registered")
        ins, outs = self._shape_fn(attrs, list(in_shapes))
        return list(ins), list(outs)

    def infer_type(self, attrs: dict, in_types: list) -> tuple:
        """(in_dtypes, out_dtypes) as numpy dtype names, unknown as None."""
        fn = self._dtype_fn or dtype_same
        ins, outs = fn(attrs, list(in_types), self.num_outputs(attrs))
        return list(ins), list(outs)

    def __repr__(self):
        return f"<Op {self.name}>"


# --------------------------------------------------------------------------------------
# the registry
class _Registry(dict):
    """name (and alias) -> Op."""

    def add(self, op: Op):
        for n in (op.name,) + op.aliases:
            if n in self:
                raise ValueError(f"operator name {n!r} registered twice")
            self[n] = op


REGISTRY = _Registry()


def register(name: Optional[str] = None, **kw) -> Callable[[Callable], Op]:
    """Decorator turning a reference forward function into a registered :class:`Op`."""

    def deco(fn):
        op = Op(name or fn.__name__, fn, **kw)
        REGISTRY.add(op)
        return op

    return deco


def get_op(name: str) -> Op:
    """The operator called ``name`` (or one of its aliases); MXNetError if unknown."""
    op = REGISTRY.get(name)
    if op is None:
        import difflib
        close = difflib.get_close_matches(name, REGISTRY.keys(), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise MXNetError(f"operator {name!r} is not registered.{hint}")
    return op


def find_op(name: str) -> Optional[Op]:
    return REGISTRY.get(name)


def all_ops() -> list:
    """Every distinct operator (aliases folded)."""
    seen, out = set(), []
    for op in REGISTRY.values():
        if id(op) not in seen:
            seen.add(id(op))
            out.append(op)
    return out


def generated_modules(package: str, make: Callable):
    """The function modules MXNet generates for ``mx.nd`` / ``mx.sym`` from the registry:
    ``make(name, op)`` builds each function, which goes into ``op`` (every name),
    ``_internal`` (names starting with ``_``) and ``image`` (``_image_x`` as ``x``); the
    others are returned in a dict, for the package itself. Returns ``(public, op,
    _internal, image)``."""
    import types
    op = types.ModuleType(f"{package}.op", "Every registered operator as a function.")
    internal = types.ModuleType(f"{package}._internal",
                                "Operators whose MXNet names start with an underscore.")
    image = types.ModuleType(f"{package}.image",
                             "Image tensor operators (``to_tensor``, ``normalize``), from the "
                             "registry's ``_image_*`` operators.")
    public = {}
    for name, o in REGISTRY.items():
        fn = make(name, o)
        setattr(op, name, fn)
        if name.startswith("_image_"):
            setattr(image, name[len("_image_"):], fn)
        if name.startswith("_"):
            setattr(internal, name, fn)
        else:
            public[name] = fn
    return public, op, internal, image


# --------------------------------------------------------------------------------------
# shape rule helpers
def _merge(a, b, what):
    if a is None:
        return b
    if b is None or a == b:
        return a
    raise MXNetError(f"{what}: shape mismatch {a} vs {b}")


def shape_same(attrs, in_shapes):
    """All inputs and the single output share one shape (unknown ones are filled)."""
    s = None
    for x in in_shapes:
        s = _merge(s, x, "inputs of an elementwise operator must have equal shapes")
    return [s] * len(in_shapes), [s]


def broadcast_shapes(a: tuple, b: tuple) -> tuple:
    """NumPy broadcasting of two shapes; MXNetError naming both if incompatible."""
    n = max(len(a), len(b))
    a2 = (1,) * (n - len(a)) + tuple(a)
    b2 = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a2, b2):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise MXNetError(f"shapes {tuple(a)} and {tuple(b)} cannot be broadcast together")
    return tuple(out)


def shape_broadcast(attrs, in_shapes):
    a, b = in_shapes
    if a is None or b is None:
        return in_shapes, [None]
    return in_shapes, [broadcast_shapes(a, b)]


def forward_shape(fn):
    """Wrap ``fn(attrs, *in_shapes) -> out_shape | list of out_shapes`` as a shape rule that
    needs every (non-optional) input shape known."""

    def rule(attrs, in_shapes):
        if any(s is None for s in in_shapes):
            return in_shapes, [None] * _n_out(fn, attrs)
        out = fn(attrs, *in_shapes)
        if isinstance(out, list):
            return in_shapes, out
        return in_shapes, [tuple(out)]

    rule.__name__ = getattr(fn, "__name__", "rule")
    return rule


def _n_out(fn, attrs):
    return getattr(fn, "num_outputs", 1)


# --------------------------------------------------------------------------------------
# dtype rule helpers
def dtype_same(attrs, in_types, n_out):
    """Every input and output share the first known dtype."""
    t = next((x for x in in_types if x is not None), None)
    return [x if x is not None else t for x in in_types], [t] * n_out


def dtype_fixed(name: str):
    """Outputs always have dtype ``name`` (e.g. 'float32')."""

    def rule(attrs, in_types, n_out):
        return in_types, [name] * n_out

    return rule


def dtype_from_attr(attr: str = "dtype", default: str = "float32"):
    """Outputs take their dtype from attribute ``attr`` (MXNet's ``dtype=`` arguments)."""

    def rule(attrs, in_types, n_out):
        return in_types, [attrs.get(attr) or default] * n_out

    return rule
