"""Sun, Moon and Mars positions, time scales and the GCRS -> TEME rotation, against authorities.

Oracles: skyfield with the same DE421 file (geometric vectors ``(body - earth).at(t)``, its
builtin leap-second table, its TEME frame) and ERFA (IAU-1976 precession, the full 106-term
IAU-1980 nutation, the 1994 equation of the equinoxes).
"""

from __future__ import annotations

import erfa
import numpy as np
import pytest
from skyfield.api import load, load_file
from skyfield.sgp4lib import TEME

from orbitlearn.errors import InputError
from orbitlearn.space import ephemeris, rotations
from orbitlearn.space.offline_data import de421_path
from orbitlearn.space.timescale import parse_utc_iso

# Tolerances, in physical units.
one_milliarcsecond_rad = np.radians(1e-3 / 3600.0)
five_milliarcseconds_rad = 5.0 * one_milliarcsecond_rad
# IAU-1976/1980 (here) vs IAU-2006/2000A (skyfield's TEME): <= 0.06 arcsec over 1950-2053,
# growing to ~0.11 arcsec in 1900 as the two precession models part; 0.15 arcsec is 0.28 km at
# the Moon's distance.
fifteen_hundredths_arcsecond_rad = np.radians(0.15 / 3600.0)
one_metre = 1.0
# TDB - TT: two-term series here, skyfield's fuller series; they differ by tens of microseconds.
fifty_microseconds = 50e-6

# Dates spread over the ephemeris (before 1972 both sides hold TAI - UTC = 10 s).
DATES = [
    "1900-06-01T00:00:00Z",
    "1950-01-01T12:00:00Z",
    "1975-07-15T03:00:00Z",
    "1999-12-31T23:59:59Z",
    "2000-01-01T12:00:00Z",
    "2012-07-01T00:00:00Z",
    "2017-01-01T00:00:00Z",
    "2026-01-01T00:00:00Z",
    "2031-09-17T18:45:00Z",
    "2040-02-29T06:00:00Z",
    "2050-12-31T00:00:00Z",
    "2053-10-01T00:00:00Z",
]
UNIX_S = np.array([parse_utc_iso(text) for text in DATES])


@pytest.fixture(scope="module")
def ts():
    return load.timescale(builtin=True)


@pytest.fixture(scope="module")
def eph():
    return load_file(str(de421_path()))


def skyfield_times(ts, unix_s):
    """POSIX seconds -> skyfield Time (whole UTC days, then seconds of the day)."""
    unix_s = np.asarray(unix_s, dtype=np.float64)
    days = np.floor(unix_s / 86400.0)
    return ts.utc(1970, 1, 1 + days, 0, 0, unix_s - days * 86400.0)


def angle_between_rad(u, v):
    """Angle between vectors along the last axis (atan2 form: exact near 0)."""
    cross = np.linalg.norm(np.cross(u, v), axis=-1)
    return np.arctan2(cross, np.sum(u * v, axis=-1))


# --- time scales -------------------------------------------------------------------------


def test_leap_seconds_match_skyfields_builtin_table(ts):
    # Every leap second from 1972 to 2017, a second before and after it, and a later date.
    starts = rotations._LEAP_STARTS_UNIX_S
    unix_s = np.concatenate([starts - 1.0, starts + 1.0, [parse_utc_iso("2030-01-01")]])
    t = skyfield_times(ts, unix_s)
    skyfield_tai_minus_utc_s = (t.tai - (unix_s / 86400.0 + 2440587.5)) * 86400.0
    np.testing.assert_allclose(
        rotations.tai_minus_utc_s(unix_s), skyfield_tai_minus_utc_s, atol=1e-4
    )
    assert rotations.tai_minus_utc_s(parse_utc_iso("2040-01-01")).item() == 37.0


def test_tdb_matches_skyfield(ts):
    t = skyfield_times(ts, UNIX_S)
    whole, fraction = rotations.unix_s_to_tdb_jd(UNIX_S)
    difference_s = ((whole - t.whole) + (fraction - t.tdb_fraction)) * 86400.0
    assert np.max(np.abs(difference_s)) < fifty_microseconds


def test_nonfinite_time_is_refused():
    with pytest.raises(
        InputError, match=r"Expected `unix_s` to be finite POSIX seconds \(UTC\), actual: nan"
    ):
        rotations.unix_s_to_tt_jd([0.0, np.nan])


# --- GCRS -> TEME ------------------------------------------------------------------------


def test_nutation_matches_erfas_full_series():
    whole, fraction = rotations.unix_s_to_tt_jd(UNIX_S)
    dpsi, deps = rotations.nutation_rad(UNIX_S)
    dpsi_erfa, deps_erfa = erfa.nut80(whole, fraction)
    assert np.max(np.abs(dpsi - dpsi_erfa)) < one_milliarcsecond_rad
    assert np.max(np.abs(deps - deps_erfa)) < one_milliarcsecond_rad


