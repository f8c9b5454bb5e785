"""The contrib operators (``nd.contrib.*``), ``UpSampling`` and ``Crop``: outputs and
gradients against MXNet 1.9.1 (``tests/fixtures/contrib_ops.npz``, made by
``tests/fixtures/gen/contrib_ops_mxnet.py``), the standard operator checks (shape/dtype rules,
finite-difference gradients) and clear errors for bad arguments."""
import json
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.ndarray.register import make_function
from gluonlite.ops import get_op

from .opcheck import check_op

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "contrib_ops.npz")
_DATA = np.load(FIX)
CASES = sorted({k.split("/")[0] for k in _DATA.files} - {"graph"})


def _case(name):
    meta = json.loads(str(_DATA[f"{name}/meta"]))
    ins = [_DATA[f"{name}/in/{n}"] for n in meta["inputs"]]
    return meta, ins


# MXNet's float32 kernels vs gluonlite's (float64 weights for ROIAlign, matrix form of the
# resize): equal up to rounding
_TOL = dict(rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("name", CASES)
def test_matches_mxnet(name):
    meta, ins = _case(name)
    fn = make_function(get_op(meta["op"]))
    arrs = [nd.array(x, dtype=x.dtype) for x in ins]
    for n, a in zip(meta["inputs"], arrs):
        if n in meta["grads"]:
            a.attach_grad()
    with autograd.record():
        out = fn(*arrs, **meta["attrs"])
    outs = out if isinstance(out, list) else [out]
    k = 0
    while f"{name}/out/{k}" in _DATA.files:
        exp = _DATA[f"{name}/out/{k}"]
        got = outs[k].asnumpy()
        assert got.shape == exp.shape and got.dtype == exp.dtype, (name, k, got.shape, exp.shape)
        np.testing.assert_allclose(got, exp, err_msg=f"{name}: output {k}", **_TOL)
        k += 1
    assert k == len(outs), f"{name}: {len(outs)} outputs, MXNet gave {k}"
    if meta["grads"]:
        outs[0].backward(nd.array(_DATA[f"{name}/head"]))
        for n, a in zip(meta["inputs"], arrs):
            if n in meta["grads"]:
                np.testing.assert_allclose(a.grad.asnumpy(), _DATA[f"{name}/grad/{n}"],
                                           err_msg=f"{name}: gradient of {n}", **_TOL)


def test_mxnet_exported_graph_loads_and_matches(tmp_path):
    """A -symbol.json MXNet 1.9.1 exported (UpSampling, BilinearResize2D, Crop, ROIAlign,
    box_nms, MultiBoxPrior in one hybridized block) loads and computes MXNet's outputs."""
    path = tmp_path / "g-symbol.json"
    path.write_text(str(_DATA["graph/json"]))
    ins = [_DATA[f"graph/in/{k}"] for k in range(3)]
    sb = mx.gluon.SymbolBlock.imports(str(path), ["data0", "data1", "data2"])
    outs = sb(*[nd.array(x) for x in ins])
    for k, o in enumerate(outs):
        np.testing.assert_allclose(o.asnumpy(), _DATA[f"graph/out/{k}"], err_msg=f"output {k}",
                                   **_TOL)
    # and back out again: gluonlite's export of the same graph reloads to the same numbers
    sb.hybridize()
    sb(*[nd.array(x) for x in ins])
    sb.export(str(tmp_path / "again"))
    sb2 = mx.gluon.SymbolBlock.imports(str(tmp_path / "again-symbol.json"),
                                       ["data0", "data1", "data2"])
    for a, b in zip(sb2(*[nd.array(x) for x in ins]), outs):
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())


def test_namespaces():
    for n in ("BilinearResize2D", "ROIAlign", "box_nms", "box_non_maximum_suppression",
              "box_iou", "MultiBoxPrior", "MultiBoxTarget", "MultiBoxDetection"):
        assert callable(getattr(nd.contrib, n)), n
        assert callable(getattr(mx.sym.contrib, n)), n
    s = mx.sym.contrib.box_nms(mx.sym.var("x"), overlap_thresh=0.3)
    assert json.loads(s.tojson())["nodes"][-1]["op"] == "_contrib_box_nms"
    assert len(s.list_outputs()) == 1  # the hidden 'temp' output is not listed, as in MXNet


# --- the standard checks (shape/dtype rules, finite-difference gradients) ----------------------
def test_check_bilinear_resize():
    r = np.random.RandomState(0)
    x = r.randn(1, 2, 3, 4)
    for ac in (True, False):
        check_op("_contrib_BilinearResize2D", [x], {"height": 5, "width": 3, "align_corners": ac})
    check_op("_contrib_BilinearResize2D", [x, r.randn(1, 1, 2, 6)], {"mode": "like"},
             grad_inputs=[0])
    check_op("_backward_contrib_BilinearResize2D", [r.randn(1, 2, 5, 3), x],
             {"align_corners": False}, grad_inputs=[0])


