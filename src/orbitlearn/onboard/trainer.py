"""The onboard trainer: budgeted, resumable, self-healing training slices.

:class:`OnboardTrainer` trains any ``nn.Module`` with any optimizer on batches from ``data``
(see :mod:`orbitlearn.onboard.data` for the data contract) in *slices*: each
:meth:`~OnboardTrainer.train_slice` runs until a step, simulated-time or energy budget would be
exceeded, the data ends, or the device resets. Time and energy are simulated from counted FLOPs
and a :class:`~orbitlearn.onboard.device.DeviceProfile`; a fault injector (``faults``) upsets the
step with that time as its exposure; :class:`~orbitlearn.healing.Healing` detects and repairs.

What a step costs: each forward/backward execution is charged ``FLOPs / sustained FLOP/s``
seconds at the device's training power; re-executions and redundant executions (DMR/TMR) are
charged in full. Healing's memory passes (copies, compares) and checkpoint writes are not
charged in simulated time; their real cost is measured in ``bench/healing_overhead.py`` and
:attr:`SliceResult.wall_s`.

Radiation exposure (what ``faults`` is told):

* while a step computes: its simulated seconds (``step_s`` per execution) expose the input
  batch, activations and gradients (``corrupt_batch``, ``after_backward``) and the model and
  optimizer state (``after_step``), and are the window of a reset (``reset_due``);
* while the state sits in memory between slices: when :meth:`~OnboardTrainer.train_slice`
  starts later than the trainer's clock (``start_time_s`` past where the last slice ended),
  the idle gap exposes the weights, buffers and optimizer state (``faults.expose_idle``, or
  ``faults.after_step`` with the gap as duration for a fault source without it), at the rate in
  force at the slice start. Healing then scrubs the state (:meth:`Healing.scrub
  <orbitlearn.healing.Healing.scrub>`: the protected copy or replicas, and a range scan) before
  the first step, so ``full`` restores every idle upset bit for bit before training reads it.
  Idle gaps draw no resets, and a trainer whose clock has not started yet (no slice run, no
  state loaded) has no gap: the first slice's ``start_time_s`` only sets the clock.

At real rates a step of seconds gets essentially no upsets; the hours between slices are where
the state collects them: at 4.04e-7 upsets per bit per day (commercial SRAM in LEO, Alsat-1:
:data:`orbitlearn.faults.LEO_SRAM_UPSETS_PER_BIT_DAY`) the 25.9 Mbit of weights and Adam moments of a 270k-parameter model
collect ~1.2e-4 upsets in a one-second step and ~2.6 in six idle hours.

A reset (``faults.reset_due``) loses everything not checkpointed: the step in progress, and
model, optimizer, data position, RNG and healing statistics since the last good checkpoint
(or the state at the first slice when there is none) come back from the store; the steps in
between are counted in :attr:`OnboardTrainer.lost_steps`. The injector is the environment and is
left as it is; the simulated clock and energy keep running.

Everything stateful round-trips through :meth:`~OnboardTrainer.state_dict` and
:meth:`~OnboardTrainer.load_state_dict` (model, optimizer, data position, RNG, healing
statistics, injector state, counters), so save -> kill -> resume continues bit for bit. The
trainer runs its steps on its own random stream (seeded by ``seed``), so dropout is reproducible
and the caller's global torch RNG is left untouched.

>>> import torch
>>> from orbitlearn.onboard.data import ResumableBatches
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> model = torch.nn.Linear(4, 3)
>>> data = ResumableBatches(torch.randn(64, 4), torch.randint(0, 3, (64,)), batch_size=16)
>>> trainer = OnboardTrainer(model, torch.optim.SGD(model.parameters(), lr=0.1), data,
...                          loss_fn=torch.nn.functional.cross_entropy, device="raspberry-pi-4")
>>> result = trainer.train_slice(max_steps=5)
>>> result.steps, result.stop_reason, round(result.joules / result.seconds, 6)
(5, 'max_steps', 6.3)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from orbitlearn.errors import CheckpointError, InputError
from orbitlearn.healing.checkpoint import CheckpointInfo, CheckpointStore
from orbitlearn.healing.healer import Healing
from orbitlearn.healing.policies import HealingPolicy
from orbitlearn.healing.report import Detection, Repair, StepOutcome
from orbitlearn.onboard.budget import Budget, BudgetMeter
from orbitlearn.onboard.data import BatchStream
from orbitlearn.onboard.device import DeviceProfile, get_device
from orbitlearn.onboard.flops import FlopCache, StepFlops
from orbitlearn.onboard.torch_device import model_device

__all__ = ["FaultSource", "OnboardTrainer", "SliceResult"]

STATE_FORMAT = "orbitlearn.onboard.trainer"
STATE_VERSION = 1
LossFn = Callable[[Any, Any], torch.Tensor]


@runtime_checkable
class FaultSource(Protocol):
    """What the trainer drives: :class:`orbitlearn.faults.FaultInjector` has this interface.

    Optionally also ``expose_idle(*, step, time_s, duration_s)`` (the injector has it): memory
    upsets while the state sits idle between slices; without it the trainer calls
    ``after_step`` with the idle gap as duration.
    """

    events: list[Any]

    def bind(self, model: nn.Module, optimizer: torch.optim.Optimizer | None) -> None: ...

    def unbind(self) -> None: ...

    def corrupt_batch(
        self, inputs: torch.Tensor, *, step: int, time_s: float, duration_s: float | None = None
    ) -> torch.Tensor: ...

    def after_backward(self, *, step: int, time_s: float, duration_s: float) -> list[Any]: ...

    def after_step(self, *, step: int, time_s: float, duration_s: float) -> list[Any]: ...

    def reset_due(self, *, time_s: float, duration_s: float) -> bool: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass
class SliceResult:
    """What one training slice did.

    Attributes:
        steps: batches processed (updates applied plus batches skipped by healing).
        updates: optimizer updates applied.
        executions: forward/backward executions (more than ``steps`` when healing re-executed).
        start_time_s, end_time_s: simulated clock at the start and end of the slice.
        seconds: simulated seconds spent (``end_time_s - start_time_s``).
        joules: simulated energy spent.
        losses: the loss of each processed step (NaN for a skipped batch).
        fault_events: faults the injector applied during the slice, the upsets of the idle gap
            before it included (logged at the gap's start).
        detections: healing's detections (the slice-start scrub's included).
        repairs: healing's repairs.
        reset: whether the device reset (the slice ends there).
        lost_steps: steps lost to the reset (rolled back to the last checkpoint).
        stop_reason: ``max_steps``, ``max_seconds``, ``max_joules``, ``reset`` or
            ``data_exhausted``.
        checkpoints: steps at which a checkpoint was written.
        flops_per_step: counted FLOPs of the last step's batch shape (forward + backward).
        wall_s: real seconds the slice took on this machine.
        healing_overhead_s: real seconds spent inside healing code.
    """

    start_time_s: float
    steps: int = 0
    updates: int = 0
    executions: int = 0
    end_time_s: float = 0.0
    seconds: float = 0.0
    joules: float = 0.0
    losses: list[float] = field(default_factory=list)
    fault_events: list[Any] = field(default_factory=list)
    detections: list[Detection] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    reset: bool = False
    lost_steps: int = 0
    stop_reason: str = ""
    checkpoints: list[int] = field(default_factory=list)
    flops_per_step: int = 0
    wall_s: float = 0.0
    healing_overhead_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (events and detections as counts)."""
        return {
            "steps": self.steps,
            "updates": self.updates,
            "executions": self.executions,
            "start_time_s": self.start_time_s,
            "end_time_s": self.end_time_s,
            "seconds": self.seconds,
            "joules": self.joules,
            "mean_loss": (
                sum(v for v in self.losses if math.isfinite(v))
                / max(1, sum(math.isfinite(v) for v in self.losses))
            ),
            "fault_events": len(self.fault_events),
            "detections": len(self.detections),
            "repairs": len(self.repairs),
            "reset": self.reset,
            "lost_steps": self.lost_steps,
            "stop_reason": self.stop_reason,
            "checkpoints": list(self.checkpoints),
            "flops_per_step": self.flops_per_step,
            "wall_s": self.wall_s,
            "healing_overhead_s": self.healing_overhead_s,
        }


