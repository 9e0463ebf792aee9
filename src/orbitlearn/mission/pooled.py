"""A mission's workload trained on every satellite's data pooled: the centralised upper bound.

Federated learning in orbit can at best approach what one model learns from all the
satellites' data in one place. :func:`evaluate_pooled` builds a mission as ``orbitlearn run``
would (its constellation, timeline and workload, the telemetry simulated from each
satellite's own orbit), trains the workload's model on the pooled training shards through the
onboard trainer (no faults: the ground-side bound), and scores it on the workload's held-out
data, per anomaly kind where the workload has kinds. Comparing a run's ``final_metric`` with
this figure says how much the constellation's learning left on the table.

>>> from orbitlearn.mission.config import load_mission
>>> config = load_mission(None, ["constellation.walker='2/1/0'", "time.days=0.1",
...                              "workload.samples_per_satellite=64"])
>>> report = evaluate_pooled(config, steps=20)
>>> report["workload"], report["satellites"], report["train_samples"]
('health', 2, 128)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from orbitlearn.errors import ConfigError, check_int
from orbitlearn.mission.build import build_mission
from orbitlearn.mission.config import MissionConfig
from orbitlearn.mission.workload import WorkloadAdapter
from orbitlearn.workloads.base import Workload
from orbitlearn.workloads.evaluate import step_cost, train_workload
from orbitlearn.workloads.training import TrainingConfig

__all__ = ["PooledWorkload", "evaluate_pooled", "pooled_workload"]


@dataclass(frozen=True)
class PooledWorkload:
    """A mission's workload, built once (several training seeds may share it).

    Attributes:
        config: the mission it was built for.
        workload: its :mod:`orbitlearn.workloads` workload (every satellite's shard in
            ``workload.train``).
        satellites: satellites of the mission's timeline.
        build_seconds: wall-clock time of the build (timeline and telemetry).
    """

    config: MissionConfig
    workload: Workload
    satellites: int
    build_seconds: float


def pooled_workload(config: MissionConfig) -> PooledWorkload:
    """Build ``config``'s mission (as ``orbitlearn run`` would) and keep its workload.

    Raises:
        ConfigError: a mission that cannot be built, or whose workload is not one of
            :mod:`orbitlearn.workloads` (a held-out split to score on).
    """
    started = time.perf_counter()
    build = build_mission(config)
    inner = build.workload.inner if isinstance(build.workload, WorkloadAdapter) else None
    if not isinstance(inner, Workload):
        raise ConfigError(
            "workload.name",
            config.workload.name,
            "a workload of orbitlearn.workloads (one with a held-out split), such as 'health'",
        )
    return PooledWorkload(config, inner, build.timeline.n_sats, time.perf_counter() - started)


def evaluate_pooled(
    config: MissionConfig | PooledWorkload, *, seed: int = 0, steps: int = 3000
) -> dict[str, Any]:
    """Train a mission's workload on all satellites' shards pooled and score it.

    Args:
        config: the mission (see :func:`orbitlearn.mission.config.load_mission`), or its
            workload already built by :func:`pooled_workload`; the mission's ``workload``
            section gives the batch size and learning rate, its ``satellite.device`` the
            simulated onboard time and energy.
        seed: seeds the model's initialisation and batch order.
        steps: training steps on the pooled data.

    Returns:
        The workload's report (for ``health``: ``precision``, ``recall``, ``f1``, ``f0_5``,
        ``auc_roc``, ``auc_pr``, confusion counts, ``per_kind`` and the held-out window
        counts), ``params``, ``flops_per_step``, ``train_seconds`` (wall clock),
        ``onboard_seconds``, ``onboard_joules``, ``build_seconds`` (timeline and telemetry,
        once per :class:`PooledWorkload`),
        the mission's name, satellites and days, and the settings.

    Raises:
        ConfigError: see :func:`pooled_workload`.
        InputError: a bad ``seed`` or ``steps``.
    """
    check_int("seed", seed)
    check_int("steps", steps, minimum=1)
    pooled = config if isinstance(config, PooledWorkload) else pooled_workload(config)
    mission, inner = pooled.config, pooled.workload
    training = TrainingConfig(
        steps=steps,
        batch_size=mission.workload.batch_size,
        learning_rate=mission.workload.learning_rate,
        device=mission.satellite.device,
    )
    model, fitted = train_workload(inner, training, seed)
    cost = step_cost(inner, model, training.batch_size)
    return {
        "workload": inner.name,
        "mission": mission.name,
        "satellites": pooled.satellites,
        "days": mission.time.days,
        "train_samples": len(inner.train),
        **inner.report(model),
        "params": cost["params"],
        "flops_per_step": cost["flops_per_step"],
        "train_seconds": fitted.train_seconds,
        "onboard_seconds": fitted.simulated_seconds,
        "onboard_joules": fitted.joules,
        "build_seconds": pooled.build_seconds,
        "steps": fitted.steps,
        "settings": {
            "seed": seed,
            "steps": steps,
            "batch_size": training.batch_size,
            "learning_rate": training.learning_rate,
            "device": training.device,
        },
    }
