"""Shadow fraction, eclipse intervals and fractions, and the beta angle, against authorities.

Oracles:
* skyfield + DE421 + its own sgp4 satellite positions (GCRS): the umbra and penumbra edges are
  computed in this file from skyfield's vectors with the conical-shadow definition (apparent
  radii of the Sun and the Earth and their separation, seen from the satellite) and located with
  skyfield's ``find_discrete``; skyfield's ``is_sunlit`` (the Sun's *centre* behind a sphere of
  radius 6378.1366 km) is compared where it applies: its edges fall inside the penumbra, close to
  its middle, and its time share in shadow equals ours;
* the published cylindrical-shadow eclipse fractions at 550 km by beta angle
  (../shared/REFERENCE.md, "Orbits, contacts, light time");
* numerical integration of the overlap of two discs.
"""

from __future__ import annotations

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec
from skyfield.api import EarthSatellite, load, load_file
from skyfield.searchlib import find_discrete

from orbitlearn.errors import InputError
from orbitlearn.space import eclipse
from orbitlearn.space.constellation import Constellation
from orbitlearn.space.eclipse import (
    EARTH_RADIUS_M,
    SUN_RADIUS_M,
    EclipseState,
    beta_angle_deg,
    constellation_beta_angle_deg,
    eclipse_fraction,
    eclipse_intervals,
    eclipse_state,
    shadow_fraction,
)
from orbitlearn.space.ephemeris import sun_position_teme_m
from orbitlearn.space.propagation import propagate_teme
from orbitlearn.space.timescale import parse_utc_iso, unix_s_to_jd_fr

# Tolerances, in physical units.
five_seconds = 5.0  # the bar for eclipse entry/exit against skyfield
ten_milliseconds = 0.01  # what the edges here achieve against skyfield (measured < 1 ms)
half_a_percentage_point = 0.005  # eclipse fraction against skyfield
three_tenths_of_a_percentage_point = 0.003  # against the published table (rounded to 0.001)
a_thousandth_of_a_degree = 1e-3
two_milliseconds = 2e-3

START = parse_utc_iso("2026-03-01T00:00:00Z")
DAY_S = 86_400.0
# Mean Earth gravitational parameter for the Kepler period of the analytic orbits
# (IERS Conventions 2010, table 1.1).
GM_EARTH_M3_S2 = 3.986004418e14
ALTITUDE_550_KM_M = 550e3
SSO_INCLINATION_DEG = 97.59  # 550 km sun-synchronous (REFERENCE.md)


@pytest.fixture(scope="module")
def ts():
    return load.timescale(builtin=True)


@pytest.fixture(scope="module")
def eph():
    from orbitlearn.space.offline_data import de421_path

    return load_file(str(de421_path()))


def circular_satrec(
    inclination_deg: float, raan_deg: float, mean_anomaly_deg: float, satnum: int
) -> Satrec:
    """A near-circular 550 km element set at START (WGS72 constants, as sgp4 uses)."""
    mu_km3_s2, radius_km = 398_600.8, 6378.135
    semi_major_axis_km = radius_km + ALTITUDE_550_KM_M / 1e3
    mean_motion_rad_min = np.sqrt(mu_km3_s2 / semi_major_axis_km**3) * 60.0
    jd, fr = unix_s_to_jd_fr(START)
    satrec = Satrec()
    satrec.sgp4init(
        WGS72,
        "i",
        satnum,
        float(jd + fr) - 2433281.5,
        0.0,  # bstar: no drag, so skyfield and orbitlearn propagate the same orbit
        0.0,
        0.0,
        0.0001,
        0.0,
        np.radians(inclination_deg),
        np.radians(mean_anomaly_deg),
        mean_motion_rad_min,
        np.radians(raan_deg % 360.0),
    )
    return satrec


