"""The operators of :mod:`gluonlite.ops.extra` (MXNet 1.9.1 names gluonlite lacked):
standard checks (shape/dtype rules, finite-difference gradients, float32 vs float64) with
NumPy references, their backward operators, the symbolic path and clear errors. Their
outputs and gradients against MXNet itself are in tests/ops/test_linalg.py
(``tests/fixtures/linalg_ops.npz``)."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError

from .opcheck import COVERED_GRAD, check_op

R = np.random.RandomState(11)


def _u(*s, lo=-1.0, hi=1.0):
    return R.uniform(lo, hi, size=s)


def test_make_loss_and_hard_sigmoid():
    check_op("make_loss", [_u(3, 4)], expected=lambda x: x, grad=False)
    x = nd.array(_u(2, 3))
    x.attach_grad()
    with autograd.record():
        y = nd.make_loss(x * 2)
    y.backward(nd.ones((2, 3)) * 5)  # the head gradient is ignored: d/dx = 2 * ones
    np.testing.assert_allclose(x.grad.asnumpy(), np.full((2, 3), 2.0))
    # its gradient is defined (ones), not derived: finite differences do not apply; the
    # MXNet fixture case "make_loss" (test_linalg.py) checks it too
    COVERED_GRAD.add("make_loss")
    assert mx.sym.make_loss(mx.sym.var("a"), name="ml").list_outputs() == ["ml_loss"]
    # away from the kinks at alpha*x+beta in {0, 1}
    x = np.array([[-3.1, -0.4, 0.3], [1.2, 2.9, 4.0]])
    check_op("hard_sigmoid", [x], {"alpha": 0.25, "beta": 0.5},
             expected=lambda v: np.clip(np.float32(0.25) * v + 0.5, 0, 1), rtol=1e-6)
    check_op("_backward_hard_sigmoid", [np.ones((2, 3)), x], {"alpha": 0.25, "beta": 0.5},
             expected=np.where((x * 0.25 + 0.5 > 0) & (x * 0.25 + 0.5 < 1), 0.25, 0.0))


def test_cumsum_diag():
    check_op("_np_cumsum", [_u(3, 4)], {"axis": 0}, expected=lambda a: np.cumsum(a, 0))
    check_op("_np_cumsum", [_u(2, 3)], expected=lambda a: np.cumsum(a))
    out = nd.cumsum(nd.array([[1, 2], [3, 4]], dtype="int32"), axis=1, dtype="float64")
    assert out.dtype == np.float64 and out.asnumpy().tolist() == [[1, 3], [3, 7]]
    check_op("_backward_np_cumsum", [np.ones((2, 3)), _u(2, 3)], {"axis": 1},
             expected=np.array([[3., 2., 1.], [3., 2., 1.]]))
    check_op("diag", [_u(3)], {"k": 1}, expected=lambda a: np.diag(a, 1))
    check_op("diag", [_u(3, 4)], {"k": -1}, expected=lambda a: np.diag(a, -1))
    check_op("diag", [_u(2, 3, 4)], {"k": 1, "axis1": 0, "axis2": 2},
             expected=lambda a: np.diagonal(a, 1, 0, 2))
    g = np.zeros((3, 3))
    g[0, 1], g[1, 2] = 5.0, 6.0
    check_op("_backward_diag", [np.array([5.0, 6.0]), _u(3, 3)], {"k": 1}, expected=g)


def test_depth_space_moments_khatri_rao():
    x = _u(2, 8, 2, 3)
    b = 2

    def d2s(v):
        n, c, h, w = v.shape
        t = v.reshape(n, b, b, c // 4, h, w).transpose(0, 3, 4, 1, 5, 2)
        return t.reshape(n, c // 4, h * b, w * b)

    check_op("depth_to_space", [x], {"block_size": 2}, expected=d2s)
    check_op("space_to_depth", [d2s(x)], {"block_size": 2}, expected=x)
    check_op("moments", [_u(2, 3, 4)], {"axes": (0, 2)},
             expected=lambda a: [a.mean((0, 2)), a.var((0, 2))])
    check_op("moments", [_u(2, 3)], {"keepdims": True},
             expected=lambda a: [a.mean(keepdims=True), a.var(keepdims=True)])
    d = _u(2, 3)
    check_op("_backward_moments", [np.ones(3), np.zeros(3), d, d.mean(0)], {"axes": (0,)},
             expected=np.full((2, 3), 0.5))
    a1, a2 = _u(2, 3), _u(4, 3)
    kr = np.stack([np.kron(a1[:, j], a2[:, j]) for j in range(3)], axis=1)
    check_op("khatri_rao", [a1, a2], expected=kr)
    g = _u(8, 3)
    check_op("_backward_khatri_rao", [g, a1, a2], {"num_args": 3, "index": 1},
             expected=np.einsum("ijc,ic->jc", g.reshape(2, 4, 3), a1))


def test_gather_scatter_ravel_batch_take():
    data = _u(3, 3, 2)
    idx = np.array([[0, 2, -1], [1, 0, 2]], np.int32)
    check_op("gather_nd", [data, idx], expected=lambda d, i: d[i[0], i[1]])
    check_op("scatter_nd", [_u(3, 2), np.array([[0, 1, 2], [2, 0, 1]], np.int32)],
             {"shape": (3, 3, 2)})
    g = np.ones((2, 2))
    exp = np.zeros((3, 2))
    exp[1] = 2.0  # repeated indices add up
    check_op("_backward_gather_nd", [g, np.array([[1, 1]], np.int32), np.zeros((3, 2))],
             expected=exp)
    check_op("_ravel_multi_index", [np.array([[1., 0., 2.], [3., 1., 0.]])], {"shape": (3, 4)},
             expected=np.array([7., 1., 8.]))
    check_op("_unravel_index", [np.array([0., 5., 11.])], {"shape": (3, 4)},
             expected=np.array([[0., 1., 2.], [0., 1., 3.]]))
    a = _u(4, 3)
    ind = np.array([0, 2, 1, 5], np.int32)  # 5 is clipped to 2
    check_op("batch_take", [a, ind], expected=a[np.arange(4), np.clip(ind, 0, 2)])
    exp = np.zeros((4, 3))
    exp[np.arange(4), np.clip(ind, 0, 2)] = 1.0
    check_op("_backward_batch_take", [np.ones(4), a, ind], expected=exp)


def test_l2norm_softmax_activation_finiteness():
    x = _u(2, 3, 2, 2)
    for mode, axes in (("instance", (1, 2, 3)), ("channel", (1,)), ("spatial", (2, 3))):
        check_op("L2Normalization", [x], {"mode": mode, "eps": 1e-10},
                 expected=lambda v, ax=axes: v / np.sqrt((v * v).sum(ax, keepdims=True) + 1e-10))
    y = x / np.sqrt((x * x).sum((1, 2, 3), keepdims=True) + 1e-10)
    check_op("_backward_L2Normalization", [np.zeros_like(x), x, y], {"mode": "instance"},
             expected=np.zeros_like(x))

    def sm(v, ax):
        e = np.exp(v - v.max(ax, keepdims=True))
        return e / e.sum(ax, keepdims=True)

    check_op("SoftmaxActivation", [_u(2, 3, 4)], expected=lambda v: sm(v, -1))
    check_op("SoftmaxActivation", [_u(2, 3, 4)], {"mode": "channel"},
             expected=lambda v: sm(v, 1))
    s = sm(_u(2, 3), -1)
    check_op("_backward_SoftmaxActivation", [np.ones((2, 3)), s], expected=np.zeros((2, 3)),
             atol=1e-12)
    bad = _u(2, 2)
    bad[0, 1] = np.nan
    check_op("all_finite", [_u(2, 2)], expected=np.array([1.0], np.float32), grad=False,
             check_float32=False)
    check_op("all_finite", [bad], expected=np.array([0.0], np.float32), grad=False,
             check_float32=False)
    check_op("multi_all_finite", [_u(2), bad], {"num_arrays": 2},
             expected=np.array([0.0], np.float32), check_float32=False)
    a, b = _u(2, 3), _u(4)
    check_op("multi_sum_sq", [a, b], {"num_arrays": 2},
             expected=np.array([(a * a).sum(), (b * b).sum()], np.float32), rtol=1e-6,
             check_float32=False)


def test_split_v2():
    x = _u(2, 6)
    check_op("_split_v2", [x], {"indices": (0, 1, 4), "axis": 1},
             expected=lambda v: [v[:, :1], v[:, 1:4], v[:, 4:]])
    check_op("_split_v2", [x], {"sections": 2, "axis": 0, "squeeze_axis": True},
             expected=lambda v: [v[0], v[1]])
    # the MXNet wrappers: tuple of split points (zero-size pieces allowed) or a count
    parts = nd.split_v2(nd.array(x), (0, 2), axis=1)
    assert [p.shape for p in parts] == [(2, 0), (2, 2), (2, 4)]
    assert [p.shape for p in nd.split_v2(nd.array(x), 3, axis=1)] == [(2, 2)] * 3
    s = mx.sym.split_v2(mx.sym.var("a"), (1, 4))
    assert s.infer_shape(a=(6, 2))[1] == [(1, 2), (3, 2), (2, 2)]
    with pytest.raises(MXNetError, match="equal sections"):
        nd.split_v2(nd.array(x), 4, axis=1)
    with pytest.raises(ValueError, match="int or a tuple"):
        nd.split_v2(nd.array(x), [1, 2])


def test_sym_eye_linspace():
    assert mx.sym.eye(3, 4, k=1).bind(mx.cpu(), {}).forward()[0].asnumpy().tolist() == \
        np.eye(3, 4, 1).tolist()
    np.testing.assert_allclose(mx.sym.linspace(0, 1, 5).bind(mx.cpu(), {}).forward()[0]
                               .asnumpy(), np.linspace(0, 1, 5))


def test_symbolic_path():
    a, i = mx.sym.var("a"), mx.sym.var("i")
    s = mx.sym.gather_nd(a, i) * 3
    d = _u(3, 2)
    idx = np.array([[2, 0]], np.float32)
    exe = s.simple_bind(mx.cpu(), a=(3, 2), i=(1, 2), type_dict={"i": np.int32})
    exe.arg_dict["a"][:] = d
    exe.arg_dict["i"][:] = idx
    exe.forward(is_train=True)
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), 3 * d[[2, 0]], rtol=1e-6)
    exe.backward(nd.ones((2, 2)))
    exp = np.zeros((3, 2))
    exp[[2, 0]] = 3
    np.testing.assert_allclose(exe.grad_dict["a"].asnumpy(), exp)
    mx.test_utils.check_numeric_gradient(mx.sym.depth_to_space(a, block_size=2),
                                         [_u(1, 4, 2, 2)], dtype=np.float64)
    mx.test_utils.check_numeric_gradient(mx.sym.moments(a, axes=(1,))[1], [_u(2, 3)],
                                         dtype=np.float64)


@pytest.mark.parametrize("call, msg", [
    (lambda: nd.depth_to_space(nd.ones((1, 3, 2, 2)), block_size=2), "multiple of"),
    (lambda: nd.space_to_depth(nd.ones((1, 1, 3, 2)), block_size=2), "multiples"),
    (lambda: nd.cumsum(nd.ones((2, 2)), axis=2), "out of range"),
    (lambda: nd.diag(nd.ones((2, 2)), axis1=0, axis2=0), "two different axes"),
    (lambda: nd.khatri_rao(nd.ones((2, 3)), nd.ones((2, 4))), "same number of columns"),
    (lambda: nd.gather_nd(nd.ones((2, 2)), nd.ones((3, 1), dtype="int32")), "at most"),
    (lambda: nd.multi_sum_sq(nd.ones(2), num_arrays=2), "num_arrays=2"),
    (lambda: nd.ravel_multi_index(nd.ones((3, 2)), shape=(2, 2)), "len\\(shape\\), N"),
    (lambda: nd.moments(nd.ones((2, 2)), axes=(3,)), "out of range"),
])
def test_errors(call, msg):
    with pytest.raises(MXNetError, match=msg):
        call()


_PDF = {
    "normal": ([_u(2), _u(2, lo=0.5, hi=2.0)], _u(2, 3, lo=-2, hi=2),
               lambda x, m, s: np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))),
    "uniform": ([np.array([-1.0, 0.0]), np.array([1.0, 2.5])], _u(2, 3),
                lambda x, lo, hi: 1 / (hi - lo) + 0 * x),
    "exponential": ([_u(2, lo=0.5, hi=2.0)], _u(2, 3, lo=0.2, hi=3),
                    lambda x, lam: lam * np.exp(-lam * x)),
    "gamma": ([_u(2, lo=1.0, hi=3.0), _u(2, lo=0.5, hi=2.0)], _u(2, 3, lo=0.2, hi=3), None),
    "poisson": ([_u(2, lo=0.5, hi=3.0)], np.array([[0.0, 1, 3], [2, 5, 1]]), None),
    "negative_binomial": ([_u(2, lo=1.0, hi=4.0), _u(2, lo=0.2, hi=0.8)],
                          np.array([[0.0, 1, 3], [2, 5, 1]]), None),
    "generalized_negative_binomial": ([_u(2, lo=0.5, hi=3.0), _u(2, lo=0.2, hi=1.5)],
                                      np.array([[0.0, 1, 3], [2, 5, 1]]), None),
}


@pytest.mark.parametrize("dist", sorted(_PDF))
def test_random_pdf(dist):
    params, sample, ref = _PDF[dist]
    exp = None if ref is None else (
        lambda x, *p: ref(x, *[q[:, None] for q in p]))
    discrete = dist in ("poisson", "negative_binomial", "generalized_negative_binomial")
    grad_inputs = list(range(1, 1 + len(params))) if discrete else None
    for is_log in (False, True):
        e = None if exp is None else (
            (lambda *a: np.log(exp(*a))) if is_log else exp)
        check_op(f"_random_pdf_{dist}", [sample] + params, {"is_log": is_log}, expected=e,
                 grad_inputs=grad_inputs, f32_rtol=1e-3, f32_atol=1e-5)
    # the backward operator on its own: what autograd gives through it
    arrs = [nd.array(x, dtype="float64") for x in [sample] + params]
    for a in arrs:
        a.attach_grad()
    with autograd.record():
        y = getattr(nd, f"random_pdf_{dist}")(*arrs)
    head = _u(*sample.shape)
    y.backward(nd.array(head, dtype="float64"))
    check_op(f"_backward_random_pdf_{dist}", [head, sample] + params,
             expected=[a.grad.asnumpy() for a in arrs], check_float32=False)
    with pytest.raises(MXNetError, match="must start"):
        getattr(nd, f"random_pdf_{dist}")(nd.ones((3, 2)), *[nd.ones(2)] * len(params))
