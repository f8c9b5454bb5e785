"""Atomic saves (issue 16, defects 5 and 11): every gluonlite function that writes a
user-named file replaces it atomically through ``gluonlite.fileio``, so a save that fails
(an exception, a full disk, Ctrl-C, SIGKILL) leaves the old file byte-identical, and the
temporary files of killed saves are removed by the next save of the same target."""
import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import fileio, gluon, nd
from gluonlite.base import MXNetError

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _listing(folder):
    return sorted(os.listdir(folder))


def _snapshot(paths):
    return {p: open(p, "rb").read() for p in paths}


# --------------------------------------------------------------------------------------
# the writer itself
def test_new_file_and_overwrite_keep_mode(tmp_path):
    f = tmp_path / "x.bin"
    fileio.atomic_write(f, b"abc")
    assert f.read_bytes() == b"abc"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask
    os.chmod(f, 0o600)
    fileio.atomic_write(str(f), [b"de", "f\u00e9", memoryview(b"gh")])
    assert f.read_bytes() == "def\u00e9gh".encode()
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert _listing(tmp_path) == ["x.bin"]


def test_symlink_is_written_through(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    fileio.atomic_write(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert _listing(tmp_path) == ["link.json", "real.json"]


def test_temp_name_is_never_followed(tmp_path, monkeypatch):
    """An attacker's symlink at the temporary name is not written through (O_EXCL): the
    writer picks another name and the victim file is untouched."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    guesses = iter(["deadbeef"])
    real_token_hex = fileio.secrets.token_hex
    monkeypatch.setattr(fileio.secrets, "token_hex",
                        lambda n: next(guesses, None) or real_token_hex(n))
    trap = tmp_path / f".t.bin.{os.getpid()}.deadbeef.tmp"
    trap.symlink_to(victim)
    fileio.atomic_write(tmp_path / "t.bin", b"data")
    assert (tmp_path / "t.bin").read_bytes() == b"data"
    assert victim.read_bytes() == b"precious" and trap.is_symlink()


@pytest.mark.parametrize("exc", [ValueError("bad value"), KeyboardInterrupt(),
                                 OSError(errno.ENOSPC, "No space left on device")])
def test_failure_while_producing_content_keeps_old_file(tmp_path, exc):
    f = tmp_path / "x.bin"
    f.write_bytes(b"old content")

    def chunks():
        yield b"new "
        raise exc

    with pytest.raises(type(exc)):
        fileio.atomic_write(f, chunks())
    assert f.read_bytes() == b"old content"
    assert _listing(tmp_path) == ["x.bin"]


@pytest.mark.parametrize("where", ["fsync", "replace"])
def test_os_failure_names_the_file_and_keeps_errno(tmp_path, monkeypatch, where):
    f = tmp_path / "x.bin"
    f.write_bytes(b"old")

    def fail(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, where, fail)
    with pytest.raises(OSError, match=r"my_save: cannot write .*x\.bin.*No space") as info:
        fileio.atomic_write(f, b"new", fn="my_save")
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert f.read_bytes() == b"old" and _listing(tmp_path) == ["x.bin"]


def test_bad_targets(tmp_path):
    with pytest.raises(IsADirectoryError, match="s: cannot write .* it is a directory"):
        fileio.atomic_write(tmp_path, b"", fn="s")
    with pytest.raises(FileNotFoundError, match="s: cannot write .*nodir"):
        fileio.atomic_write(tmp_path / "nodir" / "f", b"", fn="s")
    with pytest.raises(TypeError, match="fname: expected a file name"):
        fileio.atomic_write(3, b"", fn="s")
    with pytest.raises(ValueError, match="file name is empty"):
        fileio.atomic_write("", b"", fn="s")
    with pytest.raises(MXNetError, match="nd.save: cannot write .*nodir"):
        nd.save(str(tmp_path / "nodir" / "f"), [nd.ones(1)])


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_leftovers_of_dead_writers_are_removed(tmp_path):
    """Defect 11: a SIGKILLed save leaves ``.<name>.<pid>.<hex>.tmp``; the next save of the
    same target removes those whose process is gone, never a live process's."""
    dead = _dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "dead": f".w.params.{dead}.0123abcd.tmp",
            "dead_long_hex": f".w.params.{dead}.{'a' * 32}.tmp",
            "live": f".w.params.{live.pid}.0123abcd.tmp",
            "mine": f".w.params.{os.getpid()}.0123abcd.tmp",
            "other_target": f".v.params.{dead}.0123abcd.tmp",
            "not_ours": f".w.params.{dead}.xyz.tmp",
        }
        for n in names.values():
            (tmp_path / n).write_bytes(b"partial")
        (tmp_path / "w.params").write_bytes(b"old")
        nd.save(str(tmp_path / "w.params"), [nd.ones(2)])
        left = set(_listing(tmp_path))
        assert names["dead"] not in left and names["dead_long_hex"] not in left
        for k in ("live", "mine", "other_target", "not_ours"):
            assert names[k] in left, k
        assert len(nd.load(str(tmp_path / "w.params"))) == 1
    finally:
        live.kill()
        live.wait()


# --------------------------------------------------------------------------------------
# every entry point: (files it writes, a function saving them)
def _net(hybrid=False):
    net = gluon.nn.HybridSequential() if hybrid else gluon.nn.Sequential()
    net.add(gluon.nn.Dense(4, in_units=3))
    net.initialize()
    return net


def _trained_trainer(**kw):
    net = _net()
    tr = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9},
                       **kw)
    with mx.autograd.record():
        loss = net(nd.ones((2, 3))).sum()
    loss.backward()
    tr.step(2)
    return tr