def sso_constellation(local_times_h: list[float]) -> Constellation:
    """550 km sun-synchronous satellites at the given local times of the ascending node."""
    sun = sun_position_teme_m(START)
    sun_right_ascension_deg = np.degrees(np.arctan2(sun[1], sun[0]))
    satrecs = [
        circular_satrec(
            SSO_INCLINATION_DEG, sun_right_ascension_deg + 15.0 * (ltan - 12.0), 40.0 * k, k + 1
        )
        for k, ltan in enumerate(local_times_h)
    ]
    return Constellation.from_satrecs(satrecs, [f"sso-{t:g}h" for t in local_times_h])


def skyfield_time(ts, unix_s):
    days = np.floor(np.asarray(unix_s) / DAY_S)
    return ts.utc(1970, 1, 1 + days, 0, 0, np.asarray(unix_s) - days * DAY_S)


def _utc_of(t) -> np.ndarray:
    """skyfield Time (array) -> POSIX seconds, through its UTC datetimes (microseconds)."""
    return np.array([moment.timestamp() for moment in np.atleast_1d(t.utc_datetime())])


def skyfield_shadow_state(satellite: EarthSatellite, eph):
    """0 sunlit, 1 penumbra, 2 umbra, from skyfield vectors and the conical-shadow definition."""
    earth, sun = eph["earth"], eph["sun"]

    def state(t):
        r = satellite.at(t).xyz.m  # GCRS, (3, n)
        s = (sun - earth).at(t).xyz.m
        to_sun, to_earth = s - r, -r
        d = np.linalg.norm(to_sun, axis=0)
        rn = np.linalg.norm(r, axis=0)
        a = np.arcsin(SUN_RADIUS_M / d)
        b = np.arcsin(EARTH_RADIUS_M / rn)
        cross = np.linalg.norm(np.cross(to_sun, to_earth, axis=0), axis=0)
        c = np.arctan2(cross, np.sum(to_sun * to_earth, axis=0))
        return (c < a + b).astype(int) + (c < b - a).astype(int)

    state.step_days = 20.0 / DAY_S
    return state


def my_transitions(intervals, satellite: int, start_s: float, end_s: float) -> np.ndarray:
    """Times where the state of ``satellite`` changes (interval boundaries inside the window)."""
    rows = intervals.satellite == satellite
    edges = np.concatenate([intervals.start_unix_s[rows], intervals.end_unix_s[rows]])
    edges = edges[(edges > start_s) & (edges < end_s)]
    edges = np.sort(edges)
    # A penumbra row ends exactly where the umbra row starts: count that boundary once.
    keep = np.diff(edges, prepend=-np.inf) > 1e-9
    return edges[keep]


# --- the shadow fraction itself ------------------------------------------------------------


def test_overlap_of_two_discs_matches_numerical_integration():
    # The Sun's disc (radius a) sampled on a fine grid; the share of its points inside the
    # Earth's disc (radius b, centre c away) is the fraction hidden.
    a, b = 0.0046, 1.17
    offsets = np.linspace(-a, a, 1201)
    x, y = np.meshgrid(offsets, offsets)
    in_sun = x**2 + y**2 <= a**2
    for c in np.linspace(b - a + 1e-6, b + a - 1e-6, 9):
        hidden = in_sun & ((x + c) ** 2 + y**2 <= b**2)
        expected = hidden.sum() / in_sun.sum()
        got = eclipse._overlap_fraction(np.array([a]), np.array([b]), np.array([c]))[0]
        assert abs(got - expected) < 2e-3, (c, got, expected)
    # A small disc entirely inside a large one, and far outside it.
    limits = eclipse._overlap_fraction(
        np.array([a, a, 0.5]), np.array([b, b, 0.1]), np.array([1.0, 1.2, 0.2])
    )
    np.testing.assert_allclose(limits, [1.0, 0.0, 0.04])


