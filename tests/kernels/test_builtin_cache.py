"""The disk cache of gluonlite's built-in Numba kernels (conv, pooling, BatchNorm, fused
SGD/Adam): kept in the vetted ``$GLUONLITE_CACHE_DIR/builtin`` (gluonlite.kernels.diskcache),
a damaged entry is a miss that is recompiled and rewritten, an unsafe directory is not
used, and a kernel that calls another njit function is found again by a new process."""
import json
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numba
import numpy as np
import pytest

from gluonlite.compiler.render import numba_cpu
from gluonlite.kernels import diskcache
from gluonlite.kernels.diskcache import cached_njit

# --- every built-in kernel file, in a fresh process ----------------------------------------

RUN = textwrap.dedent("""
    import json, sys
    import numpy as np
    import gluonlite as mx
    from gluonlite import autograd, nd
    from gluonlite.kernels import batchnorm, conv, pooling
    from gluonlite.optimizer import fused

    full = sys.argv[1] == "full"  # else forward only: a few kernels of each file
    rs = np.random.RandomState(0)
    x = nd.array(rs.rand(2, 3, 8, 8).astype("float32"))
    w = nd.array(rs.rand(4, 3, 3, 3).astype("float32") - 0.5)
    b = nd.array(rs.rand(4).astype("float32"))
    gamma, beta = nd.ones((4,)), nd.zeros((4,))
    mm, mv = nd.zeros((4,)), nd.ones((4,))
    params = (("dx", x), ("dw", w), ("db", b), ("dgamma", gamma))
    for _, a in params:
        a.attach_grad()
    with autograd.record(train_mode=full):
        y = nd.Convolution(x, w, b, kernel=(3, 3), num_filter=4, pad=(1, 1))
        y = nd.BatchNorm(y, gamma, beta, mm, mv, fix_gamma=False)
        y = nd.Pooling(y, kernel=(2, 2), stride=(2, 2), pool_type="max")
        if full:
            y = nd.Pooling(y, kernel=(2, 2), stride=(1, 1), pool_type="avg")
        loss = (y * y).sum()
    out = {"y": y.asnumpy().tolist()}
    if full:
        loss.backward()
        for name, a in params:
            out[name] = a.grad.asnumpy().tolist()
    wt = rs.rand(50).astype("float32")
    g = rs.rand(50).astype("float32") - 0.5
    mom, mean, var = np.zeros(50, "float32"), np.zeros(50, "float32"), np.zeros(50, "float32")
    wa = wt.copy()
    for _ in range(3):
        assert fused.sgd(wt, g, mom, 0.1, 1e-4, 1.0, None, 0.9)
        if full:
            assert fused.adam(wa, g, mean, var, 0.01, 1e-4, 1.0, None, 0.9, 0.999, 1e-8)
    out["sgd"], out["adam"] = wt.tolist(), wa.tolist()
    hits = misses = 0
    for mod in (conv, pooling, batchnorm, fused):
        for d in mod._K.values():
            if hasattr(d, "_cache_hits"):
                hits += sum(d._cache_hits.values())
                misses += sum(d._cache_misses.values())
    out["hits"], out["misses"] = hits, misses
    print(json.dumps(out))
""")


def _run(env, mode="full"):
    p = subprocess.run([sys.executable, "-c", RUN, mode], env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def _same(a, b):
    for k in ("y", "dx", "dw", "db", "dgamma", "sgd", "adam"):
        if k in a or k in b:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-6, atol=1e-7, err_msg=k)