def test_check_roi_align():
    r = np.random.RandomState(1)
    x = r.randn(2, 4, 5, 6)
    rois = np.array([[0, 0.5, 1.0, 7.0, 8.0], [1, 2.0, 1.0, 5.5, 4.0], [-1, 0, 0, 3, 3]])
    a = {"pooled_size": (2, 2), "spatial_scale": 0.7}
    check_op("_contrib_ROIAlign", [x, rois], a, grad_inputs=[0])
    check_op("_contrib_ROIAlign", [x, rois], dict(a, position_sensitive=True, sample_ratio=2),
             grad_inputs=[0])
    check_op("_backward_contrib_ROIAlign", [r.randn(3, 4, 2, 2), x, rois], a, grad_inputs=[0])


def test_check_box_ops():
    r = np.random.RandomState(2)
    b = np.abs(r.randn(4, 4)) + [0, 0, 2, 2]
    check_op("_contrib_box_iou", [b, b[:3]], {"format": "corner"})
    d = np.concatenate([r.randint(0, 2, (2, 6, 1)), r.rand(2, 6, 1),
                        np.abs(r.randn(2, 6, 4)) + [0, 0, 1.5, 1.5]], axis=2)
    # ids are cast to int, so finite differences across them are meaningless: the gradient
    # is checked without id_index, the per-class forward without a gradient check
    check_op("_contrib_box_nms", [d], {"overlap_thresh": 0.3})
    out = check_op("_contrib_box_nms", [d], {"overlap_thresh": 0.3, "id_index": 0}, grad=False)
    rec = nd.contrib.box_nms(nd.array(d, dtype="float64"), overlap_thresh=0.3,
                             id_index=0).asnumpy()
    np.testing.assert_array_equal(out[0], rec)
    g = r.randn(2, 6, 6)
    _, record = nd.invoke(get_op("_contrib_box_nms"), [nd.array(d)],
                          get_op("_contrib_box_nms").parse_attrs({"overlap_thresh": 0.3}),
                          all_outputs=True)
    check_op("_backward_contrib_box_nms", [g, record.asnumpy()], grad_inputs=[0])
    check_op("_contrib_box_nms_gather", [g, record.asnumpy()], grad_inputs=[0])


def test_check_multibox_ops():
    r = np.random.RandomState(3)
    fm = r.randn(1, 2, 2, 3)
    anc = check_op("_contrib_MultiBoxPrior", [fm], {"sizes": (0.5, 0.3), "ratios": (1, 2)},
                   grad=False)[0]
    na = anc.shape[1]
    lab = np.array([[[1, 0.1, 0.1, 0.6, 0.5], [-1, -1, -1, -1, -1]]])
    check_op("_contrib_MultiBoxTarget", [anc, lab, r.randn(1, 3, na)], grad=False)
    p = np.exp(r.randn(1, 3, na))
    check_op("_contrib_MultiBoxDetection", [p / p.sum(1, keepdims=True), r.randn(1, na * 4) / 5,
                                            anc], grad=False)


# --- errors --------------------------------------------------------------------------------
def test_errors():
    x = nd.ones((1, 1, 4, 4))
    with pytest.raises(MXNetError, match="mode='like' needs|inputs are"):
        nd.contrib.BilinearResize2D(x, mode="like")
    with pytest.raises(MXNetError, match="4-D"):
        nd.contrib.BilinearResize2D(nd.ones((4, 4)), height=2, width=2)
    with pytest.raises(MXNetError, match=r"rois must have shape \(R, 5\)"):
        nd.contrib.ROIAlign(x, nd.ones((2, 4)), pooled_size=(2, 2), spatial_scale=1.0)
    with pytest.raises(MXNetError, match="batch index 3"):
        nd.contrib.ROIAlign(x, nd.array([[3, 0, 0, 2, 2]]), pooled_size=(2, 2),
                            spatial_scale=1.0)
    with pytest.raises(MXNetError, match="last dimension of 4"):
        nd.contrib.box_iou(nd.ones((3, 5)), nd.ones((2, 4)))
    with pytest.raises(MXNetError, match="score_index"):
        nd.contrib.box_nms(nd.ones((2, 6)), score_index=3)
    with pytest.raises(MXNetError, match="at least 5 elements"):
        nd.contrib.box_nms(nd.ones((2, 4)))
    with pytest.raises(MXNetError, match=r"anchor must have shape \(1, num_anchors, 4\)"):
        nd.contrib.MultiBoxTarget(nd.ones((2, 4)), nd.ones((1, 1, 5)), nd.ones((1, 2, 2)))
    with pytest.raises(MXNetError, match="loc_pred must have shape"):
        nd.contrib.MultiBoxDetection(nd.ones((1, 2, 3)), nd.ones((1, 8)), nd.ones((1, 3, 4)))
    with pytest.raises(MXNetError, match="steps"):
        nd.contrib.MultiBoxPrior(x, steps=(0.1,))


