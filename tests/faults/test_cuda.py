"""The same bit-level and protocol checks on a CUDA device (skipped where there is none)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from orbitlearn.faults import FaultInjector, FaultSchedule, bit_width, flip_bits
from orbitlearn.faults.bitflip import int_view_dtype

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int8, torch.uint8]
)
def test_cuda_flips_equal_cpu_flips(dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(0)
    base = (torch.randn(64, 33, generator=gen) * 10).to(dtype)
    rng = np.random.default_rng(1)
    index = rng.integers(0, base.numel(), size=500)
    bits = rng.integers(0, bit_width(dtype) - 1, size=500)
    widths = rng.integers(1, 3, size=500)
    cpu = base.clone()
    gpu = base.clone().cuda()
    cpu_result = flip_bits(cpu, index, bits, n_bits=widths)
    gpu_result = flip_bits(gpu, index, bits, n_bits=widths)
    view = int_view_dtype(dtype)
    assert torch.equal(gpu.cpu().view(view), cpu.view(view))
    np.testing.assert_array_equal(gpu_result.old_values, cpu_result.old_values)
    np.testing.assert_array_equal(gpu_result.new_values, cpu_result.new_values)


def test_cuda_non_contiguous_view() -> None:
    base = torch.arange(600, dtype=torch.float32).reshape(20, 30)
    gpu_base = base.cuda()
    flip_bits(base.t()[::2], [0, 5, 77], [31, 30, 22])
    flip_bits(gpu_base.t()[::2], [0, 5, 77], [31, 30, 22])
    assert torch.equal(gpu_base.cpu().view(torch.int32), base.view(torch.int32))


def test_cuda_training_protocol_with_every_target() -> None:
    torch.manual_seed(0)
    device = torch.device("cuda")
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 3)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(64, 3, 4, generator=gen).to(device)
    y = torch.randint(0, 3, (64,), generator=gen).to(device)
    x_bits = x.view(torch.int32).clone()
    injector = FaultInjector(
        ["weights", "grads", "optimizer", "activations", "inputs", "compute"],
        schedule=FaultSchedule.spread(400, 30, seed=2),
        bit_mask="mantissa",
        stuck_bits=4,
        seed=3,
    )
    injector.bind(model, opt)
    for step in range(30):
        xb = injector.corrupt_batch(x, step=step, time_s=float(step), duration_s=1.0)
        assert xb.device.type == "cuda"
        loss = nn.functional.cross_entropy(model(xb), y)
        opt.zero_grad()
        loss.backward()
        injector.after_backward(step=step, time_s=step + 0.5, duration_s=0.5)
        opt.step()
        injector.after_step(step=step, time_s=step + 1.0, duration_s=1.0)
        assert torch.isfinite(loss)
    assert torch.equal(x.view(torch.int32), x_bits)
    upsets = [e for e in injector.events if e.kind != "stuck"]
    assert len(upsets) == 400 and injector.scheduled_remaining == 0
    assert {e.target for e in upsets} == {
        "weights",
        "grads",
        "optimizer",
        "activations",
        "inputs",
        "compute",
    }
    for stuck in injector.stuck:
        named = dict(model.named_parameters())
        if stuck.tensor in named:
            word = named[stuck.tensor].detach().reshape(-1)[stuck.flat_index]
            assert (int(word.view(torch.int32).item()) >> stuck.bit) & 1 == stuck.value
