"""Positions of the Sun, the Moon and Mars relative to the Earth's centre, from JPL DE421.

The ephemeris is the DE421 kernel shipped in the ``skyfield-data`` wheel (no download), read
with ``jplephem``; it covers 1899-07-29 .. 2053-10-09. The kernel is opened once per process and
its segments are chained to geocentric vectors:

* Earth = EMB + (Earth - EMB), where EMB is the Earth-Moon barycentre;
* Sun = SSB -> Sun, minus the Earth;
* Moon = EMB + (Moon - EMB), minus the Earth (the SSB cancels);
* Mars = Mars barycentre + (Mars - Mars barycentre), minus the Earth.

Positions are **geometric**: where the body is at the instant asked for, with no light-time
correction and no aberration. For the Earth's shadow that is what matters to well under a
second of eclipse timing (annual aberration moves the Sun by 20.5 arcsec, which shifts a LEO
shadow edge by ~0.1 s). Light-time-corrected distances live in :mod:`orbitlearn.space.lighttime`.

Times are POSIX seconds on UTC (``unix_s``), converted to TDB with the leap-second table of
:mod:`orbitlearn.space.rotations`. Every function takes an array of times and returns
``(n_times, 3)`` metres (a scalar time gives ``(3,)``); axes are the GCRS (ICRF axes at the
geocentre) or TEME of date, the frame sgp4 positions are in.

>>> sun = sun_position_teme_m([1767225600.0])  # 2026-01-01T00:00:00Z, near perihelion
>>> sun.shape, round(float(np.linalg.norm(sun)) / AU_M, 4)
((1, 3), 0.9833)
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import InputError
from orbitlearn.space.rotations import gcrs_to_teme, unix_s_to_tdb_jd
from orbitlearn.space.timescale import DAY_S, UNIX_EPOCH_JD, format_utc_iso

__all__ = [
    "AU_M",
    "DE421_END_UNIX_S",
    "DE421_START_UNIX_S",
    "Body",
    "body_position_barycentric_m",
    "body_position_gcrs_m",
    "body_position_teme_m",
    "mars_position_gcrs_m",
    "mars_position_teme_m",
    "moon_position_gcrs_m",
    "moon_position_teme_m",
    "sun_position_gcrs_m",
    "sun_position_teme_m",
]

FloatArray = NDArray[np.float64]
Body = Literal["sun", "moon", "mars"]

#: Astronomical unit, metres (IAU 2012 Resolution B2, exact).
AU_M = 149_597_870_700.0

# NAIF integer codes of the DE421 segments (NAIF "NAIF IDs" required reading).
_SSB, _EMB, _MARS_BARYCENTER, _SUN, _MOON, _EARTH, _MARS = 0, 3, 4, 10, 301, 399, 499

# Coverage of every DE421 segment, Julian dates on TDB (read from the kernel's segment table).
_DE421_START_TDB_JD = 2_414_864.5  # 1899-07-29
_DE421_END_TDB_JD = 2_471_184.5  # 2053-10-09
#: First and last POSIX second (UTC) the ephemeris covers (a minute is kept in hand for TT-UTC).
DE421_START_UNIX_S = (_DE421_START_TDB_JD - UNIX_EPOCH_JD) * DAY_S + 60.0
DE421_END_UNIX_S = (_DE421_END_TDB_JD - UNIX_EPOCH_JD) * DAY_S - 120.0


@lru_cache(maxsize=1)
def _kernel() -> Any:
    """The DE421 kernel, opened once per process (memory-mapped by jplephem)."""
    from jplephem.spk import SPK

    from orbitlearn.space.offline_data import de421_path

    return SPK.open(str(de421_path()))


def _tdb(unix_s: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Checked split TDB Julian dates of ``unix_s`` (1-D arrays)."""
    seconds = np.atleast_1d(np.asarray(unix_s, dtype=np.float64))
    if seconds.ndim != 1:
        raise InputError("unix_s", f"an array of shape {seconds.shape}", "a 1-D array of times")
    outside = ~((seconds >= DE421_START_UNIX_S) & (seconds <= DE421_END_UNIX_S))
    if np.any(outside):
        bad = float(seconds[np.argmax(outside)])
        shown = format_utc_iso(bad, decimals=0) if np.isfinite(bad) else str(bad)
        raise InputError(
            "unix_s",
            shown,
            "a time the DE421 ephemeris covers, 1899-07-29 .. 2053-10-09 (UTC)",
        )
    return unix_s_to_tdb_jd(seconds)


def _segment_km(center: int, target: int, tdb: tuple[FloatArray, FloatArray]) -> FloatArray:
    """One kernel segment, target relative to centre, kilometres, shape ``(n_times, 3)``."""
    whole, fraction = tdb
    return np.asarray(_kernel()[center, target].compute(whole, fraction), dtype=np.float64).T


def _earth_from_emb_km(tdb: tuple[FloatArray, FloatArray]) -> FloatArray:
    return _segment_km(_EMB, _EARTH, tdb)


