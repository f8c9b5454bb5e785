"""mx.sym.Group edge cases against MXNet 1.9.1 (tests/fixtures/contrib_control.json):
Group of one, nested groups, multi-output members, duplicates, indexing, names, errors."""
import json
import os

import pytest

import gluonlite as mx

with open(os.path.join(os.path.dirname(__file__), "..", "fixtures",
                       "contrib_control.json")) as f:
    META = json.load(f)


def _groups():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    with mx.name.NameManager():
        c = a + b
        sc = mx.sym.SliceChannel(a, num_outputs=3, name="sc")
        return {
            "one": mx.sym.Group([c]),
            "two": mx.sym.Group([a, c]),
            "nested": mx.sym.Group([mx.sym.Group([a, c]), mx.sym.Group([b, a * b])]),
            "multi": mx.sym.Group([sc, c]),
            "dup": mx.sym.Group([a, a]),
            "picked": mx.sym.Group([sc[0], sc[2]]),
            "tuple": mx.sym.Group((a, b)),
        }


@pytest.mark.parametrize("key", sorted(META["group"]))
def test_group_matches_mxnet(key):
    g = _groups()[key]
    want = META["group"][key]
    assert g.list_outputs() == want["outputs"]
    assert g.list_arguments() == want["arguments"]
    assert g.name == want["name"]
    assert len(g) == want["len"]


def test_group_indexing_matches_mxnet():
    g = _groups()["multi"]
    want = META["group_index"]
    assert g[1].list_outputs() == want["1"]
    assert g["sc_output2"].list_outputs() == want["sc_output2"]
    assert g[1:3].list_outputs() == want["slice"]
    # MXNet numbers the internal '+' node by its own global counter; compare the rest
    internals = g.get_internals().list_outputs()
    assert [n for n in internals if "plus" not in n] == \
        [n for n in want["internals"] if "plus" not in n]
    with pytest.raises(IndexError, match="out of range"):
        g[7]
    with pytest.raises(ValueError, match="zz"):
        g["zz"]


@pytest.mark.parametrize("key,bad", [("empty", []), ("non_symbol", None), ("none", None),
                                     ("bare", None)])
def test_group_errors_like_mxnet(key, bad):
    a = mx.sym.var("a")
    bad = {"empty": [], "non_symbol": [a, 1], "none": None, "bare": a}[key]
    # MXNet raises TypeError (its NotImplementedForSymbol for a bare Symbol); gluonlite
    # raises TypeError for all, naming what it got
    assert META["group_errors"][key] in ("TypeError", "NotImplementedForSymbol")
    with pytest.raises(TypeError, match="Group: expected"):
        mx.sym.Group(bad)


def test_group_evaluates_every_output():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    g = mx.sym.Group([mx.sym.Group([a + b, a * b]), mx.sym.SliceChannel(a, num_outputs=3)])
    outs = g.eval(a=mx.nd.ones((2, 3)) * 2, b=mx.nd.ones((2, 3)) * 3)
    assert [o.shape for o in outs] == [(2, 3), (2, 3), (2, 1), (2, 1), (2, 1)]
    assert outs[0].asnumpy().max() == 5 and outs[1].asnumpy().max() == 6
