"""concat / stack / split (and _backward_concat): numpy references, MXNet 1.9.1 fixtures,
gradient checks and error cases."""
import json
import pathlib

import numpy as np
import pytest

from gluonlite import autograd, nd
from gluonlite.base import MXNetError

from .opcheck import check_op

FIXTURE = pathlib.Path(__file__).parent.parent / "fixtures" / "array_ops.npz"
OPS = {"concat", "Concat", "stack", "split", "SliceChannel"}

rng = np.random.RandomState(0)


def _u(*shape):
    return rng.uniform(-2, 2, size=shape)


def _cases(ops):
    data = np.load(FIXTURE)
    meta = json.loads(str(data["__meta__"]))
    out = []
    for c in meta:
        if c["op"] in ops:
            c = dict(c, attrs={k: tuple(v) if isinstance(v, list) else v
                               for k, v in c["attrs"].items()})
            c["ins"] = [data[f"{c['name']}/in{i}"] for i in range(c["n_in"])]
            c["outs"] = [data[f"{c['name']}/out{j}"] for j in range(c["n_out"])]
            if c["grad_inputs"]:
                c["heads"] = [data[f"{c['name']}/head{j}"] for j in range(c["n_out"])]
                c["grads"] = {i: data[f"{c['name']}/grad{i}"] for i in c["grad_inputs"]}
            out.append(c)
    return out


def _check_against_mxnet(c):
    """Outputs, dtypes and (with MXNet's head gradients) input gradients equal MXNet's."""
    arrs = [nd.array(x, dtype=x.dtype) for x in c["ins"]]
    for i in c["grad_inputs"]:
        arrs[i].attach_grad()
    with autograd.record():
        res = getattr(nd, c["op"])(*arrs, **c["attrs"])
    res = res if isinstance(res, list) else [res]
    assert len(res) == c["n_out"]
    for r, e in zip(res, c["outs"]):
        assert r.shape == e.shape and r.asnumpy().dtype == e.dtype, (r.shape, e.shape)
        np.testing.assert_allclose(r.asnumpy(), e, rtol=1e-12, atol=1e-12)
    if c["grad_inputs"]:
        autograd.backward(res, [nd.array(h, dtype=h.dtype) for h in c["heads"]])
        for i, g in c["grads"].items():
            np.testing.assert_allclose(arrs[i].grad.asnumpy(), g, rtol=1e-12, atol=1e-12)


def _check_op_case(c, numeric_grad=True):
    """check_op on a fixture case: MXNet's outputs as expected values, and a numerical
    gradient check of the inputs MXNet differentiates (when there are float inputs)."""
    has_float = any(x.dtype.kind == "f" for x in c["ins"])
    check_op(c["op"], c["ins"], c["attrs"], expected=c["outs"],
             grad=None if numeric_grad and has_float else False,
             grad_inputs=c["grad_inputs"] or None)


CASES = _cases(OPS)


@pytest.mark.parametrize("c", CASES, ids=[c["name"] for c in CASES])
def test_matches_mxnet(c):
    _check_against_mxnet(c)
    _check_op_case(c)


def test_fixture_covers_every_operator():
    assert {c["op"] for c in CASES} == OPS


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_concat(dim):
    shapes = [(2, 3, 4)] * 3
    xs = []
    for k, s in enumerate(shapes):
        s = list(s)
        s[dim] = k + 1
        xs.append(_u(*s))
    check_op("concat", xs, {"dim": dim}, expected=lambda *v: np.concatenate(v, axis=dim))


def test_concat_single_input_and_default_dim():
    x = _u(2, 3)
    check_op("concat", [x], {}, expected=x)
    y = nd.concat(nd.array(x), nd.array(x))
    assert y.shape == (2, 6)  # dim=1 by default
    assert nd.Concat(nd.array(x), nd.array(x), dim=0).shape == (4, 3)
    assert nd.concatenate([nd.array(x), nd.array(x)]).shape == (4, 3)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_stack(axis):
    xs = [_u(2, 3) for _ in range(3)]
    check_op("stack", xs, {"axis": axis}, expected=lambda *v: np.stack(v, axis=axis))


def test_stack_single_input():
    x = _u(3, 2)
    check_op("stack", [x], {"axis": 1}, expected=x[:, None, :])


@pytest.mark.parametrize("n,axis,squeeze", [(3, 1, False), (2, 0, False), (4, -1, False),
                                            (3, 1, True), (1, 0, False), (2, -3, False)])
def test_split(n, axis, squeeze):
    x = _u(2, 3, 4) if not squeeze else _u(2, 3, 2)
    if axis == 1 and not squeeze:
        x = _u(2, 6, 2)
    if n == 4:
        x = _u(2, 3, 8)

    def ref(v):
        parts = np.split(v, n, axis=axis)
        return [np.squeeze(p, axis=axis) if squeeze else p for p in parts]

    check_op("split", [x], {"num_outputs": n, "axis": axis, "squeeze_axis": squeeze},
             expected=ref)


