"""Propagation of a whole constellation over a time grid with sgp4.

All satellites are propagated at the same instants by ``sgp4.api.SatrecArray`` (the C++ core,
vectorised over satellites and times). Results are in metres and metres per second.

Numerical failure of sgp4 for one satellite at one time (a decayed orbit, an eccentricity out of
range, ...) is data, not an exception: the position and velocity there are NaN and the error code
array holds sgp4's code (see :data:`SGP4_ERRORS`). A bad argument (times that are not finite, a
wrong shape) raises :class:`~orbitlearn.errors.InputError`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sgp4.api import SGP4_ERRORS as _SGP4_ERRORS

from orbitlearn.errors import InputError
from orbitlearn.space.constellation import Constellation
from orbitlearn.space.frames import teme_to_ecef
from orbitlearn.space.timescale import unix_s_to_jd_fr

__all__ = ["SGP4_ERRORS", "propagate_ecef", "propagate_teme"]

#: sgp4's error codes and their meaning, as python-sgp4 states them (``sgp4.api.SGP4_ERRORS``;
#: the codes come from the reference code of Vallado et al., AIAA 2006-6753). 0 means no error.
SGP4_ERRORS: dict[int, str] = {0: "no error", **_SGP4_ERRORS}

#: Satellite-times propagated per sgp4 call: bounds the temporary km arrays sgp4 allocates
#: (~100 MB at this size) while keeping the per-call overhead negligible.
_CHUNK_SAT_TIMES = 2_000_000

FloatArray = NDArray[np.float64]


def _validated_times(times_unix_s: ArrayLike) -> FloatArray:
    times = np.asarray(times_unix_s, dtype=np.float64)
    if times.ndim != 1:
        raise InputError("times_unix_s", f"an array of shape {times.shape}", "a 1-D array of times")
    if not np.all(np.isfinite(times)):
        bad = times[~np.isfinite(times)][0]
        raise InputError("times_unix_s", float(bad), "finite POSIX seconds")
    return times


def propagate_teme(
    constellation: Constellation, times_unix_s: ArrayLike
) -> tuple[FloatArray, FloatArray, NDArray[np.uint8]]:
    """Positions and velocities of every satellite at every time, in sgp4's TEME frame.

    Args:
        constellation: the satellites (``n_sats``).
        times_unix_s: instants, POSIX seconds UTC, shape ``(n_times,)``.

    Returns:
        ``(r_teme_m, v_teme_m_s, error_code)``: positions in metres and velocities in metres per
        second, shape ``(n_sats, n_times, 3)``, and sgp4's error code per satellite and time,
        shape ``(n_sats, n_times)`` (0 = fine; see :data:`SGP4_ERRORS`). Where the code is not 0
        the position and velocity are NaN.

    Raises:
        InputError: ``times_unix_s`` is not a 1-D array of finite numbers.

    >>> from sgp4.api import Satrec
    >>> iss = Satrec.twoline2rv(
    ...     "1 25544U 98067A   24001.50000000  .00016717  00000-0  30000-3 0  9005",
    ...     "2 25544  51.6400 150.0000 0003000 100.0000 260.0000 15.50000000300000")
    >>> r, v, err = propagate_teme(Constellation.from_satrecs([iss]), [1704110400.0])
    >>> r.shape, err.tolist()
    ((1, 1, 3), [[0]])
    >>> 6.6e6 < float(np.linalg.norm(r[0, 0])) < 6.9e6
    True
    """
    times = _validated_times(times_unix_s)
    n_sats, n_times = len(constellation), times.size
    r_m = np.empty((n_sats, n_times, 3), dtype=np.float64)
    v_m_s = np.empty((n_sats, n_times, 3), dtype=np.float64)
    error_code = np.zeros((n_sats, n_times), dtype=np.uint8)
    if n_sats == 0 or n_times == 0:
        return r_m, v_m_s, error_code
    jd, fr = unix_s_to_jd_fr(times)
    satrecs = constellation.satrec_array
    chunk = max(1, _CHUNK_SAT_TIMES // n_sats)
    for lo in range(0, n_times, chunk):  # chunks of time, not a loop per time step
        hi = min(n_times, lo + chunk)
        err, r_km, v_km_s = satrecs.sgp4(jd[lo:hi], fr[lo:hi])
        np.multiply(r_km, 1000.0, out=r_m[:, lo:hi])
        np.multiply(v_km_s, 1000.0, out=v_m_s[:, lo:hi])
        error_code[:, lo:hi] = err
    failed = error_code != 0
    if failed.any():
        r_m[failed] = np.nan
        v_m_s[failed] = np.nan
    return r_m, v_m_s, error_code


def propagate_ecef(
    constellation: Constellation, times_unix_s: ArrayLike
) -> tuple[FloatArray, FloatArray, NDArray[np.uint8]]:
    """Positions and velocities of every satellite at every time, Earth-fixed (ECEF).

    As :func:`propagate_teme`, rotated by Greenwich mean sidereal time into the Earth-fixed
    frame (:func:`orbitlearn.space.frames.teme_to_ecef`; UT1 = UTC, polar motion neglected).
    Velocities are relative to the rotating Earth.

    Returns:
        ``(r_ecef_m, v_ecef_m_s, error_code)`` with shapes ``(n_sats, n_times, 3)`` and
        ``(n_sats, n_times)``.
    """
    times = _validated_times(times_unix_s)
    r_teme, v_teme, error_code = propagate_teme(constellation, times)
    r_ecef, v_ecef = teme_to_ecef(r_teme, v_teme, times)
    assert v_ecef is not None
    return r_ecef, v_ecef, error_code
