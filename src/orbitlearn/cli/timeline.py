"""``orbitlearn timeline``: the environment of a constellation over time, summarised per satellite.

A thin layer over :meth:`orbitlearn.space.timeline.Timeline.build`. It takes the same orbit,
station and time options as ``orbitlearn contacts`` (:mod:`orbitlearn.cli._space_options`), plus
the grid step and the radiation / power presets, and prints one row per satellite (``--format
table``) or ``{"satellites": [...]}`` (``--format json``). ``--output`` saves the whole timeline
as Parquet; ``--plot`` draws one satellite's first day (contacts, eclipses, SAA passes, upset
rate, battery) as a PNG. Files are written atomically.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from orbitlearn.cli._app import app
from orbitlearn.cli._space_options import (
    AltitudeKmOption,
    DaysOption,
    DurationSOption,
    InclinationDegOption,
    NetworkOption,
    OmmOption,
    PatternOption,
    StartOption,
    StationOption,
    TleOption,
    WalkerOption,
    constellation_from_options,
    duration_from_options,
    start_from_options,
    stations_from_options,
)
from orbitlearn.errors import InputError

__all__ = ["FORMATS", "plot_satellite_day", "render_table", "timeline"]

#: Output formats of ``--format``.
FORMATS = ("table", "json")
#: Columns of the table output: (summary key, header, format).
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("satellite", "satellite", "{}"),
    ("eclipse_fraction", "eclipse_%", "{:.1%}"),
    ("saa_fraction", "saa_%", "{:.1%}"),
    ("upsets_per_bit_day", "upsets/bit/day", "{:.3g}"),
    ("upset_fraction_in_saa", "in_saa_%", "{:.1%}"),
    ("resets_per_day", "resets/day", "{:.3g}"),
    ("dose_rad_per_year", "dose_rad/yr", "{:.4g}"),
    ("contacts", "contacts", "{}"),
    ("min_battery_soc", "min_soc", "{:.3f}"),
)

_GRID = "Grid"
_MODELS = "Radiation and power"
_WINDOWS = "Windows"
_OUTPUT = "Output"


class _Shown(str):
    """A value shown as-is after ``actual:`` in an :class:`InputError` (no quotes)."""

    def __repr__(self) -> str:
        return str(self)


def render_table(rows: list[dict[str, Any]]) -> str:
    """Per-satellite summary rows as an aligned plain-text table (percentages as %).

    >>> print(render_table([{"satellite": "S1", "eclipse_fraction": 0.352, "saa_fraction": 0.106,
    ...     "upsets_per_bit_day": 1.63e-7, "upset_fraction_in_saa": 0.94, "resets_per_day": 0.19,
    ...     "dose_rad_per_year": 96.9, "contacts": 5, "min_battery_soc": 0.918}]))
    satellite  eclipse_%  saa_%  upsets/bit/day  in_saa_%  resets/day  dose_rad/yr  contacts  min_soc
    S1             35.2%  10.6%        1.63e-07     94.0%        0.19         96.9         5    0.918
    """
    cells = [
        [
            "-" if row[key] is None else template.format(row[key])
            for key, _, template in TABLE_COLUMNS
        ]
        for row in rows
    ]
    headers = [header for _, header, _ in TABLE_COLUMNS]
    widths = [len(header) for header in headers]
    for line in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, line, strict=True)]
    out = [
        "  ".join(
            [headers[0].ljust(widths[0])]
            + [h.rjust(w) for h, w in zip(headers[1:], widths[1:], strict=True)]
        )
    ]
    for line in cells:
        out.append(
            "  ".join(
                [line[0].ljust(widths[0])]
                + [c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)]
            )
        )
    return "\n".join(out)


def _write_atomically(path: Path, write: Any) -> None:
    """Call ``write(temp_path)`` on a temporary file beside ``path``, then rename it over."""
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        write(temp)
        with open(temp, "rb") as done:
            os.fsync(done.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _check_path(option: str, path: Path | None, suffix: str) -> None:
    if path is None:
        return
    if path.is_dir():
        raise InputError(option, str(path), "a file path, not a directory")
    if not path.parent.is_dir():
        raise InputError(option, str(path), "a path in an existing directory")
    if path.suffix.lower() != suffix:
        raise InputError(option, str(path), f"a file name ending in {suffix}")


def plot_satellite_day(timeline: Any, satellite: int | str, path: Path) -> None:
    """Draw one satellite's first day (or the whole span if shorter) to a PNG, atomically.

    Three stacked panels on a shared time axis (hours from the start): the windows (ground
    contacts, eclipses, SAA passes) as bars, the upset rate per bit per day, and the battery
    state of charge with the solar-array power.
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    index = timeline.satellite_index(satellite)
    name = timeline.satellite_names[index]
    start = timeline.start_unix_s
    end = min(timeline.unix_s[-1], start + 86_400.0)
    shown = timeline.unix_s <= end
    hours = (timeline.unix_s[shown] - start) / 3600.0

    figure = Figure(figsize=(11, 7), layout="constrained")
    FigureCanvasAgg(figure)
    windows, upsets, battery = figure.subplots(3, 1, sharex=True, height_ratios=(1.2, 1.5, 1.5))
    lanes = (
        ("ground contacts", timeline.contacts.filter(timeline.contacts.station >= 0), "tab:green"),
        ("eclipse", timeline.eclipses, "0.25"),
        ("SAA", timeline.saa_passes, "tab:red"),
    )
    for lane, (_, table, colour) in enumerate(lanes):
        rows = table.for_satellites(index)
        keep = rows.start_unix_s < end
        spans = [
            ((s - start) / 3600.0, (min(e, end) - s) / 3600.0)
            for s, e in zip(rows.start_unix_s[keep], rows.end_unix_s[keep], strict=True)
        ]
        windows.broken_barh(spans, (lane - 0.35, 0.7), facecolors=colour)
    windows.set_yticks(range(len(lanes)), [label for label, _, _ in lanes])
    windows.set_ylim(-0.6, len(lanes) - 0.4)
    windows.invert_yaxis()
    windows.set_title(f"{name}: environment from {_iso(start)}")

    rate_per_day = timeline.upset_rate_per_bit_s[index, shown].astype(float) * 86_400.0
    upsets.plot(hours, rate_per_day, color="tab:red", linewidth=0.8)
    upsets.set_yscale("log")
    upsets.set_ylabel("upsets / bit / day")
    memory = timeline.config.radiation.memory.name
    acceleration = timeline.config.radiation.acceleration
    note = f"{memory}" + (f", x{acceleration:g}" if acceleration != 1 else "")
    upsets.text(0.01, 0.9, note, transform=upsets.transAxes, fontsize=8, va="top")

    battery.plot(
        hours, timeline.battery_soc[index, shown], color="tab:blue", label="state of charge"
    )
    battery.set_ylabel("state of charge")
    battery.set_ylim(0.0, 1.05)
    battery.set_xlabel("hours from start")
    power = battery.twinx()
    power.plot(
        hours,
        timeline.power_in_w[index, shown],
        color="tab:orange",
        linewidth=0.8,
        label="solar power",
    )
    power.set_ylabel("solar power (W)")
    handles = battery.get_legend_handles_labels()[0] + power.get_legend_handles_labels()[0]
    battery.legend(handles=handles, loc="lower left", fontsize=8)
    if hours.size:
        battery.set_xlim(0.0, float(np.max(hours)))
    _write_atomically(path, lambda temp: figure.savefig(temp, format="png", dpi=110))


