"""The bounded cache of compiled programs (issue 16, defect 8).

A hybridized block compiles one program per input signature; it keeps at most
``program_cache_size`` of them (``hybridize`` keyword, else ``$GLUONLITE_PROGRAM_CACHE_SIZE``,
else 32), evicting the least recently used. The bound Executor uses the same cache.
"""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.gluon import nn
from gluonlite.lru import DEFAULT_SIZE, ENV_VAR, ProgramCache, program_cache_size


def _net(hybrid=True, **flags):
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(16, activation="relu", in_units=6), nn.Dense(3, in_units=16))
    net.initialize(mx.init.Xavier())
    if hybrid:
        net.hybridize(**flags)
    return net


def _expected(net, x):
    """The net's output computed with NumPy from its weights."""
    w1, b1, w2, b2 = [p.data().asnumpy() for p in net.collect_params().values()]
    return np.maximum(x.asnumpy() @ w1.T + b1, 0) @ w2.T + b2


@pytest.mark.parametrize("static", [False, True])
def test_lru_bound_hits_and_evictions(static):
    net = _net(static_alloc=static, program_cache_size=4)
    rs = np.random.RandomState(0)
    xs = {b: nd.array(rs.randn(b, 6).astype("float32")) for b in range(1, 11)}
    expect = {b: _expected(net, x) for b, x in xs.items()}
    for b in range(1, 11):
        np.testing.assert_allclose(net(xs[b]).asnumpy(), expect[b], rtol=1e-5, atol=1e-6)
        progs = net._cached_op.programs
        assert len(progs) <= 4
    assert progs.maxsize == 4 and progs.compiles == 10 and progs.evictions == 6
    # the last four sizes are cached: no compile
    for b in (7, 10, 8, 9, 10):
        np.testing.assert_allclose(net(xs[b]).asnumpy(), expect[b], rtol=1e-5, atol=1e-6)
    assert progs.compiles == 10
    # size 7 was used least recently of the four: a new size evicts it...
    net(xs[1])
    assert progs.compiles == 11 and len(progs) == 4
    net(xs[10])
    assert progs.compiles == 11
    # ...and it compiles again, with correct outputs, when it comes back
    np.testing.assert_allclose(net(xs[7]).asnumpy(), expect[7], rtol=1e-5, atol=1e-6)
    assert progs.compiles == 12 and len(progs) == 4


def test_training_signatures_share_the_bound():
    net = _net(program_cache_size=2)
    loss = mx.gluon.loss.L2Loss()
    for b in (2, 3, 4):
        x, y = nd.ones((b, 6)), nd.zeros((b, 3))
        with autograd.record():
            out = loss(net(x), y)
        out.backward()  # the program may be evicted later; the tape keeps its own
        assert len(net._cached_op.programs) <= 2
        assert np.isfinite(net[0].weight.grad().asnumpy()).all()


def test_env_var_sets_the_default(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "3")
    net = _net()
    for b in range(1, 7):
        net(nd.ones((b, 6)))
    assert net._cached_op.programs.maxsize == 3 and len(net._cached_op.programs) == 3
    # the keyword wins over the environment
    net.hybridize(program_cache_size=5)
    net(nd.ones((1, 6)))
    assert net._cached_op.programs.maxsize == 5


def test_default_size(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert program_cache_size() == DEFAULT_SIZE == 32
    net = _net()
    net(nd.ones((1, 6)))
    assert net._cached_op.programs.maxsize == 32


@pytest.mark.parametrize("bad", [0, -1, "4", 2.5, True])
def test_bad_keyword_is_rejected_early(bad):
    net = _net(False)
    with pytest.raises(MXNetError, match="program_cache_size"):
        net.hybridize(program_cache_size=bad)
    assert not net._active  # nothing changed


@pytest.mark.parametrize("bad", ["0", "many", "-2", "1.5"])
def test_bad_env_var_names_it(monkeypatch, bad):
    monkeypatch.setenv(ENV_VAR, bad)
    net = _net()
    with pytest.raises(MXNetError, match=ENV_VAR):
        net(nd.ones((1, 6)))


def test_executor_uses_the_bounded_cache(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "2")
    x = mx.sym.var("x")
    y = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
    ex = y.simple_bind(mx.cpu(), x=(4, 5))
    assert isinstance(ex._programs, ProgramCache) and ex._programs.maxsize == 2
    ex.forward(is_train=False)
    ex.forward(is_train=True)
    ex.backward(nd.ones((4, 3)))
    ex.forward(is_train=False)
    assert ex._programs.compiles == 2 and len(ex._programs) == 2


def test_program_cache_lru_order():
    c = ProgramCache(2)
    c.insert("a", 1)
    c.insert("b", 2)
    assert c.lookup("a") == 1          # a is now the most recently used
    c.insert("c", 3)                   # evicts b
    assert list(c) == ["a", "c"] and c.lookup("b") is None
    assert c.evictions == 1 and c.compiles == 3


@pytest.mark.slow
def test_soak_80_batch_sizes_memory_bounded():
    """80 batch sizes through a static_alloc net whose programs hold 5-16 MB of buffers
    each (~800 MB in all): with a bound of 4 the memory held stays bounded, and an evicted
    program is freed at once (no reference cycle waits for the garbage collector).
    Memory is counted with tracemalloc (NumPy reports its buffers to it): RSS would hide a
    leak behind memory the allocator recycles. A first pass over the sizes on another net
    compiles the fused kernels once (they serve every batch size) and warms NumPy's caches."""
    sizes = range(8 * 41, 8 * 121, 8)

    def make():
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Dense(4096, activation="relu", in_units=64), nn.Dense(8, in_units=4096))
        net.initialize(mx.init.Xavier())
        net.hybridize(static_alloc=True, program_cache_size=4)
        return net

    warm = make()
    for b in sizes:
        warm(nd.ones((b, 64)))
    del warm
    net = make()
    net(nd.ones((8, 64)))
    w1, b1, w2, b2 = [p.data().asnumpy() for p in net.collect_params().values()]
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        buffers, seen = 0.0, []
        for b in sizes:
            x = nd.array(np.random.RandomState(b).rand(b, 64).astype("float32"))
            out = net(x).asnumpy()
            np.testing.assert_allclose(out, np.maximum(x.asnumpy() @ w1.T + b1, 0) @ w2.T + b2,
                                       rtol=1e-4, atol=1e-4)
            progs = net._cached_op.programs
            assert len(progs) <= 4
            prog = next(reversed(progs.values()))  # the one just used
            seen.append(weakref.ref(prog))
            buffers += sum(np.prod(s) * np.dtype(d).itemsize
                           for s, d in prog.infer.__plan__.buffers) / 2 ** 20
            del prog
            assert sum(r() is not None for r in seen) <= 4
        growth = (tracemalloc.get_traced_memory()[0] - before) / 2 ** 20
    finally:
        tracemalloc.stop()
        gc.enable()
    print(f"traced memory +{growth:.0f} MB over 80 sizes; their programs' buffers: "
          f"{buffers:.0f} MB")
    assert buffers > 500
    assert growth < 0.1 * buffers, (growth, buffers)
