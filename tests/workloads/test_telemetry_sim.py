"""Simulated housekeeping telemetry: determinism, physics, noise, every anomaly kind, non-IID."""

from __future__ import annotations

import numpy as np
import pytest

from orbitlearn.errors import ConfigError, InputError
from orbitlearn.space.stations import GroundStation
from orbitlearn.space.timeline import Timeline
from orbitlearn.space.walker import walker_constellation
from orbitlearn.workloads.telemetry_sim import (
    ANOMALY_KINDS,
    CHANNELS,
    MODE_STANDBY,
    MODE_TRAINING,
    SENSOR_CHANNELS,
    TelemetryConfig,
    battery_resistance_ohm,
    open_circuit_voltage_v,
    simulate_telemetry,
    thermal_equilibrium_c,
)

START = 1767225600.0  # 2026-01-01T00:00:00Z
DAY_S = 86_400.0
one_milliamp = 1e-3
one_lsb = 1.0  # in units of a channel's quantisation step
STATIONS = [GroundStation("Stockholm", 59.33, 18.06), GroundStation("Dubbo", -32.25, 148.6)]


@pytest.fixture(scope="module")
def timeline() -> Timeline:
    """Six satellites in three planes (550 km, 53 deg), one day at 30 s, 6U power."""
    sats = walker_constellation(6, 3, 1, altitude_m=550e3, inclination_deg=53.0, epoch_unix_s=START)
    return Timeline.build(sats, STATIONS, START, DAY_S, step_s=30.0, power="6u")


@pytest.fixture(scope="module")
def nominal(timeline: Timeline):
    """Noise-free, anomaly-free telemetry: the physics alone."""
    return simulate_telemetry(
        timeline, seed=3, anomalies=False, config=TelemetryConfig(noise=False)
    )


@pytest.fixture(scope="module")
def telemetry(timeline: Timeline):
    return simulate_telemetry(timeline, seed=3)


def only(kind: str, rate: float = 6.0) -> TelemetryConfig:
    """A configuration that injects one kind of anomaly."""
    return TelemetryConfig(anomalies_per_day={kind: rate}, rate_spread=0.0)


def channel(name: str) -> int:
    return CHANNELS.index(name)


# --------------------------------------------------------------------------- determinism
def test_same_seed_same_telemetry_and_other_seeds_differ(timeline, telemetry):
    again = simulate_telemetry(timeline, seed=3)
    np.testing.assert_array_equal(again.values, telemetry.values)  # NaN == NaN here
    np.testing.assert_array_equal(again.labels, telemetry.labels)
    np.testing.assert_array_equal(again.events.start_index, telemetry.events.start_index)
    other = simulate_telemetry(timeline, seed=4)
    assert not np.array_equal(other.labels, telemetry.labels)
    held_out = simulate_telemetry(timeline, seed=3, realisation=1)
    assert not np.array_equal(held_out.labels, telemetry.labels)


def test_a_satellite_does_not_depend_on_which_others_are_simulated(timeline, telemetry):
    part = simulate_telemetry(timeline, seed=3, satellites=[4, 1])
    np.testing.assert_array_equal(part.values[0], telemetry.values[4])
    np.testing.assert_array_equal(part.values[1], telemetry.values[1])
    np.testing.assert_array_equal(part.kind_mask[0], telemetry.kind_mask[4])
    assert part.satellites.tolist() == [4, 1]
    assert set(part.events.satellite.tolist()) <= {1, 4}


def test_grid_and_shapes(timeline, telemetry):
    assert telemetry.values.shape == (6, 2881, len(CHANNELS))
    assert telemetry.values.dtype == np.float32
    assert telemetry.sample_period_s == 30.0
    assert telemetry.unix_s[0] == timeline.start_unix_s
    assert telemetry.unix_s[-1] == pytest.approx(timeline.unix_s[-1])
    assert telemetry.channel("battery_soc").shape == (6, 2881)


# --------------------------------------------------------------------------- physics
def test_state_of_charge_stays_within_the_battery_limits(timeline, nominal):
    battery = timeline.config.power.battery
    soc = nominal.channel("battery_soc")
    assert soc.min() >= battery.soc_min - 1e-6
    assert soc.max() <= battery.soc_max + 1e-6
    assert soc[:, 0] == pytest.approx(battery.initial_soc)
    assert soc.min() < 0.99  # eclipses and training do discharge it


