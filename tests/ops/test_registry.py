"""The registry itself: declarations, attribute parsing, generated nd functions, errors."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError
from gluonlite.ops import attrs as A, get_op, all_ops, REGISTRY, register
from gluonlite.ops.registry import Op


@pytest.mark.parametrize("typ,value,expected", [
    (A.Int, "5", 5), (A.Int, 5.0, 5), (A.Int, np.int64(3), 3),
    (A.Float, "1e-05", 1e-5), (A.Float, 2, 2.0),
    (A.Bool, "True", True), (A.Bool, "false", False), (A.Bool, 1, True), (A.Bool, "0", False),
    (A.Shape, "(2, 2)", (2, 2)), (A.Shape, "[3]", (3,)), (A.Shape, 4, (4,)), (A.Shape, "()", ()),
    (A.Shape, [1, 2], (1, 2)),
    (A.OptShape, "None", None), (A.OptShape, None, None), (A.OptShape, "(0,)", (0,)),
    (A.OptInt, "None", None), (A.OptInt, "3", 3), (A.OptFloat, "None", None),
    (A.DType, np.float16, "float16"), (A.DType, "int32", "int32"),
    (A.OptDType, "None", None), (A.Ctx, "cpu(1)", mx.cpu(1)), (A.Ctx, mx.gpu(0), mx.gpu(0)),
    (A.Enum("a", "b"), "b", "b"), (A.IntOrShape, "2", 2), (A.IntOrShape, (1, 2), (1, 2)),
])
def test_attr_parsing(typ, value, expected):
    assert typ.parse(value) == expected


@pytest.mark.parametrize("typ,value", [
    (A.Int, "x"), (A.Int, 2.5), (A.Int, True), (A.Float, "abc"), (A.Bool, "yes"),
    (A.Bool, 2), (A.Shape, "(a, b)"), (A.Shape, None), (A.Shape, (1.5,)), (A.DType, "bogus"),
    (A.Enum("a", "b"), "c"), (A.Ctx, "cpu"), (A.Str, 3),
])
def test_attr_parsing_rejects(typ, value):
    with pytest.raises(ValueError):
        typ.parse(value)


def test_attr_dump_matches_mxnet_strings():
    assert A.Shape.dump((2, 2)) == "(2, 2)" and A.Shape.dump((3,)) == "(3,)"
    assert A.Bool.dump(True) == "True" and A.Float.dump(1e-5) == "1e-05"
    assert A.OptShape.dump(None) == "None"
    op = get_op("sum")
    assert op.dump_attrs(op.parse_attrs({"axis": 1})) == {
        "axis": "(1,)", "keepdims": "False", "exclude": "False"}


def test_declaration_from_signature():
    op = get_op("broadcast_add")
    assert op.input_names == ("lhs", "rhs") and op.attr_order == ()
    s = get_op("sum")
    assert s.attr_order == ("axis", "keepdims", "exclude")
    assert s.attr_specs["keepdims"].default is False
    assert get_op("add_n").variadic == "args"
    assert get_op("plus_scalar" if "plus_scalar" in REGISTRY else "_plus_scalar") \
        .required_attrs == {"scalar"}
    assert get_op("broadcast_plus") is get_op("broadcast_add")
    names = [o.name for o in all_ops()]
    assert len(names) == len(set(names))


def test_every_operator_has_a_shape_rule_and_docstring():
    for op in all_ops():
        assert op._shape_fn is not None, f"{op.name} has no shape rule"
        assert (op.__doc__ or "").strip(), f"{op.name} has no docstring"


def test_registration_errors():
    with pytest.raises(TypeError, match="rt"):
        Op("bad", lambda x: x)
    with pytest.raises(TypeError, match="annotation"):
        Op("bad", lambda rt, x, *, k=1: x)
    with pytest.raises(ValueError, match="twice"):
        register("exp")(lambda rt, data: data)
    with pytest.raises(ValueError, match="index_inputs"):
        Op("bad", lambda rt, x: x, index_inputs=("y",))


def test_unknown_and_missing_arguments():
    with pytest.raises(MXNetError, match=r"unknown argument 'axes'.*axis"):
        nd.sum(nd.ones((2,)), axes=1)
    with pytest.raises(MXNetError, match="required argument 'scalar'"):
        nd._internal._plus_scalar(nd.ones((2,)))
    with pytest.raises(MXNetError, match="invalid value for argument 'keepdims'"):
        nd.sum(nd.ones((2,)), keepdims="maybe")
    with pytest.raises(MXNetError, match="not registered"):
        get_op("no_such_op")
    with pytest.raises(MXNetError, match="Did you mean"):
        get_op("broadcast_ad")


def test_generated_function_argument_binding():
    x = nd.array([[1.0, 2.0], [3.0, 4.0]])
    assert nd.sum(x, 1).asnumpy().tolist() == [3, 7]            # positional attribute
    assert nd.sum(data=x, axis=0).asnumpy().tolist() == [4, 6]  # inputs by name
    assert nd.broadcast_add(lhs=x, rhs=x).asnumpy()[0, 0] == 2
    with pytest.raises(TypeError, match="multiple values"):
        nd.sum(x, 1, axis=1)
    with pytest.raises(TypeError, match="at most"):
        nd.exp(x, 1)
    with pytest.raises(TypeError, match="'data' must be an NDArray"):
        nd.exp(np.ones(2))
    with pytest.raises(MXNetError, match="required input 'rhs'"):
        nd.broadcast_add(x)
    assert "keepdims" in nd.sum.__doc__ and nd.sum.__name__ == "sum"


def test_internal_and_op_namespaces():
    assert nd._internal._plus_scalar(nd.ones((1,)), scalar=2).asscalar() == 3
    assert nd.op.exp is nd.exp
    assert not hasattr(nd, "_plus_scalar")


def test_kernel_hook_declines_to_reference():
    from gluonlite import kernels
    # float16 is not handled by the compiled erf: the kernel declines, the reference runs
    x = nd.array([0.5, -0.25], dtype="float16")
    r = nd.erf(x)
    assert r.dtype == np.float16
    np.testing.assert_allclose(r.asnumpy(), [0.5205, -0.2763], rtol=1e-3)
    assert kernels.enabled()
