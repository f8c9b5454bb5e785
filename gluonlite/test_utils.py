"""Testing helpers (MXNet's ``mxnet.test_utils``): ``assert_almost_equal``,
``check_numeric_gradient``, ``default_context``, ``rand_ndarray``."""
from __future__ import annotations

import numpy as np

from . import autograd
from .context import Context, current_context
from .ndarray import NDArray, array

__all__ = ["default_context", "set_default_context", "assert_almost_equal", "almost_equal",
           "same", "rand_ndarray", "rand_shape_nd", "check_numeric_gradient", "numeric_grad"]

_default_ctx = None


def default_context() -> Context:
    """The context tests run on (``set_default_context`` changes it; else the current one)."""
    return _default_ctx or current_context()


def set_default_context(ctx: Context):
    global _default_ctx
    _default_ctx = ctx


def _np(a):
    if isinstance(a, NDArray):
        return a.asnumpy()
    return np.asarray(a)


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False) -> bool:
    """True if ``a`` and ``b`` agree within ``atol + rtol * |b|`` everywhere."""
    return np.allclose(_np(a), _np(b), rtol=1e-5 if rtol is None else rtol,
                       atol=1e-20 if atol is None else atol, equal_nan=equal_nan)


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False):
    """Raise AssertionError, locating the worst element, unless ``a`` ≈ ``b``.

    Defaults as MXNet 1.9: ``rtol=1e-5``, ``atol=1e-20``. Accepts NDArrays, numpy arrays
    and scalars.
    """
    a_np, b_np = _np(a), _np(b)
    rtol = 1e-5 if rtol is None else rtol
    atol = 1e-20 if atol is None else atol
    if a_np.shape != b_np.shape:
        raise AssertionError(f"shape mismatch: {names[0]} {a_np.shape} vs {names[1]} "
                             f"{b_np.shape}")
    if np.allclose(a_np, b_np, rtol=rtol, atol=atol, equal_nan=equal_nan):
        return
    a64, b64 = a_np.astype(np.float64), b_np.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        viol = np.abs(a64 - b64) / (atol + rtol * np.abs(b64))
    viol = np.where(np.isnan(viol), np.inf, viol)
    idx = np.unravel_index(np.argmax(viol), viol.shape) if viol.ndim else ()
    raise AssertionError(
        f"Items are not equal (rtol={rtol}, atol={atol}): worst at index {idx}: "
        f"{names[0]}={a_np[idx]!r}, {names[1]}={b_np[idx]!r}, error/tolerance="
        f"{viol[idx]:.3g}\n{names[0]}: {a_np}\n{names[1]}: {b_np}")


def same(a, b) -> bool:
    """Exact equality of two arrays."""
    return np.array_equal(_np(a), _np(b))


def rand_shape_nd(num_dim, dim=10):
    """A random shape with ``num_dim`` axes of size 1..dim."""
    return tuple(np.random.randint(1, dim + 1, size=num_dim))


def rand_ndarray(shape, stype="default", density=None, dtype=None, ctx=None):
    """A uniformly random dense NDArray of ``shape``."""
    if stype != "default":
        raise ValueError(f"stype: only 'default' is supported, got {stype!r}")
    return array(np.random.uniform(-1, 1, size=shape), ctx=ctx or default_context(),
                 dtype=dtype or np.float32)


def _as_inputs(location, dtype, ctx):
    if isinstance(location, dict):
        names = list(location)
        vals = [location[k] for k in names]
    else:
        names = None
        vals = list(location) if isinstance(location, (list, tuple)) else [location]
    arrs = [array(_np(v), ctx=ctx, dtype=dtype) for v in vals]
    return names, arrs


def _call(fn, names, arrs):
    out = fn(**dict(zip(names, arrs))) if names is not None else fn(*arrs)
    return [out] if isinstance(out, NDArray) else list(out)


def numeric_grad(fn, arrays, projections, eps=1e-4, names=None, train=True):
    """Central finite differences of ``sum(fn(*arrays) * projections)`` for every input."""
    grads = []
    scope = autograd.train_mode() if train else autograd.predict_mode()

    def f():
        with scope:
            outs = _call(fn, names, arrays)
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


def check_numeric_gradient(fn, location, aux_states=None, numeric_eps=1e-3, rtol=1e-2,
                           atol=None, grad_nodes=None, use_forward_train=True, ctx=None,
                           grad_stype_dict=None, dtype=np.float32):
    """Compare autograd gradients of ``fn`` with finite differences.

    ``fn`` is a Python function of NDArrays (called positionally with a list
    ``location``, by keyword with a dict) returning an NDArray or a list of them. The
    checked quantity is ``sum(out * random projection)``; ``grad_nodes`` restricts the
    check to some inputs (indices or names). Use ``dtype=np.float64`` for tight checks.
    """
    ctx = ctx or default_context()
    names, arrs = _as_inputs(location, dtype, ctx)
    keys = names if names is not None else list(range(len(arrs)))
    if grad_nodes is None:
        check = list(range(len(arrs)))
    else:
        check = [keys.index(k) for k in grad_nodes]
    for i in check:
        arrs[i].attach_grad()
    with autograd.record(train_mode=use_forward_train):
        outs = _call(fn, names, arrs)
    rng = np.random.RandomState(1234)
    projs = [rng.uniform(-1, 1, size=o.shape) for o in outs]
    heads = [array(p, ctx=ctx, dtype=o.dtype) for p, o in zip(projs, outs)]
    projs = [h.asnumpy().astype(np.float64) for h in heads]
    autograd.backward(outs, heads)
    numeric = numeric_grad(fn, [a.detach() for a in arrs], projs, eps=numeric_eps, names=names,
                           train=use_forward_train)
    atol = 1e-3 if atol is None else atol
    for i in check:
        assert_almost_equal(arrs[i].grad, numeric[i], rtol=rtol, atol=atol,
                            names=(f"autograd grad of input {keys[i]}",
                                   f"numeric grad of input {keys[i]}"))
