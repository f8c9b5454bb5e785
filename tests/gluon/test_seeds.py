"""The model-building snippets of the study notes (../shared/seeds), run as users write them
with ``import gluonlite as mx`` (only obvious typos of the notes fixed)."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd, init
from gluonlite.gluon import nn


class MLP(nn.Block):
    def __init__(self, **kwargs):
        super(MLP, self).__init__(**kwargs)
        self.hidden = nn.Dense(256, activation='relu')
        self.output = nn.Dense(10)

    def forward(self, x):
        return self.output(self.hidden(x))


def test_mlp_block():
    net = MLP()
    net.initialize()
    assert net(nd.random.uniform(shape=(2, 20))).shape == (2, 10)
    assert net.hidden.weight.shape == (256, 20)


def test_sequential_param_access_and_init():
    net = nn.Sequential()
    net.add(nn.Dense(256, activation='relu'))
    net.add(nn.Dense(10))
    net.initialize()
    net(nd.random.uniform(shape=(2, 20)))
    p = net[0].params
    assert net[0].params[net[0].prefix + 'weight'] is net[0].weight
    assert net[0].weight.data().shape == (256, 20) and net[0].weight.grad().shape == (256, 20)
    assert len(net.collect_params('.*weight')) == 2
    net.initialize(init=init.Normal(sigma=0.01), force_reinit=True)
    assert abs(net[0].weight.data().asnumpy().std() - 0.01) < 0.002
    net.initialize(init=init.Constant(1), force_reinit=True)
    assert (net[0].weight.data().asnumpy() == 1).all()
    net[0].weight.initialize(init=init.Xavier(), force_reinit=True)
    net[0].weight.set_data(net[0].weight.data() + 1)
    assert net[0].weight.data().asnumpy().min() > 0.8
    assert p is net[0].params


class MyInit(init.Initializer):
    def __init__(self):
        super(MyInit, self).__init__()
        self._verbose = True

    def _init_weight(self, _, arr):
        print('init weight', arr.shape)
        nd.random.uniform(low=5, high=10, out=arr)


def test_custom_init_is_deferred_until_first_forward(capsys):
    net = nn.Sequential()
    net.add(nn.Dense(256, activation='relu'), nn.Dense(10))
    net.initialize(MyInit())
    assert capsys.readouterr().out == ""  # deferred: shapes unknown
    net(nd.random.uniform(shape=(2, 20)))
    assert capsys.readouterr().out == "init weight (256, 20)\ninit weight (10, 256)\n"
    w = net[0].weight.data().asnumpy()
    assert w.min() >= 5 and w.max() < 10
    assert not net[0].bias.data().asnumpy().any()


def test_shared_layers():
    net = nn.Sequential()
    shared = nn.Dense(8, activation='relu')
    net.add(shared,
            nn.Dense(8, activation='relu', params=shared.params),
            nn.Dense(10))
    net.initialize()
    x = nd.random.uniform(shape=(2, 20))
    with pytest.raises(Exception):
        net(x)  # the shared layer gets 20 inputs first, then 8: incompatible, as in MXNet
    net2 = nn.Sequential()
    with net2.name_scope():
        net2.add(nn.Dense(4, activation="relu"))
        net2.add(nn.Dense(4, activation="relu"))
        net2.add(nn.Dense(4, activation="relu", params=net2[-1].params))
        net2.add(nn.Dense(2))
    net2.initialize()
    net2(nd.random.uniform(shape=(3, 4)))
    assert net2[1].weight is net2[2].weight


class FancyMLP(nn.Block):
    def __init__(self, **kwargs):
        super(FancyMLP, self).__init__(**kwargs)
        with self.name_scope():
            self.dense = nn.Dense(256)
            self.weight = nd.random_uniform(shape=(256, 20))

    def forward(self, x):
        x = nd.relu(self.dense(x))
        x = nd.relu(nd.dot(x, self.weight) + 1)
        x = nd.relu(self.dense(x))
        return x


class RecMLP(nn.Block):
    def __init__(self, **kwargs):
        super(RecMLP, self).__init__(**kwargs)
        self.net = nn.Sequential()
        with self.name_scope():
            self.net.add(nn.Dense(256, activation="relu"))
            self.net.add(nn.Dense(128, activation="relu"))
            self.dense = nn.Dense(64)

    def forward(self, x):
        return nd.relu(self.dense(self.net(x)))


class CenteredLayer(nn.Block):
    def __init__(self, **kwargs):
        super(CenteredLayer, self).__init__(**kwargs)

    def forward(self, x):
        return x - x.mean()


class MyDense(nn.Block):
    def __init__(self, units, in_units, **kwargs):
        super(MyDense, self).__init__(**kwargs)
        with self.name_scope():
            self.weight = self.params.get('weight', shape=(in_units, units))
            self.bias = self.params.get('bias', shape=(units,))

    def forward(self, x):
        linear = nd.dot(x, self.weight.data()) + self.bias.data()
        return nd.relu(linear)


class MySequential(nn.Block):
    def __init__(self, **kwargs):
        super(MySequential, self).__init__(**kwargs)

    def add(self, block):
        self._children.append(block)

    def forward(self, x):
        for block in self._children.values():
            x = block(x)
        return x


def test_custom_blocks_from_the_notes():
    x = nd.random.uniform(shape=(2, 20))
    fancy = FancyMLP()
    fancy.initialize()
    assert fancy(x).shape == (2, 256)
    rec_mlp = nn.Sequential()
    rec_mlp.add(RecMLP())
    rec_mlp.add(nn.Dense(10))
    rec_mlp.initialize()
    assert rec_mlp(x).shape == (2, 10)
    layer = CenteredLayer()
    y = layer(nd.array([1, 2, 3, 4, 5]))
    assert y.asnumpy().tolist() == [-2, -1, 0, 1, 2]
    net = nn.Sequential()
    with net.name_scope():
        net.add(nn.Dense(128))
        net.add(nn.Dense(10))
        net.add(layer)
    net.initialize()
    assert abs(net(x).mean().asscalar()) < 1e-6
    dense = MyDense(5, in_units=10, prefix='o_my_dense_')
    assert list(dense.params.keys()) == ['o_my_dense_weight', 'o_my_dense_bias']
    net = nn.Sequential()
    with net.name_scope():
        net.add(MyDense(32, in_units=64))
        net.add(MyDense(2, in_units=32))
    net.initialize()
    assert net(nd.random.uniform(shape=(2, 64))).shape == (2, 2)
    net4 = MySequential()
    with net4.name_scope():
        net4.add(nn.Dense(256, activation="relu"))
        net4.add(nn.Dense(10))
    net4.initialize()
    assert net4(x).shape == (2, 10)


def test_hybrid_net_prints_F_once_per_mode(capsys):
    class HybridNet(nn.HybridBlock):
        def __init__(self, **kwargs):
            super(HybridNet, self).__init__(**kwargs)
            with self.name_scope():
                self.fc1 = nn.Dense(10)
                self.fc2 = nn.Dense(2)

        def hybrid_forward(self, F, x):
            print(F.__name__)
            x = F.relu(self.fc1(x))
            return self.fc2(x)

    net = HybridNet()
    net.initialize()
    x = nd.random.normal(shape=(1, 4))
    assert net(x).shape == (1, 2)
    assert capsys.readouterr().out == "gluonlite.ndarray\n"


def test_save_and_load_as_in_the_notes(tmp_path):
    x = nd.ones(3)
    y = nd.zeros(4)
    filename = str(tmp_path / "test1.params")
    nd.save(filename, [x, y])
    a, b = nd.load(filename)
    assert a.asnumpy().tolist() == [1, 1, 1] and b.shape == (4,)
    net = nn.Sequential()
    with net.name_scope():
        net.add(nn.Dense(10, activation="relu"))
        net.add(nn.Dense(2))
    net.initialize()
    x = nd.random.uniform(shape=(2, 10))
    out = net(x)
    filename = str(tmp_path / "mlp.params")
    with pytest.warns(DeprecationWarning):
        net.save_params(filename)
    net2 = nn.Sequential()
    with net2.name_scope():
        net2.add(nn.Dense(10, activation="relu"))
        net2.add(nn.Dense(2))
    with pytest.warns(DeprecationWarning):
        net2.load_params(filename)
    np.testing.assert_allclose(net2(x).asnumpy(), out.asnumpy())
    net.save_parameters(filename)
    net3 = nn.Sequential()
    net3.add(nn.Dense(10, activation="relu"), nn.Dense(2))
    net3.load_parameters(filename)
    np.testing.assert_allclose(net3(x).asnumpy(), out.asnumpy())


def _cnn_zoo():
    def vgg_block(num_convs, channels):
        out = nn.Sequential()
        for _ in range(num_convs):
            out.add(nn.Conv2D(channels=channels, kernel_size=3, padding=1, activation='relu'))
        out.add(nn.MaxPool2D(pool_size=2, strides=2))
        return out

    lenet = nn.Sequential()
    with lenet.name_scope():
        lenet.add(nn.Conv2D(channels=20, kernel_size=5, activation='relu'),
                  nn.MaxPool2D(pool_size=2, strides=2),
                  nn.Conv2D(channels=50, kernel_size=3, activation='relu'),
                  nn.MaxPool2D(pool_size=2, strides=2),
                  nn.Flatten(), nn.Dense(128, activation="relu"), nn.Dense(10))
    bn = nn.Sequential()
    with bn.name_scope():
        bn.add(nn.Conv2D(channels=20, kernel_size=5), nn.BatchNorm(axis=1),
               nn.Activation(activation='relu'), nn.MaxPool2D(pool_size=2, strides=2),
               nn.Conv2D(channels=50, kernel_size=3), nn.BatchNorm(axis=1),
               nn.Activation(activation='relu'), nn.MaxPool2D(pool_size=2, strides=2),
               nn.Flatten(), nn.Dense(128, activation="relu"), nn.Dense(10))
    vgg = nn.Sequential()
    vgg.add(vgg_block(1, 8), vgg_block(1, 16), nn.Flatten(), nn.Dense(10))
    return {"lenet": (lenet, (2, 1, 28, 28)), "lenet_bn": (bn, (2, 1, 28, 28)),
            "vgg": (vgg, (2, 1, 16, 16))}


@pytest.mark.parametrize("name", ["lenet", "lenet_bn", "vgg"])
def test_cnns_from_the_notes_train_one_step(name):
    net, shape = _cnn_zoo()[name]
    net.initialize(init.Xavier())
    x = nd.random.uniform(shape=shape)
    label = nd.array([1, 3])
    with mx.autograd.record():
        out = net(x)
        loss = -nd.pick(nd.log_softmax(out), label).sum()
    loss.backward()
    assert out.shape == (2, 10)
    for p in net.collect_params().values():
        if p.grad_req != 'null':
            assert np.isfinite(p.grad().asnumpy()).all()


def test_residual_and_dense_blocks():
    class Residual(nn.Block):
        def __init__(self, channels, same_shape=True, **kwargs):
            super(Residual, self).__init__(**kwargs)
            self.same_shape = same_shape
            strides = 1 if same_shape else 2
            self.conv1 = nn.Conv2D(channels, kernel_size=3, padding=1, strides=strides)
            self.bn1 = nn.BatchNorm()
            self.conv2 = nn.Conv2D(channels, kernel_size=3, padding=1)
            self.bn2 = nn.BatchNorm()
            if not same_shape:
                self.conv3 = nn.Conv2D(channels, kernel_size=1, strides=strides)

        def forward(self, x):
            out = nd.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if not self.same_shape:
                x = self.conv3(x)
            return nd.relu(out + x)

    def conv_block(channels):
        out = nn.Sequential()
        out.add(nn.BatchNorm(), nn.Activation('relu'),
                nn.Conv2D(channels, kernel_size=3, padding=1))
        return out

    class DenseBlock(nn.Block):
        def __init__(self, layers, growth_rate, **kwargs):
            super(DenseBlock, self).__init__(**kwargs)
            self.net = nn.Sequential()
            for i in range(layers):
                self.net.add(conv_block(growth_rate))

        def forward(self, x):
            for layer in self.net:
                out = layer(x)
                x = nd.concat(x, out, dim=1)
            return x

    res = Residual(8, same_shape=False)
    res.initialize()
    assert res(nd.random.uniform(shape=(2, 3, 8, 8))).shape == (2, 8, 4, 4)
    blk = DenseBlock(2, 10)
    blk.initialize()
    assert blk(nd.random.uniform(shape=(4, 3, 8, 8))).shape == (4, 23, 8, 8)
