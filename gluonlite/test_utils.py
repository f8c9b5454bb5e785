"""Testing helpers with MXNet 1.9.1's ``mxnet.test_utils`` signatures and behaviour.

Symbol checks (``check_numeric_gradient``, ``check_symbolic_forward``,
``check_symbolic_backward``, ``check_consistency``) take a Symbol and a *location*: a
list of arrays in ``sym.list_arguments()`` order or a dict by argument name, as MXNet's.
Tolerances default per dtype as MXNet's (``default_rtols``/``default_atols``; float32:
rtol 1e-4, atol 1e-3) and may be numbers or dicts dtype -> number.

gluonlite's own helper for Python functions of NDArrays (rather than Symbols) is
:func:`check_gradient_fn` (it was ``check_numeric_gradient`` before MXNet's signature took
the name).
"""
from __future__ import annotations

import json
import numbers
import os
from contextlib import contextmanager

import numpy as np
import numpy.testing as npt

from . import autograd
from . import context as _context
from . import random as _random
from . import symbol as _sym
from .base import MXNetError
from .context import Context, current_context
from .ndarray import NDArray, array, waitall
from .symbol import Symbol
# as MXNet's test_utils (use_np raises NotImplementedError: gluonlite has no mx.np)
from .util import use_np, getenv, setenv  # noqa: F401

__all__ = ["default_context", "set_default_context", "default_dtype", "default_rtols",
           "default_atols", "default_numeric_eps", "get_tolerance", "get_tols", "get_atol",
           "get_rtol", "get_etol", "random_arrays", "random_uniform_arrays",
           "assert_almost_equal", "assert_allclose", "almost_equal", "same", "rand_ndarray",
           "rand_shape_2d", "rand_shape_3d", "rand_shape_nd", "np_reduce", "simple_forward",
           "numeric_grad", "check_numeric_gradient", "check_symbolic_forward",
           "check_symbolic_backward", "check_consistency", "compare_ndarray_tuple",
           "compare_optimizer", "same_symbol_structure", "environment", "assert_exception",
           "collapse_sum_like", "check_gradient_fn", "numeric_grad_fn", "use_np", "getenv",
           "setenv"]


# --- contexts and default tolerances ------------------------------------------------------
def default_context() -> Context:
    """The context tests run on: the current one (``set_default_context`` changes it)."""
    return current_context()


def set_default_context(ctx: Context):
    """Make ``ctx`` the default context of everything (``mx.current_context()``), as
    MXNet's does; ``with ctx:`` blocks still take precedence inside them."""
    if not isinstance(ctx, Context):
        raise TypeError(f"set_default_context: ctx must be a Context, got {type(ctx).__name__}")
    _context._CPU0 = ctx


def default_dtype():
    """The dtype tests create arrays in: float32."""
    return np.float32


def default_rtols():
    """Default relative tolerance per dtype (MXNet's table)."""
    d = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-5}
    d.update({np.dtype(t): 0 for t in (np.bool_, np.int8, np.uint8, np.int32, np.uint32,
                                       np.int64, np.uint64)})
    return d


def default_atols():
    """Default absolute tolerance per dtype (MXNet's table)."""
    d = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-20}
    d.update({np.dtype(t): 0 for t in (np.bool_, np.int8, np.uint8, np.int32, np.uint32,
                                       np.int64, np.uint64)})
    return d


def default_numeric_eps():
    """Finite-difference step per dtype (powers of two, as MXNet's)."""
    return {np.dtype(np.float16): 1.0 / 2 ** 6, np.dtype(np.float32): 1.0 / 2 ** 9,
            np.dtype(np.float64): 1.0 / 2 ** 14}


def get_tolerance(dat, tol, default_tol):
    """``tol`` if a number, else its entry (or ``default_tol``'s) for ``dat``'s dtype."""
    if isinstance(tol, numbers.Number):
        return tol
    dtype = np.dtype(dat.dtype)
    tol = {} if tol is None else tol
    if dtype not in tol and dtype not in default_tol:
        raise MXNetError(f"no default tolerance for dtype {dtype.name}; pass rtol/atol")
    return tol.get(dtype, default_tol.get(dtype))


def get_tols(x, y, rtol, atol):
    """The (rtol, atol) for comparing ``x`` and ``y``: the larger default of the two
    dtypes unless given."""
    if isinstance(x, numbers.Number):
        x = np.array(x)
    if isinstance(y, numbers.Number):
        y = np.array(y)
    rtol = max(get_tolerance(x, rtol, default_rtols()), get_tolerance(y, rtol, default_rtols()))
    atol = max(get_tolerance(x, atol, default_atols()), get_tolerance(y, atol, default_atols()))
    return rtol, atol


def get_atol(atol=None, dtype=np.dtype(np.float64)):
    """``atol``, or the default for ``dtype``."""
    return default_atols()[np.dtype(dtype)] if atol is None else atol


def get_rtol(rtol=None, dtype=np.dtype(np.float64)):
    """``rtol``, or the default for ``dtype``."""
    return default_rtols()[np.dtype(dtype)] if rtol is None else rtol


