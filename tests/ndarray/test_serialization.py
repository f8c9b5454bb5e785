"""nd.save / nd.load / nd.load_frombuffer against files written and read by MXNet 1.9.1.

Reference files: tests/fixtures/*.params (copied from MXNet's shared fixtures) and
tests/fixtures/serialization/ (made by tests/fixtures/gen/serialization_*.py; see there).
"""
import json
import os
import pathlib
import struct

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError
from gluonlite.ndarray import serialization

FIX = pathlib.Path(__file__).resolve().parent.parent / "fixtures"
SER = FIX / "serialization"
ALL_DTYPES = ["float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool",
              "int16", "uint16", "uint32", "uint64"]


def same_bits(got, want):
    """Exact equality including dtype, shape, NaN payloads and the sign of zero."""
    got = got.asnumpy() if isinstance(got, nd.NDArray) else got
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape,
                                                                 want.dtype, want.shape)
    assert got.tobytes() == want.tobytes()


def items(r):
    return list(r.items()) if isinstance(r, dict) else list(enumerate(r))


# --------------------------------------------------------------------------------------
# files written by MXNet
def test_shared_fixtures_load_exactly():
    exp = np.load(FIX / "nd_containers_expected.npz")
    lst = nd.load(str(FIX / "nd_list.params"))
    dct = nd.load(str(FIX / "nd_dict.params"))
    assert isinstance(lst, list) and len(lst) == 2
    assert isinstance(dct, dict) and list(dct) == ["a", "b"]
    for got, k in zip(lst, "ab"):
        same_bits(got, exp[k])
        assert got.context == mx.cpu(0)
    for k in "ab":
        same_bits(dct[k], exp[k])


@pytest.mark.parametrize("name", ["nd_list.params", "nd_dict.params", "lenet_bn.params",
                                  "lenet_bn-0000.params"])
def test_resave_is_byte_identical_to_mxnet(name, tmp_path):
    src = (FIX / name).read_bytes()
    data = nd.load_frombuffer(src)
    nd.save(str(tmp_path / "x.params"), data)
    assert (tmp_path / "x.params").read_bytes() == src


def test_lenet_checkpoint_loads():
    p = nd.load(str(FIX / "lenet_bn.params"))
    assert list(p)[:3] == ["0.weight", "0.bias", "1.gamma"]
    assert p["0.weight"].shape == (6, 1, 5, 5) and p["9.weight"].shape == (120, 400)
    assert all(v.dtype == np.float32 for v in p.values())
    # the raw bytes of one parameter, located by hand in the file, match
    raw = (FIX / "lenet_bn.params").read_bytes()
    w = p["11.bias"].asnumpy()
    assert w.tobytes() in raw
    e = nd.load(str(FIX / "lenet_bn-0000.params"))
    assert all(k.startswith(("arg:", "aux:")) for k in e)


def test_mxnet_dtypes_and_values():
    exp = np.load(SER / "mx_expected.npz")
    d = nd.load(str(SER / "mx_dtypes_dict.params"))
    lst = nd.load(str(SER / "mx_dtypes_list.params"))
    assert list(d) == ["float32", "float64", "float16", "uint8", "int32", "int8", "int64",
                       "bool", "scalar_like", "empty"]
    for (k, v), w in zip(d.items(), lst):
        same_bits(v, exp[f"dtypes/{k}"])
        same_bits(w, exp[f"dtypes/{k}"])
    assert d["bool"].dtype == np.bool_ and d["empty"].shape == (0, 3)


@pytest.mark.parametrize("name", ["mx_dtypes_dict.params", "mx_dtypes_list.params",
                                  "mx_single.params", "mx_empty.params",
                                  "mx_unicode.params", "mx_np_shape.params"])
def test_we_write_what_mxnet_writes(name, tmp_path):
    """Loading an MXNet file and saving it again gives MXNet's bytes (V2 and V3 alike)."""
    src = (SER / name).read_bytes()
    data = nd.load(str(SER / name))
    nd.save(str(tmp_path / "x"), data)
    assert (tmp_path / "x").read_bytes() == src


