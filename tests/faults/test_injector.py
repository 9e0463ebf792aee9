"""FaultInjector: the trainer protocol, the event log, stuck bits, resets, state round trip."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from orbitlearn.errors import InputError
from orbitlearn.faults import (
    DeviceReset,
    FaultInjector,
    FaultSchedule,
    InjectorNotBoundError,
    collect_targets,
)


def _adam(model: torch.nn.Module) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=1e-2)


def _tensor_by_name(model, optimizer, name: str) -> torch.Tensor:
    targets = collect_targets(model, optimizer, ["weights", "optimizer", "grads", "buffers"])
    return {t.name: t.tensor for t in targets}[name]


def test_targets_are_named_and_counted(fx) -> None:
    model = fx.make_mlp()
    opt = _adam(model)
    x, y = fx.make_batch()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    names = [t.name for t in collect_targets(model, opt, ["weights", "grads", "optimizer"])]
    assert names[:4] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert "0.weight.grad" in names
    assert "optimizer.state.0.weight.exp_avg" in names
    assert "optimizer.state.2.bias.exp_avg_sq" in names
    assert not any(n.endswith(".step") for n in names)  # scalar counters left out by default
    with_steps = collect_targets(model, opt, ["optimizer"], include_step_counters=True)
    assert any(t.name.endswith(".step") for t in with_steps)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sgd.step()
    momentum = [t.name for t in collect_targets(model, sgd, ["optimizer"])]
    assert momentum[0] == "optimizer.state.0.weight.momentum_buffer"
    exponent_only = collect_targets(model, opt, ["weights"], bit_mask="exponent")
    assert exponent_only[0].n_bits == 8 * 16 * 8  # 128 elements x 8 exponent bits


def test_rate_driven_upsets_are_logged_consistently_with_the_tensors(fx) -> None:
    model = fx.make_mlp()
    opt = _adam(model)
    x, y = fx.make_batch()
    injector = FaultInjector(["weights", "optimizer"], rate_per_bit_s=2e-4, seed=3)
    injector.bind(model, opt)
    fx.train_steps(injector, model, opt, x, y, range(2))  # optimizer state exists now
    before = {
        t.name: t.tensor.detach().clone()
        for t in collect_targets(model, opt, ["weights", "optimizer"])
    }
    events = injector.after_step(step=2, time_s=3.0, duration_s=1.0)
    assert len(events) >= 3  # ~10 expected: 2e-4 x (~600 params x 3 tensors x 32 bits) x 1 s
    assert events == injector.events[-len(events) :]
    seen: set[tuple[str, int]] = set()
    for event in events:
        assert event.kind in ("seu", "mbu") and event.target in ("weights", "optimizer")
        assert event.step == 2 and event.time_s == 3.0 and event.dtype == "float32"
        key = (event.tensor, event.flat_index)
        if key not in seen:  # first upset of the element: old value is the pre-upset value
            old = before[event.tensor].reshape(-1)[event.flat_index].item()
            assert struct_equal(event.old_value, old)
        seen.add(key)
        pattern_old = np.float32(event.old_value).view(np.uint32)
        pattern_new = np.float32(event.new_value).view(np.uint32)
        mask = ((1 << event.n_bits) - 1) << event.bit
        assert int(pattern_old ^ pattern_new) == mask  # exactly the logged bits changed
    last = {}
    for event in events:
        last[(event.tensor, event.flat_index)] = event.new_value
    for (name, index), value in last.items():
        now = _tensor_by_name(model, opt, name).reshape(-1)[index].item()
        assert struct_equal(now, value)


def struct_equal(a: float, b: float) -> bool:
    return np.float32(a).view(np.uint32) == np.float32(b).view(np.uint32)


def test_zero_rate_changes_nothing_and_returns_no_events(fx) -> None:
    model = fx.make_mlp()
    opt = _adam(model)
    x, y = fx.make_batch()
    injector = FaultInjector(
        ["weights", "grads", "optimizer", "activations", "inputs"], rate_per_bit_s=0.0, seed=0
    )
    injector.bind(model, opt)
    assert injector.corrupt_batch(x, step=0, time_s=0.0) is x
    reference = fx.make_mlp()
    ref_opt = _adam(reference)
    fx.train_steps(injector, model, opt, x, y, range(3))
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(reference(x), y)
        ref_opt.zero_grad()
        loss.backward()
        ref_opt.step()
    assert injector.events == []
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(a, b)


def test_set_rates_switches_injection_on_and_off(fx) -> None:
    model = fx.make_mlp()
    opt = _adam(model)
    injector = FaultInjector(["weights"], seed=0)
    injector.bind(model, opt)
    assert injector.after_step(step=0, time_s=0.0, duration_s=10.0) == []
    injector.set_rates(rate_per_bit_s=1e-3)  # e.g. an SAA pass: 1e-3 x 6240 bits x 10 s = 62.4
    assert (
        62.4 - 5 * 7.9
        < len(injector.after_step(step=1, time_s=10.0, duration_s=10.0))
        < 62.4 + 5 * 7.9
    )
    injector.set_rates(rate_per_bit_s=0.0)
    assert injector.after_step(step=2, time_s=20.0, duration_s=10.0) == []


def test_injected_count_matches_rate_times_exposure(fx) -> None:
    model = fx.make_mlp()
    injector = FaultInjector(["weights"], rate_per_bit_s=1e-6, seed=8, multi_bit_fraction=0.0)
    injector.bind(model, None)
    bits = sum(p.numel() for p in model.parameters()) * 32
    for step in range(400):
        injector.after_step(step=step, time_s=float(step), duration_s=1.0)
        for p in model.parameters():  # undo the damage so values stay sane; counts are the point
            p.data.clamp_(-1, 1).nan_to_num_(0.0)
    expected = 1e-6 * bits * 400.0
    assert abs(len(injector.events) - expected) < 5 * math.sqrt(expected)


def test_schedule_applies_exactly_n_upsets_over_all_phases(fx) -> None:
    model = fx.make_mlp()
    opt = _adam(model)
    x, y = fx.make_batch()
    schedule = FaultSchedule.spread(300, 20, seed=1)
    injector = FaultInjector(
        ["weights", "grads", "optimizer", "activations", "inputs", "compute"],
        schedule=schedule,
        seed=2,
        bit_mask="mantissa",  # keep training finite; this test counts
    )
    injector.bind(model, opt)
    fx.train_steps(injector, model, opt, x, y, range(20))
    assert injector.scheduled_remaining == 0 and injector.pending == 0
    assert len(injector.events) == 300
    targets = {e.target for e in injector.events}
    assert targets == {"weights", "grads", "optimizer", "activations", "inputs", "compute"}
    per_step = np.bincount([e.step for e in injector.events], minlength=20)
    # Step 0 cannot hit activations (sizes unknown until the first forward) or Adam's state
    # (created by the first optimizer step), so nothing moves except carried upsets.
    assert (
        per_step.sum() == 300
        and (per_step[1:] >= np.asarray(schedule.counts_per_step[1:])).sum() >= 15
    )


def test_schedule_survives_rollback_without_extra_upsets(fx) -> None:
    model = fx.make_mlp()
    opt = _adam(model)
    x, y = fx.make_batch()
    injector = FaultInjector(["weights"], schedule=FaultSchedule.even(10, 10), seed=0)
    injector.bind(model, opt)
    fx.train_steps(injector, model, opt, x, y, range(6))
    fx.train_steps(injector, model, opt, x, y, range(3, 10))  # reset: steps 3..5 run again
    assert len(injector.events) == 10
    skipped = FaultInjector(["weights"], schedule=FaultSchedule.even(10, 10), seed=0)
    skipped.bind(model, opt)
    fx.train_steps(skipped, model, opt, x, y, [0, 9])  # numbers 1..8 skipped: due at step 9
    assert len(skipped.events) == 10 and skipped.scheduled_remaining == 0


def test_stuck_bits_persist_across_optimizer_steps(fx) -> None:
    model = fx.make_mlp()
    opt = _adam(model)
    x, y = fx.make_batch()
    injector = FaultInjector(["weights", "optimizer"], seed=0)
    injector.bind(model, opt)
    injector.add_stuck_bit("0.weight", 5, 30, 1)  # exponent MSB stuck at 1: a huge weight
    injector.add_stuck_bit("2.bias", 1, 31, 1)  # sign stuck at 1
    injector.add_stuck_bit("optimizer.state.0.bias.exp_avg", 0, 31, 0)
    with pytest.raises(InputError, match="already stuck at 1"):
        injector.add_stuck_bit("0.weight", 5, 30, 0)
    for step in range(6):
        fx.train_steps(injector, model, opt, x, y, [step])
        w = model[0].weight.detach().reshape(-1)[5:6].view(torch.int32).item()
        b = model[2].bias.detach()[1:2].view(torch.int32).item()
        m = opt.state[model[0].bias]["exp_avg"][0:1].view(torch.int32).item()
        assert w & (1 << 30) and b < 0 and m >= 0
    stuck_events = [e for e in injector.events if e.kind == "stuck"]
    assert {e.tensor for e in stuck_events} >= {"0.weight", "2.bias"}
    assert all(e.changed for e in stuck_events)


def test_random_stuck_bits_are_placed_once_in_state(fx) -> None:
    model = fx.make_mlp()
    opt = _adam(model)
    x, y = fx.make_batch()
    injector = FaultInjector(["weights", "optimizer"], stuck_bits=6, seed=4)
    injector.bind(model, opt)
    fx.train_steps(injector, model, opt, x, y, range(4))
    assert len(injector.stuck) == 6
    for stuck in injector.stuck:
        tensor = _tensor_by_name(model, opt, stuck.tensor)
        word = tensor.detach().reshape(-1)[stuck.flat_index : stuck.flat_index + 1]
        assert (word.view(torch.int32).item() >> stuck.bit) & 1 == stuck.value


def test_device_resets_are_drawn_logged_and_raised(fx) -> None:
    injector = FaultInjector(["weights"], reset_rate_per_s=0.01, seed=6)
    draws = [injector.reset_due(time_s=float(i), duration_s=10.0) for i in range(3000)]
    p = 1 - math.exp(-0.1)
    assert abs(np.mean(draws) - p) < 5 * math.sqrt(p * (1 - p) / 3000)
    resets = [e for e in injector.events if e.kind == "reset"]
    assert len(resets) == sum(draws) and resets[0].tensor == "device" and resets[0].flat_index == -1
    always = FaultInjector(["weights"], reset_rate_per_s=1e3, seed=0)
    with pytest.raises(DeviceReset, match=r"device reset .* at t = 5\.000 s") as info:
        always.raise_if_reset(time_s=5.0, duration_s=1.0)
    assert info.value.event.kind == "reset"
    never = FaultInjector(["weights"], seed=0)
    assert not never.reset_due(time_s=0.0, duration_s=1e9)


def _run_with_snapshot(fx, make_injector, steps: int, snapshot_at: int):
    model = fx.make_mlp()
    opt = _adam(model)
    x, y = fx.make_batch()
    injector = make_injector()
    injector.bind(model, opt)
    fx.train_steps(injector, model, opt, x, y, range(snapshot_at))
    snapshot = (
        copy.deepcopy(model.state_dict()),
        copy.deepcopy(opt.state_dict()),
        copy.deepcopy(injector.state_dict()),
    )
    fx.train_steps(injector, model, opt, x, y, range(snapshot_at, steps))
    return model, injector, snapshot


@pytest.mark.parametrize("mode", ["rates", "schedule"])
def test_state_dict_round_trip_continues_identically(fx, mode: str) -> None:
    targets = ["weights", "grads", "optimizer", "activations", "inputs", "compute"]

    def make() -> FaultInjector:
        if mode == "rates":
            return FaultInjector(
                targets,
                rate_per_bit_s=3e-5,
                seed=12,
                stuck_bits=2,
                bit_mask="mantissa",
                multi_bit_fraction=0.2,
                compute_error_rate_per_element=2e-3,
                reset_rate_per_s=0.05,
            )
        return FaultInjector(
            targets, schedule=FaultSchedule.spread(60, 12, seed=3), seed=12, bit_mask="mantissa"
        )

    model_a, injector_a, (model_state, opt_state, injector_state) = _run_with_snapshot(
        fx, make, 12, 5
    )
    model_b = fx.make_mlp()
    model_b.load_state_dict(model_state)
    opt_b = _adam(model_b)
    opt_b.load_state_dict(opt_state)
    injector_b = make()
    injector_b.bind(model_b, opt_b)
    injector_b.load_state_dict(injector_state)
    x, y = fx.make_batch()
    fx.train_steps(injector_b, model_b, opt_b, x, y, range(5, 12))
    assert len(injector_a.events) > 10
    assert fx.events_key(injector_b.events) == fx.events_key(injector_a.events)
    assert injector_b.stuck == injector_a.stuck
    for a, b in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(a.view(torch.int32), b.view(torch.int32))
    assert injector_a.state_dict()["rng"] == injector_b.state_dict()["rng"]


def test_load_state_dict_rejects_foreign_state() -> None:
    injector = FaultInjector(["weights"], seed=0)
    with pytest.raises(InputError, match=r"Expected `state\['version'\]` to be 1"):
        injector.load_state_dict({"version": 99})
    state = injector.state_dict()
    del state["rng"]
    with pytest.raises(InputError, match="Expected `state` to be a FaultInjector state"):
        injector.load_state_dict(state)


def test_same_seed_same_events_different_seed_different(fx) -> None:
    def run(seed: int):
        model = fx.make_mlp()
        opt = _adam(model)
        x, y = fx.make_batch()
        injector = FaultInjector(
            ["weights", "optimizer", "grads"], rate_per_bit_s=1e-5, seed=seed, bit_mask="mantissa"
        )
        injector.bind(model, opt)
        fx.train_steps(injector, model, opt, x, y, range(8))
        return fx.events_key(injector.events)

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_phases_that_need_a_model_say_so() -> None:
    injector = FaultInjector(["weights"], seed=0)
    with pytest.raises(InjectorNotBoundError, match=r"after_step needs a model: call bind"):
        injector.after_step(step=0, time_s=0.0, duration_s=1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"targets": ["weights", "moments"]}, "Expected `targets` to be names from weights"),
        (
            {"rate_per_bit_s": -1.0},
            "Expected `rate_per_bit_s` to be a finite number >= 0, actual: -1.0",
        ),
        (
            {"rate_per_bit_s": math.inf},
            "Expected `rate_per_bit_s` to be a finite number >= 0, actual: inf",
        ),
        (
            {"multi_bit_fraction": 1.5},
            "Expected `multi_bit_fraction` to be a number in [0, 1], actual: 1.5",
        ),
        ({"reset_rate_per_s": -0.1}, "Expected `reset_rate_per_s` to be a finite number >= 0"),
        ({"stuck_bits": -2}, "Expected `stuck_bits` to be an integer >= 0, actual: -2"),
        (
            {"targets": ["grads"], "stuck_bits": 1},
            "Expected `stuck_bits` to be 0 unless targets include weights, optimizer or buffers",
        ),
        ({"bit_mask": "high"}, "Expected `bit_mask` to be one of all, sign, exponent, mantissa"),
        ({"seed": "abc"}, "Expected `seed` to be an integer >= 0, a numpy Generator or None"),
        ({"schedule": [1, 2]}, "Expected `schedule` to be a FaultSchedule or None"),
    ],
)
def test_constructor_validates_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError) as info:
        FaultInjector(**kwargs)
    assert str(info.value).startswith(message)


def test_step_arguments_are_validated(fx) -> None:
    model = fx.make_mlp()
    injector = FaultInjector(["weights"], seed=0)
    injector.bind(model, None)
    with pytest.raises(InputError, match="Expected `step` to be an integer >= 0, actual: -1"):
        injector.after_step(step=-1, time_s=0.0, duration_s=1.0)
    with pytest.raises(InputError, match="Expected `duration_s` to be a finite number >= 0"):
        injector.after_step(step=0, time_s=0.0, duration_s=-1.0)
    with pytest.raises(InputError, match="Expected `time_s` to be a finite number of seconds"):
        injector.after_backward(step=0, time_s=math.nan, duration_s=1.0)


def test_upsets_follow_optimizer_state_replaced_by_a_checkpoint_load(fx) -> None:
    model = fx.make_mlp()
    opt = _adam(model)
    x, y = fx.make_batch()
    injector = FaultInjector(["optimizer"], rate_per_bit_s=1e-3, seed=1, bit_mask="sign")
    injector.bind(model, opt)
    fx.train_steps(injector, model, opt, x, y, range(2))
    opt.load_state_dict(copy.deepcopy(opt.state_dict()))  # new state tensor objects
    fresh = {t.name: t.tensor for t in collect_targets(model, opt, ["optimizer"])}
    before = {name: t.clone() for name, t in fresh.items()}
    events = injector.after_step(step=2, time_s=3.0, duration_s=10.0)
    assert events
    changed = {name for name, t in fresh.items() if not torch.equal(t, before[name])}
    assert changed == {e.tensor for e in events}  # the live tensors were hit, not stale ones


def test_state_dict_is_plain_data_loadable_with_weights_only(fx, tmp_path) -> None:
    model = fx.make_mlp()
    opt = _adam(model)
    x, y = fx.make_batch()
    injector = FaultInjector(
        ["weights", "optimizer"], rate_per_bit_s=1e-4, stuck_bits=2, reset_rate_per_s=1.0, seed=5
    )
    injector.bind(model, opt)
    fx.train_steps(injector, model, opt, x, y, range(3))
    injector.reset_due(time_s=3.0, duration_s=5.0)  # a reset event carries NaN values
    path = tmp_path / "injector.pt"
    torch.save(injector.state_dict(), path)
    loaded = torch.load(path, weights_only=True)
    twin = FaultInjector(
        ["weights", "optimizer"], rate_per_bit_s=1e-4, stuck_bits=2, reset_rate_per_s=1.0, seed=0
    )
    twin.load_state_dict(loaded)
    assert fx.events_key(twin.events) == fx.events_key(injector.events)
    assert twin.state_dict()["rng"] == injector.state_dict()["rng"]
    assert [twin.reset_due(time_s=9.0, duration_s=1.0) for _ in range(20)] == [
        injector.reset_due(time_s=9.0, duration_s=1.0) for _ in range(20)
    ]
