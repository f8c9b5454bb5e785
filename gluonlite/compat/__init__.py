"""Run unmodified MXNet 1.x code on gluonlite: ``import mxnet`` as an alias of gluonlite.

Three opt-in ways, all giving the same alias:

* ``python -m gluonlite.compat run script.py [args]`` (also ``run -m module``, ``run -c code``)
  runs a program with the alias enabled; nothing is installed.
* ``gluonlite.compat.enable()`` in Python (a notebook, a conftest) enables it in-process.
* ``python -m gluonlite.compat install [--target DIR]`` writes a small ``mxnet`` package into
  ``DIR`` (default: this interpreter's site-packages) so that a plain ``import mxnet`` works
  everywhere in that environment; ``uninstall`` removes it again.

With the alias, ``mxnet`` is a module holding gluonlite's namespace (``mxnet.__version__``
is the MXNet API version gluonlite follows, 1.9.1, so version checks such as gluoncv's pass)
and every ``mxnet.<sub>`` (``mxnet.gluon.nn``, ``mxnet.ndarray.ndarray``, ...) *is* the
module ``gluonlite.<sub>``: classes and functions are shared, ``isinstance`` works across
both names. A part of MXNet gluonlite does not have fails with ModuleNotFoundError naming
it. A real MXNet installed beside the alias raises :class:`MXNetConflictError`, never a
silent mix of the two.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import sysconfig
import threading
import types

import gluonlite as _gl
from ..base import MXNetError

__all__ = ["enable", "disable", "is_enabled", "find_real_mxnet", "install", "uninstall",
           "restore_numpy_aliases",
           "MXNetConflictError", "MXNET_API_VERSION"]

MXNET_API_VERSION = "1.9.1"
ALIAS = "mxnet"
_TARGET = "gluonlite"
# the first line of the installed shim's __init__.py; marks a directory as ours
SHIM_MARKER = "# GLUONLITE-MXNET-SHIM"

_lock = threading.RLock()
_finder = None
_proxy = None


class MXNetConflictError(MXNetError):
    """A real Apache MXNet is installed where the ``mxnet`` alias would shadow it (or it
    is already imported). Not an ImportError on purpose: libraries that probe
    ``try: import mxnet except ImportError`` must not mistake it for "MXNet missing"."""


# --------------------------------------------------------------------------------------
# detection of a real MXNet
def _is_shim_dir(pkg_dir: str) -> bool:
    try:
        with open(os.path.join(pkg_dir, "__init__.py"), encoding="utf-8") as f:
            return f.readline().startswith(SHIM_MARKER)
    except OSError:
        return False


def find_real_mxnet(path=None):
    """The location of a real (non-gluonlite) ``mxnet`` package importable from ``path``
    (default ``sys.path``), or None. Also reports a real ``mxnet`` already imported."""
    mod = sys.modules.get(ALIAS)
    if mod is not None and mod is not _proxy and not getattr(mod, "__gluonlite_alias__", False):
        f = getattr(mod, "__file__", None)
        if not (f and _is_shim_dir(os.path.dirname(f))):  # the shim, while it imports
            return f or repr(mod)
    for entry in (sys.path if path is None else path):
        try:
            spec = importlib.machinery.PathFinder.find_spec(ALIAS, [entry or os.getcwd()])
        except (ImportError, ValueError, OSError):
            continue
        if spec is None:
            continue
        locs = list(spec.submodule_search_locations or [])
        if locs and all(_is_shim_dir(d) for d in locs):
            continue
        return spec.origin or (locs[0] if locs else entry)
    return None


def _conflict(where):
    return MXNetConflictError(
        f"a real Apache MXNet is installed at {where}: the gluonlite 'mxnet' alias would "
        "shadow it and mix the two. Run the program in an environment without MXNet "
        "(`pip uninstall mxnet`, or a fresh virtual environment), or use `import gluonlite "
        "as mx` directly.")


# --------------------------------------------------------------------------------------
# the alias
class _MXNetModule(types.ModuleType):
    """The top-level ``mxnet`` alias: a snapshot of gluonlite's namespace, later additions
    looked up on gluonlite, and MXNet's API version as ``__version__``."""

    __gluonlite_alias__ = True

    def __getattr__(self, name):
        try:
            return getattr(_gl, name)
        except AttributeError:
            raise AttributeError(f"module 'mxnet' (gluonlite alias) has no attribute "
                                 f"{name!r}: gluonlite does not implement mxnet.{name}") \
                from None

    def __dir__(self):
        return sorted(set(self.__dict__) | set(dir(_gl)))