def test_single_array_and_empty_containers():
    r = nd.load(str(SER / "mx_single.params"))
    assert isinstance(r, list) and len(r) == 1 and r[0].shape == (2, 3, 4)
    # MXNet writes no names for an empty dict: it loads back as an empty list
    assert nd.load(str(SER / "mx_empty.params")) == []


def test_unicode_names():
    r = nd.load(str(SER / "mx_unicode.params"))
    assert list(r) == ["größe", "层.weight"]
    np.testing.assert_array_equal(r["größe"].asnumpy(), [1, 2])


def test_np_shape_v3_zero_d_and_empty():
    exp = np.load(SER / "mx_expected.npz")
    r = nd.load(str(SER / "mx_np_shape.params"))
    assert (SER / "mx_np_shape.params").read_bytes()[24:28] == struct.pack("<I", 0xF993FACA)
    for k, v in r.items():
        same_bits(v, exp[f"np_shape/{k}"])
    assert r["zero_d_f32"].shape == () and r["zero_d_i64"].dtype == np.int64


def test_zero_d_written_by_mxnet_default_mode():
    """MXNet 1.9 writes a 0-d array as V2 with an empty shape followed by its data, and its
    own loader cannot read that back (mx_crafted.json records the failure); we can."""
    report = json.loads((SER / "mx_crafted.json").read_text())["loads"]
    assert report["mx_zero_d_legacy.params"]["ok"] is False
    r = nd.load(str(SER / "mx_zero_d_legacy.params"))
    assert r[0].shape == () and float(r[0].asnumpy()) == 2.25
    np.testing.assert_array_equal(r[1].asnumpy(), [5.0])


def test_contexts_load_on_cpu0_like_mxnet():
    report = json.loads((SER / "mx_crafted.json").read_text())["loads"]
    r = nd.load(str(SER / "mx_contexts.params"))  # saved from cpu(1), cpu_pinned, cpu_shared
    raw = (SER / "mx_contexts.params").read_bytes()
    assert struct.pack("<ii", 1, 1) in raw and struct.pack("<ii", 3, 0) in raw
    assert [str(a.context) for a in r] == [a["context"] for a in
                                           report["mx_contexts.params"]["arrays"]]
    assert [a.context for a in r] == [mx.cpu(0)] * 3
    assert [float(a.asnumpy()[0]) for a in r] == [1.0, 2.0, 3.0]


def test_gpu_saved_arrays_load_on_cpu_without_gpus(monkeypatch):
    monkeypatch.setattr(serialization, "num_gpus", lambda: 0)
    exp = np.load(SER / "mx_expected.npz")
    r = nd.load(str(SER / "crafted_gpu.params"))  # gpu(0) and gpu(1), as MXNet CPU loads
    report = json.loads((SER / "mx_crafted.json").read_text())["loads"]
    assert [a["context"] for a in report["crafted_gpu.params"]["arrays"]] == ["cpu(0)"] * 2
    assert [a.context for a in r] == [mx.cpu(0), mx.cpu(0)]
    same_bits(r[0], exp["crafted/a23"])
    same_bits(r[1], exp["crafted/i4"])


def test_gpu_saved_on_missing_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(serialization, "num_gpus", lambda: 1)
    with pytest.raises(MXNetError, match=r"buffer: array 0 was saved on gpu\(1\) but only 1 "):
        nd.load_frombuffer(_file([_v2(dev=(2, 1))]))


@pytest.mark.gpu
def test_gpu_saved_arrays_load_on_gpu():
    r = nd.load(str(SER / "crafted_gpu.params"))
    assert r[0].context == mx.gpu(0)
    np.testing.assert_array_equal(r[0].asnumpy(), np.arange(6).reshape(2, 3) / 4)


