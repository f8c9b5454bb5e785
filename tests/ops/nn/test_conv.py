"""Convolution, Deconvolution and their backward operators.

* ``check_op`` with an independent loop-based numpy reference and a float64 numerical
  gradient check (first order through Convolution/Deconvolution, second order through
  _backward_Convolution/_backward_Deconvolution);
* MXNet 1.9.1 reference data: ``tests/fixtures/conv_ops.npz`` (operator calls, made by
  ``tests/fixtures/gen/conv_gen.py``) and ``tests/fixtures/layers_conv.npz`` (Gluon layers,
  copied from the shared fixtures by ``tests/fixtures/gen/conv_layers_extract.py``) with the
  tolerances MXNet itself meets (outputs rtol 1e-4/atol 1e-5, gradients 1e-3/1e-4);
* shape inference for deferred initialisation, layouts, dtypes and every error.
"""
import itertools
import json
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ndarray.register import make_function
from gluonlite.ops import get_op

from ..opcheck import check_op

FIX = pathlib.Path(__file__).resolve().parents[2] / "fixtures"
rng = np.random.RandomState(0)

OUT_TOL = dict(rtol=1e-4, atol=1e-5)
GRAD_TOL = dict(rtol=1e-3, atol=1e-4)


def _u(*shape):
    return rng.uniform(-1, 1, size=shape)


def _tup(v, nd_, default):
    return tuple(v) if v else (default,) * nd_


