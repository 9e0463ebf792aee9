"""Propagation over a grid: against sgp4 itself and against skyfield's frames."""

from __future__ import annotations

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec

from orbitlearn.errors import InputError
from orbitlearn.space.constellation import Constellation
from orbitlearn.space.propagation import SGP4_ERRORS, propagate_ecef, propagate_teme
from orbitlearn.space.timescale import jd_to_unix_s, unix_s_to_jd_fr

ISS = (
    "1 25544U 98067A   24001.50000000  .00016717  00000-0  30000-3 0  9005",
    "2 25544  51.6400 150.0000 0003000 100.0000 260.0000 15.50000000300000",
)
#: One millimetre: the propagation here only converts units and rotates frames.
ONE_MILLIMETRE = 1e-3
#: One centimetre: two GMST implementations round the angle differently (~1e-9 rad * 7000 km).
ONE_CENTIMETRE = 1e-2


def _iss() -> Satrec:
    return Satrec.twoline2rv(*ISS)


def _decaying() -> Satrec:
    """A satellite at ~150 km with heavy drag: sgp4 gives up on it within a day."""
    satrec = Satrec()
    satrec.sgp4init(
        WGS72,
        "i",
        99999,
        26000.0,
        0.5,
        0.0,
        0.0,
        0.001,
        0.0,
        np.radians(51.6),
        0.0,
        2.0 * np.pi * 16.4 / 1440.0,
        0.0,
    )
    return satrec


def _epoch_unix_s(satrec: Satrec) -> float:
    return float(jd_to_unix_s(satrec.jdsatepoch, satrec.jdsatepochF))


def test_teme_matches_sgp4_called_directly() -> None:
    satrecs = [_iss(), _decaying()]
    times = _epoch_unix_s(satrecs[0]) + np.array([0.0, 60.0, 3600.0, 86_400.0 * 0.4])
    r, v, err = propagate_teme(Constellation.from_satrecs(satrecs), times)
    assert r.shape == (2, 4, 3) and v.shape == (2, 4, 3) and err.shape == (2, 4)
    jd, fr = unix_s_to_jd_fr(times)
    for i, satrec in enumerate(satrecs):
        for j in range(times.size):
            code, r_km, v_km_s = satrec.sgp4(jd[j], fr[j])
            assert err[i, j] == code
            if code == 0:
                assert np.max(np.abs(r[i, j] - np.array(r_km) * 1e3)) < ONE_MILLIMETRE
                assert np.max(np.abs(v[i, j] - np.array(v_km_s) * 1e3)) < ONE_MILLIMETRE


def test_failed_propagation_is_nan_plus_error_code() -> None:
    satrec = _decaying()
    times = _epoch_unix_s(satrec) + np.arange(5) * 86_400.0
    r, v, err = propagate_teme(Constellation.from_satrecs([satrec]), times)
    assert err[0, 0] == 0 and np.all(np.isfinite(r[0, 0]))
    failed = err[0] != 0
    assert failed[1:].all()
    assert np.isnan(r[0, failed]).all() and np.isnan(v[0, failed]).all()
    assert all(int(code) in SGP4_ERRORS for code in err[0])


def test_chunked_propagation_equals_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    import orbitlearn.space.propagation as propagation

    satrec = _iss()
    constellation = Constellation.from_satrecs([satrec, satrec])
    times = _epoch_unix_s(satrec) + np.linspace(0.0, 7200.0, 25)
    whole = propagate_teme(constellation, times)
    monkeypatch.setattr(propagation, "_CHUNK_SAT_TIMES", 10)  # 5 times per sgp4 call
    chunked = propagate_teme(constellation, times)
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_array_equal(a, b)


def test_ecef_position_matches_skyfield_teme_to_itrf_rotation() -> None:
    """The same GMST rotation (UT1 = UTC, no polar motion) as skyfield's reference code."""
    from skyfield.sgp4lib import TEME_to_ITRF

    satrec = _iss()
    constellation = Constellation.from_satrecs([satrec])
    times = _epoch_unix_s(satrec) + np.array([0.0, 1234.5, 40_000.0])
    r_teme, v_teme, _ = propagate_teme(constellation, times)
    r_ecef, _, _ = propagate_ecef(constellation, times)
    jd, fr = unix_s_to_jd_fr(times)
    for j in range(times.size):
        r_ref, _ = TEME_to_ITRF(jd[j], r_teme[0, j], v_teme[0, j], 0.0, 0.0, fr[j])
        assert np.max(np.abs(r_ecef[0, j] - r_ref)) < ONE_CENTIMETRE


def test_ecef_velocity_is_the_derivative_of_ecef_position() -> None:
    satrec = _iss()
    constellation = Constellation.from_satrecs([satrec])
    t = _epoch_unix_s(satrec) + 2000.0
    offsets = np.array([-2.0, -1.0, 1.0, 2.0])
    r, _, _ = propagate_ecef(constellation, t + offsets)
    _, v, _ = propagate_ecef(constellation, [t])
    # Five-point central difference: truncation ~1e-6 m/s, rounding a few mm/s; sgp4's
    # analytic velocity itself differs from the derivative of its position by ~1 cm/s.
    derivative = (r[0, 0] - 8.0 * r[0, 1] + 8.0 * r[0, 2] - r[0, 3]) / 12.0
    assert np.max(np.abs(derivative - v[0, 0])) < 0.05


def test_ecef_agrees_with_skyfield_itrs_within_metres() -> None:
    """Against skyfield's full ITRS (nutation, real UT1): only UT1-UTC and ~arcsec differ."""
    from skyfield.api import EarthSatellite, load
    from skyfield.framelib import itrs

    satrec = _iss()
    ts = load.timescale(builtin=True)
    time = _epoch_unix_s(satrec) + 5000.0
    r_ecef, _, _ = propagate_ecef(Constellation.from_satrecs([satrec]), [time])
    days = np.floor(time / 86_400.0)  # POSIX days have no leap seconds
    t = ts.utc(1970, 1, 1 + int(days), 0, 0, time - days * 86_400.0)
    reference = EarthSatellite.from_satrec(satrec, ts).at(t).frame_xyz(itrs).m
    assert np.linalg.norm(r_ecef[0, 0] - reference) < 20.0  # measured: 3.8 m


def test_empty_constellation_gives_empty_arrays() -> None:
    r, _, err = propagate_teme(Constellation.from_satrecs([]), [0.0, 1.0])
    assert r.shape == (0, 2, 3) and err.shape == (0, 2)


@pytest.mark.parametrize(
    ("times", "message"),
    [
        (
            [[0.0, 1.0]],
            "Expected `times_unix_s` to be a 1-D array of times, actual: 'an array of shape (1, 2)'",
        ),
        ([0.0, float("nan")], "Expected `times_unix_s` to be finite POSIX seconds, actual: nan"),
    ],
)
def test_bad_times_are_rejected(times: list, message: str) -> None:
    with pytest.raises(InputError) as caught:
        propagate_teme(Constellation.from_satrecs([_iss()]), times)
    assert str(caught.value) == message
