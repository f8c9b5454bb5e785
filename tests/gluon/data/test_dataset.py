"""gluon.data datasets against MXNet 1.9.1 (tests/fixtures/gluon_data.json)."""
import gzip
import json
import os
import pickle

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.gluon.data import (ArrayDataset, DataLoader, Dataset, RecordFileDataset,
                                  SequentialSampler, SimpleDataset)

from ...fixtures.gen import recordio_cases as cases

HERE = os.path.dirname(__file__)
FIX = os.path.join(HERE, "..", "..", "fixtures", "gluon_data.json")
RIO = os.path.join(HERE, "..", "..", "fixtures", "recordio")
FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(scope="module")
def ref():
    with open(FIX) as f:
        return json.load(f)


def items(ds):
    return [ds[i] for i in range(len(ds))]


def test_shard_matches_mxnet(ref):
    for case in ref["shard"]:
        ds = SimpleDataset(list(range(case["length"]))).shard(case["num_shards"],
                                                              case["index"])
        assert items(ds) == case["items"], case


def test_shards_partition_the_dataset():
    ds = SimpleDataset(list(range(11)))
    parts = [items(ds.shard(4, i)) for i in range(4)]
    assert sum(parts, []) == list(range(11))
    assert [len(p) for p in parts] == [3, 3, 3, 2]


def test_take_filter_transform_match_mxnet(ref):
    for case in ref["take"]:
        assert items(SimpleDataset(list(range(10))).take(case["count"])) == case["items"]
    assert items(SimpleDataset(list(range(10))).filter(lambda x: x % 3 == 0)) == \
        ref["filter"][0]["items"]
    pairs = ArrayDataset(list(range(5)), [10 * i for i in range(5)])
    for case in ref["transform"][:2]:
        t = pairs.transform(lambda x, y: (x + y, x * y), lazy=case["lazy"])
        tf = pairs.transform_first(lambda x: x - 1, lazy=case["lazy"])
        assert [list(s) for s in items(t)] == case["transform"]
        assert [list(s) for s in items(tf)] == case["transform_first"]
        assert [type(t).__name__, type(tf).__name__] == case["types"]
    single = SimpleDataset(list(range(4))).transform(lambda x: x * 3)
    assert items(single) == ref["transform"][2]["single"]


def test_lazy_and_eager_transform_call_counts():
    calls = []

    def fn(x):
        calls.append(x)
        return x + 1
    ds = SimpleDataset([1, 2, 3])
    lazy = ds.transform(fn)
    assert calls == []
    assert lazy[1] == 3 and lazy[1] == 3 and calls == [2, 2]
    calls.clear()
    eager = ds.transform(fn, lazy=False)
    assert calls == [1, 2, 3] and items(eager) == [2, 3, 4] and calls == [1, 2, 3]


def test_chained_combinators_and_sample():
    ds = SimpleDataset(list(range(20))).filter(lambda x: x % 2 == 0).take(6)
    assert items(ds) == [0, 2, 4, 6, 8, 10]
    assert items(ds.transform(lambda x: -x).shard(2, 1)) == [-6, -8, -10]
    assert items(ds.sample(SequentialSampler(2, start=3))) == [6, 8]


def _double(x):
    return 2 * x


def test_transform_first_pickles():
    ds = ArrayDataset(np.arange(4), np.arange(4) * 10).transform_first(_double)
    ds2 = pickle.loads(pickle.dumps(ds))
    assert ds2[3] == (6, 30)


def test_array_dataset_item_types_match_mxnet(ref):
    cases = {
        "nd1d": [nd.arange(4)],
        "nd2d": [nd.arange(8).reshape((4, 2))],
        "np1d": [np.arange(4, dtype=np.int32)],
        "list": [[1, 2, 3, 4]],
        "mixed": [nd.arange(8).reshape((4, 2)), nd.arange(4), np.arange(4.0), [5, 6, 7, 8]],
    }
    for case in ref["array_dataset"]:
        item = ArrayDataset(*cases[case["name"]])[1]
        assert isinstance(item, tuple) == case["is_tuple"]
        got = item if isinstance(item, tuple) else (item,)
        types = [type(x).__module__.split(".")[0] + "." + type(x).__name__ for x in got]
        assert types == [t.replace("mxnet.", "gluonlite.") for t in case["types"]], case
        assert [list(getattr(x, "shape", ())) for x in got] == case["shapes"]


