"""Aggregation rules against numpy/scipy references, robustness, and staleness weighting."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from orbitlearn.errors import InputError
from orbitlearn.federation import (
    ConstantStaleness,
    CoordinateMedian,
    HingeStaleness,
    NormClip,
    PolynomialStaleness,
    TrimmedMean,
    WeightedMean,
    aggregation_rule,
    clip_by_norm,
    staleness_weight,
)


def _deltas(n: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        {
            "w": rng.normal(size=(3, 4)).astype(np.float32),
            "b": rng.normal(size=5),
            "count": np.array(int(rng.integers(0, 100)), dtype=np.int64),
        }
        for _ in range(n)
    ]


def _stack(deltas, name):
    return np.stack([d[name].astype(np.float64) for d in deltas])


def test_weighted_mean_matches_numpy_average():
    deltas = _deltas(7)
    weights = np.array([10, 20, 5, 40, 1, 3, 8], dtype=float)
    out = WeightedMean()(deltas, weights)
    for name in ("w", "b"):
        ref = np.average(_stack(deltas, name), axis=0, weights=weights)
        np.testing.assert_allclose(out[name], ref.astype(deltas[0][name].dtype), rtol=1e-6)
        assert out[name].dtype == deltas[0][name].dtype
    assert out["count"] == max(int(d["count"]) for d in deltas)  # counters: element-wise max


def test_median_and_trimmed_mean_match_numpy_and_scipy():
    deltas = _deltas(9, seed=1)
    weights = np.ones(9)
    med = CoordinateMedian()(deltas, weights)
    trim = TrimmedMean(0.2)(deltas, weights)
    for name in ("w", "b"):
        stack = _stack(deltas, name)
        np.testing.assert_allclose(med[name], np.median(stack, axis=0), rtol=1e-6)
        np.testing.assert_allclose(trim[name], stats.trim_mean(stack, 0.2, axis=0), rtol=1e-6)
    # trim fraction 0 is the plain mean
    np.testing.assert_allclose(
        TrimmedMean(0.0)(deltas, weights)["b"], _stack(deltas, "b").mean(axis=0), rtol=1e-12
    )


def test_norm_clip_bounds_each_update():
    deltas = _deltas(5, seed=2)
    norms = [np.sqrt(np.sum(d["w"].astype(float) ** 2) + np.sum(d["b"] ** 2)) for d in deltas]
    max_norm = float(np.median(norms))
    clipped = [clip_by_norm(d, max_norm) for d in deltas]
    for d, c, n in zip(deltas, clipped, norms, strict=True):
        cn = np.sqrt(np.sum(c["w"].astype(float) ** 2) + np.sum(c["b"] ** 2))
        assert cn == pytest.approx(min(n, max_norm), rel=1e-6)
        assert c["count"] == d["count"]
    out = NormClip(WeightedMean(), max_norm)(deltas, np.ones(5))
    ref = np.mean([c["b"] for c in clipped], axis=0)
    np.testing.assert_allclose(out["b"], ref, rtol=1e-12)


def test_byzantine_update_moves_the_mean_but_not_the_robust_rules():
    rng = np.random.default_rng(3)
    honest = [{"w": rng.normal(loc=1.0, scale=0.1, size=50)} for _ in range(9)]
    byzantine = {"w": np.full(50, 1e6)}
    deltas = [*honest, byzantine]
    weights = np.full(10, 100.0)
    truth = np.mean([d["w"] for d in honest], axis=0)
    honest_norm = float(np.linalg.norm(truth))

    def err(rule):
        return float(np.max(np.abs(rule(deltas, weights)["w"] - truth)))

    assert err(WeightedMean()) > 1e4
    assert err(CoordinateMedian()) < 0.2
    assert err(TrimmedMean(0.1)) < 0.2
    # clipping bounds the Byzantine influence to max_norm / n per update
    assert err(NormClip(WeightedMean(), max_norm=1.5 * honest_norm)) < 0.35
    assert err(NormClip(CoordinateMedian(), max_norm=1.5 * honest_norm)) < 0.2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: WeightedMean()([], []),
            "Expected `number of updates` to be at least 1, actual: 0",
        ),
        (
            lambda: WeightedMean()(_deltas(2), [1.0]),
            "Expected `weights shape` to be (2,): one weight per update, actual: (1,)",
        ),
        (
            lambda: WeightedMean()(_deltas(2), [1.0, -1.0]),
            "Expected `weights` to be finite numbers >= 0, actual: [1.0, -1.0]",
        ),
        (
            lambda: WeightedMean()(_deltas(2), [0.0, 0.0]),
            "Expected `sum of weights` to be a number > 0, actual: 0.0",
        ),
        (
            lambda: WeightedMean()([{"w": np.zeros(2)}, {"w": np.zeros(3)}], [1, 1]),
            "Expected `update 1 tensor `w` shape` to be (2,), actual: (3,)",
        ),
        (
            lambda: TrimmedMean(0.5),
            "Expected `trim_fraction` to be a number in [0, 0.5), actual: 0.5",
        ),
        (
            lambda: TrimmedMean(-0.1),
            "Expected `trim_fraction` to be a number in [0, 0.5), actual: -0.1",
        ),
        (
            lambda: NormClip(WeightedMean(), 0.0),
            "Expected `max_norm` to be a finite number > 0, actual: 0.0",
        ),
        (
            lambda: aggregation_rule("krum"),
            "Expected `aggregation` to be one of ['mean', 'median', 'trimmed_mean'], actual: 'krum'",
        ),
    ],
)
def test_bad_arguments_are_reported(call, message):
    with pytest.raises(InputError) as info:
        call()
    assert str(info.value) == message


def test_rule_factory():
    assert isinstance(aggregation_rule("mean"), WeightedMean)
    rule = aggregation_rule("trimmed_mean", trim_fraction=0.25, max_norm=3.0)
    assert isinstance(rule, NormClip) and isinstance(rule.inner, TrimmedMean)
    assert rule.config() == {
        "name": "clip",
        "max_norm": 3.0,
        "inner": {"name": "trimmed_mean", "trim_fraction": 0.25},
    }


# -- staleness -----------------------------------------------------------------------------------


def test_staleness_functions_follow_xie_et_al():
    s = np.arange(0, 12)
    np.testing.assert_array_equal(ConstantStaleness()(s), np.ones(12))
    np.testing.assert_allclose(PolynomialStaleness(0.5)(s), 1.0 / np.sqrt(1.0 + s))
    np.testing.assert_allclose(PolynomialStaleness(2.0)(s), (1.0 + s) ** -2.0)
    hinge = HingeStaleness(a=10.0, b=4)(s)
    np.testing.assert_allclose(hinge[:5], 1.0)
    np.testing.assert_allclose(hinge[5:], 1.0 / (10.0 * (s[5:] - 4) + 1.0))
    for fn in (PolynomialStaleness(0.5), HingeStaleness(1.0, 2.0)):
        w = fn(s)
        assert w[0] == 1.0 and np.all(np.diff(w) <= 0)
    assert isinstance(PolynomialStaleness(1.0)(3), float)
    assert PolynomialStaleness(1.0)(3) == 0.25


def test_staleness_validation_and_factory():
    with pytest.raises(InputError, match="Expected `staleness` to be integers >= 0"):
        PolynomialStaleness()(np.array([-1]))
    with pytest.raises(InputError, match="Expected `staleness` to be integers >= 0"):
        PolynomialStaleness()(np.array([0.5]))
    with pytest.raises(InputError, match="Expected `a` to be a finite number >= 0, actual: -1"):
        PolynomialStaleness(-1)
    assert staleness_weight("hinge", a=2.0, b=1.0).config() == {"name": "hinge", "a": 2.0, "b": 1.0}
    with pytest.raises(InputError, match="Expected `staleness` to be one of"):
        staleness_weight("exponential")
    with pytest.raises(InputError, match="Expected `staleness `constant` parameters`"):
        staleness_weight("constant", a=1.0)
