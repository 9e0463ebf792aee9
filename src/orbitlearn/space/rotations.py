"""Inertial frames of date and the time scales they are defined on.

Two jobs, both needed to put a JPL ephemeris position next to an sgp4 satellite position:

* **Time scales.** Instants in orbitlearn are POSIX seconds on UTC (``unix_s``). The ephemeris
  wants TDB and the precession/nutation series want TT:
  ``TAI = UTC + (TAI - UTC)`` from the leap-second table, ``TT = TAI + 32.184 s``,
  ``TDB = TT + 1.657 ms sin g + 0.014 ms sin 2g``.
* **GCRS -> TEME.** sgp4 works in TEME, "true equator, mean equinox" of date (Vallado et al.,
  AIAA 2006-6753, appendix C). From the GCRS (ICRF axes at the geocentre, what DE421 gives) that
  is frame bias, IAU-1976 precession, IAU-1980 nutation, then a turn about the true pole by the
  equation of the equinoxes that puts the x axis back on the mean equinox::

      r_teme = R3(eqeq) N(dpsi, deps) P(zeta, z, theta) B r_gcrs

Accuracy: the nutation series here keeps the 63 largest terms of the 106-term IAU-1980 series
(every term of at least 0.3 mas in longitude, the selection of Meeus, *Astronomical Algorithms*,
2nd ed., table 22.A); the dropped terms add up to less than ~2 mas, checked against ERFA's full
``nut80`` in the tests. The whole GCRS -> TEME rotation agrees with ERFA's IAU-1976/1980 chain
to a few milliarcseconds, i.e. ~0.1 m at a LEO radius and ~4 m at the Moon. The two small
"kinematic" terms of the 1994 equation of the equinoxes (<= 2.7 mas) are left out, as in the
classical TEME definition.

Rotation matrices are "rotation of axes" (passive): ``R3(a) @ v`` gives the components of ``v``
in axes turned by ``a`` about z.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import InputError
from orbitlearn.space.timescale import DAY_S, UNIX_EPOCH_JD

__all__ = [
    "TT_MINUS_TAI_S",
    "gcrs_to_teme",
    "gcrs_to_teme_matrix",
    "mean_obliquity_rad",
    "nutation_rad",
    "tai_minus_utc_s",
    "teme_to_gcrs",
    "unix_s_to_tdb_jd",
    "unix_s_to_tt_jd",
]

FloatArray = NDArray[np.float64]

#: TT - TAI, exactly, by definition (IAU 1991 Resolution A4; IERS Conventions 2010, ch. 10).
TT_MINUS_TAI_S = 32.184
#: Julian date of J2000.0 (2000-01-01T12:00:00 TT).
_J2000_JD = 2_451_545.0
_ARCSEC_RAD = np.pi / (180.0 * 3600.0)

# Leap seconds: (UTC date from which it holds, TAI - UTC in seconds).
# Source: IERS Bulletin C (https://hpiers.obspm.fr/iers/bul/bulc/Leap_Second.dat). The last
# leap second was inserted at the end of 2016-12-31; every Bulletin C since (up to the ones
# issued in 2025 when this table was written) announced none, so TAI - UTC = 37 s is assumed
# for every later date. A future leap second would shift TT by 1 s (the Moon by ~1 km along its
# orbit, the Sun by ~0.04"), far below what the eclipse and light-time models here resolve.
# Before 1972 UTC ran with fractional offsets and rate changes (TAI - UTC from 1.4 s in 1961 to
# 10 s in 1972) and before 1961 it followed UT; the table holds 10 s for all of that, which is
# off by up to ~10 s in 1961-1971 and by up to ~45 s (the size of TT - UT) around 1900.
_LEAP_SECOND_TABLE: tuple[tuple[str, int], ...] = (
    ("1972-01-01", 10),
    ("1972-07-01", 11),
    ("1973-01-01", 12),
    ("1974-01-01", 13),
    ("1975-01-01", 14),
    ("1976-01-01", 15),
    ("1977-01-01", 16),
    ("1978-01-01", 17),
    ("1979-01-01", 18),
    ("1980-01-01", 19),
    ("1981-07-01", 20),
    ("1982-07-01", 21),
    ("1983-07-01", 22),
    ("1985-07-01", 23),
    ("1988-01-01", 24),
    ("1990-01-01", 25),
    ("1991-01-01", 26),
    ("1992-07-01", 27),
    ("1993-07-01", 28),
    ("1994-07-01", 29),
    ("1996-01-01", 30),
    ("1997-07-01", 31),
    ("1999-01-01", 32),
    ("2006-01-01", 33),
    ("2009-01-01", 34),
    ("2012-07-01", 35),
    ("2015-07-01", 36),
    ("2017-01-01", 37),
)
_LEAP_STARTS_UNIX_S = np.array(
    [np.datetime64(day, "s").astype(np.int64) for day, _ in _LEAP_SECOND_TABLE], dtype=np.float64
)
_LEAP_OFFSETS_S = np.array([offset for _, offset in _LEAP_SECOND_TABLE], dtype=np.float64)


def _as_times(unix_s: ArrayLike) -> FloatArray:
    seconds = np.asarray(unix_s, dtype=np.float64)
    if not np.all(np.isfinite(seconds)):
        bad = seconds[~np.isfinite(seconds)].flat[0]
        raise InputError("unix_s", float(bad), "finite POSIX seconds (UTC)")
    return seconds


def tai_minus_utc_s(unix_s: ArrayLike) -> FloatArray:
    """TAI - UTC in seconds at the given instants (leap seconds; IERS Bulletin C).

    >>> tai_minus_utc_s([946684800.0, 1767225600.0]).tolist()  # 2000-01-01, 2026-01-01
    [32.0, 37.0]
    """
    seconds = _as_times(unix_s)
    index = np.searchsorted(_LEAP_STARTS_UNIX_S, seconds, side="right") - 1
    return _LEAP_OFFSETS_S[np.clip(index, 0, None)]


def unix_s_to_tt_jd(unix_s: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Terrestrial Time as a split Julian date ``(whole, fraction)``.

    The whole part is the Julian date of the UTC midnight before each instant (it ends in .5);
    the fraction carries the time of day plus TT - UTC (so it may slightly exceed 1). Keeping the
    two apart holds sub-microsecond precision.

    >>> whole, fraction = unix_s_to_tt_jd(946728000.0)  # 2000-01-01T12:00:00 UTC
    >>> float(whole), round(float(fraction) * 86400.0, 3)
    (2451544.5, 43264.184)
    """
    seconds = _as_times(unix_s)
    whole_days = np.floor(seconds / DAY_S)
    offset_s = tai_minus_utc_s(seconds) + TT_MINUS_TAI_S
    fraction = (seconds - whole_days * DAY_S + offset_s) / DAY_S
    return UNIX_EPOCH_JD + whole_days, fraction


