"""``orbitlearn workload evaluate``: JSON keys, table output, clear errors (never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orbitlearn.cli.exit_codes import ExitCode


def test_opssat_json(cli, shared_data: Path) -> None:
    code, out, err = cli(
        "workload", "evaluate", "opssat", "--data", str(shared_data / "opssat" / "dataset.csv"),
        "--steps", "60", "--members", "2", "--format", "json",
    )  # fmt: skip
    assert code == ExitCode.OK, err
    report = json.loads(out)
    for key in ("precision", "recall", "f1", "auc_roc", "auc_pr", "params", "train_seconds"):
        assert key in report, key
    assert report["params"] == 2 * 8129 and report["steps"] == 60
    # two input blocks of 28 (standard, nominal-scaled), one member reading each
    assert report["settings"]["transform"] == "standard+nominal"
    assert report["settings"]["inputs"] == 56
    # how far 529 test segments separate two F1s: a bootstrap interval around the measured one
    low, high = report["f1_interval"]
    assert low < report["f1"] < high and 0.02 < high - low < 0.2
    assert report["f0_5_interval"][0] < report["f0_5"] < report["f0_5_interval"][1]


def test_opssat_table(cli, shared_data: Path) -> None:
    code, out, err = cli(
        "workload", "evaluate", "opssat", "--data", str(shared_data / "opssat"),
        "--steps", "30", "--members", "2",
    )  # fmt: skip
    assert code == ExitCode.OK, err
    assert out.startswith("OPS-SAT-AD ") and "(official test split)" in out
    assert "model: 16,258 parameters" in out and "30 steps in" in out
    assert "(95 % interval " in out and " over the test segments)" in out
    code, _, err = cli(
        "workload", "evaluate", "opssat", "--data", str(shared_data / "opssat"),
        "--members", "3",
    )  # fmt: skip
    assert code == ExitCode.USAGE
    assert "Expected `members` to be a multiple of the 2 input blocks" in err


def test_opssat_transform_option(cli, shared_data: Path) -> None:
    code, out, err = cli(
        "workload", "evaluate", "opssat", "--data", str(shared_data / "opssat"),
        "--steps", "20", "--members", "1", "--transform", "both", "--format", "json",
    )  # fmt: skip
    assert code == ExitCode.OK, err
    report = json.loads(out)
    assert report["settings"]["transform"] == "both" and report["settings"]["inputs"] == 46
    code, _, err = cli(
        "workload", "evaluate", "opssat", "--data", str(shared_data / "opssat"),
        "--transform", "rank",
    )  # fmt: skip
    assert code == ExitCode.USAGE
    assert "Expected `--transform` to be one or more of standard, log, both, relative" in err


def test_telemanom_json_has_per_channel_results(cli, shared_data: Path) -> None:
    code, out, err = cli(
        "workload", "evaluate", "telemanom", "--data", str(shared_data / "msl"),
        "--channels", "M-6,S-2", "--steps", "40", "--absolute", "--command-lags", "0",
        "--format", "json",
    )  # fmt: skip
    assert code == ExitCode.OK, err
    report = json.loads(out)
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
        assert key in report, key
    assert set(report["channels"]) == {"M-6", "S-2"}
    assert report["settings"]["residual"] is False and report["settings"]["command_lags"] == 0
    settings = report["settings"]
    assert (settings["window"], settings["horizon"], settings["error_step"]) == (250, 10, 1)
    assert (settings["members"], settings["novelty_window"]) == (3, 1)  # the chosen defaults
    for chan in report["channels"].values():
        assert {"tp", "fp", "fn", "predicted_sequences", "labelled_sequences"} <= set(chan)
    assert "f0_5_interval" in report and "f1_interval" in report  # see summarise_channels


def test_telemanom_members_and_novelty_options(cli, shared_data: Path) -> None:
    code, out, err = cli(
        "workload", "evaluate", "telemanom", "--data", str(shared_data / "msl"),
        "--channels", "T-9", "--steps", "20", "--members", "1", "--novelty-window", "0",
        "--format", "json",
    )  # fmt: skip
    assert code == ExitCode.OK, err
    report = json.loads(out)
    assert (report["settings"]["members"], report["settings"]["novelty_window"]) == (1, 0)


def test_telemanom_lstm_forecaster_runs_on_the_cpu(cli, shared_data: Path) -> None:
    code, out, err = cli(
        "workload", "evaluate", "telemanom", "--data", str(shared_data / "msl"),
        "--channels", "T-9", "--steps", "4", "--members", "1", "--model", "lstm",
        "--window", "32", "--hidden", "8", "--command-lags", "0", "--torch-device", "cpu",
        "--format", "json",
    )  # fmt: skip
    assert code == ExitCode.OK, err
    report = json.loads(out)
    assert (report["settings"]["model"], report["settings"]["torch_device"]) == ("lstm", "cpu")
    # two LSTM layers of 8 units over 32 values, a head on 8 + 2 x 54 command summaries
    lstm_params = 4 * 8 * (1 + 8 + 2) + 4 * 8 * (8 + 8 + 2)
    head_params = (8 + 2 * 54) * 8 + 8 + 8 * 8 + 8 + 8 * 10 + 10
    assert report["params"] == lstm_params + head_params
    # forward FLOPs of one step count the recurrence: 32 values x 4 gates x 8 units
    recurrence = 32 * 4 * 8 * ((1 + 8) + (8 + 8))
    assert report["forward_flops_per_step"] >= 2 * 64 * recurrence


def test_telemanom_table(cli, shared_data: Path) -> None:
    code, out, err = cli(
        "workload", "evaluate", "telemanom", "--data", str(shared_data / "msl"),
        "--channels", "M-6", "--steps", "30", "--spacecraft", "MSL",
    )  # fmt: skip
    assert code == ExitCode.OK, err
    lines = out.splitlines()
    assert lines[0].startswith("telemanom layout ") and "(MSL), 1 channel, event-wise" in lines[0]
    assert lines[1].split()[:4] == ["channel", "tp", "fp", "fn"]
    assert lines[2].startswith("M-6 ") and lines[3].startswith("total ")


def test_telemanom_baseline_json_on_one_channel(cli, shared_data: Path) -> None:
    code, out, err = cli(
        "workload", "evaluate", "telemanom-baseline", "--data", str(shared_data / "msl"),
        "--channels", "T-9", "--epochs", "1", "--format", "json",
    )  # fmt: skip
    assert code == ExitCode.OK, err
    report = json.loads(out)
    assert report["workload"] == "telemanom-baseline" and report["spacecraft"] == ["MSL"]
    assert report["params"] == 95_850 and report["models"] == 1  # telemanom's 80-80 LSTM
    assert report["epochs"] == {"T-9": 1}
    assert report["settings"]["inputs"] == "all" and report["settings"]["l_s"] == 250
    chan = report["channels"]["T-9"]
    assert chan["tp"] + chan["fn"] == 2  # T-9's two labelled anomalies
    assert report["tp"] + report["fp"] == len(chan["predicted_sequences"])


def test_telemanom_baseline_value_only_table(cli, shared_data: Path) -> None:
    code, out, err = cli(
        "workload", "evaluate", "telemanom-baseline", "--data", str(shared_data / "msl"),
        "--channels", "T-9", "--epochs", "1", "--inputs", "value",
    )  # fmt: skip
    assert code == ExitCode.OK, err
    lines = out.splitlines()
    assert lines[0].startswith("telemanom layout ") and "(MSL), 1 channel" in lines[0]
    assert lines[2].startswith("T-9 ")
    # one input column: 4 (80 (1 + 80) + 80) + 4 (80 (80 + 80) + 80) + 80 x 10 + 10
    assert lines[-1].startswith("  model: 78,570 parameters x 1, trained in ")


def test_missing_data_is_a_data_error(cli, tmp_path: Path) -> None:
    code, _, err = cli("workload", "evaluate", "opssat", "--data", str(tmp_path / "x.csv"))
    assert code == ExitCode.DATA
    assert f"orbitlearn: error: {tmp_path / 'x.csv'}: no such file" in err
    assert "Traceback" not in err
    code, _, err = cli("workload", "evaluate", "telemanom", "--data", str(tmp_path))
    assert code == ExitCode.DATA
    assert "no train/ directory" in err


def test_broken_column_names_the_column(cli, tmp_path: Path, shared_data: Path) -> None:
    lines = (shared_data / "opssat" / "dataset.csv").read_text().splitlines()
    header = lines[0].replace(",kurtosis", ",kurt")
    (tmp_path / "dataset.csv").write_text("\n".join([header, *lines[1:50]]) + "\n")
    code, _, err = cli("workload", "evaluate", "opssat", "--data", str(tmp_path))
    assert code == ExitCode.DATA
    assert "missing column `kurtosis`" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("command", "option", "value", "message"),
    [
        (
            "telemanom",
            "--format",
            "xml",
            "Expected `--format` to be one of 'table', 'json', actual: 'xml'",
        ),
        (
            "telemanom",
            "--model",
            "rnn",
            "Expected `--model` to be one of 'mlp', 'cnn', 'lstm', actual: 'rnn'",
        ),
        (
            "telemanom",
            "--torch-device",
            "gpu",
            "Expected `--torch-device` to be a torch device such as cpu or cuda, actual: 'gpu'",
        ),
        ("telemanom", "--steps", "0", "Expected `--steps` to be an integer >= 1, actual: 0"),
        (
            "telemanom",
            "--command-lags",
            "251",
            "Expected `--command-lags` to be an integer in [0, --window=250], actual: 251",
        ),
        (
            "telemanom",
            "--error-step",
            "11",
            "Expected `--error-step` to be an integer in [1, --horizon=10], actual: 11",
        ),
        ("telemanom", "--members", "0", "Expected `--members` to be an integer >= 1, actual: 0"),
        (
            "telemanom",
            "--novelty-window",
            "-1",
            "Expected `--novelty-window` to be an integer >= 0 (0: none), actual: -1",
        ),
        (
            "telemanom-baseline",
            "--inputs",
            "commands",
            "Expected `--inputs` to be all or value, actual: 'commands'",
        ),
        (
            "telemanom-baseline",
            "--epochs",
            "0",
            "Expected `--epochs` to be an integer >= 1, actual: 0",
        ),
        ("telemanom-baseline", "--seed", "-1", "Expected `seed` to be an integer >= 0, actual: -1"),
        (
            "telemanom-baseline",
            "--torch-device",
            "gpu",
            "Expected `--torch-device` to be a torch device such as cpu or cuda, actual: 'gpu'",
        ),
    ],
)
def test_bad_options_are_usage_errors(
    cli, shared_data: Path, command: str, option: str, value: str, message: str
) -> None:
    msl = str(shared_data / "msl")
    code, _, err = cli("workload", "evaluate", command, "--data", msl, option, value)
    assert code == ExitCode.USAGE
    assert message in err and "Traceback" not in err


def test_an_unknown_channel_is_a_data_error(cli, shared_data: Path) -> None:
    msl = str(shared_data / "msl")
    code, _, err = cli("workload", "evaluate", "telemanom", "--data", msl, "--channels", "X-1")
    assert code == ExitCode.DATA
    assert "no channel 'X-1'" in err


SMALL_MISSION = [
    "--set", 'constellation.walker="3/1/0"', "--set", "time.days=0.25",
    "--set", "time.step_s=60.0", "--set", "workload.samples_per_satellite=256",
]  # fmt: skip


def test_health_pooled_json_scores_every_anomaly_kind(cli) -> None:
    code, out, err = cli(
        "workload", "evaluate", "health", *SMALL_MISSION, "--steps", "300", "--format", "json"
    )
    assert code == ExitCode.OK, err
    report = json.loads(out)
    assert (report["workload"], report["mission"], report["satellites"]) == ("health", "default", 3)
    assert report["train_samples"] == 3 * 256 and report["steps"] == 300
    for key in ("precision", "recall", "f1", "f0_5", "auc_roc", "auc_pr", "params"):
        assert report[key] is not None, key
    assert (
        report["tp"] + report["fn"] > 0
        and report["tp"] + report["fp"] + report["fn"] + report["tn"] == report["test_windows"]
    )
    kinds = {"stuck", "drift", "spike", "dropout", "eclipse_power", "latchup"}
    assert set(report["per_kind"]) == kinds
    # 300 steps on 768 windows learn the health signal, far above chance
    assert report["auc_roc"] > 0.8
    settings = report["settings"]
    assert (settings["batch_size"], settings["learning_rate"]) == (64, 1e-3)  # the mission's


def test_health_pooled_table_and_errors(cli, tmp_path: Path) -> None:
    code, out, err = cli("workload", "evaluate", "health", *SMALL_MISSION, "--steps", "20")
    assert code == ExitCode.OK, err
    lines = out.splitlines()
    assert lines[0] == (
        "mission default: health on 3 satellites x 0.25 days, all satellites' data pooled"
    )
    assert lines[3].split() == ["kind", "precision", "recall", "F1", "windows"]
    assert "20 steps on 768 windows" in lines[-1]
    code, _, err = cli(
        "workload", "evaluate", "health", "--set", 'workload.name="synthetic"', "--steps", "5"
    )
    assert code == ExitCode.USAGE, err
    assert "workload.name" in err and "'synthetic'" in err and "such as 'health'" in err
    assert "Traceback" not in err
    code, _, err = cli("workload", "evaluate", "health", "--set", "time.days=-1")
    assert code == ExitCode.USAGE and "time.days" in err
    code, _, err = cli("workload", "evaluate", "health", "--steps", "0")
    assert code == ExitCode.USAGE and "Expected `--steps` to be an integer >= 1, actual: 0" in err
    code, _, err = cli("workload", "evaluate", "health", str(tmp_path / "missing.toml"))
    assert code != ExitCode.OK and "missing.toml" in err and "Traceback" not in err
