"""``NDArray``: a thin handle over a device array, and ``invoke``, the operator dispatcher.

An NDArray is three slots: the raw array (numpy or cupy), its Context, and its autograd
entry (None, a recorded ``(Node, index)``, or a variable's ``(VarNode, 0)``). Dispatch is
kept short because small-batch programs are bound by per-operator Python overhead:
``invoke`` checks devices and dtypes, calls the operator's forward on raw arrays, and
records a Node only when recording and some input needs a gradient.
"""
from __future__ import annotations

import numpy as np

from .. import autograd as _ag
from .. import profiler as _profiler
from ..autograd import Node, VarNode, _st
from ..base import MXNetError, np_dtype
from ..context import Context, current_context
from ..ops import get_op
from ..ops.creation import allocating, check_alloc

__all__ = ["NDArray", "Size1Array", "invoke", "array", "empty"]


class Size1Array(np.ndarray):
    """The ``numpy.ndarray`` that ``NDArray.asnumpy()`` returns for one-element arrays.

    MXNet programs written for NumPy < 1.24 do ``float(loss.asnumpy())`` and
    ``'loss %f' % l.mean().asnumpy()`` on shape-(1,) results; NumPy 2 only converts 0-d
    arrays. This subclass restores the conversion (``float``, ``int``, ``complex``, so
    ``%f``/``%d``/``math.*``) for one-element arrays and is otherwise a plain ndarray: it
    prints, compares and pickles as one, and results of NumPy operations on it that are not
    one-element are plain ndarrays again.
    """

    __slots__ = ()

    def __float__(self):
        if self.size == 1:
            return float(self.reshape(-1)[0])
        return np.ndarray.__float__(self)  # NumPy's own error for larger arrays

    def __int__(self):
        if self.size == 1:
            return int(self.reshape(-1)[0])
        return np.ndarray.__int__(self)

    def __complex__(self):
        if self.size == 1:
            return complex(self.reshape(-1)[0])
        return np.ndarray.__complex__(self)

    def __array_wrap__(self, arr, context=None, return_scalar=False):
        # keep the subclass only where it matters, so it does not spread into big arrays
        if type(arr) is not np.ndarray:
            arr = arr.view(np.ndarray)
        if return_scalar:  # reductions give NumPy scalars, as on plain ndarrays
            return arr[()]
        return arr.view(Size1Array) if arr.size == 1 else arr

    def __repr__(self):
        return repr(self.view(np.ndarray))

    def __reduce__(self):
        return self.view(np.ndarray).__reduce__()

    def __reduce_ex__(self, protocol):
        # pickles as a plain ndarray: unpickling never needs gluonlite
        return self.view(np.ndarray).__reduce_ex__(protocol)


