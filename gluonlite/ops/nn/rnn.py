"""The fused recurrent operator ``RNN`` (MXNet 1.9.1 semantics), its gradient
``_backward_RNN`` and ``_rnn_param_concat``, which packs Gluon's parameters for it.

``RNN(data, parameters, state[, state_cell][, sequence_length], state_size, num_layers,
mode, bidirectional=False, p=0, state_outputs=False, projection_size=None,
lstm_state_clip_min=None, lstm_state_clip_max=None, lstm_state_clip_nan=False,
use_sequence_length=False)``

* ``data`` is ``(T, N, I)``; ``state`` (and, for ``mode='lstm'``, ``state_cell``) is
  ``(num_layers * D, N, H)`` with ``D = 2`` when bidirectional (``state`` is ``(L*D, N, P)``
  with an LSTM projection of size ``P``); ``sequence_length`` is ``(N,)`` and present only
  with ``use_sequence_length``.
* ``parameters`` is MXNet's packed flat vector: first every weight (for each layer, for each
  direction: ``i2h`` ``(G*H, I_l)``, ``h2h`` ``(G*H, R)`` and, with a projection, ``h2r``
  ``(P, H)``), then every bias (for each layer and direction: ``i2h``, ``h2h``, ``(G*H,)``
  each), each flattened row-major. ``G`` is 1 (rnn_relu, rnn_tanh), 4 (lstm: gates in order
  input, forget, cell, output) or 3 (gru: reset, update, new); ``R`` is ``P`` or ``H``;
  ``I_l`` is ``I`` for layer 0 and ``D * R`` above.
* The GRU is cuDNN's (as MXNet's): ``n = tanh(Wx_n x + b_in + r * (Wh_n h + b_hn))``,
  ``h' = (1 - z) * n + z * h``.
* Outputs: ``out`` ``(T, N, D*R)``, and with ``state_outputs`` the final ``hy`` (and ``cy``
  for lstm) shaped like the states. In training, ``p`` drops the outputs of every layer but
  the last (mask scaled by ``1/(1-p)``, as ``Dropout``).

Beyond MXNet's CPU kernel, which silently ignores them (only its cuDNN kernel honours
them), gluonlite implements ``use_sequence_length`` (steps at or after a sequence's length
leave the state unchanged and output zeros; the reverse direction starts at the last valid
step) and LSTM state clipping (the cell state is clipped into ``[min, max]`` after every
step; with ``lstm_state_clip_nan`` a NaN cell state becomes ``min``, otherwise NaN
propagates).

The final states and the dropout masks are always computed: hidden outputs when not
visible, so the gradient (``_backward_RNN``, backpropagation through time, which recomputes
the forward with the same masks) needs nothing else.
"""
from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..attrs import Bool, Enum, Float, Int, OptFloat, OptInt
from ..join import _check_dtypes, _check_num_args, _concat_shape
from ..registry import register

__all__ = ["rnn_param_size", "rnn_param_shapes", "GATES"]

GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}
_MODE = Enum("rnn_relu", "rnn_tanh", "lstm", "gru")


def rnn_param_shapes(mode, num_layers, bidirectional, state_size, input_size,
                     projection_size=None):
    """The shapes of the pieces of the packed parameter vector, in packing order, as
    ``(name, shape)`` with Gluon's names (``l0_i2h_weight``, ``r1_h2h_bias``, ...)."""
    g, h, p = GATES[mode], state_size, projection_size or None
    r = p or h
    dirs = ("l", "r") if bidirectional else ("l",)
    weights, biases = [], []
    ni = input_size
    for layer in range(num_layers):
        for d in dirs:
            weights.append((f"{d}{layer}_i2h_weight", (g * h, ni)))
            weights.append((f"{d}{layer}_h2h_weight", (g * h, r)))
            if p:
                weights.append((f"{d}{layer}_h2r_weight", (p, h)))
            biases.append((f"{d}{layer}_i2h_bias", (g * h,)))
            biases.append((f"{d}{layer}_h2h_bias", (g * h,)))
        ni = r * len(dirs)
    return weights + biases


