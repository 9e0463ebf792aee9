"""Ground stations and named networks of them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from orbitlearn.errors import InputError
from orbitlearn.space.frames import geodetic_to_ecef

__all__ = ["GroundStation"]


@dataclass(frozen=True)
class GroundStation:
    """A ground station at WGS84 geodetic coordinates.

    ``min_elevation_deg`` is the station's own elevation mask; ``None`` means "use the mask
    given for the whole run".

    >>> GroundStation("Bremen", 53.1, 8.8).latitude_deg
    53.1
    >>> GroundStation("Nowhere", 95.0, 0.0)
    Traceback (most recent call last):
    ...
    orbitlearn.errors.InputError: Expected `latitude_deg of station 'Nowhere'` to be a number in [-90, 90], actual: 95.0
    """

    name: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float = 0.0
    min_elevation_deg: float | None = None

    def __post_init__(self) -> None:
        checks = (
            ("latitude_deg", self.latitude_deg, -90.0, 90.0),
            ("longitude_deg", self.longitude_deg, -180.0, 360.0),
            ("altitude_m", self.altitude_m, -500.0, 10_000.0),
        )
        for name, value, low, high in checks:
            if not (np.isfinite(value) and low <= value <= high):
                raise InputError(
                    f"{name} of station {self.name!r}", value, f"a number in [{low:g}, {high:g}]"
                )
        mask = self.min_elevation_deg
        if mask is not None and not (np.isfinite(mask) and -5.0 <= mask <= 90.0):
            raise InputError(
                f"min_elevation_deg of station {self.name!r}", mask, "a number in [-5, 90]"
            )

    @cached_property
    def position_ecef_m(self) -> NDArray[np.float64]:
        """Earth-fixed position, metres, shape ``(3,)``."""
        return geodetic_to_ecef(self.latitude_deg, self.longitude_deg, self.altitude_m)
