"""The report's figures, drawn with matplotlib's Agg canvas (no pyplot, no global state).

Each ``*_figure`` function takes a :class:`~orbitlearn.report.load.RunData` and returns a
:class:`matplotlib.figure.Figure` (or ``None`` when the run lacks the data it needs); time axes
are hours from the mission start. :func:`figure_png_base64` turns a figure into the base64 text
of a PNG for a ``data:`` URI.

Figures:

- :func:`quality_figure`: the global model's metric over mission time (a step curve, each new
  global model a dot), the target line and the time the target was first reached.
- :func:`timeline_figure`: a Gantt chart of the first satellites (eclipse and SAA, ground
  contacts and ISL windows, and what the satellite did), above constellation-wide strips: how
  many satellites are in eclipse / SAA / contact, and how many train / transmit / receive /
  recover / wait, averaged over short bins.
- :func:`battery_figure`: the battery state of charge, the min-max band and mean over all
  satellites, a few satellites (the one that ran lowest among them), the training threshold.
- :func:`faults_figure`: cumulative faults injected / detected / corrected / silent, resets
  marked where they happened.
- :func:`traffic_figure`: cumulative bytes up / down / over ISL, and cumulative energy.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from orbitlearn.report.load import RunData, Table

__all__ = [
    "ACTIVITY_COLOURS",
    "ENVIRONMENT_COLOURS",
    "battery_figure",
    "cumulative_series",
    "faults_figure",
    "figure_png_base64",
    "mean_count",
    "quality_figure",
    "timeline_figure",
    "traffic_figure",
]

#: Colours of the environment windows in the timeline.
ENVIRONMENT_COLOURS = {
    "eclipse": "#4d4d4d",
    "saa": "#d62728",
    "contact": "#2ca02c",
    "isl": "#17becf",
}
#: Colours of the satellites' activities (``activity.parquet``'s ``activity`` values).
ACTIVITY_COLOURS = {
    "training": "#1f77b4",
    "transmitting": "#ff7f0e",
    "receiving": "#9467bd",
    "recovering": "#000000",
    "waiting_battery": "#e6b800",
    "waiting_saa": "#f4a6b7",
    "waiting_eclipse": "#b0b0b0",
}
_FAULT_COLOURS = {
    "injected": "#d62728",
    "detected": "#ff7f0e",
    "corrected": "#2ca02c",
    "silent": "#7f7f7f",
}
_LABELS = {
    "saa": "SAA",
    "contact": "ground contact",
    "isl": "ISL window",
    "waiting_battery": "waiting (battery)",
    "waiting_saa": "waiting (SAA)",
    "waiting_eclipse": "waiting (eclipse)",
}
#: Bins of the constellation-wide strips over the mission.
_STRIP_BINS = 720
#: Narrowest bar drawn in the Gantt chart, as a share of the mission (about one pixel), so
#: that millisecond-long slices stay visible.
_MIN_BAR_SHARE = 1.0 / 1500.0


def _figure(
    width_in: float,
    height_in: float,
    *,
    left_in: float = 0.75,
    right_in: float = 0.2,
    top_in: float = 0.35,
    bottom_in: float = 0.5,
    hspace_in: float = 0.0,
    wspace_in: float = 0.0,
    rows: int = 1,
    cols: int = 1,
) -> Any:
    """A figure on its own Agg canvas with fixed margins in inches.

    Fixed margins instead of a layout engine: a layout engine makes ``savefig`` draw every
    figure twice, and the report is written at the end of every ``orbitlearn run``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(figure)
    axes_w = (width_in - left_in - right_in - (cols - 1) * wspace_in) / cols
    axes_h = (height_in - top_in - bottom_in - (rows - 1) * hspace_in) / rows
    figure.subplots_adjust(
        left=left_in / width_in,
        right=1.0 - right_in / width_in,
        top=1.0 - top_in / height_in,
        bottom=bottom_in / height_in,
        hspace=hspace_in / axes_h if rows > 1 else 0.2,
        wspace=wspace_in / axes_w if cols > 1 else 0.2,
    )
    return figure


