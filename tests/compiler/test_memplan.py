"""Memory planning: buffers are reused once their values are dead, never while they are
live (the checker catches a plan that would), escaping values are never planned, and
programs with planned buffers compute what unplanned ones do, call after call."""
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite.compiler import Program, from_symbol, memplan
from gluonlite.compiler.fusion import set_min_size
from gluonlite.compiler.infer import infer_dtypes, infer_shapes
from gluonlite.compiler.ir import Eqn, Var
from gluonlite.compiler.lower import Writes
from gluonlite.ops import get_op

S = mx.sym


@pytest.fixture(autouse=True)
def _fuse_tiny():
    old = set_min_size(1)
    yield
    set_min_size(old)


def _v(shape=(4,)):
    return Var(shape=shape, dtype="float32")


def _chain(n, view_at=()):
    """x -> k0 -> k1 -> ... (Writes kernels), with a view (reshape) after the given
    steps."""
    x = _v()
    eqns, writes, cur = [], {}, x
    for i in range(n):
        out = _v()
        eqns.append(Eqn(get_op("exp"), {}, [cur], [out]))
        writes[len(eqns) - 1] = Writes("k", inplace=False)
        cur = out
        if i in view_at:
            view = _v()
            eqns.append(Eqn(get_op("Reshape"), {"shape": (4,)}, [cur], [view]))
            cur = view
    return x, eqns, writes, cur


def test_dead_buffers_are_reused():
    x, eqns, writes, y = _chain(6)
    p = memplan.plan([x], eqns, [y], writes)
    memplan.check([x], eqns, [y], writes, p)
    # five planned intermediates (the last value is the output) ping-pong in two buffers
    assert len(p.assign) == 5 and len(p.buffers) == 2


def test_escaping_values_are_never_planned():
    x, eqns, writes, y = _chain(3)
    mid = eqns[1].outs[0]
    p = memplan.plan([x], eqns, [y, mid], writes)
    assert mid.id not in p.assign and y.id not in p.assign
    # ... nor a value whose view escapes
    x, eqns, writes, y = _chain(3, view_at=(1,))
    p = memplan.plan([x], eqns, [eqns[2].outs[0]], writes)
    assert eqns[1].outs[0].id not in p.assign


def test_views_keep_their_buffer_alive():
    # k0 -> reshape -> k1 -> k2(k1, view): the view of k0's result is read at k2, so k1's
    # output may not take k0's buffer
    x = _v()
    a, av, b, c = _v(), _v(), _v(), _v()
    eqns = [Eqn(get_op("exp"), {}, [x], [a]),
            Eqn(get_op("Reshape"), {"shape": (4,)}, [a], [av]),
            Eqn(get_op("exp"), {}, [x], [b]),
            Eqn(get_op("elemwise_add"), {}, [b, av], [c])]
    writes = {0: Writes("k"), 2: Writes("k"), 3: Writes("k", inplace=True)}
    p = memplan.plan([x], eqns, [c], writes)
    memplan.check([x], eqns, [c], writes, p)
    assert p.assign[a.id] != p.assign[b.id]


def test_in_place_only_over_a_dying_unaliased_input():
    x = _v()
    a, b, c = _v(), _v(), _v()
    eqns = [Eqn(get_op("exp"), {}, [x], [a]),
            Eqn(get_op("exp"), {}, [a], [b]),
            Eqn(get_op("exp"), {}, [b], [c])]
    writes = {k: Writes("k", inplace=True) for k in range(3)}
    p = memplan.plan([x], eqns, [c], writes)
    memplan.check([x], eqns, [c], writes, p)
    assert p.assign[a.id] == p.assign[b.id] and b.id in p.inplace
    # a is still needed after b is computed: no in-place
    d = _v()
    eqns.append(Eqn(get_op("elemwise_add"), {}, [a, c], [d]))
    writes[3] = Writes("k", inplace=True)
    p = memplan.plan([x], eqns, [d], writes)
    memplan.check([x], eqns, [d], writes, p)
    assert p.assign[a.id] != p.assign.get(b.id)


