"""gluonlite against an earlier gluonlite: the same rows, two checkouts, side by side in one run.

``make bench`` compares gluonlite with MXNet and PyTorch; a refactor or a new kernel must also be
compared with *our own previous state*. This script checks out ``--base`` (a commit, tag or
branch) into a temporary git worktree and times the current working tree against it:

* per-operator overhead (``bench/overhead.py``'s ``add`` and ``record+backward`` cases), and
* training/inference rows (``bench/training.py``'s and ``bench/models.py``'s rows, hybridized
  and imperative),

each side in its own processes, started from its own checkout's ``bench/`` scripts (so each
side runs its own workloads and its own package), with the rounds alternating between the
sides. Ratios are new / base (below 1: the working tree is faster).

    python bench/versus.py --base pre15 --markdown
    python bench/versus.py --base HEAD~3 --only mlp/16,lenet/256 --rounds 7
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import training  # noqa: E402
from _workloads import ROWS, check_rows  # noqa: E402

DEFAULT_ROWS = ("mlp/256", "mlp/16", "lenet/256", "mlp-infer/1", "resnet20-infer/1",
                "resnet20/128")
MODES = ("gluonlite:hybrid", "gluonlite:imperative")
PAUSE_S = 0.3


def _git(*args, cwd=ROOT):
    r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout.strip()


class Worktree:
    """A detached git worktree of ``rev`` in a temporary directory, removed on exit."""

    def __init__(self, rev):
        self.rev = rev
        self.commit = _git("rev-parse", "--short", f"{rev}^{{commit}}")
        self.path = None

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="gluonlite-base-")
        _git("worktree", "add", "--detach", self.path, self.commit)
        return self

    def __exit__(self, *exc):
        subprocess.run(["git", "worktree", "remove", "--force", self.path], cwd=ROOT,
                       capture_output=True)
        shutil.rmtree(self.path, ignore_errors=True)


class _Proc:
    """One JSON-lines worker process."""

    def __init__(self, argv, cwd):
        self.err = tempfile.TemporaryFile("w+")
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        self.p = subprocess.Popen([sys.executable, *argv], cwd=cwd, env=env, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err)
        self.hello = self._read()

    def _read(self):
        line = self.p.stdout.readline()
        if not line:
            self.err.seek(0)
            raise RuntimeError(f"worker {self.p.args[1:]} died: {self.err.read()[-800:]}")
        return json.loads(line)

    def ask(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()
        return self._read()

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        self.p.wait(timeout=120)
        self.err.close()


def measure_overhead(sides, rounds):
    """{side: {case: [µs per op]}} from each side's ``bench/overhead.py`` gluonlite worker."""
    procs = {s: _Proc([os.path.join(root, "bench", "overhead.py"), "--worker", "gluonlite"],
                      root) for s, root in sides.items()}
    out = {s: {} for s in sides}
    try:
        for _ in range(rounds):
            for s, p in procs.items():
                for case, us in p.ask("round").items():
                    out[s].setdefault(case, []).append(us)
    finally:
        for p in procs.values():
            try:
                p.p.stdin.write("stop\n")
            except OSError:
                pass
            p.close()
    return out


def measure_rows(sides, rows, rounds, modes):
    """{(side, mode, row): [ms per step]} from each side's ``bench/training.py`` workers
    (which serve bench/models.py's rows too)."""
    procs, out, failed = {}, {}, {}
    try:
        for mode in modes:
            for s, root in sides.items():
                p = _Proc([os.path.join(root, "bench", "training.py"), "--worker", mode,
                           "--only", ",".join(rows)], root)
                for row, msg in p.hello.get("errors", {}).items():
                    failed[(s, mode, row)] = msg
                procs[(s, mode)] = p
        for i in range(rounds):
            print(f"  round {i + 1}/{rounds}", file=sys.stderr, flush=True)
            for row in rows:
                cap = ROWS[row].max_rounds
                if cap is not None and i >= cap:
                    continue
                n = ROWS[row].steps
                for (s, mode), p in procs.items():
                    if (s, mode, row) in failed:
                        continue
                    time.sleep(PAUSE_S)
                    res = p.ask(json.dumps({"row": row, "n": n}))
                    if "error" in res:
                        failed[(s, mode, row)] = res["error"]
                    else:
                        out.setdefault((s, mode, row), []).append(res["s"] / n * 1e3)
    finally:
        for p in procs.values():
            p.close()
    return out, failed


def _med(v):
    return statistics.median(v) if v else None


def report(base, overhead, rows, timed, failed, modes, rounds):
    lines = [f"Working tree vs base `{base.rev}` ({base.commit}), {rounds} alternating rounds, "
             "medians; ratio = working tree / base (below 1: the working tree is faster). "
             f"Command: `python bench/versus.py {' '.join(sys.argv[1:])}`.", ""]
    if overhead:
        lines += ["| per-operator case | base (µs) | working tree (µs) | ratio |",
                  "|---|---:|---:|---:|"]
        for case in overhead["new"]:
            b, n = _med(overhead["base"].get(case)), _med(overhead["new"][case])
            lines.append(f"| {case} | {b:.2f} | {n:.2f} | {n / b:.2f} |")
        lines.append("")
    if rows:
        lines += ["| row | mode | base (ms) | working tree (ms) | ratio |",
                  "|---|---|---:|---:|---:|"]
        for row in rows:
            for mode in modes:
                m = mode.split(":")[1]
                b = _med(timed.get(("base", mode, row), []))
                n = _med(timed.get(("new", mode, row), []))
                if b is None or n is None:
                    why = failed.get(("new", mode, row)) or failed.get(("base", mode, row))
                    lines.append(f"| {row} | {m} | – | – | failed: {str(why)[:80]} |")
                    continue
                lines.append(f"| {row} | {m} | {training._fmt_ms(b)} | "
                             f"{training._fmt_ms(n)} | {n / b:.2f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="the commit, tag or branch to compare with")
    ap.add_argument("--only", action="append", metavar="ROW",
                    help=f"rows (comma-separated; default {','.join(DEFAULT_ROWS)})")
    ap.add_argument("--rounds", type=int, default=7, help="alternating rounds (default 7)")
    ap.add_argument("--hybrid-only", action="store_true", help="skip the imperative mode")
    ap.add_argument("--no-overhead", action="store_true", help="skip the per-operator cases")
    ap.add_argument("--markdown", action="store_true", help="(the output is Markdown)")
    args = ap.parse_args()
    rows = [r.strip() for v in (args.only or [",".join(DEFAULT_ROWS)]) for r in v.split(",")
            if r.strip()]
    try:
        check_rows(rows)
    except ValueError as e:
        ap.error(str(e))
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    modes = MODES[:1] if args.hybrid_only else MODES
    with Worktree(args.base) as base:
        sides = {"base": base.path, "new": ROOT}
        overhead = None
        if not args.no_overhead:
            raw = measure_overhead(sides, max(args.rounds, 5))
            overhead = {"base": raw["base"], "new": raw["new"]}
        timed, failed = measure_rows(sides, rows, args.rounds, modes)
        print(report(base, overhead, rows, timed, failed, modes, args.rounds))


if __name__ == "__main__":
    main()
