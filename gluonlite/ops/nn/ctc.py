"""Connectionist Temporal Classification loss: ``CTCLoss`` (aliases ``ctc_loss``,
``_contrib_CTCLoss``, ``_contrib_ctc_loss``), MXNet 1.9.1 semantics.

``CTCLoss(data, label[, data_lengths][, label_lengths], use_data_lengths=False,
use_label_lengths=False, blank_label='first')``

* ``data``: ``(sequence_length T, batch_size N, alphabet_size C)`` unnormalised activations;
  the operator applies a softmax over the last axis itself.
* ``label``: ``(N, max_label_length)`` class indices (integer values, any dtype). With
  ``blank_label='first'`` channel 0 is the blank, labels are ``1 .. C-1`` and sequences are
  padded with ``0``; with ``'last'`` channel ``C-1`` is the blank, labels are ``0 .. C-2`` and
  the padding value is ``-1``. Without ``use_label_lengths`` a label sequence ends at the
  first padding value; with it, ``label_lengths`` (shape ``(N,)``) gives the lengths and
  anything after them is ignored.
* ``data_lengths`` (with ``use_data_lengths``; shape ``(N,)``, values in ``1 .. T``): the
  number of valid time steps of each sequence; later steps get zero gradient.
* Inputs depend on the attributes as in MXNet: the optional length inputs present are the
  ones switched on, in the order ``data_lengths``, ``label_lengths``.
* Output: the negative log-likelihood per sequence, shape ``(N,)``. As MXNet (warp-ctc), a
  sequence whose labelling cannot be aligned in its time steps (label length plus the
  number of repeated neighbours exceeds its data length) gets loss 0 and zero gradient.

A hidden second output holds the gradient with respect to ``data`` (computed with the
forward pass, as MXNet does); the gradient rule scales it by the output gradient. The
forward-backward recursions run in log space, vectorised over the batch and the label
positions (one step per time step). Labels outside the alphabet, labels equal to the blank
and lengths out of range are errors (MXNet reads memory out of bounds or returns garbage).
Unlike MXNet, float64 data is accepted (float16 is computed in float32).
"""
from __future__ import annotations

from ...base import MXNetError
from ..attrs import Bool, Enum
from ..elemwise_binary import rt_errstate
from ..registry import register

__all__ = []

_LENGTH_INPUTS = ("data_lengths", "label_lengths")


def _ctc_inputs(a):
    names = ["data", "label"]
    if a["use_data_lengths"]:
        names.append("data_lengths")
    if a["use_label_lengths"]:
        names.append("label_lengths")
    return tuple(names)


def _split_lengths(a, extras):
    """Map the optional inputs actually given (positionally) to their names."""
    names = _ctc_inputs(a)[2:]
    extras = [x for x in extras if x is not None]
    if len(extras) != len(names):
        raise MXNetError(
            f"CTCLoss: with use_data_lengths={a['use_data_lengths']} and use_label_lengths="
            f"{a['use_label_lengths']} the inputs are {list(_ctc_inputs(a))}, got "
            f"{2 + len(extras)} input(s)")
    got = dict(zip(names, extras))
    return got.get("data_lengths"), got.get("label_lengths")


def _ctc_shape(a, in_shapes):
    ins = list(in_shapes)
    names = _ctc_inputs(a)
    if len(ins) != len(names):
        raise MXNetError(f"CTCLoss: with these attributes the inputs are {list(names)}, got "
                         f"{len(ins)} input shape(s)")
    d = ins[0]
    if d is None:
        return ins, [None, None]
    d = tuple(d)
    if len(d) != 3:
        raise MXNetError(f"CTCLoss: data must have 3 dimensions (sequence_length, batch_size, "
                         f"alphabet_size), got shape {d}")
    n = d[1]
    lab = ins[1]
    if lab is not None and (len(lab) != 2 or lab[0] != n):
        raise MXNetError(f"CTCLoss: label must have shape (batch_size, label_sequence_length) "
                         f"= ({n}, L), got shape {tuple(lab)}")
    for i in range(2, len(ins)):
        if ins[i] is None:
            ins[i] = (n,)
        elif tuple(ins[i]) != (n,):
            raise MXNetError(f"CTCLoss: {names[i]} must have shape ({n},) (one length per "
                             f"sequence), got {tuple(ins[i])}")
    return ins, [(n,), d]


def _ctc_dtype(a, in_types, n_out):
    return list(in_types), [in_types[0]] * n_out


