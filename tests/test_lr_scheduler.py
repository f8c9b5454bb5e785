"""Learning-rate schedulers (mx.lr_scheduler): every case of MXNet's sched.json, warmup
modes, MXNet's stateful semantics and argument errors."""
import json
import logging
import pathlib

import pytest

from gluonlite import lr_scheduler
from gluonlite.lr_scheduler import (LRScheduler, FactorScheduler, MultiFactorScheduler,
                                    PolyScheduler, CosineScheduler)

SCHED = json.loads((pathlib.Path(__file__).parent / "fixtures" / "sched.json").read_text())


@pytest.mark.parametrize("name", sorted(SCHED))
def test_matches_mxnet(name):
    case = SCHED[name]
    s = eval(case["ctor"], vars(lr_scheduler))
    got = [s(n) for n in range(len(case["lr"]))]
    assert got == pytest.approx(case["lr"], rel=1e-12, abs=1e-15)


def test_fixture_covers_every_scheduler():
    ctors = " ".join(c["ctor"] for c in SCHED.values())
    for cls in ("FactorScheduler", "MultiFactorScheduler", "PolyScheduler", "CosineScheduler"):
        assert cls in ctors
    assert "warmup_steps" in ctors


def test_constant_warmup():
    s = FactorScheduler(step=2, factor=0.5, base_lr=1.0, warmup_steps=3, warmup_begin_lr=0.2,
                        warmup_mode="constant")
    # MXNet 1.9.1 gives the same: decays count from update 0, warmup included
    assert [s(n) for n in range(7)] == [0.2, 0.2, 0.2, 0.5, 0.5, 0.25, 0.25]


def test_factor_is_stateful_and_stops():
    s = FactorScheduler(step=1, factor=0.1, stop_factor_lr=1e-3, base_lr=1.0)
    assert s(10) == pytest.approx(1e-3)  # catches up at once (resumed training)
    assert s.count == 9
    assert s(2) == pytest.approx(1e-3)   # the decay already happened: never undone
    s2 = FactorScheduler(step=3, factor=0.5, base_lr=2.0)
    assert [s2(n) for n in (1, 3, 4, 7)] == [2.0, 2.0, 1.0, 0.5]


def test_multifactor_stateful():
    s = MultiFactorScheduler(step=[2, 5], factor=0.5, base_lr=1.0)
    assert s(9) == 0.25 and s.cur_step_ind == 2 and s.count == 5
    assert s(1) == 0.25


def test_poly_and_cosine_hold_final_value():
    p = PolyScheduler(max_update=4, base_lr=1.0, pwr=1, final_lr=0.2)
    assert [p(n) for n in (0, 2, 4, 10)] == pytest.approx([1.0, 0.6, 0.2, 0.2])
    c = CosineScheduler(max_update=4, base_lr=1.0, final_lr=0.0)
    assert [c(n) for n in (0, 2, 4, 9)] == pytest.approx([1.0, 0.5, 0.0, 0.0])
    # an optimizer's learning_rate overwrites base_lr, but MXNet's decay keeps base_lr_orig
    p.base_lr = 5.0
    assert p(3) == pytest.approx(0.4)


def test_base_class_and_logging(caplog):
    with pytest.raises(NotImplementedError):
        LRScheduler()(1)
    with caplog.at_level(logging.INFO):
        FactorScheduler(step=1, factor=0.5, base_lr=1.0)(3)
    assert "Change learning rate to 2.50000e-01" in caplog.text


@pytest.mark.parametrize("ctor, exc, match", [
    ("FactorScheduler(step=0)", ValueError, "Schedule step must be greater or equal than 1"),
    ("FactorScheduler(step=2, factor=1.5)", ValueError, "Factor must be no more than 1"),
    ("FactorScheduler(step=2.5)", TypeError, "step: expected an int"),
    ("FactorScheduler(step=2, base_lr=0.1, warmup_begin_lr=0.5)", ValueError,
     "Base lr has to be higher than warmup_begin_lr"),
    ("FactorScheduler(step=2, warmup_steps=-1)", ValueError, "Warmup steps has to be positive"),
    ("FactorScheduler(step=2, warmup_mode='cubic')", ValueError,
     "Supports only linear and constant modes"),
    ("FactorScheduler(step=2, base_lr='0.1')", TypeError, "base_lr: expected a real number"),
    ("MultiFactorScheduler(step=[3, 2])", ValueError, "increasing integer list"),
    ("MultiFactorScheduler(step=[0, 2])", ValueError, "greater or equal than 1"),
    ("MultiFactorScheduler(step=3)", TypeError, "step: expected a non-empty list"),
    ("MultiFactorScheduler(step=[1.5])", TypeError, r"step\[0\]: expected an int"),
    ("PolyScheduler(max_update=0)", ValueError, "must be strictly positive"),
    ("PolyScheduler(max_update=2, warmup_steps=2)", ValueError, "must differ from warmup"),
    ("CosineScheduler(max_update=2.0)", TypeError, "max_update: expected an int"),
    ("CosineScheduler(max_update=-3)", ValueError, "must be strictly positive"),
])
def test_argument_errors(ctor, exc, match):
    with pytest.raises(exc, match=match):
        eval(ctor, vars(lr_scheduler))


def test_call_argument_checked():
    with pytest.raises(TypeError, match="num_update: expected an int"):
        FactorScheduler(step=2)("3")
