"""Spacecraft telemetry in the telemanom layout (NASA MSL, SMAP, or any mission laid out alike).

Layout (Hundman et al., KDD 2018; the telemanom repository)::

    <root>/train/<chan_id>.npy      (time, dims) float: column 0 the telemetry value,
    <root>/test/<chan_id>.npy       the other columns one-hot commands
    <root>/labeled_anomalies.csv    chan_id, spacecraft, anomaly_sequences, class, num_values

``anomaly_sequences`` lists inclusive ``[start, end]`` index ranges into the test series, such
as ``"[[1850, 2030]]"``; ``num_values`` is the length of the test series. Only ``chan_id`` and
``anomaly_sequences`` are required; with a ``spacecraft`` column, :func:`load_telemanom` can keep
one spacecraft's channels (the public file mixes SMAP and MSL).

The workload forecasts the next value of each channel from a window of its past values and a
summary of the commands (:func:`window_features`) with a
:class:`~orbitlearn.workloads.models.WindowForecaster`; anomalies are the sequences where the
forecast errors rise (or fall) beyond a threshold found without labels
(:func:`orbitlearn.workloads.thresholds.detect_anomalies`), scored event-wise as telemanom does.
Optionally the errors judged also carry the distance of the recent values to the nearest
stretch of the channel's training values (:func:`novelty_distances`), which counts a level or
shape never seen in training even where the forecaster follows it.
The first ``window`` test points of a channel cannot be forecast (no history in the test file)
and are never flagged.
"""

from __future__ import annotations

import ast
import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from orbitlearn.errors import DataError, InputError
from orbitlearn.onboard.torch_device import model_device
from orbitlearn.workloads.base import LossFn, Metric, ModelFactory, Samples, Workload
from orbitlearn.workloads.metrics import (
    EventCounts,
    auc_pr,
    auc_roc,
    event_counts,
    f_beta_interval,
    total_event_counts,
)
from orbitlearn.workloads.models import WindowForecasterFactory, forecast_mse_loss
from orbitlearn.workloads.thresholds import DynamicThresholdConfig, detect_anomalies

__all__ = [
    "LABELS_FILE",
    "ChannelResult",
    "ChannelSeries",
    "TelemanomData",
    "TelemanomWorkload",
    "judge_channel",
    "load_telemanom",
    "novelty_distances",
    "parse_sequences",
    "window_features",
]

LABELS_FILE = "labeled_anomalies.csv"
_REQUIRED = ("chan_id", "anomaly_sequences")


@dataclass(frozen=True)
class ChannelSeries:
    """One channel's series and labels.

    Attributes:
        chan_id: channel name (the ``.npy`` file stem).
        spacecraft: the ``spacecraft`` column ('' where the file has none).
        train: training series, shape ``(n_train, dims)`` float32.
        test: test series, shape ``(n_test, dims)`` float32.
        anomaly_sequences: labelled anomalies, inclusive ``(start, end)`` test indices.
        classes: the ``class`` entry of each sequence ('' where absent).
    """

    chan_id: str
    spacecraft: str
    train: NDArray[np.float32]
    test: NDArray[np.float32]
    anomaly_sequences: list[tuple[int, int]]
    classes: list[str] = field(default_factory=list)

    @property
    def dims(self) -> int:
        return int(self.train.shape[1])

    def test_labels(self) -> NDArray[np.bool_]:
        """Point labels of the test series, shape ``(n_test,)``."""
        labels = np.zeros(self.test.shape[0], dtype=bool)
        for start, end in self.anomaly_sequences:
            labels[start : end + 1] = True
        return labels


@dataclass(frozen=True)
class TelemanomData:
    """Channels read from a telemanom-layout directory."""

    root: Path
    channels: list[ChannelSeries]

    def __len__(self) -> int:
        return len(self.channels)

    def subset(self, chan_ids: list[str]) -> TelemanomData:
        """The named channels, in that order."""
        by_id = {c.chan_id: c for c in self.channels}
        return TelemanomData(self.root, [by_id[c] for c in chan_ids])


