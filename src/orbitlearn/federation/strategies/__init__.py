"""Federated-learning strategies, one module per algorithm, behind the :class:`Strategy` seam.

See :mod:`orbitlearn.federation.strategies.base` for the event flow an engine follows.

>>> sorted(STRATEGIES)
['fedasync', 'fedavg', 'fedbuff', 'fedprox', 'isl_relay', 'orbit_aware']
"""

from __future__ import annotations

from typing import Any

from orbitlearn.errors import InputError
from orbitlearn.federation.aggregation import NormClip, WeightedMean, aggregation_rule
from orbitlearn.federation.plan import ContactPlan
from orbitlearn.federation.staleness import staleness_weight
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

    Configuration values may name the rule and the staleness weighting instead of passing
    objects: ``rule="trimmed_mean"`` with optional ``trim_fraction`` and ``max_norm`` (see
    :func:`~orbitlearn.federation.aggregation.aggregation_rule`), and
    ``staleness="hinge"`` with optional ``staleness_params={"a": 10, "b": 4}``.

    >>> from orbitlearn.federation.plan import ContactPlan
    >>> plan = ContactPlan(2, [0], [0.0], [60.0])
    >>> make_strategy("fedbuff", plan, buffer_size=4, rule="median", max_norm=10.0).rule
    NormClip(max_norm=10.0, inner={'name': 'median'})

    Raises:
        InputError: unknown name, or a parameter the strategy does not take.
    """
    if name not in STRATEGIES:
        raise InputError("strategy", name, f"one of {sorted(STRATEGIES)}")
    params = dict(params)
    trim_fraction = params.pop("trim_fraction", 0.1)
    max_norm = params.pop("max_norm", None)
    if isinstance(params.get("rule"), str):
        params["rule"] = aggregation_rule(
            params["rule"], trim_fraction=trim_fraction, max_norm=max_norm
        )
    elif max_norm is not None:
        params["rule"] = NormClip(params.get("rule") or WeightedMean(), max_norm)
    staleness_params = params.pop("staleness_params", {})
    if isinstance(params.get("staleness"), str):
        params["staleness"] = staleness_weight(params["staleness"], **staleness_params)
    try:
        return STRATEGIES[name](plan, **params)
    except TypeError as exc:
        raise InputError(
            f"strategy `{name}` parameters", sorted(params), "parameters it accepts", hint=str(exc)
        ) from exc
