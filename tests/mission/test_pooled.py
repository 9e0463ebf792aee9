"""The centralised bound: a mission's workload trained on every satellite's data pooled."""

from __future__ import annotations

import pytest

from orbitlearn.errors import ConfigError, InputError
from orbitlearn.mission.config import load_mission
from orbitlearn.mission.pooled import evaluate_pooled, pooled_workload

SMALL = [
    "constellation.walker='3/1/0'",
    "time.days=0.25",
    "time.step_s=60.0",
    "workload.samples_per_satellite=128",
]


def test_one_build_serves_several_seeds_and_a_seed_repeats_exactly() -> None:
    world = pooled_workload(load_mission(None, SMALL))
    assert world.satellites == 3 and len(world.workload.train) == 3 * 128
    first = evaluate_pooled(world, seed=0, steps=40)
    again = evaluate_pooled(world, seed=0, steps=40)
    other = evaluate_pooled(world, seed=1, steps=40)
    assert first["build_seconds"] == again["build_seconds"] == world.build_seconds
    assert (first["tp"], first["fp"], first["auc_roc"]) == (
        again["tp"],
        again["fp"],
        again["auc_roc"],
    )
    assert other["auc_roc"] != first["auc_roc"]  # another seed, another model
    # every satellite's shard is in the pooled training data
    satellites = {str(name) for name in world.workload.train.source}
    assert len(satellites) == 3


def test_the_mission_sets_the_training() -> None:
    config = load_mission(None, [*SMALL, "workload.batch_size=16", "workload.learning_rate=0.01"])
    report = evaluate_pooled(config, steps=10)
    settings = report["settings"]
    assert (settings["batch_size"], settings["learning_rate"], settings["steps"]) == (16, 0.01, 10)
    assert report["settings"]["device"] == config.satellite.device
    assert report["onboard_joules"] > 0


def test_only_a_workload_with_a_held_out_split_can_be_pooled() -> None:
    with pytest.raises(
        ConfigError, match=r"`workload\.name`.*such as 'health', actual: 'synthetic'"
    ):
        pooled_workload(load_mission(None, [*SMALL, "workload.name='synthetic'"]))
    config = load_mission(None, SMALL)
    with pytest.raises(InputError, match="Expected `steps` to be an integer >= 1, actual: 0"):
        evaluate_pooled(config, steps=0)
    with pytest.raises(InputError, match="Expected `seed` to be an integer >= 0, actual: -1"):
        evaluate_pooled(config, seed=-1)