def rnn_param_size(mode, num_layers, bidirectional, state_size, input_size,
                   projection_size=None) -> int:
    """Length of the packed parameter vector of ``RNN``."""
    return int(sum(int(np.prod(s)) for _, s in rnn_param_shapes(
        mode, num_layers, bidirectional, state_size, input_size, projection_size)))


# --- attributes, inputs, shapes ---------------------------------------------------------------
def _rnn_inputs(a):
    names = ["data", "parameters", "state"]
    if a["mode"] == "lstm":
        names.append("state_cell")
    if a["use_sequence_length"]:
        names.append("sequence_length")
    return tuple(names)


def _n_out(a):
    return 3 if a["mode"] == "lstm" else 2  # out, hy[, cy] (+ the hidden mask below)


def _check_attrs(a):
    if a["state_size"] <= 0:
        raise MXNetError(f"RNN: state_size must be positive, got {a['state_size']}")
    if a["num_layers"] <= 0:
        raise MXNetError(f"RNN: num_layers must be positive, got {a['num_layers']}")
    if not 0.0 <= a["p"] < 1.0:
        raise MXNetError(f"RNN: p (dropout between layers) must lie in [0, 1), got {a['p']}")
    proj = a["projection_size"]
    if proj is not None:
        if a["mode"] != "lstm":
            raise MXNetError(f"RNN: projection_size is only supported with mode='lstm', got "
                             f"mode={a['mode']!r}")
        if not 0 < proj < a["state_size"]:
            raise MXNetError(f"RNN: projection_size must lie in (0, state_size="
                             f"{a['state_size']}), got {proj}")
    lo, hi = a["lstm_state_clip_min"], a["lstm_state_clip_max"]
    if (lo is None) != (hi is None):
        raise MXNetError("RNN: lstm_state_clip_min and lstm_state_clip_max must be given "
                         "together")
    if lo is not None:
        if a["mode"] != "lstm":
            raise MXNetError("RNN: lstm_state_clip_min/max need mode='lstm'")
        if lo > hi:
            raise MXNetError(f"RNN: lstm_state_clip_min ({lo}) is greater than "
                             f"lstm_state_clip_max ({hi})")


def _shapes(a, data_shape):
    """(parameters, state, state_cell, sequence_length, out, hy, cy, mask) shapes."""
    if len(data_shape) != 3:
        raise MXNetError(f"RNN: data must have 3 dimensions (sequence_length, batch_size, "
                         f"input_size), got shape {tuple(data_shape)}")
    t, n, i = data_shape
    d = 2 if a["bidirectional"] else 1
    h, lyr = a["state_size"], a["num_layers"]
    r = a["projection_size"] or h
    psize = rnn_param_size(a["mode"], lyr, a["bidirectional"], h, i, a["projection_size"])
    return ((psize,), (lyr * d, n, r), (lyr * d, n, h), (n,), (t, n, d * r),
            (lyr * d, n, r), (lyr * d, n, h), (max(lyr - 1, 0), t, n, d * r))


def _rnn_shape(a, in_shapes):
    _check_attrs(a)
    ins = list(in_shapes)
    names = _rnn_inputs(a)
    if len(ins) != len(names):
        raise MXNetError(f"RNN: with mode={a['mode']!r} and use_sequence_length="
                         f"{a['use_sequence_length']} the inputs are {list(names)}, got "
                         f"{len(ins)}")
    nout = _n_out(a) + 1
    if ins[0] is None:
        return ins, [None] * nout
    ps, ss, cs, ls, os_, hs, cys, ms = _shapes(a, ins[0])
    want = {"parameters": ps, "state": ss, "state_cell": cs, "sequence_length": ls}
    for k, nm in enumerate(names[1:], 1):
        if ins[k] is None:
            ins[k] = want[nm]
        elif tuple(ins[k]) != want[nm]:
            extra = ""
            if nm == "parameters":
                extra = (f" (the packed weights and biases of mode={a['mode']!r}, "
                         f"num_layers={a['num_layers']}, bidirectional={a['bidirectional']}, "
                         f"state_size={a['state_size']}, input_size={ins[0][2]})")
            raise MXNetError(f"RNN: {nm} must have shape {want[nm]}{extra}, got "
                             f"{tuple(ins[k])}")
    outs = [os_, hs] + ([cys] if a["mode"] == "lstm" else []) + [ms]
    return ins, outs


