"""``Block`` and ``HybridBlock``: the building blocks of Gluon models (MXNet 1.x semantics).

Naming follows MXNet: a block's prefix is its class name plus a counter (``dense0_``),
unique per enclosing ``name_scope()`` (or process-wide at top level); parameters are named
``prefix + name`` (``dense0_weight``) and saved by structure (``0.weight``) with
``save_parameters``.

A ``HybridBlock`` is written once as ``hybrid_forward(self, F, x, *args, **params)`` with
``F`` the operator namespace. Called on NDArrays it runs imperatively with ``F = nd`` and its
parameters passed as keyword arrays; parameters whose shapes are still unknown are handed
over as :class:`DeferredArray` and take their shapes from the operators that consume them.
"""
from __future__ import annotations

import re
import threading
import warnings
from collections import OrderedDict, defaultdict

from .. import initializer, name as _name
from .. import ndarray as nd
from ..lru import check_size
from ..ndarray import NDArray
from .parameter import Parameter, ParameterDict, _brief

__all__ = ["Block", "HybridBlock", "HookHandle"]

# creating a block's CachedOp (rare): two threads' first calls must not each make one
_cached_op_lock = threading.Lock()


class _BlockScope:
    """The scope of a block's ``name_scope()``: children created inside get prefixes
    relative to it."""

    _current = threading.local()

    def __init__(self, block):
        self._block = block
        self._counter: dict = {}
        self._old_scope = None
        self._name_scope = None

    @staticmethod
    def create(prefix, params, hint):
        """Prefix and ParameterDict for a new block."""
        current = getattr(_BlockScope._current, "value", None)
        if current is None:
            if prefix is None:
                prefix = _name.current().get(None, hint) + "_"
            params = ParameterDict(prefix) if params is None else \
                ParameterDict(params.prefix, params)
            return prefix, params
        if prefix is None:
            count = current._counter.get(hint, 0)
            prefix = f"{hint}{count}_"
            current._counter[hint] = count + 1
        if params is None:
            parent = current._block.params
            params = ParameterDict(parent.prefix + prefix, parent._shared)
        else:
            params = ParameterDict(params.prefix, params)
        return current._block.prefix + prefix, params

    def __enter__(self):
        if self._block._empty_prefix:
            return self
        self._old_scope = getattr(_BlockScope._current, "value", None)
        _BlockScope._current.value = self
        self._name_scope = _name.Prefix(self._block.prefix)
        self._name_scope.__enter__()
        return self

    def __exit__(self, *exc):
        if self._block._empty_prefix:
            return
        self._name_scope.__exit__(*exc)
        self._name_scope = None
        _BlockScope._current.value = self._old_scope


