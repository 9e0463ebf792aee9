"""Small real training setups that the fault tests drive through the injector protocol."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from orbitlearn.faults import FaultEvent, FaultInjector


def make_mlp(seed: int = 0, n_in: int = 8, hidden: int = 16, n_out: int = 3) -> nn.Module:
    torch.manual_seed(seed)  # model init only; the injector never uses torch's global RNG
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


def make_batch(seed: int = 0, n: int = 32, n_in: int = 8, n_out: int = 3):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, n_in, generator=gen), torch.randint(0, n_out, (n,), generator=gen)


def train_steps(
    injector: FaultInjector,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: range,
    *,
    step_s: float = 1.0,
) -> list[float]:
    """Run the trainer protocol for the given step numbers; return the losses."""
    losses = []
    for step in steps:
        t = step * step_s
        xb = injector.corrupt_batch(x, step=step, time_s=t, duration_s=step_s)
        loss = nn.functional.cross_entropy(model(xb), y)
        optimizer.zero_grad()
        loss.backward()
        injector.after_backward(step=step, time_s=t + 0.5 * step_s, duration_s=0.5 * step_s)
        optimizer.step()
        injector.after_step(step=step, time_s=t + step_s, duration_s=step_s)
        losses.append(float(loss.detach()))
    return losses


def events_key(events: list[FaultEvent]) -> list[tuple]:
    """Events as comparable tuples (NaN-safe through repr)."""
    return [tuple(repr(v) for v in e.to_dict().values()) for e in events]


@pytest.fixture
def fx() -> SimpleNamespace:
    """The helpers above, for test modules (conftest is not importable under importlib mode)."""
    return SimpleNamespace(
        make_mlp=make_mlp, make_batch=make_batch, train_steps=train_steps, events_key=events_key
    )


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """These models are tiny: one intra-op thread is fastest, and CI runs 2 workers on 2 cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
