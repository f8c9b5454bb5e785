"""The example programs run end to end and reach the answers they are meant to reach."""
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_example(name, *args, timeout=300):
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout, proc.stderr


def test_linear_regression_scratch_recovers_the_parameters():
    out, err = run_example("linear_regression_scratch.py")
    losses = [float(v) for _, v in re.findall(r"^epoch (\d+), loss (\S+)$", out, re.M)]
    assert len(losses) == 3, out
    assert losses[-1] < 1e-3, out       # the noise alone gives 0.01**2 / 2 = 5e-5
    assert losses[0] > losses[-1], out
    w = re.search(r"^true w \[2, -3\.4\] learned w \[(\S+), (\S+)\]$", out, re.M)
    b = re.search(r"^true b 4\.2 learned b (\S+)$", out, re.M)
    assert w and b, out
    assert abs(float(w.group(1)) - 2) < 0.05 and abs(float(w.group(2)) + 3.4) < 0.05, out
    assert abs(float(b.group(1)) - 4.2) < 0.05, out
    assert "100/100" in err  # the tqdm bar went over all 100 minibatches of an epoch


FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


@pytest.mark.skipif(not FASHION.exists(), reason="Fashion-MNIST (Debian dataset-fashion-mnist) "
                    "is not installed")
def test_lenet_demo_runs_on_a_subset():
    """The demo `make demo` runs (full data: test accuracy >= 0.85 in one epoch, see
    CHANGELOG); here on 8192 images to keep CI fast: it trains, evaluates, and its
    checkpoint reloads to identical outputs."""
    out, _ = run_example("train_fashion_mnist_lenet.py", "--train-samples", "8192",
                         timeout=600)
    m = re.search(r"^epoch 1: train loss (\S+), train acc (\S+), test acc (\S+),", out, re.M)
    assert m, out
    assert float(m.group(3)) > 0.65, out
    assert "reloaded into a fresh network: outputs identical" in out, out
    assert "samples_per_s=" in out and "32/32" in out  # the progress bar ran over every batch


DOCS = ["README.md", "docs/index.md", "docs/migrating-from-mxnet.md", "docs/hybridize.md",
        "docs/gluon.md", "docs/security.md"]


@pytest.mark.parametrize("doc", DOCS)
def test_doc_snippets_run(doc, tmp_path):
    """Every ```python block of a page runs, top to bottom in one namespace, as the page
    promises (blocks meant only to be read are marked ```text or ```bash)."""
    text = (ROOT / doc).read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)
    assert blocks, f"{doc} has no python snippets"
    script = "\n".join(f"# --- block {i}\n{b}" for i, b in enumerate(blocks))
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, f"a snippet of {doc} failed:\n{proc.stderr}"
