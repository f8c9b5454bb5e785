"""``python -m gluonlite.compat``: run or install the ``mxnet`` alias of gluonlite.

    python -m gluonlite.compat run script.py [args...]   run a program; `import mxnet` is gluonlite
    python -m gluonlite.compat run -m module [args...]   run a module as __main__ (like python -m)
    python -m gluonlite.compat run -c "code" [args...]   run a string of code
    python -m gluonlite.compat install [--target DIR]    write an `mxnet` shim package into DIR
    python -m gluonlite.compat uninstall [--target DIR]  remove it
    python -m gluonlite.compat check                     say what `import mxnet` would give
"""
from __future__ import annotations

import os
import runpy
import sys

from . import (MXNetConflictError, default_target, enable, find_real_mxnet, install,
               uninstall, MXNET_API_VERSION)

_USAGE = __doc__.split("\n", 2)[2].rstrip() + "\n"


def _fail(msg, code=2):
    sys.stderr.write(f"gluonlite.compat: {msg}\n")
    return code


def _run(args):
    if not args:
        return _fail("run: give a script, -m module or -c code\n" + _USAGE)
    try:
        enable()
    except MXNetConflictError as e:
        return _fail(str(e), 1)
    if args[0] == "-m":
        if len(args) < 2:
            return _fail("run -m: give a module name")
        sys.argv = [args[1]] + args[2:]
        sys.path.insert(0, os.getcwd())  # as `python -m` does
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return 0
    if args[0] == "-c":
        if len(args) < 2:
            return _fail("run -c: give the code to run")
        sys.argv = ["-c"] + args[2:]
        sys.path.insert(0, "")
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
        return 0
    script = args[0]
    if not os.path.exists(script):
        return _fail(f"run: no such file {script!r}")
    sys.argv = list(args)
    # the script's directory comes first on sys.path, as with `python script.py`
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    return 0


def _target(args, cmd):
    if not args:
        return None
    if len(args) == 2 and args[0] == "--target":
        return args[1]
    raise SystemExit(_fail(f"{cmd}: expected no arguments or --target DIR, got {args}"))


def main(argv=None) -> int:
    """The command line; returns the exit status (the program's own for ``run``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(_USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "run":
        return _run(rest)
    if cmd == "install":
        try:
            pkg = install(_target(rest, cmd))
        except MXNetConflictError as e:
            return _fail(str(e), 1)
        print(f"installed the gluonlite 'mxnet' alias at {pkg}")
        return 0
    if cmd == "uninstall":
        try:
            removed = uninstall(_target(rest, cmd))
        except MXNetConflictError as e:
            return _fail(str(e), 1)
        print("removed the gluonlite 'mxnet' alias" if removed else
              f"no gluonlite 'mxnet' alias in {_target(rest, cmd) or default_target()}")
        return 0
    if cmd == "check":
        real = find_real_mxnet()
        if real is not None:
            print(f"a real MXNet is importable from {real}; the alias will refuse to run")
            return 1
        print(f"no real MXNet found; `python -m gluonlite.compat run` gives mxnet "
              f"{MXNET_API_VERSION} (gluonlite)")
        return 0
    return _fail(f"unknown command {cmd!r}\n" + _USAGE)


if __name__ == "__main__":
    sys.exit(main())
