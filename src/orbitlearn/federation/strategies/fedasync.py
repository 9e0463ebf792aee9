"""FedAsync: mix every arriving update into the global model, weighted by its staleness.

Xie, Koyejo, Gupta, "Asynchronous Federated Optimization" (arXiv:1903.03934, 2019): the server
updates ``x_t = (1 - alpha_t) x_{t-1} + alpha_t x_new`` with ``alpha_t = alpha * s(t - tau)``
as soon as a client's model ``x_new`` (trained from version ``tau``) arrives. Here updates
carry deltas, so the rule is applied in its delta form ``x_t = x_{t-1} + alpha * s(staleness) *
delta``, which is the same update when the client started from the current model
(staleness 0) and moves by the client's own progress otherwise. Simultaneous arrivals are
applied one at a time, in arrival order, each with its own staleness (which grows by one per
applied update). Satellites train whenever they hold a model and upload at every contact.
"""

from __future__ import annotations

from typing import Any

from orbitlearn.federation.plan import ContactPlan
from orbitlearn.federation.staleness import PolynomialStaleness, StalenessWeight
from orbitlearn.federation.strategies.base import PendingUpdate, Strategy, _fraction

__all__ = ["FedAsync"]


class FedAsync(Strategy):
    """Asynchronous mixing, one update per aggregation.

    Args:
        plan: the contact plan.
        alpha: mixing weight in (0, 1] (Xie et al. try 0.1-0.9; 0.5 here).
        staleness: ``s(staleness)``; default polynomial with ``a = 0.5``.
        **kwargs: :class:`Strategy` arguments (``local_steps``, ``learning_rate``, ``rule``,
            ``max_staleness``).
    """

    name = "fedasync"

    def __init__(
        self,
        plan: ContactPlan,
        *,
        alpha: float = 0.5,
        staleness: StalenessWeight | None = None,
        **kwargs: Any,
    ) -> None:
        self.alpha = _fraction("alpha", alpha)
        super().__init__(
            plan,
            server_learning_rate=self.alpha,
            staleness=PolynomialStaleness(0.5) if staleness is None else staleness,
            **kwargs,
        )

    def config(self) -> dict[str, Any]:
        return {**super().config(), "alpha": self.alpha}

    def ready_to_aggregate(self, now_s: float) -> bool:
        return bool(self._buffer)

    def select_for_aggregation(self, now_s: float) -> list[PendingUpdate]:
        return self._buffer[:1]
