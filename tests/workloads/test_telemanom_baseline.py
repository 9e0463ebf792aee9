"""telemanom reproduced: its forecaster, its training loop, its errors and its scoring path."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from orbitlearn.errors import DataError, InputError
from orbitlearn.workloads.telemanom_baseline import (
    TelemanomBaselineConfig,
    TelemanomLSTM,
    baseline_errors,
    evaluate_telemanom_baseline,
    train_telemanom_lstm,
)

#: A configuration small enough for a CPU test: the method, shrunk.
SMALL = TelemanomBaselineConfig(
    l_s=20, n_predictions=3, layers=(8, 8), epochs=15, batch_size=32, learning_rate=1e-2
)


def _sine(n: int, dims: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    series = np.zeros((n, dims), np.float32)
    series[:, 0] = 0.5 * np.sin(np.arange(n) / 6) + rng.normal(0, 0.01, n)
    series[::40, 1] = 1.0
    return series


def test_keras_initialisation_and_parameter_count() -> None:
    model = TelemanomLSTM(55)
    # Keras: 4 (units (inputs + units) + units) per LSTM, then the dense layer
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == (
        4 * (80 * (55 + 80) + 80) + 4 * (80 * (80 + 80) + 80) + 80 * 10 + 10
    )
    for lstm, inputs in ((model.first, 55), (model.second, 80)):
        weights = dict(lstm.named_parameters())
        bias = weights["bias_ih_l0"].detach()
        assert torch.equal(bias[80:160], torch.ones(80))  # forget gate
        assert torch.count_nonzero(bias[:80]) == torch.count_nonzero(bias[160:]) == 0
        assert not weights["bias_hh_l0"].requires_grad
        assert torch.count_nonzero(weights["bias_hh_l0"]) == 0
        for gate in range(4):  # each gate's recurrent block is orthogonal
            block = weights["weight_hh_l0"][gate * 80 : (gate + 1) * 80].detach()
            assert torch.allclose(block @ block.T, torch.eye(80), atol=1e-5)
        # Glorot-uniform per gate block: |w| <= sqrt(6 / (fan_in + fan_out))
        assert float(weights["weight_ih_l0"].detach().abs().max()) <= np.sqrt(6 / (inputs + 80))
    assert torch.count_nonzero(model.head.bias) == 0


def test_training_learns_and_counts_its_steps() -> None:
    series = _sine(420)
    model, fit = train_telemanom_lstm(series, seed=0, config=SMALL)
    n_windows = 420 - 20 - 3 + 1
    n_train = int(n_windows * 0.8)
    assert fit["epochs"] == 15  # the loss still falls: no early stop
    assert fit["steps"] == 15 * -(-n_train // 32)
    # far better than forecasting the mean of a sine of amplitude 0.5 (variance 0.125)
    assert fit["val_loss"] < 0.125 / 20
    assert not model.training


def test_early_stopping_keeps_the_last_weights_after_patience_epochs() -> None:
    # min_delta larger than any loss: only the first epoch counts as an improvement
    impatient = TelemanomBaselineConfig(
        l_s=20, n_predictions=3, layers=(4, 4), epochs=20, patience=2, min_delta=10.0
    )
    _, fit = train_telemanom_lstm(_sine(200), seed=1, config=impatient)
    assert fit["epochs"] == 3
    assert fit["best_val_loss"] != fit["val_loss"]  # the last epoch's weights, not the best


def test_the_value_only_ablation_sees_column_0() -> None:
    config = TelemanomBaselineConfig(
        l_s=20, n_predictions=3, layers=(4, 4), epochs=1, inputs="value"
    )
    model, _ = train_telemanom_lstm(_sine(200), seed=0, config=config)
    assert model.first.input_size == 1
    assert config.columns(_sine(50)).shape == (50, 1)
    assert SMALL.columns(_sine(50)).shape == (50, 3)


def test_the_same_seed_trains_the_same_model() -> None:
    a, _ = train_telemanom_lstm(_sine(200), seed=3, config=SMALL)
    b, _ = train_telemanom_lstm(_sine(200), seed=3, config=SMALL)
    c, _ = train_telemanom_lstm(_sine(200), seed=4, config=SMALL)
    pa, pb, pc = (torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


class _LastValue(nn.Module):
    """Forecasts every next value as the last one seen."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1, :1].repeat(1, 3)


def test_errors_are_one_step_ahead_and_aligned_with_the_test_indices() -> None:
    series = _sine(100)
    errors = baseline_errors(_LastValue(), series, l_s=20)
    assert errors.shape == (80,)
    expected = np.abs(np.diff(series[:, 0].astype(np.float64)))[19:]
    np.testing.assert_allclose(errors, expected, rtol=1e-6)
    with pytest.raises(DataError, match=r"shape \(20, 3\); expected \(time > 20, dims\)"):
        baseline_errors(_LastValue(), series[:20], l_s=20)


