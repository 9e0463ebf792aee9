"""The discrete-event mission engine: satellites learn together over a simulated orbit.

:class:`MissionEngine` drives a :class:`~orbitlearn.mission.build.MissionBuild` through mission
time. Events (:mod:`orbitlearn.mission.events`) come from the timeline (contact start and end,
eclipse entry and exit, SAA entry and exit), from the satellites (training slice done, reset
recovered, battery ready), from the links (upload, download and ISL transfer done) and from the
strategy (wake-up); they pop in time order, ties in scheduling order, so a run is a
deterministic function of its configuration.

The federation follows the event flow of :mod:`orbitlearn.federation.strategies.base`: at
launch every satellite holds global version 0; a satellite holding a version it has not trained
on asks the strategy (``client_config``) and trains; its update waits for a ground contact (or,
with ISL relay, hops towards the plane member that meets the ground first); at a contact the
update goes down (``wants_upload``) and the newest global model goes up (``wants_download``);
frames cross the security layer on arrival; the ground polls the strategy after every arrival
and at its wake-ups, evaluates every new global model and offers it to the satellites in contact.

Local training (:mod:`orbitlearn.mission.jobs`) runs in slices through an executor. A slice
starts only when the battery is at or above ``satellite.min_soc_to_train`` (and, if configured,
outside the SAA or eclipse) and gets the energy above the battery's lower limit as its budget;
its simulated duration is its steps times the counted FLOPs over the device's rate, at most
:data:`MAX_SLICE_S` (so rates and the battery are read again at least that often). The memory
upset rate of the slice is the timeline's rate averaged over it (the onboard trainer exposes
the state while a step computes and, between slices of one round, while it waits in memory);
device resets are drawn by the
engine from the timeline's reset rate (a Poisson process per satellite), stop the slice at the
reset time and cost the work since the last onboard checkpoint plus ``satellite.reboot_s``.
Resets are drawn while a satellite trains (its volatile training state is what a reset
destroys); an update waiting for a contact is held in non-volatile storage.

Transfers (:mod:`orbitlearn.mission.links`) take frame bytes / rate + acquisition per pass +
light time, span passes when needed, and charge the radio's power while data flows; a satellite
starts at most ``links.exchanges_per_pass`` uploads and downloads per pass (0: as many as the
pass's link time carries). In a pass a satellite first sends its update and receives the global
model once the ground has it, so the model it trains on next can already include its own
update (the answer to an upload); a satellite that holds the newest model trains on it at once
and, with exchanges left in the pass, sends the result before the pass ends.

With a parallel executor (process pool, Ray) slices of different satellites that overlap in
mission time train at once, and more: when a global model's download is scheduled, the slice its
arrival will start is already known and is submitted then (speculatively); at the arrival the
engine uses that result only if the job it would submit is identical, so results never depend
on the executor. Checkpoints
of the whole mission state are written every ``output.checkpoint_every_h`` and a run resumed
from one ends exactly where the uninterrupted run ends (:func:`orbitlearn.mission.runner`).
"""

from __future__ import annotations

import hashlib
import math
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from orbitlearn.errors import CheckpointError, InputError
from orbitlearn.federation import ModelUpdate
from orbitlearn.federation.strategies import ISLRelay
from orbitlearn.federation.tensors import copy_arrays
from orbitlearn.mission.build import MissionBuild
from orbitlearn.mission.config import to_toml
from orbitlearn.mission.events import Event, EventKind, EventQueue
from orbitlearn.mission.executors import Executor, InProcessExecutor, make_executor
from orbitlearn.mission.ground import GroundSegment
from orbitlearn.mission.jobs import TrainingJob, TrainingResult
from orbitlearn.mission.results import (
    MissionRecords,
    MissionResult,
    counters_table,
    json_number,
    occupancy_counts,
    state_shares,
)
from orbitlearn.mission.satellite import InFlightSlice, LocalRound, Satellite, SatelliteState

__all__ = ["CHECKPOINT_FORMAT", "MAX_SLICE_S", "MissionEngine", "load_checkpoint_file"]

#: Longest training slice, simulated seconds: rates, battery and gating are read at least this
#: often while a satellite trains.
MAX_SLICE_S = 600.0
#: A slice's energy budget this many times what its steps cost is treated as unbounded.
_AMPLE_ENERGY_FACTOR = 100.0
#: Mission checkpoint file layout: magic, then the SHA-256 of the payload, then the payload.
CHECKPOINT_FORMAT = b"OLMC1\n"
CHECKPOINT_NAME = "mission.ckpt"
_STATE_VERSION = 1

FrameFilter = Callable[[str, int, bytes], bytes]


def _derive_seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