def _mlp():
    d = mx.sym.Variable("data")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(d, num_hidden=3, name="fc"),
                                name="softmax")


def _module():
    mod = mx.mod.Module(_mlp())
    mod.bind([("data", (2, 5))], [("softmax_label", (2,))])
    mod.init_params()
    mod.init_optimizer(optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    return mod


def _ep_nd_save(d):
    f = str(d / "a.params")
    return [f], lambda: nd.save(f, {"x": nd.arange(64)})


def _ep_save_parameters(d):
    net, f = _net(), str(d / "net.params")
    return [f], lambda: net.save_parameters(f)


def _ep_paramdict_save(d):
    net, f = _net(), str(d / "pd.params")
    return [f], lambda: net.collect_params().save(f)


def _ep_trainer_states(d):
    tr, f = _trained_trainer(), str(d / "t.states")
    return [f], lambda: tr.save_states(f)


def _ep_trainer_states_kvstore(d):
    tr = _trained_trainer(kvstore=mx.kv.create("device"), update_on_kvstore=True)
    f = str(d / "k.states")
    return [f], lambda: tr.save_states(f)


def _ep_symbol_save(d):
    s, f = _mlp(), str(d / "m-symbol.json")
    return [f], lambda: s.save(f)


def _ep_export(d):
    net = _net(hybrid=True)
    net.hybridize()
    net(nd.ones((2, 3)))
    p = str(d / "exp")
    return [p + "-symbol.json", p + "-0003.params"], lambda: net.export(p, epoch=3)


def _ep_model_checkpoint(d):
    p = str(d / "ck")
    args = {"fc_weight": nd.ones((3, 5)), "fc_bias": nd.zeros(3)}
    return ([p + "-symbol.json", p + "-0002.params"],
            lambda: mx.model.save_checkpoint(p, 2, _mlp(), args, {}))


def _ep_module_checkpoint(d):
    mod, p = _module(), str(d / "mod")
    return ([p + "-symbol.json", p + "-0001.params", p + "-0001.states"],
            lambda: mod.save_checkpoint(p, 1, save_optimizer_states=True))


def _ep_module_states(d):
    mod, f = _module(), str(d / "mod.states")
    return [f], lambda: mod.save_optimizer_states(f)


def _ep_kvstore_states(d):
    kv, f = mx.kv.create("local"), str(d / "kv.states")
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9))
    kv.init("w", nd.ones((4,)))
    kv.push("w", nd.ones((4,)))
    return [f], lambda: kv.save_optimizer_states(f, dump_optimizer=True)


