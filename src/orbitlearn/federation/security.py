"""Integrity, signatures and replay protection for federation messages.

Every message body (:mod:`orbitlearn.federation.messages`) travels inside a *frame*::

    magic "OLFS" | frame format u8 = 1 | signed u8 (0/1) | reserved u16 = 0 | body_len u64
    | body | SHA-256(prefix + body) (32 bytes) | [HMAC-SHA256(key, prefix + body) (32 bytes)]

where ``prefix`` is the 16 bytes before the body. The SHA-256 digest is a keyless integrity
check: a relay satellite or the ground can detect a frame corrupted in transit or in memory
(radiation) without holding any key. The HMAC (RFC 2104 with SHA-256) authenticates the sender:
it is computed with the sender's own key, so a frame altered by someone who recomputed the digest
still fails. The link layer charges :func:`frame_size_bytes` bytes.

Keys: a :class:`KeyRing` derives one 32-byte key per satellite (and one for the ground segment,
which signs :class:`~orbitlearn.federation.messages.GlobalModel` broadcasts) from a mission
secret with HKDF-SHA256 (RFC 5869): ``PRK = HMAC-SHA256(salt="orbitlearn/keyring/v1",
mission_secret)``, ``key = HMAC-SHA256(PRK, info || 0x01)`` with ``info =
"orbitlearn/satellite/" + sender id as 4 big-endian bytes`` (``"orbitlearn/ground"`` for the
ground). The same secret and id always give the same key; keys are passed to whoever needs them,
never held globally. A satellite in flight holds only its own key and the ground key
(:meth:`KeyRing.restricted_to`).

A :class:`FrameVerifier` checks, in this order: frame layout (``malformed``), digest
(``corrupt``), body decodes (``malformed``), message type (``wrong_type``), signature present
(``unsigned``), sender known (``unknown_sender``), HMAC (``bad_signature``), and replay
(``replay``: the sender's sequence number must be strictly greater than the last one accepted
from it; for a global model the sequence is its version). Only frames that pass every check move
the replay window. Rejections are counted by reason.

>>> import numpy as np
>>> from orbitlearn.federation.messages import ModelUpdate
>>> ring = KeyRing(b"mission secret of at least 16 bytes", satellite_ids=range(4))
>>> upd = ModelUpdate.from_arrays(sender=2, sequence=1, base_version=0, num_samples=5,
...                               created_time_s=0.0, arrays={"w": np.zeros(3, np.float32)})
>>> frame = seal(upd, ring.key_for(2))
>>> len(frame) == frame_size_bytes(upd)
True
>>> verifier = FrameVerifier(ring)
>>> verifier.verify(frame).accepted
True
>>> verdict = verifier.verify(frame)
>>> verdict.accepted, verdict.reason.value
(False, 'replay')
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from orbitlearn.errors import CheckpointError, DataError, InputError
from orbitlearn.federation.messages import (
    GROUND_SENDER_ID,
    GlobalModel,
    ModelUpdate,
    decode_message,
)

__all__ = [
    "FRAME_OVERHEAD_BYTES",
    "FrameVerifier",
    "KeyRing",
    "RejectReason",
    "Verdict",
    "frame_size_bytes",
    "hkdf_sha256",
    "seal",
    "sha256_digest",
]

_FRAME_MAGIC = b"OLFS"
_FRAME_VERSION = 1
_PREFIX = struct.Struct("<4sBBHQ")
_DIGEST_BYTES = 32
_TAG_BYTES = 32
#: Bytes a signed frame adds to a message body (prefix + digest + HMAC).
FRAME_OVERHEAD_BYTES = _PREFIX.size + _DIGEST_BYTES + _TAG_BYTES
_KEYRING_SALT = b"orbitlearn/keyring/v1"
_MIN_SECRET_BYTES = 16


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF with SHA-256 (RFC 5869, extract then expand).

    >>> hkdf_sha256(b"\\x0b" * 22, bytes(range(13)), bytes(range(0xF0, 0xFA)), 42).hex()[:16]
    '3cb25f25faacd57a'
    """
    if not 0 < length <= 255 * 32:
        raise InputError("length", length, "an integer in [1, 8160]")
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    okm, block = b"", b""
    counter = 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


def sha256_digest(data: bytes) -> bytes:
    """SHA-256 of ``data`` (32 bytes)."""
    return hashlib.sha256(data).digest()


