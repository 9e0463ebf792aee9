"""The mission timeline: the precomputed environment every later layer reads.

:meth:`Timeline.build` propagates a constellation on a regular time grid and evaluates, for every
satellite and grid time, where it is, how much sunlight it gets, the radiation it sees and its
power state; it also finds the windows that matter (ground contacts, optional inter-satellite
links, eclipses, SAA passes). :meth:`Timeline.save` writes it to one Parquet file and
:meth:`Timeline.load` reads it back bit for bit.

**Grid.** ``unix_s`` (POSIX seconds UTC) runs from the start every ``step_s`` seconds and ends
exactly at ``start + duration`` (the last step may be shorter). Rates and powers at grid time
``i`` hold over ``[t_i, t_{i+1})``; states (accumulated dose, battery SoC) are the values *at*
``t_i``. Per-satellite arrays are ``(n_sats, n_times)``, per-time arrays ``(n_times,)``.

**How.** sgp4 runs on a coarse grid (knots at most ~250-300 s apart in LEO, the automatic step of
:mod:`orbitlearn.space.sampled_orbits`) and positions in between come from quintic Hermite
interpolation of sgp4's positions, velocities and a two-body + J2 acceleration, which stays
within 1-2 m of sgp4 in LEO (checked in the tests): a few tenths of a millisecond on a
shadow edge, nothing for radiation. Geodetic coordinates use one Bowring iteration (sub-millimetre in LEO). Satellites are
processed in blocks to bound memory; the battery recursion then runs over all satellites at once.

**Windows.** Ground contacts come from :func:`orbitlearn.space.contacts.ground_contacts` (edges
to a millisecond) and inter-satellite links, on request, from
:func:`orbitlearn.space.isl.isl_windows`. Eclipses are an
:class:`~orbitlearn.space.eclipse.EclipseTable` (penumbra and umbra rows, never overlapping)
found on the grid itself: an edge between two samples is where the conical-shadow edge
function (the angle between the Earth's and the Sun's discs minus the sum, or difference, of
their radii) crosses zero, interpolated linearly. That function is smooth, so at a 10 s step
the edges are within a few hundredths of a second of
:func:`orbitlearn.space.eclipse.eclipse_intervals` (the tests compare them; the error grows as
the square of the step), at no extra sgp4 cost. SAA rows are the spans inside the SAA contour,
with edges interpolated linearly between grid samples (to a fraction of ``step_s``).

**Default load schedule.** The bus always, the compute payload in sunlight (shadow < 0.5) and
the radio during ground contacts (:class:`~orbitlearn.space.power.LoadProfile`).

**File schema** (Parquet: zstd, byte-stream-split floats), one row per (satellite, grid time), satellite-major:

===========================  ========  =====================================================
column                       type      meaning
===========================  ========  =====================================================
satellite                    int32     satellite index (names in the metadata)
time_unix_s                  float64   grid time, POSIX seconds UTC
latitude_deg                 float32   WGS84 geodetic latitude
longitude_deg                float32   longitude, [-180, 180)
altitude_m                   float32   height above the WGS84 ellipsoid
sunlit_fraction              float32   share of the solar disc visible (1 - shadow fraction)
in_saa                       bool      inside the SAA contour
in_contact                   bool      a ground station in view
upset_rate_per_bit_s         float32   upsets per bit per second (memory model, acceleration)
multi_bit_fraction           float32   share of upsets flipping more than one bit
reset_rate_per_s             float32   functional interrupts (resets) per second
dose_rate_rad_s              float32   total ionizing dose rate
dose_rad                     float32   accumulated dose at the grid time
stuck_bit_fraction           float32   share of memory bits stuck (from the dose)
power_in_w                   float32   solar array output
load_w                       float32   load under the default schedule
battery_soc                  float32   battery state of charge at the grid time
===========================  ========  =====================================================

The key ``orbitlearn.timeline`` of the file's metadata holds one JSON object: ``format_version``,
``orbitlearn_version``, ``grid`` (start, end, step, sizes), ``satellite_names``, ``source``,
``stations``, ``config`` (the :class:`TimelineConfig`, radiation and power models included),
``per_time`` (``kp``, ``f107_81_sfu``, ``spe_intensity``), ``energy`` (the battery ledger per
satellite) and ``intervals`` (``contacts``, ``isl``, ``eclipses``, ``saa_passes``). Arrays in the
metadata are base64 of little-endian raw values with their dtype, so they too reload exactly.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from orbitlearn.errors import ConfigError, DataError, InputError
from orbitlearn.space._config_checks import check_number
from orbitlearn.space.constellation import Constellation
from orbitlearn.space.eclipse import (
    EARTH_RADIUS_M,
    SUN_RADIUS_M,
    EclipseTable,
    shadow_fraction,
)
from orbitlearn.space.ephemeris import sun_position_teme_m
from orbitlearn.space.frames import WGS84_A_M, WGS84_E2, WGS84_F
from orbitlearn.space.intervals import ContactTable, IntervalTable
from orbitlearn.space.power import EnergyLedger as EnergyLedger
from orbitlearn.space.power import (
    PowerSystem,
    incidence_factor,
    resolve_power,
    simulate_battery,
    solar_power_w,
)
from orbitlearn.space.propagation import propagate_teme
from orbitlearn.space.radiation import RadiationConfig, radiation_environment
from orbitlearn.space.sampled_orbits import default_grid_step_s, gravity_accel_m_s2
from orbitlearn.space.space_weather import SpaceWeatherHistory
from orbitlearn.space.stations import GroundStation
from orbitlearn.space.timescale import DAY_S, format_utc_iso, gmst_rad, time_grid_unix_s

__all__ = [
    "GRID_COLUMNS",
    "TIMELINE_FORMAT_VERSION",
    "SaaPassTable",
    "Timeline",
    "TimelineConfig",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Progress = Callable[[float], None]

#: Version of the Parquet layout; :meth:`Timeline.load` refuses other versions.
TIMELINE_FORMAT_VERSION = 1
_METADATA_KEY = b"orbitlearn.timeline"
_YEAR_S = 365.25 * DAY_S

#: Per-satellite grid columns: name -> (dtype, unit / meaning). The Parquet schema and the
#: :class:`Timeline` fields of the same names.
GRID_COLUMNS: dict[str, tuple[str, str]] = {
    "latitude_deg": ("float32", "WGS84 geodetic latitude, degrees"),
    "longitude_deg": ("float32", "longitude, degrees in [-180, 180)"),
    "altitude_m": ("float32", "height above the WGS84 ellipsoid, metres"),
    "sunlit_fraction": ("float32", "share of the solar disc visible, 0..1"),
    "in_saa": ("bool", "inside the South Atlantic Anomaly contour"),
    "in_contact": ("bool", "at least one ground station in view"),
    "upset_rate_per_bit_s": ("float32", "upsets per bit per second"),
    "multi_bit_fraction": ("float32", "share of upsets flipping more than one bit"),
    "reset_rate_per_s": ("float32", "functional interrupts (resets) per second"),
    "dose_rate_rad_s": ("float32", "total ionizing dose rate, rad per second"),
    "dose_rad": ("float32", "accumulated dose, rad"),
    "stuck_bit_fraction": ("float32", "share of memory bits stuck at a value"),
    "power_in_w": ("float32", "solar array output, watts"),
    "load_w": ("float32", "load under the default schedule, watts"),
    "battery_soc": ("float32", "battery state of charge, 0..1"),
}
_PER_TIME = ("kp", "f107_81_sfu", "spe_intensity")

#: Largest gap between sgp4 samples; positions in between are quintic-Hermite-interpolated.
_MAX_PROPAGATION_STEP_S = 300.0
#: Spacing of the DE421 Sun positions interpolated onto the grid.
_SUN_NODE_STEP_S = 600.0
#: Grid points handled per block of satellites (bounds the temporaries to ~100 MB).
_BLOCK_POINTS = 1_000_000
#: Largest grid a timeline may hold (satellites x times): ~60 bytes a point in memory.
MAX_GRID_POINTS = 150_000_000


@dataclass(frozen=True, eq=False)
class SaaPassTable(IntervalTable):
    """Passes through the South Atlantic Anomaly contour.

    Attributes (beyond :class:`IntervalTable`'s):
        peak_upset_rate_per_bit_s: highest upset rate sampled during the pass, ``(n,)``.
    """

    peak_upset_rate_per_bit_s: FloatArray

    kind: ClassVar[str] = "saa"

    def _output_columns(self) -> dict[str, NDArray[Any]]:
        columns = super()._output_columns()
        columns["peak_upset_rate_per_bit_s"] = self.peak_upset_rate_per_bit_s
        return columns


_TABLE_TYPES: dict[str, type[IntervalTable]] = {
    "ContactTable": ContactTable,
    "EclipseTable": EclipseTable,
    "SaaPassTable": SaaPassTable,
    "IntervalTable": IntervalTable,
}


@dataclass(frozen=True)
class TimelineConfig:
    """How a timeline was (or is to be) built.

    Attributes:
        step_s: grid step, seconds in [1, 600].
        min_elevation_deg: ground-contact elevation mask, degrees in [-5, 90].
        refraction: compare the elevation mask with the refracted (apparent) elevation.
        isl: whether inter-satellite-link windows are searched (every pair).
        isl_grazing_height_m: how far above the ellipsoid a link must pass, metres.
        isl_max_range_m: longest usable link, metres, or ``None`` for line of sight only.
        radiation: the radiation model.
        power: the power system (a preset name, a table or a :class:`PowerSystem`).
    """

    step_s: float = 10.0
    min_elevation_deg: float = 10.0
    refraction: bool = False
    isl: bool = False
    isl_grazing_height_m: float = 80e3
    isl_max_range_m: float | None = None
    radiation: RadiationConfig = field(default_factory=RadiationConfig)
    power: PowerSystem = field(default_factory=lambda: resolve_power("3u"))

    if TYPE_CHECKING:  # the generated __init__ also takes tables and preset names

        def __init__(
            self,
            step_s: float = ...,
            min_elevation_deg: float = ...,
            refraction: bool = ...,
            isl: bool = ...,
            isl_grazing_height_m: float = ...,
            isl_max_range_m: float | None = ...,
            radiation: RadiationConfig | dict[str, Any] = ...,
            power: PowerSystem | str | dict[str, Any] = ...,
        ) -> None: ...

    def __post_init__(self) -> None:
        check_number("timeline.step_s", self.step_s, 1.0, 600.0, unit="seconds")
        check_number(
            "timeline.min_elevation_deg", self.min_elevation_deg, -5.0, 90.0, unit="degrees"
        )
        for name in ("refraction", "isl"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ConfigError(f"timeline.{name}", getattr(self, name), "true or false")
        check_number(
            "timeline.isl_grazing_height_m", self.isl_grazing_height_m, 0.0, 1e6, unit="metres"
        )
        if self.isl_max_range_m is not None:
            check_number(
                "timeline.isl_max_range_m", self.isl_max_range_m, 0.0, low_open=True, unit="metres"
            )
        if isinstance(self.radiation, dict):
            object.__setattr__(self, "radiation", RadiationConfig.from_dict(self.radiation))
        elif not isinstance(self.radiation, RadiationConfig):
            raise InputError("timeline.radiation", self.radiation, "a RadiationConfig or a table")
        object.__setattr__(self, "power", resolve_power(self.power))

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON-ready); :meth:`from_dict` inverts it."""
        return {
            "step_s": self.step_s,
            "min_elevation_deg": self.min_elevation_deg,
            "refraction": bool(self.refraction),
            "isl": bool(self.isl),
            "isl_grazing_height_m": self.isl_grazing_height_m,
            "isl_max_range_m": self.isl_max_range_m,
            "radiation": self.radiation.to_dict(),
            "power": self.power.to_dict(),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TimelineConfig:
        """Build from plain values."""
        known = [item.name for item in dataclasses.fields(cls)]
        for key in values:
            if key not in known:
                raise InputError(
                    "timeline", key, "a table with keys among " + ", ".join(map(repr, known))
                )
        return cls(**values)


@dataclass(frozen=True, eq=False)
class Timeline:
    """The environment of every satellite on a time grid, and its windows (see the module).

    Per-satellite arrays have shape ``(n_sats, n_times)`` and the dtypes of :data:`GRID_COLUMNS`;
    ``kp``, ``f107_81_sfu`` and ``spe_intensity`` are ``(n_times,)`` float64.
    """

    unix_s: FloatArray
    satellite_names: tuple[str, ...]
    latitude_deg: NDArray[np.float32]
    longitude_deg: NDArray[np.float32]
    altitude_m: NDArray[np.float32]
    sunlit_fraction: NDArray[np.float32]
    in_saa: BoolArray
    in_contact: BoolArray
    upset_rate_per_bit_s: NDArray[np.float32]
    multi_bit_fraction: NDArray[np.float32]
    reset_rate_per_s: NDArray[np.float32]
    dose_rate_rad_s: NDArray[np.float32]
    dose_rad: NDArray[np.float32]
    stuck_bit_fraction: NDArray[np.float32]
    power_in_w: NDArray[np.float32]
    load_w: NDArray[np.float32]
    battery_soc: NDArray[np.float32]
    kp: FloatArray
    f107_81_sfu: FloatArray
    spe_intensity: FloatArray
    contacts: ContactTable
    isl_windows: ContactTable | None
    eclipses: EclipseTable
    saa_passes: SaaPassTable
    energy: EnergyLedger
    config: TimelineConfig
    stations: tuple[GroundStation, ...] = ()
    source: str = ""

    # ------------------------------------------------------------------ shape
    @property
    def n_sats(self) -> int:
        """Number of satellites."""
        return len(self.satellite_names)

    @property
    def n_times(self) -> int:
        """Number of grid times."""
        return int(self.unix_s.shape[0])

    @property
    def start_unix_s(self) -> float:
        """First grid time."""
        return float(self.unix_s[0])

    @property
    def duration_s(self) -> float:
        """Last grid time minus the first."""
        return float(self.unix_s[-1] - self.unix_s[0])

    def satellite_index(self, satellite: int | str) -> int:
        """Index of a satellite given by index or name.

        Raises:
            InputError: no such satellite.
        """
        if isinstance(satellite, str):
            if satellite not in self.satellite_names:
                shown = ", ".join(self.satellite_names[:5]) + (", ..." if self.n_sats > 5 else "")
                raise InputError(
                    "satellite", satellite, f"the name of a satellite on the timeline ({shown})"
                )
            return self.satellite_names.index(satellite)
        if (
            isinstance(satellite, bool)
            or not isinstance(satellite, int | np.integer)
            or not 0 <= satellite < self.n_sats
        ):
            raise InputError(
                "satellite", satellite, f"an index in [0, {self.n_sats - 1}] or a satellite name"
            )
        return int(satellite)

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        constellation: Constellation,
        stations: Sequence[GroundStation],
        start_unix_s: float,
        duration_s: float,
        *,
        step_s: float = 10.0,
        radiation: RadiationConfig | dict[str, Any] | None = None,
        power: PowerSystem | str | dict[str, Any] = "3u",
        isl: bool = False,
        min_elevation_deg: float = 10.0,
        refraction: bool = False,
        isl_grazing_height_m: float = 80e3,
        isl_max_range_m: float | None = None,
        space_weather: SpaceWeatherHistory | None = None,
        progress: Progress | None = None,
        workers: int | None = None,
    ) -> Timeline:
        """Compute the timeline of ``constellation`` over ``[start, start + duration]``.

        Args:
            constellation: the satellites (at least one).
            stations: ground stations for contacts (may be empty).
            start_unix_s: first grid time, POSIX seconds UTC.
            duration_s: span, seconds in (0, 366 days].
            step_s: grid step, seconds in [1, 600].
            radiation: the radiation model (default :class:`RadiationConfig`: SRAM, Zynq-7000,
                history space weather).
            power: power system: a preset ("3u", "6u", "espa"), a table or a
                :class:`PowerSystem`; the same for every satellite.
            isl: also search inter-satellite-link windows between every pair
                (:func:`orbitlearn.space.isl.isl_windows`).
            min_elevation_deg: ground-contact mask (a station's own mask wins).
            refraction: compare the mask with the apparent (refracted) elevation.
            isl_grazing_height_m, isl_max_range_m: link geometry (see
                :func:`orbitlearn.space.isl.isl_windows`).
            space_weather: Kp / F10.7 record to use instead of the configured one.
            progress: called with the fraction of the work done.
            workers: threads computing blocks of satellites (default: up to 4, the CPU count);
                the result is the same for any number.

        Raises:
            InputError / ConfigError: an argument or configuration value out of range.
        """
        report = progress or (lambda fraction: None)
        config = TimelineConfig(
            step_s=step_s,
            min_elevation_deg=min_elevation_deg,
            refraction=refraction,
            isl=isl,
            isl_grazing_height_m=isl_grazing_height_m,
            isl_max_range_m=isl_max_range_m,
            radiation=_radiation_config(radiation),
            power=power,
        )
        if not isinstance(constellation, Constellation) or len(constellation) == 0:
            raise InputError(
                "constellation", constellation, "a Constellation of at least one satellite"
            )
        if not (isinstance(start_unix_s, int | float) and -4.0e8 <= start_unix_s <= 4.1e9):
            raise InputError("start_unix_s", start_unix_s, "POSIX seconds between 1957 and 2099")
        limit_s = 366.0 * DAY_S
        if not (
            isinstance(duration_s, int | float)
            and np.isfinite(duration_s)
            and 0 < duration_s <= limit_s
        ):
            raise InputError(
                "duration_s", duration_s, f"a number of seconds in (0, {limit_s:.0f}] (366 days)"
            )
        wanted_threads = _workers(workers)
        times = time_grid_unix_s(float(start_unix_s), float(duration_s), config.step_s)
        n_sats, n_times = len(constellation), times.size
        if n_sats * n_times > MAX_GRID_POINTS:
            raise InputError(
                "satellites x grid times",
                n_sats * n_times,
                f"at most {MAX_GRID_POINTS:,} points",
                hint="use fewer satellites, a shorter span or a larger step_s",
            )
        report(0.0)
        history = space_weather or config.radiation.space_weather_history()
        contacts = _ground_contacts(constellation, stations, times, config)
        isl_windows = _isl_windows(constellation, times, config) if config.isl else None
        report(0.3)
        sun = _sun_teme_m(times)
        sun_distance_m = np.sqrt(np.einsum("ti,ti->t", sun, sun))
        grid: dict[str, Any] = {
            name: np.empty((n_sats, n_times), dtype=dtype)
            for name, (dtype, _) in GRID_COLUMNS.items()
        }
        per_time: dict[str, Any] = {}
        ledgers: list[EnergyLedger] = []
        saa_parts: list[SaaPassTable] = []
        eclipse_parts: list[EclipseTable] = []
        block = max(1, _BLOCK_POINTS // n_times)
        knot_step_s = min(_MAX_PROPAGATION_STEP_S, default_grid_step_s(constellation))
        power = config.power
        need_velocity = power.solar_array.attitude == "orbit_normal"

        # Everything per block of satellites: the temporaries stay small (and are reused), and
        # blocks run on worker threads (numpy releases the GIL; each block writes its own rows
        # of the grid, so the result does not depend on the number of workers).
        def run_block(first: int) -> tuple[int, dict[str, Any]]:
            rows = slice(first, min(n_sats, first + block))
            subset = constellation.subset(range(rows.start, rows.stop))
            r_teme, v_teme = _propagate_dense(
                subset, times, config.step_s, need_velocity, knot_step_s
            )
            shadow = shadow_fraction(r_teme, times, sun_teme_m=sun)
            lat, lon, alt = _geodetic_from_teme(r_teme, times)
            env = radiation_environment(
                lat, lon, alt, times, config.radiation, space_weather=history
            )
            incidence = incidence_factor(power.solar_array.attitude, r_teme, v_teme, sun)
            eclipse_part = _eclipse_windows(r_teme, shadow, sun, times, constellation.names, first)
            del r_teme, v_teme
            power_in = solar_power_w(power.solar_array, shadow, incidence, sun_distance_m)
            in_contact = _in_windows(contacts, times, rows)
            load = power.loads.load_w(shadow, in_contact)
            trace = simulate_battery(power_in, load, times, power.battery)
            sunlit = grid["sunlit_fraction"][rows]
            np.subtract(1.0, shadow, out=sunlit, casting="same_kind")
            del shadow
            values = {
                "latitude_deg": lat,
                "longitude_deg": lon,
                "altitude_m": alt,
                "in_saa": env.in_saa,
                "in_contact": in_contact,
                "upset_rate_per_bit_s": env.upset_rate_per_bit_s,
                "multi_bit_fraction": env.multi_bit_fraction,
                "reset_rate_per_s": env.reset_rate_per_s,
                "dose_rate_rad_s": env.dose_rate_rad_s,
                "dose_rad": env.dose_rad,
                "stuck_bit_fraction": env.stuck_bit_fraction,
                "power_in_w": power_in,
                "load_w": load,
                "battery_soc": trace.soc,
            }
            for name, value in values.items():
                grid[name][rows] = value
            # Outside the region the margin jumps; keep its sign consistent with in_saa.
            margin = np.where(
                env.in_saa, np.maximum(env.saa_margin, 0.0), np.minimum(env.saa_margin, -1e-6)
            )
            saa_part = _threshold_windows(
                SaaPassTable,
                margin,
                times,
                constellation.names,
                first,
                peak_of=env.upset_rate_per_bit_s,
            )
            return first, {
                "ledger": trace.ledger,
                "eclipses": eclipse_part,
                "saa": saa_part,
                "per_time": {
                    "kp": env.kp,
                    "f107_81_sfu": env.f107_81_sfu,
                    "spe_intensity": env.spe_intensity,
                },
            }

        firsts = list(range(0, n_sats, block))
        results: dict[int, dict[str, Any]] = {}
        threads = max(1, min(wanted_threads, len(firsts)))
        if threads == 1:
            outcomes: Any = map(run_block, firsts)  # in this thread (profilers see it)
        else:
            pool = ThreadPoolExecutor(max_workers=threads)
            outcomes = pool.map(run_block, firsts)
        try:
            for first, result in outcomes:
                results[first] = result
                report(0.3 + 0.7 * len(results) / len(firsts))
        finally:
            if threads > 1:
                pool.shutdown(wait=True, cancel_futures=True)
        for first in firsts:
            ledgers.append(results[first]["ledger"])
            eclipse_parts.append(results[first]["eclipses"])
            saa_parts.append(results[first]["saa"])
            per_time = results[first]["per_time"]
        energy = EnergyLedger(
            **{
                item.name: np.concatenate([getattr(ledger, item.name) for ledger in ledgers])
                for item in dataclasses.fields(EnergyLedger)
            }
        )
        return cls(
            unix_s=times,
            satellite_names=tuple(constellation.names),
            **grid,
            **per_time,
            contacts=contacts,
            isl_windows=isl_windows,
            eclipses=EclipseTable.concat(eclipse_parts).sorted(("satellite", "start_unix_s")),
            saa_passes=SaaPassTable.concat(saa_parts).sorted(("start_unix_s", "satellite")),
            energy=energy,
            config=config,
            stations=tuple(stations),
            source=constellation.source,
        )

    # ------------------------------------------------------------------ summaries
    def step_weights_s(self) -> FloatArray:
        """Seconds each grid time's rates hold for, ``(n_times,)`` (0 for the last time)."""
        weights = np.zeros(self.n_times)
        weights[:-1] = np.diff(self.unix_s)
        return weights

    def time_mean(self, values: NDArray[Any]) -> FloatArray:
        """Mean over time of a ``(n_sats, n_times)`` array, weighted by the step each holds.

        Samples that are NaN (where sgp4 could not propagate) are left out; a satellite with
        none left gets NaN.
        """
        weights = self.step_weights_s()
        array = np.asarray(values, dtype=np.float64)
        valid = np.isfinite(array)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(valid, array, 0.0) @ weights / (valid @ weights)

    def summary(self) -> list[dict[str, Any]]:
        """One dict per satellite with the headline numbers (JSON-ready).

        Keys: ``satellite``, ``eclipse_fraction``, ``saa_fraction``, ``upsets_per_bit_day``,
        ``upset_fraction_in_saa``, ``multi_bit_fraction``, ``resets_per_day``,
        ``dose_rad_per_year``, ``dose_rad`` (at the end), ``contacts``, ``contact_time_s``,
        ``eclipses``, ``saa_passes``, ``mean_power_in_w``, ``min_battery_soc``,
        ``unserved_energy_wh``, ``propagated_fraction`` (share of the span sgp4 could
        propagate; the means leave the rest out). A number that cannot be computed is ``None``.
        """
        weights = self.step_weights_s()
        upsets = self.upset_rate_per_bit_s.astype(np.float64) * weights
        upsets = np.nan_to_num(upsets, nan=0.0)
        total_upsets = upsets.sum(axis=1)
        in_saa_upsets = np.where(self.in_saa, upsets, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share_in_saa = np.where(total_upsets > 0, in_saa_upsets / total_upsets, 0.0)
            multi_bit = np.where(
                total_upsets > 0,
                (np.nan_to_num(self.multi_bit_fraction) * upsets).sum(axis=1) / total_upsets,
                0.0,
            )
        eclipse = 1.0 - self.time_mean(self.sunlit_fraction)
        propagated = self.time_mean(np.isfinite(self.altitude_m))
        saa = self.time_mean(self.in_saa)
        rate_day = self.time_mean(self.upset_rate_per_bit_s) * DAY_S
        resets_day = self.time_mean(self.reset_rate_per_s) * DAY_S
        dose_year = self.time_mean(self.dose_rate_rad_s) * _YEAR_S
        power_mean = self.time_mean(self.power_in_w)
        contact_count = np.bincount(self.contacts.satellite, minlength=self.n_sats)
        contact_time = np.bincount(
            self.contacts.satellite, weights=self.contacts.duration_s, minlength=self.n_sats
        )
        eclipse_count = _count_eclipses(self.eclipses, self.n_sats)
        saa_count = np.bincount(self.saa_passes.satellite, minlength=self.n_sats)
        rows = []
        for i, name in enumerate(self.satellite_names):
            rows.append(
                {
                    "satellite": name,
                    "eclipse_fraction": _plain(eclipse[i], 6),
                    "saa_fraction": _plain(saa[i], 6),
                    "upsets_per_bit_day": _plain(rate_day[i]),
                    "upset_fraction_in_saa": _plain(share_in_saa[i], 6),
                    "multi_bit_fraction": _plain(multi_bit[i], 6),
                    "resets_per_day": _plain(resets_day[i]),
                    "dose_rad_per_year": _plain(dose_year[i]),
                    "dose_rad": _plain(self.dose_rad[i, -1]),
                    "contacts": int(contact_count[i]),
                    "contact_time_s": _plain(contact_time[i], 3),
                    "eclipses": int(eclipse_count[i]),
                    "saa_passes": int(saa_count[i]),
                    "mean_power_in_w": _plain(power_mean[i], 4),
                    "min_battery_soc": _plain(self.battery_soc[i].min(), 6),
                    "unserved_energy_wh": _plain(self.energy.unserved_wh[i], 6),
                    "propagated_fraction": _plain(propagated[i], 6),
                }
            )
        return rows

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the timeline to one Parquet file, atomically (temp file + fsync + rename).

        Returns the path written. On any failure the destination is left as it was.

        Raises:
            DataError: the directory does not exist or cannot be written.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        target = Path(path)
        if not target.parent.is_dir():
            raise DataError(f"cannot write {target}: the directory {target.parent} does not exist")
        n_sats, n_times = self.n_sats, self.n_times
        columns: dict[str, Any] = {
            "satellite": np.repeat(np.arange(n_sats, dtype=np.int32), n_times),
            "time_unix_s": np.tile(self.unix_s, n_sats),
        }
        for name in GRID_COLUMNS:
            columns[name] = np.ascontiguousarray(getattr(self, name)).reshape(-1)
        table = pa.table(columns)
        metadata = self._metadata()
        table = table.replace_schema_metadata({_METADATA_KEY: json.dumps(metadata).encode()})
        handle, temp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
        os.close(handle)
        try:
            floats = [name for name, values in columns.items() if values.dtype.kind == "f"]
            # Byte-stream split + fast zstd: floats compress ~2x better and it writes and
            # reads several times faster than dictionary pages (which floats never fill).
            pq.write_table(
                table,
                temp_name,
                compression="zstd",
                compression_level=1,
                use_dictionary=["satellite"],
                column_encoding=dict.fromkeys(floats, "BYTE_STREAM_SPLIT"),
            )
            with open(temp_name, "rb") as written:
                os.fsync(written.fileno())
            os.replace(temp_name, target)
        except OSError as exc:
            raise DataError(f"cannot write {target}: {exc}") from None
        finally:
            if os.path.exists(temp_name):
                os.unlink(temp_name)
        return target

    def _metadata(self) -> dict[str, Any]:
        from orbitlearn import __version__

        intervals: dict[str, Any] = {
            "contacts": _encode_table(self.contacts),
            "eclipses": _encode_table(self.eclipses),
            "saa_passes": _encode_table(self.saa_passes),
            "isl": None if self.isl_windows is None else _encode_table(self.isl_windows),
        }
        step = float(self.unix_s[1] - self.unix_s[0]) if self.n_times > 1 else 0.0
        return {
            "format_version": TIMELINE_FORMAT_VERSION,
            "orbitlearn_version": __version__,
            "grid": {
                "start_unix_s": self.start_unix_s,
                "end_unix_s": float(self.unix_s[-1]),
                "start": format_utc_iso(self.start_unix_s),
                "step_s": step,
                "n_times": self.n_times,
                "n_sats": self.n_sats,
                "unix_s": _encode_array(self.unix_s),
            },
            "columns": {
                name: {"dtype": dtype, "meaning": meaning}
                for name, (dtype, meaning) in GRID_COLUMNS.items()
            },
            "satellite_names": list(self.satellite_names),
            "source": self.source,
            "stations": [dataclasses.asdict(station) for station in self.stations],
            "config": self.config.to_dict(),
            "per_time": {name: _encode_array(getattr(self, name)) for name in _PER_TIME},
            "energy": {
                item.name: _encode_array(getattr(self.energy, item.name))
                for item in dataclasses.fields(self.energy)
            },
            "intervals": intervals,
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Timeline:
        """Read a timeline written by :meth:`save`; arrays come back identical.

        Raises:
            DataError: the file is missing, not Parquet, not a timeline, of another format
                version, or its columns do not match its metadata.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        source = Path(path)
        if not source.is_file():
            raise DataError(f"timeline file {source} does not exist")
        try:
            # ParquetFile.read: the single file, without the dataset layer's start-up cost.
            table = pq.ParquetFile(source).read()
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{source} is not a readable Parquet file ({exc})") from None
        raw = (table.schema.metadata or {}).get(_METADATA_KEY)
        if raw is None:
            raise DataError(
                f"{source} is a Parquet file but not an orbitlearn timeline (no `orbitlearn.timeline` metadata)"
            )
        try:
            meta = json.loads(raw)
            version = meta["format_version"]
        except (ValueError, KeyError, TypeError):
            raise DataError(
                f"{source}: the `orbitlearn.timeline` metadata is not valid JSON"
            ) from None
        if version != TIMELINE_FORMAT_VERSION:
            raise DataError(
                f"{source}: timeline format version {version!r}, this orbitlearn reads version "
                f"{TIMELINE_FORMAT_VERSION}; rebuild it with `orbitlearn timeline --output`"
            )
        try:
            return cls._from_table(table, meta)
        except (KeyError, ValueError, TypeError) as exc:
            raise DataError(
                f"{source}: the timeline is damaged ({type(exc).__name__}: {exc})"
            ) from None

    @classmethod
    def _from_table(cls, table: Any, meta: dict[str, Any]) -> Timeline:
        n_sats, n_times = int(meta["grid"]["n_sats"]), int(meta["grid"]["n_times"])
        if table.num_rows != n_sats * n_times:
            raise ValueError(f"{table.num_rows} rows for {n_sats} satellites x {n_times} times")
        unix_s = _decode_array(meta["grid"]["unix_s"])
        satellite = table.column("satellite").to_numpy()
        if not np.array_equal(satellite, np.repeat(np.arange(n_sats, dtype=np.int32), n_times)):
            raise ValueError("rows are not in satellite-major order")
        if not np.array_equal(table.column("time_unix_s").to_numpy(), np.tile(unix_s, n_sats)):
            raise ValueError("the time column does not match the grid in the metadata")
        grid: dict[str, Any] = {}
        for name, (dtype, _) in GRID_COLUMNS.items():
            values = table.column(name).to_numpy()
            if values.dtype != np.dtype(dtype):
                raise ValueError(f"column {name} is {values.dtype}, expected {dtype}")
            grid[name] = values.reshape(n_sats, n_times)
        names = tuple(meta["satellite_names"])
        intervals = meta["intervals"]
        energy = EnergyLedger(
            **{key: _decode_array(value) for key, value in meta["energy"].items()}
        )
        return cls(
            unix_s=unix_s,
            satellite_names=names,
            **grid,
            **{name: _decode_array(meta["per_time"][name]) for name in _PER_TIME},
            contacts=_decode_table(intervals["contacts"]),  # type: ignore[arg-type]
            isl_windows=None if intervals["isl"] is None else _decode_table(intervals["isl"]),  # type: ignore[arg-type]
            eclipses=_decode_table(intervals["eclipses"]),  # type: ignore[arg-type]
            saa_passes=_decode_table(intervals["saa_passes"]),  # type: ignore[arg-type]
            energy=energy,
            config=TimelineConfig.from_dict(meta["config"]),
            stations=tuple(GroundStation(**station) for station in meta["stations"]),
            source=str(meta["source"]),
        )


# --------------------------------------------------------------------------------------------
# Geometry


def _propagate_dense(
    constellation: Constellation,
    times: FloatArray,
    step_s: float,
    need_velocity: bool,
    knot_step_s: float = _MAX_PROPAGATION_STEP_S,
) -> tuple[FloatArray, FloatArray | None]:
    """TEME positions (and velocities) on ``times``: sgp4 at knots, quintic Hermite between.

    sgp4 runs at every ``m``-th grid time (``m * step_s <= knot_step_s``; the last grid time is
    always a knot). Each coordinate between two knots is the quintic that matches position,
    velocity (sgp4) and acceleration (two-body + J2 with sgp4's WGS72 constants,
    :func:`orbitlearn.space.sampled_orbits.gravity_accel_m_s2`) at both ends: ~1 m from sgp4
    at ~250 s knots in LEO (0.7 m at 550 km, 1.0 m at 350 km, 1.3 m for Planet's element sets
    with drag; :mod:`orbitlearn.space.sampled_orbits` measures 0.96 m at 300 s). On a whole interval of ``m`` steps the grid times sit at the same
    fractions ``j / m``, so the weights form one ``(m, 6)`` matrix and the interpolation is a
    single tensor contraction over all satellites and intervals.
    """
    m = max(1, int(np.floor(knot_step_s / step_s + 1e-9)))
    n_sats, n_times = len(constellation), times.size
    if m == 1 or n_times <= 2 * m:
        r_all, v_all, _ = propagate_teme(constellation, times)
        return r_all, (v_all if need_velocity else None)
    # The grid is regular except perhaps for a shorter last step: whole intervals of m regular
    # steps first, then one last interval (up to m steps) to the final grid time.
    regular_last = np.isclose(times[-1] - times[-2], times[1] - times[0], rtol=0.0, atol=1e-6)
    n_full = (n_times - 1 if regular_last else n_times - 2) // m
    knots = np.arange(0, n_full * m + 1, m)
    if knots[-1] != n_times - 1:
        knots = np.append(knots, n_times - 1)
    r_k, v_k, _ = propagate_teme(constellation, times[knots])
    a_k = gravity_accel_m_s2(r_k)
    r = np.empty((n_sats, n_times, 3))
    v: FloatArray | None = np.empty((n_sats, n_times, 3)) if need_velocity else None

    def knot_values(first: slice, second: slice) -> FloatArray:
        # (6, n_sats, n_intervals, 3): p0, p1, v0, v1, a0, a1 of each interval.
        return np.stack(
            [
                r_k[:, first],
                r_k[:, second],
                v_k[:, first],
                v_k[:, second],
                a_k[:, first],
                a_k[:, second],
            ]
        )

    h = float(times[m] - times[0])
    value, rate = _hermite_weights(np.arange(m) / m, h)  # (m, 6) each
    ends = knot_values(slice(0, n_full), slice(1, n_full + 1))
    np.einsum("jc,cskd->skjd", value, ends, out=r[:, : n_full * m].reshape(n_sats, n_full, m, 3))
    if v is not None:
        np.einsum("jc,cskd->skjd", rate, ends, out=v[:, : n_full * m].reshape(n_sats, n_full, m, 3))
    del ends
    # The remaining grid times: the last knot, and a shorter last interval if there is one.
    tail = np.arange(n_full * m, n_times)
    if tail.size > 1:
        t0, t1 = times[knots[n_full]], times[knots[n_full + 1]]
        tail_value, tail_rate = _hermite_weights((times[tail] - t0) / (t1 - t0), float(t1 - t0))
        ends = knot_values(slice(n_full, n_full + 1), slice(n_full + 1, n_full + 2))[:, :, 0]
        r[:, tail] = np.einsum("jc,csd->sjd", tail_value, ends)
        if v is not None:
            v[:, tail] = np.einsum("jc,csd->sjd", tail_rate, ends)
    else:
        r[:, -1] = r_k[:, -1]
        if v is not None:
            v[:, -1] = v_k[:, -1]
    return r, v


def _radiation_config(radiation: RadiationConfig | dict[str, Any] | None) -> RadiationConfig:
    if radiation is None:
        return RadiationConfig()
    if isinstance(radiation, dict):
        return RadiationConfig.from_dict(radiation)
    return radiation


def _hermite_weights(s: FloatArray, h: float) -> tuple[FloatArray, FloatArray]:
    """Quintic Hermite weights of (p0, p1, v0, v1, a0, a1) at fractions ``s`` of an interval of
    ``h`` seconds, for the value and for its time derivative: two ``(len(s), 6)`` arrays."""
    s2 = s * s
    s3, s4 = s2 * s, s2 * s2
    s5 = s4 * s
    w_p = 10 * s3 - 15 * s4 + 6 * s5  # weight of p1 - p0
    value = np.stack(
        [
            1.0 - w_p,
            w_p,
            (s - 6 * s3 + 8 * s4 - 3 * s5) * h,
            (-4 * s3 + 7 * s4 - 3 * s5) * h,
            (0.5 * s2 - 1.5 * s3 + 1.5 * s4 - 0.5 * s5) * h * h,
            (0.5 * s3 - s4 + 0.5 * s5) * h * h,
        ],
        axis=1,
    )
    d_p = (30 * s2 - 60 * s3 + 30 * s4) / h
    rate = np.stack(
        [
            -d_p,
            d_p,
            1 - 18 * s2 + 32 * s3 - 15 * s4,
            -12 * s2 + 28 * s3 - 15 * s4,
            (s - 4.5 * s2 + 6 * s3 - 2.5 * s4) * h,
            (1.5 * s2 - 4 * s3 + 2.5 * s4) * h,
        ],
        axis=1,
    )
    return value, rate


def _geodetic_from_teme(
    r_teme_m: FloatArray, times: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """WGS84 latitude, longitude (deg) and height (m) of TEME positions ``(n_sats, n_times, 3)``.

    The rotation into the Earth-fixed frame is the one of
    :func:`orbitlearn.space.frames.teme_to_ecef` (GMST, IAU 1982); the geodetic conversion is one
    Bowring iteration, within ~1e-7 deg and a few millimetres of the converged solution for
    heights up to a few thousand kilometres (Bowring 1976, Survey Review 23:181; checked against
    :func:`orbitlearn.space.frames.ecef_to_geodetic` in the tests). Latitude and longitude come
    back as float32 (what the grid stores), the height as float64.
    """
    theta = gmst_rad(times)
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    rx, ry = r_teme_m[..., 0], r_teme_m[..., 1]
    x = cos_t * rx + sin_t * ry
    y = cos_t * ry - sin_t * rx
    z = r_teme_m[..., 2]
    a = WGS84_A_M
    b = a * (1.0 - WGS84_F)
    ep2 = (a * a - b * b) / (b * b)
    p = np.sqrt(x * x + y * y)  # no overflow at these magnitudes: np.hypot's care is not needed
    # Parametric latitude beta from tan(beta) = (a z) / (b p), without trigonometry.
    az, bp = a * z, b * p
    inv_norm = 1.0 / np.sqrt(az * az + bp * bp)
    sin_b, cos_b = az * inv_norm, bp * inv_norm
    num = z + (ep2 * b) * (sin_b * sin_b * sin_b)
    den = p - (WGS84_E2 * a) * (cos_b * cos_b * cos_b)
    inv_hyp = 1.0 / np.sqrt(num * num + den * den)
    sin_lat, cos_lat = num * inv_hyp, den * inv_hyp
    height = p * cos_lat + z * sin_lat - a * np.sqrt(1.0 - WGS84_E2 * (sin_lat * sin_lat))
    # The angles in single precision (what the grid stores; numpy's float32 arctan is about
    # twice as fast as float64 arctan2): ~1e-7 relative, a few decimetres at most.
    with np.errstate(divide="ignore", invalid="ignore"):  # x = 0 or den = 0: arctan(inf)
        lat = np.degrees(np.arctan((num / den).astype(np.float32)))  # den >= 0: one quadrant
        lon = np.degrees(np.arctan((y / x).astype(np.float32)))
    lon += np.where(
        x < 0.0, np.where(y >= 0.0, np.float32(180.0), np.float32(-180.0)), np.float32(0.0)
    )
    lon[lon >= 180.0] -= np.float32(360.0)
    return lat, lon, height


def _sun_teme_m(times: FloatArray) -> FloatArray:
    """The Sun in TEME at ``times``, ``(n_times, 3)``: DE421 every 10 minutes, linear between.

    Over 10 minutes the Sun's direction turns by 1.2e-4 rad; the chord departs from the arc by
    ~300 m at 1 AU (2e-9 rad), far below anything a shadow edge or a cosine can see.
    """
    if times.size <= 64:
        return sun_position_teme_m(times)
    nodes = time_grid_unix_s(float(times[0]), float(times[-1] - times[0]), _SUN_NODE_STEP_S)
    sun = sun_position_teme_m(nodes)
    return np.stack([np.interp(times, nodes, sun[:, axis]) for axis in range(3)], axis=1)


# --------------------------------------------------------------------------------------------
# Windows


def _ground_contacts(
    constellation: Constellation,
    stations: Sequence[GroundStation],
    times: FloatArray,
    config: TimelineConfig,
) -> ContactTable:
    station_names = tuple(station.name for station in stations)
    if not stations:
        return ContactTable.empty(constellation.names, station_names)
    from orbitlearn.space.contacts import ground_contacts

    return ground_contacts(
        constellation,
        list(stations),
        float(times[0]),
        float(times[-1] - times[0]),
        min_elevation_deg=config.min_elevation_deg,
        refraction=config.refraction,
    )


def _isl_windows(
    constellation: Constellation, times: FloatArray, config: TimelineConfig
) -> ContactTable:
    from orbitlearn.space.isl import isl_windows

    windows: ContactTable = isl_windows(
        constellation,
        float(times[0]),
        float(times[-1] - times[0]),
        grazing_height_m=config.isl_grazing_height_m,
        max_range_m=config.isl_max_range_m,
    )
    return windows


def _in_windows(table: ContactTable, times: FloatArray, rows: slice) -> BoolArray:
    """Whether each grid time of the satellites ``rows`` lies in one of their ground windows."""
    n_rows = rows.stop - rows.start
    counts = np.zeros((n_rows, times.size + 1), dtype=np.int32)
    mine = (table.station >= 0) & (table.satellite >= rows.start) & (table.satellite < rows.stop)
    if mine.any():
        satellite = table.satellite[mine] - rows.start
        first = np.searchsorted(times, table.start_unix_s[mine], side="left")
        last = np.searchsorted(times, table.end_unix_s[mine], side="right")
        np.add.at(counts, (satellite, first), 1)
        np.add.at(counts, (satellite, last), -1)
    return np.cumsum(counts[:, :-1], axis=1) > 0


def _threshold_windows(
    kind: type[Any],
    margin: NDArray[Any],
    times: FloatArray,
    names: Sequence[str],
    first_satellite: int = 0,
    *,
    peak_of: NDArray[Any] | None = None,
) -> Any:
    """Windows where ``margin >= 0`` (rows are satellites ``first_satellite + i``); edges are
    interpolated linearly between grid samples."""
    inside = margin >= 0  # NaN (failed propagation) counts as outside
    n_times = inside.shape[1]
    edges = np.diff(inside.view(np.int8), axis=1, prepend=0, append=0)
    row_start, i_start = np.nonzero(edges == 1)  # first inside sample
    row_end, i_stop = np.nonzero(edges == -1)  # one past the last inside sample
    i_last = i_stop - 1
    start = times[i_start].astype(np.float64)
    end = times[i_last].astype(np.float64)
    before = i_start > 0
    after = i_stop < n_times
    if before.any():
        rows, k = row_start[before], i_start[before]
        fraction = _crossing(margin[rows, k - 1], margin[rows, k])
        start[before] = times[k - 1] + (times[k] - times[k - 1]) * fraction
    if after.any():
        rows, k = row_end[after], i_last[after]
        fraction = _crossing(margin[rows, k], margin[rows, k + 1])
        end[after] = times[k] + (times[k + 1] - times[k]) * fraction
    columns: dict[str, Any] = {
        "satellite": row_start.astype(np.int64) + first_satellite,
        "start_unix_s": start,
        "end_unix_s": end,
        "start_clipped": ~before,
        "end_clipped": ~after,
        "satellite_names": tuple(names),
    }
    if peak_of is not None:
        peak = np.zeros(row_start.size)
        for index, (row, lo, hi) in enumerate(zip(row_start, i_start, i_stop, strict=True)):
            peak[index] = peak_of[row, lo:hi].max()  # a few passes per satellite-day
        columns["peak_upset_rate_per_bit_s"] = peak
    return kind(**columns)


def _eclipse_windows(
    r_teme_m: FloatArray,
    shadow: FloatArray,
    sun_teme_m: FloatArray,
    times: FloatArray,
    names: Sequence[str],
    first_satellite: int,
) -> EclipseTable:
    """Penumbra and umbra rows of a block of satellites, from the grid (see the module).

    States per sample: 0 sunlit, 1 penumbra, 2 umbra. Each change of the "any shadow" or the
    "umbra" flag between two samples becomes an event whose time is the zero of the matching
    edge function, interpolated linearly between the two samples; the rows are the spans
    between consecutive events of a satellite in which it is in shadow.
    """
    any_shadow = shadow > 0.0  # NaN (failed propagation) counts as sunlit
    umbra = shadow >= 1.0
    event_sat: list[NDArray[np.int64]] = []
    event_time: list[FloatArray] = []
    event_state: list[NDArray[np.int64]] = []
    for flag, outer in ((any_shadow, True), (umbra, False)):
        change = flag[:, 1:] != flag[:, :-1]
        rows, k = np.nonzero(change)
        if rows.size:
            f0 = _shadow_edge_function(r_teme_m[rows, k], sun_teme_m[k], outer)
            f1 = _shadow_edge_function(r_teme_m[rows, k + 1], sun_teme_m[k + 1], outer)
            t = times[k] + (times[k + 1] - times[k]) * _crossing(f0, f1)
            entering = flag[rows, k + 1]
            # Entering the shadow starts a penumbra; leaving it, sunlight. Entering the umbra
            # starts the umbra; leaving it, penumbra again.
            state = np.where(entering, 1 if outer else 2, 0 if outer else 1)
            event_sat.append(rows)
            event_time.append(t)
            event_state.append(state)
    # Satellites already in shadow at the first sample start there (clipped).
    start_state = np.where(umbra[:, 0], 2, np.where(any_shadow[:, 0], 1, 0))
    first_rows = np.flatnonzero(start_state > 0)
    event_sat.append(first_rows)
    event_time.append(np.full(first_rows.size, float(times[0])))
    event_state.append(start_state[first_rows])
    sat = np.concatenate(event_sat)
    t = np.concatenate(event_time)
    state = np.concatenate(event_state)
    # A state that changes twice between the same two samples (penumbra shorter than a step)
    # sorts by time; ties keep the outer edge first.
    order = np.lexsort((t, sat))
    sat, t, state = sat[order], t[order], state[order]
    last = np.r_[sat[1:] != sat[:-1], True] if sat.size else np.zeros(0, dtype=bool)
    end = np.where(last, float(times[-1]), np.r_[t[1:], 0.0] if t.size else t)
    keep = (state > 0) & (end > t)
    clipped_start = (t == times[0]) & keep
    return EclipseTable(
        satellite=sat[keep].astype(np.int64) + first_satellite,
        start_unix_s=t[keep],
        end_unix_s=end[keep],
        start_clipped=clipped_start[keep],
        end_clipped=last[keep],
        satellite_names=tuple(names),
        umbra=state[keep] == 2,
    )


def _shadow_edge_function(r_m: FloatArray, sun_m: FloatArray, outer: bool) -> FloatArray:
    """Conical-shadow edge functions at positions ``(n, 3)`` with the Sun ``(n, 3)``, radians.

    ``(a + b) - c`` (positive in penumbra or umbra) or ``(b - a) - c`` (positive in umbra),
    with ``a`` and ``b`` the angular radii of the Sun and the Earth seen from the satellite and
    ``c`` the angle between their centres (Montenbruck & Gill, *Satellite Orbits*, 3.4.2; the
    Earth a sphere of the WGS84 equatorial radius, as :func:`shadow_fraction` uses).
    """
    to_sun = sun_m - r_m
    r_norm = np.sqrt(np.einsum("ij,ij->i", r_m, r_m))
    d_norm = np.sqrt(np.einsum("ij,ij->i", to_sun, to_sun))
    cos_c = -np.einsum("ij,ij->i", r_m, to_sun) / (r_norm * d_norm)
    c = np.arccos(np.clip(cos_c, -1.0, 1.0))
    a = np.arcsin(np.minimum(SUN_RADIUS_M / d_norm, 1.0))
    b = np.arcsin(np.minimum(EARTH_RADIUS_M / r_norm, 1.0))
    return (a + b - c) if outer else (b - a - c)


def _plain(value: Any, digits: int | None = None) -> float | None:
    """A JSON-ready number: ``None`` if not finite, rounded to ``digits`` or 6 significant."""
    number = float(value)
    if not np.isfinite(number):
        return None
    return round(number, digits) if digits is not None else float(f"{number:.6g}")


def _workers(workers: int | None) -> int:
    if workers is None:
        return min(4, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError("workers", workers, "an integer >= 1")
    return workers


def _count_eclipses(table: IntervalTable, n_sats: int) -> NDArray[np.int64]:
    """Eclipses per satellite: runs of touching penumbra / umbra rows count once."""
    if not len(table):
        return np.zeros(n_sats, dtype=np.int64)
    rows = table.sorted(("satellite", "start_unix_s"))
    new = np.ones(len(rows), dtype=bool)
    same = rows.satellite[1:] == rows.satellite[:-1]
    touching = rows.start_unix_s[1:] <= rows.end_unix_s[:-1] + 1e-3
    new[1:] = ~(same & touching)
    return np.bincount(rows.satellite[new], minlength=n_sats)


def _crossing(f0: NDArray[Any], f1: NDArray[Any]) -> FloatArray:
    """Where a line through ``(0, f0)`` and ``(1, f1)`` crosses zero (0.5 if undefined)."""
    f0, f1 = f0.astype(np.float64), f1.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        where = f0 / (f0 - f1)
    return np.where(np.isfinite(where), np.clip(where, 0.0, 1.0), 0.5)


# --------------------------------------------------------------------------------------------
# Metadata encoding


def _encode_array(values: NDArray[Any]) -> dict[str, Any]:
    array = np.ascontiguousarray(values)
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return {
        "dtype": little.dtype.str,
        "shape": list(array.shape),
        "b64": base64.b64encode(little.tobytes()).decode("ascii"),
    }


def _decode_array(entry: dict[str, Any]) -> NDArray[Any]:
    raw = base64.b64decode(entry["b64"])
    array = np.frombuffer(raw, dtype=np.dtype(entry["dtype"])).reshape(entry["shape"])
    return array.astype(array.dtype.newbyteorder("="), copy=True)


def _encode_table(table: IntervalTable) -> dict[str, Any]:
    arrays: dict[str, Any] = {}
    names: dict[str, Any] = {}
    for item in dataclasses.fields(table):
        value = getattr(table, item.name)
        if isinstance(value, np.ndarray):
            arrays[item.name] = _encode_array(value)
        else:
            names[item.name] = list(value)
    return {"type": type(table).__name__, "arrays": arrays, "names": names}


def _decode_table(entry: dict[str, Any]) -> IntervalTable:
    kind = _TABLE_TYPES[entry["type"]]
    values: dict[str, Any] = {name: _decode_array(array) for name, array in entry["arrays"].items()}
    values.update({name: tuple(items) for name, items in entry["names"].items()})
    return kind(**values)