def test_split_returns_one_array_for_one_output():
    r = nd.split(nd.ones((2, 3)), num_outputs=1, axis=1)
    assert isinstance(r, nd.NDArray) and r.shape == (2, 3)
    assert len(nd.SliceChannel(nd.ones((2, 4)), 2)) == 2  # num_outputs positionally


def test_split_1d_squeeze_gives_shape_1_not_0d():
    # MXNet 1.9.1 returns 0-d arrays here; gluonlite keeps MXNet 1.x's (1,) convention
    x = np.array([1.0, 2.0, 3.0])
    outs = check_op("split", [x], {"num_outputs": 3, "axis": 0, "squeeze_axis": True},
                    expected=[x[0:1], x[1:2], x[2:3]])
    assert [o.shape for o in outs] == [(1,)] * 3


def test_split_outputs_do_not_share_memory():
    x = nd.arange(6).reshape((3, 2))
    a, b, c = nd.split(x, 3, axis=0)
    a[:] = 100
    assert x.asnumpy()[0].tolist() == [0, 1]


def test_split_gradient_with_unused_outputs():
    x = nd.array(_u(2, 4))
    x.attach_grad()
    with autograd.record():
        a, b = nd.split(x, 2, axis=1)
        y = (a * 3).sum()
    y.backward()
    expect = np.zeros((2, 4))
    expect[:, :2] = 3
    np.testing.assert_allclose(x.grad.asnumpy(), expect)


def test_backward_concat():
    g, a, b = _u(2, 5), _u(2, 2), _u(2, 3)
    check_op("_backward_concat", [g, a, b], {"dim": 1}, expected=[g[:, :2], g[:, 2:]],
             grad_inputs=[0])
    check_op("_backward_concat", [g, g], {"dim": -1}, expected=g, grad_inputs=[0])


def test_concat_second_order():
    x = nd.array(_u(2, 2))
    x.attach_grad()
    with autograd.record():
        y = nd.concat(x * x, x, dim=0)
        (gx,) = autograd.grad(y, [x], head_grads=nd.ones((4, 2)), create_graph=True)
        z = (gx * gx).sum()
    z.backward()
    # gx = 2x + 1, d/dx sum((2x+1)^2) = 4 (2x + 1)
    np.testing.assert_allclose(x.grad.asnumpy(), 4 * (2 * x.asnumpy() + 1), rtol=1e-6)


def test_join_errors():
    a, b = nd.ones((2, 3)), nd.ones((2, 4))
    with pytest.raises(MXNetError, match=r"concat: input 1 has shape \(2, 4\)"):
        nd.concat(a, b, dim=0)
    with pytest.raises(MXNetError, match="concat: dim=2 is out of range"):
        nd.concat(a, a, dim=2)
    with pytest.raises(MXNetError, match="concat: all inputs must have the same dtype"):
        nd.concat(a, a.astype("float64"))
    with pytest.raises(MXNetError, match="concat: num_args=3 but 2 input arrays"):
        nd.concat(a, a, num_args=3)
    with pytest.raises(MXNetError, match="concat: needs at least one input"):
        nd.concat()
    with pytest.raises(MXNetError, match=r"stack: all inputs must have the same shape"):
        nd.stack(a, b)
    with pytest.raises(MXNetError, match="stack: axis=3 is out of range"):
        nd.stack(a, a, axis=3)
    with pytest.raises(MXNetError, match=r"split: cannot split axis 1 .*\(2 does not divide 3\)"):
        nd.split(a, 2, axis=1)
    with pytest.raises(MXNetError, match="squeeze_axis=True needs the size of axis 1"):
        nd.split(b, 2, axis=1, squeeze_axis=True)
    with pytest.raises(MXNetError, match="split: axis=2 is out of range"):
        nd.split(a, 1, axis=2)
    with pytest.raises(MXNetError, match="num_outputs must be >= 1"):
        nd.split(a, 0)
    with pytest.raises(MXNetError, match="(split|SliceChannel): required argument 'num_outputs'"):
        nd.split(a)


def test_shape_rules_with_unknown_inputs():
    from gluonlite.ops import get_op
    op = get_op("concat")
    assert op.infer_shape({"dim": 1, "num_args": 2}, [(2, 3), (2, 5)])[1] == [(2, 8)]
    assert op.infer_shape({"dim": 1, "num_args": 2}, [(2, 3), None])[1] == [None]
    split = get_op("split")
    a = split.parse_attrs({"num_outputs": 3})
    assert split.infer_shape(a, [None])[1] == [None] * 3
    assert split.infer_shape(a, [(2, 6)])[1] == [(2, 2)] * 3
