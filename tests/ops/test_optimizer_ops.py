"""MXNet 1.9.1's optimizer update operators (``nd.sgd_update``, ``nd.adam_update``,
``nd.multi_mp_sgd_mom_update``, ...): outputs AND the states they update in place against
MXNet (``tests/fixtures/optimizer_ops.npz``, made by
``tests/fixtures/gen/optimizer_ops_mxnet.py``), the standard operator checks, and errors."""
import json
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError

from .opcheck import COVERED, check_shape_type

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "optimizer_ops.npz")
_DATA = np.load(FIX)
CASES = sorted({k.split("/")[0] for k in _DATA.files})
_PER = {"multi_sgd_update": 2, "multi_sgd_mom_update": 3, "multi_mp_sgd_update": 3,
        "multi_mp_sgd_mom_update": 4}


def _tol(dtype):
    return (2e-3, 2e-3) if dtype == np.float16 else (1e-5, 1e-6)


@pytest.mark.parametrize("name", CASES)
def test_matches_mxnet(name):
    meta = json.loads(str(_DATA[f"{name}/meta"]))
    ins = [(n, nd.array(_DATA[f"{name}/in/{n}"], dtype=_DATA[f"{name}/in/{n}"].dtype))
           for n in meta["inputs"]]
    kw = dict(meta["attrs"])
    if meta["out"] == "weight":
        kw["out"] = ins[0][1]
    elif meta["out"] == "weights":
        per = _PER[meta["op"].replace("preloaded_", "")]
        kw["out"] = [a for i, (n, a) in enumerate(ins)
                     if i % per == 0 and i < per * kw["num_weights"]]
    before = [nd.array(a.asnumpy(), dtype=a.dtype) for _, a in ins]
    res = getattr(nd, meta["op"])(*[a for _, a in ins], **kw)
    outs = res if isinstance(res, list) else [res]
    k = 0
    while f"{name}/out/{k}" in _DATA.files:
        want = _DATA[f"{name}/out/{k}"]
        assert outs[k].dtype == want.dtype, (k, outs[k].dtype, want.dtype)
        rtol, atol = _tol(want.dtype)
        np.testing.assert_allclose(outs[k].asnumpy(), want, rtol=rtol, atol=atol,
                                   err_msg=f"{name}: output {k}")
        k += 1
    assert k == len(outs)
    # the registry's shape and dtype rules agree with what the forward produced
    opname = meta["op"]
    if opname == "nag_mom_update" and meta["out"] == "weight":
        opname = "_nag_mom_update_inplace"  # what nd.nag_mom_update(..., out=weight) runs
    check_shape_type(opname, before, meta["attrs"], outs)
    COVERED.add(opname)
    for n, a in ins:  # the in-place updates: states, and the weight given as out=
        want = _DATA[f"{name}/after/{n}"]
        rtol, atol = _tol(want.dtype)
        np.testing.assert_allclose(a.asnumpy(), want, rtol=rtol, atol=atol,
                                   err_msg=f"{name}: {n} after the call")


def test_weight_changes_only_through_out():
    w, g, mom = nd.ones((2, 3)), nd.ones((2, 3)), nd.zeros((2, 3))
    new = nd.sgd_mom_update(w, g, mom, lr=0.5, momentum=0.9)
    assert (w.asnumpy() == 1).all()                     # no out=: weight kept
    np.testing.assert_allclose(mom.asnumpy(), -0.5)      # the state is updated in place
    np.testing.assert_allclose(new.asnumpy(), 0.5)
    r = nd.sgd_update(w, g, 0.25, out=w)                 # lr positionally, as in MXNet
    assert r is w
    np.testing.assert_allclose(w.asnumpy(), 0.75)


def test_symbols_exist_and_infer_shapes():
    w, g, m = mx.sym.var("w"), mx.sym.var("g"), mx.sym.var("m")
    s = mx.sym.sgd_mom_update(w, g, m, lr=0.1, momentum=0.9)
    _, out, _ = s.infer_shape(w=(3, 4))
    assert out == [(3, 4)]
    assert s.list_arguments() == ["w", "g", "m"]


def test_errors():
    w = nd.ones((2, 3))
    with pytest.raises(MXNetError, match="grad has shape"):
        nd.sgd_update(w, nd.ones((3, 2)), lr=0.1)
    with pytest.raises(MXNetError, match="required argument 'lr'"):
        nd.sgd_update(w, w)
    with pytest.raises(MXNetError, match="weight32 must be float32"):
        nd.mp_sgd_update(w.astype("float16"), w.astype("float16"), w.astype("float16"),
                         lr=0.1)
    with pytest.raises(MXNetError, match="num_weights=2 needs 4 arrays"):
        nd.multi_sgd_update(w, w, w, lrs=(0.1, 0.1), wds=(0, 0), num_weights=2)
    with pytest.raises(MXNetError, match="lrs must hold num_weights=2"):
        nd.multi_sgd_update(w, w, w, w, lrs=(0.1,), wds=(0, 0), num_weights=2)
    with pytest.raises(MXNetError, match="t .the update count. must be >= 1"):
        nd.ftml_update(w, w, w, w, w, lr=0.1, t=0)
    with pytest.raises(MXNetError, match="r1 must hold one number"):
        nd.lamb_update_phase2(w, w, w, w, lr=0.1)
    with pytest.raises(MXNetError, match="must be a floating point"):
        nd.sgd_update(w.astype("int32"), w.astype("int32"), lr=0.1)
    with pytest.raises(MXNetError, match="wds must be a vector"):
        v = nd.ones((3,))
        nd.multi_lars(v, v, v, nd.ones((2,)), eta=0.1, eps=0.0)
    m = nd.zeros((2, 3))
    with pytest.raises(MXNetError):  # a failed call leaves the states as they were
        nd.sgd_mom_update(w, nd.ones((3, 2)), m, lr=0.1)
    assert (m.asnumpy() == 0).all()
