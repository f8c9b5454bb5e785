"""Third-party MXNet code, unmodified, through the drop-in ``mxnet`` alias.

A separate virtual environment (``.venv/thirdparty``, or ``$GLUONLITE_THIRDPARTY_ENV``)
sees the project's packages (gluonlite, numpy, ...) through a ``.pth`` file and gets, from
PyPI through pip, gluoncv and d2lzh with ``--no-deps`` plus the few packages they import at
import time (requests, portalocker, scipy, matplotlib, ipython). It is built once (the first
run needs the network; ``make test`` runs it) and reused. Without the network the tests
skip and say why; ``GLUONLITE_THIRDPARTY_INSTALL=0`` skips the install.

The programs run in subprocesses (tests/third_party/*.py) under
``python -m gluonlite.compat run``, exactly as a user runs them.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent / "third_party"
ENV = Path(os.environ.get("GLUONLITE_THIRDPARTY_ENV", REPO / ".venv" / "thirdparty"))
NO_DEPS = ["gluoncv==0.10.5.post0", "d2lzh==1.0.0"]
# what they import at import time; resolved against the project's own packages (numpy,
# Pillow, tqdm are there already and are not installed twice)
IMPORT_DEPS = ["requests", "portalocker", "scipy", "matplotlib", "ipython"]
STAMP_TEXT = "\n".join(NO_DEPS + IMPORT_DEPS) + "\n"


def _env_python(env):
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(cmd, timeout):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _build_env(env):
    """Create the environment in a temporary folder and move it in place when complete, so
    an interrupted install is never taken for a finished one."""
    tmp = env.with_name(env.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    r = _run([sys.executable, "-m", "venv", str(tmp)], 300)
    if r.returncode:
        pytest.skip(f"cannot create the third-party test environment: {r.stderr[-500:]}")
    py = _env_python(tmp)
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   60).stdout.strip()
    base = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    with open(os.path.join(purelib, "_gluonlite_base.pth"), "w") as f:
        # addsitedir also runs the base's .pth files (the editable gluonlite install)
        f.write("import site; " + "; ".join(f"site.addsitedir({p!r})" for p in sorted(base))
                + "\n")
    for args in (["--no-deps"] + NO_DEPS, IMPORT_DEPS):
        r = _run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"] + args,
                 1200)
        if r.returncode:
            shutil.rmtree(tmp, ignore_errors=True)
            pytest.skip("pip could not install the third-party packages (no network to "
                        f"PyPI?): pip install {' '.join(args)}: {r.stderr.strip()[-600:]}")
    (tmp / ".ready").write_text(STAMP_TEXT)
    shutil.rmtree(env, ignore_errors=True)
    os.replace(tmp, env)


@pytest.fixture(scope="module")
def thirdparty_python():
    py = _env_python(ENV)
    stamp = ENV / ".ready"
    if not (stamp.exists() and stamp.read_text() == STAMP_TEXT and py.exists()):
        if os.environ.get("GLUONLITE_THIRDPARTY_INSTALL", "1") == "0":
            pytest.skip(f"third-party environment {ENV} is not built and "
                        "GLUONLITE_THIRDPARTY_INSTALL=0")
        _build_env(ENV)
    return str(py)


def _run_compat(py, script, *args, timeout=600):
    r = _run([py, "-m", "gluonlite.compat", "run", str(SCRIPTS / script), *args], timeout)
    assert r.returncode == 0, f"{script} failed:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}"
    return r.stdout


def test_environment_has_real_packages_and_no_mxnet(thirdparty_python):
    r = _run([thirdparty_python, "-c",
              "import importlib.util as u, gluoncv.check, d2lzh;"
              "print(u.find_spec('mxnet'))"], 120)
    # importing d2lzh needs mxnet: it fails without the alias...
    assert r.returncode != 0 and "mxnet" in r.stderr
    r = _run([thirdparty_python, "-m", "gluonlite.compat", "check"], 120)
    assert r.returncode == 0, r.stdout + r.stderr   # ...and no real MXNet is there


def test_gluoncv_classification_models(thirdparty_python):
    out = _run_compat(thirdparty_python, "gluoncv_models.py",
                      "cifar_resnet20_v1:2x3x32x32", "mobilenet0.25:1x3x32x32")
    assert out.count("ok ") == 2, out


@pytest.mark.slow
def test_gluoncv_more_classification_models(thirdparty_python):
    models = ["resnet18_v1b:1x3x64x64", "mobilenet1.0:1x3x64x64", "resnet18_v1:1x3x64x64",
              "mobilenetv2_0.25:1x3x64x64", "vgg11:1x3x32x32", "resnext50_32x4d:1x3x64x64",
              "squeezenet1.0:1x3x224x224", "densenet121:1x3x224x224", "se_resnet18_v1:1x3x64x64",
              "alexnet:1x3x224x224", "cifar_wideresnet16_10:1x3x32x32"]
    out = _run_compat(thirdparty_python, "gluoncv_models.py", *models, timeout=1800)
    assert out.count("ok ") == len(models), out


def test_d2lzh_train_ch5_lenet(thirdparty_python):
    out = _run_compat(thirdparty_python, "d2lzh_lenet.py", "256", "128")
    assert "training on cpu(0)" in out and "epoch 1, loss" in out and "ok lenet" in out, out


@pytest.mark.slow
def test_d2lzh_train_ch5_lenet_full_epoch(thirdparty_python):
    if not os.path.exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"):
        pytest.skip("needs Fashion-MNIST (Debian's dataset-fashion-mnist; `make dataset`)")
    out = _run_compat(thirdparty_python, "d2lzh_lenet.py", "0", "0", "full", timeout=1800)
    assert "epoch 1, loss" in out and "ok lenet" in out, out


def build(env=ENV):
    """Build (or keep) the third-party environment; returns its python. For `make test`:
    ``python tests/test_third_party.py --build``."""
    stamp = env / ".ready"
    if not (stamp.exists() and stamp.read_text() == STAMP_TEXT and _env_python(env).exists()):
        _build_env(env)
    return str(_env_python(env))


if __name__ == "__main__":
    if sys.argv[1:] != ["--build"]:
        sys.exit("usage: python tests/test_third_party.py --build")
    try:
        print(f"third-party test environment ready: {build()}")
    except pytest.skip.Exception as e:  # no network: the tests will skip with this reason
        sys.exit(f"warning: {e}")
