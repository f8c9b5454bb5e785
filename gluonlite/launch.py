"""Start a distributed training script on several MPI processes.

    python -m gluonlite.launch -n 2 examples/train_dist.py [script args...]
    python -m gluonlite.launch -n 8 --hostfile hosts examples/train_dist.py

This wraps ``mpiexec`` (the one installed beside this Python by ``pip install
'gluonlite[dist]'``, else the first on ``PATH``): it is the same as
``mpiexec -n 2 python script.py``, plus a check that mpiexec exists, the flags Open MPI needs
when run as root, an optional wall-clock limit (``--timeout``) and a clear message when the
job fails. A hostfile lists one machine per line (``host:slots`` with MPICH, ``host
slots=N`` with Open MPI); every machine needs the same Python environment and the script at
the same path.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys

__all__ = ["find_mpiexec", "mpiexec_command", "main"]


def find_mpiexec():
    """The path of ``mpiexec``: beside ``sys.executable`` (a venv with the mpich wheel)
    first, then ``PATH``; None when there is none."""
    local = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(local) and os.access(local, os.X_OK):
        return local
    return shutil.which("mpiexec")


def _is_open_mpi(mpiexec):
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "Open MPI" in out or "OpenRTE" in out


def mpiexec_command(num_workers, script_args, hostfile=None, mpiexec=None, python=None):
    """The ``mpiexec`` command line that starts ``num_workers`` copies of
    ``python script_args...`` (``python``: this interpreter unless given)."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise ValueError(f"num_workers: expected an int >= 1, got {num_workers!r}")
    if not script_args:
        raise ValueError("script_args: expected the script to run (and its arguments)")
    mpiexec = mpiexec or find_mpiexec()
    if mpiexec is None:
        raise FileNotFoundError(
            "mpiexec not found beside this Python or on PATH; install MPI with "
            "pip install 'gluonlite[dist]' (mpi4py + mpich)")
    cmd = [mpiexec, "-n", str(num_workers)]
    if hostfile is not None:
        if not os.path.isfile(hostfile):
            raise FileNotFoundError(f"hostfile: {hostfile!r} does not exist")
        cmd += ["-f" if not _is_open_mpi(mpiexec) else "--hostfile", os.fspath(hostfile)]
    if _is_open_mpi(mpiexec) and hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-run-as-root")  # MPICH's hydra needs nothing as root
    cmd += [python or sys.executable] + list(script_args)
    return cmd


def main(argv=None):
    """Parse the command line, run the job and return its exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m gluonlite.launch",
        description="Run a gluonlite training script on N MPI processes (wraps mpiexec).")
    parser.add_argument("-n", "--num-workers", type=int, required=True,
                        help="number of worker processes")
    parser.add_argument("--hostfile", default=None,
                        help="machines to start workers on (MPICH: host:slots per line)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="end the whole job after this many seconds (exit status 124)")
    parser.add_argument("--mpiexec", default=None, help="the mpiexec to use")
    parser.add_argument("script", help="the Python script to run on every worker")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the script")
    opts = parser.parse_args(argv)
    if opts.num_workers < 1:
        parser.error(f"-n/--num-workers: expected an int >= 1, got {opts.num_workers}")
    if opts.timeout is not None and not opts.timeout > 0:
        parser.error(f"--timeout: expected a positive number of seconds, got {opts.timeout}")
    if not os.path.isfile(opts.script):
        parser.error(f"script: {opts.script!r} does not exist")
    try:
        cmd = mpiexec_command(opts.num_workers, [opts.script] + opts.args, opts.hostfile,
                              opts.mpiexec)
    except (FileNotFoundError, ValueError) as e:
        parser.error(str(e))
    # its own process group, so a timeout ends mpiexec and every worker it started
    proc = subprocess.Popen(cmd, start_new_session=True)
    try:
        rc = proc.wait(timeout=opts.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        sys.stderr.write(f"gluonlite.launch: the job ran past --timeout {opts.timeout:g} s "
                         "and was ended\n")
        return 124
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        return 130
    if rc != 0:
        sys.stderr.write(f"gluonlite.launch: the job failed (mpiexec exit status {rc}): a "
                         "worker raised, died or was killed; see the messages above\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
