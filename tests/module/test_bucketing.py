"""mx.mod.BucketingModule: buckets share one set of parameters, the batch's bucket_key
selects the symbol, the optimizer is shared, and checkpoints round-trip."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.module import ModuleStateError

rng = np.random.RandomState(0)


def sym_gen(seq_len):
    """Mean over time of a shared per-step FullyConnected, then SoftmaxOutput."""
    data = mx.sym.Variable("data")                      # (batch, seq_len, 4)
    flat = mx.sym.reshape(data, shape=(-1, 4))
    fc = mx.sym.FullyConnected(flat, num_hidden=3, name="fc")
    per_step = mx.sym.reshape(fc, shape=(-1, seq_len, 3))
    pooled = mx.sym.mean(per_step, axis=1)
    return mx.sym.SoftmaxOutput(pooled, name="softmax"), ("data",), ("softmax_label",)


def batch(seq_len, n=8):
    x = rng.randn(n, seq_len, 4).astype(np.float32)
    y = rng.randint(0, 3, n).astype(np.float32)
    return mx.io.DataBatch([nd.array(x)], [nd.array(y)], bucket_key=seq_len,
                           provide_data=[mx.io.DataDesc("data", x.shape)],
                           provide_label=[mx.io.DataDesc("softmax_label", y.shape)])


def reference_step(params, b, lr):
    """One SGD step of the same model in numpy (batch-mean cross entropy gradient)."""
    x, y = b.data[0].asnumpy(), b.label[0].asnumpy().astype(int)
    w, bias = params["fc_weight"], params["fc_bias"]
    pooled = x.mean(1) @ w.T + bias
    p = np.exp(pooled - pooled.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d = (p - np.eye(3)[y]) / len(y)
    return {"fc_weight": w - lr * d.T @ x.mean(1), "fc_bias": bias - lr * d.sum(0)}


def test_two_buckets_share_parameters_and_optimizer():
    mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=5)
    assert mod.data_names == ["data"] and mod.output_names == ["softmax_output"]
    mod.bind([("data", (8, 5, 4))], [("softmax_label", (8,))])
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer_params={"learning_rate": 0.5})
    params = {k: v.asnumpy() for k, v in mod.get_params()[0].items()}
    for key in [5, 3, 3, 5, 3]:
        b = batch(key)
        mod.forward(b)
        assert mod.get_outputs()[0].shape == (8, 3)
        assert mod.symbol.list_arguments() == ["data", "fc_weight", "fc_bias", "softmax_label"]
        mod.backward()
        mod.update()
        params = reference_step(params, b, 0.5)
    now = mod.get_params()[0]
    for k in params:
        np.testing.assert_allclose(now[k].asnumpy(), params[k], rtol=1e-4, atol=1e-6)
    assert sorted(mod._buckets) == [3, 5]
    w5 = mod._buckets[5]._exec_group.param_arrays[0][0]
    w3 = mod._buckets[3]._exec_group.param_arrays[0][0]
    assert w5 is w3  # one array, shared
    assert mod._buckets[3]._updater is mod._buckets[5]._updater
    # the current bucket follows the last batch
    assert mod.data_shapes[0].shape == (8, 3, 4)


def test_bucketing_fit_score_and_checkpoint(tmp_path):
    class BucketIter(mx.io.DataIter):
        def __init__(self, keys):
            super().__init__(8)
            self.keys, self.i = keys, 0
            self.batches = [batch(k) for k in keys]
            self.default_bucket_key = max(keys)

        @property
        def provide_data(self):
            return [mx.io.DataDesc("data", (8, self.default_bucket_key, 4))]

        @property
        def provide_label(self):
            return [mx.io.DataDesc("softmax_label", (8,))]

        def reset(self):
            self.i = 0

        def next(self):
            if self.i == len(self.batches):
                raise StopIteration
            self.i += 1
            return self.batches[self.i - 1]

    it = BucketIter([5, 3, 5, 3, 2])
    mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=it.default_bucket_key)
    mod.fit(it, num_epoch=2, optimizer_params={"learning_rate": 0.1},
            initializer=mx.init.Xavier())
    assert sorted(mod._buckets) == [2, 3, 5]
    score = mod.score(it, "acc")
    assert score[0][0] == "accuracy" and 0 <= score[0][1] <= 1

    prefix = str(tmp_path / "bk")
    mod.save_checkpoint(prefix, 2)
    assert (tmp_path / "bk-3-symbol.json").exists() and (tmp_path / "bk.buckets").exists()
    loaded = mx.mod.BucketingModule.load(prefix, 2, sym_gen=sym_gen, default_bucket_key=5)
    loaded.bind(it.provide_data, it.provide_label, for_training=False)
    a = mod.predict(it, merge_batches=False)
    b = loaded.predict(it, merge_batches=False)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x[0].asnumpy(), y[0].asnumpy(), rtol=1e-6)


def test_bucketing_errors():
    with pytest.raises(ValueError, match="default_bucket_key"):
        mx.mod.BucketingModule(sym_gen)
    mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=5)
    with pytest.raises(ModuleStateError, match="not bound"):
        mod.forward(batch(5))
    mod.bind([("data", (8, 5, 4))], [("softmax_label", (8,))])
    mod.init_params()
    with pytest.raises(mx.base.MXNetError, match="bucket_key"):
        mod.forward(mx.io.DataBatch([nd.ones((8, 5, 4))], [nd.ones((8,))]))
    with pytest.raises(ValueError, match="shared_module"):
        mx.mod.BucketingModule(sym_gen, 5).bind([("data", (8, 5, 4))], shared_module=mod)
