"""Run through the drop-in: d2lzh (the MXNet edition of "Dive into Deep Learning"),
unmodified, trains the book's LeNet (chapter 5.5) with its own ``train_ch5``.

Usage: d2lzh_lenet.py N_TRAIN N_TEST [full]. Without ``full`` the data are the first
N_TRAIN/N_TEST Fashion-MNIST images when the Debian dataset is installed, else seeded
random images of that shape; with ``full`` d2lzh's own ``load_data_fashion_mnist`` loads the
whole dataset (one epoch)."""
import os
import sys

import numpy as np

from mxnet import gluon, init
from mxnet.gluon import data as gdata, nn

import d2lzh as d2l

n_train, n_test = int(sys.argv[1]), int(sys.argv[2])
full = len(sys.argv) > 3 and sys.argv[3] == "full"
batch_size = 64

net = nn.Sequential()
net.add(nn.Conv2D(channels=6, kernel_size=5, activation='sigmoid'),
        nn.MaxPool2D(pool_size=2, strides=2),
        nn.Conv2D(channels=16, kernel_size=5, activation='sigmoid'),
        nn.MaxPool2D(pool_size=2, strides=2),
        nn.Dense(120, activation='sigmoid'),
        nn.Dense(84, activation='sigmoid'),
        nn.Dense(10))

if full:
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)
else:
    deb = "/usr/share/datasets/fashion-mnist"
    if os.path.exists(os.path.join(deb, "train-images-idx3-ubyte.gz")):
        train = gdata.vision.FashionMNIST(train=True)
        test = gdata.vision.FashionMNIST(train=False)
        xs, ys = train[:n_train]
        xt, yt = test[:n_test]
    else:
        rs = np.random.RandomState(0)
        xs = rs.randint(0, 256, size=(n_train, 28, 28, 1)).astype(np.uint8)
        ys = rs.randint(0, 10, size=n_train).astype(np.int32)
        xt = rs.randint(0, 256, size=(n_test, 28, 28, 1)).astype(np.uint8)
        yt = rs.randint(0, 10, size=n_test).astype(np.int32)
    to_tensor = gdata.vision.transforms.ToTensor()
    train_iter = gdata.DataLoader(gdata.ArrayDataset(xs, ys).transform_first(to_tensor),
                                  batch_size, shuffle=True)
    test_iter = gdata.DataLoader(gdata.ArrayDataset(xt, yt).transform_first(to_tensor),
                                 batch_size, shuffle=False)

lr, num_epochs = 0.9, 1
ctx = d2l.try_gpu()
net.initialize(force_reinit=True, ctx=ctx, init=init.Xavier())
trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': lr})
d2l.train_ch5(net, train_iter, test_iter, batch_size, trainer, ctx, num_epochs)
acc = d2l.evaluate_accuracy(test_iter, net, ctx)
assert 0.0 <= acc <= 1.0
print("ok lenet test acc %.3f" % acc)
