"""Compile cost of generated kernels: a cold process and a second process on the same cache.

Hybridizes the MLP and LeNet training steps of ``bench/training.py`` (one step each, batch
256) in a fresh process with an empty kernel cache (``GLUONLITE_CACHE_DIR`` set to a new
temporary directory), then again in a second process on the same directory, and reports what
``gluonlite.compiler.render.numba_cpu.stats()`` and the Numba-compiled hot kernels cost:
kernels compiled, kernels loaded from the disk cache, seconds spent, and the wall time of the
first step.

    python bench/compile.py              # table
    python bench/compile.py --markdown   # the section bench/run.py writes
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_CHILD = r"""
import json, time
t0 = time.perf_counter()
import gluonlite as mx
from gluonlite import autograd, gluon, nd
from gluonlite.gluon import nn
from gluonlite.compiler.render import numba_cpu
t_import = time.perf_counter() - t0
out = {"import_s": t_import}
for name in ("mlp", "lenet"):
    net = nn.HybridSequential()
    if name == "mlp":
        net.add(nn.Dense(256, activation="relu"), nn.Dense(256, activation="relu"), nn.Dense(10))
        x = nd.random.uniform(shape=(256, 784))
    else:
        net.add(nn.Conv2D(20, 5, activation="relu"), nn.MaxPool2D(2, 2),
                nn.Conv2D(50, 3, activation="relu"), nn.MaxPool2D(2, 2),
                nn.Dense(128, activation="relu"), nn.Dense(10))
        x = nd.random.uniform(shape=(256, 1, 28, 28))
    net.initialize()
    net.hybridize(static_alloc=True, static_shape=True)
    tr = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    L = gluon.loss.SoftmaxCrossEntropyLoss()
    y = nd.array([i % 10 for i in range(256)])
    t = time.perf_counter()
    with autograd.record():
        loss = L(net(x), y)
    loss.backward()
    tr.step(256)
    loss.wait_to_read()
    out[name + "_first_step_s"] = time.perf_counter() - t
out.update(numba_cpu.stats())
print(json.dumps(out))
"""


def run_once(cache):
    env = dict(os.environ, GLUONLITE_CACHE_DIR=cache)
    r = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise SystemExit(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        cold = run_once(cache)
        warm = run_once(cache)
    rows = [("fused kernels compiled", "compiled", "{:d}"),
            ("fused kernels loaded from the disk cache", "loaded", "{:d}"),
            ("seconds compiling/loading fused kernels", "seconds", "{:.2f}"),
            ("first hybridized MLP/256 step, s", "mlp_first_step_s", "{:.2f}"),
            ("first hybridized LeNet/256 step, s (incl. the hot kernels' Numba cache)",
             "lenet_first_step_s", "{:.2f}"),
            ("import gluonlite, s", "import_s", "{:.2f}")]
    if args.markdown:
        print("## Compile cost of generated kernels\n")
        print("A fresh process on an empty kernel cache, then a second process on the same "
              "cache (`bench/compile.py`).\n")
        print("| | first process | second process |")
        print("|---|---|---|")
        for label, key, fmt in rows:
            print(f"| {label} | {fmt.format(cold[key])} | {fmt.format(warm[key])} |")
        print()
    else:
        print(f"{'':72s} {'first':>8s} {'second':>8s}")
        for label, key, fmt in rows:
            print(f"{label:72s} {fmt.format(cold[key]):>8s} {fmt.format(warm[key]):>8s}")


if __name__ == "__main__":
    main()
