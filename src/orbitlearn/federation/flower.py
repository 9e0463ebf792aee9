"""Use a Flower strategy for the aggregation step.

Teams that already have a Flower (``flwr``) strategy can plug it into any orbitlearn strategy
as its aggregation rule: :class:`FlowerAggregation` wraps a ``flwr.server.strategy.Strategy``
and calls its ``aggregate_fit`` with our updates converted to Flower ``FitRes`` results
(``Parameters`` built with ``flwr.common.ndarrays_to_parameters``, ``num_examples`` = the
update's ``num_samples``), then converts the returned ``Parameters`` back to named arrays.
Written against the Flower 1.x "compat" API (``flwr.common.FitRes``, ``Status``, ``Code``;
``aggregate_fit(server_round, results, failures)``), checked with flwr 1.42.

What the Flower strategy combines are the floating-point update *deltas* (after staleness
scaling), weighted by ``num_samples``; integer tensors are combined by the element-wise maximum
as in :mod:`orbitlearn.federation.aggregation`. Suitable strategies therefore are those that
average or robustly combine client results: ``FedAvg``, ``FedMedian``, ``FedTrimmedAvg``,
``Krum``, ``Bulyan``. Server-optimiser strategies (``FedAdam``, ``FedYogi``, ``FedAdagrad``,
``FedAvgM``) keep their own copy of the global weights and expect full weights, so they are not
meaningful here; use ``server_learning_rate`` of the orbitlearn strategy instead.

``flwr`` is an optional dependency (``pip install 'orbitlearn[flwr]'``); it is imported when a
:class:`FlowerAggregation` is built.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from orbitlearn.errors import InputError, MissingDependencyError
from orbitlearn.federation.aggregation import AggregationRule
from orbitlearn.federation.tensors import NamedArrays, is_float_array

__all__ = ["FlowerAggregation"]


def _import_flwr() -> Any:
    try:
        import flwr.common
        import flwr.server.client_proxy
        import flwr.server.strategy
    except ImportError as exc:
        raise MissingDependencyError("flwr", "flwr", "the Flower strategy adapter") from exc
    return flwr


@functools.cache
def _proxy_class() -> type:
    """A minimal ``ClientProxy`` (Flower's aggregation only reads ``cid``)."""
    flwr = _import_flwr()

    base: Any = flwr.server.client_proxy.ClientProxy

    class _UpdateProxy(base):
        def _unused(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("an orbitlearn update proxy only carries a result")

        get_properties = get_parameters = fit = evaluate = reconnect = _unused

    return _UpdateProxy


class FlowerAggregation(AggregationRule):
    """A Flower strategy's ``aggregate_fit`` as an :class:`AggregationRule`.

    Args:
        strategy: a Flower strategy instance; default ``flwr.server.strategy.FedAvg()``.

    Raises:
        MissingDependencyError: ``flwr`` is not installed.
        InputError: ``strategy`` has no ``aggregate_fit``.
    """

    name = "flower"

    def __init__(self, strategy: Any | None = None) -> None:
        flwr = _import_flwr()
        self.strategy = flwr.server.strategy.FedAvg() if strategy is None else strategy
        if not callable(getattr(self.strategy, "aggregate_fit", None)):
            raise InputError(
                "strategy", type(self.strategy).__name__, "a Flower strategy with aggregate_fit"
            )
        self.server_round = 0

    def _aggregate(
        self, deltas: Sequence[Mapping[str, NDArray[Any]]], w: NDArray[np.float64]
    ) -> NamedArrays:
        flwr = _import_flwr()
        common = flwr.common
        if not np.all(w == np.round(w)):
            raise InputError(
                "weights",
                w.tolist(),
                "whole numbers (Flower's num_examples)",
                hint="strategies pass num_samples; scale deltas, not weights",
            )
        reference = deltas[0]
        names = [k for k, a in reference.items() if is_float_array(a)]
        proxy = _proxy_class()
        results = []
        for i, (delta, weight) in enumerate(zip(deltas, w, strict=True)):
            parameters = common.ndarrays_to_parameters([np.asarray(delta[k]) for k in names])
            fit_res = common.FitRes(
                status=common.Status(code=common.Code.OK, message=""),
                parameters=parameters,
                num_examples=int(weight),
                metrics={},
            )
            results.append((proxy(str(i)), fit_res))
        self.server_round += 1
        parameters, _metrics = self.strategy.aggregate_fit(self.server_round, results, [])
        if parameters is None:
            raise InputError(
                "Flower aggregate_fit result",
                None,
                "aggregated parameters",
                hint=f"{type(self.strategy).__name__} returned none for {len(results)} results",
            )
        arrays = common.parameters_to_ndarrays(parameters)
        if len(arrays) != len(names):
            raise InputError("Flower result tensors", len(arrays), f"{len(names)}")
        by_name = dict(zip(names, arrays, strict=True))
        out: NamedArrays = {}
        for name, ref in reference.items():
            if name in by_name:
                out[name] = np.asarray(by_name[name]).reshape(ref.shape).astype(ref.dtype)
            else:
                out[name] = np.maximum.reduce([np.asarray(d[name]) for d in deltas]).astype(
                    ref.dtype
                )
        return out

    def _combine(self, stack: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
        raise NotImplementedError  # pragma: no cover - _aggregate handles all tensors at once

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "strategy": type(self.strategy).__name__}
