"""Shape and dtype inference over the IR, from the operators' registered rules.

Works with partial knowledge, as MXNet's ``infer_shape``: an unknown shape is None and an
unknown dimension is -1 here (the Symbol API shows it as MXNet does: 0 under the default
legacy shape semantics, -1 under ``mx.np_shape()``). Rules also fill in the shapes of inputs
they determine (a FullyConnected weight from its data), which is how parameter shapes are
found, and of outputs they consume (an LSTM's begin state made by ``_zeros`` with the batch
size left unknown takes it from the RNN operator).

Operators' rules take fully known shapes. For an input with unknown dimensions the rule is
run twice with the unknown dimensions replaced by two different probe sizes: a dimension of
a result that comes out the same both times does not depend on them and is known, one that
differs stays unknown. So FullyConnected of data ``(0, 5)`` gives weight ``(10, 5)`` and
output ``(0, 10)``, as MXNet's partial inference does, without a second set of rules.
"""
from __future__ import annotations

from ..base import MXNetError
from ..util import is_np_shape

__all__ = ["infer_shapes", "infer_dtypes", "merge_shape", "UNKNOWN"]

UNKNOWN = -1  # an unknown dimension inside the compiler

# two sizes no real graph pins a dimension to, substituted for unknown dimensions
_PROBES = (7919, 7933)


def _known(s):
    return s is not None and all(d >= 0 for d in s)


def merge_shape(old, new, what):
    """Combine two partial shapes (-1 = unknown dimension); error if they disagree."""
    if old is None:
        return tuple(new) if new is not None else None
    if new is None:
        return old
    new = tuple(new)
    if len(old) != len(new) or any(a >= 0 and b >= 0 and a != b for a, b in zip(old, new)):
        raise MXNetError(f"{what}: shape mismatch, {_show(old)} vs {_show(new)}")
    return tuple(a if a >= 0 else b for a, b in zip(old, new))


def _show(s):
    if s is None:
        return None
    return tuple(s) if is_np_shape() else tuple(max(d, 0) for d in s)


def _source_shape(e):
    """The shape attribute of a source operator (``_zeros``, random samplers), or None."""
    if "source" not in e.op.tags or not e.outs:
        return None
    s = e.attrs.get("shape")
    return tuple(s) if isinstance(s, (tuple, list)) else None


def _legacy_partial(s):
    """A source operator's shape under legacy semantics: 0 is an unknown dimension (MXNet's
    exported LSTM makes its begin state with ``_zeros(shape=(L, 0, H))``)."""
    return None if s is None else tuple(UNKNOWN if d == 0 else d for d in s)


def _combine(r1, r2):
    """Dimensions equal in both probe results are known; others unknown."""
    out = []
    for a, b in zip(r1, r2):
        if a is None or b is None or len(a) != len(b):
            out.append(None)
        else:
            out.append(tuple(x if x == y else UNKNOWN for x, y in zip(a, b)))
    return out


def _probe(e, shapes, partial):
    """``(ins, outs)`` results of the rule with partial inputs probed (see the module doc);
    all partial inputs at once, else each alone (a rule may check that two inputs agree)."""
    groups = [partial] + ([[i] for i in partial] if len(partial) > 1 else [])
    for group in groups:
        res = []
        for p in _PROBES:
            ins = [tuple(p if d < 0 else d for d in s) if i in group
                   else (s if _known(s) else None) for i, s in enumerate(shapes)]
            try:
                res.append(e.op.infer_shape(e.attrs, ins))
            except Exception:  # noqa: BLE001 -- a rule refusing a probe size only tells nothing
                res = None
                break
        if res:
            return _combine(res[0][0], res[1][0]), _combine(res[0][1], res[1][1])
    return None