class NDArray:
    """An n-dimensional array on a device (MXNet's ``mxnet.ndarray.NDArray``).

    Create arrays with ``nd.array``, ``nd.zeros``, ``nd.ones``, ... rather than with this
    constructor, which wraps an existing raw array.
    """

    __slots__ = ("_data", "_ctx", "_entry", "__weakref__")
    # numpy must hand binary operations with NDArrays back to NDArray (np.float32(2) * x).
    __array_ufunc__ = None

    def __init__(self, data, ctx: Context = None, entry=None):
        self._data = data
        self._ctx = ctx if ctx is not None else current_context()
        self._entry = entry

    # --- basic properties ----------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self):
        """The numpy scalar type, e.g. ``numpy.float32`` (as MXNet returns)."""
        return self._data.dtype.type

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def context(self) -> Context:
        return self._ctx

    ctx = context

    @property
    def stype(self) -> str:
        return "default"

    @property
    def T(self):
        """Transpose (all axes reversed)."""
        return invoke(_OPS["transpose"], [self], _OPS["transpose"].parse_attrs({}))

    @property
    def grad(self):
        """The gradient buffer attached by ``attach_grad()``, or None."""
        e = self._entry
        if e is not None and type(e[0]) is VarNode:
            return e[0].grad
        return None

    @property
    def handle(self):
        return self

    # --- conversion ----------------------------------------------------------------------
    def asnumpy(self) -> np.ndarray:
        """A numpy copy of the data.

        A one-element array of one or more dimensions (what ``nd.sum(x)``, ``x.mean()``
        return) comes back as a ``numpy.ndarray`` subclass that also converts with
        ``float()``, ``int()``, ``complex()``, ``'%f'`` and ``'%d'``, as every size-1 array
        did on NumPy < 1.24 (NumPy 2 refuses them); see :class:`Size1Array`.
        """
        d = self._data
        r = np.array(d) if type(d) is np.ndarray else d.get()
        if r.size == 1 and r.ndim:
            return r.view(Size1Array)
        return r

    def _asnumpy_plain(self) -> np.ndarray:
        d = self._data
        return np.array(d) if type(d) is np.ndarray else d.get()

    def asscalar(self):
        """The value of a one-element array of shape (1,) as a numpy scalar."""
        if self._data.shape != (1,):
            raise ValueError("The current array is not a scalar")
        return self.asnumpy()[0]

    def astype(self, dtype, copy=True):
        """A copy converted to ``dtype`` (``self`` when ``copy=False`` and nothing changes)."""
        dt = np_dtype(dtype)
        if not copy and dt == self._data.dtype:
            return self
        return invoke(_OPS["Cast"], [self], {"dtype": dt.name})

    def copy(self):
        """A copy on the same context (recorded by autograd, gradient passes through)."""
        return invoke(_OPS["_copy"], [self], _NOATTRS)

    def copyto(self, other):
        """Copy into ``other`` (an NDArray of the same shape) or onto a Context."""
        if isinstance(other, NDArray):
            if other is self:
                return other
            if other.shape != self.shape:
                raise ValueError(f"copyto: target shape {other.shape} does not match "
                                 f"source shape {self.shape}")
            _check_inplace(other)
            other._data[...] = _to_device(self._data, other._ctx)
            return other
        if isinstance(other, Context):
            return invoke(_OPS["_copyto"], [self], {"ctx": other, "src": self._ctx})
        raise TypeError(f"copyto: expected an NDArray or a Context, got {type(other).__name__}")

    def as_in_context(self, context):
        """This array on ``context`` (``self`` if it is already there, else a copy)."""
        if not isinstance(context, Context):
            raise TypeError(f"context: expected a Context, got {type(context).__name__}")
        if context is self._ctx:
            return self
        return self.copyto(context)

    def tostype(self, stype):
        """This array with storage type ``stype``: ``'default'`` (dense; ``self``),
        ``'row_sparse'`` or ``'csr'`` (a new sparse array, see ``nd.sparse``)."""
        if stype == "default":
            return self
        return _SPARSE["cast"](self, stype)

    def detach(self):
        """A new handle on the same data, outside any recorded graph."""
        return NDArray(self._data, self._ctx, None)

    def wait_to_read(self):
        """Block until the array is computed (operations are synchronous on the CPU)."""
        if self._ctx.is_gpu:
            self._ctx.xp.cuda.get_current_stream().synchronize()

    wait_to_write = wait_to_read

    # --- autograd ------------------------------------------------------------------------
    def attach_grad(self, grad_req="write", stype=None):
        """Allocate a zero gradient buffer and make this array a variable for autograd;
        ``stype`` ('default', 'row_sparse', 'csr') is the buffer's storage type."""
        if grad_req not in ("write", "add", "null"):
            raise ValueError(f"grad_req: expected 'write', 'add' or 'null', got {grad_req!r}")
        if stype in ("row_sparse", "csr"):
            g = _SPARSE["zeros"](stype, self.shape, self._ctx, self.dtype)
        elif stype not in (None, "default"):
            raise ValueError(f"attach_grad: stype must be None, 'default', 'row_sparse' or "
                             f"'csr', got {stype!r}")
        else:
            g = NDArray(self._ctx.xp.zeros_like(self._data), self._ctx)
        self._entry = (VarNode(g, grad_req), 0)

    def backward(self, out_grad=None, retain_graph=False, train_mode=True):
        """Compute gradients of this array (summed if not scalar) into the variables' grads."""
        _ag.backward([self], None if out_grad is None else [out_grad],
                     retain_graph=retain_graph, train_mode=train_mode)

    # --- shape helpers mirroring nd functions --------------------------------------------
    def reshape(self, *shape, **kwargs):
        """Reshape with MXNet's special codes (0 copy, -1 infer, -2 rest, -3 merge, -4 split);
        ``reverse=True`` applies them right to left. Accepts ``reshape(2, 3)`` and
        ``reshape((2, 3))``."""
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = tuple(shape[0])
        if shape:
            if "shape" in kwargs:
                raise TypeError("reshape: give the shape either positionally or as shape=")
            kwargs["shape"] = shape
        op = _OPS["Reshape"]
        return invoke(op, [self], op.parse_attrs(kwargs))

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d NDArray")
        return self._data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self):
        n = self._data.size
        if n == 0:
            return False
        if n == 1:
            return bool(self._data.reshape(-1)[0])
        raise ValueError("The truth value of an NDArray with multiple elements is ambiguous.")

    def __float__(self):
        if self._data.size != 1:
            raise TypeError("only one-element NDArrays can be converted to Python scalars")
        return float(self._data.reshape(-1)[0])

    def __int__(self):
        if self._data.size != 1:
            raise TypeError("only one-element NDArrays can be converted to Python scalars")
        return int(self._data.reshape(-1)[0])

    __hash__ = object.__hash__

    # --- printing / pickling -------------------------------------------------------------
    def __repr__(self):
        shape_info = "x".join(str(s) for s in self.shape)
        return f"\n{self._asnumpy_plain()}\n<{type(self).__name__} {shape_info} @{self._ctx}>"

    def __reduce__(self):
        return (_rebuild, (self._asnumpy_plain(), self._ctx))

    # --- indexing ------------------------------------------------------------------------
    def __getitem__(self, key):
        key = _normalize_key(key, self)
        op = _OPS["_index"]
        return invoke(op, [self], {"key": key})

    def __setitem__(self, key, value):
        _check_inplace(self)
        key = _normalize_key(key, self)
        xp = self._ctx.xp
        if isinstance(value, NDArray):
            if value._ctx is not self._ctx:
                _common_ctx("__setitem__", [self, value])
            value = value._data
        elif isinstance(value, (list, tuple)) or (hasattr(value, "shape") and
                                                   not isinstance(value, xp.ndarray)):
            value = xp.asarray(np.asarray(value, dtype=self._data.dtype))
        try:
            self._data[key] = value
        except (ValueError, TypeError) as e:
            tshape = _index_shape(self._data.shape, key)
            vshape = getattr(value, "shape", ())
            raise MXNetError(f"__setitem__: cannot assign a value of shape {vshape} to a "
                             f"selection of shape {tshape}: {e}") from None

    # --- arithmetic ----------------------------------------------------------------------
    def __add__(self, other):
        return _binary(self, other, _OPS["broadcast_add"], _OPS["_plus_scalar"])

    __radd__ = __add__

    def __sub__(self, other):
        return _binary(self, other, _OPS["broadcast_sub"], _OPS["_minus_scalar"])

    def __rsub__(self, other):
        return _rbinary(self, other, _OPS["_rminus_scalar"], _OPS["broadcast_sub"])

    def __mul__(self, other):
        return _binary(self, other, _OPS["broadcast_mul"], _OPS["_mul_scalar"])

    __rmul__ = __mul__

    def __truediv__(self, other):
        return _binary(self, other, _OPS["broadcast_div"], _OPS["_div_scalar"])

    def __rtruediv__(self, other):
        return _rbinary(self, other, _OPS["_rdiv_scalar"], _OPS["broadcast_div"])

    __div__ = __truediv__
    __rdiv__ = __rtruediv__

    def __mod__(self, other):
        return _binary(self, other, _OPS["broadcast_mod"], _OPS["_mod_scalar"])

    def __rmod__(self, other):
        return _rbinary(self, other, _OPS["_rmod_scalar"], _OPS["broadcast_mod"])

    def __pow__(self, other):
        return _binary(self, other, _OPS["broadcast_power"], _OPS["_power_scalar"])

    def __rpow__(self, other):
        return _rbinary(self, other, _OPS["_rpower_scalar"], _OPS["broadcast_power"])

    def __neg__(self):
        return invoke(_OPS["negative"], [self], _NOATTRS)

    def __pos__(self):
        return self

    def __abs__(self):
        return invoke(_OPS["abs"], [self], _NOATTRS)

    def __eq__(self, other):
        if other is None:
            return False
        return _binary(self, other, _OPS["broadcast_equal"], _OPS["_equal_scalar"])

    def __ne__(self, other):
        if other is None:
            return True
        return _binary(self, other, _OPS["broadcast_not_equal"], _OPS["_not_equal_scalar"])

    def __gt__(self, other):
        return _binary(self, other, _OPS["broadcast_greater"], _OPS["_greater_scalar"])

    def __ge__(self, other):
        return _binary(self, other, _OPS["broadcast_greater_equal"],
                       _OPS["_greater_equal_scalar"])

    def __lt__(self, other):
        return _binary(self, other, _OPS["broadcast_lesser"], _OPS["_lesser_scalar"])

    def __le__(self, other):
        return _binary(self, other, _OPS["broadcast_lesser_equal"],
                       _OPS["_lesser_equal_scalar"])

    # in place: write into this array's own buffer, as MXNet does
    def __iadd__(self, other):
        return _inplace(self, other, _OPS["broadcast_add"], _OPS["_plus_scalar"])

    def __isub__(self, other):
        return _inplace(self, other, _OPS["broadcast_sub"], _OPS["_minus_scalar"])

    def __imul__(self, other):
        return _inplace(self, other, _OPS["broadcast_mul"], _OPS["_mul_scalar"])

    def __itruediv__(self, other):
        return _inplace(self, other, _OPS["broadcast_div"], _OPS["_div_scalar"])

    __idiv__ = __itruediv__

    def __imod__(self, other):
        return _inplace(self, other, _OPS["broadcast_mod"], _OPS["_mod_scalar"])

    def __ipow__(self, other):
        return _inplace(self, other, _OPS["broadcast_power"], _OPS["_power_scalar"])


