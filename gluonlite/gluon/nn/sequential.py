"""Containers: ``Sequential``, ``HybridSequential``, and ``Lambda``/``HybridLambda`` wrappers."""
from __future__ import annotations

import warnings

from ... import ndarray as _nd, symbol as _sym
from ..block import Block, HybridBlock, _indent

__all__ = ["Sequential", "HybridSequential", "Lambda", "HybridLambda"]


class _SequentialMixin:
    def add(self, *blocks):
        """Append blocks; they run in order, each one's output feeding the next."""
        for block in blocks:
            self.register_child(block)
        return self

    def __repr__(self):
        modstr = "\n".join(f"  ({key}): {_indent(repr(block), 2)}"
                           for key, block in self._children.items())
        return f"{type(self).__name__}(\n{modstr}\n)"

    def __getitem__(self, key):
        layers = list(self._children.values())[key]
        if isinstance(layers, list):
            net = type(self)(prefix=self._prefix)
            with net.name_scope():
                net.add(*layers)
            return net
        return layers

    def __len__(self):
        return len(self._children)

    def __iter__(self):
        return iter(list(self._children.values()))

    def _run(self, x, args):
        for block in self._children.values():
            x = block(x, *args)
            args = []
            if isinstance(x, (tuple, list)):
                args = x[1:]
                x = x[0]
        if args:
            x = tuple([x] + list(args))
        return x


class Sequential(_SequentialMixin, Block):
    """Stack of blocks run in sequence (MXNet's ``nn.Sequential``); supports ``len``,
    indexing (negative too), slicing (a new Sequential of the same prefix) and iteration."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def forward(self, x, *args):
        return self._run(x, args)

    def hybridize(self, active=True, **kwargs):
        """Hybridize the children; warns that HybridSequential would be faster when every
        child is a HybridBlock."""
        if self._children and all(isinstance(c, HybridBlock) for c in self._children.values()):
            warnings.warn(f"All children of this Sequential layer '{self.prefix}' are "
                          "HybridBlocks. Consider using HybridSequential for the best "
                          "performance.", stacklevel=2)
        super().hybridize(active, **kwargs)


class HybridSequential(_SequentialMixin, HybridBlock):
    """Stack of HybridBlocks run in sequence (MXNet's ``nn.HybridSequential``)."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F, x, *args):
        return self._run(x, args)


def _named_function(name, modules, where):
    """The function called ``name`` (``'tanh'``, or dotted as ``'contrib.box_nms'``) in each
    of ``modules``; ValueError naming ``where`` when one lacks it or it is not callable."""
    fn = None
    for mod, _ in modules:
        fn = mod
        for part in name.split("."):
            fn = getattr(fn, part, None) if part and not part.startswith("_") else None
            if fn is None:
                break
        if fn is None or not callable(fn):
            raise ValueError(f"Function name {name} is not found in {where}.")
    return fn


class Lambda(Block):
    """Wrap a function as a Block: a callable, or the name of an ``nd`` function
    (``Lambda('tanh')``)."""

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        if isinstance(function, str):
            self._func_impl = _named_function(function, ((_nd, "ndarray"),), "ndarray")
        elif callable(function):
            self._func_impl = function
        else:
            raise ValueError(f"Unrecognized function in lambda: {function} of type "
                             f"{type(function)}")

    def forward(self, *args):
        return self._func_impl(*args)

    def __repr__(self):
        return f"{type(self).__name__}({getattr(self._func_impl, '__name__', self._func_impl)})"


class HybridLambda(HybridBlock):
    """Wrap ``function(F, x, *args)`` (or the name of an operator) as a HybridBlock."""

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        if isinstance(function, str):
            # the name must work in both namespaces: hybridizing swaps nd for sym
            _named_function(function, ((_nd, "ndarray"), (_sym, "symbol")), "symbol/ndarray")
            path = function.split(".")

            def call(F, *args):
                fn = F
                for part in path:
                    fn = getattr(fn, part)
                return fn(*args)

            self._func = call
            self._func_name = function
        elif callable(function):
            self._func = function
            self._func_name = getattr(function, "__name__", repr(function))
        else:
            raise ValueError(f"Unrecognized function in lambda: {function} of type "
                             f"{type(function)}")

    def hybrid_forward(self, F, x, *args):
        return self._func(F, x, *args)

    def __repr__(self):
        return f"{type(self).__name__}({self._func_name})"
