"""The ``health`` workload: features, shards, learnability, per-kind scores and the mission seam."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from orbitlearn.errors import ConfigError, InputError
from orbitlearn.mission.config import MissionConfig, apply_overrides
from orbitlearn.mission.workload import WorkloadAdapter, resolve_workload
from orbitlearn.space.stations import GroundStation
from orbitlearn.space.timeline import Timeline
from orbitlearn.space.walker import walker_constellation
from orbitlearn.workloads import WORKLOADS, build_mission_workload
from orbitlearn.workloads.health import (
    DERIVED_CHANNELS,
    FEATURES,
    FeatureScaling,
    HealthWorkload,
    _with_residuals,
    feature_names,
    series_features,
    window_features,
)
from orbitlearn.workloads.telemetry_sim import ANOMALY_KINDS, CHANNELS, simulate_telemetry

START = 1767225600.0  # 2026-01-01T00:00:00Z
DAY_S = 86_400.0
STATIONS = [GroundStation("Stockholm", 59.33, 18.06), GroundStation("Dubbo", -32.25, 148.6)]
N_FEATURES = (len(CHANNELS) + len(DERIVED_CHANNELS)) * len(FEATURES) + 3


@pytest.fixture(scope="module")
def timeline() -> Timeline:
    """Six satellites in three planes (550 km, 53 deg), one day at 30 s, 6U power."""
    sats = walker_constellation(6, 3, 1, altitude_m=550e3, inclination_deg=53.0, epoch_unix_s=START)
    return Timeline.build(sats, STATIONS, START, DAY_S, step_s=30.0, power="6u")


@pytest.fixture(scope="module")
def workload(timeline: Timeline) -> HealthWorkload:
    return HealthWorkload(timeline, samples_per_satellite=512, seed=0)


def train_centrally(workload: HealthWorkload, epochs: int = 15, seed: int = 0) -> torch.nn.Module:
    """Adam on every satellite's shard pooled: the centralised upper bound of federated runs.

    One torch thread: batches of 64 on a 5k-parameter model only lose to thread hand-offs.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(workload, epochs, seed)
    finally:
        torch.set_num_threads(threads)


def _train(workload: HealthWorkload, epochs: int, seed: int) -> torch.nn.Module:
    model = workload.model_factory(seed)
    inputs = torch.from_numpy(workload.train.inputs)
    targets = torch.from_numpy(workload.train.targets)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    order = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(inputs), generator=order)
        for first in range(0, len(inputs), 64):
            batch = perm[first : first + 64]
            optimizer.zero_grad()
            workload.loss_fn(model(inputs[batch]), targets[batch]).backward()
            optimizer.step()
    model.eval()
    return model


@pytest.fixture(scope="module")
def trained(workload: HealthWorkload) -> torch.nn.Module:
    return train_centrally(workload)


# --------------------------------------------------------------------------- features
def naive_features(window: np.ndarray, scaling: FeatureScaling) -> np.ndarray:
    """The features of one window, one statistic at a time (the definition, slowly)."""
    x = _with_residuals(window, scaling)  # (length, channels)
    length = x.shape[0]
    rows = []
    for c in range(x.shape[1]):
        v = x[:, c]
        ok = np.isfinite(v)
        centre, span, sigma = scaling.centre[c], scaling.span[c], scaling.noise_sigma[c]
        if ok.any():
            mean, std, low, high = v[ok].mean(), v[ok].std(), v[ok].min(), v[ok].max()
            change = (
                np.polyfit(np.flatnonzero(ok), v[ok], 1)[0] * (length - 1) if ok.sum() > 1 else 0.0
            )
        else:
            mean = low = high = centre
            std = change = 0.0
        steps = [abs(v[i + 1] - v[i]) if ok[i] and ok[i + 1] else 0.0 for i in range(length - 1)]
        outliers = [
            abs(v[i] - np.median(v[i - 1 : i + 2])) if ok[i - 1 : i + 2].all() else 0.0
            for i in range(1, length - 1)
        ]
        run = best = 0
        for i in range(length - 1):
            run = run + 1 if ok[i] and ok[i + 1] and v[i] == v[i + 1] else 0
            best = max(best, run)

        def disp(value: float, sigma: float = sigma) -> float:
            return float(np.log10(value / sigma + 0.1))

        rows.append(
            [
                (mean - centre) / span,
                disp(std),
                (low - centre) / span,
                (high - centre) / span,
                change / span,
                disp(max(steps)),
                disp(max(outliers)),
                1.0 - ok.mean(),
                best / (length - 1),
            ]
        )
    table = np.array(rows)
    sensors = [i for i in range(table.shape[0]) if CHANNELS[i : i + 1] != ("payload_mode",)]
    summary = [table[sensors, 7].max(), table[sensors, 8].max(), table[sensors, 6].max()]
    return np.clip(np.concatenate([table.ravel(), summary]), -50.0, 50.0)


