"""Time in the space layer: UTC instants as POSIX seconds, and conversions.

Every instant in ``orbitlearn.space`` is a float64 count of POSIX seconds (``unix_s``: seconds
since 1970-01-01T00:00:00 UTC, leap seconds not counted, as POSIX does). float64 resolves better
than a microsecond across this century, arrays of them vectorise, and they convert exactly to the
split Julian dates that sgp4 wants.

UT1 is taken equal to UTC (|UT1 - UTC| < 0.9 s by definition), which moves a ground station by at
most ~0.4 km along its parallel in the Earth-fixed frame: far below what matters for pass edges at
one-second accuracy.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import InputError

__all__ = [
    "DAY_S",
    "UNIX_EPOCH_JD",
    "format_utc_iso",
    "gmst_rad",
    "jd_to_unix_s",
    "parse_utc_iso",
    "time_grid_unix_s",
    "unix_s_to_jd_fr",
]

#: Seconds in a day.
DAY_S = 86_400.0
#: Julian date of the POSIX epoch 1970-01-01T00:00:00 UTC.
UNIX_EPOCH_JD = 2_440_587.5
#: Julian date of J2000.0 (2000-01-01T12:00:00 TT; used here on the UT1 scale for GMST).
_J2000_JD = 2_451_545.0

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ISO_HINT = "an ISO 8601 UTC time such as 2026-01-01T00:00:00Z or 2026-01-01"


def parse_utc_iso(text: str, *, field: str = "start") -> float:
    """Parse an ISO 8601 time and return POSIX seconds (UTC).

    A time without an offset is taken as UTC; ``Z`` and numeric offsets are honoured.

    >>> parse_utc_iso("2026-01-01T00:00:00Z")
    1767225600.0
    >>> parse_utc_iso("2026-01-01")
    1767225600.0
    >>> parse_utc_iso("2026-01-01T02:00:00+02:00")
    1767225600.0
    >>> parse_utc_iso("yesterday", field="--start")
    Traceback (most recent call last):
    ...
    orbitlearn.errors.InputError: Expected `--start` to be an ISO 8601 UTC time such as 2026-01-01T00:00:00Z or 2026-01-01, actual: 'yesterday'
    """
    cleaned = text.strip()
    if re.fullmatch(r".*[zZ]", cleaned):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise InputError(field, text, _ISO_HINT) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_utc_iso(unix_s: float, *, decimals: int = 3) -> str:
    """Format POSIX seconds as ISO 8601 UTC with a ``Z`` suffix.

    >>> format_utc_iso(1767225600.0)
    '2026-01-01T00:00:00.000Z'
    >>> format_utc_iso(1767225600.25, decimals=0)
    '2026-01-01T00:00:00Z'
    """
    timespec = {0: "seconds", 3: "milliseconds", 6: "microseconds"}.get(decimals)
    if timespec is None:
        raise InputError("decimals", decimals, "one of 0, 3, 6")
    step_us = 10 ** (6 - decimals)
    micros = int(np.floor(unix_s * 1e6 / step_us + (0.5 if decimals else 0.0))) * step_us
    moment = _UNIX_EPOCH + timedelta(microseconds=micros)
    return moment.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def unix_s_to_jd_fr(unix_s: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Split POSIX seconds into the (whole, fraction) Julian dates that sgp4 takes.

    The whole part ends in .5 (midnight UTC) and the fraction lies in [0, 1), so no precision is
    lost in the sum.

    >>> jd, fr = unix_s_to_jd_fr([1767225600.0, 1767225600.0 + 43200.0])
    >>> jd.tolist(), fr.tolist()
    ([2461041.5, 2461041.5], [0.0, 0.5])
    """
    seconds = np.asarray(unix_s, dtype=np.float64)
    whole_days = np.floor(seconds / DAY_S)
    fraction = (seconds - whole_days * DAY_S) / DAY_S
    return UNIX_EPOCH_JD + whole_days, fraction


def jd_to_unix_s(jd: ArrayLike, fr: ArrayLike = 0.0) -> NDArray[np.float64]:
    """POSIX seconds of a (possibly split) Julian date on the UTC scale.

    >>> float(jd_to_unix_s(2461041.5, 0.5))
    1767268800.0
    """
    whole = np.asarray(jd, dtype=np.float64)
    fraction = np.asarray(fr, dtype=np.float64)
    return ((whole - UNIX_EPOCH_JD) + fraction) * DAY_S


def time_grid_unix_s(start_unix_s: float, duration_s: float, step_s: float) -> NDArray[np.float64]:
    """An evenly spaced grid from ``start_unix_s`` covering ``duration_s`` (end included).

    >>> time_grid_unix_s(0.0, 10.0, 4.0).tolist()
    [0.0, 4.0, 8.0, 10.0]
    """
    if not step_s > 0:
        raise InputError("step_s", step_s, "a number of seconds > 0")
    if not duration_s >= 0:
        raise InputError("duration_s", duration_s, "a number of seconds >= 0")
    count = int(np.floor(duration_s / step_s)) + 1
    grid = start_unix_s + step_s * np.arange(count, dtype=np.float64)
    end = start_unix_s + duration_s
    if grid[-1] < end:
        grid = np.append(grid, end)
    return grid


def gmst_rad(unix_s: ArrayLike) -> NDArray[np.float64]:
    """Greenwich mean sidereal time (IAU 1982, the angle sgp4's TEME frame is defined with).

    Source: Vallado, Crawford, Hujsak & Kelso, "Revisiting Spacetrack Report #3" (AIAA 2006-6753),
    eq. for GMST used by the reference sgp4 code; UT1 is taken as UTC.

    >>> round(float(np.degrees(gmst_rad(946728000.0))), 4)  # 2000-01-01T12:00:00 UTC
    280.4606
    """
    seconds = np.asarray(unix_s, dtype=np.float64)
    days_since_j2000 = (seconds / DAY_S + UNIX_EPOCH_JD) - _J2000_JD
    tut1 = days_since_j2000 / 36_525.0
    gmst_s = (
        67_310.54841
        + (876_600.0 * 3_600.0 + 8_640_184.812866) * tut1
        + 0.093104 * tut1**2
        - 6.2e-6 * tut1**3
    )
    return np.mod(gmst_s * (2.0 * np.pi / DAY_S), 2.0 * np.pi)