class KeyRing:
    """Per-sender HMAC keys derived from a mission secret (see the module docstring).

    Args:
        mission_secret: at least 16 bytes of secret shared by the mission's key holders.
        satellite_ids: the satellites the ring knows; ``None`` knows every id. Frames from
            other senders are rejected as ``unknown_sender``. The ground is always known.

    Raises:
        InputError: the secret is not bytes or is shorter than 16 bytes.
    """

    def __init__(self, mission_secret: bytes, satellite_ids: Iterable[int] | None = None) -> None:
        if not isinstance(mission_secret, (bytes, bytearray)):
            raise InputError("mission_secret", type(mission_secret).__name__, "bytes")
        if len(mission_secret) < _MIN_SECRET_BYTES:
            raise InputError(
                "mission_secret length", len(mission_secret), f"at least {_MIN_SECRET_BYTES} bytes"
            )
        self._prk = hmac.new(_KEYRING_SALT, bytes(mission_secret), hashlib.sha256).digest()
        self._known: frozenset[int] | None = (
            None if satellite_ids is None else frozenset(int(s) for s in satellite_ids)
        )
        self._explicit: dict[int, bytes] | None = None

    @classmethod
    def from_keys(cls, keys: Mapping[int, bytes]) -> KeyRing:
        """A ring holding exactly ``keys`` (sender id -> 32-byte key); nothing else is known."""
        ring = cls.__new__(cls)
        ring._prk = b""
        ring._known = frozenset(int(s) for s in keys)
        ring._explicit = {int(s): bytes(k) for s, k in keys.items()}
        return ring

    def knows(self, sender: int) -> bool:
        """Whether a key for ``sender`` is available."""
        if self._explicit is not None:
            return sender in self._explicit
        return sender == GROUND_SENDER_ID or self._known is None or sender in self._known

    def key_for(self, sender: int) -> bytes:
        """The 32-byte HMAC key of ``sender`` (a satellite id or ``GROUND_SENDER_ID``).

        Raises:
            InputError: the ring does not know ``sender``.
        """
        if not self.knows(sender):
            raise InputError("sender", sender, "a sender this key ring knows")
        if self._explicit is not None:
            return self._explicit[sender]
        if sender == GROUND_SENDER_ID:
            info = b"orbitlearn/ground"
        else:
            info = b"orbitlearn/satellite/" + int(sender).to_bytes(4, "big")
        return hmac.new(self._prk, info + b"\x01", hashlib.sha256).digest()

    def ground_key(self) -> bytes:
        """The key the ground segment signs global models with."""
        return self.key_for(GROUND_SENDER_ID)

    def restricted_to(self, senders: Iterable[int]) -> KeyRing:
        """A ring holding only the keys of ``senders`` (e.g. one satellite and the ground)."""
        return KeyRing.from_keys({int(s): self.key_for(int(s)) for s in senders})

    def __repr__(self) -> str:  # never show key material
        known = "all" if self._known is None else f"{len(self._known)} senders"
        return f"KeyRing({known})"


def frame_size_bytes(message: ModelUpdate | GlobalModel, signed: bool = True) -> int:
    """Exact length of :func:`seal` output for ``message``: what the link layer transfers."""
    return _PREFIX.size + message.size_bytes + _DIGEST_BYTES + (_TAG_BYTES if signed else 0)


def seal(message: ModelUpdate | GlobalModel | bytes, key: bytes | None) -> bytes:
    """Wrap a message (or an encoded body) in a frame with a digest and, if ``key``, an HMAC.

    Args:
        message: the message, or its body bytes.
        key: the sender's 32-byte key; ``None`` makes an unsigned frame (which verifiers
            reject; useful for tests and for showing the rejection).
    """
    body = message if isinstance(message, bytes) else message.to_bytes()
    prefix = _PREFIX.pack(_FRAME_MAGIC, _FRAME_VERSION, int(key is not None), 0, len(body))
    signed_part = prefix + body
    frame = signed_part + sha256_digest(signed_part)
    if key is not None:
        frame += hmac.new(key, signed_part, hashlib.sha256).digest()
    return frame


class RejectReason(str, Enum):  # noqa: UP042 - StrEnum needs Python 3.11
    """Why a frame was rejected."""

    MALFORMED = "malformed"
    CORRUPT = "corrupt"
    WRONG_TYPE = "wrong_type"
    UNSIGNED = "unsigned"
    UNKNOWN_SENDER = "unknown_sender"
    BAD_SIGNATURE = "bad_signature"
    REPLAY = "replay"


@dataclass(frozen=True)
class Verdict:
    """The outcome of :meth:`FrameVerifier.verify`.

    Attributes:
        accepted: whether the frame passed every check.
        message: the decoded message when accepted (else ``None``).
        reason: why it was rejected (``None`` when accepted).
        detail: a sentence for logs (what exactly failed).
        sender: the claimed sender where the body could be decoded.
    """

    accepted: bool
    message: ModelUpdate | GlobalModel | None = None
    reason: RejectReason | None = None
    detail: str = ""
    sender: int | None = None


