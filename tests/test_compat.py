"""The drop-in ``mxnet`` alias (gluonlite.compat): in-process, the runner, the installed shim,
and the refusal to run beside a real MXNet."""
import importlib
import os
import subprocess
import sys
import textwrap

import pytest

import gluonlite
import gluonlite.compat as compat
from gluonlite.compat import MXNetConflictError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def alias():
    compat.disable()
    mx = compat.enable()
    yield mx
    compat.disable()


def _fake_real_mxnet(root):
    """A package named mxnet that is not the shim (stands for a pip-installed MXNet)."""
    d = root / "mxnet"
    d.mkdir()
    (d / "__init__.py").write_text("raise RuntimeError('the real mxnet was imported')\n")
    (d / "libmxnet.so").write_bytes(b"")
    return d


def test_import_mxnet_resolves_to_gluonlite(alias):
    import mxnet
    import mxnet.gluon.nn
    import mxnet.ndarray.ndarray as ndm
    from mxnet import autograd, gluon, nd
    from mxnet.gluon import nn
    from mxnet.gluon.data.vision import transforms
    assert mxnet is alias and mxnet.__name__ == "mxnet"
    assert mxnet.__version__ == compat.MXNET_API_VERSION == "1.9.1"
    assert mxnet.__gluonlite_version__ == gluonlite.__version__
    assert nd is gluonlite.nd and gluon is gluonlite.gluon and autograd is gluonlite.autograd
    assert nn is gluonlite.gluon.nn and mxnet.gluon.nn is gluonlite.gluon.nn
    assert ndm is gluonlite.ndarray.ndarray
    assert transforms is importlib.import_module("gluonlite.gluon.data.vision.transforms")
    assert sys.modules["mxnet.gluon.nn"] is gluonlite.gluon.nn
    # one set of classes under both names
    x = mxnet.nd.ones((2, 3))
    assert isinstance(x, gluonlite.nd.NDArray) and isinstance(x, mxnet.ndarray.NDArray)
    assert mxnet.cpu() == gluonlite.cpu() and mxnet.base.MXNetError is gluonlite.MXNetError
    net = mxnet.gluon.nn.Dense(2)
    net.initialize()
    assert net(x).shape == (2, 2)


def test_top_level_aliases_and_star_import(alias):
    mxnd = importlib.import_module("mxnet.nd")        # attribute aliases import too
    assert mxnd is gluonlite.ndarray
    assert importlib.import_module("mxnet.sym") is gluonlite.symbol
    ns = {}
    exec("from mxnet import *", ns)
    assert ns["nd"] is gluonlite.nd and ns["gluon"] is gluonlite.gluon and "cpu" in ns
    assert "nd" in dir(alias) and "gluon" in dir(alias)


def test_missing_parts_fail_clearly(alias):
    with pytest.raises(ModuleNotFoundError, match=r"No module named 'mxnet.contrib.onnx'.*"
                                                  r"gluonlite.contrib.onnx") as e:
        importlib.import_module("mxnet.contrib.onnx")
    assert e.value.name == "mxnet.contrib.onnx"
    with pytest.raises(ModuleNotFoundError) as e:
        importlib.import_module("mxnet.no_such_thing")
    assert e.value.name == "mxnet.no_such_thing"
    # a library probing for an optional part gets an ordinary ImportError
    try:
        from mxnet.no_such_thing import x  # noqa: F401
        probed = True
    except ImportError:
        probed = False
    assert not probed
    with pytest.raises(AttributeError, match="gluonlite does not implement mxnet.no_attr"):
        alias.no_attr


def test_disable_removes_the_alias(alias):
    import mxnet.gluon  # noqa: F401
    compat.disable()
    assert not compat.is_enabled()
    assert not any(n == "mxnet" or n.startswith("mxnet.") for n in sys.modules)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("mxnet")
    assert gluonlite.gluon.nn.Dense  # gluonlite itself untouched


def test_real_mxnet_is_refused(tmp_path, monkeypatch):
    compat.disable()
    real = _fake_real_mxnet(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert compat.find_real_mxnet() == str(real / "__init__.py")
    with pytest.raises(MXNetConflictError, match=r"real Apache MXNet is installed at .*"
                                                 r"mxnet.*pip uninstall mxnet"):
        compat.enable()
    assert not compat.is_enabled() and "mxnet" not in sys.modules
    assert not isinstance(MXNetConflictError("x"), ImportError)  # never read as "missing"


def _py(args, env_extra=None, cwd=None, timeout=120):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable] + args, capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd or REPO)