# --- independent references (direct loops over output positions / input positions) -------
def ref_conv(x, w, b=None, stride=(), pad=(), dilate=(), groups=1):
    """Direct convolution, NC* layout:
    out[n, f, o] = sum_{c, k} x[n, c, o*s - p + k*d] w[f, c, k]."""
    nd_ = x.ndim - 2
    s, p, d = _tup(stride, nd_, 1), _tup(pad, nd_, 0), _tup(dilate, nd_, 1)
    k = w.shape[2:]
    n, c = x.shape[:2]
    f = w.shape[0]
    xp_ = np.pad(x, [(0, 0), (0, 0)] + [(q, q) for q in p])
    out_sp = [(x.shape[2 + i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(nd_)]
    y = np.zeros((n, f) + tuple(out_sp))
    cg, fg = c // groups, f // groups
    for o in itertools.product(*map(range, out_sp)):
        for off in itertools.product(*map(range, k)):
            idx = tuple(o[i] * s[i] + off[i] * d[i] for i in range(nd_))
            xv = xp_[(slice(None), slice(None)) + idx]          # (n, c)
            for gi in range(groups):
                wv = w[(slice(gi * fg, (gi + 1) * fg), slice(None)) + off]   # (fg, cg)
                y[(slice(None), slice(gi * fg, (gi + 1) * fg)) + o] += \
                    xv[:, gi * cg:(gi + 1) * cg] @ wv.T
    if b is not None:
        y += b.reshape((1, f) + (1,) * nd_)
    return y


def ref_deconv(x, w, b=None, stride=(), pad=(), dilate=(), adj=(), groups=1, out_sp=None):
    """Direct transposed convolution: y[n, f, i*s - p + k*d] += x[n, c, i] w[c, f, k]."""
    nd_ = x.ndim - 2
    s, p, d, a = (_tup(stride, nd_, 1), _tup(pad, nd_, 0), _tup(dilate, nd_, 1),
                  _tup(adj, nd_, 0))
    k = w.shape[2:]
    n, c = x.shape[:2]
    fg = w.shape[1]
    f = fg * groups
    cg = c // groups
    if out_sp is None:
        out_sp = [s[i] * (x.shape[2 + i] - 1) + d[i] * (k[i] - 1) + 1 - 2 * p[i] + a[i]
                  for i in range(nd_)]
    y = np.zeros((n, f) + tuple(out_sp))
    for i_ in itertools.product(*map(range, x.shape[2:])):
        for off in itertools.product(*map(range, k)):
            o = tuple(i_[j] * s[j] - p[j] + off[j] * d[j] for j in range(nd_))
            if not all(0 <= o[j] < out_sp[j] for j in range(nd_)):
                continue
            for gi in range(groups):
                xv = x[(slice(None), slice(gi * cg, (gi + 1) * cg)) + i_]   # (n, cg)
                wv = w[(slice(gi * cg, (gi + 1) * cg), slice(None)) + off]  # (cg, fg)
                y[(slice(None), slice(gi * fg, (gi + 1) * fg)) + o] += xv @ wv
    if b is not None:
        y += b.reshape((1, f) + (1,) * nd_)
    return y


# --- Convolution: forward against the reference, numerical gradients ---------------------------
CONV_CASES = [
    # (x shape, w shape, attrs)
    ((2, 3, 7), (4, 3, 3), dict(kernel=(3,), stride=(2,), pad=(1,), dilate=(2,), num_filter=4)),
    ((2, 4, 5, 6), (6, 2, 3, 2), dict(kernel=(3, 2), stride=(2, 1), pad=(1, 1), dilate=(1, 2),
                                      num_filter=6, num_group=2)),
    ((1, 3, 5, 5), (3, 1, 3, 3), dict(kernel=(3, 3), pad=(1, 1), num_filter=3, num_group=3)),
    ((2, 2, 4, 5), (3, 2, 1, 1), dict(kernel=(1, 1), num_filter=3)),
    ((1, 4, 4, 3, 4), (2, 2, 2, 2, 3), dict(kernel=(2, 2, 3), stride=(2, 1, 1),
                                            pad=(1, 0, 1), dilate=(1, 2, 1), num_filter=2,
                                            num_group=2)),
]


def _conv_ref_from(attrs):
    def ref(x, w, b=None):
        return ref_conv(x, w, b, attrs.get("stride"), attrs.get("pad"), attrs.get("dilate"),
                        attrs.get("num_group", 1))
    return ref


@pytest.mark.parametrize("xs,ws,attrs", CONV_CASES, ids=[str(c[0]) for c in CONV_CASES])
def test_convolution_check_op(xs, ws, attrs):
    x, w, b = _u(*xs), _u(*ws), _u(ws[0])
    check_op("Convolution", [x, w, b], attrs, expected=_conv_ref_from(attrs), rtol=1e-10,
             atol=1e-12)


def test_convolution_no_bias_check_op():
    attrs = dict(kernel=(2, 3), stride=(3, 2), num_filter=3, no_bias=True)
    x, w = _u(2, 2, 7, 7), _u(3, 2, 2, 3)
    check_op("Convolution", [x, w], attrs, expected=_conv_ref_from(attrs), rtol=1e-10,
             atol=1e-12)


def test_convolution_channel_last_equals_transposed():
    # NHWC / NDHWC (MXNet offers them on GPU): weight (F, *kernel, C/groups)
    x, w, b = _u(2, 5, 6, 4), _u(6, 3, 2, 2), _u(6)
    attrs = dict(kernel=(3, 2), stride=(2, 1), pad=(1, 0), num_filter=6, num_group=2)

    def expected(x, w, b):
        return ref_conv(x.transpose(0, 3, 1, 2), w.transpose(0, 3, 1, 2), b, (2, 1), (1, 0),
                        (), 2).transpose(0, 2, 3, 1)
    check_op("Convolution", [x, w, b], dict(attrs, layout="NHWC"), expected=expected,
             rtol=1e-10, atol=1e-12)
    x3, w3 = _u(1, 3, 4, 3, 2), _u(2, 2, 2, 1, 2)
    y = nd.Convolution(nd.array(x3), nd.array(w3), kernel=(2, 2, 1), num_filter=2,
                       no_bias=True, layout="NDHWC").asnumpy()
    ref = ref_conv(x3.transpose(0, 4, 1, 2, 3), w3.transpose(0, 4, 1, 2, 3))
    np.testing.assert_allclose(y, ref.transpose(0, 2, 3, 4, 1), rtol=1e-5, atol=1e-6)


def test_convolution_float16():
    x, w, b = _u(2, 3, 6, 6), _u(4, 3, 3, 3), _u(4)
    x16, w16, b16 = (v.astype(np.float16) for v in (x, w, b))
    ref = ref_conv(*(v.astype(np.float64) for v in (x16, w16, b16)), pad=(1, 1))
    y16 = nd.Convolution(*(nd.array(v, dtype="float16") for v in (x16, w16, b16)),
                         kernel=(3, 3), pad=(1, 1), num_filter=4)
    assert y16.dtype == np.float16
    # accumulated in float32, rounded once to float16
    np.testing.assert_allclose(y16.asnumpy(), ref, rtol=1e-3, atol=1e-3)


def test_backward_convolution_second_order():
    # _backward_Convolution(ograd, data, weight) -> (dX, dW, dB); its own gradient is checked
    # numerically (second-order gradients of Convolution)
    attrs = dict(kernel=(3, 2), stride=(2, 1), pad=(1, 0), dilate=(1, 2), num_filter=4,
                 num_group=2)
    x, w = _u(2, 4, 5, 5), _u(4, 2, 3, 2)
    og = _u(2, 4, 3, 3)

    def expected(og, x, w):
        return _numeric_conv_grads(x, w, og, attrs)
    check_op("_backward_Convolution", [og, x, w], attrs, expected=expected, rtol=1e-8,
             atol=1e-10)
    check_op("_backward_Convolution", [og, x, w], dict(attrs, no_bias=True),
             expected=lambda og, x, w: expected(og, x, w)[:2], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("need", [(False, True), (True, False), (False, False)])
def test_backward_convolution_need_flags(need):
    # outputs nobody asked for are zeros (and their gradient rule treats them as constants)
    attrs = dict(kernel=(2, 2), stride=(1, 2), pad=(1, 0), num_filter=2,
                 need_data=need[0], need_weight=need[1])
    x, w, og = _u(1, 2, 3, 4), _u(2, 2, 2, 2), _u(1, 2, 4, 2)
    full = _numeric_conv_grads(x, w, og, attrs)
    exp = [full[0] if need[0] else np.zeros_like(x), full[1] if need[1] else np.zeros_like(w),
           full[2]]
    check_op("_backward_Convolution", [og, x, w], attrs, expected=exp, rtol=1e-8, atol=1e-10)
    # the Deconvolution of x with w has shape (1, 2, 2, 8)
    check_op("_backward_Deconvolution", [_u(1, 2, 2, 8), x, w], dict(attrs, no_bias=False))


def _numeric_conv_grads(x, w, og, attrs):
    """Gradients of sum(og * conv(x, w, b)) from the reference by exact linearity."""
    ref = _conv_ref_from(attrs)
    dx = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[i] = 1
        dx[i] = np.sum(og * ref(e, w))
    dw = np.zeros_like(w)
    for i in np.ndindex(*w.shape):
        e = np.zeros_like(w)
        e[i] = 1
        dw[i] = np.sum(og * ref(x, e))
    db = og.sum(axis=(0,) + tuple(range(2, og.ndim)))
    return [dx, dw, db]


def test_convolution_second_order_through_autograd():
    # d/dw of <v, d/dx sum(conv(x, w)^2)>, against finite differences of the first gradient
    attrs = dict(kernel=(2, 2), stride=(1, 2), pad=(1, 0), num_filter=2, no_bias=True)
    x0, w0, v = _u(1, 2, 3, 4), _u(2, 2, 2, 2), _u(1, 2, 3, 4)

    def first_grad_dot_v(w_np):
        x = nd.array(x0, dtype="float64")
        w = nd.array(w_np, dtype="float64")
        x.attach_grad()
        w.attach_grad()
        with autograd.record():
            y = nd.Convolution(x, w, **attrs)
            loss = (y * y).sum()
        gx = autograd.grad(loss, [x], create_graph=True)[0]
        with autograd.record():
            z = (gx * nd.array(v, dtype="float64")).sum()
        z.backward()
        return float(z.asnumpy()[0]), w.grad.asnumpy().copy()

    _, analytic = first_grad_dot_v(w0)
    num = np.zeros_like(w0)
    for i in np.ndindex(*w0.shape):
        wp, wm = w0.copy(), w0.copy()
        wp[i] += 1e-6
        wm[i] -= 1e-6
        num[i] = (first_grad_dot_v(wp)[0] - first_grad_dot_v(wm)[0]) / 2e-6
    np.testing.assert_allclose(analytic, num, rtol=1e-5, atol=1e-7)


# --- Deconvolution --------------------------------------------------------------------------
DECONV_CASES = [
    ((2, 3, 4), (3, 2, 3), dict(kernel=(3,), stride=(2,), pad=(1,), adj=(1,), num_filter=2,
                                no_bias=False), {}),
    ((2, 4, 3, 3), (4, 3, 3, 2), dict(kernel=(3, 2), stride=(2, 3), dilate=(2, 1), pad=(1, 0),
                                      num_filter=6, num_group=2), {}),
    ((1, 2, 3, 3), (2, 3, 3, 3), dict(kernel=(3, 3), stride=(2, 2), target_shape=(6, 5),
                                      num_filter=3, no_bias=False),
     dict(pad=(1, 1), adj=(1, 0))),
    ((1, 2, 2, 3, 2), (2, 1, 2, 2, 3), dict(kernel=(2, 2, 3), stride=(2, 1, 2), pad=(0, 1, 1),
                                            num_filter=2, num_group=2, no_bias=False), {}),
]


@pytest.mark.parametrize("xs,ws,attrs,ref_pad", DECONV_CASES,
                         ids=[str(c[0]) for c in DECONV_CASES])
def test_deconvolution_check_op(xs, ws, attrs, ref_pad):
    x, w = _u(*xs), _u(*ws)
    ins = [x, w] if attrs.get("no_bias", True) else [x, w, _u(ws[1] * attrs.get("num_group", 1))]
    ra = dict(attrs, **ref_pad)

    def expected(x, w, b=None):
        return ref_deconv(x, w, b, ra.get("stride"), ra.get("pad"), ra.get("dilate"),
                          ra.get("adj"), ra.get("num_group", 1))
    check_op("Deconvolution", ins, attrs, expected=expected, rtol=1e-10, atol=1e-12)


def test_deconvolution_is_the_data_gradient_of_convolution():
    attrs = dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), num_filter=3, num_group=1)
    x, w = nd.array(_u(2, 4, 7, 7)), nd.array(_u(3, 4, 3, 3))
    x.attach_grad()
    head = nd.array(_u(2, 3, 4, 4))
    with autograd.record():
        y = nd.Convolution(x, w, no_bias=True, **attrs)
    y.backward(head)
    d = nd.Deconvolution(head, w, kernel=(3, 3), stride=(2, 2), pad=(1, 1), num_filter=4)
    np.testing.assert_allclose(d.asnumpy(), x.grad.asnumpy(), rtol=1e-5, atol=1e-6)


def test_backward_deconvolution_second_order():
    attrs = dict(kernel=(3, 2), stride=(2, 1), pad=(1, 0), adj=(1, 0), num_filter=4,
                 num_group=2, no_bias=False)
    x, w = _u(2, 2, 3, 3), _u(2, 2, 3, 2)
    y_shape = nd.Deconvolution(nd.array(x), nd.array(w), nd.array(_u(4)), **attrs).shape
    og = _u(*y_shape)
    check_op("_backward_Deconvolution", [og, x, w], attrs)
    check_op("_backward_Deconvolution", [og, x, w], dict(attrs, no_bias=True))


def test_deconvolution_channel_last_equals_transposed():
    x, w = _u(1, 3, 4, 2), _u(2, 3, 2, 3)     # NHWC data, weight (C_in, *kernel, F/groups)
    y = nd.Deconvolution(nd.array(x), nd.array(w), kernel=(3, 2), stride=(2, 2), num_filter=3,
                         layout="NHWC").asnumpy()
    ref = ref_deconv(x.transpose(0, 3, 1, 2), w.transpose(0, 3, 1, 2), stride=(2, 2))
    np.testing.assert_allclose(y, ref.transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-6)


# --- MXNet reference data --------------------------------------------------------------------
OPS = np.load(FIX / "conv_ops.npz")
OP_CASES = sorted({k.split("/")[0] for k in OPS.files
                   if json.loads(str(OPS[k.split("/")[0] + "/attrs"]))["op"] != "Pooling"})


def run_case(z, name, op, attrs, n_in):
    ins = [z[f"{name}/in{i}"] for i in range(n_in)]
    arrs = [nd.array(a, dtype=a.dtype) for a in ins]
    for a in arrs:
        a.attach_grad()
    with autograd.record():
        y = getattr(nd, op)(*arrs, **attrs)
    y.backward(nd.array(z[f"{name}/head"], dtype=z[f"{name}/head"].dtype))
    return y.asnumpy(), [a.grad.asnumpy() for a in arrs]


@pytest.mark.parametrize("name", OP_CASES)
def test_against_mxnet_operator_calls(name):
    meta = json.loads(str(OPS[name + "/attrs"]))
    n_in = len([k for k in OPS.files if k.startswith(name + "/in")])
    y, grads = run_case(OPS, name, meta["op"], meta["attrs"], n_in)
    np.testing.assert_allclose(y, OPS[name + "/y"], **OUT_TOL)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, OPS[f"{name}/grad{i}"], **GRAD_TOL,
                                   err_msg=f"{name}: gradient of input {i}")


