"""Helpers replaying MXNet's optimizer reference runs (``tests/fixtures/optim*.npz``) in
gluonlite, the same way ``tests/fixtures/gen/optim_extra.py`` produced them in MXNet."""
import json
import os
import tempfile

import numpy as np

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite import lr_scheduler as sched
from gluonlite import optimizer as opt
from gluonlite.gluon import Parameter
from gluonlite.gluon.trainer import Trainer


def spec_of(z, name):
    """The JSON description of case ``name``."""
    return json.loads(str(z[f"{name}/meta"]))


def _key(k):
    return int(k) if k.isdigit() else k


def make_optimizer(spec):
    kwargs = dict(spec["kwargs"])
    if spec["scheduler"]:
        kwargs["lr_scheduler"] = eval(spec["scheduler"], vars(sched))
    if spec["idx2name"]:
        kwargs["param_idx2name"] = {int(k): v for k, v in spec["idx2name"].items()}
    return opt.create(spec["optimizer"], **kwargs)


def make_params(spec, values):
    """Parameters as the case declares them, on its contexts, set to ``values``."""
    ctxs = [mx.cpu(i) for i in range(spec["ctx"])]
    params = []
    for p, v in zip(spec["params"], values):
        prm = Parameter(p["name"], shape=tuple(p["shape"]), dtype=p["dtype"],
                        lr_mult=p["lr_mult"], wd_mult=p["wd_mult"])
        prm.initialize(mx.init.Constant(0), ctx=ctxs)
        prm.set_data(nd.array(v, dtype=p["dtype"]))
        params.append(prm)
    return ctxs, params


def make_trainer(spec, params):
    if spec["instance"]:
        return Trainer(params, make_optimizer(spec), **spec["trainer"])
    kwargs = dict(spec["kwargs"])
    if spec["scheduler"]:
        kwargs["lr_scheduler"] = eval(spec["scheduler"], vars(sched))
    return Trainer(params, spec["optimizer"], kwargs, **spec["trainer"])


def make_updater(spec):
    o = make_optimizer(spec)
    if spec["set_lr_mult"]:
        o.set_lr_mult({_key(k): v for k, v in spec["set_lr_mult"].items()})
    if spec["set_wd_mult"]:
        o.set_wd_mult({_key(k): v for k, v in spec["set_wd_mult"].items()})
    return opt.get_updater(o)


def backward_grads(params, ctxs, grads):
    """Make ``backward`` write ``grads[k][c]`` into parameter k's gradient on context c."""
    for c, ctx in enumerate(ctxs):
        with autograd.record():
            loss = nd.add_n(*[(prm.data(ctx) * nd.array(grads[k][c], ctx=ctx,
                                                         dtype=prm.dtype)).sum()
                              for k, prm in enumerate(params)])
        loss.backward()


def grads_at(z, name, spec, s):
    return [[z[f"{name}/grad{s}/{k}/{c}"] for c in range(spec["ctx"])]
            for k in range(len(spec["params"]))]


def check_weights(z, name, spec, params, ctxs, s, tol=None):
    rtol, atol = tol or spec["tol"]
    for k, prm in enumerate(params):
        for c, ctx in enumerate(ctxs):
            ref = z[f"{name}/w{s}/{k}/{c}"]
            got = prm.data(ctx).asnumpy()
            assert got.dtype == ref.dtype
            np.testing.assert_allclose(
                got.astype(np.float64), ref.astype(np.float64), rtol=rtol, atol=atol,
                err_msg=f"{name}: parameter {k} on context {c} after step {s}")


def replay(z, name, steps=None):
    """Replay case ``name``; checks every step against MXNet and returns what it built."""
    spec = spec_of(z, name)
    ctxs, params = make_params(spec, [z[f"{name}/w0/{k}"] for k in range(len(spec["params"]))])
    trainer = updater = None
    if spec["mode"] == "trainer":
        trainer = make_trainer(spec, params)
    else:
        updater = make_updater(spec)
    for s in range(spec["steps"] if steps is None else steps):
        grads = grads_at(z, name, spec, s)
        if trainer is not None:
            backward_grads(params, ctxs, grads)
            trainer.step(spec["batch_size"])
        else:
            ws = [prm.data(ctxs[0]) for prm in params]
            gs = [nd.array(grads[k][0], dtype=prm.dtype) for k, prm in enumerate(params)]
            updater(list(range(len(params))), gs, ws)
        check_weights(z, name, spec, params, ctxs, s + 1)
    return spec, ctxs, params, trainer


def resume(z, name, states_bytes):
    """A fresh trainer at MXNet's weights after ``save_at`` steps, loaded with
    ``states_bytes``, continued to the end; checks every step against MXNet."""
    spec = spec_of(z, name)
    at = spec["save_at"]
    ctxs, params = make_params(spec, [z[f"{name}/w{at}/{k}/0"]
                                      for k in range(len(spec["params"]))])
    trainer = make_trainer(spec, params)
    with tempfile.TemporaryDirectory() as d:
        fname = os.path.join(d, "trainer.states")
        with open(fname, "wb") as f:
            f.write(states_bytes)
        trainer.load_states(fname)
    for s in range(at, spec["steps"]):
        backward_grads(params, ctxs, grads_at(z, name, spec, s))
        trainer.step(spec["batch_size"])
        check_weights(z, name, spec, params, ctxs, s + 1)
    return trainer
