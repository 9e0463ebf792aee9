"""Electrical power: solar array, battery state of charge, and loads by mode.

Shapes: per-satellite quantities over time are ``(n_sats, n_times)`` on the timeline's grid.
A power given at grid time ``i`` holds over the step ``[t_i, t_{i+1})`` (piecewise constant, as the
radiation rates do); the battery energy at grid time ``i`` is the state at ``t_i``.

**Solar array.** Its output is ``peak_w * (1 - shadow) * incidence * (1 AU / d_sun)**2`` where
``peak_w`` is the rated power at normal incidence at 1 AU (``rated_w``, or
``area_m2 * efficiency * 1361 W/m2``), ``shadow`` the share of the solar disc the Earth hides
(:func:`orbitlearn.space.eclipse.shadow_fraction`, so penumbra ramps the power) and ``incidence``
the cosine factor that the attitude gives (:func:`incidence_factor`):

* ``sun_tracking``: the array is kept facing the Sun (deployed wings on a Sun-pointing bus, or
  drives): 1.
* ``zenith``: body-mounted on the zenith face of a nadir-pointing spacecraft: ``max(0, r.s)``.
* ``orbit_normal``: body-mounted on the orbit-normal faces of a nadir-pointing spacecraft, the
  face toward the Sun lit (panels on both +h and -h, or a yaw flip): ``|h.s|`` = ``|sin beta|``.
* ``tumbling``: a one-sided flat array in random orientation: the mean of ``max(0, cos)`` over
  the sphere, 1/4.

(``r``, ``h``, ``s``: unit vectors of the position, the orbit normal and the Sun direction; the
Sun's parallax across an orbit, < 0.003 deg, is neglected.)

**Battery.** Energy moves in and out through efficiencies: a surplus ``P`` for ``dt`` stores
``P * dt * charge_efficiency`` and a deficit draws ``P * dt / discharge_efficiency``. The stored
energy is clamped to ``[soc_min, soc_max] * capacity_wh``: surplus beyond full is shunted
(curtailed); a load beyond what the battery can give at ``soc_min`` is shed (unserved). Because
the change each step depends only on the sign of the net power, the recursion is
``E[i+1] = clip(E[i] + d[i], E_min, E_max)``: :func:`simulate_battery` solves it in blocks of
time with cumulative sums and running maxima (vectorised over satellites and the steps of a
block; see ``_clamped_walk``) and reconstructs every energy flow afterwards, so that ``generated - delivered - losses - curtailed == stored change`` exactly
(:meth:`EnergyLedger.balance_error_wh`).

**Loads.** :class:`LoadProfile` gives watts per mode: the bus always, the compute payload while
the schedule runs it (default: in sunlight), the radio during ground contacts, heaters in eclipse.
Any other schedule is a ``load_w`` array passed to :func:`simulate_battery` directly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import ConfigError, InputError
from orbitlearn.space._config_checks import check_choice, check_number

__all__ = [
    "ASTRONOMICAL_UNIT_M",
    "ATTITUDES",
    "POWER_PRESETS",
    "SOLAR_CONSTANT_W_M2",
    "Battery",
    "BatteryTrace",
    "EnergyLedger",
    "LoadProfile",
    "PowerSystem",
    "SolarArray",
    "incidence_factor",
    "resolve_power",
    "simulate_battery",
    "solar_power_w",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Total solar irradiance at 1 AU, 1360.8 +- 0.5 W/m2 at solar minimum (Kopp & Lean 2011,
#: Geophys. Res. Lett. 38, L01706).
SOLAR_CONSTANT_W_M2 = 1361.0
#: The astronomical unit, exactly (IAU 2012 Resolution B2).
ASTRONOMICAL_UNIT_M = 149_597_870_700.0
_WH_J = 3600.0

Attitude = Literal["sun_tracking", "zenith", "orbit_normal", "tumbling"]
ATTITUDES: tuple[str, ...] = ("sun_tracking", "zenith", "orbit_normal", "tumbling")
ComputeSchedule = Literal["sunlit", "always", "never"]


@dataclass(frozen=True)
class SolarArray:
    """A solar array: its peak power and how it faces the Sun.

    Give either ``rated_w`` (output at normal incidence, 1 AU) or ``area_m2`` with
    ``efficiency``.

    >>> SolarArray(area_m2=0.1, efficiency=0.3).peak_w
    40.83
    >>> SolarArray(rated_w=40.0, area_m2=0.1)
    Traceback (most recent call last):
    ...
    orbitlearn.errors.ConfigError: Expected `power.solar_array` to be either rated_w or area_m2 with efficiency, actual: {'rated_w': 40.0, 'area_m2': 0.1, 'efficiency': None}
    """

    rated_w: float | None = None
    area_m2: float | None = None
    efficiency: float | None = None
    attitude: Attitude = "sun_tracking"

    def __post_init__(self) -> None:
        by_rating = self.rated_w is not None
        by_area = self.area_m2 is not None or self.efficiency is not None
        if by_rating == by_area or (by_area and (self.area_m2 is None or self.efficiency is None)):
            raise ConfigError(
                "power.solar_array",
                {"rated_w": self.rated_w, "area_m2": self.area_m2, "efficiency": self.efficiency},
                "either rated_w or area_m2 with efficiency",
            )
        if by_rating:
            check_number("power.solar_array.rated_w", self.rated_w, 0.0, 1e6, unit="W")
        else:
            check_number(
                "power.solar_array.area_m2", self.area_m2, 0.0, 1e4, low_open=True, unit="m2"
            )
            check_number("power.solar_array.efficiency", self.efficiency, 0.0, 1.0, low_open=True)
        check_choice("power.solar_array.attitude", self.attitude, ATTITUDES)

    @property
    def peak_w(self) -> float:
        """Output at normal incidence and 1 AU, watts."""
        if self.rated_w is not None:
            return float(self.rated_w)
        assert self.area_m2 is not None and self.efficiency is not None
        return round(self.area_m2 * self.efficiency * SOLAR_CONSTANT_W_M2, 9)


@dataclass(frozen=True)
class Battery:
    """A rechargeable battery.

    Attributes:
        capacity_wh: nameplate energy.
        charge_efficiency, discharge_efficiency: share of energy kept going in / coming out.
        soc_min, soc_max: state-of-charge limits (loads are shed at ``soc_min``, surplus shunted
            at ``soc_max``).
        initial_soc: state of charge at the start, within the limits.

    >>> Battery(capacity_wh=43.0, soc_min=0.5, initial_soc=0.3)
    Traceback (most recent call last):
    ...
    orbitlearn.errors.ConfigError: Expected `power.battery.initial_soc` to be a number in [0.5, 1], actual: 0.3
    """

    capacity_wh: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min: float = 0.2
    soc_max: float = 1.0
    initial_soc: float = 1.0

    def __post_init__(self) -> None:
        check_number(
            "power.battery.capacity_wh", self.capacity_wh, 0.0, 1e7, low_open=True, unit="Wh"
        )
        check_number(
            "power.battery.charge_efficiency", self.charge_efficiency, 0.0, 1.0, low_open=True
        )
        check_number(
            "power.battery.discharge_efficiency", self.discharge_efficiency, 0.0, 1.0, low_open=True
        )
        check_number("power.battery.soc_min", self.soc_min, 0.0, 1.0)
        check_number("power.battery.soc_max", self.soc_max, self.soc_min, 1.0, low_open=True)
        check_number("power.battery.initial_soc", self.initial_soc, self.soc_min, self.soc_max)


@dataclass(frozen=True)
class LoadProfile:
    """Power drawn by mode, watts (see the module docstring).

    Attributes:
        bus_idle_w: the platform (OBC, ADCS, receivers) at all times.
        compute_w: added while the compute payload runs (a device profile's mode power).
        radio_w: added during ground contacts (transmitter on).
        eclipse_heater_w: added in the Earth's shadow.
        compute_schedule: when the compute payload runs by default: ``sunlit`` (shadow < 0.5),
            ``always`` or ``never``.
    """

    bus_idle_w: float = 4.0
    compute_w: float = 7.0
    radio_w: float = 8.0
    eclipse_heater_w: float = 0.0
    compute_schedule: ComputeSchedule = "sunlit"

    def __post_init__(self) -> None:
        for name in ("bus_idle_w", "compute_w", "radio_w", "eclipse_heater_w"):
            check_number(f"power.loads.{name}", getattr(self, name), 0.0, 1e6, unit="W")
        check_choice(
            "power.loads.compute_schedule", self.compute_schedule, ("sunlit", "always", "never")
        )

    def load_w(
        self,
        shadow: ArrayLike,
        in_contact: ArrayLike | None = None,
        compute_on: ArrayLike | None = None,
    ) -> FloatArray:
        """Total load at each time, watts, shaped like ``shadow``.

        ``shadow`` is the shadow fraction, ``in_contact`` whether a ground station is in view
        (default never), ``compute_on`` overrides the compute schedule.

        >>> LoadProfile().load_w([[0.0, 1.0]], [[True, False]]).tolist()
        [[19.0, 4.0]]
        """
        shade = np.asarray(shadow, dtype=np.float64)
        if compute_on is None:
            if self.compute_schedule == "sunlit":
                compute = shade < 0.5
            else:
                compute = np.full(shade.shape, self.compute_schedule == "always")
        else:
            compute = np.broadcast_to(np.asarray(compute_on, dtype=bool), shade.shape)
        load = self.bus_idle_w + self.compute_w * compute
        if in_contact is not None:
            load = load + self.radio_w * np.asarray(in_contact, dtype=bool)
        if self.eclipse_heater_w:
            load = load + self.eclipse_heater_w * (shade >= 0.5)
        return np.broadcast_to(np.asarray(load, dtype=np.float64), shade.shape).copy()


@dataclass(frozen=True)
class PowerSystem:
    """Solar array, battery and loads of one satellite (every satellite of a timeline)."""

    solar_array: SolarArray
    battery: Battery
    loads: LoadProfile = field(default_factory=LoadProfile)
    name: str = "custom"

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON-ready); :func:`resolve_power` inverts it."""
        return {
            "name": self.name,
            "solar_array": asdict(self.solar_array),
            "battery": asdict(self.battery),
            "loads": asdict(self.loads),
        }


POWER_PRESETS: dict[str, PowerSystem] = {
    # 3U CubeSat with deployed wings: 40 W peak (~21 W orbit average), ~43 Wh battery (GomSpace
    # BP4 class; REFERENCE.md "Power and compute"). Compute 7 W: Jetson Orin Nano's 7 W mode.
    # Bus 4 W and radio 8 W (est.).
    "3u": PowerSystem(
        name="3u",
        solar_array=SolarArray(rated_w=40.0, attitude="sun_tracking"),
        battery=Battery(capacity_wh=43.0),
        loads=LoadProfile(bus_idle_w=4.0, compute_w=7.0, radio_w=8.0),
    ),
    # 6U: ~40-100 W peak, 40-100 Wh (est., REFERENCE.md): 80 W and 77 Wh. Compute 15 W: Orin
    # Nano 15 W mode. Bus 6 W and radio 12 W (est.).
    "6u": PowerSystem(
        name="6u",
        solar_array=SolarArray(rated_w=80.0, attitude="sun_tracking"),
        battery=Battery(capacity_wh=77.0),
        loads=LoadProfile(bus_idle_w=6.0, compute_w=15.0, radio_w=12.0),
    ),
    # ESPA-class smallsat: ~270 W sunlit, 80 Wh battery (bsk_rl default; REFERENCE.md). Compute
    # 25 W: Orin NX / Orin Nano top mode. Bus 40 W and radio 30 W (est.).
    "espa": PowerSystem(
        name="espa",
        solar_array=SolarArray(rated_w=270.0, attitude="sun_tracking"),
        battery=Battery(capacity_wh=80.0),
        loads=LoadProfile(bus_idle_w=40.0, compute_w=25.0, radio_w=30.0),
    ),
}


def resolve_power(power: str | PowerSystem | dict[str, Any]) -> PowerSystem:
    """A power system from a preset name, a system, or a table (``preset`` plus overrides).

    A table's ``solar_array`` / ``battery`` / ``loads`` sub-tables override single fields.

    >>> resolve_power({"preset": "3u", "battery": {"capacity_wh": 20.0}}).battery.capacity_wh
    20.0
    >>> resolve_power("12u")
    Traceback (most recent call last):
    ...
    orbitlearn.errors.ConfigError: Expected `power` to be one of '3u', '6u', 'espa' or a table with solar_array, battery and loads, actual: '12u'
    """
    allowed = (
        "one of "
        + ", ".join(repr(name) for name in POWER_PRESETS)
        + " or a table with solar_array, battery and loads"
    )
    if isinstance(power, PowerSystem):
        return power
    if isinstance(power, str):
        if power not in POWER_PRESETS:
            raise ConfigError("power", power, allowed)
        return POWER_PRESETS[power]
    if not isinstance(power, dict):
        raise ConfigError("power", power, allowed)
    values = dict(power)
    preset = values.pop("preset", None)
    base = resolve_power(preset) if preset is not None else None
    known = ("name", "solar_array", "battery", "loads")
    for key in values:
        if key not in known:
            raise ConfigError(
                "power", key, "a table with keys among 'preset', " + ", ".join(map(repr, known))
            )
    parts: dict[str, Any] = {}
    for key, kind in (("solar_array", SolarArray), ("battery", Battery), ("loads", LoadProfile)):
        table = values.get(key)
        current = getattr(base, key) if base is not None else None
        if table is None:
            if current is None and key != "loads":
                raise ConfigError(f"power.{key}", None, f"a table of {kind.__name__} fields")
            parts[key] = current if current is not None else LoadProfile()
            continue
        if isinstance(table, kind):
            parts[key] = table
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"power.{key}", table, f"a table of {kind.__name__} fields")
        names = [item.name for item in fields(kind)]
        for name in table:
            if name not in names:
                raise ConfigError(
                    f"power.{key}", name, "a table with keys among " + ", ".join(map(repr, names))
                )
        if current is not None:
            merged = {item.name: getattr(current, item.name) for item in fields(kind)}
            if kind is SolarArray and ("area_m2" in table or "efficiency" in table):
                merged["rated_w"] = None  # switching from a rating to area x efficiency
            if kind is SolarArray and "rated_w" in table:
                merged["area_m2"] = merged["efficiency"] = None
            merged.update(table)
            parts[key] = kind(**merged)
        else:
            parts[key] = kind(**table)
    name = values.get("name", base.name + "+overrides" if base is not None else "custom")
    return PowerSystem(name=str(name), **parts)


