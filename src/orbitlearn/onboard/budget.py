"""Budgets of a training slice: steps, simulated seconds, joules.

A slice runs a step only if the step's *nominal* cost (one forward/backward at the counted
FLOPs) still fits every limit, so a slice stops before it overspends. Repairs that re-execute a
step cost more than nominal; that extra is charged too and can overrun a time or energy limit by
at most the repairs of the last step (reported, never hidden).

>>> meter = BudgetMeter(Budget(max_joules=10.0))
>>> meter.fits(seconds=1.0, joules=4.0), meter.charge(seconds=1.0, joules=4.0)
(True, None)
>>> meter.charge(seconds=1.0, joules=4.0); meter.fits(seconds=1.0, joules=4.0), meter.stop_reason
(False, 'max_joules')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from orbitlearn.errors import InputError

__all__ = ["Budget", "BudgetMeter"]

# relative slack for float accumulation when comparing a sum of step costs with a limit
_REL_TOL = 1e-9


def _check_limit(field: str, value: float | None, *, integer: bool = False) -> None:
    if value is None:
        return
    if integer:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(field, value, "an integer >= 0 or None")
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isnan(value)
        or value < 0
    ):
        raise InputError(field, value, "a number >= 0 or None")


@dataclass(frozen=True)
class Budget:
    """Limits of one slice (None: no limit on that quantity).

    Raises:
        InputError: for a negative or non-numeric limit.
    """

    max_steps: int | None = None
    max_seconds: float | None = None
    max_joules: float | None = None

    def __post_init__(self) -> None:
        _check_limit("max_steps", self.max_steps, integer=True)
        _check_limit("max_seconds", self.max_seconds)
        _check_limit("max_joules", self.max_joules)

    @property
    def bounded(self) -> bool:
        """Whether at least one limit is set."""
        return any(v is not None for v in (self.max_steps, self.max_seconds, self.max_joules))


class BudgetMeter:
    """What a slice has spent against its :class:`Budget`."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.steps = 0
        self.seconds = 0.0
        self.joules = 0.0
        self.stop_reason: str | None = None

    def fits(self, *, seconds: float, joules: float) -> bool:
        """Whether one more step of this nominal cost stays within every limit.

        Sets :attr:`stop_reason` (``"max_steps"``, ``"max_seconds"``, ``"max_joules"``) when not.
        """
        b = self.budget
        if b.max_steps is not None and self.steps + 1 > b.max_steps:
            self.stop_reason = "max_steps"
        elif b.max_seconds is not None and self.seconds + seconds > b.max_seconds * (1 + _REL_TOL):
            self.stop_reason = "max_seconds"
        elif b.max_joules is not None and self.joules + joules > b.max_joules * (1 + _REL_TOL):
            self.stop_reason = "max_joules"
        else:
            return True
        return False

    def charge(self, *, seconds: float, joules: float, steps: int = 1) -> None:
        """Add what a step actually cost."""
        self.steps += steps
        self.seconds += seconds
        self.joules += joules
