"""A fixed number of upsets spread over training steps (for fault-injection campaigns).

Rate-driven injection gives a random number of upsets; a campaign that asks "what do N upsets
do?" needs exactly N. A :class:`FaultSchedule` says how many upsets fall at each step; the
injector places each one uniformly over the bits exposed at that step, as it does for
rate-driven upsets.

>>> s = FaultSchedule.spread(10, 100, seed=1)
>>> s.total, s.n_steps
(10, 100)
>>> FaultSchedule.even(3, 9).counts_per_step
(0, 1, 0, 0, 1, 0, 0, 1, 0)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from orbitlearn.errors import InputError
from orbitlearn.faults.sampling import make_rng

__all__ = ["FaultSchedule"]


def _check_count(field: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InputError(field, value, f"an integer >= {minimum}")
    return int(value)


@dataclass(frozen=True)
class FaultSchedule:
    """Upsets per training step: ``counts_per_step[s]`` upsets at step ``s``.

    Steps at or beyond ``n_steps`` get none.
    """

    counts_per_step: tuple[int, ...]

    def __post_init__(self) -> None:
        for step, count in enumerate(self.counts_per_step):
            if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
                raise InputError(f"counts_per_step[{step}]", count, "an integer >= 0")

    @classmethod
    def spread(cls, n_flips: int, n_steps: int, seed: int | None = None) -> FaultSchedule:
        """``n_flips`` upsets, each at a step drawn uniformly from ``0 .. n_steps - 1``.

        Raises:
            InputError: ``n_flips < 0`` or ``n_steps < 1``.

        >>> FaultSchedule.spread(5, 4, seed=0) == FaultSchedule.spread(5, 4, seed=0)
        True
        """
        n_flips = _check_count("n_flips", n_flips, 0)
        n_steps = _check_count("n_steps", n_steps, 1)
        steps = make_rng(seed).integers(0, n_steps, size=n_flips)
        counts = np.bincount(steps, minlength=n_steps)
        return cls(tuple(int(c) for c in counts))

    @classmethod
    def even(cls, n_flips: int, n_steps: int) -> FaultSchedule:
        """``n_flips`` upsets at evenly spaced steps (centred in equal blocks of steps).

        >>> FaultSchedule.even(2, 2).counts_per_step
        (1, 1)
        """
        n_flips = _check_count("n_flips", n_flips, 0)
        n_steps = _check_count("n_steps", n_steps, 1)
        positions = ((np.arange(n_flips) + 0.5) * n_steps / max(n_flips, 1)).astype(np.int64)
        counts = np.bincount(np.minimum(positions, n_steps - 1), minlength=n_steps)
        return cls(tuple(int(c) for c in counts))

    @classmethod
    def at_steps(cls, steps: Iterable[int], n_steps: int | None = None) -> FaultSchedule:
        """One upset at each listed step (repeat a step for several).

        >>> FaultSchedule.at_steps([2, 2, 0]).counts_per_step
        (1, 0, 2)
        """
        step_list = [_check_count("steps", s, 0) for s in steps]
        length = max(step_list, default=-1) + 1
        if n_steps is not None:
            n_steps = _check_count("n_steps", n_steps, 1)
            if length > n_steps:
                raise InputError("steps", max(step_list), f"steps below n_steps = {n_steps}")
            length = n_steps
        counts = np.bincount(np.asarray(step_list, np.int64), minlength=length)
        return cls(tuple(int(c) for c in counts))

    @property
    def total(self) -> int:
        """Total upsets scheduled."""
        return int(sum(self.counts_per_step))

    @property
    def n_steps(self) -> int:
        """Steps covered by the schedule."""
        return len(self.counts_per_step)

    def count_at(self, step: int) -> int:
        """Upsets scheduled at ``step`` (0 outside the schedule)."""
        if 0 <= step < len(self.counts_per_step):
            return self.counts_per_step[step]
        return 0

    def to_dict(self) -> dict[str, list[int]]:
        """JSON-friendly form."""
        return {"counts_per_step": list(self.counts_per_step)}

    @classmethod
    def from_dict(cls, record: dict[str, list[int]]) -> FaultSchedule:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(int(c) for c in record["counts_per_step"]))
