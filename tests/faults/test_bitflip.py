"""Bit-level checks of flip_bits / force_bits against IEEE 754 and integer encodings."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
import torch

from orbitlearn.errors import InputError
from orbitlearn.faults.bitflip import (
    bit_positions,
    bit_width,
    exponent_bit_positions,
    flip_bits,
    float_layout,
    force_bits,
    int_view_dtype,
    mantissa_bit_positions,
    resolve_bit_positions,
    sign_bit_position,
)

FLOAT_DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16]


@pytest.mark.parametrize(
    ("dtype", "value", "bit", "expected"),
    [
        # fp32 1.0 = 0x3F800000: sign 0, exponent 127, mantissa 0
        (torch.float32, 1.0, 30, math.inf),  # exponent 255: infinity
        (torch.float32, 1.0, 31, -1.0),
        (torch.float32, 1.0, 23, 0.5),  # exponent 126
        (torch.float32, 1.0, 22, 1.5),  # top mantissa bit
        (torch.float32, 1.0, 0, 1.0 + 2.0**-23),
        (torch.float32, 2.0, 30, 0.0),  # 0x40000000 -> 0x00000000
        (torch.float64, 1.0, 62, math.inf),
        (torch.float64, 1.0, 52, 0.5),
        (torch.float64, 1.0, 63, -1.0),
        (torch.float64, 1.0, 0, 1.0 + 2.0**-52),
        (torch.float16, 1.0, 14, math.inf),  # 0x3C00 -> 0x7C00
        (torch.float16, 1.0, 10, 0.5),
        (torch.float16, 1.0, 9, 1.5),
        (torch.float16, 1.0, 15, -1.0),
        (torch.bfloat16, 1.0, 14, math.inf),  # 0x3F80 -> 0x7F80
        (torch.bfloat16, 1.0, 7, 0.5),
        (torch.bfloat16, 1.0, 6, 1.5),
        (torch.bfloat16, 1.0, 15, -1.0),
        (torch.int8, 1, 7, -127),
        (torch.int8, -1, 7, 127),
        (torch.int8, 0, 3, 8),
        (torch.uint8, 1, 7, 129),
        (torch.uint8, 255, 0, 254),
        (torch.int16, 5, 1, 7),
        (torch.int32, 0, 31, -(2**31)),
        (torch.int64, 0, 63, -(2**63)),
        (torch.int64, 1, 40, 1 + 2**40),
    ],
)
def test_single_flip_matches_the_encoding(
    dtype: torch.dtype, value: float, bit: int, expected: float
) -> None:
    x = torch.tensor([value, value], dtype=dtype)
    result = flip_bits(x, [1], [bit])
    assert x[0].item() == value  # the other element is untouched
    assert float(x[1].item()) == expected
    assert result.old_values.tolist() == [float(value)]
    assert result.new_values.tolist() == [float(expected)]
    flip_bits(x, [1], [bit])  # flipping again restores the value
    assert x[1].item() == value


def test_fp32_flip_matches_struct_encoding_for_random_values() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=64).astype(np.float32)
    bits = rng.integers(0, 32, size=64)
    x = torch.from_numpy(values.copy())
    flip_bits(x, np.arange(64), bits)
    for value, bit, got in zip(values, bits, x.numpy(), strict=True):
        (pattern,) = struct.unpack("<I", struct.pack("<f", float(value)))
        (want,) = struct.unpack("<f", struct.pack("<I", pattern ^ (1 << int(bit))))
        assert struct.pack("<f", float(got)) == struct.pack("<f", want)


def test_float8_flip_when_available() -> None:
    dtype = getattr(torch, "float8_e4m3fn", None)
    if dtype is None:
        pytest.skip("this torch has no float8_e4m3fn")
    x = torch.tensor([1.0, 1.0]).to(dtype)  # 1.0 = 0b0_0111_000
    flip_bits(x, [0, 1], [3, 7])
    assert x.float().tolist() == [0.5, -1.0]


def test_multi_bit_upset_flips_adjacent_bits() -> None:
    x = torch.tensor([1.0])
    result = flip_bits(x, [0], [29], n_bits=2)  # 0x3F800000 ^ 0x60000000 = 0x5F800000 = 2**64
    assert x.item() == 2.0**64
    assert result.new_values.tolist() == [2.0**64]
    y = torch.tensor([0], dtype=torch.int8)
    flip_bits(y, [0], [6], n_bits=2)  # bits 6 and 7 of a signed byte
    assert y.item() == -64


def _reference_flip(
    tensor: torch.Tensor, pairs: list[tuple[int, int]]
) -> list[tuple[float, float]]:
    """One pair at a time through plain Python integers on the integer view."""
    flat = tensor.view(int_view_dtype(tensor.dtype)).view(-1)
    width = bit_width(tensor.dtype)
    values = []
    for index, bit in pairs:
        old = tensor.view(-1)[index].item()
        pattern = int(flat[index].item()) & ((1 << width) - 1)
        pattern ^= 1 << bit
        if tensor.dtype != torch.uint8 and pattern >= 1 << (width - 1):
            pattern -= 1 << width
        flat[index] = pattern
        values.append((float(old), float(tensor.view(-1)[index].item())))
    return values


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.bfloat16, torch.float16, torch.int8, torch.uint8, torch.float64]
)
def test_vectorised_flips_equal_a_loop_reference(dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(1)
    base = (torch.randn(50, generator=gen) * 20).to(dtype)
    rng = np.random.default_rng(2)
    index = rng.integers(0, 50, size=200)  # many repeats: the upsets must compose in order
    bits = rng.integers(0, bit_width(dtype), size=200)
    fast = base.clone()
    result = flip_bits(fast, index, bits)
    slow = base.clone()
    expected = _reference_flip(slow, list(zip(index.tolist(), bits.tolist(), strict=True)))
    width_view = int_view_dtype(dtype)
    assert torch.equal(fast.view(width_view), slow.view(width_view))
    np.testing.assert_array_equal(result.old_values, [e[0] for e in expected])
    np.testing.assert_array_equal(result.new_values, [e[1] for e in expected])


def test_same_bit_twice_in_one_call_cancels() -> None:
    x = torch.tensor([3.0])
    result = flip_bits(x, [0, 0], [30, 30])
    assert x.item() == 3.0
    assert result.old_values.tolist() == [3.0, result.new_values[0]]
    assert result.new_values.tolist()[1] == 3.0


@pytest.mark.parametrize("make_view", ["transpose", "strided_slice", "expanded_batch_slice"])
def test_non_contiguous_tensors_flip_the_storage_element_of_the_logical_index(
    make_view: str,
) -> None:
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    if make_view == "transpose":
        view = base.t()
    elif make_view == "strided_slice":
        view = base[1:, ::2]
    else:
        view = base.reshape(2, 2, 6)[:, 1, 1:5]
    assert not view.is_contiguous()
    expected_view = view.contiguous().clone()
    before_base = base.clone()
    index = [0, view.numel() - 1, 2]
    bits = [31, 22, 30]
    result = flip_bits(view, index, bits)
    flip_bits(expected_view, index, bits)
    assert torch.equal(view, expected_view)  # the logical elements changed as in a contiguous copy
    changed = base.view(torch.int32) != before_base.view(torch.int32)  # bitwise: -0.0 != 0.0
    assert int(changed.sum()) == 3  # only the three storage elements the view refers to
    assert sorted(base[changed].tolist()) == sorted(result.new_values.tolist())


def test_parameters_flip_without_autograd_complaint() -> None:
    layer = torch.nn.Linear(3, 2)
    weight_before = layer.weight.detach().clone()
    flip_bits(layer.weight, [4], [31])
    assert layer.weight.requires_grad and layer.weight.grad_fn is None
    assert layer.weight.view(-1)[4].item() == -weight_before.view(-1)[4].item()


def test_empty_request_changes_nothing() -> None:
    x = torch.ones(3)
    result = flip_bits(x, [], [])
    assert result.old_values.size == 0 and torch.equal(x, torch.ones(3))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: flip_bits(torch.ones(3), [3], [0]),
            "Expected `flat_index` to be an integer in [0, 2], actual: 3",
        ),
        (
            lambda: flip_bits(torch.ones(3), [0], [32]),
            "Expected `bit` to be a bit position in [0, 31] for torch.float32, actual: 32",
        ),
        (
            lambda: flip_bits(torch.ones(3), [0], [31], n_bits=2),
            "Expected `bit` to be a bit position in [0, 31] for torch.float32 (including the upset's adjacent bits), actual: 31",
        ),
        (
            lambda: flip_bits(torch.ones(3), [0, 1], [1, 2, 3]),
            "Expected `bit` to be one per flat index, actual: '3 bit positions for 2 indices'",
        ),
        (
            lambda: flip_bits(torch.ones(3, dtype=torch.bool), [0], [0]),
            "Expected `dtype` to be one of float64, float32",
        ),
        (
            lambda: force_bits(torch.ones(2), [0, 0], [1, 1], [0, 0]),
            "Expected `flat_index` to be distinct element indices, actual: [0, 0]",
        ),
        (
            lambda: force_bits(torch.ones(2), [0], [1], [1]),
            "Expected `set_mask` to be disjoint set and clear masks, actual: 'a bit stuck at both 0 and 1'",
        ),
    ],
)
def test_bad_requests_name_the_field_and_value(call, message: str) -> None:
    with pytest.raises(InputError) as info:
        call()
    assert str(info.value).startswith(message)


def test_force_bits_sets_and_clears_and_reports_unchanged_elements() -> None:
    x = torch.tensor([1.0, 1.0, -2.0])
    result = force_bits(
        x, [0, 1, 2], set_mask=[1 << 31, 1 << 30, 1 << 31], clear_mask=[0, 0, 1 << 30]
    )
    assert x.tolist() == [-1.0, math.inf, -0.0]
    assert result.old_values.tolist() == [1.0, 1.0, -2.0]
    again = force_bits(x, [0, 1, 2], [1 << 31, 1 << 30, 1 << 31], [0, 0, 1 << 30])
    assert again.old_values.tolist() == again.new_values.tolist()  # already stuck: no change


def test_force_bits_on_signed_integers_top_bit() -> None:
    x = torch.tensor([5, -5], dtype=torch.int8)
    force_bits(x, [0, 1], set_mask=[1 << 7, 0], clear_mask=[0, 1 << 7])
    assert x.tolist() == [5 - 128, -5 + 128]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_float_layouts_partition_the_bits(dtype: torch.dtype) -> None:
    parts = (
        sign_bit_position(dtype),
        *exponent_bit_positions(dtype),
        *mantissa_bit_positions(dtype),
    )
    assert sorted(parts) == list(bit_positions(dtype))
    assert float_layout(dtype).sign_bit == bit_width(dtype) - 1


def test_named_bit_ranges() -> None:
    assert exponent_bit_positions(torch.float32) == tuple(range(23, 31))
    assert exponent_bit_positions(torch.float64) == tuple(range(52, 63))
    assert exponent_bit_positions(torch.bfloat16) == tuple(range(7, 15))
    assert mantissa_bit_positions(torch.float16) == tuple(range(10))
    assert resolve_bit_positions(torch.float32, "sign") == (31,)
    assert resolve_bit_positions(torch.int8, "sign") == (7,)
    assert resolve_bit_positions(torch.int8, "mantissa") == ()
    assert resolve_bit_positions(torch.float32, None) == tuple(range(32))
    with pytest.raises(InputError, match="Expected `bit_mask` to be one of all, sign, exponent"):
        resolve_bit_positions(torch.float32, "fraction")
    with pytest.raises(InputError, match="bit positions >= 0"):
        resolve_bit_positions(torch.float32, [-1, 3])
