"""Shared helpers of the kernel tests: run an operator's kernel and its reference forward
on the same inputs and compare."""
import numpy as np

import gluonlite as mx
from gluonlite.ops import get_op

TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-11, atol=1e-11)}


def runtime(train=True):
    return mx.cpu()._runtime(train)


def copies(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def compare(kernel_fn, opname, args, attrs, dtype, train=True, tol=None):
    """Run ``kernel_fn`` (which must not decline) and the reference forward of ``opname``
    on copies of ``args``; assert the outputs agree; return both results and the inputs
    each saw (so that in-place effects can be compared too)."""
    op = get_op(opname)
    a = op.parse_attrs(attrs)
    rt = runtime(train)
    ka, ra = copies(args), copies(args)
    got = kernel_fn(rt, *ka, **a)
    assert got is not NotImplemented, f"{kernel_fn.__name__} declined {attrs}"
    want = op.ref_fwd(rt, *ra, **a)
    if not isinstance(got, tuple):
        got, want = (got,), (want,)
    assert len(got) == len(want)
    t = tol or TOL[dtype]
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, **t)
    return got, want, ka, ra
