"""``nn.Lambda`` / ``nn.HybridLambda`` corner cases, as MXNet 1.9.1 behaves: operator
names (also dotted, e.g. ``'contrib.BilinearResize2D'``), functions of several inputs,
tuple outputs, hybridized and exported, and clear errors for bad arguments."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.gluon import nn

X = nd.array(np.arange(6, dtype=np.float32).reshape(2, 3) - 2)
Y = nd.ones((2, 3))


@pytest.mark.parametrize("hybrid", [False, True])
def test_names_and_functions(hybrid):
    def run(block, *args):
        if hybrid:
            block.hybridize()
        return block(*args)

    np.testing.assert_allclose(run(nn.HybridLambda("tanh"), X).asnumpy(), np.tanh(X.asnumpy()),
                               rtol=1e-6)
    np.testing.assert_array_equal(run(nn.HybridLambda("broadcast_add"), X, Y).asnumpy(),
                                  X.asnumpy() + 1)
    two = run(nn.HybridLambda(lambda F, a, b: F.broadcast_mul(a, b) - 1), X, Y)
    np.testing.assert_array_equal(two.asnumpy(), X.asnumpy() - 1)
    outs = run(nn.HybridLambda(lambda F, a: (F.relu(a), a * 2)), X)
    assert len(outs) == 2
    np.testing.assert_array_equal(outs[0].asnumpy(), np.maximum(X.asnumpy(), 0))
    np.testing.assert_array_equal(outs[1].asnumpy(), X.asnumpy() * 2)
    img = nd.array(np.random.RandomState(0).rand(1, 1, 3, 3).astype(np.float32))
    up = run(nn.HybridLambda("contrib.BilinearResize2D"), img)
    assert up.shape == (1, 1, 1, 1)  # MXNet's defaults: height=width=1


def test_lambda_names_and_tuples():
    np.testing.assert_allclose(nn.Lambda("tanh")(X).asnumpy(), np.tanh(X.asnumpy()), rtol=1e-6)
    a, b = nn.Lambda(lambda v: (v, v + 1))(X)
    np.testing.assert_array_equal(b.asnumpy() - a.asnumpy(), 1)
    assert repr(nn.HybridLambda("tanh")) == "HybridLambda(tanh)"
    assert repr(nn.Lambda(lambda v: v)) == "Lambda(<lambda>)"


@pytest.mark.parametrize("cls,where", [(nn.HybridLambda, "symbol/ndarray"),
                                       (nn.Lambda, "ndarray")])
def test_bad_arguments(cls, where):
    for name in ("no_such_function", "contrib.nope", "", "_internal._plus"):
        with pytest.raises(ValueError, match=f"Function name .* is not found in {where}"):
            cls(name)
    for bad in (42, None, ["tanh"]):
        with pytest.raises(ValueError, match="Unrecognized function in lambda"):
            cls(bad)


def test_hybrid_lambda_needs_the_name_in_both_namespaces():
    with pytest.raises(ValueError, match="waitall is not found in symbol/ndarray"):
        nn.HybridLambda("waitall")       # nd only
    with pytest.raises(ValueError, match="Variable is not found in symbol/ndarray"):
        nn.HybridLambda("Variable")      # sym only
    nn.Lambda("waitall")                 # Lambda never hybridizes: nd is enough


def test_hybridized_bad_outputs_are_clear():
    b = nn.HybridLambda(lambda F, a: 1.0)
    b.hybridize()
    with pytest.raises(ValueError, match="must be .*Symbol or NDArray, got 1.0"):
        b(X)


def test_export_round_trip(tmp_path):
    b = nn.HybridLambda(lambda F, a: (F.relu(a), F.contrib.BilinearResize2D(
        F.reshape(a, (1, 1, 2, 3)), height=4, width=5)))
    b.hybridize()
    ref = [o.asnumpy() for o in b(X)]
    b.export(str(tmp_path / "lam"))
    sb = mx.gluon.SymbolBlock.imports(str(tmp_path / "lam-symbol.json"), ["data"])
    got = [o.asnumpy() for o in sb(X)]
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-6)
