"""Fused recurrent layers ``RNN``, ``LSTM`` and ``GRU`` (MXNet 1.9.1's
``gluon.rnn.rnn_layer``), running the ``RNN`` operator.

Parameters are MXNet's: ``{l|r}{layer}_{i2h|h2h}_{weight|bias}`` (and ``h2r_weight`` with an
LSTM projection), packed for the operator by ``_rnn_param_concat`` in MXNet's order, so an
MXNet-trained layer's parameters load and its exported graphs import. As in MXNet,
``save_parameters`` writes them under their historical names (``_unfused.0.i2h_weight``,
``_unfused.0.l_cell.i2h_weight`` when bidirectional), which ``load_parameters`` reads.

Called with ``states`` the layer returns ``(output, new_states)``, without them only the
output (zero initial states). ``input_size=0`` leaves the input size to the first call on
NDArrays; inside a hybridized parent block, give ``input_size`` (or call the net once
unhybridized) so the parameters' shapes are known when the parent's graph is built.
"""
from __future__ import annotations

import re

from ... import ndarray
from ...ndarray import NDArray
from ...ops.nn.rnn import rnn_param_shapes
from ..block import HybridBlock
from ..nn.activations import (_check_bool, _check_choice, _check_dtype, _check_init,
                              _check_int, _check_number)

__all__ = ["RNN", "LSTM", "GRU"]

_PARAM_KEY = re.compile(r"(l|r)(\d+)_(i2h|h2h|h2r)_(weight|bias)\Z")


