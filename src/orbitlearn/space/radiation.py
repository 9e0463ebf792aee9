"""The radiation environment of each satellite over time: upsets, resets, dose and stuck bits.

An engineering model, calibrated to the published figures in REFERENCE.md "Radiation" rather than
derived from a particle-transport code. For each satellite and time it combines:

* **Trapped protons in the South Atlantic Anomaly** (:mod:`orbitlearn.space.saa`): a profile in
  latitude / longitude times an altitude scaling ``A(h)`` (~10x per 300 km below 900 km).
* **Galactic cosmic rays**: an open-field rate times the share of the spectrum above the
  geomagnetic cutoff rigidity ``Rc`` (Stormer, vertical, tilted centred dipole):
  ``Rc = 14.9 GV * (R_E / r)**2 * cos(lambda_m)**4``; transmission ``1 / (1 + (Rc / R0)**2)``.
* **Polar horns**: outer-belt particles in a band of geomagnetic latitude (centred on
  ``horn_latitude_deg``), the same altitude scaling as the SAA.
* **Solar activity**: the 81-day F10.7 flux lowers trapped-proton and cosmic-ray rates at solar
  maximum (power laws about ``reference_f107_sfu``); a storm's 3-hourly Kp lowers the cutoff
  rigidity, so cosmic rays and solar protons reach lower latitudes, and feeds the horns.
* **Solar-particle events** (:mod:`orbitlearn.space.space_weather`): protons that reach only
  where the cutoff is below ~0.5 GV (the polar caps, wider during storms).

Geomagnetic latitude uses a centred dipole whose north pole is at 80.65 N, 72.68 W (IGRF-13,
epoch 2020); the polar horns and cutoffs are therefore at high *geomagnetic* latitude.

Outputs are arrays ``(n_sats, n_times)``. Rates are per second and hold over the step that starts
at each grid time (piecewise constant); the accumulated dose at time ``i`` includes the steps
before it. The ``acceleration`` factor multiplies upsets, resets and stuck-bit growth (not the
physical dose) for stress scenarios.

Calibration (est., checked by tests/space/test_radiation*.py with sgp4 orbits): commercial SRAM
(:data:`~orbitlearn.space.radiation_presets.REFERENCE_SRAM_UPSETS_PER_BIT_DAY`) averages
~4e-7 upsets/bit/day at ~700 km SSO; ~94 % of upsets at 550 km / 53 deg fall inside the SAA;
orbit-average dose ~50 rad/yr at 400 km, ~150 at 550-650 km, 1-2 krad/yr at 800 km.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import ConfigError, InputError
from orbitlearn.space._config_checks import check_choice, check_number
from orbitlearn.space.radiation_presets import (
    DeviceModel,
    MemoryModel,
    resolve_device,
    resolve_memory,
)
from orbitlearn.space.saa import SaaModel
from orbitlearn.space.space_weather import (
    SolarParticleEventModel,
    SpaceWeatherHistory,
    fixed_space_weather,
    load_space_weather,
    spe_intensity,
)
from orbitlearn.space.timescale import DAY_S

__all__ = [
    "GEOMAGNETIC_POLE_LAT_DEG",
    "GEOMAGNETIC_POLE_LON_DEG",
    "AltitudeScaling",
    "RadiationCoefficients",
    "RadiationConfig",
    "RadiationEnvironment",
    "cutoff_rigidity_gv",
    "draw_upset_counts",
    "expected_upsets",
    "geomagnetic_latitude_deg",
    "radiation_environment",
]

FloatArray = NDArray[np.float64]

#: North geomagnetic (centred-dipole) pole, IGRF-13 epoch 2020 (Alken et al. 2021, Earth Planets
#: Space 73:49): 80.65 N, 72.68 W.
GEOMAGNETIC_POLE_LAT_DEG = 80.65
GEOMAGNETIC_POLE_LON_DEG = -72.68
#: Stormer vertical cutoff at the equator on the surface of a dipole Earth, 14.9 GV (Smart & Shea
#: 2005, Adv. Space Res. 36:2012, eq. 1 with the 2000-epoch dipole moment).
STORMER_EQUATOR_GV = 14.9
#: Mean Earth radius used with the dipole (IUGG).
EARTH_MEAN_RADIUS_M = 6_371_008.8
_YEAR_S = 365.25 * DAY_S


@dataclass(frozen=True)
class AltitudeScaling:
    """A factor that grows with altitude: log-linear between anchors, end slopes outside.

    Altitudes are clamped to [``min_altitude_m``, ``max_altitude_m``] (the model's LEO range:
    below, the factor of the lowest altitude; above, of the highest).

    >>> scaling = AltitudeScaling((400e3, 700e3), (1.0, 10.0))
    >>> scaling([400e3, 550e3, 1000e3]).round(3).tolist()
    [1.0, 3.162, 100.0]
    """

    altitudes_m: tuple[float, ...]
    factors: tuple[float, ...]
    min_altitude_m: float = 150e3
    max_altitude_m: float = 2000e3

    def __post_init__(self) -> None:
        altitudes = np.asarray(self.altitudes_m, dtype=np.float64)
        factors = np.asarray(self.factors, dtype=np.float64)
        if altitudes.ndim != 1 or altitudes.size < 2 or np.any(np.diff(altitudes) <= 0):
            raise ConfigError(
                "altitude_scaling.altitudes_m", self.altitudes_m, "at least 2 increasing altitudes"
            )
        if factors.shape != altitudes.shape or not np.all(np.isfinite(factors) & (factors > 0)):
            raise ConfigError(
                "altitude_scaling.factors", self.factors, "one positive factor per altitude"
            )
        object.__setattr__(self, "altitudes_m", tuple(float(a) for a in altitudes))
        object.__setattr__(self, "factors", tuple(float(f) for f in factors))

    def __call__(self, altitude_m: ArrayLike) -> FloatArray:
        """The factor at each altitude (metres)."""
        return np.exp(self.log_factor(altitude_m))

    def log_factor(self, altitude_m: ArrayLike) -> FloatArray:
        """Natural log of the factor (cheaper to combine before one ``exp``)."""
        x, y = self._table
        return np.interp(np.asarray(altitude_m, dtype=np.float64), x, y)

    @cached_property
    def _table(self) -> tuple[FloatArray, FloatArray]:
        """Anchors extended to the clamp altitudes along the end slopes: one ``np.interp``
        then does the interpolation, the extrapolation and the clamp."""
        x = np.asarray(self.altitudes_m)
        y = np.log(np.asarray(self.factors))
        low_slope = (y[1] - y[0]) / (x[1] - x[0])
        high_slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
        xs, ys = list(x), list(y)
        if self.min_altitude_m < x[0]:
            xs.insert(0, self.min_altitude_m)
            ys.insert(0, y[0] + low_slope * (self.min_altitude_m - x[0]))
        if self.max_altitude_m > x[-1]:
            xs.append(self.max_altitude_m)
            ys.append(y[-1] + high_slope * (self.max_altitude_m - x[-1]))
        return np.asarray(xs), np.asarray(ys)


#: Trapped-proton scaling for upsets, relative to the Alsat-1 altitude 686 km: ~10x per 300 km
#: (REFERENCE.md) up to 900 km; above, 2x per 300 km (est.: LEO internet satellites at
#: 1050-1425 km report 7.6e-7 /bit/day, the same order as 686 km, so growth slows).
UPSET_ALTITUDE_SCALING = AltitudeScaling(
    (386e3, 686e3, 900e3, 1200e3), (0.1, 1.0, 10 ** (214 / 300), 2.0 * 10 ** (214 / 300))
)
#: Dose scaling relative to 600 km: orbit-average ~50 rad/yr at 400 km, ~150 over 550-650 km
#: (a slow rise, 0.85x to 1.25x of the 600 km value, so both ends stay near 150: Trillium's
#: 650 km SSO is quoted at ~150 rad/yr), ~1.5 krad/yr at 800 km (REFERENCE.md "Radiation",
#: behind ~10 mm Al); 10x per 300 km above.
DOSE_ALTITUDE_SCALING = AltitudeScaling(
    (400e3, 550e3, 650e3, 800e3, 1100e3), (1.0 / 3.0, 0.85, 1.25, 10.0, 100.0)
)


@dataclass(frozen=True)
class RadiationCoefficients:
    """The calibrated constants of the environment model (all est.; see the module docstring).

    Upset rates are for the reference commercial SRAM, per bit per day; doses in rad per year
    behind ~10 mm of aluminium.
    """

    #: SAA peak (profile 1) upset rate at 686 km.
    saa_peak_upsets_per_bit_day: float = 1.77e-5
    #: Polar-horn peak upset rate at 686 km (mostly electrons there: few upsets).
    horn_peak_upsets_per_bit_day: float = 1.0e-8
    #: Galactic cosmic rays with no geomagnetic shielding, at the reference F10.7.
    gcr_open_field_upsets_per_bit_day: float = 6.0e-8
    #: Upsets an SPE of intensity 1 adds, in multiples of the open-field cosmic-ray rate.
    spe_upset_gain: float = 10.0
    #: SAA peak dose rate at 600 km.
    saa_peak_rad_per_year: float = 3400.0
    #: Polar-horn peak dose rate at 600 km.
    horn_peak_rad_per_year: float = 400.0
    #: Cosmic-ray dose with no geomagnetic shielding.
    gcr_open_field_rad_per_year: float = 5.0
    #: Dose an SPE of intensity 1 adds where it has access, per year of exposure.
    spe_rad_per_year: float = 20.0
    #: Geomagnetic latitude of the horn band's centre and its width (Gaussian sigma).
    horn_latitude_deg: float = 62.0
    horn_sigma_deg: float = 5.0
    #: Cosmic-ray transmission ``1 / (1 + (Rc / R0)**2)``: R0.
    gcr_rigidity_gv: float = 1.5
    #: Solar-proton access ``1 / (1 + (Rc / R0)**4)``: R0 (~100 MeV protons: 0.44 GV).
    spe_rigidity_gv: float = 0.5
    #: Cutoff rigidity during a storm: ``Rc / (1 + gain * max(0, Kp - 3))``.
    storm_cutoff_gain: float = 0.2
    #: Horn enhancement during a storm: ``1 + gain * max(0, Kp - 3)``.
    storm_horn_gain: float = 0.3
    #: Solar-cycle modulation ``(F81 / reference) ** exponent`` of trapped protons and GCR.
    reference_f107_sfu: float = 100.0
    trapped_f107_exponent: float = -0.4
    gcr_f107_exponent: float = -0.6

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name.endswith("_exponent"):
                check_number(f"coefficients.{item.name}", value, -5.0, 5.0)
            elif item.name in ("horn_latitude_deg",):
                check_number(f"coefficients.{item.name}", value, 0.0, 90.0, unit="degrees")
            elif item.name in (
                "horn_sigma_deg",
                "gcr_rigidity_gv",
                "spe_rigidity_gv",
                "reference_f107_sfu",
            ):
                check_number(f"coefficients.{item.name}", value, 0.0, low_open=True)
            else:
                check_number(f"coefficients.{item.name}", value, 0.0)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON-ready)."""
        return asdict(self)


