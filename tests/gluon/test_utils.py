"""gluon.utils: split_data/split_and_load, clip_global_norm (numbers from MXNet 1.9.1),
check_sha1 and download (offline: file:// URLs and an HTTP server on loopback)."""
import functools
import hashlib
import http.server
import os
import threading

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.gluon import utils


# --- split_data / split_and_load ----------------------------------------------------------
def test_split_data_even_and_views():
    x = nd.arange(24).reshape((6, 4))
    parts = utils.split_data(x, 3)
    assert [p.shape for p in parts] == [(2, 4)] * 3
    np.testing.assert_array_equal(np.concatenate([p.asnumpy() for p in parts]), x.asnumpy())
    parts[1][:] = -1  # axis-0 slices are views, as in MXNet
    assert (x.asnumpy()[2:4] == -1).all()


def test_split_data_uneven_shapes_match_mxnet():
    # MXNet 1.9.1: [(3, 2), (3, 1), (3, 1), (3, 1)] and [(1, 5), (1, 5), (1, 5), (0, 5)]
    x = nd.arange(15).reshape((3, 5))
    parts = utils.split_data(x, 4, batch_axis=1, even_split=False)
    assert [p.shape for p in parts] == [(3, 2), (3, 1), (3, 1), (3, 1)]
    np.testing.assert_array_equal(np.concatenate([p.asnumpy() for p in parts], axis=1),
                                  x.asnumpy())
    assert [p.shape for p in utils.split_data(x, 4, even_split=False)] == \
        [(1, 5), (1, 5), (1, 5), (0, 5)]
    assert [p.shape for p in utils.split_data(x, 1)] == [(3, 5)]


def test_split_data_errors():
    with pytest.raises(ValueError, match="cannot be evenly split into 2 slices along axis 0"):
        utils.split_data(nd.zeros((5, 2)), 2)
    with pytest.raises(TypeError, match="data: expected an NDArray"):
        utils.split_data(np.zeros((4, 2)), 2)
    with pytest.raises(ValueError, match="num_slice: expected an int >= 1"):
        utils.split_data(nd.zeros((4, 2)), 0)
    with pytest.raises(ValueError, match="batch_axis: 2 is out of range"):
        utils.split_data(nd.zeros((4, 2)), 2, batch_axis=2)


def test_split_and_load_contexts():
    ctxs = [mx.cpu(0), mx.cpu(1)]
    parts = utils.split_and_load(nd.arange(8).reshape((4, 2)), ctxs)
    assert [p.context for p in parts] == ctxs
    np.testing.assert_array_equal(parts[1].asnumpy(), [[4, 5], [6, 7]])
    # numpy input is converted on the first context; a single context gets everything
    one = utils.split_and_load(np.ones((3, 2)), [mx.cpu(1)])
    assert len(one) == 1 and one[0].shape == (3, 2) and one[0].context == mx.cpu(1)
    with pytest.raises(TypeError, match="ctx_list: expected a list of Contexts"):
        utils.split_and_load(nd.ones((2, 2)), mx.cpu())
    with pytest.raises(TypeError, match=r"ctx_list\[1\]: expected a Context"):
        utils.split_and_load(nd.ones((2, 2)), [mx.cpu(), "cpu"])
    with pytest.raises(ValueError, match="ctx_list: expected at least one Context"):
        utils.split_and_load(nd.ones((2, 2)), [])


# --- clip_global_norm -----------------------------------------------------------------------
def test_clip_global_norm_matches_mxnet():
    a = nd.array([[1, 2], [3, 4.]])
    b = nd.array([5., 6])
    total = utils.clip_global_norm([a, b], 1.0)
    assert isinstance(total, (float, np.floating))
    np.testing.assert_allclose(total, 9.539392, rtol=1e-6)  # MXNet 1.9.1's numbers below
    np.testing.assert_allclose(a.asnumpy(), [[0.10482847690582275, 0.2096569538116455],
                                             [0.31448543071746826, 0.419313907623291]],
                               rtol=1e-6)
    np.testing.assert_allclose(b.asnumpy(), [0.5241423845291138, 0.6289708614349365],
                               rtol=1e-6)
    norm = np.sqrt(sum((x.asnumpy() ** 2).sum() for x in (a, b)))
    np.testing.assert_allclose(norm, 1.0, rtol=1e-6)


def test_clip_global_norm_below_max_and_ndarray_result():
    a = nd.array([[0.1, 0.2]])
    np.testing.assert_allclose(utils.clip_global_norm([a], 1.0), 0.22360681, rtol=1e-6)
    np.testing.assert_allclose(a.asnumpy(), [[0.1, 0.2]])  # unchanged below max_norm
    r = utils.clip_global_norm([nd.array([3., 4.])], 1.0, check_isfinite=False)
    assert isinstance(r, nd.NDArray) and r.shape == (1,)
    np.testing.assert_allclose(r.asnumpy(), [5.0])


