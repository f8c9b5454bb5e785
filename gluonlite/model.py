"""MXNet's ``mx.model``: checkpoint files and the kvstore helpers Module training uses.

A checkpoint is two files, exactly as MXNet writes them: ``prefix-symbol.json`` (the graph)
and ``prefix-%04d.params`` (``nd.save`` of a dict whose keys are ``'arg:NAME'`` for
arguments and ``'aux:NAME'`` for auxiliary states), so checkpoints move between MXNet and
gluonlite both ways. The legacy ``FeedForward`` class is not provided; use ``mx.mod.Module``
or Gluon.
"""
from __future__ import annotations

import logging
import numbers
import os
from collections import namedtuple

import numpy as np

from . import kvstore as kvs
from . import ndarray as nd
from . import symbol as sym
from .context import cpu
from .kvstore.dist import is_distributed
from .ndarray import NDArray

__all__ = ["BatchEndParam", "save_checkpoint", "load_checkpoint", "load_params"]

#: What ``batch_end_callback``/``eval_end_callback`` functions receive (MXNet's names).
BatchEndParam = namedtuple("BatchEndParams", ["epoch", "nbatch", "eval_metric", "locals"])

# MXNet's 'local' store stops updating on the store when a parameter exceeds this size
_LOCAL_UPDATE_LIMIT = 1024 * 1024 * 16


def _create_kvstore(kvstore, num_device, arg_params):
    """``(kv, update_on_kvstore)`` as MXNet chooses them.

    A KVStore object is used as given; a type string creates a store only with several
    devices (or a distributed type); None means no store. ``update_on_kvstore`` starts from
    ``MXNET_UPDATE_ON_KVSTORE`` (default 1), is False for a 'local' store holding a
    parameter larger than 16M elements, False without a store, and False when the store
    cannot run optimizers.
    """
    update_on_kvstore = bool(int(os.getenv("MXNET_UPDATE_ON_KVSTORE", "1")))
    if kvstore is None:
        kv = None
    elif isinstance(kvstore, kvs.KVStoreBase):
        kv = kvstore
    elif isinstance(kvstore, str):
        if num_device == 1 and not is_distributed(kvstore) and "dist" not in kvstore:
            kv = None  # one device on one machine: nothing to communicate
        else:
            kv = kvs.create(kvstore)
            if kvstore == "local":
                max_size = max((int(np.prod(p.shape)) for p in arg_params.values()),
                               default=0)
                if max_size > _LOCAL_UPDATE_LIMIT:
                    update_on_kvstore = False
    else:
        raise TypeError(f"kvstore must be KVStore, str or None, got {type(kvstore).__name__}")
    if kv is None:
        update_on_kvstore = False
    else:
        update_on_kvstore &= kv.is_capable(kvs.KVStoreBase.OPTIMIZER)
    return kv, update_on_kvstore


def _initialize_kvstore(kvstore, param_arrays, arg_params, param_names, update_on_kvstore):
    """Put every parameter in the store under its name: broadcast to the devices' copies
    when the store runs the update, else only ``init`` (the store then reduces
    gradients). A distributed store always hands rank 0's values to the devices, so all
    workers start from the same parameters."""
    dist = is_distributed(kvstore)
    for idx, param_on_devs in enumerate(param_arrays):
        name = param_names[idx]
        if not update_on_kvstore:
            kvstore.init(name, arg_params[name])
            if dist:
                kvstore.pull(name, out=param_on_devs)
        else:
            kvstore.broadcast(name, arg_params[name], out=param_on_devs)


def _update_params_on_kvstore(param_arrays, grad_arrays, kvstore, param_names):
    """Push each parameter's per-device gradients (the store updates the weight) and pull
    the new weight back to every device; parameters without gradients are skipped (a
    distributed store gets them all in one call, so it can fuse the communication)."""
    keys, grads, outs = [], [], []
    for index, (arg_list, grad_list) in enumerate(zip(param_arrays, grad_arrays)):
        if grad_list[0] is None:
            continue
        if is_distributed(kvstore):
            keys.append(param_names[index])
            grads.append(grad_list)
            outs.append(arg_list)
        else:
            kvstore.pushpull(param_names[index], grad_list, out=arg_list, priority=-index)
    if keys:
        kvstore.pushpull(keys, grads, out=outs)


def _update_params(param_arrays, grad_arrays, updater, num_device, kvstore=None,
                   param_names=None):
    """Update on the devices: reduce each gradient through ``kvstore`` (if any), then call
    ``updater`` per device with index ``i * num_device + k`` (so each device copy keeps its
    own optimizer state, as in MXNet)."""
    updates = [[] for _ in range(num_device)]
    if kvstore and is_distributed(kvstore):
        # one call for all gradients: the distributed store fuses them into few allreduces
        reduce = [i for i, g in enumerate(grad_arrays) if g[0] is not None]
        if reduce:
            kvstore.pushpull([param_names[i] for i in reduce], [grad_arrays[i] for i in reduce])
        kvstore = None
    for index, (arg_list, grad_list) in enumerate(zip(param_arrays, grad_arrays)):
        if grad_list[0] is None:
            continue
        if kvstore:
            kvstore.pushpull(param_names[index], grad_list, priority=-index)
        for k, (w, g) in enumerate(zip(arg_list, grad_list)):
            updates[k].append((index * num_device + k, g, w))
    for dev_updates in updates:
        if dev_updates:
            i, g, w = zip(*dev_updates)
            updater(list(i), list(g), list(w))


