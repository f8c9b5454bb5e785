"""Smoke tests of the benchmark harness's logic (bench/): GEMM-floor shapes, row selection
and the report's goals. No timing is asserted and no peer framework is needed."""
import json
import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
sys.path.insert(0, BENCH)

import _gemm  # noqa: E402
import training  # noqa: E402
import first_step  # noqa: E402
import models  # noqa: E402
from _workloads import ROWS, check_rows, suite_rows, warmup_steps  # noqa: E402

ROOT = os.path.dirname(BENCH)
TORCH_PY = os.path.join(ROOT, ".peers", "torch", "bin", "python")


def test_layer_gemms_dense_and_conv():
    # Dense 784->256 on batch 16, first layer: forward and weight gradient only
    assert _gemm.layer_gemms("dense", (16, 784), (256, 784), (16, 256), True) == [
        ("fwd", (16, 784), False, (256, 784), True),
        ("dW", (16, 256), True, (16, 784), False)]
    # Conv 20->50 3x3 on (256, 20, 12, 12) -> (256, 50, 10, 10): im2col M=25600, K=180
    g = _gemm.layer_gemms("conv", (256, 20, 12, 12), (50, 20, 3, 3), (256, 50, 10, 10),
                          False)
    assert [x[0] for x in g] == ["fwd", "dW", "dX"]
    assert g[0] == ("fwd", (25600, 180), False, (50, 180), True)
    assert _gemm.gflop(g) == pytest.approx(3 * 2 * 25600 * 180 * 50 / 1e9)
    with pytest.raises(ValueError, match="kind"):
        _gemm.layer_gemms("pool", (1,), (1,), (1,), False)


def test_capture_reads_the_model():
    import gluonlite as mx
    plan = _gemm.capture(mx, "mlp/16")
    # 3 Dense layers x (fwd, dW, dX) minus the first layer's dX
    assert len(plan) == 8
    assert _gemm.gflop(plan) == pytest.approx(
        3 * 2 * 16 * (784 * 256 + 256 * 256 + 256 * 10) / 1e9 - 2 * 16 * 784 * 256 / 1e9)
    assert _gemm.runner(plan)(1) > 0
    with pytest.raises(ValueError, match="inference"):
        _gemm.capture(mx, "mlp-infer/1")


def test_rows_selection():
    step = ["mlp/256", "mlp/16", "lenet/256", "mlp-infer/1", "resnet18/64"]
    assert training.parse_rows(None) == step == suite_rows("step")
    assert training.parse_rows(["resnet18/64,mlp/16"]) == ["mlp/16", "resnet18/64"]
    with pytest.raises(ValueError, match="unknown row"):
        check_rows(["mlp/32"])
    # bench/run.py hands every benchmark the same --only: each keeps its own suite's rows
    assert training.parse_rows(["mlp/16", "resnet50/32"]) == ["mlp/16"]
    assert training.parse_rows(["mlp/16", "resnet50/32"], "zoo") == ["resnet50/32"]
    assert training.parse_rows(["resnet50/32,mlp/16"], None) == ["mlp/16", "resnet50/32"]
    assert set(suite_rows("zoo")) == {
        "resnet50-infer/1", "resnet50-infer/16", "resnet50/32", "mobilenetv2-infer/1",
        "mobilenetv2-infer/16", "resnet20-infer/1", "resnet20-infer/16", "resnet20/128"}
    assert all(ROWS[r].goal == 0.80 and ROWS[r].torch_goal == 1.00 for r in suite_rows("zoo"))
    # heavy inference rows warm up as long as a round, light ones 20 calls, training 2 steps
    assert warmup_steps("resnet50-infer/16") == 2 and warmup_steps("mlp-infer/1") == 20
    assert warmup_steps("resnet50/32") == 2


def test_report_marks_goals_and_failures():
    names = ["gluonlite:imperative", "gluonlite:hybrid", "mxnet:imperative", "mxnet:hybrid"]
    samples = {("gluonlite:imperative", "mlp/16"): [1.0], ("gluonlite:hybrid", "mlp/16"): [0.5],
               ("mxnet:imperative", "mlp/16"): [2.0], ("mxnet:hybrid", "mlp/16"): [2.0],
               (training.FLOOR, "mlp/16"): [0.2]}
    failures = {("gluonlite:hybrid", "resnet18/64"): "MXNetError: no kernel"}
    text = training.report(["mlp/16", "resnet18/64"], samples, {"mlp/16": (8, 0.02)},
                           failures, names, {}, True, 1)
    # 0.5 / 2.0 = 0.25 meets the mlp/16 goal (<= 0.40); 1.0 / 2.0 meets imperative <= 1
    assert "| mlp/16 | 0.25 | ≤ 0.40 ✓ | 0.50 | ≤ 1.00 ✓ | – | – | 2.00x" in text
    assert "FAILED [1]" in text and "[1] gluonlite hybridized, resnet18/64: FAILED: " \
        "MXNetError: no kernel" in text
    assert "| mlp/16 | 0.500 | 8 | 0.020 | 0.200 | 100 | 0.300 | 40% |" in text


