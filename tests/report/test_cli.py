"""``orbitlearn report DIR``."""

from __future__ import annotations

from pathlib import Path

import orbitlearn.cli.report  # noqa: F401  registers the command (until cli/__init__ lists it)


def test_report_command_writes_the_page(cli, run_dir: Path, tmp_path: Path):
    target = tmp_path / "page.html"
    code, out, err = cli("report", str(run_dir), "-o", str(target), "--timeline-satellites", "2")
    assert code == 0, err
    assert out == f"report written to {target}\n"
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and "the first 2 satellites" in page


def test_report_command_errors(cli, run_dir: Path, tmp_path: Path):
    code, _, err = cli("report", str(tmp_path / "nowhere"))
    assert code == 4
    assert err == (
        f"orbitlearn: error: {tmp_path / 'nowhere'} is not a directory; expected a run "
        "directory written by `orbitlearn run --out DIR`\n"
    )
    (run_dir / "metrics.parquet").unlink()
    code, _, err = cli("report", str(run_dir))
    assert code == 4 and f"{run_dir / 'metrics.parquet'} is missing" in err
    code, _, err = cli("report", str(tmp_path), "--timeline-satellites", "0")
    assert code == 2
    assert err == (
        "orbitlearn: error: Expected `--timeline-satellites` to be an integer >= 1, actual: 0\n"
    )