def _multiple_callbacks(callbacks, *args, **kwargs):
    """Call ``callbacks`` (None, one callable or a list of them) with the arguments."""
    if isinstance(callbacks, list):
        for cb in callbacks:
            cb(*args, **kwargs)
        return
    if callbacks:
        callbacks(*args, **kwargs)


def _check_prefix_epoch(prefix, epoch, fn):
    if not isinstance(prefix, (str, os.PathLike)):
        raise TypeError(f"{fn}: prefix must be a str (file name prefix), got "
                        f"{type(prefix).__name__}")
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
        raise TypeError(f"{fn}: epoch must be an int, got {type(epoch).__name__}")
    return os.fspath(prefix), int(epoch)


def _check_param_dict(params, what):
    if not isinstance(params, dict):
        raise TypeError(f"save_checkpoint: {what} must be a dict of str to NDArray, got "
                        f"{type(params).__name__}")
    for k, v in params.items():
        if not isinstance(k, str) or not isinstance(v, NDArray):
            raise TypeError(f"save_checkpoint: {what} must map str to NDArray, got "
                            f"{type(k).__name__} -> {type(v).__name__}")


def save_checkpoint(prefix, epoch, symbol, arg_params, aux_params, remove_amp_cast=True):
    """Write a checkpoint: ``prefix-symbol.json`` (skipped when ``symbol`` is None) and
    ``prefix-%04d.params`` % epoch with keys ``'arg:NAME'`` and ``'aux:NAME'`` (arrays
    copied to the CPU), then log ``Saved checkpoint to "..."`` at INFO level.

    Parameters
    ----------
    prefix : str
    epoch : int
    symbol : Symbol or None
    arg_params, aux_params : dict of str to NDArray
    remove_amp_cast : bool, default True
        Passed to ``Symbol.save``: drop ``amp_cast``/``amp_multicast`` nodes.
    """
    prefix, epoch = _check_prefix_epoch(prefix, epoch, "save_checkpoint")
    if symbol is not None and not isinstance(symbol, sym.Symbol):
        raise TypeError(f"save_checkpoint: symbol must be a Symbol or None, got "
                        f"{type(symbol).__name__}")
    _check_param_dict(arg_params, "arg_params")
    _check_param_dict(aux_params, "aux_params")
    if symbol is not None:
        symbol.save(f"{prefix}-symbol.json", remove_amp_cast=remove_amp_cast)
    save_dict = {f"arg:{k}": v.as_in_context(cpu()) for k, v in arg_params.items()}
    save_dict.update({f"aux:{k}": v.as_in_context(cpu()) for k, v in aux_params.items()})
    param_name = "%s-%04d.params" % (prefix, epoch)
    nd.save(param_name, save_dict)
    logging.info('Saved checkpoint to "%s"', param_name)


def load_params(prefix, epoch):
    """``(arg_params, aux_params)`` read from ``prefix-%04d.params`` % epoch (keys
    ``'arg:NAME'``/``'aux:NAME'``; an empty file gives two empty dicts and a warning)."""
    prefix, epoch = _check_prefix_epoch(prefix, epoch, "load_params")
    fname = "%s-%04d.params" % (prefix, epoch)
    save_dict = nd.load(fname)
    arg_params, aux_params = {}, {}
    if not save_dict:
        logging.warning("Params file '%s' is empty", fname)
        return arg_params, aux_params
    if not isinstance(save_dict, dict):
        raise ValueError(f"load_params: {fname} holds an unnamed list of arrays, not a "
                         "checkpoint ('arg:NAME'/'aux:NAME' keys)")
    for k, v in save_dict.items():
        tp, sep, name = k.partition(":")
        if not sep or tp not in ("arg", "aux"):
            raise ValueError(f"load_params: key {k!r} in {fname} is not 'arg:NAME' or "
                             "'aux:NAME'; files written by save_parameters load with "
                             "Block.load_parameters instead")
        (arg_params if tp == "arg" else aux_params)[name] = v
    return arg_params, aux_params


def load_checkpoint(prefix, epoch):
    """``(symbol, arg_params, aux_params)`` of the checkpoint ``prefix``/``epoch`` written
    by :func:`save_checkpoint` (or MXNet): the symbol from ``prefix-symbol.json``, the
    parameters from ``prefix-%04d.params``."""
    prefix, epoch = _check_prefix_epoch(prefix, epoch, "load_checkpoint")
    symbol = sym.load(f"{prefix}-symbol.json")
    arg_params, aux_params = load_params(prefix, epoch)
    return symbol, arg_params, aux_params
