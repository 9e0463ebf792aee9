"""Upset rates: reference figures and unit conversions.

Rates are per bit per second (``rate_per_bit_s``) inside orbitlearn; published figures are
usually per bit per day. The space layer's radiation model produces a rate over time per
satellite; a campaign without a timeline uses a reference rate times an acceleration factor
(fault-injection studies accelerate by orders of magnitude so that upsets happen within a short
training run).

>>> f"{per_bit_day_to_per_bit_s(LEO_SRAM_UPSETS_PER_BIT_DAY):.4g}"
'4.676e-12'
>>> expected_upsets(1e-9, n_bits=1_000_000, duration_s=10.0)
0.01
"""

from __future__ import annotations

import math

from orbitlearn.errors import InputError

__all__ = [
    "DAY_S",
    "DRAM_RAW_UPSETS_PER_BIT_DAY_RANGE",
    "LEO_INTERNET_SRAM_UPSETS_PER_BIT_DAY",
    "LEO_SRAM_MBU_FRACTION",
    "LEO_SRAM_UPSETS_PER_BIT_DAY",
    "LEO_SRAM_UPSETS_PER_BIT_S",
    "accelerated_rate",
    "acceleration_for_upsets",
    "expected_upsets",
    "per_bit_day_to_per_bit_s",
    "per_bit_s_to_per_bit_day",
    "rate_for_upsets",
]

#: Seconds in a day.
DAY_S = 86_400.0

#: Commercial SRAM in low Earth orbit: 4.04e-7 upsets per bit per day, measured on Alsat-1
#: over 8 years in sun-synchronous orbit (../shared/REFERENCE.md, "Radiation").
LEO_SRAM_UPSETS_PER_BIT_DAY = 4.04e-7
#: The same rate per bit per second.
LEO_SRAM_UPSETS_PER_BIT_S = LEO_SRAM_UPSETS_PER_BIT_DAY / DAY_S
#: Share of Alsat-1's SRAM upsets that were multi-bit (98.6 % single-bit, ~1.2 % multi-bit;
#: REFERENCE.md "Radiation"). The rest is rounding in the published split.
LEO_SRAM_MBU_FRACTION = 0.012
#: SRAM on LEO internet satellites at 1050-1425 km: 7.6e-7 upsets per bit per day (REFERENCE.md).
LEO_INTERNET_SRAM_UPSETS_PER_BIT_DAY = 7.6e-7
#: Modern DRAM/HBM before ECC: ~1e-10 to 1e-9 upsets per bit per day (REFERENCE.md, an estimate).
DRAM_RAW_UPSETS_PER_BIT_DAY_RANGE = (1e-10, 1e-9)


def _check_non_negative(field: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise InputError(field, value, "a finite number >= 0")
    return float(value)


def per_bit_day_to_per_bit_s(rate_per_bit_day: float) -> float:
    """Convert upsets per bit per day to upsets per bit per second.

    Raises:
        InputError: a negative or non-finite rate.

    >>> per_bit_day_to_per_bit_s(86400.0)
    1.0
    """
    return _check_non_negative("rate_per_bit_day", rate_per_bit_day) / DAY_S


def per_bit_s_to_per_bit_day(rate_per_bit_s: float) -> float:
    """Convert upsets per bit per second to upsets per bit per day.

    >>> per_bit_s_to_per_bit_day(1.0)
    86400.0
    """
    return _check_non_negative("rate_per_bit_s", rate_per_bit_s) * DAY_S


def accelerated_rate(rate_per_bit_s: float, acceleration: float) -> float:
    """A rate multiplied by an acceleration factor (e.g. 1000x the LEO SRAM rate).

    >>> accelerated_rate(LEO_SRAM_UPSETS_PER_BIT_S, 1000.0) == 1000.0 * LEO_SRAM_UPSETS_PER_BIT_S
    True
    """
    return _check_non_negative("rate_per_bit_s", rate_per_bit_s) * _check_non_negative(
        "acceleration", acceleration
    )


def expected_upsets(rate_per_bit_s: float, *, n_bits: int, duration_s: float) -> float:
    """Mean number of upsets: rate x exposed bits x exposure time (the Poisson mean).

    >>> expected_upsets(1e-12, n_bits=8 * 10**9, duration_s=3600.0)
    28.8
    """
    rate = _check_non_negative("rate_per_bit_s", rate_per_bit_s)
    bits = _check_non_negative("n_bits", n_bits)
    duration = _check_non_negative("duration_s", duration_s)
    return rate * bits * duration


def rate_for_upsets(n_upsets: float, *, n_bits: int, duration_s: float) -> float:
    """Rate per bit per second that gives ``n_upsets`` expected over the exposure.

    Raises:
        InputError: ``n_bits`` or ``duration_s`` not positive.

    >>> rate_for_upsets(28.8, n_bits=8 * 10**9, duration_s=3600.0)
    1e-12
    """
    upsets = _check_non_negative("n_upsets", n_upsets)
    if not (isinstance(n_bits, int | float) and n_bits > 0):
        raise InputError("n_bits", n_bits, "a number > 0")
    if not (isinstance(duration_s, int | float) and math.isfinite(duration_s) and duration_s > 0):
        raise InputError("duration_s", duration_s, "a finite number > 0")
    return upsets / (float(n_bits) * float(duration_s))


def acceleration_for_upsets(
    n_upsets: float,
    *,
    n_bits: int,
    duration_s: float,
    base_rate_per_bit_s: float = LEO_SRAM_UPSETS_PER_BIT_S,
) -> float:
    """Acceleration over ``base_rate_per_bit_s`` needed to expect ``n_upsets`` in the exposure.

    >>> acc = acceleration_for_upsets(1.0, n_bits=32 * 100_000, duration_s=60.0)
    >>> round(acc)
    1114
    """
    base = _check_non_negative("base_rate_per_bit_s", base_rate_per_bit_s)
    if base == 0:
        raise InputError("base_rate_per_bit_s", base_rate_per_bit_s, "a number > 0")
    return rate_for_upsets(n_upsets, n_bits=n_bits, duration_s=duration_s) / base
