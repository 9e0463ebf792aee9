"""Anomalies injected into nominal telemetry for model selection."""

from __future__ import annotations

import numpy as np
import pytest

from orbitlearn.errors import InputError
from orbitlearn.workloads.synthetic_anomalies import (
    ALL_KINDS,
    CONTEXTUAL_KINDS,
    inject_anomaly,
    stable_seed,
)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_each_kind_changes_only_its_stretch_of_the_value(kind: str) -> None:
    rng = np.random.default_rng(3)
    series = np.zeros((600, 3), np.float32)
    series[:, 0] = np.sin(np.arange(600) / 7.0)
    series[::40, 1] = 1.0
    out, (start, end) = inject_anomaly(series, kind, rng, judged_from=200, amplitude=0.5)
    assert 200 + 400 // 5 <= start <= end < 600
    assert end - start + 1 <= 400 // 3
    np.testing.assert_array_equal(out[:, 1:], series[:, 1:])  # commands untouched
    changed = np.flatnonzero(out[:, 0] != series[:, 0])
    assert changed.size > 0 and changed.min() >= start and changed.max() <= end
    inside = out[start : end + 1, 0] - series[start : end + 1, 0]
    if kind == "shift":
        np.testing.assert_allclose(np.abs(inside), 0.5, rtol=1e-5)
    elif kind == "spike":
        np.testing.assert_allclose(np.abs(inside), 1.0, rtol=1e-5)
        assert end - start + 1 < 25
    elif kind == "noise":  # zero-mean noise of standard deviation 0.6 x amplitude, >= 40 points
        assert end - start + 1 >= 40
        assert np.std(inside) == pytest.approx(0.3, rel=0.35)
        assert abs(np.mean(inside)) < 3 * 0.3 / np.sqrt(inside.size)
    elif kind == "stuck":
        assert np.all(out[start : end + 1, 0] == series[start - 1, 0])
    elif kind == "subtle":
        np.testing.assert_allclose(np.abs(inside), 0.125, rtol=1e-5)
    elif kind == "warp":  # the first half replayed at half speed
        half = (end - start) // 2
        np.testing.assert_allclose(
            out[start : end + 1 : 2, 0], series[start : start + half + 1, 0], atol=1e-6
        )
    elif kind == "transplant":  # an equally long earlier stretch, verbatim
        size = end + 1 - start
        donors = [
            d
            for d in range(start - size + 1)
            if np.array_equal(out[start : end + 1, 0], series[d : d + size, 0])
        ]
        assert donors
    elif kind == "reverse":
        np.testing.assert_array_equal(out[start : end + 1, 0], series[start : end + 1, 0][::-1])


@pytest.mark.parametrize("kind", CONTEXTUAL_KINDS)
def test_contextual_kinds_stay_inside_the_known_range(kind: str) -> None:
    rng = np.random.default_rng(5)
    series = np.zeros((900, 1), np.float32)
    series[:, 0] = np.sin(np.arange(900) / 9.0)  # range [-1, 1]
    for _ in range(20):
        out, (start, end) = inject_anomaly(series, kind, rng, judged_from=250, amplitude=0.5)
        inside = out[start : end + 1, 0]
        slack = 0.125 if kind == "subtle" else 1e-6  # subtle: an eighth of the range
        assert inside.min() >= -1 - slack and inside.max() <= 1 + slack


def test_bad_arguments() -> None:
    series = np.zeros((100, 1), np.float32)
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="Expected `kind` to be one of shift, spike, noise"):
        inject_anomaly(series, "drift", rng, judged_from=10, amplitude=1.0)
    with pytest.raises(InputError, match="Expected `amplitude` to be a number > 0"):
        inject_anomaly(series, "shift", rng, judged_from=10, amplitude=0.0)
    with pytest.raises(InputError, match="leaving at least 15 of the 100 points judged"):
        inject_anomaly(series, "shift", rng, judged_from=90, amplitude=1.0)


def test_stable_seed_does_not_depend_on_the_process() -> None:
    assert stable_seed("T-9", "synthetic") == 174_455_374  # zlib.crc32(b"T-9/synthetic")
