"""MXNet's graph JSON (``-symbol.json``): read MXNet's files, write files MXNet 1.x reads.

Layout: ``nodes`` (in topological order; ``op`` is ``"null"`` for variables; ``attrs``
holds operator parameters and node attributes as strings; ``inputs`` are ``[node, output,
version]``), ``arg_nodes`` (variable indices), ``node_row_ptr`` (cumulative output counts,
hidden outputs included), ``heads`` (the outputs) and ``attrs.mxnet_version``.
"""
from __future__ import annotations

import json

from ..base import MXNetError
from ..ops import find_op
from .symbol import Symbol, _Node, _topo

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
    """Build a Symbol from MXNet graph JSON (MXNet's own files or ours)."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise MXNetError(f"{source}: not valid JSON ({e})") from None
    if not isinstance(doc, dict) or "nodes" not in doc or "heads" not in doc:
        raise MXNetError(f"{source}: not an MXNet symbol file (needs 'nodes' and 'heads')")
    nodes = []
    for i, entry in enumerate(doc["nodes"]):
        try:
            opname, name = entry["op"], entry["name"]
            raw_inputs = entry.get("inputs", [])
        except (KeyError, TypeError):
            raise MXNetError(f"{source}: node {i} is malformed: {entry!r}") from None
        raw = {}
        for key in ("param", "attr", "attrs"):  # older MXNet versions used param/attr
            if isinstance(entry.get(key), dict):
                raw.update(entry[key])
        inputs = []
        for inp in raw_inputs:
            nid, idx = int(inp[0]), int(inp[1])
            if not 0 <= nid < i:
                raise MXNetError(f"{source}: node {i} ({name}) refers to node {nid}, which is "
                                 "not before it")
            inputs.append((nodes[nid], idx))
        if opname == "null":
            nodes.append(_Node(None, name, user={k: str(v) for k, v in raw.items()}))
            continue
        op = find_op(opname)
        if op is None:
            raise MXNetError(f"{source}: node {name!r} uses operator {opname!r}, which gluonlite "
                             "does not implement")
        op_raw = {k: v for k, v in raw.items() if k in op.attr_specs}
        user = {k: str(v) for k, v in raw.items() if k not in op.attr_specs}
        bad = [k for k in user if not (k.startswith("__") and k.endswith("__"))
               and k not in _KNOWN_NODE_ATTRS]
        if bad:
            raise MXNetError(f"{source}: node {name!r} ({op.name}) has attributes {bad} that "
                             f"the operator does not take; it takes {list(op.attr_order)}")
        attrs = op.parse_attrs(op_raw)
        nodes.append(_Node(op, name, attrs, given=sorted(op_raw), user=user, inputs=inputs))
    heads = []
    for h in doc["heads"]:
        nid, idx = int(h[0]), int(h[1])
        if not 0 <= nid < len(nodes):
            raise MXNetError(f"{source}: head refers to missing node {nid}")
        heads.append((nodes[nid], idx))
    return Symbol(heads)


# node-level attributes MXNet attaches to operators (AttrScope, Gluon's lr/wd hints)
_KNOWN_NODE_ATTRS = {"ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage"}
