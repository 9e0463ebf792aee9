"""``orbitlearn report``: (re)write the HTML report of a run directory.

A thin layer over :func:`orbitlearn.report.write_report`::

    orbitlearn report runs/default-20260101T000000Z          # -> DIR/report.html
    orbitlearn report runs/try1 --output try1.html --timeline-satellites 24

``orbitlearn run`` writes the report itself; this command redraws it (after an upgrade, or with
other options) from the files of the run, without simulating anything. A missing or corrupt file
is one ``orbitlearn: error:`` line naming it (exit status 4).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orbitlearn.cli._app import app
from orbitlearn.errors import InputError

__all__ = ["report"]


@app.command()
def report(
    run_dir: Annotated[
        Path, typer.Argument(help="Run directory written by `orbitlearn run --out DIR`.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write the page (default: DIR/report.html)."),
    ] = None,
    timeline_satellites: Annotated[
        int,
        typer.Option(
            "--timeline-satellites",
            help="How many satellites get their own lane in the timeline (the strips below it "
            "cover every satellite).",
        ),
    ] = 12,
) -> None:
    """Write the self-contained HTML report (plots, tables, configuration) of a mission run."""
    from orbitlearn.report import write_report

    if timeline_satellites < 1:
        raise InputError("--timeline-satellites", timeline_satellites, "an integer >= 1")
    if output is not None and not output.parent.is_dir():
        raise InputError("--output", str(output), "a path in an existing directory")
    written = write_report(run_dir, output=output, max_timeline_satellites=timeline_satellites)
    typer.echo(f"report written to {written}")
