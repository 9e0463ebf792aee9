"""Aggregation rules: how a set of update deltas becomes one.

Every rule is a callable ``rule(deltas, weights) -> delta`` over
:data:`~orbitlearn.federation.tensors.NamedArrays` with the same names, shapes and dtypes, and
``weights`` of shape ``(n_updates,)`` (usually ``num_samples``; strategies apply staleness
weighting to the deltas *before* the rule, so a robust rule sees the scaled deltas). Any
strategy takes any rule (``rule=`` argument), and a Flower strategy can be one too
(:mod:`orbitlearn.federation.flower`).

* :class:`WeightedMean`: ``sum_i w_i d_i / sum_i w_i`` per coordinate; FedAvg (McMahan et al.,
  "Communication-Efficient Learning of Deep Networks from Decentralized Data", AISTATS 2017).
  One arbitrary update can move it arbitrarily far.
* :class:`CoordinateMedian`: per-coordinate median, unweighted (Yin, Chen, Ramchandran,
  Bartlett, "Byzantine-Robust Distributed Learning", ICML 2018).
* :class:`TrimmedMean`: per coordinate, drop the ``floor(beta n)`` largest and smallest
  values and average the rest, unweighted (Yin et al. 2018); ``0 <= beta < 0.5``.
* :class:`NormClip`: scale each delta to an L2 norm (all float tensors together) of at most
  ``max_norm`` before an inner rule; bounds what any single satellite can do to the model
  (as in DP-FedAvg, McMahan et al., ICLR 2018, without the noise).

Floating-point tensors are computed in float64 and returned in the input dtype. Integer/bool
tensors (counters) take the element-wise maximum.

>>> import numpy as np
>>> deltas = [{"w": np.array([1.0, 0.0])}, {"w": np.array([3.0, 2.0])}]
>>> WeightedMean()(deltas, [1, 3])["w"].tolist()
[2.5, 1.5]
>>> NormClip(WeightedMean(), max_norm=1.0)(deltas, [1, 1])["w"].round(3).tolist()
[0.916, 0.277]
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import InputError
from orbitlearn.federation.tensors import (
    NamedArrays,
    check_same_layout,
    global_l2_norm,
    is_float_array,
)

__all__ = [
    "AggregationRule",
    "CoordinateMedian",
    "NormClip",
    "TrimmedMean",
    "WeightedMean",
    "aggregation_rule",
    "clip_by_norm",
]


def clip_by_norm(delta: Mapping[str, NDArray[Any]], max_norm: float) -> NamedArrays:
    """``delta`` scaled by ``min(1, max_norm / ||delta||)`` (float tensors; others unchanged).

    >>> clip_by_norm({"w": np.array([3.0, 4.0])}, 1.0)["w"].round(6).tolist()
    [0.6, 0.8]
    """
    norm = global_l2_norm(delta)
    factor = 1.0 if norm <= max_norm or norm == 0.0 else max_norm / norm
    return {
        name: (a * factor).astype(a.dtype) if is_float_array(a) else np.array(a, copy=True)
        for name, a in delta.items()
    }


def _check_weights(weights: ArrayLike, n: int) -> NDArray[np.float64]:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise InputError("weights shape", w.shape, f"({n},): one weight per update")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InputError("weights", w.tolist(), "finite numbers >= 0")
    if w.sum() <= 0:
        raise InputError("sum of weights", float(w.sum()), "a number > 0")
    return w


class AggregationRule(ABC):
    """Combines deltas into one delta; subclasses implement :meth:`_combine` per float tensor."""

    name: str = ""

    def __call__(
        self, deltas: Sequence[Mapping[str, NDArray[Any]]], weights: ArrayLike
    ) -> NamedArrays:
        """Aggregate ``deltas`` (``n >= 1``, same layout) with ``weights`` (shape ``(n,)``).

        Raises:
            InputError: no deltas, mismatched layouts, or bad weights.
        """
        if len(deltas) == 0:
            raise InputError("number of updates", 0, "at least 1")
        reference = deltas[0]
        for i, d in enumerate(deltas[1:], start=1):
            check_same_layout(reference, d, f"update {i}")
        w = _check_weights(weights, len(deltas))
        return self._aggregate(deltas, w)

    def _aggregate(
        self, deltas: Sequence[Mapping[str, NDArray[Any]]], w: NDArray[np.float64]
    ) -> NamedArrays:
        out: NamedArrays = {}
        for name, ref in deltas[0].items():
            if is_float_array(ref):
                stack = np.stack([np.asarray(d[name], dtype=np.float64) for d in deltas])
                out[name] = self._combine(stack, w).astype(ref.dtype)
            else:
                out[name] = np.maximum.reduce([np.asarray(d[name]) for d in deltas]).astype(
                    ref.dtype
                )
        return out

    @abstractmethod
    def _combine(self, stack: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
        """Combine ``stack`` of shape ``(n, *shape)`` into shape ``shape``."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Name and parameters."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({params})"


