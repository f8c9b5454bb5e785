"""Pooling and its backward operators.

* ``check_op`` against an independent loop-based numpy reference (MXNet's window rules) and
  float64 numerical gradients, first order (Pooling) and second order (_backward_Pooling,
  _pooling_argmax_take);
* MXNet 1.9.1 reference data: the pooling cases of ``tests/fixtures/conv_ops.npz`` and the
  Gluon pooling layers of ``tests/fixtures/layers_conv.npz``;
* shapes, layouts, dtypes and every error.
"""
import itertools
import json
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ops import get_op

from ..opcheck import check_op

FIX = pathlib.Path(__file__).resolve().parents[2] / "fixtures"
rng = np.random.RandomState(0)

OUT_TOL = dict(rtol=1e-4, atol=1e-5)
GRAD_TOL = dict(rtol=1e-3, atol=1e-4)


def _distinct(*shape):
    """Values that are all different and at least 0.05 apart (no ties, so max pooling is
    differentiable under the finite-difference step), random signs and order."""
    n = int(np.prod(shape))
    v = (rng.permutation(n) - n / 2.0) * 0.05
    return v.reshape(shape)


def _pos(*shape):
    return rng.uniform(0.3, 1.5, size=shape)


# --- independent reference: one window at a time, MXNet's clipping rules -----------------------
def ref_pool(x, kernel=(), pool_type="max", global_pool=False, pooling_convention="valid",
             stride=(), pad=(), p_value=None, count_include_pad=None, layout=None):
    nd_ = x.ndim - 2
    if layout is not None and layout[-1] == "C":
        x = np.moveaxis(x, -1, 1)
    sp = x.shape[2:]
    if global_pool:
        kernel, stride, pad, pooling_convention = sp, (1,) * nd_, (0,) * nd_, "valid"
    s = stride or (1,) * nd_
    p = pad or (0,) * nd_
    out = []
    for i in range(nd_):
        n, k = sp[i], kernel[i]
        if pooling_convention == "valid":
            out.append((n + 2 * p[i] - k) // s[i] + 1)
        elif pooling_convention == "full":
            out.append(int(np.ceil((n + 2 * p[i] - k) / s[i])) + 1)
        else:
            out.append(int(np.ceil(n / s[i])))
    y = np.zeros(x.shape[:2] + tuple(out))
    for o in itertools.product(*map(range, out)):
        lo = [o[i] * s[i] - p[i] for i in range(nd_)]
        hi_pad = [min(lo[i] + kernel[i], sp[i] + p[i]) for i in range(nd_)]
        clo = [max(v, 0) for v in lo]
        chi = [min(hi_pad[i], sp[i]) for i in range(nd_)]
        win = x[(slice(None), slice(None)) + tuple(slice(a, b) for a, b in zip(clo, chi))]
        win = win.reshape(x.shape[:2] + (-1,))
        idx = (slice(None), slice(None)) + o
        if pool_type == "max":
            y[idx] = win.max(axis=-1) if win.shape[-1] else np.finfo(np.float64).min
        elif pool_type == "sum":
            y[idx] = win.sum(axis=-1)
        elif pool_type == "avg":
            if count_include_pad is False:
                cnt = np.prod([b - a for a, b in zip(clo, chi)])
            else:
                cnt = np.prod([b - a for a, b in zip(lo, hi_pad)])
            y[idx] = win.sum(axis=-1) / max(cnt, 1)
        else:
            q = p_value
            t = (win ** q).sum(axis=-1)
            y[idx] = t if q == 1 else (np.sqrt(t) if q == 2 else np.cbrt(t))
    if layout is not None and layout[-1] == "C":
        y = np.moveaxis(y, 1, -1)
    return y


POOL_CASES = [
    # (x shape, attrs, generator)
    ((2, 2, 7), dict(kernel=(3,), stride=(2,), pad=(1,)), _distinct),
    ((1, 2, 6, 6), dict(kernel=(2, 3), stride=(2, 2), pad=(1, 1), pooling_convention="full"),
     _distinct),
    ((1, 2, 5, 5), dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1)), _distinct),
    ((1, 1, 4, 5, 4), dict(kernel=(2, 3, 2), stride=(2, 1, 2), pad=(1, 1, 0)), _distinct),
    ((1, 2, 9, 10), dict(kernel=(5, 5), stride=(5, 5), pooling_convention="full"), _distinct),
    ((2, 2, 7), dict(kernel=(3,), stride=(2,), pooling_convention="same"), _distinct),
    ((2, 2, 6, 7), dict(kernel=(3, 2), stride=(2, 3), pad=(1, 1), pool_type="avg",
                        pooling_convention="full"), _pos),
    ((2, 2, 6, 7), dict(kernel=(3, 2), stride=(2, 3), pad=(1, 1), pool_type="avg",
                        pooling_convention="full", count_include_pad=False), _pos),
    ((1, 2, 5, 5), dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type="avg"), _pos),
    ((1, 1, 4, 3, 5), dict(kernel=(2, 2, 3), stride=(2, 1, 2), pad=(1, 0, 1), pool_type="avg",
                           count_include_pad=False), _pos),
    ((2, 2, 8), dict(kernel=(3,), stride=(2,), pool_type="avg", pooling_convention="same"),
     _pos),
    ((1, 2, 5, 6), dict(kernel=(2, 3), stride=(1, 2), pad=(1, 1), pool_type="sum"), _pos),
    ((1, 2, 4, 4), dict(kernel=(2, 2), stride=(2, 2), pad=(2, 2), pool_type="sum"), _pos),
    ((1, 2, 10, 12), dict(kernel=(5, 6), stride=(5, 6), pool_type="avg"), _pos),
    ((1, 2, 6, 6), dict(kernel=(2, 2), stride=(3, 3), pool_type="avg",
                        pooling_convention="full"), _pos),
    ((1, 2, 4, 5), dict(kernel=(2, 2), stride=(1, 2), pad=(1, 0), pool_type="lp", p_value=1),
     _pos),
    ((1, 2, 4, 5), dict(kernel=(2, 2), stride=(1, 2), pad=(1, 0), pool_type="lp", p_value=2),
     _pos),
    ((1, 2, 4, 5), dict(kernel=(2, 2), stride=(1, 2), pad=(1, 0), pool_type="lp", p_value=3),
     _pos),
    ((2, 3, 4, 5), dict(global_pool=True, pool_type="max"), _distinct),
    ((2, 3, 4, 5), dict(kernel=(2, 2), global_pool=True, pool_type="avg"), _pos),
    ((2, 3, 5), dict(global_pool=True, pool_type="sum"), _pos),
    ((1, 2, 3, 2, 4), dict(global_pool=True, pool_type="lp", p_value=2), _pos),
    ((2, 5, 6, 3), dict(kernel=(3, 2), stride=(2, 2), pad=(1, 0), layout="NHWC"), _distinct),
    ((2, 7, 3), dict(kernel=(3,), stride=(2,), pad=(1,), pool_type="avg", layout="NWC",
                     count_include_pad=False), _pos),
]


