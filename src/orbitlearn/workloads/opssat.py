"""OPS-SAT-AD: the feature table of ESA OPS-SAT telemetry segments, and its workload.

The table (``dataset.csv``; Ruszczak et al., "The OPS-SAT benchmark for detecting anomalies in
satellite telemetry", Scientific Data 12:710, 2025; Zenodo 12588359) has one row per telemetry
segment: ``segment`` (id), ``anomaly`` (0/1 label), ``train`` (1: the official training split,
0: the test split), ``channel`` (the telemetry channel's name), ``sampling`` (the sampling
interval) and 18 hand-crafted features of the segment (:data:`FEATURES`).

:func:`load_opssat` reads and checks it; :class:`OpsSatWorkload` encodes each segment
(:class:`FeatureEncoder`: by default two blocks, each the 18 features, the sampling interval
and a one-hot channel, the features standardised with the statistics of all training rows in
the first and of the nominal training rows in the second, squashed by asinh) and detects
anomalous segments with a :class:`~orbitlearn.workloads.models.BatchedEnsembleMLP` whose
members are shared out over the blocks (F1 at probability 0.5). For federated learning,
satellites get whole channels (non-IID) or random rows (IID).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from orbitlearn.errors import DataError, InputError
from orbitlearn.workloads.base import LossFn, Metric, ModelFactory, Samples, Workload
from orbitlearn.workloads.metrics import auc_pr, auc_roc, binary_scores, f_beta_interval
from orbitlearn.workloads.models import (
    BatchedEnsembleMLPFactory,
    ensemble_bce_loss,
    ensemble_probability,
)

__all__ = [
    "FEATURES",
    "META_COLUMNS",
    "TRANSFORMS",
    "FeatureEncoder",
    "OpsSatTable",
    "OpsSatWorkload",
    "Standardizer",
    "load_opssat",
]

#: Identification and label columns, in the order of the published file.
META_COLUMNS = ("segment", "anomaly", "train", "channel", "sampling")
#: The 18 segment features of the published file.
FEATURES = (
    "duration",
    "len",
    "mean",
    "var",
    "std",
    "kurtosis",
    "skew",
    "n_peaks",
    "smooth10_n_peaks",
    "smooth20_n_peaks",
    "diff_peaks",
    "diff2_peaks",
    "diff_var",
    "diff2_var",
    "gaps_squared",
    "len_weighted",
    "var_div_duration",
    "var_div_len",
)
FILE_NAME = "dataset.csv"


@dataclass(frozen=True)
class OpsSatTable:
    """The OPS-SAT-AD table, one entry per segment (shapes ``(n,)`` unless stated).

    Attributes:
        path: the file read.
        segment: segment ids.
        anomaly: anomaly labels.
        train: True for rows of the official training split.
        channel: telemetry channel names.
        sampling: sampling interval of the segment.
        features: the :data:`FEATURES`, shape ``(n, 18)``, float64.
    """

    path: Path
    segment: NDArray[np.int64]
    anomaly: NDArray[np.bool_]
    train: NDArray[np.bool_]
    channel: NDArray[np.str_]
    sampling: NDArray[np.float64]
    features: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.segment.size)

    def with_split(self, train: NDArray[np.bool_], keep: NDArray[np.bool_]) -> OpsSatTable:
        """The rows ``keep`` with ``train`` as their training flags (a cross-validation fold).

        Args:
            train: new training flags, shape ``(n,)`` (rows not kept are ignored).
            keep: the rows to keep, shape ``(n,)``.
        """
        return replace(
            self,
            segment=self.segment[keep],
            anomaly=self.anomaly[keep],
            train=np.asarray(train, dtype=bool)[keep],
            channel=self.channel[keep],
            sampling=self.sampling[keep],
            features=self.features[keep],
        )


def _resolve(path: str | Path) -> Path:
    p = Path(path)
    if p.is_dir():
        candidate = p / FILE_NAME
        if not candidate.is_file():
            raise DataError(
                f"{p}: no {FILE_NAME} in this directory; expected the OPS-SAT-AD feature table "
                f"(columns {', '.join(META_COLUMNS)} and 18 features)"
            )
        return candidate
    if not p.exists():
        raise DataError(
            f"{p}: no such file; expected the OPS-SAT-AD feature table {FILE_NAME} "
            "(or the directory holding it)"
        )
    return p


def _number(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataError(
            f"{path}, line {line}: column `{column}` has value {text!r}, expected a number"
        ) from None
    if not math.isfinite(value):
        raise DataError(
            f"{path}, line {line}: column `{column}` has value {text!r}, expected a finite number"
        )
    return value


def _flag(path: Path, line: int, column: str, text: str) -> bool:
    value = _number(path, line, column, text)
    if value not in (0.0, 1.0):
        raise DataError(
            f"{path}, line {line}: column `{column}` has value {text!r}, expected 0 or 1"
        )
    return value == 1.0


def load_opssat(path: str | Path) -> OpsSatTable:
    """Read and check the OPS-SAT-AD feature table.

    Args:
        path: ``dataset.csv`` or the directory holding it.

    Returns:
        An :class:`OpsSatTable`.

    Raises:
        DataError: the file is missing or empty, lacks columns (the message names them), has a
            value that is not a number or a 0/1 flag where one is needed (the message names
            the line and column), or has no training or no test rows.
    """
    p = _resolve(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise DataError(f"{p}: is not a UTF-8 text file; expected a CSV table") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise DataError(
            f"{p}: the file is empty; expected a header line with the columns "
            f"{', '.join(META_COLUMNS + FEATURES)}"
        )
    header = [cell.strip() for cell in rows[0]]
    missing = [c for c in META_COLUMNS + FEATURES if c not in header]
    if missing:
        raise DataError(
            f"{p}: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(f'`{c}`' for c in missing)}; found {', '.join(header)}"
        )
    where = {name: header.index(name) for name in META_COLUMNS + FEATURES}
    segment, anomaly, train, channel, sampling, features = [], [], [], [], [], []
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataError(
                f"{p}, line {line}: has {len(row)} fields, expected {len(header)} (as the header)"
            )
        segment.append(_number(p, line, "segment", row[where["segment"]]))
        anomaly.append(_flag(p, line, "anomaly", row[where["anomaly"]]))
        train.append(_flag(p, line, "train", row[where["train"]]))
        name = row[where["channel"]].strip()
        if not name:
            raise DataError(f"{p}, line {line}: column `channel` is empty, expected a channel name")
        channel.append(name)
        sampling.append(_number(p, line, "sampling", row[where["sampling"]]))
        features.append([_number(p, line, f, row[where[f]]) for f in FEATURES])
    if not segment:
        raise DataError(f"{p}: the table has a header but no rows")
    table = OpsSatTable(
        path=p,
        segment=np.asarray(segment, dtype=np.int64),
        anomaly=np.asarray(anomaly, dtype=bool),
        train=np.asarray(train, dtype=bool),
        channel=np.asarray(channel, dtype=np.str_),
        sampling=np.asarray(sampling, dtype=np.float64),
        features=np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURES)),
    )
    if not table.train.any() or table.train.all():
        which = "training (train = 1)" if not table.train.any() else "test (train = 0)"
        raise DataError(f"{p}: the table has no {which} rows; the official split needs both")
    return table


@dataclass(frozen=True)
class Standardizer:
    """Feature standardisation ``(x - mean) / std`` with statistics of the training rows only.

    >>> s = Standardizer.fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.apply(np.array([[2.0, 5.0]])).tolist()  # a constant feature keeps scale 1
    [[0.0, 0.0]]
    """

    mean: NDArray[np.float64]
    scale: NDArray[np.float64]

    @classmethod
    def fit(cls, features: NDArray[np.float64]) -> Standardizer:
        std = features.std(axis=0)
        return cls(features.mean(axis=0), np.where(std > 0, std, 1.0))

    def apply(self, features: NDArray[np.float64]) -> NDArray[np.float32]:
        return ((features - self.mean) / self.scale).astype(np.float32)


#: Ways :class:`FeatureEncoder` can map the 18 features before standardising them.
TRANSFORMS = ("standard", "log", "both", "relative", "nominal")
#: A channel needs this many nominal training rows for its own statistics in "relative".
MIN_CHANNEL_ROWS = 10


def _log_rules(features: NDArray[np.float64]) -> tuple[tuple[str, ...], NDArray[np.float64]]:
    lows = features.min(axis=0)
    rules = tuple("log" if low > 0 else "log1p" if low == 0 else "asinh" for low in lows)
    medians = np.median(np.abs(features), axis=0)
    offsets = np.where(
        np.array([r == "log" for r in rules]), lows, np.where(medians > 0, medians, 1.0)
    )
    return rules, offsets


@dataclass(frozen=True)
class FeatureEncoder:
    """Model inputs of OPS-SAT-AD rows, with every statistic taken from the training rows.

    ``transform`` picks the blocks of feature columns, each standardised with the training
    rows' mean and standard deviation:

    - ``"standard"``: the 18 features as they are;
    - ``"log"``: each feature mapped by a rule chosen from its training values: ``log(x)``
      where they are all positive (variances, durations: they span up to ten orders of
      magnitude, so standardising them raw squeezes nearly all segments into one value),
      ``log(1 + x)`` where they are non-negative with zeros (peak counts), and
      ``asinh(x / m)`` with ``m`` the median of ``|x|`` where they take both signs (mean,
      skew, kurtosis); values of other rows below a positive feature's training minimum are
      clipped to it;
    - ``"both"``: the standard block, then the log block;
    - ``"relative"``: the standard block, then the log block measured against the row's own
      channel: ``asinh((v - mean_c) / sd_c)`` with the mean and standard deviation of the log
      block over the channel's *nominal* training rows (all nominal training rows where the
      channel has fewer than :data:`MIN_CHANNEL_ROWS`, or is unseen). A variance that is
      ordinary for one channel can be anomalous for another;
    - ``"nominal"``: the 18 features (and the sampling column) standardised with the mean and
      standard deviation of the *nominal* training rows only (as the dataset authors' examples
      scale them, Ruszczak et al. 2025), then squashed by ``asinh``: a feature becomes the
      distance from nominal behaviour, near-linear within a few standard deviations and
      logarithmic beyond, where anomalous variances lie hundreds of deviations out.

    ``channels``: one-hot columns of the training rows' channels (an unseen channel gets all
    zeros); ``sampling``: the sampling interval as one more standardised column.

    >>> enc = FeatureEncoder.fit(np.array([[1e-9, 0.0], [1e-3, 2.0]]), transform="log")
    >>> enc.rules, enc.apply(np.array([[1e-6, 1.0]])).astype(float).round(2).tolist()
    (('log', 'log1p'), [[0.0, 0.26]])
    """

    transform: str
    rules: tuple[str, ...]
    offsets: NDArray[np.float64]
    standardizer: Standardizer
    channels: tuple[str, ...] = ()
    sampling: bool = False
    relative_channels: tuple[str, ...] = ()
    relative_mean: NDArray[np.float64] | None = None
    relative_scale: NDArray[np.float64] | None = None
    squash: bool = False

    @classmethod
    def fit(
        cls,
        features: NDArray[np.float64],
        *,
        transform: str = "log",
        channel: NDArray[np.str_] | None = None,
        sampling: NDArray[np.float64] | None = None,
        row_channel: NDArray[np.str_] | None = None,
        nominal: NDArray[np.bool_] | None = None,
    ) -> FeatureEncoder:
        """Fit on the training rows.

        Args:
            features: the training rows' features, shape ``(n, k)``.
            transform: one of :data:`TRANSFORMS`.
            channel: the rows' channels, for one-hot columns (None: no such columns).
            sampling: the rows' sampling intervals, for a sampling column (None: none).
            row_channel, nominal: the rows' channels and which rows are nominal, shape
                ``(n,)``; needed by ``"relative"`` (both) and ``"nominal"`` (``nominal``).

        Raises:
            InputError: an unknown transform, ``"relative"`` without ``row_channel`` and
                ``nominal``, or ``"nominal"`` without ``nominal`` or without a nominal row.
        """
        if transform not in TRANSFORMS:
            raise InputError("transform", transform, f"one of {', '.join(TRANSFORMS)}")
        if transform == "nominal" and (nominal is None or not np.any(nominal)):
            raise InputError(
                "nominal", None, "flags of the training rows with at least one nominal row"
            )
        k = features.shape[1]
        identity = tuple("identity" for _ in range(k))
        if transform in ("standard", "nominal"):
            rules, offsets = identity, np.zeros(k)
        else:
            log_rules, log_offsets = _log_rules(features)
            if transform == "log":
                rules, offsets = log_rules, log_offsets
            else:
                rules, offsets = identity + log_rules, np.r_[np.zeros(k), log_offsets]
        relative: dict[str, Any] = {}
        if transform == "relative":
            if row_channel is None or nominal is None:
                raise InputError(
                    "nominal", None, "the training rows' channels and nominal flags for 'relative'"
                )
            logged = _apply_rules(features, log_rules, log_offsets)
            names = sorted(set(row_channel[nominal].tolist()))
            means, scales = [], []
            for name in [*names, ""]:  # "" holds the statistics of all nominal rows
                rows = nominal & (row_channel == name) if name else nominal
                if name and rows.sum() < MIN_CHANNEL_ROWS:
                    rows = nominal
                std = logged[rows].std(axis=0)
                means.append(logged[rows].mean(axis=0))
                scales.append(np.where(std > 0, std, 1.0))
            relative = {
                "relative_channels": tuple(names),
                "relative_mean": np.array(means),
                "relative_scale": np.array(scales),
            }
        channels = tuple(sorted(set(channel.tolist()))) if channel is not None else ()
        draft = cls(transform, rules, offsets, Standardizer(np.zeros(0), np.ones(0)), **relative)
        mapped = draft._mapped(features, row_channel, sampling)
        if transform == "nominal":
            assert nominal is not None
            mapped = mapped[np.asarray(nominal, dtype=bool)]
        return cls(
            transform,
            rules,
            offsets,
            Standardizer.fit(mapped),
            channels,
            sampling is not None,
            squash=transform == "nominal",
            **relative,
        )

    def _mapped(
        self,
        features: NDArray[np.float64],
        row_channel: NDArray[np.str_] | None,
        sampling: NDArray[np.float64] | None,
    ) -> NDArray[np.float64]:
        k = features.shape[1]
        x = _apply_rules(np.tile(features, len(self.rules) // k), self.rules, self.offsets)
        if self.relative_mean is not None and self.relative_scale is not None:
            assert row_channel is not None
            lookup = {name: i for i, name in enumerate(self.relative_channels)}
            index = np.array([lookup.get(str(c), len(lookup)) for c in row_channel], dtype=int)
            x[:, k:] = np.arcsinh(
                (x[:, k:] - self.relative_mean[index]) / self.relative_scale[index]
            )
        if sampling is not None:
            x = np.concatenate([x, np.asarray(sampling, dtype=np.float64)[:, None]], axis=1)
        return x

    @property
    def width(self) -> int:
        """Number of model inputs."""
        return len(self.rules) + int(self.sampling) + len(self.channels)

    def apply(
        self,
        features: NDArray[np.float64],
        channel: NDArray[np.str_] | None = None,
        sampling: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float32]:
        """Model inputs ``(n, width)`` float32 of rows ``features`` ``(n, k)``.

        Raises:
            InputError: the channels or the sampling the encoder was fitted with are missing.
        """
        if self.sampling and sampling is None:
            raise InputError("sampling", None, "the rows' sampling intervals (fitted with them)")
        if (self.channels or self.relative_mean is not None) and channel is None:
            raise InputError("channel", None, "the rows' channel names (fitted with them)")
        mapped = self._mapped(features, channel, sampling if self.sampling else None)
        x = self.standardizer.apply(mapped)
        if self.squash:
            x = np.arcsinh(x)
        if self.channels:
            assert channel is not None
            onehot = (channel[:, None] == np.asarray(self.channels)[None, :]).astype(np.float32)
            x = np.concatenate([x, onehot], axis=1)
        return x


def _apply_rules(
    features: NDArray[np.float64], rules: tuple[str, ...], offsets: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Each column of ``features`` mapped by its rule (see :class:`FeatureEncoder`)."""
    columns = []
    for j, rule in enumerate(rules):
        x = features[:, j]
        if rule == "log":
            x = np.log(np.maximum(x, offsets[j]))
        elif rule == "log1p":
            x = np.log1p(np.maximum(x, 0.0))
        elif rule == "asinh":
            x = np.arcsinh(x / offsets[j])
        columns.append(x)
    return np.stack(columns, axis=1)


