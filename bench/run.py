"""Run every benchmark in bench/ and write bench/RESULTS.md (``make bench``).

A benchmark is any ``bench/*.py`` other than this file and files starting with ``_``; it
must accept ``--markdown`` and print a Markdown section. One that lists ``--quick`` in its
``--help`` gets it with ``--quick``; one that lists ``--only`` has selectable rows and gets
``--only`` (benchmarks without rows are skipped when rows are selected). RESULTS.md records
the exact command, the machine (CPU model, cores, load), the software versions and each
section. Only a full run writes bench/RESULTS.md by default; a partial one (``--quick``,
``--only`` or named benchmarks) just prints, unless ``-o`` says where to write.

    python bench/run.py                             # everything, writes bench/RESULTS.md
    python bench/run.py overhead                    # only bench/overhead.py
    python bench/run.py --quick                     # every benchmark, few rounds
    python bench/run.py --quick --only resnet18/64  # one row of bench/training.py
"""
import argparse
import datetime
import glob
import os
import platform
import shlex
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# run by hand, not by `make bench`: versus.py needs a base revision to compare with
MANUAL = ("run", "versus")


def benchmarks():
    """The benchmark scripts, by name, in a stable order."""
    out = []
    for p in sorted(glob.glob(os.path.join(HERE, "*.py"))):
        name = os.path.basename(p)[:-3]
        if name not in MANUAL and not name.startswith("_"):
            out.append(name)
    return out


def options(name):
    """The options of ``{--quick, --only}`` that benchmark ``name`` lists in its --help."""
    r = subprocess.run([sys.executable, os.path.join(HERE, f"{name}.py"), "--help"],
                       capture_output=True, text=True, cwd=ROOT)
    return {opt for opt in ("--quick", "--only") if opt in r.stdout}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def physical_cores():
    """Distinct (physical id, core id) pairs in /proc/cpuinfo, or None if unknown."""
    try:
        cores, phys = set(), None
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("physical id"):
                    phys = line.split(":", 1)[1].strip()
                elif line.startswith("core id"):
                    cores.add((phys, line.split(":", 1)[1].strip()))
        return len(cores) or None
    except OSError:
        return None


def machine():
    logical = os.cpu_count()
    phys = physical_cores()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = logical
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    import numpy
    lines = [
        f"- CPU: {cpu_model()}, {logical} logical cores"
        + (f" ({phys} physical)" if phys else "") + f", {usable} usable by this process",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}, NumPy {numpy.__version__}",
    ]
    if load:
        lines.append(f"- load average at start: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} "
                     "(other processes share this machine; compare ratios, not absolute "
                     "times)")
    return lines


def git_rev():
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=ROOT).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=ROOT).stdout.strip()
        return (rev + (" with uncommitted changes" if dirty else "")) if rev else "unknown"
    except OSError:
        return "unknown"


def peer_versions():
    """Lines naming the peer frameworks found in .peers/ and their versions."""
    out = []
    for label, env, mod in (("MXNet", "mxnet", "mxnet"), ("PyTorch", "torch", "torch")):
        py = os.path.join(ROOT, ".peers", env, "bin", "python")
        if not os.path.exists(py):
            out.append(f"- {label}: not installed (no .peers/{env}/), not measured")
            continue
        r = subprocess.run([py, "-c", f"import {mod}; print({mod}.__version__)"],
                           capture_output=True, text=True, cwd=ROOT,
                           env=dict(os.environ, PYTHONWARNINGS="ignore"))
        ver = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout else "?"
        out.append(f"- {label} {ver} (`.peers/{env}/bin/python`)")
    return out


def run_one(name, extra):
    """Run benchmark ``name`` with ``--markdown`` + ``extra``; its stderr (progress) is
    shown as it comes and kept for the failure report. Returns (returncode, stdout, stderr)."""
    p = subprocess.Popen([sys.executable, os.path.join(HERE, f"{name}.py"), "--markdown",
                          *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=ROOT)
    err = []

    def pump():
        for line in p.stderr:
            err.append(line)
            sys.stderr.write(line)
            sys.stderr.flush()
    t = threading.Thread(target=pump, daemon=True)
    t.start()
    out = p.stdout.read()
    p.wait()
    t.join()
    return p.returncode, out, "".join(err)


def main():
    names = benchmarks()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("benchmarks", nargs="*",
                    help=f"benchmarks to run (default: all of {names})")
    ap.add_argument("-o", "--output", default=None,
                    help="where to write the results (default: bench/RESULTS.md for a full "
                         "run; a partial run only prints)")
    ap.add_argument("--quick", action="store_true",
                    help="few rounds per benchmark (a smoke test; numbers are rough)")
    ap.add_argument("--only", action="append", metavar="ROW", default=[], dest="rows",
                    help="run only these rows (e.g. mlp/16, resnet18/64; repeatable or "
                         "comma-separated) of the benchmarks that have rows")
    args = ap.parse_args()
    unknown = sorted(set(args.benchmarks) - set(names))
    if unknown:
        ap.error(f"unknown benchmark(s) {unknown}; available: {names}")
    chosen = args.benchmarks or names
    partial = bool(args.benchmarks or args.quick or args.rows)
    extra = {}
    for name in chosen:
        opts = options(name)
        if args.rows and "--only" not in opts:
            continue  # a benchmark without rows has nothing to run when rows are chosen
        extra[name] = ((["--quick"] if args.quick and "--quick" in opts else []) +
                       [a for row in args.rows for a in ("--only", row)])
    if not extra:
        ap.error("none of the chosen benchmarks has selectable rows (--only)")
    output = args.output or (None if partial else os.path.join(HERE, "RESULTS.md"))

    cmd = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.executable, ROOT)
                                            if sys.executable.startswith(ROOT)
                                            else sys.executable,
                                            os.path.relpath(os.path.abspath(__file__), ROOT)]
                   + sys.argv[1:])
    started = datetime.datetime.now().astimezone()
    head = [
        "# Benchmark results",
        "",
        f"Produced by `{cmd}` "
        + ("(a partial run) " if partial else "(what `make bench` runs) ")
        + f"from the repository root on {started:%Y-%m-%d %H:%M %Z}, at commit "
        f"{git_rev()}.",
        "",
        "Machine and software:",
        "",
        *machine(),
        *peer_versions(),
        "",
    ]
    sections, failed = [], []
    for name, more in extra.items():
        print(f"running bench/{name}.py {' '.join(more)} ...", file=sys.stderr, flush=True)
        t = time.perf_counter()
        rc, out, err = run_one(name, more)
        print(f"bench/{name}.py took {time.perf_counter() - t:.0f} s", file=sys.stderr,
              flush=True)
        if rc != 0:
            failed.append(name)
            sections.append(f"## {name}\n\nFAILED (exit {rc}):\n\n```\n"
                            f"{err.strip()[-2000:]}\n```\n")
        else:
            sections.append(out.rstrip() + "\n")
    if hasattr(os, "getloadavg"):  # how busy the machine was while it ran
        end = os.getloadavg()
        head.insert(-1, f"- load average at the end: {end[0]:.2f}, {end[1]:.2f}, {end[2]:.2f}")
    text = "\n".join(head) + "\n" + "\n".join(sections)
    print(text)
    if output:
        with open(output, "w") as f:
            f.write(text)
        print(f"wrote {output}", file=sys.stderr)
    if failed:
        sys.exit(f"benchmark(s) failed: {failed}")


if __name__ == "__main__":
    main()