def _make_proxy(spec):
    m = _MXNetModule(ALIAS, _gl.__doc__)
    for k, v in vars(_gl).items():
        if not (k.startswith("__") and k.endswith("__")):
            m.__dict__[k] = v
    m.__version__ = MXNET_API_VERSION
    m.__gluonlite_version__ = _gl.__version__
    m.__file__ = _gl.__file__
    m.__path__ = list(_gl.__path__)
    m.__package__ = ALIAS
    m.__spec__ = spec
    m.__loader__ = spec.loader
    m.__all__ = [k for k in m.__dict__ if not k.startswith("_")]
    return m


class _ExistingModuleLoader(importlib.abc.Loader):
    """Loads a module that already exists (the gluonlite module behind an alias name)."""

    def __init__(self, module=None):
        self.module = module

    def create_module(self, spec):
        if self.module is None:  # the top-level alias
            global _proxy
            if _proxy is None:
                _proxy = _make_proxy(spec)
            return _proxy
        return self.module

    def exec_module(self, module):
        pass  # already executed under its gluonlite name


def _resolve(fullname):
    """The gluonlite module behind ``mxnet.<sub>``; ModuleNotFoundError naming what is
    missing otherwise."""
    real = _TARGET + fullname[len(ALIAS):]
    try:
        return importlib.import_module(real)
    except ModuleNotFoundError as e:
        if e.name is None or not (real == e.name or real.startswith(e.name + ".")):
            raise  # a dependency of an existing gluonlite module is missing: say that
    # an attribute that is a module (mxnet.nd -> gluonlite.ndarray) is importable too
    parent, _, child = real.rpartition(".")
    obj = getattr(sys.modules.get(parent), child, None)
    if isinstance(obj, types.ModuleType):
        return obj
    raise ModuleNotFoundError(
        f"No module named {fullname!r}: gluonlite (running MXNet code through its 'mxnet' "
        f"alias) has no {real!r}; this part of MXNet is not implemented "
        "(see docs/migrating-from-mxnet.md)", name=fullname)


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Meta-path finder mapping ``mxnet`` and ``mxnet.*`` onto gluonlite."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        if fullname == ALIAS:
            spec = importlib.machinery.ModuleSpec(ALIAS, _ExistingModuleLoader(),
                                                  is_package=True)
            spec.submodule_search_locations = list(_gl.__path__)
            return spec
        mod = _resolve(fullname)
        return importlib.machinery.ModuleSpec(fullname, _ExistingModuleLoader(mod),
                                              is_package=hasattr(mod, "__path__"))


# NumPy 1.24 removed these aliases of Python builtins, which MXNet-era libraries still use
# (gluoncv's anchor generator calls np.float). np.bool is not among them: NumPy 2 has it again,
# as numpy.bool_, and overriding it would break numpy.ma.
_NUMPY_ALIASES = {"float": float, "int": int, "object": object, "complex": complex,
                  "str": str}


def restore_numpy_aliases() -> list:
    """Give NumPy back the aliases of builtins that NumPy 1.24 removed (``np.float``,
    ``np.int``, ``np.object``, ``np.complex``, ``np.str``) where they are missing, as
    MXNet-era code expects; returns the names added. Names NumPy has are left alone."""
    import numpy
    added = []
    for name, value in _NUMPY_ALIASES.items():
        if name not in numpy.__dict__:
            setattr(numpy, name, value)
            added.append(name)
    return added


def enable(check_conflict: bool = True, numpy_aliases: bool = True):
    """Make ``import mxnet`` and ``mxnet.<any submodule>`` resolve to gluonlite in this
    process; returns the ``mxnet`` module. Idempotent.

    With ``numpy_aliases`` (the default), NumPy's removed aliases ``np.float``, ``np.int``,
    ``np.object``, ``np.complex`` and ``np.str`` are restored too
    (:func:`restore_numpy_aliases`), since third-party MXNet code was written for
    NumPy < 1.24. Raises MXNetConflictError when a real MXNet is importable or imported (the
    alias would shadow it).
    """
    global _finder
    if numpy_aliases:
        restore_numpy_aliases()
    with _lock:
        if _finder is None and check_conflict:
            where = find_real_mxnet()
            if where is not None:
                raise _conflict(where)
        if _finder is None:
            _finder = _AliasFinder()
            sys.meta_path.insert(0, _finder)
        # a shim package already imported gets replaced by the alias
        cur = sys.modules.get(ALIAS)
        if cur is not None and cur is not _proxy:
            del sys.modules[ALIAS]
        return importlib.import_module(ALIAS)


