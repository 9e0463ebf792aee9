"""Settings of the real-data evaluations: one record per data layout, defaults the chosen ones.

:func:`~orbitlearn.workloads.evaluate.evaluate_opssat` and
:func:`~orbitlearn.workloads.evaluate.cross_validate_opssat` both read an
:class:`OpsSatSettings`; :func:`~orbitlearn.workloads.evaluate.evaluate_telemanom` and
:func:`~orbitlearn.workloads.evaluate.validate_telemanom` both read a
:class:`TelemanomSettings`. So a candidate is validated with exactly the settings it is later
evaluated with, and the defaults live in one place (how they were chosen:
:mod:`orbitlearn.workloads.evaluate` and ``bench/health_selection.py``).

Each record builds its workload and its :class:`~orbitlearn.workloads.training.TrainingConfig`
and lists itself for a report (:meth:`as_dict`). :func:`with_overrides` applies keyword
settings by name, with a clear error for a name the record does not have:

>>> with_overrides(TelemanomSettings(), {"window": 64}).window
64
>>> with_overrides(OpsSatSettings(), {"widht": 3})
Traceback (most recent call last):
...
orbitlearn.errors.InputError: Expected `setting` to be one of batch_size, channels, dropout, \
hidden, learning_rate, members, sampling, steps, threshold, transform, weight_decay, actual: 'widht'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, TypeVar

from orbitlearn.errors import InputError
from orbitlearn.workloads.opssat import OpsSatTable, OpsSatWorkload
from orbitlearn.workloads.telemanom import TelemanomData, TelemanomWorkload
from orbitlearn.workloads.thresholds import DynamicThresholdConfig
from orbitlearn.workloads.training import TrainingConfig

__all__ = ["OpsSatSettings", "TelemanomSettings", "with_overrides"]

#: Device profile the onboard trainer simulates unless told otherwise.
DEFAULT_DEVICE = "jetson-orin-nano-15w"

_Settings = TypeVar("_Settings", "OpsSatSettings", "TelemanomSettings")


def with_overrides(settings: _Settings, overrides: dict[str, Any]) -> _Settings:
    """``settings`` with the fields named in ``overrides`` replaced.

    Raises:
        InputError: a name that is not a field of the record (the allowed names listed).
    """
    names = sorted(f.name for f in fields(settings))
    for name in overrides:
        if name not in names:
            raise InputError("setting", name, f"one of {', '.join(names)}")
    return replace(settings, **overrides)


@dataclass(frozen=True)
class OpsSatSettings:
    """The OPS-SAT-AD detector and its training (defaults: the setting chosen by
    cross-validation on the official training rows).

    Attributes:
        steps, batch_size, learning_rate, weight_decay: training (AdamW).
        hidden, members, dropout: the ensemble of MLPs
            (:class:`~orbitlearn.workloads.models.BatchedEnsembleMLP`).
        transform, channels, sampling: the inputs
            (:class:`~orbitlearn.workloads.opssat.FeatureEncoder`).
        threshold: probability above which a segment is anomalous.
    """

    steps: int = 2000
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    hidden: int = 64
    members: int = 8
    dropout: float = 0.1
    transform: str = "standard+nominal"
    channels: bool = True
    sampling: bool = True
    threshold: float = 0.5

    def workload(self, table: OpsSatTable) -> OpsSatWorkload:
        """The workload on ``table`` (its ``train`` flags say which rows train)."""
        return OpsSatWorkload(
            table,
            hidden=self.hidden,
            members=self.members,
            dropout=self.dropout,
            threshold=self.threshold,
            transform=self.transform,
            channels=self.channels,
            sampling=self.sampling,
        )

    def training(self, healing: str = "none", device: str = DEFAULT_DEVICE) -> TrainingConfig:
        """How to train, on the onboard trainer with ``healing`` on ``device``."""
        return TrainingConfig(
            steps=self.steps,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            healing=healing,
            device=device,
        )

    def as_dict(self) -> dict[str, Any]:
        """The settings, JSON-ready."""
        return asdict(self)


@dataclass(frozen=True)
class TelemanomSettings:
    """The telemanom-layout forecaster, its training and what detection judges (defaults: the
    setting chosen on training series only, see :func:`~orbitlearn.workloads.evaluate.validate_telemanom`).

    Attributes:
        steps, batch_size, learning_rate, eval_every: training (AdamW); every ``eval_every``
            steps the forecast error on the held-out end of the training series is checked and
            the best weights kept.
        window, hidden, kind, horizon, command_lags, residual: the forecaster and its inputs
            (:class:`~orbitlearn.workloads.telemanom.TelemanomWorkload`).
        error_step: detection judges the forecasts this many values ahead (1 .. horizon).
        members: forecasters trained independently per model (seeds ``seed + 1000 i``) whose
            mean forecast is judged.
        novelty_window, novelty_weight: the distance of the recent values to the nearest
            training stretch added to the judged errors (0: none).
        step_novelty_weight: weight of the distance of each step (change from the previous
            value) to the nearest training step, added to the judged errors (0: none).
        per_channel: one model per channel (telemanom's protocol); False: one for all.
    """

    steps: int = 600
    batch_size: int = 64
    learning_rate: float = 1e-3
    eval_every: int = 60
    window: int = 250
    hidden: int = 128
    kind: str = "mlp"
    horizon: int = 10
    command_lags: int = 8
    residual: bool = False
    error_step: int = 1
    members: int = 3
    novelty_window: int = 1
    novelty_weight: float = 1.0
    step_novelty_weight: float = 0.0
    per_channel: bool = True

    def groups(self, data: TelemanomData) -> list[list[str]]:
        """The channels of each model: one per channel, or all in one."""
        if self.per_channel:
            return [[c.chan_id] for c in data.channels]
        return [[c.chan_id for c in data.channels]]

    def workload(
        self,
        data: TelemanomData,
        *,
        validation_fraction: float = 0.2,
        thresholds: DynamicThresholdConfig | None = None,
    ) -> TelemanomWorkload:
        """The workload on ``data`` (see :class:`~orbitlearn.workloads.telemanom.TelemanomWorkload`)."""
        return TelemanomWorkload(
            data,
            window=self.window,
            hidden=self.hidden,
            kind=self.kind,
            horizon=self.horizon,
            command_lags=self.command_lags,
            residual=self.residual,
            error_step=self.error_step,
            validation_fraction=validation_fraction,
            thresholds=thresholds,
            novelty_window=self.novelty_window,
            novelty_weight=self.novelty_weight,
            step_novelty_weight=self.step_novelty_weight,
        )

    def training(
        self, healing: str = "none", device: str = DEFAULT_DEVICE, torch_device: str = "cpu"
    ) -> TrainingConfig:
        """How to train, on the onboard trainer with ``healing`` on ``device`` (tensors on
        ``torch_device``)."""
        return TrainingConfig(
            steps=self.steps,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            eval_every=self.eval_every,
            healing=healing,
            device=device,
            torch_device=torch_device,
        )

    def as_dict(self) -> dict[str, Any]:
        """The settings, JSON-ready (``kind`` reported as ``model``, as the CLI names it)."""
        out = asdict(self)
        out["model"] = out.pop("kind")
        return out
