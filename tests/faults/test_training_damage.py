"""Proof that the injector bites: exponent-bit flips in weights wreck real training, while the
same number of mantissa-bit flips is mostly harmless (as He et al., ISCA 2023 report)."""

from __future__ import annotations

import math

import torch
from torch import nn

from orbitlearn.faults import FaultInjector, FaultSchedule

N_STEPS = 150


def _task() -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes separated by a random hyperplane, with a margin; 512 samples, 10 features."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(512, 10, generator=gen)
    w = torch.randn(10, generator=gen)
    score = x @ w
    keep = score.abs() > 0.3
    return x[keep], (score[keep] > 0).long()


def _train(injector: FaultInjector | None) -> tuple[float, list[float]]:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = _task()
    if injector is not None:
        injector.bind(model, opt)
    losses = []
    for step in range(N_STEPS):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if injector is not None:
            injector.after_step(step=step, time_s=float(step), duration_s=1.0)
        losses.append(float(loss.detach()))
    with torch.no_grad():
        accuracy = float((model(x).argmax(dim=1) == y).float().mean())
    return accuracy, losses


def test_exponent_flips_in_weights_damage_training_and_mantissa_flips_do_not() -> None:
    clean_accuracy, clean_losses = _train(None)
    assert clean_accuracy > 0.95 and math.isfinite(clean_losses[-1])

    schedule = FaultSchedule.spread(30, N_STEPS, seed=2)
    exponent = FaultInjector(["weights"], schedule=schedule, bit_mask="exponent", seed=3)
    exp_accuracy, exp_losses = _train(exponent)
    assert len(exponent.events) == 30
    assert any(e.bit == 30 for e in exponent.events)  # the exponent MSB: |w| < 2 becomes ~1e38
    blew_up = not all(math.isfinite(v) for v in exp_losses) or max(exp_losses) > 1e3
    assert blew_up
    assert exp_accuracy < clean_accuracy - 0.2  # down to about chance (or NaN predictions)

    mantissa = FaultInjector(["weights"], schedule=schedule, bit_mask="mantissa", seed=3)
    man_accuracy, man_losses = _train(mantissa)
    assert len(mantissa.events) == 30
    assert all(math.isfinite(v) for v in man_losses)
    assert man_accuracy > clean_accuracy - 0.02