def disable():
    """Undo :func:`enable`: remove the finder and every ``mxnet``/``mxnet.*`` entry that
    points into gluonlite from ``sys.modules`` (the gluonlite modules stay loaded)."""
    global _finder, _proxy
    with _lock:
        if _finder is not None:
            try:
                sys.meta_path.remove(_finder)
            except ValueError:
                pass
            _finder = None
        for name in [n for n in sys.modules if n == ALIAS or n.startswith(ALIAS + ".")]:
            m = sys.modules[name]
            mname = getattr(m, "__name__", "")
            if m is _proxy or mname == _TARGET or mname.startswith(_TARGET + "."):
                del sys.modules[name]
        _proxy = None


def is_enabled() -> bool:
    """Whether the alias is active in this process."""
    return _finder is not None


def _activate_shim(shim_dir: str):
    """Called by the installed ``mxnet/__init__.py``: refuse a real MXNet elsewhere on
    ``sys.path``, enable the alias and put it in place of the shim module."""
    real = find_real_mxnet([p for p in sys.path
                            if os.path.abspath(p or os.getcwd()) !=
                            os.path.abspath(os.path.dirname(shim_dir))])
    if real is not None:
        raise _conflict(real)
    restore_numpy_aliases()
    global _finder
    with _lock:
        if _finder is None:
            _finder = _AliasFinder()
            sys.meta_path.insert(0, _finder)
        spec = _finder.find_spec(ALIAS)
        mod = spec.loader.create_module(spec)
        sys.modules[ALIAS] = mod  # the import statement returns sys.modules' entry
        return mod


# --------------------------------------------------------------------------------------
# the installable shim
_SHIM_SOURCE = SHIM_MARKER + ''' (written by `python -m gluonlite.compat install`)
"""``import mxnet`` runs gluonlite, MXNet 1.9.1's API on NumPy 2.

Remove with ``python -m gluonlite.compat uninstall`` (or delete this directory).
"""
import os as _os

from gluonlite.compat import _activate_shim

_activate_shim(_os.path.dirname(_os.path.abspath(__file__)))
'''


def default_target() -> str:
    """This interpreter's site-packages directory (where ``install`` writes by default)."""
    return sysconfig.get_paths()["purelib"]


def install(target: str = None) -> str:
    """Write the ``mxnet`` shim package into ``target`` (default: site-packages); returns
    its directory. Refuses when a real MXNet is there or anywhere on ``sys.path``."""
    target = os.path.abspath(target or default_target())
    pkg = os.path.join(target, ALIAS)
    if os.path.exists(pkg) and not _is_shim_dir(pkg):
        raise _conflict(pkg)
    real = find_real_mxnet([p for p in sys.path
                            if os.path.abspath(p or os.getcwd()) != target])
    if real is not None:
        raise _conflict(real)
    os.makedirs(pkg, exist_ok=True)
    tmp = os.path.join(pkg, "__init__.py.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(_SHIM_SOURCE)
    os.replace(tmp, os.path.join(pkg, "__init__.py"))  # atomic: never a half-written shim
    return pkg


def uninstall(target: str = None) -> bool:
    """Remove the shim from ``target`` (default: site-packages); False when none is there.
    A real MXNet package in its place is never touched."""
    target = os.path.abspath(target or default_target())
    pkg = os.path.join(target, ALIAS)
    if not os.path.exists(pkg):
        return False
    if not _is_shim_dir(pkg):
        raise MXNetConflictError(f"{pkg} is not the gluonlite shim (a real MXNet?); "
                                 "leaving it alone")
    for root, dirs, files in os.walk(pkg, topdown=False):
        for f in files:
            os.remove(os.path.join(root, f))
        for d in dirs:
            os.rmdir(os.path.join(root, d))
    os.rmdir(pkg)
    return True
