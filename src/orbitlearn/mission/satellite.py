"""A satellite in the mission: its state machine, its local round, its counters.

A satellite is always in one of five states (:class:`SatelliteState`), reported by
:meth:`Satellite.state` from what it is doing, most binding first:

* ``recovering``: rebooting after a device reset (``satellite.reboot_s``);
* ``training``: a training slice is running on the payload computer;
* ``transmitting``: an update leaves on the downlink or over an ISL;
* ``receiving``: a global model arrives on the uplink or over an ISL;
* ``idle``: none of these (waiting for a contact, the battery, or a new global model).

Transfers run on the radio beside the computer, so a satellite can receive while it trains;
the state names the most binding activity. Everything here is plain data (picklable) and is
saved whole in mission checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from orbitlearn.federation import ModelUpdate
from orbitlearn.federation.tensors import NamedArrays

__all__ = ["InFlightSlice", "LocalRound", "Satellite", "SatelliteCounters", "SatelliteState"]


class SatelliteState(StrEnum):
    """What a satellite is doing (see the module docstring)."""

    IDLE = "idle"
    TRAINING = "training"
    TRANSMITTING = "transmitting"
    RECEIVING = "receiving"
    RECOVERING = "recovering"


@dataclass
class LocalRound:
    """A local training round in progress (training from one global version).

    Attributes:
        base_version, base_params: the global model it started from.
        steps_total: local steps the strategy asked for.
        learning_rate, proximal_mu: from the strategy's client configuration.
        seed: the round's seed.
        index: how many rounds this satellite started before this one.
        steps_done: steps kept so far (a reset takes the steps since the checkpoint back).
        slices: slices run.
        state: trainer state after the last slice (``None``: start from ``base_params``).
        restart_carry: what a restart from the round's start uses (data position, injector).
        checkpoint: ``(round step, trainer state)`` of the last onboard checkpoint.
    """

    base_version: int
    base_params: NamedArrays
    steps_total: int
    learning_rate: float
    proximal_mu: float
    seed: int
    index: int
    steps_done: int = 0
    slices: int = 0
    state: dict[str, Any] | None = None
    restart_carry: dict[str, Any] | None = None
    checkpoint: tuple[int, dict[str, Any]] | None = None


@dataclass
class InFlightSlice:
    """A submitted training slice (its executor handle is kept by the engine)."""

    token: int
    start_s: float
    planned_end_s: float
    reset_s: float | None
    max_steps: int
    result: Any = None  # the TrainingResult, once collected


@dataclass
class SatelliteCounters:
    """Totals of one satellite over the mission (SI units)."""

    rounds: int = 0
    rounds_completed: int = 0
    slices: int = 0
    steps: int = 0
    lost_steps: int = 0
    resets: int = 0
    training_s: float = 0.0
    training_j: float = 0.0
    radio_j: float = 0.0
    faults_injected: int = 0
    faults_detected: int = 0
    faults_corrected: int = 0
    faults_silent: int = 0
    false_alarms: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    bytes_isl: int = 0
    updates_sent: int = 0
    updates_dropped: int = 0
    battery_waits: int = 0


@dataclass
class Satellite:
    """One satellite's mission state (see the module docstring)."""

    index: int
    round: LocalRound | None = None
    slice: InFlightSlice | None = None
    trained_version: int = -1
    carry: dict[str, Any] | None = None
    pending: list[ModelUpdate] = field(default_factory=list)
    uploading: bool = False
    upload_arrival_s: float = float("-inf")
    downloading: bool = False
    incoming_version: int = -1
    recovering_until: float | None = None
    waiting: str | None = None
    waiting_since: float | None = None
    in_contact: bool = False
    window: int = -1
    uploads_in_window: int = 0
    downloads_in_window: int = 0
    in_eclipse: bool = False
    in_saa: bool = False
    transmit_until: float = float("-inf")
    receive_until: float = float("-inf")
    counters: SatelliteCounters = field(default_factory=SatelliteCounters)

    def state(self, now_s: float) -> SatelliteState:
        """The state at ``now_s``."""
        if self.recovering_until is not None and now_s < self.recovering_until:
            return SatelliteState.RECOVERING
        if self.slice is not None:
            return SatelliteState.TRAINING
        if now_s < self.transmit_until:
            return SatelliteState.TRANSMITTING
        if now_s < self.receive_until:
            return SatelliteState.RECEIVING
        return SatelliteState.IDLE

    @property
    def busy_training(self) -> bool:
        """Whether a round is running or waiting to continue."""
        return self.round is not None
