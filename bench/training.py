"""Training-step time, side by side: gluonlite imperative and hybridized, and (when ``.peers/``
exists) MXNet 1.9.1 imperative and hybridized and PyTorch 2.13 eager.

One training step = forward + backward + ``Trainer.step`` (SGD with momentum 0.9) of the same
Gluon program on Fashion-MNIST batches (random data of the same shape when the dataset is
absent). Workloads:

* ``mlp/256`` and ``mlp/16``: 784-256-256-10 MLP (ReLU), batch 256 and 16;
* ``lenet/256``: Conv 20@5 relu, pool, Conv 50@3 relu, pool, Dense 128 relu, Dense 10.

Each (framework, mode) runs in its own subprocess; the parent runs timed rounds alternately
so load changes hit every contender alike, and reports medians and ratios measured in the
same run. Hybridized MXNet uses ``hybridize(static_alloc=True, static_shape=True)``.

    python bench/training.py                 # table
    python bench/training.py --markdown      # the section bench/run.py writes
    python bench/training.py --quick         # fewer rounds
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, ".peers")
FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
WORKLOADS = {"mlp/256": ("mlp", 256), "mlp/16": ("mlp", 16), "lenet/256": ("lenet", 256)}
STEPS = {"mlp/256": 20, "mlp/16": 100, "lenet/256": 3}


def _batch(bs, flat):
    """A real Fashion-MNIST batch when available (the same in every process)."""
    if os.path.exists(FASHION):
        with gzip.open(FASHION) as f:
            raw = np.frombuffer(f.read(), np.uint8, offset=16)[:bs * 784]
        x = raw.reshape(bs, 1, 28, 28).astype(np.float32) / 255
    else:
        x = np.random.RandomState(0).rand(bs, 1, 28, 28).astype(np.float32)
    y = (np.arange(bs) % 10).astype(np.float32)
    return (x.reshape(bs, 784) if flat else x), y


def _gluon_setup(mx, workload, hybrid):
    from_gluon = mx.gluon
    nn = from_gluon.nn
    kind, bs = WORKLOADS[workload]
    net = nn.HybridSequential()
    if kind == "mlp":
        net.add(nn.Dense(256, activation="relu"), nn.Dense(256, activation="relu"),
                nn.Dense(10))
    else:
        net.add(nn.Conv2D(20, 5, activation="relu"), nn.MaxPool2D(2, 2),
                nn.Conv2D(50, 3, activation="relu"), nn.MaxPool2D(2, 2), nn.Flatten(),
                nn.Dense(128, activation="relu"), nn.Dense(10))
    net.initialize(mx.init.Xavier())
    if hybrid:
        net.hybridize(static_alloc=True, static_shape=True)
    loss = from_gluon.loss.SoftmaxCrossEntropyLoss()
    if hybrid:
        loss.hybridize(static_alloc=True, static_shape=True)
    trainer = from_gluon.Trainer(net.collect_params(), "sgd",
                                 {"learning_rate": 0.01, "momentum": 0.9})
    xn, yn = _batch(bs, kind == "mlp")
    x, y = mx.nd.array(xn), mx.nd.array(yn)

    def step():
        with mx.autograd.record():
            l = loss(net(x), y)
        l.backward()
        trainer.step(bs)
        return l

    def run(n):
        t = time.perf_counter()
        for _ in range(n):
            l = step()
        l.wait_to_read()
        mx.nd.waitall()
        return time.perf_counter() - t

    return run


def _torch_setup(workload):
    import torch
    from torch import nn
    torch.manual_seed(0)
    kind, bs = WORKLOADS[workload]
    if kind == "mlp":
        net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                            nn.Linear(256, 10))
    else:
        net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
                            nn.Conv2d(20, 50, 3), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                            nn.Linear(1250, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    xn, yn = _batch(bs, kind == "mlp")
    x, y = torch.from_numpy(xn), torch.from_numpy(yn.astype(np.int64))

    def run(n):
        t = time.perf_counter()
        for _ in range(n):
            opt.zero_grad()
            loss_fn(net(x), y).backward()
            opt.step()
        return time.perf_counter() - t

    return run


def worker(name):
    """Serve timing requests ("workload n" lines) for one contender."""
    fw, mode = name.split(":")
    runners = {}
    for w in WORKLOADS:
        if fw == "pytorch":
            runners[w] = _torch_setup(w)
        else:
            if fw == "gluonlite":
                sys.path.insert(0, ROOT)
                import gluonlite as mx
            else:
                import mxnet as mx
            runners[w] = _gluon_setup(mx, w, mode == "hybrid")
        runners[w](2)  # warm up: tracing, compiling, caches
    print("ready", flush=True)
    for line in sys.stdin:
        w, n = line.split()
        print(json.dumps(runners[w](int(n))), flush=True)


def contenders():
    out = [("gluonlite:imperative", sys.executable), ("gluonlite:hybrid", sys.executable)]
    mxpy = os.path.join(PEERS, "mxnet", "bin", "python")
    if os.path.exists(mxpy):
        out += [("mxnet:imperative", mxpy), ("mxnet:hybrid", mxpy)]
    tpy = os.path.join(PEERS, "torch", "bin", "python")
    if os.path.exists(tpy):
        out.append(("pytorch:eager", tpy))
    return out


def measure(rounds):
    procs = {}
    # every framework runs with its default threading; the pause before each timed request
    # (below) lets the previous contender's idle threads stop spinning first
    env = dict(os.environ, MXNET_STORAGE_FALLBACK_LOG_VERBOSE="0")
    for name, py in contenders():
        p = subprocess.Popen([py, os.path.abspath(__file__), "--worker", name], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env)
        line = p.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"{name} failed to start")
        procs[name] = p
    times = {(n, w): [] for n in procs for w in WORKLOADS}
    for _ in range(rounds):
        for w in WORKLOADS:
            for n, p in procs.items():
                # OpenBLAS's idle threads spin (sched_yield) for ~0.1 s after their last
                # GEMM; let the previous contender's go to sleep before timing the next
                time.sleep(0.3)
                p.stdin.write(f"{w} {STEPS[w]}\n")
                p.stdin.flush()
                times[(n, w)].append(json.loads(p.stdout.readline()) / STEPS[w] * 1e3)
    for p in procs.values():
        p.stdin.close()
        p.wait()
    return {k: statistics.median(v) for k, v in times.items()}, list(procs)


def report(med, names, markdown):
    lines = []
    cols = " | ".join(names)
    if markdown:
        lines.append("## Training step (`bench/training.py`)")
        lines.append("")
        lines.append("Forward + backward + `Trainer.step` (SGD, momentum 0.9), ms per step, "
                     "median over alternating rounds; each contender in its own process with "
                     "its default threading, and a 0.3 s pause before each timed round so the "
                     "previous contender's idle BLAS/OpenMP threads stop spinning first. "
                     "Hybridized MXNet uses `static_alloc=True, static_shape=True`. The issue's "
                     "goal: gluonlite hybridized ≥ 1.5x its imperative step on mlp/16.")
        lines.append("")
        lines.append(f"| workload | {cols} | hybrid / imperative (gluonlite) |" +
                     (" gluonlite hybrid / MXNet hybrid |" if "mxnet:hybrid" in names else ""))
        lines.append("|---" * (len(names) + 2 + ("mxnet:hybrid" in names)) + "|")
    for w in WORKLOADS:
        vals = " | ".join(f"{med[(n, w)]:.3f}" for n in names)
        speed = med[("gluonlite:imperative", w)] / med[("gluonlite:hybrid", w)]
        extra = ""
        if "mxnet:hybrid" in names:
            extra = f" {med[('gluonlite:hybrid', w)] / med[('mxnet:hybrid', w)]:.2f} |"
        lines.append(f"| {w} | {vals} | {speed:.2f}x |{extra}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return
    med, names = measure(3 if args.quick else 15)
    print(report(med, names, args.markdown))


if __name__ == "__main__":
    main()
