"""``orbitlearn contacts``: outputs, files and the messages of bad options."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from orbitlearn.cli.contacts import CSV_COLUMNS, _write_atomically
from orbitlearn.cli.exit_codes import ExitCode
from orbitlearn.space.contacts import ground_contacts
from orbitlearn.space.stations import GroundStation
from orbitlearn.space.walker import walker_constellation

WALKER = ["--walker", "40/5/1", "--altitude-km", "500", "--inclination-deg", "80"]
STATION = ["--station", "Marburg=51.05,8.8"]
SMALL = ["--walker", "6/3/1", "--altitude-km", "550", "--inclination-deg", "53", *STATION]
RECORD_KEYS = {
    "kind",
    "satellite",
    "station",
    "start",
    "end",
    "duration_s",
    "max_elevation_deg",
    "min_range_km",
    "start_clipped",
    "end_clipped",
}


def test_table_output_has_a_header_rows_and_the_summary(cli) -> None:
    code, out, err = cli("contacts", *WALKER, *STATION, "--days", "1")
    assert code == ExitCode.OK, err
    lines = out.strip().splitlines()
    assert lines[0].split() == [
        "satellite",
        "with",
        "start",
        "end",
        "duration_s",
        "max_el_deg",
        "min_range_km",
    ]
    assert len(lines) == 1 + 161 + 1
    assert lines[-1] == "161 ground passes at 1 station, mean duration 352.1 s over 1 day"
    assert lines[1].startswith("walker-P5-S3  Marburg  <2026-01-01T00:00:00.000Z")  # clipped
    assert err == ""


def test_json_output_matches_the_library(cli) -> None:
    code, out, err = cli("contacts", *WALKER, *STATION, "--format", "json")
    assert code == ExitCode.OK, err
    records = json.loads(out)
    assert err.strip() == "161 ground passes at 1 station, mean duration 352.1 s over 1 day"
    shell = walker_constellation(40, 5, 1, altitude_m=500e3, inclination_deg=80.0)
    table = ground_contacts(shell, [GroundStation("Marburg", 51.05, 8.8)], 1767225600.0, 86400.0)
    assert records == table.to_records()
    assert set(records[0]) == RECORD_KEYS
    assert records[5]["start"].endswith("Z") and records[5]["station"] == "Marburg"


def test_csv_output_has_every_column(cli) -> None:
    code, out, _ = cli("contacts", *SMALL, "--format", "csv", "--duration-s", "20000")
    assert code == ExitCode.OK
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["peer"] == "" and rows[0]["kind"] == "ground"
    assert all(float(row["max_elevation_deg"]) >= 10.0 for row in rows)


def test_parquet_is_written_to_the_output_file(cli, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    target = tmp_path / "windows.parquet"
    code, out, err = cli("contacts", *SMALL, "--format", "parquet", "--output", str(target))
    assert code == ExitCode.OK, err
    assert out == ""
    assert err.strip().endswith(f"; wrote {target}")
    table = pq.read_table(target)
    assert table.num_rows > 5
    assert {"satellite", "station", "start", "end", "start_unix_s"} <= set(table.column_names)
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_json_to_a_file_leaves_stdout_empty(cli, tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    code, out, err = cli("contacts", *SMALL, "--format", "json", "--output", str(target))
    assert code == ExitCode.OK and out == ""
    assert "wrote" in err and len(json.loads(target.read_text())) > 5


def test_links_are_added_with_isl(cli) -> None:
    code, out, _ = cli(
        "contacts", *SMALL, "--isl", "--isl-max-range-km", "4000", "--format", "json"
    )
    assert code == ExitCode.OK
    records = json.loads(out)
    links = [r for r in records if r["kind"] == "isl"]
    assert links and all("peer" in r and "station" not in r for r in links)
    assert all(r["min_range_km"] <= 4000.0 for r in links)
    starts = [r["start"] for r in records]
    assert starts == sorted(starts)


def test_isl_alone_needs_no_station(cli) -> None:
    code, out, err = cli(
        "contacts",
        "--walker",
        "6/3/1",
        "--altitude-km",
        "550",
        "--inclination-deg",
        "53",
        "--isl",
        "--duration-s",
        "6000",
        "--format",
        "json",
    )
    assert code == ExitCode.OK, err
    assert {r["kind"] for r in json.loads(out)} == {"isl"}
    assert err.startswith("0 ground passes at 0 stations; ")


def test_refraction_lengthens_the_passes(cli) -> None:
    _, plain, _ = cli("contacts", *SMALL, "--format", "json")
    _, refracted, _ = cli("contacts", *SMALL, "--format", "json", "--refraction")
    total = [sum(r["duration_s"] for r in json.loads(text)) for text in (plain, refracted)]
    assert total[1] > total[0]


def test_real_element_sets_start_at_their_latest_epoch(cli, shared_data: Path) -> None:
    from orbitlearn.space.timescale import format_utc_iso
    from orbitlearn.space.tle import load_tle

    path = shared_data / "tle" / "iridium-next.txt"
    code, out, err = cli("contacts", "--tle", str(path), "--network", "polar", "--format", "json")
    assert code == ExitCode.OK, err
    records = json.loads(out)
    latest = float(load_tle(path).epochs_unix_s.max())
    assert min(r["start"] for r in records) >= format_utc_iso(latest)
    assert {r["station"] for r in records} == {"Svalbard", "Troll"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--min-elevation-deg", "95"],
            "Expected `--min-elevation-deg` to be a number of degrees in [0, 90], actual: 95.0",
        ),
        (
            ["--min-elevation-deg", "-1"],
            "Expected `--min-elevation-deg` to be a number of degrees in [0, 90], actual: -1.0",
        ),
        (
            ["--format", "xml"],
            "Expected `--format` to be one of table, csv, json, parquet, actual: 'xml'",
        ),
        (
            ["--format", "parquet"],
            "Expected `--output` to be a file path when --format is parquet, actual: not given. "
            "Parquet is binary: add --output windows.parquet",
        ),
        (
            ["--isl", "--isl-grazing-km", "-5"],
            "Expected `--isl-grazing-km` to be a number of km in [0, 1000], actual: -5.0",
        ),
        (
            ["--isl", "--isl-max-range-km", "0"],
            "Expected `--isl-max-range-km` to be a number of km > 0, actual: 0.0",
        ),
        (
            ["--output", "/no/such/folder/out.json"],
            "Expected `--output` to be a path in an existing directory, actual: "
            "'/no/such/folder/out.json'",
        ),
        (
            ["--days", "0"],
            "Expected `--days` to be a number of days in (0, 366], actual: 0.0",
        ),
        (
            ["--start", "tomorrow"],
            "Expected `--start` to be an ISO 8601 UTC time such as 2026-01-01T00:00:00Z or "
            "2026-01-01, actual: 'tomorrow'",
        ),
    ],
)
def test_bad_options_name_the_option_the_value_and_what_is_allowed(
    cli,
    extra: list[str],
    message: str,
) -> None:
    code, out, err = cli("contacts", *SMALL, *extra)
    assert code == ExitCode.USAGE
    assert err.strip() == f"orbitlearn: error: {message}"
    assert out == "" and "Traceback" not in err


def test_no_station_without_isl_is_refused(cli) -> None:
    code, _, err = cli(
        "contacts", "--walker", "6/3/1", "--altitude-km", "550", "--inclination-deg", "53"
    )
    assert code == ExitCode.USAGE
    assert err.startswith(
        "orbitlearn: error: Expected `--station / --network` to be given at least once, "
        "actual: none given."
    )


def test_a_bad_element_file_is_an_element_set_error(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.tle"
    bad.write_text("ISS\n1 25544U 98067A   24001.50000000  .00016717  00000-0  30000-3 0  9005\n")
    code, _, err = cli("contacts", "--tle", str(bad), *STATION)
    assert code == ExitCode.ELEMENT_SET
    assert err.startswith(f"orbitlearn: error: {bad}") and "Traceback" not in err


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "windows.json"
    target.write_text("old")

    def broken(temp: Path) -> None:
        temp.write_text("half a fi")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _write_atomically(target, broken)
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]
    _write_atomically(target, lambda temp: temp.write_text("new"))
    assert target.read_text() == "new"
    assert list(tmp_path.iterdir()) == [target]


def test_an_interrupted_run_writes_nothing(cli, tmp_path: Path, monkeypatch) -> None:
    import orbitlearn.space.contacts as contacts_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(contacts_module, "ground_contacts", interrupted)
    target = tmp_path / "out.json"
    code, _, err = cli("contacts", *SMALL, "--format", "json", "--output", str(target))
    assert code == ExitCode.INTERRUPTED
    assert not target.exists() and list(tmp_path.iterdir()) == []
    assert "Traceback" not in err


def test_the_contacts_command_starts_without_torch() -> None:
    """Every command module is imported at start-up: they must import torch lazily, or each
    ``orbitlearn contacts`` pays for it (and bench/contacts.py times the whole command)."""
    import subprocess
    import sys

    code = (
        "import sys, orbitlearn.cli, orbitlearn.cli.contacts; "
        "assert 'torch' not in sys.modules, 'torch imported at CLI start-up'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
