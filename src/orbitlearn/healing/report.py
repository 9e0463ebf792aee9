"""What healing saw and did: detection and repair records and the running counters.

A :class:`Detection` is one anomaly one detector found (``detector`` names it, ``target`` says
what was looked at, e.g. ``"0.weight"``, named as the fault injector names tensors). A :class:`Repair` is one action taken. The
:class:`HealingReport` counts both, by detector and by repair, with the wall-clock time spent
inside healing (``overhead_s``), and round-trips through ``state_dict()``.

Detector names (stable keys of :attr:`HealingReport.by_detector`):

=====================  ==================================================================
``loss_nonfinite``     the loss is NaN or infinite
``loss_spike``         the loss is far above its robust running level
``grad_nonfinite``     the total gradient norm is NaN or infinite
``grad_spike``         the total gradient norm is far above its robust running level
``grad_copy``          a gradient changed between backward and the update (protected copy)
``activation_range``   a layer output (or the model input) left its learned range
``state_copy``         parameters/buffers/optimizer state differ from the protected copy
``state_range``        state holds a non-finite value or one beyond its learned exponent range
``redundancy_vote``    TMR/DMR replicas disagreed
=====================  ==================================================================

Repair names (stable keys of :attr:`HealingReport.by_repair`): ``recompute`` (the step was
executed again), ``restore_copy`` (blocks restored from the protected copy), ``vote`` (replicas
out-voted the odd one), ``skip_batch`` (the batch was dropped without an update), ``rollback``
(state went back to the last good snapshot or checkpoint), ``accept_outlier`` (a re-execution
reproduced the anomaly bit for bit, so it was a true outlier, not a fault: a false alarm).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["DETECTORS", "REPAIRS", "Detection", "HealingReport", "Repair", "StepOutcome"]

DETECTORS = (
    "loss_nonfinite",
    "loss_spike",
    "grad_nonfinite",
    "grad_spike",
    "grad_copy",
    "activation_range",
    "state_copy",
    "state_range",
    "redundancy_vote",
)
REPAIRS = (
    "recompute",
    "restore_copy",
    "vote",
    "skip_batch",
    "rollback",
    "accept_outlier",
)


@dataclass
class Detection:
    """One anomaly found by one detector.

    Attributes:
        step: training step (batch index) in which it was found.
        detector: one of :data:`DETECTORS`.
        target: what was checked, e.g. ``"loss"``, ``"fc1.weight"``, ``"optimizer.state.fc1.weight.exp_avg"``, ``"fc1.weight.grad"``, ``"activation:fc1"``, ``"input"``.
        detail: a short human-readable description (values, bounds).
        elements: number of elements found wrong where known (0 if not counted).
        resolution: how the step ended for it: ``"corrected"`` (a repair removed it),
            ``"unrepaired"`` (repairs failed or were not allowed: ``detect`` policy),
            ``"false_alarm"`` (a re-execution reproduced it bit for bit: a true outlier) or
            ``"pending"`` while the step is running.
    """

    step: int
    detector: str
    target: str
    detail: str = ""
    elements: int = 0
    resolution: str = "pending"


@dataclass(frozen=True)
class Repair:
    """One repair action (see the module docstring for the names)."""

    step: int
    action: str
    target: str = ""
    detail: str = ""


@dataclass
class StepOutcome:
    """What happened in one healed training step.

    Attributes:
        step: the step index.
        applied: whether the optimizer update was applied (False: the batch was skipped).
        loss: the loss of the accepted execution (NaN if none was accepted).
        grad_norm: total L2 norm of the accepted gradients (NaN if not computed).
        executions: forward/backward executions run (1 plain; more for recompute/TMR/DMR).
        detections: anomalies found in this step.
        repairs: repairs made in this step.
        rolled_back: whether state was rolled back to a snapshot in this step.
        overhead_s: wall-clock seconds spent in healing code (not in executions).
    """

    step: int
    applied: bool = True
    loss: float = float("nan")
    grad_norm: float = float("nan")
    executions: int = 0
    detections: list[Detection] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    rolled_back: bool = False
    overhead_s: float = 0.0


class HealingReport:
    """Running counters of detections, repairs and overhead.

    >>> r = HealingReport()
    >>> found = Detection(3, "loss_nonfinite", "loss", resolution="corrected")
    >>> r.record(StepOutcome(step=3, detections=[found], repairs=[Repair(3, "recompute")]))
    >>> r.detected, r.corrected, r.by_detector["loss_nonfinite"]
    (1, 1, 1)
    """

    def __init__(self) -> None:
        self.steps = 0
        self.executions = 0
        self.detected = 0
        self.corrected = 0
        self.false_alarms = 0
        self.skipped_batches = 0
        self.rollbacks = 0
        self.unrepaired = 0
        self.overhead_s = 0.0
        self.by_detector: Counter[str] = Counter()
        self.by_repair: Counter[str] = Counter()
        self.log: list[Detection | Repair] = []
        self.log_limit = 10_000

    def record(self, outcome: StepOutcome) -> None:
        """Add one step's outcome to the counters (and the bounded log)."""
        self.steps += 1
        self.executions += outcome.executions
        self.overhead_s += outcome.overhead_s
        if not outcome.detections and not outcome.repairs:
            return  # the usual clean step: nothing to count or log
        for detection in outcome.detections:
            self.by_detector[detection.detector] += 1
            if detection.resolution == "false_alarm":
                self.false_alarms += 1
                continue
            self.detected += 1
            if detection.resolution == "corrected":
                self.corrected += 1
            else:
                self.unrepaired += 1
        for repair in outcome.repairs:
            self.by_repair[repair.action] += 1
        self.skipped_batches += sum(r.action == "skip_batch" for r in outcome.repairs)
        self.rollbacks += sum(r.action == "rollback" for r in outcome.repairs)
        room = self.log_limit - len(self.log)
        if room > 0:
            entries: list[Detection | Repair] = [*outcome.detections, *outcome.repairs]
            self.log.extend(entries[:room])

    def as_dict(self) -> dict[str, Any]:
        """Counters as plain JSON-ready values (the log is left out)."""
        return {
            "steps": self.steps,
            "executions": self.executions,
            "detected": self.detected,
            "corrected": self.corrected,
            "unrepaired": self.unrepaired,
            "false_alarms": self.false_alarms,
            "skipped_batches": self.skipped_batches,
            "rollbacks": self.rollbacks,
            "overhead_s": self.overhead_s,
            "by_detector": dict(sorted(self.by_detector.items())),
            "by_repair": dict(sorted(self.by_repair.items())),
        }

    def state_dict(self) -> dict[str, Any]:
        """Counters and log as plain values (``torch.load(weights_only=True)``-safe)."""
        state = self.as_dict()
        state["log"] = [
            {"kind": "detection" if isinstance(e, Detection) else "repair", **asdict(e)}
            for e in self.log
        ]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        for name in (
            "steps",
            "executions",
            "detected",
            "corrected",
            "unrepaired",
            "false_alarms",
            "skipped_batches",
            "rollbacks",
        ):
            setattr(self, name, int(state[name]))
        self.overhead_s = float(state["overhead_s"])
        self.by_detector = Counter({str(k): int(v) for k, v in state["by_detector"].items()})
        self.by_repair = Counter({str(k): int(v) for k, v in state["by_repair"].items()})
        log: list[Detection | Repair] = []
        for entry in state.get("log", []):
            fields = {k: v for k, v in entry.items() if k != "kind"}
            log.append(Detection(**fields) if entry["kind"] == "detection" else Repair(**fields))
        self.log = log