def test_battery_discharges_in_umbra_and_charges_after_it(nominal):
    umbra = nominal.sunlit_fraction == 0.0
    current = nominal.channel("battery_current_a")
    assert umbra.mean() > 0.25
    assert current[umbra].max() < 0.0  # every umbra sample discharges
    sunlit = nominal.sunlit_fraction == 1.0
    assert current[sunlit].max() > 1.0  # recharging after eclipse
    # the state of charge moves the way the current says
    soc = nominal.channel("battery_soc").astype(np.float64)
    rising = np.diff(soc, axis=1) > 1e-6
    falling = np.diff(soc, axis=1) < -1e-6
    assert (current[:, :-1][rising] > 0).all()
    assert (current[:, :-1][falling] < 0).all()


def test_solar_current_is_zero_in_umbra_and_carries_the_load_in_sunlight(timeline, nominal):
    solar = nominal.channel("solar_current_a")
    umbra = nominal.sunlit_fraction == 0.0
    assert np.abs(solar[umbra]).max() < one_milliamp
    sunlit = nominal.sunlit_fraction == 1.0
    volt = nominal.channel("battery_voltage_v")
    payload_w = nominal.channel("payload_current_a") * 5.0
    radio_w = nominal.channel("radio_current_a") * volt
    bus_w = timeline.config.power.loads.bus_idle_w
    battery_w = nominal.channel("battery_current_a") * volt
    # power balance on the bus in sunlight: array = loads + charging (bus varies +-0.4 W)
    balance = solar * volt - (payload_w + radio_w + bus_w + battery_w)
    assert np.abs(balance[sunlit]).max() < 0.6


def test_voltage_follows_the_open_circuit_curve_and_the_internal_resistance(nominal):
    soc = nominal.channel("battery_soc")
    ocv = open_circuit_voltage_v(soc, nominal.cells_in_series)
    sag = nominal.channel("battery_voltage_v") - ocv
    current = nominal.channel("battery_current_a")
    r25 = nominal.pack_resistance_ohm
    # V = OCV + I R(T), R between R25 and R25 * (1 + 0.02 * 25) for temperatures above 0 degC
    ratio = sag[np.abs(current) > 0.2] / current[np.abs(current) > 0.2]
    assert ratio.min() >= r25 * 0.999
    assert ratio.max() <= r25 * 1.5


def test_payload_and_radio_currents_follow_modes_and_contacts(timeline, nominal):
    loads = timeline.config.power.loads
    mode = nominal.channel("payload_mode")
    payload = nominal.channel("payload_current_a")
    assert set(np.unique(mode).tolist()) == {MODE_STANDBY, MODE_TRAINING}
    standby = loads.compute_w * TelemetryConfig().payload_standby_fraction / 5.0
    np.testing.assert_allclose(payload[mode == MODE_STANDBY], standby, rtol=1e-5)
    training = payload[mode == MODE_TRAINING]
    assert training.mean() == pytest.approx(loads.compute_w / 5.0, rel=0.01)
    assert 0.2 < (mode == MODE_TRAINING).mean() < 0.9  # a duty cycle, not always on
    radio = nominal.channel("radio_current_a")
    assert (radio[nominal.in_contact] > 0.5).all()
    assert (radio[~nominal.in_contact] == 0.0).all()
    assert nominal.in_contact.any()


def lag_s(drive: np.ndarray, response: np.ndarray, period_s: float) -> float:
    """Delay of ``response`` behind ``drive`` at the peak of their cross-correlation."""
    a = drive - drive.mean()
    b = response - response.mean()
    lags = np.arange(0, 120)
    corr = [np.dot(a[: a.size - k], b[k:]) for k in lags]
    return float(lags[int(np.argmax(corr))] * period_s)


