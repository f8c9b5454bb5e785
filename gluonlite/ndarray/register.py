"""Generate the ``nd.<op>`` functions from the operator registry.

Each function takes the operator's inputs first (positionally or by MXNet's input names),
then its attributes (positionally in MXNet's order, or by name), plus ``out=`` and
``name=`` (ignored, as in MXNet's imperative API); source operators also take ``ctx=``.
"""
from __future__ import annotations

import numpy as np

from ..base import MXNetError
from ..ops import get_op
from .ndarray import NDArray, invoke

__all__ = ["make_function"]

_CACHE: dict = {}


def make_function(op):
    """The ``nd`` function for operator ``op`` (cached)."""
    fn = _CACHE.get(op.name)
    if fn is None:
        fn = _CACHE[op.name] = _build(op)
    return fn


def _build(op):
    names = op.input_names
    n_in = len(names)
    order = op.attr_order
    variadic = op.variadic is not None
    counts_args = variadic and "num_args" in op.attr_specs
    optional = op.optional_inputs

    def fn(*args, out=None, name=None, **kwargs):
        ctx = _parse_ctx(op, kwargs.pop("ctx", None)) if op.source else None
        if variadic:
            inputs = list(args)
            if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
                inputs = list(inputs[0])
            for i, x in enumerate(inputs):
                if not isinstance(x, NDArray):
                    raise TypeError(f"{op.name}: input {i} must be an NDArray, got "
                                    f"{type(x).__name__}{_symbol_hint(x)}")
            if counts_args:
                kwargs.setdefault("num_args", len(inputs))
        else:
            slots = list(args[:n_in]) + [None] * max(0, n_in - len(args))
            extra = args[n_in:]
            if extra:
                if len(extra) > len(order):
                    raise TypeError(f"{op.name}: takes at most {n_in + len(order)} positional "
                                    f"arguments ({n_in} inputs, then attributes "
                                    f"{list(order)}), got {len(args)}")
                for k, v in zip(order, extra):
                    if k in kwargs:
                        raise TypeError(f"{op.name}: got multiple values for argument {k!r}")
                    kwargs[k] = v
            for i, nm in enumerate(names):
                if nm in kwargs:
                    if slots[i] is not None:
                        raise TypeError(f"{op.name}: got multiple values for input {nm!r}")
                    slots[i] = kwargs.pop(nm)
            inputs = []
            deferred = None
            for i, x in enumerate(slots):
                if x is None:
                    if names[i] in optional:
                        continue
                    raise MXNetError(f"{op.name}: required input {names[i]!r} is missing")
                if not isinstance(x, NDArray):
                    if hasattr(x, "_deferred_resolve"):
                        deferred = (deferred or []) + [i]
                    else:
                        raise TypeError(f"{op.name}: input {names[i]!r} must be an NDArray, "
                                        f"got {type(x).__name__}{_symbol_hint(x)}")
                if len(inputs) != i and op._inputs_fn is None:
                    raise MXNetError(f"{op.name}: input {names[i]!r} is given but the "
                                     f"optional input before it is missing")
                inputs.append(x)
            if deferred:
                inputs = _resolve_deferred(op, inputs, deferred, op.parse_attrs(dict(kwargs)))
        attrs = op.parse_attrs(kwargs)
        if op._inputs_fn is not None and not variadic:
            # inputs that depend on attributes (CTCLoss's lengths, FullyConnected's bias) are
            # the arrays given, in order, Nones skipped, as MXNet passes them: only their
            # number must match what the attributes name
            expected = op.list_inputs(attrs)
            if len(inputs) != len(expected):
                raise MXNetError(f"{op.name}: with these attributes the inputs are "
                                 f"{list(expected)}, got {len(inputs)} input(s)")
        return invoke(op, inputs, attrs, out=out, ctx=ctx)

    fn.__name__ = op.name
    fn.__qualname__ = op.name
    fn.__doc__ = _doc(op)
    return fn


def _symbol_hint(x):
    if type(x).__name__ == "Symbol":
        return (" (a hybridized block is traced with Symbols: use hybrid_forward's F argument "
                "or methods of the inputs instead of nd functions)")
    if isinstance(x, np.ndarray):
        return (" (a NumPy array: nd functions take NDArrays, as in MXNet; convert it with "
                "nd.array(x), or use an operator such as nd_array + x, which takes NumPy "
                "operands)")
    return ""


def _resolve_deferred(op, inputs, idx, attrs):
    """Finish the deferred initialisation of parameters passed as inputs: their shapes come
    from the operator's shape rule applied to the shapes of the real inputs."""
    shapes = [None if i in idx else tuple(x.shape) for i, x in enumerate(inputs)]
    try:
        filled, _ = op.infer_shape(attrs, shapes)
    except MXNetError as e:
        raise inputs[idx[0]]._deferred_error(f"{op.name} ({e})") from None
    out = list(inputs)
    for i in idx:
        s = filled[i] if i < len(filled) else None
        if s is None or any(d == 0 for d in s):
            raise inputs[i]._deferred_error(f"the shape rule of {op.name}")
        out[i] = inputs[i]._deferred_resolve(tuple(s))
    return out


def _parse_ctx(op, ctx):
    if ctx is None:
        return None
    from ..ops.attrs import Ctx
    try:
        return Ctx.parse(ctx)
    except ValueError as e:
        raise MXNetError(f"{op.name}: invalid value for argument 'ctx': {e}") from None


def _doc(op):
    lines = [(op.__doc__ or f"The {op.name} operator.").strip(), "", "Parameters", "----------"]
    if op.variadic is not None:
        lines.append(f"*{op.variadic} : NDArray")
    for nm in op.input_names:
        opt = ", optional" if nm in op.optional_inputs else ""
        lines.append(f"{nm} : NDArray{opt}")
    for k, spec in op.attr_specs.items():
        d = "required" if spec.required else f"default={spec.default!r}"
        lines.append(f"{k} : {spec.type!r}, {d}")
    lines.append("out : NDArray, optional")
    lines.append("    Write the result into this array.")
    return "\n".join(lines)


def get_function(name: str):
    """The nd function of operator ``name``."""
    return make_function(get_op(name))
