"""Issue 16, defect 10: bad file content raises ``FileFormatError`` naming the file and what
is wrong (not UnicodeDecodeError, SyntaxError, RecursionError, KeyError, ...); oversized
creation requests name the operator and the size limit; hybridized calls fail as
imperative ones do (dtype mismatch) and name the operator (batch of 0 rows, bad axis).
"""
import json
import struct
from pathlib import Path

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import gluon, nd
from gluonlite.base import FileFormatError, MXNetError
from gluonlite.gluon import nn

FIX = Path(__file__).parent / "fixtures"
SYM = FIX / "lenet_bn-symbol.json"


def _graph():
    return json.loads(SYM.read_text())


def _write(tmp_path, doc, name="bad-symbol.json"):
    p = tmp_path / name
    p.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return str(p)


def _var_index(doc, name="data"):
    return next(i for i, n in enumerate(doc["nodes"]) if n["name"] == name)


# --- -symbol.json ------------------------------------------------------------------------
def test_symbol_json_that_is_not_utf8_names_the_file(tmp_path):
    raw = SYM.read_bytes()
    p = tmp_path / "x-symbol.json"
    p.write_bytes(raw[:50] + b"\xff\xfe" + raw[50:])
    with pytest.raises(FileFormatError, match=r"x-symbol\.json.*not UTF-8.*offset 50"):
        mx.sym.load(str(p))
    with pytest.raises(FileFormatError, match="x-symbol.json"):
        gluon.SymbolBlock.imports(str(p), ["data"])


@pytest.mark.parametrize("value, what", [
    ("(1, 2", "expected a shape tuple"),                         # SyntaxError before
    ("(" * 600 + ")" * 600, "expected a shape tuple"),           # too many nested parens
    ("(1," * 400 + ")" * 400, "expected a shape tuple"),         # MemoryError in the parser
    ("[" * 100000, "string of 100000 characters"),               # RecursionError territory
    ("__import__('os').system('false')", "expected a shape tuple"),
    ("(1e400, 3)", "non-negative ints"),
    ("(-2, 3)", "non-negative ints"),
    ("9" * 5000, "expected a shape tuple"),                      # int digit limit
    (str(tuple([1] * 65)), "at most 64 dimensions"),
])
def test_bad_shape_attribute_names_file_node_and_attribute(tmp_path, value, what):
    doc = _graph()
    doc["nodes"][_var_index(doc)].setdefault("attrs", {})["__shape__"] = value
    p = _write(tmp_path, doc)
    for load in (mx.sym.load, lambda f: gluon.SymbolBlock.imports(f, ["data"])):
        with pytest.raises(FileFormatError) as e:
            load(p)
        msg = str(e.value)
        assert p in msg and "'data'" in msg and "__shape__" in msg and what in msg, msg
        assert len(msg) < 600, msg  # the bad value is quoted, not dumped whole


@pytest.mark.parametrize("value", ["99", "-1", "x", "1e9", ""])
def test_bad_dtype_attribute_names_file_node_and_attribute(tmp_path, value):
    doc = _graph()
    doc["nodes"][_var_index(doc)].setdefault("attrs", {})["__dtype__"] = value
    p = _write(tmp_path, doc)
    with pytest.raises(FileFormatError, match=r"bad-symbol\.json.*'data'.*__dtype__"):
        mx.sym.load(p)


def test_valid_shape_and_dtype_attributes_still_load(tmp_path):
    doc = _graph()
    doc["nodes"][_var_index(doc)].setdefault("attrs", {}).update(
        {"__shape__": "(0, 1, 28, 28)", "__dtype__": "0"})
    s = mx.sym.load(_write(tmp_path, doc))
    assert s.infer_shape(data=(2, 1, 28, 28))[1] == [(2, 10)]
    # MXNet's NumPy-shape mode writes -1 for an unknown dimension: read as unknown
    doc["nodes"][_var_index(doc)]["attrs"]["__shape__"] = "(-1, 1, 28, 28)"
    mx.sym.load(_write(tmp_path, doc))


@pytest.mark.parametrize("value", ["(" * 300 + ")" * 300, "(1," * 400, "9" * 5000, "x" * 70000])
def test_bad_operator_attribute_names_node_and_attribute(tmp_path, value):
    doc = _graph()
    k = next(i for i, n in enumerate(doc["nodes"]) if n["op"] == "Convolution")
    doc["nodes"][k]["attrs"]["kernel"] = value
    p = _write(tmp_path, doc)
    with pytest.raises(FileFormatError) as e:
        mx.sym.load(p)
    msg = str(e.value)
    assert p in msg and doc["nodes"][k]["name"] in msg and "'kernel'" in msg, msg


