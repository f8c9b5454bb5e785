"""Variable-length sequence operators ``SequenceMask``, ``SequenceLast`` and
``SequenceReverse`` (MXNet 1.9.1 semantics), used by the recurrent cells' ``unroll`` with
``valid_length``.

Each takes ``data`` with the time axis ``axis`` (0: ``(T, N, ...)``, 1: ``(N, T, ...)``;
``SequenceReverse`` only 0, as in MXNet) and, with ``use_sequence_length=True``, a
``sequence_length`` input ``(N,)`` of integer values in ``[1, T]`` (MXNet reads out of
bounds for other values; here they are errors):

* ``SequenceMask`` sets the steps at or after each sequence's length to ``value``;
* ``SequenceLast`` takes each sequence's last valid step (the last step without lengths);
* ``SequenceReverse`` reverses the first ``length`` steps of each sequence and leaves the
  padding where it is (everything, without lengths).
"""
from __future__ import annotations

from ...base import MXNetError
from ..attrs import Bool, Float, Int
from ..registry import register

__all__ = []


def _seq_inputs(a):
    return ("data", "sequence_length") if a["use_sequence_length"] else ("data",)


def _axis(name, a, ndim, allowed=(0, 1)):
    ax = a["axis"]
    if ax not in allowed:
        raise MXNetError(f"{name}: axis must be one of {list(allowed)} (the time axis), got "
                         f"{ax}")
    if ndim < 2:
        raise MXNetError(f"{name}: data must have at least 2 dimensions (time and batch), "
                         f"got {ndim}")
    return ax


def _check_len_shape(name, a, ins, d, ax):
    if not a["use_sequence_length"]:
        if len(ins) > 1 and ins[1] is not None:
            raise MXNetError(f"{name}: a sequence_length input needs "
                             "use_sequence_length=True")
        return ins
    n = d[1 - ax]
    if len(ins) < 2 or ins[1] is None:
        ins = [ins[0], (n,)]
    elif tuple(ins[1]) != (n,):
        raise MXNetError(f"{name}: sequence_length must have shape ({n},) (one length per "
                         f"sequence), got {tuple(ins[1])}")
    return ins


def _shape_rule(name, allowed, last=False):
    def rule(a, in_shapes):
        ins = list(in_shapes)
        d = ins[0]
        if d is None:
            return ins, [None]
        ax = _axis(name, a, len(d), allowed)
        ins = _check_len_shape(name, a, ins, d, ax)
        out = tuple(d[:ax]) + tuple(d[ax + 1:]) if last else tuple(d)
        return ins, [out]
    return rule


def _lengths(name, xp, sl, t):
    if sl.dtype.kind == "f":
        if sl.size and not bool(xp.all(xp.floor(sl) == sl)):
            raise MXNetError(f"{name}: sequence_length must hold integer values")
    elif sl.dtype.kind not in "iu":
        raise MXNetError(f"{name}: sequence_length must be numeric, got {sl.dtype.name}")
    sl = sl.astype(xp.int64)
    if sl.size and bool(xp.any((sl < 1) | (sl > t))):
        raise MXNetError(f"{name}: sequence_length values must lie in [1, {t}] (the length "
                         f"of the time axis), got {sl.tolist()}")
    return sl


def _prep(name, rt, a, data, sequence_length, allowed):
    ax = _axis(name, a, data.ndim, allowed)
    _check_len_shape(name, a, [data.shape, None if sequence_length is None
                               else sequence_length.shape], data.shape, ax)
    if a["use_sequence_length"] and sequence_length is None:
        raise MXNetError(f"{name}: use_sequence_length=True needs the sequence_length input")
    xp = rt.xp
    x = data if ax == 0 else xp.swapaxes(data, 0, 1)     # (T, N, ...)
    t, n = x.shape[:2]
    sl = _lengths(name, xp, sequence_length, t) if a["use_sequence_length"] else \
        xp.full((n,), t, dtype=xp.int64)
    return xp, ax, x, sl


def _valid_mask(xp, sl, x):
    t = x.shape[0]
    m = xp.arange(t)[:, None] < sl[None, :]
    return m.reshape(m.shape + (1,) * (x.ndim - 2))


