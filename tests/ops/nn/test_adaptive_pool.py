"""``_contrib_AdaptiveAvgPooling2D`` (``nd.contrib.AdaptiveAvgPooling2D``) and its backward:
outputs and gradients against MXNet 1.9.1 (``tests/fixtures/adaptive_pool_sync_bn.npz``,
made by ``tests/fixtures/gen/adaptive_pool_sync_bn_mxnet.py``), the standard operator checks,
hybridized == imperative, and clear errors."""
import json
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, gluon, nd
from gluonlite.base import MXNetError
from gluonlite.ops.nn.adaptive_pool import adaptive_bins

from ..opcheck import check_op

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures",
                   "adaptive_pool_sync_bn.npz")
_DATA = np.load(FIX)
CASES = sorted({k.split("/")[0] for k in _DATA.files if k.startswith("ap_")})


def _np_adaptive(x, oh, ow):
    """Direct loop over MXNet's bins (floor/ceil of the float ratio, as its kernel)."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, oh, ow), x.dtype)
    for i in range(oh):
        hs, he = int(np.floor(i * h / oh)), int(np.ceil((i + 1) * h / oh))
        for j in range(ow):
            ws, we = int(np.floor(j * w / ow)), int(np.ceil((j + 1) * w / ow))
            out[:, :, i, j] = x[:, :, hs:he, ws:we].mean(axis=(2, 3))
    return out


@pytest.mark.parametrize("name", CASES)
def test_matches_mxnet(name):
    meta = json.loads(str(_DATA[f"{name}/meta"]))
    x = _DATA[f"{name}/in/data"]
    xa = nd.array(x, dtype=x.dtype)
    xa.attach_grad()
    with autograd.record():
        y = nd.contrib.AdaptiveAvgPooling2D(xa, **meta["attrs"])
    y.backward(nd.array(_DATA[f"{name}/head"], dtype=x.dtype))
    assert y.dtype == x.dtype
    np.testing.assert_allclose(y.asnumpy(), _DATA[f"{name}/out/0"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xa.grad.asnumpy(), _DATA[f"{name}/grad/data"], rtol=1e-5,
                               atol=1e-6)


def test_bins_are_mxnets():
    for n in range(1, 12):
        for m in range(1, 15):
            want = [(int(np.floor(i * n / m)), int(np.ceil((i + 1) * n / m)))
                    for i in range(m)]
            assert adaptive_bins(n, m) == want, (n, m)


@pytest.mark.parametrize("size", [(), 2, (3, 2), (4, 6)])
def test_standard_checks(size):
    x = np.random.RandomState(1).randn(2, 2, 4, 5)
    oh, ow = (1, 1) if size == () else (size, size) if isinstance(size, int) else size
    check_op("_contrib_AdaptiveAvgPooling2D", [x], {"output_size": size},
             expected=lambda x: _np_adaptive(x, oh, ow), rtol=1e-12, atol=1e-12)


def test_backward_standard_checks():
    rng = np.random.RandomState(2)
    x, g = rng.randn(2, 3, 5, 4), rng.randn(2, 3, 3, 3)
    # the backward is linear: its value is the adjoint of the forward
    y = _np_adaptive(x, 3, 3)
    res = check_op("_backward_contrib_AdaptiveAvgPooling2D", [g, x], {"output_size": 3},
                   grad_inputs=[0])
    np.testing.assert_allclose((res[0] * x).sum(), (g * y).sum(), rtol=1e-12)


def test_float16_is_accumulated_in_float32():
    x = np.random.RandomState(3).uniform(0, 100, (1, 2, 9, 11)).astype(np.float16)
    y = nd.contrib.AdaptiveAvgPooling2D(nd.array(x, dtype="float16"), output_size=(2, 3))
    assert y.dtype == np.float16
    want = _np_adaptive(x.astype(np.float32), 2, 3).astype(np.float16)
    np.testing.assert_array_equal(y.asnumpy(), want)


class _Pool(gluon.HybridBlock):
    def hybrid_forward(self, F, x):
        return F.contrib.AdaptiveAvgPooling2D(x * 2, output_size=(3, 2)) + 1


def test_hybridized_equals_imperative():
    x = nd.array(np.random.RandomState(4).randn(2, 3, 7, 5))
    res = []
    for hyb in (False, True):
        net = _Pool()
        if hyb:
            net.hybridize()
        xa = x.copy()
        xa.attach_grad()
        with autograd.record():
            y = net(xa)
        y.backward()
        res.append((y.asnumpy(), xa.grad.asnumpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    sym = _Pool()(mx.sym.var("data"))
    assert sym.infer_shape(data=(2, 3, 7, 5))[1] == [(2, 3, 3, 2)]


def test_bad_arguments():
    x = nd.ones((2, 3, 4, 4))
    with pytest.raises(MXNetError, match="4-D"):
        nd.contrib.AdaptiveAvgPooling2D(nd.ones((2, 3, 4)), output_size=2)
    with pytest.raises(MXNetError, match="floating point"):
        nd.contrib.AdaptiveAvgPooling2D(nd.ones((2, 3, 4, 4), dtype="int32"))
    with pytest.raises(MXNetError, match="positive"):
        nd.contrib.AdaptiveAvgPooling2D(x, output_size=0)
    with pytest.raises(MXNetError, match="height, width"):
        nd.contrib.AdaptiveAvgPooling2D(x, output_size=(1, 2, 3))
    with pytest.raises(MXNetError, match="output_size"):
        nd.contrib.AdaptiveAvgPooling2D(x, output_size="big")
