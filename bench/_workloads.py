"""The benchmark workloads: the rows of ``bench/training.py``, their models and their data.

Every Gluon model here is ordinary Gluon 1.x code written once against a framework module
``mx`` (gluonlite or MXNet 1.9.1), so both run exactly the same program; the PyTorch
modules are layer-for-layer equivalents (same shapes, biases, BatchNorm eps/momentum).
This module imports neither framework itself: each benchmark worker passes its own in.
"""
import gzip
import os
import time
from collections import namedtuple

import numpy as np

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

# kind: the model; batch: batch size; train: a training step (else forward only);
# steps: steps per timed round; max_rounds: cap on timed rounds (slow rows run fewer);
# goal: the performance issue's bound on gluonlite hybridized / MXNet hybridized
Row = namedtuple("Row", "kind batch train steps max_rounds goal describe")

ROWS = {
    "mlp/256": Row("mlp", 256, True, 20, None, 0.90,
                   "MLP 784-256-256-10 (ReLU), batch 256, training step"),
    "mlp/16": Row("mlp", 16, True, 100, None, 0.40,
                  "the same MLP, batch 16, training step"),
    "lenet/256": Row("lenet", 256, True, 3, None, 0.80,
                     "LeNet (Conv 20@5 relu, pool, Conv 50@3 relu, pool, Dense 128 relu, "
                     "Dense 10), batch 256, training step"),
    "mlp-infer/1": Row("mlp", 1, False, 500, None, 0.40,
                       "the same MLP, batch 1, inference: `net(x)` then `.asnumpy()` "
                       "(PyTorch: `.numpy()` under `torch.no_grad()`)"),
    "resnet18/64": Row("resnet18", 64, True, 1, 9, 1.0,
                       "d2l Gluon ResNet-18 (CIFAR stem: Conv 64@3 pad 1 + BN + relu, no "
                       "7x7/maxpool), 3x32x32 input, batch 64, training step"),
}


def check_rows(names):
    """Return ``names`` (a list of row names) after checking each one exists."""
    bad = [n for n in names if n not in ROWS]
    if bad:
        raise ValueError(f"unknown row(s) {bad}; expected some of {list(ROWS)}")
    return names


def batch(row):
    """The input batch ``(x, y)`` of ``row`` as float32 NumPy arrays, identical in every
    process: Fashion-MNIST images when available (random of the same shape otherwise) for
    the MLP/LeNet rows, random CIFAR-shaped data (seed 0) for ResNet-18."""
    r = ROWS[row]
    bs = r.batch
    if r.kind == "resnet18":
        x = np.random.RandomState(0).rand(bs, 3, 32, 32).astype(np.float32)
    else:
        if os.path.exists(FASHION):
            with gzip.open(FASHION) as f:
                raw = np.frombuffer(f.read(), np.uint8, offset=16)[:bs * 784]
            x = raw.reshape(bs, 1, 28, 28).astype(np.float32) / 255
        else:
            x = np.random.RandomState(0).rand(bs, 1, 28, 28).astype(np.float32)
        if r.kind == "mlp":
            x = x.reshape(bs, 784)
    y = (np.arange(bs) % 10).astype(np.float32)
    return x, y


# ------------------------------------------------------------------------------------------
# Gluon (gluonlite and MXNet run this same code)
def _gluon_resnet18(mx):
    """The ResNet-18 of *Dive into Deep Learning* (Gluon edition, section "ResNet"), with
    its CIFAR-sized stem, as a HybridSequential."""
    nn = mx.gluon.nn

    class Residual(nn.HybridBlock):
        """d2l's residual block: 3x3 conv + BN + relu, 3x3 conv + BN, optional 1x1
        projection of the input, add, relu."""

        def __init__(self, num_channels, use_1x1conv=False, strides=1, **kwargs):
            super().__init__(**kwargs)
            self.conv1 = nn.Conv2D(num_channels, kernel_size=3, padding=1, strides=strides)
            self.conv2 = nn.Conv2D(num_channels, kernel_size=3, padding=1)
            if use_1x1conv:
                self.conv3 = nn.Conv2D(num_channels, kernel_size=1, strides=strides)
            else:
                self.conv3 = None
            self.bn1 = nn.BatchNorm()
            self.bn2 = nn.BatchNorm()

        def hybrid_forward(self, F, X):
            Y = F.relu(self.bn1(self.conv1(X)))
            Y = self.bn2(self.conv2(Y))
            if self.conv3:
                X = self.conv3(X)
            return F.relu(Y + X)

    def resnet_block(num_channels, num_residuals, first_block=False):
        blk = nn.HybridSequential()
        for i in range(num_residuals):
            if i == 0 and not first_block:
                blk.add(Residual(num_channels, use_1x1conv=True, strides=2))
            else:
                blk.add(Residual(num_channels))
        return blk

    net = nn.HybridSequential()
    net.add(nn.Conv2D(64, kernel_size=3, strides=1, padding=1), nn.BatchNorm(),
            nn.Activation("relu"))
    net.add(resnet_block(64, 2, first_block=True), resnet_block(128, 2),
            resnet_block(256, 2), resnet_block(512, 2))
    net.add(nn.GlobalAvgPool2D(), nn.Dense(10))
    return net


