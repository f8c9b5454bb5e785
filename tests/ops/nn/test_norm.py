"""BatchNorm (and _backward_BatchNorm), LayerNorm, InstanceNorm, GroupNorm, against
MXNet 1.9.1's numbers (operator cases and Gluon layer cases)."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ops import get_op

from ..opcheck import check_op
from .test_matrix import check_mx_case, mx_cases, replay, run_layer, second_order_check

rng = np.random.RandomState(0)


def _bn_inputs(shape=(4, 3, 2), c=3, axis=1):
    x = rng.uniform(-1, 2, shape)
    return [x, rng.uniform(0.5, 1.5, c), rng.uniform(-1, 1, c), rng.uniform(-1, 1, c),
            rng.uniform(0.5, 2, c)]


def _np_bn_train(x, gamma, beta, eps, axis=1):
    red = tuple(i for i in range(x.ndim) if i != axis)
    bs = [1] * x.ndim
    bs[axis] = -1
    m = x.mean(red)
    v = x.var(red)
    return ((x - m.reshape(bs)) / np.sqrt(v.reshape(bs) + eps) * gamma.reshape(bs)
            + beta.reshape(bs)), m, v


# --- BatchNorm against MXNet ---------------------------------------------------------------------
@pytest.mark.parametrize("name", mx_cases("BatchNorm"))
def test_batch_norm_matches_mxnet(name):
    """Outputs, gradients and the moving statistics after MXNet's backward, in training,
    inference, use_global_stats and the mixed modes (forward in one mode, backward in the
    other)."""
    replay(name)


@pytest.mark.parametrize("attrs,train", [
    ({"fix_gamma": False, "eps": 1e-5}, True),
    ({"fix_gamma": True}, True),
    ({"fix_gamma": False, "axis": -1}, True),
    ({"fix_gamma": False, "output_mean_var": True}, True),
    ({"fix_gamma": False, "use_global_stats": True}, True),
    ({"fix_gamma": False, "use_global_stats": True}, False),
])
def test_batch_norm_gradient_check(attrs, train):
    ins = _bn_inputs()
    if attrs.get("axis") == -1:
        ins = _bn_inputs((4, 2, 3))
    exp = None
    if train and not attrs.get("use_global_stats"):
        ax = attrs.get("axis", 1) % 3
        y, m, v = _np_bn_train(ins[0], np.ones(3) if attrs["fix_gamma"] else ins[1], ins[2],
                               attrs.get("eps", 1e-3), ax)
        exp = [y, m, 1 / np.sqrt(v + attrs.get("eps", 1e-3))][:3 if attrs.get(
            "output_mean_var") else 1]
    # the moving statistics are auxiliary states: no gradient
    check_op("BatchNorm", ins, attrs, expected=exp, train=train, grad_inputs=[0, 1, 2],
             rtol=1e-10, atol=1e-12)


def test_batch_norm_fix_gamma_gives_zero_gamma_gradient():
    x, g, b, mm, mv = [nd.array(a) for a in _bn_inputs()]
    g.attach_grad()
    x.attach_grad()
    with autograd.record():
        y = nd.BatchNorm(x, g, b, mm, mv)  # fix_gamma=True by default
    y.backward(nd.array(rng.randn(*x.shape)))
    assert not g.grad.asnumpy().any()
    # gamma is read as 1: scaling it changes nothing
    before = y.asnumpy()
    y2 = nd.BatchNorm(x, g * 5, b, mm, mv)
    np.testing.assert_allclose(y2.asnumpy(), nd.BatchNorm(x, g, b, mm, mv).asnumpy())
    assert before.shape == y2.shape


def test_batch_norm_moving_stats_update_in_backward_like_mxnet():
    xs, gs, bs, mms, mvs = _bn_inputs()
    x, g, b, mm, mv = [nd.array(a) for a in (xs, gs, bs, mms, mvs)]
    x.attach_grad()
    # a forward alone, even in training mode, leaves the moving statistics unchanged
    with autograd.train_mode():
        nd.BatchNorm(x, g, b, mm, mv, fix_gamma=False, momentum=0.8)
    with autograd.record():
        y = nd.BatchNorm(x, g, b, mm, mv, fix_gamma=False, momentum=0.8)
    np.testing.assert_allclose(mm.asnumpy(), mms.astype(np.float32))
    y.backward(retain_graph=True)
    _, m, v = _np_bn_train(xs, gs, bs, 1e-3)
    exp_m = 0.8 * mms + 0.2 * m
    exp_v = 0.8 * mvs + 0.2 * v
    np.testing.assert_allclose(mm.asnumpy(), exp_m, rtol=1e-5)
    np.testing.assert_allclose(mv.asnumpy(), exp_v, rtol=1e-5)
    # every backward in training mode updates again (as MXNet does)
    y.backward(retain_graph=True)
    np.testing.assert_allclose(mm.asnumpy(), 0.8 * exp_m + 0.2 * m, rtol=1e-5)
    # a backward in inference mode does not
    before = mm.asnumpy().copy()
    y.backward(train_mode=False)
    np.testing.assert_allclose(mm.asnumpy(), before)
    # nothing recorded (no input needs a gradient): no backward, no update
    with autograd.record():
        nd.BatchNorm(nd.array(xs), g, b, mm, mv, fix_gamma=False)
    np.testing.assert_allclose(mm.asnumpy(), before)


def test_batch_norm_inference_uses_moving_stats_and_outputs_inverse_std():
    xs, gs, bs, mms, mvs = _bn_inputs()
    out, mean, var = nd.BatchNorm(*[nd.array(a, dtype="float64") for a in (xs, gs, bs, mms,
                                                                            mvs)],
                                  fix_gamma=False, output_mean_var=True, eps=1e-4)
    bsh = (1, 3, 1)
    exp = (xs - mms.reshape(bsh)) / np.sqrt(mvs.reshape(bsh) + 1e-4) * gs.reshape(bsh) \
        + bs.reshape(bsh)
    np.testing.assert_allclose(out.asnumpy(), exp, rtol=1e-12)
    np.testing.assert_allclose(mean.asnumpy(), mms)
    np.testing.assert_allclose(var.asnumpy(), 1 / np.sqrt(mvs + 1e-4), rtol=1e-12)
    replay("bn_output_mean_var_infer")


@pytest.mark.parametrize("jit", [True, False])
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("fix_gamma", [True, False])
@pytest.mark.parametrize("dtype,axis", [("float32", 1), ("float64", -1)])
def test_batch_norm_stats_rebuild_the_output_exactly(jit, train, fix_gamma, dtype, axis):
    # the compiler splits BatchNorm into _BatchNorm_stats and (x - c) * s + t
    from gluonlite import kernels
    c = 3 if axis == 1 else 6
    x, g, b, mm, mv = [nd.array(a, dtype=dtype) for a in _bn_inputs((4, 3, 5, 6), c)]
    was = kernels.enabled()
    kernels.set_enabled(jit)
    try:
        with (autograd.train_mode() if train else autograd.predict_mode()):
            out, mean, inv = nd.BatchNorm(x, g.copy(), b, mm, mv, fix_gamma=fix_gamma,
                                          axis=axis, output_mean_var=True)
            g2 = g.copy()
            st = nd._internal._BatchNorm_stats(x, g2, b, mm, mv, fix_gamma=fix_gamma,
                                               axis=axis)
    finally:
        kernels.set_enabled(was)
    m_, i_, c, s, t = [a.asnumpy() for a in st]
    bs = [1] * 4
    bs[axis] = -1
    xn = x.asnumpy()
    rebuilt = (xn - c.reshape(bs)) * s.reshape(bs) + t.reshape(bs)
    np.testing.assert_array_equal(rebuilt, out.asnumpy())
    np.testing.assert_array_equal(m_, mean.asnumpy())
    np.testing.assert_array_equal(i_, inv.asnumpy())
    if not train:
        np.testing.assert_array_equal(c, 0)           # inference: x * scale + shift
    if fix_gamma:
        np.testing.assert_array_equal(g2.asnumpy(), 1)  # MXNet overwrites gamma


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("fix_gamma", [True, False])
def test_batch_norm_stats_op(train, fix_gamma):
    ins = _bn_inputs((4, 3, 5), 3)
    x, g, b, mm, mv = ins
    w = np.ones(3) if fix_gamma else g
    if train:
        m, v = x.mean((0, 2)), x.var((0, 2))
        inv = 1 / np.sqrt(v + 1e-3)
        exp = [m, inv, m, inv * w, b]
    else:
        inv = 1 / np.sqrt(mv + 1e-3)
        exp = [mm, inv, np.zeros(3), inv * w, b - mm * inv * w]
    check_op("_BatchNorm_stats", ins, {"fix_gamma": fix_gamma}, expected=exp, train=train,
             rtol=1e-10, atol=1e-12)


def test_batch_norm_stats_kernel_equals_reference():
    from gluonlite import kernels
    ins = [nd.array(a, dtype="float32") for a in _bn_inputs((8, 3, 7, 7), 3)]
    got = {}
    for jit in (True, False):
        was = kernels.enabled()
        kernels.set_enabled(jit)
        try:
            with autograd.train_mode():
                got[jit] = [a.asnumpy() for a in nd._internal._BatchNorm_stats(
                    *ins, fix_gamma=False, eps=1e-5)]
        finally:
            kernels.set_enabled(was)
    for a, b in zip(got[True], got[False]):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6)


def test_batch_norm_shape_and_dtype_rules():
    op = get_op("BatchNorm")
    a = op.parse_attrs({})
    ins, outs = op.infer_shape(a, [(4, 3, 5, 5), None, None, None, None])
    assert ins[1:] == [(3,)] * 4 and outs == [(4, 3, 5, 5), (3,), (3,)]
    ins, _ = op.infer_shape(op.parse_attrs({"axis": -1}), [(4, 3, 5), None, None, None, None])
    assert ins[1:] == [(5,)] * 4
    assert op.list_outputs(a) == ("output",)  # hidden outputs are not listed, as in MXNet
    assert op.list_outputs(op.parse_attrs({"output_mean_var": True})) == (
        "output", "mean", "var")
    assert op.num_visible_outputs(a) == 1
    assert op.num_visible_outputs(op.parse_attrs({"output_mean_var": True})) == 3
    assert op.aux_names == ("moving_mean", "moving_var")
    with pytest.raises(MXNetError, match="expected"):
        op.infer_shape(a, [(4, 3), (4,), None, None, None])
    # float16 data keeps float32 parameters (as Gluon casts them)
    in_t, out_t = op.infer_type(a, ["float16", None, None, None, None])
    assert in_t == ["float16"] + ["float32"] * 4 and out_t == ["float16", "float32",
                                                               "float32"]


def test_batch_norm_float16_data():
    xs, gs, bs, mms, mvs = _bn_inputs()
    x = nd.array(xs, dtype="float16")
    p = [nd.array(a) for a in (gs, bs, mms, mvs)]
    x.attach_grad()
    p[0].attach_grad()
    with autograd.record():
        y = nd.BatchNorm(x, *p, fix_gamma=False)
    y.backward()
    assert y.dtype == np.float16 and x.grad.dtype == np.float16
    assert p[0].grad.dtype == np.float32
    ref = _np_bn_train(xs.astype(np.float16).astype(np.float64), gs, bs, 1e-3)[0]
    np.testing.assert_allclose(y.asnumpy(), ref, rtol=1e-2, atol=1e-2)


def test_batch_norm_errors():
    x, g, b, mm, mv = [nd.array(a) for a in _bn_inputs()]
    with pytest.raises(MXNetError, match="gamma has shape"):
        nd.BatchNorm(x, nd.ones((4,)), b, mm, mv)
    with pytest.raises(MXNetError, match="moving_var has shape"):
        nd.BatchNorm(x, g, b, mm, nd.ones((2,)))
    with pytest.raises(MXNetError, match="axis 3 is out of range"):
        nd.BatchNorm(x, g, b, mm, mv, axis=3)
    with pytest.raises(MXNetError, match="beta has dtype"):
        nd.BatchNorm(x, g, nd.array(b, dtype="float64"), mm, mv)
    with pytest.raises(MXNetError, match="floating point"):
        nd.BatchNorm(nd.ones((2, 3), dtype="int32"), g, b, mm, mv)
    with pytest.raises(MXNetError, match="quantized"):
        nd.BatchNorm(x, g, b, mm, mv, min_calib_range=-1.0)
    with pytest.raises(MXNetError, match="required input"):
        nd.BatchNorm(x, g, b)


def test_backward_batch_norm_op():
    """The backward operator alone: training and global formulas against numpy."""
    xs, gs, bs, mms, mvs = _bn_inputs()
    og = rng.randn(*xs.shape)
    _, m, v = _np_bn_train(xs, gs, bs, 1e-3)
    inv = 1 / np.sqrt(v + 1e-3)
    z = np.zeros(3)
    ins = [og, xs, gs, m, inv, z, z, mms.copy(), mvs.copy()]
    xhat = (xs - m.reshape(1, 3, 1)) * inv.reshape(1, 3, 1)
    n = xs.size / 3
    sg = og.sum((0, 2))
    sgx = (og * xhat).sum((0, 2))
    dx = gs.reshape(1, 3, 1) * inv.reshape(1, 3, 1) * (
        og - sg.reshape(1, 3, 1) / n - xhat * sgx.reshape(1, 3, 1) / n)
    check_op("_backward_BatchNorm", ins, {"fix_gamma": False}, expected=[dx, sgx, sg],
             rtol=1e-10, atol=1e-12)
    # inference-mode backward: the global-statistics formula, nothing updated
    invg = 1 / np.sqrt(mvs + 1e-3)
    xg = (xs - mms.reshape(1, 3, 1)) * invg.reshape(1, 3, 1)
    check_op("_backward_BatchNorm", ins, {"fix_gamma": False}, train=False,
             expected=[og * (gs * invg).reshape(1, 3, 1), (og * xg).sum((0, 2)), sg],
             rtol=1e-10, atol=1e-12)
    check_op("_backward_BatchNorm", ins, {"fix_gamma": True}, train=False,
             expected=[og * invg.reshape(1, 3, 1), np.zeros(3), sg], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("attrs,wrt", [
    ({"fix_gamma": False}, 0), ({"fix_gamma": False}, 1), ({"fix_gamma": True}, 0),
    ({"fix_gamma": False, "output_mean_var": True}, 0),
    ({"fix_gamma": False, "use_global_stats": True}, 1),
    ({"fix_gamma": False, "axis": -1}, 0),
])
def test_batch_norm_second_order(attrs, wrt):
    """create_graph=True gives differentiable gradients (MXNet has no second-order
    BatchNorm at all); their gradients match finite differences of the first-order ones."""
    ins = _bn_inputs((3, 2, 2), c=2) if attrs.get("axis") != -1 else _bn_inputs((2, 3, 2), 2)
    mm, mv = ins[3], ins[4]

    def f(x, g, b):
        out = nd.BatchNorm(x, g, b, nd.array(mm, dtype="float64"),
                           nd.array(mv, dtype="float64"), **attrs)
        if isinstance(out, list):  # output_mean_var: use the statistics too
            return out[0] ** 2 + nd.sum(out[1] * out[2])
        return out ** 2

    second_order_check(f, ins[:3], wrt=wrt, rtol=1e-4, atol=1e-6)


def test_batch_norm_create_graph_float16():
    xs, gs, bs, mms, mvs = _bn_inputs()
    x = nd.array(xs, dtype="float16")
    p = [nd.array(a) for a in (gs, bs, mms, mvs)]
    x.attach_grad()
    with autograd.record():
        y = nd.BatchNorm(x, *p, fix_gamma=False)
        gx = autograd.grad(y, x, create_graph=True)[0]
    assert gx.dtype == np.float16
    x2 = nd.array(xs, dtype="float16")
    x2.attach_grad()
    with autograd.record():
        y2 = nd.BatchNorm(x2, *[nd.array(a) for a in (gs, bs, mms, mvs)], fix_gamma=False)
    y2.backward()
    np.testing.assert_allclose(gx.asnumpy(), x2.grad.asnumpy(), rtol=1e-3, atol=1e-3)


# --- Gluon nn.BatchNorm (MXNet layer reference data) ---------------------------------------------
def _gluon_bn(fix_gamma):
    return lambda x, p: nd.BatchNorm(x, p["gamma"], p["beta"], p["running_mean"],
                                     p["running_var"], eps=1e-5, momentum=0.9,
                                     fix_gamma=fix_gamma, use_global_stats=False, axis=1)


BN_PARAMS = ["gamma", "beta", "running_mean", "running_var"]


@pytest.mark.parametrize("name", ["batchnorm_conv", "batchnorm_dense", "batchnorm_infer"])
def test_gluon_batch_norm(name):
    ps, arr = run_layer(name, _gluon_bn(False), BN_PARAMS, ["gamma", "beta"])
    for k in ("running_mean", "running_var"):
        np.testing.assert_allclose(ps[k].asnumpy(), arr["param_after/" + k], rtol=1e-4,
                                   atol=1e-5)


def test_gluon_batch_norm_no_center_no_scale():
    ps, arr = run_layer("batchnorm_nocenter", _gluon_bn(True), BN_PARAMS)
    # as MXNet, fix_gamma overwrites gamma with 1
    for k in ("running_mean", "running_var", "beta", "gamma"):
        np.testing.assert_allclose(ps[k].asnumpy(), arr["param_after/" + k], rtol=1e-4,
                                   atol=1e-5)


# --- LayerNorm / InstanceNorm / GroupNorm --------------------------------------------------------
@pytest.mark.parametrize("name", mx_cases("LayerNorm", "InstanceNorm", "GroupNorm"))
def test_other_norms_match_mxnet(name):
    replay(name)
    check_mx_case(name)


def test_norm_outputs_mean_std_gradient_is_exact():
    # gluonlite propagates gradients that reach the mean/std outputs (MXNet drops them):
    # check_op's projection uses every visible output
    def ln(d, g, b):
        m = d.mean(-1, keepdims=True)
        s = np.sqrt(d.var(-1, keepdims=True) + 1e-5)
        return [(d - m) / s * g + b, m, s]

    check_op("LayerNorm", [rng.randn(2, 3, 4), rng.randn(4), rng.randn(4)],
             {"output_mean_var": True}, expected=ln, rtol=1e-10, atol=1e-12)
    check_op("GroupNorm", [rng.randn(2, 4, 3), rng.randn(2), rng.randn(2)],
             {"num_groups": 2, "output_mean_var": True})


@pytest.mark.parametrize("op,shape,attrs,pshape", [
    ("LayerNorm", (2, 3, 2), {"axis": 1}, (3,)),
    ("InstanceNorm", (2, 2, 3), {}, (2,)),
    ("GroupNorm", (2, 4, 2), {"num_groups": 2}, (2,)),
])
@pytest.mark.parametrize("wrt", [0, 1])
def test_norm_second_order(op, shape, attrs, pshape, wrt):
    fn = getattr(nd, op)
    second_order_check(lambda x, g, b: fn(x, g, b, **attrs) ** 2,
                       [rng.randn(*shape), rng.randn(*pshape), rng.randn(*pshape)], wrt=wrt,
                       rtol=1e-4, atol=1e-6)


def test_norm_shape_rules_fill_parameters():
    ln, inorm, gn = get_op("LayerNorm"), get_op("InstanceNorm"), get_op("GroupNorm")
    ins, outs = ln.infer_shape(ln.parse_attrs({"axis": 1}), [(2, 4, 3), None, None])
    assert ins[1:] == [(4,), (4,)] and outs == [(2, 4, 3), (2, 1, 3), (2, 1, 3)]
    ins, outs = inorm.infer_shape(inorm.parse_attrs({}), [(2, 4, 3), None, None])
    assert ins[1:] == [(4,), (4,)] and outs[0] == (2, 4, 3)
    ins, outs = gn.infer_shape(gn.parse_attrs({"num_groups": 2}), [(2, 4, 3, 3), None, None])
    assert ins[1:] == [(2,), (2,)] and outs == [(2, 4, 3, 3), (2, 2), (2, 2)]
    assert gn.num_visible_outputs(gn.parse_attrs({})) == 1
    assert inorm.num_visible_outputs(inorm.parse_attrs({})) == 1


def test_norm_errors():
    x = nd.ones((2, 4, 3))
    with pytest.raises(MXNetError, match="gamma has shape"):
        nd.LayerNorm(x, nd.ones((4,)), nd.ones((3,)))
    with pytest.raises(MXNetError, match="axis 3 is out of range"):
        nd.LayerNorm(x, nd.ones((3,)), nd.ones((3,)), axis=3)
    with pytest.raises(MXNetError, match="divisible"):
        nd.GroupNorm(x, nd.ones((3,)), nd.ones((3,)), num_groups=3)
    with pytest.raises(MXNetError, match="gamma has shape"):
        nd.GroupNorm(x, nd.ones((4,)), nd.ones((4,)), num_groups=2)
    with pytest.raises(MXNetError, match="num_groups must be positive"):
        nd.GroupNorm(x, nd.ones((1,)), nd.ones((1,)), num_groups=0)
    with pytest.raises(MXNetError, match="at least 3 dimensions"):
        nd.InstanceNorm(nd.ones((2, 3)), nd.ones((3,)), nd.ones((3,)))
    with pytest.raises(MXNetError, match="floating point"):
        nd.LayerNorm(nd.ones((2, 3), dtype="int32"), nd.ones((3,), dtype="int32"),
                     nd.ones((3,), dtype="int32"))


def test_gluon_layer_norm():
    run_layer("layernorm", lambda x, p: nd.LayerNorm(x, p["gamma"], p["beta"], axis=-1,
                                                     eps=1e-5),
              ["gamma", "beta"], ["gamma", "beta"])


def test_gluon_instance_norm():
    # nn.InstanceNorm(): scale=False, so gamma has grad_req='null' (but is used)
    run_layer("instancenorm", lambda x, p: nd.InstanceNorm(x, p["gamma"], p["beta"],
                                                           eps=1e-5),
              ["gamma", "beta"], ["beta"])


def test_gluon_group_norm():
    run_layer("groupnorm", lambda x, p: nd.GroupNorm(x, p["gamma"], p["beta"], num_groups=2,
                                                     eps=1e-5),
              ["gamma", "beta"], ["gamma", "beta"])


@pytest.mark.gpu
def test_norms_on_gpu_match_cpu():
    xs, gs, bs, mms, mvs = _bn_inputs()
    ctx = mx.gpu(0)
    res = []
    for c in (mx.cpu(), ctx):
        arrs = [nd.array(a, ctx=c) for a in (xs, gs, bs, mms, mvs)]
        arrs[0].attach_grad()
        with autograd.record():
            y = nd.BatchNorm(*arrs, fix_gamma=False)
        y.backward()
        res.append((y.asnumpy(), arrs[0].grad.asnumpy(), arrs[3].asnumpy()))
        y2 = nd.LayerNorm(arrs[0], nd.ones((2,), ctx=c), nd.zeros((2,), ctx=c))
        res[-1] += (y2.asnumpy(),)
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
