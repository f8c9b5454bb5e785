"""Recurrent neural network layers and cells (MXNet 1.9.1's ``gluon.rnn``): the fused
layers ``RNN``, ``LSTM``, ``GRU`` and the step-wise cells with ``unroll``."""
from .rnn_cell import *  # noqa: F401,F403
from .rnn_layer import *  # noqa: F401,F403
from . import rnn_cell, rnn_layer  # noqa: F401
