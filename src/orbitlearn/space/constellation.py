"""A constellation: the satellites of a mission as sgp4 element sets.

Constellations come from TLE files, CelesTrak OMM files (JSON or CSV), or a generated Walker
shell; all three end as a :class:`Constellation` holding one ``sgp4.api.Satrec`` per satellite.

Names are unique within a constellation built by the loaders (:mod:`orbitlearn.space.tle`,
:mod:`orbitlearn.space.omm`, :mod:`orbitlearn.space.walker`), because contact tables and reports
key satellites by name: see :func:`unique_names` for the rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from sgp4.api import Satrec, SatrecArray

from orbitlearn.space.timescale import jd_to_unix_s

__all__ = ["Constellation", "unique_names"]


def unique_names(names: Sequence[str], catalog_numbers: Sequence[str]) -> tuple[str, ...]:
    """Make satellite names unique without dropping any satellite.

    Element-set files repeat names (``"OBJECT A"``, ``"TBA - TO BE ASSIGNED"``) and sometimes
    hold several element sets of one object. Every satellite is kept, in order; a name that
    occurs more than once gets its catalog number appended as ``"NAME [25544]"``, and where that
    still collides (the same object twice) each copy gets ``" #k"`` (k = 1, 2, ... in file order).

    >>> unique_names(["A", "B", "A", "C", "C"], ["1", "2", "3", "4", "4"])
    ('A [1]', 'B', 'A [3]', 'C [4] #1', 'C [4] #2')
    """
    if len(names) != len(catalog_numbers):
        raise ValueError(
            f"Expected one catalog number per name, actual: {len(catalog_numbers)} catalog "
            f"numbers for {len(names)} names"
        )
    counts = Counter(names)
    result = [
        f"{name} [{catalog}]" if counts[name] > 1 else name
        for name, catalog in zip(names, catalog_numbers, strict=True)
    ]
    counts = Counter(result)
    seen: Counter[str] = Counter()
    for i, name in enumerate(result):
        if counts[name] > 1:
            seen[name] += 1
            result[i] = f"{name} #{seen[name]}"
    return tuple(result)


@dataclass(frozen=True, eq=False)
class Constellation:
    """Satellites as sgp4 element sets, in a fixed order (index ``i`` is satellite ``i``).

    Attributes:
        names: one display name per satellite (the TLE title line, the OMM ``OBJECT_NAME``, or
            ``"walker-P<plane>-S<slot>"``).
        satrecs: one initialised ``sgp4.api.Satrec`` per satellite.
        source: where the elements came from (a path, or a description of the Walker shell).
        planes: 0-based orbital plane of each satellite where it is known by construction
            (Walker shells), else ``None``.
    """

    names: tuple[str, ...]
    satrecs: tuple[Satrec, ...]
    source: str = ""
    planes: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.names) != len(self.satrecs):
            raise ValueError(
                f"Expected one name per element set, actual: {len(self.names)} names "
                f"for {len(self.satrecs)} element sets"
            )
        if self.planes is not None and len(self.planes) != len(self.satrecs):
            raise ValueError(
                f"Expected one plane index per element set, actual: {len(self.planes)} plane "
                f"indices for {len(self.satrecs)} element sets"
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
            planes=None if self.planes is None else tuple(self.planes[i] for i in indices),
        )
