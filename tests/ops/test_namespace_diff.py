"""The names MXNet 1.9.1's ``mx.nd``/``mx.sym`` (and their ``linalg``, ``random``,
``contrib``, ``sparse``, ``image`` submodules) export that gluonlite does not, as a
recorded list that can only shrink (issue 17 §2).

MXNet's names come from ``tests/fixtures/mxnet_namespaces.json`` (written by
``tests/fixtures/gen/linalg_ops_mxnet.py`` with MXNet itself); gluonlite's are read from the
live modules, so names other work adds show up here at once. The test fails

* when a name on the list now exists: remove it from ``MISSING`` (the list shrinks);
* when an MXNet name that is not on the list is missing: something was lost.

The list and the reasons live in ``gluonlite/unsupported.py``, because using a missing name
raises ``AttributeError`` with its reason. ``python -m tests.ops.test_namespace_diff`` prints
the current diff in that file's format.
"""
import json
import os

import gluonlite as mx
from gluonlite import unsupported

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet_namespaces.json")

MISSING = unsupported.MISSING
reason = unsupported.reason


def mxnet_names():
    with open(FIX) as f:
        return json.load(f)


def live_names(path):
    """Public names of ``mx.<path>`` (e.g. ``nd.linalg``); empty if the module is absent."""
    root, *rest = path.split(".")
    mod = {"nd": mx.nd, "sym": mx.sym}[root]
    for part in rest:
        mod = getattr(mod, part, None)
        if mod is None:
            return set()
    return {n for n in dir(mod) if not n.startswith("_")}


def current_diff():
    return {ns: sorted(set(names) - live_names(ns)) for ns, names in mxnet_names().items()}


def test_recorded_namespaces_are_mxnets():
    assert set(MISSING) <= set(mxnet_names())


def test_missing_list_only_shrinks():
    now = current_diff()
    gained, lost = {}, {}
    for ns in mxnet_names():
        rec = set(MISSING.get(ns, ()))
        assert rec <= set(mxnet_names()[ns]), \
            f"{ns}: recorded names MXNet does not export: {sorted(rec - set(mxnet_names()[ns]))}"
        if rec - set(now[ns]):
            gained[ns] = sorted(rec - set(now[ns]))
        if set(now[ns]) - rec:
            lost[ns] = sorted(set(now[ns]) - rec)
    assert not gained, (f"gluonlite now has these recorded-missing names: remove them from "
                        f"MISSING in {__file__}: {gained}")
    assert not lost, f"MXNet names missing from gluonlite that were present before: {lost}"


def test_every_missing_name_has_a_reason():
    for ns, recorded in MISSING.items():
        for name in recorded:
            assert reason(ns, name), f"{ns}.{name}: no reason recorded in REASONS"


def test_a_missing_name_fails_naming_it_and_the_reason():
    for ns, recorded in MISSING.items():
        root, *rest = ns.split(".")
        mod = {"nd": mx.nd, "sym": mx.sym}[root]
        for part in rest:
            mod = getattr(mod, part)
        for name in sorted(recorded):
            try:
                getattr(mod, name)
            except AttributeError as e:
                assert f"mx.{ns}.{name}" in str(e) and reason(ns, name) in str(e)
            else:
                raise AssertionError(f"mx.{ns}.{name} exists: remove it from MISSING")
    with __import__("pytest").raises(AttributeError, match="has no attribute 'frobnicate'"):
        mx.nd.frobnicate


def test_operator_namespaces_added_by_issue_17_are_complete():
    names = mxnet_names()
    for ns in ("nd.linalg", "sym.linalg"):
        assert set(names[ns]) <= live_names(ns), ns
    want = {"uniform", "normal", "randn", "randint", "exponential", "gamma", "poisson",
            "negative_binomial", "generalized_negative_binomial", "multinomial", "shuffle"}
    assert want <= live_names("sym.random") and want <= set(names["sym.random"])
    for name in ("make_loss", "split_v2", "cumsum", "diag", "gather_nd", "scatter_nd",
                 "khatri_rao", "moments", "hard_sigmoid", "depth_to_space"):
        assert name in live_names("nd") and name in live_names("sym"), name


if __name__ == "__main__":  # print the current diff, to paste into gluonlite/unsupported.py
    import textwrap
    for ns, miss in sorted(current_diff().items()):
        body = textwrap.fill(" ".join(miss), width=88, initial_indent="    ",
                             subsequent_indent="    ")
        print(f'    "{ns}": """\n{body}\n    """,' if miss else f'    "{ns}": "",')


def test_the_migration_guide_lists_every_missing_operator():
    # module internals (ctypes, numeric_types, ...) are summarised there, not listed
    doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                            "migrating-from-mxnet.md")).read()
    internal = ("module internal", "re-export", "ctypes", "code-generator", "modules MXNet",
                "Python builtin")
    for ns, recorded in MISSING.items():
        for name in recorded:
            if not any(k in reason(ns, name) for k in internal):
                assert f"`{ns}.{name}`" in doc, f"docs/migrating-from-mxnet.md: add {ns}.{name}"