def test_shadow_fraction_along_the_anti_sun_line():
    # From the sub-solar side through the shadow: 0, then the penumbra, then 1.
    t = np.array([START])
    sun = sun_position_teme_m(t)[0]
    toward_sun = sun / np.linalg.norm(sun)
    side = np.cross(toward_sun, [0.0, 0.0, 1.0])
    side /= np.linalg.norm(side)
    radius_m = EARTH_RADIUS_M + ALTITUDE_550_KM_M
    angles = np.radians(np.linspace(0.0, 180.0, 3601))
    r = radius_m * (np.cos(angles)[:, None] * toward_sun + np.sin(angles)[:, None] * side)
    fraction = shadow_fraction(r[:, None, :], np.repeat(t, 1))[:, 0]
    assert fraction[0] == 0.0 and fraction[-1] == 1.0
    assert np.all(np.diff(fraction) >= 0.0)
    penumbra = (fraction > 0.0) & (fraction < 1.0)
    # The penumbra spans twice the Sun's angular radius (~0.53 deg) of the satellite's sweep
    # (seen from the satellite the limb moves at the orbital angular rate).
    width_deg = penumbra.sum() * 0.05
    assert 0.4 < width_deg < 0.7
    # With the Sun's centre on the Earth's limb about half the disc is hidden.
    limb = np.arcsin(EARTH_RADIUS_M / radius_m)
    on_limb = np.pi / 2.0 + (np.pi / 2.0 - limb)  # angle from the Sun direction
    r_limb = radius_m * (np.cos(on_limb) * toward_sun + np.sin(on_limb) * side)
    half = shadow_fraction(r_limb[None, :], t)[0]
    assert 0.45 < half < 0.55


def test_shapes_nan_and_state_codes():
    t = START + 60.0 * np.arange(4)
    sun = sun_position_teme_m(t)
    unit = sun / np.linalg.norm(sun, axis=1, keepdims=True)
    r = np.stack([unit * 7e6, -unit * 7e6])  # (2, 4, 3): sunlit, umbra
    r[1, 2] = np.nan
    fraction = shadow_fraction(r, t)
    assert fraction.shape == (2, 4)
    assert np.isnan(fraction[1, 2])
    np.testing.assert_array_equal(fraction[0], 0.0)
    state = eclipse_state(r, t)
    assert state.dtype == np.int8
    assert state.tolist() == [[0, 0, 0, 0], [2, 2, EclipseState.UNKNOWN, 2]]
    # Leading axes of any depth, and a precomputed Sun, give the same answer.
    stacked = shadow_fraction(r[None, None], t, sun_teme_m=sun)
    np.testing.assert_array_equal(stacked[0, 0], fraction)


def test_bad_arguments_are_refused_with_clear_messages():
    t = np.array([START, START + 1.0])
    with pytest.raises(InputError) as raised:
        shadow_fraction(np.zeros((3, 3)), t)
    assert str(raised.value) == (
        "Expected `unix_s` to be a 1-D array of 3 times (one per row of r_teme_m), "
        "actual: 'an array of shape (2,)'"
    )
    with pytest.raises(
        InputError, match=r"Expected `r_teme_m` to be an array of shape \(\.\.\., n_times, 3\)"
    ):
        shadow_fraction(np.zeros((2, 2)), t)
    with pytest.raises(
        InputError,
        match=r"Expected `atmosphere_height_m` to be a number of metres in \[0, 200000\], actual: -1.0",
    ):
        shadow_fraction(np.zeros((2, 3)), t, atmosphere_height_m=-1.0)
    sats = sso_constellation([10.5])
    with pytest.raises(InputError) as raised:
        eclipse_intervals(sats, START, DAY_S, step_s=900.0)
    assert (
        str(raised.value)
        == "Expected `step_s` to be a number of seconds in (0, 300], actual: 900.0"
    )
    with pytest.raises(
        InputError, match=r"Expected `duration_s` to be a number of seconds > 0, actual: -5.0"
    ):
        eclipse_intervals(sats, START, -5.0)


