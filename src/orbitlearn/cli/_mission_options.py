"""Shared arguments of the commands that take a mission (``run``, ``workload evaluate health``):
the mission file and its ``--set`` overrides, spelled and explained the same way in both."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["MissionFileArgument", "OverridesOption"]

MissionFileArgument = Annotated[
    Path | None,
    typer.Argument(help="Mission file (TOML); default: the embedded default mission."),
]
OverridesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a setting, KEY=VALUE with VALUE in TOML (repeatable), e.g. "
        '--set time.days=1 --set strategy.name="fedavg".',
    ),
]
