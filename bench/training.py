"""Step time, side by side: gluonlite imperative and hybridized, and (when ``.peers/``
exists) MXNet 1.9.1 imperative and hybridized and PyTorch 2.13 eager; plus where gluonlite's
hybridized step goes (GEMM floor vs the rest) and the LeNet training loop's peak memory.

Rows (``bench/_workloads.py`` has the models, the same Gluon code for gluonlite and MXNet):

* ``mlp/256``, ``mlp/16``: 784-256-256-10 MLP (ReLU), training step, batch 256 and 16;
* ``lenet/256``: LeNet training step on Fashion-MNIST, batch 256;
* ``mlp-infer/1``: the MLP's forward only, batch 1: ``net(x).asnumpy()`` (PyTorch:
  ``net(x).numpy()`` under ``torch.no_grad()``);
* ``resnet18/64``: d2l's Gluon ResNet-18 (CIFAR stem), 3x32x32 random input, batch 64.

Whole image models (ResNet-50, MobileNet v2, CIFAR ResNet-20) are ``bench/models.py``'s rows;
it reuses this file's workers and alternating rounds.

A training step is forward + loss under ``autograd.record``, ``backward``, ``Trainer.step``
(SGD, momentum 0.9). Each contender runs in its own subprocess with its default threading;
the parent runs timed rounds alternately (row by row, contender by contender, with a 0.3 s
pause before each so the previous one's idle BLAS/OpenMP threads stop spinning) so load
changes hit every contender alike, and reports medians and ratios from the same run.
Hybridized means ``hybridize(static_alloc=True, static_shape=True)`` for both Gluons.

    python bench/training.py                       # tables on stdout
    python bench/training.py --markdown            # the section bench/run.py writes
    python bench/training.py --quick --only mlp/16 --only resnet18/64
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

import _gemm
import _memory
from _workloads import ROWS, check_rows, gluon_runner, suite_rows, torch_runner, warmup_steps

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, ".peers")
CONTENDERS = ("gluonlite:imperative", "gluonlite:hybrid", "mxnet:imperative", "mxnet:hybrid",
              "pytorch:eager")
LABELS = {"gluonlite:imperative": "gluonlite imperative", "gluonlite:hybrid":
          "gluonlite hybridized", "mxnet:imperative": "MXNet imperative",
          "mxnet:hybrid": "MXNet hybridized", "pytorch:eager": "PyTorch eager"}
FLOOR = "gemm-floor"          # pseudo-contender: the GEMMs of gluonlite's hybridized step
MEMORY_ROW = "lenet/256"      # the row whose training loop's peak memory is reported
MEMORY_STEPS = 5              # steps measured after the warm-up
LAZY_HEAVY = ("numba", "llvmlite", "scipy", "cupy")  # big imports worth naming if lazy
PAUSE_S = 0.3
# earlier issue's goal, kept: gluonlite hybridized at least 1.5x its imperative step
SPEEDUP_GOAL = {"mlp/16": 1.5}


# ------------------------------------------------------------------------------------------
# workers (run in the contender's own Python)
def _framework(fw):
    if fw == "gluonlite":
        if ROOT not in sys.path:  # this checkout's gluonlite, installed or not
            sys.path.insert(0, ROOT)
        import gluonlite as mx
        return mx
    if fw == "mxnet":
        import mxnet as mx
        return mx
    import torch
    return torch


def _runner(name, row):
    fw, mode = name.split(":")
    mod = _framework(fw)
    if fw == "pytorch":
        return torch_runner(mod, row)
    return gluon_runner(mod, row, mode == "hybrid")


def _error(e):
    traceback.print_exc(file=sys.stderr)
    return f"{type(e).__name__}: {e}"[:500]


def _protocol():
    """The stream the parent reads; anything a framework prints goes to stderr instead."""
    out = sys.stdout
    sys.stdout = sys.stderr
    return lambda obj: print(json.dumps(obj), file=out, flush=True)


def worker(name, rows):
    """Serve JSON timing requests for contender ``name``: ``{"row": r, "n": n}`` times n
    steps of row r; the ``gemm-floor`` worker serves ``{"gemm": r, "n": n}``, n times the
    GEMMs of r's hybridized step. The floor has a process of its own: its operands (3.5 GB
    for ResNet-18) evicted the model's working set, and the hybridized step measured after
    it ran a third slower."""
    reply = _protocol()
    runners, gemms, errors, counts = {}, {}, {}, {}
    for row in rows if name != FLOOR else ():
        try:
            run = _runner(name, row)
            run(warmup_steps(row))  # warm up: tracing, compiling, caches
            runners[row] = run
            counts[row] = run.count()
        except Exception as e:  # reported per row; the other rows still run
            errors[row] = _error(e)
    if name == FLOOR:
        mx = _framework("gluonlite")
        for row in rows:
            if ROWS[row].train:
                try:
                    plan = _gemm.capture(mx, row)
                    gemms[row] = (_gemm.runner(plan), len(plan), _gemm.gflop(plan))
                    gemms[row][0](1)
                except Exception as e:
                    errors[f"{FLOOR}:{row}"] = _error(e)
    reply({"ready": sorted(runners), "errors": errors, "params": counts,
           "gemm": {r: [c, g] for r, (_, c, g) in gemms.items()}})
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if "gemm" in req:
                out = {"s": gemms[req["gemm"]][0](req["n"])}
            else:
                out = {"s": runners[req["row"]](req["n"])}
        except Exception as e:
            out = {"error": _error(e)}
        reply(out)


def jit_runtime_worker():
    """Print, as JSON, what gluonlite's JIT runtime costs a process that has imported
    gluonlite: RSS after importing Numba and after running the first compiled kernel
    (loaded from the disk cache: LLVM and Numba's typing machinery start then)."""
    reply = _protocol()
    mx = _framework("gluonlite")
    r0 = _memory.rss_mb()
    import numba  # noqa: F401
    r1 = _memory.rss_mb()
    mx.nd.Pooling(mx.nd.ones((1, 1, 4, 4)), kernel=(2, 2), pool_type="max").asnumpy()
    r2 = _memory.rss_mb()
    reply({"import": r1 - r0, "first_kernel": r2 - r1})


def memory_worker(name):
    """Print the LeNet training loop's memory (see ``bench/_memory.py``) as JSON."""
    reply = _protocol()
    fw, _ = name.split(":")
    _framework(fw)
    loaded = set(sys.modules)
    before = _memory.rss_mb()
    run = _runner(name, MEMORY_ROW)
    run(2)
    reset = _memory.reset_peak()
    run(MEMORY_STEPS)
    peak = _memory.peak_mb()
    # heavy libraries a framework imports lazily land in the increase; name them
    lazy = sorted(m for m in LAZY_HEAVY if m in sys.modules and m not in loaded)
    reply({"before": before, "peak": peak, "reset": reset, "lazy": lazy})


# ------------------------------------------------------------------------------------------
# the parent
def contenders(names=CONTENDERS):
    """(name, python) of every contender of ``names`` whose environment exists."""
    out = []
    for name in names:
        fw = name.split(":")[0]
        py = sys.executable if fw == "gluonlite" else os.path.join(
            PEERS, "mxnet" if fw == "mxnet" else "torch", "bin", "python")
        if os.path.exists(py):
            out.append((name, py))
    return out


def _env():
    # default threading as users run them; only MXNet's chatter is muted
    return dict(os.environ, PYTHONWARNINGS="ignore", MXNET_STORAGE_FALLBACK_LOG_VERBOSE="0")


def _tail(f, n=1500):
    f.seek(0)
    return f.read()[-n:].strip()


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def measure(rows, rounds, names=CONTENDERS, floor=True, params=None):
    """Start every contender of ``names`` (and, if ``floor``, the GEMM-floor worker), run
    ``rounds`` alternating rounds (capped per row by ``max_rounds``), return the samples,
    GEMM plan sizes, failures and the contenders' names. ``params``, a dict if given,
    receives each contender's parameter count per row: ``{(name, row): n}``."""
    procs, failures, gemm_info = {}, {}, {}
    samples = {}
    params = {} if params is None else params
    try:
        workers = contenders(names)
        if floor:
            workers += [(FLOOR, py) for name, py in workers if name == "gluonlite:hybrid"]
        for name, py in workers:
            t = time.perf_counter()
            err = tempfile.TemporaryFile("w+")
            p = subprocess.Popen([py, os.path.abspath(__file__), "--worker", name,
                                  "--only", ",".join(rows)], cwd=ROOT, env=_env(),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                 text=True)
            line = p.stdout.readline()
            if not line:
                p.wait()
                for row in rows:
                    failures[(name, row)] = f"worker failed to start: {_tail(err)}"
                continue
            hello = json.loads(line)
            for key, msg in hello["errors"].items():
                if key.startswith(FLOOR + ":"):
                    failures[(FLOOR, key.split(":", 1)[1])] = msg
                else:
                    failures[(name, key)] = msg
            gemm_info.update({r: tuple(v) for r, v in hello["gemm"].items()})
            params.update({(name, r): n for r, n in hello.get("params", {}).items()})
            procs[name] = (p, err)
            _log(f"  {name}: ready in {time.perf_counter() - t:.1f} s")
        for i in range(rounds):
            _log(f"  round {i + 1}/{rounds}")
            for row in rows:
                cap = ROWS[row].max_rounds
                if cap is not None and i >= cap:
                    continue
                n = ROWS[row].steps
                jobs = []
                for name in procs:
                    if name == FLOOR:
                        continue
                    jobs.append((name, {"row": row, "n": n}))
                    if name == "gluonlite:hybrid" and row in gemm_info and FLOOR in procs:
                        jobs.append((FLOOR, {"gemm": row, "n": n}))
                for who, req in jobs:
                    if (who, row) in failures or who not in procs:
                        continue
                    p, err = procs[who]
                    time.sleep(PAUSE_S)
                    try:
                        p.stdin.write(json.dumps(req) + "\n")
                        p.stdin.flush()
                        line = p.stdout.readline()
                    except BrokenPipeError:
                        line = ""
                    if not line:  # the worker died (crash, out of memory): drop it
                        msg = f"worker died: {_tail(err)}"
                        for r in rows:
                            failures.setdefault((who, r), msg)
                        p.wait()
                        err.close()
                        del procs[who]
                        continue
                    out = json.loads(line)
                    if "error" in out:
                        failures[(who, row)] = out["error"]
                    else:
                        samples.setdefault((who, row), []).append(out["s"] / n * 1e3)
    finally:
        for p, err in procs.values():
            try:
                p.stdin.close()
            except OSError:
                pass
            p.wait(timeout=120)
            err.close()
    return samples, gemm_info, failures, [n for n, _ in contenders(names)]


def measure_memory():
    """The LeNet loop's memory for each contender, each in a fresh process."""
    out = {}
    for name, py in contenders():
        r = subprocess.run([py, os.path.abspath(__file__), "--memory-worker", name],
                           cwd=ROOT, env=_env(), capture_output=True, text=True)
        if r.returncode != 0 or not r.stdout.strip():
            out[name] = {"error": r.stderr.strip()[-500:] or f"exit {r.returncode}"}
        else:
            out[name] = json.loads(r.stdout.strip().splitlines()[-1])
        _log(f"  memory {name}: {out[name]}")
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--jit-runtime-worker"],
                       cwd=ROOT, env=_env(), capture_output=True, text=True)
    if r.returncode == 0 and r.stdout.strip():
        out["jit"] = json.loads(r.stdout.strip().splitlines()[-1])
        _log(f"  gluonlite JIT runtime: {out['jit']}")
    return out