def figure_png_base64(figure: Any, *, dpi: int = 96) -> str:
    """The figure as a PNG, base64-encoded (ASCII), for ``<img src="data:image/png;base64,...">``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _hours(run: RunData, unix_s: np.ndarray) -> np.ndarray:
    return (np.asarray(unix_s, dtype=np.float64) - run.start_unix_s) / 3600.0


def _finish_time_axis(axes: Any, run: RunData, *, label: bool = True) -> None:
    axes.set_xlim(0.0, run.duration_h)
    if label:
        axes.set_xlabel("mission time (h)")
    axes.grid(True, alpha=0.3, linewidth=0.6)


def _steps(hours: np.ndarray, values: np.ndarray, end_h: float) -> tuple[np.ndarray, np.ndarray]:
    """A step series extended to ``end_h`` with its last value (for ``drawstyle='steps-post'``)."""
    if hours.size == 0:
        return np.array([0.0, end_h]), np.zeros(2)
    if hours[-1] < end_h:
        return np.append(hours, end_h), np.append(values, values[-1])
    return hours, values


def cumulative_series(
    run: RunData, column: str, total: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """A cumulative metrics column as ``(mission_h, value)`` samples, ending at the run's total.

    ``metrics.parquet`` samples the counters at evaluations and snapshots only; when the
    summary's ``total`` (the value at ``ended_h``) is larger than the last sample, it is
    appended at the end of the mission so the curve ends where the headline number is.
    """
    metrics = run.metrics
    hours = metrics["mission_h"].astype(np.float64)
    values = np.nan_to_num(metrics[column].astype(np.float64), nan=0.0)
    if hours.size == 0:
        hours, values = np.array([0.0]), np.array([0.0])
    ended = run.summary.get("ended_h", run.duration_h)
    end_h = float(ended) if isinstance(ended, int | float) else run.duration_h
    known = isinstance(total, int | float) and not isinstance(total, bool)
    if known and end_h >= hours[-1] and (end_h > hours[-1] or float(total) != values[-1]):
        hours = np.append(hours, end_h)
        values = np.append(values, max(float(total), float(values[-1])))
    return hours, values


def mean_count(starts_s: np.ndarray, ends_s: np.ndarray, edges_s: np.ndarray) -> np.ndarray:
    """Mean number of intervals in progress in each bin ``[edges[i], edges[i+1]]``.

    Exact for any interval length (a 1 ms span adds 1 ms of occupancy, not a whole bin):
    ``F(t) = sum_i clip(t - start_i, 0, end_i - start_i)`` is the time integral of the count,
    evaluated at the edges through sorted cumulative sums. Use times relative to the mission
    start to keep the sums accurate.

    Args:
        starts_s, ends_s: interval bounds, shape ``(n,)``, ``ends_s >= starts_s``.
        edges_s: increasing bin edges, shape ``(m + 1,)``.

    Returns:
        shape ``(m,)``.

    >>> mean_count(np.array([0.0, 5.0]), np.array([10.0, 6.0]), np.array([0.0, 5.0, 10.0]))
    array([1. , 1.2])
    """
    edges = np.asarray(edges_s, dtype=np.float64)

    def integral(bounds: np.ndarray) -> np.ndarray:
        ordered = np.sort(np.asarray(bounds, dtype=np.float64))
        prefix = np.concatenate(([0.0], np.cumsum(ordered)))
        count = np.searchsorted(ordered, edges, side="right")
        result: np.ndarray = count * edges - prefix[count]
        return result

    covered = integral(starts_s) - integral(ends_s)
    widths = np.diff(edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        counts: np.ndarray = np.where(widths > 0, np.diff(covered) / widths, 0.0)
    return counts


# --- (a) model quality ---------------------------------------------------------------------


def quality_figure(run: RunData) -> Any:
    """The global model's metric over mission time, the target and when it was reached."""
    summary = run.summary
    metrics = run.metrics
    evaluations = metrics.where(metrics["kind"] == "evaluation")
    if len(evaluations):
        hours, values = evaluations["mission_h"], evaluations["metric"]
    else:
        curve = np.asarray(summary["curve"], dtype=np.float64).reshape(-1, 2)
        hours, values = curve[:, 0], curve[:, 1]
    metric_name = str(summary.get("metric_name", "metric"))
    figure = _figure(10.0, 4.0)
    axes = figure.subplots()
    end_h = run.duration_h
    x, y = _steps(hours, values, end_h)
    axes.plot(x, y, drawstyle="steps-post", color="#1f77b4", linewidth=1.6, label="global model")
    axes.plot(hours, values, "o", color="#1f77b4", markersize=3.0, label="new global model")
    target = summary.get("target_metric")
    if isinstance(target, int | float):
        axes.axhline(
            float(target),
            color="#d62728",
            linestyle="--",
            linewidth=1.0,
            label=f"target {target:g}",
        )
    reached = summary.get("time_to_target_h")
    if isinstance(reached, int | float):
        # the evaluation that reached the target (summary times are rounded: take the nearest)
        at = int(np.argmin(np.abs(hours - reached))) if hours.size else -1
        level = float(values[at]) if at >= 0 else float(target or 0.0)
        axes.axvline(float(reached), color="#2ca02c", linestyle=":", linewidth=1.2)
        axes.plot(
            [reached],
            [level],
            marker="*",
            markersize=14,
            color="#2ca02c",
            linestyle="none",
            label=f"target reached at {reached:.2f} h",
        )
    else:
        axes.text(
            0.99,
            0.03,
            f"target not reached in {end_h:.3g} h",
            transform=axes.transAxes,
            ha="right",
            va="bottom",
            fontsize=9,
            color="#d62728",
        )
    axes.set_ylabel(metric_name)
    axes.set_title(f"Model quality ({metric_name}) of the global model")
    axes.legend(loc="best", fontsize=8)
    _finish_time_axis(axes, run)
    return figure


