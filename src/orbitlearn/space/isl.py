"""Inter-satellite line-of-sight windows.

Two satellites can link while the straight segment between them clears the Earth by at least
``grazing_height_m`` (default 80 km, where the atmosphere still bends and absorbs a beam), and,
if ``max_range_m`` is given, while they are no farther apart than that.

**Geometry.** The obstacle is the ellipsoid of revolution with semi-axes ``a + g`` (equator) and
``b + g`` (poles), ``a``, ``b`` the WGS84 semi-axes and ``g`` the grazing height. It differs from
the true "height g above the WGS84 ellipsoid" surface by at most 0.11 m at g = 80 km (1.2 m
at 1000 km; computed radially over all latitudes). Scaling ``z`` by ``(a + g) / (b + g)`` turns
it into a sphere of radius ``a + g``; a segment maps to a segment, so "the segment clears the
ellipsoid" is exactly "the scaled segment clears the sphere". With
``d(t)`` the distance from the Earth's centre to the scaled segment, the visibility function is

    F(t) = min(d(t) - (a + g),  max_range - |r_j - r_i|)     (metres)

positive exactly when the link is possible. The ellipsoid is symmetric about the Earth's axis,
so the search runs in sgp4's TEME frame (no rotation to Earth-fixed needed). Edges are found
and refined as for ground contacts (:mod:`orbitlearn.space._windows`) from the same quintic
Hermite pieces, to a millisecond; against a brute-force 2 s scan of geodetic heights along the
segment, edges agree to ~1 ms (``tests/space/test_isl.py``).

**Cost.** ``n`` satellites have ``n (n - 1) / 2`` pairs, and every pair is sampled on the grid:
1000 satellites make 499,500 pairs and ~170 M pair-samples per day. With ``max_range_m`` set,
pairs are first screened on their separation alone (a few operations per sample) and only those
that can come within range are evaluated fully; a short range (e.g. 1000 km in a dense shell)
keeps the nearest neighbours and makes large constellations cheap. ``pairs`` restricts the
search to a given list of pairs (e.g. intra-plane neighbours).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import InputError
from orbitlearn.space._windows import (
    DEFAULT_TOLERANCE_S,
    PieceFunction,
    WindowSearch,
    window_maximum,
)
from orbitlearn.space.constellation import Constellation
from orbitlearn.space.frames import WGS84_A_M, WGS84_F
from orbitlearn.space.intervals import ContactTable
from orbitlearn.space.sampled_orbits import SampledOrbits, default_grid_step_s, time_chunks

__all__ = ["DEFAULT_GRAZING_HEIGHT_M", "all_pairs", "isl_windows"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Default grazing height of a link above the ellipsoid, metres (the top of the dense
#: atmosphere; the figure the issue and REFERENCE.md use).
DEFAULT_GRAZING_HEIGHT_M = 80e3
#: WGS84 semi-minor axis, derived from a and f (NIMA TR8350.2, table 3.1).
_WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)
#: Pair-samples evaluated per block (arrays of ~2 MB that stay in the CPU cache).
_BLOCK_VALUES = 262_144
#: Safety factor on the sampled maximum speeds when bounding |dF/dt| between samples.
_SPEED_MARGIN = 1.1
#: Time tolerance of the closest approach in a window, seconds (see contacts.py).
_EXTREMUM_TOLERANCE_S = 0.2

Progress = Callable[[float], None]


def all_pairs(n_sats: int) -> tuple[IntArray, IntArray]:
    """Every pair ``(i, j)`` with ``i < j`` among ``n_sats`` satellites.

    >>> [a.tolist() for a in all_pairs(3)]
    [[0, 0, 1], [1, 2, 2]]
    """
    first, second = np.triu_indices(n_sats, k=1)
    return first.astype(np.int64), second.astype(np.int64)


def _check_pairs(pairs: ArrayLike, n_sats: int) -> tuple[IntArray, IntArray]:
    array = np.asarray(pairs)
    if array.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if array.ndim != 2 or array.shape[1] != 2 or not np.issubdtype(array.dtype, np.integer):
        raise InputError("pairs", f"an array of shape {array.shape}", "pairs of satellite indices")
    if array.min() < 0 or array.max() >= n_sats:
        raise InputError(
            "pairs", f"indices in [{array.min()}, {array.max()}]", f"indices in [0, {n_sats})"
        )
    if np.any(array[:, 0] == array[:, 1]):
        raise InputError("pairs", "a satellite paired with itself", "two different satellites")
    low = np.minimum(array[:, 0], array[:, 1]).astype(np.int64)
    high = np.maximum(array[:, 0], array[:, 1]).astype(np.int64)
    unique = np.unique(low * n_sats + high)
    return unique // n_sats, unique % n_sats


class _ScaledOrbits:
    """Positions and velocities with ``z`` scaled so that the grazing ellipsoid is a sphere."""

    def __init__(self, orbits: SampledOrbits, grazing_height_m: float) -> None:
        self.orbits = orbits
        self.radius_m = WGS84_A_M + grazing_height_m
        self.z_scale = self.radius_m / (_WGS84_B_M + grazing_height_m)
        scale = np.array([1.0, 1.0, self.z_scale])
        # (n_sats, 3, n_times): one contiguous row per axis for the grid passes.
        self.r_t = np.ascontiguousarray((orbits.r_m * scale).transpose(0, 2, 1))
        self.norm2 = np.einsum("sct,sct->st", self.r_t, self.r_t)
        speed = np.sqrt(np.einsum("stc,stc->st", orbits.v_m_s, orbits.v_m_s))
        with np.errstate(all="ignore"):
            self.max_speed = np.nan_to_num(np.nanmax(speed, axis=1, initial=0.0), nan=0.0)
        self.scale_column = scale[:, None]


def _distance_to_segment(
    norm_i: FloatArray, norm_j: FloatArray, r_dot_delta: FloatArray, delta2: FloatArray
) -> FloatArray:
    """Distance from the origin to the segment from r_i to r_j (any shapes, broadcast)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = -r_dot_delta / delta2  # where on the segment the closest point of the line is
        inner = norm_i - r_dot_delta * r_dot_delta / delta2
    d2 = np.where(fraction <= 0.0, norm_i, np.where(fraction >= 1.0, norm_j, inner))
    return np.sqrt(np.maximum(d2, 0.0))


