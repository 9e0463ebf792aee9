"""CLI option helpers shared by `contacts` and `timeline`: values -> library objects, or errors
that name the option."""

from __future__ import annotations

import json
import math

import pytest
import typer
from typer.testing import CliRunner

from orbitlearn.cli._space_options import (
    AltitudeKmOption,
    DaysOption,
    DurationSOption,
    InclinationDegOption,
    NetworkOption,
    OmmOption,
    PatternOption,
    StartOption,
    StationOption,
    TleOption,
    WalkerOption,
    constellation_from_options,
    default_start_unix_s,
    duration_from_options,
    start_from_options,
    stations_from_options,
)
from orbitlearn.errors import ElementSetError, InputError
from orbitlearn.space.timescale import parse_utc_iso
from orbitlearn.space.walker import walker_constellation

L1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
L2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
JAN_2026 = parse_utc_iso("2026-01-01T00:00:00Z")


@pytest.fixture
def tle_path(tmp_path):
    path = tmp_path / "iss.tle"
    path.write_text(f"ISS (ZARYA)\n{L1}\n{L2}\n")
    return path


def options(**given):
    values = {
        "tle": None,
        "omm": None,
        "walker": None,
        "altitude_km": None,
        "inclination_deg": None,
        "pattern": "delta",
    }
    values.update(given)
    return values


# --- constellation ---------------------------------------------------------------------------


def test_walker_shell(tle_path):
    sats = constellation_from_options(
        **options(walker="40/5/1", altitude_km=500.0, inclination_deg=80.0, pattern="star")
    )
    assert len(sats) == 40
    assert sats.source == "Walker-star 40/5/1, 500 km, 80 deg"


def test_tle_and_omm_files(tle_path, tmp_path):
    assert constellation_from_options(**options(tle=tle_path)).names == ("ISS (ZARYA)",)
    omm_path = tmp_path / "iss.json"
    omm_path.write_text(
        json.dumps(
            {
                "OBJECT_NAME": "ISS (ZARYA)",
                "NORAD_CAT_ID": 25544,
                "EPOCH": "2008-09-20T12:25:40.104192",
                "MEAN_MOTION": 15.72125391,
                "ECCENTRICITY": 0.0006703,
                "INCLINATION": 51.6416,
                "RA_OF_ASC_NODE": 247.4627,
                "ARG_OF_PERICENTER": 130.536,
                "MEAN_ANOMALY": 325.0288,
                "BSTAR": -1.1606e-05,
                "MEAN_MOTION_DOT": -2.182e-05,
                "MEAN_MOTION_DDOT": 0,
            }
        )
    )
    assert constellation_from_options(**options(omm=omm_path)).catalog_numbers == ("25544",)


def test_real_tle_file(shared_data):
    sats = constellation_from_options(**options(tle=shared_data / "tle" / "iridium.txt"))
    assert len(sats) == 30


