"""The ground segment: stations linked on the ground, one aggregator, model evaluation.

Every station forwards what it receives to the aggregator at once (terrestrial latency is not
modelled) and any station can send the current global model, so for the federation the ground
is one endpoint: a :class:`~orbitlearn.federation.FederationServer` (security checks in front of
the strategy). The ground also evaluates each new global model on the workload's held-out data;
those evaluations are the mission's learning curve.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from orbitlearn.federation import FederationServer, ServerReceipt
from orbitlearn.federation.strategies import AggregationResult
from orbitlearn.federation.tensors import NamedArrays, arrays_to_state_dict
from orbitlearn.mission.workload import MissionWorkload

__all__ = ["GroundSegment"]


class GroundSegment:
    """Aggregator and evaluator of a mission.

    Args:
        server: the security-checked strategy.
        workload: evaluates global models.
        seed: seed of the model skeleton the weights are loaded into.
    """

    def __init__(self, server: FederationServer, workload: MissionWorkload, seed: int) -> None:
        self.server = server
        self.strategy = server.strategy
        self.workload = workload
        self._model = workload.model_factory(seed)

    def evaluate(self, params: NamedArrays) -> float:
        """The workload's metric of ``params`` (NaN if the weights are not finite)."""
        if any(a.dtype.kind == "f" and not np.all(np.isfinite(a)) for a in params.values()):
            return float("nan")
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            self._model.load_state_dict(arrays_to_state_dict(params, like=self._model.state_dict()))
            return float(self.workload.evaluate(self._model))
        finally:
            torch.set_num_threads(threads)

    def receive(self, frame: bytes, now_s: float) -> ServerReceipt:
        """An update frame reached a station (see ``FederationServer.receive``)."""
        return self.server.receive(frame, now_s)

    def poll(self, now_s: float) -> list[AggregationResult]:
        """Let the strategy aggregate."""
        return self.server.poll(now_s)

    def state_dict(self) -> dict[str, Any]:
        return {"server": self.server.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.server.load_state_dict(state["server"])
