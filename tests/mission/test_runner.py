"""The runner's handling of the report: a failing report never loses the results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orbitlearn import report
from orbitlearn.mission.runner import run_mission, write_report_if_available

from .conftest import tiny_config


def _broken_writer(out_dir: Path) -> Path:
    (Path(out_dir) / "report.html").write_text("<html><body>half")
    raise RuntimeError("matplotlib backend exploded")


def test_a_failing_report_warns_and_leaves_no_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr(report, "write_report", _broken_writer)
    assert write_report_if_available(tmp_path) is None
    err = capsys.readouterr().err
    assert err.startswith("orbitlearn: warning: report.html was not written (RuntimeError: ")
    assert "matplotlib backend exploded" in err
    assert not (tmp_path / "report.html").exists()


def test_a_mission_whose_report_fails_keeps_every_other_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr(report, "write_report", _broken_writer)
    config = tiny_config("output.report=true", "time.days=0.125", "output.checkpoint_every_h=0")
    result = run_mission(config, tmp_path)
    assert result is not None
    assert "report.html was not written" in capsys.readouterr().err
    for name in ("summary.json", "metrics.parquet", "updates.parquet", "config.toml"):
        assert (tmp_path / name).is_file(), name
    run_info = json.loads((tmp_path / "run.json").read_text())
    assert run_info["report_written"] is False and "report" not in run_info
    assert not (tmp_path / "report.html").exists()


def test_run_json_says_no_report_when_the_report_is_off(tmp_path: Path):
    config = tiny_config("time.days=0.125", "output.checkpoint_every_h=0")
    assert config.output.report is False
    assert run_mission(config, tmp_path) is not None
    assert json.loads((tmp_path / "run.json").read_text())["report_written"] is False
    assert not (tmp_path / "report.html").exists()
