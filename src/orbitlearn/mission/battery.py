"""Each satellite's battery during the mission, on the timeline's grid.

The timeline's own ``battery_soc`` assumes a fixed schedule (compute on in sunlight). In the
mission the loads follow what each satellite actually does, so the engine keeps its own battery
per satellite with the power layer's model (:func:`orbitlearn.space.power.simulate_battery`:
charge/discharge efficiencies, limits, curtailment, shedding) on the same grid:

* solar input: the timeline's ``power_in_w``;
* always on: the bus (``loads.bus_idle_w`` of the power preset), the payload computer idling
  (the device profile's ``idle`` power) and, in eclipse, ``loads.eclipse_heater_w``;
* training: the joules the onboard trainer charged (device training power x simulated time),
  less the idle power it replaces;
* transmitting (downlink and ISL sends): ``loads.radio_w`` while data flows.

(The power preset's ``compute_w`` is not used: the device profile gives the computer's power.)
Energy of an activity is spread over the grid steps it overlaps, as average power. The state of
charge is known at grid times; the engine reads it at the grid time at or before ``t``, less
what is already committed in the current step: within one step (``time.step_s``) this is an
approximation, across steps it is the power model exactly.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from orbitlearn.space.power import Battery, PowerSystem, simulate_battery

__all__ = ["BatteryBank"]

FloatArray = NDArray[np.float64]
_WH_J = 3600.0
#: How far ahead :meth:`BatteryBank.time_to_reach_s` looks per round of the search.
_LOOKAHEAD_STEPS = 2048


class BatteryBank:
    """Batteries of all satellites (see the module docstring).

    Args:
        unix_s: the grid, ``(n_times,)``.
        power_in_w: solar input, ``(n_sats, n_times)``.
        sunlit_fraction: ``(n_sats, n_times)`` (eclipse heaters below 0.5).
        power: the satellites' power system.
        device_idle_w: the payload computer's idle draw.
    """

    def __init__(
        self,
        unix_s: FloatArray,
        power_in_w: NDArray[np.floating],
        sunlit_fraction: NDArray[np.floating],
        power: PowerSystem,
        device_idle_w: float,
    ) -> None:
        self.unix_s = np.asarray(unix_s, dtype=np.float64)
        self.step_s = np.diff(self.unix_s)
        self.power = power
        self.battery: Battery = power.battery
        self.capacity_wh = float(power.battery.capacity_wh)
        self.power_in_w = np.asarray(power_in_w, dtype=np.float32)
        loads = power.loads
        base = loads.bus_idle_w + device_idle_w + np.zeros_like(self.power_in_w)
        if loads.eclipse_heater_w:
            base = base + loads.eclipse_heater_w * (np.asarray(sunlit_fraction) < 0.5)
        self.base_load_w = base.astype(np.float32)
        n_sats, n_times = self.power_in_w.shape
        self.extra_j = np.zeros((n_sats, n_times), dtype=np.float64)
        self.energy_wh = np.full((n_sats, n_times), np.nan, dtype=np.float64)
        self.energy_wh[:, 0] = self.battery.initial_soc * self.capacity_wh
        self.cursor = np.zeros(n_sats, dtype=np.int64)

    @property
    def n_sats(self) -> int:
        return int(self.power_in_w.shape[0])

    def step_index(self, t_s: float) -> int:
        """Index of the grid step holding ``t_s`` (clamped to the grid)."""
        i = int(np.searchsorted(self.unix_s, t_s, side="right")) - 1
        return min(max(i, 0), self.unix_s.size - 1)

    # -- loads -------------------------------------------------------------------------------

    def add_energy_j(self, sat: int, start_s: float, end_s: float, joules: float) -> None:
        """Charge ``joules`` drawn over ``[start_s, end_s]`` (spread over the steps it covers)."""
        if joules == 0.0:
            return
        first = self.step_index(start_s)
        if end_s <= start_s:
            self.extra_j[sat, first] += joules
        else:
            last = self.step_index(end_s)
            steps = np.arange(first, last + 1)
            step_end = np.append(self.unix_s[1:], np.inf)[steps]
            overlap = np.maximum(
                np.minimum(step_end, end_s) - np.maximum(self.unix_s[steps], start_s), 0.0
            )
            total = float(overlap.sum())
            if total <= 0.0:
                self.extra_j[sat, first] += joules
            else:
                self.extra_j[sat, first : last + 1] += joules * overlap / total
        # energy drawn in a step already integrated: integrate again from there
        self.cursor[sat] = min(int(self.cursor[sat]), first)

    def add_power_w(self, sat: int, spans: list[tuple[float, float]], watts: float) -> float:
        """Charge a constant ``watts`` over each span; returns the joules charged."""
        total = 0.0
        for start, end in spans:
            joules = watts * max(0.0, end - start)
            self.add_energy_j(sat, start, end, joules)
            total += joules
        return total

    # -- state -------------------------------------------------------------------------------

    def _advance(self, sat: int, index: int) -> None:
        start = int(self.cursor[sat])
        if index <= start:
            return
        sl = slice(start, index + 1)
        load = self.base_load_w[sat, sl].astype(np.float64)
        load[:-1] += self.extra_j[sat, start:index] / self.step_s[start:index]
        battery = self._battery_from(self.energy_wh[sat, start])
        trace = simulate_battery(
            self.power_in_w[sat, sl].astype(np.float64)[None, :],
            load[None, :],
            self.unix_s[sl],
            battery,
        )
        self.energy_wh[sat, sl] = trace.energy_wh[0]
        self.cursor[sat] = index

    def _battery_from(self, energy_wh: float) -> Battery:
        b = self.battery
        soc = min(max(energy_wh / self.capacity_wh, b.soc_min), b.soc_max)
        return Battery(
            capacity_wh=b.capacity_wh,
            charge_efficiency=b.charge_efficiency,
            discharge_efficiency=b.discharge_efficiency,
            soc_min=b.soc_min,
            soc_max=b.soc_max,
            initial_soc=soc,
        )

    def energy_wh_at(self, sat: int, t_s: float) -> float:
        """Stored energy at ``t_s``: the grid value at or before it, less this step's draws."""
        index = self.step_index(t_s)
        self._advance(sat, index)
        committed_wh = self.extra_j[sat, index] / _WH_J / self.battery.discharge_efficiency
        floor = self.battery.soc_min * self.capacity_wh
        return max(floor, float(self.energy_wh[sat, index]) - committed_wh)

    def soc_at(self, sat: int, t_s: float) -> float:
        """State of charge at ``t_s`` (see :meth:`energy_wh_at`)."""
        return self.energy_wh_at(sat, t_s) / self.capacity_wh

    def available_j(self, sat: int, t_s: float) -> float:
        """Energy the loads can still draw before the battery reaches its lower limit, J."""
        floor = self.battery.soc_min * self.capacity_wh
        stored = self.energy_wh_at(sat, t_s) - floor
        return max(0.0, stored) * _WH_J * self.battery.discharge_efficiency

    def time_to_reach_s(self, sat: int, t_s: float, soc: float) -> float:
        """First grid time after ``t_s`` at which the state of charge reaches ``soc`` with the
        loads scheduled so far (``inf`` if not before the end of the grid)."""
        index = self.step_index(t_s)
        self._advance(sat, index)
        target = soc * self.capacity_wh
        last = self.unix_s.size - 1
        energy = float(self.energy_wh[sat, index])
        start = index
        while start < last:
            stop = min(last, start + _LOOKAHEAD_STEPS)
            sl = slice(start, stop + 1)
            load = self.base_load_w[sat, sl].astype(np.float64)
            load[:-1] += self.extra_j[sat, start:stop] / self.step_s[start:stop]
            trace = simulate_battery(
                self.power_in_w[sat, sl].astype(np.float64)[None, :],
                load[None, :],
                self.unix_s[sl],
                self._battery_from(energy),
            )
            above = np.flatnonzero(trace.energy_wh[0, 1:] >= target - 1e-9)
            if above.size:
                return float(self.unix_s[start + 1 + int(above[0])])
            energy = float(trace.energy_wh[0, -1])
            start = stop
        return math.inf

    def finish(self) -> FloatArray:
        """Integrate every battery to the end of the grid; energy ``(n_sats, n_times)`` Wh."""
        last = self.unix_s.size - 1
        for sat in range(self.n_sats):
            self._advance(sat, last)
        return self.energy_wh

    def state_dict(self) -> dict[str, object]:
        """The loads charged so far and the integrated energy (for mission checkpoints)."""
        return {
            "extra_j": self.extra_j.copy(),
            "energy_wh": self.energy_wh.copy(),
            "cursor": self.cursor.copy(),
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Restore :meth:`state_dict`."""
        self.extra_j = np.array(state["extra_j"], dtype=np.float64)
        self.energy_wh = np.array(state["energy_wh"], dtype=np.float64)
        self.cursor = np.array(state["cursor"], dtype=np.int64)