def test_errors_match_mxnet(ref):
    mxerr = {e["name"]: e for e in ref["errors"]}
    ds = ArrayDataset(np.arange(10))
    for name, fn in [("shard_index", lambda: ds.shard(3, 3)),
                     ("shard_negative", lambda: ds.shard(3, -1)),
                     ("no_arrays", lambda: ArrayDataset()),
                     ("sample_type", lambda: ds.sample([0, 1]))]:
        with pytest.raises(Exception) as ei:
            fn()
        assert type(ei.value).__name__ == mxerr[name]["type"]
        assert str(ei.value) == mxerr[name]["message"]
    with pytest.raises(AssertionError) as ei:
        ArrayDataset(np.arange(3), np.arange(4))
    assert mxerr["array_lengths"]["type"] == "AssertionError"
    # MXNet names the wrong array (array[2]); gluonlite names the one that differs
    assert str(ei.value) == mxerr["array_lengths"]["message"].replace("array[2]", "array[1]")


def test_bad_arguments():
    ds = SimpleDataset(list(range(5)))
    with pytest.raises(TypeError, match="num_shards"):
        ds.shard(2.0, 0)
    with pytest.raises(ValueError, match="count"):
        ds.take(-1)
    with pytest.raises(TypeError, match="fn"):
        ds.transform("not callable")
    with pytest.raises(TypeError, match="fn"):
        ds.transform_first(None)
    with pytest.raises(TypeError, match="data"):
        SimpleDataset(5)
    with pytest.raises(TypeError, match=r"args\[1\]"):
        ArrayDataset([1, 2], 3)
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def test_record_file_dataset():
    ds = RecordFileDataset(os.path.join(RIO, "mx_raw.rec"))
    recs = cases.raw_records()
    assert len(ds) == len(recs)
    assert items(ds) == [r for _, r in recs]
    with pytest.raises(TypeError, match="filename"):
        RecordFileDataset(5)


def _as_list(samples):
    return list(samples)


def test_record_file_dataset_in_worker_processes():
    """Each worker reopens the record file: the same records as in the parent."""
    ds = RecordFileDataset(os.path.join(RIO, "mx_raw.rec"))
    ds[2]  # the parent has read (and moved its file position) before the workers start
    want = list(DataLoader(ds, batch_size=3, batchify_fn=_as_list))
    got = list(DataLoader(ds, batch_size=3, batchify_fn=_as_list, num_workers=2))
    assert got == want and sum(want, []) == items(ds)


def _read_idx(path, offset, count, shape):
    with gzip.open(path, "rb") as f:
        f.read(offset)
        return np.frombuffer(f.read(count * int(np.prod(shape))), np.uint8).reshape(
            (count,) + shape)


@pytest.mark.skipif(not os.path.exists(os.path.join(FASHION, "train-images-idx3-ubyte.gz")),
                    reason="Fashion-MNIST not installed (Debian package dataset-fashion-mnist)")
def test_fashion_mnist_through_workers():
    x = _read_idx(os.path.join(FASHION, "train-images-idx3-ubyte.gz"), 16, 1000, (28, 28, 1))
    y = _read_idx(os.path.join(FASHION, "train-labels-idx1-ubyte.gz"), 8, 1000, ())
    ds = ArrayDataset(nd.array(x, dtype="uint8"), y).transform_first(
        lambda img: img.astype("float32") / 255)
    mx.random.seed(4)
    a = [(d.asnumpy(), l.asnumpy()) for d, l in DataLoader(ds, 128, shuffle=True)]
    mx.random.seed(4)
    b = [(d.asnumpy(), l.asnumpy()) for d, l in DataLoader(ds, 128, shuffle=True,
                                                           num_workers=2)]
    assert len(a) == len(b) == 8
    for (da, la), (db, lb) in zip(a, b):
        np.testing.assert_array_equal(da, db)
        np.testing.assert_array_equal(la, lb)
    assert sorted(np.concatenate([l for _, l in a]).tolist()) == sorted(y.tolist())
