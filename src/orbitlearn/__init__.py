"""orbitlearn: train machine-learning models in orbit.

The public API is grouped by layer (see ``DESIGN.md``): ``orbitlearn.space`` (the physical
environment, numpy only), ``orbitlearn.faults`` and ``orbitlearn.healing`` (radiation effects on
training and their repair), ``orbitlearn.onboard`` (the flight runtime), ``orbitlearn.workloads``,
``orbitlearn.federation`` and ``orbitlearn.mission``. Importing ``orbitlearn`` itself is cheap
and never imports torch.
"""

from __future__ import annotations

from orbitlearn.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    ElementSetError,
    InputError,
    MissingDependencyError,
    OrbitlearnError,
)

__version__ = "0.1.0"

__all__ = [
    # errors
    "CheckpointError",
    "ConfigError",
    "DataError",
    "ElementSetError",
    "InputError",
    "MissingDependencyError",
    "OrbitlearnError",
    "__version__",
]
