"""MXNet's graph JSON (``-symbol.json``): read MXNet's files, write files MXNet 1.x reads.

Layout: ``nodes`` (in topological order; ``op`` is ``"null"`` for variables; ``attrs``
holds operator parameters and node attributes as strings; ``inputs`` are ``[node, output,
version]``), ``arg_nodes`` (variable indices), ``node_row_ptr`` (cumulative output counts,
hidden outputs included), ``heads`` (the outputs) and ``attrs.mxnet_version``.
"""
from __future__ import annotations

import json

from ..base import FileFormatError, MXNetError
from ..ops import find_op
from ..ops.attrs import AnyAttr, brief_repr
from .symbol import Symbol, _Node, _topo, parse_dtype_attr, parse_shape_attr

__all__ = ["to_json", "from_json"]

MXNET_VERSION = 10901


def to_json(sym) -> str:
    """Serialise ``sym`` as MXNet 1.9 does."""
    order = _topo(sym._outputs)
    index = {id(n): i for i, n in enumerate(order)}
    nodes, arg_nodes, row_ptr = [], [], [0]
    for i, n in enumerate(order):
        entry = {"op": "null" if n.op is None else n.op.name, "name": n.name}
        attrs = {}
        if n.op is not None:
            attrs.update(n.op.dump_attrs({k: n.attrs[k] for k in n.given}))
        attrs.update(n.user)
        if attrs:
            entry["attrs"] = attrs
        aux = set(n.aux_positions())
        entry["inputs"] = [[index[id(src)], idx, 1 if k in aux else 0]
                           for k, (src, idx) in enumerate(n.inputs)]
        nodes.append(entry)
        if n.op is None:
            arg_nodes.append(i)
        row_ptr.append(row_ptr[-1] + n.num_outputs())
    doc = {"nodes": nodes, "arg_nodes": arg_nodes, "node_row_ptr": row_ptr,
           "heads": [[index[id(n)], i, 0] for n, i in sym._outputs],
           "attrs": {"mxnet_version": ["int", MXNET_VERSION]}}
    return json.dumps(doc, indent=2)


def from_json(text, source="JSON"):
    """Build a Symbol from MXNet graph JSON (MXNet's own files or ours).

    Anything that is not a valid graph raises :class:`~gluonlite.base.FileFormatError`
    naming ``source`` (the file name, or ``JSON`` for a string), the node and what is
    wrong. Nothing in the document is executed: operators are looked up by name in the
    registry and attribute strings are parsed as literals.
    """
    def fail(msg):
        raise FileFormatError(f"{source}: not a valid MXNet symbol file: {msg}")

    try:
        doc = json.loads(text)
    except ValueError as e:
        fail(f"not valid JSON ({e})")
    except RecursionError:
        fail("the JSON is nested too deeply")
    if not isinstance(doc, dict) or "nodes" not in doc or "heads" not in doc:
        fail("it is not an MXNet graph (needs 'nodes' and 'heads')")
    if not isinstance(doc["nodes"], list) or not isinstance(doc["heads"], list):
        fail("'nodes' and 'heads' must be lists")
    nodes = []
    for i, entry in enumerate(doc["nodes"]):
        nodes.append(_node(entry, i, nodes, fail))
    if not doc["heads"]:
        fail("'heads' is empty: the graph has no outputs")
    heads = [_entry(h, nodes, len(nodes), "head", fail) for h in doc["heads"]]
    return Symbol(heads)


def _entry(inp, nodes, limit, what, fail):
    """``(node, output index)`` of an ``[node, index, version]`` entry, checked."""
    if (not isinstance(inp, list) or not 2 <= len(inp) <= 3
            or not all(type(x) is int for x in inp)):
        fail(f"{what}: expected an entry [node, output, version] of ints, got "
             f"{brief_repr(inp)}")
    nid, idx = inp[0], inp[1]
    if not 0 <= nid < limit:
        fail(f"{what} refers to node {nid}, which is not before it")
    n_out = nodes[nid].num_outputs()
    if not 0 <= idx < n_out:
        fail(f"{what} refers to output {idx} of node {nid} ({nodes[nid].name!r}), which has "
             f"{n_out} output(s)")
    return nodes[nid], idx


