"""MXNet 1.9.1 names taken off gluonlite's missing list (issue 17 §2): the ``*_v1``
operators, ``cast_storage``, ``reset_arrays``, ``histogram``, ``onehot_encode``,
``random_pdf_dirichlet``, ``from_numpy``, DLPack exchange, ``contrib.uniform``,
``nd.sparse`` lazy optimizer updates and ``gs_retain``, ``contrib.adamw_update``,
``mp_adamw_update`` and ``group_adagrad_update``.

Numbers are MXNet's: ``tests/fixtures/more_missing.npz`` (written by
``tests/fixtures/gen/more_missing_mxnet.py`` with MXNet 1.9.1).
"""
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError

from .opcheck import COVERED, check_op, check_shape_type

FIX = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "more_missing.npz"))


def A(a):
    return nd.array(a, dtype=a.dtype)


def close(got, want, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(got.asnumpy() if hasattr(got, "asnumpy") else got, want,
                               rtol=rtol, atol=atol)


# --- the deprecated _v1 operators -----------------------------------------------------------
def test_v1_operators_match_mxnet():
    F = FIX
    bn = mx.sym.BatchNorm_v1(mx.sym.var("x"), fix_gamma=False, eps=1e-3, momentum=0.9,
                             name="bn")
    assert bn.list_arguments() == ["x", "bn_gamma", "bn_beta"]
    assert bn.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    for mode in ("train", "predict"):
        aux = {"bn_moving_mean": A(F["bn/mm"]), "bn_moving_var": A(F["bn/mv"])}
        ex = bn.bind(mx.cpu(), {"x": A(F["bn/x"]), "bn_gamma": A(F["bn/gamma"]),
                                "bn_beta": A(F["bn/beta"])}, aux_states=aux)
        close(ex.forward(is_train=mode == "train")[0], F[f"bn/{mode}/y"], 1e-4, 1e-5)
        close(aux["bn_moving_mean"], F[f"bn/{mode}/mm"])
        close(aux["bn_moving_var"], F[f"bn/{mode}/mv"])
    y = nd.Convolution_v1(A(F["conv/x"]), A(F["conv/w"]), A(F["conv/b"]), kernel=(3, 3),
                          pad=(1, 1), stride=(2, 1), num_filter=4)
    close(y, F["conv/y"], 1e-5, 1e-5)
    y = nd.Convolution_v1(A(F["conv/x"]), A(F["conv/w"]), kernel=(3, 3), num_filter=4,
                          no_bias=True)
    close(y, F["conv/y_nobias"], 1e-5, 1e-5)
    x = A(F["pool/x"])
    close(nd.Pooling_v1(x, kernel=(3, 3), stride=(2, 2), pool_type="max",
                        pooling_convention="full"), F["pool/max_full"])
    close(nd.Pooling_v1(x, kernel=(2, 2), stride=(2, 2), pool_type="avg"), F["pool/avg_valid"])
    close(nd.Pooling_v1(x, kernel=(1, 1), global_pool=True, pool_type="sum"),
          F["pool/global_sum"], 1e-5, 1e-5)
    # the graph JSON names the current operator, which MXNet loads too
    assert '"op": "BatchNorm"' in bn.tojson()


# --- histogram ---------------------------------------------------------------------------------
def test_histogram_matches_mxnet():
    F = FIX
    x = A(F["hist/x"])
    c, e = nd.histogram(x, bins=5, range=(-1.0, 1.0))
    assert c.dtype == np.int64 and e.dtype == np.float32
    close(c, F["hist/cnt_counts"], 0, 0)
    close(e, F["hist/cnt_edges"])
    c, e = nd.histogram(x, bins=A(F["hist/edges"]))
    close(c, F["hist/arr_counts"], 0, 0)
    close(e, F["hist/arr_edges"])
    with pytest.warns(UserWarning, match="range is not specified"):
        c, e = nd.histogram(x, bins=4)
    assert c.dtype == np.float32
    close(c, F["hist/np_counts"], 0, 0)
    close(e, F["hist/np_edges"])
    # symbol mode: a bin count needs the range, as in MXNet
    s = mx.sym.histogram(mx.sym.var("x"), bins=5, range=(-1.0, 1.0))
    assert s.list_arguments() == ["x"]
    assert s.infer_shape(x=(40,))[1] == [(5,), (6,)]
    out = s.bind(mx.cpu(), {"x": x}).forward()
    close(out[0], F["hist/cnt_counts"], 0, 0)
    with pytest.raises(ValueError, match="null range"):
        mx.sym.histogram(mx.sym.var("x"), bins=5)
    with pytest.raises(ValueError, match="bins"):
        nd.histogram(x, bins="auto")
    with pytest.raises(MXNetError, match="low < high"):
        nd.histogram(x, bins=3, range=(1.0, 1.0))
    with pytest.raises(MXNetError, match="at least 2 edges"):
        nd.histogram(x, bins=nd.array([1.0]))
    check_op("_histogram", [F["hist/x"].astype(np.float64)], {"bin_cnt": 5, "range": (-1, 1)},
             expected=[F["hist/cnt_counts"], F["hist/cnt_edges"]], atol=1e-6)


# --- random_pdf_dirichlet ----------------------------------------------------------------------
def test_random_pdf_dirichlet_matches_mxnet_with_gradients():
    F = FIX
    for k, is_log in (("pdf", False), ("log", True)):
        s, a = A(F["dir/sample"]), A(F["dir/alpha"])
        s.attach_grad()
        a.attach_grad()
        with mx.autograd.record():
            y = nd.random_pdf_dirichlet(s, a, is_log=is_log)
        y.backward()
        close(y, F[f"dir/{k}/y"], 1e-4, 1e-5)
        close(s.grad, F[f"dir/{k}/gs"], 1e-4, 1e-4)
        close(a.grad, F[f"dir/{k}/ga"], 1e-4, 1e-4)
    r = np.random.RandomState(3)
    alpha = r.uniform(0.8, 2.5, size=(2, 3))
    smp = r.uniform(0.2, 1.0, size=(2, 2, 3))
    smp /= smp.sum(-1, keepdims=True)
    for is_log in (False, True):
        check_op("_random_pdf_dirichlet", [smp, alpha], {"is_log": is_log},
                 grad_rtol=1e-4, grad_atol=1e-6)
    check_op("_backward_random_pdf_dirichlet", [r.randn(2, 2), smp, alpha])
    assert mx.sym.random_pdf_dirichlet(mx.sym.var("s"), mx.sym.var("a")) \
        .infer_shape(s=(2, 4, 3), a=(2, 3))[1] == [(2, 4)]
    with pytest.raises(MXNetError, match="alpha's shape"):
        nd.random_pdf_dirichlet(nd.ones((2, 4, 3)), nd.ones((2, 4)))


# --- small Python-level functions ----------------------------------------------------------
def test_onehot_encode_reset_arrays_cast_storage():
    out = nd.zeros((3, 4))
    assert nd.onehot_encode(nd.array([0, 3, 1]), out) is out
    close(out, FIX["onehot/out"], 0, 0)
    with pytest.raises(MXNetError, match="onehot_encode"):
        nd.onehot_encode(nd.array([0, 1]), out)
    a, b = nd.ones((2, 3)), nd.full((4,), 7)
    assert nd.reset_arrays(a, b, num_arrays=2) == []
    assert not a.asnumpy().any() and not b.asnumpy().any()
    with pytest.raises(MXNetError, match="num_arrays=3"):
        nd.reset_arrays(a, b, num_arrays=3)
    b[:] = 1
    with pytest.raises(TypeError, match=r"data\[1\]"):
        nd.reset_arrays(a, np.ones(2))
    assert b.asnumpy().all()  # nothing was zeroed by the failed call
    d = nd.array([[0, 1.5], [0, 0], [2, 0]])
    c = nd.cast_storage(d, "csr")
    assert c.stype == "csr" and np.array_equal(c.asnumpy(), d.asnumpy())
    r = nd.cast_storage(d, stype="row_sparse")
    assert r.stype == "row_sparse" and list(r.indices.asnumpy()) == [0, 2]
    s = mx.sym.cast_storage(mx.sym.var("x"), stype="csr")
    assert s.attr("__storage_type__") == "csr"
    close(s.bind(mx.cpu(), {"x": d}).forward()[0], d.asnumpy())


def test_from_numpy_and_dlpack_share_memory():
    src = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = nd.from_numpy(src)
    assert not src.flags.writeable  # the NDArray owns the memory now, as in MXNet
    x[:] = 5
    assert (src == 5).all()
    with pytest.raises(ValueError, match="c-contiguous"):
        nd.from_numpy(np.ones((3, 4))[:, ::2])
    y = nd.from_numpy(np.ones((3, 4))[:, ::2], zero_copy=False)
    assert y.shape == (3, 2) and y.dtype == np.float64
    with pytest.raises(TypeError, match="numpy.ndarray"):
        nd.from_numpy([1, 2])
    a = nd.ones((2, 3))
    w = nd.from_dlpack(nd.to_dlpack_for_write(a))
    w += 1
    close(a, np.full((2, 3), 2.0))
    cap = nd.to_dlpack_for_read(a)
    assert type(cap).__name__ == "PyCapsule"
    r = nd.from_dlpack(cap)
    close(r, a.asnumpy())
    with pytest.raises(ValueError, match="only once"):
        nd.from_dlpack(cap)
    close(nd.from_dlpack(np.arange(3.0)), np.arange(3.0))
    with pytest.raises(TypeError, match="DLPack"):
        nd.from_dlpack(3)


def test_contrib_uniform_is_the_sampler():
    assert nd.contrib.uniform is nd.random.uniform
    assert mx.sym.contrib.uniform is mx.sym.random.uniform


# --- sparse (lazy) optimizer updates ------------------------------------------------------------
_SP = {
    "sgd": ("sgd_update", 0, dict(lr=0.1, wd=0.05, rescale_grad=2.0, clip_gradient=0.9)),
    "sgd_mom": ("sgd_mom_update", 1, dict(lr=0.1, momentum=0.9, wd=0.05)),
    "sgd_mom_dense": ("sgd_mom_update", 1, dict(lr=0.1, momentum=0.9, wd=0.05,
                                                lazy_update=False)),
    "adam": ("adam_update", 2, dict(lr=0.01, wd=0.02, beta1=0.8, epsilon=1e-6)),
    "ftrl": ("ftrl_update", 2, dict(lr=0.1, lamda1=0.01, beta=1.0)),
    "ftrl_wd": ("ftrl_update", 2, dict(lr=0.1, lamda1=0.01, beta=1.0, wd=0.01)),
    "adagrad": ("adagrad_update", 1, dict(lr=0.1, epsilon=1e-6, rescale_grad=0.5)),
}


@pytest.mark.parametrize("case", sorted(_SP))
def test_sparse_updates_match_mxnet(case):
    F = FIX
    fname, nstates, kw = _SP[case]
    w = A(F["sp/w"])
    states = [A(F[f"sp/{case}/s{i}"]) for i in range(nstates)]
    g = nd.sparse.row_sparse_array((F["sp/gv"], F["sp/rows"]), shape=(5, 3))
    res = getattr(nd.sparse, fname)(w, g, *states, out=w, **kw)
    assert res is w
    close(w, F[f"sp/{case}/w_after"], 1e-5, 1e-6)
    for i, st in enumerate(states):
        close(st, F[f"sp/{case}/s{i}_after"], 1e-5, 1e-6)


def test_sparse_update_without_out_and_errors():
    w0 = np.arange(6, dtype=np.float32).reshape(3, 2)
    w = nd.array(w0)
    g = nd.sparse.row_sparse_array((np.ones((1, 2), np.float32), [1]), shape=(3, 2))
    new = nd.sparse.sgd_update(w, g, lr=0.5)
    close(w, w0)  # the weight is not touched without out=
    close(new, w0 - 0.5 * np.array([[0, 0], [1, 1], [0, 0]]))
    h = nd.zeros((3, 2))
    with pytest.raises(MXNetError, match="wd must be 0"):
        nd.sparse.adagrad_update(w, g, h, lr=0.1, wd=0.1, out=w)
    close(w, w0)
    assert not h.asnumpy().any()  # the failed call left the history alone
    with pytest.raises(MXNetError, match="weight must be a dense"):
        nd.sparse.sgd_update(g, g, lr=0.1)
    with pytest.raises(MXNetError, match="grad has shape"):
        nd.sparse.sgd_update(nd.zeros((4, 2)), g, lr=0.1)
    # symbolic form: a dense graph node
    s = mx.sym.sparse.adagrad_update(mx.sym.var("w"), mx.sym.var("g"), mx.sym.var("h"), lr=0.1)
    assert s.list_arguments() == ["w", "g", "h"]


def test_gs_retain_is_retain():
    d = nd.sparse.row_sparse_array((np.arange(6.0).reshape(3, 2), [0, 1, 3]), shape=(4, 2))
    r = nd.sparse.gs_retain(d, nd.array([0, 3], dtype="int64"))
    assert r.stype == "row_sparse" and list(r.indices.asnumpy()) == [0, 3]
    close(r.data, np.array([[0.0, 1], [4, 5]]))


def test_update_operators_pass_the_op_checks():
    r = np.random.RandomState(11)
    w, g, h = r.randn(4, 3), r.randn(4, 3), r.uniform(0.1, 1, (4, 3))
    check_op("_sparse_adagrad_update", [w, g, h], {"lr": 0.1, "epsilon": 1e-6},
             expected=lambda w, g, h: w - 0.1 * g / np.sqrt(h + g * g + 1e-6))
    m, v = r.uniform(0, .1, (4, 3)), r.uniform(0, .1, (4, 3))

    def adamw(w, g, m, v, rg):
        m2, v2 = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        return w - 0.5 * (0.01 * m2 / (np.sqrt(v2) + 1e-8) + 0.1 * w)
    check_op("_contrib_adamw_update", [w, g, m, v, np.ones(1)],
             {"lr": 0.01, "eta": 0.5, "wd": 0.1}, expected=adamw, rtol=1e-4)
    hg = r.uniform(0.1, 1, (4, 1))
    check_op("_contrib_group_adagrad_update", [w, g, hg], {"lr": 0.1},
             expected=lambda w, g, h: w - 0.1 * g / np.sqrt(
                 h + (g * g).mean(1, keepdims=True) + 1e-5))


def test_adamw_and_group_adagrad_match_mxnet():
    F = FIX
    m, v = A(F["adamw/m"]), A(F["adamw/v"])
    y = nd.contrib.adamw_update(A(F["adamw/w"]), A(F["adamw/g"]), m, v, nd.array([0.5]),
                                lr=0.01, eta=0.5, wd=0.1, beta1=0.8, clip_gradient=0.3)
    close(y, F["adamw/fin/y"])
    close(m, F["adamw/fin/m"])
    close(v, F["adamw/fin/v"])
    # a non-finite rescale_grad skips the step: the states are kept, the weight unchanged
    m, v, w = A(F["adamw/m"]), A(F["adamw/v"]), A(F["adamw/w"])
    nd.contrib.adamw_update(w, A(F["adamw/g"]), m, v, nd.array([np.inf]), lr=0.01, eta=0.5,
                            out=w)
    close(m, F["adamw/inf/m"], 0, 0)
    close(v, F["adamw/inf/v"], 0, 0)
    close(w, F["adamw/w"], 0, 0)
    m, v, w32 = A(F["adamw/m"]), A(F["adamw/v"]), A(F["adamw/w"])
    y = nd.contrib.mp_adamw_update(nd.array(F["adamw/w"], dtype="float16"),
                                   nd.array(F["adamw/g"], dtype="float16"), m, v, w32,
                                   nd.array([0.5]), lr=0.01, eta=0.5, wd=0.1)
    assert y.dtype == np.float16
    close(y, F["mpadamw/y"], 1e-3, 1e-3)
    # check_op promotes to float64, which the float32 master copy may not be: the shape
    # and dtype rules are checked here, against MXNet's numbers
    fresh = [nd.array(F["adamw/w"], dtype="float16"), nd.array(F["adamw/g"], dtype="float16"),
             A(F["adamw/m"]), A(F["adamw/v"]), A(F["adamw/w"]), nd.array([0.5])]
    check_shape_type("_contrib_mp_adamw_update", fresh, {"lr": 0.01, "eta": 0.5}, [y])
    COVERED.add("_contrib_mp_adamw_update")
    close(w32, F["mpadamw/w32"], 1e-4, 1e-5)
    close(m, F["mpadamw/m"], 1e-3, 1e-5)
    close(v, F["mpadamw/v"], 1e-3, 1e-6)
    with pytest.raises(MXNetError, match="rescale_grad must hold one value"):
        nd.contrib.adamw_update(w, w, m, v, nd.ones(2), lr=0.1, eta=1.0)
    # MXNet runs group_adagrad_update on row_sparse gradients (in place); the rows the
    # gradient lacks are left as they are, which the dense rule does too (zero gradient)
    h, w = A(F["gada/h"]), A(F["adamw/w"])
    rows = F["gada/rows"]
    g = nd.sparse.row_sparse_array((F["adamw/g"][rows], rows), shape=(4, 3))
    nd.contrib.group_adagrad_update(w, g, h, lr=0.1, rescale_grad=2.0, clip_gradient=0.8,
                                    epsilon=1e-4, out=w)
    close(w, F["gada/y"])
    close(h, F["gada/h_after"])
    with pytest.raises(MXNetError, match=r"history must be \(4, 1\)"):
        nd.contrib.group_adagrad_update(w, w, nd.zeros((4,)), lr=0.1)