def isl_windows(
    constellation: Constellation,
    start_unix_s: float,
    duration_s: float,
    *,
    grazing_height_m: float = DEFAULT_GRAZING_HEIGHT_M,
    max_range_m: float | None = None,
    pairs: ArrayLike | None = None,
    progress: Progress | None = None,
    grid_step_s: float | None = None,
    tol_s: float = DEFAULT_TOLERANCE_S,
) -> ContactTable:
    """Line-of-sight windows between satellites over ``[start, start + duration]``.

    Args:
        constellation: the satellites.
        start_unix_s: start of the span, POSIX seconds UTC.
        duration_s: length of the span, seconds (> 0).
        grazing_height_m: how far above the WGS84 ellipsoid the link must pass, metres, in
            [0, 1000 km].
        max_range_m: longest usable link, metres (> 0), or ``None`` for line of sight only.
        pairs: ``(n_pairs, 2)`` satellite indices to search (order and duplicates do not
            matter); default every pair.
        progress: called with the fraction of work done, in [0, 1].
        grid_step_s: sample spacing (default: the constellation's automatic step).
        tol_s: edge tolerance, seconds.

    Returns:
        A :class:`~orbitlearn.space.intervals.ContactTable` of links (``satellite < peer`` in
        every row), sorted by start, with the shortest distance in each window
        (``min_range_m``, at ``peak_unix_s``). Windows cut by the span are flagged clipped.

    Raises:
        InputError: an argument is out of range.

    >>> from orbitlearn.space.walker import walker_constellation
    >>> shell = walker_constellation(6, 2, 1, altitude_m=550e3, inclination_deg=53.0,
    ...                              epoch_unix_s=1767225600.0)
    >>> links = isl_windows(shell, 1767225600.0, 6000.0)
    >>> bool(np.all(links.peer > links.satellite)), len(links) > 0
    (True, True)
    """
    if not isinstance(constellation, Constellation):
        raise InputError("constellation", type(constellation).__name__, "a Constellation")
    if not np.isfinite(start_unix_s):
        raise InputError("start_unix_s", start_unix_s, "finite POSIX seconds")
    if not (np.isfinite(duration_s) and duration_s > 0):
        raise InputError("duration_s", duration_s, "a number of seconds > 0")
    if not (np.isfinite(grazing_height_m) and 0.0 <= grazing_height_m <= 1.0e6):
        raise InputError("grazing_height_m", grazing_height_m, "a number of metres in [0, 1e6]")
    if max_range_m is not None and not (np.isfinite(max_range_m) and max_range_m > 0):
        raise InputError("max_range_m", max_range_m, "a number of metres > 0, or None")
    n_sats = len(constellation)
    first, second = all_pairs(n_sats) if pairs is None else _check_pairs(pairs, n_sats)
    report = progress or (lambda fraction: None)
    report(0.0)
    if first.size == 0:
        report(1.0)
        return _empty(constellation)
    step_s = default_grid_step_s(constellation) if grid_step_s is None else float(grid_step_s)
    chunks = time_chunks(n_sats, float(start_unix_s), float(duration_s), step_s)
    limit = np.inf if max_range_m is None else float(max_range_m)
    tables = []
    for index, (chunk_start, chunk_s) in enumerate(chunks):  # parts of a long span
        orbits = SampledOrbits.sample(
            constellation, chunk_start, chunk_s, step_s=step_s, frame="teme"
        )

        def chunk_report(fraction: float, index: int = index) -> None:
            report((index + fraction) / len(chunks))

        tables.append(
            _links_in_span(
                orbits,
                constellation.names,
                first,
                second,
                grazing_height_m,
                limit,
                tol_s,
                chunk_report,
            )
        )
    table = ContactTable.concat(tables).joined_at([chunk[0] for chunk in chunks[1:]])
    report(1.0)
    return table.sorted(("start_unix_s", "satellite", "peer"))