SOURCE_HINT = (
    "Give --tle PATH, --omm PATH, or --walker T/P/F with --altitude-km and --inclination-deg"
)
BAD_CONSTELLATION = [
    pytest.param(
        {},
        "Expected `--tle / --omm / --walker` to be exactly one constellation source, actual: "
        f"none given. {SOURCE_HINT}",
        id="no-source",
    ),
    pytest.param(
        {"tle": "TLE", "walker": "40/5/1", "altitude_km": 500.0, "inclination_deg": 80.0},
        "Expected `--tle / --omm / --walker` to be exactly one constellation source, actual: "
        f"--tle and --walker. {SOURCE_HINT}",
        id="two-sources",
    ),
    pytest.param(
        {"walker": "40/5/1"},
        "Expected `--altitude-km` to be given with --walker, actual: not given. A Walker shell "
        "needs --altitude-km and --inclination-deg, e.g. --walker 40/5/1 --altitude-km 550 "
        "--inclination-deg 53",
        id="walker-without-altitude",
    ),
    pytest.param(
        {"walker": "40/5/1", "altitude_km": 500.0},
        "Expected `--inclination-deg` to be given with --walker, actual: not given. A Walker "
        "shell needs --inclination-deg, e.g. --walker 40/5/1 --altitude-km 550 "
        "--inclination-deg 53",
        id="walker-without-inclination",
    ),
    pytest.param(
        {"tle": "TLE", "altitude_km": 550.0},
        "Expected `--altitude-km` to be given only with --walker, actual: 550.0. --tle reads the "
        "orbits from the file",
        id="altitude-without-walker",
    ),
    pytest.param(
        {"tle": "TLE", "inclination_deg": 53.0},
        "Expected `--inclination-deg` to be given only with --walker, actual: 53.0. --tle reads "
        "the orbits from the file",
        id="inclination-without-walker",
    ),
    pytest.param(
        {"tle": "TLE", "pattern": "star"},
        "Expected `--pattern` to be given only with --walker, actual: 'star'. --tle reads the "
        "orbits from the file",
        id="pattern-without-walker",
    ),
    pytest.param(
        {"walker": "40/6/1", "altitude_km": 500.0, "inclination_deg": 80.0},
        "Expected `--walker` to be T/P/F with the total T divisible by the number of planes P, "
        "actual: '40/6/1'. 40 satellites do not split evenly into 6 planes",
        id="bad-walker",
    ),
    pytest.param(
        {"walker": "40/5/1", "altitude_km": 100.0, "inclination_deg": 80.0},
        "Expected `--altitude-km` to be a number of km in [160, 50000], actual: 100.0",
        id="altitude-low",
    ),
    pytest.param(
        {"walker": "40/5/1", "altitude_km": math.inf, "inclination_deg": 80.0},
        "Expected `--altitude-km` to be a number of km in [160, 50000], actual: inf",
        id="altitude-inf",
    ),
    pytest.param(
        {"walker": "40/5/1", "altitude_km": 500.0, "inclination_deg": -1.0},
        "Expected `--inclination-deg` to be a number of degrees in [0, 180], actual: -1.0",
        id="inclination-negative",
    ),
    pytest.param(
        {"walker": "40/5/1", "altitude_km": 500.0, "inclination_deg": 80.0, "pattern": "rosette"},
        "Expected `--pattern` to be one of delta, star, actual: 'rosette'",
        id="pattern-unknown",
    ),
]


@pytest.mark.parametrize(("given", "message"), BAD_CONSTELLATION)
def test_bad_constellation_options(tle_path, given, message):
    if given.get("tle") == "TLE":
        given = {**given, "tle": tle_path}
    with pytest.raises(InputError) as caught:
        constellation_from_options(**options(**given))
    assert str(caught.value) == message


def test_missing_tle_file_is_an_element_set_error(tmp_path):
    with pytest.raises(ElementSetError) as caught:
        constellation_from_options(**options(tle=tmp_path / "missing.tle"))
    assert str(caught.value) == f"{tmp_path / 'missing.tle'}: file not found; expected a TLE file"


# --- stations --------------------------------------------------------------------------------


def test_stations():
    stations = stations_from_options(["Bremen=53.1,8.8"], ["dsn"])
    assert [s.name for s in stations] == ["Bremen", "Goldstone", "Madrid", "Canberra"]
    assert stations_from_options(None, None, required=False) == ()


def test_at_least_one_station():
    with pytest.raises(InputError) as caught:
        stations_from_options([], None)
    assert str(caught.value) == (
        "Expected `--station / --network` to be given at least once, actual: none given. Add "
        "--station NAME=LAT,LON[,ALT_M] (e.g. --station Bremen=53.1,8.8) or --network NAME (one "
        "of bremen, commercial, dsn, polar, rolla)"
    )


# --- time span -------------------------------------------------------------------------------


def test_default_start(tle_path):
    iss = constellation_from_options(**options(tle=tle_path))
    assert default_start_unix_s(iss, walker=False) == pytest.approx(
        parse_utc_iso("2008-09-20T12:25:40.104192Z"), abs=1e-3
    )
    shell = walker_constellation(4, 2, 1, altitude_m=550e3, inclination_deg=53.0)
    assert default_start_unix_s(shell, walker=True) == JAN_2026


