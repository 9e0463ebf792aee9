"""Anomaly thresholds chosen without test labels.

Two methods:

- :func:`detect_anomalies`: nonparametric dynamic thresholding of forecast errors (NDT), written
  from Hundman et al., "Detecting Spacecraft Anomalies Using LSTMs and Nonparametric Dynamic
  Thresholding" (KDD 2018), sections 3.2-3.3, with the parameters of its published
  configuration (telemanom ``config.yaml``: ``batch_size`` 70, ``window_size`` 30,
  ``smoothing_perc`` 0.05, ``error_buffer`` 100, ``p`` 0.13):

  1. errors ``e = |y - y_hat|`` are smoothed by an exponentially weighted moving average of
     span 70 x 30 x 0.05 = 105 into ``e_s``;
  2. the stream is judged in steps of 70 points, each against the window of the last
     70 x 30 = 2100 smoothed errors (the first window judges all its points);
  3. in a window the threshold is ``eps = mean(e_s) + z std(e_s)`` with the ``z`` in
     2.5, 3.0, ..., 11.5 that maximises

         (delta_mean / mean + delta_std / std) / (n_anomalous + n_sequences ** 2)

     where the deltas are the drops of the mean and standard deviation when the points above
     ``eps`` are removed, and the anomalous points are those above ``eps`` widened by the
     buffer of 100 points on each side; a ``z`` that gives more than 5 sequences or marks half
     the window is not eligible, and with none eligible ``z`` is 12;
  4. points above ``eps`` (and above 5 % of the 5-95 percentile range of the values) are
     flagged with the buffer around them, unless the window's errors are negligible: their
     standard deviation is below 5 % of the values' and their maximum below 5 % of the values'
     range, or their maximum is below 0.05;
  5. flagged sequences are pruned: their maxima, with the largest non-flagged error appended,
     sorted in decreasing order; a sequence stays only if the relative drop after its maximum,
     or after some smaller maximum further down, is at least ``p`` = 0.13;
  6. steps 3-5 also run on the errors mirrored about their mean (``2 mean - e_s``), since a
     sudden fall of the error can be anomalous too;
  7. the start of the stream is a warm-up: the smoothed errors of its first 250 points are
     replaced by the mean of the first 500, and nothing is flagged in the first 500 points of
     a stream of at least 2500 (250 of one of at least 1800), where the smoothing and the
     forecaster's window have too little history (telemanom: ``l_s`` = 250).

  One deliberate difference: telemanom's code never judges the ``(n - 2100) mod 70`` points
  just before the last 70 of a stream of ``n`` (its last window judges only the final 70);
  here every point is judged.

  Each sequence gets the paper's score ``(max(e_seq) - eps) / (mean(e_s) + std(e_s))``; each
  point a continuous score (its smoothed error in standard deviations above the mean of the
  window that judged it) for AUC.

- :func:`quantile_threshold`: a robust quantile of errors on nominal (training) data, for
  workloads where a held-out nominal set exists.

Nothing here sees a label: thresholds depend on the error stream (and the values) only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import InputError
from orbitlearn.workloads.metrics import sequences_from_mask

__all__ = [
    "Detection",
    "DynamicThresholdConfig",
    "best_z",
    "detect_anomalies",
    "ewma",
    "prune_sequences",
    "quantile_threshold",
]

#: Relative weight below which an EWMA kernel is truncated (keeps smoothing an O(n k) convolution).
_EWMA_TRUNCATION = 1e-9


def ewma(values: ArrayLike, span: float) -> NDArray[np.float64]:
    """Exponentially weighted moving average with ``alpha = 2 / (span + 1)``, shape ``(n,)``.

    The weights of the first points are renormalised (the "adjusted" EWMA), so the output starts
    at ``values[0]`` instead of decaying from zero. Computed as one convolution with the
    exponential kernel truncated where its weight falls below 1e-9.

    >>> ewma([1.0, 1.0, 4.0], span=3).round(4).tolist()
    [1.0, 1.0, 2.7143]
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise InputError("values", f"array of shape {x.shape}", "a one-dimensional array")
    if not span >= 1.0:
        raise InputError("span", span, "a number >= 1")
    if x.size == 0:
        return x.copy()
    decay = 1.0 - 2.0 / (span + 1.0)
    length = x.size if decay <= 0 else int(np.ceil(np.log(_EWMA_TRUNCATION) / np.log(decay))) + 1
    kernel = decay ** np.arange(min(max(length, 1), x.size))
    num = np.convolve(x, kernel)[: x.size]
    den = np.convolve(np.ones_like(x), kernel)[: x.size]
    return num / den


