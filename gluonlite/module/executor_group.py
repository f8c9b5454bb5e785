"""``DataParallelExecutorGroup``: one bound Executor per context, each on a slice of the batch
(MXNet 1.9.1's ``mxnet.module.executor_group``).

The batch is split along each input's batch axis (the position of ``'N'`` in its layout)
in proportion to ``work_load_list``; every context gets its own copy of the parameters.
Executors come from :class:`gluonlite.symbol.executor.Executor`, so they run through the same
compiler as ``hybridize``. Sharing between executors -- a reshaped executor and its original,
or the buckets of a ``BucketingModule`` -- is done by binding the new executor to the *same*
parameter, gradient and auxiliary arrays, which is what MXNet's ``shared_exec`` achieves.
"""
from __future__ import annotations

import logging
from collections import OrderedDict

import numpy as np

from ..base import FLAG_TO_DTYPE, MXNetError, np_dtype
from ..ndarray import NDArray, zeros, concat
from ..symbol.executor import Executor

__all__ = ["DataParallelExecutorGroup", "split_input_slice", "batch_axis"]


def batch_axis(layout):
    """The batch axis of a layout string (MXNet's ``DataDesc.get_batch_axis``): the position
    of ``'N'``; 0 when there is no layout; -1 when the layout has no ``'N'``."""
    if layout is None:
        return 0
    return layout.find("N")


def split_input_slice(batch_size, work_load_list):
    """Split ``batch_size`` samples into one slice per device, proportionally to
    ``work_load_list`` (MXNet's ``_split_input_slice``: rounded shares, the remainder to the
    last device). ValueError when a device would get no sample."""
    total = sum(work_load_list)
    if total <= 0:
        raise ValueError(f"work_load_list: expected positive work loads, got {work_load_list}")
    nums = [round(w * batch_size / total) for w in work_load_list]
    if sum(nums) < batch_size:
        nums[-1] += batch_size - sum(nums)
    slices, end = [], 0
    for n in nums:
        begin = int(min(end, batch_size))
        end = int(min(begin + n, batch_size))
        if begin >= end:
            raise ValueError(f"Too many slices: a batch of {batch_size} cannot be split over "
                             f"{len(work_load_list)} devices with work loads {work_load_list}; "
                             "some splits are empty")
        slices.append(slice(begin, end))
    return slices


def _desc(x):
    from ..io import DataDesc
    return x if isinstance(x, DataDesc) else DataDesc(*x)


def _copy_slice(src, dst, axis, sl):
    """Copy the part ``sl`` of ``src`` along ``axis`` into ``dst`` (another context allowed)."""
    if not isinstance(src, NDArray):
        raise TypeError(f"data batch: expected NDArrays, got {type(src).__name__}")
    if axis < 0 or (sl.start == 0 and src.shape[axis] == sl.stop):
        part = src
    elif axis == 0:
        part = src[sl.start:sl.stop]
    else:
        idx = [slice(None)] * src.ndim
        idx[axis] = sl
        part = src[tuple(idx)]
    if tuple(part.shape) != tuple(dst.shape):
        raise MXNetError(f"data batch: an array of shape {tuple(src.shape)} does not match the "
                         f"bound input of shape {tuple(dst.shape)} (sliced: {tuple(part.shape)})")
    part.copyto(dst)


def _load(arrays, targets, axes):
    # arrays: one NDArray per input (or one list of per-device NDArrays when pre-sliced);
    # targets: per input, the (slice, bound array) of every device
    if len(arrays) != len(targets):
        raise MXNetError(f"data batch: expected {len(targets)} arrays, got {len(arrays)}")
    for src, dsts, axis in zip(arrays, targets, axes):
        if isinstance(src, (list, tuple)):
            for s, (_, d) in zip(src, dsts):
                s.copyto(d)
        else:
            for sl, d in dsts:
                _copy_slice(src, d, axis, sl)


def _merge(per_output, axes):
    out = []
    for tensors, axis in zip(per_output, axes):
        if axis >= 0 and len(tensors) > 1:
            ctx = tensors[0].context
            out.append(concat(*[t.as_in_context(ctx) for t in tensors], dim=axis))
        else:
            out.append(tensors[0])
    return out


