"""Orbit-aware aggregation scheduling from the known future contacts.

In the spirit of FedSpace (So, Hsieh, Avestimehr, et al., "FedSpace: An Efficient Federated
Learning Framework at Satellites and Ground Stations", arXiv:2202.01267, 2022), which schedules
aggregation from the predicted connectivity between satellites and ground stations: orbits are
predictable, so the aggregator knows when each satellite will next be able to deliver an update
and can choose *when* to aggregate instead of waiting for everyone (synchronous FedAvg) or
aggregating blindly on every arrival (FedAsync) or every ``K`` arrivals (FedBuff).

The rule used here (a simple, explainable scheduler, not FedSpace's exact optimisation). After
each aggregation at time ``t`` the strategy predicts, for every satellite ``i``, the time
``a_i`` its next update reaches the ground:

* if the satellite holds a model it has not reported on yet: it trains (``train_duration_s``
  after it received that model) and uploads at its next contacts, ``a_i =
  plan.transfer_finish_s(i, max(t, ready_i), upload_duration_s)`` (an upload may span passes);
* otherwise it first downloads the new model at its next contact, trains, then uploads.

Satellites with no predicted arrival within ``horizon_s`` are left out, so a satellite with no
upcoming contact never holds the aggregation up. Among the remaining arrival times ``T`` (at
least ``min_fraction`` of those satellites must be included) it picks the deadline ``T*`` that
maximises the rate of updates per unit of time, ``n(T) / (T - t + round_overhead_s)``, where
the overhead is the round trip every round costs anyway (download, train, upload); this closes
a round right after a burst of passes instead of in the middle of one, and does not wait for a
straggler whose update would not pay for the wait. The round
aggregates when every satellite expected by ``T*`` has reported or at ``T* + grace_s``
(:meth:`next_wakeup_s`), whichever comes first. Late (stale) updates are not wasted: they join
the next round with staleness weighting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from orbitlearn.errors import InputError
from orbitlearn.federation.plan import ContactPlan
from orbitlearn.federation.staleness import PolynomialStaleness, StalenessWeight
from orbitlearn.federation.strategies.base import (
    AggregationResult,
    PendingUpdate,
    Strategy,
    _fraction,
    _positive_float,
    _sorted_ints,
)

__all__ = ["OrbitAware"]

# Defaults from Kim, Svoboda, Lane (arXiv:2511.14889) as quoted in REFERENCE.md ("Links"): a
# 120 s model upload per pass and 300 s per local epoch.
_DEFAULT_UPLOAD_S = 120.0
_DEFAULT_TRAIN_S = 300.0


class OrbitAware(Strategy):
    """Semi-synchronous rounds whose deadlines are planned from the contact plan.

    Args:
        plan: the contact plan.
        train_duration_s: expected local training time (> 0).
        upload_duration_s: expected contact time one update upload needs (> 0).
        download_duration_s: expected contact time a global-model download needs (> 0;
            default ``upload_duration_s``).
        min_fraction: fraction of the satellites with a predicted arrival that a round must
            wait for, in (0, 1]. The default 0.1 asks as many updates of a round as FedBuff's
            buffer in the published scenario (4 of 40 satellites): measured there
            (``bench/mission.py``, health workload), 0.25 needed 13 rounds of ~15 updates and
            22 h to reach the target, 0.1 about 20 rounds of ~6 updates and 8 h; a round's
            progress hardly grows with its size, while its wait does.
        horizon_s: how far ahead to look for arrivals (> 0).
        round_overhead_s: fixed cost of a round added to the waiting time in the rate
            criterion (>= 0); larger values favour fewer, larger rounds. Default: download +
            train + upload time, the shortest possible round trip of any satellite (the
            idleness every round imposes); 0 degenerates towards one update per round.
        grace_s: how long after the planned deadline to wait for late arrivals (>= 0).
        uploads_per_pass: updates a satellite can deliver per ground pass (the mission's
            ``links.exchanges_per_pass``; ``None``: no limit). A satellite that has used them
            is predicted to deliver its next update in its next pass, not in this one: a round
            planned on an update that cannot come closes at its deadline with stale leftovers.
        staleness: weighting of late updates; default polynomial with ``a = 0.5``.
        **kwargs: :class:`Strategy` arguments (``local_steps``, ``learning_rate``, ``rule``,
            ``server_learning_rate``, ``max_staleness``).
    """

    name = "orbit_aware"

    def __init__(
        self,
        plan: ContactPlan,
        *,
        train_duration_s: float = _DEFAULT_TRAIN_S,
        upload_duration_s: float = _DEFAULT_UPLOAD_S,
        download_duration_s: float | None = None,
        min_fraction: float = 0.1,
        horizon_s: float = 86_400.0,
        round_overhead_s: float | None = None,
        grace_s: float = 60.0,
        uploads_per_pass: int | None = None,
        staleness: StalenessWeight | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            plan,
            staleness=PolynomialStaleness(0.5) if staleness is None else staleness,
            **kwargs,
        )
        self.train_duration_s = _positive_float("train_duration_s", train_duration_s)
        self.upload_duration_s = _positive_float("upload_duration_s", upload_duration_s)
        self.download_duration_s = (
            self.upload_duration_s
            if download_duration_s is None
            else _positive_float("download_duration_s", download_duration_s)
        )
        self.min_fraction = _fraction("min_fraction", min_fraction)
        self.horizon_s = _positive_float("horizon_s", horizon_s)
        self.round_overhead_s = (
            self.download_duration_s + self.train_duration_s + self.upload_duration_s
            if round_overhead_s is None
            else _positive_float("round_overhead_s", round_overhead_s, allow_zero=True)
        )
        self.grace_s = _positive_float("grace_s", grace_s, allow_zero=True)
        if uploads_per_pass is not None and (
            isinstance(uploads_per_pass, bool)
            or not isinstance(uploads_per_pass, (int, np.integer))
            or uploads_per_pass < 1
        ):
            raise InputError("uploads_per_pass", uploads_per_pass, "an integer >= 1 or None")
        self.uploads_per_pass = None if uploads_per_pass is None else int(uploads_per_pass)
        n = plan.n_satellites
        self._pass_start_s = np.full(n, -np.inf)  # start of the pass of the last arrival
        self._pass_uploads = np.zeros(n, dtype=np.int64)  # arrivals in that pass
        self._deadline_s: float | None = None
        self._expected: set[int] = set()
        self._arrived: set[int] = set()

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "train_duration_s": self.train_duration_s,
            "upload_duration_s": self.upload_duration_s,
            "download_duration_s": self.download_duration_s,
            "min_fraction": self.min_fraction,
            "horizon_s": self.horizon_s,
            "round_overhead_s": self.round_overhead_s,
            "grace_s": self.grace_s,
            "uploads_per_pass": self.uploads_per_pass,
        }

    # -- planning --------------------------------------------------------------------------------

    @property
    def planned_deadline_s(self) -> float | None:
        """The current round's planned deadline ``T*`` (``None``: aggregate on any arrival)."""
        return self._deadline_s

    @property
    def expected_satellites(self) -> frozenset[int]:
        """Satellites predicted to report by the planned deadline."""
        return frozenset(self._expected)

    def predict_arrivals_s(self, now_s: float) -> NDArray[np.float64]:
        """Predicted arrival time of each satellite's next useful update, shape ``(n_sats,)``.

        ``inf`` where the plan offers no way to deliver one.
        """
        holds = self._download_s > self._upload_s  # trained (or training) on an unreported model
        if self.max_staleness is not None:
            holds &= self._version - self._sat_version <= self.max_staleness
        ready_held = np.maximum(now_s, self._download_s + self.train_duration_s)
        got_model = self.plan.transfer_finish_s_all(now_s, self.download_duration_s)
        ready = np.where(holds, ready_held, got_model + self.train_duration_s)
        if self.uploads_per_pass is not None:
            for i in np.flatnonzero(self._pass_uploads >= self.uploads_per_pass):
                window = self.plan.next_ground_window(int(i), now_s)
                if window is not None and window[0] == self._pass_start_s[i]:
                    ready[i] = max(ready[i], window[1])  # this pass is used up
        return self.plan.transfer_finish_s_all(ready, self.upload_duration_s)

    def _plan_round(self, now_s: float) -> None:
        self._arrived = set()
        arrivals = self.predict_arrivals_s(now_s)
        candidates = np.flatnonzero(arrivals <= now_s + self.horizon_s)
        if candidates.size == 0:
            self._deadline_s = None
            self._expected = set()
            return
        times = np.sort(arrivals[candidates])
        counts = np.searchsorted(times, times, side="right")
        need = max(1, math.ceil(self.min_fraction * candidates.size - 1e-9))
        waits = np.maximum(times - now_s + self.round_overhead_s, 1e-6)
        score = np.where(counts >= need, counts / waits, -np.inf)
        deadline = float(times[int(np.argmax(score))])
        self._deadline_s = deadline
        self._expected = {int(i) for i in np.flatnonzero(arrivals <= deadline)}

    def on_initialize(self, now_s: float) -> None:
        self._plan_round(now_s)

    def after_aggregate(self, result: AggregationResult, now_s: float) -> None:
        self._plan_round(now_s)

    # -- aggregation -----------------------------------------------------------------------------

    def on_update(self, pending: PendingUpdate, now_s: float) -> str | None:
        self._arrived |= set(pending.contributors)
        sender = pending.sender
        if 0 <= sender < self.n_satellites:
            window = self.plan.next_ground_window(sender, now_s)
            start = window[0] if window is not None and window[0] <= now_s else -np.inf
            if start == self._pass_start_s[sender]:
                self._pass_uploads[sender] += 1
            else:
                self._pass_start_s[sender] = start
                self._pass_uploads[sender] = 1
        return None

    def ready_to_aggregate(self, now_s: float) -> bool:
        if not self._buffer:
            return False
        if self._deadline_s is None or now_s >= self._deadline_s + self.grace_s:
            return True
        return self._expected <= self._arrived

    def next_wakeup_s(self, now_s: float) -> float | None:
        if self._deadline_s is None:
            return None
        wake = self._deadline_s + self.grace_s
        return wake if wake > now_s else None

    # -- state -----------------------------------------------------------------------------------

    def _extra_state(self) -> dict[str, Any]:
        return {
            "deadline_s": self._deadline_s,
            "expected": _sorted_ints(self._expected),
            "arrived": _sorted_ints(self._arrived),
            "pass_start_s": self._pass_start_s.copy(),
            "pass_uploads": self._pass_uploads.copy(),
        }

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        deadline = state["deadline_s"]
        self._deadline_s = None if deadline is None else float(deadline)
        self._expected = {int(s) for s in state["expected"]}
        self._arrived = {int(s) for s in state["arrived"]}
        self._pass_start_s = np.asarray(state["pass_start_s"], dtype=np.float64).copy()
        self._pass_uploads = np.asarray(state["pass_uploads"], dtype=np.int64).copy()
