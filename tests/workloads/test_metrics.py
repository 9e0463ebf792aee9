"""Point-wise metrics against scikit-learn, event-wise scoring on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from orbitlearn.workloads.metrics import (
    EventCounts,
    auc_pr,
    auc_roc,
    binary_scores,
    event_counts,
    f_beta,
    sequences_from_mask,
    total_event_counts,
)


@pytest.mark.parametrize("seed", range(5))
def test_binary_scores_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random(300) < 0.3
    pred = np.where(rng.random(300) < 0.8, y, ~y)
    s = binary_scores(y, pred)
    assert s.precision == pytest.approx(skm.precision_score(y, pred))
    assert s.recall == pytest.approx(skm.recall_score(y, pred))
    assert s.f1 == pytest.approx(skm.f1_score(y, pred))
    assert s.f0_5 == pytest.approx(skm.fbeta_score(y, pred, beta=0.5))
    assert (s.tn, s.fp, s.fn, s.tp) == tuple(skm.confusion_matrix(y, pred).ravel())


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("ties", [False, True])
def test_aucs_match_sklearn(seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random(500) < 0.2
    score = rng.normal(size=500) + 1.2 * y
    if ties:  # coarse scores: many ties within and across classes
        score = np.round(score, 0)
    assert auc_roc(y, score) == pytest.approx(skm.roc_auc_score(y, score), abs=1e-12)
    assert auc_pr(y, score) == pytest.approx(skm.average_precision_score(y, score), abs=1e-12)


def test_undefined_scores_are_none() -> None:
    assert auc_roc([0, 0, 0], [0.1, 0.2, 0.3]) is None
    assert auc_pr([1, 1], [0.1, 0.2]) is None
    s = binary_scores([0, 0, 1], [0, 0, 0])
    assert s.precision is None and s.recall == 0.0 and s.f1 is None
    assert f_beta(None, 0.5) is None


def test_f_beta_of_telemanom_msl_figures() -> None:
    # Hundman et al. (2018): MSL precision 92.6 %, recall 69.4 %.
    assert f_beta(0.926, 0.694, beta=0.5) == pytest.approx(0.8680, abs=5e-4)
    assert f_beta(0.926, 0.694, beta=1.0) == pytest.approx(0.7934, abs=5e-4)


def test_metric_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="Expected `y_true` to hold only 0 and 1"):
        binary_scores([0, 2], [0, 1])
    with pytest.raises(ValueError, match=r"Expected `y_pred` to have the shape of `y_true` \(2,\)"):
        binary_scores([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="Expected `y_score` to be finite"):
        auc_roc([0, 1], [0.1, np.nan])


def test_sequences_from_mask() -> None:
    assert sequences_from_mask([]) == []
    assert sequences_from_mask([1, 1, 1]) == [(0, 2)]
    assert sequences_from_mask([0, 1, 0, 1, 1, 0]) == [(1, 1), (3, 4)]


@pytest.mark.parametrize(
    ("labelled", "predicted", "expected"),
    [
        # one prediction overlapping one label at a single shared index (inclusive ends)
        ([(10, 20)], [(20, 30)], EventCounts(tp=1, fp=0, fn=0)),
        # adjacent but not overlapping: a miss and a false alarm
        ([(10, 20)], [(21, 30)], EventCounts(tp=0, fp=1, fn=1)),
        # two predictions inside one label count one true positive, no false positive
        ([(10, 50)], [(12, 15), (30, 40)], EventCounts(tp=1, fp=0, fn=0)),
        # one long prediction covering two labels finds both
        ([(10, 20), (40, 50)], [(0, 100)], EventCounts(tp=2, fp=0, fn=0)),
        # nothing predicted
        ([(10, 20), (40, 50)], [], EventCounts(tp=0, fp=0, fn=2)),
        # nothing labelled: every prediction is a false positive
        ([], [(1, 2), (5, 9)], EventCounts(tp=0, fp=2, fn=0)),
        # a label inside a prediction, a prediction inside a label, one stray
        ([(10, 20), (60, 90)], [(5, 25), (70, 75), (200, 210)], EventCounts(tp=2, fp=1, fn=0)),
    ],
)
def test_event_counts_hand_made(labelled, predicted, expected) -> None:
    assert event_counts(labelled, predicted) == expected


def test_event_scores_and_totals() -> None:
    per_channel = {
        "A": event_counts([(10, 20), (40, 50)], [(15, 16)]),  # tp 1, fn 1
        "B": event_counts([(5, 9)], [(5, 9), (100, 120)]),  # tp 1, fp 1
        "C": event_counts([(0, 3)], []),  # fn 1
    }
    total = total_event_counts(per_channel)
    assert total == EventCounts(tp=2, fp=1, fn=2)
    assert total.precision == pytest.approx(2 / 3)
    assert total.recall == pytest.approx(0.5)
    assert total.as_dict()["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert EventCounts(0, 0, 3).precision is None


def test_event_counts_rejects_reversed_sequences() -> None:
    with pytest.raises(ValueError, match=r"start <= end, actual: \(9, 3\)"):
        event_counts([(9, 3)], [])


def test_first_only_credit_follows_later_telemanom() -> None:
    from orbitlearn.workloads.metrics import event_counts

    labelled = [(10, 20), (30, 40), (60, 70)]
    # one prediction across the first two, one inside the third, one false alarm
    predicted = [(15, 35), (65, 66), (90, 95)]
    assert (event_counts(labelled, predicted).tp, event_counts(labelled, predicted).fp) == (3, 1)
    first = event_counts(labelled, predicted, first_only=True)
    assert (first.tp, first.fp, first.fn) == (2, 1, 1)
    assert event_counts([], [(1, 2)], first_only=True) == event_counts([], [(1, 2)])


def _counts(truth: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return truth & pred, ~truth & pred, truth & ~pred


def test_f_beta_interval_covers_the_population_f1_about_as_often_as_its_level() -> None:
    from orbitlearn.workloads.metrics import f_beta_interval

    # Population: 20 % anomalies, 90 % of them found, 3 % of nominal units flagged.
    population_f1 = 2 * 0.18 / (2 * 0.18 + 0.8 * 0.03 + 0.2 * 0.1)
    rng = np.random.default_rng(7)
    covered = 0
    trials = 300
    for trial in range(trials):
        truth = rng.random(300) < 0.2
        pred = np.where(truth, rng.random(300) < 0.9, rng.random(300) < 0.03)
        interval = f_beta_interval(*_counts(truth, pred), resamples=400, seed=trial)
        assert interval is not None
        covered += interval[0] <= population_f1 <= interval[1]
    assert 0.88 <= covered / trials <= 0.99


def test_f_beta_interval_narrows_with_the_square_root_of_the_units() -> None:
    from orbitlearn.workloads.metrics import f_beta_interval

    rng = np.random.default_rng(3)
    truth = rng.random(400) < 0.25
    pred = np.where(truth, rng.random(400) < 0.85, rng.random(400) < 0.05)
    low, high = f_beta_interval(*_counts(truth, pred))
    low4, high4 = f_beta_interval(*_counts(np.tile(truth, 4), np.tile(pred, 4)))
    assert low < binary_scores(truth, pred).f1 < high
    assert 0.35 < (high4 - low4) / (high - low) < 0.65  # 4x the units: about half as wide


def test_f_beta_interval_of_runs_is_that_of_their_mean() -> None:
    from orbitlearn.workloads.metrics import f_beta_interval

    truth = np.array([True] * 30 + [False] * 70)
    pred = truth.copy()
    pred[:4] = False
    pred[30:33] = True
    single = f_beta_interval(*_counts(truth, pred), seed=5)
    twice = f_beta_interval(*(np.stack([c, c]) for c in _counts(truth, pred)), seed=5)
    assert single == twice  # identical runs: the same resamples, the same statistic
    assert f_beta_interval(*_counts(truth, truth)) == (1.0, 1.0)
    assert f_beta_interval(np.zeros(5), np.zeros(5), np.zeros(5)) is None
    # A run that is always right pulls the mean up: the interval moves, it does not widen.
    runs = zip(_counts(truth, pred), _counts(truth, truth), strict=True)
    mixed = f_beta_interval(*(np.stack(p) for p in runs))
    assert mixed is not None and single is not None
    assert mixed[0] > single[0] and mixed[1] - mixed[0] < single[1] - single[0]


def test_f_beta_interval_of_event_counts_per_channel() -> None:
    from orbitlearn.workloads.metrics import f_beta, f_beta_interval

    tp = np.array([1, 0, 2, 1, 1, 0, 1, 3, 1, 1])
    fp = np.array([0, 1, 0, 0, 1, 0, 0, 0, 0, 1])
    fn = np.array([0, 1, 1, 0, 0, 1, 0, 1, 0, 0])
    measured = f_beta(tp.sum() / (tp.sum() + fp.sum()), tp.sum() / (tp.sum() + fn.sum()), 0.5)
    interval = f_beta_interval(tp, fp, fn, beta=0.5)
    assert interval is not None and measured is not None
    assert interval[0] < measured < interval[1] <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tp": [1, 0], "fp": [0], "fn": [0, 1]}, "of one shape"),
        ({"tp": [[[1]]], "fp": [[[0]]], "fn": [[[0]]]}, "shape \\(units,\\) or \\(runs, units\\)"),
        ({"tp": [], "fp": [], "fn": []}, "units >= 1"),
        ({"tp": [1, -1], "fp": [0, 0], "fn": [0, 0]}, "counts >= 0"),
        ({"level": 1.0}, "`level` in \\(0, 1\\), actual: 1.0"),
        ({"resamples": 50}, "`resamples` to be an integer >= 100, actual: 50"),
        ({"resamples": 500.0}, "`resamples` to be an integer >= 100, actual: 500.0"),
        ({"beta": 0}, "`beta` > 0, actual: 0"),
        ({"seed": -1}, "`seed` to be an integer >= 0, actual: -1"),
    ],
)
def test_f_beta_interval_inputs_are_checked(kwargs: dict, message: str) -> None:
    from orbitlearn.workloads.metrics import f_beta_interval

    args = {"tp": [1, 0, 1], "fp": [0, 1, 0], "fn": [0, 0, 1]} | kwargs
    with pytest.raises(ValueError, match=message):
        f_beta_interval(args.pop("tp"), args.pop("fp"), args.pop("fn"), **args)
