"""Compression: int8 error bounds, top-k, error feedback, byte reduction, state."""

from __future__ import annotations

import numpy as np
import pytest

from orbitlearn.errors import CheckpointError, InputError
from orbitlearn.federation import (
    Codec,
    ModelUpdate,
    UpdateCompressor,
    frame_size_bytes,
    quantize_int8,
    topk_indices,
)
from orbitlearn.federation.messages import EncodedTensor


def _ulp_half(x: np.ndarray, dtype) -> np.ndarray:
    return 0.5 * np.spacing(np.abs(x).astype(dtype)).astype(np.float64)


@pytest.mark.parametrize("scheme", ["int8-symmetric", "int8-affine"])
@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(0).normal(size=10_000),
        np.random.default_rng(1).uniform(3.0, 7.0, size=5_000),  # skewed: all positive
        np.random.default_rng(2).normal(scale=1e-30, size=100),  # tiny values
        np.array([0.0, 0.0, 0.0]),
        np.array([2.5, 2.5]),  # constant
        np.array([-1.0, 1e-3, 1.0]),
    ],
    ids=["normal", "skewed", "tiny", "zeros", "constant", "mixed"],
)
def test_int8_error_is_at_most_half_a_step(scheme, values):
    q, scale, offset = quantize_int8(values, scheme)
    assert q.dtype == np.int8 and q.shape == values.shape
    assert np.float32(scale) == scale and np.float32(offset) == offset  # float32 on the wire
    codec = Codec.INT8_SYMMETRIC if scheme == "int8-symmetric" else Codec.INT8_AFFINE
    enc = EncodedTensor(values.shape, np.float64, codec, q.reshape(-1), scale=scale, offset=offset)
    err = np.abs(enc.decode() - values)
    assert np.all(err <= scale / 2 * (1 + 1e-12) + 1e-300)
    if scheme == "int8-symmetric":
        assert np.all(q >= -127) and (
            values.max(initial=0) == 0 or scale * 127 >= np.abs(values).max()
        )
    # float32 tensors add at most half an ulp of float32 when cast back
    enc32 = EncodedTensor(
        values.shape, np.float32, codec, q.reshape(-1), scale=scale, offset=offset
    )
    err32 = np.abs(enc32.decode().astype(np.float64) - values)
    assert np.all(err32 <= scale / 2 * (1 + 1e-12) + _ulp_half(values, np.float32) + 1e-45)


def test_affine_uses_the_range_better_than_symmetric_on_skewed_values():
    values = np.random.default_rng(3).uniform(3.0, 7.0, size=1000)
    _, s_sym, _ = quantize_int8(values, "int8-symmetric")
    _, s_aff, _ = quantize_int8(values, "int8-affine")
    assert s_aff < s_sym / 3  # 4/255 versus 7/127


def test_quantisation_refuses_non_finite_values():
    with pytest.raises(InputError, match="Expected `values` to be finite numbers"):
        quantize_int8(np.array([1.0, np.nan]), "int8-symmetric")
    with pytest.raises(InputError, match="Expected `scheme` to be"):
        quantize_int8(np.array([1.0]), "int4")  # type: ignore[arg-type]


def test_topk_picks_the_largest_magnitudes():
    x = np.array([0.1, -5.0, 3.0, 0.0, -0.2, 4.0])
    assert topk_indices(x, 3).tolist() == [1, 2, 5]
    assert topk_indices(x, 6).tolist() == list(range(6))
    assert topk_indices(x, 0).tolist() == []
    with pytest.raises(InputError, match=r"Expected `k` to be an integer in \[0, 6\], actual: 7"):
        topk_indices(x, 7)


def test_error_feedback_makes_the_transmitted_sum_track_the_true_sum():
    rng = np.random.default_rng(4)
    steps, n = 200, 2_000
    with_ef = UpdateCompressor(topk_fraction=0.02, quantization="int8-symmetric")
    without = UpdateCompressor(
        topk_fraction=0.02, quantization="int8-symmetric", error_feedback=False
    )
    true_sum = np.zeros(n)
    sent_ef = np.zeros(n)
    sent_plain = np.zeros(n)
    gaps: list[float] = []
    partial_norm_50: list[float] = []
    for _ in range(steps):
        x = rng.normal(loc=0.05, size=n).astype(np.float32)  # a consistent drift, like SGD deltas
        true_sum += x
        sent_ef += with_ef.compress({"d": x})["d"].decode()
        sent_plain += without.compress({"d": x})["d"].decode()
        gaps.append(np.linalg.norm(true_sum - sent_ef))
        if len(gaps) == 50:
            partial_norm_50.append(np.linalg.norm(true_sum))
    # identity: what is owed is exactly the residual
    np.testing.assert_allclose(
        true_sum - sent_ef, with_ef.state_dict()["residuals"]["d"], rtol=0, atol=1e-3
    )
    rel_ef = np.linalg.norm(true_sum - sent_ef) / np.linalg.norm(true_sum)
    rel_plain = np.linalg.norm(true_sum - sent_plain) / np.linalg.norm(true_sum)
    assert rel_plain > 0.8  # without feedback most of every update is simply lost
    assert rel_ef < 0.2
    # the gap (= residual) stays bounded while the true sum grows, so the relative error falls
    assert max(gaps[50:]) < 1.25 * max(gaps[:50])
    assert rel_ef < 0.5 * gaps[49] / partial_norm_50[0]


