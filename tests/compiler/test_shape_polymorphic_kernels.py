"""Generated CPU kernels are shape-polymorphic (issue 16, defect 8): the Numba source names
no size, so kernels differing only in sizes share one compiled function, a new batch size
compiles no kernel, and every size still computes what the unfused path computes."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.compiler.fusion import FusedKernel, set_min_size
from gluonlite.compiler.render import numba_cpu
from gluonlite.compiler.render.layout import collapse
from gluonlite.compiler.scalar import E, Expr

X, Y = Expr("in", value=0), Expr("in", value=1)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    """Tiny graphs fuse; kernels compiled in this process before this test are forgotten
    (they come back from the disk cache: compiled or loaded, each counts), so every count
    below starts at zero."""
    old = set_min_size(1)
    monkeypatch.setattr(numba_cpu, "_compiled", {})
    monkeypatch.setattr(numba_cpu, "_stats", {"compiled": 0, "loaded": 0, "seconds": 0.0})
    yield
    set_min_size(old)


def _bias_relu(n, c=4, hw=(5, 5)):
    h = E.max(X + Y, 0.0)
    return FusedKernel((n, c) + hw, "float32", [(n, c) + hw, (c, 1, 1)], [h],
                       [(h, (0, 2, 3), False, (c,))])


# --- the source -----------------------------------------------------------------------------
def test_source_names_no_size():
    # every size differs (batch, channels, spatial): one source, one digest
    a, b = numba_cpu.source(_bias_relu(8), "k"), numba_cpu.source(_bias_relu(37, 9, (3, 11)), "k")
    assert a == b
    for size in ("8", "25", "37", "33"):
        assert f"({size}" not in a and f" {size})" not in a and f"range({size})" not in a
    assert "n0 = o0.shape[0]" in a and "n2 = o0.shape[2] * o0.shape[3]" in a


def test_source_still_tells_structures_apart():
    base = numba_cpu.source(_bias_relu(8), "k")
    h = E.max(X + Y, 0.0)
    others = [
        # the bias along another axis
        FusedKernel((8, 4, 5, 5), "float32", [(8, 4, 5, 5), (8, 1, 1, 1)], [h],
                    [(h, (0, 2, 3), False, (4,))]),
        # a mean instead of a sum
        FusedKernel((8, 4, 5, 5), "float32", [(8, 4, 5, 5), (4, 1, 1)], [h],
                    [(h, (0, 2, 3), True, (4,))]),
        # another rank
        FusedKernel((8, 4, 5), "float32", [(8, 4, 5), (4, 1)], [h], [(h, (0, 2), False, (4,))]),
        # a size-1 axis leaves the nest (a batch of 1 is a kernel of its own)
        _bias_relu(1),
    ]
    for k in others:
        assert numba_cpu.source(k, "k") != base, k
    assert collapse(_bias_relu(1)).groups == [(1,), (2, 3)]
    assert collapse(_bias_relu(8)).groups == [(0,), (1,), (2, 3)]


def _check(k, outs, ins, want):
    ck = numba_cpu.compile_kernel(k)
    ck(*outs, *ins)
    for o, w in zip(outs, want):
        np.testing.assert_allclose(o, w, rtol=1e-5, atol=1e-6)
    return ck


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_compiled_kernel_serves_every_size(dtype):
    rng = np.random.RandomState(0)
    h = E.max(X + Y, 0.0)
    for n, c, hw in [(8, 4, 5), (3, 4, 5), (17, 2, 9), (2, 7, 1 + 1)]:
        k = FusedKernel((n, c, hw, hw), dtype, [(n, c, hw, hw), (c, 1, 1)], [h],
                        [(h, (0, 2, 3), True, (c,)), (h, (1,), False, (n, 1, hw, hw))])
        x = rng.randn(n, c, hw, hw).astype(dtype)
        b = rng.randn(c, 1, 1).astype(dtype)
        want = np.maximum(x + b, 0)
        outs = [np.empty_like(x), np.empty(c, dtype), np.empty((n, 1, hw, hw), dtype)]
        _check(k, outs, [x, b], [want, want.mean(axis=(0, 2, 3)), want.sum(1, keepdims=True)])
    assert numba_cpu.stats()["compiled"] + numba_cpu.stats()["loaded"] == 1
    assert len(numba_cpu._compiled) == 1


def test_same_source_for_other_argument_ranks_is_compiled_apart():
    # a bias of shape (C, 1, 1) or (1, C, 1, 1) renders the same source; each gets a kernel
    # for its own argument types (one compiled for the other refused the call)
    for bshape in [(4, 1, 1), (1, 4, 1, 1), (4, 1, 1)]:
        k = FusedKernel((2, 4, 3, 3), "float32", [(2, 4, 3, 3), bshape], [X + Y], [])
        x, b = np.ones((2, 4, 3, 3), "float32"), np.arange(4.0, dtype="float32").reshape(bshape)
        _check(k, [np.empty_like(x)], [x, b], [x + b])
    assert len(numba_cpu._compiled) == 2


def test_large_sizes_still_split_in_chunks_over_the_workers():
    from gluonlite.kernels.workers import num_workers
    rng = np.random.RandomState(1)
    for n in (512, 700, 1025):
        k = FusedKernel((n, 300), "float32", [(n, 300), (300,)], [E.max(X, 0.0)],
                        [(X * 2.0, (0,), True, (300,))])
        a = rng.randn(n, 300).astype("float32")
        o, r = np.empty_like(a), np.empty(300, "float32")
        ck = _check(k, [o, r], [a, np.zeros(300, "float32")],
                    [np.maximum(a, 0), (a.astype(np.float64) * 2).mean(axis=0)])
        assert ck.n == 300 and (ck.step is not None) == (num_workers() > 1)
        # split on the rows of a plain elementwise kernel: the batch carries the split
        k2 = FusedKernel((n, 300), "float32", [(n, 300)], [E.exp(X)], [])
        o2 = np.empty_like(a)
        ck2 = _check(k2, [o2], [a], [np.exp(a)])
        assert ck2.n == n * 300 and (ck2.step is not None) == (num_workers() > 1)
    assert len(numba_cpu._compiled) == 2


def test_edge_structures():
    rng = np.random.RandomState(2)
    for n in (3, 6):
        # no argument is full along the reduced axis: its extent is written in (still right)
        x = rng.randn(n, 1).astype("float32")
        k = FusedKernel((n, 5), "float32", [(n, 1)], [], [(E.exp(X), (1,), True, (n,))])
        assert "n1 = 5" in numba_cpu.source(k, "k")
        _check(k, [np.empty(n, "float32")], [x], [np.exp(x[:, 0])])
        # both extents come from two half-broadcast inputs; a sum to one number
        y = rng.randn(1, 4).astype("float32")
        k = FusedKernel((n, 4), "float32", [(n, 1), (4,)], [], [(X * Y, (0, 1), False, (1,))])
        _check(k, [np.empty(1, "float32")], [x, y[0]], [np.array([(x * y).sum()])])
    # an all-ones shape
    k = FusedKernel((1, 1), "float32", [(1, 1)], [E.exp(X)], [(X, (0, 1), True, (1, 1))])
    x = np.full((1, 1), 0.5, "float32")
    _check(k, [np.empty((1, 1), "float32"), np.empty((1, 1), "float32")], [x], [np.exp(x), x])


def test_arrays_of_disagreeing_sizes_are_refused_not_overrun():
    # the sizes now come from the arguments: a range or an input that does not fit them is
    # an error, never a read or write out of bounds
    k = FusedKernel((6, 7), "float32", [(6, 7), (7,)], [X * Y], [])
    ck = numba_cpu.compile_kernel(k)
    o, a, b = np.empty((6, 7), "float32"), np.ones((6, 7), "float32"), np.ones(7, "float32")
    with pytest.raises(ValueError, match="out of range"):
        ck.fn(0, 43, o, a, b)
    with pytest.raises(Exception):
        ck.fn(0, 42, o, np.ones((5, 7), "float32"), b)
    with pytest.raises(Exception):
        ck.fn(0, 42, o, a, np.ones(8, "float32"))


# --- whole networks -------------------------------------------------------------------------
def _mlp():
    net = mx.gluon.nn.HybridSequential()
    nn = mx.gluon.nn
    # sizes given: parameters exist at initialize, so the two nets can share them
    net.add(nn.Dense(32, activation="relu", in_units=20),
            nn.Dense(32, activation="relu", in_units=32), nn.Dense(10, in_units=32))
    return net, (20,)


def _lenet():
    nn = mx.gluon.nn
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 3, activation="relu", in_channels=1), nn.MaxPool2D(2, 2),
            nn.Conv2D(6, 3, activation="relu", in_channels=4), nn.Flatten(),
            nn.Dense(16, activation="relu", in_units=24), nn.Dense(10, in_units=16))
    return net, (1, 10, 10)


def _setup(make, like=None):
    net, shape = make()
    net.initialize(mx.init.Xavier())
    if like is not None:
        for p, q in zip(net.collect_params().values(), like[0].collect_params().values()):
            p.set_data(q.data().copy())
    net.hybridize(static_alloc=True, static_shape=True)
    loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    loss.hybridize(static_alloc=True, static_shape=True)
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd",
                               {"learning_rate": 0.1, "momentum": 0.9})
    return net, loss, trainer, shape


def _step(parts, x, y, fuse, monkeypatch):
    """One training step and one inference call; the fusion setting is read when a
    program is compiled (the first call of each shape)."""
    net, loss, trainer, _ = parts
    if fuse:
        monkeypatch.delenv("GLUONLITE_FUSE", raising=False)
    else:
        monkeypatch.setenv("GLUONLITE_FUSE", "0")
    with autograd.record():
        l = loss(net(x), y)
    l.backward()
    trainer.step(x.shape[0])
    out = net(x).asnumpy()
    monkeypatch.delenv("GLUONLITE_FUSE", raising=False)
    return l.asnumpy(), out


@pytest.mark.parametrize("make", [_mlp, _lenet], ids=["mlp", "lenet"])
def test_new_batch_sizes_compile_no_kernel_and_match_the_unfused_path(make, monkeypatch):
    fused = _setup(make)
    plain = _setup(make, like=fused)
    loads = []
    real = numba_cpu._load
    monkeypatch.setattr(numba_cpu, "_load", lambda *a: loads.append(a[2]) or real(*a))
    kernels_built = []
    real_ck = numba_cpu.compile_kernel
    monkeypatch.setattr(numba_cpu, "compile_kernel",
                        lambda k: kernels_built.append(k.shape) or real_ck(k))
    rng = np.random.RandomState(4)
    per_size = []
    for n in (6, 9, 16, 23, 32, 41):
        x = nd.array(rng.rand(n, *fused[3]))
        y = nd.array(rng.randint(0, 10, n))
        before, built = len(loads), len(kernels_built)
        lf, of = _step(fused, x, y, True, monkeypatch)
        lp, op = _step(plain, x, y, False, monkeypatch)
        per_size.append((len(loads) - before, len(kernels_built) - built))
        np.testing.assert_allclose(lf, lp, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(of, op, rtol=1e-4, atol=1e-5)
        pf, pp = fused[0].collect_params(), plain[0].collect_params()
        for kf, kp in zip(sorted(pf), sorted(pp)):
            np.testing.assert_allclose(pf[kf].data().asnumpy(), pp[kp].data().asnumpy(),
                                       rtol=1e-4, atol=1e-5, err_msg=kf)
    # the first size compiles the kernels; every later size builds fused kernels for its
    # new programs, but each is one already compiled
    assert per_size[0][0] > 0, per_size
    assert all(built > 0 and compiled == 0 for compiled, built in per_size[1:]), per_size
    assert len(numba_cpu._compiled) == per_size[0][0]
