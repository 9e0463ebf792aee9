"""Run directories for the report tests.

``make_run(path, **changes)`` writes a small run directory by hand, following the files and
schemas documented in :mod:`orbitlearn.mission.results` (3 satellites, 4 hours, with faults,
resets, ISL traffic and a rejected update, so every plot has something to draw). It takes
milliseconds; ``engine_run`` runs the real mission engine once per session on a tiny mission,
so the report is also checked against what the engine really writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

#: 2026-01-01T00:00:00Z
START_UNIX_S = 1_767_225_600.0
HOURS = 4.0
N_SATS = 3


def _summary(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "seed": 7,
        "strategy": "fedbuff",
        "workload": "synthetic",
        "satellites": N_SATS,
        "stations": 2,
        "mission_days": HOURS / 24.0,
        "ended_h": HOURS,
        "start": "2026-01-01T00:00:00Z",
        "metric_name": "accuracy",
        "higher_is_better": True,
        "initial_metric": 0.2,
        "final_metric": 0.8123,
        "best_metric": 0.8234,
        "target_metric": 0.8,
        "time_to_target_h": 2.5,
        "global_version": 3,
        "aggregations": 3,
        "energy_wh": 1.75,
        "energy_training_wh": 1.5,
        "energy_radio_wh": 0.25,
        "bytes_up": 123_456,
        "bytes_down": 654_321,
        "bytes_isl": 4_096,
        "faults": {"injected": 7, "detected": 5, "corrected": 4, "silent": 2, "false_alarms": 0},
        "resets": 1,
        "lost_steps": 3,
        "rejected_updates": 1,
        "rejections": {"bad signature": 1},
        "dropped_updates": {},
        "updates_sent": 5,
        "updates_received": 5,
        "updates_accepted": 4,
        "training_steps": 600,
        "local_rounds": 12,
        "battery_min_soc": 0.61,
        "battery_waits": 2,
        "occupancy": {
            "idle": 0.7,
            "training": 0.25,
            "transmitting": 0.02,
            "receiving": 0.02,
            "recovering": 0.01,
        },
        "notes": ["a note with <b>markup</b>"],
        "curve": [[0.0, 0.2], [1.0, 0.5], [2.5, 0.8234], [3.5, 0.8123]],
    }


def _metrics() -> dict[str, Any]:
    # evaluations at 0, 1, 2.5, 3.5 h; snapshots every hour; cumulative counters grow
    rows: list[dict[str, Any]] = []
    evaluations = {0.0: (0, 0.2), 1.0: (1, 0.5), 2.5: (2, 0.8234), 3.5: (3, 0.8123)}
    snapshots = {0.0: 0, 1.0: 1, 2.0: 1, 3.0: 2}
    times = sorted({*evaluations, *snapshots})
    for h in times:
        for kind in ("evaluation", "snapshot"):
            if (kind == "evaluation" and h not in evaluations) or (
                kind == "snapshot" and h not in snapshots
            ):
                continue
            version = evaluations[h][0] if kind == "evaluation" else snapshots[h]
            metric = evaluations[h][1] if kind == "evaluation" else [0.2, 0.5, 0.8234][version]
            share = h / HOURS
            rows.append(
                {
                    "time_unix_s": START_UNIX_S + 3600.0 * h,
                    "mission_h": h,
                    "kind": kind,
                    "version": version,
                    "metric": metric,
                    "num_updates": 2 if kind == "evaluation" and h > 0 else 0,
                    "contributors": 2 if kind == "evaluation" and h > 0 else 0,
                    "staleness_mean": 0.5 if kind == "evaluation" and h > 0 else float("nan"),
                    "staleness_max": 1,
                    "energy_wh": 1.6 * share,
                    "energy_training_wh": 1.4 * share,
                    "energy_radio_wh": 0.2 * share,
                    "battery_soc_mean": 0.8 if kind == "snapshot" else float("nan"),
                    "battery_soc_min": 0.65 if kind == "snapshot" else float("nan"),
                    "faults_injected": int(6 * share),
                    "faults_detected": int(4 * share),
                    "faults_corrected": int(3 * share),
                    "faults_silent": int(2 * share),
                    "resets": int(h >= 2.0),
                    "bytes_up": int(100_000 * share),
                    "bytes_down": int(600_000 * share),
                    "bytes_isl": int(4_096 * share),
                    "updates_received": int(4 * share),
                    "updates_accepted": int(3 * share),
                    "rejected_updates": int(h >= 3.0),
                    "n_idle": 2,
                    "n_training": 1,
                    "n_transmitting": 0,
                    "n_receiving": 0,
                    "n_recovering": 0,
                }
            )
    return {key: [row[key] for row in rows] for key in rows[0]}


def _satellites() -> dict[str, Any]:
    n = N_SATS
    return {
        "satellite": pa.array(range(n), pa.int32()),
        "name": [f"sat-{i}" for i in range(n)],
        "plane": pa.array([0, 0, 1], pa.int32()),
        "rounds": [4, 4, 4],
        "rounds_completed": [4, 4, 4],
        "slices": [8, 9, 8],
        "steps": [200, 197, 203],
        "lost_steps": [0, 3, 0],
        "resets": [0, 1, 0],
        "training_s": [1800.0, 1800.0, 1800.0],
        "training_j": [1800.0, 1800.0, 1800.0],
        "radio_j": [300.0, 300.0, 300.0],
        "faults_injected": [3, 2, 2],
        "faults_detected": [2, 2, 1],
        "faults_corrected": [2, 1, 1],
        "faults_silent": [1, 0, 1],
        "false_alarms": [0, 0, 0],
        "bytes_up": [41_152, 41_152, 41_152],
        "bytes_down": [218_107, 218_107, 218_107],
        "bytes_isl": [2_048, 2_048, 0],
        "updates_sent": [2, 2, 1],
        "updates_dropped": [0, 0, 0],
        "battery_waits": [1, 1, 0],
        "min_soc": [0.7, 0.61, 0.75],
        "share_idle": [0.7] * n,
        "share_training": [0.25] * n,
        "share_transmitting": [0.02] * n,
        "share_receiving": [0.02] * n,
        "share_recovering": [0.01] * n,
    }


def _intervals(rows: list[tuple[Any, ...]], names: tuple[str, ...]) -> dict[str, Any]:
    columns = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    columns["satellite"] = pa.array(columns["satellite"], pa.int32())
    for key in ("start_unix_s", "end_unix_s"):
        columns[key] = [START_UNIX_S + 3600.0 * h for h in columns[key]]
    return columns


def _activity() -> dict[str, Any]:
    rows = [
        (0, "training", 0.0, 0.5, "version 0"),
        (0, "transmitting", 0.6, 0.62, "downlink"),
        (0, "receiving", 0.62, 0.63, "uplink"),
        (1, "training", 0.0, 0.4, "version 0"),
        (1, "recovering", 2.0, 2.02, "reset"),
        (1, "waiting_battery", 2.02, 2.5, ""),
        (2, "training", 1.0, 1.5, "version 1"),
        (2, "transmitting", 1.6, 1.6000001, "isl->0"),
    ]
    return _intervals(rows, ("satellite", "activity", "start_unix_s", "end_unix_s", "detail"))


def _environment() -> dict[str, Any]:
    rows: list[tuple[Any, ...]] = []
    for sat in range(N_SATS):
        for orbit in range(3):
            begin = 0.3 * sat + 1.6 * orbit
            rows.append((sat, "eclipse", begin, begin + 0.6, "", -1))
        rows.append((sat, "saa", 1.0 + 0.2 * sat, 1.2 + 0.2 * sat, "", -1))
        rows.append((sat, "contact", 0.55 + sat, 0.65 + sat, "Bremen", -1))
    rows.append((0, "isl", 1.5, 1.7, "", 2))
    columns = _intervals(
        rows, ("satellite", "kind", "start_unix_s", "end_unix_s", "station", "peer")
    )
    columns["peer"] = pa.array(columns["peer"], pa.int32())
    return columns


def _battery() -> dict[str, Any]:
    times = START_UNIX_S + np.arange(0.0, HOURS * 3600.0 + 1.0, 60.0)
    sats, stamps, soc = [], [], []
    for sat in range(N_SATS):
        phase = np.sin(2.0 * np.pi * (times - START_UNIX_S) / 5760.0 + sat)
        sats.append(np.full(times.size, sat, dtype=np.int32))
        stamps.append(times)
        soc.append((0.8 + 0.15 * phase).astype(np.float32))
    soc_all = np.concatenate(soc)
    return {
        "satellite": np.concatenate(sats),
        "time_unix_s": np.concatenate(stamps),
        "soc": soc_all,
        "energy_wh": (77.0 * soc_all).astype(np.float32),
        "power_in_w": np.full(soc_all.size, 40.0, dtype=np.float32),
    }


def _faults() -> dict[str, Any]:
    rows = [
        (0.5, 0, "seu", "weights", "fc1.weight", 12, 30, 10),
        (0.9, 0, "seu", "optimizer", "exp_avg", 3, 27, 25),
        (1.2, 1, "mbu", "weights", "fc2.weight", 5, 24, 40),
        (2.0, 1, "reset", "", "", -1, -1, -1),
        (2.6, 2, "seu", "weights", "fc1.bias", 1, 31, 80),
        (3.1, 0, "stuck", "weights", "fc1.weight", 7, 29, 110),
        (3.3, 2, "seu", "weights", "fc1.weight", 9, 30, 120),
        (3.9, 1, "seu", "optimizer", "exp_avg_sq", 2, 26, 150),
    ]
    names = ("time_unix_s", "satellite", "kind", "target", "tensor", "flat_index", "bit", "step")
    columns: dict[str, Any] = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    columns["time_unix_s"] = [START_UNIX_S + 3600.0 * h for h in columns["time_unix_s"]]
    columns["satellite"] = pa.array(columns["satellite"], pa.int32())
    columns["bit"] = pa.array(columns["bit"], pa.int32())
    return columns


def _updates() -> dict[str, Any]:
    rows = [
        (0.62, 0, "0", 0, 0, 20_000, True, "", ""),
        (1.62, 1, "1", 0, 1, 20_000, True, "", ""),
        (2.2, 2, "2,0", 1, 0, 40_000, True, "", ""),
        (3.0, 0, "0", 2, -1, 20_000, False, "security", "bad signature"),
        (3.4, 1, "1", 2, 0, 23_456, True, "", ""),
    ]
    names = (
        "time_unix_s",
        "satellite",
        "contributors",
        "base_version",
        "staleness",
        "bytes",
        "accepted",
        "rejected_by",
        "reason",
    )
    columns: dict[str, Any] = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    columns["time_unix_s"] = [START_UNIX_S + 3600.0 * h for h in columns["time_unix_s"]]
    columns["satellite"] = pa.array(columns["satellite"], pa.int32())
    return columns


def _config_toml(name: str) -> str:
    quoted = json.dumps(name)  # a TOML basic string has JSON's escapes
    return (
        f'name = {quoted}\nseed = 7\n\n[constellation]\nkind = "walker"\nwalker = "3/3/1"\n\n'
        '[satellite]\nmin_soc_to_train = 0.5\n\n[strategy]\nname = "fedbuff"\n'
    )


def write_run_dir(path: Path, *, name: str = "report-test") -> Path:
    """Write the hand-made run directory into ``path`` (created)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "summary.json").write_text(json.dumps(_summary(name), indent=2))
    (path / "config.toml").write_text(_config_toml(name))
    (path / "run.json").write_text(json.dumps({"wall_s": 1.25, "executor": "inprocess"}))
    tables = {
        "metrics": _metrics(),
        "satellites": _satellites(),
        "activity": _activity(),
        "environment": _environment(),
        "battery": _battery(),
        "faults": _faults(),
        "updates": _updates(),
    }
    for table_name, columns in tables.items():
        pq.write_table(pa.table(columns), path / f"{table_name}.parquet")
    return path


