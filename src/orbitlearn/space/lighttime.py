"""Light-time delay: ground links, the Moon and Mars, and Mars solar conjunctions.

* A LEO ground link: one-way delay = slant range / c, with the range taken at one instant. Over
  a link of at most ~3000 km the satellite moves ~75 m while the signal flies (0.25
  microseconds) and the troposphere adds at most a few tens of metres (~0.1 microseconds); both
  are left out.
* The Moon and Mars: the distance a signal actually travels, found by iterating the light-time
  equation in the solar-system barycentric frame on DE421 positions. ``direction="receive"``
  is a signal that arrives at the Earth's centre at ``unix_s`` (sent from the body ``tau``
  earlier, where the body was then), ``"transmit"`` one that leaves the Earth's centre at
  ``unix_s``. The geometric distance (both bodies at the same instant) is
  :func:`earth_moon_distance_m` / :func:`earth_mars_distance_m`; in the barycentric frame the
  far end moves (the Earth's 30 km/s included) while the signal flies, so the two differ by up
  to 1.0e-4 of the delay for the Moon and 0.7e-4 for Mars (measured 2000-2050). The
  relativistic (Shapiro) delay, <= ~0.25 ms for Mars near superior conjunction, is left out.
* Mars solar conjunction: the Sun-Earth-Mars angle (Mars's elongation) falls below a few degrees
  every ~26 months and the solar corona spoils radio links for ~2 weeks; operators then stop
  commanding. Geometric directions are used (aberration and light time shift the angle by
  ~0.005 deg, a few minutes in the window edges).

Distances are between the bodies' centres, metres; times are POSIX seconds UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import InputError
from orbitlearn.space.ephemeris import (
    body_position_barycentric_m,
    body_position_gcrs_m,
    mars_position_gcrs_m,
    moon_position_gcrs_m,
    sun_position_gcrs_m,
)
from orbitlearn.space.frames import teme_to_ecef
from orbitlearn.space.stations import GroundStation

__all__ = [
    "SPEED_OF_LIGHT_M_S",
    "MarsConjunctions",
    "body_light_time_s",
    "earth_mars_distance_m",
    "earth_moon_distance_m",
    "ground_link_light_time_s",
    "light_time_s",
    "mars_light_time_s",
    "mars_solar_conjunctions",
    "mars_sun_separation_deg",
    "moon_light_time_s",
    "slant_range_m",
]

FloatArray = NDArray[np.float64]
Direction = Literal["receive", "transmit"]

#: Speed of light in vacuum, m/s (exact by the definition of the metre, SI 2019).
SPEED_OF_LIGHT_M_S = 299_792_458.0


def light_time_s(distance_m: ArrayLike) -> FloatArray:
    """One-way light time over a distance, seconds (same shape as ``distance_m``).

    NaN stays NaN (a position sgp4 could not give); a negative distance is refused.

    >>> round(float(light_time_s(1816e3)) * 1e3, 3)  # the longest 550 km pass at 10 deg mask
    6.058
    >>> light_time_s(-1.0)
    Traceback (most recent call last):
    ...
    orbitlearn.errors.InputError: Expected `distance_m` to be a distance in metres >= 0, actual: -1.0
    """
    distance = np.asarray(distance_m, dtype=np.float64)
    negative = distance < 0.0
    if np.any(negative) or np.any(np.isinf(distance)):
        bad = distance[negative | np.isinf(distance)].flat[0]
        raise InputError("distance_m", float(bad), "a distance in metres >= 0")
    return distance / SPEED_OF_LIGHT_M_S


def slant_range_m(r_teme_m: ArrayLike, station: GroundStation, unix_s: ArrayLike) -> FloatArray:
    """Distance from a ground station to satellites, metres.

    ``r_teme_m`` is ``(..., n_times, 3)`` TEME metres (sgp4 output) at times ``(n_times,)``; the
    result is ``(..., n_times)``. The station is placed with GMST (UT1 = UTC, as in
    :mod:`orbitlearn.space.frames`): at most ~0.4 km along its parallel, ~1.3 microseconds.
    """
    r_ecef_m, _ = teme_to_ecef(r_teme_m, None, unix_s)
    return np.linalg.norm(r_ecef_m - station.position_ecef_m, axis=-1)


def ground_link_light_time_s(
    r_teme_m: ArrayLike, station: GroundStation, unix_s: ArrayLike
) -> FloatArray:
    """One-way light time between a ground station and satellites, seconds, ``(..., n_times)``.

    The slant range (:func:`slant_range_m`) over c.

    >>> station = GroundStation("zenith", 0.0, 0.0)
    >>> r = np.array([[6_378_137.0 + 550e3, 0.0, 0.0]])  # over (0, 0) at the time below
    >>> from orbitlearn.space.timescale import gmst_rad
    >>> t = np.array([0.0])
    >>> c, s = np.cos(gmst_rad(t)[0]), np.sin(gmst_rad(t)[0])
    >>> r_teme = r @ np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    >>> round(float(ground_link_light_time_s(r_teme, station, t)[0]) * 1e3, 4)
    1.8346
    """
    return light_time_s(slant_range_m(r_teme_m, station, unix_s))


def earth_moon_distance_m(unix_s: ArrayLike) -> FloatArray:
    """Geometric distance between the centres of the Earth and the Moon, metres, ``(n_times,)``.

    Raises :class:`InputError` outside DE421 (1899-07-29 .. 2053-10-09).
    """
    return np.asarray(np.linalg.norm(moon_position_gcrs_m(unix_s), axis=-1))


def earth_mars_distance_m(unix_s: ArrayLike) -> FloatArray:
    """Geometric distance between the centres of the Earth and Mars, metres, ``(n_times,)``."""
    return np.asarray(np.linalg.norm(mars_position_gcrs_m(unix_s), axis=-1))


def body_light_time_s(
    body: Literal["moon", "mars", "sun"], unix_s: ArrayLike, *, direction: Direction = "receive"
) -> FloatArray:
    """One-way light time between the Earth's centre and a body's centre, seconds.

    Solves ``c tau = |x_body(t -+ tau) - x_earth(t)|`` (barycentric DE421 positions) by fixed-
    point iteration: each step shrinks the error by the range rate over c (< 1e-4), so four
    steps reach the nanosecond. Shape as ``unix_s``.

    Raises :class:`InputError` for an unknown direction or body, or a time (including the
    emission or arrival time at the body) outside DE421.
    """
    if direction not in ("receive", "transmit"):
        raise InputError("direction", direction, "one of 'receive', 'transmit'")
    scalar = np.ndim(unix_s) == 0
    times = np.atleast_1d(np.asarray(unix_s, dtype=np.float64))
    earth_m = body_position_barycentric_m("earth", times)
    sign = -1.0 if direction == "receive" else 1.0
    tau_s = np.linalg.norm(body_position_gcrs_m(body, times), axis=-1) / SPEED_OF_LIGHT_M_S
    for _ in range(4):
        body_m = body_position_barycentric_m(body, times + sign * tau_s)
        tau_s = np.linalg.norm(body_m - earth_m, axis=-1) / SPEED_OF_LIGHT_M_S
    return np.asarray(tau_s[0]) if scalar else tau_s


def moon_light_time_s(unix_s: ArrayLike, *, direction: Direction = "receive") -> FloatArray:
    """One-way Earth-Moon light time (centre to centre), seconds: ~1.19-1.36 s.

    >>> round(float(moon_light_time_s(1767225600.0)), 3)  # 2026-01-01T00:00:00Z
    1.204
    """
    return body_light_time_s("moon", unix_s, direction=direction)


def mars_light_time_s(unix_s: ArrayLike, *, direction: Direction = "receive") -> FloatArray:
    """One-way Earth-Mars light time (centre to centre), seconds: ~3-22 minutes.

    >>> round(float(mars_light_time_s(1767225600.0)) / 60.0, 2)  # 2026-01-01, near conjunction
    20.05
    """
    return body_light_time_s("mars", unix_s, direction=direction)


def mars_sun_separation_deg(unix_s: ArrayLike) -> FloatArray:
    """Angle between the Sun and Mars seen from the Earth's centre (geometric), degrees.

    >>> round(float(mars_sun_separation_deg(1767225600.0)), 2)
    2.3
    """
    sun = sun_position_gcrs_m(unix_s)
    mars = mars_position_gcrs_m(unix_s)
    cross = np.linalg.norm(np.cross(sun, mars), axis=-1)
    return np.degrees(np.arctan2(cross, np.sum(sun * mars, axis=-1)))


@dataclass(frozen=True)
class MarsConjunctions:
    """Windows in which Mars is within ``max_sep_deg`` of the Sun, one row per window.

    All arrays are ``(n_windows,)``: window start and end (clipped to the span searched), the
    time of the smallest separation and that separation in degrees.
    """

    start_unix_s: FloatArray
    end_unix_s: FloatArray
    closest_unix_s: FloatArray
    min_separation_deg: FloatArray
    max_sep_deg: float

    def __len__(self) -> int:
        return int(self.start_unix_s.shape[0])

    @property
    def duration_s(self) -> FloatArray:
        """Length of each window, seconds."""
        return self.end_unix_s - self.start_unix_s


#: Sampling step of the conjunction search: the elongation changes by < 0.2 deg per 6 hours, and
#: a window must last more than the step to be found (a 0.1 deg window lasts ~1 day).
_CONJUNCTION_STEP_S = 6.0 * 3600.0


def mars_solar_conjunctions(
    start_unix_s: float, end_unix_s: float, *, max_sep_deg: float = 2.0
) -> MarsConjunctions:
    """Mars solar conjunctions: windows when the Sun-Earth-Mars angle is below ``max_sep_deg``.

    The elongation is sampled every 6 hours; window edges are bisected to 1 s and the closest
    approach found by golden-section search to ~1 s.

    Raises:
        InputError: ``max_sep_deg`` outside (0, 30], an empty span, or a time outside DE421.

    >>> c = mars_solar_conjunctions(1767225600.0 - 30 * 86400.0, 1767225600.0 + 30 * 86400.0)
    >>> len(c), round(float(c.min_separation_deg[0]), 2), round(float(c.duration_s[0]) / 86400.0, 1)
    (1, 0.94, 14.3)
    """
    if not (np.isfinite(max_sep_deg) and 0.0 < max_sep_deg <= 30.0):
        raise InputError("max_sep_deg", max_sep_deg, "a number of degrees in (0, 30]")
    if not (np.isfinite(start_unix_s) and np.isfinite(end_unix_s) and end_unix_s > start_unix_s):
        raise InputError("end_unix_s", end_unix_s, f"a time after start_unix_s ({start_unix_s!r})")
    count = int(np.ceil((end_unix_s - start_unix_s) / _CONJUNCTION_STEP_S)) + 1
    grid = np.linspace(start_unix_s, end_unix_s, max(count, 2))
    separation = mars_sun_separation_deg(grid)
    inside = separation < max_sep_deg

    def below(times: FloatArray) -> NDArray[np.bool_]:
        return mars_sun_separation_deg(times) < max_sep_deg

    change = np.flatnonzero(inside[1:] != inside[:-1])
    edges = _bisect(below, grid[change], grid[change + 1], inside[change], tolerance_s=1.0)
    entering = ~inside[change]
    starts = list(edges[entering])
    ends = list(edges[~entering])
    if inside[0]:
        starts.insert(0, float(grid[0]))
    if inside[-1]:
        ends.append(float(grid[-1]))
    start_arr, end_arr = np.array(starts, dtype=np.float64), np.array(ends, dtype=np.float64)
    closest = _golden_minimum(mars_sun_separation_deg, start_arr, end_arr, tolerance_s=1.0)
    return MarsConjunctions(
        start_unix_s=start_arr,
        end_unix_s=end_arr,
        closest_unix_s=closest,
        min_separation_deg=mars_sun_separation_deg(closest) if closest.size else closest,
        max_sep_deg=float(max_sep_deg),
    )


def _bisect(
    predicate: Callable[[FloatArray], NDArray[np.bool_]],
    low: FloatArray,
    high: FloatArray,
    value_at_low: NDArray[np.bool_],
    tolerance_s: float,
) -> FloatArray:
    """Where ``predicate`` flips inside each ``[low, high]``, all brackets at once."""
    low, high = low.astype(np.float64).copy(), high.astype(np.float64).copy()
    if low.size == 0:
        return low
    while float(np.max(high - low)) > tolerance_s:
        mid = 0.5 * (low + high)
        same = predicate(mid) == value_at_low
        low = np.where(same, mid, low)
        high = np.where(same, high, mid)
    return 0.5 * (low + high)


def _golden_minimum(
    function: Callable[[FloatArray], FloatArray],
    low: FloatArray,
    high: FloatArray,
    tolerance_s: float,
) -> FloatArray:
    """Minimum of a unimodal function inside each ``[low, high]`` (golden-section search)."""
    low, high = low.copy(), high.copy()
    if low.size == 0:
        return low
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    while float(np.max(high - low)) > tolerance_s:
        left = high - ratio * (high - low)
        right = low + ratio * (high - low)
        go_left = function(left) < function(right)
        high = np.where(go_left, right, high)
        low = np.where(go_left, low, left)
    return 0.5 * (low + high)