def _ep_digraph(d):
    g = mx.viz.plot_network(_mlp())
    return [str(d / "g.gv")], lambda: g.save("g.gv", str(d))


def _ep_download(d):
    src = d / "src" / "data.bin"
    src.parent.mkdir()
    src.write_bytes(b"downloaded content " * 8)
    f = str(d / "data.bin")
    return [f], lambda: gluon.utils.download(src.as_uri(), path=f, overwrite=True,
                                             retries=1)


ENTRY_POINTS = {
    "nd.save": _ep_nd_save, "Block.save_parameters": _ep_save_parameters,
    "ParameterDict.save": _ep_paramdict_save, "Trainer.save_states": _ep_trainer_states,
    "Trainer.save_states(kvstore)": _ep_trainer_states_kvstore,
    "Symbol.save": _ep_symbol_save, "HybridBlock.export": _ep_export,
    "model.save_checkpoint": _ep_model_checkpoint,
    "Module.save_checkpoint": _ep_module_checkpoint,
    "Module.save_optimizer_states": _ep_module_states,
    "KVStore.save_optimizer_states": _ep_kvstore_states,
    "Digraph.save": _ep_digraph, "gluon.utils.download": _ep_download,
}


class _FullDisk:
    """A file object that takes the first half of what is written, then fails as a full
    disk does (partial write, then ENOSPC)."""

    def __init__(self, f):
        self._f = f

    def write(self, data):
        data = memoryview(data).cast("B")
        self._f.write(data[:max(1, len(data) // 2)])
        self._f.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self._f, name)


def _inject(monkeypatch, how):
    if how == "ENOSPC on write":
        real = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda *a, **k: _FullDisk(real(*a, **k)))
        return OSError
    if how == "ENOSPC on fsync":
        def fsync(fd):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(os, "fsync", fsync)
        return OSError
    if how == "rename fails":
        def replace(a, b):
            raise PermissionError(errno.EACCES, "Permission denied")
        monkeypatch.setattr(os, "replace", replace)
        return OSError
    assert how == "Ctrl-C"
    def fsync(fd):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "fsync", fsync)
    return KeyboardInterrupt


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("how", ["ENOSPC on write", "ENOSPC on fsync", "rename fails",
                                 "Ctrl-C"])
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_failed_save_keeps_old_files(tmp_path, monkeypatch, entry, how):
    files, save = ENTRY_POINTS[entry](tmp_path)
    save()
    before = _listing(tmp_path)
    old = _snapshot(files)
    assert all(old.values())
    expected = _inject(monkeypatch, how)
    with pytest.raises((expected, MXNetError)) as info:
        save()
    monkeypatch.undo()
    if how != "Ctrl-C":  # the error names a file it was writing
        assert any(os.path.basename(f) in str(info.value) for f in files), info.value
    assert _snapshot(files) == old
    assert _listing(tmp_path) == before
    save()  # and the next save works
    assert _listing(tmp_path) == before


@pytest.mark.parametrize("entry", ["Trainer.save_states", "Module.save_optimizer_states",
                                   "KVStore.save_optimizer_states", "Symbol.save"])
def test_serializer_exception_keeps_old_file(tmp_path, monkeypatch, entry):
    """The content is produced before the file is touched: a failing serializer (the old
    code had already truncated the file by then) leaves it intact."""
    files, save = ENTRY_POINTS[entry](tmp_path)
    save()
    old = _snapshot(files)

    def boom(*a, **k):
        raise RuntimeError("serializer failed")

    if entry == "Symbol.save":
        monkeypatch.setattr(mx.sym.Symbol, "tojson", boom)
    else:
        monkeypatch.setattr(mx.optimizer.Updater, "get_states", boom)
    with pytest.raises(RuntimeError, match="serializer failed"):
        save()
    assert _snapshot(files) == old and _listing(tmp_path) == sorted(
        os.path.basename(f) for f in files)


