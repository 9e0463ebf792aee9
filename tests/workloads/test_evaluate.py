"""Short end-to-end runs on the real data (small settings, seconds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from orbitlearn.errors import DataError, InputError
from orbitlearn.workloads import evaluate as evaluate_module
from orbitlearn.workloads import settings as settings_module
from orbitlearn.workloads.evaluate import (
    cross_validate_opssat,
    evaluate_opssat,
    evaluate_telemanom,
    validate_telemanom,
)
from orbitlearn.workloads.telemanom import load_telemanom


def test_opssat_end_to_end_short(shared_data: Path) -> None:
    report = evaluate_opssat(shared_data / "opssat", steps=150, members=2, seed=1)
    for key in ("precision", "recall", "f1", "auc_roc", "auc_pr", "params", "train_seconds"):
        assert report[key] is not None, key
    assert (
        report["tp"] + report["fn"] == 113
        and report["tp"] + report["fp"] + report["fn"] + report["tn"] == 529
    )
    # two blocks of 28 inputs (18 features, sampling, 9 channels), one member reading each:
    # 28*64+64 + 64*64+64 + 64*32+32 + 32+1 per member
    assert report["params"] == 2 * 8129 and report["steps"] == 150
    assert (
        report["settings"]["inputs"] == 56 and report["settings"]["transform"] == "standard+nominal"
    )
    # even 150 steps learn something real: far above the 113/529 base rate
    assert report["auc_roc"] > 0.9 and report["f1"] > 0.7
    assert "test_scores" not in report  # only when asked for


def test_opssat_scores_per_test_segment_give_the_reported_counts(shared_data: Path) -> None:
    report = evaluate_opssat(shared_data / "opssat", steps=150, members=2, seed=1, scores=True)
    table = evaluate_module.load_opssat(shared_data / "opssat")
    assert report["test_segments"] == table.segment[~table.train].tolist()
    flagged = np.asarray(report["test_scores"]) > report["threshold"]
    truth = table.anomaly[~table.train]
    assert (int(np.sum(flagged & truth)), int(np.sum(flagged & ~truth))) == (
        report["tp"],
        report["fp"],
    )
    # the point-wise figures are those of the reported confusion counts
    tp, fp, fn = report["tp"], report["fp"], report["fn"]
    assert report["precision"] == pytest.approx(tp / (tp + fp))
    assert report["recall"] == pytest.approx(tp / (tp + fn))
    # simulated on the default device: the Jetson Orin Nano's 15 W mode, 3.84e11 FLOP/s.
    # flops_per_step is a full batch of 64; 1594 rows make epochs of 24 full batches and one of
    # 58, so 6 of the 150 steps are short ones, charged for the rows they hold
    full_batches = 150 - 6 + 6 * 58 / 64
    assert report["onboard_seconds"] == pytest.approx(
        full_batches * report["flops_per_step"] / 3.84e11, rel=1e-9
    )
    assert report["onboard_joules"] == pytest.approx(15.0 * report["onboard_seconds"])


def test_telemanom_end_to_end_short(shared_data: Path) -> None:
    report = evaluate_telemanom(
        shared_data / "msl", channels=["M-6", "T-9"], steps=60, eval_every=30, seed=0
    )
    assert list(report["channels"]) == ["M-6", "T-9"]
    # the defaults: three forecasters per channel, the 1-value novelty term
    assert report["settings"]["members"] == 3 and report["settings"]["novelty_window"] == 1
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
    # the event-wise totals are the sums over channels, and the scores follow from them
    for key in ("tp", "fp", "fn"):
        assert report[key] == sum(c[key] for c in report["channels"].values()), key
    tp, fp, fn = report["tp"], report["fp"], report["fn"]
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert report["precision"] == pytest.approx(precision)
    assert report["recall"] == pytest.approx(recall)
    assert report["f0_5"] == pytest.approx(1.25 * precision * recall / (0.25 * precision + recall))


def test_telemanom_shared_model(shared_data: Path) -> None:
    report = evaluate_telemanom(
        shared_data / "msl",
        channels=["M-6", "T-9"],
        steps=40,
        eval_every=20,
        per_channel=False,
        members=1,
    )
    assert report["models"] == 1 and report["settings"]["per_channel"] is False


def test_telemanom_cnn_forecaster(shared_data: Path) -> None:
    report = evaluate_telemanom(
        shared_data / "msl", channels=["M-6"], steps=40, eval_every=20, kind="cnn", members=1
    )
    # convolutions 48 + 328; head (8 x 60 conv outputs of the 250 values + 10 x 54 command
    # inputs) -> 128 -> 128 -> 10 values ahead
    assert report["settings"]["model"] == "cnn" and report["params"] == 148_866
    assert report["channels"]["M-6"]["tp"] == 1


def test_errors_surface_as_data_and_input_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        evaluate_opssat(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="no such directory"):
        evaluate_telemanom(tmp_path / "missing")
    with pytest.raises(InputError, match="Expected `seed` to be an integer >= 0, actual: -1"):
        evaluate_opssat(tmp_path, seed=-1)


def test_cross_validation_sees_training_rows_only(shared_data: Path, monkeypatch) -> None:
    seen: list[int] = []
    real = settings_module.OpsSatWorkload

    def spy(table, **kwargs):
        seen.append(len(table))
        assert set(table.segment.tolist()) <= set(official_train)
        return real(table, **kwargs)

    table = evaluate_module.load_opssat(shared_data / "opssat")
    official_train = table.segment[table.train].tolist()
    monkeypatch.setattr(settings_module, "OpsSatWorkload", spy)
    result = cross_validate_opssat(
        shared_data / "opssat", n_folds=2, repeats=1, steps=60, members=2
    )
    assert seen == [1594, 1594]  # the 529 test rows never reach a workload
    assert len(result["f1_per_fold"]) == 2
    assert result["f1"] == pytest.approx(np.mean(result["f1_per_fold"]))
    # the folds learn: flagging every row would score F1 2 * 0.2 / 1.2 = 0.34 (321 of 1594)
    assert min(result["f1_per_fold"]) > 0.7 and result["auc_roc"] > 0.9
    # the best threshold is one of the candidates 0.05, 0.10, ..., 0.95
    assert result["best_threshold"] in np.round(np.arange(0.05, 0.951, 0.05), 2).tolist()


def test_validation_of_telemanom_never_uses_the_test_series(shared_data: Path, monkeypatch) -> None:
    real = settings_module.TelemanomWorkload

    def spy(data, **kwargs):
        for chan in data.channels:
            assert chan.test is chan.train and chan.anomaly_sequences == []
        return real(data, **kwargs)

    monkeypatch.setattr(settings_module, "TelemanomWorkload", spy)
    result = validate_telemanom(
        shared_data / "msl",
        channels=["M-6", "T-9"],
        steps=40,
        eval_every=20,
        window=64,
        horizon=1,
        members=1,
        residual=True,
    )
    assert set(result["channels"]) == {"M-6", "T-9"}
    t9 = result["channels"]["T-9"]
    per = result["channels"].values()
    # T-9: 439 training rows - 64 = 375 windows, the last 75 held out
    assert t9["validation_points"] == 75 and np.isfinite(t9["mse"])
    # the naive forecast repeats the last value: its MSE over the last 75 training values
    values = load_telemanom(shared_data / "msl", channels=["T-9"]).channels[0].train[:, 0]
    values = values.astype(np.float64)
    naive = np.mean((values[-75:] - values[-76:-1]) ** 2)
    assert t9["naive_mse"] == pytest.approx(naive, rel=1e-9)
    assert result["naive_mse"] == pytest.approx(np.mean([c["naive_mse"] for c in per]))
    assert result["false_alarms"] == sum(c["false_alarms"] for c in per)
    # one anomaly of each kind injected into each channel's held-out stretch
    assert result["synthetic_injected"] == 2 * 4 and t9["synthetic_injected"] == 4
    found, alarms = result["synthetic_found"], result["synthetic_false_alarms"]
    assert found == sum(c["synthetic_found"] for c in per)
    assert alarms == sum(c["synthetic_false_alarms"] for c in per)
    assert set(result["synthetic_found_by_kind"]) == {"shift", "spike", "noise", "stuck"}
    assert sum(result["synthetic_found_by_kind"].values()) == found
    # F0.5 of precision found / (found + clean false alarms) and recall found / injected
    precision, recall = found / (found + alarms) if found + alarms else 0.0, found / 8
    expected = (1.25 * precision * recall / (0.25 * precision + recall)) if found else 0.0
    assert result["synthetic_f0_5"] == pytest.approx(expected)
    # T-9's judged stretch: its last 20 % (88 of 439 rows), at least 100
    assert t9["synthetic_clean_points"] == 100


def test_telemanom_forecaster_ensemble(shared_data: Path) -> None:
    one = evaluate_telemanom(
        shared_data / "msl", channels=["M-6"], steps=20, eval_every=10, members=1
    )
    two = evaluate_telemanom(
        shared_data / "msl", channels=["M-6"], steps=20, eval_every=10, members=2
    )
    assert two["params"] == 2 * one["params"] and two["settings"]["members"] == 2
    assert two["flops_per_step"] == 2 * one["flops_per_step"]
    # the first member is the single model (same seed); the mean forecast differs from it
    assert two["channels"]["M-6"]["forecast_mse"] != one["channels"]["M-6"]["forecast_mse"]
    with pytest.raises(InputError, match="Expected `members` to be an integer >= 1"):
        evaluate_telemanom(shared_data / "msl", channels=["M-6"], steps=20, members=0)


def test_telemanom_novelty_term(shared_data: Path) -> None:
    plain = evaluate_telemanom(
        shared_data / "msl", channels=["T-9"], steps=20, eval_every=10, novelty_window=0
    )
    novel = evaluate_telemanom(shared_data / "msl", channels=["T-9"], steps=20, eval_every=10)
    assert novel["settings"]["novelty_window"] == 1 and novel["params"] == plain["params"]
    # same forecaster (same seed), so the same forecast errors; the judged errors differ
    t9, t9_plain = novel["channels"]["T-9"], plain["channels"]["T-9"]
    assert t9["forecast_mse"] == t9_plain["forecast_mse"]
    assert t9["auc_roc"] != t9_plain["auc_roc"]
