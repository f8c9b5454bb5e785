"""mx.mod.Module against MXNet 1.9.1 (tests/fixtures/gen/module_mxnet.py) and its API:
fit/score/predict, data parallelism over contexts, checkpoints, callbacks, reshaping,
fixed parameters, input gradients and clear errors."""
import json
import logging
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError
from gluonlite.module import ModuleStateError

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
META = json.loads((FIX / "module_mxnet.json").read_text())
ARR = np.load(FIX / "module_mxnet.npz")
X, Y = ARR["fit/X"], ARR["fit/Y"]
INIT = {k[len("fit/init/"):]: ARR[k] for k in ARR.files if k.startswith("fit/init/")}


def mlp():
    d = mx.sym.Variable("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(d, num_hidden=16, name="fc1"), act_type="relu")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(h, num_hidden=3, name="fc2"),
                                name="softmax")


def init_params():
    return {k: nd.array(v) for k, v in INIT.items()}


def train_iter(batch_size=20):
    return mx.io.NDArrayIter(X, Y, batch_size=batch_size, label_name="softmax_label")


def val_iter():
    return mx.io.NDArrayIter(X[:30], Y[:30], batch_size=20, label_name="softmax_label")


class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def capture_logger(name):
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    cap = Capture()
    logger.handlers = [cap]
    logger.propagate = False
    return logger, cap


@pytest.mark.parametrize("case", META["fit"], ids=[c["tag"] for c in META["fit"]])
def test_fit_matches_mxnet(case):
    tag = case["tag"]
    ctx, wl = {"one": ([mx.cpu(0)], None), "two": ([mx.cpu(0), mx.cpu(1)], None),
               "uneven": ([mx.cpu(0), mx.cpu(1)], [1, 3])}[tag]
    logger, cap = capture_logger(f"test_fit_{tag}")
    mod = mx.mod.Module(mlp(), context=ctx, work_load_list=wl, logger=logger)
    mod.fit(train_iter(), eval_data=val_iter(), num_epoch=3, optimizer="sgd",
            optimizer_params={"learning_rate": 0.2, "momentum": 0.9, "wd": 1e-3},
            arg_params=init_params(), eval_metric="acc")
    args, aux = mod.get_params()
    assert aux == {}
    for k, v in args.items():
        np.testing.assert_allclose(v.asnumpy(), ARR[f"fit/{tag}/param/{k}"], rtol=1e-4,
                                   atol=1e-5, err_msg=k)
        assert v.context == mx.cpu()
    assert [l for l in cap.lines if "Time cost" not in l] == case["log"]
    assert sum("Time cost=" in l for l in cap.lines) == 3
    pred = mod.predict(val_iter())
    assert pred.shape == (30, 3)  # padding of the last batch removed
    np.testing.assert_allclose(pred.asnumpy(), ARR[f"fit/{tag}/predict"], rtol=1e-4, atol=1e-5)
    assert mod.score(val_iter(), "acc") == [tuple(x) for x in case["score"]]
    if len(ctx) == 2:
        # one executor per context, each on its slice of the batch
        ex = mod._exec_group.execs
        sizes = [e.arg_dict["data"].shape[0] for e in ex]
        assert sizes == ([10, 10] if wl is None else [5, 15])
        assert [e.arg_dict["data"].context for e in ex] == ctx


def test_step_by_step_equals_fit_and_rescale_grad():
    mod = mx.mod.Module(mlp())
    mod.bind(data_shapes=[("data", (20, 10))], label_shapes=[("softmax_label", (20,))])
    mod.init_params(arg_params=init_params())
    mod.init_optimizer(optimizer="sgd", optimizer_params=(("learning_rate", 0.2),
                                                          ("momentum", 0.9), ("wd", 1e-3)))
    assert mod._optimizer.rescale_grad == pytest.approx(1 / 20)
    assert sorted(mod._optimizer.idx2name.values()) == sorted(INIT)
    it = train_iter()
    for _ in range(3):
        it.reset()
        for batch in it:
            mod.forward(batch, is_train=True)
            mod.backward()
            mod.update()
    args, _ = mod.get_params()
    for k, v in args.items():
        np.testing.assert_allclose(v.asnumpy(), ARR[f"fit/one/param/{k}"], rtol=1e-4,
                                   atol=1e-5, err_msg=k)


