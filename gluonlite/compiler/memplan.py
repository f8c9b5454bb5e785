"""Memory planning: which buffer each computed value lives in.

Values written by :class:`~gluonlite.compiler.lower.Writes` lowerings (fused kernels, GEMMs
with ``out=``) can be placed in buffers the plan chooses. The plan is liveness based:

* *aliases* — a value computed by a view operator (tagged ``view``/``reshape``: reshapes,
  slices, ``.T``) or by an operator's unlowered forward (which may return its input) is
  assumed to share its inputs' storage; a buffer stays busy until the last use of every
  value in its alias set. Lowered expressions of other operators allocate their result;
* values whose alias set reaches a program output (or input) *escape* — the caller keeps
  them — and are always freshly allocated;
* a buffer whose values are all dead goes back to a free list and is reused by the next
  value of the same shape and dtype;
* *in place* — an elementwise kernel may write an output into the buffer of an input of the
  same shape that dies at that equation and that no other input of it aliases.

With ``static_alloc`` the program allocates its buffers once and reuses them on every call
(MXNet's ``static_alloc``); otherwise they are allocated at the start of each call, still
shared within it. :func:`check` verifies a plan independently: no two values that are live
at the same time ever share a buffer.
"""
from __future__ import annotations

__all__ = ["Plan", "plan", "check"]


class Plan:
    """``buffers[b] = (shape, dtype)``; ``assign[value id] = b``; ``inplace`` holds the
    ids of values written over one of their inputs."""

    def __init__(self):
        self.buffers: list = []
        self.assign: dict = {}
        self.inplace: set = set()

    def __repr__(self):
        return f"Plan({len(self.assign)} values in {len(self.buffers)} buffers)"


class _Sets:
    """Union-find over value ids (alias sets)."""

    def __init__(self):
        self.parent = {}

    def find(self, x):
        p = self.parent.setdefault(x, x)
        while p != x:
            gp = self.parent.setdefault(p, p)
            self.parent[x] = gp
            x, p = p, gp
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _aliases(inputs, eqns, outputs, fresh):
    """Alias sets, the escaping roots and, per root, the index of its last use."""
    sets = _Sets()
    for k, e in enumerate(eqns):
        for v in e.outs:
            sets.find(v.id)
        if k not in fresh:
            for v in e.outs:
                for u in e.ins:
                    if u.const is None:
                        sets.union(u.id, v.id)
    escape = {sets.find(v.id) for v in list(inputs) + list(outputs)}
    last = {}
    for k, e in enumerate(eqns):
        for v in list(e.ins) + list(e.outs):
            if v.const is None:
                r = sets.find(v.id)
                last[r] = max(last.get(r, -1), k)
    return sets, escape, last


def plan(inputs, eqns, outputs, writes, fresh=()) -> Plan:
    """The memory plan of a straight-line program; ``writes`` maps the index of each
    equation lowered to a :class:`~gluonlite.compiler.lower.Writes` to that lowering;
    ``fresh`` holds the indices of the other equations whose results never alias their
    inputs."""
    sets, escape, last = _aliases(inputs, eqns, outputs, set(writes) | set(fresh))
    p = Plan()
    free: dict = {}
    held = {}     # root -> buffer
    dying = {}
    for r, k in last.items():
        dying.setdefault(k, []).append(r)
    for k, e in enumerate(eqns):
        w = writes.get(k)
        taken = set()
        if w is not None:
            for v in e.outs:
                r = sets.find(v.id)
                if r in escape or v.shape is None or v.dtype is None:
                    continue
                key = (tuple(v.shape), v.dtype)
                b = None
                if w.inplace:
                    for u in e.ins:
                        ru = sets.find(u.id)
                        if (u.id in p.assign and held.get(ru) == p.assign[u.id]
                                and last[ru] == k and ru not in taken
                                and (tuple(u.shape), u.dtype) == key
                                and all(x.id == u.id or sets.find(x.id) != ru
                                        for x in e.ins if x.const is None)):
                            b = p.assign[u.id]
                            taken.add(ru)
                            p.inplace.add(v.id)
                            break
                if b is None:
                    lst = free.get(key)
                    if lst:
                        b = lst.pop()
                    else:
                        b = len(p.buffers)
                        p.buffers.append(key)
                p.assign[v.id] = b
                held[r] = b
        for r in dying.get(k, ()):
            b = held.pop(r, None)
            if b is not None and r not in taken:
                free.setdefault(p.buffers[b], []).append(b)
    return p


def check(inputs, eqns, outputs, writes, p: Plan, fresh=()) -> None:
    """Raise AssertionError if ``p`` lets two simultaneously live values share a buffer
    (other than a declared in-place write over a dying input), or places an escaping
    value in a buffer."""
    sets, escape, last = _aliases(inputs, eqns, outputs, set(writes) | set(fresh))
    define = {}
    for k, e in enumerate(eqns):
        for v in e.outs:
            define[v.id] = k
    spans = {}
    for vid, b in p.assign.items():
        r = sets.find(vid)
        if r in escape:
            raise AssertionError(f"value {vid} escapes the program but was given buffer {b}")
        spans.setdefault(b, []).append((define[vid], last[r], vid))
    for b, lst in spans.items():
        lst.sort()
        prev = lst[0]   # the interval that ends last among those seen
        for cur in lst[1:]:
            (s1, e1, v1), (s2, e2, v2) = prev, cur
            if s2 <= e1 and not (s2 == e1 and v2 in p.inplace and any(
                    sets.find(u.id) == sets.find(v1) for u in eqns[s2].ins)):
                raise AssertionError(f"buffer {b}: value {v2} (live {s2}..{e2}) is written "
                                     f"while value {v1} (live {s1}..{e1}) still needs it")
            if e2 >= e1:
                prev = cur