@register("SequenceMask", shape=_shape_rule("SequenceMask", (0, 1)), inputs=_seq_inputs,
          index_inputs=("sequence_length",))
def SequenceMask(rt, data, sequence_length=None, *, use_sequence_length: Bool = False,
                 value: Float = 0.0, axis: Int = 0):
    """``data`` with every step at or after its sequence's length set to ``value``."""
    a = {"use_sequence_length": use_sequence_length, "axis": axis}
    if not use_sequence_length:
        _prep("SequenceMask", rt, a, data, sequence_length, (0, 1))
        return data.copy()
    xp, ax, x, sl = _prep("SequenceMask", rt, a, data, sequence_length, (0, 1))
    out = xp.where(_valid_mask(xp, sl, x), x, x.dtype.type(value))
    return out if ax == 0 else xp.swapaxes(out, 0, 1)


@SequenceMask.gradient
def _(F, a, ins, outs, ogs, need):
    if not a["use_sequence_length"]:
        return (ogs[0],)
    return (F.SequenceMask(ogs[0], ins[1], use_sequence_length=True, value=0.0,
                           axis=a["axis"]), None)


@register("SequenceLast", shape=_shape_rule("SequenceLast", (0, 1), last=True),
          inputs=_seq_inputs, index_inputs=("sequence_length",))
def SequenceLast(rt, data, sequence_length=None, *, use_sequence_length: Bool = False,
                 axis: Int = 0):
    """Each sequence's last valid step: shape ``data`` without the time axis."""
    a = {"use_sequence_length": use_sequence_length, "axis": axis}
    xp, ax, x, sl = _prep("SequenceLast", rt, a, data, sequence_length, (0, 1))
    return x[sl - 1, xp.arange(x.shape[1])].copy()


@register("_backward_SequenceLast", shape=lambda a, s: (list(s), [s[1]]),
          inputs=lambda a: ("ograd", "data", "sequence_length")
          if a["use_sequence_length"] else ("ograd", "data"),
          index_inputs=("data", "sequence_length"))
def _backward_SequenceLast(rt, ograd, data, sequence_length=None, *,
                           use_sequence_length: Bool = False, axis: Int = 0):
    """Gradient of ``SequenceLast``: ``ograd`` placed at each sequence's last valid step of
    an array of zeros shaped like ``data``."""
    a = {"use_sequence_length": use_sequence_length, "axis": axis}
    xp, ax, x, sl = _prep("_backward_SequenceLast", rt, a, data, sequence_length, (0, 1))
    g = xp.zeros(x.shape, ograd.dtype)
    g[sl - 1, xp.arange(x.shape[1])] = ograd
    return g if ax == 0 else xp.swapaxes(g, 0, 1)


@SequenceLast.gradient
def _(F, a, ins, outs, ogs, need):
    g = F._backward_SequenceLast(ogs[0], *ins, **a)
    return (g, None) if a["use_sequence_length"] else (g,)


@register("SequenceReverse", shape=_shape_rule("SequenceReverse", (0,)), inputs=_seq_inputs,
          index_inputs=("sequence_length",))
def SequenceReverse(rt, data, sequence_length=None, *, use_sequence_length: Bool = False,
                    axis: Int = 0):
    """Reverse the first ``length`` steps of each sequence (time axis 0); padding stays."""
    a = {"use_sequence_length": use_sequence_length, "axis": axis}
    xp, ax, x, sl = _prep("SequenceReverse", rt, a, data, sequence_length, (0,))
    t = x.shape[0]
    ts = xp.arange(t)[:, None]
    src = xp.where(ts < sl[None, :], sl[None, :] - 1 - ts, ts)     # (T, N)
    return x[src, xp.arange(x.shape[1])[None, :]]


@SequenceReverse.gradient
def _(F, a, ins, outs, ogs, need):
    # the permutation is its own inverse
    g = F.SequenceReverse(ogs[0], *ins[1:], **a)
    return (g, None) if a["use_sequence_length"] else (g,)