@pytest.mark.parametrize("name", ["crafted_v1.params", "crafted_legacy.params"])
def test_older_formats(name):
    """V1 (int64 shape, no storage type) and pre-V1 (uint32 shape, no magic) files, which
    MXNet 1.9.1 itself loads to the same arrays (mx_crafted.json)."""
    exp = np.load(SER / "mx_expected.npz")
    report = json.loads((SER / "mx_crafted.json").read_text())["loads"][name]
    r = nd.load(str(SER / name))
    got = items(r)
    assert [k for k, _ in got] == [a["key"] for a in report["arrays"]]
    for (k, v), rec in zip(got, report["arrays"]):
        assert list(v.shape) == rec["shape"] and np.dtype(v.dtype).name == rec["dtype"]
        assert v.asnumpy().astype(np.float64).ravel().tolist() == rec["values"]
    same_bits(got[0][1], exp["crafted/a23"])
    same_bits(got[1][1], exp["crafted/i4"])


def test_sparse_arrays_load():
    # (more in tests/ndarray/test_sparse.py) MXNet wrote the csr with a stale storage
    # shape (0,): the values are sized by the indices, as MXNet's loader does
    dense, csr = nd.load(str(SER / "mx_sparse_csr.params"))
    assert csr.stype == "csr" and csr.asnumpy().tolist() == [[0, 1], [2, 0]]
    assert dense.asnumpy().tolist() == [[0, 1], [2, 0]]
    rsp = nd.load(str(SER / "mx_sparse_rsp.params"))["w"]
    assert rsp.stype == "row_sparse" and rsp.asnumpy().tolist() == [[0, 1], [2, 0]]


def test_bfloat16_and_none_arrays_are_clear_errors():
    report = json.loads((SER / "mx_crafted.json").read_text())["loads"]
    assert report["crafted_bfloat16.params"]["arrays"][0]["values"] == [0x3FC0, 0xC010]
    with pytest.raises(MXNetError, match="bfloat16"):
        nd.load(str(SER / "crafted_bfloat16.params"))
    assert report["crafted_none.params"]["ok"] is False  # MXNet's Python cannot either
    with pytest.raises(MXNetError, match="uninitialised"):
        nd.load(str(SER / "crafted_none.params"))


# --------------------------------------------------------------------------------------
# files written by gluonlite, checked in MXNet
def _gl_cases():
    return sorted(json.loads((SER / "gl_files.json").read_text()).items())


@pytest.mark.parametrize("name,meta", _gl_cases(), ids=[n for n, _ in _gl_cases()])
def test_our_files_load_in_mxnet(name, meta, tmp_path):
    """We still write exactly the bytes MXNet 1.9.1 was shown to load (recorded result)."""
    exp = np.load(SER / "gl_expected.npz")
    ctxs = {"cpu(0)": mx.cpu(0), "cpu(1)": mx.cpu(1), "cpu_pinned(0)": mx.cpu_pinned(0)}
    arrays = [nd.array(exp[f"{name}/{k}"], ctx=ctxs[c], dtype=exp[f"{name}/{k}"].dtype)
              for k, c in zip(meta["keys"], meta["contexts"])]
    data = (dict(zip(meta["keys"], arrays)) if meta["container"] == "dict" else
            arrays[0] if meta["container"] == "single" else arrays)
    nd.save(str(tmp_path / name), data)
    assert (tmp_path / name).read_bytes() == (SER / name).read_bytes()

    result = json.loads((SER / "mxnet_loads_gluonlite.json").read_text())["results"][name]
    if name == "gl_mxnet2_dtypes.params":
        # int16/uint16/uint32/uint64 use MXNet 2's type flags, unknown to MXNet 1.9.1
        assert not result["default"]["ok"] and "type enum 8" in result["default"]["error"]
    elif meta["np_shape"]:
        # 0-d arrays: V3 file, which MXNet reads in np-shape mode and refuses otherwise
        assert not result["default"]["ok"] and "np shape" in result["default"]["error"]
        assert result["np_shape"]["ok"]
    else:
        assert result["default"]["ok"], result
        assert all(a["context"] == "cpu(0)" for a in result["default"]["arrays"].values())
    back = nd.load(str(tmp_path / name))
    for k, v in items(back):
        same_bits(v, exp[f"{name}/{k}"])


