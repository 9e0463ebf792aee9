"""Walker-delta and Walker-star shells of circular orbits, as sgp4 element sets.

A Walker shell ``T/P/F`` has ``T`` satellites in ``P`` equally spaced orbital planes of
``S = T / P`` satellites each, all at one altitude and inclination (J.G. Walker, "Satellite
constellations", J. British Interplanetary Society 37, 1984):

- plane ``p`` (0-based) has right ascension of the ascending node ``raan0 + p * 360 / P`` for a
  Walker-delta shell and ``raan0 + p * 180 / P`` for a Walker-star (polar "streets of coverage")
  shell;
- satellite ``s`` of plane ``p`` has argument of latitude ``s * 360 / S + p * F * 360 / T``: the
  in-plane spacing is ``360 / S`` and each plane is phased ``F * 360 / T`` ahead of the previous
  one, with the phasing factor ``F`` in ``[0, P - 1]``.

Names are ``"walker-P<plane>-S<slot>"`` with 1-based plane and slot (``walker-P1-S1`` is the
first satellite of the first plane); catalog numbers run 1..T in the same order (plane-major),
and :attr:`Constellation.planes` holds the 0-based plane of each satellite.

The orbits are circular (eccentricity 0, argument of perigee 0, so the mean anomaly is the
argument of latitude) and drag-free (BSTAR 0), initialised through ``Satrec.sgp4init`` with the
WGS72 constants sgp4 uses for TLEs.

**Altitude.** ``altitude_m`` is the mean geocentric radius over one orbit minus the WGS72
equatorial radius (6378.135 km): the usual "a - R" altitude of a circular shell. SGP4 does not
take a radius: it takes a Kozai mean motion, turns it into a Brouwer mean motion and semi-major
axis, and adds J2 short-period terms whose orbit average shifts the mean radius by up to ~10 km
(at 0 deg inclination; ~0.4 km at 53 deg). The mean motion is therefore found in two steps:
Kepler's third law with WGS72's mu gives a first guess, then the shell's first satellite is
propagated over one orbit and the mean motion corrected by ``(mean radius / wanted radius)^1.5``
until the propagated mean radius is within 1 m of ``R + altitude_m`` (two or three rounds). All
satellites of a shell share that mean motion.

>>> shell = walker_constellation(40, 5, 1, altitude_m=500e3, inclination_deg=80.0)
>>> len(shell), shell.names[:2], shell.names[-1]
(40, ('walker-P1-S1', 'walker-P1-S2'), 'walker-P5-S8')
>>> parse_walker_spec("40/5/1")
(40, 5, 1)
"""

from __future__ import annotations

import math
import re

import numpy as np
from sgp4.api import WGS72, Satrec
from sgp4.earth_gravity import wgs72

from orbitlearn.errors import InputError
from orbitlearn.space.constellation import Constellation
from orbitlearn.space.timescale import DAY_S, parse_utc_iso

__all__ = [
    "DEFAULT_WALKER_EPOCH_UNIX_S",
    "MAX_ALTITUDE_M",
    "MAX_WALKER_SATELLITES",
    "MIN_ALTITUDE_M",
    "WALKER_PATTERNS",
    "WGS72_EARTH_RADIUS_M",
    "check_walker_numbers",
    "parse_walker_spec",
    "walker_constellation",
]

#: Epoch of generated shells unless one is given: 2026-01-01T00:00:00Z.
DEFAULT_WALKER_EPOCH_UNIX_S = parse_utc_iso("2026-01-01T00:00:00Z")
#: WGS72 equatorial radius, the one sgp4 propagates with (sgp4.earth_gravity.wgs72; Hoots &
#: Roehrich, Spacetrack Report No. 3, 1980).
WGS72_EARTH_RADIUS_M = wgs72.radiusearthkm * 1e3
#: WGS72 gravitational parameter, m^3/s^2 (sgp4.earth_gravity.wgs72).
_WGS72_MU_M3_S2 = wgs72.mu * 1e9
#: Lowest shell altitude accepted: below ~160 km an orbit decays within days (drag).
MIN_ALTITUDE_M = 160e3
#: Highest shell altitude accepted (above GEO, well inside where SGP4/SDP4 is meant to work).
MAX_ALTITUDE_M = 50_000e3
#: Most satellites in one generated shell.
MAX_WALKER_SATELLITES = 100_000
#: Shell patterns: how far the planes' ascending nodes are spread.
WALKER_PATTERNS = {"delta": 360.0, "star": 180.0}
#: sgp4init takes the epoch as days since 1949-12-31 00:00 UTC (JD 2433281.5).
_SGP4_EPOCH0_UNIX_S = (2_433_281.5 - 2_440_587.5) * DAY_S

