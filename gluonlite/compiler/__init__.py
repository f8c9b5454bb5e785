"""The graph compiler: Symbol -> IR -> passes -> generated Python (see program.py).

Modules: ``ir`` (Var/Eqn/Graph, printer, Symbol import), ``infer`` (shapes and dtypes),
``builder`` (the IR namespace gradient rules run against), ``autodiff`` (symbolic
gradient), ``passes`` (DCE, CSE, constant folding), ``scalar`` (per-element formulas),
``decompose`` (bias adds and BatchNorm's scale/shift split off for fusion), ``fusion``
(elementwise groups into one kernel), ``render`` (a fused kernel as Numba or CuPy
code), ``memplan`` (buffer reuse), ``codegen`` (straight-line Python), ``program`` (the
pipeline for one input signature).
"""
from .ir import Var, Eqn, Graph, from_symbol  # noqa: F401
from .infer import infer_shapes, infer_dtypes  # noqa: F401
from .autodiff import gradient  # noqa: F401
from .passes import dce, cse, fold_constants  # noqa: F401
from .decompose import decompose  # noqa: F401
from .fusion import fuse  # noqa: F401
from . import memplan  # noqa: F401
from .codegen import compile_function  # noqa: F401
from .program import Program, optimize  # noqa: F401