_NOATTRS: dict = {}
# sparse storage hooks ("cast", "zeros"), filled by gluonlite.ndarray.sparse, which
# builds on this module
_SPARSE: dict = {}
_OPS: dict = {}  # name -> Op for the operators NDArray methods use (filled below)


def _rebuild(data, ctx):
    return NDArray(_to_device(data, ctx), ctx)


# --------------------------------------------------------------------------------------
# dispatch
def _common_ctx(opname, arrays):
    """Raise the error for inputs on different devices."""
    first = arrays[0]._ctx
    for i, x in enumerate(arrays):
        if x._ctx is not first:
            name = getattr(opname, "name", opname)
            raise MXNetError(
                f"{name}: input {i} is on {x._ctx} but input 0 is on {first}; all inputs of "
                f"an operator must be on the same device. Move arrays with "
                f".as_in_context({first}) or .copyto({first}).")
    return first


def _dtype_mismatch(op, arrays, idx):
    names = op.input_names if op.variadic is None else [f"arg{i}" for i in range(len(arrays))]
    parts = ", ".join(f"'{names[i]}' {arrays[i]._data.dtype.name}" for i in idx)
    raise MXNetError(f"{op.name}: inputs must have the same dtype, got {parts}; convert "
                     "with .astype(...)")


def _wrap_error(op, e, datas, attrs):
    shapes = ", ".join(str(tuple(d.shape)) for d in datas)
    dts = ", ".join(d.dtype.name for d in datas)
    shown = {k: v for k, v in attrs.items() if k != "key"}
    return MXNetError(f"{op.name}: {e} (input shapes: {shapes}; dtypes: {dts}; "
                      f"attributes: {shown})")