def _as_index(rt, x, what):
    """Integer copy of an index array (labels, lengths), checking its values are whole."""
    xp = rt.xp
    if x.dtype.kind == "f":
        if x.size and not bool(xp.all(xp.floor(x) == x)):
            raise MXNetError(f"CTCLoss: {what} must hold integer values, got non-integer "
                             "entries")
        return x.astype(xp.int64)
    if x.dtype.kind not in "iub":
        raise MXNetError(f"CTCLoss: {what} must be a numeric array, got {x.dtype.name}")
    return x.astype(xp.int64)


def _lse3(xp, a, b, c):
    """log(exp(a) + exp(b) + exp(c)) elementwise, exact for -inf entries."""
    m = xp.maximum(xp.maximum(a, b), c)
    m = xp.where(xp.isfinite(m), m, 0)
    return m + xp.log(xp.exp(a - m) + xp.exp(b - m) + xp.exp(c - m))


@register("CTCLoss", aliases=("ctc_loss", "_contrib_CTCLoss", "_contrib_ctc_loss"),
          shape=_ctc_shape, dtype=_ctc_dtype, num_outputs=2, visible_outputs=1,
          output_names=("output0", "output1"), inputs=_ctc_inputs,
          index_inputs=("label",) + _LENGTH_INPUTS)
