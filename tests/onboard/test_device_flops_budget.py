"""Device profiles, counted FLOPs and slice budgets."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from orbitlearn.errors import InputError
from orbitlearn.faults import FaultInjector
from orbitlearn.onboard import (
    DEVICE_PRESETS,
    Budget,
    BudgetMeter,
    DeviceProfile,
    FlopCache,
    count_step_flops,
    get_device,
)


def test_presets_have_the_documented_power_modes() -> None:
    assert set(DEVICE_PRESETS) == {
        "jetson-orin-nano-7w",
        "jetson-orin-nano-15w",
        "jetson-orin-nano-25w",
        "raspberry-pi-4",
        "rad-hard-cpu",
    }
    for watts in (7, 15, 25):
        d = get_device(f"jetson-orin-nano-{watts}w")
        assert d.train_power_w == watts and d.memory_bytes == 8 << 30
        assert d.sustained_flop_per_s < d.peak_flop_per_s
    pi = get_device("raspberry-pi-4")
    assert (pi.power_w["idle"], pi.power_w["train"]) == (1.8, 6.3)
    rad = get_device("rad-hard-cpu")
    assert rad.sustained_flop_per_s < pi.sustained_flop_per_s / 10  # orders slower
    assert all(p.source for p in DEVICE_PRESETS.values())


def test_time_and_energy_from_flops() -> None:
    d = DeviceProfile(
        "x", sustained_flop_per_s=1e9, power_w={"train": 5.0, "idle": 1.0}, memory_bytes=1 << 20
    )
    assert d.seconds_for_flops(2e9) == 2.0
    assert d.joules_for_seconds(2.0) == 10.0 and d.joules_for_seconds(2.0, "idle") == 2.0
    with pytest.raises(
        InputError, match="Expected `mode` to be one of \\['idle', 'train'\\], actual: 'boost'"
    ):
        d.joules_for_seconds(1.0, "boost")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"sustained_flop_per_s": 0},
            "Expected `sustained_flop_per_s` to be a finite number > 0, actual: 0",
        ),
        (
            {"power_w": {"train": 1.0}},
            "Expected `power_w` to be a mapping with 'train' and 'idle' modes",
        ),
        (
            {"power_w": {"train": -1.0, "idle": 0.0}},
            "Expected `power_w['train']` to be a finite number of W >= 0, actual: -1.0",
        ),
        ({"memory_bytes": 0}, "Expected `memory_bytes` to be an integer > 0, actual: 0"),
    ],
)
def test_device_profile_validation(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "name": "x",
        "sustained_flop_per_s": 1e9,
        "power_w": {"train": 1.0, "idle": 0.5},
        "memory_bytes": 1024,
    }
    base.update(kwargs)
    with pytest.raises(InputError) as caught:
        DeviceProfile(**base)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_unknown_device_preset() -> None:
    with pytest.raises(InputError) as caught:
        get_device("jetson")
    assert str(caught.value).startswith("Expected `device` to be one of 'jetson-orin-nano-7w'")


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 5),
    )


def test_counted_flops_match_a_real_execution_and_leave_the_model_alone() -> None:
    model = _cnn()
    x, y = torch.randn(6, 1, 8, 8), torch.randint(0, 5, (6,))
    injector = FaultInjector(["activations"], rate_per_bit_s=1.0, seed=0)  # would hit every layer
    injector.bind(model, None)
    running_mean = model[1].running_mean.clone()
    rng = torch.get_rng_state()
    flops = count_step_flops(model, nn.functional.cross_entropy, x, y)
    assert injector.events == []  # hooks were off while counting
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(model[1].running_mean, running_mean)
    assert torch.equal(torch.get_rng_state(), rng)
    injector.unbind()
    with FlopCounterMode(display=False) as counter:
        nn.functional.cross_entropy(model(x), y).backward()
    assert flops.total == counter.get_total_flops()
    # conv 2*6*(4*8*8)*(1*3*3) + linear 2*6*256*5
    assert flops.forward == 2 * 6 * 256 * 9 + 2 * 6 * 256 * 5
    assert flops.method == "meta"


def test_flop_cache_counts_each_shape_once() -> None:
    model = nn.Linear(3, 2)
    cache = FlopCache(model, nn.functional.mse_loss)
    a = cache.get(torch.zeros(4, 3), torch.zeros(4, 2))
    b = cache.get(torch.zeros(8, 3), torch.zeros(8, 2))
    assert cache.get(torch.ones(4, 3), torch.ones(4, 2)) is a
    assert b.total == 2 * a.total and len(cache) == 2


def test_loss_that_cannot_run_on_meta_falls_back_to_execution() -> None:
    def picky_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if out.device.type == "meta":
            raise NotImplementedError("no meta")
        return nn.functional.mse_loss(out, y)

    model = nn.Linear(3, 2)
    flops = count_step_flops(model, picky_loss, torch.zeros(4, 3), torch.zeros(4, 2))
    assert flops.method == "execute" and flops.forward == 2 * 4 * 3 * 2
    assert model.weight.grad is None


def test_budget_meter_stops_before_overspending() -> None:
    meter = BudgetMeter(Budget(max_seconds=1.0, max_joules=100.0))
    steps = 0
    while meter.fits(seconds=0.3, joules=1.0):
        meter.charge(seconds=0.3, joules=1.0)
        steps += 1
    assert steps == 3 and meter.stop_reason == "max_seconds" and meter.seconds <= 1.0
    assert BudgetMeter(Budget(max_steps=0)).fits(seconds=0, joules=0) is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_steps": -1}, "Expected `max_steps` to be an integer >= 0 or None, actual: -1"),
        ({"max_steps": 2.5}, "Expected `max_steps` to be an integer >= 0 or None, actual: 2.5"),
        (
            {"max_joules": float("nan")},
            "Expected `max_joules` to be a number >= 0 or None, actual: nan",
        ),
        ({"max_seconds": "1"}, "Expected `max_seconds` to be a number >= 0 or None, actual: '1'"),
    ],
)
def test_budget_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as caught:
        Budget(**kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message