def incidence_factor(
    attitude: str,
    r_teme_m: ArrayLike | None = None,
    v_teme_m_s: ArrayLike | None = None,
    sun_teme_m: ArrayLike | None = None,
) -> FloatArray | float:
    """Cosine factor of the array's incidence for an attitude (see the module docstring).

    Positions and velocities are ``(n_sats, n_times, 3)`` TEME, the Sun ``(n_times, 3)``; the
    result is ``(n_sats, n_times)`` (a float for ``sun_tracking`` and ``tumbling``).

    >>> r = np.array([[[7e6, 0.0, 0.0]]]); v = np.array([[[0.0, 7.5e3, 0.0]]])
    >>> sun = np.array([[1.5e11, 0.0, 0.0]])
    >>> float(incidence_factor("zenith", r, v, sun)[0, 0]), float(incidence_factor("orbit_normal", r, v, sun)[0, 0])
    (1.0, 0.0)
    """
    check_choice("attitude", attitude, ATTITUDES)
    if attitude == "sun_tracking":
        return 1.0
    if attitude == "tumbling":
        return 0.25
    if (
        r_teme_m is None
        or sun_teme_m is None
        or (attitude == "orbit_normal" and v_teme_m_s is None)
    ):
        raise InputError(
            "r_teme_m / v_teme_m_s / sun_teme_m",
            None,
            f"positions, velocities and the Sun for attitude {attitude!r}",
        )
    r = np.asarray(r_teme_m, dtype=np.float64)
    sun = np.asarray(sun_teme_m, dtype=np.float64)
    sun_unit = sun / np.linalg.norm(sun, axis=-1, keepdims=True)
    if attitude == "zenith":
        cos = np.einsum("...i,...i->...", r, sun_unit) / np.linalg.norm(r, axis=-1)
        return np.maximum(cos, 0.0)
    normal = np.cross(r, np.asarray(v_teme_m_s, dtype=np.float64))
    cos = np.einsum("...i,...i->...", normal, sun_unit) / np.linalg.norm(normal, axis=-1)
    return np.abs(cos)