def _layout(root: Path) -> Path:
    """Two channels; B-1's test series jumps by 2.0 for 40 values."""
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    with open(root / "labeled_anomalies.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["chan_id", "spacecraft", "anomaly_sequences", "class", "num_values"])
        for i, (chan, seqs) in enumerate((("A-1", "[[250, 260]]"), ("B-1", "[[300, 339]]"))):
            np.save(root / "train" / f"{chan}.npy", _sine(500, seed=i))
            test = _sine(600, seed=10 + i)
            if chan == "B-1":
                test[300:340, 0] += 2.0
            np.save(root / "test" / f"{chan}.npy", test)
            w.writerow([chan, "X", seqs, "[point]", 600])
    return root


def test_evaluation_finds_a_jump_and_reports_like_the_workload(tmp_path: Path) -> None:
    root = _layout(tmp_path / "data")
    report = evaluate_telemanom_baseline(root, seed=0, config=SMALL)
    b1, a1 = report["channels"]["B-1"], report["channels"]["A-1"]
    assert b1["tp"] == 1 and b1["fn"] == 0
    assert a1["tp"] == 0 and a1["fn"] == 1  # nothing happens in A-1's "anomaly"
    assert (report["tp"], report["fn"]) == (1, 1)
    assert report["tp"] + report["fp"] == sum(
        len(c["predicted_sequences"]) for c in report["channels"].values()
    )
    assert report["recall"] == 0.5
    assert report["models"] == 2 and set(report["epochs"]) == {"A-1", "B-1"}
    assert report["params"] == sum(
        p.numel() for p in TelemanomLSTM(3, (8, 8), 3).parameters() if p.requires_grad
    )
    assert report["settings"]["l_s"] == 20 and report["settings"]["seed"] == 0
    value_only = evaluate_telemanom_baseline(root, seed=0, config=replace(SMALL, inputs="value"))
    assert value_only["params"] == sum(
        p.numel() for p in TelemanomLSTM(1, (8, 8), 3).parameters() if p.requires_grad
    )
    assert value_only["channels"]["B-1"]["tp"] == 1  # the jump is in the value itself
    # predicted sequences are in test indices: the jump starts at 300, after the l_s history
    (start, end) = b1["predicted_sequences"][0]
    assert 200 <= start <= 340 and end >= 300


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("l_s", 0, "an integer >= 1"),
        ("epochs", 2.5, "an integer >= 1"),
        ("layers", (80,), "two integers >= 1"),
        ("dropout", 1.0, r"a number in \[0, 1\)"),
        ("learning_rate", 0.0, "a number > 0"),
        ("validation_split", 0.0, r"a number in \(0, 1\)"),
        ("min_delta", -1.0, "a number >= 0"),
        ("inputs", "commands", "all or value"),
    ],
)
def test_a_bad_setting_names_its_field(field: str, value: object, allowed: str) -> None:
    with pytest.raises(InputError, match=rf"`{field}`.*{allowed}"):
        TelemanomBaselineConfig(**{field: value})  # type: ignore[arg-type]


def test_channels_with_different_command_columns(tmp_path: Path) -> None:
    root = _layout(tmp_path / "data")
    np.save(root / "train" / "A-1.npy", _sine(500, dims=6))  # a spacecraft with 5 commands
    np.save(root / "test" / "A-1.npy", _sine(600, dims=6, seed=10))
    report = evaluate_telemanom_baseline(root, seed=0, config=SMALL)
    assert report["models"] == 2 and report["channels"]["B-1"]["tp"] == 1
    assert report["params"] == sum(
        p.numel() for p in TelemanomLSTM(6, (8, 8), 3).parameters() if p.requires_grad
    )


def test_a_channel_too_short_is_named_by_its_file(tmp_path: Path) -> None:
    root = _layout(tmp_path / "data")
    np.save(root / "train" / "B-1.npy", _sine(22))
    with pytest.raises(DataError, match=r"train/B-1\.npy: a training series of 22 rows"):
        evaluate_telemanom_baseline(root, config=SMALL)
    np.save(root / "train" / "B-1.npy", _sine(500))
    np.save(root / "test" / "B-1.npy", _sine(20))  # no longer than l_s = 20
    labels = root / "labeled_anomalies.csv"
    labels.write_text(
        labels.read_text().replace('"[[300, 339]]",[point],600', '"[[5, 9]]",[point],20')
    )
    with pytest.raises(DataError, match=r"test/B-1\.npy: a series of shape \(20, 3\)"):
        evaluate_telemanom_baseline(root, config=SMALL)


def test_bad_training_inputs_are_named() -> None:
    with pytest.raises(DataError, match="60 rows is too short for l_s = 50"):
        train_telemanom_lstm(_sine(60), config=TelemanomBaselineConfig(l_s=50, layers=(4, 4)))
    with pytest.raises(InputError, match="`seed`"):
        train_telemanom_lstm(_sine(200), seed=-1, config=SMALL)
    with pytest.raises(InputError, match="`torch_device`"):
        train_telemanom_lstm(_sine(200), config=SMALL, torch_device="gpu")
