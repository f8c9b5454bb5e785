"""The benchmark workloads: the rows of ``bench/training.py``, their models and their data.

Every Gluon model here is ordinary Gluon 1.x code written once against a framework module
``mx`` (gluonlite or MXNet 1.9.1), so both run exactly the same program; the PyTorch
modules are layer-for-layer equivalents (same shapes, biases, BatchNorm eps/momentum).
This module imports neither framework itself: each benchmark worker passes its own in.
"""
import functools
import gzip
import os
import time
from collections import namedtuple

import numpy as np

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

# kind: the model; batch: batch size; train: a training step (else forward only);
# steps: steps per timed round; max_rounds: cap on timed rounds (slow rows run fewer);
# goal: the performance issue's bound on gluonlite hybridized / MXNet hybridized;
# torch_goal: its bound on gluonlite hybridized / PyTorch eager (None: no goal);
# suite: "step" rows are bench/training.py's, "zoo" rows (whole image models) bench/models.py's
Row = namedtuple("Row", "kind batch train steps max_rounds goal torch_goal suite describe")

ROWS = {
    "mlp/256": Row("mlp", 256, True, 20, None, 0.90, 1.00, "step",
                   "MLP 784-256-256-10 (ReLU), batch 256, training step"),
    "mlp/16": Row("mlp", 16, True, 100, None, 0.40, None, "step",
                  "the same MLP, batch 16, training step"),
    "lenet/256": Row("lenet", 256, True, 3, None, 0.80, 1.00, "step",
                     "LeNet (Conv 20@5 relu, pool, Conv 50@3 relu, pool, Dense 128 relu, "
                     "Dense 10), batch 256, training step"),
    "mlp-infer/1": Row("mlp", 1, False, 500, None, 0.40, 0.60, "step",
                       "the same MLP, batch 1, inference: `net(x)` then `.asnumpy()` "
                       "(PyTorch: `.numpy()` under `torch.no_grad()`)"),
    "resnet18/64": Row("resnet18", 64, True, 1, 9, 1.0, 1.00, "step",
                       "d2l Gluon ResNet-18 (CIFAR stem: Conv 64@3 pad 1 + BN + relu, no "
                       "7x7/maxpool), 3x32x32 input, batch 64, training step"),
    # whole image models (bench/models.py): the bound is 0.80 of MXNet, 1.00 of PyTorch
    "resnet50-infer/1": Row("resnet50", 1, False, 2, None, 0.80, 1.00, "zoo",
                            "model zoo `resnet50_v1` (1000 classes), 3x224x224, batch 1, "
                            "inference"),
    "resnet50-infer/16": Row("resnet50", 16, False, 1, None, 0.80, 1.00, "zoo",
                             "the same ResNet-50 v1, batch 16, inference"),
    "resnet50/32": Row("resnet50", 32, True, 1, 3, 0.80, 1.00, "zoo",
                       "the same ResNet-50 v1, batch 32, training step"),
    "mobilenetv2-infer/1": Row("mobilenetv2", 1, False, 5, None, 0.80, 1.00, "zoo",
                               "model zoo `mobilenet_v2_1_0` (1000 classes), 3x224x224, "
                               "batch 1, inference"),
    "mobilenetv2-infer/16": Row("mobilenetv2", 16, False, 1, None, 0.80, 1.00, "zoo",
                                "the same MobileNet v2, batch 16, inference"),
    "resnet20-infer/1": Row("resnet20", 1, False, 20, None, 0.80, 1.00, "zoo",
                            "CIFAR ResNet-20 v1 (gluoncv's `cifar_resnet20_v1` layout: Conv "
                            "16@3 + BN + relu, 3 stages x 3 basic blocks of 16/32/64 channels, "
                            "1x1 conv + BN projections, global pool, Dense 10), 3x32x32, "
                            "batch 1, inference"),
    "resnet20-infer/16": Row("resnet20", 16, False, 5, None, 0.80, 1.00, "zoo",
                             "the same ResNet-20, batch 16, inference"),
    "resnet20/128": Row("resnet20", 128, True, 2, None, 0.80, 1.00, "zoo",
                        "the same ResNet-20, batch 128, training step"),
}
# input image side of the models that do not read Fashion-MNIST
IMAGE_SIDE = {"resnet18": 32, "resnet20": 32, "resnet50": 224, "mobilenetv2": 224}


def check_rows(names):
    """Return ``names`` (a list of row names) after checking each one exists."""
    bad = [n for n in names if n not in ROWS]
    if bad:
        raise ValueError(f"unknown row(s) {bad}; expected some of {list(ROWS)}")
    return names