def _rnn_dtype(a, in_types, n_out):
    t = in_types[0] if in_types[0] is not None else next(
        (x for x in in_types[1:3] if x is not None), None)
    ins = [x if x is not None else t for x in in_types]
    if a["use_sequence_length"] and in_types[-1] is not None:
        ins[-1] = in_types[-1]
    return ins, [t] * n_out


# --- the kernels ------------------------------------------------------------------------------
def _sigmoid(xp, x):
    # tanh form: no overflow for large |x|
    return 0.5 * (xp.tanh(0.5 * x) + 1)


def _unpack(params, a, input_size):
    """Views into the flat parameter vector: per (layer, direction) a dict of arrays."""
    shapes = rnn_param_shapes(a["mode"], a["num_layers"], a["bidirectional"], a["state_size"],
                              input_size, a["projection_size"])
    out, off = {}, 0
    for name, s in shapes:
        n = int(np.prod(s))
        out[name] = params[off:off + n].reshape(s)
        off += n
    d = 2 if a["bidirectional"] else 1
    return [[{k: out.get(f"{'lr'[j]}{layer}_{k}") for k in
              ("i2h_weight", "h2h_weight", "h2r_weight", "i2h_bias", "h2h_bias")}
             for j in range(d)] for layer in range(a["num_layers"])]


def _valid(xp, seq_len, t_count, n, dt):
    """(T, N, 1) 0/1 mask of the steps inside each sequence (all ones without lengths)."""
    if seq_len is None:
        return None
    return (xp.arange(t_count)[:, None] < seq_len[None, :]).astype(dt)[:, :, None]


def _seq_lengths(xp, sequence_length, t_count, n):
    if sequence_length is None:
        return None
    sl = sequence_length
    if sl.dtype.kind == "f":
        if sl.size and not bool(xp.all(xp.floor(sl) == sl)):
            raise MXNetError("RNN: sequence_length must hold integer values")
    elif sl.dtype.kind not in "iu":
        raise MXNetError(f"RNN: sequence_length must be numeric, got {sl.dtype.name}")
    sl = sl.astype(np.int64)
    if n and bool(xp.any((sl < 1) | (sl > t_count))):
        raise MXNetError(f"RNN: sequence_length values must lie in [1, {t_count}] (the "
                         f"sequence length of data), got {sl.tolist()}")
    return sl