@pytest.mark.parametrize("xs,attrs,gen", POOL_CASES,
                         ids=[f"{c[1].get('pool_type', 'max')}-{i}"
                              for i, c in enumerate(POOL_CASES)])
def test_pooling_check_op(xs, attrs, gen):
    x = gen(*xs)
    check_op("Pooling", [x], attrs, expected=lambda x: ref_pool(x, **attrs), rtol=1e-10,
             atol=1e-12)


def test_max_pooling_window_in_padding_gives_lowest_and_no_gradient():
    x = nd.array(rng.uniform(-1, 1, size=(1, 1, 5, 5)).astype(np.float32))
    x.attach_grad()
    with autograd.record():
        y = nd.Pooling(x, kernel=(2, 2), stride=(2, 2), pad=(1, 1),
                       pooling_convention="full")
    assert y.shape == (1, 1, 4, 4)
    assert (y.asnumpy()[0, 0, 3, :] == np.finfo(np.float32).min).all()
    y.backward()
    # every window but the empty ones passes exactly one gradient
    assert x.grad.asnumpy().sum() == 9


def test_max_pooling_ties_go_to_the_first_maximum():
    x = nd.ones((1, 1, 4, 4))
    x.attach_grad()
    with autograd.record():
        y = nd.Pooling(x, kernel=(3, 3), stride=(1, 1), pad=(1, 1))
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy()[0, 0], [[4, 2, 2, 0], [2, 1, 1, 0],
                                                            [2, 1, 1, 0], [0, 0, 0, 0]])


