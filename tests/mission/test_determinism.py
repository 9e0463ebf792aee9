"""Same seed, same mission: on every executor, and across an interruption and resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from orbitlearn.errors import CheckpointError
from orbitlearn.mission.build import build_mission
from orbitlearn.mission.engine import MissionEngine
from orbitlearn.mission.runner import resume_mission, run_mission
from orbitlearn.space.timescale import parse_utc_iso

from .conftest import tiny_config

#: short but busy: every satellite trains several rounds, with faults and resets
BUSY = (
    "time.days=0.2",
    'satellite.device="rad-hard-cpu"',
    "faults.acceleration=3e6",
    'faults.healing="full"',
    "strategy.local_steps=8",
)


def _same_columns(a: dict, b: dict) -> bool:
    """Tables (name -> column) equal value for value, NaN equal to NaN."""
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = np.asarray(a[key]), np.asarray(b[key])
        if x.dtype.kind in "fc":
            if not np.array_equal(x, y, equal_nan=True):
                return False
        elif x.shape != y.shape or not np.all(x == y):
            return False
    return True


def _tables(out: Path, name: str) -> dict:
    return pq.read_table(out / f"{name}.parquet").to_pydict()


def test_inprocess_process_and_ray_give_the_same_mission():
    pytest.importorskip("ray")
    results = {}
    for kind in ("inprocess", "process", "ray"):
        config = tiny_config(*BUSY, f'executor.kind="{kind}"', "executor.workers=2")
        engine = MissionEngine(build_mission(config))
        result = engine.run()
        assert result is not None
        results[kind] = result
    reference = results["inprocess"]
    assert reference.summary["resets"] + reference.summary["faults"]["injected"] > 0
    for kind in ("process", "ray"):
        assert results[kind].summary == reference.summary, kind
        assert _same_columns(results[kind].metrics, reference.metrics), kind
        assert results[kind].curve == reference.curve, kind
        # parallel executors train first slices ahead of time (and use them when they match)
        assert results[kind].run_info["speculative_slices_used"] > 0, kind
    assert reference.run_info["speculative_slices_used"] == 0


def test_a_resumed_mission_ends_exactly_where_the_uninterrupted_one_ends(tmp_path: Path):
    config = tiny_config(*BUSY, "output.checkpoint_every_h=1.5")
    whole = tmp_path / "whole"
    assert run_mission(config, whole) is not None
    broken = tmp_path / "broken"
    start = parse_utc_iso(config.time.start)
    # killed after 3.4 h: the last checkpoint is at 3.0 h
    assert run_mission(config, broken, stop_after_s=start + 3.4 * 3600.0) is None
    assert (broken / "checkpoint" / "mission.ckpt").is_file()
    assert not (broken / "summary.json").exists()
    resumed = resume_mission(broken)
    assert resumed.summary == json.loads((whole / "summary.json").read_text())
    for name in ("metrics", "activity", "battery", "faults", "updates", "satellites"):
        assert _same_columns(_tables(broken, name), _tables(whole, name)), name


def test_resume_refuses_a_corrupt_checkpoint(tmp_path: Path):
    config = tiny_config("time.days=0.125", "output.checkpoint_every_h=1.0")
    start = parse_utc_iso(config.time.start)
    run_mission(config, tmp_path, stop_after_s=start + 1.5 * 3600.0)
    checkpoint = tmp_path / "checkpoint" / "mission.ckpt"
    data = bytearray(checkpoint.read_bytes())
    data[-10] ^= 0xFF
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="is corrupt"):
        resume_mission(tmp_path)
    checkpoint.unlink()
    with pytest.raises(CheckpointError, match="has no mission checkpoint"):
        resume_mission(tmp_path)
    with pytest.raises(CheckpointError, match=r"is not a run directory \(no config.toml\)"):
        resume_mission(tmp_path / "nothing-here")
