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

The defaults (est.) are fitted to NASA's AP8-MIN trapped-proton model (> 10 MeV integral flux at
550 km, evaluated with the ``aep8`` package, IRBEM, for a 2026 epoch): its log-flux is close to a
Gaussian about ~32 S, 35 W with widths ~9-11 deg in latitude and ~18-21 deg in longitude. With
the contour at 2 % of the peak the time inside at 550 km is ~7 % for a sun-synchronous orbit and
~10 % at 53 deg (AP8: 7.7 % and 12.0 %; REFERENCE.md: ~7 % and ~11 %), the contour agrees with
AP8's > 1 cm^-2 s^-1 region at ~95 % (53 deg) and ~97 % (SSO) of time steps, and ~96 % of the
profile's weight along those orbits lies inside AP8's region. ``tests/space/test_saa.py``
repeats the comparison when ``aep8`` is installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import ConfigError
from orbitlearn.space._config_checks import check_number

__all__ = ["DEFAULT_SAA_BOX", "SaaModel", "depth_in_polygon_deg", "points_in_polygon"]

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
    lat, lon = np.broadcast_arrays(_as_float(latitude_deg), _wrap_longitude(longitude_deg))
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


def depth_in_polygon_deg(
    latitude_deg: ArrayLike, longitude_deg: ArrayLike, polygon: tuple[tuple[float, float], ...]
) -> NDArray[Any]:
    """Distance from each point to the polygon's boundary, degrees: > 0 inside, <= 0 outside.

    Distances are planar in (latitude, longitude) degrees (the same units the polygon is given
    in); the default box needs only four differences.

    >>> depth_in_polygon_deg([-25.0, -48.0, 10.0], [-50.0, -50.0, -50.0], DEFAULT_SAA_BOX).tolist()
    [25.0, 2.0, -10.0]
    """
    lat, lon = np.broadcast_arrays(_as_float(latitude_deg), _wrap_longitude(longitude_deg))
    vertices = np.asarray(polygon, dtype=np.float64)
    if _is_axis_aligned_box(vertices):
        low_lat, high_lat = float(vertices[:, 0].min()), float(vertices[:, 0].max())
        low_lon, high_lon = float(vertices[:, 1].min()), float(vertices[:, 1].max())
        depth = np.minimum(
            np.minimum(lat - low_lat, high_lat - lat), np.minimum(lon - low_lon, high_lon - lon)
        )
        return depth
    nearest = np.full(lat.shape, np.inf, dtype=lat.dtype)
    for (lat_a, lon_a), (lat_b, lon_b) in zip(vertices, np.roll(vertices, -1, axis=0), strict=True):
        d_lat, d_lon = lat_b - lat_a, lon_b - lon_a
        length2 = d_lat * d_lat + d_lon * d_lon
        along = np.clip(((lat - lat_a) * d_lat + (lon - lon_a) * d_lon) / length2, 0.0, 1.0)
        gap_lat = lat - (lat_a + along * d_lat)
        gap_lon = lon - (lon_a + along * d_lon)
        nearest = np.minimum(nearest, np.sqrt(gap_lat * gap_lat + gap_lon * gap_lon))
    return np.where(points_in_polygon(lat, lon, polygon), nearest, -nearest)


def _as_float(values: ArrayLike) -> NDArray[Any]:
    """A float array, keeping float32 input as float32 (the fast path of the radiation model)."""
    array = np.asarray(values)
    return array if array.dtype in (np.float32, np.float64) else array.astype(np.float64)


def _wrap_longitude(longitude_deg: ArrayLike) -> NDArray[Any]:
    """Longitudes in [-180, 180); skips the modulo when they already are (the usual case)."""
    lon = _as_float(longitude_deg)
    if lon.size and (np.nanmin(lon) < -180.0 or np.nanmax(lon) >= 180.0):
        lon = np.mod(lon + 180.0, 360.0) - 180.0
    return lon


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
        center_latitude_deg, center_longitude_deg: centre of the flux profile (est., fitted to
            AP8-MIN > 10 MeV at 550 km; see the module docstring).
        sigma_latitude_deg, sigma_longitude_deg: widths of the Gaussian profile (est., same fit).
        edge_intensity: profile value (0..1) at ``reference_altitude_m`` that bounds "in the
            SAA"; 0 makes the whole region the SAA.
        reference_altitude_m: altitude at which ``edge_intensity`` applies.
        edge_taper_deg: the profile ramps from 0 at the region's boundary to its full value
            this many degrees inside (0: a hard edge). A real anomaly has no step at a box edge.

    >>> SaaModel(sigma_latitude_deg=0.0)
    Traceback (most recent call last):
    ...
    orbitlearn.errors.ConfigError: Expected `saa.sigma_latitude_deg` to be a number of degrees in (0, 90], actual: 0.0
    """

    region: tuple[tuple[float, float], ...] = DEFAULT_SAA_BOX
    center_latitude_deg: float = -32.0
    center_longitude_deg: float = -35.0
    sigma_latitude_deg: float = 11.0
    sigma_longitude_deg: float = 20.0
    edge_intensity: float = 0.02
    reference_altitude_m: float = 550e3
    edge_taper_deg: float = 4.0
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
        check_number("saa.edge_taper_deg", self.edge_taper_deg, 0.0, 30.0, unit="degrees")

    def profile(self, latitude_deg: ArrayLike, longitude_deg: ArrayLike) -> FloatArray:
        """Relative >10 MeV proton flux at fixed altitude, 0..1 (0 outside the region).

        >>> model = SaaModel()
        >>> model.profile([-32.0, 20.0], [-35.0, -35.0]).tolist()
        [1.0, 0.0]
        """
        lat = _as_float(latitude_deg)
        lon = _wrap_longitude(longitude_deg)
        d_lon = lon - self.center_longitude_deg  # in [-360, 360): wrap into [-180, 180)
        d_lon = np.where(
            d_lon >= 180.0, d_lon - 360.0, np.where(d_lon < -180.0, d_lon + 360.0, d_lon)
        )
        d2 = ((lat - self.center_latitude_deg) * (1.0 / self.sigma_latitude_deg)) ** 2 + (
            d_lon * (1.0 / self.sigma_longitude_deg)
        ) ** 2
        if self.edge_taper_deg > 0.0:
            depth = depth_in_polygon_deg(lat, lon, self.region)
            taper = np.clip(depth * (1.0 / self.edge_taper_deg), 0.0, 1.0)
            return (np.exp(-0.5 * d2) * taper).astype(d2.dtype, copy=False)
        inside = points_in_polygon(lat, lon, self.region)
        return np.where(inside, np.exp(-0.5 * d2), 0.0).astype(d2.dtype, copy=False)

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
            "edge_taper_deg": self.edge_taper_deg,
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
            "edge_taper_deg",
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
