"""FaultEvent.changed looks at bits, not at float values; idle exposure of the state."""

from __future__ import annotations

import math

import pytest
import torch

from orbitlearn.errors import InputError
from orbitlearn.faults import FaultEvent, FaultInjector, FaultSchedule, InjectorNotBoundError
from orbitlearn.faults.bitflip import flip_bits, force_bits


def _event(old: float, new: float, **bits: int) -> FaultEvent:
    return FaultEvent(0.0, 0, "stuck", "weights", "w", 0, 31, old, new, "float32", **bits)


@pytest.mark.parametrize(
    ("old", "new", "changed"),
    [
        (0.0, -0.0, True),  # a sign flip of zero compares equal as a float
        (1.0, 1.0, False),
        (math.nan, math.nan, False),  # the same NaN (no raw bits: float64 patterns compared)
        (1.0, 2.0, True),
    ],
)
def test_changed_compares_bit_patterns_of_the_values(old: float, new: float, changed: bool) -> None:
    assert _event(old, new).changed is changed


def test_changed_prefers_the_raw_bits_when_logged() -> None:
    # two float32 NaNs that differ only in the quiet bit (bit 22) widen to one float64 NaN
    quiet, signalling = 0x7FC00001, 0x7F800001
    as_float = torch.tensor([quiet, signalling], dtype=torch.int32).view(torch.float32).double()
    assert math.isnan(as_float[0]) and math.isnan(as_float[1])
    event = _event(float(as_float[1]), float(as_float[0]), old_bits=signalling, new_bits=quiet)
    assert event.changed
    same = _event(math.nan, math.nan, old_bits=quiet, new_bits=quiet)
    assert not same.changed
    assert FaultEvent.from_dict(event.to_dict()) == event


def test_flip_and_force_results_carry_the_raw_bits() -> None:
    x = torch.tensor([1.0, -0.0], dtype=torch.float32)
    result = flip_bits(x, [0, 1], [22, 31])
    assert result.old_bits is not None and result.new_bits is not None
    assert result.old_bits.tolist() == [0x3F800000, 0x80000000]
    assert result.new_bits.tolist() == [0x3FC00000, 0x00000000]
    y = torch.tensor([-1], dtype=torch.int8)
    forced = force_bits(y, [0], [0], [1 << 7])
    assert forced.old_bits is not None and forced.new_bits is not None
    assert (forced.old_bits.tolist(), forced.new_bits.tolist()) == ([0xFF], [0x7F])


def test_injector_events_log_raw_bits_and_stuck_changes_on_nans() -> None:
    model = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0.0, 2.0]]))
        # element 1: a float32 NaN whose quiet bit (22) is clear
        model.weight.view(-1).view(torch.int32)[1] = 0x7F800001
    injector = FaultInjector(["weights"], seed=0)
    injector.bind(model, None)
    injector.add_stuck_bit("weight", 1, 22, 1)  # sets the quiet bit: the bits change
    events = injector.after_step(step=0, time_s=0.0, duration_s=1.0)
    assert [(e.kind, e.old_bits, e.new_bits) for e in events] == [("stuck", 0x7F800001, 0x7FC00001)]
    assert events[0].changed
    flips = FaultInjector(["weights"], rate_per_bit_s=1.0, seed=1)
    flips.bind(model, None)
    for event in flips.after_step(step=1, time_s=1.0, duration_s=0.1):
        assert event.old_bits is not None and event.new_bits is not None
        assert event.old_bits ^ event.new_bits == ((1 << event.n_bits) - 1) << event.bit


def _mlp_with_adam_state() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model(torch.randn(4, 8)).sum().backward()
    opt.step()
    return model, opt


def test_expose_idle_hits_the_state_at_rate_times_idle_time() -> None:
    model, opt = _mlp_with_adam_state()
    injector = FaultInjector(
        ["weights", "optimizer", "grads", "activations"],
        rate_per_bit_s=1e-6,
        multi_bit_fraction=0.0,
        seed=3,
    )
    injector.bind(model, opt)
    state_bits = 3 * sum(p.numel() for p in model.parameters()) * 32  # weights + 2 Adam moments
    events = []
    for k in range(50):
        events += injector.expose_idle(step=7, time_s=100.0 * k, duration_s=100.0)
        for p in model.parameters():  # keep values sane; counts are the point
            p.data.nan_to_num_(0.0).clamp_(-1, 1)
    expected = 1e-6 * state_bits * 50 * 100.0
    assert abs(len(events) - expected) < 5 * math.sqrt(expected)
    assert {e.target for e in events} == {"weights", "optimizer"}  # no gradients, activations
    assert {e.step for e in events} == {7}
    assert {e.time_s for e in events} <= {100.0 * k for k in range(50)}  # each gap's start
    assert injector.events == events


def test_expose_idle_needs_rates_and_checks_its_arguments() -> None:
    model, opt = _mlp_with_adam_state()
    scheduled = FaultInjector(["weights"], schedule=FaultSchedule.even(10, 5), seed=0)
    scheduled.bind(model, opt)
    assert scheduled.expose_idle(step=0, time_s=0.0, duration_s=1e9) == []
    assert scheduled.pending == 0 and scheduled.scheduled_remaining == 10  # plan untouched
    grads_only = FaultInjector(["grads"], rate_per_bit_s=1.0, seed=0)
    grads_only.bind(model, opt)
    assert grads_only.expose_idle(step=0, time_s=0.0, duration_s=100.0) == []
    rated = FaultInjector(["weights"], rate_per_bit_s=1e-6, seed=0)
    with pytest.raises(InjectorNotBoundError, match="expose_idle needs a model"):
        rated.expose_idle(step=0, time_s=0.0, duration_s=1.0)
    rated.bind(model, opt)
    with pytest.raises(
        InputError, match="Expected `duration_s` to be a finite number >= 0, actual: -1"
    ):
        rated.expose_idle(step=0, time_s=0.0, duration_s=-1.0)
