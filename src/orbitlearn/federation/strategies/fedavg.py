"""Contact-gated synchronous FedAvg: the "space-ified" baseline.

FedAvg (McMahan et al., "Communication-Efficient Learning of Deep Networks from Decentralized
Data", AISTATS 2017) run over satellite contacts the way published satellite-FL work sets its
baseline (Kim, Svoboda, Lane, "Bringing Federated Learning to Space", arXiv:2511.14889; the
synchronous baselines of AsyncFLEO and FedSpace): a round starts when a global version is made;
the selected satellites receive it at their next ground contact, train, and upload at a later
contact; the round closes when ``min_fraction`` of the selected satellites have reported (or
``round_timeout_s`` has passed with at least one report), the ground aggregates, and the next
version goes out on the next contacts. Updates from an earlier round are dropped
(``stale_round``). A satellite whose next contact is far away holds the whole constellation up:
the cost asynchronous and orbit-aware strategies remove.

FedProx (Li et al., "Federated Optimization in Heterogeneous Networks", MLSys 2020) is the same
protocol with a proximal term ``mu/2 ||w - w_global||^2`` added to each local loss:
:class:`~orbitlearn.federation.strategies.fedprox.FedProx`, or ``proximal_mu`` here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from orbitlearn.errors import InputError, check_int
from orbitlearn.federation.plan import ContactPlan
from orbitlearn.federation.strategies.base import (
    AggregationResult,
    LocalTrainingConfig,
    PendingUpdate,
    Strategy,
    _fraction,
    _positive_float,
    _sorted_ints,
)

__all__ = ["FedAvg"]


class FedAvg(Strategy):
    """Synchronous FedAvg gated by ground contacts.

    Args:
        plan: the contact plan.
        fraction: fraction of satellites selected per round, in (0, 1] (at least one; drawn
            with ``seed`` when < 1).
        min_fraction: fraction of the selected satellites whose updates close a round, (0, 1].
        round_timeout_s: close a round this long after it started if at least one update
            arrived (``None``: wait for ``min_fraction``).
        proximal_mu: FedProx coefficient sent to the satellites (0: plain FedAvg).
        seed: seed of the client-selection generator.
        **kwargs: :class:`Strategy` arguments (``local_steps``, ``learning_rate``, ``rule``,
            ``server_learning_rate``).
    """

    name = "fedavg"

    def __init__(
        self,
        plan: ContactPlan,
        *,
        fraction: float = 1.0,
        min_fraction: float = 1.0,
        round_timeout_s: float | None = None,
        proximal_mu: float = 0.0,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        if "staleness" in kwargs or "max_staleness" in kwargs:
            raise InputError(
                "staleness", "given", "nothing: synchronous FedAvg drops every stale update"
            )
        super().__init__(plan, **kwargs)
        self.fraction = _fraction("fraction", fraction)
        self.min_fraction = _fraction("min_fraction", min_fraction)
        self.round_timeout_s = (
            None if round_timeout_s is None else _positive_float("round_timeout_s", round_timeout_s)
        )
        self.proximal_mu = _positive_float("proximal_mu", proximal_mu, allow_zero=True)
        self.seed = check_int("seed", seed)
        self._rng = np.random.default_rng(self.seed)
        self._selected: set[int] = set()
        self._reported: set[int] = set()
        self._round_start_s = 0.0

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "fraction": self.fraction,
            "min_fraction": self.min_fraction,
            "round_timeout_s": self.round_timeout_s,
            "proximal_mu": self.proximal_mu,
            "seed": self.seed,
        }

    # -- rounds ----------------------------------------------------------------------------------

    @property
    def selected(self) -> frozenset[int]:
        """Satellites selected for the current round."""
        return frozenset(self._selected)

    @property
    def reported(self) -> frozenset[int]:
        """Selected satellites whose update for the current round has arrived."""
        return frozenset(self._reported)

    @property
    def required_reports(self) -> int:
        """Reports that close the current round."""
        return max(1, math.ceil(self.min_fraction * len(self._selected) - 1e-9))

    def _start_round(self, now_s: float) -> None:
        n = self.n_satellites
        if self.fraction >= 1.0:
            chosen = np.arange(n)
        else:
            k = max(1, round(self.fraction * n))
            chosen = self._rng.choice(n, size=k, replace=False)
        self._selected = {int(i) for i in chosen}
        self._reported = set()
        self._round_start_s = float(now_s)

    def on_initialize(self, now_s: float) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._start_round(now_s)

    def after_aggregate(self, result: AggregationResult, now_s: float) -> None:
        self._start_round(now_s)

    # -- policy ----------------------------------------------------------------------------------

    def _owes_update(self, sat_id: int) -> bool:
        return sat_id in self._selected and sat_id not in self._reported

    def client_config(
        self, sat_id: int, now_s: float, sat_version: int
    ) -> LocalTrainingConfig | None:
        self._check_sat(sat_id)
        if sat_version != self._version or not self._owes_update(sat_id):
            return None
        return LocalTrainingConfig(
            sat_version, self.local_steps, self.learning_rate, self.proximal_mu
        )

    def wants_upload(self, sat_id: int, now_s: float, base_version: int) -> bool:
        self._check_sat(sat_id)
        return base_version == self._version and self._owes_update(sat_id)

    def wants_download(self, sat_id: int, now_s: float, sat_version: int) -> bool:
        self._check_sat(sat_id)
        return sat_version < self._version and sat_id in self._selected

    def on_update(self, pending: PendingUpdate, now_s: float) -> str | None:
        if pending.base_version != self._version:
            return "stale_round"
        contributors = set(pending.contributors)
        if not contributors <= self._selected:
            return "not_selected"
        if contributors & self._reported:
            return "duplicate"
        self._reported |= contributors
        return None

    def ready_to_aggregate(self, now_s: float) -> bool:
        if len(self._reported) >= self.required_reports:
            return True
        timeout = self.round_timeout_s
        return timeout is not None and now_s >= self._round_start_s + timeout and bool(self._buffer)

    def next_wakeup_s(self, now_s: float) -> float | None:
        if self.round_timeout_s is None:
            return None
        deadline = self._round_start_s + self.round_timeout_s
        return deadline if deadline > now_s else None

    # -- state -----------------------------------------------------------------------------------

    def _extra_state(self) -> dict[str, Any]:
        return {
            "rng": self._rng.bit_generator.state,
            "selected": _sorted_ints(self._selected),
            "reported": _sorted_ints(self._reported),
            "round_start_s": self._round_start_s,
        }

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._rng.bit_generator.state = dict(state["rng"])
        self._selected = {int(s) for s in state["selected"]}
        self._reported = {int(s) for s in state["reported"]}
        self._round_start_s = float(state["round_start_s"])
