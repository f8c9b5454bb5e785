"""``gluon.contrib.nn`` against MXNet 1.9.1 (``tests/fixtures/gluon_contrib.npz``, made by
``tests/fixtures/gen/gluon_contrib_mxnet.py``): PixelShuffle1D/2D/3D, HybridConcurrent /
Concurrent / Identity, SyncBatchNorm; imperative and hybridized; bad arguments."""
import os
import warnings

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.gluon import nn
from gluonlite.gluon.contrib import nn as cnn

FIX = np.load(os.path.join(os.path.dirname(__file__), "..", "..", "fixtures",
                           "gluon_contrib.npz"))


def _shuffle_ref(x, factors):
    """NumPy definition: out[n, c, d*f1+i, ...] = x[n, c*prod(f) + flat(i, ...), d, ...]."""
    n, cf = x.shape[:2]
    sp = x.shape[2:]
    k = len(factors)
    c = cf // int(np.prod(factors))
    y = x.reshape((n, c) + tuple(factors) + sp)
    # interleave: (n, c, s1, f1, s2, f2, ...)
    perm = [0, 1] + [a for i in range(k) for a in (2 + k + i, 2 + i)]
    return y.transpose(perm).reshape((n, c) + tuple(s * f for s, f in zip(sp, factors)))


@pytest.mark.parametrize("name,layer,factors", [
    ("ps1", lambda: cnn.PixelShuffle1D(3), (3,)),
    ("ps2", lambda: cnn.PixelShuffle2D((2, 3)), (2, 3)),
    ("ps2int", lambda: cnn.PixelShuffle2D(2), (2, 2)),
    ("ps3", lambda: cnn.PixelShuffle3D((2, 1, 2)), (2, 1, 2))])
@pytest.mark.parametrize("hybrid", [False, True])
def test_pixel_shuffle(name, layer, factors, hybrid):
    x, y = FIX[f"{name}/x"], FIX[f"{name}/y"]
    np.testing.assert_array_equal(_shuffle_ref(x, factors), y)
    blk = layer()
    if hybrid:
        blk.hybridize()
    np.testing.assert_array_equal(blk(nd.array(x)).asnumpy(), y)


def test_pixel_shuffle_errors_and_repr():
    with pytest.raises(ValueError, match="factor must be a positive int"):
        cnn.PixelShuffle1D(0)
    with pytest.raises(ValueError, match="2 positive ints"):
        cnn.PixelShuffle2D((2, 2, 2))
    with pytest.raises(ValueError, match="divisible by 4"):
        cnn.PixelShuffle2D(2)(nd.ones((1, 6, 2, 2)))
    with pytest.raises(ValueError, match="expected 5-D input"):
        cnn.PixelShuffle3D(1)(nd.ones((1, 6, 2, 2)))
    assert repr(cnn.PixelShuffle2D((2, 3))) == "PixelShuffle2D((2, 3))"


def _load(net, case):
    for k, p in net.collect_params().items():
        p.set_data(nd.array(FIX[f"{case}/p/{k}"]))


@pytest.mark.parametrize("hybrid", [False, True])
def test_hybrid_concurrent_matches_mxnet(hybrid):
    net = cnn.HybridConcurrent(axis=1, prefix="hc_")
    with net.name_scope():
        net.add(nn.Dense(3, in_units=4))
        net.add(cnn.Identity())
        net.add(nn.Dense(2, activation="tanh", in_units=4))
    net.initialize()
    assert sorted(net.collect_params()) == sorted(k[len("hc/p/"):] for k in FIX.files
                                                 if k.startswith("hc/p/"))
    _load(net, "hc")
    if hybrid:
        net.hybridize()
    np.testing.assert_allclose(net(nd.array(FIX["hc/x"])).asnumpy(), FIX["hc/y"],
                               rtol=1e-5, atol=1e-6)


def test_concurrent_and_export(tmp_path):
    x = nd.array(np.random.RandomState(0).randn(2, 3).astype(np.float32))
    c = cnn.Concurrent(axis=-1)
    c.add(nn.Dense(2, in_units=3), cnn.Identity())
    c.initialize()
    out = c(x)
    assert out.shape == (2, 5)
    np.testing.assert_array_equal(out.asnumpy()[:, 2:], x.asnumpy())
    hc = cnn.HybridConcurrent(axis=-1)
    hc.add(nn.Dense(2, in_units=3), cnn.Identity())
    hc.initialize()
    hc.hybridize()
    ref = hc(x).asnumpy()
    hc.export(str(tmp_path / "hc"))
    sb = mx.gluon.SymbolBlock.imports(str(tmp_path / "hc-symbol.json"), ["data"],
                                      str(tmp_path / "hc-0000.params"))
    np.testing.assert_allclose(sb(x).asnumpy(), ref, rtol=1e-6)
    with pytest.raises(ValueError, match="no children"):
        cnn.HybridConcurrent()(x)
    with pytest.raises(TypeError, match="axis must be an int"):
        cnn.Concurrent(axis="1")


def test_sync_batch_norm_matches_mxnet():
    bn = cnn.SyncBatchNorm(in_channels=3, num_devices=1, momentum=0.8, prefix="sbn_")
    bn.initialize()
    assert sorted(bn.collect_params()) == ["sbn_beta", "sbn_gamma", "sbn_running_mean",
                                           "sbn_running_var"]
    _load(bn, "sbn")
    x = nd.array(FIX["sbn/x"])
    x.attach_grad()
    with autograd.record():
        y = bn(x)
    y.backward(nd.array(FIX["sbn/head"]))
    np.testing.assert_allclose(y.asnumpy(), FIX["sbn/y"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x.grad.asnumpy(), FIX["sbn/grad"], rtol=1e-4, atol=1e-5)
    for k, p in bn.collect_params().items():
        np.testing.assert_allclose(p.data().asnumpy(), FIX[f"sbn/after/{k}"], rtol=1e-5,
                                   atol=1e-6, err_msg=k)


def test_sync_batch_norm_arguments():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cnn.SyncBatchNorm(num_devices=1)
        cnn.SyncBatchNorm()
    with pytest.warns(UserWarning, match="not synchronised"):
        cnn.SyncBatchNorm(num_devices=4)
    with pytest.raises(Exception, match="num_devices must be positive"):
        cnn.SyncBatchNorm(num_devices=0)
    with pytest.raises(TypeError, match="num_devices must be an int"):
        cnn.SyncBatchNorm(num_devices="2")
    assert isinstance(cnn.SyncBatchNorm(), nn.BatchNorm)
