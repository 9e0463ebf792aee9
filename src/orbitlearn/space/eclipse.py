"""The Earth's shadow: shadow fraction, eclipse state and intervals, and the beta angle.

Model: a conical shadow cast by a spherical Sun (radius 695,700 km) past a spherical Earth
(radius 6,378,137 m, the WGS84 equatorial radius, optionally raised by an atmosphere height, or
flattened to the WGS84 ellipsoid). Seen from the satellite the Sun is a disc of angular radius
``a = asin(R_sun / |s - r|)`` and the Earth a disc of angular radius ``b = asin(R_earth / |r|)``,
their centres ``c`` apart; the **shadow fraction** is the share of the solar disc the Earth
hides, the area where the two discs overlap divided by ``pi a**2`` (Montenbruck & Gill,
*Satellite Orbits*, 2000, section 3.4.2):

* ``c >= a + b``: sunlit, 0;
* ``c <= b - a``: umbra, 1 (the whole Sun hidden);
* between: penumbra, a fraction in (0, 1) from the lens-shaped overlap of the two discs.

The Sun position is geometric DE421 (:mod:`orbitlearn.space.ephemeris`), computed once per time
and shared by every satellite. Light time (8.3 min) and annual aberration (20.5 arcsec) are not
applied: together they move a LEO shadow edge by ~0.1 s.

Frames and shapes: satellite positions are TEME metres (what sgp4 gives), ``(..., n_times, 3)``
with times ``(n_times,)``; outputs drop the last axis.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import InputError
from orbitlearn.space.constellation import Constellation
from orbitlearn.space.ephemeris import sun_position_teme_m
from orbitlearn.space.frames import WGS84_A_M, WGS84_F
from orbitlearn.space.intervals import IntervalTable
from orbitlearn.space.propagation import propagate_teme
from orbitlearn.space.timescale import time_grid_unix_s, unix_s_to_jd_fr

__all__ = [
    "EARTH_RADIUS_M",
    "SUN_RADIUS_M",
    "EclipseFractions",
    "EclipseState",
    "EclipseTable",
    "beta_angle_deg",
    "constellation_beta_angle_deg",
    "eclipse_fraction",
    "eclipse_intervals",
    "eclipse_state",
    "shadow_fraction",
]

FloatArray = NDArray[np.float64]

#: Nominal solar radius, metres (IAU 2015 Resolution B3).
SUN_RADIUS_M = 695_700_000.0
#: Radius of the spherical Earth that casts the shadow: WGS84 equatorial radius (NIMA TR8350.2).
EARTH_RADIUS_M = WGS84_A_M

# Points handled per block in shadow_fraction: small enough for the ~10 float64 temporaries
# to stay in cache.
_BLOCK_POINTS = 1 << 17
# Largest grid step eclipse_intervals accepts: an eclipse shorter than the step can be missed,
# and a LEO eclipse lasts at least a few minutes except close to the critical beta angle.
_MAX_STEP_S = 300.0


class EclipseState(enum.IntEnum):
    """What a satellite sees of the Sun. ``UNKNOWN`` marks a position sgp4 could not give."""

    UNKNOWN = -1
    SUNLIT = 0
    PENUMBRA = 1
    UMBRA = 2


def _check_earth_model(earth_radius_m: float, atmosphere_height_m: float) -> None:
    if not (np.isfinite(earth_radius_m) and 6.0e6 <= earth_radius_m <= 6.5e6):
        raise InputError("earth_radius_m", earth_radius_m, "a number of metres in [6.0e6, 6.5e6]")
    if not (np.isfinite(atmosphere_height_m) and 0.0 <= atmosphere_height_m <= 200e3):
        raise InputError(
            "atmosphere_height_m", atmosphere_height_m, "a number of metres in [0, 200000]"
        )


def _sines_and_cosine(
    r_m: FloatArray,
    sun_m: FloatArray,
    earth_radius_m: float,
    atmosphere_height_m: float,
    oblate: bool,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``sin a``, ``sin b`` and ``cos c`` of the Sun and Earth discs seen from the satellite.

    ``a`` is the Sun's angular radius, ``b`` the Earth's and ``c`` the angle between their
    centres. ``r_m`` is ``(..., n_times, 3)``, ``sun_m`` ``(n_times, 3)`` (or any shape that
    broadcasts); outputs are ``r_m.shape[:-1]``. Only dot products are formed, so no
    ``(..., n_times, 3)`` temporaries are made.
    """
    radius_m = earth_radius_m + atmosphere_height_m
    if oblate:
        # An affine stretch of z by a/b turns the ellipsoid into a sphere of radius a and keeps
        # straight lines straight, so tangency (the shadow edge) is preserved.
        polar_m = earth_radius_m * (1.0 - WGS84_F) + atmosphere_height_m
        stretch = np.array([1.0, 1.0, radius_m / polar_m])
        r_m = r_m * stretch
        sun_m = sun_m * stretch
    rr = np.einsum("...i,...i->...", r_m, r_m)
    rs = np.einsum("...i,...i->...", r_m, sun_m)
    ss = np.einsum("...i,...i->...", sun_m, sun_m)
    r_norm = np.sqrt(rr)
    d_norm = np.sqrt(rr - 2.0 * rs + ss)  # |sun - r|
    # Angle at the satellite between the Earth's centre (-r) and the Sun (s - r).
    cos_c = (rr - rs) / (r_norm * d_norm)
    sin_a = np.minimum(SUN_RADIUS_M / d_norm, 1.0)
    sin_b = np.minimum(radius_m / r_norm, 1.0)
    return sin_a, sin_b, np.clip(cos_c, -1.0, 1.0)


