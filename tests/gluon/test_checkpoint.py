"""MXNet's own checkpoint: lenet_bn.params (save_parameters of a trained Gluon net) loads
into the same net built with gluonlite and reproduces MXNet's output."""
import pathlib

import numpy as np
import pytest

from gluonlite import nd
from gluonlite.gluon import nn

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures"


def lenet_bn():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(6, 5, padding=2), nn.BatchNorm(), nn.Activation("relu"),
            nn.MaxPool2D(2, 2),
            nn.Conv2D(16, 5), nn.BatchNorm(), nn.Activation("relu"), nn.AvgPool2D(2, 2),
            nn.Flatten(), nn.Dense(120, activation="relu"), nn.Dense(84, activation="relu"),
            nn.Dense(10))
    return net


def test_mxnet_params_file_reproduces_mxnet_output():
    net = lenet_bn()
    net.load_parameters(str(FIX / "lenet_bn.params"))
    x = nd.array(np.load(FIX / "lenet_bn_input.npy"))
    y = net(x)
    np.testing.assert_allclose(y.asnumpy(), np.load(FIX / "lenet_bn_output.npy"),
                               rtol=1e-4, atol=1e-5)
    assert net[0].weight.shape == (6, 1, 5, 5) and net[9].weight.shape == (120, 400)


def test_round_trip_of_our_own_save(tmp_path):
    net = lenet_bn()
    net.load_parameters(str(FIX / "lenet_bn.params"))
    f = str(tmp_path / "again.params")
    net.save_parameters(f)
    assert sorted(nd.load(f)) == sorted(nd.load(str(FIX / "lenet_bn.params")))
    net2 = lenet_bn()
    net2.load_parameters(f)
    x = nd.array(np.load(FIX / "lenet_bn_input.npy"))
    np.testing.assert_array_equal(net2(x).asnumpy(), net(x).asnumpy())


def test_loading_into_a_different_net_fails_cleanly():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(8, 5, padding=2), nn.BatchNorm())  # wrong channel count
    net.initialize()
    net(nd.ones((1, 1, 28, 28)))
    before = net[0].weight.data().asnumpy().copy()
    with pytest.raises((AssertionError, ValueError)):
        net.load_parameters(str(FIX / "lenet_bn.params"))
    np.testing.assert_array_equal(net[0].weight.data().asnumpy(), before)
    with pytest.raises(AssertionError, match="shape incompatible"):
        net.load_parameters(str(FIX / "lenet_bn.params"), ignore_extra=True)
    np.testing.assert_array_equal(net[0].weight.data().asnumpy(), before)
