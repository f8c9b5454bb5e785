"""The compiled path (Numba kernels, fused groups of any size) and the reference path
(``GLUONLITE_JIT=0``: NumPy only, nothing fused) give equal results on the whole layer
suite — every layer fixture case, imperative and hybridized: outputs, input gradients,
parameter gradients and updated running statistics."""
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(tmp_path, name, **env):
    out = tmp_path / f"{name}.npz"
    r = subprocess.run([sys.executable, "-m", "tests.compiler._layer_suite", str(out)],
                       cwd=ROOT, env=dict(os.environ, **env), capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return np.load(out)


def test_numba_path_equals_reference_path_on_every_layer(tmp_path):
    fast = _run(tmp_path, "jit", GLUONLITE_JIT="1", GLUONLITE_FUSE_MIN="1")
    ref = _run(tmp_path, "ref", GLUONLITE_JIT="0")
    assert sorted(fast.files) == sorted(ref.files)
    assert len({k.split("|")[0] for k in ref.files}) > 50
    for k in ref.files:
        a, b = fast[k], ref[k]
        assert a.dtype == b.dtype and a.shape == b.shape, k
        tol = dict(rtol=1e-4, atol=1e-5) if a.dtype != np.float64 else \
            dict(rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(a, b, **tol, err_msg=k)