def invoke(op, inputs, attrs, out=None, ctx=None, all_outputs=False):
    """Run operator ``op`` on NDArray ``inputs`` with parsed ``attrs``.

    Returns one NDArray, or a list when the operator has several visible outputs; with
    ``out=`` the results are written into the given arrays, which are returned. With
    ``all_outputs`` the hidden outputs are returned too (always as a list).
    """
    if inputs:
        ctx = inputs[0]._ctx
        for x in inputs:
            if x._ctx is not ctx:
                _common_ctx(op, inputs)
        datas = [x._data for x in inputs]
        chk = op._dtype_checked
        if len(chk) > 1 and len(datas) > 1:
            dt = datas[chk[0]].dtype
            for i in chk[1:]:
                if i < len(datas) and datas[i].dtype != dt:
                    _dtype_mismatch(op, inputs, [j for j in chk if j < len(datas)])
    else:
        if ctx is None:
            ctx = current_context()
        datas = ()
    st = _st
    rts = ctx._rts or ctx._make_rts()
    rt = rts[st.training]
    try:
        if _profiler.IMPERATIVE:
            t0 = _profiler._perf()
            res = op.fwd(rt, *datas, **attrs)
            _profiler.record("operator", op.name, t0)
        else:
            res = op.fwd(rt, *datas, **attrs)
    except MXNetError:
        raise
    except IndexError:
        raise
    except (ValueError, TypeError, ZeroDivisionError, OverflowError) as e:
        raise _wrap_error(op, e, datas, attrs) from None
    octx = attrs["ctx"] if "to_ctx" in op.tags else ctx
    atype = rt.array_type if octx is ctx else octx._runtime(False).array_type
    if type(res) is tuple:
        outs = tuple(r if type(r) is atype else _as_array(r, octx) for r in res)
    else:
        outs = (res if type(res) is atype else _as_array(res, octx),)
    node = None
    if st.recording and op.grad_fn is not None:
        entries = tuple(x._entry for x in inputs)
        for e in entries:
            if e is not None:
                if op.aux_names:
                    entries = tuple(None if n in op.aux_names else e2
                                    for n, e2 in zip(op.input_names, entries))
                node = Node(op, attrs, entries, tuple(datas), outs, octx)
                break
    nvis = len(outs) if op._visible_outputs is None or all_outputs \
        else op.num_visible_outputs(attrs)
    if all_outputs:
        return [NDArray(o, octx, None if node is None else (node, k))
                for k, o in enumerate(outs)]
    if out is not None:
        return _write_out(op, out, outs, nvis, node, octx)
    if nvis == 1:
        return NDArray(outs[0], octx, None if node is None else (node, 0))
    if node is None:
        return [NDArray(outs[k], octx) for k in range(nvis)]
    return [NDArray(outs[k], octx, (node, k)) for k in range(nvis)]


