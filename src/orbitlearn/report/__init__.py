"""orbitlearn.report: the self-contained HTML report of a mission run.

:func:`write_report` reads a run directory (written by ``orbitlearn run --out DIR``; files in
:mod:`orbitlearn.mission.results`), draws the figures and writes ``report.html`` beside the
results::

    from orbitlearn.report import write_report
    write_report(Path("runs/default-20260101T000000Z"))   # -> .../report.html

or, from the shell, ``orbitlearn report DIR``. The page embeds its figures (PNG ``data:`` URIs)
and CSS: it opens offline, with no scripts, fonts or links to fetch.

Modules: :mod:`~orbitlearn.report.load` (read and check the run's files),
:mod:`~orbitlearn.report.plots` (the matplotlib figures), :mod:`~orbitlearn.report.html`
(page assembly). Nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path

from orbitlearn.report.load import RunData, load_run

__all__ = ["REPORT_NAME", "RunData", "load_run", "write_report"]

#: File name of the report inside a run directory.
REPORT_NAME = "report.html"


def write_report(
    run_dir: str | Path, *, output: str | Path | None = None, max_timeline_satellites: int = 12
) -> Path:
    """Write the HTML report of a run directory.

    Args:
        run_dir: the run directory (``summary.json``, ``metrics.parquet``, ... inside).
        output: where to write the report (default ``run_dir/report.html``); written atomically
            (temporary file, fsync, rename), so a failed run never leaves half a page.
        max_timeline_satellites: how many satellites get their own lane in the timeline (the
            strips below it always cover the whole constellation).

    Returns:
        the path of the report.

    Raises:
        DataError: the run directory or one of its files is missing or unreadable (the message
            names the file), or the report cannot be written.
        InputError: ``max_timeline_satellites`` is below 1.
    """
    from orbitlearn.errors import InputError
    from orbitlearn.report.html import render_report, write_atomically

    if max_timeline_satellites < 1:
        raise InputError("max_timeline_satellites", max_timeline_satellites, "an integer >= 1")
    run = load_run(run_dir)
    target = Path(output) if output is not None else run.run_dir / REPORT_NAME
    if target.is_dir():
        raise InputError("output", str(target), "a file path, not a directory")
    page = render_report(run, max_timeline_satellites=max_timeline_satellites)
    write_atomically(target, page)
    return target