def test_ablation_settings_and_report():
    import ablation
    assert ablation.setting_env("no split") == {"GLUONLITE_DECOMPOSE": "0"}
    assert ablation.setting_env("A=1+B=x=y") == {"A": "1", "B": "x=y"}
    with pytest.raises(ValueError, match="expected one of"):
        ablation.setting_env("nonsense")
    samples = {("all on", "lenet/256"): [40.0, 42.0, 41.0],
               ("no split", "lenet/256"): [44.0, 45.0, 46.0]}
    text = ablation.report(["lenet/256", "mlp/16"], ["all on", "no split"], samples,
                           {"no split mlp/16": "boom"}, 3)
    assert "| lenet/256 | 41.00 | 45.00 (1.10) |" in text
    assert "| mlp/16 | — | — |" in text
    assert "no split mlp/16: boom" in text


def test_memory_report_separates_the_jit_runtime():
    names = ["gluonlite:hybrid", "mxnet:hybrid"]
    memory = {"gluonlite:hybrid": {"before": 40.0, "peak": 240.0, "reset": True,
                                   "lazy": ["llvmlite", "numba"]},
              "mxnet:hybrid": {"before": 140.0, "peak": 220.0, "reset": True, "lazy": []},
              "jit": {"import": 60.0, "first_kernel": 50.0}}
    text = training.report(["lenet/256"], {}, {}, {}, names, memory, True, 1)
    assert "110.0 MB in all" in text
    # increase 200 vs 80: 2.50; 90 vs 80 without the JIT runtime: 1.12, the goal
    assert "| 200.0 | llvmlite, numba | 2.50 | 1.12 | ≤ 1.00 ✗ |" in text
    memory["gluonlite:hybrid"]["peak"] = 190.0  # 150 - 110 JIT = 40: half MXNet's 80
    text = training.report(["lenet/256"], {}, {}, {}, names, memory, True, 1)
    assert "| 150.0 | llvmlite, numba | 1.88 | 0.50 | ≤ 1.00 ✓ |" in text


def test_report_pytorch_goals():
    names = ["gluonlite:hybrid", "pytorch:eager"]
    samples = {("gluonlite:hybrid", "mlp-infer/1"): [0.04], ("pytorch:eager", "mlp-infer/1"):
               [0.05], ("gluonlite:hybrid", "lenet/256"): [45.0],
               ("pytorch:eager", "lenet/256"): [40.0]}
    text = training.report(["lenet/256", "mlp-infer/1"], samples, {}, {}, names, {}, True, 1)
    # 0.04 / 0.05 = 0.80 misses mlp-infer/1's 0.60; 45 / 40 = 1.12 misses lenet's 1.00
    assert "| mlp-infer/1 | – | ≤ 0.40 – | – | ≤ 1.00 – | 0.80 | ≤ 0.60 ✗ |" in text
    assert "| lenet/256 | – | ≤ 0.80 – | – | ≤ 1.00 – | 1.12 | ≤ 1.00 ✗ |" in text
    assert "Goals met: 0 of 2." in text


def test_models_report():
    names = list(models.NAMES)
    samples = {("gluonlite:hybrid", "resnet50/32"): [700.0, 900.0, 800.0],
               ("mxnet:hybrid", "resnet50/32"): [1000.0], ("pytorch:eager", "resnet50/32"):
               [780.0]}
    params = {("gluonlite:hybrid", "resnet50/32"): 25629032,
              ("mxnet:hybrid", "resnet50/32"): 25629032,
              ("pytorch:eager", "resnet50/32"): 25629032,
              ("gluonlite:hybrid", "resnet20/128"): 274042,
              ("pytorch:eager", "resnet20/128"): 274043}
    failures = {("mxnet:hybrid", "resnet20/128"): "MXNetError: out of memory"}
    text = models.report(["resnet50/32", "resnet20/128"], samples, failures, names, params,
                         True, 3)
    assert "| resnet50/32 | 800.0 (700.0–900.0) | 1000 (1000–1000) | 780.0 (780.0–780.0) |" in text
    # 800 / 1000 = 0.80 meets <= 0.80; 800 / 780 = 1.03 misses <= 1.00
    assert "| resnet50/32 | 0.80 | ≤ 0.80 ✓ | 1.03 | ≤ 1.00 ✗ |" in text
    assert "| resnet20/128 | – | ≤ 0.80 – | – | ≤ 1.00 – |" in text
    assert "resnet50: gluonlite 25,629,032, MXNet 25,629,032, PyTorch 25,629,032;" in text
    assert "resnet20: gluonlite 274,042, PyTorch 274,043 (differ!)" in text
    assert "[1] MXNet hybridized, resnet20/128: FAILED: MXNetError: out of memory" in text
    assert "Goals met: 1 of 2." in text