@pytest.fixture
def make_run(tmp_path: Path) -> Callable[..., Path]:
    """``make_run(name=...)`` -> a fresh hand-made run directory under ``tmp_path``."""
    counter = iter(range(1_000_000))

    def _make(*, name: str = "report-test") -> Path:
        return write_run_dir(tmp_path / f"run{next(counter)}", name=name)

    return _make


@pytest.fixture
def run_dir(make_run: Callable[..., Path]) -> Path:
    return make_run()


@pytest.fixture(scope="session")
def shared_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hand-made run directory for tests that only read it (and its report)."""
    return write_run_dir(tmp_path_factory.mktemp("report") / "run")


#: A mission the engine runs in seconds (4 satellites in 2 planes, 3 hours).
TINY_MISSION = [
    'name="report-tiny"',
    'workload.name="synthetic"',
    "workload.samples_per_satellite=128",
    "workload.batch_size=32",
    'constellation.walker="4/2/1"',
    "time.days=0.125",
    "time.step_s=60.0",
    "strategy.local_steps=6",
    "strategy.buffer_size=2",
    "output.checkpoint_every_h=1.0",
]


@pytest.fixture(scope="session")
def engine_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory written by the real engine (``run_mission``), once per session."""
    from orbitlearn.mission.config import MissionConfig, apply_overrides
    from orbitlearn.mission.runner import run_mission

    out = tmp_path_factory.mktemp("engine") / "run"
    config = apply_overrides(MissionConfig.default(), TINY_MISSION)
    run_mission(config, out)
    return out
