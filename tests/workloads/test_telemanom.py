"""Telemanom-layout loader on real MSL data and on broken copies; window features; workload."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from orbitlearn.errors import DataError, InputError
from orbitlearn.workloads.telemanom import (
    TelemanomWorkload,
    load_telemanom,
    novelty_distances,
    parse_sequences,
    window_features,
)


def test_real_msl(shared_data: Path) -> None:
    data = load_telemanom(shared_data / "msl")
    assert len(data) == 27
    assert sum(len(c.anomaly_sequences) for c in data.channels) == 36
    assert {c.dims for c in data.channels} == {55}
    assert {c.spacecraft for c in data.channels} == {"MSL"}
    f7 = data.subset(["F-7"]).channels[0]
    assert f7.anomaly_sequences == [(1250, 1450), (2670, 2790), (3325, 3425)]
    assert f7.classes == ["contextual"] * 3
    assert f7.test.shape == (5054, 55) and f7.test.dtype == np.float32
    assert f7.test_labels().sum() == 201 + 121 + 101
    assert len(load_telemanom(shared_data / "msl", spacecraft="MSL")) == 27


def _layout(root: Path, channels: dict[str, tuple[str, int, int, str]]) -> Path:
    """chan -> (spacecraft, n_train, n_test, anomaly_sequences); dims 3."""
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    rng = np.random.default_rng(0)
    with open(root / "labeled_anomalies.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["chan_id", "spacecraft", "anomaly_sequences", "class", "num_values"])
        for chan, (craft, n_train, n_test, seqs) in channels.items():
            for split, n in (("train", n_train), ("test", n_test)):
                series = np.zeros((n, 3))
                series[:, 0] = np.sin(np.arange(n) / 10) + rng.normal(0, 0.01, n)
                series[::50, 1] = 1.0
                np.save(root / split / f"{chan}.npy", series)
            w.writerow([chan, craft, seqs, "[point]", n_test])
    return root


@pytest.fixture
def two_crafts(tmp_path: Path) -> Path:
    return _layout(
        tmp_path / "data",
        {
            "A-1": ("SMAP", 400, 300, "[[100, 120]]"),
            "A-2": ("SMAP", 400, 300, "[[10, 20], [200, 210]]"),
            "B-1": ("MSL", 500, 350, "[[50, 60]]"),
        },
    )


def test_any_spacecraft_in_the_layout(two_crafts: Path) -> None:
    assert [c.chan_id for c in load_telemanom(two_crafts).channels] == ["A-1", "A-2", "B-1"]
    smap = load_telemanom(two_crafts, spacecraft="SMAP")
    assert [c.chan_id for c in smap.channels] == ["A-1", "A-2"]
    assert [c.chan_id for c in load_telemanom(two_crafts, channels=["B-1"]).channels] == ["B-1"]
    with pytest.raises(
        DataError, match="no channel of spacecraft 'Voyager'; the file has 'MSL', 'SMAP'"
    ):
        load_telemanom(two_crafts, spacecraft="Voyager")
    with pytest.raises(DataError, match="no channel 'Z-9'; the file lists A-1, A-2, B-1"):
        load_telemanom(two_crafts, channels=["Z-9"])


def test_workload_on_a_small_layout(two_crafts: Path) -> None:
    w = TelemanomWorkload(load_telemanom(two_crafts, spacecraft="SMAP"), window=32)
    # (400 - 32) windows per channel, the last 20 % of each held out
    assert len(w.train) + len(w.validation) == 2 * 368
    assert len(w.validation) == 2 * round(368 * 0.2)
    assert w.train.inputs.shape[1] == 32 + 2 * 2
    assert set(w.train.source.tolist()) == {"A-1", "A-2"}
    # validation windows come after the training windows of the same channel
    a1 = w.train.source == "A-1"
    assert w.train.position[a1].max() < w.validation.position[w.validation.source == "A-1"].min()
    assert w.metric_name == "f0_5"


def test_multi_step_targets(two_crafts: Path) -> None:
    data = load_telemanom(two_crafts, channels=["A-1"])
    one = TelemanomWorkload(data, window=32, validation_fraction=0.0)
    w = TelemanomWorkload(data, window=32, horizon=5, validation_fraction=0.0)
    # (400 - 32 - 5 + 1) windows, each with the next 5 values; the first is the 1-step target
    assert w.train.targets.shape == (364, 5) and w.train.inputs.shape == (364, 36)
    np.testing.assert_array_equal(w.train.targets[:, 0], one.train.targets[:364])
    np.testing.assert_array_equal(w.train.targets[1:, 0], w.train.targets[:-1, 1])
    # the test stream is forecast one step ahead at every point
    model = w.model_factory(0)
    assert w.forecast(model, w.test.inputs).shape == (300 - 32,)
    with pytest.raises(InputError, match="Expected `horizon` to be an integer >= 1, actual: 0"):
        TelemanomWorkload(data, window=32, horizon=0)


def test_missing_directory_and_files(tmp_path: Path, two_crafts: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere: no such directory; expected a telemanom-layout"):
        load_telemanom(tmp_path / "nowhere")
    (two_crafts / "test" / "B-1.npy").unlink()
    with pytest.raises(DataError, match=r"test/B-1\.npy: no such file; every channel in labeled_"):
        load_telemanom(two_crafts)
    (two_crafts / "labeled_anomalies.csv").unlink()
    with pytest.raises(DataError, match=r"no labeled_anomalies\.csv; it lists the channels"):
        load_telemanom(two_crafts)
    bare = tmp_path / "bare"
    (bare / "train").mkdir(parents=True)
    with pytest.raises(DataError, match="no test/ directory"):
        load_telemanom(bare)


def test_shape_mismatch_between_train_and_test(two_crafts: Path) -> None:
    np.save(two_crafts / "test" / "A-2.npy", np.zeros((300, 5)))
    with pytest.raises(DataError, match=r"test/A-2\.npy: has 5 columns but .*train/A-2\.npy has 3"):
        load_telemanom(two_crafts)


def test_bad_arrays(two_crafts: Path) -> None:
    np.save(two_crafts / "train" / "A-1.npy", np.zeros(400))
    with pytest.raises(
        DataError, match=r"train/A-1\.npy: has shape \(400,\), expected \(time, dims\)"
    ):
        load_telemanom(two_crafts)
    bad = np.zeros((400, 3))
    bad[7, 0] = np.nan
    np.save(two_crafts / "train" / "A-1.npy", bad)
    with pytest.raises(DataError, match=r"train/A-1\.npy: row 7 holds NaN or inf"):
        load_telemanom(two_crafts)
    (two_crafts / "train" / "A-1.npy").write_text("not numpy")
    with pytest.raises(DataError, match=r"train/A-1\.npy: not a readable \.npy array"):
        load_telemanom(two_crafts)


def _rewrite_labels(root: Path, column: str, chan: str, value: str) -> None:
    path = root / "labeled_anomalies.csv"
    with open(path) as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if row["chan_id"] == chan:
            row[column] = value
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("[[100, 120]", "it is not a list literal"),
        ("[[120, 100]]", r"\[120, 100\] does not have 0 <= start <= end"),
        ("[[1.5, 3]]", r"\[1.5, 3\] is not a \[start, end\] pair of integers"),
        ("7", "it is not a list"),
    ],
)
def test_bad_anomaly_sequences(two_crafts: Path, value: str, problem: str) -> None:
    _rewrite_labels(two_crafts, "anomaly_sequences", "A-2", value)
    with pytest.raises(
        DataError,
        match=rf"labeled_anomalies\.csv, line 3: `anomaly_sequences` of channel A-2 is .*: {problem}",
    ):
        load_telemanom(two_crafts)


def test_labels_must_fit_the_test_series(two_crafts: Path) -> None:
    _rewrite_labels(two_crafts, "num_values", "B-1", "351")
    with pytest.raises(
        DataError,
        match=r"test/B-1\.npy: has 350 rows but labeled_anomalies\.csv line 4 says num_values = 351",
    ):
        load_telemanom(two_crafts)
    _rewrite_labels(two_crafts, "num_values", "B-1", "350")
    _rewrite_labels(two_crafts, "anomaly_sequences", "B-1", "[[300, 350]]")
    with pytest.raises(
        DataError,
        match=r"anomaly sequence \[300, 350\] of channel B-1 ends beyond its 350 test rows",
    ):
        load_telemanom(two_crafts)


def test_missing_label_columns(tmp_path: Path) -> None:
    root = _layout(tmp_path / "d", {"A-1": ("SMAP", 100, 100, "[[1, 2]]")})
    (root / "labeled_anomalies.csv").write_text("chan_id,class\nA-1,[point]\n")
    with pytest.raises(DataError, match="missing column `anomaly_sequences`; found chan_id, class"):
        load_telemanom(root)
    (root / "labeled_anomalies.csv").write_text('chan_id,anomaly_sequences\nA-1,"[[1, 2]]"\n')
    assert load_telemanom(root).channels[0].spacecraft == ""
    with pytest.raises(DataError, match="has no `spacecraft` column"):
        load_telemanom(root, spacecraft="MSL")


def test_parse_sequences() -> None:
    assert parse_sequences("[]") == []
    assert parse_sequences(" [[0, 0]] ") == [(0, 0)]


def test_window_features_layout() -> None:
    series = np.zeros((10, 3), np.float32)
    series[:, 0] = np.arange(10)
    series[2, 1] = 1.0  # command 1 at t = 2
    series[5, 2] = 1.0  # command 2 at t = 5
    x, y = window_features(series, 4)
    assert x.shape == (6, 4 + 4) and y.tolist() == [4, 5, 6, 7, 8, 9]
    assert x[0, :4].tolist() == [0, 1, 2, 3]
    # window 0 covers t = 0..3: command 1 seen (not in the last row), command 2 not
    assert x[0, 4:].tolist() == [0, 0, 1, 0]
    # window 2 covers t = 2..5: last row t = 5 has command 2; both seen in the window
    assert x[2, 4:].tolist() == [0, 1, 1, 1]
    # window 3 covers t = 3..6: command 1 (t = 2) has left the window
    assert x[3, 4:].tolist() == [0, 0, 0, 1]
    only_values, _ = window_features(series[:, :1], 4)
    assert only_values.shape == (6, 4)


def test_too_short_for_the_window(two_crafts: Path) -> None:
    data = load_telemanom(two_crafts, channels=["A-1"])
    with pytest.raises(
        DataError, match=r"train/A-1\.npy: 400 rows are too few for a window of 399"
    ):
        TelemanomWorkload(data, window=399)


def test_errors_further_ahead_are_aligned_with_their_values(two_crafts: Path) -> None:
    import torch

    data = load_telemanom(two_crafts, channels=["A-1"])
    with pytest.raises(
        InputError, match=r"Expected `error_step` to be an integer in \[1, horizon=3\]"
    ):
        TelemanomWorkload(data, window=16, horizon=3, error_step=4)
    w = TelemanomWorkload(data, window=16, horizon=3, error_step=3)

    class Oracle(torch.nn.Module):
        """Forecasts value t + k exactly for the 3 steps ahead (reads them from a table)."""

        def __init__(self, series: np.ndarray) -> None:
            super().__init__()
            self.series = torch.from_numpy(series[:, 0].astype(np.float64))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # the window's values are series[i .. i + 15]; locate i by the first value
            first = x[:, 0].double()
            i = torch.argmin((self.series[None, :] - first[:, None]).abs(), dim=1)
            return torch.stack(
                [self.series[(i + 16 + k).clamp(max=len(self.series) - 1)] for k in range(3)], 1
            )

    chan = data.channels[0]
    series = chan.test.copy()
    series[:, 0] = np.arange(series.shape[0], dtype=np.float32)  # distinct values
    errors, values, offset = w.step_errors(Oracle(series), series)
    assert offset == 16 + 2 and errors.shape == values.shape == (series.shape[0] - offset,)
    np.testing.assert_array_equal(values, series[offset:, 0])
    assert errors.max() < 1e-9


def test_novelty_distances_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    reference = rng.normal(0, 1, 200)
    values = np.r_[reference[50:90], rng.normal(4, 1, 30)]  # a seen stretch, then new levels
    got = novelty_distances(values, reference, 8, chunk=7)
    assert got.shape == values.shape
    keys = np.lib.stride_tricks.sliding_window_view(reference, 8)
    for t in (7, 20, 39, 60, 69):
        brute = np.sqrt(((keys - values[t - 7 : t + 1]) ** 2).mean(axis=1)).min()
        assert got[t] == pytest.approx(brute, rel=1e-9, abs=1e-6)  # cdist by matmul
    assert got[:7].tolist() == [got[7]] * 7  # the first points take their first full stretch
    assert np.all(got[7:40] < 1e-6) and got[50:].min() > 1.0  # seen stretch vs new level
    with pytest.raises(InputError, match="Expected `window` to be an integer >= 1, actual: 0"):
        novelty_distances(values, reference, 0)
    with pytest.raises(InputError, match="at least 8 each"):
        novelty_distances(values[:5], reference, 8)


def test_novelty_term_is_added_to_the_judged_errors(two_crafts: Path) -> None:
    data = load_telemanom(two_crafts, channels=["A-1"])
    plain = TelemanomWorkload(data, window=32)
    novel = TelemanomWorkload(data, window=32, novelty_window=4, novelty_weight=2.0)
    # the reference is the training rows the forecaster sees (not the held-out 20 %)
    assert novel.reference["A-1"].shape == (32 + len(novel.train),)
    model = plain.model_factory(0)
    series = data.channels[0].test.copy()
    series[200:230, 0] += 5.0  # a level the training values never reached
    e0, v0, off0 = plain.step_errors(model, series)
    e1, v1, off1 = novel.step_errors(model, series, "A-1")
    assert off0 == off1 and np.array_equal(v0, v1)
    distance = novelty_distances(series[:, 0], novel.reference["A-1"], 4)[off0:]
    np.testing.assert_allclose(e1, e0 + 2.0 * distance)
    assert distance[200 - off0 : 230 - off0].min() > 2.0  # >= 5 / sqrt(4) from its first point
    with pytest.raises(
        InputError, match=r"Expected `novelty_window` to be an integer in \[0, window=32\]"
    ):
        TelemanomWorkload(data, window=32, novelty_window=33)
    with pytest.raises(InputError, match="Expected `novelty_weight` to be a finite number >= 0"):
        TelemanomWorkload(data, window=32, novelty_window=4, novelty_weight=-1.0)


def test_step_novelty_counts_jumps_never_made_in_training(two_crafts: Path) -> None:
    data = load_telemanom(two_crafts, channels=["A-1"])
    plain = TelemanomWorkload(data, window=32, novelty_window=0)
    steps = TelemanomWorkload(data, window=32, novelty_window=0, step_novelty_weight=0.5)
    model = plain.model_factory(0)
    series = data.channels[0].test.copy()
    series[200:, 0] += 7.0  # one jump far larger than any training step
    e0, _, off = plain.step_errors(model, series)
    e1, _, _ = steps.step_errors(model, series, "A-1")
    reference = steps.reference["A-1"].astype(np.float64)
    training_steps = np.diff(reference)
    jumps = np.diff(series[:, 0].astype(np.float64), prepend=float(series[0, 0]))
    expected = np.abs(jumps[:, None] - training_steps[None, :]).min(axis=1)
    np.testing.assert_allclose(e1 - e0, 0.5 * expected[off:], atol=1e-9)
    added = (e1 - e0)[200 - off]
    assert added > 0.5 * (7.0 - np.abs(training_steps).max())  # the jump itself stands out
    with pytest.raises(
        InputError, match="Expected `step_novelty_weight` to be a finite number >= 0"
    ):
        TelemanomWorkload(data, window=32, step_novelty_weight=float("nan"))


def test_summary_intervals_resample_the_channels() -> None:
    from orbitlearn.workloads.metrics import EventCounts
    from orbitlearn.workloads.telemanom import ChannelResult, summarise_channels

    def channel(name: str, tp: int, fp: int, fn: int) -> ChannelResult:
        labels = np.zeros(50, dtype=bool)
        labels[10:20] = True
        return ChannelResult(
            chan_id=name,
            counts=EventCounts(tp=tp, fp=fp, fn=fn),
            predicted=[],
            labelled=[(10, 19)],
            score=np.linspace(0.0, 1.0, 50),
            labels=labels,
            forecast_mse=0.1,
        )

    counts = [(1, 0, 0), (1, 1, 0), (0, 0, 1), (2, 0, 1), (1, 0, 0), (0, 1, 1), (1, 0, 0)]
    summary = summarise_channels([channel(f"C-{i}", *c) for i, c in enumerate(counts)])
    low, high = summary["f0_5_interval"]
    assert low < summary["f0_5"] < high <= 1.0
    assert summary["f1_interval"][0] < summary["f1"] < summary["f1_interval"][1]
    # one channel that is always right: resampling it gives no spread
    assert summarise_channels([channel("A-1", 2, 0, 0)])["f0_5_interval"] == (1.0, 1.0)
    assert summarise_channels([])["f0_5_interval"] is None