class HookHandle:
    """Returned by ``register_forward_hook``; ``detach()`` removes the hook."""

    def __init__(self):
        self._hooks = None
        self._id = None

    def attach(self, hooks_dict, hook):
        if self._hooks is not None:
            raise AssertionError("The same handle cannot be attached twice.")
        self._id = id(hook)
        hooks_dict[self._id] = hook
        self._hooks = hooks_dict

    def detach(self):
        if self._hooks is not None:
            self._hooks.pop(self._id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.detach()


class _Children(OrderedDict):
    """The registered children, by name. ``append`` keeps code written for early Gluon
    (where ``_children`` was a list, e.g. hand-written Sequential containers) working."""

    def append(self, block):
        self[str(len(self))] = block


def _indent(s, n):
    lines = s.split("\n")
    return "\n".join([lines[0]] + [" " * n + line for line in lines[1:]])


def _sym_module():
    from .. import symbol
    return symbol


def _has_symbol(args):
    """Whether (nested lists of) ``args`` hold a Symbol: the block is being traced."""
    from ..symbol import Symbol
    for a in args:
        if isinstance(a, Symbol):
            return True
        if isinstance(a, (list, tuple)) and _has_symbol(a):
            return True
    return False


def _find_ctx(args):
    for a in args:
        if isinstance(a, NDArray):
            return a.context
        if isinstance(a, (list, tuple)):
            c = _find_ctx(a)
            if c is not None:
                return c
    return None


class Block:
    """Base class of all layers and models (MXNet's ``gluon.Block``).

    Assign child blocks and Parameters as attributes (they are registered), implement
    ``forward(self, *args)``, call the block like a function. ``prefix`` names the block's
    parameters; ``params`` shares another block's ParameterDict.
    """

    def __init__(self, prefix=None, params=None):
        self._empty_prefix = prefix == ""
        self._prefix, self._params = _BlockScope.create(prefix, params, self._alias())
        self._name = self._prefix[:-1] if self._prefix.endswith("_") else self._prefix
        self._scope = _BlockScope(self)
        self._children = _Children()
        self._reg_params = {}
        self._forward_hooks = OrderedDict()
        self._forward_pre_hooks = OrderedDict()

    def __repr__(self):
        modstr = "\n".join(f"  ({key}): {_indent(repr(block), 2)}"
                           for key, block in self.__dict__.items() if isinstance(block, Block))
        return f"{type(self).__name__}(\n{modstr}\n)"

    def __setattr__(self, name, value):
        if hasattr(self, name) and not name.startswith("__"):
            existing = getattr(self, name)
            if isinstance(existing, (Parameter, Block)) and not isinstance(value, type(existing)):
                raise TypeError(f"Changing attribute type for {name} from {type(existing)} to "
                                f"{type(value)} is not allowed.")
        if isinstance(value, Block):
            self.register_child(value, name)
        elif isinstance(value, Parameter):
            if name in self._reg_params and self._reg_params[name] is not value:
                raise AssertionError(f"Overriding Parameter attribute {name} is not allowed. If "
                                     "you want to share parameters between blocks, please set "
                                     "'params' at Block construction instead.")
            self._reg_params[name] = value
        super().__setattr__(name, value)

    def _check_container_with_block(self):
        children = set(self._children.values())

        def find(data):
            if isinstance(data, (list, tuple)):
                return any(find(e) for e in data)
            if isinstance(data, dict):
                return any(find(v) for v in data.values())
            return isinstance(data, Block) and data not in children

        for k, v in self.__dict__.items():
            if isinstance(v, (list, tuple, dict)) and not (k.startswith("__") or k == "_children"):
                if find(v):
                    warnings.warn(f'"{type(self).__name__}.{k}" is an unregistered container '
                                  "with Blocks. Note that Blocks inside the list, tuple or dict "
                                  "will not be registered automatically. Make sure to register "
                                  "them using register_child() or switching to "
                                  "nn.Sequential/nn.HybridSequential instead.", stacklevel=3)

    def _alias(self):
        return type(self).__name__.lower()

    @property
    def prefix(self):
        """Prefix of this block's parameter (and child) names."""
        return self._prefix

    @property
    def name(self):
        """Name of this block (the prefix without the trailing underscore)."""
        return self._name

    def name_scope(self):
        """``with block.name_scope():`` — children created inside are named under it."""
        return self._scope

    @property
    def params(self):
        """This block's own ParameterDict (not its children's; see collect_params)."""
        return self._params

    def collect_params(self, select=None):
        """A ParameterDict of this block's and all descendants' parameters, optionally only
        those whose names match the regex ``select`` (e.g. ``'.*weight|.*bias'``)."""
        self._check_container_with_block()
        ret = ParameterDict(self._params.prefix)
        if not select:
            ret.update(self.params)
        else:
            pattern = re.compile(select)
            ret.update({k: v for k, v in self.params.items() if pattern.match(k)})
        for child in self._children.values():
            ret.update(child.collect_params(select=select))
        return ret

    def _collect_params_with_prefix(self, prefix=""):
        if prefix:
            prefix += "."
        ret = {prefix + key: val for key, val in self._reg_params.items()}
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    # --- saving / loading ---------------------------------------------------------------------
    def save_parameters(self, filename, deduplicate=False):
        """Save parameters by structure (``0.weight``, ``features.3.bias``) in MXNet's format;
        ``deduplicate`` saves shared parameters once."""
        params = self._collect_params_with_prefix()
        if deduplicate:
            reverse = {v: k for k, v in params.items()}
            params = {k: v for v, k in reverse.items()}
        nd.save(filename, {key: val._reduce() for key, val in params.items()})

    def save_params(self, filename):
        """Deprecated: save with prefixed names (use ``save_parameters``)."""
        warnings.warn("save_params is deprecated. Please use save_parameters. Note that if you "
                      "want to load from SymbolBlock later, please use export instead.",
                      DeprecationWarning, stacklevel=2)
        self.collect_params().save(filename, strip_prefix=self.prefix)

    def load_parameters(self, filename, ctx=None, allow_missing=False, ignore_extra=False,
                        cast_dtype=False, dtype_source="current"):
        """Load parameters saved by ``save_parameters`` (or, for files without structural
        names, by ``save_params``/``ParameterDict.save``), MXNet's files included.

        Everything is checked first: if anything is missing, extra, or of the wrong shape or
        dtype, an error says which parameter and nothing is changed.
        """
        loaded = nd.load(filename)
        if not isinstance(loaded, dict):
            raise ValueError(f"load_parameters: file '{filename}' holds an unnamed list of "
                             "arrays, not named parameters")
        params = self._collect_params_with_prefix()
        if not loaded and not params:
            return
        if not any("." in k for k in loaded):
            # files written by save_params / ParameterDict.save: prefixed names
            self.collect_params().load(filename, ctx, allow_missing, ignore_extra, self.prefix,
                                       cast_dtype=cast_dtype, dtype_source=dtype_source)
            return
        if not allow_missing:
            names_of = defaultdict(list)
            for k, v in params.items():
                names_of[v].append(k)
            for name, param in params.items():
                if not any(p in loaded for p in names_of[param]):
                    raise AssertionError(
                        f"Parameter '{name}' is missing in file '{filename}', which contains "
                        f"parameters: {_brief(loaded.keys())}. Set allow_missing=True to ignore "
                        "missing parameters.")
        plan = []
        for name, arr in loaded.items():
            if name not in params:
                if not ignore_extra:
                    raise ValueError(
                        f"Parameter '{name}' loaded from file '{filename}' is not present in "
                        f"ParameterDict, which contains parameters {_brief(params.keys())}. Set "
                        "ignore_extra=True to ignore. ")
                continue
            p = params[name]
            plan.append((p,) + p._check_load(arr, cast_dtype, dtype_source))
        for p, data, dtype in plan:
            p._apply_load(data, dtype, ctx)

    def load_params(self, filename, ctx=None, allow_missing=False, ignore_extra=False):
        """Deprecated: use ``load_parameters``."""
        warnings.warn("load_params is deprecated. Please use load_parameters.",
                      DeprecationWarning, stacklevel=2)
        self.load_parameters(filename, ctx, allow_missing, ignore_extra)

    # --- structure ----------------------------------------------------------------------------
    def register_child(self, block, name=None):
        """Register ``block`` as a child (attribute assignment does this automatically)."""
        if name is None:
            name = str(len(self._children))
        self._children[name] = block

    def register_forward_pre_hook(self, hook):
        """Call ``hook(block, inputs)`` before every forward; returns a HookHandle."""
        handle = HookHandle()
        handle.attach(self._forward_pre_hooks, hook)
        return handle

    def register_forward_hook(self, hook):
        """Call ``hook(block, inputs, outputs)`` after every forward; returns a HookHandle."""
        handle = HookHandle()
        handle.attach(self._forward_hooks, hook)
        return handle

    def apply(self, fn):
        """Call ``fn(block)`` on every descendant, then on this block; returns self."""
        for child in self._children.values():
            child.apply(fn)
        fn(self)
        return self

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False,
                   force_reinit=False):
        """Initialise this block's and its descendants' parameters (see
        ``ParameterDict.initialize``)."""
        self.collect_params().initialize(init, ctx, verbose, force_reinit)

    def hybridize(self, active=True, **kwargs):
        """Turn hybridisation on or off for every HybridBlock below (plain Blocks just pass
        it on to their children)."""
        for child in self._children.values():
            child.hybridize(active, **kwargs)

    def cast(self, dtype):
        """Convert every parameter to ``dtype``."""
        for child in self._children.values():
            child.cast(dtype)
        for param in self.params.values():
            param.cast(dtype)

    def __call__(self, *args):
        for hook in self._forward_pre_hooks.values():
            hook(self, args)
        out = self.forward(*args)
        for hook in self._forward_hooks.values():
            hook(self, args, out)
        return out

    def forward(self, *args):
        """Override with the computation, on NDArrays."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def summary(self, *inputs):
        """Print MXNet's table of each layer's output shape and parameter count for
        ``inputs`` (the network must be initialised and not hybridised)."""
        summary = OrderedDict()
        seen = set()
        hooks = []

        def shape_str(args):
            def shapes(a):
                if isinstance(a, (list, tuple)):
                    return [shapes(x) for x in a]
                return a.shape if isinstance(a, NDArray) else a
            s = shapes(args)
            return str(s)[1:-1] if isinstance(s, list) else str(s)

        def register(block):
            if isinstance(block, HybridBlock) and block._active:
                raise AssertionError(f'"{block.name}" must not be hybridized to print summary.')

            def hook(blk, _, outputs):
                key = f"{type(blk).__name__}-{len(summary)}"
                entry = summary[key] = OrderedDict()
                entry["output_shape"] = shape_str(outputs)
                entry["n_params"] = entry["trainable"] = entry["shared"] = 0
                for p in blk.params.values():
                    n = p.data().size
                    entry["n_params"] += n
                    entry["trainable"] += 0 if p.grad_req == "null" else n
                    if p in seen:
                        entry["shared"] += n
                    else:
                        seen.add(p)

            from .nn.sequential import Sequential, HybridSequential
            if not isinstance(block, (Sequential, HybridSequential)):
                hooks.append(block.register_forward_hook(hook))

        summary["Input"] = OrderedDict(output_shape=shape_str(inputs), n_params=0,
                                       trainable=0, shared=0)
        try:
            self.apply(register)
            self(*inputs)
            fmt = "{:>20}  {:>42} {:>15}"
            print("-" * 80)
            print(fmt.format("Layer (type)", "Output Shape", "Param #"))
            print("=" * 80)
            total = trainable = shared = 0
            for layer, e in summary.items():
                print(fmt.format(layer, str(e["output_shape"]), e["n_params"]))
                total += e["n_params"]
                trainable += e["trainable"]
                shared += e["shared"]
            print("=" * 80)
            print("Parameters in forward computation graph, duplicate included")
            print("   Total params: " + str(total))
            print("   Trainable params: " + str(trainable))
            print("   Non-trainable params: " + str(total - trainable))
            print("Shared params in forward computation graph: " + str(shared))
            print("Unique parameters in model: " + str(total - shared))
            print("-" * 80)
        finally:
            for h in hooks:
                h.detach()


class HybridBlock(Block):
    """A Block written once as ``hybrid_forward(self, F, x, *args, **params)``.

    On NDArrays ``F`` is ``mx.nd`` and the block's registered parameters arrive as keyword
    arrays; on Symbols ``F`` is ``mx.sym`` and they arrive as variables. After
    ``hybridize()`` a call traces the block once into a Symbol and runs it compiled (see
    :mod:`gluonlite.gluon.cached_op`): the Python body runs only when tracing. Children must
    be HybridBlocks too. A subclass may instead override ``forward`` (MXNet 2.x style);
    hybridized, that forward is traced with Symbols.
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._active = False
        self._flags = []
        self._cached_op = None

    def register_child(self, block, name=None):
        if not isinstance(block, HybridBlock):
            raise ValueError(
                f"Children of HybridBlock must also be HybridBlock, but {block} has type "
                f"{type(block)}. If you are using Sequential, please try HybridSequential "
                "instead.")
        super().register_child(block, name)
        self._clear_cached_op()

    def _clear_cached_op(self):
        self._cached_op = None

    def hybridize(self, active=True, static_alloc=False, static_shape=False,
                  program_cache_size=None, **kwargs):
        """Compile this block (and its HybridBlock children) on the next call: the graph is
        traced once and compiled per input signature; ``hybridize(False)`` returns to
        imperative execution. ``static_alloc``/``static_shape`` are accepted as in MXNet
        (``static_alloc`` keeps each program's buffers across calls).

        ``program_cache_size`` (gluonlite only; MXNet has no per-shape programs) is how many
        compiled programs — one per input signature (shapes, dtypes, train/predict mode) —
        the block keeps, least recently used evicted first; default
        ``$GLUONLITE_PROGRAM_CACHE_SIZE`` or 32. An evicted signature compiles again when
        it comes back."""
        if program_cache_size is not None:
            program_cache_size = check_size(program_cache_size, "hybridize: program_cache_size")
        self._active = active
        self._flags = [("static_alloc", static_alloc), ("static_shape", static_shape)]
        if program_cache_size is not None:
            self._flags.append(("program_cache_size", program_cache_size))
        self._clear_cached_op()
        if active and (self._forward_hooks or self._forward_pre_hooks):
            warnings.warn(f'"{self}" is being hybridized while still having forward '
                          "hook/pre-hook. If it is a child of HybridBlock, the hooks will not "
                          "take effect.")
        super().hybridize(active, static_alloc=static_alloc, static_shape=static_shape,
                          program_cache_size=program_cache_size, **kwargs)

    def cast(self, dtype):
        self._clear_cached_op()
        super().cast(dtype)

    def forward(self, x, *args):
        if _has_symbol((x,) + args):
            params = {k: v.var() for k, v in self._reg_params.items()}
            with self.name_scope():
                return self.hybrid_forward(_sym_module(), x, *args, **params)
        ctx = _find_ctx((x,) + args)
        if ctx is None:
            raise ValueError(f"{type(self).__name__}: HybridBlock inputs must include at least "
                             f"one NDArray, got {type(x).__name__}")
        if self._active:
            return self._call_cached_op(x, *args)
        with ctx:
            params = {k: v._data_or_deferred(ctx) for k, v in self._reg_params.items()}
            return self.hybrid_forward(nd, x, *args, **params)

    def __call__(self, *args):
        op = self._cached_op
        if op is not None and not self._forward_hooks and not self._forward_pre_hooks and \
                op.accepts_flat(args):
            return op.call_flat(args)  # hybridized and traced: straight to the compiled graph
        if self._active and type(self).forward is not HybridBlock.forward and \
                not _has_symbol(args):
            # a plain forward (MXNet 2.x style), hybridized: run it through the cached graph
            # (on Symbols, i.e. while a hybridized parent traces it, forward composes instead)
            for hook in self._forward_pre_hooks.values():
                hook(self, args)
            out = self._call_cached_op(*args)
            for hook in self._forward_hooks.values():
                hook(self, args, out)
            return out
        return super().__call__(*args)

    def _call_cached_op(self, *args):
        from .cached_op import CachedOp
        op = self._cached_op
        if op is None:
            with _cached_op_lock:  # concurrent first calls share one CachedOp (one trace)
                op = self._cached_op
                if op is None:
                    op = self._cached_op = CachedOp(self)
        return op(args)

    def _symbolic_call(self, *args):
        """Run the block on Symbols (tracing)."""
        return self.forward(*args)

    def hybrid_forward(self, F, x, *args, **kwargs):
        """Override with the computation, written against ``F``."""
        raise NotImplementedError(f"{type(self).__name__} must implement hybrid_forward()")

    def infer_shape(self, *args):
        """Infer the shapes of deferred parameters from input arrays through the graph
        (nothing is computed)."""
        from .cached_op import CachedOp
        op = CachedOp(self)
        op._trace(args)
        flat = [a for a in args if a is not None]
        op._finish_deferred(flat)

    def export(self, path, epoch=0, remove_amp_cast=True):
        """Write ``path-symbol.json`` (MXNet's graph JSON) and ``path-%04d.params``
        (``arg:``/``aux:`` parameters) of the hybridized, already-run block; returns
        ``(symbol, params dict)``."""
        if self._cached_op is None or self._cached_op.symbol is None:
            raise RuntimeError("Please first call block.hybridize() and then run forward with "
                               "this block at least once before calling export.")
        sym = self._cached_op.symbol
        sym.save(f"{path}-symbol.json")
        arg_names = set(sym.list_arguments())
        aux_names = set(sym.list_auxiliary_states())
        arg_dict = {}
        for name, param in self.collect_params().items():
            if name in arg_names:
                arg_dict[f"arg:{name}"] = param._reduce()
            elif name in aux_names:
                arg_dict[f"aux:{name}"] = param._reduce()
        nd.save(f"{path}-{epoch:04d}.params", arg_dict)
        return sym, arg_dict

