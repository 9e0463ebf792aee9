"""Short end-to-end runs on the real data (small settings, seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orbitlearn.errors import DataError, InputError
from orbitlearn.workloads.evaluate import evaluate_opssat, evaluate_telemanom


def test_opssat_end_to_end_short(shared_data: Path) -> None:
    report = evaluate_opssat(shared_data / "opssat", steps=150, members=2, seed=1)
    for key in ("precision", "recall", "f1", "auc_roc", "auc_pr", "params", "train_seconds"):
        assert report[key] is not None, key
    assert (
        report["tp"] + report["fn"] == 113
        and report["tp"] + report["fp"] + report["fn"] + report["tn"] == 529
    )
    assert report["params"] == 2 * 7489 and report["steps"] == 150
    # even 150 steps learn something real: far above the 113/529 base rate
    assert report["auc_roc"] > 0.9 and report["f1"] > 0.7
    assert report["onboard_joules"] > 0


def test_telemanom_end_to_end_short(shared_data: Path) -> None:
    report = evaluate_telemanom(
        shared_data / "msl", channels=["M-6", "T-9"], steps=60, eval_every=30, seed=0
    )
    assert list(report["channels"]) == ["M-6", "T-9"]
    assert report["models"] == 2 and report["labelled_sequences"] == 3
    assert report["tp"] + report["fn"] == 3
    m6 = report["channels"]["M-6"]
    assert m6["labelled_sequences"] == [[1850, 2030]]
    assert m6["best_step"] in (30, 60)
    for key in (
        "precision",
        "recall",
        "f1",
        "f0_5",
        "auc_roc",
        "auc_pr",
        "params",
        "train_seconds",
    ):
        assert key in report
    # M-6 is a flat channel that jumps at 1850: a forecaster finds it
    assert m6["tp"] == 1 and m6["fp"] == 0


def test_telemanom_shared_model(shared_data: Path) -> None:
    report = evaluate_telemanom(
        shared_data / "msl", channels=["M-6", "T-9"], steps=40, eval_every=20, per_channel=False
    )
    assert report["models"] == 1 and report["settings"]["per_channel"] is False


def test_telemanom_cnn_forecaster(shared_data: Path) -> None:
    report = evaluate_telemanom(
        shared_data / "msl", channels=["M-6"], steps=40, eval_every=20, kind="cnn"
    )
    assert report["settings"]["model"] == "cnn" and report["params"] == 18_233
    assert report["channels"]["M-6"]["tp"] == 1


def test_errors_surface_as_data_and_input_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        evaluate_opssat(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="no such directory"):
        evaluate_telemanom(tmp_path / "missing")
    with pytest.raises(InputError, match="Expected `seed` to be an integer >= 0, actual: -1"):
        evaluate_opssat(tmp_path, seed=-1)
