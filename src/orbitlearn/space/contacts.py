"""Ground contact windows: when each satellite is above each station's elevation mask.

A satellite is in contact with a station while its elevation above the station's local horizon
(the plane normal to the WGS84 ellipsoid normal, i.e. geodetic elevation) is at least the mask.
With ``d`` the Earth-fixed vector from station to satellite and ``u`` the station's up vector,
the visibility function

    F(t) = d . u - |d| sin(mask)        (metres)

is positive exactly when the elevation exceeds the mask, and is smooth in time. Every satellite
is propagated once on a coarse grid (~250 s apart in LEO); between samples the Earth-fixed
position is a quintic Hermite interpolant of positions, velocities and accelerations (under a
metre off sgp4, :mod:`orbitlearn.space.sampled_orbits`), so the edge search
(:mod:`orbitlearn.space._windows`) needs no further sgp4 calls. Edges are refined to a
millisecond; passes whose whole duration falls between two samples are found from the slope.
Each pass also gets its highest elevation (and its time) and its shortest slant range. Spans
longer than a few days (for 1000 satellites) are searched in parts and joined.

Measured (``bench/contacts.py``): every pass skyfield's ``find_events`` finds and no other,
edges within 0.33 s of skyfield's (which brackets edges to 0.5 s) and within 0.2 s of brahe's
(1 ms tolerance); skyfield's own elevation at our edges is the mask to 0.003 deg.

Elevations are geometric unless ``refraction=True``: then the mask is compared with the
*apparent* elevation, using Saemundsson's formula for standard conditions (101.0 kPa, 10 C;
Saemundsson, Sky & Telescope 72, 70, 1986; also Meeus, *Astronomical Algorithms*, 2nd ed.,
eq. 16.4), and ``max_elevation_deg`` is apparent too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from orbitlearn.errors import InputError
from orbitlearn.space._windows import (
    DEFAULT_TOLERANCE_S,
    PieceFunction,
    WindowSearch,
    window_maximum,
)
from orbitlearn.space.constellation import Constellation
from orbitlearn.space.frames import enu_basis
from orbitlearn.space.intervals import ContactTable
from orbitlearn.space.sampled_orbits import SampledOrbits, default_grid_step_s, time_chunks
from orbitlearn.space.stations import GroundStation

__all__ = ["apparent_elevation_deg", "geometric_mask_deg", "ground_contacts"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Progress callback: receives the fraction of the work done, in [0, 1].
Progress = Callable[[float], None]

#: Grid values evaluated per block: 2 MB arrays stay in the CPU cache between passes.
_BLOCK_VALUES = 262_144
#: Safety factor on the sampled maximum speed when bounding |dF/dt| between samples.
_SPEED_MARGIN = 1.1
#: Time tolerance of a pass's highest elevation and closest approach, seconds. An error dt in
#: the time of an extremum changes the extreme value only by |f''| dt**2 / 2: with LEO's
#: |elevation''| <= ~2.3e-4 rad/s^2 and |range''| <= ~110 m/s^2 (overhead at 500 km) and the
#: search returning within dt = 0.1 s, under 1e-4 deg and 0.6 m.
_EXTREMUM_TOLERANCE_S = 0.2
#: Lowest elevation the refraction formula is used at (it diverges further down), degrees.
_REFRACTION_FLOOR_DEG = -1.0


def _refraction_deg(true_elevation_deg: FloatArray | float) -> FloatArray:
    """Refraction (apparent minus true elevation) by Saemundsson's formula, degrees.

    R = 1.02 / tan(h + 10.3 / (h + 5.11)) arcminutes for true elevation h in degrees
    (standard conditions); held at its value at -1 deg below that.
    """
    h = np.maximum(np.asarray(true_elevation_deg, dtype=np.float64), _REFRACTION_FLOOR_DEG)
    return (1.02 / np.tan(np.radians(h + 10.3 / (h + 5.11)))) / 60.0


def apparent_elevation_deg(true_elevation_deg: FloatArray | float) -> FloatArray:
    """Apparent (refracted) elevation of a true geometric elevation, degrees.

    >>> round(float(apparent_elevation_deg(0.0)), 3)  # ~29 arcmin at the horizon
    0.483
    >>> round(float(apparent_elevation_deg(10.0)), 4)
    10.0901
    """
    h = np.asarray(true_elevation_deg, dtype=np.float64)
    return h + _refraction_deg(h)


def geometric_mask_deg(mask_deg: FloatArray | float, *, refraction: bool) -> FloatArray:
    """The geometric elevation at which the (apparent, if ``refraction``) elevation is the mask.

    >>> float(geometric_mask_deg(10.0, refraction=False))
    10.0
    >>> round(float(geometric_mask_deg(10.0, refraction=True)), 4)
    9.9091
    """
    mask = np.asarray(mask_deg, dtype=np.float64)
    if not refraction:
        return mask
    geometric = mask.copy()
    for _ in range(8):  # fixed point of g + R(g) = mask; R changes slowly, converges fast
        geometric = mask - _refraction_deg(geometric)
    return geometric


def _check_arguments(
    constellation: Constellation,
    stations: Sequence[GroundStation],
    start_unix_s: float,
    duration_s: float,
    min_elevation_deg: float,
) -> None:
    if not isinstance(constellation, Constellation):
        raise InputError("constellation", type(constellation).__name__, "a Constellation")
    if len(stations) == 0:
        raise InputError("stations", [], "at least one GroundStation")
    for station in stations:
        if not isinstance(station, GroundStation):
            raise InputError("stations", type(station).__name__, "GroundStation objects")
    if not np.isfinite(start_unix_s):
        raise InputError("start_unix_s", start_unix_s, "finite POSIX seconds")
    if not (np.isfinite(duration_s) and duration_s > 0):
        raise InputError("duration_s", duration_s, "a number of seconds > 0")
    if not (np.isfinite(min_elevation_deg) and -5.0 <= min_elevation_deg <= 90.0):
        raise InputError("min_elevation_deg", min_elevation_deg, "a number in [-5, 90]")


class _StationGeometry:
    """Positions, up vectors and masks of the stations, as arrays ``(n_stations, ...)``."""

    def __init__(
        self, stations: Sequence[GroundStation], min_elevation_deg: float, refraction: bool
    ) -> None:
        self.position_m = np.array([s.position_ecef_m for s in stations], dtype=np.float64)
        lat = np.array([s.latitude_deg for s in stations], dtype=np.float64)
        lon = np.array([s.longitude_deg for s in stations], dtype=np.float64)
        self.up = enu_basis(lat, lon)[:, 2, :]
        mask = np.array(
            [
                min_elevation_deg if s.min_elevation_deg is None else s.min_elevation_deg
                for s in stations
            ],
            dtype=np.float64,
        )
        self.sin_mask = np.sin(np.radians(geometric_mask_deg(mask, refraction=refraction)))
        # (3, n_stations) copies: the refinement works on (3, m) vectors, one row per axis.
        self.position_t = np.ascontiguousarray(self.position_m.T)
        self.up_t = np.ascontiguousarray(self.up.T)
        self.height_m = np.einsum("ij,ij->i", self.position_m, self.up)  # p . u
        self.norm2_m2 = np.einsum("ij,ij->i", self.position_m, self.position_m)


def ground_contacts(
    constellation: Constellation,
    stations: Sequence[GroundStation],
    start_unix_s: float,
    duration_s: float,
    *,
    min_elevation_deg: float = 10.0,
    refraction: bool = False,
    progress: Progress | None = None,
    grid_step_s: float | None = None,
    tol_s: float = DEFAULT_TOLERANCE_S,
) -> ContactTable:
    """Contact windows of every satellite with every station over ``[start, start + duration]``.

    Args:
        constellation: the satellites.
        stations: the ground stations; a station's own ``min_elevation_deg`` overrides the
            run's mask.
        start_unix_s: start of the searched span, POSIX seconds UTC.
        duration_s: length of the span, seconds (> 0).
        min_elevation_deg: elevation mask in degrees, in [-5, 90] (geometric elevation above
            the WGS84 horizon; apparent elevation if ``refraction``).
        refraction: compare the mask with the refracted (apparent) elevation.
        progress: called with the fraction of work done, in [0, 1].
        grid_step_s: sample spacing of the propagation grid (default:
            :func:`orbitlearn.space.propagation.default_grid_step_s`).
        tol_s: edge tolerance, seconds.

    Returns:
        A :class:`~orbitlearn.space.intervals.ContactTable` sorted by start time, with the
        highest elevation of each pass (and its time) and the shortest slant range. Passes cut
        by the span's ends are marked ``start_clipped`` / ``end_clipped``. Satellites for which
        sgp4 fails (e.g. decayed) have no windows while failing.

    Raises:
        InputError: an argument is out of range.

    >>> from orbitlearn.space.walker import walker_constellation
    >>> shell = walker_constellation(4, 2, 1, altitude_m=550e3, inclination_deg=53.0,
    ...                              pattern="delta", epoch_unix_s=1767225600.0)
    >>> table = ground_contacts(shell, [GroundStation("Bremen", 53.1, 8.8)],
    ...                         1767225600.0, 86400.0)
    >>> len(table) > 0 and bool(np.all(table.max_elevation_deg >= 10.0))
    True
    """
    _check_arguments(constellation, stations, start_unix_s, duration_s, min_elevation_deg)
    report = progress or (lambda fraction: None)
    report(0.0)
    geometry = _StationGeometry(stations, min_elevation_deg, refraction)
    station_names = tuple(s.name for s in stations)
    if len(constellation) == 0:
        report(1.0)
        return ContactTable.empty(constellation.names, station_names)
    step_s = default_grid_step_s(constellation) if grid_step_s is None else float(grid_step_s)
    chunks = time_chunks(len(constellation), float(start_unix_s), float(duration_s), step_s)
    tables = []
    for index, (chunk_start, chunk_s) in enumerate(chunks):  # parts of a long span
        orbits = SampledOrbits.sample(
            constellation, chunk_start, chunk_s, step_s=step_s, frame="ecef"
        )

        def chunk_report(fraction: float, index: int = index) -> None:
            report((index + fraction) / len(chunks))

        tables.append(
            _contacts_in_span(
                orbits,
                geometry,
                constellation.names,
                station_names,
                refraction,
                tol_s,
                chunk_report,
            )
        )
    table = ContactTable.concat(tables).joined_at([chunk[0] for chunk in chunks[1:]])
    report(1.0)
    return table.sorted(("start_unix_s", "satellite", "station"))


def _contacts_in_span(
    orbits: SampledOrbits,
    geometry: _StationGeometry,
    satellite_names: tuple[str, ...],
    station_names: tuple[str, ...],
    refraction: bool,
    tol_s: float,
    report: Progress,
) -> ContactTable:
    """The windows within one sampled span (one part of a long span)."""
    n_sats, n_times = orbits.r_m.shape[:2]
    n_stations = len(station_names)
    positions_t = np.ascontiguousarray(orbits.r_m.reshape(-1, 3).T)
    r2 = np.einsum("ij,ij->j", positions_t, positions_t)
    speed = np.sqrt(np.einsum("stj,stj->st", orbits.v_m_s, orbits.v_m_s))
    with np.errstate(all="ignore"):
        max_speed = np.nan_to_num(np.nanmax(speed, axis=1, initial=0.0), nan=0.0)
    blocks = _blocks(n_stations, n_sats, n_times)
    report(0.3)

    def split(items: IntArray) -> tuple[IntArray, IntArray]:
        station, sat = np.divmod(items, n_sats)
        return sat, station

    def prepare(items: IntArray, k: IntArray) -> PieceFunction:
        return _visibility_function(orbits, geometry, *split(items), k)

    def slope(items: IntArray, j: IntArray) -> FloatArray:
        return _visibility_slope_at_samples(orbits, geometry, *split(items), j)

    search = WindowSearch(orbits.times_unix_s, prepare, slope, tol_s=tol_s)
    for done, (block, lo, hi) in enumerate(blocks, start=1):  # cache-sized blocks, not time steps
        values = _visibility_on_grid(positions_t, r2, geometry, block, lo, hi, n_times)
        lipschitz = _SPEED_MARGIN * np.outer(
            1.0 + np.abs(geometry.sin_mask[block]), max_speed[lo:hi]
        ).reshape(-1)
        items = (block[:, None] * n_sats + np.arange(lo, hi)).reshape(-1)
        search.add_block(values, lipschitz, items)
        report(0.3 + 0.4 * done / len(blocks))
    found = search.finish()
    report(0.8)
    sat, station = split(found.item)
    start, end = found.start_unix_s, found.end_unix_s
    peak_t, sin_peak, min_range = _pass_properties(orbits, geometry, sat, station, start, end)
    max_elevation = np.degrees(np.arcsin(np.clip(sin_peak, -1.0, 1.0)))
    if refraction:
        max_elevation = apparent_elevation_deg(max_elevation)
    report(1.0)
    return ContactTable.ground(
        sat,
        station,
        start,
        end,
        max_elevation,
        peak_t,
        min_range,
        satellite_names,
        station_names,
        start_clipped=found.start_clipped,
        end_clipped=found.end_clipped,
    )


def _blocks(n_stations: int, n_sats: int, n_times: int) -> list[tuple[IntArray, int, int]]:
    """Blocks ``(stations, first_sat, end_sat)`` of about :data:`_BLOCK_VALUES` grid values.

    Blocks small enough for the CPU cache make the passes over the grid several times faster
    than one pass over the whole grid.
    """
    stations_per_block = max(1, min(n_stations, _BLOCK_VALUES // n_times))
    blocks = []
    for first in range(0, n_stations, stations_per_block):
        block = np.arange(first, min(n_stations, first + stations_per_block))
        sats_per_block = max(1, _BLOCK_VALUES // (block.size * n_times))
        for lo in range(0, n_sats, sats_per_block):
            blocks.append((block, lo, min(n_sats, lo + sats_per_block)))
    return blocks


def _visibility_on_grid(
    positions_t: FloatArray,
    r2: FloatArray,
    geometry: _StationGeometry,
    block: IntArray,
    lo: int,
    hi: int,
    n_times: int,
) -> FloatArray:
    """F on the grid for stations ``block`` and satellites ``lo:hi``.

    ``positions_t`` are the Earth-fixed positions as a ``(3, n_sats * n_times)`` array and
    ``r2`` their squared norms. Returns shape ``(len(block) * (hi - lo), n_times)``: row
    ``j * (hi - lo) + i`` is satellite ``lo + i`` seen from station ``block[j]``. Uses
    ``|r - p|^2 = |r|^2 - 2 r.p + |p|^2`` so that the work per station is two rows of a matrix
    product and a few in-place passes.
    """
    columns = slice(lo * n_times, hi * n_times)
    pos_t = positions_t[:, columns]
    values = geometry.up[block] @ pos_t  # (n_block, n_chunk * n_times): r . u
    dist = geometry.position_m[block] @ pos_t  # r . p
    dist *= -2.0
    dist += r2[columns]
    dist += geometry.norm2_m2[block][:, None]
    np.maximum(dist, 0.0, out=dist)
    np.sqrt(dist, out=dist)  # |r - p|
    dist *= geometry.sin_mask[block][:, None]
    values -= geometry.height_m[block][:, None]
    values -= dist
    return values.reshape(block.size * (hi - lo), n_times)


def _visibility_function(
    orbits: SampledOrbits,
    geometry: _StationGeometry,
    sat: IntArray,
    station: IntArray,
    k: IntArray,
) -> PieceFunction:
    """``fn(idx, t) -> (F, dF/dt)``, ``F = d.u - |d| sin(mask)``, for pairs ``idx`` in interval k."""
    pieces = orbits.segments(sat, k)
    position = geometry.position_t[:, station]
    up = geometry.up_t[:, station]
    sin_mask = geometry.sin_mask[station]

    def fn(idx: IntArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        subset = pieces.take(idx)
        r, v = subset.at(t)
        whole = subset is pieces
        p, u, sm = (
            (position, up, sin_mask) if whole else (position[:, idx], up[:, idx], sin_mask[idx])
        )
        d = r - p
        dist = np.sqrt(_dot(d, d))
        value = _dot(d, u) - dist * sm
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = _dot(v, u) - _dot(d, v) / dist * sm
        return value, rate

    return fn


def _sample_state(
    orbits: SampledOrbits, geometry: _StationGeometry, sat: IntArray, station: IntArray, j: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``d``, ``v`` and ``u`` at grid samples ``j``, as ``(3, m)`` arrays."""
    row = sat * orbits.times_unix_s.size + j
    r = orbits.r_m.reshape(-1, 3).take(row, axis=0).T
    v = orbits.v_m_s.reshape(-1, 3).take(row, axis=0).T
    return r - geometry.position_t[:, station], v, geometry.up_t[:, station]


