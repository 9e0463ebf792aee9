"""Fault-injection campaigns: what radiation does to onboard training, and what healing saves.

A campaign trains a small built-in model (:mod:`orbitlearn.onboard.tasks`) through the
:class:`~orbitlearn.onboard.OnboardTrainer` with a healing policy while a
:class:`~orbitlearn.faults.FaultInjector` upsets it, repeats that over ``trials`` fault seeds,
and compares every trial with the fault-free run of the same seed (same initialisation, same
batch order, no healing, no faults)::

    result = run_campaign(CampaignConfig(model="mlp", policy="full", flips=2000,
                                         targets=("weights", "optimizer"), trials=3, seed=0))
    result.silent, result.final_metric, result.fault_free_metric, result.outcomes

How many upsets:

- ``flips=N``: exactly N upsets per trial, each at a step drawn uniformly over training
  (:meth:`~orbitlearn.faults.FaultSchedule.spread`), placed over the bits each step exposes.
- ``acceleration=A`` (A times the LEO SRAM rate, 4.04e-7 upsets/bit/day) or
  ``rate_per_bit_day=R``: Poisson upsets from a rate. Onboard training runs in slices between
  other work, so the training run is spread over ``span_days`` of mission time: the model and
  optimizer state sit in memory for all of it (each step exposes the state for
  ``span_days / steps``), while gradients, activations and inputs exist only while a step
  computes (the device's counted-FLOP time). At 1000x and a 10-day span, the MLP's weights and
  Adam moments (461,760 bits) expect 1,865 upsets.

Every injected upset is then sorted, from the injector's event log, healing's detection and
repair records and the state itself, into exactly one of:

``unchanged``
    the upset changed no stored bit (a stuck bit that already held its value).
``corrected``
    healing removed it: a state upset (weights, optimizer state, buffers) whose element no
    longer holds the corrupted bits at the end of the step it struck (restored from the
    protected copy, out-voted by replicas, or rolled back), or that a later rollback replaced
    with a snapshot taken before it; a transient upset (gradients, activations, inputs, compute)
    whose execution was discarded (the step was re-executed or the batch skipped), whose
    gradient was restored from the protected copy, that a TMR/DMR vote out-voted, or whose
    update was rolled back.
``detected``
    not corrected, but a detector flagged it: an exact per-step check naming its tensor in its
    step (protected copy, vote); a state range scan naming its tensor at or after its step, if
    the upset left a non-finite value or grew it past the scan's slack; or a whole-step
    detector (non-finite or spiking loss or gradient norm, activation range) in its step or the
    next (where a memory upset first shows). Such upsets are *unrepaired* (``detect`` policy,
    or repairs that did not remove them).
``masked``
    not caught, and without effect: the state its step left equals, bit for bit, what a
    fault-free execution of that step leaves from the same starting state (the campaign re-runs
    the step without faults on a separate model and optimizer, with the step's uncaught memory
    upsets written in afterwards, and compares). Only transient upsets can be masked: a state
    upset left in place is itself a difference.
``silent``
    changed a value, was never caught, and was not masked: silent data corruption. Where one
    step holds several uncaught transient upsets and its result differs, all of them count as
    silent; where a rollback happened inside the step (its starting state changed), no
    counterfactual is run and its uncaught transient upsets count as silent. Both are
    conservative, and rare.

``injected`` counts every upset, ``detected`` those detected (corrected ones included),
``corrected`` those corrected. Coverage is also broken down by target and by which bits the
upset hit (sign, exponent, mantissa; an MBU that touches an exponent bit counts as exponent),
and for upsets that left a non-finite value.

The outcome of each trial is classified with :func:`~orbitlearn.faults.classify_outcome`
(He et al., ISCA 2023) on the per-step training-batch accuracy against the fault-free run's,
with the held-out test accuracy for ``LowTestAccuracy``. A trial stops when it accepts a
non-finite loss (training cannot go on: ``ImmediateINFNaN`` / ``DelayedINFNaN``).

``step_overhead_ratio`` is the median measured wall time of a trial's training step (healing,
re-executions and the injector included) over that of a plain fault-free twin without healing
whose steps alternate with the trial's in the same process (so both see the same load on the
machine), averaged over trials. The controlled comparison of policies is
``bench/healing_overhead.py``.

The trainer runs one step per :meth:`~orbitlearn.onboard.OnboardTrainer.train_slice` call so
the campaign can read the state after every step; no checkpoints are written and no resets are
drawn (crash safety is ``bench/crash_safety.py``).
"""

from __future__ import annotations

import copy
import math
import statistics
import struct
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from orbitlearn.errors import InputError
from orbitlearn.faults import (
    LEO_SRAM_UPSETS_PER_BIT_DAY,
    OUTCOME_CLASSES,
    TARGET_NAMES,
    FaultEvent,
    FaultInjector,
    FaultSchedule,
    Outcome,
    OutcomeReport,
    OutcomeThresholds,
    classify_outcome,
    float_layout,
    per_bit_day_to_per_bit_s,
    resolve_bit_positions,
)
from orbitlearn.healing import POLICIES, state_blocks
from orbitlearn.healing.report import Detection, Repair
from orbitlearn.onboard.data import BatchStream, ResumableBatches
from orbitlearn.onboard.device import DEVICE_PRESETS
from orbitlearn.onboard.tasks import (
    MODEL_NAMES,
    TASK_NAMES,
    Task,
    accuracy,
    load_task,
    make_model,
    tensor_digest,
)
from orbitlearn.onboard.torch_device import parse_torch_device
from orbitlearn.onboard.trainer import OnboardTrainer