# --------------------------------------------------------------------------------------
# round trips
SPECIAL = {
    "float32": [np.nan, np.inf, -np.inf, -0.0, 1e-45, 3.4028235e38],
    "float64": [np.nan, -np.inf, -0.0, 5e-324, 1.7976931348623157e308],
    "float16": [np.nan, np.inf, -0.0, 6e-8, 65504.0],
}


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (1,), (3, 4), (2, 1, 3, 2)])
def test_round_trip_every_dtype(dtype, shape, tmp_path):
    rs = np.random.RandomState(3)
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    if dt.kind == "f":
        vals = np.concatenate([np.array(SPECIAL[dtype], dt), (rs.randn(n) * 100).astype(dt)])
    elif dt.kind == "b":
        vals = rs.rand(n) > 0.5
    else:
        info = np.iinfo(dt)
        vals = np.concatenate([np.array([info.min, info.max, 0], dt),
                               rs.randint(info.min // 2, info.max // 2, n, dtype=np.int64
                                          if info.max < 2 ** 62 else dt).astype(dt)])
    a = vals[:n].reshape(shape)
    x = nd.array(a, dtype=dt)
    fname = str(tmp_path / "rt.params")
    nd.save(fname, {"x": x, "y": x})
    back = nd.load(fname)
    same_bits(back["x"], a)
    same_bits(back["y"], a)
    assert back["x"].context == mx.cpu(0)
    assert isinstance(back["x"]._data, np.ndarray) and back["x"]._data.flags.writeable
    raw = open(fname, "rb").read()
    # 0-d arrays put the whole file in V3 (np-shape) format, else MXNet's default V2
    magic = 0xF993FACA if shape == () else 0xF993FAC9
    assert struct.unpack("<I", raw[24:28])[0] == magic


def test_round_trip_non_contiguous_and_list(tmp_path):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    x = nd.array(base)
    views = [x[:, 1:5:2], x.T, x[1]]
    nd.save(str(tmp_path / "v"), views)
    back = nd.load(str(tmp_path / "v"))
    for got, want in zip(back, [base[:, 1:5:2], base.T, base[1]]):
        same_bits(got, np.ascontiguousarray(want))


def test_loaded_arrays_are_independent_and_usable(tmp_path):
    x = nd.array([1.0, 2.0, 3.0])
    nd.save(str(tmp_path / "x"), [x])
    y = nd.load(str(tmp_path / "x"))[0]
    y[:] = 7
    y.attach_grad()
    with mx.autograd.record():
        z = (y * y).sum()
    z.backward()
    np.testing.assert_array_equal(y.grad.asnumpy(), [14, 14, 14])
    np.testing.assert_array_equal(x.asnumpy(), [1, 2, 3])


def test_saves_device_of_each_array(tmp_path):
    nd.save(str(tmp_path / "c"), [nd.ones((1,), ctx=mx.cpu(2)),
                                  nd.ones((1,), ctx=mx.cpu_pinned(1))])
    raw = (tmp_path / "c").read_bytes()
    assert raw.count(struct.pack("<iii", 1, 2, 0)) == 1   # cpu(2), float32
    assert raw.count(struct.pack("<iii", 3, 1, 0)) == 1   # cpu_pinned(1)
    assert [a.context for a in nd.load(str(tmp_path / "c"))] == [mx.cpu(0)] * 2


@pytest.mark.gpu
def test_gpu_arrays_are_saved_from_the_host(tmp_path):
    x = nd.array([[1.5, -2.0]], ctx=mx.gpu(0))
    nd.save(str(tmp_path / "g"), {"x": x})
    raw = (tmp_path / "g").read_bytes()
    assert struct.pack("<iii", 2, 0, 0) in raw
    back = nd.load(str(tmp_path / "g"))["x"]
    assert back.context == mx.gpu(0)
    np.testing.assert_array_equal(back.asnumpy(), [[1.5, -2.0]])


