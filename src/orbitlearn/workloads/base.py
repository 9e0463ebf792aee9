"""The :class:`Workload` interface: what a constellation learns.

A workload is a dataset (a training split that is divided over the satellites and a held-out
test split the ground evaluates on), a model factory, a loss and a metric. The mission engine
(federated learning) asks each satellite to train on its shard and the ground to evaluate the
global model; ``orbitlearn workload evaluate`` trains one model on the whole training split.

Data are numpy arrays, samples first (they travel to worker processes and pickle cheaply); each
training sample carries the *source* it came from (a telemetry channel, a satellite) and its
position in that source, which is how :meth:`Workload.split` makes non-IID shards: whole sources
per satellite, or contiguous stretches of one source when there are more satellites than
sources.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from orbitlearn.errors import InputError

__all__ = [
    "LossFn",
    "Metric",
    "ModelFactory",
    "Samples",
    "Workload",
    "split_by_source",
]

ModelFactory = Callable[[int], nn.Module]
LossFn = Callable[[Any, Any], torch.Tensor]


@dataclass(frozen=True)
class Metric:
    """The figure a workload is judged by.

    Attributes:
        name: key in reports (``"f1"``, ``"f0_5"``, ...).
        higher_is_better: whether a larger value is better.
        description: one line for people.
    """

    name: str
    higher_is_better: bool
    description: str = ""


@dataclass(frozen=True)
class Samples:
    """One split of a workload's data.

    Attributes:
        inputs: model inputs, shape ``(n, ...)``, float32.
        targets: training targets, shape ``(n, ...)``.
        source: the source of each sample (channel or satellite name), shape ``(n,)``.
        position: each sample's order within its source (segment id, time index), shape ``(n,)``.
    """

    inputs: NDArray[np.float32]
    targets: NDArray[Any]
    source: NDArray[np.str_]
    position: NDArray[np.int64]

    def __post_init__(self) -> None:
        n = self.inputs.shape[0]
        for name in ("targets", "source", "position"):
            length = getattr(self, name).shape[0]
            if length != n:
                raise InputError(name, f"{length} samples", f"{n} samples, as many as inputs")

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def subset(self, index: NDArray[np.int64]) -> Samples:
        """The samples at ``index`` (in that order)."""
        return Samples(
            self.inputs[index], self.targets[index], self.source[index], self.position[index]
        )

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(inputs, targets)`` as torch tensors (sharing memory with the arrays)."""
        return torch.from_numpy(np.ascontiguousarray(self.inputs)), torch.from_numpy(
            np.ascontiguousarray(self.targets)
        )


def _check_clients(n_clients: int, n_samples: int) -> None:
    if isinstance(n_clients, bool) or not isinstance(n_clients, int | np.integer) or n_clients < 1:
        raise InputError("n_clients", n_clients, "an integer >= 1")
    if n_clients > n_samples:
        raise InputError(
            "n_clients", n_clients, f"at most the number of training samples ({n_samples})"
        )


