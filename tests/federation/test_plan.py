"""ContactPlan queries against brute-force references."""

from __future__ import annotations

import re

import numpy as np
import pytest

from orbitlearn.errors import InputError
from orbitlearn.federation import ContactPlan


def _random_plan(seed: int, n_sats: int = 6, n_windows: int = 60) -> tuple[ContactPlan, list]:
    rng = np.random.default_rng(seed)
    sat = rng.integers(0, n_sats - 1, size=n_windows)  # the last satellite never sees the ground
    start = 1.7e9 + rng.uniform(0, 86_400, size=n_windows)
    end = start + rng.uniform(0, 900, size=n_windows)
    windows = [(int(s), float(a), float(b)) for s, a, b in zip(sat, start, end, strict=True)]
    return ContactPlan(n_sats, sat, start, end), windows


def _union(windows, sat):
    """Union of a satellite's windows, by brute force over sorted intervals."""
    spans = sorted((a, b) for s, a, b in windows if s == sat and b > a)
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def _finish_ref(windows, sat, t, duration):
    need = duration
    for a, b in _union(windows, sat):
        if b <= t:
            continue
        a = max(a, t)
        if b - a >= need:
            return a + need
        need -= b - a
    return float("inf")


@pytest.mark.parametrize("seed", range(5))
def test_queries_match_brute_force(seed):
    plan, windows = _random_plan(seed)
    rng = np.random.default_rng(100 + seed)
    for t in 1.7e9 + rng.uniform(-1000, 90_000, size=15):
        for duration in (0.0, 30.0, 500.0, 2_000.0):
            ref = [_finish_ref(windows, i, t, duration) for i in range(plan.n_satellites)]
            single = [plan.transfer_finish_s(i, t, duration) for i in range(plan.n_satellites)]
            allsats = plan.transfer_finish_s_all(t, duration)
            np.testing.assert_allclose(single, ref, rtol=0, atol=1e-6)
            np.testing.assert_allclose(allsats, ref, rtol=0, atol=1e-6)
        per_sat_t = t + rng.uniform(-5000, 5000, size=plan.n_satellites)
        per_sat_t[1] = np.inf
        np.testing.assert_allclose(
            plan.transfer_finish_s_all(per_sat_t, 100.0),
            [_finish_ref(windows, i, per_sat_t[i], 100.0) for i in range(plan.n_satellites)],
            atol=1e-6,
        )
        np.testing.assert_allclose(
            plan.next_ground_contact_start_s(t),
            [_finish_ref(windows, i, t, 0.0) for i in range(plan.n_satellites)],
            atol=1e-6,
        )
        for i in range(plan.n_satellites):
            inside = any(a <= t < b for a, b in _union(windows, i))
            assert plan.in_ground_contact(i, t) is inside
    assert np.all(np.isinf(plan.transfer_finish_s_all(1.7e9, 1.0)[-1:]))


def test_overlapping_station_windows_merge_and_edges():
    plan = ContactPlan(
        2,
        ground_satellite=[0, 0, 0, 1],
        ground_start_unix_s=[100.0, 150.0, 400.0, 50.0],
        ground_end_unix_s=[200.0, 260.0, 400.0, 60.0],  # third window is empty
    )
    starts, ends = plan.ground_windows(0)
    assert starts.tolist() == [100.0] and ends.tolist() == [260.0]
    assert plan.n_ground_windows == 2
    assert plan.in_ground_contact(0, 100.0) and not plan.in_ground_contact(0, 260.0)
    assert plan.next_ground_window(0, 260.0) is None
    assert plan.next_ground_window(0, 120.0) == (100.0, 260.0)
    assert plan.can_reach_ground_before(200.0, 0.0, duration_s=100.0).tolist() == [True, False]
    assert plan.can_reach_ground_before(199.0, 0.0, duration_s=100.0).tolist() == [False, False]


