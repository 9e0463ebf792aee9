"""Satellite and ground endpoints: the whole message path, relay combining, resume."""

from __future__ import annotations

import numpy as np
import pytest

from orbitlearn.errors import CheckpointError, InputError
from orbitlearn.federation import (
    GROUND_SENDER_ID,
    ContactPlan,
    FedAvg,
    FedBuff,
    FederationClient,
    FederationServer,
    KeyRing,
    ModelUpdate,
    RejectReason,
    UpdateCompressor,
    combine_updates,
    seal,
)

RING = KeyRing(b"endpoint-test-mission-secret", satellite_ids=range(4))
START = {"w": np.zeros(5, np.float32)}
PLAN = ContactPlan(4, np.arange(4), np.zeros(4), np.full(4, 1e6))


def _client(i: int, **kw) -> FederationClient:
    c = FederationClient(i, RING.restricted_to([i, GROUND_SENDER_ID]), **kw)
    c.load_initial(START)
    return c


def test_round_trip_through_security_strategy_and_back():
    server = FederationServer(FedBuff(PLAN, buffer_size=2), RING)
    server.start(START, 0.0)
    clients = [
        _client(i, compressor=UpdateCompressor(quantization="int8-symmetric")) for i in range(2)
    ]
    frames = [
        c.make_update({"w": np.full(5, float(i + 1), np.float32)}, 10, 5.0)
        for i, c in enumerate(clients)
    ]
    assert [server.receive(f, 6.0).accepted for f in frames] == [True, True]
    (result,) = server.poll(6.0)
    np.testing.assert_allclose(result.params["w"], 1.5, atol=2 / 127)
    assert server.bytes_received == sum(len(f) for f in frames)
    frame = server.global_frame()
    assert len(frame) == server.global_frame_size_bytes()
    verdict = clients[0].receive_global(frame)
    assert verdict.accepted and clients[0].version == 1
    np.testing.assert_array_equal(clients[0].params["w"], result.params["w"])
    # the same global again is a replay for this satellite and is not adopted twice
    assert clients[0].receive_global(frame).reason is RejectReason.REPLAY
    assert clients[0].global_rejections["replay"] == 1


def test_security_rejections_never_reach_the_strategy():
    server = FederationServer(FedBuff(PLAN, buffer_size=10), RING)
    server.start(START, 0.0)
    client = _client(1)
    frame = client.make_update({"w": np.ones(5, np.float32)}, 3, 1.0)
    tampered = frame[:-70] + bytes([frame[-70] ^ 0xFF]) + frame[-69:]
    outsider = seal(
        ModelUpdate.from_arrays(
            sender=1,
            sequence=9,
            base_version=0,
            num_samples=3,
            created_time_s=0.0,
            arrays={"w": np.ones(5, np.float32)},
        ),
        KeyRing(b"an attacker's own secret").key_for(1),
    )
    receipts = [server.receive(f, 2.0) for f in (frame, frame, tampered, outsider)]
    assert [(r.accepted, r.rejected_by, r.reason) for r in receipts] == [
        (True, None, None),
        (False, "security", "replay"),
        (False, "security", "corrupt"),
        (False, "security", "bad_signature"),
    ]
    assert server.rejected_updates == 3 and server.strategy.received_count == 1
    assert server.security_rejections["replay"] == 1
    stale = FederationServer(FedAvg(PLAN), RING)
    stale.start(START, 0.0)
    late = _client(2).make_update({"w": np.ones(5, np.float32)}, 3, 1.0)
    stale.strategy._version = 1  # as if a round closed meanwhile
    receipt = stale.receive(late, 2.0)
    assert (receipt.rejected_by, receipt.reason, receipt.staleness) == (
        "strategy",
        "stale_round",
        1,
    )


def test_update_uses_the_base_it_was_trained_from():
    client = _client(0)
    trained = {"w": np.full(5, 3.0, np.float32)}
    base = ({"w": np.full(5, 1.0, np.float32)}, 7)
    upd = client.prepare_update(trained, 4, 0.0, base=base)
    assert upd.base_version == 7 and upd.dense()["w"].tolist() == [2.0] * 5
    assert [client.prepare_update(trained, 4, 0.0).sequence for _ in range(2)] == [2, 3]
    with pytest.raises(InputError, match="Expected `trained model tensor names` to be"):
        client.prepare_update({"v": np.zeros(5, np.float32)}, 4, 0.0)
    with pytest.raises(InputError, match="Expected `update sender` to be this satellite"):
        _client(1).sign(upd)


