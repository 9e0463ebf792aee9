"""Fault-injection campaigns: the injector bites, ``full`` heals every upset bit-exactly, the
upset ledger sorts upsets correctly, and a campaign is deterministic for its seed.

Small configurations (digits MLP, 40-80 steps) keep the whole module to a few seconds per
campaign; ``bench/fault_campaign.py`` runs the full-size version of these claims."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from orbitlearn.errors import InputError
from orbitlearn.faults import OUTCOME_CLASSES
from orbitlearn.onboard.campaign import (
    STATUSES,
    CampaignConfig,
    CampaignResult,
    UpsetTally,
    run_campaign,
)
from orbitlearn.onboard.tasks import Task, load_task

DAMAGE = {
    "model": "mlp",
    "targets": "weights,optimizer",
    "bits": "exponent",
    "flips": 20,
    "steps": 80,
    "trials": 2,
    "seed": 0,
}


@pytest.fixture(scope="module")
def digits() -> Task:
    return load_task("digits")


@pytest.fixture(scope="module")
def unprotected(digits: Task) -> CampaignResult:
    return run_campaign(CampaignConfig(policy="none", **DAMAGE), task=digits)


@pytest.fixture(scope="module")
def healed(digits: Task) -> CampaignResult:
    return run_campaign(CampaignConfig(policy="full", **DAMAGE), task=digits)


def _consistent(result: CampaignResult) -> None:
    """Every upset has exactly one status, and the totals add up."""
    for trial in result.trials:
        assert len(trial.statuses) == len(trial.events) == trial.tally.injected
        assert set(trial.statuses) <= set(STATUSES)
        t = trial.tally
        unchanged = t.injected - t.changed
        assert t.injected == unchanged + t.detected + t.masked + t.silent
        assert 0 <= t.corrected <= t.detected
    document = result.as_dict()
    assert sum(document["outcomes"].values()) == len(result.trials)
    assert list(document["outcomes"]) == list(OUTCOME_CLASSES)


def test_exponent_flips_without_healing_damage_training(unprotected: CampaignResult) -> None:
    _consistent(unprotected)
    doc = unprotected.as_dict()
    assert doc["injected"] > 0 and doc["detected"] == 0 and doc["corrected"] == 0
    assert doc["silent"] == doc["changed"] == doc["injected"]  # nothing is caught
    assert doc["outcomes"]["Masked"] < len(unprotected.trials)  # not all harmless
    assert doc["final_metric"] < doc["fault_free_metric"] - 0.10
    assert doc["bit_identical_to_fault_free"] == 0
    assert doc["fault_free_metric"] > 0.9  # the fault-free MLP learns the digits


def test_full_detects_and_repairs_every_upset_bit_exactly(healed: CampaignResult) -> None:
    _consistent(healed)
    doc = healed.as_dict()
    assert doc["injected"] == 2 * DAMAGE["flips"]  # every scheduled upset was applied
    assert doc["silent"] == 0
    assert doc["detected"] == doc["corrected"] == doc["injected"]
    for key in ("weights.exponent", "optimizer.exponent"):
        assert doc["coverage"][key]["corrected"] == doc["coverage"][key]["injected"] > 0
    # repaired bit for bit: every trial ends exactly where the fault-free run ends
    assert doc["bit_identical_to_fault_free"] == len(healed.trials)
    assert doc["nonfinite_state_steps"] == 0
    assert doc["final_metric"] == doc["fault_free_metric"]
    assert doc["outcomes"]["Masked"] == len(healed.trials)
    assert doc["healing"]["by_detector"]["state_copy"] > 0


def test_same_faults_hit_both_policies(unprotected: CampaignResult, healed: CampaignResult) -> None:
    """Same seed, same fault seeds: the two policies face the same first upsets."""
    for bare, protected in zip(unprotected.trials, healed.trials, strict=True):
        assert bare.fault_seed == protected.fault_seed
        first = bare.events[0]
        again = protected.events[0]
        assert (first.step, first.tensor, first.flat_index, first.bit) == (
            again.step,
            again.tensor,
            again.flat_index,
            again.bit,
        )


def test_a_campaign_is_deterministic_for_its_seed(digits: Task, healed: CampaignResult) -> None:
    again = run_campaign(CampaignConfig(policy="full", **{**DAMAGE, "trials": 1}), task=digits)
    first, second = healed.trials[0], again.trials[0]
    assert first.events == second.events
    assert first.statuses == second.statuses
    assert first.final_metric == second.final_metric
    assert healed.fault_free_metric == again.fault_free_metric


def test_activation_upsets_train_forward_and_backward_and_leave_the_data_alone(
    digits: Task,
) -> None:
    before = digits.digest()
    result = run_campaign(
        CampaignConfig(policy="full", targets="activations", flips=40, steps=40, trials=1, seed=3),
        task=digits,
    )
    _consistent(result)
    trial = result.trials[0]
    assert trial.steps_run == 40 and math.isfinite(trial.final_metric)
    assert {e.target for e in trial.events} == {"activations"}
    assert trial.tally.injected == 40
    assert result.inputs_untouched and digits.digest() == before


def test_masked_means_the_step_result_is_bit_identical_to_a_fault_free_step(
    digits: Task,
) -> None:
    """Sign flips of input pixels: a zero pixel becomes -0.0 and changes nothing (masked);
    a non-zero pixel changes the gradient, so the upset is silent under ``none``."""
    result = run_campaign(
        CampaignConfig(policy="none", targets="inputs", bits="31", flips=40, steps=40, trials=1),
        task=digits,
    )
    trial = result.trials[0]
    per_step = Counter(e.step for e in trial.events)
    alone = [
        (e.old_value == 0.0, status)
        for e, status in zip(trial.events, trial.statuses, strict=True)
        if per_step[e.step] == 1
    ]
    assert alone
    assert all(status == "silent" for zero, status in alone if not zero)
    assert any(status == "masked" for zero, status in alone if zero)
    assert result.inputs_untouched


def test_full_at_1000x_the_leo_sram_rate(digits: Task) -> None:
    """1000x 4.04e-7 /bit/day over 10 days on 461,760 bits of weights and Adam moments:
    1,865 upsets expected; all caught, none silent."""
    result = run_campaign(
        CampaignConfig(
            policy="full",
            acceleration=1000.0,
            span_days=10.0,
            targets="weights,optimizer",
            steps=40,
            trials=1,
        ),
        task=digits,
    )
    expected = 1000 * 4.04e-7 * 3 * 4810 * 32 * 10.0
    assert abs(result.injected - expected) < 5 * math.sqrt(expected)
    assert result.silent == 0 and result.corrected == result.injected
    assert result.as_dict()["bit_identical_to_fault_free"] == 1


def test_upset_tally() -> None:
    tally = UpsetTally.of(["corrected", "detected", "masked", "silent", "unchanged", "silent"])
    assert tally.as_dict() == {
        "injected": 6,
        "changed": 5,
        "detected": 2,
        "corrected": 1,
        "masked": 1,
        "silent": 2,
        "unrepaired": 1,
    }
    assert (tally + tally).injected == 12


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"flips": -1},
            "Expected `flips` to be an integer >= 0, actual: -1",
        ),
        (
            {"targets": "weights,moments"},
            "Expected `targets` to be comma-separated names from weights, grads, optimizer, "
            "buffers, activations, inputs, compute, actual: 'moments'",
        ),
        (
            {"policy": "fulll"},
            "Expected `policy` to be one of 'none', 'detect', 'standard', 'full', 'dmr', 'tmr', "
            "actual: 'fulll'",
        ),
        (
            {"model": "rnn"},
            "Expected `model` to be one of 'mlp', 'cnn', actual: 'rnn'",
        ),
        (
            {"flips": 10, "acceleration": 1000.0},
            "Expected `flips / acceleration / rate_per_bit_day` to be at most one of them (an "
            "exact number of upsets, or a rate), actual: 'flips, acceleration'",
        ),
        (
            {"acceleration": -5.0},
            "Expected `acceleration` to be a finite number > 0, actual: -5.0",
        ),
        (
            {"bits": "exponent,30"},
            "Expected `bits` to be one of any, sign, exponent, mantissa, sign_exponent, or "
            "comma-separated bit positions in 0..31, actual: 'exponent,30'",
        ),
        (
            {"bits": "32"},
            "Expected `bits` to be one of any, sign, exponent, mantissa, sign_exponent, or "
            "comma-separated bit positions in 0..31, actual: '32'",
        ),
        (
            {"acceleration": 10.0, "targets": "weights,compute"},
            "Expected `targets` to be names without compute when a rate is given (compute "
            "errors have no per-bit rate; use flips), actual: 'weights,compute'",
        ),
        ({"steps": 0}, "Expected `steps` to be an integer >= 1, actual: 0"),
        ({"span_days": 0.0}, "Expected `span_days` to be a finite number of days > 0, actual: 0.0"),
        (
            {"device": "pi"},
            "Expected `device` to be one of 'jetson-orin-nano-7w', 'jetson-orin-nano-15w', "
            "'jetson-orin-nano-25w', 'raspberry-pi-4', 'rad-hard-cpu', actual: 'pi'",
        ),
    ],
)
def test_bad_configurations_are_named(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as caught:
        CampaignConfig(**changes)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_defaults() -> None:
    config = CampaignConfig()
    assert config.mode == "flips" and config.flips == 100 and config.rate_per_bit_s is None
    rate = CampaignConfig(acceleration=1000.0)
    assert rate.mode == "rate" and rate.flips is None
    assert rate.rate_per_bit_s == pytest.approx(1000 * 4.04e-7 / 86400.0)
    assert CampaignConfig(targets="grads, weights").targets == ("grads", "weights")