# --- (b) timeline ------------------------------------------------------------------------------


def _bars(
    x0_h: np.ndarray, x1_h: np.ndarray, y0: np.ndarray, height: float, min_width_h: float
) -> np.ndarray:
    """Rectangles ``(n, 4, 2)`` for a PolyCollection."""
    x1 = np.maximum(x1_h, x0_h + min_width_h)
    y1 = y0 + height
    return np.stack(
        [
            np.stack([x0_h, y0], axis=-1),
            np.stack([x1, y0], axis=-1),
            np.stack([x1, y1], axis=-1),
            np.stack([x0_h, y1], axis=-1),
        ],
        axis=1,
    )


def _satellite_names(run: RunData, n_sats: int) -> list[str]:
    names = [f"sat {i}" for i in range(n_sats)]
    if run.satellites is not None:
        for index, name in zip(run.satellites["satellite"], run.satellites["name"], strict=True):
            if 0 <= index < n_sats:
                names[int(index)] = str(name)
    return names


def _n_satellites(run: RunData) -> int:
    count = run.summary.get("satellites")
    if isinstance(count, int) and count > 0:
        return count
    if run.satellites is not None and len(run.satellites):
        return int(run.satellites["satellite"].max()) + 1
    return 0


def _legend_labels(run: RunData) -> list[str]:
    """The environment kinds and activities the timeline's legend lists."""
    labels: list[str] = []
    if run.environment is not None:
        kinds = set(run.environment["kind"].tolist())
        labels += [kind for kind in ENVIRONMENT_COLOURS if kind in kinds]
    if run.activity is not None:
        kinds = set(run.activity["activity"].tolist())
        labels += [kind for kind in ACTIVITY_COLOURS if kind in kinds]
    return labels