def _iso(unix_s: float) -> str:
    from orbitlearn.space.timescale import format_utc_iso

    return format_utc_iso(unix_s, decimals=0)


@app.command()
def timeline(
    tle: TleOption = None,
    omm: OmmOption = None,
    walker: WalkerOption = None,
    altitude_km: AltitudeKmOption = None,
    inclination_deg: InclinationDegOption = None,
    pattern: PatternOption = "delta",
    station: StationOption = None,
    network: NetworkOption = None,
    start: StartOption = None,
    days: DaysOption = None,
    duration_s: DurationSOption = None,
    step_s: Annotated[
        float,
        typer.Option("--step-s", help="Grid step, seconds [1, 600].", rich_help_panel=_GRID),
    ] = 10.0,
    min_elevation_deg: Annotated[
        float,
        typer.Option(
            "--min-elevation-deg",
            help="Elevation mask for ground contacts, degrees [0, 90].",
            rich_help_panel=_WINDOWS,
        ),
    ] = 10.0,
    refraction: Annotated[
        bool,
        typer.Option(
            "--refraction",
            help="Compare the mask with the refracted elevation.",
            rich_help_panel=_WINDOWS,
        ),
    ] = False,
    isl: Annotated[
        bool,
        typer.Option(
            "--isl",
            help="Also find inter-satellite line-of-sight windows.",
            rich_help_panel=_WINDOWS,
        ),
    ] = False,
    isl_grazing_km: Annotated[
        float,
        typer.Option(
            "--isl-grazing-km",
            help="How far above the Earth's ellipsoid a link must pass, km [0, 1000].",
            rich_help_panel=_WINDOWS,
        ),
    ] = 80.0,
    isl_max_range_km: Annotated[
        float | None,
        typer.Option(
            "--isl-max-range-km",
            help="Longest usable link, km (default: line of sight only).",
            show_default=False,
            rich_help_panel=_WINDOWS,
        ),
    ] = None,
    memory: Annotated[
        str,
        typer.Option(
            "--memory",
            metavar="sram|dram|ecc_dram|ecc_sram",
            help="Memory preset whose upset rate is reported.",
            rich_help_panel=_MODELS,
        ),
    ] = "sram",
    device: Annotated[
        str,
        typer.Option(
            "--device",
            metavar="zynq7000|trillium_host|trillium_chip|none",
            help="Processor preset whose resets are reported.",
            rich_help_panel=_MODELS,
        ),
    ] = "zynq7000",
    acceleration: Annotated[
        float,
        typer.Option(
            "--acceleration",
            help="Multiply upsets, resets and stuck-bit growth (stress scenarios), > 0.",
            rich_help_panel=_MODELS,
        ),
    ] = 1.0,
    spe: Annotated[
        str,
        typer.Option(
            "--spe",
            metavar="history|stochastic|none",
            help="Solar-particle events: from the Kp history, random (needs --seed) or none.",
            rich_help_panel=_MODELS,
        ),
    ] = "history",
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Seed of the stochastic SPE draw.",
            show_default=False,
            rich_help_panel=_MODELS,
        ),
    ] = None,
    power: Annotated[
        str,
        typer.Option(
            "--power", metavar="3u|6u|espa", help="Power-system preset.", rich_help_panel=_MODELS
        ),
    ] = "3u",
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="|".join(FORMATS),
            help='Per-satellite summary as an aligned table or JSON ({"satellites": [...]}).',
            rich_help_panel=_OUTPUT,
        ),
    ] = "table",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Save the whole timeline to this Parquet file (atomically).",
            show_default=False,
            rich_help_panel=_OUTPUT,
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Draw one satellite's first day to this PNG file.",
            show_default=False,
            rich_help_panel=_OUTPUT,
        ),
    ] = None,
    plot_satellite: Annotated[
        str | None,
        typer.Option(
            "--plot-satellite",
            help="Satellite to plot: a name or a 0-based index (default: the first).",
            show_default=False,
            rich_help_panel=_OUTPUT,
        ),
    ] = None,
) -> None:
    """The environment of a constellation on a time grid: eclipses, SAA, upsets, dose, power.

    Example: orbitlearn timeline --walker 24/3/1 --altitude-km 550 --inclination-deg 53
    --network polar --days 1 --format json --output timeline.parquet --plot day.png
    """
    from orbitlearn.space.timeline import Timeline

    if output_format not in FORMATS:
        raise InputError("--format", output_format, "one of " + ", ".join(FORMATS))
    _check_path("--output", output, ".parquet")
    _check_path("--plot", plot, ".png")
    if plot_satellite is not None and plot is None:
        raise InputError("--plot-satellite", plot_satellite, "given only with --plot")
    if not (math.isfinite(min_elevation_deg) and 0.0 <= min_elevation_deg <= 90.0):
        raise InputError("--min-elevation-deg", min_elevation_deg, "a number of degrees in [0, 90]")
    if not (math.isfinite(step_s) and 1.0 <= step_s <= 600.0):
        raise InputError("--step-s", step_s, "a number of seconds in [1, 600]")
    if not (math.isfinite(acceleration) and acceleration > 0.0):
        raise InputError("--acceleration", acceleration, "a number > 0")
    if not (math.isfinite(isl_grazing_km) and 0.0 <= isl_grazing_km <= 1000.0):
        raise InputError("--isl-grazing-km", isl_grazing_km, "a number of km in [0, 1000]")
    if isl_max_range_km is not None and not (
        math.isfinite(isl_max_range_km) and isl_max_range_km > 0
    ):
        raise InputError("--isl-max-range-km", isl_max_range_km, "a number of km > 0")
    if spe not in ("history", "stochastic", "none"):
        raise InputError("--spe", spe, "one of history, stochastic, none")
    if spe == "stochastic" and seed is None:
        raise InputError("--seed", _Shown("not given"), "given with --spe stochastic")
    if seed is not None and seed < 0:
        raise InputError("--seed", seed, "an integer >= 0")
    radiation = _radiation_from_options(memory, device, acceleration, spe, seed)
    span_s = duration_from_options(days, duration_s)
    constellation = constellation_from_options(
        tle, omm, walker, altitude_km, inclination_deg, pattern
    )
    stations = stations_from_options(station, network, required=False)
    start_unix_s = start_from_options(start, constellation, walker is not None)

    with _progress(sys.stderr.isatty()) as update:
        built = Timeline.build(
            constellation,
            stations,
            start_unix_s,
            span_s,
            step_s=step_s,
            radiation=radiation,
            power=_power_from_option(power),
            isl=isl,
            min_elevation_deg=min_elevation_deg,
            refraction=refraction,
            isl_grazing_height_m=isl_grazing_km * 1e3,
            isl_max_range_m=None if isl_max_range_km is None else isl_max_range_km * 1e3,
            progress=update,
        )
    plotted = None
    if plot is not None:
        chosen: int | str = 0
        if plot_satellite is not None:
            chosen = int(plot_satellite) if plot_satellite.isdigit() else plot_satellite
            try:
                built.satellite_index(chosen)
            except InputError as exc:
                raise InputError("--plot-satellite", plot_satellite, exc.allowed) from None
        plot_satellite_day(built, chosen, plot)
        plotted = plot
    if output is not None:
        built.save(output)
    rows = built.summary()
    summary = (
        f"{built.n_sats} satellites, {built.n_times} grid times every {step_s:g} s over "
        f"{built.duration_s / 86_400.0:g} days; memory {built.config.radiation.memory.name}, "
        f"device {built.config.radiation.device.name}, power {built.config.power.name}"
    )
    if output_format == "json":
        document = {
            "start": _iso(built.start_unix_s),
            "duration_s": built.duration_s,
            "step_s": step_s,
            "memory": built.config.radiation.memory.name,
            "device": built.config.radiation.device.name,
            "power": built.config.power.name,
            "acceleration": acceleration,
            "satellites": rows,
        }
        sys.stdout.write(json.dumps(document, indent=1) + "\n")
    else:
        sys.stdout.write(render_table(rows) + "\n" + summary + "\n")
    sys.stdout.flush()
    for label, path in (("timeline", output), ("plot", plotted)):
        if path is not None:
            typer.echo(f"wrote {label} {path}", err=True)


