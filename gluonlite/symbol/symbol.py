"""``Symbol``: a static computation graph over the registered operators (MXNet's ``mx.sym``).

A Symbol is a list of output entries ``(node, index)``; a node is a variable (``op`` None)
or an operator application with its parsed attributes and input entries. Graph questions
(``list_arguments``, ``infer_shape``, JSON) walk the nodes reachable from the outputs in
MXNet's depth-first order, so names and orders match MXNet's.

Python operators follow MXNet's Symbol semantics, which differ from NDArray's: ``a + b``
on two Symbols is the *elementwise* ``_Plus`` (equal shapes), not a broadcast.
"""
from __future__ import annotations

import numpy as np

from ..base import FileFormatError, MXNetError, np_dtype, DTYPE_TO_FLAG, FLAG_TO_DTYPE
from ..fileio import atomic_write
from ..ops.attrs import literal
from ..util import is_np_shape

__all__ = ["Symbol", "var", "Variable", "Group", "load", "load_json"]


class _Node:
    """One graph node: a variable (``op is None``) or an operator application."""

    __slots__ = ("op", "name", "attrs", "given", "user", "inputs")

    def __init__(self, op, name, attrs=None, given=(), user=None, inputs=()):
        self.op = op
        self.name = name
        self.attrs = attrs if attrs is not None else {}
        self.given = tuple(given)          # attribute names given explicitly (for JSON)
        self.user = dict(user or {})       # node attributes as strings (__shape__, ...)
        self.inputs = list(inputs)         # [(node, output index)]

    @property
    def is_var(self):
        return self.op is None

    def num_outputs(self):
        return 1 if self.op is None else self.op.num_outputs(self.attrs)

    def output_names(self):
        if self.op is None:
            return [self.name]
        names = list(self.op.list_outputs(self.attrs))
        return [f"{self.name}_{n}" for n in names]

    def aux_positions(self):
        """Indices of inputs that are auxiliary states (BatchNorm's moving statistics)."""
        if self.op is None:
            return ()
        if hasattr(self.op, "aux_positions"):  # Custom: the aux states depend on attributes
            return self.op.aux_positions(self.attrs)
        if not self.op.aux_names:
            return ()
        names = self.op.list_inputs(self.attrs)
        return tuple(i for i, n in enumerate(names) if n in self.op.aux_names)

    def __repr__(self):
        return f"<Node {self.op.name if self.op else 'null'} {self.name}>"


def _topo(outputs):
    """Nodes reachable from ``outputs`` in MXNet's DFS post-order (inputs in order)."""
    order, seen = [], set()
    for node, _ in outputs:
        stack = [(node, 0)]
        while stack:
            n, i = stack.pop()
            if i == 0:
                if id(n) in seen:
                    continue
                seen.add(id(n))
            if i < len(n.inputs):
                stack.append((n, i + 1))
                child = n.inputs[i][0]
                if id(child) not in seen:
                    stack.append((child, 0))
            else:
                order.append(n)
    return order


def _aux_var_ids(order):
    ids = set()
    for n in order:
        for i in n.aux_positions():
            src = n.inputs[i][0]
            if src.op is None:
                ids.add(id(src))
    return ids


def _shape_str(shape):
    return str(tuple(int(s) for s in shape))