def timeline_figure(run: RunData, *, max_satellites: int = 12) -> Any:
    """Gantt chart of the first ``max_satellites`` satellites over constellation-wide strips.

    Each satellite's lane has three rows: eclipse (grey) and SAA (red); ground contacts (green)
    and ISL windows (cyan); and its activity. Below, the mean number of satellites per bin in
    eclipse, SAA and ground contact, and in each activity. Returns ``None`` when neither
    ``environment.parquet`` nor ``activity.parquet`` is there.
    """
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    if run.environment is None and run.activity is None:
        return None
    n_sats = _n_satellites(run)
    shown = max(1, min(n_sats, max_satellites))
    names = _satellite_names(run, max(n_sats, shown))
    end_h = run.duration_h
    min_width_h = end_h * _MIN_BAR_SHARE

    lane_in = 0.34
    strips_in = (1.2, 1.4)
    legend_rows = -(-len(_legend_labels(run)) // 6)
    top_in = 0.35 + 0.2 * legend_rows
    names = [name if len(name) <= 18 else name[:17] + "…" for name in names]
    label_in = 0.25 + 0.062 * max((len(n) for n in names[:shown]), default=4)
    gantt_in = max(lane_in * shown, 1.2)
    figure = _figure(
        10.0,
        top_in + gantt_in + sum(strips_in) + 2 * 0.45 + 0.5,
        left_in=max(label_in, 0.75),
        top_in=top_in,
        hspace_in=0.45,
        rows=3,
    )
    gantt, env_strip, act_strip = figure.subplots(
        3, 1, sharex=True, height_ratios=(gantt_in, *strips_in)
    )
    rows = {  # (row offset within a lane, row height)
        "eclipse": (0.06, 0.26),
        "saa": (0.11, 0.16),
        "contact": (0.36, 0.26),
        "isl": (0.41, 0.16),
        "activity": (0.66, 0.28),
    }

    def draw(table: Table | None, column: str, colours: dict[str, str], row_of: Any) -> None:
        if table is None:
            return
        sats = table["satellite"]
        in_lanes = (sats >= 0) & (sats < shown)
        for label, colour in colours.items():
            keep = in_lanes & (table[column] == label)
            if not np.any(keep):
                continue
            offset, height = rows[row_of(label)]
            verts = _bars(
                _hours(run, table["start_unix_s"][keep]),
                _hours(run, table["end_unix_s"][keep]),
                sats[keep].astype(np.float64) + offset,
                height,
                min_width_h,
            )
            gantt.add_collection(PolyCollection(list(verts), facecolors=colour, linewidths=0))

    draw(run.environment, "kind", ENVIRONMENT_COLOURS, lambda label: label)
    draw(run.activity, "activity", ACTIVITY_COLOURS, lambda label: "activity")
    gantt.set_ylim(shown, 0.0)
    gantt.set_yticks(np.arange(shown) + 0.5, names[:shown], fontsize=7)
    gantt.set_yticks(np.arange(shown + 1), minor=True)
    gantt.tick_params(axis="y", which="minor", length=0)
    gantt.grid(True, axis="y", which="minor", color="#dddddd", linewidth=0.6)
    gantt.grid(True, axis="x", alpha=0.3, linewidth=0.6)
    subset = f"satellites 1-{shown} of {n_sats}" if shown < n_sats else f"all {n_sats} satellites"
    colours = {**ENVIRONMENT_COLOURS, **ACTIVITY_COLOURS}
    legend = [
        Patch(facecolor=colours[label], label=_LABELS.get(label, label))
        for label in _legend_labels(run)
    ]
    gantt.set_title(
        f"Timeline ({subset}): in each lane eclipse / SAA, contact / ISL, activity",
        fontsize=10,
        pad=4 + 13 * legend_rows,
    )
    if legend:
        gantt.legend(
            handles=legend,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncol=min(len(legend), 6),
            fontsize=7,
            frameon=False,
            borderaxespad=0.2,
        )

    edges_h = np.linspace(0.0, end_h, _STRIP_BINS + 1)
    centres_h = 0.5 * (edges_h[:-1] + edges_h[1:])
    edges_s = edges_h * 3600.0
    start = run.start_unix_s

    def strip(table: Table | None, column: str, label: str) -> np.ndarray:
        if table is None:
            return np.zeros(_STRIP_BINS)
        keep = table[column] == label
        return mean_count(
            table["start_unix_s"][keep] - start, table["end_unix_s"][keep] - start, edges_s
        )

    highest = 0.0
    for kind, text in (
        ("eclipse", "in eclipse"),
        ("saa", "in SAA"),
        ("contact", "ground contacts"),
    ):
        counts = strip(run.environment, "kind", kind)
        highest = max(highest, float(counts.max(initial=0.0)))
        env_strip.plot(
            centres_h, counts, color=ENVIRONMENT_COLOURS[kind], linewidth=1.0, label=text
        )
    env_strip.set_ylabel("satellites", fontsize=8)
    env_strip.set_ylim(0.0, 1.35 * highest if highest > 0 else 1.0)  # room for the legend
    env_strip.legend(loc="upper right", fontsize=7, ncol=3)
    env_strip.set_title("Constellation-wide: environment (mean per bin)", fontsize=9)
    env_strip.grid(True, alpha=0.3, linewidth=0.6)

    activities = [
        ("training", ("training",)),
        ("transmitting", ("transmitting",)),
        ("receiving", ("receiving",)),
        ("recovering", ("recovering",)),
        ("waiting_battery", ("waiting_battery", "waiting_saa", "waiting_eclipse")),
    ]
    stacks = [
        sum((strip(run.activity, "activity", name) for name in group), np.zeros(_STRIP_BINS))
        for _, group in activities
    ]
    act_strip.stackplot(
        centres_h,
        np.vstack(stacks),
        colors=[ACTIVITY_COLOURS[key] for key, _ in activities],
        labels=["training", "transmitting", "receiving", "recovering", "waiting"],
        linewidth=0,
    )
    act_strip.set_ylabel("satellites", fontsize=8)
    busiest = float(np.sum(stacks, axis=0).max(initial=0.0))
    act_strip.set_ylim(0.0, 1.35 * busiest if busiest > 0 else 1.0)
    act_strip.legend(loc="upper right", fontsize=7, ncol=5)
    act_strip.set_title("Constellation-wide: activity (mean per bin)", fontsize=9)
    _finish_time_axis(act_strip, run)
    return figure


# --- (c) battery -------------------------------------------------------------------------------


def _battery_stats(battery: Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct time: (time_unix_s, min, mean, max) of the state of charge."""
    times, inverse = np.unique(battery["time_unix_s"], return_inverse=True)
    soc = battery["soc"]
    low = np.full(times.size, np.inf)
    high = np.full(times.size, -np.inf)
    np.minimum.at(low, inverse, soc)
    np.maximum.at(high, inverse, soc)
    mean = np.bincount(inverse, weights=soc, minlength=times.size) / np.bincount(
        inverse, minlength=times.size
    )
    return times, low, mean, high


def battery_figure(run: RunData, *, highlight: int = 3) -> Any:
    """Battery state of charge: min-max band and mean over satellites, plus a few satellites.

    The highlighted satellites are the one whose charge ran lowest, then satellite 1 and the
    one with the median minimum. Falls back to the metrics snapshots' mean and minimum when
    ``battery.parquet`` is absent; ``None`` when neither has a value.
    """
    figure = _figure(10.0, 3.6)
    axes = figure.subplots()
    battery = run.battery
    if battery is not None and len(battery):
        times, low, mean, high = _battery_stats(battery)
        hours = _hours(run, times)
        axes.fill_between(
            hours, low, high, color="#1f77b4", alpha=0.18, linewidth=0, label="min-max"
        )
        axes.plot(hours, mean, color="#1f77b4", linewidth=1.5, label="mean")
        sats = battery["satellite"]
        ids = np.unique(sats)
        lowest = np.full(ids.size, np.inf)
        np.minimum.at(lowest, np.searchsorted(ids, sats), battery["soc"])
        order = ids[np.argsort(lowest, kind="stable")]
        chosen: list[int] = []
        for candidate in (order[0], ids[0], order[order.size // 2]):
            if int(candidate) not in chosen and len(chosen) < highlight:
                chosen.append(int(candidate))
        names = _satellite_names(run, max(int(ids.max()) + 1, _n_satellites(run)))
        for sat, colour in zip(chosen, ("#d62728", "#2ca02c", "#9467bd"), strict=False):
            mine = sats == sat
            axes.plot(
                _hours(run, battery["time_unix_s"][mine]),
                battery["soc"][mine],
                color=colour,
                linewidth=0.8,
                alpha=0.9,
                label=names[sat],
            )
    else:
        snapshots = run.metrics.where(np.isfinite(run.metrics["battery_soc_mean"]))
        if len(snapshots) == 0:
            return None
        axes.plot(snapshots["mission_h"], snapshots["battery_soc_mean"], label="mean")
        axes.plot(snapshots["mission_h"], snapshots["battery_soc_min"], label="min")
    threshold = run.config.get("satellite", {}).get("min_soc_to_train")
    if isinstance(threshold, int | float):
        axes.axhline(
            float(threshold),
            color="#555555",
            linestyle="--",
            linewidth=0.9,
            label=f"training threshold {threshold:g}",
        )
    axes.set_ylim(0.0, 1.03)
    axes.set_ylabel("state of charge")
    axes.set_title("Battery state of charge")
    axes.legend(loc="lower left", fontsize=8, ncol=3)
    _finish_time_axis(axes, run)
    return figure


# --- (d) faults --------------------------------------------------------------------------------


def faults_figure(run: RunData) -> Any:
    """Cumulative faults injected / detected / corrected / silent, resets marked."""
    figure = _figure(10.0, 3.6)
    axes = figure.subplots()
    metrics = run.metrics
    by_kind = ""
    if run.faults is not None and len(run.faults):
        kinds, counts = np.unique(
            run.faults["kind"][run.faults["kind"] != "reset"], return_counts=True
        )
        by_kind = ", ".join(f"{k} {c}" for k, c in zip(kinds, counts, strict=True))
    totals = run.summary["faults"]
    for key, colour in _FAULT_COLOURS.items():
        x, y = cumulative_series(run, f"faults_{key}", totals.get(key))
        label = key + (" (upper bound)" if key == "silent" else "")
        if key == "injected" and by_kind:
            label += f" ({by_kind})"
        axes.plot(x, y, color=colour, linewidth=1.4, label=label)
    if run.faults is not None:
        reset_h = _hours(run, run.faults["time_unix_s"][run.faults["kind"] == "reset"])
    else:
        jumps = np.flatnonzero(np.diff(metrics["resets"]) > 0) + 1
        reset_h = metrics["mission_h"][jumps]
    if reset_h.size:
        for h in reset_h[:200]:
            axes.axvline(h, color="#000000", alpha=0.25, linewidth=0.7)
        axes.plot(
            reset_h,
            np.zeros(reset_h.size),
            linestyle="none",
            marker="^",
            color="#000000",
            markersize=6,
            clip_on=False,
            label=f"resets ({reset_h.size})",
        )
    injected = totals.get("injected")
    if not injected and reset_h.size == 0:
        axes.text(
            0.5, 0.5, "no faults injected", transform=axes.transAxes, ha="center", color="#555555"
        )
        axes.set_ylim(0.0, 1.0)
    else:
        axes.set_ylim(bottom=0.0)
    axes.set_ylabel("faults (cumulative)")
    axes.set_title("Radiation faults in training")
    axes.legend(loc="upper left", fontsize=8)
    _finish_time_axis(axes, run)
    return figure


# --- (e) bytes and energy ---------------------------------------------------------------------


def traffic_figure(run: RunData) -> Any:
    """Cumulative bytes up / down / ISL (left) and energy for training and radio (right)."""
    from matplotlib.ticker import EngFormatter

    figure = _figure(10.0, 3.6, left_in=0.8, wspace_in=0.95, cols=2)
    data_axes, energy_axes = figure.subplots(1, 2)
    for key, label, colour in (
        ("bytes_up", "up (satellite to ground)", "#1f77b4"),
        ("bytes_down", "down (ground to satellite)", "#ff7f0e"),
        ("bytes_isl", "inter-satellite", "#17becf"),
    ):
        x, y = cumulative_series(run, key, run.summary.get(key))
        data_axes.plot(x, y, color=colour, linewidth=1.4, label=label)
    data_axes.yaxis.set_major_formatter(EngFormatter(unit="B"))
    data_axes.set_ylim(bottom=0.0)
    data_axes.set_title("Bytes transferred (cumulative)")
    data_axes.legend(loc="upper left", fontsize=8)
    _finish_time_axis(data_axes, run)
    for key, label, colour in (
        ("energy_wh", "total", "#000000"),
        ("energy_training_wh", "training", "#1f77b4"),
        ("energy_radio_wh", "radio", "#ff7f0e"),
    ):
        x, y = cumulative_series(run, key, run.summary.get(key))
        energy_axes.plot(x, y, color=colour, linewidth=1.4, label=label)
    energy_axes.yaxis.set_major_formatter(EngFormatter(unit="Wh"))
    energy_axes.set_ylim(bottom=0.0)
    energy_axes.set_title("Energy, all satellites (cumulative)")
    energy_axes.legend(loc="upper left", fontsize=8)
    _finish_time_axis(energy_axes, run)
    return figure