def test_temperatures_lag_sunlight_by_their_time_constants(nominal):
    sunlit = nominal.sunlit_fraction[0].astype(np.float64)
    panel = nominal.channel("panel_temp_c")[0].astype(np.float64)
    battery = nominal.channel("battery_temp_c")[0].astype(np.float64)
    panel_lag = lag_s(sunlit, panel, 30.0)
    battery_lag = lag_s(sunlit, battery, 30.0)
    # First-order lag of the orbit's fundamental: atan(w tau) / w with w = 2 pi / ~5740 s:
    # ~9 min for the panel (tau 10 min), ~20 min for the battery (tau 60 min).
    assert 4 * 60 <= panel_lag <= 14 * 60
    assert battery_lag > panel_lag + 5 * 60
    # the panel is coldest at the end of each umbra pass, not at its start
    umbra = nominal.sunlit_fraction[0] == 0.0
    edges = np.flatnonzero(np.diff(umbra.astype(np.int8)))
    entries, exits = edges[::2] + 1, edges[1::2] + 1
    for start, stop in zip(entries, exits, strict=False):
        assert panel[start] > panel[stop - 1] + 20.0
        assert np.argmin(panel[start:stop]) >= stop - start - 3


def test_the_published_battery_and_thermal_models_are_the_ones_simulated(nominal):
    """What an onboard FDIR reuses (health residuals) is exactly what drives the readings."""
    one_millivolt, one_millidegree = 1e-3, 1e-3
    soc = nominal.channel("battery_soc").astype(np.float64)
    volt = nominal.channel("battery_voltage_v").astype(np.float64)
    ibat = nominal.channel("battery_current_a").astype(np.float64)
    isolar = nominal.channel("solar_current_a").astype(np.float64)
    ipay = nominal.channel("payload_current_a").astype(np.float64)
    tbat = nominal.channel("battery_temp_c").astype(np.float64)
    r = battery_resistance_ohm(nominal.pack_resistance_ohm, tbat)
    ocv = open_circuit_voltage_v(soc, nominal.cells_in_series)
    assert np.abs(volt - (ocv + ibat * r)).max() < one_millivolt  # float32 readings
    bus_idle_w = nominal.power.loads.bus_idle_w
    equilibria = thermal_equilibrium_c(
        nominal.sunlit_fraction.astype(np.float64), volt * (isolar - ibat) - bus_idle_w, 5.0 * ipay
    )
    cfg = TelemetryConfig()
    for name, eq, tau in zip(
        ("panel_temp_c", "battery_temp_c", "payload_temp_c"),
        equilibria,
        (cfg.panel_tau_s, cfg.battery_tau_s, cfg.payload_tau_s),
        strict=True,
    ):
        t = nominal.channel(name).astype(np.float64)
        a = np.exp(-30.0 / tau)
        step = t[:, 1:] - (a * t[:, :-1] + (1.0 - a) * eq[:, :-1])
        assert np.quantile(np.abs(step), 0.999) < 10 * one_millidegree, name
    assert battery_resistance_ohm(0.1, 30.0) == pytest.approx(0.1)  # no change above 25 degC


# --------------------------------------------------------------------------- noise
def test_noise_has_the_documented_size_and_readings_are_quantised(timeline):
    clean = simulate_telemetry(
        timeline, seed=5, anomalies=False, config=TelemetryConfig(noise=False)
    )
    noisy = simulate_telemetry(timeline, seed=5, anomalies=False)
    for name in SENSOR_CHANNELS:
        spec = noisy.specs[name]
        x = noisy.channel(name).astype(np.float64)
        error = x - clean.channel(name)
        # Gaussian noise plus quantisation (lsb^2 / 12)
        expected = np.sqrt(spec.noise_sigma**2 + spec.lsb**2 / 12.0)
        assert error.std() == pytest.approx(expected, rel=0.1), name
        steps = x / spec.lsb  # whole numbers of LSB (up to float32 storage)
        assert np.abs(steps - np.round(steps)).max() < 0.01 * one_lsb, name
    np.testing.assert_array_equal(noisy.channel("payload_mode"), clean.channel("payload_mode"))