def CTCLoss(rt, data, label, data_lengths=None, label_lengths=None, *,
            use_data_lengths: Bool = False, use_label_lengths: Bool = False,
            blank_label: Enum("first", "last") = "first"):
    """CTC loss of each sequence (MXNet's ``CTCLoss``): ``data`` (T, N, C) activations
    (softmax applied inside), ``label`` (N, L) class indices padded with 0 (blank 'first')
    or -1 (blank 'last'); optional ``data_lengths`` / ``label_lengths`` (N,) when
    ``use_data_lengths`` / ``use_label_lengths``. Returns the loss, shape (N,)."""
    a = {"use_data_lengths": use_data_lengths, "use_label_lengths": use_label_lengths}
    dl_in, ll_in = _split_lengths(a, (data_lengths, label_lengths))
    xp = rt.xp
    if data.dtype.kind != "f":
        raise MXNetError(f"CTCLoss: data must be a floating point array, got "
                         f"{data.dtype.name}")
    _ctc_shape(a, [data.shape, label.shape] + [x.shape for x in (dl_in, ll_in)
                                               if x is not None])
    T, N, C = data.shape
    L = label.shape[1]
    first = blank_label == "first"
    blank = 0 if first else C - 1
    lab = _as_index(rt, label, "label")
    pos = xp.arange(L)[None, :]
    if use_label_lengths:
        ll = _as_index(rt, ll_in, "label_lengths")
        if N and bool(xp.any((ll < 0) | (ll > L))):
            raise MXNetError(f"CTCLoss: label_lengths must lie in [0, {L}] (the label "
                             f"sequence length), got {ll.tolist()}")
    else:
        is_pad = lab == (0 if first else -1)
        ll = xp.where(is_pad.any(axis=1), xp.argmax(is_pad, axis=1), L)
    in_label = pos < ll[:, None]
    lo, hi = (1, C - 1) if first else (0, C - 2)
    if bool(xp.any(in_label & ((lab < lo) | (lab > hi)))):
        bad = lab[in_label & ((lab < lo) | (lab > hi))]
        raise MXNetError(
            f"CTCLoss: label values must lie in [{lo}, {hi}] with alphabet_size {C} and "
            f"blank_label={blank_label!r} (channel {blank} is the blank"
            + (", 0 pads" if first else ", -1 pads") + f"), got {bad[:5].tolist()}")
    if use_data_lengths:
        dl = _as_index(rt, dl_in, "data_lengths")
        if N and bool(xp.any((dl < 1) | (dl > T))):
            raise MXNetError(f"CTCLoss: data_lengths must lie in [1, {T}] (the sequence "
                             f"length of data), got {dl.tolist()}")
    else:
        dl = xp.full((N,), T, dtype=xp.int64)

    wdt = xp.float64 if data.dtype == xp.float64 else xp.float32
    grad = xp.zeros((T, N, C), dtype=data.dtype)
    if T == 0 or N == 0:
        return xp.zeros((N,), dtype=data.dtype), grad
    with rt_errstate(rt):
        x = data.astype(wdt)
        x = x - x.max(axis=2, keepdims=True)
        logp = x - xp.log(xp.exp(x).sum(axis=2, keepdims=True))      # (T, N, C)
        S = 2 * L + 1
        ext = xp.full((N, S), blank, dtype=xp.int64)                 # labels with blanks
        ext[:, 1::2] = xp.where(in_label, lab, blank)
        lp = logp[:, xp.arange(N)[:, None], ext]                     # (T, N, S)
        s_len = 2 * ll + 1
        s_idx = xp.arange(S)[None, :]
        s_valid = s_idx < s_len[:, None]                             # (N, S)
        skip = xp.zeros((N, S), dtype=bool)                          # s-2 -> s allowed
        if S > 2:
            skip[:, 2:] = ext[:, 2:] != ext[:, :-2]
        ninf = wdt(-xp.inf)
        pad1 = xp.full((N, 1), ninf, dtype=wdt)
        pad2 = xp.full((N, 2), ninf, dtype=wdt)
        skip_next = xp.zeros((N, S), dtype=bool)                     # s+2 -> s allowed
        if S > 2:
            skip_next[:, :-2] = skip[:, 2:]

        # forward variables (emission at t included); frozen after a sequence's last step
        alpha = xp.empty((T, N, S), dtype=wdt)
        cur = xp.where(s_idx < 2, lp[0], ninf)
        alpha[0] = cur = xp.where(s_valid, cur, ninf)
        for t in range(1, T):
            prev = cur
            a1 = xp.concatenate([pad1, prev], axis=1)[:, :S]
            a2 = xp.where(skip, xp.concatenate([pad2, prev], axis=1)[:, :S], ninf)
            new = xp.where(s_valid, _lse3(xp, prev, a1, a2) + lp[t], ninf)
            alpha[t] = cur = xp.where((t < dl)[:, None], new, prev)
        ends = xp.stack([s_len - 1, xp.maximum(s_len - 2, 0)], axis=1)
        last = xp.take_along_axis(cur, ends, axis=1)
        last[:, 1] = xp.where(ll > 0, last[:, 1], ninf)
        m = xp.max(last, axis=1)
        m0 = xp.where(xp.isfinite(m), m, 0)
        loglik = m0 + xp.log(xp.exp(last - m0[:, None]).sum(axis=1))
        feasible = xp.isfinite(loglik)

        # backward variables (emission at t included); -inf after a sequence's end
        beta = xp.empty((T, N, S), dtype=wdt)
        init_pos = (s_idx == (s_len - 1)[:, None]) | (s_idx == (s_len - 2)[:, None])
        nxt = xp.full((N, S), ninf, dtype=wdt)
        for t in range(T - 1, -1, -1):
            n1 = xp.concatenate([nxt, pad1], axis=1)[:, 1:]
            n2 = xp.where(skip_next, xp.concatenate([nxt, pad2], axis=1)[:, 2:], ninf)
            rec = _lse3(xp, nxt, n1, n2) + lp[t]
            init = xp.where(init_pos, lp[t], ninf)
            tt = (t - (dl - 1))[:, None]
            cur = xp.where(tt == 0, init, xp.where(tt < 0, rec, ninf))
            beta[t] = nxt = xp.where(s_valid, cur, ninf)

        safe_ll = xp.where(feasible, loglik, 0)
        occ = xp.exp(alpha + beta - lp - safe_ll[None, :, None])      # (T, N, S)
        occ = xp.where(feasible[None, :, None], occ, 0)
        flat = (xp.arange(T)[:, None, None] * N + xp.arange(N)[None, :, None]) * C \
            + ext[None]
        occ_c = xp.bincount(flat.ravel(), weights=occ.ravel().astype(xp.float64),
                            minlength=T * N * C).reshape(T, N, C)
        active = (xp.arange(T)[:, None] < dl[None, :]) & feasible[None, :]  # (T, N)
        g = xp.exp(logp) - occ_c
        grad[...] = xp.where(active[:, :, None], g, 0)
        loss = xp.where(feasible, -loglik, 0).astype(data.dtype)
    return loss, grad


@CTCLoss.gradient
def _(F, a, ins, outs, ogs, need):
    if getattr(F, "kind", None) == "raw" and bool(F.xp.any(ogs[1])):
        raise MXNetError("CTCLoss: gradients through its gradient (second and higher order) "
                         "are not supported")
    scale = F.Reshape(ogs[0], shape=(1, -1, 1))
    return (F.broadcast_mul(outs[1], scale),) + (None,) * (len(ins) - 1)
