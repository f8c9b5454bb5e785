"""gluonlite hybridized under different compiler settings, side by side in one run: what
each part of the compiler buys on the training rows.

Settings (environment variables read when a program is compiled):

* ``all on`` — the default: decomposition, fusion, hot kernels;
* ``no split`` — ``GLUONLITE_DECOMPOSE=0``: bias adds and BatchNorm's scale/shift stay
  inside their operators, so activations run as their own pass (the state before the
  decomposition pass);
* ``no fusion`` — ``GLUONLITE_FUSE=0``: every elementwise operator is its own NumPy call;
* ``reference`` — ``GLUONLITE_JIT=0``: reference operators only, no compiled kernels.

A setting may also be written as environment assignments joined by ``+`` (for example
``GLUONLITE_DECOMPOSE=0+OMP_WAIT_POLICY=passive``), to try a thread setting side by side.

``--baseline DIR`` adds the checkout in ``DIR`` (another commit of gluonlite, for example
``git worktree add /tmp/base HEAD~3``) as one more contender, run with default settings: our
previous state, measured side by side.

Each setting runs in its own worker process (``training.py --worker gluonlite:hybrid``);
the parent alternates them round by round, as ``training.py`` does for frameworks, and
reports medians and each setting's ratio to ``all on``.

    python bench/ablation.py --only lenet/256,resnet18/64 --rounds 7
    python bench/ablation.py --baseline /tmp/base --settings "all on"

``make bench`` runs it with its defaults: the ``mlp/256``, ``lenet/256`` and ``resnet18/64``
rows, settings ``all on``, ``no split`` and ``no fusion``, 5 rounds.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _workloads import ROWS
from training import PAUSE_S, _env, _log, _tail, parse_rows

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAINING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "training.py")
DEFAULT_ROWS = ("mlp/256", "lenet/256", "resnet18/64")
DEFAULT_SETTINGS = ("all on", "no split", "no fusion")
SETTINGS = {
    "all on": {},
    "no split": {"GLUONLITE_DECOMPOSE": "0"},
    "no fusion": {"GLUONLITE_FUSE": "0"},
    "reference": {"GLUONLITE_JIT": "0"},
}


def setting_env(name):
    """The environment variables of setting ``name`` (a known name, or ``K=V+K=V``)."""
    if name in SETTINGS:
        return SETTINGS[name]
    pairs = [p.split("=", 1) for p in name.split("+")]
    if not all(len(p) == 2 and p[0] for p in pairs):
        raise ValueError(f"setting {name!r}: expected one of {list(SETTINGS)} or K=V+K=V")
    return dict(pairs)


BASELINE = "baseline"


def measure(rows, rounds, settings, baseline=None):
    """Alternating rounds over ``settings`` (and the ``baseline`` checkout);
    ``{(setting, row): [ms per step, ...]}`` and failures."""
    procs, samples, failures = {}, {}, {}
    try:
        for name in settings:
            err = tempfile.TemporaryFile("w+")
            env = dict(_env(), **({} if name == BASELINE else setting_env(name)))
            script = TRAINING if name != BASELINE else os.path.join(baseline, "bench",
                                                                     "training.py")
            p = subprocess.Popen([sys.executable, script, "--worker", "gluonlite:hybrid",
                                  "--only", ",".join(rows)], cwd=ROOT, env=env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                 text=True)
            line = p.stdout.readline()
            if not line:
                p.wait()
                failures[name] = f"worker failed to start: {_tail(err)}"
                continue
            for row, msg in json.loads(line)["errors"].items():
                failures[f"{name} {row}"] = msg
            procs[name] = (p, err)
            _log(f"  {name}: ready")
        for i in range(rounds):
            _log(f"  round {i + 1}/{rounds}")
            for row in rows:
                cap = ROWS[row].max_rounds
                if cap is not None and i >= cap:
                    continue
                n = ROWS[row].steps
                for name, (p, _) in procs.items():
                    time.sleep(PAUSE_S)
                    p.stdin.write(json.dumps({"row": row, "n": n}) + "\n")
                    p.stdin.flush()
                    out = json.loads(p.stdout.readline())
                    if "error" in out:
                        failures[f"{name} {row}"] = out["error"]
                    else:
                        samples.setdefault((name, row), []).append(out["s"] / n * 1e3)
    finally:
        for p, err in procs.values():
            p.stdin.close()
            p.wait(timeout=120)
            err.close()
    return samples, failures


def report(rows, settings, samples, failures, rounds):
    """The Markdown table: median ms per step and the ratio to ``all on``."""
    lines = [f"Medians of {rounds} alternating rounds, ms per training step "
             "(ratio to `all on`).", "",
             "| row | " + " | ".join(settings) + " |",
             "|---|" + "---:|" * len(settings)]
    for row in rows:
        base = samples.get((settings[0], row))
        cells = []
        for name in settings:
            got = samples.get((name, row))
            if not got:
                cells.append("—")
                continue
            med = statistics.median(got)
            ratio = "" if not base or name == settings[0] else \
                f" ({med / statistics.median(base):.2f})"
            cells.append(f"{med:.2f}{ratio}")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    for key, msg in failures.items():
        lines.append(f"\n{key}: {msg}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=None,
                    help="alternating rounds (default 5, with --quick 2)")
    ap.add_argument("--quick", action="store_true", help="2 rounds (smoke test)")
    ap.add_argument("--markdown", action="store_true",
                    help="print a Markdown section (the table is Markdown already)")
    ap.add_argument("--only", action="append", metavar="ROW",
                    help=f"training rows to run (default: {', '.join(DEFAULT_ROWS)})")
    ap.add_argument("--baseline", metavar="DIR",
                    help="another gluonlite checkout to run side by side (default settings)")
    ap.add_argument("--settings", default=",".join(DEFAULT_SETTINGS),
                    help=f"comma-separated settings (default {', '.join(DEFAULT_SETTINGS)}; "
                         f"known: {list(SETTINGS)}, or K=V+K=V)")
    args = ap.parse_args()
    try:
        rows = [r for r in parse_rows(args.only or [",".join(DEFAULT_ROWS)])
                if ROWS[r].train]
    except ValueError as e:
        ap.error(str(e))
    settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    if not settings:
        ap.error("--settings: give at least one setting")
    for s in settings:
        try:
            setting_env(s)
        except ValueError as e:
            ap.error(f"--settings: {e}")
    rounds = args.rounds if args.rounds is not None else (2 if args.quick else 5)
    if rounds < 1:
        ap.error("--rounds must be at least 1")
    if not rows:
        ap.error("--only: no training row selected")
    if args.baseline:
        if not os.path.exists(os.path.join(args.baseline, "bench", "training.py")):
            ap.error(f"--baseline: {args.baseline} has no bench/training.py")
        settings.append(BASELINE)
    samples, failures = measure(rows, rounds, settings, args.baseline)
    text = report(rows, settings, samples, failures, rounds)
    if args.markdown:
        text = ("What each part of the compiler buys: gluonlite hybridized with one part "
                "turned off, side by side in one run (`bench/ablation.py`; `no split` = "
                "`GLUONLITE_DECOMPOSE=0`, `no fusion` = `GLUONLITE_FUSE=0`).\n\n" + text)
    print(text)


if __name__ == "__main__":
    main()
