"""Executors: the same job gives the same result anywhere; Ray is optional."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from orbitlearn.errors import MissingDependencyError
from orbitlearn.mission.build import build_mission
from orbitlearn.mission.executors import InProcessExecutor, make_executor
from orbitlearn.mission.jobs import TrainingJob, run_training_job

from .conftest import tiny_config


def _job(build, **changes) -> TrainingJob:
    values = dict(
        sat=1,
        seed=7,
        start_time_s=build.start_s,
        max_steps=6,
        base_params=build.initial_params,
        upset_rate_per_bit_s=0.05,
        multi_bit_fraction=0.012,
    )
    values.update(changes)
    return TrainingJob(**values)


def test_a_job_is_pure_and_keeps_its_checkpoints():
    build = build_mission(
        tiny_config("satellite.checkpoint_every_steps=4", 'satellite.device="rad-hard-cpu"')
    )
    job = _job(build)
    first = run_training_job(build.context, job)
    second = run_training_job(build.context, job)
    assert first.steps == 6 and first.stop_reason == "max_steps"
    for name, array in first.params.items():
        assert np.array_equal(array, second.params[name])
    assert first.fault_events == second.fault_events and len(first.fault_events) > 0
    step, time_s, _ = first.checkpoint
    assert step == 4 and build.start_s < time_s < first.end_time_s
    # continuing from the end state runs the next steps of the same round
    more = run_training_job(
        build.context,
        _job(
            build,
            base_params=None,
            state=first.state,
            round_steps_done=6,
            start_time_s=first.end_time_s,
        ),
    )
    assert more.steps == 6 and more.checkpoint[0] == 12


def test_inprocess_executor_runs_lazily_and_once():
    build = build_mission(tiny_config())
    executor = InProcessExecutor(build.context)
    handle = executor.submit(_job(build))
    assert handle.result is None
    result = executor.result(handle)
    assert executor.result(handle) is result


def test_ray_executor_without_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch):
    build = build_mission(tiny_config())
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependencyError) as caught:
        make_executor("ray", build.context)
    assert str(caught.value) == (
        "The Ray executor (executor.kind = 'ray') needs the optional dependency `ray`; "
        "install it with: pip install 'orbitlearn[ray]'"
    )


def test_spike_medians_guard_the_next_rounds_warm_up():
    """A fresh spike detector judges nothing for its first 16 values; a satellite's next round
    gets the medians of its last round, so a value orders of magnitude above them is judged
    from the first step on, while the new round's own statistics start afresh."""
    build = build_mission(tiny_config('faults.healing="standard"'))
    first = run_training_job(build.context, _job(build, max_steps=20, upset_rate_per_bit_s=0.0))
    medians = first.carry["spikes"]
    assert medians["loss"] > 0 and medians["grad"] > 0
    second = run_training_job(
        build.context,
        _job(build, max_steps=5, upset_rate_per_bit_s=0.0, seed=8, carry=first.carry),
    )
    # the next round's detectors held the prior (its state travels in the trainer state)
    spikes = second.state["trainer"]["trainer"]["healing"]["loss_spikes"]
    assert spikes["prior"] == medians["loss"] and len(spikes["values"]) == 5
    fresh = run_training_job(
        build.context, _job(build, max_steps=5, upset_rate_per_bit_s=0.0, seed=8)
    )
    assert fresh.state["trainer"]["trainer"]["healing"]["loss_spikes"]["prior"] is None