def test_client_resume_never_reuses_a_sequence_number():
    server = FederationServer(FedBuff(PLAN, buffer_size=100), RING)
    server.start(START, 0.0)
    comp = lambda: UpdateCompressor(topk_fraction=0.4)  # noqa: E731
    client = _client(3, compressor=comp())
    for k in range(3):
        assert server.receive(
            client.make_update({"w": np.full(5, k, np.float32)}, 1, k), k
        ).accepted
    state = client.state_dict()
    resumed = FederationClient(3, RING.restricted_to([3, GROUND_SENDER_ID]), compressor=comp())
    resumed.load_state_dict(state)
    x = {"w": np.arange(5, dtype=np.float32)}
    a, b = client.make_update(x, 1, 9.0), resumed.make_update(x, 1, 9.0)
    assert a == b  # same sequence, same residuals, same bytes
    assert server.receive(b, 9.0).accepted
    with pytest.raises(
        CheckpointError, match="Client state is for satellite 3, this is satellite 2"
    ):
        _client(2).load_state_dict(state)


def test_relay_combines_verified_neighbour_updates():
    members = [FederationClient(i, RING, relay_keyring=RING) for i in range(3)]
    for m in members:
        m.load_initial(START)
    own = [
        m.prepare_update({"w": np.full(5, float(i + 1), np.float32)}, 10 * (i + 1), 1.0)
        for i, m in enumerate(members)
    ]
    sink = members[2]
    received = []
    for i in (0, 1):
        verdict = sink.verify_relayed(members[i].sign(own[i]))
        assert verdict.accepted
        received.append(verdict.message)
    combined = sink.combine_for_relay([*received, own[2]], 2.0)
    assert (
        combined.sender == 2 and combined.contributors == (0, 1, 2) and combined.num_samples == 60
    )
    np.testing.assert_allclose(combined.dense()["w"], (10 * 1 + 20 * 2 + 30 * 3) / 60)
    # the ground counts every contributor of the plane update for the round
    server = FederationServer(FedAvg(PLAN, min_fraction=0.75), RING)
    server.start(START, 0.0)
    assert server.receive(sink.sign(combined), 3.0).accepted
    assert len(server.poll(3.0)) == 1
    with pytest.raises(
        InputError, match="Expected `relay_keyring` to be a KeyRing of the neighbours"
    ):
        _client(0).verify_relayed(b"")


def test_combining_is_associative():
    ups = [
        ModelUpdate.from_arrays(
            sender=i,
            sequence=1,
            base_version=i,
            num_samples=n,
            created_time_s=0.0,
            arrays={"w": np.full(3, float(v), np.float64)},
        )
        for i, (n, v) in enumerate([(5, 1.0), (15, -2.0), (30, 4.0)])
    ]
    once = combine_updates(ups, sender=0, sequence=2, created_time_s=0.0)
    ab = combine_updates(ups[:2], sender=1, sequence=2, created_time_s=0.0)
    twice = combine_updates([ab, ups[2]], sender=2, sequence=3, created_time_s=0.0)
    np.testing.assert_allclose(once.dense()["w"], twice.dense()["w"], rtol=1e-12)
    # and both are the num_samples-weighted mean: (5 * 1 - 15 * 2 + 30 * 4) / 50
    np.testing.assert_allclose(once.dense()["w"], np.full(3, 1.9), rtol=1e-12)
    assert (
        once.num_samples == twice.num_samples == 50 and once.base_version == twice.base_version == 0
    )
    assert sorted(once.contributors) == sorted(twice.contributors) == [0, 1, 2]
    with pytest.raises(InputError, match="Expected `updates` to be at least one update to combine"):
        combine_updates([], sender=0, sequence=1, created_time_s=0.0)


def test_server_state_round_trip():
    server = FederationServer(FedBuff(PLAN, buffer_size=3), RING)
    server.start(START, 0.0)
    client = _client(0)
    frame = client.make_update({"w": np.ones(5, np.float32)}, 2, 1.0)
    server.receive(frame, 1.0)
    restored = FederationServer(FedBuff(PLAN, buffer_size=3), RING)
    restored.load_state_dict(server.state_dict())
    assert restored.receive(frame, 2.0).reason == "replay"
    assert restored.strategy.buffered == 1 and restored.bytes_received == 2 * len(frame)