def _disc_geometry(
    r_m: FloatArray,
    sun_m: FloatArray,
    earth_radius_m: float,
    atmosphere_height_m: float,
    oblate: bool,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Angular radii of the Sun ``a`` and the Earth ``b`` and their separation ``c``, radians.

    Shapes as :func:`_sines_and_cosine`.
    """
    sin_a, sin_b, cos_c = _sines_and_cosine(r_m, sun_m, earth_radius_m, atmosphere_height_m, oblate)
    return np.arcsin(sin_a), np.arcsin(sin_b), np.arccos(cos_c)


def _shadow_fraction_block(
    r_m: FloatArray,
    sun_m: FloatArray,
    earth_radius_m: float,
    atmosphere_height_m: float,
    oblate: bool,
) -> FloatArray:
    """Shadow fraction of one block of positions.

    Sunlit (``c >= a + b``) and umbra (``c <= b - a``) are told apart with cosines (all angles
    lie in [0, pi], where the cosine decreases), so the inverse trigonometric functions run only
    on the few points in penumbra.
    """
    sin_a, sin_b, cos_c = _sines_and_cosine(r_m, sun_m, earth_radius_m, atmosphere_height_m, oblate)
    cos_a = np.sqrt(1.0 - sin_a**2)
    cos_b = np.sqrt(1.0 - sin_b**2)
    sunlit = cos_c <= cos_a * cos_b - sin_a * sin_b  # cos(a + b)
    umbra = (sin_b > sin_a) & (cos_c >= cos_a * cos_b + sin_a * sin_b)  # cos(b - a)
    fraction = umbra.astype(np.float64)
    partial = ~(sunlit | umbra)
    if np.any(partial):
        a = np.arcsin(sin_a[partial])
        b = np.arcsin(sin_b[partial])
        c = np.arccos(cos_c[partial])
        fraction[partial] = _overlap_fraction(a, b, c)
    return fraction


def _segment_area(radius: FloatArray, distance: FloatArray) -> FloatArray:
    """Area of the part of a disc beyond a chord ``distance`` from its centre (signed)."""
    u = np.clip(distance / radius, -1.0, 1.0)
    return radius**2 * (np.arccos(u) - u * np.sqrt(1.0 - u**2))


def _overlap_fraction(a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
    """Share of the disc of radius ``a`` covered by a disc of radius ``b`` at distance ``c``."""
    fraction = np.zeros(np.broadcast(a, b, c).shape)
    fraction[c <= b - a] = 1.0
    annular = c <= a - b  # the Earth inside the solar disc (never from LEO; kept for generality)
    fraction[annular] = (b[annular] / a[annular]) ** 2
    partial = (c < a + b) & (c > np.abs(b - a))
    ap, bp, cp = a[partial], b[partial], c[partial]
    # The common chord lies x_sun from the Sun's centre and cp - x_sun from the Earth's.
    x_sun = (cp**2 + ap**2 - bp**2) / (2.0 * cp)
    area = _segment_area(ap, x_sun) + _segment_area(bp, cp - x_sun)
    fraction[partial] = np.clip(area / (np.pi * ap**2), 0.0, 1.0)
    fraction[np.isnan(c)] = np.nan
    return fraction


def _as_positions(r_teme_m: ArrayLike, unix_s: ArrayLike) -> tuple[FloatArray, FloatArray]:
    r = np.asarray(r_teme_m, dtype=np.float64)
    times = np.atleast_1d(np.asarray(unix_s, dtype=np.float64))
    if r.ndim < 2 or r.shape[-1] != 3:
        raise InputError(
            "r_teme_m", f"an array of shape {r.shape}", "an array of shape (..., n_times, 3)"
        )
    if times.ndim != 1 or times.shape[0] != r.shape[-2]:
        raise InputError(
            "unix_s",
            f"an array of shape {times.shape}",
            f"a 1-D array of {r.shape[-2]} times (one per row of r_teme_m)",
        )
    return r, times


def _sun_for(times: FloatArray, sun_teme_m: ArrayLike | None) -> FloatArray:
    if sun_teme_m is None:
        return sun_position_teme_m(times)
    sun = np.asarray(sun_teme_m, dtype=np.float64)
    if sun.shape != (times.shape[0], 3):
        raise InputError(
            "sun_teme_m",
            f"an array of shape {sun.shape}",
            f"an array of shape ({times.shape[0]}, 3)",
        )
    return sun


def shadow_fraction(
    r_teme_m: ArrayLike,
    unix_s: ArrayLike,
    *,
    sun_teme_m: ArrayLike | None = None,
    earth_radius_m: float = EARTH_RADIUS_M,
    atmosphere_height_m: float = 0.0,
    oblate: bool = False,
) -> FloatArray:
    """Share of the solar disc hidden by the Earth: 0 sunlit, 1 umbra, between in penumbra.

    Args:
        r_teme_m: satellite positions, TEME metres, shape ``(..., n_times, 3)``.
        unix_s: times, POSIX seconds UTC, shape ``(n_times,)``.
        sun_teme_m: the Sun at those times, ``(n_times, 3)``, when the caller already has it
            (:func:`~orbitlearn.space.ephemeris.sun_position_teme_m`); computed otherwise.
        earth_radius_m: radius of the spherical Earth (default WGS84 equatorial).
        atmosphere_height_m: added to the Earth's radius (0 = the solid Earth; some models use
            ~50 km to account for the atmosphere's dimming of grazing sunlight).
        oblate: flatten the shadowing Earth to the WGS84 ellipsoid (moves edges by up to ~7 s at
            high latitudes compared with the sphere).

    Returns:
        ``(..., n_times)`` floats in [0, 1]; NaN where a position is NaN (sgp4 failure).

    Raises:
        InputError: on shapes that do not match, or a time outside the DE421 coverage.

    >>> t = np.array([1767225600.0])
    >>> sun = sun_position_teme_m(t)
    >>> toward, away = sun / np.linalg.norm(sun) * 7.0e6, -sun / np.linalg.norm(sun) * 7.0e6
    >>> shadow_fraction(np.stack([toward, away]), t).tolist()
    [[0.0], [1.0]]
    """
    _check_earth_model(earth_radius_m, atmosphere_height_m)
    r, times = _as_positions(r_teme_m, unix_s)
    sun = _sun_for(times, sun_teme_m)
    leading = r.shape[:-2]
    n_times = r.shape[-2]
    flat = r.reshape(-1, n_times, 3)
    out = np.empty(flat.shape[:2])
    # Blocks of ~_BLOCK_POINTS points keep the temporaries in cache (3x faster than one pass).
    time_chunk = max(1, min(n_times, _BLOCK_POINTS))
    rows_per_block = max(1, _BLOCK_POINTS // time_chunk)
    for t_first in range(0, n_times, time_chunk):
        columns = slice(t_first, t_first + time_chunk)
        for first in range(0, flat.shape[0], rows_per_block):
            rows = slice(first, first + rows_per_block)
            out[rows, columns] = _shadow_fraction_block(
                flat[rows, columns], sun[columns], earth_radius_m, atmosphere_height_m, oblate
            )
    return out.reshape(*leading, n_times)


def eclipse_state(
    r_teme_m: ArrayLike,
    unix_s: ArrayLike,
    *,
    sun_teme_m: ArrayLike | None = None,
    earth_radius_m: float = EARTH_RADIUS_M,
    atmosphere_height_m: float = 0.0,
    oblate: bool = False,
) -> NDArray[np.int8]:
    """Eclipse state codes (:class:`EclipseState` values), shape ``(..., n_times)``, int8.

    Arguments as :func:`shadow_fraction`. ``EclipseState.UNKNOWN`` (-1) where a position is NaN.

    >>> t = np.array([1767225600.0])
    >>> away = -sun_position_teme_m(t) / 1.496e11 * 7.0e6
    >>> EclipseState(int(eclipse_state(away, t)[0])).name
    'UMBRA'
    """
    fraction = shadow_fraction(
        r_teme_m,
        unix_s,
        sun_teme_m=sun_teme_m,
        earth_radius_m=earth_radius_m,
        atmosphere_height_m=atmosphere_height_m,
        oblate=oblate,
    )
    state = np.full(fraction.shape, EclipseState.PENUMBRA, dtype=np.int8)
    state[fraction <= 0.0] = EclipseState.SUNLIT
    state[fraction >= 1.0] = EclipseState.UMBRA
    state[np.isnan(fraction)] = EclipseState.UNKNOWN
    return state


def beta_angle_deg(
    r_teme_m: ArrayLike,
    v_teme_m_s: ArrayLike,
    unix_s: ArrayLike,
    *,
    sun_teme_m: ArrayLike | None = None,
) -> FloatArray:
    """Beta angle: elevation of the Sun above the orbit plane, degrees in [-90, 90].

    Positive when the Sun lies on the side of the orbit normal ``r x v``. Inputs are TEME
    positions ``(..., n_times, 3)`` m and velocities (same shape) m/s at times ``(n_times,)``;
    output ``(..., n_times)``.

    >>> t = np.array([1767225600.0])
    >>> s = sun_position_teme_m(t)[0] / np.linalg.norm(sun_position_teme_m(t)[0])
    >>> side = np.cross(s, [0.0, 0.0, 1.0]); side /= np.linalg.norm(side)
    >>> r, v = side * 6.9e6, s * 7.6e3  # an orbit plane that contains the Sun
    >>> abs(round(float(beta_angle_deg(r[None], v[None], t)[0]), 9))
    0.0
    """
    r, times = _as_positions(r_teme_m, unix_s)
    v = np.asarray(v_teme_m_s, dtype=np.float64)
    if v.shape != r.shape:
        raise InputError(
            "v_teme_m_s",
            f"an array of shape {v.shape}",
            f"an array of shape {r.shape} like r_teme_m",
        )
    sun = _sun_for(times, sun_teme_m)
    sun_unit = sun / np.linalg.norm(sun, axis=-1, keepdims=True)
    normal = np.cross(r, v)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    sin_beta = np.einsum("...ti,ti->...t", normal, sun_unit)
    return np.degrees(np.arcsin(np.clip(sin_beta, -1.0, 1.0)))


# --- propagation ---------------------------------------------------------------------------


def _propagate_teme(
    constellation: Constellation, unix_s: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """TEME positions (m) and velocities (m/s), ``(n_sats, n_times, 3)``; NaN where sgp4 fails."""
    r_m, v_m_s, _ = propagate_teme(constellation, unix_s)
    return r_m, v_m_s


def _propagate_pairs(
    constellation: Constellation, satellite_index: NDArray[np.int64], unix_s: FloatArray
) -> FloatArray:
    """TEME positions (m) of satellite ``satellite_index[k]`` at ``unix_s[k]``, ``(n, 3)``."""
    out = np.full((satellite_index.shape[0], 3), np.nan)
    jd, fr = unix_s_to_jd_fr(unix_s)
    order = np.argsort(satellite_index, kind="stable")
    sats, starts = np.unique(satellite_index[order], return_index=True)
    bounds = [*starts.tolist(), order.shape[0]]
    for k, sat in enumerate(sats.tolist()):
        rows = order[bounds[k] : bounds[k + 1]]
        error, r_km, _ = constellation.satrecs[sat].sgp4_array(jd[rows], fr[rows])
        r_m = np.asarray(r_km, dtype=np.float64) * 1000.0
        r_m[np.asarray(error) != 0] = np.nan
        out[rows] = r_m
    return out


def constellation_beta_angle_deg(constellation: Constellation, unix_s: ArrayLike) -> FloatArray:
    """Beta angle of every satellite at every time, degrees, shape ``(n_sats, n_times)``."""
    times = np.atleast_1d(np.asarray(unix_s, dtype=np.float64))
    r_m, v_m_s = _propagate_teme(constellation, times)
    return beta_angle_deg(r_m, v_m_s, times)


# --- intervals -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EclipseTable(IntervalTable):
    """Eclipse intervals of a constellation: one row per penumbra or umbra interval.

    An :class:`~orbitlearn.space.intervals.IntervalTable` (``satellite``, ``start_unix_s``,
    ``end_unix_s``, ``start_clipped``, ``end_clipped``, ``satellite_names``) with one more
    column, ``umbra``: ``True`` for an umbra row (all of the Sun hidden), ``False`` for a
    penumbra row (part of it). Rows never overlap, so a full eclipse reads penumbra, umbra,
    penumbra; the penumbra entry is the start of an eclipse's first penumbra row (the shadow
    fraction leaves 0), the umbra entry the start of its umbra row (the fraction reaches 1).
    Rows are sorted by satellite, then start. Records carry ``shadow``: ``"penumbra"`` or
    ``"umbra"``.
    """

    umbra: NDArray[np.bool_]

    kind: ClassVar[str] = "eclipse"

    @property
    def shadow(self) -> NDArray[np.str_]:
        """``"umbra"`` or ``"penumbra"`` per row, ``(n,)``."""
        return np.where(self.umbra, "umbra", "penumbra")

    def _output_columns(self) -> dict[str, NDArray[Any]]:
        base = super()._output_columns()
        columns = {"kind": base.pop("kind"), "satellite": base.pop("satellite")}
        columns["shadow"] = self.shadow.astype(object)
        columns.update(base)
        return columns


def _edge_functions(a: FloatArray, b: FloatArray, c: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Continuous functions positive inside the shadow (penumbra or umbra) and inside the umbra."""
    return (a + b) - c, (b - a) - c


