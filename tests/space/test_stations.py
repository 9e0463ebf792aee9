"""Ground stations: preset networks, the --station form, and combining them."""

from __future__ import annotations

import pytest

from orbitlearn.errors import InputError
from orbitlearn.space.stations import (
    NETWORKS,
    GroundStation,
    parse_station_spec,
    resolve_stations,
)

ALLOWED = (
    "NAME=LAT,LON[,ALT_M] (latitude in degrees north [-90, 90], longitude in degrees east "
    "[-180, 360], altitude in metres [-500, 10000]) such as Bremen=53.1,8.8"
)


def coordinates(stations):
    return [(s.name, s.latitude_deg, s.longitude_deg) for s in stations]


def test_presets_hold_the_reference_coordinates():
    assert coordinates(NETWORKS["polar"]) == [
        ("Svalbard", 78.2298, 15.4078),
        ("Troll", -72.01, 2.54),
    ]
    assert coordinates(NETWORKS["dsn"]) == [
        ("Goldstone", 35.43, -116.89),
        ("Madrid", 40.43, -4.25),
        ("Canberra", -35.40, 148.98),
    ]
    assert coordinates(NETWORKS["bremen"]) == [("Bremen", 53.1, 8.8)]
    assert coordinates(NETWORKS["rolla"]) == [("Rolla", 37.95, -91.77)]
    commercial = [s.name for s in NETWORKS["commercial"]]
    assert commercial == [
        "Svalbard",
        "Tromso",
        "Fairbanks",
        "Hawaii",
        "Ireland",
        "Stockholm",
        "Cape Town",
        "Dubbo",
        "Punta Arenas",
        "Singapore",
    ]


def test_presets_have_unique_names_and_sea_level_heights():
    for name, stations in NETWORKS.items():
        assert name == name.lower()
        assert len({s.name for s in stations}) == len(stations)
        assert all(s.altitude_m == 0.0 and s.min_elevation_deg is None for s in stations)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bremen=53.1,8.8", GroundStation("Bremen", 53.1, 8.8, 0.0)),
        ("Rolla = 37.95 , -91.77 , 348", GroundStation("Rolla", 37.95, -91.77, 348.0)),
        ("Cape Town=-33.92,18.42,-10.5", GroundStation("Cape Town", -33.92, 18.42, -10.5)),
        ("East=0,359.5", GroundStation("East", 0.0, 359.5, 0.0)),
    ],
)
def test_parse_station_spec(text, expected):
    assert parse_station_spec(text) == expected


BAD_SPECS = [
    ("Bremen", "The '=' between the name and the coordinates is missing"),
    ("53.1,8.8", "The '=' between the name and the coordinates is missing"),
    ("=53.1,8.8", "The name before '=' is empty"),
    ("Bremen=", "Found 0 numbers after '=', expected 2 or 3"),
    ("Bremen=53.1", "Found 1 number after '=', expected 2 or 3"),
    ("Bremen=53.1,8.8,10,4", "Found 4 numbers after '=', expected 2 or 3"),
    ("Bremen=53.1N,8.8E", "The latitude '53.1N' is not a number"),
    ("Bremen=53.1,", "The longitude '' is not a number"),
    ("Bremen=53.1,8.8,high", "The altitude 'high' is not a number"),
    ("Pole=95,0", "The latitude 95 is outside [-90, 90]"),
    ("West=0,-200", "The longitude -200 is outside [-180, 360]"),
    ("Peak=0,0,12000", "The altitude 12000 is outside [-500, 10000]"),
    ("Odd=nan,0", "The latitude nan is outside [-90, 90]"),
]


@pytest.mark.parametrize(("text", "hint"), BAD_SPECS, ids=[t for t, _ in BAD_SPECS])
def test_bad_station_spec_names_option_value_and_rule(text, hint):
    with pytest.raises(InputError) as caught:
        parse_station_spec(text)
    assert str(caught.value) == f"Expected `--station` to be {ALLOWED}, actual: {text!r}. {hint}"


def test_resolve_orders_stations_then_networks_and_merges_identical_copies():
    stations = resolve_stations(["Home=10,20"], ["POLAR", "commercial", "dsn", "polar"])
    names = [s.name for s in stations]
    assert names[:4] == ["Home", "Svalbard", "Troll", "Tromso"]
    assert names.count("Svalbard") == 1
    assert len(stations) == 1 + 2 + 9 + 3
    # The same station given by hand and by a network is one station.
    again = resolve_stations(["Svalbard=78.2298,15.4078"], ["polar"])
    assert [s.name for s in again] == ["Svalbard", "Troll"]


def test_resolve_empty():
    assert resolve_stations([], []) == ()


def test_one_name_for_two_places_is_refused():
    with pytest.raises(InputError) as caught:
        resolve_stations(["Svalbard=78.0,15.0"], ["polar"])
    assert str(caught.value) == (
        "Expected `--station` to be a name used by one station only, actual: 'Svalbard'. "
        "--network polar puts 'Svalbard' at 78.2298,15.4078, but --station Svalbard=78.0,15.0 "
        "puts it at 78,15; rename one of them"
    )
    with pytest.raises(InputError, match="rename one of them"):
        resolve_stations(["A=1,2", "A=1,2,100"], [])


def test_unknown_network_lists_the_known_ones():
    with pytest.raises(InputError) as caught:
        resolve_stations([], ["ksat"])
    assert str(caught.value) == (
        "Expected `--network` to be one of bremen, commercial, dsn, polar, rolla, actual: 'ksat'"
    )