class MissionEngine:
    """Runs one mission (see the module docstring).

    Args:
        build: the resolved mission.
        executor: where training jobs run (default: the configured one).
        checkpoint_dir: where mission checkpoints go (``None``: none are written).
        progress: called with the mission-time fraction done after events.
        frame_filter: test hook ``(direction, satellite, frame) -> frame`` applied to every
            frame before its receiver checks it (``direction``: ``up``, ``down`` or ``isl``);
            models tampering on the link.
    """

    def __init__(
        self,
        build: MissionBuild,
        *,
        executor: Executor | None = None,
        checkpoint_dir: Path | None = None,
        progress: Callable[[float], None] | None = None,
        frame_filter: FrameFilter | None = None,
    ) -> None:
        self.build = build
        self.config = build.config
        cfg = self.config
        self.keyring = build.make_keyring()
        self.strategy = build.make_strategy()
        self.server = build.make_server(self.strategy, self.keyring)
        self.ground = GroundSegment(self.server, build.workload, cfg.seed)
        self.clients = build.make_clients(self.keyring)
        self.links = build.links
        self.sats = [Satellite(i) for i in range(build.n_sats)]
        self.battery = build.make_battery()
        self.queue = EventQueue()
        self.records = MissionRecords()
        self.now_s = build.start_s
        self.started = False
        self.finished = False
        self._own_executor = executor is None
        self.executor = executor or make_executor(
            cfg.executor.kind,
            build.context,
            workers=cfg.executor.workers,
            address=cfg.executor.address,
        )
        self.checkpoint_dir = checkpoint_dir
        self.progress = progress
        self.frame_filter = frame_filter
        self._handles: dict[int, Any] = {}
        self._token = 0
        self._wakeup_s: float | None = None
        self._reset_rngs = [
            np.random.Generator(np.random.PCG64(_derive_seed(cfg.seed, 0x5E7, i)))
            for i in range(build.n_sats)
        ]
        self._channel_rng = np.random.Generator(np.random.PCG64(_derive_seed(cfg.seed, 0xC4A)))
        tl = build.timeline
        self._grid = tl.unix_s
        step = np.diff(tl.unix_s)
        self._upset_cum = _cumulative(tl.upset_rate_per_bit_s, step)
        self._reset_cum = _cumulative(tl.reset_rate_per_s, step)
        self._shard_sizes = [int(s[0].shape[0]) for s in build.context.shards]
        self._eclipses = _per_sat(tl.eclipses, build.n_sats)
        self._saa = _per_sat(tl.saa_passes, build.n_sats)
        self._plane_of: dict[int, tuple[int, ...]] = {}
        if isinstance(self.strategy, ISLRelay):
            for plane in self.strategy.planes:
                for sat in plane:
                    self._plane_of[sat] = plane
        self._wall_s = 0.0
        self._stopped_at_target = False
        # speculative first slices (parallel executors only; see _speculate)
        self._speculation = not isinstance(self.executor, InProcessExecutor)
        self._speculative: dict[int, tuple[TrainingJob, Any]] = {}
        self.speculation_hits = 0

    # ------------------------------------------------------------------ time helpers

    def _step_index(self, t_s: float) -> int:
        i = int(np.searchsorted(self._grid, t_s, side="right")) - 1
        return min(max(i, 0), self._grid.size - 1)

    def _integral(self, cum: np.ndarray, sat: int, t_s: float) -> float:
        return float(np.interp(t_s, self._grid, cum[sat]))

    def _mean_upset_rate(self, sat: int, t0: float, t1: float) -> float:
        if not self.build.faults_enabled:
            return 0.0
        if t1 <= t0:
            return float(self.build.timeline.upset_rate_per_bit_s[sat, self._step_index(t0)])
        total = self._integral(self._upset_cum, sat, t1) - self._integral(self._upset_cum, sat, t0)
        return max(0.0, total / (t1 - t0))

    def _draw_reset_s(
        self, sat: int, t0: float, t1: float, rng: np.random.Generator | None = None
    ) -> float | None:
        """First device reset in ``[t0, t1)`` of the satellite's Poisson process, if any."""
        if not self.build.faults_enabled or t1 <= t0:
            return None
        base = self._integral(self._reset_cum, sat, t0)
        need = float((rng or self._reset_rngs[sat]).exponential())
        if self._integral(self._reset_cum, sat, t1) - base <= need:
            return None
        when = float(np.interp(base + need, self._reset_cum[sat], self._grid))
        return min(max(when, t0), t1)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Launch: version 0 everywhere, first events scheduled, first rounds started."""
        b = self.build
        t0 = b.start_s
        self.now_s = t0
        params = copy_arrays(b.initial_params)
        first = self.server.start(params, t0)
        for client in self.clients:
            client.load_initial(params)
        metric = self.ground.evaluate(first.params)
        self._record_evaluation(t0, 0, metric, 0, (), ())
        q = self.queue
        q.push(b.end_s, EventKind.END)
        for i in range(b.n_sats):
            self._schedule_contact(i, 0, t0)
            self._schedule_interval(i, 0, t0, "eclipse")
            self._schedule_interval(i, 0, t0, "saa")
        q.push(t0, EventKind.SNAPSHOT)
        if self.config.output.checkpoint_every_h > 0:
            next_ckpt = t0 + self.config.output.checkpoint_every_h * 3600.0
            if next_ckpt < b.end_s:
                q.push(next_ckpt, EventKind.CHECKPOINT)
        for i in range(b.n_sats):
            self._maybe_train(i, t0)
        self._schedule_wakeup(t0)
        self.started = True

    def run(self, *, stop_after_s: float | None = None) -> MissionResult | None:
        """Process events to the end of the mission and return the result.

        Args:
            stop_after_s: stop (as if the process were killed) before the first event later
                than this mission time (``unix_s``); returns ``None`` then.
        """
        wall = time.perf_counter()
        try:
            if not self.started:
                self.start()
            span = max(self.build.end_s - self.build.start_s, 1e-9)
            while self.queue:
                event = self.queue.pop()
                if stop_after_s is not None and event.time_s > stop_after_s:
                    return None
                self.now_s = event.time_s
                self._dispatch(event)
                if self.progress is not None:
                    self.progress(min(1.0, (event.time_s - self.build.start_s) / span))
                if event.kind is EventKind.END:
                    break
            self.finished = True
            self._wall_s += time.perf_counter() - wall
            return self._finish()
        finally:
            if self._own_executor:
                self.executor.shutdown()

    def _dispatch(self, event: Event) -> None:
        kind, i, t = event.kind, event.sat, event.time_s
        if kind is EventKind.CONTACT_START:
            self._on_contact_start(i, t, event.data)
        elif kind is EventKind.CONTACT_END:
            self._on_contact_end(i, t, event.data)
        elif kind in (EventKind.ECLIPSE_START, EventKind.ECLIPSE_END):
            self._on_interval(i, t, "eclipse", kind is EventKind.ECLIPSE_START, event.data)
        elif kind in (EventKind.SAA_START, EventKind.SAA_END):
            self._on_interval(i, t, "saa", kind is EventKind.SAA_START, event.data)
        elif kind is EventKind.SLICE_DONE:
            self._on_slice_done(i, t, event.data)
        elif kind is EventKind.RECOVERED:
            self._on_recovered(i, t)
        elif kind is EventKind.BATTERY_READY:
            if self.sats[i].waiting == "battery":
                self._stop_waiting(i, t)
                self._start_slice(i, t)
        elif kind is EventKind.UPLOAD_DONE:
            self._on_upload_done(i, t, event.data)
        elif kind is EventKind.DOWNLOAD_DONE:
            self._on_download_done(i, t, event.data)
        elif kind is EventKind.RELAY_DONE:
            self._on_relay_done(i, t, event.data)
        elif kind is EventKind.WAKEUP:
            if event.data == self._wakeup_s:
                self._wakeup_s = None
            self._after_poll(t)
        elif kind is EventKind.SNAPSHOT:
            self._record_snapshot(t)
            nxt = t + self.config.output.snapshot_every_min * 60.0
            if nxt < self.build.end_s:
                self.queue.push(nxt, EventKind.SNAPSHOT)
        elif kind is EventKind.CHECKPOINT:
            nxt = t + self.config.output.checkpoint_every_h * 3600.0
            if nxt < self.build.end_s:
                self.queue.push(nxt, EventKind.CHECKPOINT)
            if self.checkpoint_dir is not None:
                self.save_checkpoint(self.checkpoint_dir)

    # ------------------------------------------------------------------ environment events

    def _schedule_contact(self, i: int, k: int, t: float) -> None:
        starts, ends = self.links.ground_windows(i)
        while k < starts.size and ends[k] <= t:
            k += 1
        if k < starts.size and starts[k] < self.build.end_s:
            self.queue.push(max(starts[k], t), EventKind.CONTACT_START, sat=i, data=k)

    def _on_contact_start(self, i: int, t: float, k: int) -> None:
        sat = self.sats[i]
        sat.in_contact = True
        sat.window = k
        sat.uploads_in_window = sat.downloads_in_window = 0
        _, ends = self.links.ground_windows(i)
        self.queue.push(ends[k], EventKind.CONTACT_END, sat=i, data=k)
        self._maybe_train(i, t)
        self._route(i, t)
        self._try_download(i, t)

    def _on_contact_end(self, i: int, t: float, k: int) -> None:
        self.sats[i].in_contact = False
        self._schedule_contact(i, k + 1, t)

    def _schedule_interval(self, i: int, k: int, t: float, which: str) -> None:
        starts, ends = (self._eclipses if which == "eclipse" else self._saa)[i]
        while k < starts.size and ends[k] <= t:
            k += 1
        if k >= starts.size or starts[k] >= self.build.end_s:
            return
        kind = EventKind.ECLIPSE_START if which == "eclipse" else EventKind.SAA_START
        self.queue.push(max(starts[k], t), kind, sat=i, data=k)

    def _on_interval(self, i: int, t: float, which: str, entering: bool, k: int) -> None:
        sat = self.sats[i]
        _, ends = (self._eclipses if which == "eclipse" else self._saa)[i]
        if which == "eclipse":
            sat.in_eclipse = entering
        else:
            sat.in_saa = entering
        if entering:
            kind = EventKind.ECLIPSE_END if which == "eclipse" else EventKind.SAA_END
            self.queue.push(ends[k], kind, sat=i, data=k)
            return
        self._schedule_interval(i, k + 1, t, which)
        if sat.waiting == which:
            self._stop_waiting(i, t)
            self._start_slice(i, t)

    # ------------------------------------------------------------------ training

    def _maybe_train(self, i: int, t: float) -> None:
        sat = self.sats[i]
        if sat.round is not None or sat.pending:
            return
        if sat.recovering_until is not None:
            return
        version = self.clients[i].version
        assert version is not None
        if sat.trained_version >= version:
            return
        cfg = self.strategy.client_config(i, t, version)
        if cfg is None:
            return
        index = sat.counters.rounds
        sat.round = LocalRound(
            base_version=version,
            base_params=copy_arrays(self.clients[i].params),
            steps_total=cfg.local_steps,
            learning_rate=cfg.learning_rate,
            proximal_mu=cfg.proximal_mu,
            seed=_derive_seed(self.config.seed, i, index),
            index=index,
            restart_carry=sat.carry,
        )
        sat.trained_version = version
        sat.counters.rounds += 1
        self._start_slice(i, t)

    def _wait(self, i: int, t: float, reason: str) -> None:
        sat = self.sats[i]
        if sat.waiting is None:
            sat.waiting = reason
            sat.waiting_since = t
            if reason == "battery":
                sat.counters.battery_waits += 1

    def _stop_waiting(self, i: int, t: float) -> None:
        sat = self.sats[i]
        if sat.waiting is not None:
            since = sat.waiting_since if sat.waiting_since is not None else t
            if t > since:
                self.records.activity.append((i, f"waiting_{sat.waiting}", since, t, ""))
        sat.waiting = None
        sat.waiting_since = None

    def _start_slice(self, i: int, t: float) -> None:
        sat, b = self.sats[i], self.build
        rnd = sat.round
        if rnd is None or sat.slice is not None or sat.recovering_until is not None:
            return
        cfg = self.config.satellite
        if cfg.avoid_saa and sat.in_saa:
            self._wait(i, t, "saa")
            return
        if not cfg.train_in_eclipse and sat.in_eclipse:
            self._wait(i, t, "eclipse")
            return
        remaining = rnd.steps_total - rnd.steps_done
        step_s, step_j = b.step_seconds, b.step_joules
        budget_j = self.battery.available_j(i, t)
        by_energy = int(budget_j // step_j) if step_j > 0 else remaining
        by_time = max(1, int(MAX_SLICE_S // step_s))
        n = min(remaining, by_energy, by_time)
        soc = self.battery.soc_at(i, t)
        if soc < cfg.min_soc_to_train - 1e-12 or n <= 0:
            self._wait_for_charge(i, t, step_j if n <= 0 else 0.0, cfg.min_soc_to_train)
            return
        self._stop_waiting(i, t)
        reset_s = self._draw_reset_s(i, t, t + n * step_s)
        job = self._slice_job(i, t, rnd, n, budget_j, reset_s)
        handle = None
        speculated = self._speculative.pop(i, None)
        if speculated is not None and _same_job(speculated[0], job):
            handle = speculated[1]
            self.speculation_hits += 1
        self._token += 1
        token = self._token
        self._handles[token] = handle if handle is not None else self.executor.submit(job)
        planned = t + n * step_s if reset_s is None else reset_s
        sat.slice = InFlightSlice(token, t, planned, reset_s, n)
        self.queue.push(planned, EventKind.SLICE_DONE, sat=i, data=token)

    def _slice_job(
        self,
        i: int,
        t: float,
        rnd: LocalRound,
        n: int,
        budget_j: float,
        reset_s: float | None,
    ) -> TrainingJob:
        """The job of a slice of ``n`` steps of round ``rnd`` starting at ``t``."""
        b = self.build
        remaining = rnd.steps_total - rnd.steps_done
        end = t + n * b.step_seconds
        exposure_end = end if reset_s is None else reset_s
        # An energy budget far above what the slice can spend never binds: leave it out, so
        # that the job is the same whatever the exact charge (speculative jobs rely on it).
        ample = budget_j >= _AMPLE_ENERGY_FACTOR * n * b.step_joules
        return TrainingJob(
            sat=i,
            seed=rnd.seed,
            start_time_s=t,
            max_steps=n,
            max_seconds=None if reset_s is None else reset_s - t,
            max_joules=None if ample else budget_j,
            learning_rate=rnd.learning_rate,
            proximal_mu=rnd.proximal_mu,
            base_params=rnd.base_params if rnd.state is None else None,
            state=rnd.state,
            carry=rnd.restart_carry if rnd.state is None else None,
            round_steps_done=rnd.steps_done,
            keep_state=not (n == remaining and reset_s is None),
            upset_rate_per_bit_s=self._mean_upset_rate(i, t, exposure_end),
            multi_bit_fraction=float(b.timeline.multi_bit_fraction[i, self._step_index(t)]),
        )

    def _speculate(self, i: int, t: float, version: int, params: Any) -> None:
        """Submit, ahead of time, the first slice satellite ``i`` will train when the global
        ``version`` reaches it at ``t`` (a download or ISL arrival scheduled now).

        The inputs of that job are known now (the weights being sent, the round's seed, the
        rates at ``t``), so a parallel executor can train it while the engine goes on. At ``t``
        the engine uses the result only if the job it would submit is identical (see
        :func:`_same_job`); otherwise it is discarded. Results never depend on speculation.
        """
        if not self._speculation:
            return
        stale = self._speculative.get(i)
        if stale is not None and stale[0].start_time_s > self.now_s:
            return  # one already waits for a later arrival

        sat = self.sats[i]
        if sat.round is not None or sat.pending or sat.trained_version >= version:
            return
        cfg = self.strategy.client_config(i, t, version)
        if cfg is None:
            return
        b = self.build
        rnd = LocalRound(
            base_version=version,
            base_params=copy_arrays(params),
            steps_total=cfg.local_steps,
            learning_rate=cfg.learning_rate,
            proximal_mu=cfg.proximal_mu,
            seed=_derive_seed(self.config.seed, i, sat.counters.rounds),
            index=sat.counters.rounds,
            restart_carry=sat.carry,
        )
        n = min(cfg.local_steps, max(1, int(MAX_SLICE_S // b.step_seconds)))
        peek = np.random.Generator(np.random.PCG64())
        peek.bit_generator.state = self._reset_rngs[i].bit_generator.state
        reset_s = self._draw_reset_s(i, t, t + n * b.step_seconds, rng=peek)
        job = self._slice_job(i, t, rnd, n, math.inf, reset_s)
        self._speculative[i] = (job, self.executor.submit(job))

    def _collect(self, sat: Satellite) -> TrainingResult:
        flight = sat.slice
        assert flight is not None
        if flight.result is None:
            handle = self._handles.pop(flight.token)
            flight.result = self.executor.result(handle)
        result: TrainingResult = flight.result
        return result

    def _on_slice_done(self, i: int, t: float, token: int) -> None:
        sat = self.sats[i]
        flight = sat.slice
        if flight is None or flight.token != token:
            return
        result = self._collect(sat)
        if flight.reset_s is None and result.end_time_s > t + 1e-9:
            # healing re-executed steps: the slice took longer than planned
            self.queue.push(result.end_time_s, EventKind.SLICE_DONE, sat=i, data=token)
            return
        sat.slice = None
        rnd = sat.round
        assert rnd is not None
        self.records.activity.append(
            (i, "training", flight.start_s, t, f"version {rnd.base_version}")
        )
        idle_w = float(self.build.device.power_w["idle"])
        extra_j = max(0.0, result.joules - idle_w * result.seconds)
        self.battery.add_energy_j(
            i, flight.start_s, max(result.end_time_s, flight.start_s), extra_j
        )
        c = sat.counters
        c.slices += 1
        c.steps += result.steps
        c.training_s += result.seconds
        c.training_j += result.joules
        injected = 0
        for event in result.fault_events:
            if event.get("kind") == "reset":
                continue
            injected += 1
            self.records.faults.append(
                (
                    float(event.get("time_s", t)),
                    i,
                    str(event.get("kind", "")),
                    str(event.get("target", "")),
                    str(event.get("tensor", "")),
                    int(event.get("flat_index", -1)),
                    int(event.get("bit", -1)),
                    int(event.get("step", -1)),
                )
            )
        c.faults_injected += injected
        c.faults_detected += result.detected
        c.faults_corrected += result.corrected
        c.false_alarms += result.false_alarms
        c.faults_silent += max(0, injected - result.covered)
        rnd.slices += 1
        if flight.reset_s is not None:
            self._reset(i, t, result)
            return
        rnd.steps_done += result.steps
        rnd.state = result.state
        if result.checkpoint is not None:
            rnd.checkpoint = (result.checkpoint[0], result.checkpoint[2])
        if rnd.steps_done >= rnd.steps_total:
            self._finish_round(i, t, result)
        elif result.steps == 0:
            # no progress (the energy budget did not cover a step): wait for more charge
            self._wait_for_charge(i, t, 2.0 * self.build.step_joules)
        else:
            self._start_slice(i, t)

    def _wait_for_charge(self, i: int, t: float, joules: float, soc: float | None = None) -> None:
        """Wait (``waiting_battery``) until the battery holds ``joules`` more than now, and at
        least ``soc``; a BATTERY_READY event then tries again."""
        bank = self.battery
        self._wait(i, t, "battery")
        now_soc = bank.soc_at(i, t)
        extra = joules / 3600.0 / bank.battery.discharge_efficiency / bank.capacity_wh
        target = max(now_soc + extra, soc if soc is not None else 0.0, bank.battery.soc_min + 1e-6)
        ready = bank.time_to_reach_s(i, t, min(target, bank.battery.soc_max))
        if math.isfinite(ready) and ready < self.build.end_s:
            self.queue.push(max(ready, t), EventKind.BATTERY_READY, sat=i)

    def _reset(self, i: int, t: float, result: TrainingResult) -> None:
        """A device reset at ``t``: back to the last onboard checkpoint, then reboot."""
        sat = self.sats[i]
        rnd = sat.round
        assert rnd is not None
        c = sat.counters
        c.resets += 1
        steps_at_reset = rnd.steps_done + result.steps
        checkpoint = rnd.checkpoint
        if result.checkpoint is not None:
            checkpoint = (result.checkpoint[0], result.checkpoint[2])
        faults_state = result.state["trainer"].get("faults")
        if checkpoint is not None:
            step, state = checkpoint
            restored = dict(state)
            restored["trainer"] = dict(state["trainer"])
            restored["trainer"]["faults"] = faults_state  # the environment does not roll back
            rnd.state = restored
            rnd.steps_done = step
            rnd.checkpoint = checkpoint
        else:
            kept = rnd.restart_carry or {}
            rnd.state = None
            rnd.steps_done = 0
            rnd.restart_carry = {
                "data": kept.get("data"),
                "faults": result.carry.get("faults"),
                "spikes": kept.get("spikes"),
            }
        c.lost_steps += steps_at_reset - rnd.steps_done
        self.records.faults.append((t, i, "reset", "compute", "device", -1, -1, -1))
        reboot = self.config.satellite.reboot_s
        sat.recovering_until = t + reboot
        self.records.activity.append((i, "recovering", t, t + reboot, ""))
        self.queue.push(t + reboot, EventKind.RECOVERED, sat=i)

    def _on_recovered(self, i: int, t: float) -> None:
        sat = self.sats[i]
        sat.recovering_until = None
        if sat.round is not None:
            self._start_slice(i, t)
        else:
            self._maybe_train(i, t)

    def _finish_round(self, i: int, t: float, result: TrainingResult) -> None:
        sat = self.sats[i]
        rnd = sat.round
        assert rnd is not None
        sat.carry = result.carry
        sat.round = None
        sat.counters.rounds_completed += 1
        try:
            update = self.clients[i].prepare_update(
                result.params, self._shard_sizes[i], t, base=(rnd.base_params, rnd.base_version)
            )
        except InputError:
            # non-finite or out-of-range weights cannot be quantised: the update is lost
            sat.counters.updates_dropped += 1
            self.records.count(self.records.drops, "unencodable_onboard")
            self._maybe_train(i, t)
            return
        sat.pending.append(update)
        self._route(i, t)

    # ------------------------------------------------------------------ updates

    def _one_update(self, i: int, t: float) -> ModelUpdate:
        pending = self.sats[i].pending
        if len(pending) == 1 and pending[0].sender == i:
            return pending[0]
        return self.clients[i].combine_for_relay(pending, t)

    def _route(self, i: int, t: float) -> None:
        sat = self.sats[i]
        if not sat.pending or sat.uploading:
            return
        hop = self.strategy.relay_target(i, t)
        if hop is not None:
            update = self._one_update(i, t)
            sat.pending = [update]
            frame = self.clients[i].sign(update)
            finish, spans = self.links.over_isl(i, hop, t, len(frame))
            if math.isfinite(finish) and finish < self.build.end_s:
                sat.pending = []
                self._transmit(i, spans, f"isl->{hop}")
                self.records.activity.extend(
                    (hop, "receiving", a, b_, f"isl<-{i}") for a, b_ in spans
                )
                sat.counters.bytes_isl += len(frame)
                arrival = finish + self.links.isl_light_time_s(i, hop, finish)
                self.queue.push(arrival, EventKind.RELAY_DONE, sat=hop, data=(i, frame, spans))
                self._maybe_train(i, t)
                return
        if sat.in_contact:
            self._try_upload(i, t)

    def _transmit(self, i: int, spans: list[tuple[float, float]], detail: str) -> None:
        sat = self.sats[i]
        radio_w = self.build.power.loads.radio_w
        sat.counters.radio_j += self.battery.add_power_w(i, spans, radio_w)
        self.records.activity.extend((i, "transmitting", a, b, detail) for a, b in spans)

    def _try_upload(self, i: int, t: float) -> None:
        sat = self.sats[i]
        if sat.uploading or not sat.pending:
            return
        limit = self.config.links.exchanges_per_pass
        if limit and sat.uploads_in_window >= limit:
            return
        update = self._one_update(i, t)
        sat.pending = []
        if not self.strategy.wants_upload(i, t, update.base_version):
            sat.counters.updates_dropped += 1
            self.records.count(self.records.drops, "not_wanted")
            self._maybe_train(i, t)
            return
        frame = self.clients[i].sign(update)
        finish, spans = self.links.to_ground(i, t, len(frame))
        if not math.isfinite(finish):
            sat.pending = [update]
            return
        sat.uploading = True
        sat.uploads_in_window += 1
        sat.counters.updates_sent += 1
        self._transmit(i, spans, "downlink")
        arrival = finish + self.links.ground_light_time_s(i, finish)
        sat.upload_arrival_s = arrival
        self.queue.push(arrival, EventKind.UPLOAD_DONE, sat=i, data=(frame, spans))

    def _channel(self, direction: str, i: int, frame: bytes) -> bytes:
        if self.frame_filter is not None:
            frame = self.frame_filter(direction, i, frame)
        ber = self.config.links.bit_error_rate
        if ber > 0.0:
            n_bits = 8 * len(frame)
            flips = int(self._channel_rng.binomial(n_bits, ber))
            if flips:
                positions = self._channel_rng.choice(n_bits, size=min(flips, n_bits), replace=False)
                data = bytearray(frame)
                for p in sorted(int(x) for x in positions):
                    data[p // 8] ^= 1 << (p % 8)
                frame = bytes(data)
        return frame

    def _on_upload_done(self, i: int, t: float, data: tuple[bytes, Any]) -> None:
        frame, _ = data
        sat = self.sats[i]
        sat.uploading = False
        sat.counters.bytes_up += len(frame)
        received = self._channel("up", i, frame)
        receipt = self.ground.receive(received, t)
        update = receipt.update
        self.records.accepted += int(receipt.accepted)
        if not receipt.accepted:
            table = (
                self.records.rejections if receipt.rejected_by == "security" else self.records.drops
            )
            self.records.count(table, str(receipt.reason))
        self.records.updates.append(
            {
                "time_unix_s": t,
                "satellite": i,
                "contributors": ",".join(str(c) for c in update.contributors) if update else "",
                "base_version": -1 if update is None else int(update.base_version),
                "staleness": -1 if receipt.staleness is None else int(receipt.staleness),
                "bytes": len(frame),
                "accepted": bool(receipt.accepted),
                "rejected_by": receipt.rejected_by or "",
                "reason": receipt.reason or "",
            }
        )
        self._after_poll(t)
        self._maybe_train(i, t)
        if sat.in_contact:
            self._route(i, t)
            self._try_download(i, t)

    def _on_relay_done(self, hop: int, t: float, data: tuple[int, bytes, Any]) -> None:
        _, frame, _ = data
        received = self._channel("isl", hop, frame)
        verdict = self.clients[hop].verify_relayed(received)
        if not verdict.accepted or not isinstance(verdict.message, ModelUpdate):
            reason = "unknown" if verdict.reason is None else verdict.reason.value
            self.records.count(self.records.rejections, f"isl_{reason}")
            return
        self.sats[hop].pending.append(verdict.message)
        self._route(hop, t)

    # ------------------------------------------------------------------ global models

    def _try_download(self, i: int, t: float) -> None:
        sat = self.sats[i]
        client = self.clients[i]
        current = self.strategy.version
        if sat.downloading or sat.incoming_version >= current:
            return
        if sat.uploading and sat.in_contact:
            _, ends = self.links.ground_windows(i)
            if sat.upload_arrival_s <= ends[sat.window]:
                # the answer to an update arriving in this pass: the download starts when the
                # ground has it (_on_upload_done), so the model sent back can include it
                return
        limit = self.config.links.exchanges_per_pass
        if limit and sat.downloads_in_window >= limit:
            return
        held = client.version
        assert held is not None
        if not self.strategy.wants_download(i, t, held):
            return
        frame = self.server.global_frame()
        finish, spans = self.links.to_satellite(i, t, len(frame))
        if not math.isfinite(finish):
            return
        sat.downloading = True
        sat.downloads_in_window += 1
        sat.incoming_version = current
        self.records.activity.extend((i, "receiving", a, b, "uplink") for a, b in spans)
        arrival = finish + self.links.ground_light_time_s(i, finish)
        self.queue.push(arrival, EventKind.DOWNLOAD_DONE, sat=i, data=(frame, True, spans))
        self._speculate(i, arrival, current, self.strategy.params)

    def _on_download_done(self, i: int, t: float, data: tuple[bytes, bool, Any]) -> None:
        frame, from_ground, _ = data
        sat = self.sats[i]
        client = self.clients[i]
        if from_ground:
            sat.downloading = False
            sat.counters.bytes_down += len(frame)
        verdict = client.receive_global(self._channel("down" if from_ground else "isl", i, frame))
        if not verdict.accepted:
            reason = "unknown" if verdict.reason is None else verdict.reason.value
            self.records.count(self.records.global_rejections, reason)
            held = client.version
            sat.incoming_version = -1 if held is None else held
            self._maybe_train(i, t)
            return
        version = client.version
        assert version is not None
        self.strategy.on_download(i, version, t)
        self._forward_global(i, frame, version, t)
        self._maybe_train(i, t)
        if sat.in_contact:
            self._try_download(i, t)

    def _forward_global(self, i: int, frame: bytes, version: int, t: float) -> None:
        if not (self.strategy.relays_global and i in self._plane_of):
            return
        plane = self._plane_of[i]
        pos = plane.index(i)
        for nb in dict.fromkeys((plane[(pos - 1) % len(plane)], plane[(pos + 1) % len(plane)])):
            if nb == i or self.sats[nb].incoming_version >= version:
                continue
            finish, spans = self.links.over_isl(i, nb, t, len(frame))
            if not (math.isfinite(finish) and finish < self.build.end_s):
                continue
            self.sats[nb].incoming_version = version
            self._transmit(i, spans, f"isl->{nb}")
            self.records.activity.extend((nb, "receiving", a, b, f"isl<-{i}") for a, b in spans)
            self.sats[i].counters.bytes_isl += len(frame)
            arrival = finish + self.links.isl_light_time_s(i, nb, finish)
            self.queue.push(arrival, EventKind.DOWNLOAD_DONE, sat=nb, data=(frame, False, spans))
            self._speculate(nb, arrival, version, self.clients[i].params)

    def _after_poll(self, t: float) -> None:
        results = self.ground.poll(t)
        for result in results:
            metric = self.ground.evaluate(result.params)
            self._record_evaluation(
                t, result.version, metric, result.num_updates, result.contributors, result.staleness
            )
        if results:
            for j, sat in enumerate(self.sats):
                if sat.in_contact:
                    self._try_download(j, t)
        self._schedule_wakeup(t)

    def _schedule_wakeup(self, t: float) -> None:
        wake = self.strategy.next_wakeup_s(t)
        if wake is not None and wake != self._wakeup_s and wake < self.build.end_s:
            self._wakeup_s = wake
            self.queue.push(wake, EventKind.WAKEUP, data=wake)

    # ------------------------------------------------------------------ records

    def _totals(self) -> dict[str, float]:
        keys = (
            "training_j",
            "radio_j",
            "faults_injected",
            "faults_detected",
            "faults_corrected",
            "faults_silent",
            "resets",
            "bytes_up",
            "bytes_down",
            "bytes_isl",
        )
        totals = dict.fromkeys(keys, 0.0)
        for sat in self.sats:
            c = sat.counters
            for key in keys:
                totals[key] += getattr(c, key)
        return totals

    def _row(self, t: float, kind: str, version: int, metric: float) -> dict[str, Any]:
        totals = self._totals()
        accepted = self.records.accepted
        return {
            "time_unix_s": t,
            "mission_h": (t - self.build.start_s) / 3600.0,
            "kind": kind,
            "version": int(version),
            "metric": float(metric),
            "num_updates": 0,
            "contributors": 0,
            "staleness_mean": float("nan"),
            "staleness_max": 0,
            "energy_wh": (totals["training_j"] + totals["radio_j"]) / 3600.0,
            "energy_training_wh": totals["training_j"] / 3600.0,
            "energy_radio_wh": totals["radio_j"] / 3600.0,
            "battery_soc_mean": float("nan"),
            "battery_soc_min": float("nan"),
            "faults_injected": int(totals["faults_injected"]),
            "faults_detected": int(totals["faults_detected"]),
            "faults_corrected": int(totals["faults_corrected"]),
            "faults_silent": int(totals["faults_silent"]),
            "resets": int(totals["resets"]),
            "bytes_up": int(totals["bytes_up"]),
            "bytes_down": int(totals["bytes_down"]),
            "bytes_isl": int(totals["bytes_isl"]),
            "updates_received": len(self.records.updates),
            "updates_accepted": accepted,
            "rejected_updates": int(self.server.rejected_updates),
        }

    def _record_evaluation(
        self,
        t: float,
        version: int,
        metric: float,
        num_updates: int,
        contributors: tuple[int, ...],
        staleness: tuple[int, ...],
    ) -> None:
        self._check_target(t, metric)
        row = self._row(t, "evaluation", version, metric)
        row["num_updates"] = int(num_updates)
        row["contributors"] = len(contributors)
        if staleness:
            row["staleness_mean"] = float(np.mean(staleness))
            row["staleness_max"] = int(max(staleness))
        self.records.evaluations.append(row)

    def _check_target(self, t: float, metric: float) -> None:
        """With ``time.stop_at_target``, end the mission at the first model on target."""
        if not self.config.time.stop_at_target or self._stopped_at_target:
            return
        target = self.config.workload.target_metric
        higher = self.build.workload.higher_is_better
        if math.isfinite(metric) and (metric >= target if higher else metric <= target):
            self._stopped_at_target = True
            self.queue.push(t, EventKind.END)

    def _record_snapshot(self, t: float) -> None:
        evaluations = self.records.evaluations
        metric = evaluations[-1]["metric"] if evaluations else float("nan")
        row = self._row(t, "snapshot", self.strategy.version, metric)
        soc = np.array([self.battery.soc_at(i, t) for i in range(len(self.sats))])
        row["battery_soc_mean"] = float(soc.mean())
        row["battery_soc_min"] = float(soc.min())
        self.records.snapshots.append(row)

    # ------------------------------------------------------------------ checkpoints

    def _collect_all(self) -> None:
        for sat in self.sats:
            if sat.slice is not None:
                self._collect(sat)

    def state_dict(self) -> dict[str, Any]:
        """The whole mission state (in-flight training results collected first)."""
        self._collect_all()
        return {
            "format": "orbitlearn.mission",
            "version": _STATE_VERSION,
            "config_toml": _results_toml(self.config),
            "now_s": self.now_s,
            "started": self.started,
            "queue": self.queue.state_dict(),
            "sats": self.sats,
            "clients": [c.state_dict() for c in self.clients],
            "ground": self.ground.state_dict(),
            "battery": self.battery.state_dict(),
            "reset_rngs": [g.bit_generator.state for g in self._reset_rngs],
            "channel_rng": self._channel_rng.bit_generator.state,
            "token": self._token,
            "wakeup_s": self._wakeup_s,
            "records": self.records,
            "wall_s": self._wall_s,
            "stopped_at_target": self._stopped_at_target,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` into an engine built from the same configuration.

        Raises:
            CheckpointError: the state is not a mission state or belongs to another mission.
        """
        if state.get("format") != "orbitlearn.mission" or state.get("version") != _STATE_VERSION:
            raise CheckpointError(
                "the checkpoint is not an orbitlearn mission state of this version"
            )
        if state["config_toml"] != _results_toml(self.config):
            raise CheckpointError(
                "the checkpoint belongs to another mission configuration than this run's config.toml"
            )
        self.now_s = float(state["now_s"])
        self.started = bool(state["started"])
        self.queue.load_state_dict(state["queue"])
        self.sats = state["sats"]
        for client, client_state in zip(self.clients, state["clients"], strict=True):
            client.load_state_dict(client_state)
        self.ground.load_state_dict(state["ground"])
        self.battery.load_state_dict(state["battery"])
        for g, s in zip(self._reset_rngs, state["reset_rngs"], strict=True):
            g.bit_generator.state = s
        self._channel_rng.bit_generator.state = state["channel_rng"]
        self._token = int(state["token"])
        self._wakeup_s = state["wakeup_s"]
        self.records = state["records"]
        self._wall_s = float(state.get("wall_s", 0.0))
        self._stopped_at_target = bool(state.get("stopped_at_target", False))
        self._handles = {}

    def save_checkpoint(self, directory: Path) -> Path:
        """Write the mission state to ``directory/mission.ckpt`` atomically.

        Layout: :data:`CHECKPOINT_FORMAT`, the payload's SHA-256 (32 bytes), the payload (a
        pickle; a checkpoint is trusted like the run directory it lives in).
        """
        from orbitlearn.healing.checkpoint import atomic_write_bytes

        payload = pickle.dumps(self.state_dict(), protocol=pickle.HIGHEST_PROTOCOL)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / CHECKPOINT_NAME
        atomic_write_bytes(target, CHECKPOINT_FORMAT + hashlib.sha256(payload).digest() + payload)
        return target

    # ------------------------------------------------------------------ results

    def _finish(self) -> MissionResult:
        b, cfg = self.build, self.config
        end = min(b.end_s, self.now_s) if self._stopped_at_target else b.end_s
        # open intervals end with the mission
        for i, sat in enumerate(self.sats):
            if sat.slice is not None:
                self.records.activity.append((i, "training", sat.slice.start_s, end, "unfinished"))
            self._stop_waiting(i, end)
        # bytes of transfers still in flight at the end (what has been sent so far)
        rates = self.links.rates
        for event in self.queue.events():
            if event.kind is EventKind.UPLOAD_DONE:
                self.sats[event.sat].counters.bytes_up += _bytes_by(
                    event.data[1], end, rates.downlink_bps
                )
            elif event.kind is EventKind.DOWNLOAD_DONE and event.data[1]:
                self.sats[event.sat].counters.bytes_down += _bytes_by(
                    event.data[2], end, rates.uplink_bps
                )
        # a last snapshot at the mission's end, so metrics.parquet ends where the mission does
        snapshots_so_far = self.records.snapshots
        if not snapshots_so_far or snapshots_so_far[-1]["time_unix_s"] < end:
            self._record_snapshot(end)
        activity = [
            (s, k, a, min(b_, end), d) for s, k, a, b_, d in self.records.activity if a < end
        ]
        self.records.activity = activity
        energy = self.battery.finish()
        lived = energy[:, : self.battery.step_index(end) + 1]
        capacity = self.battery.capacity_wh
        evaluations = self.records.evaluations
        snapshots = self.records.snapshots
        metric_name = b.workload.metric_name
        higher = b.workload.higher_is_better
        curve = [[round(r["mission_h"], 6), json_number(r["metric"])] for r in evaluations]
        target = cfg.workload.target_metric
        time_to_target = None
        for hours, value in curve:
            if value is not None and (value >= target if higher else value <= target):
                time_to_target = hours
                break
        finite = [v for _, v in curve if v is not None]
        totals = self._totals()
        shares = state_shares(activity, b.n_sats, b.start_s, end)
        states = [s.value for s in SatelliteState]
        counters = [sat.counters for sat in self.sats]
        summary: dict[str, Any] = {
            "name": cfg.name,
            "seed": cfg.seed,
            "strategy": cfg.strategy.name,
            "workload": b.workload.name,
            "satellites": b.n_sats,
            "stations": len(b.stations),
            "mission_days": cfg.time.days,
            "ended_h": round((end - b.start_s) / 3600.0, 6),
            "start": cfg.time.start,
            "metric_name": metric_name,
            "higher_is_better": higher,
            "initial_metric": curve[0][1] if curve else None,
            "final_metric": curve[-1][1] if curve else None,
            "best_metric": (max(finite) if higher else min(finite)) if finite else None,
            "target_metric": target,
            "time_to_target_h": time_to_target,
            "global_version": int(self.strategy.version),
            "aggregations": int(self.strategy.aggregation_count),
            "energy_wh": (totals["training_j"] + totals["radio_j"]) / 3600.0,
            "energy_training_wh": totals["training_j"] / 3600.0,
            "energy_radio_wh": totals["radio_j"] / 3600.0,
            "bytes_up": int(sum(c.bytes_up for c in counters)),
            "bytes_down": int(sum(c.bytes_down for c in counters)),
            "bytes_isl": int(totals["bytes_isl"]),
            "faults": {
                "injected": int(totals["faults_injected"]),
                "detected": int(totals["faults_detected"]),
                "corrected": int(totals["faults_corrected"]),
                "silent": int(totals["faults_silent"]),
                "false_alarms": int(sum(c.false_alarms for c in counters)),
            },
            "resets": int(totals["resets"]),
            "lost_steps": int(sum(c.lost_steps for c in counters)),
            "rejected_updates": int(self.server.rejected_updates),
            "rejections": dict(sorted(self.records.rejections.items())),
            "dropped_updates": dict(sorted(self.records.drops.items())),
            "rejected_globals": dict(sorted(self.records.global_rejections.items())),
            "updates_sent": int(sum(c.updates_sent for c in counters)),
            "updates_received": len(self.records.updates),
            "updates_accepted": sum(1 for u in self.records.updates if u["accepted"]),
            "training_steps": int(sum(c.steps for c in counters)),
            "local_rounds": int(sum(c.rounds for c in counters)),
            "battery_min_soc": float(np.nanmin(lived) / capacity),
            "battery_waits": int(sum(c.battery_waits for c in counters)),
            "occupancy": {s: round(float(shares[:, k].mean()), 6) for k, s in enumerate(states)},
            "notes": list(b.notes),
            "curve": curve,
        }
        metrics_rows = sorted(evaluations + snapshots, key=lambda r: (r["time_unix_s"], r["kind"]))
        times = np.array([r["time_unix_s"] for r in metrics_rows])
        occupancy = occupancy_counts(activity, b.n_sats, times)
        metrics: dict[str, Any] = {
            key: [r[key] for r in metrics_rows] for key in (metrics_rows[0] if metrics_rows else {})
        }
        for state in states:
            metrics[f"n_{state}"] = occupancy[state].astype(np.int64)
        sat_table: dict[str, Any] = {
            "satellite": np.arange(b.n_sats, dtype=np.int32),
            "name": list(b.timeline.satellite_names),
            "plane": np.array(
                b.constellation.planes if b.constellation.planes is not None else [-1] * b.n_sats,
                dtype=np.int32,
            ),
            **counters_table(counters),
            "min_soc": np.nanmin(lived, axis=1) / capacity,
        }
        for k, state in enumerate(states):
            sat_table[f"share_{state}"] = shares[:, k]
        run_info = {
            "wall_s": round(self._wall_s, 3),
            "executor": cfg.executor.kind,
            "speculative_slices_used": self.speculation_hits,
            "events_pending_at_end": len(self.queue),
        }
        return MissionResult(
            summary=summary,
            metrics=metrics,
            satellites=sat_table,
            activity=_activity_table(activity),
            environment=_environment_table(b),
            battery=_battery_table(b, energy, capacity, end),
            faults=_faults_table(self.records.faults),
            updates=_updates_table(self.records.updates),
            config_toml=to_toml(cfg),
            run_info=run_info,
        )


