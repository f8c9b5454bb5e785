"""The Symbol API: construction, naming, listing, inference, attributes, operators."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError


def _mlp():
    x = mx.sym.var("x")
    y = mx.sym.FullyConnected(x, num_hidden=4, name="fc") + 1
    z = mx.sym.BatchNorm(y, name="bn")
    w = mx.sym.split(z, num_outputs=2, axis=1, name="sp")
    return x, y, z, mx.sym.Group([w[0], x * 2])


def test_lists_match_mxnet():
    # expected values produced by MXNet 1.9.1 for the same construction
    with mx.name.NameManager():
        x, y, z, g = _mlp()
        assert g.list_arguments() == ["x", "fc_weight", "fc_bias", "bn_gamma", "bn_beta"]
        assert g.list_outputs() == ["sp_output0", "_mulscalar0_output"]
        assert g.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
        assert g.list_inputs() == ["x", "fc_weight", "fc_bias", "bn_gamma", "bn_beta",
                                   "bn_moving_mean", "bn_moving_var"]
        assert z.get_internals().list_outputs() == [
            "x", "fc_weight", "fc_bias", "fc_output", "_plusscalar0_output", "bn_gamma",
            "bn_beta", "bn_moving_mean", "bn_moving_var", "bn_output"]
        assert y.get_children().list_outputs() == ["fc_output"]
        assert x.get_children() is None


def test_automatic_names_and_prefixes():
    with mx.name.NameManager():
        a = mx.sym.var("a")
        assert mx.sym.FullyConnected(a, num_hidden=2).name == "fullyconnected0"
        assert mx.sym.FullyConnected(a, num_hidden=2).name == "fullyconnected1"
        assert (a * a).name == "_mul0" and (-a).name == "_mulscalar0"
        assert (a > 0).name == "_greater_scalar0" and (1 - a).name == "_rminusscalar0"
        with mx.name.Prefix("net_"):
            assert mx.sym.relu(a).name == "net_relu0"
            assert mx.sym.relu(a, name="r").name == "net_r"
    assert mx.sym.FullyConnected(a, num_hidden=2, name="fc1").list_arguments() == [
        "a", "fc1_weight", "fc1_bias"]
    assert mx.sym.FullyConnected(a, num_hidden=2, no_bias=True, name="f").list_arguments() \
        == ["a", "f_weight"]


def test_operators_follow_symbol_semantics():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    ops = {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "**": a ** b, "%": a % b}
    names = {k: v.get_internals()._outputs[-1][0].op.name for k, v in ops.items()}
    assert names == {"+": "elemwise_add", "-": "elemwise_sub", "*": "elemwise_mul",
                     "/": "elemwise_div", "**": "_power", "%": "_mod"}
    # elementwise: shapes must agree, unlike NDArray's broadcasting operators
    assert (a + b).infer_shape(a=(2, 3), b=(2, 3))[1] == [(2, 3)]
    with pytest.raises(MXNetError, match="equal shapes|shape mismatch"):
        (a + b).infer_shape(a=(2, 3), b=(1, 3))
    assert mx.sym.broadcast_add(a, b).infer_shape(a=(2, 3), b=(1, 3))[1] == [(2, 3)]
    with pytest.raises(NotImplementedError):
        bool(a)


def test_indexing_and_groups():
    x, y, z, g = _mlp()
    assert len(g) == 2 and g[1].list_outputs() == g.list_outputs()[1:]
    assert g["sp_output0"].list_outputs() == ["sp_output0"]
    with pytest.raises(ValueError, match="Cannot find output"):
        g["nope"]
    with pytest.raises(IndexError):
        g[5]
    assert [s.list_outputs()[0] for s in g] == g.list_outputs()
    assert g.name is None and y.name == y.get_internals()._outputs[-1][0].name
    with pytest.raises(TypeError, match="Symbols"):
        mx.sym.Group([x, 3])


def test_infer_shape_full_partial_and_type():
    x, y, z, g = _mlp()
    args, outs, aux = g.infer_shape(x=(4, 5))
    assert args == [(4, 5), (4, 5), (4,), (4,), (4,)] and outs == [(4, 2), (4, 5)]
    assert aux == [(4,), (4,)]
    assert g.infer_shape(x=None) == (None, None, None)
    pa, po, _ = g.infer_shape_partial()
    assert pa[0] == () and po == [(), ()]
    assert g.infer_shape((4, 5))[1] == [(4, 2), (4, 5)]
    t = g.infer_type(x="float64")
    assert t[0][0] is np.float64 and t[1] == [np.float64, np.float64]
    with pytest.raises(MXNetError, match="not an input"):
        g.infer_shape(q=(1,))
    v = mx.sym.var("v", shape=(3, 0))
    s = mx.sym.FullyConnected(v, num_hidden=2, name="f")
    assert s.infer_shape(v=(3, 7))[0] == [(3, 7), (2, 7), (2,)]


def test_var_attributes_and_attr_dict():
    v = mx.sym.var("x", shape=(2, 3), lr_mult=2.0, wd_mult=0.5, dtype="float16",
                   init=mx.init.Xavier(), attr={"mood": "good"})
    d = v.list_attr()
    assert d["__shape__"] == "(2, 3)" and d["__lr_mult__"] == "2.0"
    assert d["__dtype__"] == "2" and d["mood"] == "good" and v.attr("__wd_mult__") == "0.5"
    assert '"xavier"' in d["__init__"]
    fc = mx.sym.FullyConnected(v, num_hidden=3, name="fc", attr={"ctx_group": "g1"})
    assert fc.attr("num_hidden") == "3" and fc.attr("ctx_group") == "g1"
    assert set(fc.attr_dict()) >= {"x", "fc"}
    fc._set_attr(tag="t")
    assert fc.attr("tag") == "t"
    with pytest.raises(ValueError, match="__xxx__"):
        mx.sym.var("y", foo=1)


def test_unknown_argument_and_bad_inputs():
    x = mx.sym.var("x")
    with pytest.raises(MXNetError, match="unknown argument"):
        mx.sym.FullyConnected(x, num_hidden=2, nonsense=3)
    with pytest.raises(TypeError, match="must be a Symbol"):
        mx.sym.FullyConnected(nd.ones((2, 2)), num_hidden=2)
    with pytest.raises(MXNetError, match="group"):
        mx.sym.relu(mx.sym.Group([x, x]))


def test_methods_and_creation_functions():
    x = mx.sym.var("x")
    assert x.reshape((0, -1)).infer_shape(x=(2, 3, 4))[1] == [(2, 12)]
    assert x.sum(axis=1).infer_shape(x=(2, 3))[1] == [(2,)]
    assert x.T.infer_shape(x=(2, 3))[1] == [(3, 2)]
    assert mx.sym.zeros((2, 3)).infer_shape()[1] == [(2, 3)]
    assert mx.sym.maximum(x, 0).list_outputs()[0].startswith("_maximumscalar")
    out = (mx.sym.ones((2,)) * 3).eval()[0]
    assert out.asnumpy().tolist() == [3, 3]


def test_eval_bind_simple_bind_against_imperative():
    x = mx.sym.var("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(x, num_hidden=4, name="fc1"), act_type="tanh")
    y = mx.sym.FullyConnected(h, num_hidden=2, name="fc2")
    exe = y.simple_bind(mx.cpu(), data=(3, 5))
    rng = np.random.RandomState(0)
    for a in exe.arg_dict.values():
        a[:] = rng.randn(*a.shape)
    out = exe.forward(is_train=True)
    hg = nd.array(rng.randn(3, 2))
    exe.backward([hg])
    vals = {k: a.copy() for k, a in exe.arg_dict.items()}
    for v in vals.values():
        v.attach_grad()
    with mx.autograd.record():
        o = nd.FullyConnected(nd.tanh(nd.FullyConnected(vals["data"], vals["fc1_weight"],
                                                        vals["fc1_bias"], num_hidden=4)),
                              vals["fc2_weight"], vals["fc2_bias"], num_hidden=2)
    o.backward(hg)
    np.testing.assert_allclose(out[0].asnumpy(), o.asnumpy(), rtol=1e-6)
    for k, g in exe.grad_dict.items():
        np.testing.assert_allclose(g.asnumpy(), vals[k].grad.asnumpy(), rtol=1e-5, atol=1e-6)
    # grad_req 'add' accumulates, 'null' leaves no gradient array
    exe2 = y.simple_bind(mx.cpu(), grad_req={"fc2_weight": "add"}, data=(3, 5))
    for k, a in exe2.arg_dict.items():
        a[:] = exe.arg_dict[k]
    for _ in range(2):
        exe2.forward(is_train=True)
        exe2.backward([hg])
    np.testing.assert_allclose(exe2.grad_dict["fc2_weight"].asnumpy(),
                               2 * vals["fc2_weight"].grad.asnumpy(), rtol=1e-5, atol=1e-6)
    assert "fc1_weight" not in exe2.grad_dict
    res = y.eval(ctx=mx.cpu(), **{k: v.detach() for k, v in vals.items()})
    np.testing.assert_allclose(res[0].asnumpy(), o.asnumpy(), rtol=1e-6)
    with pytest.raises(MXNetError, match="forward\\(is_train=True\\)"):
        y.simple_bind(mx.cpu(), data=(3, 5)).backward()


def test_bind_with_explicit_arrays_and_aux():
    x = mx.sym.var("x")
    s = mx.sym.BatchNorm(x, fix_gamma=False, name="bn")
    args = {"x": nd.array(np.random.randn(4, 3)), "bn_gamma": nd.ones(3), "bn_beta": nd.zeros(3)}
    aux = {"bn_moving_mean": nd.zeros(3), "bn_moving_var": nd.ones(3)}
    grads = {k: nd.zeros(v.shape) for k, v in args.items()}
    exe = s.bind(mx.cpu(), args, args_grad=grads, aux_states=aux)
    exe.forward(is_train=True)
    exe.backward([nd.ones((4, 3))])
    # MXNet updates the moving statistics in backward (momentum 0.9)
    m = args["x"].asnumpy().mean(0)
    np.testing.assert_allclose(aux["bn_moving_mean"].asnumpy(), 0.1 * m, rtol=1e-5)
    with pytest.raises(MXNetError, match="missing"):
        s.bind(mx.cpu(), {"x": nd.ones((2, 3))})
