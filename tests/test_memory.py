"""gluonlite.memory: glibc's malloc keeps large freed buffers for reuse (MXNet-style pool)."""
import os
import subprocess
import sys

import pytest

import gluonlite  # noqa: F401  (importing applies the settings)
from gluonlite import memory

LINUX_GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION")


def _applied(env_extra):
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("MALLOC_") or k == "GLUONLITE_MALLOC_POOL")}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c",
                          "import gluonlite, gluonlite.memory as m; print(m._done)"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


@pytest.mark.skipif(not LINUX_GLIBC, reason="glibc only")
def test_applied_at_import_on_glibc():
    assert _applied({})
    assert memory.tune_malloc() is memory.tune_malloc()  # applied once


@pytest.mark.skipif(not LINUX_GLIBC, reason="glibc only")
def test_opt_out_and_user_settings_are_respected():
    assert not _applied({"GLUONLITE_MALLOC_POOL": "0"})
    assert not _applied({"MALLOC_ARENA_MAX_": "2"})


@pytest.mark.skipif(not LINUX_GLIBC, reason="glibc only")
def test_large_buffers_are_reused_without_page_faults():
    # a "step" allocating five 16 MB arrays and freeing them, repeated: without the pool
    # glibc returns the freed 80 MB to the system every step and faults it back in
    code = ("import resource, numpy as np, gluonlite\n"
            "def step(): a = [np.ones(4 << 20, np.float32) for _ in range(5)]\n"
            "for _ in range(3): step()\n"
            "r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
            "for _ in range(10): step()\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    pooled = int(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, check=True).stdout)
    env["GLUONLITE_MALLOC_POOL"] = "0"
    plain = int(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                               text=True, check=True).stdout)
    assert pooled < 1000 < 10000 < plain  # ~20000 pages per step without the pool
