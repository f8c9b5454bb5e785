"""``mx.profiler``: MXNet 1.9.1's profiler API over gluonlite's execution.

What is timed, while the profiler runs (``set_state('run')``) and is not paused:

* every imperative operator call (``nd.*``, NDArray methods and operators, the layers of a
  block that is not hybridized), and every operator of an imperative backward pass, in
  the ``operator`` category under MXNet's operator name (``FullyConnected``,
  ``_backward_Convolution``, ...);
* every run of a compiled program (a hybridized block, a bound Symbol executor) in the
  ``compiled program`` category, named ``infer``/``forward``/``backward`` and the
  operators it holds: its operators are fused into one generated function, so the
  program is timed as a whole (MXNet times them one by one);
* ranges the user opens with :class:`Task`, :class:`Frame` and :class:`Event` (their
  domain's category), and :class:`Counter` / :class:`Marker` values in the trace.

``dumps()`` returns the aggregate table MXNet prints (count, total, min, max and average
milliseconds per name; ``format='json'`` gives MXNet's JSON layout) and ``dump()`` writes
a Chrome trace (``chrome://tracing``, Perfetto) to ``filename``. Times are wall-clock
``time.perf_counter`` spans of the host call; on a GPU, kernels run asynchronously, so
call ``nd.waitall()`` inside a range to charge it with its device work.

Cost when off: one module-attribute test per operator call.
"""
from __future__ import annotations

import json
import os
import threading
import time

from .base import MXNetError

__all__ = ["set_config", "set_state", "state", "pause", "resume", "dump", "dumps",
           "dump_profile", "Domain", "Task", "Frame", "Event", "Counter", "Marker",
           "profiler_set_config", "profiler_set_state"]

# Read by the hooks in ndarray.invoke, the backward namespace and compiled programs: one
# attribute test each when the profiler is off.
IMPERATIVE = False
COMPILED = False

_perf = time.perf_counter
_lock = threading.Lock()

_DEFAULTS = {"filename": "profile.json", "profile_all": False, "profile_symbolic": True,
             "profile_imperative": True, "profile_memory": True, "profile_api": True,
             "continuous_dump": False, "dump_period": 1.0, "aggregate_stats": False,
             "profile_process": "worker"}
_config = dict(_DEFAULTS)
_running = False
_paused = False
# category -> name -> [count, total_ms, min_ms, max_ms]
_stats: dict = {}
_events: list = []
_EVENT_LIMIT = 1_000_000  # trace events kept between dumps (a long run must not eat memory)
_dropped = 0
_T0 = _perf()


def _parse_bool(key, v):
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("true", "1", "false", "0"):
        return v.strip().lower() in ("true", "1")
    raise MXNetError(f"profiler.set_config: {key} must be a boolean, got {v!r}")


def set_config(**kwargs):
    """Configure the profiler (MXNet's ``profiler.set_config``; keywords only).

    Parameters
    ----------
    filename : str, default 'profile.json'
        Where :func:`dump` writes the Chrome trace.
    profile_all : bool
        Profile everything (sets the other ``profile_*`` switches).
    profile_symbolic : bool, default True
        Time runs of compiled programs (hybridized blocks, executors).
    profile_imperative : bool, default True
        Time imperative operator calls.
    profile_memory, profile_api : bool
        Accepted; gluonlite records neither memory use nor C API calls (it has no C API).
    continuous_dump : bool, dump_period : float
        Write the trace every ``dump_period`` seconds while running.
    aggregate_stats : bool, default False
        Keep the per-name statistics :func:`dumps` prints.
    profile_process : 'worker'
        Only the worker process can be profiled ('server' needs a distributed kvstore).
    """
    new = dict(_config)
    for k, v in kwargs.items():
        if k not in _DEFAULTS:
            raise MXNetError(f"profiler.set_config: unknown argument {k!r}; valid arguments: "
                             f"{', '.join(sorted(_DEFAULTS))}")
        if k == "filename":
            if not isinstance(v, (str, os.PathLike)) or not str(v):
                raise MXNetError(f"profiler.set_config: filename must be a non-empty path, "
                                 f"got {v!r}")
            new[k] = os.fspath(v)
        elif k == "dump_period":
            try:
                period = float(v)
            except (TypeError, ValueError):
                period = -1.0
            if not period > 0:
                raise MXNetError(f"profiler.set_config: dump_period must be a positive "
                                 f"number of seconds, got {v!r}")
            new[k] = period
        elif k == "profile_process":
            _check_process("set_config", v)
            new[k] = v
        else:
            new[k] = _parse_bool(k, v)
    if new["profile_all"]:
        for k in ("profile_symbolic", "profile_imperative", "profile_memory", "profile_api"):
            new[k] = True
    _config.clear()
    _config.update(new)
    _update_flags()