def test_isl_queries():
    plan = ContactPlan(
        3,
        [0],
        [0.0],
        [10.0],
        isl_satellite_a=[0, 1, 1],
        isl_satellite_b=[1, 0, 2],
        isl_start_unix_s=[0.0, 50.0, 20.0],
        isl_end_unix_s=[30.0, 80.0, 25.0],
    )
    assert plan.has_isl
    assert plan.isl_available(1, 0, 10.0) and not plan.isl_available(0, 1, 40.0)
    assert plan.next_isl_contact_s(0, 1, 40.0) == 50.0
    assert plan.next_isl_contact_s(1, 2, 30.0) == float("inf")
    assert plan.next_isl_contact_s(0, 2, 0.0) == float("inf")
    assert sorted(plan.isl_neighbours(1)) == [0, 2]
    assert not ContactPlan(1, [0], [0.0], [1.0]).has_isl


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_satellites": 0}, "Expected `n_satellites` to be an integer >= 1, actual: 0"),
        (
            {"ground_satellite": [0, 5]},
            "Expected `ground satellite index` to be an index in [0, 2], actual: 5",
        ),
        (
            {"ground_end_unix_s": [10.0]},
            "Expected `ground array lengths` to be 2 (one entry per window), actual: 1",
        ),
        (
            {"ground_end_unix_s": [10.0, 5.0]},
            "Expected `ground window 1 end_unix_s` to be a time >= its start 20.0, actual: 5.0",
        ),
        (
            {"ground_start_unix_s": [0.0, np.nan]},
            "Expected `ground_start_unix_s` to be finite times (unix_s), actual: 'non-finite entries'",
        ),
        (
            {"ground_satellite": [0.0, 1.0]},
            "Expected `ground_satellite dtype` to be integers (satellite indices), actual: 'float64'",
        ),
        (
            {"isl_satellite_a": [0]},
            "Expected `isl arrays` to be all four ISL arrays, or none of them, actual: 'partly given'",
        ),
    ],
)
def test_plan_validation(kwargs, message):
    args = {
        "n_satellites": 3,
        "ground_satellite": [0, 1],
        "ground_start_unix_s": [0.0, 20.0],
        "ground_end_unix_s": [10.0, 30.0],
    }
    args.update(kwargs)
    with pytest.raises(InputError) as info:
        ContactPlan(**args)
    assert str(info.value) == message


def test_query_arguments_are_validated():
    plan = ContactPlan(2, [0], [0.0], [10.0])
    with pytest.raises(
        InputError, match=r"Expected `sat` to be a satellite index in \[0, 1\], actual: 2"
    ):
        plan.transfer_finish_s(2, 0.0, 1.0)
    with pytest.raises(
        InputError, match=re.escape("Expected `duration_s` to be a number >= 0, actual: -1.0")
    ):
        plan.transfer_finish_s_all(0.0, -1.0)


def test_from_tables_reads_space_layer_columns():
    from types import SimpleNamespace

    table = SimpleNamespace(
        satellite=np.array([0, 1, 0]),
        peer=np.array([-1, -1, 1]),
        start_unix_s=np.array([10.0, 20.0, 0.0]),
        end_unix_s=np.array([50.0, 30.0, 100.0]),
        satellite_names=("a", "b"),
    )
    plan = ContactPlan.from_tables(table)
    assert plan.n_satellites == 2 and plan.n_ground_windows == 2
    assert plan.isl_available(0, 1, 60.0) and plan.next_ground_window(1, 0.0) == (20.0, 30.0)
    with pytest.raises(
        InputError, match="Expected `contact table` to be a table with a `satellite` column"
    ):
        ContactPlan.from_tables(SimpleNamespace(satellite_names=("a",)))


def test_from_tables_with_the_space_contact_table():
    intervals = pytest.importorskip("orbitlearn.space.intervals")
    ground = intervals.ContactTable.ground(
        [0, 1],
        [0, 0],
        [100.0, 200.0],
        [400.0, 500.0],
        [45.0, 30.0],
        [250.0, 350.0],
        [800e3, 900e3],
        ("sat-a", "sat-b"),
        ("Bremen",),
    )
    links = intervals.ContactTable.links(
        [0], [1], [0.0], [1000.0], [500.0], [2e6], ("sat-a", "sat-b")
    )
    plan = ContactPlan.from_tables(ground, links)
    assert plan.n_satellites == 2
    assert plan.next_ground_contact_start_s(0.0).tolist() == [100.0, 200.0]
    assert plan.isl_neighbours(0) == (1,)
