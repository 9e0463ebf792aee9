"""OPS-SAT-AD: the feature table of ESA OPS-SAT telemetry segments, and its workload.

The table (``dataset.csv``; Ruszczak et al., "The OPS-SAT benchmark for detecting anomalies in
satellite telemetry", Scientific Data 12:710, 2025; Zenodo 12588359) has one row per telemetry
segment: ``segment`` (id), ``anomaly`` (0/1 label), ``train`` (1: the official training split,
0: the test split), ``channel`` (the telemetry channel's name), ``sampling`` (the sampling
interval) and 18 hand-crafted features of the segment (:data:`FEATURES`).

:func:`load_opssat` reads and checks it; :class:`OpsSatWorkload` standardises the features with
statistics of the training rows only and detects anomalous segments with an
:class:`~orbitlearn.workloads.models.EnsembleMLP` (F1 at probability 0.5). For federated
learning, satellites get whole channels (non-IID) or random rows (IID).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from orbitlearn.errors import DataError
from orbitlearn.workloads.base import LossFn, Metric, ModelFactory, Samples, Workload
from orbitlearn.workloads.metrics import auc_pr, auc_roc, binary_scores
from orbitlearn.workloads.models import (
    EnsembleMLPFactory,
    ensemble_bce_loss,
    ensemble_probability,
)

__all__ = [
    "FEATURES",
    "META_COLUMNS",
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


def _probabilities(model: nn.Module, inputs: NDArray[np.float32]) -> NDArray[np.float64]:
    model.eval()
    with torch.no_grad():
        return ensemble_probability(model(torch.from_numpy(inputs))).double().numpy()


class OpsSatWorkload(Workload):
    """Anomalous-segment detection on OPS-SAT-AD (official split).

    Args:
        table: the loaded table (see :func:`load_opssat`).
        hidden, members, dropout: the :class:`~orbitlearn.workloads.models.EnsembleMLP`.
        threshold: probability above which a segment is called anomalous.

    Samples: inputs are the standardised features ``(n, 18)`` float32, targets the anomaly
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
    ) -> None:
        self.table = table
        self.threshold = threshold
        self.standardizer = Standardizer.fit(table.features[table.train])
        self._factory = EnsembleMLPFactory(len(FEATURES), hidden, members, dropout)
        self.train = self._samples(table.train)
        self.test = self._samples(~table.train)

    def _samples(self, rows: NDArray[np.bool_]) -> Samples:
        t = self.table
        return Samples(
            inputs=self.standardizer.apply(t.features[rows]),
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
        counts = binary_scores(truth, score > self.threshold)
        return {
            **counts.as_dict(),
            "auc_roc": auc_roc(truth, score),
            "auc_pr": auc_pr(truth, score),
            "threshold": self.threshold,
            "test_segments": int(truth.size),
            "test_anomalies": int(truth.sum()),
        }