@pytest.mark.parametrize("mutate, what", [
    (lambda d: "[" * 100000, "nested too deeply"),
    (lambda d: "{nope", "not valid JSON"),
    (lambda d: [1, 2], "needs 'nodes' and 'heads'"),
    (lambda d: {**d, "nodes": 3}, "must be lists"),
    (lambda d: {**d, "heads": []}, "no outputs"),
    (lambda d: {**d, "heads": [[0, 5, 0]]}, "output 5"),
    (lambda d: {**d, "heads": [["0", 0, 0]]}, "entry"),
    (lambda d: {**d, "nodes": d["nodes"][:3] + [7] + d["nodes"][4:]}, "not an object"),
    (lambda d: {**d, "nodes": [{**n, "inputs": n["inputs"][:1]} if n["op"] == "Convolution"
                               else n for n in d["nodes"]]}, "has 1 inputs"),
    (lambda d: {**d, "nodes": [{**n, "inputs": [[10 ** 30, 0, 0]]} if n["op"] == "Flatten"
                               else n for n in d["nodes"]]}, "not before it"),
    (lambda d: {**d, "nodes": [{**n, "attrs": {**n.get("attrs", {}), "num_filter": 8}}
                               if n["op"] == "Convolution" else n for n in d["nodes"]]},
     "must be strings"),
    (lambda d: {**d, "nodes": [{**n, "op": "_index"} if n["op"] == "Flatten" else n
                               for n in d["nodes"]]}, "internal operator"),
    (lambda d: {**d, "nodes": [{**n, "op": "__import__"} if n["op"] == "Flatten" else n
                               for n in d["nodes"]]}, "does not implement"),
])
def test_malformed_graphs_raise_file_format_error(tmp_path, mutate, what):
    p = _write(tmp_path, mutate(_graph()))
    with pytest.raises(FileFormatError, match=what) as e:
        mx.sym.load(p)
    assert p in str(e.value)


def test_load_json_string_errors_are_file_format_errors_too():
    with pytest.raises(FileFormatError, match="JSON: .*not valid JSON"):
        mx.sym.load_json("{nope")
    assert issubclass(FileFormatError, MXNetError)


def test_load_checkpoint_names_the_bad_symbol_file(tmp_path):
    prefix = str(tmp_path / "m")
    (tmp_path / "m-symbol.json").write_bytes(b"\x80\x81not json")
    nd.save(f"{prefix}-0001.params", {"arg:x": nd.ones((1,))})
    with pytest.raises(FileFormatError, match="m-symbol.json"):
        mx.model.load_checkpoint(prefix, 1)


# --- nd.load / .params ---------------------------------------------------------------------
def test_nd_load_errors_are_file_format_errors_naming_the_file(tmp_path):
    raw = (FIX / "nd_dict.params").read_bytes()
    p = tmp_path / "cut.params"
    p.write_bytes(raw[:-7])
    with pytest.raises(FileFormatError, match=r"cut\.params.*truncated"):
        nd.load(str(p))
    with pytest.raises(FileFormatError, match="buffer"):
        nd.load_frombuffer(raw[:30])
    # an absurd shape is refused before anything is allocated, zero dimension or not
    crafted = (struct.pack("<QQQ", 0x112, 0, 1) + struct.pack("<Iii", 0xF993FAC9, 0, 3)
               + struct.pack("<3q", 0, 1 << 62, 4) + struct.pack("<iii", 1, 0, 0)
               + struct.pack("<Q", 0))
    p.write_bytes(crafted)
    with pytest.raises(FileFormatError, match=r"cut\.params.*too large"):
        nd.load(str(p))


def test_load_parameters_of_a_bad_file_changes_nothing(tmp_path):
    net = nn.Dense(3, in_units=2)
    net.initialize()
    before = net.weight.data().asnumpy().copy()
    good = tmp_path / "good.params"
    net.save_parameters(str(good))
    p = tmp_path / "bad.params"
    p.write_bytes(good.read_bytes()[:-5])
    with pytest.raises(FileFormatError, match="bad.params"):
        net.load_parameters(str(p))
    np.testing.assert_array_equal(net.weight.data().asnumpy(), before)


# --- RecordIO index ------------------------------------------------------------------------
def test_recordio_index_that_is_not_utf8(tmp_path):
    idx = tmp_path / "x.idx"
    idx.write_bytes(b"0\t0\n1\t\xff\xfe\n")
    with pytest.raises(FileFormatError, match=r"x\.idx.*line 2 is not UTF-8"):
        mx.recordio.MXIndexedRecordIO(str(idx), str(FIX / "recordio/mx_raw.rec"), "r")


@pytest.mark.parametrize("line", [b"0\t-5\n", b"0\t" + b"9" * 30 + b"\n", b"0\n",
                                  b"x\t0\n"])
def test_recordio_index_bad_lines(tmp_path, line):
    idx = tmp_path / "x.idx"
    idx.write_bytes(line)
    with pytest.raises(FileFormatError, match=r"line 1 of index file .*x\.idx"):
        mx.recordio.MXIndexedRecordIO(str(idx), str(FIX / "recordio/mx_raw.rec"), "r")