def _direction_fwd(xp, a, x, w, h0, c0, valid, reverse, keep):
    """One layer, one direction. x (T, N, I). Returns (y (T, N, R), hT, cT, cache)."""
    mode = a["mode"]
    t_count = x.shape[0]
    hsz = a["state_size"]
    xw = x @ w["i2h_weight"].T + w["i2h_bias"]                       # (T, N, G*H)
    wh, bh, wr = w["h2h_weight"], w["h2h_bias"], w["h2r_weight"]
    if mode != "gru":
        xw = xw + bh
    lo, hi = a["lstm_state_clip_min"], a["lstm_state_clip_max"]
    h, c = h0, c0
    ys = xp.zeros(x.shape[:2] + (h0.shape[-1],), x.dtype)
    cache = []
    order = range(t_count - 1, -1, -1) if reverse else range(t_count)
    for t in order:
        h_prev, c_prev = h, c
        step = {}
        if mode in ("rnn_tanh", "rnn_relu"):
            pre = xw[t] + h_prev @ wh.T
            hn = xp.tanh(pre) if mode == "rnn_tanh" else xp.maximum(pre, 0)
            step["pre"] = pre
            cn = None
        elif mode == "lstm":
            z = xw[t] + h_prev @ wh.T
            ig = _sigmoid(xp, z[:, :hsz])
            fg = _sigmoid(xp, z[:, hsz:2 * hsz])
            gg = xp.tanh(z[:, 2 * hsz:3 * hsz])
            og = _sigmoid(xp, z[:, 3 * hsz:])
            cn = fg * c_prev + ig * gg
            if lo is not None:
                unclipped = cn
                if a["lstm_state_clip_nan"]:
                    cn = xp.where(xp.isnan(cn), cn.dtype.type(lo), cn)
                cn = xp.clip(cn, lo, hi)
                step["inside"] = (unclipped >= lo) & (unclipped <= hi)
            tc = xp.tanh(cn)
            hcell = og * tc
            hn = hcell @ wr.T if wr is not None else hcell
            step.update(ig=ig, fg=fg, gg=gg, og=og, tc=tc, hcell=hcell)
        else:  # gru
            gh = h_prev @ wh.T + bh
            xt = xw[t]
            r = _sigmoid(xp, xt[:, :hsz] + gh[:, :hsz])
            u = _sigmoid(xp, xt[:, hsz:2 * hsz] + gh[:, hsz:2 * hsz])
            nn = xp.tanh(xt[:, 2 * hsz:] + r * gh[:, 2 * hsz:])
            hn = (1 - u) * nn + u * h_prev
            step.update(r=r, u=u, n=nn, ghn=gh[:, 2 * hsz:])
            cn = None
        if valid is not None:
            v = valid[t]
            h = xp.where(v > 0, hn, h_prev)
            if cn is not None:
                c = xp.where(v > 0, cn, c_prev)
            ys[t] = hn * v
        else:
            h, c = hn, cn
            ys[t] = hn
        if keep:
            step.update(h_prev=h_prev, c_prev=c_prev, t=t)
            cache.append(step)
    return ys, h, c, cache


def _forward(rt, a, data, parameters, state, state_cell, seq_len, masks, keep=False):
    """The whole stack. ``masks``: None (draw them if training with p > 0) or the
    (L-1, T, N, D*R) masks to reuse. Returns (out, hy, cy, masks, caches)."""
    xp = rt.xp
    t_count, n, i = data.shape
    d = 2 if a["bidirectional"] else 1
    lyr = a["num_layers"]
    ws = _unpack(parameters, a, i)
    valid = _valid(xp, seq_len, t_count, n, data.dtype)
    _, _, _, _, _, hs, cs, ms = _shapes(a, data.shape)
    hy = xp.empty(hs, data.dtype)
    cy = xp.empty(cs, data.dtype) if a["mode"] == "lstm" else None
    if masks is None:
        if rt.is_train and a["p"] > 0 and lyr > 1:
            keep_p = 1.0 - a["p"]
            masks = (rt.rng.uniform(0.0, 1.0, size=ms) < keep_p).astype(data.dtype) \
                * data.dtype.type(1.0 / keep_p)
        else:
            masks = xp.broadcast_to(xp.ones((), data.dtype), ms)
    x = data
    caches = []
    for layer in range(lyr):
        outs = []
        lc = []
        for j in range(d):
            k = layer * d + j
            c0 = state_cell[k] if state_cell is not None else None
            y, h, c, cache = _direction_fwd(xp, a, x, ws[layer][j], state[k], c0, valid,
                                            j == 1, keep)
            hy[k] = h
            if cy is not None:
                cy[k] = c
            outs.append(y)
            lc.append((x, cache))
        caches.append(lc)
        y = outs[0] if d == 1 else xp.concatenate(outs, axis=2)
        x = y * masks[layer] if layer < lyr - 1 else y
    return x, hy, cy, masks, caches


