"""Partial shape inference as MXNet 1.9.1 does it (issue 17 §4): unknown dimensions are 0
(legacy shape semantics) or -1 (``mx.np_shape()``), unknown shapes ``()`` or None, and a
consumer's known shape fills a source operator's unknown dimension. Reference results from
MXNet in ``tests/fixtures/shape_executor_mxnet.json`` (tests/fixtures/gen/
shape_executor_mxnet.py)."""
import json
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError

S = mx.sym
FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "shape_executor_mxnet.json"
REF = json.loads(FIXTURE.read_text())


def _lists(res):
    if res[0] is None:
        return None
    return [[None if s is None else list(s) for s in group] for group in res]


@pytest.mark.parametrize("case", REF["infer"],
                         ids=[f"{c['expr'][:40]}|np={c['np_shape']}|{c['kwargs']}"
                              for c in REF["infer"]])
def test_infer_shape_matches_mxnet(case):
    kwargs = {k: tuple(v) for k, v in case["kwargs"].items()}
    with mx.np_shape(case["np_shape"]):
        sym = eval(case["expr"])  # noqa: S307 -- expressions from our own generator
        for key, fn in (("partial", sym.infer_shape_partial), ("full", sym.infer_shape)):
            assert _lists(fn(**kwargs)) == case[key], key


def test_unknown_shape_conventions():
    x = S.var("x")
    fc = S.FullyConnected(x, num_hidden=10, name="fc")
    arg, out, _ = fc.infer_shape_partial(x=(0, 5))
    assert arg == [(0, 5), (10, 5), (10,)] and out == [(0, 10)]
    assert fc.infer_shape(x=(0, 5)) == (None, None, None)
    with mx.np_shape():
        assert fc.infer_shape_partial() == ([None, None, None], [None], [])
        arg, out, _ = fc.infer_shape_partial(x=(-1, 5))
        assert arg[0] == (-1, 5) and out == [(-1, 10)]
        # a 0 is a real size: the shapes are complete
        assert fc.infer_shape(x=(0, 5))[1] == [(0, 10)]
    # the __shape__ attribute is read by the semantics in force when inference runs
    v = S.var("v", shape=(0, 10))
    assert v.attr("__shape__") == "(0, 10)"
    assert S.relu(v).infer_shape() == (None, None, None)
    with mx.np_shape():
        assert S.relu(v).infer_shape()[1] == [(0, 10)]


def test_bad_shapes_are_refused_early():
    with pytest.raises(ValueError, match="var 'v': shape must be a tuple of ints >= -1"):
        S.var("v", shape=(2, -3))
    with pytest.raises(ValueError, match="shape must be"):
        S.var("v", shape=(2, "a"))
    with pytest.raises(MXNetError, match="shape of 'x' is \\(-1, 5\\); dimensions must be >= 0"):
        S.relu(S.var("x")).infer_shape_partial(x=(-1, 5))
    with pytest.raises(TypeError, match="shape of 'x' must be a tuple of ints"):
        S.relu(S.var("x")).infer_shape(x="(2, 3)")
    # known dimensions that disagree are an error, not a silent pick
    with pytest.raises(MXNetError, match="shape mismatch"):
        (S.var("a", shape=(0, 3)) + S.var("b")).infer_shape_partial(b=(2, 4))


def test_zeros_takes_its_unknown_dimension_from_the_consumer():
    z = S.zeros(shape=(2, 0, 4)) + S.var("y")
    y = nd.array(np.arange(56).reshape(2, 7, 4))
    out = z.bind(mx.cpu(), {"y": y}).forward()[0]
    assert out.shape == (2, 7, 4)
    np.testing.assert_array_equal(out.asnumpy(), y.asnumpy())
    # ones / full too; the Symbol's own attribute is not changed by binding
    o = S.ones(shape=(0, 3)) * S.var("w")
    assert o.bind(mx.cpu(), {"w": nd.ones((5, 3))}).forward()[0].asnumpy().sum() == 15
    assert o.get_internals()[0].attr("shape") in ("(0, 3)", "(0,3)")
    # nothing determines it: a zero-size array, as gluonlite's nd.zeros((2, 0)) makes
    assert S.zeros(shape=(2, 0)).eval(ctx=mx.cpu())[0].shape == (2, 0)


def test_mxnet_zeros_begin_state_fixture():
    ref = REF["executor"]["zeros_batch_from_consumer"]
    z = S.zeros(shape=(2, 0, 4)) + S.var("y")
    got = z.bind(mx.cpu(), {"y": nd.ones((2, 7, 4))}).forward()[0]
    assert got.asnumpy().tolist() == ref


def test_hybridized_block_with_zero_batch_state():
    """A hybridized block making its begin state with F.zeros((1, 0, H)) runs with the
    batch size of its input (the pattern of MXNet's exported RNN graphs)."""
    class Net(mx.gluon.HybridBlock):
        def hybrid_forward(self, F, x):
            return F.elemwise_add(x, F.zeros(shape=(0, 3)))

    net = Net()
    net.hybridize()
    x = nd.ones((4, 3))
    np.testing.assert_array_equal(net(x).asnumpy(), np.ones((4, 3)))
