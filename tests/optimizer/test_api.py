"""mx.optimizer's API: registry and create, arguments and their errors, learning rates and
multipliers, update counting, multi-precision states, Updater, in-place updates, MXNet's
pickled state format."""
import warnings

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite import optimizer as opt
from gluonlite.gluon import Parameter
from gluonlite.lr_scheduler import FactorScheduler
from gluonlite.optimizer import states as state_io

ALL = sorted(opt.Optimizer.opt_registry)


# --- registry -------------------------------------------------------------------------------
def test_registry_names_and_create():
    assert set(ALL) >= {"sgd", "ccsgd", "nag", "signum", "dcasgd", "sgld", "adam", "adamw",
                        "adamax", "nadam", "lamb", "adagrad", "rmsprop", "adadelta", "ftrl",
                        "ftml", "lars", "lbsgd", "test"}
    assert isinstance(opt.create("Adam", learning_rate=0.1), opt.Adam)
    assert opt.Optimizer.create_optimizer("SGD").lr == 0.01
    assert opt.create("rmsprop").lr == 0.001  # each optimizer's own default
    with pytest.raises(ValueError, match="Cannot find optimizer foo"):
        opt.create("foo")
    with pytest.raises(TypeError, match="name: expected the name of an optimizer"):
        opt.create(opt.SGD)


def test_register_custom_optimizer():
    @opt.register
    class HalfStep(opt.Optimizer):
        """Moves half a gradient step."""

        def update(self, index, weight, grad, state):
            weight[:] -= 0.5 * self._get_lr(index) * grad

    try:
        o = opt.create("halfstep", learning_rate=1.0)
        w = nd.array([1.0])
        opt.get_updater(o)(0, nd.array([1.0]), w)
        assert w.asscalar() == 0.5
        with pytest.warns(UserWarning, match="is overriding existing optimizer"):
            opt.register(HalfStep)
    finally:
        del opt.Optimizer.opt_registry["halfstep"]
    with pytest.raises(TypeError, match="register: expected an Optimizer subclass"):
        opt.register(int)


# --- arguments ------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"learning_rate": "0.1"}, "learning_rate: expected a real number or None"),
    ({"wd": None}, "wd: expected a real number"),
    ({"rescale_grad": [1]}, "rescale_grad: expected a real number"),
    ({"clip_gradient": "1"}, "clip_gradient: expected a real number or None"),
    ({"param_idx2name": [("a", 1)]}, "param_idx2name should be a dict"),
    ({"begin_num_update": 1.5}, "begin_num_update: expected an int"),
    ({"multi_precision": "yes"}, "multi_precision: expected a bool"),
    ({"lr_scheduler": 0.1}, "lr_scheduler: expected an LRScheduler"),
    ({"param_dict": [1]}, "param_dict: expected a dict"),
    ({"momentum": "0.9"}, "momentum: expected a real number"),
])
def test_argument_errors(kwargs, match):
    with pytest.raises(TypeError, match=match):
        opt.create("sgd", **kwargs)


@pytest.mark.parametrize("name, kwargs, match", [
    ("adam", {"beta1": None}, "beta1: expected a real number"),
    ("rmsprop", {"clip_weights": "1"}, "clip_weights: expected a real number or None"),
    ("lamb", {"lower_bound": "x"}, "lower_bound: expected a real number or None"),
    ("ftrl", {"lamda1": None}, "lamda1: expected a real number"),
    ("lars", {"eta": None}, "eta: expected a real number"),
    ("signum", {"wd_lh": "0"}, "wd_lh: expected a real number"),
    ("adagrad", {"eps": None}, "eps: expected a real number"),
    ("sgd", {"momentun": 0.9}, "unexpected keyword argument 'momentun'"),
])
def test_family_argument_errors(name, kwargs, match):
    with pytest.raises(TypeError, match=match):
        opt.create(name, **kwargs)