_SPEC_RE = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*/\s*(\d+)\s*")
_SPEC_ALLOWED = "T/P/F: total satellites / planes / phasing as whole numbers, such as 40/5/1"


def parse_walker_spec(text: str, *, field: str = "--walker") -> tuple[int, int, int]:
    """Parse a Walker ``T/P/F`` string and check that the numbers make a shell.

    ``field`` names the option in error messages.

    >>> parse_walker_spec("1584/72/39")
    (1584, 72, 39)
    >>> parse_walker_spec("40/6/1")
    Traceback (most recent call last):
    ...
    orbitlearn.errors.InputError: Expected `--walker` to be T/P/F with the total T divisible by the number of planes P, actual: '40/6/1'. 40 satellites do not split evenly into 6 planes

    Raises:
        InputError: the text is not three whole numbers separated by ``/``, or they do not make
            a shell (see :func:`check_walker_numbers`).
    """
    match = _SPEC_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InputError(field, text, _SPEC_ALLOWED)
    total, planes, phasing = (int(part) for part in match.groups())
    check_walker_numbers(total, planes, phasing, field=field, shown=text)
    return total, planes, phasing


def check_walker_numbers(
    total: int, planes: int, phasing: int, *, field: str = "walker", shown: object = None
) -> None:
    """Check that ``total/planes/phasing`` make a Walker shell.

    ``field`` and ``shown`` (the value to show; default ``"T/P/F"``) go into the message.

    Raises:
        InputError: ``total`` outside ``[1, MAX_WALKER_SATELLITES]``, ``planes`` < 1 or not a
            divisor of ``total``, or ``phasing`` outside ``[0, planes - 1]``.
    """
    value = shown if shown is not None else f"{total}/{planes}/{phasing}"
    for number in (total, planes, phasing):
        if isinstance(number, bool) or not isinstance(number, (int, np.integer)):
            raise InputError(field, value, _SPEC_ALLOWED)
    if not 1 <= total <= MAX_WALKER_SATELLITES:
        raise InputError(field, value, f"T/P/F with the total T in [1, {MAX_WALKER_SATELLITES}]")
    if not 1 <= planes <= total:
        raise InputError(field, value, "T/P/F with the number of planes P in [1, T]")
    if total % planes:
        raise InputError(
            field,
            value,
            "T/P/F with the total T divisible by the number of planes P",
            hint=f"{total} satellites do not split evenly into {planes} planes",
        )
    if not 0 <= phasing < planes:
        raise InputError(field, value, f"T/P/F with the phasing F in [0, P-1] = [0, {planes - 1}]")


def walker_constellation(
    total: int,
    planes: int,
    phasing: int,
    *,
    altitude_m: float,
    inclination_deg: float,
    pattern: str = "delta",
    epoch_unix_s: float = DEFAULT_WALKER_EPOCH_UNIX_S,
    raan0_deg: float = 0.0,
) -> Constellation:
    """Generate a Walker ``total/planes/phasing`` shell of circular orbits.

    Args:
        total, planes, phasing: Walker ``T/P/F``; ``T`` divisible by ``P``, ``0 <= F < P``.
        altitude_m: mean altitude above the WGS72 equatorial radius, metres, in
            ``[MIN_ALTITUDE_M, MAX_ALTITUDE_M]`` (see the module docstring).
        inclination_deg: orbit inclination, degrees in ``[0, 180]``.
        pattern: ``"delta"`` (nodes over 360 deg) or ``"star"`` (nodes over 180 deg).
        epoch_unix_s: element-set epoch, POSIX seconds (UTC).
        raan0_deg: right ascension of the ascending node of the first plane, degrees.

    Returns:
        A :class:`Constellation` of ``total`` satellites, plane-major, with ``planes`` set.

    Raises:
        InputError: any argument outside what is allowed (the message names the argument).
    """
    check_walker_numbers(total, planes, phasing)
    _check_range("altitude_m", altitude_m, MIN_ALTITUDE_M, MAX_ALTITUDE_M, "metres")
    _check_range("inclination_deg", inclination_deg, 0.0, 180.0, "degrees")
    if pattern not in WALKER_PATTERNS:
        raise InputError("pattern", pattern, "one of 'delta', 'star'")
    _check_range("raan0_deg", raan0_deg, -360.0, 360.0, "degrees")
    _check_range("epoch_unix_s", epoch_unix_s, -4.0e8, 4.1e9, "POSIX seconds (1957-2099)")

    epoch_days = (float(epoch_unix_s) - _SGP4_EPOCH0_UNIX_S) / DAY_S
    inclination_rad = math.radians(inclination_deg)
    mean_motion_rad_min = _mean_motion_for_altitude(float(altitude_m), inclination_rad, epoch_days)

    per_plane = total // planes
    spread_deg = WALKER_PATTERNS[pattern]
    satrecs: list[Satrec] = []
    names: list[str] = []
    plane_of: list[int] = []
    for plane in range(planes):
        raan_rad = math.radians((raan0_deg + plane * spread_deg / planes) % 360.0)
        for slot in range(per_plane):
            latitude_arg_deg = slot * 360.0 / per_plane + plane * phasing * 360.0 / total
            satrec = _circular_satrec(
                len(satrecs) + 1,
                epoch_days,
                inclination_rad,
                raan_rad,
                math.radians(latitude_arg_deg % 360.0),
                mean_motion_rad_min,
            )
            satrecs.append(satrec)
            names.append(f"walker-P{plane + 1}-S{slot + 1}")
            plane_of.append(plane)
    source = (
        f"Walker-{pattern} {total}/{planes}/{phasing}, {altitude_m / 1e3:g} km, "
        f"{inclination_deg:g} deg"
    )
    return Constellation(
        names=tuple(names), satrecs=tuple(satrecs), source=source, planes=tuple(plane_of)
    )


