"""Issue 16: seeded fuzzing of every file reader, in bounded time.

Mutants of valid fixture files (bit flips, truncations, insertions, duplicated chunks,
huge length fields) must either load or raise ``FileFormatError`` (or the error MXNet's
API documents for that reader, e.g. a missing parameter's ``AssertionError``): never
another exception type, never a crash, never a giant allocation (peak RSS is checked),
and a failed ``load_parameters`` must leave the network's parameters unchanged. Hostile
``-symbol.json`` graphs must execute nothing. Optimizer-state files are fuzzed in
tests/optimizer.
"""
import json
import random
import resource
import shutil
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import gluon, nd
from gluonlite.base import FileFormatError, MXNetError
from gluonlite.gluon import nn

FIX = Path(__file__).parent / "fixtures"
N = 150  # mutants per reader and seed file: the whole module runs in a few seconds


def _mutants(data: bytes, seed: int, n: int = N):
    """``n`` mutants of ``data``: bit flips, truncations, insertions, duplicated chunks and
    huge little-endian length fields (u32/u64) written over existing bytes."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        b = bytearray(data)
        kind = rng.randrange(6)
        pos = rng.randrange(len(b)) if b else 0
        if kind == 0:      # bit flips
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(b))
                b[i] ^= 1 << rng.randrange(8)
        elif kind == 1:    # truncation
            del b[pos:]
        elif kind == 2:    # insertion of random bytes
            b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif kind == 3:    # a duplicated chunk
            end = min(len(b), pos + rng.randint(1, 64))
            b[pos:pos] = b[pos:end]
        elif kind == 4:    # a huge u64 length field, aligned as the binary formats are
            pos -= pos % 4
            b[pos:pos + 8] = rng.choice([2 ** 63 - 1, 2 ** 62, 2 ** 40, 2 ** 32 + 1,
                                         2 ** 31]).to_bytes(8, "little")
        else:              # a huge u32 field, or a byte set to a boundary value
            pos -= pos % 4
            b[pos:pos + 4] = rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 0x80000000,
                                         0x1000000]).to_bytes(4, "little")
        out.append(bytes(b))
    return out


def _json_mutants(text: str, seed: int, n: int = N):
    """Mutants of a JSON graph that stay JSON, so they reach the graph checks: values
    replaced by other types, huge or negative numbers, hostile strings, deep nesting."""
    rng = random.Random(seed)
    doc = json.loads(text)
    hostile = ["__import__('os').system('false')", "(" * 300, "9" * 5000, "-1", "1e400",
               "[" * 5000, "\x00", "None", "(0, -7)", "(2, 3, 4, 5, 6, 7, 8, 9)", ""]
    values = [None, -1, 2 ** 63, 1.5, "x", [], {}, [[0, 0, 0]], [1, "a"], [[-1, 0]],
              [[0, 99, 0]], [[10 ** 20, 0, 0]], "[" * 50 + "]" * 50]

    def walk(node, path):
        paths = [path]
        if isinstance(node, dict):
            for k, v in node.items():
                paths += walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                paths += walk(v, path + [i])
        return paths

    paths = walk(doc, [])[1:]
    out = []
    for _ in range(n):
        d = json.loads(text)
        for _ in range(rng.randint(1, 3)):
            p = rng.choice(paths)
            parent = d
            try:
                for k in p[:-1]:
                    parent = parent[k]
                old = parent[p[-1]]
            except (KeyError, IndexError, TypeError):
                continue
            if not isinstance(parent, (dict, list)):  # an earlier edit replaced it
                continue
            if isinstance(old, str) and rng.random() < 0.6:
                parent[p[-1]] = rng.choice(hostile)
            elif rng.random() < 0.2 and isinstance(parent, list):
                del parent[p[-1]]
            else:
                parent[p[-1]] = rng.choice(values)
        out.append(json.dumps(d))
    return out


def _peak_rss_mb():
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 / 1024 if sys.platform == "darwin" else r / 1024


@pytest.fixture(autouse=True)
def _no_giant_allocation():
    """A mutant that made a reader allocate far more than the file holds shows up as a
    jump of the process's peak RSS (fixtures are < 300 KB; 200 MB is generous)."""
    before = _peak_rss_mb()
    yield
    assert _peak_rss_mb() - before < 200, "a mutant made a reader allocate hundreds of MB"


def _run(label, fn, allowed=(FileFormatError,)):
    """Call ``fn``; return True if it loaded, False if it raised an allowed error."""
    try:
        fn()
        return True
    except allowed:
        return False
    except Exception as e:  # pragma: no cover - the failure message is the point
        raise AssertionError(f"{label}: {type(e).__name__}: {e}") from e


def _check(kind, seed_file, outcomes):
    loaded = sum(outcomes)
    # most mutants must be caught; some (flips in data bytes) load, and that is fine
    assert len(outcomes) - loaded > len(outcomes) // 4, (kind, seed_file, loaded)


# --- nd.load -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["nd_list.params", "nd_dict.params",
                                  "serialization/mx_dtypes_dict.params",
                                  "serialization/crafted_legacy.params"])