def solar_power_w(
    array: SolarArray,
    shadow: ArrayLike,
    incidence: ArrayLike | float = 1.0,
    sun_distance_m: ArrayLike | float = ASTRONOMICAL_UNIT_M,
) -> FloatArray:
    """Array output, watts: ``peak * (1 - shadow) * incidence * (1 AU / d)**2``.

    ``shadow`` is ``(n_sats, n_times)`` (NaN, a failed propagation, gives 0 W); ``sun_distance_m``
    broadcasts against it (``(n_times,)``).

    >>> solar_power_w(SolarArray(rated_w=40.0), [[0.0, 0.5, 1.0]]).tolist()
    [[40.0, 20.0, 0.0]]
    """
    shade = np.asarray(shadow, dtype=np.float64)
    distance_scale = (ASTRONOMICAL_UNIT_M / np.asarray(sun_distance_m, dtype=np.float64)) ** 2
    power = array.peak_w * (1.0 - shade) * np.asarray(incidence, dtype=np.float64) * distance_scale
    return np.nan_to_num(np.clip(power, 0.0, None), nan=0.0)


@dataclass(frozen=True, eq=False)
class EnergyLedger:
    """Energy flows of each satellite over a simulation, watt-hours, shape ``(n_sats,)``.

    ``generated - delivered - charge_loss - discharge_loss - curtailed`` equals
    ``final - initial`` stored energy (:meth:`balance_error_wh`).
    """

    generated_wh: FloatArray
    demanded_wh: FloatArray
    delivered_wh: FloatArray
    unserved_wh: FloatArray
    curtailed_wh: FloatArray
    charge_loss_wh: FloatArray
    discharge_loss_wh: FloatArray
    initial_wh: FloatArray
    final_wh: FloatArray

    def balance_error_wh(self) -> FloatArray:
        """``in - out - losses - (final - initial)`` per satellite (0 up to rounding)."""
        net = (
            self.generated_wh
            - self.delivered_wh
            - self.charge_loss_wh
            - self.discharge_loss_wh
            - self.curtailed_wh
        )
        return net - (self.final_wh - self.initial_wh)