def test_lenet_checkpoint_predict_matches_mxnet():
    sym, arg_params, aux_params = mx.model.load_checkpoint(str(FIX / "lenet_bn"), 0)
    x = np.load(FIX / "lenet_bn_input.npy")
    mod = mx.mod.Module(sym, data_names=["data"], label_names=None)
    mod.bind(data_shapes=[("data", x.shape)], for_training=False)
    mod.set_params(arg_params, aux_params)
    expect = np.load(FIX / "lenet_bn_output.npy")
    out = mod.predict(mx.io.NDArrayIter(x, batch_size=x.shape[0]))
    np.testing.assert_allclose(out.asnumpy(), expect, rtol=1e-4, atol=1e-5)
    # a smaller batch reshapes the module; padding is removed from the last batch
    out1 = mod.predict(mx.io.NDArrayIter(np.concatenate([x, x[:1]]), batch_size=2))
    np.testing.assert_allclose(out1.asnumpy(), np.concatenate([expect, expect[:1]]),
                               rtol=1e-4, atol=1e-5)
    # predict on a plain array runs one batch
    np.testing.assert_allclose(mod.predict(x).asnumpy(), expect, rtol=1e-4, atol=1e-5)
    # the auxiliary states came through set_params
    _, aux = mod.get_params()
    np.testing.assert_allclose(aux["batchnorm4_running_var"].asnumpy(),
                               aux_params["batchnorm4_running_var"].asnumpy())


class CountingIter(mx.io.DataIter):
    """A user-defined DataIter: fixed batches from numpy arrays, counting resets."""

    def __init__(self, x, y, batch_size):
        super().__init__(batch_size)
        self.x, self.y, self.cursor, self.resets = x, y, 0, 0

    @property
    def provide_data(self):
        return [mx.io.DataDesc("data", (self.batch_size,) + self.x.shape[1:])]

    @property
    def provide_label(self):
        return [mx.io.DataDesc("softmax_label", (self.batch_size,))]

    def reset(self):
        self.cursor, self.resets = 0, self.resets + 1

    def next(self):
        if self.cursor + self.batch_size > len(self.x):
            raise StopIteration
        s = slice(self.cursor, self.cursor + self.batch_size)
        self.cursor += self.batch_size
        return mx.io.DataBatch([nd.array(self.x[s])], [nd.array(self.y[s])], pad=0)


@pytest.mark.filterwarnings("ignore:Parameters already initialized")
def test_user_data_iter_and_callbacks():
    it = CountingIter(X, Y, 20)
    batches, epochs, scores = [], [], []
    mod = mx.mod.Module(mlp())

    def on_batch(p):
        assert isinstance(p, mx.model.BatchEndParam)
        assert isinstance(p.eval_metric, mx.metric.Accuracy)
        assert p.locals["self"] is mod and "data_batch" in p.locals
        batches.append((p.epoch, p.nbatch, p.eval_metric.get()[1]))

    def on_epoch(epoch, symbol, arg_params, aux_params):
        assert symbol is mod.symbol and aux_params == {}
        assert sorted(arg_params) == sorted(INIT)
        epochs.append((epoch, arg_params["fc2_bias"].asnumpy().copy()))

    mod.fit(it, eval_data=CountingIter(X[:40], Y[:40], 20), num_epoch=2,
            eval_metric=mx.metric.Accuracy(), optimizer_params={"learning_rate": 0.1},
            arg_params=init_params(), batch_end_callback=on_batch,
            epoch_end_callback=[on_epoch],
            eval_end_callback=lambda p: scores.append((p.epoch, p.nbatch)),
            eval_batch_end_callback=lambda p: scores.append(("batch", p.nbatch)))
    assert [(e, n) for e, n, _ in batches] == [(e, n) for e in range(2) for n in range(5)]
    assert [e for e, _ in epochs] == [0, 1]
    assert not np.allclose(epochs[0][1], epochs[1][1])
    # eval: two batches then the end callback with the number of batches run
    assert scores == [("batch", 0), ("batch", 1), (0, 2), ("batch", 0), ("batch", 1), (1, 2)]
    assert it.resets == 2
    # begin_epoch/num_epoch: epochs numbered from begin_epoch
    batches.clear()
    mod.fit(it, num_epoch=4, begin_epoch=3, batch_end_callback=on_batch)
    assert {e for e, _, _ in batches} == {3}


def test_speedometer_and_do_checkpoint_callbacks(tmp_path, caplog):
    mod = mx.mod.Module(mlp())
    prefix = str(tmp_path / "mlp")
    with caplog.at_level(logging.INFO):
        mod.fit(train_iter(10), num_epoch=2, arg_params=init_params(),
                batch_end_callback=mx.callback.Speedometer(10, frequent=5),
                epoch_end_callback=mx.callback.do_checkpoint(prefix))
    assert any("samples/sec" in r.getMessage() for r in caplog.records)
    assert (tmp_path / "mlp-symbol.json").exists()
    assert (tmp_path / "mlp-0002.params").exists()
    sym, args, aux = mx.model.load_checkpoint(prefix, 2)
    now, _ = mod.get_params()
    for k in INIT:
        np.testing.assert_array_equal(args[k].asnumpy(), now[k].asnumpy())


