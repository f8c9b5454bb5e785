"""The on-disk kernel cache (gluonlite.kernels.diskcache): only a private directory
is used, nothing on disk is executed unless it is ours and intact, any damaged entry is a
miss that heals itself, writes are atomic and the cache is bounded."""
import json
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import numba
import pytest

import gluonlite as mx
from gluonlite.compiler.fusion import FusedKernel, set_min_size
from gluonlite.compiler.render import numba_cpu
from gluonlite.compiler.scalar import E, Expr
from gluonlite.kernels import diskcache

X, Y = Expr("in", value=0), Expr("in", value=1)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh private cache root; kernels compiled in this process are forgotten so that
    each compile goes to the disk cache."""
    root = tmp_path / "cache"
    monkeypatch.setenv("GLUONLITE_CACHE_DIR", str(root))
    monkeypatch.delenv("GLUONLITE_CACHE_MAX_FILES", raising=False)
    monkeypatch.setattr(numba_cpu, "_compiled", {})
    monkeypatch.setattr(numba_cpu, "_stats", {"compiled": 0, "loaded": 0, "seconds": 0.0})
    monkeypatch.setattr(diskcache, "_warned", set())
    return root


def _kernel(c=1.5):
    # a distinct constant gives a distinct kernel (and cache entry)
    return FusedKernel((6, 7), "float32", [(6, 7), (7,)], [E.exp(X * Y + c)], [])


def _run(c=1.5):
    """Compile (or load) the kernel afresh, run it and check its output."""
    numba_cpu._compiled.clear()
    ck = numba_cpu.compile_kernel(_kernel(c))
    a = np.linspace(-1, 1, 42, dtype="float32").reshape(6, 7)
    b = np.arange(7, dtype="float32") / 7
    o = np.empty((6, 7), "float32")
    ck(o, a, b)
    np.testing.assert_allclose(o, np.exp(a * b + np.float32(c)), rtol=1e-6)
    return numba_cpu.stats()


def _files(root):
    d = root / "kernels"
    py, = d.glob("k_*.py")
    nbi, = d.glob("k_*.nbi")
    nbc, = d.glob("k_*.nbc")
    return py, nbi, nbc


class _Evil:
    """Unpickling this creates the file ``path``: proof that a pickle was loaded."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _sealed_evil(marker):
    ver = str(numba.__version__).encode() + b"\n"
    return diskcache._seal(ver + pickle.dumps(_Evil(marker)))


def test_dirs_are_private_and_a_second_compile_loads_from_disk(cache):
    s = _run()
    assert (s["compiled"], s["loaded"]) == (1, 0)
    for d in (cache, cache / "kernels"):
        assert os.stat(d).st_mode & 0o777 == 0o700
    for f in _files(cache):
        assert os.stat(f).st_mode & 0o077 == 0  # mkstemp: private files
    s = _run()
    assert (s["compiled"], s["loaded"]) == (1, 1)
    assert not list((cache / "kernels").glob(".*"))  # no temporary file left


