"""``_contrib_SyncBatchNorm`` (``nd.contrib.SyncBatchNorm`` / ``sym.contrib.SyncBatchNorm``)
on one process: outputs, gradients and moving statistics against MXNet 1.9.1
(``tests/fixtures/adaptive_pool_sync_bn.npz``), the standard operator checks, agreement with
``BatchNorm``, symbols and errors."""
import json
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError

from ..opcheck import check_op

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures",
                   "adaptive_pool_sync_bn.npz")
_DATA = np.load(FIX)
CASES = sorted({k.split("/")[0] for k in _DATA.files if k.startswith("sbn_")})
_TOL = dict(rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", CASES)
def test_matches_mxnet(name):
    meta = json.loads(str(_DATA[f"{name}/meta"]))
    arrs = {n: nd.array(_DATA[f"{name}/in/{n}"]) for n in meta["inputs"]}
    grads = [n for n in meta["inputs"] if f"{name}/grad/{n}" in _DATA.files]
    for n in grads:
        arrs[n].attach_grad()
    args = [arrs[n] for n in meta["inputs"]]
    if grads:
        with autograd.record(train_mode=meta["train"]):
            out = nd.contrib.SyncBatchNorm(*args, **meta["attrs"])
        outs = out if isinstance(out, list) else [out]
        outs[0].backward(nd.array(_DATA[f"{name}/head"]))
    else:
        out = nd.contrib.SyncBatchNorm(*args, **meta["attrs"])
        outs = out if isinstance(out, list) else [out]
    nvis = len([k for k in _DATA.files if k.startswith(f"{name}/out/")])
    assert len(outs) == nvis
    for k, o in enumerate(outs):
        np.testing.assert_allclose(o.asnumpy(), _DATA[f"{name}/out/{k}"], **_TOL,
                                   err_msg=f"output {k}")
    for n in grads:
        np.testing.assert_allclose(arrs[n].grad.asnumpy(), _DATA[f"{name}/grad/{n}"],
                                   **_TOL, err_msg=f"gradient of {n}")
    for n in ("moving_mean", "moving_var"):
        key = f"{name}/after/{n}"
        if key in _DATA.files:
            np.testing.assert_allclose(arrs[n].asnumpy(), _DATA[key], **_TOL, err_msg=n)


def _inputs(shape=(3, 2, 4), seed=0):
    rng = np.random.RandomState(seed)
    c = shape[1]
    return [rng.uniform(-1, 2, shape), rng.uniform(0.5, 1.5, c), rng.uniform(-1, 1, c),
            rng.uniform(-1, 1, c), rng.uniform(0.5, 2, c)]


def _np_train(x, gamma, beta, eps):
    red = tuple(i for i in range(x.ndim) if i != 1)
    bs = [1] * x.ndim
    bs[1] = -1
    m, v = x.mean(red), x.var(red)
    return (x - m.reshape(bs)) / np.sqrt(v.reshape(bs) + eps) * gamma.reshape(bs) \
        + beta.reshape(bs), m, v


@pytest.mark.parametrize("fix_gamma", [False, True])
def test_standard_checks_training(fix_gamma):
    ins = _inputs()
    attrs = {"key": "k", "fix_gamma": fix_gamma, "output_mean_var": True, "eps": 1e-3}
    g = np.ones(2) if fix_gamma else ins[1]
    # every output's gradient is checked, the variance output's included
    check_op("_contrib_SyncBatchNorm", ins, attrs, grad_inputs=[0, 1, 2],
             expected=lambda x, ga, b, mm, mv: _np_train(x, g, b, 1e-3),
             rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("train", [False, True])
def test_standard_checks_global_stats(train):
    # the backward picks its formula by its own training flag (as BatchNorm's does), so the
    # inference-mode gradient is checked with use_global_stats
    ins = _inputs(seed=1)
    x, g, b, mm, mv = ins
    want = (x - mm.reshape(1, 2, 1)) / np.sqrt(mv.reshape(1, 2, 1) + 1e-3) \
        * g.reshape(1, 2, 1) + b.reshape(1, 2, 1)
    check_op("_contrib_SyncBatchNorm", ins, {"key": "k", "fix_gamma": False,
                                             "output_mean_var": True,
                                             "use_global_stats": True},
             train=train, grad_inputs=[0, 1, 2], expected=[want, mm, mv],
             rtol=1e-10, atol=1e-12)
    # inference without use_global_stats: the moving statistics are used too
    out = nd.contrib.SyncBatchNorm(*[nd.array(a, dtype="float64") for a in ins], key="k",
                                   fix_gamma=False)
    np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-10)


def test_equals_batchnorm_including_moving_statistics():
    ins = _inputs((4, 3, 2, 2), seed=2)
    res = []
    for op in ("SyncBatchNorm", "BatchNorm"):
        arrs = [nd.array(a, dtype="float32") for a in ins]
        for a in arrs[:3]:
            a.attach_grad()
        fn = nd.contrib.SyncBatchNorm if op == "SyncBatchNorm" else nd.BatchNorm
        kw = {"key": "k"} if op == "SyncBatchNorm" else {}
        with autograd.record():
            y = fn(*arrs, fix_gamma=False, momentum=0.7, **kw)
        y.backward(nd.array(np.linspace(-1, 1, y.size).reshape(y.shape)))
        res.append([y.asnumpy()] + [a.grad.asnumpy() for a in arrs[:3]]
                   + [a.asnumpy() for a in arrs[3:]])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fix_gamma_writes_one_and_float16_takes_float32_parameters():
    x = nd.array(np.random.RandomState(3).randn(2, 3, 4), dtype="float16")
    gamma = nd.array([2.0, 3.0, 4.0])
    y = nd.contrib.SyncBatchNorm(x, gamma, nd.zeros((3,)), nd.zeros((3,)), nd.ones((3,)),
                                 key="k")
    assert y.dtype == np.float16
    np.testing.assert_array_equal(gamma.asnumpy(), [1, 1, 1])


def test_symbol_and_json():
    data = mx.sym.var("data")
    s = mx.sym.contrib.SyncBatchNorm(data, key="sbn", ndev=1, name="sbn")
    assert s.list_arguments() == ["data", "sbn_gamma", "sbn_beta"]
    assert s.list_auxiliary_states() == ["sbn_moving_mean", "sbn_moving_var"]
    assert s.infer_shape(data=(2, 5, 3))[2] == [(5,), (5,)]
    s2 = mx.sym.load_json(s.tojson())
    assert s2.attr("key") == "sbn" and s2.list_auxiliary_states() == s.list_auxiliary_states()


def test_bad_arguments():
    x, g, b, mm, mv = [nd.array(a) for a in _inputs()]
    with pytest.raises(MXNetError, match="'key'"):
        nd.contrib.SyncBatchNorm(x, g, b, mm, mv)
    with pytest.raises(MXNetError, match="ndev"):
        nd.contrib.SyncBatchNorm(x, g, b, mm, mv, key="k", ndev=0)
    with pytest.raises(MXNetError, match="axis"):
        nd.contrib.SyncBatchNorm(x, g, b, mm, mv, key="k", axis=2)
    with pytest.raises(MXNetError, match="gamma has shape"):
        nd.contrib.SyncBatchNorm(x, nd.ones((3,)), b, mm, mv, key="k")
    with pytest.raises(MXNetError, match="floating point"):
        nd.contrib.SyncBatchNorm(nd.ones((2, 2), dtype="int32"), g, b, mm, mv, key="k")