@pytest.mark.filterwarnings("ignore:Parameters already initialized")
def test_checkpoint_round_trip_with_optimizer_states(tmp_path):
    prefix = str(tmp_path / "ck")
    opt_params = {"learning_rate": 0.1, "momentum": 0.9}
    mod = mx.mod.Module(mlp())
    mod.fit(train_iter(), num_epoch=1, arg_params=init_params(), optimizer_params=opt_params)
    mod.save_checkpoint(prefix, 1, save_optimizer_states=True)
    assert (tmp_path / "ck-0001.states").exists()

    loaded = mx.mod.Module.load(prefix, 1, load_optimizer_states=True)
    assert loaded.params_initialized and not loaded.binded
    # both continue for one epoch: equal only if the momentum came back too
    mod.fit(train_iter(), num_epoch=2, begin_epoch=1, optimizer_params=opt_params)
    loaded.fit(train_iter(), num_epoch=2, begin_epoch=1, optimizer_params=opt_params)
    a, _ = mod.get_params()
    b, _ = loaded.get_params()
    for k in a:
        np.testing.assert_allclose(a[k].asnumpy(), b[k].asnumpy(), rtol=1e-6, atol=1e-7)
    # without the states the momentum restarts: a different result
    fresh = mx.mod.Module.load(prefix, 1)
    fresh.fit(train_iter(), num_epoch=2, begin_epoch=1, optimizer_params=opt_params)
    c, _ = fresh.get_params()
    assert not np.allclose(a["fc1_weight"].asnumpy(), c["fc1_weight"].asnumpy())

    # save_params / load_params
    mod.save_params(str(tmp_path / "p.params"))
    saved = nd.load(str(tmp_path / "p.params"))
    assert sorted(saved) == sorted(f"arg:{k}" for k in INIT)
    other = mx.mod.Module(mlp())
    other.bind([("data", (20, 10))], [("softmax_label", (20,))], for_training=False)
    other.load_params(str(tmp_path / "p.params"))
    np.testing.assert_allclose(other.predict(val_iter()).asnumpy(),
                               mod.predict(val_iter()).asnumpy(), rtol=1e-6)


def test_iter_predict_and_predict_options():
    mod = mx.mod.Module(mlp())
    mod.bind([("data", (20, 10))], [("softmax_label", (20,))], for_training=False)
    mod.init_params(arg_params=init_params())
    got = list(mod.iter_predict(val_iter()))
    assert [n for _, n, _ in got] == [0, 1]
    assert [o[0].shape[0] for o, _, _ in got] == [20, 10]
    per_batch = mod.predict(val_iter(), merge_batches=False)
    assert len(per_batch) == 2 and per_batch[1][0].shape == (10, 3)
    as_list = mod.predict(val_iter(), always_output_list=True)
    assert isinstance(as_list, list) and as_list[0].shape == (30, 3)
    assert mod.predict(val_iter(), num_batch=1).shape == (20, 3)
    with pytest.raises(ValueError, match="NDArray or DataIter"):
        mod.predict([1, 2, 3])


def test_reshape_fixed_params_and_input_grads():
    sym = mlp()
    mod = mx.mod.Module(sym, fixed_param_names=["fc1_weight"])
    mod.bind([("data", (20, 10))], [("softmax_label", (20,))], inputs_need_grad=True)
    mod.init_params(arg_params=init_params())
    mod.init_optimizer(optimizer_params={"learning_rate": 0.5})
    assert mod._exec_group.grad_req["fc1_weight"] == "null"
    assert mod._exec_group.grad_req["data"] == "write"
    assert mod._exec_group.grad_req["softmax_label"] == "null"
    batch = mx.io.DataBatch([nd.array(X[:7])], [nd.array(Y[:7])])
    mod.forward(batch)  # 7 rows: the module reshapes
    assert mod.data_shapes[0].shape == (7, 10) and mod.output_shapes == [("softmax_output",
                                                                           (7, 3))]
    mod.backward()
    mod.update()
    g = mod.get_input_grads()[0]
    assert g.shape == (7, 10)
    args, _ = mod.get_params()
    np.testing.assert_array_equal(args["fc1_weight"].asnumpy(), INIT["fc1_weight"])
    assert not np.allclose(args["fc2_weight"].asnumpy(), INIT["fc2_weight"])
    # the input gradient is the gradient of the summed cross entropy (SoftmaxOutput's rule)
    w1, b1, w2, b2 = (args[k].asnumpy() for k in ("fc1_weight", "fc1_bias", "fc2_weight",
                                                 "fc2_bias"))
    w2_before = INIT["fc2_weight"]
    h = X[:7] @ INIT["fc1_weight"].T
    p = np.exp(np.maximum(h, 0) @ w2_before.T)
    p /= p.sum(1, keepdims=True)
    d = (p - np.eye(3)[Y[:7].astype(int)]) @ w2_before * (h > 0)
    np.testing.assert_allclose(g.asnumpy(), d @ INIT["fc1_weight"], rtol=1e-4, atol=1e-6)
    # back to the bound shape: the original executor (and its parameters) again
    mod.forward(mx.io.DataBatch([nd.array(X[:20])], [nd.array(Y[:20])]), is_train=False)
    assert mod.get_outputs()[0].shape == (20, 3)


