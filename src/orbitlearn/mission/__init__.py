"""orbitlearn.mission: federated learning across a constellation, in simulated orbit.

Public API (loaded on first use, so ``import orbitlearn.mission.config`` stays light):

* configuration: :class:`MissionConfig`, :func:`load_mission`, :func:`apply_overrides`,
  :func:`to_toml` (:mod:`~orbitlearn.mission.config`);
* running: :func:`run_mission`, :func:`resume_mission` (:mod:`~orbitlearn.mission.runner`);
  :func:`build_mission` / :class:`MissionBuild` (:mod:`~orbitlearn.mission.build`) and
  :class:`MissionEngine` (:mod:`~orbitlearn.mission.engine`) for finer control;
* results: :class:`MissionResult` and the run-directory schema (:mod:`~orbitlearn.mission.results`);
* workloads: :class:`MissionWorkload`, :class:`SyntheticWorkload`;
* executors: :func:`make_executor`, :class:`InProcessExecutor`, :class:`ProcessExecutor`,
  :class:`RayExecutor`; training jobs: :class:`TrainingContext`, :class:`TrainingJob`,
  :class:`TrainingResult`, :func:`run_training_job`.

>>> from orbitlearn.mission import MissionConfig
>>> MissionConfig.default().strategy.name
'fedbuff'
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "InProcessExecutor",
    "MissionBuild",
    "MissionConfig",
    "MissionEngine",
    "MissionResult",
    "MissionWorkload",
    "ProcessExecutor",
    "RayExecutor",
    "SyntheticWorkload",
    "TrainingContext",
    "TrainingJob",
    "TrainingResult",
    "apply_overrides",
    "build_mission",
    "load_mission",
    "make_executor",
    "resume_mission",
    "run_mission",
    "run_training_job",
    "to_toml",
]

_WHERE = {
    "MissionConfig": "config",
    "apply_overrides": "config",
    "load_mission": "config",
    "to_toml": "config",
    "MissionBuild": "build",
    "build_mission": "build",
    "MissionEngine": "engine",
    "MissionResult": "results",
    "MissionWorkload": "workload",
    "SyntheticWorkload": "synthetic",
    "InProcessExecutor": "executors",
    "ProcessExecutor": "executors",
    "RayExecutor": "executors",
    "make_executor": "executors",
    "TrainingContext": "jobs",
    "TrainingJob": "jobs",
    "TrainingResult": "jobs",
    "run_training_job": "jobs",
    "run_mission": "runner",
    "resume_mission": "runner",
}


def __getattr__(name: str) -> Any:
    """Import the public names on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"orbitlearn.mission.{module}"), name)
