"""Light time and distances to the Moon and Mars, ground links, Mars solar conjunctions.

Oracles: skyfield with the same DE421 file (``earth.at(t).observe(body)``, its light-time-
corrected astrometric position, for the light time; ``(body - earth).at(t)`` for geometric
distances and separations; ``(satellite - station).at(t)`` for slant ranges), and the published
ranges in ../shared/REFERENCE.md ("Orbits, contacts, light time").
"""

from __future__ import annotations

import numpy as np
import pytest
from sgp4.api import Satrec
from skyfield.api import EarthSatellite, load, load_file, wgs84
from skyfield.searchlib import find_discrete

from orbitlearn.errors import InputError
from orbitlearn.space import lighttime
from orbitlearn.space.constellation import Constellation
from orbitlearn.space.lighttime import (
    SPEED_OF_LIGHT_M_S,
    earth_mars_distance_m,
    earth_moon_distance_m,
    ground_link_light_time_s,
    light_time_s,
    mars_light_time_s,
    mars_solar_conjunctions,
    moon_light_time_s,
)
from orbitlearn.space.offline_data import de421_path
from orbitlearn.space.propagation import propagate_teme
from orbitlearn.space.stations import GroundStation
from orbitlearn.space.timescale import parse_utc_iso

# Tolerances, in physical units.
one_percent = 0.01  # the bar for Moon and Mars light time against skyfield
one_microsecond = 1e-6  # what is achieved (the same DE421, the same light-time equation)
one_metre = 1.0
ten_metres = 10.0
one_kilometre_of_range_s = 1e3 / SPEED_OF_LIGHT_M_S  # station placement: UT1 = UTC here
one_minute = 60.0
one_hour = 3600.0

DAY_S = 86_400.0
DATES = [f"{year}-{month:02d}-{day:02d}T{hour:02d}:00:00Z" for year, month, day, hour in [
    (2000, 1, 1, 12), (2003, 8, 27, 0), (2008, 5, 5, 6), (2012, 11, 30, 18), (2018, 7, 27, 3),
    (2021, 10, 8, 0), (2026, 1, 9, 12), (2031, 4, 15, 9), (2035, 9, 15, 0), (2042, 2, 2, 21),
    (2047, 6, 30, 15), (2050, 12, 31, 23),
]]  # fmt: skip
UNIX_S = np.array([parse_utc_iso(text) for text in DATES])


@pytest.fixture(scope="module")
def ts():
    return load.timescale(builtin=True)


@pytest.fixture(scope="module")
def eph():
    return load_file(str(de421_path()))


def skyfield_time(ts, unix_s):
    unix_s = np.asarray(unix_s, dtype=np.float64)
    days = np.floor(unix_s / DAY_S)
    return ts.utc(1970, 1, 1 + days, 0, 0, unix_s - days * DAY_S)


def _utc_of(t) -> np.ndarray:
    return np.array([moment.timestamp() for moment in np.atleast_1d(t.utc_datetime())])


@pytest.mark.parametrize(
    ("body", "function"), [("moon", moon_light_time_s), ("mars", mars_light_time_s)]
)
def test_light_time_matches_skyfield_observe(ts, eph, body, function):
    t = skyfield_time(ts, UNIX_S)
    expected_s = eph["earth"].at(t).observe(eph[body]).distance().light_seconds()
    got_s = function(UNIX_S)
    assert np.max(np.abs(got_s / expected_s - 1.0)) < one_percent
    assert np.max(np.abs(got_s - expected_s)) < one_microsecond


@pytest.mark.parametrize("body", ["moon", "mars"])
def test_transmit_light_time_solves_the_light_time_equation(ts, eph, body):
    # Leaving the Earth's centre at t, arriving at the body at t + tau: check with skyfield's
    # barycentric positions at those two instants.
    tau_s = lighttime.body_light_time_s(body, UNIX_S, direction="transmit")
    earth_m = eph["earth"].at(skyfield_time(ts, UNIX_S)).xyz.m
    body_m = eph[body].at(skyfield_time(ts, UNIX_S + tau_s)).xyz.m
    flown_s = np.linalg.norm(body_m - earth_m, axis=0) / SPEED_OF_LIGHT_M_S
    assert np.max(np.abs(flown_s - tau_s)) < one_microsecond
    # Receive and transmit differ by the far end's motion during the flight, the Earth's
    # 30 km/s included: measured <= 2.0e-4 (Moon) and 1.3e-4 (Mars) of the delay, 2000-2050.
    receive_s = lighttime.body_light_time_s(body, UNIX_S, direction="receive")
    assert np.max(np.abs(receive_s / tau_s - 1.0)) < 3e-4


@pytest.mark.parametrize(
    ("body", "function", "tolerance_m"),
    [("moon", earth_moon_distance_m, one_metre), ("mars", earth_mars_distance_m, ten_metres)],
)
def test_geometric_distance_matches_skyfield(ts, eph, body, function, tolerance_m):
    expected_m = (eph[body] - eph["earth"]).at(skyfield_time(ts, UNIX_S)).distance().m
    assert np.max(np.abs(function(UNIX_S) - expected_m)) < tolerance_m