def test_error_feedback_with_quantisation_only_is_unbiased_over_time():
    rng = np.random.default_rng(5)
    comp = UpdateCompressor(quantization="int8-symmetric")
    true_sum = np.zeros(500)
    sent = np.zeros(500)
    for _ in range(100):
        x = rng.normal(scale=1e-3, size=500) + np.where(np.arange(500) == 0, 1.0, 0.0)
        true_sum += x
        sent += comp.compress({"d": x})["d"].decode()
    # one large entry makes the step ~1/127: small entries would all round to 0 without feedback
    assert np.max(np.abs(true_sum - sent)) <= 1.0 / 127
    assert comp.residual_norm() == pytest.approx(np.linalg.norm(true_sum - sent), rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "low", "high"),
    [
        ({"quantization": "int8-symmetric"}, 3.9, 4.0),
        ({"quantization": "int8-affine"}, 3.9, 4.0),
        ({"topk_fraction": 0.1}, 4.9, 5.0),  # 4-byte index + 4-byte value per kept entry
        ({"topk_fraction": 0.01, "quantization": "int8-symmetric"}, 75.0, 80.0),
    ],
    ids=["int8-sym", "int8-affine", "topk-10%", "topk-1%+int8"],
)
def test_bytes_reduction(kwargs, low, high):
    rng = np.random.default_rng(6)
    delta = {"layer.weight": rng.normal(size=(200, 500)).astype(np.float32)}
    upd = ModelUpdate(
        sender=0,
        sequence=1,
        base_version=0,
        num_samples=1,
        created_time_s=0.0,
        tensors=UpdateCompressor(**kwargs).compress(delta),
    )
    dense = ModelUpdate.from_arrays(
        sender=0, sequence=1, base_version=0, num_samples=1, created_time_s=0.0, arrays=delta
    )
    assert upd.dense_size_bytes == dense.size_bytes == frame_size_bytes(dense, signed=False) - 48
    ratio = dense.size_bytes / upd.size_bytes
    assert low < ratio < high


def test_integer_tensors_pass_untouched_and_lossless_compressor_is_exact():
    arrays = {"w": np.linspace(-1, 1, 7, dtype=np.float32), "n": np.array([5, 6], np.int64)}
    enc = UpdateCompressor(topk_fraction=0.3, quantization="int8-affine").compress(arrays)
    assert enc["n"].codec is Codec.RAW and not enc["n"].sparse
    assert enc["n"].decode().tolist() == [5, 6]
    exact = UpdateCompressor().compress(arrays)
    assert exact["w"].decode().tobytes() == arrays["w"].tobytes()


def test_state_dict_round_trip_continues_identically():
    rng = np.random.default_rng(7)
    stream = [{"w": rng.normal(size=300).astype(np.float32)} for _ in range(6)]
    a = UpdateCompressor(topk_fraction=0.05, quantization="int8-affine")
    for x in stream[:3]:
        a.compress(x)
    b = UpdateCompressor(topk_fraction=0.05, quantization="int8-affine")
    b.load_state_dict(a.state_dict())
    for x in stream[3:]:
        ea, eb = a.compress(x)["w"], b.compress(x)["w"]
        assert ea.values.tobytes() == eb.values.tobytes()
        assert ea.indices is not None and eb.indices is not None
        assert ea.indices.tolist() == eb.indices.tolist()
    with pytest.raises(CheckpointError, match="Compressor state was saved with"):
        UpdateCompressor(topk_fraction=0.5).load_state_dict(a.state_dict())


def test_compressor_arguments_and_non_finite_input_are_rejected():
    with pytest.raises(
        InputError, match=r"Expected `topk_fraction` to be a number in \(0, 1\] or None, actual: 0"
    ):
        UpdateCompressor(topk_fraction=0)
    with pytest.raises(InputError, match="Expected `quantization` to be one of"):
        UpdateCompressor(quantization="fp8")  # type: ignore[arg-type]
    comp = UpdateCompressor(topk_fraction=0.5)
    with pytest.raises(
        InputError, match="Expected `tensor `w`` to be finite numbers, actual: 'non-finite entries'"
    ):
        comp.compress({"w": np.array([1.0, np.inf])})
    assert comp.residual_norm() == 0.0
