"""dot, batch_dot, FullyConnected (and _backward_dot).

Reference numbers come from MXNet 1.9.1 (``tests/fixtures/nn_ops.npz`` made by
``tests/fixtures/gen/nn_ops.py``; the Gluon ``nn.Dense`` cases of ``layers_nn.npz`` made by
``tests/fixtures/gen/nn_layers.py``). This module also holds the small helpers the other
``tests/ops/nn`` files use to replay those cases.
"""
import json
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ops import get_op

from ..opcheck import check_op

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures"
NN_OPS = np.load(FIXTURES / "nn_ops.npz")
LAYERS = np.load(FIXTURES / "layers_nn.npz")

# MXNet's own run-to-run agreement on this machine (fixtures README)
OUT_TOL = dict(rtol=1e-4, atol=1e-5)
GRAD_TOL = dict(rtol=1e-3, atol=1e-4)


# --- helpers shared by the nn operator tests ---------------------------------------------------
def mx_cases(*ops):
    """Names of the MXNet reference cases of the given operators."""
    names = sorted({k.split("/")[0] for k in NN_OPS.files})
    return [n for n in names if mx_meta(n)["op"] in ops]


def mx_meta(name):
    return json.loads(str(NN_OPS[name + "/meta"]))


def mx_inputs(name):
    meta = mx_meta(name)
    return [NN_OPS[f"{name}/in/{n}"] for n in meta["inputs"]]


def mx_outputs(name):
    k, outs = 0, []
    while f"{name}/out/{k}" in NN_OPS.files:
        outs.append(NN_OPS[f"{name}/out/{k}"])
        k += 1
    return outs


def replay(name, check_grads=True):
    """Run MXNet case ``name`` through gluonlite exactly as MXNet ran it (float32, same
    train modes, same head gradient) and compare outputs, input gradients and auxiliary
    states after the backward pass."""
    meta = mx_meta(name)
    arrs = {n: nd.array(a, dtype=a.dtype) for n, a in zip(meta["inputs"], mx_inputs(name))}
    for n in meta["grads"]:
        arrs[n].attach_grad()
    fn = getattr(nd, meta["op"])
    with autograd.record(train_mode=meta["train"]):
        out = fn(*[arrs[n] for n in meta["inputs"]], **meta["attrs"])
    outs = out if isinstance(out, list) else [out]
    exp = mx_outputs(name)
    assert len(outs) == len(exp), f"{name}: {len(outs)} outputs, MXNet gave {len(exp)}"
    for k, (o, e) in enumerate(zip(outs, exp)):
        assert o.shape == e.shape and o.dtype == e.dtype, \
            f"{name}: output {k} is {o.shape} {o.dtype}, MXNet {e.shape} {e.dtype}"
        np.testing.assert_allclose(o.asnumpy(), e, err_msg=f"{name}: output {k}", **OUT_TOL)
    if meta["backward"] and check_grads:
        head = NN_OPS[name + "/head"]
        outs[0].backward(nd.array(head, dtype=head.dtype), train_mode=meta["bwd_train"])
        for n in meta["grads"]:
            np.testing.assert_allclose(arrs[n].grad.asnumpy(), NN_OPS[f"{name}/grad/{n}"],
                                       err_msg=f"{name}: gradient of {n}", **GRAD_TOL)
    for n in meta["aux"]:
        np.testing.assert_allclose(arrs[n].asnumpy(), NN_OPS[f"{name}/aux_after/{n}"],
                                   err_msg=f"{name}: {n} after backward", **OUT_TOL)
    return outs


def check_mx_case(name, grad=None, **kw):
    """``check_op`` (float64 finite differences, shape/dtype rules, float32) on the inputs
    of MXNet case ``name``, its outputs compared with MXNet's."""
    meta = mx_meta(name)
    kw.setdefault("rtol", OUT_TOL["rtol"])
    kw.setdefault("atol", OUT_TOL["atol"])
    ins = mx_inputs(name)
    if grad is not False and "grad_inputs" not in kw:
        kw["grad_inputs"] = [i for i, n in enumerate(meta["inputs"]) if n in meta["grads"]]
    return check_op(meta["op"], ins, meta["attrs"], expected=mx_outputs(name), grad=grad,
                    train=meta["train"], **kw)


def layer_case(name):
    """Arrays of Gluon layer case ``name`` (from layers_nn.npz) and its train_mode."""
    meta = json.loads(str(LAYERS[name + "/meta"]))
    arr = {k[len(name) + 1:]: LAYERS[k] for k in LAYERS.files if k.startswith(name + "/")}
    return arr, meta["train_mode"]