def test_fast_features_equal_their_definition_on_windows_with_every_anomaly(timeline):
    telemetry = simulate_telemetry(timeline, seed=11)
    scaling = FeatureScaling.for_power(timeline.config.power)
    length = 40
    ev = telemetry.events
    checked = 0
    for sat in range(3):
        mine = ev.satellite == sat
        starts = np.concatenate(
            [ev.start_index[mine] - 5, ev.end_index[mine] - 3, ev.start_index[mine] - 38]
        )
        starts = np.unique(np.clip(starts, 0, telemetry.n_times - length))
        fast = series_features(telemetry.values[sat], starts, length, scaling)
        slow = np.array(
            [naive_features(telemetry.values[sat, s : s + length], scaling) for s in starts]
        )
        np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-4)
        checked += len(starts)
    assert checked > 50
    # windows cut out and laid end to end give the same features as windows of the series
    windows = np.stack([telemetry.values[0, s : s + length] for s in (0, 100, 77, 2000)])
    np.testing.assert_allclose(
        window_features(windows, scaling),
        series_features(telemetry.values[0], np.array([0, 100, 77, 2000]), length, scaling),
        atol=1e-6,
    )


def test_a_window_features_do_not_depend_on_other_windows(timeline):
    """Satellites standardise alike: fixed constants, no statistics of any data set."""
    telemetry = simulate_telemetry(timeline, seed=2, satellites=[0])
    scaling = FeatureScaling.for_power(timeline.config.power)
    alone = series_features(telemetry.values[0], np.array([497]), 40, scaling)
    batch = series_features(telemetry.values[0], np.arange(0, 2800, 7), 40, scaling)
    np.testing.assert_allclose(alone[0], batch[497 // 7], atol=1e-6)  # up to running-sum rounding
    assert feature_names()[0] == "battery_voltage_v:mean"
    assert len(feature_names()) == N_FEATURES == alone.shape[1]


def test_features_reject_bad_windows(timeline):
    scaling = FeatureScaling.for_power(timeline.config.power)
    with pytest.raises(
        InputError, match=r"Expected `windows` to be \(n_windows, n_samples >= 3, 10\)"
    ):
        window_features(np.zeros((4, 2, 10)), scaling)
    with pytest.raises(InputError, match="Expected `starts, length` to be windows of at least 3"):
        series_features(np.zeros((100, 10)), np.array([90]), 20, scaling)


# --------------------------------------------------------------------------- shards
def test_shards_are_each_satellites_own_windows(workload, timeline):
    assert workload.n_satellites == 6
    for sat in range(6):
        x, y = workload.shard(sat)
        assert x.shape == (512, N_FEATURES) and x.dtype == np.float32
        assert y.shape == (512,) and y.dtype == np.int64
        assert set(np.unique(y).tolist()) == {0, 1}
        assert np.isfinite(x).all()
    rows = workload.split(6, seed=0)
    for sat, index in enumerate(rows):
        assert set(workload.train.source[index].tolist()) == {timeline.satellite_names[sat]}
    # non-IID: the satellites' anomalous shares differ
    shares = [workload.shard(i)[1].mean() for i in range(6)]
    assert max(shares) - min(shares) > 0.05
    with pytest.raises(InputError, match=r"Expected `sat` to be a satellite index in \[0, 5\]"):
        workload.shard(6)


def test_held_out_set_is_another_realisation_with_every_kind(workload):
    counts = workload.test_windows.kind_counts()
    assert all(counts[k] > 0 for k in ANOMALY_KINDS), counts
    assert 0.1 < workload.test_windows.labels.mean() < 0.5
    # not the training windows: the training telemetry's labels differ at the same starts
    facts = workload.describe()
    assert facts["features"] == N_FEATURES and facts["samples_per_satellite"] == 512


def test_same_seed_same_workload_and_bad_arguments(timeline, workload):
    again = HealthWorkload(timeline, samples_per_satellite=512, seed=0)
    np.testing.assert_array_equal(again.shard(3)[0], workload.shard(3)[0])
    np.testing.assert_array_equal(again.test.inputs, workload.test.inputs)
    other = HealthWorkload(timeline, samples_per_satellite=64, seed=1)
    assert not np.array_equal(other.test.targets, workload.test.targets)
    with pytest.raises(InputError, match="Expected `samples_per_satellite` to be an integer >= 1"):
        HealthWorkload(timeline, samples_per_satellite=0)
    with pytest.raises(InputError, match=r"Expected `window_s` to be at least three telemetry"):
        HealthWorkload(timeline, window_s=60.0)


# --------------------------------------------------------------------------- learning
def test_a_centrally_trained_model_learns_the_task(workload, trained):
    untrained = workload.evaluate(workload.model_factory(0))
    f1 = workload.evaluate(trained)
    assert untrained < 0.5  # far below: the learning curve has somewhere to go
    assert f1 >= 0.8
    report = workload.report(trained)
    assert report["f1"] == pytest.approx(f1)
    assert report["auc_roc"] > 0.9
    assert report["params"] < 20_000
    for key in ("precision", "recall", "auc_pr", "per_kind", "test_windows"):
        assert key in report


def test_per_kind_scores(workload, trained):
    scores = workload.per_kind_f1(trained)
    assert list(scores) == list(ANOMALY_KINDS)
    predicted = workload.predict_proba(trained) > 0.5
    false_alarms = int(np.count_nonzero(predicted & (workload.test_windows.labels == 0)))
    for k, (kind, row) in enumerate(scores.items()):
        has = (workload.test_windows.kinds & (1 << k)) != 0
        assert row["support"] == int(has.sum()) > 0
        tp = int(np.count_nonzero(predicted & has))
        assert row["recall"] == pytest.approx(tp / row["support"])
        assert row["precision"] == pytest.approx(tp / (tp + false_alarms))
        assert 0.0 <= row["f1"] <= 1.0, kind
    # the physically unmistakable kinds are found
    assert scores["eclipse_power"]["recall"] > 0.9
    assert scores["latchup"]["recall"] > 0.8


# --------------------------------------------------------------------------- mission seam
def small_config(*overrides: str) -> MissionConfig:
    return apply_overrides(
        MissionConfig.default(),
        [
            'constellation.walker="6/3/1"',
            "time.days=1.0",
            "time.step_s=30.0",
            "workload.samples_per_satellite=128",
            *overrides,
        ],
    )


def test_the_mission_engine_takes_the_workload(timeline):
    assert "health" in WORKLOADS
    config = small_config("seed=4")
    inner = build_mission_workload("health", config=config, timeline=timeline)
    adapter = WorkloadAdapter(inner, timeline.n_sats)
    assert (adapter.name, adapter.metric_name, adapter.higher_is_better) == ("health", "f1", True)
    factory = pickle.loads(pickle.dumps(adapter.model_factory))
    loss_fn = pickle.loads(pickle.dumps(adapter.loss_fn))
    model = factory(4)
    x, y = adapter.shard(5)
    assert x.shape == (128, N_FEATURES)
    loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert 0.0 <= adapter.evaluate(model) <= 1.0
    assert adapter.describe()["samples_per_satellite"] == [128] * 6
    # the engine's own lookup finds it by the configured name
    resolved = resolve_workload(config, timeline)
    assert resolved.name == "health"
    np.testing.assert_array_equal(resolved.shard(2)[0], adapter.shard(2)[0])


def test_unknown_workload_names_the_known_ones(timeline):
    with pytest.raises(ConfigError) as info:
        build_mission_workload("weather", config=small_config(), timeline=timeline)
    assert str(info.value) == "Expected `workload.name` to be one of 'health', actual: 'weather'"


def test_a_whole_mission_builds_with_the_health_workload():
    from orbitlearn.mission.build import build_mission

    config = apply_overrides(
        MissionConfig.default(),
        [
            'constellation.walker="4/2/1"',
            "time.days=0.25",
            "time.step_s=30.0",
            "workload.samples_per_satellite=64",
            'executor.kind="process"',  # requires picklable factory and loss
        ],
    )
    build = build_mission(config)
    assert build.workload.name == "health"
    assert len(build.context.shards) == 4
    assert build.step_flops > 0
