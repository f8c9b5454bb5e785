"""``mx.nd.sparse``: compressed sparse row (``csr``) and row-sparse (``row_sparse``) arrays.

Storage follows MXNet 1.9.1:

* :class:`CSRNDArray` (2-D): ``data`` (nnz,), ``indices`` (nnz,) int64 column ids, sorted
  within each row, and ``indptr`` (rows + 1,) int64 row offsets.
* :class:`RowSparseNDArray` (any ndim >= 1): ``data`` (k, *shape[1:]) holding the rows whose
  ids are ``indices`` (k,) int64, strictly increasing; every other row is zero.

The components are plain NumPy (CuPy on a GPU) arrays; no scipy is needed. Operators that
have a sparse implementation here (``dot``, ``retain``, ``slice``, elementwise
arithmetic, zero-preserving unary functions, ``add_n``) keep the storage type MXNet gives
their result. Every other operator sees a sparse array as its dense equivalent and returns
a dense array (MXNet's "storage fallback"): ``NDArray._data`` of a sparse array is a
read-only dense copy made on first use, so a write into it can never desynchronise the
sparse components.
"""
from __future__ import annotations

from ..unsupported import namespace_getattr as _namespace_getattr

import builtins

import numpy as np

from .. import autograd as _ag
from ..autograd import _st
from ..base import MXNetError, np_dtype
from ..context import Context, current_context
from ..ops import REGISTRY as _REGISTRY
from . import ndarray as _ndmod
from .ndarray import NDArray, _to_device, _check_inplace
from .register import make_function as _make_function

__all__ = ["BaseSparseNDArray", "CSRNDArray", "RowSparseNDArray", "csr_matrix",
           "row_sparse_array", "zeros", "empty", "array", "zeros_like", "cast_storage", "dot",
           "retain", "slice", "add", "subtract", "multiply", "divide", "elemwise_add",
           "elemwise_sub", "elemwise_mul", "elemwise_div", "add_n", "ElementWiseSum",
           "negative", "clip", "sum", "mean", "norm", "where", "concat", "stop_gradient",
           "make_loss", "Embedding", "FullyConnected", "LinearRegressionOutput",
           "LogisticRegressionOutput", "MAERegressionOutput", "broadcast_add",
           "broadcast_sub", "broadcast_plus", "broadcast_minus", "broadcast_mul",
           "broadcast_div"]

_SLOT = NDArray.__dict__["_data"]      # the dense slot of NDArray: our dense cache
_STYPES = ("default", "row_sparse", "csr")
_IDX = np.dtype(np.int64)


def _xp(ctx):
    return ctx._runtime(False).xp


def _check_ctx(ctx):
    if ctx is None:
        return current_context()
    if not isinstance(ctx, Context):
        raise TypeError(f"ctx: expected a Context, got {type(ctx).__name__}")
    return ctx


def _check_shape(shape, fn):
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{fn}: shape: expected a tuple of ints, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{fn}: shape: dimensions must be >= 0, got {shape}")
    return shape


def _host(a):
    return a if type(a) is np.ndarray else a.get()