__all__ = [
    "BIT_CLASSES",
    "BIT_MASK_NAMES",
    "STATUSES",
    "CampaignConfig",
    "CampaignResult",
    "TrialResult",
    "UpsetTally",
    "run_campaign",
    "upset_bit_class",
]

#: What happened to each upset (see the module docstring).
STATUSES = ("unchanged", "corrected", "detected", "masked", "silent")
#: Bit classes of the coverage breakdown.
BIT_CLASSES = ("sign", "exponent", "mantissa", "integer")
#: Names accepted by ``bits`` (``any`` = every bit), besides explicit bit positions.
BIT_MASK_NAMES = ("any", "sign", "exponent", "mantissa", "sign_exponent")

_DAY_S = 86_400.0
_STATE_PHASE = -1  # execution tag of upsets applied to the state after the update
_STATE_TARGETS = ("weights", "optimizer", "buffers")
# detectors that judge a whole execution rather than one tensor
_STEP_DETECTORS = frozenset(
    {"loss_nonfinite", "loss_spike", "grad_nonfinite", "grad_spike", "activation_range"}
)


# ---------------------------------------------------------------------------- configuration


def _int_at_least(field_name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InputError(field_name, value, f"an integer >= {minimum}")
    return int(value)


def _positive_number(field_name: str, value: Any, allowed: str = "a finite number > 0") -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InputError(field_name, value, allowed)
    return float(value)


def _parse_bits(bits: str | Sequence[int]) -> str | list[int] | None:
    """``bits`` as the injector's bit mask (None: every bit)."""
    allowed = (
        "one of any, sign, exponent, mantissa, sign_exponent, or comma-separated bit positions "
        "in 0..31"
    )
    spec: str | list[int] | None
    if isinstance(bits, str):
        text = bits.strip()
        if text in BIT_MASK_NAMES:
            spec = None if text == "any" else text
        else:
            try:
                spec = [int(part) for part in text.split(",")]
            except ValueError:
                raise InputError("bits", bits, allowed) from None
    else:
        spec = [int(b) for b in bits]
    if isinstance(spec, list) and (not spec or any(b < 0 or b > 31 for b in spec)):
        raise InputError("bits", bits, allowed)
    try:
        resolve_bit_positions(torch.float32, spec)
    except InputError:
        raise InputError("bits", bits, allowed) from None
    return spec


@dataclass(frozen=True)
class CampaignConfig:
    """What a campaign runs. Every field is checked on construction.

    Attributes:
        model: ``mlp`` or ``cnn`` (:mod:`orbitlearn.onboard.tasks`).
        task: ``digits`` (real data, bundled with scikit-learn) or ``synthetic``.
        policy: healing policy: ``none``, ``detect``, ``standard``, ``full``, ``dmr``, ``tmr``.
        targets: what is hit: names from :data:`~orbitlearn.faults.TARGET_NAMES` (a tuple or a
            comma-separated string). ``compute`` errors have no per-bit rate: flips mode only.
        flips: exactly this many upsets per trial (the default mode: 100 when no rate is given).
        acceleration: upsets at this multiple of the LEO SRAM rate (4.04e-7 /bit/day).
        rate_per_bit_day: upsets at this rate, per bit per day.
        span_days: mission time the training run is spread over (rate modes), days.
        bits: bit positions that can be hit: ``any``, ``sign``, ``exponent``, ``mantissa``,
            ``sign_exponent`` or comma-separated positions (fp32: 0..31).
        steps: training steps per run.
        trials: faulty runs, each with its own fault seed.
        seed: seed of the model initialisation and batch order (the same in every run) and of
            the fault seeds.
        device: simulated onboard device preset (step time and energy from counted FLOPs).
        batch_size: samples per training batch.
        learning_rate: Adam learning rate.
        torch_device: where tensors live (``cpu``, ``cuda``...).
    """

    model: str = "mlp"
    task: str = "digits"
    policy: str = "full"
    targets: tuple[str, ...] | str = ("weights", "optimizer")
    flips: int | None = None
    acceleration: float | None = None
    rate_per_bit_day: float | None = None
    span_days: float = 1.0
    bits: str = "any"
    steps: int = 300
    trials: int = 3
    seed: int = 0
    device: str = "jetson-orin-nano-15w"
    batch_size: int = 64
    learning_rate: float = 1e-2
    torch_device: str = "cpu"

    def __post_init__(self) -> None:
        def one_of(field_name: str, value: Any, names: Sequence[str]) -> None:
            if value not in names:
                raise InputError(field_name, value, "one of " + ", ".join(repr(n) for n in names))

        one_of("model", self.model, MODEL_NAMES)
        one_of("task", self.task, TASK_NAMES)
        one_of("policy", self.policy, tuple(POLICIES))
        one_of("device", self.device, tuple(DEVICE_PRESETS))
        object.__setattr__(self, "targets", _parse_targets(self.targets))
        given = [
            name
            for name in ("flips", "acceleration", "rate_per_bit_day")
            if getattr(self, name) is not None
        ]
        if len(given) > 1:
            raise InputError(
                "flips / acceleration / rate_per_bit_day",
                ", ".join(given),
                "at most one of them (an exact number of upsets, or a rate)",
            )
        if not given:
            object.__setattr__(self, "flips", 100)
        if self.flips is not None:
            object.__setattr__(self, "flips", _int_at_least("flips", self.flips, 0))
        if self.acceleration is not None:
            object.__setattr__(
                self,
                "acceleration",
                _positive_number("acceleration", self.acceleration),
            )
        if self.rate_per_bit_day is not None:
            object.__setattr__(
                self,
                "rate_per_bit_day",
                _positive_number("rate_per_bit_day", self.rate_per_bit_day),
            )
        if self.flips is None and "compute" in self.targets:
            raise InputError(
                "targets",
                ",".join(self.targets),
                "names without compute when a rate is given (compute errors have no per-bit "
                "rate; use flips)",
            )
        _positive_number("span_days", self.span_days, "a finite number of days > 0")
        _parse_bits(self.bits)
        for name, minimum in (("steps", 1), ("trials", 1), ("batch_size", 1)):
            _int_at_least(name, getattr(self, name), minimum)
        _int_at_least("seed", self.seed, 0)
        _positive_number("learning_rate", self.learning_rate)
        parse_torch_device("torch_device", self.torch_device)

    @property
    def mode(self) -> str:
        """``"flips"`` (an exact number of upsets) or ``"rate"``."""
        return "flips" if self.flips is not None else "rate"

    @property
    def rate_per_bit_s(self) -> float | None:
        """The upset rate per bit per second (rate mode), else None."""
        if self.acceleration is not None:
            return per_bit_day_to_per_bit_s(self.acceleration * LEO_SRAM_UPSETS_PER_BIT_DAY)
        if self.rate_per_bit_day is not None:
            return per_bit_day_to_per_bit_s(self.rate_per_bit_day)
        return None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        record["targets"] = list(self.targets)
        return record


def _parse_targets(targets: tuple[str, ...] | str | Sequence[str]) -> tuple[str, ...]:
    allowed = "comma-separated names from " + ", ".join(TARGET_NAMES)
    names = [t.strip() for t in targets.split(",")] if isinstance(targets, str) else list(targets)
    for name in names:
        if name not in TARGET_NAMES:
            raise InputError("targets", name, allowed)
    if not names:
        raise InputError("targets", targets, allowed)
    return tuple(dict.fromkeys(names))


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class UpsetTally:
    """Upsets by what became of them (see the module docstring).

    ``detected`` includes ``corrected``; ``unrepaired = detected - corrected``;
    ``injected = unchanged + detected + masked + silent``.
    """

    injected: int = 0
    changed: int = 0
    detected: int = 0
    corrected: int = 0
    masked: int = 0
    silent: int = 0

    @property
    def unrepaired(self) -> int:
        """Detected but not corrected."""
        return self.detected - self.corrected

    def __add__(self, other: UpsetTally) -> UpsetTally:
        return UpsetTally(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @classmethod
    def of(cls, statuses: Sequence[str]) -> UpsetTally:
        """Tally a list of statuses (:data:`STATUSES`)."""
        counts = Counter(statuses)
        return cls(
            injected=len(statuses),
            changed=len(statuses) - counts["unchanged"],
            detected=counts["detected"] + counts["corrected"],
            corrected=counts["corrected"],
            masked=counts["masked"],
            silent=counts["silent"],
        )

    def as_dict(self) -> dict[str, int]:
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        record["unrepaired"] = self.unrepaired
        return record


@dataclass(frozen=True)
class TrialResult:
    """One faulty run.

    Attributes:
        trial: its index.
        fault_seed: the injector's seed.
        tally: what became of its upsets.
        coverage: tallies by ``"<target>.<bit class>"`` and ``"<target>.nonfinite"`` (upsets
            that left an INF/NaN).
        final_metric: test accuracy at the end.
        outcome: the ISCA 2023 class and why.
        steps_run: steps trained (fewer than configured when it stopped on a non-finite loss).
        nonfinite_state_steps: steps that ended with an INF/NaN anywhere in the model or
            optimizer state (after healing ran).
        diverged_at_step: first step after which its state differed from the fault-free run's
            (None: bit-identical to the end).
        step_s: median measured wall seconds per step.
        mean_step_s: mean measured wall seconds per step (re-executions weigh in).
        plain_step_s, plain_mean_step_s: the same for a fault-free run without healing whose
            steps alternate with this trial's (both see the same load on the machine).
        healing: healing's report counters.
        statuses: the status of each logged upset, in event order.
        events: the injector's log.
    """

    trial: int
    fault_seed: int
    tally: UpsetTally
    coverage: dict[str, UpsetTally]
    final_metric: float
    outcome: OutcomeReport
    steps_run: int
    nonfinite_state_steps: int
    diverged_at_step: int | None
    step_s: float
    mean_step_s: float
    plain_step_s: float
    plain_mean_step_s: float
    healing: dict[str, Any]
    statuses: tuple[str, ...] = ()
    events: tuple[FaultEvent, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "trial": self.trial,
            "fault_seed": self.fault_seed,
            **self.tally.as_dict(),
            "final_metric": self.final_metric,
            "outcome": self.outcome.outcome.value,
            "outcome_reason": self.outcome.reason,
            "steps_run": self.steps_run,
            "nonfinite_state_steps": self.nonfinite_state_steps,
            "diverged_at_step": self.diverged_at_step,
            "step_overhead_ratio": self.step_s / self.plain_step_s,
            "step_s": self.step_s,
            "plain_step_s": self.plain_step_s,
            "healing": self.healing,
        }


@dataclass(frozen=True)
class CampaignResult:
    """A campaign's trials and the fault-free reference.

    Attributes:
        config: what was run.
        trials: the faulty runs.
        fault_free_metric: test accuracy of the fault-free run (same seed, no healing).
        inputs_untouched: the task's tensors are bit-identical after the campaign (faults hit
            copies, never the caller's data).
        flops_per_step: counted FLOPs of a training step (forward + backward).
        wall_s: wall seconds the whole campaign took.
    """

    config: CampaignConfig
    trials: tuple[TrialResult, ...]
    fault_free_metric: float
    inputs_untouched: bool
    flops_per_step: int
    wall_s: float = 0.0
    task_source: str = ""

    @property
    def tally(self) -> UpsetTally:
        """Upsets of all trials together."""
        total = UpsetTally()
        for trial in self.trials:
            total = total + trial.tally
        return total

    @property
    def injected(self) -> int:
        return self.tally.injected

    @property
    def detected(self) -> int:
        return self.tally.detected

    @property
    def corrected(self) -> int:
        return self.tally.corrected

    @property
    def silent(self) -> int:
        return self.tally.silent

    @property
    def outcomes(self) -> dict[str, int]:
        """Trials per outcome class (every class present)."""
        counts = dict.fromkeys(OUTCOME_CLASSES, 0)
        for trial in self.trials:
            counts[trial.outcome.outcome.value] += 1
        return counts

    @property
    def final_metric(self) -> float:
        """Mean test accuracy of the trials."""
        return statistics.fmean(t.final_metric for t in self.trials)

    @property
    def max_metric_drop(self) -> float:
        """Largest drop of a trial's test accuracy below the fault-free run's (<= 0: none)."""
        return max(self.fault_free_metric - t.final_metric for t in self.trials)

    @property
    def step_overhead_ratio(self) -> float:
        """Median wall time per step of the trials over the fault-free run's without healing
        (medians: robust to other processes on a shared machine; means in ``as_dict``)."""
        return statistics.fmean(t.step_s / t.plain_step_s for t in self.trials)

    @property
    def mean_step_overhead_ratio(self) -> float:
        """As :attr:`step_overhead_ratio` with mean step times (re-executions included)."""
        return statistics.fmean(t.mean_step_s / t.plain_mean_step_s for t in self.trials)

    @property
    def coverage(self) -> dict[str, UpsetTally]:
        """Coverage of all trials by ``"<target>.<bits>"`` key (see :class:`TrialResult`)."""
        total: dict[str, UpsetTally] = {}
        for trial in self.trials:
            for key, tally in trial.coverage.items():
                total[key] = total.get(key, UpsetTally()) + tally
        return dict(sorted(total.items()))

    def healing_totals(self) -> dict[str, Any]:
        """Healing's counters summed over trials (detection records, not upsets)."""
        numbers: Counter[str] = Counter()
        detectors: Counter[str] = Counter()
        repairs: Counter[str] = Counter()
        overhead_s = 0.0
        for trial in self.trials:
            for key, value in trial.healing.items():
                if key == "by_detector":
                    detectors.update(value)
                elif key == "by_repair":
                    repairs.update(value)
                elif key == "overhead_s":
                    overhead_s += float(value)
                elif isinstance(value, int):
                    numbers[key] += value
        return {
            **dict(numbers),
            "overhead_s": overhead_s,
            "by_detector": dict(sorted(detectors.items())),
            "by_repair": dict(sorted(repairs.items())),
        }

    def as_dict(self) -> dict[str, Any]:
        """The JSON document of ``orbitlearn faults campaign --format json``."""
        config = self.config
        tally = self.tally
        return {
            "model": config.model,
            "task": config.task,
            "policy": config.policy,
            "targets": list(config.targets),
            "bits": config.bits,
            "mode": config.mode,
            "flips": config.flips,
            "acceleration": config.acceleration,
            "rate_per_bit_day": config.rate_per_bit_day,
            "rate_per_bit_s": config.rate_per_bit_s,
            "span_days": config.span_days if config.mode == "rate" else None,
            "steps": config.steps,
            "trials": len(self.trials),
            "seed": config.seed,
            "device": config.device,
            "metric": "test_accuracy",
            **tally.as_dict(),
            "outcomes": self.outcomes,
            "final_metric": self.final_metric,
            "final_metric_min": min(t.final_metric for t in self.trials),
            "fault_free_metric": self.fault_free_metric,
            "max_metric_drop_pp": 100.0 * self.max_metric_drop,
            "step_overhead_ratio": self.step_overhead_ratio,
            "step_overhead_ratio_mean": self.mean_step_overhead_ratio,
            "step_s": {
                "fault_free_plain": statistics.fmean(t.plain_step_s for t in self.trials),
                "policy_with_faults": statistics.fmean(t.step_s for t in self.trials),
                "fault_free_plain_mean": statistics.fmean(t.plain_mean_step_s for t in self.trials),
                "policy_with_faults_mean": statistics.fmean(t.mean_step_s for t in self.trials),
            },
            "bit_identical_to_fault_free": sum(t.diverged_at_step is None for t in self.trials),
            "nonfinite_state_steps": sum(t.nonfinite_state_steps for t in self.trials),
            "inputs_untouched": self.inputs_untouched,
            "flops_per_step": self.flops_per_step,
            "coverage": {key: value.as_dict() for key, value in self.coverage.items()},
            "healing": self.healing_totals(),
            "per_trial": [t.as_dict() for t in self.trials],
            "task_source": self.task_source,
            "wall_s": self.wall_s,
        }


# ---------------------------------------------------------------------------- run helpers


class _TaggedFaults:
    """A fault source for the trainer: forwards to a :class:`FaultInjector`, tags each event
    with the execution of its step that it struck (``_STATE_PHASE`` for state upsets after the
    update), and, in rate mode, exposes the state for the mission time between steps."""

    def __init__(self, inner: FaultInjector, state_period_s: float | None) -> None:
        self.inner = inner
        self.state_period_s = state_period_s
        self.tags: list[int] = []
        self._step = -1
        self._execution = -1

    @property
    def events(self) -> list[Any]:
        return self.inner.events

    @events.setter
    def events(self, value: list[Any]) -> None:
        self.inner.events = value

    def _tag(self, label: int) -> None:
        self.tags.extend([label] * (len(self.inner.events) - len(self.tags)))

    def _time(self, step: int, time_s: float) -> float:
        return time_s if self.state_period_s is None else step * self.state_period_s

    def bind(self, model: nn.Module, optimizer: torch.optim.Optimizer | None) -> None:
        self.inner.bind(model, optimizer)

    def unbind(self) -> None:
        self.inner.unbind()

    def corrupt_batch(
        self, inputs: torch.Tensor, *, step: int, time_s: float, duration_s: float | None = None
    ) -> torch.Tensor:
        self._tag(self._execution)
        if step != self._step:
            self._step, self._execution = step, 0
        else:
            self._execution += 1
        out = self.inner.corrupt_batch(
            inputs, step=step, time_s=self._time(step, time_s), duration_s=duration_s
        )
        self._tag(self._execution)
        return out

    def after_backward(self, *, step: int, time_s: float, duration_s: float) -> list[Any]:
        self._tag(self._execution)  # activation upsets of this execution's forward pass
        events = self.inner.after_backward(
            step=step, time_s=self._time(step, time_s), duration_s=duration_s
        )
        self._tag(self._execution)
        return events

    def after_step(self, *, step: int, time_s: float, duration_s: float) -> list[Any]:
        self._tag(self._execution)
        exposure = duration_s if self.state_period_s is None else self.state_period_s
        events = self.inner.after_step(
            step=step, time_s=self._time(step, time_s), duration_s=exposure
        )
        self._tag(_STATE_PHASE)
        return events

    def finish_step(self) -> None:
        self._tag(self._execution)

    def reset_due(self, *, time_s: float, duration_s: float) -> bool:
        return self.inner.reset_due(time_s=time_s, duration_s=duration_s)

    def state_dict(self) -> dict[str, Any]:
        return self.inner.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.inner.load_state_dict(state)


class _BatchAccuracy:
    """Cross-entropy loss that also records each execution's batch accuracy (the training
    curve); INF/NaN logits count as wrong."""

    def __init__(self) -> None:
        self.seen: list[torch.Tensor] = []

    def __call__(self, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if output.device.type != "meta":  # FLOP counting runs on meta tensors
            with torch.no_grad():
                right = (output.argmax(dim=1) == targets) & torch.isfinite(output).all(dim=1)
                self.seen.append(right.float().mean())
        return nn.functional.cross_entropy(output, targets)

    def take(self, redundant: bool) -> float:
        """The step's value: the last execution's (the accepted one), or the median of
        redundant executions; then forget."""
        values = [float(v) for v in self.seen]
        self.seen = []
        if not values:
            return math.nan
        return statistics.median(values) if redundant else values[-1]


def _state_digest(model: nn.Module, optimizer: torch.optim.Optimizer) -> str:
    return tensor_digest([t for _, t in state_blocks(model, optimizer)])


def _state_finite(model: nn.Module, optimizer: torch.optim.Optimizer) -> bool:
    """Whether every floating-point value of the model and optimizer state is finite."""
    tensors = [t for _, t in state_blocks(model, optimizer) if t.is_floating_point()]
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def _f64_bits(value: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", value))[0])


def _same_value(a: float, b: float) -> bool:
    """Bitwise equality of two logged values (float32 values widen to float64 exactly, so a
    sign flip of 0.0 or a changed NaN payload counts as a change)."""
    return _f64_bits(a) == _f64_bits(b)


def upset_bit_class(event: FaultEvent) -> str:
    """Which bits an upset hit: ``sign``, ``exponent`` or ``mantissa`` of a float (an MBU that
    touches an exponent bit counts as ``exponent``), or ``integer``."""
    dtype = getattr(torch, event.dtype, None)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        return "integer"
    layout = float_layout(dtype)
    low, high = event.bit, event.bit + max(event.n_bits, 1) - 1
    exp_low, exp_high = layout.exponent_bits
    if low <= exp_high and high >= exp_low:
        return "exponent"
    if low <= layout.sign_bit <= high:
        return "sign"
    return "mantissa"


def _snapshot_step(repair: Repair) -> int:
    try:
        return int(repair.target.split("@", 1)[1])
    except (IndexError, ValueError):
        return -1  # unknown: treat as a rollback to before everything (closes every open upset)


@dataclass
class _Upset:
    event: FaultEvent
    execution: int
    changed: bool
    status: str = "open"  # open -> corrected | detected | masked | silent (or unchanged)
    flagged: bool = False  # a detector saw it (status decided at the end unless corrected)


@dataclass
class _Ledger:
    """Follows each upset of a trial until it is corrected, detected, masked or left silent."""

    redundant: bool
    range_slack_binades: int
    upsets: list[_Upset] = field(default_factory=list)

    def add_step(
        self,
        step: int,
        events: Sequence[FaultEvent],
        tags: Sequence[int],
        *,
        executions: int,
        applied: bool,
        detections: Sequence[Detection],
        repairs: Sequence[Repair],
        live: dict[str, torch.Tensor],
    ) -> None:
        found = [d for d in detections if d.resolution != "false_alarm"]
        rollbacks = [
            (i, _snapshot_step(r)) for i, r in enumerate(repairs) if r.action == "rollback"
        ]
        recomputes = [i for i, r in enumerate(repairs) if r.action == "recompute"]
        last_recompute = max(recomputes, default=-1)
        undone = applied and any(i > last_recompute for i, _ in rollbacks)
        # a rollback replaces upsets of earlier steps taken after its snapshot
        for upset in self.upsets:
            if (
                upset.status == "open"
                and upset.event.step < step
                and any(k < upset.event.step for _, k in rollbacks)
            ):
                upset.status = "corrected"
        new = [
            _Upset(e, tag, e.kind == "reset" or not _same_value(e.old_value, e.new_value))
            for e, tag in zip(events, tags, strict=True)
        ]
        last_value: dict[tuple[str, int], float] = {}
        for upset in new:
            if upset.execution == _STATE_PHASE:
                last_value[(upset.event.tensor, upset.event.flat_index)] = upset.event.new_value
        voted = self.redundant and any(
            d.detector == "redundancy_vote" and d.target.endswith(".grad") for d in found
        )
        for upset in new:
            event = upset.event
            if not upset.changed:
                upset.status = "unchanged"
            elif upset.execution == _STATE_PHASE:
                tensor = live.get(event.tensor)
                if tensor is not None and event.flat_index < tensor.numel():
                    now = float(tensor.detach().reshape(-1)[event.flat_index])
                    if not _same_value(now, last_value[(event.tensor, event.flat_index)]):
                        upset.status = "corrected"  # restored, voted or rolled back since
            else:
                superseded = not self.redundant and executions > upset.execution + 1
                restored = event.target == "grads" and any(
                    d.detector == "grad_copy" and d.target == event.tensor for d in found
                )
                if superseded or not applied or restored or voted or undone:
                    upset.status = "corrected"
        self.upsets += new
        for upset in self.upsets:
            if upset.status == "open" and not upset.flagged:
                upset.flagged = any(self._flags(d, upset.event, step) for d in found)

    def _flags(self, detection: Detection, event: FaultEvent, step: int) -> bool:
        """Whether ``detection`` (in ``step``) saw the effect of ``event``."""
        if detection.detector in _STEP_DETECTORS:
            return 0 <= step - event.step <= 1  # the upset's step, or the next (state upsets)
        if detection.target != event.tensor:
            return False
        if detection.detector == "state_range":
            # a range scan sees a non-finite value or one grown past its slack
            old, new = abs(event.old_value), abs(event.new_value)
            return step >= event.step and (
                not math.isfinite(new) or new > old * 2.0**self.range_slack_binades
            )
        return step == event.step  # exact per-step checks: copies and votes

    def open_transient(self, step: int) -> list[_Upset]:
        """Uncaught upsets of ``step`` that struck an execution (not the stored state)."""
        return [
            u
            for u in self.upsets
            if u.status == "open" and u.event.step == step and u.execution != _STATE_PHASE
        ]

    def uncaught_state_values(self, step: int) -> dict[tuple[str, int], float]:
        """Element values left by the uncaught state upsets of ``step`` (the last per element)."""
        values: dict[tuple[str, int], float] = {}
        for u in self.upsets:
            if u.status == "open" and u.event.step == step and u.execution == _STATE_PHASE:
                values[(u.event.tensor, u.event.flat_index)] = u.event.new_value
        return values

    def settle_step(self, step: int, *, left_no_trace: bool) -> None:
        """Uncaught transient upsets of ``step`` are masked if the step's result equals a
        fault-free execution of it (``left_no_trace``) and no detector saw them."""
        if left_no_trace:
            for upset in self.open_transient(step):
                if not upset.flagged:
                    upset.status = "masked"

    def finish(self) -> list[str]:
        for upset in self.upsets:
            if upset.status == "open":
                upset.status = "detected" if upset.flagged else "silent"
        return [u.status for u in self.upsets]

    def coverage(self) -> dict[str, UpsetTally]:
        groups: dict[str, list[str]] = {}
        for upset in self.upsets:
            event = upset.event
            groups.setdefault(f"{event.target}.{upset_bit_class(event)}", []).append(upset.status)
            if not math.isfinite(event.new_value) and math.isfinite(event.old_value):
                groups.setdefault(f"{event.target}.nonfinite", []).append(upset.status)
        return {key: UpsetTally.of(statuses) for key, statuses in sorted(groups.items())}


@dataclass
class _Run:
    curve: list[float]
    digests: list[str]
    test_metric: float
    step_s: float
    mean_step_s: float
    plain_step_s: float
    plain_mean_step_s: float
    steps_run: int
    nonfinite_step: int | None
    nonfinite_state_steps: int
    flops_per_step: int
    trainer: OnboardTrainer


def _batches(config: CampaignConfig, task: Task) -> ResumableBatches:
    return ResumableBatches(
        task.train_inputs,
        task.train_targets,
        batch_size=config.batch_size,
        seed=config.seed,
        drop_last=config.batch_size <= task.train_inputs.shape[0],
    )


def _trainer(
    config: CampaignConfig,
    task: Task,
    loss: _BatchAccuracy,
    policy: str,
    faults: _TaggedFaults | None,
) -> OnboardTrainer:
    model = make_model(config.model, task, seed=config.seed).to(config.torch_device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    return OnboardTrainer(
        model,
        optimizer,
        _batches(config, task),
        loss_fn=loss,
        healing=policy,
        faults=faults,
        device=config.device,
        checkpoints=None,
        checkpoint_every_steps=0,
        seed=config.seed,
    )


def _train(
    config: CampaignConfig,
    task: Task,
    policy: str,
    faults: _TaggedFaults | None,
    observer: _TrialObserver | None = None,
) -> _Run:
    """Train one run step by step, telling ``observer`` about each step.

    With an observer, a plain fault-free twin (no healing, no faults) trains alongside, its
    steps alternating with the run's, to time a plain step under the same machine load. Stops
    early when a non-finite loss is accepted (training cannot go on)."""
    loss = _BatchAccuracy()
    trainer = _trainer(config, task, loss, policy, faults)
    twin_loss = _BatchAccuracy()
    twin = _trainer(config, task, twin_loss, "none", None) if observer is not None else None
    plain_walls: list[float] = []
    if observer is not None:
        observer.start(trainer)
    redundant = trainer.healing.policy.executions > 1
    curve: list[float] = []
    digests: list[str] = []
    walls: list[float] = []
    nonfinite_step: int | None = None
    nonfinite_state_steps = 0
    flops = 0
    for step in range(config.steps):
        if twin is not None:
            plain_walls.append(twin.train_slice(max_steps=1).wall_s)
            twin_loss.seen.clear()
        result = trainer.train_slice(max_steps=1)
        if result.steps == 0:
            break
        walls.append(result.wall_s)
        flops = result.flops_per_step
        curve.append(loss.take(redundant))
        digests.append(_state_digest(trainer.model, trainer.optimizer))
        nonfinite_state_steps += not _state_finite(trainer.model, trainer.optimizer)
        if observer is not None:
            observer.step(step, result, trainer, digests[-1])
        if result.updates and not all(math.isfinite(v) for v in result.losses):
            nonfinite_step = step
            break
    test_metric = accuracy(trainer.model, task.test_inputs, task.test_targets)
    return _Run(
        curve=curve,
        digests=digests,
        test_metric=test_metric,
        step_s=statistics.median(walls) if walls else math.nan,
        mean_step_s=statistics.fmean(walls) if walls else math.nan,
        plain_step_s=statistics.median(plain_walls) if plain_walls else math.nan,
        plain_mean_step_s=statistics.fmean(plain_walls) if plain_walls else math.nan,
        steps_run=len(curve),
        nonfinite_step=nonfinite_step,
        nonfinite_state_steps=nonfinite_state_steps,
        flops_per_step=flops,
        trainer=trainer,
    )


def _fault_seed(seed: int, trial: int) -> int:
    return int(np.random.SeedSequence([seed, trial]).generate_state(1)[0])


def _injector(config: CampaignConfig, fault_seed: int) -> _TaggedFaults:
    mask = _parse_bits(config.bits)
    if config.flips is not None:
        injector = FaultInjector(
            config.targets,
            schedule=FaultSchedule.spread(config.flips, config.steps, seed=fault_seed),
            bit_mask=mask,
            seed=fault_seed,
        )
        return _TaggedFaults(injector, None)
    rate = config.rate_per_bit_s
    assert rate is not None
    injector = FaultInjector(config.targets, rate_per_bit_s=rate, bit_mask=mask, seed=fault_seed)
    return _TaggedFaults(injector, config.span_days * _DAY_S / config.steps)


def _classify(
    run: _Run, reference: _Run, events: Sequence[FaultEvent], statuses: Sequence[str], steps: int
) -> OutcomeReport:
    changed_steps = [
        e.step for e, s in zip(events, statuses, strict=True) if s != "unchanged" and e.step >= 0
    ]
    test_gap = reference.test_metric - run.test_metric
    if not changed_steps:
        return OutcomeReport(
            Outcome.MASKED, -1, None, 0.0, 0.0, test_gap, "no upset changed a stored value"
        )
    thresholds = OutcomeThresholds(final_window_steps=max(10, steps // 10))
    return classify_outcome(
        run.curve,
        reference.curve,
        fault_step=min(min(changed_steps), len(reference.curve) - 1),
        faulty_test_metric=run.test_metric,
        fault_free_test_metric=reference.test_metric,
        nonfinite_step=run.nonfinite_step,
        thresholds=thresholds,
    )


class _CleanStep:
    """The counterfactual of one training step: the same step executed without faults from the
    state the faulty run started it with, on a separate model, optimizer and batch stream."""

    def __init__(self, config: CampaignConfig, task: Task) -> None:
        self.device = torch.device(config.torch_device)
        self.model = make_model(config.model, task, seed=config.seed).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.learning_rate)
        self.stream = BatchStream(_batches(config, task))
        self._model_state: dict[str, torch.Tensor] = {}
        self._optim_state: dict[str, Any] = {}
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None

    def before_step(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Remember the faulty run's state and the batch of the coming step."""
        self._model_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._optim_state = copy.deepcopy(optimizer.state_dict())
        batch = self.stream.next_batch()
        self._batch = (batch[0], batch[1]) if batch is not None else None

    def result_digest(self, replay: dict[tuple[str, int], float]) -> str | None:
        """Digest of the state a fault-free execution of the step leaves, with ``replay``
        (element values written by uncaught memory upsets after the update) applied."""
        if self._batch is None:
            return None
        self.model.load_state_dict(self._model_state)
        self.optimizer.load_state_dict(self._optim_state)
        self.model.train()
        for param in self.model.parameters():
            param.grad = None
        inputs, targets = (t.to(self.device) for t in self._batch)
        nn.functional.cross_entropy(self.model(inputs), targets).backward()
        self.optimizer.step()
        if replay:
            blocks = dict(state_blocks(self.model, self.optimizer))
            with torch.no_grad():
                for (name, index), value in replay.items():
                    blocks[name].view(-1)[index] = value
        return _state_digest(self.model, self.optimizer)


class _TrialObserver:
    """Sorts a trial's upsets step by step (the ledger), and tracks where the trial's state
    leaves the fault-free run's."""

    def __init__(
        self, config: CampaignConfig, task: Task, faults: _TaggedFaults, reference: _Run
    ) -> None:
        policy = POLICIES[config.policy]
        self.faults = faults
        self.reference = reference
        self.ledger = _Ledger(
            redundant=policy.executions > 1, range_slack_binades=policy.exponent_slack_binades
        )
        transient = any(t not in _STATE_TARGETS for t in config.targets)
        self.clean = _CleanStep(config, task) if transient else None
        self.diverged_at: int | None = None

    def start(self, trainer: OnboardTrainer) -> None:
        if self.clean is not None:
            self.clean.before_step(trainer.model, trainer.optimizer)

    def step(self, step: int, result: Any, trainer: OnboardTrainer, digest: str) -> None:
        self.faults.finish_step()
        start = len(self.faults.tags) - len(result.fault_events)
        rolled_back = any(r.action == "rollback" for r in result.repairs)
        self.ledger.add_step(
            step,
            result.fault_events,
            self.faults.tags[start:],
            executions=result.executions,
            applied=result.updates > 0,
            detections=result.detections,
            repairs=result.repairs,
            live=dict(state_blocks(trainer.model, trainer.optimizer)),
        )
        reference = self.reference.digests
        if self.diverged_at is None and not (step < len(reference) and digest == reference[step]):
            self.diverged_at = step
        if self.clean is not None:
            # a rollback inside the step changed its starting state: no counterfactual
            if self.ledger.open_transient(step) and not rolled_back:
                clean = self.clean.result_digest(self.ledger.uncaught_state_values(step))
                self.ledger.settle_step(step, left_no_trace=clean == digest)
            self.clean.before_step(trainer.model, trainer.optimizer)


def _run_trial(config: CampaignConfig, task: Task, reference: _Run, trial: int) -> TrialResult:
    fault_seed = _fault_seed(config.seed, trial)
    faults = _injector(config, fault_seed)
    observer = _TrialObserver(config, task, faults, reference)
    run = _train(config, task, config.policy, faults, observer)
    statuses = observer.ledger.finish()
    events = list(faults.events)
    diverged = observer.diverged_at
    if diverged is None and run.steps_run < len(reference.digests):
        diverged = run.steps_run
    return TrialResult(
        trial=trial,
        fault_seed=fault_seed,
        tally=UpsetTally.of(statuses),
        coverage=observer.ledger.coverage(),
        final_metric=run.test_metric,
        outcome=_classify(run, reference, events, statuses, config.steps),
        steps_run=run.steps_run,
        nonfinite_state_steps=run.nonfinite_state_steps,
        diverged_at_step=diverged,
        step_s=run.step_s,
        mean_step_s=run.mean_step_s,
        plain_step_s=run.plain_step_s,
        plain_mean_step_s=run.plain_mean_step_s,
        healing=run.trainer.healing.report.as_dict(),
        statuses=tuple(statuses),
        events=tuple(events),
    )


def run_campaign(config: CampaignConfig, *, task: Task | None = None) -> CampaignResult:
    """Run a fault-injection campaign (see the module docstring).

    Args:
        config: what to run.
        task: the task's data (default: ``load_task(config.task)``; pass one to reuse it).

    Returns:
        A :class:`CampaignResult`.

    Raises:
        InputError: a bad configuration (raised by :class:`CampaignConfig`).
        MissingDependencyError: the ``digits`` task without scikit-learn.
    """
    started = time.perf_counter()
    task = task if task is not None else load_task(config.task)
    digest = task.digest()
    reference = _train(config, task, "none", None)
    trials = tuple(_run_trial(config, task, reference, k) for k in range(config.trials))
    return CampaignResult(
        config=config,
        trials=trials,
        fault_free_metric=reference.test_metric,
        inputs_untouched=task.digest() == digest,
        flops_per_step=reference.flops_per_step,
        wall_s=time.perf_counter() - started,
        task_source=task.source,
    )