def test_gcrs_to_teme_matches_erfa_iau1976_1980_chain():
    whole, fraction = rotations.unix_s_to_tt_jd(UNIX_S)
    bias, _, _ = erfa.bp00(whole, fraction)
    precession = erfa.pmat76(whole, fraction)
    dpsi, deps = erfa.nut80(whole, fraction)
    nutation = erfa.numat(erfa.obl80(whole, fraction), dpsi, deps)
    eqeq = erfa.eqeq94(whole, fraction)
    c, s = np.cos(eqeq), np.sin(eqeq)
    zero, one = np.zeros_like(c), np.ones_like(c)
    to_mean_equinox = np.stack(
        [np.stack([c, s, zero], -1), np.stack([-s, c, zero], -1), np.stack([zero, zero, one], -1)],
        -2,
    )
    expected = to_mean_equinox @ nutation @ precession @ bias
    got = rotations.gcrs_to_teme_matrix(UNIX_S)
    # Rotation angle between the two frames, from the antisymmetric part of the residual
    # (sin(angle); exact for small angles, unlike the arccos of the trace).
    residual = got @ np.swapaxes(expected, -1, -2)
    axis = np.stack(
        [
            residual[:, 2, 1] - residual[:, 1, 2],
            residual[:, 0, 2] - residual[:, 2, 0],
            residual[:, 1, 0] - residual[:, 0, 1],
        ],
        axis=-1,
    )
    angle = np.arcsin(np.linalg.norm(axis, axis=-1) / 2.0)
    assert np.max(np.abs(got - expected)) < five_milliarcseconds_rad
    assert np.max(angle) < five_milliarcseconds_rad


def test_teme_round_trip():
    vectors = np.random.default_rng(7).normal(size=(4, len(UNIX_S), 3)) * 7e6
    back = rotations.teme_to_gcrs(rotations.gcrs_to_teme(vectors, UNIX_S), UNIX_S)
    np.testing.assert_allclose(back, vectors, rtol=0.0, atol=1e-6)


# --- positions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "function", "distance_tolerance_m"),
    [
        ("sun", ephemeris.sun_position_gcrs_m, 10.0 * one_metre),
        ("moon", ephemeris.moon_position_gcrs_m, one_metre),
        ("mars", ephemeris.mars_position_gcrs_m, 10.0 * one_metre),
    ],
)
def test_gcrs_positions_match_skyfield(ts, eph, body, function, distance_tolerance_m):
    expected = (eph[body] - eph["earth"]).at(skyfield_times(ts, UNIX_S)).xyz.m.T
    got = function(UNIX_S)
    assert got.shape == (len(UNIX_S), 3)
    assert np.max(angle_between_rad(got, expected)) < one_milliarcsecond_rad
    distance_error_m = np.linalg.norm(got, axis=1) - np.linalg.norm(expected, axis=1)
    # Residual: TDB - TT series (tens of microseconds) times the body's geocentric speed.
    assert np.max(np.abs(distance_error_m)) < distance_tolerance_m


@pytest.mark.parametrize(
    ("body", "function"),
    [
        ("sun", ephemeris.sun_position_teme_m),
        ("moon", ephemeris.moon_position_teme_m),
        ("mars", ephemeris.mars_position_teme_m),
    ],
)
def test_teme_positions_match_skyfields_teme_frame(ts, eph, body, function):
    expected = (eph[body] - eph["earth"]).at(skyfield_times(ts, UNIX_S)).frame_xyz(TEME).m.T
    got = function(UNIX_S)
    assert np.max(angle_between_rad(got, expected)) < fifteen_hundredths_arcsecond_rad


def test_sun_distance_stays_within_the_earths_orbit_extremes():
    # Perihelion ~0.9833 AU (early January), aphelion ~1.0167 AU (early July).
    days = parse_utc_iso("2026-01-01") + 86400.0 * np.arange(366)
    distance_au = np.linalg.norm(ephemeris.sun_position_gcrs_m(days), axis=1) / ephemeris.AU_M
    assert 0.9832 < distance_au.min() < 0.9834
    assert 1.0165 < distance_au.max() < 1.0168
    assert np.argmin(distance_au) < 10 and 180 < np.argmax(distance_au) < 190


def test_scalar_time_gives_one_vector():
    assert ephemeris.moon_position_gcrs_m(UNIX_S[0]).shape == (3,)
    assert ephemeris.moon_position_teme_m(UNIX_S[0]).shape == (3,)
    np.testing.assert_array_equal(
        ephemeris.moon_position_teme_m(UNIX_S[0]), ephemeris.moon_position_teme_m(UNIX_S[:1])[0]
    )


def test_time_outside_de421_names_the_time_and_coverage():
    with pytest.raises(InputError) as raised:
        ephemeris.sun_position_teme_m([parse_utc_iso("2026-01-01"), parse_utc_iso("2060-01-01")])
    assert str(raised.value) == (
        "Expected `unix_s` to be a time the DE421 ephemeris covers, 1899-07-29 .. 2053-10-09 "
        "(UTC), actual: '2060-01-01T00:00:00Z'"
    )
    with pytest.raises(InputError, match="actual: '1899-01-01T00:00:00Z'"):
        ephemeris.moon_position_gcrs_m(parse_utc_iso("1899-01-01"))


def test_unknown_body_is_refused():
    with pytest.raises(
        InputError, match="Expected `body` to be one of 'sun', 'moon', 'mars', actual: 'venus'"
    ):
        ephemeris.body_position_gcrs_m("venus", 0.0)  # type: ignore[arg-type]