def test_hybridized_ssd_head_matches_imperative():
    """The ops inside a hybridized block (F.contrib.*) give what they give imperatively."""
    class Head(mx.gluon.HybridBlock):
        def hybrid_forward(self, F, x, cls, loc):
            anchors = F.contrib.MultiBoxPrior(x, sizes=(0.4, 0.2), ratios=(1, 2, 0.5))
            y = F.contrib.BilinearResize2D(x, height=6, width=6)
            det = F.contrib.MultiBoxDetection(F.softmax(cls, axis=1), loc, anchors,
                                              nms_threshold=0.45)
            return y, det

    r = np.random.RandomState(4)
    x = nd.array(r.randn(1, 2, 3, 3).astype(np.float32))
    na = 3 * 3 * 4
    cls = nd.array(r.randn(1, 3, na).astype(np.float32))
    loc = nd.array(r.randn(1, na * 4).astype(np.float32) / 5)
    h = Head()
    ref = [o.asnumpy() for o in h(x, cls, loc)]
    h.hybridize()
    got = [o.asnumpy() for o in h(x, cls, loc)]
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_check_upsampling_crop():
    r = np.random.RandomState(5)
    x, y = r.randn(1, 2, 2, 3), r.randn(1, 1, 1, 1)
    check_op("UpSampling", [x], {"scale": 2, "sample_type": "nearest"})
    check_op("UpSampling", [r.randn(1, 2, 2, 2), y], {"scale": 1, "sample_type": "nearest",
                                    "multi_input_mode": "concat"})
    check_op("UpSampling", [r.randn(1, 2, 2, 2), r.randn(1, 2, 1, 1)],
             {"scale": 2, "sample_type": "nearest", "multi_input_mode": "sum"})
    check_op("UpSampling", [x, r.randn(2, 1, 4, 4)],
             {"scale": 2, "sample_type": "bilinear", "num_filter": 2})
    check_op("_backward_UpSampling", [r.randn(1, 3, 2, 2), r.randn(1, 2, 2, 2), y],
             {"scale": 1, "multi_input_mode": "concat"}, grad_inputs=[0])
    z = r.randn(2, 2, 4, 5)
    check_op("Crop", [z], {"h_w": (2, 3), "offset": (1, 1)})
    check_op("Crop", [z, r.randn(1, 1, 3, 3)], {"center_crop": True}, grad_inputs=[0])
    check_op("_backward_Crop", [r.randn(2, 2, 3, 3), z], {"center_crop": True}, grad_inputs=[0])


def test_upsampling_crop_errors():
    x = nd.ones((1, 2, 3, 3))
    with pytest.raises(MXNetError, match="exactly 2 inputs"):
        nd.UpSampling(x, scale=2, sample_type="bilinear", num_filter=2)
    with pytest.raises(MXNetError, match=r"weight must have shape \(2, 1, 4, 4\)"):
        nd.UpSampling(x, nd.ones((2, 1, 3, 3)), scale=2, sample_type="bilinear", num_filter=2)
    with pytest.raises(MXNetError, match="one integer factor"):
        nd.UpSampling(x, nd.ones((1, 2, 4, 4)), scale=2, sample_type="nearest")
    with pytest.raises(MXNetError, match="does not fit"):
        nd.Crop(x, h_w=(2, 2), offset=(2, 0), num_args=1)
    with pytest.raises(MXNetError, match="positive"):
        nd.Crop(x, num_args=1)


def test_bilinear_upsampling_in_a_hybridized_block():
    """gluoncv-style: UpSampling with a Bilinear-initialised weight, hybridized and not."""
    class Up(mx.gluon.HybridBlock):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.weight = self.params.get("weight", shape=(3, 1, 4, 4),
                                          init=mx.init.Bilinear())

        def hybrid_forward(self, F, x, weight):
            return F.UpSampling(x, weight, scale=2, sample_type="bilinear", num_filter=3)

    b = Up()
    b.initialize()
    x = nd.array(np.random.RandomState(6).randn(1, 3, 4, 4).astype(np.float32))
    ref = b(x).asnumpy()
    b.hybridize()
    np.testing.assert_allclose(b(x).asnumpy(), ref, rtol=1e-6, atol=1e-6)
    # the bilinear kernel reproduces a constant image away from the border
    c = b(nd.ones((1, 3, 4, 4))).asnumpy()
    np.testing.assert_allclose(c[:, :, 1:-1, 1:-1], 1.0, rtol=1e-6)