def get_etol(etol=None):
    """``etol`` or 0."""
    return 0 if etol is None else etol


# --- random data --------------------------------------------------------------------------
def random_arrays(*shapes):
    """Standard normal float32 NumPy arrays of the given shapes (a float for shape ())."""
    arrays = [np.array(np.random.randn(), dtype=default_dtype()) if len(s) == 0 else
              np.random.randn(*s).astype(default_dtype()) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def random_uniform_arrays(*shapes, **kwargs):
    """Uniform float32 NumPy arrays (``low``, ``high``, ``dtype`` keywords)."""
    low, high = kwargs.pop("low", 0.0), kwargs.pop("high", 1.0)
    dtype = kwargs.pop("dtype", default_dtype())
    if kwargs:
        raise TypeError(f"random_uniform_arrays: unknown arguments {sorted(kwargs)}")
    arrays = [np.random.uniform(low, high, size=s).astype(dtype) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def rand_ndarray(shape, stype="default", density=None, dtype=None, modifier_func=None,
                 shuffle_csr_indices=False, distribution=None, ctx=None):
    """A standard normal NDArray of ``shape`` (``dtype`` default float32) on ``ctx``.
    Only ``stype='default'`` exists here; sparse storage types raise MXNetError."""
    if stype != "default":
        raise MXNetError(f"rand_ndarray: stype={stype!r} is not supported by this helper; "
                         "only 'default' (dense) arrays are generated")
    return array(random_arrays(shape), dtype=dtype or default_dtype(),
                 ctx=ctx or default_context())


def rand_shape_2d(dim0=10, dim1=10, allow_zero_size=False):
    """A random 2-D shape with sizes in [1 (0 if allowed), dim]."""
    low = 0 if allow_zero_size else 1
    return np.random.randint(low, dim0 + 1), np.random.randint(low, dim1 + 1)


def rand_shape_3d(dim0=10, dim1=10, dim2=10, allow_zero_size=False):
    """A random 3-D shape with sizes in [1 (0 if allowed), dim]."""
    low = 0 if allow_zero_size else 1
    return (np.random.randint(low, dim0 + 1), np.random.randint(low, dim1 + 1),
            np.random.randint(low, dim2 + 1))


def rand_shape_nd(num_dim, dim=10, allow_zero_size=False):
    """A random shape of ``num_dim`` axes with sizes in [1 (0 if allowed), dim]."""
    low = 0 if allow_zero_size else 1
    return tuple(np.random.randint(low, dim + 1, size=num_dim))


def np_reduce(dat, axis, keepdims, numpy_reduce_func):
    """Reduce ``dat`` over ``axis`` (int, list or None) one axis at a time with
    ``numpy_reduce_func`` (e.g. ``np.sum``), keeping reduced axes when ``keepdims``."""
    if isinstance(axis, int):
        axis = [axis]
    else:
        axis = list(axis) if axis is not None else range(len(dat.shape))
    ret = dat
    for i in reversed(sorted(axis)):
        ret = numpy_reduce_func(ret, axis=i)
    if keepdims:
        keepdims_shape = list(dat.shape)
        for i in axis:
            keepdims_shape[i] = 1
        ret = ret.reshape(tuple(keepdims_shape))
    return ret


# --- comparisons --------------------------------------------------------------------------
def _as_np(a):
    return a.asnumpy() if isinstance(a, NDArray) else a


def _find_max_violation(a, b, rtol, atol):
    absdiff = np.where(np.equal(a, b), 0, np.abs(a - b))
    tol = atol + rtol * np.abs(b)
    violation = absdiff / (tol + 1e-20)
    loc = np.argmax(violation)
    # plain ints, so messages read "(1, 2)" as MXNet's do
    idx = tuple(int(i) for i in np.unravel_index(loc, violation.shape))
    return idx, np.max(violation)


def same(a, b):
    """Whether two arrays are exactly equal (shape and values)."""
    return np.array_equal(_as_np(a), _as_np(b))


def _check_shapes(a, b):
    if a.shape != b.shape:
        raise AssertionError(npt.build_err_msg(
            [a, b], err_msg=f"a.shape = {a.shape} and b.shape = {b.shape} are not equal"))


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False, use_broadcast=True):
    """Whether ``|a - b| <= atol + rtol * |b|`` everywhere (``np.allclose``; defaults
    of float64: rtol 1e-5, atol 1e-20)."""
    a, b = np.asarray(_as_np(a)), np.asarray(_as_np(b))
    if not use_broadcast:
        _check_shapes(a, b)
    return np.allclose(a, b, rtol=get_rtol(rtol), atol=get_atol(atol), equal_nan=equal_nan)


def _location(a, b, index, names, max_error=False):
    maximum = "maximum " if max_error else ""
    return "Location of %serror: %s, %s=%.8f, %s=%.8f" % (
        maximum, str(index), names[0], a[index], names[1], b[index])


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False,
                        use_broadcast=True, mismatches=(10, 10)):
    """Raise AssertionError unless ``a`` and ``b`` (NDArrays, NumPy arrays or numbers)
    agree within ``atol + rtol * |b|``.

    ``rtol``/``atol``: numbers, dicts dtype -> number, or None for the larger per-dtype
    default of ``a`` and ``b``. ``names`` label the two in the message; ``equal_nan``
    treats NaNs as equal; ``use_broadcast=False`` requires equal shapes; ``mismatches``
    (shown, searched) bounds how many violations the message lists.
    """
    if not use_broadcast:
        _check_shapes(a, b)
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _as_np(a), _as_np(b)
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == np.bool_ and b.dtype == np.bool_:
        np.testing.assert_equal(a, b)
        return
    if almost_equal(a, b, rtol, atol, equal_nan=equal_nan):
        return
    if use_broadcast and a.shape != b.shape:
        a, b = (x.copy() for x in np.broadcast_arrays(a, b))
    index, rel = _find_max_violation(a, b, rtol, atol)
    if index != ():
        # as MXNet: the worst violations are printed, the message names the maximum one
        index_err, rel_err = index, rel
        print("\n*** Maximum errors for vector of size {}:  rtol={}, atol={}\n".format(
            a.size, rtol, atol))
        a_tmp, b_tmp = a.copy(), b.copy()
        i = 1
        while i <= a.size:
            if i <= mismatches[0]:
                print("%3d: Error %f  %s" % (i, rel, _location(a, b, index, names)))
            a_tmp[index] = b_tmp[index] = 0
            if almost_equal(a_tmp, b_tmp, rtol, atol, equal_nan=equal_nan):
                break
            i += 1
            if i <= mismatches[1] or mismatches[1] <= 0:
                index, rel = _find_max_violation(a_tmp, b_tmp, rtol, atol)
            else:
                break
        degree = "at least " if mismatches[1] > 0 and i > mismatches[1] else ""
        err = "Error %f exceeds tolerance rtol=%e, atol=%e (mismatch %s%f%%).\n%s" % (
            rel_err, rtol, atol, degree, 100 * i / a.size,
            _location(a, b, index_err, names, max_error=True))
    else:
        err = "Error %f exceeds tolerance rtol=%e, atol=%e.\n" % (rel, rtol, atol)
    with np.printoptions(threshold=4, suppress=True):
        msg = npt.build_err_msg([a, b], err_msg=err)
    raise AssertionError(msg)


