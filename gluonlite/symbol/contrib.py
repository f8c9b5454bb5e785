"""``mx.sym.contrib``: the registry's ``_contrib_*`` operators as Symbol constructors under
their short names (``sym.contrib.box_nms`` makes a ``_contrib_box_nms`` node), and the
control-flow helpers ``foreach``, ``while_loop`` and ``cond``.

gluonlite's graphs have static shapes and no subgraph operators, so the control-flow
helpers build plain graphs instead of MXNet's ``_foreach``/``_while_loop``/``_cond`` nodes:

* ``foreach`` unrolls ``body`` over the sequence length, which must be known when the graph
  is built (from the data variables' ``shape=``);
* ``while_loop`` unrolls ``func`` ``max_iterations`` times; a step runs only while every
  ``cond`` so far held (a ``_cond_select`` keeps the loop variables after that, and the
  step outputs of the steps not run are zeros), so outputs have ``max_iterations`` rows as
  in MXNet;
* ``cond`` builds both branches and selects with the one-element ``pred`` (both branches
  are computed; the gradient flows only into the chosen one).
"""
from __future__ import annotations

from ..unsupported import namespace_getattr as _namespace_getattr

from ..base import MXNetError
from ..ndarray.contrib import _regroup  # the same nesting format for Symbols
from ..ops import REGISTRY as _REGISTRY
from .register import make_function as _make_function
from .symbol import Symbol as _Symbol
from .random import uniform  # noqa: F401  (MXNet's sym.contrib re-exports it)

_PREFIX = "_contrib_"


def _install():
    names = []
    for name in list(_REGISTRY):
        if name.startswith(_PREFIX):
            globals()[name[len(_PREFIX):]] = _make_function(name)
            names.append(name[len(_PREFIX):])
    return sorted(names)


__all__ = _install() + ["foreach", "while_loop", "cond", "uniform"]

_select = _make_function("_cond_select")
_stack = _make_function("stack")
_slice_axis = _make_function("slice_axis")
_squeeze = _make_function("squeeze")
_zeros_like = _make_function("zeros_like")


def _flatten(args, what):
    """Nested lists of Symbols -> (flat list, format); a multi-output Symbol counts as its
    outputs (MXNet's ``_flatten`` for Symbols)."""
    if isinstance(args, _Symbol):
        n = len(args)
        return ([args], 0) if n == 1 else (list(args), n)
    if not isinstance(args, (list, tuple)):
        raise TypeError(f"{what} must be a Symbol or a (nested) list of Symbols, got "
                        f"{type(args).__name__}")
    flat, fmts = [], []
    for a in args:
        f, fmt = _flatten(a, what)
        flat.extend(f)
        fmts.append(fmt)
    return flat, fmts


def _static_length(sym):
    """Axis-0 length of ``sym`` from its variables' declared shapes, or None."""
    try:
        _, out_shapes, _ = sym.infer_shape_partial()
    except MXNetError:
        return None
    s = out_shapes[0] if out_shapes else None
    if not s or s[0] is None or s[0] <= 0:
        return None
    return int(s[0])


def foreach(body, data, init_states, name="foreach"):
    """Run ``body`` over the slices of ``data`` along axis 0, unrolled (MXNet's
    ``sym.contrib.foreach`` signature and return structure).

    ``body(data_i, states) -> (out, new_states)``. The sequence length must be known when
    the graph is built: declare the data variables with ``shape=``. Returns ``(outputs,
    states)`` with each output stacked over the steps.
    """
    flat_data, data_fmt = _flatten(data, "foreach: data")
    flat_states, state_fmt = _flatten(init_states, "foreach: init_states")
    if not flat_data:
        raise ValueError("foreach: data must hold at least one Symbol")
    lengths = {_static_length(d) for d in flat_data}
    if None in lengths:
        raise MXNetError(
            "foreach: gluonlite unrolls sym.contrib.foreach over the sequence length, which "
            "must be known when the graph is built; declare the data variable with its shape "
            "(mx.sym.var(name, shape=(T, ...))), or use mx.nd.contrib.foreach (an "
            "unhybridized block)")
    if len(lengths) != 1:
        raise ValueError(f"foreach: every data Symbol must have the same length along axis "
                         f"0, got {sorted(lengths)}")
    n = lengths.pop()
    states = init_states
    outputs, out_fmt = [], None
    for i in range(n):
        eles = [_squeeze(_slice_axis(d, axis=0, begin=i, end=i + 1), axis=0)
                for d in flat_data]
        eles, _ = _regroup(eles, data_fmt)
        outs, states = body(eles, states)
        outs, out_fmt = _flatten(outs, "foreach: the output of body")
        new_flat, fmt = _flatten(states, "foreach: the states body returns")
        if fmt != state_fmt:
            raise ValueError("foreach: the input and output loop_vars have different format")
        if outputs and len(outs) != len(outputs[0]):
            raise ValueError(f"foreach: body returned {len(outs)} outputs at step {i} but "
                             f"{len(outputs[0])} at step 0")
        outputs.append(outs)
    stacked = [_stack(*step, axis=0) for step in zip(*outputs)]
    stacked, _ = _regroup(stacked, out_fmt) if out_fmt is not None else ([], None)
    return stacked, states


