"""Model sizes, counted FLOPs, picklable factories."""

from __future__ import annotations

import pickle

import pytest
import torch

from orbitlearn.errors import InputError
from orbitlearn.workloads.models import (
    BatchedEnsembleMLP,
    BatchedEnsembleMLPFactory,
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
    # two stride-2 kernel-5 convolutions of the 64 values: 1 -> 8 channels over 30 outputs,
    # 8 -> 8 over 13; then a head on 8 x 13 + 8 command inputs: 112 -> 64 -> 64 -> 1
    first_conv = 8 * 1 * 5 * 30
    per_sample = first_conv + 8 * 8 * 5 * 13 + 112 * 64 + 64 * 64 + 64 * 1
    assert conv_cost.forward_flops == 2 * 16 * per_sample
    # backward: every weight gradient, and input gradients of every layer but the first
    assert conv_cost.backward_flops == 2 * 16 * (2 * per_sample - first_conv)
    assert conv_cost.params == parameter_count(cnn)


def test_lstm_forecaster_counts_its_recurrence() -> None:
    lstm = WindowForecasterFactory(32, 6, hidden=8, kind="lstm", horizon=2)(0)
    cost = model_cost(lstm, forecast_mse_loss, torch.zeros(4, 38), torch.zeros(4, 2))
    # two LSTM layers of 8 units over 32 values: 4 gates x 8 units from (input + 8 hidden)
    # each step (input 1, then 8); head on 8 + 6 extra inputs: 14 -> 8 -> 8 -> 2
    recurrence = 32 * 4 * 8 * ((1 + 8) + (8 + 8))
    per_sample = recurrence + 14 * 8 + 8 * 8 + 8 * 2
    assert cost.forward_flops == 2 * 4 * per_sample
    # two LSTM layers (weights, biases in and hidden): 4 x 8 x (1 + 8 + 2) + 4 x 8 x (8 + 8 + 2)
    lstm_params = 4 * 8 * (1 + 8 + 2) + 4 * 8 * (8 + 8 + 2)
    assert cost.params == lstm_params + (14 * 8 + 8) + (8 * 8 + 8) + (8 * 2 + 2)
    # the forecast depends on the order of the values, not only on their set
    x = torch.randn(1, 38)
    reversed_values = torch.cat([x[:, :32].flip(1), x[:, 32:]], dim=1)
    assert not torch.allclose(lstm(x), lstm(reversed_values))


def test_factories_pickle_and_are_deterministic() -> None:
    for factory in (
        EnsembleMLPFactory(18, members=2),
        BatchedEnsembleMLPFactory(18, members=2),
        WindowForecasterFactory(16, 4, kind="cnn"),
        WindowForecasterFactory(16, 4, kind="lstm", hidden=4),
        WindowForecasterFactory(16, 4, horizon=3),
    ):
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


def test_batched_ensemble_matches_the_member_loop() -> None:
    batched = BatchedEnsembleMLPFactory(28, hidden=64, members=3, dropout=0.0)(0)
    looped = EnsembleMLPFactory(28, hidden=64, members=3, dropout=0.0)(0)
    assert parameter_count(batched) == parameter_count(looped) == 3 * 8129
    # copy the loop's weights into the stacks: the outputs must agree
    with torch.no_grad():
        for m, member in enumerate(looped.members):
            linears = [layer for layer in member if isinstance(layer, torch.nn.Linear)]
            for i, layer in enumerate(linears):
                batched.weights[i][m] = layer.weight.T
                batched.biases[i][m, 0] = layer.bias
    x = torch.randn(7, 28, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(batched(x), looped(x))
    shape = (torch.zeros(32, 28), torch.zeros(32))
    a = model_cost(batched, ensemble_bce_loss, *shape)
    b = model_cost(looped, ensemble_bce_loss, *shape)
    assert (a.forward_flops, a.backward_flops) == (b.forward_flops, b.backward_flops)
    # dropout acts only while training
    noisy = BatchedEnsembleMLPFactory(28, members=2, dropout=0.5)(0)
    noisy.train()
    torch.manual_seed(0)
    assert not torch.equal(noisy(x), noisy(x))
    noisy.eval()
    torch.testing.assert_close(noisy(x), noisy(x))


def test_forecaster_horizon() -> None:
    model = WindowForecasterFactory(64, 108, horizon=10)(0)
    assert model(torch.zeros(3, 172)).shape == (3, 10)
    assert parameter_count(model) == 15_297 + 9 * 65


def test_grouped_ensemble_members_read_their_own_block() -> None:
    model = BatchedEnsembleMLPFactory(5, hidden=8, members=4, dropout=0.0, groups=2)(0)
    assert parameter_count(model) == parameter_count(
        BatchedEnsembleMLPFactory(5, hidden=8, members=4, dropout=0.0)(0)
    )
    x = torch.randn(6, 10, generator=torch.Generator().manual_seed(1))
    moved = x.clone()
    moved[:, 5:] += 1.0  # only the second block changes
    before, after = model(x), model(moved)
    torch.testing.assert_close(before[:, :2], after[:, :2])  # members 0, 1 read block 1
    assert (before[:, 2:] - after[:, 2:]).abs().max() > 1e-4  # members 2, 3 read block 2
    with pytest.raises(InputError, match="Expected `members` to be a multiple of groups = 3"):
        BatchedEnsembleMLP(5, members=4, groups=3)
