"""``SymbolBlock``: a HybridBlock built from a Symbol — MXNet exports, our exports, or the
internal outputs of another network (MXNet's ``gluon.SymbolBlock``)."""
from __future__ import annotations

import numpy as np

from ..base import MXNetError, mx_real_t
from .. import symbol as _sym
from ..ndarray import NDArray
from .block import HybridBlock
from .cached_op import CachedOp, flatten, regroup
from .parameter import ParameterDict

__all__ = ["SymbolBlock"]


class SymbolBlock(HybridBlock):
    """Run the graph ``outputs`` (a Symbol or list) with ``inputs`` (variables) as its
    inputs; every other variable becomes a Parameter of the block (auxiliary states with
    ``grad_req='null'``), taken from ``params`` when given (sharing with another block).

    As in MXNet, calls on NDArrays always run the symbol as one compiled graph (so
    ``hybridize()`` only sets ``static_alloc``/``static_shape``), under ``autograd.record()``
    as one tape entry; parameters of unknown shape are inferred from the first call's input
    shapes. Called on Symbols — directly, or while a hybridized parent traces it — the block
    returns its symbol composed onto them. A multi-output symbol gives a list.
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
        out, self._out_fmt = _flatten_outputs(outputs)
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
        """On NDArrays, run the symbol compiled (as MXNet does, whether or not the block is
        hybridized); the first call infers the shapes of deferred parameters from the input
        shapes. On Symbols (a hybridized parent tracing this block, or a direct symbolic
        call), return the block's symbol with its inputs replaced by ``x, *args``."""
        if isinstance(x, _sym.Symbol):
            return self._compose((x,) + args)
        if not isinstance(x, NDArray):
            raise TypeError("SymbolBlock requires the first argument to forward be either "
                            f"Symbol or NDArray, but got {type(x).__name__}")
        with x.context:
            return self._call_cached_op(x, *args)

    def _call_cached_op(self, *args):
        # the graph is the block's own symbol, with its own input names: no tracing
        if self._cached_op is None:
            self._cached_op = _SymbolCachedOp(self)
        return self._cached_op(args)

    def _compose(self, args):
        flat, fmt = flatten(list(args), "input")
        if fmt != self._in_fmt:
            raise ValueError(f"SymbolBlock: the inputs' structure {fmt} does not match the "
                             f"block's inputs {self._input_names} (structure {self._in_fmt})")
        given = {}
        for name, s in zip(self._input_names, flat):
            if not isinstance(s, _sym.Symbol):
                raise TypeError(f"SymbolBlock: input {name!r} must be a Symbol like the first "
                                f"input, got {type(s).__name__}")
            if len(s) != 1:
                raise MXNetError(f"SymbolBlock: input {name!r} must be a single-output Symbol, "
                                 f"got one with {len(s)} outputs {s.list_outputs()}")
            given[name] = s
        return regroup(list(_substitute(self._symbol, given)), self._out_fmt)

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise MXNetError("SymbolBlock runs its symbol directly")


def _flatten_outputs(outputs):
    """Nested lists of Symbols -> flat single-output Symbols and their format; a Symbol with
    n > 1 outputs (a Group) counts as a list of n, so calls return a list (as in MXNet)."""
    if isinstance(outputs, _sym.Symbol):
        n = len(outputs)
        return list(outputs), (n if n > 1 else 0)
    if not isinstance(outputs, (list, tuple)):
        raise TypeError("SymbolBlock: outputs must be a Symbol or (nested) lists of Symbols, "
                        f"got {type(outputs).__name__}")
    flat, fmts = [], []
    for o in outputs:
        f, fmt = _flatten_outputs(o)
        flat.extend(f)
        fmts.append(fmt)
    return flat, fmts


def _substitute(symbol, given):
    """A copy of ``symbol`` whose input variables named in ``given`` are replaced by those
    (single-output) Symbols — MXNet's ``Symbol._compose``. Operator nodes are copied so
    ``symbol`` itself is unchanged; the other variables (the parameters) are shared."""
    from ..symbol.symbol import Symbol, _Node, _topo
    entry = {}  # id(old node) -> its replacement entry, for substituted variables
    new = {}    # id(old node) -> the node standing for it in the copy
    for n in _topo(symbol._outputs):
        if n.op is None:
            if n.name in given:
                entry[id(n)] = given[n.name]._outputs[0]
            else:
                new[id(n)] = n
            continue
        ins = [entry[id(src)] if id(src) in entry else (new[id(src)], i)
               for src, i in n.inputs]
        new[id(n)] = _Node(n.op, n.name, n.attrs, n.given, n.user, ins)
    return Symbol([entry[id(n)] if id(n) in entry else (new[id(n)], i)
                   for n, i in symbol._outputs])


class _SymbolCachedOp(CachedOp):
    """A CachedOp whose graph is the SymbolBlock's symbol (no tracing), with the block's
    input names as its data inputs."""

    def _trace(self, args):
        blk = self.block
        flat, fmt = flatten(list(args), "input")
        if fmt != blk._in_fmt:
            # MXNet: "The argument structure of HybridBlock does not match the cached version"
            raise ValueError(f"SymbolBlock expects {len(blk._input_names)} input(s) "
                             f"{blk._input_names} in the structure {blk._in_fmt}, got the "
                             f"structure {fmt}")
        self.in_format = fmt
        self.data_names = list(blk._input_names)
        self.symbol = blk._symbol
        self.out_format = blk._out_fmt
        self._link_inputs(dict(blk.params.items()))
