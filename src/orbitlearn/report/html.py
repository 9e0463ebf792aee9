"""Assemble the self-contained ``report.html`` of a run.

The page has no external references: the CSS is inline, the figures are base64 PNG ``data:``
URIs, there are no scripts or web fonts, so it opens offline and can be mailed as one file.
Every piece of text that comes from the run (mission name, station names, configuration,
notes) is HTML-escaped.
"""

from __future__ import annotations

import html
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from orbitlearn import __version__
from orbitlearn.errors import DataError
from orbitlearn.report import plots
from orbitlearn.report.load import RunData

__all__ = ["SECTION_TITLES", "render_report", "write_atomically"]

#: Headings of the report's sections, in page order.
SECTION_TITLES = (
    "Summary",
    "Model quality",
    "Timeline",
    "Battery",
    "Faults",
    "Data and energy",
    "Satellites",
    "Configuration",
)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;
color:#1b1b1b;background:#fafafa;line-height:1.4}
main{max-width:1040px;margin:0 auto;padding:1.2em 1.5em 3em}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;border-bottom:1px solid #ccc;
padding-bottom:.2em;margin-top:1.8em}
.sub{color:#555;margin:0 0 1em}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:.6em}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.55em .8em}
.card .k{font-size:.78em;color:#666;text-transform:uppercase;letter-spacing:.03em}
.card .v{font-size:1.25em;font-weight:600}.card .d{font-size:.82em;color:#444}
.ok{color:#1a7f37}.bad{color:#b42318}
figure{margin:.6em 0;background:#fff;border:1px solid #ddd;border-radius:6px;padding:.4em}
figure img{max-width:100%;height:auto;display:block;margin:0 auto}
figcaption{font-size:.85em;color:#444;padding:.3em .4em}
table{border-collapse:collapse;font-size:.8em;background:#fff}
th,td{border:1px solid #ddd;padding:.2em .45em;text-align:right;white-space:nowrap}
th{background:#f0f0f0;position:sticky;top:0}td.l,th.l{text-align:left}
.scroll{max-height:32em;overflow:auto;border:1px solid #ddd}
pre{background:#fff;border:1px solid #ddd;padding:.8em;overflow:auto;font-size:.82em}
details>summary{cursor:pointer;font-weight:600;margin:.4em 0}
.note{background:#fff8e1;border:1px solid #f0d58c;border-radius:6px;padding:.4em .8em}
footer{color:#666;font-size:.8em;margin-top:3em}
"""


def _e(value: Any) -> str:
    """HTML-escaped text of ``value``."""
    return html.escape(str(value), quote=True)


def _num(value: Any, spec: str = ".4g") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            return "-"
        return format(float(value), spec)
    return str(value)


def _bytes(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return _num(value)
    size = float(value)
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(size) >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{int(size):,} B"


def _energy(value_wh: Any) -> str:
    if not isinstance(value_wh, int | float) or isinstance(value_wh, bool):
        return _num(value_wh)
    wh = float(value_wh)
    if wh != 0.0 and abs(wh) < 0.1:
        return f"{wh * 3600.0:.3g} J"
    return f"{wh:.4g} Wh"


def _reasons(table: Any) -> str:
    if not isinstance(table, dict) or not table:
        return ""
    return ", ".join(f"{key}: {count}" for key, count in sorted(table.items()))


def _card(key: str, value: str, detail: str = "", css: str = "") -> str:
    klass = f"v {css}".strip()
    out = f'<div class="card"><div class="k">{_e(key)}</div><div class="{klass}">{_e(value)}</div>'
    if detail:
        out += f'<div class="d">{_e(detail)}</div>'
    return out + "</div>"


def _reached(summary: dict[str, Any]) -> bool:
    final, target = summary.get("final_metric"), summary.get("target_metric")
    if not isinstance(final, int | float) or not isinstance(target, int | float):
        return False
    higher = summary.get("higher_is_better", True)
    return bool(final >= target if higher else final <= target)


def _header(run: RunData) -> str:
    s = run.summary
    stations = s.get("stations")
    parts = [
        f"strategy {s.get('strategy')}",
        f"{_num(s.get('satellites'))} satellites",
        f"{_num(stations)} ground stations" if stations is not None else None,
        f"{_num(s.get('mission_days'))} days" + (f" from {s['start']}" if s.get("start") else ""),
        f"seed {s['seed']}" if "seed" in s else None,
        f"workload {s.get('workload')}" if "workload" in s else None,
        f"metric {s.get('metric_name')}",
    ]
    line = " · ".join(_e(part) for part in parts if part is not None)
    return (
        f"<header><h1>Mission report: {_e(s.get('name', run.run_dir.name))}</h1>"
        f'<p class="sub">{line}</p></header>'
    )


def _summary_section(run: RunData) -> str:
    s = run.summary
    faults = s["faults"]
    target = s.get("target_metric")
    reached = s.get("time_to_target_h")
    cards = [
        _card(
            f"final {s.get('metric_name', 'metric')}",
            f"{_num(s.get('final_metric'))} / target {_num(target)}",
            f"initial {_num(s.get('initial_metric'))}, best {_num(s.get('best_metric'))}",
            "ok" if _reached(s) else "bad",
        ),
        _card(
            "time to target",
            f"{reached:.2f} h" if isinstance(reached, int | float) else "not reached",
            f"{_num(s.get('aggregations'))} aggregations, global version "
            f"{_num(s.get('global_version'))}",
            "ok" if isinstance(reached, int | float) else "bad",
        ),
        _card(
            "energy",
            _energy(s.get("energy_wh")),
            f"training {_energy(s.get('energy_training_wh'))}, "
            f"radio {_energy(s.get('energy_radio_wh'))}",
        ),
        _card(
            "bytes up / down / ISL",
            f"{_bytes(s.get('bytes_up'))} / {_bytes(s.get('bytes_down'))} / "
            f"{_bytes(s.get('bytes_isl', 0))}",
            f"up {_num(s.get('bytes_up'))} B, down {_num(s.get('bytes_down'))} B",
        ),
        _card(
            "faults injected / detected",
            f"{_num(faults.get('injected'))} / {_num(faults.get('detected'))}",
            f"corrected {_num(faults.get('corrected'))}, silent <= {_num(faults.get('silent'))}"
            + (
                f", false alarms {_num(faults['false_alarms'])}" if "false_alarms" in faults else ""
            ),
        ),
        _card(
            "resets",
            _num(s.get("resets")),
            f"steps lost to resets {_num(s.get('lost_steps'))}" if "lost_steps" in s else "",
        ),
        _card(
            "rejected updates",
            _num(s.get("rejected_updates")),
            _reasons(s.get("rejections"))
            or (
                f"sent {_num(s.get('updates_sent'))}, received "
                f"{_num(s.get('updates_received'))}, accepted {_num(s.get('updates_accepted'))}"
            ),
        ),
        _card(
            "training",
            f"{_num(s.get('training_steps'))} steps",
            f"{_num(s.get('local_rounds'))} local rounds",
        ),
        _card(
            "battery minimum",
            _num(s.get("battery_min_soc"), ".3f"),
            f"waits for charge {_num(s.get('battery_waits'))}",
        ),
    ]
    if s.get("dropped_updates"):
        dropped = s["dropped_updates"]
        total = (
            sum(v for v in dropped.values() if isinstance(v, int))
            if isinstance(dropped, dict)
            else ""
        )
        cards.append(_card("dropped updates", _num(total), _reasons(dropped)))
    occupancy = s.get("occupancy")
    if isinstance(occupancy, dict) and occupancy:
        idle = occupancy.get("idle")
        busy = f"{100.0 * (1.0 - float(idle)):.3g} % busy" if isinstance(idle, int | float) else ""
        cards.append(
            _card(
                "share of satellite-time",
                busy,
                ", ".join(
                    f"{key} {100.0 * float(v):.3g} %"
                    for key, v in occupancy.items()
                    if isinstance(v, int | float)
                ),
            )
        )
    body = f'<div class="cards">{"".join(cards)}</div>'
    notes = s.get("notes") or []
    if notes:
        body += "<h3>Notes</h3><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
    if run.missing:
        body += (
            '<p class="note">Not in the run directory (sections that need them are left out): '
            + _e(", ".join(run.missing))
            + "</p>"
        )
    return _section("Summary", body)


def _section(title: str, body: str) -> str:
    anchor = title.lower().replace(" ", "-")
    return f'<section id="{_e(anchor)}"><h2>{_e(title)}</h2>{body}</section>'


def _figure_html(figure: Any, alt: str, caption: str) -> str:
    data = plots.figure_png_base64(figure)
    return (
        f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _plot_section(
    title: str, draw: Callable[[RunData], Any], run: RunData, caption: str, absent: str
) -> str:
    figure = draw(run)
    if figure is None:
        return _section(title, f'<p class="note">{_e(absent)}</p>')
    return _section(title, _figure_html(figure, title, caption))


def _satellite_rows(run: RunData) -> Iterable[str]:
    table = run.satellites
    assert table is not None
    energy_wh = (table["training_j"] + table["radio_j"]) / 3600.0
    order = np.argsort(table["satellite"], kind="stable")
    for i in order:
        cells = [
            _num(int(table["satellite"][i])),
            f'<td class="l">{_e(table["name"][i])}</td>',
            _num(int(table["plane"][i])) if table["plane"][i] >= 0 else "-",
            _num(int(table["rounds"][i])),
            _num(int(table["steps"][i])),
            _num(int(table["lost_steps"][i])),
            _num(int(table["resets"][i])),
            _energy(float(energy_wh[i])),
            _num(int(table["faults_injected"][i])),
            _num(int(table["faults_detected"][i])),
            _num(int(table["faults_corrected"][i])),
            _num(int(table["faults_silent"][i])),
            _bytes(int(table["bytes_up"][i])),
            _bytes(int(table["bytes_down"][i])),
            _bytes(int(table["bytes_isl"][i])),
            _num(int(table["updates_sent"][i])),
            _num(float(table["min_soc"][i]), ".3f"),
        ]
        yield "<tr>" + "".join(c if c.startswith("<td") else f"<td>{_e(c)}</td>" for c in cells)
        yield "</tr>"


_SATELLITE_HEADERS = (
    "#",
    "name",
    "plane",
    "rounds",
    "steps",
    "lost steps",
    "resets",
    "energy",
    "faults inj.",
    "det.",
    "corr.",
    "silent",
    "bytes up",
    "down",
    "ISL",
    "updates sent",
    "min SoC",
)


def _satellites_section(run: RunData) -> str:
    if run.satellites is None:
        return _section("Satellites", '<p class="note">satellites.parquet is absent.</p>')
    head = "".join(
        f'<th class="l">{_e(h)}</th>' if h == "name" else f"<th>{_e(h)}</th>"
        for h in _SATELLITE_HEADERS
    )
    table = (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>'
        + "".join(_satellite_rows(run))
        + "</tbody></table></div>"
    )
    count = len(run.satellites)
    text = (
        "Per satellite: local rounds, training steps (and steps lost to resets), energy for "
        "training and radio, faults (silent is an upper bound), bytes, and the lowest state of "
        "charge."
    )
    if count > 48:
        table = f"<details><summary>{count} satellites</summary>{table}</details>"
    return _section("Satellites", f"<p>{_e(text)}</p>{table}")


def _config_section(run: RunData) -> str:
    if not run.config_toml:
        return _section("Configuration", '<p class="note">config.toml is absent.</p>')
    return _section(
        "Configuration",
        "<details><summary>Resolved configuration (config.toml; "
        "<code>orbitlearn run config.toml</code> repeats the run)</summary>"
        f"<pre>{_e(run.config_toml)}</pre></details>",
    )


def _footer(run: RunData) -> str:
    info = run.run_info
    parts = [f"orbitlearn {__version__}", f"run directory {run.run_dir}"]
    if isinstance(info.get("wall_s"), int | float):
        parts.append(f"simulated in {info['wall_s']:.1f} s wall time")
    if info.get("executor"):
        parts.append(f"executor {info['executor']}")
    return "<footer>" + _e(" · ".join(parts)) + "</footer>"


def render_report(run: RunData, *, max_timeline_satellites: int = 12) -> str:
    """The whole report page for ``run`` as an HTML string."""
    s = run.summary
    n_sats = s.get("satellites")
    shown = (
        min(int(n_sats), max_timeline_satellites)
        if isinstance(n_sats, int)
        else max_timeline_satellites
    )
    sections = [
        _summary_section(run),
        _plot_section(
            "Model quality",
            plots.quality_figure,
            run,
            "Metric of the global model over mission time: it changes when the ground "
            "aggregates updates into a new global model (dots). Dashed: the target; star: the "
            "first global model at or beyond it.",
            "",
        ),
        _plot_section(
            "Timeline",
            lambda r: plots.timeline_figure(r, max_satellites=max_timeline_satellites),
            run,
            f"Top: the first {shown} satellites; in each lane, eclipse (grey) with SAA passes "
            "(red), ground contacts (green) with ISL windows (cyan), and what the satellite did "
            "(spans shorter than about 1/1500 of the mission are widened to stay visible). "
            "Below: over the whole constellation, the mean number of satellites in eclipse, SAA "
            "and ground contact, and in each activity, per bin of "
            f"{60.0 * run.duration_h / 720:.3g} min.",
            "No environment.parquet or activity.parquet in the run directory.",
        ),
        _plot_section(
            "Battery",
            plots.battery_figure,
            run,
            "Battery state of charge: the band spans the lowest and highest satellite, the "
            "thick line is the mean over satellites; thin lines are single satellites (the one "
            "that ran lowest first). Dashed: the charge below which a satellite does not train.",
            "No battery data in the run directory.",
        ),
        _plot_section(
            "Faults",
            plots.faults_figure,
            run,
            "Radiation faults in onboard training, cumulative over the constellation: upsets "
            "injected, detected and corrected by healing, and silent (an upper bound: injected "
            "minus detected per slice; many are masked). Triangles: computer resets.",
            "",
        ),
        _plot_section(
            "Data and energy",
            plots.traffic_figure,
            run,
            "Left: bytes over the links, cumulative: updates to the ground, global models to "
            "the satellites, and over inter-satellite links. Right: energy spent on training "
            "and on the radio, all satellites.",
            "",
        ),
        _satellites_section(run),
        _config_section(run),
    ]
    title = f"orbitlearn report: {s.get('name', run.run_dir.name)}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{_header(run)}{''.join(sections)}{_footer(run)}</main></body></html>\n"
    )


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file, fsync and rename.

    Raises:
        DataError: the file cannot be written (nothing is left behind).
    """
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc}") from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
