"""Splitting training data over satellites."""

from __future__ import annotations

import numpy as np
import pytest

from orbitlearn.errors import InputError
from orbitlearn.workloads.base import Samples, split_by_source


def _sources() -> tuple[np.ndarray, np.ndarray]:
    sizes = {"a": 50, "b": 30, "c": 12, "d": 8}
    source = np.concatenate([np.full(n, k) for k, n in sizes.items()])
    position = np.concatenate([np.arange(n) for n in sizes.values()])
    return source, position


def _is_partition(parts: list[np.ndarray], n: int) -> bool:
    joined = np.sort(np.concatenate(parts))
    return joined.tolist() == list(range(n)) and all(len(p) > 0 for p in parts)


@pytest.mark.parametrize("n_clients", [1, 2, 3, 4, 7, 100])
@pytest.mark.parametrize("iid", [False, True])
def test_every_split_is_a_partition(n_clients: int, iid: bool) -> None:
    source, position = _sources()
    parts = split_by_source(source, position, n_clients, seed=3, iid=iid)
    assert len(parts) == n_clients
    assert _is_partition(parts, source.size)


def test_fewer_clients_than_sources_get_whole_sources_balanced() -> None:
    source, position = _sources()
    parts = split_by_source(source, position, 2, seed=0)
    owners = [set(source[p].tolist()) for p in parts]
    assert sorted(map(sorted, owners)) == [["a"], ["b", "c", "d"]]  # 50 vs 50


def test_more_clients_than_sources_get_contiguous_stretches() -> None:
    source, position = _sources()
    parts = split_by_source(source, position, 10, seed=0)
    for p in parts:
        assert len(set(source[p].tolist())) == 1  # one source each
        pos = np.sort(position[p])
        assert np.all(np.diff(pos) == 1)  # a contiguous stretch
    # the biggest source is cut into the most stretches
    counts = {k: sum(source[p][0] == k for p in parts) for k in "abcd"}
    assert counts["a"] >= counts["b"] >= counts["c"] >= 1


def test_split_is_deterministic_for_a_seed() -> None:
    source, position = _sources()
    a = split_by_source(source, position, 3, seed=9, iid=True)
    b = split_by_source(source, position, 3, seed=9, iid=True)
    c = split_by_source(source, position, 3, seed=10, iid=True)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_bad_client_counts() -> None:
    source, position = _sources()
    with pytest.raises(InputError, match="Expected `n_clients` to be an integer >= 1, actual: 0"):
        split_by_source(source, position, 0, seed=0)
    with pytest.raises(
        InputError,
        match=r"Expected `n_clients` to be at most the number of training samples \(100\)",
    ):
        split_by_source(source, position, 101, seed=0)


def test_samples_must_align() -> None:
    with pytest.raises(InputError, match="Expected `targets` to be 3 samples, as many as inputs"):
        Samples(np.zeros((3, 2), np.float32), np.zeros(2), np.zeros(3, "U1"), np.arange(3))