def _check_range(name: str, value: float, low: float, high: float, unit: str) -> None:
    allowed = f"a number of {unit} in [{low:.10g}, {high:.10g}]"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InputError(name, value, allowed)
    if not (math.isfinite(value) and low <= value <= high):
        raise InputError(name, value, allowed)


def _circular_satrec(
    catalog: int,
    epoch_days: float,
    inclination_rad: float,
    raan_rad: float,
    mean_anomaly_rad: float,
    mean_motion_rad_min: float,
) -> Satrec:
    satrec = Satrec()
    satrec.sgp4init(
        WGS72,
        "i",
        catalog,
        epoch_days,
        0.0,  # BSTAR: no drag in a generated shell
        0.0,  # ndot
        0.0,  # nddot
        0.0,  # eccentricity
        0.0,  # argument of perigee
        inclination_rad,
        mean_anomaly_rad,
        mean_motion_rad_min,
        raan_rad,
    )
    if satrec.error:
        raise RuntimeError(f"sgp4init failed with error {satrec.error} for a Walker satellite")
    return satrec


def _mean_motion_for_altitude(
    altitude_m: float, inclination_rad: float, epoch_days: float
) -> float:
    """Kozai mean motion (rad/min) whose SGP4 orbit has mean radius ``R + altitude_m``."""
    wanted_radius_m = WGS72_EARTH_RADIUS_M + altitude_m
    mean_motion = math.sqrt(_WGS72_MU_M3_S2 / wanted_radius_m**3) * 60.0  # Kepler, rad/min
    for _ in range(8):
        radius_m = _mean_radius_m(mean_motion, inclination_rad, epoch_days)
        mean_motion *= (radius_m / wanted_radius_m) ** 1.5
        if abs(radius_m - wanted_radius_m) < 1.0:
            break
    return mean_motion


def _mean_radius_m(mean_motion_rad_min: float, inclination_rad: float, epoch_days: float) -> float:
    """Mean geocentric radius over one orbit of a circular SGP4 orbit, metres."""
    satrec = _circular_satrec(1, epoch_days, inclination_rad, 0.0, 0.0, mean_motion_rad_min)
    period_min = 2.0 * math.pi / mean_motion_rad_min
    # 360 samples per orbit, end excluded: the mean of a smooth periodic function converges
    # geometrically with the number of evenly spaced samples.
    minutes = np.arange(360) * (period_min / 360.0)
    jd = np.full(minutes.shape, satrec.jdsatepoch)
    fraction = satrec.jdsatepochF + minutes / 1440.0
    errors, positions_km, _ = satrec.sgp4_array(jd, fraction)
    if np.any(errors):
        raise RuntimeError(f"sgp4 failed (errors {set(errors.tolist())}) on a circular orbit")
    return float(np.mean(np.linalg.norm(positions_km, axis=1))) * 1e3