SpaceWeatherSource = Literal["history", "fixed"]


@dataclass(frozen=True)
class RadiationConfig:
    """Everything that sets a radiation environment (all fields validated on construction).

    Attributes:
        memory: memory model or preset name ("sram" default, "dram", "ecc_dram", "ecc_sram").
        device: reset model or preset name ("zynq7000" default, "trillium_host", ...).
        saa: the SAA region and profile.
        spe: solar-particle-event model (``history`` by default).
        space_weather: "history" (real Kp / F10.7) or "fixed" (``fixed_kp``, ``fixed_f107_sfu``).
        fixed_kp, fixed_f107_sfu: conditions in "fixed" mode.
        coefficients: the calibrated constants.
        acceleration: multiplies upsets, resets and stuck-bit growth (> 0).
        initial_dose_rad: dose already accumulated at the start.
        seed: seeds the stochastic SPE draw (``spe.mode == "stochastic"``).

    >>> RadiationConfig(acceleration=0)
    Traceback (most recent call last):
    ...
    orbitlearn.errors.ConfigError: Expected `radiation.acceleration` to be a number > 0, actual: 0
    """

    memory: MemoryModel = field(default_factory=lambda: resolve_memory("sram"))
    device: DeviceModel = field(default_factory=lambda: resolve_device("zynq7000"))
    saa: SaaModel = field(default_factory=SaaModel)
    spe: SolarParticleEventModel = field(default_factory=SolarParticleEventModel)
    space_weather: SpaceWeatherSource = "history"
    fixed_kp: float = 2.0
    fixed_f107_sfu: float = 100.0
    coefficients: RadiationCoefficients = field(default_factory=RadiationCoefficients)
    acceleration: float = 1.0
    initial_dose_rad: float = 0.0
    seed: int | None = None

    if TYPE_CHECKING:  # the generated __init__ also takes preset names and tables

        def __init__(
            self,
            memory: MemoryModel | str | dict[str, Any] = ...,
            device: DeviceModel | str | dict[str, Any] = ...,
            saa: SaaModel | dict[str, Any] = ...,
            spe: SolarParticleEventModel | dict[str, Any] = ...,
            space_weather: SpaceWeatherSource = ...,
            fixed_kp: float = ...,
            fixed_f107_sfu: float = ...,
            coefficients: RadiationCoefficients | dict[str, Any] = ...,
            acceleration: float = ...,
            initial_dose_rad: float = ...,
            seed: int | None = ...,
        ) -> None: ...

    def __post_init__(self) -> None:
        object.__setattr__(self, "memory", resolve_memory(self.memory))
        object.__setattr__(self, "device", resolve_device(self.device))
        if isinstance(self.saa, dict):
            object.__setattr__(self, "saa", SaaModel.from_dict(self.saa))
        if isinstance(self.spe, dict):
            object.__setattr__(
                self, "spe", _from_table("radiation.spe", SolarParticleEventModel, self.spe)
            )
        if isinstance(self.coefficients, dict):
            object.__setattr__(
                self,
                "coefficients",
                _from_table("radiation.coefficients", RadiationCoefficients, self.coefficients),
            )
        check_choice("radiation.space_weather", self.space_weather, ("history", "fixed"))
        check_number("radiation.fixed_kp", self.fixed_kp, 0.0, 9.0)
        check_number("radiation.fixed_f107_sfu", self.fixed_f107_sfu, 50.0, 400.0, unit="sfu")
        check_number("radiation.acceleration", self.acceleration, 0.0, low_open=True)
        check_number("radiation.initial_dose_rad", self.initial_dose_rad, 0.0, unit="rad")
        if self.seed is not None and (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int | np.integer)
            or self.seed < 0
        ):
            raise ConfigError("radiation.seed", self.seed, "an integer >= 0 or none")
        if self.spe.mode == "stochastic" and self.seed is None:
            raise ConfigError(
                "radiation.seed", None, "an integer >= 0 when spe.mode is 'stochastic'"
            )

    def space_weather_history(self) -> SpaceWeatherHistory:
        """The Kp / F10.7 record this configuration reads."""
        if self.space_weather == "fixed":
            return fixed_space_weather(kp=self.fixed_kp, f107_sfu=self.fixed_f107_sfu)
        return load_space_weather()

    def with_overrides(self, **changes: Any) -> RadiationConfig:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON-ready); :meth:`from_dict` inverts it."""
        return {
            "memory": self.memory.to_dict(),
            "device": self.device.to_dict(),
            "saa": self.saa.to_dict(),
            "spe": asdict(self.spe),
            "space_weather": self.space_weather,
            "fixed_kp": self.fixed_kp,
            "fixed_f107_sfu": self.fixed_f107_sfu,
            "coefficients": self.coefficients.to_dict(),
            "acceleration": self.acceleration,
            "initial_dose_rad": self.initial_dose_rad,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RadiationConfig:
        """Build from plain values (a TOML / JSON table); unknown keys are rejected."""
        return _from_table("radiation", cls, values)


def _from_table(name: str, kind: type, values: dict[str, Any]) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(name, values, "a table of settings")
    known = [item.name for item in fields(kind) if item.init]
    for key in values:
        if key not in known:
            raise ConfigError(name, key, "a table with keys among " + ", ".join(map(repr, known)))
    return kind(**values)


@dataclass(frozen=True, eq=False)
class RadiationEnvironment:
    """Radiation seen by each satellite, arrays ``(n_sats, n_times)`` unless stated.

    Attributes:
        in_saa: inside the SAA contour (bool).
        upset_rate_per_bit_s: upsets per bit per second visible to software (after ECC when the
            memory has it), including ``acceleration``.
        multi_bit_fraction: share of upsets that flip more than one bit (raw, before ECC).
        reset_rate_per_s: functional interrupts (resets) per second, including ``acceleration``.
        dose_rate_rad_s: total ionizing dose rate, rad per second.
        dose_rad: accumulated dose at each grid time (``initial_dose_rad`` at the first).
        stuck_bit_fraction: share of the memory's bits stuck at a value, from the dose.
        saa_margin: ``profile * A(h) / A(h_ref) - edge_intensity`` (>= 0 inside the SAA
            contour when in the region); continuous across the contour, for edge interpolation.

    Rates, fractions and the margin are float32 (single precision is far finer than the
    model); the accumulated dose is summed in float64.
        kp, f107_81_sfu, spe_intensity: space weather at each time, shape ``(n_times,)``.
    """

    in_saa: NDArray[np.bool_]
    upset_rate_per_bit_s: NDArray[np.float32]
    multi_bit_fraction: NDArray[np.float32]
    reset_rate_per_s: NDArray[np.float32]
    dose_rate_rad_s: NDArray[np.float32]
    dose_rad: FloatArray
    stuck_bit_fraction: NDArray[np.float32]
    saa_margin: NDArray[np.float32]
    kp: FloatArray
    f107_81_sfu: FloatArray
    spe_intensity: FloatArray


def geomagnetic_latitude_deg(latitude_deg: ArrayLike, longitude_deg: ArrayLike) -> FloatArray:
    """Centred-dipole geomagnetic latitude (IGRF-13 2020 pole), degrees.

    Geodetic latitude stands in for geocentric (< 0.2 deg apart, negligible here).

    >>> round(float(geomagnetic_latitude_deg(GEOMAGNETIC_POLE_LAT_DEG, GEOMAGNETIC_POLE_LON_DEG)), 6)
    90.0
    """
    return np.degrees(np.arcsin(_sin_geomagnetic_latitude(latitude_deg, longitude_deg)))


def _sin_geomagnetic_latitude(latitude_deg: ArrayLike, longitude_deg: ArrayLike) -> NDArray[Any]:
    """Keeps the input's float dtype (float32 in, float32 out)."""
    given = np.asarray(latitude_deg)
    lat = np.radians(given if given.dtype == np.float32 else given.astype(np.float64))
    lon = np.radians(np.asarray(longitude_deg, dtype=lat.dtype))
    # Python floats, so that float32 input stays float32 (a numpy float64 scalar would not).
    pole_lat = float(np.radians(GEOMAGNETIC_POLE_LAT_DEG))
    pole_lon = float(np.radians(GEOMAGNETIC_POLE_LON_DEG))
    value = np.cos(lat) * (np.cos(lon - pole_lon) * math.cos(pole_lat)) + np.sin(lat) * math.sin(
        pole_lat
    )
    return np.clip(value, -1.0, 1.0)


