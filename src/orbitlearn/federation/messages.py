"""Federation messages and their binary encoding.

Two messages cross the space-ground link:

* :class:`ModelUpdate` (satellite -> ground, or satellite -> satellite over an ISL): what one
  satellite (or, after an in-orbit relay combined them, several) learned from the global model of
  version ``base_version``, usually as a *delta* (trained weights minus base weights).
* :class:`GlobalModel` (ground -> satellites): the aggregated model of a version.

Both carry their tensors as :class:`EncodedTensor` values: dense raw arrays, or the output of
:mod:`orbitlearn.federation.compression` (int8-quantised and/or top-k sparse values with the
metadata needed to decode them). :meth:`ModelUpdate.dense` turns the payload back into
:data:`~orbitlearn.federation.tensors.NamedArrays`.

Wire format (the *body*; :mod:`orbitlearn.federation.security` wraps it in a frame with a
SHA-256 digest and an HMAC). Little-endian throughout, no padding, no pickle::

    magic "OLFM" | format u8 = 1 | type u8 (1 update, 2 global) | kind u8 (0 delta, 1 weights)
    | reserved u8 = 0 | sender u32 | sequence u64 | base_version u64 | num_samples u64
    | created_time_s f64 | n_contributors u32 | contributors u32 x n | n_tensors u32
    then per tensor:
    name_len u16 | name (UTF-8) | dtype u8 | codec u8 (0 raw, 1 int8 symmetric, 2 int8 affine)
    | sparse u8 (0/1) | ndim u8 | shape u64 x ndim
    | [codec != 0: scale f32 | offset f32] | [sparse: nnz u64 | flat indices u32 x nnz]
    | values (nnz or prod(shape) elements; int8 when quantised, else the tensor dtype)

:attr:`ModelUpdate.size_bytes` is the exact length of that body, computed without encoding;
the link layer charges :func:`orbitlearn.federation.security.frame_size_bytes`, which adds the
fixed frame overhead. A :class:`GlobalModel` uses the same layout with ``sender`` =
:data:`GROUND_SENDER_ID` and ``sequence`` = ``base_version`` = its version.

>>> import numpy as np
>>> upd = ModelUpdate.from_arrays(
...     sender=3, sequence=1, base_version=0, num_samples=10, created_time_s=0.0,
...     arrays={"w": np.arange(4, dtype=np.float32)})
>>> body = upd.to_bytes()
>>> len(body) == upd.size_bytes
True
>>> back = ModelUpdate.from_bytes(body)
>>> back.sender, back.dense()["w"].tolist()
(3, [0.0, 1.0, 2.0, 3.0])
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from orbitlearn.errors import DataError, InputError
from orbitlearn.federation.tensors import NamedArrays

__all__ = [
    "GROUND_SENDER_ID",
    "Codec",
    "EncodedTensor",
    "GlobalModel",
    "ModelUpdate",
    "PayloadKind",
    "decode_message",
]

#: Sender id reserved for the ground segment (the aggregator); satellites are 0 .. 2**32 - 2.
GROUND_SENDER_ID = 0xFFFF_FFFF

PayloadKind = Literal["delta", "weights"]

_MAGIC = b"OLFM"
_FORMAT_VERSION = 1
_TYPE_UPDATE = 1
_TYPE_GLOBAL = 2
_KINDS: tuple[PayloadKind, ...] = ("delta", "weights")
_MAX_NDIM = 8
_MAX_ELEMENTS = 1 << 40  # a sanity bound far above any onboard model

_HEADER = struct.Struct("<4sBBBBIQQQdI")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_TENSOR_HEAD = struct.Struct("<BBBB")
_QUANT = struct.Struct("<ff")
_NAME_LEN = struct.Struct("<H")

# dtype codes on the wire (stable: never renumber).
_DTYPE_CODES: dict[str, int] = {
    "float64": 1,
    "float32": 2,
    "float16": 3,
    "int64": 4,
    "int32": 5,
    "int16": 6,
    "int8": 7,
    "uint8": 8,
    "bool": 9,
}
_CODE_DTYPES = {code: np.dtype(name) for name, code in _DTYPE_CODES.items()}


class Codec(IntEnum):
    """How the values of an :class:`EncodedTensor` are stored."""

    RAW = 0  #: the tensor's own dtype
    INT8_SYMMETRIC = 1  #: int8 ``q``, value = ``q * scale``
    INT8_AFFINE = 2  #: int8 ``q``, value = ``(q + 128) * scale + offset``


# native-byte-order dtype -> wire code (a dict lookup: dtype.name is slow in hot paths)
_CODE_OF_DTYPE = {np.dtype(name): code for name, code in _DTYPE_CODES.items()}


def _native_dtype(dtype: Any) -> np.dtype[Any]:
    """``dtype`` in native byte order, if it is one the wire format carries."""
    dt = np.dtype(dtype)
    if not dt.isnative:
        dt = dt.newbyteorder("=")
    if dt not in _CODE_OF_DTYPE:
        raise InputError(
            "tensor dtype", dt.name, f"one of {sorted(_DTYPE_CODES)}", hint="cast it first"
        )
    return dt


@dataclass(frozen=True, eq=False)
class EncodedTensor:
    """One tensor as it travels: values (possibly quantised), optional sparse indices, metadata.

    Attributes:
        shape: shape of the dense tensor.
        dtype: dtype of the dense tensor (what :meth:`decode` returns).
        codec: how ``values`` are stored.
        values: 1-D array; ``dtype`` when ``codec`` is RAW, else int8. Length ``prod(shape)``
            when dense, ``len(indices)`` when sparse.
        indices: ``None`` (dense) or strictly increasing flat indices into the dense tensor
            (uint32).
        scale: quantisation step (float32 value; 0 for RAW).
        offset: affine quantisation offset (float32 value; 0 otherwise).

    Raises:
        InputError: the fields are inconsistent.
    """

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    codec: Codec
    values: NDArray[Any]
    indices: NDArray[np.uint32] | None = None
    scale: float = 0.0
    offset: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", _native_dtype(self.dtype))
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        if len(self.shape) > _MAX_NDIM or any(s < 0 for s in self.shape):
            raise InputError("tensor shape", self.shape, f"at most {_MAX_NDIM} non-negative dims")
        if self.size > _MAX_ELEMENTS:
            raise InputError("tensor size", self.size, f"at most {_MAX_ELEMENTS} elements")
        if self.values.ndim != 1:
            raise InputError("values.ndim", self.values.ndim, "1 (flat values)")
        if self.codec == Codec.RAW:
            if self.values.dtype != self.dtype:
                raise InputError("values dtype", str(self.values.dtype), f"{self.dtype} (RAW)")
        else:
            if self.values.dtype != np.int8:
                raise InputError("values dtype", str(self.values.dtype), "int8 (quantised)")
            if not np.issubdtype(self.dtype, np.floating):
                raise InputError("quantised tensor dtype", self.dtype.name, "a float dtype")
            if not (math.isfinite(self.scale) and self.scale >= 0.0):
                raise InputError("scale", self.scale, "a finite number >= 0")
            if not math.isfinite(self.offset):
                raise InputError("offset", self.offset, "a finite number")
        if self.indices is None:
            if self.values.size != self.size:
                raise InputError("values length", self.values.size, f"{self.size} (dense)")
        else:
            idx = self.indices
            if idx.ndim != 1 or idx.dtype != np.uint32:
                raise InputError("indices", f"{idx.dtype} ndim {idx.ndim}", "1-D uint32")
            if idx.size != self.values.size:
                raise InputError("values length", self.values.size, f"{idx.size} (one per index)")
            if self.size > 0xFFFF_FFFF:
                raise InputError("sparse tensor size", self.size, "< 2**32 elements")
            if idx.size and (
                int(idx[-1]) >= self.size or np.any(np.diff(idx.astype(np.int64)) <= 0)
            ):
                raise InputError(
                    "indices", "unsorted or out of range", f"increasing in [0, {self.size})"
                )

    @property
    def size(self) -> int:
        """Number of elements of the dense tensor."""
        return math.prod(self.shape)

    @property
    def sparse(self) -> bool:
        """Whether only the entries at :attr:`indices` are sent."""
        return self.indices is not None

    @classmethod
    def raw(cls, array: NDArray[Any]) -> EncodedTensor:
        """A dense, uncompressed tensor (a copy of ``array``)."""
        arr = np.asarray(array)
        dtype = _native_dtype(arr.dtype)
        return cls(
            shape=arr.shape,
            dtype=dtype,
            codec=Codec.RAW,
            values=np.array(arr, dtype=dtype, copy=True).reshape(-1),
        )

    def dequantized_values(self) -> NDArray[np.float64]:
        """The transmitted values as float64 (before scattering into the dense tensor)."""
        vals = self.values.astype(np.float64)
        if self.codec == Codec.INT8_SYMMETRIC:
            return vals * self.scale
        if self.codec == Codec.INT8_AFFINE:
            return (vals + 128.0) * self.scale + self.offset
        return vals

    def decode(self) -> NDArray[Any]:
        """The dense tensor (zeros where a sparse tensor sent nothing), shape :attr:`shape`."""
        if self.codec == Codec.RAW:
            vals: NDArray[Any] = self.values
        else:
            vals = self.dequantized_values().astype(self.dtype)
        if self.indices is None:
            return np.array(vals, dtype=self.dtype, copy=True).reshape(self.shape)
        dense = np.zeros(self.size, dtype=self.dtype)
        dense[self.indices.astype(np.int64)] = vals
        return dense.reshape(self.shape)

    def _wire_size(self, name: str) -> int:
        n = _NAME_LEN.size + len(name.encode("utf-8")) + _TENSOR_HEAD.size + 8 * len(self.shape)
        if self.codec != Codec.RAW:
            n += _QUANT.size
        if self.indices is not None:
            n += _U64.size + 4 * self.indices.size
        return n + self.values.size * self.values.dtype.itemsize

    def _encode(self, name: str, out: list[bytes]) -> None:
        name_b = name.encode("utf-8")
        out.append(_NAME_LEN.pack(len(name_b)))
        out.append(name_b)
        out.append(
            _TENSOR_HEAD.pack(
                _CODE_OF_DTYPE[self.dtype], int(self.codec), int(self.sparse), len(self.shape)
            )
        )
        out.append(struct.pack(f"<{len(self.shape)}Q", *self.shape))
        if self.codec != Codec.RAW:
            out.append(_QUANT.pack(self.scale, self.offset))
        if self.indices is not None:
            out.append(_U64.pack(self.indices.size))
            out.append(self.indices.astype("<u4").tobytes())
        out.append(self.values.astype(self.values.dtype.newbyteorder("<")).tobytes())


def _check_tensors(tensors: Mapping[str, EncodedTensor]) -> dict[str, EncodedTensor]:
    out: dict[str, EncodedTensor] = {}
    for name, tensor in tensors.items():
        if not isinstance(name, str) or not name:
            raise InputError("tensor name", name, "a non-empty string")
        if len(name.encode("utf-8")) > 0xFFFF:
            raise InputError("tensor name length", len(name), "at most 65535 UTF-8 bytes")
        if not isinstance(tensor, EncodedTensor):
            raise InputError(f"tensor `{name}`", type(tensor).__name__, "an EncodedTensor")
        out[name] = tensor
    return out


def _check_u(field_name: str, value: int, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(field_name, value, f"an integer in [0, 2**{bits})")
    if not 0 <= int(value) < (1 << bits):
        raise InputError(field_name, value, f"an integer in [0, 2**{bits})")
    return int(value)


@dataclass(frozen=True, eq=False)
class ModelUpdate:
    """What a satellite sends after local training.

    Attributes:
        sender: satellite id (``0 .. 2**32 - 2``) that signs the update.
        sequence: the sender's message counter; strictly increasing per sender (replay check).
        base_version: version of the global model the training started from.
        num_samples: number of training samples behind the update (the aggregation weight).
        created_time_s: mission time the update was made, POSIX seconds (UTC).
        tensors: the payload, named as in the model's ``state_dict``.
        kind: ``"delta"`` (trained minus base weights; what strategies expect) or ``"weights"``.
        contributors: satellites whose training the update contains; ``(sender,)`` unless an
            in-orbit relay combined several updates.

    Raises:
        InputError: a field is out of range.
    """

    sender: int
    sequence: int
    base_version: int
    num_samples: int
    created_time_s: float
    tensors: Mapping[str, EncodedTensor]
    kind: PayloadKind = "delta"
    contributors: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        sender = _check_u("sender", self.sender, 32)
        if sender == GROUND_SENDER_ID:
            raise InputError("sender", sender, f"a satellite id below {GROUND_SENDER_ID}")
        _check_u("sequence", self.sequence, 64)
        _check_u("base_version", self.base_version, 64)
        _check_u("num_samples", self.num_samples, 64)
        if not math.isfinite(self.created_time_s):
            raise InputError("created_time_s", self.created_time_s, "a finite time (unix_s)")
        if self.kind not in _KINDS:
            raise InputError("kind", self.kind, f"one of {_KINDS}")
        contributors = tuple(int(c) for c in self.contributors) or (sender,)
        for c in contributors:
            _check_u("contributor", c, 32)
        if len(set(contributors)) != len(contributors):
            raise InputError("contributors", contributors, "distinct satellite ids")
        object.__setattr__(self, "contributors", contributors)
        object.__setattr__(self, "tensors", _check_tensors(self.tensors))

    @classmethod
    def from_arrays(
        cls,
        *,
        sender: int,
        sequence: int,
        base_version: int,
        num_samples: int,
        created_time_s: float,
        arrays: Mapping[str, NDArray[Any]],
        kind: PayloadKind = "delta",
        contributors: tuple[int, ...] = (),
    ) -> ModelUpdate:
        """An uncompressed update from named arrays."""
        return cls(
            sender=sender,
            sequence=sequence,
            base_version=base_version,
            num_samples=num_samples,
            created_time_s=created_time_s,
            tensors={name: EncodedTensor.raw(a) for name, a in arrays.items()},
            kind=kind,
            contributors=contributors,
        )

    def dense(self) -> NamedArrays:
        """The payload decoded to dense arrays (in the tensors' own dtypes)."""
        return {name: t.decode() for name, t in self.tensors.items()}

    @property
    def size_bytes(self) -> int:
        """Exact length of :meth:`to_bytes`, in bytes."""
        return _body_size(self.tensors, len(self.contributors))

    @property
    def dense_size_bytes(self) -> int:
        """Body length the same update would have uncompressed (for compression ratios)."""
        n = _HEADER.size + 4 * len(self.contributors) + _U32.size
        for name, t in self.tensors.items():
            n += _NAME_LEN.size + len(name.encode("utf-8")) + _TENSOR_HEAD.size
            n += 8 * len(t.shape) + t.size * t.dtype.itemsize
        return n

    def to_bytes(self) -> bytes:
        """The deterministic binary body (see the module docstring)."""
        return _encode(
            _TYPE_UPDATE,
            _KINDS.index(self.kind),
            self.sender,
            self.sequence,
            self.base_version,
            self.num_samples,
            self.created_time_s,
            self.contributors,
            self.tensors,
        )

    @classmethod
    def from_bytes(cls, body: bytes) -> ModelUpdate:
        """Decode and validate a body made by :meth:`to_bytes`.

        Raises:
            DataError: the bytes are not a valid update body (truncated, wrong magic, bad codes,
                inconsistent lengths, trailing bytes).
        """
        message = decode_message(body)
        if not isinstance(message, ModelUpdate):
            raise DataError("Expected a model-update message, actual: a global-model message")
        return message


@dataclass(frozen=True, eq=False)
class GlobalModel:
    """The aggregated model the ground sends to satellites.

    Attributes:
        version: global-model version (0 = the initial model; +1 per aggregation).
        created_time_s: mission time of the aggregation, POSIX seconds (UTC).
        tensors: full weights, named as in the model's ``state_dict``.
        num_samples: training samples aggregated into this version so far (informative).
    """

    version: int
    created_time_s: float
    tensors: Mapping[str, EncodedTensor]
    num_samples: int = 0

    def __post_init__(self) -> None:
        _check_u("version", self.version, 64)
        _check_u("num_samples", self.num_samples, 64)
        if not math.isfinite(self.created_time_s):
            raise InputError("created_time_s", self.created_time_s, "a finite time (unix_s)")
        object.__setattr__(self, "tensors", _check_tensors(self.tensors))

    @property
    def sender(self) -> int:
        """Always :data:`GROUND_SENDER_ID`."""
        return GROUND_SENDER_ID

    @property
    def sequence(self) -> int:
        """The replay counter of a global model is its version."""
        return self.version

    @classmethod
    def from_arrays(
        cls,
        version: int,
        created_time_s: float,
        arrays: Mapping[str, NDArray[Any]],
        num_samples: int = 0,
    ) -> GlobalModel:
        """An uncompressed global model from named arrays."""
        return cls(
            version=version,
            created_time_s=created_time_s,
            tensors={name: EncodedTensor.raw(a) for name, a in arrays.items()},
            num_samples=num_samples,
        )

    def dense(self) -> NamedArrays:
        """The weights as dense arrays."""
        return {name: t.decode() for name, t in self.tensors.items()}

    @property
    def size_bytes(self) -> int:
        """Exact length of :meth:`to_bytes`, in bytes."""
        return _body_size(self.tensors, 0)

    def to_bytes(self) -> bytes:
        """The deterministic binary body (see the module docstring)."""
        return _encode(
            _TYPE_GLOBAL,
            _KINDS.index("weights"),
            GROUND_SENDER_ID,
            self.version,
            self.version,
            self.num_samples,
            self.created_time_s,
            (),
            self.tensors,
        )

    @classmethod
    def from_bytes(cls, body: bytes) -> GlobalModel:
        """Decode and validate a body made by :meth:`to_bytes`.

        Raises:
            DataError: the bytes are not a valid global-model body.
        """
        message = decode_message(body)
        if not isinstance(message, GlobalModel):
            raise DataError("Expected a global-model message, actual: a model-update message")
        return message


def _body_size(tensors: Mapping[str, EncodedTensor], n_contributors: int) -> int:
    n = _HEADER.size + 4 * n_contributors + _U32.size
    return n + sum(t._wire_size(name) for name, t in tensors.items())


def _encode(
    msg_type: int,
    kind: int,
    sender: int,
    sequence: int,
    base_version: int,
    num_samples: int,
    created_time_s: float,
    contributors: tuple[int, ...],
    tensors: Mapping[str, EncodedTensor],
) -> bytes:
    out = [
        _HEADER.pack(
            _MAGIC,
            _FORMAT_VERSION,
            msg_type,
            kind,
            0,
            sender,
            sequence,
            base_version,
            num_samples,
            created_time_s,
            len(contributors),
        ),
        struct.pack(f"<{len(contributors)}I", *contributors),
        _U32.pack(len(tensors)),
    ]
    for name, tensor in tensors.items():
        tensor._encode(name, out)
    return b"".join(out)


class _Reader:
    """A bounds-checked cursor over a message body."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise DataError(
                f"Message truncated: {what} needs {n} bytes at offset {self.pos}, "
                f"only {len(self.data) - self.pos} remain"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, st: struct.Struct, what: str) -> tuple[Any, ...]:
        return st.unpack(self.take(st.size, what))

    def array(self, dtype: np.dtype[Any], count: int, what: str) -> NDArray[Any]:
        if count > _MAX_ELEMENTS:
            raise DataError(f"Message {what} declares {count} elements, more than {_MAX_ELEMENTS}")
        raw = self.take(count * dtype.itemsize, what)
        return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype)


def _decode_tensor(reader: _Reader, index: int) -> tuple[str, EncodedTensor]:
    where = f"tensor {index}"
    (name_len,) = reader.unpack(_NAME_LEN, f"{where} name length")
    try:
        name = bytes(reader.take(name_len, f"{where} name")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"Message {where} name is not valid UTF-8") from exc
    where = f"tensor `{name}`"
    dtype_code, codec_code, sparse, ndim = reader.unpack(_TENSOR_HEAD, f"{where} header")
    if dtype_code not in _CODE_DTYPES:
        raise DataError(f"Message {where} has unknown dtype code {dtype_code}")
    if codec_code not in {c.value for c in Codec}:
        raise DataError(f"Message {where} has unknown codec {codec_code}, expected 0, 1 or 2")
    if sparse not in (0, 1):
        raise DataError(f"Message {where} has sparse flag {sparse}, expected 0 or 1")
    if ndim > _MAX_NDIM:
        raise DataError(f"Message {where} has {ndim} dimensions, at most {_MAX_NDIM} allowed")
    shape = struct.unpack(f"<{ndim}Q", reader.take(8 * ndim, f"{where} shape"))
    dtype = _CODE_DTYPES[dtype_code]
    codec = Codec(codec_code)
    scale = offset = 0.0
    if codec != Codec.RAW:
        scale, offset = reader.unpack(_QUANT, f"{where} quantisation")
    indices = None
    size = math.prod(shape)
    if size > _MAX_ELEMENTS:
        raise DataError(f"Message {where} declares {size} elements, more than {_MAX_ELEMENTS}")
    count = size
    if sparse:
        (count,) = reader.unpack(_U64, f"{where} nnz")
        if count > size:
            raise DataError(f"Message {where} sends {count} entries for {size} elements")
        indices = reader.array(np.dtype(np.uint32), count, f"{where} indices")
    value_dtype = dtype if codec == Codec.RAW else np.dtype(np.int8)
    values = reader.array(value_dtype, count, f"{where} values")
    if value_dtype == np.bool_ and np.any(values.view(np.uint8) > 1):
        raise DataError(f"Message {where} has boolean bytes other than 0 and 1")
    try:
        tensor = EncodedTensor(shape, dtype, codec, values, indices, float(scale), float(offset))
    except InputError as exc:
        raise DataError(f"Message {where} is inconsistent: {exc}") from exc
    return name, tensor


def decode_message(body: bytes) -> ModelUpdate | GlobalModel:
    """Decode and validate a message body (either kind).

    Raises:
        DataError: the bytes are not a valid message body; the message says what is wrong and
            where.
    """
    reader = _Reader(body)
    header = reader.unpack(_HEADER, "header")
    magic, fmt, msg_type, kind, reserved, sender, sequence, base, samples, created, n_contrib = (
        header
    )
    if magic != _MAGIC:
        raise DataError(f"Message magic is {magic!r}, expected {_MAGIC!r}")
    if fmt != _FORMAT_VERSION:
        raise DataError(f"Message format version is {fmt}, expected {_FORMAT_VERSION}")
    if msg_type not in (_TYPE_UPDATE, _TYPE_GLOBAL):
        raise DataError(f"Message type is {msg_type}, expected 1 (update) or 2 (global model)")
    if kind >= len(_KINDS) or reserved != 0:
        raise DataError(f"Message kind/reserved bytes are {kind}/{reserved}, expected 0-1/0")
    contributors = struct.unpack(f"<{n_contrib}I", reader.take(4 * n_contrib, "contributors"))
    (n_tensors,) = reader.unpack(_U32, "tensor count")
    tensors: dict[str, EncodedTensor] = {}
    for i in range(n_tensors):
        name, tensor = _decode_tensor(reader, i)
        if name in tensors:
            raise DataError(f"Message repeats tensor `{name}`")
        tensors[name] = tensor
    if reader.pos != len(body):
        raise DataError(f"Message has {len(body) - reader.pos} unexpected trailing bytes")
    try:
        if msg_type == _TYPE_GLOBAL:
            if sender != GROUND_SENDER_ID or sequence != base or n_contrib != 0:
                raise DataError("Global-model message has an inconsistent header")
            return GlobalModel(
                version=base, created_time_s=created, tensors=tensors, num_samples=samples
            )
        return ModelUpdate(
            sender=sender,
            sequence=sequence,
            base_version=base,
            num_samples=samples,
            created_time_s=created,
            tensors=tensors,
            kind=_KINDS[kind],
            contributors=contributors,
        )
    except InputError as exc:
        raise DataError(f"Message header is invalid: {exc}") from exc