def test_atmosphere_and_oblateness_move_the_edges_the_expected_way():
    sats = sso_constellation([10.5])
    base = eclipse_fraction(sats, START, 6 * 3600.0)
    thick = eclipse_fraction(sats, START, 6 * 3600.0, atmosphere_height_m=50e3)
    flat = eclipse_fraction(sats, START, 6 * 3600.0, oblate=True)
    assert thick.shadow[0] > base.shadow[0]  # a taller Earth casts a longer shadow
    assert flat.shadow[0] < base.shadow[0]  # a polar orbit crosses the shadow of a flatter Earth
    # ...by a few seconds per eclipse (~4 eclipses in 6 h): well under 1 % of the time.
    assert base.shadow[0] - flat.shadow[0] < 0.01


# --- against skyfield ----------------------------------------------------------------------


def test_eclipse_edges_match_skyfield_conical_shadow(ts, eph):
    # 10:30 (long eclipses), 08:00 (shorter ones), 06:30 (none on these days, on both sides).
    sats = sso_constellation([10.5, 8.0, 6.5])
    end = START + DAY_S
    intervals = eclipse_intervals(sats, START, DAY_S, step_s=30.0)
    worst = 0.0
    for index, satrec in enumerate(sats.satrecs):
        satellite = EarthSatellite.from_satrec(satrec, ts)
        times, _ = find_discrete(
            skyfield_time(ts, START), skyfield_time(ts, end), skyfield_shadow_state(satellite, eph)
        )
        sky = _utc_of(times)
        mine = my_transitions(intervals, index, START, end)
        assert (len(sky) > 20) == (index < 2)
        assert len(mine) == len(sky)
        if len(sky):
            worst = max(worst, float(np.max(np.abs(mine - sky))))
    assert worst < five_seconds
    assert worst < ten_milliseconds


def test_skyfield_is_sunlit_edges_fall_in_the_middle_of_our_penumbra(ts, eph):
    sats = sso_constellation([10.5])
    satellite = EarthSatellite.from_satrec(sats.satrecs[0], ts)
    end = START + DAY_S

    def sunlit(t):
        return satellite.at(t).is_sunlit(eph)

    sunlit.step_days = 20.0 / DAY_S
    times, _ = find_discrete(skyfield_time(ts, START), skyfield_time(ts, end), sunlit)
    sky = _utc_of(times)
    intervals = eclipse_intervals(sats, START, DAY_S)
    penumbra = ~intervals.umbra
    starts, ends = intervals.start_unix_s[penumbra], intervals.end_unix_s[penumbra]
    assert len(sky) == len(starts) > 20
    middles = 0.5 * (starts + ends)
    # Each skyfield edge is the middle of one of our penumbrae (the Sun's centre on the limb).
    nearest = np.abs(sky[:, None] - middles[None, :]).min(axis=1)
    assert np.max(nearest) < five_seconds
    assert np.max(nearest) < 5.0 * ten_milliseconds  # measured ~1 ms


def test_eclipse_fraction_of_sun_synchronous_orbits_matches_skyfield(ts, eph):
    # 10:30 and 13:30 (deep eclipses) and 06:30 (near the terminator) local times of the
    # ascending node, three days, skyfield sampled every 20 s (sampling error ~0.02 points).
    sats = sso_constellation([10.5, 13.5, 6.5])
    duration_s = 3 * DAY_S
    fractions = eclipse_fraction(sats, START, duration_s)
    sample = START + 20.0 * np.arange(int(duration_s / 20.0))
    t = skyfield_time(ts, sample)
    for index, satrec in enumerate(sats.satrecs):
        satellite = EarthSatellite.from_satrec(satrec, ts)
        skyfield_dark = 1.0 - np.mean(satellite.at(t).is_sunlit(eph))
        assert abs(fractions.shadow[index] - skyfield_dark) < half_a_percentage_point
        assert abs(fractions.umbra[index] - skyfield_dark) < half_a_percentage_point
        assert abs(fractions.umbra[index] + fractions.penumbra[index] - skyfield_dark) < (
            half_a_percentage_point
        )
    assert fractions.umbra[0] > 0.3 and fractions.umbra[2] < 0.1