def _step(e, legacy):
    """Apply ``e``'s rule once; True if a shape changed."""
    shapes = [v.shape for v in e.ins]
    try:
        new_ins, outs = e.op.infer_shape(e.attrs, [s if _known(s) else None for s in shapes])
    except MXNetError as err:
        raise MXNetError(f"shape inference failed at {e.op.name} '{e.name or ''}': {err} "
                         f"(input shapes {[_show(v.shape) for v in e.ins]})") from None
    if legacy and _source_shape(e) is not None:
        outs = [_legacy_partial(s) for s in outs]
    results = [(new_ins, outs)]
    partial = [i for i, s in enumerate(shapes) if s is not None and not _known(s)]
    if partial:
        probed = _probe(e, shapes, partial)
        if probed is not None:
            results.append(probed)
    changed = False
    for new_ins, outs in results:
        for v, s in zip(e.ins, new_ins):
            if s is not None and not _known(v.shape):
                m = merge_shape(v.shape, s, f"input of {e.op.name} '{e.name}'")
                changed |= m != v.shape
                v.shape = m
        for v, s in zip(e.outs, outs):
            if s is not None:
                m = merge_shape(v.shape, s, f"output of {e.op.name} '{e.name}'")
                changed |= m != v.shape
                v.shape = m
    return changed


def _run(graph, max_passes, legacy):
    for k in range(max_passes):
        # alternate directions: a shape known only at a consumer (the batch size of a
        # begin state) flows back to its producer in one pass
        order = graph.eqns if k % 2 == 0 else reversed(graph.eqns)
        changed = False
        for e in order:
            changed |= _step(e, legacy)
        if not changed:
            break


def infer_shapes(graph, max_passes=8):
    """Fill ``Var.shape`` everywhere it can be determined (in place); returns the graph.

    A source operator (``_zeros``, ``_ones``, ``_full``, samplers) whose ``shape`` has
    unknown dimensions (0, legacy semantics) takes the shape inference found for its output:
    its equation's ``shape`` attribute is replaced, so the kernel makes that shape. Where
    nothing determines them, the 0s stay (a zero-size array), as gluonlite always made.
    """
    legacy = not is_np_shape()
    _run(graph, max_passes, legacy)
    if legacy:
        unresolved = False
        for e in graph.eqns:
            attr = _source_shape(e)
            if attr is None or 0 not in attr:
                continue
            v = e.outs[0]
            if _known(v.shape) and len(v.shape) == len(attr):
                e.attrs = dict(e.attrs, shape=tuple(v.shape))  # a copy: the Symbol's stays
            elif v.shape is None or not _known(v.shape):
                v.shape = merge_shape(v.shape, attr, f"output of {e.op.name} '{e.name}'")
                unresolved = True
        if unresolved:
            _run(graph, max_passes, legacy)
    return graph


def infer_dtypes(graph, max_passes=4, check=False):
    """Fill ``Var.dtype`` (numpy dtype names) wherever it can be determined (in place).

    With ``check``, an operator whose inputs must share a dtype but do not raises the
    error the same call raises imperatively (a hybridized block fed float64 data with
    float32 weights fails as it does unhybridized, instead of computing in float64).
    """
    for _ in range(max_passes):
        changed = False
        for e in graph.eqns:
            ins = [v.dtype for v in e.ins]
            new_ins, outs = e.op.infer_type(e.attrs, ins)
            for v, t in zip(e.ins, new_ins):
                if t is not None and v.dtype is None:
                    v.dtype = t
                    changed = True
            for v, t in zip(e.outs, outs):
                if t is not None and v.dtype is None:
                    v.dtype = t
                    changed = True
        if not changed:
            break
    if check:
        for e in graph.eqns:
            _check_same_dtype(e)
    return graph


def _check_same_dtype(e):
    """Imperative ``invoke``'s dtype check, on an equation's inferred input dtypes."""
    op = e.op
    chk = [i for i in op._dtype_checked if i < len(e.ins)]
    dts = [e.ins[i].dtype for i in chk]
    if len(chk) < 2 or None in dts or all(d == dts[0] for d in dts):
        return
    names = op.input_names if op.variadic is None else [f"arg{i}" for i in range(len(e.ins))]
    parts = ", ".join(f"'{names[i]}' {d}" for i, d in zip(chk, dts))
    raise MXNetError(f"{op.name}: inputs must have the same dtype, got {parts}; convert "
                     "with .astype(...)")
