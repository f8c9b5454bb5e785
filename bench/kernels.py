"""Micro-benchmark of the compiled CPU kernels (convolution, pooling, BatchNorm) against the
reference operators, on the shapes of the LeNet and ResNet-18 (CIFAR) training workloads,
and a whole LeNet training step with ``GLUONLITE_JIT=0`` (reference) vs ``1`` (kernels).

Operator rows: both paths run in this process on the same inputs, alternately (reference,
kernel, reference, ...) so load changes hit both alike; the table gives the median ms of
each and the ratio reference / kernel (above 1: the kernel is faster). The LeNet rows run
each (mode, GLUONLITE_JIT) in its own subprocess, again in alternating timed rounds.

    python bench/kernels.py            # everything
    python bench/kernels.py --quick    # fewer rounds
    python bench/kernels.py --ops      # operator rows only
    python bench/kernels.py --step     # LeNet step rows only
    python bench/kernels.py --markdown # the section bench/run.py writes
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _conv(n, c, hw, f, k, stride=1, pad=0, bias=True):
    attrs = dict(kernel=(k, k), stride=(stride, stride), pad=(pad, pad), num_filter=f,
                 no_bias=not bias)
    return (n, c, hw, hw), (f, c, k, k), attrs


def _cases():
    """(label, op name, input shapes or arrays builder, attrs)."""
    cases = []
    convs = [("lenet conv1 1->20 5x5", _conv(256, 1, 28, 20, 5), False),
             ("lenet conv2 20->50 3x3", _conv(256, 20, 12, 50, 3), True),
             ("resnet 64->64 3x3 p1 @32", _conv(64, 64, 32, 64, 3, 1, 1, False), True),
             ("resnet 64->128 3x3 s2 @32", _conv(64, 64, 32, 128, 3, 2, 1, False), True),
             ("resnet 64->128 1x1 s2 @32", _conv(64, 64, 32, 128, 1, 2, 0, False), True),
             ("resnet 256->256 3x3 p1 @8", _conv(64, 256, 8, 256, 3, 1, 1, False), True)]
    for label, (ds, ws, attrs), need_data in convs:
        cases.append((label + " fwd", "Convolution", ("conv", ds, ws, attrs), attrs))
        battrs = dict(attrs, need_data=need_data)
        cases.append((label + " bwd" + ("" if need_data else " (no dx)"),
                      "_backward_Convolution", ("bconv", ds, ws, attrs), battrs))
    pools = [("lenet maxpool 2x2 s2 @24", (256, 20, 24, 24),
              dict(kernel=(2, 2), stride=(2, 2), pool_type="max")),
             ("lenet maxpool 2x2 s2 @10", (256, 50, 10, 10),
              dict(kernel=(2, 2), stride=(2, 2), pool_type="max")),
             ("resnet global avgpool @4", (64, 512, 4, 4),
              dict(global_pool=True, pool_type="avg")),
             ("avgpool 3x3 s2 p1 @32", (64, 64, 32, 32),
              dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg"))]
    for label, ds, attrs in pools:
        cases.append((label + " fwd", "Pooling", ("pool", ds), attrs))
        cases.append((label + " bwd", "_backward_Pooling", ("bpool", ds, attrs), attrs))
    for label, ds in [("resnet BN 64@32", (64, 64, 32, 32)), ("resnet BN 512@4", (64, 512, 4, 4))]:
        attrs = dict(fix_gamma=False)
        cases.append((label + " train fwd", "BatchNorm", ("bn", ds), attrs))
        cases.append((label + " train bwd", "_backward_BatchNorm", ("bbn", ds), attrs))
    return cases


def _inputs(spec, rt, rs):
    from gluonlite.ops import get_op
    kind = spec[0]
    f32 = np.float32
    if kind in ("conv", "bconv"):
        _, ds, ws, attrs = spec
        x = rs.randn(*ds).astype(f32)
        w = rs.randn(*ws).astype(f32)
        ins = [x, w] + ([] if attrs["no_bias"] else [rs.randn(ws[0]).astype(f32)])
        if kind == "conv":
            return ins
        op = get_op("Convolution")
        y = op.ref_fwd(rt, *ins, **op.parse_attrs(attrs))
        return [rs.randn(*y.shape).astype(f32), x, w]
    if kind == "pool":
        return [rs.randn(*spec[1]).astype(f32)]
    if kind == "bpool":
        x = rs.randn(*spec[1]).astype(f32)
        op = get_op("Pooling")
        y = op.ref_fwd(rt, x, **op.parse_attrs(spec[2]))
        return [rs.randn(*y.shape).astype(f32), x, y]
    c = spec[1][1]
    x = rs.randn(*spec[1]).astype(f32)
    gamma, beta = rs.rand(c).astype(f32) + 0.5, rs.randn(c).astype(f32)
    mm, mv = np.zeros(c, f32), np.ones(c, f32)
    if kind == "bn":
        return [x, gamma, beta, mm, mv]
    op = get_op("BatchNorm")
    _, mean, inv = op.ref_fwd(rt, x, gamma, beta, mm, mv, **op.parse_attrs({"fix_gamma": False}))
    z = np.zeros(c, f32)
    return [rs.randn(*x.shape).astype(f32), x, gamma, mean, inv, z, z, mm, mv]


def bench_ops(rounds):
    import gluonlite as mx
    from gluonlite import kernels
    from gluonlite.ops import get_op
    if not kernels.enabled():
        kernels.set_enabled(True)
    rt = mx.cpu()._runtime(True)
    rs = np.random.RandomState(0)
    rows = []
    for label, opname, spec, attrs in _cases():
        op = get_op(opname)
        a = op.parse_attrs(attrs)
        ins = _inputs(spec, rt, rs)
        fast, ref = op.fwd, op.ref_fwd
        fast(rt, *ins, **a)          # compile / warm up
        ref(rt, *ins, **a)
        tr, tk = [], []
        for _ in range(rounds):
            for fn, acc in ((ref, tr), (fast, tk)):
                t = time.perf_counter()
                fn(rt, *ins, **a)
                acc.append(time.perf_counter() - t)
        mr, mk = statistics.median(tr) * 1e3, statistics.median(tk) * 1e3
        rows.append((label, mr, mk, mr / mk))
        print(f"{label:42s} {mr:9.3f} {mk:9.3f} {mr / mk:7.2f}x", flush=True)
    return rows


_CHILD = r"""
import sys, time, json
import numpy as np
import gluonlite as mx
from gluonlite import gluon, autograd, nd
nn = gluon.nn
hyb = sys.argv[1] == "hybrid"
bs = 256
net = nn.HybridSequential()
net.add(nn.Conv2D(20, 5, activation="relu"), nn.MaxPool2D(2, 2),
        nn.Conv2D(50, 3, activation="relu"), nn.MaxPool2D(2, 2), nn.Flatten(),
        nn.Dense(128, activation="relu"), nn.Dense(10))
