"""``orbitlearn contacts``: ground-station passes (and inter-satellite links) of a constellation.

A thin layer over :func:`orbitlearn.space.contacts.ground_contacts` and
:func:`orbitlearn.space.isl.isl_windows`: options become library objects (through
:mod:`orbitlearn.cli._space_options`), windows come back as a
:class:`~orbitlearn.space.intervals.ContactTable` and are written as a table, CSV, JSON or
Parquet. Files are written atomically (a temporary file renamed over the target), so a failed
run never leaves a half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from orbitlearn.cli._app import app
from orbitlearn.cli._space_options import (
    AltitudeKmOption,
    DaysOption,
    DurationSOption,
    InclinationDegOption,
    NetworkOption,
    OmmOption,
    PatternOption,
    StartOption,
    StationOption,
    TleOption,
    WalkerOption,
    constellation_from_options,
    duration_from_options,
    start_from_options,
    stations_from_options,
)
from orbitlearn.errors import InputError

__all__ = ["FORMATS", "contacts", "render_table", "summary_line"]

#: Output formats of ``--format``.
FORMATS = ("table", "csv", "json", "parquet")
#: Columns of CSV output, in order (ground rows leave ``peer`` empty, links ``station``).
CSV_COLUMNS = (
    "kind",
    "satellite",
    "station",
    "peer",
    "start",
    "end",
    "duration_s",
    "max_elevation_deg",
    "min_range_km",
    "start_clipped",
    "end_clipped",
)
#: Largest grazing height accepted by ``--isl-grazing-km``, km.
MAX_GRAZING_KM = 1000.0

_WINDOWS = "Windows"
_OUTPUT = "Output"


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, float], None]]:
    """A rich progress bar on stderr (when ``enabled``); yields ``update(label, fraction)``."""
    if not enabled:
        yield lambda label, fraction: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}
    with bar:

        def update(label: str, fraction: float) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=1.0)
            bar.update(tasks[label], completed=fraction)

        yield update


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temp)`` on a temporary file beside ``path``, then rename it over ``path``."""
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        write(temp)
        with open(temp, "rb") as done:
            os.fsync(done.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _check_output(output_format: str, output: Path | None) -> None:
    if output_format not in FORMATS:
        raise InputError("--format", output_format, "one of " + ", ".join(FORMATS))
    if output is None:
        if output_format == "parquet":
            raise InputError(
                "--output",
                _Shown("not given"),
                "a file path when --format is parquet",
                hint="Parquet is binary: add --output windows.parquet",
            )
        return
    if output.is_dir():
        raise InputError("--output", str(output), "a file path, not a directory")
    if not output.parent.is_dir():
        raise InputError("--output", str(output), "a path in an existing directory")


class _Shown(str):
    """A value shown as-is after ``actual:`` in an :class:`InputError` (no quotes)."""

    def __repr__(self) -> str:
        return str(self)


def _check_numbers(
    min_elevation_deg: float, isl_grazing_km: float, isl_max_range_km: float | None
) -> None:
    if not (math.isfinite(min_elevation_deg) and 0.0 <= min_elevation_deg <= 90.0):
        raise InputError("--min-elevation-deg", min_elevation_deg, "a number of degrees in [0, 90]")
    if not (math.isfinite(isl_grazing_km) and 0.0 <= isl_grazing_km <= MAX_GRAZING_KM):
        raise InputError(
            "--isl-grazing-km", isl_grazing_km, f"a number of km in [0, {MAX_GRAZING_KM:g}]"
        )
    if isl_max_range_km is not None and not (
        math.isfinite(isl_max_range_km) and isl_max_range_km > 0.0
    ):
        raise InputError("--isl-max-range-km", isl_max_range_km, "a number of km > 0")


def summary_line(table: Any, n_stations: int, duration_s: float) -> str:
    """One line: passes (and links), mean duration, the span.

    >>> from orbitlearn.space.intervals import ContactTable
    >>> summary_line(ContactTable.empty(("a",), ("S",)), 1, 86400.0)
    '0 ground passes at 1 station over 1 day'
    """
    days = duration_s / 86_400.0
    span = f"{days:g} day" + ("" if days == 1 else "s")
    parts = []
    ground = table.filter(~table.is_link)
    noun = "station" if n_stations == 1 else "stations"
    text = f"{len(ground)} ground passes at {n_stations} {noun}"
    if len(ground):
        text += f", mean duration {ground.duration_s.mean():.1f} s"
    parts.append(text)
    links = table.filter(table.is_link)
    if len(links):
        parts.append(f"{len(links)} inter-satellite windows, mean {links.duration_s.mean():.1f} s")
    return "; ".join(parts) + f" over {span}"


def render_table(records: list[dict[str, Any]]) -> str:
    """Windows as an aligned plain-text table (``<``/``>``: cut by the start/end of the span).

    >>> print(render_table([{"satellite": "S1", "station": "Bremen", "start": "2026-01-01T00:00:00.000Z",
    ...     "end": "2026-01-01T00:05:00.000Z", "duration_s": 300.0, "max_elevation_deg": 42.0,
    ...     "min_range_km": 800.0, "start_clipped": True, "end_clipped": False}]))
    satellite  with     start                      end                       duration_s  max_el_deg  min_range_km
    S1         Bremen  <2026-01-01T00:00:00.000Z   2026-01-01T00:05:00.000Z       300.0        42.0         800.0
    """
    header = ("satellite", "with", "start", "end", "duration_s", "max_el_deg", "min_range_km")
    rows = []
    for record in records:
        other = record.get("station") or f"[isl] {record.get('peer', '')}"
        elevation = record.get("max_elevation_deg")
        rows.append(
            (
                str(record["satellite"]),
                str(other),
                ("<" if record["start_clipped"] else " ") + record["start"],
                (">" if record["end_clipped"] else " ") + record["end"],
                f"{record['duration_s']:.1f}",
                "-" if elevation is None else f"{elevation:.1f}",
                f"{record['min_range_km']:.1f}",
            )
        )
    widths = [len(name) for name in header]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    # Text columns left-aligned (start/end after their one-character clip marker), numbers right.
    widths[2] = max(widths[2], 1 + len(header[2]))
    widths[3] = max(widths[3], 1 + len(header[3]))
    lines = [
        "  ".join(
            [
                header[0].ljust(widths[0]),
                header[1].ljust(widths[1]),
                (" " + header[2]).ljust(widths[2]),
                (" " + header[3]).ljust(widths[3]),
                *(name.rjust(width) for name, width in zip(header[4:], widths[4:], strict=True)),
            ]
        ).rstrip()
    ]
    for row in rows:
        left = [cell.ljust(width) for cell, width in zip(row[:4], widths[:4], strict=True)]
        right = [cell.rjust(width) for cell, width in zip(row[4:], widths[4:], strict=True)]
        lines.append("  ".join(left + right).rstrip())
    return "\n".join(lines)


def _json_text(records: list[dict[str, Any]]) -> str:
    """A JSON list with one window object per line.

    One ``json.dumps`` call for speed; every record starts with its ``"kind"`` key, and the
    text ``}, {"kind": `` cannot occur inside a JSON string (its quotes would be escaped), so
    it marks exactly the boundaries between records.

    >>> print(_json_text([{"kind": "ground", "x": 1}, {"kind": "isl", "x": "}, {"}]), end="")
    [
    {"kind": "ground", "x": 1},
    {"kind": "isl", "x": "}, {"}
    ]
    """
    if not records:
        return "[]\n"
    text = json.dumps(records).replace('}, {"kind": ', '},\n{"kind": ')
    return "[\n" + text[1:-1] + "\n]\n"


def _csv_text(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


@app.command()
def contacts(
    tle: TleOption = None,
    omm: OmmOption = None,
    walker: WalkerOption = None,
    altitude_km: AltitudeKmOption = None,
    inclination_deg: InclinationDegOption = None,
    pattern: PatternOption = "delta",
    station: StationOption = None,
    network: NetworkOption = None,
    start: StartOption = None,
    days: DaysOption = None,
    duration_s: DurationSOption = None,
    min_elevation_deg: Annotated[
        float,
        typer.Option(
            "--min-elevation-deg",
            help="Elevation mask, degrees [0, 90]: geometric elevation above the WGS84 "
            "horizon (apparent with --refraction). A station's own mask overrides it.",
            rich_help_panel=_WINDOWS,
        ),
    ] = 10.0,
    refraction: Annotated[
        bool,
        typer.Option(
            "--refraction",
            help="Compare the mask with the refracted (apparent) elevation "
            "(Saemundsson's formula, standard atmosphere).",
            rich_help_panel=_WINDOWS,
        ),
    ] = False,
    isl: Annotated[
        bool,
        typer.Option(
            "--isl",
            help="Also find inter-satellite line-of-sight windows (every pair).",
            rich_help_panel=_WINDOWS,
        ),
    ] = False,
    isl_grazing_km: Annotated[
        float,
        typer.Option(
            "--isl-grazing-km",
            help=f"How far above the Earth's ellipsoid a link must pass, km [0, {MAX_GRAZING_KM:g}].",
            rich_help_panel=_WINDOWS,
        ),
    ] = 80.0,
    isl_max_range_km: Annotated[
        float | None,
        typer.Option(
            "--isl-max-range-km",
            help="Longest usable link, km (default: line of sight only). Large constellations "
            "need it: all pairs of 1000 satellites are ~500k links.",
            show_default=False,
            rich_help_panel=_WINDOWS,
        ),
    ] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="|".join(FORMATS),
            help="Output format: an aligned table, CSV, JSON (a list of window objects) or "
            "Parquet (needs --output).",
            rich_help_panel=_OUTPUT,
        ),
    ] = "table",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Write to this file (atomically) instead of standard output.",
            show_default=False,
            rich_help_panel=_OUTPUT,
        ),
    ] = None,
) -> None:
    """Contact windows of a constellation with ground stations (and with each other).

    Example: orbitlearn contacts --walker 40/5/1 --altitude-km 500 --inclination-deg 80
    --station Bremen=53.1,8.8 --days 1
    """
    from orbitlearn.space.contacts import ground_contacts
    from orbitlearn.space.intervals import ContactTable

    _check_output(output_format, output)
    _check_numbers(min_elevation_deg, isl_grazing_km, isl_max_range_km)
    span_s = duration_from_options(days, duration_s)
    constellation = constellation_from_options(
        tle, omm, walker, altitude_km, inclination_deg, pattern
    )
    stations = stations_from_options(station, network, required=not isl)
    start_unix_s = start_from_options(start, constellation, walker is not None)

    tables = []
    with _progress(sys.stderr.isatty()) as update:
        if stations:
            tables.append(
                ground_contacts(
                    constellation,
                    list(stations),
                    start_unix_s,
                    span_s,
                    min_elevation_deg=min_elevation_deg,
                    refraction=refraction,
                    progress=lambda fraction: update("ground contacts", fraction),
                )
            )
        if isl:
            from orbitlearn.space.isl import isl_windows

            tables.append(
                isl_windows(
                    constellation,
                    start_unix_s,
                    span_s,
                    grazing_height_m=isl_grazing_km * 1e3,
                    max_range_m=None if isl_max_range_km is None else isl_max_range_km * 1e3,
                    progress=lambda fraction: update("inter-satellite links", fraction),
                )
            )
    table = ContactTable.concat(tables).sorted(("start_unix_s", "satellite", "station", "peer"))
    summary = summary_line(table, len(stations), span_s)
    _emit(table, output_format, output, summary)


def _emit(table: Any, output_format: str, output: Path | None, summary: str) -> None:
    """Write ``table`` in ``output_format`` to ``output`` (or stdout); the summary to the user."""
    if output_format == "parquet":
        assert output is not None
        import pyarrow.parquet as pq

        arrow = table.to_arrow()
        _write_atomically(output, lambda temp: pq.write_table(arrow, temp))
        typer.echo(f"{summary}; wrote {output}", err=True)
        return
    records = table.to_records()
    if output_format == "json":
        text = _json_text(records)
    elif output_format == "csv":
        text = _csv_text(records)
    else:
        text = render_table(records) + "\n" + summary + "\n"
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        if output_format != "table":
            typer.echo(summary, err=True)
        return

    def write_text(temp: Path) -> None:
        temp.write_text(text, encoding="utf-8")

    _write_atomically(output, write_text)
    typer.echo(f"{summary}; wrote {output}", err=True)
