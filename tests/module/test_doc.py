"""docs/module.md: every ```python block runs, top to bottom in one namespace."""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_module_guide_snippets_run(tmp_path):
    text = (ROOT / "docs" / "module.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)
    assert len(blocks) >= 3
    script = "\n".join(f"# --- block {i}\n{b}" for i, b in enumerate(blocks))
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"a snippet of docs/module.md failed:\n{proc.stderr}"
    assert "Epoch[4] Validation-accuracy=" in proc.stderr
    acc = float(re.findall(r"\('accuracy', ([0-9.]+)\)", proc.stdout)[0])
    assert acc > 0.8