class Symbol:
    """A symbolic graph with one or more outputs (MXNet's ``mx.sym.Symbol``)."""

    __slots__ = ("_outputs", "__weakref__")

    def __init__(self, outputs):
        self._outputs = list(outputs)

    # --- structure --------------------------------------------------------------------------
    def _single(self, what):
        if len(self._outputs) != 1:
            raise MXNetError(f"{what} needs a single-output Symbol, this one has "
                             f"{len(self._outputs)} outputs")
        return self._outputs[0]

    @property
    def name(self):
        """The name of the node all outputs come from (a multi-output operator's too, as
        MXNet); None for a group of several nodes."""
        nodes = {id(n) for n, _ in self._outputs}
        if len(nodes) != 1:
            return None
        return self._outputs[0][0].name

    def _order(self):
        return _topo(self._outputs)

    def list_arguments(self):
        """Names of the input variables that are not auxiliary states, in graph order."""
        order = self._order()
        aux = _aux_var_ids(order)
        return [n.name for n in order if n.op is None and id(n) not in aux]

    def list_auxiliary_states(self):
        """Names of the auxiliary-state variables (e.g. BatchNorm's moving statistics)."""
        order = self._order()
        aux = _aux_var_ids(order)
        return [n.name for n in order if n.op is None and id(n) in aux]

    def list_inputs(self):
        """Names of every input variable (arguments and auxiliary states)."""
        return [n.name for n in self._order() if n.op is None]

    def list_outputs(self):
        """Output names: ``node_output`` for operators (``fc1_output``), the name for
        variables."""
        return [node.output_names()[i] for node, i in self._outputs]

    def get_internals(self):
        """A Symbol grouping every output of every node of the graph, in graph order."""
        outs = []
        for n in self._order():
            outs.extend((n, i) for i in range(len(n.output_names())))
        return Symbol(outs)

    def get_children(self):
        """A Symbol grouping the inputs of this symbol's output node(s) (None for a
        variable)."""
        ins = []
        for node, _ in self._outputs:
            ins.extend(node.inputs)
        return Symbol(ins) if ins else None

    def __getitem__(self, index):
        if isinstance(index, str):
            names = self.list_outputs()
            if index not in names:
                raise ValueError(f"Cannot find output that matches name {index!r}; outputs are "
                                 f"{names}")
            index = names.index(index)
        if isinstance(index, slice):
            return Symbol(self._outputs[index])
        if not isinstance(index, int):
            raise TypeError(f"Symbol index must be an int, a str or a slice, got "
                            f"{type(index).__name__}")
        n = len(self._outputs)
        if not -n <= index < n:
            raise IndexError(f"Symbol output index {index} is out of range ({n} outputs)")
        return Symbol([self._outputs[index]])

    def __iter__(self):
        return (Symbol([o]) for o in self._outputs)

    def __len__(self):
        return len(self._outputs)

    def __repr__(self):
        name = self.name
        if name is None:
            return "<Symbol group [" + ", ".join(n.name for n, _ in self._outputs) + "]>"
        return f"<Symbol {name}>"

    __str__ = __repr__

    def __copy__(self):
        return Symbol(self._outputs)

    def __deepcopy__(self, memo):
        return load_json(self.tojson())

    def __reduce__(self):
        return (load_json, (self.tojson(),))

    __hash__ = object.__hash__

    # --- attributes -------------------------------------------------------------------------
    def attr(self, key):
        """The attribute ``key`` of this symbol's node, as a string (None if unset)."""
        node = self._single("attr")[0]
        d = self._node_attrs(node)
        return d.get(key)

    @staticmethod
    def _node_attrs(node):
        d = {}
        if node.op is not None:
            d.update(node.op.dump_attrs({k: node.attrs[k] for k in node.given}))
        d.update(node.user)
        return d

    def list_attr(self, recursive=False):
        """This node's attributes as strings (``recursive``: see ``attr_dict``)."""
        if recursive:
            raise DeprecationWarning("list_attr(recursive=True) is deprecated; use attr_dict()")
        return self._node_attrs(self._single("list_attr")[0])

    def attr_dict(self):
        """``{node name: {attribute: value}}`` for every node with attributes."""
        out = {}
        for n in self._order():
            d = self._node_attrs(n)
            if d:
                out[n.name] = d
        return out

    def _set_attr(self, **kwargs):
        """Set string attributes on this symbol's node."""
        node = self._single("_set_attr")[0]
        for k, v in kwargs.items():
            if not isinstance(v, str):
                raise ValueError(f"attribute {k!r}: values must be strings, got {v!r}")
            node.user[k] = v

    # --- inference --------------------------------------------------------------------------
    def infer_shape(self, *args, **kwargs):
        """``(arg_shapes, out_shapes, aux_shapes)`` from input shapes given positionally (in
        ``list_arguments`` order) or by name; ``(None, None, None)`` if not all can be
        inferred."""
        from .infer import infer_shapes
        res = infer_shapes(self, args, kwargs, partial=False)
        return res

    def infer_shape_partial(self, *args, **kwargs):
        """Like ``infer_shape`` but returns what it could infer: unknown shapes are ``()``
        and unknown dimensions 0 (legacy semantics, the default), or None and -1 under
        ``mx.np_shape()``, as MXNet returns them."""
        from .infer import infer_shapes
        return infer_shapes(self, args, kwargs, partial=True)

    def infer_type(self, *args, **kwargs):
        """``(arg_types, out_types, aux_types)`` as numpy types, from input dtypes."""
        from .infer import infer_types
        return infer_types(self, args, kwargs)

    # --- serialisation ----------------------------------------------------------------------
    def tojson(self):
        """The graph in MXNet's JSON format (loadable by MXNet 1.x)."""
        from .json import to_json
        return to_json(self)

    def save(self, fname, remove_amp_cast=True):
        """Write ``tojson()`` to ``fname``, atomically: the JSON is written to a temporary
        file beside it that replaces ``fname`` only once complete, so a failed save leaves
        the old file as it was (``OSError`` naming the file when it cannot be written)."""
        if not isinstance(fname, str):
            raise TypeError(f"fname: expected a str, got {type(fname).__name__}")
        atomic_write(fname, self.tojson(), fn="Symbol.save")

    # --- execution --------------------------------------------------------------------------
    def bind(self, ctx, args, args_grad=None, grad_req="write", aux_states=None,
             group2ctx=None, shared_exec=None):
        """An Executor running this graph on the given arrays (MXNet's ``bind``)."""
        from .executor import Executor
        return Executor.bind(self, ctx, args, args_grad, grad_req, aux_states)

    def simple_bind(self, ctx, grad_req="write", type_dict=None, stype_dict=None,
                    group2ctx=None, shared_arg_names=None, shared_exec=None,
                    shared_buffer=None, **kwargs):
        """An Executor with freshly allocated arrays for the input shapes in ``kwargs``."""
        from .executor import Executor
        return Executor.simple_bind(self, ctx, grad_req, type_dict, kwargs)

    def eval(self, ctx=None, **kwargs):
        """Evaluate with NDArray inputs given by name; returns the list of outputs."""
        from ..context import current_context
        ctx = ctx or current_context()
        exe = self.bind(ctx, kwargs)
        return exe.forward()

    # --- operators (MXNet Symbol semantics: elementwise, not broadcasting) --------------------
    def _bin(self, other, op, sop, reverse_sop=None, reverse=False):
        from .register import create
        if isinstance(other, Symbol):
            return create(op, [other, self] if reverse else [self, other], {})
        if isinstance(other, (int, float, np.generic)) and not isinstance(other, bool):
            return create(reverse_sop if reverse and reverse_sop else sop, [self],
                          {"scalar": float(other)})
        return NotImplemented

    def __add__(self, o):
        return self._bin(o, "_Plus", "_PlusScalar")

    def __radd__(self, o):
        return self._bin(o, "_Plus", "_PlusScalar")

    def __sub__(self, o):
        return self._bin(o, "_Minus", "_MinusScalar")

    def __rsub__(self, o):
        return self._bin(o, "_Minus", "_MinusScalar", "_RMinusScalar", reverse=True)

    def __mul__(self, o):
        return self._bin(o, "_Mul", "_MulScalar")

    def __rmul__(self, o):
        return self._bin(o, "_Mul", "_MulScalar")

    def __truediv__(self, o):
        return self._bin(o, "_Div", "_DivScalar")

    def __rtruediv__(self, o):
        return self._bin(o, "_Div", "_DivScalar", "_RDivScalar", reverse=True)

    __div__ = __truediv__
    __rdiv__ = __rtruediv__

    def __mod__(self, o):
        return self._bin(o, "_Mod", "_ModScalar")

    def __rmod__(self, o):
        return self._bin(o, "_Mod", "_ModScalar", "_RModScalar", reverse=True)

    def __pow__(self, o):
        return self._bin(o, "_Power", "_PowerScalar")

    def __rpow__(self, o):
        return self._bin(o, "_Power", "_PowerScalar", "_RPowerScalar", reverse=True)

    def __neg__(self):
        return self.__mul__(-1.0)

    def __abs__(self):
        from .register import create
        return create("abs", [self], {})

    def __eq__(self, o):
        return self._bin(o, "_equal", "_equal_scalar")

    def __ne__(self, o):
        return self._bin(o, "_not_equal", "_not_equal_scalar")

    def __gt__(self, o):
        return self._bin(o, "_greater", "_greater_scalar")

    def __ge__(self, o):
        return self._bin(o, "_greater_equal", "_greater_equal_scalar")

    def __lt__(self, o):
        return self._bin(o, "_lesser", "_lesser_scalar")

    def __le__(self, o):
        return self._bin(o, "_lesser_equal", "_lesser_equal_scalar")

    def __bool__(self):
        raise NotImplementedError("The truth value of a Symbol is not defined: Symbols have no "
                                  "values until bound and executed")

    def reshape(self, *shape, **kwargs):
        """Reshape with MXNet's special codes (``sym.reshape((0, -1))``)."""
        from .register import create
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = tuple(shape[0])
        if shape:
            kwargs["shape"] = shape
        return create("Reshape", [self], kwargs)

    @property
    def T(self):
        from .register import create
        return create("transpose", [self], {})

    def astype(self, dtype):
        from .register import create
        return create("Cast", [self], {"dtype": dtype})