def assert_allclose(a, b, rtol=1e-07, atol=0, equal_nan=True):
    """``assert_almost_equal`` with NumPy's ``assert_allclose`` defaults."""
    assert_almost_equal(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def assert_exception(f, exception_type, *args, **kwargs):
    """Assert that ``f(*args, **kwargs)`` raises ``exception_type``."""
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError(f"{getattr(f, '__name__', f)} did not raise "
                         f"{exception_type.__name__}")


def collapse_sum_like(a, shape):
    """Sum the NumPy array ``a`` over the axes that broadcasting ``shape`` to ``a.shape``
    added or stretched."""
    assert len(a.shape) >= len(shape)
    if np.prod(shape) == 0 or a.size == 0:
        return np.zeros(shape, dtype=a.dtype)
    axes = []
    ndim_diff = len(a.shape) - len(shape)
    for i in range(ndim_diff):
        axes.append(i)
    for i, s in enumerate(shape):
        if s != a.shape[i + ndim_diff]:
            assert s == 1
            axes.append(i + ndim_diff)
    return np.sum(a, axis=tuple(axes)).reshape(shape)


# --- symbol checks ------------------------------------------------------------------------
def _check_dtype(fname, dtype, allow_asnumpy=True):
    ok = (np.float16, np.float32, np.float64)
    if not ((allow_asnumpy and isinstance(dtype, str) and dtype == "asnumpy")
            or dtype in ok or (not isinstance(dtype, str) and np.dtype(dtype) in
                               [np.dtype(t) for t in ok])):
        also = " or 'asnumpy'" if allow_asnumpy else ""
        raise MXNetError(f"{fname}: dtype must be float16, float32, float64{also}, got "
                         f"{dtype!r}")


def _to_nd(v, ctx, dtype):
    if isinstance(v, NDArray):
        return v if v.context == ctx else v.as_in_context(ctx)
    v = np.asarray(v)
    return array(v, ctx=ctx, dtype=v.dtype if isinstance(dtype, str) else dtype)


def _parse_location(sym, location, ctx, dtype=np.float32):
    """``location`` (list in ``sym.list_arguments()`` order, or dict by name) as a dict of
    NDArrays on ``ctx`` (``dtype='asnumpy'`` keeps each array's dtype)."""
    if not isinstance(location, (dict, list, tuple)):
        raise MXNetError(f"location must be a list, tuple or dict of arrays, got "
                         f"{type(location).__name__}")
    args = sym.list_arguments()
    if isinstance(location, dict):
        if set(location) != set(args):
            raise ValueError("Symbol arguments and keys of the given location do not match."
                             f"symbol args:{set(args)}, location.keys():{set(location)}")
    else:
        if len(location) != len(args):
            raise ValueError(f"location has {len(location)} arrays but the symbol has "
                             f"{len(args)} arguments {args}")
        location = dict(zip(args, location))
    return {k: _to_nd(location[k], ctx, dtype) for k in sorted(location)}


def _parse_aux_states(sym, aux_states, ctx, dtype=np.float32):
    if aux_states is None:
        return None
    names = sym.list_auxiliary_states()
    if isinstance(aux_states, dict):
        if set(aux_states) != set(names):
            raise ValueError("Symbol aux_states names and given aux_states do not match."
                             f"symbol aux_names:{set(names)}, aux_states.keys:"
                             f"{set(aux_states)}")
    elif isinstance(aux_states, (list, tuple)):
        aux_states = dict(zip(names, aux_states))
    else:
        raise MXNetError(f"aux_states must be a list, tuple or dict, got "
                         f"{type(aux_states).__name__}")
    return {k: _to_nd(v, ctx, dtype) for k, v in aux_states.items()}


def simple_forward(sym, ctx=None, is_train=False, **inputs):
    """Run ``sym`` on the NumPy ``inputs`` (by argument name); returns the output as a
    NumPy array, or a list of them for several outputs."""
    ctx = ctx or default_context()
    inputs = {k: array(v, ctx=ctx) for k, v in inputs.items()}
    exe = sym.bind(ctx, args=inputs)
    exe.forward(is_train=is_train)
    outputs = [x.asnumpy() for x in exe.outputs]
    return outputs[0] if len(outputs) == 1 else outputs


def numeric_grad(executor, location, aux_states=None, eps=1e-4, use_forward_train=True,
                 dtype=np.float32):
    """Finite-difference gradients of ``sum(executor.outputs[0])`` with respect to every
    floating point argument in ``location`` (dict name -> NumPy array), by central
    differences of step ``eps`` (``x +- eps/2``), as MXNet's."""
    _check_dtype("numeric_grad", dtype, allow_asnumpy=False)
    approx = {k: np.zeros(v.shape, dtype=dtype) for k, v in location.items()}
    for k, v in location.items():
        executor.arg_dict[k][:] = np.asarray(v, dtype=dtype)
    for k in location:
        location[k] = np.asarray(location[k], order="C")
    for k, v in location.items():
        if v.dtype.kind != "f":
            continue
        old = v.copy()
        for i in range(int(np.prod(v.shape))):
            v.ravel()[i] += eps / 2.0
            executor.arg_dict[k][:] = np.asarray(v, dtype=dtype)
            if aux_states is not None:
                for key, val in aux_states.items():
                    executor.aux_dict[key][:] = val
            executor.forward(is_train=use_forward_train)
            f_peps = executor.outputs[0].asnumpy()
            v.ravel()[i] -= eps
            executor.arg_dict[k][:] = np.asarray(v, dtype=dtype)
            if aux_states is not None:
                for key, val in aux_states.items():
                    executor.aux_dict[key][:] = val
            executor.forward(is_train=use_forward_train)
            f_neps = executor.outputs[0].asnumpy()
            approx[k].ravel()[i] = (f_peps - f_neps).sum() / eps
            v.ravel()[i] = old.ravel()[i]
        executor.arg_dict[k][:] = np.asarray(old, dtype=dtype)
    return approx


def check_numeric_gradient(sym, location, aux_states=None, numeric_eps=None, rtol=None,
                           atol=None, grad_nodes=None, use_forward_train=True, ctx=None,
                           grad_stype_dict=None, dtype=np.float32):
    """Check the gradient of Symbol ``sym`` against finite differences (MXNet's).

    ``location``: argument values, a list in ``sym.list_arguments()`` order or a dict by
    name (all arguments). The checked quantity is ``sum(sym * P)`` for a random
    projection ``P`` (through ``make_loss``). ``grad_nodes``: names to check (list), or a
    dict name -> grad_req ('write', 'add', 'null'). ``numeric_eps`` defaults per dtype
    (``default_numeric_eps``); ``rtol``/``atol`` as in :func:`assert_almost_equal`.
    ``grad_stype_dict`` may only name dense ('default') gradients.
    """
    _check_dtype("check_numeric_gradient", dtype, allow_asnumpy=False)
    if not isinstance(sym, Symbol):
        raise TypeError(f"check_numeric_gradient: sym must be a Symbol, got "
                        f"{type(sym).__name__} (for Python functions of NDArrays use "
                        "gluonlite.test_utils.check_gradient_fn)")
    if grad_stype_dict:
        bad = {k: v for k, v in grad_stype_dict.items() if v != "default"}
        if bad:
            raise MXNetError(f"check_numeric_gradient: grad_stype_dict {bad}: only dense "
                             "('default') gradients are supported by this helper")
    ctx = ctx or default_context()
    location = _parse_location(sym, location, ctx, dtype)
    location_npy = {k: v.asnumpy() for k, v in location.items()}
    aux_states = _parse_aux_states(sym, aux_states, ctx, dtype)
    aux_npy = None if aux_states is None else {k: v.asnumpy() for k, v in aux_states.items()}
    if grad_nodes is None:
        grad_nodes = sym.list_arguments()
        grad_req = {k: "write" for k in grad_nodes}
    elif isinstance(grad_nodes, (list, tuple)):
        grad_nodes = list(grad_nodes)
        grad_req = {k: "write" for k in grad_nodes}
    elif isinstance(grad_nodes, dict):
        grad_req = dict(grad_nodes)
        grad_nodes = list(grad_nodes)
    else:
        raise ValueError(f"grad_nodes must be None, a list or a dict, got "
                         f"{type(grad_nodes).__name__}")
    unknown = [k for k in grad_nodes if k not in location]
    if unknown:
        raise ValueError(f"grad_nodes {unknown} are not arguments of the symbol "
                         f"{sym.list_arguments()}")
    _, out_shape, _ = sym.infer_shape(**{k: v.shape for k, v in location.items()})
    if out_shape is None or len(out_shape) != 1:
        raise MXNetError("check_numeric_gradient: the symbol must have exactly one output "
                         "whose shape follows from the location")
    proj = _sym.var("__random_proj")
    out = _sym.make_loss(sym * proj)
    location = dict(location)
    location["__random_proj"] = array(np.random.rand(*out_shape[0]) + 0.1, ctx=ctx,
                                      dtype=dtype)
    args_grad_npy = {k: np.random.normal(0, 0.01, size=location[k].shape) for k in grad_nodes}
    args_grad_npy["__random_proj"] = np.random.normal(0, 0.01, size=out_shape[0])
    args_grad = {k: array(v, ctx=ctx, dtype=dtype) for k, v in args_grad_npy.items()}
    grad_req = dict(grad_req)
    grad_req.setdefault("__random_proj", "write")
    executor = out.bind(ctx, grad_req=grad_req, args=location, args_grad=args_grad,
                        aux_states=aux_states)
    executor.forward(is_train=True)
    eps = get_tolerance(executor.outputs[0], numeric_eps, default_numeric_eps())
    if np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.float16)) and eps < 1e-5:
        raise MXNetError(f"check_numeric_gradient: numeric_eps={eps} is too small for "
                         f"{np.dtype(dtype).name} finite differences (>= 1e-5)")
    executor.backward()
    symbolic = {k: v.asnumpy() for k, v in executor.grad_dict.items()}
    numeric = numeric_grad(executor, location_npy, aux_npy, eps=eps,
                           use_forward_train=use_forward_train, dtype=dtype)
    for name in grad_nodes:
        fd, orig, sg = numeric[name], args_grad_npy[name], symbolic[name]
        label = ("NUMERICAL_%s" % name, "BACKWARD_%s" % name)
        req = grad_req[name]
        if req == "write":
            assert_almost_equal(fd, sg, rtol, atol, label)
        elif req == "add":
            assert_almost_equal(fd, sg - orig, rtol, atol, label)
        elif req == "null":
            assert_almost_equal(orig.astype(sg.dtype), sg, rtol, atol, label)
        else:
            raise ValueError(f"Invalid grad_req {req} for argument {name}")


