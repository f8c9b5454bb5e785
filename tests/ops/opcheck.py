"""The standard check every operator goes through (see ``check_op``).

``check_op`` runs an operator through ``nd`` and verifies, in one call:
  * its output(s) against an expected value (numpy reference or MXNet fixture);
  * its registered shape rule and dtype rule against what the forward produced;
  * its gradient rule against central finite differences in float64;
  * that the gradient rule gives the same result with raw arrays (plain backward) and with
    NDArrays (``create_graph=True``, the path of higher-order gradients);
  * optionally, that float32 agrees with float64;
  * for operators with a compiler lowering, that the lowered code computes what the forward
    computes (float64 and float32).
It records which operators were checked, and which had their gradient checked;
``test_zz_coverage.py`` fails if a registered operator was never checked.
"""
from __future__ import annotations

import numpy as np

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.ops import get_op, ZERO_GRAD
from gluonlite.ndarray.register import make_function

COVERED: set = set()
COVERED_GRAD: set = set()
COVERED_LOWER: set = set()


def _to_nd(x, dtype=None):
    x = np.asarray(x)
    return nd.array(x, dtype=dtype or x.dtype)


def _listify(o):
    return [o] if isinstance(o, mx.nd.NDArray) else list(o)


def run_op(name, inputs, attrs=None, train=True):
    fn = make_function(get_op(name))
    with (autograd.train_mode() if train else autograd.predict_mode()):
        return fn(*inputs, **(attrs or {}))


def check_shape_type(name, inputs, attrs, outs):
    op = get_op(name)
    a = op.parse_attrs(dict(attrs or {}))
    if op.variadic is not None and "num_args" in op.attr_specs and "num_args" not in (attrs or {}):
        a = op.parse_attrs(dict(attrs or {}, num_args=len(inputs)))
    _, oshapes = op.infer_shape(a, [tuple(x.shape) for x in inputs])
    nvis = len(outs)
    got = [tuple(o.shape) for o in outs]
    assert [tuple(s) for s in oshapes[:nvis]] == got, \
        f"{name}: shape rule says {oshapes[:nvis]}, forward produced {got}"
    _, otypes = op.infer_type(a, [np.dtype(x.dtype).name for x in inputs])
    got_t = [np.dtype(o.dtype).name for o in outs]
    assert list(otypes[:nvis]) == got_t, \
        f"{name}: dtype rule says {otypes[:nvis]}, forward produced {got_t}"


def check_op(name, inputs, attrs=None, *, expected=None, rtol=1e-5, atol=1e-7,
             grad=None, grad_inputs=None, eps=1e-6, grad_rtol=1e-4, grad_atol=1e-6,
             train=True, seed=None, check_float32=True, f32_rtol=1e-4, f32_atol=1e-5):
    """Run every standard check on operator ``name``.

    inputs: numpy arrays (their dtypes are kept: float inputs are promoted to float64 for
      the checks, integer index inputs stay integer).
    attrs: the operator's attributes, as a user would pass them.
    expected: array, list of arrays, or callable(*float64 numpy inputs) -> those.
    grad: check gradients (default: whenever the operator is differentiable and not zero).
    grad_inputs: indices of inputs whose gradient is checked (default: all float inputs).
    seed: reseed ``mx.random`` before every forward (for random operators like Dropout).
    Returns the float64 outputs as numpy arrays.
    """
    op = get_op(name)
    COVERED.add(op.name)
    attrs = dict(attrs or {})
    inputs = [np.asarray(x) for x in inputs]
    f64 = [x.astype(np.float64) if x.dtype.kind == "f" else x for x in inputs]

    def fwd(*arrs):
        if seed is not None:
            mx.random.seed(seed)
        return run_op(name, arrs, attrs, train=train)

    outs = _listify(fwd(*[_to_nd(x) for x in f64]))
    res = [o.asnumpy() for o in outs]
    check_shape_type(name, [_to_nd(x) for x in f64], attrs, outs)
    if op.lower is not None and seed is None:
        check_lowering(name, f64, attrs, train)
        check_lowering(name, [x.astype(np.float32) if x.dtype.kind == "f" else x
                              for x in f64], attrs, train)

    if expected is not None:
        exp = expected(*f64) if callable(expected) else expected
        exp = [exp] if isinstance(exp, np.ndarray) or np.isscalar(exp) else list(exp)
        assert len(exp) <= len(res), f"{name}: expected {len(exp)} outputs, got {len(res)}"
        for i, (r, e) in enumerate(zip(res, exp)):
            e = np.asarray(e)
            assert r.shape == e.shape, f"{name}: output {i} shape {r.shape} != expected {e.shape}"
            np.testing.assert_allclose(r, e, rtol=rtol, atol=atol,
                                       err_msg=f"{name}: output {i} differs from expected")

    if check_float32 and any(x.dtype.kind == "f" for x in inputs):
        f32 = [x.astype(np.float32) if x.dtype.kind == "f" else x for x in inputs]
        outs32 = _listify(fwd(*[_to_nd(x) for x in f32]))
        for i, (o32, r) in enumerate(zip(outs32, res)):
            if r.dtype.kind == "f":
                assert o32.dtype == np.float32 or r.dtype != np.float64, \
                    f"{name}: float32 inputs gave {o32.dtype} output {i}"
                np.testing.assert_allclose(o32.asnumpy(), r, rtol=f32_rtol, atol=f32_atol,
                                           err_msg=f"{name}: float32 output {i} differs from "
                                                   "float64")

    differentiable = op.grad_fn is not None and op.grad_fn is not ZERO_GRAD
    if grad is None:
        grad = differentiable
    if grad:
        assert differentiable, f"{name}: asked for a gradient check but the op has no gradient"
        if grad_inputs is None:
            grad_inputs = [i for i, x in enumerate(f64) if x.dtype.kind == "f"]
        if grad_inputs:  # e.g. integer-only inputs: nothing to differentiate
            _check_grad(name, fwd, f64, grad_inputs, eps, grad_rtol, grad_atol, train)
            COVERED_GRAD.add(op.name)
    return res