def test_pooling_float16():
    x = rng.uniform(-2, 2, size=(2, 3, 6, 6))
    for t in ("max", "avg", "lp"):
        y = nd.Pooling(nd.array(x, dtype="float16"), kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                       pool_type=t, p_value=2)
        assert y.dtype == np.float16
        ref = ref_pool(x.astype(np.float16).astype(np.float64), kernel=(3, 3), stride=(2, 2),
                       pad=(1, 1), pool_type=t, p_value=2)
        np.testing.assert_allclose(y.asnumpy(), ref, rtol=2e-3, atol=2e-3)


# --- second order ---------------------------------------------------------------------------
def _bwd_inputs(xs, attrs, gen):
    x = gen(*xs)
    y = ref_pool(x, **attrs)
    og = rng.uniform(-1, 1, size=y.shape)
    return og, x, y


@pytest.mark.parametrize("attrs", [
    dict(kernel=(3, 2), stride=(2, 1), pad=(1, 1), pool_type="avg", pooling_convention="full"),
    dict(kernel=(3, 2), stride=(2, 1), pad=(1, 1), pool_type="avg", count_include_pad=False),
    dict(kernel=(2, 2), stride=(1, 2), pad=(1, 0), pool_type="sum"),
    dict(kernel=(2, 2), stride=(1, 2), pad=(1, 0), pool_type="lp", p_value=1),
    dict(kernel=(2, 2), stride=(1, 2), pad=(1, 0), pool_type="lp", p_value=2),
    dict(kernel=(2, 2), stride=(1, 2), pad=(1, 0), pool_type="lp", p_value=3),
], ids=["avg-full", "avg-excl", "sum", "lp1", "lp2", "lp3"])
def test_backward_pooling_second_order(attrs):
    og, x, y = _bwd_inputs((1, 2, 4, 5), attrs, _pos)
    check_op("_backward_Pooling", [og, x, y], attrs)


@pytest.mark.parametrize("attrs", [
    dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1)),
    dict(kernel=(3, 2), stride=(2, 2), pooling_convention="full"),
    dict(kernel=(5, 5), stride=(5, 5), pooling_convention="full"),
], ids=["overlap", "full", "view"])
def test_max_backward_and_take_are_transposes(attrs):
    # _backward_Pooling (scatter to the argmax) and _pooling_argmax_take (gather from it)
    # are linear in their first input and each other's transpose; the argmax positions
    # are piecewise constant, so only the first input has a gradient
    og, x, y = _bwd_inputs((1, 2, 6, 7), attrs, _distinct)
    v = rng.uniform(-1, 1, size=x.shape)
    dx = check_op("_backward_Pooling", [og, x, y], attrs, grad_inputs=[0])[0]
    took = check_op("_pooling_argmax_take", [v, x, y], attrs, grad_inputs=[0])[0]
    np.testing.assert_allclose(np.sum(dx * v), np.sum(og * took), rtol=1e-12)


