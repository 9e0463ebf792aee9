"""Model sizes, counted FLOPs, picklable factories."""

from __future__ import annotations

import pickle

import torch

from orbitlearn.workloads.models import (
    EnsembleMLPFactory,
    WindowForecasterFactory,
    ensemble_bce_loss,
    ensemble_probability,
    forecast_mse_loss,
    model_cost,
    parameter_count,
)


def test_default_models_fit_onboard_budgets() -> None:
    ensemble = EnsembleMLPFactory(18)(0)
    assert parameter_count(ensemble) == 59_912 <= 100_000
    forecaster = WindowForecasterFactory(64, 108)(0)
    assert parameter_count(forecaster) == 15_297


def test_flops_are_counted_not_guessed() -> None:
    model = EnsembleMLPFactory(18, hidden=64, members=2)(0)
    cost = model_cost(model, ensemble_bce_loss, torch.zeros(32, 18), torch.zeros(32))
    # forward: 2 members x 2 x 32 x (18*64 + 64*64 + 64*32 + 32*1) multiply-adds
    assert cost.forward_flops == 2 * 2 * 32 * (18 * 64 + 64 * 64 + 64 * 32 + 32)
    # backward: weight gradients of every layer, input gradients of all but the first
    assert cost.forward_flops < cost.backward_flops < 2 * cost.forward_flops
    assert cost.flops_per_step == cost.forward_flops + cost.backward_flops
    cnn = WindowForecasterFactory(64, 8, kind="cnn")(0)
    conv_cost = model_cost(cnn, forecast_mse_loss, torch.zeros(16, 72), torch.zeros(16))
    assert conv_cost.forward_flops > 0 and conv_cost.params == parameter_count(cnn)


def test_factories_pickle_and_are_deterministic() -> None:
    for factory in (EnsembleMLPFactory(18, members=2), WindowForecasterFactory(16, 4, kind="cnn")):
        clone = pickle.loads(pickle.dumps(factory))
        a, b = factory(7), clone(7)
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            assert torch.equal(p, q)
        c = factory(8)
        assert not all(
            torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True)
        )
    pickle.dumps(ensemble_bce_loss)
    pickle.dumps(forecast_mse_loss)


def test_factory_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    EnsembleMLPFactory(18)(0)
    assert torch.equal(torch.rand(3), expected)


def test_ensemble_probability_is_mean_of_members() -> None:
    logits = torch.tensor([[0.0, 100.0], [-100.0, -100.0]])
    assert ensemble_probability(logits).tolist() == [0.75, 0.0]