def _node(entry, i, nodes, fail):
    """The ``_Node`` of ``nodes`` entry ``i`` (earlier nodes are ``nodes``), checked."""
    if not isinstance(entry, dict):
        fail(f"node {i} is not an object: {brief_repr(entry)}")
    opname, name = entry.get("op"), entry.get("name")
    if not isinstance(opname, str) or not isinstance(name, str):
        fail(f"node {i} needs string 'op' and 'name' fields: {brief_repr(entry)}")
    where = f"node {i} ({name!r})"
    raw_inputs = entry.get("inputs", [])
    if not isinstance(raw_inputs, list):
        fail(f"{where}: 'inputs' must be a list, got {brief_repr(raw_inputs)}")
    raw = {}
    for key in ("param", "attr", "attrs"):  # older MXNet versions used param/attr
        if key in entry and not isinstance(entry[key], dict):
            fail(f"{where}: {key!r} must be an object of strings, got {brief_repr(entry[key])}")
        raw.update(entry.get(key) or {})
    inputs = [_entry(inp, nodes, i, f"{where} input {k}", fail)
              for k, inp in enumerate(raw_inputs)]
    if opname == "null":
        if inputs:
            fail(f"{where} is a variable but has inputs")
        user = {k: str(v) for k, v in raw.items()}
        # checked here so that a bad file names itself, not a later inference step
        for key, parse in (("__shape__", parse_shape_attr), ("__dtype__", parse_dtype_attr)):
            if key in user:
                try:
                    parse(user[key])
                except ValueError as e:
                    fail(f"{where}: attribute {key}: {e}")
        return _Node(None, name, user=user)
    op = find_op(opname)
    if op is None:
        fail(f"{where} uses operator {brief_repr(opname)}, which gluonlite does not implement")
    if any(isinstance(spec.type, AnyAttr) for spec in op.attr_specs.values()):
        # internal operators whose attributes are Python objects never appear in a file
        fail(f"{where} uses the internal operator {op.name!r}, which no graph file holds")
    op_raw = {k: v for k, v in raw.items() if k in op.attr_specs}
    bad_type = [k for k, v in op_raw.items() if not isinstance(v, str)]
    if bad_type:
        fail(f"{where} ({op.name}): attribute values must be strings, got "
             f"{bad_type[0]}={brief_repr(op_raw[bad_type[0]])}")
    user = {k: str(v) for k, v in raw.items() if k not in op.attr_specs}
    bad = [k for k in user if not (k.startswith("__") and k.endswith("__"))
           and k not in _KNOWN_NODE_ATTRS]
    if bad:
        fail(f"{where} ({op.name}) has attributes {bad} that the operator does not take; it "
             f"takes {list(op.attr_order)}")
    try:
        attrs = op.parse_attrs(op_raw)
        n_in = None if op.variadic is not None and "num_args" not in op.attr_specs \
            else len(op.list_inputs(attrs))
        op.num_outputs(attrs)
    except MXNetError as e:
        fail(f"{where}: {e}")
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as e:
        # an operator's input/output rule met attribute values no valid file has
        fail(f"{where}: operator {op.name} cannot take its attributes: "
             f"{type(e).__name__}: {e}")
    if n_in is not None and len(inputs) != n_in:
        fail(f"{where} ({op.name}) has {len(inputs)} inputs; with its attributes it takes "
             f"{n_in}")
    return _Node(op, name, attrs, given=sorted(op_raw), user=user, inputs=inputs)


# node-level attributes MXNet attaches to operators (AttrScope, Gluon's lr/wd hints)
_KNOWN_NODE_ATTRS = {"ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage"}
