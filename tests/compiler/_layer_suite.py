"""Run every layer fixture case imperatively and hybridized; save outputs and gradients.

Used by ``test_jit_equivalence.py`` in subprocesses with different ``GLUONLITE_JIT``
settings: ``python -m tests.compiler._layer_suite OUT.npz``.
"""
import sys

import numpy as np

import gluonlite as mx
from gluonlite import autograd, nd
from tests.gluon.nn.test_layer_fixtures import CASES, _arrays, build


def run(entry, data, hybrid):
    arr = _arrays(data, entry["name"])
    layer = build(entry["layer"])
    layer.initialize()
    if entry.get("dtype", "float32") != "float32":
        layer.cast(entry["dtype"])
    params = {k[len(layer.prefix):]: p for k, p in layer.collect_params().items()}
    for k, v in arr.items():
        if k.startswith("param/"):
            params[k[len("param/"):]].set_data(nd.array(v, dtype=v.dtype))
    if hybrid:
        if not isinstance(layer, mx.gluon.HybridBlock):
            return {}
        layer.hybridize()
    x = nd.array(arr["x"], dtype=arr["x"].dtype)
    x.attach_grad()
    mx.random.seed(1)
    with autograd.record(train_mode=entry["train_mode"]):
        y = layer(x)
    y.backward(nd.array(arr["head_grad"], dtype=arr["head_grad"].dtype))
    res = {"y": y.asnumpy(), "x_grad": x.grad.asnumpy()}
    for k, p in sorted(params.items()):
        res["data/" + k] = p.data().asnumpy()
        if p.grad_req != "null":
            res["grad/" + k] = p.grad().asnumpy()
    return res


def main(out):
    saved = {}
    for entry, data in CASES:
        for hybrid in (False, True):
            for k, v in run(entry, data, hybrid).items():
                saved[f"{entry['name']}|{'hybrid' if hybrid else 'imperative'}|{k}"] = v
    np.savez(out, **saved)


if __name__ == "__main__":
    main(sys.argv[1])