def _as_array(r, ctx):
    return ctx._runtime(False).xp.asarray(r)


def _write_out(op, out, outs, nvis, node, ctx):
    single = isinstance(out, NDArray)
    targets = [out] if single else list(out)
    if len(targets) != nvis:
        raise MXNetError(f"{op.name}: out= needs {nvis} arrays, got {len(targets)}")
    for k, t in enumerate(targets):
        if not isinstance(t, NDArray):
            raise TypeError(f"{op.name}: out= must be NDArray(s), got {type(t).__name__}")
        r = outs[k]
        if t.shape != r.shape:
            raise MXNetError(f"{op.name}: out= has shape {t.shape} but the result has shape "
                             f"{tuple(r.shape)}")
        if t._data.dtype != r.dtype:
            raise MXNetError(f"{op.name}: out= has dtype {t._data.dtype.name} but the result "
                             f"has dtype {r.dtype.name}")
        if t._ctx is not ctx:
            raise MXNetError(f"{op.name}: out= is on {t._ctx} but the result is on {ctx}")
        _check_inplace(t)
        if t._data is not r:
            t._data[...] = r
        if node is not None:
            t._entry = (node, k)
    return out


def _check_inplace(arr):
    if _st.recording and arr._entry is not None:
        raise MXNetError(
            "Assigning to NDArrays that are already in a computational graph will cause "
            "undefined behavior when evaluating gradients. Please call backward first to "
            "clear the graph or do this out side of a record section. Also note that you "
            "cannot use inplace operations like +=, *=, relu(x, out=x), y[idx]=x, etc "
            "inside a record section.")


