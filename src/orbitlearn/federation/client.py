"""The federation endpoint of one satellite: global models in, signed compressed updates out.

A :class:`FederationClient` lives on each satellite. It verifies global-model frames with the
ground key (rejecting tampered, unsigned and replayed ones), keeps the model it trains from,
turns trained weights into a delta against that model, compresses it with its own
:class:`~orbitlearn.federation.compression.UpdateCompressor` (error feedback residuals are
per satellite), numbers it, and signs it with its own key. For ISL relay it can also verify a
neighbour's update frame and combine several updates into one it forwards under its own name.
Everything round-trips through ``state_dict()`` (a reset must not reuse a sequence number).

>>> import numpy as np
>>> from orbitlearn.federation.security import KeyRing, FrameVerifier
>>> ring = KeyRing(b"0123456789abcdef-mission", satellite_ids=range(2))
>>> client = FederationClient(1, ring)
>>> client.load_initial({"w": np.zeros(2, np.float32)})
>>> frame = client.make_update({"w": np.ones(2, np.float32)}, num_samples=8, now_s=10.0)
>>> verdict = FrameVerifier(ring).verify(frame)
>>> verdict.accepted, verdict.message.dense()["w"].tolist(), verdict.message.sequence
(True, [1.0, 1.0], 1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from numpy.typing import NDArray

from orbitlearn.errors import CheckpointError, InputError
from orbitlearn.federation.compression import UpdateCompressor
from orbitlearn.federation.messages import GROUND_SENDER_ID, GlobalModel, ModelUpdate
from orbitlearn.federation.security import FrameVerifier, KeyRing, Verdict, seal
from orbitlearn.federation.strategies.isl_relay import combine_updates
from orbitlearn.federation.tensors import NamedArrays, check_same_layout, copy_arrays, subtract

__all__ = ["FederationClient"]


class FederationClient:
    """One satellite's federation endpoint.

    Args:
        sat_id: the satellite's id.
        keyring: a ring holding at least this satellite's key and the ground key.
        compressor: how updates are compressed (default: none, lossless).
        relay_keyring: keys of the neighbours whose relayed updates this satellite verifies
            (ISL relay); ``None`` if it relays nothing.
    """

    def __init__(
        self,
        sat_id: int,
        keyring: KeyRing,
        *,
        compressor: UpdateCompressor | None = None,
        relay_keyring: KeyRing | None = None,
    ) -> None:
        self.sat_id = int(sat_id)
        self._key = keyring.key_for(self.sat_id)
        self._global_verifier = FrameVerifier(
            keyring.restricted_to([GROUND_SENDER_ID]), accept="global"
        )
        self._relay_verifier = (
            None if relay_keyring is None else FrameVerifier(relay_keyring, accept="update")
        )
        self.compressor = UpdateCompressor() if compressor is None else compressor
        self._sequence = 0
        self._version: int | None = None
        self._params: NamedArrays | None = None

    # -- global model -------------------------------------------------------------------------

    def load_initial(self, params: Mapping[str, NDArray[Any]], version: int = 0) -> None:
        """Hold ``params`` as global ``version`` (the model loaded before launch)."""
        self._params = copy_arrays(params)
        self._version = int(version)

    @property
    def version(self) -> int | None:
        """Version of the global model held (``None`` before any)."""
        return self._version

    @property
    def params(self) -> NamedArrays:
        """The global model held (do not modify).

        Raises:
            InputError: no model held yet.
        """
        if self._params is None:
            raise InputError("global model", "none held", "load_initial() or receive_global()")
        return self._params

    def receive_global(self, frame: bytes) -> Verdict:
        """Verify a global-model frame and adopt it if it is newer than the held model."""
        verdict = self._global_verifier.verify(frame)
        if verdict.accepted and isinstance(verdict.message, GlobalModel):
            message = verdict.message
            if self._version is None or message.version > self._version:
                self._params = message.dense()
                self._version = message.version
        return verdict

    @property
    def global_rejections(self) -> dict[str, int]:
        """Rejected global-model frames by reason."""
        return dict(self._global_verifier.rejections)

    # -- updates --------------------------------------------------------------------------------

    def _next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def prepare_update(
        self,
        trained: Mapping[str, NDArray[Any]],
        num_samples: int,
        now_s: float,
        *,
        base: tuple[Mapping[str, NDArray[Any]], int] | None = None,
    ) -> ModelUpdate:
        """The compressed delta ``trained - base`` as an (unsigned) update.

        Args:
            trained: the weights after local training.
            num_samples: training samples behind them.
            now_s: mission time, ``unix_s``.
            base: ``(params, version)`` the training started from; default the held global
                model. Pass it when a newer global may have arrived during training.

        Raises:
            InputError: no global model is held, or ``trained`` has another layout.
        """
        if base is None:
            base_params: Mapping[str, NDArray[Any]] = self.params
            base_version = self._version or 0
        else:
            base_params, base_version = base
        check_same_layout(base_params, trained, "trained model")
        delta = subtract(trained, base_params)
        return self._package(delta, num_samples, int(base_version), now_s, ())

    def _package(
        self,
        delta: Mapping[str, NDArray[Any]],
        num_samples: int,
        base_version: int,
        now_s: float,
        contributors: tuple[int, ...],
    ) -> ModelUpdate:
        tensors = self.compressor.compress(delta)
        return ModelUpdate(
            sender=self.sat_id,
            sequence=self._next_sequence(),
            base_version=base_version,
            num_samples=num_samples,
            created_time_s=float(now_s),
            tensors=tensors,
            contributors=contributors,
        )

    def sign(self, update: ModelUpdate) -> bytes:
        """The signed frame of an update this satellite prepared."""
        if update.sender != self.sat_id:
            raise InputError("update sender", update.sender, f"this satellite ({self.sat_id})")
        return seal(update, self._key)

    def make_update(
        self,
        trained: Mapping[str, NDArray[Any]],
        num_samples: int,
        now_s: float,
        *,
        base: tuple[Mapping[str, NDArray[Any]], int] | None = None,
    ) -> bytes:
        """:meth:`prepare_update` then :meth:`sign`: the frame to transmit."""
        return self.sign(self.prepare_update(trained, num_samples, now_s, base=base))

    def verify_relayed(self, frame: bytes) -> Verdict:
        """Verify a neighbour's update frame received over an ISL.

        Raises:
            InputError: the client was built without ``relay_keyring``.
        """
        if self._relay_verifier is None:
            raise InputError("relay_keyring", None, "a KeyRing of the neighbours (ISL relay)")
        return self._relay_verifier.verify(frame)

    def combine_for_relay(self, updates: Sequence[ModelUpdate], now_s: float) -> ModelUpdate:
        """Combine updates (own and verified neighbours') into one update from this satellite.

        See :func:`~orbitlearn.federation.strategies.isl_relay.combine_updates`; the result is
        compressed with this satellite's compressor and gets its next sequence number.
        """
        combined = combine_updates(updates, sender=self.sat_id, sequence=0, created_time_s=now_s)
        return self._package(
            combined.dense(),
            combined.num_samples,
            combined.base_version,
            now_s,
            combined.contributors,
        )

    # -- state ----------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Sequence counter, held model, compressor residuals and verifier windows."""
        return {
            "sat_id": self.sat_id,
            "sequence": self._sequence,
            "version": self._version,
            "params": None if self._params is None else copy_arrays(self._params),
            "compressor": self.compressor.state_dict(),
            "global_verifier": self._global_verifier.state_dict(),
            "relay_verifier": (
                None if self._relay_verifier is None else self._relay_verifier.state_dict()
            ),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`.

        Raises:
            CheckpointError: the state belongs to another satellite or configuration.
        """
        if int(state["sat_id"]) != self.sat_id:
            raise CheckpointError(
                f"Client state is for satellite {state['sat_id']}, this is satellite {self.sat_id}"
            )
        if (state["relay_verifier"] is None) != (self._relay_verifier is None):
            raise CheckpointError("Client state and client disagree on ISL relay verification")
        self.compressor.load_state_dict(state["compressor"])
        self._global_verifier.load_state_dict(state["global_verifier"])
        if self._relay_verifier is not None:
            self._relay_verifier.load_state_dict(state["relay_verifier"])
        self._sequence = int(state["sequence"])
        self._version = None if state["version"] is None else int(state["version"])
        self._params = None if state["params"] is None else copy_arrays(state["params"])
