"""``SymbolBlock``: a HybridBlock built from a Symbol — MXNet exports, our exports, or the
internal outputs of another network (MXNet's ``gluon.SymbolBlock``)."""
from __future__ import annotations

import numpy as np

from ..base import MXNetError, mx_real_t
from .. import symbol as _sym
from ..ndarray import NDArray
from .block import HybridBlock
from .cached_op import CachedOp, flatten
from .parameter import ParameterDict

__all__ = ["SymbolBlock"]


class SymbolBlock(HybridBlock):
    """Run the graph ``outputs`` (a Symbol or list) with ``inputs`` (variables) as its
    inputs; every other variable becomes a Parameter of the block (auxiliary states with
    ``grad_req='null'``), taken from ``params`` when given (sharing with another block).
    """

    @staticmethod
    def imports(symbol_file, input_names, param_file=None, ctx=None, allow_missing=False,
                ignore_extra=False):
        """Load a block exported by ``HybridBlock.export`` (or MXNet's
        ``save_checkpoint``): ``symbol_file`` is the ``-symbol.json``, ``param_file`` the
        ``.params`` with ``arg:``/``aux:`` names (parameters keep their saved dtypes)."""
        sym = _sym.load(symbol_file)
        if isinstance(input_names, str):
            input_names = [input_names]
        if param_file is None:
            inputs = [_sym.var(i, dtype=mx_real_t) for i in input_names]
        else:
            inputs = [_sym.var(i) for i in input_names]
        ret = SymbolBlock(sym, inputs)
        if param_file is not None:
            ret.collect_params().load(param_file, ctx, allow_missing, ignore_extra,
                                      cast_dtype=True, dtype_source="saved")
        return ret

    def __init__(self, outputs, inputs, params=None):
        super().__init__(prefix=None, params=None)
        self._prefix = ""
        self._params = ParameterDict("", params)
        if isinstance(inputs, _sym.Symbol) and len(inputs) == 1:
            inputs = [inputs]
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            outputs = outputs[0]
        syms, self._in_fmt = flatten(inputs, "input")
        out, self._out_fmt = flatten(outputs, "output")
        input_names = []
        for s in syms:
            if not isinstance(s, _sym.Symbol) or len(s.get_internals().list_outputs()) != 1:
                raise MXNetError(f"Input symbols must be variables, but {s} is an output of "
                                 "operators")
            input_names.append(s.name)
        self._input_names = input_names
        self._symbol = _sym.Group(out) if len(out) > 1 else out[0]
        arg_names = self._symbol.list_arguments()
        aux_names = self._symbol.list_auxiliary_states()
        types = self._symbol.infer_type(**{n: "float32" for n in input_names
                                           if n in arg_names})
        arg_types = dict(zip(arg_names, types[0])) if types[0] is not None else {}
        aux_types = dict(zip(aux_names, types[2])) if types[2] is not None else {}
        for n in arg_names:
            if n not in input_names:
                self.params.get(n, allow_deferred_init=True,
                                dtype=arg_types.get(n, np.float32))
        for n in aux_names:
            if n not in input_names:
                self.params.get(n, grad_req="null", allow_deferred_init=True,
                                dtype=aux_types.get(n, np.float32))
        for n, p in self.params.items():
            self._reg_params[n] = p

    def __repr__(self):
        return (f"SymbolBlock(\n  (graph): {len(self._input_names)} input(s) -> "
                f"{len(self._symbol)} output(s) {self._symbol.list_outputs()}\n)")

    def forward(self, x, *args):
        if isinstance(x, _sym.Symbol):
            raise MXNetError("SymbolBlock cannot be called on Symbols; compose its symbol "
                             "instead")
        if not isinstance(x, NDArray):
            raise TypeError("SymbolBlock requires the first argument to forward be either "
                            f"Symbol or NDArray, but got {type(x).__name__}")
        if self._cached_op is None:
            self._cached_op = _SymbolCachedOp(self)
        with x.context:
            return self._cached_op((x,) + args)

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise MXNetError("SymbolBlock runs its symbol directly")


class _SymbolCachedOp(CachedOp):
    """A CachedOp whose graph is the SymbolBlock's symbol (no tracing)."""

    def _trace(self, args):
        blk = self.block
        flat, self.in_format = flatten(list(args), "input")
        if len([a for a in flat if a is not None]) != len(blk._input_names):
            raise MXNetError(f"SymbolBlock expects {len(blk._input_names)} input(s) "
                             f"({blk._input_names}), got {len(flat)}")
        self.data_names = list(blk._input_names)
        self.symbol = blk._symbol
        self.out_format = blk._out_fmt
        params = dict(blk.params.items())
        self.inputs = [("data", self.data_names.index(n)) if n in self.data_names
                       else ("param", params[n]) for n in self.symbol.list_inputs()]

