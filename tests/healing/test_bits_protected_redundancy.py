"""Bit-exact comparison, protected copies and replica voting."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from orbitlearn.errors import InputError
from orbitlearn.healing import (
    ProtectedCopy,
    StateReplicas,
    bitwise_equal,
    bitwise_majority,
    break_tie,
    int_view,
    vote_tensors,
)

DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int8]


def _bits(t: torch.Tensor) -> list[int]:
    return int_view(t.contiguous()).tolist()


def _flip(t: torch.Tensor, index: int, bit: int) -> None:
    """Flip one bit in place through an unsigned view (any bit, the sign bit included)."""
    unsigned = int_view(t).numpy().view(f"u{t.element_size()}")
    unsigned[index] ^= np.array(1, dtype=unsigned.dtype) << np.array(bit, dtype=unsigned.dtype)


@pytest.mark.parametrize(
    ("dtype", "int_dtype"),
    [
        (torch.float32, torch.int32),
        (torch.float16, torch.int16),
        (torch.bfloat16, torch.int16),
        (torch.float64, torch.int64),
        (torch.int8, torch.uint8),
        (torch.bool, torch.uint8),
    ],
)
def test_int_view_shares_memory(dtype: torch.dtype, int_dtype: torch.dtype) -> None:
    t = torch.zeros(2, 3, dtype=dtype)
    view = int_view(t)
    assert view.dtype == int_dtype and view.shape == (6,)
    view[4] = 1
    assert int_view(t)[4] == 1  # same storage


def test_bitwise_equal_sees_bits_not_values() -> None:
    a = torch.tensor([0.0, float("nan"), 1.0])
    b = a.clone()
    assert bitwise_equal(a, b)  # NaN == NaN bit for bit
    b[0] = -0.0
    assert not bitwise_equal(a, b)  # -0.0 == 0.0 as values, not as bits
    c = torch.arange(12.0).reshape(3, 4)
    assert bitwise_equal(c.t(), c.t().contiguous())  # non-contiguous operands
    assert not bitwise_equal(c, c.reshape(4, 3))


def test_majority_vote_repairs_a_different_bit_in_each_replica() -> None:
    gen = torch.Generator().manual_seed(0)
    truth = torch.randn(1000, generator=gen)
    replicas = [truth.clone() for _ in range(3)]
    for r, bit in zip(replicas, (30, 23, 0), strict=True):
        positions = torch.randint(0, 1000, (50,), generator=gen)
        int_view(r)[positions] ^= 1 << bit
    assert bitwise_equal(bitwise_majority(replicas), truth)


@pytest.mark.parametrize("method", ["compare", "checksum"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_protected_copy_detects_every_single_bit_flip(method: str, dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(1)
    if dtype.is_floating_point:
        live = torch.randn(64, generator=gen).to(dtype)
    else:
        live = torch.randint(-100, 100, (64,), generator=gen).to(dtype)
    other = torch.randn(8)
    copy = ProtectedCopy([("live", live), ("other", other)], method=method)
    copy.refresh()
    pristine = _bits(live)
    width = live.element_size() * 8
    for bit in range(width):
        index = (bit * 7) % live.numel()
        _flip(live, index, bit)
        assert copy.verify() == [0], f"bit {bit} not detected"
        restored = copy.restore([0])
        assert restored == [("live", 1)]
        assert _bits(live) == pristine
    assert copy.verify() == []


def test_protected_copy_restores_many_elements_bit_identically() -> None:
    w = torch.randn(100, 10)
    m = torch.rand(100, 10)
    copy = ProtectedCopy([("w", w), ("m", m)])
    copy.refresh()
    expected = (w.clone(), m.clone())
    int_view(w)[torch.arange(0, 1000, 10)] ^= 1 << 30
    m.view(-1)[5] = float("nan")
    assert copy.verify() == [0, 1]
    assert copy.restore([0, 1]) == [("w", 100), ("m", 1)]
    assert bitwise_equal(w, expected[0]) and bitwise_equal(m, expected[1])
    assert copy.nbytes == 2 * 1000 * 4


def test_protected_copy_follows_new_gradient_tensors() -> None:
    g1 = torch.randn(5)
    copy = ProtectedCopy([("g.grad", g1)])
    copy.refresh()
    g2 = torch.randn(5)  # backward makes new gradient tensors each step
    copy.refresh([g2])
    g2[0] += 1.0
    assert copy.verify() == [0]
    with pytest.raises(ValueError, match="matching the current blocks"):
        copy.refresh([torch.randn(6)])


def test_protected_copy_bad_method() -> None:
    with pytest.raises(InputError) as caught:
        ProtectedCopy([], method="xor")
    assert (
        str(caught.value) == "Expected `method` to be one of 'compare', 'checksum', actual: 'xor'"
    )


def test_vote_tensors_names_the_odd_replica() -> None:
    a = torch.randn(10)
    for odd in range(3):
        members = [a.clone() for _ in range(3)]
        members[odd][3] = 99.0
        result = vote_tensors(members)
        assert not result.agreed and result.odd == [odd] and result.decided
        assert bitwise_equal(result.value, a)
    dmr = vote_tensors([a, a + 1])
    assert not dmr.decided and dmr.odd == [0, 1]


@pytest.mark.parametrize("odd", [0, 1, 2])
def test_tmr_state_replicas_repair_whichever_copy_is_hit(odd: int) -> None:
    w = torch.randn(50)
    tmr = StateReplicas([("w", w)], replicas=2)
    tmr.refresh()
    truth = w.clone()
    members = [w, *tmr._copies[0], *tmr._copies[1]]
    int_view(members[odd])[7] ^= 1 << 29
    repaired, undecided = tmr.check()
    assert undecided == []
    assert repaired == [("w", 1 if odd == 0 else 0)]
    for member in members:
        assert bitwise_equal(member, truth)


def test_dmr_state_replica_detects_but_cannot_decide() -> None:
    w = torch.randn(5)
    dmr = StateReplicas([("w", w)], replicas=1)
    dmr.refresh()
    w[0] = 0.5
    assert dmr.check() == ([], ["w"])
    with pytest.raises(InputError, match="1 \\(DMR\\) or 2 \\(TMR\\)"):
        StateReplicas([], replicas=3)


def test_checksum_without_a_copy_detects_but_cannot_restore() -> None:
    g = torch.randn(100)
    guard = ProtectedCopy([("g", g)], method="checksum", keep_copy=False)
    guard.refresh()
    assert guard.nbytes == 0 and guard.verify() == []
    int_view(g)[10] ^= 1 << 22
    assert guard.verify() == [0]
    with pytest.raises(RuntimeError, match="keeps no copy"):
        guard.restore([0])
    with pytest.raises(InputError, match="Expected `keep_copy` to be True with method 'compare'"):
        ProtectedCopy([("g", g)], keep_copy=False)


def test_additive_checksums_miss_opposite_flips_of_one_bit_and_compare_does_not() -> None:
    g = torch.tensor([1.0, 3.0])  # exponent bit 23: 0 in 1.0 (0x3f800000), 1 in 3.0 (0x40400000)
    by_sum = ProtectedCopy([("g", g)], method="checksum")
    by_compare = ProtectedCopy([("g", g)])
    by_sum.refresh()
    by_compare.refresh()
    int_view(g)[0] ^= 1 << 23
    int_view(g)[1] ^= 1 << 23
    assert by_sum.verify() == []  # the documented blind spot of the checksum method
    assert by_compare.verify() == [0]


def test_dmr_state_replica_breaks_a_tie_from_the_values() -> None:
    w = torch.tensor([0.5, -0.25, 1.0, 2.0, -3.0])
    truth = w.clone()
    dmr = StateReplicas([("w", w)], replicas=1)
    dmr.refresh()
    w[1] = float("nan")
    int_view(w)[3] ^= 1 << 27  # 2.0 -> 131072.0: finite, but beyond a learned limit of 100
    assert dmr.check(limit_of=lambda name: 100.0) == ([("w", 2)], [])
    assert bitwise_equal(w, truth)
    int_view(w)[3] ^= 1 << 27
    assert dmr.check() == ([], ["w"])  # without a limit only NaN/inf decide


def test_break_tie_per_element_and_where_it_cannot() -> None:
    a = torch.tensor([1.0, float("nan"), 3.0, 4.0])
    b = torch.tensor([1.0, 2.0, float("inf"), 4.0])  # each copy wrong at a different element
    repaired = break_tie(a, b)
    assert repaired is not None and repaired.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert break_tie(torch.tensor([float("nan")]), torch.tensor([float("inf")])) is None
    assert break_tie(torch.tensor([1.0, 5.0]), torch.tensor([1.0, 6.0])) is None  # both plausible
    assert break_tie(torch.tensor([1, 2]), torch.tensor([1, 3])) is None  # integers: no basis
    assert break_tie(torch.tensor([1.0, 1e9]), torch.tensor([1.0, 5.0]), limit=100.0) is not None