def _direction_bwd(xp, a, w, x, cache, dy, dh, dc, valid):
    """BPTT of one layer-direction: returns (dx, grads dict, dh0, dc0)."""
    mode = a["mode"]
    wh, wr = w["h2h_weight"], w["h2r_weight"]
    gdim = w["i2h_weight"].shape[0]
    dz_x = xp.zeros(x.shape[:2] + (gdim,), x.dtype)   # grads of the i2h pre-activations
    dz_h = xp.zeros_like(dz_x)                          # grads of the h2h pre-activations
    dwh = xp.zeros_like(wh)
    dwr = xp.zeros_like(wr) if wr is not None else None
    for step in reversed(cache):
        t = step["t"]
        h_prev, c_prev = step["h_prev"], step["c_prev"]
        v = valid[t] if valid is not None else None
        g_h = dh + (dy[t] * v if v is not None else dy[t])
        if v is not None:
            g_h = g_h * v  # a step past the sequence's end does not touch the state
        if mode in ("rnn_tanh", "rnn_relu"):
            pre = step["pre"]
            if mode == "rnn_tanh":
                th = xp.tanh(pre)
                dpre = g_h * (1 - th * th)
            else:
                dpre = g_h * (pre > 0)
            dz_x[t] = dpre
            dz_h[t] = dpre
            dh_prev = dpre @ wh
            dc_prev = None
        elif mode == "lstm":
            if wr is not None:
                dwr += g_h.T @ step["hcell"]
                dhc = g_h @ wr
            else:
                dhc = g_h
            ig, fg, gg, og, tc = step["ig"], step["fg"], step["gg"], step["og"], step["tc"]
            dcn = (dc * v if v is not None else dc) + dhc * og * (1 - tc * tc)
            if "inside" in step:
                dcn = dcn * step["inside"]
            dpre = xp.concatenate([dcn * gg * ig * (1 - ig), dcn * c_prev * fg * (1 - fg),
                                   dcn * ig * (1 - gg * gg), dhc * tc * og * (1 - og)], axis=1)
            dz_x[t] = dpre
            dz_h[t] = dpre
            dh_prev = dpre @ wh
            dc_prev = dcn * fg
            if v is not None:
                dc_prev = dc_prev + dc * (1 - v)
        else:  # gru
            r, u, nn, ghn = step["r"], step["u"], step["n"], step["ghn"]
            gv = g_h
            dn = gv * (1 - u)
            du = gv * (h_prev - nn)
            dnp = dn * (1 - nn * nn)                 # new-gate pre-activation
            dr = dnp * ghn
            drp = dr * r * (1 - r)
            dup = du * u * (1 - u)
            dz_x[t] = xp.concatenate([drp, dup, dnp], axis=1)
            dgh = xp.concatenate([drp, dup, dnp * r], axis=1)
            dz_h[t] = dgh
            dh_prev = dgh @ wh + gv * u
            dc_prev = None
        dwh += dz_h[t].T @ h_prev
        if v is not None:
            dh_prev = dh_prev + dh * (1 - v)
        dh, dc = dh_prev, dc_prev
    flat_x = x.reshape(-1, x.shape[2])
    gx = dz_x.reshape(-1, gdim)
    grads = {"i2h_weight": gx.T @ flat_x, "h2h_weight": dwh,
             "i2h_bias": gx.sum(axis=0), "h2h_bias": dz_h.reshape(-1, gdim).sum(axis=0)}
    if dwr is not None:
        grads["h2r_weight"] = dwr
    dx = dz_x @ w["i2h_weight"]
    return dx, grads, dh, dc


