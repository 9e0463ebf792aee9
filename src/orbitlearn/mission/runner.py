"""Run a mission end to end: build, simulate, write the run directory; resume one.

:func:`run_mission` is what ``orbitlearn run`` does: it resolves the configuration
(:func:`~orbitlearn.mission.build.build_mission`), writes ``config.toml`` and
``timeline.parquet`` into the run directory first, runs the
:class:`~orbitlearn.mission.engine.MissionEngine` with mission checkpoints in
``DIR/checkpoint/``, and writes the results (:mod:`orbitlearn.mission.results`) and, when
:mod:`orbitlearn.report` provides ``write_report``, ``report.html``.

:func:`resume_mission` continues an interrupted run from ``DIR/checkpoint/mission.ckpt``: the
configuration comes from ``DIR/config.toml``, the timeline is read back bit for bit from
``DIR/timeline.parquet``, every stateful object is loaded from the checkpoint, and the run ends
exactly where an uninterrupted run with the same configuration ends.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from orbitlearn.errors import CheckpointError, DataError
from orbitlearn.mission.build import MissionBuild, build_mission
from orbitlearn.mission.config import MissionConfig, load_mission, to_toml
from orbitlearn.mission.engine import (
    CHECKPOINT_NAME,
    FrameFilter,
    MissionEngine,
    load_checkpoint_file,
)
from orbitlearn.mission.executors import Executor
from orbitlearn.mission.results import MissionResult, write_text
from orbitlearn.mission.workload import MissionWorkload

__all__ = ["resume_mission", "run_mission", "write_report_if_available"]

Progress = Callable[[str, float], None]


def _engine(
    build: MissionBuild,
    out_dir: Path | None,
    executor: Executor | None,
    progress: Progress | None,
    frame_filter: FrameFilter | None,
) -> MissionEngine:
    return MissionEngine(
        build,
        executor=executor,
        checkpoint_dir=None if out_dir is None else out_dir / "checkpoint",
        progress=None if progress is None else (lambda f: progress("mission", f)),
        frame_filter=frame_filter,
    )


def write_report_if_available(out_dir: Path) -> Path | None:
    """Call ``orbitlearn.report.write_report(out_dir)`` when the report module provides it.

    A report that fails (a plotting error, a full disk) never costs the run its results: the
    error is printed to stderr as a warning and ``None`` is returned, as when there is no
    report module.

    Returns:
        The path of ``report.html``, or ``None`` when none was written.
    """
    try:
        from orbitlearn import report
    except ImportError:  # pragma: no cover - the package exists
        return None
    writer = getattr(report, "write_report", None)
    if writer is None:
        return None
    try:
        written = writer(out_dir)
    except Exception as exc:  # a report must never lose the results already written
        print(
            f"orbitlearn: warning: report.html was not written ({type(exc).__name__}: {exc}); "
            f"the other results in {out_dir} are complete",
            file=sys.stderr,
        )
        # no half-written (or earlier run's) report may pass for this run's
        (out_dir / "report.html").unlink(missing_ok=True)
        return None
    return Path(written) if written is not None else out_dir / "report.html"


def _finish(result: MissionResult, out_dir: Path | None, config: MissionConfig) -> MissionResult:
    if out_dir is not None:
        result.write(out_dir)
        report = write_report_if_available(out_dir) if config.output.report else None
        result.run_info["report_written"] = report is not None
        if report is not None:
            result.run_info["report"] = str(report)
        # run.json again, now that it knows whether report.html was written
        write_text(out_dir / "run.json", json.dumps(result.run_info, indent=2) + "\n")
    return result


def run_mission(
    config: MissionConfig,
    out_dir: str | Path | None = None,
    *,
    executor: Executor | None = None,
    progress: Progress | None = None,
    frame_filter: FrameFilter | None = None,
    stop_after_s: float | None = None,
    workload: MissionWorkload | None = None,
) -> MissionResult | None:
    """Run ``config`` and (if ``out_dir``) write the run directory.

    Args:
        config: the mission.
        out_dir: the run directory (created; files in it are replaced).
        executor: where training jobs run (default: ``config.executor``).
        progress: ``progress(stage, fraction)`` with stage ``"timeline"`` then ``"mission"``.
        frame_filter: test hook on every received frame (see :class:`MissionEngine`).
        stop_after_s: stop before the first event after this mission time (``unix_s``), as if
            the process had been killed (checkpoints written so far stay); returns ``None``.
        workload: a workload object instead of ``workload.name`` (not resumable by
            :func:`resume_mission`, which rebuilds the workload from the configuration).

    Raises:
        ConfigError: the configuration does not resolve; DataError: ``out_dir`` is not writable.
    """
    out = None if out_dir is None else Path(out_dir)
    build = build_mission(
        config,
        workload=workload,
        progress=None if progress is None else (lambda f: progress("timeline", f)),
    )
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create the run directory {out}: {exc}") from None
        stale = out / "checkpoint" / CHECKPOINT_NAME
        if stale.exists():
            stale.unlink()
        write_text(out / "config.toml", to_toml(config))
        build.timeline.save(out / "timeline.parquet")
    engine = _engine(build, out, executor, progress, frame_filter)
    result = engine.run(stop_after_s=stop_after_s)
    if result is None:
        return None
    return _finish(result, out, config)


def resume_mission(
    run_dir: str | Path,
    *,
    executor: Executor | None = None,
    progress: Progress | None = None,
    frame_filter: FrameFilter | None = None,
    overrides: list[str] | None = None,
) -> MissionResult:
    """Continue the run in ``run_dir`` from its last checkpoint and write its results.

    Args:
        run_dir: a directory written by :func:`run_mission` (``--out``).
        executor: where training jobs run (default: the configured one).
        progress: as for :func:`run_mission` (``"mission"`` stage only).
        frame_filter: as for :func:`run_mission`.
        overrides: ``executor.*`` settings to change for the rest of the run (the only part of
            the configuration that may change: it does not change results).

    Raises:
        CheckpointError: no checkpoint, a corrupt one, or one of another mission.
        ConfigError: ``config.toml`` is invalid, or an override outside ``executor``.
    """
    from orbitlearn.errors import ConfigError
    from orbitlearn.space.timeline import Timeline

    out = Path(run_dir)
    config_path = out / "config.toml"
    checkpoint = out / "checkpoint" / CHECKPOINT_NAME
    if not config_path.is_file():
        raise CheckpointError(f"{out} is not a run directory (no config.toml)")
    if not checkpoint.is_file():
        raise CheckpointError(
            f"{out} has no mission checkpoint ({checkpoint}); "
            "checkpoints are written every output.checkpoint_every_h of mission time"
        )
    for item in overrides or []:
        if not item.strip().startswith("executor."):
            raise ConfigError(
                "--set", item, "an executor.* setting when resuming (results must not change)"
            )
    config = load_mission(config_path, overrides)
    state = load_checkpoint_file(checkpoint)
    try:
        timeline = Timeline.load(out / "timeline.parquet")
    except DataError as exc:
        raise CheckpointError(f"cannot resume {out}: {exc}") from None
    build = build_mission(config, timeline=timeline)
    engine = _engine(build, out, executor, progress, frame_filter)
    engine.load_state_dict(state)
    result = engine.run()
    assert result is not None
    return _finish(result, out, config)