net.initialize(mx.init.Xavier())
L = gluon.loss.SoftmaxCrossEntropyLoss()
if hyb:
    net.hybridize(static_alloc=True, static_shape=True)
    L.hybridize(static_alloc=True, static_shape=True)
tr = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.01, "momentum": 0.9})
rs = np.random.RandomState(0)
x = nd.array(rs.rand(bs, 1, 28, 28).astype(np.float32))
y = nd.array((np.arange(bs) % 10).astype(np.float32))
def step():
    with autograd.record():
        l = L(net(x), y)
    l.backward()
    tr.step(bs)
    l.wait_to_read()
for _ in range(3):
    step()
print("ready", flush=True)
for line in sys.stdin:
    n = int(line)
    t = time.perf_counter()
    for _ in range(n):
        step()
    print(json.dumps((time.perf_counter() - t) / n), flush=True)
"""


def bench_step(rounds, steps=3):
    procs = {}
    for mode in ("imperative", "hybrid"):
        for jit in ("0", "1"):
            env = dict(os.environ, GLUONLITE_JIT=jit)
            p = subprocess.Popen([sys.executable, "-c", _CHILD, mode], cwd=ROOT, env=env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert p.stdout.readline().strip() == "ready"
            procs[(mode, jit)] = p
    times = {k: [] for k in procs}
    for _ in range(rounds):
        for k, p in procs.items():
            time.sleep(0.2)  # let the previous process's BLAS threads stop spinning
            p.stdin.write(f"{steps}\n")
            p.stdin.flush()
            times[k].append(json.loads(p.stdout.readline()))
    for p in procs.values():
        p.stdin.close()
        p.wait()
    rows = []
    for mode in ("imperative", "hybrid"):
        r = statistics.median(times[(mode, "0")]) * 1e3
        k = statistics.median(times[(mode, "1")]) * 1e3
        rows.append((f"LeNet/256 training step, {mode}", r, k, r / k))
        print(f"{rows[-1][0]:42s} {r:9.3f} {k:9.3f} {r / k:7.2f}x", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds")
    ap.add_argument("--ops", action="store_true", help="operator rows only")
    ap.add_argument("--step", action="store_true", help="LeNet step rows only")
    ap.add_argument("--markdown", action="store_true",
                    help="progress to stderr, a Markdown section to stdout (bench/run.py)")
    args = ap.parse_args()
    both = not args.ops and not args.step
    out = sys.stdout
    if args.markdown:
        sys.stdout = sys.stderr   # the text table becomes progress
    print(f"{'case (float32)':42s} {'ref ms':>9s} {'kernel ms':>9s} {'ratio':>8s}")
    rows = []
    if args.ops or both:
        rows += bench_ops(5 if args.quick else 15)
    if args.step or both:
        rows += bench_step(5 if args.quick else 11)
    sys.stdout = out
    if args.markdown:
        print("## Hot kernels: reference operator vs compiled kernel\n")
        print("Medians of alternating rounds in one run (operator rows: one process; LeNet "
              "steps: `GLUONLITE_JIT=0` and `1` in separate processes). Ratio = reference / "
              "kernel.\n")
        print("| case (float32) | reference ms | kernel ms | ratio |")
        print("|---|---|---|---|")
        for label, r, k, ratio in rows:
            print(f"| {label} | {r:.3f} | {k:.3f} | {ratio:.2f}x |")
        print()


if __name__ == "__main__":
    main()