def unix_s_to_tdb_jd(unix_s: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Barycentric Dynamical Time as a split Julian date ``(whole, fraction)``.

    TDB - TT is the two-term periodic series of USNO Circular 179 (Kaplan 2005, eq. 2.6),
    good to ~10 microseconds: ``0.001657 sin g + 0.000014 sin 2g`` seconds with
    ``g = 357.53 + 0.98560028 (JD_TT - 2451545.0)`` degrees.

    >>> whole, fraction = unix_s_to_tdb_jd(946728000.0)
    >>> float(whole), round(float(fraction) * 86400.0, 6)
    (2451544.5, 43264.183927)
    """
    whole, fraction = unix_s_to_tt_jd(unix_s)
    g_rad = np.radians(357.53 + 0.98560028 * ((whole - _J2000_JD) + fraction))
    tdb_minus_tt_s = 0.001657 * np.sin(g_rad) + 0.000014 * np.sin(2.0 * g_rad)
    return whole, fraction + tdb_minus_tt_s / DAY_S


def _tt_centuries(unix_s: ArrayLike) -> FloatArray:
    whole, fraction = unix_s_to_tt_jd(unix_s)
    return ((whole - _J2000_JD) + fraction) / 36_525.0


def _rot1(angle: FloatArray) -> FloatArray:
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(c), np.zeros_like(c)
    return np.stack(
        [np.stack([one, zero, zero], -1), np.stack([zero, c, s], -1), np.stack([zero, -s, c], -1)],
        axis=-2,
    )


def _rot2(angle: FloatArray) -> FloatArray:
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(c), np.zeros_like(c)
    return np.stack(
        [np.stack([c, zero, -s], -1), np.stack([zero, one, zero], -1), np.stack([s, zero, c], -1)],
        axis=-2,
    )


def _rot3(angle: FloatArray) -> FloatArray:
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(c), np.zeros_like(c)
    return np.stack(
        [np.stack([c, s, zero], -1), np.stack([-s, c, zero], -1), np.stack([zero, zero, one], -1)],
        axis=-2,
    )


# Frame bias GCRS -> mean equator and equinox of J2000.0, B = R1(-eta0) R2(xi0) R3(dalpha0)
# (IERS Conventions 2003, eq. 5.21-5.22: dalpha0 = -14.6 mas, xi0 = -16.6170 mas,
# eta0 = -6.8192 mas).
_FRAME_BIAS = (
    _rot1(np.array(6.8192e-3 * _ARCSEC_RAD))
    @ _rot2(np.array(-16.6170e-3 * _ARCSEC_RAD))
    @ _rot3(np.array(-14.6e-3 * _ARCSEC_RAD))
)


def _precession_matrix(t_centuries: FloatArray) -> FloatArray:
    """IAU-1976 precession, mean J2000 -> mean of date (Lieske et al. 1977, A&A 58, 1)."""
    t = t_centuries
    zeta = (2306.2181 * t + 0.30188 * t**2 + 0.017998 * t**3) * _ARCSEC_RAD
    z = (2306.2181 * t + 1.09468 * t**2 + 0.018203 * t**3) * _ARCSEC_RAD
    theta = (2004.3109 * t - 0.42665 * t**2 - 0.041833 * t**3) * _ARCSEC_RAD
    return _rot3(-z) @ _rot2(theta) @ _rot3(-zeta)


def mean_obliquity_rad(unix_s: ArrayLike) -> FloatArray:
    """Mean obliquity of the ecliptic, IAU 1980 (Lieske et al. 1977), radians.

    >>> round(float(np.degrees(mean_obliquity_rad(946728000.0))), 6)
    23.439291
    """
    return _mean_obliquity(_tt_centuries(unix_s))


def _mean_obliquity(t: FloatArray) -> FloatArray:
    arcsec = 84_381.448 - 46.8150 * t - 0.00059 * t**2 + 0.001813 * t**3
    return arcsec * _ARCSEC_RAD


# IAU-1980 nutation (Seidelmann 1982), the 63 terms of at least 0.3 mas in longitude as tabulated
# by Meeus, Astronomical Algorithms (2nd ed.), table 22.A. Columns: multipliers of D, M, M', F,
# Omega; then dpsi = (A + B T) sin(arg) and deps = (C + D T) cos(arg), in units of 0.1 mas.
_NUTATION_TERMS = np.array(
    [
        # D  M  M'  F  Om        A       B        C      D
        [0, 0, 0, 0, 1, -171996.0, -174.2, 92025.0, 8.9],
        [-2, 0, 0, 2, 2, -13187.0, -1.6, 5736.0, -3.1],
        [0, 0, 0, 2, 2, -2274.0, -0.2, 977.0, -0.5],
        [0, 0, 0, 0, 2, 2062.0, 0.2, -895.0, 0.5],
        [0, 1, 0, 0, 0, 1426.0, -3.4, 54.0, -0.1],
        [0, 0, 1, 0, 0, 712.0, 0.1, -7.0, 0.0],
        [-2, 1, 0, 2, 2, -517.0, 1.2, 224.0, -0.6],
        [0, 0, 0, 2, 1, -386.0, -0.4, 200.0, 0.0],
        [0, 0, 1, 2, 2, -301.0, 0.0, 129.0, -0.1],
        [-2, -1, 0, 2, 2, 217.0, -0.5, -95.0, 0.3],
        [-2, 0, 1, 0, 0, -158.0, 0.0, 0.0, 0.0],
        [-2, 0, 0, 2, 1, 129.0, 0.1, -70.0, 0.0],
        [0, 0, -1, 2, 2, 123.0, 0.0, -53.0, 0.0],
        [2, 0, 0, 0, 0, 63.0, 0.0, 0.0, 0.0],
        [0, 0, 1, 0, 1, 63.0, 0.1, -33.0, 0.0],
        [2, 0, -1, 2, 2, -59.0, 0.0, 26.0, 0.0],
        [0, 0, -1, 0, 1, -58.0, -0.1, 32.0, 0.0],
        [0, 0, 1, 2, 1, -51.0, 0.0, 27.0, 0.0],
        [-2, 0, 2, 0, 0, 48.0, 0.0, 0.0, 0.0],
        [0, 0, -2, 2, 1, 46.0, 0.0, -24.0, 0.0],
        [2, 0, 0, 2, 2, -38.0, 0.0, 16.0, 0.0],
        [0, 0, 2, 2, 2, -31.0, 0.0, 13.0, 0.0],
        [0, 0, 2, 0, 0, 29.0, 0.0, 0.0, 0.0],
        [-2, 0, 1, 2, 2, 29.0, 0.0, -12.0, 0.0],
        [0, 0, 0, 2, 0, 26.0, 0.0, 0.0, 0.0],
        [-2, 0, 0, 2, 0, -22.0, 0.0, 0.0, 0.0],
        [0, 0, -1, 2, 1, 21.0, 0.0, -10.0, 0.0],
        [0, 2, 0, 0, 0, 17.0, -0.1, 0.0, 0.0],
        [2, 0, -1, 0, 1, 16.0, 0.0, -8.0, 0.0],
        [-2, 2, 0, 2, 2, -16.0, 0.1, 7.0, 0.0],
        [0, 1, 0, 0, 1, -15.0, 0.0, 9.0, 0.0],
        [-2, 0, 1, 0, 1, -13.0, 0.0, 7.0, 0.0],
        [0, -1, 0, 0, 1, -12.0, 0.0, 6.0, 0.0],
        [0, 0, 2, -2, 0, 11.0, 0.0, 0.0, 0.0],
        [2, 0, -1, 2, 1, -10.0, 0.0, 5.0, 0.0],
        [2, 0, 1, 2, 2, -8.0, 0.0, 3.0, 0.0],
        [0, 1, 0, 2, 2, 7.0, 0.0, -3.0, 0.0],
        [-2, 1, 1, 0, 0, -7.0, 0.0, 0.0, 0.0],
        [0, -1, 0, 2, 2, -7.0, 0.0, 3.0, 0.0],
        [2, 0, 0, 2, 1, -7.0, 0.0, 3.0, 0.0],
        [2, 0, 1, 0, 0, 6.0, 0.0, 0.0, 0.0],
        [-2, 0, 2, 2, 2, 6.0, 0.0, -3.0, 0.0],
        [-2, 0, 1, 2, 1, 6.0, 0.0, -3.0, 0.0],
        [2, 0, -2, 0, 1, -6.0, 0.0, 3.0, 0.0],
        [2, 0, 0, 0, 1, -6.0, 0.0, 3.0, 0.0],
        [0, -1, 1, 0, 0, 5.0, 0.0, 0.0, 0.0],
        [-2, -1, 0, 2, 1, -5.0, 0.0, 3.0, 0.0],
        [-2, 0, 0, 0, 1, -5.0, 0.0, 3.0, 0.0],
        [0, 0, 2, 2, 1, -5.0, 0.0, 3.0, 0.0],
        [-2, 0, 2, 0, 1, 4.0, 0.0, 0.0, 0.0],
        [-2, 1, 0, 2, 1, 4.0, 0.0, 0.0, 0.0],
        [0, 0, 1, -2, 0, 4.0, 0.0, 0.0, 0.0],
        [-1, 0, 1, 0, 0, -4.0, 0.0, 0.0, 0.0],
        [-2, 1, 0, 0, 0, -4.0, 0.0, 0.0, 0.0],
        [1, 0, 0, 0, 0, -4.0, 0.0, 0.0, 0.0],
        [0, 0, 1, 2, 0, 3.0, 0.0, 0.0, 0.0],
        [0, 0, -2, 2, 2, -3.0, 0.0, 0.0, 0.0],
        [-1, -1, 1, 0, 0, -3.0, 0.0, 0.0, 0.0],
        [0, 1, 1, 0, 0, -3.0, 0.0, 0.0, 0.0],
        [0, -1, 1, 2, 2, -3.0, 0.0, 0.0, 0.0],
        [2, -1, -1, 2, 2, -3.0, 0.0, 0.0, 0.0],
        [0, 0, 3, 2, 2, -3.0, 0.0, 0.0, 0.0],
        [2, -1, 0, 2, 2, -3.0, 0.0, 0.0, 0.0],
    ],
    dtype=np.float64,
)


def _nutation(t: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(dpsi, deps) in radians for TT Julian centuries ``t`` since J2000, shape of ``t``."""
    # Fundamental arguments in degrees (Meeus, Astronomical Algorithms, ch. 22): mean elongation
    # of the Moon D, mean anomaly of the Sun M and of the Moon M', the Moon's argument of
    # latitude F and the longitude of its ascending node Omega.
    arguments_deg = np.stack(
        [
            297.85036 + 445_267.111480 * t - 0.0019142 * t**2 + t**3 / 189_474.0,
            357.52772 + 35_999.050340 * t - 0.0001603 * t**2 - t**3 / 300_000.0,
            134.96298 + 477_198.867398 * t + 0.0086972 * t**2 + t**3 / 56_250.0,
            93.27191 + 483_202.017538 * t - 0.0036825 * t**2 + t**3 / 327_270.0,
            125.04452 - 1_934.136261 * t + 0.0020708 * t**2 + t**3 / 450_000.0,
        ],
        axis=-1,
    )
    phase = np.radians(np.mod(arguments_deg, 360.0)) @ _NUTATION_TERMS[:, :5].T  # (..., 63)
    t_col = t[..., np.newaxis]
    dpsi = np.sum((_NUTATION_TERMS[:, 5] + _NUTATION_TERMS[:, 6] * t_col) * np.sin(phase), -1)
    deps = np.sum((_NUTATION_TERMS[:, 7] + _NUTATION_TERMS[:, 8] * t_col) * np.cos(phase), -1)
    unit = 1.0e-4 * _ARCSEC_RAD
    return dpsi * unit, deps * unit


def nutation_rad(unix_s: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """IAU-1980 nutation in longitude and obliquity ``(dpsi, deps)``, radians (63-term series).

    >>> dpsi, deps = nutation_rad(946728000.0)  # J2000.0
    >>> round(float(np.degrees(dpsi)) * 3600.0, 3), round(float(np.degrees(deps)) * 3600.0, 3)
    (-13.923, -5.774)
    """
    return _nutation(_tt_centuries(unix_s))


def _gcrs_to_teme_matrix_direct(seconds: FloatArray) -> FloatArray:
    t = _tt_centuries(seconds)
    dpsi, deps = _nutation(t)
    eps0 = _mean_obliquity(t)
    nutation = _rot1(-(eps0 + deps)) @ _rot3(-dpsi) @ _rot1(eps0)
    # Equation of the equinoxes (IAU 1982 form, without the 1994 kinematic terms).
    equation_of_equinoxes = dpsi * np.cos(eps0)
    return _rot3(equation_of_equinoxes) @ nutation @ _precession_matrix(t) @ _FRAME_BIAS


#: Node spacing when the rotation is interpolated, seconds. The fastest sizeable nutation term
#: (0.23 arcsec, period 13.66 days) bends between hourly nodes by 0.23" (2 pi h / P)**2 / 8
#: ~ 1e-5 arcsec, the error of linear interpolation; precession is smoother still.
_NODE_SPACING_S = 3600.0


def gcrs_to_teme_matrix(unix_s: ArrayLike) -> FloatArray:
    """Rotation matrices from GCRS to TEME of date, shape ``unix_s.shape + (3, 3)``.

    ``r_teme = M @ r_gcrs``; the transpose goes back. For many times the series are evaluated on
    hourly nodes and the matrix elements interpolated linearly (error ~1e-5 arcsec), so a week
    at 10 s costs as much as 170 times. Raises :class:`InputError` for a time that is not finite.

    >>> m = gcrs_to_teme_matrix([946728000.0, 1767225600.0])
    >>> m.shape, bool(np.allclose(m @ np.swapaxes(m, -1, -2), np.eye(3)))
    ((2, 3, 3), True)
    """
    seconds = _as_times(unix_s)
    flat = seconds.ravel()
    if flat.size > 64:
        low, high = float(flat.min()), float(flat.max())
        n_nodes = int(np.ceil((high - low) / _NODE_SPACING_S)) + 1
        if 4 * n_nodes < flat.size:
            nodes = np.linspace(low, high, max(n_nodes, 2))
            at_nodes = _gcrs_to_teme_matrix_direct(nodes).reshape(-1, 9)
            columns = [np.interp(flat, nodes, at_nodes[:, k]) for k in range(9)]
            return np.stack(columns, axis=-1).reshape(*seconds.shape, 3, 3)
    return _gcrs_to_teme_matrix_direct(seconds)


def gcrs_to_teme(vectors: ArrayLike, unix_s: ArrayLike) -> FloatArray:
    """Rotate GCRS vectors into TEME of date.

    ``vectors`` has shape ``(..., n_times, 3)`` and ``unix_s`` shape ``(n_times,)`` (any shape
    that broadcasts against ``vectors[..., 0]``); the result has the broadcast shape. Units are
    kept (metres in, metres out).

    >>> v = gcrs_to_teme([[1.0, 0.0, 0.0]], [1767225600.0])
    >>> round(float(np.linalg.norm(v)), 12)
    1.0
    """
    matrix = gcrs_to_teme_matrix(unix_s)
    return np.einsum("...ij,...j->...i", matrix, np.asarray(vectors, dtype=np.float64))


def teme_to_gcrs(vectors: ArrayLike, unix_s: ArrayLike) -> FloatArray:
    """Rotate TEME vectors into the GCRS (the inverse of :func:`gcrs_to_teme`), same shapes.

    >>> v = np.array([[7.0e6, 1.0e5, -2.0e5]])
    >>> bool(np.allclose(gcrs_to_teme(teme_to_gcrs(v, [0.0]), [0.0]), v, rtol=0.0, atol=1e-6))
    True
    """
    matrix = gcrs_to_teme_matrix(unix_s)
    return np.einsum("...ji,...j->...i", matrix, np.asarray(vectors, dtype=np.float64))