LAYERS = np.load(FIX / "layers_conv.npz")
# Gluon layer -> the operator call Gluon 1.9.1 makes (its _kwargs), and an activation after it
GLUON_CONV = {
    "conv1d": ("Convolution", dict(kernel=(3,), stride=(2,), dilate=(1,), pad=(1,),
                                   num_filter=4, num_group=1, no_bias=False, layout="NCW"), None),
    "conv2d_pad": ("Convolution", dict(kernel=(3, 3), stride=(1, 1), dilate=(1, 1), pad=(1, 1),
                                       num_filter=6, num_group=1, no_bias=False,
                                       layout="NCHW"), None),
    "conv2d_stride_dilate": ("Convolution", dict(kernel=(3, 2), stride=(2, 1), dilate=(2, 1),
                                                 pad=(1, 0), num_filter=4, num_group=1,
                                                 no_bias=False, layout="NCHW"), None),
    "conv2d_groups": ("Convolution", dict(kernel=(3, 3), stride=(1, 1), dilate=(1, 1),
                                          pad=(0, 0), num_filter=4, num_group=2,
                                          no_bias=False, layout="NCHW"), None),
    "conv2d_relu": ("Convolution", dict(kernel=(5, 5), stride=(1, 1), dilate=(1, 1),
                                        pad=(0, 0), num_filter=8, num_group=1, no_bias=False,
                                        layout="NCHW"), "relu"),
    "conv3d": ("Convolution", dict(kernel=(2, 2, 2), stride=(1, 1, 1), dilate=(1, 1, 1),
                                   pad=(0, 0, 0), num_filter=2, num_group=1, no_bias=False,
                                   layout="NCDHW"), None),
    "conv2d_transpose": ("Deconvolution", dict(kernel=(3, 3), stride=(2, 2), dilate=(1, 1),
                                               pad=(1, 1), adj=(1, 1), num_filter=3,
                                               num_group=1, no_bias=False, layout="NCHW"),
                         None),
}


