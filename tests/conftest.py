"""Shared fixtures.

Real reference data (TLEs, telemetry, space weather) lives in ``../shared/data`` beside the
project root (see its SOURCES.md); it is never copied into the repository. Tests that need it
ask for the ``shared_data`` fixture, which skips with a clear reason where the folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("ORBITLEARN_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ``../shared/data`` folder of real reference data."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``orbitlearn`` in-process: ``code, out, err = cli("contacts", "--walker", ...)``."""
    from orbitlearn.cli import run_cli

    def _run(*argv: str) -> tuple[int, str, str]:
        code = run_cli(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return _run
