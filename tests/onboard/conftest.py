"""Small real training setups for the onboard trainer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn

from orbitlearn.onboard import ResumableBatches


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Tiny models run faster on one thread (and do not fight other test workers for cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def dataset(n: int = 256, n_in: int = 10, n_out: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, n_in, generator=gen)
    return x, (x @ torch.randn(n_in, n_out, generator=gen)).argmax(dim=1)


def make_model(seed: int = 1, dropout: float = 0.1) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(10, 24), nn.ReLU(), nn.Dropout(dropout), nn.Linear(24, 3))


def batches(batch_size: int = 32, seed: int = 0) -> ResumableBatches:
    x, y = dataset()
    return ResumableBatches(x, y, batch_size=batch_size, seed=seed)