def var(name, attr=None, shape=None, lr_mult=None, wd_mult=None, dtype=None, init=None,
        stype=None, **kwargs):
    """A variable (graph input) named ``name`` with optional shape/dtype/init/lr_mult/
    wd_mult hints stored as MXNet's ``__shape__``-style attributes."""
    if not isinstance(name, str):
        raise TypeError(f"name: expected a str, got {type(name).__name__}")
    user = {}
    if attr:
        if not isinstance(attr, dict):
            raise TypeError("attr: expected a dict of str -> str")
        user.update({k: str(v) for k, v in attr.items()})
    if shape is not None:
        shape = (shape,) if isinstance(shape, int) else shape
        if not isinstance(shape, (tuple, list)) or not all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= -1
                for d in shape):
            raise ValueError(f"var {name!r}: shape must be a tuple of ints >= -1 (0 or -1 for "
                             f"an unknown dimension), got {shape!r}")
        user["__shape__"] = _shape_str(shape)
    if lr_mult is not None:
        user["__lr_mult__"] = str(float(lr_mult))
    if wd_mult is not None:
        user["__wd_mult__"] = str(float(wd_mult))
    if dtype is not None:
        user["__dtype__"] = str(DTYPE_TO_FLAG[np_dtype(dtype)])
    if init is not None:
        if not isinstance(init, str):
            init = init.dumps()
        user["__init__"] = init
    if stype is not None and stype != "default":
        raise MXNetError(f"var: stype {stype!r} is not supported (dense 'default' only)")
    for k, v in kwargs.items():
        if k.startswith("__") and k.endswith("__"):
            user[k] = str(v)
        else:
            raise ValueError(f"var: attribute {k!r} must be of the form __xxx__")
    return Symbol([(_Node(None, name, user=user), 0)])


