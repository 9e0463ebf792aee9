"""What a fault did to a training run: the outcome classes of He et al., ISCA 2023.

He, Hutton, Chan, De Gruijl, Govindaraju, Patil and Li, "Understanding and Mitigating Hardware
Failures in Deep Learning Training Systems" (ISCA 2023) sort the end results of fault-injection
experiments on training into classes. A run with faults is compared with the fault-free run
*of the same seed* (same initialisation and batch order), metric by metric, step by step:

- ``Masked``: training ends where the fault-free run ends (within ``masked_tolerance``); a
  run that dips and recovers is masked too.
- ``ImmediateINFNaN``: INF/NaN values appear at once, in the step the fault lands in (or the
  next one, within ``immediate_window_steps``); training cannot go on.
- ``SlowDegrade``: no sharp change at the fault, but the run falls behind over the following
  steps and ends clearly worse.
- ``SharpDegrade``: the metric drops sharply right after the fault and stays down (it may
  recover partly, not fully).
- ``SharpSlowDegrade``: a sharp drop right after the fault, then a further slow decline.
- ``LowTestAccuracy``: the training curve ends like the fault-free one, but the held-out
  (test) metric is clearly worse: the damage is in state training does not use but
  evaluation does, e.g. BatchNorm running statistics.

He et al. describe the classes in words; the thresholds below make them decidable and are
this module's choices, documented and adjustable (:class:`OutcomeThresholds`). The 2 % band
for ``Masked`` follows the authors' artifact, whose masked example ends "within ~2 %" of the
fault-free accuracy. One class is added: ``DelayedINFNaN``, for INF/NaN values that first
appear later than the immediate window (their artifact calls such runs "short-term INFs/NaNs").

Curves are per-step values of a training metric: an accuracy-like metric (higher is better,
fractions in [0, 1] so that the default thresholds read as percentage points) or a loss
(``higher_is_better=False``; use ``relative=True`` so thresholds are fractions of the
fault-free value).

>>> import numpy as np
>>> clean = np.linspace(0.5, 0.95, 100)
>>> classify_outcome(clean - 0.3 * (np.arange(100) >= 40), clean, fault_step=40).outcome
<Outcome.SHARP_DEGRADE: 'SharpDegrade'>
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import InputError

__all__ = [
    "OUTCOME_CLASSES",
    "Outcome",
    "OutcomeReport",
    "OutcomeThresholds",
    "classify_outcome",
    "first_nonfinite_step",
    "tally_outcomes",
]


class Outcome(Enum):
    """Outcome classes (He et al., ISCA 2023, plus ``DELAYED_INF_NAN``)."""

    MASKED = "Masked"
    IMMEDIATE_INF_NAN = "ImmediateINFNaN"
    DELAYED_INF_NAN = "DelayedINFNaN"
    SLOW_DEGRADE = "SlowDegrade"
    SHARP_SLOW_DEGRADE = "SharpSlowDegrade"
    SHARP_DEGRADE = "SharpDegrade"
    LOW_TEST_ACCURACY = "LowTestAccuracy"


#: The class names in report order (the keys of :func:`tally_outcomes`).
OUTCOME_CLASSES = tuple(o.value for o in Outcome)


@dataclass(frozen=True)
class OutcomeThresholds:
    """The numbers that decide a class. Gaps are "how much worse than fault-free": in metric
    units (accuracy fractions: 0.02 = 2 percentage points) or, with ``relative``, as a fraction
    of the fault-free value.

    Attributes:
        immediate_window_steps: INF/NaN first seen at most this many steps after the first
            fault is immediate (1: the fault's own step or the next, because an upset applied
            after a step's optimizer update shows in the next step's loss).
        masked_tolerance: largest final gap that still counts as reaching the fault-free result
            (2 points, after He et al.'s artifact).
        test_tolerance: largest gap of the held-out metric for a run whose training curve is
            masked; above it the run is ``LowTestAccuracy``.
        sharp_drop: smallest mean gap over the ``sharp_window_steps`` steps starting at the
            fault that counts as a sharp drop (10 points).
        sharp_window_steps: length of that window, steps (averaging over it keeps per-step
            noise of small-batch metrics from passing as a drop).
        slow_margin: how much further the final gap must exceed the sharp window's gap for a
            sharp drop to be followed by a slow decline (5 points).
        final_window_steps: the final gap is the mean gap over the last this many steps.
        relative: divide gaps by ``|fault-free value|`` (for losses).
    """

    immediate_window_steps: int = 1
    masked_tolerance: float = 0.02
    test_tolerance: float = 0.02
    sharp_drop: float = 0.10
    sharp_window_steps: int = 5
    slow_margin: float = 0.05
    final_window_steps: int = 10
    relative: bool = False

    def __post_init__(self) -> None:
        for name in ("immediate_window_steps", "sharp_window_steps", "final_window_steps"):
            value = getattr(self, name)
            minimum = 0 if name == "immediate_window_steps" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise InputError(name, value, f"an integer >= {minimum}")
        for name in ("masked_tolerance", "test_tolerance", "sharp_drop", "slow_margin"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InputError(name, value, "a finite number >= 0")


@dataclass(frozen=True)
class OutcomeReport:
    """The class of one run and the numbers that decided it.

    Attributes:
        outcome: the class.
        fault_step: step of the first fault.
        nonfinite_step: first step with an INF/NaN value (None if none).
        sharp_gap: mean gap over the sharp window after the fault (NaN for INF/NaN outcomes).
        final_gap: mean gap over the final window (NaN for INF/NaN outcomes).
        test_gap: gap of the held-out metric (None when not given).
        reason: one sentence saying why.
    """

    outcome: Outcome
    fault_step: int
    nonfinite_step: int | None
    sharp_gap: float
    final_gap: float
    test_gap: float | None
    reason: str


def first_nonfinite_step(values: ArrayLike) -> int | None:
    """Index of the first INF/NaN value, or None.

    >>> first_nonfinite_step([1.0, 0.5, float("nan"), 0.2])
    2
    >>> first_nonfinite_step([1.0]) is None
    True
    """
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    bad = np.flatnonzero(~np.isfinite(array))
    return int(bad[0]) if bad.size else None


def _curve(values: ArrayLike, field: str) -> NDArray[np.float64]:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(field, type(values).__name__, "a 1-D sequence of numbers") from None
    if array.ndim != 1 or array.size == 0:
        raise InputError(field, f"shape {array.shape}", "a non-empty 1-D sequence of numbers")
    return array


def _gap(
    faulty: NDArray[np.float64],
    clean: NDArray[np.float64],
    higher_is_better: bool,
    relative: bool,
) -> NDArray[np.float64]:
    gap = clean - faulty if higher_is_better else faulty - clean
    if relative:
        gap = gap / np.maximum(np.abs(clean), 1e-12)
    return gap


def classify_outcome(
    faulty_metric: ArrayLike,
    fault_free_metric: ArrayLike,
    *,
    fault_step: int,
    higher_is_better: bool = True,
    faulty_test_metric: float | None = None,
    fault_free_test_metric: float | None = None,
    nonfinite_step: int | None = None,
    thresholds: OutcomeThresholds | None = None,
) -> OutcomeReport:
    """Classify a run with faults against the fault-free run of the same seed.

    Args:
        faulty_metric: per-step training metric of the run with faults, shape ``(n_steps,)``;
            may be shorter than the fault-free curve if the run stopped on an INF/NaN.
        fault_free_metric: the same metric of the fault-free run, shape ``(n_steps,)``, finite.
        fault_step: step at which the first fault was applied.
        higher_is_better: True for accuracy-like metrics, False for losses.
        faulty_test_metric, fault_free_test_metric: the held-out metric at the end of each run
            (same direction as the curves); enables ``LowTestAccuracy``.
        nonfinite_step: first step at which the runtime saw an INF/NaN anywhere (loss,
            gradients, weights), if it tracks that; INF/NaN in the curve are found here too.
        thresholds: the numbers that decide (defaults: :class:`OutcomeThresholds`).

    Order of the decision: INF/NaN (immediate, then delayed) first; then the training curve's
    final gap (masked, or one of the degrade classes by the sharp window's gap); a masked
    training curve with a held-out gap above ``test_tolerance`` is ``LowTestAccuracy``.

    Raises:
        InputError: curves that are empty, not 1-D, of different lengths (unless the faulty run
            stopped on an INF/NaN), a non-finite fault-free curve, or a fault step outside it.
    """
    limits = thresholds or OutcomeThresholds()
    faulty = _curve(faulty_metric, "faulty_metric")
    clean = _curve(fault_free_metric, "fault_free_metric")
    n_steps = clean.size
    if not np.isfinite(clean).all():
        step = first_nonfinite_step(clean)
        raise InputError("fault_free_metric", f"a non-finite value at step {step}", "finite values")
    if isinstance(fault_step, bool) or not isinstance(fault_step, int | np.integer):
        raise InputError("fault_step", fault_step, f"an integer in [0, {n_steps - 1}]")
    if not 0 <= fault_step < n_steps:
        raise InputError("fault_step", fault_step, f"an integer in [0, {n_steps - 1}]")
    fault_step = int(fault_step)

    seen = [s for s in (first_nonfinite_step(faulty), nonfinite_step) if s is not None]
    if faulty_test_metric is not None and not math.isfinite(faulty_test_metric):
        seen.append(max(n_steps - 1, fault_step))
    first_bad = min(seen) if seen else None
    if faulty.size > n_steps or (faulty.size < n_steps and first_bad is None):
        raise InputError(
            "faulty_metric",
            f"{faulty.size} values",
            f"{n_steps} values, as the fault-free run (fewer only if the run stopped on INF/NaN)",
        )
    if first_bad is not None:
        delay = first_bad - fault_step
        if delay <= limits.immediate_window_steps:
            outcome, when = Outcome.IMMEDIATE_INF_NAN, "immediately"
        else:
            outcome, when = Outcome.DELAYED_INF_NAN, f"{delay} steps"
        return OutcomeReport(
            outcome,
            fault_step,
            first_bad,
            math.nan,
            math.nan,
            None,
            f"INF/NaN first seen at step {first_bad}, {when} after the first fault at step "
            f"{fault_step}",
        )

    gap = _gap(faulty, clean, higher_is_better, limits.relative)
    after = gap[fault_step:]
    sharp_gap = float(after[: limits.sharp_window_steps].mean())
    final_gap = float(gap[-limits.final_window_steps :].mean())
    test_gap: float | None = None
    if faulty_test_metric is not None and fault_free_test_metric is not None:
        test_gap = float(
            _gap(
                np.asarray([faulty_test_metric], np.float64),
                np.asarray([fault_free_test_metric], np.float64),
                higher_is_better,
                limits.relative,
            )[0]
        )

    def report(outcome: Outcome, reason: str) -> OutcomeReport:
        return OutcomeReport(outcome, fault_step, None, sharp_gap, final_gap, test_gap, reason)

    if final_gap <= limits.masked_tolerance:
        if test_gap is not None and test_gap > limits.test_tolerance:
            return report(
                Outcome.LOW_TEST_ACCURACY,
                f"training ends within {limits.masked_tolerance:g} of fault-free "
                f"(gap {final_gap:.4g}) but the held-out metric is {test_gap:.4g} worse",
            )
        return report(
            Outcome.MASKED,
            f"final gap {final_gap:.4g} is within {limits.masked_tolerance:g} of fault-free",
        )
    if sharp_gap < limits.sharp_drop:
        return report(
            Outcome.SLOW_DEGRADE,
            f"no sharp drop after the fault (gap {sharp_gap:.4g} < {limits.sharp_drop:g}) but "
            f"the run ends {final_gap:.4g} worse",
        )
    if final_gap >= sharp_gap + limits.slow_margin:
        return report(
            Outcome.SHARP_SLOW_DEGRADE,
            f"sharp drop after the fault (gap {sharp_gap:.4g}), then a further decline to "
            f"{final_gap:.4g}",
        )
    return report(
        Outcome.SHARP_DEGRADE,
        f"sharp drop after the fault (gap {sharp_gap:.4g}) and no recovery (ends {final_gap:.4g} "
        "worse)",
    )


def tally_outcomes(reports: Iterable[OutcomeReport | Outcome]) -> dict[str, int]:
    """Count outcomes by class name, every class present (zero where none).

    >>> tally_outcomes([Outcome.MASKED, Outcome.MASKED])["Masked"]
    2
    """
    counts = dict.fromkeys(OUTCOME_CLASSES, 0)
    for item in reports:
        outcome = item.outcome if isinstance(item, OutcomeReport) else Outcome(item)
        counts[outcome.value] += 1
    return counts
