"""The PyTorch boundary: state-dict conversion and FedProx's proximal term in real training."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from orbitlearn.errors import InputError
from orbitlearn.federation import (
    arrays_to_state_dict,
    global_reference,
    proximal_term,
    state_dict_to_arrays,
)


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 1)
    )


def test_state_dict_round_trip_is_exact_including_buffers():
    model = _model()
    model.train()
    model(torch.randn(16, 4))  # moves BatchNorm statistics and num_batches_tracked
    arrays = state_dict_to_arrays(model.state_dict())
    assert (
        arrays["1.num_batches_tracked"].dtype == np.int64
        and int(arrays["1.num_batches_tracked"]) == 1
    )
    assert arrays["0.weight"].dtype == np.float32
    back = arrays_to_state_dict(arrays)
    fresh = _model()
    fresh.load_state_dict(back)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, fresh.state_dict()[name])


def test_bfloat16_goes_through_float32_and_back():
    sd = {"w": torch.randn(3, 3).to(torch.bfloat16)}
    arrays = state_dict_to_arrays(sd)
    assert arrays["w"].dtype == np.float32
    back = arrays_to_state_dict(arrays, like=sd)
    assert back["w"].dtype == torch.bfloat16 and torch.equal(back["w"], sd["w"])
    with pytest.raises(
        InputError, match="Expected `state_dict\\['x'\\]` to be a tensor or array, actual: 'list'"
    ):
        state_dict_to_arrays({"x": [1, 2]})


def test_proximal_term_value_and_gradient():
    model = _model()
    reference = global_reference(model, {k: v.numpy() + 0.5 for k, v in model.state_dict().items()})
    assert set(reference) == {n for n, _ in model.named_parameters()}
    mu = 0.3
    term = proximal_term(model, reference, mu)
    n_params = sum(p.numel() for p in model.parameters())
    assert float(term.detach()) == pytest.approx(0.5 * mu * 0.25 * n_params, rel=1e-5)
    term.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None
        torch.testing.assert_close(p.grad, mu * (p.detach() - reference[name]))
    assert float(proximal_term(model, reference, 0.0)) == 0.0
    with pytest.raises(
        InputError, match=re.escape("Expected `mu` to be a finite number >= 0, actual: -1.0")
    ):
        proximal_term(model, reference, -1.0)
    with pytest.raises(
        InputError,
        match=re.escape(
            "Expected `global_params` to be every trainable parameter, actual: 'no `0.weight`'"
        ),
    ):
        global_reference(model, {})


def test_proximal_term_limits_client_drift_in_local_training():
    """FedProx's point: with mu > 0 the local model stays closer to the global one."""
    torch.manual_seed(1)
    x = torch.randn(64, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 4.0

    def drift(mu: float) -> float:
        model = torch.nn.Linear(4, 1)
        torch.nn.init.zeros_(model.weight)
        torch.nn.init.zeros_(model.bias)
        reference = global_reference(model, state_dict_to_arrays(model.state_dict()))
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        for _ in range(50):
            opt.zero_grad()
            loss = torch.mean((model(x).squeeze(1) - y) ** 2) + proximal_term(model, reference, mu)
            loss.backward()
            opt.step()
        return float(
            sum(torch.sum((p.detach() - reference[n]) ** 2) for n, p in model.named_parameters())
        )

    assert drift(1.0) < 0.5 * drift(0.0)