def test_update_argument_errors():
    o = opt.create("adam")
    s = o.create_state(0, nd.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"grad has shape \(2,\) but weight has shape \(2, 2\)"):
        o.update(0, nd.zeros((2, 2)), nd.zeros((2,)), s)
    with pytest.raises(TypeError, match="weight: expected an NDArray"):
        o.update(0, np.zeros((2, 2)), nd.zeros((2, 2)), s)
    with pytest.raises(TypeError, match="grad: expected an NDArray"):
        o.update(0, nd.zeros((2, 2)), [0.0], s)
    with pytest.raises(ValueError, match=r"grad is on cpu\(1\) but weight is on cpu\(0\)"):
        o.update(0, nd.zeros((2, 2)), nd.zeros((2, 2), ctx=mx.cpu(1)), s)
    u = opt.get_updater(o)
    with pytest.raises(ValueError, match="got 2 indices, 1 gradients and 2 weights"):
        u([0, 1], [nd.zeros(1)], [nd.zeros(1), nd.zeros(1)])
    with pytest.raises(TypeError, match="optimizer: expected an Optimizer"):
        opt.Updater("sgd")


# --- learning rate, multipliers ---------------------------------------------------------------
def test_learning_rate_and_scheduler():
    o = opt.SGD(learning_rate=0.5)
    assert o.learning_rate == 0.5
    o.set_learning_rate(0.2)
    assert o.learning_rate == 0.2 and o.lr == 0.2
    s = FactorScheduler(step=1, factor=0.5, base_lr=1.0)
    o = opt.SGD(lr_scheduler=s)
    assert o.lr is None and o.learning_rate == 1.0
    o.num_update = 3
    assert o.learning_rate == 0.25
    with pytest.raises(UserWarning, match="LRScheduler of the optimizer has already been "
                                          "defined"):
        o.set_learning_rate(0.1)
    with pytest.warns(UserWarning, match="overwritten by ``learning_rate``"):
        o = opt.SGD(learning_rate=0.3, lr_scheduler=FactorScheduler(step=1, base_lr=1.0))
    assert o.lr_scheduler.base_lr == 0.3
    with pytest.raises(DeprecationWarning):
        o.set_lr_scale({})


def test_multiplier_precedence():
    p = Parameter("fc_weight", shape=(1,), lr_mult=3.0, wd_mult=0.25)
    o = opt.SGD(learning_rate=1.0, wd=1.0, param_dict={0: p},
                param_idx2name={0: "fc_weight", 1: "fc_bias", 2: "bn_gamma", 3: "other"})
    o.set_lr_mult({0: 100.0, 1: 2.0, "bn_gamma": 5.0})
    # param_dict first, then the index, then the name
    assert o._get_lrs([0, 1, 2, 3, 9]) == [3.0, 2.0, 5.0, 1.0, 1.0]
    # with names: no weight decay except for *_weight and *_gamma
    assert o._get_wds([0, 1, 2, 3, 9]) == [0.25, 0.0, 1.0, 0.0, 1.0]
    o.set_wd_mult({"fc_bias": 0.5, 3: 2.0})
    assert o._get_wds([1, 3]) == [0.5, 2.0]
    lars = opt.LARS(wd=1.0, param_idx2name={0: "fc_weight", 1: "bn_gamma"})
    assert lars._get_wds([0, 1]) == [1.0, 0.0]  # LARS keeps wd only on *_weight
    with pytest.raises(TypeError, match="args_lr_mult: expected a dict"):
        o.set_lr_mult([1])
    with pytest.raises(TypeError, match="args_wd_mult: expected a dict"):
        o.set_wd_mult(None)


def test_symbol_attributes_set_multipliers():
    class FakeSymbol:
        def attr_dict(self):
            return {"fc_weight": {"__lr_mult__": "0.5", "__wd_mult__": "0"}}

        def list_arguments(self):
            return ["data", "fc_weight"]

    o = opt.SGD(sym=FakeSymbol(), wd=1.0, param_idx2name={0: "fc_weight"})
    assert o.lr_mult == {"fc_weight": 0.5} and o.wd_mult == {"fc_weight": 0.0}
    assert o._get_lr(0) == 0.005 and o._get_wd(0) == 0.0


def test_update_counting():
    o = opt.Adam(begin_num_update=5)
    w, g = nd.ones((2,)), nd.ones((2,))
    s0, s1 = o.create_state(0, w), o.create_state(1, w)
    o.update(0, w, g, s0)
    o.update(0, w, g, s0)
    o.update(1, w, g, s1)
    assert o._index_update_count == {0: 7, 1: 6} and o.num_update == 7
    o._set_current_context(1)  # per-device counts
    o.update(0, w, g, s0)
    assert o._index_update_count == {0: 6} and o.num_update == 7
    assert o._all_index_update_counts[0] == {0: 7, 1: 6}