def check_symbolic_forward(sym, location, expected, rtol=None, atol=None, aux_states=None,
                           ctx=None, equal_nan=False, dtype=np.float32):
    """Compare ``sym``'s forward outputs (``is_train=False``) at ``location`` with
    ``expected`` (list in output order, or dict by output name). Returns the outputs."""
    _check_dtype("check_symbolic_forward", dtype)
    ctx = ctx or default_context()
    location = _parse_location(sym, location, ctx, dtype)
    aux_states = _parse_aux_states(sym, aux_states, ctx, dtype)
    if isinstance(expected, dict):
        expected = [expected[k] for k in sym.list_outputs()]
    args_grad = {k: array(np.zeros(v.shape), ctx=ctx, dtype=v.dtype)
                 for k, v in location.items()}
    executor = sym.bind(ctx=ctx, args=location, args_grad=args_grad, aux_states=aux_states)
    executor.forward(is_train=False)
    outputs = executor.outputs
    if len(expected) != len(outputs):
        raise MXNetError(f"check_symbolic_forward: {len(expected)} expected arrays for "
                         f"{len(outputs)} outputs {sym.list_outputs()}")
    for name, exp, out in zip(sym.list_outputs(), expected, outputs):
        assert_almost_equal(exp, out, rtol, atol, ("EXPECTED_%s" % name, "FORWARD_%s" % name),
                            equal_nan=equal_nan)
    return executor.outputs