def _backward(rt, a, data, parameters, state, state_cell, seq_len, masks, g_out, g_hy, g_cy):
    xp = rt.xp
    t_count, n, i = data.shape
    d = 2 if a["bidirectional"] else 1
    lyr = a["num_layers"]
    _, _, _, _, caches = _forward(rt, a, data, parameters, state, state_cell, seq_len, masks,
                                  keep=True)
    ws = _unpack(parameters, a, i)
    valid = _valid(xp, seq_len, t_count, n, data.dtype)
    dstate = xp.zeros_like(state)
    dcell = xp.zeros_like(state_cell) if state_cell is not None else None
    gparams = {}
    dy = g_out
    r = state.shape[2]
    for layer in range(lyr - 1, -1, -1):
        if layer < lyr - 1:
            dy = dy * masks[layer]
        dx = None
        for j in range(d):
            k = layer * d + j
            x, cache = caches[layer][j]
            dc = g_cy[k] if state_cell is not None else None
            dxj, gr, dh0, dc0 = _direction_bwd(xp, a, ws[layer][j], x, cache,
                                               dy[:, :, j * r:(j + 1) * r], g_hy[k], dc, valid)
            dstate[k] = dh0
            if dcell is not None:
                dcell[k] = dc0
            for nm, g in gr.items():
                gparams[f"{'lr'[j]}{layer}_{nm}"] = g
            dx = dxj if dx is None else dx + dxj
        dy = dx
    shapes = rnn_param_shapes(a["mode"], lyr, a["bidirectional"], a["state_size"], i,
                              a["projection_size"])
    dparams = xp.concatenate([gparams[nm].reshape(-1) for nm, _ in shapes]) if shapes \
        else xp.zeros_like(parameters)
    return dy, dparams.astype(parameters.dtype, copy=False), dstate, dcell


def _work_dtype(x):
    return np.float32 if x.dtype == np.float16 else x.dtype


def _check_inputs(name, a, data, parameters, state, state_cell, sequence_length):
    if data.dtype.kind != "f":
        raise MXNetError(f"{name}: data must be a floating point array, got {data.dtype.name}")
    shapes = [data.shape, parameters.shape, state.shape]
    if a["mode"] == "lstm":
        if state_cell is None:
            raise MXNetError(f"{name}: mode='lstm' needs the state_cell input")
        shapes.append(state_cell.shape)
    elif state_cell is not None:
        raise MXNetError(f"{name}: state_cell is only an input with mode='lstm'")
    if a["use_sequence_length"]:
        if sequence_length is None:
            raise MXNetError(f"{name}: use_sequence_length=True needs the sequence_length "
                             "input")
        shapes.append(sequence_length.shape)
    elif sequence_length is not None:
        raise MXNetError(f"{name}: a sequence_length input needs use_sequence_length=True")
    _rnn_shape(a, shapes)
    _check_dtypes(name, [data, parameters, state] + ([state_cell] if state_cell is not None
                                                     else []))


def _split_optional(a, extras):
    """The optional inputs given positionally -> (state_cell, sequence_length)."""
    extras = [x for x in extras if x is not None]
    names = _rnn_inputs(a)[3:]
    if len(extras) != len(names):
        raise MXNetError(f"RNN: with mode={a['mode']!r} and use_sequence_length="
                         f"{a['use_sequence_length']} the inputs are {list(_rnn_inputs(a))}, "
                         f"got {3 + len(extras)}")
    got = dict(zip(names, extras))
    return got.get("state_cell"), got.get("sequence_length")


def _attrs(state_size, num_layers, bidirectional, mode, p, state_outputs, projection_size,
           lstm_state_clip_min, lstm_state_clip_max, lstm_state_clip_nan, use_sequence_length):
    return dict(state_size=state_size, num_layers=num_layers, bidirectional=bidirectional,
                mode=mode, p=p, state_outputs=state_outputs, projection_size=projection_size,
                lstm_state_clip_min=lstm_state_clip_min,
                lstm_state_clip_max=lstm_state_clip_max,
                lstm_state_clip_nan=lstm_state_clip_nan,
                use_sequence_length=use_sequence_length)