def _validate_window(start_unix_s: float, duration_s: float, step_s: float) -> None:
    if not np.isfinite(start_unix_s):
        raise InputError("start_unix_s", start_unix_s, "finite POSIX seconds (UTC)")
    if not (np.isfinite(duration_s) and duration_s > 0.0):
        raise InputError("duration_s", duration_s, "a number of seconds > 0")
    if not (np.isfinite(step_s) and 0.0 < step_s <= _MAX_STEP_S):
        raise InputError("step_s", step_s, f"a number of seconds in (0, {_MAX_STEP_S:g}]")


def _refine_edges(
    constellation: Constellation,
    satellite_index: NDArray[np.int64],
    low_s: FloatArray,
    high_s: FloatArray,
    g_low: FloatArray,
    g_high: FloatArray,
    sun_low_m: FloatArray,
    sun_high_m: FloatArray,
    which: NDArray[np.int64],
    tolerance_s: float,
    model: tuple[float, float, bool],
) -> FloatArray:
    """Locate the root of the edge function in every bracket ``[low, high]`` at once.

    The Illinois variant of regula falsi (Dowell & Jarratt 1971): secant steps that keep the
    root bracketed, halving the stale end's value when one end is kept twice, so both ends close
    in superlinearly; a bracket narrower than ``tolerance_s`` is done. ``g_low``/``g_high`` are
    the edge function at the bracket ends (from the grid), ``which`` picks it (0 penumbra,
    1 umbra). The Sun is interpolated linearly between the bracket's grid points: over a
    5-minute step that is off by ~1 km at 1 AU, 1e-8 rad. A bracket with a NaN end (sgp4
    failure) gets its midpoint.
    """
    t_a, t_b = low_s.copy(), high_s.copy()
    g_a, g_b = g_low.copy(), g_high.copy()
    kept = np.zeros(t_a.shape, dtype=np.int8)  # +1: end a kept last step, -1: end b kept
    active = np.isfinite(g_a) & np.isfinite(g_b) & (t_b - t_a > tolerance_s)
    for _ in range(60):
        if not np.any(active):
            break
        rows = np.flatnonzero(active)
        ga, gb, ta, tb = g_a[rows], g_b[rows], t_a[rows], t_b[rows]
        denominator = gb - ga
        secant = np.where(denominator != 0.0, (ta * gb - tb * ga) / denominator, 0.5 * (ta + tb))
        # Stay strictly inside the bracket (guards against rounding at a flat end).
        t_c = np.clip(secant, ta + 0.1 * tolerance_s, tb - 0.1 * tolerance_s)
        weight = ((t_c - low_s[rows]) / (high_s[rows] - low_s[rows]))[:, np.newaxis]
        sun = sun_low_m[rows] + weight * (sun_high_m[rows] - sun_low_m[rows])
        r = _propagate_pairs(constellation, satellite_index[rows], t_c)
        a, b, c = _disc_geometry(r, sun, *model)
        g_c = np.where(which[rows] == 0, (a + b) - c, (b - a) - c)
        like_b = (g_c > 0.0) == (gb > 0.0)
        # End b replaced by c: if a was kept last time too, halve g_a (the Illinois step).
        halve_a = like_b & (kept[rows] == 1)
        halve_b = ~like_b & (kept[rows] == -1)
        g_a[rows] = np.where(like_b, np.where(halve_a, 0.5 * ga, ga), g_c)
        t_a[rows] = np.where(like_b, ta, t_c)
        g_b[rows] = np.where(like_b, g_c, np.where(halve_b, 0.5 * gb, gb))
        t_b[rows] = np.where(like_b, t_c, tb)
        kept[rows] = np.where(like_b, 1, -1)
        active[rows] = (t_b[rows] - t_a[rows]) > tolerance_s
        # Not a NaN-safe root: a NaN in mid-search stops that bracket at its current middle.
        active[rows] &= np.isfinite(g_c)
    return 0.5 * (t_a + t_b)