@pytest.mark.parametrize("name", sorted(GLUON_CONV))
def test_against_mxnet_gluon_layers(name):
    op, attrs, act = GLUON_CONV[name]
    z = LAYERS
    x = nd.array(z[name + "/x"])
    w = nd.array(z[name + "/param/weight"])
    b = nd.array(z[name + "/param/bias"])
    for a in (x, w, b):
        a.attach_grad()
    with autograd.record(train_mode=bool(z[name + "/train_mode"])):
        y = getattr(nd, op)(x, w, b, **attrs)
        if act is not None:
            y = getattr(nd, act)(y)
    y.backward(nd.array(z[name + "/head_grad"]))
    np.testing.assert_allclose(y.asnumpy(), z[name + "/y"], **OUT_TOL)
    np.testing.assert_allclose(x.grad.asnumpy(), z[name + "/x_grad"], **GRAD_TOL)
    np.testing.assert_allclose(w.grad.asnumpy(), z[name + "/param_grad/weight"], **GRAD_TOL)
    np.testing.assert_allclose(b.grad.asnumpy(), z[name + "/param_grad/bias"], **GRAD_TOL)


# --- shapes: inference for deferred initialisation ---------------------------------------------
def test_convolution_shape_rule_infers_parameters():
    op = get_op("Convolution")
    a = op.parse_attrs(dict(kernel=(3, 2), stride=(2, 1), pad=(1, 0), num_filter=6,
                            num_group=2))
    ins, outs = op.infer_shape(a, [(8, 4, 9, 7), None, None])
    assert ins == [(8, 4, 9, 7), (6, 2, 3, 2), (6,)]
    assert outs == [(8, 6, 5, 6)]
    a = op.parse_attrs(dict(kernel=(3, 3), num_filter=5, no_bias=True, layout="NHWC"))
    ins, outs = op.infer_shape(a, [(2, 8, 9, 3), None])
    assert ins == [(2, 8, 9, 3), (5, 3, 3, 3)] and outs == [(2, 6, 7, 5)]
    ins, outs = op.infer_shape(a, [None, (5, 3, 3, 3)])
    assert outs == [None]
    with pytest.raises(MXNetError, match=r"Convolution: weight has shape \(5, 3, 3, 2\), "
                                         r"expected \(5, 3, 3, 3\)"):
        op.infer_shape(a, [(2, 8, 9, 3), (5, 3, 3, 2)])


