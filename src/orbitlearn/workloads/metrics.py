"""Detection metrics: point-wise (precision, recall, F-beta, AUC-ROC, AUC-PR) and event-wise.

Point-wise metrics compare a label per sample with a prediction (or a score) per sample.
Event-wise scoring follows Hundman et al., "Detecting Spacecraft Anomalies Using LSTMs and
Nonparametric Dynamic Thresholding" (KDD 2018): an anomalous *sequence* is what an operator
sees, so

- a labelled sequence overlapped by at least one predicted sequence is a true positive,
- a labelled sequence overlapped by none is a false negative,
- a predicted sequence that overlaps no labelled sequence is a false positive.

So several predicted sequences on one labelled sequence make one true positive and no false
positive, and one predicted sequence across two labelled sequences makes two true positives:
the rule of ``evaluate_sequences`` in the telemanom code released with the paper (later
versions credit only the first labelled sequence a predicted one overlaps).

Sequences are inclusive index ranges ``(start, end)`` into one channel's series (for the
telemanom layout, indices of the test file; the forecaster's first ``window`` points are
shifted back in, as telemanom's later code does with its ``l_s``).

How far a figure measured on one test set can be trusted: :func:`f_beta_interval` resamples
the scored units (segments, or channels for event-wise counts) with replacement.

Everything here is plain numpy; the tests compare it with scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "BinaryScores",
    "EventCounts",
    "auc_pr",
    "auc_roc",
    "binary_scores",
    "event_counts",
    "f_beta",
    "f_beta_interval",
    "sequences_from_mask",
    "total_event_counts",
]

Sequence_ = tuple[int, int]


def _as_labels(y_true: ArrayLike, name: str = "y_true") -> NDArray[np.bool_]:
    arr = np.asarray(y_true)
    if arr.ndim != 1:
        raise ValueError(f"Expected `{name}` to be one-dimensional, actual shape: {arr.shape}")
    if arr.dtype != np.bool_:
        values = np.unique(arr)
        if not np.isin(values, (0, 1)).all():
            raise ValueError(f"Expected `{name}` to hold only 0 and 1, actual values: {values[:5]}")
    return arr.astype(bool)


def _safe_ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def f_beta(precision: float | None, recall: float | None, beta: float = 1.0) -> float | None:
    """F-beta from precision and recall; ``None`` where either is undefined.

    ``beta`` < 1 weighs precision more (F0.5 counts a false alarm as costlier than a miss).

    >>> round(f_beta(0.926, 0.694, beta=0.5), 4)  # telemanom's published MSL figures
    0.868
    >>> f_beta(0.0, 0.0)
    0.0
    """
    if precision is None or recall is None:
        return None
    b2 = beta * beta
    den = b2 * precision + recall
    return (1.0 + b2) * precision * recall / den if den > 0 else 0.0


@dataclass(frozen=True)
class BinaryScores:
    """Point-wise confusion counts and the scores derived from them.

    A score is ``None`` where it is undefined (e.g. precision with no positive prediction).
    """

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float | None:
        return _safe_ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _safe_ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return f_beta(self.precision, self.recall, 1.0)

    @property
    def f0_5(self) -> float | None:
        return f_beta(self.precision, self.recall, 0.5)

    def as_dict(self) -> dict[str, float | int | None]:
        """Counts and scores, ready for JSON."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "f0_5": self.f0_5,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
        }


def binary_scores(y_true: ArrayLike, y_pred: ArrayLike) -> BinaryScores:
    """Confusion counts of predictions ``y_pred`` against labels ``y_true`` (both shape ``(n,)``).

    >>> s = binary_scores([1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    >>> (s.tp, s.fp, s.fn, s.tn), round(s.f1, 4)
    ((2, 1, 1, 1), 0.6667)
    """
    truth = _as_labels(y_true)
    pred = _as_labels(y_pred, "y_pred")
    if truth.shape != pred.shape:
        raise ValueError(
            f"Expected `y_pred` to have the shape of `y_true` {truth.shape}, actual: {pred.shape}"
        )
    tp = int(np.count_nonzero(truth & pred))
    fp = int(np.count_nonzero(~truth & pred))
    fn = int(np.count_nonzero(truth & ~pred))
    return BinaryScores(tp=tp, fp=fp, fn=fn, tn=int(truth.size - tp - fp - fn))