def test_beta_angle_matches_skyfield_vectors(ts, eph):
    sats = sso_constellation([10.5, 6.5])
    times = START + 3600.0 * np.arange(24)
    got = constellation_beta_angle_deg(sats, times)
    t = skyfield_time(ts, times)
    sun = (eph["sun"] - eph["earth"]).at(t).xyz.m
    for index, satrec in enumerate(sats.satrecs):
        position = EarthSatellite.from_satrec(satrec, ts).at(t)
        normal = np.cross(position.xyz.m, position.velocity.m_per_s, axis=0)
        sin_beta = (
            np.sum(normal * sun, axis=0)
            / np.linalg.norm(normal, axis=0)
            / np.linalg.norm(sun, axis=0)
        )
        expected = np.degrees(np.arcsin(sin_beta))
        assert np.max(np.abs(got[index] - expected)) < a_thousandth_of_a_degree


# --- against the published table -----------------------------------------------------------


@pytest.mark.parametrize(
    ("beta_deg", "published_fraction"),
    # ../shared/REFERENCE.md: eclipse fraction (cylindrical shadow) at 550 km by beta angle.
    [(0.0, 0.372), (30.0, 0.351), (45.0, 0.314), (60.0, 0.215), (70.0, 0.0), (80.0, 0.0)],
)
def test_eclipse_fraction_by_beta_angle_matches_published_table(beta_deg, published_fraction):
    # An analytic circular 550 km orbit whose plane sits beta_deg from a fixed Sun direction
    # (the table's assumption), sampled every second over one period.
    radius_m = EARTH_RADIUS_M + ALTITUDE_550_KM_M
    period_s = 2.0 * np.pi * np.sqrt(radius_m**3 / GM_EARTH_M3_S2)
    times = START + np.arange(0.0, period_s, 1.0)
    sun = np.repeat(sun_position_teme_m(np.array([START])), len(times), axis=0)
    s = sun[0] / np.linalg.norm(sun[0])
    k = np.cross(s, [0.0, 0.0, 1.0])
    k /= np.linalg.norm(k)
    beta = np.radians(beta_deg)
    normal = np.sin(beta) * s + np.cos(beta) * k
    u = np.cross(normal, s)
    u /= np.linalg.norm(u)
    w = np.cross(normal, u)
    phase = 2.0 * np.pi * (times - START) / period_s
    r = radius_m * (np.cos(phase)[:, None] * u + np.sin(phase)[:, None] * w)
    v = (
        radius_m
        * 2.0
        * np.pi
        / period_s
        * (-np.sin(phase)[:, None] * u + np.cos(phase)[:, None] * w)
    )
    fraction = shadow_fraction(r[None], times, sun_teme_m=sun)[0]
    assert abs(fraction.mean() - published_fraction) < three_tenths_of_a_percentage_point
    np.testing.assert_allclose(
        beta_angle_deg(r[None], v[None], times, sun_teme_m=sun)[0], beta_deg, atol=1e-9
    )