def eclipse_intervals(
    constellation: Constellation,
    start_unix_s: float,
    duration_s: float,
    *,
    step_s: float = 60.0,
    edge_tolerance_s: float = 1.0e-3,
    earth_radius_m: float = EARTH_RADIUS_M,
    atmosphere_height_m: float = 0.0,
    oblate: bool = False,
) -> EclipseTable:
    """Penumbra and umbra intervals of every satellite over a window.

    The shadow is sampled every ``step_s`` seconds; each edge found between two samples is then
    bisected (all edges of all satellites at once) until it is known to ``edge_tolerance_s``.
    An eclipse shorter than ``step_s`` can fall between samples and be missed. In a circular
    LEO orbit an eclipse lasts under a minute only within ~0.01 deg of the critical beta angle
    (the shadow arc grows as the square root of the distance to it: ~165 s at 0.1 deg), so the
    default step loses next to nothing; lower it to study grazing geometry.

    Args:
        constellation: the satellites (propagated with sgp4).
        start_unix_s, duration_s: the window, POSIX seconds UTC and seconds.
        step_s: sampling step, seconds in (0, 300].
        edge_tolerance_s: bisection stops when an edge is bracketed this tightly.
        earth_radius_m, atmosphere_height_m, oblate: the shadowing Earth, as in
            :func:`shadow_fraction`.

    Returns:
        :class:`EclipseTable`, penumbra and umbra rows, not overlapping. Where sgp4 cannot
        give a position (a decayed orbit) the satellite counts as sunlit.

    Raises:
        InputError: on a window or step out of range, or a time outside the DE421 coverage.
    """
    _validate_window(start_unix_s, duration_s, step_s)
    if not (np.isfinite(edge_tolerance_s) and 1e-6 <= edge_tolerance_s <= 1.0):
        raise InputError("edge_tolerance_s", edge_tolerance_s, "a number of seconds in [1e-6, 1]")
    _check_earth_model(earth_radius_m, atmosphere_height_m)
    model = (earth_radius_m, atmosphere_height_m, oblate)
    grid = time_grid_unix_s(start_unix_s, duration_s, step_s)
    sun = sun_position_teme_m(grid)
    end_unix_s = float(grid[-1])

    # Crossings per satellite and function; satellites are taken in blocks to bound memory.
    sats_per_block = max(1, 2_000_000 // grid.shape[0])
    no_int, no_float = np.zeros(0, np.int64), np.zeros(0, np.float64)
    found: list[tuple[NDArray[Any], ...]] = [
        (no_int, no_int, no_int, np.zeros(0, bool), no_float, no_float)
    ]
    starts_inside: list[tuple[NDArray[Any], NDArray[Any]]] = [(no_int, no_int)]
    for first in range(0, len(constellation), sats_per_block):
        block = constellation.subset(range(first, min(first + sats_per_block, len(constellation))))
        r_m, _ = _propagate_teme(block, grid)
        a, b, c = _disc_geometry(r_m, sun, *model)
        values = np.stack(_edge_functions(a, b, c))  # (2, n_block, n_times)
        inside = values > 0.0
        kind_idx, sat_idx, step_idx = np.nonzero(inside[..., 1:] != inside[..., :-1])
        found.append(
            (
                kind_idx,
                sat_idx + first,
                step_idx,
                inside[kind_idx, sat_idx, step_idx],
                values[kind_idx, sat_idx, step_idx],
                values[kind_idx, sat_idx, step_idx + 1],
            )
        )
        kind0, sat0 = np.nonzero(inside[..., 0])
        starts_inside.append((kind0, sat0 + first))

    kind_idx = np.concatenate([f[0] for f in found]).astype(np.int64)
    sat_idx = np.concatenate([f[1] for f in found]).astype(np.int64)
    step_idx = np.concatenate([f[2] for f in found]).astype(np.int64)
    was_inside = np.concatenate([f[3] for f in found]).astype(bool)
    edges = _refine_edges(
        constellation,
        sat_idx,
        grid[step_idx],
        grid[step_idx + 1],
        np.concatenate([f[4] for f in found]).astype(np.float64),
        np.concatenate([f[5] for f in found]).astype(np.float64),
        sun[step_idx],
        sun[step_idx + 1],
        kind_idx,
        edge_tolerance_s,
        model,
    )
    shadow, umbra = (
        _spans(
            sat_idx[kind_idx == k],
            edges[kind_idx == k],
            was_inside[kind_idx == k],
            np.concatenate([s[1][s[0] == k] for s in starts_inside]).astype(np.int64),
            float(grid[0]),
            end_unix_s,
        )
        for k in (0, 1)
    )
    return _split_penumbra(shadow, umbra, (float(grid[0]), end_unix_s), tuple(constellation.names))


def _spans(
    sat_idx: NDArray[np.int64],
    edge_s: FloatArray,
    was_inside: NDArray[np.bool_],
    inside_at_start: NDArray[np.int64],
    start_s: float,
    end_s: float,
) -> tuple[NDArray[np.int64], FloatArray, FloatArray]:
    """Pair entry and exit edges into ``(satellite, start, end)`` spans clipped to the window."""
    # Sort by satellite then time, adding a virtual entry at the window start for satellites
    # already inside and a virtual exit at the end for those still inside.
    sats = np.concatenate([sat_idx, inside_at_start])
    times = np.concatenate([edge_s, np.full(inside_at_start.shape, start_s)])
    entering = np.concatenate([~was_inside, np.ones(inside_at_start.shape, bool)])
    order = np.lexsort((times, sats))
    sats, times, entering = sats[order], times[order], entering[order]
    entries = np.flatnonzero(entering)
    # The next edge of the same satellite after an entry is its exit (edges alternate).
    exits = entries + 1
    has_exit = exits < sats.shape[0]
    has_exit[has_exit] &= sats[exits[has_exit]] == sats[entries[has_exit]]
    ends = np.full(entries.shape, end_s)
    ends[has_exit] = times[exits[has_exit]]
    return sats[entries], times[entries], ends


def _split_penumbra(
    shadow: tuple[NDArray[np.int64], FloatArray, FloatArray],
    umbra: tuple[NDArray[np.int64], FloatArray, FloatArray],
    window: tuple[float, float],
    satellite_names: tuple[str, ...],
) -> EclipseTable:
    """Shadow spans minus umbra spans -> disjoint penumbra rows, plus the umbra rows.

    Every umbra span lies inside a shadow span (``b - a < b + a``). Each span start counts +1
    and each end -1; sorted per satellite, the running sum after a boundary is the depth of the
    piece that follows it: 1 penumbra, 2 umbra. Every satellite's spans are closed, so the sum
    returns to 0 between satellites and one global cumulative sum serves them all.
    """
    shadow_sat, shadow_start, shadow_end = shadow
    umbra_sat, umbra_start, umbra_end = umbra
    sat = np.concatenate([shadow_sat, umbra_sat, umbra_sat, shadow_sat])
    time = np.concatenate([shadow_start, umbra_start, umbra_end, shadow_end])
    step = np.concatenate(
        [
            np.ones(shadow_sat.shape[0] + umbra_sat.shape[0]),
            -np.ones(umbra_sat.shape[0] + shadow_sat.shape[0]),
        ]
    )
    order = np.lexsort((time, sat))
    sat, time, depth = sat[order], time[order], np.cumsum(step[order])
    piece = (depth[:-1] == 1) & (sat[1:] == sat[:-1]) & (time[1:] > time[:-1])
    sat_all = np.concatenate([sat[:-1][piece], umbra_sat])
    start_all = np.concatenate([time[:-1][piece], umbra_start])
    end_all = np.concatenate([time[1:][piece], umbra_end])
    umbra_all = np.concatenate(
        [np.zeros(int(piece.sum()), dtype=bool), np.ones(umbra_sat.shape, dtype=bool)]
    )
    order = np.lexsort((start_all, sat_all))
    start_all, end_all = start_all[order], end_all[order]
    # Refined edges lie strictly inside the window, so a row touching its ends was cut there.
    return EclipseTable(
        satellite=sat_all[order].astype(np.int64),
        start_unix_s=start_all,
        end_unix_s=end_all,
        start_clipped=start_all <= window[0],
        end_clipped=end_all >= window[1],
        satellite_names=satellite_names,
        umbra=umbra_all[order],
    )


# --- fractions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EclipseFractions:
    """Share of a window each satellite spends in shadow, each ``(n_sats,)`` in [0, 1].

    ``umbra`` and ``penumbra`` are time shares (disjoint); ``shadow`` is the time average of the
    shadow fraction, i.e. the share of sunlight lost (umbra plus the hidden part of the Sun in
    penumbra).
    """

    umbra: FloatArray
    penumbra: FloatArray
    shadow: FloatArray


# Gauss-Legendre nodes and weights on [0, 1] (4 points; exact for cubics) to integrate the
# shadow fraction across each penumbra interval.
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(4)
_GL_NODES01 = 0.5 * (_GL_NODES + 1.0)
_GL_WEIGHTS01 = 0.5 * _GL_WEIGHTS


def eclipse_fraction(
    constellation: Constellation,
    start_unix_s: float,
    duration_s: float,
    *,
    step_s: float = 60.0,
    earth_radius_m: float = EARTH_RADIUS_M,
    atmosphere_height_m: float = 0.0,
    oblate: bool = False,
) -> EclipseFractions:
    """Time share in umbra and penumbra, and the mean shadow fraction, per satellite.

    Built on :func:`eclipse_intervals` (edges to 1 ms), so it is exact up to the edges, except
    that eclipses shorter than ``step_s`` may be missed. Arguments as there.
    """
    intervals = eclipse_intervals(
        constellation,
        start_unix_s,
        duration_s,
        step_s=step_s,
        earth_radius_m=earth_radius_m,
        atmosphere_height_m=atmosphere_height_m,
        oblate=oblate,
    )
    n_sats = len(constellation)
    window_s = float(duration_s)
    durations = intervals.duration_s
    is_umbra = intervals.umbra
    umbra = np.bincount(intervals.satellite[is_umbra], durations[is_umbra], n_sats)
    penumbra = np.bincount(intervals.satellite[~is_umbra], durations[~is_umbra], n_sats)

    # Integrate the shadow fraction over each penumbra interval with Gauss-Legendre nodes.
    pen_sat = intervals.satellite[~is_umbra]
    pen_start = intervals.start_unix_s[~is_umbra]
    pen_len = durations[~is_umbra]
    node_times = (pen_start[:, np.newaxis] + pen_len[:, np.newaxis] * _GL_NODES01).ravel()
    node_sats = np.repeat(pen_sat, _GL_NODES01.shape[0])
    hidden: FloatArray = np.zeros(n_sats)
    if node_times.size:
        r = _propagate_pairs(constellation, node_sats, node_times)
        sun = sun_position_teme_m(node_times)
        a, b, c = _disc_geometry(r, sun, earth_radius_m, atmosphere_height_m, oblate)
        fraction = _overlap_fraction(a, b, c).reshape(-1, _GL_NODES01.shape[0])
        per_interval = (fraction @ _GL_WEIGHTS01) * pen_len
        hidden = np.bincount(pen_sat, per_interval, n_sats).astype(np.float64)
    return EclipseFractions(
        umbra=umbra / window_s,
        penumbra=penumbra / window_s,
        shadow=(umbra + hidden) / window_s,
    )
