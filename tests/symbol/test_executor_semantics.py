"""Executor behaviour as MXNet 1.9.1's (issue 17 §5): outputs right after bind, backward
after an inference forward / with no gradient arguments / without head gradients,
monitor callbacks, reshape, copy_params_from and hidden ``__attr__`` attributes. Reference
outcomes from MXNet in ``tests/fixtures/shape_executor_mxnet.json``."""
import json
import pathlib

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError

S = mx.sym
FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "shape_executor_mxnet.json"
REF = json.loads(FIXTURE.read_text())["executor"]
TOL = dict(rtol=1e-5, atol=1e-6)


def _net():
    with mx.name.NameManager():
        return S.relu(S.FullyConnected(S.var("x"), num_hidden=3, name="fc")) * 2


def _args():
    return {"x": nd.array(np.arange(8).reshape(2, 4) / 8.0),
            "fc_weight": nd.array(np.linspace(-1, 1, 12).reshape(3, 4)),
            "fc_bias": nd.array([0.1, -0.2, 0.3])}


def _bound(sym=None, req="write"):
    args = _args()
    grads = {k: nd.ones(v.shape) * 7 for k, v in args.items()}
    return (sym if sym is not None else _net()).bind(mx.cpu(), args=args, args_grad=grads,
                                                     grad_req=req), grads


def _check_grads(grads, ref):
    assert sorted(grads) == sorted(ref)
    for k, v in ref.items():
        np.testing.assert_allclose(grads[k].asnumpy(), np.array(v), **TOL, err_msg=k)


def test_outputs_exist_after_bind():
    e, _ = _bound()
    assert [list(o.shape) for o in e.outputs] == REF["outputs_after_bind"]
    assert list(e.output_dict) == ["_mulscalar0_output"]
    g = S.Group([S.var("a") * 1, S.relu(S.var("a"))]).simple_bind(mx.cpu(), a=(2, 5))
    assert [o.shape for o in g.outputs] == [(2, 5), (2, 5)]


@pytest.mark.parametrize("train", [False, True], ids=["after_eval", "after_train"])
def test_backward_with_head_gradient(train):
    e, g = _bound()
    e.forward(is_train=train)
    e.backward(nd.ones((2, 3)) * (0.5 if train else 1.0))
    _check_grads(g, REF["backward_after_train_with_head" if train
                        else "backward_after_eval_with_head"])


def test_backward_without_head_gradient_needs_a_loss_output():
    assert REF["backward_no_head_not_loss"]["error"]
    e, g = _bound()
    e.forward(is_train=True)
    before = {k: v.asnumpy().copy() for k, v in g.items()}
    with pytest.raises(MXNetError, match="head_gradient is required.*make_loss"):
        e.backward()
    for k, v in g.items():  # a failed backward writes nothing
        np.testing.assert_array_equal(v.asnumpy(), before[k])
    # loss heads ignore the head gradient: no out_grads needed, even after an eval forward
    e, g = _bound(S.MakeLoss(_net()))
    e.forward(is_train=False)
    e.backward()
    _check_grads(g, REF["makeloss_backward_after_eval"])


def test_softmax_output_backward_after_eval():
    so = S.SoftmaxOutput(S.FullyConnected(S.var("x"), num_hidden=3, name="fc"), S.var("label"),
                         name="sm")
    args = _args()
    args["label"] = nd.array([0, 2])
    grads = {k: nd.ones(v.shape) * 7 for k, v in args.items() if k != "label"}
    e = so.bind(mx.cpu(), args=args, args_grad=grads,
                grad_req={"x": "write", "fc_weight": "write", "fc_bias": "add"})
    e.forward(is_train=False)
    e.backward()
    _check_grads(grads, REF["softmax_output_backward_after_eval"])


