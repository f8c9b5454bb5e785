"""The compiler: IR import and printing, passes, symbolic gradients, generated code."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd, autograd
from gluonlite.base import MXNetError
from gluonlite.compiler import (from_symbol, infer_shapes, infer_dtypes, dce, cse,
                                fold_constants, gradient, Program)


def _graph(sym, **shapes):
    g, aux = from_symbol(sym)
    for v in g.inputs:
        if v.name in shapes:
            v.shape = shapes[v.name]
        v.dtype = "float32"
    infer_shapes(g)
    infer_dtypes(g)
    return g


def test_printed_ir_of_a_small_net():
    with mx.name.NameManager():
        x = mx.sym.var("data")
        y = mx.sym.relu(mx.sym.FullyConnected(x, num_hidden=3, name="fc"))
    g = _graph(y, data=(2, 4))
    assert str(g) == (
        "{ lambda data:f32[2,4] fc_weight:f32[3,4] fc_bias:f32[3] ;\n"
        "  v0:f32[2,3] = FullyConnected[num_hidden=3] data fc_weight fc_bias\n"
        "  v1:f32[2,3] = relu v0\n"
        "  in (v1) }")


def test_dce_removes_unused_but_keeps_side_effects():
    a = mx.sym.var("a")
    unused = mx.sym.exp(a)
    y = mx.sym.sin(a)
    g = _graph(mx.sym.Group([y, unused]), a=(3,))
    g.outputs = g.outputs[:1]
    out = dce(g)
    assert [e.op.name for e in out.eqns] == ["sin"]


def test_cse_merges_identical_pure_equations_only():
    a = mx.sym.var("a")
    y = mx.sym.exp(a) + mx.sym.exp(a)
    g = cse(_graph(y, a=(2,)))
    assert [e.op.name for e in g.eqns] == ["exp", "elemwise_add"]
    assert g.eqns[1].ins[0] is g.eqns[1].ins[1]
    r = mx.sym.Dropout(a, p=0.5) + mx.sym.Dropout(a, p=0.5)
    g2 = cse(_graph(r, a=(2,)))
    assert [e.op.name for e in g2.eqns].count("Dropout") == 2


def test_constant_folding():
    a = mx.sym.var("a")
    y = a + (mx.sym.ones((2,)) * 3)
    g = fold_constants(_graph(y, a=(2,)), mx.cpu()._runtime(False))
    assert [e.op.name for e in g.eqns] == ["elemwise_add"]
    assert g.eqns[0].ins[1].const.tolist() == [3, 3]
    p = Program(_graph(y, a=(2,)), rt=mx.cpu()._runtime(False))
    assert p.infer(mx.cpu()._runtime(False), np.array([1.0, 2.0], "float32"))[0].tolist() == \
        [4, 5]


@pytest.mark.parametrize("build", [
    lambda a, b: mx.sym.broadcast_mul(mx.sym.exp(a), b) - mx.sym.broadcast_div(a, b + 2.0),
    lambda a, b: mx.sym.sum(mx.sym.tanh(a) * b, axis=1, keepdims=True) ** 2,
    lambda a, b: mx.sym.softmax(mx.sym.dot(a, b, transpose_b=True), axis=-1),
    lambda a, b: mx.sym.broadcast_mul(mx.sym.max(mx.sym.Concat(a, b, dim=0), axis=0),
                                      mx.sym.mean(a)),
])
def test_gradient_graph_matches_imperative_autograd(build):
    a, b = mx.sym.var("a"), mx.sym.var("b")
    y = build(a, b)
    rng = np.random.RandomState(0)
    av, bv = rng.randn(3, 4), rng.rand(3, 4) + 0.5
    g = _graph(y, a=(3, 4), b=(3, 4))
    for v in g.inputs:
        v.dtype = "float64"
    for v in [v for e in g.eqns for v in e.outs]:
        v.dtype = None
    infer_dtypes(g)
    prog = Program(g, need=[True, True], rt=mx.cpu()._runtime(True))
    rt = mx.cpu()._runtime(True)
    res = prog.forward(rt, av, bv)
    head = rng.randn(*res[0].shape)
    ga, gb = prog.run_backward(rt, res[1:], [head])
    A, B = nd.array(av, dtype="float64"), nd.array(bv, dtype="float64")
    A.attach_grad()
    B.attach_grad()
    with autograd.record():
        out = _nd_build(build, A, B)
    out.backward(nd.array(head, dtype="float64"))
    np.testing.assert_allclose(res[0], out.asnumpy(), rtol=1e-10)
    np.testing.assert_allclose(ga, A.grad.asnumpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gb, B.grad.asnumpy(), rtol=1e-9, atol=1e-12)


def _nd_build(build, A, B):
    """Run the same construction with NDArray functions (mx.sym.X -> mx.nd.X)."""
    import gluonlite
    saved = gluonlite.sym
    try:
        gluonlite.sym = nd  # the lambdas look up mx.sym at call time
        return build(A, B)
    finally:
        gluonlite.sym = saved


def test_generated_code_is_straight_line_and_frees_values():
    x = mx.sym.var("x")
    y = mx.sym.exp(mx.sym.sin(mx.sym.cos(x)))
    p = Program(_graph(y, x=(2,)), rt=mx.cpu()._runtime(False))
    src = p.infer.__source__
    # cos and sin are called through their forward, exp is lowered to its expression
    assert src.count(".fwd(") == 2 and "= xp.exp(v1)" in src
    assert "del v0" in src and "for " not in src
    assert p.infer(mx.cpu()._runtime(False), np.zeros(2, "float32"))[0].shape == (2,)


def test_program_needs_known_input_shapes():
    x = mx.sym.var("x")
    g, _ = from_symbol(mx.sym.exp(x))
    with pytest.raises(MXNetError, match="unknown"):
        Program(g)


def test_joint_graph_prints():
    x = mx.sym.var("x")
    g = _graph(mx.sym.sin(x), x=(2,))
    j = gradient(g, g.inputs)
    text = str(j)
    assert "head_grad0:f32[2]" in text and "cos" in text


def test_noop_reshapes_are_dropped():
    # Flatten of a matrix and a reshape_like to the same shape do nothing; a real reshape
    # stays, and a graph output is never made an alias of a graph input
    from gluonlite.compiler.passes import drop_noop_reshapes
    x = mx.sym.var("x")
    y = mx.sym.exp(mx.sym.Flatten(x))
    z = mx.sym.reshape(y, shape=(3, 2))
    g = drop_noop_reshapes(_graph(mx.sym.Group([z, mx.sym.Flatten(x)]), x=(2, 3)))
    names = [e.op.name for e in g.eqns]
    assert names == ["exp", "Reshape", "Flatten"]
    assert g.eqns[0].ins[0] is g.inputs[0]