def test_nd_load_mutants(tmp_path, name):
    seed = (FIX / name).read_bytes()
    p = tmp_path / "m.params"
    outcomes = []
    for k, m in enumerate(_mutants(seed, seed=zlib.crc32(name.encode()))):
        p.write_bytes(m)
        outcomes.append(_run(f"nd.load {name} mutant {k}", lambda: nd.load(str(p))))
        outcomes.append(_run(f"load_frombuffer {name} mutant {k}",
                             lambda: nd.load_frombuffer(m)))
    _check("nd.load", name, outcomes)


# --- Block.load_parameters -----------------------------------------------------------------
def _small_net():
    net = nn.HybridSequential(prefix="fz_")
    with net.name_scope():
        net.add(nn.Dense(4, in_units=3), nn.BatchNorm(in_channels=4), nn.Dense(2, in_units=4))
    net.initialize(mx.init.Uniform(1.0))
    return net


def test_load_parameters_mutants_leave_the_net_unchanged(tmp_path):
    net = _small_net()
    good = tmp_path / "good.params"
    net.save_parameters(str(good))
    seed = good.read_bytes()
    # perturb the net so a load that wrongly half-applied would be visible
    for p in net.collect_params().values():
        p.set_data(p.data() + 1.0)
    before = {k: v.data().asnumpy().copy() for k, v in net.collect_params().items()}
    p = tmp_path / "m.params"
    outcomes = []
    # MXNet's documented errors for names/shapes that do not fit the net
    allowed = (FileFormatError, AssertionError, ValueError)
    for k, m in enumerate(_mutants(seed, seed=7, n=2 * N)):
        p.write_bytes(m)
        ok = _run(f"load_parameters mutant {k}", lambda: net.load_parameters(str(p)),
                  allowed)
        outcomes.append(ok)
        if ok:  # restore the reference values for the next mutant
            for name, v in net.collect_params().items():
                v.set_data(nd.array(before[name]))
        else:
            for name, v in net.collect_params().items():
                np.testing.assert_array_equal(v.data().asnumpy(), before[name],
                                              err_msg=f"mutant {k} changed {name}")
    _check("load_parameters", "good.params", outcomes)


# --- -symbol.json: mx.sym.load, SymbolBlock.imports, load_checkpoint -----------------------
SYMBOLS = ["lenet_bn-symbol.json", "symbols/mlp-symbol.json", "symbols/convnet-symbol.json"]