def cutoff_rigidity_gv(geomagnetic_latitude: ArrayLike, altitude_m: ArrayLike) -> FloatArray:
    """Stormer vertical cutoff rigidity (GV) at a geomagnetic latitude (deg) and altitude (m).

    >>> round(float(cutoff_rigidity_gv(0.0, 0.0)), 3)
    14.9
    """
    lam = np.radians(np.asarray(geomagnetic_latitude, dtype=np.float64))
    radius_ratio = EARTH_MEAN_RADIUS_M / (
        EARTH_MEAN_RADIUS_M + np.asarray(altitude_m, dtype=np.float64)
    )
    return STORMER_EQUATOR_GV * radius_ratio**2 * np.cos(lam) ** 4


def radiation_environment(
    latitude_deg: ArrayLike,
    longitude_deg: ArrayLike,
    altitude_m: ArrayLike,
    unix_s: ArrayLike,
    config: RadiationConfig | None = None,
    *,
    space_weather: SpaceWeatherHistory | None = None,
) -> RadiationEnvironment:
    """The radiation environment along ground tracks.

    Args:
        latitude_deg, longitude_deg, altitude_m: WGS84 geodetic sub-satellite points, shape
            ``(n_sats, n_times)`` (a ``(n_times,)`` track is one satellite).
        unix_s: grid times, POSIX seconds, shape ``(n_times,)``, increasing.
        config: the model settings (defaults: SRAM, Zynq-7000, history space weather).
        space_weather: the Kp / F10.7 record; by default the one ``config`` names.

    Returns:
        A :class:`RadiationEnvironment`.

    Raises:
        InputError: shapes disagree or times do not increase.

    >>> env = radiation_environment([[-27.0, 40.0]], [[-50.0, 10.0]], [[686e3, 686e3]],
    ...                             [0.0, 10.0], RadiationConfig(space_weather="fixed"))
    >>> env.in_saa.tolist()
    [[True, False]]
    >>> bool(env.upset_rate_per_bit_s[0, 0] > 100 * env.upset_rate_per_bit_s[0, 1])
    True
    """
    config = config or RadiationConfig()
    coeff = config.coefficients
    lat = np.atleast_2d(np.asarray(latitude_deg, dtype=np.float64))
    lon = np.atleast_2d(np.asarray(longitude_deg, dtype=np.float64))
    alt = np.atleast_2d(np.asarray(altitude_m, dtype=np.float64))
    times = np.asarray(unix_s, dtype=np.float64)
    if (
        times.ndim != 1
        or lat.shape != lon.shape
        or lat.shape != alt.shape
        or lat.shape[-1] != times.size
    ):
        raise InputError(
            "latitude_deg / longitude_deg / altitude_m / unix_s",
            f"shapes {lat.shape}, {lon.shape}, {alt.shape}, {times.shape}",
            "three (n_sats, n_times) arrays and a (n_times,) time array",
        )
    if times.size > 1 and not np.all(np.diff(times) > 0):
        raise InputError("unix_s", "non-increasing times", "strictly increasing grid times")
    history = space_weather or config.space_weather_history()

    # Space weather along the grid, shape (n_times,).
    kp = history.kp_at(times)
    f107 = history.f107_81_at(times)
    rng = np.random.default_rng(config.seed) if config.spe.mode == "stochastic" else None
    spe = spe_intensity(times, history, config.spe, rng)
    storm = np.maximum(kp - 3.0, 0.0)
    trapped_mod = (f107 / coeff.reference_f107_sfu) ** coeff.trapped_f107_exponent
    gcr_mod = (f107 / coeff.reference_f107_sfu) ** coeff.gcr_f107_exponent
    horn_mod = 1.0 + coeff.storm_horn_gain * storm

    def per_time(values: FloatArray) -> NDArray[np.float32]:
        return np.asarray(values, dtype=np.float32)

    # Geometry, (n_sats, n_times), in single precision: float32 exp / sin / cos are several
    # times faster in numpy, and 1e-7 relative is far below the model's own uncertainty.
    lat32 = lat.astype(np.float32)
    lon32 = lon.astype(np.float32)
    profile = config.saa.profile(lat32, lon32)
    upset_gain = np.exp(UPSET_ALTITUDE_SCALING.log_factor(alt).astype(np.float32))
    dose_gain = np.exp(DOSE_ALTITUDE_SCALING.log_factor(alt).astype(np.float32))
    reference_gain = float(UPSET_ALTITUDE_SCALING(config.saa.reference_altitude_m))
    saa_margin = profile * (upset_gain / reference_gain) - config.saa.edge_intensity
    in_saa = (profile > 0.0) & (saa_margin >= 0.0)
    sin_mlat = _sin_geomagnetic_latitude(lat32, lon32)
    # Horn band: a Gaussian in sin(geomagnetic latitude) about sin(horn latitude), of width
    # cos(horn latitude) * sigma (the same band to first order, without an arcsin per point).
    horn_center = float(np.sin(np.radians(coeff.horn_latitude_deg)))
    horn_width = float(
        np.cos(np.radians(coeff.horn_latitude_deg)) * np.radians(coeff.horn_sigma_deg)
    )
    horns = np.exp(-0.5 * ((np.abs(sin_mlat) - horn_center) / horn_width) ** 2)
    # Stormer cutoff, lowered during storms: Rc / (1 + gain * max(0, Kp - 3)).
    ratio = EARTH_MEAN_RADIUS_M / (EARTH_MEAN_RADIUS_M + alt.astype(np.float32))
    cos2 = 1.0 - sin_mlat * sin_mlat
    scaled = ratio * cos2
    cutoff = (scaled * scaled) * per_time(
        STORMER_EQUATOR_GV / (1.0 + coeff.storm_cutoff_gain * storm)
    )  # GV
    x = cutoff * (1.0 / coeff.gcr_rigidity_gv)
    gcr_access = 1.0 / (1.0 + x * x)
    y = cutoff * (1.0 / coeff.spe_rigidity_gv)
    y2 = y * y
    spe_access = 1.0 / (1.0 + y2 * y2)

    # Upsets of the reference SRAM, per bit per day, split by particle kind.
    protons = (
        per_time(trapped_mod * coeff.saa_peak_upsets_per_bit_day) * (upset_gain * profile)
        + per_time(horn_mod * coeff.horn_peak_upsets_per_bit_day) * (upset_gain * horns)
        + per_time(spe * (coeff.spe_upset_gain * coeff.gcr_open_field_upsets_per_bit_day))
        * spe_access
    )
    ions = per_time(coeff.gcr_open_field_upsets_per_bit_day * gcr_mod) * gcr_access
    raw_per_bit_day = protons + ions
    memory = config.memory
    with np.errstate(invalid="ignore", divide="ignore"):
        ion_share = np.where(raw_per_bit_day > 0, ions / raw_per_bit_day, 0.0)
    multi_bit = (
        memory.multi_bit_fraction_protons
        + np.float32(memory.multi_bit_fraction_ions - memory.multi_bit_fraction_protons) * ion_share
    )
    raw_rate = raw_per_bit_day * np.float32(memory.rate_scale * config.acceleration / DAY_S)
    upset_rate = memory.visible_rate_per_bit_s(raw_rate, multi_bit).astype(np.float32, copy=False)

    # Dose, rad per second, and what it drives.
    dose_rate = (
        per_time(trapped_mod * coeff.saa_peak_rad_per_year / _YEAR_S) * (dose_gain * profile)
        + per_time(horn_mod * coeff.horn_peak_rad_per_year / _YEAR_S) * (dose_gain * horns)
        + per_time(gcr_mod * coeff.gcr_open_field_rad_per_year / _YEAR_S) * gcr_access
        + per_time(spe * coeff.spe_rad_per_year / _YEAR_S) * spe_access
    )
    dose = np.empty(dose_rate.shape, dtype=np.float64)
    dose[:, 0] = config.initial_dose_rad
    if times.size > 1:
        np.cumsum(dose_rate[:, :-1] * np.diff(times), axis=1, out=dose[:, 1:])
        dose[:, 1:] += config.initial_dose_rad
    reset_rate = dose_rate * np.float32(config.device.resets_per_rad * config.acceleration)
    stuck = -np.expm1(
        (-(memory.stuck_bits_per_bit_per_rad * config.acceleration) * dose).astype(np.float32)
    )
    return RadiationEnvironment(
        in_saa=in_saa,
        upset_rate_per_bit_s=upset_rate,
        multi_bit_fraction=multi_bit,
        reset_rate_per_s=reset_rate,
        dose_rate_rad_s=dose_rate,
        dose_rad=dose,
        stuck_bit_fraction=stuck,
        saa_margin=saa_margin.astype(np.float32, copy=False),
        kp=kp,
        f107_81_sfu=f107,
        spe_intensity=spe,
    )


