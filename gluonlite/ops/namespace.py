"""Operator namespaces ``F`` that gradient rules (and ``hybrid_forward``) are written against.

* :class:`RawNamespace` — ``F.exp(x)`` runs the registered forward directly on raw arrays of
  one backend: no NDArray, no recording. Backward passes use it, so a gradient costs only
  its arithmetic.
* :data:`ND` — the same names over NDArrays with recording (``create_graph=True``), so the
  gradient of a gradient is available.

Both return what ``nd.<op>`` returns: one value, or a list for several visible outputs.
"""
from __future__ import annotations

from .. import profiler as _profiler
from .registry import get_op, REGISTRY

__all__ = ["RawNamespace", "ND"]


class RawNamespace:
    """Registered operators over raw arrays of the backend of ``rt``."""

    kind = "raw"

    def __init__(self, rt):
        self._rt = rt

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        op = REGISTRY.get(name)
        if op is None:
            raise AttributeError(f"no operator named {name!r}")
        fn = _raw_function(op, self._rt)
        setattr(self, name, fn)
        return fn

    @property
    def xp(self):
        return self._rt.xp


def _raw_function(op, rt):
    if not op.attr_specs and op.variadic is None and op._num_outputs == 1:
        # no attributes, one output: nothing to parse or unpack (the common case in
        # gradient rules, e.g. _reduce_sum_like)
        def simple(*args):
            if _profiler.IMPERATIVE:  # an imperative backward pass, being profiled
                t0 = _profiler._perf()
                res = op.fwd(rt, *args)
                _profiler.record("operator", op.name, t0)
                return res
            return op.fwd(rt, *args)

        simple.__name__ = op.name
        return simple
    variadic_count = op.variadic is not None and "num_args" in op.attr_specs

    def fn(*args, **kwargs):
        if variadic_count and "num_args" not in kwargs:
            kwargs["num_args"] = len(args)
        a = op.parse_attrs(kwargs)
        if _profiler.IMPERATIVE:
            t0 = _profiler._perf()
            res = op.fwd(rt, *args, **a)
            _profiler.record("operator", op.name, t0)
        else:
            res = op.fwd(rt, *args, **a)
        if type(res) is tuple:
            nvis = op.num_visible_outputs(a)
            return res[0] if nvis == 1 else list(res[:nvis])
        return res

    fn.__name__ = op.name
    return fn


class _NDNamespace:
    """Registered operators over NDArrays (recorded when autograd is recording)."""

    kind = "nd"

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        op = get_op(name)
        from ..ndarray.register import make_function
        fn = make_function(op)
        setattr(self, name, fn)
        return fn


ND = _NDNamespace()
