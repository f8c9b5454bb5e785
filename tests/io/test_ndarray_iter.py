"""mx.io.NDArrayIter, DataDesc, DataBatch and DataIter against MXNet 1.9.1's behaviour
(tests/fixtures/io/ndarray_iter.json, written by tests/fixtures/gen/io_mxnet.py)."""
import json
import os

import numpy as np
import pytest

import gluonlite as mx
from gluonlite.base import MXNetError

FIX = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "io")


@pytest.fixture(scope="module")
def ref():
    with open(os.path.join(FIX, "ndarray_iter.json")) as f:
        return json.load(f)


def as_json(b):
    return {"data": [d.asnumpy().astype(np.float64).tolist() for d in b.data],
            "label": [lab.asnumpy().astype(np.float64).tolist() for lab in (b.label or [])],
            "pad": b.pad}


def make(n, bs, mode, **kw):
    data = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    return mx.io.NDArrayIter(data, np.arange(n, dtype=np.float32), bs, last_batch_handle=mode,
                             **kw)


def test_every_mode_over_epochs_matches_mxnet(ref):
    assert len(ref["epochs"]) == 54
    for case in ref["epochs"]:
        it = make(case["n"], case["batch_size"], case["mode"])
        if "error" in case:
            # MXNet fails inside slice_axis when roll_over meets batch_size > num_data
            with pytest.raises(MXNetError):
                for _ in range(4):
                    list(it)
                    it.reset()
            continue
        for epoch in case["epochs"]:
            got = [as_json(b) for b in it]
            assert got == epoch, (case["n"], case["batch_size"], case["mode"])
            it.reset()


def test_scripted_resets_and_hard_reset_match_mxnet(ref):
    for case in ref["scripts"]:
        it = make(case["n"], case["batch_size"], case["mode"])
        steps = []
        for c in case["script"]:
            if c == "r":
                it.reset()
                steps.append("reset")
            elif c == "h":
                it.hard_reset()
                steps.append("hard_reset")
            else:
                try:
                    steps.append(as_json(it.next()))
                except StopIteration:
                    steps.append("stop")
        assert steps == case["steps"], case["script"]


def test_shuffle_uses_numpy_global_rng_like_mxnet(ref):
    sh = ref["shuffle"]
    for run in sh["runs"]:
        np.random.seed(sh["seed"])
        data = np.arange(20, dtype=np.float32).reshape(10, 2)
        it = mx.io.NDArrayIter(data, np.arange(10), sh["batch_size"], shuffle=True,
                               last_batch_handle=run["mode"])
        for epoch in run["epochs"]:
            assert [as_json(b) for b in it] == epoch, run["mode"]
            it.reset()


def test_shuffle_keeps_data_and_label_aligned():
    np.random.seed(1)
    data = np.arange(30, dtype=np.float32).reshape(15, 2)
    it = mx.io.NDArrayIter(data, np.arange(15), 5, shuffle=True)
    seen = []
    for b in it:
        d, lab = b.data[0].asnumpy(), b.label[0].asnumpy()
        np.testing.assert_array_equal(d[:, 0], lab * 2)
        seen.extend(lab.tolist())
    assert sorted(seen) == list(range(15)) and seen != list(range(15))


def test_names_of_dict_and_list_inputs(ref):
    it = mx.io.NDArrayIter({"b": np.zeros((4, 3)), "a": np.ones((4, 2, 2))},
                           {"lb": np.zeros((4,)), "la": np.zeros((4, 1))}, 2)
    assert [[d.name for d in it.provide_data], [d.name for d in it.provide_label]] == \
        ref["names"]["dict"]
    b = it.next()
    assert [x.shape for x in b.data] == [(2, 2, 2), (2, 3)]
    np.testing.assert_array_equal(b.data[0].asnumpy(), np.ones((2, 2, 2)))
    it = mx.io.NDArrayIter([np.zeros((4, 3)), np.ones((4, 2))], [np.zeros(4)], 2)
    assert [[d.name for d in it.provide_data], [d.name for d in it.provide_label]] == \
        ref["names"]["list"]
    it = mx.io.NDArrayIter(np.zeros((4, 3)), None, 2, data_name="x")
    assert [[d.name for d in it.provide_data], [d.name for d in it.provide_label]] == \
        ref["names"]["no_label"]
    b = it.next()
    assert repr(b.label) == ref["reprs"]["no_label_batch_label"]
    assert str(b) == ref["reprs"]["no_label_str"]


def test_reprs_and_dtypes_match_mxnet(ref):
    it = mx.io.NDArrayIter(np.zeros((4, 3, 2), dtype=np.float64), np.zeros(4, dtype=np.int32), 2)
    assert repr(it.provide_data) == ref["reprs"]["provide_data"]
    assert repr(it.provide_label) == ref["reprs"]["provide_label"]
    assert str(it.next()) == ref["reprs"]["str"]
    assert [str(it.next().data[0].dtype), str(it.provide_label[0].dtype)] == ref["reprs"]["dtypes"]
    assert repr(mx.io.DataDesc("x", (1, 2))) == ref["reprs"]["datadesc"]


def test_ndarray_input_keeps_dtype_and_batches_are_copies():
    src = mx.nd.array(np.arange(6).reshape(6, 1), dtype="float64")
    it = mx.io.NDArrayIter(src, batch_size=4)
    assert it.provide_data[0].dtype == np.float64
    b = it.next()
    b.data[0][:] = -1
    np.testing.assert_array_equal(src.asnumpy().ravel(), np.arange(6))
    assert it.next().pad == 2


