"""The radiation environment against published figures (REFERENCE.md "Radiation"), on sgp4 orbits."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from orbitlearn.errors import ConfigError, InputError
from orbitlearn.space.frames import ecef_to_geodetic, teme_to_ecef
from orbitlearn.space.radiation import (
    GEOMAGNETIC_POLE_LAT_DEG,
    GEOMAGNETIC_POLE_LON_DEG,
    RadiationConfig,
    cutoff_rigidity_gv,
    draw_upset_counts,
    expected_upsets,
    geomagnetic_latitude_deg,
    radiation_environment,
)
from orbitlearn.space.radiation_presets import (
    MEMORY_PRESETS,
    REFERENCE_SRAM_UPSETS_PER_BIT_DAY,
    resolve_device,
    resolve_memory,
)
from orbitlearn.space.space_weather import SolarParticleEventModel
from orbitlearn.space.timescale import parse_utc_iso, time_grid_unix_s, unix_s_to_jd_fr
from orbitlearn.space.walker import DEFAULT_WALKER_EPOCH_UNIX_S, walker_constellation

DAY_S = 86_400.0
YEAR_S = 365.25 * DAY_S
SSO_INCLINATION_DEG = {400: 97.03, 550: 97.59, 700: 98.19, 800: 98.6}  # sun-synchronous, circular


@cache
def track(
    altitude_km: float,
    inclination_deg: float,
    start_unix_s: float = DEFAULT_WALKER_EPOCH_UNIX_S,
    days: float = 3.0,
    n_sats: int = 12,
    step_s: float = 30.0,
):
    """Geodetic tracks of ``n_sats`` satellites in as many planes, and the time grid."""
    shell = walker_constellation(
        n_sats,
        n_sats,
        1,
        altitude_m=altitude_km * 1e3,
        inclination_deg=inclination_deg,
        epoch_unix_s=start_unix_s,
    )
    times = time_grid_unix_s(start_unix_s, days * DAY_S, step_s)
    jd, fr = unix_s_to_jd_fr(times)
    error, r_km, _ = shell.satrec_array.sgp4(jd, fr)
    assert not np.any(error)
    r_ecef, _ = teme_to_ecef(np.asarray(r_km) * 1e3, None, times)
    lat, lon, alt = ecef_to_geodetic(r_ecef)
    return lat, lon, alt, times


def environment(
    altitude_km: float, inclination_deg: float, config: RadiationConfig | None = None, **kw
):
    lat, lon, alt, times = track(altitude_km, inclination_deg, **kw)
    return radiation_environment(lat, lon, alt, times, config), times


def mean_per_day(rate_per_s: np.ndarray) -> float:
    return float(rate_per_s.mean() * DAY_S)


def test_sram_orbit_average_near_alsat1_at_700_km_sso() -> None:
    env, _ = environment(700, SSO_INCLINATION_DEG[700])  # defaults: SRAM, history space weather
    rate = mean_per_day(env.upset_rate_per_bit_s)
    assert REFERENCE_SRAM_UPSETS_PER_BIT_DAY / 3 <= rate <= 3 * REFERENCE_SRAM_UPSETS_PER_BIT_DAY


def test_upset_rate_grows_with_altitude() -> None:
    rates = {
        km: mean_per_day(environment(km, SSO_INCLINATION_DEG[km])[0].upset_rate_per_bit_s)
        for km in (400, 700, 800)
    }
    assert rates[400] < rates[700] < rates[800]
    assert rates[800] / rates[700] > 1.5  # trapped flux ~10x per 300 km
    assert rates[700] / rates[400] > 5


def test_most_upsets_at_53_deg_fall_inside_the_saa() -> None:
    env, _ = environment(550, 53.0)
    upsets = env.upset_rate_per_bit_s
    share = float(upsets[env.in_saa].sum() / upsets.sum())
    assert 0.90 <= share <= 0.975  # 90-97.5 % of LEO upsets occur inside the SAA


@pytest.mark.parametrize(
    ("altitude_km", "low_rad_yr", "high_rad_yr"),
    # ~50 rad/yr at 400 km, ~150 over 550-650 km, 1-2 krad/yr at 800 km (REFERENCE.md)
    [(400, 25.0, 100.0), (550, 75.0, 300.0), (650, 75.0, 300.0), (800, 1000.0, 2000.0)],
)
@pytest.mark.parametrize("orbit", ["53deg", "sso"])
def test_orbit_average_dose(
    altitude_km: int, low_rad_yr: float, high_rad_yr: float, orbit: str
) -> None:
    inclination = 53.0 if orbit == "53deg" else SSO_INCLINATION_DEG.get(altitude_km, 97.8)
    env, _ = environment(altitude_km, inclination, RadiationConfig(space_weather="fixed"))
    dose_rad_yr = float(env.dose_rate_rad_s.mean() * YEAR_S)
    assert low_rad_yr <= dose_rad_yr <= high_rad_yr


def test_dose_accumulates_from_the_initial_dose() -> None:
    env, times = environment(
        550, 53.0, RadiationConfig(space_weather="fixed", initial_dose_rad=7.0)
    )
    expected = 7.0 + np.concatenate(
        [
            np.zeros((env.dose_rad.shape[0], 1)),
            np.cumsum(env.dose_rate_rad_s[:, :-1] * np.diff(times), axis=1),
        ],
        axis=1,
    )
    assert np.allclose(env.dose_rad, expected, rtol=1e-12)
    assert np.all(np.diff(env.dose_rad, axis=1) >= 0)


def test_stuck_bits_accumulate_with_dose() -> None:
    config = RadiationConfig(space_weather="fixed", acceleration=1e4)
    env, _ = environment(800, 98.6, config)
    k = config.memory.stuck_bits_per_bit_per_rad * config.acceleration
    assert np.allclose(env.stuck_bit_fraction, 1.0 - np.exp(-k * env.dose_rad))
    assert np.all(np.diff(env.stuck_bit_fraction, axis=1) >= 0)
    assert env.stuck_bit_fraction[:, -1].min() > 0


def test_zynq_resets_near_three_a_day_at_800_km() -> None:
    env, _ = environment(800, SSO_INCLINATION_DEG[800], RadiationConfig(space_weather="fixed"))
    resets_per_day = mean_per_day(env.reset_rate_per_s)
    assert resets_per_day == pytest.approx(3.0, rel=0.5)  # ~3/day projected (est.)


def test_trillium_host_sefi_per_rad() -> None:
    config = RadiationConfig(space_weather="fixed", device=resolve_device("trillium_host"))
    env, _ = environment(650, 98.0, config)
    resets_per_rad = env.reset_rate_per_s.sum() / env.dose_rate_rad_s.sum()
    assert 1.0 / resets_per_rad == pytest.approx(425.0)  # ~1 per 400-450 rad


def test_multi_bit_share_near_alsat1() -> None:
    env, _ = environment(700, SSO_INCLINATION_DEG[700], RadiationConfig(space_weather="fixed"))
    weights = env.upset_rate_per_bit_s
    share = float((env.multi_bit_fraction * weights).sum() / weights.sum())
    assert 0.010 <= share <= 0.015  # ~1.2 % multi-bit on Alsat-1


def test_acceleration_scales_upsets_and_resets_not_dose() -> None:
    base, _ = environment(550, 53.0, RadiationConfig(space_weather="fixed"))
    fast, _ = environment(550, 53.0, RadiationConfig(space_weather="fixed", acceleration=1000.0))
    assert np.allclose(fast.upset_rate_per_bit_s, 1000.0 * base.upset_rate_per_bit_s)
    assert np.allclose(fast.reset_rate_per_s, 1000.0 * base.reset_rate_per_s)
    assert np.array_equal(fast.dose_rate_rad_s, base.dose_rate_rad_s)


def test_memory_presets() -> None:
    sram, _ = environment(550, 53.0, RadiationConfig(space_weather="fixed"))
    dram, _ = environment(
        550, 53.0, RadiationConfig(space_weather="fixed", memory=resolve_memory("dram"))
    )
    ecc, _ = environment(
        550, 53.0, RadiationConfig(space_weather="fixed", memory=resolve_memory("ecc_dram"))
    )
    assert np.allclose(dram.upset_rate_per_bit_s, sram.upset_rate_per_bit_s * 1e-9 / 4.04e-7)
    # SECDED leaves (72/64) * rate * mbu * same_word plus the accumulation term (negligible here).
    raw = dram.upset_rate_per_bit_s
    expected = (72 / 64) * raw * dram.multi_bit_fraction * 0.5 + 72**2 * raw**2 * 3600.0 / 128
    assert np.allclose(ecc.upset_rate_per_bit_s, expected)
    assert mean_per_day(ecc.upset_rate_per_bit_s) < 1e-11


def test_ecc_accumulation_term_dominates_at_high_rates() -> None:
    memory = resolve_memory("ecc_sram", scrub_interval_s=86_400.0)
    raw = np.array([1e-6])  # per bit per second: a heavily accelerated run
    visible = memory.visible_rate_per_bit_s(raw, 0.0)
    assert visible[0] == pytest.approx(72**2 * 1e-12 * 86_400.0 / 128)


def test_polar_horns_raise_dose_at_high_geomagnetic_latitude() -> None:
    # Two points outside the SAA at 800 km: geomagnetic latitude ~62 deg (horn) and ~20 deg.
    lat = np.array([[60.0, 30.0]])
    lon = np.array([[-100.0, 100.0]])
    assert abs(geomagnetic_latitude_deg(lat, lon)[0, 0] - 62.0) < 8.0
    env = radiation_environment(
        lat, lon, np.full((1, 2), 800e3), [0.0, 10.0], RadiationConfig(space_weather="fixed")
    )
    assert env.dose_rate_rad_s[0, 0] > 20 * env.dose_rate_rad_s[0, 1]
    assert not env.in_saa.any()


def test_geomagnetic_coordinates() -> None:
    assert geomagnetic_latitude_deg(
        GEOMAGNETIC_POLE_LAT_DEG, GEOMAGNETIC_POLE_LON_DEG
    ) == pytest.approx(90.0)
    assert geomagnetic_latitude_deg(
        -GEOMAGNETIC_POLE_LAT_DEG, GEOMAGNETIC_POLE_LON_DEG + 180.0
    ) == pytest.approx(-90.0)
    # Stormer: 14.9 GV at the equator on the ground, falling as cos^4 and 1/r^2.
    assert cutoff_rigidity_gv(60.0, 0.0) == pytest.approx(14.9 / 16)
    assert cutoff_rigidity_gv(0.0, 6_371_008.8) == pytest.approx(14.9 / 4)


STORM_WEEK = parse_utc_iso("2024-05-08T00:00:00Z")  # G5 storm, Kp 9 on 10-11 May 2024
QUIET_WEEKS = (parse_utc_iso("2024-05-22T00:00:00Z"), parse_utc_iso("2024-01-04T00:00:00Z"))


@pytest.mark.parametrize("quiet_start", QUIET_WEEKS)
@pytest.mark.parametrize("inclination_deg", [53.0, 97.6])
def test_storm_week_gives_more_upsets_than_a_quiet_week(
    quiet_start: float, inclination_deg: float
) -> None:
    config = RadiationConfig(seed=2024)
    totals = []
    for start in (STORM_WEEK, quiet_start):
        lat, lon, alt, times = track(
            550, inclination_deg, start_unix_s=start, days=7.0, n_sats=4, step_s=60.0
        )
        env = radiation_environment(lat, lon, alt, times, config)
        expected = expected_upsets(env.upset_rate_per_bit_s, times, n_bits=8e9).sum()
        drawn = draw_upset_counts(
            env.upset_rate_per_bit_s, times, 8e9, np.random.default_rng(config.seed)
        ).sum()
        totals.append((expected, drawn))
    (storm_expected, storm_drawn), (quiet_expected, quiet_drawn) = totals
    assert storm_expected > quiet_expected
    assert storm_drawn > quiet_drawn


def test_storm_reaches_lower_latitudes_and_spe_hits_polar_caps() -> None:
    lat, lon, alt, times = track(
        550, 97.6, start_unix_s=STORM_WEEK, days=7.0, n_sats=2, step_s=60.0
    )
    config = RadiationConfig(seed=1)
    storm = radiation_environment(lat, lon, alt, times, config)
    no_spe = radiation_environment(
        lat, lon, alt, times, config.with_overrides(spe=SolarParticleEventModel(mode="none"))
    )
    polar = np.abs(geomagnetic_latitude_deg(lat, lon)) > 65.0
    ratio = storm.upset_rate_per_bit_s[polar].sum() / no_spe.upset_rate_per_bit_s[polar].sum()
    assert ratio > 1.5
    assert storm.spe_intensity.max() > 1.0 and storm.kp.max() == 9.0


def test_stochastic_spe_same_seed_same_environment() -> None:
    lat, lon, alt, times = track(550, 97.6, days=3.0, n_sats=2)
    config = RadiationConfig(
        spe=SolarParticleEventModel(
            mode="stochastic", rate_min_per_year=200.0, rate_max_per_year=200.0
        ),
        seed=9,
    )
    a = radiation_environment(lat, lon, alt, times, config)
    b = radiation_environment(lat, lon, alt, times, config)
    c = radiation_environment(lat, lon, alt, times, config.with_overrides(seed=10))
    assert np.array_equal(a.upset_rate_per_bit_s, b.upset_rate_per_bit_s)
    assert not np.array_equal(a.spe_intensity, c.spe_intensity)


def test_config_round_trips_through_a_table() -> None:
    config = RadiationConfig(
        memory=resolve_memory("ecc_dram", scrub_interval_s=600.0),
        device=resolve_device("trillium_host"),
        spe=SolarParticleEventModel(mode="stochastic"),
        seed=3,
        acceleration=50.0,
    )
    again = RadiationConfig.from_dict(config.to_dict())
    assert again == config


def test_config_accepts_preset_names_and_tables() -> None:
    config = RadiationConfig.from_dict(
        {"memory": "dram", "device": {"preset": "trillium_chip"}, "saa": {"edge_intensity": 0.2}}
    )
    assert config.memory == MEMORY_PRESETS["dram"]
    assert config.device.resets_per_rad == pytest.approx(1 / 5000)
    assert config.saa.edge_intensity == 0.2


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"acceleration": -1.0},
            "Expected `radiation.acceleration` to be a number > 0, actual: -1.0",
        ),
        (
            {"acceleration": "fast"},
            "Expected `radiation.acceleration` to be a number > 0, actual: 'fast'",
        ),
        (
            {"memory": "flash"},
            "Expected `memory` to be one of 'sram', 'dram', 'ecc_dram', 'ecc_sram' or a table of MemoryModel fields, actual: 'flash'",
        ),
        (
            {"device": "pentium"},
            "Expected `device` to be one of 'zynq7000', 'trillium_host', 'trillium_chip', 'none' or a table of DeviceModel fields, actual: 'pentium'",
        ),
        (
            {"memory": {"preset": "sram", "bits": 8}},
            "Expected `memory` to be a table with keys among 'preset', 'ecc', 'ecc_data_bits', 'ecc_word_bits', 'mbu_same_word', 'multi_bit_fraction_ions', 'multi_bit_fraction_protons', 'name', 'orbit_average_upsets_per_bit_day', 'scrub_interval_s', 'stuck_bits_per_bit_per_rad', actual: 'bits'",
        ),
        (
            {"memory": {"orbit_average_upsets_per_bit_day": 2.0}},
            "Expected `memory.orbit_average_upsets_per_bit_day` to be a number in [0, 1], actual: 2.0",
        ),
        (
            {"memory": {"preset": "ecc_sram", "ecc_word_bits": 32}},
            "Expected `memory.ecc_word_bits` to be a number in [64, 4096], actual: 32",
        ),
        (
            {"device": {"resets_per_rad": -0.1}},
            "Expected `device.resets_per_rad` to be a number in [0, 1e+06], actual: -0.1",
        ),
        ({"seed": -4}, "Expected `radiation.seed` to be an integer >= 0 or none, actual: -4"),
        (
            {"spe": {"mode": "stochastic"}},
            "Expected `radiation.seed` to be an integer >= 0 when spe.mode is 'stochastic', actual: None",
        ),
        (
            {"space_weather": "live"},
            "Expected `radiation.space_weather` to be one of 'history', 'fixed', actual: 'live'",
        ),
        ({"fixed_kp": 9.5}, "Expected `radiation.fixed_kp` to be a number in [0, 9], actual: 9.5"),
        (
            {"initial_dose_rad": float("inf")},
            "Expected `radiation.initial_dose_rad` to be a number of rad >= 0, actual: inf",
        ),
        (
            {"coefficients": {"saa_peak_upsets_per_bit_day": -1e-5}},
            "Expected `coefficients.saa_peak_upsets_per_bit_day` to be a number >= 0, actual: -1e-05",
        ),
        (
            {"coefficients": {"gain": 1}},
            "Expected `radiation.coefficients` to be a table with keys among 'saa_peak_upsets_per_bit_day', 'horn_peak_upsets_per_bit_day', 'gcr_open_field_upsets_per_bit_day', 'spe_upset_gain', 'saa_peak_rad_per_year', 'horn_peak_rad_per_year', 'gcr_open_field_rad_per_year', 'spe_rad_per_year', 'horn_latitude_deg', 'horn_sigma_deg', 'gcr_rigidity_gv', 'spe_rigidity_gv', 'storm_cutoff_gain', 'storm_horn_gain', 'reference_f107_sfu', 'trapped_f107_exponent', 'gcr_f107_exponent', actual: 'gain'",
        ),
        (
            {"shielding_mm": 3},
            "Expected `radiation` to be a table with keys among 'memory', 'device', 'saa', 'spe', 'space_weather', 'fixed_kp', 'fixed_f107_sfu', 'coefficients', 'acceleration', 'initial_dose_rad', 'seed', actual: 'shielding_mm'",
        ),
    ],
)
def test_bad_configuration_values_are_rejected(table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RadiationConfig.from_dict(table)
    assert str(caught.value) == message


def test_shapes_must_agree() -> None:
    with pytest.raises(
        InputError, match="three \\(n_sats, n_times\\) arrays and a \\(n_times,\\) time array"
    ):
        radiation_environment(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 4)), np.arange(3.0))
    with pytest.raises(InputError, match="strictly increasing grid times"):
        radiation_environment(np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((1, 2)), [5.0, 5.0])


def test_nan_positions_give_nan_rates() -> None:
    env = radiation_environment(
        [[np.nan, -27.0]],
        [[np.nan, -50.0]],
        [[np.nan, 550e3]],
        [0.0, 10.0],
        RadiationConfig(space_weather="fixed"),
    )
    assert np.isnan(env.upset_rate_per_bit_s[0, 0]) and np.isfinite(env.upset_rate_per_bit_s[0, 1])