def load_checkpoint_file(path: Path) -> dict[str, Any]:
    """Read and verify a mission checkpoint written by :meth:`MissionEngine.save_checkpoint`.

    Raises:
        CheckpointError: missing, truncated, corrupt or not a mission checkpoint.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read the mission checkpoint {path}: {exc}") from None
    head = len(CHECKPOINT_FORMAT)
    if not raw.startswith(CHECKPOINT_FORMAT) or len(raw) < head + 32:
        raise CheckpointError(f"{path} is not an orbitlearn mission checkpoint")
    digest, payload = raw[head : head + 32], raw[head + 32 :]
    if hashlib.sha256(payload).digest() != digest:
        raise CheckpointError(f"{path} is corrupt (its SHA-256 does not match its content)")
    try:
        state: dict[str, Any] = pickle.loads(payload)
    except Exception as exc:  # unpickling raises many types
        raise CheckpointError(f"{path} cannot be read ({type(exc).__name__}: {exc})") from None
    return state


# ---------------------------------------------------------------------- helpers


def _same_job(a: TrainingJob, b: TrainingJob) -> bool:
    """Whether two jobs are the same computation (a speculative job is used only then)."""
    scalars = (
        "sat", "seed", "start_time_s", "max_steps", "max_seconds", "max_joules",
        "learning_rate", "proximal_mu", "round_steps_done", "keep_state",
        "upset_rate_per_bit_s", "multi_bit_fraction",
    )  # fmt: skip
    if any(getattr(a, name) != getattr(b, name) for name in scalars):
        return False
    if a.state is not None or b.state is not None or a.carry is not b.carry:
        return False
    if a.base_params is None or b.base_params is None:
        return a.base_params is b.base_params
    if a.base_params.keys() != b.base_params.keys():
        return False
    return all(np.array_equal(a.base_params[k], b.base_params[k]) for k in a.base_params)


def _results_toml(config: Any) -> str:
    """The configuration without its executor settings (which never change results)."""
    from orbitlearn.mission.config import ExecutorConfig

    return to_toml(config.model_copy(update={"executor": ExecutorConfig()}))


def _cumulative(rate: np.ndarray, step_s: np.ndarray) -> np.ndarray:
    """Integral of a piecewise-constant rate at the grid times, ``(n_sats, n_times)``."""
    out = np.zeros(rate.shape, dtype=np.float64)
    np.cumsum(rate[:, :-1].astype(np.float64) * step_s, axis=1, out=out[:, 1:])
    return out


def _per_sat(table: Any, n_sats: int) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for i in range(n_sats):
        mask = table.satellite == i
        starts, ends = table.start_unix_s[mask], table.end_unix_s[mask]
        order = np.argsort(starts, kind="stable")
        out.append((starts[order], ends[order]))
    return out


def _bytes_by(spans: list[tuple[float, float]], end_s: float, rate_bps: float) -> int:
    seconds = sum(max(0.0, min(b, end_s) - a) for a, b in spans)
    return int(seconds * rate_bps / 8.0)


def _activity_table(rows: list[tuple[int, str, float, float, str]]) -> dict[str, Any]:
    rows = sorted(rows, key=lambda r: (r[2], r[0], r[1]))
    return {
        "satellite": np.array([r[0] for r in rows], dtype=np.int32),
        "activity": [r[1] for r in rows],
        "start_unix_s": np.array([r[2] for r in rows], dtype=np.float64),
        "end_unix_s": np.array([r[3] for r in rows], dtype=np.float64),
        "detail": [r[4] for r in rows],
    }


def _environment_table(b: MissionBuild) -> dict[str, Any]:
    tl = b.timeline
    sats: list[np.ndarray] = []
    kinds: list[str] = []
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    stations: list[str] = []
    peers: list[np.ndarray] = []
    names = tl.contacts.station_names
    ground = tl.contacts.station >= 0
    parts = [
        (
            "contact",
            tl.contacts.satellite[ground],
            tl.contacts.start_unix_s[ground],
            tl.contacts.end_unix_s[ground],
            [names[s] for s in tl.contacts.station[ground]],
            None,
        ),
        (
            "eclipse",
            tl.eclipses.satellite,
            tl.eclipses.start_unix_s,
            tl.eclipses.end_unix_s,
            None,
            None,
        ),
        (
            "saa",
            tl.saa_passes.satellite,
            tl.saa_passes.start_unix_s,
            tl.saa_passes.end_unix_s,
            None,
            None,
        ),
    ]
    for kind, sat, start, end, station, peer in parts:
        sats.append(sat)
        kinds.extend([kind] * len(sat))
        starts.append(start)
        ends.append(end)
        stations.extend(station if station is not None else [""] * len(sat))
        peers.append(np.full(len(sat), -1) if peer is None else peer)
    isl_pairs = b.links.isl_pairs()
    if isl_pairs:
        for (a, c), (s, e) in sorted(isl_pairs.items()):
            sats.append(np.full(s.size, a))
            kinds.extend(["isl"] * s.size)
            starts.append(s)
            ends.append(e)
            stations.extend([""] * s.size)
            peers.append(np.full(s.size, c))
    return {
        "satellite": np.concatenate(sats).astype(np.int32),
        "kind": kinds,
        "start_unix_s": np.concatenate(starts).astype(np.float64),
        "end_unix_s": np.concatenate(ends).astype(np.float64),
        "station": stations,
        "peer": np.concatenate(peers).astype(np.int32),
    }


def _battery_table(
    b: MissionBuild, energy: np.ndarray, capacity: float, end_s: float
) -> dict[str, Any]:
    grid = b.timeline.unix_s
    last = int(np.searchsorted(grid, end_s, side="right")) - 1
    every = max(1, math.ceil(60.0 / float(b.config.time.step_s) - 1e-9))
    idx = np.arange(0, last + 1, every)
    if idx[-1] != last:
        idx = np.append(idx, last)
    n = b.n_sats
    return {
        "satellite": np.repeat(np.arange(n, dtype=np.int32), idx.size),
        "time_unix_s": np.tile(grid[idx], n),
        "soc": (energy[:, idx] / capacity).astype(np.float32).reshape(-1),
        "energy_wh": energy[:, idx].astype(np.float32).reshape(-1),
        "power_in_w": np.asarray(b.timeline.power_in_w)[:, idx].astype(np.float32).reshape(-1),
    }


def _faults_table(rows: list[tuple[float, int, str, str, str, int, int, int]]) -> dict[str, Any]:
    rows = sorted(rows, key=lambda r: (r[0], r[1]))
    return {
        "time_unix_s": np.array([r[0] for r in rows], dtype=np.float64),
        "satellite": np.array([r[1] for r in rows], dtype=np.int32),
        "kind": [r[2] for r in rows],
        "target": [r[3] for r in rows],
        "tensor": [r[4] for r in rows],
        "flat_index": np.array([r[5] for r in rows], dtype=np.int64),
        "bit": np.array([r[6] for r in rows], dtype=np.int32),
        "step": np.array([r[7] for r in rows], dtype=np.int64),
    }


def _updates_table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = (
        ("time_unix_s", np.float64),
        ("satellite", np.int32),
        ("contributors", None),
        ("base_version", np.int64),
        ("staleness", np.int64),
        ("bytes", np.int64),
        ("accepted", np.bool_),
        ("rejected_by", None),
        ("reason", None),
    )
    return {
        key: (
            [r[key] for r in rows]
            if dtype is None
            else np.array([r[key] for r in rows], dtype=dtype)
        )
        for key, dtype in keys
    }