def suite_rows(suite):
    """The names of the rows of ``suite`` ("step" or "zoo"), in table order."""
    return [n for n, r in ROWS.items() if r.suite == suite]


def warmup_steps(row):
    """Untimed calls before a row is timed: tracing, compiling and caches settle in the
    first two; cheap inference rows get up to 20 (a heavy one as many as a timed round)."""
    r = ROWS[row]
    return 2 if r.train else min(20, max(2, r.steps))


@functools.lru_cache(maxsize=None)
def _batch(row):
    r = ROWS[row]
    bs = r.batch
    if r.kind in IMAGE_SIDE:
        side = IMAGE_SIDE[r.kind]
        x = np.random.RandomState(0).rand(bs, 3, side, side).astype(np.float32)
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


def batch(row):
    """The input batch ``(x, y)`` of ``row`` as float32 NumPy arrays, identical in every
    process: Fashion-MNIST images when available (random of the same shape otherwise) for
    the MLP/LeNet rows, random data (seed 0) of the model's image shape for the others.
    Read once per process (cached; callers get copies) so a timing that starts later, like
    the first-step benchmark's, does not include decompressing the data set."""
    x, y = _batch(row)
    return x.copy(), y.copy()


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


def _gluon_resnet20(mx):
    """CIFAR ResNet-20 v1 in gluoncv's layout (``cifar_resnet20_v1``, which gluonlite's zoo
    lacks): Conv 16@3 (no bias) + BN + relu, three stages of three basic blocks (16, 32, 64
    channels; the first block of stages 2 and 3 strides 2 with a 1x1 conv + BN projection),
    global average pool, Dense 10."""
    nn = mx.gluon.nn

    class BasicBlock(nn.HybridBlock):
        """conv3x3 + BN + relu, conv3x3 + BN, optional projection, add, relu."""

        def __init__(self, channels, stride, downsample, in_channels, **kwargs):
            super().__init__(**kwargs)
            self.body = nn.HybridSequential(prefix="")
            self.body.add(nn.Conv2D(channels, 3, stride, 1, use_bias=False,
                                    in_channels=in_channels),
                          nn.BatchNorm(), nn.Activation("relu"),
                          nn.Conv2D(channels, 3, 1, 1, use_bias=False, in_channels=channels),
                          nn.BatchNorm())
            if downsample:
                self.downsample = nn.HybridSequential(prefix="")
                self.downsample.add(nn.Conv2D(channels, 1, stride, use_bias=False,
                                              in_channels=in_channels), nn.BatchNorm())
            else:
                self.downsample = None

        def hybrid_forward(self, F, x):
            residual = self.downsample(x) if self.downsample else x
            return F.Activation(self.body(x) + residual, act_type="relu")

    net = nn.HybridSequential()
    net.add(nn.Conv2D(16, 3, 1, 1, use_bias=False), nn.BatchNorm(), nn.Activation("relu"))
    in_c = 16
    for i, c in enumerate((16, 32, 64)):
        stride = 1 if i == 0 else 2
        for j in range(3):
            net.add(BasicBlock(c, stride if j == 0 else 1, j == 0 and c != in_c, in_c))
            in_c = c
    net.add(nn.GlobalAvgPool2D(), nn.Dense(10, in_units=64))
    return net


def gluon_net(mx, row):
    """The (uninitialised, not hybridized) Gluon network of ``row``."""
    nn = mx.gluon.nn
    kind = ROWS[row].kind
    if kind == "resnet18":
        return _gluon_resnet18(mx)
    if kind == "resnet20":
        return _gluon_resnet20(mx)
    if kind == "resnet50":
        return mx.gluon.model_zoo.vision.resnet50_v1()
    if kind == "mobilenetv2":
        return mx.gluon.model_zoo.vision.mobilenet_v2_1_0()
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
        infer.count = lambda: gluon_param_count(net)
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
    train.count = lambda: gluon_param_count(net)
    return train


def gluon_param_count(net):
    """Numbers held by ``net``'s parameters, BatchNorm running statistics included (known
    once the net has run): the same count as ``torch_param_count`` for an equivalent model."""
    return int(sum(p.data().size for p in net.collect_params().values()))


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


