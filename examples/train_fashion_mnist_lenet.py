"""LeNet with BatchNorm on Fashion-MNIST — the Gluon tutorial's classic, run with gluonlite.

    python examples/train_fashion_mnist_lenet.py [--epochs 1] [--batch-size 256]

Everything below is the MXNet 1.x Gluon program (only the import differs): data from
``gluon.data.vision.FashionMNIST`` (Debian's dataset-fashion-mnist files, or ~/.mxnet),
a hybridized ``HybridSequential``, ``Trainer`` with momentum SGD, a progress bar with the
running loss, accuracy and throughput, test accuracy at the end, and a checkpoint saved with
``save_parameters`` then reloaded into a fresh network and verified.
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np
from tqdm import tqdm

import gluonlite as mx
from gluonlite import autograd, gluon, init
from gluonlite.gluon import nn
from gluonlite.gluon.data.vision import transforms


def lenet_bn():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(channels=20, kernel_size=5), nn.BatchNorm(axis=1),
            nn.Activation(activation='relu'), nn.MaxPool2D(pool_size=2, strides=2),
            nn.Conv2D(channels=50, kernel_size=3), nn.BatchNorm(axis=1),
            nn.Activation(activation='relu'), nn.MaxPool2D(pool_size=2, strides=2),
            nn.Flatten(),
            nn.Dense(128, activation="relu"),
            nn.Dense(10))
    return net


def evaluate_accuracy(net, data_iter):
    metric = mx.metric.Accuracy()
    for data, label in data_iter:
        metric.update([label], [net(data)])
    return metric.get()[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--train-samples", type=int, default=0,
                        help="use only the first N training images (0: all 60000)")
    args = parser.parse_args(argv)

    mx.random.seed(42)
    to_tensor = transforms.ToTensor()
    try:
        train_set = gluon.data.vision.FashionMNIST(train=True).transform_first(to_tensor)
        test_set = gluon.data.vision.FashionMNIST(train=False).transform_first(to_tensor)
    except Exception as e:  # no local copy and no network
        sys.exit(f"Fashion-MNIST is not available: {e}\nInstall Debian's dataset-fashion-mnist "
                 "package (make demo does this) or put the files in ~/.mxnet/datasets/"
                 "fashion-mnist.")
    if args.train_samples:
        train_set = train_set.take(args.train_samples)
    train_iter = gluon.data.DataLoader(train_set, args.batch_size, shuffle=True)
    test_iter = gluon.data.DataLoader(test_set, 1000)

    net = lenet_bn()
    net.initialize(init.Xavier())
    net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd',
                            {'learning_rate': args.lr, 'momentum': 0.9, 'wd': 1e-4})

    for epoch in range(1, args.epochs + 1):
        total_loss, correct, seen = 0.0, 0, 0
        start = time.time()
        bar = tqdm(train_iter, desc=f"epoch {epoch}/{args.epochs}", unit="batch",
                   file=sys.stdout, dynamic_ncols=True)
        for data, label in bar:
            with autograd.record():
                output = net(data)
                loss = loss_fn(output, label)
            loss.backward()
            trainer.step(data.shape[0])
            total_loss += loss.sum().asscalar()
            correct += (output.argmax(axis=1) == label.astype('float32')).sum().asscalar()
            seen += data.shape[0]
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}",
                            samples_per_s=f"{seen / (time.time() - start):.0f}")
        bar.close()
        test_acc = evaluate_accuracy(net, test_iter)
        print(f"epoch {epoch}: train loss {total_loss / seen:.4f}, train acc "
              f"{correct / seen:.3f}, test acc {test_acc:.4f}, {time.time() - start:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lenet_bn.params")
        net.save_parameters(path)
        restored = lenet_bn()
        restored.load_parameters(path)
        data, _ = next(iter(test_iter))
        same = np.allclose(restored(data).asnumpy(), net(data).asnumpy(), rtol=1e-5,
                           atol=1e-6)
        print(f"checkpoint saved ({os.path.getsize(path)} bytes), reloaded into a fresh "
              f"network: outputs {'identical' if same else 'DIFFERENT'}")
    if not same:
        sys.exit(1)
    return test_acc


if __name__ == "__main__":
    main()
