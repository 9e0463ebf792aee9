"""Healing policies catch what they claim and repair it bit for bit (real training, real injector)."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from orbitlearn.errors import InputError
from orbitlearn.faults import FaultEvent, FaultInjector, FaultSchedule
from orbitlearn.healing import (
    POLICIES,
    Healing,
    HealingPolicy,
    StateSnapshot,
    int_view,
    resolve_policy,
)
from orbitlearn.healing import policies as policies_module

from .conftest import Run, same_bits

STEPS = 120


def _net_changed(events: list[FaultEvent]) -> set[tuple[int, str]]:
    """(step, tensor) pairs whose flips did not cancel out within the step.

    The same bit of the same element flipped an even number of times in one step leaves the
    original bits: nothing can (or needs to) be detected.
    """
    parity: Counter[tuple[int, str, int, int]] = Counter()
    for e in events:
        for bit in range(e.bit, e.bit + e.n_bits):
            parity[(e.step, e.tensor, e.flat_index, bit)] += 1
    return {(s, t) for (s, t, _, _), n in parity.items() if n % 2}


def _uncaught_state_events(run: Run) -> list[FaultEvent]:
    """Injected state/gradient events whose block was never flagged in their step (silent)."""
    flagged = {(d.step, d.target) for d in run.detections()}
    assert run.injector is not None
    changed = _net_changed(run.injector.events)
    return [
        e
        for e in run.injector.events
        if (e.step, e.tensor) in changed and (e.step, e.tensor) not in flagged
    ]


def test_none_is_wrecked_by_exponent_flips(fault_free_mlp: Run) -> None:
    injector = FaultInjector(
        ["weights", "optimizer"],
        schedule=FaultSchedule.spread(300, STEPS, seed=2),
        bit_mask="exponent",
        seed=3,
    )
    run = Run("none", injector).train(STEPS)
    assert len(injector.events) == 300
    assert run.healing.report.detected == 0
    losses = [o.loss for o in run.outcomes]
    assert not all(math.isfinite(v) for v in losses) or max(losses) > 1e3
    assert run.accuracy() < fault_free_mlp.accuracy() - 0.2


@pytest.mark.parametrize("bit_mask", ["exponent", None])
def test_full_detects_and_repairs_every_state_flip_bit_identically(
    fault_free_mlp: Run, bit_mask: str | None
) -> None:
    injector = FaultInjector(
        ["weights", "optimizer"],
        schedule=FaultSchedule.spread(3000, STEPS, seed=4),
        bit_mask=bit_mask,
        seed=5,
    )
    run = Run("full", injector).train(STEPS)
    assert len(injector.events) == 3000
    assert _uncaught_state_events(run) == []  # silent: 0
    report = run.healing.report
    assert report.unrepaired == 0 and report.detected == report.corrected > 0
    assert report.by_detector["state_copy"] == report.detected
    # restored before every use: training is bit-identical to the fault-free run
    assert same_bits(run.model, fault_free_mlp.model)


def test_full_repairs_gradient_flips_bit_identically(fault_free_mlp: Run) -> None:
    injector = FaultInjector(["grads"], schedule=FaultSchedule.spread(500, STEPS, seed=6), seed=7)
    run = Run("full", injector).train(STEPS)
    assert len(injector.events) == 500
    assert _uncaught_state_events(run) == []
    assert run.healing.report.by_detector["grad_copy"] > 0
    assert same_bits(run.model, fault_free_mlp.model)


def test_full_catches_activation_and_input_exponent_flips(fault_free_mlp: Run) -> None:
    counts = [0] * 20 + [2] * (STEPS - 20)  # after the range guard's warm-up
    injector = FaultInjector(
        ["activations", "inputs"], schedule=FaultSchedule(tuple(counts)), bit_mask=[30], seed=8
    )
    run = Run("full", injector).train(STEPS)
    flagged = {(d.step, d.target) for d in run.detections() if d.detector == "activation_range"}
    # every flip that made a value huge (|x| < 2 with bit 30 set is >= 2**128 |x|) is caught
    changed = _net_changed(injector.events)
    huge = [
        e for e in injector.events if not (abs(e.new_value) < 1e6) and (e.step, e.tensor) in changed
    ]
    assert len(huge) > 50
    missed = [e for e in huge if (e.step, e.tensor) not in flagged]
    assert missed == []
    assert run.healing.report.by_repair["recompute"] > 0
    # flips the guard cannot see (0.0 -> 2.0) barely move training
    assert abs(run.accuracy() - fault_free_mlp.accuracy()) <= 0.02


def test_tmr_votes_out_every_fault(fault_free_mlp: Run) -> None:
    injector = FaultInjector(
        ["weights", "optimizer", "grads", "activations", "inputs"],
        schedule=FaultSchedule.spread(600, STEPS, seed=9),
        seed=10,
    )
    run = Run("tmr", injector).train(STEPS)
    assert run.healing.report.by_detector["redundancy_vote"] > 0
    assert run.healing.report.executions == 3 * STEPS
    assert same_bits(run.model, fault_free_mlp.model)


def test_dmr_runs_a_third_execution_on_gradient_mismatch(fault_free_mlp: Run) -> None:
    injector = FaultInjector(["grads"], schedule=FaultSchedule.even(40, STEPS), seed=11)
    run = Run("dmr", injector).train(STEPS)
    report = run.healing.report
    assert report.by_detector["redundancy_vote"] >= 30
    assert 2 * STEPS < report.executions <= 2 * STEPS + 40
    assert same_bits(run.model, fault_free_mlp.model)


def _nan_gradient_once(at_step: int):  # type: ignore[no-untyped-def]
    fired = {"done": False}

    def hook(step: int, run: Run) -> None:
        if step == at_step and not fired["done"]:
            fired["done"] = True
            grad = next(run.model.parameters()).grad
            assert grad is not None
            grad.view(-1)[3] = float("nan")

    return hook


@pytest.mark.parametrize("kind", ["mlp", "bn_dropout"])
def test_standard_recomputes_a_transient_fault_bit_identically(kind: str) -> None:
    clean = Run("none", kind=kind).train(40)
    run = Run("standard", kind=kind, after_backward=_nan_gradient_once(25)).train(40)
    outcome = run.outcomes[25]
    assert [(d.detector, d.resolution) for d in outcome.detections] == [
        ("grad_nonfinite", "corrected")
    ]
    assert [r.action for r in outcome.repairs] == ["recompute"]
    assert outcome.executions == 2
    # the re-execution restored the RNG (dropout) and buffers (BatchNorm): nothing drifted
    assert same_bits(run.model, clean.model)


def test_standard_accepts_a_reproducible_outlier() -> None:
    run = Run("standard")
    run.train(30)
    x, y = run.batch(30)
    # a true outlier batch: the loss spikes (~190x its running median, far beyond the
    # spread of a still-falling loss), and does so again when re-run
    x_far = x * 1000.0

    def compute() -> torch.Tensor:
        loss = torch.nn.functional.cross_entropy(run.model(x_far), y)
        loss.backward()
        return loss

    before = [p.detach().clone() for p in run.model.parameters()]
    outcome = run.healing.step(compute, step=30)
    assert {d.detector for d in outcome.detections} >= {"loss_spike"}
    assert all(d.resolution == "false_alarm" for d in outcome.detections)
    assert [r.action for r in outcome.repairs] == ["recompute", "accept_outlier"]
    assert outcome.applied and not all(
        torch.equal(a, b) for a, b in zip(before, run.model.parameters(), strict=True)
    )
    assert run.healing.report.false_alarms >= 1 and run.healing.report.detected == 0


def test_standard_rolls_back_corrupted_state_to_its_snapshot() -> None:
    def poison(step: int, run: Run) -> None:
        if step == 33:
            with torch.no_grad():
                next(run.model.parameters()).view(-1)[0] = float("nan")

    run = Run("standard", after_update=poison).train(60)
    report = run.healing.report
    assert report.rollbacks >= 1
    rolled = [o for o in run.outcomes if o.rolled_back]
    assert rolled and rolled[0].step in (33, 34)
    assert all(torch.isfinite(p).all() for p in run.model.parameters())
    assert all(math.isfinite(o.loss) for o in run.outcomes[rolled[0].step + 1 :])


def test_detect_logs_but_does_not_repair() -> None:
    def poison(step: int, run: Run) -> None:
        if step == 12:
            with torch.no_grad():
                next(run.model.parameters()).view(-1)[0] = float("inf")

    run = Run("detect", after_update=poison).train(20)
    report = run.healing.report
    assert report.detected > 0 and report.corrected == 0 and report.unrepaired == report.detected
    assert report.rollbacks == 0 and report.executions == 20
    assert not all(torch.isfinite(p).all() for p in run.model.parameters())


def test_none_does_nothing_at_all() -> None:
    def poison(step: int, run: Run) -> None:
        if step == 5:
            with torch.no_grad():
                next(run.model.parameters()).view(-1)[0] = float("nan")

    run = Run("none", after_update=poison).train(10)
    assert run.detections() == [] and run.healing.report.executions == 10


def test_full_repairs_stuck_bits_every_step(fault_free_mlp: Run) -> None:
    injector = FaultInjector(["weights", "optimizer"], stuck_bits=4, seed=12)
    run = Run("full", injector).train(STEPS)
    assert len(injector.stuck) == 4
    stuck_events = [e for e in injector.events if e.kind == "stuck"]
    assert len(stuck_events) > STEPS  # re-applied after (almost) every step ...
    assert _uncaught_state_events(run) == []  # ... and repaired every time
    assert same_bits(run.model, fault_free_mlp.model)


def test_scrub_repairs_before_a_checkpoint() -> None:
    run = Run("full").train(15)
    weight = next(run.model.parameters())
    expected = weight.detach().clone()
    int_view(weight)[2] ^= 1 << 30
    outcome = run.healing.scrub(step=15)
    assert [(d.detector, d.target) for d in outcome.detections] == [("state_copy", "0.weight")]
    assert torch.equal(weight.detach(), expected)


def test_healing_state_round_trip() -> None:
    run = Run("full").train(30)
    state = run.healing.state_dict()
    fresh = Run("full")
    fresh.healing.load_state_dict(state)
    assert fresh.healing.state_dict() == state
    assert fresh.healing.guard is not None and fresh.healing.guard.active
    with pytest.raises(InputError, match="Expected `healing state policy` to be 'standard'"):
        Run("standard").healing.load_state_dict(state)


# ---------------------------------------------------------------------------- policies table
def test_policies_table_documents_every_policy() -> None:
    assert list(POLICIES) == ["none", "detect", "standard", "full", "dmr", "tmr"]
    doc = policies_module.__doc__ or ""
    for name in POLICIES:
        assert f"``{name}``" in doc
    assert not POLICIES["none"].active
    assert POLICIES["detect"].repair is False
    full = POLICIES["full"]
    assert full.protect_state and full.protect_grads and full.activation_guard
    assert (POLICIES["tmr"].executions, POLICIES["tmr"].state_replicas) == (3, 2)


@pytest.mark.parametrize(
    ("policy", "overrides", "message"),
    [
        (
            "paranoid",
            {},
            "Expected `healing` to be one of 'none', 'detect', 'standard', 'full', 'dmr', 'tmr', "
            "actual: 'paranoid'",
        ),
        ("full", {"executions": 4}, "Expected `executions` to be 1, 2 (DMR) or 3 (TMR), actual: 4"),
        (
            "standard",
            {"scan_every_steps": -1},
            "Expected `scan_every_steps` to be an integer >= 0 (0: never), actual: -1",
        ),
        ("standard", {"colour": 1}, "Expected `healing option` to be one of"),
        (
            "standard",
            {"max_executions": 1, "executions": 2},
            "Expected `max_executions` to be an integer >= executions (2), actual: 1",
        ),
    ],
)
def test_policy_errors(policy: str, overrides: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as caught:
        resolve_policy(policy, overrides)
    assert str(caught.value).startswith(message)


def test_custom_policy_object_and_overrides() -> None:
    custom = HealingPolicy("mine", spikes=False, scan_every_steps=5)
    assert Healing(custom).policy is custom
    assert Healing("standard", snapshot_every_steps=7).policy.snapshot_every_steps == 7


def test_step_needs_bind_and_a_loss() -> None:
    healing = Healing("standard")
    with pytest.raises(RuntimeError, match="bind"):
        healing.step(lambda: torch.tensor(0.0))
    model = torch.nn.Linear(2, 1)
    healing.bind(model, torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(
        InputError, match="Expected `compute\\(\\)` to be a function returning the loss"
    ):
        healing.step(lambda: 1.0)  # type: ignore[arg-type,return-value]


def test_full_protects_a_frozen_backbone_copied_once() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    model[0].requires_grad_(False)
    opt = torch.optim.Adam(model[2].parameters(), lr=1e-2)  # fine-tune the head only
    healing = Healing("full").bind(model, opt)
    x, y = torch.randn(16, 6), torch.randint(0, 2, (16,))

    def compute() -> torch.Tensor:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    frozen = model[0].weight
    expected = frozen.detach().clone()

    def upset() -> None:
        int_view(frozen)[5] ^= 1 << 30

    for _ in range(3):
        healing.step(compute)
    assert healing._dynamic is not None and len(healing._dynamic) < len(healing._blocks)
    outcome = healing.step(compute, after_update=upset)
    assert [(d.detector, d.target) for d in outcome.detections] == [("state_copy", "0.weight")]
    assert torch.equal(frozen.detach(), expected)


def _flip_weight_after(step_at: int, bit: int):  # type: ignore[no-untyped-def]
    def hook(step: int, run: Run) -> None:
        if step == step_at:
            int_view(run.model[2].weight)[11] ^= 1 << bit

    return hook


def test_dmr_breaks_a_state_tie_when_one_copy_is_out_of_range(fault_free_mlp: Run) -> None:
    run = Run("dmr", after_update=_flip_weight_after(70, 30)).train(STEPS)  # |w| < 2 -> ~1e38
    outcome = run.outcomes[70]
    assert [(d.detector, d.target, d.resolution, d.elements) for d in outcome.detections] == [
        ("redundancy_vote", "2.weight", "corrected", 1)
    ]
    assert [r.action for r in outcome.repairs] == ["restore_copy"]
    assert run.healing.report.rollbacks == 0  # no lost steps
    assert same_bits(run.model, fault_free_mlp.model)


def test_dmr_rolls_back_a_state_tie_it_cannot_break() -> None:
    run = Run("dmr", after_update=_flip_weight_after(70, 3)).train(75)  # a mantissa bit
    outcome = run.outcomes[70]
    assert [(d.detector, d.target, d.resolution) for d in outcome.detections] == [
        ("redundancy_vote", "2.weight", "corrected")
    ]
    assert [(r.action, r.target) for r in outcome.repairs] == [("rollback", "snapshot@49")]
    assert run.healing.report.rollbacks == 1


def test_snapshot_capture_reuses_the_older_snapshot_in_place() -> None:
    run = Run("standard").train(5)
    first = StateSnapshot.capture(run.model, run.opt, step=4)
    saved = first._tensors["0.weight"]
    run.train(3)  # the state moves on
    again = StateSnapshot.capture(run.model, run.opt, step=7, reuse=first)
    assert again is first and again.step == 7
    assert again._tensors["0.weight"] is saved  # no new allocation
    assert torch.equal(saved, run.model[0].weight.detach())
    expected = {k: v.clone() for k, v in run.model.state_dict().items()}
    with torch.no_grad():
        run.model[0].weight.fill_(float("nan"))
    assert again.restore(run.model, run.opt) == []
    assert all(torch.equal(v, expected[k]) for k, v in run.model.state_dict().items())