# --- states -----------------------------------------------------------------------------------
def test_multi_precision_state_layouts():
    w16 = nd.ones((2, 3), dtype="float16")
    sgd_state = opt.SGD(momentum=0.9, multi_precision=True).create_state_multi_precision(0, w16)
    assert sgd_state[0].dtype == np.float32 and sgd_state[1].dtype == np.float32  # (mom, w32)
    adam_state = opt.Adam(multi_precision=True).create_state_multi_precision(0, w16)
    assert adam_state[0].dtype == np.float32 and len(adam_state[1]) == 2  # (w32, (m, v))
    lamb_state = opt.LAMB(multi_precision=True).create_state_multi_precision(0, w16)
    assert lamb_state[0].dtype == np.float32 and len(lamb_state[1]) == 2
    nag_state = opt.NAG(multi_precision=True).create_state_multi_precision(0, w16)
    assert nag_state[0] is None and nag_state[1].dtype == np.float32  # no momentum
    with pytest.warns(UserWarning, match="Consider using multi_precision=True"):
        opt.Adam().create_state_multi_precision(0, w16)
    with pytest.warns(UserWarning, match="multi_precision=True option of the SGD optimizer"):
        opt.SGD().create_state_multi_precision(0, w16)


def test_multi_precision_updates_master_copy():
    o = opt.SGD(learning_rate=1e-4, multi_precision=True)
    w = nd.ones((4,), dtype="float16")
    state = o.create_state_multi_precision(0, w)
    u = opt.get_updater(o)
    u.states[0] = state
    u.states_synced[0] = True
    for _ in range(10):
        u(0, nd.ones((4,), dtype="float16"), w)
    # 10 steps of 1e-4 are lost in float16 (spacing near 1 is 1e-3) but kept in the master
    np.testing.assert_allclose(state[1].asnumpy(), 1 - 1e-3, rtol=1e-6)
    assert w.dtype == np.float16
    np.testing.assert_allclose(w.asnumpy(), np.float16(1 - 1e-3))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_updates_in_place_keep_dtype(name, dtype):
    o = opt.create(name, learning_rate=0.01)
    w = nd.array(np.linspace(-1, 1, 6).reshape(2, 3), dtype=dtype)
    g = nd.array(np.linspace(1, -0.5, 6).reshape(2, 3), dtype=dtype)
    before = w.asnumpy()
    buf = w._data
    u = opt.get_updater(o)
    u(0, g, w)
    flat = [s for s in _flatten(u.states[0])]
    state_bufs = [s._data for s in flat]
    u(0, g, w)
    assert w._data is buf and w.dtype == np.dtype(dtype)
    assert [s._data for s in _flatten(u.states[0])] == state_bufs
    assert all(s.dtype == np.dtype(dtype) for s in flat if name != "test")
    assert not np.array_equal(w.asnumpy(), before)
    assert np.isfinite(w.asnumpy()).all()


def _flatten(state):
    if state is None:
        return []
    if isinstance(state, (tuple, list)):
        return [a for s in state for a in _flatten(s)]
    return [state]


def test_updater_states_round_trip_and_sync():
    o = opt.SGD(learning_rate=0.1, momentum=0.9)
    u = opt.get_updater(o)
    w = nd.ones((3,))
    u(b"0", nd.ones((3,)), w)  # kvstore keys may come as bytes
    assert list(u.states) == ["0"]
    blob = u.get_states()
    u2 = opt.get_updater(opt.SGD(momentum=0.9))
    u2.set_states(blob)
    assert u2.states_synced == {"0": False} and u2.optimizer is not o
    w1 = nd.ones((3,), ctx=mx.cpu(1))
    u2("0", nd.ones((3,), ctx=mx.cpu(1)), w1)  # states follow the weight's context
    assert u2.states["0"].context == mx.cpu(1)
    with pytest.raises(mx.base.FileFormatError, match="expected pickled updater states"):
        u2.set_states(state_io.dumps([1, 2]))
    with pytest.raises(TypeError, match="states: expected bytes"):
        u2.set_states(u.states)