def run_layer(name, fn, params, grads=()):
    """Apply ``fn(x, params)`` like the Gluon layer of case ``name`` did and compare the
    output, input gradient, parameter gradients and ``param_after`` values."""
    arr, train = layer_case(name)
    x = nd.array(arr["x"])
    x.attach_grad()
    ps = {k: nd.array(arr["param/" + k]) for k in params}
    for k in grads:
        ps[k].attach_grad()
    with autograd.record(train_mode=train):
        y = fn(x, ps)
    y.backward(nd.array(arr["head_grad"]))
    np.testing.assert_allclose(y.asnumpy(), arr["y"], err_msg=f"{name}: output", **OUT_TOL)
    np.testing.assert_allclose(x.grad.asnumpy(), arr["x_grad"], err_msg=f"{name}: x_grad",
                               **GRAD_TOL)
    for k in grads:
        np.testing.assert_allclose(ps[k].grad.asnumpy(), arr["param_grad/" + k],
                                   err_msg=f"{name}: gradient of {k}", **GRAD_TOL)
    return ps, arr


def second_order_check(fn, xs, wrt=0, eps=1e-6, rtol=1e-5, atol=1e-7, seed=3):
    """Check second-order gradients: the gradient, with respect to ``xs[wrt]``, of
    ``sum_i <grad_{x_i} <fn(xs), h>, v_i>`` (first-order gradients of every input taken
    with ``create_graph=True``) against central differences of the first-order ones."""
    rng = np.random.RandomState(seed)
    xs = [np.asarray(x, np.float64) for x in xs]
    y0 = fn(*[nd.array(v, dtype="float64") for v in xs])
    hv = rng.uniform(-1, 1, size=y0.shape)
    vs = [rng.uniform(-1, 1, size=x.shape) for x in xs]

    def first(vals, create):
        arrs = [nd.array(v, dtype="float64") for v in vals]
        for a in arrs:
            a.attach_grad()
        with autograd.record():
            y = fn(*arrs)
            gs = autograd.grad(y, arrs, head_grads=nd.array(hv, dtype="float64"),
                               create_graph=create, retain_graph=True)
            s = nd.add_n(*[nd.sum(g * nd.array(v, dtype="float64")) for g, v in zip(gs, vs)])
        return s, arrs

    s, arrs = first(xs, True)
    s.backward()
    analytic = arrs[wrt].grad.asnumpy()
    num = np.zeros_like(xs[wrt])
    for j in range(num.size):
        vals = [v.copy() for v in xs]
        vals[wrt].flat[j] += eps
        fp = float(first(vals, False)[0].asscalar())
        vals[wrt].flat[j] -= 2 * eps
        fm = float(first(vals, False)[0].asscalar())
        num.flat[j] = (fp - fm) / (2 * eps)
    assert np.abs(analytic).max() > 1e-3, "degenerate second-order check"
    np.testing.assert_allclose(analytic, num, rtol=rtol, atol=atol)


# --- dot -----------------------------------------------------------------------------------------
DOT_CASES = mx_cases("dot")


@pytest.mark.parametrize("name", DOT_CASES)
def test_dot_matches_mxnet(name):
    replay(name)
    check_mx_case(name)


def test_dot_cases_cover_transposes_and_vectors():
    assert len(DOT_CASES) >= 12
    assert {mx_meta(n)["attrs"]["transpose_a"] for n in DOT_CASES} == {True, False}


def test_dot_nd_semantics():
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    y = np.arange(40, dtype=np.float64).reshape(4, 2, 5)
    r = nd.dot(nd.array(x, dtype="float64"), nd.array(y, dtype="float64")).asnumpy()
    np.testing.assert_allclose(r, np.tensordot(x, y, axes=([2], [0])))
    # transpose_a contracts lhs's first axis
    r = nd.dot(nd.array(x), nd.array(np.ones((2, 3))), transpose_a=True)
    assert r.shape == (3, 4, 3)
    assert nd.dot(nd.ones((4,)), nd.ones((4,))).shape == (1,)


def test_dot_int_and_dtypes():
    a = nd.array([[1, 2], [3, 4]], dtype="int32")
    r = nd.dot(a, a)
    assert r.dtype == np.int32 and r.asnumpy().tolist() == [[7, 10], [15, 22]]
    with pytest.raises(MXNetError, match="same dtype"):
        nd.dot(nd.ones((2, 2)), nd.ones((2, 2), dtype="float64"))


@pytest.mark.parametrize("sa,sb,kw,msg", [
    ((2, 3), (4, 2), {}, "shape mismatch"),
    ((3, 2), (4, 3, 2), {"transpose_a": True, "transpose_b": True}, "shape mismatch"),
    ((4,), (4,), {"transpose_a": True}, "cannot transpose vectors"),
])
def test_dot_shape_errors(sa, sb, kw, msg):
    with pytest.raises(MXNetError, match=msg):
        nd.dot(nd.ones(sa), nd.ones(sb), **kw)
    with pytest.raises(MXNetError, match=msg):
        get_op("dot").infer_shape(get_op("dot").parse_attrs(kw), [sa, sb])


