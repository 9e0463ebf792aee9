"""Self-healing training steps: :class:`Healing` wraps one optimizer step of any training loop.

>>> import torch
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> model = torch.nn.Linear(4, 2)
>>> opt = torch.optim.Adam(model.parameters(), lr=1e-2)
>>> healing = Healing("full").bind(model, opt)
>>> x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
>>> def compute():
...     loss = torch.nn.functional.cross_entropy(model(x), y)
...     loss.backward()
...     return loss
>>> def upset():  # a memory upset in a weight after the update
...     with torch.no_grad():
...         model.weight.view(-1).view(torch.int32)[3] ^= 1 << 30
>>> outcome = healing.step(compute, after_update=upset)
>>> [(d.detector, d.target, d.resolution) for d in outcome.detections]
[('state_copy', 'weight', 'corrected')]
>>> bool(torch.isfinite(model.weight).all()), healing.report.corrected
(True, 1)

The step contract: ``compute()`` runs forward and backward for the current batch and returns the
loss; it may be called more than once per step (re-execution after an anomaly, DMR, TMR), so it
must not advance the data itself. Healing zeroes gradients (``set_to_none=True``) before each
call, restores the global torch RNG state and the model buffers before each re-execution (so a
re-execution is bit-identical unless a transient fault struck), and calls ``optimizer.step()``
itself. ``after_backward()`` and ``after_update()`` are optional callbacks that run after each
backward and after each update: the places where a fault injector applies gradient and memory
upsets. See :mod:`orbitlearn.healing.policies` for what each policy checks.

Where upsets may land: anywhere, at any time. Policies with a protected copy or replicas
(``full``, ``dmr``, ``tmr``) compare the live state with it at three points, so every interval
between two legitimate writes of the state is covered:

* at the start of a step, the model buffers (a forward pass in training mode rewrites them);
* before the update, the parameters and the optimizer state: an upset since the last step (in
  between steps or training slices) or during forward/backward is restored from the copy, and
  if a parameter was hit the step is re-executed (its gradients were computed from the upset
  value);
* after ``after_update()``, when that callback is given (an injector's memory upsets are
  attributed to the step that exposed them); without it nothing can run between the refresh of
  the copy and that compare, so it is skipped and the next step's checks cover the interval.

Upsets in buffers *during* a forward pass are blended into the statistics that pass writes and
are not detected. :meth:`Healing.scrub` checks everything at once (before a checkpoint, or
after the state sat idle).

Parameters the optimizer does not own (a frozen backbone when fine-tuning a head) are verified
every step but copied into the protected copy only when the state is loaded or rolled back:
code that changes them between steps must call :meth:`Healing.rebind` afterwards.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from orbitlearn.errors import InputError
from orbitlearn.healing.bits import read_floats
from orbitlearn.healing.blocks import (
    optimizer_state_size,
    parameter_names,
    state_blocks,
    trainable_parameters,
)
from orbitlearn.healing.detectors import ActivationRangeGuard, SpikeDetector, StateRangeCheck
from orbitlearn.healing.policies import HealingPolicy, resolve_policy
from orbitlearn.healing.protected import ProtectedCopy
from orbitlearn.healing.redundancy import StateReplicas, vote_tensors
from orbitlearn.healing.repairs import StateSnapshot
from orbitlearn.healing.report import Detection, HealingReport, Repair, StepOutcome

__all__ = ["Healing"]

Callback = Callable[[], Any]


def _bits(value: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", value))[0])


_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _total_norm(grads: list[torch.Tensor]) -> float:
    """Total L2 norm of ``grads`` (one pass over them).

    Runs every step of most policies, so it is the largest per-step cost of ``standard``. On
    CPU, float32/float64 gradients are reduced by BLAS ``dot`` through numpy views (no copy, no
    per-tensor torch dispatch): on the gradients of bench/healing_overhead.py's MLP (269k
    values) 57 us against 142 us for ``torch._foreach_norm`` alone, which runs a slower
    reduction on CPU (timeit, best of 9, on the 2-core development VM at load 4.4). Each
    tensor's squares are summed in its own precision, as torch's norm does (the per-tensor sums
    are then added in float64 on the host): a float32 gradient whose sum of squares overflows
    (an element above ~1.8e19) gives an infinite norm and is flagged as non-finite - rightly,
    since Adam's second moment would overflow on it too. Tensors numpy cannot view (other devices, half precision, gradients
    that require grad) take ``torch._foreach_norm`` with one read-back.
    """
    if not grads:
        return 0.0
    total = 0.0
    try:
        for g in grads:
            a = g.numpy()  # TypeError/RuntimeError where no view is possible
            if a.dtype not in _BLAS_DTYPES:
                raise TypeError(a.dtype)
            total += float(np.vdot(a, a))  # vdot flattens (a copy only if non-contiguous)
    except (TypeError, RuntimeError):
        pass
    else:
        return math.sqrt(total)
    norms = torch._foreach_norm(grads)
    try:
        values = torch.stack(norms).tolist()  # one device (dtypes are promoted)
    except RuntimeError:
        values = read_floats(norms)
    return math.sqrt(math.fsum([n * n for n in values]))


def _loss_and_norm_on_device(loss: torch.Tensor, grads: list[torch.Tensor]) -> tuple[float, float]:
    """The loss and the total gradient norm with one read-back from an accelerator.

    Each read-back of a GPU value waits for the device; on the short steps of small models
    that wait is most of what the checks cost, so the loss and the per-tensor norms travel
    together (:func:`~orbitlearn.healing.bits.read_floats`: one read per device).
    """
    values = read_floats([loss.detach().reshape(()), *torch._foreach_norm(grads)])
    return values[0], math.sqrt(math.fsum([n * n for n in values[1:]]))


def _vote_scalar(values: list[float]) -> float:
    """The value at least two executions agree on bit for bit, else the median of the finite
    ones (NaN if none is finite)."""
    patterns = [_bits(v) for v in values]
    for v, bits in zip(values, patterns, strict=True):
        if patterns.count(bits) >= 2:
            return v
    finite = sorted(v for v in values if math.isfinite(v))
    return finite[len(finite) // 2] if finite else math.nan


class Healing:
    """Detection and repair around each optimizer step, configured by a policy.

    Args:
        policy: a policy name (``none``, ``detect``, ``standard``, ``full``, ``dmr``, ``tmr``)
            or a :class:`~orbitlearn.healing.policies.HealingPolicy`.
        **overrides: policy fields to change (e.g. ``scan_every_steps=5``).

    Raises:
        InputError: for an unknown policy or option, or an invalid value.
    """

    def __init__(self, policy: str | HealingPolicy = "standard", **overrides: Any) -> None:
        self.policy: HealingPolicy = resolve_policy(policy, overrides)
        p = self.policy
        self.report = HealingReport()
        self.loss_spikes = SpikeDetector(
            window=p.spike_window,
            warmup=p.spike_warmup,
            threshold_mads=p.spike_threshold_mads,
            min_ratio=p.spike_min_ratio,
        )
        self.grad_spikes = SpikeDetector(
            window=p.spike_window,
            warmup=p.spike_warmup,
            threshold_mads=p.spike_threshold_mads,
            min_ratio=p.spike_min_ratio,
        )
        self.range_check = StateRangeCheck(exponent_slack_binades=p.exponent_slack_binades)
        self.guard: ActivationRangeGuard | None = None
        if p.activation_guard:
            self.guard = ActivationRangeGuard(
                margin=p.activation_margin,
                warmup_passes=p.activation_warmup,
                mode=p.activation_mode,
                include_eval=p.activation_in_eval,
            )
        self.model: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self._params: list[torch.Tensor] = []
        self._param_names: list[str] = []
        self._blocks: list[tuple[str, torch.Tensor]] = []
        self._buffer_blocks: list[int] = []  # indices of model buffers in _blocks
        self._update_blocks: list[int] = []  # parameters and optimizer state
        self._param_block_names: set[str] = set()
        self._optim_size = -1
        self._state_copy: ProtectedCopy | None = None
        self._grad_copy: ProtectedCopy | None = None
        self._grad_key: tuple[int, ...] = ()
        self._replicas: StateReplicas | None = None
        self._snapshot: StateSnapshot | None = None
        self._copy_valid = False
        self._dynamic: list[int] | None = None
        self._redundant_grads: list[list[torch.Tensor | None]] = []
        self._rng_cpu: torch.Tensor | None = None
        self._rng_cuda: list[torch.Tensor] | None = None
        self._buffers: list[torch.Tensor] = []
        self._buffer_copy: list[torch.Tensor] = []
        self._consecutive_skips = 0
        self._persistent = 0
        self._next_step = 0
        self._re_executes = p.executions > 1 or (p.repair and p.max_executions > 1)

    # ------------------------------------------------------------------ binding
    def bind(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> Healing:
        """Attach to a model and its optimizer (after any fault injector). Returns self."""
        if not isinstance(model, nn.Module):
            raise InputError("model", type(model).__name__, "a torch.nn.Module")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise InputError("optimizer", type(optimizer).__name__, "a torch.optim.Optimizer")
        self.unbind()
        self.model = model
        self.optimizer = optimizer
        self._params = trainable_parameters(optimizer)
        self._param_names = parameter_names(model, optimizer)
        self._buffers = [b for b in model.buffers()]
        self._buffer_copy = [torch.empty_like(b) for b in self._buffers]
        if self.guard is not None:
            self.guard.attach(model)
        self._refresh_blocks(force=True)
        return self

    def unbind(self) -> None:
        """Detach hooks and drop references to the model and optimizer."""
        if self.guard is not None:
            self.guard.detach()
        self.model = None
        self.optimizer = None
        self._state_copy = None
        self._replicas = None
        self._grad_copy = None
        self._grad_key = ()
        self._copy_valid = False

    def rebind(self) -> None:
        """Re-read the state blocks after the model or optimizer state was replaced in bulk
        (``load_state_dict``); the protected copy and replicas are refreshed from the live state
        and the rollback snapshot is dropped."""
        if self.model is None or self.optimizer is None:
            raise RuntimeError("Healing.rebind() called before bind()")
        self.bind(self.model, self.optimizer)
        self._snapshot = None
        self._sync_copies()

    def _require_bound(self) -> tuple[nn.Module, torch.optim.Optimizer]:
        if self.model is None or self.optimizer is None:
            raise RuntimeError("Healing.step() needs bind(model, optimizer) first")
        return self.model, self.optimizer

    def _refresh_blocks(self, *, force: bool = False) -> None:
        model, optimizer = self._require_bound()
        size = optimizer_state_size(optimizer)
        if not force and size == self._optim_size:
            return
        self._optim_size = size
        self._blocks = state_blocks(model, optimizer)
        # blocks a step can write: the optimizer's parameters and state, and buffers; parameters
        # the optimizer does not own (a frozen backbone) change only through load_state_dict or a
        # rollback, after which the copies are synced in full
        owned = {id(p) for p in self._params}
        frozen = {name for name, p in model.named_parameters() if id(p) not in owned}
        dynamic = [i for i, (name, _) in enumerate(self._blocks) if name not in frozen]
        self._dynamic = None if len(dynamic) == len(self._blocks) else dynamic
        buffers = {id(b) for b in model.buffers()}
        self._buffer_blocks = [i for i, (_, t) in enumerate(self._blocks) if id(t) in buffers]
        self._update_blocks = [i for i, (_, t) in enumerate(self._blocks) if id(t) not in buffers]
        self._param_block_names = {name for name, _ in model.named_parameters()}
        p = self.policy
        if p.protect_state:
            if self._state_copy is None:
                self._state_copy = ProtectedCopy(self._blocks, method=p.protect_method)
            else:
                self._state_copy.set_blocks(self._blocks)
        if p.state_replicas:
            self._replicas = StateReplicas(self._blocks, replicas=p.state_replicas)
        self._copy_valid = False

    def _sync_copies(self, *, changed_only: bool = False) -> None:
        """Make the protected copy and replicas equal to the live state.

        With ``changed_only`` (after an update) only blocks a step can write are copied.
        """
        only = self._dynamic if (changed_only and self._copy_valid) else None
        if self._state_copy is not None:
            self._state_copy.refresh(only=only)
        if self._replicas is not None:
            self._replicas.refresh()
        self._copy_valid = True

    # ------------------------------------------------------------------ execution
    def _begin_step(self) -> None:
        if not self._re_executes:
            return
        self._rng_cpu = torch.get_rng_state()
        self._rng_cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        if self._buffers:
            torch._foreach_copy_(self._buffer_copy, [b.detach() for b in self._buffers])

    def _prepare_reexecution(self) -> None:
        if self._rng_cpu is not None:
            torch.set_rng_state(self._rng_cpu)
        if self._rng_cuda is not None:
            torch.cuda.set_rng_state_all(self._rng_cuda)
        if self._buffers:
            with torch.no_grad():
                torch._foreach_copy_([b for b in self._buffers], self._buffer_copy)

    def _grads(self) -> tuple[list[int], list[torch.Tensor]]:
        indices = [i for i, p in enumerate(self._params) if p.grad is not None]
        return indices, [self._params[i].grad for i in indices]  # type: ignore[misc]

    def _execute(
        self,
        compute: Callable[[], torch.Tensor],
        after_backward: Callback | None,
        outcome: StepOutcome,
        clock: list[float],
    ) -> torch.Tensor:
        if outcome.executions:
            self._prepare_reexecution()
        for param in self._params:  # optimizer.zero_grad(set_to_none=True), without its profiler
            param.grad = None
        if self.guard is not None:
            self.guard.begin_pass()
        start = time.perf_counter()
        loss = compute()
        clock[0] += time.perf_counter() - start
        outcome.executions += 1
        if not isinstance(loss, torch.Tensor):
            raise InputError(
                "compute()", type(loss).__name__, "a function returning the loss tensor"
            )
        if self.policy.protect_grads and self.policy.executions == 1:
            self._protect_grads()
        if after_backward is not None:
            start = time.perf_counter()
            after_backward()
            clock[0] += time.perf_counter() - start
        if self.policy.protect_grads and self.policy.executions == 1 and self._grad_copy:
            for name, wrong in self._grad_copy.restore(self._grad_copy.verify()):
                target = f"{name}.grad"
                outcome.detections.append(
                    Detection(
                        outcome.step,
                        "grad_copy",
                        target,
                        "gradient changed between backward and the update",
                        wrong,
                        "corrected",
                    )
                )
                outcome.repairs.append(Repair(outcome.step, "restore_copy", target))
        return loss

    def _protect_grads(self) -> None:
        indices, grads = self._grads()
        key = tuple(indices)
        if self._grad_copy is None or key != self._grad_key:
            blocks = [(self._param_names[i], g) for i, g in zip(indices, grads, strict=True)]
            if self._grad_copy is None:
                # a copy, not a checksum: additive checksums miss pairs of flips of one bit
                # position in opposite directions, and restoring beats re-executing
                self._grad_copy = ProtectedCopy(blocks)
            else:
                self._grad_copy.set_blocks(blocks)
            self._grad_key = key
            self._grad_copy.refresh()
        else:
            self._grad_copy.refresh(grads)

    def _execute_redundant(
        self,
        compute: Callable[[], torch.Tensor],
        after_backward: Callback | None,
        outcome: StepOutcome,
        clock: list[float],
    ) -> torch.Tensor:
        """Run ``executions`` (2 or 3) executions and vote gradients; DMR adds a third on mismatch."""
        p = self.policy
        losses: list[torch.Tensor] = []
        saved: list[list[torch.Tensor | None]] = []

        def run_one(keep: bool) -> None:
            loss = self._execute(compute, after_backward, outcome, clock)
            losses.append(loss.detach())
            if keep:
                slot = len(saved)
                while len(self._redundant_grads) <= slot:
                    self._redundant_grads.append([None] * len(self._params))
                buffers = self._redundant_grads[slot]
                row: list[torch.Tensor | None] = []
                for i, param in enumerate(self._params):
                    grad = param.grad
                    if grad is None:
                        row.append(None)
                        continue
                    buf = buffers[i]
                    if buf is None or buf.shape != grad.shape or buf.dtype != grad.dtype:
                        buf = torch.empty_like(grad)
                        buffers[i] = buf
                    buf.copy_(grad)
                    row.append(buf)
                saved.append(row)

        for r in range(p.executions):
            run_one(keep=r < p.executions - 1)
        live: list[torch.Tensor | None] = [param.grad for param in self._params]
        disagreed = self._vote_grads(saved, live, outcome)
        if disagreed and p.executions == 2 and outcome.executions < p.max_executions:
            # DMR: no majority between two; a third execution decides
            current = [g.clone() if g is not None else None for g in live]
            run_one(keep=False)
            saved.append(current)
            live = [param.grad for param in self._params]
            self._vote_grads(saved, live, outcome)
            outcome.repairs.append(Repair(outcome.step, "recompute", "dmr", "third execution"))
        return torch.tensor(_vote_scalar([float(v) for v in losses]))

    def _vote_grads(
        self,
        saved: list[list[torch.Tensor | None]],
        live: list[torch.Tensor | None],
        outcome: StepOutcome,
    ) -> bool:
        disagreed = False
        for i, grad in enumerate(live):
            members = [row[i] for row in saved] + [grad]
            if grad is None or any(m is None for m in members):
                continue
            result = vote_tensors(members)  # type: ignore[arg-type]
            if result.agreed:
                continue
            disagreed = True
            if not result.decided:
                continue
            name = self._param_names[i]
            if result.value is not grad:
                grad.copy_(result.value)
            outcome.detections.append(
                Detection(
                    outcome.step,
                    "redundancy_vote",
                    f"{name}.grad",
                    f"replicas {result.odd} out-voted",
                    0,
                    "corrected",
                )
            )
            outcome.repairs.append(Repair(outcome.step, "vote", f"{name}.grad"))
        return disagreed

    def _judge(
        self, loss: torch.Tensor, outcome: StepOutcome
    ) -> tuple[float, float, list[Detection]]:
        """Run the cheap checks on one execution's result."""
        p = self.policy
        wants_norm = p.check_grad_norm or p.spikes
        grads = [q.grad for q in self._params if q.grad is not None] if wants_norm else []
        grad_norm = math.nan
        if grads and loss.device.type != "cpu":
            loss_value, grad_norm = _loss_and_norm_on_device(loss, grads)
        else:
            loss_value = loss.item()
            if wants_norm:
                grad_norm = _total_norm(grads)
        found: list[Detection] = []
        if p.check_loss and not math.isfinite(loss_value):
            found.append(Detection(outcome.step, "loss_nonfinite", "loss", f"loss = {loss_value}"))
        if p.check_grad_norm and not math.isfinite(grad_norm):
            found.append(
                Detection(outcome.step, "grad_nonfinite", "grad", f"total norm = {grad_norm}")
            )
        if self.guard is not None:
            for v in self.guard.violations():
                found.append(Detection(outcome.step, "activation_range", v.layer, v.describe()))
        if p.spikes:
            if self.loss_spikes.is_spike(loss_value):
                found.append(
                    Detection(
                        outcome.step,
                        "loss_spike",
                        "loss",
                        f"loss {loss_value:.6g} > {self.loss_spikes.limit():.6g}",
                    )
                )
            if self.grad_spikes.is_spike(grad_norm):
                found.append(
                    Detection(
                        outcome.step,
                        "grad_spike",
                        "grad",
                        f"norm {grad_norm:.6g} > {self.grad_spikes.limit():.6g}",
                    )
                )
        return loss_value, grad_norm, found

    # ------------------------------------------------------------------ the step
    def step(
        self,
        compute: Callable[[], torch.Tensor],
        *,
        after_backward: Callback | None = None,
        after_update: Callback | None = None,
        step: int | None = None,
    ) -> StepOutcome:
        """Run one healed training step (see the module docstring for the contract).

        Args:
            compute: forward + backward for the current batch; returns the loss tensor.
            after_backward: called after each backward (gradient upsets land here).
            after_update: called once after the update (memory upsets land here).
            step: the step index for records (default: counts calls).

        Returns:
            The :class:`~orbitlearn.healing.report.StepOutcome`; also added to :attr:`report`.
        """
        _, optimizer = self._require_bound()
        started = time.perf_counter()
        clock = [0.0]  # seconds spent in compute and the callbacks (not healing overhead)
        index = self._next_step if step is None else int(step)
        self._next_step = index + 1
        p = self.policy
        outcome = StepOutcome(step=index, executions=0)
        if self._buffer_blocks and self._copy_valid:
            # buffers: before the forward rewrites them (and before _begin_step saves them)
            self._verify_copies(outcome, self._buffer_blocks)
        self._begin_step()

        pending: list[Detection] = []
        previous: tuple[Any, ...] | None = None
        previous_found: list[Detection] = []
        accepted = False
        clean = False  # the accepted execution passed every check
        reproduced = False
        state_checked = False
        loss_value = grad_norm = math.nan
        while True:
            if p.executions > 1:
                loss = self._execute_redundant(compute, after_backward, outcome, clock)
            else:
                loss = self._execute(compute, after_backward, outcome, clock)
            loss_value, grad_norm, found = self._judge(loss, outcome)
            clean = not found
            if found and not p.repair:
                for d in found:
                    d.resolution = "unrepaired"
                pending += found
            elif found:
                signature = (
                    _bits(loss_value),
                    _bits(grad_norm),
                    sorted((d.detector, d.target) for d in found),
                )
                finite = math.isfinite(loss_value) and math.isfinite(grad_norm)
                if previous is not None and signature == previous and finite:
                    # a bit-identical re-execution: a true outlier (or corrupted state, which
                    # the persistence limit and the state checks deal with), not a transient fault
                    for d in previous_found:
                        d.resolution = "false_alarm"
                    outcome.repairs.append(
                        Repair(index, "accept_outlier", ",".join(d.detector for d in found))
                    )
                    reproduced = True
                else:
                    pending += found
                    previous, previous_found = signature, found
                    if not state_checked:
                        state_checked = True
                        self._check_state(outcome)
                    if outcome.executions >= p.max_executions:
                        break
                    outcome.repairs.append(
                        Repair(index, "recompute", ",".join(d.detector for d in found))
                    )
                    continue
            # about to update: the parameters and optimizer state must still be the protected
            # ones (an upset since the last step, or during forward/backward, is restored here)
            if self._verify_copies(outcome, self._update_blocks) and p.repair:
                # the forward read an upset value: its gradients are wrong
                clean = reproduced = False
                previous = None
                if outcome.executions >= p.max_executions:
                    break
                outcome.repairs.append(Repair(index, "recompute", "state_copy"))
                continue
            accepted = True
            break

        if accepted:
            start = time.perf_counter()
            optimizer.step()
            clock[0] += time.perf_counter() - start
            outcome.loss, outcome.grad_norm = loss_value, grad_norm
            for d in pending:
                if d.resolution == "pending":
                    d.resolution = "corrected"
            if p.spikes and (clean or reproduced):
                self.loss_spikes.update(loss_value)
                self.grad_spikes.update(grad_norm)
            if self.guard is not None and (clean or reproduced):
                self.guard.commit_clean_pass()
            self._consecutive_skips = 0
            self._persistent = self._persistent + 1 if reproduced else 0
            if self._persistent >= p.persistent_limit:
                self._persistent = 0
                self._rollback(outcome, "anomaly reproduced on consecutive steps")
        else:
            outcome.applied = False
            outcome.repairs.append(
                Repair(index, "skip_batch", "", f"{outcome.executions} executions failed")
            )
            for d in pending:
                d.resolution = "corrected"
            self._consecutive_skips += 1
            if self._consecutive_skips >= p.skip_limit:
                self._consecutive_skips = 0
                self._rollback(outcome, f"{p.skip_limit} consecutive skipped batches")
        outcome.detections[:0] = pending

        self._after_update(outcome, after_update, clock)
        outcome.overhead_s = max(0.0, time.perf_counter() - started - clock[0])
        self.report.record(outcome)
        return outcome

    def _after_update(
        self, outcome: StepOutcome, after_update: Callback | None, clock: list[float]
    ) -> None:
        p = self.policy
        if p.protect_state or p.state_replicas:
            self._refresh_blocks()
            self._sync_copies(changed_only=True)
        if after_update is not None:
            start = time.perf_counter()
            after_update()
            clock[0] += time.perf_counter() - start
            # without the callback nothing ran since the refresh: the next step's checks cover it
            self._verify_copies(outcome)
        step = outcome.step
        scan_due = p.scan_every_steps and (step + 1) % p.scan_every_steps == 0
        snapshot_due = (
            p.repair
            and p.snapshot_every_steps
            and (self._snapshot is None or (step + 1) % p.snapshot_every_steps == 0)
        )
        if scan_due or snapshot_due:
            self._refresh_blocks()
            clean = self._scan(outcome, learn=True)
            if clean and snapshot_due and not outcome.rolled_back:
                model, optimizer = self._require_bound()
                self._snapshot = StateSnapshot.capture(
                    model, optimizer, step=step, reuse=self._snapshot
                )

    def _verify_copies(self, outcome: StepOutcome, only: list[int] | None = None) -> bool:
        """Compare the live state with the protected copy / replicas and repair it.

        Args:
            outcome: where detections and repairs are recorded.
            only: block indices to check (None: all).

        Returns:
            Whether a parameter was changed by the repair (restored, voted or rolled back): a
            forward pass that read it before the repair computed from a wrong value.
        """
        if not self._copy_valid:
            return False
        touched = False
        step = outcome.step
        if self._state_copy is not None:
            bad = self._state_copy.verify(only)
            for name, wrong in self._state_copy.restore(bad):
                outcome.detections.append(
                    Detection(
                        step,
                        "state_copy",
                        name,
                        "differs from the protected copy",
                        wrong,
                        "corrected",
                    )
                )
                outcome.repairs.append(Repair(step, "restore_copy", name))
                touched = touched or name in self._param_block_names
        if self._replicas is not None:
            repaired, undecided = self._replicas.check(only, limit_of=self.range_check.limit)
            tie_broken = self._replicas.replicas == 1
            for name, wrong in repaired:
                detail = (
                    "replicas disagreed; the copy holding non-finite or out-of-range values lost"
                    if tie_broken
                    else "replicas disagreed"
                )
                outcome.detections.append(
                    Detection(step, "redundancy_vote", name, detail, wrong, "corrected")
                )
                outcome.repairs.append(
                    Repair(
                        step,
                        "restore_copy" if tie_broken else "vote",
                        name,
                        "" if wrong else "replica",
                    )
                )
                touched = touched or (wrong > 0 and name in self._param_block_names)
            if undecided:
                found = [
                    Detection(step, "redundancy_vote", name, "replicas disagree without a majority")
                    for name in undecided
                ]
                rolled = self._rollback(outcome, "replica mismatch")
                for d in found:
                    d.resolution = "corrected" if rolled else "unrepaired"
                outcome.detections += found
                touched = touched or rolled
        return touched

    def _scan(self, outcome: StepOutcome, *, learn: bool) -> bool:
        bad = self.range_check.scan(self._blocks, learn=learn)
        if not bad:
            return True
        found = [Detection(outcome.step, "state_range", name, problem) for name, problem in bad]
        rolled = self.policy.repair and self._rollback(outcome, "state range scan failed")
        for d in found:
            d.resolution = "corrected" if rolled else "unrepaired"
        outcome.detections += found
        return False

    def _check_state(self, outcome: StepOutcome) -> None:
        """Before re-executing: make sure the state itself is not what went wrong (buffers are
        left out: the forward rewrote them, and a re-execution restores them)."""
        self._refresh_blocks()
        self._verify_copies(outcome, self._update_blocks)
        if self.policy.scan_every_steps or self.policy.protect_state:
            self._scan(outcome, learn=False)

    def _rollback(self, outcome: StepOutcome, reason: str) -> bool:
        if not self.policy.repair or self._snapshot is None:
            return False
        model, optimizer = self._require_bound()
        self._snapshot.restore(model, optimizer)
        if self._copy_valid:
            self._sync_copies()
        if self._buffers and self._re_executes:  # a re-execution starts from the restored buffers
            torch._foreach_copy_(self._buffer_copy, [b.detach() for b in self._buffers])
        outcome.rolled_back = True
        outcome.repairs.append(
            Repair(outcome.step, "rollback", f"snapshot@{self._snapshot.step}", reason)
        )
        return True

    # ------------------------------------------------------------------ public checks
    def scrub(self, *, step: int | None = None) -> StepOutcome:
        """Check the state now (protected copy / replicas, range scan), repairing where the
        policy allows; call before saving a checkpoint. Recorded in :attr:`report`."""
        self._require_bound()
        outcome = StepOutcome(step=self._next_step - 1 if step is None else step, executions=0)
        started = time.perf_counter()
        self._refresh_blocks()
        if self._copy_valid:
            self._verify_copies(outcome)
        if self.policy.active:
            self._scan(outcome, learn=False)
        outcome.overhead_s = time.perf_counter() - started
        if outcome.detections:
            self.report.record(outcome)
        else:
            self.report.overhead_s += outcome.overhead_s
        return outcome

    @property
    def snapshot(self) -> StateSnapshot | None:
        """The in-memory rollback point, if one has been taken (one object, overwritten in place
        by each newer snapshot)."""
        return self._snapshot

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Learned statistics and counters (plain values; ``weights_only``-loadable)."""
        return {
            "policy": self.policy.name,
            "loss_spikes": self.loss_spikes.state_dict(),
            "grad_spikes": self.grad_spikes.state_dict(),
            "range_check": self.range_check.state_dict(),
            "guard": None if self.guard is None else self.guard.state_dict(),
            "report": self.report.state_dict(),
            "counters": {
                "next_step": self._next_step,
                "consecutive_skips": self._consecutive_skips,
                "persistent": self._persistent,
            },
        }

    def load_state_dict(self, state: dict[str, Any], *, include_report: bool = True) -> None:
        """Restore :meth:`state_dict` output (``include_report=False`` keeps the counters)."""
        if state.get("policy") != self.policy.name:
            raise InputError(
                "healing state policy",
                state.get("policy"),
                f"{self.policy.name!r} (the policy of this Healing)",
            )
        self.loss_spikes.load_state_dict(state["loss_spikes"])
        self.grad_spikes.load_state_dict(state["grad_spikes"])
        self.range_check.load_state_dict(state["range_check"])
        if self.guard is not None and state.get("guard") is not None:
            self.guard.load_state_dict(state["guard"])
        if include_report:
            self.report.load_state_dict(state["report"])
        counters = state["counters"]
        self._next_step = int(counters["next_step"])
        self._consecutive_skips = int(counters["consecutive_skips"])
        self._persistent = int(counters["persistent"])
