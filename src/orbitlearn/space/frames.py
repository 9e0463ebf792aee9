"""Reference frames: TEME (what sgp4 returns) to Earth-fixed, and WGS84 geodetic coordinates.

Shapes: position and velocity arrays end in an axis of 3 (x, y, z) in metres and metres per
second; a time array broadcasts against the axis just before it, so ``(n_sats, n_times, 3)``
positions go with ``(n_times,)`` times.

TEME -> ECEF is a rotation about z by Greenwich mean sidereal time (IAU 1982), the convention the
sgp4 reference code uses. Polar motion (< 0.5 arcsec, ~15 m at the surface) is neglected.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.space.timescale import gmst_rad

__all__ = [
    "EARTH_ROTATION_RAD_S",
    "WGS84_A_M",
    "WGS84_E2",
    "WGS84_F",
    "ecef_to_geodetic",
    "enu_basis",
    "geodetic_to_ecef",
    "teme_to_ecef",
]

#: WGS84 semi-major axis (NIMA TR8350.2, 3rd ed., table 3.1).
WGS84_A_M = 6_378_137.0
#: WGS84 flattening (NIMA TR8350.2, table 3.1).
WGS84_F = 1.0 / 298.257223563
#: WGS84 first eccentricity squared, derived from the flattening.
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
#: Earth's mean angular velocity (IERS Conventions 2010, value used with GMST in Vallado 2006).
EARTH_ROTATION_RAD_S = 7.292115146706979e-5

FloatArray = NDArray[np.float64]


def teme_to_ecef(
    r_teme_m: ArrayLike, v_teme_m_s: ArrayLike | None, unix_s: ArrayLike
) -> tuple[FloatArray, FloatArray | None]:
    """Rotate TEME positions (and velocities) into the Earth-fixed frame.

    ``r_teme_m`` has shape ``(..., n_times, 3)`` and ``unix_s`` shape ``(n_times,)`` (or anything
    that broadcasts against ``r_teme_m[..., 0]``). Velocities pick up the ``-omega x r`` term of
    the rotating frame. Returns ``(r_ecef_m, v_ecef_m_s)``; the velocity is ``None`` when none was
    given.

    >>> r, _ = teme_to_ecef([7.0e6, 0.0, 0.0], None, 946728000.0)
    >>> np.round(np.hypot(r[0], r[1]) - 7.0e6, 6)
    np.float64(0.0)
    """
    r = np.asarray(r_teme_m, dtype=np.float64)
    theta = gmst_rad(unix_s)
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    x = cos_t * r[..., 0] + sin_t * r[..., 1]
    y = -sin_t * r[..., 0] + cos_t * r[..., 1]
    r_ecef = np.stack(np.broadcast_arrays(x, y, r[..., 2]), axis=-1)
    if v_teme_m_s is None:
        return r_ecef, None
    v = np.asarray(v_teme_m_s, dtype=np.float64)
    vx = cos_t * v[..., 0] + sin_t * v[..., 1] + EARTH_ROTATION_RAD_S * r_ecef[..., 1]
    vy = -sin_t * v[..., 0] + cos_t * v[..., 1] - EARTH_ROTATION_RAD_S * r_ecef[..., 0]
    v_ecef = np.stack(np.broadcast_arrays(vx, vy, v[..., 2]), axis=-1)
    return r_ecef, v_ecef


def geodetic_to_ecef(
    latitude_deg: ArrayLike, longitude_deg: ArrayLike, altitude_m: ArrayLike = 0.0
) -> FloatArray:
    """Earth-fixed position of WGS84 geodetic coordinates, shape ``(..., 3)`` in metres.

    >>> np.round(geodetic_to_ecef(0.0, 0.0, 0.0), 3).tolist()
    [6378137.0, 0.0, 0.0]
    """
    lat = np.radians(np.asarray(latitude_deg, dtype=np.float64))
    lon = np.radians(np.asarray(longitude_deg, dtype=np.float64))
    alt = np.asarray(altitude_m, dtype=np.float64)
    sin_lat = np.sin(lat)
    prime_vertical_m = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    x = (prime_vertical_m + alt) * np.cos(lat) * np.cos(lon)
    y = (prime_vertical_m + alt) * np.cos(lat) * np.sin(lon)
    z = (prime_vertical_m * (1.0 - WGS84_E2) + alt) * sin_lat
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def ecef_to_geodetic(r_ecef_m: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """WGS84 geodetic latitude, longitude (degrees) and altitude (m) of Earth-fixed positions.

    Bowring's method with two refinements: sub-millimetre from the surface to beyond GEO.

    >>> lat, lon, alt = ecef_to_geodetic(geodetic_to_ecef(51.05, 8.8, 550e3))
    >>> round(float(lat), 9), round(float(lon), 9), round(float(alt), 4)
    (51.05, 8.8, 550000.0)
    """
    r = np.asarray(r_ecef_m, dtype=np.float64)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    b = WGS84_A_M * (1.0 - WGS84_F)
    ep2 = (WGS84_A_M**2 - b**2) / b**2
    p = np.hypot(x, y)
    lon = np.arctan2(y, x)
    beta = np.arctan2(z * WGS84_A_M, p * b)
    for _ in range(3):
        lat = np.arctan2(
            z + ep2 * b * np.sin(beta) ** 3, p - WGS84_E2 * WGS84_A_M * np.cos(beta) ** 3
        )
        beta = np.arctan2((1.0 - WGS84_F) * np.sin(lat), np.cos(lat))
    sin_lat = np.sin(lat)
    prime_vertical_m = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    cos_lat = np.cos(lat)
    # Near the poles p/cos(lat) is ill-conditioned; use the z form there.
    with np.errstate(divide="ignore", invalid="ignore"):
        alt_equatorial = p / cos_lat - prime_vertical_m
        alt_polar = z / sin_lat - prime_vertical_m * (1.0 - WGS84_E2)
    alt = np.where(np.abs(cos_lat) > 0.5, alt_equatorial, alt_polar)
    return np.degrees(lat), np.degrees(lon), alt


def enu_basis(latitude_deg: ArrayLike, longitude_deg: ArrayLike) -> FloatArray:
    """Local east, north and up unit vectors in the Earth-fixed frame, shape ``(..., 3, 3)``.

    Row 0 is east, row 1 north, row 2 up (the geodetic normal), so ``basis @ d`` turns an
    Earth-fixed vector ``d`` into (east, north, up) components.

    >>> (np.round(enu_basis(0.0, 0.0), 12) + 0.0).tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    lat = np.radians(np.asarray(latitude_deg, dtype=np.float64))
    lon = np.radians(np.asarray(longitude_deg, dtype=np.float64))
    sin_lat, cos_lat = np.sin(lat), np.cos(lat)
    sin_lon, cos_lon = np.sin(lon), np.cos(lon)
    zero = np.zeros_like(sin_lat * sin_lon)
    east = np.stack(np.broadcast_arrays(-sin_lon, cos_lon, zero), axis=-1)
    north = np.stack(np.broadcast_arrays(-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat), axis=-1)
    up = np.stack(np.broadcast_arrays(cos_lat * cos_lon, cos_lat * sin_lon, sin_lat), axis=-1)
    return np.stack([east, north, up], axis=-2)
