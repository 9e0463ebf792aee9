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
