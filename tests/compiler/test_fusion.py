"""Fusion: elementwise groups become one generated kernel that computes what the unfused
program computes (float32 and float64), the groups stay convex, kernels are cached on
disk, and the same description renders as CuPy sources."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gluonlite as mx
from gluonlite.compiler import Program, from_symbol
from gluonlite.compiler.fusion import FusedKernel, fuse, set_min_size
from gluonlite.compiler.infer import infer_dtypes, infer_shapes
from gluonlite.compiler.render import cuda, numba_cpu
from gluonlite.compiler.render.layout import collapse
from gluonlite.compiler.scalar import E, Expr
from gluonlite.ops import all_ops

S = mx.sym


@pytest.fixture(autouse=True)
def _fuse_tiny():
    old = set_min_size(1)
    yield
    set_min_size(old)


def _program(y, shapes, dtype, fused=True, need=None, monkeypatch=None):
    g, _ = from_symbol(y)
    for v in g.inputs:
        v.dtype = dtype
        v.shape = shapes[v.name]
    infer_shapes(g)
    infer_dtypes(g)
    old = os.environ.get("GLUONLITE_FUSE")
    os.environ["GLUONLITE_FUSE"] = "1" if fused else "0"
    try:
        train = need is not None and any(need)
        return Program(g, need=need, rt=mx.cpu()._runtime(train)), g
    finally:
        if old is None:
            del os.environ["GLUONLITE_FUSE"]
        else:
            os.environ["GLUONLITE_FUSE"] = old


def _run_both(y, shapes, dtype, data):
    pf, _ = _program(y, shapes, dtype, True)
    pu, _ = _program(y, shapes, dtype, False)
    args = [data[v.name].astype(dtype) for v in pf.graph.inputs]
    got = pf.infer(pf.rt, *args)
    want = pu.infer(pu.rt, *args)
    return pf, got, want


def _tol(dtype):
    return dict(rtol=2e-6, atol=1e-6) if dtype == "float32" else dict(rtol=1e-13, atol=1e-13)


def _n_fused(prog):
    return sum(e.op.name == "_fused" for e in prog.infer_graph.eqns)


# --- every fusible operator, in a chain with its neighbours ------------------------------------
def _sym_op(name):
    return getattr(S, name, None) or getattr(S._internal, name)


def _fusible_ops():
    seen, out = set(), []
    for op in all_ops():
        if op.scalar_fn is not None and op.name not in seen:
            seen.add(op.name)
            out.append(op)
    return sorted(out, key=lambda o: o.name)


_ATTRS = {"Activation": [{"act_type": t} for t in
                         ("relu", "sigmoid", "tanh", "softrelu", "softsign")],
          "clip": [{"a_min": -0.3, "a_max": 0.4}]}


def test_every_elementwise_formula_is_declared():
    names = {o.name for o in _fusible_ops()}
    for n in ("elemwise_add", "broadcast_mul", "_greater_scalar", "relu", "exp", "Activation",
              "clip", "sigmoid", "_rdiv_scalar", "broadcast_maximum"):
        assert n in names


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", _fusible_ops(), ids=lambda o: o.name)
def test_fused_op_equals_unfused(op, dtype):
    rs = np.random.RandomState(1)
    # positive data keeps log/sqrt/division finite; the exp before and the scale after the
    # operator make it part of a three-equation group
    shape = (6, 7)
    x = S.var("x")
    pre = S.exp(x * 0.5)
    n_in = len(op.input_names) if op.variadic is None else 2
    attr_sets = _ATTRS.get(op.name) or [{"scalar": 1.5}] if "scalar" in op.attr_specs \
        else _ATTRS.get(op.name, [{}])
    for attrs in attr_sets:
        if n_in == 1:
            mid = _sym_op(op.name)(pre, **attrs)
            shapes, data = {"x": shape}, {"x": rs.randn(*shape)}
        else:
            w = S.var("w")
            # broadcast ops get a broadcast row, elementwise ones a full array
            wshape = (1, 7) if "broadcast" in op.tags else shape
            mid = _sym_op(op.name)(pre, S.exp(w) - 0.5, **attrs)
            shapes = {"x": shape, "w": wshape}
            data = {"x": rs.randn(*shape), "w": rs.randn(*wshape)}
        y = mid * 2.0
        prog, got, want = _run_both(y, shapes, dtype, data)
        assert _n_fused(prog) >= 1, str(prog.infer_graph)
        for a, b in zip(got, want):
            assert a.dtype == b.dtype == np.dtype(dtype)
            np.testing.assert_allclose(a, b, **_tol(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("axis,keepdims,exclude,red", [
    ((0,), False, False, "sum"), ((1,), True, False, "sum"), ((-1,), False, False, "mean"),
    ((0,), False, True, "mean"), ((0, 2), False, False, "sum"), (None, False, False, "sum")])
def test_trailing_reduction(axis, keepdims, exclude, red, dtype):
    rs = np.random.RandomState(2)
    x, b = S.var("x"), S.var("b")
    h = S.relu(S.broadcast_add(x, b))
    y = S.Group([h * 3.0, getattr(S, red)(h * 3.0, axis=axis, keepdims=keepdims,
                                          exclude=exclude)])
    shapes = {"x": (5, 4, 3), "b": (4, 1)}
    prog, got, want = _run_both(y, shapes, dtype,
                                {"x": rs.randn(5, 4, 3), "b": rs.randn(4, 1)})
    fused = [e for e in prog.infer_graph.eqns if e.op.name == "_fused"]
    assert len(fused) == 1 and fused[0].attrs["kernel"].reductions
    for a, w in zip(got, want):
        assert a.shape == w.shape
        np.testing.assert_allclose(a, w, rtol=1e-5 if dtype == "float32" else 1e-12,
                                   atol=1e-5 if dtype == "float32" else 1e-12)


def test_groups_stay_convex():
    # exp(x) feeds a GEMM whose result comes back into the chain: fusing exp with the final
    # add would need the GEMM inside the kernel, so they stay apart and the order is valid
    x, w = S.var("x"), S.var("w")
    a = S.exp(x)
    b = S.dot(a, w)
    y = S.relu(a * 2.0 + b)
    shapes = {"x": (8, 8), "w": (8, 8)}
    rs = np.random.RandomState(3)
    prog, got, want = _run_both(y, shapes, "float64",
                                {"x": rs.randn(8, 8), "w": rs.randn(8, 8)})
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    names = [e.op.name for e in prog.infer_graph.eqns]
    assert names.index("dot") < len(names) - 1
    produced = set()
    for e in prog.infer_graph.eqns:
        for v in e.ins:
            assert v.eqn is None or v.id in produced or v.const is not None
        produced.update(v.id for v in e.outs)


def test_fused_training_program_gradients():
    # the backward of a dense + relu net fuses ReLU's mask with the bias gradient's sum
    x, w, b = S.var("x"), S.var("w"), S.var("b")
    y = S.sum(S.Activation(S.FullyConnected(x, w, b, num_hidden=32), act_type="relu") ** 2)
    shapes = {"x": (64, 16), "w": (32, 16), "b": (32,)}
    rs = np.random.RandomState(4)
    data = {k: rs.randn(*s) for k, s in shapes.items()}
    need = [True, True, True]
    res = []
    for fused in (True, False):
        p, g = _program(y, shapes, "float64", fused, need)
        args = [data[v.name] for v in g.inputs]
        out = p.forward(p.rt, *args)
        n = p.n_outputs
        grads = p.run_backward(p.rt, out[n:], [np.ones_like(out[0])])
        res.append((out[:n], grads, p))
    (o1, g1, pf), (o2, g2, _) = res
    assert any(e.op.name == "_fused" for e in pf.backward_graph.eqns)
    np.testing.assert_allclose(o1[0], o2[0], rtol=1e-12)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def test_printed_ir_shows_the_fused_formula():
    x, b = S.var("x"), S.var("b")
    y = S.relu(S.broadcast_add(x, b))
    g, _ = from_symbol(y)
    g.inputs[0].shape, g.inputs[1].shape = (4, 3), (1, 3)
    for v in g.inputs:
        v.dtype = "float32"
    infer_shapes(g)
    infer_dtypes(g)
    text = str(fuse(g))
    assert "_fused[kernel={max(add(x0,x1),0.0)}] x b" in text, text


# --- renderers ------------------------------------------------------------------------------
def _bias_relu_kernel():
    x, b = Expr("in", value=0), Expr("in", value=1)
    h = E.max(x + b, 0.0)
    return FusedKernel((8, 4, 5, 5), "float32", [(8, 4, 5, 5), (1, 4, 1, 1)], [h],
                       [(h, (0, 2, 3), False, (4,))])


def test_layout_collapses_broadcast_dimensions():
    nest = collapse(_bias_relu_kernel())
    assert nest.shape == (8, 4, 25)
    assert nest.ins == [(8, 4, 25), (1, 4, 1)]
    assert nest.reds == [(1, 4, 1)]


def test_numba_source_reads_like_the_formula():
    src = numba_cpu.source(_bias_relu_kernel(), "k")
    assert src.startswith("def k(lo, hi, o0, r0, x0, x1):")
    # extents are read from the arguments' shapes, not written in (shape-polymorphic)
    assert "n2 = o0.shape[2] * o0.shape[3]" in src
    assert "X1 = x1.reshape((1, n1, 1))" in src
    assert "t0 = (a0 + a1)" in src and "t1 = np.maximum(t0, c0)" in src
    # dimensions 0 and 2 are reduced: calls split dimension 1 (loops stay in memory
    # order), so each call writes its own elements of the result
    first = [ln.strip() for ln in src.splitlines()].index("for i0 in range(n0):")
    assert [ln.strip() for ln in src.splitlines()[first:first + 3]] == [
        "for i0 in range(n0):", "for i1 in range(lo, hi):", "for i2 in range(n2):"]
    assert "A0[0, i1, 0] += " in src
    assert "R0[0, i1, 0] = A0[0, i1, 0]" in src
    src2 = numba_cpu.source(FusedKernel((300, 40), "float64", [(300, 40)],
                                        [E.exp(Expr("in", value=0))], []), "k")
    assert "for i0 in range(lo, hi)" in src2


def test_large_kernels_run_in_chunks_over_the_workers():
    from gluonlite.kernels.workers import num_workers
    x = Expr("in", value=0)
    k = FusedKernel((512, 300), "float32", [(512, 300), (300,)], [E.max(x, 0.0)],
                    [(x * 2.0, (0,), True, (300,))])
    ck = numba_cpu.compile_kernel(k)
    # the split dimension is the one the mean keeps: 300 columns
    assert ck.n == 300
    assert (ck.step is not None) == (num_workers() > 1)
    rng = np.random.RandomState(0)
    a = rng.randn(512, 300).astype("float32")
    o, r = np.empty_like(a), np.empty(300, "float32")
    ck(o, r, a, np.zeros(300, "float32"))
    np.testing.assert_array_equal(o, np.maximum(a, 0))
    np.testing.assert_allclose(r, (a.astype(np.float64) * 2).mean(axis=0), rtol=1e-6)
    # one chunk at a time, in any order, gives the same result
    o2, r2 = np.zeros_like(a), np.zeros(300, "float32")
    for lo in (200, 0, 100):
        ck.fn(lo, lo + 100, o2, r2, a, np.zeros(300, "float32"))
    np.testing.assert_array_equal(o2, o)
    np.testing.assert_array_equal(r2, r)


def test_kernels_differing_only_in_dtype_are_compiled_apart():
    # a formula with no constant renders the same source for both dtypes
    x, y = Expr("in", value=0), Expr("in", value=1)
    for dt in ("float32", "float64"):
        ck = numba_cpu.compile_kernel(FusedKernel((6, 7), dt, [(6, 7), (7,)], [x * y], []))
        a, b = np.ones((6, 7), dt) * 3, np.arange(7).astype(dt)
        o = np.empty((6, 7), dt)
        ck(o, a, b)
        np.testing.assert_array_equal(o, a * b)


def test_cuda_specs_render_the_same_description():
    sp = cuda.specs(_bias_relu_kernel())
    in_params, out_params, op = sp["elementwise"]
    assert in_params == "T x0, T x1" and out_params == "T o0"
    assert "T t0 = (x0 + x1);" in op and "isnan(t0)" in op and "o0 = t1;" in op
    (i, o, m, r, post, ident, axes), = sp["reductions"]
    assert (o, r, ident, axes) == ("T y", "a + b", "0", (0, 2, 3))
    assert "return (double)t1" in m and post == "y = (T)a"


@pytest.mark.gpu
def test_cuda_kernel_runs():
    import cupy
    k = _bias_relu_kernel()
    rs = np.random.RandomState(5)
    x = rs.randn(8, 4, 5, 5).astype(np.float32)
    b = rs.randn(1, 4, 1, 1).astype(np.float32)
    run = cuda.build(k, cupy)
    o, r = cupy.empty(x.shape, np.float32), cupy.empty((4,), np.float32)
    run((o, r), (cupy.asarray(x), cupy.asarray(b)))
    h = np.maximum(x + b, 0)
    np.testing.assert_allclose(o.get(), h, rtol=1e-6)
    np.testing.assert_allclose(r.get(), h.sum(axis=(0, 2, 3)), rtol=1e-5)


def test_kernels_are_cached_on_disk(tmp_path):
    # a second process loads the compiled kernel instead of compiling it again
    script = textwrap.dedent("""
        import json
        import numpy as np
        import gluonlite as mx
        from gluonlite.compiler.fusion import set_min_size
        from gluonlite.compiler.render import numba_cpu
        set_min_size(1)
        net = mx.gluon.nn.HybridSequential()
        net.add(mx.gluon.nn.Dense(7, activation="tanh"), mx.gluon.nn.Dense(3))
        net.initialize()
        net.hybridize()
        x = mx.nd.ones((5, 4))
        with mx.autograd.record():
            y = (net(x) * 3).sum()
        y.backward()
        print(json.dumps(numba_cpu.stats()))
    """)
    env = dict(os.environ, GLUONLITE_CACHE_DIR=str(tmp_path))
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        import json
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert runs[0]["compiled"] >= 1 and runs[0]["loaded"] == 0
    assert runs[1]["compiled"] == 0 and runs[1]["loaded"] == runs[0]["compiled"]
    assert list(tmp_path.glob("kernels/k_*.py"))