def check_symbolic_backward(sym, location, out_grads, expected, rtol=None, atol=None,
                            aux_states=None, grad_req="write", ctx=None, grad_stypes=None,
                            equal_nan=False, dtype=np.float32):
    """Compare ``sym``'s gradients at ``location`` for head gradients ``out_grads`` (list,
    dict by output name, or None for ones) with ``expected`` (list in argument order, or
    dict by argument name). ``grad_req`` may be a string, list or dict; with 'add' the
    gradient accumulates onto a random buffer, with 'null' that buffer must stay
    unchanged. Returns the gradient arrays by name."""
    _check_dtype("check_symbolic_backward", dtype)
    if grad_stypes:
        bad = {k: v for k, v in grad_stypes.items() if v not in (None, "default")}
        if bad:
            raise MXNetError(f"check_symbolic_backward: grad_stypes {bad}: only dense "
                             "('default') gradients are supported by this helper")
    ctx = ctx or default_context()
    location = _parse_location(sym, location, ctx, dtype)
    aux_states = _parse_aux_states(sym, aux_states, ctx, dtype)
    if isinstance(expected, (list, tuple)):
        expected = dict(zip(sym.list_arguments(), expected))
    args_grad_npy = {k: np.random.normal(size=np.shape(v)) for k, v in sorted(expected.items())}
    args_grad = {k: array(v, ctx=ctx, dtype=np.asarray(_as_np(expected[k])).dtype
                          if isinstance(dtype, str) else dtype)
                 for k, v in args_grad_npy.items()}
    if isinstance(grad_req, str):
        grad_req = {k: grad_req for k in sym.list_arguments()}
    elif isinstance(grad_req, (list, tuple)):
        grad_req = dict(zip(sym.list_arguments(), grad_req))
    executor = sym.bind(ctx=ctx, args=location, args_grad=args_grad, aux_states=aux_states,
                        grad_req=grad_req)
    executor.forward(is_train=True)
    if isinstance(out_grads, (tuple, list)):
        out_grads = [_to_nd(g, ctx, dtype) for g in out_grads]
    elif isinstance(out_grads, dict):
        out_grads = [_to_nd(out_grads[k], ctx, dtype) for k in sym.list_outputs()]
    elif out_grads is not None:
        raise MXNetError(f"out_grads must be None, a list or a dict, got "
                         f"{type(out_grads).__name__}")
    executor.backward(out_grads)
    for name in expected:
        got = args_grad[name].asnumpy()
        label = ("EXPECTED_%s" % name, "BACKWARD_%s" % name)
        req = grad_req.get(name, "null")
        if req == "write":
            assert_almost_equal(expected[name], got, rtol, atol, label, equal_nan=equal_nan)
        elif req == "add":
            assert_almost_equal(expected[name], got - args_grad_npy[name], rtol, atol, label,
                                equal_nan=equal_nan)
        elif req == "null":
            assert_almost_equal(args_grad_npy[name].astype(got.dtype), got, rtol, atol,
                                label, equal_nan=equal_nan)
        else:
            raise ValueError(f"Invalid grad_req {req} for argument {name}")
    return args_grad