def test_pathlike_and_frombuffer_types(tmp_path):
    p = tmp_path / "p.params"
    nd.save(p, [nd.array([1.0])])
    raw = p.read_bytes()
    for buf in (raw, bytearray(raw), memoryview(raw)):
        np.testing.assert_array_equal(nd.load_frombuffer(buf)[0].asnumpy(), [1.0])
    np.testing.assert_array_equal(nd.load(p)[0].asnumpy(), [1.0])
    # the buffer may be reused afterwards: loaded arrays own their memory
    b = bytearray(raw)
    got = nd.load_frombuffer(b)[0]
    b[-12:] = bytes(12)
    assert got.asnumpy()[0] == 1.0


def test_trailing_bytes_are_ignored_like_mxnet():
    raw = (FIX / "nd_dict.params").read_bytes() + b"junk"
    assert list(nd.load_frombuffer(raw)) == ["a", "b"]


# --------------------------------------------------------------------------------------
# bad input
def test_bad_data_types(tmp_path):
    f = str(tmp_path / "bad")
    x = nd.ones((2,))
    with pytest.raises(ValueError, match="got tuple; convert it with list"):
        nd.save(f, (x,))
    with pytest.raises(ValueError, match="got ndarray"):
        nd.save(f, np.ones(2))
    with pytest.raises(TypeError, match=r"data\[1\]: expected an NDArray, got ndarray"):
        nd.save(f, [x, np.ones(2)])
    with pytest.raises(TypeError, match="keys must be str, got key 1"):
        nd.save(f, {1: x})
    with pytest.raises(TypeError, match=r"data\['w'\]: expected an NDArray, got float"):
        nd.save(f, {"w": 1.0})
    with pytest.raises(ValueError, match="NUL"):
        nd.save(f, {"a\0b": x})
    assert os.listdir(tmp_path) == []


def test_bad_fname():
    with pytest.raises(TypeError, match="fname: expected a file name"):
        nd.save(3, [nd.ones(1)])
    with pytest.raises(TypeError, match="fname: expected a file name"):
        nd.load(b"x.params")
    with pytest.raises(ValueError, match="empty"):
        nd.load("")
    with pytest.raises(MXNetError, match="remote file systems"):
        nd.load("s3://bucket/x.params")
    with pytest.raises(TypeError, match="binary mode"):
        nd.load_frombuffer("abc")
    with pytest.raises(TypeError, match="bytes-like object, got int"):
        nd.load_frombuffer(5)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(MXNetError, match=r"cannot open '.*nope.params': No such file"):
        nd.load(str(tmp_path / "nope.params"))
    with pytest.raises(MXNetError, match="cannot write .*missing_dir"):
        nd.save(str(tmp_path / "missing_dir" / "x"), [nd.ones(1)])
    with pytest.raises(MXNetError, match="is a directory"):
        nd.save(str(tmp_path), [nd.ones(1)])


def test_failed_save_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "keep.params"
    nd.save(str(target), [nd.array([1.0])])
    before = target.read_bytes()

    def exploding(arrays, names, magic):
        yield b"\x12\x01" + bytes(100)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(serialization, "_chunks", exploding)
    with pytest.raises(RuntimeError, match="disk on fire"):
        nd.save(str(target), [nd.array([2.0, 3.0])])
    with pytest.raises(RuntimeError, match="disk on fire"):
        nd.save(str(tmp_path / "new.params"), [nd.array([2.0])])
    assert target.read_bytes() == before            # the old file is intact
    assert sorted(os.listdir(tmp_path)) == ["keep.params"]  # no temp file, no new file


