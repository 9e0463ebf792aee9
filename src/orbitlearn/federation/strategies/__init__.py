"""Federated-learning strategies, one module per algorithm, behind the :class:`Strategy` seam.

See :mod:`orbitlearn.federation.strategies.base` for the event flow an engine follows.

>>> sorted(STRATEGIES)
['fedasync', 'fedavg', 'fedbuff', 'fedprox', 'isl_relay', 'orbit_aware']
"""

from __future__ import annotations

from typing import Any

from orbitlearn.errors import InputError
from orbitlearn.federation.plan import ContactPlan
from orbitlearn.federation.strategies.base import (
    AggregationResult,
    LocalTrainingConfig,
    PendingUpdate,
    Receipt,
    Strategy,
)
from orbitlearn.federation.strategies.fedasync import FedAsync
from orbitlearn.federation.strategies.fedavg import FedAvg
from orbitlearn.federation.strategies.fedbuff import FedBuff
from orbitlearn.federation.strategies.fedprox import FedProx
from orbitlearn.federation.strategies.isl_relay import ISLRelay, combine_updates, walker_planes
from orbitlearn.federation.strategies.orbit_aware import OrbitAware

__all__ = [
    "STRATEGIES",
    "AggregationResult",
    "FedAsync",
    "FedAvg",
    "FedBuff",
    "FedProx",
    "ISLRelay",
    "LocalTrainingConfig",
    "OrbitAware",
    "PendingUpdate",
    "Receipt",
    "Strategy",
    "combine_updates",
    "make_strategy",
    "walker_planes",
]

#: Strategy classes by registry name.
STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (FedAvg, FedProx, FedAsync, FedBuff, OrbitAware, ISLRelay)
}


def make_strategy(name: str, plan: ContactPlan, **params: Any) -> Strategy:
    """Build a strategy by registry name with keyword parameters (for mission configs).

    Raises:
        InputError: unknown name, or a parameter the strategy does not take.
    """
    if name not in STRATEGIES:
        raise InputError("strategy", name, f"one of {sorted(STRATEGIES)}")
    try:
        return STRATEGIES[name](plan, **params)
    except TypeError as exc:
        raise InputError(
            f"strategy `{name}` parameters", sorted(params), "parameters it accepts", hint=str(exc)
        ) from exc