profiler_set_config = set_config  # MXNet's deprecated name


def _check_process(fn, v):
    if v == "server":
        raise MXNetError(f"profiler.{fn}: profile_process='server' profiles a distributed "
                         "kvstore server, which gluonlite does not have; use 'worker'")
    if v != "worker":
        raise MXNetError(f"profiler.{fn}: profile_process must be 'worker' or 'server', got "
                         f"{v!r}")


def _update_flags():
    global IMPERATIVE, COMPILED
    on = _running and not _paused
    IMPERATIVE = on and _config["profile_imperative"]
    COMPILED = on and _config["profile_symbolic"]


def set_state(state="stop", profile_process="worker"):
    """Start (``'run'``) or stop (``'stop'``) profiling."""
    global _running, _paused, _next_dump
    _check_process("set_state", profile_process)
    if state not in ("run", "stop"):
        raise MXNetError(f"profiler.set_state: state must be 'run' or 'stop', got {state!r}")
    _running = state == "run"
    _paused = False
    _next_dump = _perf() + _config["dump_period"]
    _update_flags()


profiler_set_state = set_state  # MXNet's deprecated name


def state():
    """``'run'`` or ``'stop'`` (and whether paused): ``('run', False)``."""
    return ("run" if _running else "stop", _paused)


def pause(profile_process="worker"):
    """Stop recording without leaving the 'run' state (see :func:`resume`)."""
    global _paused
    _check_process("pause", profile_process)
    _paused = True
    _update_flags()


def resume(profile_process="worker"):
    """Record again after :func:`pause`."""
    global _paused
    _check_process("resume", profile_process)
    _paused = False
    _update_flags()


# ---------------------------------------------------------------------------------------------
# recording (called by the hooks)
_next_dump = 0.0


def record(category, name, t0, t1=None):
    """Account the span ``t0..t1`` (``perf_counter`` seconds; ``t1`` now by default) to
    ``name`` in ``category``."""
    global _dropped
    if t1 is None:
        t1 = _perf()
    ms = (t1 - t0) * 1e3
    tid = threading.get_ident()
    with _lock:
        if _config["aggregate_stats"]:
            cat = _stats.get(category)
            if cat is None:
                cat = _stats[category] = {}
            s = cat.get(name)
            if s is None:
                cat[name] = [1, ms, ms, ms]
            else:
                s[0] += 1
                s[1] += ms
                if ms < s[2]:
                    s[2] = ms
                if ms > s[3]:
                    s[3] = ms
        if len(_events) < _EVENT_LIMIT:
            _events.append((name, category, t0, t1, tid))
        else:
            _dropped += 1
    if _config["continuous_dump"] and t1 >= _next_dump:
        _continuous()


def _continuous():
    global _next_dump
    _next_dump = _perf() + _config["dump_period"]
    dump(finished=False)


def timed(fn, category, name):
    """``fn`` wrapped so that each call is recorded as ``name`` in ``category``."""
    def run(*args):
        t0 = _perf()
        try:
            return fn(*args)
        finally:
            record(category, name, t0)
    return run


def program_label(kind, graph):
    """``'infer: Convolution, BatchNorm, Activation, ... (12 ops)'`` for a compiled graph."""
    names = []
    for e in graph.eqns:
        n = e.op.name
        if n not in names:
            names.append(n)
    shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    return f"{kind}: {shown} ({len(graph.eqns)} ops)"


# ---------------------------------------------------------------------------------------------
# output
_SORT = ("total", "avg", "min", "max", "count")


