"""Training runs through the onboard trainer and keeps the best validated weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from orbitlearn.errors import InputError
from orbitlearn.onboard import OnboardTrainer
from orbitlearn.workloads.base import Samples
from orbitlearn.workloads.models import forecast_mse_loss
from orbitlearn.workloads.training import TrainingConfig, fit


def _line(n: int, slope: float, seed: int) -> Samples:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 1)).astype(np.float32)
    y = (slope * x[:, 0] + rng.normal(0, 0.01, n)).astype(np.float32)
    return Samples(x, y, np.full(n, "s"), np.arange(n))


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.Flatten(0))


def test_every_step_goes_through_the_onboard_trainer() -> None:
    slices: list[int] = []

    class Counting(OnboardTrainer):
        def train_slice(self, max_steps=None, **kwargs):  # type: ignore[no-untyped-def]
            result = super().train_slice(max_steps=max_steps, **kwargs)
            slices.append(result.steps)
            return result

    train, val = _line(512, 2.0, 0), _line(128, 2.0, 1)
    result = fit(
        _model(),
        train,
        loss_fn=forecast_mse_loss,
        seed=0,
        validation=val,
        config=TrainingConfig(steps=250, eval_every=100, learning_rate=0.05),
        trainer_factory=Counting,
    )
    assert slices == [100, 100, 50]
    assert result.steps == 250 and [s for s, _ in result.validation] == [100, 200, 250]
    # Linear(1, 1) on batches of 64: 2 FLOPs a sample forward, 2 for the weight gradient
    assert result.flops_per_step == 4 * 64
    # the default device (Jetson Orin Nano, 15 W mode) sustains 3.84e11 FLOP/s
    assert result.simulated_seconds == pytest.approx(250 * 256 / 3.84e11, rel=1e-12)
    assert result.joules == pytest.approx(15.0 * result.simulated_seconds, rel=1e-12)
    assert result.validation[-1][1] < 0.01


def test_best_validated_weights_are_kept() -> None:
    # Validation data from another slope: the longer training fits the training slope and
    # moves away from the validation one, so an earlier check wins.
    train, val = _line(512, 2.0, 0), _line(128, 0.5, 1)
    model = _model()
    result = fit(
        model,
        train,
        loss_fn=forecast_mse_loss,
        seed=0,
        validation=val,
        config=TrainingConfig(steps=400, eval_every=20, learning_rate=0.02),
    )
    losses = dict(result.validation)
    assert result.best_step == min(losses, key=losses.__getitem__) < 400
    with torch.no_grad():
        kept = float(
            forecast_mse_loss(model(torch.from_numpy(val.inputs)), torch.from_numpy(val.targets))
        )
    assert kept == pytest.approx(losses[result.best_step], rel=1e-5)
    assert not model.training


def test_same_seed_same_weights() -> None:
    train = _line(256, 1.0, 0)
    weights = []
    for _ in range(2):
        model = _model()
        fit(model, train, loss_fn=forecast_mse_loss, seed=4, config=TrainingConfig(steps=30))
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_threads_are_restored() -> None:
    before = torch.get_num_threads()
    fit(
        _model(),
        _line(64, 1.0, 0),
        loss_fn=forecast_mse_loss,
        seed=0,
        config=TrainingConfig(steps=5),
    )
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "Expected `steps` to be an integer >= 1, actual: 0"),
        (
            {"steps": 5, "eval_every": -1},
            r"Expected `eval_every` to be an integer >= 0 \(0: never\)",
        ),
        ({"steps": 5, "learning_rate": 0.0}, "Expected `learning_rate` to be a number > 0"),
        (
            {"steps": 5, "torch_device": "gpu"},
            "Expected `torch_device` to be a torch device such as cpu or cuda, actual: 'gpu'",
        ),
    ],
)
def test_config_is_checked(kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        TrainingConfig(**kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_cuda_is_refused_where_there_is_none() -> None:
    with pytest.raises(InputError, match=r"Expected `torch_device` to be cpu \(CUDA is not"):
        TrainingConfig(steps=5, torch_device="cuda")
