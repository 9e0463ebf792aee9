"""Benchmark: ground contact windows, orbitlearn against skyfield and brahe.

Two scenarios, each one day at a 10 deg mask:

- ``300x6``: 300 satellites, 6 stations (Bremen, Rolla, Goldstone, Madrid, Canberra, Singapore);
- ``1000x14``: 1000 satellites, 14 stations (``--network polar``, ``commercial`` and ``dsn``).

Satellites are real Starlink element sets from ``../shared/data/tle/starlink.txt`` (CelesTrak,
January 2025), every k-th entry so that all of its shells appear; ``--constellation walker``
uses generated Walker shells (53 deg, 550 km) instead, written out as TLEs so that every tool
reads the same elements. The span starts at the latest epoch of the chosen element sets.

What is timed, in this process, one tool after the other:

- **orbitlearn**: the whole command, ``python -m orbitlearn contacts --tle ... --format json
  --output ...``, as a subprocess (interpreter start, imports, parsing, search, JSON output);
  best of ``--repeat`` runs.
- **skyfield**: ``EarthSatellite.find_events`` for every satellite-station pair (building the
  satellites included; imports and the timescale excluded). For large scenarios a random
  subset of pairs is measured and the time scaled by the pair count; the report says so.
- **brahe**: ``brahe.location_accesses`` over all pairs in brahe's own virtual environment
  (``.bench-venvs/brahe``; create it with ``python3 -m venv .bench-venvs/brahe &&
  .bench-venvs/brahe/bin/pip install brahe``), with a static all-zero Earth orientation (no
  download). Timed inside its process: building propagators plus the search (interpreter start
  and import excluded). brahe searches in parallel on all cores; orbitlearn uses one.

Ratios are baseline time / orbitlearn time (targets: skyfield >= 7, brahe >= 2). Agreement: the
windows of each baseline are matched to orbitlearn's by satellite, station and overlap; the
report gives the unmatched ones and the edge differences of windows not cut by the span.

    python bench/contacts.py                       # both scenarios, a table
    python bench/contacts.py --scenario 300x6 --format json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ORBITLEARN_SHARED_DATA", ROOT.parent / "shared" / "data"))
BRAHE_PYTHON = ROOT / ".bench-venvs" / "brahe" / "bin" / "python"
MASK_DEG = 10.0
DAY_S = 86_400.0
#: Edge accuracy the comparison is judged at (the issue's one second).
ONE_SECOND = 1.0


def _stations(names: list[str]) -> list[tuple[str, float, float, float]]:
    from orbitlearn.space.stations import NETWORKS

    by_name = {s.name: s for network in NETWORKS.values() for s in network}
    return [
        (n, by_name[n].latitude_deg, by_name[n].longitude_deg, by_name[n].altitude_m) for n in names
    ]


def _network_stations(networks: list[str]) -> list[tuple[str, float, float, float]]:
    from orbitlearn.space.stations import resolve_stations

    resolved = resolve_stations([], networks)
    return [(s.name, s.latitude_deg, s.longitude_deg, s.altitude_m) for s in resolved]


SCENARIOS = {
    "300x6": (
        300,
        lambda: _stations(["Bremen", "Rolla", "Goldstone", "Madrid", "Canberra", "Singapore"]),
    ),
    "1000x14": (1000, lambda: _network_stations(["polar", "commercial", "dsn"])),
}


@dataclass
class Windows:
    """Windows as arrays: satellite index, station index, start, end (POSIX seconds)."""

    sat: np.ndarray
    station: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @classmethod
    def from_rows(cls, rows: list[tuple[int, int, float, float]]) -> Windows:
        array = np.array(rows, dtype=np.float64).reshape(-1, 4)
        return cls(array[:, 0].astype(int), array[:, 1].astype(int), array[:, 2], array[:, 3])

    def pairs(self, keep: set[tuple[int, int]]) -> Windows:
        mask = np.array([(s, t) in keep for s, t in zip(self.sat, self.station, strict=True)])
        mask = mask.astype(bool).reshape(-1)
        return Windows(self.sat[mask], self.station[mask], self.start[mask], self.end[mask])

    def __len__(self) -> int:
        return int(self.sat.size)


@dataclass
class ToolResult:
    name: str
    seconds: float
    windows: Windows
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _write_elements(kind: str, count: int, folder: Path) -> tuple[Path, list[str], float]:
    """A 3-line TLE file of ``count`` satellites; returns it, the names and the start time."""
    from orbitlearn.space.tle import load_tle

    path = folder / f"{kind}-{count}.tle"
    if kind == "starlink":
        source = SHARED_DATA / "tle" / "starlink.txt"
        if not source.exists():
            sys.exit(f"bench: {source} is absent; use --constellation walker")
        lines = [line.rstrip() for line in source.read_text().splitlines() if line.strip()]
        total = len(lines) // 3
        step = max(1, total // count)
        chosen = [lines[3 * i : 3 * i + 3] for i in range(0, step * count, step)][:count]
        path.write_text("\n".join("\n".join(entry) for entry in chosen) + "\n")
    else:
        from sgp4.exporter import export_tle

        from orbitlearn.space.walker import walker_constellation

        planes = max(1, count // 20)
        shell = walker_constellation(
            count, planes, 1, altitude_m=550e3, inclination_deg=53.0, epoch_unix_s=1_767_225_600.0
        )
        text = []
        for name, satrec in zip(shell.names, shell.satrecs, strict=True):
            line1, line2 = export_tle(satrec)
            text += [name, line1, line2]
        path.write_text("\n".join(text) + "\n")
    constellation = load_tle(path)
    start = float(np.ceil(constellation.epochs_unix_s.max()))
    return path, list(constellation.names), start


def run_orbitlearn(
    tle: Path,
    stations: list[tuple[str, float, float, float]],
    start: float,
    names: list[str],
    folder: Path,
    repeat: int,
) -> ToolResult:
    from orbitlearn.space.timescale import format_utc_iso

    output = folder / "orbitlearn.json"
    command = [
        sys.executable,
        "-m",
        "orbitlearn",
        "contacts",
        "--tle",
        str(tle),
        *(arg for s in stations for arg in ("--station", f"{s[0]}={s[1]},{s[2]},{s[3]}")),
        "--start",
        format_utc_iso(start, decimals=0),
        "--days",
        "1",
        "--min-elevation-deg",
        str(MASK_DEG),
        "--format",
        "json",
        "--output",
        str(output),
    ]
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        best = min(best, time.perf_counter() - began)
    records = json.loads(output.read_text())
    sat_index = {name: i for i, name in enumerate(names)}
    station_index = {s[0]: i for i, s in enumerate(stations)}
    rows = [
        (
            sat_index[r["satellite"]],
            station_index[r["station"]],
            _parse(r["start"]),
            _parse(r["end"]),
        )
        for r in records
    ]
    return ToolResult(
        "orbitlearn",
        best,
        Windows.from_rows(rows),
        note=f"whole command, best of {repeat}",
        extra={"command": " ".join(command[1:])},
    )


def _parse(text: str) -> float:
    from orbitlearn.space.timescale import parse_utc_iso

    return parse_utc_iso(text)


def run_skyfield(
    tle: Path,
    stations: list[tuple[str, float, float, float]],
    start: float,
    max_pairs: int | None,
    seed: int,
) -> ToolResult:
    from skyfield.api import EarthSatellite, load, wgs84

    lines = [line.rstrip() for line in tle.read_text().splitlines() if line.strip()]
    n_sats = len(lines) // 3
    all_pairs = [(i, j) for i in range(n_sats) for j in range(len(stations))]
    pairs = all_pairs
    if max_pairs is not None and max_pairs < len(all_pairs):
        chosen = np.random.default_rng(seed).choice(len(all_pairs), max_pairs, replace=False)
        pairs = sorted(all_pairs[k] for k in chosen)
    ts = load.timescale(builtin=True)
    days = np.floor(start / DAY_S)
    t0 = ts.utc(1970, 1, 1 + int(days), 0, 0, start - days * DAY_S)
    t1 = ts.utc(1970, 1, 2 + int(days), 0, 0, start - days * DAY_S)
    toposes = [wgs84.latlon(lat, lon, alt) for _, lat, lon, alt in stations]
    rows: list[tuple[int, int, float, float]] = []
    began = time.perf_counter()
    satellites: dict[int, Any] = {}
    for i, j in pairs:
        if i not in satellites:
            satellites[i] = EarthSatellite(lines[3 * i + 1], lines[3 * i + 2], lines[3 * i], ts)
        times, events = satellites[i].find_events(toposes[j], t0, t1, altitude_degrees=MASK_DEG)
        rise: float | None = None  # None: below the mask (or not seen rising yet)
        for moment, event in zip(times.utc_datetime(), events, strict=True):
            if event == 0:
                rise = moment.timestamp()
            elif event == 2:  # a set without a rise: the pass was under way at the start
                rows.append((i, j, start if rise is None else rise, moment.timestamp()))
                rise = None
        if rise is not None:  # still up at the end
            rows.append((i, j, rise, start + DAY_S))
    measured = time.perf_counter() - began
    scale = len(all_pairs) / len(pairs)
    note = "all pairs"
    if scale > 1:
        note = (
            f"measured {len(pairs)} of {len(all_pairs)} pairs (random, seed {seed}) in "
            f"{measured:.1f} s, scaled x{scale:.2f}"
        )
    return ToolResult(
        "skyfield",
        measured * scale,
        Windows.from_rows(rows),
        note=note,
        extra={"pairs": pairs, "measured_s": measured},
    )


def run_brahe(
    tle: Path,
    stations: list[tuple[str, float, float, float]],
    start: float,
    folder: Path,
    python: Path,
) -> ToolResult | None:
    if not python.exists():
        print(
            f"bench: brahe skipped: {python} not found. Create it with:\n"
            "  python3 -m venv .bench-venvs/brahe && .bench-venvs/brahe/bin/pip install brahe",
            file=sys.stderr,
        )
        return None
    request = folder / "brahe-request.json"
    result_path = folder / "brahe-result.json"
    request.write_text(
        json.dumps(
            {
                "tle": str(tle),
                "stations": [list(s) for s in stations],
                "start_unix_s": start,
                "duration_s": DAY_S,
                "min_elevation_deg": MASK_DEG,
            }
        )
    )
    began = time.perf_counter()
    subprocess.run(
        [str(python), str(ROOT / "bench" / "_brahe_contacts.py"), str(request), str(result_path)],
        check=True,
    )
    whole = time.perf_counter() - began
    result = json.loads(result_path.read_text())
    seconds = result["build_s"] + result["search_s"]
    return ToolResult(
        "brahe",
        seconds,
        Windows.from_rows([tuple(w) for w in result["windows"]]),
        note=f"build + location_accesses, {result['threads']} threads (whole process {whole:.1f} s)",
        extra={
            "version": result["brahe_version"],
            "threads": result["threads"],
            "whole_process_s": whole,
        },
    )


def compare(ours: Windows, theirs: Windows, span: tuple[float, float]) -> dict[str, Any]:
    """Match windows by (satellite, station) and overlap; edge differences of uncut windows."""
    matched, only_theirs, diffs = 0, [], []
    used = np.zeros(len(ours), dtype=bool)
    index: dict[tuple[int, int], list[int]] = {}
    for k, key in enumerate(zip(ours.sat.tolist(), ours.station.tolist(), strict=True)):
        index.setdefault(key, []).append(k)
    for w in range(len(theirs)):
        key = (int(theirs.sat[w]), int(theirs.station[w]))
        a, b = theirs.start[w], theirs.end[w]
        hit = [
            k
            for k in index.get(key, [])
            if ours.start[k] < b + ONE_SECOND and ours.end[k] > a - ONE_SECOND and not used[k]
        ]
        if not hit:
            only_theirs.append(round(float(b - a), 2))
            continue
        k = hit[0]
        used[k] = True
        matched += 1
        for mine, other in ((ours.start[k], a), (ours.end[k], b)):
            if span[0] + ONE_SECOND < other < span[1] - ONE_SECOND:
                diffs.append(float(mine - other))
    only_ours = [round(float(ours.end[k] - ours.start[k]), 2) for k in np.flatnonzero(~used)]
    absolute = np.abs(np.array(diffs)) if diffs else np.zeros(1)
    return {
        "ours": len(ours),
        "theirs": len(theirs),
        "matched": matched,
        "only_ours": len(only_ours),
        "only_ours_longest_s": max(only_ours, default=0.0),
        "only_ours_durations_s": sorted(only_ours)[:20],
        "only_theirs": len(only_theirs),
        "only_theirs_longest_s": max(only_theirs, default=0.0),
        "only_theirs_durations_s": sorted(only_theirs)[:20],
        "edge_abs_diff_max_s": float(absolute.max()),
        "edge_abs_diff_p99_s": float(np.percentile(absolute, 99)),
        "edge_abs_diff_median_s": float(np.median(absolute)),
        "edges_within_1s": bool(absolute.max() < ONE_SECOND),
    }


def run_scenario(name: str, args: argparse.Namespace) -> dict[str, Any]:
    count, station_list = SCENARIOS[name]
    stations = station_list()
    with tempfile.TemporaryDirectory(prefix="orbitlearn-bench-") as tmp:
        folder = Path(tmp)
        tle, names, start = _write_elements(args.constellation, count, folder)
        span = (start, start + DAY_S)
        print(f"[{name}] {count} satellites x {len(stations)} stations, 1 day", file=sys.stderr)
        ours = run_orbitlearn(tle, stations, start, names, folder, args.repeat)
        print(f"[{name}] orbitlearn {ours.seconds:.2f} s", file=sys.stderr)
        max_pairs = args.skyfield_pairs
        if max_pairs is None and count * len(stations) > 3000:
            max_pairs = 2000
        sky = run_skyfield(tle, stations, start, max_pairs, args.seed)
        print(f"[{name}] skyfield {sky.seconds:.2f} s ({sky.note})", file=sys.stderr)
        brahe = (
            None if args.no_brahe else run_brahe(tle, stations, start, folder, args.brahe_python)
        )
        if brahe:
            print(f"[{name}] brahe {brahe.seconds:.2f} s", file=sys.stderr)
        tools = [t for t in (ours, sky, brahe) if t is not None]
        report: dict[str, Any] = {
            "scenario": name,
            "satellites": count,
            "stations": [s[0] for s in stations],
            "constellation": args.constellation,
            "start_unix_s": start,
            "tools": {
                t.name: {
                    "seconds": t.seconds,
                    "ratio_vs_orbitlearn": t.seconds / ours.seconds,
                    "windows": len(t.windows),
                    "note": t.note,
                    **{k: v for k, v in t.extra.items() if k != "pairs"},
                }
                for t in tools
            },
            "agreement": {
                "skyfield": compare(ours.windows.pairs(set(sky.extra["pairs"])), sky.windows, span)
            },
        }
        if brahe:
            report["agreement"]["brahe"] = compare(ours.windows, brahe.windows, span)
        return report


def print_table(reports: list[dict[str, Any]]) -> None:
    print(f"{'scenario':<9} {'tool':<11} {'seconds':>9} {'x orbitlearn':>13} {'windows':>8}  note")
    for report in reports:
        for tool, entry in report["tools"].items():
            print(
                f"{report['scenario']:<9} {tool:<11} {entry['seconds']:>9.2f} "
                f"{entry['ratio_vs_orbitlearn']:>12.1f}x {entry['windows']:>8}  {entry['note']}"
            )
        for tool, agreement in report["agreement"].items():
            print(
                f"{'':<9} agreement with {tool}: {agreement['matched']} matched "
                f"(orbitlearn {agreement['ours']}, {tool} {agreement['theirs']}); edges of uncut "
                f"windows |diff| median {agreement['edge_abs_diff_median_s']:.3f} s, "
                f"p99 {agreement['edge_abs_diff_p99_s']:.3f} s, "
                f"max {agreement['edge_abs_diff_max_s']:.3f} s"
            )
            for side, who in (("only_ours", "orbitlearn"), ("only_theirs", tool)):
                if agreement[side]:
                    print(
                        f"{'':<9}   found by {who} only: {agreement[side]} windows, longest "
                        f"{agreement[side + '_longest_s']:.1f} s; shortest: "
                        f"{agreement[side + '_durations_s'][:8]}"
                    )
    print(
        "targets: skyfield/orbitlearn >= 7, brahe/orbitlearn >= 2; "
        f"orbitlearn command: {reports[0]['tools']['orbitlearn']['command']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=[*SCENARIOS, "both"], default="both")
    parser.add_argument("--constellation", choices=["starlink", "walker"], default="starlink")
    parser.add_argument("--repeat", type=int, default=3, help="orbitlearn runs (best is kept)")
    parser.add_argument(
        "--skyfield-pairs",
        type=int,
        default=None,
        help="measure skyfield on this many random pairs and scale (default: all pairs up to "
        "3000, else 2000)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-brahe", action="store_true")
    parser.add_argument("--brahe-python", type=Path, default=BRAHE_PYTHON)
    parser.add_argument("--format", choices=["table", "json"], default="table")
    args = parser.parse_args()
    names = list(SCENARIOS) if args.scenario == "both" else [args.scenario]
    reports = [run_scenario(name, args) for name in names]
    if args.format == "json":
        print(json.dumps(reports, indent=2))
    else:
        print_table(reports)


if __name__ == "__main__":
    main()
