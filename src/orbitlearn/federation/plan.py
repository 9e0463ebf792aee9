"""Known future contacts: the contact plan strategies consult.

Contact windows of a mission are computed in advance from the orbits (``orbitlearn.space``
contact tables, the mission ``Timeline``); a :class:`ContactPlan` holds them as interval arrays
and answers the questions a federated-learning scheduler asks: when can satellite ``i`` next
talk to the ground, when would an upload of ``duration_s`` seconds that may span several passes
finish, which satellites can deliver before a deadline, when is an inter-satellite link (ISL)
up.

Ground contacts are "satellite ``i`` sees *some* station": the ground stations are linked on the
ground and host one aggregator, so overlapping windows of one satellite with different stations
are merged into their union. Times are POSIX seconds (``unix_s``, float64).

>>> import numpy as np
>>> plan = ContactPlan(
...     n_satellites=2,
...     ground_satellite=np.array([0, 0, 1]),
...     ground_start_unix_s=np.array([100.0, 500.0, 300.0]),
...     ground_end_unix_s=np.array([200.0, 560.0, 320.0]),
... )
>>> plan.next_ground_contact_start_s(150.0).tolist()
[150.0, 300.0]
>>> float(plan.transfer_finish_s(0, 150.0, 80.0))  # 50 s in the first pass, 30 s in the next
530.0
>>> plan.can_reach_ground_before(400.0, 0.0, duration_s=30.0).tolist()
[True, False]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import InputError

__all__ = ["ContactPlan"]


def _as_1d(name: str, values: ArrayLike, dtype: Any) -> NDArray[Any]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InputError(f"{name} shape", arr.shape, "a 1-D array")
    if np.issubdtype(np.dtype(dtype), np.integer):
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise InputError(f"{name} dtype", str(arr.dtype), "integers (satellite indices)")
        return arr.astype(np.int64)
    out = arr.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise InputError(name, "non-finite entries", "finite times (unix_s)")
    return out


def _merge(
    starts: NDArray[np.float64], ends: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Union of intervals (any order) as sorted, disjoint intervals; drops empty ones."""
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if starts.size == 0:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    running_end = np.maximum.accumulate(ends)
    new_group = np.ones(starts.size, dtype=bool)
    new_group[1:] = starts[1:] > running_end[:-1]
    group = np.cumsum(new_group) - 1
    merged_starts = starts[new_group]
    merged_ends = np.full(merged_starts.size, -np.inf)
    np.maximum.at(merged_ends, group, ends)
    return merged_starts, merged_ends


