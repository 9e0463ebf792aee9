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
    THERMAL_CHANNELS,
    FeatureScaling,
    HealthWorkload,
    _with_residuals,
    feature_names,
    series_features,
    window_features,
)
from orbitlearn.workloads.telemetry_sim import (
    ANOMALY_KINDS,
    CHANNELS,
    TelemetryConfig,
    battery_resistance_ohm,
    open_circuit_voltage_v,
    simulate_telemetry,
    thermal_equilibrium_c,
)

START = 1767225600.0  # 2026-01-01T00:00:00Z
DAY_S = 86_400.0
STATIONS = [GroundStation("Stockholm", 59.33, 18.06), GroundStation("Dubbo", -32.25, 148.6)]
N_FEATURES = (len(CHANNELS) + len(DERIVED_CHANNELS)) * len(FEATURES) + 3 + len(THERMAL_CHANNELS)


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
    thermal = naive_thermal_deviation(window, scaling)
    return np.clip(np.concatenate([table.ravel(), summary, thermal]), -50.0, 50.0)


def naive_thermal_deviation(window: np.ndarray, scaling: FeatureScaling) -> list[float]:
    """Run each temperature's lag model from the window's first reading, step by step, driven
    by the readings; fit a line to (reading - model) and report its change over the window."""
    w = np.asarray(window, dtype=np.float64)
    ch = {name: CHANNELS.index(name) for name in CHANNELS}
    length = w.shape[0]
    out = []
    for j, name in enumerate(THERMAL_CHANNELS):
        a = scaling.thermal_decay[j]
        miss, total = [0.0], 0.0
        for i in range(length - 1):
            volt, isolar = w[i, ch["battery_voltage_v"]], w[i, ch["solar_current_a"]]
            sunlit = float(isolar * volt > 0.5 * scaling.bus_w)
            if not np.isfinite(isolar * volt):
                sunlit = np.nan  # no reading, no estimate
            load_w = volt * (isolar - w[i, ch["battery_current_a"]])
            eq = thermal_equilibrium_c(
                sunlit, load_w - scaling.bus_w, 5.0 * w[i, ch["payload_current_a"]]
            )[j]
            step = w[i + 1, ch[name]] - (a * w[i, ch[name]] + (1.0 - a) * float(eq))
            total += step if np.isfinite(step) else 0.0  # a missing step counts 0
            miss.append(total)
        change = np.polyfit(np.arange(length), miss, 1)[0] * (length - 1)
        out.append(float(np.arcsinh(change / scaling.noise_sigma[ch[name]])))
    return out


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


def test_a_stuck_sensor_and_a_drifting_temperature_stand_far_above_normal_windows(timeline):
    """The features that find the weak kinds: a frozen reading's repeat run, and a drifting
    temperature's departure from the thermal model (normal windows: the same satellites'
    anomaly-free telemetry, same noise)."""
    scaling = FeatureScaling.for_power(timeline.config.power)
    names = feature_names()
    length = 40
    cfg = TelemetryConfig(anomalies_per_day={"stuck": 4.0, "drift": 8.0}, rate_spread=0.0)
    faulty = simulate_telemetry(timeline, seed=5, config=cfg)
    clean = simulate_telemetry(timeline, seed=5, config=cfg, anomalies=False)
    starts = np.arange(0, clean.n_times - length, 10)
    normal = np.concatenate(
        [series_features(clean.values[s], starts, length, scaling) for s in range(6)]
    )
    ev = faulty.events
    repeat = names.index("any:longest_repeat")
    stuck = [j for j in range(len(ev)) if ANOMALY_KINDS[ev.kind[j]] == "stuck"]
    assert len(stuck) >= 5
    for j in stuck:
        start = min(ev.start_index[j], faulty.n_times - length)
        x = series_features(faulty.values[ev.satellite[j]], np.array([start]), length, scaling)
        assert x[0, repeat] > 0.9 > 4 * normal[:, repeat].max()
    drifts = [
        j
        for j in range(len(ev))
        if ANOMALY_KINDS[ev.kind[j]] == "drift" and CHANNELS[ev.channel[j]] in THERMAL_CHANNELS
    ]
    assert len(drifts) >= 4
    for j in drifts:
        column = names.index(f"{CHANNELS[ev.channel[j]]}:thermal_deviation")
        start = max(ev.end_index[j] - length, 0)  # the window before the drift ends
        x = series_features(faulty.values[ev.satellite[j]], np.array([start]), length, scaling)
        # its magnitude times the share of it in one window, against the noise
        assert abs(x[0, column]) > np.abs(normal[:, column]).max() + 0.5, CHANNELS[ev.channel[j]]