def test_default_start_is_the_latest_epoch(shared_data):
    sats = constellation_from_options(**options(tle=shared_data / "tle" / "oneweb.txt"))
    assert default_start_unix_s(sats, walker=False) == sats.epochs_unix_s.max()
    assert sats.epochs_unix_s.min() < sats.epochs_unix_s.max()


def test_start_option(tle_path):
    shell = walker_constellation(4, 2, 1, altitude_m=550e3, inclination_deg=53.0)
    assert start_from_options(None, shell, True) == JAN_2026
    assert start_from_options("2026-02-01", shell, True) == parse_utc_iso("2026-02-01")
    with pytest.raises(InputError) as caught:
        start_from_options("soon", shell, True)
    assert str(caught.value) == (
        "Expected `--start` to be an ISO 8601 UTC time such as 2026-01-01T00:00:00Z or "
        "2026-01-01, actual: 'soon'"
    )


@pytest.mark.parametrize(
    ("days", "duration_s", "expected_s"),
    [
        (None, None, 86_400.0),
        (1.5, None, 129_600.0),
        (None, 600.0, 600.0),
        (366, None, 366 * 86_400.0),
    ],
)
def test_duration(days, duration_s, expected_s):
    assert duration_from_options(days, duration_s) == expected_s


BAD_DURATIONS = [
    (
        1.0,
        60.0,
        "Expected `--days / --duration-s` to be one of them, not both, actual: --days 1 and --duration-s 60",
    ),
    (0.0, None, "Expected `--days` to be a number of days in (0, 366], actual: 0.0"),
    (-2.0, None, "Expected `--days` to be a number of days in (0, 366], actual: -2.0"),
    (367.0, None, "Expected `--days` to be a number of days in (0, 366], actual: 367.0"),
    (math.nan, None, "Expected `--days` to be a number of days in (0, 366], actual: nan"),
    (
        None,
        -1.0,
        "Expected `--duration-s` to be a number of seconds in (0, 31622400] (366 days), actual: -1.0",
    ),
    (
        None,
        math.inf,
        "Expected `--duration-s` to be a number of seconds in (0, 31622400] (366 days), actual: inf",
    ),
]


@pytest.mark.parametrize(("days", "duration_s", "message"), BAD_DURATIONS)
def test_bad_duration(days, duration_s, message):
    with pytest.raises(InputError) as caught:
        duration_from_options(days, duration_s)
    assert str(caught.value) == message


# --- the Annotated options parse as documented -----------------------------------------------


def test_annotated_options_in_a_command(tle_path):
    app = typer.Typer()
    seen = {}

    @app.command()
    def probe(
        tle: TleOption = None,
        omm: OmmOption = None,
        walker: WalkerOption = None,
        altitude_km: AltitudeKmOption = None,
        inclination_deg: InclinationDegOption = None,
        pattern: PatternOption = "delta",
        station: StationOption = None,
        network: NetworkOption = None,
        start: StartOption = None,
        days: DaysOption = None,
        duration_s: DurationSOption = None,
    ) -> None:
        seen.update(locals())

    @app.command()
    def other() -> None:  # a second command keeps `probe` a named subcommand
        pass

    argv = ["probe", "--walker", "40/5/1", "--altitude-km", "500", "--inclination-deg", "80"]
    argv += ["--station", "A=1,2", "--station", "B=3,4", "--network", "polar", "--days", "2"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert seen["walker"] == "40/5/1" and seen["altitude_km"] == 500.0
    assert seen["station"] == ["A=1,2", "B=3,4"] and seen["network"] == ["polar"]
    assert seen["days"] == 2.0 and seen["pattern"] == "delta" and seen["tle"] is None
    stations = stations_from_options(seen["station"], seen["network"])
    assert [s.name for s in stations] == ["A", "B", "Svalbard", "Troll"]