def test_deconvolution_shape_rule_infers_parameters():
    op = get_op("Deconvolution")
    a = op.parse_attrs(dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), adj=(1, 1),
                            num_filter=6, num_group=2, no_bias=False))
    ins, outs = op.infer_shape(a, [(2, 4, 5, 5), None, None])
    assert ins == [(2, 4, 5, 5), (4, 3, 3, 3), (6,)]
    assert outs == [(2, 6, 10, 10)]
    a = op.parse_attrs(dict(kernel=(4,), stride=(3,), target_shape=(11,), num_filter=2))
    assert op.infer_shape(a, [(1, 3, 4), None])[1] == [(1, 2, 11)]
    assert op.list_inputs(a) == ("data", "weight")


def test_default_no_bias_differs_between_convolution_and_deconvolution():
    assert get_op("Convolution").parse_attrs(dict(kernel=(1,), num_filter=1))["no_bias"] is False
    assert get_op("Deconvolution").parse_attrs(dict(kernel=(1,), num_filter=1))["no_bias"] is True


def test_attributes_parse_mxnet_json_strings():
    x, w = _u(1, 2, 5, 5), _u(3, 2, 3, 3)
    y = nd.Convolution(nd.array(x), nd.array(w), kernel="(3, 3)", stride="(2, 2)",
                       pad="(1, 1)", num_filter="3", no_bias="True", workspace="512",
                       cudnn_tune="off", cudnn_off="1")
    np.testing.assert_allclose(y.asnumpy(), ref_conv(x, w, stride=(2, 2), pad=(1, 1)),
                               rtol=1e-5, atol=1e-6)


