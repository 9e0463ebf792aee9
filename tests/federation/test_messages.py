"""Messages: bit-exact round trips, exact sizes, validated decoding."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbitlearn.errors import DataError, InputError
from orbitlearn.federation import (
    GROUND_SENDER_ID,
    Codec,
    EncodedTensor,
    GlobalModel,
    ModelUpdate,
    UpdateCompressor,
    decode_message,
)


def _update(arrays, **kw) -> ModelUpdate:
    fields = dict(sender=7, sequence=3, base_version=2, num_samples=40, created_time_s=1.7e9 + 0.25)
    fields.update(kw)
    return ModelUpdate.from_arrays(arrays=arrays, **fields)


def _mixed_arrays(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "conv.weight": rng.normal(size=(4, 3, 2, 2)).astype(np.float32),
        "conv.bias": rng.normal(size=4).astype(np.float64),
        "half": rng.normal(size=(5,)).astype(np.float16),
        "bn.num_batches_tracked": np.array(17, dtype=np.int64),
        "mask": rng.random(6) > 0.5,
        "codes": rng.integers(-100, 100, size=(2, 3), dtype=np.int8),
        "u8": rng.integers(0, 255, size=3, dtype=np.uint8),
        "i16": np.array([-3, 4], dtype=np.int16),
        "i32": np.array([[1]], dtype=np.int32),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }


def test_header_layout_and_exact_size_of_a_small_update():
    upd = _update({"w": np.array([1.0, 2.0, 3.0], np.float32)})
    body = upd.to_bytes()
    # header 48 + one contributor 4 + tensor count 4 + name_len 2 + "w" 1 + codes 4 + shape 8
    # + 3 float32 values 12
    assert len(body) == upd.size_bytes == 83
    assert body[:4] == b"OLFM"
    sender, sequence, base, samples, created = struct.unpack_from("<IQQQd", body, 8)
    assert (sender, sequence, base, samples, created) == (7, 3, 2, 40, 1.7e9 + 0.25)
    assert body[-12:] == np.array([1.0, 2.0, 3.0], "<f4").tobytes()


def test_update_round_trips_bit_exactly_for_every_dtype():
    rng = np.random.default_rng(0)
    arrays = _mixed_arrays(rng)
    upd = _update(arrays, contributors=(7, 2, 9))
    body = upd.to_bytes()
    assert len(body) == upd.size_bytes
    back = ModelUpdate.from_bytes(body)
    assert back.to_bytes() == body
    assert (back.sender, back.sequence, back.base_version, back.num_samples) == (7, 3, 2, 40)
    assert back.created_time_s == upd.created_time_s
    assert back.contributors == (7, 2, 9)
    assert list(back.tensors) == list(arrays)
    dense = back.dense()
    for name, array in arrays.items():
        assert dense[name].dtype == array.dtype
        assert dense[name].shape == array.shape
        assert dense[name].tobytes() == array.tobytes()


def test_compressed_update_round_trips_and_is_smaller():
    rng = np.random.default_rng(1)
    arrays = {"w": rng.normal(size=(100, 50)).astype(np.float32), "steps": np.array(3)}
    comp = UpdateCompressor(topk_fraction=0.1, quantization="int8-affine")
    upd = ModelUpdate(
        sender=1,
        sequence=1,
        base_version=0,
        num_samples=5,
        created_time_s=0.0,
        tensors=comp.compress(arrays),
    )
    body = upd.to_bytes()
    back = ModelUpdate.from_bytes(body)
    assert back.to_bytes() == body
    enc = back.tensors["w"]
    assert enc.codec is Codec.INT8_AFFINE and enc.sparse and enc.indices is not None
    assert enc.indices.size == 500
    np.testing.assert_array_equal(back.dense()["w"], upd.dense()["w"])
    assert len(body) == upd.size_bytes < upd.dense_size_bytes / 7


def test_global_model_round_trip_and_header_convention():
    params = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    gm = GlobalModel.from_arrays(version=12, created_time_s=5.0, arrays=params, num_samples=99)
    body = gm.to_bytes()
    assert len(body) == gm.size_bytes
    back = decode_message(body)
    assert isinstance(back, GlobalModel)
    assert (back.version, back.num_samples, back.sender, back.sequence) == (
        12,
        99,
        GROUND_SENDER_ID,
        12,
    )
    assert back.to_bytes() == body
    with pytest.raises(DataError, match="Expected a model-update message"):
        ModelUpdate.from_bytes(body)
    with pytest.raises(DataError, match="Expected a global-model message"):
        GlobalModel.from_bytes(_update(params).to_bytes())


def test_encoding_is_deterministic_and_byte_order_independent():
    big = np.arange(4, dtype=">f4")
    little = np.arange(4, dtype="<f4")
    assert _update({"w": big}).to_bytes() == _update({"w": little}).to_bytes()
    assert _update({"w": little}).to_bytes() == _update({"w": little.copy()}).to_bytes()


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(0, 4), min_size=0, max_size=3),
    dtype=st.sampled_from(["float32", "float64", "float16", "int64", "int8", "bool"]),
    seed=st.integers(0, 2**16),
    name=st.text(min_size=1, max_size=12),
)
def test_round_trip_property(shape, dtype, seed, name):
    rng = np.random.default_rng(seed)
    array = (rng.normal(size=shape) * 50).astype(dtype)
    upd = _update({name: array})
    body = upd.to_bytes()
    assert len(body) == upd.size_bytes
    back = ModelUpdate.from_bytes(body)
    assert back.to_bytes() == body
    assert back.dense()[name].tobytes() == array.tobytes()


def _corrupt(body: bytes, offset: int, new: bytes) -> bytes:
    return body[:offset] + new + body[offset + len(new) :]


_BODY = _update({"w": np.array([1.0, 2.0], np.float32)}).to_bytes()
_TENSOR_AT = 48 + 4 + 4  # first tensor entry: name_len u16, name, dtype, codec, sparse, ndim
_SPARSE = ModelUpdate(
    sender=1,
    sequence=1,
    base_version=0,
    num_samples=1,
    created_time_s=0.0,
    tensors={
        "w": EncodedTensor(
            (4,), np.float32, Codec.RAW, np.ones(2, np.float32), np.array([1, 3], np.uint32)
        )
    },
).to_bytes()
_SPARSE_IDX = 48 + 4 + 4 + 2 + 1 + 4 + 8 + 8  # first index


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_BODY[:30], "Message truncated: header needs 48 bytes at offset 0, only 30 remain"),
        (_BODY[:-1], "Message truncated: tensor `w` values needs 8 bytes"),
        (_BODY + b"\x00", "Message has 1 unexpected trailing bytes"),
        (_corrupt(_BODY, 0, b"XXXX"), "Message magic is b'XXXX', expected b'OLFM'"),
        (_corrupt(_BODY, 4, b"\x09"), "Message format version is 9, expected 1"),
        (_corrupt(_BODY, 5, b"\x07"), "Message type is 7, expected 1 (update) or 2 (global model)"),
        (_corrupt(_BODY, _TENSOR_AT + 3, b"\x63"), "Message tensor `w` has unknown dtype code 99"),
        (
            _corrupt(_BODY, _TENSOR_AT + 4, b"\x05"),
            "Message tensor `w` has unknown codec 5, expected 0, 1 or 2",
        ),
        (
            _corrupt(_BODY, _TENSOR_AT + 6, b"\x09"),
            "Message tensor `w` has 9 dimensions, at most 8 allowed",
        ),
        (_corrupt(_BODY, _TENSOR_AT + 2, b"\xff"), "Message tensor 0 name is not valid UTF-8"),
        (
            _corrupt(_BODY, 8, struct.pack("<I", GROUND_SENDER_ID)),
            "Message header is invalid: Expected `sender`",
        ),
        (
            _corrupt(_SPARSE, _SPARSE_IDX, struct.pack("<I", 9)),
            "Message tensor `w` is inconsistent: Expected `indices`",
        ),
        (
            _corrupt(_SPARSE, _SPARSE_IDX, struct.pack("<I", 3)),
            "Message tensor `w` is inconsistent: Expected `indices`",
        ),
    ],
    ids=[
        "short-header",
        "short-values",
        "trailing",
        "magic",
        "format",
        "type",
        "dtype",
        "codec",
        "ndim",
        "utf8",
        "ground-sender",
        "index-range",
        "index-order",
    ],
)
def test_decode_rejects_invalid_bodies_with_a_clear_message(body, message):
    with pytest.raises(DataError) as info:
        decode_message(body)
    assert str(info.value).startswith(message)


def test_decode_rejects_repeated_names_and_bad_bools():
    two = _update({"a": np.zeros(1, np.float32), "b": np.zeros(1, np.float32)}).to_bytes()
    renamed = two.replace(b"\x01\x00b", b"\x01\x00a")
    with pytest.raises(DataError, match="Message repeats tensor `a`"):
        decode_message(renamed)
    flags = _update({"m": np.array([True, False])}).to_bytes()
    with pytest.raises(DataError, match="Message tensor `m` has boolean bytes other than 0 and 1"):
        decode_message(flags[:-2] + b"\x02\x00")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"sender": GROUND_SENDER_ID},
            "Expected `sender` to be a satellite id below 4294967295, actual: 4294967295",
        ),
        ({"sequence": -1}, "Expected `sequence` to be an integer in [0, 2**64), actual: -1"),
        (
            {"num_samples": 1.5},
            "Expected `num_samples` to be an integer in [0, 2**64), actual: 1.5",
        ),
        (
            {"created_time_s": float("nan")},
            "Expected `created_time_s` to be a finite time (unix_s), actual: nan",
        ),
        (
            {"kind": "gradients"},
            "Expected `kind` to be one of ('delta', 'weights'), actual: 'gradients'",
        ),
        (
            {"contributors": (1, 1)},
            "Expected `contributors` to be distinct satellite ids, actual: (1, 1)",
        ),
    ],
)
def test_update_fields_are_validated(kw, message):
    with pytest.raises(InputError) as info:
        _update({"w": np.zeros(1, np.float32)}, **kw)
    assert str(info.value) == message


def test_unsupported_dtype_and_inconsistent_tensors_are_refused():
    with pytest.raises(InputError, match="Expected `tensor dtype` to be one of"):
        EncodedTensor.raw(np.zeros(2, np.complex64))
    with pytest.raises(InputError, match=r"Expected `values length` to be 4 \(dense\), actual: 3"):
        EncodedTensor((4,), np.float32, Codec.RAW, np.zeros(3, np.float32))
    with pytest.raises(InputError, match="Expected `quantised tensor dtype` to be a float dtype"):
        EncodedTensor((2,), np.int32, Codec.INT8_SYMMETRIC, np.zeros(2, np.int8), scale=1.0)
