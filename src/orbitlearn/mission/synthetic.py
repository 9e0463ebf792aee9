"""``synthetic``: a small non-IID classification task for exercising the mission engine.

Not a space workload: Gaussian class clusters in ``n_features`` dimensions, a small MLP and
accuracy on a balanced held-out set. It exists so that the engine, its executors and its
benchmarks can run real PyTorch training that learns measurably within minutes, on any machine,
without the health-monitoring data. Each satellite sees a label-skewed share of the classes
(class proportions drawn from a Dirichlet distribution with concentration ``alpha``, the usual
way to make federated data non-IID: Hsu, Qi, Brown, arXiv:1909.06335), so a model averaged
over many satellites beats any single one.

>>> w = SyntheticWorkload(n_satellites=3, samples_per_satellite=64, seed=0)
>>> x, y = w.shard(0)
>>> x.shape, x.dtype.name, y.dtype.name
((64, 16), 'float32', 'int64')
>>> model = w.model_factory(0)
>>> 0.0 <= w.evaluate(model) <= 1.0
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from orbitlearn.errors import InputError
from orbitlearn.mission.workload import LossFn, MissionWorkload, ModelFactory

__all__ = ["MLPFactory", "SyntheticWorkload"]


@dataclass(frozen=True)
class MLPFactory:
    """A picklable factory of ``Linear-ReLU-...-Linear`` models, initialised from ``seed``."""

    in_features: int
    hidden: tuple[int, ...]
    out_features: int

    def __call__(self, seed: int) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            # the CPU generator only: torch.manual_seed also queues CUDA seeding, which
            # records a stack trace per call (milliseconds, in every training job)
            torch.default_generator.manual_seed(int(seed))
            layers: list[nn.Module] = []
            width = self.in_features
            for size in self.hidden:
                layers += [nn.Linear(width, size), nn.ReLU()]
                width = size
            layers.append(nn.Linear(width, self.out_features))
            return nn.Sequential(*layers)


def cross_entropy(output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy (a module-level function, so it pickles by reference)."""
    return nn.functional.cross_entropy(output, targets)


class SyntheticWorkload(MissionWorkload):
    """Label-skewed Gaussian clusters, an MLP and accuracy (see the module docstring).

    Args:
        n_satellites: number of shards (>= 1).
        samples_per_satellite: training samples per satellite (>= 1).
        seed: seed of the data (the same seed gives the same data).
        n_features, n_classes: input size and number of classes.
        separation: distance between class centres in units of the noise's standard deviation.
        alpha: Dirichlet concentration of each satellite's class mix (small: more skewed).
        test_samples: size of the balanced held-out set.
        hidden: hidden layer widths of the MLP.

    Raises:
        InputError: an argument out of range.
    """

    name = "synthetic"
    metric_name = "accuracy"
    higher_is_better = True

    def __init__(
        self,
        n_satellites: int,
        samples_per_satellite: int = 512,
        *,
        seed: int = 0,
        n_features: int = 16,
        n_classes: int = 6,
        separation: float = 5.0,
        alpha: float = 0.3,
        test_samples: int = 2000,
        hidden: tuple[int, ...] = (32,),
    ) -> None:
        for field, value in (
            ("n_satellites", n_satellites),
            ("samples_per_satellite", samples_per_satellite),
            ("n_features", n_features),
            ("test_samples", test_samples),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(field, value, "an integer >= 1")
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
            raise InputError("n_classes", n_classes, "an integer >= 2")
        if not separation > 0 or not alpha > 0:
            raise InputError("separation, alpha", (separation, alpha), "numbers > 0")
        self.n_satellites = n_satellites
        self.n_classes = n_classes
        rng = np.random.default_rng([int(seed), 0x5EED])
        # Class centres on a sphere of radius separation/2 (so pairwise ~ separation apart),
        # in a random subspace: the task needs a hidden layer to be solved well.
        centres = rng.normal(size=(n_classes, n_features))
        centres *= (separation / np.sqrt(2.0)) / np.linalg.norm(centres, axis=1, keepdims=True)
        mixing = rng.normal(size=(n_features, n_features)) / np.sqrt(n_features)
        self._centres = centres
        self._mixing = mixing
        shards = []
        for _ in range(n_satellites):
            mix = rng.dirichlet(np.full(n_classes, alpha))
            labels = rng.choice(n_classes, size=samples_per_satellite, p=mix)
            shards.append(self._draw(rng, labels))
        self._shards = shards
        test_labels = np.arange(test_samples) % n_classes
        self._test = self._draw(rng, test_labels)
        self._factory = MLPFactory(n_features, tuple(hidden), n_classes)

    def _draw(
        self, rng: np.random.Generator, labels: NDArray[Any]
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        noise = rng.normal(size=(labels.size, self._centres.shape[1]))
        points = np.tanh((self._centres[labels] + noise) @ self._mixing)
        return points.astype(np.float32), labels.astype(np.int64)

    @property
    def model_factory(self) -> ModelFactory:
        return self._factory

    @property
    def loss_fn(self) -> LossFn:
        return cross_entropy

    def shard(self, sat: int) -> tuple[NDArray[Any], NDArray[Any]]:
        if not 0 <= sat < self.n_satellites:
            raise InputError("sat", sat, f"a satellite index in [0, {self.n_satellites - 1}]")
        return self._shards[sat]

    def evaluate(self, model: nn.Module) -> float:
        inputs, targets = self._test
        model.eval()
        with torch.no_grad():
            predicted = model(torch.from_numpy(inputs)).argmax(dim=1).numpy()
        return float(np.mean(predicted == targets))