# --------------------------------------------------------------------------------------
# the array classes
class BaseSparseNDArray(NDArray):
    """The common part of :class:`CSRNDArray` and :class:`RowSparseNDArray` (MXNet's
    ``BaseSparseNDArray``). Create them with :func:`csr_matrix`, :func:`row_sparse_array`,
    :func:`zeros` or ``NDArray.tostype``."""

    __slots__ = ("_values", "_aux", "_sshape")
    _stype = None

    def __init__(self, values, aux, shape, ctx, entry=None):
        # NDArray.__init__ is not called: its _data is our (lazy) dense cache
        _SLOT.__set__(self, None)
        self._values = values
        self._aux = tuple(aux)
        self._sshape = tuple(shape)
        self._ctx = ctx
        self._entry = entry

    # --- storage -------------------------------------------------------------------------
    @property
    def _data(self):
        """The dense equivalent (computed once, read-only): what dense operators see."""
        d = _SLOT.__get__(self)
        if d is None:
            d = self._todense()
            if type(d) is np.ndarray:
                d.setflags(write=False)
            _SLOT.__set__(self, d)
        return d

    @_data.setter
    def _data(self, dense):
        # assigning dense values (e.g. a gradient) converts them to this storage type
        self._assign(_from_dense(dense, self._stype, self._ctx, self.dtype))

    def _assign(self, other):
        """Take ``other``'s components (same storage type and shape)."""
        if other._stype != self._stype or other._sshape != self._sshape:
            raise MXNetError(f"cannot assign a {other._stype} array of shape {other._sshape}"
                             f" to a {self._stype} array of shape {self._sshape}")
        self._values = other._values.astype(self._values.dtype, copy=False)
        self._aux = other._aux
        _SLOT.__set__(self, None)

    @property
    def stype(self):
        return self._stype

    @property
    def shape(self):
        return self._sshape

    @property
    def dtype(self):
        return self._values.dtype.type

    @property
    def size(self):
        n = 1
        for s in self._sshape:
            n *= s
        return n

    @property
    def ndim(self):
        return len(self._sshape)

    @property
    def data(self):
        """A copy of the stored values (MXNet returns a copy too)."""
        return NDArray(self._values.copy(), self._ctx)

    def _aux_nd(self, i):
        return NDArray(self._aux[i].copy(), self._ctx)

    def asnumpy(self):
        """The dense values as a numpy array."""
        return np.array(_host(self._data))

    _asnumpy_plain = asnumpy

    def __repr__(self):
        shape_info = "x".join(str(s) for s in self._sshape)
        return f"\n<{type(self).__name__} {shape_info} @{self._ctx}>"

    def __reduce__(self):
        return (_rebuild_sparse, (self._stype, _host(self._values),
                                  tuple(_host(a) for a in self._aux), self._sshape, self._ctx))

    # --- conversion ----------------------------------------------------------------------
    def tostype(self, stype):
        """A copy with storage type ``stype`` ('default', 'row_sparse' or 'csr')."""
        return cast_storage(self, stype)

    def astype(self, dtype, copy=True):
        """A copy with values of ``dtype`` (same storage type)."""
        dt = np_dtype(dtype)
        if not copy and dt == self._values.dtype:
            return self
        return type(self)(self._values.astype(dt), self._aux, self._sshape, self._ctx)

    def copy(self):
        """A copy (same storage type and context)."""
        return type(self)(self._values.copy(), tuple(a.copy() for a in self._aux),
                          self._sshape, self._ctx)

    def copyto(self, other):
        """Copy into ``other`` (an array of the same shape: a sparse target takes the
        same storage type, a dense one the dense values) or onto a Context."""
        if isinstance(other, Context):
            return type(self)(_to_device(self._values, other),
                              tuple(_to_device(a, other) for a in self._aux), self._sshape,
                              other)
        if not isinstance(other, NDArray):
            raise TypeError(f"copyto: expected an NDArray or a Context, got "
                            f"{type(other).__name__}")
        if other is self:
            return other
        if other.shape != self.shape:
            raise ValueError(f"copyto: target shape {other.shape} does not match source "
                             f"shape {self.shape}")
        if isinstance(other, BaseSparseNDArray):
            _check_inplace(other)
            other._assign(cast_storage(self.copyto(other._ctx), other._stype))
            return other
        return NDArray.copyto(NDArray(self._data, self._ctx), other)

    def as_in_context(self, context):
        """This array on ``context`` (``self`` if already there)."""
        if not isinstance(context, Context):
            raise TypeError(f"context: expected a Context, got {type(context).__name__}")
        return self if context is self._ctx else self.copyto(context)

    def attach_grad(self, grad_req="write", stype=None):
        """Make this array an autograd variable; the gradient buffer has storage type
        ``stype`` (default: this array's, as ``zeros_like`` in MXNet)."""
        NDArray.attach_grad(self, grad_req, self._stype if stype is None else stype)

    def check_format(self, full_check=True):
        """Raise ``ValueError`` unless the components form a valid array of this type."""
        _validate(self._stype, self._values, self._aux, self._sshape, "check_format",
                  full_check)

    # --- indexing and in-place updates ---------------------------------------------------
    def __setitem__(self, key, value):
        """Only ``x[:] = value`` (a scalar, a dense or sparse array of the same shape) is
        supported on sparse arrays, as in MXNet."""
        if not (isinstance(key, builtins.slice) and key == builtins.slice(None)):
            raise MXNetError(f"{type(self).__name__} only supports [:] for assignment, "
                             f"got key {key!r}")
        _check_inplace(self)
        if isinstance(value, (int, float, np.generic)):
            if value == 0:
                self._assign(zeros(self._stype, self._sshape, self._ctx, self._values.dtype))
                return
            value = NDArray(_xp(self._ctx).full(self._sshape, value, self._values.dtype),
                            self._ctx)
        elif isinstance(value, np.ndarray):
            value = NDArray(_to_device(value.astype(self._values.dtype), self._ctx), self._ctx)
        if not isinstance(value, NDArray):
            raise TypeError(f"{type(self).__name__}[:]: expected a scalar or an NDArray, got "
                            f"{type(value).__name__}")
        if value.shape != self._sshape:
            raise ValueError(f"{type(self).__name__}[:]: value has shape {value.shape}, "
                             f"expected {self._sshape}")
        self._assign(cast_storage(value, self._stype).astype(self._values.dtype))

    def _inplace(self, other, fn):
        _check_inplace(self)
        r = fn(self, other)
        if r.shape != self._sshape:
            raise MXNetError(f"in-place result shape {r.shape} differs from the array's "
                             f"shape {self._sshape}")
        self._assign(cast_storage(r, self._stype).astype(self._values.dtype))
        return self

    # --- arithmetic that keeps the storage type (other combinations go dense) -----------
    def __neg__(self):
        return _unary_keep(self, lambda xp, v: -v)

    def __add__(self, other):
        return add(self, other)

    def __sub__(self, other):
        return subtract(self, other)

    def __mul__(self, other):
        return multiply(self, other)

    def __truediv__(self, other):
        return divide(self, other)

    __div__ = __truediv__

    def __radd__(self, other):
        return add(self, other)

    def __rmul__(self, other):
        return multiply(self, other)

    def __iadd__(self, other):
        return self._inplace(other, add)

    def __isub__(self, other):
        return self._inplace(other, subtract)

    def __imul__(self, other):
        return self._inplace(other, multiply)

    def __itruediv__(self, other):
        return self._inplace(other, divide)

    __idiv__ = __itruediv__


class CSRNDArray(BaseSparseNDArray):
    """A 2-D array in compressed sparse row format (MXNet's ``CSRNDArray``)."""

    __slots__ = ()
    _stype = "csr"

    @property
    def indices(self):
        """Column indices of the stored values (int64)."""
        return self._aux_nd(1)

    @property
    def indptr(self):
        """Row offsets into ``data``/``indices`` (int64, rows + 1 entries)."""
        return self._aux_nd(0)

    def _todense(self):
        xp = _xp(self._ctx)
        m, n = self._sshape
        out = xp.zeros((m, n), self._values.dtype)
        indptr, indices = self._aux
        out[_row_ids(xp, indptr), indices] = self._values
        return out

    def __getitem__(self, key):
        """Rows ``x[i]`` or ``x[a:b]`` as a CSRNDArray (MXNet supports only these)."""
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            i = int(key)
            m = self._sshape[0]
            if not -m <= i < m:
                raise IndexError(f"index {i} is out of bounds for axis 0 with size {m}")
            i %= m
            return slice(self, begin=(i,), end=(i + 1,))
        if isinstance(key, builtins.slice):
            if key.step not in (None, 1):
                raise ValueError("CSRNDArray slicing supports only step 1")
            b, e, _ = key.indices(self._sshape[0])
            return slice(self, begin=(b,), end=(max(b, e),))
        raise ValueError(f"CSRNDArray only supports integer and slice indexing on the first "
                         f"axis, got {key!r}")

    def asscipy(self):
        """The array as a ``scipy.sparse.csr_matrix`` (needs scipy)."""
        try:
            import scipy.sparse as spsp  # optional: only this conversion needs it
        except ImportError:
            raise ImportError("CSRNDArray.asscipy needs scipy (pip install scipy)") from None
        return spsp.csr_matrix((_host(self._values), _host(self._aux[1]),
                                _host(self._aux[0])), shape=self._sshape)


class RowSparseNDArray(BaseSparseNDArray):
    """An array of which only some rows (first-axis slices) are stored (MXNet's
    ``RowSparseNDArray``); the typical gradient of an embedding matrix."""

    __slots__ = ()
    _stype = "row_sparse"

    @property
    def indices(self):
        """The ids of the stored rows (int64, increasing)."""
        return self._aux_nd(0)

    def _todense(self):
        xp = _xp(self._ctx)
        out = xp.zeros(self._sshape, self._values.dtype)
        out[self._aux[0]] = self._values
        return out

    def __getitem__(self, key):
        if isinstance(key, builtins.slice) and key == builtins.slice(None):
            return self
        raise MXNetError(f"RowSparseNDArray only supports [:] for __getitem__, got {key!r}; "
                         "convert with .tostype('default') first")

    def retain(self, indices):
        """The rows ``indices`` only (see :func:`retain`)."""
        return retain(self, indices)


