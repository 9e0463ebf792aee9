"""Training a workload's model: every step runs through the onboard trainer.

:func:`fit` hands the model, an optimizer and seeded resumable batches to
:class:`orbitlearn.onboard.OnboardTrainer` and trains in slices of ``eval_every`` steps. After
each slice it measures the loss on a validation split (carved from the training data, never the
test split) and keeps the best weights (early stopping by model selection), so the trainer's
budgets, healing, fault injection and simulated device time and energy apply as they would in
orbit.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from orbitlearn.errors import InputError
from orbitlearn.onboard import OnboardTrainer, ResumableBatches
from orbitlearn.onboard.torch_device import model_device, parse_torch_device
from orbitlearn.workloads.base import LossFn, Samples

__all__ = ["FitResult", "TrainerFactory", "TrainingConfig", "fit", "torch_threads"]

TrainerFactory = Callable[..., OnboardTrainer]


@dataclass(frozen=True)
class TrainingConfig:
    """How to train.

    Attributes:
        steps: optimizer steps (batches) in total.
        batch_size: samples per batch.
        learning_rate: optimizer learning rate.
        weight_decay: decoupled weight decay (AdamW).
        eval_every: steps between validation checks (0: no validation, keep the last weights).
        healing: the onboard trainer's healing policy (``none``, ``detect``, ``standard``, ...).
        device: the onboard trainer's device profile (simulated time and energy).
        threads: torch intra-op threads while training (restored afterwards). Models this
            small train several times faster on one thread than on a shared multi-core CPU.
        torch_device: where the model and its batches live while training (``cpu``, or
            ``cuda`` to train a recurrent forecaster quickly on the ground); the simulated
            onboard time and energy still follow ``device``.
    """

    steps: int
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    eval_every: int = 0
    healing: str = "none"
    device: str = "jetson-orin-nano-15w"
    optimizer: Literal["adamw"] = "adamw"
    threads: int = 1
    torch_device: str = "cpu"

    def __post_init__(self) -> None:
        parse_torch_device("torch_device", self.torch_device)
        for name in ("steps", "batch_size", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(name, value, "an integer >= 1")
        if (
            isinstance(self.eval_every, bool)
            or not isinstance(self.eval_every, int)
            or self.eval_every < 0
        ):
            raise InputError("eval_every", self.eval_every, "an integer >= 0 (0: never)")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise InputError("learning_rate", self.learning_rate, "a number > 0")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise InputError("weight_decay", self.weight_decay, "a number >= 0")


@dataclass
class FitResult:
    """What :func:`fit` did.

    Attributes:
        steps: steps trained.
        best_step: the step whose weights were kept (the last step without validation).
        train_seconds: wall-clock seconds of training on this machine (validation included).
        simulated_seconds: onboard time the steps took on the device profile.
        joules: onboard energy they took.
        flops_per_step: counted FLOPs of one step (forward + backward).
        final_loss: mean training loss of the last slice.
        validation: ``(step, loss)`` after each slice.
    """

    steps: int = 0
    best_step: int = 0
    train_seconds: float = 0.0
    simulated_seconds: float = 0.0
    joules: float = 0.0
    flops_per_step: int = 0
    final_loss: float = float("nan")
    validation: list[tuple[int, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "best_step": self.best_step,
            "train_seconds": self.train_seconds,
            "simulated_seconds": self.simulated_seconds,
            "joules": self.joules,
            "flops_per_step": self.flops_per_step,
            "final_loss": self.final_loss,
        }


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous number."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _validation_loss(
    model: nn.Module, loss_fn: LossFn, data: Samples, batch_size: int = 4096
) -> float:
    inputs, targets = data.tensors()
    where = model_device(model)
    inputs, targets = inputs.to(where), targets.to(where)
    was_training = model.training
    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            stop = start + batch_size
            loss = loss_fn(model(inputs[start:stop]), targets[start:stop])
            total += float(loss) * (min(stop, len(data)) - start)
    model.train(was_training)
    return total / max(len(data), 1)


def fit(
    model: nn.Module,
    train: Samples,
    *,
    loss_fn: LossFn,
    config: TrainingConfig,
    seed: int,
    validation: Samples | None = None,
    trainer_factory: TrainerFactory = OnboardTrainer,
) -> FitResult:
    """Train ``model`` on ``train`` through the onboard trainer; keep the best validated weights.

    Args:
        model: the model (trained in place, on ``config.torch_device`` where it is left;
            left in eval mode).
        train: training samples.
        loss_fn: ``(output, targets) -> loss``.
        config: steps, batch size, optimizer settings, validation interval, healing, device.
        seed: seeds the batch order and the trainer's random stream (dropout).
        validation: samples for model selection (from the training data); with
            ``config.eval_every`` > 0 the weights with the lowest validation loss are kept.
        trainer_factory: builds the trainer (``OnboardTrainer`` or a wrapper of it).

    Returns:
        A :class:`FitResult`.

    Raises:
        InputError: empty training data.

    >>> import numpy as np
    >>> from orbitlearn.workloads.models import forecast_mse_loss
    >>> x = torch.linspace(0, 1, 256)[:, None].repeat(1, 2).numpy()
    >>> data = Samples(x, 3 * x[:, 0], np.zeros(256, "U1"), np.arange(256))
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Flatten(0))
    >>> result = fit(model, data, loss_fn=forecast_mse_loss, seed=0,
    ...              config=TrainingConfig(steps=200, learning_rate=0.1))
    >>> result.steps, round(float(model(torch.tensor([[0.5, 0.5]])).detach()), 1)  # y = 3 x
    (200, 1.5)
    """
    if len(train) == 0:
        raise InputError("train", "0 samples", "at least one training sample")
    model.to(config.torch_device)
    inputs, targets = train.tensors()
    inputs, targets = inputs.to(config.torch_device), targets.to(config.torch_device)
    batches = ResumableBatches(
        inputs, targets, batch_size=min(config.batch_size, len(train)), seed=seed
    )
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    trainer = trainer_factory(
        model,
        optimizer,
        batches,
        loss_fn=loss_fn,
        healing=config.healing,
        device=config.device,
        seed=seed,
    )
    result = FitResult()
    slice_steps = (
        config.eval_every if (config.eval_every and validation is not None) else config.steps
    )
    started = time.perf_counter()
    model.train()
    with torch_threads(config.threads):
        _train_slices(trainer, model, loss_fn, config, slice_steps, validation, result)
    result.train_seconds = time.perf_counter() - started
    model.eval()
    return result


def _train_slices(
    trainer: OnboardTrainer,
    model: nn.Module,
    loss_fn: LossFn,
    config: TrainingConfig,
    slice_steps: int,
    validation: Samples | None,
    result: FitResult,
) -> None:
    best_loss = math.inf
    best_state: dict[str, torch.Tensor] | None = None
    while result.steps < config.steps:
        done = trainer.train_slice(max_steps=min(slice_steps, config.steps - result.steps))
        if done.steps == 0:
            break
        result.steps += done.steps
        result.simulated_seconds += done.seconds
        result.joules += done.joules
        result.flops_per_step = done.flops_per_step
        finite = [v for v in done.losses if math.isfinite(v)]
        result.final_loss = sum(finite) / len(finite) if finite else float("nan")
        if validation is not None and config.eval_every:
            loss = _validation_loss(model, loss_fn, validation)
            result.validation.append((result.steps, loss))
            if loss < best_loss:
                best_loss = loss
                best_state = copy.deepcopy(model.state_dict())
                result.best_step = result.steps
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        result.best_step = result.steps
