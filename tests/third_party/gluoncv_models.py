"""Run through the drop-in (``python -m gluonlite.compat run``): gluoncv, unmodified, builds
classification models of its model zoo, runs them imperatively and hybridized, and trains
one a step. Usage: gluoncv_models.py MODEL:SHAPE ... (SHAPE like 1x3x32x32)."""
import importlib
import importlib.util
import sys
import traceback
import types

import numpy as np

import mxnet as mx
from mxnet import autograd, gluon


def _why_gluoncv_fails():
    """gluoncv turns every ImportError of its subpackages into "missing mxnet & torch":
    import them one by one to name the real cause."""
    spec = importlib.util.find_spec("gluoncv")
    pkg = types.ModuleType("gluoncv")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules["gluoncv"] = pkg
    for sub in ("data", "model_zoo", "nn", "utils", "loss"):
        try:
            importlib.import_module("gluoncv." + sub)
        except Exception as e:  # noqa: BLE001 - reported, then the script fails
            where = traceback.extract_tb(e.__traceback__)[-1]
            return (f"gluoncv.{sub}: {type(e).__name__}: {e} "
                    f"(at {where.filename}:{where.lineno})")
    return "unknown"


try:
    import gluoncv
    from gluoncv import model_zoo
except ImportError:
    sys.exit("importing gluoncv failed: " + _why_gluoncv_fails())

assert mx.__version__ == "1.9.1", mx.__version__
assert type(mx.nd.ones(1)).__module__.startswith("gluonlite"), "mxnet is not gluonlite"
assert gluoncv._found_mxnet, "gluoncv did not find mxnet"

for spec in sys.argv[1:]:
    name, shape = spec.split(":")
    shape = tuple(int(s) for s in shape.split("x"))
    mx.random.seed(0)
    net = model_zoo.get_model(name, classes=10, pretrained=False)
    net.initialize(mx.init.Xavier())
    x = mx.nd.random.uniform(shape=shape)
    y = net(x)
    assert y.shape == (shape[0], 10), (name, y.shape)
    net.hybridize()
    y2 = net(x)
    np.testing.assert_allclose(y.asnumpy(), y2.asnumpy(), rtol=1e-4, atol=1e-5)
    # one training step moves the output
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    label = mx.nd.array(np.arange(shape[0]) % 10)
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(x), label)
    loss.backward()
    trainer.step(shape[0])
    y3 = net(x)
    assert np.isfinite(y3.asnumpy()).all() and not np.allclose(y3.asnumpy(), y2.asnumpy())
    print("ok %s %s loss %f" % (name, y.shape, loss.mean().asnumpy()))
