"""nd.contrib.foreach / while_loop / cond against MXNet 1.9.1 (outputs and gradients from
tests/fixtures/contrib_control.npz), their symbolic unrolled forms, and the refusal of
MXNet graph JSON holding ``_foreach``/``_cond`` nodes."""
import json
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite.base import FileFormatError, MXNetError

HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures")
FIX = np.load(os.path.join(HERE, "contrib_control.npz"))
with open(os.path.join(HERE, "contrib_control.json")) as f:
    META = json.load(f)


def _foreach_body(F):
    def body(data, states):
        a, b = data
        h, c = states
        h2 = F.tanh(a * h + b) + c
        return [h2 * 2, h2 + a], [h2, c * 0.5]
    return body


def _while_parts(F):
    return (lambda i, s, w: i < 4,
            lambda i, s, w: ([s * w, s + 1], [i + 1, F.sin(s * w) + s, w]))


def _check(case, names, grads, fn, n_rows=None):
    nds = {k: mx.nd.array(FIX[f"{case}/in/{k}"]) for k in names}
    for k in grads:
        nds[k].attach_grad()
    with mx.autograd.record():
        outs = fn(**nds)
    heads = []
    for i, o in enumerate(outs):
        np.testing.assert_allclose(o.asnumpy(), FIX[f"{case}/out/{i}"], rtol=1e-5, atol=1e-6,
                                   err_msg=f"{case} output {i}")
        heads.append(mx.nd.array(FIX[f"{case}/head/{i}"]))
    mx.autograd.backward(outs, heads)
    for k in grads:
        np.testing.assert_allclose(nds[k].grad.asnumpy(), FIX[f"{case}/grad/{k}"], rtol=1e-5,
                                   atol=1e-6, err_msg=f"{case} grad {k}")


def test_foreach_matches_mxnet():
    def fn(d1, d2, s1, s2):
        outs, states = mx.nd.contrib.foreach(_foreach_body(mx.nd), [d1, d2], [s1, s2])
        assert isinstance(outs, list) and isinstance(states, list)
        return outs + states
    _check("foreach", ["d1", "d2", "s1", "s2"], ["d1", "d2", "s1", "s2"], fn)


def test_while_loop_matches_mxnet():
    def fn(i, s, w):
        cond, func = _while_parts(mx.nd)
        outs, (i2, s2, _) = mx.nd.contrib.while_loop(cond, func, [i, s, w], max_iterations=6)
        assert [o.shape[0] for o in outs] == [6, 6]  # padded to max_iterations
        np.testing.assert_array_equal(outs[0][4:].asnumpy(), 0)  # zeros, not garbage
        assert i2.asscalar() == 4
        return [o[:4] for o in outs] + [s2]
    _check("while_loop", ["i", "s", "w"], ["s", "w"], fn)


@pytest.mark.parametrize("case", ["cond_then", "cond_else"])
def test_cond_matches_mxnet(case):
    def fn(p, a, b):
        return mx.nd.contrib.cond(p, lambda: [a * b, a + 1], lambda: [a - b, b * 3])
    _check(case, ["p", "a", "b"], ["a", "b"], fn)


def test_nd_structures_and_errors():
    step = lambda x, st: (x + st, st * 2)  # noqa: E731 (NDArray data and state)
    out, st = mx.nd.contrib.foreach(step, mx.nd.ones((3, 2)), mx.nd.ones(2))
    assert isinstance(out, mx.nd.NDArray) and out.shape == (3, 2)
    np.testing.assert_array_equal(st.asnumpy(), [8, 8])
    # a single NDArray loop var comes back as one NDArray
    outs, v = mx.nd.contrib.while_loop(lambda x: x < 3, lambda x: (None, x + 1),
                                       mx.nd.array([0]), max_iterations=5)
    assert outs == [] and v.asscalar() == 3
    with pytest.raises(ValueError, match="max_iterations should be specified"):
        mx.nd.contrib.while_loop(lambda x: x < 3, lambda x: (x, x), [mx.nd.ones(1)])
    with pytest.raises(ValueError, match="pred must hold a single value"):
        mx.nd.contrib.cond(mx.nd.ones(2), lambda: 1, lambda: 0)
    with pytest.raises(ValueError, match="same length along axis 0"):
        mx.nd.contrib.foreach(step, [mx.nd.ones((3, 2)), mx.nd.ones((2, 2))], mx.nd.ones(2))


def test_isinf_isfinite_isnan():
    x = mx.nd.array([np.inf, -np.inf, np.nan, -1.0])
    np.testing.assert_array_equal(mx.nd.contrib.isinf(x).asnumpy(), [1, 1, 0, 0])
    np.testing.assert_array_equal(mx.nd.contrib.isfinite(x).asnumpy(), [0, 0, 0, 1])
    np.testing.assert_array_equal(mx.nd.contrib.isnan(x).asnumpy(), [0, 0, 1, 0])


