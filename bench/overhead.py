"""Per-operator overhead, side by side: gluonlite, NumPy, MXNet 1.9.1 and PyTorch 2.13.

Small-batch programs are bound by what each operator costs in Python before any arithmetic
happens, so this measures exactly that on tiny (4x4 float32) arrays:

* ``add``: ``c = a + b``;
* ``record+backward``: ``with autograd.record(): y = x * 2; z = y + x; w = z * z`` then
  ``w.backward()`` (PyTorch: the same three ops on a ``requires_grad`` tensor and
  ``w.backward(ones)``, MXNet's implicit head gradient).

Every framework runs in its own subprocess (gluonlite and NumPy with this Python, MXNet and
PyTorch with the peer environments in ``.peers/`` when they exist). The parent runs the
rounds alternately -- gluonlite, NumPy, MXNet, PyTorch, gluonlite, ... -- so a change in
machine load hits all of them alike, and reports each one's median over the rounds and its
ratio to gluonlite measured in the same run. MXNet executes asynchronously: its loops end
with ``nd.waitall()``, so the time includes the work, not just the dispatch.

    python bench/overhead.py              # prints a table
    python bench/overhead.py --markdown   # the section bench/run.py puts in RESULTS.md
    python bench/overhead.py --quick      # 3 rounds, a smoke test
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, ".peers")
CASES = ("add", "record+backward")
# iterations per timed loop: long enough to swamp timer overhead, short enough for rounds
ITERS = {"add": 20000, "record+backward": 2000}
GOALS_US = {"add": 2.0, "record+backward": 25.0}
FRAMEWORKS = ("gluonlite", "numpy", "mxnet", "pytorch")


# --------------------------------------------------------------------------------------
# the worker: one framework, timing one round per request on stdin
def _setup(fw):
    """Return {case: callable(n) -> seconds for n iterations} for framework ``fw``."""
    timer = time.perf_counter
    if fw in ("gluonlite", "mxnet"):
        if fw == "gluonlite":
            import gluonlite as mx
        else:
            import mxnet as mx
        nd, autograd = mx.nd, mx.autograd
        a, b = nd.ones((4, 4)), nd.ones((4, 4))
        x = nd.ones((4, 4))
        x.attach_grad()

        def add(n):
            t = timer()
            for _ in range(n):
                a + b
            nd.waitall()
            return timer() - t

        def rec(n):
            t = timer()
            for _ in range(n):
                with autograd.record():
                    y = x * 2
                    z = y + x
                    w = z * z
                w.backward()
            nd.waitall()
            return timer() - t

        return {"add": add, "record+backward": rec}
    if fw == "numpy":
        import numpy as np
        a, b = np.ones((4, 4), np.float32), np.ones((4, 4), np.float32)

        def add(n):
            t = timer()
            for _ in range(n):
                a + b
            return timer() - t

        return {"add": add}
    if fw == "pytorch":
        import torch
        a, b = torch.ones(4, 4), torch.ones(4, 4)
        x = torch.ones(4, 4, requires_grad=True)
        ones = torch.ones(4, 4)

        def add(n):
            t = timer()
            for _ in range(n):
                a + b
            return timer() - t

        def rec(n):
            t = timer()
            for _ in range(n):
                x.grad = None  # MXNet's grad_req='write': no accumulation
                y = x * 2
                z = y + x
                w = z * z
                w.backward(ones)
            return timer() - t

        return {"add": add, "record+backward": rec}
    raise ValueError(f"unknown framework {fw!r}")


def worker(fw):
    cases = _setup(fw)
    for name, fn in cases.items():  # warm up (imports, caches, first-call paths)
        fn(ITERS[name] // 10)
    print(json.dumps({"ready": sorted(cases)}), flush=True)
    for line in sys.stdin:
        if line.strip() != "round":
            break
        out = {name: fn(ITERS[name]) / ITERS[name] * 1e6 for name, fn in cases.items()}
        print(json.dumps(out), flush=True)


# --------------------------------------------------------------------------------------
# the parent
def _python_for(fw):
    if fw in ("gluonlite", "numpy"):
        return sys.executable
    exe = os.path.join(PEERS, "mxnet" if fw == "mxnet" else "torch", "bin", "python")
    return exe if os.path.exists(exe) else None


def _version(fw, exe):
    mod = {"gluonlite": "gluonlite", "numpy": "numpy", "mxnet": "mxnet",
           "pytorch": "torch"}[fw]
    r = subprocess.run([exe, "-c", f"import {mod}; print({mod}.__version__)"],
                       capture_output=True, text=True, cwd=ROOT)
    return r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout else "?"


def measure(rounds=15):
    """Run every available framework's worker, alternating rounds; return the results."""
    procs, skipped = {}, {}
    # default settings, as users run them; only warnings (MXNet's about old NumPy) are muted
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    try:
        for fw in FRAMEWORKS:
            exe = _python_for(fw)
            if exe is None:
                skipped[fw] = f"no {os.path.relpath(PEERS, ROOT)}/ environment"
                continue
            p = subprocess.Popen([exe, os.path.abspath(__file__), "--worker", fw],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
            hello = p.stdout.readline()
            if not hello:
                skipped[fw] = "worker failed: " + p.stderr.read().strip()[-300:]
                p.wait()
                continue
            procs[fw] = (p, _version(fw, exe))
        samples = {fw: {c: [] for c in CASES} for fw in procs}
        for _ in range(rounds):
            for fw, (p, _) in procs.items():
                p.stdin.write("round\n")
                p.stdin.flush()
                line = p.stdout.readline()
                if not line:
                    raise RuntimeError(f"{fw} worker died: {p.stderr.read()[-500:]}")
                for case, us in json.loads(line).items():
                    samples[fw][case].append(us)
    finally:
        for p, _ in procs.values():
            try:
                p.stdin.write("stop\n")
                p.stdin.close()
            except OSError:
                pass
            p.wait(timeout=60)
    med = {fw: {c: statistics.median(v) for c, v in cs.items() if v}
           for fw, cs in samples.items()}
    return {"rounds": rounds, "median_us": med,
            "versions": {fw: v for fw, (_, v) in procs.items()}, "skipped": skipped,
            "spread_us": {fw: {c: (min(v), max(v)) for c, v in cs.items() if v}
                          for fw, cs in samples.items()}}


def markdown(res):
    med = res["median_us"]
    g = med.get("gluonlite", {})
    lines = [
        "## Per-operator overhead (`bench/overhead.py`)",
        "",
        f"4x4 float32 arrays, median of {res['rounds']} alternating rounds "
        f"({ITERS['add']} adds / {ITERS['record+backward']} record+backward per round), "
        "each framework in its own process; in brackets the fastest and slowest round. "
        "Ratio = that framework's median / gluonlite's (above 1: gluonlite is faster).",
        "",
        "| framework | version | add (µs) | ratio | record 3 ops + backward (µs) | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for fw in FRAMEWORKS:
        if fw not in med:
            continue
        row = [fw, res["versions"][fw]]
        for case in CASES:
            if case in med[fw]:
                v = med[fw][case]
                lo, hi = res["spread_us"][fw][case]
                row += [f"{v:.2f} ({lo:.2f}–{hi:.2f})",
                        f"{v / g[case]:.2f}" if case in g else "–"]
            else:
                row += ["–", "–"]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for fw, why in res["skipped"].items():
        lines.append(f"{fw}: not measured ({why}).")
    if g:
        lines.append("Goals for gluonlite: " + "; ".join(
            f"{c} ≤ {GOALS_US[c]:g} µs: {g[c]:.2f} µs, "
            f"{'met' if g[c] <= GOALS_US[c] else 'NOT met'}" for c in CASES if c in g) + ".")
    lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=None,
                    help="alternating rounds (default 15, with --quick 3)")
    ap.add_argument("--quick", action="store_true", help="3 rounds (smoke test)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown section")
    ap.add_argument("--json", action="store_true", help="print the raw results as JSON")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return
    rounds = args.rounds if args.rounds is not None else (3 if args.quick else 15)
    if rounds < 1:
        ap.error("--rounds must be at least 1")
    res = measure(rounds)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print(markdown(res))


if __name__ == "__main__":
    main()