def test_states_are_pickled_in_mxnet_format():
    o = opt.Adam(lr_scheduler=FactorScheduler(step=2, base_lr=0.001))
    u = opt.get_updater(o)
    u(0, nd.ones((2,)), nd.ones((2,)))
    blob = u.get_states(dump_optimizer=True)
    for name in (b"mxnet.ndarray.ndarray", b"NDArray", b"mxnet.optimizer.optimizer", b"Adam",
                 b"mxnet.lr_scheduler", b"FactorScheduler"):
        assert name in blob
    assert b"gluonlite" not in blob
    states, o2 = state_io.loads(blob)
    assert type(o2) is opt.Adam and type(states[0][0]) is nd.NDArray
    assert "param_dict" not in o.__getstate__()
    assert o2.param_dict == {} and o2.num_update == 1
    assert type(o2.lr_scheduler) is FactorScheduler
    # the raw bytes of an array are MXNet's single-array format
    raw = state_io.raw_bytes(nd.array([[1, 2], [3, 4]]))
    assert raw.hex() == ("c9fa93f9000000000200000002000000000000000200000000000000010000000000"
                         "0000000000000000803f000000400000404000008040")
    np.testing.assert_array_equal(state_io.from_raw_bytes(raw).asnumpy(), [[1, 2], [3, 4]])


def test_foreign_and_unknown_pickles():
    # a class MXNet 1.9.1 lacks keeps gluonlite's name and loads back
    blob = state_io.dumps(({}, opt.AdamW()))
    assert b"gluonlite.optimizer.adam" in blob
    assert type(state_io.loads(blob)[1]) is opt.AdamW
    fake = (b"\x80\x04\x8c\x15mxnet.kvstore.kvstore\x94\x8c\x07KVStore\x94\x93\x94.")
    with pytest.raises(mx.base.FileFormatError,
                       match="mxnet.kvstore.kvstore.KVStore, which gluonlite does not "
                             "implement"):
        state_io.loads(fake)
    fake = b"\x80\x04\x8c\x17mxnet.optimizer.contrib\x94\x8c\x0cGroupAdaGrad\x94\x93\x94."
    with pytest.raises(mx.base.FileFormatError,
                       match="GroupAdaGrad, which gluonlite does not implement"):
        state_io.loads(fake)


def test_aggregated_updates_group_by_dtype():
    calls = []

    class Spy(opt.SGD):
        def update_multi_precision(self, index, weight, grad, state):
            calls.append(list(index))
            super().update_multi_precision(index, weight, grad, state)

    o = Spy(learning_rate=0.1)
    assert o.aggregate_num == 4
    u = opt.get_updater(o)
    ws = [nd.ones((2,), dtype="float64" if i in (1, 3) else "float32") for i in range(7)]
    gs = [nd.ones((2,), dtype=w.dtype) for w in ws]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u(list(range(7)), gs, ws)
    assert calls == [[0, 2, 4, 5], [6], [1, 3]]
    assert o.num_update == 1
    for w in ws:
        np.testing.assert_allclose(w.asnumpy(), 0.9)


def test_dcasgd_momentum_and_test_optimizer():
    o = opt.DCASGD(learning_rate=0.1, momentum=0.5, lamda=0.0)
    w = nd.array([1.0])
    s = o.create_state(0, w)
    for _ in range(2):
        o.update(0, w, nd.array([1.0]), s)
    # momentum SGD: -0.1, then 0.5 * -0.1 - 0.1
    np.testing.assert_allclose(w.asnumpy(), [1 - 0.1 - 0.15])
    np.testing.assert_allclose(s[1].asnumpy(), [0.9])  # previous weight
    t = opt.create("test", rescale_grad=2.0)
    w = nd.array([1.0])
    st = t.create_state(0, w)
    t.update(0, w, nd.array([0.5]), st)
    assert w.asscalar() == 2.0 and st.asscalar() == 2.0


def test_adadelta_rescales_the_gradient_in_place_as_mxnet():
    o = opt.AdaDelta(rescale_grad=0.5)
    w, g = nd.ones((2,)), nd.array([2.0, 4.0])
    o.update(0, w, g, o.create_state(0, w))
    np.testing.assert_array_equal(g.asnumpy(), [1.0, 2.0])  # MXNet's `grad *= rescale_grad`
    assert (w.asnumpy() < 1).all()
