"""Small missions for the engine tests (synthetic workload, a few satellites, hours)."""

from __future__ import annotations

import pytest

from orbitlearn.mission.config import MissionConfig, apply_overrides

#: A mission that runs in seconds: 4 satellites in 2 planes, 3 stations, 8 hours.
TINY = [
    'name="tiny"',
    'workload.name="synthetic"',
    "workload.samples_per_satellite=128",
    "workload.batch_size=32",
    'constellation.walker="4/2/1"',
    "time.days=0.3333333333333333",
    "time.step_s=30.0",
    "strategy.local_steps=6",
    "strategy.buffer_size=2",
    "satellite.checkpoint_every_steps=2",
    "output.checkpoint_every_h=2.0",
    # report.html takes a few seconds: only the engine's baseline run writes one
    "output.report=false",
]


def tiny_config(*overrides: str) -> MissionConfig:
    """The tiny mission with extra ``--set`` overrides."""
    return apply_overrides(MissionConfig.default(), [*TINY, *overrides])


@pytest.fixture
def tiny() -> MissionConfig:
    return tiny_config()
