"""telemanom itself, reproduced: the baseline the telemanom-layout workload is compared with.

Hundman et al. (KDD 2018) publish their detector's figures on NASA MSL (precision 92.6 %,
recall 69.4 %) from one training run of their code. To compare with the *method* rather than
with one run, this module trains their forecaster the way their code does (the published
``config.yaml`` of the telemanom repository) and judges its errors with the same detection
(:func:`~orbitlearn.workloads.thresholds.detect_anomalies`, the paper's nonparametric dynamic
thresholding) and the same event-wise scoring as orbitlearn's own workload, so both are
measured on the same seeds, by the same code, in the same run:

- forecaster: LSTM(dims -> 80, whole sequence) -> dropout 0.3 -> LSTM(80 -> 80, last step)
  -> dropout 0.3 -> dense(10); Keras's initialisation (Glorot-uniform input weights,
  orthogonal recurrent weights, one bias per gate with the forget gate's at 1);
- inputs: the last ``l_s`` = 250 rows of *all* columns (the value and the command columns);
  targets: the next ``n_predictions`` = 10 values;
- training: Adam (Keras defaults: learning rate 1e-3, epsilon 1e-7), mean squared error,
  batch 64, at most 35 epochs over the shuffled windows of the training series, of which the
  last 20 % (after shuffling) validate; training stops once the validation loss has not
  fallen by 3e-4 for 10 epochs, keeping the last weights (Keras ``EarlyStopping`` without
  ``restore_best_weights``);
- errors: ``|y - y_hat|`` of the one-step-ahead forecast (telemanom's "first" aggregation)
  for every test point from index ``l_s`` on.

It trains with a plain loop, not the onboard trainer: it is the ground method being compared
with, not something meant to fly. Its recurrent layers make it slow on a CPU (about a quarter
of a second per step on one core here; an hour or more per seed for MSL's 27 channels); give
``torch_device="cuda"`` where a GPU exists.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from orbitlearn.errors import DataError, InputError, check_int
from orbitlearn.onboard.torch_device import model_device, parse_torch_device
from orbitlearn.workloads.telemanom import judge_channel, load_telemanom, summarise_channels
from orbitlearn.workloads.thresholds import DynamicThresholdConfig

__all__ = [
    "TelemanomBaselineConfig",
    "TelemanomLSTM",
    "baseline_errors",
    "evaluate_telemanom_baseline",
    "train_telemanom_lstm",
]

#: Windows forecast at once at test time.
_FORECAST_BATCH = 2048
#: What the forecaster may see (see :class:`TelemanomBaselineConfig`).
_INPUTS = ("all", "value")


@dataclass(frozen=True)
class TelemanomBaselineConfig:
    """telemanom's published configuration (``config.yaml``), the defaults here.

    Attributes:
        l_s: rows of history per input.
        n_predictions: values forecast per input.
        layers: units of the two LSTM layers.
        dropout: after each LSTM layer, in training.
        batch_size, epochs, learning_rate: training (Adam).
        validation_split: share of the shuffled training windows that validates.
        patience, min_delta: early stopping on the validation loss.
        inputs: ``"all"`` columns (telemanom) or only the ``"value"`` (column 0), an ablation
            that shows what the command columns add.
    """

    l_s: int = 250
    n_predictions: int = 10
    layers: tuple[int, int] = (80, 80)
    dropout: float = 0.3
    batch_size: int = 64
    epochs: int = 35
    learning_rate: float = 1e-3
    validation_split: float = 0.2
    patience: int = 10
    min_delta: float = 3e-4
    inputs: str = "all"

    def __post_init__(self) -> None:
        for name in ("l_s", "n_predictions", "batch_size", "epochs", "patience"):
            check_int(name, getattr(self, name), minimum=1)
        if len(self.layers) != 2 or any(
            isinstance(u, bool) or not isinstance(u, int) or u < 1 for u in self.layers
        ):
            raise InputError("layers", self.layers, "two integers >= 1 (units of each LSTM)")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError("dropout", self.dropout, "a number in [0, 1)")
        if not self.learning_rate > 0:
            raise InputError("learning_rate", self.learning_rate, "a number > 0")
        if not 0.0 < self.validation_split < 1.0:
            raise InputError("validation_split", self.validation_split, "a number in (0, 1)")
        if not self.min_delta >= 0:
            raise InputError("min_delta", self.min_delta, "a number >= 0")
        if self.inputs not in _INPUTS:
            raise InputError("inputs", self.inputs, " or ".join(_INPUTS))

    def columns(self, series: NDArray[np.floating[Any]]) -> NDArray[np.floating[Any]]:
        """The columns of a ``(time, dims)`` series the forecaster sees."""
        return series if self.inputs == "all" else series[:, :1]


class TelemanomLSTM(nn.Module):
    """telemanom's forecaster: two stacked LSTMs and a dense layer, Keras-initialised.

    Input ``(batch, l_s, dims)``, output ``(batch, n_predictions)``. The recurrent biases of
    PyTorch's LSTM are frozen at zero, so each gate has one trainable bias as in Keras and the
    parameter count is Keras's.

    >>> model = TelemanomLSTM(55)
    >>> sum(p.numel() for p in model.parameters() if p.requires_grad)
    95850
    >>> model(torch.zeros(2, 250, 55)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        dims: int,
        layers: tuple[int, int] = (80, 80),
        n_predictions: int = 10,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.first = nn.LSTM(dims, layers[0], batch_first=True)
        self.second = nn.LSTM(layers[0], layers[1], batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(layers[1], n_predictions)
        for lstm, units in ((self.first, layers[0]), (self.second, layers[1])):
            weights = dict(lstm.named_parameters())
            with torch.no_grad():
                for gate in range(4):  # PyTorch's gate order: input, forget, cell, output
                    rows = slice(gate * units, (gate + 1) * units)
                    nn.init.xavier_uniform_(weights["weight_ih_l0"][rows])
                    nn.init.orthogonal_(weights["weight_hh_l0"][rows])
                weights["bias_ih_l0"].zero_()
                weights["bias_ih_l0"][units : 2 * units] = 1.0
                weights["bias_hh_l0"].zero_()
            weights["bias_hh_l0"].requires_grad_(False)
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.first(x)
        hidden, _ = self.second(self.dropout(hidden))
        out: torch.Tensor = self.head(self.dropout(hidden[:, -1]))
        return out


def _windows(
    series: torch.Tensor, starts: torch.Tensor, cfg: TelemanomBaselineConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``(len(starts), l_s, dims)`` and targets ``(len(starts), n_predictions)`` of
    the windows beginning at the rows ``starts`` of a ``(time, dims)`` series."""
    rows = starts[:, None] + torch.arange(cfg.l_s + cfg.n_predictions, device=starts.device)
    return series[rows[:, : cfg.l_s]], series[rows[:, cfg.l_s :], 0]


def _mse(
    model: nn.Module, series: torch.Tensor, starts: torch.Tensor, cfg: TelemanomBaselineConfig
) -> float:
    """Mean squared error of ``model`` over the windows beginning at ``starts``."""
    total = 0.0
    with torch.no_grad():
        for chunk in torch.split(starts, _FORECAST_BATCH):
            x, y = _windows(series, chunk, cfg)
            total += float(nn.functional.mse_loss(model(x), y, reduction="sum"))
    return total / (starts.numel() * cfg.n_predictions)


def train_telemanom_lstm(
    series: NDArray[np.floating[Any]],
    *,
    seed: int = 0,
    config: TelemanomBaselineConfig | None = None,
    torch_device: str = "cpu",
) -> tuple[TelemanomLSTM, dict[str, Any]]:
    """Train telemanom's forecaster on one ``(time, dims)`` training series, as its code does.

    Returns:
        ``(model, fit)``: the model (in eval mode, on ``torch_device``) and ``epochs``,
        ``steps``, ``val_loss`` (of the last epoch), ``best_val_loss``, ``seconds``.

    Raises:
        DataError: a series too short for one training and one validation window.
        InputError: a bad seed or torch device.
    """
    cfg = config or TelemanomBaselineConfig()
    check_int("seed", seed)
    where = parse_torch_device("torch_device", torch_device)
    data = np.asarray(series, dtype=np.float32)
    if data.ndim != 2:
        raise DataError(f"a training series of shape {data.shape}; expected (time, dims)")
    data = cfg.columns(data)
    n_windows = data.shape[0] - cfg.l_s - cfg.n_predictions + 1
    n_train = int(n_windows * (1.0 - cfg.validation_split))
    if n_train < 1 or n_windows - n_train < 1:
        raise DataError(
            f"a training series of {data.shape[0]} rows is too short for l_s = {cfg.l_s}, "
            f"n_predictions = {cfg.n_predictions} and a validation split of "
            f"{cfg.validation_split}"
        )
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = TelemanomLSTM(data.shape[1], cfg.layers, cfg.n_predictions, cfg.dropout).to(where)
    optimiser = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=cfg.learning_rate, eps=1e-7
    )
    values = torch.from_numpy(data).to(where)
    starts = torch.randperm(n_windows, generator=generator).to(where)
    fit_starts, val_starts = starts[:n_train], starts[n_train:]
    best, waited, steps, epochs, val_loss = np.inf, 0, 0, 0, np.inf
    started = time.perf_counter()
    for epoch in range(cfg.epochs):
        model.train()
        order = fit_starts[torch.randperm(n_train, generator=generator).to(where)]
        for batch in torch.split(order, cfg.batch_size):
            x, y = _windows(values, batch, cfg)
            optimiser.zero_grad(set_to_none=True)
            nn.functional.mse_loss(model(x), y).backward()
            optimiser.step()
            steps += 1
        model.eval()
        val_loss = _mse(model, values, val_starts, cfg)
        epochs = epoch + 1
        if val_loss < best - cfg.min_delta:
            best, waited = val_loss, 0
        else:
            waited += 1
            if waited >= cfg.patience:
                break
    model.eval()
    return model, {
        "epochs": epochs,
        "steps": steps,
        "val_loss": val_loss,
        "best_val_loss": best,
        "seconds": time.perf_counter() - started,
    }


def baseline_errors(
    model: nn.Module, series: NDArray[np.floating[Any]], l_s: int = 250
) -> NDArray[np.float64]:
    """One-step-ahead errors ``|y - y_hat|`` for the points ``l_s .. time - 1`` of a
    ``(time, dims)`` series, shape ``(time - l_s,)``.

    Raises:
        DataError: the series is not longer than ``l_s``.
    """
    data = np.asarray(series, dtype=np.float32)
    if data.ndim != 2 or data.shape[0] <= l_s:
        raise DataError(f"a series of shape {data.shape}; expected (time > {l_s}, dims)")
    where = model_device(model)
    values = torch.from_numpy(data).to(where)
    starts = torch.arange(data.shape[0] - l_s, device=where)
    model.eval()
    parts = []
    with torch.no_grad():
        for chunk in torch.split(starts, _FORECAST_BATCH):
            rows = chunk[:, None] + torch.arange(l_s, device=where)
            parts.append(model(values[rows])[:, 0].double().cpu())
    forecast = torch.cat(parts).numpy()
    return np.abs(data[l_s:, 0].astype(np.float64) - forecast)


def evaluate_telemanom_baseline(
    root: str | Path,
    *,
    seed: int = 0,
    config: TelemanomBaselineConfig | None = None,
    spacecraft: str | None = None,
    channels: list[str] | None = None,
    thresholds: DynamicThresholdConfig | None = None,
    torch_device: str = "cpu",
) -> dict[str, Any]:
    """telemanom on a telemanom-layout directory: one model per channel, scored event-wise.

    Returns the same totals as :func:`~orbitlearn.workloads.evaluate.evaluate_telemanom`
    (``precision``, ``recall``, ``f1``, ``f0_5``, ``tp``, ``fp``, ``fn``, ``auc_roc``,
    ``auc_pr``), ``params`` (of the largest channel model: channels may have different
    numbers of command columns), ``models``, ``train_seconds``,
    ``epochs`` (per channel), ``channels`` and the settings.

    Raises:
        DataError: the directory cannot be used (see
            :func:`~orbitlearn.workloads.telemanom.load_telemanom`), or a channel too short.
        InputError: a bad seed, config or torch device.
    """
    cfg = config or TelemanomBaselineConfig()
    check_int("seed", seed)
    parse_torch_device("torch_device", torch_device)
    data = load_telemanom(root, spacecraft=spacecraft, channels=channels)
    detection = thresholds or DynamicThresholdConfig()
    results, epochs, seconds, params = [], {}, 0.0, 0
    for chan in data.channels:
        try:
            model, fit = train_telemanom_lstm(
                chan.train, seed=seed, config=cfg, torch_device=torch_device
            )
        except DataError as err:
            raise DataError(f"{data.root / 'train' / (chan.chan_id + '.npy')}: {err}") from None
        try:
            errors = baseline_errors(model, cfg.columns(chan.test), cfg.l_s)
        except DataError as err:
            raise DataError(f"{data.root / 'test' / (chan.chan_id + '.npy')}: {err}") from None
        params = max(params, sum(p.numel() for p in model.parameters() if p.requires_grad))
        epochs[chan.chan_id] = fit["epochs"]
        seconds += fit["seconds"]
        values = chan.test[cfg.l_s :, 0].astype(np.float64)
        results.append(
            judge_channel(chan, errors, values, cfg.l_s, detection, float(np.mean(errors**2)))
        )
    summary = summarise_channels(results)
    return {
        "workload": "telemanom-baseline",
        "data": str(data.root),
        "spacecraft": sorted({c.spacecraft for c in data.channels}),
        **{k: v for k, v in summary.items() if k != "channels"},
        "params": params,
        "models": len(results),
        "train_seconds": seconds,
        "epochs": epochs,
        "settings": {"seed": seed, **asdict(cfg), "torch_device": torch_device},
        "channels": summary["channels"],
    }
