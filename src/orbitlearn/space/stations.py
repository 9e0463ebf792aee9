"""Ground stations and named networks of them.

:data:`NETWORKS` holds preset networks (coordinates from the project's REFERENCE.md, which
gathers public sources; city-level estimates are marked). :func:`parse_station_spec` reads the
``--station NAME=LAT,LON[,ALT_M]`` form and :func:`resolve_stations` combines stations and
networks into one tuple.

**Duplicates.** Networks overlap by design (Svalbard is in ``polar`` and ``commercial``), so a
station that appears twice with the same name *and* the same coordinates is kept once (at its
first place). Two different stations under one name are refused: contact tables key stations by
name, so the name must say which one is meant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from orbitlearn.errors import InputError
from orbitlearn.space.frames import geodetic_to_ecef

__all__ = [
    "NETWORKS",
    "STATION_SPEC_FORM",
    "GroundStation",
    "parse_station_spec",
    "resolve_stations",
]


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


# Ground stations of the preset networks. Coordinates: the project's shared REFERENCE.md,
# section "Ground stations (public coordinates; city-level where marked)": SvalSat 78.2298N
# 15.4078E, Troll ~72.01S 2.54E, Tromso 69.66N 18.94E; Bremen 53.1N 8.8E (the station of the
# FedISL / FedSat papers); Rolla ~37.95N 91.77W (AsyncFLEO / FedLEO); Deep Space Network
# complexes ~ Goldstone 35.43N 116.89W, Madrid 40.43N 4.25W, Canberra 35.40S 148.98E. Entries
# marked (est.) are city-level estimates of where a commercial network's antennas stand (good to
# tens of km): parameters, not survey values. No altitudes are given there, so all are 0 m above
# the ellipsoid; 500 m of height moves a 10-degree pass edge by well under a second.
_SVALBARD = GroundStation("Svalbard", 78.2298, 15.4078)
_TROLL = GroundStation("Troll", -72.01, 2.54)
_TROMSO = GroundStation("Tromso", 69.66, 18.94)
_FAIRBANKS = GroundStation("Fairbanks", 64.8, -147.7)  # (est.)
_HAWAII = GroundStation("Hawaii", 19.9, -155.6)  # (est.)
_IRELAND = GroundStation("Ireland", 53.3, -6.3)  # (est.)
_STOCKHOLM = GroundStation("Stockholm", 59.33, 18.06)  # (est.)
_CAPE_TOWN = GroundStation("Cape Town", -33.92, 18.42)  # (est.)
_DUBBO = GroundStation("Dubbo", -32.25, 148.60)  # (est.)
_PUNTA_ARENAS = GroundStation("Punta Arenas", -53.16, -70.91)  # (est.)
_SINGAPORE = GroundStation("Singapore", 1.35, 103.82)  # (est.)

#: Preset ground-station networks by name (see the comment above for sources).
#:
#: - ``polar``: Svalbard + Troll, one station near each pole (sees every polar orbit each rev);
#: - ``commercial``: ten sites laid out like a commercial ground-station-as-a-service network
#:   (city-level estimates, not any operator's actual antenna list);
#: - ``dsn``: NASA's Deep Space Network complexes, Goldstone, Madrid, Canberra;
#: - ``bremen``, ``rolla``: the single stations of published satellite-FL studies.
NETWORKS: dict[str, tuple[GroundStation, ...]] = {
    "polar": (_SVALBARD, _TROLL),
    "commercial": (
        _SVALBARD,
        _TROMSO,
        _FAIRBANKS,
        _HAWAII,
        _IRELAND,
        _STOCKHOLM,
        _CAPE_TOWN,
        _DUBBO,
        _PUNTA_ARENAS,
        _SINGAPORE,
    ),
    "dsn": (
        GroundStation("Goldstone", 35.43, -116.89),
        GroundStation("Madrid", 40.43, -4.25),
        GroundStation("Canberra", -35.40, 148.98),
    ),
    "bremen": (GroundStation("Bremen", 53.1, 8.8),),
    "rolla": (GroundStation("Rolla", 37.95, -91.77),),
}

#: The ``--station`` form, as shown in messages and help.
STATION_SPEC_FORM = "NAME=LAT,LON[,ALT_M]"
_SPEC_ALLOWED = (
    f"{STATION_SPEC_FORM} (latitude in degrees north [-90, 90], longitude in degrees east "
    "[-180, 360], altitude in metres [-500, 10000]) such as Bremen=53.1,8.8"
)
_COORDINATES = (
    ("latitude", -90.0, 90.0),
    ("longitude", -180.0, 360.0),
    ("altitude", -500.0, 10_000.0),
)


def parse_station_spec(text: str, *, field: str = "--station") -> GroundStation:
    """Parse ``NAME=LAT,LON[,ALT_M]`` (degrees north, degrees east, metres) into a station.

    ``field`` names the option in error messages.

    >>> parse_station_spec("Bremen=53.1,8.8")
    GroundStation(name='Bremen', latitude_deg=53.1, longitude_deg=8.8, altitude_m=0.0, min_elevation_deg=None)
    >>> parse_station_spec("Bremen=53.1")
    Traceback (most recent call last):
    ...
    orbitlearn.errors.InputError: Expected `--station` to be NAME=LAT,LON[,ALT_M] (latitude in degrees north [-90, 90], longitude in degrees east [-180, 360], altitude in metres [-500, 10000]) such as Bremen=53.1,8.8, actual: 'Bremen=53.1'. Found 1 number after '=', expected 2 or 3

    Raises:
        InputError: no ``=``, an empty name, not 2 or 3 numbers, a value that is not a number,
            or a coordinate out of range.
    """

    def bad(hint: str) -> InputError:
        return InputError(field, text, _SPEC_ALLOWED, hint=hint)

    if not isinstance(text, str) or "=" not in text:
        raise bad("The '=' between the name and the coordinates is missing")
    name, _, numbers = text.partition("=")
    name = name.strip()
    if not name:
        raise bad("The name before '=' is empty")
    parts = [part.strip() for part in numbers.split(",")]
    if parts == [""]:
        parts = []
    if len(parts) not in (2, 3):
        noun = "number" if len(parts) == 1 else "numbers"
        raise bad(f"Found {len(parts)} {noun} after '=', expected 2 or 3")
    values = []
    for (label, low, high), part in zip(_COORDINATES, parts, strict=False):
        try:
            value = float(part)
        except ValueError:
            raise bad(f"The {label} {part!r} is not a number") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise bad(f"The {label} {part} is outside [{low:g}, {high:g}]")
        values.append(value)
    altitude_m = values[2] if len(values) == 3 else 0.0
    return GroundStation(name, values[0], values[1], altitude_m)


def resolve_stations(
    specs: Iterable[str], network_names: Iterable[str]
) -> tuple[GroundStation, ...]:
    """Stations from ``--station`` specs and ``--network`` names, in that order.

    The ``--station`` stations come first in the order given, then each network's stations in
    network order. Network names are matched without regard to case. An identical station met
    again (same name and coordinates) is kept once; two different stations sharing a name raise.

    >>> [s.name for s in resolve_stations(["Bremen=53.1,8.8"], ["polar", "commercial"])][:4]
    ['Bremen', 'Svalbard', 'Troll', 'Tromso']

    Raises:
        InputError: a bad spec (see :func:`parse_station_spec`), an unknown network (the message
            lists the known ones), or one name for two different stations.
    """
    stations: list[tuple[GroundStation, str]] = [
        (parse_station_spec(spec), f"--station {spec}") for spec in specs
    ]
    for name in network_names:
        key = name.strip().lower() if isinstance(name, str) else name
        if key not in NETWORKS:
            raise InputError("--network", name, f"one of {', '.join(sorted(NETWORKS))}")
        stations.extend((station, f"--network {key}") for station in NETWORKS[key])
    chosen: dict[str, tuple[GroundStation, str]] = {}
    for station, origin in stations:
        seen = chosen.get(station.name)
        if seen is None:
            chosen[station.name] = (station, origin)
        elif not _same_place(seen[0], station):
            raise InputError(
                "--station",
                station.name,
                "a name used by one station only",
                hint=(
                    f"{origin} puts {station.name!r} at {_where(station)}, but "
                    f"{seen[1]} puts it at {_where(seen[0])}; rename one of them"
                ),
            )
    return tuple(station for station, _ in chosen.values())


def _same_place(a: GroundStation, b: GroundStation) -> bool:
    return (a.latitude_deg, a.longitude_deg % 360.0, a.altitude_m) == (
        b.latitude_deg,
        b.longitude_deg % 360.0,
        b.altitude_m,
    )


def _where(station: GroundStation) -> str:
    text = f"{station.latitude_deg:g},{station.longitude_deg:g}"
    if station.altitude_m:
        text += f",{station.altitude_m:g}"
    return text