@dataclass(frozen=True, eq=False)
class BatteryTrace:
    """Battery state over time.

    Attributes:
        energy_wh: stored energy at each grid time, ``(n_sats, n_times)``.
        soc: state of charge (``energy_wh / capacity_wh``), same shape.
        ledger: totals of every energy flow.
    """

    energy_wh: FloatArray
    soc: FloatArray
    ledger: EnergyLedger


def simulate_battery(
    power_in_w: ArrayLike, load_w: ArrayLike, unix_s: ArrayLike, battery: Battery
) -> BatteryTrace:
    """Charge and discharge a battery of every satellite over the grid.

    Args:
        power_in_w: array output, ``(n_sats, n_times)`` watts (>= 0).
        load_w: demanded load, same shape, watts (>= 0).
        unix_s: grid times, ``(n_times,)``, strictly increasing.
        battery: capacity, efficiencies and limits (the same for every satellite).

    Returns:
        A :class:`BatteryTrace`.

    Raises:
        InputError: shapes disagree, powers are negative or not finite, times do not increase.

    >>> trace = simulate_battery([[0.0, 0.0, 0.0]], [[10.0, 10.0, 10.0]], [0.0, 1800.0, 3600.0],
    ...                          Battery(capacity_wh=10.0, discharge_efficiency=1.0))
    >>> trace.soc.round(3).tolist(), float(trace.ledger.unserved_wh[0])
    ([[1.0, 0.5, 0.2]], 2.0)
    """
    supply = np.atleast_2d(np.asarray(power_in_w, dtype=np.float64))
    demand = np.atleast_2d(np.asarray(load_w, dtype=np.float64))
    times = np.asarray(unix_s, dtype=np.float64)
    if supply.shape != demand.shape or times.ndim != 1 or supply.shape[1] != times.size:
        raise InputError(
            "power_in_w / load_w / unix_s",
            f"shapes {supply.shape}, {demand.shape}, {times.shape}",
            "two (n_sats, n_times) arrays and (n_times,) times",
        )
    for name, values in (("power_in_w", supply), ("load_w", demand)):
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise InputError(name, "negative or non-finite values", "finite watts >= 0")
    if times.size > 1 and not np.all(np.diff(times) > 0):
        raise InputError("unix_s", "non-increasing times", "strictly increasing grid times")
    n_sats, n_times = supply.shape
    e_min = battery.soc_min * battery.capacity_wh
    e_max = battery.soc_max * battery.capacity_wh
    step_h = np.diff(times) / _WH_J  # (n_times - 1,)
    eta_in, eta_out = battery.charge_efficiency, battery.discharge_efficiency

    # Net energy of each step, time-major for the loop; the battery-side change if no limit
    # were hit is net * eta_in for a surplus and net / eta_out for a deficit.
    net_wh = supply.T[:-1] - demand.T[:-1]
    net_wh *= step_h[:, None]
    change = net_wh * np.where(net_wh > 0.0, eta_in, 1.0 / eta_out)
    energy_t = np.empty((n_times, n_sats))
    energy_t[0] = battery.initial_soc * battery.capacity_wh
    _clamped_walk(change, energy_t, e_min, e_max)

    # Energy flows. A step that charges never lowers the stored energy and one that discharges
    # never raises it, so the positive and negative parts of the stored change are what went
    # into and out of the battery; the rest follows from the efficiencies.
    initial, final = energy_t[0], energy_t[-1]
    into_battery = np.maximum(np.diff(energy_t, axis=0), 0.0).sum(axis=0)
    out_of_battery = into_battery - (final - initial)
    charged_from_array = into_battery / eta_in
    delivered_by_battery = out_of_battery * eta_out
    surplus = np.maximum(net_wh, 0.0).sum(axis=0)
    deficit = surplus - net_wh.sum(axis=0)
    demanded = demand[:, :-1] @ step_h
    unserved = np.maximum(deficit - delivered_by_battery, 0.0)
    ledger = EnergyLedger(
        generated_wh=supply[:, :-1] @ step_h,
        demanded_wh=demanded,
        delivered_wh=demanded - unserved,
        unserved_wh=unserved,
        curtailed_wh=surplus - charged_from_array,
        charge_loss_wh=charged_from_array - into_battery,
        discharge_loss_wh=out_of_battery - delivered_by_battery,
        initial_wh=initial.copy(),
        final_wh=final.copy(),
    )
    energy = energy_t.T
    return BatteryTrace(energy_wh=energy, soc=energy / battery.capacity_wh, ledger=ledger)


