"""Data-parallel scaling over MPI processes (``kvstore='dist_sync'``).

    python bench/scaling.py [--quick] [--markdown]

For the MLP and LeNet rows of bench/_workloads.py (hybridized Gluon, per-worker batch as
in the row, momentum SGD, ``Trainer(kvstore='dist_sync')``), images/s of all workers
together on 1 and 2 processes (``python -m gluonlite.launch -n P``), the scaling
efficiency ``ips(2) / (2 * ips(1))``, and the allreduce bandwidth the store reaches on
the model's gradients (fused buckets) against a raw mpi4py ``Allreduce`` of the same bytes
in one buffer (the limit). Bandwidth is the algorithm bandwidth: bytes reduced / second.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = ("mlp/256", "lenet/256")


def worker(row, steps, rounds):
    """Run inside mpiexec: time ``rounds`` x ``steps`` training steps; rank 0 prints JSON."""
    sys.path.insert(0, HERE)
    import numpy as np
    from mpi4py import MPI
    import gluonlite as mx
    from _workloads import ROWS, batch, gluon_net

    kv = mx.kv.create("dist_sync")
    r = ROWS[row]
    net = gluon_net(mx, row)
    net.initialize(mx.init.Xavier())
    net.hybridize(static_alloc=True, static_shape=True)
    xn, yn = batch(row)
    x, y = mx.nd.array(xn), mx.nd.array(yn)
    loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    net(x)  # shapes known: the trainer broadcasts rank 0's parameters at creation
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd",
                               {"learning_rate": 0.01, "momentum": 0.9}, kvstore=kv)

    def train(n):
        for _ in range(n):
            with mx.autograd.record():
                l = loss(net(x), y)
            l.backward()
            trainer.step(r.batch * kv.num_workers)
        mx.nd.waitall()

    train(2)  # warm-up: compilation, buffers
    best = float("inf")
    for _ in range(rounds):
        kv.barrier()
        t = time.perf_counter()
        train(steps)
        kv.barrier()
        best = min(best, time.perf_counter() - t)
    ips = steps * r.batch * kv.num_workers / best

    # allreduce bandwidth: the store's fused pushpull of every gradient vs one raw buffer
    params = [p for p in net.collect_params().values() if p.grad_req != "null"]
    grads = [p.grad() for p in params]
    nbytes = sum(g.size * 4 for g in grads)
    keys = [1000 + i for i in range(len(grads))]  # int keys, as the trainer uses
    kv.init(keys, [g.copy() for g in grads])
    raw = np.ones(nbytes // 4, dtype=np.float32)
    comm = MPI.COMM_WORLD
    reps = 20
    t_store = t_raw = float("inf")
    for _ in range(3):
        kv.barrier()
        t = time.perf_counter()
        for _ in range(reps):
            kv.pushpull(keys, grads)
        t_store = min(t_store, (time.perf_counter() - t) / reps)
        comm.Barrier()
        t = time.perf_counter()
        for _ in range(reps):
            comm.Allreduce(MPI.IN_PLACE, raw, op=MPI.SUM)
        t_raw = min(t_raw, (time.perf_counter() - t) / reps)
    if kv.rank == 0:
        print("RESULT " + json.dumps({
            "row": row, "workers": kv.num_workers, "ips": ips, "step_s": best / steps,
            "bytes": nbytes, "store_s": t_store, "raw_s": t_raw}), flush=True)


def run(row, workers, steps, rounds, threads):
    cmd = [sys.executable, "-m", "gluonlite.launch", "-n", str(workers), "--timeout", "600",
           os.path.abspath(__file__), "--worker", row, "--steps", str(steps),
           "--rounds", str(rounds)]
    threads = str(threads)
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS=threads,
               NUMBA_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads)
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{row} on {workers} workers failed (exit {out.returncode}):\n"
                       f"{out.stdout[-2000:]}\n{out.stderr[-2000:]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few steps (a smoke run)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown section")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.steps, args.rounds)
        return
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        print("## Scaling (MPI)\n\nskipped: mpi4py is not installed "
              "(pip install 'gluonlite[dist]')\n")
        return
    steps = {"mlp/256": 3 if args.quick else 20, "lenet/256": 1 if args.quick else 3}
    rounds = 1 if args.quick else 7  # best of: the machine may be shared
    cores = os.cpu_count() or 1
    # (processes, threads each): the whole machine in one process, one core, one core each
    configs = [(1, cores), (1, 1), (2, max(1, cores // 2))]
    res = {(row, c): run(row, c[0], steps[row], rounds, c[1]) for row in MODELS
           for c in configs}
    lines = ["## Scaling (MPI)", "",
             "`python bench/scaling.py --markdown` (`make bench` runs it): hybridized Gluon, "
             "`Trainer(kvstore='dist_sync')`, per-worker batch 256, momentum SGD, processes "
             "started with `python -m gluonlite.launch -n P`, threads per process set with "
             f"`OMP_NUM_THREADS`/`NUMBA_NUM_THREADS` ({cores} cores here); best of "
             f"{rounds} rounds. images/s counts all workers. Efficiency = 2-process img/s / "
             "(2 x 1-process-1-thread img/s); speed-up = 2-process img/s / 1-process "
             f"({cores}-thread) img/s. Allreduce: the store's fused `pushpull` of all "
             "gradients vs one raw mpi4py `Allreduce` of the same bytes, 2 processes.", "",
             f"| model | 1 process x {cores} threads img/s | 1 process x 1 thread img/s | "
             f"2 processes x {max(1, cores // 2)} img/s | efficiency | speed-up | gradient "
             "bytes | store allreduce | raw mpi4py allreduce | raw / store |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in MODELS:
        full, one, two = (res[(row, c)] for c in configs)
        mb = two["bytes"] / 1e6
        lines.append(
            f"| {row} | {full['ips']:.0f} | {one['ips']:.0f} | {two['ips']:.0f} | "
            f"{two['ips'] / (2 * one['ips']):.2f} | {two['ips'] / full['ips']:.2f} | "
            f"{mb:.2f} MB | "
            f"{two['store_s'] * 1e3:.2f} ms ({mb / two['store_s'] / 1e3:.2f} GB/s) | "
            f"{two['raw_s'] * 1e3:.2f} ms ({mb / two['raw_s'] / 1e3:.2f} GB/s) | "
            f"{two['raw_s'] / two['store_s']:.2f} |")
    lines.append("")
    text = "\n".join(lines)
    print(text if args.markdown else text.replace("|", " "))


if __name__ == "__main__":
    main()
