"""``orbitlearn run``: simulate a mission and write its results.

A thin layer over :func:`orbitlearn.mission.runner.run_mission`::

    orbitlearn run                                 # the embedded default mission
    orbitlearn run mission.toml --set time.days=1 --set strategy.name=fedavg
    orbitlearn run --out runs/try1 --format json   # also print summary.json
    orbitlearn run --resume runs/try1              # continue an interrupted run

The run directory (default ``runs/<name>-<UTC timestamp>``) gets the resolved ``config.toml``,
``summary.json``, the Parquet tables and checkpoints (see :mod:`orbitlearn.mission.results`).
A progress bar over mission time goes to stderr when it is a terminal; the summary goes to
stdout. A bad configuration is one ``orbitlearn: error:`` line naming the field, the value and
what is allowed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from orbitlearn.cli._app import app
from orbitlearn.cli._mission_options import MissionFileArgument, OverridesOption
from orbitlearn.errors import InputError

__all__ = ["default_run_dir", "format_summary", "run"]

FORMATS = ("table", "json")


def default_run_dir(name: str, now_s: float | None = None) -> Path:
    """``runs/<name>-<YYYYmmddTHHMMSSZ>`` (UTC)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now_s is None else now_s))
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "mission"
    return Path("runs") / f"{safe}-{stamp}"


def _fmt(value: Any, spec: str = "{:.4g}") -> str:
    if value is None:
        return "never"
    if isinstance(value, float):
        return spec.format(value)
    return str(value)


def format_summary(summary: dict[str, Any], out_dir: Path | None) -> str:
    """The short human-readable summary printed after a run."""
    faults = summary["faults"]
    lines = [
        f"mission {summary['name']!r}: {summary['satellites']} satellites, "
        f"{summary['mission_days']:g} days, strategy {summary['strategy']}, "
        f"workload {summary['workload']}",
        f"  {summary['metric_name']}: {_fmt(summary['initial_metric'])} -> "
        f"{_fmt(summary['final_metric'])} (best {_fmt(summary['best_metric'])}) after "
        f"{summary['aggregations']} aggregations",
        f"  target {summary['target_metric']:g} reached after "
        + (
            f"{summary['time_to_target_h']:.2f} h"
            if summary["time_to_target_h"] is not None
            else "- (not reached)"
        ),
        f"  energy {summary['energy_wh']:.4g} Wh; bytes up {summary['bytes_up']:,}, "
        f"down {summary['bytes_down']:,}, ISL {summary['bytes_isl']:,}",
        f"  faults injected {faults['injected']}, detected {faults['detected']}, corrected "
        f"{faults['corrected']}, silent <= {faults['silent']}; resets {summary['resets']}; "
        f"rejected updates {summary['rejected_updates']}",
    ]
    lines.extend(f"  note: {note}" for note in summary.get("notes", []))
    if out_dir is not None:
        lines.append(f"  results in {out_dir}")
    return "\n".join(lines)


class _Progress:
    """A rich progress bar over mission time on stderr (nothing when stderr is no terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._last = 0.0

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>5.1f}%"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.__enter__()
        return self

    def __call__(self, stage: str, fraction: float) -> None:
        if self._bar is None:
            return
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < 0.1:
            return
        self._last = now
        if stage not in self._tasks:
            label = "timeline" if stage == "timeline" else "mission time"
            self._tasks[stage] = self._bar.add_task(label, total=1.0)
        self._bar.update(self._tasks[stage], completed=fraction)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


@app.command()
def run(
    config: MissionFileArgument = None,
    overrides: OverridesOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Run directory (default: runs/<name>-<timestamp>)."),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="table (a short summary) or json (summary.json).")
    ] = "table",
    resume: Annotated[
        Path | None,
        typer.Option("--resume", help="Continue the interrupted run in this directory."),
    ] = None,
) -> None:
    """Simulate a mission: satellites train and learn together over simulated orbits."""
    from orbitlearn.mission.config import load_mission
    from orbitlearn.mission.runner import resume_mission, run_mission

    if output_format not in FORMATS:
        raise InputError("--format", output_format, "one of 'table', 'json'")
    with _Progress(sys.stderr.isatty()) as progress:
        if resume is not None:
            if config is not None or out is not None:
                raise InputError(
                    "--resume",
                    str(resume),
                    "used alone (the run directory holds its configuration and results)",
                    hint="--set executor.* may change where training runs",
                )
            result = resume_mission(resume, progress=progress, overrides=list(overrides or []))
            out_dir = resume
        else:
            mission = load_mission(config, list(overrides or []))
            out_dir = out if out is not None else default_run_dir(mission.name)
            finished = run_mission(mission, out_dir, progress=progress)
            assert finished is not None
            result = finished
    if output_format == "json":
        typer.echo(json.dumps(result.summary, indent=2))
    else:
        typer.echo(format_summary(result.summary, out_dir))