# --- errors ---------------------------------------------------------------------------------
def _conv(xs=(1, 2, 5, 5), ws=(4, 2, 3, 3), bias=True, dtype="float32", **kw):
    attrs = dict(kernel=(3, 3), num_filter=4)
    attrs.update(kw)
    ins = [nd.ones(xs, dtype=dtype), nd.ones(ws, dtype=dtype)]
    if bias:
        ins.append(nd.ones((attrs["num_filter"],), dtype=dtype))
    return nd.Convolution(*ins, **attrs)


@pytest.mark.parametrize("kw,pattern", [
    (dict(kernel=(3,)), r"Convolution: data must be 3-D \(NCW\) for a 1-D kernel"),
    (dict(kernel=(3, 3, 3, 3)), r"Convolution: kernel must have 1, 2 or 3 dimensions"),
    (dict(kernel=(0, 3)), r"Convolution: every entry of kernel must be positive"),
    (dict(stride=(2,)), r"Convolution: stride must have the same number of dimensions"),
    (dict(stride=(0, 1)), r"Convolution: every entry of stride must be positive"),
    (dict(dilate=(1, 0)), r"Convolution: every entry of dilate must be positive"),
    (dict(pad=(1, 1, 1)), r"Convolution: pad must have the same number of dimensions"),
    (dict(pad=(-1, 0)), r"Convolution: every entry of pad must be non-negative"),
    (dict(num_filter=0), r"Convolution: num_filter must be >= 1"),
    (dict(num_group=0), r"Convolution: num_group must be >= 1"),
    (dict(num_filter=4, num_group=3), r"num_filter \(4\) must be divisible by num_group \(3\)"),
    (dict(ws=(4, 1, 3, 3), num_group=4, xs=(1, 2, 5, 5)),
     r"the 2 input channels of data \(1, 2, 5, 5\) are not divisible by num_group=4"),
    (dict(ws=(4, 2, 3, 2)), r"Convolution: weight has shape \(4, 2, 3, 2\), expected "
                            r"\(4, 2, 3, 3\) \(num_filter, channels/num_group, \*kernel\)"),
    (dict(kernel=(7, 7), ws=(4, 2, 7, 7)), r"Convolution: the \(dilated\) kernel size 7 in "
                                           r"dimension 0 exceeds the input size 5"),
    (dict(dilate=(3, 1)), r"dilated\) kernel size 7 in dimension 0 exceeds"),
    (dict(layout="NCDHW"), r"Convolution: layout 'NCDHW' does not fit a 2-D kernel"),
    (dict(layout="NWC"), r"Convolution: invalid value for argument 'layout'"),
    (dict(cudnn_tune="best"), r"Convolution: invalid value for argument 'cudnn_tune'"),
    (dict(bias=False), r"Convolution: with these attributes the inputs are \['data', "
                       r"'weight', 'bias'\], got 2"),
    (dict(no_bias=True), r"Convolution: with these attributes the inputs are \['data', "
                         r"'weight'\], got 3"),
    (dict(dtype="int32"), r"Convolution: only floating-point data is supported \(as in "
                          r"MXNet\), got int32"),
])
def test_convolution_errors(kw, pattern):
    with pytest.raises(MXNetError, match=pattern):
        _conv(**kw)