def test_recordio_corrupt_record_is_a_file_format_error(tmp_path):
    rec = tmp_path / "x.rec"
    rec.write_bytes(b"\x00" * 16)
    r = mx.recordio.MXRecordIO(str(rec), "r")
    with pytest.raises(FileFormatError, match=r"x\.rec.*no magic number"):
        r.read()
    r.close()


# --- creation size limit -------------------------------------------------------------------
@pytest.mark.parametrize("make, name", [
    (lambda: nd.zeros((2 ** 40,)), "zeros"),
    (lambda: nd.ones((2 ** 40,)), "ones"),
    (lambda: nd.full((2 ** 40,), 3.0), "full"),
    (lambda: nd.empty((2 ** 40,)), "empty"),
    (lambda: nd.zeros((0, 2 ** 62, 4)), "zeros"),
    (lambda: nd.zeros((2 ** 62, 2 ** 62)), "zeros"),
    (lambda: nd.arange(0, 2 ** 40), "arange"),
    (lambda: nd.eye(2 ** 30), "eye"),
    (lambda: nd.random.uniform(shape=(2 ** 40,)), "_random_uniform"),
    (lambda: nd.random.normal(shape=(2 ** 40,)), "_random_normal"),
])
def test_oversized_creation_names_operator_bytes_and_limit(make, name):
    with pytest.raises(MXNetError) as e:
        make()
    msg = str(e.value)
    assert msg.startswith(f"{name}: cannot allocate"), msg
    assert "bytes" in msg and "size limit" in msg, msg


def test_out_of_memory_during_creation_is_named():
    from gluonlite.ops.creation import allocating
    with pytest.raises(MXNetError, match=r"zeros: out of memory .*\(8, 2\).*64 bytes"):
        with allocating("zeros", (8, 2), "float32"):
            raise MemoryError()


def test_normal_creation_still_works():
    assert nd.zeros((0, 5)).shape == (0, 5)
    assert nd.empty(3).shape == (3,)
    assert nd.random.uniform(shape=(2, 2)).shape == (2, 2)


# --- hybridized calls ----------------------------------------------------------------------
def _mlp():
    net = nn.HybridSequential()
    net.add(nn.Dense(4, in_units=3), nn.Dense(2, in_units=4))
    net.initialize()
    return net


@pytest.mark.parametrize("static", [False, True])
def test_hybridized_dtype_mismatch_raises_the_imperative_error(static):
    net = _mlp()
    x = nd.ones((2, 3), dtype="float64")
    with pytest.raises(MXNetError) as imperative:
        net(x)
    net.hybridize(static_alloc=static)
    net(nd.ones((2, 3)))
    with pytest.raises(MXNetError) as hybridized:
        net(x)
    assert str(hybridized.value) == str(imperative.value)
    assert "FullyConnected: inputs must have the same dtype" in str(imperative.value)
    assert net(nd.ones((2, 3))).dtype == np.float32  # still usable


@pytest.mark.parametrize("static", [False, True])
def test_hybridized_zero_row_batch_works(static):
    # a batch of 0 rows used to fail deep in numpy (reshape(0, -1)); it now gives an empty
    # result in both modes
    net = _mlp()
    want = net(nd.ones((0, 3)))
    assert want.shape == (0, 2)
    net.hybridize(static_alloc=static)
    net(nd.ones((2, 3)))
    assert net(nd.ones((0, 3))).shape == (0, 2)
    assert net(nd.ones((5, 3))).shape == (5, 2)


def test_hybridized_run_time_failure_names_the_operator(monkeypatch):
    # an operator line of a compiled program that raises at run time is reported as
    # MXNetError naming the operator and the node, as imperative calls name it
    monkeypatch.setenv("GLUONLITE_FUSE", "0")
    op = mx.ops.get_op("exp")
    monkeypatch.setattr(op, "lower", lambda L, a, ins, outs: "{0}.reshape(7, 11)")

    class Exp(gluon.HybridBlock):
        def hybrid_forward(self, F, x):
            return F.exp(x) + 1

    b = Exp()
    b.hybridize()
    with pytest.raises(MXNetError, match=r"^exp: .*reshape.*hybridized node .*input "
                                         r"shapes: \(2, 3\)") as err:
        b(nd.ones((2, 3)))
    assert isinstance(err.value.__cause__, ValueError)  # the original error is kept


def test_hybridized_bad_axis_names_the_operator():
    class Sum(gluon.HybridBlock):
        def hybrid_forward(self, F, x):
            return F.sum(x, axis=5)

    b = Sum()
    b.hybridize()
    with pytest.raises(MXNetError, match=r"sum .*axis 5 is out of range"):
        b(nd.ones((2, 3)))


def test_var_with_bad_shape_attribute_names_the_variable():
    s = mx.sym.var("x", attr={"__shape__": "(1,"}) * 2.0
    with pytest.raises(MXNetError, match=r"variable 'x': invalid attribute __shape__"):
        s.infer_shape()
