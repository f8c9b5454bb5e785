"""Sparse storage (``nd.sparse``): csr and row_sparse arrays against MXNet 1.9.1's numbers
(``tests/fixtures/sparse_mxnet.npz``, made by ``tests/fixtures/gen/sparse_mxnet.py``)."""
import pathlib
import pickle

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, gluon, nd
from gluonlite.base import FileFormatError, MXNetError

FIX = pathlib.Path(__file__).resolve().parent.parent / "fixtures"
REF = np.load(FIX / "sparse_mxnet.npz")
SP = nd.sparse


def ref(key):
    return REF[key]


def check(arr, key, rtol=1e-5, atol=1e-6, components=True):
    """``arr`` has MXNet's storage type, values and (optionally) sparse components."""
    stype = str(ref(key + "/stype"))
    assert arr.stype == stype, key
    np.testing.assert_allclose(arr.asnumpy(), ref(key), rtol=rtol, atol=atol, err_msg=key)
    if components and stype == "csr":
        np.testing.assert_array_equal(arr.indptr.asnumpy(), ref(key + "/indptr"))
        np.testing.assert_array_equal(arr.indices.asnumpy(), ref(key + "/indices"))
    if components and stype == "row_sparse":
        np.testing.assert_array_equal(arr.indices.asnumpy(), ref(key + "/indices"))


# --- creation and conversion ----------------------------------------------------------
def test_csr_matrix_forms_agree():
    dense = np.array([[1, 0, 2, 0], [0, 0, 0, 0], [0, 3, 0, 0]], np.float32)
    a = SP.csr_matrix((np.array([1., 2, 3], np.float32), [0, 2, 1], [0, 2, 2, 3]),
                      shape=(3, 4))
    b = SP.csr_matrix((np.array([3., 1, 2], np.float32), ([2, 0, 0], [1, 0, 2])),
                      shape=(3, 4))
    c = SP.csr_matrix(dense)
    d = nd.array(dense).tostype("csr")
    for x in (a, b, c, d):
        assert isinstance(x, SP.CSRNDArray) and x.stype == "csr" and x.shape == (3, 4)
        np.testing.assert_array_equal(x.asnumpy(), dense)
        assert x.indptr.asnumpy().tolist() == [0, 2, 2, 3]
        assert x.indices.asnumpy().tolist() == [0, 2, 1]
        assert x.indices.dtype == np.int64 and x.dtype == np.float32
    assert SP.csr_matrix((2, 5)).asnumpy().tolist() == [[0] * 5] * 2
    # COO duplicates are summed, as scipy does
    e = SP.csr_matrix(([1., 2.], ([0, 0], [1, 1])), shape=(1, 2))
    assert e.asnumpy().tolist() == [[0, 3]] and e.data.asnumpy().tolist() == [3]


def test_row_sparse_array_and_casts():
    x = SP.row_sparse_array((np.ones((2, 3), np.float32), [1, 4]), shape=(6, 3))
    assert isinstance(x, SP.RowSparseNDArray) and x.shape == (6, 3)
    assert x.asnumpy()[[1, 4]].tolist() == [[1] * 3] * 2 and x.asnumpy().sum() == 6
    assert x.tostype("default").stype == "default"
    assert x.tostype("csr").stype == "csr"
    np.testing.assert_array_equal(x.tostype("csr").asnumpy(), x.asnumpy())
    y = nd.array([[0, 1], [0, 0], [2, 0]]).tostype("row_sparse")
    assert y.indices.asnumpy().tolist() == [0, 2]
    assert SP.cast_storage(y, "default").asnumpy().tolist() == [[0, 1], [0, 0], [2, 0]]
    z = SP.zeros("row_sparse", (4, 2), dtype="float64")
    assert z.data.shape == (0, 2) and z.dtype == np.float64 and z.asnumpy().sum() == 0
    assert SP.zeros_like(x).stype == "row_sparse"
    # dense ops see a sparse array as its dense value (storage fallback)
    assert float((x + 0.0).sum().asscalar()) == 6 and nd.sum(x).stype == "default"
    assert pickle.loads(pickle.dumps(x)).asnumpy().tolist() == x.asnumpy().tolist()