def _dilate(mask: NDArray[np.bool_], radius: int) -> NDArray[np.bool_]:
    """``mask`` widened by ``radius - 1`` points each way along the last axis."""
    if radius <= 1:
        return mask
    reach = radius - 1
    n = mask.shape[-1]
    padded = np.concatenate(
        [np.zeros((*mask.shape[:-1], 1), dtype=np.int64), np.cumsum(mask, axis=-1)], axis=-1
    )
    hi = np.minimum(np.arange(n) + reach + 1, n)
    lo = np.maximum(np.arange(n) - reach, 0)
    return (padded[..., hi] - padded[..., lo]) > 0


def _count_runs(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Number of runs of ``True`` along the last axis."""
    starts = mask.copy()
    starts[..., 1:] &= ~mask[..., :-1]
    return np.count_nonzero(starts, axis=-1)


def best_z(
    smoothed_errors: ArrayLike,
    z_values: ArrayLike,
    *,
    buffer: int = 100,
    max_sequences: int = 5,
    max_anomalous_fraction: float = 0.5,
    fallback_z: float = 12.0,
) -> tuple[float, float]:
    """The ``z`` of the threshold ``mean + z std`` over one window: ``(z, objective)``.

    The objective is Hundman et al.'s (see the module docstring); a ``z`` whose anomalous points
    (widened by ``buffer``) form more than ``max_sequences`` sequences or cover at least
    ``max_anomalous_fraction`` of the window is not eligible; ties go to the larger ``z``.
    Without an eligible ``z``, ``fallback_z`` is returned with objective 0.

    >>> e = np.r_[np.full(200, 0.1), [2.0, 2.2, 2.1], np.full(200, 0.1)]
    >>> e += np.random.default_rng(0).normal(0, 0.01, e.size)
    >>> z, objective = best_z(e, np.arange(2.5, 12.0, 0.5), buffer=5)
    >>> int(np.count_nonzero(e > e.mean() + z * e.std())), objective > 0  # the 3 high points
    (3, True)
    """
    e = np.asarray(smoothed_errors, dtype=np.float64)
    z = np.asarray(z_values, dtype=np.float64)
    mean = float(e.mean())
    std = float(e.std())
    if e.size == 0 or mean == 0.0 or std == 0.0:
        return float(fallback_z), 0.0
    eps = mean + z * std  # (n_z,)
    above = e[None, :] > eps[:, None]  # (n_z, n)
    below = e[None, :] < eps[:, None]
    n_below = below.sum(axis=1)
    below_mean = (e * below).sum(axis=1) / np.maximum(n_below, 1)
    below_std = np.sqrt(
        ((e[None, :] - below_mean[:, None]) ** 2 * below).sum(axis=1) / np.maximum(n_below, 1)
    )
    widened = _dilate(above, buffer)
    n_anomalous = widened.sum(axis=1)
    n_sequences = _count_runs(widened)
    objective = ((mean - below_mean) / mean + (std - below_std) / std) / np.maximum(
        n_sequences**2 + n_anomalous, 1
    )
    eligible = (
        (n_anomalous > 0)
        & (n_sequences <= max_sequences)
        & (n_anomalous < max_anomalous_fraction * e.size)
    )
    if not eligible.any():
        return float(fallback_z), 0.0
    scores = np.where(eligible, objective, -np.inf)
    best = int(np.flatnonzero(scores == scores.max())[-1])  # ties: the larger z
    return float(z[best]), float(objective[best])


def prune_sequences(
    smoothed_errors: NDArray[np.float64],
    sequences: list[tuple[int, int]],
    min_percent_decrease: float,
    nominal_max: float | None = None,
) -> list[tuple[int, int]]:
    """Keep the sequences whose maximum stands out (Hundman et al. 2018, section 3.3).

    ``sequences`` are inclusive ranges into ``smoothed_errors``; ``nominal_max`` is the largest
    error outside them (computed when not given). Returns the kept ones in their original order.

    >>> e = np.r_[np.full(10, 0.1), 1.0, np.full(10, 0.1), 0.105, np.full(10, 0.1)]
    >>> prune_sequences(e, [(10, 10), (21, 21)], 0.13)
    [(10, 10)]
    """
    if not sequences:
        return []
    maxima = np.array([smoothed_errors[s : e + 1].max() for s, e in sequences])
    if nominal_max is None:
        inside = np.zeros(smoothed_errors.size, dtype=bool)
        for s, e in sequences:
            inside[s : e + 1] = True
        nominal_max = float(smoothed_errors[~inside].max()) if (~inside).any() else 0.0
    order = np.argsort(-maxima, kind="mergesort")
    # The nominal maximum closes the ladder, so the smallest sequence is compared with it too.
    ladder = np.r_[maxima[order], max(nominal_max, 0.0)]
    with np.errstate(divide="ignore", invalid="ignore"):
        drops = np.where(ladder[:-1] > 0, (ladder[:-1] - ladder[1:]) / ladder[:-1], 0.0)
    big = np.flatnonzero(drops >= min_percent_decrease)
    n_keep = int(big[-1]) + 1 if big.size else 0
    kept = set(order[:n_keep].tolist())
    return [seq for i, seq in enumerate(sequences) if i in kept]


@dataclass(frozen=True)
class DynamicThresholdConfig:
    """Parameters of :func:`detect_anomalies` (defaults: see the module docstring).

    Attributes:
        smoothing_span: EWMA span of the errors.
        window: length of the error history each step is judged against.
        step: points judged per step.
        z_values: candidate numbers of standard deviations above the mean.
        fallback_z: the ``z`` used when no candidate is eligible.
        max_sequences: most sequences an eligible ``z`` may produce in a window.
        max_anomalous_fraction: an eligible ``z`` marks less than this share of a window.
        min_percent_decrease: pruning parameter ``p``.
        min_error: smoothed errors at or below this (units of the values) are never anomalous.
        min_relative_error: ... nor those below this share of the values' 5-95 % range.
        buffer: points added on each side of a flagged point (joins nearby detections).
        two_sided: also look for anomalous falls of the error.
        warmup: points at the start whose smoothed error is replaced by the mean of twice as
            many (0: none).
        ignore_initial: ``(min_length, points)`` pairs, longest first: a stream of at least
            ``min_length`` points flags nothing in its first ``points``.
    """

    smoothing_span: float = 105.0
    window: int = 2100
    step: int = 70
    z_values: tuple[float, ...] = tuple(np.arange(2.5, 12.0, 0.5).tolist())
    fallback_z: float = 12.0
    max_sequences: int = 5
    max_anomalous_fraction: float = 0.5
    min_percent_decrease: float = 0.13
    min_error: float = 0.05
    min_relative_error: float = 0.05
    buffer: int = 100
    two_sided: bool = True
    warmup: int = 250
    ignore_initial: tuple[tuple[int, int], ...] = ((2500, 500), (1800, 250))

    def __post_init__(self) -> None:
        if not self.smoothing_span >= 1:
            raise InputError("smoothing_span", self.smoothing_span, "a number >= 1")
        if self.window < 2:
            raise InputError("window", self.window, "an integer >= 2")
        if not 1 <= self.step <= self.window:
            raise InputError("step", self.step, f"an integer in [1, window={self.window}]")
        if not self.z_values or min(self.z_values) <= 0:
            raise InputError("z_values", self.z_values, "a non-empty set of positive numbers")
        if not self.fallback_z > 0:
            raise InputError("fallback_z", self.fallback_z, "a number > 0")
        if self.max_sequences < 1:
            raise InputError("max_sequences", self.max_sequences, "an integer >= 1")
        if not 0 < self.max_anomalous_fraction <= 1:
            raise InputError(
                "max_anomalous_fraction", self.max_anomalous_fraction, "a number in (0, 1]"
            )
        if not 0 <= self.min_percent_decrease < 1:
            raise InputError(
                "min_percent_decrease", self.min_percent_decrease, "a number in [0, 1)"
            )
        if self.min_error < 0:
            raise InputError("min_error", self.min_error, "a number >= 0")
        if self.min_relative_error < 0:
            raise InputError("min_relative_error", self.min_relative_error, "a number >= 0")
        if self.buffer < 1:
            raise InputError("buffer", self.buffer, "an integer >= 1")
        if self.warmup < 0:
            raise InputError("warmup", self.warmup, "an integer >= 0")
        if any(points < 0 or length < 0 for length, points in self.ignore_initial):
            raise InputError(
                "ignore_initial", self.ignore_initial, "(min_length, points) pairs of integers >= 0"
            )

    def ignored_points(self, n: int) -> int:
        """How many points at the start of a stream of ``n`` points are never flagged."""
        for min_length, points in sorted(self.ignore_initial, reverse=True):
            if n >= min_length:
                return points
        return 0


@dataclass(frozen=True)
class Detection:
    """What :func:`detect_anomalies` found in one series.

    Attributes:
        smoothed: smoothed errors, shape ``(n,)``.
        threshold: the (upper) threshold each point was judged against, shape ``(n,)``.
        score: the smoothed error in standard deviations above the mean of the window that
            judged it, shape ``(n,)``; comparable across channels, usable for AUC.
        sequences: anomalous sequences, inclusive ``(start, end)`` index ranges.
        sequence_scores: score of each sequence (Hundman et al.'s ``s``).
    """

    smoothed: NDArray[np.float64]
    threshold: NDArray[np.float64]
    score: NDArray[np.float64]
    sequences: list[tuple[int, int]] = field(default_factory=list)
    sequence_scores: list[float] = field(default_factory=list)

    @property
    def mask(self) -> NDArray[np.bool_]:
        """Point-wise anomaly flags, shape ``(n,)``."""
        flags = np.zeros(self.smoothed.size, dtype=bool)
        for s, e in self.sequences:
            flags[s : e + 1] = True
        return flags


def _judge_window(
    series: NDArray[np.float64],
    eps: float,
    floor: float,
    new_from: int,
    buffer: int,
    known: NDArray[np.bool_],
    min_percent_decrease: float,
) -> NDArray[np.bool_]:
    """Flags (over the window) of the pruned anomalous sequences among its new points."""
    n = series.size
    hot = (series > eps) & (series > floor)
    flags = _dilate(hot, buffer)
    flags[:new_from] = False
    if not flags.any():
        return flags
    sequences = [(s, e) for s, e in sequences_from_mask(flags) if e > s]
    nominal = ~flags & ~known
    nominal_max = float(series[nominal].max()) if nominal.any() else 0.0
    kept = prune_sequences(series, sequences, min_percent_decrease, nominal_max)
    out = np.zeros(n, dtype=bool)
    for s, e in kept:
        out[s : e + 1] = True
    return out


def detect_anomalies(
    errors: ArrayLike,
    values: ArrayLike | None = None,
    config: DynamicThresholdConfig | None = None,
) -> Detection:
    """Flag anomalous sequences in a stream of forecast errors ``|y - y_hat|``, shape ``(n,)``.

    Args:
        errors: absolute forecast errors, shape ``(n,)``.
        values: the observed values ``y`` the errors belong to, shape ``(n,)`` (their spread
            decides when errors are negligible); without them only ``min_error`` applies.
        config: parameters (default: :class:`DynamicThresholdConfig`).

    Raises:
        InputError: ``errors`` is not a finite, non-negative one-dimensional array, or
            ``values`` does not match it.

    >>> rng = np.random.default_rng(1)
    >>> err = np.abs(rng.normal(0, 0.05, 3000))
    >>> err[1500:1530] += 1.0
    >>> det = detect_anomalies(err)
    >>> [(s <= 1530 and e >= 1500) for s, e in det.sequences]
    [True]
    """
    cfg = config or DynamicThresholdConfig()
    e = np.asarray(errors, dtype=np.float64)
    if e.ndim != 1:
        raise InputError("errors", f"array of shape {e.shape}", "a one-dimensional array")
    if e.size and (not np.isfinite(e).all() or (e < 0).any()):
        raise InputError("errors", "values with NaN, inf or negatives", "finite values >= 0")
    if values is not None:
        y = np.asarray(values, dtype=np.float64)
        if y.shape != e.shape:
            raise InputError("values", f"shape {y.shape}", f"the shape of errors {e.shape}")
    n = e.size
    smoothed = ewma(e, cfg.smoothing_span) if n else e.copy()
    if cfg.warmup and n > cfg.warmup:
        smoothed[: cfg.warmup] = smoothed[: 2 * cfg.warmup].mean()
    blind = cfg.ignored_points(n)
    threshold = np.zeros(n)
    score = np.zeros(n)
    flagged = np.zeros(n, dtype=bool)
    z = np.asarray(cfg.z_values)

    def window_z(series: NDArray[np.float64]) -> float:
        """The window's ``z`` (:func:`best_z` with the configured limits)."""
        return best_z(
            series,
            z,
            buffer=cfg.buffer,
            max_sequences=cfg.max_sequences,
            max_anomalous_fraction=cfg.max_anomalous_fraction,
            fallback_z=cfg.fallback_z,
        )[0]

    first_end = min(cfg.window, n)
    ends = [first_end, *range(first_end + cfg.step, n + cfg.step, cfg.step)] if n else []
    judged_from = 0
    for end in ends:
        end = min(end, n)
        if end <= judged_from:
            break
        start = max(0, end - cfg.window)
        window = smoothed[start:end]
        mean, std = float(window.mean()), float(window.std())
        new_from = judged_from - start
        if values is not None:
            window_values = y[start:end]
            p95, p5 = np.percentile(window_values, [95, 5])
            value_range, value_std = float(p95 - p5), float(window_values.std())
        else:
            value_range = value_std = 0.0
        z_up = window_z(window)
        eps = mean + z_up * std
        threshold[judged_from:end] = eps
        score[judged_from:end] = (window[new_from:] - mean) / max(std, 1e-12)
        negligible = (
            not (
                std > cfg.min_relative_error * value_std
                or window.max() > cfg.min_relative_error * value_range
            )
            or not window.max() > cfg.min_error
        )
        if not negligible:
            floor = cfg.min_relative_error * value_range
            known = flagged[start:end]
            sides = [window, 2.0 * mean - window] if cfg.two_sided else [window]
            for i, series in enumerate(sides):
                z_side = z_up if i == 0 else window_z(series)
                found = _judge_window(
                    series,
                    mean + z_side * std,
                    floor,
                    new_from,
                    cfg.buffer,
                    known,
                    cfg.min_percent_decrease,
                )
                flagged[start:end] |= found
        flagged[:blind] = False
        judged_from = end
    sequences = [(s, e_) for s, e_ in sequences_from_mask(flagged) if e_ > s]
    scale = float(smoothed.mean() + smoothed.std()) if n else 1.0
    seq_scores = [
        float((smoothed[s : e_ + 1].max() - threshold[s : e_ + 1].min()) / max(scale, 1e-12))
        for s, e_ in sequences
    ]
    return Detection(
        smoothed=smoothed,
        threshold=threshold,
        score=score,
        sequences=sequences,
        sequence_scores=seq_scores,
    )


def quantile_threshold(
    nominal_errors: ArrayLike, quantile: float = 0.999, margin: float = 1.0
) -> float:
    """A threshold from errors on nominal data: ``margin`` times their ``quantile``.

    >>> quantile_threshold(np.arange(1001.0), 0.99)
    990.0
    """
    e = np.asarray(nominal_errors, dtype=np.float64).ravel()
    if e.size == 0:
        raise InputError("nominal_errors", "an empty array", "at least one error value")
    if not 0 < quantile <= 1:
        raise InputError("quantile", quantile, "a number in (0, 1]")
    if not margin > 0:
        raise InputError("margin", margin, "a number > 0")
    return float(margin * np.quantile(e, quantile))
