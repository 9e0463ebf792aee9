"""Loading element sets: orbitlearn's checked TLE / OMM readers beside unchecked baselines.

Reads ../shared/data/tle/starlink.txt (6,909 satellites) and times, best of several runs:

- ``orbitlearn load_tle``: layout, ranges, checksums, line order, catalog numbers, sgp4 init;
- baseline ``sgp4 twoline2rv``: the same lines straight into ``Satrec.twoline2rv``, no checks
  (the floor: sgp4 initialisation alone);
- baseline ``skyfield tle_file``: skyfield's TLE reader building ``EarthSatellite`` objects
  (checks nothing either);
- ``orbitlearn load_omm`` on the same elements written as CelesTrak-style OMM JSON, beside
  ``sgp4.omm`` (sgp4's own unchecked OMM reader).

Prints wall times and ratios against the baselines. Run: ``.venv/bin/python bench/element_sets.py``.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sgp4 import omm as sgp4_omm
from sgp4.api import Satrec

from orbitlearn.space.omm import load_omm
from orbitlearn.space.tle import load_tle

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tle" / "starlink.txt"
REPEATS = 5


def best_of(function: Callable[[], object], repeats: int = REPEATS) -> float:
    """Shortest wall time of ``repeats`` calls, seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def bare_sgp4(path: Path) -> list[Satrec]:
    lines = path.read_text().splitlines()
    return [Satrec.twoline2rv(lines[i + 1], lines[i + 2]) for i in range(0, len(lines) - 2, 3)]


def skyfield_tle(path: Path) -> list[object]:
    from skyfield.api import load

    timescale = load.timescale(builtin=True)
    with path.open("rb") as handle:
        from skyfield.iokit import parse_tle_file

        return list(parse_tle_file(handle, timescale))


def omm_records(path: Path) -> list[dict[str, str]]:
    """CelesTrak-style OMM records for every satellite of the TLE file (via sgp4's exporter)."""
    from sgp4.conveniences import sat_epoch_datetime
    from sgp4.exporter import export_omm

    lines = path.read_text().splitlines()
    records = []
    for i in range(0, len(lines) - 2, 3):
        satrec = Satrec.twoline2rv(lines[i + 1], lines[i + 2])
        record = export_omm(satrec, lines[i].strip())
        record["EPOCH"] = sat_epoch_datetime(satrec).strftime("%Y-%m-%dT%H:%M:%S.%f")
        records.append(record)
    return records


def sgp4_omm_json(path: Path) -> list[Satrec]:
    satrecs = []
    for fields in json.loads(path.read_text()):
        satrec = Satrec()
        sgp4_omm.initialize(satrec, {key: str(value) for key, value in fields.items()})
        satrecs.append(satrec)
    return satrecs


def main() -> int:
    if not DATA.is_file():
        print(f"reference data {DATA} is absent; nothing to measure", file=sys.stderr)
        return 1
    count = len(load_tle(DATA))
    ours = best_of(lambda: load_tle(DATA))
    floor = best_of(lambda: bare_sgp4(DATA))
    skyfield = best_of(lambda: skyfield_tle(DATA))
    out = io.StringIO()
    print(f"TLE: {DATA.name}, {count} satellites, best of {REPEATS}", file=out)
    print(f"  orbitlearn load_tle (checked)        {ours:8.3f} s", file=out)
    print(
        f"  sgp4 twoline2rv (no checks)          {floor:8.3f} s   ratio {ours / floor:5.2f}x",
        file=out,
    )
    print(
        f"  skyfield tle_file (no checks)        {skyfield:8.3f} s   ratio {ours / skyfield:5.2f}x",
        file=out,
    )
    with tempfile.TemporaryDirectory() as folder:
        json_path = Path(folder) / "starlink.json"
        json_path.write_text(json.dumps(omm_records(DATA)))
        ours_omm = best_of(lambda: load_omm(json_path))
        theirs_omm = best_of(lambda: sgp4_omm_json(json_path))
    print(f"OMM JSON of the same {count} satellites", file=out)
    print(f"  orbitlearn load_omm (checked)        {ours_omm:8.3f} s", file=out)
    print(
        f"  sgp4.omm.initialize (no checks)      {theirs_omm:8.3f} s   ratio "
        f"{ours_omm / theirs_omm:5.2f}x",
        file=out,
    )
    print(out.getvalue(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