def check_consistency(sym, ctx_list, scale=1.0, grad_req="write", arg_params=None,
                      aux_params=None, rtol=None, atol=None, raise_on_err=True,
                      ground_truth=None, equal_nan=False, use_uniform=False,
                      rand_type=np.float64):
    """Run ``sym`` (or one Symbol per entry) under every entry of ``ctx_list`` (dicts
    with ``ctx``, input shapes by name and optionally ``type_dict``) on the same random
    inputs, and compare outputs and gradients with the most precise run (MXNet's).
    Returns the ground truth (outputs and gradients by name)."""
    if len(ctx_list) < 2:
        raise MXNetError("check_consistency: ctx_list needs at least two entries")
    if isinstance(sym, Symbol):
        sym = [sym] * len(ctx_list)
    elif len(sym) != len(ctx_list):
        raise MXNetError(f"check_consistency: {len(sym)} symbols for {len(ctx_list)} contexts")
    output_names = sym[0].list_outputs()
    arg_names = sym[0].list_arguments()
    exe_list = []
    for s, spec in zip(sym, ctx_list):
        if s.list_arguments() != arg_names or s.list_outputs() != output_names:
            raise MXNetError("check_consistency: the symbols differ in arguments or outputs")
        spec = dict(spec)
        ctx = spec.pop("ctx")
        type_dict = spec.pop("type_dict", None)
        exe_list.append(s.simple_bind(ctx, grad_req=grad_req, type_dict=type_dict, **spec))
    arg_params = {} if arg_params is None else dict(arg_params)
    aux_params = {} if aux_params is None else dict(aux_params)
    for n, arr in sorted(exe_list[0].arg_dict.items()):
        if n not in arg_params:
            if use_uniform:
                arg_params[n] = np.random.uniform(low=-0.92 * scale, high=0.92 * scale,
                                                  size=arr.shape).astype(rand_type)
            else:
                arg_params[n] = np.random.normal(size=arr.shape, scale=scale).astype(rand_type)
    for n in exe_list[0].aux_dict:
        aux_params.setdefault(n, 0)
    for exe in exe_list:
        for name, arr in exe.arg_dict.items():
            arr[:] = arg_params[name]
        for name, arr in exe.aux_dict.items():
            arr[:] = aux_params[name]
        if grad_req == "add":
            for arr in exe.grad_arrays:
                if arr is not None:
                    arr[:] = 0

    def smaller_dtype(dt1, dt2):
        return dt1 if dt2 is None or np.dtype(dt1).itemsize < np.dtype(dt2).itemsize else dt2

    for exe in exe_list:
        exe.forward(is_train=False)
    dtypes = [np.dtype(exe.outputs[0].dtype) for exe in exe_list]
    gt_idx = int(np.argmax([d.itemsize for d in dtypes]))
    gt = ground_truth
    if gt is None:
        gt = dict(zip(output_names, exe_list[gt_idx].outputs))
    for i, exe in enumerate(exe_list):
        if i == gt_idx:
            continue
        for name, arr in zip(output_names, exe.outputs):
            try:
                assert_almost_equal(arr, gt[name], rtol=rtol, atol=atol, equal_nan=equal_nan)
            except AssertionError as e:
                if raise_on_err:
                    raise AssertionError(f"Predict Err: ctx {i} vs ctx {gt_idx} at {name}: "
                                         f"{e}") from None
                print(f"Predict Err: ctx {i} vs ctx {gt_idx} at {name}\n{e}")
    if grad_req != "null":
        for exe in exe_list:
            exe.forward(is_train=True)
        least = [out.dtype for out in exe_list[0].outputs]
        for exe in exe_list:
            least = [smaller_dtype(o.dtype, d) for o, d in zip(exe.outputs, least)]
        golden = [out.asnumpy().astype(d) for out, d in zip(exe_list[0].outputs, least)]
        for exe in exe_list:
            exe.backward([array(g, ctx=exe._ctx, dtype=o.dtype)
                          for g, o in zip(golden, exe.outputs)])
        if ground_truth is None:
            gt = dict(zip(output_names, exe_list[gt_idx].outputs))
            gt.update(exe_list[gt_idx].grad_dict)
        for i, exe in enumerate(exe_list):
            if i == gt_idx:
                continue
            for name, arr in zip(output_names + arg_names,
                                 list(exe.outputs) + list(exe.grad_arrays)):
                if arr is None or name not in gt or gt[name] is None:
                    continue
                gtarr = gt[name]
                rt_, at_ = rtol, atol
                sa = smaller_dtype(arr.dtype, dtypes[i])
                sg = smaller_dtype(gtarr.dtype, dtypes[gt_idx])
                if sa != arr.dtype or sg != gtarr.dtype:
                    rt_, at_ = get_tols(np.zeros(1, sa), np.zeros(1, sg), rtol, atol)
                try:
                    assert_almost_equal(arr, gtarr, rtol=rt_, atol=at_, equal_nan=equal_nan)
                except AssertionError as e:
                    if raise_on_err:
                        raise AssertionError(f"Train Err: ctx {i} vs ctx {gt_idx} at {name}: "
                                             f"{e}") from None
                    print(f"Train Err: ctx {i} vs ctx {gt_idx} at {name}\n{e}")
    return gt