class _RNNLayer(HybridBlock):
    """Implementation of the recurrent layers (see the subclasses)."""

    def __init__(self, hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                 i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                 h2h_bias_initializer, mode, projection_size, h2r_weight_initializer,
                 lstm_state_clip_min, lstm_state_clip_max, lstm_state_clip_nan, dtype,
                 use_sequence_length=False, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self._hidden_size = _check_int(name, "hidden_size", hidden_size, 1)
        self._num_layers = _check_int(name, "num_layers", num_layers, 1)
        self._layout = _check_choice(name, "layout", layout, ("TNC", "NTC"))
        self._dropout = _check_number(name, "dropout", dropout, 0.0, 1.0)
        if self._dropout >= 1.0:
            raise ValueError(f"{name}: dropout must lie in [0, 1), got {dropout}")
        self._dir = 2 if _check_bool(name, "bidirectional", bidirectional) else 1
        self._input_size = _check_int(name, "input_size", input_size, 0)
        if projection_size:
            projection_size = _check_int(name, "projection_size", projection_size, 1)
        self._projection_size = projection_size or None
        for arg, init in (("i2h_weight_initializer", i2h_weight_initializer),
                          ("h2h_weight_initializer", h2h_weight_initializer),
                          ("i2h_bias_initializer", i2h_bias_initializer),
                          ("h2h_bias_initializer", h2h_bias_initializer),
                          ("h2r_weight_initializer", h2r_weight_initializer)):
            _check_init(name, arg, init)
        self._i2h_weight_initializer = i2h_weight_initializer
        self._h2h_weight_initializer = h2h_weight_initializer
        self._i2h_bias_initializer = i2h_bias_initializer
        self._h2h_bias_initializer = h2h_bias_initializer
        self._h2r_weight_initializer = h2r_weight_initializer
        self._mode = mode
        self._lstm_state_clip_min = lstm_state_clip_min
        self._lstm_state_clip_max = lstm_state_clip_max
        self._lstm_state_clip_nan = lstm_state_clip_nan
        self._dtype = _check_dtype(name, "dtype", dtype)
        self._use_sequence_length = _check_bool(name, "use_sequence_length",
                                                use_sequence_length)
        self.skip_states = None
        self._gates = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}[mode]
        inits = {"i2h_weight": i2h_weight_initializer, "h2h_weight": h2h_weight_initializer,
                 "i2h_bias": i2h_bias_initializer, "h2h_bias": h2h_bias_initializer,
                 "h2r_weight": h2r_weight_initializer}
        # registered per layer and direction (i2h, h2h weights and biases, h2r), as MXNet
        shapes = dict(self._param_shapes(self._input_size))
        for layer in range(self._num_layers):
            for d in "lr"[:self._dir]:
                for g in ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias", "h2r_weight"):
                    key = f"{d}{layer}_{g}"
                    if key in shapes:
                        self._register_param(key, shapes[key], inits[g], dtype)

    def _param_shapes(self, input_size):
        return rnn_param_shapes(self._mode, self._num_layers, self._dir == 2,
                                self._hidden_size, input_size, self._projection_size)

    def _register_param(self, name, shape, init, dtype):
        p = self.params.get(name, shape=shape, init=init, allow_deferred_init=True,
                            dtype=dtype)
        setattr(self, name, p)
        return p

    def __repr__(self):
        s = "{name}({mapping}, {_layout}"
        if self._num_layers != 1:
            s += ", num_layers={_num_layers}"
        if self._dropout != 0:
            s += ", dropout={_dropout}"
        if self._dir == 2:
            s += ", bidirectional"
        s += ")"
        shape = self.l0_i2h_weight.shape
        mapping = "{0} -> {1}".format(shape[1] if shape[1] else None, shape[0] // self._gates)
        return s.format(name=type(self).__name__, mapping=mapping, **self.__dict__)

    def _collect_params_with_prefix(self, prefix=""):
        # MXNet 1.x saves the fused layer under its old unfused-cell names
        if prefix:
            prefix += "."
        bidirectional = self._dir == 2

        def convert_key(m):
            d, layer, g, t = (m.group(i) for i in range(1, 5))
            if bidirectional:
                return f"_unfused.{layer}.{d}_cell.{g}_{t}"
            return f"_unfused.{layer}.{g}_{t}"

        ret = {prefix + convert_key(_PARAM_KEY.match(key)): val
               for key, val in self._reg_params.items()}
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    def state_info(self, batch_size=0):
        """Shapes (and layouts, dtypes) of the begin states for ``batch_size``."""
        raise NotImplementedError

    def cast(self, dtype):
        super().cast(dtype)
        self._dtype = dtype

    def begin_state(self, batch_size=0, func=ndarray.zeros, **kwargs):
        """Initial states for a batch of ``batch_size``: ``func(name=..., shape=...,
        **kwargs)`` for each state (``ndarray.zeros`` by default; ``ctx``, ``dtype``, ...
        pass through ``kwargs``)."""
        states = []
        for i, info in enumerate(self.state_info(batch_size)):
            if info is not None:
                info.update(kwargs)
            else:
                info = kwargs
            states.append(func(name=f"{self.prefix}h0_{i}", **info))
        return states

    def _infer_input_size(self, inputs):
        """Complete deferred parameter shapes from an NDArray input's feature size."""
        if all(p.shape is not None and 0 not in p.shape for p in self._reg_params.values()):
            return
        if inputs.ndim != 3:
            raise ValueError(f"{type(self).__name__}: inputs must have 3 dimensions "
                             f"({self._layout}), got shape {inputs.shape}")
        for key, shape in self._param_shapes(inputs.shape[2]):
            self._reg_params[key]._infer_shape(shape)

    def __call__(self, inputs, states=None, sequence_length=None):
        self.skip_states = states is None
        if isinstance(inputs, NDArray):
            self._infer_input_size(inputs)
            if states is None:
                batch_size = inputs.shape[self._layout.find("N")]
                states = self.begin_state(batch_size, ctx=inputs.context, dtype=inputs.dtype)
        if isinstance(states, (NDArray,)) or (states is not None and
                                              not isinstance(states, (list, tuple))):
            states = [states]
        if self._use_sequence_length:
            if sequence_length is None:
                raise ValueError(f"{type(self).__name__}: use_sequence_length=True needs "
                                 "the sequence_length argument")
            out = super().__call__(inputs, states, sequence_length)
        else:
            if sequence_length is not None:
                raise ValueError(f"{type(self).__name__}: sequence_length was given but the "
                                 "layer was made with use_sequence_length=False")
            out = super().__call__(inputs, states)
        # the traced graph always returns the states too (one graph serves both kinds of
        # call); a call without states gets the output alone, as in MXNet
        return out[0] if self.skip_states else out

    def hybrid_forward(self, F, inputs, states=None, sequence_length=None, **kwargs):
        if F is ndarray:
            batch_size = inputs.shape[self._layout.find("N")]
            if len(states) != len(self.state_info(batch_size)):
                raise ValueError(f"{type(self).__name__}: expected "
                                 f"{len(self.state_info(batch_size))} state array(s), got "
                                 f"{len(states)}")
            for state, info in zip(states, self.state_info(batch_size)):
                if state.shape != info["shape"]:
                    raise ValueError("Invalid recurrent state shape. Expecting %s, got %s."
                                     % (str(info["shape"]), str(state.shape)))
        elif states is None:
            states = self._symbolic_begin_state(F, inputs)
        return self._forward_kernel(F, inputs, states, sequence_length, **kwargs)

    def _symbolic_begin_state(self, F, inputs):
        """Zero begin states built from the traced input (its batch size is unknown until
        the graph runs)."""
        t_axis = self._layout.find("T")
        step = F.slice_axis(inputs, axis=t_axis, begin=0, end=1)
        if t_axis != 0:
            step = F.swapaxes(step, dim1=0, dim2=t_axis)
        base = F.sum(F.zeros_like(step), axis=2, keepdims=True)      # (1, N, 1) of zeros
        return [F.broadcast_axis(base, axis=(0, 2), size=(info["shape"][0], info["shape"][2]))
                for info in self.state_info(0)]

    def _forward_kernel(self, F, inputs, states, sequence_length, **kwargs):
        """Run the fused ``RNN`` operator on the packed parameters."""
        if self._layout == "NTC":
            inputs = F.swapaxes(inputs, dim1=0, dim2=1)
        params = [kwargs[key].reshape(-1) for key, _ in self._param_shapes(0)]
        params = F._internal._rnn_param_concat(*params, dim=0)
        rnn_args = list(states) + ([sequence_length] if self._use_sequence_length else [])
        rnn = F.RNN(inputs, params, *rnn_args, use_sequence_length=self._use_sequence_length,
                    state_size=self._hidden_size, projection_size=self._projection_size,
                    num_layers=self._num_layers, bidirectional=self._dir == 2,
                    p=self._dropout, state_outputs=True, mode=self._mode,
                    lstm_state_clip_min=self._lstm_state_clip_min,
                    lstm_state_clip_max=self._lstm_state_clip_max,
                    lstm_state_clip_nan=self._lstm_state_clip_nan)
        if self._mode == "lstm":
            outputs, states = rnn[0], [rnn[1], rnn[2]]
        else:
            outputs, states = rnn[0], [rnn[1]]
        if self._layout == "NTC":
            outputs = F.swapaxes(outputs, dim1=0, dim2=1)
        return outputs, states


_INIT_DOC = """
    hidden_size : int
        The number of features in the hidden state h.
    num_layers : int, default 1
        Number of recurrent layers.
    layout : str, default 'TNC'
        The format of input and output tensors: 'TNC' or 'NTC'.
    dropout : float, default 0
        If non-zero, dropout on the outputs of each layer except the last (in training).
    bidirectional : bool, default False
        If True, becomes a bidirectional RNN (outputs concatenate both directions).
    input_size : int, default 0
        The number of expected features in the input; 0 infers it from the first input.
    i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
    h2h_bias_initializer : str or Initializer
        Initializers of the parameters (biases default to 'zeros').
    dtype : str, default 'float32'
        Type of the parameters and of the default begin states.
"""


class RNN(_RNNLayer):
    """Multi-layer Elman RNN with ``tanh`` or ``relu`` non-linearity (MXNet's
    ``gluon.rnn.RNN``): ``h_t = act(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)``.

    Parameters
    ----------""" + _INIT_DOC + """    activation : {'relu', 'tanh'}, default 'relu'

    Called as ``layer(data[, states])``: ``data`` ``(T, N, C)`` (layout 'TNC'); ``states`` one
    array ``(num_layers * D, N, hidden_size)``. Returns the output ``(T, N, D*hidden_size)``,
    and the new states when ``states`` were given.
    """

    def __init__(self, hidden_size, num_layers=1, activation="relu", layout="TNC", dropout=0,
                 bidirectional=False, i2h_weight_initializer=None,
                 h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", input_size=0, dtype="float32", **kwargs):
        _check_choice("RNN", "activation", activation, ("relu", "tanh"))
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer,
                         i2h_bias_initializer, h2h_bias_initializer, "rnn_" + activation,
                         None, None, None, None, False, dtype, **kwargs)

    def state_info(self, batch_size=0):
        return [{"shape": (self._num_layers * self._dir, batch_size, self._hidden_size),
                 "__layout__": "LNC", "dtype": self._dtype}]


class LSTM(_RNNLayer):
    """Multi-layer long short-term memory RNN (MXNet's ``gluon.rnn.LSTM``); gates in MXNet's
    order input, forget, cell, output: ``c_t = f*c_(t-1) + i*g``, ``h_t = o*tanh(c_t)``.

    Parameters
    ----------""" + _INIT_DOC + """    projection_size : int, default None
        With a value, the hidden state is projected to this size (``h2r_weight``).
    h2r_weight_initializer : str or Initializer
        Initializer of the projection weights.
    state_clip_min, state_clip_max : float or None
        Clip the cell state into this range after every step (both or neither).
    state_clip_nan : bool, default False
        Turn NaN cell states into ``state_clip_min`` (only with clipping).

    Called as ``layer(data[, [h0, c0]])``; returns the output, and ``[h, c]`` when states
    were given.
    """

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0,
                 bidirectional=False, input_size=0, i2h_weight_initializer=None,
                 h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", projection_size=None,
                 h2r_weight_initializer=None, state_clip_min=None, state_clip_max=None,
                 state_clip_nan=False, dtype="float32", **kwargs):
        if (state_clip_min is None) != (state_clip_max is None):
            raise ValueError("LSTM: state_clip_min and state_clip_max must be given together")
        if state_clip_min is not None:
            _check_number("LSTM", "state_clip_min", state_clip_min)
            _check_number("LSTM", "state_clip_max", state_clip_max, state_clip_min)
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer,
                         i2h_bias_initializer, h2h_bias_initializer, "lstm", projection_size,
                         h2r_weight_initializer, state_clip_min, state_clip_max,
                         _check_bool("LSTM", "state_clip_nan", state_clip_nan), dtype,
                         **kwargs)

    def state_info(self, batch_size=0):
        n = self._num_layers * self._dir
        return [{"shape": (n, batch_size, self._projection_size or self._hidden_size),
                 "__layout__": "LNC", "dtype": self._dtype},
                {"shape": (n, batch_size, self._hidden_size),
                 "__layout__": "LNC", "dtype": self._dtype}]


class GRU(_RNNLayer):
    """Multi-layer gated recurrent unit RNN, cuDNN's variant as in MXNet (``gluon.rnn.GRU``):
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``, gates in
    the order reset, update, new.

    Parameters
    ----------""" + _INIT_DOC + """
    Called as ``layer(data[, states])``; returns the output, and the new states when states
    were given.
    """

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0,
                 bidirectional=False, input_size=0, i2h_weight_initializer=None,
                 h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", dtype="float32", **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer,
                         i2h_bias_initializer, h2h_bias_initializer, "gru", None, None, None,
                         None, False, dtype, **kwargs)

    def state_info(self, batch_size=0):
        return [{"shape": (self._num_layers * self._dir, batch_size, self._hidden_size),
                 "__layout__": "LNC", "dtype": self._dtype}]