@pytest.mark.parametrize("call, exc, match", [
    (lambda: SP.csr_matrix(([1.], [5], [0, 1]), shape=(1, 3)), ValueError, r"\[0, 3\)"),
    (lambda: SP.csr_matrix(([1.], [0], [0, 2]), shape=(1, 3)), ValueError, "indptr"),
    (lambda: SP.csr_matrix(([1., 2.], [2, 1], [0, 2]), shape=(1, 3)), ValueError,
     "strictly increasing"),
    (lambda: SP.row_sparse_array((np.ones((2, 2)), [3, 1]), shape=(4, 2)), ValueError,
     "strictly increasing"),
    (lambda: SP.row_sparse_array((np.ones((2, 3)), [0, 1]), shape=(4, 2)), ValueError,
     "data has shape"),
    (lambda: SP.zeros("coo", (2, 2)), ValueError, "stype"),
    (lambda: nd.ones((2, 2, 2)).tostype("csr"), MXNetError, "2-D"),
    (lambda: nd.ones((2,)).attach_grad(stype="dense"), ValueError, "stype"),
    (lambda: SP.retain(nd.ones((2, 2)), nd.array([0])), MXNetError, "RowSparseNDArray"),
    (lambda: SP.dot(SP.zeros("csr", (2, 3)), nd.ones((4, 2))), MXNetError, "shapes"),
])
def test_bad_inputs_are_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_sparse_dense_cache_cannot_be_corrupted():
    x = SP.row_sparse_array((np.ones((1, 2), np.float32), [1]), shape=(3, 2))
    with pytest.raises(MXNetError, match=r"only supports \[:\]"):
        x[0] = 1
    x[:] = nd.array([[0, 0], [0, 0], [5, 5]])
    assert x.indices.asnumpy().tolist() == [2] and x.asnumpy()[2].tolist() == [5, 5]
    x += x
    assert x.stype == "row_sparse" and x.asnumpy()[2].tolist() == [10, 10]
    x[:] = 0
    assert x.data.shape == (0, 2)


# --- against MXNet -----------------------------------------------------------------------
def test_load_sparse_params_written_by_mxnet(tmp_path):
    got = nd.load(str(FIX / "serialization" / "mx_sparse_mixed.params"))
    assert sorted(got) == ["csr", "csr_empty", "csr_int", "dense", "rsp", "rsp_empty"]
    for k, v in got.items():
        check(v, f"file/{k}", rtol=0, atol=0)
        assert v.dtype == ref(f"file/{k}").dtype
    # written back here: MXNet's bytes exactly
    out = tmp_path / "again.params"
    nd.save(str(out), got)
    assert out.read_bytes() == (FIX / "serialization" / "mx_sparse_mixed.params").read_bytes()


def test_corrupt_sparse_file_is_file_format_error(tmp_path):
    raw = bytearray((FIX / "serialization" / "mx_sparse_mixed.params").read_bytes())
    p = tmp_path / "bad.params"
    p.write_bytes(bytes(raw[:200]))
    with pytest.raises(FileFormatError, match="bad.params.*truncated"):
        nd.load(str(p))
    # break csr's first column index (in bounds of the file, out of bounds of the matrix)
    x = SP.csr_matrix(([1.], [0], [0, 1]), shape=(1, 2))
    nd.save(str(p), [x])
    raw = bytearray(p.read_bytes())
    raw[-16:-8] = (7).to_bytes(8, "little")  # the last index; the name count follows
    p.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match=r"bad.params.*array 0.*csr.*\[0, 2\)"):
        nd.load(str(p))


@pytest.mark.parametrize("case", ["csr_dns", "csr_dnsT", "csrT_dns"])
def test_dot_csr_dense_and_dense_gradient(case):
    csr = nd.array(ref(f"dot/{case}/csr")).tostype("csr")
    w = nd.array(ref(f"dot/{case}/w"))
    w.attach_grad()
    ta, tb = case.startswith("csrT"), case.endswith("T")
    with autograd.record():
        out = SP.dot(csr, w, transpose_a=ta, transpose_b=tb)
    check(out, f"dot/{case}/out")
    out.backward(nd.array(ref(f"dot/{case}/og")))
    np.testing.assert_allclose(w.grad.asnumpy(), ref(f"dot/{case}/grad"), rtol=1e-5,
                               atol=1e-6)


def test_dot_other_storage_combinations():
    csr = nd.array(ref("dot/dns_csr/csr")).tostype("csr")
    check(SP.dot(nd.array(ref("dot/dns_csr/lhs")), csr), "dot/dns_csr/out")
    rsp = nd.array(ref("dot/csr_rsp/rsp")).tostype("row_sparse")
    check(SP.dot(csr, rsp), "dot/csr_rsp/out")
    assert SP.dot(csr, nd.ones((4, 2)), forward_stype="csr").stype == "csr"