def bind_executor(symbol, ctx, input_shapes, input_types, grad_req, param_names,
                  shared_exec=None):
    """An Executor for ``symbol`` on ``ctx`` with the given input shapes and dtypes. With
    ``shared_exec``, parameters (``param_names``), their gradients and the auxiliary states
    are the shared executor's own arrays when their shapes and dtypes agree (MXNet's
    ``simple_bind(shared_exec=..., shared_arg_names=...)``; MXNetError when a shared array
    would need another shape); data arrays are always new."""
    arg_names = symbol.list_arguments()
    aux_names = symbol.list_auxiliary_states()
    arg_shapes, _, aux_shapes = symbol.infer_shape(**input_shapes)
    if arg_shapes is None:
        raise MXNetError(f"bind: cannot infer the shapes of every argument of the symbol from "
                         f"the input shapes {input_shapes}; arguments are {arg_names}")
    arg_types, _, aux_types = symbol.infer_type(**{k: np_dtype(v)
                                                   for k, v in input_types.items()})
    if arg_types is None:
        arg_types = [np.float32] * len(arg_names)
        aux_types = [np.float32] * len(aux_names)
    shared = shared_exec is not None

    def reuse(d, name, shape, dtype, what):
        # a shared parameter must keep its shape: otherwise the executors would silently
        # train different arrays (MXNet refuses too)
        a = d.get(name)
        if a is None:
            return None
        if tuple(a.shape) != tuple(shape) or np.dtype(a.dtype) != np.dtype(dtype):
            raise MXNetError(f"bind: shared {what} {name!r} has shape {tuple(a.shape)} "
                             f"({np.dtype(a.dtype).name}) but these input shapes "
                             f"{input_shapes} need {tuple(shape)} ({np.dtype(dtype).name}); "
                             "check the data shapes")
        return a

    args, grads = [], []
    for name, shape, dtype in zip(arg_names, arg_shapes, arg_types):
        is_param = name in param_names
        arr = reuse(shared_exec.arg_dict, name, shape, dtype, "parameter") \
            if shared and is_param else None
        args.append(arr if arr is not None else zeros(shape, ctx=ctx, dtype=dtype))
        if grad_req.get(name, "null") == "null":
            grads.append(None)
            continue
        g = reuse(shared_exec.grad_dict, name, shape, dtype, "gradient") \
            if shared and is_param else None
        grads.append(g if g is not None else zeros(shape, ctx=ctx, dtype=dtype))
    aux = []
    for name, shape, dtype in zip(aux_names, aux_shapes, aux_types):
        arr = reuse(shared_exec.aux_dict, name, shape, dtype, "auxiliary state") \
            if shared else None
        aux.append(arr if arr is not None else zeros(shape, ctx=ctx, dtype=dtype))
    reqs = [grad_req.get(n, "null") for n in arg_names]
    return Executor.bind(symbol, ctx, args, grads, reqs, aux)