def _rnn_out_names(a):
    return ("output", "state_output") + (("statecell_output",) if a["mode"] == "lstm" else ()) \
        + ("mask",)


def _rnn_visible(a):
    return _n_out(a) if a["state_outputs"] else 1


@register("RNN", shape=_rnn_shape, dtype=_rnn_dtype, inputs=_rnn_inputs,
          num_outputs=lambda a: _n_out(a) + 1, visible_outputs=_rnn_visible,
          output_names=_rnn_out_names, tags=("random",), index_inputs=("sequence_length",))
def RNN(rt, data, parameters, state, state_cell=None, sequence_length=None, *,
        state_size: Int, num_layers: Int, bidirectional: Bool = False,
        mode: _MODE, p: Float = 0.0, state_outputs: Bool = False,
        projection_size: OptInt = None, lstm_state_clip_min: OptFloat = None,
        lstm_state_clip_max: OptFloat = None, lstm_state_clip_nan: Bool = False,
        use_sequence_length: Bool = False):
    """Fused multi-layer (bidirectional) Elman RNN, LSTM or GRU over a whole sequence
    (MXNet's ``RNN``); see the module docstring for the inputs, the packed parameter layout
    and the outputs ``(out[, hy[, cy]])``."""
    a = _attrs(state_size, num_layers, bidirectional, mode, p, state_outputs, projection_size,
               lstm_state_clip_min, lstm_state_clip_max, lstm_state_clip_nan,
               use_sequence_length)
    state_cell, sequence_length = _split_optional(a, (state_cell, sequence_length))
    _check_inputs("RNN", a, data, parameters, state, state_cell, sequence_length)
    xp = rt.xp
    wd = _work_dtype(data)
    cast = [None if x is None else x.astype(wd, copy=False)
            for x in (data, parameters, state, state_cell)]
    seq = _seq_lengths(xp, sequence_length, data.shape[0], data.shape[1])
    out, hy, cy, masks, _ = _forward(rt, a, *cast, seq, None)
    res = [out, hy] + ([cy] if mode == "lstm" else []) + [masks]
    return tuple(r.astype(data.dtype, copy=False) for r in res)


@RNN.gradient
def _(F, a, ins, outs, ogs, need):
    lstm = a["mode"] == "lstm"
    args = list(ins[:3]) + [outs[-1], ogs[0], ogs[1]]
    if lstm:
        args += [ins[3], ogs[2]]
    if a["use_sequence_length"]:
        args.append(ins[-1])
    grads = F._backward_RNN(*args, **a)
    grads = list(grads)
    if a["use_sequence_length"]:
        grads.append(None)
    return tuple(grads)


def _brnn_inputs(a):
    names = ["data", "parameters", "state", "mask", "out_grad", "hy_grad"]
    if a["mode"] == "lstm":
        names += ["state_cell", "cy_grad"]
    if a["use_sequence_length"]:
        names.append("sequence_length")
    return tuple(names)


def _brnn_shape(a, in_shapes):
    d = in_shapes[0]
    n = 4 if a["mode"] == "lstm" else 3
    if d is None:
        return list(in_shapes), [None] * n
    ps, ss, cs = _shapes(a, d)[:3]
    return list(in_shapes), [tuple(d), ps, ss] + ([cs] if n == 4 else [])


def _brnn_dtype(a, in_types, n_out):
    t = in_types[0]
    return list(in_types), [t] * n_out


@register("_backward_RNN", shape=_brnn_shape, dtype=_brnn_dtype, inputs=_brnn_inputs,
          num_outputs=lambda a: 4 if a["mode"] == "lstm" else 3,
          output_names=lambda a: ("data_grad", "parameters_grad", "state_grad")
          + (("state_cell_grad",) if a["mode"] == "lstm" else ()),
          index_inputs=("sequence_length",))
