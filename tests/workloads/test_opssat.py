"""OPS-SAT-AD loader on the real table, its errors on broken copies, and the workload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from orbitlearn.errors import DataError, InputError
from orbitlearn.workloads.opssat import (
    FEATURES,
    FeatureEncoder,
    OpsSatWorkload,
    Standardizer,
    load_opssat,
)


@pytest.fixture(scope="module")
def table_path(shared_data: Path) -> Path:
    return shared_data / "opssat" / "dataset.csv"


def test_real_table_official_split(table_path: Path) -> None:
    t = load_opssat(table_path)
    assert len(t) == 2123
    assert t.features.shape == (2123, 18)
    assert (int(t.train.sum()), int(t.anomaly[t.train].sum())) == (1594, 321)
    assert (int((~t.train).sum()), int(t.anomaly[~t.train].sum())) == (529, 113)
    assert len(set(t.channel.tolist())) == 9
    assert set(np.unique(t.sampling).tolist()) == {1.0, 5.0}
    # a directory works too
    assert len(load_opssat(table_path.parent)) == 2123


def test_inputs_use_training_rows_only(table_path: Path) -> None:
    t = load_opssat(table_path)
    w = OpsSatWorkload(t, transform="log")
    # 18 log-mapped features and the sampling interval, standardised; then 9 channel columns
    assert w.encoder.width == 18 + 1 + 9 and w.train.inputs.shape == (1594, 28)
    scaled = w.train.inputs[:, :19]
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0, atol=1e-3)
    # the test rows are transformed with the training statistics, so they are not centred
    assert np.abs(w.test.inputs[:, :19].mean(axis=0)).max() > 0.01
    onehot = w.train.inputs[:, 19:]
    assert set(np.unique(onehot).tolist()) == {0.0, 1.0} and (onehot.sum(axis=1) == 1).all()
    assert w.encoder.rules[FEATURES.index("var")] == "log"
    assert w.encoder.rules[FEATURES.index("smooth10_n_peaks")] == "log1p"
    assert w.encoder.rules[FEATURES.index("skew")] == "asinh"
    # log-mapping spreads the variances: standardised raw, 63 % of the segments lie within
    # 0.01 sd of the median (one outlier sets the scale); log-mapped, 6 %
    raw = OpsSatWorkload(t, transform="standard", channels=False, sampling=False)
    assert raw.train.inputs.shape == (1594, 18)
    var = FEATURES.index("var")
    for inputs, share in ((raw.train.inputs, 0.6), (scaled, 0.1)):
        near = np.abs(inputs[:, var] - np.median(inputs[:, var])) < 0.01
        assert (near.mean() > share) == (share > 0.5)
    assert w.train.inputs.dtype == np.float32 and w.train.targets.dtype == np.float32
    assert len(w.train) == 1594 and len(w.test) == 529
    assert w.metric_name == "f1" and w.higher_is_better


def test_cross_validation_folds_come_from_training_rows(table_path: Path) -> None:
    t = load_opssat(table_path)
    train = t.train.copy()
    train[np.flatnonzero(t.train)[:100]] = False  # the first 100 training rows held out
    fold = t.with_split(train, t.train)
    assert len(fold) == 1594 and int((~fold.train).sum()) == 100
    assert set(fold.segment.tolist()) == set(t.segment[t.train].tolist())


def test_relative_features_use_each_channels_nominal_rows() -> None:
    features = np.array([[1.0], [1.0], [100.0], [100.0], [100.0], [1e4]])
    channel = np.array(["a", "a", "b", "b", "b", "b"])
    nominal = np.array([True, True, True, True, True, False])
    with pytest.raises(InputError, match="Expected `nominal` to be the training rows"):
        FeatureEncoder.fit(features, transform="relative")
    enc = FeatureEncoder.fit(features, transform="relative", row_channel=channel, nominal=nominal)
    assert enc.rules == ("identity", "log") and enc.relative_channels == ("a", "b")
    # fewer than 10 nominal rows each: both channels use the statistics of all nominal rows
    assert enc.relative_mean is not None
    np.testing.assert_array_equal(enc.relative_mean[0], enc.relative_mean[2])
    np.testing.assert_array_equal(enc.relative_mean[1], enc.relative_mean[2])
    many = np.r_[np.full(10, 1.0), np.full(10, 100.0)][:, None] * np.exp(
        np.random.default_rng(0).normal(0, 0.1, (20, 1))
    )
    names = np.array(["a"] * 10 + ["b"] * 10)
    enc = FeatureEncoder.fit(
        many, transform="relative", row_channel=names, nominal=np.ones(20, bool)
    )
    assert enc.relative_channels == ("a", "b")
    # the same value 100 is ordinary for b but far above a's nominal level; unseen: pooled
    x = enc.apply(np.array([[100.0], [100.0], [100.0]]), np.array(["a", "b", "z"]))
    assert x[0, 1] > x[2, 1] > x[1, 1]


def test_encoder_options_are_checked(table_path: Path) -> None:
    with pytest.raises(InputError, match="Expected `transform` to be one of standard, log"):
        OpsSatWorkload(load_opssat(table_path), transform="rank")
    with pytest.raises(InputError, match=r"Expected `threshold` to be a probability in \(0, 1\)"):
        OpsSatWorkload(load_opssat(table_path), threshold=1.0)


def test_non_iid_split_gives_whole_channels(table_path: Path) -> None:
    w = OpsSatWorkload(load_opssat(table_path))
    parts = w.split(4, seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(w.train)))
    channel_sets = [set(w.train.source[p].tolist()) for p in parts]
    for i, a in enumerate(channel_sets):  # no channel is shared between satellites
        for b in channel_sets[i + 1 :]:
            assert not a & b
    iid = w.split(4, seed=0, iid=True)
    assert all(len(set(w.train.source[p].tolist())) >= 7 for p in iid)


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _header() -> list[str]:
    return ["segment", "anomaly", "train", "channel", "sampling", *FEATURES]


def _row(segment: int, train: int, anomaly: int = 0) -> list[object]:
    return [segment, anomaly, train, "CADC0872", 1, *([0.5] * len(FEATURES))]


def test_small_valid_copy(tmp_path: Path) -> None:
    t = load_opssat(_write(tmp_path / "d.csv", _header(), [_row(1, 1, 1), _row(2, 0)]))
    assert t.segment.tolist() == [1, 2] and t.anomaly.tolist() == [True, False]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match=r"nope\.csv: no such file; expected the OPS-SAT-AD feature"
    ):
        load_opssat(tmp_path / "nope.csv")
    with pytest.raises(DataError, match=r"no dataset\.csv in this directory"):
        load_opssat(tmp_path)


def test_empty_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv: the file is empty; expected a header line"):
        load_opssat(empty)
    with pytest.raises(DataError, match="the table has a header but no rows"):
        load_opssat(_write(tmp_path / "h.csv", _header(), []))


def test_missing_columns_are_named(tmp_path: Path) -> None:
    header = [c for c in _header() if c not in ("train", "kurtosis")]
    rows = [[v for c, v in zip(_header(), _row(1, 1), strict=True) if c in header]]
    with pytest.raises(
        DataError, match=r"missing columns `train`, `kurtosis`; found segment, anomaly"
    ):
        load_opssat(_write(tmp_path / "d.csv", header, rows))


def test_bad_values_name_line_and_column(tmp_path: Path) -> None:
    rows = [_row(1, 1), _row(2, 0), _row(3, 0)]
    rows[2][_header().index("mean")] = "abc"
    with pytest.raises(
        DataError, match=r"d\.csv, line 4: column `mean` has value 'abc', expected a number"
    ):
        load_opssat(_write(tmp_path / "d.csv", _header(), rows))
    rows[2][_header().index("mean")] = "nan"
    with pytest.raises(
        DataError, match=r"line 4: column `mean` has value 'nan', expected a finite"
    ):
        load_opssat(_write(tmp_path / "d.csv", _header(), rows))
    rows[2][_header().index("mean")] = 0.1
    rows[1][_header().index("anomaly")] = 2
    with pytest.raises(DataError, match=r"line 3: column `anomaly` has value '2', expected 0 or 1"):
        load_opssat(_write(tmp_path / "d.csv", _header(), rows))


def test_short_row_and_missing_split(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", _header(), [_row(1, 1), _row(2, 0)])
    path.write_text(path.read_text() + "3,0,1\n")
    with pytest.raises(DataError, match=r"line 4: has 3 fields, expected 23 \(as the header\)"):
        load_opssat(path)
    with pytest.raises(DataError, match=r"has no test \(train = 0\) rows"):
        load_opssat(_write(tmp_path / "t.csv", _header(), [_row(1, 1), _row(2, 1)]))


def test_standardizer_constant_column() -> None:
    s = Standardizer.fit(np.array([[1.0, 2.0], [3.0, 2.0]]))
    assert s.scale.tolist() == [1.0, 1.0]


def test_nominal_transform_measures_distance_from_nominal_rows() -> None:
    features = np.array([[1.0], [2.0], [3.0], [1000.0]])
    nominal = np.array([True, True, True, False])
    with pytest.raises(InputError, match="Expected `nominal` to be flags of the training rows"):
        FeatureEncoder.fit(features, transform="nominal")
    enc = FeatureEncoder.fit(features, transform="nominal", nominal=nominal)
    assert enc.squash and enc.rules == ("identity",)
    # mean 2 and standard deviation sqrt(2/3) of the nominal rows, then asinh
    x = enc.apply(np.array([[2.0], [3.0], [1000.0]]))[:, 0]
    np.testing.assert_allclose(x, np.arcsinh([0.0, 1.5**0.5, 998 * 1.5**0.5]), rtol=1e-6)


def test_input_blocks_share_out_the_members(table_path: Path) -> None:
    t = load_opssat(table_path)
    both = OpsSatWorkload(t, transform="standard+nominal", members=4)
    alone = OpsSatWorkload(t, transform="standard", members=4)
    assert both.train.inputs.shape == (1594, 2 * alone.encoder.width)
    np.testing.assert_array_equal(both.train.inputs[:, : alone.encoder.width], alone.train.inputs)
    model = both.model_factory(0)
    assert model(torch.from_numpy(both.test.inputs)).shape == (529, 4)
    with pytest.raises(InputError, match="Expected `members` to be a multiple of the 2 input"):
        OpsSatWorkload(t, transform="standard+nominal", members=3)
    with pytest.raises(InputError, match="Expected `transform` to be one of standard, log"):
        OpsSatWorkload(t, transform="standard+rank")
