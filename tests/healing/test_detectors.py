"""Cheap detectors: spikes, state ranges, activation range restriction (autograd-safe)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from orbitlearn.errors import InputError
from orbitlearn.healing import ActivationRangeGuard, SpikeDetector, StateRangeCheck, int_view


def test_spike_detector_warms_up_then_flags_far_outliers() -> None:
    d = SpikeDetector(window=32, warmup=10, threshold_mads=8.0, min_ratio=3.0)
    gen = torch.Generator().manual_seed(0)
    values = (1.0 + 0.1 * torch.randn(40, generator=gen)).tolist()
    for v in values[:9]:
        assert not d.is_spike(100.0)  # warm-up: nothing is judged
        d.update(v)
    d.update(values[9])
    assert d.threshold() is not None
    assert not any(d.is_spike(v) for v in values[10:])
    assert d.is_spike(10.0) and not d.is_spike(float("nan"))
    state = d.state_dict()
    fresh = SpikeDetector(window=32, warmup=10)
    fresh.load_state_dict(state)
    assert fresh.threshold() == d.threshold()
    with pytest.raises(InputError, match="Expected `warmup` to be an integer in \\[1, window=4\\]"):
        SpikeDetector(window=4, warmup=5)


def test_a_prior_guards_the_warm_up_coarsely() -> None:
    d = SpikeDetector(window=32, warmup=10)  # warmup_ratio 1e3 by default
    d.set_prior(0.5)
    assert not d.is_spike(400.0)  # a new round may start far above the last one's median
    assert d.is_spike(501.0)  # an exponent upset moves the value by orders of magnitude
    assert not d.is_spike(float("inf"))  # non-finite values are the finite checks' job
    for v in [1.0] * 10:
        d.update(v)
    assert d.is_spike(20.0)  # warmed up: the window's own statistics take over
    restored = SpikeDetector(window=32, warmup=10)
    restored.load_state_dict(SpikeDetector(window=32, warmup=10).state_dict() | {"prior": 2.0})
    assert restored.is_spike(2001.0) and not restored.is_spike(1999.0)
    for no_prior in (None, 0.0, -1.0):
        d = SpikeDetector(window=32, warmup=10)
        d.set_prior(no_prior)
        assert not d.is_spike(1e30)  # a fresh warm-up without a prior judges nothing yet
    assert SpikeDetector().median() is None
    with pytest.raises(InputError, match="Expected `warmup_ratio` to be a finite number > 1"):
        SpikeDetector(warmup_ratio=1.0)


def test_a_fresh_detector_guards_its_warm_up_by_its_own_first_values() -> None:
    d = SpikeDetector(window=32, warmup=10, self_prime=3)
    for v in [4.0, 2.0]:
        assert not d.is_spike(1e30)  # fewer than self_prime values: no scale yet
        d.update(v)
    assert d.limit() is None
    d.update(3.0)  # median of 4, 2, 3 is 3
    assert d.limit() == 3000.0
    assert not d.is_spike(2999.0) and d.is_spike(3001.0)
    d.set_prior(0.5)  # a prior (an earlier run's median) takes precedence
    assert d.limit() == 500.0
    zeros = SpikeDetector(window=32, warmup=10)
    for _ in range(5):
        zeros.update(0.0)
    assert zeros.limit() is None and not zeros.is_spike(1e30)  # no positive scale
    for bad in (0, 11, 2.5, True):
        with pytest.raises(
            InputError,
            match=rf"Expected `self_prime` to be an integer in \[1, warmup=10\], actual: {bad}",
        ):
            SpikeDetector(window=32, warmup=10, self_prime=bad)  # type: ignore[arg-type]


def test_state_range_check_flags_non_finite_and_exponent_flips() -> None:
    w = torch.randn(100) * 0.1
    m = torch.zeros(10)  # starts at zero: only the floor applies
    check = StateRangeCheck(exponent_slack_binades=10)
    blocks = [("w", w), ("m", m), ("count", torch.tensor(3))]
    assert check.scan(blocks) == []
    w2 = w.clone()
    int_view(w2)[5] ^= 1 << 30  # |w| < 2: the exponent MSB makes it ~1e38
    m2 = m.clone()
    m2[0] = float("nan")
    bad = check.scan([("w", w2), ("m", m2)])
    assert [name for name, _ in bad] == ["w", "m"]
    assert "exceeds its learned range" in bad[0][1] and "non-finite" in bad[1][1]
    # slow legitimate growth is fine
    assert check.scan([("w", w * 4), ("m", m + 0.5)]) == []


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def _learn(guard: ActivationRangeGuard, model: nn.Module, passes: int = 8) -> None:
    gen = torch.Generator().manual_seed(1)
    for _ in range(passes):
        guard.begin_pass()
        model(torch.randn(16, 4, generator=gen))
        guard.commit_clean_pass()


def test_activation_guard_learns_ranges_and_flags_violations() -> None:
    model = _mlp()
    guard = ActivationRangeGuard(warmup_passes=8)
    guard.attach(model)
    assert guard.names == ["input", "activation:0", "activation:1", "activation:2"]
    _learn(guard, model, passes=7)
    assert not guard.active
    _learn(guard, model, passes=1)
    assert guard.active
    guard.begin_pass()
    model(torch.randn(16, 4))
    assert guard.violations() == []
    x = torch.randn(16, 4)
    x[3, 1] = 1e20  # an input exponent upset propagates through every layer
    guard.begin_pass()
    model(x)
    assert {v.layer for v in guard.violations()} == {
        "input",
        "activation:0",
        "activation:1",
        "activation:2",
    }
    x[3, 1] = float("nan")
    guard.begin_pass()
    model(x)
    assert "input" in {v.layer for v in guard.violations()}
    state = guard.state_dict()
    other = ActivationRangeGuard()
    other.attach(_mlp())
    other.load_state_dict(state)
    assert other.bounds == guard.bounds
    guard.detach()


def test_clamp_mode_is_out_of_place_and_autograd_safe() -> None:
    model = _mlp()
    guard = ActivationRangeGuard(mode="clamp", warmup_passes=4)
    guard.attach(model)
    _learn(guard, model, passes=4)
    seen: list[torch.Tensor] = []
    # runs before the guard's hook: sees the module's own output tensor
    model[0].register_forward_hook(lambda m, a, out: seen.append(out), prepend=True)
    x = torch.randn(16, 4)
    x_before = x.clone()
    x[0, 0] = 1e6
    x_before[0, 0] = 1e6
    guard.begin_pass()
    out = model(x)
    out.sum().backward()
    assert torch.equal(x, x_before)  # the caller's input is untouched
    low, high = guard.bounds["activation:2"]
    assert out.max() <= high and out.min() >= low  # the model's output was clamped
    low0, high0 = guard.bounds["activation:0"]
    raw = seen[0]
    assert raw.max() > high0 or raw.min() < low0  # ... into a new tensor: the raw one is intact
    for p in model.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()


@pytest.mark.parametrize("include_eval", [False, True])
def test_guard_leaves_eval_passes_alone_unless_configured(include_eval: bool) -> None:
    model = _mlp()
    guard = ActivationRangeGuard(mode="clamp", warmup_passes=4, include_eval=include_eval)
    guard.attach(model)
    _learn(guard, model, passes=4)
    bounds = guard.bounds
    x = torch.randn(16, 4)
    x[0, 0] = 1e6  # far outside every learned range
    model.eval()
    guard.begin_pass()
    with torch.no_grad():
        out = model(x)
    low, high = bounds["activation:2"]
    clamped = bool(out.max() <= high and out.min() >= low)
    assert clamped is include_eval  # evaluation output is the model's own unless configured
    assert bool(guard.violations()) is include_eval  # ... and is not observed
    model.train()
    guard.begin_pass()
    model(x)
    assert {v.layer for v in guard.violations()} >= {"input", "activation:0"}  # training is


def test_guard_bad_arguments() -> None:
    with pytest.raises(
        InputError, match="Expected `mode` to be one of 'detect', 'clamp', actual: 'fix'"
    ):
        ActivationRangeGuard(mode="fix")
    with pytest.raises(InputError, match="Expected `margin` to be a number >= 0, actual: -1"):
        ActivationRangeGuard(margin=-1)