#: Steps per block of the clamped walk: long enough that the Python loop is short, short
#: enough that a block rarely touches both limits (and so needs the per-step fallback).
_WALK_BLOCK = 256


def _clamped_walk(change: FloatArray, energy_t: FloatArray, low: float, high: float) -> None:
    """Fill ``energy_t[1:]`` with ``E[i+1] = clip(E[i] + change[i], low, high)``, time-major.

    Block by block over time, vectorised over satellites: within a block the path that is only
    held under ``high`` is ``P - max(0, running max of (P - high))`` with ``P`` the unclamped
    cumulative sum (the Lindley / Skorokhod reflection); if it never dips under ``low`` it is
    the answer. Otherwise the mirror image (held only above ``low``) is tried, and a satellite
    whose block touches both limits falls back to the per-step loop for that block.
    """
    n_steps = change.shape[0]
    state = energy_t[0].copy()
    for first in range(0, n_steps, _WALK_BLOCK):
        last = min(n_steps, first + _WALK_BLOCK)
        path = state + np.cumsum(change[first:last], axis=0)
        over = np.maximum.accumulate(path - high, axis=0)
        result = path - np.maximum(over, 0.0)
        dips = result.min(axis=0) < low
        if dips.any():
            columns = np.flatnonzero(dips)
            sub = path[:, columns]
            under = np.maximum.accumulate(low - sub, axis=0)
            floor_only = sub + np.maximum(under, 0.0)
            result[:, columns] = floor_only
            both = columns[floor_only.max(axis=0) > high]
            for column in both:  # rare: a block that empties and refills the battery
                value = state[column]
                for step in range(first, last):
                    value = min(max(value + change[step, column], low), high)
                    result[step - first, column] = value
        np.clip(result, low, high, out=result)
        energy_t[first + 1 : last + 1] = result
        state = result[-1].copy()
