"""The generic window search on functions whose windows are known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from orbitlearn.space._windows import WindowSearch, illinois_root, newton_root, window_maximum

PERIOD_S = 1000.0
OMEGA = 2.0 * np.pi / PERIOD_S
AMPLITUDE_M = 1.0e6
#: Edges are refined to a millisecond.
ONE_MILLISECOND = 1e-3


def _cosine_search(levels: np.ndarray, phases: np.ndarray, step_s: float, span_s: float):
    """F_i(t) = A cos(w (t - phase_i)) - level_i * A on a grid of ``step_s``."""
    times = np.arange(0.0, span_s + step_s / 2, step_s)

    def value(items: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        angle = OMEGA * (t - phases[items])
        return (
            AMPLITUDE_M * (np.cos(angle) - levels[items]),
            -AMPLITUDE_M * OMEGA * np.sin(angle),
        )

    def prepare(items: np.ndarray, k: np.ndarray):
        return lambda idx, t: value(items[idx], t)

    def slope(items: np.ndarray, j: np.ndarray) -> np.ndarray:
        return value(items, times[j])[1]

    search = WindowSearch(times, prepare, slope)
    items = np.arange(levels.size)
    grid = value(np.repeat(items, times.size), np.tile(times, items.size))[0]
    search.add_block(grid.reshape(items.size, times.size), AMPLITUDE_M * OMEGA, items)
    return search.finish(), times


def _exact_windows(level: float, phase: float, span_s: float) -> list[tuple[float, float]]:
    half = np.arccos(level) / OMEGA
    windows = []
    for n in range(-2, int(span_s / PERIOD_S) + 3):
        centre = phase + n * PERIOD_S
        start, end = max(centre - half, 0.0), min(centre + half, span_s)
        if start < end:
            windows.append((start, end))
    return windows


@pytest.mark.parametrize(
    ("level", "what"),
    [
        (0.99, "windows of 45 s on a 100 s grid"),
        (-0.99, "gaps of 45 s on a 100 s grid"),
        (0.0, "windows of half a period"),
        (0.9999, "windows of 4.5 s"),
    ],
)
def test_windows_and_gaps_shorter_than_the_grid_step_are_found(level: float, what: str) -> None:
    levels = np.array([level, level])
    phases = np.array([123.4, 777.7])
    found, _ = _cosine_search(levels, phases, step_s=100.0, span_s=5000.0)
    for item in range(2):
        exact = _exact_windows(level, phases[item], 5000.0)
        mine = found.item == item
        assert mine.sum() == len(exact), what
        np.testing.assert_allclose(
            found.start_unix_s[mine], [w[0] for w in exact], atol=ONE_MILLISECOND
        )
        np.testing.assert_allclose(
            found.end_unix_s[mine], [w[1] for w in exact], atol=ONE_MILLISECOND
        )


def test_windows_open_at_either_end_are_flagged() -> None:
    found, _ = _cosine_search(np.array([0.0]), np.array([0.0]), step_s=100.0, span_s=2900.0)
    assert found.start_clipped[0] and found.start_unix_s[0] == 0.0
    assert found.end_clipped[-1] and found.end_unix_s[-1] == 2900.0
    assert not found.start_clipped[1:].any() and not found.end_clipped[:-1].any()


def test_nan_samples_count_as_not_visible() -> None:
    times = np.arange(0.0, 1001.0, 100.0)
    values = np.array([[1.0, 1.0, np.nan, np.nan, -1.0, 1.0, 1.0, 1.0, np.nan, 1.0, 1.0]])

    def prepare(items, k):
        # Linear between samples (only where both ends are finite).
        return lambda idx, t: (
            np.interp(t, times, np.nan_to_num(values[0], nan=-1.0)),
            np.zeros_like(t),
        )

    search = WindowSearch(times, prepare, lambda items, j: np.zeros(j.size))
    search.add_block(values, 0.0, np.array([0]))
    found = search.finish()
    assert found.start_unix_s.tolist()[0] == 0.0 and found.end_unix_s.tolist()[0] == 100.0
    assert found.end_unix_s.tolist()[1] == 700.0  # closes at the last finite sample
    assert found.start_unix_s.tolist()[2] == 900.0 and found.end_clipped[2]


def test_root_finders_keep_their_bracket_and_converge() -> None:
    a, b = np.array([0.0, 0.0]), np.array([3.0, 3.0])
    f = lambda idx, t: (t**3 - 2.0, 3 * t**2)  # noqa: E731
    roots = newton_root(f, a, b, f(None, a)[0], f(None, b)[0], 1e-9)
    np.testing.assert_allclose(roots, 2 ** (1 / 3), atol=1e-9)
    roots = illinois_root(lambda idx, t: t**3 - 2.0, a, b, a**3 - 2, b**3 - 2, 1e-9)
    np.testing.assert_allclose(roots, 2 ** (1 / 3), atol=1e-9)


def test_window_maximum_finds_interior_and_end_maxima() -> None:
    times = np.arange(0.0, 1001.0, 100.0)
    peaks = np.array([333.3, 50.0, 950.0])

    def at_samples(window, j):
        return -(times[j] - peaks[window])  # rate of -(t - peak)^2 / 2

    def prepare(window, k):
        return lambda idx, t: (-(t - peaks[window[idx]]), -np.ones_like(t))

    start, end = np.array([100.0, 120.0, 400.0]), np.array([900.0, 600.0, 900.0])
    result = window_maximum(start, end, times, at_samples, prepare, 1e-3)
    np.testing.assert_allclose(result, [333.3, 120.0, 900.0], atol=1e-3)