def test_multiple_outputs_and_out_grads():
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data, num_hidden=4, name="fc")
    sym = mx.sym.Group([fc, mx.sym.relu(fc, name="relu0")])
    mod = mx.mod.Module(sym, label_names=None, context=[mx.cpu(0), mx.cpu(1)])
    mod.bind([("data", (6, 3))])
    mod.init_params(mx.init.Xavier())
    assert mod.output_names == ["fc_output", "relu0_output"]
    x = np.random.RandomState(0).randn(6, 3).astype(np.float32)
    mod.forward(mx.io.DataBatch([nd.array(x)]), is_train=True)
    outs = mod.get_outputs()
    per_dev = mod.get_outputs(merge_multi_context=False)
    assert [o.shape for o in outs] == [(6, 4), (6, 4)] and len(per_dev[0]) == 2
    w = mod.get_params()[0]["fc_weight"].asnumpy()
    np.testing.assert_allclose(outs[0].asnumpy(), x @ w.T, rtol=1e-5, atol=1e-6)
    og = [nd.ones((6, 4)), nd.ones((6, 4)) * 2]
    mod.backward(og)
    grads = [e.grad_dict["fc_weight"].asnumpy() for e in mod._exec_group.execs]
    pre = x @ w.T
    full = ((1 + 2 * (pre > 0)).T @ x)
    np.testing.assert_allclose(grads[0] + grads[1], full, rtol=1e-5, atol=1e-5)


def test_errors_are_clear():
    sym = mlp()
    with pytest.raises(ValueError, match="'x' is not found in symbol.list_arguments"):
        mx.mod.Module(sym, data_names=["x"])
    with pytest.raises(TypeError, match="symbol: expected a Symbol"):
        mx.mod.Module("net")
    with pytest.raises(TypeError, match="data_names"):
        mx.mod.Module(sym, data_names="data")
    with pytest.raises(ValueError, match="work_load_list"):
        mx.mod.Module(sym, context=[mx.cpu(0), mx.cpu(1)], work_load_list=[1])
    mod = mx.mod.Module(sym)
    batch = mx.io.DataBatch([nd.ones((20, 10))], [nd.zeros((20,))])
    with pytest.raises(ModuleStateError, match="not bound; call bind"):
        mod.forward(batch)
    with pytest.raises(AssertionError):  # what MXNet raises
        mod.forward(batch)
    with pytest.raises(ValueError, match="don't match names specified by data_names"):
        mod.bind([("x", (20, 10))], [("softmax_label", (20,))])
    mod.bind([("data", (20, 10))], [("softmax_label", (20,))])
    with pytest.raises(ModuleStateError, match="parameters are not initialized"):
        mod.forward(batch)
    mod.init_params()
    with pytest.raises(ModuleStateError, match="no optimizer is installed"):
        mod.update()
    with pytest.raises(MXNetError, match="takes 1"):
        mod.forward(mx.io.DataBatch([nd.ones((20, 10)), nd.ones((20, 10))], []))
    with pytest.raises(MXNetError, match="cannot infer|shape"):
        mod.forward(mx.io.DataBatch([nd.ones((20, 7))], [nd.zeros((20,))]))
    with pytest.raises(ValueError, match="num_epoch"):
        mod.fit(train_iter())
    with pytest.raises(RuntimeError, match="fc2_bias is not presented"):
        mod.init_params(arg_params={k: v for k, v in init_params().items()
                                    if k != "fc2_bias"}, force_init=True)
    with pytest.raises(MXNetError, match="has shape"):
        mod.set_params({**init_params(), "fc2_bias": nd.zeros((5,))}, {})
    with pytest.raises(ModuleStateError, match="inputs_need_grad"):
        mod.get_input_grads()
    with pytest.raises(NotImplementedError, match="Monitor"):
        mod.install_monitor(object())
    with pytest.raises(ValueError, match="grad_req"):
        mx.mod.Module(sym).bind([("data", (20, 10))], [("softmax_label", (20,))],
                                grad_req="sometimes")
    pred_only = mx.mod.Module(sym)
    pred_only.bind([("data", (20, 10))], [("softmax_label", (20,))], for_training=False)
    pred_only.init_params()
    pred_only.forward(batch)
    with pytest.raises(MXNetError, match="for_training=True"):
        pred_only.backward()
    with pytest.raises(TypeError, match="optimizer"):
        mod.init_optimizer(optimizer=42)