def gluon_net(mx, row):
    """The (uninitialised, not hybridized) Gluon network of ``row``."""
    nn = mx.gluon.nn
    kind = ROWS[row].kind
    if kind == "resnet18":
        return _gluon_resnet18(mx)
    net = nn.HybridSequential()
    if kind == "mlp":
        net.add(nn.Dense(256, activation="relu"), nn.Dense(256, activation="relu"),
                nn.Dense(10))
    else:
        net.add(nn.Conv2D(20, 5, activation="relu"), nn.MaxPool2D(2, 2),
                nn.Conv2D(50, 3, activation="relu"), nn.MaxPool2D(2, 2), nn.Flatten(),
                nn.Dense(128, activation="relu"), nn.Dense(10))
    return net


def gluon_runner(mx, row, hybrid):
    """Build ``row`` in framework ``mx`` and return ``run(n) -> seconds`` for n steps.

    Training: ``autograd.record`` forward + loss, ``backward``, ``Trainer.step`` (SGD,
    momentum 0.9); the loop ends with ``wait_to_read`` + ``nd.waitall()`` so MXNet's
    asynchronous engine has finished the work. Inference: ``net(x).asnumpy()`` per call.
    Hybridized means ``hybridize(static_alloc=True, static_shape=True)`` (net and loss).
    """
    r = ROWS[row]
    net = gluon_net(mx, row)
    net.initialize(mx.init.Xavier())
    if hybrid:
        net.hybridize(static_alloc=True, static_shape=True)
    xn, yn = batch(row)
    x, y = mx.nd.array(xn), mx.nd.array(yn)
    timer = time.perf_counter
    if not r.train:
        def infer(n):
            t = timer()
            for _ in range(n):
                net(x).asnumpy()
            return timer() - t
        return infer

    loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    if hybrid:
        loss.hybridize(static_alloc=True, static_shape=True)
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd",
                               {"learning_rate": 0.01, "momentum": 0.9})
    bs = r.batch

    def train(n):
        t = timer()
        for _ in range(n):
            with mx.autograd.record():
                l = loss(net(x), y)
            l.backward()
            trainer.step(bs)
        l.wait_to_read()
        mx.nd.waitall()
        return timer() - t
    return train


# ------------------------------------------------------------------------------------------
# PyTorch equivalents
def _torch_resnet18(torch):
    nn = torch.nn

    class Residual(nn.Module):
        def __init__(self, in_channels, num_channels, use_1x1conv=False, strides=1):
            super().__init__()
            self.conv1 = nn.Conv2d(in_channels, num_channels, 3, padding=1, stride=strides)
            self.conv2 = nn.Conv2d(num_channels, num_channels, 3, padding=1)
            self.conv3 = (nn.Conv2d(in_channels, num_channels, 1, stride=strides)
                          if use_1x1conv else None)
            # Gluon's BatchNorm: eps 1e-5, running-average momentum 0.9 (= torch's 0.1)
            self.bn1 = nn.BatchNorm2d(num_channels)
            self.bn2 = nn.BatchNorm2d(num_channels)

        def forward(self, X):
            Y = torch.relu(self.bn1(self.conv1(X)))
            Y = self.bn2(self.conv2(Y))
            if self.conv3 is not None:
                X = self.conv3(X)
            return torch.relu(Y + X)

    def resnet_block(in_channels, num_channels, num_residuals, first_block=False):
        blk = []
        for i in range(num_residuals):
            if i == 0 and not first_block:
                blk.append(Residual(in_channels, num_channels, use_1x1conv=True, strides=2))
            else:
                blk.append(Residual(num_channels, num_channels))
        return nn.Sequential(*blk)

    return nn.Sequential(
        nn.Conv2d(3, 64, 3, stride=1, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        resnet_block(64, 64, 2, first_block=True), resnet_block(64, 128, 2),
        resnet_block(128, 256, 2), resnet_block(256, 512, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10))


def torch_runner(torch, row):
    """PyTorch eager version of ``gluon_runner``: SGD momentum 0.9 with ``zero_grad``,
    ``CrossEntropyLoss``; inference under ``torch.no_grad()`` ending in ``.numpy()``."""
    nn = torch.nn
    torch.manual_seed(0)
    r = ROWS[row]
    if r.kind == "resnet18":
        net = _torch_resnet18(torch)
    elif r.kind == "mlp":
        net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                            nn.Linear(256, 10))
    else:
        net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
                            nn.Conv2d(20, 50, 3), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                            nn.Linear(1250, 128), nn.ReLU(), nn.Linear(128, 10))
    xn, yn = batch(row)
    x, y = torch.from_numpy(xn), torch.from_numpy(yn.astype(np.int64))
    timer = time.perf_counter
    if not r.train:
        net.eval()

        def infer(n):
            t = timer()
            with torch.no_grad():
                for _ in range(n):
                    net(x).numpy()
            return timer() - t
        return infer

    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def train(n):
        t = timer()
        for _ in range(n):
            opt.zero_grad()
            loss_fn(net(x), y).backward()
            opt.step()
        return timer() - t
    return train
