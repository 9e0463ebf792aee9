"""FedBuff: buffered asynchronous aggregation with staleness weighting.

Nguyen, Malik, Zhao, Rabbat, Esmaeili, Huba, "Federated Learning with Buffered Asynchronous
Aggregation" (AISTATS 2022, arXiv:2106.06639): clients train whenever they can and send their
delta; the server keeps a buffer and, once it holds ``K`` updates, applies
``x <- x + eta_g * (1/K) sum_i s(staleness_i) delta_i`` with ``s(t) = 1 / sqrt(1 + t)``. Here
the ``1/K`` average is the aggregation rule's weighted mean by ``num_samples`` (any robust rule
can replace it) and ``eta_g`` is ``server_learning_rate``. ``max_wait_s`` optionally flushes a
partly filled buffer so that a quiet stretch of the orbit does not freeze the model.
"""

from __future__ import annotations

from typing import Any

from orbitlearn.federation.plan import ContactPlan
from orbitlearn.federation.staleness import PolynomialStaleness, StalenessWeight
from orbitlearn.federation.strategies.base import (
    PendingUpdate,
    Strategy,
    _positive_float,
    _positive_int,
)

__all__ = ["FedBuff"]


class FedBuff(Strategy):
    """Aggregate every ``buffer_size`` arrivals.

    Args:
        plan: the contact plan.
        buffer_size: ``K``, updates per aggregation (>= 1).
        max_wait_s: aggregate a non-empty buffer once its oldest update has waited this long
            (``None``: only full buffers).
        staleness: ``s(staleness)``; default polynomial with ``a = 0.5`` as in FedBuff.
        **kwargs: :class:`Strategy` arguments (``local_steps``, ``learning_rate``, ``rule``,
            ``server_learning_rate``, ``max_staleness``).
    """

    name = "fedbuff"

    def __init__(
        self,
        plan: ContactPlan,
        *,
        buffer_size: int = 10,
        max_wait_s: float | None = None,
        staleness: StalenessWeight | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            plan,
            staleness=PolynomialStaleness(0.5) if staleness is None else staleness,
            **kwargs,
        )
        self.buffer_size = _positive_int("buffer_size", buffer_size)
        self.max_wait_s = None if max_wait_s is None else _positive_float("max_wait_s", max_wait_s)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "buffer_size": self.buffer_size, "max_wait_s": self.max_wait_s}

    def _flush_time_s(self) -> float | None:
        if self.max_wait_s is None or not self._buffer:
            return None
        return min(p.arrival_s for p in self._buffer) + self.max_wait_s

    def ready_to_aggregate(self, now_s: float) -> bool:
        if len(self._buffer) >= self.buffer_size:
            return True
        flush = self._flush_time_s()
        return flush is not None and now_s >= flush

    def select_for_aggregation(self, now_s: float) -> list[PendingUpdate]:
        return self._buffer[: self.buffer_size]

    def next_wakeup_s(self, now_s: float) -> float | None:
        flush = self._flush_time_s()
        return flush if flush is not None and flush > now_s else None