def _ranked_counts(
    y_true: ArrayLike, y_score: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], int, int] | None:
    """Cumulative true/false positives at each distinct score, from the highest score down."""
    truth = _as_labels(y_true)
    score = np.asarray(y_score, dtype=np.float64)
    if score.shape != truth.shape:
        raise ValueError(
            f"Expected `y_score` to have the shape of `y_true` {truth.shape}, actual: {score.shape}"
        )
    if not np.isfinite(score).all():
        raise ValueError("Expected `y_score` to be finite, actual: it holds NaN or inf")
    n_pos = int(np.count_nonzero(truth))
    n_neg = truth.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(-score, kind="mergesort")
    score_sorted = score[order]
    truth_sorted = truth[order]
    # The last index of each run of equal scores: a threshold admits all tied samples at once.
    last_of_run = np.r_[np.flatnonzero(np.diff(score_sorted)), truth.size - 1]
    tps = np.cumsum(truth_sorted, dtype=np.float64)[last_of_run]
    fps = (last_of_run + 1).astype(np.float64) - tps
    return tps, fps, n_pos, n_neg


def auc_roc(y_true: ArrayLike, y_score: ArrayLike) -> float | None:
    """Area under the ROC curve (trapezoidal, ties handled); ``None`` with a single class.

    >>> auc_roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    counts = _ranked_counts(y_true, y_score)
    if counts is None:
        return None
    tps, fps, n_pos, n_neg = counts
    tpr = np.r_[0.0, tps / n_pos]
    fpr = np.r_[0.0, fps / n_neg]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def auc_pr(y_true: ArrayLike, y_score: ArrayLike) -> float | None:
    """Area under the precision-recall curve as average precision; ``None`` with a single class.

    Average precision is ``sum_n (R_n - R_{n-1}) P_n`` over the distinct score thresholds (no
    interpolation), the definition scikit-learn's ``average_precision_score`` uses.

    >>> round(auc_pr([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    counts = _ranked_counts(y_true, y_score)
    if counts is None:
        return None
    tps, fps, n_pos, _ = counts
    precision = tps / (tps + fps)
    recall = np.r_[0.0, tps / n_pos]
    return float(np.sum(np.diff(recall) * precision))


def sequences_from_mask(mask: ArrayLike) -> list[Sequence_]:
    """Inclusive ``(start, end)`` index ranges of the runs of ``True`` in a 1-D mask.

    >>> sequences_from_mask([0, 1, 1, 0, 0, 1])
    [(1, 2), (5, 5)]
    """
    flags = np.asarray(mask, dtype=bool)
    if flags.ndim != 1:
        raise ValueError(f"Expected `mask` to be one-dimensional, actual shape: {flags.shape}")
    edges = np.diff(np.r_[0, flags.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


@dataclass(frozen=True)
class EventCounts:
    """Event-wise counts of one channel (or a sum over channels)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float | None:
        return _safe_ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _safe_ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return f_beta(self.precision, self.recall, 1.0)

    @property
    def f0_5(self) -> float | None:
        return f_beta(self.precision, self.recall, 0.5)

    def __add__(self, other: EventCounts) -> EventCounts:
        return EventCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def as_dict(self) -> dict[str, float | int | None]:
        """Counts and scores, ready for JSON."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "f0_5": self.f0_5,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


def _check_sequences(sequences: Sequence[Sequence_], name: str) -> NDArray[np.int64]:
    arr = np.asarray(list(sequences), dtype=np.int64).reshape(-1, 2)
    if (arr[:, 1] < arr[:, 0]).any():
        bad = arr[np.argmax(arr[:, 1] < arr[:, 0])]
        raise ValueError(
            f"Expected each of `{name}` to be (start, end) with start <= end, "
            f"actual: ({bad[0]}, {bad[1]})"
        )
    return arr


def event_counts(
    labelled: Sequence[Sequence_], predicted: Sequence[Sequence_], *, first_only: bool = False
) -> EventCounts:
    """Event-wise counts of ``predicted`` sequences against ``labelled`` ones (inclusive ranges).

    ``first_only``: a predicted sequence credits only the first labelled sequence (in the
    order given) it overlaps, the rule of later telemanom versions (see the module docstring).

    >>> event_counts(labelled=[(10, 20), (50, 60)], predicted=[(18, 25), (30, 35)])
    EventCounts(tp=1, fp=1, fn=1)
    >>> event_counts([(10, 20), (30, 40)], [(15, 35)]), event_counts(
    ...     [(10, 20), (30, 40)], [(15, 35)], first_only=True)
    (EventCounts(tp=2, fp=0, fn=0), EventCounts(tp=1, fp=0, fn=1))
    """
    true_seq = _check_sequences(labelled, "labelled")
    pred_seq = _check_sequences(predicted, "predicted")
    # overlap[i, j]: labelled i and predicted j share at least one index.
    overlap = (true_seq[:, None, 0] <= pred_seq[None, :, 1]) & (
        pred_seq[None, :, 0] <= true_seq[:, None, 1]
    )
    if first_only:
        hit = overlap.any(axis=0)
        tp = int(np.unique(np.argmax(overlap[:, hit], axis=0)).size) if hit.any() else 0
    else:
        tp = int(np.count_nonzero(overlap.any(axis=1)))
    fp = int(np.count_nonzero(~overlap.any(axis=0)))
    return EventCounts(tp=tp, fp=fp, fn=len(true_seq) - tp)


def total_event_counts(per_channel: Mapping[str, EventCounts]) -> EventCounts:
    """The sum of per-channel event counts (what telemanom reports as its overall figures)."""
    total = EventCounts(0, 0, 0)
    for counts in per_channel.values():
        total = total + counts
    return total


#: Resamples drawn per block of :func:`f_beta_interval` (bounds its memory to a block of
#: ``(_RESAMPLE_BLOCK, units)`` counts).
_RESAMPLE_BLOCK = 256


def _unit_counts(name: str, values: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(
            f"Expected `{name}` of shape (units,) or (runs, units) with units >= 1, "
            f"actual shape: {np.shape(values)}"
        )
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(f"Expected `{name}` to hold counts >= 0, actual: {arr.min()}")
    return arr


def f_beta_interval(
    tp: ArrayLike,
    fp: ArrayLike,
    fn: ArrayLike,
    *,
    beta: float = 1.0,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of F-beta over the scored units.

    The units are what a test set is made of: its segments for point-wise scores (counts 0 or
    1 per segment), its channels for event-wise ones (each channel's counts). Each resample
    draws as many units as there are, with replacement, and sums their counts; several runs
    (training seeds) may be given as rows, and the statistic is then their mean F-beta, every
    run seeing the same units in a resample. The interval holds ``level`` of the resampled
    statistics (resamples where F-beta is undefined, with no true positive, false positive or
    false negative at all, are left out).

    Args:
        tp, fp, fn: counts per unit, shape ``(units,)`` or ``(runs, units)``, all alike.
        beta: as in :func:`f_beta`.
        level: the share of resamples inside the interval, in (0, 1).
        resamples: number of resamples (>= 100).
        seed: seeds the resampling.

    Returns:
        ``(low, high)``, or ``None`` when F-beta is undefined in every resample.

    >>> truth = np.array([1] * 20 + [0] * 80, bool)
    >>> pred = truth.copy(); pred[:2] = False; pred[20:23] = True
    >>> low, high = f_beta_interval(truth & pred, ~truth & pred, truth & ~pred)
    >>> bool(low < 2 * 18 / (2 * 18 + 3 + 2) < high)  # the measured F1 lies inside
    True
    """
    counts = [_unit_counts(name, v) for name, v in (("tp", tp), ("fp", fp), ("fn", fn))]
    if counts[1].shape != counts[0].shape or counts[2].shape != counts[0].shape:
        raise ValueError(
            f"Expected `tp`, `fp` and `fn` of one shape, actual: {[c.shape for c in counts]}"
        )
    if not 0.0 < level < 1.0:
        raise ValueError(f"Expected `level` in (0, 1), actual: {level}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 100:
        raise ValueError(f"Expected `resamples` to be an integer >= 100, actual: {resamples!r}")
    if not beta > 0:
        raise ValueError(f"Expected `beta` > 0, actual: {beta}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"Expected `seed` to be an integer >= 0, actual: {seed!r}")
    units = counts[0].shape[1]
    rng = np.random.default_rng([int(seed), 0xB007])
    b2 = beta * beta
    stats: list[NDArray[np.float64]] = []
    for start in range(0, resamples, _RESAMPLE_BLOCK):
        size = min(_RESAMPLE_BLOCK, resamples - start)
        # How often each unit is drawn in each resample: shape (size, units).
        weights = rng.multinomial(units, np.full(units, 1.0 / units), size=size).astype(np.float64)
        tp_s, fp_s, fn_s = (weights @ c.T for c in counts)  # each (size, runs)
        den = (1.0 + b2) * tp_s + b2 * fn_s + fp_s
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(den > 0, (1.0 + b2) * tp_s / den, np.nan)
        defined = ~np.isnan(score).any(axis=1)
        stats.append(score[defined].mean(axis=1))
    pooled = np.concatenate(stats)
    if pooled.size == 0:
        return None
    tail = 50.0 * (1.0 - level)
    low, high = np.percentile(pooled, [tail, 100.0 - tail])
    return float(low), float(high)