def test_the_voltage_residual_uses_the_resistance_at_the_battery_temperature(timeline):
    """With R(T_batt) the nominal residual is read noise; with R_25 it would carry the
    resistance's growth in the cold (up to ~0.1 V at full charge current)."""
    clean = simulate_telemetry(timeline, seed=5, anomalies=False)
    scaling = FeatureScaling.for_power(timeline.config.power)
    x = clean.values.astype(np.float64)
    residual = _with_residuals(x, scaling)[..., len(CHANNELS)]
    assert np.abs(residual).max() < 0.06  # volts, 4 cells in series
    assert residual.std() < 0.5 * scaling.noise_sigma[len(CHANNELS)]
    r_25 = x[..., 0] - (
        open_circuit_voltage_v(x[..., 2], scaling.cells_in_series)
        + x[..., 1] * scaling.resistance_ohm
    )
    assert np.abs(r_25).max() > 2 * np.abs(residual).max()
    cold = x.copy()
    cold[..., CHANNELS.index("battery_temp_c")] = 0.0
    r_cold = battery_resistance_ohm(scaling.resistance_ohm, 0.0)
    np.testing.assert_allclose(
        _with_residuals(cold, scaling)[..., len(CHANNELS)] - residual,
        -x[..., 1] * (r_cold - battery_resistance_ohm(scaling.resistance_ohm, x[..., 7])),
        atol=1e-9,
    )


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


def test_held_out_set_is_another_realisation_with_every_kind(workload, timeline):
    counts = workload.test_windows.kind_counts()
    assert all(counts[k] > 0 for k in ANOMALY_KINDS), counts
    # 6 satellite-days: four realisations (towards 48 satellite-days), the first one first
    assert workload.test_realisations == 4
    one = HealthWorkload(timeline, samples_per_satellite=64, seed=0, test_realisations=1)
    assert len(workload.test_windows) == 4 * len(one.test_windows)
    np.testing.assert_array_equal(
        workload.test_windows.features[: len(one.test_windows)], one.test_windows.features
    )
    assert counts["stuck"] > 2 * one.test_windows.kind_counts()["stuck"]
    with pytest.raises(InputError, match="Expected `test_realisations` to be an integer >= 1"):
        HealthWorkload(timeline, samples_per_satellite=64, test_realisations=0)
    assert 0.1 < workload.test_windows.labels.mean() < 0.5
    # not the training windows: where a held-out window has the satellite and start of a
    # training window, it is cut from another realisation (other noise, other anomalies)
    train, test = workload.train_windows, workload.test_windows
    row_of = {
        (int(s), int(p)): i
        for i, (s, p) in enumerate(zip(train.satellite, train.start_index, strict=True))
    }
    pairs = np.array(
        [
            (row_of[(int(s), int(p))], j)
            for j, (s, p) in enumerate(zip(test.satellite, test.start_index, strict=True))
            if (int(s), int(p)) in row_of
        ]
    )
    assert len(pairs) > 100
    same = np.all(train.features[pairs[:, 0]] == test.features[pairs[:, 1]], axis=1)
    assert not same.any()
    assert np.mean(train.labels[pairs[:, 0]] != test.labels[pairs[:, 1]]) > 0.1
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
        precision, recall = tp / (tp + false_alarms), tp / row["support"]
        assert row["precision"] == pytest.approx(precision)
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        assert row["f1"] == pytest.approx(f1), kind
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


def test_the_mission_engine_takes_the_workload(timeline, trained):
    assert "health" in WORKLOADS
    config = small_config("seed=4")
    inner = build_mission_workload("health", config=config, timeline=timeline)
    adapter = WorkloadAdapter(inner, timeline.n_sats)
    assert (adapter.name, adapter.metric_name, adapter.higher_is_better) == ("health", "f1", True)
    factory = pickle.loads(pickle.dumps(adapter.model_factory))
    loss_fn = pickle.loads(pickle.dumps(adapter.loss_fn))
    model = factory(4)
    model.eval()
    x, y = adapter.shard(5)
    assert x.shape == (128, N_FEATURES)
    np.testing.assert_array_equal(x, inner.shard(5)[0])
    np.testing.assert_array_equal(y, inner.shard(5)[1])
    with torch.no_grad():
        logits = model(torch.from_numpy(x))
        loss = loss_fn(logits, torch.from_numpy(y))
    # binary cross-entropy of every member's probability, written out
    p = torch.sigmoid(logits.double())
    t = torch.from_numpy(y).double()[:, None]
    expected = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()
    assert loss.ndim == 0 and float(loss) == pytest.approx(float(expected), rel=1e-5)
    # the engine's metric is the F1 of the held-out windows of this workload, counted by hand
    proba = inner.predict_proba(trained)
    labels = inner.test_windows.labels == 1
    tp = np.count_nonzero((proba > 0.5) & labels)
    fp = np.count_nonzero((proba > 0.5) & ~labels)
    fn = np.count_nonzero((proba <= 0.5) & labels)
    assert adapter.evaluate(trained) == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert adapter.evaluate(trained) > 0.7  # the seed-0 model generalises to seed 4's windows
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
    # one step on a batch of 64: 2 FLOPs per weight forward, the same again for the weight
    # gradients, and input gradients of every layer except the first of each member
    linears = [
        m
        for m in build.workload.model_factory(config.seed).modules()
        if isinstance(m, torch.nn.Linear)
    ]
    forward = 2 * 64 * sum(m.weight.numel() for m in linears)
    first = 2 * 64 * sum(m.weight.numel() for m in linears if m.in_features == N_FEATURES)
    assert build.step_flops == 3 * forward - first
