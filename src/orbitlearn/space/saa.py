"""The South Atlantic Anomaly: where it is, and how intense the trapped protons are inside it.

Over the South Atlantic the inner Van Allen belt dips to a few hundred kilometres because the
geomagnetic field is weakest there; in low Earth orbit most single-event upsets happen inside it
(90-97.5 %, REFERENCE.md "Radiation").

The model has two parts:

* a **region**: a polygon of (latitude, longitude) vertices, by default the box
  lat [-50, 0] deg, lon [-90, 40] deg (which agrees with AP8 > 10 MeV at 92-95 % of time steps,
  REFERENCE.md). Outside it the trapped-proton intensity is zero.
* a **profile** inside the region: a Gaussian in latitude and longitude about the anomaly's
  centre, ``exp(-d**2 / 2)`` with ``d`` the distance in units of ``sigma_lat_deg`` /
  ``sigma_lon_deg``. It is the shape of the >10 MeV proton flux at fixed altitude (relative
  units; the altitude scaling lives in :mod:`orbitlearn.space.radiation`).

A satellite is *in* the SAA where its flux is above the contour ``edge_intensity`` at
``reference_altitude_m``: inside the region and ``profile * A(h) >= edge_intensity * A(h_ref)``,
with ``A`` the trapped-proton altitude scaling. The contour therefore widens with altitude as the
real anomaly does. With ``edge_intensity = 0`` the whole region counts as the SAA.

The defaults are fitted (est.) so that at 550 km the time inside is ~7 % for a sun-synchronous
orbit and ~11 % at 53 deg inclination (AP8 > 10 MeV figures in REFERENCE.md), with the centre
near the field minimum of the 2020s (~27 S, 50 W; IGRF-13).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import ConfigError
from orbitlearn.space._config_checks import check_number

__all__ = ["DEFAULT_SAA_BOX", "SaaModel", "points_in_polygon"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: The default SAA region, (latitude_deg, longitude_deg) vertices counter-clockwise:
#: lat [-50, 0], lon [-90, 40] (REFERENCE.md "Radiation": agrees with AP8 at 92-95 % of steps).
DEFAULT_SAA_BOX: tuple[tuple[float, float], ...] = (
    (-50.0, -90.0),
    (-50.0, 40.0),
    (0.0, 40.0),
    (0.0, -90.0),
)


def points_in_polygon(
    latitude_deg: ArrayLike, longitude_deg: ArrayLike, polygon: tuple[tuple[float, float], ...]
) -> BoolArray:
    """Whether each point lies inside a (latitude, longitude) polygon (even-odd rule).

    Vectorised over points; the loop is over the polygon's edges. Longitudes are wrapped to
    [-180, 180); the polygon must not cross the antimeridian. Points exactly on an edge count
    as inside for the lower/left edges and outside for the upper/right ones (half-open).

    >>> points_in_polygon([-25.0, 10.0, -25.0], [-50.0, -50.0, 60.0], DEFAULT_SAA_BOX).tolist()
    [True, False, False]
    """
    lat = np.asarray(latitude_deg, dtype=np.float64)
    lon = np.mod(np.asarray(longitude_deg, dtype=np.float64) + 180.0, 360.0) - 180.0
    lat, lon = np.broadcast_arrays(lat, lon)
    inside = np.zeros(lat.shape, dtype=bool)
    vertices = np.asarray(polygon, dtype=np.float64)
    if _is_axis_aligned_box(vertices):  # the default: four comparisons, no ray casting
        low_lat, high_lat = vertices[:, 0].min(), vertices[:, 0].max()
        low_lon, high_lon = vertices[:, 1].min(), vertices[:, 1].max()
        return (lat >= low_lat) & (lat < high_lat) & (lon >= low_lon) & (lon < high_lon)
    # Ray casting along +longitude: count edges that straddle the point's latitude east of it.
    for (lat_a, lon_a), (lat_b, lon_b) in zip(vertices, np.roll(vertices, -1, axis=0), strict=True):
        if lat_a == lat_b:
            continue
        straddles = (lat_a <= lat) != (lat_b <= lat)
        crossing_lon = lon_a + (lat - lat_a) * (lon_b - lon_a) / (lat_b - lat_a)
        inside ^= straddles & (lon < crossing_lon)
    return inside


def _is_axis_aligned_box(vertices: FloatArray) -> bool:
    if vertices.shape != (4, 2):
        return False
    lats, lons = np.unique(vertices[:, 0]), np.unique(vertices[:, 1])
    if lats.size != 2 or lons.size != 2:
        return False
    corners = {(float(a), float(b)) for a in lats for b in lons}
    return corners == {(float(a), float(b)) for a, b in vertices}


@dataclass(frozen=True)
class SaaModel:
    """Where the SAA is and the shape of its proton flux (see the module docstring).

    Attributes:
        region: polygon of (latitude_deg, longitude_deg) vertices, at least 3, longitudes in
            [-180, 180], not crossing the antimeridian.
        center_latitude_deg, center_longitude_deg: centre of the flux profile (est., IGRF-13
            field minimum of the 2020s ~27 S 50 W).
        sigma_latitude_deg, sigma_longitude_deg: widths of the Gaussian profile (est., fitted
            to the AP8 time shares in REFERENCE.md).
        edge_intensity: profile value (0..1) at ``reference_altitude_m`` that bounds "in the
            SAA"; 0 makes the whole region the SAA.
        reference_altitude_m: altitude at which ``edge_intensity`` applies.

    >>> SaaModel(sigma_latitude_deg=0.0)
    Traceback (most recent call last):
    ...
    orbitlearn.errors.ConfigError: Expected `saa.sigma_latitude_deg` to be a number of degrees in (0, 90], actual: 0.0
    """

    region: tuple[tuple[float, float], ...] = DEFAULT_SAA_BOX
    center_latitude_deg: float = -27.0
    center_longitude_deg: float = -50.0
    sigma_latitude_deg: float = 13.0
    sigma_longitude_deg: float = 30.0
    edge_intensity: float = 0.1
    reference_altitude_m: float = 550e3
    _vertices: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        vertices = _validate_polygon(self.region)
        object.__setattr__(self, "region", tuple((float(a), float(b)) for a, b in vertices))
        object.__setattr__(self, "_vertices", vertices)
        check_number(
            "saa.center_latitude_deg", self.center_latitude_deg, -90.0, 90.0, unit="degrees"
        )
        check_number(
            "saa.center_longitude_deg", self.center_longitude_deg, -180.0, 180.0, unit="degrees"
        )
        for name in ("sigma_latitude_deg", "sigma_longitude_deg"):
            check_number(
                f"saa.{name}",
                getattr(self, name),
                0.0,
                90.0 if "lat" in name else 180.0,
                low_open=True,
                unit="degrees",
            )
        check_number("saa.edge_intensity", self.edge_intensity, 0.0, 1.0)
        check_number(
            "saa.reference_altitude_m", self.reference_altitude_m, 100e3, 2000e3, unit="metres"
        )

    def profile(self, latitude_deg: ArrayLike, longitude_deg: ArrayLike) -> FloatArray:
        """Relative >10 MeV proton flux at fixed altitude, 0..1 (0 outside the region).

        >>> model = SaaModel()
        >>> model.profile([-27.0, 20.0], [-50.0, -50.0]).tolist()
        [1.0, 0.0]
        """
        lat = np.asarray(latitude_deg, dtype=np.float64)
        lon = np.mod(np.asarray(longitude_deg, dtype=np.float64) + 180.0, 360.0) - 180.0
        d_lon = np.mod(lon - self.center_longitude_deg + 180.0, 360.0) - 180.0
        d2 = ((lat - self.center_latitude_deg) / self.sigma_latitude_deg) ** 2 + (
            d_lon / self.sigma_longitude_deg
        ) ** 2
        inside = points_in_polygon(lat, lon, self.region)
        return np.where(inside, np.exp(-0.5 * d2), 0.0)

    def in_saa(self, profile: ArrayLike, altitude_gain: ArrayLike) -> BoolArray:
        """Whether the flux is above the SAA contour.

        ``profile`` is :meth:`profile`'s output and ``altitude_gain`` the trapped-flux scaling
        ``A(h) / A(reference_altitude_m)`` at each point (broadcast against ``profile``).
        """
        value = np.asarray(profile, dtype=np.float64)
        gain = np.asarray(altitude_gain, dtype=np.float64)
        return (value > 0.0) & (value * gain >= self.edge_intensity)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON-ready)."""
        return {
            "region": [list(vertex) for vertex in self.region],
            "center_latitude_deg": self.center_latitude_deg,
            "center_longitude_deg": self.center_longitude_deg,
            "sigma_latitude_deg": self.sigma_latitude_deg,
            "sigma_longitude_deg": self.sigma_longitude_deg,
            "edge_intensity": self.edge_intensity,
            "reference_altitude_m": self.reference_altitude_m,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SaaModel:
        """Inverse of :meth:`to_dict`; unknown keys are rejected."""
        known = {
            "region",
            "center_latitude_deg",
            "center_longitude_deg",
            "sigma_latitude_deg",
            "sigma_longitude_deg",
            "edge_intensity",
            "reference_altitude_m",
        }
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError("saa", unknown[0], "one of " + ", ".join(sorted(known)))
        kwargs = dict(values)
        if "region" in kwargs:
            kwargs["region"] = tuple(tuple(vertex) for vertex in kwargs["region"])
        return cls(**kwargs)


def _validate_polygon(region: Any) -> FloatArray:
    allowed = (
        "a polygon of at least 3 (latitude_deg, longitude_deg) vertices with latitudes in "
        "[-90, 90] and longitudes in [-180, 180]"
    )
    try:
        vertices = np.asarray(region, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError("saa.region", region, allowed) from None
    if (
        vertices.ndim != 2
        or vertices.shape[0] < 3
        or vertices.shape[1] != 2
        or not np.all(np.isfinite(vertices))
        or np.any(np.abs(vertices[:, 0]) > 90.0)
        or np.any(np.abs(vertices[:, 1]) > 180.0)
    ):
        raise ConfigError("saa.region", region, allowed)
    return vertices
