"""Operators whose number of outputs depends on their attributes return a 1-tuple for one
output (``split(num_outputs=1)``, ``concat`` of one array's gradient): hybridized code takes
it as the single value, as imperative calls do (gluoncv's Mask R-CNN head splits into one
piece)."""
import numpy as np
import pytest

from gluonlite import autograd, gluon, nd

CASES = {
    "split": lambda F, x: F.split(x, num_outputs=1, axis=1) * 2,
    "split_squeeze": lambda F, x: F.split(F.slice_axis(x, axis=1, begin=0, end=1),
                                          num_outputs=1, axis=1, squeeze_axis=True) * 2,
    "concat_one": lambda F, x: F.concat(x, dim=1) * 2,
    "split_v2": lambda F, x: F.split_v2(x, 1, axis=1) * 2,
}


class _Net(gluon.HybridBlock):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def hybrid_forward(self, F, x):
        return self.fn(F, x)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hybridized_equals_imperative(name):
    x0 = nd.array(np.random.RandomState(0).rand(2, 3, 4))
    res = []
    for hyb in (False, True):
        net = _Net(CASES[name])
        if hyb:
            net.hybridize()
        x = x0.copy()
        x.attach_grad()
        with autograd.record():
            y = net(x)
        y.backward()
        res.append((y.asnumpy(), x.grad.asnumpy()))
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)
