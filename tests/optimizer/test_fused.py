"""The compiled SGD/Adam update loops (optimizer/fused.py) against the NumPy rules."""
import numpy as np
import pytest

from gluonlite import kernels
from gluonlite.optimizer import fused, rules


@pytest.fixture
def reference():
    """Fast kernels on for the test (whatever GLUONLITE_JIT says: this tests them), and a
    context manager running the NumPy rule (kernels off) inside its block."""
    class _Ref:
        def __enter__(self):
            kernels.set_enabled(False)

        def __exit__(self, *exc):
            kernels.set_enabled(True)
    was = kernels.enabled()
    kernels.set_enabled(True)
    yield _Ref()
    kernels.set_enabled(was)


def _arrays(dtype, n=4, shape=(7, 33)):
    rng = np.random.RandomState(5)
    return [rng.randn(*shape).astype(dtype) for _ in range(n)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("momentum, wd, clip", [(0.9, 0.01, None), (0.0, 0.0, None),
                                                (0.9, 0.01, 0.3), (0.0, 0.1, 0.05)])
def test_sgd_compiled_matches_numpy(reference, dtype, momentum, wd, clip):
    w, g, mom, _ = _arrays(dtype)
    w2, mom2 = w.copy(), mom.copy()
    use_mom = momentum > 0
    for _ in range(3):
        rules.sgd(np, w, g, mom if use_mom else None, 0.1, wd, 0.25, clip, momentum)
        with reference:
            rules.sgd(np, w2, g, mom2 if use_mom else None, 0.1, wd, 0.25, clip, momentum)
    tol = 1e-6 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(w, w2, rtol=tol, atol=tol)
    np.testing.assert_allclose(mom, mom2, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("wd, clip", [(0.0, None), (0.01, 0.2)])
def test_adam_compiled_matches_numpy(reference, dtype, wd, clip):
    w, g, mean, var = _arrays(dtype)
    mean[:] = 0
    var[:] = 0
    w2, mean2, var2 = w.copy(), mean.copy(), var.copy()
    for _ in range(3):
        rules.adam(np, w, g, mean, var, 0.01, wd, 0.25, clip, 0.9, 0.999, 1e-8)
        with reference:
            rules.adam(np, w2, g, mean2, var2, 0.01, wd, 0.25, clip, 0.9, 0.999, 1e-8)
    tol = 1e-6 if dtype == "float32" else 1e-14
    for a, b in ((w, w2), (mean, mean2), (var, var2)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_declines_what_it_cannot_run(reference):
    w, g, mom, var = _arrays("float32")
    assert fused.sgd(w, g, mom, 0.1, 0.0, 1.0, None, 0.9)
    # non-contiguous, mixed dtypes, float16, integer: the NumPy rule runs instead
    assert not fused.sgd(w[:, ::2], g[:, ::2], mom[:, ::2], 0.1, 0.0, 1.0, None, 0.9)
    assert not fused.sgd(w, g.astype(np.float64), mom, 0.1, 0.0, 1.0, None, 0.9)
    w16 = w.astype(np.float16)
    assert not fused.adam(w16, w16.copy(), w16.copy(), w16.copy(), 0.1, 0, 1, None, .9, .9, 1e-8)
    wi = np.ones((3,), np.int32)
    assert not fused.sgd(wi, wi.copy(), None, 0.1, 0.0, 1.0, None, 0.0)
    kernels.set_enabled(False)
    try:
        assert not fused.sgd(w, g, mom, 0.1, 0.0, 1.0, None, 0.9)
    finally:
        kernels.set_enabled(True)
    # the fallback gives the same numbers on a strided view
    a, b = w.copy(), w.copy()
    rules.sgd(np, a[:, ::2], g[:, ::2], None, 0.1, 0.01, 1.0, None, 0.0)
    fused.sgd(b[:, ::2].copy(), g[:, ::2].copy(), None, 0.1, 0.01, 1.0, None, 0.0)
    expect = w[:, ::2] - 0.1 * (g[:, ::2] + 0.01 * w[:, ::2])
    np.testing.assert_allclose(a[:, ::2], expect, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_decaying_states_are_flushed_to_zero_not_subnormal(reference, dtype):
    # a weight whose gradient stays 0 (a dead ReLU unit): its momentum decays geometrically;
    # it is stored as 0 once below the smallest normal float instead of going subnormal
    # (subnormal arithmetic made such updates many times slower)
    tiny = np.finfo(dtype).tiny
    w = np.ones(64, dtype)
    g = np.zeros(64, dtype)
    mom = np.full(64, 1e-3, dtype)
    mean, var = mom.copy(), mom.copy()
    w0 = w.copy()
    for _ in range(4000 if dtype == "float32" else 8000):
        rules.sgd(np, w, g, mom, 0.1, 0.0, 1.0, None, 0.9)
        rules.adam(np, w0, g, mean, var, 0.01, 0.0, 1.0, None, 0.9, 0.9, 1e-8)
    for s in (mom, mean, var):
        assert np.all((s == 0) | (np.abs(s) >= tiny))
        assert np.all(s == 0)
    # the weights moved exactly as the unflushed NumPy rule moves them
    w2, mom2 = np.ones(64, dtype), np.full(64, 1e-3, dtype)
    with reference:
        for _ in range(4000 if dtype == "float32" else 8000):
            rules.sgd(np, w2, g, mom2, 0.1, 0.0, 1.0, None, 0.9)
    np.testing.assert_array_equal(w, w2)