def _links_in_span(
    orbits: SampledOrbits,
    names: tuple[str, ...],
    first: IntArray,
    second: IntArray,
    grazing_height_m: float,
    limit: float,
    tol_s: float,
    report: Progress,
) -> ContactTable:
    """The link windows of pairs ``(first, second)`` within one sampled span."""
    n_sats = orbits.n_sats
    scaled = _ScaledOrbits(orbits, grazing_height_m)
    n_times = orbits.times_unix_s.size
    report(0.2)

    def split(items: IntArray) -> tuple[IntArray, IntArray]:
        return np.divmod(items, n_sats)

    def prepare(items: IntArray, k: IntArray) -> PieceFunction:
        i, j = split(items)
        return _link_function(orbits, scaled, i, j, k, limit)

    def slope(items: IntArray, j_sample: IntArray) -> FloatArray:
        i, j = split(items)
        return _link_slope_at_samples(orbits, scaled, i, j, j_sample, limit)

    search = WindowSearch(orbits.times_unix_s, prepare, slope, tol_s=tol_s)
    per_block = max(1, _BLOCK_VALUES // n_times)
    h = np.diff(orbits.times_unix_s)
    for lo in range(0, first.size, per_block):  # blocks of pairs, not time steps
        i, j = first[lo : lo + per_block], second[lo : lo + per_block]
        bound = _SPEED_MARGIN * scaled.z_scale * (scaled.max_speed[i] + scaled.max_speed[j])
        values, keep = _link_values_on_grid(scaled, i, j, limit, bound, h)
        if keep.size:
            search.add_block(values, bound[keep], i[keep] * n_sats + j[keep])
        report(0.2 + 0.6 * min(1.0, (lo + per_block) / first.size))
    found = search.finish()
    i, j = split(found.item)
    closest = _closest_approach(orbits, i, j, found.start_unix_s, found.end_unix_s)
    r_i, _ = orbits.interpolate(i, closest)
    r_j, _ = orbits.interpolate(j, closest)
    report(1.0)
    return ContactTable.links(
        i,
        j,
        found.start_unix_s,
        found.end_unix_s,
        closest,
        np.linalg.norm(r_j - r_i, axis=1),
        names,
        start_clipped=found.start_clipped,
        end_clipped=found.end_clipped,
    )


def _empty(constellation: Constellation) -> ContactTable:
    empty = np.empty(0)
    return ContactTable.links([], [], empty, empty, empty, empty, constellation.names)


def _link_values_on_grid(
    scaled: _ScaledOrbits,
    i: IntArray,
    j: IntArray,
    limit: float,
    bound: FloatArray,
    h: FloatArray,
) -> tuple[FloatArray, IntArray]:
    """F on the grid for pairs ``(i, j)``; returns the values of the pairs that can ever be
    visible and their positions in ``i``/``j``.

    Pairs that stay out of range at every sample by more than the slope bound allows to be
    made up between samples are dropped before the line-of-sight part.
    """
    r_i, r_j = scaled.r_t[i], scaled.r_t[j]  # (m, 3, n_times)
    delta = r_j - r_i
    # True (unscaled) separation: undo the z scaling on the z component.
    true_delta2 = delta[:, 0] ** 2 + delta[:, 1] ** 2 + (delta[:, 2] / scaled.z_scale) ** 2
    keep = np.arange(i.size)
    range_margin = limit - np.sqrt(true_delta2)
    if np.isfinite(limit):
        reach = 0.5 * bound[:, None] * np.concatenate([h, h[-1:]])
        possible = np.any(range_margin + reach > 0, axis=1)
        keep = np.flatnonzero(possible)
        if keep.size == 0:
            return np.empty((0, h.size + 1)), keep
        r_i, delta, range_margin = r_i[keep], delta[keep], range_margin[keep]
        i, j = i[keep], j[keep]
    delta2 = np.einsum("mct,mct->mt", delta, delta)
    r_dot_delta = np.einsum("mct,mct->mt", r_i, delta)
    distance = _distance_to_segment(scaled.norm2[i], scaled.norm2[j], r_dot_delta, delta2)
    values = distance - scaled.radius_m
    if np.isfinite(limit):
        np.minimum(values, range_margin, out=values)
    return values, keep


def _evaluate_link(
    r_i: FloatArray,
    v_i: FloatArray,
    r_j: FloatArray,
    v_j: FloatArray,
    scaled: _ScaledOrbits,
    limit: float,
) -> tuple[FloatArray, FloatArray]:
    """F and dF/dt from unscaled ``(3, m)`` positions and velocities of both ends."""
    scale = scaled.scale_column
    ri, vi, rj, vj = r_i * scale, v_i * scale, r_j * scale, v_j * scale
    delta, delta_v = rj - ri, vj - vi
    n_i, n_j = _dot(ri, ri), _dot(rj, rj)
    q = _dot(delta, delta)
    p = _dot(ri, delta)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Closest point of the line at fraction -p/q along the segment; inside the segment the
        # squared distance is |r_i|^2 - p^2/q, beyond its ends that of the nearer end.
        fraction = -p / q
        dp = _dot(vi, delta) + _dot(ri, delta_v)
        dq = 2.0 * _dot(delta, delta_v)
        inner2 = n_i - p * p / q
        d_inner2 = 2.0 * _dot(ri, vi) - (2.0 * p * dp * q - p * p * dq) / (q * q)
        before, after = fraction <= 0.0, fraction >= 1.0
        d2 = np.where(before, n_i, np.where(after, n_j, inner2))
        dd2 = np.where(before, 2.0 * _dot(ri, vi), np.where(after, 2.0 * _dot(rj, vj), d_inner2))
        distance = np.sqrt(np.maximum(d2, 0.0))
        value = distance - scaled.radius_m
        rate = dd2 / (2.0 * distance)
    if not np.isfinite(limit):
        return value, rate
    true_delta, true_dv = r_j - r_i, v_j - v_i
    separation = np.sqrt(_dot(true_delta, true_delta))
    margin = limit - separation
    with np.errstate(divide="ignore", invalid="ignore"):
        margin_rate = -_dot(true_delta, true_dv) / separation
    range_active = margin < value
    return np.where(range_active, margin, value), np.where(range_active, margin_rate, rate)


def _link_function(
    orbits: SampledOrbits,
    scaled: _ScaledOrbits,
    i: IntArray,
    j: IntArray,
    k: IntArray,
    limit: float,
) -> PieceFunction:
    pieces_i = orbits.segments(i, k)
    pieces_j = orbits.segments(j, k)

    def fn(idx: IntArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        r_i, v_i = pieces_i.take(idx).at(t)
        r_j, v_j = pieces_j.take(idx).at(t)
        return _evaluate_link(r_i, v_i, r_j, v_j, scaled, limit)

    return fn


def _link_slope_at_samples(
    orbits: SampledOrbits,
    scaled: _ScaledOrbits,
    i: IntArray,
    j: IntArray,
    j_sample: IntArray,
    limit: float,
) -> FloatArray:
    r_i, v_i = orbits.r_m[i, j_sample].T, orbits.v_m_s[i, j_sample].T
    r_j, v_j = orbits.r_m[j, j_sample].T, orbits.v_m_s[j, j_sample].T
    return _evaluate_link(r_i, v_i, r_j, v_j, scaled, limit)[1]


def _closest_approach(
    orbits: SampledOrbits, i: IntArray, j: IntArray, start: FloatArray, end: FloatArray
) -> FloatArray:
    """Time of the shortest true distance within each window."""

    def at_samples(window: IntArray, sample: IntArray) -> FloatArray:
        a, b = i[window], j[window]
        delta = (orbits.r_m[b, sample] - orbits.r_m[a, sample]).T
        delta_v = (orbits.v_m_s[b, sample] - orbits.v_m_s[a, sample]).T
        return -_dot(delta, delta_v)

    def prepare(window: IntArray, k: IntArray) -> PieceFunction:
        pieces_i = orbits.segments(i[window], k)
        pieces_j = orbits.segments(j[window], k)

        def fn(idx: IntArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
            r_i, v_i, a_i = pieces_i.take(idx).at_with_acceleration(t)
            r_j, v_j, a_j = pieces_j.take(idx).at_with_acceleration(t)
            delta, delta_v, delta_a = r_j - r_i, v_j - v_i, a_j - a_i
            return -_dot(delta, delta_v), -(_dot(delta_v, delta_v) + _dot(delta, delta_a))

        return fn

    return window_maximum(
        start, end, orbits.times_unix_s, at_samples, prepare, _EXTREMUM_TOLERANCE_S
    )


def _dot(a: FloatArray, b: FloatArray) -> FloatArray:
    """Dot products of the columns of two ``(3, m)`` arrays."""
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
