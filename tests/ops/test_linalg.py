"""``mx.nd.linalg``/``mx.sym.linalg`` and the other operators issue 17 added
(:mod:`gluonlite.ops.linalg`, :mod:`gluonlite.ops.extra`): outputs and gradients against
MXNet 1.9.1 (``tests/fixtures/linalg_ops.npz``, made by
``tests/fixtures/gen/linalg_ops_mxnet.py``), the standard operator checks (shape/dtype rules,
finite-difference gradients), the symbolic path and clear errors."""
import json
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ndarray.register import make_function
from gluonlite.ops import get_op

from .opcheck import COVERED_GRAD, check_op

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "linalg_ops.npz")
_DATA = np.load(FIX)
CASES = sorted({k.split("/")[0] for k in _DATA.files})


def _case(name):
    meta = json.loads(str(_DATA[f"{name}/meta"]))
    ins = [_DATA[f"{name}/in/{n}"] for n in meta["inputs"]]
    return meta, ins


def _fn(opname):
    if opname.startswith("linalg_") and not hasattr(nd, opname):
        return getattr(nd.linalg, opname[len("linalg_"):])
    return getattr(nd, opname)


@pytest.mark.parametrize("name", CASES)
def test_matches_mxnet(name):
    meta, ins = _case(name)
    fn = _fn(meta["op"])
    arrs = [nd.array(x, dtype=x.dtype) for x in ins]
    for n, a in zip(meta["inputs"], arrs):
        if n in meta["grads"]:
            a.attach_grad()
    with autograd.record():
        out = fn(*arrs, **meta["attrs"])
    outs = out if isinstance(out, list) else [out]
    f32 = ins[0].dtype == np.float32 or any(o.dtype == np.float32 for o in outs)
    tol = dict(rtol=1e-5, atol=1e-6) if f32 else dict(rtol=1e-9, atol=1e-10)
    if name.startswith("pdf_"):  # MXNet's own digamma/lgamma approximations (~1e-7)
        tol = dict(rtol=1e-6, atol=1e-9)
    k = 0
    while f"{name}/out/{k}" in _DATA.files:
        exp = _DATA[f"{name}/out/{k}"]
        got = outs[k].asnumpy()
        assert got.shape == exp.shape and got.dtype == exp.dtype, \
            (name, k, got.shape, got.dtype, exp.shape, exp.dtype)
        np.testing.assert_allclose(got, exp, err_msg=f"{name}: output {k}", **tol)
        k += 1
    assert k == len(outs), f"{name}: {len(outs)} outputs, MXNet gave {k}"
    if meta["grads"]:
        heads = [nd.array(_DATA[f"{name}/head/{i}"], dtype=o.dtype) for i, o in enumerate(outs)]
        autograd.backward(outs, heads)
        for n, a in zip(meta["inputs"], arrs):
            if n in meta["grads"]:
                np.testing.assert_allclose(a.grad.asnumpy(), _DATA[f"{name}/grad/{n}"],
                                           err_msg=f"{name}: gradient of {n}", **tol)


# --- the standard checks (shape/dtype rules, finite differences, raw vs graph backward) ----
R = np.random.RandomState(3)


def _u(*s):
    return R.uniform(-1, 1, size=s)