def _sorted_rows(cat, sort_by, ascending):
    rows = [(n, s[0], s[1], s[2], s[3], s[1] / s[0]) for n, s in cat.items()]
    idx = {"count": 1, "total": 2, "min": 3, "max": 4, "avg": 5}[sort_by]
    return sorted(rows, key=lambda r: (r[idx], r[0]), reverse=not ascending)


def dumps(reset=False, format="table", sort_by="total", ascending=False):
    """The aggregate statistics (needs ``set_config(aggregate_stats=True)``) as MXNet's
    table (``format='table'``) or JSON (``'json'``), each category sorted by ``sort_by``
    ('total', 'avg', 'min', 'max', 'count'); ``reset`` clears them afterwards."""
    if format not in ("table", "json"):
        raise MXNetError(f"profiler.dumps: format must be 'table' or 'json', got {format!r}")
    if sort_by not in _SORT:
        raise MXNetError(f"profiler.dumps: sort_by must be one of 'total', 'avg', 'min', "
                         f"'max', 'count', got {sort_by!r}")
    for nm, v in (("ascending", ascending), ("reset", reset)):
        if not isinstance(v, bool):
            raise MXNetError(f"profiler.dumps: {nm} must be True or False, got {v!r}")
    with _lock:
        cats = {c: dict((n, list(s)) for n, s in d.items()) for c, d in _stats.items()}
        if reset:
            _stats.clear()
    if format == "json":
        out = {"Time": {c: {r[0]: {"Count": r[1], "Total": round(r[2], 4),
                                   "Min": round(r[3], 4), "Max": round(r[4], 4),
                                   "Avg": round(r[5], 4)}
                            for r in _sorted_rows(d, sort_by, ascending)}
                        for c, d in sorted(cats.items())},
               "Memory": {}, "Unit": {"Time": "ms", "Memory": "kB"}}
        return json.dumps(out, indent=4)
    lines = ["", "Profile Statistics:", "\tNote the difference in units for different entries."]
    if not _config["aggregate_stats"] and not cats:
        lines.append("(no aggregate statistics: call profiler.set_config(aggregate_stats=True) "
                     "before profiling)")
    for c, d in sorted(cats.items()):
        lines += [c, "=================",
                  f"{'Name':<30}{'Total Count':>11}{'Time (ms)':>17}{'Min Time (ms)':>17}"
                  f"{'Max Time (ms)':>17}{'Avg Time (ms)':>17}",
                  f"{'----':<30}{'-----------':>11}{'---------':>17}{'-------------':>17}"
                  f"{'-------------':>17}{'-------------':>17}"]
        for n, cnt, tot, mn, mx, avg in _sorted_rows(d, sort_by, ascending):
            lines.append(f"{n:<30}{cnt:>11}{tot:>17.4f}{mn:>17.4f}{mx:>17.4f}{avg:>17.4f}")
        lines.append("")
    return "\n".join(lines) + "\n"


def dump(finished=True, profile_process="worker"):
    """Write the recorded ranges as a Chrome trace to the configured ``filename``;
    ``finished=True`` also forgets them (MXNet: no more profiling after this dump)."""
    global _dropped
    _check_process("dump", profile_process)
    with _lock:
        evs = list(_events)
        dropped = _dropped
        if finished:
            _events.clear()
            _dropped = 0
    pid = os.getpid()
    trace = []
    for name, cat, t0, t1, tid in evs:
        if cat == "counter":
            trace.append({"name": name, "cat": cat, "ph": "C", "ts": (t0 - _T0) * 1e6,
                          "pid": pid, "tid": tid, "args": {name: t1}})
        elif cat == "marker":
            trace.append({"name": name, "cat": cat, "ph": "i", "ts": (t0 - _T0) * 1e6,
                          "pid": pid, "tid": tid, "s": t1})
        else:
            trace.append({"name": name, "cat": cat, "ph": "B", "ts": (t0 - _T0) * 1e6,
                          "pid": pid, "tid": tid})
            trace.append({"name": name, "cat": cat, "ph": "E", "ts": (t1 - _T0) * 1e6,
                          "pid": pid, "tid": tid})
    doc = {"traceEvents": trace, "displayTimeUnit": "ms"}
    if dropped:
        doc["otherData"] = {"dropped_events": dropped}
    fname = _config["filename"]
    tmp = f"{fname}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.replace(tmp, fname)  # a reader never sees half a trace
    except OSError as e:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise MXNetError(f"profiler.dump: cannot write the trace to {fname!r}: "
                         f"{e.strerror or e}") from None