def test_convolution_errors_missing_attrs_and_bias_shape():
    with pytest.raises(MXNetError, match=r"Convolution: required argument 'kernel'"):
        nd.Convolution(nd.ones((1, 1, 3, 3)), nd.ones((1, 1, 1, 1)), nd.ones((1,)),
                       num_filter=1)
    with pytest.raises(MXNetError, match=r"Convolution: required argument 'num_filter'"):
        nd.Convolution(nd.ones((1, 1, 3, 3)), nd.ones((1, 1, 1, 1)), nd.ones((1,)),
                       kernel=(1, 1))
    with pytest.raises(MXNetError, match=r"Convolution: bias has shape \(5,\), expected \(4,\)"):
        nd.Convolution(nd.ones((1, 2, 5, 5)), nd.ones((4, 2, 3, 3)), nd.ones((5,)),
                       kernel=(3, 3), num_filter=4)
    with pytest.raises(MXNetError, match=r"_backward_Convolution: ograd has shape"):
        make_function(get_op("_backward_Convolution"))(
            nd.ones((1, 4, 2, 2)), nd.ones((1, 2, 5, 5)), nd.ones((4, 2, 3, 3)),
            kernel=(3, 3), num_filter=4)


@pytest.mark.parametrize("kw,pattern", [
    (dict(adj=(2, 2), stride=(2, 2)), r"Deconvolution: adj must be smaller than stride"),
    (dict(target_shape=(5, 5)), r"adj must be smaller than stride .*computed from "
                                r"target_shape"),
    (dict(target_shape=(20, 20), stride=(2, 2)), r"Deconvolution: target_shape \(20, 20\) is "
                                                 r"too big"),
    (dict(target_shape=(8,), stride=(2, 2)), r"Deconvolution: target_shape must have one "
                                             r"entry per kernel dimension"),
    (dict(pad=(4, 4)), r"Deconvolution: pad \(4, 4\) is too large"),
    (dict(num_filter=5, num_group=2, ws=(2, 2, 3, 3)),
     r"Deconvolution: num_filter \(5\) must be divisible by num_group \(2\)"),
    (dict(ws=(2, 4, 3, 3)), r"Deconvolution: weight has shape \(2, 4, 3, 3\), expected "
                            r"\(2, 3, 3, 3\) \(in_channels, num_filter/num_group"),
    (dict(dtype="int32"), r"Deconvolution: only floating-point data is supported"),
])
def test_deconvolution_errors(kw, pattern):
    ws = kw.pop("ws", (2, 3, 3, 3))
    dtype = kw.pop("dtype", "float32")
    attrs = dict(kernel=(3, 3), num_filter=3)
    attrs.update(kw)
    with pytest.raises(MXNetError, match=pattern):
        nd.Deconvolution(nd.ones((1, 2, 4, 4), dtype=dtype), nd.ones(ws, dtype=dtype), **attrs)