def compare_ndarray_tuple(t1, t2, rtol=None, atol=None):
    """Compare two (nested tuples of) NDArrays element by element; None skips."""
    if t1 is None or t2 is None:
        return
    if isinstance(t1, tuple):
        for s1, s2 in zip(t1, t2):
            compare_ndarray_tuple(s1, s2, rtol, atol)
    else:
        assert_almost_equal(t1, t2, rtol=rtol, atol=atol)


def compare_optimizer(opt1, opt2, shape, dtype, w_stype="default", g_stype="default",
                      rtol=1e-4, atol=1e-5, compare_states=True, ntensors=1):
    """Run one update of optimizers ``opt1`` and ``opt2`` on the same random weight and
    gradient and compare states and weights (MXNet's). With a list of ``shape``s,
    ``opt2`` updates ``ntensors`` weights in one multi-tensor call and ``opt1`` one at a
    time. Only dense storage (``w_stype``/``g_stype`` 'default') is supported."""
    for what, st in (("w_stype", w_stype), ("g_stype", g_stype)):
        if st != "default":
            raise MXNetError(f"compare_optimizer: {what}={st!r}: only 'default' (dense) "
                             "storage is supported by this helper")
    ctx = default_context()
    if not isinstance(shape, list):
        if ntensors != 1:
            raise MXNetError("compare_optimizer: ntensors must be 1 for a single shape")
        w2 = _random.uniform(shape=shape, ctx=ctx, dtype=dtype)
        w1 = w2.copyto(ctx)
        g2 = _random.uniform(shape=shape, ctx=ctx, dtype=dtype)
        g1 = g2.copyto(ctx)
        state1 = opt1.create_state_multi_precision(0, w1)
        state2 = opt2.create_state_multi_precision(0, w2)
        if compare_states:
            compare_ndarray_tuple(state1, state2)
        opt1.update_multi_precision(0, w1, g1, state1)
        opt2.update_multi_precision(0, w2, g2, state2)
        if compare_states:
            compare_ndarray_tuple(state1, state2, rtol=rtol, atol=atol)
        assert_almost_equal(w1, w2, rtol=rtol, atol=atol)
    else:
        w1 = tuple(_random.uniform(shape=s, ctx=ctx, dtype=dtype) for s in shape)
        g1 = tuple(_random.uniform(shape=s, ctx=ctx, dtype=dtype) for s in shape)
        w2 = tuple(w.copy() for w in w1)
        g2 = tuple(g.copy() for g in g1)
        state2 = [opt2.create_state_multi_precision(0, w2[i]) for i in range(ntensors)]
        opt2.update_multi_precision(list(range(ntensors)), w2, g2, state2)
        for i in range(ntensors):
            state1 = opt1.create_state_multi_precision(i, w1[i])
            opt1.update_multi_precision(i, w1[i], g1[i], state1)
            if compare_states:
                compare_ndarray_tuple(state1, state2[i], rtol, atol)
            compare_ndarray_tuple(w1[i], w2[i], rtol, atol)