def _radiation_from_options(
    memory: str, device: str, acceleration: float, spe: str, seed: int | None
) -> Any:
    from orbitlearn.errors import ConfigError
    from orbitlearn.space.radiation import RadiationConfig
    from orbitlearn.space.radiation_presets import DEVICE_PRESETS, MEMORY_PRESETS
    from orbitlearn.space.space_weather import SolarParticleEventModel

    if memory not in MEMORY_PRESETS:
        raise InputError("--memory", memory, "one of " + ", ".join(MEMORY_PRESETS))
    if device not in DEVICE_PRESETS:
        raise InputError("--device", device, "one of " + ", ".join(DEVICE_PRESETS))
    try:
        return RadiationConfig(
            memory=MEMORY_PRESETS[memory],
            device=DEVICE_PRESETS[device],
            spe=SolarParticleEventModel(mode=spe),  # type: ignore[arg-type]
            acceleration=acceleration,
            seed=seed,
        )
    except ConfigError as exc:  # pragma: no cover - the options were checked above
        raise InputError(exc.field, exc.value, exc.allowed) from None


def _power_from_option(power: str) -> Any:
    from orbitlearn.space.power import POWER_PRESETS

    if power not in POWER_PRESETS:
        raise InputError("--power", power, "one of " + ", ".join(POWER_PRESETS))
    return POWER_PRESETS[power]


class _progress:
    """A rich progress bar on stderr while the timeline is built (only on a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda fraction: None
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("timeline"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.__enter__()
        self._task = self._bar.add_task("timeline", total=1.0)
        return lambda fraction: self._bar.update(self._task, completed=fraction)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
