"""Local training as a pure job: state in, trained state out, anywhere.

A satellite's local training round runs through the onboard trainer
(:class:`~orbitlearn.onboard.OnboardTrainer`) in one or more *slices*. Each slice is a
:class:`TrainingJob` evaluated by :func:`run_training_job`, a pure function of the
:class:`TrainingContext` (model factory, loss, data shards, device, healing policy: the same for
the whole mission) and the job (global weights or the trainer state to continue from, the
budget, the radiation rates, the seed). It returns a :class:`TrainingResult` (weights, the
trainer state, the last onboard checkpoint, what the slice cost and what went wrong). Nothing
else is read or written, so a job gives the same result in this process, in a process pool or
on a Ray worker: torch runs on one thread inside a job, and every random stream is seeded from
the job.

What a satellite keeps between rounds (``carry``): its data position (so rounds walk through its
shard) and its fault injector (the environment's random stream and the stuck bits, which are
damage to the hardware). A round starts from the global weights with a fresh optimizer and
fresh healing statistics; inside a round the full trainer state travels from slice to slice.

Onboard checkpoints: every ``checkpoint_every_steps`` steps of a round the job scrubs the state
(healing verifies and repairs it) and keeps a copy of the trainer state, the satellite's
non-volatile checkpoint. Device resets are drawn by the engine over the slice (it knows the
reset rate of the timeline and stops the slice at the reset time through ``max_seconds``); the
engine then restores that checkpoint, so a reset costs the work since it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from orbitlearn.federation.tensors import NamedArrays, arrays_to_state_dict, state_dict_to_arrays
from orbitlearn.mission.workload import LossFn, ModelFactory

__all__ = [
    "TrainingContext",
    "TrainingJob",
    "TrainingResult",
    "make_optimizer",
    "run_training_job",
]


@dataclass(frozen=True)
class TrainingContext:
    """What every training job of a mission shares (shipped once per worker).

    Attributes:
        key: identifies the context (workers cache it under this key).
        model_factory: picklable ``seed -> nn.Module``.
        loss_fn: picklable loss.
        shards: per-satellite ``(inputs, targets)`` numpy arrays.
        batch_size: samples per step.
        optimizer: ``"adam"`` or ``"sgd"`` (fresh every round).
        device: device preset name (:data:`orbitlearn.onboard.DEVICE_PRESETS`).
        healing: healing policy name.
        fault_targets: what radiation can hit (``weights``, ``optimizer``, ...).
        faults_enabled: whether a fault injector is attached.
        checkpoint_every_steps: onboard checkpoint period in round steps (0: none).
        data_seed: seeds each satellite's batch order (with the satellite index).
    """

    key: str
    model_factory: ModelFactory
    loss_fn: LossFn
    shards: tuple[tuple[NDArray[Any], NDArray[Any]], ...]
    batch_size: int
    optimizer: str = "adam"
    device: str = "jetson-orin-nano-15w"
    healing: str = "standard"
    fault_targets: tuple[str, ...] = ("weights", "optimizer")
    faults_enabled: bool = True
    checkpoint_every_steps: int = 10
    data_seed: int = 0


@dataclass
class TrainingJob:
    """One training slice of one satellite.

    Attributes:
        sat: satellite index.
        seed: seed of this round (trainer stream, fault injector at the first round).
        start_time_s: simulated clock at the start (``unix_s``).
        max_steps: most steps in this slice.
        max_seconds: simulated-time budget (``None``: none).
        max_joules: energy budget (``None``: none).
        learning_rate: local learning rate.
        proximal_mu: FedProx coefficient (0: none).
        base_params: global weights the round starts from (first slice of a round).
        state: the trainer state to continue from (later slices); ``None`` at a round start.
        carry: what the satellite kept from earlier rounds (``None`` at its first round): its
            batch order position, fault injector and the medians of its last round's losses
            and gradient norms (a coarse guard for the next round's spike warm-up).
        round_steps_done: steps of the round done before this slice (aligns checkpoints).
        keep_state: return the trainer state and the onboard checkpoint (False when the
            engine knows the round ends with this slice: they would never be read).
        upset_rate_per_bit_s: memory upsets per bit per second over the slice.
        multi_bit_fraction: share of upsets that are multi-bit.
    """

    sat: int
    seed: int
    start_time_s: float
    max_steps: int
    max_seconds: float | None = None
    max_joules: float | None = None
    learning_rate: float = 1e-3
    proximal_mu: float = 0.0
    base_params: NamedArrays | None = None
    state: dict[str, Any] | None = None
    carry: dict[str, Any] | None = None
    round_steps_done: int = 0
    keep_state: bool = True
    upset_rate_per_bit_s: float = 0.0
    multi_bit_fraction: float = 0.0


@dataclass
class TrainingResult:
    """What a slice did and the state it left.

    Attributes:
        sat: satellite index.
        params: the weights at the end of the slice.
        state: the trainer state at the end (continue the round from it).
        checkpoint: ``(round_step, time_s, trainer state)`` of the last onboard checkpoint
            written in this slice, or ``None``.
        carry: what the satellite keeps for its next round.
        steps, updates, executions: steps processed, updates applied, executions run.
        start_time_s, end_time_s, seconds, joules: simulated clock and cost.
        stop_reason: why the slice stopped (``max_steps``, ``max_seconds``, ``max_joules``, ...).
        mean_loss: mean of the finite step losses (NaN if none).
        flops_per_step: counted FLOPs of a step.
        fault_events: the faults injected, as :meth:`orbitlearn.faults.FaultEvent.to_dict` rows.
        detected, corrected, false_alarms: healing's detections in this slice.
        covered: upsets the detections account for (a detection that found ``k`` wrong
            elements covers ``k``; one without a count covers one).
        finite: whether every floating-point weight is finite.
    """

    sat: int
    params: NamedArrays
    state: dict[str, Any]
    checkpoint: tuple[int, float, dict[str, Any]] | None
    carry: dict[str, Any]
    steps: int = 0
    updates: int = 0
    executions: int = 0
    start_time_s: float = 0.0
    end_time_s: float = 0.0
    seconds: float = 0.0
    joules: float = 0.0
    stop_reason: str = ""
    mean_loss: float = float("nan")
    flops_per_step: int = 0
    fault_events: list[dict[str, Any]] = field(default_factory=list)
    detected: int = 0
    corrected: int = 0
    false_alarms: int = 0
    covered: int = 0
    finite: bool = True


#: Counted step FLOPs per (context, FedProx or not, batch shapes), shared by the jobs of this
#: process: FLOPs depend on the architecture and the shapes, not on the weights, and counting
#: them (a traced step) costs far more than a small model's step.
_FLOPS: dict[tuple[Any, ...], Any] = {}


def _shape_key(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return (tuple(value.shape), str(value.dtype))
    if isinstance(value, tuple | list):
        return tuple(_shape_key(v) for v in value)
    return type(value).__name__


def _shared_flops(model: torch.nn.Module, loss_fn: LossFn, prefix: tuple[Any, ...]) -> Any:
    from orbitlearn.onboard.flops import FlopCache, StepFlops

    class SharedFlopCache(FlopCache):
        """A :class:`FlopCache` whose counts are shared by every job of the context."""

        def get(self, inputs: Any, targets: Any) -> StepFlops:
            key = (*prefix, _shape_key(inputs), _shape_key(targets))
            found: StepFlops | None = _FLOPS.get(key)
            if found is None:
                found = super().get(inputs, targets)
                _FLOPS[key] = found
            return found

    return SharedFlopCache(model, loss_fn)


def make_optimizer(
    name: str, model: torch.nn.Module, learning_rate: float
) -> torch.optim.Optimizer:
    """A fresh local optimizer (``adam`` or ``sgd``)."""
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=learning_rate)
    return torch.optim.Adam(model.parameters(), lr=learning_rate)


def _clone(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, Mapping):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_clone(v) for v in value)
    return copy.copy(value)


def _loss_with_proximal(
    loss_fn: LossFn, model: torch.nn.Module, params: NamedArrays, mu: float
) -> LossFn:
    from orbitlearn.federation.proximal import global_reference, proximal_term

    reference = global_reference(model, params)

    def loss(output: Any, targets: Any) -> torch.Tensor:
        return loss_fn(output, targets) + proximal_term(model, reference, mu)

    return loss


def run_training_job(context: TrainingContext, job: TrainingJob) -> TrainingResult:
    """Run one training slice (see the module docstring). Pure: same inputs, same result.

    Raises:
        InputError / CheckpointError: a job that does not fit the context (a bug upstream).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(context, job)
    finally:
        torch.set_num_threads(threads)


def _run(context: TrainingContext, job: TrainingJob) -> TrainingResult:
    from orbitlearn.faults import FaultInjector
    from orbitlearn.onboard import OnboardTrainer, ResumableBatches

    inputs, targets = context.shards[job.sat]
    model = context.model_factory(job.seed)
    if job.state is None:
        if job.base_params is None:
            raise ValueError("a job at a round start needs base_params")
        model.load_state_dict(arrays_to_state_dict(job.base_params, like=model.state_dict()))
        round_params = job.base_params
    else:
        round_params = job.state["round_params"]
    optimizer = make_optimizer(context.optimizer, model, job.learning_rate)
    data = ResumableBatches(
        torch.from_numpy(np.ascontiguousarray(inputs)),
        torch.from_numpy(np.ascontiguousarray(targets)),
        batch_size=context.batch_size,
        seed=int(np.random.SeedSequence([context.data_seed, job.sat]).generate_state(1)[0]),
    )
    injector = None
    if context.faults_enabled:
        injector = FaultInjector(
            list(context.fault_targets),
            rate_per_bit_s=0.0,
            multi_bit_fraction=job.multi_bit_fraction,
            seed=job.seed,
        )
    loss_fn = context.loss_fn
    if job.proximal_mu > 0:
        loss_fn = _loss_with_proximal(loss_fn, model, round_params, job.proximal_mu)
    trainer = OnboardTrainer(
        model,
        optimizer,
        data,
        loss_fn=loss_fn,
        healing=context.healing,
        faults=injector,
        device=context.device,
        checkpoints=None,
        checkpoint_every_steps=0,
        seed=job.seed,
    )
    trainer.flops = _shared_flops(model, loss_fn, (context.key, job.proximal_mu > 0))
    if job.state is not None:
        trainer.load_state_dict(job.state["trainer"])
    elif job.carry is not None and job.carry.get("data") is not None:
        trainer.stream.load_state_dict(job.carry["data"])
    if (
        job.state is None
        and job.carry is not None
        and injector is not None
        and job.carry.get("faults") is not None
    ):
        injector.load_state_dict(job.carry["faults"])
    if job.state is None and job.carry is not None and job.carry.get("spikes") is not None:
        # the loss and gradient-norm medians of the last round guard this round's warm-up,
        # which a fresh detector would leave unjudged (see SpikeDetector.set_prior)
        trainer.healing.loss_spikes.set_prior(job.carry["spikes"]["loss"])
        trainer.healing.grad_spikes.set_prior(job.carry["spikes"]["grad"])
    if injector is not None:
        injector.events = []
        injector.multi_bit_fraction = float(job.multi_bit_fraction)
        injector.set_rates(rate_per_bit_s=float(job.upset_rate_per_bit_s))

    result = TrainingResult(
        sat=job.sat,
        params={},
        state={},
        checkpoint=None,
        carry={},
        start_time_s=job.start_time_s,
    )
    losses: list[float] = []
    every = context.checkpoint_every_steps
    done_in_round = job.round_steps_done
    seconds_left = job.max_seconds
    joules_left = job.max_joules
    remaining = job.max_steps
    first = True
    while remaining > 0:
        chunk = remaining if every <= 0 else min(remaining, every - done_in_round % every)
        piece = trainer.train_slice(
            max_steps=chunk,
            max_seconds=seconds_left,
            max_joules=joules_left,
            start_time_s=job.start_time_s if first else None,
        )
        first = False
        result.steps += piece.steps
        result.updates += piece.updates
        result.executions += piece.executions
        result.seconds += piece.seconds
        result.joules += piece.joules
        result.stop_reason = piece.stop_reason
        result.flops_per_step = piece.flops_per_step or result.flops_per_step
        losses.extend(v for v in piece.losses if math.isfinite(v))
        result.fault_events.extend(e.to_dict() for e in piece.fault_events)
        for detection in piece.detections:
            if detection.resolution == "false_alarm":
                result.false_alarms += 1
                continue
            result.detected += 1
            result.corrected += detection.resolution == "corrected"
            result.covered += max(1, int(detection.elements))
        done_in_round += piece.steps
        remaining -= piece.steps
        if seconds_left is not None:
            seconds_left = max(0.0, seconds_left - piece.seconds)
        if joules_left is not None:
            joules_left = max(0.0, joules_left - piece.joules)
        if piece.steps < chunk:
            break
        if every > 0 and done_in_round % every == 0:
            scrub = trainer.healing.scrub(step=trainer.step)
            for detection in scrub.detections:
                result.detected += 1
                result.corrected += detection.resolution == "corrected"
                result.covered += max(1, int(detection.elements))
            if job.keep_state:
                result.checkpoint = (
                    done_in_round,
                    trainer.time_s,
                    _snapshot(trainer, round_params),
                )
    if remaining == 0:
        result.stop_reason = "max_steps"
    result.end_time_s = trainer.time_s
    result.mean_loss = float(np.mean(losses)) if losses else float("nan")
    if injector is not None:
        injector.events = []
    if job.keep_state or remaining > 0:
        result.state = _snapshot(trainer, round_params)
    result.params = state_dict_to_arrays(model.state_dict())
    result.finite = all(
        bool(np.all(np.isfinite(a))) for a in result.params.values() if a.dtype.kind == "f"
    )
    result.carry = {
        "data": _clone(trainer.stream.state_dict()),
        "faults": None if injector is None else _clone(injector.state_dict()),
        "spikes": {
            "loss": trainer.healing.loss_spikes.median(),
            "grad": trainer.healing.grad_spikes.median(),
        },
    }
    return result


def _snapshot(trainer: Any, round_params: NamedArrays) -> dict[str, Any]:
    """A detached copy of the trainer state plus the round's base weights."""
    return {"trainer": _clone(trainer.state_dict()), "round_params": round_params}
