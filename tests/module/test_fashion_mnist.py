"""Module.fit on Fashion-MNIST: the classic 784-128-64-10 MLP with SoftmaxOutput reaches
0.85 test accuracy in 3 epochs; and the Module example runs (one short epoch)."""
import os
import pathlib
import sys

import pytest

import gluonlite as mx

DATA = "/usr/share/datasets/fashion-mnist"
FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(DATA, f)) for f in FILES),
    reason=f"Fashion-MNIST not found in {DATA} (Debian package dataset-fashion-mnist)")
EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def mlp():
    data = mx.sym.Variable("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=128, name="fc1"),
                          act_type="relu")
    h = mx.sym.Activation(mx.sym.FullyConnected(h, num_hidden=64, name="fc2"),
                          act_type="relu")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(h, num_hidden=10, name="fc3"),
                                name="softmax")


def test_mlp_module_reaches_85_percent():
    mx.random.seed(0)
    train = mx.io.MNISTIter(image=f"{DATA}/{FILES[0]}", label=f"{DATA}/{FILES[1]}",
                            batch_size=100, shuffle=True, flat=True, seed=3, silent=True)
    test = mx.io.MNISTIter(image=f"{DATA}/{FILES[2]}", label=f"{DATA}/{FILES[3]}",
                           batch_size=100, shuffle=False, flat=True, silent=True)
    mod = mx.mod.Module(mlp())
    mod.fit(train, num_epoch=3, initializer=mx.init.Xavier(),
            optimizer_params={"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4,
                              "lr_scheduler": mx.lr_scheduler.FactorScheduler(
                                  step=600, factor=0.7, base_lr=0.1)})
    (name, acc), = mod.score(test, "acc")
    assert name == "accuracy"
    assert acc >= 0.85, f"test accuracy {acc:.4f} after 3 epochs"


def test_module_example_runs_one_short_epoch(tmp_path, capsys):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import module_mlp_fashion_mnist as example
    finally:
        sys.path.remove(str(EXAMPLES))
    acc = example.main(["--epochs", "1", "--num-batches", "60", "--batch-size", "100",
                        "--checkpoint-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert f"final test accuracy: {acc:.4f}" in out
    assert 0.5 < acc <= 1.0  # 60 batches already learn most of it
    assert (tmp_path / "mlp-symbol.json").exists() and (tmp_path / "mlp-0001.params").exists()
    sym, args, _ = mx.model.load_checkpoint(str(tmp_path / "mlp"), 1)
    assert sorted(args) == ["fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight", "fc3_bias",
                            "fc3_weight"]
