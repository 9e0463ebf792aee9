"""Security: key derivation, frames, and rejection of tampered, unsigned and replayed updates."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable

import numpy as np
import pytest

from orbitlearn.errors import CheckpointError, InputError
from orbitlearn.federation import (
    FRAME_OVERHEAD_BYTES,
    GROUND_SENDER_ID,
    FrameVerifier,
    GlobalModel,
    KeyRing,
    ModelUpdate,
    RejectReason,
    frame_size_bytes,
    seal,
)
from orbitlearn.federation.security import hkdf_sha256

SECRET = b"orbitlearn test mission secret"
RING = KeyRing(SECRET, satellite_ids=range(8))


def _update(sender: int = 2, sequence: int = 5, num_samples: int = 10) -> ModelUpdate:
    return ModelUpdate.from_arrays(
        sender=sender,
        sequence=sequence,
        base_version=1,
        num_samples=num_samples,
        created_time_s=100.0,
        arrays={"w": np.linspace(-1, 1, 8, dtype=np.float32)},
    )


def _reseal_digest(frame: bytes, edit: Callable[[bytes], bytes]) -> bytes:
    """Edit the signed part, then recompute the SHA-256 digest (an attacker without the key)."""
    body_len = struct.unpack_from("<Q", frame, 8)[0]
    signed_part = frame[: 16 + body_len]
    tag = frame[16 + body_len + 32 :]
    edited = edit(signed_part)
    edited = edited[:8] + struct.pack("<Q", len(edited) - 16) + edited[16:]
    return edited + hashlib.sha256(edited).digest() + tag


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :]


def test_hkdf_matches_rfc5869_test_vectors():
    # RFC 5869, appendix A, test cases 1 and 3 (SHA-256)
    okm1 = hkdf_sha256(b"\x0b" * 22, bytes(range(13)), bytes(range(0xF0, 0xFA)), 42)
    assert okm1.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )
    okm3 = hkdf_sha256(b"\x0b" * 22, b"", b"", 42)
    assert okm3.hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )


def test_keyring_derivation_is_deterministic_and_documented():
    again = KeyRing(SECRET)
    assert RING.key_for(3) == again.key_for(3)
    assert len(RING.key_for(3)) == 32
    assert RING.key_for(3) != RING.key_for(4) != RING.ground_key()
    assert KeyRing(SECRET + b"!").key_for(3) != RING.key_for(3)
    # the derivation stated in the module docstring
    expected = hkdf_sha256(
        SECRET, b"orbitlearn/keyring/v1", b"orbitlearn/satellite/" + (3).to_bytes(4, "big")
    )
    assert RING.key_for(3) == expected
    assert RING.ground_key() == hkdf_sha256(SECRET, b"orbitlearn/keyring/v1", b"orbitlearn/ground")
    assert "secret" not in repr(RING) and RING.key_for(3).hex() not in repr(RING)


def test_keyring_validation_and_restriction():
    with pytest.raises(
        InputError, match="Expected `mission_secret length` to be at least 16 bytes, actual: 5"
    ):
        KeyRing(b"short")
    with pytest.raises(InputError, match="Expected `mission_secret` to be bytes, actual: 'str'"):
        KeyRing("a string secret, not bytes")  # type: ignore[arg-type]
    with pytest.raises(
        InputError, match="Expected `sender` to be a sender this key ring knows, actual: 9"
    ):
        RING.key_for(9)
    onboard = RING.restricted_to([2, GROUND_SENDER_ID])
    assert onboard.key_for(2) == RING.key_for(2) and onboard.ground_key() == RING.ground_key()
    assert not onboard.knows(3)


def test_frame_size_is_exact():
    upd = _update()
    assert (
        len(seal(upd, RING.key_for(2)))
        == frame_size_bytes(upd)
        == upd.size_bytes + FRAME_OVERHEAD_BYTES
    )
    assert len(seal(upd, None)) == frame_size_bytes(upd, signed=False) == upd.size_bytes + 48


GOOD = seal(_update(), RING.key_for(2))
_BODY_AT = 16  # frame prefix
_PAYLOAD_AT = len(GOOD) - 64 - 4  # inside the last float32 value
_SAMPLES_AT = _BODY_AT + 8 + 4 + 8 + 8  # num_samples field of the body header


CASES = [
    ("valid", lambda: GOOD, None),
    ("payload-bit-flip", lambda: _flip(GOOD, _PAYLOAD_AT), RejectReason.CORRUPT),
    ("digest-bit-flip", lambda: _flip(GOOD, len(GOOD) - 40), RejectReason.CORRUPT),
    ("signed-flag-flip", lambda: _flip(GOOD, 5), RejectReason.MALFORMED),  # length no longer fits
    (
        "payload-changed-digest-recomputed",
        lambda: _reseal_digest(GOOD, lambda p: _flip(p, len(p) - 2)),
        RejectReason.BAD_SIGNATURE,
    ),
    (
        "num-samples-inflated",
        lambda: _reseal_digest(
            GOOD, lambda p: p[:_SAMPLES_AT] + struct.pack("<Q", 10**6) + p[_SAMPLES_AT + 8 :]
        ),
        RejectReason.BAD_SIGNATURE,
    ),
    (
        "sender-changed",
        lambda: _reseal_digest(GOOD, lambda p: p[:24] + struct.pack("<I", 3) + p[28:]),
        RejectReason.BAD_SIGNATURE,
    ),
    ("tag-bit-flip", lambda: _flip(GOOD, len(GOOD) - 1), RejectReason.BAD_SIGNATURE),
    (
        "signed-with-another-satellites-key",
        lambda: seal(_update(), RING.key_for(3)),
        RejectReason.BAD_SIGNATURE,
    ),
    (
        "signed-with-another-mission-secret",
        lambda: seal(_update(), KeyRing(b"some other mission secret").key_for(2)),
        RejectReason.BAD_SIGNATURE,
    ),
    ("unsigned", lambda: seal(_update(), None), RejectReason.UNSIGNED),
    (
        "signature-stripped",
        lambda: (lambda p: p + hashlib.sha256(p).digest())(GOOD[:5] + b"\x00" + GOOD[6:-64]),
        RejectReason.UNSIGNED,
    ),
    (
        "unknown-sender",
        lambda: seal(_update(sender=12), KeyRing(SECRET).key_for(12)),
        RejectReason.UNKNOWN_SENDER,
    ),
    ("truncated", lambda: GOOD[:-10], RejectReason.MALFORMED),
    ("tiny", lambda: GOOD[:20], RejectReason.MALFORMED),
    ("not-a-frame", lambda: b"HELLO" * 20, RejectReason.MALFORMED),
    (
        "garbage-body-valid-digest",
        lambda: (lambda p: p + hashlib.sha256(p).digest() + b"\x00" * 32)(
            struct.pack("<4sBBHQ", b"OLFS", 1, 1, 0, 40) + b"\x00" * 40
        ),
        RejectReason.MALFORMED,
    ),
    (
        "global-model-instead-of-update",
        lambda: seal(
            GlobalModel.from_arrays(3, 0.0, {"w": np.zeros(2, np.float32)}), RING.ground_key()
        ),
        RejectReason.WRONG_TYPE,
    ),
]


@pytest.mark.parametrize(
    ("make", "reason"), [(m, r) for _, m, r in CASES], ids=[c[0] for c in CASES]
)
def test_verifier_table(make, reason):
    verifier = FrameVerifier(RING)
    verdict = verifier.verify(make())
    assert verdict.accepted is (reason is None)
    assert verdict.reason is reason
    if reason is None:
        assert isinstance(verdict.message, ModelUpdate) and verdict.sender == 2
        assert verifier.accepted_count == 1
    else:
        assert verdict.message is None and verdict.detail
        assert verifier.rejections[reason.value] == 1
        assert verifier.rejected_count == 1


def test_replays_are_rejected_and_all_rejections_counted():
    verifier = FrameVerifier(RING)
    key = RING.key_for(2)
    assert verifier.verify(seal(_update(sequence=5), key)).accepted
    same = verifier.verify(seal(_update(sequence=5), key))
    assert (same.reason, same.detail) == (
        RejectReason.REPLAY,
        "sequence 5 from sender 2 is not after 5",
    )
    older = verifier.verify(seal(_update(sequence=4), key))
    assert older.reason is RejectReason.REPLAY
    assert verifier.verify(seal(_update(sequence=9), key)).accepted
    # other senders have their own window
    assert verifier.verify(seal(_update(sender=3, sequence=1), RING.key_for(3))).accepted
    # a rejected (forged) frame must not move the window
    forged = seal(_update(sender=3, sequence=50), RING.key_for(4))
    assert verifier.verify(forged).reason is RejectReason.BAD_SIGNATURE
    assert verifier.verify(seal(_update(sender=3, sequence=2), RING.key_for(3))).accepted
    for _, make, _reason in CASES[1:]:
        verifier.verify(make())
    expected = {r.value: sum(1 for c in CASES[1:] if c[2] is r) for r in RejectReason}
    expected["replay"] += 2
    expected["bad_signature"] += 1
    assert verifier.rejections == expected
    assert verifier.accepted_count == 4


def test_verifier_state_round_trip_keeps_the_replay_window():
    verifier = FrameVerifier(RING)
    verifier.verify(seal(_update(sequence=7), RING.key_for(2)))
    verifier.verify(seal(_update(sequence=7), RING.key_for(2)))
    restored = FrameVerifier(RING)
    restored.load_state_dict(verifier.state_dict())
    assert restored.verify(seal(_update(sequence=7), RING.key_for(2))).reason is RejectReason.REPLAY
    assert restored.rejections["replay"] == 2 and restored.accepted_count == 1
    assert restored.last_sequence(2) == 7
    with pytest.raises(CheckpointError, match="Verifier state is for 'update' messages"):
        FrameVerifier(RING, accept="global").load_state_dict(verifier.state_dict())


def test_satellite_verifies_global_models_with_the_ground_key():
    sat_view = RING.restricted_to([2, GROUND_SENDER_ID])
    verifier = FrameVerifier(sat_view, accept="global")
    gm = GlobalModel.from_arrays(4, 0.0, {"w": np.zeros(2, np.float32)})
    assert verifier.verify(seal(gm, RING.ground_key())).accepted
    assert verifier.verify(seal(gm, RING.ground_key())).reason is RejectReason.REPLAY
    newer = GlobalModel.from_arrays(5, 0.0, {"w": np.zeros(2, np.float32)})
    assert verifier.verify(seal(newer, RING.key_for(2))).reason is RejectReason.BAD_SIGNATURE
    assert verifier.verify(seal(_update(), RING.key_for(2))).reason is RejectReason.WRONG_TYPE
