"""The ground segment's federation endpoint: verify frames, feed the strategy, sign globals.

A :class:`FederationServer` wraps a :class:`~orbitlearn.federation.strategies.base.Strategy`
with the security layer: every update frame that reaches the ground goes through a
:class:`~orbitlearn.federation.security.FrameVerifier` (integrity, signature, replay) before the
strategy sees it, and every new global model goes out as a frame signed with the ground key.
It counts what it receives (bytes, rejections by reason, strategy drops by reason) for the
mission summary. The engine may still ask the strategy directly for its per-satellite policy
(``server.strategy.wants_upload(...)`` and so on).

>>> import numpy as np
>>> from orbitlearn.federation.plan import ContactPlan
>>> from orbitlearn.federation.security import KeyRing
>>> from orbitlearn.federation.strategies import FedBuff
>>> from orbitlearn.federation.client import FederationClient
>>> plan = ContactPlan(2, [0, 1], [0.0, 0.0], [100.0, 100.0])
>>> ring = KeyRing(b"0123456789abcdef-mission")
>>> server = FederationServer(FedBuff(plan, buffer_size=1), ring)
>>> _ = server.start({"w": np.zeros(2, np.float32)}, now_s=0.0)
>>> client = FederationClient(0, ring)
>>> client.load_initial({"w": np.zeros(2, np.float32)})
>>> receipt = server.receive(client.make_update({"w": np.ones(2, np.float32)}, 4, 5.0), 6.0)
>>> [r.version for r in server.poll(6.0)], server.strategy.params["w"].tolist()
([1], [1.0, 1.0])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from orbitlearn.federation.messages import ModelUpdate
from orbitlearn.federation.security import FrameVerifier, KeyRing, frame_size_bytes, seal
from orbitlearn.federation.strategies.base import AggregationResult, Strategy

__all__ = ["FederationServer", "ServerReceipt"]


@dataclass(frozen=True)
class ServerReceipt:
    """What happened to one update frame at the ground.

    Attributes:
        accepted: verified and buffered by the strategy.
        rejected_by: ``"security"`` or ``"strategy"`` when not accepted.
        reason: the security reason (``"replay"``, ``"bad_signature"``, ...) or the strategy's
            drop reason (``"stale_round"``, ``"too_stale"``, ...).
        sender: the claimed sender, when the frame could be decoded.
        staleness: versions between the update's base and the global model (strategy stage).
        update: the verified update (``None`` if security rejected it).
    """

    accepted: bool
    rejected_by: Literal["security", "strategy"] | None = None
    reason: str | None = None
    sender: int | None = None
    staleness: int | None = None
    update: ModelUpdate | None = None


class FederationServer:
    """Security-checked front of a strategy on the ground.

    Args:
        strategy: the aggregation strategy.
        keyring: keys of the satellites (and the ground key used to sign global models).
    """

    def __init__(self, strategy: Strategy, keyring: KeyRing) -> None:
        self.strategy = strategy
        self.verifier = FrameVerifier(keyring, accept="update")
        self._ground_key = keyring.ground_key()
        self._global_frame: tuple[int, bytes] | None = None
        self.bytes_received = 0

    def start(self, params: Mapping[str, Any], now_s: float) -> AggregationResult:
        """Initialise the strategy with version 0 (see ``Strategy.initialize``)."""
        return self.strategy.initialize(params, now_s)

    def receive(self, frame: bytes, now_s: float) -> ServerReceipt:
        """Verify an arrived frame and offer the update to the strategy. Call :meth:`poll` next."""
        self.bytes_received += len(frame)
        verdict = self.verifier.verify(frame)
        if not verdict.accepted or not isinstance(verdict.message, ModelUpdate):
            reason = None if verdict.reason is None else verdict.reason.value
            return ServerReceipt(False, "security", reason, verdict.sender)
        receipt = self.strategy.receive(verdict.message, now_s)
        return ServerReceipt(
            receipt.accepted,
            None if receipt.accepted else "strategy",
            receipt.reason,
            verdict.sender,
            receipt.staleness,
            verdict.message,
        )

    def poll(self, now_s: float) -> list[AggregationResult]:
        """Let the strategy aggregate (see ``Strategy.poll``)."""
        return self.strategy.poll(now_s)

    def global_frame(self) -> bytes:
        """The current global model as a frame signed by the ground (cached per version)."""
        version = self.strategy.version
        if self._global_frame is None or self._global_frame[0] != version:
            message = self.strategy.global_model()
            self._global_frame = (version, seal(message, self._ground_key))
        return self._global_frame[1]

    def global_frame_size_bytes(self) -> int:
        """Bytes a download of the current global model transfers."""
        return frame_size_bytes(self.strategy.global_model())

    @property
    def security_rejections(self) -> dict[str, int]:
        """Frames rejected by the security layer, by reason."""
        return dict(self.verifier.rejections)

    @property
    def rejected_updates(self) -> int:
        """Frames rejected by the security layer (tampered, unsigned, replayed, ...)."""
        return self.verifier.rejected_count

    def state_dict(self) -> dict[str, Any]:
        """Strategy, verifier and counters."""
        return {
            "strategy": self.strategy.state_dict(),
            "verifier": self.verifier.state_dict(),
            "bytes_received": self.bytes_received,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (the strategy must be built with the same arguments)."""
        self.strategy.load_state_dict(state["strategy"])
        self.verifier.load_state_dict(state["verifier"])
        self.bytes_received = int(state["bytes_received"])
        self._global_frame = None
