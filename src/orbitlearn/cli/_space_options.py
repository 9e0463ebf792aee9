"""Shared options of the space commands (``contacts``, ``timeline``): CLI values -> library objects.

The helpers here turn option values into a :class:`~orbitlearn.space.constellation.Constellation`,
ground stations, a start time and a duration, and raise orbitlearn errors whose messages name the
option (``--tle``, ``--walker``, ``--station``, ...) so the user knows which one to fix. The
``Annotated`` option types keep the commands' spelling and help text consistent::

    @app.command()
    def contacts(tle: TleOption = None, omm: OmmOption = None, walker: WalkerOption = None, ...):
        constellation = constellation_from_options(tle, omm, walker, altitude_km, ...)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from orbitlearn.errors import InputError
from orbitlearn.space.constellation import Constellation
from orbitlearn.space.omm import load_omm
from orbitlearn.space.stations import NETWORKS, STATION_SPEC_FORM, GroundStation, resolve_stations
from orbitlearn.space.timescale import DAY_S, parse_utc_iso
from orbitlearn.space.tle import load_tle
from orbitlearn.space.walker import (
    DEFAULT_WALKER_EPOCH_UNIX_S,
    MAX_ALTITUDE_M,
    MIN_ALTITUDE_M,
    WALKER_PATTERNS,
    parse_walker_spec,
    walker_constellation,
)

__all__ = [
    "MAX_DURATION_DAYS",
    "AltitudeKmOption",
    "DaysOption",
    "DurationSOption",
    "InclinationDegOption",
    "NetworkOption",
    "OmmOption",
    "PatternOption",
    "StartOption",
    "StationOption",
    "TleOption",
    "WalkerOption",
    "constellation_from_options",
    "default_start_unix_s",
    "duration_from_options",
    "start_from_options",
    "stations_from_options",
]

#: Longest span a space command accepts: a leap year.
MAX_DURATION_DAYS = 366.0
#: Span used when neither ``--days`` nor ``--duration-s`` is given.
DEFAULT_DURATION_S = DAY_S

_CONSTELLATION = "Constellation"
_STATIONS = "Ground stations"
_TIME = "Time span"

TleOption = Annotated[
    Path | None,
    typer.Option(
        "--tle",
        help="TLE file: 2- or 3-line element sets, any number of satellites.",
        show_default=False,
        rich_help_panel=_CONSTELLATION,
    ),
]
OmmOption = Annotated[
    Path | None,
    typer.Option(
        "--omm",
        help="CelesTrak OMM file, JSON or CSV (decided by content).",
        show_default=False,
        rich_help_panel=_CONSTELLATION,
    ),
]
WalkerOption = Annotated[
    str | None,
    typer.Option(
        "--walker",
        metavar="T/P/F",
        help="Generate a Walker shell: total satellites/planes/phasing, e.g. 40/5/1. "
        "Needs --altitude-km and --inclination-deg.",
        show_default=False,
        rich_help_panel=_CONSTELLATION,
    ),
]
AltitudeKmOption = Annotated[
    float | None,
    typer.Option(
        "--altitude-km",
        help=f"Walker shell altitude above the WGS72 equator radius, km "
        f"[{MIN_ALTITUDE_M / 1e3:g}, {MAX_ALTITUDE_M / 1e3:g}].",
        show_default=False,
        rich_help_panel=_CONSTELLATION,
    ),
]
InclinationDegOption = Annotated[
    float | None,
    typer.Option(
        "--inclination-deg",
        help="Walker shell inclination, degrees [0, 180].",
        show_default=False,
        rich_help_panel=_CONSTELLATION,
    ),
]
PatternOption = Annotated[
    str,
    typer.Option(
        "--pattern",
        metavar="delta|star",
        help="Walker pattern: delta (nodes over 360 deg) or star (nodes over 180 deg).",
        rich_help_panel=_CONSTELLATION,
    ),
]
StationOption = Annotated[
    list[str] | None,
    typer.Option(
        "--station",
        metavar=STATION_SPEC_FORM,
        help="A ground station (degrees north, degrees east, metres); repeatable.",
        show_default=False,
        rich_help_panel=_STATIONS,
    ),
]
NetworkOption = Annotated[
    list[str] | None,
    typer.Option(
        "--network",
        metavar="|".join(NETWORKS),
        help="A preset ground-station network; repeatable.",
        show_default=False,
        rich_help_panel=_STATIONS,
    ),
]
StartOption = Annotated[
    str | None,
    typer.Option(
        "--start",
        metavar="ISO8601",
        help="Start time (UTC). Default: the latest element-set epoch, or "
        "2026-01-01T00:00:00Z for a Walker shell.",
        show_default=False,
        rich_help_panel=_TIME,
    ),
]
DaysOption = Annotated[
    float | None,
    typer.Option(
        "--days",
        help=f"Span in days (0, {MAX_DURATION_DAYS:g}]; default 1.",
        show_default=False,
        rich_help_panel=_TIME,
    ),
]
DurationSOption = Annotated[
    float | None,
    typer.Option(
        "--duration-s",
        help="Span in seconds (instead of --days).",
        show_default=False,
        rich_help_panel=_TIME,
    ),
]


class _Shown(str):
    """A value shown as-is after ``actual:`` in an :class:`InputError` (no quotes)."""

    def __repr__(self) -> str:
        return str(self)


def constellation_from_options(
    tle: Path | None,
    omm: Path | None,
    walker: str | None,
    altitude_km: float | None,
    inclination_deg: float | None,
    pattern: str = "delta",
) -> Constellation:
    """The constellation named by ``--tle``, ``--omm`` or ``--walker`` (exactly one of them).

    Raises:
        InputError: no source or more than one, ``--walker`` without ``--altitude-km`` /
            ``--inclination-deg`` (or those given without ``--walker``), a bad Walker spec,
            altitude, inclination or pattern. Messages name the option.
        ElementSetError: the TLE / OMM file cannot be used (names the file and line).
    """
    given = [
        name
        for name, value in (("--tle", tle), ("--omm", omm), ("--walker", walker))
        if value is not None
    ]
    if len(given) != 1:
        raise InputError(
            "--tle / --omm / --walker",
            _Shown(" and ".join(given) if given else "none given"),
            "exactly one constellation source",
            hint="Give --tle PATH, --omm PATH, or --walker T/P/F with --altitude-km and "
            "--inclination-deg",
        )
    if walker is None:
        extras = [
            name
            for name, value in (
                ("--altitude-km", altitude_km),
                ("--inclination-deg", inclination_deg),
            )
            if value is not None
        ]
        if extras:
            raise InputError(
                extras[0],
                altitude_km if extras[0] == "--altitude-km" else inclination_deg,
                "given only with --walker",
                hint=f"{given[0]} reads the orbits from the file",
            )
        if pattern != "delta":
            raise InputError(
                "--pattern",
                pattern,
                "given only with --walker",
                hint=f"{given[0]} reads the orbits from the file",
            )
        if tle is not None:
            return load_tle(tle)
        assert omm is not None
        return load_omm(omm)

    total, planes, phasing = parse_walker_spec(walker, field="--walker")
    missing = [
        name
        for name, value in (("--altitude-km", altitude_km), ("--inclination-deg", inclination_deg))
        if value is None
    ]
    if missing:
        raise InputError(
            missing[0],
            _Shown("not given"),
            "given with --walker",
            hint=f"A Walker shell needs {' and '.join(missing)}, e.g. --walker {walker} "
            "--altitude-km 550 --inclination-deg 53",
        )
    assert altitude_km is not None and inclination_deg is not None
    low_km, high_km = MIN_ALTITUDE_M / 1e3, MAX_ALTITUDE_M / 1e3
    if not (math.isfinite(altitude_km) and low_km <= altitude_km <= high_km):
        raise InputError(
            "--altitude-km", altitude_km, f"a number of km in [{low_km:g}, {high_km:g}]"
        )
    if not (math.isfinite(inclination_deg) and 0.0 <= inclination_deg <= 180.0):
        raise InputError("--inclination-deg", inclination_deg, "a number of degrees in [0, 180]")
    if pattern not in WALKER_PATTERNS:
        raise InputError("--pattern", pattern, "one of delta, star")
    return walker_constellation(
        total,
        planes,
        phasing,
        altitude_m=altitude_km * 1e3,
        inclination_deg=inclination_deg,
        pattern=pattern,
    )


def stations_from_options(
    stations: list[str] | None, networks: list[str] | None, *, required: bool = True
) -> tuple[GroundStation, ...]:
    """Ground stations from ``--station`` and ``--network`` values (see ``resolve_stations``).

    Raises:
        InputError: a bad ``--station`` or ``--network`` value, one name for two different
            stations, or (with ``required``) no station at all.
    """
    resolved = resolve_stations(stations or [], networks or [])
    if required and not resolved:
        raise InputError(
            "--station / --network",
            _Shown("none given"),
            "given at least once",
            hint=f"Add --station {STATION_SPEC_FORM} (e.g. --station Bremen=53.1,8.8) or "
            f"--network NAME (one of {', '.join(sorted(NETWORKS))})",
        )
    return resolved


def default_start_unix_s(constellation: Constellation, walker: bool) -> float:
    """Default ``--start``: the latest element-set epoch, or 2026-01-01T00:00:00Z for Walker.

    The latest epoch is where every element set in the file is at most as old as it will ever
    be over the run (SGP4 accuracy degrades with distance from the epoch).
    """
    if walker or len(constellation) == 0:
        return DEFAULT_WALKER_EPOCH_UNIX_S
    return float(constellation.epochs_unix_s.max())


def start_from_options(start: str | None, constellation: Constellation, walker: bool) -> float:
    """``--start`` as POSIX seconds, or :func:`default_start_unix_s` when not given.

    Raises:
        InputError: ``--start`` is not an ISO 8601 time.
    """
    if start is None:
        return default_start_unix_s(constellation, walker)
    return parse_utc_iso(start, field="--start")


def duration_from_options(days: float | None, duration_s: float | None) -> float:
    """The span in seconds from ``--days`` or ``--duration-s`` (one at most; default 1 day).

    Raises:
        InputError: both given, or a value that is not positive, not finite, or over
            :data:`MAX_DURATION_DAYS`.
    """
    if days is not None and duration_s is not None:
        raise InputError(
            "--days / --duration-s",
            _Shown(f"--days {days:g} and --duration-s {duration_s:g}"),
            "one of them, not both",
        )
    if days is not None:
        if not (math.isfinite(days) and 0.0 < days <= MAX_DURATION_DAYS):
            raise InputError("--days", days, f"a number of days in (0, {MAX_DURATION_DAYS:g}]")
        return float(days) * DAY_S
    if duration_s is not None:
        limit_s = MAX_DURATION_DAYS * DAY_S
        if not (math.isfinite(duration_s) and 0.0 < duration_s <= limit_s):
            raise InputError(
                "--duration-s",
                duration_s,
                f"a number of seconds in (0, {limit_s:.0f}] ({MAX_DURATION_DAYS:g} days)",
            )
        return float(duration_s)
    return DEFAULT_DURATION_S