def test_max_pooling_second_order_through_autograd():
    # z = <v, d/dx sum(w * maxpool(x)^2)>: its gradient in w goes through _backward_Pooling's
    # gradient (the argmax gather)
    x0, v = _distinct(1, 1, 4, 4), rng.uniform(-1, 1, size=(1, 1, 4, 4))
    w0 = rng.uniform(0.5, 1.5, size=(1, 1, 3, 3))

    def z_of(w_np):
        x = nd.array(x0, dtype="float64")
        w = nd.array(w_np, dtype="float64")
        x.attach_grad()
        w.attach_grad()
        with autograd.record():
            y = nd.Pooling(x, kernel=(2, 2), stride=(1, 1))
            loss = (w * y * y).sum()
        gx = autograd.grad(loss, [x], create_graph=True)[0]
        with autograd.record():
            z = (gx * nd.array(v, dtype="float64")).sum()
        z.backward()
        return float(z.asnumpy()[0]), w.grad.asnumpy().copy()

    _, analytic = z_of(w0)
    num = np.zeros_like(w0)
    for i in np.ndindex(*w0.shape):
        wp, wm = w0.copy(), w0.copy()
        wp[i] += 1e-6
        wm[i] -= 1e-6
        num[i] = (z_of(wp)[0] - z_of(wm)[0]) / 2e-6
    np.testing.assert_allclose(analytic, num, rtol=1e-6, atol=1e-8)


# --- MXNet reference data --------------------------------------------------------------------
OPS = np.load(FIX / "conv_ops.npz")
POOL_OP_CASES = sorted({k.split("/")[0] for k in OPS.files
                        if json.loads(str(OPS[k.split("/")[0] + "/attrs"]))["op"] == "Pooling"})


@pytest.mark.parametrize("name", POOL_OP_CASES)
def test_against_mxnet_operator_calls(name):
    meta = json.loads(str(OPS[name + "/attrs"]))
    x = nd.array(OPS[name + "/in0"], dtype=OPS[name + "/in0"].dtype)
    x.attach_grad()
    with autograd.record():
        y = nd.Pooling(x, **meta["attrs"])
    y.backward(nd.array(OPS[name + "/head"], dtype=x.dtype))
    np.testing.assert_allclose(y.asnumpy(), OPS[name + "/y"], **OUT_TOL)
    np.testing.assert_allclose(x.grad.asnumpy(), OPS[name + "/grad0"], **GRAD_TOL)


LAYERS = np.load(FIX / "layers_conv.npz")
# Gluon layer -> the Pooling call Gluon 1.9.1 makes (its _kwargs)
GLUON_POOL = {
    "maxpool2d": dict(kernel=(2, 2), stride=(2, 2), pad=(0, 0), global_pool=False,
                      pool_type="max", layout="NCHW", pooling_convention="valid"),
    "maxpool2d_seed": dict(kernel=(2, 3), stride=(2, 3), pad=(1, 2), global_pool=False,
                           pool_type="max", layout="NCHW", pooling_convention="valid"),
    "maxpool2d_ceil": dict(kernel=(3, 3), stride=(2, 2), pad=(0, 0), global_pool=False,
                           pool_type="max", layout="NCHW", pooling_convention="full"),
    "avgpool2d_nopad": dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), global_pool=False,
                            pool_type="avg", layout="NCHW", pooling_convention="valid",
                            count_include_pad=False),
    "avgpool2d": dict(kernel=(2, 2), stride=(2, 2), pad=(0, 0), global_pool=False,
                      pool_type="avg", layout="NCHW", pooling_convention="valid",
                      count_include_pad=True),
    "globalavg": dict(kernel=(1, 1), stride=(1, 1), pad=(0, 0), global_pool=True,
                      pool_type="avg", layout="NCHW", pooling_convention="valid"),
    "globalmax": dict(kernel=(1, 1), stride=(1, 1), pad=(0, 0), global_pool=True,
                      pool_type="max", layout="NCHW", pooling_convention="valid"),
    "maxpool1d": dict(kernel=(3,), stride=(1,), pad=(1,), global_pool=False, pool_type="max",
                      layout="NCW", pooling_convention="valid"),
    "avgpool3d": dict(kernel=(2, 2, 2), stride=(2, 2, 2), pad=(0, 0, 0), global_pool=False,
                      pool_type="avg", layout="NCDHW", pooling_convention="valid",
                      count_include_pad=True),
}