class ContactPlan:
    """Ground and inter-satellite contact windows of a mission.

    Args:
        n_satellites: satellites are ``0 .. n_satellites - 1``.
        ground_satellite, ground_start_unix_s, ground_end_unix_s: one entry per ground
            contact window (any station), shape ``(n_windows,)``.
        isl_satellite_a, isl_satellite_b, isl_start_unix_s, isl_end_unix_s: one entry per
            inter-satellite link window, shape ``(n_isl_windows,)``; links are symmetric.
            Omit them for a mission without ISLs.

    Raises:
        InputError: arrays of different lengths, satellite indices out of range, non-finite
            times, or a window that ends before it starts.
    """

    def __init__(
        self,
        n_satellites: int,
        ground_satellite: ArrayLike,
        ground_start_unix_s: ArrayLike,
        ground_end_unix_s: ArrayLike,
        isl_satellite_a: ArrayLike | None = None,
        isl_satellite_b: ArrayLike | None = None,
        isl_start_unix_s: ArrayLike | None = None,
        isl_end_unix_s: ArrayLike | None = None,
    ) -> None:
        if isinstance(n_satellites, bool) or not isinstance(n_satellites, (int, np.integer)):
            raise InputError("n_satellites", n_satellites, "an integer >= 1")
        if n_satellites < 1:
            raise InputError("n_satellites", n_satellites, "an integer >= 1")
        self.n_satellites = int(n_satellites)
        sat = _as_1d("ground_satellite", ground_satellite, np.int64)
        start = _as_1d("ground_start_unix_s", ground_start_unix_s, np.float64)
        end = _as_1d("ground_end_unix_s", ground_end_unix_s, np.float64)
        self._check_windows("ground", (sat,), start, end)
        starts, ends, counts = [], [], []
        order = np.argsort(sat, kind="stable")
        bounds = np.searchsorted(sat[order], np.arange(self.n_satellites + 1))
        for i in range(self.n_satellites):
            idx = order[bounds[i] : bounds[i + 1]]
            s, e = _merge(start[idx], end[idx])
            starts.append(s)
            ends.append(e)
            counts.append(s.size)
        self._starts = np.concatenate(starts) if starts else np.zeros(0)
        self._ends = np.concatenate(ends) if ends else np.zeros(0)
        self._offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._window_sat = np.repeat(np.arange(self.n_satellites), counts)

        self._isl: dict[tuple[int, int], tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
        isl_args = (isl_satellite_a, isl_satellite_b, isl_start_unix_s, isl_end_unix_s)
        if any(x is not None for x in isl_args) and any(x is None for x in isl_args):
            raise InputError("isl arrays", "partly given", "all four ISL arrays, or none of them")
        if (
            isl_satellite_a is not None
            and isl_satellite_b is not None
            and isl_start_unix_s is not None
            and isl_end_unix_s is not None
        ):
            a = _as_1d("isl_satellite_a", isl_satellite_a, np.int64)
            b = _as_1d("isl_satellite_b", isl_satellite_b, np.int64)
            s = _as_1d("isl_start_unix_s", isl_start_unix_s, np.float64)
            e = _as_1d("isl_end_unix_s", isl_end_unix_s, np.float64)
            self._check_windows("isl", (a, b), s, e)
            if np.any(a == b):
                raise InputError("isl_satellite_b", "equal to isl_satellite_a", "another satellite")
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            for pair in sorted(set(zip(lo.tolist(), hi.tolist(), strict=True))):
                mask = (lo == pair[0]) & (hi == pair[1])
                self._isl[pair] = _merge(s[mask], e[mask])
        self._neighbours: dict[int, tuple[int, ...]] = {i: () for i in range(self.n_satellites)}
        for x, y in self._isl:
            self._neighbours[x] = (*self._neighbours[x], y)
            self._neighbours[y] = (*self._neighbours[y], x)

    @classmethod
    def from_tables(
        cls, contacts: Any, isl: Any | None = None, *, n_satellites: int | None = None
    ) -> ContactPlan:
        """Build a plan from interval tables of the space layer.

        Reads the columns ``satellite``, ``start_unix_s``, ``end_unix_s`` and, where present,
        ``peer`` (``>= 0`` marks an inter-satellite row, as in
        ``orbitlearn.space.intervals.ContactTable``); any object with those array attributes
        works.

        Args:
            contacts: ground-contact windows (rows with ``peer >= 0`` are taken as ISL windows).
            isl: optional separate table of inter-satellite windows (``satellite``, ``peer``).
            n_satellites: number of satellites; default ``len(contacts.satellite_names)``.

        Raises:
            InputError: a table lacks a column, or the windows are invalid.
        """

        def column(table: Any, name: str) -> NDArray[Any]:
            if not hasattr(table, name):
                raise InputError(
                    "contact table", type(table).__name__, f"a table with a `{name}` column"
                )
            return np.asarray(getattr(table, name))

        if n_satellites is None:
            names = getattr(contacts, "satellite_names", None)
            if names is None:
                raise InputError("n_satellites", None, "a number, or a table with satellite_names")
            n_satellites = len(names)
        sat = column(contacts, "satellite")
        start = column(contacts, "start_unix_s")
        end = column(contacts, "end_unix_s")
        peer = np.asarray(getattr(contacts, "peer", np.full(sat.size, -1)))
        links = peer >= 0
        isl_parts = [(sat[links], peer[links], start[links], end[links])]
        if isl is not None:
            isl_parts.append(
                (
                    column(isl, "satellite"),
                    column(isl, "peer"),
                    column(isl, "start_unix_s"),
                    column(isl, "end_unix_s"),
                )
            )
        a, b, s, e = (np.concatenate([part[k] for part in isl_parts]) for k in range(4))
        has_isl = a.size > 0
        return cls(
            n_satellites,
            sat[~links],
            start[~links],
            end[~links],
            *((a.astype(np.int64), b.astype(np.int64), s, e) if has_isl else (None,) * 4),
        )

    def _check_windows(
        self,
        kind: str,
        sats: tuple[NDArray[np.int64], ...],
        start: NDArray[np.float64],
        end: NDArray[np.float64],
    ) -> None:
        n = start.size
        for arr in (*sats, end):
            if arr.size != n:
                raise InputError(f"{kind} array lengths", arr.size, f"{n} (one entry per window)")
        for arr in sats:
            bad = (arr < 0) | (arr >= self.n_satellites)
            if np.any(bad):
                raise InputError(
                    f"{kind} satellite index",
                    int(arr[bad][0]),
                    f"an index in [0, {self.n_satellites - 1}]",
                )
        if np.any(end < start):
            i = int(np.argmax(end < start))
            raise InputError(
                f"{kind} window {i} end_unix_s",
                float(end[i]),
                f"a time >= its start {float(start[i])}",
            )

    # -- ground ------------------------------------------------------------------------------

    @property
    def n_ground_windows(self) -> int:
        """Number of (merged) ground windows over all satellites."""
        return int(self._starts.size)

    def ground_windows(self, sat: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Merged ground windows of ``sat``: ``(starts, ends)``, sorted, disjoint (copies)."""
        lo, hi = self._segment(sat)
        return self._starts[lo:hi].copy(), self._ends[lo:hi].copy()

    def _segment(self, sat: int) -> tuple[int, int]:
        if not 0 <= int(sat) < self.n_satellites:
            raise InputError("sat", sat, f"a satellite index in [0, {self.n_satellites - 1}]")
        return int(self._offsets[sat]), int(self._offsets[sat + 1])

    def in_ground_contact(self, sat: int, t_s: float) -> bool:
        """Whether ``sat`` has a ground contact at time ``t_s`` (start inclusive, end exclusive)."""
        lo, hi = self._segment(sat)
        i = lo + int(np.searchsorted(self._ends[lo:hi], t_s, side="right"))
        return bool(i < hi and self._starts[i] <= t_s)

    def next_ground_window(self, sat: int, t_s: float) -> tuple[float, float] | None:
        """The first ground window of ``sat`` that ends after ``t_s`` (may already be open)."""
        lo, hi = self._segment(sat)
        i = lo + int(np.searchsorted(self._ends[lo:hi], t_s, side="right"))
        if i >= hi:
            return None
        return float(self._starts[i]), float(self._ends[i])

    def next_ground_contact_start_s(self, t_s: float) -> NDArray[np.float64]:
        """Earliest time ``>= t_s`` at which each satellite is in ground contact, ``(n_sats,)``.

        ``t_s`` itself where a window is open; ``inf`` where no window follows.
        """
        return self.transfer_finish_s_all(t_s, 0.0)

    def transfer_finish_s(self, sat: int, t_s: float, duration_s: float) -> float:
        """When a transfer needing ``duration_s`` seconds of contact, started at ``t_s``, ends.

        The transfer uses every ground window from ``t_s`` on and resumes in the next pass when
        one is too short. ``inf`` if the plan's windows are not enough.
        """
        if not duration_s >= 0:
            raise InputError("duration_s", duration_s, "a number >= 0")
        lo, hi = self._segment(sat)
        first = lo + int(np.searchsorted(self._ends[lo:hi], t_s, side="right"))
        if first >= hi:
            return float("inf")
        eff = np.maximum(self._starts[first:hi], t_s)
        usable = self._ends[first:hi] - eff
        cum = np.cumsum(usable)
        j = int(np.searchsorted(cum, duration_s, side="left"))
        if j >= cum.size:
            return float("inf")
        return float(eff[j] + duration_s - (cum[j] - usable[j]))

    def transfer_finish_s_all(
        self, t_s: float | NDArray[np.float64], duration_s: float
    ) -> NDArray[np.float64]:
        """:meth:`transfer_finish_s` for every satellite at once, shape ``(n_sats,)``.

        Args:
            t_s: start time, one for all or one per satellite (shape ``(n_sats,)``; ``inf``
                gives ``inf``).
            duration_s: contact time the transfer needs, >= 0.
        """
        if not duration_s >= 0:
            raise InputError("duration_s", duration_s, "a number >= 0")
        t = np.asarray(t_s, dtype=np.float64)
        if t.ndim == 1 and t.shape != (self.n_satellites,):
            raise InputError("t_s shape", t.shape, f"() or ({self.n_satellites},)")
        out = np.full(self.n_satellites, np.inf)
        if self._starts.size == 0:
            return out
        t_win = t[self._window_sat] if t.ndim == 1 else t
        eff = np.maximum(self._starts, t_win)
        usable = np.maximum(self._ends - eff, 0.0)
        cum = np.cumsum(usable)
        before = np.concatenate([[0.0], cum])[self._offsets[:-1]]
        seg_cum = cum - before[self._window_sat]
        ok = (self._ends > t_win) & (seg_cum >= duration_s)
        big = self._starts.size
        first = np.where(ok, np.arange(big), big)
        nonempty = self._offsets[1:] > self._offsets[:-1]
        seg_first = np.full(self.n_satellites, big)
        seg_first[nonempty] = np.minimum.reduceat(first, self._offsets[:-1][nonempty])
        found = seg_first < big
        j = seg_first[found]
        out[found] = eff[j] + duration_s - (seg_cum[j] - usable[j])
        return out

    def can_reach_ground_before(
        self, deadline_s: float, t_s: float, duration_s: float = 0.0
    ) -> NDArray[np.bool_]:
        """Which satellites can finish a ``duration_s`` upload started at ``t_s`` by ``deadline_s``.

        Returns:
            Boolean array, shape ``(n_sats,)``.
        """
        return self.transfer_finish_s_all(t_s, duration_s) <= deadline_s

    # -- inter-satellite links ---------------------------------------------------------------

    @property
    def has_isl(self) -> bool:
        """Whether any ISL window was given."""
        return bool(self._isl)

    def isl_neighbours(self, sat: int) -> tuple[int, ...]:
        """Satellites that share at least one ISL window with ``sat``."""
        self._segment(sat)
        return self._neighbours[int(sat)]

    def _isl_pair(self, a: int, b: int) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        self._segment(a)
        self._segment(b)
        return self._isl.get((min(a, b), max(a, b)))

    def isl_available(self, a: int, b: int, t_s: float) -> bool:
        """Whether the ISL between ``a`` and ``b`` is up at ``t_s``."""
        windows = self._isl_pair(a, b)
        if windows is None:
            return False
        starts, ends = windows
        i = int(np.searchsorted(ends, t_s, side="right"))
        return bool(i < ends.size and starts[i] <= t_s)

    def next_isl_contact_s(self, a: int, b: int, t_s: float) -> float:
        """Earliest time ``>= t_s`` the ISL between ``a`` and ``b`` is up (``inf`` if never)."""
        windows = self._isl_pair(a, b)
        if windows is None:
            return float("inf")
        starts, ends = windows
        i = int(np.searchsorted(ends, t_s, side="right"))
        return float("inf") if i >= ends.size else float(max(starts[i], t_s))