class WeightedMean(AggregationRule):
    """``sum_i w_i d_i / sum_i w_i``, coordinate-wise (FedAvg)."""

    name = "mean"

    def _combine(self, stack: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.tensordot(w / w.sum(), stack, axes=1)

    def config(self) -> dict[str, Any]:
        return {"name": self.name}


class CoordinateMedian(AggregationRule):
    """Coordinate-wise median (weights ignored; robust to fewer than half arbitrary updates)."""

    name = "median"

    def _combine(self, stack: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.median(stack, axis=0)

    def config(self) -> dict[str, Any]:
        return {"name": self.name}


class TrimmedMean(AggregationRule):
    """Coordinate-wise mean after dropping the ``floor(trim_fraction n)`` extremes on each side.

    Args:
        trim_fraction: fraction trimmed on *each* side, in ``[0, 0.5)``.

    Raises:
        InputError: ``trim_fraction`` outside ``[0, 0.5)``.
    """

    name = "trimmed_mean"

    def __init__(self, trim_fraction: float = 0.1) -> None:
        if (
            isinstance(trim_fraction, bool)
            or not isinstance(trim_fraction, (int, float))
            or not 0.0 <= trim_fraction < 0.5
        ):
            raise InputError("trim_fraction", trim_fraction, "a number in [0, 0.5)")
        self.trim_fraction = float(trim_fraction)

    def _combine(self, stack: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
        n = stack.shape[0]
        cut = math.floor(self.trim_fraction * n)
        ordered = np.sort(stack, axis=0)
        return ordered[cut : n - cut].mean(axis=0)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "trim_fraction": self.trim_fraction}


class NormClip(AggregationRule):
    """Clip each delta to L2 norm ``max_norm``, then apply ``inner``.

    Args:
        inner: the rule applied to the clipped deltas.
        max_norm: largest allowed L2 norm of one delta (all float tensors together), > 0.

    Raises:
        InputError: ``max_norm`` is not a finite number > 0.
    """

    name = "clip"

    def __init__(self, inner: AggregationRule, max_norm: float) -> None:
        if (
            isinstance(max_norm, bool)
            or not isinstance(max_norm, (int, float))
            or not math.isfinite(max_norm)
            or max_norm <= 0
        ):
            raise InputError("max_norm", max_norm, "a finite number > 0")
        if not isinstance(inner, AggregationRule):
            raise InputError("inner", type(inner).__name__, "an AggregationRule")
        self.inner = inner
        self.max_norm = float(max_norm)

    def _aggregate(
        self, deltas: Sequence[Mapping[str, NDArray[Any]]], w: NDArray[np.float64]
    ) -> NamedArrays:
        clipped = [clip_by_norm(d, self.max_norm) for d in deltas]
        return self.inner._aggregate(clipped, w)

    def _combine(self, stack: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
        raise NotImplementedError  # pragma: no cover - _aggregate delegates to the inner rule

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "max_norm": self.max_norm, "inner": self.inner.config()}


_RULES = ("mean", "median", "trimmed_mean")


def aggregation_rule(
    name: str, *, trim_fraction: float = 0.1, max_norm: float | None = None
) -> AggregationRule:
    """Build a rule from configuration values.

    Args:
        name: ``"mean"``, ``"median"`` or ``"trimmed_mean"``.
        trim_fraction: for ``"trimmed_mean"``.
        max_norm: if given, wrap the rule in :class:`NormClip`.

    >>> aggregation_rule("median", max_norm=5.0)
    NormClip(max_norm=5.0, inner={'name': 'median'})
    """
    rule: AggregationRule
    if name == "mean":
        rule = WeightedMean()
    elif name == "median":
        rule = CoordinateMedian()
    elif name == "trimmed_mean":
        rule = TrimmedMean(trim_fraction)
    else:
        raise InputError("aggregation", name, f"one of {list(_RULES)}")
    return rule if max_norm is None else NormClip(rule, max_norm)
