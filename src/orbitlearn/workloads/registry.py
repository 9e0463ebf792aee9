"""Workloads a mission can name (``workload.name`` in the mission configuration).

:data:`WORKLOADS` maps each name to a builder ``(config, timeline) -> workload`` and
:func:`build_mission_workload` calls it; the mission engine
(:func:`orbitlearn.mission.workload.resolve_workload`) looks names up here. A mission workload
must give one training shard per satellite of the mission's timeline, which is why only
workloads whose data follow the timeline are listed: ``health`` (telemetry simulated from each
satellite's own orbit). The real-data workloads (OPS-SAT-AD, telemanom) are evaluated with
``orbitlearn workload evaluate``.

>>> sorted(WORKLOADS)
['health']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orbitlearn.errors import ConfigError

if TYPE_CHECKING:
    from orbitlearn.mission.config import MissionConfig
    from orbitlearn.space.timeline import Timeline

__all__ = ["WORKLOADS", "MissionWorkloadBuilder", "build_mission_workload"]

MissionWorkloadBuilder = Callable[..., Any]


def _build_health(config: MissionConfig, timeline: Timeline) -> Any:
    """The health workload: ``samples_per_satellite`` windows per satellite, seeded by the
    mission's ``seed``."""
    from orbitlearn.workloads.health import HealthWorkload

    return HealthWorkload(
        timeline,
        samples_per_satellite=int(config.workload.samples_per_satellite),
        seed=int(config.seed),
    )


#: Mission workload names -> builders ``(config=, timeline=) -> workload``.
WORKLOADS: dict[str, MissionWorkloadBuilder] = {"health": _build_health}


def build_mission_workload(name: str, *, config: MissionConfig, timeline: Timeline) -> Any:
    """The workload ``name`` for a mission with ``config`` over ``timeline``.

    The result has ``name``, ``metric_name``, ``higher_is_better``, a picklable
    ``model_factory(seed)``, a picklable ``loss_fn(output, targets)``, ``shard(i)`` for each
    satellite of ``timeline`` and ``evaluate(model)`` (what
    :class:`orbitlearn.mission.workload.WorkloadAdapter` takes).

    Raises:
        ConfigError: an unknown name (``workload.name``; the message lists the known ones) or a
            configuration the workload cannot use.
    """
    builder = WORKLOADS.get(name)
    if builder is None:
        raise ConfigError(
            "workload.name", name, "one of " + ", ".join(repr(k) for k in sorted(WORKLOADS))
        )
    from orbitlearn.errors import InputError

    try:
        return builder(config=config, timeline=timeline)
    except InputError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"workload ({exc.field})", exc.value, exc.allowed) from None
