"""The errors orbitlearn raises, in one small hierarchy.

Every error a user can cause names the field (or file and line), the value that was given and
what is allowed, and says how to fix it where it can. Errors carry those parts as attributes so
that callers (the CLI, a mission runner) can act on them without parsing text.

The CLI maps each class to an exit code through :attr:`OrbitlearnError.exit_code` (the registry
is :mod:`orbitlearn.cli.exit_codes`).
"""

from __future__ import annotations

import operator
from typing import Any

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "ElementSetError",
    "InputError",
    "MissingDependencyError",
    "OrbitlearnError",
    "check_int",
]


class OrbitlearnError(Exception):
    """Base class of every error orbitlearn raises on purpose."""

    #: Process exit status used by the CLI for this class of error.
    exit_code: int = 1


class InputError(OrbitlearnError, ValueError):
    """A value given by the user is outside what is allowed.

    >>> err = InputError("min_elevation_deg", 95, "a number in [0, 90]")
    >>> str(err)
    'Expected `min_elevation_deg` to be a number in [0, 90], actual: 95'
    >>> err.field, err.value
    ('min_elevation_deg', 95)
    """

    exit_code = 2

    def __init__(self, field: str, value: Any, allowed: str, *, hint: str | None = None) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        self.hint = hint
        message = f"Expected `{field}` to be {allowed}, actual: {value!r}"
        if hint:
            message += f". {hint}"
        super().__init__(message)


def check_int(field: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an ``int`` if it is an integer (not a bool) of at least ``minimum``.

    >>> check_int("seed", 3)
    3
    >>> check_int("steps", 0, minimum=1)
    Traceback (most recent call last):
    ...
    orbitlearn.errors.InputError: Expected `steps` to be an integer >= 1, actual: 0

    Raises:
        InputError: naming ``field``, otherwise.
    """
    allowed = f"an integer >= {minimum}"
    if isinstance(value, bool):
        raise InputError(field, value, allowed)
    try:
        number = operator.index(value)  # ints and numpy integers, not floats
    except TypeError:
        raise InputError(field, value, allowed) from None
    if number < minimum:
        raise InputError(field, value, allowed)
    return number


class ConfigError(InputError):
    """A configuration value (mission file, ``--set`` override, preset) is invalid."""


class ElementSetError(OrbitlearnError, ValueError):
    """A TLE or OMM element set cannot be used.

    Names the file, the 1-based line (or record) number, the offending text and what was
    expected there.

    >>> err = ElementSetError("sats.tle", 4, "checksum is 7, expected 3", line="1 25544U ...")
    >>> print(err)
    sats.tle, line 4: checksum is 7, expected 3
        1 25544U ...
    """

    exit_code = 3

    def __init__(
        self, path: str, line_number: int | None, problem: str, *, line: str | None = None
    ) -> None:
        self.path = path
        self.line_number = line_number
        self.problem = problem
        self.line = line
        where = path if line_number is None else f"{path}, line {line_number}"
        message = f"{where}: {problem}"
        if line is not None:
            message += f"\n    {line}"
        super().__init__(message)


class DataError(OrbitlearnError, ValueError):
    """A data file or directory is missing or does not have the expected layout."""

    exit_code = 4


class CheckpointError(OrbitlearnError):
    """A checkpoint is missing, corrupt or does not match what is being restored."""

    exit_code = 5


class MissingDependencyError(OrbitlearnError, ImportError):
    """An optional dependency is not installed.

    >>> print(MissingDependencyError("ray", "ray", "the Ray executor"))
    the Ray executor needs the optional dependency `ray`; install it with: pip install 'orbitlearn[ray]'
    """

    exit_code = 6

    def __init__(self, module: str, extra: str, feature: str) -> None:
        self.module = module
        self.extra = extra
        self.feature = feature
        super().__init__(
            f"{feature} needs the optional dependency `{module}`; "
            f"install it with: pip install 'orbitlearn[{extra}]'"
        )
