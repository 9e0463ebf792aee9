"""Bit-level upsets in tensors: flip, set and clear bits in place through integer views.

A tensor's elements are reinterpreted as integers of the same width (``tensor.view(torch.int32)``
for float32 and so on), so a flip changes exactly the stored bits, whatever the dtype: IEEE
floats (fp64, fp32, fp16), bfloat16, the float8 formats, and signed/unsigned integers.

Indexing convention: ``flat_index`` is the element's position in the tensor's *logical*
row-major order, i.e. ``tensor.reshape(-1)[flat_index]`` names the same value. For a
non-contiguous tensor (a transpose, a slice) the index is mapped through the tensor's strides to
the storage element it refers to, and that storage element is changed: the tensor itself (and
every view sharing its storage) sees the upset, as memory does. A tensor whose elements overlap in
memory (made by ``expand``) has several logical indices per storage element; flipping one changes
all of them.

Bit positions count from the least significant bit (0 = LSB). For fp32 the sign is bit 31, the
exponent bits 23-30 and the mantissa bits 0-22 (IEEE 754 binary32).

>>> import torch
>>> x = torch.ones(3)
>>> result = flip_bits(x, [1], [30])
>>> x
tensor([1., inf, 1.])
>>> result.old_values.tolist(), result.new_values.tolist()
([1.0], [inf])
>>> float_layout(torch.float32)
FloatLayout(sign_bit=31, exponent_bits=(23, 30), mantissa_bits=(0, 22))
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import InputError

__all__ = [
    "BitMaskSpec",
    "FlipResult",
    "FloatLayout",
    "bit_positions",
    "bit_width",
    "exponent_bit_positions",
    "flip_bits",
    "float_layout",
    "force_bits",
    "int_view_dtype",
    "mantissa_bit_positions",
    "resolve_bit_positions",
    "sign_bit_position",
    "supported_dtypes",
]


@dataclass(frozen=True)
class FloatLayout:
    """Where the sign, exponent and mantissa bits of a floating-point format lie.

    Ranges are inclusive ``(low, high)`` bit positions, 0 = least significant bit.
    """

    sign_bit: int
    exponent_bits: tuple[int, int]
    mantissa_bits: tuple[int, int]


# Bit layouts: IEEE 754-2008 (binary64/32/16); bfloat16 is the top half of binary32 (Google
# Brain float, as documented by PyTorch and TensorFlow); float8 E4M3 / E5M2 per the OCP 8-bit
# floating point specification (Micikevicius et al., 2022).
_FLOAT_LAYOUTS: dict[torch.dtype, FloatLayout] = {
    torch.float64: FloatLayout(63, (52, 62), (0, 51)),
    torch.float32: FloatLayout(31, (23, 30), (0, 22)),
    torch.float16: FloatLayout(15, (10, 14), (0, 9)),
    torch.bfloat16: FloatLayout(15, (7, 14), (0, 6)),
}
_INT_VIEWS: dict[torch.dtype, torch.dtype] = {
    torch.float64: torch.int64,
    torch.float32: torch.int32,
    torch.float16: torch.int16,
    torch.bfloat16: torch.int16,
    torch.int64: torch.int64,
    torch.int32: torch.int32,
    torch.int16: torch.int16,
    torch.int8: torch.int8,
    torch.uint8: torch.uint8,
}
for _name, _layout in (
    ("float8_e4m3fn", FloatLayout(7, (3, 6), (0, 2))),
    ("float8_e5m2", FloatLayout(7, (2, 6), (0, 1))),
):
    _dtype = getattr(torch, _name, None)
    if isinstance(_dtype, torch.dtype):
        _FLOAT_LAYOUTS[_dtype] = _layout
        _INT_VIEWS[_dtype] = torch.uint8

#: A choice of bit positions: ``None`` or ``"all"`` (every bit), ``"sign"``, ``"exponent"``,
#: ``"mantissa"``, ``"sign_exponent"`` (the high bits whose upsets do most damage), or explicit
#: positions (applied to every dtype wide enough to hold them).
BitMaskSpec = str | Sequence[int] | None

_NAMED_MASKS = ("all", "sign", "exponent", "mantissa", "sign_exponent")


def supported_dtypes() -> tuple[torch.dtype, ...]:
    """The dtypes whose bits can be flipped.

    >>> torch.float32 in supported_dtypes() and torch.bool not in supported_dtypes()
    True
    """
    return tuple(_INT_VIEWS)


def int_view_dtype(dtype: torch.dtype) -> torch.dtype:
    """The integer dtype of the same width used to reach ``dtype``'s bits.

    Raises:
        InputError: ``dtype`` is not supported (bool, complex, unsigned 16-64 bit).

    >>> int_view_dtype(torch.bfloat16)
    torch.int16
    """
    try:
        return _INT_VIEWS[dtype]
    except KeyError:
        allowed = ", ".join(str(d).removeprefix("torch.") for d in _INT_VIEWS)
        raise InputError("dtype", str(dtype), f"one of {allowed}") from None


def bit_width(dtype: torch.dtype) -> int:
    """Number of bits in one element of ``dtype``.

    >>> bit_width(torch.float16), bit_width(torch.float64)
    (16, 64)
    """
    return int_view_dtype(dtype).itemsize * 8


def bit_positions(dtype: torch.dtype) -> tuple[int, ...]:
    """Every bit position of ``dtype``, LSB first.

    >>> bit_positions(torch.int8)
    (0, 1, 2, 3, 4, 5, 6, 7)
    """
    return tuple(range(bit_width(dtype)))


def float_layout(dtype: torch.dtype) -> FloatLayout:
    """Sign/exponent/mantissa layout of a floating-point ``dtype``.

    Raises:
        InputError: ``dtype`` is not a supported floating-point dtype.

    >>> float_layout(torch.bfloat16).exponent_bits
    (7, 14)
    """
    try:
        return _FLOAT_LAYOUTS[dtype]
    except KeyError:
        allowed = ", ".join(str(d).removeprefix("torch.") for d in _FLOAT_LAYOUTS)
        raise InputError("dtype", str(dtype), f"a floating-point dtype: {allowed}") from None


def sign_bit_position(dtype: torch.dtype) -> int:
    """Position of the sign bit (the top bit, also for signed integers).

    >>> sign_bit_position(torch.float32)
    31
    """
    return bit_width(dtype) - 1


def exponent_bit_positions(dtype: torch.dtype) -> tuple[int, ...]:
    """Exponent bit positions of a floating-point dtype, LSB first.

    >>> exponent_bit_positions(torch.float16)
    (10, 11, 12, 13, 14)
    """
    low, high = float_layout(dtype).exponent_bits
    return tuple(range(low, high + 1))


def mantissa_bit_positions(dtype: torch.dtype) -> tuple[int, ...]:
    """Mantissa (fraction) bit positions of a floating-point dtype, LSB first.

    >>> mantissa_bit_positions(torch.bfloat16)
    (0, 1, 2, 3, 4, 5, 6)
    """
    low, high = float_layout(dtype).mantissa_bits
    return tuple(range(low, high + 1))


def resolve_bit_positions(dtype: torch.dtype, mask: BitMaskSpec) -> tuple[int, ...]:
    """The bit positions of ``dtype`` selected by ``mask`` (see :data:`BitMaskSpec`).

    Named masks that concern floats (``"exponent"``, ``"mantissa"``, ``"sign_exponent"``) select
    nothing in an integer dtype; ``"sign"`` selects an integer's top bit. Explicit positions
    beyond the dtype's width are dropped (a 16-bit tensor has no bit 30).

    Raises:
        InputError: an unknown mask name, or a negative position.

    >>> resolve_bit_positions(torch.float32, "sign_exponent")
    (23, 24, 25, 26, 27, 28, 29, 30, 31)
    >>> resolve_bit_positions(torch.float16, [14, 30])
    (14,)
    >>> resolve_bit_positions(torch.int8, "exponent")
    ()
    """
    key: str | tuple[int, ...] | None = (
        mask if mask is None or isinstance(mask, str) else tuple(mask)
    )
    return _resolve_cached(dtype, key)


@functools.lru_cache(maxsize=256)
def _resolve_cached(dtype: torch.dtype, mask: str | tuple[int, ...] | None) -> tuple[int, ...]:
    # Cached: the injector asks for every targeted tensor at every step.
    if mask is None:
        return bit_positions(dtype)
    if isinstance(mask, str):
        if mask not in _NAMED_MASKS:
            raise InputError("bit_mask", mask, f"one of {', '.join(_NAMED_MASKS)} or bit positions")
        if mask == "all":
            return bit_positions(dtype)
        if mask == "sign":
            return (sign_bit_position(dtype),)
        if dtype not in _FLOAT_LAYOUTS:
            return ()
        if mask == "exponent":
            return exponent_bit_positions(dtype)
        if mask == "mantissa":
            return mantissa_bit_positions(dtype)
        return (*exponent_bit_positions(dtype), sign_bit_position(dtype))
    positions = sorted({int(b) for b in mask})
    if positions and positions[0] < 0:
        raise InputError("bit_mask", list(mask), "bit positions >= 0 (0 = least significant bit)")
    width = bit_width(dtype)
    return tuple(b for b in positions if b < width)


@dataclass(frozen=True)
class FlipResult:
    """Values before and after an upset, one entry per requested (index, bit) pair.

    ``old_values`` and ``new_values`` are float64 arrays in the order the pairs were given.
    Where several pairs hit the same element, each pair's old value is the element as left by
    the pairs before it (the upsets compose in the given order). ``old_bits`` and ``new_bits``
    are the raw bit patterns (uint64 arrays holding the dtype's unsigned integer view), which
    the float64 values cannot always tell apart (widening quiets a signalling NaN).
    """

    flat_index: NDArray[np.int64]
    old_values: NDArray[np.float64]
    new_values: NDArray[np.float64]
    old_bits: NDArray[np.uint64] | None = None
    new_bits: NDArray[np.uint64] | None = None


def _as_index_array(values: ArrayLike, field: str) -> NDArray[np.int64]:
    array = np.asarray(values)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
        raise InputError(field, values, "a 1-D sequence of integers")
    return array.astype(np.int64, copy=False)


def _check_indices(flat_index: NDArray[np.int64], numel: int) -> None:
    if flat_index.size and (flat_index.min() < 0 or flat_index.max() >= numel):
        bad = flat_index[(flat_index < 0) | (flat_index >= numel)][0]
        raise InputError("flat_index", int(bad), f"an integer in [0, {numel - 1}]")


def _signed_masks(masks_u64: NDArray[np.uint64], width: int, unsigned: bool) -> NDArray[np.int64]:
    """Masks (bit patterns as uint64) as the int64 values of the width-bit integer view.

    Signed views are sign-extended by ``.to(torch.int64)``, so a mask with the top bit set must
    be the negative number with the same low ``width`` bits; ``uint8`` is zero-extended.
    """
    if width == 64:
        return masks_u64.view(np.int64)
    as_int = masks_u64.astype(np.int64)
    if unsigned:
        return as_int
    top = np.int64(1) << np.int64(width - 1)
    return np.where(as_int >= top, as_int - (top << np.int64(1)), as_int)


def _raw_bits(ints: NDArray[np.int64], width: int) -> NDArray[np.uint64]:
    """Sign/zero-extended int64 bit patterns as the unsigned ``width``-bit patterns."""
    raw = ints.astype(np.int64, copy=False).view(np.uint64)
    if width == 64:
        return raw.copy()
    return raw & np.uint64((1 << width) - 1)


def _result(
    index: NDArray[np.int64], old: NDArray[np.int64], new: NDArray[np.int64], tensor: torch.Tensor
) -> FlipResult:
    width = _INT_VIEWS[tensor.dtype].itemsize * 8
    return FlipResult(
        index,
        _bits_to_values(old, tensor.dtype),
        _bits_to_values(new, tensor.dtype),
        _raw_bits(old, width),
        _raw_bits(new, width),
    )


def _empty_result(index: NDArray[np.int64]) -> FlipResult:
    empty = np.empty(0, np.float64)
    no_bits = np.empty(0, np.uint64)
    return FlipResult(index, empty, empty.copy(), no_bits, no_bits.copy())


def _bits_to_values(ints: NDArray[np.int64], dtype: torch.dtype) -> NDArray[np.float64]:
    """Reinterpret int64 bit patterns (sign/zero-extended) as ``dtype`` values, as float64."""
    int_dtype = int_view_dtype(dtype)
    as_int = torch.from_numpy(np.ascontiguousarray(ints)).to(int_dtype)
    return as_int.view(dtype).to(torch.float64).numpy()


class _ElementAccess:
    """Gather and scatter elements of a tensor's integer view by logical flat index."""

    def __init__(self, tensor: torch.Tensor) -> None:
        if tensor.dtype not in _INT_VIEWS:
            int_view_dtype(tensor.dtype)  # raises the InputError naming what is allowed
        self.tensor = tensor
        self.int_dtype = _INT_VIEWS[tensor.dtype]
        self.width = self.int_dtype.itemsize * 8
        self.unsigned = self.int_dtype == torch.uint8

    def _view_and_index(
        self, flat_index: NDArray[np.int64]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        tensor = self.tensor.detach()
        device = tensor.device
        if tensor.is_contiguous():
            view = tensor.view(self.int_dtype).view(-1)
            return view, (torch.from_numpy(flat_index).to(device),)
        view = tensor.view(self.int_dtype)
        multi = np.unravel_index(flat_index, tuple(tensor.shape))
        return view, tuple(torch.from_numpy(np.asarray(m, np.int64)).to(device) for m in multi)

    def gather(self, flat_index: NDArray[np.int64]) -> NDArray[np.int64]:
        view, index = self._view_and_index(flat_index)
        return view[index].to(torch.int64).cpu().numpy()

    def scatter(self, flat_index: NDArray[np.int64], ints: NDArray[np.int64]) -> None:
        view, index = self._view_and_index(flat_index)
        values = torch.from_numpy(np.ascontiguousarray(ints)).to(self.int_dtype).to(view.device)
        with torch.no_grad():
            view.index_put_(index, values)


def flip_bits(
    tensor: torch.Tensor, flat_index: ArrayLike, bit: ArrayLike, *, n_bits: ArrayLike = 1
) -> FlipResult:
    """Flip bits of ``tensor`` in place: the upset of bits ``bit .. bit + n_bits - 1``.

    Vectorised over pairs: ``flat_index`` and ``bit`` are equal-length 1-D integer sequences
    (or scalars); ``n_bits`` (scalar or per pair) gives a multi-bit upset of adjacent bits in the
    same word, starting at ``bit`` and going up. Pairs may repeat an element (and a bit: two
    flips of one bit cancel, as they would in memory). Works on any device, on parameters and on
    non-contiguous tensors (see the module docstring for the index convention); autograd does not
    record the change.

    Returns:
        The old and new value of each pair, in the given order.

    Raises:
        InputError: an unsupported dtype, mismatched lengths, an index outside the tensor or a bit
            outside the element.

    >>> x = torch.tensor([1.0, 1.0], dtype=torch.float16)
    >>> flip_bits(x, [0, 1], [15, 14]).new_values.tolist()
    [-1.0, inf]
    >>> y = torch.tensor([1], dtype=torch.int8)
    >>> flip_bits(y, 0, 7).new_values.tolist()
    [-127.0]
    """
    access = _ElementAccess(tensor)
    index = _as_index_array(flat_index, "flat_index")
    bits = _as_index_array(bit, "bit")
    widths = _as_index_array(n_bits, "n_bits")
    if bits.size == 1 and index.size != 1:
        bits = np.full(index.size, bits[0], np.int64)
    if widths.size == 1:
        widths = np.full(index.size, widths[0], np.int64)
    if not (index.size == bits.size == widths.size):
        raise InputError(
            "bit", f"{bits.size} bit positions for {index.size} indices", "one per flat index"
        )
    _check_indices(index, tensor.numel())
    if index.size == 0:
        return _empty_result(index)
    if widths.min() < 1:
        raise InputError("n_bits", int(widths.min()), "an integer >= 1")
    top = bits + widths - 1
    if bits.min() < 0 or top.max() >= access.width:
        bad = int(bits[(bits < 0) | (top >= access.width)][0])
        raise InputError(
            "bit",
            bad,
            f"a bit position in [0, {access.width - 1}] for {tensor.dtype}"
            + (" (including the upset's adjacent bits)" if widths.max() > 1 else ""),
        )
    masks_u64 = ((np.uint64(1) << widths.astype(np.uint64)) - np.uint64(1)) << bits.astype(
        np.uint64
    )
    masks = _signed_masks(masks_u64, access.width, access.unsigned)

    # Compose upsets that hit the same element in the given order: sort stably by element and
    # take a prefix XOR inside each group (XOR is its own inverse, so the group's prefix is the
    # global prefix XOR the value just before the group starts).
    order = np.argsort(index, kind="stable")
    sorted_index = index[order]
    sorted_masks = masks[order]
    prefix = np.bitwise_xor.accumulate(sorted_masks)
    starts = np.ones(sorted_index.size, bool)
    starts[1:] = sorted_index[1:] != sorted_index[:-1]
    start_pos = np.flatnonzero(starts)
    group = np.cumsum(starts) - 1
    before = np.where(start_pos > 0, prefix[np.maximum(start_pos - 1, 0)], 0)[group]
    inclusive = prefix ^ before
    exclusive = inclusive ^ sorted_masks
    unique_index = sorted_index[starts]
    end_pos = np.r_[start_pos[1:], sorted_index.size] - 1
    total_mask = inclusive[end_pos]

    original = access.gather(unique_index)
    access.scatter(unique_index, original ^ total_mask)

    old_sorted = original[group] ^ exclusive
    new_sorted = original[group] ^ inclusive
    old_ints = np.empty_like(old_sorted)
    new_ints = np.empty_like(new_sorted)
    old_ints[order] = old_sorted
    new_ints[order] = new_sorted
    return _result(index, old_ints, new_ints, tensor)


def force_bits(
    tensor: torch.Tensor, flat_index: ArrayLike, set_mask: ArrayLike, clear_mask: ArrayLike
) -> FlipResult:
    """Force bits of ``tensor`` in place: stuck-at-1 bits (``set_mask``), stuck-at-0 (``clear_mask``).

    ``flat_index`` must not repeat; ``set_mask`` and ``clear_mask`` are per-element bit patterns
    (non-negative integers below ``2**width``; a bit in both is an error). The element becomes
    ``(old | set_mask) & ~clear_mask``.

    Returns:
        Old and new value per element; an element whose stuck bits already held is unchanged
        (old == new bit for bit).

    Raises:
        InputError: repeated indices, masks outside the element's width or overlapping masks.

    >>> x = torch.tensor([1.0, 2.0])
    >>> force_bits(x, [0, 1], [1 << 31, 0], [0, 1 << 30]).new_values.tolist()
    [-1.0, 0.0]
    """
    access = _ElementAccess(tensor)
    index = _as_index_array(flat_index, "flat_index")
    set_u = np.asarray(set_mask, dtype=np.uint64).reshape(-1)
    clear_u = np.asarray(clear_mask, dtype=np.uint64).reshape(-1)
    if not (index.size == set_u.size == clear_u.size):
        raise InputError(
            "set_mask", f"{set_u.size} set and {clear_u.size} clear masks", "one per flat index"
        )
    _check_indices(index, tensor.numel())
    if np.unique(index).size != index.size:
        raise InputError("flat_index", index.tolist(), "distinct element indices")
    if index.size == 0:
        return _empty_result(index)
    if access.width < 64:
        limit = np.uint64(1) << np.uint64(access.width)
        if (set_u >= limit).any() or (clear_u >= limit).any():
            raise InputError(
                "set_mask", "a mask wider than the element", f"masks below 2**{access.width}"
            )
    if (set_u & clear_u).any():
        raise InputError("set_mask", "a bit stuck at both 0 and 1", "disjoint set and clear masks")
    set_i = _signed_masks(set_u, access.width, access.unsigned)
    clear_i = _signed_masks(clear_u, access.width, access.unsigned)
    original = access.gather(index)
    new = (original | set_i) & ~clear_i
    changed = new != original
    if changed.any():
        access.scatter(index[changed], new[changed])
    return _result(index, original, new, tensor)