def test_first_step_report():
    names = ["gluonlite:hybrid", "mxnet:hybrid"]
    results = {("gluonlite:hybrid", "lenet/256"): [{"import_s": 0.2, "first_step_s": 0.6},
                                                  {"import_s": 0.2, "first_step_s": 0.4},
                                                  {"import_s": 0.3, "first_step_s": 0.45}],
               ("mxnet:hybrid", "lenet/256"): [{"import_s": 1.0, "first_step_s": 0.9}],
               ("gluonlite:hybrid", "mlp/256"): [{"error": "boom"}],
               ("mxnet:hybrid", "mlp/256"): [{"import_s": 1.0, "first_step_s": 0.3}]}
    text = first_step.report(results, {"lenet/256": {"import_s": 0.2, "first_step_s": 2.5}},
                             names, True, 3)
    # median 0.45 s meets the 0.5 s goal; 0.45 / 0.9 = 0.50
    assert "| lenet/256 | 0.45 (0.20) | 0.90 (1.00) | 2.50 | 0.50 | ≤ 0.5 s ✓ |" in text
    assert "| mlp/256 | FAILED | 0.30 (1.00) | – | – | – |" in text
    assert "- FAILED: gluonlite hybridized, mlp/256: boom" in text


def test_models_quick_smoke():
    # the whole harness (worker process, warm-up, one round, report) on the cheapest row
    r = subprocess.run([sys.executable, os.path.join(BENCH, "models.py"), "--quick",
                        "--markdown", "--only", "resnet20-infer/1", "--contenders",
                        "gluonlite:hybrid"], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "## Image models" in r.stdout
    assert "| resnet20-infer/1 | " in r.stdout and "FAILED" not in r.stdout
    assert "resnet20: gluonlite 274,042." in r.stdout


def test_first_step_child():
    r = subprocess.run([sys.executable, os.path.join(BENCH, "first_step.py"), "--child",
                        "gluonlite:hybrid", "--row", "mlp/256"], capture_output=True,
                       text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert 0 < out["first_step_s"] < 60 and 0 < out["import_s"] < 60


@pytest.mark.slow  # ~3 s, mostly importing torch; bench/models.py shows the counts each run
@pytest.mark.skipif(not os.path.exists(TORCH_PY), reason="needs .peers/torch (make peers)")
def test_torch_models_match_gluon_parameter_counts():
    # the hand-written PyTorch equivalents hold exactly as many numbers as the Gluon models
    code = ("import sys; sys.path.insert(0, 'bench'); import json, torch; "
            "from _workloads import TORCH_NETS, torch_param_count as c; "
            "print(json.dumps({k: c(f(torch)) for k, f in TORCH_NETS.items()}))")
    r = subprocess.run([TORCH_PY, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    torch_counts = json.loads(r.stdout.strip().splitlines()[-1])
    import numpy as np
    import gluonlite as mx
    from _workloads import IMAGE_SIDE, gluon_net, gluon_param_count
    for row in ("resnet18/64", "resnet20/128", "resnet50-infer/1", "mobilenetv2-infer/1"):
        kind = ROWS[row].kind
        net = gluon_net(mx, row)
        net.initialize()
        side = min(IMAGE_SIDE[kind], 64)  # counts do not depend on the image side
        net(mx.nd.array(np.zeros((1, 3, side, side), np.float32)))  # deferred shapes
        assert gluon_param_count(net) == torch_counts[kind], kind



def test_versus_compares_two_checkouts():
    # the working tree against HEAD, one quick row: both sides run their own bench/ scripts
    # from their own checkout, and the worktree is removed afterwards
    before = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True,
                            text=True)
    if before.returncode != 0:
        pytest.skip("not a git checkout")
    r = subprocess.run([sys.executable, os.path.join(BENCH, "versus.py"), "--base", "HEAD",
                        "--only", "mlp-infer/1", "--rounds", "1", "--hybrid-only",
                        "--no-overhead"], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "| mlp-infer/1 | hybrid |" in r.stdout
    after = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True,
                           text=True)
    assert after.stdout == before.stdout
    bad = subprocess.run([sys.executable, os.path.join(BENCH, "versus.py"), "--base", "HEAD",
                          "--only", "mlp/32"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown row" in bad.stderr