def _numpy_operand(arr, x, opname):
    """NumPy array ``x`` as an NDArray on ``arr``'s context with ``arr``'s dtype (as JAX
    takes NumPy operands); casts that change the kind of number (float to int) are
    refused rather than silently truncating."""
    dt = arr._data.dtype
    if x.dtype != dt and not np.can_cast(x.dtype, dt, casting="same_kind"):
        raise TypeError(
            f"{opname}: a NumPy array of dtype {x.dtype.name} cannot be combined with an "
            f"NDArray of dtype {dt.name} (the NumPy operand is converted to the NDArray's "
            f"dtype and this cast would lose information); convert one of them with "
            f".astype(...) or nd.array(x, dtype=...)")
    return NDArray(_to_device(np.asarray(x, dtype=dt), arr._ctx), arr._ctx, None)


def _binary(lhs, rhs, op, sop):
    if type(rhs) is not NDArray and isinstance(rhs, np.ndarray):
        rhs = _numpy_operand(lhs, rhs, op.name)
    if isinstance(rhs, NDArray):
        ctx = lhs._ctx
        if rhs._ctx is not ctx:
            _common_ctx(op, [lhs, rhs])
        a, b = lhs._data, rhs._data
        if a.dtype is not b.dtype and a.dtype != b.dtype:
            _dtype_mismatch(op, [lhs, rhs], (0, 1))
        st = _st
        rt = (ctx._rts or ctx._make_rts())[st.training]
        try:
            if _profiler.IMPERATIVE:
                t0 = _profiler._perf()
                r = op.fwd(rt, a, b)
                _profiler.record("operator", op.name, t0)
            else:
                r = op.fwd(rt, a, b)
        except ValueError as e:
            raise _wrap_error(op, e, (a, b), _NOATTRS) from None
        if type(r) is not rt.array_type:
            r = rt.xp.asarray(r)
        if st.recording and (lhs._entry is not None or rhs._entry is not None):
            return NDArray(r, ctx, (Node(op, _NOATTRS, (lhs._entry, rhs._entry), (a, b), (r,),
                                         ctx), 0))
        return NDArray(r, ctx, None)
    if isinstance(rhs, (int, float, np.generic)) and not isinstance(rhs, np.bool_):
        return _scalar(lhs, rhs, sop)
    return NotImplemented


def _scalar(x, s, sop):
    ctx = x._ctx
    st = _st
    rt = (ctx._rts or ctx._make_rts())[st.training]
    a = x._data
    attrs = {"scalar": float(s)}
    if _profiler.IMPERATIVE:
        t0 = _profiler._perf()
        r = sop.fwd(rt, a, scalar=attrs["scalar"])
        _profiler.record("operator", sop.name, t0)
    else:
        r = sop.fwd(rt, a, scalar=attrs["scalar"])
    if type(r) is not rt.array_type:
        r = rt.xp.asarray(r)
    if st.recording and x._entry is not None:
        return NDArray(r, ctx, (Node(sop, attrs, (x._entry,), (a,), (r,), ctx), 0))
    return NDArray(r, ctx, None)


def _rbinary(x, other, sop, op):
    if isinstance(other, (int, float, np.generic)) and not isinstance(other, np.bool_):
        return _scalar(x, other, sop)
    if isinstance(other, np.ndarray):  # np_array - nd: NumPy deferred to us
        return _binary(_numpy_operand(x, other, op.name), x, op, sop)
    return NotImplemented


def _inplace(self, other, op, sop):
    _check_inplace(self)
    if isinstance(other, (NDArray, np.ndarray)):
        r = _binary(self, other, op, sop)
    elif isinstance(other, (int, float, np.generic)):
        r = _scalar(self, other, sop)
    else:
        return NotImplemented
    if r.shape != self.shape:
        raise MXNetError(f"{op.name}: in-place result shape {r.shape} differs from the "
                         f"array's shape {self.shape}")
    self._data[...] = r._data
    return self


# --------------------------------------------------------------------------------------
# indexing helpers
def _normalize_key(key, arr):
    """Turn NDArray/list index parts into raw integer (or boolean mask) arrays."""
    if isinstance(key, tuple):
        return tuple(_norm_part(k, arr) for k in key)
    return _norm_part(key, arr)


