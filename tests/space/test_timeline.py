"""The mission Timeline: physics through the whole pipeline, bookkeeping, and the Parquet file."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from skyfield.api import EarthSatellite, load, load_file

from orbitlearn.errors import ConfigError, DataError, InputError
from orbitlearn.space.constellation import Constellation
from orbitlearn.space.eclipse import eclipse_intervals
from orbitlearn.space.ephemeris import sun_position_teme_m
from orbitlearn.space.frames import ecef_to_geodetic, teme_to_ecef
from orbitlearn.space.intervals import ContactTable
from orbitlearn.space.propagation import propagate_teme
from orbitlearn.space.radiation import RadiationConfig
from orbitlearn.space.space_weather import SolarParticleEventModel
from orbitlearn.space.stations import GroundStation
from orbitlearn.space.timeline import GRID_COLUMNS, Timeline, _geodetic_from_teme, _propagate_dense
from orbitlearn.space.timescale import parse_utc_iso
from orbitlearn.space.walker import walker_constellation

START = parse_utc_iso("2026-03-01T00:00:00Z")
DAY_S = 86_400.0
SSO_550_INCLINATION_DEG = 97.59  # REFERENCE.md
one_percentage_point = 0.01
half_a_percentage_point = 0.005
one_metre = 1.0
two_metres = 2.0  # quintic Hermite between sgp4 knots ~250 s apart
BREMEN = GroundStation("Bremen", 53.1, 8.8)
SVALBARD = GroundStation("Svalbard", 78.2298, 15.4078)


def sun_right_ascension_deg(unix_s: float) -> float:
    sun = sun_position_teme_m(unix_s)
    return float(np.degrees(np.arctan2(sun[1], sun[0])))


def sso(ltan_h: float, n_sats: int = 1, start: float = START) -> Constellation:
    """550 km sun-synchronous satellites (one plane) with the given local time of the node."""
    raan = sun_right_ascension_deg(start) + 15.0 * (ltan_h - 12.0)
    return walker_constellation(
        n_sats,
        1,
        0,
        altitude_m=550e3,
        inclination_deg=SSO_550_INCLINATION_DEG,
        raan0_deg=raan % 360.0,
        epoch_unix_s=start,
    )


def shell_53(n_sats: int = 4, planes: int = 4, start: float = START) -> Constellation:
    phasing = 1 if planes > 1 else 0
    return walker_constellation(
        n_sats, planes, phasing, altitude_m=550e3, inclination_deg=53.0, epoch_unix_s=start
    )


@pytest.fixture(scope="module")
def day_53() -> Timeline:
    """Eight satellites at 550 km / 53 deg, two stations, one day at 10 s."""
    return Timeline.build(shell_53(8, 4), [BREMEN, SVALBARD], START, DAY_S)


# --- physics through the pipeline ----------------------------------------------------------


def test_year_mean_eclipse_fractions() -> None:
    # REFERENCE.md, 550 km: SSO with 10:30 LTAN 0.364, 53 deg 0.312 (year means). A 5-minute
    # grid over a year; the 53 deg figure averages four planes 90 deg apart.
    sats = Constellation.from_satrecs([*sso(10.5).satrecs, *shell_53(4, 4).satrecs])
    year = Timeline.build(sats, [], START, 365.0 * DAY_S, step_s=300.0, power="3u")
    eclipse = np.array([row["eclipse_fraction"] for row in year.summary()])
    assert abs(eclipse[0] - 0.364) < one_percentage_point
    assert abs(eclipse[1:].mean() - 0.312) < one_percentage_point


def test_day_eclipse_fraction_matches_skyfield() -> None:
    # skyfield propagates the same element sets with its own sgp4 and DE421 Sun, sampled on the
    # timeline's grid; is_sunlit tests the Sun's centre (the middle of our penumbra).
    ts = load.timescale(builtin=True)
    from orbitlearn.space.offline_data import de421_path

    eph = load_file(str(de421_path()))
    sats = Constellation.from_satrecs([*sso(10.5).satrecs, *shell_53(1, 1).satrecs])
    timeline = Timeline.build(sats, [], START, DAY_S)
    days = np.floor(timeline.unix_s / DAY_S)
    t = ts.utc(1970, 1, 1 + days, 0, 0, timeline.unix_s - days * DAY_S)
    for index, satrec in enumerate(sats.satrecs):
        dark = ~EarthSatellite.from_satrec(satrec, ts).at(t).is_sunlit(eph)
        skyfield_fraction = timeline.time_mean(dark[None, :].astype(float))[0]
        ours = 1.0 - timeline.time_mean(timeline.sunlit_fraction)[index]
        assert abs(ours - skyfield_fraction) < half_a_percentage_point


def test_positions_match_sgp4_and_the_reference_geodetic_conversion(day_53: Timeline) -> None:
    sats = shell_53(8, 4)
    r, _, _ = propagate_teme(sats, day_53.unix_s)
    r_ecef, _ = teme_to_ecef(r, None, day_53.unix_s)
    lat, lon, alt = ecef_to_geodetic(r_ecef)
    metres_per_degree = 111_320.0
    assert np.max(np.abs(day_53.latitude_deg - lat)) * metres_per_degree < two_metres
    dlon = (day_53.longitude_deg - lon + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(dlon) * np.cos(np.radians(lat))) * metres_per_degree < two_metres
    assert np.max(np.abs(day_53.altitude_m - alt)) < two_metres


def test_hermite_interpolation_and_one_step_bowring() -> None:
    sats = shell_53(2, 2)
    times = START + np.append(10.0 * np.arange(800), 7995.5)  # a short last step
    exact_r, exact_v, _ = propagate_teme(sats, times)
    r, v = _propagate_dense(sats, times, 10.0, need_velocity=True, knot_step_s=300.0)
    assert np.max(np.linalg.norm(r - exact_r, axis=-1)) < two_metres
    assert np.max(np.linalg.norm(v - exact_v, axis=-1)) < 0.1  # m/s
    knots = times[::30]  # exactly at the knots the interpolant is sgp4 itself
    assert np.allclose(r[:, ::30], propagate_teme(sats, knots)[0], rtol=0, atol=1e-6)
    lat, lon, alt = _geodetic_from_teme(exact_r, times)
    reference = ecef_to_geodetic(teme_to_ecef(exact_r, None, times)[0])
    single_precision_deg = 2e-5  # float32 angles: ~1e-7 relative of 180 deg (~2 m at most)
    assert np.max(np.abs(lat - reference[0])) < single_precision_deg
    assert np.max(np.abs((lon - reference[1] + 180.0) % 360.0 - 180.0)) < single_precision_deg
    assert np.max(np.abs(alt - reference[2])) < 1e-3
    assert lat.dtype == lon.dtype == np.float32 and lon.min() >= -180.0 and lon.max() < 180.0


@pytest.mark.parametrize(("which", "expected"), [("sso", 0.07), ("53deg", 0.11)])
def test_saa_share_of_time_at_550_km(which: str, expected: float) -> None:
    sats = sso(10.5, n_sats=6) if which == "sso" else shell_53(6, 6)
    timeline = Timeline.build(sats, [], START, DAY_S, step_s=20.0)
    share = np.mean([row["saa_fraction"] for row in timeline.summary()])
    assert abs(share - expected) < 3 * one_percentage_point


def test_most_upsets_fall_inside_the_saa_at_53_deg(day_53: Timeline) -> None:
    pooled = day_53.upset_rate_per_bit_s.astype(float)
    share = pooled[day_53.in_saa].sum() / pooled.sum()
    assert 0.90 <= share <= 0.975
    for row in day_53.summary():
        assert 0.85 <= row["upset_fraction_in_saa"] <= 0.99  # one satellite, one day


def test_battery_within_limits_and_energy_balances(day_53: Timeline) -> None:
    battery = day_53.config.power.battery
    assert day_53.battery_soc.min() >= battery.soc_min - 1e-6
    assert day_53.battery_soc.max() <= battery.soc_max + 1e-6
    ledger = day_53.energy
    assert np.all(np.abs(ledger.balance_error_wh()) <= 1e-3 * ledger.generated_wh)
    # The stored arrays tell the same story: energy in from the float32 grid, and the state
    # of charge at the end.
    weights_h = day_53.step_weights_s() / 3600.0
    assert np.allclose(day_53.power_in_w.astype(float) @ weights_h, ledger.generated_wh, rtol=1e-3)
    assert np.allclose(day_53.load_w.astype(float) @ weights_h, ledger.demanded_wh, rtol=1e-3)
    assert np.allclose(day_53.battery_soc[:, -1] * battery.capacity_wh, ledger.final_wh, rtol=1e-5)


def test_a_hungry_payload_drains_the_battery_to_its_floor() -> None:
    power = {"preset": "3u", "loads": {"compute_w": 60.0, "compute_schedule": "always"}}
    timeline = Timeline.build(shell_53(2, 2), [], START, DAY_S / 4, power=power)
    floor = timeline.config.power.battery.soc_min
    assert timeline.battery_soc.min() == pytest.approx(floor, abs=1e-6)
    assert np.all(timeline.energy.unserved_wh > 0)
    assert np.all(np.abs(timeline.energy.balance_error_wh()) <= 1e-3 * timeline.energy.demanded_wh)


# --- bookkeeping ---------------------------------------------------------------------------


def test_grid_ends_exactly_at_the_requested_span() -> None:
    timeline = Timeline.build(shell_53(1, 1), [], START, 3605.0, step_s=10.0)
    assert timeline.unix_s[0] == START and timeline.unix_s[-1] == START + 3605.0
    assert timeline.n_times == 362
    assert timeline.step_weights_s()[-2:].tolist() == [5.0, 0.0]


def test_contacts_and_the_in_contact_column_agree(day_53: Timeline) -> None:
    assert len(day_53.contacts) > 10
    for sat in range(day_53.n_sats):
        rows = day_53.contacts.for_satellites(sat)
        expected = np.zeros(day_53.n_times, dtype=bool)
        for start, end in zip(rows.start_unix_s, rows.end_unix_s, strict=True):
            expected |= (day_53.unix_s >= start) & (day_53.unix_s <= end)
        assert np.array_equal(day_53.in_contact[sat], expected)
    radio_w = day_53.config.power.loads.radio_w
    idle_w = day_53.config.power.loads.bus_idle_w
    in_shadow = day_53.sunlit_fraction <= 0.5
    assert np.allclose(day_53.load_w[in_shadow & day_53.in_contact], idle_w + radio_w)
    assert np.allclose(day_53.load_w[in_shadow & ~day_53.in_contact], idle_w)


def test_eclipse_and_saa_windows_match_the_grid(day_53: Timeline) -> None:
    windows = (
        (day_53.eclipses, day_53.sunlit_fraction < 1.0),  # penumbra or umbra
        (day_53.saa_passes, day_53.in_saa),
    )
    for table, column in windows:
        assert len(table) > 0
        for sat in range(day_53.n_sats):
            rows = table.for_satellites(sat)
            inside = np.zeros(day_53.n_times, dtype=bool)
            for start, end in zip(rows.start_unix_s, rows.end_unix_s, strict=True):
                inside |= (day_53.unix_s >= start) & (day_53.unix_s <= end)
            # Edges fall between samples: the grid agrees except where an edge sits on a sample.
            assert np.count_nonzero(inside != column[sat]) <= 2 * len(rows)
        assert np.all(table.duration_s > 0)
    umbra = day_53.eclipses.filter(
        day_53.eclipses.umbra & ~day_53.eclipses.start_clipped & ~day_53.eclipses.end_clipped
    )
    assert 1500.0 < umbra.duration_s.mean() < 2300.0  # ~30-36 min at 550 km
    assert np.all(day_53.saa_passes.peak_upset_rate_per_bit_s > 0)
    counts = [row["eclipses"] for row in day_53.summary()]
    assert all(14 <= count <= 17 for count in counts)  # ~15 orbits a day


def test_eclipse_edges_match_the_precise_search(day_53: Timeline) -> None:
    # The grid-interpolated edges against eclipse_intervals' refined ones (same shadow model).
    reference = eclipse_intervals(shell_53(8, 4), START, DAY_S).sorted(
        ("satellite", "start_unix_s")
    )
    ours = day_53.eclipses.sorted(("satellite", "start_unix_s"))
    assert len(ours) == len(reference)
    assert np.array_equal(ours.satellite, reference.satellite)
    assert np.array_equal(ours.umbra, reference.umbra)
    assert np.array_equal(ours.start_clipped, reference.start_clipped)
    assert np.array_equal(ours.end_clipped, reference.end_clipped)
    five_hundredths_of_a_second = 0.05
    assert np.max(np.abs(ours.start_unix_s - reference.start_unix_s)) < five_hundredths_of_a_second
    assert np.max(np.abs(ours.end_unix_s - reference.end_unix_s)) < five_hundredths_of_a_second


def test_summary_keys(day_53: Timeline) -> None:
    row = day_53.summary()[0]
    for key in (
        "satellite",
        "eclipse_fraction",
        "saa_fraction",
        "upsets_per_bit_day",
        "upset_fraction_in_saa",
        "resets_per_day",
        "dose_rad_per_year",
    ):
        assert key in row
    assert row["satellite"] == "walker-P1-S1"
    json.dumps(day_53.summary())  # JSON-ready
    assert 1e-8 < row["upsets_per_bit_day"] < 1e-6


def test_the_result_does_not_depend_on_the_number_of_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import orbitlearn.space.timeline as timeline_module

    monkeypatch.setattr(timeline_module, "_BLOCK_POINTS", 3 * 721)  # 3 satellites per block
    sats = shell_53(8, 4)
    one = Timeline.build(sats, [BREMEN], START, DAY_S / 4, step_s=30.0, workers=1)
    three = Timeline.build(sats, [BREMEN], START, DAY_S / 4, step_s=30.0, workers=3)
    assert_identical(one, three)
    with pytest.raises(InputError, match="Expected `workers` to be an integer >= 1, actual: 0"):
        Timeline.build(sats, [], START, 600.0, workers=0)


def decaying_satellite() -> Constellation:
    """A 250 km orbit with a huge drag term: sgp4 gives up on it after ~6 hours."""
    from sgp4.api import WGS72, Satrec

    from orbitlearn.space.timescale import unix_s_to_jd_fr

    jd, fr = unix_s_to_jd_fr(START)
    satrec = Satrec()
    mean_motion_rad_min = np.sqrt(398_600.8 / (6378.135 + 250.0) ** 3) * 60.0
    satrec.sgp4init(
        WGS72,
        "i",
        99,
        float(jd + fr) - 2433281.5,
        0.05,
        0.0,
        0.0,
        0.001,
        0.0,
        np.radians(51.6),
        0.0,
        mean_motion_rad_min,
        0.0,
    )
    return Constellation.from_satrecs([*shell_53(1, 1).satrecs, satrec], ["healthy", "decaying"])


def test_a_satellite_sgp4_gives_up_on_is_data_not_an_error(tmp_path: Path) -> None:
    timeline = Timeline.build(decaying_satellite(), [BREMEN], START, DAY_S, step_s=60.0)
    healthy, decaying = timeline.summary()
    assert healthy["propagated_fraction"] == 1.0
    assert 0.2 < decaying["propagated_fraction"] < 0.35
    assert np.isnan(timeline.altitude_m[1, -1]) and np.isnan(timeline.upset_rate_per_bit_s[1, -1])
    # Means cover the propagated part; nothing is NaN in the summary, and it is strict JSON.
    assert decaying["eclipse_fraction"] is not None and 0.0 < decaying["eclipse_fraction"] < 0.5
    assert decaying["upsets_per_bit_day"] is not None
    json.dumps(timeline.summary(), allow_nan=False)
    assert np.all(np.isfinite(timeline.battery_soc))  # no sunlight once lost: bus on battery
    assert np.all(np.abs(timeline.energy.balance_error_wh()) <= 1e-3 * timeline.energy.demanded_wh)
    assert_identical(timeline, Timeline.load(timeline.save(tmp_path / "t.parquet")))


def test_satellite_lookup(day_53: Timeline) -> None:
    assert day_53.satellite_index("walker-P2-S1") == 2
    assert day_53.satellite_index(3) == 3
    with pytest.raises(InputError, match="Expected `satellite` to be the name of a satellite"):
        day_53.satellite_index("nope")
    with pytest.raises(InputError, match=r"Expected `satellite` to be an index in \[0, 7\]"):
        day_53.satellite_index(8)


def test_isl_windows_with_the_real_search() -> None:
    pytest.importorskip("orbitlearn.space.isl")
    timeline = Timeline.build(shell_53(6, 2), [], START, 3000.0, isl=True)
    assert timeline.isl_windows is not None and len(timeline.isl_windows) > 0
    assert np.all(timeline.isl_windows.peer > timeline.isl_windows.satellite)


def test_isl_windows_are_carried_and_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The inter-satellite-link search lives in orbitlearn.space.isl; a stand-in checks the
    # wiring and that the table survives the file.
    fake = types.ModuleType("orbitlearn.space.isl")

    def isl_windows(constellation, start_unix_s, duration_s, **geometry):
        assert geometry == {"grazing_height_m": 80e3, "max_range_m": 5e6}
        return ContactTable.links(
            [0],
            [1],
            [start_unix_s],
            [start_unix_s + 100.0],
            [start_unix_s + 50.0],
            [1e6],
            constellation.names,
        )

    fake.isl_windows = isl_windows  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "orbitlearn.space.isl", fake)
    timeline = Timeline.build(shell_53(2, 1), [], START, 600.0, isl=True, isl_max_range_m=5e6)
    assert timeline.isl_windows is not None and len(timeline.isl_windows) == 1
    again = Timeline.load(timeline.save(tmp_path / "t.parquet"))
    assert again.isl_windows is not None
    assert np.array_equal(again.isl_windows.peer, [1])


# --- the file ------------------------------------------------------------------------------


def assert_identical(a: Timeline, b: Timeline) -> None:
    assert np.array_equal(a.unix_s, b.unix_s) and a.unix_s.dtype == b.unix_s.dtype
    for name in (*GRID_COLUMNS, "kp", "f107_81_sfu", "spe_intensity"):
        left, right = getattr(a, name), getattr(b, name)
        assert left.dtype == right.dtype and left.shape == right.shape, name
        assert np.array_equal(left, right, equal_nan=left.dtype.kind == "f"), name
        assert left.tobytes() == right.tobytes(), name  # bit for bit
    for name in ("contacts", "eclipses", "saa_passes"):
        left, right = getattr(a, name), getattr(b, name)
        assert type(left) is type(right)
        for column in left._row_fields():
            assert getattr(left, column).tobytes() == getattr(right, column).tobytes(), (
                name,
                column,
            )
        assert left.satellite_names == right.satellite_names
    for field in ("generated_wh", "delivered_wh", "curtailed_wh", "final_wh"):
        assert getattr(a.energy, field).tobytes() == getattr(b.energy, field).tobytes()
    assert a.config == b.config
    assert a.stations == b.stations
    assert a.satellite_names == b.satellite_names and a.source == b.source


def test_parquet_round_trip_is_bit_identical(tmp_path: Path) -> None:
    radiation = RadiationConfig(
        spe=SolarParticleEventModel(mode="stochastic", rate_max_per_year=50.0),
        seed=7,
        acceleration=100.0,
        memory={"preset": "ecc_dram", "scrub_interval_s": 60.0},
    )
    power = {"preset": "6u", "solar_array": {"attitude": "orbit_normal"}}
    timeline = Timeline.build(
        shell_53(3, 3),
        [BREMEN, SVALBARD],
        START,
        DAY_S / 2,
        step_s=15.0,
        radiation=radiation,
        power=power,
    )
    path = timeline.save(tmp_path / "timeline.parquet")
    assert_identical(timeline, Timeline.load(path))
    # The file is plain Parquet that other tools read: one row per satellite and time.
    table = pq.read_table(path)
    assert table.num_rows == timeline.n_sats * timeline.n_times
    assert table.column_names[:3] == ["satellite", "time_unix_s", "latitude_deg"]
    meta = json.loads(table.schema.metadata[b"orbitlearn.timeline"])
    assert meta["format_version"] == 1 and meta["grid"]["step_s"] == 15.0
    assert meta["config"]["radiation"]["seed"] == 7


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, day_53: Timeline) -> None:
    path = tmp_path / "timeline.parquet"
    path.write_bytes(b"previous contents")

    def broken_write(table, where, **kwargs):
        Path(where).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken_write)
    with pytest.raises(DataError, match=r"cannot write .*timeline\.parquet: disk full"):
        day_53.save(path)
    assert path.read_bytes() == b"previous contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["timeline.parquet"]


def test_load_errors(tmp_path: Path, day_53: Timeline) -> None:
    with pytest.raises(DataError, match=r"timeline file .*missing.parquet does not exist"):
        Timeline.load(tmp_path / "missing.parquet")
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    with pytest.raises(DataError, match=r"junk.parquet is not a readable Parquet file"):
        Timeline.load(junk)
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), plain)
    with pytest.raises(
        DataError, match=r"plain.parquet is a Parquet file but not an orbitlearn timeline"
    ):
        Timeline.load(plain)
    # A future format version.
    path = day_53.save(tmp_path / "t.parquet")
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"orbitlearn.timeline"])
    meta["format_version"] = 99
    pq.write_table(table.replace_schema_metadata({b"orbitlearn.timeline": json.dumps(meta)}), path)
    with pytest.raises(
        DataError, match=r"timeline format version 99, this orbitlearn reads version 1"
    ):
        Timeline.load(path)
    # Rows cut off.
    meta["format_version"] = 1
    pq.write_table(
        table.slice(0, 100).replace_schema_metadata({b"orbitlearn.timeline": json.dumps(meta)}),
        path,
    )
    with pytest.raises(
        DataError,
        match=r"the timeline is damaged \(ValueError: 100 rows for 8 satellites x 8641 times\)",
    ):
        Timeline.load(path)


def test_save_into_a_missing_directory(tmp_path: Path, day_53: Timeline) -> None:
    with pytest.raises(DataError, match=r"the directory .*nowhere does not exist"):
        day_53.save(tmp_path / "nowhere" / "t.parquet")


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"step_s": 0.5},
            ConfigError,
            "Expected `timeline.step_s` to be a number of seconds in [1, 600], actual: 0.5",
        ),
        (
            {"min_elevation_deg": 95.0},
            ConfigError,
            "Expected `timeline.min_elevation_deg` to be a number of degrees in [-5, 90], actual: 95.0",
        ),
        (
            {"duration_s": 0.0},
            InputError,
            "Expected `duration_s` to be a number of seconds in (0, 31622400] (366 days), actual: 0.0",
        ),
        (
            {"power": "12u"},
            ConfigError,
            "Expected `power` to be one of '3u', '6u', 'espa' or a table with solar_array, battery and loads, actual: '12u'",
        ),
        (
            {"radiation": {"acceleration": 0}},
            ConfigError,
            "Expected `radiation.acceleration` to be a number > 0, actual: 0",
        ),
        (
            {"start_unix_s": float("nan")},
            InputError,
            "Expected `start_unix_s` to be POSIX seconds between 1957 and 2099, actual: nan",
        ),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict, error: type, message: str) -> None:
    arguments = {"start_unix_s": START, "duration_s": 3600.0, **kwargs}
    start, duration = arguments.pop("start_unix_s"), arguments.pop("duration_s")
    with pytest.raises(error) as caught:
        Timeline.build(shell_53(1, 1), [], start, duration, **arguments)
    assert str(caught.value) == message


def test_an_empty_constellation_is_rejected() -> None:
    with pytest.raises(
        InputError, match="Expected `constellation` to be a Constellation of at least one satellite"
    ):
        Timeline.build(Constellation.from_satrecs([]), [], START, 3600.0)