# ------------------------------------------------------------------------------------------
# the report
def _mark(ok):
    return "✓" if ok else "✗"


def _fmt_ms(v):
    return f"{v:.3f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def time_cell(med, samples, failures, notes, name, row):
    """A table cell: the median ms with the fastest and slowest round, or a FAILED marker
    whose reason is appended to ``notes``, or "–" when the row was not run."""
    if (name, row) in med:
        v = samples[(name, row)]
        return f"{_fmt_ms(med[(name, row)])} ({_fmt_ms(min(v))}–{_fmt_ms(max(v))})"
    if (name, row) in failures:
        notes.append(f"{LABELS.get(name, name)}, {row}: FAILED: {failures[(name, row)]}")
        return f"FAILED [{len(notes)}]"
    return "–"


def report(rows, samples, gemm_info, failures, names, memory, markdown, rounds):
    med = {k: statistics.median(v) for k, v in samples.items() if v}
    lines, notes, goals = [], [], []

    def cell(name, row):
        return time_cell(med, samples, failures, notes, name, row)

    def ratio(a, b, row):
        if (a, row) in med and (b, row) in med:
            return med[(a, row)] / med[(b, row)]
        return None

    if markdown:
        lines += [
            "## Training and inference step (`bench/training.py`)",
            "",
            "ms per step (inference row: per call), median over alternating rounds, in "
            "brackets the fastest and slowest round; each contender in its own process with "
            "its default threading, a 0.3 s pause before each timed round so the previous "
            "contender's idle BLAS/OpenMP threads stop spinning. Training step: forward + "
            "`SoftmaxCrossEntropyLoss` under `autograd.record`, `backward`, `Trainer.step` "
            "(SGD, momentum 0.9), ending with `wait_to_read` + `nd.waitall()`; inference: "
            "`net(x).asnumpy()` (PyTorch: `.numpy()` under `torch.no_grad()`). Hybridized = "
            "`hybridize(static_alloc=True, static_shape=True)` on gluonlite and MXNet alike. "
            f"Up to {rounds} rounds per row (ResNet-18: at most "
            f"{ROWS['resnet18/64'].max_rounds}).",
            "",
        ]
        for row in rows:
            r = ROWS[row]
            unit = ("step" if r.train else "call") + ("s" if r.steps > 1 else "")
            lines.append(f"- `{row}`: {r.describe}; {r.steps} {unit} per round.")
        lines.append("")
    lines.append("| row | " + " | ".join(LABELS[n] for n in names) + " |")
    lines.append("|---" * (len(names) + 1) + "|")
    for row in rows:
        lines.append(f"| {row} | " + " | ".join(cell(n, row) for n in names) + " |")
    lines.append("")

    # ratios and goals
    lines.append("Ratios (below 1: gluonlite is faster) and the performance issue's goals:")
    lines.append("")
    lines.append("| row | hybridized: gluonlite / MXNet | goal | imperative: gluonlite / "
                 "MXNet | goal | gluonlite hybridized / PyTorch | goal | gluonlite hybridized "
                 "speed-up over its imperative |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for row in rows:
        hyb = ratio("gluonlite:hybrid", "mxnet:hybrid", row)
        imp = ratio("gluonlite:imperative", "mxnet:imperative", row)
        pt = ratio("gluonlite:hybrid", "pytorch:eager", row)
        sp = ratio("gluonlite:imperative", "gluonlite:hybrid", row)
        goal = ROWS[row].goal
        cols = [row]
        if hyb is None:
            cols += ["–", f"≤ {goal:.2f} –"]
        else:
            goals.append(hyb <= goal)
            cols += [f"{hyb:.2f}", f"≤ {goal:.2f} {_mark(hyb <= goal)}"]
        if imp is None:
            cols += ["–", "≤ 1.00 –"]
        else:
            goals.append(imp <= 1.0)
            cols += [f"{imp:.2f}", f"≤ 1.00 {_mark(imp <= 1.0)}"]
        tgoal = ROWS[row].torch_goal
        cols.append("–" if pt is None else f"{pt:.2f}")
        if tgoal is None:
            cols.append("–")
        elif pt is None:
            cols.append(f"≤ {tgoal:.2f} –")
        else:
            goals.append(pt <= tgoal)
            cols.append(f"≤ {tgoal:.2f} {_mark(pt <= tgoal)}")
        if sp is None:
            cols.append("–")
        elif row in SPEEDUP_GOAL:
            goals.append(sp >= SPEEDUP_GOAL[row])
            cols.append(f"{sp:.2f}x (goal ≥ {SPEEDUP_GOAL[row]:.1f}x "
                        f"{_mark(sp >= SPEEDUP_GOAL[row])})")
        else:
            cols.append(f"{sp:.2f}x")
        lines.append("| " + " | ".join(cols) + " |")
    lines.append("")

    # where gluonlite's hybridized step goes
    train_rows = [r for r in rows if ROWS[r].train]
    if train_rows:
        lines.append("Where gluonlite's hybridized training step goes: the GEMM floor is the "
                     "time NumPy's BLAS takes, in the same process, for just the matrix "
                     "products of one step (each Dense/Conv2D layer's forward, weight-gradient "
                     "and, except for the layer reading the data, input-gradient GEMM; "
                     "convolutions as one im2col GEMM over the batch; shapes read off the "
                     "model with forward hooks, see `bench/_gemm.py`); rest = step − floor "
                     "(im2col, pooling, BatchNorm, activations, loss, optimizer, Python).")
        lines.append("")
        lines.append("| row | gluonlite hybridized step (ms) | GEMMs | GFLOP | GEMM floor (ms) "
                     "| floor GFLOP/s | rest (ms) | GEMM share of step |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for row in train_rows:
            step = med.get(("gluonlite:hybrid", row))
            floor = med.get((FLOOR, row))
            count, gf = gemm_info.get(row, (None, None))
            cols = [row, "–" if step is None else _fmt_ms(step),
                    "–" if count is None else str(count),
                    "–" if gf is None else f"{gf:.3f}"]
            if floor is None:
                cols += [cell(FLOOR, row), "–", "–", "–"]
            else:
                cols += [_fmt_ms(floor), f"{gf / floor * 1e3:.0f}"]
                if step is None:
                    cols += ["–", "–"]
                elif floor > step:
                    # whole-batch GEMMs through threaded BLAS ran slower than the step's
                    # cache-sized chunks on single-threaded BLAS: no floor to compare with
                    cols += ["step below the floor", f"{floor / step:.0%}"]
                else:
                    cols += [_fmt_ms(step - floor), f"{floor / step:.0%}"]
            lines.append("| " + " | ".join(cols) + " |")
        lines.append("")

    # memory
    if memory:
        lines.append(f"Peak memory of the `{MEMORY_ROW}` training loop, each contender in a "
                     "fresh process: RSS right before building the model and loading the "
                     "batch (framework already imported), then 2 warm-up steps, then the "
                     "resident high-water mark (`VmHWM`) is reset (`/proc/self/clear_refs`) "
                     f"and {MEMORY_STEPS} steps run; increase = high-water mark after them "
                     "− RSS before the model (see `bench/_memory.py`). MB = 10^6 bytes. "
                     "Libraries a framework imports lazily during the loop (named in the "
                     "table) count in its increase.")
        lines.append("")
        jit = memory.get("jit")
        jit_mb = jit["import"] + jit["first_kernel"] if jit else None
        if jit:
            lines.append(
                f"gluonlite's JIT runtime, measured alone in a fresh process: importing Numba "
                f"adds {jit['import']:.1f} MB and the first compiled kernel (loaded from the "
                f"disk cache; LLVM and Numba's typing start) {jit['first_kernel']:.1f} MB, "
                f"{jit_mb:.1f} MB in all, part of gluonlite's increase below, once per "
                "process whatever the model (MXNet's compiled library is in its RSS before "
                "the model). The last column gives gluonlite's ratio without it.")
            lines.append("")
        lines.append("| contender | RSS before model (MB) | peak RSS (MB) | increase (MB) | "
                     "imported during the loop | gluonlite / MXNet (same mode) | "
                     "same, without the JIT runtime | goal (without the JIT runtime) |")
        lines.append("|---|---|---|---|---|---|---|---|")
        inc = {n: m["peak"] - m["before"] for n, m in memory.items()
               if n != "jit" and "error" not in m}
        for name in names:
            m = memory.get(name)
            if m is None:
                continue
            if "error" in m:
                notes.append(f"{LABELS[name]}, memory: FAILED: {m['error']}")
                lines.append(f"| {LABELS[name]} | FAILED [{len(notes)}] | | | | | | |")
                continue
            cmp_, goal, bare = "–", "–", "–"
            peer = name.replace("gluonlite:", "mxnet:")
            if name.startswith("gluonlite:") and peer in inc:
                q = inc[name] / inc[peer]
                cmp_ = f"{q:.2f}"
                # the goal excludes the JIT runtime (a per-process constant); when
                # it was not loaded in the loop, or not measured, the whole increase counts
                if jit_mb is not None and "numba" in m.get("lazy", []):
                    q = (inc[name] - jit_mb) / inc[peer]
                    bare = f"{q:.2f}"
                goals.append(q <= 1.0)
                goal = f"≤ 1.00 {_mark(q <= 1.0)}"
            reset = "" if m["reset"] else " (no reset: whole process)"
            lazy = ", ".join(m.get("lazy", [])) or "–"
            lines.append(f"| {LABELS[name]} | {m['before']:.1f} | {m['peak']:.1f}{reset} | "
                         f"{inc[name]:.1f} | {lazy} | {cmp_} | {bare} | {goal} |")
        lines.append("")
    if goals:
        lines.append(f"Goals met: {sum(goals)} of {len(goals)}.")
        lines.append("")
    for i, note in enumerate(notes, 1):
        lines.append(f"[{i}] {note}")
    if notes:
        lines.append("")
    return "\n".join(lines)


def parse_rows(values, suite="step"):
    """``--only`` values (repeatable, comma-separated) to a checked row list in table
    order: every name must be a row of ``ROWS``; with ``suite`` ("step", "zoo") only that
    suite's rows are kept (``bench/run.py`` hands every benchmark the same ``--only``),
    with ``suite=None`` all. No values: all rows of ``suite``."""
    if not values:
        return suite_rows(suite) if suite else list(ROWS)
    wanted = [v.strip() for val in values for v in val.split(",") if v.strip()]
    check_rows(wanted)
    return [r for r in ROWS if r in wanted and (suite is None or ROWS[r].suite == suite)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", choices=CONTENDERS + (FLOOR,), help=argparse.SUPPRESS)
    ap.add_argument("--memory-worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    ap.add_argument("--jit-runtime-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--markdown", action="store_true", help="print a Markdown section")
    ap.add_argument("--quick", action="store_true", help="2 rounds (smoke test)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="alternating rounds (default 15, with --quick 2)")
    ap.add_argument("--only", action="append", metavar="ROW",
                    help="run only these rows (repeatable or comma-separated): "
                         f"{suite_rows('step')}; bench/models.py's rows work too")
    args = ap.parse_args()
    try:
        # workers serve whichever rows their parent (this script or models.py) asks for
        worker_mode = args.worker or args.memory_worker or args.jit_runtime_worker
        rows = parse_rows(args.only, None if worker_mode else "step")
    except ValueError as e:
        ap.error(str(e))
    if args.worker:
        worker(args.worker, rows)
        return
    if args.memory_worker:
        memory_worker(args.memory_worker)
        return
    if args.jit_runtime_worker:
        jit_runtime_worker()
        return
    rounds = args.rounds if args.rounds is not None else (2 if args.quick else 15)
    if rounds < 1:
        ap.error("--rounds must be at least 1")
    if not rows:
        _log("training.py: none of the chosen rows is one of its own; nothing to run")
        return
    _log(f"training.py: rows {rows}, {rounds} rounds")
    samples, gemm_info, failures, names = measure(rows, rounds)
    memory = measure_memory() if MEMORY_ROW in rows else {}
    print(report(rows, samples, gemm_info, failures, names, memory, args.markdown, rounds))


if __name__ == "__main__":
    main()
