"""``health``: spacecraft health monitoring on telemetry simulated from the mission timeline.

What the satellites of the default mission learn: to tell whether a stretch of their own
housekeeping telemetry (:mod:`orbitlearn.workloads.telemetry_sim`) holds an anomaly.

**Samples.** A window of ``window_s`` seconds (20 min = 40 samples at 30 s) of one satellite's
telemetry becomes one feature vector (:func:`window_features`); its label is 1 when any sample
in it is corrupted by an injected anomaly. Each satellite's shard holds
``samples_per_satellite`` windows spread evenly (overlapping) over *its own* telemetry, so the
shards differ as the orbits and the anomaly mixes do (non-IID).

**Features** (123, :func:`feature_names`): the ten telemetry channels plus three
analytical-redundancy residuals that an onboard FDIR computes from the same readings,

* ``voltage_residual_v = V - (n_series * OCV(SoC) + I_batt * R(T_batt))`` (battery model, the
  internal resistance at the battery's measured temperature,
  :func:`~orbitlearn.workloads.telemetry_sim.battery_resistance_ohm`),
* ``current_residual_a = I_solar - I_batt - I_radio - (I_payload * 5 V + P_bus) / V`` (bus
  current balance with the nominal bus load),
* ``payload_residual_a = I_payload - P_mode / 5 V`` (the payload's current against its
  commanded mode's nominal power: what an overcurrent monitor compares),

and per channel (:data:`FEATURES`): mean, standard deviation, minimum, maximum, change over the
window (least-squares slope x duration), largest step between samples, largest single-sample
outlier (distance to the median of three), share of missing samples and longest run of identical
readings; statistics use the valid samples only. Three summaries over the sensor channels
follow (:data:`SUMMARY_FEATURES`: the largest missing share, repeat run and outlier), so a kind
of fault seen on one channel is recognised on another. Last, the **thermal deviation** of each
temperature (:data:`THERMAL_FEATURES`): the satellite's thermal model
(:func:`~orbitlearn.workloads.telemetry_sim.thermal_equilibrium_c`, first-order lags) driven by
the readings (sunlight from the array current, heat from the measured loads) and run from the
window's first reading; the least-squares change of (reading - model) over the window, in units
of the sensor noise, asinh-compressed. A temperature sensor that drifts moves away from the
model steadily, while the temperature itself follows sunlight and load (without it, drifting
temperature sensors were the most missed anomalies: 15 of 27 missed drift windows in the
six-satellite benchmark were on temperatures).
**Scaling is fixed and physical** (no statistics of any data set): levels as
``(x - centre) / span``, dispersions as ``log10(x / noise_sigma + 0.1)``, with the constants of
:func:`~orbitlearn.workloads.telemetry_sim.channel_specs` (they follow the satellite's power
system). Every satellite and the ground apply exactly the same transform.

**Held-out set (the ground's).** Telemetry of every satellite simulated from the *same timeline*
with other random realisations (``realisation=1, 2, ...``: other noise, other anomalies at other
times), cut into half-overlapping windows (at most ``test_windows_per_satellite`` per satellite
and realisation, evenly spaced). No training window is drawn from it. A small constellation
over a short time holds few anomalies of the rarer kinds (six satellites over two days drew one
``stuck`` sensor in realisation 1, so its per-kind F1 rested on 11 windows): by default as many
realisations are taken (at most 4) as give 48 satellite-days of held-out telemetry; the default
mission (24 satellites, 3 days) keeps one. The share of anomalous windows is the same in every
realisation (same rates), so more realisations measure the same F1 more precisely.

**Model and metric.** :class:`~orbitlearn.workloads.models.EnsembleMLP` (by default one MLP
``123 -> 32 -> 32 -> 16 -> 1``, 5 569 parameters; binary cross-entropy); the metric is F1 of the anomalous class at
probability 0.5 on the held-out windows. :meth:`HealthWorkload.per_kind_f1` scores each anomaly
kind against the normal windows.

>>> from orbitlearn.space.walker import walker_constellation
>>> from orbitlearn.space.timeline import Timeline
>>> c = walker_constellation(2, 2, 1, altitude_m=550e3, inclination_deg=53.0,
...                          epoch_unix_s=1767225600.0)
>>> tl = Timeline.build(c, [], 1767225600.0, 6 * 3600.0, step_s=30.0, power="6u")
>>> w = HealthWorkload(tl, samples_per_satellite=64, seed=0)
>>> x, y = w.shard(1)
>>> x.shape, x.dtype.name, y.dtype.name
((64, 123), 'float32', 'int64')
>>> 0.0 <= w.evaluate(w.model_factory(0)) <= 1.0
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from orbitlearn.errors import InputError, check_int
from orbitlearn.workloads.base import LossFn, Metric, ModelFactory, Samples, Workload
from orbitlearn.workloads.metrics import auc_pr, auc_roc, binary_scores, f_beta
from orbitlearn.workloads.models import (
    EnsembleMLPFactory,
    ensemble_bce_loss,
    ensemble_probability,
    parameter_count,
)
from orbitlearn.workloads.telemetry_sim import (
    ANOMALY_KINDS,
    CHANNELS,
    MODE_TRAINING,
    Telemetry,
    TelemetryConfig,
    battery_resistance_ohm,
    channel_specs,
    open_circuit_voltage_v,
    simulate_telemetry,
    thermal_equilibrium_c,
)

if TYPE_CHECKING:
    from orbitlearn.space.power import PowerSystem
    from orbitlearn.space.timeline import Timeline

__all__ = [
    "DERIVED_CHANNELS",
    "FEATURES",
    "SUMMARY_FEATURES",
    "THERMAL_CHANNELS",
    "THERMAL_FEATURES",
    "FeatureScaling",
    "HealthWorkload",
    "WindowSet",
    "feature_names",
    "series_features",
    "telemetry_windows",
    "window_features",
]

#: Residual channels computed from the readings (see the module docstring).
DERIVED_CHANNELS: tuple[str, ...] = (
    "voltage_residual_v",
    "current_residual_a",
    "payload_residual_a",
)
#: Features over all sensor channels: the largest missing share, repeat run and outlier.
SUMMARY_FEATURES: tuple[str, ...] = ("any:missing", "any:longest_repeat", "any:max_outlier")
#: Temperature channels checked against the thermal model, in order (see
#: :data:`THERMAL_FEATURES`).
THERMAL_CHANNELS: tuple[str, ...] = ("panel_temp_c", "battery_temp_c", "payload_temp_c")
#: How far each temperature moved away from the thermal model over the window.
THERMAL_FEATURES: tuple[str, ...] = tuple(f"{c}:thermal_deviation" for c in THERMAL_CHANNELS)
#: Statistics of each channel in a window, in feature order.
FEATURES: tuple[str, ...] = (
    "mean",
    "std",
    "min",
    "max",
    "change",
    "max_step",
    "max_outlier",
    "missing",
    "longest_repeat",
)
_PAYLOAD_RAIL_V = 5.0
_MODE_INDEX = CHANNELS.index("payload_mode")
_THERMAL_INPUTS = ("battery_voltage_v", "battery_current_a", "solar_current_a", "payload_current_a")
_BLOCK_SATS = 64  # satellites simulated at once (bounds the telemetry held in memory)
# Held-out telemetry wanted by default, satellite-days: at the default rates a kind as rare as
# ``stuck`` (1.2 a day) then has some 60 events (a few hundred windows) to be scored on.
_HELD_OUT_SATELLITE_DAYS = 48.0
_MAX_TEST_REALISATIONS = 4


def feature_names() -> tuple[str, ...]:
    """``channel:statistic`` of every feature, in order.

    >>> names = feature_names()
    >>> names[:2], names[-1], len(names)
    (('battery_voltage_v:mean', 'battery_voltage_v:std'), 'payload_temp_c:thermal_deviation', 123)
    """
    per_channel = tuple(f"{c}:{f}" for c in (*CHANNELS, *DERIVED_CHANNELS) for f in FEATURES)
    return per_channel + SUMMARY_FEATURES + THERMAL_FEATURES


@dataclass(frozen=True)
class FeatureScaling:
    """The fixed physical constants of the feature transform.

    Attributes:
        centre, span, noise_sigma: level offset, level scale and dispersion scale per channel
            (:data:`CHANNELS` then :data:`DERIVED_CHANNELS`).
        cells_in_series, resistance_ohm: battery model of the voltage residual.
        bus_w: nominal bus load of the current residual, watts.
        standby_w, training_w: the payload's nominal power per mode (payload residual), watts.
        thermal_decay: per-sample decay ``exp(-period / tau)`` of each thermal lag
            (:data:`THERMAL_CHANNELS` order), ``(3,)``.
    """

    centre: NDArray[np.float64]
    span: NDArray[np.float64]
    noise_sigma: NDArray[np.float64]
    cells_in_series: int
    resistance_ohm: float
    bus_w: float
    standby_w: float
    training_w: float
    thermal_decay: NDArray[np.float64]

    @classmethod
    def for_power(cls, power: PowerSystem, config: TelemetryConfig | None = None) -> FeatureScaling:
        """The constants for a satellite with power system ``power``."""
        cfg = config or TelemetryConfig()
        specs = channel_specs(power, cfg)
        n_series = cfg.series_cells(power)
        ibat = specs["battery_current_a"]
        volt = specs["battery_voltage_v"]
        ipay = specs["payload_current_a"]
        training_w = float(power.loads.compute_w)
        # Residual noise: the readings' noise through the residual formulas plus what the
        # formulas leave out (the fuel gauge's noise through the OCV curve, bus-load and
        # training-power variation), rounded up.
        jitter_a = cfg.payload_variation * training_w / _PAYLOAD_RAIL_V
        derived = [
            (0.0, n_series * 0.05, 2.0 * volt.noise_sigma + n_series * 0.002),
            (0.0, ibat.span * 0.2, 4.0 * ibat.noise_sigma),
            (0.0, ipay.span * 0.5, 2.0 * ipay.noise_sigma + jitter_a),
        ]
        centre = [specs[c].centre for c in CHANNELS] + [d[0] for d in derived]
        span = [specs[c].span for c in CHANNELS] + [d[1] for d in derived]
        sigma = [specs[c].noise_sigma for c in CHANNELS] + [d[2] for d in derived]
        sigma[CHANNELS.index("payload_mode")] = 0.01  # a status word: no noise
        return cls(
            centre=np.asarray(centre),
            span=np.asarray(span),
            noise_sigma=np.asarray(sigma),
            cells_in_series=n_series,
            resistance_ohm=cfg.pack_resistance_ohm(power),
            bus_w=float(power.loads.bus_idle_w),
            standby_w=cfg.payload_standby_fraction * training_w,
            training_w=training_w,
            thermal_decay=np.exp(
                -cfg.sample_period_s
                / np.array([cfg.panel_tau_s, cfg.battery_tau_s, cfg.payload_tau_s])
            ),
        )


def _with_residuals(x: NDArray[Any], scaling: FeatureScaling) -> NDArray[np.float64]:
    """Append the residual channels to readings ``(..., 10)`` -> ``(..., 13)``."""
    x = np.asarray(x, dtype=np.float64)
    volt, ibat, soc, isolar, ipay, iradio = (x[..., i] for i in range(6))
    mode = x[..., CHANNELS.index("payload_mode")]
    ocv = open_circuit_voltage_v(np.nan_to_num(soc, nan=0.0), scaling.cells_in_series)
    ocv = np.where(np.isnan(soc), np.nan, ocv)
    battery_temp_c = x[..., CHANNELS.index("battery_temp_c")]
    resistance = battery_resistance_ohm(scaling.resistance_ohm, np.nan_to_num(battery_temp_c))
    resistance = np.where(np.isnan(battery_temp_c), np.nan, resistance)
    v_res = volt - (ocv + ibat * resistance)
    with np.errstate(divide="ignore", invalid="ignore"):
        bus_a = (ipay * _PAYLOAD_RAIL_V + scaling.bus_w) / volt
        i_res = isolar - ibat - iradio - bus_a
    i_res = np.where(np.isfinite(i_res), i_res, np.nan)
    expected_w = np.where(mode >= MODE_TRAINING, scaling.training_w, scaling.standby_w)
    p_res = ipay - expected_w / _PAYLOAD_RAIL_V
    return np.concatenate([x, v_res[..., None], i_res[..., None], p_res[..., None]], axis=-1)


def _thermal_step_residual(x: NDArray[Any], scaling: FeatureScaling) -> NDArray[np.float64]:
    """One-step residuals of the thermal model, per pair of samples ``(i, i + 1)``.

    ``r_i = T_{i+1} - a T_i - (1 - a) T_eq(i)`` with ``a`` the lag's per-sample decay and the
    equilibrium :func:`~orbitlearn.workloads.telemetry_sim.thermal_equilibrium_c` driven by the
    readings at sample ``i``: sunlight taken as "the array delivers more than half the idle
    bus load" (``I_solar V``), the heat in the battery as the whole load above idle
    (``V (I_solar - I_batt)``), the payload's power as ``5 V * I_payload``. Summed over a
    window, the readings' noise telescopes away and what is left is how far the temperature
    moved away from the model (a drifting sensor moves away steadily).

    Args:
        x: readings ``(n_times, 10)``.

    Returns:
        ``(3, n_times - 1)`` in :data:`THERMAL_CHANNELS` order; NaN where an input is missing.
    """
    x = np.asarray(x, dtype=np.float64)
    volt, ibat, isolar, ipay = (x[:, CHANNELS.index(c)] for c in _THERMAL_INPUTS)
    with np.errstate(invalid="ignore"):
        sunlit = (isolar * volt > 0.5 * scaling.bus_w).astype(np.float64)
    sunlit = np.where(np.isfinite(isolar * volt), sunlit, np.nan)
    load_w = volt * (isolar - ibat)
    equilibria = np.stack(
        thermal_equilibrium_c(sunlit, load_w - scaling.bus_w, ipay * _PAYLOAD_RAIL_V)
    )  # (3, n_times)
    temps = np.stack([x[:, CHANNELS.index(c)] for c in THERMAL_CHANNELS])
    decay = scaling.thermal_decay[:, None]
    return temps[:, 1:] - decay * temps[:, :-1] - (1.0 - decay) * equilibria[:, :-1]


def window_features(windows: NDArray[Any], scaling: FeatureScaling) -> NDArray[np.float32]:
    """Scaled feature vectors of telemetry windows.

    Args:
        windows: readings ``(n_windows, n_samples, 10)`` in :data:`CHANNELS` order (NaN where
            missing), ``n_samples >= 3``.
        scaling: the fixed constants (:meth:`FeatureScaling.for_power`).

    Returns:
        ``(n_windows, len(feature_names()))`` float32: channel-major statistics, then the
        summaries over channels (:func:`feature_names`).

    Raises:
        InputError: wrong shape.
    """
    w = np.asarray(windows)
    if w.ndim != 3 or w.shape[2] != len(CHANNELS) or w.shape[1] < 3:
        raise InputError(
            "windows",
            f"shape {w.shape}",
            f"(n_windows, n_samples >= 3, {len(CHANNELS)}) telemetry readings",
        )
    n, length, _ = w.shape
    # Windows laid end to end: no statistic of a window reads a sample outside it.
    starts = np.arange(n, dtype=np.int64) * length
    return series_features(w.reshape(n * length, -1), starts, length, scaling)


def _window_sum(
    values: NDArray[np.float64], lo: NDArray[np.int64], hi: NDArray[np.int64]
) -> NDArray[np.float64]:
    """``values[:, lo:hi].sum(axis=1)`` for every window, shape ``(channels, n)``."""
    running = np.zeros((values.shape[0], values.shape[1] + 1))
    np.cumsum(values, axis=1, out=running[:, 1:])
    return running[:, hi] - running[:, lo]


def _window_reduce(
    values: NDArray[np.float64],
    lo: NDArray[np.int64],
    hi: NDArray[np.int64],
    op: np.ufunc,
) -> NDArray[np.float64]:
    """``op.reduce(values[:, lo:hi], axis=1)`` for every (non-empty) window: a sparse table of
    ``op`` over power-of-two spans answers each window with two look-ups."""
    width = hi - lo
    levels = int(np.log2(max(int(width.max()), 1))) + 1
    table = [values]
    for j in range(1, levels):
        prev, half = table[-1], 1 << (j - 1)
        table.append(op(prev[:, :-half], prev[:, half:]))
    j = np.floor(np.log2(np.maximum(width, 1))).astype(np.int64)
    out = np.empty((values.shape[0], lo.size))
    for level in np.unique(j):
        rows = np.flatnonzero(j == level)
        tab = table[level]
        out[:, rows] = op(tab[:, lo[rows]], tab[:, hi[rows] - (1 << level)])
    return out


def _longest_run(
    flags: NDArray[np.bool_], lo: NDArray[np.int64], hi: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Longest run of ``True`` in ``flags[:, lo:hi]`` for every window, ``(channels, n)``.

    The run that a window opens with is cut at the window's first ``False`` (``f``); every
    later run starts inside the window, so the run length ending at each sample (which restarts
    after each ``False``) is exact from ``f`` on, and its window maximum comes from a sparse
    table.
    """
    n_ch, n = flags.shape
    idx = np.arange(n)
    last_false = np.maximum.accumulate(np.where(flags, -1, idx), axis=1)
    run = np.where(flags, idx - last_false, 0).astype(np.float64)
    next_false = np.minimum.accumulate(np.where(flags, n, idx)[:, ::-1], axis=1)[:, ::-1]
    next_false = np.concatenate([next_false, np.full((n_ch, 1), n)], axis=1)
    first_false = np.minimum(next_false[:, lo], hi)  # (channels, windows)
    opening = first_false - lo
    result = opening.astype(np.float64)
    for ch in range(n_ch):  # one pass per channel (13), vectorised over windows
        start = first_false[ch]
        has_rest = start < hi
        if has_rest.any():
            rest = _window_reduce(run[ch : ch + 1], start[has_rest], hi[has_rest], np.maximum)
            result[ch, has_rest] = np.maximum(result[ch, has_rest], rest[0])
    return result


