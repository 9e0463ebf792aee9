"""A tiny deterministic event loop that drives federation strategies (tests only).

This is a reference for the mission engine, not the engine: synthetic ground windows, a linear
regression task trained with full-batch gradient descent in numpy, fixed training, transfer,
ISL-hop and light times. It exercises the whole federation path: client-side delta,
compression with error feedback, signing; ground-side verification, the strategy's hooks in
the documented order, signed global models back to the satellites, and (for ISL relay) update
combining and global-model forwarding along the plane.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from orbitlearn.federation import (
    ContactPlan,
    FederationClient,
    FederationServer,
    KeyRing,
    ModelUpdate,
    RejectReason,
    Strategy,
    UpdateCompressor,
)
from orbitlearn.federation.strategies.isl_relay import ISLRelay

SECRET = b"reference-driver-mission-secret"


@dataclass
class LinearTask:
    """Per-satellite linear-regression data ``y = X w* + noise``."""

    xs: list[NDArray[np.float64]]
    ys: list[NDArray[np.float64]]
    w_true: NDArray[np.float64]

    @classmethod
    def make(cls, n_sats: int, seed: int, dim: int = 6, samples: int = 40) -> LinearTask:
        rng = np.random.default_rng(seed)
        w_true = rng.normal(size=dim)
        xs, ys = [], []
        for i in range(n_sats):
            # mildly non-IID: each satellite sees a shifted, scaled feature distribution
            x = rng.normal(loc=0.3 * np.sin(i), scale=1.0 + 0.1 * (i % 3), size=(samples, dim))
            xs.append(x)
            ys.append(x @ w_true + 0.1 * rng.normal(size=samples))
        return cls(xs, ys, w_true)

    def initial(self) -> dict[str, NDArray[Any]]:
        return {"w": np.zeros(self.w_true.size, np.float32), "b": np.zeros(1, np.float32)}

    def loss(self, params: dict[str, NDArray[Any]]) -> float:
        x = np.concatenate(self.xs)
        y = np.concatenate(self.ys)
        pred = x @ params["w"].astype(np.float64) + float(params["b"][0])
        return float(np.mean((pred - y) ** 2))

    def train(
        self, sat: int, params: dict[str, NDArray[Any]], steps: int, lr: float, mu: float
    ) -> dict[str, NDArray[Any]]:
        """Full-batch gradient descent on the MSE (+ FedProx proximal term)."""
        x, y = self.xs[sat], self.ys[sat]
        w0 = params["w"].astype(np.float64)
        b0 = float(params["b"][0])
        w, b = w0.copy(), b0
        for _ in range(steps):
            r = x @ w + b - y
            gw = 2.0 * x.T @ r / len(y) + mu * (w - w0)
            gb = 2.0 * float(np.mean(r)) + mu * (b - b0)
            w -= lr * gw
            b -= lr * gb
        return {"w": w.astype(np.float32), "b": np.array([b], np.float32)}


def periodic_plan(
    n_sats: int,
    start_s: float,
    duration_s: float,
    period_s: float,
    window_s: float,
    every: dict[int, int] | None = None,
    silent: frozenset[int] = frozenset(),
) -> ContactPlan:
    """Each satellite sees the ground once per ``period_s`` (phase-shifted by its index);
    satellite ``i`` only every ``every[i]``-th period (a contact-starved satellite), and the
    ``silent`` ones never."""
    every = every or {}
    sats, starts, ends = [], [], []
    n_periods = int(duration_s // period_s) + 1
    for i in range(n_sats):
        if i in silent:
            continue
        phase = (i / n_sats) * period_s
        for k in range(n_periods):
            if k % every.get(i, 1):
                continue
            t = start_s + phase + k * period_s
            sats.append(i)
            starts.append(t)
            ends.append(t + window_s)
    return ContactPlan(n_sats, np.array(sats), np.array(starts), np.array(ends))


@dataclass
class _Sat:
    training: bool = False
    trained_version: int = -1
    pending: list[ModelUpdate] = field(default_factory=list)
    uploading: bool = False
    downloading: bool = False
    incoming_version: int = -1


@dataclass
class RunResult:
    times_s: list[float]
    losses: list[float]
    versions: list[int]
    server: FederationServer
    uploads: int = 0

    def time_to(self, target_loss: float) -> float:
        for t, loss in zip(self.times_s, self.losses, strict=True):
            if loss <= target_loss:
                return t
        return float("inf")


class ReferenceDriver:
    """Drives one strategy over a plan and a :class:`LinearTask`."""

    def __init__(
        self,
        plan: ContactPlan,
        task: LinearTask,
        strategy: Strategy,
        *,
        start_s: float = 0.0,
        train_s: float = 300.0,
        upload_s: float = 120.0,
        download_s: float = 120.0,
        hop_s: float = 10.0,
        light_time_s: float = 0.003,
        compressor: Callable[[], UpdateCompressor] | None = None,
    ) -> None:
        self.plan, self.task, self.strategy = plan, task, strategy
        self.start_s = start_s
        self.train_s, self.upload_s, self.download_s = train_s, upload_s, download_s
        self.hop_s, self.light_s = hop_s, light_time_s
        ring = KeyRing(SECRET, satellite_ids=range(plan.n_satellites))
        self.server = FederationServer(strategy, ring)
        self.clients = [
            FederationClient(
                i,
                ring.restricted_to([i, 0xFFFF_FFFF]),
                compressor=None if compressor is None else compressor(),
                relay_keyring=ring,
            )
            for i in range(plan.n_satellites)
        ]
        self.sats = [_Sat() for _ in range(plan.n_satellites)]
        self._queue: list[tuple[float, int, str, Any]] = []
        self._seq = itertools.count()
        self._wakeup: float | None = None
        self.uploads = 0
        self.stale_globals = 0

    # -- event plumbing --------------------------------------------------------------------

    def _at(self, t: float, kind: str, data: Any = None) -> None:
        heapq.heappush(self._queue, (t, next(self._seq), kind, data))

    def _schedule_wakeup(self, now: float) -> None:
        wake = self.strategy.next_wakeup_s(now)
        if wake is not None and wake != self._wakeup:
            self._wakeup = wake
            self._at(wake, "wakeup", wake)

    # -- satellite behaviour ---------------------------------------------------------------

    def _maybe_train(self, i: int, t: float) -> None:
        sat, client = self.sats[i], self.clients[i]
        version = client.version
        assert version is not None
        if sat.training or sat.pending or sat.trained_version >= version:
            return
        cfg = self.strategy.client_config(i, t, version)
        if cfg is None:
            return
        base = {k: v.copy() for k, v in client.params.items()}
        trained = self.task.train(i, base, cfg.local_steps, cfg.learning_rate, cfg.proximal_mu)
        sat.training = True
        sat.trained_version = version
        self._at(t + self.train_s, "trained", (i, trained, base, version))

    def _route(self, i: int, t: float) -> None:
        sat = self.sats[i]
        if not sat.pending:
            return
        hop = self.strategy.relay_target(i, t)
        if hop is not None:
            update = self._one_update(i, t)
            sat.pending = []
            self._at(t + self.hop_s, "relay", (hop, self.clients[i].sign(update)))
            self._maybe_train(i, t)
        elif self.plan.in_ground_contact(i, t):
            self._try_upload(i, t)

    def _one_update(self, i: int, t: float) -> ModelUpdate:
        pending = self.sats[i].pending
        if len(pending) == 1 and pending[0].sender == i:
            return pending[0]
        return self.clients[i].combine_for_relay(pending, t)

    def _try_upload(self, i: int, t: float) -> None:
        sat = self.sats[i]
        if sat.uploading or not sat.pending:
            return
        update = self._one_update(i, t)
        sat.pending = []
        if not self.strategy.wants_upload(i, t, update.base_version):
            self._maybe_train(i, t)
            return
        finish = self.plan.transfer_finish_s(i, t, self.upload_s)
        if not np.isfinite(finish):
            return
        sat.uploading = True
        self.uploads += 1
        self._at(finish + self.light_s, "arrival", (i, self.clients[i].sign(update)))

    def _try_download(self, i: int, t: float) -> None:
        sat, client = self.sats[i], self.clients[i]
        version = client.version
        assert version is not None
        current = self.strategy.version
        if sat.downloading or sat.incoming_version >= current:
            return
        if not self.strategy.wants_download(i, t, version):
            return
        finish = self.plan.transfer_finish_s(i, t, self.download_s)
        if not np.isfinite(finish):
            return
        sat.downloading = True
        sat.incoming_version = current
        self._at(finish + self.light_s, "delivered", (i, self.server.global_frame(), True))

    def _forward_global(self, i: int, frame: bytes, version: int, t: float) -> None:
        if not (self.strategy.relays_global and isinstance(self.strategy, ISLRelay)):
            return
        plane = self.strategy.planes[self.strategy.plane_of(i)]
        pos = plane.index(i)
        for step in (-1, 1):
            nb = plane[(pos + step) % len(plane)]
            if nb != i and self.sats[nb].incoming_version < version:
                self.sats[nb].incoming_version = version
                self._at(t + self.hop_s, "delivered", (nb, frame, False))

    # -- main loop ---------------------------------------------------------------------------

    def run(self, end_s: float) -> RunResult:
        params = self.task.initial()
        self.server.start(params, self.start_s)
        times, losses, versions = [self.start_s], [self.task.loss(params)], [0]
        for client in self.clients:
            client.load_initial(params)
        for i in range(self.plan.n_satellites):
            starts, _ = self.plan.ground_windows(i)
            for s in starts:
                self._at(float(s), "contact", i)
            self._maybe_train(i, self.start_s)
        self._schedule_wakeup(self.start_s)
        while self._queue:
            t, _, kind, data = heapq.heappop(self._queue)
            if t > end_s:
                break
            if kind == "contact":
                self._try_upload(data, t)
                self._try_download(data, t)
            elif kind == "trained":
                i, trained, base, version = data
                self.sats[i].training = False
                update = self.clients[i].prepare_update(
                    trained, len(self.task.ys[i]), t, base=(base, version)
                )
                self.sats[i].pending.append(update)
                self._route(i, t)
            elif kind == "relay":
                i, frame = data
                verdict = self.clients[i].verify_relayed(frame)
                assert verdict.accepted, verdict
                assert isinstance(verdict.message, ModelUpdate)
                self.sats[i].pending.append(verdict.message)
                self._route(i, t)
            elif kind == "arrival":
                i, frame = data
                self.sats[i].uploading = False
                receipt = self.server.receive(frame, t)
                assert receipt.rejected_by != "security", receipt
                self._after_poll(t, times, losses, versions)
                self._maybe_train(i, t)
                if self.plan.in_ground_contact(i, t):
                    self._try_download(i, t)
            elif kind == "delivered":
                i, frame, from_ground = data
                sat, client = self.sats[i], self.clients[i]
                if from_ground:
                    sat.downloading = False
                verdict = client.receive_global(frame)
                if not verdict.accepted:
                    # an older version overtaken by a newer one relayed over the ISLs
                    assert verdict.reason is RejectReason.REPLAY, verdict
                    self.stale_globals += 1
                    self._maybe_train(i, t)
                    continue
                version = client.version
                assert version is not None
                self.strategy.on_download(i, version, t)
                self._forward_global(i, frame, version, t)
                self._maybe_train(i, t)
            elif kind == "wakeup":
                if data == self._wakeup:
                    self._wakeup = None
                self._after_poll(t, times, losses, versions)
        return RunResult(times, losses, versions, self.server, self.uploads)

    def _after_poll(
        self, t: float, times: list[float], losses: list[float], versions: list[int]
    ) -> None:
        results = self.server.poll(t)
        for result in results:
            times.append(t)
            losses.append(self.task.loss(result.params))
            versions.append(result.version)
        if results:
            for i in range(self.plan.n_satellites):
                if self.plan.in_ground_contact(i, t):
                    self._try_download(i, t)
        self._schedule_wakeup(t)
