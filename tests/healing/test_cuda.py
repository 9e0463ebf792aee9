"""Healing checks on a CUDA device (skipped where there is none)."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from orbitlearn.healing import Healing

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_standard_healing_judges_cuda_steps_like_cpu_ones() -> None:
    torch.manual_seed(0)
    model = nn.Linear(8, 3).to("cuda")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    healing = Healing("standard").bind(model, opt)
    x = torch.randn(16, 8, device="cuda")
    y = torch.randint(0, 3, (16,), device="cuda")
    reference = copy.deepcopy(model).cpu()
    expected_loss = nn.functional.cross_entropy(reference(x.cpu()), y.cpu())
    expected_loss.backward()
    expected_norm = math.sqrt(sum(float(p.grad.norm()) ** 2 for p in reference.parameters()))
    upset = {"on": False}

    def compute() -> torch.Tensor:
        out = model(x)
        if upset["on"]:
            upset["on"] = False  # transient: gone on recompute
            out = out * float("nan")
        loss = nn.functional.cross_entropy(out, y)
        loss.backward()
        return loss

    outcome = healing.step(compute)
    # the loss and gradient norm read back from the device (together) are the CPU's
    assert outcome.loss == pytest.approx(float(expected_loss.detach()), rel=1e-5)
    assert outcome.grad_norm == pytest.approx(expected_norm, rel=1e-5)
    assert not outcome.detections
    upset["on"] = True
    outcome = healing.step(compute)
    assert [d.detector for d in outcome.detections][:1] == ["loss_nonfinite"]
    assert outcome.applied and outcome.executions == 2 and math.isfinite(outcome.loss)
    assert all(torch.isfinite(p).all() for p in model.parameters())
