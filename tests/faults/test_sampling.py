"""Poisson counts, uniform placement over exposed bits, rates and schedules.

Statistical checks use fixed seeds and tolerances of 5 standard deviations or more: they test
the distribution, and with a fixed seed they give the same answer every run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from orbitlearn.errors import InputError
from orbitlearn.faults.rates import (
    LEO_SRAM_UPSETS_PER_BIT_DAY,
    LEO_SRAM_UPSETS_PER_BIT_S,
    accelerated_rate,
    acceleration_for_upsets,
    expected_upsets,
    per_bit_day_to_per_bit_s,
    per_bit_s_to_per_bit_day,
    rate_for_upsets,
)
from orbitlearn.faults.sampling import make_rng, poisson_count, poisson_occurs, sample_sites
from orbitlearn.faults.schedule import FaultSchedule


def test_poisson_mean_matches_rate_times_exposure() -> None:
    rng = make_rng(11)
    rate, bits, duration = 2e-9, 5_000_000, 10.0  # mean 0.1 upsets per draw
    draws = np.array([poisson_count(rate, bits, duration, rng) for _ in range(20_000)])
    mean = rate * bits * duration
    sigma_of_mean = math.sqrt(mean / draws.size)
    assert abs(draws.mean() - mean) < 5 * sigma_of_mean
    assert abs(draws.var() - mean) < 0.1 * mean  # Poisson: variance equals mean


def test_poisson_scales_linearly_with_bits_and_duration() -> None:
    rng = make_rng(5)
    big = np.mean([poisson_count(1e-3, 1000, 100.0, rng) for _ in range(2000)])  # mean 100
    assert abs(big - 100.0) < 5 * math.sqrt(100.0 / 2000)
    assert poisson_count(0.0, 10**12, 1e6, rng) == 0
    assert poisson_count(1.0, 0, 1.0, rng) == 0


def test_poisson_occurs_frequency() -> None:
    rng = make_rng(3)
    rate, duration = 0.5, 1.0
    hits = np.array([poisson_occurs(rate, duration, rng) for _ in range(20_000)])
    p = 1 - math.exp(-rate * duration)
    assert abs(hits.mean() - p) < 5 * math.sqrt(p * (1 - p) / hits.size)


def test_sites_are_proportional_to_exposed_bits() -> None:
    numels = [100, 1_000, 10_000]
    positions = [range(32)] * 3
    sites = sample_sites(numels, positions, [32, 32, 32], 111_000, make_rng(0))
    counts = np.bincount(sites.tensor_index, minlength=3)
    share = np.asarray(numels) / sum(numels)
    for count, p in zip(counts, share, strict=True):
        expected = p * 111_000
        assert abs(count - expected) < 5 * math.sqrt(expected * (1 - p))
    assert counts[2] > counts[1] > counts[0]  # bigger tensors are hit more


def test_exposure_counts_bits_not_elements() -> None:
    # Same element count, but one tensor exposes 16 bits per element and the other 8.
    sites = sample_sites([1000, 1000], [range(16), range(8)], [16, 8], 30_000, make_rng(1))
    share = np.bincount(sites.tensor_index, minlength=2) / 30_000
    assert abs(share[0] - 2 / 3) < 5 * math.sqrt((2 / 9) / 30_000)


def test_elements_and_bits_are_uniform_and_respect_positions() -> None:
    sites = sample_sites([8], [[23, 24, 30]], [32], 30_000, make_rng(2))
    assert set(np.unique(sites.bit)) == {23, 24, 30}
    for count in np.bincount(sites.flat_index, minlength=8):
        assert abs(count - 30_000 / 8) < 5 * math.sqrt(30_000 / 8)
    for bit in (23, 24, 30):
        assert abs(np.sum(sites.bit == bit) - 10_000) < 5 * math.sqrt(10_000)


def test_multi_bit_share_and_words() -> None:
    sites = sample_sites(
        [1000], [range(16)], [16], 100_000, make_rng(4), multi_bit_fraction=0.012, max_mbu_bits=3
    )
    mbu = sites.n_bits > 1
    assert abs(mbu.sum() - 1200) < 5 * math.sqrt(1200)
    assert set(np.unique(sites.n_bits[mbu])) == {2, 3}
    assert (sites.bit + sites.n_bits <= 16).all() and (sites.bit >= 0).all()


def test_sampling_is_deterministic_for_a_seed() -> None:
    a = sample_sites([10, 20], [range(32)] * 2, [32, 32], 50, make_rng(9))
    b = sample_sites([10, 20], [range(32)] * 2, [32, 32], 50, make_rng(9))
    c = sample_sites([10, 20], [range(32)] * 2, [32, 32], 50, make_rng(10))
    assert all(
        np.array_equal(x, y) for x, y in zip(vars(a).values(), vars(b).values(), strict=True)
    )
    assert not np.array_equal(a.flat_index, c.flat_index)


def test_sampling_errors() -> None:
    with pytest.raises(InputError, match="Expected `n_upsets` to be 0 when no bits are exposed"):
        sample_sites([10], [[]], [32], 1, make_rng(0))
    with pytest.raises(InputError, match="Expected `multi_bit_fraction` to be a number in"):
        sample_sites([10], [[1]], [32], 1, make_rng(0), multi_bit_fraction=2.0)
    with pytest.raises(InputError, match="Expected `seed` to be an integer >= 0"):
        make_rng(-1)
    with pytest.raises(InputError, match="Expected `rate_per_bit_s` to be a finite number >= 0"):
        poisson_count(-1.0, 10, 1.0, make_rng(0))
    with pytest.raises(InputError, match="Expected `duration_s` to be a finite number >= 0"):
        poisson_count(1.0, 10, math.nan, make_rng(0))


def test_rate_conversions_and_reference_constant() -> None:
    assert LEO_SRAM_UPSETS_PER_BIT_DAY == 4.04e-7  # Alsat-1 (REFERENCE.md)
    assert math.isclose(LEO_SRAM_UPSETS_PER_BIT_S, 4.04e-7 / 86_400, rel_tol=1e-15)
    assert per_bit_s_to_per_bit_day(per_bit_day_to_per_bit_s(3e-7)) == pytest.approx(3e-7)
    assert accelerated_rate(LEO_SRAM_UPSETS_PER_BIT_S, 1000) == pytest.approx(
        1000 * LEO_SRAM_UPSETS_PER_BIT_S
    )
    # A 1 MB fp32 model (8e6 bits) at the LEO SRAM rate for a day: ~3.2 upsets.
    assert expected_upsets(LEO_SRAM_UPSETS_PER_BIT_S, n_bits=8_000_000, duration_s=86_400) == (
        pytest.approx(3.232)
    )
    rate = rate_for_upsets(10, n_bits=1000, duration_s=5.0)
    assert expected_upsets(rate, n_bits=1000, duration_s=5.0) == pytest.approx(10)
    assert acceleration_for_upsets(3.232, n_bits=8_000_000, duration_s=86_400) == pytest.approx(1.0)
    with pytest.raises(InputError, match="Expected `acceleration` to be a finite number >= 0"):
        accelerated_rate(1e-9, -2)
    with pytest.raises(InputError, match="Expected `duration_s` to be a finite number > 0"):
        rate_for_upsets(1, n_bits=10, duration_s=0.0)


def test_schedule_spread_is_exact_and_deterministic() -> None:
    s = FaultSchedule.spread(1000, 50, seed=4)
    assert s.total == 1000 and s.n_steps == 50
    assert s == FaultSchedule.spread(1000, 50, seed=4)
    assert s != FaultSchedule.spread(1000, 50, seed=5)
    assert max(s.counts_per_step) < 1000 / 50 + 5 * math.sqrt(20)  # spread, not clumped
    assert FaultSchedule.from_dict(s.to_dict()) == s
    assert s.count_at(50) == 0 and s.count_at(-1) == 0


def test_schedule_even_and_at_steps() -> None:
    assert FaultSchedule.even(4, 8).counts_per_step == (0, 1, 0, 1, 0, 1, 0, 1)
    assert FaultSchedule.even(10, 3).total == 10
    assert FaultSchedule.at_steps([1, 1, 3], n_steps=5).counts_per_step == (0, 2, 0, 1, 0)
    with pytest.raises(
        InputError, match="Expected `steps` to be steps below n_steps = 2, actual: 3"
    ):
        FaultSchedule.at_steps([3], n_steps=2)
    with pytest.raises(InputError, match="Expected `n_steps` to be an integer >= 1, actual: 0"):
        FaultSchedule.spread(3, 0)
    with pytest.raises(InputError, match=r"Expected `counts_per_step\[1\]` to be an integer >= 0"):
        FaultSchedule((1, -1))