def test_elementwise_retain_slice():
    a, b = (nd.array(ref(f"ew/in/{k}")).tostype("csr") for k in "ab")
    ra, rb = (nd.array(ref(f"ew/in/{k}")).tostype("row_sparse") for k in ("ra", "rb"))
    # values and storage types as MXNet; the stored pattern of unions may hold extra zeros
    cases = {
        "csr_add": a + b, "csr_sub": a - b, "csr_mul_scalar": a * 2.5,
        "csr_div_scalar": a / 4, "csr_plus_scalar": a + 1, "rsp_add": ra + rb,
        "rsp_sub": ra - rb, "rsp_elemwise_mul": SP.elemwise_mul(ra, rb),
        "rsp_add_n": SP.add_n(ra, rb, ra),
        "rsp_mul_dense": SP.elemwise_mul(ra, nd.array(ref("ew/in/rb") + 1)),
        "rsp_sqrt_abs": SP.sqrt(SP.abs(ra)), "rsp_exp": SP.exp(ra), "rsp_neg": -ra,
        "csr_square": SP.square(a), "rsp_retain": SP.retain(ra, nd.array([0, 3, 5])),
        "csr_slice_rows": a[1:3], "csr_slice_2d": SP.slice(a, begin=(1, 1), end=(4, 4)),
        "csr_sum_axis0": SP.sum(a, axis=0), "csr_clip": SP.clip(a, -0.5, 0.5),
    }
    exact = {"csr_mul_scalar", "csr_div_scalar", "rsp_sqrt_abs", "rsp_neg", "csr_square",
             "rsp_retain", "csr_slice_rows", "csr_slice_2d", "csr_clip", "rsp_add"}
    # (MXNet 1.9.1's csr + csr leaves unsorted and uninitialised column indices: values only)
    for name, got in cases.items():
        check(got, f"ew/{name}", components=name in exact)


@pytest.mark.parametrize("case", ["sgd_lazy", "sgd_std", "sgd_nomom_lazy", "adam_lazy",
                                  "adam_std"])
def test_lazy_updates_match_mxnet(case):
    kw = {"sgd_lazy": ("sgd", dict(learning_rate=0.1, momentum=0.9, wd=0.1, lazy_update=True)),
          "sgd_std": ("sgd", dict(learning_rate=0.1, momentum=0.9, wd=0.1, lazy_update=False)),
          "sgd_nomom_lazy": ("sgd", dict(learning_rate=0.1, wd=0.1, rescale_grad=0.5,
                                         clip_gradient=0.3, lazy_update=True)),
          "adam_lazy": ("adam", dict(learning_rate=0.05, wd=0.1, lazy_update=True)),
          "adam_std": ("adam", dict(learning_rate=0.05, wd=0.1, lazy_update=False))}[case]
    opt = mx.optimizer.create(kw[0], **kw[1])
    w = nd.array(ref("opt/w0"))
    st = opt.create_state(0, w)
    for s in range(2):
        g = SP.row_sparse_array((ref(f"opt/grad{s}/values"), ref(f"opt/grad{s}/rows")),
                                shape=(6, 3))
        opt.update(0, w, g, st)
        np.testing.assert_allclose(w.asnumpy(), ref(f"opt/{case}/w{s + 1}"), rtol=1e-5,
                                   atol=1e-6)
    if case.endswith("_lazy"):  # rows never in a gradient are untouched
        np.testing.assert_array_equal(w.asnumpy()[[2, 3]], ref("opt/w0")[[2, 3]])


@pytest.mark.parametrize("opt, kw", [("sgd", dict(learning_rate=0.1, momentum=0.9, wd=0.01)),
                                     ("adam", dict(learning_rate=0.1, wd=0.01))])
def test_gluon_embedding_sparse_grad_trains_like_mxnet(opt, kw):
    net = gluon.nn.Embedding(7, 3, sparse_grad=True)
    net.initialize()
    net.weight.set_data(nd.array(ref("emb/w0")))
    tr = gluon.Trainer(net.collect_params(), opt, kw, kvstore=None)
    x = nd.array(ref("emb/x"))
    for s in range(2):
        with autograd.record():
            loss = (net(x) * nd.array(ref(f"emb/head{s}"))).sum()
        loss.backward()
        # step 0's rows get a zero gradient for some entries: still stored, as in MXNet
        check(net.weight.grad(), f"emb/{opt}/grad{s}")
        tr.step(1)
        np.testing.assert_allclose(net.weight.data().asnumpy(), ref(f"emb/{opt}/w{s + 1}"),
                                   rtol=1e-5, atol=1e-6)


def test_attach_grad_row_sparse_keeps_looked_up_rows():
    w = nd.ones((5, 2))
    w.attach_grad(stype="row_sparse")
    with autograd.record():
        y = nd.Embedding(nd.array([3, 1, 3]), w, input_dim=5, output_dim=2, sparse_grad=True)
        z = (y * 0).sum()
    z.backward()
    assert w.grad.stype == "row_sparse" and w.grad.indices.asnumpy().tolist() == [1, 3]
    # grad_req='add' accumulates into the sparse buffer
    w.attach_grad(grad_req="add", stype="row_sparse")
    for idx in ([0], [2]):
        with autograd.record():
            y = nd.Embedding(nd.array(idx), w, input_dim=5, output_dim=2, sparse_grad=True)
        y.backward()
    assert w.grad.indices.asnumpy().tolist() == [0, 2]
    assert w.grad.asnumpy().sum() == 4