def test_dot_forward_stype():
    assert nd.dot(nd.ones((2, 3)), nd.ones((3, 2)), forward_stype="default").shape == (2, 2)
    with pytest.raises(MXNetError, match="forward_stype"):
        nd.dot(nd.ones((2, 3)), nd.ones((3, 2)), forward_stype="csr")


@pytest.mark.parametrize("sa,sb,ta,tb", [((2, 3, 4), (4, 2, 2), False, False),
                                         ((2, 3), (2, 4), True, False),
                                         ((3, 4), (2, 5, 4), False, True),
                                         ((4,), (3, 4), False, True),
                                         ((4,), (4,), False, False)])
def test_backward_dot_and_its_gradient(sa, sb, ta, tb):
    rng = np.random.RandomState(1)
    a, b = rng.uniform(-1, 1, sa), rng.uniform(-1, 1, sb)
    attrs = {"transpose_a": ta, "transpose_b": tb}
    oshape = nd.dot(nd.array(a), nd.array(b), **attrs).shape
    g = rng.uniform(-1, 1, oshape)

    def expected(g_, a_, b_):
        # the VJP of dot computed by tensordot on the definition
        A = nd.array(a_, dtype="float64")
        B = nd.array(b_, dtype="float64")
        A.attach_grad()
        B.attach_grad()
        with autograd.record():
            y = nd.dot(A, B, **attrs)
        y.backward(nd.array(g_, dtype="float64"))
        return [A.grad.asnumpy(), B.grad.asnumpy()]

    check_op("_backward_dot", [g, a, b], attrs, expected=expected, rtol=1e-10)
    # the unneeded side is a zero-cost broadcast of 0
    gl, gr = nd._internal._backward_dot(nd.array(g), nd.array(a), nd.array(b), need_lhs=False,
                                        **attrs)
    assert not gl.asnumpy().any() and gr.asnumpy().any()


@pytest.mark.parametrize("wrt", [0, 1])
def test_dot_second_order(wrt):
    rng = np.random.RandomState(2)
    second_order_check(lambda a, b: nd.dot(a, b) * nd.dot(a, b),
                       [rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (3, 2))], wrt=wrt)
    second_order_check(lambda a, b: nd.dot(a, b, transpose_a=True) ** 2,
                       [rng.uniform(-1, 1, (2, 3, 2)), rng.uniform(-1, 1, (2, 2))], wrt=wrt)


# --- batch_dot -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", mx_cases("batch_dot"))
def test_batch_dot_matches_mxnet(name):
    replay(name)
    check_mx_case(name)


@pytest.mark.parametrize("sa,sb,kw,msg", [
    ((3, 4), (4, 5), {}, "N >= 3"),
    ((2, 3, 4), (2, 2, 4, 5), {}, "N >= 3"),
    ((2, 3, 4), (3, 4, 5), {}, "batch dimensions"),
    ((2, 3, 4), (2, 3, 5), {}, "shape mismatch"),
    ((2, 3, 4), (2, 4, 5), {"transpose_b": True}, "shape mismatch"),
])
def test_batch_dot_errors(sa, sb, kw, msg):
    with pytest.raises(MXNetError, match=msg):
        nd.batch_dot(nd.ones(sa), nd.ones(sb), **kw)


def test_batch_dot_second_order():
    rng = np.random.RandomState(4)
    for ta in (False, True):
        for tb in (False, True):
            second_order_check(
                lambda a, b: nd.batch_dot(a, b, transpose_a=ta, transpose_b=tb) ** 2,
                [rng.uniform(-1, 1, (2, 3, 3)), rng.uniform(-1, 1, (2, 3, 3))], wrt=ta)


# --- FullyConnected ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", mx_cases("FullyConnected"))
def test_fully_connected_matches_mxnet(name):
    replay(name)
    check_mx_case(name)


def test_fully_connected_shape_rule_fills_parameters():
    op = get_op("FullyConnected")
    a = op.parse_attrs({"num_hidden": 5})
    ins, outs = op.infer_shape(a, [(4, 3, 2), None, None])
    assert ins == [(4, 3, 2), (5, 6), (5,)] and outs == [(4, 5)]
    a = op.parse_attrs({"num_hidden": 5, "flatten": False})
    ins, outs = op.infer_shape(a, [(4, 3, 2), None, None])
    assert ins == [(4, 3, 2), (5, 2), (5,)] and outs == [(4, 3, 5)]
    a = op.parse_attrs({"num_hidden": 5, "no_bias": True})
    assert op.list_inputs(a) == ("data", "weight")
    ins, outs = op.infer_shape(a, [(4, 3), None])
    assert ins == [(4, 3), (5, 3)] and outs == [(4, 5)]
    # unknown data: nothing to infer yet
    ins, outs = op.infer_shape(op.parse_attrs({"num_hidden": 5}), [None, (5, 7), None])
    assert outs == [None]
    with pytest.raises(MXNetError, match="weight has shape"):
        op.infer_shape(op.parse_attrs({"num_hidden": 5}), [(4, 3), (5, 4), None])
    with pytest.raises(MXNetError, match="bias has shape"):
        op.infer_shape(op.parse_attrs({"num_hidden": 5}), [(4, 3), None, (4,)])