class FrameVerifier:
    """Verifies frames and keeps the replay window and rejection counters.

    Args:
        keyring: keys of the senders to accept.
        accept: which message type is expected: ``"update"`` (the ground, or a relay
            satellite) or ``"global"`` (a satellite receiving global models).
    """

    def __init__(self, keyring: KeyRing, accept: Literal["update", "global"] = "update") -> None:
        if accept not in ("update", "global"):
            raise InputError("accept", accept, "'update' or 'global'")
        self.keyring = keyring
        self.accept = accept
        self._last_sequence: dict[int, int] = {}
        self.accepted_count = 0
        self.rejections: dict[str, int] = {r.value: 0 for r in RejectReason}

    def _reject(self, reason: RejectReason, detail: str, sender: int | None = None) -> Verdict:
        self.rejections[reason.value] += 1
        return Verdict(False, None, reason, detail, sender)

    @property
    def rejected_count(self) -> int:
        """Total frames rejected, all reasons."""
        return sum(self.rejections.values())

    def last_sequence(self, sender: int) -> int | None:
        """The last sequence accepted from ``sender`` (``None`` if none yet)."""
        return self._last_sequence.get(sender)

    def verify(self, frame: bytes) -> Verdict:
        """Check a frame; on success record its sequence number and return the message."""
        head = _PREFIX.size
        if len(frame) < head + _DIGEST_BYTES:
            return self._reject(
                RejectReason.MALFORMED, f"frame of {len(frame)} bytes is shorter than a header"
            )
        magic, version, signed, reserved, body_len = _PREFIX.unpack_from(frame)
        if magic != _FRAME_MAGIC or version != _FRAME_VERSION or reserved != 0 or signed > 1:
            return self._reject(RejectReason.MALFORMED, "frame header is not an orbitlearn frame")
        expected_len = head + body_len + _DIGEST_BYTES + (_TAG_BYTES if signed else 0)
        if len(frame) != expected_len:
            return self._reject(
                RejectReason.MALFORMED,
                f"frame is {len(frame)} bytes, its header announces {expected_len}",
            )
        signed_part = frame[: head + body_len]
        digest = frame[head + body_len : head + body_len + _DIGEST_BYTES]
        if not hmac.compare_digest(sha256_digest(signed_part), digest):
            return self._reject(RejectReason.CORRUPT, "SHA-256 digest does not match the frame")
        try:
            message = decode_message(signed_part[head:])
        except DataError as exc:
            return self._reject(RejectReason.MALFORMED, str(exc))
        sender = message.sender
        is_update = isinstance(message, ModelUpdate)
        if is_update != (self.accept == "update"):
            return self._reject(
                RejectReason.WRONG_TYPE, f"expected a {self.accept} message", sender
            )
        if not signed:
            return self._reject(RejectReason.UNSIGNED, "frame carries no signature", sender)
        if not self.keyring.knows(sender):
            return self._reject(RejectReason.UNKNOWN_SENDER, f"no key for sender {sender}", sender)
        tag = frame[head + body_len + _DIGEST_BYTES :]
        expected = hmac.new(self.keyring.key_for(sender), signed_part, hashlib.sha256).digest()
        if not hmac.compare_digest(tag, expected):
            return self._reject(
                RejectReason.BAD_SIGNATURE, f"HMAC does not match sender {sender}'s key", sender
            )
        last = self._last_sequence.get(sender)
        if last is not None and message.sequence <= last:
            return self._reject(
                RejectReason.REPLAY,
                f"sequence {message.sequence} from sender {sender} is not after {last}",
                sender,
            )
        self._last_sequence[sender] = message.sequence
        self.accepted_count += 1
        return Verdict(True, message, None, "", sender)

    def state_dict(self) -> dict[str, Any]:
        """Replay window and counters (JSON-compatible)."""
        return {
            "accept": self.accept,
            "last_sequence": [[s, q] for s, q in sorted(self._last_sequence.items())],
            "accepted": self.accepted_count,
            "rejections": dict(self.rejections),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved.

        Raises:
            CheckpointError: the state belongs to a verifier of the other message type.
        """
        if state.get("accept") != self.accept:
            raise CheckpointError(
                f"Verifier state is for {state.get('accept')!r} messages, this verifier "
                f"accepts {self.accept!r}"
            )
        self._last_sequence = {int(s): int(q) for s, q in state["last_sequence"]}
        self.accepted_count = int(state["accepted"])
        self.rejections = {r.value: int(state["rejections"].get(r.value, 0)) for r in RejectReason}
