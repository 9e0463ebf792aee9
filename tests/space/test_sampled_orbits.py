"""Interpolated orbits: quintic Hermite pieces against direct sgp4 calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from orbitlearn.errors import InputError
from orbitlearn.space.constellation import Constellation
from orbitlearn.space.propagation import propagate_ecef, propagate_teme
from orbitlearn.space.sampled_orbits import SampledOrbits, default_grid_step_s, gravity_accel_m_s2
from orbitlearn.space.walker import walker_constellation

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
#: Interpolation error allowed at the automatic step (measured: ~0.9 m for Starlink).
TWO_METRES = 2.0


def _check_against_sgp4(constellation: Constellation, orbits: SampledOrbits, frame: str) -> float:
    rng = np.random.default_rng(7)
    start, end = orbits.times_unix_s[0], orbits.times_unix_s[-1]
    sat = rng.integers(0, len(constellation), 400)
    t = np.sort(rng.uniform(start, end, 400))
    r, v = orbits.interpolate(sat, t)
    propagate = propagate_ecef if frame == "ecef" else propagate_teme
    worst = 0.0
    for i in np.unique(sat):
        here = sat == i
        r_ref, v_ref, _ = propagate(constellation.subset([int(i)]), t[here])
        worst = max(worst, float(np.max(np.linalg.norm(r[here] - r_ref[0], axis=-1))))
        assert np.max(np.linalg.norm(v[here] - v_ref[0], axis=-1)) < 0.1  # m/s
    return worst


@pytest.mark.parametrize("frame", ["ecef", "teme"])
def test_walker_shell_interpolates_within_metres(frame: str) -> None:
    shell = walker_constellation(
        12, 3, 1, altitude_m=400e3, inclination_deg=97.0, epoch_unix_s=START
    )
    orbits = SampledOrbits.sample(shell, START, 43_200.0, frame=frame)
    assert orbits.frame == frame
    assert _check_against_sgp4(shell, orbits, frame) < TWO_METRES


def test_real_starlink_elements_interpolate_within_metres(shared_data: Path) -> None:
    from orbitlearn.space.tle import load_tle

    starlink = load_tle(shared_data / "tle" / "starlink.txt")
    subset = starlink.subset(list(range(0, len(starlink), len(starlink) // 15)))
    start = float(subset.epochs_unix_s.max())
    orbits = SampledOrbits.sample(subset, start, 86_400.0)
    assert 200.0 < np.diff(orbits.times_unix_s)[0] < 300.0
    assert _check_against_sgp4(subset, orbits, "ecef") < TWO_METRES


def test_pieces_match_the_samples_at_both_ends() -> None:
    shell = walker_constellation(
        4, 2, 0, altitude_m=550e3, inclination_deg=53.0, epoch_unix_s=START
    )
    orbits = SampledOrbits.sample(shell, START, 3_600.0)
    sat = np.array([0, 1, 2, 3])
    k = np.array([0, 3, 5, orbits.times_unix_s.size - 2])
    pieces = orbits.segments(sat, k)
    r0, v0, a0 = pieces.at_with_acceleration(orbits.times_unix_s[k])
    r1, v1 = pieces.at(orbits.times_unix_s[k + 1])
    np.testing.assert_allclose(r0.T, orbits.r_m[sat, k], atol=1e-6)
    np.testing.assert_allclose(v0.T, orbits.v_m_s[sat, k], atol=1e-9)
    np.testing.assert_allclose(a0.T, orbits.a_m_s2[sat, k], atol=1e-9)
    np.testing.assert_allclose(r1.T, orbits.r_m[sat, k + 1], atol=1e-6)
    np.testing.assert_allclose(v1.T, orbits.v_m_s[sat, k + 1], atol=1e-9)


def test_model_acceleration_is_close_to_sgp4s_own() -> None:
    """The gravity model against a central difference of sgp4 velocities (TEME)."""
    shell = walker_constellation(
        2, 1, 0, altitude_m=500e3, inclination_deg=60.0, epoch_unix_s=START
    )
    t = START + 1000.0 + np.array([-1.0, 1.0])
    r, _, _ = propagate_teme(shell, np.array([START + 1000.0]))
    _, v_pair, _ = propagate_teme(shell, t)
    numeric = (v_pair[:, 1] - v_pair[:, 0]) / 2.0
    # J3+ and sgp4's own theory differ from two-body + J2 by ~1e-5 relative.
    np.testing.assert_allclose(gravity_accel_m_s2(r[:, 0]), numeric, atol=2e-3)


def test_default_step_follows_the_fastest_satellite() -> None:
    leo = walker_constellation(2, 1, 0, altitude_m=500e3, inclination_deg=53.0, epoch_unix_s=START)
    meo = walker_constellation(2, 1, 0, altitude_m=8000e3, inclination_deg=53.0, epoch_unix_s=START)
    assert 240.0 < default_grid_step_s(leo) < 260.0
    assert default_grid_step_s(meo) == 300.0  # the cap
    both = Constellation.from_satrecs(leo.satrecs + meo.satrecs)
    assert default_grid_step_s(both) == default_grid_step_s(leo)


def test_the_grid_ends_exactly_at_the_end_of_the_span() -> None:
    shell = walker_constellation(
        2, 1, 0, altitude_m=500e3, inclination_deg=53.0, epoch_unix_s=START
    )
    orbits = SampledOrbits.sample(shell, START, 1000.0, step_s=300.0)
    assert orbits.times_unix_s.tolist() == [
        START,
        START + 300,
        START + 600,
        START + 900,
        START + 1000,
    ]
    assert orbits.interval_index([START - 5, START + 950, START + 2000]).tolist() == [0, 3, 3]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"duration_s": 0.0}, "Expected `duration_s` to be a number of seconds > 0, actual: 0.0"),
        (
            {"duration_s": 10.0, "step_s": -1.0},
            "Expected `step_s` to be a number of seconds > 0, actual: -1.0",
        ),
        (
            {"duration_s": 10.0, "frame": "gcrs"},
            "Expected `frame` to be one of 'ecef', 'teme', actual: 'gcrs'",
        ),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict, message: str) -> None:
    shell = walker_constellation(
        2, 1, 0, altitude_m=500e3, inclination_deg=53.0, epoch_unix_s=START
    )
    with pytest.raises(InputError) as caught:
        SampledOrbits.sample(shell, START, **kwargs)
    assert str(caught.value) == message
