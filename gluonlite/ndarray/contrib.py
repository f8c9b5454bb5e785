"""``mx.nd.contrib``: the registry's ``_contrib_*`` operators under their short names
(``nd.contrib.box_nms`` is the operator ``_contrib_box_nms``), as MXNet generates them, and
MXNet's Python-level contrib functions: the control-flow helpers ``foreach``,
``while_loop`` and ``cond`` (plain Python loops over recorded operators, so gradients flow
under ``autograd.record()``), and ``isinf``/``isfinite``/``isnan``.
"""
from __future__ import annotations

from ..unsupported import namespace_getattr as _namespace_getattr

import numpy as _np

from ..ops import REGISTRY as _REGISTRY
from .ndarray import NDArray as _NDArray
from .register import make_function as _make_function
from .random import uniform  # noqa: F401  (MXNet's nd.contrib re-exports it)

_PREFIX = "_contrib_"


def _install():
    names = []
    for name, op in _REGISTRY.items():
        if name.startswith(_PREFIX):
            globals()[name[len(_PREFIX):]] = _make_function(op)
            names.append(name[len(_PREFIX):])
    return sorted(names)


__all__ = _install() + ["foreach", "while_loop", "cond", "isinf", "isfinite", "isnan",
                        "uniform"]

_stack = _make_function(_REGISTRY["stack"])
_concat = _make_function(_REGISTRY["concat"])
_zeros = _make_function(_REGISTRY["_zeros"])
_abs = _make_function(_REGISTRY["abs"])
_logical_and = _make_function(_REGISTRY["broadcast_logical_and"])


def _flatten(args, what):
    """Nested lists/tuples of NDArrays -> (flat list, format), MXNet's ``_flatten``."""
    if isinstance(args, _NDArray):
        return [args], 0
    if not isinstance(args, (list, tuple)):
        raise TypeError(f"{what} must be an NDArray or a (nested) list of NDArrays, got "
                        f"{type(args).__name__}")
    flat, fmts = [], []
    for a in args:
        f, fmt = _flatten(a, what)
        flat.extend(f)
        fmts.append(fmt)
    return flat, fmts


def _regroup(args, fmt):
    """Inverse of :func:`_flatten`: (nested structure, the rest of ``args``)."""
    if isinstance(fmt, int):
        if fmt == 0:
            return args[0], args[1:]
        return args[:fmt], args[fmt:]
    ret = []
    for f in fmt:
        r, args = _regroup(args, f)
        ret.append(r)
    return ret, args


def _as_list(obj):
    return obj if isinstance(obj, (list, tuple)) else [obj]


def _to_scalar(value, type_, what):
    """``value`` (an NDArray of one element, or a Python/NumPy value) as ``type_``."""
    if isinstance(value, _NDArray):
        if value.size != 1:
            raise ValueError(f"{what} must hold a single value, got an NDArray of shape "
                             f"{value.shape}")
        value = value.asscalar()
    try:
        return type_(value)
    except (TypeError, ValueError):
        raise ValueError(f"Cannot convert {what} to python {type_.__name__}") from None


def foreach(body, data, init_states):
    """Run ``body`` over the slices of ``data`` along axis 0 (MXNet's ``foreach``).

    ``body(data_i, states) -> (out, new_states)``: ``data_i`` is ``data[i]`` (or the list of
    ``d[i]`` when ``data`` is a list), ``states`` has the structure of ``init_states``.
    Returns ``(outputs, states)``: each output stacked over the steps (with ``out``'s
    structure) and the states after the last step.
    """
    flat_data, _ = _flatten(data, "foreach: data")
    _flatten(init_states, "foreach: init_states")
    if not flat_data:
        raise ValueError("foreach: data must hold at least one NDArray")
    not_data_list = isinstance(data, _NDArray)
    num_iters = flat_data[0].shape[0] if flat_data[0].ndim else 0
    for d in flat_data:
        if d.ndim == 0 or d.shape[0] != num_iters:
            raise ValueError(f"foreach: every data array must have the same length along axis "
                             f"0, got shapes {[x.shape for x in flat_data]}")
    states = init_states
    outputs, out_fmt = [], None
    for i in range(num_iters):
        eles = data[i] if not_data_list else [d[i] for d in data]
        outs, states = body(eles, states)
        outs, fmt = _flatten(outs, "foreach: the output of body")
        if outputs and len(outs) != len(outputs[0]):
            raise ValueError(f"foreach: body returned {len(outs)} outputs at step {i} but "
                             f"{len(outputs[0])} at step 0")
        out_fmt = fmt
        outputs.append(outs)
    if num_iters == 0:
        # MXNet's loop never calls body either: no outputs, the states as given
        return [], states
    stacked = [_stack(*step) for step in zip(*outputs)]
    stacked, _ = _regroup(stacked, out_fmt)
    return stacked, states