def _norm_part(k, arr):
    if k is None or k is Ellipsis or isinstance(k, slice):
        return k
    if isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
        return int(k)
    xp = arr._ctx.xp
    if isinstance(k, NDArray):
        if k._ctx is not arr._ctx:
            k = _to_device(k._data, arr._ctx)
        else:
            k = k._data
    elif isinstance(k, (list, np.ndarray)) or (hasattr(k, "shape") and hasattr(k, "dtype")):
        k = xp.asarray(np.asarray(k) if isinstance(k, list) else k)
    else:
        raise TypeError(f"NDArray indices must be ints, slices, None, Ellipsis, NDArrays, "
                        f"numpy arrays or lists, got {type(k).__name__}")
    if k.dtype.kind == "b":
        return k
    if k.dtype.kind not in "iu":
        k = k.astype(np.int64)
    return k


def _index_shape(shape, key):
    return np.broadcast_to(np.zeros((), np.int8), shape)[key].shape


def _to_device(data, ctx: Context):
    """Raw ``data`` as an array of ``ctx``'s module (copying between host and device)."""
    xp = ctx._runtime(False).xp
    if type(data) is xp.ndarray and not ctx.is_gpu:
        return data
    if xp is np:
        return data.get() if hasattr(data, "get") else np.asarray(data)
    with xp.cuda.Device(ctx.device_id):
        return xp.asarray(data)


# --------------------------------------------------------------------------------------
# creation
def array(source_array, ctx=None, dtype=None):
    """An NDArray from a list, numpy array, scalar or NDArray (MXNet's ``nd.array``).

    The dtype defaults to the source's dtype for NDArrays and to float32 for everything
    else, as in MXNet.
    """
    if ctx is not None and not isinstance(ctx, Context):
        raise TypeError(f"ctx: expected a Context, got {type(ctx).__name__}")
    ctx = ctx or current_context()
    if isinstance(source_array, NDArray):
        dt = source_array._data.dtype if dtype is None else np_dtype(dtype)
        src = source_array._data
        if source_array._ctx is not ctx:
            src = _to_device(src, ctx)
        return NDArray(src.astype(dt, copy=True), ctx)
    dt = np_dtype(dtype)
    try:
        src = np.asarray(source_array.get() if hasattr(source_array, "get")
                         and not isinstance(source_array, dict) else source_array)
        if src.dtype == object:
            raise TypeError
        src = np.array(src, dtype=dt)
    except (TypeError, ValueError):
        raise TypeError(f"source_array must be array like object, got "
                        f"{type(source_array).__name__}") from None
    return NDArray(_to_device(src, ctx), ctx)


def empty(shape, ctx=None, dtype=None):
    """An uninitialised array (zeros here) of ``shape``."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    ctx = ctx or current_context()
    xp = ctx._runtime(False).xp
    dt = np_dtype(dtype)
    shape = check_alloc("empty", shape, dt)
    with allocating("empty", shape, dt):
        return NDArray(xp.zeros(shape, dt), ctx)


def _bind_ops():
    for name in ("transpose", "Cast", "_copy", "_copyto", "Reshape", "_index", "broadcast_add",
                 "_plus_scalar", "broadcast_sub", "_minus_scalar", "_rminus_scalar",
                 "broadcast_mul", "_mul_scalar", "broadcast_div", "_div_scalar",
                 "_rdiv_scalar", "broadcast_mod", "_mod_scalar", "_rmod_scalar",
                 "broadcast_power", "_power_scalar", "_rpower_scalar", "negative", "abs",
                 "broadcast_equal", "_equal_scalar", "broadcast_not_equal",
                 "_not_equal_scalar", "broadcast_greater", "_greater_scalar",
                 "broadcast_greater_equal", "_greater_equal_scalar", "broadcast_lesser",
                 "_lesser_scalar", "broadcast_lesser_equal", "_lesser_equal_scalar"):
        _OPS[name] = get_op(name)


_ag.NDArray = NDArray
_bind_ops()
