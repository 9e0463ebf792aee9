"""The figure helpers: exact occupancy per bin, cumulative series that end at the totals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from orbitlearn.report import load_run
from orbitlearn.report.plots import cumulative_series, mean_count, timeline_figure


def test_mean_count_matches_a_fine_sampling():
    rng = np.random.default_rng(3)
    starts = rng.uniform(0.0, 1000.0, 40)
    ends = starts + rng.exponential(30.0, 40)
    ends[:5] = starts[:5]  # zero-length spans add nothing
    edges = np.linspace(0.0, 1000.0, 11)
    fine = np.linspace(0.0, 1000.0, 1_000_001)[:-1] + 0.0005
    inside = (fine[None, :] >= starts[:, None]) & (fine[None, :] < ends[:, None])
    sampled = inside.sum(axis=0).reshape(10, -1).mean(axis=1)
    one_sample = 1.0e-3 * 40 / 100.0  # each edge can be off by one fine sample per interval
    np.testing.assert_allclose(mean_count(starts, ends, edges), sampled, atol=one_sample)


def test_mean_count_counts_a_millisecond_span_as_a_millisecond():
    counts = mean_count(np.array([10.0]), np.array([10.001]), np.array([0.0, 100.0]))
    assert counts[0] == pytest.approx(1e-5)


def test_cumulative_series_ends_at_the_summary_total(run_dir: Path):
    run = load_run(run_dir)
    hours, values = cumulative_series(run, "bytes_up", run.summary["bytes_up"])
    assert hours[-1] == pytest.approx(4.0) and values[-1] == 123_456
    assert np.all(np.diff(values) >= 0.0)
    assert values[0] == 0.0


def test_timeline_shows_at_most_the_requested_satellites(run_dir: Path):
    run = load_run(run_dir)
    figure = timeline_figure(run, max_satellites=2)
    gantt = figure.axes[0]
    assert [t.get_text() for t in gantt.get_yticklabels()] == ["sat-0", "sat-1"]
    assert "satellites 1-2 of 3" in gantt.get_title()