_CLASSES = {"csr": CSRNDArray, "row_sparse": RowSparseNDArray}


def _rebuild_sparse(stype, values, aux, shape, ctx):
    return _CLASSES[stype](_to_device(values, ctx), tuple(_to_device(a, ctx) for a in aux),
                           shape, ctx)


def _row_ids(xp, indptr):
    """The row of every stored csr entry."""
    m = indptr.shape[0] - 1
    return xp.repeat(xp.arange(m, dtype=_IDX), xp.diff(indptr))


def _validate(stype, values, aux, shape, fn, full=True):
    """Check sparse components; raise ValueError naming ``fn`` and the problem."""
    if stype == "csr":
        if len(shape) != 2:
            raise ValueError(f"{fn}: csr arrays are 2-D, got shape {shape}")
        indptr, indices = (_host(a) for a in aux)
        if values.ndim != 1 or indices.ndim != 1 or indptr.ndim != 1:
            raise ValueError(f"{fn}: csr data, indices and indptr must be 1-D")
        if values.shape[0] != indices.shape[0]:
            raise ValueError(f"{fn}: csr data has {values.shape[0]} values but indices has "
                             f"{indices.shape[0]}")
        if indptr.shape[0] != shape[0] + 1:
            raise ValueError(f"{fn}: indptr has {indptr.shape[0]} entries, expected rows + 1"
                             f" = {shape[0] + 1}")
        if not full:
            return
        if indptr[0] != 0 or indptr[-1] != indices.shape[0] or np.any(np.diff(indptr) < 0):
            raise ValueError(f"{fn}: indptr must start at 0, never decrease and end at nnz "
                             f"= {indices.shape[0]}, got {indptr.tolist()[:20]}")
        if indices.size and (indices.min() < 0 or indices.max() >= shape[1]):
            raise ValueError(f"{fn}: column indices must be in [0, {shape[1]}), got "
                             f"[{indices.min()}, {indices.max()}]")
        if indices.size > 1:
            rows = _row_ids(np, indptr)
            same = rows[1:] == rows[:-1]
            if np.any(same & (indices[1:] <= indices[:-1])):
                raise ValueError(f"{fn}: column indices must be strictly increasing within "
                                 "each row")
    else:
        if len(shape) < 1:
            raise ValueError(f"{fn}: row_sparse arrays have at least one dimension")
        (indices,) = (_host(a) for a in aux)
        if indices.ndim != 1:
            raise ValueError(f"{fn}: row_sparse indices must be 1-D")
        if tuple(values.shape) != (indices.shape[0],) + tuple(shape[1:]):
            raise ValueError(f"{fn}: row_sparse data has shape {tuple(values.shape)}, expected "
                             f"(len(indices),) + shape[1:] = "
                             f"{(indices.shape[0],) + tuple(shape[1:])}")
        if not full:
            return
        if indices.size and (indices.min() < 0 or indices.max() >= shape[0]):
            raise ValueError(f"{fn}: row indices must be in [0, {shape[0]}), got "
                             f"[{indices.min()}, {indices.max()}]")
        if indices.size > 1 and np.any(np.diff(indices) <= 0):
            raise ValueError(f"{fn}: row_sparse indices must be strictly increasing "
                             "(sorted, no duplicates)")


# --------------------------------------------------------------------------------------
# creation
def _dtype_of(src, dtype):
    """MXNet's default dtype: the source's for numpy/NDArray data, else float32."""
    if dtype is not None:
        return np_dtype(dtype)
    if isinstance(src, NDArray):
        return np.dtype(src.dtype)
    if isinstance(src, np.ndarray):
        return src.dtype
    return np.dtype(np.float32)


def _raw(x, dtype=None):
    """A host numpy array from an NDArray, numpy array or list."""
    if isinstance(x, NDArray):
        x = _host(x._data)
    a = np.asarray(x)
    return a if dtype is None else a.astype(dtype)


def _is_scipy_sparse(x):
    return hasattr(x, "tocsr") and hasattr(x, "nnz") and not isinstance(x, NDArray)


def csr_matrix(arg1, shape=None, ctx=None, dtype=None):
    """A :class:`CSRNDArray` (MXNet's ``nd.sparse.csr_matrix``) from

    * ``(data, indices, indptr)``: the CSR components (``shape`` inferred when omitted);
    * ``(data, (row, col))``: coordinates (duplicates are summed, as scipy does);
    * ``(M, N)``: an empty M x N matrix;
    * a CSRNDArray, a ``scipy.sparse`` matrix, or dense data (NDArray, numpy, list).
    """
    ctx = _check_ctx(ctx)
    if isinstance(arg1, CSRNDArray):
        r = arg1.copyto(ctx) if arg1._ctx is not ctx else arg1.copy()
        return r if dtype is None else r.astype(dtype)
    if _is_scipy_sparse(arg1):
        m = arg1.tocsr()
        m.sort_indices()
        m.sum_duplicates()
        return csr_matrix((m.data, m.indices, m.indptr), shape=m.shape, ctx=ctx,
                          dtype=m.dtype if dtype is None else dtype)
    if isinstance(arg1, tuple) and len(arg1) == 2 and all(
            isinstance(s, (int, np.integer)) for s in arg1):
        return zeros("csr", arg1, ctx, dtype)
    if isinstance(arg1, tuple) and len(arg1) == 3:
        dt = _dtype_of(arg1[0], dtype)
        values = _raw(arg1[0], dt).reshape(-1)
        indices = _raw(arg1[1], _IDX).reshape(-1)
        indptr = _raw(arg1[2], _IDX).reshape(-1)
        if shape is None:
            if indptr.size < 1:
                raise ValueError("csr_matrix: indptr is empty; it needs rows + 1 entries")
            shape = (indptr.size - 1, int(indices.max()) + 1 if indices.size else 0)
        shape = _check_shape(shape, "csr_matrix")
        _validate("csr", values, (indptr, indices), shape, "csr_matrix")
        return _make("csr", values, (indptr, indices), shape, ctx)
    if isinstance(arg1, tuple) and len(arg1) == 2 and isinstance(arg1[1], (tuple, list)) \
            and len(arg1[1]) == 2:
        dt = _dtype_of(arg1[0], dtype)
        values = _raw(arg1[0], dt).reshape(-1)
        row = _raw(arg1[1][0], _IDX).reshape(-1)
        col = _raw(arg1[1][1], _IDX).reshape(-1)
        if not values.size == row.size == col.size:
            raise ValueError(f"csr_matrix: data, row and col must have the same length, got "
                             f"{values.size}, {row.size}, {col.size}")
        if shape is None:
            shape = (int(row.max()) + 1 if row.size else 0,
                     int(col.max()) + 1 if col.size else 0)
        shape = _check_shape(shape, "csr_matrix")
        if row.size and (row.min() < 0 or row.max() >= shape[0] or col.min() < 0
                         or col.max() >= shape[1]):
            raise ValueError(f"csr_matrix: coordinates out of range for shape {shape}")
        key = row * max(shape[1], 1) + col
        uniq, inv = np.unique(key, return_inverse=True)
        summed = np.zeros(uniq.size, dt)
        np.add.at(summed, inv, values)
        urow, ucol = uniq // max(shape[1], 1), uniq % max(shape[1], 1)
        indptr = np.zeros(shape[0] + 1, _IDX)
        np.cumsum(np.bincount(urow, minlength=shape[0]), out=indptr[1:])
        return _make("csr", summed, (indptr, ucol.astype(_IDX)), shape, ctx)
    if isinstance(arg1, BaseSparseNDArray):
        return cast_storage(arg1, "csr").copyto(ctx).astype(dtype or arg1.dtype)
    dense = _dense_source(arg1, dtype, "csr_matrix")
    if dense.ndim != 2:
        raise ValueError(f"csr_matrix: dense data must be 2-D, got shape {dense.shape}")
    if shape is not None and _check_shape(shape, "csr_matrix") != dense.shape:
        raise ValueError(f"csr_matrix: shape {shape} does not match the data's {dense.shape}")
    return _from_dense(_to_device(dense, ctx), "csr", ctx, dense.dtype)