def _torch_resnet20(torch):
    """``_gluon_resnet20`` in PyTorch."""
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, in_c, c, stride):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(in_c, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))
            self.downsample = (nn.Sequential(nn.Conv2d(in_c, c, 1, stride, bias=False),
                                             nn.BatchNorm2d(c))
                               if in_c != c else None)

        def forward(self, x):
            residual = self.downsample(x) if self.downsample is not None else x
            return torch.relu(self.body(x) + residual)

    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    in_c = 16
    for i, c in enumerate((16, 32, 64)):
        for j in range(3):
            layers.append(BasicBlock(in_c, c, 2 if i > 0 and j == 0 else 1))
            in_c = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def _torch_resnet50(torch):
    """MXNet's ``resnet50_v1`` in PyTorch: the stride sits on the bottleneck's first 1x1
    convolution (not the 3x3, as in torchvision's "v1.5"), and the body's two 1x1
    convolutions have a bias, the 3x3 and the projection none."""
    nn = torch.nn

    class Bottleneck(nn.Module):
        def __init__(self, in_c, c, stride):
            super().__init__()
            m = c // 4
            self.body = nn.Sequential(
                nn.Conv2d(in_c, m, 1, stride), nn.BatchNorm2d(m), nn.ReLU(),
                nn.Conv2d(m, m, 3, 1, 1, bias=False), nn.BatchNorm2d(m), nn.ReLU(),
                nn.Conv2d(m, c, 1), nn.BatchNorm2d(c))
            self.downsample = (nn.Sequential(nn.Conv2d(in_c, c, 1, stride, bias=False),
                                             nn.BatchNorm2d(c))
                               if in_c != c else None)

        def forward(self, x):
            residual = self.downsample(x) if self.downsample is not None else x
            return torch.relu(self.body(x) + residual)

    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
              nn.MaxPool2d(3, 2, 1)]
    in_c = 64
    for i, (n, c) in enumerate(zip((3, 4, 6, 3), (256, 512, 1024, 2048))):
        for j in range(n):
            layers.append(Bottleneck(in_c, c, 2 if i > 0 and j == 0 else 1))
            in_c = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000)]
    return nn.Sequential(*layers)


def _torch_mobilenet_v2(torch):
    """MXNet's ``mobilenet_v2_1_0`` in PyTorch: convolutions without bias, each followed
    by BatchNorm and (but the bottleneck's last) ReLU6; a 1x1 convolution classifier."""
    nn = torch.nn

    def conv(in_c, c, k=1, stride=1, pad=0, groups=1, act=True):
        out = [nn.Conv2d(in_c, c, k, stride, pad, groups=groups, bias=False),
               nn.BatchNorm2d(c)]
        return out + [nn.ReLU6()] if act else out

    class LinearBottleneck(nn.Module):
        def __init__(self, in_c, c, t, stride):
            super().__init__()
            self.use_shortcut = stride == 1 and in_c == c
            e = in_c * t
            self.out = nn.Sequential(*conv(in_c, e), *conv(e, e, 3, stride, 1, groups=e),
                                     *conv(e, c, act=False))

        def forward(self, x):
            out = self.out(x)
            return out + x if self.use_shortcut else out

    in_group = [32, 16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3 + [160] * 3
    out_group = [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3 + [160] * 3 + [320]
    ts = [1] + [6] * 16
    strides = [1, 2] * 2 + [1, 1, 2] + [1] * 6 + [2] + [1] * 3
    layers = conv(3, 32, 3, 2, 1)
    for in_c, c, t, s in zip(in_group, out_group, ts, strides):
        layers.append(LinearBottleneck(in_c, c, t, s))
    layers += conv(320, 1280) + [nn.AdaptiveAvgPool2d(1), nn.Conv2d(1280, 1000, 1, bias=False),
                                 nn.Flatten()]
    return nn.Sequential(*layers)


def torch_param_count(net):
    """Numbers held by ``net``'s parameters and BatchNorm running mean/variance (not its
    ``num_batches_tracked`` counters, which Gluon has no counterpart of)."""
    n = sum(p.numel() for p in net.parameters())
    n += sum(b.numel() for name, b in net.named_buffers()
             if name.endswith(("running_mean", "running_var")))
    return int(n)


TORCH_NETS = {"resnet18": _torch_resnet18, "resnet20": _torch_resnet20,
              "resnet50": _torch_resnet50, "mobilenetv2": _torch_mobilenet_v2}


def torch_runner(torch, row):
    """PyTorch eager version of ``gluon_runner``: SGD momentum 0.9 with ``zero_grad``,
    ``CrossEntropyLoss``; inference under ``torch.no_grad()`` ending in ``.numpy()``."""
    nn = torch.nn
    torch.manual_seed(0)
    r = ROWS[row]
    if r.kind in TORCH_NETS:
        net = TORCH_NETS[r.kind](torch)
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
        infer.count = lambda: torch_param_count(net)
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
    train.count = lambda: torch_param_count(net)
    return train
