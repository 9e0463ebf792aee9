"""Links: how long a frame takes to cross a ground or inter-satellite link.

A transfer of ``bits`` over a link of ``rate_bps`` needs ``bits / rate_bps`` seconds of link
time. Data flows only inside the link's windows (ground contacts of the satellite with any
station, or the ISL windows of a pair), and only after the link has been acquired in that
window: ``acquisition_s`` after the window opens (pointing, carrier and symbol lock; every pass
pays it, so a transfer that resumes in the next pass pays it again). A transfer that does not fit
in one window resumes in the next; :func:`transfer_schedule` returns when the last bit leaves
and the spans during which data flowed (the radio's on-time, for the battery and the report).
The receiver has the frame one light time later: slant range at that moment over c
(:func:`orbitlearn.space.lighttime.light_time_s`).

Directions on the ground link follow the usual naming: the *uplink* carries global models from
the ground to a satellite (``links.uplink_bps``), the *downlink* carries updates from a
satellite to the ground (``links.downlink_bps``). The stations are linked on the ground and host
one aggregator, so a satellite's ground windows are the union of its windows with every station.

>>> finish, spans = transfer_schedule(
...     np.array([0.0, 1000.0]), np.array([100.0, 1100.0]), 50.0, bits=8e3, rate_bps=100.0,
...     acquisition_s=10.0)
>>> finish, spans   # 50 s of data in the first pass, 10 s acquisition, 30 s in the second
(1040.0, [(50.0, 100.0), (1010.0, 1040.0)])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from orbitlearn.space.constellation import Constellation
from orbitlearn.space.intervals import ContactTable
from orbitlearn.space.lighttime import light_time_s, slant_range_m
from orbitlearn.space.propagation import propagate_teme
from orbitlearn.space.stations import GroundStation

__all__ = ["LinkModel", "LinkRates", "transfer_schedule"]

FloatArray = NDArray[np.float64]

#: A link that is never blocked (``links.isl_line_of_sight = false``): one endless window.
_ALWAYS = (np.array([-1e300]), np.array([1e300]))


def transfer_schedule(
    starts: FloatArray,
    ends: FloatArray,
    t_s: float,
    *,
    bits: float,
    rate_bps: float,
    acquisition_s: float,
) -> tuple[float, list[tuple[float, float]]]:
    """When a transfer started at ``t_s`` sends its last bit, and when data flowed.

    Args:
        starts, ends: the link's windows, sorted and disjoint, ``unix_s``.
        t_s: when the transfer is ready to start.
        bits: frame size in bits (>= 0).
        rate_bps: link rate (> 0).
        acquisition_s: link time lost at the start of every window (>= 0).

    Returns:
        ``(finish_s, spans)``: ``inf`` and the spans that fit when the windows are not enough.
    """
    first = int(np.searchsorted(ends, t_s, side="right"))
    needed_s = bits / rate_bps
    spans: list[tuple[float, float]] = []
    if needed_s <= 0.0:
        return float(t_s), spans
    if first >= starts.size:
        return math.inf, spans
    flow_start = np.maximum(starts[first:] + acquisition_s, t_s)
    usable = np.maximum(ends[first:] - flow_start, 0.0)
    total = np.cumsum(usable)
    last = int(np.searchsorted(total, needed_s - 1e-12, side="left"))
    for k in range(min(last + 1, usable.size)):
        if usable[k] <= 0.0:
            continue
        before = total[k] - usable[k]
        length = min(usable[k], needed_s - before)
        spans.append((float(flow_start[k]), float(flow_start[k] + length)))
    if last >= usable.size:
        return math.inf, spans
    return spans[-1][1], spans


@dataclass(frozen=True)
class LinkRates:
    """Rates and acquisition times (see the module docstring), from ``[links]``."""

    uplink_bps: float
    downlink_bps: float
    isl_bps: float
    acquisition_s: float
    isl_acquisition_s: float


class LinkModel:
    """Windows, transfer times and light times of a mission's links.

    Args:
        constellation: the satellites (for positions at transfer ends).
        stations: the ground stations.
        contacts: ground-contact rows of the timeline (one row per satellite-station window).
        ground_windows: per satellite, its merged ground windows ``(starts, ends)``.
        isl_windows: per pair ``(a, b)`` with ``a < b``, merged ISL windows; ``None``: every
            ISL is always up.
        rates: link rates and acquisition times.
    """

    def __init__(
        self,
        constellation: Constellation,
        stations: Sequence[GroundStation],
        contacts: ContactTable,
        ground_windows: Sequence[tuple[FloatArray, FloatArray]],
        isl_windows: dict[tuple[int, int], tuple[FloatArray, FloatArray]] | None,
        rates: LinkRates,
    ) -> None:
        self.constellation = constellation
        self.stations = tuple(stations)
        self.rates = rates
        self._ground = list(ground_windows)
        self._isl = isl_windows
        ground = contacts.station >= 0
        order = np.lexsort((contacts.start_unix_s[ground], contacts.satellite[ground]))
        self._rows_sat = contacts.satellite[ground][order]
        self._rows_station = contacts.station[ground][order]
        self._rows_start = contacts.start_unix_s[ground][order]
        self._rows_end = contacts.end_unix_s[ground][order]
        self._rows_range = contacts.min_range_m[ground][order]
        self._sat_bounds = np.searchsorted(self._rows_sat, np.arange(len(constellation) + 1))

    # -- windows -----------------------------------------------------------------------------

    def ground_windows(self, sat: int) -> tuple[FloatArray, FloatArray]:
        """Merged ground windows of ``sat``."""
        return self._ground[sat]

    def isl_windows(self, a: int, b: int) -> tuple[FloatArray, FloatArray]:
        """Windows of the ISL between ``a`` and ``b`` (empty if they never see each other)."""
        if self._isl is None:
            return _ALWAYS
        pair = (min(a, b), max(a, b))
        return self._isl.get(pair, (np.zeros(0), np.zeros(0)))

    def isl_pairs(self) -> dict[tuple[int, int], tuple[FloatArray, FloatArray]] | None:
        """The searched ISL pairs and their windows (``None``: every ISL always up)."""
        return None if self._isl is None else dict(self._isl)

    def in_ground_contact(self, sat: int, t_s: float) -> bool:
        """Whether ``sat`` sees a station at ``t_s`` (start inclusive, end exclusive)."""
        starts, ends = self._ground[sat]
        i = int(np.searchsorted(ends, t_s, side="right"))
        return bool(i < starts.size and starts[i] <= t_s)

    # -- transfers ---------------------------------------------------------------------------

    def to_ground(
        self, sat: int, t_s: float, n_bytes: int
    ) -> tuple[float, list[tuple[float, float]]]:
        """Downlink of ``n_bytes`` from ``sat`` starting at ``t_s``: ``(last bit, spans)``."""
        starts, ends = self._ground[sat]
        return transfer_schedule(
            starts,
            ends,
            t_s,
            bits=8.0 * n_bytes,
            rate_bps=self.rates.downlink_bps,
            acquisition_s=self.rates.acquisition_s,
        )

    def to_satellite(
        self, sat: int, t_s: float, n_bytes: int
    ) -> tuple[float, list[tuple[float, float]]]:
        """Uplink of ``n_bytes`` to ``sat`` starting at ``t_s``: ``(last bit, spans)``."""
        starts, ends = self._ground[sat]
        return transfer_schedule(
            starts,
            ends,
            t_s,
            bits=8.0 * n_bytes,
            rate_bps=self.rates.uplink_bps,
            acquisition_s=self.rates.acquisition_s,
        )

    def over_isl(
        self, a: int, b: int, t_s: float, n_bytes: int
    ) -> tuple[float, list[tuple[float, float]]]:
        """ISL transfer of ``n_bytes`` from ``a`` to ``b`` starting at ``t_s``."""
        starts, ends = self.isl_windows(a, b)
        return transfer_schedule(
            starts,
            ends,
            t_s,
            bits=8.0 * n_bytes,
            rate_bps=self.rates.isl_bps,
            acquisition_s=self.rates.isl_acquisition_s,
        )

    # -- light time --------------------------------------------------------------------------

    def _position_teme_m(self, sats: Sequence[int], t_s: float) -> FloatArray:
        r, _, _ = propagate_teme(self.constellation.subset(list(sats)), np.array([t_s]))
        return r[:, 0, :]

    def ground_light_time_s(self, sat: int, t_s: float) -> float:
        """One-way light time between ``sat`` and the nearest station that sees it at ``t_s``.

        Uses the slant range from sgp4 at ``t_s``; when no row covers ``t_s`` exactly (a
        transfer ending on a window edge), the closest row's shortest range.
        """
        lo, hi = int(self._sat_bounds[sat]), int(self._sat_bounds[sat + 1])
        if hi == lo:
            return 0.0
        starts, ends = self._rows_start[lo:hi], self._rows_end[lo:hi]
        covering = np.flatnonzero((starts <= t_s) & (ends >= t_s))
        if covering.size == 0:
            nearest = int(np.argmin(np.minimum(np.abs(starts - t_s), np.abs(ends - t_s))))
            return float(light_time_s(self._rows_range[lo + nearest]))
        r = self._position_teme_m([sat], t_s)
        ranges = [
            float(slant_range_m(r, self.stations[int(self._rows_station[lo + k])], [t_s])[0])
            for k in covering
        ]
        return float(light_time_s(min(ranges)))

    def isl_light_time_s(self, a: int, b: int, t_s: float) -> float:
        """One-way light time between satellites ``a`` and ``b`` at ``t_s``."""
        r = self._position_teme_m([a, b], t_s)
        return float(light_time_s(float(np.linalg.norm(r[0] - r[1]))))
