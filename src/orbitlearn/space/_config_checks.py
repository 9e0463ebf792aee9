"""Validation of configuration numbers, with messages that name the field, value and range.

Shared by the radiation, power and timeline configuration types.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

from orbitlearn.errors import ConfigError

__all__ = ["check_choice", "check_number"]


def check_number(
    field: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    unit: str = "",
) -> float:
    """Return ``value`` as a float if it is a finite real number in the allowed range.

    >>> check_number("battery_wh", 43, 0.0, low_open=True, unit="Wh")
    43.0
    >>> check_number("battery_wh", -1, 0.0, low_open=True, unit="Wh")
    Traceback (most recent call last):
    ...
    orbitlearn.errors.ConfigError: Expected `battery_wh` to be a number of Wh > 0, actual: -1
    """
    what = f"a number of {unit}" if unit else "a number"
    if math.isinf(high):
        allowed = f"{what} {'>' if low_open else '>='} {low:g}" if not math.isinf(low) else what
    elif math.isinf(low):
        allowed = f"{what} <= {high:g}"
    else:
        allowed = f"{what} in {'(' if low_open else '['}{low:g}, {high:g}]"
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))
    if ok:
        number = float(value)
        ok = (number > low if low_open else number >= low) and number <= high
    if not ok:
        raise ConfigError(field, value, allowed)
    return float(value)


def check_choice(field: str, value: Any, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``.

    >>> check_choice("attitude", "spinning", ("sun_tracking", "zenith"))
    Traceback (most recent call last):
    ...
    orbitlearn.errors.ConfigError: Expected `attitude` to be one of 'sun_tracking', 'zenith', actual: 'spinning'
    """
    if value not in choices:
        raise ConfigError(field, value, "one of " + ", ".join(repr(c) for c in choices))
    return str(value)
