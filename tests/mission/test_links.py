import math

import numpy as np
import pytest

from orbitlearn.mission.links import transfer_schedule

ONE_SECOND = 1.0


def test_transfer_inside_one_pass_pays_acquisition_once():
    finish, spans = transfer_schedule(
        np.array([100.0]), np.array([500.0]), 0.0, bits=1e4, rate_bps=100.0, acquisition_s=30.0
    )
    assert finish == pytest.approx(230.0, abs=1e-9 * ONE_SECOND)
    assert spans == [(130.0, 230.0)]


def test_transfer_spanning_two_passes_resumes_after_a_new_acquisition():
    starts, ends = np.array([0.0, 5000.0, 9000.0]), np.array([100.0, 5100.0, 9100.0])
    finish, spans = transfer_schedule(
        starts, ends, 40.0, bits=100.0 * 100.0, rate_bps=100.0, acquisition_s=20.0
    )
    # 60 s flow in the first pass (40 -> 100), 40 s more after acquisition in the second
    assert spans == [(40.0, 100.0), (5020.0, 5060.0)]
    assert finish == 5060.0
    assert sum(b - a for a, b in spans) == pytest.approx(100.0)


def test_transfer_that_does_not_fit_the_windows_never_finishes():
    finish, spans = transfer_schedule(
        np.array([0.0]), np.array([100.0]), 0.0, bits=1e6, rate_bps=100.0, acquisition_s=0.0
    )
    assert math.isinf(finish)
    assert spans == [(0.0, 100.0)]


def test_a_window_shorter_than_the_acquisition_carries_nothing():
    finish, spans = transfer_schedule(
        np.array([0.0, 1000.0]),
        np.array([10.0, 1100.0]),
        0.0,
        bits=800.0,
        rate_bps=100.0,
        acquisition_s=20.0,
    )
    assert spans == [(1020.0, 1028.0)]
    assert finish == 1028.0