@pytest.mark.parametrize("name", SYMBOLS)
def test_symbol_json_mutants(tmp_path, name):
    seed = (FIX / name).read_bytes()
    p = tmp_path / "m-symbol.json"
    outcomes = []
    mutants = _mutants(seed, seed=11, n=N // 2) + \
        [m.encode() for m in _json_mutants(seed.decode(), seed=13)]
    for k, m in enumerate(mutants):
        p.write_bytes(m)
        outcomes.append(_run(f"sym.load {name} mutant {k}", lambda: mx.sym.load(str(p))))
    _check("sym.load", name, outcomes)


def test_symbolblock_imports_mutants(tmp_path):
    sym_seed = (FIX / "lenet_bn-symbol.json").read_text()
    par_seed = (FIX / "lenet_bn-0000.params").read_bytes()
    s, pfile = tmp_path / "m-symbol.json", tmp_path / "m-0000.params"
    x = nd.array(np.load(FIX / "lenet_bn_input.npy"))
    outcomes = []
    pfile.write_bytes(par_seed)
    for k, m in enumerate(_json_mutants(sym_seed, seed=17, n=N // 2)):
        s.write_text(m)
        # a graph that loads but no longer fits the parameters fails as MXNet's loader
        # does (missing/extra parameter: AssertionError, shape mismatch: MXNetError)
        outcomes.append(_run(f"imports symbol mutant {k}",
                             lambda: gluon.SymbolBlock.imports(str(s), ["data"], str(pfile)),
                             (FileFormatError, AssertionError, MXNetError)))
    s.write_text(sym_seed)
    for k, m in enumerate(_mutants(par_seed, seed=19, n=N // 2)):
        pfile.write_bytes(m)

        def load_and_run():
            net = gluon.SymbolBlock.imports(str(s), ["data"], str(pfile))
            net(x)
        outcomes.append(_run(f"imports params mutant {k}", load_and_run,
                             (FileFormatError, AssertionError, MXNetError)))
    _check("imports", "lenet_bn", outcomes)


def test_load_checkpoint_mutants(tmp_path):
    sym_seed = (FIX / "lenet_bn-symbol.json").read_bytes()
    par_seed = (FIX / "lenet_bn-0000.params").read_bytes()
    prefix = str(tmp_path / "m")
    outcomes = []
    shutil.copy(FIX / "lenet_bn-0000.params", f"{prefix}-0000.params")
    for k, m in enumerate(_mutants(sym_seed, seed=23, n=N // 3)):
        Path(f"{prefix}-symbol.json").write_bytes(m)
        outcomes.append(_run(f"load_checkpoint symbol mutant {k}",
                             lambda: mx.model.load_checkpoint(prefix, 0)))
    Path(f"{prefix}-symbol.json").write_bytes(sym_seed)
    for k, m in enumerate(_mutants(par_seed, seed=29, n=N // 3)):
        Path(f"{prefix}-0000.params").write_bytes(m)
        # load_params reports a key that is not 'arg:'/'aux:' as ValueError (its API)
        outcomes.append(_run(f"load_checkpoint params mutant {k}",
                             lambda: mx.model.load_checkpoint(prefix, 0),
                             (FileFormatError, ValueError)))
    _check("load_checkpoint", "lenet_bn", outcomes)


# --- RecordIO ------------------------------------------------------------------------------
def _read_all(idx, rec):
    r = mx.recordio.MXIndexedRecordIO(str(idx), str(rec), "r")
    try:
        for key in r.keys:
            item = r.read_idx(key)
            if item is not None and len(item) >= 24:
                mx.recordio.unpack(item)
    finally:
        r.close()


@pytest.mark.parametrize("stem", ["mx_raw", "mx_strkeys"])
def test_recordio_index_and_record_mutants(tmp_path, stem):
    key_type = str if stem == "mx_strkeys" else int
    idx_seed = (FIX / "recordio" / f"{stem}.idx").read_bytes()
    rec_seed = (FIX / "recordio" / f"{stem}.rec").read_bytes()
    idx, rec = tmp_path / "m.idx", tmp_path / "m.rec"

    def read():
        r = mx.recordio.MXIndexedRecordIO(str(idx), str(rec), "r", key_type=key_type)
        try:
            for key in r.keys:
                r.read_idx(key)
        finally:
            r.close()

    outcomes = []
    rec.write_bytes(rec_seed)
    for k, m in enumerate(_mutants(idx_seed, seed=31)):
        idx.write_bytes(m)
        outcomes.append(_run(f"recordio idx mutant {k}", read))
    idx.write_bytes(idx_seed)
    for k, m in enumerate(_mutants(rec_seed, seed=37, n=N // 2)):
        rec.write_bytes(m)
        outcomes.append(_run(f"recordio rec mutant {k}", read))
    assert not all(outcomes)


def test_packed_record_mutants(tmp_path):
    """Image records (``recordio.unpack``): a corrupt header is a ValueError (its API)."""
    seed = (FIX / "recordio" / "mx_packed.rec").read_bytes()
    rec = tmp_path / "m.rec"
    for k, m in enumerate(_mutants(seed, seed=41)):
        rec.write_bytes(m)

        def read():
            r = mx.recordio.MXRecordIO(str(rec), "r")
            try:
                while True:
                    item = r.read()
                    if item is None:
                        break
                    mx.recordio.unpack(item)
            finally:
                r.close()
        _run(f"packed record mutant {k}", read, (FileFormatError, ValueError))


# --- hostile graphs ------------------------------------------------------------------------
_PAYLOADS = [
    "__import__('pathlib').Path({sentinel!r}).touch()",
    "exec(\"open({sentinel!r}, 'w').close()\")",
    "(lambda: open({sentinel!r}, 'w'))()",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "{{'__reduce__': open({sentinel!r}, 'w')}}",
]


def test_hostile_symbol_files_execute_nothing(tmp_path):
    sentinel = str(tmp_path / "PWNED")
    base = json.loads((FIX / "symbols" / "mlp-symbol.json").read_text())
    x = nd.ones((2, 784))
    tried = ran = 0
    for payload in _PAYLOADS:
        code = payload.format(sentinel=sentinel)
        graphs = []
        for i, node in enumerate(base["nodes"]):
            d = json.loads(json.dumps(base))
            n = d["nodes"][i]
            if n["op"] == "null":  # code in each attribute a variable carries, one by one
                for key in ("__shape__", "__dtype__", "__init__", "__lr_mult__",
                            "__wd_mult__", "__storage_type__", "__profiler_scope__"):
                    d1 = json.loads(json.dumps(base))
                    d1["nodes"][i]["attrs"] = {key: code}
                    graphs.append(d1)
            else:
                n["attrs"] = {k: code for k in n.get("attrs", {})} or {"__x__": code}
                graphs.append(d)
            d2 = json.loads(json.dumps(base))
            d2["nodes"][i]["op"] = code  # code as the operator name
            graphs.append(d2)
        for op in ("__import__", "eval", "exec", "os.system", "builtins.eval", "_index"):
            d = json.loads(json.dumps(base))
            d["nodes"][1]["op"] = op
            graphs.append(d)
        for d in graphs:
            p = tmp_path / "h-symbol.json"
            p.write_text(json.dumps(d))
            tried += 1
            try:
                blk = gluon.SymbolBlock.imports(str(p), ["data"])
                blk.initialize()
                blk.hybridize()
                blk(x)
                s = mx.sym.load(str(p))
                s.simple_bind(mx.cpu(), data=(2, 784)).forward()
                ran += 1
            except (FileFormatError, MXNetError, AssertionError, ValueError):
                pass
            assert not Path(sentinel).exists(), f"a graph executed code: {d}"
    assert tried > 50
    assert ran > 10  # graphs carrying code in free-form attributes load and run, inertly