def test_clip_global_norm_multi_context_and_nan():
    a, b = nd.array([3.0], ctx=mx.cpu(0)), nd.array([4.0], ctx=mx.cpu(1))
    np.testing.assert_allclose(utils.clip_global_norm([a, b], 2.5), 5.0)
    np.testing.assert_allclose([a.asscalar(), b.asscalar()], [1.5, 2.0], rtol=1e-6)
    assert b.context == mx.cpu(1)
    with pytest.warns(UserWarning, match="nan or inf is detected"), \
            np.errstate(invalid="ignore"):
        utils.clip_global_norm([nd.array([np.inf, 1.0])], 1.0)


def test_clip_global_norm_errors():
    with pytest.raises(ValueError, match="non-empty list"):
        utils.clip_global_norm([], 1.0)
    with pytest.raises(TypeError, match="got a single NDArray"):
        utils.clip_global_norm(nd.ones(2), 1.0)
    with pytest.raises(TypeError, match=r"arrays\[1\]: expected an NDArray"):
        utils.clip_global_norm([nd.ones(2), [1, 2]], 1.0)
    with pytest.raises(TypeError, match="max_norm: expected a real number"):
        utils.clip_global_norm([nd.ones(2)], "1")


# --- check_sha1 / download ------------------------------------------------------------------
PAYLOAD = b"gluonlite download test \x00\x01" * 1000
SHA1 = hashlib.sha1(PAYLOAD).hexdigest()


def test_check_sha1(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(PAYLOAD)
    assert utils.check_sha1(str(f), SHA1)
    assert utils.check_sha1(str(f), SHA1.upper())
    assert not utils.check_sha1(str(f), "0" * 40)


@pytest.fixture
def http_server(tmp_path):
    """A static HTTP server on 127.0.0.1 serving ``tmp_path / 'srv'``."""
    root = tmp_path / "srv"
    root.mkdir()
    (root / "data.bin").write_bytes(PAYLOAD)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()
    thread.join()


def test_download_http(http_server, tmp_path, capsys):
    base, root = http_server
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    fname = utils.download(f"{base}/data.bin", path=str(out_dir), sha1_hash=SHA1)
    assert fname == str(out_dir / "data.bin")
    assert open(fname, "rb").read() == PAYLOAD
    assert "Downloading" in capsys.readouterr().out
    assert os.listdir(out_dir) == ["data.bin"]  # no temporary files left
    # present with the right hash: not downloaded again
    (root / "data.bin").write_bytes(b"changed")
    assert utils.download(f"{base}/data.bin", path=str(out_dir), sha1_hash=SHA1) == fname
    assert "Downloading" not in capsys.readouterr().out
    # overwrite=True fetches again
    utils.download(f"{base}/data.bin", path=str(out_dir), overwrite=True)
    assert open(fname, "rb").read() == b"changed"


def test_download_hash_mismatch_and_missing(http_server, tmp_path):
    base, _ = http_server
    target = str(tmp_path / "named.bin")
    with pytest.raises(UserWarning, match="content hash does not match"):
        utils.download(f"{base}/data.bin", path=target, sha1_hash="0" * 40, retries=2)
    with pytest.raises(Exception, match="404"):
        utils.download(f"{base}/missing.bin", path=str(tmp_path / "m.bin"), retries=2)
    assert not os.path.exists(tmp_path / "m.bin")
    assert [n for n in os.listdir(tmp_path) if n.startswith("m.bin.")] == []


def test_download_file_url_default_name(tmp_path, monkeypatch):
    src = tmp_path / "src.bin"
    src.write_bytes(PAYLOAD)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert utils.download(src.as_uri()) == "src.bin"
    assert (work / "src.bin").read_bytes() == PAYLOAD
    nested = tmp_path / "a" / "b" / "c.bin"  # missing folders are created
    assert utils.download(src.as_uri(), path=str(nested)) == str(nested)
    assert nested.read_bytes() == PAYLOAD


def test_download_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="Can't construct file-name from this URL"):
        utils.download("http://127.0.0.1/dir/")
    with pytest.raises(TypeError, match="url: expected a str"):
        utils.download(5)
    with pytest.raises(ValueError, match="retries: expected an int >= 0"):
        utils.download("file:///x", path=str(tmp_path / "x"), retries=-1)
    with pytest.warns(UserWarning, match="verify_ssl=False"):
        with pytest.raises(Exception):
            utils.download((tmp_path / "nope").as_uri(), path=str(tmp_path / "n"),
                           retries=1, verify_ssl=False)