def test_backward_with_nothing_to_compute_is_a_no_op():
    e, g = _bound(req="null")
    e.forward(is_train=True)
    e.backward()
    _check_grads(g, REF["backward_all_null"])
    assert REF["backward_without_args_grad"] == "ok"
    e = _net().bind(mx.cpu(), args=_args())
    e.forward(is_train=True)
    e.backward()
    assert e.grad_dict == {}


def test_backward_before_any_forward_is_an_error():
    # MXNet differentiates uninitialised buffers here (garbage); gluonlite refuses
    e, _ = _bound()
    with pytest.raises(MXNetError, match="call forward"):
        e.backward(nd.ones((2, 3)))


def test_dropout_backward_after_eval_is_identity():
    e = (S.Dropout(S.var("x"), p=0.5) * 1).bind(mx.cpu(), {"x": nd.ones((2, 4))},
                                                args_grad={"x": nd.zeros((2, 4))})
    e.forward(is_train=False)
    e.backward(nd.ones((2, 4)))
    assert e.grad_dict["x"].asnumpy().tolist() == REF["dropout_backward_after_eval"]


@pytest.mark.parametrize("monitor_all", [False, True])
def test_monitor_callback(monitor_all):
    e, g = _bound()
    seen = []
    e.set_monitor_callback(lambda name, arr: seen.append((name, arr)), monitor_all=monitor_all)
    e.forward(is_train=True)
    assert [n for n, _ in seen] == REF["monitor_all" if monitor_all else "monitor_outputs"]
    vals = dict(seen)
    np.testing.assert_allclose(vals["_mulscalar0_output"].asnumpy(), e.outputs[0].asnumpy())
    relu = np.maximum(vals["fc_output"].asnumpy(), 0)
    np.testing.assert_allclose(vals["relu0_output"].asnumpy(), relu, rtol=1e-6)
    # training through a monitored executor gives the same gradients
    e.backward(nd.ones((2, 3)))
    e2, g2 = _bound()
    e2.forward(is_train=True)
    e2.backward(nd.ones((2, 3)))
    for k in g:
        np.testing.assert_allclose(g[k].asnumpy(), g2[k].asnumpy(), rtol=1e-6)
    e.set_monitor_callback(None)
    seen.clear()
    e.forward()
    assert seen == []
    with pytest.raises(TypeError, match="callable"):
        e.set_monitor_callback(3)


def _simple():
    return _net().simple_bind(mx.cpu(), x=(2, 4))


def test_reshape_shares_memory_and_checks_sizes():
    ref = REF["reshape_smaller"]
    e = _simple()
    e.arg_dict["fc_weight"][:] = 3
    e2 = e.reshape(x=(1, 4))
    e2.arg_dict["fc_weight"][:] = 5
    e2.arg_dict["x"][:] = 1
    assert {k: list(v.shape) for k, v in e2.arg_dict.items()} == ref["shapes"]
    assert e.arg_dict["fc_weight"].asnumpy()[0, 0] == ref["weight_shared"]
    assert e.arg_dict["x"].asnumpy().tolist() == ref["x_old"]
    assert [list(o.shape) for o in e2.outputs] == ref["outputs"]
    assert e2.forward()[0].shape == (1, 3)

    assert REF["reshape_larger_refused"]["error"]
    with pytest.raises(MXNetError, match="larger than original.*allow_up_sizing=True"):
        e.reshape(x=(5, 4))
    big = e.reshape(allow_up_sizing=True, x=(5, 4))
    assert {k: list(v.shape) for k, v in big.arg_dict.items()} == REF["reshape_larger_allowed"]
    assert big.grad_dict["x"].shape == (5, 4)

    assert REF["reshape_unspecified_changes"]["error"]
    with pytest.raises(MXNetError, match="unspecified arg: fc_weight.*partial_shaping=True"):
        e.reshape(x=(4, 2))
    p = e.reshape(partial_shaping=True, x=(4, 2))
    assert {k: list(v.shape) for k, v in p.arg_dict.items()} == REF["reshape_unspecified_partial"]
    with pytest.raises(MXNetError, match="'q' is not an input"):
        e.reshape(q=(2, 4))


