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
        ("time.dayz=3", "Expected `--set` to be a known setting (known here: days, start, step_s)"),
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