def while_loop(cond, func, loop_vars, max_iterations=None):
    """Run ``func`` while ``cond`` holds, at most ``max_iterations`` times (MXNet's
    ``while_loop``).

    ``cond(*loop_vars)`` returns a one-element NDArray (or a Python value);
    ``func(*loop_vars) -> (step_output, new_loop_vars)``. Returns ``(outputs, loop_vars)``:
    each step output stacked along a new axis 0 and padded to ``max_iterations`` rows, and
    the final loop variables (an NDArray when ``loop_vars`` was one). MXNet leaves the
    padding rows uninitialised; here they are zeros.
    """
    if max_iterations is None:
        raise ValueError("max_iterations should be specified")
    max_iterations = _to_scalar(max_iterations, int, "max_iterations")
    if max_iterations < 0:
        raise ValueError(f"max_iterations must be >= 0, got {max_iterations}")
    not_loop_var_list = isinstance(loop_vars, _NDArray)
    loop_vars = list(_as_list(loop_vars))
    if not loop_vars:
        raise ValueError("loop_vars should contain at least one element")
    steps, outputs, out_fmt = 0, [], None
    while steps < max_iterations and _to_scalar(cond(*loop_vars), bool,
                                                "Return value of cond"):
        step_output, new_vars = func(*loop_vars)
        step_output = [] if step_output is None else step_output
        new_vars = [] if new_vars is None else new_vars
        if isinstance(step_output, tuple):
            step_output = list(step_output)
        new_vars = list(_as_list(new_vars))
        if len(new_vars) != len(loop_vars):
            raise ValueError("The length of loop_vars should be consistent during the loop")
        loop_vars = new_vars
        step_output, out_fmt = _flatten(step_output, "while_loop: step_output")
        outputs.append(step_output)
        steps += 1
        if len(step_output) != len(outputs[0]):
            raise ValueError("Number of elements in step_output should be the same in each "
                             "step")
    stacked = []
    for i_th, items in enumerate(zip(*outputs), 1):
        items = [x.expand_dims(0) for x in items]
        if any(x.shape[1:] != items[0].shape[1:] or x.dtype != items[0].dtype for x in items):
            raise ValueError("\n".join(
                [f"Shapes of {i_th}-th elements in step_outputs are inconsistent, which are:"]
                + [f"  Step {i}, shape is {x.shape[1:]}" for i, x in enumerate(items)]))
        if steps != max_iterations and items:
            items.append(_zeros(shape=(max_iterations - steps,) + items[0].shape[1:],
                                dtype=items[0].dtype, ctx=items[0].context))
        stacked.append(_concat(*items, dim=0))
    if out_fmt is not None:
        stacked, _ = _regroup(stacked, out_fmt)
    if not_loop_var_list:
        loop_vars = loop_vars[0]
    return stacked, loop_vars


def cond(pred, then_func, else_func):
    """``then_func()`` if the one-element ``pred`` is nonzero, else ``else_func()`` (MXNet's
    ``cond``); returns what the chosen function returns."""
    if _to_scalar(pred, bool, "pred"):
        return then_func()
    return else_func()


def isinf(data):
    """1 where ``data`` is +inf or -inf, else 0 (MXNet's ``contrib.isinf``)."""
    return _abs(data) == _np.inf


def isfinite(data):
    """1 where ``data`` is neither infinite nor NaN, else 0 (MXNet's ``contrib.isfinite``)."""
    return _logical_and(_abs(data) != _np.inf, data == data)


def isnan(data):
    """1 where ``data`` is NaN, else 0 (MXNet's ``contrib.isnan``)."""
    return data != data


# names MXNet has and gluonlite lacks fail naming the reason (gluonlite/unsupported.py)
__getattr__ = _namespace_getattr("nd.contrib", __name__)
