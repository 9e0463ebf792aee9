"""A constellation: the satellites of a mission as sgp4 element sets.

Constellations come from TLE files, CelesTrak OMM files (JSON or CSV), or a generated Walker
shell; all three end as a :class:`Constellation` holding one ``sgp4.api.Satrec`` per satellite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from sgp4.api import Satrec, SatrecArray

from orbitlearn.space.timescale import jd_to_unix_s

__all__ = ["Constellation"]


@dataclass(frozen=True, eq=False)
class Constellation:
    """Satellites as sgp4 element sets, in a fixed order (index ``i`` is satellite ``i``).

    Attributes:
        names: one display name per satellite (the TLE title line, the OMM ``OBJECT_NAME``, or
            ``"walker-P<plane>-S<slot>"``).
        satrecs: one initialised ``sgp4.api.Satrec`` per satellite.
        source: where the elements came from (a path, or a description of the Walker shell).
    """

    names: tuple[str, ...]
    satrecs: tuple[Satrec, ...]
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.names) != len(self.satrecs):
            raise ValueError(
                f"Expected one name per element set, actual: {len(self.names)} names "
                f"for {len(self.satrecs)} element sets"
            )

    def __len__(self) -> int:
        return len(self.satrecs)

    @classmethod
    def from_satrecs(
        cls, satrecs: Sequence[Satrec], names: Sequence[str] | None = None, source: str = ""
    ) -> Constellation:
        """Build a constellation from initialised ``Satrec`` objects."""
        if names is None:
            names = [f"sat-{satrec.satnum_str}" for satrec in satrecs]
        return cls(names=tuple(names), satrecs=tuple(satrecs), source=source)

    @cached_property
    def satrec_array(self) -> SatrecArray:
        """The element sets as one ``SatrecArray`` (vectorised propagation in C++)."""
        return SatrecArray(list(self.satrecs))

    @cached_property
    def catalog_numbers(self) -> tuple[str, ...]:
        """NORAD catalog numbers as strings (Alpha-5 where the element set uses it)."""
        return tuple(satrec.satnum_str for satrec in self.satrecs)

    @cached_property
    def epochs_unix_s(self) -> NDArray[np.float64]:
        """Element-set epochs, POSIX seconds (UTC), shape ``(n_sats,)``."""
        return np.array(
            [float(jd_to_unix_s(s.jdsatepoch, s.jdsatepochF)) for s in self.satrecs],
            dtype=np.float64,
        )

    @cached_property
    def mean_motion_rad_s(self) -> NDArray[np.float64]:
        """Kozai-corrected mean motion ``no_kozai`` in radians per second, shape ``(n_sats,)``."""
        return np.array([s.no_kozai / 60.0 for s in self.satrecs], dtype=np.float64)

    def subset(self, indices: Sequence[int]) -> Constellation:
        """The satellites at ``indices``, in that order."""
        return Constellation(
            names=tuple(self.names[i] for i in indices),
            satrecs=tuple(self.satrecs[i] for i in indices),
            source=self.source,
        )