def _backward_RNN(rt, data, parameters, state, mask, out_grad, hy_grad, state_cell=None,
                  cy_grad=None, sequence_length=None, *, state_size: Int, num_layers: Int,
                  bidirectional: Bool = False, mode: _MODE, p: Float = 0.0,
                  state_outputs: Bool = False, projection_size: OptInt = None,
                  lstm_state_clip_min: OptFloat = None, lstm_state_clip_max: OptFloat = None,
                  lstm_state_clip_nan: Bool = False, use_sequence_length: Bool = False):
    """Gradients ``(data, parameters, state[, state_cell])`` of ``RNN`` (same attributes)
    by backpropagation through time, for the gradients ``out_grad``, ``hy_grad`` (and
    ``cy_grad``) of its outputs; ``mask`` is the forward's hidden dropout-mask output, so
    the forward recomputed here drops the same units."""
    a = _attrs(state_size, num_layers, bidirectional, mode, p, state_outputs, projection_size,
               lstm_state_clip_min, lstm_state_clip_max, lstm_state_clip_nan,
               use_sequence_length)
    extras = [x for x in (state_cell, cy_grad, sequence_length) if x is not None]
    want = (2 if mode == "lstm" else 0) + (1 if use_sequence_length else 0)
    if len(extras) != want:
        raise MXNetError(f"_backward_RNN: the inputs are {list(_brnn_inputs(a))}, got "
                         f"{6 + len(extras)}")
    state_cell = cy_grad = None
    if mode == "lstm":
        state_cell, cy_grad = extras[0], extras[1]
    sequence_length = extras[-1] if use_sequence_length else None
    _check_inputs("_backward_RNN", a, data, parameters, state, state_cell, sequence_length)
    sh = _shapes(a, data.shape)
    for nm, arr, s in (("mask", mask, sh[7]), ("out_grad", out_grad, sh[4]),
                       ("hy_grad", hy_grad, sh[5]), ("cy_grad", cy_grad, sh[6])):
        if arr is not None and tuple(arr.shape) != s:
            raise MXNetError(f"_backward_RNN: {nm} must have shape {s}, got "
                             f"{tuple(arr.shape)}")
    xp = rt.xp
    wd = _work_dtype(data)
    c = [None if x is None else x.astype(wd, copy=False)
         for x in (data, parameters, state, state_cell, mask, out_grad, hy_grad, cy_grad)]
    seq = _seq_lengths(xp, sequence_length, data.shape[0], data.shape[1])
    dx, dp, ds, dc = _backward(rt, a, c[0], c[1], c[2], c[3], seq, c[4], c[5], c[6], c[7])
    res = [dx, dp, ds] + ([dc] if mode == "lstm" else [])
    return tuple(r.astype(data.dtype, copy=False) for r in res)


# --- _rnn_param_concat ------------------------------------------------------------------------
def _pc_shape(attrs, in_shapes):
    if not in_shapes or any(s is None for s in in_shapes):
        return in_shapes, [None]
    return in_shapes, [_concat_shape("_rnn_param_concat", in_shapes, attrs["dim"])]


@register("_rnn_param_concat", shape=_pc_shape)
def _rnn_param_concat(rt, *data, num_args: Int = 0, dim: Int = 1):
    """``concat`` as Gluon's recurrent layers use it to pack their parameters into the
    flat vector of ``RNN`` (MXNet's ``_rnn_param_concat``)."""
    _check_num_args("_rnn_param_concat", len(data), num_args)
    _check_dtypes("_rnn_param_concat", data)
    _concat_shape("_rnn_param_concat", [x.shape for x in data], dim)
    return rt.xp.concatenate(data, axis=dim % data[0].ndim)


@_rnn_param_concat.gradient
def _(F, a, ins, outs, ogs, need):
    parts = F._backward_concat(ogs[0], *ins, dim=a["dim"])
    if len(ins) == 1:
        parts = [parts]
    return tuple(parts)