def parse_sequences(text: str) -> list[tuple[int, int]]:
    """Parse an ``anomaly_sequences`` entry such as ``"[[1850, 2030], [2100, 2210]]"``.

    Raises:
        ValueError: the text is not a list of ``[start, end]`` integer pairs with
            ``0 <= start <= end`` (the message says what is wrong).

    >>> parse_sequences("[[1250, 1450], [2670, 2790]]")
    [(1250, 1450), (2670, 2790)]
    """
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        raise ValueError("it is not a list literal") from None
    if not isinstance(value, list | tuple):
        raise ValueError("it is not a list")
    out = []
    for item in value:
        if (
            not isinstance(item, list | tuple)
            or len(item) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in item)
        ):
            raise ValueError(f"{item!r} is not a [start, end] pair of integers")
        start, end = int(item[0]), int(item[1])
        if start < 0 or end < start:
            raise ValueError(f"[{start}, {end}] does not have 0 <= start <= end")
        out.append((start, end))
    return out


def _load_series(path: Path, what: str) -> NDArray[np.float32]:
    if not path.is_file():
        raise DataError(f"{path}: no such file; every channel in {LABELS_FILE} needs {what}")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc})") from None
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise DataError(
            f"{path}: has shape {array.shape}, expected (time, dims) with column 0 the value"
        )
    if not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{path}: holds {array.dtype} values, expected numbers")
    if not np.isfinite(array).all():
        row = int(np.argwhere(~np.isfinite(array))[0][0])
        raise DataError(f"{path}: row {row} holds NaN or inf, expected finite values")
    return array.astype(np.float32)


