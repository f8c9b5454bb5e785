"""Linear regression from scratch (Dive into Deep Learning, MXNet edition, section 3.2).

The MXNet program, unchanged but for the import: it builds a synthetic data set
y = X w + b + noise with w = [2, -3.4] and b = 4.2, then recovers w and b with hand-written
minibatch SGD on NDArrays and autograd. Run it with ``make demo`` or
``python examples/linear_regression_scratch.py``.
"""
import math
import random

from tqdm import tqdm

import gluonlite as mx
from gluonlite import autograd, nd

# Reproducible runs: gluonlite's generators and Python's (used to shuffle minibatches).
mx.random.seed(42)
random.seed(42)

# --- the data set ---------------------------------------------------------------------
num_inputs = 2
num_examples = 1000
true_w = [2, -3.4]
true_b = 4.2
features = nd.random.normal(scale=1, shape=(num_examples, num_inputs))
labels = true_w[0] * features[:, 0] + true_w[1] * features[:, 1] + true_b
labels += nd.random.normal(scale=0.01, shape=labels.shape)


def data_iter(batch_size, features, labels):
    """Yield (X, y) minibatches of ``batch_size`` examples in a random order."""
    num_examples = len(features)
    indices = list(range(num_examples))
    random.shuffle(indices)  # read the examples in a random order
    for i in range(0, num_examples, batch_size):
        j = nd.array(indices[i: min(i + batch_size, num_examples)])
        yield features.take(j), labels.take(j)  # take returns the rows at indices j


# --- the model ------------------------------------------------------------------------
w = nd.random.normal(scale=0.01, shape=(num_inputs, 1))
b = nd.zeros(shape=(1,))
w.attach_grad()
b.attach_grad()


def linreg(X, w, b):
    """The linear regression model X w + b."""
    return nd.dot(X, w) + b


def squared_loss(y_hat, y):
    """Half the squared error, per example."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent, updating the parameters in place."""
    for param in params:
        param[:] = param - lr * param.grad / batch_size


# --- training -------------------------------------------------------------------------
lr = 0.03
num_epochs = 3
batch_size = 10
net = linreg
loss = squared_loss

for epoch in range(num_epochs):
    batches = tqdm(data_iter(batch_size, features, labels), desc=f"epoch {epoch + 1}",
                   total=math.ceil(num_examples / batch_size), unit="batch")
    for X, y in batches:
        with autograd.record():
            l = loss(net(X, w, b), y)  # noqa: E741 - the book's name for the loss
        l.backward()  # gradients of the summed minibatch loss w.r.t. w and b
        sgd([w, b], lr, batch_size)
    train_l = loss(net(features, w, b), labels)
    print('epoch %d, loss %f' % (epoch + 1, train_l.mean().asscalar()))

print('true w', true_w, 'learned w', w.reshape((1, -1)).asnumpy()[0].tolist())
print('true b', true_b, 'learned b', b.asscalar())
