"""The Flower adapter: a Flower strategy as the aggregation step, checked against our rules."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from orbitlearn.errors import InputError, MissingDependencyError
from orbitlearn.federation import (
    ContactPlan,
    CoordinateMedian,
    FedBuff,
    ModelUpdate,
    TrimmedMean,
    WeightedMean,
)

flwr = pytest.importorskip("flwr")
from orbitlearn.federation.flower import FlowerAggregation, _proxy_class  # noqa: E402


def _deltas(n: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        {
            "conv.weight": rng.normal(size=(4, 3, 3)).astype(np.float32),
            "fc.bias": rng.normal(size=7).astype(np.float32),
            "bn.num_batches_tracked": np.array(int(rng.integers(0, 50)), np.int64),
        }
        for _ in range(n)
    ]


def _close(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for name in a:
        assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape
        np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6)


def test_flower_fedavg_equals_our_weighted_mean():
    deltas = _deltas(6)
    weights = np.array([12, 40, 7, 33, 1, 20], dtype=float)
    for inplace in (True, False):
        rule = FlowerAggregation(flwr.server.strategy.FedAvg(inplace=inplace))
        _close(rule(deltas, weights), WeightedMean()(deltas, weights))
    assert FlowerAggregation().config() == {"name": "flower", "strategy": "FedAvg"}


def test_flower_median_and_trimmed_mean_equal_ours():
    deltas = _deltas(9, seed=1)
    ones = np.ones(9)
    _close(
        FlowerAggregation(flwr.server.strategy.FedMedian())(deltas, ones),
        CoordinateMedian()(deltas, ones),
    )
    _close(
        FlowerAggregation(flwr.server.strategy.FedTrimmedAvg(beta=0.2))(deltas, ones),
        TrimmedMean(0.2)(deltas, ones),
    )


def test_flower_rule_drives_a_strategy_like_the_native_rule():
    plan = ContactPlan(3, np.arange(3), np.zeros(3), np.full(3, 1e6))
    start = {"w": np.zeros(4, np.float32)}
    results = []
    for rule in (WeightedMean(), FlowerAggregation()):
        s = FedBuff(plan, buffer_size=3, rule=rule)
        s.initialize(start, 0.0)
        for i in range(3):
            s.receive(
                ModelUpdate.from_arrays(
                    sender=i,
                    sequence=1,
                    base_version=0,
                    num_samples=5 * (i + 1),
                    created_time_s=0.0,
                    arrays={"w": np.full(4, float(i + 1), np.float32)},
                ),
                1.0,
            )
        (r,) = s.poll(1.0)
        results.append(r.params["w"])
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)
    np.testing.assert_allclose(results[0], (5 * 1 + 10 * 2 + 15 * 3) / 30)


def test_weights_must_be_whole_numbers_and_strategy_must_aggregate():
    with pytest.raises(
        InputError, match=r"Expected `weights` to be whole numbers \(Flower's num_examples\)"
    ):
        FlowerAggregation()(_deltas(2), [1.5, 2.0])
    with pytest.raises(
        InputError,
        match="Expected `strategy` to be a Flower strategy with aggregate_fit, actual: 'object'",
    ):
        FlowerAggregation(object())
    with pytest.raises(
        NotImplementedError, match="an orbitlearn update proxy only carries a result"
    ):
        _proxy_class()("0").fit(None, None, None)


def test_missing_flwr_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "flwr", None)
    monkeypatch.setitem(sys.modules, "flwr.common", None)
    with pytest.raises(MissingDependencyError) as info:
        FlowerAggregation()
    assert str(info.value) == (
        "the Flower strategy adapter needs the optional dependency `flwr`; "
        "install it with: pip install 'orbitlearn[flwr]'"
    )