def test_fully_connected_errors():
    x, w, b = nd.ones((2, 3)), nd.ones((4, 3)), nd.ones((4,))
    with pytest.raises(MXNetError, match="weight has shape"):
        nd.FullyConnected(x, w, b, num_hidden=5)
    with pytest.raises(MXNetError, match="weight has shape"):
        nd.FullyConnected(x, nd.ones((4, 2)), b, num_hidden=4)
    with pytest.raises(MXNetError, match="bias has shape"):
        nd.FullyConnected(x, w, nd.ones((3,)), num_hidden=4)
    with pytest.raises(MXNetError, match="inputs are"):
        nd.FullyConnected(x, w, num_hidden=4)
    with pytest.raises(MXNetError, match="num_hidden"):
        nd.FullyConnected(x, w, b)
    with pytest.raises(MXNetError, match="floating point"):
        nd.FullyConnected(nd.ones((2, 3), dtype="int32"), nd.ones((4, 3), dtype="int32"),
                          num_hidden=4, no_bias=True)
    # MXNet also accepts a (num_hidden, 1) bias
    assert nd.FullyConnected(x, w, nd.ones((4, 1)), num_hidden=4).shape == (2, 4)


def test_fully_connected_positional_attributes():
    x, w = nd.ones((2, 3)), nd.ones((4, 3))
    # MXNet order after the inputs: num_hidden, no_bias, flatten
    assert nd.FullyConnected(x, w, None, 4, True).shape == (2, 4)


def test_fully_connected_second_order():
    rng = np.random.RandomState(5)
    second_order_check(
        lambda x, w, b: nd.tanh(nd.FullyConnected(x, w, b, num_hidden=2, flatten=False)),
        [rng.uniform(-1, 1, (2, 2, 3)), rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2,))])
    second_order_check(
        lambda x, w: nd.tanh(nd.FullyConnected(x, w, num_hidden=2, no_bias=True)),
        [rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 3))], wrt=0)


# --- Gluon nn.Dense (MXNet layer reference data) -------------------------------------------------
def test_gluon_dense_relu():
    run_layer("dense_relu",
              lambda x, p: nd.Activation(nd.FullyConnected(x, p["weight"], p["bias"],
                                                           num_hidden=5), act_type="relu"),
              ["weight", "bias"], ["weight", "bias"])


def test_gluon_dense_flatten():
    run_layer("dense_flatten",
              lambda x, p: nd.FullyConnected(x, p["weight"], p["bias"], num_hidden=3),
              ["weight", "bias"], ["weight", "bias"])


def test_gluon_dense_noflatten():
    run_layer("dense_noflatten",
              lambda x, p: nd.FullyConnected(x, p["weight"], p["bias"], num_hidden=3,
                                             flatten=False),
              ["weight", "bias"], ["weight", "bias"])


def test_gluon_dense_nobias():
    run_layer("dense_nobias",
              lambda x, p: nd.FullyConnected(x, p["weight"], num_hidden=4, no_bias=True),
              ["weight"], ["weight"])


@pytest.mark.gpu
def test_matrix_ops_on_gpu_match_cpu():
    rng = np.random.RandomState(6)
    x, w, b = rng.randn(3, 2, 2), rng.randn(4, 4), rng.randn(4)
    cpu = nd.FullyConnected(nd.array(x), nd.array(w), nd.array(b), num_hidden=4)
    ctx = mx.gpu(0)
    xg, wg, bg = nd.array(x, ctx=ctx), nd.array(w, ctx=ctx), nd.array(b, ctx=ctx)
    xg.attach_grad()
    with autograd.record():
        y = nd.FullyConnected(xg, wg, bg, num_hidden=4)
    y.backward()
    np.testing.assert_allclose(y.asnumpy(), cpu.asnumpy(), rtol=1e-5, atol=1e-6)
    assert xg.grad.shape == (3, 2, 2)
    a = nd.array(rng.randn(2, 3, 4), ctx=ctx)
    np.testing.assert_allclose(nd.batch_dot(a, a, transpose_b=True).asnumpy(),
                               np.matmul(a.asnumpy(), a.asnumpy().transpose(0, 2, 1)),
                               rtol=1e-5, atol=1e-6)
