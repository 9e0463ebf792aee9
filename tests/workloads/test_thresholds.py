"""Dynamic thresholds: smoothing, the z search, pruning, end-to-end detection; no labels used."""

from __future__ import annotations

import numpy as np
import pytest

from orbitlearn.errors import InputError
from orbitlearn.workloads.thresholds import (
    DynamicThresholdConfig,
    best_z,
    detect_anomalies,
    ewma,
    prune_sequences,
    quantile_threshold,
)


def _ewma_reference(x: np.ndarray, span: float) -> np.ndarray:
    """The adjusted EWMA written as its definition: a weighted mean of all past values."""
    decay = 1 - 2 / (span + 1)
    out = np.empty_like(x)
    for t in range(x.size):
        w = decay ** np.arange(t, -1, -1)
        out[t] = np.sum(w * x[: t + 1]) / np.sum(w)
    return out


@pytest.mark.parametrize("span", [1.0, 3.0, 105.0])
def test_ewma_matches_its_definition(span: float) -> None:
    x = np.random.default_rng(0).normal(size=400)
    np.testing.assert_allclose(ewma(x, span), _ewma_reference(x, span), rtol=0, atol=1e-8)


def test_ewma_rejects_bad_input() -> None:
    with pytest.raises(InputError, match=r"Expected `span` to be a number >= 1, actual: 0\.5"):
        ewma([1.0, 2.0], 0.5)
    with pytest.raises(InputError, match="Expected `values` to be a one-dimensional array"):
        ewma(np.zeros((2, 2)), 3)


def test_best_z_isolates_a_clear_outlier_and_falls_back_without_one() -> None:
    rng = np.random.default_rng(3)
    e = 0.1 + np.abs(rng.normal(0, 0.01, 1000))
    e[500:520] += 1.0
    z, objective = best_z(e, np.arange(2.5, 12, 0.5), buffer=10)
    eps = e.mean() + z * e.std()
    assert objective > 0
    assert np.flatnonzero(e > eps).tolist() == list(range(500, 520))
    # A constant stream has nothing to find.
    assert best_z(np.full(100, 0.2), [2.5, 3.0]) == (12.0, 0.0)


def test_best_z_refuses_thresholds_that_mark_too_many_sequences() -> None:
    e = np.full(2000, 0.1)
    e[100::200] = 1.0  # ten separate spikes: more than 5 sequences at every z
    z, objective = best_z(e, np.arange(2.5, 12, 0.5), buffer=5, max_sequences=5)
    assert (z, objective) == (12.0, 0.0)


def test_pruning_keeps_only_maxima_that_stand_out() -> None:
    e = np.full(100, 0.1)
    e[10], e[40], e[70] = 1.0, 0.95, 0.5
    seqs = [(10, 10), (40, 40), (70, 70)]
    # 1.0 -> 0.95 is a 5 % drop, 0.95 -> 0.5 is 47 %: the first two stay, the third (0.5 ->
    # nominal 0.1, an 80 % drop) stays too, since a big drop follows it.
    assert prune_sequences(e, seqs, 0.13) == seqs
    # A nominal error close to the smallest maximum removes that sequence only.
    assert prune_sequences(e, seqs, 0.13, nominal_max=0.48) == [(10, 10), (40, 40)]
    # Nothing stands out from the nominal errors: all are pruned.
    assert prune_sequences(e, [(10, 10)], 0.13, nominal_max=0.95) == []


def _stream(n: int, seed: int) -> np.ndarray:
    return np.abs(np.random.default_rng(seed).normal(0, 0.05, n))


def test_detects_an_injected_anomaly_and_nothing_in_noise() -> None:
    clean = _stream(4000, 1)
    assert detect_anomalies(clean).sequences == []
    hit = clean.copy()
    hit[2500:2540] += 0.8
    det = detect_anomalies(hit)
    assert len(det.sequences) == 1
    start, end = det.sequences[0]
    assert start <= 2540 and end >= 2500
    assert det.mask[2510] and not det.mask[1000]
    # Hundman et al.'s score: the sequence's highest smoothed error above its lowest threshold,
    # over the mean plus standard deviation of all smoothed errors
    stretch = slice(start, end + 1)
    scale = det.smoothed.mean() + det.smoothed.std()
    s = (det.smoothed[stretch].max() - det.threshold[stretch].min()) / scale
    assert det.sequence_scores == [pytest.approx(s)] and s > 2.0
    # the point score is highest inside the anomaly
    assert 2480 <= int(np.argmax(det.score)) <= 2650


def test_a_fall_of_the_error_is_found_when_two_sided() -> None:
    e = 0.3 + np.abs(np.random.default_rng(5).normal(0, 0.01, 3000))
    e[2000:2100] = 0.0  # the forecast suddenly becomes perfect (e.g. a flat-lined sensor)
    two = detect_anomalies(e)
    one = detect_anomalies(e, config=DynamicThresholdConfig(two_sided=False))
    assert any(s <= 2100 and t >= 2000 for s, t in two.sequences)
    assert one.sequences == []


def test_negligible_errors_flag_nothing() -> None:
    e = _stream(3000, 2) * 0.1  # all errors below the 0.05 floor
    e[2000:2010] += 0.02
    assert detect_anomalies(e).sequences == []
    # relative to large values, errors of 0.3 are negligible too
    e2 = _stream(3000, 2)
    e2[2000:2030] += 0.3
    values = np.linspace(-100, 100, 3000)
    assert detect_anomalies(e2).sequences != []
    assert detect_anomalies(e2, values).sequences == []


def test_the_start_is_a_warm_up() -> None:
    e = _stream(3000, 4)
    e[100:140] += 1.0  # inside the first 500 points of a stream of >= 2500
    assert detect_anomalies(e).sequences == []
    no_warmup = DynamicThresholdConfig(warmup=0, ignore_initial=())
    assert detect_anomalies(e, config=no_warmup).sequences != []
    assert DynamicThresholdConfig().ignored_points(2000) == 250
    assert DynamicThresholdConfig().ignored_points(1000) == 0


def test_detection_is_deterministic_and_windowed() -> None:
    e = _stream(6000, 7)
    e[5000:5050] += 0.6
    a = detect_anomalies(e)
    b = detect_anomalies(e.copy())
    assert a.sequences == b.sequences
    assert a.threshold.shape == (6000,) and np.all(a.threshold > 0)
    # thresholds are local: they change from step to step
    assert np.unique(a.threshold).size > 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 1}, "Expected `window` to be an integer >= 2, actual: 1"),
        ({"step": 0}, r"Expected `step` to be an integer in \[1, window=2100\], actual: 0"),
        (
            {"min_percent_decrease": 1.0},
            r"Expected `min_percent_decrease` to be a number in \[0, 1\)",
        ),
        ({"z_values": ()}, "Expected `z_values` to be a non-empty set of positive numbers"),
        ({"buffer": 0}, "Expected `buffer` to be an integer >= 1, actual: 0"),
    ],
)
def test_config_is_checked(kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        DynamicThresholdConfig(**kwargs)


def test_bad_errors_are_refused() -> None:
    with pytest.raises(InputError, match="Expected `errors` to be finite values >= 0"):
        detect_anomalies([0.1, -0.2])
    with pytest.raises(InputError, match=r"Expected `values` to be the shape of errors \(2,\)"):
        detect_anomalies([0.1, 0.2], [1.0])


def test_quantile_threshold() -> None:
    assert quantile_threshold(np.arange(101.0), 0.5, margin=2.0) == 100.0
    with pytest.raises(InputError, match="Expected `quantile` to be a number in"):
        quantile_threshold([1.0], 0.0)
