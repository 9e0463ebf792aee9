"""Memory held between training slices is exposed to upsets, and healing repairs them before
training goes on."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from orbitlearn.faults import FaultInjector, FaultSchedule
from orbitlearn.healing import bitwise_equal
from orbitlearn.onboard import DeviceProfile, OnboardTrainer

from .conftest import batches, make_model

SLOW_DEVICE = DeviceProfile(
    "slow", sustained_flop_per_s=1e5, power_w={"train": 4.0, "idle": 1.0}, memory_bytes=1 << 30
)
RATE_PER_BIT_S = 1e-7  # ~0.003 upsets per computing step, ~35 in a 10,000 s idle gap
IDLE_S = 10_000.0


def _trainer(healing: str, faults: FaultInjector | None) -> OnboardTrainer:
    model = make_model(dropout=0.0)
    return OnboardTrainer(
        model,
        torch.optim.Adam(model.parameters(), lr=1e-2),
        batches(),
        loss_fn=nn.functional.cross_entropy,
        healing=healing,
        faults=faults,
        device=SLOW_DEVICE,
        seed=3,
    )


def _injector(**kwargs: object) -> FaultInjector:
    return FaultInjector(
        ["weights", "optimizer", "grads"], rate_per_bit_s=RATE_PER_BIT_S, seed=5, **kwargs
    )


def _same_state(a: OnboardTrainer, b: OnboardTrainer) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    oa, ob = a.optimizer.state_dict()["state"], b.optimizer.state_dict()["state"]
    return all(bitwise_equal(sa[k], sb[k]) for k in sa) and all(
        bitwise_equal(oa[i][k], ob[i][k]) for i in oa for k in oa[i]
    )


def _two_slices(trainer: OnboardTrainer) -> tuple[float, object]:
    trainer.train_slice(max_steps=4)
    idle_from = trainer.time_s
    return idle_from, trainer.train_slice(max_steps=4, start_time_s=idle_from + IDLE_S)


def test_full_repairs_every_idle_upset_before_training_goes_on() -> None:
    clean = _trainer("none", None)
    _two_slices(clean)
    trainer = _trainer("full", _injector())
    idle_from, result = _two_slices(trainer)
    idle = [e for e in result.fault_events if e.time_s == idle_from]  # type: ignore[attr-defined]
    assert 10 <= len(idle) <= 80  # Poisson, mean ~35 over the weights and Adam moments
    assert {e.target for e in idle} <= {"weights", "optimizer"}  # gradients do not exist idle
    assert {e.step for e in idle} == {4}  # logged at the step that comes next
    flagged = {
        (d.target, d.detector)
        for d in result.detections  # type: ignore[attr-defined]
        if d.step == 4 and d.resolution == "corrected"
    }
    assert {(e.tensor, "state_copy") for e in idle if e.changed} <= flagged
    assert result.executions == result.steps  # caught at the slice start: nothing recomputed
    assert _same_state(trainer, clean)  # every upset restored bit for bit before it was used


def test_without_healing_the_idle_upsets_stay() -> None:
    clean = _trainer("none", None)
    _two_slices(clean)
    trainer = _trainer("none", _injector(bit_mask="exponent"))
    _, result = _two_slices(trainer)
    assert len(result.fault_events) > 0  # type: ignore[attr-defined]
    assert not _same_state(trainer, clean)


def test_no_exposure_before_the_clock_runs_or_without_a_gap() -> None:
    trainer = _trainer("full", _injector())
    mission_s = 1.7e9  # a mission clock in unix seconds: no idle time before the first slice
    first = trainer.train_slice(max_steps=2, start_time_s=mission_s)
    assert first.start_time_s == mission_s
    assert all(e.time_s >= mission_s for e in first.fault_events)
    assert len(first.fault_events) < 5  # compute time only: essentially none at this rate
    second = trainer.train_slice(max_steps=2, start_time_s=trainer.time_s)  # no gap
    assert all(e.time_s >= second.start_time_s for e in second.fault_events)


def test_a_resumed_trainer_keeps_its_clock_running() -> None:
    straight = _trainer("none", _injector(bit_mask="exponent"))
    straight.train_slice(max_steps=3)
    state = straight.state_dict()
    assert state["trainer"]["clock_started"] is True
    resumed = _trainer("none", _injector(bit_mask="exponent"))
    resumed.load_state_dict(state)
    result = resumed.train_slice(max_steps=1, start_time_s=resumed.time_s + IDLE_S)
    assert any(e.time_s < result.start_time_s for e in result.fault_events)
    fresh = _trainer("none", _injector(bit_mask="exponent")).state_dict()
    assert fresh["trainer"]["clock_started"] is False


def test_a_schedule_places_no_upsets_in_idle_time() -> None:
    schedule = FaultSchedule.spread(20, 8, seed=1)
    trainer = _trainer("full", FaultInjector(["weights"], schedule=schedule, seed=2))
    _two_slices(trainer)
    assert trainer.faults is not None
    assert len(trainer.faults.events) == 20  # exactly the scheduled ones, none extra


def test_standard_rolls_back_an_idle_exponent_upset_found_by_the_slice_start_scan() -> None:
    trainer = _trainer("standard", None)
    trainer.train_slice(max_steps=4)
    weight = trainer.model[0].weight
    with torch.no_grad():
        weight.view(-1)[3] = math.inf  # what an idle exponent upset can leave
    result = trainer.train_slice(max_steps=2, start_time_s=trainer.time_s + IDLE_S)
    assert [(d.detector, d.target) for d in result.detections] == [("state_range", "0.weight")]
    assert [r.action for r in result.repairs] == ["rollback"]
    assert torch.isfinite(weight).all()
    assert all(math.isfinite(v) for v in result.losses)


@pytest.mark.parametrize("healing", ["tmr", "dmr"])
def test_replica_policies_repair_idle_upsets(healing: str) -> None:
    clean = _trainer("none", None)
    _two_slices(clean)
    trainer = _trainer(healing, _injector(bit_mask=[30]))  # decidable for DMR too
    _, result = _two_slices(trainer)
    assert len(result.fault_events) > 0  # type: ignore[attr-defined]
    assert trainer.healing.report.rollbacks == 0
    assert _same_state(trainer, clean)
