"""What the mission engine needs from a workload, and how a configured name becomes one.

The engine trains the same model on every satellite's own data and evaluates the global model
on the ground. It asks a :class:`MissionWorkload` for:

* ``model_factory(seed) -> nn.Module``: a *picklable* callable (a top-level function or a small
  dataclass), because local training may run in another process or on a Ray worker;
* ``loss_fn(output, targets) -> loss``: picklable too (``torch.nn.functional.cross_entropy``);
* ``shard(i) -> (inputs, targets)``: satellite ``i``'s training data as numpy arrays (first
  axis indexes samples), shipped once to every worker;
* ``evaluate(model) -> float``: the metric of a model on held-out data (on the ground), named
  ``metric_name``; ``higher_is_better`` says which way is good.

:func:`resolve_workload` maps ``workload.name`` to a workload: ``synthetic`` is the engine's own
small classification task (:mod:`orbitlearn.mission.synthetic`); any other name is looked up in
:mod:`orbitlearn.workloads` (the health-monitoring workload and the real-data loaders) through
:class:`WorkloadAdapter`.
"""

from __future__ import annotations

import pickle
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from orbitlearn.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from orbitlearn.mission.config import MissionConfig
    from orbitlearn.space.timeline import Timeline

__all__ = ["MissionWorkload", "check_picklable", "resolve_workload"]

ModelFactory = Callable[[int], "nn.Module"]
LossFn = Callable[[Any, Any], "torch.Tensor"]


class MissionWorkload(ABC):
    """A workload as the mission engine sees it (see the module docstring).

    Attributes:
        name: registry name.
        metric_name: what :meth:`evaluate` returns (``"accuracy"``, ``"f1"``, ...).
        higher_is_better: whether a larger metric is better (time-to-target compares with it).
        n_satellites: number of shards.
    """

    name: str = ""
    metric_name: str = "metric"
    higher_is_better: bool = True
    n_satellites: int = 0

    @property
    @abstractmethod
    def model_factory(self) -> ModelFactory:
        """Picklable ``seed -> nn.Module`` (same architecture for every seed)."""

    @property
    @abstractmethod
    def loss_fn(self) -> LossFn:
        """Picklable ``(model output, targets) -> scalar loss``."""

    @abstractmethod
    def shard(self, sat: int) -> tuple[NDArray[Any], NDArray[Any]]:
        """Training inputs and targets of satellite ``sat`` (numpy, samples first)."""

    @abstractmethod
    def evaluate(self, model: nn.Module) -> float:
        """The metric of ``model`` on held-out data (the model is left in eval mode)."""

    def describe(self) -> dict[str, Any]:
        """Plain facts for the results (name, metric, sizes)."""
        sizes = [int(self.shard(i)[0].shape[0]) for i in range(self.n_satellites)]
        return {
            "name": self.name,
            "metric_name": self.metric_name,
            "higher_is_better": self.higher_is_better,
            "samples_per_satellite": sizes,
        }


def check_picklable(what: str, value: Any, executor: str) -> None:
    """Raise a ConfigError when ``value`` cannot travel to another process.

    Raises:
        ConfigError: naming ``executor.kind`` and the offending part.
    """
    try:
        pickle.dumps(value)
    except Exception as exc:  # pickling raises many types
        raise ConfigError(
            "executor.kind",
            executor,
            '"inprocess" for this workload',
            hint=f"its {what} cannot be pickled for another process ({type(exc).__name__}: {exc})",
        ) from None


class WorkloadAdapter(MissionWorkload):
    """A :mod:`orbitlearn.workloads` workload seen through :class:`MissionWorkload`.

    The workloads package describes a workload by its dataset split over satellites, a model
    factory, a loss and a metric; this adapter only renames. It accepts any object with
    ``model_factory``/``loss_fn`` (attributes or zero-argument methods), a per-satellite
    ``shard(i)`` or ``satellite_data(i)`` and ``evaluate(model)``.
    """

    def __init__(self, inner: Any, n_satellites: int) -> None:
        self.inner = inner
        self.name = str(getattr(inner, "name", type(inner).__name__))
        self.metric_name = str(getattr(inner, "metric_name", "metric"))
        self.higher_is_better = bool(getattr(inner, "higher_is_better", True))
        self.n_satellites = n_satellites

    def _member(self, name: str) -> Any:
        value = getattr(self.inner, name)
        return value() if callable(value) and _takes_no_arguments(value) else value

    @property
    def model_factory(self) -> ModelFactory:
        factory: ModelFactory = self._member("model_factory")
        return factory

    @property
    def loss_fn(self) -> LossFn:
        loss: LossFn = self._member("loss_fn")
        return loss

    def shard(self, sat: int) -> tuple[NDArray[Any], NDArray[Any]]:
        getter = getattr(self.inner, "shard", None) or self.inner.satellite_data
        inputs, targets = getter(sat)
        return _as_numpy(inputs), _as_numpy(targets)

    def evaluate(self, model: nn.Module) -> float:
        return float(self.inner.evaluate(model))


def _takes_no_arguments(func: Any) -> bool:
    import inspect

    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        for p in signature.parameters.values()
    )


def _as_numpy(value: Any) -> NDArray[Any]:
    if isinstance(value, np.ndarray):
        return value
    detach = getattr(value, "detach", None)
    if detach is not None:
        return np.asarray(detach().cpu().numpy())
    return np.asarray(value)


def resolve_workload(config: MissionConfig, timeline: Timeline) -> MissionWorkload:
    """The configured workload, with one data shard per satellite of ``timeline``.

    Raises:
        ConfigError: unknown workload name (the message lists the known ones).
    """
    from orbitlearn.mission.synthetic import SyntheticWorkload

    name = config.workload.name
    n_sats = timeline.n_sats
    if name == SyntheticWorkload.name:
        return SyntheticWorkload(
            n_satellites=n_sats,
            samples_per_satellite=config.workload.samples_per_satellite,
            seed=config.seed,
        )
    known = [SyntheticWorkload.name]
    try:
        from orbitlearn import workloads
    except ImportError:  # pragma: no cover - the package is part of orbitlearn
        workloads = None  # type: ignore[assignment]
    builder = getattr(workloads, "build_mission_workload", None) if workloads else None
    registry = getattr(workloads, "WORKLOADS", None) if workloads else None
    if isinstance(registry, dict):
        known += sorted(str(k) for k in registry)
    if builder is not None and (registry is None or name in registry):
        inner = builder(name, config=config, timeline=timeline)
        return inner if isinstance(inner, MissionWorkload) else WorkloadAdapter(inner, n_sats)
    raise ConfigError("workload.name", name, "one of " + ", ".join(repr(k) for k in known))
