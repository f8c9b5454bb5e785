"""Generate ``sym.<op>`` functions from the operator registry and create operator nodes.

Calling ``sym.FullyConnected(data, num_hidden=10, name='fc1')`` makes one node named by the
current NameManager (``fullyconnected0`` without ``name``, prefixed inside a Gluon
``name_scope``), creating variables for missing inputs (``fc1_weight``, ``fc1_bias``) as
MXNet does.
"""
from __future__ import annotations

from .. import name as _name
from ..base import MXNetError
from ..ops import get_op
from .symbol import Symbol, _Node

__all__ = ["create", "make_function"]

_CACHE: dict = {}


def _entry(op, what, s):
    if not isinstance(s, Symbol):
        raise TypeError(f"{op.name}: input {what!r} must be a Symbol, got {type(s).__name__}")
    if len(s._outputs) != 1:
        raise MXNetError(f"{op.name}: input {what!r} is a group of {len(s._outputs)} outputs; "
                         "pick one with [i]")
    return s._outputs[0]


def create(fname, inputs, kwargs, name=None, attr=None, given_inputs=None):
    """Make a node for operator ``fname`` (name or alias) with ``inputs`` (a list of Symbols
    in input order, or a dict by input name) and attribute ``kwargs``."""
    op = get_op(fname)
    kwargs = dict(kwargs)
    attr = _hidden(op, kwargs, attr)
    if op.variadic is not None:
        ins = list(inputs)
        if "num_args" in op.attr_specs:
            kwargs.setdefault("num_args", len(ins))
        attrs = op.parse_attrs(kwargs)
        entries = [_entry(op, f"arg{i}", s) for i, s in enumerate(ins)]
        node_name = _name.current().get(name, fname.lower())
        node = _Node(op, node_name, attrs, given=sorted(kwargs), user=_user(attr),
                     inputs=entries)
        return Symbol([(node, i) for i in range(op.num_visible_outputs(attrs))])
    attrs = op.parse_attrs(kwargs)
    names = op.list_inputs(attrs)
    by_name = inputs if isinstance(inputs, dict) else dict(zip(op.input_names, inputs))
    unknown = set(by_name) - set(op.input_names)
    if unknown:
        raise MXNetError(f"{op.name}: unknown inputs {sorted(unknown)}")
    node_name = _name.current().get(name, fname.lower())
    user = _user(attr)
    entries = []
    for n in names:
        s = by_name.get(n)
        if s is None:
            # MXNet creates the missing input as a variable carrying the node's attributes
            v = _Node(None, f"{node_name}_{n}",
                      user={**op.dump_attrs({k: attrs[k] for k in kwargs}), **user})
            entries.append((v, 0))
        else:
            entries.append(_entry(op, n, s))
    extra = [n for n in by_name if by_name[n] is not None and n not in names]
    if extra:
        raise MXNetError(f"{op.name}: with these attributes the inputs are {list(names)}, but "
                         f"{extra} was given too")
    node = _Node(op, node_name, attrs, given=sorted(kwargs), user=user, inputs=entries)
    return Symbol([(node, i) for i in range(op.num_visible_outputs(attrs))])


# node attributes MXNet accepts as plain keyword arguments and stores as __key__
_HIDDEN_KEYS = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage",
                "profiler_scope")


def _hidden(op, kwargs, attr):
    """Move MXNet's hidden attributes (``__layout__``, ``__lr_mult__``, ..., and
    ``lr_mult=`` style keys) out of ``kwargs`` into the node's attributes, as MXNet's
    symbol creation does; returns the node attribute dict."""
    user = dict(attr) if isinstance(attr, dict) else attr
    for k in list(kwargs):
        if k in op.attr_specs or k in op.input_names:
            continue
        if len(k) > 4 and k.startswith("__") and k.endswith("__"):
            user = user if user is not None else {}
            user[k] = str(kwargs.pop(k))
        elif k in _HIDDEN_KEYS:
            user = user if user is not None else {}
            user[f"__{k}__"] = str(kwargs.pop(k))
        else:
            for h in _HIDDEN_KEYS:
                if k.endswith("_" + h):
                    raise MXNetError(f"setting variable attributes with {k} is deprecated. "
                                     f"please instead use\nw = Variable({h}=...)\n"
                                     f"sym = sym_function(..., {k[:-len(h) - 1]}=w)")
    return user


def _user(attr):
    if not attr:
        return {}
    if not isinstance(attr, dict):
        raise TypeError("attr: expected a dict of str -> str")
    return {k: str(v) for k, v in attr.items()}


def make_function(fname):
    """The ``sym`` function for operator name (or alias) ``fname``."""
    fn = _CACHE.get(fname)
    if fn is not None:
        return fn
    op = get_op(fname)
    n_in = len(op.input_names)
    order = op.attr_order

    def f(*args, name=None, attr=None, **kwargs):
        if op.variadic is not None:
            ins = list(args)
            if len(ins) == 1 and isinstance(ins[0], (list, tuple)):
                ins = list(ins[0])
            return create(fname, ins, kwargs, name, attr)
        ins = {}
        for i, a in enumerate(args):
            if i < n_in:
                if a is not None:
                    ins[op.input_names[i]] = a
            else:
                k = order[i - n_in] if i - n_in < len(order) else None
                if k is None:
                    raise TypeError(f"{op.name}: too many positional arguments")
                if k in kwargs:
                    raise TypeError(f"{op.name}: got multiple values for argument {k!r}")
                kwargs[k] = a
        for k in list(kwargs):
            if k in op.input_names:
                v = kwargs.pop(k)
                if v is not None:
                    ins[k] = v
        return create(fname, ins, kwargs, name, attr)

    f.__name__ = fname
    from ..ndarray.register import _doc
    f.__doc__ = _doc(op).replace("NDArray", "Symbol")
    _CACHE[fname] = f
    return f
