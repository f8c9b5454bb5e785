"""Threads calling one hybridized block at once (issue 16, defect 6).

``static_alloc`` programs keep their buffers across calls; two overlapping calls must not
share them (MXNet gives every concurrent call its own CachedOp state). The first calls of a
fresh block — deferred initialisation, trace, compile — must be safe from several threads
too. Every output is compared exactly with the single-thread result.
"""
import sys
import threading

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.compiler.program import StaticFunction
from gluonlite.gluon import nn


@pytest.fixture
def fast_switching():
    """Switch threads often so that overlapping calls actually interleave."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def _mlp(static, in_units=0):
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(128, activation="relu", in_units=in_units),
                nn.Dense(128, activation="tanh"), nn.Dense(10))
    net.initialize(mx.init.Xavier())
    net.hybridize(static_alloc=static)
    return net


def _run_threads(n, work):
    """Run ``work(t)`` in ``n`` threads started together; re-raise the first error."""
    errors = []
    barrier = threading.Barrier(n)

    def run(t):
        try:
            barrier.wait()
            work(t)
        except BaseException as e:  # noqa: BLE001 - reported to the test below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]


@pytest.mark.parametrize("static", [True, False])
def test_concurrent_inference_matches_single_thread(static, fast_switching):
    net = _mlp(static)
    rs = np.random.RandomState(0)
    xs = [nd.array(rs.randn(32, 64).astype("float32")) for _ in range(4)]
    ref = [net(x).asnumpy() for x in xs]
    wrong = []

    def work(t):
        for k in range(50):
            i = (t + k) % len(xs)
            out = net(xs[i]).asnumpy()
            if not np.array_equal(out, ref[i]):
                wrong.append((t, k))

    _run_threads(4, work)
    assert not wrong, f"{len(wrong)} of 200 concurrent calls gave wrong outputs"


def test_concurrent_training_gradients_match(fast_switching):
    """Forward and backward of static programs from several threads: each thread's input
    gradient equals the single-thread one (parameter gradients are shared, so off)."""
    net = _mlp(True)
    net(nd.zeros((1, 64)))
    net.collect_params().setattr("grad_req", "null")
    rs = np.random.RandomState(1)
    xs = [rs.randn(16, 64).astype("float32") for _ in range(3)]

    def grad_of(i):
        x = nd.array(xs[i])
        x.attach_grad()
        with autograd.record():
            y = (net(x) ** 2).sum()
        y.backward()
        return y.asnumpy(), x.grad.asnumpy()

    ref = [grad_of(i) for i in range(len(xs))]
    wrong = []

    def work(t):
        for k in range(25):
            i = (t + k) % len(xs)
            y, g = grad_of(i)
            if not (np.array_equal(y, ref[i][0]) and np.array_equal(g, ref[i][1])):
                wrong.append((t, k))

    _run_threads(3, work)
    assert not wrong, f"{len(wrong)} of 75 concurrent training steps were wrong"


@pytest.mark.parametrize("hybridize", [True, False])
def test_concurrent_first_call_with_deferred_init(hybridize, fast_switching):
    """Fresh nets whose parameter shapes come from the first input, called first by four
    threads at once: no 'has not been initialized' error, one trace, equal outputs."""
    x = nd.array(np.random.RandomState(2).randn(3, 5).astype("float32"))
    for trial in range(8):
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Dense(16, activation="relu"), nn.Dense(4))
        net.initialize()
        if hybridize:
            net.hybridize(static_alloc=True)
        outs = [None] * 4

        def work(t):
            outs[t] = net(x).asnumpy()

        _run_threads(4, work)
        expect = net(x).asnumpy()
        for o in outs:
            np.testing.assert_array_equal(o, expect)
        if hybridize:
            assert len(net._cached_op.programs) == 1


def test_concurrent_new_shapes_compile_once(fast_switching):
    """Threads meeting new input shapes at once: each signature compiles once (under the
    block's lock, its inference function built once), every output right."""
    net = _mlp(True, in_units=64)
    net(nd.ones((2, 64)))
    params = [p.data().asnumpy() for p in net.collect_params().values()]

    def expected(x):
        w1, b1, w2, b2, w3, b3 = params
        h = np.tanh(np.maximum(x @ w1.T + b1, 0) @ w2.T + b2)
        return h @ w3.T + b3

    rs = np.random.RandomState(4)
    xs = [rs.randn(b, 64).astype("float32") for b in (24, 40, 48, 56)]
    outs = {}

    def work(t):
        for k in range(len(xs)):
            i = (t + k) % len(xs)
            outs[t, i] = net(nd.array(xs[i])).asnumpy()

    _run_threads(4, work)
    for (t, i), o in outs.items():
        np.testing.assert_allclose(o, expected(xs[i]), rtol=1e-4, atol=1e-5)
    assert net._cached_op.programs.compiles == 1 + len(xs)


def test_static_function_copies_have_their_own_buffers():
    net = _mlp(True)
    x = nd.ones((32, 64))  # large enough for GEMMs/kernels with planned buffers
    net(x)
    prog = next(iter(net._cached_op.programs.values()))
    fn = prog.infer
    assert isinstance(fn, StaticFunction)
    assert fn.copies == 1  # one thread: one set of buffers, reused
    for _ in range(3):
        net(x)
    assert fn.copies == 1
    clone = fn._copy()
    n = len(fn.__plan__.buffers)
    assert n > 0
    for b in range(n):
        mine, theirs = fn.fn.__globals__[f"B{b}"], clone.__globals__[f"B{b}"]
        assert mine is not theirs and mine.shape == theirs.shape and mine.dtype == theirs.dtype
    raw = [x._data if kind == "data" else p.data()._data for kind, p in net._cached_op.inputs]
    np.testing.assert_array_equal(clone(prog.rt, *raw)[0], fn(prog.rt, *raw)[0])


@pytest.mark.slow
def test_soak_many_threads_static_alloc(fast_switching):
    """8 threads x 1000 calls, inference and training mixed, on one static_alloc net."""
    net = _mlp(True)
    rs = np.random.RandomState(3)
    xs = [nd.array(rs.randn(int(b), 64).astype("float32")) for b in (8, 32, 64, 32)]
    ref = [net(x).asnumpy() for x in xs]
    net.collect_params().setattr("grad_req", "null")
    wrong = []

    def work(t):
        for k in range(1000):
            i = (t * 7 + k) % len(xs)
            if k % 5 == 0:
                x = xs[i].copy()
                x.attach_grad()
                with autograd.record():
                    y = net(x)
                y.backward()
                out = y.asnumpy()
            else:
                out = net(xs[i]).asnumpy()
            if not np.array_equal(out, ref[i]):
                wrong.append((t, k))

    _run_threads(8, work)
    assert not wrong, f"{len(wrong)} of 8000 concurrent calls gave wrong outputs"
