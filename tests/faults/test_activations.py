"""Activation, compute and input faults: out of place, autograd-safe, caller's tensors untouched."""

from __future__ import annotations

import torch
from torch import nn

from orbitlearn.faults import FaultInjector, FaultSchedule


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().contiguous().view(torch.int32).clone()


class _ViewModel(nn.Module):
    """Starts with modules that return their input (Identity) or a view of it (Flatten), then
    an in-place ReLU: the cases where corrupting in place would reach the caller's batch."""

    def __init__(self) -> None:
        super().__init__()
        self.identity = nn.Identity()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(12, 16)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.relu(self.fc1(self.flatten(self.identity(x)))))


def test_training_with_activation_faults_leaves_callers_tensors_bit_identical() -> None:
    torch.manual_seed(0)
    model = _ViewModel()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(1)
    caller_batch = torch.randn(16, 3, 4, generator=gen)
    caller_view = caller_batch[:, 1]  # a view the caller keeps
    labels = torch.randint(0, 3, (16,), generator=gen)
    batch_bits, view_bits = _bits(caller_batch), _bits(caller_view)
    injector = FaultInjector(
        ["activations", "inputs", "compute"],
        schedule=FaultSchedule((0, 40, 40, 40)),
        seed=5,
        bit_mask="mantissa",
    )
    injector.bind(model, opt)
    for step in range(4):
        xb = injector.corrupt_batch(caller_batch, step=step, time_s=float(step))
        loss = nn.functional.cross_entropy(model(xb), labels)
        opt.zero_grad()
        loss.backward()
        injector.after_backward(step=step, time_s=step + 0.5, duration_s=0.5)
        opt.step()
        injector.after_step(step=step, time_s=step + 1.0, duration_s=1.0)
        assert torch.isfinite(loss)
        assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert torch.equal(_bits(caller_batch), batch_bits)
    assert torch.equal(_bits(caller_view), view_bits)
    names = {e.tensor for e in injector.events}
    assert "activation:identity" in names and "activation:flatten" in names
    assert {"input", "compute:fc1", "compute:fc2"} <= names
    assert not any(n.startswith("compute:relu") for n in names)  # no parameters: no compute hook
    assert injector.pending == 0 and len(injector.events) == 120


def test_upset_acts_as_a_constant_offset_for_autograd() -> None:
    """Gradients through a corrupted activation equal those of output + (new - old)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
    reference = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
    reference.load_state_dict(model.state_dict())
    x = torch.randn(5, 6, generator=torch.Generator().manual_seed(2))
    injector = FaultInjector(
        ["activations"],
        schedule=FaultSchedule((0, 1)),
        activation_modules=["1"],
        seed=0,
        bit_mask="mantissa",
    )
    injector.bind(model, None)
    injector.corrupt_batch(x, step=0, time_s=0.0)
    model(x)  # census of the hooked output sizes
    injector.corrupt_batch(x, step=1, time_s=1.0)
    model(x).square().sum().backward()
    (event,) = injector.events
    assert event.tensor == "activation:1" and event.step == 1
    offset = torch.zeros(5, 8)
    offset.view(-1)[event.flat_index] = event.new_value - event.old_value
    hidden = reference[1](reference[0](x)) + offset
    reference[2](hidden).square().sum().backward()
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-6)


def test_gradients_stay_finite_and_exact_where_no_fault_landed() -> None:
    """Exponent-bit compute errors in some rows of the output leave the other rows' gradients
    exactly as in the fault-free pass (and finite), even when the hit values are inf/huge."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(4))
    injector = FaultInjector(
        ["compute"],
        schedule=FaultSchedule((0, 3)),
        activation_modules=["2"],
        bit_mask="exponent",
        seed=1,
    )
    injector.bind(model, None)
    injector.corrupt_batch(x, step=0, time_s=0.0)
    model(x)  # step 0: census only
    injector.corrupt_batch(x, step=1, time_s=1.0)
    out = model(x)
    assert len(injector.events) == 3
    hit_rows = {e.flat_index // 2 for e in injector.events}
    keep = [r for r in range(6) if r not in hit_rows]
    assert keep, "the seed should leave some rows clean"
    faulty_grads = torch.autograd.grad(out[keep].sum(), list(model.parameters()))
    injector.unbind()
    clean_grads = torch.autograd.grad(model(x)[keep].sum(), list(model.parameters()))
    for faulty, clean in zip(faulty_grads, clean_grads, strict=True):
        assert torch.isfinite(faulty).all()
        torch.testing.assert_close(faulty, clean, rtol=0, atol=0)


def test_eval_mode_is_not_hit_unless_asked() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    x = torch.randn(8, 4)
    injector = FaultInjector(["activations"], rate_per_bit_s=1.0, seed=0)
    injector.bind(model, None)
    injector.corrupt_batch(x, step=0, time_s=0.0, duration_s=1.0)
    model.eval()
    with torch.no_grad():
        clean = model(x)
    assert injector.events == [] and torch.equal(clean, model[1](model[0](x)))
    model.train()
    model(x)
    assert len(injector.events) > 0
    in_eval = FaultInjector(["activations"], rate_per_bit_s=1.0, seed=0, activations_in_eval=True)
    in_eval.bind(model.eval(), None)
    in_eval.corrupt_batch(x, step=0, time_s=0.0, duration_s=1.0)
    with torch.no_grad():
        model(x)
    assert len(in_eval.events) > 0


def test_corrupt_batch_copies_and_never_mutates_its_input() -> None:
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(8, 10, generator=gen)
    batch = base.t()  # non-contiguous caller tensor
    leaf = torch.randn(4, 3, generator=gen, requires_grad=True)
    before, leaf_before = _bits(base), _bits(leaf)
    injector = FaultInjector(
        ["inputs"], rate_per_bit_s=1e-2, seed=1
    )  # ~ 80 elements x 32 bits x 1 s
    out = injector.corrupt_batch(batch, step=0, time_s=0.0, duration_s=1.0)
    assert out is not batch and out.shape == batch.shape
    assert torch.equal(_bits(base), before)
    n_changed = int((_bits(out) != _bits(batch)).sum())
    assert n_changed == len({e.flat_index for e in injector.events}) > 0
    for event in injector.events:
        assert event.target == "inputs" and event.tensor == "input"
    out_leaf = injector.corrupt_batch(leaf, step=1, time_s=1.0, duration_s=1.0)
    assert torch.equal(_bits(leaf), leaf_before)
    if out_leaf is not leaf:
        out_leaf.sum().backward()  # the copy stays in the graph of the caller's leaf
        assert torch.equal(leaf.grad, torch.ones_like(leaf))
    quiet = FaultInjector(["inputs"], rate_per_bit_s=0.0, seed=1)
    assert quiet.corrupt_batch(batch, step=0, time_s=0.0, duration_s=1.0) is batch


def test_rebinding_replaces_hooks_and_unbind_removes_them() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    injector = FaultInjector(["activations", "compute"], seed=0)
    injector.bind(model, None)
    injector.bind(model, None)
    assert len(model[0]._forward_hooks) == 1 and len(model[1]._forward_hooks) == 1
    injector.unbind()
    assert not model[0]._forward_hooks and not model[1]._forward_hooks
