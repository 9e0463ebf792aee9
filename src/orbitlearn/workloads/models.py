"""Lightweight models for onboard training, with their parameter count and counted FLOPs.

- :class:`EnsembleMLP`: ``members`` small MLPs side by side on a feature vector (OPS-SAT-AD
  segment features); each member outputs one logit, trained on the same batches from its own
  initialisation; the prediction is the mean member probability. Averaging members cuts the
  seed-to-seed spread of a single small MLP at the same total size.
- :class:`WindowForecaster`: predicts the next value of a telemetry channel from a window of
  its past values and a summary of the commands (see :func:`orbitlearn.workloads.telemanom.
  window_features`): an MLP (``kind="mlp"``) or a 1D convolution over the value window
  followed by the same head (``kind="cnn"``).

Factories are small frozen dataclasses, so they pickle (a mission may train on another
process); losses are module-level functions for the same reason.

:func:`model_cost` reports parameters and the FLOPs of one training step (forward + backward),
counted with :class:`torch.utils.flop_counter.FlopCounterMode` through
:func:`orbitlearn.onboard.flops.count_step_flops`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from orbitlearn.errors import InputError
from orbitlearn.onboard.flops import count_step_flops
from orbitlearn.workloads.base import LossFn

__all__ = [
    "FORECASTER_KINDS",
    "BatchedEnsembleMLP",
    "BatchedEnsembleMLPFactory",
    "EnsembleMLP",
    "EnsembleMLPFactory",
    "MeanForecaster",
    "ModelCost",
    "WindowForecaster",
    "WindowForecasterFactory",
    "ensemble_bce_loss",
    "ensemble_probability",
    "forecast_mse_loss",
    "model_cost",
    "parameter_count",
]


def _positive_int(field: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(field, value, "an integer >= 1")


def _mlp(width_in: int, hidden: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(width_in, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden // 2),
        nn.ReLU(),
        nn.Linear(hidden // 2, 1),
    )


class EnsembleMLP(nn.Module):
    """``members`` MLPs (``n_features -> hidden -> hidden -> hidden/2 -> 1``) side by side.

    Input ``(batch, n_features)``; output logits ``(batch, members)``.

    >>> model = EnsembleMLP(18, hidden=64, members=8)
    >>> model(torch.zeros(5, 18)).shape, parameter_count(model)
    (torch.Size([5, 8]), 59912)
    """

    def __init__(
        self, n_features: int, *, hidden: int = 64, members: int = 8, dropout: float = 0.1
    ) -> None:
        super().__init__()
        _positive_int("n_features", n_features)
        _positive_int("members", members)
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 2:
            raise InputError("hidden", hidden, "an integer >= 2")
        if not 0.0 <= dropout < 1.0:
            raise InputError("dropout", dropout, "a number in [0, 1)")
        self.members = nn.ModuleList(_mlp(n_features, hidden, dropout) for _ in range(members))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([member(x) for member in self.members], dim=1)


class BatchedEnsembleMLP(nn.Module):
    """The :class:`EnsembleMLP` architecture with the members' weights stacked.

    Every layer holds ``(members, fan_in, fan_out)`` weights and runs all members in one
    batched matrix product, which trains several times faster on a CPU than a loop over
    members. Same parameter count and FLOPs as :class:`EnsembleMLP` of the same shape;
    initialisation as :class:`torch.nn.Linear` (uniform in ``+-1/sqrt(fan_in)``).

    Input ``(batch, n_features)``; output logits ``(batch, members)``.

    ``groups`` > 1: the input holds ``groups`` blocks of ``n_features`` columns side by side,
    ``(batch, groups * n_features)`` (the same rows encoded in different ways), and the members
    are dealt out in equal consecutive shares, the first share reading the first block and so
    on. Members that see the data differently err differently, so their mean is steadier than
    that of members that differ only in their initialisation; the parameter count is that of
    an ensemble on one block.

    >>> model = BatchedEnsembleMLP(18, hidden=64, members=8)
    >>> model(torch.zeros(5, 18)).shape, parameter_count(model)
    (torch.Size([5, 8]), 59912)
    >>> BatchedEnsembleMLP(18, members=8, groups=2)(torch.zeros(5, 36)).shape
    torch.Size([5, 8])
    """

    def __init__(
        self,
        n_features: int,
        *,
        hidden: int = 64,
        members: int = 8,
        dropout: float = 0.1,
        groups: int = 1,
    ) -> None:
        super().__init__()
        _positive_int("n_features", n_features)
        _positive_int("members", members)
        _positive_int("groups", groups)
        if members % groups:
            raise InputError("members", members, f"a multiple of groups = {groups}")
        self.n_features = n_features
        self.groups = groups
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 2:
            raise InputError("hidden", hidden, "an integer >= 2")
        if not 0.0 <= dropout < 1.0:
            raise InputError("dropout", dropout, "a number in [0, 1)")
        self.dropout = dropout
        widths = [n_features, hidden, hidden, hidden // 2, 1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in itertools.pairwise(widths):
            bound = 1.0 / fan_in**0.5
            self.weights.append(
                nn.Parameter(torch.empty(members, fan_in, fan_out).uniform_(-bound, bound))
            )
            self.biases.append(
                nn.Parameter(torch.empty(members, 1, fan_out).uniform_(-bound, bound))
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        members = self.weights[0].shape[0]
        if self.groups == 1:
            h = x.unsqueeze(0).expand(members, -1, -1)
        else:
            blocks = x.reshape(x.shape[0], self.groups, self.n_features).transpose(0, 1)
            h = blocks.repeat_interleave(members // self.groups, dim=0)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = torch.relu(h)
                if i < last - 1 and self.dropout > 0:
                    h = nn.functional.dropout(h, self.dropout, self.training)
        return h.squeeze(2).transpose(0, 1)


def ensemble_probability(logits: torch.Tensor) -> torch.Tensor:
    """Mean member probability, shape ``(batch,)``, from logits ``(batch, members)``."""
    return torch.sigmoid(logits).mean(dim=1)


def ensemble_bce_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of every member's logit against the 0/1 ``targets`` ``(batch,)``."""
    return nn.functional.binary_cross_entropy_with_logits(
        logits, targets.to(logits.dtype)[:, None].expand_as(logits)
    )


