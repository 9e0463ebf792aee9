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

The anomaly lies in the judged part of the stretch (after ``judged_from``, not in its first
fifth) and lasts at most a third of it. Only column 0 (the telemetry value) changes; the
command columns are left as they were.
"""

from __future__ import annotations

import zlib

import numpy as np
from numpy.typing import NDArray

from orbitlearn.errors import InputError

__all__ = ["SYNTHETIC_KINDS", "inject_anomaly", "stable_seed"]

#: Kinds :func:`inject_anomaly` knows.
SYNTHETIC_KINDS = ("shift", "spike", "noise", "stuck")


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
        kind: one of :data:`SYNTHETIC_KINDS`.
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
    if kind not in SYNTHETIC_KINDS:
        raise InputError("kind", kind, f"one of {', '.join(SYNTHETIC_KINDS)}")
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
    else:
        out[segment, 0] = series[start - 1, 0]
    return out, (start, end)
