"""Labelled anomalies injected into nominal telemetry, for model selection without test labels.

A telemanom-layout training series is nominal telemetry: a detector tuned on it alone can only
be told to raise no false alarms. To compare detectors on what they are for, finding
anomalies, :func:`inject_anomaly` writes one anomaly of a known kind and place into a copy of
a held-out stretch of the training series; a detector that flags a sequence overlapping it has
found it (event-wise, as telemanom scores). The kinds follow the anomaly classes of Hundman et
al. (KDD 2018), point and contextual anomalies:

- ``shift``: the value moves by ``amplitude`` (up or down) for 40-159 points (contextual);
- ``spike``: it jumps by twice ``amplitude`` for 10-24 points (point);
- ``noise``: normal noise of standard deviation 0.6 ``amplitude`` is added for 40-159 points;
- ``stuck``: the value freezes at the one before the anomaly for 40-159 points.

Those four move the value by a quarter of the channel's range or change its texture; a
detector of values never seen in training finds most of them. Contextual anomalies in real
telemetry often stay inside the range the channel knows, so :data:`CONTEXTUAL_KINDS` keep the
values there and change only their timing or shape (40-159 points each):

- ``subtle``: the value moves by a quarter of ``amplitude`` (about 6 % of the range);
- ``warp``: the stretch replays its first half at half speed (right values, wrong dynamics);
- ``transplant``: the stretch is replaced by an equally long earlier stretch of the same
  series (values the channel shows, at the wrong time);
- ``reverse``: the stretch plays backwards (a rise becomes a fall, the values unchanged).

The anomaly lies in the judged part of the stretch (after ``judged_from``, not in its first
fifth) and lasts at most a third of it. Only column 0 (the telemetry value) changes; the
command columns are left as they were.
"""

from __future__ import annotations

import zlib

import numpy as np
from numpy.typing import NDArray

from orbitlearn.errors import InputError

__all__ = ["ALL_KINDS", "CONTEXTUAL_KINDS", "SYNTHETIC_KINDS", "inject_anomaly", "stable_seed"]

#: The kinds of the model-selection stages 4-8 (bench/health_selection.py): point-like and
#: level anomalies.
SYNTHETIC_KINDS = ("shift", "spike", "noise", "stuck")
#: Anomalies that keep the values inside the range the channel knows.
CONTEXTUAL_KINDS = ("subtle", "warp", "transplant", "reverse")
#: Every kind :func:`inject_anomaly` knows.
ALL_KINDS = SYNTHETIC_KINDS + CONTEXTUAL_KINDS


def stable_seed(*parts: str | int) -> int:
    """A seed from names and numbers that is the same in every process (unlike ``hash``).

    >>> stable_seed("T-9", 0) == stable_seed("T-9", 0), stable_seed("T-9", 0) == stable_seed("T-9", 1)
    (True, False)
    """
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def inject_anomaly(
    series: NDArray[np.float32],
    kind: str,
    rng: np.random.Generator,
    *,
    judged_from: int,
    amplitude: float,
) -> tuple[NDArray[np.float32], tuple[int, int]]:
    """A copy of ``series`` ``(time, dims)`` with one anomaly of ``kind`` in column 0.

    Args:
        series: nominal telemetry, shape ``(time, dims)``.
        kind: one of :data:`ALL_KINDS`.
        rng: draws the place, length and sign.
        judged_from: the first index a detector judges (the points before are the forecaster's
            history); the anomaly starts after the first fifth of the judged part.
        amplitude: size of the change, in units of the values.

    Returns:
        ``(copy, (start, end))``: the series with the anomaly and its inclusive index range.

    Raises:
        InputError: an unknown kind, a non-positive amplitude, or fewer than 15 judged points.

    >>> s = np.zeros((300, 2), np.float32)
    >>> out, (start, end) = inject_anomaly(s, "shift", np.random.default_rng(0),
    ...                                    judged_from=100, amplitude=0.5)
    >>> 140 <= start <= end < 300, bool(np.all(np.abs(out[start : end + 1, 0]) == 0.5))
    (True, True)
    """
    if kind not in ALL_KINDS:
        raise InputError("kind", kind, f"one of {', '.join(ALL_KINDS)}")
    if not amplitude > 0:
        raise InputError("amplitude", amplitude, "a number > 0")
    n = int(series.shape[0])
    judged = n - int(judged_from)
    if judged_from < 0 or judged < 15:
        raise InputError(
            "judged_from", judged_from, f"an index leaving at least 15 of the {n} points judged"
        )
    length = int(rng.integers(10, 25)) if kind == "spike" else int(rng.integers(40, 160))
    length = max(min(length, judged // 3), 5)
    first = judged_from + judged // 5
    start = int(rng.integers(first, max(n - length, first + 1)))
    end = min(start + length, n) - 1
    out = series.copy()
    segment = slice(start, end + 1)
    sign = float(rng.choice([-1.0, 1.0]))
    if kind == "shift":
        out[segment, 0] += sign * amplitude
    elif kind == "spike":
        out[segment, 0] += sign * 2.0 * amplitude
    elif kind == "noise":
        out[segment, 0] += rng.normal(0.0, 0.6 * amplitude, end + 1 - start).astype(out.dtype)
    elif kind == "stuck":
        out[segment, 0] = series[start - 1, 0]
    elif kind == "subtle":
        out[segment, 0] += sign * 0.25 * amplitude
    elif kind == "warp":
        size = end + 1 - start
        slow = np.linspace(0.0, (size - 1) / 2.0, size)
        out[segment, 0] = np.interp(slow, np.arange(size), series[segment, 0])
    elif kind == "transplant":
        size = end + 1 - start
        donor = int(rng.integers(0, max(start - size, 0) + 1))
        out[segment, 0] = series[donor : donor + size, 0]
    else:  # reverse
        out[segment, 0] = series[segment, 0][::-1]
    return out, (start, end)
