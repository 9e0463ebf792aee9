"""Exit statuses of the ``orbitlearn`` command, in one registry.

Scripts may rely on these numbers; tests pin them.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """Process exit status of ``orbitlearn``."""

    OK = 0
    FAILURE = 1  #: the command ran but its result is a failure (e.g. a check did not hold)
    USAGE = 2  #: a bad option or value (also what the argument parser uses)
    ELEMENT_SET = 3  #: a TLE / OMM file cannot be used
    DATA = 4  #: a data file or directory is missing or malformed
    CHECKPOINT = 5  #: a checkpoint is missing or corrupt
    MISSING_DEPENDENCY = 6  #: an optional dependency is not installed
    INTERNAL = 70  #: a bug in orbitlearn (EX_SOFTWARE)
    INTERRUPTED = 130  #: Ctrl-C
