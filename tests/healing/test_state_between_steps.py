"""``full`` (and the replica policies) catch state upsets wherever they land: between steps,
between slices, during forward/backward - not only in the ``after_update`` callback."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from orbitlearn.healing import Healing, int_view

from .conftest import Run, same_bits


def _continue(run: Run, start: int, steps: int) -> Run:
    """Train ``steps`` more steps after ``start`` steps (the conftest's ``train`` starts at 0)."""
    for step in range(start, start + steps):
        run.outcomes.append(run._step(step))
    return run


def _flip(tensor: torch.Tensor, index: int, bit: int) -> None:
    int_view(tensor)[index] ^= 1 << bit


@pytest.fixture(scope="module")
def clean_30(_one_thread: None) -> Run:
    return Run("none").train(30)


@pytest.mark.parametrize("bit", [29, 3])
def test_full_catches_a_weight_upset_between_steps(clean_30: Run, bit: int) -> None:
    run = Run("full").train(20)
    _flip(run.model[2].weight, 17, bit)  # radiation between two steps (or two slices)
    _continue(run, 20, 10)
    outcome = run.outcomes[20]
    assert [(d.detector, d.target, d.resolution) for d in outcome.detections] == [
        ("state_copy", "2.weight", "corrected")
    ]
    assert outcome.detections[0].elements == 1
    assert same_bits(run.model, clean_30.model)  # restored bit for bit before it was used


def test_full_catches_an_optimizer_state_upset_between_steps(clean_30: Run) -> None:
    run = Run("full").train(20)
    moment = run.opt.state[run.model[0].weight]["exp_avg_sq"]
    _flip(moment, 5, 30)
    _continue(run, 20, 10)
    outcome = run.outcomes[20]
    assert [(d.detector, d.target) for d in outcome.detections] == [
        ("state_copy", "optimizer.state.0.weight.exp_avg_sq")
    ]
    assert outcome.executions == 1  # the forward did not read it: nothing to recompute
    assert same_bits(run.model, clean_30.model)


def test_full_recomputes_a_step_whose_forward_read_an_upset_weight(clean_30: Run) -> None:
    run = Run("full")
    fired = {"done": False}

    def upset_during_forward(module: torch.nn.Module, args: Any) -> None:
        if len(run.outcomes) == 22 and not fired["done"]:
            fired["done"] = True
            _flip(run.model[0].weight, 40, 24)  # the forward and backward read it

    run.model.register_forward_pre_hook(upset_during_forward)
    run.train(30)
    outcome = run.outcomes[22]
    assert ("state_copy", "0.weight") in [(d.detector, d.target) for d in outcome.detections]
    assert all(d.resolution == "corrected" for d in outcome.detections)
    assert "recompute" in [r.action for r in outcome.repairs]
    assert outcome.executions == 2 and outcome.applied
    assert same_bits(run.model, clean_30.model)


def test_full_catches_a_buffer_upset_between_steps() -> None:
    clean = Run("none", kind="bn_dropout").train(16)
    run = Run("full", kind="bn_dropout").train(10)
    _flip(run.model[1].running_var, 3, 30)
    _continue(run, 10, 6)
    detections = [d for o in run.outcomes[10:] for d in o.detections]
    assert [(d.step, d.detector, d.target) for d in detections] == [
        (10, "state_copy", "1.running_var")
    ]
    assert run.outcomes[10].executions == 1  # caught before the forward read it
    assert same_bits(run.model, clean.model)


def test_full_without_after_update_checks_at_the_next_step() -> None:
    """Without an ``after_update`` callback the post-update compare is skipped (nothing can
    land between the refresh and it); the check before the next update covers the interval."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    healing = Healing("full").bind(model, opt)
    x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))

    def compute() -> torch.Tensor:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    for _ in range(3):
        healing.step(compute)
    expected = model.weight.detach().clone()
    _flip(model.weight, 1, 30)
    assert [d.target for d in healing.scrub().detections] == ["weight"]
    assert torch.equal(model.weight.detach(), expected)
    _flip(model.bias, 0, 30)
    outcome = healing.step(compute)
    # the huge bias also makes a huge loss, which the loss detector's warm-up guard (1000x
    # the median of the three losses so far) flags; both are mended by one recomputation
    assert [(d.detector, d.target) for d in outcome.detections] == [
        ("loss_spike", "loss"),
        ("state_copy", "bias"),
    ]
    assert outcome.executions == 2
    assert outcome.loss < 1.0


@pytest.mark.parametrize("policy", ["tmr", "dmr"])
def test_replica_policies_catch_an_upset_between_steps(clean_30: Run, policy: str) -> None:
    run = Run(policy).train(20)
    _flip(run.model[2].weight, 17, 30)  # to a huge value: DMR can tell which copy is wrong
    _continue(run, 20, 10)
    flagged = [(d.detector, d.target, d.resolution) for d in run.outcomes[20].detections]
    assert flagged == [("redundancy_vote", "2.weight", "corrected")]
    assert run.healing.report.rollbacks == 0
    assert same_bits(run.model, clean_30.model)