def same_symbol_structure(sym1, sym2):
    """Whether two Symbols have the same operator at every node position."""
    n1 = json.loads(sym1.tojson())["nodes"]
    n2 = json.loads(sym2.tojson())["nodes"]
    return all(a["op"] == b["op"] for a, b in zip(n1, n2))


@contextmanager
def environment(*args):
    """Set environment variables for the ``with`` body and restore them after (even on
    error): ``environment('NAME', 'value')`` or ``environment({'A': '1', 'B': None})``
    (None unsets)."""
    if len(args) == 1 and isinstance(args[0], dict):
        env_vars = args[0]
    elif len(args) == 2:
        env_vars = {args[0]: args[1]}
    else:
        raise MXNetError("environment: expected one dict, or a name and a value")

    def set_environ(d):
        for k, v in d.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    snapshot = {k: os.environ.get(k) for k in env_vars}
    set_environ(env_vars)
    try:
        yield
    finally:
        waitall()
        set_environ(snapshot)


# --- gluonlite's own helpers (Python functions of NDArrays) -------------------------------
def _fn_inputs(location, dtype, ctx):
    if isinstance(location, dict):
        names = list(location)
        vals = [location[k] for k in names]
    else:
        names = None
        vals = list(location) if isinstance(location, (list, tuple)) else [location]
    return names, [array(np.asarray(_as_np(v)), ctx=ctx, dtype=dtype) for v in vals]


def _fn_call(fn, names, arrs):
    out = fn(**dict(zip(names, arrs))) if names is not None else fn(*arrs)
    return [out] if isinstance(out, NDArray) else list(out)


def numeric_grad_fn(fn, arrays, projections, eps=1e-4, names=None, train=True):
    """Central finite differences of ``sum(fn(*arrays) * projections)`` for every input."""
    grads = []
    scope = autograd.train_mode() if train else autograd.predict_mode()

    def f():
        with scope:
            outs = _fn_call(fn, names, arrays)
        return sum(float(np.sum(o.asnumpy().astype(np.float64) * p))
                   for o, p in zip(outs, projections))

    for a in arrays:
        g = np.zeros(a.shape, np.float64)
        flat = a._data.reshape(-1)
        gflat = g.reshape(-1)
        for i in range(flat.size):
            orig = flat[i].item()
            flat[i] = orig + eps
            fp = f()
            flat[i] = orig - eps
            fm = f()
            flat[i] = orig
            gflat[i] = (fp - fm) / (2 * eps)
        grads.append(g)
    return grads


def check_gradient_fn(fn, location, numeric_eps=1e-3, rtol=1e-2, atol=1e-3, grad_nodes=None,
                      use_forward_train=True, ctx=None, dtype=np.float32):
    """Compare autograd gradients of the Python function ``fn`` of NDArrays with finite
    differences (gluonlite's helper; MXNet's ``check_numeric_gradient`` takes Symbols).

    ``fn`` is called positionally with a list ``location``, by keyword with a dict, and
    returns an NDArray or a list of them; the checked quantity is ``sum(out * random
    projection)``. ``grad_nodes`` restricts the check to some inputs (indices or names).
    Use ``dtype=np.float64`` for tight checks.
    """
    ctx = ctx or default_context()
    names, arrs = _fn_inputs(location, dtype, ctx)
    keys = names if names is not None else list(range(len(arrs)))
    check = list(range(len(arrs))) if grad_nodes is None else [keys.index(k) for k in grad_nodes]
    for i in check:
        arrs[i].attach_grad()
    with autograd.record(train_mode=use_forward_train):
        outs = _fn_call(fn, names, arrs)
    rng = np.random.RandomState(1234)
    heads = [array(rng.uniform(-1, 1, size=o.shape), ctx=ctx, dtype=o.dtype) for o in outs]
    projs = [h.asnumpy().astype(np.float64) for h in heads]
    autograd.backward(outs, heads)
    numeric = numeric_grad_fn(fn, [a.detach() for a in arrs], projs, eps=numeric_eps,
                              names=names, train=use_forward_train)
    for i in check:
        assert_almost_equal(arrs[i].grad, numeric[i], rtol=rtol, atol=atol,
                            names=(f"autograd grad of input {keys[i]}",
                                   f"numeric grad of input {keys[i]}"))