# --------------------------------------------------------------------------- anomalies
def test_every_kind_is_injected_and_labelled_where_injected(telemetry):
    counts = telemetry.events.count_by_kind(telemetry.n_sats).sum(axis=0)
    assert (counts > 0).all(), dict(zip(ANOMALY_KINDS, counts.tolist(), strict=True))
    labelled = np.zeros_like(telemetry.labels)
    ev = telemetry.events
    for sat, kind, start, end in zip(
        ev.satellite, ev.kind, ev.start_index, ev.end_index, strict=True
    ):
        bit = np.uint8(1 << kind)
        if ANOMALY_KINDS[kind] == "spike":
            assert telemetry.kind_mask[sat, start] & bit and telemetry.kind_mask[sat, end - 1] & bit
            labelled[sat, start] = labelled[sat, end - 1] = True
        else:
            assert (telemetry.kind_mask[sat, start:end] & bit).all()
            labelled[sat, start:end] = True
    # labels are exactly the union of the events' samples (spikes: the outliers themselves)
    np.testing.assert_array_equal(telemetry.labels, telemetry.kind_mask > 0)
    assert (telemetry.labels[labelled]).all()
    assert 0.05 < telemetry.labels.mean() < 0.4


def sensor_difference(timeline, kind):
    broken = simulate_telemetry(timeline, seed=7, config=only(kind))
    clean = simulate_telemetry(timeline, seed=7, config=only(kind), anomalies=False)
    return broken, clean


def test_stuck_sensor_freezes_at_its_reading(timeline):
    broken, clean = sensor_difference(timeline, "stuck")
    ev = broken.events
    assert len(ev) > 10
    for sat, ch, start, end in zip(
        ev.satellite, ev.channel, ev.start_index, ev.end_index, strict=True
    ):
        frozen = broken.values[sat, start:end, ch]
        assert (frozen == frozen[0]).all()
    outside = ~broken.labels
    np.testing.assert_array_equal(broken.values[outside], clean.values[outside])


def test_drift_ramps_away_from_the_truth(timeline):
    broken, clean = sensor_difference(timeline, "drift")
    ev = broken.events
    assert len(ev) > 10
    expected = np.zeros(broken.values.shape)
    for sat, ch, start, end, size in zip(
        ev.satellite, ev.channel, ev.start_index, ev.end_index, ev.magnitude, strict=True
    ):
        span = broken.specs[CHANNELS[ch]].span
        assert 0.5 * span <= abs(size) <= 1.5 * span
        # a linear ramp that reaches the full offset at the last sample (unless cut by the end)
        expected[sat, start:end, ch] += size * np.arange(1, end - start + 1) / (end - start)
    lsb = np.array([broken.specs[c].lsb for c in CHANNELS])
    offset = broken.values.astype(np.float64) - clean.values
    assert (np.abs(offset - expected) <= 2 * lsb + 1e-6 * np.abs(clean.values)).all()
    assert (offset[~broken.labels] == 0).all()


def isolated(events, i: int) -> bool:
    """Whether event ``i`` overlaps no other event of its satellite."""
    same = events.satellite == events.satellite[i]
    overlap = (events.start_index < events.end_index[i]) & (
        events.end_index > events.start_index[i]
    )
    return int(np.count_nonzero(same & overlap)) == 1


def test_spikes_are_single_sample_outliers(timeline):
    broken, clean = sensor_difference(timeline, "spike")
    differs = np.abs(broken.values - clean.values) > 0
    ev = broken.events
    assert len(ev) > 10
    # every changed sample is a labelled spike sample, on the event's channel
    sats, times, _ = np.nonzero(differs)
    assert broken.labels[sats, times].all()
    allowed = np.zeros_like(differs)
    for sat, ch, start, end in zip(
        ev.satellite, ev.channel, ev.start_index, ev.end_index, strict=True
    ):
        allowed[sat, start:end, ch] = True
    assert not (differs & ~allowed).any()
    for sat, ch, start, end in zip(
        ev.satellite, ev.channel, ev.start_index, ev.end_index, strict=True
    ):
        changed = differs[sat, start:end, ch]
        assert changed[0] and changed[-1]
        assert end - start <= 10  # within five minutes
        assert changed.sum() <= 3


def test_dropout_reads_missing_or_zero(timeline):
    broken, clean = sensor_difference(timeline, "dropout")
    ev = broken.events
    assert len(ev) > 10
    kinds = set()
    for sat, ch, start, end in zip(
        ev.satellite, ev.channel, ev.start_index, ev.end_index, strict=True
    ):
        gap = broken.values[sat, start:end, ch]
        assert np.isnan(gap).all() or (gap == 0.0).all()
        kinds.add("missing" if np.isnan(gap).all() else "zero")
        assert 1 <= end - start <= 15
    assert kinds == {"missing", "zero"}
    outside = ~broken.labels
    np.testing.assert_array_equal(broken.values[outside], clean.values[outside])