def test_save_overwrites_and_follows_symlinks(tmp_path):
    real = tmp_path / "real.params"
    nd.save(str(real), [nd.array([1.0])])
    os.chmod(real, 0o640)
    link = tmp_path / "link.params"
    link.symlink_to(real)
    nd.save(str(link), [nd.array([5.0, 6.0])])
    assert link.is_symlink()
    np.testing.assert_array_equal(nd.load(str(real))[0].asnumpy(), [5.0, 6.0])
    assert (os.stat(real).st_mode & 0o777) == 0o640


def test_truncated_files_at_every_length():
    raw = (FIX / "nd_dict.params").read_bytes()
    for n in range(len(raw)):
        with pytest.raises(MXNetError, match=r"nd.load: buffer is not a valid MXNet NDArray "
                                             r"file: .*(truncated|shorter|bytes remain|"
                                             r"only \d+ bytes follow)"):
            nd.load_frombuffer(raw[:n])


def test_truncated_file_names_the_file(tmp_path):
    f = tmp_path / "cut.params"
    f.write_bytes((FIX / "lenet_bn.params").read_bytes()[:5000])
    with pytest.raises(MXNetError, match=r"file '.*cut.params'.*truncated: the data of "
                                         r"array 6 needs 9600 bytes"):
        nd.load(str(f))


def _file(arrays, names=()):
    b = struct.pack("<QQQ", 0x112, 0, len(arrays)) + b"".join(arrays)
    b += struct.pack("<Q", len(names))
    for n in names:
        b += struct.pack("<Q", len(n)) + n
    return b


def _v2(shape=(2,), dev=(1, 0), flag=0, stype=0, data=None, magic=0xF993FAC9):
    n = int(np.prod(shape))
    data = bytes(4 * max(n, 0)) if data is None else data
    return (struct.pack("<Iii", magic, stype, len(shape)) + struct.pack(f"<{len(shape)}q", *shape)
            + struct.pack("<iii", dev[0], dev[1], flag) + data)


@pytest.mark.parametrize("raw,msg", [
    (b"{\"nodes\": []}" + bytes(20), r"wrong magic number .* \(expected 0x112\); it looks "
                                      r"like a JSON file"),
    (b"PK\x03\x04" + bytes(30), "NumPy .npy/.npz"),
    (b"\x12\x01", "only 2 bytes long"),
    (_file([_v2(magic=0xDEADBEEF)]), r"array 0 starts with 0xDEADBEEF"),
    (_file([_v2(dev=(4, 0))]), "device type 4"),
    (_file([_v2(dev=(1, -1))]), "negative device id"),
    (_file([_v2(flag=13)]), "unknown dtype flag 13"),
    (_file([_v2(shape=(2, -3))]), "negative dimension"),
    (_file([_v2(shape=(2, -1))]), "unknown shape"),
    (_file([_v2(), _v2()], [b"a"]), "2 arrays but 1 names"),
    (_file([_v2()], [b"\xff\xfe"]), "not valid UTF-8"),
    (_file([_v2(shape=(10 ** 12,), data=b"")]), "needs 4000000000000 bytes"),
    (struct.pack("<QQQ", 0x112, 0, 2 ** 40) + bytes(16), "declares 1099511627776 arrays"),
    (_file([struct.pack("<Iii", 0xF993FAC9, 0, 2 ** 30)]), "declares 1073741824 dimensions"),
])
def test_corrupt_files(raw, msg):
    with pytest.raises(MXNetError, match=msg):
        nd.load_frombuffer(raw)


def test_v2_zero_d_needs_a_context_after_it():
    # an empty V2 shape followed by a context is a 0-d array (what MXNet 1.9 writes) ...
    ok = _file([struct.pack("<Iii", 0xF993FAC9, 0, 0) + struct.pack("<iiif", 1, 0, 0, 4.5)])
    assert float(nd.load_frombuffer(ok)[0].asnumpy()) == 4.5
    # ... followed by anything else it is a "none" array
    with pytest.raises(MXNetError, match="array 0 is an uninitialised"):
        nd.load_frombuffer(_file([struct.pack("<Iii", 0xF993FAC9, 0, 0), _v2()]))
