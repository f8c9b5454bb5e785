"""``mx.viz``: text summaries and Graphviz drawings of Symbols (MXNet's ``mx.visualization``).

``print_summary`` prints MXNet's table (layer, output shape, parameter count, previous
layer); parameter counts come from the inferred shapes of each operator's parameter inputs.
``plot_network`` returns a :class:`Digraph` holding Graphviz DOT source — variables as
boxes, operators as ellipses — which renders to SVG/PDF/PNG when the ``dot`` program is
installed (no Python graphviz package needed).
"""
from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np

from .base import MXNetError
from .fileio import atomic_write
from .symbol.symbol import Symbol, _topo

__all__ = ["print_summary", "plot_network", "Digraph"]

_PARAM_SUFFIXES = ("_weight", "_bias", "_gamma", "_beta", "_moving_mean", "_moving_var",
                   "_running_mean", "_running_var", "_alpha")


def _shapes(symbol, shape):
    internals = symbol.get_internals()
    _, out_shapes, _ = internals.infer_shape_partial(**shape)
    shape_of = dict(zip(internals.list_outputs(), out_shapes))
    return shape_of


def print_summary(symbol, shape=None, line_length=120, positions=(.44, .64, .74, 1.)):
    """Print each operator's output shape, parameter count and predecessors.

    ``shape``: dict of input name -> shape (without it no shapes or counts are shown).
    """
    if not isinstance(symbol, Symbol):
        raise TypeError("symbol must be Symbol")
    shape_of = _shapes(symbol, shape) if shape is not None else {}
    if shape is not None and any(not shape_of.get(n) for n in symbol.list_outputs()):
        raise ValueError("Input shape is incomplete")
    positions = [int(line_length * p) if p <= 1 else int(p) for p in positions]

    def row(fields):
        line = ""
        for f, pos in zip(fields, positions):
            line += str(f)
            line = line[:pos]
            line += " " * (pos - len(line))
        print(line)

    print("_" * line_length)
    row(["Layer (type)", "Output Shape", "Param #", "Previous Layer"])
    print("=" * line_length)
    order = _topo(symbol._outputs)
    heads = {id(n) for n, _ in symbol._outputs}
    total = 0
    ops = [n for n in order if n.op is not None or id(n) in heads
           or n.name in (shape or {})]
    for i, node in enumerate(ops):
        prev = [src.name for src, _ in node.inputs if src.op is not None or
                src.name in (shape or {})]
        params = 0
        aux = set(node.aux_positions())  # running statistics are not counted, as MXNet
        for k, (src, _) in enumerate(node.inputs):
            if k not in aux and src.op is None and src.name.endswith(_PARAM_SUFFIXES):
                s = shape_of.get(src.name)
                if s:
                    params += int(np.prod(s))
        total += params
        out = node.output_names()[0]
        oshape = "x".join(str(d) for d in shape_of.get(out, ())[1:]) if shape_of else ""
        typ = "null" if node.op is None else node.op.name
        row([f"{node.name}({typ})", oshape, params, prev[0] if prev else ""])
        for p in prev[1:]:
            row(["", "", "", p])
        print("=" * line_length if i == len(ops) - 1 else "_" * line_length)
    print(f"Total params: {total}")
    print("_" * line_length)


class Digraph:
    """Graphviz DOT source of a network, with ``render`` through the ``dot`` program."""

    def __init__(self, name, source, save_format="pdf"):
        self.name = name
        self.source = source
        self.format = save_format

    def __str__(self):
        return self.source

    def save(self, filename=None, directory=None):
        """Write the DOT source (``<name>.gv`` by default); returns the path."""
        path = os.path.join(directory or ".", filename or f"{self.name}.gv")
        atomic_write(path, self.source, fn="Digraph.save")
        return path

    def render(self, filename=None, directory=None, view=False, cleanup=False, format=None):
        """Write the DOT source and run ``dot`` to produce ``<file>.<format>``."""
        fmt = format or self.format
        dot = shutil.which("dot")
        if dot is None:
            raise MXNetError("rendering needs the Graphviz 'dot' program (Debian package "
                             "'graphviz'); the DOT source is in .source")
        src = self.save(filename, directory)
        out = f"{src}.{fmt}"
        subprocess.run([dot, f"-T{fmt}", src, "-o", out], check=True)
        if cleanup:
            os.remove(src)
        return out

    def _repr_svg_(self):
        if shutil.which("dot") is None:
            return None
        return subprocess.run(["dot", "-Tsvg"], input=self.source.encode(), check=True,
                              capture_output=True).stdout.decode()


def _label(node, shape_of, show_shape):
    if node.op is None:
        return node.name
    a = node.attrs
    name = node.op.name
    if name == "Convolution":
        lab = f"Convolution\\n{'x'.join(map(str, a['kernel']))}/" \
              f"{'x'.join(map(str, a.get('stride') or (1,)))}, {a['num_filter']}"
    elif name == "FullyConnected":
        lab = f"FullyConnected\\n{a['num_hidden']}"
    elif name in ("Activation", "LeakyReLU"):
        lab = f"{name}\\n{a['act_type']}"
    elif name == "Pooling":
        lab = f"Pooling\\n{a['pool_type']}, {'x'.join(map(str, a.get('kernel') or ()))}"
    else:
        lab = name
    if show_shape:
        s = shape_of.get(node.output_names()[0])
        if s:
            lab += "\\n" + "x".join(str(d) for d in s[1:])
    return lab


def plot_network(symbol, title="plot", save_format="pdf", shape=None, dtype=None,
                 node_attrs=None, hide_weights=True):
    """A :class:`Digraph` of ``symbol``: variables as boxes, operators as ellipses, edges
    labelled with shapes when ``shape`` (input name -> shape) is given; parameter
    variables are hidden unless ``hide_weights=False``."""
    if not isinstance(symbol, Symbol):
        raise TypeError("symbol must be Symbol")
    shape_of = _shapes(symbol, shape) if shape is not None else {}
    order = _topo(symbol._outputs)
    hidden = set()
    lines = [f'digraph "{title}" {{', '  node [fontsize=10];']
    extra = "".join(f', {k}="{v}"' for k, v in (node_attrs or {}).items())
    for i, node in enumerate(order):
        if node.op is None and hide_weights and node.name.endswith(_PARAM_SUFFIXES):
            hidden.add(id(node))
            continue
        shape_attr = "box" if node.op is None else "ellipse"
        lines.append(f'  n{i} [label="{_label(node, shape_of, bool(shape_of))}", '
                     f'shape={shape_attr}{extra}];')
    index = {id(n): i for i, n in enumerate(order)}
    for node in order:
        if id(node) in hidden:
            continue
        for src, k in node.inputs:
            if id(src) in hidden:
                continue
            label = ""
            s = shape_of.get(src.output_names()[k]) if shape_of else None
            if s:
                label = f' [label="{"x".join(str(d) for d in s[1:])}"]'
            lines.append(f"  n{index[id(src)]} -> n{index[id(node)]}{label};")
    lines.append("}")
    return Digraph(title, "\n".join(lines) + "\n", save_format)