def test_power_anomaly_in_eclipse_drains_the_battery_beyond_normal(timeline):
    broken, clean = sensor_difference(timeline, "eclipse_power")
    ev = broken.events
    assert len(ev) > 5
    ibat = channel("battery_current_a")
    volt = channel("battery_voltage_v")
    for sat, start, end, watts in zip(
        ev.satellite, ev.start_index, ev.end_index, ev.magnitude, strict=True
    ):
        assert (broken.sunlit_fraction[sat, start:end] < 0.5).all()  # inside the eclipse
        extra_a = clean.values[sat, start:end, ibat] - broken.values[sat, start:end, ibat]
        expected = watts / broken.values[sat, start:end, volt]
        np.testing.assert_allclose(extra_a, expected, rtol=0.05, atol=0.03)
        assert 5.0 <= watts <= 15.0
        # the state of charge ends the eclipse lower than it would have
        soc = channel("battery_soc")
        assert broken.values[sat, end - 1, soc] < clean.values[sat, end - 1, soc] - 0.001


def test_latchup_steps_the_payload_current_mostly_in_the_saa(timeline):
    broken, clean = sensor_difference(timeline, "latchup")
    ev = broken.events
    assert len(ev) > 5
    pay = channel("payload_current_a")
    compute_a = timeline.config.power.loads.compute_w / 5.0
    onsets_in_saa = checked = 0
    for i, (sat, start, end, amps) in enumerate(
        zip(ev.satellite, ev.start_index, ev.end_index, ev.magnitude, strict=True)
    ):
        if isolated(ev, i):  # overlapping latch-ups add up
            jump = broken.values[sat, start, pay] - clean.values[sat, start, pay]
            assert jump == pytest.approx(amps, abs=0.01)
            checked += 1
        assert 0.15 * compute_a <= amps <= 0.6 * compute_a
        # cleared by a power cycle: the rail reads ~0 A at the end of the event
        assert abs(broken.values[sat, end - 1, pay]) < 0.01
        onsets_in_saa += bool(broken.in_saa[sat, start])
    assert checked > 5
    # ~10 % of the time in the SAA, but upsets are ~100x more likely there
    assert onsets_in_saa / len(ev) > 0.6


# --------------------------------------------------------------------------- non-IID
def test_satellites_differ_in_eclipses_and_anomaly_mix(telemetry):
    eclipse_share = (telemetry.sunlit_fraction < 0.5).mean(axis=1)
    assert eclipse_share.max() - eclipse_share.min() > 0.02  # planes see different seasons
    counts = telemetry.events.count_by_kind(telemetry.n_sats)
    assert len({tuple(row) for row in counts.tolist()}) == telemetry.n_sats
    label_share = telemetry.labels.mean(axis=1)
    assert label_share.max() > 1.5 * label_share.min()


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"sample_period_s": 0.5},
            "Expected `telemetry.sample_period_s` to be a number in [1, 600], actual: 0.5",
        ),
        (
            {"anomalies_per_day": {"gremlins": 1.0}},
            "Expected `telemetry.anomalies_per_day` to be a table with keys among 'stuck', "
            "'drift', 'spike', 'dropout', 'eclipse_power', 'latchup', actual: 'gremlins'",
        ),
        (
            {"training_on_s": (100.0, 10.0)},
            "Expected `telemetry.training_on_s` to be a pair (low, high) with low <= high, "
            "actual: (100.0, 10.0)",
        ),
    ],
)
def test_bad_configuration_names_the_field(kwargs, message):
    with pytest.raises(ConfigError) as info:
        TelemetryConfig(**kwargs)
    assert str(info.value) == message


def test_bad_arguments(timeline, telemetry):
    with pytest.raises(InputError, match=r"Expected `seed` to be an integer >= 0, actual: -1"):
        simulate_telemetry(timeline, seed=-1)
    with pytest.raises(InputError, match=r"Expected `satellites` to be indices in \[0, 5\]"):
        simulate_telemetry(timeline, seed=0, satellites=[6])
    with pytest.raises(InputError, match="Expected `channel` to be one of battery_voltage_v"):
        telemetry.channel("cpu_load")