def expected_upsets(rate_per_bit_s: ArrayLike, unix_s: ArrayLike, n_bits: float) -> FloatArray:
    """Expected upsets in ``n_bits`` over each step, ``(n_sats, n_times - 1)``.

    The rate at grid time ``i`` holds over ``[t_i, t_{i+1})``.

    >>> expected_upsets([[1e-9, 2e-9, 0.0]], [0.0, 10.0, 30.0], 1e6).tolist()
    [[0.01, 0.04]]
    """
    rate = np.atleast_2d(np.asarray(rate_per_bit_s, dtype=np.float64))
    step_s = np.diff(np.asarray(unix_s, dtype=np.float64))
    check_number("n_bits", n_bits, 0.0)
    return rate[:, :-1] * step_s * n_bits


def draw_upset_counts(
    rate_per_bit_s: ArrayLike, unix_s: ArrayLike, n_bits: float, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Poisson draw of the upsets in ``n_bits`` over each step, ``(n_sats, n_times - 1)``.

    >>> counts = draw_upset_counts([[1e-6] * 3], [0.0, 10.0, 20.0], 1e6, np.random.default_rng(0))
    >>> counts.shape, 5 < int(counts.sum()) < 40  # 20 expected
    ((1, 2), True)
    """
    if not isinstance(rng, np.random.Generator):
        raise InputError("rng", rng, "a numpy Generator (np.random.default_rng(seed))")
    return rng.poisson(expected_upsets(rate_per_bit_s, unix_s, n_bits))
