"""Mission results: what a run learned and what it cost, and the files it writes.

A finished run is a :class:`MissionResult`; :meth:`MissionResult.write` puts it into the run
directory. Times are POSIX seconds UTC (``*_unix_s``) and, for plots, hours since the mission
start (``mission_h``). Every Parquet file is written atomically (temp file, fsync, rename).

**Files of a run directory** (``orbitlearn run --out DIR``)::

    config.toml          the resolved configuration (load_mission(DIR/config.toml) repeats it)
    summary.json         the headline numbers (below)
    metrics.parquet      metrics over mission time
    satellites.parquet   per-satellite totals
    activity.parquet     what each satellite did, as intervals
    environment.parquet  contacts, eclipses, SAA passes and ISL windows, as intervals
    battery.parquet      each satellite's battery over time
    faults.parquet       every fault (upsets, stuck bits, resets)
    updates.parquet      every update frame that reached the ground
    timeline.parquet     the mission's Timeline (orbitlearn.space.timeline schema)
    run.json             how the run went: wall time, executor, versions (not part of results)
    checkpoint/          the latest mission checkpoint (orbitlearn run --resume DIR)
    report.html          the report, when orbitlearn.report provides write_report

``summary.json`` keys: ``name``, ``seed``, ``strategy``, ``workload``, ``satellites``,
``stations``, ``mission_days``, ``start``, ``metric_name``, ``higher_is_better``,
``initial_metric``, ``final_metric`` (metric of the last global model), ``best_metric``,
``target_metric``, ``time_to_target_h`` (hours from the start to the first global model at or
beyond the target; null if never reached), ``global_version``, ``aggregations``,
``energy_wh`` (training plus transmitting, all satellites), ``energy_training_wh``,
``energy_radio_wh``, ``bytes_up`` (satellite -> ground: updates), ``bytes_down`` (ground ->
satellite: global models), ``bytes_isl``, ``faults`` {``injected``, ``detected``,
``corrected``, ``silent``, ``false_alarms``}, ``resets``, ``lost_steps``,
``rejected_updates`` (frames the ground's security checks refused), ``rejections`` (by
reason), ``dropped_updates`` (by reason: the strategy's refusals, updates not wanted or not
encodable onboard), ``updates_sent``, ``updates_received``, ``updates_accepted``,
``training_steps``, ``local_rounds``, ``battery_min_soc``, ``battery_waits``,
``occupancy`` (share of satellite-time per state), ``notes``, ``curve`` (a list of
``[mission_h, metric]``: the initial model, then each new global model).

``faults``: ``injected`` counts the upsets applied (bit flips, multi-bit upsets, stuck bits,
compute errors; resets are counted in ``resets``); ``detected`` and ``corrected`` count healing's
detections (one detection may cover several upsets of one tensor); ``silent`` is an upper bound
of the upsets no detection accounted for: per training slice, the upsets applied minus the
wrong elements the detections found (many silent upsets are masked and never matter); with
``none`` healing every upset is silent.

**Parquet schemas** (column: type, meaning):

``metrics.parquet`` (one row per evaluation of a new global model, ``kind = "evaluation"``,
plus one row every ``output.snapshot_every_min``, ``kind = "snapshot"``; sorted by time):
``time_unix_s`` f64; ``mission_h`` f64; ``kind`` str; ``version`` i64 (global version at that
time); ``metric`` f64 (evaluation rows: the new model's metric; snapshots: the current one);
``num_updates`` i64 and ``contributors`` i64 (updates and satellites combined into the new
model; 0 in snapshots); ``staleness_mean`` f64, ``staleness_max`` i64 (of those updates);
``energy_wh``, ``energy_training_wh``, ``energy_radio_wh`` f64 (cumulative, all satellites);
``battery_soc_mean``, ``battery_soc_min`` f64 (snapshots; NaN in evaluation rows);
``faults_injected``, ``faults_detected``, ``faults_corrected``, ``faults_silent``, ``resets``,
``bytes_up``, ``bytes_down``, ``bytes_isl``, ``updates_received``, ``updates_accepted``,
``rejected_updates`` i64 (cumulative); ``n_idle``, ``n_training``, ``n_transmitting``,
``n_receiving``, ``n_recovering`` i64 (satellites in each state at that time).

``satellites.parquet``: ``satellite`` i32, ``name`` str, ``plane`` i32 (-1 unknown), then the
totals of :class:`~orbitlearn.mission.satellite.SatelliteCounters` (``rounds``, ``slices``,
``steps``, ``lost_steps``, ``resets``, ``training_s``, ``training_j``, ``radio_j``,
``faults_injected``, ``faults_detected``, ``faults_corrected``, ``faults_silent``,
``false_alarms``, ``bytes_up``, ``bytes_down``, ``bytes_isl``, ``updates_sent``,
``updates_dropped``, ``battery_waits``), ``min_soc`` f64, and ``share_<state>`` f64 per state.

``activity.parquet``: ``satellite`` i32, ``activity`` str (``training``, ``transmitting``,
``receiving``, ``recovering``, ``waiting_battery``, ``waiting_saa``, ``waiting_eclipse``),
``start_unix_s``, ``end_unix_s`` f64, ``detail`` str (``downlink``, ``uplink``, ``isl->7``,
``isl<-3``, ``version 12``, ...). Transfer rows are the spans in which data flowed.

``environment.parquet``: ``satellite`` i32, ``kind`` str (``contact``, ``eclipse``, ``saa``,
``isl``), ``start_unix_s``, ``end_unix_s`` f64, ``station`` str (contacts; else empty),
``peer`` i32 (ISL; else -1).

``battery.parquet``: ``satellite`` i32, ``time_unix_s`` f64, ``soc`` f32, ``energy_wh`` f32,
``power_in_w`` f32 (every grid time, or every ``ceil(60 s / step_s)``-th when finer).

``faults.parquet``: ``time_unix_s`` f64, ``satellite`` i32, ``kind`` str (``seu``, ``mbu``,
``stuck``, ``compute``, ``reset``), ``target`` str, ``tensor`` str, ``flat_index`` i64,
``bit`` i32, ``step`` i64 (the trainer's step; -1 for resets).

``updates.parquet``: ``time_unix_s`` f64 (arrival at the ground), ``satellite`` i32 (the
sender on the link), ``contributors`` str (comma-separated), ``base_version`` i64,
``staleness`` i64 (-1 when security refused it), ``bytes`` i64, ``accepted`` bool,
``rejected_by`` str (``security``, ``strategy`` or empty), ``reason`` str.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from orbitlearn.errors import DataError
from orbitlearn.mission.satellite import SatelliteCounters, SatelliteState

__all__ = ["SUMMARY_KEYS", "MissionRecords", "MissionResult", "write_parquet"]

#: Keys every summary.json has.
SUMMARY_KEYS = (
    "strategy",
    "satellites",
    "mission_days",
    "metric_name",
    "final_metric",
    "target_metric",
    "time_to_target_h",
    "energy_wh",
    "bytes_up",
    "bytes_down",
    "faults",
    "resets",
    "rejected_updates",
    "curve",
)

_STATES = tuple(state.value for state in SatelliteState)
_ACTIVITY_STATE = {
    "recovering": SatelliteState.RECOVERING.value,
    "training": SatelliteState.TRAINING.value,
    "transmitting": SatelliteState.TRANSMITTING.value,
    "receiving": SatelliteState.RECEIVING.value,
}
_COUNTER_FIELDS = tuple(f.name for f in fields(SatelliteCounters))


@dataclass
class MissionRecords:
    """Rows collected while a mission runs (saved whole in mission checkpoints)."""

    evaluations: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    activity: list[tuple[int, str, float, float, str]] = field(default_factory=list)
    faults: list[tuple[float, int, str, str, str, int, int, int]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    rejections: dict[str, int] = field(default_factory=dict)
    drops: dict[str, int] = field(default_factory=dict)
    global_rejections: dict[str, int] = field(default_factory=dict)
    accepted: int = 0

    def count(self, table: dict[str, int], reason: str) -> None:
        table[reason] = table.get(reason, 0) + 1


def _atomic(target: Path, write: Any) -> None:
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        write(temp)
        with open(temp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temp, target)
    except OSError as exc:
        raise DataError(f"cannot write {target}: {exc}") from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def write_parquet(
    path: Path, columns: dict[str, Any], metadata: dict[str, str] | None = None
) -> None:
    """Write columns (name -> 1-D array/list) as a Parquet file, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(columns)
    if metadata:
        table = table.replace_schema_metadata({k.encode(): v.encode() for k, v in metadata.items()})
    _atomic(path, lambda temp: pq.write_table(table, temp, compression="zstd"))


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically."""
    _atomic(path, lambda temp: Path(temp).write_text(text, encoding="utf-8"))


@dataclass
class MissionResult:
    """A finished mission: the summary and the tables behind it.

    Attributes:
        summary: the ``summary.json`` content (see the module docstring).
        metrics: ``metrics.parquet`` columns.
        satellites: ``satellites.parquet`` columns.
        activity, environment, battery, faults, updates: the other tables' columns.
        config_toml: the resolved configuration.
        run_info: ``run.json`` content (wall time etc.; not part of the results).
    """

    summary: dict[str, Any]
    metrics: dict[str, Any]
    satellites: dict[str, Any]
    activity: dict[str, Any]
    environment: dict[str, Any]
    battery: dict[str, Any]
    faults: dict[str, Any]
    updates: dict[str, Any]
    config_toml: str
    run_info: dict[str, Any] = field(default_factory=dict)

    @property
    def curve(self) -> list[list[float]]:
        """``[mission_h, metric]`` of the initial and each new global model."""
        curve: list[list[float]] = self.summary["curve"]
        return curve

    def write(self, out_dir: Path) -> None:
        """Write every result file into ``out_dir`` (created if needed).

        Raises:
            DataError: the directory cannot be written.
        """
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create the run directory {out}: {exc}") from None
        write_text(out / "config.toml", self.config_toml)
        write_text(out / "summary.json", json.dumps(self.summary, indent=2) + "\n")
        write_text(out / "run.json", json.dumps(self.run_info, indent=2) + "\n")
        for name in (
            "metrics",
            "satellites",
            "activity",
            "environment",
            "battery",
            "faults",
            "updates",
        ):
            write_parquet(out / f"{name}.parquet", getattr(self, name))


def occupancy_counts(
    activity: list[tuple[int, str, float, float, str]], n_sats: int, times: np.ndarray
) -> dict[str, np.ndarray]:
    """Satellites in each state at ``times`` (most binding activity wins, as
    :meth:`~orbitlearn.mission.satellite.Satellite.state`)."""
    inside = {state: np.zeros((n_sats, times.size), dtype=bool) for state in _STATES}
    for sat, kind, start, end, _ in activity:
        state = _ACTIVITY_STATE.get(kind)
        if state is None:
            continue
        lo = int(np.searchsorted(times, start, side="left"))
        hi = int(np.searchsorted(times, end, side="left"))
        if hi > lo:
            inside[state][sat, lo:hi] = True
    taken = np.zeros((n_sats, times.size), dtype=bool)
    counts: dict[str, np.ndarray] = {}
    for state in ("recovering", "training", "transmitting", "receiving"):
        mine = inside[state] & ~taken
        counts[state] = mine.sum(axis=0)
        taken |= mine
    counts["idle"] = (~taken).sum(axis=0)
    return counts


def state_shares(
    activity: list[tuple[int, str, float, float, str]], n_sats: int, start_s: float, end_s: float
) -> np.ndarray:
    """Share of ``[start_s, end_s]`` each satellite spent in each state, ``(n_sats, 5)`` in
    :class:`SatelliteState` order (overlaps resolved as :func:`occupancy_counts`)."""
    span = max(end_s - start_s, 1e-9)
    by_sat: dict[int, dict[str, list[tuple[float, float]]]] = {}
    for sat, kind, start, end, _ in activity:
        state = _ACTIVITY_STATE.get(kind)
        if state is None:
            continue
        a, b = max(start, start_s), min(end, end_s)
        if b > a:
            by_sat.setdefault(sat, {}).setdefault(state, []).append((a, b))
    shares = np.zeros((n_sats, len(_STATES)))
    order = ("recovering", "training", "transmitting", "receiving")
    for sat, spans in by_sat.items():
        covered: list[tuple[float, float]] = []
        for state in order:
            total = 0.0
            for a, b in _union(spans.get(state, [])):
                total += b - a - _overlap(a, b, covered)
            covered = _union(covered + spans.get(state, []))
            shares[sat, _STATES.index(state)] = total / span
    shares[:, _STATES.index("idle")] = 1.0 - shares.sum(axis=1)
    return shares


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _overlap(a: float, b: float, covered: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(b, y) - max(a, x)) for x, y in covered)


def counters_table(counters: list[SatelliteCounters]) -> dict[str, Any]:
    """Per-satellite counters as columns."""
    rows = [asdict(c) for c in counters]
    return {name: [row[name] for row in rows] for name in _COUNTER_FIELDS}


def json_number(value: float) -> float | None:
    """A float for JSON (NaN and inf become null)."""
    return None if value is None or not math.isfinite(value) else float(value)
