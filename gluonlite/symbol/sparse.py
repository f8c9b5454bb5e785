"""``mx.sym.sparse``: MXNet 1.9.1's symbolic sparse namespace (``mxnet.symbol.sparse``).

In MXNet these are the ordinary operators under the names that have a sparse storage
implementation (``dot``, ``retain``, ``cast_storage``, elementwise arithmetic, ``Embedding``
with ``sparse_grad``, the optimizer updates with ``lazy_update``...). gluonlite's compiled
graphs hold dense arrays only, so every function here builds the same node as its dense
counterpart and the graph computes the dense result, which has the same values:

* storage-type hints (``forward_stype=`` of ``dot``, ``stype=`` of ``cast_storage``) are
  checked (``'default'``, ``'row_sparse'`` or ``'csr'``) and otherwise ignored;
* ``cast_storage(data, stype)`` is an identity node (``_copy``) that keeps the requested
  storage type as the node attribute ``__storage_type__``;
* ``retain(data, indices)`` keeps the rows listed in ``indices`` and zeroes the others
  (operator ``_sparse_retain``).

Sparse *arrays* (``CSRNDArray``, ``RowSparseNDArray``) are imperative: ``mx.nd.sparse``.
Binding a graph built here with sparse arrays feeds their dense values.
"""
from __future__ import annotations

from ..unsupported import namespace_getattr as _namespace_getattr

from ..base import MXNetError
from ..ops import REGISTRY as _REGISTRY
from .register import create as _create, make_function as _make_function

_STYPES = (None, "default", "row_sparse", "csr")

# MXNet's sym.sparse name -> the registered operator it builds
_OPS = {
    "ElementWiseSum": "add_n", "add_n": "add_n", "Embedding": "Embedding",
    "FullyConnected": "FullyConnected", "LinearRegressionOutput": "LinearRegressionOutput",
    "LogisticRegressionOutput": "LogisticRegressionOutput",
    "MAERegressionOutput": "MAERegressionOutput", "concat": "Concat",
    "stop_gradient": "BlockGrad", "make_loss": "make_loss", "retain": "_sparse_retain",
    "adagrad_update": "_sparse_adagrad_update",
    "broadcast_add": "broadcast_add", "broadcast_plus": "broadcast_add",
    "broadcast_sub": "broadcast_sub", "broadcast_minus": "broadcast_sub",
    "broadcast_mul": "broadcast_mul", "broadcast_div": "broadcast_div",
    "elemwise_add": "elemwise_add", "elemwise_sub": "elemwise_sub",
    "elemwise_mul": "elemwise_mul", "elemwise_div": "elemwise_div",
}
_SAME = """abs arccos arccosh arcsin arcsinh arctan arctanh cbrt ceil clip cos cosh degrees dot
exp expm1 fix floor gamma gammaln log log10 log1p log2 mean negative norm radians relu rint
round rsqrt sigmoid sign sin sinh slice sqrt square sum tan tanh trunc where zeros_like
sgd_update sgd_mom_update adam_update ftrl_update""".split()


def _check_stype(fname, arg, value):
    if value not in _STYPES:
        raise MXNetError(f"sparse.{fname}: {arg} must be 'default', 'row_sparse' or 'csr', "
                         f"got {value!r}")


def _wrap(mxname, opname):
    fn = _make_function(opname)
    takes_fstype = "forward_stype" in _REGISTRY[opname].attr_specs

    def f(*args, **kwargs):
        if "forward_stype" in kwargs:
            _check_stype(mxname, "forward_stype", kwargs["forward_stype"])
            if not takes_fstype:  # a storage hint only: the graph computes dense values
                kwargs.pop("forward_stype")
        return fn(*args, **kwargs)

    f.__name__ = mxname
    f.__doc__ = (f"``{opname}`` (MXNet's ``sym.sparse.{mxname}``), computed with dense "
                 f"arrays; storage-type hints are checked and ignored.\n\n"
                 + (_REGISTRY[opname].__doc__ or ""))
    return f


def cast_storage(data, stype, name=None, attr=None):
    """MXNet's ``sym.sparse.cast_storage``: in gluonlite's dense graphs an identity node
    (``_copy``) recording ``stype`` as its ``__storage_type__`` attribute."""
    _check_stype("cast_storage", "stype", stype)
    if stype is None:
        raise MXNetError("sparse.cast_storage: stype is required ('default', 'row_sparse' "
                         "or 'csr')")
    node_attr = dict(attr or {})
    node_attr["__storage_type__"] = stype
    return _create("_copy", [data], {}, name=name, attr=node_attr)


def _install():
    names = ["cast_storage"]
    for mxname, opname in list(_OPS.items()) + [(n, n) for n in _SAME]:
        if opname in _REGISTRY:  # an update operator another module may not provide
            globals()[mxname] = _wrap(mxname, opname)
            names.append(mxname)
    return sorted(names)


__all__ = _install()


# names MXNet has and gluonlite lacks fail naming the reason (gluonlite/unsupported.py)
__getattr__ = _namespace_getattr("sym.sparse", __name__)