def load_telemanom(
    root: str | Path,
    *,
    spacecraft: str | None = None,
    channels: list[str] | None = None,
) -> TelemanomData:
    """Read a telemanom-layout directory.

    Args:
        root: directory holding ``train/``, ``test/`` and ``labeled_anomalies.csv``.
        spacecraft: keep only rows of this spacecraft (needs a ``spacecraft`` column).
        channels: keep only these channel ids (in this order).

    Returns:
        :class:`TelemanomData` with the channels of the labels file (after filtering).

    Raises:
        DataError: a missing directory or file, missing columns, a bad ``anomaly_sequences``
            entry, a ``.npy`` file that is not a finite ``(time, dims)`` array, train and test
            files of one channel with different numbers of columns, a test length that does not
            match ``num_values``, a labelled range beyond the test series, an unknown
            spacecraft or channel, or nothing left after filtering.
    """
    base = Path(root)
    if not base.is_dir():
        raise DataError(
            f"{base}: no such directory; expected a telemanom-layout folder with train/, test/ "
            f"and {LABELS_FILE}"
        )
    for sub in ("train", "test"):
        if not (base / sub).is_dir():
            raise DataError(
                f"{base}: no {sub}/ directory; expected train/<chan>.npy and test/<chan>.npy"
            )
    labels_path = base / LABELS_FILE
    if not labels_path.is_file():
        raise DataError(f"{base}: no {LABELS_FILE}; it lists the channels and their anomalies")
    text = labels_path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise DataError(
            f"{labels_path}: the file is empty; expected a header with {', '.join(_REQUIRED)}"
        )
    header = [c.strip() for c in rows[0]]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise DataError(
            f"{labels_path}: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(f'`{c}`' for c in missing)}; found {', '.join(header)}"
        )
    col = {name: i for i, name in enumerate(header)}
    if spacecraft is not None and "spacecraft" not in col:
        raise DataError(
            f"{labels_path}: has no `spacecraft` column, so --spacecraft {spacecraft!r} cannot be used"
        )
    entries: list[tuple[int, dict[str, str]]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise DataError(
                f"{labels_path}, line {line}: has {len(row)} fields, expected {len(header)} "
                "(quote anomaly_sequences, it holds commas)"
            )
        entries.append((line, {name: row[i].strip() for name, i in col.items()}))
    crafts = sorted({e["spacecraft"] for _, e in entries}) if "spacecraft" in col else []
    if spacecraft is not None:
        entries = [(n, e) for n, e in entries if e["spacecraft"] == spacecraft]
        if not entries:
            raise DataError(
                f"{labels_path}: no channel of spacecraft {spacecraft!r}; "
                f"the file has {', '.join(repr(c) for c in crafts) or 'none'}"
            )
    by_id = {e["chan_id"]: (n, e) for n, e in entries}
    if channels is not None:
        unknown = [c for c in channels if c not in by_id]
        if unknown:
            raise DataError(
                f"{labels_path}: no channel {', '.join(repr(c) for c in unknown)}; "
                f"the file lists {', '.join(sorted(by_id))}"
            )
        entries = [by_id[c] for c in channels]
    if not entries:
        raise DataError(f"{labels_path}: lists no channels")
    out = []
    for line, entry in entries:
        chan = entry["chan_id"]
        try:
            sequences = parse_sequences(entry["anomaly_sequences"])
        except ValueError as exc:
            raise DataError(
                f"{labels_path}, line {line}: `anomaly_sequences` of channel {chan} is "
                f"{entry['anomaly_sequences']!r}: {exc}; expected a list of [start, end] pairs "
                "such as [[1850, 2030]]"
            ) from None
        train = _load_series(base / "train" / f"{chan}.npy", "train/<chan_id>.npy")
        test = _load_series(base / "test" / f"{chan}.npy", "test/<chan_id>.npy")
        if train.shape[1] != test.shape[1]:
            raise DataError(
                f"{base / 'test' / f'{chan}.npy'}: has {test.shape[1]} columns but "
                f"{base / 'train' / f'{chan}.npy'} has {train.shape[1]}; they must match"
            )
        if entry.get("num_values"):
            try:
                expected = int(float(entry["num_values"]))
            except ValueError:
                raise DataError(
                    f"{labels_path}, line {line}: `num_values` is {entry['num_values']!r}, "
                    "expected an integer"
                ) from None
            if expected != test.shape[0]:
                raise DataError(
                    f"{base / 'test' / f'{chan}.npy'}: has {test.shape[0]} rows but "
                    f"{LABELS_FILE} line {line} says num_values = {expected}"
                )
        beyond = [s for s in sequences if s[1] >= test.shape[0]]
        if beyond:
            raise DataError(
                f"{labels_path}, line {line}: anomaly sequence [{beyond[0][0]}, {beyond[0][1]}] of "
                f"channel {chan} ends beyond its {test.shape[0]} test rows"
            )
        classes = [c.strip() for c in entry.get("class", "").strip("[]").split(",") if c.strip()]
        out.append(
            ChannelSeries(chan, entry.get("spacecraft", ""), train, test, sequences, classes)
        )
    return TelemanomData(base, out)


def window_features(
    series: NDArray[np.float32], window: int, command_lags: int = 0
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Forecasting samples from a ``(time, dims)`` series.

    Sample ``i`` predicts the value ``series[i + window, 0]`` from rows ``i .. i + window - 1``:
    the ``window`` past values of column 0, then for each command column (1..dims-1) whether
    it is set in the last row and whether it is set anywhere in the window, then (with
    ``command_lags`` = L > 0) the command columns of the last L rows themselves, the latest
    row first, so the model sees how long ago a command was sent.

    Returns:
        ``(inputs, targets)``: shapes ``(time - window, window + (2 + L) (dims - 1))`` and
        ``(time - window,)``, float32.

    Raises:
        InputError: the series is not longer than ``window``, or ``command_lags`` is not in
            ``[0, window]``.

    >>> s = np.zeros((6, 2), np.float32); s[:, 0] = np.arange(6); s[1, 1] = 1
    >>> x, y = window_features(s, 3)
    >>> x.tolist(), y.tolist()
    ([[0.0, 1.0, 2.0, 0.0, 1.0], [1.0, 2.0, 3.0, 0.0, 1.0], [2.0, 3.0, 4.0, 0.0, 0.0]], [3.0, 4.0, 5.0])
    >>> window_features(s, 3, command_lags=2)[0][:, 5:].tolist()  # rows t-1, t-2 of command 1
    [[0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise InputError("window", window, "an integer >= 1")
    if (
        isinstance(command_lags, bool)
        or not isinstance(command_lags, int)
        or not 0 <= command_lags <= window
    ):
        raise InputError("command_lags", command_lags, f"an integer in [0, window={window}]")
    n_time, dims = series.shape
    if n_time <= window:
        raise InputError("series", f"{n_time} time steps", f"more than window = {window}")
    n = n_time - window
    values = np.lib.stride_tricks.sliding_window_view(series[:-1, 0], window)
    parts = [values]
    if dims > 1:
        commands = series[:, 1:] != 0
        last = commands[window - 1 : n_time - 1]
        counts = np.vstack([np.zeros((1, dims - 1), np.int64), np.cumsum(commands, axis=0)])
        any_in_window = (counts[window : window + n] - counts[:n]) > 0
        parts += [last, any_in_window]
        parts += [commands[window - 1 - k : window - 1 - k + n] for k in range(command_lags)]
    inputs = np.concatenate([p.astype(np.float32) for p in parts], axis=1)
    return inputs, series[window:, 0].astype(np.float32)


def novelty_distances(
    values: NDArray[np.floating[Any]],
    reference: NDArray[np.floating[Any]],
    window: int,
    chunk: int = 2048,
) -> NDArray[np.float64]:
    """Distance of each stretch of ``values`` to the nearest stretch of ``reference``.

    Point ``t`` (from ``window - 1`` on) gets the root-mean-square difference between
    ``values[t - window + 1 .. t]`` and the closest ``window`` consecutive values of
    ``reference`` (a nominal series, e.g. the training telemetry); the first ``window - 1``
    points get the distance of their first full stretch. A value level or a shape never seen
    in the reference scores high, whatever a forecaster makes of it.

    Args:
        values: the series judged, shape ``(n,)``.
        reference: nominal series, shape ``(m,)`` with ``m >= window``.
        window: stretch length (1: distance of each value to the nearest reference value).
        chunk: rows of ``values`` compared at once (bounds memory to ``chunk x m`` floats).

    Returns:
        Distances in units of the values, shape ``(n,)``.

    Raises:
        InputError: a bad window, or series shorter than it.

    >>> novelty_distances(np.array([0.0, 0.5, 3.0]), np.array([0.0, 1.0]), 1).tolist()
    [0.0, 0.5, 2.0]
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise InputError("window", window, "an integer >= 1")
    x = np.asarray(values, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if x.size < window or r.size < window:
        raise InputError(
            "values", f"{x.size} values and {r.size} reference values", f"at least {window} each"
        )
    queries = torch.from_numpy(np.lib.stride_tricks.sliding_window_view(x, window).copy())
    # Duplicate reference stretches (flat telemetry) change no distance; drop them.
    keys = torch.from_numpy(np.unique(np.lib.stride_tricks.sliding_window_view(r, window), axis=0))
    nearest = torch.cat(
        [torch.cdist(q, keys).min(dim=1).values for q in torch.split(queries, chunk)]
    ).numpy()
    nearest /= np.sqrt(window)
    return np.r_[np.full(window - 1, nearest[0]), nearest]


@dataclass
class ChannelResult:
    """Detection on one channel's test series.

    Attributes:
        chan_id: channel.
        counts: event-wise counts against the labels.
        predicted: detected sequences (inclusive test indices).
        labelled: labelled sequences.
        score: point score per test index, shape ``(n_test,)`` (the first ``window`` points,
            which cannot be forecast, get the channel's lowest score).
        labels: point labels, shape ``(n_test,)``.
        forecast_mse: mean squared forecast error on the test series.
    """

    chan_id: str
    counts: EventCounts
    predicted: list[tuple[int, int]]
    labelled: list[tuple[int, int]]
    score: NDArray[np.float64]
    labels: NDArray[np.bool_]
    forecast_mse: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "chan_id": self.chan_id,
            **self.counts.as_dict(),
            "auc_roc": auc_roc(self.labels, self.score),
            "auc_pr": auc_pr(self.labels, self.score),
            "predicted_sequences": [list(s) for s in self.predicted],
            "labelled_sequences": [list(s) for s in self.labelled],
            "forecast_mse": self.forecast_mse,
        }


#: Rows forecast at once (bounds the memory of a recurrent forecaster's activations).
_FORECAST_BATCH = 8192


class TelemanomWorkload(Workload):
    """Forecasting-based anomaly detection on telemanom-layout channels.

    Args:
        data: the channels (one model serves all of them; give one channel for
            telemanom's one-model-per-channel protocol).
        window: past values the forecaster sees.
        hidden, kind, horizon: the :class:`~orbitlearn.workloads.models.WindowForecaster`
            (``horizon`` > 1: trained to forecast that many next values; detection uses the
            first).
        command_lags: command rows of the last steps given to the model (see
            :func:`window_features`).
        residual: the forecaster predicts the change from the last value (see
            :class:`~orbitlearn.workloads.models.WindowForecaster`).
        error_step: detection judges the errors of the forecasts this many values ahead
            (1 .. ``horizon``; default 1): the forecast of the value at ``t`` made at
            ``t - error_step``. A forecaster that sees the last value tracks a slow anomaly
            one step behind it, so its one-step errors stay small; further ahead it cannot.
        validation_fraction: the last share (in time) of each channel's training windows held
            out for model selection.
        thresholds: dynamic-threshold parameters.
        novelty_window, novelty_weight: with ``novelty_window`` > 0, the error judged at a
            point is the forecast error plus ``novelty_weight`` times the distance of the last
            ``novelty_window`` values to the nearest such stretch of the channel's training
            values (:func:`novelty_distances`; the reference is the training rows the
            forecaster was fitted on, so the held-out validation rows are not in it).
        step_novelty_weight: > 0 adds this weight times the distance of each step (the change
            from the previous value) to the nearest step of the training values: a jump of a
            size or sign the channel never made in training counts.

    Samples: inputs are :func:`window_features` rows, targets the next value; the source is the
    channel and the position the time index of the predicted value.

    Raises:
        InputError: a bad window or validation fraction.
        DataError: channels with different numbers of columns, or a training series too short
            for the window and the validation split.
    """

    name = "telemanom"
    metric = Metric("f0_5", True, "event-wise F0.5 over the test series (telemanom scoring)")

    def __init__(
        self,
        data: TelemanomData,
        *,
        window: int = 64,
        hidden: int = 64,
        kind: str = "mlp",
        horizon: int = 1,
        command_lags: int = 0,
        residual: bool = False,
        error_step: int = 1,
        validation_fraction: float = 0.2,
        thresholds: DynamicThresholdConfig | None = None,
        novelty_window: int = 0,
        novelty_weight: float = 1.0,
        step_novelty_weight: float = 0.0,
    ) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise InputError("window", window, "an integer >= 1")
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise InputError("horizon", horizon, "an integer >= 1")
        if (
            isinstance(error_step, bool)
            or not isinstance(error_step, int)
            or not 1 <= error_step <= horizon
        ):
            raise InputError("error_step", error_step, f"an integer in [1, horizon={horizon}]")
        if not 0.0 <= validation_fraction < 1.0:
            raise InputError("validation_fraction", validation_fraction, "a number in [0, 1)")
        dims = {c.dims for c in data.channels}
        if len(dims) > 1:
            raise DataError(
                f"{data.root}: channels have different numbers of columns ({sorted(dims)}); "
                "one model needs the same layout (train one model per channel instead)"
            )
        self.data = data
        if (
            isinstance(command_lags, bool)
            or not isinstance(command_lags, int)
            or not 0 <= command_lags <= window
        ):
            raise InputError("command_lags", command_lags, f"an integer in [0, window={window}]")
        self.window = window
        self.horizon = horizon
        self.error_step = error_step
        self.command_lags = command_lags
        self.thresholds = thresholds or DynamicThresholdConfig()
        if (
            isinstance(novelty_window, bool)
            or not isinstance(novelty_window, int)
            or not 0 <= novelty_window <= window
        ):
            raise InputError(
                "novelty_window", novelty_window, f"an integer in [0, window={window}]"
            )
        if not (np.isfinite(novelty_weight) and novelty_weight >= 0):
            raise InputError("novelty_weight", novelty_weight, "a finite number >= 0")
        self.novelty_window = novelty_window
        self.novelty_weight = float(novelty_weight)
        if not (np.isfinite(step_novelty_weight) and step_novelty_weight >= 0):
            raise InputError("step_novelty_weight", step_novelty_weight, "a finite number >= 0")
        self.step_novelty_weight = float(step_novelty_weight)
        #: Per channel: the training values the forecaster is fitted on (novelty reference).
        self.reference: dict[str, NDArray[np.float32]] = {}
        dim = dims.pop()
        self._factory = WindowForecasterFactory(
            window,
            (2 + command_lags) * (dim - 1),
            hidden,
            kind,
            horizon=horizon,
            residual=residual,
        )
        train_parts, val_parts, test_parts = [], [], []
        for chan in data.channels:
            n_windows = chan.train.shape[0] - window - horizon + 1
            n_val = round(n_windows * validation_fraction)
            if n_windows - n_val < 1 or (validation_fraction > 0 and n_val < 1):
                raise DataError(
                    f"{data.root / 'train' / (chan.chan_id + '.npy')}: {chan.train.shape[0]} rows "
                    f"are too few for a window of {window} and a validation share of "
                    f"{validation_fraction}"
                )
            if chan.test.shape[0] <= window:
                raise DataError(
                    f"{data.root / 'test' / (chan.chan_id + '.npy')}: {chan.test.shape[0]} rows "
                    f"are too few for a window of {window}"
                )
            samples = self._samples(chan, chan.train, horizon)
            cut = n_windows - n_val
            self.reference[chan.chan_id] = chan.train[: cut + window + horizon - 1, 0]
            train_parts.append(samples.subset(np.arange(cut)))
            val_parts.append(samples.subset(np.arange(cut, n_windows)))
            test_parts.append(self._samples(chan, chan.test))
        self.train = _concat(train_parts)
        self.validation = _concat(val_parts) if validation_fraction > 0 else None
        self.test = _concat(test_parts)

    def _samples(
        self, chan: ChannelSeries, series: NDArray[np.float32], horizon: int = 1
    ) -> Samples:
        inputs, targets = window_features(series, self.window, self.command_lags)
        if horizon > 1:
            targets = np.lib.stride_tricks.sliding_window_view(targets, horizon).copy()
            inputs = inputs[: targets.shape[0]]
        n = targets.shape[0]
        return Samples(
            inputs,
            targets,
            np.full(n, chan.chan_id),
            np.arange(self.window, self.window + n, dtype=np.int64),
        )

    @classmethod
    def from_path(
        cls,
        root: str | Path,
        *,
        spacecraft: str | None = None,
        channels: list[str] | None = None,
        **kwargs: Any,
    ) -> TelemanomWorkload:
        """Load a telemanom-layout directory and build the workload."""
        return cls(load_telemanom(root, spacecraft=spacecraft, channels=channels), **kwargs)

    @property
    def model_factory(self) -> ModelFactory:
        return self._factory

    @property
    def loss_fn(self) -> LossFn:
        return forecast_mse_loss

    def forecast(
        self, model: nn.Module, inputs: NDArray[np.float32], step: int = 1
    ) -> NDArray[np.float64]:
        """The model's forecast ``step`` values ahead (1 .. horizon) for each row of ``inputs``,
        shape ``(n,)``."""
        model.eval()
        where = model_device(model)
        parts = []
        with torch.no_grad():
            for start in range(0, inputs.shape[0], _FORECAST_BATCH):
                rows = torch.from_numpy(inputs[start : start + _FORECAST_BATCH]).to(where)
                parts.append(model(rows).double().cpu().numpy())
        out = np.concatenate(parts) if parts else np.zeros((0,))
        return out[:, step - 1] if out.ndim == 2 else out

    def step_errors(
        self, model: nn.Module, series: NDArray[np.float32], chan_id: str | None = None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
        """Errors judged on a ``(time, dims)`` series: forecast errors at :attr:`error_step`
        values ahead, plus the weighted novelty distance when :attr:`novelty_window` > 0.

        Args:
            model: the trained forecaster.
            series: the series.
            chan_id: whose training values are the novelty reference (default: the
                workload's only channel).

        Returns:
            ``(errors, values, offset)``: ``errors[i] = |values[i] - forecast|`` (plus the
            novelty term) for the value at series index ``offset + i``, where
            ``offset = window + error_step - 1`` (the points before have too little history);
            shapes ``(time - offset,)``.
        """
        _, errors, values, offset = self._errors(model, series, chan_id)
        return errors, values, offset

    def _errors(
        self, model: nn.Module, series: NDArray[np.float32], chan_id: str | None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], int]:
        """``(forecast errors, judged errors, values, offset)`` (see :meth:`step_errors`)."""
        inputs, targets = window_features(series, self.window, self.command_lags)
        k = self.error_step
        predicted = self.forecast(model, inputs, k)
        values = targets.astype(np.float64)[k - 1 :]
        predicted = predicted[: predicted.size - (k - 1)]
        offset = self.window + k - 1
        forecast_errors = np.abs(values - predicted)
        errors = forecast_errors
        uses_value = bool(self.novelty_window and self.novelty_weight > 0)
        if uses_value or self.step_novelty_weight > 0:
            if chan_id is None:
                if len(self.reference) != 1:
                    raise InputError("chan_id", None, f"one of {', '.join(self.reference)}")
                chan_id = next(iter(self.reference))
            reference = self.reference[chan_id]
        if uses_value:
            distance = novelty_distances(series[:, 0], reference, self.novelty_window)
            errors = errors + self.novelty_weight * distance[offset:]
        if self.step_novelty_weight > 0:
            steps = np.diff(series[:, 0].astype(np.float64), prepend=float(series[0, 0]))
            step_distance = novelty_distances(steps, np.diff(reference.astype(np.float64)), 1)
            errors = errors + self.step_novelty_weight * step_distance[offset:]
        return forecast_errors, errors, values, offset

    def detect(self, model: nn.Module) -> list[ChannelResult]:
        """Forecast every channel's test series, threshold the errors, score against labels."""
        model.eval()
        results = []
        for chan in self.data.channels:
            forecast_errors, errors, values, offset = self._errors(model, chan.test, chan.chan_id)
            results.append(
                judge_channel(
                    chan,
                    errors,
                    values,
                    offset,
                    self.thresholds,
                    float(np.mean(forecast_errors**2)),
                )
            )
        return results

    def evaluate(self, model: nn.Module) -> float:
        total = total_event_counts({r.chan_id: r.counts for r in self.detect(model)})
        return 0.0 if total.f0_5 is None else float(total.f0_5)

    def report(self, model: nn.Module) -> dict[str, Any]:
        return summarise_channels(self.detect(model))


def judge_channel(
    chan: ChannelSeries,
    errors: NDArray[np.float64],
    values: NDArray[np.float64],
    offset: int,
    thresholds: DynamicThresholdConfig,
    forecast_mse: float,
) -> ChannelResult:
    """Detection on one channel's test series, scored against its labels.

    ``errors[i]`` (and ``values[i]``) belong to test index ``offset + i``; the points before
    ``offset`` have too little history to be judged and get the channel's lowest score.
    """
    found = detect_anomalies(errors, values, thresholds)
    sequences = [(s + offset, e + offset) for s, e in found.sequences]
    return ChannelResult(
        chan_id=chan.chan_id,
        counts=event_counts(chan.anomaly_sequences, sequences),
        predicted=sequences,
        labelled=list(chan.anomaly_sequences),
        score=np.r_[np.full(offset, found.score.min()), found.score],
        labels=chan.test_labels(),
        forecast_mse=float(forecast_mse),
    )


def summarise_channels(results: list[ChannelResult]) -> dict[str, Any]:
    """Totals (event-wise counts summed over channels, with 95 % bootstrap intervals of F1 and
    F0.5 resampling the channels; point-wise AUCs over all test points, the scores being
    comparable across channels) and the per-channel results."""
    total = total_event_counts({r.chan_id: r.counts for r in results})
    per_channel = [[getattr(r.counts, key) for r in results] for key in ("tp", "fp", "fn")]
    labels = np.concatenate([r.labels for r in results]) if results else np.zeros(0, bool)
    scores = np.concatenate([r.score for r in results]) if results else np.zeros(0)
    return {
        **total.as_dict(),
        # 95 % bootstrap intervals over the channels (each channel's event counts).
        "f1_interval": f_beta_interval(*per_channel) if results else None,
        "f0_5_interval": f_beta_interval(*per_channel, beta=0.5) if results else None,
        "auc_roc": auc_roc(labels, scores) if labels.size else None,
        "auc_pr": auc_pr(labels, scores) if labels.size else None,
        "labelled_sequences": sum(len(r.labelled) for r in results),
        "channels": {r.chan_id: r.as_dict() for r in results},
    }


def _concat(parts: list[Samples]) -> Samples:
    return Samples(
        np.concatenate([p.inputs for p in parts]),
        np.concatenate([p.targets for p in parts]),
        np.concatenate([p.source for p in parts]),
        np.concatenate([p.position for p in parts]),
    )