CORRUPTIONS = {
    "py-empty": (0, lambda b: b""),
    "py-truncated": (0, lambda b: b[: len(b) // 2]),
    "py-garbage": (0, lambda b: b"\xff\xfe\x00garbage(\n"),
    "nbi-empty": (1, lambda b: b""),
    "nbi-truncated": (1, lambda b: b[: len(b) // 2]),
    "nbi-garbage": (1, lambda b: os.urandom(300)),
    "nbi-bitflip": (1, lambda b: b[:-5] + bytes([b[-5] ^ 1]) + b[-4:]),
    "nbc-empty": (2, lambda b: b""),
    "nbc-truncated": (2, lambda b: b[: len(b) // 3]),
    "nbc-garbage": (2, lambda b: os.urandom(len(b))),
    "nbc-bitflip": (2, lambda b: b[:len(b) // 2] + bytes([b[len(b) // 2] ^ 0x10])
                    + b[len(b) // 2 + 1:]),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_a_damaged_entry_is_a_miss_and_heals(cache, case):
    _run()
    which, damage = CORRUPTIONS[case]
    f = _files(cache)[which]
    f.write_bytes(damage(f.read_bytes()))
    s = _run()  # works, right output (checked in _run)
    assert s["compiled"] + s["loaded"] == 2
    # the entry was replaced: the next process-fresh compile loads it again
    s = _run()
    assert s["loaded"] >= 1 and s["compiled"] + s["loaded"] == 3
    py, nbi, nbc = _files(cache)
    assert py.read_text().endswith(numba_cpu.source(_kernel(), "kernel"))


def test_numba_index_in_its_own_format_is_a_miss(cache):
    # an index written by plain Numba (no seal): not unpickled, recompiled and replaced
    _run()
    _, nbi, _ = _files(cache)
    nbi.write_bytes(pickle.dumps(numba.__version__) + pickle.dumps(("stamp", {})))
    s = _run()
    assert s["compiled"] == 2
    assert nbi.read_bytes().startswith(diskcache._MAGIC)


def test_a_tampered_source_file_is_never_executed(cache, tmp_path):
    _run()
    marker = tmp_path / "pwned"
    py, _, _ = _files(cache)
    py.write_text(f"open({str(marker)!r}, 'w')\ndef kernel(*a):\n    pass\n")
    _run()  # the right output: the generated source ran, not the file
    assert not marker.exists()
    assert py.read_text().endswith(numba_cpu.source(_kernel(), "kernel"))


@pytest.mark.parametrize("how", ["world-writable", "group-writable"])
def test_files_writable_by_others_are_not_unpickled(cache, tmp_path, how):
    _run()
    marker = tmp_path / "pwned"
    _, nbi, _ = _files(cache)
    nbi.write_bytes(_sealed_evil(marker))  # a valid seal: only its mode gives it away
    os.chmod(nbi, 0o666 if how == "world-writable" else 0o620)
    _run()
    assert not marker.exists()
    assert os.stat(nbi).st_mode & 0o077 == 0  # replaced by a private one


def test_a_symlinked_entry_is_not_followed(cache, tmp_path):
    _run()
    marker = tmp_path / "pwned"
    evil = tmp_path / "elsewhere.nbi"
    evil.write_bytes(_sealed_evil(marker))
    os.chmod(evil, 0o600)
    py, nbi, _ = _files(cache)
    nbi.unlink()
    nbi.symlink_to(evil)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    py.unlink()
    py.symlink_to(victim)
    _run()
    assert not marker.exists()
    assert victim.read_text() == "keep me"  # replaced the link, did not write through it
    assert not py.is_symlink() and not nbi.is_symlink()


def _unsafe_dirs(cache):
    return {
        "root-world-writable": (cache, 0o777),
        "kernels-group-writable": (cache / "kernels", 0o770),
    }


@pytest.mark.parametrize("case", ["root-world-writable", "kernels-group-writable"])
def test_an_unsafe_directory_warns_once_and_is_not_used(cache, tmp_path, case):
    _run()
    py, nbi, nbc = _files(cache)
    marker = tmp_path / "pwned"
    for f in (nbi, nbc):  # what someone else could have put there
        f.write_bytes(_sealed_evil(marker))
    d, mode = _unsafe_dirs(cache)[case]
    os.chmod(d, mode)
    with pytest.warns(RuntimeWarning, match="not using .*" + d.name + ".*writable by"):
        s = _run()
    assert s["compiled"] == 2 and not marker.exists()
    assert nbi.read_bytes() == _sealed_evil(marker)  # nothing in it read or rewritten
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per directory and reason
        _run(2.5)
    assert len(list((cache / "kernels").glob("k_*.py"))) == 1


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="giving a directory to another user needs root")
def test_a_directory_of_another_user_is_not_used(cache):
    _run()
    os.chown(cache / "kernels", 65534, 65534)
    with pytest.warns(RuntimeWarning, match="owned by uid 65534"):
        s = _run()
    assert s["compiled"] == 2


def test_the_cache_dir_is_created_private_even_under_a_lax_umask(cache):
    old = os.umask(0)
    try:
        _run()
    finally:
        os.umask(old)
    assert os.stat(cache / "kernels").st_mode & 0o777 == 0o700
    assert os.stat(_files(cache)[0]).st_mode & 0o777 == 0o600


def test_the_cache_is_bounded_least_recently_used_first(cache, monkeypatch):
    monkeypatch.setenv("GLUONLITE_CACHE_MAX_FILES", "3")
    kdir = cache / "kernels"
    consts = [0.5, 1.5, 2.5, 3.5]
    names = {}
    for t, c in enumerate(consts[:3]):
        _run(c)
        new = set(kdir.glob("k_*.py")) - set(names.values())
        names[c], = new
        os.utime(names[c], (1000 + t, 1000 + t))  # distinct ages, oldest first
    _run(0.5)  # a load makes 0.5 the most recently used
    _run(3.5)  # a fourth kernel: the least recently used (1.5) goes, with its code
    left = set(kdir.glob("k_*.py"))
    assert len(left) == 3 and names[1.5] not in left and names[0.5] in left
    group = names[1.5].name[:-3]
    assert not [p for p in kdir.iterdir() if p.name.startswith(group + ".")]


def test_evict_removes_stale_temporaries_and_orphaned_code(tmp_path):
    d = tmp_path
    (d / "k_aaaa.py").write_text("x")
    (d / "k_bbbb.kernel-0.py311.nbi").write_bytes(b"orphan")  # its source is gone
    old_tmp = d / ".k_cccc.py.abc123.tmp"
    old_tmp.write_text("left by a killed writer")
    os.utime(old_tmp, (1, 1))
    new_tmp = d / ".k_dddd.py.def456.tmp"
    new_tmp.write_text("a live writer's")
    (d / "unrelated.txt").write_text("not ours")
    assert diskcache.evict(str(d), keep=1) == 1
    assert sorted(p.name for p in d.iterdir()) == [
        ".k_dddd.py.def456.tmp", "k_aaaa.py", "unrelated.txt"]


def test_max_files_zero_turns_the_disk_cache_off(cache, monkeypatch):
    monkeypatch.setenv("GLUONLITE_CACHE_MAX_FILES", "0")
    s = _run()
    assert s["compiled"] == 1 and not cache.exists()


@pytest.mark.parametrize("bad", ["-1", "lots", "2.5"])
def test_a_bad_max_files_names_the_variable(cache, monkeypatch, bad):
    monkeypatch.setenv("GLUONLITE_CACHE_MAX_FILES", bad)
    with pytest.raises(ValueError, match="GLUONLITE_CACHE_MAX_FILES.*integer >= 0"):
        _run()


def test_clear_cache_empties_the_disk_cache(cache):
    _run(0.5)
    _run(1.5)
    kdir = cache / "kernels"
    (kdir / "notes.txt").write_text("not a cache file")
    (kdir / "__pycache__").mkdir()  # where gluonlite before this cache put Numba's files
    (kdir / "__pycache__" / "k_0123.kernel-1.py311.nbi").write_bytes(b"old")
    assert numba_cpu.clear_cache() == 7
    assert sorted(p.name for p in kdir.rglob("*")) == ["__pycache__", "notes.txt"]
    s = _run(0.5)  # recompiled, not loaded
    assert s["compiled"] == 3


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "k_x.py"
    target.write_bytes(b"old")

    def boom(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="No space"):
        diskcache.write_atomic(str(target), b"new content")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["k_x.py"]


def test_a_full_disk_compiles_in_memory(cache, monkeypatch):
    def full(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(diskcache, "write_atomic", full)
    s = _run()
    assert s["compiled"] == 1


def test_numba_cache_dir_is_not_consulted(cache, tmp_path, monkeypatch):
    # Numba's own locators (NUMBA_CACHE_DIR, __pycache__, ~/.cache/numba) play no part
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "numba"))
    _run()
    assert not (tmp_path / "numba").exists()
    assert not (cache / "kernels" / "__pycache__").exists()


HYBRID = textwrap.dedent("""
    import json
    import gluonlite as mx
    from gluonlite.compiler.fusion import set_min_size
    from gluonlite.compiler.render import numba_cpu
    set_min_size(1)
    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.Dense(7, activation="tanh"), mx.gluon.nn.Dense(3))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = mx.nd.array([[0.5, -1.0, 2.0, 0.25]] * 5)
    out = net(x).asnumpy().tolist()
    print(json.dumps(dict(numba_cpu.stats(), out=out)))
""")


def test_a_damaged_cache_does_not_break_a_fresh_process(tmp_path):
    env = dict(os.environ, GLUONLITE_CACHE_DIR=str(tmp_path))
    env.pop("GLUONLITE_CACHE_MAX_FILES", None)

    def run():
        out = subprocess.run([sys.executable, "-c", HYBRID], env=env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = run()
    assert first["compiled"] >= 1
    for f in (tmp_path / "kernels").iterdir():  # every kind of file, truncated
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    second = run()
    np.testing.assert_allclose(second["out"], first["out"], rtol=1e-6)
    assert second["compiled"] == first["compiled"]  # all recompiled ...
    third = run()  # ... and saved again
    assert third["loaded"] == first["compiled"] and third["compiled"] == 0
    np.testing.assert_allclose(third["out"], first["out"], rtol=1e-6)


def test_hybridized_net_is_right_after_cache_damage_in_process(cache):
    old = set_min_size(1)
    try:
        def build():
            numba_cpu._compiled.clear()
            net = mx.gluon.nn.HybridSequential()
            net.add(mx.gluon.nn.Dense(5, activation="tanh"), mx.gluon.nn.Dense(2))
            net.initialize(mx.init.Constant(0.05))
            net.hybridize()
            return net(mx.nd.ones((3, 4))).asnumpy()
        ref = build()
        for f in (cache / "kernels").glob("k_*.nb*"):
            f.write_bytes(b"\x80\x04garbage")
        np.testing.assert_allclose(build(), ref, rtol=1e-6)
    finally:
        set_min_size(old)


@pytest.mark.slow
def test_processes_sharing_a_small_cache_all_succeed(tmp_path):
    # concurrent writers, loaders and evictors (a cache of one kernel) never break a run
    env = dict(os.environ, GLUONLITE_CACHE_DIR=str(tmp_path), GLUONLITE_CACHE_MAX_FILES="1")
    procs = [subprocess.Popen([sys.executable, "-c", HYBRID], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(6)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1])["out"])
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], rtol=1e-6)
    assert len(list((tmp_path / "kernels").glob("k_*.py"))) <= 1
    assert not list((tmp_path / "kernels").glob(".*.tmp"))
