"""mx.callback: the logged text (MXNet 1.9.1's formats) and the checkpoint callbacks."""
import logging

import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.model import BatchEndParam


class FakeTime:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    t = FakeTime()
    monkeypatch.setattr(mx.callback.time, "time", t)
    return t


def acc_metric(correct, total):
    m = mx.metric.Accuracy()
    m.update([nd.array([0] * total)], [nd.array([[1, 0]] * correct + [[0, 1]] * (total - correct))])
    return m


def messages(caplog):
    return [r.getMessage() for r in caplog.records]


def test_speedometer_auto_reset(caplog, clock):
    sp = mx.callback.Speedometer(batch_size=10, frequent=2)
    metric = acc_metric(3, 4)
    with caplog.at_level(logging.INFO):
        sp(BatchEndParam(epoch=0, nbatch=0, eval_metric=metric, locals=None))  # starts clock
        clock.now += 4.0
        sp(BatchEndParam(epoch=0, nbatch=1, eval_metric=metric, locals=None))  # not a multiple
        sp(BatchEndParam(epoch=0, nbatch=2, eval_metric=metric, locals=None))
    assert messages(caplog) == ["Epoch[0] Batch [0-2]\tSpeed: 5.00 samples/sec\t"
                                "accuracy=0.750000"]
    assert metric.num_inst == 0  # reset after logging (auto_reset)
    assert caplog.records[0].name == "root" and caplog.records[0].levelno == logging.INFO


def test_speedometer_cumulative_and_without_metric(caplog, clock):
    sp = mx.callback.Speedometer(batch_size=4, frequent=1, auto_reset=False)
    metric = mx.metric.create(["acc", "ce"])
    metric.update([nd.array([0, 1])], [nd.array([[0.9, 0.1], [0.2, 0.8]])])
    with caplog.at_level(logging.INFO):
        sp(BatchEndParam(1, 0, metric, None))
        clock.now += 2.0
        sp(BatchEndParam(1, 1, metric, None))
        sp2 = mx.callback.Speedometer(8, 1)
        sp2(BatchEndParam(2, 0, None, None))
        clock.now += 1.0
        sp2(BatchEndParam(2, 1, None, None))
    msgs = messages(caplog)
    assert msgs[0].startswith("Epoch[1] Batch [0-1]\tSpeed: 2.00 samples/sec\t"
                              "accuracy=1.000000\tcross-entropy=0.164252")
    assert msgs[1] == "Iter[2] Batch [1]\tSpeed: 8.00 samples/sec"
    assert metric.metrics[0].num_inst == 2  # not reset


def test_speedometer_restarts_on_new_epoch(caplog, clock):
    sp = mx.callback.Speedometer(1, frequent=2)
    with caplog.at_level(logging.INFO):
        for n in (0, 1, 2):
            sp(BatchEndParam(0, n, None, None))
        sp(BatchEndParam(1, 0, None, None))  # batch number went back: clock restarts
        sp(BatchEndParam(1, 2, None, None))
    assert len(caplog.records) == 2
    with pytest.raises(ValueError, match="batch_size: expected a positive number"):
        mx.callback.Speedometer(0)
    with pytest.raises(TypeError, match="frequent: expected a positive int"):
        mx.callback.Speedometer(1, frequent=2.5)


def test_progress_bar(caplog):
    bar = mx.callback.ProgressBar(total=4, length=8)
    with caplog.at_level(logging.INFO):
        bar(BatchEndParam(0, 1, None, None))
        bar(BatchEndParam(0, 4, None, None))
    assert messages(caplog) == ["[==------] 25%\r", "[========] 100%\r"]
    with pytest.raises(ValueError, match="total: expected a positive int"):
        mx.callback.ProgressBar(0)


def test_log_train_metric(caplog):
    metric = acc_metric(1, 2)
    cb = mx.callback.log_train_metric(2, auto_reset=True)
    with caplog.at_level(logging.INFO):
        cb(BatchEndParam(3, 1, metric, None))  # 1 % 2 != 0: nothing
        cb(BatchEndParam(3, 4, metric, None))
        cb(BatchEndParam(3, 6, None, None))
    assert messages(caplog) == ["Iter[3] Batch[4] Train-accuracy=0.500000"]
    assert metric.num_inst == 0


def test_log_validation_metrics(caplog):
    with caplog.at_level(logging.INFO):
        mx.callback.LogValidationMetricsCallback()(BatchEndParam(5, 0, acc_metric(2, 2), None))
    assert messages(caplog) == ["Epoch[5] Validation-accuracy=1.000000"]


def test_do_checkpoint(tmp_path, caplog):
    data = mx.sym.var("data")
    net = mx.sym.FullyConnected(data, num_hidden=2, name="fc")
    arg = {"fc_weight": nd.ones((2, 3)), "fc_bias": nd.zeros((2,))}
    prefix = str(tmp_path / "m")
    cb = mx.callback.do_checkpoint(prefix, period=2)
    with caplog.at_level(logging.INFO):
        for epoch in range(4):
            cb(epoch, net, arg, {})
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert saved == ["m-0002.params", "m-0004.params", "m-symbol.json"]
    assert messages(caplog) == [f'Saved checkpoint to "{prefix}-0002.params"',
                                f'Saved checkpoint to "{prefix}-0004.params"']
    sym, arg2, aux2 = mx.model.load_checkpoint(prefix, 4)
    assert sym.list_arguments() == ["data", "fc_weight", "fc_bias"] and aux2 == {}
    assert sorted(arg2) == ["fc_bias", "fc_weight"]
    cb0 = mx.callback.do_checkpoint(str(tmp_path / "z"), period=0)  # clamped to 1
    cb0(0, None, arg, {})
    assert (tmp_path / "z-0001.params").exists()


def test_module_checkpoint():
    calls = []

    class Mod:
        def save_checkpoint(self, prefix, epoch, save_optimizer_states=False):
            calls.append((prefix, epoch, save_optimizer_states))

    cb = mx.callback.module_checkpoint(Mod(), "pre", period=3, save_optimizer_states=True)
    for epoch in range(6):
        cb(epoch)
    assert calls == [("pre", 3, True), ("pre", 6, True)]
    with pytest.raises(TypeError, match="mod: expected a Module"):
        mx.callback.module_checkpoint(object(), "pre")
