"""Outcome classes (He et al., ISCA 2023) on synthetic training curves, one per class."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orbitlearn.errors import InputError
from orbitlearn.faults.outcomes import (
    OUTCOME_CLASSES,
    Outcome,
    OutcomeThresholds,
    classify_outcome,
    tally_outcomes,
)

N = 200
FAULT = 80
STEPS = np.arange(N)


def _clean_accuracy() -> np.ndarray:
    """A learning curve from 0.5 to ~0.95 with per-step noise of a small batch (+-0.02)."""
    noise = np.random.default_rng(0).normal(0.0, 0.02, N)
    return np.clip(0.5 + 0.45 * (1 - np.exp(-STEPS / 30)) + noise, 0, 1)


def _after(values: np.ndarray) -> np.ndarray:
    return np.where(STEPS >= FAULT, values, 0.0)


CLEAN = _clean_accuracy()
OTHER_NOISE = np.random.default_rng(1).normal(0.0, 0.01, N)  # a masked run differs a little
RAMP = np.clip((STEPS - FAULT) / (N - FAULT), 0, 1)  # 0 at the fault, 1 at the end


@pytest.mark.parametrize(
    ("name", "faulty", "expected"),
    [
        ("masked: tiny differences", CLEAN + OTHER_NOISE * (STEPS >= FAULT), Outcome.MASKED),
        (
            "masked: dips sharply, recovers",
            CLEAN - _after(0.4 * np.exp(-(STEPS - FAULT) / 10.0)),
            Outcome.MASKED,
        ),
        ("slow degrade", CLEAN - 0.3 * RAMP, Outcome.SLOW_DEGRADE),
        ("sharp degrade", CLEAN - _after(np.full(N, 0.35)), Outcome.SHARP_DEGRADE),
        (
            "sharp degrade, partial recovery",
            CLEAN - _after(0.15 + 0.25 * np.exp(-(STEPS - FAULT) / 10.0)),
            Outcome.SHARP_DEGRADE,
        ),
        ("sharp then slow", CLEAN - _after(0.2 + 0.2 * RAMP), Outcome.SHARP_SLOW_DEGRADE),
        (
            "falls to chance and stays",
            np.where(STEPS >= FAULT, 0.5 + OTHER_NOISE, CLEAN),
            Outcome.SHARP_DEGRADE,
        ),
    ],
)
def test_accuracy_curves(name: str, faulty: np.ndarray, expected: Outcome) -> None:
    report = classify_outcome(faulty, CLEAN, fault_step=FAULT)
    assert report.outcome is expected, (name, report)
    assert report.fault_step == FAULT and report.nonfinite_step is None
    assert report.reason


def test_immediate_and_delayed_inf_nan() -> None:
    immediate = CLEAN.copy()
    immediate[FAULT + 1 :] = np.nan
    report = classify_outcome(immediate, CLEAN, fault_step=FAULT)
    assert report.outcome is Outcome.IMMEDIATE_INF_NAN and report.nonfinite_step == FAULT + 1
    assert "immediately after the first fault at step 80" in report.reason
    stopped = [*CLEAN[: FAULT + 1].tolist(), math.inf]  # the run stopped on the INF
    assert classify_outcome(stopped, CLEAN, fault_step=FAULT).outcome is Outcome.IMMEDIATE_INF_NAN
    delayed = CLEAN.copy()
    delayed[FAULT + 30] = np.nan
    report = classify_outcome(delayed, CLEAN, fault_step=FAULT)
    assert report.outcome is Outcome.DELAYED_INF_NAN and "30 steps after" in report.reason
    # a runtime that saw NaN in the gradients (while the metric curve stayed finite) says so
    seen = classify_outcome(CLEAN, CLEAN, fault_step=FAULT, nonfinite_step=FAULT)
    assert seen.outcome is Outcome.IMMEDIATE_INF_NAN


def test_low_test_accuracy_needs_a_masked_training_curve() -> None:
    report = classify_outcome(
        CLEAN, CLEAN, fault_step=FAULT, faulty_test_metric=0.70, fault_free_test_metric=0.93
    )
    assert report.outcome is Outcome.LOW_TEST_ACCURACY
    assert report.test_gap == pytest.approx(0.23)
    close = classify_outcome(
        CLEAN, CLEAN, fault_step=FAULT, faulty_test_metric=0.92, fault_free_test_metric=0.93
    )
    assert close.outcome is Outcome.MASKED
    degraded = classify_outcome(
        CLEAN - 0.3 * RAMP,
        CLEAN,
        fault_step=FAULT,
        faulty_test_metric=0.6,
        fault_free_test_metric=0.93,
    )
    assert degraded.outcome is Outcome.SLOW_DEGRADE  # the training curve already shows it


def test_loss_curves_with_relative_thresholds() -> None:
    clean_loss = 2.0 * np.exp(-STEPS / 40) + 0.1
    relative = OutcomeThresholds(relative=True)
    sharp = clean_loss * (1 + _after(np.full(N, 2.0)))  # triple the loss from the fault on
    report = classify_outcome(
        sharp, clean_loss, fault_step=FAULT, higher_is_better=False, thresholds=relative
    )
    assert report.outcome is Outcome.SHARP_DEGRADE
    masked = clean_loss * (1 + 0.01 * RAMP)
    assert (
        classify_outcome(
            masked, clean_loss, fault_step=FAULT, higher_is_better=False, thresholds=relative
        ).outcome
        is Outcome.MASKED
    )
    better = clean_loss * 0.5  # a faulty run that happens to do better is not degraded
    assert (
        classify_outcome(better, clean_loss, fault_step=FAULT, higher_is_better=False).outcome
        is Outcome.MASKED
    )


def test_thresholds_move_the_boundaries() -> None:
    faulty = CLEAN - 0.05 * RAMP  # ends 5 points behind
    assert classify_outcome(faulty, CLEAN, fault_step=FAULT).outcome is Outcome.SLOW_DEGRADE
    loose = OutcomeThresholds(masked_tolerance=0.06)
    assert (
        classify_outcome(faulty, CLEAN, fault_step=FAULT, thresholds=loose).outcome
        is Outcome.MASKED
    )


def test_tally_lists_every_class() -> None:
    reports = [
        classify_outcome(CLEAN, CLEAN, fault_step=FAULT),
        classify_outcome(CLEAN - 0.3 * RAMP, CLEAN, fault_step=FAULT),
        classify_outcome(CLEAN, CLEAN, fault_step=FAULT),
    ]
    counts = tally_outcomes(reports)
    assert list(counts) == list(OUTCOME_CLASSES)
    assert counts["Masked"] == 2 and counts["SlowDegrade"] == 1 and sum(counts.values()) == 3
    assert set(OUTCOME_CLASSES) >= {
        "Masked",
        "ImmediateINFNaN",
        "SlowDegrade",
        "SharpSlowDegrade",
        "SharpDegrade",
        "LowTestAccuracy",
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"faulty_metric": CLEAN[:50], "fault_free_metric": CLEAN, "fault_step": 10},
            "Expected `faulty_metric` to be 200 values, as the fault-free run (fewer only if the run stopped on INF/NaN), actual: '50 values'",
        ),
        (
            {"faulty_metric": CLEAN, "fault_free_metric": CLEAN, "fault_step": 200},
            "Expected `fault_step` to be an integer in [0, 199], actual: 200",
        ),
        (
            {"faulty_metric": CLEAN, "fault_free_metric": [0.5, math.nan], "fault_step": 0},
            "Expected `fault_free_metric` to be finite values, actual: 'a non-finite value at step 1'",
        ),
        (
            {"faulty_metric": [], "fault_free_metric": CLEAN, "fault_step": 0},
            "Expected `faulty_metric` to be a non-empty 1-D sequence of numbers, actual: 'shape (0,)'",
        ),
    ],
)
def test_bad_curves_are_rejected_with_clear_messages(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError) as info:
        classify_outcome(**kwargs)
    assert str(info.value) == message


def test_threshold_validation() -> None:
    with pytest.raises(InputError, match="Expected `sharp_window_steps` to be an integer >= 1"):
        OutcomeThresholds(sharp_window_steps=0)
    with pytest.raises(InputError, match="Expected `masked_tolerance` to be a finite number >= 0"):
        OutcomeThresholds(masked_tolerance=-0.1)
