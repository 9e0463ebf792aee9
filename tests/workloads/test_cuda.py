"""Workload training and forecasting on a CUDA device (skipped where there is none)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from orbitlearn.workloads.base import Samples
from orbitlearn.workloads.models import WindowForecasterFactory, forecast_mse_loss
from orbitlearn.workloads.telemanom import ChannelSeries, TelemanomData, TelemanomWorkload
from orbitlearn.workloads.training import TrainingConfig, fit

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _sine_channel(n: int) -> ChannelSeries:
    t = np.arange(n, dtype=np.float32)
    values = np.sin(2 * np.pi * t / 50)[:, None].astype(np.float32)
    series = np.concatenate([values, np.zeros((n, 2), np.float32)], axis=1)
    return ChannelSeries("S-1", "SIM", series, series.copy(), [])


def test_fit_on_cuda_trains_there_and_keeps_the_best_weights() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (512, 1)).astype(np.float32)
    data = Samples(x, (3 * x[:, 0]).astype(np.float32), np.full(512, "s"), np.arange(512))
    model = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.Flatten(0))
    result = fit(
        model,
        data,
        loss_fn=forecast_mse_loss,
        seed=0,
        config=TrainingConfig(steps=300, learning_rate=0.1, eval_every=50, torch_device="cuda"),
        validation=data,
    )
    assert next(model.parameters()).device.type == "cuda"
    assert result.steps == 300
    assert result.validation[-1][1] < 1e-3  # y = 3 x learned
    assert float(model[0].weight.detach()) == pytest.approx(3.0, abs=0.02)


def test_lstm_forecasts_on_cuda_match_the_same_weights_on_cpu() -> None:
    workload = TelemanomWorkload(
        TelemanomData(Path("simulated"), [_sine_channel(400)]),
        window=32,
        hidden=16,
        kind="lstm",
        validation_fraction=0.0,
    )
    config = TrainingConfig(steps=200, learning_rate=3e-3, torch_device="cuda")
    model = workload.model_factory(0)
    fit(model, workload.train, loss_fn=workload.loss_fn, config=config, seed=0)
    on_gpu = workload.forecast(model, workload.test.inputs)
    on_cpu = workload.forecast(model.cpu(), workload.test.inputs)
    assert isinstance(on_gpu, np.ndarray) and on_gpu.shape == (workload.test.inputs.shape[0],)
    # cuDNN's recurrent kernels may multiply in TF32 (10-bit mantissa): agree to 1e-3 of a
    # series in [-1, 1]
    np.testing.assert_allclose(on_gpu, on_cpu, atol=1e-3)
    # it learned the sine: far better than forecasting zero (mean square 0.5)
    assert np.mean((on_cpu - workload.test.targets) ** 2) < 0.05


def test_factory_models_move_to_cuda() -> None:
    model = WindowForecasterFactory(16, 2, hidden=8, kind="lstm")(0).cuda()
    out = model(torch.zeros(3, 18, device="cuda"))
    assert out.device.type == "cuda" and out.shape == (3,)


def test_telemanom_baseline_trains_on_cuda_and_forecasts_like_the_cpu() -> None:
    from orbitlearn.workloads.telemanom_baseline import (
        TelemanomBaselineConfig,
        baseline_errors,
        train_telemanom_lstm,
    )

    series = _sine_channel(300).train
    config = TelemanomBaselineConfig(l_s=20, n_predictions=3, layers=(8, 8), epochs=3)
    model, fit_result = train_telemanom_lstm(series, seed=0, config=config, torch_device="cuda")
    assert next(model.parameters()).device.type == "cuda"
    assert fit_result["epochs"] == 3
    on_gpu = baseline_errors(model, series, l_s=20)
    on_cpu = baseline_errors(model.cpu(), series, l_s=20)
    assert on_gpu.shape == (280,)
    np.testing.assert_allclose(on_gpu, on_cpu, atol=1e-3)  # cuDNN may use TF32