def test_layout_batch_axis():
    data = np.arange(24, dtype=np.float32).reshape(2, 6, 2)  # T, N, C
    it = mx.io.NDArrayIter(data, batch_size=4, layout="TNC")
    assert it.provide_data[0].shape == (2, 4, 2)
    assert it.provide_data[0].layout == "TNC"
    b1, b2 = list(it)
    np.testing.assert_array_equal(b1.data[0].asnumpy(), data[:, :4])
    np.testing.assert_array_equal(b2.data[0].asnumpy(),
                                  np.concatenate([data[:, 4:], data[:, :2]], axis=1))
    assert b2.pad == 2


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=-2), ValueError, "batch_size"),
    (dict(batch_size=2.5), TypeError, "batch_size"),
    (dict(last_batch_handle="keep"), ValueError, "last_batch_handle"),
    (dict(layout="TC"), ValueError, "layout"),
])
def test_argument_errors(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        mx.io.NDArrayIter(np.zeros((4, 2)), np.zeros(4), **kwargs)


def test_input_errors():
    with pytest.raises(ValueError, match="'softmax_label' has 3 examples"):
        mx.io.NDArrayIter(np.zeros((4, 2)), np.zeros(3), 2)
    with pytest.raises(ValueError, match="data must be given"):
        mx.io.NDArrayIter(None)
    with pytest.raises(TypeError, match="Input must be NDArray"):
        mx.io.NDArrayIter("not an array")
    with pytest.raises(TypeError, match="Invalid type"):
        mx.io.NDArrayIter({"data": object()})
    with pytest.raises(ValueError, match="scalar"):
        mx.io.NDArrayIter({"data": 3.0})


def test_datadesc():
    d = mx.io.DataDesc("data", (2, 3), np.float16, "NC")
    name, shape = d
    assert (name, shape, d.dtype, d.layout) == ("data", (2, 3), np.float16, "NC")
    assert d == ("data", (2, 3))
    assert mx.io.DataDesc.get_batch_axis("TNC") == 1
    assert mx.io.DataDesc.get_batch_axis(None) == 0
    assert mx.io.DataDesc.get_batch_axis("CHW") == -1
    lst = mx.io.DataDesc.get_list([("a", (1,)), ("b", (2,))], [("b", np.int32), ("a", np.uint8)])
    assert [(x.name, x.shape, x.dtype) for x in lst] == [("a", (1,), np.uint8),
                                                         ("b", (2,), np.int32)]
    assert mx.io.DataDesc.get_list([("a", (1,))], None)[0].dtype == np.float32
    import copy
    import pickle
    for c in (copy.copy(d), pickle.loads(pickle.dumps(d))):
        assert (c.name, c.shape, c.dtype, c.layout) == ("data", (2, 3), np.float16, "NC")


def test_databatch():
    b = mx.io.DataBatch([mx.nd.zeros((2, 3))], [mx.nd.zeros((2,))], pad=1, index=np.arange(2),
                        bucket_key=5)
    assert str(b) == "DataBatch: data shapes: [(2, 3)] label shapes: [(2,)]"
    assert (b.pad, b.bucket_key, b.provide_data, b.provide_label) == (1, 5, None, None)
    with pytest.raises(AssertionError, match="Data must be list"):
        mx.io.DataBatch(mx.nd.zeros((2, 3)))
    with pytest.raises(AssertionError, match="Label must be list"):
        mx.io.DataBatch([mx.nd.zeros((2, 3))], mx.nd.zeros((2,)))


class CursorIter(mx.io.DataIter):
    """Uses the default next() through iter_next/getdata/getlabel/getpad/getindex."""

    def __init__(self):
        super().__init__(batch_size=2)
        self.i = 0

    def reset(self):
        self.i = 0

    def iter_next(self):
        self.i += 1
        return self.i <= 3

    def getdata(self):
        return [mx.nd.full((2, 1), self.i)]

    def getlabel(self):
        return [mx.nd.full((2,), -self.i)]

    def getpad(self):
        return 1 if self.i == 3 else 0

    def getindex(self):
        return np.array([self.i, self.i])


class NextIter(mx.io.DataIter):
    """Overrides only next/reset/provide_*, as many MXNet examples do."""

    def __init__(self, n):
        super().__init__(batch_size=3)
        self.n, self.cur = n, 0
        self.provide_data = [mx.io.DataDesc("data", (3, 2))]
        self.provide_label = [mx.io.DataDesc("softmax_label", (3,))]

    def reset(self):
        self.cur = 0

    def next(self):
        if self.cur >= self.n:
            raise StopIteration
        self.cur += 1
        return mx.io.DataBatch([mx.nd.ones((3, 2)) * self.cur], [mx.nd.zeros((3,))])


def test_user_subclasses():
    it = CursorIter()
    batches = list(it)
    assert [b.data[0].asnumpy()[0, 0] for b in batches] == [1, 2, 3]
    assert [b.pad for b in batches] == [0, 0, 1]
    assert batches[2].index.tolist() == [3, 3]
    assert list(it) == []
    it.reset()
    assert len(list(it)) == 3
    it = NextIter(2)
    assert [b.data[0].asnumpy()[0, 0] for b in it] == [1, 2]
    it.reset()
    assert len([b for b in it]) == 2
    assert it.batch_size == 3


def test_base_class_defaults():
    it = mx.io.DataIter()
    assert it.batch_size == 0
    assert iter(it) is it
    with pytest.raises(StopIteration):
        next(it)
    assert (it.getdata(), it.getlabel(), it.getindex(), it.getpad()) == (None,) * 4