def check_lowering(name, inputs, attrs=None, train=True):
    """The operator's lowered expression (what hybridized code runs) against its forward,
    on a one-equation graph with the inputs' shapes and dtypes."""
    from gluonlite.compiler.codegen import compile_function
    from gluonlite.compiler.infer import infer_dtypes, infer_shapes
    from gluonlite.compiler.ir import Eqn, Graph, Var
    op = get_op(name)
    COVERED_LOWER.add(op.name)
    a = op.parse_attrs(dict(attrs or {}))
    rt = mx.cpu()._runtime(train)
    raw = [np.ascontiguousarray(x) for x in inputs]
    ref = op.fwd(rt, *raw, **a)
    ref = list(ref) if isinstance(ref, tuple) else [ref]
    ins = [Var(f"x{i}", tuple(x.shape), x.dtype.name) for i, x in enumerate(raw)]
    outs = [Var() for _ in range(op.num_outputs(a))]
    g = Graph(ins, [Eqn(op, a, ins, outs)], outs)
    infer_shapes(g)
    infer_dtypes(g)
    fn = compile_function(g.inputs, g.eqns, g.outputs, "run", rt)
    got = fn(rt, *raw)
    lowered = ".fwd(" not in fn.__source__
    for i, (r, e) in enumerate(zip(got, ref)):
        r, e = np.asarray(r), np.asarray(e)
        assert r.shape == e.shape and r.dtype == e.dtype, \
            f"{name}: lowered output {i} is {r.dtype}{r.shape}, forward gives {e.dtype}{e.shape}" \
            f"\n{fn.__source__}"
        np.testing.assert_allclose(r, e, rtol=1e-6, atol=1e-12,
                                   err_msg=f"{name}: lowered output {i} differs from the "
                                           f"forward\n{fn.__source__}")
    return lowered


def _check_grad(name, fwd, f64, grad_inputs, eps, rtol, atol, train):
    arrs = [_to_nd(x) for x in f64]
    for i in grad_inputs:
        arrs[i].attach_grad()
    with autograd.record(train_mode=train):
        outs = _listify(fwd(*arrs))
    rng = np.random.RandomState(7)
    projs = [rng.uniform(-1, 1, size=o.shape) for o in outs]
    heads = [nd.array(p, dtype=o.dtype) for p, o in zip(projs, outs)]
    autograd.backward(outs, heads, retain_graph=True)
    analytic = {i: arrs[i].grad.asnumpy().copy() for i in grad_inputs}

    # the same rule run on NDArrays (create_graph) must agree with the raw-array run
    graph_grads = autograd.grad(outs, [arrs[i] for i in grad_inputs], head_grads=heads,
                                create_graph=True, retain_graph=True)
    for i, g in zip(grad_inputs, graph_grads):
        np.testing.assert_allclose(g.asnumpy(), analytic[i], rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name}: gradient of input {i} differs between "
                                           "raw and create_graph backward")

    def f(vals):
        o = _listify(fwd(*[_to_nd(v) for v in vals]))
        return sum(float(np.sum(oo.asnumpy().astype(np.float64) * p)) for oo, p in zip(o, projs))

    for i in grad_inputs:
        x = f64[i].copy()
        num = np.zeros(x.shape, np.float64)
        flat, nflat = x.reshape(-1), num.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            vals = list(f64)
            flat[j] = orig + eps
            vals[i] = x.copy()
            fp = f(vals)
            flat[j] = orig - eps
            vals[i] = x.copy()
            fm = f(vals)
            flat[j] = orig
            nflat[j] = (fp - fm) / (2 * eps)
        np.testing.assert_allclose(analytic[i], num, rtol=rtol, atol=atol,
                                   err_msg=f"{name}: gradient of input {i} differs from finite "
                                           "differences")
