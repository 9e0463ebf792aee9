"""Staleness weighting for asynchronous aggregation.

An update trained from global version ``v`` that reaches the aggregator when the global model is
at version ``V`` has staleness ``s = V - v >= 0``. Asynchronous strategies scale such an update
by ``w(s)``, a non-increasing function with ``w(0) = 1``. The three families are those of
Xie, Koyejo, Gupta, "Asynchronous Federated Optimization" (arXiv:1903.03934, 2019, section 5):

* constant: ``w(s) = 1``;
* polynomial: ``w(s) = (1 + s) ** -a`` with ``a >= 0``; FedBuff (Nguyen et al., "Federated
  Learning with Buffered Asynchronous Aggregation", AISTATS 2022, arXiv:2106.06639) uses
  ``a = 0.5``, i.e. ``1 / sqrt(1 + s)``;
* hinge: ``w(s) = 1`` if ``s <= b`` else ``1 / (a * (s - b) + 1)``, with ``a, b >= 0``.

Functions accept an integer or an integer array and return float64 of the same shape.

>>> import numpy as np
>>> PolynomialStaleness(0.5)(np.array([0, 3])).tolist()
[1.0, 0.5]
>>> HingeStaleness(a=1.0, b=2)(np.array([2, 4])).tolist()
[1.0, 0.3333333333333333]
>>> staleness_weight("polynomial", a=1.0)(1)
0.5
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import InputError

__all__ = [
    "ConstantStaleness",
    "HingeStaleness",
    "PolynomialStaleness",
    "StalenessWeight",
    "staleness_weight",
]


def _nonneg(field: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(field, value, "a finite number >= 0")
    if value < 0:
        raise InputError(field, value, "a finite number >= 0")
    return float(value)


class StalenessWeight(ABC):
    """A staleness weighting ``w(s)``; call it on a staleness (int or int array)."""

    name: str = ""

    @overload
    def __call__(self, staleness: int) -> float: ...
    @overload
    def __call__(self, staleness: NDArray[Any]) -> NDArray[np.float64]: ...

    def __call__(self, staleness: ArrayLike) -> float | NDArray[np.float64]:
        s = np.asarray(staleness)
        if not np.issubdtype(s.dtype, np.integer) or np.any(s < 0):
            raise InputError("staleness", staleness, "integers >= 0 (global versions behind)")
        w = self._weight(s.astype(np.float64))
        return float(w) if w.ndim == 0 else w

    @abstractmethod
    def _weight(self, s: NDArray[np.float64]) -> NDArray[np.float64]: ...

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Name and parameters (for state dicts and reports)."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({params})"


class ConstantStaleness(StalenessWeight):
    """``w(s) = 1``: every update counts fully, however old."""

    name = "constant"

    def _weight(self, s: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.ones_like(s)

    def config(self) -> dict[str, Any]:
        return {"name": self.name}


class PolynomialStaleness(StalenessWeight):
    """``w(s) = (1 + s) ** -a`` (Xie et al. 2019; ``a = 0.5`` in FedBuff)."""

    name = "polynomial"

    def __init__(self, a: float = 0.5) -> None:
        self.a = _nonneg("a", a)

    def _weight(self, s: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray((1.0 + s) ** (-self.a), dtype=np.float64)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "a": self.a}


class HingeStaleness(StalenessWeight):
    """``w(s) = 1`` for ``s <= b``, else ``1 / (a (s - b) + 1)`` (Xie et al. 2019)."""

    name = "hinge"

    def __init__(self, a: float = 10.0, b: float = 4.0) -> None:
        self.a = _nonneg("a", a)
        self.b = _nonneg("b", b)

    def _weight(self, s: NDArray[np.float64]) -> NDArray[np.float64]:
        return 1.0 / (self.a * np.maximum(s - self.b, 0.0) + 1.0)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "a": self.a, "b": self.b}


_FAMILIES: dict[str, type[StalenessWeight]] = {
    "constant": ConstantStaleness,
    "polynomial": PolynomialStaleness,
    "hinge": HingeStaleness,
}


def staleness_weight(name: str, **params: float) -> StalenessWeight:
    """Build a weighting by name (``"constant"``, ``"polynomial"``, ``"hinge"``), for configs.

    Raises:
        InputError: unknown name or parameter.
    """
    if name not in _FAMILIES:
        raise InputError("staleness", name, f"one of {sorted(_FAMILIES)}")
    try:
        return _FAMILIES[name](**params)
    except TypeError as exc:
        raise InputError(
            f"staleness `{name}` parameters", sorted(params), "the parameters it takes"
        ) from exc