@dataclass(frozen=True)
class EnsembleMLPFactory:
    """Picklable ``seed -> EnsembleMLP``."""

    n_features: int
    hidden: int = 64
    members: int = 8
    dropout: float = 0.1

    def __call__(self, seed: int) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            return EnsembleMLP(
                self.n_features, hidden=self.hidden, members=self.members, dropout=self.dropout
            )


@dataclass(frozen=True)
class BatchedEnsembleMLPFactory:
    """Picklable ``seed -> BatchedEnsembleMLP``."""

    n_features: int
    hidden: int = 64
    members: int = 8
    dropout: float = 0.1
    groups: int = 1

    def __call__(self, seed: int) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            return BatchedEnsembleMLP(
                self.n_features,
                hidden=self.hidden,
                members=self.members,
                dropout=self.dropout,
                groups=self.groups,
            )


#: The forecaster architectures :class:`WindowForecaster` builds.
FORECASTER_KINDS = ("mlp", "cnn", "lstm")


class WindowForecaster(nn.Module):
    """Next-value forecaster over window features.

    Input ``(batch, window + n_extra)``: the last ``window`` values of the channel, then
    ``n_extra`` summary features (commands); output ``(batch,)``: the predicted next value
    (``(batch, horizon)``, the next ``horizon`` values, with ``horizon`` > 1; telemanom trains
    on 10 and uses the first). ``residual=True``: the network predicts the change from the
    last value in the window, which is added back, so an untrained network starts from the
    naive forecast "no change" (a strong one for step-like housekeeping telemetry).

    ``kind="mlp"``: an MLP with two hidden layers of ``hidden`` units. ``kind="cnn"``: two
    strided 1D convolutions (``channels`` filters, kernel 5, stride 2) over the value window,
    flattened and joined with the extra features, then the same MLP head. ``kind="lstm"``:
    two stacked LSTM layers of ``hidden`` units read the value window (telemanom's forecaster
    is two layers of 80); the last hidden state, joined with the extra features, feeds the
    same MLP head. A recurrent forecaster is slow to train on a CPU (one step per value of the
    window); it suits a GPU.

    >>> model = WindowForecaster(64, 108, hidden=64)
    >>> model(torch.zeros(3, 172)).shape, parameter_count(model)
    (torch.Size([3]), 15297)
    >>> WindowForecaster(64, 108, kind="cnn")(torch.zeros(3, 172)).shape
    torch.Size([3])
    >>> WindowForecaster(64, 108, kind="lstm", hidden=16)(torch.zeros(3, 172)).shape
    torch.Size([3])
    """

    def __init__(
        self,
        window: int,
        n_extra: int,
        *,
        hidden: int = 64,
        kind: str = "mlp",
        channels: int = 8,
        horizon: int = 1,
        residual: bool = False,
    ) -> None:
        super().__init__()
        _positive_int("window", window)
        _positive_int("horizon", horizon)
        if isinstance(n_extra, bool) or not isinstance(n_extra, int) or n_extra < 0:
            raise InputError("n_extra", n_extra, "an integer >= 0")
        _positive_int("hidden", hidden)
        if kind not in FORECASTER_KINDS:
            raise InputError("kind", kind, "one of " + ", ".join(map(repr, FORECASTER_KINDS)))
        self.window = window
        self.kind = kind
        self.horizon = horizon
        self.residual = residual
        self.conv: nn.Module | None = None
        self.lstm: nn.LSTM | None = None
        width = window
        if kind == "lstm":
            self.lstm = nn.LSTM(1, hidden, num_layers=2, batch_first=True)
            width = hidden
        if kind == "cnn":
            if window < 16:
                raise InputError("window", window, "at least 16 for kind='cnn'")
            _positive_int("channels", channels)
            self.conv = nn.Sequential(
                nn.Conv1d(1, channels, 5, stride=2),
                nn.ReLU(),
                nn.Conv1d(channels, channels, 5, stride=2),
                nn.ReLU(),
                nn.Flatten(),
            )
            length = ((window - 5) // 2 + 1 - 5) // 2 + 1
            width = channels * length
        self.head = nn.Sequential(
            nn.Linear(width + n_extra, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, horizon),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values, extra = x[:, : self.window], x[:, self.window :]
        last = values[:, -1:]
        if self.conv is not None:
            values = self.conv(values[:, None, :])
        elif self.lstm is not None:
            _, (hidden, _) = self.lstm(values[:, :, None])
            values = hidden[-1]
        out = self.head(torch.cat([values, extra], dim=1))
        if self.residual:
            out = out + last
        return out.squeeze(1) if self.horizon == 1 else out


class MeanForecaster(nn.Module):
    """The mean forecast of several independently trained forecasters (an ensemble).

    Input as the members'; output their mean, shape ``(batch,)`` or ``(batch, horizon)``.

    >>> a, b = WindowForecaster(4, 0, hidden=2), WindowForecaster(4, 0, hidden=2)
    >>> x = torch.randn(3, 4)
    >>> bool(torch.allclose(MeanForecaster([a, b])(x), (a(x) + b(x)) / 2))
    True
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise InputError("members", 0, "at least one forecaster")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x) for member in self.members]).mean(dim=0)


def forecast_mse_loss(prediction: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared forecast error."""
    return nn.functional.mse_loss(prediction, targets.to(prediction.dtype))


@dataclass(frozen=True)
class WindowForecasterFactory:
    """Picklable ``seed -> WindowForecaster``."""

    window: int
    n_extra: int
    hidden: int = 64
    kind: str = "mlp"
    channels: int = 8
    horizon: int = 1
    residual: bool = False

    def __call__(self, seed: int) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            return WindowForecaster(
                self.window,
                self.n_extra,
                hidden=self.hidden,
                kind=self.kind,
                channels=self.channels,
                horizon=self.horizon,
                residual=self.residual,
            )


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


@dataclass(frozen=True)
class ModelCost:
    """Size and counted compute of a model's training step.

    Attributes:
        params: trainable parameters.
        batch_size: the batch the FLOPs were counted on.
        forward_flops: FLOPs of the forward pass and loss of one batch.
        backward_flops: FLOPs of the backward pass of one batch.
    """

    params: int
    batch_size: int
    forward_flops: int
    backward_flops: int

    @property
    def flops_per_step(self) -> int:
        """Forward plus backward FLOPs of one training step."""
        return self.forward_flops + self.backward_flops

    def as_dict(self) -> dict[str, int]:
        return {
            "params": self.params,
            "batch_size": self.batch_size,
            "forward_flops": self.forward_flops,
            "backward_flops": self.backward_flops,
            "flops_per_step": self.flops_per_step,
        }


def model_cost(
    model: nn.Module, loss_fn: LossFn, example_inputs: torch.Tensor, example_targets: torch.Tensor
) -> ModelCost:
    """Parameters and counted FLOPs of one training step on a batch shaped like the examples.

    >>> cost = model_cost(EnsembleMLP(18, members=1), ensemble_bce_loss,
    ...                   torch.zeros(64, 18), torch.zeros(64))
    >>> cost.params, cost.forward_flops  # 2 x 64 x (18*64 + 64*64 + 64*32 + 32*1)
    (7489, 937984)
    """
    flops = count_step_flops(model, loss_fn, example_inputs, example_targets)
    return ModelCost(
        params=parameter_count(model),
        batch_size=int(example_inputs.shape[0]),
        forward_flops=flops.forward,
        backward_flops=flops.backward,
    )
