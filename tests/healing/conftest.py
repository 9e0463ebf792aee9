"""A small real training task driven step by step through Healing (and the fault injector)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from orbitlearn.faults import FaultInjector
from orbitlearn.healing import Healing, bitwise_equal


def task(n: int = 512, n_in: int = 12, n_out: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, n_in, generator=gen)
    w = torch.randn(n_in, n_out, generator=gen)
    return x, (x @ w).argmax(dim=1)


def make_model(kind: str = "mlp") -> nn.Module:
    torch.manual_seed(1)
    if kind == "mlp":
        return nn.Sequential(
            nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3)
        )
    if kind == "bn_dropout":
        return nn.Sequential(
            nn.Linear(12, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3)
        )
    raise ValueError(kind)


class Run:
    """One training run: model, optimizer, healing, optional injector; steps over fixed batches."""

    def __init__(
        self,
        policy: str,
        injector: FaultInjector | None = None,
        *,
        kind: str = "mlp",
        after_backward: Callable[[int, Run], None] | None = None,
        after_update: Callable[[int, Run], None] | None = None,
        **overrides: Any,
    ) -> None:
        self.model = make_model(kind)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-2)
        self.injector = injector
        if injector is not None:
            injector.bind(self.model, self.opt)
        self.healing = Healing(policy, **overrides).bind(self.model, self.opt)
        self.x, self.y = task()
        self.extra_backward = after_backward
        self.extra_update = after_update
        self.outcomes: list[Any] = []
        self.rng = torch.Generator().manual_seed(5)

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.arange(step * 32, step * 32 + 32) % self.x.shape[0]
        return self.x[index], self.y[index]

    def train(self, steps: int) -> Run:
        torch.manual_seed(7)  # dropout stream, identical for every run
        for step in range(steps):
            self.outcomes.append(self._step(step))
        return self

    def _step(self, step: int) -> Any:
        x, y = self.batch(step)
        injector = self.injector
        t = float(step)

        def compute() -> torch.Tensor:
            xb = injector.corrupt_batch(x, step=step, time_s=t, duration_s=1.0) if injector else x
            loss = nn.functional.cross_entropy(self.model(xb), y)
            loss.backward()
            return loss

        def after_backward() -> None:
            if injector is not None:
                injector.after_backward(step=step, time_s=t, duration_s=1.0)
            if self.extra_backward is not None:
                self.extra_backward(step, self)

        def after_update() -> None:
            if injector is not None:
                injector.after_step(step=step, time_s=t, duration_s=1.0)
            if self.extra_update is not None:
                self.extra_update(step, self)

        return self.healing.step(
            compute, after_backward=after_backward, after_update=after_update, step=step
        )

    def accuracy(self) -> float:
        self.model.eval()
        with torch.no_grad():
            return float((self.model(self.x).argmax(1) == self.y).float().mean())

    def detections(self) -> list[Any]:
        return [d for o in self.outcomes for d in o.detections]


def same_bits(a: nn.Module, b: nn.Module) -> bool:
    """Whether two models hold bit-identical parameters and buffers."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(bitwise_equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def fault_free_mlp(_one_thread: None) -> Run:
    return Run("none").train(120)


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    """Tiny models run faster on one thread (and do not fight other test workers for cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
