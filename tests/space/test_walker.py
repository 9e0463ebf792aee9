"""Walker shells: geometry of the elements, of the propagated orbits, and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from orbitlearn.errors import InputError
from orbitlearn.space.timescale import parse_utc_iso
from orbitlearn.space.walker import (
    WGS72_EARTH_RADIUS_M,
    parse_walker_spec,
    walker_constellation,
)

ONE_KM_M = 1_000.0
ANGLE_TOL_DEG = 1e-9


def wrap_deg(angle_deg):
    """Angle difference folded into [-180, 180)."""
    return (np.asarray(angle_deg) + 180.0) % 360.0 - 180.0


def state_at_epoch_km(satrec, minutes=0.0):
    errors, r, v = satrec.sgp4_array(
        np.array([satrec.jdsatepoch]), np.array([satrec.jdsatepochF + minutes / 1440.0])
    )
    assert errors[0] == 0
    return r[0], v[0]


def test_names_order_planes_and_catalog_numbers():
    shell = walker_constellation(6, 3, 1, altitude_m=550e3, inclination_deg=53.0)
    assert shell.names == (
        "walker-P1-S1",
        "walker-P1-S2",
        "walker-P2-S1",
        "walker-P2-S2",
        "walker-P3-S1",
        "walker-P3-S2",
    )
    assert shell.planes == (0, 0, 1, 1, 2, 2)
    assert shell.catalog_numbers == ("00001", "00002", "00003", "00004", "00005", "00006")
    assert shell.source == "Walker-delta 6/3/1, 550 km, 53 deg"
    assert shell.subset([5, 0]).planes == (2, 0)


@pytest.mark.parametrize(
    ("pattern", "spread_deg", "raan0_deg"), [("delta", 360.0, 0.0), ("star", 180.0, 10.0)]
)
def test_raan_spacing_and_phasing_of_the_elements(pattern, spread_deg, raan0_deg):
    total, planes, phasing = 40, 5, 1
    shell = walker_constellation(
        total,
        planes,
        phasing,
        altitude_m=500e3,
        inclination_deg=80.0,
        pattern=pattern,
        raan0_deg=raan0_deg,
    )
    per_plane = total // planes
    raan_deg = np.degrees([s.nodeo for s in shell.satrecs]).reshape(planes, per_plane)
    latitude_arg_deg = np.degrees([s.mo + s.argpo for s in shell.satrecs]).reshape(
        planes, per_plane
    )
    expected_raan = raan0_deg + np.arange(planes) * spread_deg / planes
    np.testing.assert_allclose(wrap_deg(raan_deg - expected_raan[:, None]), 0.0, atol=ANGLE_TOL_DEG)
    # In-plane spacing 360/S, plane-to-plane phase offset F*360/T.
    np.testing.assert_allclose(
        wrap_deg(np.diff(latitude_arg_deg, axis=1) - 360.0 / per_plane), 0.0, atol=ANGLE_TOL_DEG
    )
    np.testing.assert_allclose(
        wrap_deg(np.diff(latitude_arg_deg[:, 0]) - phasing * 360.0 / total), 0.0, atol=ANGLE_TOL_DEG
    )
    assert np.allclose([s.inclo for s in shell.satrecs], np.radians(80.0))
    assert all(s.ecco == 0.0 and s.bstar == 0.0 for s in shell.satrecs)


def test_propagated_geometry_matches_the_pattern():
    """Planes and spacing seen in the propagated TEME states, not only in the input elements."""
    total, planes, phasing = 12, 3, 2
    shell = walker_constellation(total, planes, phasing, altitude_m=700e3, inclination_deg=60.0)
    states = [state_at_epoch_km(s) for s in shell.satrecs]
    normals = np.array([np.cross(r, v) for r, v in states])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    raan_deg = np.degrees(np.arctan2(normals[:, 0], -normals[:, 1]))
    inclination_deg = np.degrees(np.arccos(normals[:, 2]))
    # Osculating values differ from the mean elements by J2 short-period terms (< 0.1 deg).
    np.testing.assert_allclose(inclination_deg, 60.0, atol=0.1)
    plane_raan = raan_deg.reshape(planes, -1)
    np.testing.assert_allclose(wrap_deg(plane_raan - plane_raan[:, :1]), 0.0, atol=0.1)
    np.testing.assert_allclose(wrap_deg(np.diff(plane_raan[:, 0]) - 120.0), 0.0, atol=0.1)
    # Neighbours in a plane are 360/S = 90 deg apart along the orbit (J2 short-period terms
    # move each osculating position along track by up to ~0.15 deg at 700 km).
    r = np.array([state for state, _ in states]).reshape(planes, total // planes, 3)
    cos_angle = np.sum(r[:, 1:] * r[:, :-1], axis=-1) / (
        np.linalg.norm(r[:, 1:], axis=-1) * np.linalg.norm(r[:, :-1], axis=-1)
    )
    np.testing.assert_allclose(np.degrees(np.arccos(cos_angle)), 90.0, atol=0.25)


@pytest.mark.parametrize(
    ("altitude_km", "inclination_deg"),
    [(160.0, 0.0), (500.0, 80.0), (550.0, 53.0), (550.0, 97.59), (1200.0, 87.9), (20_200.0, 55.0)],
)
def test_mean_altitude_from_propagation_within_one_km(altitude_km, inclination_deg):
    shell = walker_constellation(
        2, 2, 1, altitude_m=altitude_km * 1e3, inclination_deg=inclination_deg
    )
    for satrec in shell.satrecs:
        minutes = np.linspace(0.0, 1440.0, 2881)
        errors, r_km, _ = satrec.sgp4_array(
            np.full(minutes.shape, satrec.jdsatepoch), satrec.jdsatepochF + minutes / 1440.0
        )
        assert not errors.any()
        mean_altitude_m = np.mean(np.linalg.norm(r_km, axis=1)) * 1e3 - WGS72_EARTH_RADIUS_M
        assert abs(mean_altitude_m - altitude_km * 1e3) < ONE_KM_M


def test_period_at_550_km_matches_reference():
    # REFERENCE.md: 550 km circular, period 95.65 min (two-body).
    satrec = walker_constellation(1, 1, 0, altitude_m=550e3, inclination_deg=97.59).satrecs[0]
    assert 2.0 * np.pi / satrec.no_kozai == pytest.approx(95.65, abs=0.1)


def test_epoch_default_and_given():
    default = walker_constellation(4, 2, 0, altitude_m=550e3, inclination_deg=53.0)
    assert np.all(default.epochs_unix_s == parse_utc_iso("2026-01-01T00:00:00Z"))
    start = parse_utc_iso("2027-03-04T05:06:07Z")
    given = walker_constellation(
        4, 2, 0, altitude_m=550e3, inclination_deg=53.0, epoch_unix_s=start
    )
    np.testing.assert_allclose(given.epochs_unix_s, start, atol=1e-3)


def test_large_shell_is_quick_enough_to_build():
    shell = walker_constellation(1584, 72, 39, altitude_m=550e3, inclination_deg=53.0)
    assert len(shell) == 1584 and len(set(shell.names)) == 1584


# --- parse_walker_spec -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("40/5/1", (40, 5, 1)), (" 1584 / 72 / 39 ", (1584, 72, 39)), ("1/1/0", (1, 1, 0))],
)
def test_parse_walker_spec(text, expected):
    assert parse_walker_spec(text) == expected


BAD_SPECS = [
    (
        "40-5-1",
        "Expected `--walker` to be T/P/F: total satellites / planes / phasing as whole numbers, "
        "such as 40/5/1, actual: '40-5-1'",
    ),
    (
        "40/5",
        "Expected `--walker` to be T/P/F: total satellites / planes / phasing as whole numbers, "
        "such as 40/5/1, actual: '40/5'",
    ),
    (
        "40/5/-1",
        "Expected `--walker` to be T/P/F: total satellites / planes / phasing as whole numbers, "
        "such as 40/5/1, actual: '40/5/-1'",
    ),
    (
        "40.0/5/1",
        "Expected `--walker` to be T/P/F: total satellites / planes / phasing as whole numbers, "
        "such as 40/5/1, actual: '40.0/5/1'",
    ),
    ("0/1/0", "Expected `--walker` to be T/P/F with the total T in [1, 100000], actual: '0/1/0'"),
    (
        "200000/1/0",
        "Expected `--walker` to be T/P/F with the total T in [1, 100000], actual: '200000/1/0'",
    ),
    (
        "40/0/0",
        "Expected `--walker` to be T/P/F with the number of planes P in [1, T], actual: '40/0/0'",
    ),
    (
        "4/8/0",
        "Expected `--walker` to be T/P/F with the number of planes P in [1, T], actual: '4/8/0'",
    ),
    (
        "40/6/1",
        "Expected `--walker` to be T/P/F with the total T divisible by the number of planes P, "
        "actual: '40/6/1'. 40 satellites do not split evenly into 6 planes",
    ),
    (
        "40/5/5",
        "Expected `--walker` to be T/P/F with the phasing F in [0, P-1] = [0, 4], actual: '40/5/5'",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_SPECS, ids=[t for t, _ in BAD_SPECS])
def test_bad_walker_spec(text, message):
    with pytest.raises(InputError) as caught:
        parse_walker_spec(text)
    assert str(caught.value) == message
    assert caught.value.field == "--walker"


# --- walker_constellation argument checks ----------------------------------------------------

GOOD = {"altitude_m": 550e3, "inclination_deg": 53.0}
BAD_ARGUMENTS = [
    (
        (40, 6, 1),
        {},
        "Expected `walker` to be T/P/F with the total T divisible by the number of "
        "planes P, actual: '40/6/1'. 40 satellites do not split evenly into 6 planes",
    ),
    (
        (40, 5, 5),
        {},
        "Expected `walker` to be T/P/F with the phasing F in [0, P-1] = [0, 4], actual: '40/5/5'",
    ),
    (
        (40.0, 5, 1),
        {},
        "Expected `walker` to be T/P/F: total satellites / planes / phasing as "
        "whole numbers, such as 40/5/1, actual: '40.0/5/1'",
    ),
    (
        (40, 5, 1),
        {"altitude_m": 100e3},
        "Expected `altitude_m` to be a number of metres in [160000, 50000000], actual: 100000.0",
    ),
    (
        (40, 5, 1),
        {"altitude_m": float("nan")},
        "Expected `altitude_m` to be a number of metres in [160000, 50000000], actual: nan",
    ),
    (
        (40, 5, 1),
        {"inclination_deg": 181.0},
        "Expected `inclination_deg` to be a number of degrees in [0, 180], actual: 181.0",
    ),
    (
        (40, 5, 1),
        {"inclination_deg": "53"},
        "Expected `inclination_deg` to be a number of degrees in [0, 180], actual: '53'",
    ),
    (
        (40, 5, 1),
        {"pattern": "rosette"},
        "Expected `pattern` to be one of 'delta', 'star', actual: 'rosette'",
    ),
]


@pytest.mark.parametrize(("numbers", "change", "message"), BAD_ARGUMENTS)
def test_bad_walker_arguments(numbers, change, message):
    with pytest.raises(InputError) as caught:
        walker_constellation(*numbers, **{**GOOD, **change})
    assert str(caught.value) == message