@pytest.mark.parametrize("name", sorted(GLUON_POOL))
def test_against_mxnet_gluon_layers(name):
    z = LAYERS
    x = nd.array(z[name + "/x"])
    x.attach_grad()
    with autograd.record(train_mode=bool(z[name + "/train_mode"])):
        y = nd.Pooling(x, **GLUON_POOL[name])
    y.backward(nd.array(z[name + "/head_grad"]))
    np.testing.assert_allclose(y.asnumpy(), z[name + "/y"], **OUT_TOL)
    np.testing.assert_allclose(x.grad.asnumpy(), z[name + "/x_grad"], **GRAD_TOL)


# --- shapes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,attrs,out", [
    ((2, 3, 7, 8), dict(kernel=(3, 3), stride=(2, 2)), (2, 3, 3, 3)),
    ((2, 3, 7, 8), dict(kernel=(3, 3), stride=(2, 2), pooling_convention="full"), (2, 3, 3, 4)),
    ((2, 3, 7), dict(kernel=(2,), stride=(3,), pooling_convention="same"), (2, 3, 3)),
    ((2, 3, 7, 8, 5), dict(global_pool=True), (2, 3, 1, 1, 1)),
    ((2, 7, 8, 3), dict(global_pool=True, layout="NHWC"), (2, 1, 1, 3)),
    ((2, 7, 8, 3), dict(kernel=(2, 2), stride=(2, 2), layout="NHWC"), (2, 3, 4, 3)),
])
def test_pooling_shape_rule(shape, attrs, out):
    op = get_op("Pooling")
    assert op.infer_shape(op.parse_attrs(attrs), [shape])[1] == [out]
    assert op.infer_shape(op.parse_attrs(attrs), [None])[1] == [None]


def test_pooling_attributes_parse_mxnet_json_strings():
    a = get_op("Pooling").parse_attrs({"kernel": "(2, 2)", "pool_type": "avg",
                                       "count_include_pad": "False", "p_value": "None",
                                       "global_pool": "0", "cudnn_off": "True"})
    assert a["count_include_pad"] is False and a["p_value"] is None
    assert get_op("Pooling").parse_attrs({"kernel": "(2, 2)"})["count_include_pad"] is None
    assert get_op("Pooling").dump_attrs(a)["count_include_pad"] == "False"