def _barycentric_km(
    body: Body | Literal["earth"], tdb: tuple[FloatArray, FloatArray]
) -> FloatArray:
    """Position relative to the solar-system barycentre, kilometres, ``(n_times, 3)``."""
    if body == "sun":
        return _segment_km(_SSB, _SUN, tdb)
    if body == "mars":
        return _segment_km(_SSB, _MARS_BARYCENTER, tdb) + _segment_km(_MARS_BARYCENTER, _MARS, tdb)
    emb = _segment_km(_SSB, _EMB, tdb)
    if body == "moon":
        return emb + _segment_km(_EMB, _MOON, tdb)
    if body == "earth":
        return emb + _earth_from_emb_km(tdb)
    raise InputError("body", body, "one of 'sun', 'moon', 'mars'")


def _geocentric_km(body: Body, tdb: tuple[FloatArray, FloatArray]) -> FloatArray:
    if body == "moon":
        # Both hang off the Earth-Moon barycentre: difference there, no SSB round trip.
        return _segment_km(_EMB, _MOON, tdb) - _earth_from_emb_km(tdb)
    return _barycentric_km(body, tdb) - _barycentric_km("earth", tdb)


def body_position_gcrs_m(body: Body, unix_s: ArrayLike) -> FloatArray:
    """Geometric geocentric position of ``body`` in GCRS axes, metres.

    Shape ``(n_times, 3)`` for an array of ``n_times`` times, ``(3,)`` for a scalar time.
    Raises :class:`InputError` for an unknown body or a time outside 1899-07-29 .. 2053-10-09.

    >>> body_position_gcrs_m("pluto", 0.0)
    Traceback (most recent call last):
    ...
    orbitlearn.errors.InputError: Expected `body` to be one of 'sun', 'moon', 'mars', actual: 'pluto'
    >>> body_position_gcrs_m("sun", [0.0, 2.8e9])
    Traceback (most recent call last):
    ...
    orbitlearn.errors.InputError: Expected `unix_s` to be a time the DE421 ephemeris covers, 1899-07-29 .. 2053-10-09 (UTC), actual: '2058-09-23T09:46:40Z'
    """
    if body not in ("sun", "moon", "mars"):
        raise InputError("body", body, "one of 'sun', 'moon', 'mars'")
    scalar = np.ndim(unix_s) == 0
    position_m = _geocentric_km(body, _tdb(unix_s)) * 1000.0
    return position_m[0] if scalar else position_m


def body_position_barycentric_m(body: Body | Literal["earth"], unix_s: ArrayLike) -> FloatArray:
    """Position relative to the solar-system barycentre, ICRF axes, metres, ``(n_times, 3)``.

    What the light-time equation needs (both ends of a signal at their own instants). Errors as
    :func:`body_position_gcrs_m`.

    >>> earth = body_position_barycentric_m("earth", [1767225600.0])
    >>> round(float(np.linalg.norm(earth)) / AU_M, 3)
    0.978
    """
    if body not in ("sun", "moon", "mars", "earth"):
        raise InputError("body", body, "one of 'sun', 'moon', 'mars', 'earth'")
    scalar = np.ndim(unix_s) == 0
    position_m = _barycentric_km(body, _tdb(unix_s)) * 1000.0
    return position_m[0] if scalar else position_m


def body_position_teme_m(body: Body, unix_s: ArrayLike) -> FloatArray:
    """Geometric geocentric position of ``body`` in TEME of date (sgp4's frame), metres.

    Shapes and errors as :func:`body_position_gcrs_m`.
    """
    position_gcrs_m = body_position_gcrs_m(body, unix_s)
    return gcrs_to_teme(position_gcrs_m, unix_s)


def sun_position_gcrs_m(unix_s: ArrayLike) -> FloatArray:
    """Geometric geocentric Sun, GCRS axes, metres, ``(n_times, 3)``."""
    return body_position_gcrs_m("sun", unix_s)


def sun_position_teme_m(unix_s: ArrayLike) -> FloatArray:
    """Geometric geocentric Sun, TEME of date, metres, ``(n_times, 3)``.

    Pairs with sgp4 output: ``sun_position_teme_m(t) - r_teme_m`` points from a satellite to the
    Sun. The Sun is computed once per time, whatever the number of satellites.
    """
    return body_position_teme_m("sun", unix_s)


def moon_position_gcrs_m(unix_s: ArrayLike) -> FloatArray:
    """Geometric geocentric Moon, GCRS axes, metres, ``(n_times, 3)``."""
    return body_position_gcrs_m("moon", unix_s)


def moon_position_teme_m(unix_s: ArrayLike) -> FloatArray:
    """Geometric geocentric Moon, TEME of date, metres, ``(n_times, 3)``."""
    return body_position_teme_m("moon", unix_s)


def mars_position_gcrs_m(unix_s: ArrayLike) -> FloatArray:
    """Geometric geocentric Mars (the planet, not its barycentre), GCRS axes, metres."""
    return body_position_gcrs_m("mars", unix_s)


def mars_position_teme_m(unix_s: ArrayLike) -> FloatArray:
    """Geometric geocentric Mars, TEME of date, metres, ``(n_times, 3)``."""
    return body_position_teme_m("mars", unix_s)