def _clone(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_clone(v) for v in value)
    return value


def _to_device(value: Any, device: torch.device) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, tuple | list):
        return type(value)(_to_device(v, device) for v in value)
    return value


class OnboardTrainer:
    """Budgeted, resumable, self-healing training of one model on one device.

    Args:
        model: the model to train (its parameters' device is where batches are moved).
        optimizer: its optimizer.
        data: batches: a :class:`~orbitlearn.onboard.data.ResumableBatches`, a DataLoader, or an
            iterable of ``(inputs, targets)`` pairs (see :mod:`orbitlearn.onboard.data`).
        loss_fn: ``loss_fn(model_output, targets) -> scalar loss tensor``.
        healing: a policy name (``none``, ``detect``, ``standard``, ``full``, ``dmr``, ``tmr``),
            a :class:`~orbitlearn.healing.HealingPolicy`, or a :class:`~orbitlearn.healing.Healing`.
        faults: a fault injector (:class:`orbitlearn.faults.FaultInjector` or anything with the
            :class:`FaultSource` interface), or None.
        device: a device preset name or a :class:`~orbitlearn.onboard.device.DeviceProfile`.
        checkpoints: a :class:`~orbitlearn.healing.CheckpointStore`, a directory for one, or None.
        checkpoint_every_steps: write a checkpoint after every this many steps (0: never).
        seed: seed of the trainer's random stream (dropout and other model randomness).

    Raises:
        InputError: for a bad argument (the message names it), or a model whose training state
            does not fit the device's memory.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        data: Any,
        *,
        loss_fn: LossFn,
        healing: str | HealingPolicy | Healing = "standard",
        faults: FaultSource | None = None,
        device: str | DeviceProfile = "jetson-orin-nano-15w",
        checkpoints: CheckpointStore | str | Path | None = None,
        checkpoint_every_steps: int = 50,
        seed: int = 0,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise InputError("model", type(model).__name__, "a torch.nn.Module")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise InputError("optimizer", type(optimizer).__name__, "a torch.optim.Optimizer")
        if not callable(loss_fn):
            raise InputError(
                "loss_fn", type(loss_fn).__name__, "a callable (output, targets) -> loss"
            )
        if faults is not None and not isinstance(faults, FaultSource):
            raise InputError("faults", type(faults).__name__, "a FaultInjector (or None)")
        if (
            isinstance(checkpoint_every_steps, bool)
            or not isinstance(checkpoint_every_steps, int)
            or checkpoint_every_steps < 0
        ):
            raise InputError(
                "checkpoint_every_steps", checkpoint_every_steps, "an integer >= 0 (0: never)"
            )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InputError("seed", seed, "an integer")
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.device = get_device(device)
        self._check_memory()
        self.stream = BatchStream(data)
        self.faults = faults
        if isinstance(checkpoints, str | Path):
            checkpoints = CheckpointStore(checkpoints)
        elif checkpoints is not None and not isinstance(checkpoints, CheckpointStore):
            raise InputError(
                "checkpoints", type(checkpoints).__name__, "a CheckpointStore, a directory or None"
            )
        self.store = checkpoints
        self.checkpoint_every_steps = checkpoint_every_steps
        # bind the injector first so healing's guard hooks run after its activation hooks
        if faults is not None:
            faults.bind(model, optimizer)
        self.healing = healing if isinstance(healing, Healing) else Healing(healing)
        self.healing.bind(model, optimizer)
        self.flops = FlopCache(model, loss_fn)
        self.seed = seed
        self._rng_state = torch.Generator().manual_seed(seed).get_state()
        self._cuda_rng_state: torch.Tensor | None = None
        self.step = 0
        self.updates = 0
        self.time_s = 0.0
        self._clock_started = False  # the clock starts with the first slice or a loaded state
        self.energy_j = 0.0
        self.lost_steps = 0
        self.resets = 0
        self.checkpoint_step: int | None = None
        self._boot: dict[str, Any] | None = None
        self.last_checkpoint: CheckpointInfo | None = None
        self.rejected_checkpoints = 0

    # ------------------------------------------------------------------ helpers
    def _check_memory(self) -> None:
        param_bytes = sum(p.numel() * p.element_size() for p in self.model.parameters())
        # parameters, gradients and up to two optimizer moments (Adam)
        needed = 4 * param_bytes
        if needed > self.device.memory_bytes:
            raise InputError(
                "model",
                f"{needed} bytes of training state (4 x {param_bytes} parameter bytes)",
                f"at most the {self.device.memory_bytes} bytes of memory of device {self.device.name!r}",
            )

    def step_flops(self, inputs: Any, targets: Any) -> StepFlops:
        """Counted FLOPs of a step on a batch of this shape (cached)."""
        return self.flops.get(inputs, targets)

    # ------------------------------------------------------------------ training
    def train_slice(
        self,
        max_steps: int | None = None,
        max_seconds: float | None = None,
        max_joules: float | None = None,
        start_time_s: float | None = None,
    ) -> SliceResult:
        """Train until a budget would be exceeded, the data ends, or the device resets.

        Args:
            max_steps: most steps (batches) in this slice.
            max_seconds: most simulated seconds.
            max_joules: most simulated joules.
            start_time_s: simulated clock at the start (>= the trainer's clock; default: go on
                from where the last slice ended). Time since the clock last advanced is idle
                time: the state held in memory is exposed to upsets over it and scrubbed
                before the first step (see the module docstring).

        Returns:
            A :class:`SliceResult`.

        Raises:
            InputError: no budget given, a bad budget, or a clock going backwards.
        """
        budget = Budget(max_steps, max_seconds, max_joules)
        if not budget.bounded:
            raise InputError("budget", "none", "at least one of max_steps, max_seconds, max_joules")
        if start_time_s is not None:
            if (
                isinstance(start_time_s, bool)
                or not isinstance(start_time_s, int | float)
                or not math.isfinite(start_time_s)
            ):
                raise InputError("start_time_s", start_time_s, "a finite number of seconds")
            if start_time_s < self.time_s:
                raise InputError(
                    "start_time_s", start_time_s, f">= the trainer's clock ({self.time_s} s)"
                )
        idle_from, idle_s = self.time_s, 0.0
        if start_time_s is not None:
            if self._clock_started:
                idle_s = float(start_time_s) - self.time_s
            self.time_s = float(start_time_s)
        self._clock_started = True
        if self._boot is None:
            self._boot = _clone(self.state_dict())
        meter = BudgetMeter(budget)
        result = SliceResult(start_time_s=self.time_s)
        events_before = len(self.faults.events) if self.faults is not None else 0
        wall_start = time.perf_counter()
        if idle_s > 0.0:
            self._idle(idle_from, idle_s, result)
        device = model_device(self.model)
        cuda = [device.index or 0] if device.type == "cuda" else []
        reset = False
        with torch.random.fork_rng(devices=cuda):
            torch.set_rng_state(self._rng_state)
            if cuda and self._cuda_rng_state is not None:
                torch.cuda.set_rng_state(self._cuda_rng_state, cuda[0])
            while True:
                batch = self.stream.peek()
                if batch is None:
                    result.stop_reason = "data_exhausted"
                    break
                inputs, targets = _to_device(batch[0], device), _to_device(batch[1], device)
                flops = self.flops.get(inputs, targets)
                step_s = self.device.seconds_for_flops(flops.total)
                step_j = self.device.joules_for_seconds(step_s)
                if not meter.fits(seconds=step_s, joules=step_j):
                    result.stop_reason = meter.stop_reason or "budget"
                    break
                self.stream.advance()
                result.flops_per_step = flops.total
                if self.faults is not None and self.faults.reset_due(
                    time_s=self.time_s, duration_s=step_s
                ):
                    meter.charge(seconds=step_s, joules=step_j)
                    self.time_s += step_s
                    self.energy_j += step_j
                    result.lost_steps = self._reset()
                    result.reset = reset = True
                    result.stop_reason = "reset"
                    break
                outcome_s = self._train_step(inputs, targets, step_s, result)
                spent_j = self.device.joules_for_seconds(outcome_s)
                meter.charge(seconds=outcome_s, joules=spent_j)
                self.time_s += outcome_s
                self.energy_j += spent_j
                if (
                    self.store is not None
                    and self.checkpoint_every_steps
                    and self.step % self.checkpoint_every_steps == 0
                ):
                    self.save_checkpoint()
                    result.checkpoints.append(self.step)
            if not reset:
                self._rng_state = torch.get_rng_state()
                if cuda:
                    self._cuda_rng_state = torch.cuda.get_rng_state(cuda[0])
        result.end_time_s = self.time_s
        result.seconds = meter.seconds
        result.joules = meter.joules
        result.steps = meter.steps - int(reset)
        if self.faults is not None:
            result.fault_events = list(self.faults.events[events_before:])
        result.wall_s = time.perf_counter() - wall_start
        return result

    def _idle(self, idle_from: float, idle_s: float, result: SliceResult) -> None:
        """The state sat in memory for ``idle_s`` since ``idle_from``: expose it, then scrub."""
        faults = self.faults
        if faults is not None:
            expose = getattr(faults, "expose_idle", None)
            if callable(expose):
                expose(step=self.step, time_s=idle_from, duration_s=idle_s)
            else:
                faults.after_step(step=self.step, time_s=idle_from, duration_s=idle_s)
        outcome: StepOutcome = self.healing.scrub(step=self.step)
        result.detections += outcome.detections
        result.repairs += outcome.repairs
        result.healing_overhead_s += outcome.overhead_s

    def _train_step(self, inputs: Any, targets: Any, step_s: float, result: SliceResult) -> float:
        """One healed step; returns the simulated seconds it took."""
        step, time_s, faults = self.step, self.time_s, self.faults
        model, loss_fn = self.model, self.loss_fn

        def corrupt(x: Any) -> Any:
            assert faults is not None
            if isinstance(x, torch.Tensor):
                return faults.corrupt_batch(x, step=step, time_s=time_s, duration_s=step_s)
            return tuple(corrupt(v) for v in x)

        def compute() -> torch.Tensor:
            x = corrupt(inputs) if faults is not None else inputs
            output = model(*x) if isinstance(x, tuple) else model(x)
            loss = loss_fn(output, targets)
            loss.backward()
            return loss

        after_backward = after_update = None
        if faults is not None:

            def after_backward() -> None:
                faults.after_backward(step=step, time_s=time_s, duration_s=step_s)

            def after_update() -> None:
                faults.after_step(step=step, time_s=time_s, duration_s=step_s)

        outcome = self.healing.step(
            compute, after_backward=after_backward, after_update=after_update, step=step
        )
        self.step += 1
        if outcome.applied:
            self.updates += 1
        result.executions += outcome.executions
        result.updates += int(outcome.applied)
        result.losses.append(outcome.loss)
        result.detections += outcome.detections
        result.repairs += outcome.repairs
        result.healing_overhead_s += outcome.overhead_s
        return outcome.executions * step_s

    # ------------------------------------------------------------------ checkpoints and resets
    def save_checkpoint(self) -> CheckpointInfo:
        """Scrub the state (healing verifies/repairs it) and write a checkpoint generation.

        Raises:
            InputError: the trainer has no checkpoint store.
            CheckpointError: the write failed (older generations are kept).
        """
        if self.store is None:
            raise InputError("checkpoints", None, "a CheckpointStore to save checkpoints")
        self.healing.scrub(step=self.step)
        self.checkpoint_step = self.step
        info = self.store.save(
            self.state_dict(),
            step=self.step,
            metadata={
                "updates": self.updates,
                "time_s": self.time_s,
                "policy": self.healing.policy.name,
            },
        )
        self.last_checkpoint = info
        return info

    def resume(self) -> bool:
        """Load the newest good checkpoint from the store, if there is one.

        Returns:
            Whether a checkpoint was loaded (False: the store is empty or absent).

        Raises:
            CheckpointError: checkpoints exist but none verifies, or the good one does not fit
                this model/optimizer/data.
        """
        if self.store is None:
            return False
        loaded = self.store.load_latest()
        if loaded is None:
            return False
        self.rejected_checkpoints += len(loaded.rejected)
        self.load_state_dict(loaded.state)
        self.last_checkpoint = loaded.info
        return True

    def _reset(self) -> int:
        """A functional interrupt: reload flight state from the last good checkpoint."""
        keep = {
            "time_s": self.time_s,
            "energy_j": self.energy_j,
            "lost_steps": self.lost_steps,
            "resets": self.resets,
        }
        step_at_reset = self.step
        state: Mapping[str, Any] | None = None
        if self.store is not None:
            try:
                loaded = self.store.load_latest()
            except CheckpointError:
                loaded = None
            if loaded is not None:
                self.rejected_checkpoints += len(loaded.rejected)
                state = loaded.state
        if state is None:
            assert self._boot is not None
            state = _clone(self._boot)
        self.load_state_dict(
            state, restore_faults=False, restore_report=False, rewind_one_shot=False
        )
        self.time_s = keep["time_s"]
        self.energy_j = keep["energy_j"]
        lost = step_at_reset - self.step
        self.lost_steps = int(keep["lost_steps"]) + lost
        self.resets = int(keep["resets"]) + 1
        return lost

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue identically (loadable with ``weights_only=True``).

        Keys (each a payload file in a :class:`~orbitlearn.healing.CheckpointStore`):
        ``model``, ``optimizer``, ``trainer`` (step counters, clock, energy, data position, RNG,
        healing statistics) and ``faults`` (the injector's state, or None).
        """
        trainer = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "step": self.step,
            "updates": self.updates,
            "time_s": self.time_s,
            "energy_j": self.energy_j,
            "lost_steps": self.lost_steps,
            "resets": self.resets,
            "clock_started": self._clock_started,
            "seed": self.seed,
            "checkpoint_step": self.checkpoint_step,
            "rng": self._rng_state.clone(),
            "cuda_rng": None if self._cuda_rng_state is None else self._cuda_rng_state.clone(),
            "data": self.stream.state_dict(),
            "healing": self.healing.state_dict(),
        }
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "trainer": trainer,
            "faults": None if self.faults is None else self.faults.state_dict(),
        }

    def load_state_dict(
        self,
        state: Mapping[str, Any],
        *,
        restore_faults: bool = True,
        restore_report: bool = True,
        rewind_one_shot: bool = True,
    ) -> None:
        """Restore :meth:`state_dict` output.

        Args:
            state: the saved state.
            restore_faults: also restore the injector's state (False after a reset: the
                environment does not roll back).
            restore_report: also restore healing's counters.
            rewind_one_shot: see :meth:`orbitlearn.onboard.data.BatchStream.load_state_dict`.

        Raises:
            CheckpointError: the state is not a trainer state, or does not fit this model,
                optimizer or data.
        """
        missing = [k for k in ("model", "optimizer", "trainer") if k not in state]
        if missing:
            raise CheckpointError(
                f"the state lacks {', '.join(missing)}; it is not an onboard trainer state"
            )
        trainer = state["trainer"]
        if not isinstance(trainer, Mapping) or trainer.get("format") != STATE_FORMAT:
            raise CheckpointError("the state's trainer entry is not an onboard trainer state")
        if trainer.get("version") != STATE_VERSION:
            raise CheckpointError(
                f"the trainer state has version {trainer.get('version')!r}; this orbitlearn reads {STATE_VERSION}"
            )
        try:
            self.model.load_state_dict(state["model"])
        except (RuntimeError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"the checkpoint's model state does not fit this model: {exc}"
            ) from exc
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"the checkpoint's optimizer state does not fit this optimizer: {exc}"
            ) from exc
        self.stream.load_state_dict(trainer["data"], rewind_one_shot=rewind_one_shot)
        try:
            self.healing.load_state_dict(trainer["healing"], include_report=restore_report)
        except InputError as exc:
            raise CheckpointError(f"the checkpoint's healing state does not fit: {exc}") from exc
        if restore_faults and self.faults is not None and state.get("faults") is not None:
            self.faults.load_state_dict(state["faults"])
        self.step = int(trainer["step"])
        self.updates = int(trainer["updates"])
        self.time_s = float(trainer["time_s"])
        # a loaded state's clock is running (states written before this key existed too)
        self._clock_started = bool(trainer.get("clock_started", True))
        self.energy_j = float(trainer["energy_j"])
        self.lost_steps = int(trainer["lost_steps"])
        self.resets = int(trainer["resets"])
        self.checkpoint_step = (
            None if trainer["checkpoint_step"] is None else int(trainer["checkpoint_step"])
        )
        self._rng_state = trainer["rng"].clone()
        cuda_rng = trainer.get("cuda_rng")
        self._cuda_rng_state = None if cuda_rng is None else cuda_rng.clone()
        # the optimizer's state tensors were replaced: protected copies must follow
        self.healing.rebind()