def test_published_light_time_ranges():
    # REFERENCE.md: Moon 1.19-1.36 s one way (mean 1.284 s); Mars 3.5-22.3 min (2025-2035).
    hours = parse_utc_iso("2026-01-01") + 3600.0 * np.arange(24 * 365)
    moon_s = moon_light_time_s(hours)
    assert 1.185 < moon_s.min() < 1.195 and 1.35 < moon_s.max() < 1.365
    assert abs(moon_s.mean() - 1.284) < 0.005
    days = parse_utc_iso("2025-01-01") + DAY_S * np.arange(3653)
    mars_min = mars_light_time_s(days) / 60.0
    assert abs(mars_min.min() - 3.5) < 0.05 and abs(mars_min.max() - 22.3) < 0.1


def test_ground_link_light_time_matches_skyfield_slant_range(ts):
    line1 = "1 25544U 98067A   24001.50000000  .00016717  00000-0  30000-3 0  9005"
    line2 = "2 25544  51.6400 150.0000 0003000 100.0000 260.0000 15.50000000300000"
    satrec = Satrec.twoline2rv(line1, line2)
    station = GroundStation("Bremen", 53.1, 8.8, 10.0)
    times = parse_utc_iso("2024-01-01T12:00:00Z") + 30.0 * np.arange(2880)  # one day
    r_m, _, _ = propagate_teme(Constellation.from_satrecs([satrec]), times)
    got_s = ground_link_light_time_s(r_m, station, times)[0]
    topos = wgs84.latlon(53.1, 8.8, elevation_m=10.0)
    sky_range_m = (EarthSatellite.from_satrec(satrec, ts) - topos).at(skyfield_time(ts, times))
    expected_s = sky_range_m.distance().m / SPEED_OF_LIGHT_M_S
    assert got_s.shape == times.shape
    assert np.max(np.abs(got_s - expected_s)) < one_kilometre_of_range_s


def test_slant_range_at_the_edge_of_a_550_km_pass():
    # REFERENCE.md: at a 10 deg mask a 550 km satellite is at most ~1816 km away (~6 ms).
    earth_radius_m, altitude_m, elevation = 6_378_137.0, 550e3, np.radians(10.0)
    slant_m = np.sqrt(
        (earth_radius_m + altitude_m) ** 2 - (earth_radius_m * np.cos(elevation)) ** 2
    ) - earth_radius_m * np.sin(elevation)
    assert abs(slant_m - 1816e3) < 5e3
    assert abs(float(light_time_s(slant_m)) - 6.06e-3) < 0.01e-3


def test_mars_solar_conjunctions_match_skyfield_geometry(ts, eph):
    start, end = parse_utc_iso("2025-01-01"), parse_utc_iso("2036-01-01")
    found = mars_solar_conjunctions(start, end, max_sep_deg=2.0)

    def within_two_degrees(t):
        sun = (eph["sun"] - eph["earth"]).at(t)
        mars = (eph["mars"] - eph["earth"]).at(t)
        return mars.separation_from(sun).degrees < 2.0

    within_two_degrees.step_days = 1.0
    times, values = find_discrete(
        skyfield_time(ts, start), skyfield_time(ts, end), within_two_degrees
    )
    edges = _utc_of(times)
    assert len(found) == 5 and values.tolist() == [True, False] * 5
    assert np.max(np.abs(found.start_unix_s - edges[0::2])) < one_minute
    assert np.max(np.abs(found.end_unix_s - edges[1::2])) < one_minute
    # Closest approach: known 2026-01-09; every ~26 months (REFERENCE.md); ~2 weeks within 2 deg.
    assert abs(found.closest_unix_s[0] - parse_utc_iso("2026-01-09T10:00:00Z")) < 6 * one_hour
    spacing_months = np.diff(found.closest_unix_s) / (30.44 * DAY_S)
    assert np.all((spacing_months > 24.0) & (spacing_months < 28.0))
    assert np.all((found.duration_s > 8 * DAY_S) & (found.duration_s < 20 * DAY_S))
    assert np.all(found.min_separation_deg < 2.0)


def test_bad_arguments_are_refused():
    with pytest.raises(
        InputError, match=r"Expected `distance_m` to be a distance in metres >= 0, actual: -3.0"
    ):
        light_time_s([1.0, -3.0])
    assert np.isnan(light_time_s(np.nan))  # an sgp4 failure stays data
    with pytest.raises(
        InputError, match="Expected `direction` to be one of 'receive', 'transmit', actual: 'up'"
    ):
        moon_light_time_s(UNIX_S, direction="up")  # type: ignore[arg-type]
    with pytest.raises(
        InputError,
        match=r"Expected `max_sep_deg` to be a number of degrees in \(0, 30\], actual: 45.0",
    ):
        mars_solar_conjunctions(UNIX_S[0], UNIX_S[1], max_sep_deg=45.0)
    with pytest.raises(InputError, match="Expected `end_unix_s` to be a time after start_unix_s"):
        mars_solar_conjunctions(UNIX_S[1], UNIX_S[0])
    with pytest.raises(InputError, match=r"1899-07-29 \.\. 2053-10-09"):
        mars_light_time_s(parse_utc_iso("2060-01-01"))
