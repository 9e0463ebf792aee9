"""``orbitlearn run`` on a tiny mission: JSON summary, files, resume, pinned error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orbitlearn.cli.run import default_run_dir

TINY = [
    "--set",
    'name="cli-tiny"',
    "--set",
    'workload.name="synthetic"',
    "--set",
    "workload.samples_per_satellite=64",
    "--set",
    "workload.batch_size=32",
    "--set",
    'constellation.walker="3/1/0"',
    "--set",
    "time.days=0.125",
    "--set",
    "time.step_s=60.0",
    "--set",
    "strategy.local_steps=4",
    "--set",
    "strategy.buffer_size=1",
    "--set",
    "output.checkpoint_every_h=1.0",
]


def test_run_prints_the_summary_json_and_writes_the_run_directory(cli, tmp_path: Path):
    out = tmp_path / "run"
    code, stdout, stderr = cli("run", *TINY, "--out", str(out), "--format", "json")
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary == json.loads((out / "summary.json").read_text())
    assert summary["name"] == "cli-tiny" and summary["satellites"] == 3
    assert summary["mission_days"] == 0.125
    assert 'name = "cli-tiny"' in (out / "config.toml").read_text()
    assert stderr == ""  # no progress bar when stderr is not a terminal


def test_run_table_output_is_a_short_summary(cli, tmp_path: Path):
    code, stdout, _ = cli("run", *TINY, "--out", str(tmp_path / "r"))
    assert code == 0
    assert stdout.startswith("mission 'cli-tiny': 3 satellites, 0.125 days, strategy fedbuff")
    assert f"results in {tmp_path / 'r'}" in stdout


def test_resume_continues_a_run_directory(cli, tmp_path: Path):
    out = tmp_path / "run"
    assert cli("run", *TINY, "--out", str(out), "--format", "json")[0] == 0
    first = json.loads((out / "summary.json").read_text())
    code, stdout, stderr = cli("run", "--resume", str(out), "--format", "json")
    assert code == 0, stderr
    assert json.loads(stdout) == first  # resumed from the last checkpoint: same ending


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set", "time.days=-1"],
            "orbitlearn: error: Expected `time.days` to be a number > 0 and <= 366, "
            "actual: -1. Source: --set overrides",
        ),
        (
            ["--set", "strategy.nme=fedavg"],
            "orbitlearn: error: Expected `--set` to be a known setting (known here: ",
        ),
        (
            ["--set", 'satellite.device="pi"'],
            "orbitlearn: error: Expected `satellite.device` to be one of "
            "'jetson-orin-nano-7w', 'jetson-orin-nano-15w', 'jetson-orin-nano-25w', "
            "'raspberry-pi-4', 'rad-hard-cpu', actual: 'pi'",
        ),
        (
            ["--format", "yaml"],
            "orbitlearn: error: Expected `--format` to be one of 'table', 'json', actual: 'yaml'",
        ),
    ],
)
def test_bad_settings_give_one_clear_line(cli, tmp_path: Path, args, message):
    code, stdout, stderr = cli("run", *args, "--out", str(tmp_path / "x"))
    assert code == 2
    assert stderr.startswith(message), stderr
    assert "Traceback" not in stderr and stdout == ""


def test_resume_of_a_directory_without_checkpoint_is_a_checkpoint_error(cli, tmp_path: Path):
    code, _, stderr = cli("run", "--resume", str(tmp_path))
    assert code == 5
    assert stderr.startswith(f"orbitlearn: error: {tmp_path} is not a run directory")


def test_default_run_directory_is_under_runs_with_a_utc_stamp():
    assert default_run_dir("default", 0.0) == Path("runs/default-19700101T000000Z")
    assert default_run_dir("a b/c", 0.0).name == "a_b_c-19700101T000000Z"


def test_unknown_workload_lists_the_known_ones(cli, tmp_path: Path):
    code, _, stderr = cli("run", "--set", 'workload.name="weather"', "--out", str(tmp_path))
    assert code == 2
    assert stderr.startswith("orbitlearn: error: Expected `workload.name` to be one of ")
    assert "'synthetic'" in stderr and stderr.rstrip().endswith("actual: 'weather'")