def _probabilities(model: nn.Module, inputs: NDArray[np.float32]) -> NDArray[np.float64]:
    model.eval()
    with torch.no_grad():
        return ensemble_probability(model(torch.from_numpy(inputs))).double().numpy()


class OpsSatWorkload(Workload):
    """Anomalous-segment detection on OPS-SAT-AD (official split).

    Args:
        table: the loaded table (see :func:`load_opssat`); its ``train`` flags say which rows
            train (the official split, or a fold of a cross-validation, see
            :meth:`OpsSatTable.with_split`).
        hidden, members, dropout: the :class:`~orbitlearn.workloads.models.BatchedEnsembleMLP`.
        threshold: probability above which a segment is called anomalous.
        transform, channels, sampling: the inputs (see :class:`FeatureEncoder`). Several
            transforms joined by ``+`` (such as ``"standard+nominal"``) give one block of
            inputs per transform side by side, and the ensemble's members are shared out over
            the blocks (``groups`` of :class:`~orbitlearn.workloads.models.BatchedEnsembleMLP`;
            ``members`` must be a multiple of the number of blocks).

    Samples: inputs are the encoded features ``(n, width)`` float32, targets the anomaly
    labels as float32 ``(n,)``, the source is the channel and the position the segment id.
    """

    name = "opssat"
    metric = Metric("f1", True, "F1 of anomalous segments on the official test split")

    def __init__(
        self,
        table: OpsSatTable,
        *,
        hidden: int = 64,
        members: int = 8,
        dropout: float = 0.1,
        threshold: float = 0.5,
        transform: str = "standard+nominal",
        channels: bool = True,
        sampling: bool = True,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise InputError("threshold", threshold, "a probability in (0, 1)")
        self.table = table
        self.threshold = threshold
        rows = table.train
        names = transform.split("+")
        if isinstance(members, int) and not isinstance(members, bool) and members % len(names):
            raise InputError(
                "members", members, f"a multiple of the {len(names)} input blocks of {transform!r}"
            )
        self.encoders = tuple(
            FeatureEncoder.fit(
                table.features[rows],
                transform=name,
                channel=table.channel[rows] if channels else None,
                sampling=table.sampling[rows] if sampling else None,
                row_channel=table.channel[rows],
                nominal=~table.anomaly[rows],
            )
            for name in names
        )
        self.encoder = self.encoders[0]
        widths = {e.width for e in self.encoders}
        if len(widths) > 1:
            raise InputError(
                "transform", transform, "blocks of equal width (do not mix 'both' with others)"
            )
        self._factory = BatchedEnsembleMLPFactory(
            self.encoder.width, hidden, members, dropout, groups=len(names)
        )
        self.train = self._samples(table.train)
        self.test = self._samples(~table.train)

    def _samples(self, rows: NDArray[np.bool_]) -> Samples:
        t = self.table
        blocks = [
            e.apply(t.features[rows], t.channel[rows], t.sampling[rows]) for e in self.encoders
        ]
        return Samples(
            inputs=np.concatenate(blocks, axis=1),
            targets=t.anomaly[rows].astype(np.float32),
            source=t.channel[rows],
            position=t.segment[rows],
        )

    @classmethod
    def from_path(cls, path: str | Path, **kwargs: Any) -> OpsSatWorkload:
        """Load ``dataset.csv`` (or its directory) and build the workload."""
        return cls(load_opssat(path), **kwargs)

    @property
    def model_factory(self) -> ModelFactory:
        return self._factory

    @property
    def loss_fn(self) -> LossFn:
        return ensemble_bce_loss

    def scores(self, model: nn.Module, samples: Samples | None = None) -> NDArray[np.float64]:
        """Anomaly probability of each sample (default: the test split), shape ``(n,)``."""
        return _probabilities(model, (samples or self.test).inputs)

    def evaluate(self, model: nn.Module) -> float:
        predicted = self.scores(model) > self.threshold
        f1 = binary_scores(self.test.targets > 0.5, predicted).f1
        return 0.0 if f1 is None else float(f1)

    def report(self, model: nn.Module) -> dict[str, Any]:
        score = self.scores(model)
        truth = self.test.targets > 0.5
        flagged = score > self.threshold
        counts = binary_scores(truth, flagged)
        tp, fp, fn = truth & flagged, ~truth & flagged, truth & ~flagged
        return {
            **counts.as_dict(),
            # 95 % bootstrap intervals over the test segments (how far this test set can tell
            # two figures apart).
            "f1_interval": f_beta_interval(tp, fp, fn),
            "f0_5_interval": f_beta_interval(tp, fp, fn, beta=0.5),
            "auc_roc": auc_roc(truth, score),
            "auc_pr": auc_pr(truth, score),
            "threshold": self.threshold,
            "test_segments": int(truth.size),
            "test_anomalies": int(truth.sum()),
        }
