"""Intra-plane ISL relay: a plane hands its updates to the satellite that meets the ground next.

FedISL-like (Razmi, Matthiesen, Dekorsy, Popovski, "On-Board Federated Learning for Dense LEO
Constellations", ICC 2022, arXiv:2111.12769; and "On-board Federated Learning for Satellite
Clusters with Inter-Satellite Links", arXiv:2307.08346, which reports 7x faster convergence and
10x less communication with intra-plane ISLs and in-network aggregation): satellites of one
orbital plane are linked to their ring neighbours. A satellite that has trained does not wait
for its own ground pass: it forwards its update hop by hop towards the plane member whose
ground contact comes first (the *sink*); each hop combines what it received with what it holds
(:func:`combine_updates`, a sample-weighted mean of deltas, associative, so hop-by-hop
combining equals combining once), and the sink uploads one combined plane update. The ground
then treats plane updates as FedBuff does (``buffer_size`` plane updates per aggregation,
default 1, with staleness weighting). New global models also travel along the plane
(:attr:`relays_global`), so a satellite gets a fresh model without its own ground contact.

The engine asks :meth:`ISLRelay.relay_target` whenever a satellite holds an update: the answer
is the next hop (a ring neighbour), or ``None`` when the satellite is itself the sink (or in
contact now) and should upload. Routing is recomputed at each hop with the current time, so a
sink whose pass has gone by is replaced by the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from orbitlearn.errors import InputError
from orbitlearn.federation.aggregation import WeightedMean
from orbitlearn.federation.messages import ModelUpdate
from orbitlearn.federation.plan import ContactPlan
from orbitlearn.federation.strategies.base import _positive_float
from orbitlearn.federation.strategies.fedbuff import FedBuff
from orbitlearn.federation.tensors import NamedArrays

__all__ = ["ISLRelay", "combine_updates", "walker_planes"]

# Kim, Svoboda, Lane (arXiv:2511.14889) via REFERENCE.md ("Links"): 120 s model upload per pass.
_DEFAULT_UPLOAD_S = 120.0


def walker_planes(n_planes: int, sats_per_plane: int) -> list[list[int]]:
    """Plane membership of a Walker shell indexed plane-major (``plane * sats_per_plane + slot``).

    >>> walker_planes(2, 3)
    [[0, 1, 2], [3, 4, 5]]
    """
    if n_planes < 1 or sats_per_plane < 1:
        raise InputError("n_planes, sats_per_plane", (n_planes, sats_per_plane), "integers >= 1")
    return [[p * sats_per_plane + s for s in range(sats_per_plane)] for p in range(n_planes)]


def combine_updates(
    updates: Sequence[ModelUpdate], *, sender: int, sequence: int, created_time_s: float
) -> ModelUpdate:
    """Combine delta updates into one, as a relay satellite does before forwarding.

    The combined delta is the ``num_samples``-weighted mean of the deltas; ``num_samples`` is
    their sum, ``contributors`` their union (a satellite whose two trainings, from different
    global versions, meet in one relay appears once but counts with both), and
    ``base_version`` the oldest base (so the ground weighs the combination by its most stale
    part). The result is uncompressed; the forwarding
    satellite compresses and signs it with its own key.

    Raises:
        InputError: no updates, a ``weights`` payload, or mismatched layouts.
    """
    if not updates:
        raise InputError("updates", 0, "at least one update to combine")
    if any(u.kind != "delta" for u in updates):
        raise InputError("update kind", [u.kind for u in updates], "'delta' for every update")
    contributors: list[int] = []
    for u in updates:
        contributors.extend(c for c in u.contributors if c not in contributors)
    deltas: list[NamedArrays] = [u.dense() for u in updates]
    weights = np.array([u.num_samples for u in updates], dtype=np.float64)
    if weights.sum() <= 0:
        raise InputError("num_samples", weights.tolist(), "a positive total")
    combined = WeightedMean()(deltas, weights)
    return ModelUpdate.from_arrays(
        sender=sender,
        sequence=sequence,
        base_version=min(u.base_version for u in updates),
        num_samples=int(weights.sum()),
        created_time_s=created_time_s,
        arrays=combined,
        contributors=tuple(contributors),
    )


class ISLRelay(FedBuff):
    """Plane updates relayed over intra-plane ISLs, aggregated on the ground like FedBuff.

    Args:
        plan: the contact plan (ISL windows optional: without them the intra-plane links are
            taken as always up).
        planes: the satellites of each plane, in ring order (neighbours adjacent); every
            satellite of the plan in exactly one plane.
        ring: whether the last satellite of a plane links to the first.
        hop_duration_s: expected time to pass an update over one ISL hop (>= 0).
        upload_duration_s: expected contact time one upload needs (> 0), used to pick the sink.
        buffer_size: plane updates per ground aggregation (default 1).
        **kwargs: :class:`~orbitlearn.federation.strategies.fedbuff.FedBuff` arguments.

    Raises:
        InputError: ``planes`` does not partition the satellites.
    """

    name = "isl_relay"
    relays_global = True

    def __init__(
        self,
        plan: ContactPlan,
        *,
        planes: Sequence[Sequence[int]],
        ring: bool = True,
        hop_duration_s: float = 10.0,
        upload_duration_s: float = _DEFAULT_UPLOAD_S,
        buffer_size: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(plan, buffer_size=buffer_size, **kwargs)
        flat = [int(s) for p in planes for s in p]
        if sorted(flat) != list(range(plan.n_satellites)) or any(len(p) == 0 for p in planes):
            raise InputError(
                "planes",
                [list(p) for p in planes],
                f"non-empty lists that together hold each satellite 0..{plan.n_satellites - 1} "
                "exactly once",
            )
        self.planes = tuple(tuple(int(s) for s in p) for p in planes)
        self.ring = bool(ring)
        self.hop_duration_s = _positive_float("hop_duration_s", hop_duration_s, allow_zero=True)
        self.upload_duration_s = _positive_float("upload_duration_s", upload_duration_s)
        self._plane_of = {s: i for i, p in enumerate(self.planes) for s in p}

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "planes": [list(p) for p in self.planes],
            "ring": self.ring,
            "hop_duration_s": self.hop_duration_s,
            "upload_duration_s": self.upload_duration_s,
        }

    def plane_of(self, sat_id: int) -> int:
        """Index of the plane ``sat_id`` belongs to."""
        self._check_sat(sat_id)
        return self._plane_of[int(sat_id)]

    def _hops(self, i: int, j: int, size: int) -> tuple[int, int]:
        """(hop count, step direction) from position ``i`` to ``j`` in a plane of ``size``."""
        forward = (j - i) % size if self.ring else j - i
        if not self.ring:
            return abs(forward), (1 if forward > 0 else -1)
        backward = size - forward
        return (forward, 1) if forward <= backward else (backward, -1)

    def sink(self, sat_id: int, now_s: float) -> int:
        """The plane member through which ``sat_id``'s update reaches the ground soonest.

        For each member ``m`` at ``h`` hops, the upload can start once the update is there
        (``now_s + h * hop_duration_s``) and ends at the plan's transfer-finish time; the
        earliest finish wins, ties going to fewer hops.
        """
        plane = self.planes[self.plane_of(sat_id)]
        pos = plane.index(int(sat_id))
        best, best_key = int(sat_id), (float("inf"), 0)
        for j, member in enumerate(plane):
            hops, _ = self._hops(pos, j, len(plane))
            start = now_s + hops * self.hop_duration_s
            finish = self.plan.transfer_finish_s(member, start, self.upload_duration_s)
            key = (finish, hops)
            if key < best_key:
                best, best_key = member, key
        return best

    def relay_target(self, sat_id: int, now_s: float) -> int | None:
        self._check_sat(sat_id)
        if self.plan.in_ground_contact(sat_id, now_s):
            return None
        target = self.sink(sat_id, now_s)
        if target == sat_id:
            return None
        plane = self.planes[self._plane_of[int(sat_id)]]
        pos = plane.index(int(sat_id))
        _, step = self._hops(pos, plane.index(target), len(plane))
        return plane[(pos + step) % len(plane)]