def split_by_source(
    source: NDArray[Any],
    position: NDArray[Any],
    n_clients: int,
    seed: int,
    *,
    iid: bool = False,
) -> list[NDArray[np.int64]]:
    """Divide sample indices over ``n_clients`` (satellites).

    IID: a seeded random permutation cut into near-equal parts. Non-IID: each client gets
    whole sources while there are at least as many sources as clients (largest sources first,
    each to the client holding the fewest samples; ties broken by the seed); with more clients
    than sources, each source is cut into contiguous stretches (by ``position``), the number of
    stretches proportional to its size.

    Returns:
        ``n_clients`` int64 index arrays, each non-empty, together a partition of the samples.

    Raises:
        InputError: ``n_clients`` is not an integer in ``[1, n_samples]``.

    >>> src = np.array(["a"] * 4 + ["b"] * 2 + ["c"] * 2)
    >>> parts = split_by_source(src, np.arange(8), 2, seed=0)
    >>> sorted(sorted(set(src[p].tolist())) for p in parts)
    [['a'], ['b', 'c']]
    >>> [len(p) for p in split_by_source(src, np.arange(8), 4, seed=0, iid=True)]
    [2, 2, 2, 2]
    """
    n = len(source)
    _check_clients(n_clients, n)
    rng = np.random.default_rng([int(seed), 0x5A17])
    if iid:
        return [np.sort(part) for part in np.array_split(rng.permutation(n), n_clients)]
    names, inverse = np.unique(source, return_inverse=True)
    members = [np.flatnonzero(inverse == i) for i in range(len(names))]
    members = [m[np.argsort(position[m], kind="stable")] for m in members]
    sizes = np.array([len(m) for m in members])
    if len(names) >= n_clients:
        order = sorted(range(len(names)), key=lambda i: (-sizes[i], rng.random()))
        loads = np.zeros(n_clients, dtype=np.int64)
        owned: list[list[int]] = [[] for _ in range(n_clients)]
        tiebreak = rng.permutation(n_clients)
        for i in order:
            client = int(min(range(n_clients), key=lambda c: (loads[c], tiebreak[c])))
            owned[client].append(i)
            loads[client] += sizes[i]
        return [np.sort(np.concatenate([members[i] for i in own])) for own in owned]
    # More clients than sources: stretches proportional to size, at least one per source.
    per_source = np.ones(len(names), dtype=np.int64)
    for _ in range(n_clients - len(names)):
        per_source[int(np.argmax(sizes / per_source - (per_source >= sizes) * n))] += 1
    parts = [
        part for m, k in zip(members, per_source, strict=True) for part in np.array_split(m, int(k))
    ]
    shuffled = rng.permutation(len(parts))
    return [np.sort(parts[i]) for i in shuffled]


class Workload(ABC):
    """A dataset split over satellites, a model factory, a loss and a metric.

    Subclasses set :attr:`name` and :attr:`metric`, fill :attr:`train` and :attr:`test`, and
    implement :attr:`model_factory`, :attr:`loss_fn`, :meth:`evaluate` and :meth:`report`.

    Attributes:
        name: registry name.
        metric: what :meth:`evaluate` returns.
        train: the training split (divided over satellites by :meth:`split`).
        test: the held-out split (the ground's).
        validation: samples carved from the training data for model selection, or None.
    """

    name: str = ""
    metric: Metric = Metric("metric", True)
    train: Samples
    test: Samples
    validation: Samples | None = None

    @property
    def metric_name(self) -> str:
        """Name of the metric :meth:`evaluate` returns."""
        return self.metric.name

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger metric is better."""
        return self.metric.higher_is_better

    @property
    @abstractmethod
    def model_factory(self) -> ModelFactory:
        """Picklable ``seed -> nn.Module`` (the same architecture for every seed)."""

    @property
    @abstractmethod
    def loss_fn(self) -> LossFn:
        """Picklable ``(model output, targets) -> scalar loss``."""

    @abstractmethod
    def evaluate(self, model: nn.Module) -> float:
        """The metric of ``model`` on the test split (the model is left in eval mode)."""

    @abstractmethod
    def report(self, model: nn.Module) -> dict[str, Any]:
        """Every figure of ``model`` on the test split (JSON-ready), the metric among them."""

    def split(self, n_clients: int, seed: int, iid: bool = False) -> list[NDArray[np.int64]]:
        """Indices into :attr:`train` of each of ``n_clients`` satellites (see
        :func:`split_by_source`)."""
        return split_by_source(self.train.source, self.train.position, n_clients, seed, iid=iid)

    def describe(self) -> dict[str, Any]:
        """Plain facts: name, metric, sizes."""
        return {
            "name": self.name,
            "metric": self.metric.name,
            "higher_is_better": self.metric.higher_is_better,
            "train_samples": len(self.train),
            "test_samples": len(self.test),
            "sources": sorted(set(self.train.source.tolist())),
        }
