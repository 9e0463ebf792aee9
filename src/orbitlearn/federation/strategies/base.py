"""The :class:`Strategy` base class: the seam between the federation and the mission engine.

A strategy is the aggregator's policy. It lives on the ground segment, holds the global model
and its version, buffers accepted update deltas, decides when to aggregate, and answers the
engine's questions about each satellite (train? upload? download? relay where?). It knows the
future contact windows through a :class:`~orbitlearn.federation.plan.ContactPlan` given at
construction. It never moves bytes or advances time: the engine owns the clock, the links and
the satellites, and calls the strategy at events.

Event flow (what a discrete-event engine does; ``S`` is the strategy, ``server`` a
:class:`~orbitlearn.federation.server.FederationServer` around it, ``client[i]`` the
:class:`~orbitlearn.federation.client.FederationClient` of satellite ``i``; times are
``unix_s``)::

    mission start (t0):
        server.start(params, t0)                  # S.initialize: version 0; every satellite
        client[i].load_initial(params)            # holds version 0 on board at launch
        wake = S.next_wakeup_s(t0)                # schedule a WAKEUP event if not None
    satellite i is idle, holds version v and has not trained on v yet (at launch, after a
    download, after its update left):
        cfg = S.client_config(i, now, v)          # None: do not train now
        if cfg: train cfg.local_steps from global v (FedProx: add proximal_term with
                cfg.proximal_mu to the loss); when the slice is done:
                update = client[i].prepare_update(trained, n_samples, t, base=(w_v, v))
    satellite i holds an update (base version b):
        hop = S.relay_target(i, now)              # ISL relay: send client[i].sign(update) to
                                                  # neighbour `hop`, which verifies it
                                                  # (client.verify_relayed), combines what it
                                                  # holds (client.combine_for_relay) and asks
                                                  # again; None: keep it for the ground
    ground contact of satellite i opens (or an update becomes ready during a contact):
        1. if i holds an update: if S.wants_upload(i, now, b) transfer client[i].sign(update)
           (frame bytes / rate + acquisition, may span passes, + light time); else drop it
        2. if S.wants_download(i, now, v): transfer server.global_frame() to i; on arrival
           client[i].receive_global(frame) then S.on_download(i, client[i].version, t)
    an update frame arrives at the ground (time t):
        receipt = server.receive(frame, t)        # security checks, then S.receive(update, t)
        for result in server.poll(t): ...         # 0..n aggregations (new versions); offer
                                                  # the new global to satellites in contact
        wake = S.next_wakeup_s(t)                 # (re)schedule the single WAKEUP event
    WAKEUP at time t:
        for result in server.poll(t): ...; wake = S.next_wakeup_s(t)
    ISL contact between a and b while S.relays_global: pass the newer global frame along
        (it is signed by the ground; only send it where the receiver holds an older version,
        an older one arriving later is rejected as a replay).
    checkpoint: server.state_dict(), client[i].state_dict(); resume: build the objects with
        the same arguments, then load_state_dict(...) each

Call order rules: ``initialize`` (or ``load_state_dict``) before anything else; ``poll`` after
every ``receive`` and at every wake-up (the strategy never aggregates on its own); times passed
in never decrease; a satellite trains at most once per global version it holds. ``poll``
returns a list because one arrival can trigger several aggregations (FedAsync applies
simultaneous arrivals one at a time). ``tests/federation/fed_reference_driver.py`` is a small
working example of this flow.

Update semantics: updates carry a *delta* (trained minus base weights). At aggregation the base
class computes, over the updates chosen by :meth:`Strategy.select_for_aggregation`::

    s_i   = staleness(version - base_version_i)          # staleness weighting function
    Delta = rule([s_i * delta_i], weights=[num_samples_i])   # robust rule, default weighted mean
    params <- params + server_learning_rate * Delta;  version <- version + 1

Subclasses choose *which* updates to accept (:meth:`on_update`), *when* to aggregate
(:meth:`ready_to_aggregate`, :meth:`next_wakeup_s`), which buffered updates to use
(:meth:`select_for_aggregation`), what happens after (:meth:`after_aggregate`) and the
per-satellite policies. Everything stateful round-trips through :meth:`state_dict`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from orbitlearn.errors import CheckpointError, InputError
from orbitlearn.federation.aggregation import AggregationRule, WeightedMean
from orbitlearn.federation.messages import GlobalModel, ModelUpdate
from orbitlearn.federation.plan import ContactPlan
from orbitlearn.federation.staleness import ConstantStaleness, StalenessWeight
from orbitlearn.federation.tensors import (
    NamedArrays,
    add_scaled,
    check_same_layout,
    copy_arrays,
    is_float_array,
    subtract,
)

__all__ = [
    "AggregationResult",
    "LocalTrainingConfig",
    "PendingUpdate",
    "Receipt",
    "Strategy",
]


@dataclass(frozen=True)
class LocalTrainingConfig:
    """What a satellite should do in its next local training.

    Attributes:
        base_version: the global version to train from (the one the satellite holds).
        local_steps: optimiser steps to run.
        learning_rate: local learning rate.
        proximal_mu: FedProx coefficient ``mu`` (0 disables the proximal term); add
            :func:`orbitlearn.federation.proximal.proximal_term` to the loss when > 0.
    """

    base_version: int
    local_steps: int
    learning_rate: float
    proximal_mu: float = 0.0


@dataclass(frozen=True)
class Receipt:
    """What the strategy did with one update (:meth:`Strategy.receive`).

    Attributes:
        accepted: buffered for aggregation.
        reason: why it was dropped (``None`` if accepted), e.g. ``"stale_round"``.
        staleness: global versions between its base and the current model.
    """

    accepted: bool
    reason: str | None
    staleness: int


@dataclass(frozen=True)
class AggregationResult:
    """A new global model.

    Attributes:
        version: its version.
        params: its weights (a copy the caller may keep).
        time_s: mission time of the aggregation (``unix_s``).
        num_updates: updates combined (0 for the initial model).
        contributors: satellites whose training it includes.
        staleness: staleness of each combined update.
        num_samples: training samples combined.
    """

    version: int
    params: NamedArrays
    time_s: float
    num_updates: int = 0
    contributors: tuple[int, ...] = ()
    staleness: tuple[int, ...] = ()
    num_samples: int = 0

    def to_message(self) -> GlobalModel:
        """The :class:`GlobalModel` message for this version (uncompressed weights)."""
        return GlobalModel.from_arrays(self.version, self.time_s, self.params, self.num_samples)


@dataclass
class PendingUpdate:
    """An accepted update waiting in the strategy's buffer (dense delta)."""

    sender: int
    contributors: tuple[int, ...]
    base_version: int
    num_samples: int
    arrival_s: float
    delta: NamedArrays = field(repr=False)

    def to_state(self) -> dict[str, Any]:
        return {
            "sender": self.sender,
            "contributors": list(self.contributors),
            "base_version": self.base_version,
            "num_samples": self.num_samples,
            "arrival_s": self.arrival_s,
            "delta": copy_arrays(self.delta),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> PendingUpdate:
        return cls(
            sender=int(state["sender"]),
            contributors=tuple(int(c) for c in state["contributors"]),
            base_version=int(state["base_version"]),
            num_samples=int(state["num_samples"]),
            arrival_s=float(state["arrival_s"]),
            delta=copy_arrays(state["delta"]),
        )


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(name, value, "an integer >= 1")
    return int(value)


def _positive_float(name: str, value: Any, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        allowed = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise InputError(name, value, allowed)
    return float(value)


def _fraction(name: str, value: Any) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not 0.0 < value <= 1.0:
        raise InputError(name, value, "a number in (0, 1]")
    return float(value)


class Strategy(ABC):
    """Base class of federated-learning strategies driven by an event-driven mission engine.

    Args:
        plan: the mission's contact plan (also defines the satellites ``0 .. n - 1``).
        local_steps: local optimiser steps per training (>= 1).
        learning_rate: local learning rate (> 0).
        rule: aggregation rule over deltas (default :class:`WeightedMean`).
        server_learning_rate: step applied to the aggregated delta (> 0; 1 = plain averaging).
        staleness: staleness weighting (default constant).
        max_staleness: drop updates more than this many versions old (``None``: keep all).

    Raises:
        InputError: an argument is out of range.
    """

    #: Registry name (``make_strategy``).
    name: ClassVar[str] = ""
    #: Whether satellites should pass newer global models to neighbours over ISLs.
    relays_global: ClassVar[bool] = False

    def __init__(
        self,
        plan: ContactPlan,
        *,
        local_steps: int = 10,
        learning_rate: float = 0.01,
        rule: AggregationRule | None = None,
        server_learning_rate: float = 1.0,
        staleness: StalenessWeight | None = None,
        max_staleness: int | None = None,
    ) -> None:
        if not isinstance(plan, ContactPlan):
            raise InputError("plan", type(plan).__name__, "a ContactPlan")
        self.plan = plan
        self.local_steps = _positive_int("local_steps", local_steps)
        self.learning_rate = _positive_float("learning_rate", learning_rate)
        self.rule = WeightedMean() if rule is None else rule
        if not isinstance(self.rule, AggregationRule):
            raise InputError("rule", type(rule).__name__, "an AggregationRule")
        self.server_learning_rate = _positive_float("server_learning_rate", server_learning_rate)
        self.staleness = ConstantStaleness() if staleness is None else staleness
        if not isinstance(self.staleness, StalenessWeight):
            raise InputError("staleness", type(staleness).__name__, "a StalenessWeight")
        if max_staleness is not None and (
            isinstance(max_staleness, bool)
            or not isinstance(max_staleness, (int, np.integer))
            or max_staleness < 0
        ):
            raise InputError("max_staleness", max_staleness, "an integer >= 0 or None")
        self.max_staleness = None if max_staleness is None else int(max_staleness)

        self._params: NamedArrays | None = None
        self._version = 0
        self._version_time_s = 0.0
        self._buffer: list[PendingUpdate] = []
        self._sat_version = np.zeros(plan.n_satellites, dtype=np.int64)
        self._download_s = np.full(plan.n_satellites, -np.inf)
        self._upload_s = np.full(plan.n_satellites, -np.inf)
        self._total_samples = 0
        self.received_count = 0
        self.aggregation_count = 0
        self.drops: dict[str, int] = {}

    # -- configuration -----------------------------------------------------------------------

    @property
    def n_satellites(self) -> int:
        """Number of satellites (from the plan)."""
        return self.plan.n_satellites

    def config(self) -> dict[str, Any]:
        """Hyperparameters (JSON-compatible), checked when a state is loaded."""
        return {
            "name": self.name,
            "n_satellites": self.n_satellites,
            "local_steps": self.local_steps,
            "learning_rate": self.learning_rate,
            "rule": self.rule.config(),
            "server_learning_rate": self.server_learning_rate,
            "staleness": self.staleness.config(),
            "max_staleness": self.max_staleness,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(version={self._version}, buffered={len(self._buffer)})"

    # -- global model --------------------------------------------------------------------------

    def initialize(self, params: Mapping[str, Any], now_s: float) -> AggregationResult:
        """Start the mission with ``params`` as global version 0, held by every satellite.

        Args:
            params: initial weights as named numpy arrays (see
                :func:`~orbitlearn.federation.tensors.state_dict_to_arrays`).
            now_s: mission start, ``unix_s``.
        """
        arrays = {str(k): np.asarray(v) for k, v in params.items()}
        if not arrays:
            raise InputError("params", "{}", "at least one named tensor")
        self._params = copy_arrays(arrays)
        self._version = 0
        self._version_time_s = float(now_s)
        self._buffer = []
        self._sat_version[:] = 0
        self._download_s[:] = now_s
        self._upload_s[:] = -np.inf
        self.on_initialize(now_s)
        return AggregationResult(0, copy_arrays(self._params), float(now_s))

    def _require_params(self) -> NamedArrays:
        if self._params is None:
            raise InputError(
                "strategy state", "not initialised", "initialize() or load_state_dict() first"
            )
        return self._params

    @property
    def version(self) -> int:
        """Current global-model version."""
        return self._version

    @property
    def params(self) -> NamedArrays:
        """Current global weights (the strategy's own arrays: do not modify)."""
        return self._require_params()

    def global_model(self) -> GlobalModel:
        """The current global model as a message (uncompressed), stamped with its creation time."""
        params = self._require_params()
        return GlobalModel.from_arrays(
            self._version, self._version_time_s, params, self._total_samples
        )

    @property
    def buffered(self) -> int:
        """Updates waiting for aggregation."""
        return len(self._buffer)

    def satellite_version(self, sat_id: int) -> int:
        """Last global version the strategy knows ``sat_id`` holds (from :meth:`on_download`)."""
        return int(self._sat_version[sat_id])

    # -- per-satellite policy (queries; override in subclasses) -------------------------------

    def client_config(
        self, sat_id: int, now_s: float, sat_version: int
    ) -> LocalTrainingConfig | None:
        """Whether and how satellite ``sat_id`` (holding ``sat_version``) should train now."""
        self._check_sat(sat_id)
        return LocalTrainingConfig(sat_version, self.local_steps, self.learning_rate, 0.0)

    def wants_upload(self, sat_id: int, now_s: float, base_version: int) -> bool:
        """Whether an update trained from ``base_version`` is still worth uploading now."""
        self._check_sat(sat_id)
        staleness = self._version - base_version
        return self.max_staleness is None or staleness <= self.max_staleness

    def wants_download(self, sat_id: int, now_s: float, sat_version: int) -> bool:
        """Whether satellite ``sat_id`` (holding ``sat_version``) should receive the global now."""
        self._check_sat(sat_id)
        return sat_version < self._version

    def relay_target(self, sat_id: int, now_s: float) -> int | None:
        """Neighbour to pass ``sat_id``'s update to over an ISL (``None``: keep it)."""
        self._check_sat(sat_id)
        return None

    def next_wakeup_s(self, now_s: float) -> float | None:
        """When the engine should call :meth:`poll` next even without an arrival.

        Returns a time strictly after ``now_s``, or ``None`` (no timer needed). The engine keeps
        at most one pending wake-up and replaces it after every ``poll``.
        """
        return None

    def on_download(self, sat_id: int, version: int, now_s: float) -> None:
        """Tell the strategy that ``sat_id`` now holds global ``version`` (received at ``now_s``)."""
        self._check_sat(sat_id)
        if version > self._version or version < 0:
            raise InputError("version", version, f"an existing version in [0, {self._version}]")
        if version >= self._sat_version[sat_id]:
            self._sat_version[sat_id] = version
            self._download_s[sat_id] = now_s

    def _check_sat(self, sat_id: int) -> None:
        if (
            isinstance(sat_id, bool)
            or not isinstance(sat_id, (int, np.integer))
            or not 0 <= sat_id < self.n_satellites
        ):
            raise InputError("sat_id", sat_id, f"a satellite index in [0, {self.n_satellites - 1}]")

    # -- updates ---------------------------------------------------------------------------------

    def _drop(self, reason: str, staleness: int) -> Receipt:
        self.drops[reason] = self.drops.get(reason, 0) + 1
        return Receipt(False, reason, staleness)

    def receive(self, update: ModelUpdate, now_s: float) -> Receipt:
        """Offer a verified update (template method; calls :meth:`on_update`).

        Drops (with a reason, counted in :attr:`drops`) updates that are from the future
        (``future_version``), too stale (``too_stale``), without samples (``no_samples``),
        full weights not based on the current version (``stale_weights``), of another layout
        (``layout_mismatch``) or with non-finite values (``non_finite``), and whatever the
        subclass refuses. Contributors' last upload time is recorded either way.
        """
        params = self._require_params()
        self.received_count += 1
        for c in update.contributors:
            if 0 <= c < self.n_satellites:
                self._upload_s[c] = now_s
        staleness = self._version - update.base_version
        if staleness < 0:
            return self._drop("future_version", staleness)
        if self.max_staleness is not None and staleness > self.max_staleness:
            return self._drop("too_stale", staleness)
        if update.num_samples < 1:
            return self._drop("no_samples", staleness)
        if any(not 0 <= c < self.n_satellites for c in update.contributors):
            return self._drop("unknown_satellite", staleness)
        dense = update.dense()
        try:
            check_same_layout(params, dense, f"update from satellite {update.sender}")
        except InputError:
            return self._drop("layout_mismatch", staleness)
        if any(is_float_array(a) and not np.all(np.isfinite(a)) for a in dense.values()):
            return self._drop("non_finite", staleness)
        if update.kind == "weights":
            if staleness != 0:
                return self._drop("stale_weights", staleness)
            dense = subtract(dense, params)
        pending = PendingUpdate(
            sender=update.sender,
            contributors=update.contributors,
            base_version=update.base_version,
            num_samples=update.num_samples,
            arrival_s=float(now_s),
            delta=dense,
        )
        reason = self.on_update(pending, now_s)
        if reason is not None:
            return self._drop(reason, staleness)
        self._buffer.append(pending)
        return Receipt(True, None, staleness)

    def on_update(self, pending: PendingUpdate, now_s: float) -> str | None:
        """Hook: return a drop reason, or ``None`` to buffer ``pending``."""
        return None

    # -- aggregation -----------------------------------------------------------------------------

    @abstractmethod
    def ready_to_aggregate(self, now_s: float) -> bool:
        """Hook: whether :meth:`poll` should aggregate now."""

    def select_for_aggregation(self, now_s: float) -> list[PendingUpdate]:
        """Hook: which buffered updates the next aggregation combines (default: all)."""
        return list(self._buffer)

    def after_aggregate(self, result: AggregationResult, now_s: float) -> None:  # noqa: B027
        """Hook: bookkeeping after a new version (start a new round, replan, ...)."""

    def on_initialize(self, now_s: float) -> None:  # noqa: B027
        """Hook: called at the end of :meth:`initialize`."""

    def poll(self, now_s: float) -> list[AggregationResult]:
        """Aggregate as long as the strategy is ready and has updates (template method)."""
        results: list[AggregationResult] = []
        while self._buffer and self.ready_to_aggregate(now_s):
            result = self.aggregate(now_s)
            if result is None:
                break
            results.append(result)
        return results

    def aggregate(self, now_s: float) -> AggregationResult | None:
        """Combine the selected buffered updates into a new global version now.

        Returns ``None`` when nothing is selected. Normally called through :meth:`poll`; an
        engine may call it directly to force an aggregation (e.g. at mission end).
        """
        params = self._require_params()
        chosen = self.select_for_aggregation(now_s)
        if not chosen:
            return None
        stale = np.array([self._version - p.base_version for p in chosen], dtype=np.int64)
        factors = np.asarray(self.staleness(stale), dtype=np.float64)
        scaled = [
            {k: (a * f).astype(a.dtype) if is_float_array(a) else a for k, a in p.delta.items()}
            for p, f in zip(chosen, factors, strict=True)
        ]
        weights = np.array([p.num_samples for p in chosen], dtype=np.float64)
        delta = self.rule(scaled, weights)
        self._params = add_scaled(params, delta, self.server_learning_rate)
        self._version += 1
        self._version_time_s = float(now_s)
        chosen_ids = {id(p) for p in chosen}
        self._buffer = [p for p in self._buffer if id(p) not in chosen_ids]
        contributors = tuple(sorted({c for p in chosen for c in p.contributors}))
        samples = int(weights.sum())
        self._total_samples += samples
        self.aggregation_count += 1
        result = AggregationResult(
            version=self._version,
            params=copy_arrays(self._params),
            time_s=float(now_s),
            num_updates=len(chosen),
            contributors=contributors,
            staleness=tuple(int(s) for s in stale),
            num_samples=samples,
        )
        self.after_aggregate(result, now_s)
        return result

    # -- state -----------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly: JSON-compatible values plus numpy arrays."""
        return {
            "config": self.config(),
            "initialised": self._params is not None,
            "params": None if self._params is None else copy_arrays(self._params),
            "version": self._version,
            "version_time_s": self._version_time_s,
            "buffer": [p.to_state() for p in self._buffer],
            "sat_version": self._sat_version.copy(),
            "download_s": self._download_s.copy(),
            "upload_s": self._upload_s.copy(),
            "total_samples": self._total_samples,
            "received": self.received_count,
            "aggregations": self.aggregation_count,
            "drops": dict(self.drops),
            "extra": self._extra_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` of a strategy built the same way.

        Raises:
            CheckpointError: the state was saved by a strategy with another configuration.
        """
        saved = state.get("config")
        if saved != self.config():
            raise CheckpointError(
                f"Strategy state was saved with configuration {saved!r}, "
                f"this strategy is {self.config()!r}"
            )
        self._params = copy_arrays(state["params"]) if state["initialised"] else None
        self._version = int(state["version"])
        self._version_time_s = float(state["version_time_s"])
        self._buffer = [PendingUpdate.from_state(p) for p in state["buffer"]]
        self._sat_version = np.asarray(state["sat_version"], dtype=np.int64).copy()
        self._download_s = np.asarray(state["download_s"], dtype=np.float64).copy()
        self._upload_s = np.asarray(state["upload_s"], dtype=np.float64).copy()
        self._total_samples = int(state["total_samples"])
        self.received_count = int(state["received"])
        self.aggregation_count = int(state["aggregations"])
        self.drops = {str(k): int(v) for k, v in state["drops"].items()}
        self._load_extra_state(state["extra"])

    def _extra_state(self) -> dict[str, Any]:
        """Hook: subclass state for :meth:`state_dict`."""
        return {}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:  # noqa: B027
        """Hook: restore what :meth:`_extra_state` saved."""


def _sorted_ints(values: Sequence[int] | set[int]) -> list[int]:
    return sorted(int(v) for v in values)
