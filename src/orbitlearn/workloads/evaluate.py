"""Train on a real data set's training split through the onboard trainer, report on its test split.

:func:`evaluate_opssat` and :func:`evaluate_telemanom` back ``orbitlearn workload evaluate``
and ``bench/health.py``. Their defaults were chosen on training data only:

- OPS-SAT-AD: an 8-member :class:`~orbitlearn.workloads.models.EnsembleMLP` (64 hidden units,
  59,912 parameters), AdamW (learning rate 2e-3, weight decay 1e-4), batches of 64, 2,000 steps
  on the whole training split, threshold 0.5. The number of steps is the one with the best
  mean F1 in a 5-fold cross-validation on the training rows (checked at 500-4,000 steps).
- telemanom layout: one :class:`~orbitlearn.workloads.models.WindowForecaster` per channel
  (telemanom's protocol), window 64, AdamW 1e-3, 600 steps of 64, keeping the weights with
  the lowest forecast error on the last 20 % (in time) of the channel's training series,
  checked every 60 steps; thresholds by nonparametric dynamic thresholding with telemanom's
  published parameters (:mod:`orbitlearn.workloads.thresholds`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from orbitlearn.errors import InputError
from orbitlearn.workloads.base import Workload
from orbitlearn.workloads.models import model_cost
from orbitlearn.workloads.opssat import OpsSatWorkload, load_opssat
from orbitlearn.workloads.telemanom import (
    ChannelResult,
    TelemanomWorkload,
    load_telemanom,
    summarise_channels,
)
from orbitlearn.workloads.training import FitResult, TrainingConfig, fit, torch_threads

__all__ = ["evaluate_opssat", "evaluate_telemanom", "train_workload"]


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError("seed", seed, "an integer >= 0")


def train_workload(
    workload: Workload, config: TrainingConfig, seed: int
) -> tuple[torch.nn.Module, FitResult]:
    """Build the workload's model from ``seed`` and fit it on the training split (validated on
    :attr:`Workload.validation` when the config asks for it)."""
    model = workload.model_factory(seed)
    result = fit(
        model,
        workload.train,
        loss_fn=workload.loss_fn,
        config=config,
        seed=seed,
        validation=workload.validation if config.eval_every else None,
    )
    return model, result


def _cost(workload: Workload, model: torch.nn.Module, batch_size: int) -> dict[str, int]:
    n = min(batch_size, len(workload.train))
    inputs, targets = workload.train.subset(np.arange(n)).tensors()
    return model_cost(model, workload.loss_fn, inputs, targets).as_dict()


def evaluate_opssat(
    path: str | Path,
    *,
    seed: int = 0,
    steps: int = 2000,
    members: int = 8,
    hidden: int = 64,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    healing: str = "none",
    device: str = "jetson-orin-nano-15w",
) -> dict[str, Any]:
    """Train on the official OPS-SAT-AD training split and report on its test split.

    Returns:
        JSON-ready figures: ``precision``, ``recall``, ``f1``, ``f0_5``, ``auc_roc``, ``auc_pr``,
        confusion counts, ``params``, ``flops_per_step``, ``train_seconds`` (wall clock),
        ``onboard_seconds`` and ``onboard_joules`` (simulated on ``device``), and the settings.

    Raises:
        DataError: the table cannot be used (see :func:`~orbitlearn.workloads.opssat.load_opssat`).
        InputError: a bad setting.
    """
    _check_seed(seed)
    table = load_opssat(path)
    workload = OpsSatWorkload(table, hidden=hidden, members=members)
    config = TrainingConfig(
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        weight_decay=1e-4,
        healing=healing,
        device=device,
    )
    with torch_threads(config.threads):
        model, result = train_workload(workload, config, seed)
        report = workload.report(model)
        cost = _cost(workload, model, batch_size)
    return {
        "workload": "opssat",
        "data": str(table.path),
        **report,
        "params": cost["params"],
        "flops_per_step": cost["flops_per_step"],
        "forward_flops_per_step": cost["forward_flops"],
        "train_seconds": result.train_seconds,
        "onboard_seconds": result.simulated_seconds,
        "onboard_joules": result.joules,
        "steps": result.steps,
        "settings": {
            "seed": seed,
            "steps": steps,
            "members": members,
            "hidden": hidden,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "healing": healing,
            "device": device,
        },
        "train_segments": len(workload.train),
    }


def evaluate_telemanom(
    root: str | Path,
    *,
    seed: int = 0,
    steps: int = 600,
    window: int = 64,
    hidden: int = 64,
    kind: str = "mlp",
    per_channel: bool = True,
    spacecraft: str | None = None,
    channels: list[str] | None = None,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    eval_every: int = 60,
    healing: str = "none",
    device: str = "jetson-orin-nano-15w",
) -> dict[str, Any]:
    """Train forecasters on a telemanom-layout directory and report event-wise on its test data.

    Args:
        root: the directory.
        seed: seeds initialisation, batch order and dropout.
        steps: training steps per model.
        window, hidden, kind: the forecaster.
        per_channel: one model per channel (telemanom's protocol); False: one model for all.
        spacecraft, channels: which channels (see :func:`load_telemanom`).
        batch_size, learning_rate, eval_every: training settings.
        healing, device: the onboard trainer's healing policy and device profile.

    Returns:
        JSON-ready totals (``precision``, ``recall``, ``f1``, ``f0_5`` event-wise; ``auc_roc``,
        ``auc_pr`` point-wise), ``params`` (of one model), ``models``, ``train_seconds``,
        ``channels`` (per-channel results) and the settings.

    Raises:
        DataError: the directory cannot be used (see :func:`load_telemanom`).
        InputError: a bad setting.
    """
    _check_seed(seed)
    data = load_telemanom(root, spacecraft=spacecraft, channels=channels)
    config = TrainingConfig(
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        eval_every=eval_every,
        healing=healing,
        device=device,
    )
    groups = (
        [[c.chan_id] for c in data.channels]
        if per_channel
        else [[c.chan_id for c in data.channels]]
    )
    results: list[ChannelResult] = []
    fits: list[FitResult] = []
    best_step: dict[str, int] = {}
    cost: dict[str, int] = {}
    started = time.perf_counter()
    with torch_threads(config.threads):
        for group in groups:
            workload = TelemanomWorkload(
                data.subset(group), window=window, hidden=hidden, kind=kind
            )
            model, result = train_workload(workload, config, seed)
            fits.append(result)
            results.extend(workload.detect(model))
            best_step.update(dict.fromkeys(group, result.best_step))
            cost = cost or _cost(workload, model, batch_size)
    summary = summarise_channels(results)
    for chan_id, chan in summary["channels"].items():
        chan["best_step"] = best_step[chan_id]
    return {
        "workload": "telemanom",
        "data": str(data.root),
        "spacecraft": sorted({c.spacecraft for c in data.channels}),
        **{k: v for k, v in summary.items() if k != "channels"},
        "params": cost["params"],
        "models": len(groups),
        "flops_per_step": cost["flops_per_step"],
        "forward_flops_per_step": cost["forward_flops"],
        "train_seconds": sum(f.train_seconds for f in fits),
        "evaluate_seconds": time.perf_counter() - started,
        "onboard_seconds": sum(f.simulated_seconds for f in fits),
        "onboard_joules": sum(f.joules for f in fits),
        "settings": {
            "seed": seed,
            "steps": steps,
            "window": window,
            "hidden": hidden,
            "model": kind,
            "per_channel": per_channel,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "eval_every": eval_every,
            "healing": healing,
            "device": device,
        },
        "channels": summary["channels"],
    }
