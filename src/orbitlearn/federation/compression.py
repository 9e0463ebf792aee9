"""Update compression: int8 quantisation and top-k sparsification with error feedback.

A ground pass lasts minutes and a UHF/S-band link carries kbit/s to Mbit/s (REFERENCE.md,
"Links"), so what a satellite uploads is compressed. Two standard operators compose, in this
order: top-k (keep the ``k`` largest-magnitude entries of each tensor) then int8 (quantise
the kept values). Only floating-point tensors are compressed; integer/bool tensors travel raw.

**int8 quantisation** (one scale per tensor, stored as float32):

* ``"int8-symmetric"``: ``scale = max|x| / 127`` (rounded up to a float32), ``q = round(x /
  scale)`` in ``[-127, 127]``, decoded as ``q * scale``. Zero maps exactly to zero, which suits
  update deltas (centred on 0).
* ``"int8-affine"``: ``offset = min x`` (rounded down to a float32), ``scale = (max x -
  offset) / 255`` (rounded up), ``q = round((x - offset) / scale) - 128`` in ``[-128, 127]``,
  decoded as ``(q + 128) * scale + offset``. Uses all 256 levels on a skewed range (e.g.
  weights that are all positive).

Either way the per-element error is bounded: ``|x - decode(q)| <= scale / 2`` in float64
arithmetic, plus at most half a unit in the last place of the tensor dtype when the result is
cast back (e.g. float32). This is tested.

**top-k with error feedback** (Stich, Cordonnier, Jaggi, "Sparsified SGD with Memory",
NeurIPS 2018; Karimireddy et al., "Error Feedback Fixes SignSGD", ICML 2019): the sender keeps
a residual ``e`` per tensor; each round it compresses ``c = C(x + e)`` and keeps ``e <- (x + e)
- decode(c)``. What is dropped or rounded is therefore sent later, and after ``T`` rounds the
sum of what was transmitted equals the sum of the true updates minus the current residual,
``sum(decode(c_t)) = sum(x_t) - e_T``, so the cumulative error stays bounded instead of
growing. Error feedback covers the whole pipeline (top-k and int8 together). The residual is
sender state: one :class:`UpdateCompressor` lives on each satellite, and it round-trips through
``state_dict()`` so that a reset or a resumed mission loses nothing.

>>> import numpy as np
>>> comp = UpdateCompressor(topk_fraction=0.5, quantization="int8-symmetric")
>>> enc = comp.compress({"w": np.array([0.1, -2.0, 0.3, 1.0], dtype=np.float32)})
>>> enc["w"].indices.tolist()
[1, 3]
>>> np.round(enc["w"].decode().astype(float), 3).tolist()
[0.0, -2.0, 0.0, 0.992]
>>> np.round(comp.state_dict()["residuals"]["w"], 3).tolist()
[0.1, 0.0, 0.3, 0.008]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from orbitlearn.errors import CheckpointError, InputError
from orbitlearn.federation.messages import Codec, EncodedTensor
from orbitlearn.federation.tensors import is_float_array

__all__ = [
    "QuantizationScheme",
    "UpdateCompressor",
    "quantize_int8",
    "topk_indices",
]

QuantizationScheme = Literal["none", "int8-symmetric", "int8-affine"]
_SCHEMES: tuple[str, ...] = get_args(QuantizationScheme)


def _f32_at_least(value: float) -> float:
    """The smallest float32 value >= ``value`` (as a Python float)."""
    v = np.float32(value)
    if float(v) < value:
        v = np.nextafter(v, np.float32(np.inf))
    return float(v)


def _f32_at_most(value: float) -> float:
    """The largest float32 value <= ``value`` (as a Python float)."""
    v = np.float32(value)
    if float(v) > value:
        v = np.nextafter(v, np.float32(-np.inf))
    return float(v)


def quantize_int8(
    values: NDArray[Any], scheme: Literal["int8-symmetric", "int8-affine"]
) -> tuple[NDArray[np.int8], float, float]:
    """Quantise ``values`` to int8 with one float32 scale.

    Args:
        values: finite floating-point values, any shape.
        scheme: ``"int8-symmetric"`` or ``"int8-affine"`` (see the module docstring).

    Returns:
        ``(q, scale, offset)``: int8 codes of the same shape, and the float32-representable
        scale and offset (offset 0 for symmetric). Decoding gives values within ``scale / 2``.

    Raises:
        InputError: a value is not finite, beyond the float32 range, or ``scheme`` is unknown.

    >>> q, scale, offset = quantize_int8(np.array([-1.0, 0.0, 0.5]), "int8-symmetric")
    >>> q.tolist(), round(scale * 127, 6), offset
    ([-127, 0, 63], 1.0, 0.0)
    """
    x = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise InputError("values", "non-finite entries", "finite numbers (int8 quantisation)")
    if x.size == 0:
        return np.zeros(x.shape, np.int8), 0.0, 0.0
    if scheme == "int8-symmetric":
        peak = float(np.max(np.abs(x)))
        if peak == 0.0:
            return np.zeros(x.shape, np.int8), 0.0, 0.0
        scale = _f32_at_least(peak / 127.0)
        if not math.isfinite(scale):
            raise InputError("max |value|", peak, "within the float32 range (int8 scale)")
        q = np.clip(np.rint(x / scale), -127, 127).astype(np.int8)
        return q, scale, 0.0
    if scheme == "int8-affine":
        lo, hi = float(np.min(x)), float(np.max(x))
        offset = _f32_at_most(lo)
        if not math.isfinite(offset):
            raise InputError("min value", lo, "within the float32 range (int8 offset)")
        if hi == offset:
            return np.full(x.shape, -128, np.int8), 0.0, offset
        scale = _f32_at_least((hi - offset) / 255.0)
        if not math.isfinite(scale):
            raise InputError("value range", hi - lo, "within the float32 range (int8 scale)")
        q = np.clip(np.rint((x - offset) / scale), 0, 255) - 128
        return q.astype(np.int8), scale, offset
    raise InputError("scheme", scheme, "'int8-symmetric' or 'int8-affine'")


def topk_indices(values: NDArray[Any], k: int) -> NDArray[np.uint32]:
    """Flat indices of the ``k`` largest-magnitude entries of ``values``, increasing.

    Ties at the threshold are broken deterministically (numpy's introselect on the same input).

    >>> topk_indices(np.array([0.1, -3.0, 2.0, 0.0]), 2).tolist()
    [1, 2]
    """
    flat = np.abs(np.asarray(values).reshape(-1))
    if not 0 <= k <= flat.size:
        raise InputError("k", k, f"an integer in [0, {flat.size}]")
    if k == flat.size:
        return np.arange(flat.size, dtype=np.uint32)
    if k == 0:
        return np.zeros(0, dtype=np.uint32)
    part = np.argpartition(flat, flat.size - k)[flat.size - k :]
    return np.sort(part).astype(np.uint32)


class UpdateCompressor:
    """Stateful sender-side compression of named tensors: top-k, then int8, with error feedback.

    Args:
        topk_fraction: fraction of each float tensor's entries to send, in (0, 1]; ``None``
            sends every entry. At least one entry per non-empty tensor is kept
            (``k = max(1, ceil(fraction * size))``).
        quantization: ``"none"``, ``"int8-symmetric"`` or ``"int8-affine"``.
        error_feedback: carry what compression dropped into the next call (recommended
            whenever compression is lossy).

    Raises:
        InputError: an argument is out of range.
    """

    def __init__(
        self,
        *,
        topk_fraction: float | None = None,
        quantization: QuantizationScheme = "none",
        error_feedback: bool = True,
    ) -> None:
        if topk_fraction is not None and not (
            isinstance(topk_fraction, (int, float)) and 0.0 < float(topk_fraction) <= 1.0
        ):
            raise InputError("topk_fraction", topk_fraction, "a number in (0, 1] or None")
        if quantization not in _SCHEMES:
            raise InputError("quantization", quantization, f"one of {list(_SCHEMES)}")
        self.topk_fraction = None if topk_fraction is None else float(topk_fraction)
        self.quantization: QuantizationScheme = quantization
        self.error_feedback = bool(error_feedback)
        self._residuals: dict[str, NDArray[np.float64]] = {}

    @property
    def lossless(self) -> bool:
        """Whether the compressor sends tensors exactly (no top-k, no quantisation)."""
        return self.topk_fraction is None and self.quantization == "none"

    def _config(self) -> dict[str, Any]:
        return {
            "topk_fraction": self.topk_fraction,
            "quantization": self.quantization,
            "error_feedback": self.error_feedback,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config().items())
        return f"UpdateCompressor({args})"

    def compress(self, arrays: Mapping[str, NDArray[Any]]) -> dict[str, EncodedTensor]:
        """Encode ``arrays`` (usually an update delta), updating the error-feedback residuals.

        Returns:
            One :class:`EncodedTensor` per name, in order.

        Raises:
            InputError: a floating-point tensor holds a non-finite value (nothing is changed).
        """
        for name, array in arrays.items():
            if is_float_array(array) and not np.all(np.isfinite(array)):
                raise InputError(f"tensor `{name}`", "non-finite entries", "finite numbers")
        out: dict[str, EncodedTensor] = {}
        new_residuals: dict[str, NDArray[np.float64]] = {}
        for name, array in arrays.items():
            arr = np.asarray(array)
            if not is_float_array(arr) or self.lossless:
                out[name] = EncodedTensor.raw(arr)
                continue
            corrected = arr.astype(np.float64).reshape(-1)
            residual = self._residuals.get(name) if self.error_feedback else None
            if residual is not None and residual.shape == corrected.shape:
                corrected = corrected + residual
            encoded = self._encode_one(arr.shape, arr.dtype, corrected)
            out[name] = encoded
            if self.error_feedback:
                new_residuals[name] = corrected - encoded.decode().astype(np.float64).reshape(-1)
        if self.error_feedback and not self.lossless:
            self._residuals.update(new_residuals)
        return out

    def _encode_one(
        self, shape: tuple[int, ...], dtype: np.dtype[Any], flat: NDArray[np.float64]
    ) -> EncodedTensor:
        indices: NDArray[np.uint32] | None = None
        values = flat
        if self.topk_fraction is not None and flat.size > 0:
            k = max(1, math.ceil(self.topk_fraction * flat.size))
            if k < flat.size:
                indices = topk_indices(flat, k)
                values = flat[indices.astype(np.int64)]
        if self.quantization == "none":
            return EncodedTensor(shape, dtype, Codec.RAW, values.astype(dtype), indices)
        q, scale, offset = quantize_int8(values, self.quantization)
        codec = Codec.INT8_SYMMETRIC if self.quantization == "int8-symmetric" else Codec.INT8_AFFINE
        return EncodedTensor(shape, dtype, codec, q.reshape(-1), indices, scale, offset)

    def residual_norm(self) -> float:
        """L2 norm of all carried residuals together (what is still owed to the receiver)."""
        return float(np.sqrt(sum(float(np.dot(r, r)) for r in self._residuals.values())))

    def reset(self) -> None:
        """Forget the residuals (e.g. when the sender adopts a new global model and drops them)."""
        self._residuals.clear()

    def state_dict(self) -> dict[str, Any]:
        """Configuration and residuals (float64 arrays by tensor name)."""
        return {
            "config": self._config(),
            "residuals": {name: r.copy() for name, r in self._residuals.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore residuals saved by :meth:`state_dict`.

        Raises:
            CheckpointError: the state was saved by a compressor with another configuration.
        """
        if dict(state.get("config", {})) != self._config():
            raise CheckpointError(
                f"Compressor state was saved with {state.get('config')!r}, "
                f"this compressor is {self._config()!r}"
            )
        self._residuals = {
            str(name): np.asarray(r, dtype=np.float64).copy()
            for name, r in state["residuals"].items()
        }