def test_runner_runs_scripts_modules_and_code(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import sys
        import mxnet as mx
        from mxnet import nd
        import helper                      # the script's own folder is on sys.path
        l = nd.array([1.0, 2.0]).mean()
        print("name=%s argv=%s v=%s loss %f" % (__name__, sys.argv[1:], mx.__version__,
                                                 l.asnumpy()))
        sys.exit(int(sys.argv[1]))
    """))
    (tmp_path / "helper.py").write_text("")
    r = _py(["-m", "gluonlite.compat", "run", str(script), "3", "x"])
    assert r.returncode == 3, r.stderr
    assert "name=__main__ argv=['3', 'x'] v=1.9.1 loss 1.500000" in r.stdout
    (tmp_path / "mod_main.py").write_text("import mxnet, sys; print('mod', __name__, "
                                          "sys.argv[1:], mxnet.gluon.nn.Dense.__module__)")
    r = _py(["-m", "gluonlite.compat", "run", "-m", "mod_main", "a"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "mod __main__ ['a'] gluonlite.gluon.nn" in r.stdout
    r = _py(["-m", "gluonlite.compat", "run", "-c", "import mxnet; print(mxnet.nd.ones(2).sum()"
                                                    ".asscalar())"])
    assert r.returncode == 0 and r.stdout.strip() == "2.0", r.stderr
    r = _py(["-m", "gluonlite.compat", "run", str(tmp_path / "missing.py")])
    assert r.returncode == 2 and "no such file" in r.stderr
    r = _py(["-m", "gluonlite.compat", "frobnicate"])
    assert r.returncode == 2 and "unknown command 'frobnicate'" in r.stderr


def test_runner_refuses_beside_real_mxnet(tmp_path):
    _fake_real_mxnet(tmp_path)
    r = _py(["-m", "gluonlite.compat", "run", "-c", "print('ran')"],
            env_extra={"PYTHONPATH": str(tmp_path)})
    assert r.returncode == 1 and "ran" not in r.stdout
    assert "real Apache MXNet is installed at" in r.stderr and str(tmp_path) in r.stderr
    r = _py(["-m", "gluonlite.compat", "check"], env_extra={"PYTHONPATH": str(tmp_path)})
    assert r.returncode == 1 and "real MXNet" in r.stdout


def test_installed_shim(tmp_path):
    site = tmp_path / "site"
    r = _py(["-m", "gluonlite.compat", "install", "--target", str(site)])
    assert r.returncode == 0, r.stderr
    code = ("import mxnet, mxnet.gluon.nn as nn; from mxnet import nd; import gluonlite;"
            "print(mxnet.__version__, nn is gluonlite.gluon.nn, nd.ones(3).shape)")
    r = _py(["-c", code], env_extra={"PYTHONPATH": str(site)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1.9.1", "True", "(3,)"]
    # installing again is fine; a real MXNet elsewhere on the path is refused at import
    assert _py(["-m", "gluonlite.compat", "install", "--target", str(site)]).returncode == 0
    other = tmp_path / "other"
    other.mkdir()
    _fake_real_mxnet(other)
    r = _py(["-c", "import mxnet"], env_extra={"PYTHONPATH": f"{site}{os.pathsep}{other}"})
    assert r.returncode != 0 and "MXNetConflictError" in r.stderr and str(other) in r.stderr
    r = _py(["-m", "gluonlite.compat", "uninstall", "--target", str(site)])
    assert r.returncode == 0 and not (site / "mxnet").exists()
    r = _py(["-c", "import mxnet"], env_extra={"PYTHONPATH": str(site)})
    assert r.returncode != 0 and "No module named 'mxnet'" in r.stderr


def test_install_never_touches_a_real_mxnet(tmp_path):
    real = _fake_real_mxnet(tmp_path)
    with pytest.raises(MXNetConflictError):
        compat.install(str(tmp_path))
    with pytest.raises(MXNetConflictError, match="not the gluonlite shim"):
        compat.uninstall(str(tmp_path))
    assert (real / "libmxnet.so").exists()
    assert (real / "__init__.py").read_text().startswith("raise RuntimeError")
    assert compat.uninstall(str(tmp_path / "nothing_here")) is False


def test_runner_restores_numpy_aliases_removed_in_1_24():
    # gluoncv's anchor generator calls np.float; NumPy 2 has np.bool again, left alone
    code = ("import numpy as np, mxnet; print(np.float is float, np.int is int, "
            "np.object is object, np.bool is np.bool_)")
    r = _py(["-m", "gluonlite.compat", "run", "-c", code])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True", "True", "True"]
    r = _py(["-c", "import numpy as np, gluonlite; print(hasattr(np, 'float'))"])
    assert r.stdout.strip() == "False"  # plain `import gluonlite` changes nothing