# --- GPU (CuPy) agrees with CPU -----------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("op,xs,ws,attrs", [
    ("Convolution", (2, 4, 7, 6), (6, 2, 3, 2), dict(kernel=(3, 2), stride=(2, 1), pad=(1, 1),
                                                     dilate=(1, 2), num_filter=6, num_group=2)),
    ("Convolution", (1, 2, 4, 5, 4), (3, 2, 2, 2, 2), dict(kernel=(2, 2, 2), num_filter=3)),
    ("Deconvolution", (2, 4, 3, 4), (4, 3, 3, 2), dict(kernel=(3, 2), stride=(2, 3),
                                                       dilate=(2, 1), pad=(1, 0), num_filter=6,
                                                       num_group=2, no_bias=False)),
])
def test_gpu_matches_cpu(op, xs, ws, attrs):
    x, w = _u(*xs).astype(np.float32), _u(*ws).astype(np.float32)
    f = attrs["num_filter"]
    b = _u(f).astype(np.float32)
    results = []
    for ctx in (mx.cpu(), mx.gpu()):
        arrs = [nd.array(v, ctx=ctx) for v in (x, w, b)]
        for a in arrs:
            a.attach_grad()
        with autograd.record():
            y = getattr(nd, op)(*arrs, **attrs)
        y.backward(nd.ones_like(y))
        results.append([y.asnumpy()] + [a.grad.asnumpy() for a in arrs])
    for c, g in zip(*results):
        np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-5)