# --- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,kw,pattern", [
    ((2, 2), dict(kernel=(2,)), r"Pooling: data must be 3-D \(N, C, W\), 4-D"),
    ((1, 1, 4, 4), dict(), r"Pooling: kernel is required unless global_pool=True"),
    ((1, 1, 4, 4), dict(kernel=(2,)), r"Pooling: kernel \(2,\) has 1 dimensions but data "
                                      r"\(1, 1, 4, 4\) has 2 spatial dimensions"),
    ((1, 1, 4, 4), dict(kernel=(0, 2)), r"Pooling: every entry of kernel must be positive"),
    ((1, 1, 4, 4), dict(kernel=(2, 2), stride=(1,)), r"Pooling: stride must have one entry "
                                                     r"per kernel dimension"),
    ((1, 1, 4, 4), dict(kernel=(2, 2), stride=(0, 1)), r"every entry of stride must be "
                                                       r"positive"),
    ((1, 1, 4, 4), dict(kernel=(5, 5)), r"Pooling: kernel size 5 in dimension 0 exceeds the "
                                        r"input size 4 padded to 4"),
    ((1, 1, 4, 4), dict(kernel=(2, 2), pad=(2, 0)), r"Pooling: pad must be smaller than "
                                                    r"kernel for max pooling"),
    ((1, 1, 4, 4), dict(kernel=(2, 2), pad=(1, 2), pool_type="avg"),
     r"pad must be smaller than kernel for avg pooling"),
    ((1, 1, 4, 4), dict(kernel=(2, 2), pooling_convention="same"),
     r"Pooling: pooling_convention='same' supports 1-D pooling only"),
    ((1, 1, 4), dict(kernel=(2,), pad=(1,), pooling_convention="same"),
     r"pooling_convention='same' does not take pad"),
    ((1, 1, 4, 4), dict(kernel=(2, 2), pool_type="lp"), r"Pooling: pool_type='lp' needs "
                                                        r"p_value"),
    ((1, 1, 4, 4), dict(kernel=(2, 2), pool_type="lp", p_value=4),
     r"Pooling: p_value must be 1, 2 or 3"),
    ((1, 1, 4, 4), dict(kernel=(2, 2), layout="NCW"), r"Pooling: layout 'NCW' does not fit "
                                                      r"4-D data"),
    ((1, 1, 4, 4), dict(kernel=(2, 2), pool_type="median"), r"Pooling: invalid value for "
                                                            r"argument 'pool_type'"),
    ((1, 1, 4, 4), dict(kernel=(2, 2), count_include_pad="maybe"),
     r"Pooling: invalid value for argument 'count_include_pad'"),
])
def test_pooling_errors(shape, kw, pattern):
    with pytest.raises(MXNetError, match=pattern):
        nd.Pooling(nd.ones(shape), **kw)


def test_pooling_rejects_integer_data_and_bad_backward_shapes():
    with pytest.raises(MXNetError, match=r"Pooling: only floating-point data is supported"):
        nd.Pooling(nd.ones((1, 1, 4, 4), dtype="int32"), kernel=(2, 2))
    from gluonlite.ndarray.register import make_function
    bwd = make_function(get_op("_backward_Pooling"))
    with pytest.raises(MXNetError, match=r"_backward_Pooling: ograd has shape \(1, 1, 3, 3\), "
                                         r"expected the Pooling output shape \(1, 1, 2, 2\)"):
        bwd(nd.ones((1, 1, 3, 3)), nd.ones((1, 1, 4, 4)), nd.ones((1, 1, 2, 2)),
            kernel=(2, 2), stride=(2, 2))
    take = make_function(get_op("_pooling_argmax_take"))
    with pytest.raises(MXNetError, match=r"_pooling_argmax_take: only defined for "
                                         r"pool_type='max'"):
        take(nd.ones((1, 1, 4, 4)), nd.ones((1, 1, 4, 4)), nd.ones((1, 1, 2, 2)),
             kernel=(2, 2), stride=(2, 2), pool_type="avg")


# --- GPU (CuPy) agrees with CPU -----------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("attrs", [
    dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1)),
    dict(kernel=(3, 2), stride=(2, 3), pad=(1, 1), pool_type="avg", pooling_convention="full",
         count_include_pad=False),
    dict(kernel=(2, 2), pool_type="lp", p_value=2),
    dict(global_pool=True, pool_type="max"),
    dict(kernel=(5, 5), stride=(5, 5), pool_type="max"),
])
def test_gpu_matches_cpu(attrs):
    x = _distinct(2, 3, 10, 10).astype(np.float32)
    results = []
    for ctx in (mx.cpu(), mx.gpu()):
        a = nd.array(x, ctx=ctx)
        a.attach_grad()
        with autograd.record():
            y = nd.Pooling(a, **attrs)
        y.backward(nd.ones_like(y))
        results.append((y.asnumpy(), a.grad.asnumpy()))
    for c, g in zip(*results):
        np.testing.assert_allclose(g, c, rtol=1e-5, atol=1e-6)
