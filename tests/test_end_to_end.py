"""End to end, as the notes' programs train: linear regression with gluon, softmax regression
and an MLP with dropout on Fashion-MNIST, multi-device training, hybridized training."""
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, gluon, init, nd
from gluonlite.gluon import nn

FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
needs_fashion = pytest.mark.skipif(not FASHION.exists(), reason="Fashion-MNIST (Debian "
                                   "dataset-fashion-mnist) is not installed")


def test_gluon_linear_regression_recovers_w_and_b():
    # the notes' "3.1 linear regression" program
    num_inputs, num_examples = 2, 1000
    true_w, true_b = [2, -3.4], 4.2
    X = nd.random_normal(shape=(num_examples, num_inputs))
    y = true_w[0] * X[:, 0] + true_w[1] * X[:, 1] + true_b
    y += .01 * nd.random_normal(shape=y.shape)
    batch_size = 10
    dataset = gluon.data.ArrayDataset(X, y)
    data_iter = gluon.data.DataLoader(dataset, batch_size, shuffle=True)
    net = gluon.nn.Sequential()
    net.add(gluon.nn.Dense(1))
    net.initialize()
    square_loss = gluon.loss.L2Loss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    for e in range(5):
        total_loss = 0
        for data, label in data_iter:
            with autograd.record():
                output = net(data)
                loss = square_loss(output, label)
            loss.backward()
            trainer.step(batch_size)
            total_loss += nd.sum(loss).asscalar()
    dense = net[0]
    np.testing.assert_allclose(dense.weight.data().asnumpy().ravel(), true_w, atol=0.01)
    assert abs(dense.bias.data().asscalar() - true_b) < 0.01
    assert total_loss / num_examples < 1e-3


def _fashion(batch_size=256):
    def transform(data, label):
        return data.astype('float32') / 255, label.astype('float32')
    train = gluon.data.vision.FashionMNIST(train=True, transform=transform)
    test = gluon.data.vision.FashionMNIST(train=False, transform=transform)
    return (gluon.data.DataLoader(train, batch_size, shuffle=True),
            gluon.data.DataLoader(test, batch_size, shuffle=False))


def _accuracy(output, label):
    return nd.mean(output.argmax(axis=1) == label).asscalar()


def _evaluate(data_iterator, net):
    acc = 0.
    for data, label in data_iterator:
        acc += _accuracy(net(data), label)
    return acc / len(data_iterator)


def _train(net, lr, epochs):
    train_data, test_data = _fashion()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': lr})
    for _ in range(epochs):
        for data, label in train_data:
            with autograd.record():
                loss = loss_fn(net(data), label)
            loss.backward()
            trainer.step(data.shape[0])
    return _evaluate(test_data, net)


@needs_fashion
def test_softmax_regression_on_fashion_mnist():
    net = gluon.nn.Sequential()
    with net.name_scope():
        net.add(gluon.nn.Flatten())
        net.add(gluon.nn.Dense(10))
    net.initialize()
    assert _train(net, 0.1, 3) >= 0.80


@needs_fashion
def test_mlp_with_dropout_on_fashion_mnist_hybridized():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Flatten(), nn.Dense(256, activation="relu"), nn.Dropout(0.2),
                nn.Dense(256, activation="relu"), nn.Dropout(0.5), nn.Dense(10))
    net.initialize()
    net.hybridize()
    assert _train(net, 0.5, 3) >= 0.80


def test_two_devices_train_to_the_same_weights_as_one():
    rng = np.random.RandomState(0)
    X, Y = rng.randn(32, 6).astype('float32'), rng.randint(0, 3, 32).astype('float32')

    def make():
        net = nn.HybridSequential()
        net.add(nn.Dense(8, activation="relu", in_units=6), nn.Dense(3, in_units=8))
        return net

    one, two = make(), make()
    one.initialize(init.Xavier(), ctx=mx.cpu(0))
    two.initialize(init.Xavier(), ctx=[mx.cpu(0), mx.cpu(1)])
    for p1, p2 in zip(one.collect_params().values(), two.collect_params().values()):
        p2.set_data(p1.data())
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    t1 = gluon.Trainer(one.collect_params(), 'sgd', {'learning_rate': 0.1, 'momentum': 0.9})
    t2 = gluon.Trainer(two.collect_params(), 'sgd', {'learning_rate': 0.1, 'momentum': 0.9})
    ctxs = [mx.cpu(0), mx.cpu(1)]
    for _ in range(5):
        with autograd.record():
            l1 = loss_fn(one(nd.array(X)), nd.array(Y))
        l1.backward()
        t1.step(32)
        xs = gluon.utils.split_and_load(nd.array(X), ctxs)
        ys = gluon.utils.split_and_load(nd.array(Y), ctxs)
        assert [x.context for x in xs] == ctxs and xs[0].shape == (16, 6)
        with autograd.record():
            losses = [loss_fn(two(x), y) for x, y in zip(xs, ys)]
        for l in losses:
            l.backward()
        t2.step(32)
    for p1, p2 in zip(one.collect_params().values(), two.collect_params().values()):
        for d in p2.list_data():
            np.testing.assert_allclose(d.asnumpy(), p1.data().asnumpy(), rtol=1e-5, atol=1e-6)


def test_hybridized_training_matches_imperative_training():
    rng = np.random.RandomState(1)
    X, Y = rng.randn(16, 5), rng.randint(0, 4, 16)

    def run(hybrid):
        mx.random.seed(3)
        net = nn.HybridSequential()
        # shapes given, so initialisation draws the same random numbers in both modes (deferred
        # initialisation happens before the first Dropout mask when hybridized)
        net.add(nn.Dense(8, activation="tanh", in_units=5), nn.BatchNorm(in_channels=8),
                nn.Dropout(0.3), nn.Dense(4, in_units=8))
        net.initialize(init.Xavier())
        if hybrid:
            net.hybridize()
        loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
        trainer = gluon.Trainer(net.collect_params(), 'adam', {'learning_rate': 0.01})
        losses = []
        for _ in range(10):
            with autograd.record():
                l = loss_fn(net(nd.array(X)), nd.array(Y))
            l.backward()
            trainer.step(16)
            losses.append(l.mean().asscalar())
        return losses, [p.data().asnumpy() for p in net.collect_params().values()]

    la, pa = run(False)
    lb, pb = run(True)
    np.testing.assert_allclose(lb, la, rtol=1e-5)
    for a, b in zip(pa, pb):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
