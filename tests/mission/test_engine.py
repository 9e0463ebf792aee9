"""The mission engine on tiny missions: learning, bytes, links, battery, resets, security."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from orbitlearn.mission.build import build_mission
from orbitlearn.mission.engine import MissionEngine
from orbitlearn.mission.results import SUMMARY_KEYS, MissionResult
from orbitlearn.mission.runner import run_mission

from .conftest import tiny_config


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[MissionResult, Path]:
    out = tmp_path_factory.mktemp("baseline")
    result = run_mission(tiny_config("output.report=true"), out)
    assert result is not None
    return result, out


def test_tiny_mission_learns_and_writes_its_files(baseline):
    _, out = baseline
    summary = json.loads((out / "summary.json").read_text())
    for key in SUMMARY_KEYS:
        assert key in summary
    assert set(summary["faults"]) >= {"injected", "detected", "corrected", "silent"}
    assert summary["satellites"] == 4 and summary["strategy"] == "fedbuff"
    assert summary["metric_name"] == "accuracy"
    curve = summary["curve"]
    assert curve[0][0] == 0.0 and len(curve) == summary["aggregations"] + 1
    assert summary["final_metric"] > curve[0][1] + 0.15  # it learns
    hours = [h for h, _ in curve]
    assert hours == sorted(hours) and hours[-1] <= 8.0
    for name in (
        "config.toml",
        "metrics.parquet",
        "satellites.parquet",
        "activity.parquet",
        "environment.parquet",
        "battery.parquet",
        "faults.parquet",
        "updates.parquet",
        "timeline.parquet",
        "run.json",
        "report.html",
    ):
        assert (out / name).is_file(), name
    assert json.loads((out / "run.json").read_text())["report_written"] is True
    metrics = pq.read_table(out / "metrics.parquet").to_pydict()
    assert set(metrics["kind"]) == {"evaluation", "snapshot"}
    # the last row is a snapshot at the mission's end (8 h), with the summary's totals
    assert metrics["kind"][-1] == "snapshot" and metrics["mission_h"][-1] == pytest.approx(8.0)
    assert metrics["bytes_up"][-1] == summary["bytes_up"]
    assert metrics["bytes_down"][-1] == summary["bytes_down"]
    evaluation = [
        m for m, k in zip(metrics["metric"], metrics["kind"], strict=True) if k == "evaluation"
    ]
    assert evaluation == [v for _, v in curve]
    counts = np.array(
        [metrics[f"n_{s}"] for s in ("idle", "training", "transmitting", "receiving", "recovering")]
    )
    assert np.all(counts.sum(axis=0) == 4)


def test_bytes_are_counted_both_ways(baseline):
    result, out = baseline
    build = build_mission(tiny_config())
    updates = pq.read_table(out / "updates.parquet").to_pydict()
    summary = result.summary
    assert summary["bytes_up"] == sum(updates["bytes"]) > 0
    assert set(updates["bytes"]) == {build.update_bytes}
    assert summary["bytes_down"] > 0 and summary["bytes_down"] % build.global_bytes == 0
    activity = pq.read_table(out / "activity.parquet").to_pydict()
    downloads = sum(
        1
        for a, d in zip(activity["activity"], activity["detail"], strict=True)
        if a == "receiving" and d == "uplink"
    )
    assert summary["bytes_down"] == downloads * build.global_bytes
    # int8 quantisation: an update is about a quarter of the float32 global model
    assert build.update_bytes < 0.35 * build.global_bytes


def test_a_pass_sends_the_update_before_it_receives_the_global_model(baseline):
    """The download answering an upload starts when the ground has the update, never beside
    it (so the global model sent back can include it)."""
    result, _ = baseline
    activity = result.activity
    spans: dict[tuple[int, str], list[tuple[float, float]]] = {}
    for sat, kind, a, b, detail in zip(
        activity["satellite"],
        activity["activity"],
        activity["start_unix_s"],
        activity["end_unix_s"],
        activity["detail"],
        strict=True,
    ):
        if (kind, detail) in (("transmitting", "downlink"), ("receiving", "uplink")):
            spans.setdefault((int(sat), detail), []).append((a, b))
    both = 0
    for sat in range(4):
        for a_up, b_up in spans.get((sat, "downlink"), []):
            for a_down, b_down in spans.get((sat, "uplink"), []):
                assert not (a_down < b_up and a_up < b_down), (sat, a_up, a_down)
                both += int(0.0 <= a_down - b_up < 1.0)  # the answer, right after the upload
    assert both > 0


def test_a_transfer_spanning_two_passes_resumes_in_the_next(tmp_path: Path):
    build = build_mission(tiny_config())
    starts, ends = build.links.ground_windows(0)
    longest = float(np.max(ends - starts)) - 30.0
    # the global model needs 1.5 of the longest pass (after acquisition): it must span passes
    rate = build.global_bytes * 8.0 / (1.5 * longest)
    result = run_mission(tiny_config(f"links.uplink_bps={rate}"), tmp_path)
    activity = pq.read_table(tmp_path / "activity.parquet").to_pydict()
    spans = [
        (s, a, b)
        for s, k, d, a, b in zip(
            activity["satellite"],
            activity["activity"],
            activity["detail"],
            activity["start_unix_s"],
            activity["end_unix_s"],
            strict=True,
        )
        if k == "receiving" and d == "uplink"
    ]
    assert spans
    windows_per_transfer = {}
    for sat, a, b in spans:
        s, e = build.links.ground_windows(sat)
        k = int(np.searchsorted(e, a, side="right"))
        assert s[k] + 30.0 - 1e-6 <= a and b <= e[k] + 1e-6  # inside a window, after acquisition
        windows_per_transfer.setdefault(sat, []).append(k)
    assert any(len(set(ks)) >= 2 for ks in windows_per_transfer.values())
    assert result is not None and result.summary["global_version"] >= 1


def test_an_empty_battery_delays_training(tmp_path: Path):
    config = tiny_config("satellite.initial_soc=0.22", "satellite.min_soc_to_train=0.6")
    result = run_mission(config, tmp_path)
    assert result is not None and result.summary["battery_waits"] >= 4
    activity = pq.read_table(tmp_path / "activity.parquet").to_pydict()
    battery = pq.read_table(tmp_path / "battery.parquet").to_pydict()
    build_start = min(battery["time_unix_s"])
    waits = [
        (s, a, b)
        for s, k, a, b in zip(
            activity["satellite"],
            activity["activity"],
            activity["start_unix_s"],
            activity["end_unix_s"],
            strict=True,
        )
        if k == "waiting_battery"
    ]
    assert {s for s, _, _ in waits} == {0, 1, 2, 3}
    for sat in range(4):
        first = min(
            a
            for s, k, a in zip(
                activity["satellite"], activity["activity"], activity["start_unix_s"], strict=True
            )
            if s == sat and k == "training"
        )
        assert first > build_start + 600.0  # charging from 22 % to 60 % takes a while
        times = np.array(
            [
                t
                for s, t in zip(battery["satellite"], battery["time_unix_s"], strict=True)
                if s == sat
            ]
        )
        soc = np.array(
            [v for s, v in zip(battery["satellite"], battery["soc"], strict=True) if s == sat]
        )
        assert np.interp(first, times, soc) >= 0.6 - 0.02


def _engine_run(config) -> MissionEngine:
    engine = MissionEngine(build_mission(config))
    engine.run()
    return engine


def test_a_reset_costs_the_work_since_the_last_checkpoint():
    common = (
        'satellite.device="rad-hard-cpu"',
        "faults.acceleration=1e7",
        "strategy.local_steps=20",
        "time.days=0.125",
    )
    often = _engine_run(tiny_config(*common, "satellite.checkpoint_every_steps=2"))
    never = _engine_run(tiny_config(*common, "satellite.checkpoint_every_steps=0"))
    for engine in (often, never):
        resets = sum(s.counters.resets for s in engine.sats)
        assert resets >= 2
        for sat in engine.sats:
            c = sat.counters
            in_round = 0 if sat.round is None else sat.round.steps_done
            assert c.steps - c.lost_steps == c.rounds_completed * 20 + in_round
    lost_often = sum(s.counters.lost_steps for s in often.sats)
    resets_often = sum(s.counters.resets for s in often.sats)
    assert lost_often <= resets_often  # a checkpoint every 2 steps: at most 1 step lost
    lost_never = sum(s.counters.lost_steps for s in never.sats)
    assert lost_never > lost_often


def _tamper_satellite_0(direction: str, sat: int, frame: bytes) -> bytes:
    if direction != "up" or sat != 0:
        return frame
    # change a byte of the body and recompute the keyless digest: only the HMAC can tell
    data = bytearray(frame)
    body_end = len(data) - 64
    data[body_end - 1] ^= 0x01
    data[body_end : body_end + 32] = hashlib.sha256(bytes(data[:body_end])).digest()
    return bytes(data)


def test_tampered_updates_are_rejected_and_counted(tmp_path: Path):
    result = run_mission(tiny_config(), tmp_path, frame_filter=_tamper_satellite_0)
    assert result is not None
    updates = pq.read_table(tmp_path / "updates.parquet").to_pydict()
    from_0 = sum(1 for s in updates["satellite"] if s == 0)
    assert from_0 > 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rejected_updates"] == from_0
    assert summary["rejections"] == {"bad_signature": from_0}
    assert not any(
        a for s, a in zip(updates["satellite"], updates["accepted"], strict=True) if s == 0
    )


def test_bit_errors_on_the_link_are_caught_by_the_digest():
    engine = _engine_run(tiny_config("links.bit_error_rate=2e-5"))
    rejections = engine.records.rejections
    assert rejections.get("corrupt", 0) > 0
    assert engine.server.rejected_updates == sum(rejections.values())


def test_full_healing_corrects_every_upset_and_none_lets_them_through():
    faulty = (
        'satellite.device="rad-hard-cpu"',
        "faults.acceleration=1e9",
        'faults.resets="none"',
        "strategy.local_steps=20",
        "time.days=0.2",
    )
    full = _engine_run(tiny_config(*faulty, 'faults.healing="full"'))
    injected = sum(s.counters.faults_injected for s in full.sats)
    assert injected > 0
    assert sum(s.counters.faults_silent for s in full.sats) == 0
    corrected = sum(s.counters.faults_corrected for s in full.sats)
    assert corrected == sum(s.counters.faults_detected for s in full.sats) > 0
    clean = _engine_run(
        tiny_config(
            *faulty[:1], "strategy.local_steps=20", "time.days=0.2", "faults.acceleration=0"
        )
    )
    assert sum(s.counters.faults_injected for s in clean.sats) == 0
    metric = [r["metric"] for r in full.records.evaluations]
    assert metric == [r["metric"] for r in clean.records.evaluations]
    none = _engine_run(tiny_config(*faulty, 'faults.healing="none"'))
    assert sum(s.counters.faults_detected for s in none.sats) == 0
    assert (
        sum(s.counters.faults_silent for s in none.sats)
        == sum(s.counters.faults_injected for s in none.sats)
        > 0
    )


def test_isl_relay_passes_updates_and_models_along_the_plane():
    engine = _engine_run(tiny_config('strategy.name="isl-relay"', "links.isl_line_of_sight=false"))
    assert sum(s.counters.bytes_isl for s in engine.sats) > 0
    combined = [u for u in engine.records.updates if "," in u["contributors"]]
    assert combined  # a plane member uploaded its neighbour's training with its own
    assert engine.records.accepted == len(engine.records.updates)


def test_without_line_of_sight_the_relay_says_so_and_uses_the_ground():
    engine = _engine_run(tiny_config('strategy.name="isl-relay"'))
    assert sum(s.counters.bytes_isl for s in engine.sats) == 0
    assert engine.build.notes and "No intra-plane ISL has line of sight" in engine.build.notes[0]
    assert engine.records.accepted > 0


@pytest.mark.parametrize("strategy", ["fedavg", "fedprox", "fedasync", "orbit-aware"])
def test_every_strategy_runs_and_learns(strategy: str):
    engine = _engine_run(tiny_config(f'strategy.name="{strategy}"'))
    curve = [r["metric"] for r in engine.records.evaluations]
    assert len(curve) >= 2 and curve[-1] > curve[0]


def test_stop_at_target_ends_the_mission_at_the_first_model_on_target():
    config = tiny_config("time.stop_at_target=true", "workload.target_metric=0.3")
    engine = MissionEngine(build_mission(config))
    result = engine.run()
    assert result is not None
    summary = result.summary
    assert summary["time_to_target_h"] is not None
    assert summary["ended_h"] == pytest.approx(summary["time_to_target_h"], abs=1e-6)
    assert summary["final_metric"] >= 0.3 and summary["curve"][-2][1] < 0.3


def _uploads_per_pass(engine: MissionEngine) -> list[int]:
    counts = []
    for i in range(engine.build.n_sats):
        starts, ends = engine.links.ground_windows(i)
        sent = np.array(
            [
                a
                for s, k, a, _, d in engine.records.activity
                if s == i and k == "transmitting" and d == "downlink"
            ]
        )
        for a, b in zip(starts, ends, strict=True):
            counts.append(int(np.sum((sent >= a) & (sent < b))))
    return counts


def test_exchanges_per_pass_caps_the_uploads_of_a_pass():
    """One exchange per pass as in AsyncFLEO; two (the default) add an update trained on the
    answer received in the pass."""
    one = _uploads_per_pass(_engine_run(tiny_config("links.exchanges_per_pass=1")))
    two = _uploads_per_pass(_engine_run(tiny_config()))
    assert max(one) == 1
    assert max(two) == 2 and sum(two) > sum(one)
