"""One settings record per data layout: defaults, overrides by name, and what they build."""

from __future__ import annotations

from pathlib import Path

import pytest

from orbitlearn.errors import InputError
from orbitlearn.workloads.evaluate import evaluate_opssat, validate_telemanom
from orbitlearn.workloads.opssat import load_opssat
from orbitlearn.workloads.settings import OpsSatSettings, TelemanomSettings, with_overrides
from orbitlearn.workloads.telemanom import load_telemanom


def test_overrides_replace_named_fields_only() -> None:
    base = TelemanomSettings()
    changed = with_overrides(base, {"window": 64, "members": 1})
    assert (changed.window, changed.members) == (64, 1)
    assert changed.hidden == base.hidden and base.window == 250  # the base is untouched
    with pytest.raises(InputError, match=r"Expected `setting` to be one of .*, actual: 'windw'"):
        with_overrides(base, {"windw": 64})


def test_unknown_keyword_of_an_evaluation_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="actual: 'stepz'") as caught:
        evaluate_opssat(tmp_path / "dataset.csv", stepz=10)
    assert "steps" in str(caught.value)  # the allowed names are listed
    with pytest.raises(InputError, match="actual: 'novelty'"):
        validate_telemanom(tmp_path, novelty=1)


def test_opssat_settings_build_workload_and_training(shared_data: Path) -> None:
    settings = OpsSatSettings(members=2, hidden=16, steps=10)
    workload = settings.workload(load_opssat(shared_data / "opssat"))
    assert workload.threshold == 0.5 and workload.train.inputs.shape[1] == 56
    config = settings.training(healing="detect", device="raspberry-pi-4")
    assert (config.steps, config.weight_decay, config.healing) == (10, 1e-4, "detect")
    assert settings.as_dict()["transform"] == "standard+nominal"


def test_telemanom_settings_groups_and_report_names(shared_data: Path) -> None:
    data = load_telemanom(shared_data / "msl", channels=["M-6", "T-9"])
    assert TelemanomSettings().groups(data) == [["M-6"], ["T-9"]]
    assert TelemanomSettings(per_channel=False).groups(data) == [["M-6", "T-9"]]
    workload = TelemanomSettings(window=32, horizon=1).workload(data.subset(["T-9"]))
    assert workload.window == 32 and workload.horizon == 1
    shown = TelemanomSettings(kind="cnn").as_dict()
    assert shown["model"] == "cnn" and "kind" not in shown