def _spd(*batch, n=3):
    a = R.uniform(-1, 1, size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _low(*batch, n=3):
    a = np.tril(R.uniform(-1, 1, size=batch + (n, n)))
    i = np.arange(n)
    a[..., i, i] = R.uniform(1, 2, size=batch + (n,))
    return a


def test_standard_checks_linalg():
    check_op("_linalg_gemm", [_u(2, 3, 4), _u(2, 4, 2), _u(2, 3, 2)],
             {"alpha": 0.5, "beta": 2.0, "transpose_b": False},
             expected=lambda a, b, c: 0.5 * a @ b + 2 * c)
    check_op("_linalg_gemm", [_u(4, 3), _u(2, 4), _u(3, 2)],
             {"transpose_a": True, "transpose_b": True},
             expected=lambda a, b, c: a.T @ b.T + c)
    check_op("_linalg_gemm2", [_u(3, 2, 4), _u(4, 2, 5)], {"axis": 0},
             expected=lambda a, b: np.einsum("ibk,kbj->ibj", a, b))
    check_op("_linalg_gemm2", [_u(3, 4), _u(5, 4)], {"transpose_b": True, "alpha": 3.0},
             expected=lambda a, b: 3 * a @ b.T)
    check_op("_linalg_syrk", [_u(2, 3, 4)], {"alpha": 2.0},
             expected=lambda a: 2 * a @ np.swapaxes(a, -1, -2))
    check_op("_linalg_syrk", [_u(3, 4)], {"transpose": True}, expected=lambda a: a.T @ a)
    for flags in ({}, {"rightside": True, "transpose": True}, {"lower": False, "alpha": 2.0}):
        a = _low(2) if flags.get("lower", True) else np.swapaxes(_low(2), -1, -2)
        b = _u(2, 4, 3) if flags.get("rightside") else _u(2, 3, 4)
        check_op("_linalg_trmm", [a, b], flags)
        check_op("_linalg_trsm", [a, b], flags, f32_rtol=1e-3)
    check_op("_linalg_potri", [_low(2)], f32_rtol=1e-3,
             expected=lambda a: np.linalg.inv(a @ np.swapaxes(a, -1, -2)))
    check_op("_linalg_gelqf", [_u(2, 3, 4)], f32_rtol=1e-3, f32_atol=1e-4)
    check_op("_linalg_inverse", [_spd(2)], expected=np.linalg.inv, f32_rtol=1e-3)
    check_op("_linalg_det", [_u(2, 3, 3)], expected=np.linalg.det, f32_rtol=1e-3)
    check_op("_linalg_det", [_u(3, 3)], expected=lambda a: np.linalg.det(a).reshape(1))
    check_op("_linalg_slogdet", [_u(2, 3, 3)], expected=lambda a: list(np.linalg.slogdet(a)),
             f32_rtol=1e-3)
    check_op("_linalg_sumlogdiag", [_spd(2)],
             expected=lambda a: np.log(np.diagonal(a, axis1=1, axis2=2)).sum(-1))
    for off in (0, 2, -1):
        check_op("_linalg_extractdiag", [_u(2, 4, 4)], {"offset": off},
                 expected=lambda a: np.diagonal(a, off, 1, 2))
        check_op("_linalg_makediag", [_u(2, 3)], {"offset": off})
    for off, low in ((0, True), (0, False), (1, True), (-2, False)):
        m = 4 - abs(off)
        check_op("_linalg_extracttrian", [_u(2, 4, 4)], {"offset": off, "lower": low})
        check_op("_linalg_maketrian", [_u(m * (m + 1) // 2)], {"offset": off, "lower": low})


def _symmetric_grad_check(opname, a, n_out, rtol=1e-5):
    """potrf and syevd read a symmetric matrix and return MXNet's symmetric gradient: check
    it against finite differences of ``op((A + A^T) / 2)``, whose true gradient it is."""
    fn = make_function(get_op(opname))
    heads = [R.uniform(-1, 1, size=s) for s in n_out]

    def f(x):
        s = 0.5 * (x + np.swapaxes(x, -1, -2))
        outs = fn(nd.array(s, dtype="float64"))
        outs = outs if isinstance(outs, list) else [outs]
        return sum(float((o.asnumpy() * h).sum()) for o, h in zip(outs, heads))

    x = nd.array(a, dtype="float64")
    x.attach_grad()
    with autograd.record():
        outs = fn(x)
    outs = outs if isinstance(outs, list) else [outs]
    autograd.backward(outs, [nd.array(h, dtype="float64") for h in heads])
    num = np.zeros_like(a)
    eps = 1e-6
    for idx in np.ndindex(a.shape):
        p, m = a.copy(), a.copy()
        p[idx] += eps
        m[idx] -= eps
        num[idx] = (f(p) - f(m)) / (2 * eps)
    np.testing.assert_allclose(x.grad.asnumpy(), num, rtol=rtol, atol=1e-7,
                               err_msg=f"{opname}: gradient differs from finite differences")
    COVERED_GRAD.add(opname)


def test_symmetric_gradients_potrf_syevd():
    a = _spd(2)
    check_op("_linalg_potrf", [a], grad=False,
             expected=lambda x: np.linalg.cholesky(x), f32_rtol=1e-3)
    _symmetric_grad_check("_linalg_potrf", a, [a.shape])
    check_op("_linalg_syevd", [a], grad=False, f32_rtol=1e-3, f32_atol=1e-4)
    _symmetric_grad_check("_linalg_syevd", a, [a.shape, a.shape[:-1]])


def test_backward_operators_match_autograd():
    # the backward operators, run on their own, give what autograd gave through them
    cases = {
        "_linalg_trmm": ([_low(2), _u(2, 3, 4)], {}),
        "_linalg_trsm": ([_low(2), _u(2, 3, 4)], {"rightside": False}),
        "_linalg_potrf": ([_spd(2)], {}),
        "_linalg_potri": ([_low(2)], {}),
        "_linalg_gelqf": ([_u(2, 3, 4)], {}),
        "_linalg_syevd": ([_spd(2)], {}),
        "_linalg_det": ([_u(2, 3, 3)], {}),
        "_linalg_slogdet": ([_u(2, 3, 3)], {}),
        "_linalg_sumlogdiag": ([_spd(2)], {}),
    }
    for opname, (ins, attrs) in cases.items():
        fn = make_function(get_op(opname))
        arrs = [nd.array(x, dtype="float64") for x in ins]
        for a in arrs:
            a.attach_grad()
        with autograd.record():
            outs = fn(*arrs, **attrs)
        outs = outs if isinstance(outs, list) else [outs]
        heads = [R.uniform(-1, 1, size=o.shape) for o in outs]
        autograd.backward(outs, [nd.array(h, dtype="float64") for h in heads])
        grads = [a.grad.asnumpy() for a in arrs]
        o = [x.asnumpy() for x in outs]
        bw = "_backward" + opname
        if opname in ("_linalg_trmm",):
            bins = [heads[0], ins[0], ins[1]]
        elif opname == "_linalg_trsm":
            bins = [heads[0], ins[0], o[0]]
        elif opname in ("_linalg_potrf",):
            bins = [heads[0], o[0]]
        elif opname in ("_linalg_potri", "_linalg_sumlogdiag"):
            bins = [heads[0], ins[0]] + ([o[0]] if opname == "_linalg_potri" else [])
        elif opname in ("_linalg_gelqf", "_linalg_syevd"):
            bins = [heads[0], heads[1], o[0], o[1]]
        elif opname == "_linalg_det":
            bins = [heads[0], ins[0], o[0]]
        else:  # slogdet: through logdet
            bins = [heads[1], ins[0]]
        check_op(bw, bins, attrs, expected=grads, check_float32=False)


def test_sym_linalg_executor_and_numeric_gradient():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    s = mx.sym.linalg.gemm2(a, b, transpose_b=True, alpha=2.0)
    x, y = _u(2, 3, 4), _u(2, 5, 4)
    exe = s.bind(mx.cpu(), {"a": nd.array(x), "b": nd.array(y)})
    np.testing.assert_allclose(exe.forward()[0].asnumpy(),
                               2 * x @ np.swapaxes(y, 1, 2), rtol=1e-5)
    # gradients through the compiler's symbolic path, checked by MXNet's helper
    mx.test_utils.check_numeric_gradient(s, [x, y], dtype=np.float64, rtol=1e-6, atol=1e-8)
    mx.test_utils.check_numeric_gradient(mx.sym.linalg.trsm(a, b, rightside=True),
                                         [_low(2), _u(2, 4, 3)], dtype=np.float64,
                                         rtol=1e-6, atol=1e-8)
    mx.test_utils.check_numeric_gradient(mx.sym.linalg.sumlogdiag(a) + mx.sym.linalg.det(a),
                                         [_spd(2)], dtype=np.float64, rtol=1e-6, atol=1e-8)
    assert mx.sym.linalg.slogdet(a).list_outputs() == ["linalg_slogdet0_sign",
                                                        "linalg_slogdet0_logdet"] or \
        len(mx.sym.linalg.slogdet(a).list_outputs()) == 2


def test_linalg_names_match_mxnet():
    with open(os.path.join(os.path.dirname(FIX), "mxnet_namespaces.json")) as f:
        names = json.load(f)
    assert set(names["nd.linalg"]) <= {n for n in dir(nd.linalg) if not n.startswith("_")}
    assert set(names["sym.linalg"]) <= {n for n in dir(mx.sym.linalg) if not n.startswith("_")}


@pytest.mark.parametrize("call, msg", [
    (lambda: nd.linalg.gemm2(nd.ones((2, 3)), nd.ones((4, 2))), "inner dimensions differ"),
    (lambda: nd.linalg.gemm(nd.ones((2, 3)), nd.ones((3, 2)), nd.ones((3, 3))),
     "C has shape"),
    (lambda: nd.linalg.potrf(nd.ones((2, 3))), "square"),
    (lambda: nd.linalg.potrf(nd.array([[1., 2.], [2., 1.]])), "not positive definite"),
    (lambda: nd.linalg.inverse(nd.zeros((2, 2))), "singular"),
    (lambda: nd.linalg.det(nd.ones(3)), "at least 2 dimensions"),
    (lambda: nd.linalg.gelqf(nd.ones((4, 3))), "at most as many rows"),
    (lambda: nd.linalg.maketrian(nd.ones(4)), "not a triangular number"),
    (lambda: nd.linalg.extractdiag(nd.ones((3, 3)), offset=3), "out of range"),
    (lambda: nd.linalg.trsm(nd.ones((3, 3)), nd.ones((2, 4))), "as many rows"),
    (lambda: nd.linalg.gemm2(nd.ones((2, 2), dtype="int32"), nd.ones((2, 2), dtype="int32")),
     "float16, float32 or float64"),
    (lambda: nd.linalg.potrf(nd.ones((2, 2), dtype="float16")), "float32 or float64"),
    (lambda: nd.linalg.gemm2(nd.ones((2, 2)), nd.ones((2, 2)), axis=1), "axis=1"),
])
def test_linalg_errors(call, msg):
    with pytest.raises(MXNetError, match=msg):
        call()


def test_linalg_shape_inference_in_symbols():
    a = mx.sym.var("a")
    _, out, _ = mx.sym.linalg.gelqf(a)[1].infer_shape(a=(2, 3, 5))
    assert out == [(2, 3, 3)]
    _, out, _ = mx.sym.linalg.det(a).infer_shape(a=(4, 4))
    assert out == [(1,)]
    _, out, _ = mx.sym.linalg.maketrian(a, offset=1).infer_shape(a=(6,))
    assert out == [(4, 4)]