def _visibility_slope_at_samples(
    orbits: SampledOrbits,
    geometry: _StationGeometry,
    sat: IntArray,
    station: IntArray,
    j: IntArray,
) -> FloatArray:
    """dF/dt at grid samples ``j`` from the sampled states."""
    d, v, u = _sample_state(orbits, geometry, sat, station, j)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _dot(v, u) - _dot(d, v) / np.sqrt(_dot(d, d)) * geometry.sin_mask[station]


#: ``rate(d, v, a, u) -> (rate, d rate/dt)``: a quantity's rate of change (or anything with
#: its sign) from the station-to-satellite vector ``d``, the satellite's velocity ``v`` and
#: acceleration ``a`` (``None`` when only the rate is wanted) and the up vector ``u``.
_Rate = Callable[
    [FloatArray, FloatArray, FloatArray | None, FloatArray], tuple[FloatArray, FloatArray | None]
]


def _pass_extremum(
    orbits: SampledOrbits,
    geometry: _StationGeometry,
    sat: IntArray,
    station: IntArray,
    start: FloatArray,
    end: FloatArray,
    rate: _Rate,
) -> FloatArray:
    """Time of the maximum within each pass of a quantity whose rate ``rate`` gives."""

    def at_samples(window: IntArray, j: IntArray) -> FloatArray:
        d, v, u = _sample_state(orbits, geometry, sat[window], station[window], j)
        return rate(d, v, None, u)[0]

    def prepare(window: IntArray, k: IntArray) -> PieceFunction:
        pieces = orbits.segments(sat[window], k)
        position = geometry.position_t[:, station[window]]
        up = geometry.up_t[:, station[window]]

        def fn(idx: IntArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
            r, v, a = pieces.take(idx).at_with_acceleration(t)
            value, slope = rate(r - position[:, idx], v, a, up[:, idx])
            assert slope is not None
            return value, slope

        return fn

    return window_maximum(
        start, end, orbits.times_unix_s, at_samples, prepare, _EXTREMUM_TOLERANCE_S
    )


def _dot(a: FloatArray, b: FloatArray) -> FloatArray:
    """Dot products of the columns of two ``(3, m)`` arrays."""
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _elevation_rate(
    d: FloatArray, v: FloatArray, a: FloatArray | None, u: FloatArray
) -> tuple[FloatArray, FloatArray | None]:
    """g = (v.u)|d|^2 - (d.u)(d.v), which has the sign of d/dt (d.u / |d|), and dg/dt."""
    vu, dd, du, dv = _dot(v, u), _dot(d, d), _dot(d, u), _dot(d, v)
    value = vu * dd - du * dv
    if a is None:
        return value, None
    return value, _dot(a, u) * dd + vu * dv - du * (_dot(v, v) + _dot(d, a))


def _approach_rate(
    d: FloatArray, v: FloatArray, a: FloatArray | None, u: FloatArray
) -> tuple[FloatArray, FloatArray | None]:
    """-(d.v), which has the sign of -d|d|/dt (positive while the range shrinks), and its rate."""
    value = -_dot(d, v)
    if a is None:
        return value, None
    return value, -(_dot(v, v) + _dot(d, a))


def _pass_properties(
    orbits: SampledOrbits,
    geometry: _StationGeometry,
    sat: IntArray,
    station: IntArray,
    start: FloatArray,
    end: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Time of the highest elevation, its sine, and the shortest range of each pass."""
    peak = _pass_extremum(orbits, geometry, sat, station, start, end, _elevation_rate)
    r, _ = orbits.interpolate(sat, peak)
    d = r.T - geometry.position_t[:, station]
    sin_el = _dot(d, geometry.up_t[:, station]) / np.sqrt(_dot(d, d))
    closest = _pass_extremum(orbits, geometry, sat, station, start, end, _approach_rate)
    r, _ = orbits.interpolate(sat, closest)
    d = r.T - geometry.position_t[:, station]
    return peak, sin_el, np.sqrt(_dot(d, d))
