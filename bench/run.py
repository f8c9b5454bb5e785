"""Run every benchmark in bench/ and write bench/RESULTS.md (``make bench``).

A benchmark is any ``bench/*.py`` other than this file and files starting with ``_``; it
must accept ``--markdown`` and print a Markdown section. RESULTS.md records the exact
command, the machine (CPU model, cores, load), the software versions and each section.

    python bench/run.py                 # all benchmarks, writes bench/RESULTS.md
    python bench/run.py overhead        # only bench/overhead.py
"""
import argparse
import datetime
import glob
import os
import platform
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def benchmarks():
    """The benchmark scripts, by name, in a stable order."""
    out = []
    for p in sorted(glob.glob(os.path.join(HERE, "*.py"))):
        name = os.path.basename(p)[:-3]
        if name != "run" and not name.startswith("_"):
            out.append(name)
    return out


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


def main():
    names = benchmarks()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("only", nargs="*", help=f"benchmarks to run (default: all of {names})")
    ap.add_argument("-o", "--output", default=os.path.join(HERE, "RESULTS.md"),
                    help="where to write the results (default bench/RESULTS.md)")
    args = ap.parse_args()
    unknown = sorted(set(args.only) - set(names))
    if unknown:
        ap.error(f"unknown benchmark(s) {unknown}; available: {names}")
    chosen = args.only or names

    cmd = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.executable, ROOT)
                                            if sys.executable.startswith(ROOT)
                                            else sys.executable,
                                            os.path.relpath(os.path.abspath(__file__), ROOT)]
                   + sys.argv[1:])
    started = datetime.datetime.now().astimezone()
    head = [
        "# Benchmark results",
        "",
        f"Produced by `{cmd}` (what `make bench` runs) from the repository root on "
        f"{started:%Y-%m-%d %H:%M %Z}, at commit {git_rev()}.",
        "",
        "Machine:",
        "",
        *machine(),
        "",
    ]
    sections, failed = [], []
    for name in chosen:
        print(f"running bench/{name}.py ...", file=sys.stderr, flush=True)
        r = subprocess.run([sys.executable, os.path.join(HERE, f"{name}.py"), "--markdown"],
                           capture_output=True, text=True, cwd=ROOT)
        if r.returncode != 0:
            failed.append(name)
            sections.append(f"## {name}\n\nFAILED (exit {r.returncode}):\n\n```\n"
                            f"{r.stderr.strip()[-2000:]}\n```\n")
        else:
            sections.append(r.stdout.rstrip() + "\n")
    text = "\n".join(head) + "\n" + "\n".join(sections)
    with open(args.output, "w") as f:
        f.write(text)
    print(text)
    print(f"wrote {os.path.relpath(args.output, ROOT)}", file=sys.stderr)
    if failed:
        sys.exit(f"benchmark(s) failed: {failed}")


if __name__ == "__main__":
    main()