def while_loop(cond, func, loop_vars, max_iterations=None, name="while_loop"):
    """Run ``func`` while ``cond`` holds, unrolled ``max_iterations`` times (MXNet's
    ``sym.contrib.while_loop`` signature and return structure).

    Returns ``(outputs, loop_vars)``: each step output stacked to ``max_iterations`` rows
    (rows of steps not run are zeros) and the final loop variables.
    """
    if max_iterations is None:
        raise ValueError("max_iterations should be specified")
    try:
        max_iterations = int(max_iterations)
    except (TypeError, ValueError):
        raise ValueError("Cannot convert max_iterations to python int") from None
    if max_iterations < 1:
        raise ValueError(f"max_iterations must be >= 1, got {max_iterations}")
    if isinstance(loop_vars, _Symbol):
        loop_vars = [loop_vars]
    if len(loop_vars) == 0:
        raise ValueError("loop_vars should contain at least one element")
    flat_vars, var_fmt = _flatten(loop_vars, "while_loop: loop_vars")
    active = None
    steps, out_fmt = [], None
    for it in range(max_iterations):
        cur, _ = _regroup(flat_vars, var_fmt)
        c = cond(*cur)
        if not isinstance(c, _Symbol):
            raise ValueError("Return of cond must be a Symbol")
        # a step runs while every condition so far held: once false, stay false
        active = c if active is None else _select(active, c, active)
        step_output, new_vars = func(*cur)
        step_output = [] if step_output is None else step_output
        new_vars = [] if new_vars is None else new_vars
        step_output, out_fmt = _flatten(list(step_output) if isinstance(step_output, tuple)
                                        else step_output, "while_loop: step_output")
        new_flat, _ = _flatten(list(new_vars) if isinstance(new_vars, tuple) else new_vars,
                               "while_loop: new loop_vars")
        if len(new_flat) != len(flat_vars):
            raise ValueError("The number of loop_vars should be consistent during the loop")
        if steps and len(step_output) != len(steps[0]):
            raise ValueError("Number of elements in step_output should be the same in each "
                             "step")
        steps.append([_select(active, o, _zeros_like(o)) for o in step_output])
        flat_vars = [_select(active, nv, v) for nv, v in zip(new_flat, flat_vars)]
    outputs = [_stack(*rows, axis=0) for rows in zip(*steps)]
    if out_fmt is not None:
        outputs, _ = _regroup(outputs, out_fmt)
    final, _ = _regroup(flat_vars, var_fmt)
    return outputs, final


def cond(pred, then_func, else_func, name="cond"):
    """``then_func()`` where the one-element ``pred`` is nonzero, else ``else_func()``
    (MXNet's ``sym.contrib.cond``): both branches are built and the result selected."""
    if not isinstance(pred, _Symbol) or len(pred) != 1:
        raise ValueError("pred should always be a single output")
    then_out, then_fmt = _flatten(then_func(), "cond: the output of then_func")
    else_out, _ = _flatten(else_func(), "cond: the output of else_func")
    if len(then_out) != len(else_out):
        raise ValueError("Number of outputs differs between then-branch and else-branch")
    outs = [_select(pred, t, e) for t, e in zip(then_out, else_out)]
    result, _ = _regroup(outs, then_fmt)
    return result


# names MXNet has and gluonlite lacks fail naming the reason (gluonlite/unsupported.py)
__getattr__ = _namespace_getattr("sym.contrib", __name__)