# --------------------------------------------------------------------------------------
# SIGKILL mid-save
_CHILD = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import gluonlite as mx
    from gluonlite import fileio, gluon, nd

    entry, target, when = sys.argv[1:4]
    real_write = fileio.AtomicFile.write

    def hang(msg):
        print(msg, flush=True)
        time.sleep(60)

    if when == "mid-write":
        def write(self, data):
            n = real_write(self, memoryview(data).cast("B")[:16] if not isinstance(data, str)
                           else data[:16])
            self.file.flush()
            hang("KILL ME")
        fileio.AtomicFile.write = write
    else:  # before the rename: all content written
        real_fsync = os.fsync
        def fsync(fd):
            real_fsync(fd)
            hang("KILL ME")
        os.fsync = fsync

    if entry == "nd.save":
        nd.save(target, {"big": nd.ones((1 << 20,)) * 7})
    elif entry == "Symbol.save":
        mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=9, name="other").save(target)
    else:
        net = gluon.nn.Dense(2, in_units=2)
        net.initialize()
        tr = gluon.Trainer(net.collect_params(), "adam")
        tr.save_states(target)
""")


@pytest.mark.parametrize("when", ["mid-write", "before-rename"])
@pytest.mark.parametrize("entry", ["nd.save", "Symbol.save", "Trainer.save_states"])
def test_sigkill_mid_save_keeps_old_file_and_next_save_cleans_up(tmp_path, entry, when):
    files, save = {"nd.save": _ep_nd_save, "Symbol.save": _ep_symbol_save,
                   "Trainer.save_states": _ep_trainer_states}[entry](tmp_path)
    target = files[0]
    save()
    old = _snapshot(files)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, entry, target, when],
                             cwd=_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "KILL ME"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert _snapshot(files) == old
    leftovers = [n for n in _listing(tmp_path) if n.endswith(".tmp")]
    # the killed save's temporary file, named after its target and pid (defect 11)
    assert len(leftovers) == 1
    assert leftovers[0].startswith(f".{os.path.basename(target)}.{child.pid}.")
    save()
    assert _snapshot(files) == old  # same content saved again
    assert _listing(tmp_path) == [os.path.basename(target)]


_SOAK_CHILD = textwrap.dedent("""
    import sys
    import gluonlite as mx
    from gluonlite import nd
    target = sys.argv[1]
    print("GO", flush=True)
    i = 0
    while True:
        i += 1
        nd.save(target, {"v": nd.full((1 << 21,), i % 2 + 1)})
""")


@pytest.mark.slow
def test_sigkill_at_random_times_soak(tmp_path):
    """Kill a process that saves 8 MB files in a loop at random moments: the file always
    loads and holds one complete version; the leftovers are removed by the next save."""
    target = str(tmp_path / "soak.params")
    nd.save(target, {"v": nd.full((1 << 21,), 1)})
    rng = np.random.default_rng(0)
    mid_save = 0
    for _ in range(30):
        child = subprocess.Popen([sys.executable, "-c", _SOAK_CHILD, target], cwd=_ROOT,
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "GO"
        time.sleep(float(rng.uniform(0.0, 0.5)))
        child.kill()
        child.wait()
        # at most one leftover: each save removed those of the killed children before it
        left = [n for n in _listing(tmp_path) if n.endswith(".tmp")]
        assert len(left) <= 1
        mid_save += bool(left)
        v = nd.load(target)["v"].asnumpy()
        assert v.shape == (1 << 21,) and v[0] in (1, 2) and (v == v[0]).all()
    assert mid_save, "no kill landed inside a save: the soak tested nothing"
    nd.save(target, {"v": nd.ones(1)})
    assert _listing(tmp_path) == ["soak.params"]