def series_features(
    series: NDArray[Any], starts: NDArray[np.int64], length: int, scaling: FeatureScaling
) -> NDArray[np.float32]:
    """Feature vectors of the windows ``series[s : s + length]`` for each ``s`` in ``starts``.

    The per-sample quantities (residual channels, steps, outliers, repeats) are computed once on
    the series, so overlapping windows cost little more than their reductions.

    Args:
        series: one satellite's readings ``(n_times, 10)`` (NaN where missing).
        starts: first sample of each window, ``(n,)``, with ``s + length <= n_times``.
        length: samples per window (>= 3).
        scaling: the fixed constants.

    Returns:
        ``(n, len(feature_names()))`` float32, as :func:`window_features`.

    Raises:
        InputError: a window outside the series or a length below 3.
    """
    first = np.asarray(starts, dtype=np.int64).reshape(-1)
    n_times = int(series.shape[0])
    if length < 3 or (first.size and (first.min() < 0 or first.max() + length > n_times)):
        raise InputError(
            "starts, length",
            f"windows of {length} samples from {first.min() if first.size else '-'} to "
            f"{first.max() + length if first.size else '-'}",
            f"windows of at least 3 samples inside the series (0 to {n_times})",
        )
    aug = np.ascontiguousarray(_with_residuals(series, scaling).T)  # (channels, n_times)
    centre = scaling.centre[:, None]
    valid = np.isfinite(aug)
    values = np.where(valid, aug - centre, 0.0)  # centred: keeps the running sums small
    last = first + length  # one past each window's last sample

    # Sums over each window from running sums: count, sum, squares, time-weighted sum.
    k = np.arange(n_times, dtype=np.float64)
    count = _window_sum(valid.astype(np.float64), first, last)
    total = _window_sum(values, first, last)
    squares = _window_sum(values * values, first, last)
    weighted = _window_sum(values * k, first, last)
    safe = np.maximum(count, 1.0)
    mean_c = total / safe  # centred mean
    std = np.sqrt(np.maximum(squares / safe - mean_c**2, 0.0))
    # Least-squares change over the window. With every sample valid the time sums are exact;
    # windows with missing samples are fitted on their own valid samples.
    t_mid = first + (length - 1) / 2.0
    sxy = weighted - t_mid * total
    sxx = np.full(count.shape, length * (length**2 - 1) / 12.0)
    gaps = np.flatnonzero((count < length).any(axis=0))
    if gaps.size:
        index = first[gaps, None] + np.arange(length)  # (g, length)
        ok = valid[:, index]
        t = np.where(ok, np.arange(length, dtype=np.float64), 0.0)
        t_mean = t.sum(axis=2) / np.maximum(ok.sum(axis=2), 1)
        dt = np.where(ok, t - t_mean[:, :, None], 0.0)
        sxy[:, gaps] = (dt * values[:, index]).sum(axis=2)
        sxx[:, gaps] = (dt * dt).sum(axis=2)
    change = np.where(sxx > 1e-9, sxy / np.maximum(sxx, 1e-9), 0.0) * (length - 1)
    low = _window_reduce(np.where(valid, values, np.inf), first, last, np.minimum)
    high = _window_reduce(np.where(valid, values, -np.inf), first, last, np.maximum)
    empty = count == 0
    mean = np.where(empty, centre, mean_c + centre)
    low = np.where(empty, centre, low + centre)
    high = np.where(empty, centre, high + centre)

    # Per-sample quantities; a step or outlier touching a missing sample counts as 0.
    pair_ok = valid[:, 1:] & valid[:, :-1]
    step_s = np.where(pair_ok, np.abs(np.diff(values, axis=1)), 0.0)
    a, b, c = values[:, :-2], values[:, 1:-1], values[:, 2:]
    median = a + b + c - np.maximum(np.maximum(a, b), c) - np.minimum(np.minimum(a, b), c)
    outlier_s = np.where(pair_ok[:, 1:] & pair_ok[:, :-1], np.abs(b - median), 0.0)
    step = _window_reduce(step_s, first, last - 1, np.maximum)  # pairs (i, i+1) inside
    outlier = _window_reduce(outlier_s, first, last - 2, np.maximum)  # centres inside
    missing = 1.0 - count / length
    repeat = _longest_run(pair_ok & (aug[:, 1:] == aug[:, :-1]), first, last - 1) / (length - 1)

    span, sigma = scaling.span[:, None], scaling.noise_sigma[:, None]

    def level(v: NDArray[np.float64]) -> NDArray[np.float64]:
        return (v - centre) / span

    def dispersion(v: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.log10(v / sigma + 0.1)

    outlier_scaled = dispersion(outlier)
    stats = [
        level(mean),
        dispersion(std),
        level(low),
        level(high),
        change / span,
        dispersion(step),
        outlier_scaled,
        missing,
        repeat,
    ]
    per_channel = np.stack(stats, axis=2).transpose(1, 0, 2).reshape(first.size, -1)
    sensors = [i for i in range(aug.shape[0]) if i != _MODE_INDEX]
    summary = np.stack(
        [
            missing[sensors].max(axis=0),
            repeat[sensors].max(axis=0),
            outlier_scaled[sensors].max(axis=0),
        ],
        axis=1,
    )
    # Thermal deviation: how far each temperature moved away from the thermal model over the
    # window. Inside a window, the model run from the first reading misses the k-th reading by
    # the sum of the one-step residuals before it (a missing one counts 0), i.e. by
    # ``path[s + k] - path[s]``; the least-squares slope of that miss times the window's
    # duration uses every reading (the readings' noise enters once, not through two end
    # points). In units of the sensor noise, asinh-compressed.
    thermal = _thermal_step_residual(series, scaling)
    path = np.zeros((thermal.shape[0], n_times))
    np.cumsum(np.where(np.isfinite(thermal), thermal, 0.0), axis=1, out=path[:, 1:])
    path_sum = _window_sum(path, first, last)
    path_sxy = _window_sum(path * k, first, last) - t_mid * path_sum
    moved = path_sxy / (length * (length**2 - 1) / 12.0) * (length - 1)
    thermal_sigma = scaling.noise_sigma[[CHANNELS.index(c) for c in THERMAL_CHANNELS], None]
    deviation = np.arcsinh(moved / thermal_sigma).T
    features = np.concatenate([per_channel, summary, deviation], axis=1)
    return np.clip(features, -50.0, 50.0).astype(np.float32)


@dataclass(frozen=True)
class WindowSet:
    """Labelled feature windows.

    Attributes:
        features: ``(n, n_features)`` float32.
        labels: 1 where the window holds an anomaly, ``(n,)`` int64.
        kinds: bit ``k`` set where it holds anomaly kind ``k`` (:data:`ANOMALY_KINDS`), uint8.
        satellite: timeline index of the satellite, ``(n,)`` int64.
        start_index: first telemetry sample of the window, ``(n,)`` int64.
    """

    features: NDArray[np.float32]
    labels: NDArray[np.int64]
    kinds: NDArray[np.uint8]
    satellite: NDArray[np.int64]
    start_index: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @classmethod
    def concatenate(cls, parts: Sequence[WindowSet]) -> WindowSet:
        return cls(
            features=np.concatenate([p.features for p in parts]),
            labels=np.concatenate([p.labels for p in parts]),
            kinds=np.concatenate([p.kinds for p in parts]),
            satellite=np.concatenate([p.satellite for p in parts]),
            start_index=np.concatenate([p.start_index for p in parts]),
        )

    def kind_counts(self) -> dict[str, int]:
        """Windows holding each anomaly kind."""
        return {
            kind: int(np.count_nonzero(self.kinds & (1 << k)))
            for k, kind in enumerate(ANOMALY_KINDS)
        }


def telemetry_windows(
    telemetry: Telemetry,
    starts: Sequence[NDArray[np.int64]] | NDArray[np.int64],
    window_samples: int,
    scaling: FeatureScaling,
) -> WindowSet:
    """Cut windows starting at ``starts[row]`` from each satellite row and featurise them.

    Args:
        telemetry: the telemetry.
        starts: per satellite row, the first sample of each window (``(n_sats, n)`` or a list).
        window_samples: samples per window (>= 3).
        scaling: the feature constants.
    """
    parts = []
    offsets = np.arange(window_samples)
    for row, first in enumerate(starts):
        first = np.asarray(first, dtype=np.int64)
        index = first[:, None] + offsets
        kinds = np.bitwise_or.reduce(telemetry.kind_mask[row][index], axis=1)
        parts.append(
            WindowSet(
                features=series_features(telemetry.values[row], first, window_samples, scaling),
                labels=telemetry.labels[row][index].any(axis=1).astype(np.int64),
                kinds=kinds.astype(np.uint8),
                satellite=np.full(first.size, telemetry.satellites[row], dtype=np.int64),
                start_index=first,
            )
        )
    return WindowSet.concatenate(parts)


def _positive_int(field_name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(field_name, value, "an integer >= 1")
    return int(value)


def _predict(model: nn.Module, features: NDArray[np.float32]) -> NDArray[np.float64]:
    """Anomaly probability of each feature row (the model is left in eval mode)."""
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(features))
        if logits.ndim == 1:
            logits = logits[:, None]
        if logits.shape[1] == 2:  # a two-class softmax head
            prob = torch.softmax(logits, dim=1)[:, 1]
        else:
            prob = ensemble_probability(logits)
    return prob.double().numpy()


class HealthWorkload(Workload):
    """Anomaly detection on simulated housekeeping telemetry (see the module docstring).

    Args:
        timeline: the mission timeline (one shard per satellite).
        samples_per_satellite: training windows per satellite (evenly spaced, overlapping).
        seed: seed of the telemetry (the held-out set uses the same seed, realisations 1, 2, ...).
        window_s: window length, seconds (at least three telemetry samples).
        telemetry: simulation settings.
        test_windows_per_satellite: most held-out windows per satellite and realisation
            (``None``: all half-overlapping windows, up to 40 000 in total).
        test_realisations: held-out realisations (``None``: enough for 48 satellite-days of
            held-out telemetry, at most 4; see the module docstring).
        hidden, members, dropout: the :class:`~orbitlearn.workloads.models.EnsembleMLP`.
        threshold: probability above which a window is called anomalous.

    Raises:
        InputError: an argument out of range, or a timeline shorter than one window.
    """

    name = "health"
    metric = Metric("f1", True, "F1 of the anomalous class on held-out telemetry windows")

    def __init__(
        self,
        timeline: Timeline,
        *,
        samples_per_satellite: int = 2048,
        seed: int = 0,
        window_s: float = 1200.0,
        telemetry: TelemetryConfig | None = None,
        test_windows_per_satellite: int | None = None,
        test_realisations: int | None = None,
        hidden: int = 32,
        members: int = 1,
        dropout: float = 0.0,
        threshold: float = 0.5,
    ) -> None:
        n_per_sat = _positive_int("samples_per_satellite", samples_per_satellite)
        check_int("seed", seed)
        cfg = telemetry or TelemetryConfig()
        period = cfg.sample_period_s
        if not (isinstance(window_s, int | float) and math.isfinite(window_s)):
            raise InputError("window_s", window_s, "a number of seconds")
        length = round(window_s / period)
        if length < 3:
            raise InputError(
                "window_s", window_s, f"at least three telemetry samples ({3 * period:g} s)"
            )
        n_times = math.floor(timeline.duration_s / period + 1e-9) + 1
        if n_times < length:
            raise InputError(
                "timeline duration",
                timeline.duration_s,
                f"at least one window of {window_s:g} s",
            )
        if test_windows_per_satellite is not None:
            _positive_int("test_windows_per_satellite", test_windows_per_satellite)
        if not 0.0 < threshold < 1.0:
            raise InputError("threshold", threshold, "a probability in (0, 1)")
        self.timeline_names = timeline.satellite_names
        self.n_satellites = timeline.n_sats
        self.seed = int(seed)
        self.window_samples = length
        self.window_s = length * period
        self.threshold = float(threshold)
        self.telemetry_config = cfg
        self.scaling = FeatureScaling.for_power(timeline.config.power, cfg)
        self._factory = EnsembleMLPFactory(
            len(feature_names()), hidden=hidden, members=members, dropout=dropout
        )
        # Training windows: evenly spaced over each satellite's telemetry, shuffled per satellite.
        positions = np.linspace(0, n_times - length, n_per_sat).round().astype(np.int64)
        sat_days = self.n_satellites * timeline.duration_s / 86_400.0
        if test_realisations is None:
            test_realisations = min(
                _MAX_TEST_REALISATIONS,
                max(1, math.ceil(_HELD_OUT_SATELLITE_DAYS / max(sat_days, 1e-9))),
            )
        n_held = _positive_int("test_realisations", test_realisations)
        self.test_realisations = n_held
        test_cap = test_windows_per_satellite or max(
            64, 40_000 // max(self.n_satellites * n_held, 1)
        )
        stride = max(1, length // 2)
        test_positions = np.arange(0, n_times - length + 1, stride, dtype=np.int64)
        if test_positions.size > test_cap:
            pick = np.linspace(0, test_positions.size - 1, test_cap).round().astype(np.int64)
            test_positions = test_positions[pick]
        train_parts: list[WindowSet] = []
        test_parts: list[WindowSet] = []
        for first in range(0, self.n_satellites, _BLOCK_SATS):
            sats = np.arange(first, min(first + _BLOCK_SATS, self.n_satellites))
            tm = simulate_telemetry(timeline, seed=self.seed, config=cfg, satellites=sats)
            starts = [
                np.random.default_rng([self.seed, int(s), 0x4EA1]).permutation(positions)
                for s in sats
            ]
            train_parts.append(telemetry_windows(tm, starts, length, self.scaling))
            del tm
            for realisation in range(1, n_held + 1):
                held = simulate_telemetry(
                    timeline, seed=self.seed, config=cfg, satellites=sats, realisation=realisation
                )
                test_parts.append(
                    telemetry_windows(held, [test_positions] * sats.size, length, self.scaling)
                )
                del held
        self.train_windows = WindowSet.concatenate(train_parts)
        self.test_windows = WindowSet.concatenate(test_parts)
        names = np.asarray(self.timeline_names)
        self.train = Samples(
            self.train_windows.features,
            self.train_windows.labels,
            names[self.train_windows.satellite],
            self.train_windows.start_index,
        )
        self.test = Samples(
            self.test_windows.features,
            self.test_windows.labels,
            names[self.test_windows.satellite],
            self.test_windows.start_index,
        )
        self._per_sat = n_per_sat

    # ------------------------------------------------------------------ model
    @property
    def model_factory(self) -> ModelFactory:
        return self._factory

    @property
    def loss_fn(self) -> LossFn:
        return ensemble_bce_loss

    # ------------------------------------------------------------------ data
    def shard(self, sat: int) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """Satellite ``sat``'s training windows: features ``(n, 123)`` and labels ``(n,)``.

        Raises:
            InputError: no such satellite.
        """
        if isinstance(sat, bool) or not isinstance(sat, int | np.integer):
            raise InputError("sat", sat, f"a satellite index in [0, {self.n_satellites - 1}]")
        if not 0 <= sat < self.n_satellites:
            raise InputError("sat", sat, f"a satellite index in [0, {self.n_satellites - 1}]")
        rows = slice(int(sat) * self._per_sat, (int(sat) + 1) * self._per_sat)
        return self.train_windows.features[rows], self.train_windows.labels[rows]

    def split(self, n_clients: int, seed: int, iid: bool = False) -> list[NDArray[np.int64]]:
        """One satellite's own windows per client when ``n_clients`` is the number of
        satellites (and not IID); otherwise :meth:`Workload.split`."""
        if n_clients == self.n_satellites and not iid:
            return [
                np.arange(i * self._per_sat, (i + 1) * self._per_sat, dtype=np.int64)
                for i in range(self.n_satellites)
            ]
        return super().split(n_clients, seed, iid=iid)

    # ------------------------------------------------------------------ scores
    def predict_proba(self, model: nn.Module) -> NDArray[np.float64]:
        """Anomaly probability of every held-out window."""
        return _predict(model, self.test_windows.features)

    def evaluate(self, model: nn.Module) -> float:
        """F1 of the anomalous class on the held-out windows (0 when nothing is predicted)."""
        predicted = self.predict_proba(model) > self.threshold
        f1 = binary_scores(self.test_windows.labels, predicted).f1
        return float(f1) if f1 is not None else 0.0

    def per_kind_f1(self, model: nn.Module) -> dict[str, dict[str, float | int | None]]:
        """Scores of each anomaly kind against the normal windows.

        For kind ``k``, the positives are the held-out windows holding ``k`` (a window holding
        two kinds counts for both) and the negatives the normal windows: recall is the share of
        ``k``-windows flagged, precision ``TP_k / (TP_k + false alarms on normal windows)``.
        Every kind shares the same false alarms, so a kind with few windows gets a low F1 from
        a few false alarms even when all its windows are found (``stuck`` on one realisation of
        the six-satellite benchmark: recall 1.0 on 11 windows, F1 0.39 from 35 false alarms);
        read the recall beside it, and see the held-out realisations in the module docstring.

        Returns:
            kind -> ``{"precision", "recall", "f1", "support"}`` (``support``: windows of the
            kind); ``None`` where undefined.
        """
        predicted = self.predict_proba(model) > self.threshold
        normal = self.test_windows.labels == 0
        false_alarms = int(np.count_nonzero(predicted & normal))
        result: dict[str, dict[str, float | int | None]] = {}
        for k, kind in enumerate(ANOMALY_KINDS):
            has = (self.test_windows.kinds & (1 << k)) != 0
            support = int(np.count_nonzero(has))
            tp = int(np.count_nonzero(predicted & has))
            recall = tp / support if support else None
            precision = tp / (tp + false_alarms) if tp + false_alarms else None
            result[kind] = {
                "precision": precision,
                "recall": recall,
                "f1": f_beta(precision, recall, 1.0),
                "support": support,
            }
        return result

    def report(self, model: nn.Module) -> dict[str, Any]:
        """Precision, recall, F1, AUCs, per-kind scores and sizes on the held-out windows."""
        proba = self.predict_proba(model)
        labels = self.test_windows.labels
        scores: dict[str, Any] = dict(binary_scores(labels, proba > self.threshold).as_dict())
        scores["auc_roc"] = auc_roc(labels, proba)
        scores["auc_pr"] = auc_pr(labels, proba)
        scores["per_kind"] = self.per_kind_f1(model)
        scores["params"] = parameter_count(model)
        scores["test_windows"] = len(self.test_windows)
        scores["anomalous_share"] = float(labels.mean()) if labels.size else 0.0
        return scores

    def describe(self) -> dict[str, Any]:
        facts = super().describe()
        facts.update(
            {
                "samples_per_satellite": self._per_sat,
                "window_s": self.window_s,
                "features": len(feature_names()),
                "train_anomalous_share": float(self.train_windows.labels.mean()),
                "test_anomalous_share": float(self.test_windows.labels.mean()),
                "test_realisations": self.test_realisations,
                "test_kind_counts": self.test_windows.kind_counts(),
            }
        )
        return facts