def _bind_eval(outs, names, grads):
    g = mx.sym.Group(outs)
    args = {k: mx.nd.array(FIX[k]) for k in names.values()}
    args = {n: args[k] for n, k in names.items()}
    grad_arrays = {n: mx.nd.zeros(args[n].shape) for n in grads}
    ex = g.bind(mx.cpu(), args, args_grad=grad_arrays,
                grad_req={n: ("write" if n in grads else "null") for n in args})
    return ex, ex.forward(is_train=True), grad_arrays


def test_sym_foreach_unrolled_matches_mxnet():
    case = "foreach"
    d1, d2 = mx.sym.var("d1", shape=(4, 3)), mx.sym.var("d2", shape=(4, 3))
    s1, s2 = mx.sym.var("s1"), mx.sym.var("s2")
    outs, states = mx.sym.contrib.foreach(_foreach_body(mx.sym), [d1, d2], [s1, s2])
    names = {n: f"{case}/in/{n}" for n in ("d1", "d2", "s1", "s2")}
    ex, res, grads = _bind_eval(outs + states, names, list(names))
    for i, o in enumerate(res):
        np.testing.assert_allclose(o.asnumpy(), FIX[f"{case}/out/{i}"], rtol=1e-5, atol=1e-6)
    ex.backward([mx.nd.array(FIX[f"{case}/head/{i}"]) for i in range(len(res))])
    for n in names:
        np.testing.assert_allclose(grads[n].asnumpy(), FIX[f"{case}/grad/{n}"], rtol=1e-5,
                                   atol=1e-6)


def test_sym_foreach_needs_static_length():
    with pytest.raises(MXNetError, match="sequence length"):
        mx.sym.contrib.foreach(lambda x, s: (x, s), mx.sym.var("d"), [mx.sym.var("s")])


def test_sym_while_loop_unrolled_matches_mxnet():
    case = "while_loop"
    i, s, w = mx.sym.var("i"), mx.sym.var("s"), mx.sym.var("w")
    cond, func = _while_parts(mx.sym)
    outs, final = mx.sym.contrib.while_loop(cond, func, [i, s, w], max_iterations=6)
    names = {n: f"{case}/in/{n}" for n in ("i", "s", "w")}
    ex, res, grads = _bind_eval(outs + [final[1]], names, ["s", "w"])
    for k in range(2):
        assert res[k].shape[0] == 6
        np.testing.assert_allclose(res[k].asnumpy()[:4], FIX[f"{case}/out/{k}"], rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_array_equal(res[k].asnumpy()[4:], 0)
    np.testing.assert_allclose(res[2].asnumpy(), FIX[f"{case}/out/2"], rtol=1e-5, atol=1e-6)
    heads = [np.zeros((6, 3), np.float32) for _ in range(2)]
    for k in range(2):
        heads[k][:4] = FIX[f"{case}/head/{k}"]
    ex.backward([mx.nd.array(h) for h in heads] + [mx.nd.array(FIX[f"{case}/head/2"])])
    for n in ("s", "w"):
        np.testing.assert_allclose(grads[n].asnumpy(), FIX[f"{case}/grad/{n}"], rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("case", ["cond_then", "cond_else"])
def test_sym_cond_selects_matches_mxnet(case):
    p, a, b = mx.sym.var("p"), mx.sym.var("a"), mx.sym.var("b")
    outs = mx.sym.contrib.cond(p, lambda: [a * b, a + 1], lambda: [a - b, b * 3])
    names = {n: f"{case}/in/{n}" for n in ("p", "a", "b")}
    ex, res, grads = _bind_eval(outs, names, ["a", "b"])
    for k in range(2):
        np.testing.assert_allclose(res[k].asnumpy(), FIX[f"{case}/out/{k}"], rtol=1e-6)
    ex.backward([mx.nd.array(FIX[f"{case}/head/{k}"]) for k in range(2)])
    for n in ("a", "b"):
        np.testing.assert_allclose(grads[n].asnumpy(), FIX[f"{case}/grad/{n}"], rtol=1e-6)
    single = mx.sym.contrib.cond(p, lambda: a * 2, lambda: a - 1)
    assert isinstance(single, mx.sym.Symbol) and len(single) == 1  # as MXNet: not a list


class _CondBlock(mx.gluon.HybridBlock):
    def hybrid_forward(self, F, x, p):
        out = F.contrib.cond(p, lambda: x * 2, lambda: x - 1)
        outs, (i,) = F.contrib.while_loop(lambda i: i < 3, lambda i: (i * x.sum(), [i + 1]),
                                          [p * 0], max_iterations=4)
        return out, outs, i


def test_hybridized_cond_and_while_loop_match_imperative():
    x = mx.nd.array([[1.0, 2.0]])
    for p in (mx.nd.array([1.0]), mx.nd.array([0.0])):
        want = [o.asnumpy() for o in _CondBlock()(x, p)]
        blk = _CondBlock()
        blk.hybridize()
        got = [o.asnumpy() for o in blk(x, p)]
        for w, g in zip(want, got):
            np.testing.assert_allclose(g, w)


@pytest.mark.parametrize("key,op", [("foreach_json", "_foreach"), ("cond_json", "_cond")])
def test_mxnet_control_flow_json_is_refused(key, op):
    with pytest.raises(FileFormatError, match=op):
        mx.sym.load_json(META[key])
