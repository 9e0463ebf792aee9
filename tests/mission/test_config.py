from pathlib import Path

import pytest

from orbitlearn.errors import ConfigError
from orbitlearn.mission.config import MissionConfig, apply_overrides, load_mission, to_toml


def test_default_mission_is_the_documented_one():
    config = MissionConfig.default()
    assert config.constellation.kind == "walker"
    assert config.constellation.walker == "24/3/1"
    assert config.constellation.altitude_km == 550.0
    assert config.constellation.inclination_deg == 53.0
    assert len(config.ground.stations) == 3
    assert config.time.days == 3.0
    assert config.workload.name == "health"
    assert config.strategy.name == "fedbuff"


def test_file_overrides_defaults_and_set_overrides_file(tmp_path: Path):
    path = tmp_path / "m.toml"
    path.write_text('seed = 5\n[strategy]\nname = "fedavg"\n[time]\ndays = 1.0\n')
    config = load_mission(path, ["time.days=0.25", "strategy.local_steps=7"])
    assert config.seed == 5
    assert config.strategy.name == "fedavg"
    assert config.time.days == 0.25
    assert config.strategy.local_steps == 7
    # untouched sections keep the defaults
    assert config.constellation.walker == "24/3/1"


def test_resolved_config_round_trips_through_toml(tmp_path: Path):
    config = apply_overrides(
        MissionConfig.default(),
        ['ground.networks=["polar"]', "strategy.clip_norm=5.0", "updates.topk_fraction=0.1"],
    )
    path = tmp_path / "resolved.toml"
    path.write_text(to_toml(config))
    assert load_mission(path) == config


def test_bare_word_override_is_a_string():
    config = apply_overrides(MissionConfig.default(), ["strategy.name=fedasync"])
    assert config.strategy.name == "fedasync"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "time.days=-1",
            "Expected `time.days` to be a number > 0 and <= 366, actual: -1. "
            "Source: --set overrides",
        ),
        (
            "ground.min_elevation_deg=95",
            "Expected `ground.min_elevation_deg` to be a number >= 0 and <= 90, actual: 95. "
            "Source: --set overrides",
        ),
        (
            'strategy.name="fedsgd"',
            "Expected `strategy.name` to be one of 'fedavg', 'fedprox', 'fedasync', 'fedbuff', "
            "'orbit-aware' or 'isl-relay', actual: 'fedsgd'. Source: --set overrides",
        ),
        ("days=3", "Expected `--set` to be a known setting (known here: "),
        (
            "time.dayz=3",
            "Expected `--set` to be a known setting (known here: days, start, step_s, "
            "stop_at_target)",
        ),
        ("time.days", "Expected `--set` to be KEY=VALUE, e.g. time.days=1.5, actual: 'time.days'"),
        (
            "seed.x=1",
            "Expected `--set` to be a known setting; `seed` is not a section, actual: 'seed.x=1'",
        ),
    ],
)
def test_bad_overrides_name_field_value_and_allowed(override: str, message: str):
    with pytest.raises(ConfigError) as caught:
        apply_overrides(MissionConfig.default(), [override])
    assert message in str(caught.value)


def test_unknown_key_in_file_is_rejected(tmp_path: Path):
    path = tmp_path / "m.toml"
    path.write_text("[time]\nweeks = 2\n")
    with pytest.raises(ConfigError) as caught:
        load_mission(path)
    assert "Expected `time.weeks` to be a known setting" in str(caught.value)
    assert str(path) in str(caught.value)


def test_toml_syntax_error_names_the_line(tmp_path: Path):
    path = tmp_path / "m.toml"
    path.write_text("[time]\ndays = = 2\n")
    with pytest.raises(ConfigError) as caught:
        load_mission(path)
    assert "line 2" in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="an existing TOML file"):
        load_mission(tmp_path / "absent.toml")


def test_link_defaults_are_the_cubesat_figures_of_the_reference():
    links = MissionConfig.default().links
    # REFERENCE.md "Links": S-band uplink 200 kbit/s with X-band downlink 12.5 Mbit/s (CubeSat)
    assert links.uplink_bps == 200e3
    assert links.downlink_bps == 12.5e6
    # the update since the last pass and one round trip inside the pass (default_mission.toml)
    assert links.exchanges_per_pass == 2


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            'faults.memory="flash"',
            "Expected `faults.memory` to be one of 'sram', 'dram', 'ecc_dram', 'ecc_sram', "
            "actual: 'flash'",
        ),
        (
            'faults.resets="often"',
            "Expected `faults.resets` to be one of 'zynq7000', 'trillium_host', "
            "'trillium_chip', 'none', actual: 'often'",
        ),
        (
            'satellite.bus="12u"',
            "Expected `satellite.bus` to be one of '3u', '6u', 'espa', actual: '12u'",
        ),
        (
            "satellite.initial_soc=0.1",
            "Expected `satellite.initial_soc` to be a number in [0.2, 1] (the limits of the 6u "
            "battery), actual: 0.1",
        ),
        (
            "updates.sign=false",
            "Expected `updates.sign` to be true (the ground segment rejects unsigned updates), "
            "actual: False",
        ),
        (
            'ground.stations=["Nowhere=95,0"]',
            "Expected `ground.stations` to be ",
        ),
        (
            'constellation.walker="40/6/1"',
            "Expected `constellation.walker` to be T/P/F with the total T divisible by the "
            "number of planes P, actual: '40/6/1'",
        ),
        (
            'constellation.kind="tle"',
            "Expected `constellation.path` to be a TLE file for kind = 'tle', actual: ''",
        ),
    ],
)
def test_names_and_cross_field_constraints_are_checked_when_the_mission_is_built(
    override: str, message: str
):
    from orbitlearn.mission.build import build_mission

    config = apply_overrides(MissionConfig.default(), [override])
    with pytest.raises(ConfigError) as caught:
        build_mission(config)
    assert str(caught.value).startswith(message), str(caught.value)


def test_isl_relay_needs_known_planes(tmp_path: Path):
    from orbitlearn.mission.build import build_mission

    tle = tmp_path / "one.tle"
    tle.write_text(
        "ISS (ZARYA)\n"
        "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927\n"
        "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537\n"
    )
    config = apply_overrides(
        MissionConfig.default(),
        ['constellation.kind="tle"', f'constellation.path="{tle}"', 'strategy.name="isl-relay"'],
    )
    with pytest.raises(ConfigError) as caught:
        build_mission(config)
    assert str(caught.value).startswith(
        "Expected `strategy.name` to be a strategy that needs no orbital planes, "
        "actual: 'isl-relay'. isl-relay needs planes"
    )


def test_executor_shorthand_names_the_kind():
    config = apply_overrides(MissionConfig.default(), ['executor="process"'])
    assert config.executor.kind == "process" and config.executor.workers == 2
    with pytest.raises(ConfigError) as caught:
        apply_overrides(MissionConfig.default(), ['executor="spark"'])
    assert str(caught.value).startswith(
        "Expected `executor.kind` to be one of 'inprocess', 'process' or 'ray', actual: 'spark'"
    )


def test_new_sections_round_trip_through_toml(tmp_path: Path):
    config = apply_overrides(
        MissionConfig.default(),
        [
            "time.stop_at_target=true",
            "satellite.initial_soc=0.4",
            "links.isl_line_of_sight=false",
            "links.exchanges_per_pass=1",
            "output.checkpoint_every_h=0.5",
            'faults.resets="none"',
            "strategy.max_wait_h=2.0",
        ],
    )
    path = tmp_path / "resolved.toml"
    path.write_text(to_toml(config))
    assert load_mission(path) == config