def test_year_mean_eclipse_fraction_matches_published_values():
    # REFERENCE.md, year means at 550 km: SSO 10:30 LTAN 0.364, 53 deg 0.312, dawn-dusk 0.05.
    # One orbit (96 min at 10 s) every fifth day for a year; the 53 deg figure averages four
    # planes 90 deg apart (their node drifts against the Sun with a ~2-month period).
    sso = sso_constellation([10.5, 6.0])
    sun = sun_position_teme_m(START)
    sun_right_ascension_deg = np.degrees(np.arctan2(sun[1], sun[0]))
    inclined = [
        circular_satrec(53.0, sun_right_ascension_deg + raan, 0.0, 10 + k)
        for k, raan in enumerate((0.0, 90.0, 180.0, 270.0))
    ]
    sats = Constellation.from_satrecs([*sso.satrecs, *inclined])
    days = START + DAY_S * np.arange(0.0, 365.0, 5.0)
    times = (days[:, None] + np.arange(0.0, 5760.0, 10.0)[None, :]).ravel()
    r, _, _ = propagate_teme(sats, times)
    mean = shadow_fraction(r, times).mean(axis=1)
    assert abs(mean[0] - 0.364) < half_a_percentage_point
    assert abs(mean[1] - 0.05) < half_a_percentage_point
    assert abs(mean[2:].mean() - 0.312) < half_a_percentage_point


# --- interval bookkeeping ----------------------------------------------------------------


def test_intervals_are_disjoint_ordered_and_nested_in_the_right_order():
    sats = sso_constellation([10.5, 13.5])
    intervals = eclipse_intervals(sats, START, DAY_S)
    for index in range(2):
        rows = intervals.satellite == index
        kinds = intervals.shadow[rows].tolist()
        starts, ends = intervals.start_unix_s[rows], intervals.end_unix_s[rows]
        assert np.all(ends > starts)
        assert np.all(starts[1:] >= ends[:-1] - 1e-9)  # no overlap
        # Each eclipse reads penumbra, umbra, penumbra (window clipping aside).
        assert "".join("p" if k == "penumbra" else "u" for k in kinds).replace("pup", "") == ""
        umbra = np.array(kinds) == "umbra"
        assert 2000.0 < np.mean((ends - starts)[umbra]) < 2200.0  # ~35 min at 550 km
        assert 7.0 < np.mean((ends - starts)[~umbra]) < 12.0  # ~9 s penumbra


def test_window_starting_in_umbra_is_clipped_and_edges_do_not_depend_on_the_step():
    sats = sso_constellation([10.5])
    coarse = eclipse_intervals(sats, START, DAY_S, step_s=60.0)
    umbra = coarse.umbra
    inside_s = float(coarse.start_unix_s[umbra][0]) + 100.0
    clipped = eclipse_intervals(sats, inside_s, 3 * 3600.0)
    assert clipped.umbra[0] and clipped.start_unix_s[0] == inside_s
    first = clipped.to_records()[0]
    assert list(first) == [
        "kind", "satellite", "shadow", "start", "end", "duration_s", "start_clipped", "end_clipped"
    ]  # fmt: skip
    assert (first["kind"], first["satellite"], first["shadow"]) == ("eclipse", "sso-10.5h", "umbra")
    assert clipped.start_clipped.tolist() == [True] + [False] * (len(clipped) - 1)
    assert clipped.end_clipped[-1] == (clipped.end_unix_s[-1] == inside_s + 3 * 3600.0)
    fine = eclipse_intervals(sats, START, DAY_S, step_s=7.0)
    assert len(fine) == len(coarse)
    assert np.max(np.abs(fine.start_unix_s - coarse.start_unix_s)) < two_milliseconds
    assert np.max(np.abs(fine.end_unix_s - coarse.end_unix_s)) < two_milliseconds
    # Grid states agree with the intervals.
    grid = START + 37.0 * np.arange(2000)
    r, _, _ = propagate_teme(sats, grid)
    state = eclipse_state(r, grid)[0]
    in_umbra = np.zeros(grid.shape, bool)
    for s, e in zip(coarse.start_unix_s[umbra], coarse.end_unix_s[umbra], strict=True):
        in_umbra |= (grid > s) & (grid < e)
    assert np.array_equal(state == EclipseState.UMBRA, in_umbra)


def test_an_empty_constellation_has_no_intervals():
    empty = Constellation.from_satrecs([])
    assert len(eclipse_intervals(empty, START, 3600.0)) == 0
    assert eclipse_fraction(empty, START, 3600.0).shadow.shape == (0,)