def dump_profile():
    """MXNet's deprecated name of ``dump(finished=True)``."""
    dump(True)


# ---------------------------------------------------------------------------------------------
# user ranges
class Domain:
    """A named category for :class:`Task`, :class:`Frame`, :class:`Counter` and
    :class:`Marker` objects."""

    def __init__(self, name):
        if not isinstance(name, str) or not name:
            raise MXNetError(f"profiler.Domain: name must be a non-empty string, got {name!r}")
        self.name = name

    def new_task(self, name):
        return Task(self, name)

    def new_frame(self, name):
        return Frame(self, name)

    def new_counter(self, name, value=None):
        return Counter(self, name, value)

    def new_marker(self, name):
        return Marker(self, name)

    def __str__(self):
        return self.name


class _Range:

    def __init__(self, category, name):
        if not isinstance(name, str) or not name:
            raise MXNetError(f"profiler.{type(self).__name__}: name must be a non-empty "
                             f"string, got {name!r}")
        self.name = name
        self._category = category
        self._t0 = None

    def start(self):
        """Open the range."""
        self._t0 = _perf()

    def stop(self):
        """Close the range and record it (if the profiler is running)."""
        if self._t0 is None:
            raise MXNetError(f"profiler.{type(self).__name__} {self.name!r}: stop() without "
                             "start()")
        t0, self._t0 = self._t0, None
        if _running and not _paused:
            record(self._category, self.name, t0)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __str__(self):
        return self.name


class Task(_Range):
    """A timed range in ``domain`` (``start()``/``stop()`` or ``with``)."""

    def __init__(self, domain, name):
        super().__init__(_domain_name(domain), name)
        self.domain = domain


class Frame(_Range):
    """A timed range in ``domain``, e.g. one iteration."""

    def __init__(self, domain, name):
        super().__init__(_domain_name(domain), name)
        self.domain = domain


class Event(_Range):
    """A timed range with a name only (category ``event``)."""

    def __init__(self, name):
        super().__init__("event", name)


def _domain_name(domain):
    if not isinstance(domain, Domain):
        raise MXNetError(f"profiler: domain must be a profiler.Domain, got {domain!r}")
    return domain.name


class Counter:
    """A numeric value traced over time (``set_value``, ``increment``, ``decrement``, and
    ``+=`` / ``-=``)."""

    def __init__(self, domain, name, value=None):
        _domain_name(domain)
        self.domain, self.name = domain, name
        self.value = 0
        if value is not None:
            self.set_value(value)

    def set_value(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise MXNetError(f"profiler.Counter {self.name!r}: value must be an int, got "
                             f"{value!r}")
        self.value = value
        if _running and not _paused:
            with _lock:
                if len(_events) < _EVENT_LIMIT:
                    _events.append((self.name, "counter", _perf(), value,
                                    threading.get_ident()))

    def increment(self, delta=1):
        self.set_value(self.value + delta)

    def decrement(self, delta=1):
        self.set_value(self.value - delta)

    def __iadd__(self, delta):
        self.increment(delta)
        return self

    def __isub__(self, delta):
        self.decrement(delta)
        return self

    def __str__(self):
        return self.name


class Marker:
    """An instant event in the trace (``mark(scope)``, scope 'global', 'process', 'thread',
    'task' or 'marker')."""

    _SCOPES = {"global": "g", "process": "p", "thread": "t", "task": "t", "marker": "t"}

    def __init__(self, domain, name):
        _domain_name(domain)
        self.domain, self.name = domain, name

    def mark(self, scope="process"):
        if scope not in self._SCOPES:
            raise MXNetError(f"profiler.Marker.mark: scope must be one of "
                             f"{sorted(self._SCOPES)}, got {scope!r}")
        if _running and not _paused:
            with _lock:
                if len(_events) < _EVENT_LIMIT:
                    _events.append((self.name, "marker", _perf(), self._SCOPES[scope],
                                    threading.get_ident()))