Variable = var


def Group(symbols):
    """One Symbol whose outputs are the outputs of ``symbols``, in order."""
    # MXNet rejects a bare Symbol too (it would iterate over its outputs here)
    if isinstance(symbols, Symbol) or not isinstance(symbols, (list, tuple)):
        raise TypeError(f"Group: expected a list of Symbols as input, got "
                        f"{type(symbols).__name__}" + (" (wrap it: Group([sym]))"
                                                       if isinstance(symbols, Symbol) else ""))
    if not symbols:
        raise TypeError("Group: expected a non-empty list of Symbols, got an empty list")
    for i, s in enumerate(symbols):
        if not isinstance(s, Symbol):
            raise TypeError(f"Group: expected a list of Symbols as input, element {i} is a "
                            f"{type(s).__name__}")
    outs = []
    for s in symbols:
        outs.extend(s._outputs)
    return Symbol(outs)


def load(fname):
    """Load a Symbol from an MXNet ``-symbol.json`` file.

    A file that is not a valid graph (not UTF-8 JSON, malformed nodes, unknown operators,
    bad attributes such as ``__shape__``/``__dtype__``) raises
    :class:`~gluonlite.base.FileFormatError` naming the file, the node and what is wrong.
    Loading never executes anything from the file: operator names are looked up in
    gluonlite's registry and attributes are parsed as literals.
    """
    if not isinstance(fname, str):
        raise TypeError(f"fname: expected a str, got {type(fname).__name__}")
    with open(fname, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileFormatError(f"{fname}: not a valid MXNet symbol file: it is not UTF-8 text "
                              f"(byte 0x{raw[e.start]:02x} at offset {e.start})") from None
    from .json import from_json
    return from_json(text, source=fname)


def load_json(json_str):
    """Load a Symbol from MXNet graph JSON text."""
    from .json import from_json
    return from_json(json_str)


# A graph node's __shape__ is at most this many dimensions (NumPy's own limit), so a
# crafted attribute cannot make shape inference build absurd tuples.
_MAX_NDIM = 64


def parse_shape_attr(s):
    """The shape tuple of a ``__shape__`` attribute string such as ``"(0, 3)"``, as written
    (-1 is an unknown dimension; 0 one too under legacy shape semantics, see
    :func:`_var_shape`). Raises ``ValueError`` saying what is wrong."""
    t = literal(s, "a shape tuple such as '(2, 3)'")
    if not isinstance(t, (tuple, list)):
        t = (t,)
    if len(t) > _MAX_NDIM:
        raise ValueError(f"expected at most {_MAX_NDIM} dimensions, got {len(t)}")
    if not all(type(d) is int and d >= -1 for d in t):
        raise ValueError(f"expected a tuple of non-negative ints (-1, or under legacy "
                         f"shape semantics 0, for an unknown dimension), got {s!r}")
    return tuple(t)


def parse_dtype_attr(s):
    """The dtype name of a ``__dtype__`` attribute (an mshadow type flag such as ``"0"``
    for float32). Raises ``ValueError`` saying what is wrong."""
    try:
        flag = int(str(s).strip())
    except ValueError:
        raise ValueError(f"expected an mshadow type flag (0 for float32), got {s!r}") from None
    if flag not in FLAG_TO_DTYPE:
        raise ValueError(f"unknown type flag {flag}; known flags are "
                         + ", ".join(f"{k} ({v.name})" for k, v in FLAG_TO_DTYPE.items()))
    return FLAG_TO_DTYPE[flag].name


def _var_shape(node):
    """A variable's ``__shape__`` in the compiler's form (None unknown, -1 an unknown
    dimension), read as MXNet reads it when inference runs: under legacy shape semantics
    ``()`` is an unknown shape and 0 an unknown dimension; under ``mx.np_shape()`` they are
    a scalar and a real zero size."""
    s = node.user.get("__shape__")
    if s is None:
        return None
    try:
        t = parse_shape_attr(s)
    except ValueError as e:
        raise MXNetError(f"variable {node.name!r}: invalid attribute __shape__: {e}") from None
    if is_np_shape():
        return t
    return tuple(d if d > 0 else -1 for d in t) if t else None


def _var_dtype(node):
    d = node.user.get("__dtype__")
    if d is None:
        return None
    try:
        return parse_dtype_attr(d)
    except ValueError as e:
        raise MXNetError(f"variable {node.name!r}: invalid attribute __dtype__: {e}") from None
