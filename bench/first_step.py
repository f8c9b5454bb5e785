"""First hybridized training step in a cold process with a warm kernel cache: gluonlite vs
MXNet 1.9.1 (and PyTorch 2.13 eager for reference, when ``.peers/`` has them).

Each sample is a fresh process that imports its framework, reads the batch (so decompressing
Fashion-MNIST is not counted), starts the clock, builds the ``bench/training.py`` model
(LeNet or MLP, batch 256), initialises it, hybridizes it (``static_alloc``/``static_shape``;
PyTorch: eager), and runs one training step (forward + loss under ``autograd.record``,
``backward``, ``Trainer.step``, ``wait_to_read`` + ``nd.waitall()``); the time to the end of
that step is the row. gluonlite's processes of a row share one kernel cache
(``GLUONLITE_CACHE_DIR``, a new temporary directory per row) that the row's first process
filled -- the "warm cache" every later run of a user's program sees; that first, cold-cache
process is reported alongside. Import
time is reported separately. Processes of the contenders alternate; medians.

    python bench/first_step.py --markdown          # the section bench/run.py writes
    python bench/first_step.py --quick             # 1 sample per contender
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import training

ROWS = ("lenet/256", "mlp/256")
NAMES = ("gluonlite:hybrid", "mxnet:hybrid", "pytorch:eager")
GOAL_S = {"lenet/256": 0.5}   # the performance issue's bound, gluonlite, seconds
DEFAULT_SAMPLES = 5


def child(name, row):
    """In a fresh process: ``{"import_s", "first_step_s"}`` for ``row``."""
    t0 = time.perf_counter()
    fw = name.split(":")[0]
    mod = training._framework(fw)
    t_import = time.perf_counter() - t0
    from _workloads import batch
    batch(row)  # cached: the runner's own call below does not read the data set again
    t = time.perf_counter()
    run = training._runner(name, row)
    run(1)
    first = time.perf_counter() - t
    del mod
    return {"import_s": t_import, "first_step_s": first}


def sample(name, py, row, cache):
    """One cold process of contender ``name`` on ``row``: the child's JSON, or an error."""
    env = dict(training._env(), GLUONLITE_CACHE_DIR=cache)
    r = subprocess.run([py, os.path.abspath(__file__), "--child", name, "--row", row],
                       cwd=training.ROOT, env=env, capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0 or not r.stdout.strip():
        return {"error": (r.stderr.strip() or f"exit {r.returncode}")[-500:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def measure(samples_n, names=NAMES):
    """``{(name, row): [result, ...]}`` and the cold-cache results ``{row: result}``."""
    out, cold = {}, {}
    procs = training.contenders(names)
    with tempfile.TemporaryDirectory() as tmp:
        # one cache per row, so a row's cold process finds nothing another row compiled
        caches = {row: os.path.join(tmp, row.replace("/", "_")) for row in ROWS}
        for row in ROWS:
            if any(n == "gluonlite:hybrid" for n, _ in procs):
                cold[row] = sample("gluonlite:hybrid", sys.executable, row, caches[row])
                training._log(f"  cold cache {row}: {cold[row]}")
        for i in range(samples_n):
            for row in ROWS:
                for name, py in procs:
                    res = sample(name, py, row, caches[row])
                    out.setdefault((name, row), []).append(res)
                    training._log(f"  {i + 1}/{samples_n} {name} {row}: {res}")
    return out, cold


def report(results, cold, names, markdown, samples_n):
    """The table: median first-step seconds per contender and row, import times, goal."""
    lines = []
    goals = []

    def med(name, row, key):
        vals = [r[key] for r in results.get((name, row), []) if "error" not in r]
        return statistics.median(vals) if vals else None

    if markdown:
        lines += ["## First hybridized training step (`bench/first_step.py`)", "",
                  "Seconds from a fresh process's end of imports to the end of its first "
                  "hybridized training step (build, initialise, hybridize, one step; batch "
                  "256, the `bench/training.py` models), gluonlite on a warm kernel cache "
                  "(a new `GLUONLITE_CACHE_DIR` per row, filled by the row's first process, "
                  "whose time is the cold-cache column); median of "
                  f"{samples_n} processes per cell, contenders alternating. Import time "
                  "(not in the step) in brackets.", ""]
    lines.append("| row | " + " | ".join(training.LABELS[n] for n in names)
                 + " | gluonlite, cold kernel cache | gluonlite / MXNet | goal |")
    lines.append("|---" * (len(names) + 4) + "|")
    errors = []
    for row in ROWS:
        cols = [row]
        for n in names:
            s, imp = med(n, row, "first_step_s"), med(n, row, "import_s")
            bad = [r["error"] for r in results.get((n, row), []) if "error" in r]
            if bad:
                errors.append(f"{training.LABELS[n]}, {row}: {bad[0]}")
            cols.append("FAILED" if s is None else f"{s:.2f} ({imp:.2f})")
        c = cold.get(row, {})
        cols.append(f"{c['first_step_s']:.2f}" if "first_step_s" in c else "–")
        g, m = med("gluonlite:hybrid", row, "first_step_s"), med("mxnet:hybrid", row,
                                                                  "first_step_s")
        cols.append(f"{g / m:.2f}" if g is not None and m is not None else "–")
        if row in GOAL_S:
            ok = g is not None and g <= GOAL_S[row]
            goals.append(ok)
            cols.append(f"≤ {GOAL_S[row]:.1f} s {training._mark(ok)}")
        else:
            cols.append("–")
        lines.append("| " + " | ".join(cols) + " |")
    lines.append("")
    if goals:
        lines.append(f"Goals met: {sum(goals)} of {len(goals)}.")
        lines.append("")
    for e in errors:
        lines.append(f"- FAILED: {e}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--child", choices=NAMES, help=argparse.SUPPRESS)
    ap.add_argument("--row", choices=ROWS, help=argparse.SUPPRESS)
    ap.add_argument("--markdown", action="store_true", help="print a Markdown section")
    ap.add_argument("--quick", action="store_true", help="1 process per cell (smoke test)")
    ap.add_argument("--samples", type=int, default=None,
                    help=f"processes per cell (default {DEFAULT_SAMPLES}, with --quick 1)")
    ap.add_argument("--contenders", default=",".join(NAMES),
                    help=f"comma-separated subset of {list(NAMES)}")
    args = ap.parse_args()
    if args.child:
        if not args.row:
            ap.error("--child needs --row")
        out, sys.stdout = sys.stdout, sys.stderr  # frameworks' chatter stays off the JSON
        print(json.dumps(child(args.child, args.row)), file=out, flush=True)
        return
    names = tuple(n.strip() for n in args.contenders.split(",") if n.strip())
    bad = [n for n in names if n not in NAMES]
    if bad or not names:
        ap.error(f"--contenders: unknown {bad}; expected some of {list(NAMES)}")
    n = args.samples if args.samples is not None else (1 if args.quick else DEFAULT_SAMPLES)
    if n < 1:
        ap.error("--samples must be at least 1")
    results, cold = measure(n, names)
    got = [name for name, _ in training.contenders(names)]
    print(report(results, cold, got, args.markdown, n))


if __name__ == "__main__":
    main()
