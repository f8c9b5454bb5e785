"""Train the classic MXNet MLP (784-128-64-10) with the Module API on Fashion-MNIST.

    python examples/module_mlp_fashion_mnist.py [--epochs 5] [--batch-size 100]
        [--num-batches N] [--checkpoint-dir DIR] [--data-dir DIR]

The program is MXNet 1.x code (``import gluonlite as mx``): a symbolic network
(``mx.sym.Variable('data')`` -> FullyConnected/Activation x2 -> FullyConnected(10) ->
SoftmaxOutput), ``mx.io.MNISTIter`` over the idx files, and ``Module.fit`` with momentum
SGD, weight decay, a ``FactorScheduler``, ``mx.metric.Accuracy``, ``mx.callback.Speedometer``
and ``mx.callback.do_checkpoint``. It prints the final test accuracy.
"""
import argparse
import logging
import os
import sys
import tempfile

import gluonlite as mx

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"


def mlp_symbol():
    """The MLP of MXNet's ``image-classification/symbols/mlp.py``."""
    data = mx.sym.Variable("data")
    fc1 = mx.sym.FullyConnected(data=data, name="fc1", num_hidden=128)
    act1 = mx.sym.Activation(data=fc1, name="relu1", act_type="relu")
    fc2 = mx.sym.FullyConnected(data=act1, name="fc2", num_hidden=64)
    act2 = mx.sym.Activation(data=fc2, name="relu2", act_type="relu")
    fc3 = mx.sym.FullyConnected(data=act2, name="fc3", num_hidden=10)
    return mx.sym.SoftmaxOutput(data=fc3, name="softmax")


def data_iters(data_dir, batch_size):
    def path(name):
        for cand in (name, name + ".gz"):
            p = os.path.join(data_dir, cand)
            if os.path.exists(p):
                return p
        sys.exit(f"Fashion-MNIST file {name} not found in {data_dir}; install Debian's "
                 "dataset-fashion-mnist package or pass --data-dir")

    train = mx.io.MNISTIter(image=path("train-images-idx3-ubyte"),
                            label=path("train-labels-idx1-ubyte"),
                            batch_size=batch_size, shuffle=True, flat=True, seed=1)
    test = mx.io.MNISTIter(image=path("t10k-images-idx3-ubyte"),
                           label=path("t10k-labels-idx1-ubyte"),
                           batch_size=batch_size, shuffle=False, flat=True)
    return train, test


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--num-batches", type=int, default=0,
                        help="train on only N batches per epoch (0: the whole set)")
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--checkpoint-dir", default=None,
                        help="where do_checkpoint writes mlp-symbol.json and "
                             "mlp-%%04d.params (default: a temporary directory)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    mx.random.seed(42)

    train, test = data_iters(args.data_dir, args.batch_size)
    if args.num_batches:
        train = mx.io.ResizeIter(train, args.num_batches)
    batches_per_epoch = args.num_batches or 60000 // args.batch_size

    ckpt_dir = args.checkpoint_dir or tempfile.mkdtemp(prefix="module_mlp_")
    os.makedirs(ckpt_dir, exist_ok=True)
    prefix = os.path.join(ckpt_dir, "mlp")

    mod = mx.mod.Module(mlp_symbol(), context=mx.cpu())
    # MXNet's Optimizer warns when learning_rate and the scheduler's base_lr differ
    schedule = mx.lr_scheduler.FactorScheduler(step=batches_per_epoch, factor=0.7,
                                               base_lr=args.lr)
    mod.fit(train, eval_data=test, num_epoch=args.epochs,
            optimizer="sgd",
            optimizer_params={"learning_rate": args.lr, "momentum": 0.9, "wd": 1e-4,
                              "lr_scheduler": schedule},  # x0.7 after every epoch
            initializer=mx.init.Xavier(),
            eval_metric=mx.metric.Accuracy(),
            batch_end_callback=mx.callback.Speedometer(args.batch_size, 200),
            epoch_end_callback=mx.callback.do_checkpoint(prefix))

    acc = mod.score(test, mx.metric.Accuracy())[0][1]
    print(f"checkpoints: {prefix}-symbol.json, {prefix}-{args.epochs:04d}.params")
    print(f"final test accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