def row_sparse_array(arg1, shape=None, ctx=None, dtype=None):
    """A :class:`RowSparseNDArray` (MXNet's ``nd.sparse.row_sparse_array``) from

    * ``(data, indices)``: the stored rows and their (strictly increasing) ids;
    * a shape tuple: an all-zero array;
    * a RowSparseNDArray, or dense data (NDArray, numpy, list).
    """
    ctx = _check_ctx(ctx)
    if isinstance(arg1, RowSparseNDArray):
        r = arg1.copyto(ctx) if arg1._ctx is not ctx else arg1.copy()
        return r if dtype is None else r.astype(dtype)
    if isinstance(arg1, tuple) and len(arg1) == 2 and not all(
            isinstance(s, (int, np.integer)) for s in arg1):
        dt = _dtype_of(arg1[0], dtype)
        values = _raw(arg1[0], dt)
        indices = _raw(arg1[1], _IDX).reshape(-1)
        if values.ndim == 0:
            raise ValueError("row_sparse_array: data must have at least one dimension")
        if shape is None:
            shape = (int(indices.max()) + 1 if indices.size else 0,) + values.shape[1:]
        shape = _check_shape(shape, "row_sparse_array")
        _validate("row_sparse", values, (indices,), shape, "row_sparse_array")
        return _make("row_sparse", values, (indices,), shape, ctx)
    if isinstance(arg1, tuple) and all(isinstance(s, (int, np.integer)) for s in arg1):
        return zeros("row_sparse", arg1, ctx, dtype)
    if isinstance(arg1, BaseSparseNDArray):
        return cast_storage(arg1, "row_sparse").copyto(ctx).astype(dtype or arg1.dtype)
    dense = _dense_source(arg1, dtype, "row_sparse_array")
    if dense.ndim < 1:
        raise ValueError("row_sparse_array: dense data needs at least one dimension")
    if shape is not None and _check_shape(shape, "row_sparse_array") != dense.shape:
        raise ValueError(f"row_sparse_array: shape {shape} does not match the data's "
                         f"{dense.shape}")
    return _from_dense(_to_device(dense, ctx), "row_sparse", ctx, dense.dtype)


def _dense_source(src, dtype, fn):
    if isinstance(src, NDArray):
        return _host(src._data).astype(_dtype_of(src, dtype))
    try:
        a = np.asarray(src)
    except (TypeError, ValueError):
        a = np.asarray(None)
    if a.dtype == object:
        raise TypeError(f"{fn}: cannot make an array from {type(src).__name__}")
    return a.astype(_dtype_of(a if isinstance(src, np.ndarray) else None, dtype))


def _make(stype, values, aux, shape, ctx):
    return _CLASSES[stype](_to_device(values, ctx), tuple(_to_device(a, ctx) for a in aux),
                           shape, ctx)


def zeros(stype, shape, ctx=None, dtype=None, **kwargs):
    """An all-zero array of storage type ``stype`` (MXNet's ``nd.sparse.zeros``)."""
    if kwargs:
        raise TypeError(f"zeros: unexpected arguments {sorted(kwargs)}")
    ctx = _check_ctx(ctx)
    shape = _check_shape(shape, "zeros")
    dt = np_dtype(dtype)
    if stype == "default":
        return NDArray(_xp(ctx).zeros(shape, dt), ctx)
    if stype == "csr":
        if len(shape) != 2:
            raise ValueError(f"zeros: csr arrays are 2-D, got shape {shape}")
        return _make("csr", np.zeros(0, dt), (np.zeros(shape[0] + 1, _IDX),
                                              np.zeros(0, _IDX)), shape, ctx)
    if stype == "row_sparse":
        if len(shape) < 1:
            raise ValueError("zeros: row_sparse arrays need at least one dimension")
        return _make("row_sparse", np.zeros((0,) + shape[1:], dt), (np.zeros(0, _IDX),),
                     shape, ctx)
    raise ValueError(f"zeros: stype must be one of {_STYPES}, got {stype!r}")


def empty(stype, shape, ctx=None, dtype=None):
    """An empty (all-zero) array of storage type ``stype``."""
    return zeros(stype, shape, ctx, dtype)


def array(source_array, ctx=None, dtype=None):
    """A sparse array from a CSRNDArray/RowSparseNDArray or a ``scipy.sparse`` matrix
    (MXNet's ``nd.sparse.array``)."""
    if isinstance(source_array, BaseSparseNDArray):
        ctx = _check_ctx(ctx)
        r = source_array.copyto(ctx) if source_array._ctx is not ctx else source_array.copy()
        return r.astype(dtype) if dtype is not None else r
    if _is_scipy_sparse(source_array):
        return csr_matrix(source_array, ctx=ctx, dtype=dtype)
    raise ValueError("nd.sparse.array: expected a sparse NDArray or a scipy.sparse matrix, "
                     f"got {type(source_array).__name__}; use nd.array for dense data")


def zeros_like(data):
    """Zeros with ``data``'s shape, dtype, context and storage type."""
    return zeros(data.stype, data.shape, data.context, data.dtype)