def test_copy_params_from():
    e = _simple()
    assert REF["copy_params_from_extra"]["type"] == "ValueError"
    with pytest.raises(ValueError, match="'zz' that is not in the arguments"):
        e.copy_params_from({"fc_weight": nd.ones((3, 4)) * 9, "zz": nd.ones(1)})
    assert e.arg_dict["fc_weight"].asnumpy().max() == 0  # nothing copied by a failed call
    e.copy_params_from({"fc_weight": nd.ones((3, 4)) * 2, "zz": nd.ones(1)},
                       allow_extra_params=True)
    assert e.arg_dict["fc_weight"].asnumpy().tolist() == REF["copy_params_from_extra_allowed"]
    e.copy_params_from({"fc_weight": nd.ones((3, 4), dtype="float64") * 4})
    dt, val = REF["copy_params_from_float64"]
    assert e.arg_dict["fc_weight"].dtype.__name__ == dt
    assert e.arg_dict["fc_weight"].asnumpy().tolist() == val
    assert REF["copy_params_from_wrong_shape"]["error"]
    with pytest.raises(MXNetError, match="'fc_weight' has shape \\(4, 4\\)"):
        e.copy_params_from({"fc_weight": nd.ones((4, 4))})
    with pytest.raises(TypeError, match="must be an NDArray"):
        e.copy_params_from({"fc_weight": np.ones((3, 4))})
    b = S.BatchNorm(S.var("d"), name="bn").simple_bind(mx.cpu(), d=(2, 3))
    assert REF["copy_params_from_aux_extra"]["type"] == "ValueError"
    with pytest.raises(ValueError, match="'nope' that is not in the auxiliary states"):
        b.copy_params_from({}, {"bn_moving_mean": nd.ones(3), "nope": nd.ones(1)})
    b.copy_params_from({"bn_gamma": nd.ones(3) * 2}, {"bn_moving_mean": nd.ones(3) * 3})
    assert b.aux_dict["bn_moving_mean"].asnumpy().tolist() == [3, 3, 3]


def test_hidden_attributes_on_any_node():
    ref = REF["hidden_attrs"]
    s = S.FullyConnected(S.var("x"), num_hidden=3, name="h", __layout__="NC", __lr_mult__="2",
                         __init__="zeros", __storage_type__="0", __profiler_scope__="a:")
    d = s.attr_dict()
    assert {k: {a: v for a, v in d[k].items() if a.startswith("__")} for k in d} == ref["attrs"]
    out = s.bind(mx.cpu(), {"x": nd.ones((2, 4)), "h_weight": nd.ones((3, 4)),
                            "h_bias": nd.ones(3)}).forward()[0]
    assert out.asnumpy().tolist() == ref["out"]
    # they survive JSON, and imperative calls accept them too
    assert S.load_json(s.tojson()).attr_dict()["h"]["__layout__"] == "NC"
    y = nd.FullyConnected(nd.ones((2, 4)), nd.ones((3, 4)), nd.ones(3), num_hidden=3,
                          __layout__="NC", __lr_mult__="2")
    assert y.asnumpy().tolist() == REF["hidden_attrs_nd"]
    # MXNet's plain hidden keys become __key__; param-prefixed ones are refused
    assert S.FullyConnected(S.var("x"), num_hidden=3, lr_mult=2).attr("__lr_mult__") == "2"
    assert REF["hidden_key_deprecated"]["error"]
    with pytest.raises(MXNetError, match="weight_lr_mult is deprecated"):
        S.FullyConnected(S.var("x"), num_hidden=3, weight_lr_mult=2)
    # a key that is neither an attribute nor hidden is still an error
    with pytest.raises(MXNetError, match="unknown argument 'bogus'"):
        S.FullyConnected(S.var("x"), num_hidden=3, bogus=1)
