"""Where and when upsets happen: Poisson in time, uniform over exposed bits.

Each bit exposed to radiation is upset independently at ``rate_per_bit_s``, so the number of
upsets in ``duration_s`` over ``n_bits`` bits is Poisson with mean
``rate_per_bit_s * n_bits * duration_s``, and each upset lands on a bit drawn uniformly from all
exposed bits: a tensor is chosen with probability proportional to its exposed bits, then an
element and a bit position uniformly within it (the same distribution, drawn in two cheap steps).

All randomness comes from a ``numpy.random.Generator`` passed in; nothing here touches global
random state.

>>> rng = make_rng(7)
>>> sites = sample_sites([10, 1000], [range(32), range(32)], [32, 32], 5, rng)
>>> sites.tensor_index.tolist()
[1, 1, 1, 1, 1]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from orbitlearn.errors import InputError

__all__ = [
    "UpsetSites",
    "make_rng",
    "poisson_count",
    "poisson_occurs",
    "sample_sites",
]


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed (or the Generator itself).

    ``None`` draws fresh entropy from the operating system (not from global state): runs are
    then not reproducible, so campaigns pass a seed.

    Raises:
        InputError: ``seed`` is not a non-negative integer, a Generator or None.

    >>> int(make_rng(3).integers(0, 100)) == int(make_rng(3).integers(0, 100))
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError("seed", seed, "an integer >= 0, a numpy Generator or None")
    return np.random.default_rng(int(seed))


def _check_rate(field: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise InputError(field, value, "a finite number >= 0")
    return float(value)


def poisson_count(
    rate_per_bit_s: float, n_bits: int, duration_s: float, rng: np.random.Generator
) -> int:
    """Number of upsets among ``n_bits`` bits over ``duration_s`` seconds (a Poisson draw).

    Raises:
        InputError: a negative or non-finite rate, bit count or duration.

    >>> poisson_count(0.0, 10**9, 100.0, make_rng(0))
    0
    """
    rate = _check_rate("rate_per_bit_s", rate_per_bit_s)
    bits = _check_rate("n_bits", n_bits)
    duration = _check_rate("duration_s", duration_s)
    mean = rate * bits * duration
    if mean == 0.0:
        return 0
    return int(rng.poisson(mean))


def poisson_occurs(rate_per_s: float, duration_s: float, rng: np.random.Generator) -> bool:
    """Whether at least one event of a Poisson process at ``rate_per_s`` falls in ``duration_s``.

    Probability ``1 - exp(-rate_per_s * duration_s)``. A zero rate draws nothing from ``rng``.

    >>> poisson_occurs(1e6, 1.0, make_rng(0))
    True
    """
    rate = _check_rate("reset_rate_per_s", rate_per_s)
    duration = _check_rate("duration_s", duration_s)
    if rate * duration == 0.0:
        return False
    return bool(rng.random() < -math.expm1(-rate * duration))


@dataclass(frozen=True)
class UpsetSites:
    """Sampled upset locations, one entry per upset (all arrays int64, same length).

    ``tensor_index`` indexes the candidate list given to :func:`sample_sites`; ``bit`` is the
    lowest bit upset and ``n_bits`` how many adjacent bits (1 for a single-bit upset).
    """

    tensor_index: NDArray[np.int64]
    flat_index: NDArray[np.int64]
    bit: NDArray[np.int64]
    n_bits: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.tensor_index.size)


def sample_sites(
    numels: Sequence[int],
    positions: Sequence[Sequence[int]],
    widths: Sequence[int],
    n_upsets: int,
    rng: np.random.Generator,
    *,
    multi_bit_fraction: float = 0.0,
    max_mbu_bits: int = 2,
) -> UpsetSites:
    """Draw ``n_upsets`` locations uniformly over all exposed bits.

    Args:
        numels: elements per candidate tensor.
        positions: selectable bit positions per tensor (exposure = numel x len(positions)).
        widths: bits per element per tensor (to keep multi-bit upsets inside the word).
        n_upsets: how many upsets to place.
        rng: the random source.
        multi_bit_fraction: probability that an upset is multi-bit: 2..``max_mbu_bits`` adjacent
            bits of the same word (width uniform in that range), starting at the sampled bit and
            going up, shifted down where it would leave the word.
        max_mbu_bits: widest multi-bit upset.

    Raises:
        InputError: upsets requested with nothing exposed, mismatched lengths, or a bad fraction.
    """
    n_tensors = len(numels)
    if not (len(positions) == len(widths) == n_tensors):
        raise InputError("positions", len(positions), f"one entry per tensor ({n_tensors})")
    if not (0.0 <= multi_bit_fraction <= 1.0):
        raise InputError("multi_bit_fraction", multi_bit_fraction, "a number in [0, 1]")
    if not (isinstance(max_mbu_bits, int) and max_mbu_bits >= 2):
        raise InputError("max_mbu_bits", max_mbu_bits, "an integer >= 2")
    empty = np.empty(0, np.int64)
    if n_upsets == 0:
        return UpsetSites(empty, empty.copy(), empty.copy(), empty.copy())
    numel_arr = np.asarray(numels, np.int64)
    n_pos = np.asarray([len(p) for p in positions], np.int64)
    exposure = (numel_arr * n_pos).astype(np.float64)
    total = exposure.sum()
    if total <= 0:
        raise InputError("n_upsets", n_upsets, "0 when no bits are exposed")
    chosen = rng.choice(n_tensors, size=n_upsets, p=exposure / total).astype(np.int64)
    flat = rng.integers(0, numel_arr[chosen]).astype(np.int64)
    slot = rng.integers(0, n_pos[chosen]).astype(np.int64)
    is_mbu = rng.random(n_upsets) < multi_bit_fraction
    mbu_width = rng.integers(2, max_mbu_bits + 1, size=n_upsets)

    table = np.full((n_tensors, max(int(n_pos.max()), 1)), -1, np.int64)
    for i, pos in enumerate(positions):
        table[i, : len(pos)] = list(pos)
    bit = table[chosen, slot]
    word = np.asarray(widths, np.int64)[chosen]
    n_bits = np.where(is_mbu, np.minimum(mbu_width, word), 1).astype(np.int64)
    bit = np.minimum(bit, word - n_bits)
    return UpsetSites(chosen, flat, bit, n_bits)
