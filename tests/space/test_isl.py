"""Inter-satellite line-of-sight windows against a brute-force scan.

The reference samples every pair every 4 s with direct sgp4 calls and finds, for each sample,
the lowest geodetic height (WGS84, :func:`ecef_to_geodetic`) along the straight segment between
the two satellites by golden-section search: an independent check of both the window search and
the scaled-sphere geometry of :mod:`orbitlearn.space.isl`. Edges of the scan are interpolated
linearly between samples (a few hundredths of a second).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from orbitlearn.errors import InputError
from orbitlearn.space.frames import ecef_to_geodetic
from orbitlearn.space.isl import all_pairs, isl_windows
from orbitlearn.space.propagation import propagate_teme
from orbitlearn.space.walker import walker_constellation

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SPAN_S = 3 * 3600.0
SCAN_STEP_S = 4.0
#: Edge agreement with the brute-force scan.
ONE_SECOND = 1.0
GRAZING_M = 80e3


def _shell():
    return walker_constellation(6, 3, 1, altitude_m=550e3, inclination_deg=53.0, epoch_unix_s=START)


def _lowest_height_m(r_a: np.ndarray, r_b: np.ndarray) -> np.ndarray:
    """Lowest geodetic height along each segment r_a -> r_b (shapes (m, 3))."""

    def height(s: np.ndarray) -> np.ndarray:
        return ecef_to_geodetic(r_a + s[:, None] * (r_b - r_a))[2]

    # A coarse scan brackets the lowest point, then golden-section search narrows it.
    coarse = np.linspace(0.0, 1.0, 17)
    heights = np.stack([height(np.full(len(r_a), s)) for s in coarse], axis=1)
    best = np.argmin(heights, axis=1)
    lo = coarse[np.maximum(best - 1, 0)]
    hi = coarse[np.minimum(best + 1, coarse.size - 1)]
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    c, d = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fc, fd = height(c), height(d)
    for _ in range(28):  # the bracket shrinks to ~2e-7 of the segment (about a metre)
        left = fc < fd  # the minimum lies in [lo, d]
        hi = np.where(left, d, hi)
        lo = np.where(left, lo, c)
        x = np.where(left, hi - ratio * (hi - lo), lo + ratio * (hi - lo))
        fx = height(x)
        c, d, fc, fd = (
            np.where(left, x, d),
            np.where(left, c, x),
            np.where(left, fx, fd),
            np.where(left, fc, fx),
        )
    ends = np.minimum(ecef_to_geodetic(r_a)[2], ecef_to_geodetic(r_b)[2])
    lowest = np.minimum(np.minimum(fc, fd), ends)
    # Geodetic heights are meaningless near the Earth's centre: a segment passing within
    # 6000 km of it is deep inside the Earth whatever the search says.
    delta = r_b - r_a
    t = np.clip(-np.einsum("ij,ij->i", r_a, delta) / np.einsum("ij,ij->i", delta, delta), 0, 1)
    deep = np.linalg.norm(r_a + t[:, None] * delta, axis=1) < 6000e3
    return np.where(deep, -1e6, lowest)


@pytest.fixture(scope="module")
def scan() -> tuple[np.ndarray, dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]]:
    """Sample times and, per pair, the lowest height of the segment and the separation."""
    times = START + np.arange(0.0, SPAN_S + SCAN_STEP_S / 2, SCAN_STEP_S)
    r, _, _ = propagate_teme(_shell(), times)
    per_pair = {}
    for i, j in zip(*all_pairs(len(_shell())), strict=True):
        per_pair[(int(i), int(j))] = (
            _lowest_height_m(r[i], r[j]),
            np.linalg.norm(r[j] - r[i], axis=1),
        )
    return times, per_pair


def brute_force_windows(
    scan, max_range_m: float | None = None
) -> list[tuple[int, int, float, float]]:
    times, per_pair = scan
    windows = []
    for (i, j), (height, separation) in per_pair.items():
        margin = height - GRAZING_M
        if max_range_m is not None:
            margin = np.minimum(margin, max_range_m - separation)
        visible = margin > 0
        changes = np.flatnonzero(visible[1:] != visible[:-1])
        # Linear interpolation of the margin between the two samples around each change.
        edges = times[changes] + SCAN_STEP_S * margin[changes] / (
            margin[changes] - margin[changes + 1]
        )
        opens = list(edges[visible[changes + 1]])
        closes = list(edges[~visible[changes + 1]])
        if visible[0]:
            opens.insert(0, times[0])
        if visible[-1]:
            closes.append(times[-1])
        windows += [(i, j, a, b) for a, b in zip(opens, closes, strict=True)]
    return windows


def assert_same_windows(table, reference) -> None:
    assert len(table) == len(reference), (len(table), len(reference))
    for i, j, start, end in reference:
        here = (table.satellite == i) & (table.peer == j)
        here &= (table.start_unix_s < end + 1) & (table.end_unix_s > start - 1)
        assert here.sum() == 1, (i, j, start, end)
        row = int(np.flatnonzero(here)[0])
        assert abs(table.start_unix_s[row] - start) < ONE_SECOND
        assert abs(table.end_unix_s[row] - end) < ONE_SECOND


@pytest.fixture(scope="module")
def line_of_sight_reference(scan):
    return brute_force_windows(scan)


def test_line_of_sight_windows_match_a_brute_force_scan(line_of_sight_reference) -> None:
    table = isl_windows(_shell(), START, SPAN_S)
    assert len(line_of_sight_reference) >= 10
    assert_same_windows(table, line_of_sight_reference)
    assert np.all(table.peer > table.satellite)
    assert np.all(np.isnan(table.max_elevation_deg))


def test_max_range_windows_match_a_brute_force_scan(scan) -> None:
    shell = _shell()
    table = isl_windows(shell, START, SPAN_S, max_range_m=3000e3)
    reference = brute_force_windows(scan, max_range_m=3000e3)
    assert_same_windows(table, reference)
    # The closest approach of each window against a 2 s scan of the separation.
    times = START + np.arange(0.0, SPAN_S + 1.0, 1.0)
    r, _, _ = propagate_teme(shell, times)
    for row in range(len(table)):
        inside = (times >= table.start_unix_s[row]) & (times <= table.end_unix_s[row])
        separation = np.linalg.norm(
            r[table.peer[row], inside] - r[table.satellite[row], inside], axis=1
        )
        assert table.min_range_m[row] <= separation.min() + 2.0
        assert separation.min() - table.min_range_m[row] < 100.0
        assert table.min_range_m[row] <= 3000e3 + 1.0


def test_a_pair_list_restricts_the_search(line_of_sight_reference) -> None:
    table = isl_windows(_shell(), START, SPAN_S, pairs=[[3, 0], [1, 4], [0, 3]])
    expected = [w for w in line_of_sight_reference if (w[0], w[1]) in {(0, 3), (1, 4)}]
    assert_same_windows(table, expected)


def test_neighbours_in_one_plane_see_each_other_all_the_time() -> None:
    plane = walker_constellation(
        6, 1, 0, altitude_m=1200e3, inclination_deg=60.0, epoch_unix_s=START
    )
    table = isl_windows(plane, START, 7200.0)
    # 60 deg apart at 1200 km the chord passes ~6560 km from the centre: clear of the Earth
    # plus 80 km; 120 deg apart it passes ~3790 km from it: never.
    neighbours = {(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (0, 5)}
    assert {
        (int(a), int(b)) for a, b in zip(table.satellite, table.peer, strict=True)
    } == neighbours
    assert np.all(table.start_clipped & table.end_clipped)


def test_a_higher_grazing_height_shortens_windows() -> None:
    low = isl_windows(_shell(), START, SPAN_S, grazing_height_m=0.0)
    high = isl_windows(_shell(), START, SPAN_S, grazing_height_m=300e3)
    assert low.duration_s.sum() > high.duration_s.sum()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"grazing_height_m": -1.0},
            "Expected `grazing_height_m` to be a number of metres in [0, 1e6], actual: -1.0",
        ),
        (
            {"max_range_m": 0.0},
            "Expected `max_range_m` to be a number of metres > 0, or None, actual: 0.0",
        ),
        (
            {"pairs": [[0, 0]]},
            "Expected `pairs` to be two different satellites, actual: 'a satellite paired with itself'",
        ),
        (
            {"pairs": [[0, 9]]},
            "Expected `pairs` to be indices in [0, 6), actual: 'indices in [0, 9]'",
        ),
        (
            {"pairs": [0, 1]},
            "Expected `pairs` to be pairs of satellite indices, actual: 'an array of shape (2,)'",
        ),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError) as caught:
        isl_windows(_shell(), START, 600.0, **kwargs)
    assert str(caught.value) == message


def test_isl_does_not_import_torch() -> None:
    code = "import sys, orbitlearn.space.isl; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_span_searched_in_parts_gives_the_same_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    import orbitlearn.space.sampled_orbits as sampled_orbits

    whole = isl_windows(_shell(), START, SPAN_S)
    monkeypatch.setattr(sampled_orbits, "MAX_SAT_SAMPLES_PER_CHUNK", 6 * 9)  # ~37 min parts
    parts = isl_windows(_shell(), START, SPAN_S)
    assert len(parts) == len(whole)
    np.testing.assert_array_equal(parts.peer, whole.peer)
    np.testing.assert_allclose(parts.start_unix_s, whole.start_unix_s, atol=2e-3)
    np.testing.assert_allclose(parts.end_unix_s, whole.end_unix_s, atol=2e-3)
    np.testing.assert_allclose(parts.min_range_m, whole.min_range_m, atol=5.0)