DAMAGE = [
    lambda b: b"",                                        # empty
    lambda b: b[: len(b) // 2],                           # truncated
    lambda b: os.urandom(max(len(b), 64)),                # garbage
    lambda b: b[:-9] + bytes([b[-9] ^ 0x40]) + b[-8:],    # one flipped bit
]


def _damaged_cache_is_rebuilt(tmp_path, mode):
    env = dict(os.environ, GLUONLITE_CACHE_DIR=str(tmp_path), GLUONLITE_JIT="1",
               NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    env.pop("GLUONLITE_CACHE_MAX_FILES", None)
    first = _run(env, mode)
    assert first["misses"] > 0
    bdir = tmp_path / "builtin"
    files = sorted(bdir.iterdir())
    names = {f.name.split("._build.")[0] for f in files}
    assert names == {"gluonlite.kernels.conv", "gluonlite.kernels.pooling",
                     "gluonlite.kernels.batchnorm", "gluonlite.optimizer.fused"}
    assert {f.suffix for f in files} == {".nbi", ".nbc"}
    assert all(os.stat(f).st_mode & 0o077 == 0 for f in files)
    assert not (tmp_path / "numba").exists()  # Numba's own cache is not used
    for i, f in enumerate(files):  # every file, each kind of damage
        f.write_bytes(DAMAGE[i % len(DAMAGE)](f.read_bytes()))
    second = _run(env, mode)  # no error, same numbers, everything recompiled
    _same(second, first)
    assert second["hits"] == 0 and second["misses"] == first["misses"]
    assert sorted(p.name for p in bdir.iterdir()) == [f.name for f in files]  # rewritten
    third = _run(env, mode)  # and saved again: everything loads, nothing compiles
    _same(third, first)
    assert third["misses"] == 0 and third["hits"] == first["misses"]
    assert sorted(p.name for p in bdir.iterdir()) == [f.name for f in files]  # no growth


def test_damaged_builtin_cache_files_are_rebuilt_in_a_fresh_process(tmp_path):
    # forward kernels of every file and the SGD update (about 4 s to compile cold)
    _damaged_cache_is_rebuilt(tmp_path, "forward")


@pytest.mark.slow
def test_damaged_builtin_cache_files_are_rebuilt_all_kernels(tmp_path):
    # every kernel: conv/pooling/BatchNorm forward and backward, SGD and Adam (about 6 s)
    _damaged_cache_is_rebuilt(tmp_path, "full")


# --- BuiltinCache in this process, on small functions of this file ---------------------------

@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("GLUONLITE_CACHE_DIR", str(root))
    monkeypatch.delenv("GLUONLITE_CACHE_MAX_FILES", raising=False)
    monkeypatch.setattr(diskcache, "_warned", set())
    return root


def _plus_one(x):
    return x + 1


def _make_caller():
    """A kernel calling another njit function (as conv's im2col calls valid_range): each
    call makes new dispatchers, as a new process would."""
    helper = cached_njit()(_plus_one)

    def twice_plus_one(x):
        return helper(helper(x)) - 1

    return cached_njit()(twice_plus_one)


def _stats(d):
    return sum(d._cache_hits.values()), sum(d._cache_misses.values())


def _builtin_files(root):
    return sorted((root / "builtin").iterdir())


def test_a_new_dispatcher_loads_from_the_private_builtin_dir(cache):
    d = cached_njit()(_plus_one)
    assert d(2.5) == 3.5 and d(4) == 5
    assert _stats(d) == (0, 2)
    for p in (cache, cache / "builtin"):
        assert os.stat(p).st_mode & 0o777 == 0o700
    files = _builtin_files(cache)
    assert [f.suffix for f in files] == [".nbc", ".nbc", ".nbi"]
    assert all(f.name.startswith(f"{__name__}._plus_one-0.py") for f in files)
    assert all(os.stat(f).st_mode & 0o077 == 0 for f in files)
    again = cached_njit()(_plus_one)
    assert again(2.5) == 3.5 and again(4) == 5
    assert _stats(again) == (2, 0)


def test_a_kernel_calling_an_njit_function_is_found_by_a_new_process(cache):
    # Numba's own key pickles the closure, whose dispatcher carries a per-process uuid:
    # such kernels (conv's im2col/col2im) never hit and gained one entry per process
    first = _make_caller()
    assert first(3.0) == 4.0 and _stats(first) == (0, 1)
    n = len(_builtin_files(cache))
    second = _make_caller()
    assert second(3.0) == 4.0 and _stats(second) == (1, 0)
    assert len(_builtin_files(cache)) == n


@pytest.mark.parametrize("which", ["nbi", "nbc"])
@pytest.mark.parametrize("how", range(len(DAMAGE)))
def test_a_damaged_builtin_entry_is_a_miss_and_heals(cache, which, how):
    cached_njit()(_plus_one)(2.5)
    f, = (cache / "builtin").glob(f"*.{which}")
    f.write_bytes(DAMAGE[how](f.read_bytes()))
    d = cached_njit()(_plus_one)
    assert d(2.5) == 3.5 and _stats(d) == (0, 1)
    d = cached_njit()(_plus_one)
    assert d(2.5) == 3.5 and _stats(d) == (1, 0)


def test_data_saved_for_another_signature_is_not_used(cache):
    # two processes saving at once can leave the index pointing at a data file holding
    # another signature's code: running it would read arguments of the wrong type
    d = cached_njit()(_plus_one)
    assert d(2.5) == 3.5 and d(4) == 5
    a, b = (cache / "builtin").glob("*.nbc")
    ba, bb = a.read_bytes(), b.read_bytes()
    a.write_bytes(bb)
    b.write_bytes(ba)
    d = cached_njit()(_plus_one)
    assert d(2.5) == 3.5 and d(4) == 5 and type(d(4)) is int
    assert _stats(d) == (0, 2)
    d = cached_njit()(_plus_one)
    assert d(2.5) == 3.5 and d(4) == 5 and _stats(d) == (2, 0)


class _Evil:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("where", ["root", "builtin"])
def test_an_unsafe_builtin_dir_warns_once_and_is_not_read(cache, tmp_path, where):
    cached_njit()(_plus_one)(2.5)
    marker = tmp_path / "pwned"
    ver = str(numba.__version__).encode() + b"\n"
    evil = diskcache._seal(ver + pickle.dumps(_Evil(marker)))
    for f in _builtin_files(cache):
        f.write_bytes(evil)
    os.chmod(cache if where == "root" else cache / "builtin", 0o777)
    d = cached_njit()(_plus_one)
    with pytest.warns(RuntimeWarning, match="not using .*writable by (group|others)"):
        assert d(2.5) == 3.5
    assert _stats(d) == (0, 1) and not marker.exists()
    assert all(f.read_bytes() == evil for f in _builtin_files(cache))  # nothing written
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning per directory and reason
        assert d(4) == 5


def test_the_builtin_cache_follows_the_cache_dir_setting(cache, tmp_path, monkeypatch):
    d = cached_njit()(_plus_one)
    other = tmp_path / "other"
    monkeypatch.setenv("GLUONLITE_CACHE_DIR", str(other))
    assert d(2.5) == 3.5
    assert [f.suffix for f in _builtin_files(other)] == [".nbc", ".nbi"]
    assert not cache.exists()


def test_max_files_zero_turns_the_builtin_disk_cache_off(cache, monkeypatch):
    monkeypatch.setenv("GLUONLITE_CACHE_MAX_FILES", "0")
    d = cached_njit()(_plus_one)
    assert d(2.5) == 3.5 and _stats(d) == (0, 1)
    assert not cache.exists()


def test_clear_cache_empties_the_builtin_dir_too(cache):
    cached_njit()(_plus_one)(2.5)
    (cache / "builtin" / "notes.txt").write_text("not a cache file")
    assert numba_cpu.clear_cache() == 2
    assert [p.name for p in _builtin_files(cache)] == ["notes.txt"]
    d = cached_njit()(_plus_one)
    assert d(2.5) == 3.5 and _stats(d) == (0, 1)


def test_cache_option_is_refused():
    with pytest.raises(TypeError, match="cached_njit.*cache="):
        cached_njit(cache=True)


def test_builtin_kernels_use_the_builtin_cache():
    from gluonlite.kernels import batchnorm, conv, pooling
    from gluonlite.optimizer import fused
    conv._kernels(), pooling._kernels(), batchnorm._kernels(), fused._kernel("sgd")
    disps = {id(d): d for m in (conv, pooling, batchnorm, fused) for d in m._K.values()
             if hasattr(d, "py_func")}
    for d in list(disps.values()):  # and the njit functions they call (valid_range)
        for c in d.py_func.__closure__ or ():
            if hasattr(c.cell_contents, "py_func"):
                disps[id(c.cell_contents)] = c.cell_contents
    assert len(disps) == 16
    for d in disps.values():
        assert isinstance(d._cache, diskcache.BuiltinCache), d
        assert not d.targetoptions.get("cache")


@pytest.mark.slow
def test_processes_sharing_an_empty_builtin_cache_all_succeed(tmp_path):
    # concurrent first compiles save different signatures of one function at once
    env = dict(os.environ, GLUONLITE_CACHE_DIR=str(tmp_path), GLUONLITE_JIT="1")
    env.pop("GLUONLITE_CACHE_MAX_FILES", None)
    procs = [subprocess.Popen([sys.executable, "-c", RUN, "full"], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(4)]
    results = [p.communicate(timeout=600) + (p.returncode,) for p in procs]
    outs = []
    for out, err, rc in results:
        assert rc == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    for o in outs[1:]:
        _same(o, outs[0])
    total = outs[0]["hits"] + outs[0]["misses"]
    after = _run(env)  # entries lost to concurrent index updates are compiled and saved
    _same(after, outs[0])
    assert after["hits"] >= 1 and after["hits"] + after["misses"] == total
    final = _run(env)
    assert final["hits"] == total and final["misses"] == 0
    assert not list((tmp_path / "builtin").glob(".*.tmp"))