# --------------------------------------------------------------------------------------
# storage casts
def _from_dense(dense, stype, ctx, dtype):
    """Raw dense ``dense`` as a sparse array keeping its non-zero entries (csr) or rows
    (row_sparse); ``RowsTagged`` gradients (Embedding's) keep exactly their rows."""
    xp = _xp(ctx)
    dt = np.dtype(dtype)
    if stype == "default":
        return NDArray(dense.astype(dt, copy=False), ctx)
    shape = tuple(dense.shape)
    if stype == "row_sparse":
        rows = getattr(dense, "rows", None)
        if isinstance(dense, np.ndarray):
            dense = dense.view(np.ndarray)
        if rows is None:
            flat = dense.reshape(shape[0], -1) if shape[0] else dense.reshape(0, 1)
            rows = xp.nonzero(xp.any(flat != 0, axis=1))[0].astype(_IDX)
        return RowSparseNDArray(dense[rows].astype(dt), (rows,), shape, ctx)
    if stype == "csr":
        if len(shape) != 2:
            raise MXNetError(f"cast_storage: csr arrays are 2-D, got shape {shape}")
        r, c = xp.nonzero(dense)
        indptr = xp.zeros(shape[0] + 1, _IDX)
        xp.cumsum(xp.bincount(r, minlength=shape[0]), out=indptr[1:])
        return CSRNDArray(dense[r, c].astype(dt), (indptr, c.astype(_IDX)), shape, ctx)
    raise ValueError(f"stype must be one of {_STYPES}, got {stype!r}")


def cast_storage(data, stype):
    """``data`` converted to storage type ``stype`` (MXNet's ``cast_storage``): always a
    new array for sparse results; a dense array is returned as-is for 'default'."""
    if stype not in _STYPES:
        raise ValueError(f"cast_storage: stype must be one of {_STYPES}, got {stype!r}")
    if not isinstance(data, NDArray):
        raise TypeError(f"cast_storage: data: expected an NDArray, got {type(data).__name__}")
    if data.stype == stype:
        return data.copy() if stype != "default" else data
    if stype == "default":
        d = data._data
        return NDArray(d.copy() if d.flags.writeable is False else d, data._ctx)
    if stype == "csr" and data.ndim != 2:
        raise MXNetError(f"cast_storage: csr arrays are 2-D, got shape {data.shape}")
    if stype == "row_sparse" and data.ndim < 1:
        raise MXNetError("cast_storage: row_sparse arrays need at least one dimension")
    return _from_dense(data._data, stype, data._ctx, data._data.dtype)


def _tostype(arr, stype):
    """``NDArray.tostype`` of dense arrays (hooked into ndarray.py)."""
    return cast_storage(arr, stype)


# --------------------------------------------------------------------------------------
# elementwise arithmetic
def _dense_fn(name):
    return _make_function(_REGISTRY[name])


def _unary_keep(x, fn):
    """``fn`` applied to the stored values only (for functions with f(0) == 0)."""
    return type(x)(fn(_xp(x._ctx), x._values), x._aux, x._sshape, x._ctx)


