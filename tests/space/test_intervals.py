"""Interval and contact tables: selection, combination and output formats."""

from __future__ import annotations

import json

import numpy as np
import pytest

from orbitlearn.errors import InputError
from orbitlearn.space.intervals import ContactTable, IntervalTable, format_utc_iso_array
from orbitlearn.space.timescale import format_utc_iso

SATS = ("sat-a", "sat-b", "sat-c")
T0 = 1_767_225_600.0


def _ground() -> ContactTable:
    return ContactTable.ground(
        satellite=[2, 0, 1],
        station=[0, 1, 0],
        start_unix_s=[T0 + 300, T0 + 100, T0 + 200],
        end_unix_s=[T0 + 700.25, T0 + 400, T0 + 500],
        max_elevation_deg=[45.0, 12.5, 80.1234],
        peak_unix_s=[T0 + 500, T0 + 250, T0 + 350],
        min_range_m=[800_123.4, 1_500_000.0, 560_000.0],
        satellite_names=SATS,
        station_names=("Svalbard", "Troll"),
        start_clipped=[False, True, False],
    )


def _links() -> ContactTable:
    return ContactTable.links(
        satellite=[0, 1],
        peer=[2, 2],
        start_unix_s=[T0, T0 + 50],
        end_unix_s=[T0 + 1000, T0 + 60],
        peak_unix_s=[T0 + 500, T0 + 55],
        min_range_m=[1_000_000.0, 4_000_000.0],
        satellite_names=SATS,
        end_clipped=[True, False],
    )


def test_vectorised_iso_times_equal_format_utc_iso() -> None:
    rng = np.random.default_rng(3)
    times = np.concatenate(
        [
            T0 + rng.uniform(-1e9, 1e9, 2000),
            T0 + np.array([0.0, 0.0004999, 0.0005, 0.9995, -0.0005]),
        ]
    )
    assert format_utc_iso_array(times).tolist() == [format_utc_iso(t) for t in times]


def test_records_carry_names_iso_times_and_kilometres() -> None:
    records = _ground().sorted().to_records()
    assert [r["satellite"] for r in records] == ["sat-a", "sat-b", "sat-c"]
    assert records[0] == {
        "kind": "ground",
        "satellite": "sat-a",
        "station": "Troll",
        "start": "2026-01-01T00:01:40.000Z",
        "end": "2026-01-01T00:06:40.000Z",
        "duration_s": 300.0,
        "max_elevation_deg": 12.5,
        "min_range_km": 1500.0,
        "start_clipped": True,
        "end_clipped": False,
    }
    assert records[2]["duration_s"] == 400.25 and records[2]["min_range_km"] == 800.123
    json.dumps(records)  # plain Python values only


def test_link_records_name_the_peer_and_have_no_station() -> None:
    records = _links().to_records()
    assert records[0]["kind"] == "isl" and records[0]["peer"] == "sat-c"
    assert "station" not in records[0] and "max_elevation_deg" not in records[0]
    assert records[0]["end_clipped"] is True


def test_sort_filter_and_select_by_satellite() -> None:
    table = _ground()
    assert table.sorted().start_unix_s.tolist() == [T0 + 100, T0 + 200, T0 + 300]
    assert table.sorted(("station", "start_unix_s")).station.tolist() == [0, 0, 1]
    assert len(table.filter(table.max_elevation_deg > 20)) == 2
    assert table.for_satellites("sat-c").satellite.tolist() == [2]
    assert table.for_satellites([0, 1]).satellite.tolist() == [0, 1]
    assert table.for_stations("Svalbard").station.tolist() == [0, 0]
    links = _links()
    assert len(links.for_satellites("sat-c")) == 2  # a link involves both ends
    assert table.duration_s.tolist() == [400.25, 300.0, 300.0]


def test_concat_merges_station_lists_by_name() -> None:
    other = ContactTable.ground(
        [0], [0], [T0], [T0 + 10], [11.0], [T0 + 5], [2e6], SATS, ("Troll",)
    )
    both = ContactTable.concat([_ground(), other, _links()])
    assert len(both) == 6
    assert both.station_names == ("Svalbard", "Troll")
    assert both.station.tolist() == [0, 1, 0, 1, -1, -1]
    assert both.is_link.tolist() == [False, False, False, False, True, True]


def test_generic_table_and_arrow_round_trip() -> None:
    import pyarrow as pa

    generic = IntervalTable.from_arrays([1, 0], [T0 + 20, T0], [T0 + 30, T0 + 5], ("a", "b"))
    assert generic.to_records()[0]["kind"] == "interval"
    arrow = _ground().to_arrow()
    assert arrow.num_rows == 3
    assert arrow.schema.field("start").type == pa.timestamp("us", tz="UTC")
    assert arrow.column("station").to_pylist() == ["Svalbard", "Troll", "Svalbard"]
    np.testing.assert_array_equal(arrow.column("start_unix_s").to_numpy(), _ground().start_unix_s)
    assert arrow.schema.metadata[b"orbitlearn.kind"] == b"contact"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: t.sorted(("nope",)), "Expected `by` to be one of the columns"),
        (lambda t: t.for_satellites("sat-z"), "Expected `satellite` to be the name of a satellite"),
        (lambda t: t.for_stations("Mars"), "Expected `station` to be one of ['Svalbard', 'Troll']"),
        (lambda t: t.filter([True]), "Expected `mask` to be shape (3,)"),
        (lambda t: ContactTable.concat([]), "Expected `tables` to be at least one table"),
    ],
)
def test_bad_selections_are_rejected(call, message: str) -> None:
    with pytest.raises(InputError) as caught:
        call(_ground())
    assert str(caught.value).startswith(message)


def test_columns_must_have_one_row_per_window() -> None:
    with pytest.raises(ValueError, match="1-D array of 2 rows"):
        IntervalTable(
            satellite=np.array([0, 1]),
            start_unix_s=np.array([0.0]),
            end_unix_s=np.array([1.0, 2.0]),
            start_clipped=np.zeros(2, bool),
            end_clipped=np.zeros(2, bool),
            satellite_names=("a", "b"),
        )