def test_checker_catches_a_plan_that_aliases_live_buffers():
    x = _v()
    a, b, c = _v(), _v(), _v()
    eqns = [Eqn(get_op("exp"), {}, [x], [a]),
            Eqn(get_op("exp"), {}, [x], [b]),
            Eqn(get_op("elemwise_add"), {}, [a, b], [c])]
    writes = {0: Writes("k"), 1: Writes("k"), 2: Writes("k")}
    p = memplan.plan([x], eqns, [c], writes)
    memplan.check([x], eqns, [c], writes, p)
    assert p.assign[a.id] != p.assign[b.id]
    p.assign[b.id] = p.assign[a.id]   # a planner bug: b overwrites a while a is live
    with pytest.raises(AssertionError, match="still needs it"):
        memplan.check([x], eqns, [c], writes, p)
    p.assign[b.id] = 99
    p.assign[c.id] = 99               # an output placed in a reused buffer
    with pytest.raises(AssertionError, match="escapes"):
        memplan.check([x], eqns, [c], writes, p)


def _random_net(rs, n):
    """A random elementwise/GEMM graph: fused groups, GEMMs and reshapes interleave."""
    x, w = S.var("x"), S.var("w")
    vals = [x]
    for i in range(n):
        kind = rs.randint(4)
        a = vals[-1] if rs.rand() < 0.7 else vals[rs.randint(len(vals))]
        if kind == 0:
            v = S.tanh(a) * 0.5 + 0.1
        elif kind == 1:
            v = S.dot(a, w) * 0.1
        elif kind == 2:
            v = S.reshape(S.relu(a), shape=(-1,)).reshape((8, 8)) - 0.2
        else:
            b = vals[rs.randint(len(vals))]
            v = S.elemwise_mul(S.sigmoid(a), b)
        vals.append(v)
    return S.Group([vals[-1], vals[len(vals) // 2]])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("static", [False, True])
def test_planned_programs_equal_unplanned(seed, static):
    rs = np.random.RandomState(seed)
    y = _random_net(rs, 12)
    data = {"x": rs.randn(8, 8), "w": rs.randn(8, 8) / 3}
    res = []
    for fuse in ("1", "0"):
        os.environ["GLUONLITE_FUSE"] = fuse
        try:
            g, _ = from_symbol(y)
            for v in g.inputs:
                v.shape, v.dtype = (8, 8), "float64"
            infer_shapes(g)
            infer_dtypes(g)
            p = Program(g, rt=mx.cpu()._runtime(False), static_alloc=static)
        finally:
            del os.environ["GLUONLITE_FUSE"]
        args = [data[v.name] for v in p.graph.inputs]
        first = p.infer(p.rt, *args)
        kept = [a.copy() for a in first]
        # a second call with other data must not overwrite the first call's outputs
        second = p.infer(p.rt, *[a * 0.5 for a in args])
        for a, k in zip(first, kept):
            np.testing.assert_array_equal(a, k)
        res.append((first, second, p))
    (f1, s1, pf), (f2, s2, _) = res
    assert pf.infer.__plan__.assign, pf.infer.__source__
    for a, b in zip(f1 + s1, f2 + s2):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_static_alloc_binds_buffers_once():
    x = S.var("x")
    y = S.exp(S.dot(S.tanh(x) * 2.0, x)) + 1.0
    g, _ = from_symbol(y)
    g.inputs[0].shape, g.inputs[0].dtype = (8, 8), "float32"
    infer_shapes(g)
    infer_dtypes(g)
    p = Program(g, rt=mx.cpu()._runtime(False), static_alloc=True)
    src = p.infer.__source__
    assert p.infer.__plan__.buffers
    assert "B0 = xp.empty" not in src and "= B0" in src
    q = Program(g, rt=mx.cpu()._runtime(False), static_alloc=False)
    assert "B0 = xp.empty((8, 8)" in q.infer.__source__