class DataParallelExecutorGroup:
    """Executors of one symbol over several contexts, each on its slice of the batch
    (MXNet's ``DataParallelExecutorGroup``).

    ``param_arrays``/``grad_arrays``/``aux_arrays`` are lists (one entry per parameter) of
    per-device arrays; ``data_arrays``/``label_arrays`` are, per input, the list of
    ``(slice, array)`` of every device. ``grad_req`` is 'write'/'add'/'null' for every
    parameter (fixed parameters get 'null'), for data inputs only with ``inputs_need_grad``,
    and 'null' for labels and states; a dict overrides per argument, a list gives one per
    argument.
    """

    def __init__(self, symbol, contexts, workload, data_shapes, label_shapes, param_names,
                 for_training, inputs_need_grad, shared_group=None, logger=logging,
                 fixed_param_names=None, grad_req="write", state_names=None, group2ctxs=None):
        self.param_names = list(param_names)
        self.arg_names = symbol.list_arguments()
        self.aux_names = symbol.list_auxiliary_states()
        self.symbol = symbol
        self.contexts = list(contexts)
        self.workload = list(workload)
        if group2ctxs is not None:
            raise NotImplementedError("group2ctxs (model parallelism over ctx_group "
                                      "attributes) is not supported by gluonlite's executors")
        self.group2ctxs = group2ctxs
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self.logger = logger
        self.fixed_param_names = list(fixed_param_names or [])
        self.state_names = list(state_names or [])
        if not for_training:
            grad_req = "null"
        data_shapes = [_desc(x) for x in data_shapes]
        if label_shapes is not None:
            label_shapes = [_desc(x) for x in label_shapes]
        data_names = [x.name for x in data_shapes]
        self.grad_req = self._grad_reqs(grad_req, data_names)
        self.batch_size = None
        self.slices = None
        self.execs = []
        self._default_execs = None
        self._reshaped = {}
        self.data_arrays = self.label_arrays = self.param_arrays = None
        self.state_arrays = self.grad_arrays = self.aux_arrays = None
        self.input_grad_arrays = None
        self.data_shapes = self.label_shapes = None
        self.data_names = self.label_names = None
        self.data_layouts = self.label_layouts = None
        self.output_names = symbol.list_outputs()
        self.num_outputs = len(self.output_names)
        self.output_layouts = [batch_axis(symbol[i].attr("__layout__"))
                               for i in range(self.num_outputs)]
        self._total_exec_bytes = 0
        self.bind_exec(data_shapes, label_shapes, shared_group)

    def _grad_reqs(self, grad_req, data_names):
        valid = ("write", "add", "null")

        def default(k, req):
            if k in self.param_names:
                return "null" if k in self.fixed_param_names else req
            if k in data_names:
                return req if self.inputs_need_grad else "null"
            return "null"

        if isinstance(grad_req, str):
            if grad_req not in valid:
                raise ValueError(f"grad_req: expected one of {valid}, got {grad_req!r}")
            reqs = {k: default(k, grad_req) for k in self.arg_names}
        elif isinstance(grad_req, (list, tuple)):
            if len(grad_req) != len(self.arg_names):
                raise ValueError(f"grad_req: a list needs one entry per argument "
                                 f"({len(self.arg_names)}: {self.arg_names}), got "
                                 f"{len(grad_req)}")
            reqs = dict(zip(self.arg_names, grad_req))
        elif isinstance(grad_req, dict):
            unknown = [k for k in grad_req if k not in self.arg_names]
            if unknown:
                raise ValueError(f"grad_req: {unknown} are not arguments of the symbol "
                                 f"({self.arg_names})")
            reqs = {k: default(k, "write") for k in self.arg_names}
            reqs.update(grad_req)
        else:
            raise ValueError("grad_req must be one of str, list, tuple, or dict.")
        for k, r in reqs.items():
            if r not in valid:
                raise ValueError(f"grad_req: {k!r} has {r!r}; expected one of {valid}")
        return reqs

    # --- binding ---------------------------------------------------------------------------
    def decide_slices(self, data_shapes):
        """Batch axes of ``data_shapes``; sets ``batch_size`` and the per-device ``slices``
        (every input with a batch axis must have the same batch size)."""
        if not data_shapes:
            raise MXNetError("bind: data_shapes must describe at least one input")
        axes = [batch_axis(x.layout) for x in data_shapes]
        for desc, axis in zip(data_shapes, axes):
            if axis == -1:
                continue
            size = desc.shape[axis]
            if self.batch_size is None:
                self.batch_size = size
                self.slices = split_input_slice(size, self.workload)
            elif size != self.batch_size:
                raise MXNetError(f"all data must have the same batch size: batch_size = "
                                 f"{self.batch_size}, but {desc.name} has shape {desc.shape}")
        return axes

    def _sliced(self, shapes, i, axes):
        out = []
        for desc, axis in zip(shapes, axes):
            shape = list(desc.shape)
            if axis >= 0:
                shape[axis] = self.slices[i].stop - self.slices[i].start
            out.append(type(desc)(desc.name, tuple(shape), desc.dtype, desc.layout))
        return out

    def _bind_ith(self, i, data_i, label_i, shared_exec):
        shapes = {d.name: d.shape for d in data_i + label_i}
        types = {d.name: d.dtype for d in data_i + label_i}
        attrs = self.symbol.attr_dict()
        for name in list(types):
            dt = attrs.get(name, {}).get("__dtype__")
            if dt is not None and dt != "-1" and name in [d.name for d in data_i]:
                types[name] = FLAG_TO_DTYPE[int(dt)]
        return bind_executor(self.symbol, self.contexts[i], shapes, types, self.grad_req,
                             self.param_names, shared_exec)

    def bind_exec(self, data_shapes, label_shapes, shared_group=None, reshape=False):
        """Bind one executor per context for these shapes (``reshape``: new executors that
        share the parameters of the original ones)."""
        self.batch_size = None
        self.data_layouts = self.decide_slices(data_shapes)
        if label_shapes is not None:
            self.label_layouts = self.decide_slices(label_shapes)
        key = (tuple((d.name, tuple(d.shape)) for d in data_shapes),
               tuple((d.name, tuple(d.shape)) for d in label_shapes or ()))
        if reshape and key in self._reshaped:
            # executors compiled for these shapes before: reuse them (and their programs)
            self.execs = list(self._reshaped[key])
        else:
            new = []
            for i in range(len(self.contexts)):
                data_i = self._sliced(data_shapes, i, self.data_layouts)
                label_i = [] if label_shapes is None else \
                    self._sliced(label_shapes, i, self.label_layouts)
                if reshape:
                    shared = self._default_execs[i]
                else:
                    shared = None if shared_group is None else shared_group.execs[i]
                new.append(self._bind_ith(i, data_i, label_i, shared))
            self.execs = new
            self._reshaped[key] = list(new)
        self.data_shapes = data_shapes
        self.label_shapes = label_shapes
        self.data_names = [d.name for d in data_shapes]
        if label_shapes is not None:
            self.label_names = [d.name for d in label_shapes]
        self._collect_arrays()

    def _collect_arrays(self):
        self.data_arrays = [[(self.slices[i], e.arg_dict[name]) for i, e in enumerate(self.execs)]
                            for name in self.data_names]
        self.state_arrays = [[e.arg_dict[name] for e in self.execs] for name in self.state_names]
        if self.label_shapes is not None:
            self.label_arrays = [[(self.slices[i], e.arg_dict[name])
                                  for i, e in enumerate(self.execs)]
                                 for name in self.label_names]
        else:
            self.label_arrays = None
        idx = [i for i, n in enumerate(self.arg_names) if n in self.param_names]
        self.param_arrays = [[e.arg_arrays[i] for e in self.execs] for i in idx]
        self.grad_arrays = [[e.grad_arrays[i] for e in self.execs] for i in idx] \
            if self.for_training else None
        if self.inputs_need_grad:
            self.input_grad_arrays = [[e.grad_arrays[self.arg_names.index(n)] for e in self.execs]
                                      for n in self.data_names if n in self.arg_names]
        else:
            self.input_grad_arrays = None
        self.aux_arrays = [[e.aux_arrays[i] for e in self.execs]
                           for i in range(len(self.aux_names))]

    def reshape(self, data_shapes, label_shapes):
        """Rebind for new input shapes, sharing parameters with the original executors."""
        if data_shapes == self.data_shapes and label_shapes == self.label_shapes:
            return
        if self._default_execs is None:
            self._default_execs = list(self.execs)
        self.bind_exec(data_shapes, label_shapes, reshape=True)

    # --- parameters ------------------------------------------------------------------------
    def set_params(self, arg_params, aux_params, allow_extra=False):
        """Copy the given parameters into every device's executor."""
        for e in self.execs:
            e.copy_params_from(arg_params, aux_params, allow_extra_params=allow_extra)

    def get_params(self, arg_params, aux_params):
        """Write the average over devices of every parameter and auxiliary state into
        ``arg_params``/``aux_params`` (arrays on the CPU)."""
        from ..context import cpu
        for names, blocks, dst in ((self.param_names, self.param_arrays, arg_params),
                                   (self.aux_names, self.aux_arrays, aux_params)):
            for name, block in zip(names, blocks):
                if len(block) == 1:
                    w = block[0].as_in_context(cpu())
                else:
                    w = sum(b.as_in_context(cpu()) for b in block) / len(block)
                w.astype(dst[name].dtype).copyto(dst[name])

    # --- computation -----------------------------------------------------------------------
    def forward(self, data_batch, is_train=None):
        """Load the batch (sliced per device) into the executors and run them."""
        if isinstance(data_batch, list):
            datas = [[b.data[i] for b in data_batch] for i in range(len(self.data_arrays))]
            _load(datas, self.data_arrays, self.data_layouts)
            if self.label_arrays is not None and data_batch and data_batch[0].label:
                labels = [[b.label[i] for b in data_batch]
                          for i in range(len(self.label_arrays))]
                _load(labels, self.label_arrays, self.label_layouts)
        else:
            _load(list(data_batch.data), self.data_arrays, self.data_layouts)
            if self.label_arrays is not None and data_batch.label:
                _load(list(data_batch.label), self.label_arrays, self.label_layouts)
        if is_train is None:
            is_train = self.for_training
        for e in self.execs:
            e.forward(is_train=is_train)

    def get_output_shapes(self):
        """``[(name, shape)]`` of the outputs over the whole batch."""
        outs = self.execs[0].outputs
        if not outs:
            # no forward yet: MXNet's executors know their output shapes from binding
            shapes = {d.name: d.shape for d in self.data_shapes + (self.label_shapes or [])}
            _, out_shapes, _ = self.symbol.infer_shape(**shapes)
            return list(zip(self.output_names, [tuple(s) for s in out_shapes]))
        res = []
        for name, out, axis in zip(self.output_names, outs, self.output_layouts):
            shape = list(out.shape)
            if axis >= 0:
                shape[axis] = self.batch_size
            res.append((name, tuple(shape)))
        return res

    def get_outputs(self, merge_multi_context=True, begin=0, end=None):
        """Outputs of the last forward: merged along the batch axis, or per device
        (``[[out1_dev1, out1_dev2], ...]``)."""
        if end is None:
            end = self.num_outputs
        if not self.execs[0].outputs:
            raise MXNetError("get_outputs: no outputs yet; call forward first")
        outs = [[e.outputs[i] for e in self.execs] for i in range(begin, end)]
        return _merge(outs, self.output_layouts[begin:end]) if merge_multi_context else outs

    def get_states(self, merge_multi_context=True):
        """The state arrays (per device; merging is not supported, as in MXNet)."""
        if merge_multi_context:
            raise MXNetError("merge_multi_context=True is not supported for get_states yet.")
        return self.state_arrays

    def set_states(self, states=None, value=None):
        """Set the state arrays from ``states`` (per device) or to a scalar ``value``."""
        if states is not None:
            if value is not None:
                raise ValueError("Only one of states & value can be specified.")
            for src, dsts in zip(states, self.state_arrays):
                for s, d in zip(src, dsts):
                    s.copyto(d)
        else:
            if value is None:
                raise ValueError("At least one of states & value must be specified.")
            for dsts in self.state_arrays:
                for d in dsts:
                    d[:] = value

    def get_input_grads(self, merge_multi_context=True):
        """Gradients with respect to the data inputs (needs ``inputs_need_grad``)."""
        if not self.inputs_need_grad:
            raise MXNetError("get_input_grads: bind with inputs_need_grad=True first")
        if merge_multi_context:
            return _merge(self.input_grad_arrays, self.data_layouts)
        return self.input_grad_arrays

    def backward(self, out_grads=None):
        """Backward on every device; ``out_grads`` (whole batch) are sliced per device."""
        if not self.for_training:
            raise MXNetError("re-bind with for_training=True to run backward")
        if out_grads is None:
            out_grads = []
        elif isinstance(out_grads, NDArray):
            out_grads = [out_grads]
        for i, (e, sl) in enumerate(zip(self.execs, self.slices)):
            part = []
            for g, axis in zip(out_grads, self.output_layouts):
                if axis >= 0:
                    idx = [slice(None)] * g.ndim
                    idx[axis] = sl
                    part.append(g[tuple(idx)].as_in_context(self.contexts[i]))
                else:
                    part.append(g.as_in_context(self.contexts[i]))
            e.backward(out_grads=part or None)

    def update_metric(self, eval_metric, labels, pre_sliced):
        """Update ``eval_metric`` with each device's outputs and its part of ``labels``."""
        for k, (e, sl) in enumerate(zip(self.execs, self.slices)):
            if pre_sliced:
                labels_k = labels[k]
            else:
                labels_k = []
                for lab, axis in zip(labels, self.label_layouts or [0] * len(labels)):
                    if axis == 0:
                        labels_k.append(lab[sl])
                    elif axis > 0:
                        idx = [slice(None)] * lab.ndim
                        idx[axis] = sl
                        labels_k.append(lab[tuple(idx)])
                    else:
                        labels_k.append(lab)
            names = self.label_names or [f"label{i}" for i in range(len(labels_k))]
            eval_metric.update_dict(OrderedDict(zip(names, labels_k)),
                                    OrderedDict(zip(self.output_names, e.outputs)))