def _binary_same(lhs, rhs, op):
    """Elementwise ``op`` of two sparse arrays of one storage type and shape, on the union
    of their stored positions; the result keeps the storage type."""
    xp = _xp(lhs._ctx)
    shape = lhs._sshape
    if lhs._stype == "row_sparse":
        ia, ib = lhs._aux[0], rhs._aux[0]
        rows = xp.union1d(ia, ib).astype(_IDX)
        tail = shape[1:]
        a = xp.zeros((rows.shape[0],) + tail, lhs._values.dtype)
        b = xp.zeros((rows.shape[0],) + tail, lhs._values.dtype)
        a[xp.searchsorted(rows, ia)] = lhs._values
        b[xp.searchsorted(rows, ib)] = rhs._values
        return RowSparseNDArray(op(a, b), (rows,), shape, lhs._ctx)
    ncol = max(shape[1], 1)
    ka = _row_ids(xp, lhs._aux[0]) * ncol + lhs._aux[1]
    kb = _row_ids(xp, rhs._aux[0]) * ncol + rhs._aux[1]
    keys = xp.union1d(ka, kb)
    a = xp.zeros(keys.shape[0], lhs._values.dtype)
    b = xp.zeros(keys.shape[0], lhs._values.dtype)
    a[xp.searchsorted(keys, ka)] = lhs._values
    b[xp.searchsorted(keys, kb)] = rhs._values
    indptr = xp.zeros(shape[0] + 1, _IDX)
    xp.cumsum(xp.bincount(keys // ncol, minlength=shape[0]), out=indptr[1:])
    return CSRNDArray(op(a, b), (indptr, (keys % ncol).astype(_IDX)), shape, lhs._ctx)


def _check_same(lhs, rhs, fn):
    if lhs._ctx is not rhs._ctx:
        raise MXNetError(f"{fn}: inputs are on {lhs._ctx} and {rhs._ctx}; move one with "
                         ".as_in_context(...)")
    if lhs._values.dtype != rhs._values.dtype:
        raise MXNetError(f"{fn}: inputs must have the same dtype, got "
                         f"{lhs._values.dtype.name} and {rhs._values.dtype.name}")


def _dense(x):
    return NDArray(x._data, x._ctx) if isinstance(x, BaseSparseNDArray) else x


def _recording(*xs):
    return _st.recording and any(isinstance(x, NDArray) and x._entry is not None for x in xs)


def _arith(name, lhs, rhs, keep_add):
    """Shared body of add/subtract/multiply/divide: sparse results where MXNet gives them
    (same-type sparse operands for +/-, a sparse operand times/divided by a scalar or
    elementwise-multiplied by anything), dense ones otherwise."""
    ops = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply,
           "divide": np.divide}
    sp_l, sp_r = isinstance(lhs, BaseSparseNDArray), isinstance(rhs, BaseSparseNDArray)
    scalar_r = isinstance(rhs, (int, float, np.generic)) and not isinstance(rhs, np.bool_)
    scalar_l = isinstance(lhs, (int, float, np.generic)) and not isinstance(lhs, np.bool_)
    if not _recording(lhs, rhs):
        if sp_l and sp_r and lhs._stype == rhs._stype and lhs.shape == rhs.shape:
            _check_same(lhs, rhs, name)
            if keep_add or name == "multiply":
                return _binary_same(lhs, rhs, ops[name])
        if sp_l and scalar_r and name in ("multiply", "divide"):
            dt = lhs._values.dtype
            return _unary_keep(lhs, lambda xp, v: ops[name](v, dt.type(rhs)).astype(dt))
        if sp_r and scalar_l and name == "multiply":
            return multiply(rhs, lhs)
        if sp_l and name == "multiply" and isinstance(rhs, NDArray) and rhs.shape == lhs.shape:
            # x * dense is zero wherever x is: keep x's pattern
            return _binary_same(lhs, _pattern_of(rhs, lhs), np.multiply)
    # dense fallback (also the recorded path, so gradients flow as for dense arrays)
    a, b = _dense(lhs), _dense(rhs)
    fn = {"add": NDArray.__add__, "subtract": NDArray.__sub__, "multiply": NDArray.__mul__,
          "divide": NDArray.__truediv__}[name]
    if isinstance(a, NDArray):
        r = fn(a, b)
    else:
        r = {"add": NDArray.__radd__, "subtract": NDArray.__rsub__,
             "multiply": NDArray.__rmul__, "divide": NDArray.__rtruediv__}[name](b, a)
    if r is NotImplemented:
        raise TypeError(f"{name}: unsupported operand types {type(lhs).__name__} and "
                        f"{type(rhs).__name__}")
    return r


def _pattern_of(dense, like):
    """``dense`` restricted to the stored positions of the sparse array ``like``."""
    xp = _xp(like._ctx)
    d = dense._data
    if like._stype == "row_sparse":
        return RowSparseNDArray(d[like._aux[0]].astype(like._values.dtype), like._aux,
                                like._sshape, like._ctx)
    rows = _row_ids(xp, like._aux[0])
    return CSRNDArray(d[rows, like._aux[1]].astype(like._values.dtype), like._aux,
                      like._sshape, like._ctx)


def add(lhs, rhs):
    """``lhs + rhs``; two sparse arrays of one storage type give that storage type,
    anything else a dense array (broadcasting as ``nd.add``)."""
    return _arith("add", lhs, rhs, True)


def subtract(lhs, rhs):
    """``lhs - rhs`` (storage types as :func:`add`)."""
    return _arith("subtract", lhs, rhs, True)


def multiply(lhs, rhs):
    """``lhs * rhs``; sparse when either operand is sparse and the other is a scalar or
    an array of the same shape, else dense."""
    return _arith("multiply", lhs, rhs, False)


def divide(lhs, rhs):
    """``lhs / rhs``; a sparse array divided by a scalar stays sparse, else dense."""
    return _arith("divide", lhs, rhs, False)


def _elemwise(name, lhs, rhs):
    if not (isinstance(lhs, NDArray) and isinstance(rhs, NDArray)):
        raise TypeError(f"elemwise_{name}: expected two NDArrays, got "
                        f"{type(lhs).__name__} and {type(rhs).__name__}")
    if lhs.shape != rhs.shape:
        raise MXNetError(f"elemwise_{name}: shapes differ: {lhs.shape} and {rhs.shape}")
    return {"add": add, "sub": subtract, "mul": multiply, "div": divide}[name](lhs, rhs)


def elemwise_add(lhs, rhs):
    """Elementwise sum of two arrays of one shape (sparse for two sparse operands of one
    storage type)."""
    return _elemwise("add", lhs, rhs)


def elemwise_sub(lhs, rhs):
    """Elementwise difference of two arrays of one shape."""
    return _elemwise("sub", lhs, rhs)


def elemwise_mul(lhs, rhs):
    """Elementwise product of two arrays of one shape (sparse when either is sparse)."""
    return _elemwise("mul", lhs, rhs)


def elemwise_div(lhs, rhs):
    """Elementwise quotient of two arrays of one shape (dense, as in MXNet)."""
    return _elemwise("div", lhs, rhs)


broadcast_add = broadcast_plus = add
broadcast_sub = broadcast_minus = subtract
broadcast_mul = multiply
broadcast_div = divide


def add_n(*args):
    """The sum of all arguments; row_sparse when all are row_sparse (MXNet's
    ``ElementWiseSum``), else dense."""
    if not args:
        raise ValueError("add_n: needs at least one array")
    out = args[0]
    if all(isinstance(a, RowSparseNDArray) for a in args) and not _recording(*args):
        out = args[0].copy()
        for a in args[1:]:
            out = add(out, a)
        return out
    return _dense_fn("add_n")(*[_dense(a) for a in args])


ElementWiseSum = add_n

# functions with f(0) == 0: applied to the stored values, storage type kept
_ZERO_PRESERVING = ("abs", "sign", "sqrt", "square", "ceil", "floor", "rint", "round",
                    "trunc", "fix", "sin", "tan", "arcsin", "arctan", "sinh", "tanh",
                    "arcsinh", "arctanh", "expm1", "log1p", "degrees", "radians", "relu",
                    "cbrt", "negative")
# functions with f(0) != 0: the result is dense (MXNet's storage fallback)
_DENSE_RESULT = ("exp", "cos", "cosh", "arccos", "arccosh", "log", "log10", "log2",
                 "rsqrt", "sigmoid", "gamma", "gammaln")


def _make_unary(name, keep):
    dense_fn = _dense_fn(name)

    def fn(data, **kwargs):
        if keep and isinstance(data, BaseSparseNDArray) and not kwargs \
                and not _recording(data):
            r = dense_fn(NDArray(data._values, data._ctx))
            return type(data)(r._data, data._aux, data._sshape, data._ctx)
        return dense_fn(_dense(data), **kwargs)

    fn.__name__ = name
    fn.__doc__ = (f"``{name}`` of every element; a sparse input keeps its storage type."
                  if keep else f"``{name}`` of every element (a dense result).")
    return fn


for _n in _ZERO_PRESERVING + _DENSE_RESULT:
    if _n in _REGISTRY:
        globals()[_n] = _make_unary(_n, _n in _ZERO_PRESERVING)
        if _n not in __all__:
            __all__.append(_n)
del _n


def clip(data, a_min, a_max, **kwargs):
    """Clip values to ``[a_min, a_max]``; sparse input stays sparse when the range holds
    0 (so unstored zeros stay zero), as in MXNet."""
    if isinstance(data, BaseSparseNDArray) and a_min <= 0 <= a_max and not _recording(data):
        return _unary_keep(data, lambda xp, v: xp.clip(v, a_min, a_max))
    return _dense_fn("clip")(_dense(data), a_min=a_min, a_max=a_max, **kwargs)


def _dense_wrapper(name):
    fn = _dense_fn(name)

    def wrapper(*args, **kwargs):
        return fn(*[_dense(a) for a in args], **{k: _dense(v) for k, v in kwargs.items()})

    wrapper.__name__ = name
    wrapper.__doc__ = f"MXNet's ``{name}`` on sparse inputs (computed densely; dense result)."
    return wrapper


sum = _dense_wrapper("sum")  # noqa: A001  (MXNet's name)
mean = _dense_wrapper("mean")
norm = _dense_wrapper("norm")
where = _dense_wrapper("where")
concat = _dense_wrapper("Concat")
stop_gradient = _dense_wrapper("BlockGrad")
make_loss = _dense_wrapper("make_loss") if "make_loss" in _REGISTRY \
    else _dense_wrapper("MakeLoss") if "MakeLoss" in _REGISTRY else None
Embedding = _dense_wrapper("Embedding")
FullyConnected = _dense_wrapper("FullyConnected")
LinearRegressionOutput = _dense_wrapper("LinearRegressionOutput")
LogisticRegressionOutput = _dense_wrapper("LogisticRegressionOutput")
MAERegressionOutput = _dense_wrapper("MAERegressionOutput")
if make_loss is None:
    __all__.remove("make_loss")
    del make_loss


# --------------------------------------------------------------------------------------
# dot, retain, slice
class _SparseDot(_ag.Function):
    """Records ``dot(csr, dense)`` for autograd: the gradient goes to the dense operand
    only (MXNet computes no gradient for a csr operand either)."""

    def __init__(self, csr, transpose_a, transpose_b):
        super().__init__()
        self.csr, self.ta, self.tb = csr, transpose_a, transpose_b

    def forward(self, w):
        return _csr_dot(self.csr, w, self.ta, self.tb)

    def backward(self, og):
        # out = op(A) @ op(W): dW = op(A)^T @ og, transposed back when W was
        g = _dense(_csr_dot(self.csr, og, not self.ta, False))
        return g.T if self.tb else g


def _csr_dot(csr, w, transpose_a, transpose_b):
    """``op(csr) @ op(w)`` with ``w`` dense: dense for ``csr @ w``, row_sparse (the rows
    are the csr's columns that hold entries) for ``csr.T @ w``, as MXNet returns."""
    xp = _xp(csr._ctx)
    wd = _dense(w)._data
    if transpose_b:
        wd = wd.T
    m, k = csr._sshape
    indptr, indices = csr._aux
    rows = _row_ids(xp, indptr)
    vals = csr._values
    want = m if transpose_a else k
    if wd.ndim != 2 or wd.shape[0] != want:
        raise MXNetError(f"dot: shapes do not match: lhs {csr._sshape}"
                         f"{' (transposed)' if transpose_a else ''} and rhs {tuple(w.shape)}"
                         f"{' (transposed)' if transpose_b else ''}")
    if vals.dtype != wd.dtype:
        raise MXNetError(f"dot: inputs must have the same dtype, got {vals.dtype.name} and "
                         f"{wd.dtype.name}")
    n = wd.shape[1]
    if not transpose_a:
        out = xp.zeros((m, n), vals.dtype)
        xp.add.at(out, rows, vals[:, None] * wd[indices])
        return NDArray(out, csr._ctx)
    cols = xp.unique(indices).astype(_IDX)
    out = xp.zeros((cols.shape[0], n), vals.dtype)
    xp.add.at(out, xp.searchsorted(cols, indices), vals[:, None] * wd[rows])
    return RowSparseNDArray(out, (cols,), (k, n), csr._ctx)


def dot(lhs, rhs, transpose_a=False, transpose_b=False, forward_stype=None):
    """Matrix product with sparse operands (MXNet's ``nd.sparse.dot``). Result storage:

    * ``dot(csr, dense)`` and ``dot(csr, row_sparse)``: dense;
    * ``dot(csr, dense, transpose_a=True)``: row_sparse;
    * ``dot(dense, csr)``: csr (every row holding the columns the csr uses), dense with
      ``transpose_b=True`` or ``forward_stype='default'``;
    * anything else: the dense product.

    Under ``autograd.record()`` the gradient of the dense operand of ``dot(csr, dense)``
    is computed sparsely; ``forward_stype`` forces the result's storage type.
    """
    if not isinstance(lhs, NDArray) or not isinstance(rhs, NDArray):
        raise TypeError(f"dot: expected NDArrays, got {type(lhs).__name__} and "
                        f"{type(rhs).__name__}")
    if forward_stype not in (None,) + _STYPES:
        raise ValueError(f"dot: forward_stype must be None or one of {_STYPES}, got "
                         f"{forward_stype!r}")
    if lhs._ctx is not rhs._ctx:
        raise MXNetError(f"dot: inputs are on {lhs._ctx} and {rhs._ctx}")
    if isinstance(lhs, CSRNDArray) and not isinstance(rhs, CSRNDArray) and rhs.ndim == 2:
        if lhs._entry is not None and _st.recording:
            raise MXNetError("dot: gradients with respect to a csr operand are not "
                             "supported (as in MXNet); do not attach_grad() it")
        if _st.recording and rhs._entry is not None:
            if isinstance(rhs, BaseSparseNDArray):
                raise MXNetError("dot: the gradient of a sparse rhs is not supported")
            r = _SparseDot(lhs, transpose_a, transpose_b)(rhs)
        else:
            r = _csr_dot(lhs, rhs, transpose_a, transpose_b)
        return r if forward_stype is None else cast_storage(r, forward_stype)
    r = _dense_fn("dot")(_dense(lhs), _dense(rhs), transpose_a=transpose_a,
                         transpose_b=transpose_b)
    if forward_stype is not None:
        return cast_storage(r, forward_stype)
    if isinstance(rhs, CSRNDArray) and not isinstance(lhs, BaseSparseNDArray) \
            and not transpose_a and not transpose_b and not _recording(lhs, rhs):
        # MXNet's dot(dense, csr) is csr with, in every row, each column the csr uses
        xp = _xp(rhs._ctx)
        cols = xp.unique(rhs._aux[1]).astype(_IDX)
        m = r.shape[0]
        indptr = xp.arange(m + 1, dtype=_IDX) * cols.shape[0]
        vals = r._data[:, cols].reshape(-1)
        return CSRNDArray(vals, (indptr, xp.tile(cols, m)), r.shape, r._ctx)
    return r


def retain(data, indices):
    """Row_sparse ``data`` restricted to the rows ``indices`` (MXNet's ``retain``): the
    result stores exactly those rows, zero where ``data`` stores none."""
    if not isinstance(data, RowSparseNDArray):
        raise MXNetError(f"retain: data must be a RowSparseNDArray, got "
                         f"{type(data).__name__} (stype {getattr(data, 'stype', None)!r})")
    xp = _xp(data._ctx)
    want = np.unique(_raw(indices, _IDX).reshape(-1))
    if want.size and (want[0] < 0 or want[-1] >= data._sshape[0]):
        raise ValueError(f"retain: indices must be in [0, {data._sshape[0]}), got "
                         f"[{want[0]}, {want[-1]}]")
    # as MXNet: the result stores every requested row (zero where data has none)
    want = xp.asarray(want)
    stored = data._aux[0]
    out = xp.zeros((want.shape[0],) + data._sshape[1:], data._values.dtype)
    hit = xp.isin(stored, want)
    out[xp.searchsorted(want, stored[hit])] = data._values[hit]
    return RowSparseNDArray(out, (want,), data._sshape, data._ctx)


def slice(data, begin, end, step=()):  # noqa: A001  (MXNet's name)
    """``data[begin:end]`` of a csr array (both axes may be sliced; step 1 only); other
    arrays fall back to the dense ``slice``."""
    if not isinstance(data, CSRNDArray):
        return _dense_fn("slice")(_dense(data), begin=begin, end=end, step=step)
    if step and any(s not in (None, 1) for s in step):
        raise ValueError("slice: csr arrays support only step 1")
    m, n = data._sshape
    b = list(begin) + [None] * (2 - len(begin))
    e = list(end) + [None] * (2 - len(end))
    r0, r1, _ = builtins.slice(b[0], e[0]).indices(m)
    c0, c1, _ = builtins.slice(b[1], e[1]).indices(n)
    r1, c1 = max(r0, r1), max(c0, c1)
    xp = _xp(data._ctx)
    indptr, indices = data._aux
    lo, hi = int(indptr[r0]), int(indptr[r1])
    vals, cols = data._values[lo:hi], indices[lo:hi]
    rows = _row_ids(xp, indptr[r0:r1 + 1] - lo)
    keep = (cols >= c0) & (cols < c1)
    new_indptr = xp.zeros(r1 - r0 + 1, _IDX)
    xp.cumsum(xp.bincount(rows[keep], minlength=r1 - r0), out=new_indptr[1:])
    return CSRNDArray(vals[keep].copy(), (new_indptr, (cols[keep] - c0).astype(_IDX)),
                      (r1 - r0, c1 - c0), data._ctx)




# --------------------------------------------------------------------------------------
# lazy (row-sparse) optimizer updates
def lazy_rows(grad):
    """``(rows, values)`` of a row_sparse gradient, for the lazy update of only those rows
    of a weight and its states (MXNet's ``lazy_update=True``); None for other arrays."""
    if isinstance(grad, RowSparseNDArray):
        return grad._aux[0], grad._values
    return None


def _lazy_update(mxname, opname, weight, grad, states, out, kwargs, lazy=True):
    """Run optimizer operator ``opname`` as MXNet's ``nd.sparse.<mxname>``: with a
    row_sparse ``grad`` (and ``lazy``), only the rows the gradient stores change, in the
    weight (written to ``out``, else to a new array) and in the states (in place); any
    other gradient runs the dense operator."""
    fn = _make_function(_REGISTRY[opname])
    if not isinstance(weight, NDArray) or isinstance(weight, BaseSparseNDArray):
        raise MXNetError(f"sparse.{mxname}: weight must be a dense NDArray, got "
                         f"{type(weight).__name__}")
    for i, st in enumerate(states):
        if not isinstance(st, NDArray) or isinstance(st, BaseSparseNDArray):
            raise MXNetError(f"sparse.{mxname}: state {i} must be a dense NDArray, got "
                             f"{type(st).__name__}")
    if not isinstance(grad, RowSparseNDArray) or not lazy:
        return fn(weight, _dense(grad), *states, out=out, **kwargs)
    if grad.shape != weight.shape:
        raise MXNetError(f"sparse.{mxname}: grad has shape {grad.shape}, expected the "
                         f"weight's {weight.shape}")
    if out is not None and not isinstance(out, NDArray):
        raise TypeError(f"sparse.{mxname}: out must be an NDArray, got {type(out).__name__}")
    rows, values = grad._aux[0], grad._values
    ctx = weight._ctx
    st_rows = [NDArray(st._data[rows], ctx) for st in states]
    # the kernel runs on the stored rows only (states checked before anything changes)
    new = fn(NDArray(weight._data[rows], ctx), NDArray(values, ctx), *st_rows, **kwargs)
    for st, sr in zip(states, st_rows):
        st._data[rows] = sr._data
    if out is None:
        out = NDArray(weight._data.copy(), ctx)
    elif out is not weight:
        out[:] = weight
    out._data[rows] = new._data
    return out


def sgd_update(weight, grad, out=None, **kwargs):
    """``sgd_update`` with MXNet's lazy update for a row_sparse ``grad`` (``lazy_update``,
    default True): only the rows the gradient stores are updated (weight decay too)."""
    return _lazy_update("sgd_update", "sgd_update", weight, grad, (), out, kwargs,
                        kwargs.get("lazy_update", True))


def sgd_mom_update(weight, grad, mom, out=None, **kwargs):
    """``sgd_mom_update``; with a row_sparse ``grad`` and ``lazy_update`` (default True)
    only the stored rows of the weight and of ``mom`` change."""
    return _lazy_update("sgd_mom_update", "sgd_mom_update", weight, grad, (mom,), out,
                        kwargs, kwargs.get("lazy_update", True))


def adam_update(weight, grad, mean, var, out=None, **kwargs):
    """``adam_update``; with a row_sparse ``grad`` and ``lazy_update`` (default True) only
    the stored rows of the weight, ``mean`` and ``var`` change."""
    return _lazy_update("adam_update", "adam_update", weight, grad, (mean, var), out, kwargs,
                        kwargs.get("lazy_update", True))


def ftrl_update(weight, grad, z, n, out=None, **kwargs):
    """``ftrl_update``. MXNet 1.9.1 runs its dense kernel for a dense weight (its sparse
    kernel needs a row_sparse weight, which gluonlite's updates do not take), so every
    row changes, also with a row_sparse ``grad``."""
    return _lazy_update("ftrl_update", "ftrl_update", weight, grad, (z, n), out, kwargs,
                        False)


def adagrad_update(weight, grad, history, out=None, **kwargs):
    """AdaGrad (MXNet's ``nd.sparse.adagrad_update``, operator ``_sparse_adagrad_update``);
    with a row_sparse ``grad`` only its stored rows (of the weight and ``history``)
    change."""
    return _lazy_update("adagrad_update", "_sparse_adagrad_update", weight, grad, (history,),
                        out, kwargs)


def gs_retain(data, indices):
    """MXNet's ``nd.sparse.gs_retain`` (the operator ``_sparse_retain`` under another name):
    the rows ``indices`` of row_sparse ``data``."""
    return retain(data, indices)


__all__ += ["sgd_update", "sgd_mom_update", "adam_update", "ftrl_update", "adagrad_update",
            "gs_retain"]

_ndmod._SPARSE["cast"] = _tostype
_ndmod._SPARSE["zeros"] = zeros


# names MXNet has and gluonlite lacks fail naming the reason (gluonlite/unsupported.py)
__getattr__ = _namespace_getattr("nd.sparse", __name__)
